//! Signed JSON POSTs: how the pipeline talks to downstream systems, the review endpoint
//! and the DSAR tool.
//!
//! Signature: `X-Gdpr-Erasure-Signature: v1=<hex HMAC-SHA256(key, "<timestamp>.<body>")>`
//! with `X-Gdpr-Erasure-Timestamp: <unix seconds>`; the receiver recomputes it over
//! the raw body and refuses a stale timestamp (replay).

use std::fmt;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "x-gdpr-erasure-signature";
pub const TIMESTAMP_HEADER: &str = "x-gdpr-erasure-timestamp";
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// An HMAC key. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct HmacKey(Vec<u8>);

impl HmacKey {
    /// Refuses an empty key (it would sign with nothing).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Option<Self> {
        let bytes = bytes.into();
        (!bytes.is_empty()).then_some(HmacKey(bytes))
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC accepts keys of any length")
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacKey(<redacted>)")
    }
}

/// `v1=<hex>` over `"<timestamp>.<body>"`.
pub fn sign(key: &HmacKey, timestamp: i64, body: &[u8]) -> String {
    let mut mac = key.mac();
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a signature in constant time.
pub fn verify_signature(key: &HmacKey, timestamp: i64, body: &[u8], signature: &str) -> bool {
    let Some(hex_sig) = signature.trim().strip_prefix("v1=") else {
        return false;
    };
    let Ok(given) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = key.mac();
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// How a signed POST ended.
#[derive(Debug)]
pub enum PostOutcome {
    /// 2xx, with the body.
    Accepted { status: u16, body: Vec<u8> },
    /// No answer, a time-out, 5xx, 408 or 429: worth trying again later.
    Unavailable(String),
    /// Any other 4xx: the receiver refused it as it stands.
    Refused { status: u16 },
}

/// Sends `body` signed with `key`. Messages carry the status or the failure kind,
/// never the URL's query or the body.
pub async fn post_signed(
    http: &reqwest::Client,
    url: &url::Url,
    key: &HmacKey,
    timestamp: i64,
    body: &serde_json::Value,
    idempotency_key: &str,
    timeout: Duration,
) -> PostOutcome {
    let bytes = match serde_json::to_vec(body) {
        Ok(b) => b,
        Err(_) => return PostOutcome::Refused { status: 0 },
    };
    let sent = http
        .post(url.clone())
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, sign(key, timestamp, &bytes))
        .header(IDEMPOTENCY_HEADER, idempotency_key)
        .body(bytes)
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return PostOutcome::Unavailable(format!(
                "no answer within {} ms",
                timeout.as_millis()
            ));
        }
        Err(e) if e.is_connect() => return PostOutcome::Unavailable("could not connect".into()),
        Err(_) => return PostOutcome::Unavailable("the connection failed".into()),
    };
    let status = response.status().as_u16();
    match status {
        200..=299 => match response.bytes().await {
            Ok(body) => PostOutcome::Accepted {
                status,
                body: body.to_vec(),
            },
            Err(_) => PostOutcome::Unavailable(format!("HTTP {status}, but the answer broke off")),
        },
        408 | 429 | 500..=599 => PostOutcome::Unavailable(format!("HTTP {status}")),
        _ => PostOutcome::Refused { status },
    }
}

/// One shared HTTP client for signed POSTs.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("gdpr-erasure/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_timestamp_and_body_and_verify() {
        let key = HmacKey::new(b"crm-key".to_vec()).unwrap();
        let sig = sign(&key, 1_790_000_000, br#"{"a":1}"#);
        assert!(sig.starts_with("v1=") && sig.len() == 3 + 64);
        assert!(verify_signature(&key, 1_790_000_000, br#"{"a":1}"#, &sig));
        assert!(!verify_signature(&key, 1_790_000_001, br#"{"a":1}"#, &sig));
        assert!(!verify_signature(&key, 1_790_000_000, br#"{"a":2}"#, &sig));
        let other = HmacKey::new(b"other".to_vec()).unwrap();
        assert!(!verify_signature(
            &other,
            1_790_000_000,
            br#"{"a":1}"#,
            &sig
        ));
        assert!(HmacKey::new(Vec::new()).is_none());
        assert_eq!(format!("{key:?}"), "HmacKey(<redacted>)");
    }
}
