//! No identifier of any test subject leaves the steps that need it: not in the logs
//! (everything `tracing` emits, every crate, every level), not in an archived byte,
//! not in the payloads of the record step and the review gate.
//!
//! Every e2e harness checks logs and archives when its test ends (`e2e::evidence`);
//! this binary adds the payloads between states, and shows that the check catches a
//! planted leak in every place it looks.

use e2e::Harness;
use genesys_emulator::{Fault, FaultAction};
use serde_json::Value;

const FIXTURES: &[&str] = &[
    "happy-path",
    "recycled-number",
    "legal-hold",
    "deletion-protection",
    "former-agent",
    "active-agent",
    "rejected-no-sign-off",
];

/// The tests that look at the process's logs take turns: a line planted by one must
/// not be consumed by the other's check.
static LOGS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn leaks(haystack: &str, what: &str) -> Vec<String> {
    e2e::evidence::needles().scan(haystack, what)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_identifier_of_any_test_subject_appears_in_logs_records_or_the_record_steps_payloads() {
    let _turn = LOGS.lock().await;
    // The check itself is not vacuous: every kind of spelling is caught.
    assert!(e2e::evidence::needles().len() > 200);
    for sample in [
        "LIAM WALSH",
        "+353834567890",
        "353 83 456 7890",
        "0834567890",
        "Declan.Murphy@EXAMPLE.com",
        "1B7E7AD0-0D78-4841-AFE9-1396FB86EF4D",
    ] {
        assert!(
            !leaks(sample, "sample").is_empty(),
            "{sample} would not be caught"
        );
    }
    let h = Harness::builder().with_silent_system().start().await;
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
    let mut runs = Vec::new();
    for f in FIXTURES {
        runs.push(h.run(f).await);
    }
    runs.push(
        h.run_raw("DSAR-2026-1008", &e2e::ticket_text("malformed"))
            .await,
    );

    let mut found = Vec::new();
    assert!(
        e2e::evidence::all_logs().contains("compliance record written"),
        "the capture saw the run"
    );
    // Logs since the last check and every archived byte (what the harness checks when
    // the test ends, here at once).
    found.extend(h.privacy_findings());
    for e in h.archive.list(None).await.expect("lists") {
        let stored = h.archive.read(&e).await.expect("reads");
        found.extend(leaks(&String::from_utf8_lossy(&stored.bytes), &e.key));
    }
    assert!(!e2e::evidence::files_under(h.archive.location().as_ref()).is_empty());

    for run in &runs {
        assert!(
            run.record.is_some(),
            "{} ended without a record",
            run.outcome.result.name
        );
        for e in &run.outcome.result.history {
            let state = e.state_name.as_deref().unwrap_or_default();
            if matches!(state, "WriteRecord" | "AwaitDecision" | "ReportToTicket")
                && e.kind.ends_with("StateEntered")
            {
                // What the state passes on is its Parameters, rendered from this input.
                let input = e
                    .details
                    .get("input")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let v: Value = serde_json::from_str(input).unwrap_or(Value::Null);
                let payload = match state {
                    "WriteRecord" => {
                        let mut v = v.clone();
                        if let Some(o) = v.as_object_mut() {
                            o.remove("subject");
                        }
                        v
                    }
                    "AwaitDecision" => v["review"]["summary"].clone(),
                    _ => v["record"].clone(),
                };
                found.extend(leaks(
                    &payload.to_string(),
                    &format!("{} {state} payload", run.outcome.result.name),
                ));
            }
        }
    }
    for n in h.notices.notices() {
        found.extend(leaks(
            &serde_json::to_string(&n).expect("json"),
            "review notice",
        ));
    }
    // The letters to the subjects, every kind, language and format.
    let reports = h.reports.reports();
    assert!(
        reports.iter().filter(|r| !r.letters.is_empty()).count() >= 6,
        "letters were sent"
    );
    for r in &reports {
        for l in &r.letters {
            found.extend(leaks(
                &l.body,
                &format!("{} {} {} letter", r.ticket_id, l.kind, l.language),
            ));
        }
    }
    assert!(
        found.is_empty(),
        "identifiers leaked:\n{}",
        found.join("\n")
    );
}

/// The check fails when it should: a subject's identifier planted in the logs (in
/// spellings nobody wrote into the needles), in an archive file, or in a record
/// written to the archive is each found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_identifier_is_caught_in_logs_archive_files_and_records() {
    let _turn = LOGS.lock().await;
    let h = Harness::builder().start().await;
    // Run something first, so the planted lines sit among real ones.
    assert_eq!(h.run("happy-path").await.outcome(), "COMPLETED");
    assert!(h.privacy_findings().is_empty());

    // Liam Walsh's number and name as nobody spelled them in the fixtures.
    for planted in [
        "caller 083 456 7890 rang",
        "caller (+353) 83-456-7890 rang",
        "CALLER LIAM WALSH",
        "contact 73915644-4045-433A-B6F0-0EF6164C1830",
        "priya.nair%40example.org",
        "searchValue=%2B353861234567",
    ] {
        tracing::trace!(target: "planted", "{planted}");
        let found = h.privacy_findings();
        assert!(!found.is_empty(), "{planted:?} in the logs was not caught");
    }
    // A corpus subject and a load subject are needles too.
    tracing::warn!(target: "planted", "jane@example.com");
    assert!(!h.privacy_findings().is_empty(), "a corpus identifier");
    tracing::warn!(target: "planted", "load.subject.0042@example.net");
    assert!(!h.privacy_findings().is_empty(), "a load subject");
    // A surname alone is caught as a word, not inside another word.
    tracing::warn!(target: "planted", "questionnaire sent to Mr Nair");
    assert_eq!(h.privacy_findings().len(), 1);
    tracing::warn!(target: "planted", "questionnaire");
    assert!(h.privacy_findings().is_empty());

    // An archive file.
    let stray = std::path::Path::new(&h.archive.location()).join("stray.txt");
    std::fs::write(&stray, "grace.oconnor@example.com").expect("writable");
    assert!(!h.privacy_findings().is_empty(), "an archive file");
    std::fs::remove_file(&stray).expect("removable");
    assert!(h.privacy_findings().is_empty());
}

/// And the hook itself fails the test: a leak left in place when the test ends.
#[tokio::test]
#[should_panic(expected = "identifiers of test subjects leaked")]
async fn a_test_that_leaves_a_leak_fails_when_its_harness_is_dropped() {
    let h = Harness::builder().start().await;
    let stray = std::path::Path::new(&h.archive.location()).join("stray.txt");
    std::fs::write(&stray, "Tomasz Nowak, +44 7700 900123").expect("writable");
    drop(h);
}
