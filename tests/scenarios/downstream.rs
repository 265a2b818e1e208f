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
