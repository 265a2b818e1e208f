//! Recordings and recording deletion protection.

mod common;

use common::start;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn recording_metadata_and_recordings_of_a_conversation() {
    let h = start().await;
    let token = h.token().await;
    let liam = h.persona("happy-path");
    let cid = &liam.customer_conversation_ids[0];
    let r = h
        .get(
            &token,
            &format!("/api/v2/conversations/{cid}/recordingmetadata"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let list = r.body.as_array().unwrap();
    assert!(!list.is_empty());
    let rid = list[0]["id"].as_str().unwrap();
    assert_eq!(list[0]["conversationId"], cid.as_str());
    assert_eq!(list[0]["media"], "audio");
    assert!(["AVAILABLE", "ARCHIVED"].contains(&list[0]["fileState"].as_str().unwrap()));
    let one = h
        .get(
            &token,
            &format!("/api/v2/conversations/{cid}/recordingmetadata/{rid}"),
        )
        .await;
    assert_eq!(one.body["id"], rid);
    let r = h
        .get(
            &token,
            &format!("/api/v2/conversations/{cid}/recordings?formatId=MP3"),
        )
        .await;
    assert_eq!(r.body[0]["recordingFileRole"], "CUSTOMER_EXPERIENCE");
    let r = h
        .get(
            &token,
            &format!("/api/v2/conversations/{cid}/recordings/{rid}?formatId=NONE"),
        )
        .await;
    assert_eq!(r.body["id"], rid);
    let r = h
        .get(
            &token,
            &format!("/api/v2/conversations/{cid}/recordings?formatId=FLAC"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h
        .get(
            &token,
            "/api/v2/conversations/00000000-0000-4000-8000-000000000000/recordingmetadata",
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["code"], "conversation.not.found");
    let r = h
        .get(
            &token,
            &format!("/api/v2/conversations/{cid}/recordingmetadata/nope"),
        )
        .await;
    assert_eq!(r.body["code"], "recording.recording.not.found");
}

#[tokio::test]
async fn put_with_a_delete_date_now_deletes_the_recording() {
    let h = start().await;
    let token = h.token().await;
    let liam = h.persona("happy-path");
    let cid = &liam.customer_conversation_ids[1];
    let rid = h.emu.conversation(cid).unwrap().recordings[0].id.clone();
    let now = h.emu.now().to_rfc3339();
    let r = h
        .put(
            &token,
            &format!("/api/v2/conversations/{cid}/recordings/{rid}"),
            json!({"deleteDate": now}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["fileState"], "DELETED");
    assert_eq!(
        h.emu.conversation(cid).unwrap().recordings[0].file_state,
        genesys_emulator::FileState::Deleted
    );
    let again = h
        .put(
            &token,
            &format!("/api/v2/conversations/{cid}/recordings/{rid}"),
            json!({"deleteDate": now}),
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.body["code"], "recording.not.archivable");
}

#[tokio::test]
async fn a_future_delete_date_takes_effect_when_the_clock_passes_it() {
    let h = start().await;
    let token = h.token().await;
    let liam = h.persona("happy-path");
    let cid = &liam.customer_conversation_ids[2];
    let rid = h.emu.conversation(cid).unwrap().recordings[0].id.clone();
    let later = (h.emu.now() + chrono::TimeDelta::hours(1)).to_rfc3339();
    let r = h
        .put(
            &token,
            &format!("/api/v2/conversations/{cid}/recordings/{rid}"),
            json!({"deleteDate": later}),
        )
        .await;
    assert_ne!(r.body["fileState"], "DELETED");
    h.advance(3600);
    let r = h
        .get(
            &token,
            &format!("/api/v2/conversations/{cid}/recordingmetadata/{rid}"),
        )
        .await;
    assert_eq!(r.body["fileState"], "DELETED");
    let bad = h
        .put(
            &token,
            &format!("/api/v2/conversations/{cid}/recordings/{rid}"),
            json!({"deleteDate": "tomorrow"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn deleting_a_protected_recording_is_refused_with_409() {
    let h = start().await;
    let token = h.token().await;
    let held = h.persona("legal-hold").protected_conversation_ids[0].clone();
    let rid = h.emu.conversation(&held).unwrap().recordings[0].id.clone();
    let now = h.emu.now().to_rfc3339();
    let r = h
        .put(
            &token,
            &format!("/api/v2/conversations/{held}/recordings/{rid}"),
            json!({"deleteDate": now}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["code"], "recording.deletion.protected");
    assert_ne!(
        h.emu.conversation(&held).unwrap().recordings[0].file_state,
        genesys_emulator::FileState::Deleted
    );

    // Once protection is revoked the same call works.
    let r = h
        .put(
            &token,
            "/api/v2/recordings/deletionprotection?protect=false",
            json!({"conversationIds": [held]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = h
        .put(
            &token,
            &format!("/api/v2/conversations/{held}/recordings/{rid}"),
            json!({"deleteDate": now}),
        )
        .await;
    assert_eq!(r.body["fileState"], "DELETED");
}

#[tokio::test]
async fn deletion_protection_query_returns_the_protected_subset() {
    let h = start().await;
    let token = h.token().await;
    let p = h.persona("legal-hold");
    let r = h
        .post(
            &token,
            "/api/v2/recordings/deletionprotection",
            json!({"conversationIds": p.customer_conversation_ids}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let held = &p.protected_conversation_ids[0];
    assert_eq!(
        r.body,
        json!([{"id": held, "selfUri": format!("/api/v2/conversations/{held}")}])
    );

    let liam = h.persona("happy-path").customer_conversation_ids[0].clone();
    let r = h
        .put(
            &token,
            "/api/v2/recordings/deletionprotection",
            json!({"conversationIds": [liam]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(h.emu.protected_conversation_ids().contains(&liam));

    let too_many: Vec<String> = (0..101)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    let r = h
        .post(
            &token,
            "/api/v2/recordings/deletionprotection",
            json!({"conversationIds": too_many}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h
        .post(
            &token,
            "/api/v2/recordings/deletionprotection",
            json!({"conversationIds": ["conv-1"]}),
        )
        .await;
    assert_eq!(r.body["code"], "recording.conversation.id.not.uuid");
    let r = h
        .post(&token, "/api/v2/recordings/deletionprotection", json!({}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h
        .put(
            &token,
            "/api/v2/recordings/deletionprotection",
            json!({"conversationIds": ["00000000-0000-4000-8000-000000000000"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["code"], "recording.conversation.not.found");
}
