//! Conversation details query: the day-granularity trap, filters, paging, order.

mod common;

use std::collections::BTreeSet;

use common::{Harness, start_with};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ALL_TIME: &str = "2021-01-01T00:00:00.000Z/2026-11-01T00:00:00.000Z";

/// An emulator whose details query answers any interval, so a test can ask all time
/// at once (the default refuses more than 31 days, as real orgs are reported to).
async fn start() -> Harness {
    start_with(|b| b.max_details_interval(chrono::TimeDelta::days(100 * 366))).await
}

async fn query(h: &Harness, token: &str, body: Value) -> (StatusCode, Value) {
    let r = h
        .post(token, "/api/v2/analytics/conversations/details/query", body)
        .await;
    (r.status, r.body)
}

/// Every conversation id of every page.
async fn all_ids(h: &Harness, token: &str, mut body: Value) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for page in 1.. {
        body["paging"] = json!({"pageSize": 100, "pageNumber": page});
        let (status, v) = query(h, token, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let Some(convs) = v["conversations"].as_array() else {
            break;
        };
        ids.extend(
            convs
                .iter()
                .map(|c| c["conversationId"].as_str().unwrap().to_string()),
        );
    }
    ids
}

#[tokio::test]
async fn sync_query_returns_conversations_of_every_day_the_interval_touches() {
    let h = start().await;
    let token = h.token().await;
    let liam = h.persona("happy-path");
    let call = &liam.customer_conversation_ids[0]; // 2025-03-12T10:15Z
    let filter = json!([{"type": "or", "predicates": [{"type": "dimension", "dimension": "ani", "operator": "matches", "value": "tel:+353834567890"}]}]);
    // One hour at midnight still returns the 10:15 call: callers must post-filter.
    let (_, v) = query(&h, &token, json!({"interval": "2025-03-12T00:00:00.000Z/2025-03-12T01:00:00.000Z", "segmentFilters": filter})).await;
    assert_eq!(v["totalHits"], 1);
    assert_eq!(v["conversations"][0]["conversationId"], call.as_str());
    assert_eq!(
        v["conversations"][0]["conversationStart"],
        "2025-03-12T10:15:00.000Z"
    );
    // An interval ending at midnight does not touch that day.
    let (_, v) = query(&h, &token, json!({"interval": "2025-03-11T00:00:00.000Z/2025-03-12T00:00:00.000Z", "segmentFilters": filter})).await;
    assert_eq!(
        v,
        json!({"totalHits": 0}),
        "an empty result has no conversations member"
    );
}

#[tokio::test]
async fn phone_filters_match_the_stored_spelling_exactly() {
    let h = start().await;
    let token = h.token().await;
    let number = "+353861234567";
    let preds: Vec<Value> = [
        ("ani", format!("tel:{number}")),
        ("dnis", format!("tel:{number}")),
        ("addressFrom", number.to_string()),
        ("addressTo", number.to_string()),
    ]
    .into_iter()
    .map(|(d, v)| json!({"type": "dimension", "dimension": d, "operator": "matches", "value": v}))
    .collect();
    let got = all_ids(
        &h,
        &token,
        json!({"interval": ALL_TIME, "segmentFilters": [{"type": "or", "predicates": preds}]}),
    )
    .await;
    let want: BTreeSet<String> =
        h.ds.conversations
            .iter()
            .filter(|c| {
                c.participants.iter().any(|p| {
                    [&p.ani, &p.dnis]
                        .iter()
                        .any(|v| v.as_deref() == Some("tel:+353861234567"))
                        || [&p.address_from, &p.address_to]
                            .iter()
                            .any(|v| v.as_deref() == Some(number))
                })
            })
            .map(|c| c.id.clone())
            .collect();
    assert_eq!(got, want);
    assert_eq!(
        got.len(),
        10,
        "the SIP-spelled call is not found by the tel: spelling"
    );
    // A bare E.164 value does not match a voice ANI.
    let (_, v) = query(&h, &token, json!({"interval": ALL_TIME, "segmentFilters": [{"type": "and", "predicates": [{"dimension": "ani", "value": number}]}]})).await;
    assert_eq!(v["totalHits"], 0);
}

#[tokio::test]
async fn user_and_media_type_filters_combine_with_and() {
    let h = start().await;
    let token = h.token().await;
    let niamh = h.persona("active-agent");
    let uid = niamh.user_id.clone().unwrap();
    let got = all_ids(&h, &token, json!({"interval": ALL_TIME, "segmentFilters": [{"type": "and", "predicates": [{"dimension": "userId", "value": uid}]}]})).await;
    let want: BTreeSet<String> = niamh.agent_conversation_ids.iter().cloned().collect();
    assert_eq!(got, want);

    let body = json!({"interval": ALL_TIME, "segmentFilters": [
        {"type": "and", "predicates": [{"dimension": "userId", "value": uid}]},
        {"type": "and", "predicates": [{"dimension": "mediaType", "value": "email"}]},
    ]});
    let emails = all_ids(&h, &token, body).await;
    let want: BTreeSet<String> =
        h.ds.conversations
            .iter()
            .filter(|c| {
                niamh.agent_conversation_ids.contains(&c.id)
                    && c.media_type == genesys_emulator::MediaType::Email
            })
            .map(|c| c.id.clone())
            .collect();
    assert_eq!(emails, want);
    assert!(!emails.is_empty() && emails.len() < got.len());
}

#[tokio::test]
async fn clauses_exists_and_conversation_filters() {
    let h = start().await;
    let token = h.token().await;
    // Customers with no CRM record: a customer session without externalContactId.
    let body = json!({"interval": ALL_TIME, "segmentFilters": [{"type": "and", "clauses": [
        {"type": "and", "predicates": [
            {"dimension": "purpose", "value": "customer"},
            {"dimension": "externalContactId", "operator": "notExists"},
        ]}
    ]}]});
    let got = all_ids(&h, &token, body).await;
    let want: BTreeSet<String> =
        h.ds.conversations
            .iter()
            .filter(|c| {
                c.participants
                    .iter()
                    .any(|p| p.purpose == "customer" && p.external_contact_id.is_none())
            })
            .map(|c| c.id.clone())
            .collect();
    assert_eq!(got, want);
    assert!(!got.is_empty());

    let id = h.persona("legal-hold").protected_conversation_ids[0].clone();
    let body = json!({"interval": ALL_TIME, "conversationFilters": [{"type": "or", "predicates": [{"dimension": "conversationId", "value": id}]}]});
    let (_, v) = query(&h, &token, body).await;
    assert_eq!(v["totalHits"], 1);
    let c = &v["conversations"][0];
    let customer = &c["participants"][0];
    assert_eq!(customer["purpose"], "customer");
    assert_eq!(customer["sessions"][0]["mediaType"], "voice");
    assert_eq!(customer["sessions"][0]["ani"], "tel:+447700900123");
    assert!(customer["sessions"][0]["segments"][0]["segmentStart"].is_string());
}

#[tokio::test]
async fn paging_and_order() {
    let h = start().await;
    let token = h.token().await;
    let interval = "2024-01-01T00:00:00.000Z/2025-01-01T00:00:00.000Z";
    let (_, first) = query(
        &h,
        &token,
        json!({"interval": interval, "paging": {"pageSize": 10, "pageNumber": 1}}),
    )
    .await;
    let total = first["totalHits"].as_u64().unwrap();
    assert!(total > 20, "{total}");
    assert_eq!(first["conversations"].as_array().unwrap().len(), 10);
    let (_, second) = query(
        &h,
        &token,
        json!({"interval": interval, "paging": {"pageSize": 10, "pageNumber": 2}}),
    )
    .await;
    assert_ne!(
        first["conversations"][0]["conversationId"],
        second["conversations"][0]["conversationId"]
    );
    let starts: Vec<&str> = first["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["conversationStart"].as_str().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]));
    let (_, desc) = query(
        &h,
        &token,
        json!({"interval": interval, "order": "desc", "paging": {"pageSize": 1, "pageNumber": 1}}),
    )
    .await;
    assert!(
        desc["conversations"][0]["conversationStart"]
            .as_str()
            .unwrap()
            .starts_with("2024-12")
    );
    // Default page size is 25.
    let (_, v) = query(&h, &token, json!({"interval": interval})).await;
    assert_eq!(v["conversations"].as_array().unwrap().len(), 25);
}

#[tokio::test]
async fn bad_queries_get_400s() {
    let h = start().await;
    let token = h.token().await;
    for body in [
        json!({}),
        json!({"interval": "last week"}),
        json!({"interval": "2025-01-02T00:00:00Z/2025-01-01T00:00:00Z"}),
        json!({"interval": ALL_TIME, "segmentFilters": [{"type": "and", "predicates": [{"dimension": "shoeSize", "value": "9"}]}]}),
        json!({"interval": ALL_TIME, "segmentFilters": [{"type": "xor", "predicates": []}]}),
        json!({"interval": ALL_TIME, "segmentFilters": [{"type": "and", "predicates": [{"dimension": "ani"}]}]}),
        json!({"interval": ALL_TIME, "paging": {"pageSize": 1000, "pageNumber": 1}}),
        json!({"interval": ALL_TIME, "order": "sideways"}),
    ] {
        let (status, v) = query(&h, &token, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert!(v["details"][0]["fieldName"].is_string(), "{v}");
    }
}

#[tokio::test]
async fn conversation_details_by_id() {
    let h = start().await;
    let token = h.token().await;
    let id = &h.persona("email-and-voice").customer_conversation_ids[0];
    let r = h
        .get(
            &token,
            &format!("/api/v2/analytics/conversations/{id}/details"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["conversationId"], id.as_str());
    assert_eq!(
        r.body["participants"][0]["sessions"][0]["addressFrom"],
        "Grace.OConnor@Example.com"
    );
    let r = h
        .get(
            &token,
            "/api/v2/analytics/conversations/00000000-0000-4000-8000-000000000000/details",
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_interval_over_31_days_is_a_413_and_31_days_are_answered() {
    let h = start_with(|b| b).await;
    let token = h.token().await;
    let (status, v) = query(
        &h,
        &token,
        json!({"interval": "2025-01-01T00:00:00.000Z/2025-02-01T00:00:01.000Z"}),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(v["code"], "analytics.query.interval.too.large");
    let (status, v) = query(
        &h,
        &token,
        json!({"interval": "2025-01-01T00:00:00.000Z/2025-02-01T00:00:00.000Z"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
}
