//! The client's one error type.
//!
//! Each variant has a stable name ([`GenesysError::name`]) that Step Functions
//! `ErrorEquals` can match, and says whether repeating the call later can help
//! ([`GenesysError::is_retryable`]). Messages carry the method, the path *template*,
//! the HTTP status, the Genesys `code`, `contextId` and correlation id; never an
//! identifier, a body, or a URL with its query string.

use std::fmt;
use std::time::Duration;

/// What is known about a failed call. Every field is safe to log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorDetail {
    /// HTTP method, e.g. `POST`.
    pub method: &'static str,
    /// Path template, e.g. `/api/v2/gdpr/requests/{requestId}`.
    pub path: &'static str,
    /// HTTP status of the last response, if one arrived.
    pub status: Option<u16>,
    /// Genesys error `code` (e.g. `too.many.requests`), from the body.
    pub code: Option<String>,
    /// Genesys `contextId`, from the body.
    pub context_id: Option<String>,
    /// `ININ-Correlation-Id` response header.
    pub correlation_id: Option<String>,
    /// `Retry-After` of the last 429, if any.
    pub retry_after: Option<Duration>,
    /// How many times the call was sent (or tried to be).
    pub attempts: u32,
}

impl fmt::Display for ErrorDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(status) = self.status {
            write!(f, ", status {status}")?;
        }
        if let Some(code) = &self.code {
            write!(f, ", code {code}")?;
        }
        if let Some(id) = &self.context_id {
            write!(f, ", contextId {id}")?;
        }
        if let Some(id) = &self.correlation_id {
            write!(f, ", correlationId {id}")?;
        }
        if let Some(wait) = self.retry_after {
            write!(f, ", retry after {} s", wait.as_secs())?;
        }
        write!(
            f,
            ", after {} attempt{}",
            self.attempts,
            if self.attempts == 1 { "" } else { "s" }
        )
    }
}

/// Why a call failed without a usable HTTP answer, or with a 5xx.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportFailure {
    /// The server answered with a 5xx status (or 408).
    ServerError,
    /// No connection could be made: nothing was sent.
    ConnectFailed,
    /// The connection failed or timed out after the request may have been sent.
    ConnectionLost,
    /// The request or response timed out.
    Timeout,
}

impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportFailure::ServerError => "server error",
            TransportFailure::ConnectFailed => "could not connect",
            TransportFailure::ConnectionLost => "connection lost",
            TransportFailure::Timeout => "timed out",
        })
    }
}

/// Every way a Genesys call can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenesysError {
    /// 429: rate limited, either after the retry budget ran out or because
    /// `Retry-After` asked for longer than the client may sleep. Worth retrying later.
    #[error("Genesys rate limit hit: {0}")]
    RateLimited(Box<ErrorDetail>),
    /// 5xx, time-out or connection fault on a call that is safe to repeat, after the
    /// retry budget ran out. Worth retrying later.
    #[error("Genesys call failed ({failure}): {detail}")]
    Transient {
        /// What went wrong.
        failure: TransportFailure,
        /// The call.
        detail: Box<ErrorDetail>,
    },
    /// A call that is not safe to repeat (submitting a GDPR request) failed in a way
    /// that leaves open whether Genesys applied it. Not retried: look the request up
    /// (by its name) before submitting again.
    #[error(
        "Genesys call may have been applied ({failure}); check before submitting again: {detail}"
    )]
    Ambiguous {
        /// What went wrong.
        failure: TransportFailure,
        /// The call.
        detail: Box<ErrorDetail>,
    },
    /// 401 that a fresh token did not cure, or the token endpoint refused the
    /// credentials.
    #[error("Genesys refused the credentials: {0}")]
    Unauthorized(Box<ErrorDetail>),
    /// 403: the OAuth client lacks a permission.
    #[error("Genesys refused the call for lack of permission: {0}")]
    Forbidden(Box<ErrorDetail>),
    /// 404.
    #[error("Genesys found no such resource: {0}")]
    NotFound(Box<ErrorDetail>),
    /// 409, or 400 `general.conflict` (a stale `version`): re-read, then retry.
    #[error("Genesys reported a conflict (re-read and retry): {0}")]
    Conflict(Box<ErrorDetail>),
    /// Any other 4xx: the request was refused as it stands.
    #[error("Genesys rejected the call: {0}")]
    Rejected(Box<ErrorDetail>),
    /// A success status with a body that does not match the contract.
    #[error("Genesys sent an unexpected response ({reason}): {detail}")]
    InvalidResponse {
        /// What did not match (never body content).
        reason: String,
        /// The call.
        detail: Box<ErrorDetail>,
    },
    /// Refused locally before any HTTP call: the request breaks a contract rule.
    #[error("invalid Genesys request: {reason}")]
    InvalidRequest {
        /// Which rule, which field.
        reason: String,
    },
    /// 404 from the downloads API: Genesys dropped the export's results (about a week
    /// after it completed). Not retryable: submit a new export.
    #[error("the GDPR export download has expired: {0}")]
    DownloadExpired(Box<ErrorDetail>),
    /// An export archive is malformed or hostile (a ZIP bomb, a name escaping its
    /// folder, too many entries). Not retryable: the same archive fails the same way.
    #[error("GDPR export archive refused: {0}")]
    ExportArchiveInvalid(crate::export_archive::ArchiveProblem),
    /// The client configuration cannot work (bad base URL, empty credentials, ...).
    #[error("invalid Genesys client configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
}

impl GenesysError {
    /// Every name [`GenesysError::name`] can return.
    pub const NAMES: &'static [&'static str] = &[
        "GenesysRateLimited",
        "GenesysTransient",
        "GenesysAmbiguous",
        "GenesysUnauthorized",
        "GenesysForbidden",
        "GenesysNotFound",
        "GenesysConflict",
        "GenesysRejected",
        "GenesysInvalidResponse",
        "GenesysInvalidRequest",
        "GenesysDownloadExpired",
        "GenesysExportArchiveInvalid",
        "GenesysConfig",
    ];

    /// Stable name for Step Functions `ErrorEquals`.
    pub fn name(&self) -> &'static str {
        match self {
            GenesysError::RateLimited(_) => "GenesysRateLimited",
            GenesysError::Transient { .. } => "GenesysTransient",
            GenesysError::Ambiguous { .. } => "GenesysAmbiguous",
            GenesysError::Unauthorized(_) => "GenesysUnauthorized",
            GenesysError::Forbidden(_) => "GenesysForbidden",
            GenesysError::NotFound(_) => "GenesysNotFound",
            GenesysError::Conflict(_) => "GenesysConflict",
            GenesysError::Rejected(_) => "GenesysRejected",
            GenesysError::InvalidResponse { .. } => "GenesysInvalidResponse",
            GenesysError::InvalidRequest { .. } => "GenesysInvalidRequest",
            GenesysError::DownloadExpired(_) => "GenesysDownloadExpired",
            GenesysError::ExportArchiveInvalid(_) => "GenesysExportArchiveInvalid",
            GenesysError::Config { .. } => "GenesysConfig",
        }
    }

    /// Whether repeating the same call later can succeed. `Ambiguous` is not: the
    /// caller must first find out whether the first submission was applied.
    /// `Conflict` is not either: the same call carries the same stale version.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            GenesysError::RateLimited(_) | GenesysError::Transient { .. }
        )
    }

    /// True when the call may have been applied although it reported failure.
    pub fn may_have_been_applied(&self) -> bool {
        matches!(self, GenesysError::Ambiguous { .. })
    }

    /// What is known about the failed call (none for local refusals).
    pub fn detail(&self) -> Option<&ErrorDetail> {
        match self {
            GenesysError::RateLimited(d)
            | GenesysError::Unauthorized(d)
            | GenesysError::Forbidden(d)
            | GenesysError::NotFound(d)
            | GenesysError::Conflict(d)
            | GenesysError::Rejected(d)
            | GenesysError::DownloadExpired(d) => Some(d.as_ref()),
            GenesysError::Transient { detail, .. }
            | GenesysError::Ambiguous { detail, .. }
            | GenesysError::InvalidResponse { detail, .. } => Some(detail.as_ref()),
            GenesysError::InvalidRequest { .. }
            | GenesysError::ExportArchiveInvalid(_)
            | GenesysError::Config { .. } => None,
        }
    }

    /// HTTP status of the last response.
    pub fn status(&self) -> Option<u16> {
        self.detail().and_then(|d| d.status)
    }

    /// Genesys error `code`.
    pub fn code(&self) -> Option<&str> {
        self.detail().and_then(|d| d.code.as_deref())
    }

    /// Genesys `contextId`.
    pub fn context_id(&self) -> Option<&str> {
        self.detail().and_then(|d| d.context_id.as_deref())
    }

    /// `ININ-Correlation-Id` of the last response.
    pub fn correlation_id(&self) -> Option<&str> {
        self.detail().and_then(|d| d.correlation_id.as_deref())
    }

    /// `Retry-After` of the last 429.
    pub fn retry_after(&self) -> Option<Duration> {
        self.detail().and_then(|d| d.retry_after)
    }

    pub(crate) fn invalid_request(reason: impl Into<String>) -> Self {
        GenesysError::InvalidRequest {
            reason: reason.into(),
        }
    }

    pub(crate) fn config(reason: impl Into<String>) -> Self {
        GenesysError::Config {
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail() -> Box<ErrorDetail> {
        Box::new(ErrorDetail {
            method: "GET",
            path: "/api/v2/gdpr/requests/{requestId}",
            status: Some(503),
            code: Some("internal.error".into()),
            context_id: Some("ctx-1".into()),
            correlation_id: Some("corr-1".into()),
            retry_after: None,
            attempts: 3,
        })
    }

    #[test]
    fn every_variant_name_is_listed_and_only_rate_limit_and_transient_are_retryable() {
        let d = detail();
        let all = [
            GenesysError::RateLimited(d.clone()),
            GenesysError::Transient {
                failure: TransportFailure::ServerError,
                detail: d.clone(),
            },
            GenesysError::Ambiguous {
                failure: TransportFailure::ServerError,
                detail: d.clone(),
            },
            GenesysError::Unauthorized(d.clone()),
            GenesysError::Forbidden(d.clone()),
            GenesysError::NotFound(d.clone()),
            GenesysError::Conflict(d.clone()),
            GenesysError::Rejected(d.clone()),
            GenesysError::InvalidResponse {
                reason: "x".into(),
                detail: d,
            },
            GenesysError::invalid_request("x"),
            GenesysError::DownloadExpired(detail()),
            GenesysError::ExportArchiveInvalid(crate::export_archive::ArchiveProblem::Malformed(
                "x".into(),
            )),
            GenesysError::config("x"),
        ];
        let names: Vec<_> = all.iter().map(GenesysError::name).collect();
        assert_eq!(names, GenesysError::NAMES);
        let retryable: Vec<_> = all
            .iter()
            .filter(|e| e.is_retryable())
            .map(GenesysError::name)
            .collect();
        assert_eq!(retryable, ["GenesysRateLimited", "GenesysTransient"]);
    }

    #[test]
    fn message_carries_status_code_context_and_correlation_id() {
        let e = GenesysError::Transient {
            failure: TransportFailure::ServerError,
            detail: detail(),
        };
        let msg = e.to_string();
        for part in [
            "GET /api/v2/gdpr/requests/{requestId}",
            "503",
            "internal.error",
            "ctx-1",
            "corr-1",
            "3 attempts",
        ] {
            assert!(msg.contains(part), "{msg} lacks {part}");
        }
    }
}
