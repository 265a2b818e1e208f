//! A compliance record as the archive sees it: a JSON document valid against
//! `schemas/compliance-record.v1.schema.json`, its canonical bytes and digest, and a
//! small typed view of the fields the archive and the audit report need.
//!
//! The archive does not depend on the crate that builds records: the schema file is
//! the contract between them.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::canonical::{canonicalize, digest_of};
use crate::error::ArchiveError;

/// The `schema` value of version 1 records.
pub const SCHEMA_V1: &str = "gdpr-erasure/compliance-record/v1";

/// The record schema, embedded so that every binary validates against the same file
/// the repository publishes.
pub const SCHEMA_V1_JSON: &str = include_str!("../../../schemas/compliance-record.v1.schema.json");

static VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(SCHEMA_V1_JSON)
        .map_err(|e| format!("embedded record schema is not JSON: {e}"))?;
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| format!("embedded record schema does not compile: {e}"))
});

/// Checks `value` against the record schema (formats included). Returns every
/// violation as `<instance path>: <message>`, with instance values masked so that a
/// message never repeats record content.
pub fn schema_violations(value: &Value) -> Result<Vec<String>, ArchiveError> {
    violations(&VALIDATOR, value, SCHEMA_V1, "compliance record")
}

/// The five outcomes of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Completed,
    Partial,
    Deferred,
    Rejected,
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Completed,
        Outcome::Partial,
        Outcome::Deferred,
        Outcome::Rejected,
        Outcome::Failed,
    ];

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

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Outcome {
    type Err = String;

    /// Case-insensitive, for people typing `--outcome deferred`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown outcome '{s}': expected COMPLETED, PARTIAL, DEFERRED, REJECTED or FAILED")
            })
    }
}

/// The typed view of a record: what the archive needs to key and chain it, and what
/// the audit report counts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordView {
    pub ticket_id: String,
    /// The DEFERRED ticket this record's ticket follows up, if any: that deferral is
    /// resolved (`report`, the watchdog).
    pub resumes: Option<String>,
    pub sequence: u64,
    pub previous_digest: Option<String>,
    pub outcome: Outcome,
    pub written_at: DateTime<Utc>,
    pub retention: RetentionView,
    pub clock: ClockView,
    pub deferral: Option<DeferralView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionView {
    pub mode: String,
    pub retain_until: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockView {
    pub received_at: DateTime<Utc>,
    pub clock_starts_at: DateTime<Utc>,
    pub due_date: NaiveDate,
    pub effective_due_date: NaiveDate,
    pub late_at_intake: bool,
    pub completed_at: Option<DateTime<Utc>>,
    pub within_deadline: Option<bool>,
    pub days_late: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeferralView {
    pub holds: Vec<HoldView>,
    pub resume_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldView {
    pub hold_id: String,
    pub expiry: Option<NaiveDate>,
}

/// A schema-valid JSON document with its canonical bytes, digest and typed view: a
/// compliance [`Record`] or a [`crate::Verification`] (each derefs to one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document<V> {
    value: Value,
    canonical: Vec<u8>,
    digest: String,
    view: V,
}

impl<V: serde::de::DeserializeOwned> Document<V> {
    /// Canonicalises `value`, refused with `violations` (its schema's) when there are any.
    pub(crate) fn new(
        value: Value,
        format: &str,
        violations: Vec<String>,
    ) -> Result<Self, ArchiveError> {
        if !violations.is_empty() {
            return Err(ArchiveError::invalid(format!(
                "not a valid {format} record: {}",
                violations.join("; ")
            )));
        }
        let view = V::deserialize(&value)
            .map_err(|e| ArchiveError::invalid(format!("record fields: {e}")))?;
        let canonical = canonicalize(&value)?;
        let digest = digest_of(&canonical);
        Ok(Self {
            value,
            canonical,
            digest,
            view,
        })
    }
}

impl<V> Document<V> {
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The RFC 8785 bytes: exactly what the archive stores.
    pub fn canonical_bytes(&self) -> &[u8] {
        &self.canonical
    }

    /// `sha256:<hex>` of the canonical bytes.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    pub fn view(&self) -> &V {
        &self.view
    }
}

/// Compiles an embedded schema (draft 2020-12, formats checked).
pub(crate) fn compile_schema(json: &str, what: &str) -> Result<jsonschema::Validator, String> {
    let schema: Value = serde_json::from_str(json)
        .map_err(|e| format!("embedded {what} schema is not JSON: {e}"))?;
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| format!("embedded {what} schema does not compile: {e}"))
}

/// Every violation of `validator` by `value` (a document whose `schema` must be
/// `format`), as `<instance path>: <message>` with instance values masked.
pub(crate) fn violations(
    validator: &Result<jsonschema::Validator, String>,
    value: &Value,
    format: &str,
    what: &str,
) -> Result<Vec<String>, ArchiveError> {
    // The `schema` field names the format's version: say plainly when a document is
    // of a version this build does not know, rather than list every difference.
    match value.get("schema") {
        Some(Value::String(s)) if s == format => {}
        Some(Value::String(s))
            if s.rsplit_once('/').map(|p| p.0) == format.rsplit_once('/').map(|p| p.0) =>
        {
            return Ok(vec![format!(
                "/schema: {what} format {s} is not known to this version of gdpr-erasure (it knows {format})"
            )]);
        }
        _ if !value.is_object() => return Ok(vec![format!("/: a {what} is a JSON object")]),
        _ => {
            return Ok(vec![format!(
                "/schema: missing or not a {what} format (expected \"{format}\")"
            )]);
        }
    }
    let validator = validator
        .as_ref()
        .map_err(|e| ArchiveError::invalid(e.clone()))?;
    Ok(validator
        .iter_errors(value)
        .map(|e| {
            let path = e.instance_path().to_string();
            format!(
                "{}: {}",
                if path.is_empty() { "/" } else { &path },
                e.masked()
            )
        })
        .collect())
}

/// Parses a JSON document (any formatting).
pub(crate) fn json_of(bytes: &[u8]) -> Result<Value, ArchiveError> {
    serde_json::from_slice(bytes).map_err(|e| ArchiveError::invalid(format!("not JSON: {e}")))
}

/// A validated compliance record with its canonical bytes and digest.
///
/// Only constructible through [`Record::from_value`] / [`Record::from_json`], so a
/// `Record` is always schema-valid and canonicalisable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record(Document<RecordView>);

impl Record {
    /// Validates `value` against the schema and canonicalises it.
    pub fn from_value(value: Value) -> Result<Self, ArchiveError> {
        let violations = schema_violations(&value)?;
        Document::new(value, SCHEMA_V1, violations).map(Self)
    }

    /// Parses and validates a JSON document (any formatting).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ArchiveError> {
        Self::from_value(json_of(bytes)?)
    }
}

impl std::ops::Deref for Record {
    type Target = Document<RecordView>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPLETED: &str = include_str!("../../../schemas/examples/completed.json");
    const DEFERRED: &str = include_str!("../../../schemas/examples/deferred.json");
    const REJECTED: &str = include_str!("../../../schemas/examples/rejected.json");

    #[test]
    fn the_schema_examples_are_valid_records() {
        for example in [COMPLETED, DEFERRED, REJECTED] {
            let r = Record::from_json(example.as_bytes()).expect("valid example");
            assert!(r.digest().starts_with("sha256:") && r.digest().len() == 71);
        }
    }

    #[test]
    fn typed_view_reads_the_fields_the_archive_needs() {
        let r = Record::from_json(DEFERRED.as_bytes()).expect("valid");
        let v = r.view();
        assert_eq!(v.ticket_id, "DSAR-2026-0042");
        assert_eq!(v.sequence, 2);
        assert_eq!(v.outcome, Outcome::Deferred);
        assert_eq!(v.written_at.to_rfc3339(), "2026-11-22T11:42:10.512+00:00");
        let d = v.deferral.as_ref().expect("deferral");
        assert_eq!(d.holds[0].hold_id, "LH-2025-007");
        assert_eq!(d.resume_on, NaiveDate::from_ymd_opt(2027, 7, 1));
    }

    #[test]
    fn digest_does_not_depend_on_formatting() {
        let pretty = Record::from_json(DEFERRED.as_bytes()).expect("valid");
        let compact = serde_json::to_vec(&serde_json::from_str::<Value>(DEFERRED).expect("json"))
            .expect("ser");
        let compact = Record::from_json(&compact).expect("valid");
        assert_eq!(pretty.digest(), compact.digest());
    }

    #[test]
    fn schema_violations_name_the_field_without_its_value() {
        let mut v: Value = serde_json::from_str(COMPLETED).expect("json");
        v["ticketId"] = Value::from("jane.doe@example.com/../x");
        v["writtenAt"] = Value::from("2026-13-45T99:00:00Z");
        let err = Record::from_value(v).unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.name(), "RecordInvalid");
        assert!(msg.contains("/ticketId"), "{msg}");
        assert!(msg.contains("/writtenAt"), "{msg}");
        assert!(
            !msg.contains("jane.doe"),
            "value leaked into message: {msg}"
        );
    }

    #[test]
    fn format_validation_is_on() {
        // Passes the pattern, fails the date-time format (no 30 February).
        let mut v: Value = serde_json::from_str(COMPLETED).expect("json");
        v["writtenAt"] = Value::from("2026-02-30T10:00:00Z");
        let msg = Record::from_value(v).unwrap_err().to_string();
        assert!(msg.contains("/writtenAt"), "{msg}");
    }

    #[test]
    fn outcome_rules_of_the_schema_apply() {
        let mut v: Value = serde_json::from_str(COMPLETED).expect("json");
        v["outcome"] = Value::from("PARTIAL"); // PARTIAL needs at least one gap
        assert!(Record::from_value(v).is_err());
        let mut v: Value = serde_json::from_str(COMPLETED).expect("json");
        v["sequence"] = Value::from(2); // sequence 2 needs a previousDigest
        assert!(Record::from_value(v).is_err());
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let err = Record::from_json(b"{not json").unwrap_err();
        assert!(err.to_string().contains("not JSON"), "{err}");
        let err = Record::from_json(b"[]").unwrap_err();
        assert_eq!(err.name(), "RecordInvalid");
    }

    #[test]
    fn an_unknown_record_version_is_named_as_such() {
        let mut v: Value = serde_json::from_str(COMPLETED).expect("json");
        v["schema"] = Value::from("gdpr-erasure/compliance-record/v2");
        let msg = Record::from_value(v).unwrap_err().to_string();
        assert!(msg.contains("compliance-record/v2 is not known"), "{msg}");
        let msg = Record::from_json(br#"{"ticketId":"x"}"#)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("/schema: missing"), "{msg}");
    }

    #[test]
    fn outcome_parses_case_insensitively() {
        assert_eq!("deferred".parse::<Outcome>(), Ok(Outcome::Deferred));
        assert!("DONE".parse::<Outcome>().is_err());
    }
}
