//! NotifyDownstream (one Map iteration per system, Art. 19): a signed erasure
//! instruction to one downstream system, and its acknowledgement.
//!
//! Unreachable systems fail with `DownstreamUnavailable`, which the definition retries;
//! a refusal is `DownstreamRejected`. When the retries run out the definition records
//! the system as NOT_ACKNOWLEDGED: a gap, so the outcome is PARTIAL, never silently
//! COMPLETED. Every message names the attempt, so the record can count them.

use chrono::{DateTime, Utc};
use clock::SharedClock;
use erasure_core::record::DownstreamStatus;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::StepError;
use crate::gdpr::check_ticket_id;
use crate::ports::Downstream;
use crate::state::{RequestSection, Selection, SubjectSection};
use erasure_core::hold::{Deferral, HeldConversation};

#[derive(Debug, Clone)]
pub struct Deps {
    pub downstream: Downstream,
    pub clock: SharedClock,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub system: String,
    pub ticket_id: String,
    pub subject: SubjectSection,
    /// The GDPR_DELETE, when there was one.
    pub deletion: Option<RequestSection>,
    /// `$.review.erase.selection`: the identifiers the review cleared. Only these are
    /// sent (never an active agent's user id, a held or out-of-tenure identifier).
    /// Absent in executions started before it was passed: then every identifier, as
    /// that version did.
    #[serde(default)]
    pub selection: Option<Selection>,
    /// `$.review.conversations.withheld` and `$.review.deferral`: what is kept and until
    /// when, so the system does not erase held evidence either.
    #[serde(default)]
    pub withheld: Vec<HeldConversation>,
    #[serde(default)]
    pub deferral: Option<Deferral>,
    /// `$$.State.RetryCount`.
    #[serde(default)]
    pub attempt: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Output {
    pub system: String,
    pub status: DownstreamStatus,
    pub http_status: u16,
    /// The system's own reference for the erasure.
    pub reference: String,
    /// What the system said it did (`accepted`, `erased`, ...).
    pub ack_status: String,
    pub attempts: u32,
    #[serde(with = "erasure_core::time::utc_z")]
    pub at: DateTime<Utc>,
}

/// The marker the definition's NotAcknowledged state leaves in the cause, read back
/// by WriteRecord: `[attempt N]`.
pub fn attempt_marker(attempt: u32) -> String {
    format!("[attempt {}]", attempt.saturating_add(1))
}

pub async fn handle(deps: &Deps, input: Input) -> Result<Output, StepError> {
    let ticket_id = check_ticket_id(&input.ticket_id)?;
    let system = deps.downstream.system(&input.system).ok_or_else(|| {
        StepError::misconfigured(format!(
            "downstream system {} is not configured",
            input.system
        ))
    })?;
    let now = deps.clock.now();
    let s = &input.subject;
    // The identifiers the review cleared (never the name), each number with its
    // tenure: a system holding a recycled number erases only what is the subject's.
    let sel = input.selection.as_ref();
    let emails = kept(&s.emails, sel.map(|x| x.emails.as_slice()));
    let phones = kept(&s.phones, sel.map(|x| x.phones.as_slice()));
    let contact = s
        .external_contact_id
        .as_ref()
        .filter(|_| sel.is_none_or(|x| x.external_contact_id));
    let user = s
        .genesys_user_id
        .as_ref()
        .filter(|_| sel.is_none_or(|x| x.genesys_user_id));
    let withheld: Vec<_> = input
        .withheld
        .iter()
        .map(|w| {
            json!({
                "conversationId": w.conversation_id,
                "reason": w.reason,
                "until": w.hold_expiry,
            })
        })
        .collect();
    let body = json!({
        "type": "gdpr-erasure/erasure-instruction/v1",
        "ticketId": ticket_id,
        "system": system.name,
        "issuedAt": erasure_core::time::format_utc(&now),
        "subject": {
            "emails": emails,
            "phones": phones,
            "externalContactId": contact,
            "genesysUserId": user,
        },
        "genesysDeletion": input.deletion.as_ref().map(|d| json!({
            "requestId": d.request_id,
            "requestIds": d.requests().into_iter().map(|r| r.request_id).collect::<Vec<_>>(),
            "status": d.poll.status,
        })),
        "withheld": withheld,
        "erasureResumesOn": input.deferral.as_ref().and_then(|d| d.resume_on),
    });
    let idempotency_key = format!("{ticket_id}/{}", system.name);
    let attempt = input.attempt;
    let (http_status, ack) = deps
        .downstream
        .send(system, &body, &idempotency_key, now.timestamp())
        .await
        .map_err(|e| with_attempt(e, attempt))?;
    tracing::info!(
        ticket_id,
        system = system.name.as_str(),
        http_status,
        attempt = attempt + 1,
        "downstream system acknowledged the erasure"
    );
    Ok(Output {
        system: system.name.clone(),
        status: DownstreamStatus::Acknowledged,
        http_status,
        reference: ack.reference,
        ack_status: ack.status,
        attempts: attempt.saturating_add(1),
        at: deps.clock.now(),
    })
}

/// The entries of `list` a selection keeps (by index); all of them without one.
fn kept<'a, T>(list: &'a [T], chosen: Option<&[usize]>) -> Vec<&'a T> {
    list.iter()
        .enumerate()
        .filter(|(i, _)| chosen.is_none_or(|c| c.contains(i)))
        .map(|(_, x)| x)
        .collect()
}

fn with_attempt(e: StepError, attempt: u32) -> StepError {
    let mark = attempt_marker(attempt);
    match e {
        StepError::DownstreamUnavailable { system, detail } => StepError::DownstreamUnavailable {
            system,
            detail: format!("{detail} {mark}"),
        },
        StepError::DownstreamRejected { system, detail } => StepError::DownstreamRejected {
            system,
            detail: format!("{detail} {mark}"),
        },
        other => other,
    }
}

/// The attempts a NotAcknowledged cause reports (1 when it names none).
pub fn attempts_in(cause: &str) -> u32 {
    cause
        .rfind("[attempt ")
        .and_then(|i| cause[i + 9..].split(']').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attempt_marker_round_trips() {
        assert_eq!(attempts_in(&format!("HTTP 503 {}", attempt_marker(4))), 5);
        assert_eq!(attempts_in("no marker"), 1);
    }
}
