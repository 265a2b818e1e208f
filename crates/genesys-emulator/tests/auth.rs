//! OAuth client credentials and bearer checks.

mod common;

use common::{Harness, start};
use reqwest::StatusCode;
use serde_json::Value;

async fn token_request(h: &Harness, id: &str, secret: &str, grant: &str) -> (StatusCode, Value) {
    let r = h
        .http
        .post(h.url("/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", grant)])
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

#[tokio::test]
async fn client_credentials_grant_returns_a_bearer_token_with_the_clients_lifetime() {
    let h = start().await;
    let c = h.emu.oauth_client();
    let (status, body) =
        token_request(&h, &c.client_id, &c.client_secret, "client_credentials").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 86400);
    let token = body["access_token"].as_str().unwrap();
    let r = h.get(token, "/api/v2/users").await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_secret_and_wrong_grant_get_oauth_error_bodies() {
    let h = start().await;
    let c = h.emu.oauth_client();
    let (status, body) =
        token_request(&h, &c.client_id, "not-the-secret", "client_credentials").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert!(body["description"].is_string() && body["error_description"].is_string());

    let (status, body) = token_request(&h, &c.client_id, &c.client_secret, "password").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");

    // No Basic header at all: credentials in the form do not count.
    let r = h
        .http
        .post(h.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn api_without_token_is_401_authentication_required() {
    let h = start().await;
    let r = h.send(h.http.get(h.url("/api/v2/users"))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["code"], "authentication.required");
    assert_eq!(r.body["status"], 401);
    let correlation = r.header("ININ-Correlation-Id").expect("correlation header");
    assert_eq!(r.body["contextId"], correlation.as_str());
    assert!(
        r.body["details"].is_array()
            && r.body["errors"].is_array()
            && r.body["messageParams"].is_object()
    );
}

#[tokio::test]
async fn unknown_token_is_401_bad_credentials() {
    let h = start().await;
    let r = h.get("made-up-token", "/api/v2/users").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["code"], "bad.credentials");
}

#[tokio::test]
async fn token_expires_on_the_emulator_clock() {
    let h = start().await;
    let token = h.token().await;
    h.advance(86_400 - 1);
    assert_eq!(h.get(&token, "/api/v2/users").await.status, StatusCode::OK);
    h.advance(1);
    let r = h.get(&token, "/api/v2/users").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["code"], "bad.credentials");
}

#[tokio::test]
async fn short_lived_client_added_by_the_builder_gets_its_own_lifetime() {
    let h = common::start_with(|b| {
        b.oauth_client(genesys_emulator::OAuthClient {
            client_id: "short".into(),
            client_secret: "s3cret".into(),
            name: "short-lived".into(),
            access_token_validity_seconds: 300,
        })
    })
    .await;
    let (status, body) = token_request(&h, "short", "s3cret", "client_credentials").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["expires_in"], 300);
    let token = body["access_token"].as_str().unwrap().to_string();
    h.advance(300);
    assert_eq!(
        h.get(&token, "/api/v2/users").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn unknown_route_is_404_error_body_even_without_a_token() {
    let h = start().await;
    let token = h.token().await;
    let r = h.get(&token, "/api/v2/gdpr/subjects/create").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["code"], "not.found");
    // The guide's POST /api/v2/gdpr/subjects does not exist.
    let r = h
        .post(&token, "/api/v2/gdpr/subjects", serde_json::json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = h.send(h.http.get(h.url("/nothing/here"))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["status"], 404);
}
