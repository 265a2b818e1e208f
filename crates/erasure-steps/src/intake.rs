//! Intake: validate and normalise the ticket, compute the deadline clock, pseudonymise
//! every identifier, and lay out the whole execution state.
//!
//! Never calls Genesys. Bad input is a result (`valid: false` with every reason), never
//! an error: it ends in a REJECTED record. The result replaces the execution input, so
//! the raw ticket (the name, the DPO's e-mail) goes no further.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clock::SharedClock;
use erasure_core::deadline;
use erasure_core::error::FieldError;
use erasure_core::intake::{Accepted, Refused, intake};
use erasure_core::pseudonym::Pseudonymiser;
use erasure_core::review::IdentifierValue;
use erasure_core::strict_json::CheckedJson;
use erasure_core::ticket::{IntakeConfig, Options, TicketSalvage, parse_ticket};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StepError;
use crate::state::{
    ClockConfig, ClockSection, IdentifierItem, IdentifiersSection, SignOffRef, SubjectSection,
    TicketSection,
};

/// How long polling may run, against the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollBudget {
    /// Polling stops this long before the end of the Art. 12(3) period, so a person
    /// can still act in time.
    pub margin_before_deadline: Duration,
    /// ... but never sooner than this after intake (a late ticket still gets its run).
    pub min: Duration,
    /// ... and never later than this after intake.
    pub max: Duration,
}

impl Default for PollBudget {
    fn default() -> Self {
        PollBudget {
            margin_before_deadline: Duration::from_secs(3 * 86_400),
            min: Duration::from_secs(2 * 86_400),
            max: Duration::from_secs(30 * 86_400),
        }
    }
}

impl PollBudget {
    pub fn give_up_at(&self, deadline_ends_at: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
        let d = |x: Duration| chrono::Duration::from_std(x).unwrap_or(chrono::Duration::MAX);
        let wanted = deadline_ends_at - d(self.margin_before_deadline);
        wanted.clamp(now + d(self.min), now + d(self.max).max(d(self.min)))
    }
}

/// What Intake needs: the pseudonym key, the ticket rules, the downstream systems'
/// names (the notification Map iterates over them), and the clock.
#[derive(Clone)]
pub struct Deps {
    pub pseudonymiser: Arc<Pseudonymiser>,
    pub config: IntakeConfig,
    pub downstream: Vec<String>,
    pub poll_budget: PollBudget,
    pub clock: SharedClock,
    /// The archive the ticket's record will go to, checked before anything is erased:
    /// an S3 bucket without Object Lock stops a ticket here, before any Genesys call,
    /// not after its delete. `None`: not checked (tests of Intake alone).
    pub archive: Option<Arc<dyn archive::Archive>>,
}

impl std::fmt::Debug for Deps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deps")
            .field("config", &self.config)
            .field("downstream", &self.downstream)
            .field("archive", &self.archive.as_ref().map(|a| a.location()))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    /// The execution input: the ticket, or `{rawTicket: "<text>"}` when the caller
    /// could not parse it. Read strictly: a key given twice refuses the ticket.
    pub input: CheckedJson,
    pub execution: ExecutionRef,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRef {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub started_at: Option<String>,
}

/// The whole execution state from here on.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub valid: bool,
    pub ticket: TicketSection,
    /// `null` for a rejected ticket: nothing will search or delete.
    pub subject: Option<SubjectSection>,
    pub identifiers: IdentifiersSection,
    pub options: Option<Options>,
    pub clock: ClockSection,
    /// Names of the downstream systems to notify (Art. 19); none for a rejected ticket.
    pub downstream: Vec<String>,
    pub rejection: Option<RejectionSection>,
    // Filled by later states; present (null) so every path can reach WriteRecord.
    pub export: Option<Value>,
    pub review: Option<Value>,
    pub approval: Option<Value>,
    pub approval_rejection: Option<Value>,
    pub deletion: Option<Value>,
    pub after: Option<Value>,
    pub failure: Option<Value>,
    pub failed_stage: Option<Value>,
}

/// Why a ticket was refused: every problem, none quoting a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectionSection {
    pub reasons: Vec<FieldError>,
}

pub async fn handle(deps: &Deps, input: Input) -> Result<Output, StepError> {
    let now = deps.clock.now();
    let result = match raw_ticket(&input.input.value) {
        Some(text) => match CheckedJson::from_slice(text.as_bytes()) {
            Ok(checked)
                if checked.duplicates.is_empty() && text.len() <= deps.config.max_input_bytes =>
            {
                intake(&checked.value, &deps.config, &deps.pseudonymiser, now)
            }
            // Not JSON, ambiguous, or too large: parse_ticket names the problem (with
            // the line and column or the path, never the text).
            _ => Err(unreadable(
                deps,
                parse_ticket(text.as_bytes(), &deps.config, now),
                now,
            )),
        },
        None if !input.input.duplicates.is_empty() => Err(refused_unread(
            deps,
            input.input.duplicate_key_errors(),
            now,
        )),
        None => intake(&input.input.value, &deps.config, &deps.pseudonymiser, now),
    };
    let out = match result {
        Ok(accepted) => accepted_state(deps, &accepted, now),
        Err(refused) => refused_state(deps, &refused, &input.execution.name, now),
    };
    // No erasure that cannot be recorded: a valid ticket goes on to Genesys only if
    // its record can be locked.
    if let (true, Some(archive)) = (out.valid, &deps.archive) {
        let problems = archive.store_problems().await?;
        if !problems.is_empty() {
            return Err(StepError::Archive(
                archive::ArchiveError::ArchiveNotLocked {
                    detail: problems.join("; "),
                },
            ));
        }
    }
    tracing::info!(
        ticket_id = out.ticket.id.as_str(),
        valid = out.valid,
        reasons = out.rejection.as_ref().map_or(0, |r| r.reasons.len()),
        identifiers = out.identifiers.items.len(),
        late_at_intake = out.clock.deadline.late_at_intake,
        "ticket taken in"
    );
    Ok(out)
}

/// A ticket refused before any of it was read: nothing is salvaged (not even the
/// ticket id: which of two?).
fn refused_unread(deps: &Deps, errors: Vec<FieldError>, now: DateTime<Utc>) -> Box<Refused> {
    let salvage = TicketSalvage::default();
    Box::new(Refused {
        ticket_id: None,
        record_facts: erasure_core::record::RecordFacts::rejected(
            errors.clone(),
            &salvage,
            &deps.pseudonymiser,
            now,
        ),
        errors,
        salvage,
    })
}

/// Text that does not read as one unambiguous JSON document: parse_ticket's errors.
fn unreadable(
    deps: &Deps,
    parsed: Result<erasure_core::ticket::ValidTicket, erasure_core::ticket::TicketError>,
    now: DateTime<Utc>,
) -> Box<Refused> {
    let errors = match parsed {
        Err(e) => e.errors().to_vec(),
        Ok(_) => vec![FieldError::new(
            "$",
            "invalid-json",
            "the ticket could not be read",
        )],
    };
    refused_unread(deps, errors, now)
}

/// `{rawTicket: "<text>"}` and nothing else.
fn raw_ticket(input: &Value) -> Option<&str> {
    let map = input.as_object()?;
    if map.len() != 1 {
        return None;
    }
    map.get("rawTicket")?.as_str()
}

fn clock_section(
    deps: &Deps,
    d: erasure_core::deadline::Deadline,
    now: DateTime<Utc>,
) -> ClockSection {
    ClockSection {
        poll_give_up_at: deps
            .poll_budget
            .give_up_at(d.effective_deadline_ends_at, now),
        deadline: d,
        config: ClockConfig::from_config(&deps.config.deadline),
    }
}

fn accepted_state(deps: &Deps, a: &Accepted, now: DateTime<Utc>) -> Output {
    let t = &a.ticket.ticket;
    let s = &a.ticket.subject;
    let mut items: Vec<IdentifierItem> = a
        .identifiers
        .iter()
        .map(|i| IdentifierItem {
            kind: i.value.kind(),
            identifier_ref: i.identifier_ref.clone(),
            index: match &i.value {
                IdentifierValue::Email(e) => s.emails.iter().position(|x| x == e),
                IdentifierValue::Phone(p) => s.phones.iter().position(|x| &x.number == p),
                _ => None,
            },
        })
        .collect();
    if let Some(name_ref) = &a.name_ref {
        items.push(IdentifierItem {
            kind: erasure_core::identifiers::IdentifierKind::Name,
            identifier_ref: name_ref.clone(),
            index: None,
        });
    }
    Output {
        valid: true,
        ticket: TicketSection {
            id: t.id.as_str().to_owned(),
            source: Some(t.source.clone()),
            received_at: Some(t.received_at),
            identity_verified_at: Some(t.identity_verified_at),
            verification_method: Some(t.verification_method.clone()),
            sign_off: Some(SignOffRef {
                actor_ref: a.sign_off_ref.clone(),
                role: t.sign_off.role.clone(),
                at: t.sign_off.at,
            }),
            extension: t.extension.clone(),
            resumes: t.resumes.clone(),
            intake_at: Some(now),
        },
        subject: Some(SubjectSection::from_subject(s)),
        identifiers: IdentifiersSection {
            key_id: deps.pseudonymiser.key_id().to_owned(),
            items,
        },
        options: Some(a.ticket.options.clone()),
        clock: clock_section(deps, a.deadline.clone(), now),
        downstream: deps.downstream.clone(),
        rejection: None,
        export: None,
        review: None,
        approval: None,
        approval_rejection: None,
        deletion: None,
        after: None,
        failure: None,
        failed_stage: None,
    }
}

fn refused_state(deps: &Deps, r: &Refused, execution_name: &str, now: DateTime<Utc>) -> Output {
    let s = &r.salvage;
    let id = r
        .ticket_id
        .as_ref()
        .map(|t| t.as_str().to_owned())
        .unwrap_or_else(|| ticket_id_from_name(execution_name));
    let items = r
        .record_facts
        .identifiers
        .iter()
        .map(|i| IdentifierItem {
            kind: i.kind,
            identifier_ref: i.identifier_ref.clone(),
            index: None,
        })
        .collect();
    // A rejected ticket's clock runs from receipt, or from intake when even that
    // could not be read (the rejection names the field).
    let received = s.received_at.unwrap_or(now);
    let d = deadline::compute(
        &deps.config.deadline,
        received,
        s.identity_verified_at,
        s.extension.as_ref(),
        now,
    );
    Output {
        valid: false,
        ticket: TicketSection {
            id,
            source: Some(s.source.clone().unwrap_or_else(|| "unknown".to_owned())),
            received_at: s.received_at,
            identity_verified_at: s.identity_verified_at,
            verification_method: None,
            sign_off: s.sign_off.as_ref().map(|so| SignOffRef {
                actor_ref: deps.pseudonymiser.actor(&so.by),
                role: so.role.clone(),
                at: so.at,
            }),
            extension: s.extension.clone(),
            // A ticket never taken in resumes nothing: the deferral stays due.
            resumes: None,
            intake_at: Some(now),
        },
        subject: None,
        identifiers: IdentifiersSection {
            key_id: deps.pseudonymiser.key_id().to_owned(),
            items,
        },
        options: None,
        clock: clock_section(deps, d, now),
        downstream: Vec::new(),
        rejection: Some(RejectionSection {
            reasons: r.errors.clone(),
        }),
        export: None,
        review: None,
        approval: None,
        approval_rejection: None,
        deletion: None,
        after: None,
        failure: None,
        failed_stage: None,
    }
}

/// The execution name as a ticket id, for a ticket whose own id could not be read.
/// Step Functions names are close to ticket ids already; anything else is dropped.
pub fn ticket_id_from_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .take(80)
        .collect();
    if cleaned.is_empty() {
        "unidentified-ticket".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_polling_budget_follows_the_deadline_within_bounds() {
        let b = PollBudget::default();
        let now: DateTime<Utc> = "2026-11-22T12:00:00Z".parse().unwrap();
        let ends: DateTime<Utc> = "2026-12-21T00:00:00Z".parse().unwrap();
        assert_eq!(
            b.give_up_at(ends, now),
            "2026-12-18T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        // Late: at least two days from now.
        let past: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            b.give_up_at(past, now),
            "2026-11-24T12:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        // An extended deadline far off: at most thirty days.
        let far: DateTime<Utc> = "2027-03-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            b.give_up_at(far, now),
            "2026-12-22T12:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn unreadable_ticket_ids_fall_back_to_a_cleaned_execution_name() {
        assert_eq!(ticket_id_from_name("DSAR-2026-0042"), "DSAR-2026-0042");
        assert_eq!(ticket_id_from_name("--x y"), "xy");
        assert_eq!(ticket_id_from_name("///"), "unidentified-ticket");
    }
}
