//! The facts a letter states, taken from the compliance record alone (plus the
//! controller's settings). Templates see exactly these names; anything else is an
//! unknown placeholder.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use erasure_core::hold::WithholdReason;
use erasure_core::record::{AgentAction, ComplianceRecord, DownstreamStatus, GapKind, Outcome};
use serde::Serialize;

use crate::error::LetterError;
use crate::settings::{Authority, Controller, Dpo, LetterSettings};

/// Which letter: one per outcome (FAILED has none: a person completes the ticket), and
/// the extension notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LetterKind {
    Completed,
    NothingFound,
    Deferred,
    Partial,
    Rejected,
    Extension,
}

impl LetterKind {
    pub const ALL: [LetterKind; 6] = [
        LetterKind::Completed,
        LetterKind::NothingFound,
        LetterKind::Deferred,
        LetterKind::Partial,
        LetterKind::Rejected,
        LetterKind::Extension,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LetterKind::Completed => "completed",
            LetterKind::NothingFound => "nothing-found",
            LetterKind::Deferred => "deferred",
            LetterKind::Partial => "partial",
            LetterKind::Rejected => "rejected",
            LetterKind::Extension => "extension",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The text template of this kind in `lang`.
    pub fn template(self, lang: &str) -> String {
        format!("{lang}/{}.txt", self.as_str())
    }

    /// The letter that answers a record's outcome; `None` for FAILED.
    pub fn for_outcome(record: &ComplianceRecord) -> Option<Self> {
        Some(match record.outcome {
            Outcome::Completed => {
                let offboarded = record
                    .agent
                    .as_ref()
                    .is_some_and(|a| a.action == AgentAction::Offboarded);
                if record.counts.conversations_in_scope == 0
                    && record.counts.recordings_purged == 0
                    && !offboarded
                {
                    LetterKind::NothingFound
                } else {
                    LetterKind::Completed
                }
            }
            Outcome::Deferred => LetterKind::Deferred,
            Outcome::Partial => LetterKind::Partial,
            Outcome::Rejected => LetterKind::Rejected,
            Outcome::Failed => return None,
        })
    }

    /// Every letter a record carries: its outcome's, and the extension notice when the
    /// ticket's period was extended (a rejected ticket extended nothing).
    pub fn for_record(record: &ComplianceRecord) -> Vec<Self> {
        let mut kinds: Vec<Self> = Self::for_outcome(record).into_iter().collect();
        if record.clock.extension.is_some() && record.outcome != Outcome::Rejected {
            kinds.push(LetterKind::Extension);
        }
        kinds
    }
}

/// A date as templates need it: the language's template spells the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Date {
    pub iso: NaiveDate,
    pub day: u32,
    pub month: u32,
    pub year: i32,
}

impl From<NaiveDate> for Date {
    fn from(d: NaiveDate) -> Self {
        Date {
            iso: d,
            day: d.day(),
            month: d.month(),
            year: d.year(),
        }
    }
}

/// Everything a template may name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LetterContext {
    pub addressee: &'static str,
    pub language: String,
    pub kind: LetterKind,
    /// The DSAR ticket's id: the subject's reference, not an identifier of the subject.
    pub reference: String,
    pub controller: Controller,
    pub dpo: Dpo,
    pub authority: Authority,
    pub dates: Dates,
    pub late: Late,
    pub extension: Option<Extension>,
    pub erased: Erased,
    pub kept: Kept,
    pub systems: Systems,
    pub gaps: Gaps,
    pub deferral: Option<DeferralFacts>,
    pub rejection: Option<RejectionFacts>,
}

/// Names a template may use at its top level.
pub const TOP_LEVEL: &[&str] = &[
    "addressee",
    "language",
    "kind",
    "reference",
    "controller",
    "dpo",
    "authority",
    "dates",
    "late",
    "extension",
    "erased",
    "kept",
    "systems",
    "gaps",
    "deferral",
    "rejection",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dates {
    /// The day the record was written, in the controller's time zone.
    pub letter: Date,
    pub received: Date,
    pub due: Date,
    pub effective_due: Date,
    /// When the erasure finished (the letter's date for a rejection).
    pub completed: Date,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Late {
    pub within_deadline: Option<bool>,
    pub days_late: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extension {
    pub due: Date,
    pub notice_sent: Date,
    /// The ticket's reason code (`complexity`, `number-of-requests`).
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Erased {
    pub conversations: usize,
    pub recordings: usize,
    pub agent_account: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kept {
    /// Found by an identifier but another person's (a later owner of a number, calls
    /// handled as an agent).
    pub other_people: usize,
    pub held: usize,
    pub held_recordings: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Systems {
    /// Downstream systems that acknowledged the erasure (Art. 19).
    pub told: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gaps {
    pub conversations: usize,
    /// Deletion protection is why conversations could not be reached.
    pub protected: bool,
    /// Genesys ended a GDPR_DELETE other than COMPLETED.
    pub genesys: bool,
    pub recordings: usize,
    pub agent_account: bool,
    /// Downstream systems that did not acknowledge.
    pub systems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeferralFacts {
    pub ground: String,
    pub holds: usize,
    pub resume_on: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectionFacts {
    /// Reason categories, each once, in the order first named: `identity-not-verified`,
    /// `no-sign-off`, `dpo-rejected`, `identifier-unusable`, `extension-invalid`,
    /// `request-unreadable`.
    pub reasons: Vec<&'static str>,
}

/// Every rejection category a template must put in words.
pub const REJECTION_REASONS: [&str; 6] = [
    "identity-not-verified",
    "no-sign-off",
    "dpo-rejected",
    "identifier-unusable",
    "extension-invalid",
    "request-unreadable",
];

/// The plain-words category of one rejection reason of the record.
fn rejection_category(field: &str, code: &str) -> &'static str {
    let under = |p: &str| {
        field == p || field.starts_with(&format!("{p}.")) || field.starts_with(&format!("{p}["))
    };
    if code == "dpo-rejected" {
        "dpo-rejected"
    } else if under("ticket.identityVerifiedAt") || under("ticket.verificationMethod") {
        "identity-not-verified"
    } else if under("ticket.signOff") {
        "no-sign-off"
    } else if under("ticket.extension") {
        "extension-invalid"
    } else if under("subject") {
        "identifier-unusable"
    } else {
        "request-unreadable"
    }
}

fn local_date(at: DateTime<Utc>, tz: chrono_tz::Tz) -> Date {
    at.with_timezone(&tz).date_naive().into()
}

impl LetterContext {
    pub fn from_record(
        record: &ComplianceRecord,
        settings: &LetterSettings,
        kind: LetterKind,
        language: &str,
    ) -> Result<Self, LetterError> {
        let tz: chrono_tz::Tz = record.clock.time_zone.parse().map_err(|_| {
            LetterError::Record(format!(
                "clock.timeZone {} is not an IANA time zone",
                record.clock.time_zone
            ))
        })?;
        let letter = local_date(record.written_at, tz);
        let gap_count = |k: GapKind| record.gaps.iter().filter(|g| g.kind == k).count();
        Ok(LetterContext {
            addressee: crate::ADDRESSEE_PLACEHOLDER,
            language: language.to_owned(),
            kind,
            reference: record.ticket_id.as_str().to_owned(),
            controller: settings.controller.clone(),
            dpo: settings.dpo.clone(),
            authority: settings.supervisory_authority.clone(),
            dates: Dates {
                letter,
                received: local_date(record.clock.received_at, tz),
                due: record.clock.due_date.into(),
                effective_due: record.clock.effective_due_date.into(),
                completed: record
                    .clock
                    .completed_at
                    .map_or(letter, |c| local_date(c, tz)),
            },
            late: Late {
                within_deadline: record.clock.within_deadline,
                days_late: record.clock.days_late.unwrap_or(0),
            },
            extension: record.clock.extension.as_ref().map(|e| Extension {
                due: e.extended_due_date.into(),
                notice_sent: local_date(e.notice_sent_at, tz),
                reason: e.reason_code.clone(),
            }),
            erased: Erased {
                conversations: record.counts.conversations_erased,
                recordings: record.counts.recordings_purged,
                agent_account: record
                    .agent
                    .as_ref()
                    .is_some_and(|a| a.action == AgentAction::Offboarded),
            },
            kept: Kept {
                other_people: record.counts.conversations_excluded,
                held: record.counts.conversations_withheld,
                held_recordings: record.counts.recordings_withheld,
            },
            systems: Systems {
                told: record
                    .downstream
                    .iter()
                    .filter(|d| d.status == DownstreamStatus::Acknowledged)
                    .map(|d| d.system.clone())
                    .collect(),
            },
            gaps: Gaps {
                conversations: gap_count(GapKind::ConversationNotErased),
                protected: record
                    .withheld
                    .iter()
                    .any(|w| w.reason == WithholdReason::DeletionProtection)
                    || record
                        .escalations
                        .iter()
                        .any(|e| e.reason == "per-conversation-erasure"),
                // Without a submitted delete (subject "GDPR_DELETE") the conversations
                // not erased say it; with one, Genesys ended it otherwise than COMPLETED.
                genesys: record.gaps.iter().any(|g| {
                    g.kind == GapKind::GenesysPartial && g.subject_of_gap != "GDPR_DELETE"
                }),
                recordings: gap_count(GapKind::RecordingNotPurged),
                agent_account: gap_count(GapKind::AgentNotOffboarded) > 0,
                systems: record
                    .gaps
                    .iter()
                    .filter(|g| g.kind == GapKind::DownstreamNotAcknowledged)
                    .map(|g| g.subject_of_gap.clone())
                    .collect(),
            },
            deferral: record.deferral.as_ref().map(|d| DeferralFacts {
                ground: d.legal_basis.clone(),
                holds: d.holds.len(),
                resume_on: d.resume_on.map(Date::from),
            }),
            rejection: record.rejection.as_ref().map(|r| {
                let mut reasons = Vec::new();
                for c in r
                    .reasons
                    .iter()
                    .map(|e| rejection_category(&e.field, &e.code))
                {
                    if !reasons.contains(&c) {
                        reasons.push(c);
                    }
                }
                RejectionFacts { reasons }
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_reasons_fall_into_plain_categories() {
        assert_eq!(
            rejection_category("ticket.signOff", "missing"),
            "no-sign-off"
        );
        assert_eq!(
            rejection_category("ticket.signOff.role", "role-not-allowed"),
            "no-sign-off"
        );
        assert_eq!(
            rejection_category("ticket.identityVerifiedAt", "missing"),
            "identity-not-verified"
        );
        assert_eq!(
            rejection_category("subject.phones[0].number", "invalid-phone"),
            "identifier-unusable"
        );
        assert_eq!(
            rejection_category("subject", "no-usable-identifier"),
            "identifier-unusable"
        );
        assert_eq!(
            rejection_category("approval", "dpo-rejected"),
            "dpo-rejected"
        );
        assert_eq!(
            rejection_category("$", "invalid-json"),
            "request-unreadable"
        );
        assert_eq!(
            rejection_category("ticket.extension.reasonCode", "invalid-reason-code"),
            "extension-invalid"
        );
        assert_eq!(
            rejection_category("ticket.signOffs", "unknown-field"),
            "request-unreadable"
        );
    }
}
