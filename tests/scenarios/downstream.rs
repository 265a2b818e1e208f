use e2e::Harness;

#[tokio::test]
async fn a_downstream_system_that_never_acknowledges_makes_the_outcome_partial_naming_it() {
    let h = Harness::builder().with_silent_system().start().await;
    let run = h.run("happy-path").await;
    let record = run.record();
    assert_eq!(run.outcome(), "PARTIAL", "{record:#}");
    let gaps = record["gaps"].as_array().expect("gaps");
    assert!(
        gaps.iter()
            .any(|g| g["kind"] == "DOWNSTREAM_NOT_ACKNOWLEDGED"
                && g["subjectOfGap"] == "archive-vault"),
        "{gaps:?}"
    );
    let vault = record["downstream"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|d| d["system"] == "archive-vault")
        .expect("the silent system is in the record")
        .clone();
    assert_eq!(vault["status"], "NOT_ACKNOWLEDGED");
    assert_eq!(
        vault["attempts"], 6,
        "the first try and the definition's five retries"
    );
    // The others still acknowledged, and every instruction was signed.
    assert_eq!(record["counts"]["downstreamAcknowledged"], 2);
    assert!(h.receiver.received().iter().all(|r| r.signature_valid));
    // Genesys' part was done: the gap is only the unacknowledged system.
    assert_eq!(gaps.len(), 1);
}

/// What the crm was told (its one instruction).
fn told(h: &Harness) -> serde_json::Value {
    let kept = h.receiver.kept("crm");
    assert_eq!(kept.len(), 1, "one instruction");
    kept[0].clone()
}

#[tokio::test]
async fn downstream_systems_are_told_only_what_the_review_cleared_and_what_is_kept() {
    // An active agent: her user id is never erased, so never sent.
    let h = Harness::builder().start().await;
    let run = h.run("active-agent").await;
    assert_eq!(run.outcome(), "COMPLETED", "{:#}", run.record());
    let sent = told(&h);
    assert!(sent["subject"]["genesysUserId"].is_null(), "{sent:#}");
    // What was cleared is sent: her customer contact and number.
    assert!(sent["subject"]["externalContactId"].is_string(), "{sent:#}");
    assert!(!sent["subject"]["phones"].as_array().unwrap().is_empty());

    // A legal hold on the calls of a number: the number stays out of the delete, so
    // it is not sent; the held conversations are named with their hold's end.
    let h = Harness::builder().start().await;
    let run = h.run("legal-hold").await;
    assert_eq!(run.outcome(), "DEFERRED", "{:#}", run.record());
    let sent = told(&h);
    assert!(
        sent["subject"]["phones"].as_array().unwrap().is_empty(),
        "{sent:#}"
    );
    let withheld = sent["withheld"].as_array().unwrap();
    assert_eq!(withheld.len(), 2, "{sent:#}");
    assert!(withheld.iter().all(|w| w["reason"] == "LEGAL_HOLD"));
    assert!(withheld.iter().all(|w| w["until"] == "2027-06-30"));
    assert_eq!(sent["erasureResumesOn"], "2027-07-01");
}
