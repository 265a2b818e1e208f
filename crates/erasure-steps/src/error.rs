//! The one error type of every step, and the one list of error names the workflow
//! definition may match.
//!
//! A step's error crosses into Step Functions as the Lambda `errorType`, which is what
//! `Retry` and `Catch` match in `ErrorEquals`: the names are the interface. Messages
//! carry ids, counts, statuses and store codes; never an identifier of the subject.

use archive::ArchiveError;
use erasure_core::error::{HoldError, RecordError};
use genesys::GenesysError;

/// Everything a step can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// A Genesys call failed; the name is the client's (`GenesysTransient`, ...).
    #[error(transparent)]
    Genesys(#[from] GenesysError),
    /// The archive failed; the name is the archive's (`ArchiveUnavailable`, ...).
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// The legal-hold register is unusable (never read as empty: a missed hold is
    /// spoliation).
    #[error(transparent)]
    Hold(#[from] HoldError),
    /// The compliance record could not be built from the facts.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The step's payload does not match its contract (a definition or caller bug).
    #[error("invalid step input: {0}")]
    InvalidInput(String),
    /// The legal-hold register could not be read right now.
    #[error("legal-hold register unavailable: {0}")]
    HoldRegisterUnavailable(String),
    /// The export results Genesys produced cannot be read.
    #[error("GDPR export results unusable: {0}")]
    ExportResultsInvalid(String),
    /// The submission ledger could not be read or written right now.
    #[error("submission ledger unavailable: {0}")]
    LedgerUnavailable(String),
    /// Whether a GDPR request was already submitted cannot be told (an intent without
    /// a request id, and the newest requests do not settle it). Never retried: a
    /// person looks, rather than a second GDPR_DELETE.
    #[error("GDPR submission state unknown, escalated: {0}")]
    SubmissionUnknown(String),
    /// A hold concerning the subject's data in scope appeared after the review (in
    /// the register, or as deletion protection): nothing more is erased until the
    /// ticket is reviewed again. Hold ids and counts only.
    #[error("holds changed since the review: {0}")]
    HoldsChangedSinceReview(String),
    /// A downstream system could not be reached or answered 5xx / 429.
    #[error("downstream system {system} unavailable: {detail}")]
    DownstreamUnavailable { system: String, detail: String },
    /// A downstream system refused the instruction (4xx, or no acknowledgement).
    #[error("downstream system {system} did not accept the instruction: {detail}")]
    DownstreamRejected { system: String, detail: String },
    /// The review endpoint could not be reached or answered 5xx / 429.
    #[error("review endpoint unavailable: {0}")]
    ReviewerUnavailable(String),
    /// The review endpoint refused the summary (4xx).
    #[error("review endpoint refused the summary: {0}")]
    ReviewerRejected(String),
    /// The DSAR tool's callback could not be reached or answered 5xx / 429.
    #[error("ticket system unavailable: {0}")]
    TicketSystemUnavailable(String),
    /// The DSAR tool refused the outcome report (4xx).
    #[error("ticket system refused the report: {0}")]
    TicketSystemRejected(String),
    /// A secret could not be read right now.
    #[error("secret unavailable: {0}")]
    SecretUnavailable(String),
    /// A step's result would not fit the execution state (Step Functions keeps at
    /// most 256 KiB; beyond that the execution would fail without a record).
    #[error("{step}'s result is {bytes} bytes, more than the {limit} a workflow state can carry")]
    OutputTooLarge {
        step: &'static str,
        bytes: usize,
        limit: usize,
    },
    /// The deployment's configuration cannot work (a missing variable, a malformed
    /// secret, an unknown downstream system). A person must fix it.
    #[error("step misconfigured: {0}")]
    Misconfigured(String),
}

/// Names of the errors raised by the steps themselves (besides the Genesys client's
/// and the archive's).
pub const STEP_ERROR_NAMES: &[&str] = &[
    "InvalidStepInput",
    "HoldRegisterUnavailable",
    "ExportResultsInvalid",
    "SubmissionLedgerUnavailable",
    "GdprSubmissionUnknown",
    "HoldsChangedSinceReview",
    "DownstreamUnavailable",
    "DownstreamRejected",
    "ReviewerUnavailable",
    "ReviewerRejected",
    "TicketSystemUnavailable",
    "TicketSystemRejected",
    "SecretUnavailable",
    "StepMisconfigured",
    "StepOutputTooLarge",
    // From erasure-core through `StepError::Hold` / `StepError::Record`.
    "InvalidHoldRegister",
    "HoldRegisterKeyMismatch",
    "InvalidRecordInput",
];

/// Errors a `.waitForTaskToken` Task fails with through `SendTaskFailure`: raised by
/// the approval endpoint (and the local reviewer), not by a step.
pub const CALLBACK_ERROR_NAMES: &[&str] = &["ReviewRejected", "ReviewNotAnswered"];

/// Every error name the code can raise: the steps', the Genesys client's, the
/// archive's and the callbacks'. The definition's `ErrorEquals` may name these, and
/// AWS's own (`States.*`, `Lambda.*`, `Runtime.*`, `Sandbox.Timedout`); a test checks.
pub fn all_error_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = STEP_ERROR_NAMES.to_vec();
    names.extend_from_slice(GenesysError::NAMES);
    names.extend_from_slice(ArchiveError::NAMES);
    names.extend_from_slice(CALLBACK_ERROR_NAMES);
    names
}

/// The names that are worth retrying: every Task's first `Retry` names all of them
/// (a test checks).
pub fn retryable_error_names() -> Vec<&'static str> {
    let mut names = vec![
        "GenesysTransient",
        "GenesysRateLimited",
        // Retried because Locate and Erase look the request up by name first: an
        // ambiguous submission is never repeated blindly.
        "GenesysAmbiguous",
        "ArchiveUnavailable",
        "HoldRegisterUnavailable",
        "SubmissionLedgerUnavailable",
        "DownstreamUnavailable",
        "ReviewerUnavailable",
        "TicketSystemUnavailable",
        "SecretUnavailable",
    ];
    names.sort_unstable();
    names
}

impl StepError {
    /// The stable name `ErrorEquals` matches.
    pub fn name(&self) -> &'static str {
        match self {
            StepError::Genesys(e) => e.name(),
            StepError::Archive(e) => e.name(),
            StepError::Hold(e) => e.name(),
            StepError::Record(e) => e.name(),
            StepError::InvalidInput(_) => "InvalidStepInput",
            StepError::HoldRegisterUnavailable(_) => "HoldRegisterUnavailable",
            StepError::ExportResultsInvalid(_) => "ExportResultsInvalid",
            StepError::LedgerUnavailable(_) => "SubmissionLedgerUnavailable",
            StepError::SubmissionUnknown(_) => "GdprSubmissionUnknown",
            StepError::HoldsChangedSinceReview(_) => "HoldsChangedSinceReview",
            StepError::DownstreamUnavailable { .. } => "DownstreamUnavailable",
            StepError::DownstreamRejected { .. } => "DownstreamRejected",
            StepError::ReviewerUnavailable(_) => "ReviewerUnavailable",
            StepError::ReviewerRejected(_) => "ReviewerRejected",
            StepError::TicketSystemUnavailable(_) => "TicketSystemUnavailable",
            StepError::TicketSystemRejected(_) => "TicketSystemRejected",
            StepError::SecretUnavailable(_) => "SecretUnavailable",
            StepError::Misconfigured(_) => "StepMisconfigured",
            StepError::OutputTooLarge { .. } => "StepOutputTooLarge",
        }
    }

    /// Whether the definition retries it. `GenesysAmbiguous` is: the steps that submit
    /// GDPR requests look them up by name before submitting again.
    pub fn is_retryable(&self) -> bool {
        match self {
            StepError::Genesys(e) => e.is_retryable() || e.may_have_been_applied(),
            StepError::Archive(e) => e.is_retryable(),
            other => retryable_error_names().contains(&other.name()),
        }
    }

    pub(crate) fn input(what: impl std::fmt::Display) -> Self {
        StepError::InvalidInput(what.to_string())
    }

    pub(crate) fn misconfigured(what: impl Into<String>) -> Self {
        StepError::Misconfigured(what.into())
    }
}

/// A secret Secrets Manager could not give now is worth waiting for; one it refused,
/// or one that is not usable, is configuration to fix.
impl From<signing::SecretError> for StepError {
    fn from(e: signing::SecretError) -> Self {
        if e.is_transient() {
            StepError::SecretUnavailable(e.to_string())
        } else {
            StepError::Misconfigured(e.to_string())
        }
    }
}

/// What a Lambda function returns on failure: the error's name as `errorType`, so the
/// definition's `Retry` and `Catch` see it.
impl From<StepError> for lambda_runtime::Diagnostic {
    fn from(e: StepError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.name().to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// As a local-runner Task failure, shaped as a Lambda's failure reaches Step Functions.
impl From<StepError> for local_runner::TaskError {
    fn from(e: StepError) -> Self {
        local_runner::TaskError::lambda(e.name(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_listed_once_and_every_variant_is_listed() {
        let all = all_error_names();
        let mut sorted = all.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len(), "a name is listed twice");
        let variants = [
            StepError::InvalidInput(String::new()),
            StepError::HoldRegisterUnavailable(String::new()),
            StepError::ExportResultsInvalid(String::new()),
            StepError::LedgerUnavailable(String::new()),
            StepError::SubmissionUnknown(String::new()),
            StepError::HoldsChangedSinceReview(String::new()),
            StepError::DownstreamUnavailable {
                system: "x".into(),
                detail: String::new(),
            },
            StepError::DownstreamRejected {
                system: "x".into(),
                detail: String::new(),
            },
            StepError::ReviewerUnavailable(String::new()),
            StepError::ReviewerRejected(String::new()),
            StepError::TicketSystemUnavailable(String::new()),
            StepError::TicketSystemRejected(String::new()),
            StepError::SecretUnavailable(String::new()),
            StepError::Misconfigured(String::new()),
            StepError::OutputTooLarge {
                step: "review",
                bytes: 1,
                limit: 0,
            },
            StepError::Hold(HoldError::HoldRegisterKeyMismatch {
                hold_id: "LH-1".into(),
                stated: None,
                current: "key-sha256-0000000000000000".into(),
            }),
            StepError::Hold(HoldError::InvalidHoldRegister(vec![])),
            StepError::Record(RecordError::InvalidRecordInput(vec![])),
        ];
        for v in &variants {
            assert!(all.contains(&v.name()), "{} is not listed", v.name());
        }
        for name in retryable_error_names() {
            assert!(all.contains(&name), "{name} is retryable but not raised");
        }
        assert!(
            StepError::DownstreamUnavailable {
                system: "x".into(),
                detail: String::new()
            }
            .is_retryable()
        );
        assert!(
            !StepError::DownstreamRejected {
                system: "x".into(),
                detail: String::new()
            }
            .is_retryable()
        );
        assert!(!StepError::InvalidInput(String::new()).is_retryable());
    }

    #[test]
    fn a_lambda_failure_carries_the_stable_name() {
        let d: lambda_runtime::Diagnostic =
            StepError::HoldRegisterUnavailable("503 from S3".into()).into();
        assert_eq!(d.error_type, "HoldRegisterUnavailable");
        let t: local_runner::TaskError = StepError::misconfigured("no GENESYS_REGION").into();
        assert_eq!(t.error, "StepMisconfigured");
    }
}
