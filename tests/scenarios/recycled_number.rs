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
    assert_eq!(deletes.len(), 1);
    assert!(
        deletes[0].subject.phone_numbers.is_empty(),
        "{:?}",
        deletes[0].subject
    );
    let phone = identifier(record, "phone");
    assert_eq!(phone["usage"], "searched-only");
    assert_eq!(strings(&phone["leftOutBecause"]), ["outside-tenure"]);

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
