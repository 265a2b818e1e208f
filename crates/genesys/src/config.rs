//! How a client is configured: where, who, how patient.

use std::sync::Arc;
use std::time::Duration;

use clock::{SharedClock, SystemClock};

use crate::Secret;
use crate::region::Environment;

/// OAuth client credentials (client-credentials grant). `Debug` shows the client id
/// and redacts the secret.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: Secret,
}

impl Credentials {
    /// Credentials of an OAuth client.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<Secret>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }
}

/// Retries of one call. Waits go through the configured clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Most times one call is sent, the first included (at least 1). A replay after
    /// renewing the token on a 401 does not count.
    pub max_attempts: u32,
    /// Back-off base for 5xx and connection faults: the n-th retry waits a random
    /// time in `[0, min(max_delay, base_delay * 2^(n-1))]` (full jitter).
    pub base_delay: Duration,
    /// Back-off cap.
    pub max_delay: Duration,
    /// Wait after a 429 without `Retry-After` (3 s, as the Genesys SDKs).
    pub default_retry_after: Duration,
    /// A 429 asking for a longer wait is returned as an error at once instead of
    /// slept (180 s, as the Go SDK).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            default_retry_after: Duration::from_secs(3),
            max_retry_after: Duration::from_secs(180),
        }
    }
}

impl RetryPolicy {
    /// Never retries (for callers that retry at a higher level).
    pub fn no_retries() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }
}

/// Network time-outs (real time: they bound sockets, not workflow time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection.
    pub connect: Duration,
    /// A whole request, from sending to the last byte of the response.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(60),
        }
    }
}

/// Everything a [`GenesysClient`](crate::GenesysClient) needs.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Region or base URL.
    pub environment: Environment,
    /// OAuth client credentials.
    pub credentials: Credentials,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Network time-outs.
    pub timeouts: Timeouts,
    /// Clock for back-off sleeps and token expiry.
    pub clock: SharedClock,
    /// Page size used by the calls that fetch every page.
    pub page_size: u32,
}

impl ClientConfig {
    /// Defaults: retry policy and time-outs as documented on their types, the system
    /// clock, pages of 100.
    pub fn new(environment: impl Into<Environment>, credentials: Credentials) -> Self {
        Self {
            environment: environment.into(),
            credentials,
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
            clock: Arc::new(SystemClock),
            page_size: 100,
        }
    }

    /// Uses `clock` for sleeps and token expiry.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `retry`.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Uses `timeouts`.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Uses pages of `page_size` when fetching every page.
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }
}
