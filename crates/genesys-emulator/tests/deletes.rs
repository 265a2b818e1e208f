//! A GDPR_DELETE as live orgs show it (live-tenants.md sections 1-2): it redacts, days
//! after COMPLETED; deletion protection under both readings; subjects per identifier.

mod common;

use std::time::Duration;

use common::{Harness, start_with};
use genesys_emulator::{
    Conversation, DeleteEffect, DeletionProtection, EmulatorBuilder, FileState, RedactionFault,
    normalise_email, normalise_phone,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const DAY: u64 = 24 * 3600;
const LIAM_PHONE: &str = "+353834567890";

fn redacting(b: EmulatorBuilder) -> EmulatorBuilder {
    b.delete_effect(DeleteEffect::Redact)
        .redaction_lag(Duration::from_secs(3 * DAY))
}

/// Whether any participant of the conversation still carries the phone number.
fn carries_phone(c: &Conversation, phone: &str) -> bool {
    let want = normalise_phone(phone);
    c.participants.iter().any(|p| {
        p.address_fields()
            .any(|(_, v)| normalise_phone(v).is_some() && normalise_phone(v) == want)
    })
}

fn carries_email(c: &Conversation, email: &str) -> bool {
    let want = normalise_email(email);
    c.participants
        .iter()
        .any(|p| p.address_fields().any(|(_, v)| normalise_email(v) == want))
}

fn carries_name(c: &Conversation, name: &str) -> bool {
    c.participants
        .iter()
        .any(|p| p.name.as_deref() == Some(name))
}

fn recordings_gone(c: &Conversation) -> bool {
    c.recordings
        .iter()
        .all(|r| r.file_state == FileState::Deleted)
}

/// Submits a delete and polls it to COMPLETED; returns the request id.
async fn delete(h: &Harness, token: &str, subject: Value) -> String {
    let r = h.submit(token, "GDPR_DELETE", subject).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let (seen, _) = h.run_to_end(token, &id, 30).await;
    assert_eq!(seen.last().map(String::as_str), Some("COMPLETED"));
    id
}

/// Conversations stay answerable by the details query and the single lookup.
async fn still_answered(h: &Harness, token: &str, cid: &str) {
    let r = h
        .get(
            token,
            &format!("/api/v2/analytics/conversations/{cid}/details"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{cid}");
    let c = h.emu.conversation(cid).unwrap();
    let day = c.start.format("%Y-%m-%d");
    let r = h
        .post(
            token,
            "/api/v2/analytics/conversations/details/query",
            json!({"interval": format!("{day}T00:00:00.000Z/{day}T23:59:59.000Z"),
                   "conversationFilters": [{"type": "and", "predicates": [
                       {"dimension": "conversationId", "value": cid}]}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["totalHits"], 1, "{cid}");
}

#[tokio::test]
async fn a_delete_redacts_days_after_completed_and_the_conversations_stay() {
    let h = start_with(redacting).await;
    let token = h.token().await;
    let liam = h.persona("happy-path");
    let contact = liam.external_contact_id.clone().unwrap();
    delete(&h, &token, json!({"phoneNumbers": [LIAM_PHONE]})).await;

    // COMPLETED, and nothing has happened yet: pending, not a gap.
    for cid in &liam.customer_conversation_ids {
        let c = h.emu.conversation(cid).expect("still there");
        assert!(carries_phone(&c, LIAM_PHONE));
        assert!(!recordings_gone(&c));
    }
    h.advance(3 * DAY - 3600);
    let c = h
        .emu
        .conversation(&liam.customer_conversation_ids[0])
        .unwrap();
    assert!(carries_phone(&c, LIAM_PHONE));
    assert!(
        h.emu
            .external_contact(&contact)
            .unwrap()
            .first_name
            .is_some()
    );

    h.advance(3600);
    let token = h.token().await;
    for cid in &liam.customer_conversation_ids {
        let c = h.emu.conversation(cid).expect("the conversation stays");
        assert!(!carries_phone(&c, LIAM_PHONE), "{cid} still has the number");
        assert!(!carries_name(&c, "Liam Walsh"), "{cid} still has the name");
        assert!(recordings_gone(&c), "{cid} recordings");
        // Other legs keep what is not the subject's: the queue, the agent, the org's number.
        assert!(
            c.participants
                .iter()
                .any(|p| p.purpose == "agent" && p.name.is_some())
        );
        assert!(c.participants.iter().any(|p| p.dnis.is_some()));
        still_answered(&h, &token, cid).await;
        let r = h
            .get(
                &token,
                &format!("/api/v2/conversations/{cid}/recordingmetadata"),
            )
            .await;
        assert!(
            r.body
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["fileState"] == "DELETED")
        );
    }
    let x = h.emu.external_contact(&contact).unwrap();
    assert!(x.first_name.is_none() && x.phone_numbers.is_empty() && x.email_addresses.is_empty());
    let job = h.emu.gdpr_requests().pop().unwrap();
    assert!(job.applied);
    assert_eq!(
        job.outcome.redacted_conversation_ids.len(),
        liam.customer_conversation_ids.len()
    );
    assert!(job.outcome.deleted_conversation_ids.is_empty());
    assert_eq!(h.emu.conversations().len(), h.ds.conversations.len());
}

#[tokio::test]
async fn participant_attributes_of_the_subjects_leg_are_removed() {
    let mut ds = genesys_emulator::Dataset::bundled();
    let liam = ds.persona("happy-path").cloned().unwrap();
    let cid = liam.customer_conversation_ids[0].clone();
    let c = ds.conversations.iter_mut().find(|c| c.id == cid).unwrap();
    for p in &mut c.participants {
        p.attributes
            .insert("ivr.accountNumber".into(), format!("{}-1234", p.purpose));
    }
    let h = start_with(move |b| redacting(b.dataset(ds))).await;
    let token = h.token().await;
    delete(&h, &token, json!({"phoneNumbers": [LIAM_PHONE]})).await;
    h.advance(3 * DAY);
    let c = h.emu.conversation(&cid).unwrap();
    for p in &c.participants {
        assert_eq!(
            p.attributes.is_empty(),
            p.purpose == "customer",
            "{}",
            p.purpose
        );
    }
}

#[tokio::test]
async fn a_redaction_can_land_late_or_never() {
    let h = start_with(redacting).await;
    let token = h.token().await;
    let liam = h.persona("happy-path");
    let ids = &liam.customer_conversation_ids;
    h.emu.set_redaction_fault(
        &ids[0],
        Some(RedactionFault::LandsLate {
            extra_seconds: 5 * DAY,
        }),
    );
    delete(&h, &token, json!({"phoneNumbers": [LIAM_PHONE]})).await;
    // Set after the request: read when the redaction would land.
    h.emu
        .set_redaction_fault(&ids[1], Some(RedactionFault::NeverLands));
    h.advance(3 * DAY);
    let now = |i: usize| h.emu.conversation(&ids[i]).unwrap();
    assert!(carries_phone(&now(0), LIAM_PHONE), "late: not yet");
    assert!(carries_phone(&now(1), LIAM_PHONE), "never");
    assert!(!carries_phone(&now(2), LIAM_PHONE), "on time");
    assert!(!h.emu.gdpr_requests().pop().unwrap().applied);
    h.advance(5 * DAY);
    assert!(!carries_phone(&now(0), LIAM_PHONE), "late: landed");
    assert!(recordings_gone(&now(0)));
    h.advance(365 * DAY);
    assert!(carries_phone(&now(1), LIAM_PHONE), "never lands");
    assert!(!recordings_gone(&now(1)));
    let job = h.emu.gdpr_requests().pop().unwrap();
    assert_eq!(
        job.redaction.awaiting_conversation_ids,
        vec![ids[1].clone()]
    );
}

#[tokio::test]
async fn an_id_only_subject_reaches_only_the_conversations_linked_to_it() {
    let h = start_with(redacting).await;
    let token = h.token().await;
    let declan = h.persona("recycled-number-old-owner");
    let priya = h.persona("recycled-number-new-owner");
    delete(
        &h,
        &token,
        json!({"externalContactId": declan.external_contact_id}),
    )
    .await;
    h.advance(3 * DAY);
    for cid in &declan.customer_conversation_ids {
        let c = h.emu.conversation(cid).unwrap();
        assert!(!carries_phone(&c, "+353861234567"), "{cid}");
        assert!(!carries_email(&c, "declan.murphy@example.com"), "{cid}");
        assert!(!carries_name(&c, "Declan Murphy"), "{cid}");
        assert!(recordings_gone(&c));
    }
    for cid in &priya.customer_conversation_ids {
        let c = h.emu.conversation(cid).unwrap();
        assert!(carries_name(&c, "Priya Nair"), "{cid}");
        assert!(!recordings_gone(&c), "{cid}");
    }
    let new_owner = h
        .emu
        .external_contact(priya.external_contact_id.as_deref().unwrap())
        .unwrap();
    assert!(!new_owner.phone_numbers.is_empty());
}

#[tokio::test]
async fn a_request_naming_the_number_reaches_every_conversation_with_it() {
    let h = start_with(redacting).await;
    let token = h.token().await;
    let priya = h.persona("recycled-number-new-owner");
    delete(&h, &token, json!({"phoneNumbers": ["+353861234567"]})).await;
    h.advance(3 * DAY);
    // The recycled-number trap: the new owner's calls and CRM record go too.
    for cid in &priya.customer_conversation_ids {
        let c = h.emu.conversation(cid).unwrap();
        if c.media_type == genesys_emulator::MediaType::Chat {
            continue; // a chat carries no number
        }
        assert!(!carries_phone(&c, "+353861234567"), "{cid}");
    }
    let new_owner = h
        .emu
        .external_contact(priya.external_contact_id.as_deref().unwrap())
        .unwrap();
    assert!(new_owner.phone_numbers.is_empty());
}

/// The legal-hold persona's protected call after a delete by phone, under a reading.
async fn protected_after_delete(
    effect: DeleteEffect,
    reading: DeletionProtection,
) -> Option<Conversation> {
    let h = start_with(move |b| {
        b.delete_effect(effect)
            .redaction_lag(Duration::from_secs(DAY))
            .deletion_protection(reading)
    })
    .await;
    let token = h.token().await;
    let tomasz = h.persona("legal-hold");
    let held = tomasz.protected_conversation_ids[0].clone();
    delete(&h, &token, json!({"phoneNumbers": ["+447700900123"]})).await;
    h.advance(DAY);
    // The rest of his conversations are erased under every reading.
    for cid in tomasz
        .customer_conversation_ids
        .iter()
        .filter(|c| **c != held)
    {
        match h.emu.conversation(cid) {
            None => assert_eq!(effect, DeleteEffect::Remove),
            Some(c) => assert!(!carries_phone(&c, "+447700900123"), "{cid}"),
        }
    }
    let job = h.emu.gdpr_requests().pop().unwrap();
    assert_eq!(
        job.outcome.protected_conversation_ids.contains(&held),
        reading == DeletionProtection::Honoured
    );
    h.emu.conversation(&held)
}

#[tokio::test]
async fn deletion_protection_under_both_readings() {
    for effect in [DeleteEffect::Redact, DeleteEffect::Remove] {
        let c = protected_after_delete(effect, DeletionProtection::Honoured)
            .await
            .expect("honoured: the held conversation stays");
        assert!(carries_phone(&c, "+447700900123"), "{effect:?}");
        assert!(!recordings_gone(&c), "{effect:?}");
    }
    let c = protected_after_delete(DeleteEffect::Redact, DeletionProtection::Ignored)
        .await
        .expect("redacted, not removed");
    assert!(!carries_phone(&c, "+447700900123"));
    assert!(recordings_gone(&c), "ignored: the held recordings go");
    assert!(
        protected_after_delete(DeleteEffect::Remove, DeletionProtection::Ignored)
            .await
            .is_none()
    );
}

#[tokio::test]
async fn subjects_are_searched_per_identifier_and_identified_by_id() {
    let h = start_with(|b| b).await;
    let token = h.token().await;
    let declan = h.persona("recycled-number-old-owner");
    let priya = h.persona("recycled-number-new-owner");
    let search = |t: &'static str, v: &'static str| {
        h.send(
            h.http
                .get(h.url("/api/v2/gdpr/subjects"))
                .bearer_auth(&token)
                .query(&[("searchType", t), ("searchValue", v)]),
        )
    };
    // Two external contacts on one recycled number: both come back, each by its id.
    let r = search("PHONE", "+353861234567").await;
    assert_eq!(r.status, StatusCode::OK);
    let mut ids: Vec<String> = r.body["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["externalContactId"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    let mut want = vec![
        declan.external_contact_id.clone().unwrap(),
        priya.external_contact_id.clone().unwrap(),
    ];
    want.sort();
    assert_eq!(ids, want);

    // A malformed value is a miss, not a 400.
    for (t, v) in [
        ("PHONE", "abc"),
        ("EMAIL", "not-an-address"),
        ("PHONE", "+"),
    ] {
        let r = search(t, v).await;
        assert_eq!(r.status, StatusCode::OK, "{t} {v}");
        assert_eq!(r.body["entities"], json!([]), "{t} {v}");
    }

    // A user by e-mail comes back by userId.
    let aoife = h.persona("former-agent");
    let r = search("EMAIL", "aoife.byrne@brightwater.example.com").await;
    assert!(
        r.body["entities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["userId"] == json!(aoife.user_id))
    );
}

#[tokio::test]
async fn an_identifier_seen_only_on_conversations_may_find_nothing() {
    let h = start_with(|b| b.search_finds_conversation_only_identifiers(false)).await;
    let token = h.token().await;
    let unknown =
        h.ds.conversations
            .iter()
            .flat_map(|c| c.participants.iter())
            .filter(|p| p.purpose == "customer" && p.external_contact_id.is_none())
            .find_map(|p| p.ani.clone())
            .expect("a caller without a contact")
            .replace("tel:", "");
    let r = h
        .send(
            h.http
                .get(h.url("/api/v2/gdpr/subjects"))
                .bearer_auth(&token)
                .query(&[("searchType", "PHONE"), ("searchValue", unknown.as_str())]),
        )
        .await;
    assert_eq!(r.body["entities"], json!([]));
}

#[test]
fn the_environment_chooses_a_reading_and_refuses_nonsense() {
    use genesys_emulator::Config;
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    let c = Config::default()
        .with_env(env(&[
            ("GENESYS_EMULATOR_DELETION_PROTECTION", "ignored"),
            ("GENESYS_EMULATOR_DELETE_EFFECT", "redact"),
            ("GENESYS_EMULATOR_EXPORT_FORMAT", "zip"),
            ("GENESYS_EMULATOR_REDACTION_LAG_SECONDS", "60"),
        ]))
        .unwrap();
    assert_eq!(c.deletion_protection, DeletionProtection::Ignored);
    assert_eq!(c.delete_effect, DeleteEffect::Redact);
    assert_eq!(c.export_format, genesys_emulator::ExportFormat::Zip);
    assert_eq!(c.redaction_lag, Duration::from_secs(60));
    let e = Config::default()
        .with_env(env(&[("GENESYS_EMULATOR_DELETION_PROTECTION", "maybe")]))
        .unwrap_err();
    assert!(e.contains("GENESYS_EMULATOR_DELETION_PROTECTION"), "{e}");
}
