use archive::verify::{VerifyOptions, verify};
use e2e::Harness;

#[tokio::test]
async fn every_run_ends_in_exactly_one_terminal_record_and_the_archive_verifies() {
    let h = Harness::builder().start().await;
    let fixtures = [
        "happy-path",
        "recycled-number",
        "legal-hold",
        "deletion-protection",
        "former-agent",
        "active-agent",
        "rejected-no-sign-off",
    ];
    let mut runs = Vec::new();
    for f in fixtures {
        runs.push(h.run(f).await);
    }
    runs.push(
        h.run_raw("DSAR-2026-1008", &e2e::ticket_text("malformed"))
            .await,
    );
    for run in &runs {
        let writes = run
            .outcome
            .result
            .history
            .iter()
            .filter(|e| {
                e.kind == "TaskStateExited" && e.state_name.as_deref() == Some("WriteRecord")
            })
            .count();
        assert_eq!(writes, 1, "{}", run.outcome.result.name);
        assert!(
            run.outcome.result.output().is_some(),
            "{} ended in {:?}",
            run.outcome.result.name,
            run.outcome.result.error()
        );
        let ticket = run.record()["ticketId"].as_str().expect("an id").to_owned();
        assert_eq!(h.records_of(&ticket).await.len(), 1, "{ticket}");
    }
    let report = verify(&*h.archive, &VerifyOptions::default())
        .await
        .expect("verifies");
    assert!(report.passed(), "{}", report.to_text());
}

#[tokio::test]
async fn even_an_intake_that_cannot_run_ends_in_a_failed_record() {
    let h = Harness::builder().start().await;
    let runner = h.runner_with(|r| {
        r.function(
            "intake",
            local_runner::handler_fn(|_, _| async {
                Err(local_runner::TaskError::lambda(
                    "StepMisconfigured",
                    "PSEUDONYM_KEY_SECRET_ARN is not set",
                ))
            }),
        )
    });
    let result = runner
        .start_named("DSAR-2026-3001", e2e::ticket("happy-path"))
        .expect("starts")
        .wait()
        .await;
    assert!(result.output().is_some(), "{:?}", result.error());
    let receipt = erasure_steps::local::record_of(&result).expect("a record");
    let record = h.read_record(&receipt.key).await;
    assert_eq!(record["outcome"], "FAILED");
    assert_eq!(record["failure"]["stage"], "Intake");
    assert_eq!(record["failure"]["error"], "StepMisconfigured");
    assert_eq!(record["pseudonymisation"]["keyId"], "unavailable");
    assert!(h.emulator.request_log().is_empty());
}

#[tokio::test]
async fn several_tickets_run_at_once_each_end_in_their_own_record() {
    let h = Harness::builder().start().await;
    let tickets = ["happy-path", "legal-hold", "rejected-no-sign-off"]
        .iter()
        .map(|f| {
            let t = e2e::ticket(f);
            (t["ticket"]["id"].as_str().expect("an id").to_owned(), t)
        })
        .collect();
    let outcomes: Vec<String> = h
        .pipeline
        .run_many(tickets)
        .await
        .into_iter()
        .map(|r| r.expect("starts").record.expect("a record").outcome)
        .collect();
    assert_eq!(outcomes, ["COMPLETED", "DEFERRED", "REJECTED"]);
}
