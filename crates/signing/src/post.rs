//! Signed JSON POSTs out of the pipeline (downstream systems, the review endpoint,
//! the DSAR tool). The rules, in one place:
//!
//! - HTTPS only. Plain `http://` is accepted only to a loopback host (`127.0.0.1`,
//!   `::1`, `localhost`): the local receivers tests and local runs start, where
//!   nothing crosses a network. Anything else is refused when the configuration is
//!   read, not when the first ticket is sent.
//! - A redirect is never followed: the answer 3xx is the receiver's refusal. A
//!   followed redirect would carry a signed instruction to a host nobody configured.
//! - Every attempt has a timeout, and every message an `Idempotency-Key`, so a
//!   receiver can recognise the retry of a message it already acted on.

use std::fmt;
use std::time::Duration;

use crate::scheme::{IDEMPOTENCY_HEADER, KeyRing, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// Where signed POSTs may go: checked once, when the configuration is read.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint(url::Url);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("is not a URL")]
    NotUrl,
    #[error("must be an https:// URL (http:// only to 127.0.0.1, ::1 or localhost)")]
    NotHttps,
    #[error("must not carry a user name or password")]
    Credentials,
}

impl Endpoint {
    pub fn parse(raw: &str) -> Result<Self, EndpointError> {
        Self::new(raw.trim().parse().map_err(|_| EndpointError::NotUrl)?)
    }

    pub fn new(url: url::Url) -> Result<Self, EndpointError> {
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => return Err(EndpointError::NotUrl),
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => return Err(EndpointError::NotHttps),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(EndpointError::Credentials);
        }
        Ok(Endpoint(url))
    }

    pub fn url(&self) -> &url::Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Endpoint {
    // The origin only: a path or query can carry a token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({})", self.0.origin().ascii_serialization())
    }
}

impl std::str::FromStr for Endpoint {
    type Err = EndpointError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Endpoint::parse(s)
    }
}

/// How a signed POST ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostOutcome {
    /// 2xx, with the body.
    Accepted { status: u16, body: Vec<u8> },
    /// No answer, a time-out, 5xx, 408 or 429: worth trying again later.
    Unavailable(String),
    /// Any other answer (4xx, and 3xx: a redirect is never followed): the receiver
    /// refused it as it stands.
    Refused { status: u16 },
}

/// The HTTP client signed POSTs use: no redirects, a connect timeout; the caller
/// gives each attempt its own overall timeout.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("gdpr-erasure/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .build()
        // Only a broken TLS backend fails here; with no client no message could go.
        .expect("an HTTP client with the rustls backend")
}

/// One message to send.
#[derive(Debug, Clone, Copy)]
pub struct SignedPost<'a> {
    pub endpoint: &'a Endpoint,
    pub keys: &'a KeyRing,
    pub timestamp: i64,
    pub body: &'a [u8],
    /// Names this message (`<ticket>/<purpose>`); a retry sends the same one.
    pub idempotency_key: &'a str,
    pub timeout: Duration,
}

impl SignedPost<'_> {
    /// Sends it with `http` (built by [`http_client`]). Messages carry the status or
    /// the failure kind, never the URL's query or the body.
    pub async fn send(&self, http: &reqwest::Client) -> PostOutcome {
        let sent = http
            .post(self.endpoint.url().clone())
            .timeout(self.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, self.timestamp.to_string())
            .header(
                SIGNATURE_HEADER,
                self.keys.signature_header(self.timestamp, self.body),
            )
            .header(IDEMPOTENCY_HEADER, self.idempotency_key)
            .body(self.body.to_vec())
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return PostOutcome::Unavailable(format!(
                    "no answer within {} ms",
                    self.timeout.as_millis()
                ));
            }
            Err(e) if e.is_connect() => {
                return PostOutcome::Unavailable("could not connect".into());
            }
            Err(_) => return PostOutcome::Unavailable("the connection failed".into()),
        };
        let status = response.status().as_u16();
        match status {
            200..=299 => match response.bytes().await {
                Ok(body) => PostOutcome::Accepted {
                    status,
                    body: body.to_vec(),
                },
                Err(_) => {
                    PostOutcome::Unavailable(format!("HTTP {status}, but the answer broke off"))
                }
            },
            408 | 429 | 500..=599 => PostOutcome::Unavailable(format!("HTTP {status}")),
            _ => PostOutcome::Refused { status },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_is_an_endpoint() {
        for ok in [
            "https://crm.example.com/erase?token=x",
            "http://127.0.0.1:8080/crm",
            "http://localhost:9/x",
            "http://[::1]:9/x",
        ] {
            assert!(Endpoint::parse(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("http://crm.example.com/erase", EndpointError::NotHttps),
            ("http://10.0.0.1/erase", EndpointError::NotHttps),
            ("http://localhost.example.com/", EndpointError::NotHttps),
            ("ftp://crm.example.com/", EndpointError::NotHttps),
            ("crm.example.com/erase", EndpointError::NotUrl),
            (
                "https://user:pw@crm.example.com/",
                EndpointError::Credentials,
            ),
        ] {
            assert_eq!(Endpoint::parse(bad), Err(why), "{bad}");
        }
        let e = Endpoint::parse("https://crm.example.com/erase?token=s3cr3t").unwrap();
        assert_eq!(format!("{e:?}"), "Endpoint(https://crm.example.com)");
    }
}
