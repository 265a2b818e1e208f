//! Errors, one enum per concern. Each variant has a stable name (`name()`): where an
//! error crosses into Step Functions, that name is what `ErrorEquals` matches.
//!
//! No message here ever carries an input value: a value could be personal data.

use serde::{Deserialize, Serialize};

/// One precise problem with one field of an input document.
///
/// `field` is a JSON path (`subject.phones[1].number`), `code` a stable kebab code
/// (`invalid-phone`), `message` says what was wrong without quoting the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message, self.code)
    }
}

/// The first five problems, and how many more (no value: a value could be personal data).
pub(crate) fn summarise(errors: &[FieldError]) -> String {
    let shown: Vec<String> = errors.iter().take(5).map(ToString::to_string).collect();
    let more = errors.len().saturating_sub(5);
    if more > 0 {
        format!("{}; and {more} more", shown.join("; "))
    } else {
        shown.join("; ")
    }
}

/// Problems with identifiers given outside a ticket (step payloads, configuration).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("invalid identifier ({code}): {message}")]
    InvalidIdentifier { code: &'static str, message: String },
}

impl IdentifierError {
    pub fn name(&self) -> &'static str {
        "InvalidIdentifier"
    }
    pub fn is_retryable(&self) -> bool {
        false
    }
    pub fn code(&self) -> &'static str {
        match self {
            IdentifierError::InvalidIdentifier { code, .. } => code,
        }
    }
}

/// The pseudonym key is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PseudonymError {
    #[error("pseudonym key too short: {len} bytes, at least {min} required")]
    KeyTooShort { len: usize, min: usize },
    #[error("pseudonym key id must be 1 to 128 characters of A-Z a-z 0-9 . _ : / -")]
    InvalidKeyId,
}

impl PseudonymError {
    pub fn name(&self) -> &'static str {
        match self {
            PseudonymError::KeyTooShort { .. } => "PseudonymKeyTooShort",
            PseudonymError::InvalidKeyId => "PseudonymKeyIdInvalid",
        }
    }
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// The deployment's deadline or intake configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown time zone (expected an IANA name such as Europe/Dublin)")]
    UnknownTimeZone,
    #[error("unknown default phone region (expected an ISO 3166 alpha-2 code such as IE)")]
    UnknownRegion,
    #[error("invalid configuration: {0}")]
    Invalid(&'static str),
}

impl ConfigError {
    pub fn name(&self) -> &'static str {
        "InvalidConfiguration"
    }
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// The legal-hold register document cannot be used. The pipeline must not guess:
/// an unreadable register stops the erasure (a missed hold is spoliation).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HoldError {
    #[error("invalid legal-hold register: {}", summarise(.0))]
    InvalidHoldRegister(Vec<FieldError>),
    /// A hold names subjects by pseudonym made with another key than the current one,
    /// or does not say which key (`stated` None): its refs would match nobody.
    #[error(
        "legal hold {hold_id} names subjects by pseudonym made with key {}, but the current pseudonym key is {current}: recompute its subjectRefs with the current key and set keyId (on the hold or the register) to {current}",
        .stated.as_deref().unwrap_or("(not stated)")
    )]
    HoldRegisterKeyMismatch {
        hold_id: String,
        stated: Option<String>,
        current: String,
    },
}

impl HoldError {
    pub fn name(&self) -> &'static str {
        match self {
            HoldError::InvalidHoldRegister(_) => "InvalidHoldRegister",
            HoldError::HoldRegisterKeyMismatch { .. } => "HoldRegisterKeyMismatch",
        }
    }
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// A compliance record could not be built from the facts given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordError {
    #[error("invalid compliance record input: {}", summarise(.0))]
    InvalidRecordInput(Vec<FieldError>),
}

impl RecordError {
    pub fn name(&self) -> &'static str {
        match self {
            RecordError::InvalidRecordInput(_) => "InvalidRecordInput",
        }
    }
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// Every error name this crate can produce, for tests that check the state machine
/// definition only matches names that exist.
pub const ERROR_NAMES: &[&str] = &[
    "InvalidTicket",
    "InvalidIdentifier",
    "PseudonymKeyTooShort",
    "PseudonymKeyIdInvalid",
    "InvalidConfiguration",
    "InvalidHoldRegister",
    "HoldRegisterKeyMismatch",
    "InvalidRecordInput",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_name_is_listed_once_and_none_is_retryable() {
        let mismatch = HoldError::HoldRegisterKeyMismatch {
            hold_id: "LH-1".into(),
            stated: None,
            current: "key-sha256-0000000000000000".into(),
        };
        let names = [
            (
                IdentifierError::InvalidIdentifier {
                    code: "x",
                    message: String::new(),
                }
                .name(),
                false,
            ),
            (
                PseudonymError::KeyTooShort { len: 1, min: 32 }.name(),
                false,
            ),
            (PseudonymError::InvalidKeyId.name(), false),
            (ConfigError::UnknownTimeZone.name(), false),
            (HoldError::InvalidHoldRegister(vec![]).name(), false),
            (mismatch.name(), false),
            (RecordError::InvalidRecordInput(vec![]).name(), false),
        ];
        for (name, _) in names {
            assert!(ERROR_NAMES.contains(&name), "{name} not in ERROR_NAMES");
        }
        let mut sorted = ERROR_NAMES.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ERROR_NAMES.len());
        assert!(!mismatch.is_retryable());
    }
}
