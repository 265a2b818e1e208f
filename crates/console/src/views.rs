//! What the pages show, read from an execution's state: the review the DPO decides
//! on, the deadline, and (for a role that may see them) the identifiers the ticket
//! itself holds. Nothing here reads Genesys: only what the workflow already found.

use chrono::{DateTime, NaiveDate, Utc};
use erasure_core::deadline::Deadline;
use erasure_core::identifiers::IdentifierKind;
use erasure_core::pseudonym::{Pseudonym, Pseudonymiser};
use erasure_steps::state::{ReviewSection, SubjectSection};
use serde_json::Value;

use crate::ports::RunningTicket;

/// A ticket's deadline as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineView {
    /// The last day (controller's time zone), extended if it was.
    pub due_date: NaiveDate,
    /// The first instant after the due date.
    pub ends_at: DateTime<Utc>,
    /// Whole days left (negative when past).
    pub days_left: i64,
    pub extended: bool,
}

impl DeadlineView {
    pub fn of(deadline: &Deadline, now: DateTime<Utc>) -> Self {
        let left = deadline.effective_deadline_ends_at - now;
        // Days started count: 0.5 days left is "0 days left", -0.5 is "1 day late".
        let days_left = if left >= chrono::TimeDelta::zero() {
            left.num_days()
        } else {
            -((-left).num_seconds() + 86_399) / 86_400
        };
        DeadlineView {
            due_date: deadline.effective_due_date,
            ends_at: deadline.effective_deadline_ends_at,
            days_left,
            extended: deadline.extension.is_some(),
        }
    }

    pub fn is_past(&self) -> bool {
        self.days_left < 0
    }

    /// "12 days left", "today", "3 days late".
    pub fn describe(&self) -> String {
        match self.days_left {
            0 => "due today".into(),
            1 => "1 day left".into(),
            -1 => "1 day late".into(),
            d if d > 1 => format!("{d} days left"),
            d => format!("{} days late", -d),
        }
    }
}

/// The deadline in an execution state (`$.clock`, set by Intake).
pub fn deadline_of(state: &Value, now: DateTime<Utc>) -> Option<DeadlineView> {
    let d: Deadline = serde_json::from_value(state.get("clock")?.clone()).ok()?;
    Some(DeadlineView::of(&d, now))
}

/// One identifier of the ticket: its kind, its position, and the value itself only
/// when the viewer may see identifiers.
#[derive(Clone, PartialEq, Eq)]
pub struct ShownIdentifier {
    pub kind: IdentifierKind,
    /// "e-mail 1", "phone 2": what every viewer sees.
    pub label: String,
    /// The identifier as the ticket holds it; `None` unless the role may see it.
    pub value: Option<String>,
    /// Tenure windows of a phone number, for people.
    pub tenure: Option<String>,
    pub reference: Pseudonym,
}

impl std::fmt::Debug for ShownIdentifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShownIdentifier")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// How every page names one of the ticket's identifiers: "e-mail 1", "phone 2",
/// "Genesys user", "external contact" (never its value).
pub fn identifier_label(kind: IdentifierKind, index: Option<usize>) -> String {
    let n = index.map_or(String::new(), |i| format!(" {}", i + 1));
    match kind {
        IdentifierKind::Email => format!("e-mail{n}"),
        IdentifierKind::Phone => format!("phone{n}"),
        IdentifierKind::GenesysUserId => "Genesys user".into(),
        IdentifierKind::ExternalContactId => "external contact".into(),
        IdentifierKind::Name => "name".into(),
    }
}

/// The identifiers the ticket itself holds (never any Genesys found beyond them),
/// each with the pseudonym the review's outcomes name it by.
pub fn ticket_identifiers(
    state: &Value,
    pseudonymiser: &Pseudonymiser,
    show_values: bool,
) -> Vec<ShownIdentifier> {
    let Some(subject) = state
        .get("subject")
        .filter(|s| !s.is_null())
        .and_then(|s| serde_json::from_value::<SubjectSection>(s.clone()).ok())
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let shown = |v: &str| show_values.then(|| v.to_owned());
    for (i, e) in subject.emails.iter().enumerate() {
        out.push(ShownIdentifier {
            kind: IdentifierKind::Email,
            label: identifier_label(IdentifierKind::Email, Some(i)),
            value: shown(e.expose()),
            tenure: None,
            reference: pseudonymiser.email(e),
        });
    }
    for (i, p) in subject.phones.iter().enumerate() {
        let tenure = p
            .tenure
            .iter()
            .map(|w| match w.until {
                Some(u) => format!("{} to {u}", w.from),
                None => format!("since {}", w.from),
            })
            .collect::<Vec<_>>()
            .join(", ");
        out.push(ShownIdentifier {
            kind: IdentifierKind::Phone,
            label: identifier_label(IdentifierKind::Phone, Some(i)),
            value: shown(p.number.expose()),
            tenure: (!tenure.is_empty()).then_some(tenure),
            reference: pseudonymiser.phone(&p.number),
        });
    }
    if let Some(u) = &subject.genesys_user_id {
        out.push(ShownIdentifier {
            kind: IdentifierKind::GenesysUserId,
            label: identifier_label(IdentifierKind::GenesysUserId, None),
            value: shown(u.expose()),
            tenure: None,
            reference: pseudonymiser.genesys_user(u),
        });
    }
    if let Some(c) = &subject.external_contact_id {
        out.push(ShownIdentifier {
            kind: IdentifierKind::ExternalContactId,
            label: identifier_label(IdentifierKind::ExternalContactId, None),
            value: shown(c.expose()),
            tenure: None,
            reference: pseudonymiser.external_contact(c),
        });
    }
    out
}

/// The review section of a state waiting in AwaitDecision.
pub fn review_of(state: &Value) -> Option<ReviewSection> {
    serde_json::from_value(state.get("review")?.clone()).ok()
}

/// Whether the ticket asked for recordings to be erased.
pub fn erases_recordings(state: &Value) -> bool {
    state
        .pointer("/options/eraseRecordings")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// A code as a person reads it (`OUTSIDE_TENURE`, `handled-as-agent`, ...): known
/// codes in words, others as they are.
pub fn words(code: &str) -> String {
    let key = code.to_ascii_lowercase().replace('_', "-");
    let known = match key.as_str() {
        "outside-tenure" => "outside the number's tenure (another person's calls)",
        "handled-as-agent" => "handled as an agent (another person's interaction)",
        "other-persons-contact" | "another-persons-contact" | "other-person" => {
            "another person's contact"
        }
        "legal-hold" => "legal hold",
        "deletion-protection" => "deletion protection in Genesys",
        "held" => "under a hold",
        "another-subject" => "Genesys knows somebody else by it (another contact or user)",
        "shared-identifier" => "an identifier Genesys also knows somebody else by",
        "recycled-number" => "a recycled number (another owner's calls found)",
        "active-agent" => "an active agent",
        "agent-not-found" => "the agent was not found",
        "agent-status-unknown" => "the agent's status is unknown",
        "offboard" => "former agent: anonymised, deactivated and deleted",
        "skip-active" => "active agent: the account is never touched",
        "already-deleted" => "the account is already deleted",
        "not-found" => "no such account",
        "unchecked" => "not checked: nothing is done until a person looks",
        "none" => "no agent account involved",
        "searched-and-erased" => "searched and erased",
        "searched-only" => "searched only, not erased",
        "not-searched" => "not searched",
        "proceed" => "proceed",
        "review" => "a person must decide",
        "defer" => "defer (held data)",
        _ => return code.to_owned(),
    };
    known.to_owned()
}

/// The serde name of a unit enum value (`OUTSIDE_TENURE`), for [`words`].
pub fn code_of<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// A waiting review, for the list.
#[derive(Debug, Clone)]
pub struct WaitingRow {
    pub ticket_id: String,
    pub waiting_since: Option<DateTime<Utc>>,
    pub deadline: Option<DeadlineView>,
    pub reasons: Vec<String>,
}

/// Reviews waiting, oldest first (by when they started waiting).
pub fn waiting_rows(running: &[RunningTicket], now: DateTime<Utc>) -> Vec<WaitingRow> {
    let mut rows: Vec<WaitingRow> = running
        .iter()
        .filter(|t| t.awaits_decision())
        .map(|t| {
            let state = t.state_input.as_ref();
            WaitingRow {
                ticket_id: t.ticket_id.clone(),
                waiting_since: t.since,
                deadline: state.and_then(|s| deadline_of(s, now)),
                reasons: state
                    .and_then(review_of)
                    .map(|r| r.reasons)
                    .unwrap_or_default(),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        a.waiting_since
            .cmp(&b.waiting_since)
            .then(a.ticket_id.cmp(&b.ticket_id))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deadline(ends: &str) -> Deadline {
        serde_json::from_value(serde_json::json!({
            "receivedAt": "2026-11-01T10:00:00Z",
            "identityVerifiedAt": null,
            "clockStartsAt": "2026-11-01T10:00:00Z",
            "clockBasis": "receipt",
            "dueDate": "2026-12-01",
            "extension": null,
            "effectiveDueDate": "2026-12-01",
            "effectiveDeadlineEndsAt": ends,
            "genesysDueBy": "2026-11-04T10:00:00Z",
            "lateAtIntake": false
        }))
        .unwrap()
    }

    #[test]
    fn days_left_count_whole_days_and_late_days_started() {
        let d = deadline("2026-12-02T00:00:00Z");
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            DeadlineView::of(&d, at("2026-11-22T00:00:00Z")).days_left,
            10
        );
        assert_eq!(
            DeadlineView::of(&d, at("2026-12-01T12:00:00Z")).describe(),
            "due today"
        );
        let late = DeadlineView::of(&d, at("2026-12-02T06:00:00Z"));
        assert!(late.is_past());
        assert_eq!(late.describe(), "1 day late");
        assert_eq!(
            DeadlineView::of(&d, at("2026-12-05T00:00:00Z")).describe(),
            "3 days late"
        );
    }

    #[test]
    fn codes_read_as_words_and_unknown_codes_stay() {
        assert!(words("OUTSIDE_TENURE").contains("tenure"));
        assert!(words("HANDLED_AS_AGENT").contains("agent"));
        assert!(words("another-subject").contains("somebody else"));
        assert_eq!(words("some-new-reason"), "some-new-reason");
    }
}
