//! Scripted fault injection.
//!
//! A fault names the requests it applies to (method, a path pattern where `*` matches
//! anything, and optionally the `requestType` of a GDPR request body) and fires for
//! the next `times` such requests or with a `probability` drawn from the emulator's
//! seeded generator, so a seeded run fails the same way every time.

use serde::{Deserialize, Serialize};

/// What an injected fault does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum FaultAction {
    /// 429 `too.many.requests.retry.after` with this `Retry-After`.
    RateLimited { retry_after_seconds: u64 },
    /// A 5xx ErrorBody with this status.
    ServerError { status: u16 },
    /// Answer normally, but late. `emulatedDelayMs` passes on the emulator's clock (a
    /// virtual clock jumps ahead, so tokens can expire and jobs progress meanwhile);
    /// `realDelayMs` is wall-clock time, for exercising a client's timeouts.
    Slow {
        #[serde(default)]
        emulated_delay_ms: u64,
        #[serde(default)]
        real_delay_ms: u64,
    },
    /// Close the connection without answering; nothing is processed.
    DropConnection,
    /// Process the request (its effects happen), then close the connection without
    /// answering: the client cannot tell whether it worked.
    ProcessThenDrop,
    /// On `POST /api/v2/gdpr/requests`: accept the request, but the job ends in ERROR
    /// after deleting only `fraction` of the matched conversations (rounded down; at
    /// least one and not all when two or more match).
    GdprPartialError {
        #[serde(default = "half")]
        fraction: f64,
    },
}

fn half() -> f64 {
    0.5
}

impl FaultAction {
    /// A short stable name, used in the request log.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rateLimited",
            Self::ServerError { .. } => "serverError",
            Self::Slow { .. } => "slow",
            Self::DropConnection => "dropConnection",
            Self::ProcessThenDrop => "processThenDrop",
            Self::GdprPartialError { .. } => "gdprPartialError",
        }
    }
}

/// A fault rule: which requests, how often, what happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fault {
    /// HTTP method; any method when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Path pattern (no query string); `*` matches any run of characters.
    pub path: String,
    /// Only GDPR request bodies with this `requestType` (GDPR_EXPORT, GDPR_DELETE, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_type: Option<String>,
    /// Fire for the next `times` matching requests (1 when neither this nor
    /// `probability` is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Fire for each matching request with this probability (seeded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    pub action: FaultAction,
}

impl Fault {
    /// A fault on `method` + `path` (pattern) that fires once.
    pub fn new(method: &str, path: &str, action: FaultAction) -> Self {
        Self {
            method: Some(method.to_ascii_uppercase()),
            path: path.into(),
            request_type: None,
            times: Some(1),
            probability: None,
            action,
        }
    }

    /// Fires for the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self.probability = None;
        self
    }

    /// Fires with probability `p` for every matching request.
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self.times = None;
        self
    }

    /// Only for GDPR request bodies of this type.
    pub fn request_type(mut self, t: &str) -> Self {
        self.request_type = Some(t.into());
        self
    }

    /// Checks the rule, naming the first problem.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.path.starts_with('/') || self.path.starts_with('*')) {
            return Err("path must start with '/' or '*' (a pattern; '*' matches anything)".into());
        }
        if self.times.is_some() && self.probability.is_some() {
            return Err("give either times or probability, not both".into());
        }
        if self.times == Some(0) {
            return Err("times must be at least 1".into());
        }
        if let Some(p) = self.probability
            && !(p > 0.0 && p <= 1.0)
        {
            return Err("probability must be within (0, 1]".into());
        }
        if let Some(m) = &self.method
            && (m.is_empty() || !m.chars().all(|c| c.is_ascii_alphabetic()))
        {
            return Err("method must be an HTTP method such as GET or POST".into());
        }
        if let Some(t) = &self.request_type
            && !matches!(t.as_str(), "GDPR_EXPORT" | "GDPR_UPDATE" | "GDPR_DELETE")
        {
            return Err("requestType must be GDPR_EXPORT, GDPR_UPDATE or GDPR_DELETE".into());
        }
        match &self.action {
            FaultAction::ServerError { status } if !(500..=599).contains(status) => {
                Err("serverError status must be within 500..=599".into())
            }
            FaultAction::RateLimited {
                retry_after_seconds,
            } if *retry_after_seconds > 86_400 => {
                Err("retryAfterSeconds must be at most 86400".into())
            }
            FaultAction::Slow {
                emulated_delay_ms,
                real_delay_ms,
            } if *emulated_delay_ms > 86_400_000 || *real_delay_ms > 600_000 => {
                Err("slow delays must be at most a day emulated and ten minutes real".into())
            }
            FaultAction::GdprPartialError { fraction } => {
                if !(0.0..1.0).contains(fraction) {
                    Err("gdprPartialError fraction must be within [0, 1)".into())
                } else if !glob_matches(&self.path, "/api/v2/gdpr/requests")
                    || self
                        .method
                        .as_deref()
                        .is_some_and(|m| !m.eq_ignore_ascii_case("POST"))
                {
                    Err("gdprPartialError only applies to POST /api/v2/gdpr/requests".into())
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Whether this rule concerns the request.
    pub fn matches(&self, method: &str, path: &str, request_type: Option<&str>) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && glob_matches(&self.path, path)
            && self
                .request_type
                .as_deref()
                .is_none_or(|t| Some(t) == request_type)
    }
}

/// A rule as held by the emulator, with its id and what is left of it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultEntry {
    pub id: u64,
    #[serde(flatten)]
    pub fault: Fault,
    /// How many more times a `times` rule fires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u32>,
    /// How many times it fired so far.
    pub fired: u32,
}

/// `*` matches any run of characters (including `/`); everything else literally.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_star_matches_any_run() {
        assert!(glob_matches(
            "/api/v2/gdpr/requests",
            "/api/v2/gdpr/requests"
        ));
        assert!(!glob_matches(
            "/api/v2/gdpr/requests",
            "/api/v2/gdpr/requests/x"
        ));
        assert!(glob_matches(
            "/api/v2/gdpr/requests*",
            "/api/v2/gdpr/requests/x"
        ));
        assert!(glob_matches("/api/v2/users/*", "/api/v2/users/abc"));
        assert!(glob_matches("*", "/anything"));
        assert!(glob_matches(
            "/api/*/recordings/*",
            "/api/v2/conversations/c/recordings/r"
        ));
        assert!(!glob_matches("/api/v2/users/*", "/api/v2/users"));
    }

    #[test]
    fn partial_error_only_on_gdpr_posts() {
        let ok = Fault::new(
            "POST",
            "/api/v2/gdpr/requests",
            FaultAction::GdprPartialError { fraction: 0.5 },
        );
        assert!(ok.validate().is_ok());
        let wrong = Fault::new(
            "GET",
            "/api/v2/users",
            FaultAction::GdprPartialError { fraction: 0.5 },
        );
        assert!(wrong.validate().is_err());
    }
}
