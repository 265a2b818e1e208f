//! The sender against a real local HTTP server: what it sends, and that a redirect
//! is answered as a refusal, never followed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use signing::{
    DEFAULT_TOLERANCE, Endpoint, IDEMPOTENCY_HEADER, KeyRing, PostOutcome, SIGNATURE_HEADER,
    SignedPost, SigningKey, TIMESTAMP_HEADER, http_client, verify,
};

const KEY: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01";

type Seen = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;

async fn serve() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let (a, b) = (seen.clone(), seen.clone());
    let app = Router::new()
        .route(
            "/moved",
            post(move |h: HeaderMap, body: Bytes| async move {
                a.lock().unwrap().push(("/moved".into(), h, body));
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, "/elsewhere")],
                )
                    .into_response()
            }),
        )
        .route(
            "/elsewhere",
            post(move |h: HeaderMap, body: Bytes| async move {
                b.lock().unwrap().push(("/elsewhere".into(), h, body));
                (
                    StatusCode::ACCEPTED,
                    r#"{"status":"accepted","reference":"r"}"#,
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

fn keys() -> KeyRing {
    KeyRing::new(SigningKey::new(KEY.as_bytes()).unwrap(), None)
}

#[tokio::test]
async fn a_307_is_refused_and_not_followed() {
    let (base, seen) = serve().await;
    let endpoint = Endpoint::parse(&format!("{base}/moved")).unwrap();
    let keys = keys();
    let outcome = SignedPost {
        endpoint: &endpoint,
        keys: &keys,
        timestamp: 1_795_000_000,
        body: br#"{"ticketId":"T-1"}"#,
        idempotency_key: "T-1/crm",
        timeout: Duration::from_secs(5),
    }
    .send(&http_client())
    .await;
    assert_eq!(outcome, PostOutcome::Refused { status: 307 });
    let seen = seen.lock().unwrap();
    let paths: Vec<&str> = seen.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(paths, ["/moved"], "the redirect must not be followed");
}

#[tokio::test]
async fn a_post_carries_a_verifiable_signature_and_its_idempotency_key() {
    let (base, seen) = serve().await;
    let endpoint = Endpoint::parse(&format!("{base}/elsewhere")).unwrap();
    let keys = keys();
    let now = chrono::Utc::now();
    let outcome = SignedPost {
        endpoint: &endpoint,
        keys: &keys,
        timestamp: now.timestamp(),
        body: br#"{"ticketId":"T-2"}"#,
        idempotency_key: "T-2/crm",
        timeout: Duration::from_secs(5),
    }
    .send(&http_client())
    .await;
    assert!(
        matches!(outcome, PostOutcome::Accepted { status: 202, .. }),
        "{outcome:?}"
    );
    let seen = seen.lock().unwrap();
    let (_, headers, body) = &seen[0];
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    assert_eq!(h(IDEMPOTENCY_HEADER), Some("T-2/crm"));
    assert_eq!(
        verify(
            &keys,
            h(TIMESTAMP_HEADER),
            h(SIGNATURE_HEADER),
            body,
            now,
            DEFAULT_TOLERANCE
        ),
        Ok(())
    );
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_as_unavailable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint =
        Endpoint::parse(&format!("http://{}/x", listener.local_addr().unwrap())).unwrap();
    // Accepts the connection, never answers.
    let hold = tokio::spawn(async move {
        let (_s, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let keys = keys();
    let outcome = SignedPost {
        endpoint: &endpoint,
        keys: &keys,
        timestamp: 1,
        body: b"{}",
        idempotency_key: "T-3/crm",
        timeout: Duration::from_millis(300),
    }
    .send(&http_client())
    .await;
    assert_eq!(
        outcome,
        PostOutcome::Unavailable("no answer within 300 ms".into())
    );
    hold.abort();
}
