use e2e::Harness;
use genesys_emulator::{Fault, FaultAction};

use crate::{deletes_per_identifier, deletes_sent_once};

#[tokio::test]
async fn genesys_error_mid_delete_is_failed_escalated_and_never_resubmitted() {
    let h = Harness::builder().start().await;
    h.emulator
        .add_fault(
            Fault::new(
                "POST",
                "/api/v2/gdpr/requests",
                FaultAction::GdprPartialError { fraction: 0.5 },
            )
            .request_type("GDPR_DELETE")
            .times(1),
        )
        .expect("fault added");

    let run = h.run("happy-path").await;
    let record = run.record();
    assert_eq!(run.outcome(), "FAILED", "{record:#}");
    assert_eq!(record["failure"]["error"], "GenesysRequestError");
    assert_eq!(record["failure"]["stage"], "PollDeletion");
    let escalations = record["escalations"].as_array().expect("a list");
    assert!(escalations.iter().any(|e| {
        e["reason"] == "genesys-request-error"
            && e["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("never resubmit")
    }));
    // One GDPR_DELETE per cleared identifier, each sent once, and the record knows
    // what is left.
    let sent = deletes_sent_once(&h);
    assert_eq!(
        sent,
        deletes_per_identifier(&h, "DSAR-2026-1001", record).len()
    );
    // What a delete that ended in ERROR redacted lands days later, if at all: the
    // record checks right away and names every conversation not confirmed erased.
    let erased = record["counts"]["conversationsErased"]
        .as_u64()
        .expect("a count");
    let in_scope = record["counts"]["conversationsInScope"]
        .as_u64()
        .expect("a count");
    let not_erased = record["gaps"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|g| g["kind"] == "CONVERSATION_NOT_ERASED")
        .count() as u64;
    assert_eq!(in_scope, 3);
    assert_eq!(erased + not_erased, in_scope, "{record:#}");
    assert!(
        record["gaps"]
            .as_array()
            .expect("a list")
            .iter()
            .any(|g| g["kind"] == "GENESYS_PARTIAL")
    );

    // Running the ticket again reuses the requests, the one in ERROR too: nothing sent.
    let again = h
        .run_on(
            &h.another_pipeline(),
            "DSAR-2026-1001",
            e2e::ticket("happy-path"),
        )
        .await;
    assert_eq!(again.outcome(), "FAILED");
    assert_eq!(deletes_sent_once(&h), sent);
}

#[tokio::test]
async fn an_ambiguous_delete_submission_is_looked_up_by_name_not_sent_again() {
    let h = Harness::builder().start().await;
    // Genesys applies the request, then the connection drops before the answer.
    h.emulator
        .add_fault(
            Fault::new(
                "POST",
                "/api/v2/gdpr/requests",
                FaultAction::ProcessThenDrop,
            )
            .request_type("GDPR_DELETE")
            .times(1),
        )
        .expect("fault added");
    let run = h.run("happy-path").await;
    assert_eq!(run.outcome(), "COMPLETED", "{:#}", run.record());
    let sent = deletes_sent_once(&h);
    assert_eq!(
        sent,
        deletes_per_identifier(&h, "DSAR-2026-1001", run.record()).len()
    );
    let deletions: Vec<&serde_json::Value> = (run.record()["genesys"]["requests"].as_array())
        .expect("requests")
        .iter()
        .filter(|r| r["requestType"] == "GDPR_DELETE")
        .collect();
    assert_eq!(
        deletions.iter().filter(|d| d["reused"] == true).count(),
        1,
        "the one whose answer was lost is found by its name"
    );
}

#[tokio::test]
async fn transient_genesys_faults_are_retried_by_the_definition() {
    let h = Harness::builder().start().await;
    h.emulator
        .add_fault(
            Fault::new(
                "GET",
                "/api/v2/gdpr/requests/*",
                FaultAction::ServerError { status: 503 },
            )
            .times(8),
        )
        .expect("fault added");
    let run = h.run("happy-path").await;
    assert_eq!(run.outcome(), "COMPLETED", "{:#}", run.record());
    assert!(
        run.outcome.result.counts.retries >= 1,
        "the Poll's Retry caught GenesysTransient"
    );
}
