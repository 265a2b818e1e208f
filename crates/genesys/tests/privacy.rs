//! No personal data, token or secret in logs, errors or `Debug` output.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use genesys::{GdprSubject, NewGdprRequest, SearchType};
use serde_json::json;
use support::*;

/// Collects formatted log lines.
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

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

const EMAIL: &str = "jane.doe@example.com";
const PHONE: &str = "+353861234567";
const NAME: &str = "Jane Doe";

#[tokio::test]
async fn logs_carry_path_templates_statuses_and_correlation_ids_but_no_identifier_or_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("genesys=trace")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockGenesys::start().await;
    server.script(
        "GET",
        "/api/v2/gdpr/subjects",
        vec![
            Scripted::error(429, "too.many.requests", "ctx-429")
                .header("Retry-After", "1")
                .header("ININ-Correlation-Id", "corr-429"),
            Scripted::error(401, "authentication.required", "ctx-401"),
            Scripted::ok(json!({"entities": [{"name": NAME, "emailAddresses": [EMAIL]}]}))
                .header("ININ-Correlation-Id", "corr-ok"),
        ],
    );
    server.always(
        "POST",
        "/api/v2/gdpr/requests",
        Scripted::error(503, "service.unavailable", "ctx-503")
            .header("ININ-Correlation-Id", "corr-503"),
    );
    server.always(
        "GET",
        "/api/v2/users/user-secret-77",
        Scripted::error(404, "not.found", "ctx-404"),
    );
    let client = client(&server, virtual_clock());

    let subjects = client
        .search_gdpr_subjects(SearchType::Email, EMAIL)
        .await
        .unwrap();
    let subject = GdprSubject {
        name: Some(NAME.into()),
        phone_numbers: vec![PHONE.into()],
        email_addresses: vec![EMAIL.into()],
        ..GdprSubject::default()
    };
    let err = client
        .create_gdpr_request(&NewGdprRequest::delete(subject.clone()), true)
        .await
        .unwrap_err();
    let not_found = client
        .get_user("user-secret-77", genesys::UserLookupState::Active)
        .await
        .unwrap_err();

    let logs = captured.text();
    for expected in [
        "/api/v2/gdpr/subjects",
        "/api/v2/gdpr/requests",
        "/api/v2/users/{userId}",
        "corr-429",
        "corr-503",
        "status=503",
        "GenesysAmbiguous",
    ] {
        assert!(
            logs.contains(expected),
            "{expected} missing from logs:\n{logs}"
        );
    }
    let everything = format!(
        "{logs}\n{subjects:?}\n{subject:?}\n{err}\n{err:?}\n{not_found}\n{not_found:?}\n{client:?}"
    );
    for leak in [
        EMAIL,
        "jane.doe",
        "jane.doe%40example.com",
        "example.com",
        PHONE,
        "353861234567",
        "%2B353861234567",
        NAME,
        "Jane",
        "user-secret-77",
        "searchValue",
        "tok-1",
        "tok-2",
        "Bearer",
        CLIENT_SECRET,
    ] {
        assert!(!everything.contains(leak), "{leak} leaked:\n{everything}");
    }
}
