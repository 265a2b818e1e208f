//! The admin API under /_emulator/: state, request log, clock, faults, reset.

mod common;

use std::time::Duration;

use common::{http, start};
use genesys_emulator::{Dataset, Emulator};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn state_shows_what_remains_after_a_delete_and_reset_restores_it() {
    let h = start().await;
    let token = h.token().await;
    let liam = h.persona("happy-path");
    let r = h
        .submit(
            &token,
            "GDPR_DELETE",
            json!({"phoneNumbers": ["+353834567890"]}),
        )
        .await;
    h.run_to_end(&token, r.body["id"].as_str().unwrap(), 60)
        .await;

    let state: Value = h
        .http
        .get(h.url("/_emulator/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = state["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(
        !liam
            .customer_conversation_ids
            .iter()
            .any(|id| ids.contains(&id.as_str()))
    );
    assert_eq!(ids.len(), h.ds.conversations.len() - 3);
    assert_eq!(state["gdprRequests"][0]["status"], "COMPLETED");
    assert_eq!(
        state["gdprRequests"][0]["outcome"]["deletedConversationIds"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(state["protectedConversationIds"].as_array().unwrap().len() >= 2);
    let recs: Value = h
        .http
        .get(h.url("/_emulator/state/recordings"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        recs.as_array()
            .unwrap()
            .iter()
            .all(|r| r["conversationId"].is_string())
    );
    assert_eq!(
        h.http
            .get(h.url("/_emulator/state/nothing"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );

    let r = h.http.post(h.url("/_emulator/reset")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(h.emu.conversations().len(), h.ds.conversations.len());
    assert!(h.emu.gdpr_requests().is_empty());
    assert!(h.emu.request_log().is_empty());
    // Tokens survive a reset.
    assert_eq!(h.get(&token, "/api/v2/users").await.status, StatusCode::OK);
}

#[tokio::test]
async fn request_log_records_method_path_status_client_and_gdpr_request_type() {
    let h = start().await;
    let token = h.token().await;
    h.submit(
        &token,
        "GDPR_EXPORT",
        json!({"phoneNumbers": ["+353834567890"]}),
    )
    .await;
    h.submit(
        &token,
        "GDPR_DELETE",
        json!({"phoneNumbers": ["+353834567890"]}),
    )
    .await;
    h.get(&token, "/api/v2/users?pageSize=2").await;
    let log: Value = h
        .http
        .get(h.url("/_emulator/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let log = log.as_array().unwrap();
    let client = h.emu.oauth_client().client_id;
    assert_eq!(log[0]["path"], "/oauth/token");
    assert_eq!(log[0]["clientId"], client.as_str());
    let deletes: Vec<&Value> = log
        .iter()
        .filter(|e| e["requestType"] == "GDPR_DELETE")
        .collect();
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0]["status"], 202);
    assert_eq!(deletes[0]["method"], "POST");
    assert_eq!(deletes[0]["route"], "/api/v2/gdpr/requests");
    let users = log.last().unwrap();
    assert_eq!(users["path"], "/api/v2/users", "no query string in the log");
    assert!(users["time"].is_string());
    // Admin calls are not logged.
    assert!(
        !log.iter()
            .any(|e| e["path"].as_str().unwrap().starts_with("/_emulator"))
    );
    h.http
        .delete(h.url("/_emulator/requests"))
        .send()
        .await
        .unwrap();
    assert!(h.emu.request_log().is_empty());
}

#[tokio::test]
async fn faults_can_be_scripted_listed_and_cleared_over_http() {
    let h = start().await;
    let token = h.token().await;
    let r = h
        .http
        .post(h.url("/_emulator/faults"))
        .json(&json!({"method": "GET", "path": "/api/v2/users", "times": 2, "action": {"kind": "serverError", "status": 500}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    assert_eq!(
        h.get(&token, "/api/v2/users").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let list: Value = h
        .http
        .get(h.url("/_emulator/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["remaining"], 1);
    assert_eq!(list[0]["fired"], 1);
    let r = h
        .http
        .delete(h.url(&format!("/_emulator/faults/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(h.get(&token, "/api/v2/users").await.status, StatusCode::OK);

    for bad in [
        json!({"path": "/x", "action": {"kind": "explode"}}),
        json!({"path": "/x", "times": 1, "probability": 0.5, "action": {"kind": "dropConnection"}}),
        json!({"action": {"kind": "dropConnection"}}),
    ] {
        let r = h
            .http
            .post(h.url("/_emulator/faults"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert!(body["message"].is_string());
    }
    let r = h
        .http
        .post(h.url("/_emulator/faults"))
        .json(&json!({"path": "*", "probability": 1.0, "action": {"kind": "rateLimited", "retryAfterSeconds": 3}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);
    assert_eq!(
        h.get(&token, "/api/v2/users").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    h.http
        .delete(h.url("/_emulator/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(h.get(&token, "/api/v2/users").await.status, StatusCode::OK);
}

#[tokio::test]
async fn clock_endpoints_refuse_an_external_clock_with_409() {
    let h = start().await;
    let r = h
        .http
        .post(h.url("/_emulator/clock/advance"))
        .json(&json!({"seconds": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "emulator.clock.not.owned");
    assert!(h.emu.advance_clock(Duration::from_secs(1)).is_err());
    let clock: Value = h
        .http
        .get(h.url("/_emulator/clock"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clock["owned"], false);
}

#[tokio::test]
async fn an_owned_clock_can_be_frozen_advanced_and_sped_up() {
    let ds = Dataset::bundled();
    let emu = Emulator::builder()
        .dataset(ds.clone())
        .owned_clock(ds.as_of, 1.0)
        .start()
        .await
        .unwrap();
    let http = http();
    let url = |p: &str| format!("{}{p}", emu.base_url());
    let r: Value = http
        .post(url("/_emulator/clock/freeze"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["speed"], 0.0);
    let frozen = emu.now();
    let r: Value = http
        .post(url("/_emulator/clock/advance"))
        .json(&json!({"seconds": 3600}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(emu.now() - frozen, chrono::TimeDelta::hours(1));
    assert!(r["now"].is_string());
    let r = http
        .post(url("/_emulator/clock/speed"))
        .json(&json!({"speed": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = http
        .post(url("/_emulator/clock/speed"))
        .json(&json!({"speed": -1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = http
        .post(url("/_emulator/clock/advance"))
        .json(&json!({"minutes": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    emu.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let h = start().await;
    let url = h.url("/_emulator/clock");
    assert!(h.http.get(&url).send().await.is_ok());
    h.emu.shutdown().await;
    assert!(http().get(&url).send().await.is_err());
}

#[tokio::test]
async fn dropping_the_emulator_stops_serving() {
    let h = start().await;
    let url = h.url("/_emulator/clock");
    let common::Harness { emu, .. } = h;
    drop(emu);
    // The accept loop sees the signal on its next poll.
    tokio::task::yield_now().await;
    let fresh = http();
    let mut refused = false;
    for _ in 0..50 {
        if fresh.get(&url).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(refused);
}
