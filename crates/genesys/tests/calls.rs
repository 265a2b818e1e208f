//! Each call's wire format against the contract: paths, query parameters, bodies,
//! paging, and decoding of what comes back.

mod support;

use chrono::{DateTime, Utc};
use genesys::{
    ConversationQuery, GdprRequestStatus, GdprRequestType, GdprSubject, Interval, NewGdprRequest,
    ReplacementTerm, SearchType, SegmentDetailQueryFilter, UpdateUser, UserLookupState, UserState,
};
use serde_json::json;
use support::*;

fn subject() -> GdprSubject {
    GdprSubject {
        name: Some("Jane Doe".into()),
        phone_numbers: vec!["+353861234567".into()],
        email_addresses: vec!["jane@example.com".into()],
        ..GdprSubject::default()
    }
}

fn gdpr_request(id: &str, name: &str) -> serde_json::Value {
    json!({"id": id, "name": name, "requestType": "GDPR_EXPORT", "status": "COMPLETED",
           "createdDate": "2026-11-22T11:05:00Z", "subject": {"phoneNumbers": ["+353861234567"]}})
}

// ---- GDPR ----

#[tokio::test]
async fn subject_search_sends_search_type_and_value_as_query_parameters() {
    let server = MockGenesys::start().await;
    server.always(
        "GET",
        "/api/v2/gdpr/subjects",
        Scripted::ok(json!({"entities": [
            {"name": "Jane Doe", "emailAddresses": ["jane+gdpr@example.com"], "userId": "u-1"},
            {"externalContactId": "ec-1", "socialHandle": {"type": "WHATSAPP", "value": "+353"}}
        ], "pageSize": 25, "pageNumber": 1, "total": 2, "pageCount": 1})),
    );
    let client = client(&server, virtual_clock());

    let subjects = client
        .search_gdpr_subjects(SearchType::Email, "jane+gdpr@example.com")
        .await
        .unwrap();

    let sent = &server.api_requests("/api/v2/gdpr/subjects")[0];
    assert_eq!(sent.method, "GET");
    assert_eq!(
        sent.query_pairs(),
        [
            ("searchType".into(), "EMAIL".into()),
            ("searchValue".into(), "jane+gdpr@example.com".into())
        ]
    );
    assert_eq!(subjects.len(), 2);
    assert_eq!(subjects[0].user_id.as_ref().unwrap().expose(), "u-1");
    // A social network this client does not know is kept, not an error.
    assert_eq!(
        subjects[1].social_handle.as_ref().unwrap().kind.as_str(),
        "WHATSAPP"
    );
}

#[tokio::test]
async fn delete_confirmed_is_a_query_parameter_and_never_in_the_body() {
    let server = MockGenesys::start().await;
    server.always(
        "POST",
        "/api/v2/gdpr/requests",
        Scripted::json(
            202,
            json!({"id": "d1", "requestType": "GDPR_DELETE", "status": "INITIATED",
            "subject": {"phoneNumbers": ["+353861234567"]}}),
        ),
    );
    let client = client(&server, virtual_clock());

    let created = client
        .create_gdpr_request(
            &NewGdprRequest::delete(subject()).with_name("DSAR-2026-0042"),
            true,
        )
        .await
        .unwrap();

    assert_eq!(created.status, Some(GdprRequestStatus::Initiated));
    let sent = &server.api_requests("/api/v2/gdpr/requests")[0];
    assert_eq!(
        sent.query_pairs(),
        [("deleteConfirmed".into(), "true".into())]
    );
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(
        sent.json(),
        json!({"requestType": "GDPR_DELETE", "name": "DSAR-2026-0042",
               "subject": {"name": "Jane Doe", "phoneNumbers": ["+353861234567"],
                           "emailAddresses": ["jane@example.com"]}})
    );
}

#[tokio::test]
async fn export_is_submitted_without_delete_confirmed() {
    let server = MockGenesys::start().await;
    server.always(
        "POST",
        "/api/v2/gdpr/requests",
        Scripted::ok(gdpr_request("e1", "DSAR-1")),
    );
    let client = client(&server, virtual_clock());
    client
        .create_gdpr_request(&NewGdprRequest::export(subject()), false)
        .await
        .unwrap();
    let sent = &server.api_requests("/api/v2/gdpr/requests")[0];
    assert_eq!(sent.query, None);
    assert_eq!(sent.json()["requestType"], "GDPR_EXPORT");
}

#[tokio::test]
async fn contract_violations_are_refused_before_any_http_call() {
    let server = MockGenesys::start().await;
    let client = client(&server, virtual_clock());
    let term = ReplacementTerm {
        kind: SearchType::Email,
        existing_value: "jane@example.com".into(),
        updated_value: "x@example.org".into(),
    };
    let mut export_with_terms = NewGdprRequest::export(subject());
    export_with_terms.replacement_terms = vec![term.clone()];
    let cases = [
        (NewGdprRequest::delete(subject()), false, "delete_confirmed"),
        (export_with_terms, false, "replacementTerms"),
        (NewGdprRequest::export(subject()), true, "delete_confirmed"),
        (
            NewGdprRequest::update(subject(), vec![]),
            false,
            "replacementTerms",
        ),
        (
            NewGdprRequest::export(GdprSubject::default()),
            false,
            "no identifier",
        ),
    ];
    for (request, confirmed, mentions) in cases {
        let err = client
            .create_gdpr_request(&request, confirmed)
            .await
            .unwrap_err();
        assert_eq!(err.name(), "GenesysInvalidRequest");
        assert!(err.to_string().contains(mentions), "{err}");
        assert!(!err.to_string().contains("jane"), "{err}");
    }
    // A well-formed update passes the local checks.
    server.always(
        "POST",
        "/api/v2/gdpr/requests",
        Scripted::ok(gdpr_request("u1", "x")),
    );
    client
        .create_gdpr_request(&NewGdprRequest::update(subject(), vec![term]), false)
        .await
        .unwrap();
    let sent = server.requests();
    assert_eq!(
        sent.len(),
        2,
        "only the token and the valid update: {sent:?}"
    );
    assert_eq!(
        sent[1].json()["replacementTerms"],
        json!([{"type": "EMAIL", "existingValue": "jane@example.com", "updatedValue": "x@example.org"}])
    );
}

#[tokio::test]
async fn get_request_reads_status_results_and_keeps_unknown_values() {
    let server = MockGenesys::start().await;
    server.always(
        "GET",
        "/api/v2/gdpr/requests/r-9",
        Scripted::ok(json!({"id": "r-9", "requestType": "GDPR_EXPORT", "status": "ARCHIVING",
            "subject": {}, "resultsUrl": "https://x/1", "resultsUrls": ["https://x/1", "https://x/2"],
            "createdBy": {"id": "c", "name": "Integration"}, "newField": {"a": 1}})),
    );
    let client = client(&server, virtual_clock());

    let request = client.get_gdpr_request("r-9").await.unwrap();

    assert_eq!(
        request.status,
        Some(GdprRequestStatus::Unknown("ARCHIVING".into()))
    );
    assert!(!request.status.as_ref().unwrap().is_terminal());
    assert_eq!(request.result_urls(), ["https://x/1", "https://x/2"]);
    assert_eq!(
        serde_json::to_value(&request).unwrap()["status"],
        "ARCHIVING"
    );
}

#[tokio::test]
async fn list_requests_follows_page_count_through_every_page() {
    let server = MockGenesys::start().await;
    let page = |n: u32, ids: &[&str]| {
        Scripted::ok(json!({
            "entities": ids.iter().map(|id| gdpr_request(id, id)).collect::<Vec<_>>(),
            "pageSize": 2, "pageNumber": n, "total": 5, "pageCount": 3
        }))
    };
    server.script(
        "GET",
        "/api/v2/gdpr/requests",
        vec![page(1, &["a", "b"]), page(2, &["c", "d"]), page(3, &["e"])],
    );
    let client = genesys::GenesysClient::new(
        config(
            genesys::Environment::BaseUrl(server.base.clone()),
            virtual_clock(),
        )
        .with_page_size(2),
    )
    .unwrap();

    let all = client.list_gdpr_requests().await.unwrap();

    let ids: Vec<_> = all.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
    let pages: Vec<_> = server
        .api_requests("/api/v2/gdpr/requests")
        .iter()
        .map(|r| {
            (
                r.query_param("pageSize").unwrap(),
                r.query_param("pageNumber").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pages,
        [
            ("2".into(), "1".into()),
            ("2".into(), "2".into()),
            ("2".into(), "3".into())
        ]
    );
}

#[tokio::test]
async fn requests_are_found_by_name_across_pages() {
    let server = MockGenesys::start().await;
    server.script(
        "GET",
        "/api/v2/gdpr/requests",
        vec![
            Scripted::ok(json!({"entities": [gdpr_request("a", "DSAR-1")], "pageCount": 2})),
            Scripted::ok(json!({"entities": [gdpr_request("b", "DSAR-2")], "pageCount": 2})),
        ],
    );
    let client = client(&server, virtual_clock());
    let found = client.find_gdpr_requests_by_name("DSAR-2").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, "b");
    assert_eq!(found[0].request_type, GdprRequestType::GdprExport);
}

#[tokio::test]
async fn results_on_the_api_origin_are_fetched_with_the_bearer_token() {
    let server = MockGenesys::start().await;
    server.always(
        "GET",
        "/api/v2/downloads/abc",
        Scripted::bytes(200, b"\x50\x4b\x03\x04zip"),
    );
    let client = client(&server, virtual_clock());

    let url = format!("{}api/v2/downloads/abc?sig=1", server.base);
    let bytes = client.download_results(&url).await.unwrap();

    assert_eq!(&bytes[..], b"\x50\x4b\x03\x04zip");
    let sent = &server.api_requests("/api/v2/downloads/abc")[0];
    assert_eq!(sent.header("authorization"), Some("Bearer tok-1"));
    assert_eq!(sent.query.as_deref(), Some("sig=1"));
}

#[tokio::test]
async fn results_on_a_foreign_host_are_fetched_without_the_bearer_token() {
    let server = MockGenesys::start().await;
    server.always(
        "GET",
        "/api/v2/gdpr/requests/r1",
        Scripted::ok(gdpr_request("r1", "x")),
    );
    let foreign = MockGenesys::start().await;
    foreign.always(
        "GET",
        "/exports/r1.json",
        Scripted::ok(json!({"conversations": [{"id": "c1"}]})),
    );
    let client = client(&server, virtual_clock());
    // Obtain a token first, so there is one that could leak.
    client.get_gdpr_request("r1").await.unwrap();

    let url = format!("{}exports/r1.json", foreign.base);
    let parsed: serde_json::Value = client.download_results_json(&url).await.unwrap();

    assert_eq!(parsed["conversations"][0]["id"], "c1");
    let sent = &foreign.requests()[0];
    assert_eq!(sent.header("authorization"), None);
    assert!(foreign.token_requests().is_empty());
}

#[tokio::test]
async fn results_url_that_is_not_http_is_refused() {
    let server = MockGenesys::start().await;
    let client = client(&server, virtual_clock());
    let err = client
        .download_results("file:///etc/passwd")
        .await
        .unwrap_err();
    assert_eq!(err.name(), "GenesysInvalidRequest");
    assert!(server.requests().is_empty());
}

// ---- Users ----

fn user_json(version: i64, state: &str) -> serde_json::Value {
    json!({"id": "u-1", "name": "Agent Smith", "email": "smith@corp.example", "state": state,
           "version": version, "username": "smith@corp.example", "selfUri": "/api/v2/users/u-1"})
}

#[tokio::test]
async fn get_user_passes_the_state_query_including_deleted() {
    let server = MockGenesys::start().await;
    server.always(
        "GET",
        "/api/v2/users/u-1",
        Scripted::ok(user_json(4, "deleted")),
    );
    let client = client(&server, virtual_clock());

    let user = client
        .get_user("u-1", UserLookupState::Deleted)
        .await
        .unwrap();
    client
        .get_user("u-1", UserLookupState::Active)
        .await
        .unwrap();

    assert_eq!(user.state, Some(UserState::Deleted));
    assert_eq!(user.version, 4);
    let sent = server.api_requests("/api/v2/users/u-1");
    assert_eq!(sent[0].query_param("state").as_deref(), Some("deleted"));
    assert_eq!(sent[1].query_param("state").as_deref(), Some("active"));
}

#[tokio::test]
async fn patch_user_sends_the_version_and_only_the_fields_set() {
    let server = MockGenesys::start().await;
    server.always(
        "PATCH",
        "/api/v2/users/u-1",
        Scripted::ok(user_json(5, "active")),
    );
    let client = client(&server, virtual_clock());
    let mut update = UpdateUser::new(4);
    update.name = Some("Former agent 7".into());
    update.email = Some("former-agent-7@invalid.example".into());
    update.addresses = Some(vec![]);

    let user = client.patch_user("u-1", &update).await.unwrap();

    assert_eq!(user.version, 5);
    let sent = &server.api_requests("/api/v2/users/u-1")[0];
    assert_eq!(sent.method, "PATCH");
    assert_eq!(
        sent.json(),
        json!({"version": 4, "name": "Former agent 7", "email": "former-agent-7@invalid.example",
               "addresses": []})
    );
}

#[tokio::test]
async fn a_state_change_is_its_own_patch_of_version_and_state() {
    let server = MockGenesys::start().await;
    server.always(
        "PATCH",
        "/api/v2/users/u-1",
        Scripted::ok(user_json(6, "inactive")),
    );
    let client = client(&server, virtual_clock());

    client
        .set_user_state("u-1", 5, UserState::Inactive)
        .await
        .unwrap();
    let sent = &server.api_requests("/api/v2/users/u-1")[0];
    assert_eq!(sent.json(), json!({"version": 5, "state": "inactive"}));

    let mut mixed = UpdateUser::new(6);
    mixed.state = Some(UserState::Inactive);
    mixed.name = Some("x".into());
    let err = client.patch_user("u-1", &mixed).await.unwrap_err();
    assert_eq!(err.name(), "GenesysInvalidRequest");
    assert_eq!(server.api_requests("/api/v2/users/u-1").len(), 1);
}

#[tokio::test]
async fn stale_user_version_is_a_conflict() {
    let server = MockGenesys::start().await;
    server.always(
        "PATCH",
        "/api/v2/users/u-1",
        Scripted::error(400, "general.conflict", "ctx"),
    );
    let client = client(&server, virtual_clock());
    let err = client
        .patch_user("u-1", &UpdateUser::new(1))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "GenesysConflict");
}

#[tokio::test]
async fn delete_user_accepts_the_empty_object_reply() {
    let server = MockGenesys::start().await;
    server.always("DELETE", "/api/v2/users/u-1", Scripted::ok(json!({})));
    let client = client(&server, virtual_clock());
    client.delete_user("u-1").await.unwrap();
    assert_eq!(server.api_requests("/api/v2/users/u-1")[0].method, "DELETE");
}

#[tokio::test]
async fn empty_ids_are_refused_instead_of_reaching_another_endpoint() {
    let server = MockGenesys::start().await;
    let client = client(&server, virtual_clock());
    // GET /api/v2/users/ would list every user; an empty id must not get there.
    assert_eq!(
        client
            .get_user("", UserLookupState::Active)
            .await
            .unwrap_err()
            .name(),
        "GenesysInvalidRequest"
    );
    assert!(client.delete_user(" ").await.is_err());
    assert!(client.get_gdpr_request("").await.is_err());
    assert!(client.list_recording_metadata("").await.is_err());
    assert!(server.requests().is_empty());
}

// ---- Recordings ----

#[tokio::test]
async fn recording_metadata_of_a_conversation_is_listed() {
    let server = MockGenesys::start().await;
    server.always(
        "GET",
        "/api/v2/conversations/c-1/recordingmetadata",
        Scripted::ok(json!([
            {"id": "rec-1", "conversationId": "c-1", "media": "audio", "fileState": "AVAILABLE",
             "deleteDate": "2027-01-01T00:00:00.000Z", "mediaSubtype": "Trunk", "region": "eu-west-1"},
            {"id": "rec-2", "conversationId": "c-1", "fileState": "THAWING"}
        ])),
    );
    let client = client(&server, virtual_clock());

    let recordings = client.list_recording_metadata("c-1").await.unwrap();

    assert_eq!(recordings.len(), 2);
    assert_eq!(
        recordings[0].file_state,
        Some(genesys::FileState::Available)
    );
    assert_eq!(
        recordings[0].delete_date,
        Some("2027-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap())
    );
    assert_eq!(
        recordings[1].file_state,
        Some(genesys::FileState::Unknown("THAWING".into()))
    );
}

#[tokio::test]
async fn recording_deletion_is_a_put_of_delete_date() {
    let server = MockGenesys::start().await;
    server.always(
        "PUT",
        "/api/v2/conversations/c-1/recordings/rec-1",
        Scripted::ok(json!({"id": "rec-1", "deleteDate": "2026-11-22T11:00:00.000Z"})),
    );
    let client = client(&server, virtual_clock());

    let updated = client
        .set_recording_delete_date("c-1", "rec-1", t0())
        .await
        .unwrap();

    assert_eq!(updated.delete_date, Some(t0()));
    let sent = &server.api_requests("/api/v2/conversations/c-1/recordings/rec-1")[0];
    assert_eq!(sent.method, "PUT");
    assert_eq!(sent.json(), json!({"deleteDate": "2026-11-22T11:00:00Z"}));
    assert_eq!(sent.query, None);
}

#[tokio::test]
async fn deletion_protection_is_queried_in_batches_of_one_hundred() {
    let server = MockGenesys::start().await;
    server.script(
        "POST",
        "/api/v2/recordings/deletionprotection",
        vec![
            Scripted::ok(json!([{"id": "c-5", "selfUri": "/api/v2/conversations/c-5"}])),
            Scripted::ok(json!([])),
            Scripted::ok(json!([{"id": "c-240"}])),
        ],
    );
    let client = client(&server, virtual_clock());
    let ids: Vec<String> = (0..250).map(|i| format!("c-{i}")).collect();

    let protected = client.protected_conversations(&ids).await.unwrap();

    let protected: Vec<_> = protected.iter().map(|r| r.id.clone().unwrap()).collect();
    assert_eq!(protected, ["c-5", "c-240"]);
    let sent = server.api_requests("/api/v2/recordings/deletionprotection");
    let sizes: Vec<_> = sent
        .iter()
        .map(|r| r.json()["conversationIds"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(sent[2].json()["conversationIds"][49], "c-249");
    assert!(
        client
            .protected_conversations(&[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        server
            .api_requests("/api/v2/recordings/deletionprotection")
            .len(),
        3
    );
}

#[tokio::test]
async fn deletion_protection_is_set_with_the_protect_query_and_accepts_204_or_a_result() {
    let server = MockGenesys::start().await;
    server.script(
        "PUT",
        "/api/v2/recordings/deletionprotection",
        vec![
            Scripted::empty(204),
            Scripted::ok(json!({"failedUpdates": [
                {"conversation": {"id": "c-150"}, "errorCode": "recording.conversation.not.found",
                 "errorMessage": "not found"}]})),
        ],
    );
    let client = client(&server, virtual_clock());
    let ids: Vec<String> = (0..150).map(|i| format!("c-{i}")).collect();

    let result = client.set_deletion_protection(&ids, false).await.unwrap();

    assert_eq!(result.failed_updates.len(), 1);
    assert_eq!(
        result.failed_updates[0].error_code.as_deref(),
        Some("recording.conversation.not.found")
    );
    let sent = server.api_requests("/api/v2/recordings/deletionprotection");
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|r| r.method == "PUT"));
    assert!(
        sent.iter()
            .all(|r| r.query_param("protect").as_deref() == Some("false"))
    );
}

// ---- Analytics ----

fn conversation(id: &str) -> serde_json::Value {
    json!({"conversationId": id, "conversationStart": "2024-03-01T10:00:00.000Z",
           "participants": [{"purpose": "customer", "sessions": [{"ani": "tel:+353861234567",
           "mediaType": "voice", "segments": [{"segmentType": "interact"}]}]}]})
}

fn interval() -> Interval {
    Interval::new(
        "2024-01-01T00:00:00Z".parse().unwrap(),
        "2024-01-08T00:00:00Z".parse().unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn conversation_query_sends_interval_and_segment_filters() {
    let server = MockGenesys::start().await;
    server.always(
        "POST",
        "/api/v2/analytics/conversations/details/query",
        Scripted::ok(json!({"conversations": [conversation("c-1")], "totalHits": 1})),
    );
    let client = client(&server, virtual_clock());
    let query = ConversationQuery::new(interval())
        .with_segment_filter(SegmentDetailQueryFilter::ani_or_dnis("tel:+353861234567"));

    let page = client.query_conversation_details(&query).await.unwrap();

    assert_eq!(page.total_hits, Some(1));
    let body = server.api_requests("/api/v2/analytics/conversations/details/query")[0].json();
    assert_eq!(
        body["interval"],
        "2024-01-01T00:00:00.000Z/2024-01-08T00:00:00.000Z"
    );
    assert_eq!(body["segmentFilters"][0]["type"], "or");
    assert_eq!(
        body["segmentFilters"][0]["predicates"][0]["dimension"],
        "ani"
    );
    assert_eq!(
        body["segmentFilters"][0]["predicates"][1]["dimension"],
        "dnis"
    );
    assert_eq!(
        body["segmentFilters"][0]["predicates"][0]["value"],
        "tel:+353861234567"
    );
}

#[tokio::test]
async fn conversation_query_helper_fetches_every_page() {
    let server = MockGenesys::start().await;
    server.script(
        "POST",
        "/api/v2/analytics/conversations/details/query",
        vec![
            Scripted::ok(json!({"conversations": [conversation("c-1"), conversation("c-2")], "totalHits": 5})),
            Scripted::ok(json!({"conversations": [conversation("c-3"), conversation("c-4")], "totalHits": 5})),
            Scripted::ok(json!({"conversations": [conversation("c-5")], "totalHits": 5})),
        ],
    );
    let client = client(&server, virtual_clock());
    let query = ConversationQuery::new(interval()).with_paging(2, 1);

    let all = client.query_conversation_details_all(&query).await.unwrap();

    let ids: Vec<_> = all
        .iter()
        .map(|c| c.conversation_id.clone().unwrap())
        .collect();
    assert_eq!(ids, ["c-1", "c-2", "c-3", "c-4", "c-5"]);
    let pages: Vec<_> = server
        .api_requests("/api/v2/analytics/conversations/details/query")
        .iter()
        .map(|r| r.json()["paging"].clone())
        .collect();
    assert_eq!(
        pages,
        [
            json!({"pageSize": 2, "pageNumber": 1}),
            json!({"pageSize": 2, "pageNumber": 2}),
            json!({"pageSize": 2, "pageNumber": 3})
        ]
    );
}

#[tokio::test]
async fn conversation_query_helper_stops_at_total_hits_on_a_full_last_page() {
    let server = MockGenesys::start().await;
    server.script(
        "POST",
        "/api/v2/analytics/conversations/details/query",
        vec![
            Scripted::ok(json!({"conversations": [conversation("c-1"), conversation("c-2")], "totalHits": 4})),
            Scripted::ok(json!({"conversations": [conversation("c-3"), conversation("c-4")], "totalHits": 4})),
        ],
    );
    let client = client(&server, virtual_clock());
    let query = ConversationQuery::new(interval()).with_paging(2, 1);
    let all = client.query_conversation_details_all(&query).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(
        server
            .api_requests("/api/v2/analytics/conversations/details/query")
            .len(),
        2
    );
}

#[tokio::test]
async fn single_conversation_details_are_read() {
    let server = MockGenesys::start().await;
    server.always(
        "GET",
        "/api/v2/analytics/conversations/c-1/details",
        Scripted::ok(conversation("c-1")),
    );
    let client = client(&server, virtual_clock());
    let c = client.get_conversation_details("c-1").await.unwrap();
    assert_eq!(c.conversation_id.as_deref(), Some("c-1"));
    assert_eq!(
        c.participants[0].sessions[0].ani.as_ref().unwrap().expose(),
        "tel:+353861234567"
    );
}

#[tokio::test]
async fn a_success_with_a_body_of_the_wrong_shape_is_an_invalid_response_without_the_body() {
    let server = MockGenesys::start().await;
    server.always(
        "GET",
        "/api/v2/gdpr/requests/r1",
        Scripted::ok(json!({"id": "r1", "requestType": {"secret": "jane@example.com"}})),
    );
    let client = client(&server, virtual_clock());
    let err = client.get_gdpr_request("r1").await.unwrap_err();
    assert_eq!(err.name(), "GenesysInvalidResponse");
    assert!(!format!("{err} {err:?}").contains("jane"), "{err}");
}

// ---- Bounded lookup by name ----

fn listed(id: &str, name: &str, created: &str) -> serde_json::Value {
    json!({"id": id, "name": name, "requestType": "GDPR_DELETE", "status": "COMPLETED",
           "createdDate": created, "subject": {}})
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[tokio::test]
async fn the_lookup_by_name_stops_at_the_first_request_older_than_asked() {
    let server = MockGenesys::start().await;
    server.script(
        "GET",
        "/api/v2/gdpr/requests",
        vec![Scripted::ok(json!({"pageCount": 400, "entities": [
            listed("n2", "other", "2026-11-22T11:10:00Z"),
            listed("n1", "other", "2026-11-22T11:05:00Z"),
            listed("o1", "mine", "2026-11-20T09:00:00Z"),
        ]}))],
    );
    let client = client(&server, virtual_clock());
    let got = client
        .find_recent_gdpr_request_by_name("mine", at("2026-11-22T11:00:00Z"), 5)
        .await
        .unwrap();
    assert!(matches!(got, genesys::NamedLookup::Absent), "{got:?}");
    assert_eq!(
        server.api_requests("/api/v2/gdpr/requests").len(),
        1,
        "one page, not 400"
    );
}

#[tokio::test]
async fn the_lookup_by_name_finds_a_request_on_a_later_page() {
    let server = MockGenesys::start().await;
    server.script(
        "GET",
        "/api/v2/gdpr/requests",
        vec![
            Scripted::ok(json!({"pageCount": 9, "entities": [
                listed("n3", "other", "2026-11-22T11:30:00Z")]})),
            Scripted::ok(json!({"pageCount": 9, "entities": [
                listed("r1", "mine", "2026-11-22T11:01:00Z")]})),
            Scripted::ok(json!({"pageCount": 9, "entities": [
                listed("o1", "x", "2026-11-01T00:00:00Z")]})),
        ],
    );
    let client = client(&server, virtual_clock());
    let got = client
        .find_recent_gdpr_request_by_name("mine", at("2026-11-22T11:00:00Z"), 5)
        .await
        .unwrap();
    match got {
        genesys::NamedLookup::Found(list) => assert_eq!(list[0].id, "r1"),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.api_requests("/api/v2/gdpr/requests").len(), 3);
}

#[tokio::test]
async fn the_lookup_by_name_is_unsure_when_the_bound_runs_out_or_the_order_is_not_newest_first() {
    let server = MockGenesys::start().await;
    server.always(
        "GET",
        "/api/v2/gdpr/requests",
        Scripted::ok(json!({"pageCount": 9, "entities": [
            listed("n3", "other", "2026-11-22T11:30:00Z")]})),
    );
    let client = client(&server, virtual_clock());
    let got = client
        .find_recent_gdpr_request_by_name("mine", at("2026-11-22T11:00:00Z"), 2)
        .await
        .unwrap();
    assert!(matches!(got, genesys::NamedLookup::Unsure(_)), "{got:?}");

    let oldest_first = MockGenesys::start().await;
    oldest_first.always(
        "GET",
        "/api/v2/gdpr/requests",
        Scripted::ok(json!({"pageCount": 1, "entities": [
            listed("a", "other", "2026-11-22T11:10:00Z"),
            listed("b", "other", "2026-11-22T11:20:00Z")]})),
    );
    let client = support::client(&oldest_first, virtual_clock());
    let got = client
        .find_recent_gdpr_request_by_name("mine", at("2026-11-22T11:00:00Z"), 2)
        .await
        .unwrap();
    assert!(matches!(got, genesys::NamedLookup::Unsure(_)), "{got:?}");
}

// ---- Bounded analytics intervals ----

#[tokio::test]
async fn a_details_query_longer_than_the_maximum_interval_is_refused_locally() {
    let server = MockGenesys::start().await;
    let client = client(&server, virtual_clock());
    let long = Interval::new(at("2026-01-01T00:00:00Z"), at("2026-03-01T00:00:00Z")).unwrap();
    let err = client
        .query_conversation_details(&ConversationQuery::new(long))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "GenesysInvalidRequest");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_span_is_asked_in_bounded_slices_that_stop_at_the_clock() {
    let server = MockGenesys::start().await;
    server.always(
        "POST",
        "/api/v2/analytics/conversations/details/query",
        Scripted::ok(json!({"conversations": [], "totalHits": 0})),
    );
    let clock = virtual_clock(); // 2026-11-22T11:00:00Z
    let client = client(&server, clock);
    let template = ConversationQuery::new(interval());
    client
        .conversation_details_between(
            &template,
            at("2026-08-01T11:00:00Z"),
            at("2027-06-01T00:00:00Z"),
        )
        .await
        .unwrap();
    let sent = server.api_requests("/api/v2/analytics/conversations/details/query");
    let intervals: Vec<Interval> = sent
        .iter()
        .map(|r| r.json()["interval"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(intervals.len(), 4, "113 days in 31-day slices");
    assert!(
        intervals
            .iter()
            .all(|i| i.length() <= genesys::MAX_DETAILS_QUERY_INTERVAL)
    );
    assert_eq!(intervals.last().unwrap().end(), at("2026-11-22T11:00:00Z"));
}

#[tokio::test]
async fn a_413_halves_the_slice_and_the_span_is_still_covered_end_to_end() {
    let server = MockGenesys::start().await;
    let path = "/api/v2/analytics/conversations/details/query";
    // The org refuses the first two tries (31 days, then 15.5): a smaller limit than
    // the one reported.
    server.script(
        "POST",
        path,
        vec![
            Scripted::error(413, "analytics.query.too.large", "ctx-1"),
            Scripted::error(413, "analytics.query.too.large", "ctx-2"),
        ],
    );
    server.always(
        "POST",
        path,
        Scripted::ok(json!({"conversations": [], "totalHits": 0})),
    );
    let client = client(&server, virtual_clock()); // 2026-11-22T11:00:00Z
    let from = at("2026-10-01T11:00:00Z");
    client
        .conversation_details_between(
            &ConversationQuery::new(interval()),
            from,
            at("2027-01-01T00:00:00Z"),
        )
        .await
        .unwrap();
    let asked: Vec<Interval> = server
        .api_requests(path)
        .iter()
        .map(|r| r.json()["interval"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(asked[0].length(), genesys::MAX_DETAILS_QUERY_INTERVAL);
    assert_eq!(asked[1].length(), genesys::MAX_DETAILS_QUERY_INTERVAL / 2);
    let answered = &asked[2..];
    assert!(
        answered
            .iter()
            .all(|i| i.length() <= genesys::MAX_DETAILS_QUERY_INTERVAL / 4)
    );
    assert_eq!(
        answered[0].start(),
        from,
        "the refused slice is asked again, smaller"
    );
    assert!(answered.windows(2).all(|w| w[0].end() == w[1].start()));
    assert_eq!(answered.last().unwrap().end(), at("2026-11-22T11:00:00Z"));
}

#[tokio::test]
async fn a_413_on_a_one_day_slice_is_the_callers_error() {
    let server = MockGenesys::start().await;
    let path = "/api/v2/analytics/conversations/details/query";
    server.always(
        "POST",
        path,
        Scripted::error(413, "analytics.query.too.large", "ctx-1"),
    );
    let client = client(&server, virtual_clock());
    let err = client
        .conversation_details_between(
            &ConversationQuery::new(interval()),
            at("2026-11-01T00:00:00Z"),
            at("2026-11-20T00:00:00Z"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.name(), "GenesysRejected");
    // 31 → 15.5 → 7.75 → 3.9 → 1.9 → 1 day, then the error: bounded, no loop.
    assert_eq!(server.api_requests(path).len(), 6);
}
