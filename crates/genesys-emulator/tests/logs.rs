//! The emulator's own log names routes and statuses, never an identifier.
//!
//! The only test in this binary: tracing caches callsite interest per process, so a
//! parallel test without the capturing subscriber could hide log lines.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::start;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_route_templates_and_no_personal_data() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    // The test runtime is single-threaded, so the emulator's tasks log here too.
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = start().await;
    let token = h.token().await;
    let grace = h.persona("email-and-voice");
    let user = h.persona("former-agent").user_id.unwrap();
    h.get(
        &token,
        "/api/v2/gdpr/subjects?searchType=EMAIL&searchValue=grace.oconnor%40example.com",
    )
    .await;
    h.get(
        &token,
        "/api/v2/gdpr/subjects?searchType=NAME&searchValue=Grace%20O%27Connor",
    )
    .await;
    h.get(&token, &format!("/api/v2/users/{user}")).await;
    let r = h.submit(&token, "GDPR_DELETE", json!({"name": "Grace O'Connor", "phoneNumbers": ["+353 85 345 6789"], "emailAddresses": ["grace.oconnor@example.com"]})).await;
    h.run_to_end(&token, r.body["id"].as_str().unwrap(), 60)
        .await;
    h.get(&token, "/api/v2/nothing?email=grace.oconnor%40example.com")
        .await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("/api/v2/gdpr/requests/{requestId}"), "{log}");
    assert!(log.contains("/api/v2/users/{userId}"));
    for secret in [
        "grace",
        "Grace",
        "O'Connor",
        "oconnor",
        "353853456789",
        "353 85",
        "345 6789",
        "searchValue",
        user.as_str(),
        grace.external_contact_id.as_deref().unwrap(),
        &token,
    ] {
        assert!(!log.contains(secret), "log leaks {secret}: {log}");
    }
}
