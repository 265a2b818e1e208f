//! The Intake step's logic in one call: validate, compute the clock, pseudonymise.
//! An invalid ticket comes back as the facts of its REJECTED record, so the step
//! never has to assemble them (and cannot forget a field).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::deadline::Deadline;
use crate::error::FieldError;
use crate::identifiers::TicketId;
use crate::pseudonym::{Pseudonym, Pseudonymiser};
use crate::record::RecordFacts;
use crate::review::{SubjectIdentifier, subject_identifiers};
use crate::ticket::TicketError;
use crate::ticket::{IntakeConfig, TicketSalvage, ValidTicket, validate};

/// An accepted ticket, ready for the Locate step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    pub ticket: ValidTicket,
    #[serde(with = "crate::time::utc_z")]
    pub intake_at: DateTime<Utc>,
    pub deadline: Deadline,
    /// One entry per usable identifier: the steps search Genesys once per entry.
    pub identifiers: Vec<SubjectIdentifier>,
    pub name_ref: Option<Pseudonym>,
    pub sign_off_ref: Pseudonym,
}

/// A refused ticket: every reason, and what could be read of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub ticket_id: Option<TicketId>,
    pub errors: Vec<FieldError>,
    pub salvage: TicketSalvage,
    /// The facts of the REJECTED record.
    pub record_facts: RecordFacts,
}

pub fn intake(
    input: &Value,
    config: &IntakeConfig,
    p: &Pseudonymiser,
    now: DateTime<Utc>,
) -> Result<Accepted, Box<Refused>> {
    match validate(input, config, now) {
        Ok(ticket) => {
            let deadline = ticket.deadline(&config.deadline, now);
            let identifiers = subject_identifiers(&ticket.subject, p);
            let name_ref = ticket.subject.name.as_ref().map(|n| p.name(n));
            let sign_off_ref = p.actor(&ticket.ticket.sign_off.by);
            Ok(Accepted {
                ticket,
                intake_at: now,
                deadline,
                identifiers,
                name_ref,
                sign_off_ref,
            })
        }
        Err(TicketError::InvalidTicket { errors, salvage }) => {
            let record_facts = RecordFacts::rejected(errors.clone(), &salvage, p, now);
            Err(Box::new(Refused {
                ticket_id: salvage.ticket_id.clone(),
                errors,
                salvage: *salvage,
                record_facts,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pseudonym::PseudonymKey;
    use serde_json::json;

    fn p() -> Pseudonymiser {
        Pseudonymiser::new(PseudonymKey::new("k", vec![1; 32]).unwrap())
    }

    fn doc() -> Value {
        json!({
            "ticket": {
                "id": "DSAR-7", "source": "servicenow",
                "receivedAt": "2026-11-20T10:15:00Z", "identityVerifiedAt": "2026-11-22T09:00:00Z",
                "verificationMethod": "id-document",
                "signOff": { "by": "dpo@example.com", "role": "DPO", "at": "2026-11-22T11:00:00Z" }
            },
            "subject": { "name": "Jane Doe", "emails": ["jane@example.com"] }
        })
    }

    #[test]
    fn an_accepted_ticket_carries_its_clock_and_pseudonyms() {
        let now = "2026-11-22T12:00:00Z".parse().unwrap();
        let a = intake(&doc(), &IntakeConfig::default(), &p(), now).unwrap();
        assert_eq!(a.deadline.due_date.to_string(), "2026-12-20");
        assert_eq!(a.identifiers.len(), 1);
        assert!(a.name_ref.is_some());
        let payload = serde_json::to_string(&a).unwrap();
        let back: Accepted = serde_json::from_str(&payload).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn a_ticket_without_sign_off_is_refused_with_its_rejected_record_facts() {
        let mut d = doc();
        d["ticket"]["signOff"] = Value::Null;
        let now = "2026-11-22T12:00:00Z".parse().unwrap();
        let r = intake(&d, &IntakeConfig::default(), &p(), now).unwrap_err();
        assert_eq!(r.ticket_id.as_ref().map(|t| t.as_str()), Some("DSAR-7"));
        assert_eq!(r.errors[0].field, "ticket.signOff");
        assert!(matches!(
            r.record_facts.ending,
            crate::record::Ending::Rejected(_)
        ));
        assert_eq!(
            r.record_facts.identifiers.len(),
            2,
            "e-mail and name, not searched"
        );
    }
}
