//! The compliance record (`schemas/compliance-record.v1.schema.json`), and the builder
//! that computes everything a producer must not assert: the clock, the counts, the
//! gaps and the outcome.
//!
//! Outcome rules, in order: a rejected ticket is REJECTED; a failure is FAILED; any gap
//! is PARTIAL (never silently COMPLETED); held data is DEFERRED; else COMPLETED.
//! Gaps are derived, not given: an in-scope conversation not confirmed erased, a
//! GDPR_DELETE that was owed but did not complete, a recording not purged, a
//! downstream system that did not acknowledge (or never answered), an agent not
//! offboarded.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::deadline::{self, DeadlineConfig, ExtensionNotice};
use crate::error::{FieldError, RecordError};
use crate::hold::{Deferral, HeldConversation, WithholdReason};
use crate::identifiers::{ConversationId, EntityId, IdentifierKind, TicketId};
use crate::pseudonym::{Pseudonym, Pseudonymiser};
use crate::review::{Decision, IdentifierUsage, LeftOutBecause, ReviewOutcome};
use crate::tenure::Exclusion;
use crate::ticket::TicketSalvage;

pub const SCHEMA_ID: &str = "gdpr-erasure/compliance-record/v1";
pub const LEGAL_BASIS_HOLD: &str = "Art. 17(3)(e)";
const MAX_ERROR_TEXT: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Completed,
    Partial,
    Deferred,
    Rejected,
    Failed,
}

impl Outcome {
    /// As used in the archive key `records/<ticket>/<written at>-<outcome>.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "COMPLETED",
            Outcome::Partial => "PARTIAL",
            Outcome::Deferred => "DEFERRED",
            Outcome::Rejected => "REJECTED",
            Outcome::Failed => "FAILED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComplianceRecord {
    pub schema: String,
    pub ticket_id: TicketId,
    pub ticket_source: String,
    /// The DEFERRED ticket this ticket follows up (`ticket.resumes`), so an auditor can
    /// follow a deferral to its completion; `None` for an ordinary ticket.
    pub resumes: Option<TicketId>,
    pub execution_id: String,
    pub sequence: u32,
    pub previous_digest: Option<String>,
    #[serde(with = "crate::time::utc_z")]
    pub written_at: DateTime<Utc>,
    pub outcome: Outcome,
    pub pipeline: Pipeline,
    pub retention: Retention,
    pub pseudonymisation: Pseudonymisation,
    pub subject: RecordSubject,
    pub clock: RecordClock,
    pub decisions: Decisions,
    pub genesys: GenesysRecord,
    pub counts: Counts,
    pub excluded: Vec<Exclusion>,
    pub withheld: Vec<Withheld>,
    pub agent: Option<AgentRecord>,
    pub recordings: Recordings,
    pub downstream: Vec<DownstreamAck>,
    pub gaps: Vec<Gap>,
    pub escalations: Vec<Escalation>,
    pub deferral: Option<DeferralRecord>,
    pub rejection: Option<Rejection>,
    pub failure: Option<Failure>,
    /// What the data subject was told (crate `letters`): absent in records written
    /// before letters, and for FAILED (no answer yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub letter: Option<LetterRecord>,
    /// In-scope conversations that still carried the subject when the record was
    /// written, inside the window in which Genesys's redaction may still land: not
    /// erased, not a gap, to be checked again. Absent when there are none (and in
    /// records written before redaction was verified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_redaction: Option<PendingRedaction>,
    /// Which version of the legal-hold register the review read, and which the last
    /// check before a GDPR_DELETE read (the same, or the ticket was reviewed again).
    /// Absent in records written before the register's version was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_register: Option<HoldRegisterReads>,
}

/// See [`ComplianceRecord::hold_register`]: `sha256:<hex>` of the register document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HoldRegisterReads {
    pub at_review: String,
    /// `None` when no GDPR_DELETE was submitted after the review.
    pub at_erase: Option<String>,
}

/// See [`ComplianceRecord::pending_redaction`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PendingRedaction {
    pub conversations: Vec<ConversationId>,
    /// When the window closes: past it, what still carries the subject is a gap.
    #[serde(with = "crate::time::utc_z")]
    pub window_closes_at: DateTime<Utc>,
}

/// The letters sent with the outcome: each rendering's SHA-256, and what renders them
/// again (`gdpr-erasure audit letter`): the template set's digest and the digest of
/// the controller's settings the letters name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LetterRecord {
    /// `sha256:<hex>` of the template set (`letters::TemplateSet`).
    pub template_set: String,
    /// `embedded:<version>` or `custom`.
    pub templates: String,
    /// `sha256:<hex>` of the controller, DPO and supervisory authority settings.
    pub settings: String,
    pub letters: Vec<LetterDigest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LetterDigest {
    /// `completed`, `nothing-found`, `deferred`, `partial`, `rejected`, `extension`.
    pub kind: String,
    pub language: String,
    /// `sha256:<hex>` of the text rendering (UTF-8).
    pub text: String,
    /// `sha256:<hex>` of the HTML rendering (UTF-8).
    pub html: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pipeline {
    pub version: String,
    pub definition_digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Retention {
    pub mode: String,
    #[serde(with = "crate::time::utc_z")]
    pub retain_until: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pseudonymisation {
    pub algorithm: String,
    pub key_id: String,
    /// How refs are computed, so an auditor holding the key can recompute one.
    pub scheme: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordSubject {
    pub identifiers: Vec<RecordIdentifier>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordIdentifier {
    pub kind: IdentifierKind,
    #[serde(rename = "ref")]
    pub identifier_ref: Pseudonym,
    pub usage: IdentifierUsage,
    /// Why it was kept out of the GDPR_DELETE subject; empty when it was used.
    pub left_out_because: Vec<LeftOutBecause>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordClock {
    #[serde(with = "crate::time::utc_z")]
    pub received_at: DateTime<Utc>,
    /// When the pipeline took the ticket in (lateAtIntake compares it with the
    /// deadline; stands in for an unreadable receipt time of a rejected ticket).
    #[serde(with = "crate::time::utc_z")]
    pub intake_at: DateTime<Utc>,
    /// The IANA zone days are counted in, so an auditor can recompute the dates.
    pub time_zone: String,
    #[serde(with = "crate::time::option_utc_z")]
    pub identity_verified_at: Option<DateTime<Utc>>,
    #[serde(with = "crate::time::utc_z")]
    pub clock_starts_at: DateTime<Utc>,
    pub clock_basis: deadline::ClockBasis,
    pub due_date: NaiveDate,
    pub extension: Option<deadline::ExtendedDeadline>,
    pub effective_due_date: NaiveDate,
    pub service_level: RecordServiceLevel,
    pub late_at_intake: bool,
    #[serde(with = "crate::time::option_utc_z")]
    pub completed_at: Option<DateTime<Utc>>,
    pub within_deadline: Option<bool>,
    pub days_late: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordServiceLevel {
    #[serde(with = "crate::time::utc_z")]
    pub genesys_due_by: DateTime<Utc>,
    #[serde(with = "crate::time::option_utc_z")]
    pub genesys_first_call_at: Option<DateTime<Utc>>,
    pub met: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Decisions {
    pub sign_off: Option<ActorDecision>,
    pub review: Option<ReviewRecord>,
    pub approval: Option<Approval>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActorDecision {
    pub actor_ref: Pseudonym,
    pub role: String,
    #[serde(with = "crate::time::utc_z")]
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewRecord {
    pub decision: Decision,
    pub reasons: Vec<String>,
    #[serde(with = "crate::time::utc_z")]
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ApprovalDecision {
    Approve,
    Reject,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Approval {
    pub decision: ApprovalDecision,
    pub actor_ref: Pseudonym,
    pub role: String,
    #[serde(with = "crate::time::utc_z")]
    pub at: DateTime<Utc>,
    pub channel: String,
    /// Why a rejection was given, as a code (absent when none was given, and always
    /// for an approval). Added with the DPO's console; earlier records lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// The OpenID Connect issuer that proved who decided (the console's sign-in):
    /// `actorRef` is then the keyed pseudonym of that issuer's subject (`sub`).
    /// Absent when the decider was asserted by the caller (approval endpoint, cli).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Four-eyes approval: the first of the two people; `actorRef` is the second,
    /// whose approval released the erasure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_approval: Option<ActorDecision>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesysRecord {
    pub requests: Vec<GenesysRequestRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GdprRequestType {
    GdprExport,
    GdprDelete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesysRequestRecord {
    pub request_type: GdprRequestType,
    pub request_id: String,
    #[serde(with = "crate::time::utc_z")]
    pub submitted_at: DateTime<Utc>,
    pub reused: bool,
    pub status_history: Vec<StatusObservation>,
    pub final_status: Option<String>,
    /// A delete that named one identifier alone: that identifier's pseudonym (absent
    /// for an export and in records written before deletes went per identifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_ref: Option<Pseudonym>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusObservation {
    pub status: String,
    #[serde(with = "crate::time::utc_z")]
    pub observed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Counts {
    pub conversations_found: usize,
    pub conversations_in_scope: usize,
    pub conversations_excluded: usize,
    pub conversations_withheld: usize,
    pub conversations_erased: usize,
    pub recordings_found: usize,
    pub recordings_purged: usize,
    pub recordings_withheld: usize,
    pub downstream_notified: usize,
    pub downstream_acknowledged: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Withheld {
    pub conversation_id: ConversationId,
    pub reason: WithholdReason,
    pub hold_id: Option<String>,
    pub hold_expiry: Option<NaiveDate>,
    pub legal_basis: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AgentAction {
    Offboarded,
    SkippedActive,
    AlreadyDeleted,
    NotFound,
    Failed,
    /// Kept with the rest of the held data.
    Held,
    /// The account's status could not be read, so nothing was done.
    Unchecked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentRecord {
    pub user_ref: Pseudonym,
    pub action: AgentAction,
    #[serde(with = "crate::time::utc_z")]
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recordings {
    pub purged: Vec<PurgedRecording>,
    pub failed: Vec<FailedRecording>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PurgedRecording {
    pub conversation_id: ConversationId,
    pub recording_id: EntityId,
    #[serde(with = "crate::time::utc_z")]
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailedRecording {
    pub conversation_id: ConversationId,
    pub recording_id: EntityId,
    pub error: String,
}

/// A recording located in one of the subject's conversations.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingRef {
    pub conversation_id: ConversationId,
    pub recording_id: EntityId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DownstreamStatus {
    Acknowledged,
    NotAcknowledged,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DownstreamAck {
    pub system: String,
    pub status: DownstreamStatus,
    pub http_status: Option<u16>,
    pub reference: Option<String>,
    pub attempts: u32,
    #[serde(with = "crate::time::utc_z")]
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GapKind {
    RecordingNotPurged,
    DownstreamNotAcknowledged,
    AgentNotOffboarded,
    ConversationNotErased,
    GenesysPartial,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Gap {
    pub kind: GapKind,
    pub reason: String,
    pub subject_of_gap: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Escalation {
    pub reason: String,
    #[serde(with = "crate::time::utc_z")]
    pub at: DateTime<Utc>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeferralRecord {
    pub legal_basis: String,
    pub holds: Vec<crate::hold::ActiveHold>,
    pub resume_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rejection {
    pub reasons: Vec<FieldError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Failure {
    /// The workflow state that failed (`ErasePoll`).
    pub stage: String,
    /// The error name as Step Functions saw it (`GenesysRequestError`).
    pub error: String,
    pub detail: String,
}

/// Same for every record of one execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordContext {
    pub ticket_id: TicketId,
    pub ticket_source: String,
    /// The ticket's `resumes`: the DEFERRED ticket it follows up. `None` for an
    /// ordinary ticket, and for one that failed validation (a ticket never taken in
    /// resumes nothing).
    pub resumes: Option<TicketId>,
    pub execution_id: String,
    /// 1 for the ticket's first record; `previous_digest` is set exactly when > 1.
    pub sequence: u32,
    pub previous_digest: Option<String>,
    pub written_at: DateTime<Utc>,
    pub pipeline_version: String,
    pub definition_digest: Option<String>,
    /// Object Lock retention, in years from `written_at` (default 7).
    pub retention_years: u32,
    pub key_id: String,
}

/// The clock as facts: the builder computes every derived value from these.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClockFacts {
    /// `None` only for a rejected ticket whose receipt time was unreadable; the
    /// pipeline's intake time stands in (and the rejection names the field).
    pub received_at: Option<DateTime<Utc>>,
    pub identity_verified_at: Option<DateTime<Utc>>,
    pub extension: Option<ExtensionNotice>,
    /// When the pipeline took the ticket in (for lateAtIntake).
    pub intake_at: DateTime<Utc>,
    pub genesys_first_call_at: Option<DateTime<Utc>>,
    /// When the terminal outcome was reached; `None` means "now" (`written_at`) for
    /// anything but a rejection.
    pub completed_at: Option<DateTime<Utc>>,
}

/// How the run ended, as far as the producer knows. The outcome is derived from
/// this and the facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The ticket never reached a GDPR_DELETE: invalid, or the DPO rejected it.
    Rejected(Vec<FieldError>),
    /// A Genesys ERROR, a time-out, a step that gave up.
    Failed(Failure),
    /// The workflow ran to its end.
    Ran,
}

/// Everything that happened, as reported by the steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFacts {
    pub ending: Ending,
    pub identifiers: Vec<RecordIdentifier>,
    pub clock: ClockFacts,
    pub sign_off: Option<ActorDecision>,
    pub review: Option<ReviewRecord>,
    pub approval: Option<Approval>,
    pub genesys_requests: Vec<GenesysRequestRecord>,
    pub conversations_found: Vec<ConversationId>,
    pub excluded: Vec<Exclusion>,
    pub withheld: Vec<HeldConversation>,
    /// In-scope conversations confirmed gone (or redacted) after the deletion.
    pub conversations_erased: Vec<ConversationId>,
    /// In-scope conversations still carrying the subject inside the redaction window.
    pub pending_redaction: Option<PendingRedaction>,
    pub hold_register: Option<HoldRegisterReads>,
    pub deferral: Option<Deferral>,
    pub erase_recordings: bool,
    pub recordings_found: Vec<RecordingRef>,
    pub recordings_purged: Vec<PurgedRecording>,
    pub recordings_failed: Vec<FailedRecording>,
    pub agent: Option<AgentRecord>,
    /// Every downstream system the deployment must notify (Art. 19).
    pub downstream_expected: Vec<String>,
    pub downstream: Vec<DownstreamAck>,
    pub escalations: Vec<Escalation>,
}

impl RecordFacts {
    /// Facts for a ticket that failed validation: nothing happened but intake.
    pub fn rejected(
        errors: Vec<FieldError>,
        salvage: &TicketSalvage,
        p: &Pseudonymiser,
        intake_at: DateTime<Utc>,
    ) -> Self {
        RecordFacts {
            ending: Ending::Rejected(errors),
            identifiers: salvage_identifiers(salvage, p),
            clock: ClockFacts {
                received_at: salvage.received_at,
                identity_verified_at: salvage.identity_verified_at,
                extension: salvage.extension.clone(),
                intake_at,
                genesys_first_call_at: None,
                completed_at: None,
            },
            sign_off: salvage.sign_off.as_ref().map(|s| ActorDecision {
                actor_ref: p.actor(&s.by),
                role: s.role.clone(),
                at: s.at,
            }),
            ..RecordFacts::empty(intake_at)
        }
    }

    /// No facts yet: a base for struct-update syntax.
    pub fn empty(intake_at: DateTime<Utc>) -> Self {
        RecordFacts {
            ending: Ending::Ran,
            identifiers: Vec::new(),
            clock: ClockFacts {
                intake_at,
                ..ClockFacts::default()
            },
            sign_off: None,
            review: None,
            approval: None,
            genesys_requests: Vec::new(),
            conversations_found: Vec::new(),
            excluded: Vec::new(),
            withheld: Vec::new(),
            conversations_erased: Vec::new(),
            pending_redaction: None,
            hold_register: None,
            deferral: None,
            erase_recordings: true,
            recordings_found: Vec::new(),
            recordings_purged: Vec::new(),
            recordings_failed: Vec::new(),
            agent: None,
            downstream_expected: Vec::new(),
            downstream: Vec::new(),
            escalations: Vec::new(),
        }
    }

    /// Fills identifiers, found/excluded/withheld conversations, deferral and the
    /// review decision from the review outcome.
    pub fn apply_review(&mut self, review: &ReviewOutcome, at: DateTime<Utc>) {
        self.identifiers = review
            .identifiers
            .iter()
            .map(|i| RecordIdentifier {
                kind: i.kind,
                identifier_ref: i.identifier_ref.clone(),
                usage: i.usage,
                left_out_because: i.left_out_because.clone(),
            })
            .collect();
        self.conversations_found.clone_from(&review.found);
        self.excluded.clone_from(&review.excluded);
        self.withheld.clone_from(&review.withheld);
        self.deferral.clone_from(&review.deferral);
        self.review = Some(ReviewRecord {
            decision: review.decision,
            reasons: review.reason_codes(),
            at,
        });
    }
}

/// The identifiers of a rejected ticket, all `not-searched`.
pub fn salvage_identifiers(s: &TicketSalvage, p: &Pseudonymiser) -> Vec<RecordIdentifier> {
    let not = |kind, identifier_ref| RecordIdentifier {
        kind,
        identifier_ref,
        usage: IdentifierUsage::NotSearched,
        left_out_because: Vec::new(),
    };
    let mut ids = Vec::new();
    ids.extend(
        s.subject
            .emails
            .iter()
            .map(|e| not(IdentifierKind::Email, p.email(e))),
    );
    ids.extend(
        s.subject
            .phones
            .iter()
            .map(|ph| not(IdentifierKind::Phone, p.phone(&ph.number))),
    );
    if let Some(u) = &s.subject.genesys_user_id {
        ids.push(not(IdentifierKind::GenesysUserId, p.genesys_user(u)));
    }
    if let Some(x) = &s.subject.external_contact_id {
        ids.push(not(
            IdentifierKind::ExternalContactId,
            p.external_contact(x),
        ));
    }
    if let Some(n) = &s.subject.name {
        ids.push(not(IdentifierKind::Name, p.name(n)));
    }
    ids
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

fn matches_code(s: &str, max: usize) -> bool {
    s.len() <= max
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')))
}

/// The one role check: exactly the record schema's `$defs.role`
/// (`^[A-Za-z][A-Za-z0-9 _-]{0,39}$`). Configuration (SIGN_OFF_ROLES, APPROVAL_ROLES),
/// the template's parameters and WriteRecord all accept exactly these, so a role that
/// could not be recorded is refused when it is configured, not after an erasure.
pub fn is_valid_role(s: &str) -> bool {
    is_role(s)
}

fn is_role(s: &str) -> bool {
    s.len() <= 40
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " _-".contains(c))
}

fn is_status(s: &str) -> bool {
    !s.is_empty() && s.len() <= 40 && s.chars().all(|c| c.is_ascii_uppercase() || c == '_')
}

/// Checks the formats the schema demands of values the producer supplies.
fn check_inputs(ctx: &RecordContext, f: &RecordFacts) -> Vec<FieldError> {
    let mut e = Vec::new();
    let mut need = |ok: bool, field: &str, msg: &str| {
        if !ok {
            e.push(FieldError::new(field, "invalid", msg));
        }
    };
    need(
        matches_code(&ctx.ticket_source, 40),
        "ticketSource",
        "must be a-z 0-9 . _ - (1 to 40)",
    );
    need(
        ctx.resumes.as_ref() != Some(&ctx.ticket_id),
        "resumes",
        "a ticket cannot resume itself",
    );
    need(
        !ctx.execution_id.is_empty() && ctx.execution_id.len() <= 2048,
        "executionId",
        "must be 1 to 2048 characters",
    );
    need(ctx.sequence >= 1, "sequence", "starts at 1");
    need(
        (ctx.sequence == 1) == ctx.previous_digest.is_none(),
        "previousDigest",
        "is null exactly for the first record of a ticket",
    );
    need(
        ctx.previous_digest.as_deref().is_none_or(is_digest),
        "previousDigest",
        "must be sha256:<64 hex>",
    );
    need(
        !ctx.pipeline_version.is_empty() && ctx.pipeline_version.len() <= 64,
        "pipeline.version",
        "must be 1 to 64 characters",
    );
    need(
        ctx.definition_digest.as_deref().is_none_or(is_digest),
        "pipeline.definitionDigest",
        "must be sha256:<64 hex>",
    );
    need(
        (1..=100).contains(&ctx.retention_years),
        "retention.retainUntil",
        "retention must be 1 to 100 years",
    );
    need(
        !ctx.key_id.is_empty() && ctx.key_id.len() <= 128,
        "pseudonymisation.keyId",
        "must be 1 to 128 characters",
    );
    if let Some(s) = &f.sign_off {
        need(
            is_role(&s.role),
            "decisions.signOff.role",
            "is not a valid role",
        );
    }
    if let Some(r) = &f.review {
        need(
            r.reasons.iter().all(|c| matches_code(c, 64)),
            "decisions.review.reasons",
            "must be codes",
        );
    }
    if let Some(a) = &f.approval {
        need(
            is_role(&a.role),
            "decisions.approval.role",
            "is not a valid role",
        );
        need(
            matches_code(&a.channel, 64),
            "decisions.approval.channel",
            "must be a code",
        );
        need(
            a.reason_code.as_deref().is_none_or(|c| matches_code(c, 64)),
            "decisions.approval.reasonCode",
            "must be a code",
        );
        need(
            a.issuer
                .as_deref()
                .is_none_or(|i| i.starts_with("https://") || i.starts_with("http://")),
            "decisions.approval.issuer",
            "must be the issuer's URL",
        );
        need(
            a.first_approval.as_ref().is_none_or(|f| is_role(&f.role)),
            "decisions.approval.firstApproval.role",
            "is not a valid role",
        );
    }
    for (i, r) in f.genesys_requests.iter().enumerate() {
        need(
            !r.request_id.is_empty() && r.request_id.len() <= 128,
            &format!("genesys.requests[{i}].requestId"),
            "must be 1 to 128 characters",
        );
        need(
            r.status_history.iter().all(|s| is_status(&s.status))
                && r.final_status.as_deref().is_none_or(is_status),
            &format!("genesys.requests[{i}].statusHistory"),
            "statuses are A-Z and _",
        );
    }
    for (i, d) in f.downstream.iter().enumerate() {
        let sys_ok = d.system.len() <= 64
            && d.system.starts_with(|c: char| c.is_ascii_alphanumeric())
            && d.system
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " ._-".contains(c));
        need(
            sys_ok,
            &format!("downstream[{i}].system"),
            "is not a valid system name",
        );
        need(
            d.http_status.is_none_or(|s| (100..=599).contains(&s)),
            &format!("downstream[{i}].httpStatus"),
            "must be 100 to 599",
        );
        need(
            d.reference
                .as_ref()
                .is_none_or(|r| r.chars().count() <= 256),
            &format!("downstream[{i}].reference"),
            "must be at most 256 characters",
        );
    }
    for (i, x) in f.escalations.iter().enumerate() {
        need(
            matches_code(&x.reason, 64),
            &format!("escalations[{i}].reason"),
            "must be a code",
        );
    }
    if let Some(d) = &f.deferral {
        need(
            d.holds
                .iter()
                .all(|h| !h.hold_id.is_empty() && h.hold_id.len() <= 128),
            "deferral.holds",
            "hold ids are 1 to 128 characters",
        );
    }
    if let Ending::Failed(fl) = &f.ending {
        need(
            !fl.stage.is_empty()
                && fl.stage.len() <= 64
                && fl.stage.chars().all(|c| c.is_ascii_alphanumeric()),
            "failure.stage",
            "must be a state name (A-Z a-z 0-9)",
        );
        need(
            !fl.error.is_empty()
                && fl.error.len() <= 64
                && fl
                    .error
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.'),
            "failure.error",
            "must be an error name (A-Z a-z 0-9 .)",
        );
    }
    if let Ending::Rejected(reasons) = &f.ending {
        need(
            !reasons.is_empty(),
            "rejection.reasons",
            "a rejection names at least one reason",
        );
        need(
            reasons.iter().all(|r| matches_code(&r.code, 64)),
            "rejection.reasons",
            "codes must be codes",
        );
        need(
            !f.genesys_requests
                .iter()
                .any(|r| r.request_type == GdprRequestType::GdprDelete),
            "rejection",
            "a ticket with a GDPR_DELETE was not rejected",
        );
    }
    e
}

/// Builds the record. Fails only on malformed producer values (never on facts: an
/// inconsistent fact is recorded as an escalation, because the record must exist).
pub fn build_record(
    ctx: &RecordContext,
    facts: &RecordFacts,
    config: &DeadlineConfig,
) -> Result<ComplianceRecord, RecordError> {
    let errors = check_inputs(ctx, facts);
    if !errors.is_empty() {
        return Err(RecordError::InvalidRecordInput(errors));
    }
    // The archive key carries writtenAt to the millisecond; finer digits would let two
    // different records share a key.
    let at = ctx.written_at.trunc_subsecs(3);
    let mut escalations: Vec<Escalation> = facts
        .escalations
        .iter()
        .map(|x| Escalation {
            detail: truncate(&x.detail, MAX_ERROR_TEXT),
            ..x.clone()
        })
        .collect();
    let mut escalate = |reason: &str, detail: String| {
        escalations.push(Escalation {
            reason: reason.to_owned(),
            at,
            detail: truncate(&detail, MAX_ERROR_TEXT),
        })
    };
    let rejected = matches!(facts.ending, Ending::Rejected(_));

    // Conversations.
    let excluded_ids: BTreeSet<&ConversationId> =
        facts.excluded.iter().map(|x| &x.conversation_id).collect();
    let withheld_ids: BTreeSet<&ConversationId> = facts
        .withheld
        .iter()
        .map(|w| &w.conversation_id)
        .filter(|c| !excluded_ids.contains(c))
        .collect();
    let mut found: BTreeSet<&ConversationId> = facts.conversations_found.iter().collect();
    found.extend(excluded_ids.iter().copied());
    found.extend(withheld_ids.iter().copied());
    let in_scope: BTreeSet<&ConversationId> = found
        .iter()
        .copied()
        .filter(|c| !excluded_ids.contains(c) && !withheld_ids.contains(c))
        .collect();
    let erased: BTreeSet<&ConversationId> = facts.conversations_erased.iter().collect();
    let pending: BTreeSet<&ConversationId> = facts
        .pending_redaction
        .iter()
        .flat_map(|p| &p.conversations)
        .filter(|c| in_scope.contains(c))
        .collect();
    for c in erased.iter().filter(|c| !in_scope.contains(**c)) {
        let why = if withheld_ids.contains(*c) {
            "withheld"
        } else if excluded_ids.contains(*c) {
            "excluded (another owner's)"
        } else {
            "not located for this subject"
        };
        escalate(
            "erased-outside-scope",
            format!("conversation {c} was reported erased but was {why}"),
        );
    }

    let mut gaps = Vec::new();
    if !rejected {
        for c in in_scope
            .iter()
            .filter(|c| !erased.contains(**c) && !pending.contains(**c))
        {
            gaps.push(Gap {
                kind: GapKind::ConversationNotErased,
                reason: "not confirmed erased after the deletion".into(),
                subject_of_gap: c.to_string(),
            });
        }
        let delete_owed = facts
            .identifiers
            .iter()
            .any(|i| i.usage == IdentifierUsage::SearchedAndErased);
        let deletes: Vec<&GenesysRequestRecord> = facts
            .genesys_requests
            .iter()
            .filter(|r| r.request_type == GdprRequestType::GdprDelete)
            .collect();
        // One delete per identifier: each that did not complete is a gap of its own.
        let unfinished = deletes
            .iter()
            .filter(|r| r.final_status.as_deref() != Some("COMPLETED"));
        for r in unfinished {
            gaps.push(Gap {
                kind: GapKind::GenesysPartial,
                reason: format!(
                    "GDPR_DELETE ended {}",
                    r.final_status
                        .as_deref()
                        .unwrap_or("without a final status")
                ),
                subject_of_gap: r.request_id.clone(),
            });
        }
        if delete_owed && deletes.is_empty() {
            gaps.push(Gap {
                kind: GapKind::GenesysPartial,
                reason: "no GDPR_DELETE was submitted for the delete subject".to_owned(),
                subject_of_gap: "GDPR_DELETE".to_owned(),
            });
        }
    }

    // Recordings.
    let withheld_conv = |c: &ConversationId| withheld_ids.contains(c);
    let mut recordings_found: BTreeSet<RecordingRef> =
        facts.recordings_found.iter().cloned().collect();
    recordings_found.extend(facts.recordings_purged.iter().map(|r| RecordingRef {
        conversation_id: r.conversation_id.clone(),
        recording_id: r.recording_id.clone(),
    }));
    recordings_found.extend(facts.recordings_failed.iter().map(|r| RecordingRef {
        conversation_id: r.conversation_id.clone(),
        recording_id: r.recording_id.clone(),
    }));
    for r in &facts.recordings_purged {
        if !in_scope.contains(&r.conversation_id) {
            escalate(
                "purged-outside-scope",
                format!(
                    "recording {} of conversation {} was purged but the conversation was not in scope",
                    r.recording_id, r.conversation_id
                ),
            );
        }
    }
    let failed: Vec<FailedRecording> = facts
        .recordings_failed
        .iter()
        .map(|r| FailedRecording {
            error: truncate(&r.error, MAX_ERROR_TEXT),
            ..r.clone()
        })
        .collect();
    for r in &failed {
        gaps.push(Gap {
            kind: GapKind::RecordingNotPurged,
            reason: truncate(&format!("purge failed: {}", r.error), MAX_ERROR_TEXT),
            subject_of_gap: r.recording_id.to_string(),
        });
    }
    if facts.erase_recordings && !rejected {
        let attempted: BTreeSet<&EntityId> = facts
            .recordings_purged
            .iter()
            .map(|r| &r.recording_id)
            .chain(failed.iter().map(|r| &r.recording_id))
            .collect();
        for r in recordings_found.iter().filter(|r| {
            in_scope.contains(&r.conversation_id) && !attempted.contains(&r.recording_id)
        }) {
            gaps.push(Gap {
                kind: GapKind::RecordingNotPurged,
                reason: "the ticket asked for recordings to be erased; no purge was attempted"
                    .into(),
                subject_of_gap: r.recording_id.to_string(),
            });
        }
    }

    // Downstream (Art. 19): a configured system with no answer is recorded as not
    // acknowledged. Not owed for a rejected ticket (nothing was erased).
    let mut downstream: Vec<DownstreamAck> = facts.downstream.clone();
    if !rejected {
        for system in &facts.downstream_expected {
            if !downstream.iter().any(|d| &d.system == system) {
                downstream.push(DownstreamAck {
                    system: system.clone(),
                    status: DownstreamStatus::NotAcknowledged,
                    http_status: None,
                    reference: None,
                    attempts: 0,
                    at,
                });
            }
        }
    }
    for d in downstream
        .iter()
        .filter(|d| d.status != DownstreamStatus::Acknowledged)
    {
        gaps.push(Gap {
            kind: GapKind::DownstreamNotAcknowledged,
            reason: match (d.status, d.attempts) {
                (_, 0) => "never notified".into(),
                (DownstreamStatus::Failed, n) => {
                    format!("notification failed after {n} attempt(s)")
                }
                (_, n) => format!("no acknowledgement after {n} attempt(s)"),
            },
            subject_of_gap: d.system.clone(),
        });
    }
    if let Some(a) = &facts.agent
        && a.action == AgentAction::Failed
    {
        gaps.push(Gap {
            kind: GapKind::AgentNotOffboarded,
            reason: "the former agent's user account could not be offboarded".into(),
            subject_of_gap: "genesysUserId".into(),
        });
    }

    // Outcome.
    let deferral = facts.deferral.as_ref().map(|d| DeferralRecord {
        legal_basis: LEGAL_BASIS_HOLD.into(),
        holds: d.holds.clone(),
        resume_on: d.resume_on,
    });
    let outcome = match (&facts.ending, gaps.is_empty(), deferral.is_some()) {
        (Ending::Rejected(_), _, _) => Outcome::Rejected,
        (Ending::Failed(_), _, _) => Outcome::Failed,
        (Ending::Ran, false, _) => Outcome::Partial,
        (Ending::Ran, true, true) => Outcome::Deferred,
        (Ending::Ran, true, false) => Outcome::Completed,
    };
    // Holds found before a rejection or failure stay in the record: they are facts.

    // Clock.
    let received_at = facts.clock.received_at.unwrap_or(facts.clock.intake_at);
    let clock_inputs = deadline::compute(
        config,
        received_at,
        facts.clock.identity_verified_at,
        facts.clock.extension.as_ref(),
        facts.clock.intake_at,
    );
    let completed_at = if rejected {
        None
    } else {
        Some(facts.clock.completed_at.unwrap_or(at))
    };
    let completion = completed_at.map(|c| clock_inputs.completion(c, config.time_zone));
    let service = clock_inputs.service_level(facts.clock.genesys_first_call_at);
    let clock = RecordClock {
        received_at,
        intake_at: facts.clock.intake_at,
        time_zone: config.time_zone.name().to_owned(),
        identity_verified_at: facts.clock.identity_verified_at,
        clock_starts_at: clock_inputs.clock_starts_at,
        clock_basis: clock_inputs.clock_basis,
        due_date: clock_inputs.due_date,
        extension: clock_inputs.extension.clone(),
        effective_due_date: clock_inputs.effective_due_date,
        service_level: RecordServiceLevel {
            genesys_due_by: service.genesys_due_by,
            genesys_first_call_at: service.genesys_first_call_at,
            met: service.met,
        },
        late_at_intake: clock_inputs.late_at_intake,
        completed_at,
        within_deadline: completion.map(|c| c.within_deadline),
        days_late: completion.map(|c| c.days_late),
    };

    let counts = Counts {
        conversations_found: found.len(),
        conversations_in_scope: in_scope.len(),
        conversations_excluded: excluded_ids.len(),
        conversations_withheld: withheld_ids.len(),
        conversations_erased: erased.iter().filter(|c| in_scope.contains(**c)).count(),
        recordings_found: recordings_found.len(),
        recordings_purged: facts.recordings_purged.len(),
        recordings_withheld: recordings_found
            .iter()
            .filter(|r| withheld_conv(&r.conversation_id))
            .count(),
        downstream_notified: downstream.iter().filter(|d| d.attempts > 0).count(),
        downstream_acknowledged: downstream
            .iter()
            .filter(|d| d.status == DownstreamStatus::Acknowledged)
            .count(),
    };

    let retain_until = {
        let date = deadline::add_months(at.date_naive(), ctx.retention_years.saturating_mul(12));
        date.and_time(at.time()).and_utc()
    };
    Ok(ComplianceRecord {
        schema: SCHEMA_ID.into(),
        ticket_id: ctx.ticket_id.clone(),
        ticket_source: ctx.ticket_source.clone(),
        resumes: ctx.resumes.clone(),
        execution_id: ctx.execution_id.clone(),
        sequence: ctx.sequence,
        previous_digest: ctx.previous_digest.clone(),
        written_at: at,
        outcome,
        pipeline: Pipeline {
            version: ctx.pipeline_version.clone(),
            definition_digest: ctx.definition_digest.clone(),
        },
        retention: Retention {
            mode: "COMPLIANCE".into(),
            retain_until,
        },
        pseudonymisation: Pseudonymisation {
            algorithm: "HMAC-SHA256".into(),
            key_id: ctx.key_id.clone(),
            scheme: crate::pseudonym::SCHEME.into(),
        },
        subject: RecordSubject {
            identifiers: facts.identifiers.clone(),
        },
        clock,
        decisions: Decisions {
            sign_off: facts.sign_off.clone(),
            review: facts.review.clone(),
            approval: facts.approval.clone(),
        },
        genesys: GenesysRecord {
            requests: facts.genesys_requests.clone(),
        },
        counts,
        excluded: facts.excluded.clone(),
        withheld: facts
            .withheld
            .iter()
            .filter(|w| !excluded_ids.contains(&w.conversation_id))
            .map(|w| Withheld {
                conversation_id: w.conversation_id.clone(),
                reason: w.reason,
                hold_id: w.hold_id.clone(),
                hold_expiry: w.hold_expiry,
                legal_basis: LEGAL_BASIS_HOLD.into(),
            })
            .collect(),
        agent: facts.agent.clone(),
        recordings: Recordings {
            purged: facts.recordings_purged.clone(),
            failed,
        },
        downstream,
        gaps,
        escalations,
        deferral,
        rejection: match &facts.ending {
            Ending::Rejected(reasons) => Some(Rejection {
                reasons: reasons
                    .iter()
                    .map(|r| FieldError {
                        field: truncate(&r.field, 256),
                        code: r.code.clone(),
                        message: truncate(&r.message, MAX_ERROR_TEXT),
                    })
                    .collect(),
            }),
            _ => None,
        },
        failure: match &facts.ending {
            Ending::Failed(f) => Some(Failure {
                detail: truncate(&f.detail, MAX_ERROR_TEXT),
                ..f.clone()
            }),
            _ => None,
        },
        letter: None,
        pending_redaction: facts
            .pending_redaction
            .as_ref()
            .filter(|_| !pending.is_empty())
            .map(|p| PendingRedaction {
                conversations: pending.iter().map(|c| (*c).clone()).collect(),
                window_closes_at: p.window_closes_at,
            }),
        hold_register: facts.hold_register.clone(),
    })
}
