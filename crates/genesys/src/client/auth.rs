//! OAuth client-credentials token: fetched on first use, cached, renewed before it
//! expires (read on the injected clock) and after a 401.
//!
//! One async mutex guards the cache and is held while a token is fetched, so
//! concurrent callers that need a token share one fetch (single-flight) and then
//! read the cached result.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use serde::Deserialize;

use super::GenesysClient;
use super::transport::{Auth, Body, Call};
use crate::Secret;
use crate::error::GenesysError;

/// Renew this long before `expires_in` runs out (as the Go SDK)...
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// ...or, for lifetimes under two minutes, at half the lifetime.
fn renewal_margin(lifetime: Duration) -> Duration {
    RENEW_BEFORE.min(lifetime / 2)
}

#[derive(Default)]
pub(crate) struct TokenCache {
    state: tokio::sync::Mutex<TokenState>,
}

#[derive(Default)]
struct TokenState {
    current: Option<CachedToken>,
    /// Bumped on every fetch, so a 401 only discards the token it was given with.
    generation: u64,
}

struct CachedToken {
    token: Secret,
    renew_at: DateTime<Utc>,
    generation: u64,
}

impl TokenCache {
    /// Drops the cached token if it is still the one of `generation`.
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if state
            .current
            .as_ref()
            .is_some_and(|t| t.generation == generation)
        {
            state.current = None;
        }
    }
}

/// Success body of the token endpoint. Not `Debug`: it holds the token.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

impl GenesysClient {
    /// A valid access token and its generation, fetching one if needed.
    pub(crate) async fn bearer_token(&self) -> Result<(Secret, u64), GenesysError> {
        let mut state = self.inner.tokens.state.lock().await;
        if let Some(t) = &state.current
            && self.inner.clock.now() < t.renew_at
        {
            return Ok((t.token.clone(), t.generation));
        }
        let (token, renew_at) = self.fetch_token().await?;
        state.generation += 1;
        let generation = state.generation;
        state.current = Some(CachedToken {
            token: token.clone(),
            renew_at,
            generation,
        });
        Ok((token, generation))
    }

    async fn fetch_token(&self) -> Result<(Secret, DateTime<Utc>), GenesysError> {
        let requested_at = self.inner.clock.now();
        let mut call =
            Call::new(Method::POST, "/oauth/token", self.inner.token_url.clone()).auth(Auth::Basic);
        call.body = Body::Form("grant_type=client_credentials");
        // Issuing a second token is harmless, so the token request retries like a read.
        call.idempotent = true;
        // Boxed: `execute` reaches this function again for bearer calls.
        let reply = match Box::pin(self.execute(&call)).await {
            Ok(reply) => reply,
            // The token endpoint answers bad credentials with 400 invalid_client or 401.
            Err(GenesysError::Rejected(detail)) if detail.status == Some(400) => {
                return Err(GenesysError::Unauthorized(detail));
            }
            Err(e) => return Err(e),
        };
        let body: TokenResponse = reply.json()?;
        let invalid = |reason: &str| GenesysError::InvalidResponse {
            reason: reason.to_owned(),
            detail: Box::new(reply.detail.clone()),
        };
        if body.access_token.is_empty() {
            return Err(invalid("the token response has an empty access_token"));
        }
        let lifetime = match body.expires_in {
            Some(0) | None => {
                return Err(invalid("the token response has no positive expires_in"));
            }
            Some(seconds) => Duration::from_secs(seconds),
        };
        let valid_for = lifetime - renewal_margin(lifetime);
        // An absurd expires_in saturates instead of overflowing the date.
        let renew_at = TimeDelta::from_std(valid_for)
            .ok()
            .and_then(|d| requested_at.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        tracing::debug!(
            expires_in = lifetime.as_secs(),
            renew_in = valid_for.as_secs(),
            "genesys token obtained"
        );
        Ok((Secret::new(body.access_token), renew_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_is_60_seconds_early_or_at_half_a_short_lifetime() {
        assert_eq!(
            renewal_margin(Duration::from_secs(86_400)),
            Duration::from_secs(60)
        );
        assert_eq!(
            renewal_margin(Duration::from_secs(300)),
            Duration::from_secs(60)
        );
        assert_eq!(
            renewal_margin(Duration::from_secs(120)),
            Duration::from_secs(60)
        );
        assert_eq!(
            renewal_margin(Duration::from_secs(60)),
            Duration::from_secs(30)
        );
        assert_eq!(
            renewal_margin(Duration::from_secs(1)),
            Duration::from_millis(500)
        );
    }
}
