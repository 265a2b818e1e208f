//! The review decision: from what the export and searches found, decide what the
//! GDPR_DELETE names, what is kept out and why, and whether a person must look first.
//!
//! The GDPR_DELETE cannot be limited to some conversations (contract 3.6): naming an
//! identifier erases everything found by it. So an identifier is left out of the
//! delete subject when erasing by it would erase something that must stay:
//!
//! - a phone number with any conversation outside its tenure (another owner's);
//! - an identifier that found a held conversation (legal hold, deletion protection),
//!   and every identifier while a subject-wide hold is in force;
//! - the user id of an ACTIVE agent (never offboarded; a person decides), of a user
//!   Genesys does not know, or whose status was not checked;
//! - a user id that reaches conversations the user handled as an agent. Those are
//!   other people's interactions (a GDPR_DELETE by `userId` takes every conversation
//!   the agent handled): they are excluded as HANDLED_AS_AGENT, never the subject's,
//!   and the agent's own identity is dealt with by offboarding the user account.
//!   A hold on such a conversation still holds the account (the agent's identity may
//!   be evidence).
//!
//! The name is never used to delete. What stays reachable only through a left-out
//! identifier is handled per conversation, and a person reviews that first.
//!
//! `exportReview`: `always` waits for the DPO on every ticket; `when-needed` waits on
//! any finding below (safety or advisory); `never` skips advisory findings only.
//! Safety findings always wait: the option cannot switch off a safety gate.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::hold::{Deferral, HeldConversation, HoldCheck, WithholdReason};
use crate::identifiers::{
    ConversationId, Email, ExternalContactId, GenesysUserId, IdentifierKind, PhoneE164,
};
use crate::pseudonym::{Pseudonym, Pseudonymiser};
use crate::tenure::{Exclusion, ExclusionReason, PhoneConversation, filter_phone};
use crate::ticket::{ExportReview, Options, Subject};

/// The value of one usable identifier (the name is not one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "camelCase")]
pub enum IdentifierValue {
    Email(Email),
    Phone(PhoneE164),
    GenesysUserId(GenesysUserId),
    ExternalContactId(ExternalContactId),
}

impl IdentifierValue {
    pub fn kind(&self) -> IdentifierKind {
        match self {
            IdentifierValue::Email(_) => IdentifierKind::Email,
            IdentifierValue::Phone(_) => IdentifierKind::Phone,
            IdentifierValue::GenesysUserId(_) => IdentifierKind::GenesysUserId,
            IdentifierValue::ExternalContactId(_) => IdentifierKind::ExternalContactId,
        }
    }
}

/// One identifier with its pseudonym. The steps search Genesys once per entry and tag
/// what they find with `identifier_ref`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectIdentifier {
    pub identifier_ref: Pseudonym,
    pub value: IdentifierValue,
}

/// Every usable identifier of the subject, in ticket order (e-mails, phones, user id,
/// external contact id).
pub fn subject_identifiers(subject: &Subject, p: &Pseudonymiser) -> Vec<SubjectIdentifier> {
    let mut ids: Vec<SubjectIdentifier> = Vec::new();
    for e in &subject.emails {
        ids.push(SubjectIdentifier {
            identifier_ref: p.email(e),
            value: IdentifierValue::Email(e.clone()),
        });
    }
    for ph in &subject.phones {
        ids.push(SubjectIdentifier {
            identifier_ref: p.phone(&ph.number),
            value: IdentifierValue::Phone(ph.number.clone()),
        });
    }
    if let Some(u) = &subject.genesys_user_id {
        ids.push(SubjectIdentifier {
            identifier_ref: p.genesys_user(u),
            value: IdentifierValue::GenesysUserId(u.clone()),
        });
    }
    if let Some(x) = &subject.external_contact_id {
        ids.push(SubjectIdentifier {
            identifier_ref: p.external_contact(x),
            value: IdentifierValue::ExternalContactId(x.clone()),
        });
    }
    ids
}

/// A conversation located for the subject, and which identifiers found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundConversation {
    pub id: ConversationId,
    #[serde(with = "crate::time::utc_z")]
    pub start: DateTime<Utc>,
    #[serde(with = "crate::time::option_utc_z")]
    pub end: Option<DateTime<Utc>>,
    pub found_by: Vec<Pseudonym>,
}

/// The Genesys user behind `genesysUserId`, as the Users API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AgentStatus {
    Active,
    Inactive,
    Deleted,
    NotFound,
}

/// What to do with the user account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AgentPlan {
    /// A former agent (inactive): anonymise, deactivate, delete.
    Offboard,
    /// An active agent: never touched.
    SkipActive,
    AlreadyDeleted,
    NotFound,
    /// Under a hold: the account is kept with the rest of the held data.
    Held,
    /// The status was not checked: nothing is done until a person looks.
    Unchecked,
}

/// Review findings. Their kebab codes go into the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewReason {
    // Safety: always wait for a person.
    ActiveAgent,
    AgentStatusUnknown,
    TenureBoundaryCall,
    PerConversationErasure,
    NothingDeletable,
    // Advisory: wait unless exportReview is `never`.
    RecycledNumber,
    /// A subject search found somebody else (another external contact or user) by one
    /// of the subject's identifiers: it is left out of the delete.
    SharedIdentifier,
    IdentifierFoundNothing,
    AgentNotFound,
    // Holds: defer (Art. 17(3)(e)).
    LegalHold,
    DeletionProtection,
    SubjectWideHold,
    // exportReview `always`.
    ReviewRequested,
}

impl ReviewReason {
    pub fn code(self) -> &'static str {
        match self {
            ReviewReason::ActiveAgent => "active-agent",
            ReviewReason::AgentStatusUnknown => "agent-status-unknown",
            ReviewReason::TenureBoundaryCall => "tenure-boundary-call",
            ReviewReason::PerConversationErasure => "per-conversation-erasure",
            ReviewReason::NothingDeletable => "nothing-deletable",
            ReviewReason::RecycledNumber => "recycled-number",
            ReviewReason::SharedIdentifier => "shared-identifier",
            ReviewReason::IdentifierFoundNothing => "identifier-found-nothing",
            ReviewReason::AgentNotFound => "agent-not-found",
            ReviewReason::LegalHold => "legal-hold",
            ReviewReason::DeletionProtection => "deletion-protection",
            ReviewReason::SubjectWideHold => "subject-wide-hold",
            ReviewReason::ReviewRequested => "review-requested",
        }
    }

    /// Waits for a person whatever `exportReview` says.
    pub fn is_safety(self) -> bool {
        matches!(
            self,
            ReviewReason::ActiveAgent
                | ReviewReason::AgentStatusUnknown
                | ReviewReason::TenureBoundaryCall
                | ReviewReason::PerConversationErasure
                | ReviewReason::NothingDeletable
        )
    }

    pub fn is_advisory(self) -> bool {
        matches!(
            self,
            ReviewReason::RecycledNumber
                | ReviewReason::SharedIdentifier
                | ReviewReason::IdentifierFoundNothing
                | ReviewReason::AgentNotFound
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Decision {
    Proceed,
    Review,
    Defer,
}

/// How an identifier was used, as the record names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentifierUsage {
    SearchedAndErased,
    SearchedOnly,
    NotSearched,
}

/// Why an identifier is left out of the delete subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LeftOutBecause {
    OutsideTenure,
    Held,
    ActiveAgent,
    AgentNotFound,
    AgentStatusUnknown,
    /// A user id that reaches conversations the user handled as an agent.
    HandledAsAgent,
    /// Genesys knows somebody else by it (another external contact or user, e.g. the
    /// new owner of a recycled number with no calls yet): a delete naming it would
    /// reach them.
    AnotherSubject,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentifierOutcome {
    pub kind: IdentifierKind,
    pub identifier_ref: Pseudonym,
    pub usage: IdentifierUsage,
    pub left_out_because: Vec<LeftOutBecause>,
    pub conversations_found: usize,
}

/// Exactly what the GDPR_DELETE request's subject carries. Never a name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteSubject {
    pub emails: Vec<Email>,
    pub phones: Vec<PhoneE164>,
    pub genesys_user_id: Option<GenesysUserId>,
    pub external_contact_id: Option<ExternalContactId>,
}

impl DeleteSubject {
    pub fn is_empty(&self) -> bool {
        self.emails.is_empty()
            && self.phones.is_empty()
            && self.genesys_user_id.is_none()
            && self.external_contact_id.is_none()
    }
}

/// The facts the review works from.
#[derive(Debug, Clone)]
pub struct ReviewFacts<'a> {
    pub subject: &'a Subject,
    pub options: &'a Options,
    /// From [`subject_identifiers`], with the same pseudonymiser as `found_by`.
    pub identifiers: &'a [SubjectIdentifier],
    pub name_ref: Option<Pseudonym>,
    pub conversations: &'a [FoundConversation],
    /// From [`crate::hold::check_holds`] over the same conversations.
    pub holds: &'a HoldCheck,
    /// `None` when the ticket has no genesysUserId, or its status was not read.
    pub agent_status: Option<AgentStatus>,
    pub time_zone: Tz,
    /// Identifiers by which a subject search found somebody else.
    pub shared: &'a BTreeSet<Pseudonym>,
    /// The ticket's identifiers that are the user account's own work identifiers (its
    /// e-mail address in Genesys): like the user id, what only they find are
    /// conversations the user handled as an agent, never the subject's.
    pub work_identifiers: &'a BTreeSet<Pseudonym>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewOutcome {
    pub decision: Decision,
    /// Every finding, sorted; includes hold findings even when the decision is review.
    pub reasons: Vec<ReviewReason>,
    pub delete_subject: DeleteSubject,
    /// Every identifier of the ticket (the name included) and its use.
    pub identifiers: Vec<IdentifierOutcome>,
    /// All located conversations.
    pub found: Vec<ConversationId>,
    /// The subject's conversations that are not held: everything owed.
    pub in_scope: Vec<ConversationId>,
    /// In scope and reached by the delete subject.
    pub covered: Vec<ConversationId>,
    /// In scope but reachable only through a left-out identifier: handled one by one.
    pub per_conversation: Vec<ConversationId>,
    pub excluded: Vec<Exclusion>,
    pub withheld: Vec<HeldConversation>,
    pub deferral: Option<Deferral>,
    /// Conversations whose recordings the pipeline purges (in scope, when the ticket
    /// asks for recordings to go).
    pub purge_recordings_of: Vec<ConversationId>,
    /// `None` when the ticket has no genesysUserId.
    pub agent: Option<AgentPlan>,
}

impl ReviewOutcome {
    pub fn reason_codes(&self) -> Vec<String> {
        self.reasons.iter().map(|r| r.code().to_owned()).collect()
    }
}

/// Decides. Pure: the same facts always give the same outcome.
pub fn decide(facts: &ReviewFacts<'_>) -> ReviewOutcome {
    let tz = facts.time_zone;
    let by_ref: BTreeMap<&Pseudonym, &SubjectIdentifier> = facts
        .identifiers
        .iter()
        .map(|i| (&i.identifier_ref, i))
        .collect();
    let mut reasons: BTreeSet<ReviewReason> = BTreeSet::new();
    let mut left_out: BTreeMap<Pseudonym, BTreeSet<LeftOutBecause>> = BTreeMap::new();

    // Tenure, per phone.
    let mut outside_of: BTreeMap<&Pseudonym, BTreeSet<ConversationId>> = BTreeMap::new();
    let mut exclusions_by_phone = Vec::new();
    for id in facts.identifiers {
        let IdentifierValue::Phone(number) = &id.value else {
            continue;
        };
        let windows = facts
            .subject
            .phones
            .iter()
            .find(|p| &p.number == number)
            .map(|p| p.tenure.as_slice())
            .unwrap_or_default();
        let found: Vec<PhoneConversation> = facts
            .conversations
            .iter()
            .filter(|c| c.found_by.contains(&id.identifier_ref))
            .map(|c| PhoneConversation {
                id: c.id.clone(),
                start: c.start,
                end: c.end,
            })
            .collect();
        let result = filter_phone(number, &id.identifier_ref, windows, &found, tz);
        if !result.spans_end.is_empty() {
            reasons.insert(ReviewReason::TenureBoundaryCall);
        }
        if !result.deletable_by_number() {
            reasons.insert(ReviewReason::RecycledNumber);
            left_out
                .entry(id.identifier_ref.clone())
                .or_default()
                .insert(LeftOutBecause::OutsideTenure);
        }
        outside_of.insert(&id.identifier_ref, result.outside.iter().cloned().collect());
        exclusions_by_phone.extend(result.exclusions());
    }

    // A conversation is the subject's if some identifier found it that is not a phone
    // for which it falls outside tenure, nor the user id (what only the user id finds
    // are conversations the user handled as an agent). A ref this ticket does not know
    // counts as the subject's: it then lands in per-conversation handling, which a
    // person reviews.
    let owned = |c: &FoundConversation| {
        c.found_by.is_empty()
            || c.found_by.iter().any(|r| match by_ref.get(r) {
                Some(_) if facts.work_identifiers.contains(r) => false,
                Some(i) if matches!(i.value, IdentifierValue::Phone(_)) => {
                    !outside_of.get(r).is_some_and(|o| o.contains(&c.id))
                }
                Some(i) if matches!(i.value, IdentifierValue::GenesysUserId(_)) => false,
                _ => true,
            })
    };
    let found: BTreeSet<ConversationId> =
        facts.conversations.iter().map(|c| c.id.clone()).collect();
    let owned_ids: BTreeSet<ConversationId> = facts
        .conversations
        .iter()
        .filter(|c| owned(c))
        .map(|c| c.id.clone())
        .collect();
    let mut excluded: Vec<Exclusion> = exclusions_by_phone
        .into_iter()
        .filter(|e| !owned_ids.contains(&e.conversation_id))
        .collect();
    // The user id and the account's work e-mail: what they find and no identifier of
    // the subject does are conversations the user handled as an agent for others.
    let agent_refs: Vec<&Pseudonym> = (facts.identifiers.iter())
        .filter(|i| {
            matches!(i.value, IdentifierValue::GenesysUserId(_))
                || facts.work_identifiers.contains(&i.identifier_ref)
        })
        .map(|i| &i.identifier_ref)
        .collect();
    let mut agent_handled: BTreeSet<ConversationId> = BTreeSet::new();
    for agent_ref in agent_refs {
        let mut handled_here = false;
        for c in facts
            .conversations
            .iter()
            .filter(|c| c.found_by.contains(agent_ref) && !owned_ids.contains(&c.id))
        {
            handled_here = true;
            agent_handled.insert(c.id.clone());
            if !excluded.iter().any(|e| e.conversation_id == c.id) {
                excluded.push(Exclusion {
                    conversation_id: c.id.clone(),
                    reason: ExclusionReason::HandledAsAgent,
                    identifier_ref: agent_ref.clone(),
                });
            }
        }
        if handled_here {
            left_out
                .entry(agent_ref.clone())
                .or_default()
                .insert(LeftOutBecause::HandledAsAgent);
        }
    }
    // Her work address also sits on legs of conversations she handled where the search
    // does not show it (a reply's headers, a transfer): once she handled any, it never
    // goes into the delete.
    if !agent_handled.is_empty() {
        for work_ref in facts.work_identifiers {
            left_out
                .entry(work_ref.clone())
                .or_default()
                .insert(LeftOutBecause::HandledAsAgent);
        }
    }

    // An identifier Genesys knows somebody else by never goes into the delete.
    for id in facts.identifiers {
        if facts.shared.contains(&id.identifier_ref) {
            reasons.insert(ReviewReason::SharedIdentifier);
            left_out
                .entry(id.identifier_ref.clone())
                .or_default()
                .insert(LeftOutBecause::AnotherSubject);
        }
    }

    // Holds apply to the subject's conversations, and to those the user handled as an
    // agent (they hold the user account, not the customer data).
    let mut hold_scope = owned_ids.clone();
    hold_scope.extend(agent_handled.iter().cloned());
    let holds = facts.holds.restricted_to(&hold_scope);
    let held = holds.held_ids();
    for h in &holds.held {
        reasons.insert(match h.reason {
            WithholdReason::LegalHold => ReviewReason::LegalHold,
            WithholdReason::DeletionProtection => ReviewReason::DeletionProtection,
        });
    }
    if holds.is_subject_wide() {
        reasons.insert(ReviewReason::SubjectWideHold);
    }
    for id in facts.identifiers {
        let touches_held = facts
            .conversations
            .iter()
            .any(|c| held.contains(&c.id) && c.found_by.contains(&id.identifier_ref));
        if touches_held || holds.is_subject_wide() {
            left_out
                .entry(id.identifier_ref.clone())
                .or_default()
                .insert(LeftOutBecause::Held);
        }
    }

    // The agent.
    let mut agent = None;
    if let Some(user) = facts
        .identifiers
        .iter()
        .find(|i| matches!(i.value, IdentifierValue::GenesysUserId(_)))
    {
        let held_user = left_out
            .get(&user.identifier_ref)
            .is_some_and(|l| l.contains(&LeftOutBecause::Held));
        let (plan, because, reason) = match facts.agent_status {
            Some(AgentStatus::Active) => (
                AgentPlan::SkipActive,
                Some(LeftOutBecause::ActiveAgent),
                Some(ReviewReason::ActiveAgent),
            ),
            Some(AgentStatus::NotFound) => (
                AgentPlan::NotFound,
                Some(LeftOutBecause::AgentNotFound),
                Some(ReviewReason::AgentNotFound),
            ),
            None => (
                AgentPlan::Unchecked,
                Some(LeftOutBecause::AgentStatusUnknown),
                Some(ReviewReason::AgentStatusUnknown),
            ),
            Some(AgentStatus::Deleted) => (AgentPlan::AlreadyDeleted, None, None),
            Some(AgentStatus::Inactive) if held_user => (AgentPlan::Held, None, None),
            Some(AgentStatus::Inactive) => (AgentPlan::Offboard, None, None),
        };
        if let Some(b) = because {
            left_out
                .entry(user.identifier_ref.clone())
                .or_default()
                .insert(b);
        }
        reasons.extend(reason);
        agent = Some(plan);
    }

    // The delete subject, and what it reaches.
    let mut delete_subject = DeleteSubject::default();
    let mut covered: BTreeSet<ConversationId> = BTreeSet::new();
    let mut outcomes = Vec::new();
    if let Some(name_ref) = &facts.name_ref {
        outcomes.push(IdentifierOutcome {
            kind: IdentifierKind::Name,
            identifier_ref: name_ref.clone(),
            usage: IdentifierUsage::NotSearched,
            left_out_because: Vec::new(),
            conversations_found: 0,
        });
    }
    for id in facts.identifiers {
        let reached: Vec<&FoundConversation> = facts
            .conversations
            .iter()
            .filter(|c| c.found_by.contains(&id.identifier_ref))
            .collect();
        if reached.is_empty() && id.value.kind() != IdentifierKind::GenesysUserId {
            reasons.insert(ReviewReason::IdentifierFoundNothing);
        }
        let because: Vec<LeftOutBecause> = left_out
            .get(&id.identifier_ref)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        let usage = if because.is_empty() {
            covered.extend(reached.iter().map(|c| c.id.clone()));
            match &id.value {
                IdentifierValue::Email(e) => delete_subject.emails.push(e.clone()),
                IdentifierValue::Phone(p) => delete_subject.phones.push(p.clone()),
                IdentifierValue::GenesysUserId(u) => {
                    delete_subject.genesys_user_id = Some(u.clone())
                }
                IdentifierValue::ExternalContactId(x) => {
                    delete_subject.external_contact_id = Some(x.clone())
                }
            }
            IdentifierUsage::SearchedAndErased
        } else {
            IdentifierUsage::SearchedOnly
        };
        outcomes.push(IdentifierOutcome {
            kind: id.value.kind(),
            identifier_ref: id.identifier_ref.clone(),
            usage,
            left_out_because: because,
            conversations_found: reached.len(),
        });
    }

    let in_scope: Vec<ConversationId> = owned_ids.difference(&held).cloned().collect();
    let per_conversation: Vec<ConversationId> = in_scope
        .iter()
        .filter(|c| !covered.contains(*c))
        .cloned()
        .collect();
    if !per_conversation.is_empty() {
        reasons.insert(ReviewReason::PerConversationErasure);
    }
    let deferral = holds.deferral();
    if delete_subject.is_empty() && deferral.is_none() {
        reasons.insert(ReviewReason::NothingDeletable);
    }

    let needs_person = match facts.options.export_review {
        ExportReview::Always => {
            reasons.insert(ReviewReason::ReviewRequested);
            true
        }
        ExportReview::WhenNeeded => reasons.iter().any(|r| r.is_safety() || r.is_advisory()),
        ExportReview::Never => reasons.iter().any(|r| r.is_safety()),
    };
    let decision = if needs_person {
        Decision::Review
    } else if deferral.is_some() {
        Decision::Defer
    } else {
        Decision::Proceed
    };
    let purge_recordings_of = if facts.options.erase_recordings {
        in_scope.clone()
    } else {
        Vec::new()
    };
    ReviewOutcome {
        decision,
        reasons: reasons.into_iter().collect(),
        delete_subject,
        identifiers: outcomes,
        found: found.into_iter().collect(),
        covered: in_scope
            .iter()
            .filter(|c| covered.contains(*c))
            .cloned()
            .collect(),
        in_scope,
        per_conversation,
        excluded,
        withheld: holds.held,
        deferral,
        purge_recordings_of,
        agent,
    }
}
