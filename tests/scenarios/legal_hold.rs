use e2e::Harness;
use genesys_emulator::RequestType;

use crate::{jobs, strings};

const HELD_BY_REGISTER: &str = "ab34cc0b-1fd7-4d50-87ce-07e0d91abb35";
const PROTECTED_IN_GENESYS: &str = "d96852e6-f8f2-4e25-8142-119fbe15509e";

#[tokio::test]
async fn held_conversations_survive_and_the_outcome_is_deferred_with_hold_expiry_and_basis() {
    let h = Harness::builder().start().await;
    // Besides the register's hold, Genesys deletion protection on one of the calls.
    h.genesys()
        .set_deletion_protection(&[PROTECTED_IN_GENESYS.to_owned()], true)
        .await
        .expect("protection applied");
    let grace = Harness::persona_conversations("email-and-voice");
    let held_recordings: Vec<String> = h
        .emulator
        .recordings()
        .into_iter()
        .filter(|(c, _)| c == HELD_BY_REGISTER || c == PROTECTED_IN_GENESYS)
        .map(|(_, r)| r.id)
        .collect();

    let run = h.run("legal-hold").await;
    let record = run.record();
    assert_eq!(run.outcome(), "DEFERRED", "{record:#}");

    let after = h.conversation_ids();
    assert!(after.contains(HELD_BY_REGISTER) && after.contains(PROTECTED_IN_GENESYS));
    let live = h.live_recording_ids();
    assert!(
        held_recordings.iter().all(|r| live.contains(r)),
        "held recordings are untouched"
    );
    for c in grace
        .iter()
        .filter(|c| *c != HELD_BY_REGISTER && *c != PROTECTED_IN_GENESYS)
    {
        assert!(!after.contains(c), "{c} is not held and must be gone");
    }

    let withheld = record["withheld"].as_array().expect("a list");
    assert!(
        withheld
            .iter()
            .any(|w| w["conversationId"] == HELD_BY_REGISTER
                && w["reason"] == "LEGAL_HOLD"
                && w["holdId"] == "LH-2026-014"
                && w["holdExpiry"] == "2027-06-30"
                && w["legalBasis"] == "Art. 17(3)(e)")
    );
    assert!(
        withheld
            .iter()
            .any(|w| w["conversationId"] == PROTECTED_IN_GENESYS
                && w["reason"] == "DELETION_PROTECTION"
                && w["legalBasis"] == "Art. 17(3)(e)")
    );
    let deferral = &record["deferral"];
    assert_eq!(deferral["legalBasis"], "Art. 17(3)(e)");
    let holds: Vec<String> = deferral["holds"]
        .as_array()
        .expect("holds")
        .iter()
        .filter_map(|h| h["holdId"].as_str().map(str::to_owned))
        .collect();
    assert!(
        holds.contains(&"LH-2026-014".to_owned())
            && holds.contains(&"genesys-deletion-protection".to_owned()),
        "{holds:?}"
    );
    // Deletion protection has no end date: no resume date can be promised.
    assert!(deferral["resumeOn"].is_null());
    // The phone reaches held calls: it is not in the GDPR_DELETE.
    let deletes = jobs(&h, RequestType::GdprDelete);
    assert!(deletes[0].subject.phone_numbers.is_empty());
}

#[tokio::test]
async fn a_register_hold_alone_names_the_day_the_erasure_resumes() {
    let h = Harness::builder().start().await;
    let run = h.run("legal-hold").await;
    assert_eq!(run.outcome(), "DEFERRED");
    assert_eq!(run.record()["deferral"]["resumeOn"], "2027-07-01");
}

#[tokio::test]
async fn a_protected_conversation_reached_by_the_same_identifiers_leaves_the_rest_as_named_gaps() {
    const PROTECTED: &str = "c4a48a42-f31c-42db-8a50-4ee16b44103d";
    let h = Harness::builder().start().await;
    let tomasz = Harness::persona_conversations("legal-hold");
    let run = h.run("deletion-protection").await;
    let record = run.record();
    // Honest: what could not be erased is named, never silently COMPLETED.
    assert_eq!(run.outcome(), "PARTIAL", "{record:#}");
    assert!(h.conversation_ids().contains(PROTECTED));
    let deletes = jobs(&h, RequestType::GdprDelete);
    assert!(
        deletes
            .iter()
            .all(|d| d.subject.external_contact_id.is_none()),
        "the contact id reaches the protected call"
    );
    let gaps: Vec<String> = record["gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .filter(|g| g["kind"] == "CONVERSATION_NOT_ERASED")
        .filter_map(|g| g["subjectOfGap"].as_str().map(str::to_owned))
        .collect();
    let mut others: Vec<String> = tomasz.iter().filter(|c| *c != PROTECTED).cloned().collect();
    others.sort();
    let mut gaps_sorted = gaps.clone();
    gaps_sorted.sort();
    assert_eq!(gaps_sorted, others);
    assert!(
        record["escalations"]
            .as_array()
            .expect("a list")
            .iter()
            .any(|e| e["reason"] == "per-conversation-erasure")
    );
    // Their recordings were purged one by one; the protected call's were not.
    let live = h.live_recording_ids();
    for (c, r) in h.emulator.recordings() {
        if c == PROTECTED {
            assert!(live.contains(&r.id));
        } else if others.contains(&c) {
            assert!(!live.contains(&r.id), "recording of {c} not purged");
        }
    }
    assert!(
        strings(&record["decisions"]["review"]["reasons"])
            .contains(&"deletion-protection".to_owned())
    );
}
