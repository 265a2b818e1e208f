//! Users API: reads, paging, optimistic locking, state changes, soft delete.

mod common;

use common::start;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn get_user_shows_state_version_and_hides_deleted_users_by_default() {
    let h = start().await;
    let token = h.token().await;
    let aoife = h.persona("former-agent").user_id.unwrap();
    let r = h.get(&token, &format!("/api/v2/users/{aoife}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["state"], "inactive");
    assert_eq!(r.body["email"], "aoife.byrne@brightwater.example.com");
    assert!(r.body["version"].as_u64().is_some());
    assert_eq!(r.body["selfUri"], format!("/api/v2/users/{aoife}"));

    let deleted =
        h.ds.users
            .iter()
            .find(|u| u.state == genesys_emulator::UserState::Deleted)
            .unwrap();
    let r = h
        .get(&token, &format!("/api/v2/users/{}", deleted.id))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["code"], "general.resource.not.found");
    let r = h
        .get(
            &token,
            &format!("/api/v2/users/{}?state=deleted", deleted.id),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["state"], "deleted");
    assert_eq!(
        h.get(&token, "/api/v2/users/nobody").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.get(&token, &format!("/api/v2/users/{aoife}?state=any"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn list_users_pages_filters_by_state_and_ids() {
    let h = start().await;
    let token = h.token().await;
    let active =
        h.ds.users
            .iter()
            .filter(|u| u.state == genesys_emulator::UserState::Active)
            .count();
    let r = h.get(&token, "/api/v2/users?pageSize=3").await;
    assert_eq!(r.body["total"], active);
    assert_eq!(r.body["entities"].as_array().unwrap().len(), 3);
    assert_eq!(r.body["pageCount"], active.div_ceil(3));
    assert!(r.body["nextUri"].is_string());
    let r = h.get(&token, "/api/v2/users?state=any&pageSize=100").await;
    assert_eq!(r.body["total"], h.ds.users.len());
    let r = h.get(&token, "/api/v2/users?state=inactive").await;
    assert!(
        r.body["entities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["state"] == "inactive")
    );

    let aoife = h.persona("former-agent").user_id.unwrap();
    let niamh = h.persona("active-agent").user_id.unwrap();
    let r = h
        .get(
            &token,
            &format!("/api/v2/users?state=any&id={aoife}&id={niamh}"),
        )
        .await;
    assert_eq!(r.body["total"], 2);

    let many: String = (0..101).map(|i| format!("id=u{i}&")).collect();
    let r = h.get(&token, &format!("/api/v2/users?{many}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["code"], "max.user.ids");
}

#[tokio::test]
async fn patch_with_a_stale_version_is_a_409_general_conflict() {
    let h = start().await;
    let token = h.token().await;
    let aoife = h.persona("former-agent").user_id.unwrap();
    let current = h.get(&token, &format!("/api/v2/users/{aoife}")).await.body["version"]
        .as_u64()
        .unwrap();
    let r = h
        .patch(
            &token,
            &format!("/api/v2/users/{aoife}"),
            json!({"version": current - 1, "name": "Anonymous"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["code"], "general.conflict");
    let r = h
        .patch(
            &token,
            &format!("/api/v2/users/{aoife}"),
            json!({"name": "Anonymous"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["details"][0]["fieldName"], "version");

    let r = h
        .patch(&token, &format!("/api/v2/users/{aoife}"), json!({"version": current, "name": "Former Agent 1", "email": "former.agent.1@invalid.example.com", "title": null}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["name"], "Former Agent 1");
    assert_eq!(r.body["version"], current + 1);
    assert!(r.body["title"].is_null());
    assert_eq!(
        h.emu.user(&aoife).unwrap().email,
        "former.agent.1@invalid.example.com"
    );
}

#[tokio::test]
async fn patch_carrying_state_changes_only_the_state() {
    let h = start().await;
    let token = h.token().await;
    let niamh = h.persona("active-agent").user_id.unwrap();
    let v = h.emu.user(&niamh).unwrap().version;
    let r = h
        .patch(
            &token,
            &format!("/api/v2/users/{niamh}"),
            json!({"version": v, "state": "inactive", "name": "Changed"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["state"], "inactive");
    assert_eq!(r.body["name"], "Niamh Doyle");
    let r = h
        .patch(
            &token,
            &format!("/api/v2/users/{niamh}"),
            json!({"version": v + 1, "state": "retired"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn delete_is_soft_and_a_deleted_user_can_be_read_and_restored() {
    let h = start().await;
    let token = h.token().await;
    let aoife = h.persona("former-agent").user_id.unwrap();
    let r = h.delete(&token, &format!("/api/v2/users/{aoife}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({}));
    assert_eq!(
        h.get(&token, &format!("/api/v2/users/{aoife}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = h
        .get(&token, &format!("/api/v2/users/{aoife}?state=deleted"))
        .await;
    assert_eq!(r.body["state"], "deleted");
    assert_eq!(
        h.delete(&token, &format!("/api/v2/users/{aoife}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Editing a deleted user is refused; restoring it works.
    let v = r.body["version"].as_u64().unwrap();
    let r = h
        .patch(
            &token,
            &format!("/api/v2/users/{aoife}"),
            json!({"version": v, "name": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = h
        .patch(
            &token,
            &format!("/api/v2/users/{aoife}"),
            json!({"version": v, "state": "inactive"}),
        )
        .await;
    assert_eq!(r.body["state"], "inactive");
}
