//! The signature scheme every HTTP message into or out of the pipeline carries.
//!
//! ```text
//! X-Gdpr-Erasure-Timestamp: <unix seconds>
//! X-Gdpr-Erasure-Signature: v1=<hex HMAC-SHA256(key, "<timestamp>.<raw body>")>
//! Idempotency-Key: <ticket>/<purpose>
//! ```
//!
//! The key is the UTF-8 bytes of the secret's `key` string (so `openssl dgst -sha256
//! -hmac "$KEY"` computes the same), at least [`MIN_KEY_BYTES`] long. The signed
//! message binds the body to its time, and a receiver refuses a timestamp more than
//! [`DEFAULT_TOLERANCE`] from its own clock, so a captured request cannot be replayed
//! later. The signature header may carry several comma-separated `v1=` entries (a
//! sender rotating its key signs with both, see [`KeyRing::signature_header`]); one
//! match is enough, and a header of more than [`MAX_SIGNATURE_ENTRIES`] entries is
//! refused before any HMAC is computed (a header of thousands of entries would make
//! the receiver compute thousands). Comparison is constant-time (`Mac::verify_slice`).

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

pub const TIMESTAMP_HEADER: &str = "x-gdpr-erasure-timestamp";
pub const SIGNATURE_HEADER: &str = "x-gdpr-erasure-signature";
/// Names the message, so a receiver that sees it twice (a retry) acts once.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Entries (of any scheme) a signature header may carry: a rotation needs two.
pub const MAX_SIGNATURE_ENTRIES: usize = 4;
/// The version tag of the scheme above; another scheme would get another tag.
pub const SCHEME: &str = "v1";
/// How far a signed timestamp may be from the receiver's clock, either way.
pub const DEFAULT_TOLERANCE: Duration = Duration::minutes(5);
/// Keys shorter than this are refused: an HMAC key should be as long as the hash.
pub const MIN_KEY_BYTES: usize = 32;

/// One HMAC key. `Debug` never shows it.
#[derive(Clone)]
pub struct SigningKey {
    mac: Hmac<Sha256>,
}

impl SigningKey {
    pub fn new(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort {
                len: bytes.len(),
                min: MIN_KEY_BYTES,
            });
        }
        let mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(bytes).map_err(|_| KeyError::TooShort {
                len: bytes.len(),
                min: MIN_KEY_BYTES,
            })?;
        Ok(Self { mac })
    }

    fn mac_over(&self, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `X-Gdpr-Erasure-Signature` value for `body` sent at `timestamp`.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let tag = self
            .mac_over(&timestamp.to_string(), body)
            .finalize()
            .into_bytes();
        format!("{SCHEME}={}", hex::encode(tag))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// The keys of one channel: the current one and, while a rotation is under way, the
/// previous one. A receiver accepts either; a sender signs with both, so the receiver
/// can move to the new key before or after the sender does.
#[derive(Debug, Clone)]
pub struct KeyRing {
    current: SigningKey,
    previous: Option<SigningKey>,
}

impl KeyRing {
    pub fn new(current: SigningKey, previous: Option<SigningKey>) -> Self {
        Self { current, previous }
    }

    /// One key, no rotation under way.
    pub fn from_key(bytes: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        Ok(Self::new(SigningKey::new(bytes.as_ref())?, None))
    }

    /// The current key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.current
    }

    /// The `X-Gdpr-Erasure-Signature` value: one entry per key, current first.
    pub fn signature_header(&self, timestamp: i64, body: &[u8]) -> String {
        self.keys()
            .map(|k| k.sign(timestamp, body))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads a Secrets Manager value `{"key": "...", "previousKey": "..."?}`.
    pub fn from_secret_json(secret: &str) -> Result<Self, KeyError> {
        // serde_json's message could quote the secret: say only where it broke.
        let value: serde_json::Value =
            serde_json::from_str(secret).map_err(|e| KeyError::NotJson {
                line: e.line(),
                column: e.column(),
            })?;
        Self::from_secret_value(&value)
    }

    /// As [`from_secret_json`](Self::from_secret_json), from parsed JSON; a bare
    /// string is taken as `{"key": <string>}` (the per-system map of the downstream
    /// secret).
    pub fn from_secret_value(secret: &serde_json::Value) -> Result<Self, KeyError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct Secret {
            key: String,
            previous_key: Option<String>,
        }
        let parsed = match secret {
            serde_json::Value::String(key) => Secret {
                key: key.clone(),
                previous_key: None,
            },
            other => Secret::deserialize(other).map_err(|_| KeyError::NotKeyObject)?,
        };
        let current = SigningKey::new(parsed.key.as_bytes())?;
        let previous = parsed
            .previous_key
            .filter(|k| !k.is_empty())
            .map(|k| SigningKey::new(k.as_bytes()))
            .transpose()?;
        Ok(Self::new(current, previous))
    }

    fn keys(&self) -> impl Iterator<Item = &SigningKey> {
        std::iter::once(&self.current).chain(self.previous.iter())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("signing key too short: {len} bytes, at least {min} required")]
    TooShort { len: usize, min: usize },
    #[error(
        "the secret is not JSON of the form {{\"key\": \"...\"}} (line {line}, column {column})"
    )]
    NotJson { line: usize, column: usize },
    #[error(
        "the secret is not of the form {{\"key\": \"...\", \"previousKey\": \"...\"}} (previousKey optional)"
    )]
    NotKeyObject,
}

/// Why a message was refused. Messages name the header, never echo its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Gdpr-Erasure-Timestamp header is missing")]
    MissingTimestamp,
    #[error("the X-Gdpr-Erasure-Timestamp header is not a whole number of seconds since 1970")]
    InvalidTimestamp,
    #[error(
        "the X-Gdpr-Erasure-Timestamp is {skew_seconds} s from the receiver's clock; at most {tolerance_seconds} s either way is accepted"
    )]
    OutsideWindow {
        skew_seconds: i64,
        tolerance_seconds: i64,
    },
    #[error("the X-Gdpr-Erasure-Signature header is missing")]
    MissingSignature,
    #[error("the X-Gdpr-Erasure-Signature header is not of the form v1=<64 hex digits>")]
    MalformedSignature,
    #[error("the X-Gdpr-Erasure-Signature header has more than {max} entries")]
    TooManyEntries { max: usize },
    #[error("the signature does not match the body and timestamp under the shared key")]
    Mismatch,
}

impl SignatureError {
    /// Stable code for answers and logs.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::MissingTimestamp => "timestamp-missing",
            SignatureError::InvalidTimestamp => "timestamp-invalid",
            SignatureError::OutsideWindow { .. } => "timestamp-outside-window",
            SignatureError::MissingSignature => "signature-missing",
            SignatureError::MalformedSignature => "signature-malformed",
            SignatureError::TooManyEntries { .. } => "signature-too-many-entries",
            SignatureError::Mismatch => "signature-mismatch",
        }
    }
}

/// Checks a signed message: the timestamp is well formed, some `v1=` entry matches
/// under one of `keys`, and the timestamp is within `tolerance` of `now`.
///
/// The window is judged after the signature, so only a correctly signed (stale or
/// early) message learns that its time was the problem.
pub fn verify(
    keys: &KeyRing,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let timestamp = timestamp
        .map(str::trim)
        .ok_or(SignatureError::MissingTimestamp)?;
    let seconds = parse_timestamp(timestamp)?;
    let signature = signature.ok_or(SignatureError::MissingSignature)?;
    let tags = parse_signature_header(signature)?;
    let matched = tags.iter().any(|tag| {
        keys.keys()
            .any(|k| k.mac_over(timestamp, body).verify_slice(tag).is_ok())
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    let skew = seconds.saturating_sub(now.timestamp());
    if skew.saturating_abs() > tolerance.num_seconds() {
        return Err(SignatureError::OutsideWindow {
            skew_seconds: skew,
            tolerance_seconds: tolerance.num_seconds(),
        });
    }
    Ok(())
}

/// Decimal digits only (no sign, no fraction, at most 12 digits: year 33658).
fn parse_timestamp(raw: &str) -> Result<i64, SignatureError> {
    if raw.is_empty() || raw.len() > 12 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::InvalidTimestamp);
    }
    raw.parse().map_err(|_| SignatureError::InvalidTimestamp)
}

/// `v1=<hex>[,v1=<hex>...]`; entries of other schemes are skipped, so a sender can
/// add a future scheme beside v1.
fn parse_signature_header(raw: &str) -> Result<Vec<Vec<u8>>, SignatureError> {
    let entries: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .take(MAX_SIGNATURE_ENTRIES + 1)
        .collect();
    if entries.len() > MAX_SIGNATURE_ENTRIES {
        return Err(SignatureError::TooManyEntries {
            max: MAX_SIGNATURE_ENTRIES,
        });
    }
    let mut tags = Vec::new();
    for entry in entries {
        let Some((scheme, value)) = entry.split_once('=') else {
            return Err(SignatureError::MalformedSignature);
        };
        if scheme.trim() != SCHEME {
            continue;
        }
        let value = value.trim();
        if value.len() != 64 {
            return Err(SignatureError::MalformedSignature);
        }
        tags.push(hex::decode(value).map_err(|_| SignatureError::MalformedSignature)?);
    }
    if tags.is_empty() {
        return Err(SignatureError::MalformedSignature);
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01";

    fn keys() -> KeyRing {
        KeyRing::from_secret_json(&format!(r#"{{"key": "{KEY}"}}"#)).unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000, 0).unwrap()
    }

    fn check(ts: &str, sig: &str, body: &[u8]) -> Result<(), SignatureError> {
        verify(&keys(), Some(ts), Some(sig), body, now(), DEFAULT_TOLERANCE)
    }

    #[test]
    fn signature_matches_an_independent_openssl_computation() {
        // printf '1795000000.{"a":1}' | openssl dgst -sha256 -hmac "$KEY"
        let sig = keys().signing_key().sign(1_795_000_000, br#"{"a":1}"#);
        assert_eq!(
            sig,
            "v1=dcb1dffdf926af24405e2ca68b7e4a6ef54c8b21b9f9b9ec873e7ebfc16e0d7c"
        );
    }

    #[test]
    fn a_correctly_signed_message_within_the_window_is_accepted() {
        let body = br#"{"ticket":1}"#;
        let sig = keys().signing_key().sign(now().timestamp(), body);
        assert_eq!(check(&now().timestamp().to_string(), &sig, body), Ok(()));
    }

    #[test]
    fn a_wrong_key_is_refused() {
        let other = SigningKey::new(&[7u8; 32]).unwrap();
        let body = b"{}";
        let sig = other.sign(now().timestamp(), body);
        assert_eq!(
            check(&now().timestamp().to_string(), &sig, body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_tampered_body_is_refused() {
        let sig = keys()
            .signing_key()
            .sign(now().timestamp(), br#"{"attempt":1}"#);
        assert_eq!(
            check(&now().timestamp().to_string(), &sig, br#"{"attempt":2}"#),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_signature_moved_to_another_timestamp_is_refused() {
        let body = b"{}";
        let sig = keys().signing_key().sign(now().timestamp(), body);
        assert_eq!(
            check(&(now().timestamp() - 1).to_string(), &sig, body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_replay_window_is_five_minutes_either_way_inclusive() {
        let body = b"{}";
        for (offset, ok) in [(-300, true), (-301, false), (300, true), (301, false)] {
            let ts = now().timestamp() + offset;
            let sig = keys().signing_key().sign(ts, body);
            let result = check(&ts.to_string(), &sig, body);
            if ok {
                assert_eq!(result, Ok(()), "offset {offset}");
            } else {
                assert_eq!(
                    result,
                    Err(SignatureError::OutsideWindow {
                        skew_seconds: offset,
                        tolerance_seconds: 300
                    }),
                    "offset {offset}"
                );
            }
        }
    }

    #[test]
    fn malformed_headers_get_their_own_codes() {
        let body = b"{}";
        let ts = now().timestamp().to_string();
        let sig = keys().signing_key().sign(now().timestamp(), body);
        let k = keys();
        let v = |t: Option<&str>, s: Option<&str>| {
            verify(&k, t, s, body, now(), DEFAULT_TOLERANCE).map_err(|e| e.code())
        };
        assert_eq!(v(None, Some(&sig)), Err("timestamp-missing"));
        assert_eq!(v(Some("-5"), Some(&sig)), Err("timestamp-invalid"));
        assert_eq!(v(Some("1.5"), Some(&sig)), Err("timestamp-invalid"));
        assert_eq!(
            v(Some("2026-11-27T10:00:00Z"), Some(&sig)),
            Err("timestamp-invalid")
        );
        assert_eq!(v(Some(&ts), None), Err("signature-missing"));
        assert_eq!(v(Some(&ts), Some("sha256=abc")), Err("signature-malformed"));
        assert_eq!(v(Some(&ts), Some("v1=zz")), Err("signature-malformed"));
        assert_eq!(v(Some(&ts), Some(&sig[3..])), Err("signature-malformed"));
        assert_eq!(
            v(Some(&ts), Some(&format!("v1={}", "g".repeat(64)))),
            Err("signature-malformed")
        );
    }

    #[test]
    fn any_matching_entry_and_upper_case_hex_are_accepted() {
        let body = b"{}";
        let ts = now().timestamp();
        let good = keys().signing_key().sign(ts, body);
        let stale = SigningKey::new(&[9u8; 32]).unwrap().sign(ts, body);
        let header = format!(
            "{stale}, v0=ignored, {}",
            good.to_uppercase().replace("V1", "v1")
        );
        assert_eq!(check(&ts.to_string(), &header, body), Ok(()));
    }

    #[test]
    fn the_previous_key_is_accepted_during_a_rotation() {
        let old = "old-key-old-key-old-key-old-key-old-key-!";
        let k =
            KeyRing::from_secret_json(&format!(r#"{{"key": "{KEY}", "previousKey": "{old}"}}"#))
                .unwrap();
        let body = b"{}";
        let ts = now().timestamp();
        let sig = SigningKey::new(old.as_bytes()).unwrap().sign(ts, body);
        assert_eq!(
            verify(
                &k,
                Some(&ts.to_string()),
                Some(&sig),
                body,
                now(),
                DEFAULT_TOLERANCE
            ),
            Ok(())
        );
        // Without the previous key the same message is refused.
        assert_eq!(
            check(&ts.to_string(), &sig, body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn weak_or_malformed_secrets_are_refused_without_quoting_them() {
        assert_eq!(
            KeyRing::from_secret_json(r#"{"key": "short"}"#).unwrap_err(),
            KeyError::TooShort { len: 5, min: 32 }
        );
        let e = KeyRing::from_secret_json(r#"{"kee": "s3cr3t-value"}"#).unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        let e = KeyRing::from_secret_json("s3cr3t-value").unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }

    #[test]
    fn a_header_of_many_entries_is_refused_before_any_mac() {
        let body = b"{}";
        let ts = now().timestamp();
        let good = keys().signing_key().sign(ts, body);
        // Even with the right signature among them: the count alone refuses it.
        let header = std::iter::repeat_n("v0=x", MAX_SIGNATURE_ENTRIES)
            .chain([good.as_str()])
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            check(&ts.to_string(), &header, body),
            Err(SignatureError::TooManyEntries {
                max: MAX_SIGNATURE_ENTRIES
            })
        );
        let header = std::iter::repeat_n("v0=x", MAX_SIGNATURE_ENTRIES - 1)
            .chain([good.as_str()])
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(check(&ts.to_string(), &header, body), Ok(()));
    }

    #[test]
    fn a_rotating_sender_signs_with_both_keys_and_either_receiver_accepts() {
        let old = "old-key-old-key-old-key-old-key-old-key-!";
        let sender =
            KeyRing::from_secret_json(&format!(r#"{{"key": "{KEY}", "previousKey": "{old}"}}"#))
                .unwrap();
        let body = b"{}";
        let ts = now().timestamp();
        let header = sender.signature_header(ts, body);
        assert_eq!(header.matches("v1=").count(), 2);
        let old_receiver = KeyRing::new(SigningKey::new(old.as_bytes()).unwrap(), None);
        for receiver in [keys(), old_receiver] {
            assert_eq!(
                verify(
                    &receiver,
                    Some(&ts.to_string()),
                    Some(&header),
                    body,
                    now(),
                    DEFAULT_TOLERANCE
                ),
                Ok(())
            );
        }
    }

    #[test]
    fn a_one_byte_key_is_refused_and_a_bare_string_is_a_key() {
        assert_eq!(
            KeyRing::from_secret_value(&serde_json::json!("k")).unwrap_err(),
            KeyError::TooShort { len: 1, min: 32 }
        );
        assert!(KeyRing::from_secret_value(&serde_json::json!(KEY)).is_ok());
        assert_eq!(
            KeyRing::from_secret_value(&serde_json::json!({"key": KEY, "extra": 1})).unwrap_err(),
            KeyError::NotKeyObject
        );
    }

    #[test]
    fn keys_never_show_in_debug_output() {
        let shown = format!("{:?}", keys());
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains("redacted"));
    }
}
