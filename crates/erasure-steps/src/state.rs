//! The sections of the execution state that more than one step reads: the contract
//! between `statemachine/erasure.asl.json` and the steps (docs/workflow.md).
//!
//! Every field is serialised, `None` as `null`: a JSONPath the definition reads must
//! exist even when there is nothing there (a missing path is a `States.Runtime` error).

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use erasure_core::deadline::{ClockBasis, Deadline, DeadlineConfig, ExtensionNotice};
use erasure_core::identifiers::{
    ConversationId, Email, ExternalContactId, GenesysUserId, IdentifierKind, TicketId,
};
use erasure_core::pseudonym::Pseudonym;
use erasure_core::record::{GdprRequestType, StatusObservation};
use erasure_core::ticket::{Phone, Subject};
use serde::{Deserialize, Serialize};

use crate::error::StepError;

/// `$.ticket`: what identifies the ticket and its clock, no personal data (the DPO
/// who signed off is a pseudonym). After an Intake failure only `id` is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketSection {
    pub id: String,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default, with = "erasure_core::time::option_utc_z")]
    pub received_at: Option<DateTime<Utc>>,
    #[serde(default, with = "erasure_core::time::option_utc_z")]
    pub identity_verified_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub verification_method: Option<String>,
    #[serde(default)]
    pub sign_off: Option<SignOffRef>,
    #[serde(default)]
    pub extension: Option<ExtensionNotice>,
    /// The DEFERRED ticket this follow-up ticket resumes (`ticket.resumes`); WriteRecord
    /// puts it in the record. `None` for an ordinary ticket and a rejected one.
    #[serde(default)]
    pub resumes: Option<TicketId>,
    /// When the pipeline took the ticket in.
    #[serde(default, with = "erasure_core::time::option_utc_z")]
    pub intake_at: Option<DateTime<Utc>>,
}

/// Who signed the erasure off, as a pseudonym.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignOffRef {
    pub actor_ref: Pseudonym,
    pub role: String,
    #[serde(with = "erasure_core::time::utc_z")]
    pub at: DateTime<Utc>,
}

/// `$.subject`: the subject's normalised identifiers. Personal data: only Locate,
/// Review, Erase, OffboardAgent (the user id) and NotifyDownstream read it. The name
/// is not here: it is never used to search or delete.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubjectSection {
    pub emails: Vec<Email>,
    pub phones: Vec<Phone>,
    pub genesys_user_id: Option<GenesysUserId>,
    pub external_contact_id: Option<ExternalContactId>,
}

impl SubjectSection {
    pub fn from_subject(s: &Subject) -> Self {
        SubjectSection {
            emails: s.emails.clone(),
            phones: s.phones.clone(),
            genesys_user_id: s.genesys_user_id.clone(),
            external_contact_id: s.external_contact_id.clone(),
        }
    }

    /// The domain's subject (without a name).
    pub fn to_subject(&self) -> Subject {
        Subject {
            name: None,
            emails: self.emails.clone(),
            phones: self.phones.clone(),
            genesys_user_id: self.genesys_user_id.clone(),
            external_contact_id: self.external_contact_id.clone(),
        }
    }
}

/// `$.identifiers`: the keyed hash of every identifier of the ticket, and which
/// subject entry it stands for (`index` into `emails` or `phones`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentifiersSection {
    /// The pseudonym key the refs were made with.
    pub key_id: String,
    pub items: Vec<IdentifierItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentifierItem {
    pub kind: IdentifierKind,
    #[serde(rename = "ref")]
    pub identifier_ref: Pseudonym,
    pub index: Option<usize>,
}

/// `$.clock`: the deadline as known at intake, the polling budget, and the clock
/// settings it was computed with (so the record recomputes it the same way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockSection {
    #[serde(flatten)]
    pub deadline: Deadline,
    /// Polling a GDPR request stops here (FAILED record, escalated) so a person can
    /// act before the deadline. Never earlier than a minimum budget per request.
    #[serde(with = "erasure_core::time::utc_z")]
    pub poll_give_up_at: DateTime<Utc>,
    pub config: ClockConfig,
}

/// The deployment's deadline settings, serialisable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClockConfig {
    pub time_zone: String,
    pub clock_basis: ClockBasis,
    pub holidays: Vec<NaiveDate>,
    pub service_level_business_days: u32,
    pub roll_forward_to_working_day: bool,
}

impl ClockConfig {
    pub fn from_config(c: &DeadlineConfig) -> Self {
        ClockConfig {
            time_zone: c.time_zone.name().to_owned(),
            clock_basis: c.clock_basis,
            holidays: c.holidays.iter().copied().collect(),
            service_level_business_days: c.service_level_business_days,
            roll_forward_to_working_day: c.roll_forward_to_working_day,
        }
    }

    pub fn to_config(&self) -> Result<DeadlineConfig, StepError> {
        Ok(DeadlineConfig {
            clock_basis: self.clock_basis,
            time_zone: self.tz()?,
            holidays: self.holidays.iter().copied().collect(),
            service_level_business_days: self.service_level_business_days,
            roll_forward_to_working_day: self.roll_forward_to_working_day,
        })
    }

    pub fn tz(&self) -> Result<Tz, StepError> {
        DeadlineConfig::parse_time_zone(&self.time_zone)
            .map_err(|_| StepError::input("clock.config.timeZone is not an IANA time zone"))
    }
}

/// The state of polling one GDPR request (`$.export.poll`, `$.deletion.poll`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PollState {
    /// The last status Genesys reported.
    pub status: String,
    /// COMPLETED or ERROR.
    pub done: bool,
    /// The polling budget ran out before a terminal status.
    pub timed_out: bool,
    /// How long the Wait state waits before the next poll.
    pub wait_seconds: u64,
    /// Polls so far (drives the back-off).
    pub polls: u32,
    /// Each status change, when first seen.
    pub history: Vec<StatusObservation>,
}

/// `$.export` (Locate) and `$.deletion` (Erase): one GDPR request of the ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestSection {
    pub request_id: String,
    pub request_type: GdprRequestType,
    /// The request's name: `gdpr-erasure/<ticket id>/export|delete`.
    pub name: String,
    #[serde(with = "erasure_core::time::utc_z")]
    pub submitted_at: DateTime<Utc>,
    /// An existing request of that name was found and used instead of a new one.
    pub reused: bool,
    /// The ticket's first Genesys call (the service level is measured on it).
    #[serde(with = "erasure_core::time::utc_z")]
    pub first_call_at: DateTime<Utc>,
    /// Locate: how many subjects Genesys knows per identifier (`index` as in
    /// `$.identifiers`). Empty for the deletion.
    pub searches: Vec<SubjectSearch>,
    /// Locate: every subject the searches found, deduplicated by its id, and whether
    /// it is the data subject's (by kind and the identifiers that found it: no id, no
    /// value). Absent in executions started before it was listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub found: Vec<FoundSubject>,
    /// Erase: whether a reused request carries exactly the selected identifiers.
    pub subject_matches: Option<bool>,
    /// Locate: an export made again because the first one's downloads had expired
    /// (Genesys drops them after about a week); a second expiry fails the ticket.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fresh: bool,
    /// The ticket's status over all its requests (`parts`): COMPLETED when every one
    /// is, ERROR when every one has ended and one in ERROR; otherwise the status of
    /// the first still running. The only one when `parts` is empty.
    pub poll: PollState,
    /// One request per identifier, each naming it alone (live orgs are asked one
    /// subject per request: live-tenants.md 2): Locate's GDPR_EXPORT of every
    /// identifier searched, Erase's GDPR_DELETE of each it cleared. `request_id`,
    /// `name`, `submitted_at` and `reused` above repeat the first. Empty in executions
    /// started before requests went per identifier (one request, above).
    #[serde(default)]
    pub parts: Vec<RequestPart>,
    /// Locate (`fresh`): the earlier exports whose downloads expired, kept so the record
    /// lists every request the ticket made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expired: Vec<RequestPart>,
    /// Erase: the legal-hold register's version read right before the first
    /// GDPR_DELETE was sent (`None` when nothing was sent, or none was read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_register_at_erase: Option<String>,
}

impl RequestSection {
    /// The section's requests one by one: its parts, or itself when it has none.
    pub fn requests(&self) -> Vec<RequestPart> {
        if !self.parts.is_empty() {
            return self.parts.clone();
        }
        vec![RequestPart {
            names: None,
            request_id: self.request_id.clone(),
            name: self.name.clone(),
            submitted_at: self.submitted_at,
            reused: self.reused,
            subject_matches: self.subject_matches,
            poll: self.poll.clone(),
        }]
    }
}

/// One GDPR request of a ticket that has several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestPart {
    /// The one identifier the request names (`index` as in `$.identifiers`); `None`
    /// for a request made before deletes went per identifier.
    pub names: Option<PartIdentifier>,
    pub request_id: String,
    /// `gdpr-erasure/<ticket id>/export|export-again|delete/<kind>[-<index>]`.
    pub name: String,
    #[serde(with = "erasure_core::time::utc_z")]
    pub submitted_at: DateTime<Utc>,
    pub reused: bool,
    /// Whether a reused request names exactly this identifier.
    pub subject_matches: Option<bool>,
    pub poll: PollState,
}

/// An identifier of the ticket by kind and position, never by value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartIdentifier {
    pub kind: IdentifierKind,
    pub index: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubjectSearch {
    pub kind: IdentifierKind,
    pub index: Option<usize>,
    pub subjects_found: usize,
    /// Of those, the ones that are somebody else: an external contact or a user other
    /// than the ticket's (a recycled or shared number, a family e-mail). A delete
    /// naming the identifier would reach them too (live-tenants.md 2). Absent in
    /// executions started before it was counted.
    #[serde(default)]
    pub other_subjects: usize,
}

/// A subject Genesys knows, as the reviewer is shown it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FoundSubject {
    pub kind: FoundKind,
    /// The ticket's identifiers whose search found it.
    pub found_by: Vec<PartIdentifier>,
    /// The data subject's (`true`), or somebody else: the identifiers that found it
    /// stay out of the delete.
    pub the_subjects: bool,
    pub because: FoundBecause,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FoundKind {
    ExternalContact,
    User,
    /// Known only as the identifier itself (seen on conversations, no contact).
    IdentifierOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FoundBecause {
    /// The ticket names this contact or user.
    NamedInTicket,
    /// The ticket names another contact or user of this kind.
    TicketNamesAnother,
    /// The ticket names none of this kind, and two or more of its identifiers found it.
    FoundByTwoIdentifiers,
    /// The ticket names none of this kind, and one identifier alone found it: a
    /// recycled or shared number finds its other owner just as well.
    FoundByOneIdentifier,
    /// The identifier itself: nobody else.
    TheIdentifierItself,
}

/// `{Error, Cause}` as a Catch places it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

impl ErrorInfo {
    /// The human part of the cause: a Lambda error object's `errorMessage`, else the
    /// cause as it is.
    pub fn message(&self) -> String {
        let cause = self.cause.clone().unwrap_or_default();
        serde_json::from_str::<serde_json::Value>(&cause)
            .ok()
            .and_then(|v| {
                v.get("errorMessage")
                    .and_then(|m| m.as_str())
                    .map(str::to_owned)
            })
            .unwrap_or(cause)
    }
}

/// Conversation ids as plain strings, for lists the state carries.
pub fn ids(list: &[ConversationId]) -> Vec<String> {
    list.iter().map(|c| c.as_str().to_owned()).collect()
}

/// The name of a ticket's GDPR request: the idempotency key Genesys keeps for us.
pub fn request_name(ticket_id: &str, request_type: GdprRequestType) -> String {
    match request_type {
        GdprRequestType::GdprExport => format!("gdpr-erasure/{ticket_id}/export"),
        GdprRequestType::GdprDelete => format!("gdpr-erasure/{ticket_id}/delete"),
    }
}

/// The name of one of a ticket's per-identifier GDPR_DELETEs: the identifier by kind
/// and position, never by value (`.../delete/email-0`, `.../delete/external-contact`).
pub fn part_name(ticket_id: &str, names: PartIdentifier) -> String {
    named_part(request_name(ticket_id, GdprRequestType::GdprDelete), names)
}

/// The name of one of a ticket's per-identifier GDPR_EXPORTs (`.../export/phone-0`);
/// an export made again after its downloads expired is `.../export-again/phone-0`.
pub fn export_part_name(ticket_id: &str, names: PartIdentifier, fresh: bool) -> String {
    let mut base = request_name(ticket_id, GdprRequestType::GdprExport);
    if fresh {
        base.push_str("-again");
    }
    named_part(base, names)
}

fn named_part(base: String, names: PartIdentifier) -> String {
    let kind = match names.kind {
        IdentifierKind::Name => "name",
        IdentifierKind::Email => "email",
        IdentifierKind::Phone => "phone",
        IdentifierKind::GenesysUserId => "user",
        IdentifierKind::ExternalContactId => "external-contact",
    };
    match names.index {
        Some(i) => format!("{base}/{kind}-{i}"),
        None => format!("{base}/{kind}"),
    }
}

/// Which of the subject's identifiers the GDPR_DELETE names (by index into `emails`
/// and `phones`): the review decides, Erase applies it to `$.subject`. Never the name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Selection {
    pub emails: Vec<usize>,
    pub phones: Vec<usize>,
    pub genesys_user_id: bool,
    pub external_contact_id: bool,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.emails.is_empty()
            && self.phones.is_empty()
            && !self.genesys_user_id
            && !self.external_contact_id
    }

    /// The identifiers selected, as the GDPR request's subject carries them.
    pub fn apply(&self, subject: &SubjectSection) -> Result<genesys::GdprSubject, StepError> {
        let pick = |list_len: usize, i: usize, what: &str| {
            if i < list_len {
                Ok(i)
            } else {
                Err(StepError::input(format!(
                    "selection.{what} names entry {i}, the subject has {list_len}"
                )))
            }
        };
        let mut out = genesys::GdprSubject::default();
        for &i in &self.emails {
            let i = pick(subject.emails.len(), i, "emails")?;
            out.email_addresses.push(subject.emails[i].expose().into());
        }
        for &i in &self.phones {
            let i = pick(subject.phones.len(), i, "phones")?;
            out.phone_numbers
                .push(subject.phones[i].number.expose().into());
        }
        if self.genesys_user_id {
            let u = subject.genesys_user_id.as_ref().ok_or_else(|| {
                StepError::input("selection names genesysUserId, the subject has none")
            })?;
            out.user_id = Some(u.expose().into());
        }
        if self.external_contact_id {
            let x = subject.external_contact_id.as_ref().ok_or_else(|| {
                StepError::input("selection names externalContactId, the subject has none")
            })?;
            out.external_contact_id = Some(x.expose().into());
        }
        Ok(out)
    }

    /// The selected identifiers one by one, each as the subject of its own request:
    /// the external contact, the user, then e-mails and numbers in ticket order.
    pub fn one_by_one(
        &self,
        subject: &SubjectSection,
    ) -> Result<Vec<(PartIdentifier, genesys::GdprSubject)>, StepError> {
        let mut out = Vec::new();
        let mut push = |kind, index, only: Selection| -> Result<(), StepError> {
            out.push((PartIdentifier { kind, index }, only.apply(subject)?));
            Ok(())
        };
        let none = Selection::default;
        if self.external_contact_id {
            push(
                IdentifierKind::ExternalContactId,
                None,
                Selection {
                    external_contact_id: true,
                    ..none()
                },
            )?;
        }
        if self.genesys_user_id {
            push(
                IdentifierKind::GenesysUserId,
                None,
                Selection {
                    genesys_user_id: true,
                    ..none()
                },
            )?;
        }
        for &i in &self.emails {
            push(
                IdentifierKind::Email,
                Some(i),
                Selection {
                    emails: vec![i],
                    ..none()
                },
            )?;
        }
        for &i in &self.phones {
            push(
                IdentifierKind::Phone,
                Some(i),
                Selection {
                    phones: vec![i],
                    ..none()
                },
            )?;
        }
        Ok(out)
    }

    /// Everything the subject has (what the export searches with).
    pub fn all(subject: &SubjectSection) -> Self {
        Selection {
            emails: (0..subject.emails.len()).collect(),
            phones: (0..subject.phones.len()).collect(),
            genesys_user_id: subject.genesys_user_id.is_some(),
            external_contact_id: subject.external_contact_id.is_some(),
        }
    }
}

/// `$.review`: what the review decided, and everything the later steps and the record
/// need of it. Ids, counts and pseudonyms only: WriteRecord reads it whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewSection {
    pub decision: erasure_core::review::Decision,
    /// Finding codes (docs/ticket-format.md).
    pub reasons: Vec<String>,
    /// AwaitDecision runs: a person must approve before anything is erased.
    pub needs_decision: bool,
    #[serde(with = "erasure_core::time::utc_z")]
    pub at: DateTime<Utc>,
    pub erase: EraseSection,
    pub purge: PurgeSection,
    pub verify: VerifySection,
    pub agent: AgentSection,
    pub conversations: ConversationsSection,
    /// Recordings of the subject's conversations (in scope and withheld).
    pub recordings: Vec<erasure_core::record::RecordingRef>,
    /// How each identifier of the ticket is used (the name included).
    pub identifiers: Vec<erasure_core::review::IdentifierOutcome>,
    pub deferral: Option<erasure_core::hold::Deferral>,
    /// What the DPO is shown.
    pub summary: ReviewSummary,
    /// `sha256:<hex>` of the legal-hold register the review read: Erase reads it again
    /// before any GDPR_DELETE. `None` in reviews made before it was recorded.
    #[serde(default)]
    pub hold_register: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EraseSection {
    /// A GDPR_DELETE is owed (the selection names at least one identifier).
    pub required: bool,
    pub selection: Selection,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PurgeSection {
    pub required: bool,
    /// In-scope conversations whose recordings go (the ticket asked for it).
    pub conversation_ids: Vec<ConversationId>,
    /// Their recordings as the export listed them.
    pub recordings: Vec<erasure_core::record::RecordingRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifySection {
    /// Some conversation is in scope: check afterwards which Genesys still has.
    pub required: bool,
}

/// The Genesys user behind `genesysUserId`. `action` is what the definition's Choice
/// reads: `offboard` runs OffboardAgent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentSection {
    pub action: String,
    pub plan: Option<erasure_core::review::AgentPlan>,
    pub user_ref: Option<Pseudonym>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConversationsSection {
    pub found: Vec<ConversationId>,
    pub in_scope: Vec<ConversationId>,
    /// In scope and reached by the GDPR_DELETE.
    pub covered: Vec<ConversationId>,
    /// In scope but reachable only through an identifier left out of the delete.
    pub per_conversation: Vec<ConversationId>,
    pub excluded: Vec<erasure_core::tenure::Exclusion>,
    pub withheld: Vec<erasure_core::hold::HeldConversation>,
}

/// The review as the DPO sees it: decision, reasons, counts and conversation ids. No
/// identifier of the subject, no pseudonym.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewSummary {
    pub ticket_id: String,
    pub decision: erasure_core::review::Decision,
    pub reasons: Vec<String>,
    pub counts: SummaryCounts,
    /// What happens to the user account (`offboard`, `skip-active`, `none`, ...).
    pub agent: String,
    /// Conversations the GDPR_DELETE cannot reach without reaching data that must stay:
    /// only their recordings can be purged; the rest needs a person. This list and
    /// the next two name at most 50 ids each; `counts` are complete.
    pub per_conversation: Vec<ConversationId>,
    pub excluded: Vec<ExcludedSummary>,
    pub withheld: Vec<erasure_core::hold::HeldConversation>,
    pub deferral: Option<erasure_core::hold::Deferral>,
    /// Every subject Genesys knows by the ticket's identifiers, the subject's or
    /// somebody else (whose identifiers stay out of the delete), by kind and the
    /// identifiers that found it. Absent in reviews made before it was listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<FoundSubject>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SummaryCounts {
    pub found: usize,
    pub in_scope: usize,
    pub covered: usize,
    pub per_conversation: usize,
    pub excluded: usize,
    pub withheld: usize,
    pub recordings: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExcludedSummary {
    pub conversation_id: ConversationId,
    pub reason: erasure_core::tenure::ExclusionReason,
}
