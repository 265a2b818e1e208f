//! WriteRecord: the one terminal record of every execution.
//!
//! It receives every section of the state but the subject's identifiers, turns what
//! the steps reported into `erasure_core::record::RecordFacts` (the outcome is derived
//! there, never asserted here), chains the record to the ticket's previous one and
//! writes it. `writtenAt` is the state's entry time, so a retried write builds the
//! same bytes under the same key and the archive answers it idempotently.
//!
//! The letters to the data subject are rendered here, from the record as built (the
//! `letter` section aside), and their digests go into the record before it is written:
//! what the subject is told is in the record, and `audit letter` renders it again.

use std::collections::BTreeSet;
use std::sync::Arc;

use archive::{Archive, Record};
use chrono::{DateTime, SubsecRound, Utc};
use erasure_core::deadline::DeadlineConfig;
use erasure_core::error::FieldError;
use erasure_core::identifiers::{ConversationId, TicketId};
use erasure_core::pseudonym::Pseudonym;
use erasure_core::record::{
    ActorDecision, AgentAction, AgentRecord, Approval, ApprovalDecision, ClockFacts, DownstreamAck,
    DownstreamStatus, Ending, Escalation, Failure, GenesysRequestRecord, HoldRegisterReads,
    PendingRedaction, RecordContext, RecordFacts, RecordIdentifier, ReviewRecord, build_record,
};
use erasure_core::review::{AgentPlan, IdentifierUsage};
use erasure_core::ticket::Options;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StepError;
use crate::intake::RejectionSection;
use crate::record_scan::IdentifierScan;
use crate::state::{
    ClockSection, ErrorInfo, IdentifiersSection, PartIdentifier, RequestSection, ReviewSection,
    TicketSection,
};
use crate::{notify_downstream, offboard_agent, purge_recordings, verify_erasure};

/// The key id a record names when Intake never ran (it holds no pseudonyms then).
pub const NO_KEY_ID: &str = "unavailable";

#[derive(Clone)]
pub struct Deps {
    pub archive: Arc<dyn Archive>,
    /// Where the record's bytes go when the archive does not take them
    /// ([`archive::fallback`]): an operator replays them. `None`: nowhere.
    pub fallback: Option<Arc<dyn archive::Fallback>>,
    /// The pipeline version the record names.
    pub pipeline_version: String,
    /// `sha256:<hex>` of the definition that ran, when known.
    pub definition_digest: Option<String>,
    /// The letters to the data subject, checked at start; `None` writes records
    /// without letters (tests of the record alone).
    pub letters: Option<Arc<letters::Letters>>,
    /// The pseudonym key, to search the record for the ticket's own identifiers
    /// before it is locked ([`crate::record_scan`]). `None`: no search (tests of the
    /// record alone; every deployment has one).
    pub pseudonymiser: Option<Arc<erasure_core::pseudonym::Pseudonymiser>>,
}

impl std::fmt::Debug for Deps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deps")
            .field("archive", &self.archive.location())
            .field("pipeline_version", &self.pipeline_version)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub ticket: TicketSection,
    pub valid: Option<bool>,
    pub rejection: Option<RejectionSection>,
    pub identifiers: Option<IdentifiersSection>,
    pub clock: Option<ClockSection>,
    pub options: Option<Options>,
    #[serde(default)]
    pub downstream: Option<Vec<String>>,
    pub export: Option<RequestSection>,
    pub review: Option<ReviewSection>,
    pub approval: Option<ApprovalInput>,
    pub approval_rejection: Option<ErrorInfo>,
    pub deletion: Option<RequestSection>,
    pub after: Option<Value>,
    pub failure: Option<ErrorInfo>,
    pub failed_stage: Option<String>,
    pub execution: ExecutionIds,
    /// `$$.State.EnteredTime`.
    pub written_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ExecutionIds {
    pub id: String,
    pub name: String,
}

/// The approval endpoint's `SendTaskSuccess` output (and, as a JSON string, the
/// `Cause` of its `ReviewRejected`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalInput {
    #[serde(default)]
    pub decision: Option<ApprovalDecision>,
    pub actor_ref: Pseudonym,
    pub role: String,
    #[serde(with = "erasure_core::time::utc_z")]
    pub at: DateTime<Utc>,
    pub channel: String,
    /// A rejection's reason code (the approval endpoint's `reasonCode`, the console's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// The OpenID Connect issuer that proved who decided (the console).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Four-eyes: the first approver (`actorRef` is the second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_approval: Option<ActorDecision>,
}

/// `$.record`: where the record is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordReceipt {
    pub key: String,
    pub digest: String,
    pub version_id: Option<String>,
    pub outcome: String,
    pub sequence: u64,
    pub already_present: bool,
    #[serde(with = "erasure_core::time::utc_z")]
    pub retain_until: DateTime<Utc>,
    /// The letters the record's `letter` section names, for ReportToTicket to send.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub letters: Vec<letters::Letter>,
}

pub type Output = RecordReceipt;

/// What the WriteRecord function is asked: the ticket's record, or one later check
/// as a verification record (the payload carries `verification`).
#[derive(Debug, Clone)]
pub enum Event {
    Record(Box<Input>),
    Verification(Box<crate::write_verification::Input>),
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = Value::deserialize(d)?;
        if v.get("verification").is_some() {
            crate::write_verification::Input::deserialize(v)
                .map(|i| Event::Verification(Box::new(i)))
                .map_err(D::Error::custom)
        } else {
            Input::deserialize(v)
                .map(|i| Event::Record(Box::new(i)))
                .map_err(D::Error::custom)
        }
    }
}

/// The WriteRecord function: either document.
pub async fn handle_event(deps: &Deps, event: Event) -> Result<Output, StepError> {
    match event {
        Event::Record(i) => handle(deps, *i).await,
        Event::Verification(i) => crate::write_verification::handle(deps, *i).await,
    }
}

pub async fn handle(deps: &Deps, input: Input) -> Result<Output, StepError> {
    // After an Intake failure the id is the execution name, which Step Functions
    // allows a wider alphabet: cleaned rather than left without a record.
    let ticket_id: TicketId = match input.ticket.id.parse() {
        Ok(id) => id,
        Err(_) => crate::intake::ticket_id_from_name(&input.ticket.id)
            .parse()
            .map_err(|_| StepError::input("ticket.id is not a valid ticket id"))?,
    };
    let written_at = erasure_core::time::parse_rfc3339(&input.written_at)
        .ok_or_else(|| StepError::input("writtenAt is not an RFC 3339 timestamp"))?
        .trunc_subsecs(3);
    let config = match &input.clock {
        Some(c) => c.config.to_config()?,
        None => DeadlineConfig::default(),
    };
    let facts = facts(&input, written_at);
    let mut ctx = RecordContext {
        ticket_id: ticket_id.clone(),
        ticket_source: input
            .ticket
            .source
            .clone()
            .unwrap_or_else(|| "unknown".into()),
        resumes: input.ticket.resumes.clone(),
        execution_id: input.execution.id.clone(),
        sequence: 1,
        previous_digest: None,
        written_at,
        pipeline_version: deps.pipeline_version.clone(),
        definition_digest: deps.definition_digest.clone(),
        retention_years: deps.archive.retention().in_years(),
        key_id: input
            .identifiers
            .as_ref()
            .map_or_else(|| NO_KEY_ID.to_owned(), |i| i.key_id.clone()),
    };
    let head = deps.archive.chain_head(ticket_id.as_str()).await?;
    if let Some(h) = &head {
        ctx.sequence = u32::try_from(h.sequence + 1)
            .map_err(|_| StepError::input("the ticket's chain is too long"))?;
        ctx.previous_digest = Some(h.digest.clone());
    }
    let facts = withhold_identifiers(deps, &ctx, facts, &config)?;
    let (next_sequence, next_previous) = (ctx.sequence, ctx.previous_digest.clone());
    let existing = deps.archive.list(Some(ticket_id.as_str())).await?;
    // The key is (ticket, writtenAt to the ms, outcome). A retry finds its own record
    // there (same bytes once built on the same predecessor): the write is answered as
    // already present. Another record of the ticket at that very millisecond (two runs
    // on a clock that did not move) moves this one on by a millisecond.
    let mut record = None;
    for ms in 0..1000 {
        ctx.written_at = written_at + chrono::Duration::milliseconds(ms);
        ctx.sequence = next_sequence;
        ctx.previous_digest.clone_from(&next_previous);
        let candidate = to_record(deps, &ctx, &facts, &config)?;
        let key = archive::key::relative_key(candidate.0.view())?;
        let Some(entry) = existing.iter().find(|e| e.key.ends_with(&key)) else {
            record = Some(candidate);
            break;
        };
        let stored = Record::from_json(&deps.archive.read(entry).await?.bytes)?;
        ctx.sequence = u32::try_from(stored.view().sequence)
            .map_err(|_| StepError::input("the ticket's chain is too long"))?;
        ctx.previous_digest = stored.view().previous_digest.clone();
        let again = to_record(deps, &ctx, &facts, &config)?;
        if again.0.digest() == stored.digest() {
            record = Some(again);
            break;
        }
    }
    let (record, letters) = record.ok_or_else(|| {
        StepError::input("every key of this writtenAt's second is taken by other records")
    })?;
    let receipt = match deps.archive.write(&record).await {
        Ok(r) => r,
        Err(e) => {
            keep_in_fallback(deps, &record).await;
            return Err(e.into());
        }
    };
    let view = record.view();
    tracing::info!(
        ticket_id = ticket_id.as_str(),
        outcome = view.outcome.as_str(),
        sequence = view.sequence,
        key = receipt.key.as_str(),
        digest = receipt.digest.as_str(),
        already_present = receipt.already_present,
        "compliance record written"
    );
    Ok(RecordReceipt {
        key: receipt.key,
        digest: receipt.digest,
        version_id: receipt.version_id,
        outcome: view.outcome.as_str().to_owned(),
        sequence: view.sequence,
        already_present: receipt.already_present,
        retain_until: receipt.retain_until,
        letters,
    })
}

/// Keeps a record the archive refused, at every failed attempt (the last one cannot
/// know it is the last); the record's digest names it, so attempts keep one copy.
async fn keep_in_fallback(deps: &Deps, record: &Record) {
    let view = record.view();
    let Some(fallback) = &deps.fallback else {
        tracing::error!(
            ticket_id = view.ticket_id.as_str(),
            digest = record.digest(),
            "compliance record not written and no fallback configured"
        );
        return;
    };
    match fallback.keep(record).await {
        Ok(name) => tracing::warn!(
            ticket_id = view.ticket_id.as_str(),
            digest = record.digest(),
            fallback = %fallback.location(),
            name = name.as_str(),
            "compliance record not written; its bytes are kept in the fallback for `gdpr-erasure audit replay-fallback`"
        ),
        Err(e) => tracing::error!(
            ticket_id = view.ticket_id.as_str(),
            digest = record.digest(),
            error = %e,
            "compliance record not written, and the fallback refused it too"
        ),
    }
}

/// The record as it would be written, searched for the ticket's own identifiers in
/// every spelling: text that carries one (an error cause, a third party's text) is
/// withheld (its hash kept) and the record says where; if anything still carries one,
/// only a FAILED record that names the places is written. Never an identifier locked.
fn withhold_identifiers(
    deps: &Deps,
    ctx: &RecordContext,
    mut facts: RecordFacts,
    config: &DeadlineConfig,
) -> Result<RecordFacts, StepError> {
    let Some(p) = &deps.pseudonymiser else {
        return Ok(facts);
    };
    // Searched as built, before its letters are rendered: the record holds only
    // their digests, and the write loop renders them once.
    let built = |facts: &RecordFacts| -> Result<Value, StepError> {
        let record = build_record(ctx, facts, config)?;
        serde_json::to_value(&record)
            .map_err(|e| StepError::input(format!("the record cannot be encoded: {e}")))
    };
    let probe = built(&facts)?;
    if p.key_id() != ctx.key_id {
        // Refs made with another key match nothing: the search could not see a hit.
        if ctx.key_id != NO_KEY_ID {
            facts.escalations.push(Escalation {
                reason: "identifier-search-impossible".into(),
                at: ctx.written_at,
                detail: format!(
                    "the ticket's pseudonyms were made with key {}, WriteRecord has key {}: the record was not searched for the subject's identifiers",
                    ctx.key_id,
                    p.key_id()
                ),
            });
        }
        return Ok(facts);
    }
    let refs = (probe["subject"]["identifiers"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|i| {
            let kind = serde_json::from_value(i["kind"].clone()).ok()?;
            let r = i["ref"].as_str()?.parse().ok()?;
            Some((kind, r))
        });
    let scan = IdentifierScan::new(p, refs);
    let hits = scan.scan_json(&probe);
    if hits.is_empty() {
        return Ok(facts);
    }
    let paths = hits
        .iter()
        .map(|h| h.path.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    tracing::error!(
        places = hits.len(),
        "the record carried the subject's identifiers: withheld"
    );
    let withhold = |text: &mut String| {
        if let Some(kind) = scan.find(text) {
            *text = format!(
                "withheld: it carried the subject's {} ({})",
                kind_word(kind),
                crate::gdpr::sha256_of(text.as_bytes())
            );
        }
    };
    for x in &mut facts.escalations {
        withhold(&mut x.detail);
    }
    if let Ending::Failed(f) = &mut facts.ending {
        withhold(&mut f.detail);
    }
    for d in &mut facts.downstream {
        if let Some(r) = &mut d.reference {
            withhold(r);
        }
    }
    for r in &mut facts.recordings_failed {
        withhold(&mut r.error);
    }
    facts.escalations.push(Escalation {
        reason: "personal-data-withheld".into(),
        at: ctx.written_at,
        detail: format!("text that carried the subject's identifiers was withheld before the record was written, at: {paths}")
            .chars()
            .take(1000)
            .collect(),
    });
    let left = scan.scan_json(&built(&facts)?);
    if left.is_empty() {
        return Ok(facts);
    }
    // Not free text: nothing of this record can be kept safely but the ticket's own
    // pseudonyms and clock.
    let places = left
        .iter()
        .map(|h| h.path.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut failed = RecordFacts::empty(facts.clock.intake_at);
    failed.identifiers = facts.identifiers;
    failed.clock = facts.clock;
    failed.sign_off = facts.sign_off;
    failed.ending = Ending::Failed(Failure {
        stage: "WriteRecord".into(),
        error: "PersonalDataInRecord".into(),
        detail: format!("the record would have carried the subject's identifiers at: {places}; it was not written, and the facts are in the execution's history")
            .chars()
            .take(1000)
            .collect(),
    });
    failed.escalations.push(Escalation {
        reason: "personal-data-in-record".into(),
        at: ctx.written_at,
        detail: "the record of this run would have carried the subject's identifiers: a person must establish the outcome from the execution and record it".into(),
    });
    Ok(failed)
}

/// Errors the definition itself raises (Pass states), with causes it writes itself.
const DEFINITION_ERRORS: &[&str] = &["GenesysRequestError", "GenesysRequestTimedOut"];

/// What the record may say of an error. Our own errors' messages are built from codes,
/// ids and counts; any other cause (`States.*`, `Lambda.*`, `Runtime.*`) is text from
/// outside the pipeline that can quote the execution state verbatim: only its hash is
/// kept, so an operator can match it with the execution's history.
fn told(e: &ErrorInfo) -> String {
    let own = crate::error::all_error_names().contains(&e.error.as_str())
        || DEFINITION_ERRORS.contains(&e.error.as_str());
    if own {
        return e.message();
    }
    match &e.cause {
        Some(c) if !c.is_empty() => format!(
            "the cause is not recorded (text from outside the pipeline); its {}",
            crate::gdpr::sha256_of(c.as_bytes())
        ),
        _ => "no cause given".to_owned(),
    }
}

/// A downstream system's reference as the record keeps it: a code (a letter, then
/// letters, digits and `._:/-`, at most 64) as it is; anything else (free text a
/// third party wrote) as its hash.
fn reference_kept(reference: &str) -> String {
    let code = reference.len() <= 64
        && reference.starts_with(|c: char| c.is_ascii_alphabetic())
        && reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:/-".contains(c));
    if code {
        reference.to_owned()
    } else {
        crate::gdpr::sha256_of(reference.as_bytes())
    }
}

fn kind_word(kind: erasure_core::identifiers::IdentifierKind) -> &'static str {
    use erasure_core::identifiers::IdentifierKind as K;
    match kind {
        K::Name => "name",
        K::Email => "e-mail address",
        K::Phone => "phone number",
        K::GenesysUserId => "Genesys user id",
        K::ExternalContactId => "external contact id",
    }
}

/// The record, with the digests of its letters, and the letters.
fn to_record(
    deps: &Deps,
    ctx: &RecordContext,
    facts: &RecordFacts,
    config: &DeadlineConfig,
) -> Result<(Record, Vec<letters::Letter>), StepError> {
    let mut built = build_record(ctx, facts, config)?;
    let mut sent = Vec::new();
    if let Some(l) = &deps.letters {
        match l.render_record(&built) {
            Ok(Some(rendered)) => {
                built.letter = Some(rendered.record);
                sent = rendered.letters;
            }
            Ok(None) => {}
            // The record is owed whatever fails: it says the letter is missing, and a
            // person writes it.
            Err(e) => {
                tracing::error!(error = %e, "the letter could not be rendered");
                built.escalations.push(Escalation {
                    reason: "letter-not-rendered".into(),
                    at: built.written_at,
                    detail: e.to_string().chars().take(1000).collect(),
                });
            }
        }
    }
    let value = serde_json::to_value(&built)
        .map_err(|e| StepError::input(format!("the record cannot be encoded: {e}")))?;
    Ok((Record::from_value(value)?, sent))
}

/// What AfterErasure's branches reported.
#[derive(Default)]
struct AfterErasureResults {
    purge: Option<purge_recordings::Output>,
    offboard: Option<offboard_agent::Output>,
    verify: Option<verify_erasure::Output>,
    notify: Option<Vec<Value>>,
    /// Branches that failed: (step, error).
    errors: Vec<(String, ErrorInfo)>,
}

/// `$.after` is the Parallel's array of branch results, or (after a Genesys ERROR) the
/// one VerifyErasure result.
fn read_after(v: Option<&Value>) -> AfterErasureResults {
    let mut after = AfterErasureResults::default();
    let items: Vec<&Value> = match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(o @ Value::Object(_)) => vec![o],
        _ => Vec::new(),
    };
    for item in items {
        let step = item
            .get("step")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned();
        if let Some(err) = item.get("error") {
            if let Ok(e) = serde_json::from_value::<ErrorInfo>(err.clone()) {
                after.errors.push((step, e));
            }
            continue;
        }
        if item.get("skipped") == Some(&Value::Bool(true)) {
            continue;
        }
        let parsed = match step.as_str() {
            "purge" => serde_json::from_value(item.clone()).map(|p| after.purge = Some(p)),
            "offboard" => serde_json::from_value(item.clone()).map(|o| after.offboard = Some(o)),
            "verify" => serde_json::from_value(item.clone()).map(|o| after.verify = Some(o)),
            "notify" => {
                after.notify = Some(
                    item.get("acknowledgements")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                );
                Ok(())
            }
            _ => Ok(()),
        };
        if parsed.is_err() {
            after.errors.push((
                step,
                ErrorInfo {
                    error: "InvalidStepInput".into(),
                    cause: Some("the branch result does not match its step's output".into()),
                },
            ));
        }
    }
    after
}

/// A section's requests as the record lists them, each delete with the pseudonym of
/// the one identifier it named.
fn request_records(
    r: &RequestSection,
    identifiers: Option<&IdentifiersSection>,
) -> Vec<GenesysRequestRecord> {
    let names_ref = |names: Option<PartIdentifier>| {
        let names = names?;
        identifiers?
            .items
            .iter()
            .find(|i| i.kind == names.kind && i.index == names.index)
            .map(|i| i.identifier_ref.clone())
    };
    // Expired exports first: every request the ticket made, in the order it made them.
    (r.expired.iter().cloned().chain(r.requests()))
        .map(|p| GenesysRequestRecord {
            request_type: r.request_type,
            request_id: p.request_id,
            submitted_at: p.submitted_at,
            reused: p.reused,
            final_status: p.poll.done.then(|| p.poll.status.clone()),
            status_history: p.poll.history,
            subject_ref: names_ref(p.names),
        })
        .collect()
}

fn facts(input: &Input, at: DateTime<Utc>) -> RecordFacts {
    let after = read_after(input.after.as_ref());
    let review = input.review.as_ref();
    let mut f = RecordFacts::empty(input.ticket.intake_at.unwrap_or(at));
    let mut escalations: Vec<Escalation> = Vec::new();
    let mut escalate = |reason: &str, detail: String| {
        escalations.push(Escalation {
            reason: reason.to_owned(),
            at,
            detail,
        })
    };

    // How the run ended.
    let ending = if input.valid == Some(false) {
        Ending::Rejected(
            input
                .rejection
                .as_ref()
                .map(|r| r.reasons.clone())
                .unwrap_or_else(|| {
                    vec![FieldError::new(
                        "$",
                        "invalid",
                        "the ticket was refused at intake",
                    )]
                }),
        )
    } else if input.approval_rejection.is_some() {
        Ending::Rejected(vec![FieldError::new(
            "approval",
            "dpo-rejected",
            "the DPO rejected the erasure at the review gate; nothing was deleted",
        )])
    } else if let Some(fl) = &input.failure {
        let stage = input
            .failed_stage
            .clone()
            .unwrap_or_else(|| "Unknown".into());
        let message = told(fl);
        match fl.error.as_str() {
            "GenesysRequestError" => escalate(
                "genesys-request-error",
                format!(
                    "{message} (at {stage}). Genesys may have processed part of it: never resubmit; open a Genesys support case with the request id to establish what remains, then erase the rest."
                ),
            ),
            "GenesysRequestTimedOut" => escalate(
                "genesys-request-timed-out",
                format!(
                    "{message} (at {stage}). Check the request in Genesys before the deadline; the ticket is not done."
                ),
            ),
            other => escalate(
                "step-failed",
                format!("{stage} failed with {other}: {message}"),
            ),
        }
        Ending::Failed(Failure {
            stage: stage.chars().filter(char::is_ascii_alphanumeric).collect(),
            error: fl.error.clone(),
            detail: message,
        })
    } else {
        Ending::Ran
    };

    // Identifiers: as the review used them, else as far as the run got.
    f.identifiers = match review {
        Some(r) => r
            .identifiers
            .iter()
            .map(|i| RecordIdentifier {
                kind: i.kind,
                identifier_ref: i.identifier_ref.clone(),
                usage: i.usage,
                left_out_because: i.left_out_because.clone(),
            })
            .collect(),
        None => input
            .identifiers
            .iter()
            .flat_map(|s| s.items.iter())
            .map(|i| RecordIdentifier {
                kind: i.kind,
                identifier_ref: i.identifier_ref.clone(),
                usage: if input.export.is_some()
                    && i.kind != erasure_core::identifiers::IdentifierKind::Name
                {
                    IdentifierUsage::SearchedOnly
                } else {
                    IdentifierUsage::NotSearched
                },
                left_out_because: Vec::new(),
            })
            .collect(),
    };

    f.clock = ClockFacts {
        received_at: input.ticket.received_at,
        identity_verified_at: input.ticket.identity_verified_at,
        extension: input.ticket.extension.clone(),
        intake_at: input.ticket.intake_at.unwrap_or(at),
        genesys_first_call_at: input
            .export
            .as_ref()
            .map(|e| e.first_call_at)
            .or_else(|| input.deletion.as_ref().map(|d| d.first_call_at)),
        completed_at: None,
    };
    f.sign_off = input.ticket.sign_off.as_ref().map(|s| ActorDecision {
        actor_ref: s.actor_ref.clone(),
        role: s.role.clone(),
        at: s.at,
    });
    f.approval = match (&input.approval, &input.approval_rejection) {
        (Some(a), _) => Some(approval(a, ApprovalDecision::Approve)),
        (None, Some(rej)) => rej
            .cause
            .as_deref()
            .and_then(|c| serde_json::from_str::<ApprovalInput>(c).ok())
            .map(|a| approval(&a, ApprovalDecision::Reject)),
        (None, None) => None,
    };
    f.genesys_requests = (input.export.iter().chain(input.deletion.iter()))
        .flat_map(|r| request_records(r, input.identifiers.as_ref()))
        .collect();
    if input.deletion.as_ref().and_then(|d| d.subject_matches) == Some(false) {
        escalate(
            "reused-delete-differs",
            "a GDPR_DELETE this ticket sent earlier names other identifiers than this review cleared (or could not be settled); nothing was resubmitted: a person must check the difference".into(),
        );
    }

    if let Some(r) = review {
        f.review = Some(ReviewRecord {
            decision: r.decision,
            reasons: r.reasons.clone(),
            at: r.at,
        });
        f.conversations_found = r.conversations.found.clone();
        f.excluded = r.conversations.excluded.clone();
        f.withheld = r.conversations.withheld.clone();
        f.deferral = r.deferral.clone();
        f.recordings_found = r.recordings.clone();
        f.hold_register = r.hold_register.clone().map(|at_review| HoldRegisterReads {
            at_review,
            at_erase: (input.deletion.as_ref()).and_then(|d| d.hold_register_at_erase.clone()),
        });
        if matches!(ending, Ending::Ran) && !r.conversations.per_conversation.is_empty() {
            escalate(
                "per-conversation-erasure",
                format!(
                    "{} conversation(s) cannot be erased by identifier without reaching data that must stay (their recordings were purged when asked): {}",
                    r.conversations.per_conversation.len(),
                    join_ids(&r.conversations.per_conversation)
                ),
            );
        }
    }
    f.erase_recordings = input.options.as_ref().is_none_or(|o| o.erase_recordings);

    // AfterErasure.
    if let Some(v) = &after.verify {
        f.conversations_erased = v.erased.clone();
        if let (false, Some(closes)) = (v.pending.is_empty(), v.window_closes_at) {
            f.pending_redaction = Some(PendingRedaction {
                conversations: v.pending.clone(),
                window_closes_at: closes,
            });
            escalate(
                "redaction-pending",
                format!(
                    "{} conversation(s) still carried the subject when the record was written, inside Genesys's redaction window (closes {}): check them again after it: {}",
                    v.pending.len(),
                    erasure_core::time::format_utc(&closes),
                    join_ids(&v.pending)
                ),
            );
        }
        if let Some(r) = review {
            let covered: BTreeSet<&ConversationId> = r.conversations.covered.iter().collect();
            let left: Vec<ConversationId> = v
                .remaining
                .iter()
                .filter(|c| covered.contains(c))
                .cloned()
                .collect();
            if !left.is_empty()
                && input
                    .deletion
                    .as_ref()
                    .is_some_and(|d| d.poll.status == "COMPLETED")
            {
                escalate(
                    "deleted-data-still-present",
                    format!(
                        "Genesys reported the GDPR_DELETE COMPLETED but {} conversation(s) still carry the subject's identifiers or recordings after the redaction window: {}",
                        left.len(),
                        join_ids(&left)
                    ),
                );
            }
        }
    }
    if let Some(p) = &after.purge {
        f.recordings_purged = p.purged.clone();
        f.recordings_failed = p.failed.clone();
        if !p.protected_conversations.is_empty() {
            escalate(
                "protected-after-review",
                format!(
                    "deletion protection was applied after the review to: {}",
                    join_ids(&p.protected_conversations)
                ),
            );
        }
        if !p.held_since_review.is_empty() {
            escalate(
                "held-after-review",
                format!(
                    "a legal hold placed after the review may cover (recordings not purged): {}",
                    join_ids(&p.held_since_review)
                ),
            );
        }
    }
    for (step, e) in &after.errors {
        escalate(
            "after-erasure-step-failed",
            format!("{step} failed with {}: {}", e.error, told(e)),
        );
    }
    f.agent = agent_record(review, &after, &ending, at);
    if f.agent
        .as_ref()
        .is_some_and(|a| a.action == AgentAction::SkippedActive)
        && review.is_some_and(|r| r.agent.action == "offboard")
    {
        escalate(
            "agent-now-active",
            "the account was inactive at review but active when it was to be offboarded: it was not touched".into(),
        );
    }
    if let Some(o) = after
        .offboard
        .as_ref()
        .filter(|o| !o.fields_left.is_empty())
    {
        escalate(
            "agent-fields-left",
            format!(
                "Genesys kept these personal fields of the former agent's account after it was anonymised; clear them by hand: {}",
                o.fields_left.join(", ")
            ),
        );
    }

    // Downstream (Art. 19): owed once the erasure ran.
    if input.after.is_some() && matches!(ending, Ending::Ran) {
        f.downstream_expected = input.downstream.clone().unwrap_or_default();
    }
    for ack in after.notify.iter().flatten() {
        if let Some(d) = downstream_ack(ack, at) {
            f.downstream.push(d);
        }
    }

    f.ending = ending;
    f.escalations = escalations;
    f
}

fn approval(a: &ApprovalInput, decision: ApprovalDecision) -> Approval {
    Approval {
        decision,
        actor_ref: a.actor_ref.clone(),
        role: a.role.clone(),
        at: a.at,
        channel: a.channel.clone(),
        // Only a rejection has a reason: one sent with an approval is not recorded.
        reason_code: match decision {
            ApprovalDecision::Reject => a.reason_code.clone(),
            ApprovalDecision::Approve => None,
        },
        issuer: a.issuer.clone(),
        first_approval: a.first_approval.clone(),
    }
}

fn agent_record(
    review: Option<&ReviewSection>,
    after: &AfterErasureResults,
    ending: &Ending,
    at: DateTime<Utc>,
) -> Option<AgentRecord> {
    let r = review?;
    let plan = r.agent.plan?;
    let user_ref = r.agent.user_ref.clone()?;
    let offboard_failed = after.errors.iter().any(|(s, _)| s == "offboard");
    let action = match (plan, &after.offboard) {
        (_, Some(o)) => o.action,
        (AgentPlan::Offboard | AgentPlan::AlreadyDeleted, None) => {
            // Not attempted because the run ended early: the failure says why.
            if !matches!(ending, Ending::Ran) && !offboard_failed {
                return None;
            }
            AgentAction::Failed
        }
        (AgentPlan::SkipActive, None) => AgentAction::SkippedActive,
        (AgentPlan::NotFound, None) => AgentAction::NotFound,
        (AgentPlan::Held, None) => AgentAction::Held,
        (AgentPlan::Unchecked, None) => AgentAction::Unchecked,
    };
    Some(AgentRecord {
        user_ref,
        action,
        at: after.offboard.as_ref().map_or(at, |o| o.at),
    })
}

fn downstream_ack(v: &Value, at: DateTime<Utc>) -> Option<DownstreamAck> {
    if let Some(err) = v.get("error") {
        let system = v.get("system").and_then(Value::as_str)?.to_owned();
        let e: ErrorInfo = serde_json::from_value(err.clone()).ok()?;
        let cause = e.cause.clone().unwrap_or_default();
        return Some(DownstreamAck {
            system,
            status: if e.error == "DownstreamRejected" {
                DownstreamStatus::Failed
            } else {
                DownstreamStatus::NotAcknowledged
            },
            http_status: None,
            reference: None,
            attempts: notify_downstream::attempts_in(&cause),
            at,
        });
    }
    let ok: notify_downstream::Output = serde_json::from_value(v.clone()).ok()?;
    Some(DownstreamAck {
        system: ok.system,
        status: ok.status,
        http_status: Some(ok.http_status),
        reference: Some(reference_kept(&ok.reference)),
        attempts: ok.attempts,
        at: ok.at,
    })
}

fn join_ids(ids: &[ConversationId]) -> String {
    ids.iter()
        .map(ConversationId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_downstream_reference_is_kept_only_as_a_code_else_as_its_hash() {
        for code in ["CRM-ERASE-2026-0042", "ticket:8812", "zd/4411.2"] {
            assert_eq!(reference_kept(code), code);
        }
        for text in [
            "Erased Liam Byrne's account",
            "liam@example.org",
            "+353834567890",
            "0834567890",
            &"x".repeat(65),
        ] {
            let kept = reference_kept(text);
            assert!(
                kept.starts_with("sha256:") && !kept.contains(text),
                "{text}"
            );
        }
    }

    #[test]
    fn only_our_own_errors_causes_are_told_others_are_hashed() {
        let e = |error: &str, cause: &str| ErrorInfo {
            error: error.into(),
            cause: Some(cause.into()),
        };
        assert_eq!(told(&e("GenesysTransient", "HTTP 503")), "HTTP 503");
        assert_eq!(
            told(&e(
                "GenesysRequestError",
                "Genesys request r-1 ended in ERROR"
            )),
            "Genesys request r-1 ended in ERROR"
        );
        for name in [
            "States.Runtime",
            "Lambda.Unknown",
            "Runtime.ExitError",
            "Custom",
        ] {
            let t = told(&e(name, "input '{\"email\": \"a@b.example\"}'"));
            assert!(t.contains("sha256:") && !t.contains("a@b.example"), "{t}");
        }
    }
}
