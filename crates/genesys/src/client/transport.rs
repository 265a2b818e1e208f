//! Sending one call: authentication, retries, logging, error mapping.
//!
//! Retry rules:
//! - 429: wait `Retry-After` (or the default) on the clock; a longer wait than the
//!   policy allows is returned as `RateLimited` without sleeping. Safe for every call:
//!   a 429 was not processed.
//! - Connection refused / not established: nothing was sent; retried for every call.
//! - 5xx, 408, time-outs and connections lost after sending: retried with full-jitter
//!   back-off for idempotent calls; for a call that is not (submitting a GDPR
//!   request) the client gives up at once with `Ambiguous`.
//! - 401 with a bearer token: the token is renewed once and the call replayed once.

use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::{GenesysClient, RateLimitSnapshot};
use crate::error::{ErrorDetail, GenesysError, TransportFailure};

/// How a call authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Auth {
    /// `Authorization: Bearer <token>` from the token cache.
    Bearer,
    /// `Authorization: Basic base64(clientId:clientSecret)` (the token endpoint).
    Basic,
    /// Nothing (results hosted elsewhere).
    None,
}

/// What a call sends.
pub(crate) enum Body {
    Empty,
    Json(Vec<u8>),
    Form(&'static str),
}

/// One logical call.
pub(crate) struct Call {
    pub method: Method,
    /// Path template for logs and errors: never the real path or query.
    pub path: &'static str,
    pub url: Url,
    pub body: Body,
    /// Whether sending it twice is harmless.
    pub idempotent: bool,
    pub auth: Auth,
}

impl Call {
    pub fn new(method: Method, path: &'static str, url: Url) -> Self {
        let idempotent = method != Method::POST;
        Self {
            method,
            path,
            url,
            body: Body::Empty,
            idempotent,
            auth: Auth::Bearer,
        }
    }

    pub fn json<T: serde::Serialize + ?Sized>(mut self, body: &T) -> Result<Self, GenesysError> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            GenesysError::invalid_request(format!("the request body cannot be encoded: {e}"))
        })?;
        self.body = Body::Json(bytes);
        Ok(self)
    }

    /// Marks a POST that only reads (queries) as safe to repeat.
    pub fn read_only(mut self) -> Self {
        self.idempotent = true;
        self
    }

    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    fn detail(&self, attempts: u32) -> ErrorDetail {
        ErrorDetail {
            method: method_name(&self.method),
            path: self.path,
            attempts,
            ..ErrorDetail::default()
        }
    }
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        _ => "OTHER",
    }
}

/// A successful response.
pub(crate) struct Reply {
    pub body: Bytes,
    pub detail: ErrorDetail,
}

impl Reply {
    /// Decodes the body; a mismatch becomes `InvalidResponse` without body content
    /// (serde messages can quote the offending value).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, GenesysError> {
        serde_json::from_slice(&self.body).map_err(|e| GenesysError::InvalidResponse {
            reason: describe_json_error(&e),
            detail: Box::new(self.detail.clone()),
        })
    }
}

pub(crate) fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "the body could not be read",
        Category::Syntax => "the body is not valid JSON",
        Category::Data => "the body does not match the expected shape",
        Category::Eof => "the body ended early",
    };
    format!("{what} (line {}, column {})", e.line(), e.column())
}

/// The parts of an error body the client reads: `ErrorBody.code`/`contextId`, or the
/// token endpoint's `error`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorFields {
    code: Option<String>,
    context_id: Option<String>,
    error: Option<String>,
}

enum Outcome {
    Reply(Reply),
    /// Wait this long, then send again.
    Retry(Duration),
    /// Renew the token, then send again.
    RenewToken(u64),
    Fail(GenesysError),
}

impl GenesysClient {
    /// Sends `call` under the retry rules, returning the first 2xx response.
    pub(crate) async fn execute(&self, call: &Call) -> Result<Reply, GenesysError> {
        let policy = &self.inner.retry;
        let mut sends: u32 = 0;
        let mut budget_used: u32 = 0;
        let mut renewed = false;
        loop {
            sends += 1;
            budget_used += 1;
            let out_of_budget = budget_used >= policy.max_attempts;
            let outcome = self.send_once(call, sends, out_of_budget, renewed).await?;
            match outcome {
                Outcome::Reply(reply) => return Ok(reply),
                Outcome::Fail(error) => {
                    log_give_up(call, &error, sends);
                    return Err(error);
                }
                Outcome::Retry(wait) => {
                    self.inner.clock.sleep(wait).await;
                }
                Outcome::RenewToken(generation) => {
                    renewed = true;
                    // The replay after renewal is not a retry: it does not use the budget.
                    budget_used -= 1;
                    self.inner.tokens.invalidate(generation).await;
                }
            }
        }
    }

    async fn send_once(
        &self,
        call: &Call,
        sends: u32,
        out_of_budget: bool,
        renewed: bool,
    ) -> Result<Outcome, GenesysError> {
        let mut detail = call.detail(sends);
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone());
        let mut generation = None;
        match call.auth {
            Auth::Bearer => {
                let (token, g) = self.bearer_token().await?;
                generation = Some(g);
                request = request.bearer_auth(token.expose());
            }
            Auth::Basic => {
                let creds = &self.inner.credentials;
                request = request.basic_auth(&creds.client_id, Some(creds.client_secret.expose()));
            }
            Auth::None => {}
        }
        request = match &call.body {
            Body::Empty => request,
            Body::Json(bytes) => request
                .header(CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            Body::Form(form) => request
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(*form),
        };

        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return Ok(self.transport_failure(call, classify(&e), detail, out_of_budget)),
        };
        let status = response.status();
        detail.status = Some(status.as_u16());
        detail.correlation_id = header_str(response.headers(), "inin-correlation-id");
        self.record_rate_limit(response.headers());
        let retry_after = retry_after(response.headers());
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => {
                // The request was processed far enough to answer; losing the body is
                // not proof that nothing happened.
                let failure = if e.is_timeout() {
                    TransportFailure::Timeout
                } else {
                    TransportFailure::ConnectionLost
                };
                return Ok(self.transport_failure(call, failure, detail, out_of_budget));
            }
        };
        tracing::debug!(
            method = call.method.as_str(),
            path = call.path,
            status = status.as_u16(),
            attempt = sends,
            correlation_id = detail.correlation_id.as_deref(),
            "genesys response"
        );
        if status.is_success() {
            return Ok(Outcome::Reply(Reply { body, detail }));
        }

        if let Ok(fields) = serde_json::from_slice::<ErrorFields>(&body) {
            detail.code = fields.code.or(fields.error);
            detail.context_id = fields.context_id;
        }

        if status == StatusCode::UNAUTHORIZED
            && !renewed
            && let Some(g) = generation
        {
            tracing::info!(
                method = call.method.as_str(),
                path = call.path,
                attempt = sends,
                correlation_id = detail.correlation_id.as_deref(),
                "genesys token refused; renewing it and replaying the call once"
            );
            return Ok(Outcome::RenewToken(g));
        }

        if status == StatusCode::TOO_MANY_REQUESTS {
            let policy = &self.inner.retry;
            let wait = retry_after.unwrap_or(policy.default_retry_after);
            detail.retry_after = Some(wait);
            if wait > policy.max_retry_after || out_of_budget {
                return Ok(Outcome::Fail(GenesysError::RateLimited(Box::new(detail))));
            }
            self.log_retry(call, &detail, wait);
            return Ok(Outcome::Retry(wait));
        }

        if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            return Ok(self.transport_failure(
                call,
                TransportFailure::ServerError,
                detail,
                out_of_budget,
            ));
        }

        Ok(Outcome::Fail(client_error(status, detail)))
    }

    /// A fault without a usable answer (or a 5xx): retry, or give up with the right
    /// error for the call's idempotency.
    fn transport_failure(
        &self,
        call: &Call,
        failure: TransportFailure,
        detail: ErrorDetail,
        out_of_budget: bool,
    ) -> Outcome {
        let maybe_processed = failure != TransportFailure::ConnectFailed;
        if maybe_processed && !call.idempotent {
            return Outcome::Fail(GenesysError::Ambiguous {
                failure,
                detail: Box::new(detail),
            });
        }
        if out_of_budget {
            return Outcome::Fail(GenesysError::Transient {
                failure,
                detail: Box::new(detail),
            });
        }
        let wait = self.backoff(detail.attempts);
        self.log_retry(call, &detail, wait);
        Outcome::Retry(wait)
    }

    /// Full jitter: uniform in `[0, min(cap, base * 2^(n-1))]` for the n-th retry.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let policy = &self.inner.retry;
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        let ceiling = policy
            .base_delay
            .saturating_mul(factor)
            .min(policy.max_delay);
        let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=ceiling_ms))
    }

    fn log_retry(&self, call: &Call, detail: &ErrorDetail, wait: Duration) {
        tracing::warn!(
            method = call.method.as_str(),
            path = call.path,
            status = detail.status,
            attempt = detail.attempts,
            correlation_id = detail.correlation_id.as_deref(),
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "genesys call will be retried"
        );
    }

    fn record_rate_limit(&self, headers: &HeaderMap) {
        let number = |name| header_str(headers, name).and_then(|v| v.trim().parse::<u64>().ok());
        let count = number("inin-ratelimit-count");
        let allowed = number("inin-ratelimit-allowed");
        let reset_seconds = number("inin-ratelimit-reset");
        if count.is_none() && allowed.is_none() && reset_seconds.is_none() {
            return;
        }
        let snapshot = RateLimitSnapshot {
            count,
            allowed,
            reset_seconds,
            observed_at: self.inner.clock.now(),
        };
        *self
            .inner
            .rate_limit
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(snapshot);
    }
}

/// Outages and refusals of the credentials are warnings; answers such as 404 or a
/// version conflict are often expected by the caller, so they are info.
fn log_give_up(call: &Call, error: &GenesysError, sends: u32) {
    macro_rules! give_up {
        ($level:ident) => {
            tracing::$level!(
                method = call.method.as_str(),
                path = call.path,
                status = error.status(),
                attempt = sends,
                correlation_id = error.correlation_id(),
                error = error.name(),
                "genesys call failed"
            )
        };
    }
    match error {
        GenesysError::NotFound(_) | GenesysError::Conflict(_) | GenesysError::Rejected(_) => {
            give_up!(info)
        }
        _ => give_up!(warn),
    }
}

fn classify(e: &reqwest::Error) -> TransportFailure {
    if e.is_connect() {
        // hyper reports connect time-outs as connect errors too: nothing was sent.
        TransportFailure::ConnectFailed
    } else if e.is_timeout() {
        TransportFailure::Timeout
    } else {
        TransportFailure::ConnectionLost
    }
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `Retry-After` in integer seconds (the form Genesys sends); anything else is
/// treated as absent.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn client_error(status: StatusCode, detail: ErrorDetail) -> GenesysError {
    let detail = Box::new(detail);
    match status {
        StatusCode::UNAUTHORIZED => GenesysError::Unauthorized(detail),
        StatusCode::FORBIDDEN => GenesysError::Forbidden(detail),
        StatusCode::NOT_FOUND => GenesysError::NotFound(detail),
        StatusCode::CONFLICT => GenesysError::Conflict(detail),
        // A stale user version comes back as 400 general.conflict (contract 4).
        StatusCode::BAD_REQUEST if detail.code.as_deref() == Some("general.conflict") => {
            GenesysError::Conflict(detail)
        }
        _ => GenesysError::Rejected(detail),
    }
}
