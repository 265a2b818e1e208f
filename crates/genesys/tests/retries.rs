//! Retry rules: 429 and Retry-After, 5xx back-off, connection faults, and the rule
//! that a GDPR request submission is never repeated after an ambiguous failure.

mod support;

use std::sync::Arc;
use std::time::Duration;

use genesys::{
    Environment, GdprSubject, GenesysClient, NewGdprRequest, RetryPolicy, SearchType,
    TransportFailure,
};
use support::*;

const REQUEST_PATH: &str = "/api/v2/gdpr/requests/r1";
const CREATE_PATH: &str = "/api/v2/gdpr/requests";

fn request_json() -> serde_json::Value {
    serde_json::json!({"id": "r1", "requestType": "GDPR_DELETE", "status": "INITIATED", "subject": {}})
}

fn delete_request() -> NewGdprRequest {
    NewGdprRequest::delete(GdprSubject {
        phone_numbers: vec!["+353861234567".into()],
        ..GdprSubject::default()
    })
    .with_name("DSAR-2026-0042")
}

#[tokio::test]
async fn rate_limited_call_waits_retry_after_on_the_clock_then_succeeds() {
    let server = MockGenesys::start().await;
    server.script(
        "GET",
        REQUEST_PATH,
        vec![
            Scripted::error(429, "too.many.requests.retry.after", "c").header("Retry-After", "7"),
            Scripted::ok(request_json()),
        ],
    );
    let clock = virtual_clock();
    let client = client(&server, clock.clone());

    client.get_gdpr_request("r1").await.unwrap();

    assert_eq!(elapsed(&clock), Duration::from_secs(7));
    assert_eq!(server.api_requests(REQUEST_PATH).len(), 2);
}

#[tokio::test]
async fn rate_limited_call_without_retry_after_waits_three_seconds() {
    let server = MockGenesys::start().await;
    server.script(
        "GET",
        REQUEST_PATH,
        vec![
            Scripted::error(429, "too.many.requests", "c"),
            Scripted::ok(request_json()),
        ],
    );
    let clock = virtual_clock();
    let client = client(&server, clock.clone());

    client.get_gdpr_request("r1").await.unwrap();

    assert_eq!(elapsed(&clock), Duration::from_secs(3));
}

#[tokio::test]
async fn retry_after_over_the_limit_is_returned_without_sleeping() {
    let server = MockGenesys::start().await;
    server.always(
        "GET",
        REQUEST_PATH,
        Scripted::error(429, "too.many.requests.retry.after", "ctx-429")
            .header("Retry-After", "600")
            .header("ININ-Correlation-Id", "corr-429"),
    );
    let clock = virtual_clock();
    let client = client(&server, clock.clone());

    let err = client.get_gdpr_request("r1").await.unwrap_err();

    assert_eq!(err.name(), "GenesysRateLimited");
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(600)));
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.context_id(), Some("ctx-429"));
    assert_eq!(err.correlation_id(), Some("corr-429"));
    assert_eq!(elapsed(&clock), Duration::ZERO);
    assert_eq!(server.api_requests(REQUEST_PATH).len(), 1);
}

#[tokio::test]
async fn retry_after_limit_is_configurable() {
    let server = MockGenesys::start().await;
    server.script(
        "GET",
        REQUEST_PATH,
        vec![
            Scripted::error(429, "too.many.requests", "c").header("Retry-After", "600"),
            Scripted::ok(request_json()),
        ],
    );
    let clock = virtual_clock();
    let config =
        config(Environment::BaseUrl(server.base.clone()), clock.clone()).with_retry(RetryPolicy {
            max_retry_after: Duration::from_secs(900),
            ..RetryPolicy::default()
        });
    let client = GenesysClient::new(config).unwrap();

    client.get_gdpr_request("r1").await.unwrap();
    assert_eq!(elapsed(&clock), Duration::from_secs(600));
}

#[tokio::test]
async fn persistent_rate_limit_gives_up_after_the_attempt_budget() {
    let server = MockGenesys::start().await;
    server.always(
        "GET",
        REQUEST_PATH,
        Scripted::error(429, "too.many.requests", "c").header("Retry-After", "2"),
    );
    let clock = virtual_clock();
    let client = client(&server, clock.clone());

    let err = client.get_gdpr_request("r1").await.unwrap_err();

    assert_eq!(err.name(), "GenesysRateLimited");
    assert_eq!(err.detail().unwrap().attempts, 5);
    assert_eq!(server.api_requests(REQUEST_PATH).len(), 5);
    // Four waits of 2 s between five attempts; none after the last.
    assert_eq!(elapsed(&clock), Duration::from_secs(8));
}

#[tokio::test]
async fn server_errors_are_retried_then_give_up_with_status_code_context_and_correlation_id() {
    let server = MockGenesys::start().await;
    server.always(
        "GET",
        REQUEST_PATH,
        Scripted::error(503, "service.unavailable", "ctx-503")
            .header("ININ-Correlation-Id", "corr-503"),
    );
    let clock = virtual_clock();
    let client = client(&server, clock.clone());

    let err = client.get_gdpr_request("r1").await.unwrap_err();

    assert_eq!(err.name(), "GenesysTransient");
    assert!(err.is_retryable());
    assert!(matches!(
        err,
        genesys::GenesysError::Transient {
            failure: TransportFailure::ServerError,
            ..
        }
    ));
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.code(), Some("service.unavailable"));
    assert_eq!(err.context_id(), Some("ctx-503"));
    assert_eq!(err.correlation_id(), Some("corr-503"));
    assert_eq!(err.detail().unwrap().attempts, 5);
    assert_eq!(server.api_requests(REQUEST_PATH).len(), 5);
    let message = err.to_string();
    for part in [
        "503",
        "service.unavailable",
        "ctx-503",
        "corr-503",
        "/api/v2/gdpr/requests/{requestId}",
    ] {
        assert!(message.contains(part), "{message}");
    }
    // Full jitter under the default policy (base 0.5 s, cap 30 s): at most
    // 0.5 + 1 + 2 + 4 s of waiting across four retries, all on the virtual clock.
    assert!(
        elapsed(&clock) <= Duration::from_millis(7_500),
        "{:?}",
        elapsed(&clock)
    );
}

#[tokio::test]
async fn backoff_waits_never_exceed_the_cap() {
    let server = MockGenesys::start().await;
    server.always(
        "GET",
        REQUEST_PATH,
        Scripted::error(500, "internal.error", "c"),
    );
    let clock = virtual_clock();
    let policy = RetryPolicy {
        max_attempts: 8,
        base_delay: Duration::from_secs(10),
        max_delay: Duration::from_secs(15),
        ..RetryPolicy::default()
    };
    let config =
        config(Environment::BaseUrl(server.base.clone()), clock.clone()).with_retry(policy);
    let client = GenesysClient::new(config).unwrap();

    client.get_gdpr_request("r1").await.unwrap_err();

    // Seven waits, the first at most 10 s and the other six at most 15 s each.
    assert!(elapsed(&clock) <= Duration::from_secs(10 + 6 * 15));
    assert_eq!(server.api_requests(REQUEST_PATH).len(), 8);
}

#[tokio::test]
async fn server_error_then_success_is_transparent_to_the_caller() {
    let server = MockGenesys::start().await;
    server.script(
        "GET",
        REQUEST_PATH,
        vec![
            Scripted::error(502, "bad.gateway", "c"),
            Scripted::error(504, "gateway.timeout", "c"),
            Scripted::ok(request_json()),
        ],
    );
    let client = client(&server, virtual_clock());
    assert_eq!(client.get_gdpr_request("r1").await.unwrap().id, "r1");
    assert_eq!(server.api_requests(REQUEST_PATH).len(), 3);
}

#[tokio::test]
async fn gdpr_submission_is_not_retried_on_a_server_error() {
    let server = MockGenesys::start().await;
    server.always(
        "POST",
        CREATE_PATH,
        Scripted::error(500, "internal.server.error", "ctx-500")
            .header("ININ-Correlation-Id", "corr-500"),
    );
    let clock = virtual_clock();
    let client = client(&server, clock.clone());

    let err = client
        .create_gdpr_request(&delete_request(), true)
        .await
        .unwrap_err();

    assert_eq!(err.name(), "GenesysAmbiguous");
    assert!(err.may_have_been_applied());
    assert!(!err.is_retryable());
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.correlation_id(), Some("corr-500"));
    assert!(err.to_string().contains("may have been applied"));
    assert_eq!(server.api_requests(CREATE_PATH).len(), 1);
    assert_eq!(elapsed(&clock), Duration::ZERO);
}

#[tokio::test]
async fn gdpr_submission_is_retried_after_a_rate_limit() {
    let server = MockGenesys::start().await;
    server.script(
        "POST",
        CREATE_PATH,
        vec![
            Scripted::error(429, "too.many.requests", "c").header("Retry-After", "4"),
            Scripted::ok(request_json()),
        ],
    );
    let clock = virtual_clock();
    let client = client(&server, clock.clone());

    let created = client
        .create_gdpr_request(&delete_request(), true)
        .await
        .unwrap();

    assert_eq!(created.id, "r1");
    assert_eq!(server.api_requests(CREATE_PATH).len(), 2);
    assert_eq!(elapsed(&clock), Duration::from_secs(4));
}

#[tokio::test]
async fn dropped_connection_is_retried_for_a_read() {
    let token_server = MockGenesys::start().await;
    let api = RawServer::start(vec![
        RawAction::Drop,
        RawAction::Respond(200, request_json()),
    ])
    .await;
    let env = Environment::Custom {
        api_base: api.base.clone(),
        login_base: token_server.base.clone(),
    };
    let client = GenesysClient::new(config(env, virtual_clock())).unwrap();

    let request = client.get_gdpr_request("r1").await.unwrap();

    assert_eq!(request.id, "r1");
    assert_eq!(api.connections(), 2);
}

#[tokio::test]
async fn dropped_connection_on_a_gdpr_submission_is_ambiguous_and_not_retried() {
    let token_server = MockGenesys::start().await;
    let api = RawServer::start(vec![
        RawAction::Drop,
        RawAction::Respond(200, request_json()),
    ])
    .await;
    let env = Environment::Custom {
        api_base: api.base.clone(),
        login_base: token_server.base.clone(),
    };
    let client = GenesysClient::new(config(env, virtual_clock())).unwrap();

    let err = client
        .create_gdpr_request(&delete_request(), true)
        .await
        .unwrap_err();

    assert_eq!(err.name(), "GenesysAmbiguous");
    assert!(matches!(
        err,
        genesys::GenesysError::Ambiguous {
            failure: TransportFailure::ConnectionLost,
            ..
        }
    ));
    assert_eq!(api.connections(), 1, "the submission was sent exactly once");
}

#[tokio::test]
async fn gdpr_submission_is_retried_when_the_connection_was_refused_before_sending() {
    let token_server = MockGenesys::start().await;
    let addr = refused_port().await;
    let clock = Arc::new(StartServerOnFirstSleep::new(
        addr,
        vec![(
            "POST".into(),
            CREATE_PATH.into(),
            Scripted::ok(request_json()),
        )],
    ));
    let env = Environment::Custom {
        api_base: format!("http://{addr}/").parse().unwrap(),
        login_base: token_server.base.clone(),
    };
    let config =
        genesys::ClientConfig::new(env, genesys::Credentials::new(CLIENT_ID, CLIENT_SECRET))
            .with_clock(clock.clone());
    let client = GenesysClient::new(config).unwrap();

    let created = client
        .create_gdpr_request(&delete_request(), true)
        .await
        .unwrap();

    assert_eq!(created.id, "r1");
    let server = clock
        .server
        .lock()
        .unwrap()
        .clone()
        .expect("retry waited on the clock");
    assert_eq!(server.api_requests(CREATE_PATH).len(), 1);
}

#[tokio::test]
async fn refused_connections_give_up_as_transient_not_ambiguous() {
    let token_server = MockGenesys::start().await;
    let addr = refused_port().await;
    let env = Environment::Custom {
        api_base: format!("http://{addr}/").parse().unwrap(),
        login_base: token_server.base.clone(),
    };
    let clock = virtual_clock();
    let client = GenesysClient::new(config(env, clock.clone())).unwrap();

    let err = client
        .create_gdpr_request(&delete_request(), true)
        .await
        .unwrap_err();

    assert_eq!(err.name(), "GenesysTransient");
    assert!(matches!(
        err,
        genesys::GenesysError::Transient {
            failure: TransportFailure::ConnectFailed,
            ..
        }
    ));
    assert_eq!(err.detail().unwrap().attempts, 5);
    assert_eq!(err.status(), None);
}

#[tokio::test]
async fn client_errors_are_typed_and_not_retried() {
    let cases = [
        (400, "bad.request", "GenesysRejected"),
        (400, "general.conflict", "GenesysConflict"),
        (403, "missing.permissions", "GenesysForbidden"),
        (404, "not.found", "GenesysNotFound"),
        (409, "request.conflict", "GenesysConflict"),
        (422, "unprocessable", "GenesysRejected"),
    ];
    for (status, code, name) in cases {
        let server = MockGenesys::start().await;
        server.always("GET", REQUEST_PATH, Scripted::error(status, code, "ctx"));
        let client = client(&server, virtual_clock());
        let err = client.get_gdpr_request("r1").await.unwrap_err();
        assert_eq!(err.name(), name, "{status} {code}");
        assert!(!err.is_retryable());
        assert_eq!(err.status(), Some(status));
        assert_eq!(err.code(), Some(code));
        assert_eq!(server.api_requests(REQUEST_PATH).len(), 1, "{status}");
    }
}

#[tokio::test]
async fn error_messages_never_carry_the_query_string_or_the_identifier() {
    let server = MockGenesys::start().await;
    server.always(
        "GET",
        "/api/v2/gdpr/subjects",
        Scripted::json(
            500,
            serde_json::json!({"code": "internal.error", "message": "failed for jane.doe@example.com",
                "contextId": "ctx"}),
        ),
    );
    let client = client(&server, virtual_clock());

    let err = client
        .search_gdpr_subjects(SearchType::Email, "jane.doe@example.com")
        .await
        .unwrap_err();

    let shown = format!("{err} {err:?}");
    assert!(shown.contains("/api/v2/gdpr/subjects"), "{shown}");
    for leak in ["jane", "example.com", "searchValue", "?", "127.0.0.1"] {
        assert!(!shown.contains(leak), "{leak} in {shown}");
    }
}

#[tokio::test]
async fn rate_limit_headers_are_exposed_for_pacing() {
    let server = MockGenesys::start().await;
    server.always(
        "GET",
        REQUEST_PATH,
        Scripted::ok(request_json())
            .header("inin-ratelimit-count", "12")
            .header("inin-ratelimit-allowed", "180")
            .header("inin-ratelimit-reset", "61"),
    );
    let client = client(&server, virtual_clock());
    assert_eq!(client.rate_limit(), None);

    client.get_gdpr_request("r1").await.unwrap();

    let seen = client.rate_limit().unwrap();
    assert_eq!(seen.count, Some(12));
    assert_eq!(seen.allowed, Some(180));
    assert_eq!(seen.reset_seconds, Some(61));
    assert_eq!(seen.remaining(), Some(168));
    assert_eq!(seen.observed_at, t0());
}
