//! OAuth client credentials: request shape, caching, renewal, 401 handling.

mod support;

use std::time::Duration;

use base64::Engine;
use genesys::Environment;
use support::*;

const REQUEST_PATH: &str = "/api/v2/gdpr/requests/r1";

fn request_json() -> serde_json::Value {
    serde_json::json!({"id": "r1", "requestType": "GDPR_EXPORT", "status": "SEARCHING", "subject": {}})
}

#[tokio::test]
async fn token_request_uses_basic_auth_and_the_form_body_of_the_contract() {
    let server = MockGenesys::start().await;
    server.always("GET", REQUEST_PATH, Scripted::ok(request_json()));
    let client = client(&server, virtual_clock());

    client.get_gdpr_request("r1").await.unwrap();

    let tokens = server.token_requests();
    assert_eq!(tokens.len(), 1);
    let token = &tokens[0];
    assert_eq!(token.method, "POST");
    assert_eq!(token.path, "/oauth/token");
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    assert_eq!(
        token.header("authorization"),
        Some(&*format!("Basic {expected}"))
    );
    assert_eq!(
        token.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(&token.body[..], b"grant_type=client_credentials");
    assert_eq!(token.query, None);
}

#[tokio::test]
async fn region_client_sends_the_token_request_to_the_login_host() {
    let client = genesys::GenesysClient::new(genesys::ClientConfig::new(
        genesys::Region::EuscDeEast1,
        genesys::Credentials::new("a", "b"),
    ))
    .unwrap();
    assert_eq!(
        client.token_url().as_str(),
        "https://login.edee1.eusc-pure.cloud/oauth/token"
    );
    assert_eq!(
        client.api_base().as_str(),
        "https://api.edee1.eusc-pure.cloud/"
    );
}

#[tokio::test]
async fn one_token_serves_many_calls_and_each_call_carries_it() {
    let server = MockGenesys::start().await;
    server.always("GET", REQUEST_PATH, Scripted::ok(request_json()));
    let client = client(&server, virtual_clock());

    for _ in 0..10 {
        client.get_gdpr_request("r1").await.unwrap();
    }

    assert_eq!(server.tokens_issued(), 1);
    let calls = server.api_requests(REQUEST_PATH);
    assert_eq!(calls.len(), 10);
    assert!(
        calls
            .iter()
            .all(|c| c.header("authorization") == Some("Bearer tok-1"))
    );
}

#[tokio::test]
async fn token_is_renewed_60_seconds_before_expires_in_runs_out_on_the_injected_clock() {
    let server = MockGenesys::start().await;
    server.set_token_lifetime(3600);
    server.always("GET", REQUEST_PATH, Scripted::ok(request_json()));
    let clock = virtual_clock();
    let client = client(&server, clock.clone());

    client.get_gdpr_request("r1").await.unwrap();
    clock.advance(Duration::from_secs(3600 - 61));
    client.get_gdpr_request("r1").await.unwrap();
    assert_eq!(server.tokens_issued(), 1, "still more than 60 s to go");

    clock.advance(Duration::from_secs(2));
    client.get_gdpr_request("r1").await.unwrap();
    assert_eq!(server.tokens_issued(), 2, "within 60 s of expiry");
    let last = server.api_requests(REQUEST_PATH).pop().unwrap();
    assert_eq!(last.header("authorization"), Some("Bearer tok-2"));
}

#[tokio::test]
async fn short_lived_token_is_renewed_at_half_its_lifetime() {
    let server = MockGenesys::start().await;
    server.set_token_lifetime(40);
    server.always("GET", REQUEST_PATH, Scripted::ok(request_json()));
    let clock = virtual_clock();
    let client = client(&server, clock.clone());

    client.get_gdpr_request("r1").await.unwrap();
    clock.advance(Duration::from_secs(19));
    client.get_gdpr_request("r1").await.unwrap();
    assert_eq!(server.tokens_issued(), 1);
    clock.advance(Duration::from_secs(1));
    client.get_gdpr_request("r1").await.unwrap();
    assert_eq!(server.tokens_issued(), 2);
}

#[tokio::test]
async fn a_401_renews_the_token_once_and_replays_the_call() {
    let server = MockGenesys::start().await;
    server.script(
        "GET",
        REQUEST_PATH,
        vec![
            Scripted::error(401, "authentication.required", "ctx-401"),
            Scripted::ok(request_json()),
        ],
    );
    let client = client(&server, virtual_clock());

    let request = client.get_gdpr_request("r1").await.unwrap();

    assert_eq!(request.id, "r1");
    assert_eq!(server.tokens_issued(), 2);
    let calls = server.api_requests(REQUEST_PATH);
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].header("authorization"), Some("Bearer tok-1"));
    assert_eq!(calls[1].header("authorization"), Some("Bearer tok-2"));
}

#[tokio::test]
async fn a_second_401_after_renewal_is_unauthorized_and_not_retried_further() {
    let server = MockGenesys::start().await;
    server.always(
        "GET",
        REQUEST_PATH,
        Scripted::error(401, "bad.credentials", "ctx-401")
            .header("ININ-Correlation-Id", "corr-401"),
    );
    let client = client(&server, virtual_clock());

    let err = client.get_gdpr_request("r1").await.unwrap_err();

    assert_eq!(err.name(), "GenesysUnauthorized");
    assert!(!err.is_retryable());
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.code(), Some("bad.credentials"));
    assert_eq!(err.correlation_id(), Some("corr-401"));
    assert_eq!(server.api_requests(REQUEST_PATH).len(), 2);
    assert_eq!(server.tokens_issued(), 2);
}

#[tokio::test]
async fn a_401_on_a_gdpr_submission_is_replayed_with_a_new_token() {
    // A 401 proves the request was not processed, so replaying a POST is safe.
    let server = MockGenesys::start().await;
    server.script(
        "POST",
        "/api/v2/gdpr/requests",
        vec![
            Scripted::error(401, "authentication.required", "c"),
            Scripted::ok(request_json()),
        ],
    );
    let client = client(&server, virtual_clock());
    let subject = genesys::GdprSubject {
        email_addresses: vec!["jane@example.com".into()],
        ..Default::default()
    };
    client
        .create_gdpr_request(&genesys::NewGdprRequest::export(subject), false)
        .await
        .unwrap();
    assert_eq!(server.api_requests("/api/v2/gdpr/requests").len(), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_token_fetch() {
    let server = MockGenesys::start().await;
    server.always("GET", REQUEST_PATH, Scripted::ok(request_json()));
    let gate = server.gate_tokens();
    let client = client(&server, virtual_clock());

    let calls: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get_gdpr_request("r1").await })
        })
        .collect();
    // The first token request is held at the server; give every caller the chance
    // to ask for a token of its own before releasing it.
    gate.entered.notified().await;
    for _ in 0..200 {
        tokio::task::yield_now().await;
    }
    gate.release.add_permits(100);
    for call in calls {
        call.await.unwrap().unwrap();
    }

    assert_eq!(server.tokens_issued(), 1);
    assert_eq!(server.api_requests(REQUEST_PATH).len(), 20);
}

#[tokio::test]
async fn rejected_credentials_are_unauthorized_and_the_message_holds_no_secret() {
    let server = MockGenesys::start().await;
    server.always(
        "POST",
        "/oauth/token",
        Scripted::json(
            400,
            serde_json::json!({"error": "invalid_client", "description": "client not found",
                "error_description": "client not found"}),
        ),
    );
    let client = client(&server, virtual_clock());

    let err = client.get_gdpr_request("r1").await.unwrap_err();

    assert_eq!(err.name(), "GenesysUnauthorized");
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some("invalid_client"));
    assert_eq!(server.token_requests().len(), 1, "not retried");
    assert!(server.api_requests(REQUEST_PATH).is_empty());
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(CLIENT_SECRET), "{shown}");
}

#[tokio::test]
async fn token_endpoint_outage_is_retried_like_any_safe_call() {
    let server = MockGenesys::start().await;
    server.script(
        "POST",
        "/oauth/token",
        vec![Scripted::error(503, "service.unavailable", "c")],
    );
    server.always("GET", REQUEST_PATH, Scripted::ok(request_json()));
    let client = client(&server, virtual_clock());

    client.get_gdpr_request("r1").await.unwrap();

    assert_eq!(server.token_requests().len(), 2);
    assert_eq!(server.tokens_issued(), 1);
}

#[tokio::test]
async fn token_response_without_expires_in_is_an_invalid_response() {
    let server = MockGenesys::start().await;
    server.always(
        "POST",
        "/oauth/token",
        Scripted::ok(serde_json::json!({"access_token": "x", "token_type": "bearer"})),
    );
    let client = client(&server, virtual_clock());
    let err = client.get_gdpr_request("r1").await.unwrap_err();
    assert_eq!(err.name(), "GenesysInvalidResponse");
}

#[tokio::test]
async fn separate_login_and_api_bases_are_honoured() {
    let login = MockGenesys::start().await;
    let api = MockGenesys::start().await;
    api.always("GET", REQUEST_PATH, Scripted::ok(request_json()));
    let env = Environment::Custom {
        api_base: api.base.clone(),
        login_base: login.base.clone(),
    };
    let client = genesys::GenesysClient::new(config(env, virtual_clock())).unwrap();

    client.get_gdpr_request("r1").await.unwrap();

    assert_eq!(login.tokens_issued(), 1);
    assert!(api.token_requests().is_empty());
    assert_eq!(api.api_requests(REQUEST_PATH).len(), 1);
}
