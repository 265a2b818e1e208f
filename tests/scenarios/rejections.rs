use e2e::Harness;
use serde_json::Value;

fn codes(record: &Value) -> Vec<(String, String)> {
    record["rejection"]["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| {
            (
                r["field"].as_str().unwrap_or_default().to_owned(),
                r["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn missing_sign_off_missing_verification_and_malformed_json_are_rejected_before_any_genesys_call()
 {
    let h = Harness::builder().start().await;

    let no_sign_off = {
        let mut t = e2e::ticket("happy-path");
        t["ticket"]["id"] = "DSAR-2026-2001".into();
        t["ticket"]
            .as_object_mut()
            .expect("object")
            .remove("signOff");
        t
    };
    let run = h.run_input("DSAR-2026-2001", no_sign_off).await;
    assert_eq!(run.outcome(), "REJECTED");
    assert_eq!(
        codes(run.record()),
        [("ticket.signOff".to_owned(), "missing".to_owned())]
    );

    let no_verification = {
        let mut t = e2e::ticket("happy-path");
        t["ticket"]["id"] = "DSAR-2026-2002".into();
        t["ticket"]["identityVerifiedAt"] = Value::Null;
        t
    };
    let run = h.run_input("DSAR-2026-2002", no_verification).await;
    assert_eq!(run.outcome(), "REJECTED");
    assert!(
        codes(run.record())
            .contains(&("ticket.identityVerifiedAt".to_owned(), "missing".to_owned()))
    );

    // Both at once: every reason is listed, not just the first.
    let run = h.run("rejected-no-sign-off").await;
    let all = codes(run.record());
    assert!(all.contains(&("ticket.signOff".to_owned(), "missing".to_owned())));
    assert!(all.contains(&("ticket.identityVerifiedAt".to_owned(), "missing".to_owned())));

    let run = h
        .run_raw("DSAR-2026-1008", &e2e::ticket_text("malformed"))
        .await;
    let record = run.record();
    assert_eq!(run.outcome(), "REJECTED");
    assert_eq!(
        record["ticketId"], "DSAR-2026-1008",
        "named after the execution"
    );
    assert_eq!(codes(record), [("$".to_owned(), "invalid-json".to_owned())]);
    assert!(
        record["rejection"]["reasons"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("line 3")
    );

    assert!(
        h.emulator.request_log().is_empty(),
        "not one request reached Genesys: {:?}",
        h.emulator.request_log()
    );
    assert!(
        run.record()["clock"]["completedAt"].is_null(),
        "nothing was done"
    );
}

#[tokio::test]
async fn dpo_rejection_at_the_gate_sends_no_gdpr_delete() {
    let h = Harness::builder()
        .decision(Some(erasure_core::record::ApprovalDecision::Reject))
        .start()
        .await;
    let declan = Harness::persona_conversations("recycled-number-old-owner");
    let run = h.run("recycled-number").await;
    let record = run.record();
    assert_eq!(run.outcome(), "REJECTED", "{record:#}");
    assert_eq!(record["decisions"]["approval"]["decision"], "reject");
    assert!(
        record["decisions"]["approval"]["actorRef"]
            .as_str()
            .unwrap_or_default()
            .starts_with("hmac-sha256:")
    );
    assert_eq!(
        codes(record),
        [("approval".to_owned(), "dpo-rejected".to_owned())]
    );
    assert_eq!(
        h.emulator
            .gdpr_submissions(genesys_emulator::RequestType::GdprDelete),
        0
    );
    let after = h.conversation_ids();
    assert!(
        declan.iter().all(|c| after.contains(c)),
        "nothing was erased"
    );
}
