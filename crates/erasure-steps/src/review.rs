//! Review: what the export found, what is the subject's, what is held, what the
//! GDPR_DELETE may name, and whether a person must decide first.
//!
//! Sources, united per conversation: the export results (which identifier matched
//! which conversation, with times), and for every phone number the analytics details
//! query (exact stored spellings `tel:+E.164` and `+E.164`, on either side of the
//! call), post-filtered on exact times; conversations without times are read one by
//! one. Then the legal-hold register and Genesys deletion protection, the user
//! account's state, and `erasure_core::review::decide`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use erasure_core::hold::{LocatedConversation, check_holds, parse_register};
use erasure_core::identifiers::{ConversationId, Email, EntityId, IdentifierKind, PhoneE164};
use erasure_core::pseudonym::Pseudonym;
use erasure_core::record::RecordingRef;
use erasure_core::review::{
    AgentPlan, AgentStatus, Decision, FoundConversation, IdentifierValue, ReviewFacts,
    ReviewOutcome, SubjectIdentifier, decide,
};
use erasure_core::ticket::Options;
use genesys::{
    ArchiveLimits, ConversationQuery, GenesysError, Interval, SegmentDetailQueryFilter,
    SegmentDetailQueryPredicate, SegmentDimension, UserLookupState, UserState,
};
use serde::Deserialize;
use serde_json::Value;

use crate::error::StepError;
use crate::gdpr::{GenesysDeps, check_ticket_id};
use crate::ports::HoldRegisterSource;
use crate::state::{
    AgentSection, ClockSection, ConversationsSection, EraseSection, ExcludedSummary,
    IdentifiersSection, PurgeSection, RequestSection, ReviewSection, ReviewSummary, Selection,
    SubjectSection, SummaryCounts, VerifySection,
};

/// How far back the analytics query looks for the subject's numbers (in bounded
/// slices, ending at the client's clock: `genesys::MAX_DETAILS_QUERY_INTERVAL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalyticsSettings {
    /// Conversations older than this are not looked for (the org's retention is
    /// shorter in practice).
    pub lookback: Duration,
}

impl Default for AnalyticsSettings {
    fn default() -> Self {
        AnalyticsSettings {
            lookback: Duration::days(10 * 366),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Deps {
    pub genesys: GenesysDeps,
    pub holds: Arc<dyn HoldRegisterSource>,
    pub analytics: AnalyticsSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub ticket_id: String,
    pub subject: SubjectSection,
    pub identifiers: IdentifiersSection,
    pub options: Options,
    pub clock: ClockSection,
    pub export: RequestSection,
}

pub type Output = ReviewSection;

/// What is known of one conversation before the decision.
#[derive(Default)]
struct ConversationSeen {
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    found_by: BTreeSet<Pseudonym>,
    /// `None`: no source listed its recordings.
    recordings: Option<BTreeSet<String>>,
    /// Listed by an export archive, which says which identifier reached it only when
    /// the export named one alone: its participants are read to know the others.
    from_archive: bool,
}

pub async fn handle(deps: &Deps, input: Input) -> Result<Output, StepError> {
    let ticket_id = check_ticket_id(&input.ticket_id)?.to_owned();
    let client = &deps.genesys.client;
    let now = deps.genesys.clock.now();
    let tz = input.clock.config.tz()?;
    let (ids, name_ref) = subject_identifiers(&input.subject, &input.identifiers)?;

    // 1. The export results, one export per identifier (or the one of a ticket
    //    located before): ZIP archives behind the downloads API (live orgs), or JSON
    //    documents (the emulator's legacy format). What an identifier's own export
    //    lists, that identifier reached.
    let mut seen: BTreeMap<ConversationId, ConversationSeen> = BTreeMap::new();
    for part in input.export.requests() {
        let request = client.get_gdpr_request(&part.request_id).await?;
        let reached_by = part.names.and_then(|n| {
            (input.identifiers.items.iter())
                .find(|i| i.kind == n.kind && i.index == n.index)
                .map(|i| i.identifier_ref.clone())
        });
        let urls = request.result_urls();
        if !urls.is_empty() && urls.iter().all(|u| genesys::download_id(u).is_some()) {
            let catalog = client
                .catalogue_export(&urls, &ArchiveLimits::default())
                .await?;
            read_catalog(&catalog, reached_by.as_ref(), &mut seen)?;
        } else {
            for url in urls {
                let doc: Value = client.download_results_json(url).await?;
                read_export(&doc, &ids, reached_by.as_ref(), &mut seen)?;
            }
        }
    }

    // 2. The analytics query: one sweep for all the subject's numbers, each
    //    conversation credited to the numbers its sessions carry.
    let phones: Vec<(&PhoneE164, &Pseudonym)> = ids
        .iter()
        .filter_map(|id| match &id.value {
            IdentifierValue::Phone(p) => Some((p, &id.identifier_ref)),
            _ => None,
        })
        .collect();
    if !phones.is_empty() {
        let numbers: Vec<&PhoneE164> = phones.iter().map(|(p, _)| *p).collect();
        for c in phone_conversations(deps, &numbers, now).await? {
            let Some(raw) = c.conversation_id.as_deref() else {
                continue;
            };
            let cid = conversation_id(raw)?;
            let carried = numbers_on(&c);
            let entry = seen.entry(cid).or_default();
            entry.start = entry.start.or(c.conversation_start);
            entry.end = entry.end.or(c.conversation_end);
            let mut credited = false;
            for (number, r) in &phones {
                if carried.contains(*number) {
                    entry.found_by.insert((*r).clone());
                    credited = true;
                }
            }
            // The query matched one of the numbers on a session this answer does not
            // show: credit every number asked, so a recycled number's other owner is
            // still seen (more exclusions, never a wider delete).
            if !credited {
                entry
                    .found_by
                    .extend(phones.iter().map(|(_, r)| (*r).clone()));
            }
        }
    }

    // 3. Times for what came without them, and which of the subject's identifiers
    //    each carries when no source said (an archive lists ids only); a
    //    conversation Genesys no longer has is already gone.
    let mut gone = Vec::new();
    for (cid, s) in seen
        .iter_mut()
        .filter(|(_, s)| s.start.is_none() || s.from_archive)
    {
        match client.get_conversation_details(cid.as_str()).await {
            Ok(details) => {
                s.start = s.start.or(details.conversation_start);
                s.end = s.end.or(details.conversation_end);
                if s.from_archive {
                    s.found_by.extend(carried_identifiers(&details, &ids));
                    if s.found_by.is_empty() {
                        s.found_by = unseen_matches(&ids);
                    }
                }
            }
            Err(GenesysError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        if s.start.is_none() {
            gone.push(cid.clone());
        }
    }
    for cid in &gone {
        seen.remove(cid);
    }

    let conversations: Vec<FoundConversation> = seen
        .iter()
        .filter_map(|(id, s)| {
            Some(FoundConversation {
                id: id.clone(),
                start: s.start?,
                end: s.end,
                found_by: s.found_by.iter().cloned().collect(),
            })
        })
        .collect();

    // 4. Holds: the register, and Genesys deletion protection.
    let register_bytes = deps.holds.load().await?;
    let register_digest = crate::gdpr::sha256_of(&register_bytes);
    let register = parse_register(&register_bytes)?;
    let all_ids: Vec<String> = conversations
        .iter()
        .map(|c| c.id.as_str().to_owned())
        .collect();
    let protected: Vec<ConversationId> = client
        .protected_conversations(&all_ids)
        .await?
        .into_iter()
        .filter_map(|r| r.id.as_deref().and_then(|id| id.parse().ok()))
        .collect();
    let located: Vec<LocatedConversation> = conversations
        .iter()
        .map(|c| LocatedConversation {
            id: c.id.clone(),
            start: c.start,
        })
        .collect();
    let subject_refs: Vec<Pseudonym> = input
        .identifiers
        .items
        .iter()
        .map(|i| i.identifier_ref.clone())
        .collect();
    let holds = check_holds(
        &register,
        &input.identifiers.key_id,
        &located,
        &subject_refs,
        &protected,
        now,
        tz,
    )?;

    // 5. The user account, and which of the ticket's e-mails is its work address.
    let (agent_status, work_email) = match &input.subject.genesys_user_id {
        Some(u) => agent_account(deps, u.expose()).await?,
        None => (None, None),
    };
    let work_identifiers: BTreeSet<Pseudonym> = (ids.iter())
        .filter(|i| match (&i.value, &work_email) {
            (IdentifierValue::Email(e), Some(w)) => e == w,
            _ => false,
        })
        .map(|i| i.identifier_ref.clone())
        .collect();

    // 6. The decision. An identifier by which Locate's subject search found somebody
    //    else stays out of the delete.
    let shared: BTreeSet<Pseudonym> = input
        .export
        .searches
        .iter()
        .filter(|s| s.other_subjects > 0)
        .filter_map(|s| {
            input
                .identifiers
                .items
                .iter()
                .find(|i| i.kind == s.kind && i.index == s.index)
                .map(|i| i.identifier_ref.clone())
        })
        .collect();
    let subject = input.subject.to_subject();
    let outcome = decide(&ReviewFacts {
        subject: &subject,
        options: &input.options,
        identifiers: &ids,
        name_ref,
        conversations: &conversations,
        holds: &holds,
        agent_status,
        time_zone: tz,
        shared: &shared,
        work_identifiers: &work_identifiers,
    });

    // 7. Recordings of the subject's conversations.
    let mut recordings: Vec<RecordingRef> = Vec::new();
    let subjects: BTreeSet<&ConversationId> = outcome
        .in_scope
        .iter()
        .chain(outcome.withheld.iter().map(|w| &w.conversation_id))
        .collect();
    for cid in subjects {
        let listed = match seen.get(cid).and_then(|s| s.recordings.clone()) {
            Some(r) => r,
            None => match client.list_recording_metadata(cid.as_str()).await {
                Ok(list) => list.into_iter().filter_map(|r| r.id).collect(),
                Err(GenesysError::NotFound(_)) => BTreeSet::new(),
                Err(e) => return Err(e.into()),
            },
        };
        for rid in listed {
            recordings.push(RecordingRef {
                conversation_id: cid.clone(),
                recording_id: entity_id(&rid)?,
            });
        }
    }

    let mut out = section(&ticket_id, &input.subject, &outcome, recordings, now);
    out.summary.subjects = input.export.found.clone();
    out.hold_register = Some(register_digest);
    check_size(&out)?;
    tracing::info!(
        ticket_id = ticket_id.as_str(),
        decision = ?out.decision,
        reasons = ?out.reasons,
        found = out.summary.counts.found,
        in_scope = out.summary.counts.in_scope,
        excluded = out.summary.counts.excluded,
        withheld = out.summary.counts.withheld,
        per_conversation = out.summary.counts.per_conversation,
        agent = out.agent.action.as_str(),
        "review decided"
    );
    Ok(out)
}

/// The domain's identifiers, rebuilt from the subject and the refs Intake made (this
/// step has no pseudonym key). The name's ref comes back separately.
fn subject_identifiers(
    subject: &SubjectSection,
    identifiers: &IdentifiersSection,
) -> Result<(Vec<SubjectIdentifier>, Option<Pseudonym>), StepError> {
    let mut out = Vec::new();
    let mut name_ref = None;
    for item in &identifiers.items {
        let missing = || {
            StepError::input(format!(
                "identifiers: a {:?} entry has no subject value",
                item.kind
            ))
        };
        let value = match item.kind {
            IdentifierKind::Name => {
                name_ref = Some(item.identifier_ref.clone());
                continue;
            }
            IdentifierKind::Email => IdentifierValue::Email(
                item.index
                    .and_then(|i| subject.emails.get(i))
                    .cloned()
                    .ok_or_else(missing)?,
            ),
            IdentifierKind::Phone => IdentifierValue::Phone(
                item.index
                    .and_then(|i| subject.phones.get(i))
                    .map(|p| p.number.clone())
                    .ok_or_else(missing)?,
            ),
            IdentifierKind::GenesysUserId => {
                IdentifierValue::GenesysUserId(subject.genesys_user_id.clone().ok_or_else(missing)?)
            }
            IdentifierKind::ExternalContactId => IdentifierValue::ExternalContactId(
                subject.external_contact_id.clone().ok_or_else(missing)?,
            ),
        };
        out.push(SubjectIdentifier {
            identifier_ref: item.identifier_ref.clone(),
            value,
        });
    }
    Ok((out, name_ref))
}

fn conversation_id(raw: &str) -> Result<ConversationId, StepError> {
    raw.parse().map_err(|_| {
        StepError::ExportResultsInvalid("a conversation id is not a Genesys id".into())
    })
}

fn entity_id(raw: &str) -> Result<EntityId, StepError> {
    raw.parse()
        .map_err(|_| StepError::ExportResultsInvalid("a recording id is not a Genesys id".into()))
}

/// A live org's export: the catalogue of its archives (ids and counts only; the
/// content was never kept). Which identifier reached a conversation is not in it.
fn read_catalog(
    catalog: &genesys::ExportCatalog,
    reached_by: Option<&Pseudonym>,
    seen: &mut BTreeMap<ConversationId, ConversationSeen>,
) -> Result<(), StepError> {
    for raw in &catalog.conversation_ids {
        let entry = seen.entry(conversation_id(raw)?).or_default();
        entry.from_archive = true;
        entry.found_by.extend(reached_by.cloned());
    }
    for r in &catalog.recordings {
        seen.entry(conversation_id(&r.conversation_id)?)
            .or_default()
            .recordings
            .get_or_insert_with(BTreeSet::new)
            .insert(r.recording_id.clone());
    }
    Ok(())
}

/// Which of the subject's identifiers a conversation's participants carry: numbers
/// and addresses on their sessions, the user and external contact ids.
fn carried_identifiers(
    c: &genesys::AnalyticsConversation,
    ids: &[SubjectIdentifier],
) -> BTreeSet<Pseudonym> {
    let mut out = BTreeSet::new();
    for p in &c.participants {
        let mut values: Vec<&str> = Vec::new();
        values.extend(p.user_id.as_ref().map(|v| v.expose().as_str()));
        values.extend(p.external_contact_id.as_ref().map(|v| v.expose().as_str()));
        values.extend(
            p.sessions
                .iter()
                .flat_map(genesys::AnalyticsSession::addresses)
                .map(|v| v.trim_start_matches("mailto:")),
        );
        out.extend(values.into_iter().filter_map(|v| matching_ref(ids, v)));
    }
    out
}

/// What reached an archived conversation whose participants show none of the
/// subject's identifiers: the export was of this subject, so one of them did, and
/// numbers and user ids are always shown (on sessions, on participants); e-mail
/// addresses on chats and external contact links are not. So: the subject's e-mail
/// addresses and external contact id. Without those, nothing: the conversation is
/// then the subject's but handled one by one, by a person.
fn unseen_matches(ids: &[SubjectIdentifier]) -> BTreeSet<Pseudonym> {
    ids.iter()
        .filter(|i| {
            matches!(
                i.value,
                IdentifierValue::Email(_) | IdentifierValue::ExternalContactId(_)
            )
        })
        .map(|i| i.identifier_ref.clone())
        .collect()
}

/// Export result format (not established by the contract; read leniently):
/// `{conversations: [{conversationId, conversationStart?, conversationEnd?,
/// matchedIdentifiers?: [{type, value}], recordings?: [{recordingId}]}]}`.
fn read_export(
    doc: &Value,
    ids: &[SubjectIdentifier],
    reached_by: Option<&Pseudonym>,
    seen: &mut BTreeMap<ConversationId, ConversationSeen>,
) -> Result<(), StepError> {
    let Some(list) = doc.as_object().map(|o| o.get("conversations")) else {
        return Err(StepError::ExportResultsInvalid(
            "a results file is not a JSON object".into(),
        ));
    };
    let Some(list) = list else { return Ok(()) };
    let list = list
        .as_array()
        .ok_or_else(|| StepError::ExportResultsInvalid("`conversations` is not an array".into()))?;
    let time = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .and_then(erasure_core::time::parse_rfc3339)
    };
    for c in list {
        let raw = c
            .get("conversationId")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                StepError::ExportResultsInvalid("a conversation has no conversationId".into())
            })?;
        let entry = seen.entry(conversation_id(raw)?).or_default();
        entry.start = entry.start.or(time(c.get("conversationStart")));
        entry.end = entry.end.or(time(c.get("conversationEnd")));
        entry.found_by.extend(reached_by.cloned());
        for m in c
            .get("matchedIdentifiers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(r) = m
                .get("value")
                .and_then(Value::as_str)
                .and_then(|v| matching_ref(ids, v))
            {
                entry.found_by.insert(r);
            }
        }
        if let Some(recs) = c.get("recordings").and_then(Value::as_array) {
            let set = entry.recordings.get_or_insert_with(BTreeSet::new);
            for r in recs {
                if let Some(id) = r.get("recordingId").and_then(Value::as_str) {
                    set.insert(id.to_owned());
                }
            }
        }
    }
    Ok(())
}

/// Which of the subject's identifiers a matched value is (e-mails normalised as the
/// ticket's were, so any case, NFC form or domain spelling; phones in any spelling;
/// ids case-insensitive).
fn matching_ref(ids: &[SubjectIdentifier], value: &str) -> Option<Pseudonym> {
    let v = value.trim();
    let as_phone = PhoneE164::from_any_spelling(v);
    let as_email = v.parse::<Email>().ok();
    ids.iter()
        .find(|i| match &i.value {
            IdentifierValue::Email(e) => as_email.as_ref() == Some(e),
            IdentifierValue::Phone(p) => as_phone.as_ref() == Some(p),
            IdentifierValue::GenesysUserId(u) => u.expose().eq_ignore_ascii_case(v),
            IdentifierValue::ExternalContactId(x) => x.expose().eq_ignore_ascii_case(v),
        })
        .map(|i| i.identifier_ref.clone())
}

/// Every conversation with one of `numbers` on either side, in any slice of the
/// look-back: one query per slice for all of them.
async fn phone_conversations(
    deps: &Deps,
    numbers: &[&PhoneE164],
    now: DateTime<Utc>,
) -> Result<Vec<genesys::AnalyticsConversation>, StepError> {
    // Voice numbers are stored `tel:+E.164`, messaging numbers `+E.164`; the query
    // compares exact values.
    let mut predicates = Vec::new();
    for number in numbers {
        let e164 = number.expose();
        for spelling in [format!("tel:{e164}"), e164.to_owned()] {
            for dim in [
                SegmentDimension::Ani,
                SegmentDimension::Dnis,
                SegmentDimension::AddressFrom,
                SegmentDimension::AddressTo,
            ] {
                predicates.push(SegmentDetailQueryPredicate::dimension_matches(
                    dim,
                    spelling.clone(),
                ));
            }
        }
    }
    let filter = SegmentDetailQueryFilter::any(predicates);
    // Any interval will do as a template: the client asks bounded slices that never
    // end after its clock.
    let from = now - deps.analytics.lookback;
    let template = ConversationQuery::new(
        Interval::new(from, now)
            .map_err(|e| StepError::misconfigured(format!("analytics look-back: {e}")))?,
    )
    .with_segment_filter(filter);
    Ok(deps
        .genesys
        .client
        .conversation_details_between(&template, from, now)
        .await?)
}

/// The phone numbers on a conversation's sessions, in any stored spelling.
fn numbers_on(c: &genesys::AnalyticsConversation) -> BTreeSet<PhoneE164> {
    c.session_addresses()
        .filter_map(PhoneE164::from_any_spelling)
        .collect()
}

/// The user account's status, and its work e-mail address as Genesys has it.
async fn agent_account(
    deps: &Deps,
    user_id: &str,
) -> Result<(Option<AgentStatus>, Option<Email>), StepError> {
    let client = &deps.genesys.client;
    let email = |u: &genesys::User| u.email.as_ref().and_then(|e| e.as_str().parse().ok());
    let status = |u: &genesys::User| match u.state {
        Some(UserState::Active) => Some(AgentStatus::Active),
        Some(UserState::Inactive) => Some(AgentStatus::Inactive),
        Some(UserState::Deleted) => Some(AgentStatus::Deleted),
        _ => None,
    };
    match client.get_user(user_id, UserLookupState::Active).await {
        Ok(u) => Ok((status(&u), email(&u))),
        Err(GenesysError::NotFound(_)) => {
            match client.get_user(user_id, UserLookupState::Deleted).await {
                Ok(u) => Ok((Some(AgentStatus::Deleted), email(&u))),
                Err(GenesysError::NotFound(_)) => Ok((Some(AgentStatus::NotFound), None)),
                // Not allowed to look: the status is unknown and a person decides.
                Err(GenesysError::Forbidden(_)) => Ok((None, None)),
                Err(e) => Err(e.into()),
            }
        }
        Err(GenesysError::Forbidden(_)) => Ok((None, None)),
        Err(e) => Err(e.into()),
    }
}

/// The review's result goes into the execution state, which Step Functions caps at
/// 256 KiB: a result too large for it fails the step (caught: a FAILED record that
/// says so) instead of failing the execution without a record.
pub const MAX_OUTPUT_BYTES: usize = 160 * 1024;
/// Ids the DPO's summary lists of each kind (the counts are complete).
pub const SUMMARY_IDS: usize = 50;

pub fn check_size(out: &ReviewSection) -> Result<(), StepError> {
    let bytes = serde_json::to_vec(out).map_or(usize::MAX, |b| b.len());
    if bytes > MAX_OUTPUT_BYTES {
        return Err(StepError::OutputTooLarge {
            step: "Review",
            bytes,
            limit: MAX_OUTPUT_BYTES,
        });
    }
    Ok(())
}

/// What the definition's Choice reads. A soft-deleted account still holds the
/// agent's name and e-mail, so it is offboarded too (the step checks first).
pub fn agent_action(plan: Option<AgentPlan>) -> &'static str {
    match plan {
        None => "none",
        Some(AgentPlan::Offboard | AgentPlan::AlreadyDeleted) => "offboard",
        Some(AgentPlan::SkipActive) => "skip-active",
        Some(AgentPlan::NotFound) => "not-found",
        Some(AgentPlan::Held) => "held",
        Some(AgentPlan::Unchecked) => "unchecked",
    }
}

fn section(
    ticket_id: &str,
    subject: &SubjectSection,
    o: &ReviewOutcome,
    recordings: Vec<RecordingRef>,
    now: DateTime<Utc>,
) -> ReviewSection {
    let d = &o.delete_subject;
    let selection = Selection {
        emails: (0..subject.emails.len())
            .filter(|&i| d.emails.contains(&subject.emails[i]))
            .collect(),
        phones: (0..subject.phones.len())
            .filter(|&i| d.phones.contains(&subject.phones[i].number))
            .collect(),
        genesys_user_id: d.genesys_user_id.is_some(),
        external_contact_id: d.external_contact_id.is_some(),
    };
    let purge_of: BTreeSet<&ConversationId> = o.purge_recordings_of.iter().collect();
    let purge_recordings: Vec<RecordingRef> = recordings
        .iter()
        .filter(|r| purge_of.contains(&r.conversation_id))
        .cloned()
        .collect();
    let user_ref = o
        .identifiers
        .iter()
        .find(|i| i.kind == IdentifierKind::GenesysUserId)
        .map(|i| i.identifier_ref.clone());
    let reasons = o.reason_codes();
    let action = agent_action(o.agent).to_owned();
    ReviewSection {
        decision: o.decision,
        needs_decision: o.decision == Decision::Review,
        reasons: reasons.clone(),
        at: now,
        erase: EraseSection {
            required: !selection.is_empty(),
            selection,
        },
        purge: PurgeSection {
            required: !o.purge_recordings_of.is_empty(),
            conversation_ids: o.purge_recordings_of.clone(),
            recordings: purge_recordings,
        },
        verify: VerifySection {
            required: !o.in_scope.is_empty(),
        },
        agent: AgentSection {
            action: action.clone(),
            plan: o.agent,
            user_ref,
        },
        conversations: ConversationsSection {
            found: o.found.clone(),
            in_scope: o.in_scope.clone(),
            covered: o.covered.clone(),
            per_conversation: o.per_conversation.clone(),
            excluded: o.excluded.clone(),
            withheld: o.withheld.clone(),
        },
        summary: ReviewSummary {
            ticket_id: ticket_id.to_owned(),
            decision: o.decision,
            reasons,
            counts: SummaryCounts {
                found: o.found.len(),
                in_scope: o.in_scope.len(),
                covered: o.covered.len(),
                per_conversation: o.per_conversation.len(),
                excluded: o.excluded.len(),
                withheld: o
                    .withheld
                    .iter()
                    .map(|w| &w.conversation_id)
                    .collect::<BTreeSet<_>>()
                    .len(),
                recordings: recordings.len(),
            },
            agent: action,
            per_conversation: o
                .per_conversation
                .iter()
                .take(SUMMARY_IDS)
                .cloned()
                .collect(),
            excluded: o
                .excluded
                .iter()
                .take(SUMMARY_IDS)
                .map(|e| ExcludedSummary {
                    conversation_id: e.conversation_id.clone(),
                    reason: e.reason,
                })
                .collect(),
            withheld: o.withheld.iter().take(SUMMARY_IDS).cloned().collect(),
            deferral: o.deferral.clone(),
            subjects: Vec::new(),
        },
        recordings,
        identifiers: o.identifiers.clone(),
        deferral: o.deferral.clone(),
        hold_register: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use erasure_core::review::DeleteSubject;
    use erasure_core::tenure::{Exclusion, ExclusionReason};

    #[test]
    fn genesys_values_are_normalised_as_the_ticket_was_before_they_are_matched() {
        let r: Pseudonym = format!("hmac-sha256:{}", "b".repeat(64)).parse().unwrap();
        let ids = [SubjectIdentifier {
            identifier_ref: r.clone(),
            value: IdentifierValue::Email("jörg@bücher.de".parse().unwrap()),
        }];
        for genesys_spelling in [
            "jörg@bücher.de",
            " JÖRG@xn--bcher-kva.de",
            "jo\u{308}rg@bu\u{308}cher.DE",
        ] {
            assert_eq!(
                matching_ref(&ids, genesys_spelling),
                Some(r.clone()),
                "{genesys_spelling}"
            );
        }
        assert_eq!(matching_ref(&ids, "jorg@bucher.de"), None);
    }

    #[test]
    fn a_conversation_is_credited_to_the_identifier_whose_own_export_listed_it() {
        let r = |c: char| -> Pseudonym {
            format!("hmac-sha256:{}", c.to_string().repeat(64))
                .parse()
                .unwrap()
        };
        let catalog = |ids: &[&str]| genesys::ExportCatalog {
            conversation_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        };
        let (a, b) = (
            "0a1b2c3d-0000-4000-8000-000000000001",
            "0a1b2c3d-0000-4000-8000-000000000002",
        );
        let mut seen = BTreeMap::new();
        read_catalog(&catalog(&[a]), Some(&r('e')), &mut seen).unwrap();
        read_catalog(&catalog(&[a, b]), Some(&r('f')), &mut seen).unwrap();
        // A legacy export of every identifier says nothing of which reached it.
        read_catalog(&catalog(&[b]), None, &mut seen).unwrap();
        let found_by = |id: &str| -> Vec<Pseudonym> {
            seen[&conversation_id(id).unwrap()]
                .found_by
                .iter()
                .cloned()
                .collect()
        };
        assert_eq!(found_by(a), [r('e'), r('f')]);
        assert_eq!(found_by(b), [r('f')]);
        assert!(seen.values().all(|s| s.from_archive));
    }

    fn outcome(excluded: usize) -> ReviewOutcome {
        let r: Pseudonym = format!("hmac-sha256:{}", "a".repeat(64)).parse().unwrap();
        ReviewOutcome {
            decision: Decision::Proceed,
            reasons: vec![],
            delete_subject: DeleteSubject::default(),
            identifiers: vec![],
            found: vec![],
            in_scope: vec![],
            covered: vec![],
            per_conversation: vec![],
            excluded: (0..excluded)
                .map(|i| Exclusion {
                    conversation_id: format!("{i:08x}-0000-4000-8000-000000000000")
                        .parse()
                        .unwrap(),
                    reason: ExclusionReason::HandledAsAgent,
                    identifier_ref: r.clone(),
                })
                .collect(),
            withheld: vec![],
            deferral: None,
            purge_recordings_of: vec![],
            agent: None,
        }
    }

    #[test]
    fn the_dpos_summary_lists_a_bounded_number_of_ids_with_complete_counts() {
        let s = section(
            "T-1",
            &SubjectSection::default(),
            &outcome(120),
            vec![],
            Utc::now(),
        );
        assert_eq!(s.summary.excluded.len(), SUMMARY_IDS);
        assert_eq!(s.summary.counts.excluded, 120);
        assert_eq!(
            s.conversations.excluded.len(),
            120,
            "the record gets them all"
        );
        assert!(check_size(&s).is_ok());
    }

    #[test]
    fn a_review_too_large_for_the_workflow_state_is_an_error_not_a_lost_execution() {
        // An agent who handled thousands of calls: the exclusions alone exceed the state.
        let s = section(
            "T-1",
            &SubjectSection::default(),
            &outcome(2_000),
            vec![],
            Utc::now(),
        );
        let err = check_size(&s).unwrap_err();
        assert_eq!(err.name(), "StepOutputTooLarge");
        assert!(!err.is_retryable());
    }
}
