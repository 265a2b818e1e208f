//! Rate limiting and scripted faults, in Rust and through the admin API.

mod common;

use std::time::Duration;

use common::{Harness, start, start_with};
use genesys_emulator::{Fault, FaultAction, RequestType};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn rate_limit_answers_429_with_headers_and_recovers_after_the_window() {
    let h = start_with(|b| b.rate_limit_per_minute(5)).await;
    let token = h.token().await;
    for i in 1..=5 {
        let r = h.get(&token, "/api/v2/users").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.header("inin-ratelimit-count").unwrap(), i.to_string());
        assert_eq!(r.header("inin-ratelimit-allowed").unwrap(), "5");
        assert_eq!(r.header("inin-ratelimit-reset").unwrap(), "60");
    }
    h.advance(20);
    let r = h.get(&token, "/api/v2/users").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body["code"], "too.many.requests.retry.after");
    assert_eq!(r.body["status"], 429);
    assert_eq!(r.header("Retry-After").unwrap(), "40");
    assert_eq!(r.header("inin-ratelimit-reset").unwrap(), "40");
    assert!(r.header("ININ-Correlation-Id").is_some());
    h.advance(40);
    assert_eq!(h.get(&token, "/api/v2/users").await.status, StatusCode::OK);
}

#[tokio::test]
async fn rate_limit_is_per_oauth_client() {
    let h = start_with(|b| {
        b.rate_limit_per_minute(2)
            .oauth_client(genesys_emulator::OAuthClient {
                client_id: "second".into(),
                client_secret: "second-secret".into(),
                name: String::new(),
                access_token_validity_seconds: 3600,
            })
    })
    .await;
    let first = h.token().await;
    let r = h
        .send(
            h.http
                .post(h.url("/oauth/token"))
                .basic_auth("second", Some("second-secret"))
                .form(&[("grant_type", "client_credentials")]),
        )
        .await;
    let second = r.body["access_token"].as_str().unwrap().to_string();
    h.get(&first, "/api/v2/users").await;
    h.get(&first, "/api/v2/users").await;
    assert_eq!(
        h.get(&first, "/api/v2/users").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(h.get(&second, "/api/v2/users").await.status, StatusCode::OK);
}

#[tokio::test]
async fn injected_429_carries_the_chosen_retry_after_once() {
    let h = start().await;
    let token = h.token().await;
    h.emu
        .add_fault(Fault::new(
            "GET",
            "/api/v2/users",
            FaultAction::RateLimited {
                retry_after_seconds: 7,
            },
        ))
        .unwrap();
    let r = h.get(&token, "/api/v2/users").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.header("Retry-After").unwrap(), "7");
    assert_eq!(r.body["code"], "too.many.requests.retry.after");
    assert!(r.header("inin-ratelimit-allowed").is_some());
    assert_eq!(h.get(&token, "/api/v2/users").await.status, StatusCode::OK);
    let log = h.emu.request_log();
    assert_eq!(
        log.iter()
            .filter(|e| e.fault.as_deref() == Some("rateLimited"))
            .count(),
        1
    );
}

#[tokio::test]
async fn injected_server_errors_fire_the_next_n_times_on_matching_paths_only() {
    let h = start().await;
    let token = h.token().await;
    h.emu
        .add_fault(
            Fault::new(
                "GET",
                "/api/v2/users/*",
                FaultAction::ServerError { status: 503 },
            )
            .times(2),
        )
        .unwrap();
    assert_eq!(
        h.get(&token, "/api/v2/users").await.status,
        StatusCode::OK,
        "the pattern needs a segment after /users/"
    );
    let id = h.persona("active-agent").user_id.unwrap();
    let r = h.get(&token, &format!("/api/v2/users/{id}")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["code"], "service.unavailable");
    assert_eq!(
        h.get(&token, &format!("/api/v2/users/{id}")).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        h.get(&token, &format!("/api/v2/users/{id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(h.emu.faults()[0].remaining, Some(0));
}

#[tokio::test]
async fn fault_on_request_type_hits_only_that_gdpr_request_type() {
    let h = start().await;
    let token = h.token().await;
    h.emu
        .add_fault(
            Fault::new(
                "POST",
                "/api/v2/gdpr/requests",
                FaultAction::ServerError { status: 500 },
            )
            .request_type("GDPR_DELETE"),
        )
        .unwrap();
    let export = h
        .submit(
            &token,
            "GDPR_EXPORT",
            json!({"phoneNumbers": ["+353834567890"]}),
        )
        .await;
    assert_eq!(export.status, StatusCode::ACCEPTED);
    let delete = h
        .submit(
            &token,
            "GDPR_DELETE",
            json!({"phoneNumbers": ["+353834567890"]}),
        )
        .await;
    assert_eq!(delete.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        h.emu.gdpr_requests().len(),
        1,
        "the failed delete created nothing"
    );
    assert_eq!(h.emu.gdpr_submissions(RequestType::GdprDelete), 1);
    assert_eq!(h.emu.gdpr_submissions(RequestType::GdprExport), 1);
}

#[tokio::test]
async fn slow_answer_on_the_emulator_clock_moves_virtual_time() {
    let h = start().await;
    let token = h.token().await;
    h.emu
        .add_fault(Fault::new(
            "GET",
            "/api/v2/users",
            FaultAction::Slow {
                emulated_delay_ms: 30_000,
                real_delay_ms: 0,
            },
        ))
        .unwrap();
    let before = h.emu.now();
    assert_eq!(h.get(&token, "/api/v2/users").await.status, StatusCode::OK);
    assert!(h.emu.now() - before >= chrono::TimeDelta::seconds(30));
}

#[tokio::test]
async fn slow_answer_in_real_time_trips_a_client_timeout() {
    let h = start().await;
    let token = h.token().await;
    h.emu
        .add_fault(Fault::new(
            "GET",
            "/api/v2/users",
            FaultAction::Slow {
                emulated_delay_ms: 0,
                real_delay_ms: 5_000,
            },
        ))
        .unwrap();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client
        .get(h.url("/api/v2/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
}

async fn delete_liam(h: &Harness, token: &str) -> Result<reqwest::Response, reqwest::Error> {
    h.http
        .post(h.url("/api/v2/gdpr/requests?deleteConfirmed=true"))
        .bearer_auth(token)
        .json(
            &json!({"requestType": "GDPR_DELETE", "subject": {"phoneNumbers": ["+353834567890"]}}),
        )
        .send()
        .await
}

#[tokio::test]
async fn dropped_connection_gets_no_answer_and_changes_nothing() {
    let h = start().await;
    let token = h.token().await;
    h.emu
        .add_fault(Fault::new(
            "POST",
            "/api/v2/gdpr/requests",
            FaultAction::DropConnection,
        ))
        .unwrap();
    let err = delete_liam(&h, &token).await.unwrap_err();
    assert!(!err.is_timeout() && !err.is_status(), "{err}");
    assert!(h.emu.gdpr_requests().is_empty());
    let entry = h
        .emu
        .request_log()
        .into_iter()
        .find(|e| e.path == "/api/v2/gdpr/requests")
        .unwrap();
    assert_eq!(entry.status, None);
    assert_eq!(entry.fault.as_deref(), Some("dropConnection"));
    assert_eq!(entry.request_type.as_deref(), Some("GDPR_DELETE"));
    // The emulator keeps serving.
    assert_eq!(
        delete_liam(&h, &token).await.unwrap().status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn process_then_drop_creates_the_request_but_the_client_never_hears() {
    let h = start().await;
    let token = h.token().await;
    h.emu
        .add_fault(
            Fault::new(
                "POST",
                "/api/v2/gdpr/requests",
                FaultAction::ProcessThenDrop,
            )
            .request_type("GDPR_DELETE"),
        )
        .unwrap();
    let err = delete_liam(&h, &token).await.unwrap_err();
    assert!(!err.is_status(), "{err}");
    assert_eq!(h.emu.gdpr_requests().len(), 1, "the request was processed");
    let entry = h
        .emu
        .request_log()
        .into_iter()
        .find(|e| e.path == "/api/v2/gdpr/requests")
        .unwrap();
    assert_eq!(entry.status, Some(202));
    assert_eq!(entry.fault.as_deref(), Some("processThenDrop"));
    // A client that checks the listing before resubmitting finds it.
    let r = h.get(&token, "/api/v2/gdpr/requests").await;
    assert_eq!(r.body["total"], 1);
}

async fn pattern(seed: u64) -> Vec<u16> {
    let h = start_with(|b| b.seed(seed)).await;
    let token = h.token().await;
    h.emu
        .add_fault(
            Fault::new(
                "GET",
                "/api/v2/users",
                FaultAction::ServerError { status: 502 },
            )
            .probability(0.5),
        )
        .unwrap();
    let mut out = Vec::new();
    for _ in 0..24 {
        out.push(h.get(&token, "/api/v2/users").await.status.as_u16());
    }
    out
}

#[tokio::test]
async fn probabilistic_faults_are_deterministic_for_a_seed() {
    let a = pattern(11).await;
    assert_eq!(a, pattern(11).await);
    assert!(a.contains(&502) && a.contains(&200), "{a:?}");
    assert_ne!(a, pattern(12).await);
}

#[tokio::test]
async fn same_seed_gives_the_same_ids_and_tokens() {
    let run = |seed| async move {
        let h = start_with(|b| b.seed(seed)).await;
        let token = h.token().await;
        let r = h
            .submit(
                &token,
                "GDPR_EXPORT",
                json!({"phoneNumbers": ["+353834567890"]}),
            )
            .await;
        (
            token,
            r.body["id"].as_str().unwrap().to_string(),
            r.header("ININ-Correlation-Id").unwrap(),
        )
    };
    assert_eq!(run(3).await, run(3).await);
    assert_ne!(run(3).await.1, run(4).await.1);
}

#[tokio::test]
async fn bad_fault_rules_are_refused() {
    let h = start().await;
    assert!(
        h.emu
            .add_fault(Fault::new("GET", "users", FaultAction::DropConnection))
            .is_err()
    );
    assert!(
        h.emu
            .add_fault(Fault::new(
                "GET",
                "/x",
                FaultAction::ServerError { status: 404 }
            ))
            .is_err()
    );
    assert!(
        h.emu
            .add_fault(Fault::new("GET", "/x", FaultAction::DropConnection).probability(1.5))
            .is_err()
    );
    assert!(
        h.emu
            .add_fault(Fault::new(
                "GET",
                "/api/v2/users",
                FaultAction::GdprPartialError { fraction: 0.5 }
            ))
            .is_err()
    );
    assert!(h.emu.faults().is_empty());
}

#[tokio::test]
async fn an_export_results_download_is_logged_and_can_be_faulted() {
    let h = start().await;
    let token = h.token().await;
    let r = h
        .submit(
            &token,
            "GDPR_EXPORT",
            json!({"phoneNumbers": ["+353834567890"]}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    h.advance(3600);
    let url = h
        .get(&token, &format!("/api/v2/gdpr/requests/{id}"))
        .await
        .body["resultsUrl"]
        .as_str()
        .expect("resultsUrl once COMPLETED")
        .to_owned();
    h.emu
        .add_fault(Fault::new(
            "GET",
            "/_emulator/results/*",
            FaultAction::ServerError { status: 503 },
        ))
        .unwrap();
    let first = h.http.get(&url).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::SERVICE_UNAVAILABLE);
    let second = h.http.get(&url).send().await.unwrap();
    assert_eq!(second.status(), StatusCode::OK);
    let logged: Vec<_> = h
        .emu
        .request_log()
        .into_iter()
        .filter(|e| e.path.starts_with("/_emulator/results/"))
        .map(|e| (e.status, e.fault))
        .collect();
    assert_eq!(
        logged,
        [
            (Some(503), Some("serverError".to_owned())),
            (Some(200), None)
        ]
    );
}
