//! GDPR subjects, requests, progression on the virtual clock, export results and
//! what a delete really removes.

mod common;

use common::start;
use genesys_emulator::{Fault, FaultAction, MediaType, RequestType};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn subject_search_by_phone_finds_both_crm_records_of_a_recycled_number() {
    let h = start().await;
    let token = h.token().await;
    let r = h
        .get(
            &token,
            "/api/v2/gdpr/subjects?searchType=PHONE&searchValue=%2B353%2086%20123%204567",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let ids: Vec<&str> = r.body["entities"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["externalContactId"].as_str())
        .collect();
    let old = h
        .persona("recycled-number-old-owner")
        .external_contact_id
        .unwrap();
    let new = h
        .persona("recycled-number-new-owner")
        .external_contact_id
        .unwrap();
    assert!(
        ids.contains(&old.as_str()) && ids.contains(&new.as_str()),
        "{ids:?}"
    );
    assert_eq!(r.body["total"], 2);
}

#[tokio::test]
async fn subject_search_by_email_finds_the_user_and_by_unknown_number_the_raw_identifier() {
    let h = start().await;
    let token = h.token().await;
    let r = h.get(&token, "/api/v2/gdpr/subjects?searchType=EMAIL&searchValue=Aoife.Byrne%40brightwater.example.com").await;
    assert_eq!(
        r.body["entities"][0]["userId"],
        h.persona("former-agent").user_id.unwrap().as_str()
    );

    // A caller with no CRM record: the subject is the identifier as seen in conversations.
    let unknown =
        h.ds.conversations
            .iter()
            .find(|c| {
                c.participants[0].external_contact_id.is_none()
                    && c.participants[0].name.is_none()
                    && c.participants[0].ani.is_some()
            })
            .unwrap();
    let number = unknown.participants[0]
        .ani
        .clone()
        .unwrap()
        .replace("tel:", "");
    let r = h
        .send(
            h.http
                .get(h.url("/api/v2/gdpr/subjects"))
                .bearer_auth(&token)
                .query(&[("searchType", "PHONE"), ("searchValue", number.as_str())]),
        )
        .await;
    assert_eq!(r.body["entities"], json!([{"phoneNumbers": [number]}]));

    let r = h
        .get(
            &token,
            "/api/v2/gdpr/subjects?searchType=SHOE_SIZE&searchValue=9",
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["code"], "invalid.query.param.value");
    let r = h
        .get(&token, "/api/v2/gdpr/subjects?searchType=PHONE")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bad_gdpr_requests_get_precise_400s() {
    let h = start().await;
    let token = h.token().await;
    let cases = [
        (
            json!({"subject": {"phoneNumbers": ["+353834567890"]}}),
            "requestType",
        ),
        (json!({"requestType": "GDPR_EXPORT"}), "subject"),
        (
            json!({"requestType": "GDPR_ERASE", "subject": {"phoneNumbers": ["+353834567890"]}}),
            "requestType",
        ),
        (
            json!({"requestType": "GDPR_EXPORT", "subject": {}}),
            "subject",
        ),
        (
            json!({"requestType": "GDPR_EXPORT", "subject": {"phoneNumbers": ["call me"]}}),
            "subject.phoneNumbers[0]",
        ),
        (
            json!({"requestType": "GDPR_EXPORT", "subject": {"phoneNumbers": ["+353834567890"]}, "replacementTerms": [{"type": "PHONE", "existingValue": "a", "updatedValue": "b"}]}),
            "replacementTerms",
        ),
        // The how-to guide's body shape.
        (
            json!({"operations": [{"type": "GDPR_REQUEST", "requestType": "GDPR_DELETE", "gdprSubjectId": "x"}], "deleteRecordings": true}),
            "deleteRecordings",
        ),
    ];
    for (body, field) in cases {
        let r = h.post(&token, "/api/v2/gdpr/requests", body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            r.body["details"][0]["fieldName"], field,
            "{body}: {}",
            r.body
        );
    }
    let r = h
        .send(
            h.http
                .post(h.url("/api/v2/gdpr/requests"))
                .bearer_auth(&token)
                .body("{not json"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["code"], "bad.request");
    assert!(h.emu.gdpr_requests().is_empty());
}

#[tokio::test]
async fn gdpr_delete_without_delete_confirmed_is_refused() {
    let h = start().await;
    let token = h.token().await;
    let body =
        json!({"requestType": "GDPR_DELETE", "subject": {"phoneNumbers": ["+353834567890"]}});
    for path in [
        "/api/v2/gdpr/requests",
        "/api/v2/gdpr/requests?deleteConfirmed=false",
    ] {
        let r = h.post(&token, path, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.body["code"], "bad.request");
        assert_eq!(r.body["details"][0]["fieldName"], "deleteConfirmed");
    }
    let r = h
        .post(&token, "/api/v2/gdpr/requests?deleteConfirmed=maybe", body)
        .await;
    assert_eq!(r.body["code"], "invalid.query.param.value");
    assert!(h.emu.gdpr_requests().is_empty());
}

#[tokio::test]
async fn export_progresses_initiated_searching_finalizing_completed_on_the_clock() {
    let h = start().await;
    let token = h.token().await;
    let r = h
        .submit(
            &token,
            "GDPR_EXPORT",
            json!({"phoneNumbers": ["+353 83 456 7890"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.body["status"], "INITIATED");
    assert_eq!(r.body["requestType"], "GDPR_EXPORT");
    assert!(r.body["createdBy"]["id"].is_string() && r.body["createdDate"].is_string());
    assert!(r.body.get("resultsUrl").is_none());
    let id = r.body["id"].as_str().unwrap().to_string();
    let (seen, took) = h.run_to_end(&token, &id, 5).await;
    assert_eq!(seen, ["INITIATED", "SEARCHING", "FINALIZING", "COMPLETED"]);
    assert!(
        (60..=600).contains(&took),
        "a typical job takes minutes of emulator time, took {took}s"
    );
}

#[tokio::test]
async fn delete_progresses_through_deleting_and_bigger_subjects_take_longer() {
    let h = start().await;
    let token = h.token().await;
    let small = h
        .submit(
            &token,
            "GDPR_DELETE",
            json!({"phoneNumbers": ["+353834567890"]}),
        )
        .await;
    let big = h
        .submit(
            &token,
            "GDPR_DELETE",
            json!({"phoneNumbers": ["+353861234567"]}),
        )
        .await;
    let (seen, small_took) = h
        .run_to_end(&token, small.body["id"].as_str().unwrap(), 5)
        .await;
    assert_eq!(
        seen,
        [
            "INITIATED",
            "SEARCHING",
            "DELETING",
            "FINALIZING",
            "COMPLETED"
        ]
    );
    let (_, more) = h
        .run_to_end(&token, big.body["id"].as_str().unwrap(), 5)
        .await;
    assert!(
        more > 0,
        "the recycled number's request (11 conversations) was still running when the small one ({small_took}s) finished"
    );
}

#[tokio::test]
async fn export_results_list_what_matched_with_times_media_and_identifiers() {
    let h = start().await;
    let token = h.token().await;
    let grace = h.persona("email-and-voice");
    let r = h
        .submit(
            &token,
            "GDPR_EXPORT",
            json!({"emailAddresses": ["GRACE.OConnor@example.com"]}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    h.run_to_end(&token, &id, 30).await;
    let r = h.get(&token, &format!("/api/v2/gdpr/requests/{id}")).await;
    let url = r.body["resultsUrl"]
        .as_str()
        .expect("resultsUrl once COMPLETED")
        .to_string();
    assert_eq!(r.body["resultsUrls"], json!([url]));
    let results: Value = h.http.get(&url).send().await.unwrap().json().await.unwrap();
    let convs = results["conversations"].as_array().unwrap();
    let mut ids: Vec<&str> = convs
        .iter()
        .map(|c| c["conversationId"].as_str().unwrap())
        .collect();
    ids.sort();
    // Her e-mails and the chat where she gave her address; not her calls.
    let mut expected: Vec<&str> = grace
        .customer_conversation_ids
        .iter()
        .filter(|id| {
            h.ds.conversations
                .iter()
                .any(|c| &c.id == *id && c.media_type != genesys_emulator::MediaType::Voice)
        })
        .map(String::as_str)
        .collect();
    expected.sort();
    assert_eq!(ids, expected);
    for c in convs {
        assert!(c["conversationStart"].is_string() && c["conversationEnd"].is_string());
        assert!(["email", "chat"].contains(&c["mediaType"].as_str().unwrap()));
        assert_eq!(c["matchedIdentifiers"][0]["type"], "EMAIL");
        assert_eq!(
            c["matchedIdentifiers"][0]["value"],
            "GRACE.OConnor@example.com"
        );
        assert!(!c["recordings"].as_array().unwrap().is_empty());
    }
    assert_eq!(
        results["externalContacts"][0]["id"],
        grace.external_contact_id.unwrap().as_str()
    );
    assert_eq!(results["parts"], 1);
    // The export changed nothing.
    assert_eq!(h.emu.conversations().len(), h.ds.conversations.len());
}

#[tokio::test]
async fn large_exports_are_split_over_several_results_urls() {
    let h = common::start_with(|b| b.results_conversations_per_file(5)).await;
    let token = h.token().await;
    let r = h
        .submit(
            &token,
            "GDPR_EXPORT",
            json!({"phoneNumbers": ["+353861234567"]}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    h.run_to_end(&token, &id, 30).await;
    let r = h.get(&token, &format!("/api/v2/gdpr/requests/{id}")).await;
    let urls: Vec<String> = r.body["resultsUrls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        urls.len(),
        3,
        "11 conversations carry the number, 5 per file"
    );
    assert_eq!(r.body["resultsUrl"], urls[0].as_str());
    let mut total = 0;
    for u in &urls {
        let part: Value = h.http.get(u).send().await.unwrap().json().await.unwrap();
        total += part["conversations"].as_array().unwrap().len();
    }
    assert_eq!(total, 11);
}

#[tokio::test]
async fn delete_by_recycled_number_also_removes_the_later_owners_conversations() {
    let h = start().await;
    let token = h.token().await;
    let old = h.persona("recycled-number-old-owner");
    let new = h.persona("recycled-number-new-owner");
    let r = h
        .submit(
            &token,
            "GDPR_DELETE",
            json!({"phoneNumbers": ["+353 86 123 4567"]}),
        )
        .await;
    let (seen, _) = h
        .run_to_end(&token, r.body["id"].as_str().unwrap(), 30)
        .await;
    assert_eq!(seen.last().unwrap(), "COMPLETED");
    for id in old.customer_conversation_ids.iter().filter(|id| {
        // Declan's e-mail conversation is not keyed on the number.
        h.ds.conversations
            .iter()
            .any(|c| &c.id == *id && c.media_type != genesys_emulator::MediaType::Email)
    }) {
        assert!(
            h.emu.conversation(id).is_none(),
            "old owner's conversation {id} deleted"
        );
    }
    let by_phone = |id: &&String| {
        h.ds.conversations
            .iter()
            .any(|c| &c.id == *id && matches!(c.media_type, MediaType::Voice | MediaType::Message))
    };
    let new_by_phone: Vec<&String> = new
        .customer_conversation_ids
        .iter()
        .filter(by_phone)
        .collect();
    assert_eq!(new_by_phone.len(), 5);
    for id in &new_by_phone {
        assert!(
            h.emu.conversation(id).is_none(),
            "new owner's conversation {id} deleted too (the trap)"
        );
    }
    // Her chat carried no phone number, so it survives.
    assert_eq!(
        h.emu
            .conversations()
            .iter()
            .filter(|c| new.customer_conversation_ids.contains(&c.id))
            .count(),
        1
    );
    // Their recordings went with them, and both CRM records were anonymised.
    let remaining: Vec<String> = h.emu.recordings().into_iter().map(|(c, _)| c).collect();
    assert!(!new_by_phone.iter().any(|id| remaining.contains(id)));
    for contact in [
        old.external_contact_id.unwrap(),
        new.external_contact_id.unwrap(),
    ] {
        let c = h.emu.external_contact(&contact).unwrap();
        assert!(
            c.first_name.is_none() && c.phone_numbers.is_empty() && c.email_addresses.is_empty()
        );
    }
}

#[tokio::test]
async fn protected_conversation_survives_a_gdpr_delete() {
    let h = start().await;
    let token = h.token().await;
    let p = h.persona("legal-hold");
    let held = &p.protected_conversation_ids[0];
    let r = h.submit(&token, "GDPR_DELETE", json!({"phoneNumbers": ["+447700900123"], "emailAddresses": ["tomasz.nowak@example.com"]})).await;
    let id = r.body["id"].as_str().unwrap().to_string();
    h.run_to_end(&token, &id, 30).await;
    let kept = h.emu.conversation(held).expect("held conversation kept");
    assert!(!kept.recordings.is_empty());
    for other in p.customer_conversation_ids.iter().filter(|c| *c != held) {
        assert!(h.emu.conversation(other).is_none());
    }
    let job = h
        .emu
        .gdpr_requests()
        .into_iter()
        .find(|j| j.id == id)
        .unwrap();
    assert_eq!(job.outcome.protected_conversation_ids, vec![held.clone()]);
}

#[tokio::test]
async fn deletion_happens_once_at_the_end_of_deleting_however_often_polled() {
    let h = start().await;
    let token = h.token().await;
    let before = h.emu.conversations().len();
    let r = h
        .submit(
            &token,
            "GDPR_DELETE",
            json!({"phoneNumbers": ["+353834567890"]}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    loop {
        let s = h
            .get(&token, &format!("/api/v2/gdpr/requests/{id}"))
            .await
            .body["status"]
            .clone();
        if s == "DELETING" {
            break;
        }
        h.advance(5);
    }
    assert_eq!(
        h.emu.conversations().len(),
        before,
        "nothing removed before DELETING ends"
    );
    h.run_to_end(&token, &id, 5).await;
    for _ in 0..20 {
        h.get(&token, &format!("/api/v2/gdpr/requests/{id}")).await;
        h.get(&token, "/api/v2/gdpr/requests").await;
        h.advance(3600);
    }
    assert_eq!(h.emu.conversations().len(), before - 3);
    let job = &h.emu.gdpr_requests()[0];
    assert_eq!(job.outcome.deleted_conversation_ids.len(), 3);
    assert_eq!(h.emu.gdpr_submissions(RequestType::GdprDelete), 1);
}

#[tokio::test]
async fn partial_error_fault_deletes_part_and_ends_in_error() {
    let h = start().await;
    let token = h.token().await;
    h.emu
        .add_fault(
            Fault::new(
                "POST",
                "/api/v2/gdpr/requests",
                FaultAction::GdprPartialError { fraction: 0.5 },
            )
            .request_type("GDPR_DELETE"),
        )
        .unwrap();
    // An export is not affected by a rule for deletes.
    let export = h
        .submit(
            &token,
            "GDPR_EXPORT",
            json!({"phoneNumbers": ["+353861234567"]}),
        )
        .await;
    let r = h
        .submit(
            &token,
            "GDPR_DELETE",
            json!({"phoneNumbers": ["+353861234567"]}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let (seen, _) = h.run_to_end(&token, &id, 30).await;
    assert_eq!(seen, ["INITIATED", "SEARCHING", "DELETING", "ERROR"]);
    let job = h
        .emu
        .gdpr_requests()
        .into_iter()
        .find(|j| j.id == id)
        .unwrap();
    assert_eq!(
        job.outcome.deleted_conversation_ids.len(),
        5,
        "half of 11, rounded down"
    );
    assert_eq!(job.outcome.not_processed_conversation_ids.len(), 6);
    let left = job
        .outcome
        .not_processed_conversation_ids
        .iter()
        .filter(|c| h.emu.conversation(c).is_some())
        .count();
    assert_eq!(left, 6);
    // The error body has no detail: GDPRRequest has no error fields.
    let r = h.get(&token, &format!("/api/v2/gdpr/requests/{id}")).await;
    assert!(r.body.get("errorCode").is_none() && r.body.get("errorMessage").is_none());
    let (seen, _) = h
        .run_to_end(&token, export.body["id"].as_str().unwrap(), 30)
        .await;
    assert_eq!(seen.last().unwrap(), "COMPLETED");
}

#[tokio::test]
async fn update_replaces_the_identifier_in_matched_conversations() {
    let h = start().await;
    let token = h.token().await;
    let body = json!({
        "requestType": "GDPR_UPDATE",
        "subject": {"emailAddresses": ["liam.walsh@example.com"], "phoneNumbers": ["+353834567890"]},
        "replacementTerms": [{"type": "PHONE", "existingValue": "+353834567890", "updatedValue": "+353830000000"}],
    });
    let r = h.post(&token, "/api/v2/gdpr/requests", body).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let (seen, _) = h
        .run_to_end(&token, r.body["id"].as_str().unwrap(), 30)
        .await;
    assert_eq!(
        seen,
        [
            "INITIATED",
            "SEARCHING",
            "UPDATING",
            "FINALIZING",
            "COMPLETED"
        ]
    );
    let liam = h.persona("happy-path");
    let c = h
        .emu
        .conversation(&liam.customer_conversation_ids[0])
        .unwrap();
    assert_eq!(c.participants[0].ani.as_deref(), Some("+353830000000"));
}

#[tokio::test]
async fn request_listing_pages_newest_first() {
    let h = start().await;
    let token = h.token().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = h
            .submit(
                &token,
                "GDPR_EXPORT",
                json!({"phoneNumbers": ["+353834567890"]}),
            )
            .await;
        ids.push(r.body["id"].as_str().unwrap().to_string());
        h.advance(1);
    }
    let r = h
        .get(&token, "/api/v2/gdpr/requests?pageSize=2&pageNumber=1")
        .await;
    assert_eq!(r.body["total"], 3);
    assert_eq!(r.body["pageCount"], 2);
    assert_eq!(r.body["entities"][0]["id"], ids[2].as_str());
    assert!(r.body["nextUri"].as_str().unwrap().contains("pageNumber=2"));
    let r = h
        .get(&token, "/api/v2/gdpr/requests?pageSize=2&pageNumber=2")
        .await;
    assert_eq!(r.body["entities"].as_array().unwrap().len(), 1);
    assert!(r.body.get("nextUri").is_none());
    assert_eq!(
        h.get(&token, "/api/v2/gdpr/requests?pageSize=0")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let r = h
        .get(
            &token,
            "/api/v2/gdpr/requests/00000000-0000-4000-8000-000000000000",
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
