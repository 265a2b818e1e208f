//! Shared by the endpoint tests: signed requests, sample tickets, captured logs.
#![allow(dead_code)] // each test binary uses its own part of this module

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use endpoints::signature::{KeyRing, SIGNATURE_HEADER, SigningKey, TIMESTAMP_HEADER};
use lambda_http::{Body, Request};
use serde_json::{Value, json};

pub const WEBHOOK_KEY: &str = "webhook-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKL";
pub const APPROVAL_KEY: &str = "approval-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJK";
pub const PSEUDONYM_KEY: &str = "pseudonym-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ";

/// Every spelling of personal data the samples carry: none may reach a log or answer.
pub const PERSONAL_DATA: &[&str] = &[
    "jane.doe@example.com",
    "Jane Doe",
    "+353 86 123 4567",
    "+353861234567",
    "861234567",
    "dpo.anne@example.com",
];

pub fn keys(key: &str) -> KeyRing {
    KeyRing::from_secret_json(&json!({ "key": key }).to_string()).expect("test key")
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A valid ticket, its times relative to `now` so it stays valid whenever it runs.
pub fn ticket(id: &str, now: DateTime<Utc>) -> Value {
    json!({
        "ticket": {
            "id": id,
            "source": "onetrust",
            "receivedAt": rfc3339(now - Duration::days(3)),
            "identityVerifiedAt": rfc3339(now - Duration::days(2)),
            "verificationMethod": "account-login",
            "signOff": { "by": "dpo.anne@example.com", "role": "DPO", "at": rfc3339(now - Duration::days(1)) },
            "extension": null
        },
        "subject": {
            "name": "Jane Doe",
            "emails": ["jane.doe@example.com"],
            "phones": [ { "number": "+353 86 123 4567", "from": "2019-03-01", "until": null } ],
            "genesysUserId": null,
            "externalContactId": null
        },
        "options": { "eraseRecordings": true, "exportReview": "when-needed" }
    })
}

/// The archive as deployed (Object Lock on, prefix `gdpr/`) in moto's S3, the bucket
/// created on first use.
pub async fn locked_archive(moto: &testkit::MotoServer, bucket: &str) -> archive::S3Archive {
    let s3 = moto.s3_client();
    if s3.head_bucket().bucket(bucket).send().await.is_err() {
        s3.create_bucket()
            .bucket(bucket)
            .object_lock_enabled_for_bucket(true)
            .send()
            .await
            .expect("locked bucket");
    }
    archive::S3Archive::new(s3, archive::S3Settings::new(bucket, "gdpr/")).expect("archive")
}

/// A POST signed with `key` at `at`.
pub fn signed(key: &str, body: &[u8], at: DateTime<Utc>) -> Request {
    signed_to("/", key, body, at)
}

/// A POST to `path` of the function URL, signed with `key` at `at`.
pub fn signed_to(path: &str, key: &str, body: &[u8], at: DateTime<Utc>) -> Request {
    let signature = SigningKey::new(key.as_bytes())
        .expect("key")
        .sign(at.timestamp(), body);
    lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!("https://abc.lambda-url.us-east-1.on.aws{path}"))
        .header("content-type", "application/json")
        .header(TIMESTAMP_HEADER, at.timestamp().to_string())
        .header(SIGNATURE_HEADER, signature)
        .body(Body::Binary(body.to_vec()))
        .expect("request")
}

pub fn signed_json(key: &str, body: &Value, at: DateTime<Utc>) -> Request {
    signed(key, body.to_string().as_bytes(), at)
}

/// Captures everything logged on this thread while the guard lives (tests run on the
/// current-thread runtime, so the handlers log here).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(move || writer.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        (logs, guard)
    }

    /// Everything captured, the AWS SDK's trace included.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("logs")).into_owned()
    }

    /// Only what the endpoints themselves logged.
    pub fn own(&self) -> String {
        self.text()
            .lines()
            .filter(|l| l.contains(r#""target":"endpoints"#))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Panics if `text` holds any of the samples' personal data.
pub fn assert_no_personal_data(what: &str, text: &str) {
    for spelling in PERSONAL_DATA {
        assert!(
            !text.to_lowercase().contains(&spelling.to_lowercase()),
            "{what} contains personal data ({spelling}):\n{text}"
        );
    }
}

pub fn json_body(response: &lambda_http::Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).expect("JSON answer")
}
