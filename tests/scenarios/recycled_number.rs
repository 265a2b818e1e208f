use std::collections::BTreeSet;

use e2e::Harness;
use genesys_emulator::RequestType;

use crate::{identifier, jobs, strings};

#[tokio::test]
async fn delete_by_recycled_number_spares_new_owner() {
    let h = Harness::builder().start().await;
    let declan: BTreeSet<String> = Harness::persona_conversations("recycled-number-old-owner")
        .into_iter()
        .collect();
    let priya: BTreeSet<String> = Harness::persona_conversations("recycled-number-new-owner")
        .into_iter()
        .collect();

    let run = h.run("recycled-number").await;
    let record = run.record();
    assert_eq!(run.outcome(), "COMPLETED", "{record:#}");

    let after = h.conversation_ids();
    assert!(
        declan.is_disjoint(&after),
        "every call of the earlier owner within his tenure is gone"
    );
    assert!(
        priya.is_subset(&after),
        "every conversation of the later owner is still there"
    );

    // The number is left out of the GDPR_DELETE: it cannot be limited in time.
    let deletes = jobs(&h, RequestType::GdprDelete);
    assert!(!deletes.is_empty());
    assert!(deletes.iter().all(|d| d.subject.phone_numbers.is_empty()));
    let phone = identifier(record, "phone");
    assert_eq!(phone["usage"], "searched-only");
    // Her calls on it, and her CRM contact that the subject search found by it.
    assert_eq!(
        strings(&phone["leftOutBecause"]),
        ["outside-tenure", "another-subject"]
    );

    // The record names what was excluded and why: her calls on that number.
    let excluded = record["excluded"].as_array().expect("a list");
    assert!(!excluded.is_empty());
    for x in excluded {
        assert_eq!(x["reason"], "OUTSIDE_TENURE");
        assert_eq!(x["identifierRef"], phone["ref"]);
        assert!(priya.contains(x["conversationId"].as_str().unwrap_or_default()));
    }
    assert!(
        strings(&record["decisions"]["review"]["reasons"]).contains(&"recycled-number".to_owned())
    );
    assert_eq!(record["decisions"]["approval"]["decision"], "approve");
}

#[tokio::test]
async fn a_new_owner_with_a_contact_but_no_calls_yet_is_never_reached() {
    // The number has changed hands, the new owner is in the CRM, and has not called
    // yet: no conversation shows the hand-over, only the subject search does.
    let mut ds = genesys_emulator::Dataset::bundled();
    let new_owner = ds
        .persona("recycled-number-new-owner")
        .expect("persona")
        .clone();
    let theirs: BTreeSet<String> = new_owner
        .customer_conversation_ids
        .iter()
        .chain(&new_owner.agent_conversation_ids)
        .cloned()
        .collect();
    ds.conversations.retain(|c| !theirs.contains(&c.id));
    ds.deletion_protected_conversation_ids
        .retain(|c| !theirs.contains(c));
    for p in &mut ds.personas {
        p.customer_conversation_ids.retain(|c| !theirs.contains(c));
        p.agent_conversation_ids.retain(|c| !theirs.contains(c));
        p.protected_conversation_ids.retain(|c| !theirs.contains(c));
    }
    let contact_id = new_owner
        .external_contact_id
        .clone()
        .expect("the new owner is in the CRM");
    let h = Harness::builder().dataset(ds).start().await;
    let contact_before = h.emulator.external_contact(&contact_id).expect("contact");

    let run = h.run("recycled-number").await;
    let record = run.record();
    assert_eq!(run.outcome(), "COMPLETED", "{record:#}");

    // The reviewer was shown both: the subject's contact, and the new owner's contact
    // that the number alone found, as somebody else.
    let state = run.state_after("Review").expect("Review ran");
    let subjects: Vec<(String, Vec<String>, bool, String)> =
        (state["review"]["summary"]["subjects"]
            .as_array()
            .expect("the subjects found"))
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap_or_default().to_owned(),
                (f["foundBy"].as_array().into_iter().flatten())
                    .map(|p| format!("{}-{}", p["kind"].as_str().unwrap_or("?"), p["index"]))
                    .collect(),
                f["theSubjects"] == true,
                f["because"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        subjects.contains(&(
            "external-contact".into(),
            vec!["phone-0".into()],
            false,
            "ticket-names-another".into()
        )),
        "{subjects:#?}"
    );
    assert!(subjects.iter().any(|s| s.2), "{subjects:#?}");
    // The number stays out of the GDPR_DELETE, and the new owner's contact is untouched.
    let deletes = jobs(&h, RequestType::GdprDelete);
    assert!(!deletes.is_empty());
    assert!(deletes.iter().all(|d| d.subject.phone_numbers.is_empty()));
    assert_eq!(
        h.emulator.external_contact(&contact_id),
        Some(contact_before),
        "the new owner's contact is as it was"
    );
    let phone = identifier(record, "phone");
    assert_eq!(phone["usage"], "searched-only");
    assert!(strings(&phone["leftOutBecause"]).contains(&"another-subject".to_owned()));
    assert!(
        strings(&record["decisions"]["review"]["reasons"])
            .contains(&"shared-identifier".to_owned())
    );
    // The earlier owner's own calls are still erased, by e-mail and contact id.
    let declan: BTreeSet<String> = Harness::persona_conversations("recycled-number-old-owner")
        .into_iter()
        .collect();
    assert!(declan.is_disjoint(&h.conversation_ids()));
}
