use archive::report::{Period, RecordFilter, build_report, load_records};
use e2e::Harness;
use genesys_emulator::RequestType;
use serde_json::json;

use crate::{deletes_per_identifier, deletes_sent_once, jobs, strings};

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
    assert!(!deletes.is_empty());
    assert!(deletes.iter().all(|d| d.subject.phone_numbers.is_empty()));

    // What it did erase is verified after the record, the held calls never counted:
    // only the covered conversations are looked at, and they are clean.
    let verifications = h.verifications_of("DSAR-2026-1003").await;
    assert!(
        !verifications.is_empty(),
        "a DEFERRED ticket's erasure is verified"
    );
    for v in &verifications {
        assert_eq!(v["verifies"]["outcome"], "DEFERRED");
        assert_eq!(v["result"], "CLEAN", "{v:#}");
        assert!(v["conversations"]["checked"].as_u64().unwrap() >= 1);
        assert_eq!(v["conversations"]["clean"], v["conversations"]["checked"]);
    }
    assert_eq!(
        verifications.last().unwrap()["check"]["number"],
        verifications.last().unwrap()["check"]["of"]
    );
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

/// A GDPR request's name as the pipeline gives it (`gdpr-erasure/<ticket>/<kind>`).
/// The ticket's deletes (one per cleared identifier, `.../delete/<identifier>`).
fn deletes_of(h: &Harness, ticket: &str) -> Vec<String> {
    let prefix = format!("gdpr-erasure/{ticket}/delete/");
    jobs(h, RequestType::GdprDelete)
        .into_iter()
        .filter(|j| j.name.as_deref().is_some_and(|n| n.starts_with(&prefix)))
        .map(|j| j.id)
        .collect()
}

#[tokio::test]
async fn a_follow_up_ticket_erases_what_an_expired_hold_kept_with_its_own_gdpr_delete() {
    const DEFERRED: &str = "DSAR-2026-1003";
    const FOLLOW_UP: &str = "DSAR-2027-0311";
    let h = Harness::builder().start().await;
    // Grace O'Connor, the `legal-hold` fixture ticket (the dataset's email-and-voice
    // persona).
    let grace = Harness::persona_conversations("email-and-voice");

    // The legal-hold ticket: her two calls under LH-2026-014 (last day 2027-06-30)
    // are kept, the rest erased by the ticket's one GDPR_DELETE.
    let first = h.run("legal-hold").await;
    assert_eq!(first.outcome(), "DEFERRED", "{:#}", first.record());
    assert_eq!(first.record()["deferral"]["resumeOn"], "2027-07-01");
    assert!(first.record()["resumes"].is_null());
    let before = h.conversation_ids();
    assert!(before.contains(HELD_BY_REGISTER) && before.contains(PROTECTED_IN_GENESYS));
    let deferred_deletes = deletes_of(&h, DEFERRED);
    assert!(!deferred_deletes.is_empty());

    let archive_location = h.archive.location();
    let report = |today: &str| {
        let h = &h;
        let location = archive_location.clone();
        let today: chrono::NaiveDate = today.parse().expect("a date");
        async move {
            let (all, unusable) = load_records(h.archive.as_ref(), &RecordFilter::default())
                .await
                .expect("the archive loads");
            build_report(&location, &all, unusable, Period::default(), today)
        }
    };
    let open: Vec<String> = report("2027-07-01")
        .await
        .open_deferrals
        .into_iter()
        .map(|d| d.ticket_id)
        .collect();
    assert_eq!(open, [DEFERRED], "open until something resumes it");

    // The hold is over. The DSAR tool, told so, opens a follow-up ticket of its own:
    // a new id, `resumes`, the subject's identifiers, its own receipt and sign-off.
    let resumed_at: chrono::DateTime<chrono::Utc> =
        "2027-07-01T09:00:00Z".parse().expect("a timestamp");
    let wait = (resumed_at - h.clock.now())
        .to_std()
        .expect("the hold ends later");
    h.clock.sleep(wait).await;
    let mut follow_up = e2e::ticket("legal-hold");
    let t = &mut follow_up["ticket"];
    t["id"] = json!(FOLLOW_UP);
    t["resumes"] = json!(DEFERRED);
    t["receivedAt"] = json!("2027-07-01T08:00:00Z");
    t["identityVerifiedAt"] = json!("2027-07-01T08:10:00Z");
    t["signOff"]["at"] = json!("2027-07-01T08:30:00Z");
    let run = h.run_input(FOLLOW_UP, follow_up).await;
    let record = run.record();

    assert_eq!(run.outcome(), "COMPLETED", "{record:#}");
    assert_eq!(record["ticketId"], FOLLOW_UP);
    assert_eq!(record["resumes"], DEFERRED);
    assert_eq!(record["sequence"], 1, "a chain of its own");
    assert!(record["deferral"].is_null() && record["withheld"] == json!([]));
    // Its own clock, from its own receipt: not late.
    assert_eq!(record["clock"]["receivedAt"], "2027-07-01T08:00:00Z");
    assert_eq!(record["clock"]["withinDeadline"], true);
    assert_eq!(record["clock"]["lateAtIntake"], false);

    // What the hold kept is gone, and nothing of the persona is left.
    let after = h.conversation_ids();
    assert!(!after.contains(HELD_BY_REGISTER) && !after.contains(PROTECTED_IN_GENESYS));
    for c in &grace {
        assert!(!after.contains(c), "{c} is still there");
    }
    // The deferred ticket's deletes were never resent; the follow-up sent its own,
    // one of which names the phone the hold kept out.
    assert_eq!(deletes_of(&h, DEFERRED), deferred_deletes);
    let follow_up = deletes_per_identifier(&h, FOLLOW_UP, record);
    assert_eq!(
        deletes_sent_once(&h),
        deferred_deletes.len() + follow_up.len()
    );
    assert!(
        follow_up
            .iter()
            .any(|d| !d.subject.phone_numbers.is_empty())
    );
    // The deferred ticket's chain is untouched: one DEFERRED record.
    let deferred_chain = h.records_of(DEFERRED).await;
    assert_eq!(deferred_chain.len(), 1);
    assert_eq!(deferred_chain[0]["outcome"], "DEFERRED");

    // The audit report no longer lists the deferral as open, and names its follow-up.
    let r = report("2027-07-02").await;
    assert!(r.open_deferrals.is_empty(), "{:?}", r.open_deferrals);
    assert_eq!(r.resumed_deferrals.len(), 1);
    assert_eq!(r.resumed_deferrals[0].ticket_id, DEFERRED);
    assert_eq!(r.resumed_deferrals[0].follow_ups[0].ticket_id, FOLLOW_UP);
    assert!(
        r.to_text()
            .contains(&format!("{DEFERRED}  resumed by {FOLLOW_UP} (COMPLETED)")),
        "{}",
        r.to_text()
    );
}
