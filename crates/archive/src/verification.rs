//! A verification record as the archive sees it: one check, after a ticket's record,
//! that what its GDPR_DELETE covered is gone (`schemas/verification-record.v1.schema.json`).
//!
//! Verifications live beside the records, under `verifications/<ticket id>/`, so that
//! everything reading a ticket's records (its outcome, its deferral, the repeat check)
//! reads them unchanged. They form a chain of their own that hangs off the record they
//! verify: the first names the record's digest, each later one the verification
//! before it.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::error::ArchiveError;
use crate::record::{Document, RetentionView, compile_schema, json_of, violations};

/// The `schema` value of version 1 verification records.
pub const VERIFICATION_SCHEMA_V1: &str = "gdpr-erasure/verification-record/v1";

pub const VERIFICATION_SCHEMA_V1_JSON: &str =
    include_str!("../../../schemas/verification-record.v1.schema.json");

static VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> =
    LazyLock::new(|| compile_schema(VERIFICATION_SCHEMA_V1_JSON, "verification"));

/// What one check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerificationResult {
    Clean,
    Pending,
    Residue,
}

impl VerificationResult {
    pub const ALL: [VerificationResult; 3] = [
        VerificationResult::Clean,
        VerificationResult::Pending,
        VerificationResult::Residue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VerificationResult::Clean => "CLEAN",
            VerificationResult::Pending => "PENDING",
            VerificationResult::Residue => "RESIDUE",
        }
    }
}

impl std::fmt::Display for VerificationResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fields the archive keys, chains and counts verifications by.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationView {
    pub ticket_id: String,
    pub sequence: u64,
    pub previous_digest: String,
    pub written_at: DateTime<Utc>,
    pub result: VerificationResult,
    pub verifies: VerifiesView,
    pub retention: RetentionView,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiesView {
    pub record_digest: String,
    pub record_sequence: u64,
}

/// Every violation of the verification schema, values masked.
pub fn verification_violations(value: &Value) -> Result<Vec<String>, ArchiveError> {
    violations(
        &VALIDATOR,
        value,
        VERIFICATION_SCHEMA_V1,
        "verification record",
    )
}

/// A validated verification record with its canonical bytes and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification(Document<VerificationView>);

impl Verification {
    pub fn from_value(value: Value) -> Result<Self, ArchiveError> {
        let violations = verification_violations(&value)?;
        Document::new(value, VERIFICATION_SCHEMA_V1, violations).map(Self)
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, ArchiveError> {
        Self::from_value(json_of(bytes)?)
    }
}

impl std::ops::Deref for Verification {
    type Target = Document<VerificationView>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAN: &str = include_str!("../../../schemas/examples/verification-clean.json");

    #[test]
    fn the_example_is_valid_and_a_residue_without_ids_or_a_name_field_is_not() {
        let v = Verification::from_json(CLEAN.as_bytes()).expect("valid example");
        assert_eq!(v.view().result, VerificationResult::Clean);
        assert_eq!(v.view().sequence, 1);
        let mut bad: Value = serde_json::from_str(CLEAN).unwrap();
        bad["conversations"]["residue"] = serde_json::json!(["liam@example.org"]);
        let err = Verification::from_value(bad).unwrap_err().to_string();
        assert!(err.contains("/conversations/residue/0"), "{err}");
        assert!(!err.contains("liam@"), "values are masked: {err}");
        let mut extra: Value = serde_json::from_str(CLEAN).unwrap();
        extra["subjectName"] = serde_json::json!("x");
        assert!(Verification::from_value(extra).is_err());
    }
}
