//! The archive's one error type.
//!
//! Each variant's name is part of the interface: the workflow definition matches it in
//! `ErrorEquals`, so names never change once released. Messages carry keys, ticket ids,
//! digests and store error codes only: never record contents, never personal data.

use thiserror::Error;

/// Everything that can go wrong writing to or reading from an archive.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ArchiveError {
    /// The store could not be reached or answered with a transient failure (network,
    /// throttling, 5xx, a concurrent conditional write). Retrying is safe: writes are
    /// idempotent.
    #[error("archive unavailable ({operation}): {detail}")]
    ArchiveUnavailable { operation: String, detail: String },

    /// A different document already sits at the record's key.
    #[error("archive conflict at {key}: {detail}")]
    ArchiveConflict { key: String, detail: String },

    /// The bucket has no Object Lock: a record written there proves nothing.
    #[error("archive not locked: {detail}")]
    ArchiveNotLocked { detail: String },

    /// The archive location or the access to it is wrong (no such bucket or directory,
    /// access denied, malformed location). A person must fix the configuration.
    #[error("archive misconfigured: {detail}")]
    ArchiveMisconfigured { detail: String },

    /// The store refused a request for a reason that retrying will not change.
    #[error("archive refused {operation}: {detail}")]
    ArchiveRefused { operation: String, detail: String },

    /// Something stored in the archive is not what the archive wrote (not a record,
    /// a chain that forks). Found while reading; `audit verify` names the details.
    #[error("archive corrupt at {key}: {detail}")]
    ArchiveCorrupt { key: String, detail: String },

    /// The record does not extend its ticket's chain: its sequence or previousDigest
    /// does not follow the current head.
    #[error("chain mismatch for ticket {ticket_id}: {detail}")]
    ChainMismatch { ticket_id: String, detail: String },

    /// The document is not a valid compliance record (schema, canonical form, fields).
    #[error("record invalid: {detail}")]
    RecordInvalid { detail: String },

    /// No record at that key.
    #[error("record not found: {key}")]
    RecordNotFound { key: String },
}

impl ArchiveError {
    /// Every name [`ArchiveError::name`] can return, for checks against the workflow
    /// definition's `ErrorEquals`.
    pub const NAMES: &'static [&'static str] = &[
        "ArchiveUnavailable",
        "ArchiveConflict",
        "ArchiveNotLocked",
        "ArchiveMisconfigured",
        "ArchiveRefused",
        "ArchiveCorrupt",
        "ChainMismatch",
        "RecordInvalid",
        "RecordNotFound",
    ];

    /// The stable name Step Functions matches.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ArchiveUnavailable { .. } => "ArchiveUnavailable",
            Self::ArchiveConflict { .. } => "ArchiveConflict",
            Self::ArchiveNotLocked { .. } => "ArchiveNotLocked",
            Self::ArchiveMisconfigured { .. } => "ArchiveMisconfigured",
            Self::ArchiveRefused { .. } => "ArchiveRefused",
            Self::ArchiveCorrupt { .. } => "ArchiveCorrupt",
            Self::ChainMismatch { .. } => "ChainMismatch",
            Self::RecordInvalid { .. } => "RecordInvalid",
            Self::RecordNotFound { .. } => "RecordNotFound",
        }
    }

    /// Whether the same call may succeed later. Only transient store failures are.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::ArchiveUnavailable { .. })
    }

    pub(crate) fn invalid(detail: impl Into<String>) -> Self {
        Self::RecordInvalid {
            detail: detail.into(),
        }
    }

    pub(crate) fn misconfigured(detail: impl Into<String>) -> Self {
        Self::ArchiveMisconfigured {
            detail: detail.into(),
        }
    }

    pub(crate) fn corrupt(key: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::ArchiveCorrupt {
            key: key.into(),
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_of_each() -> Vec<ArchiveError> {
        let s = || String::from("x");
        vec![
            ArchiveError::ArchiveUnavailable {
                operation: s(),
                detail: s(),
            },
            ArchiveError::ArchiveConflict {
                key: s(),
                detail: s(),
            },
            ArchiveError::ArchiveNotLocked { detail: s() },
            ArchiveError::ArchiveMisconfigured { detail: s() },
            ArchiveError::ArchiveRefused {
                operation: s(),
                detail: s(),
            },
            ArchiveError::ArchiveCorrupt {
                key: s(),
                detail: s(),
            },
            ArchiveError::ChainMismatch {
                ticket_id: s(),
                detail: s(),
            },
            ArchiveError::RecordInvalid { detail: s() },
            ArchiveError::RecordNotFound { key: s() },
        ]
    }

    #[test]
    fn names_list_matches_every_variant() {
        let names: Vec<_> = one_of_each().iter().map(ArchiveError::name).collect();
        assert_eq!(names, ArchiveError::NAMES);
    }

    #[test]
    fn only_unavailable_is_retryable() {
        let retryable: Vec<_> = one_of_each()
            .into_iter()
            .filter(ArchiveError::is_retryable)
            .map(|e| e.name())
            .collect();
        assert_eq!(retryable, ["ArchiveUnavailable"]);
    }
}
