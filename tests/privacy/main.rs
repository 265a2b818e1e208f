//! No identifier of any test subject leaves the steps that need it: not in the logs
//! (everything `tracing` emits, every crate, every level), not in an archived byte,
//! not in the payloads of the record step and the review gate.
//!
//! Alone in its binary: it installs the process-wide subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex};

use e2e::Harness;
use erasure_core::identifiers::PhoneE164;
use genesys_emulator::{Fault, FaultAction};
use serde_json::Value;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const FIXTURES: &[&str] = &[
    "happy-path",
    "recycled-number",
    "legal-hold",
    "deletion-protection",
    "former-agent",
    "active-agent",
    "rejected-no-sign-off",
];

/// Every spelling of every identifier in the fixture tickets, lower-cased (the
/// haystack is lower-cased too, so upper and mixed case are covered).
fn needles() -> Vec<String> {
    let mut out: Vec<String> = vec![e2e::DPO.to_owned()];
    for f in FIXTURES {
        let t = e2e::ticket(f);
        let s = &t["subject"];
        if let Some(name) = s["name"].as_str() {
            out.push(name.to_owned());
            // The family name alone, in every spelling.
            out.extend(name.split_whitespace().last().map(str::to_owned));
        }
        for e in s["emails"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            out.push(e.to_owned());
        }
        for p in s["phones"].as_array().into_iter().flatten() {
            let raw = p["number"].as_str().unwrap_or_default();
            out.push(raw.to_owned());
            let e164 = PhoneE164::parse(raw, None).expect("fixture phones are valid");
            let e164 = e164.expose().to_owned();
            let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
            out.push(e164.clone());
            out.push(digits.clone());
            // National form: the number after the country code, with a leading 0.
            for cc in ["353", "44"] {
                if let Some(rest) = digits.strip_prefix(cc) {
                    out.push(format!("0{rest}"));
                    out.push(rest.to_owned());
                }
            }
        }
        for k in ["genesysUserId", "externalContactId"] {
            if let Some(id) = s[k].as_str() {
                out.push(id.to_owned());
            }
        }
    }
    out.into_iter().map(|n| n.to_lowercase()).collect()
}

fn leaks(haystack: &str, what: &str) -> Vec<String> {
    let hay = haystack.to_lowercase();
    let numbers = number_runs(haystack);
    needles()
        .into_iter()
        .filter(|n| {
            hay.contains(n.as_str())
                || (n.chars().all(|c| c.is_ascii_digit()) && numbers.contains(n.as_str()))
        })
        .map(|n| format!("{what}: {n}"))
        .collect()
}

/// Every run of digits and phone punctuation (`+ - ( ) . /` and spaces), as digits
/// only: a number written `353 (0)83 456-7890` is caught as well as `+353834567890`.
fn number_runs(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let digits: String = run.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 7 {
            out.push_str(&digits);
            out.push('|');
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() || " +-()./".contains(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_identifier_of_any_test_subject_appears_in_logs_records_or_the_record_steps_payloads() {
    // The check itself is not vacuous: every kind of spelling is caught.
    assert!(needles().len() > 40);
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
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

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
    let logs =
        String::from_utf8_lossy(&captured.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    assert!(
        logs.contains("compliance record written"),
        "the capture saw the run"
    );
    found.extend(leaks(&logs, "logs"));

    for e in h.archive.list(None).await.expect("lists") {
        let stored = h.archive.read(&e).await.expect("reads");
        found.extend(leaks(&String::from_utf8_lossy(&stored.bytes), &e.key));
    }
    // The sidecars and anything else in the archive directory.
    let files = walk(h.archive.location().as_ref());
    assert!(!files.is_empty());
    for f in files {
        let bytes = std::fs::read(&f).expect("readable");
        found.extend(leaks(
            &String::from_utf8_lossy(&bytes),
            &f.display().to_string(),
        ));
    }

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
    assert!(
        found.is_empty(),
        "identifiers leaked:\n{}",
        found.join("\n")
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
