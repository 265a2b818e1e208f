//! A GDPR_DELETE redacts, days after COMPLETED (live-tenants.md 1): the workflow
//! checks again until the subject is off every in-scope conversation, and names what
//! never lost it.

use std::collections::BTreeSet;

use archive::verify::{VerifyOptions, verify};
use e2e::Harness;
use genesys_emulator::RedactionFault;

use crate::strings;

fn liam() -> Vec<String> {
    Harness::persona_conversations("happy-path")
}

fn checks(run: &e2e::Run) -> usize {
    run.states()
        .iter()
        .filter(|s| *s == "VerifyErasure")
        .count()
}

#[tokio::test]
async fn a_redaction_that_lands_late_is_pending_then_erased_and_the_outcome_completed() {
    let h = Harness::builder().start().await;
    let late = liam()[0].clone();
    // Five days after the others (which land three days after COMPLETED).
    h.emulator.set_redaction_fault(
        &late,
        Some(RedactionFault::LandsLate {
            extra_seconds: 5 * 86_400,
        }),
    );
    let run = h.run("happy-path").await;
    let record = run.record();
    assert_eq!(run.outcome(), "COMPLETED", "{record:#}");
    assert_eq!(record["counts"]["conversationsErased"], 3);
    assert!(record["gaps"].as_array().unwrap().is_empty());
    assert!(record.get("pendingRedaction").is_none());
    // Checked, found pending, waited, checked again: more than the three days the
    // others needed.
    assert!(checks(&run) >= 8, "{} checks", checks(&run));
    assert!(run.states().contains(&"WaitForRedaction".to_owned()));
    assert!(!h.conversation_ids().contains(&late));
}

#[tokio::test]
async fn a_redaction_that_never_lands_is_a_named_gap_after_the_window() {
    let h = Harness::builder().start().await;
    let stuck = liam()[1].clone();
    h.emulator
        .set_redaction_fault(&stuck, Some(RedactionFault::NeverLands));
    let run = h.run("happy-path").await;
    let record = run.record();
    assert_eq!(run.outcome(), "PARTIAL", "{record:#}");
    let gaps: Vec<String> = record["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["kind"] == "CONVERSATION_NOT_ERASED")
        .map(|g| g["subjectOfGap"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(gaps, vec![stuck.clone()], "only the stuck one is a gap");
    assert_eq!(record["counts"]["conversationsErased"], 2);
    let still: Vec<&serde_json::Value> = record["escalations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"] == "deleted-data-still-present")
        .collect();
    assert_eq!(still.len(), 1, "{record:#}");
    assert!(still[0]["detail"].as_str().unwrap().contains(&stuck));
    // Not before the window closed: fourteen days of daily checks.
    assert!(checks(&run) >= 14, "{} checks", checks(&run));

    // Checked again after the record: the last check, past the window, is a RESIDUE
    // naming the stuck conversation, escalated, and the DSAR tool is told.
    let verifications = h.verifications_of("DSAR-2026-1001").await;
    let last = verifications.last().expect("verified after the record");
    assert_eq!(last["result"], "RESIDUE", "{verifications:#?}");
    assert_eq!(
        strings(&last["conversations"]["residue"]),
        vec![stuck.clone()]
    );
    assert_eq!(last["check"]["number"], last["check"]["of"]);
    let escalation = &last["escalations"][0];
    assert_eq!(escalation["reason"], "erasure-residue");
    assert!(escalation["detail"].as_str().unwrap().contains(&stuck));
    assert!(
        h.reports
            .reports()
            .iter()
            .any(|r| r.outcome == "RESIDUE" && r.record_key.starts_with("verifications/")),
        "the DSAR tool is told of the residue"
    );
    let report = verify(&*h.archive, &VerifyOptions::default())
        .await
        .expect("verify ran");
    assert!(report.passed(), "{}", report.to_text());
    assert_eq!(report.verifications_checked, verifications.len());
    // The period report counts the checks and lists the residue as open.
    let figures = archive::report::load_verifications(
        &*h.archive,
        &archive::report::Period::new(None, None).unwrap(),
    )
    .await
    .expect("loaded");
    assert_eq!(
        figures.clean + figures.pending + figures.residue,
        verifications.len()
    );
    assert!(figures.residue >= 1);
    assert_eq!(figures.open_residues.len(), 1);
    assert_eq!(figures.open_residues[0].ticket_id, "DSAR-2026-1001");
    assert_eq!(figures.open_residues[0].conversations, 1);

    // A person closes it (a support case erased what was left): no longer open, and
    // the annotated chain verifies.
    let residue_key = figures.open_residues[0].key.clone();
    let actor = format!("hmac-sha256:{}", "d".repeat(64));
    archive::annotation::annotate(
        &*h.archive,
        &archive::annotation::Closing {
            ticket_id: "DSAR-2026-1001",
            document_key: &residue_key,
            reasons: vec!["erasure-residue".to_owned()],
            resolution: "resolved-by-genesys",
            support_case: "GEN-CASE-0042188",
            actor_ref: &actor,
            role: "DPO",
        },
        h.clock.now(),
    )
    .await
    .expect("annotated");
    let figures = archive::report::load_verifications(
        &*h.archive,
        &archive::report::Period::new(None, None).unwrap(),
    )
    .await
    .expect("loaded");
    assert!(figures.open_residues.is_empty(), "{figures:?}");
    let report = verify(&*h.archive, &VerifyOptions::default())
        .await
        .expect("verify ran");
    assert!(report.passed(), "{}", report.to_text());
    assert_eq!(report.annotations_checked, 1);
}

#[tokio::test]
async fn an_erasure_recorded_before_its_redaction_landed_is_pending_on_day_one_then_clean() {
    // Past its deadline at intake: the record is written before the redaction lands
    // (three days after COMPLETED), then checked 1, 7 and 15 days after COMPLETED.
    let h = Harness::builder()
        .start_at("2027-03-05T09:00:00Z")
        .start()
        .await;
    let run = h.run("happy-path").await;
    let record = run.record();
    assert!(record.get("pendingRedaction").is_some(), "{record:#}");
    let verifications = h.verifications_of("DSAR-2026-1001").await;
    let results: Vec<(u64, &str)> = (verifications.iter())
        .map(|v| {
            (
                v["check"]["number"].as_u64().unwrap(),
                v["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [(1, "PENDING"), (2, "CLEAN"), (3, "CLEAN")],
        "{verifications:#?}"
    );
    // Each names the record it verifies; the first hangs off it, each later one off
    // the one before.
    let digest = run.record_digest();
    assert_eq!(verifications[0]["previousDigest"], digest.as_str());
    assert!(
        verifications
            .iter()
            .all(|v| v["verifies"]["recordDigest"] == digest.as_str())
    );
    assert_eq!(
        strings(&verifications[0]["conversations"]["pending"]).len(),
        liam().len()
    );
    // Day 1, day 7 and day 15 after the delete completed.
    let completed: chrono::DateTime<chrono::Utc> = verifications[0]["deletionCompletedAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let due: Vec<i64> = (verifications.iter())
        .map(|v| {
            let at: chrono::DateTime<chrono::Utc> =
                v["check"]["dueAt"].as_str().unwrap().parse().unwrap();
            (at - completed).num_days()
        })
        .collect();
    assert_eq!(due, [1, 7, 15]);
    let report = verify(&*h.archive, &VerifyOptions::default())
        .await
        .expect("verify ran");
    assert!(report.passed(), "{}", report.to_text());
}

#[tokio::test]
async fn pending_when_the_budget_ends_is_recorded_as_pending_not_as_a_gap() {
    // Past its deadline at intake: the polling budget is short, so the record is
    // written before the redaction lands.
    let h = Harness::builder()
        .start_at("2027-03-05T09:00:00Z")
        .start()
        .await;
    let run = h.run("happy-path").await;
    let record = run.record();
    let pending = &record["pendingRedaction"];
    let ids: BTreeSet<String> = strings(&pending["conversations"]).into_iter().collect();
    if ids.is_empty() {
        panic!("expected pending conversations: {record:#}");
    }
    assert!(ids.iter().all(|c| liam().contains(c)));
    assert_eq!(run.outcome(), "COMPLETED", "{record:#}");
    assert!(
        record["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["kind"] != "CONVERSATION_NOT_ERASED"),
        "pending is not a gap: {record:#}"
    );
    assert!(pending["windowClosesAt"].is_string());
    assert!(
        record["escalations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"] == "redaction-pending")
    );
    // The new section passes the auditor's check.
    verify(&*h.archive, &VerifyOptions::default())
        .await
        .expect("the archive verifies");
}

/// The DSAR tool cannot be told the outcome (its callback refuses, after the record):
/// the erasure is still checked again, each check locked, and only then does the
/// execution end failed at TicketNotUpdated, so the alarm fires; one record.
#[tokio::test]
async fn a_ticket_the_dsar_tool_cannot_be_told_of_is_still_checked_again() {
    use erasure_steps::ports::{HttpTicketReporter, KeyRing};
    let h = Harness::builder().start().await;
    // A callback URL the receiver serves no system at: HTTP 404, TicketSystemRejected.
    let refusing = HttpTicketReporter::new(
        h.receiver.endpoint("no-such-dsar-tool"),
        KeyRing::from_key("ticket-key".repeat(4)).expect("a key"),
    );
    let pipeline = h.pipeline_with(|d| d.report_ticket.reporter = std::sync::Arc::new(refusing));
    let run = h
        .run_on(&pipeline, "DSAR-2026-1001", e2e::ticket("happy-path"))
        .await;
    assert_eq!(run.outcome(), "COMPLETED", "{:#}", run.record());
    let states = run.states();
    let reported = states
        .iter()
        .position(|s| s == "ReportToTicket")
        .expect("reported");
    assert!(
        states[reported..].iter().any(|s| s == "LaterCheckWrite"),
        "{states:?}"
    );
    assert_eq!(states.last().map(String::as_str), Some("TicketNotUpdated"));
    assert_eq!(
        run.outcome.result.error().map(|e| e.error.as_str()),
        Some("TicketNotUpdated")
    );
    let verifications = h.verifications_of("DSAR-2026-1001").await;
    assert_eq!(verifications.len(), 3, "{verifications:#?}");
    assert_eq!(verifications.last().unwrap()["result"], "CLEAN");
    assert_eq!(h.records_of("DSAR-2026-1001").await.len(), 1);
    let report = verify(&*h.archive, &VerifyOptions::default())
        .await
        .expect("verify ran");
    assert!(report.passed(), "{}", report.to_text());
}
