//! Sample compliance records for tests, built from the schema's own examples so they
//! stay valid as the schema evolves. They hold no personal data: only made-up ids and
//! keyed-hash placeholders, like real records.

use chrono::{DateTime, Months, SecondsFormat, Utc};
use serde_json::{Value, json};

pub const COMPLETED_EXAMPLE: &str = include_str!("../../../schemas/examples/completed.json");
pub const DEFERRED_EXAMPLE: &str = include_str!("../../../schemas/examples/deferred.json");
pub const REJECTED_EXAMPLE: &str = include_str!("../../../schemas/examples/rejected.json");

fn parse(example: &str) -> Value {
    serde_json::from_str(example).unwrap_or_else(|e| panic!("schema example is not JSON: {e}"))
}

/// Builds a record for a ticket and outcome; sequence 1 and the examples' dates unless
/// told otherwise.
#[derive(Debug, Clone)]
pub struct RecordBuilder {
    value: Value,
}

impl RecordBuilder {
    /// `outcome`: COMPLETED, PARTIAL, DEFERRED, REJECTED or FAILED.
    ///
    /// # Panics
    /// On another outcome: a test typo, not input.
    pub fn new(ticket_id: &str, outcome: &str) -> Self {
        let mut v = match outcome {
            "DEFERRED" => parse(DEFERRED_EXAMPLE),
            "REJECTED" => parse(REJECTED_EXAMPLE),
            "COMPLETED" | "PARTIAL" | "FAILED" => parse(COMPLETED_EXAMPLE),
            other => panic!("unknown outcome {other}"),
        };
        v["outcome"] = json!(outcome);
        v["ticketId"] = json!(ticket_id);
        v["executionId"] = json!(format!(
            "arn:aws:states:eu-west-1:123456789012:execution:gdpr-erasure:{ticket_id}"
        ));
        match outcome {
            "PARTIAL" => {
                v["downstream"][1]["status"] = json!("NOT_ACKNOWLEDGED");
                v["counts"]["downstreamAcknowledged"] = json!(1);
                v["gaps"] = json!([{
                    "kind": "DOWNSTREAM_NOT_ACKNOWLEDGED",
                    "reason": "no acknowledgement after 3 attempts",
                    "subjectOfGap": "warehouse"
                }]);
            }
            "FAILED" => {
                v["failure"] = json!({
                    "stage": "PollDeletion",
                    "error": "GenesysRequestError",
                    "detail": "GDPR_DELETE request 8d3e0b5f-2c4a-4b6d-8e9f-1a2b3c4d5e6f ended in ERROR"
                });
                v["counts"]["conversationsErased"] = json!(0);
            }
            _ => {}
        }
        Self { value: v }.sequence(1, None)
    }

    /// Position in the ticket's chain; `previous_digest` is the digest of the record
    /// with `sequence - 1` (None for 1).
    pub fn sequence(mut self, sequence: u64, previous_digest: Option<&str>) -> Self {
        self.value["sequence"] = json!(sequence);
        self.value["previousDigest"] = json!(previous_digest);
        self
    }

    /// `writtenAt`, and `retention.retainUntil` seven calendar years later.
    ///
    /// # Panics
    /// On a malformed date: a test typo.
    pub fn written_at(mut self, at: &str) -> Self {
        let t: DateTime<Utc> = at.parse().unwrap_or_else(|e| panic!("bad date {at}: {e}"));
        let until = t
            .checked_add_months(Months::new(12 * 7))
            .unwrap_or_else(|| panic!("date out of range: {at}"));
        self.value["writtenAt"] = json!(t.to_rfc3339_opts(SecondsFormat::Millis, true));
        self.value["retention"]["retainUntil"] =
            json!(until.to_rfc3339_opts(SecondsFormat::Millis, true));
        self
    }

    /// The deadline clock: start, completion and the verdict.
    pub fn clock(
        mut self,
        starts_at: &str,
        completed_at: Option<&str>,
        within_deadline: Option<bool>,
        days_late: Option<u64>,
    ) -> Self {
        let c = &mut self.value["clock"];
        c["clockStartsAt"] = json!(starts_at);
        c["receivedAt"] = json!(starts_at);
        c["completedAt"] = json!(completed_at);
        c["withinDeadline"] = json!(within_deadline);
        c["daysLate"] = json!(days_late);
        self
    }

    /// The deferral's holds (`(id, expiry)`) and resume date (DEFERRED records).
    pub fn deferral(mut self, holds: &[(&str, Option<&str>)], resume_on: Option<&str>) -> Self {
        let holds: Vec<Value> = holds
            .iter()
            .map(|(id, expiry)| json!({"holdId": id, "expiry": expiry}))
            .collect();
        self.value["deferral"] = json!({
            "legalBasis": "Art. 17(3)(e)",
            "holds": holds,
            "resumeOn": resume_on,
        });
        self
    }

    /// The DEFERRED ticket this record's ticket follows up (`resumes`).
    pub fn resumes(mut self, deferred_ticket: Option<&str>) -> Self {
        self.value["resumes"] = json!(deferred_ticket);
        self
    }

    /// Sets any field by JSON pointer (`/counts/conversationsFound`).
    ///
    /// # Panics
    /// When the pointer names no existing field: a test typo.
    pub fn set(mut self, pointer: &str, value: Value) -> Self {
        let slot = self
            .value
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("no field at {pointer}"));
        *slot = value;
        self
    }

    pub fn build(self) -> Value {
        self.value
    }
}
