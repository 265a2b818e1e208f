//! The client handle: construction, shared state, URL building.

// The token and the request path extend `GenesysClient` from their own files.
mod auth;
pub(crate) mod transport;

use std::fmt;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use clock::SharedClock;
use url::Url;

use crate::config::{ClientConfig, Credentials, RetryPolicy};
use crate::error::GenesysError;
use crate::region::check_base_url;
use auth::TokenCache;

/// The last `inin-ratelimit-*` headers seen, for pacing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitSnapshot {
    /// `inin-ratelimit-count`: requests counted in the current window.
    pub count: Option<u64>,
    /// `inin-ratelimit-allowed`: the window's allowance.
    pub allowed: Option<u64>,
    /// `inin-ratelimit-reset`: seconds until the window resets.
    pub reset_seconds: Option<u64>,
    /// When the response carrying them arrived (on the client's clock).
    pub observed_at: DateTime<Utc>,
}

impl RateLimitSnapshot {
    /// Requests left in the window, when both count and allowance are known.
    pub fn remaining(&self) -> Option<u64> {
        Some(self.allowed?.saturating_sub(self.count?))
    }
}

/// Typed async Genesys Cloud client.
///
/// Cheap to clone (one `Arc` inside); clones share the token, its renewal and the
/// rate-limit snapshot. `Send + Sync`.
#[derive(Clone)]
pub struct GenesysClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) api_base: Url,
    pub(crate) token_url: Url,
    pub(crate) credentials: Credentials,
    pub(crate) retry: RetryPolicy,
    pub(crate) clock: SharedClock,
    pub(crate) page_size: u32,
    pub(crate) tokens: TokenCache,
    pub(crate) rate_limit: Mutex<Option<RateLimitSnapshot>>,
}

impl fmt::Debug for GenesysClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenesysClient")
            .field("api_base", &self.inner.api_base.as_str())
            .field("token_url", &self.inner.token_url.as_str())
            .field("credentials", &self.inner.credentials)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

impl GenesysClient {
    /// Builds a client. Fails with [`GenesysError::Config`] on unusable settings; no
    /// call is made until the first request.
    pub fn new(config: ClientConfig) -> Result<Self, GenesysError> {
        let ClientConfig {
            environment,
            credentials,
            retry,
            timeouts,
            clock,
            page_size,
        } = config;
        if credentials.client_id.trim().is_empty() {
            return Err(GenesysError::config("the OAuth client id is empty"));
        }
        if credentials.client_id.contains(':') {
            // Basic auth joins id and secret with ':'; an id containing one cannot be sent.
            return Err(GenesysError::config("the OAuth client id contains ':'"));
        }
        if credentials.client_secret.is_empty() {
            return Err(GenesysError::config("the OAuth client secret is empty"));
        }
        if retry.max_attempts == 0 {
            return Err(GenesysError::config(
                "retry.max_attempts must be at least 1 (the first attempt)",
            ));
        }
        if page_size == 0 {
            return Err(GenesysError::config("page_size must be at least 1"));
        }
        let api_base = environment.api_base();
        let login_base = environment.login_base();
        for (which, url) in [("API", &api_base), ("login", &login_base)] {
            check_base_url(url)
                .map_err(|why| GenesysError::config(format!("the {which} base URL: {why}")))?;
        }
        let token_url = login_base
            .join("oauth/token")
            .map_err(|e| GenesysError::config(format!("the login base URL: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .user_agent(concat!("gdpr-erasure-genesys/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| GenesysError::config("the HTTP client could not be built"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                api_base,
                token_url,
                credentials,
                retry,
                clock,
                page_size,
                tokens: TokenCache::default(),
                rate_limit: Mutex::new(None),
            }),
        })
    }

    /// The last rate-limit headers seen, if any response carried them.
    pub fn rate_limit(&self) -> Option<RateLimitSnapshot> {
        self.inner
            .rate_limit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Base URL of `/api/v2/...`.
    pub fn api_base(&self) -> &Url {
        &self.inner.api_base
    }

    /// URL of the token endpoint.
    pub fn token_url(&self) -> &Url {
        &self.inner.token_url
    }

    /// `api_base` + `api/v2/` + each segment, percent-encoded (an id can never add a
    /// path segment or a query).
    pub(crate) fn api_url(&self, segments: &[&str]) -> Result<Url, GenesysError> {
        let mut url = self.inner.api_base.clone();
        url.path_segments_mut()
            .map_err(|_| GenesysError::config("the API base URL cannot take a path"))?
            .pop_if_empty()
            .extend(["api", "v2"])
            .extend(segments);
        Ok(url)
    }
}

/// Refuses an id that would change the request's path.
pub(crate) fn check_id(what: &str, id: &str) -> Result<(), GenesysError> {
    if id.trim().is_empty() {
        return Err(GenesysError::invalid_request(format!("{what} is empty")));
    }
    if id == "." || id == ".." {
        return Err(GenesysError::invalid_request(format!(
            "{what} is not a valid id"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientConfig;
    use crate::region::{Environment, Region};

    fn client(env: Environment) -> GenesysClient {
        GenesysClient::new(ClientConfig::new(env, Credentials::new("id", "secret"))).unwrap()
    }

    #[test]
    fn client_is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync::<GenesysClient>();
        let a = client(Region::EuWest1.into());
        let b = a.clone();
        assert!(Arc::ptr_eq(&a.inner, &b.inner));
    }

    #[test]
    fn region_client_uses_api_and_login_hosts() {
        let c = client(Region::EuWest1.into());
        assert_eq!(
            c.token_url().as_str(),
            "https://login.mypurecloud.ie/oauth/token"
        );
        assert_eq!(
            c.api_url(&["gdpr", "requests", "r1"]).unwrap().as_str(),
            "https://api.mypurecloud.ie/api/v2/gdpr/requests/r1"
        );
    }

    #[test]
    fn ids_are_encoded_and_cannot_escape_their_segment() {
        let c = client(Environment::BaseUrl("http://127.0.0.1:9/".parse().unwrap()));
        assert_eq!(c.token_url().as_str(), "http://127.0.0.1:9/oauth/token");
        let url = c.api_url(&["users", "a/b?state=x#y"]).unwrap();
        assert_eq!(url.path(), "/api/v2/users/a%2Fb%3Fstate=x%23y");
        assert_eq!(url.query(), None);
        assert!(check_id("user id", "..").is_err());
        assert!(check_id("user id", " ").is_err());
    }

    #[test]
    fn debug_shows_the_client_id_but_never_the_secret() {
        let c = GenesysClient::new(ClientConfig::new(
            Region::EuWest1,
            Credentials::new("client-abc", "very-secret-value"),
        ))
        .unwrap();
        let printed = format!("{c:?}");
        assert!(printed.contains("client-abc"));
        assert!(!printed.contains("very-secret-value"), "{printed}");
    }

    #[test]
    fn unusable_configuration_is_a_config_error() {
        let bad = [
            ClientConfig::new(Region::EuWest1, Credentials::new("", "s")),
            ClientConfig::new(Region::EuWest1, Credentials::new("a:b", "s")),
            ClientConfig::new(Region::EuWest1, Credentials::new("a", "")),
            ClientConfig::new(
                Environment::BaseUrl("ftp://x/".parse().unwrap()),
                Credentials::new("a", "s"),
            ),
            ClientConfig::new(Region::EuWest1, Credentials::new("a", "s")).with_retry(
                RetryPolicy {
                    max_attempts: 0,
                    ..RetryPolicy::default()
                },
            ),
        ];
        for config in bad {
            let err = GenesysClient::new(config).unwrap_err();
            assert_eq!(err.name(), "GenesysConfig", "{err}");
        }
    }
}
