//! The hostile-input corpus through the whole pipeline: each case started as
//! `gdpr-erasure run` starts a ticket (the document, or `{rawTicket}` when it is not
//! JSON; named after its ticket id when that is a valid one, else after the case),
//! on the case's intake instant and settings. A refused case must end in a REJECTED
//! record with exactly the reasons the corpus expects and reach Genesys not once (not
//! even for a token); an accepted one (a deadline already passed) must run, with the
//! late flag and due date in its record.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use archive::LocalArchive;
use archive::verify::{VerifyOptions, verify};
use chrono::{DateTime, Utc};
use e2e::Harness;
use e2e::corpus::{Case, CaseConfig};
use erasure_core::deadline::{ClockBasis, DeadlineConfig};
use erasure_core::identifiers::TicketId;
use erasure_core::ticket::IntakeConfig;
use futures::StreamExt;
use serde_json::Value;

const DEFAULT_NOW: &str = "2026-11-22T12:00:00Z";

fn intake_config(c: &CaseConfig) -> IntakeConfig {
    IntakeConfig {
        default_region: c
            .default_region
            .as_ref()
            .map(|r| r.parse().expect("a region")),
        deadline: DeadlineConfig {
            clock_basis: match c.clock_basis.as_deref() {
                Some("verification") => ClockBasis::Verification,
                _ => ClockBasis::Receipt,
            },
            ..DeadlineConfig::default()
        },
        ..IntakeConfig::default()
    }
}

/// The execution name `gdpr-erasure run` would give the case.
fn execution_name(case: &Case) -> String {
    let id = case
        .parsed()
        .and_then(|v| {
            v.pointer("/ticket/id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .filter(|id| id.parse::<TicketId>().is_ok());
    id.unwrap_or_else(|| {
        let stem = case.name.replace(['/', '.'], "-");
        erasure_steps::intake::ticket_id_from_name(&stem)
    })
}

fn reasons(record: &Value) -> BTreeSet<(String, String)> {
    record["rejection"]["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["field"].as_str().unwrap_or_default().to_owned(),
                r["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// One refused case in a world shared by the refused cases of its settings, with an
/// archive of its own (cases share ticket ids; each record must be the first of its
/// chain). Returns the problems.
async fn refused(h: &Harness, case: &Case) -> Vec<String> {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = Arc::new(LocalArchive::new(dir.path(), Default::default()));
    let pipeline = h.pipeline_with(|d| d.write_record.archive = store.clone());
    let name = execution_name(case);
    let mut problems = Vec::new();
    let Some(input) = case.execution_input() else {
        // Not UTF-8: `gdpr-erasure run` stops before any execution (nothing can reach
        // Genesys); counted apart.
        return Vec::new();
    };
    let outcome = match pipeline.run(&name, input).await {
        Ok(o) => o,
        Err(e) => return vec![format!("the execution did not start: {e}")],
    };
    let Some(receipt) = outcome.record else {
        return vec![format!(
            "no record: the execution ended in {:?}",
            outcome.result.error()
        )];
    };
    let entries = archive::Archive::list(&*store, None).await.expect("lists");
    if entries.len() != 1 {
        problems.push(format!("{} records", entries.len()));
    }
    let stored = archive::Archive::read(&*store, &entries[0])
        .await
        .expect("reads");
    let record: Value = serde_json::from_slice(&stored.bytes).expect("JSON");
    if record["outcome"] != "REJECTED" {
        problems.push(format!("outcome {}", record["outcome"]));
    }
    let want: BTreeSet<(String, String)> = case
        .pipeline_expect()
        .errors
        .iter()
        .map(|e| (e.field.clone(), e.code.clone()))
        .collect();
    let got = reasons(&record);
    if got != want {
        problems.push(format!(
            "reasons: missing {:?}, unexpected {:?}",
            want.difference(&got).collect::<Vec<_>>(),
            got.difference(&want).collect::<Vec<_>>()
        ));
    }
    if receipt.key != entries[0].key {
        problems.push("the receipt names another record".into());
    }
    let report = verify(&*store, &VerifyOptions::default())
        .await
        .expect("reads");
    if !report.passed() {
        problems.push(format!("audit verify: {}", report.to_text()));
    }
    // The archive outside the harness gets the privacy scan here.
    for f in e2e::evidence::files_under(dir.path()) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        problems.extend(e2e::evidence::needles().scan(&String::from_utf8_lossy(&bytes), "record"));
    }
    problems
}

/// One accepted case, in a world of its own (it runs the whole workflow).
async fn accepted(case: &Case, now: &str) -> Vec<String> {
    let h = Harness::builder()
        .start_at(now)
        .intake(intake_config(&case.config))
        .start()
        .await;
    let name = execution_name(case);
    let Some(input) = case.execution_input() else {
        return vec!["an accepted case that is not UTF-8".into()];
    };
    let run = h.run_input(&name, input).await;
    let mut problems = Vec::new();
    let Some(record) = &run.record else {
        return vec![format!("no record: {:?}", run.outcome.result.error())];
    };
    let expect = case.pipeline_expect();
    if matches!(record["outcome"].as_str(), Some("REJECTED") | None) {
        problems.push(format!("refused: {}", record["rejection"]));
    }
    if record["clock"]["lateAtIntake"].as_bool() != expect.late_at_intake {
        problems.push(format!(
            "lateAtIntake {} (expected {:?})",
            record["clock"]["lateAtIntake"], expect.late_at_intake
        ));
    }
    if let Some(due) = &expect.effective_due_date
        && record["clock"]["effectiveDueDate"] != due.as_str()
    {
        problems.push(format!(
            "effectiveDueDate {} (expected {due})",
            record["clock"]["effectiveDueDate"]
        ));
    }
    if h.emulator.request_log().is_empty() {
        problems.push("it never reached Genesys".into());
    }
    let ticket = record["ticketId"].as_str().unwrap_or_default();
    if h.records_of(ticket).await.len() != 1 {
        problems.push("not exactly one record".into());
    }
    let report = verify(&*h.archive, &VerifyOptions::default())
        .await
        .expect("reads");
    if !report.passed() {
        problems.push(format!("audit verify: {}", report.to_text()));
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refused_corpus_ticket_ends_in_a_rejected_record_without_one_genesys_request_and_every_accepted_one_runs()
 {
    let cases = e2e::corpus::load();
    assert!(cases.len() >= 200, "{} cases", cases.len());
    let mut groups: BTreeMap<(String, CaseConfig), Vec<&Case>> = BTreeMap::new();
    for c in &cases {
        groups
            .entry((
                c.now.clone().unwrap_or_else(|| DEFAULT_NOW.to_owned()),
                c.config.clone(),
            ))
            .or_default()
            .push(c);
    }

    let mut failures = Vec::new();
    let (mut n_refused, mut n_accepted, mut n_unreadable) = (0, 0, 0);
    for ((now, config), group) in &groups {
        let (ok, bad): (Vec<&Case>, Vec<&Case>) = group
            .iter()
            .partition(|c| c.pipeline_expect().outcome == "accepted");
        // The refused cases of these settings share one emulator: its request log
        // must stay empty through all of them.
        let h = Harness::builder()
            .start_at(now)
            .intake(intake_config(config))
            .start()
            .await;
        let _: DateTime<Utc> = now.parse().expect("a timestamp");
        let results: Vec<(String, Vec<String>)> = futures::stream::iter(bad.iter())
            .map(|c| {
                let h = &h;
                async move { (c.name.clone(), refused(h, c).await) }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        n_refused += results.len();
        n_unreadable += bad.iter().filter(|c| c.execution_input().is_none()).count();
        for (name, problems) in results {
            failures.extend(problems.into_iter().map(|p| format!("{name}: {p}")));
        }
        let log = h.emulator.request_log();
        if !log.is_empty() {
            failures.push(format!(
                "refused tickets reached Genesys {} times: {:?}",
                log.len(),
                &log[..log.len().min(5)]
            ));
        }
        let results: Vec<(String, Vec<String>)> = futures::stream::iter(ok.iter())
            .map(|c| {
                let now = now.clone();
                async move { (c.name.clone(), accepted(c, &now).await) }
            })
            .buffer_unordered(4)
            .collect()
            .await;
        n_accepted += results.len();
        for (name, problems) in results {
            failures.extend(problems.into_iter().map(|p| format!("{name}: {p}")));
        }
    }
    println!(
        "corpus through the pipeline: {} refused (REJECTED record, no Genesys request), {n_unreadable} not UTF-8 (no execution started), {n_accepted} accepted and run",
        n_refused - n_unreadable
    );
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
