//! Load: many tickets started at once, one OAuth client shared by every execution
//! (as in production), against the emulator's 300 requests a minute, on the virtual
//! clock. Every ticket must end in exactly one COMPLETED record, none failing
//! because of 429s (the client honours Retry-After on the shared clock; the
//! definition retries with jitter), each subject's call erased and nobody else's.
//!
//! `E2E_LOAD_TICKETS` sets how many (default 200, at most `e2e::load::MAX_SUBJECTS`;
//! docs/load.md has figures for both 200 and 500).

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DurationRound, TimeDelta};
use e2e::Harness;
use genesys_emulator::RequestType;

use crate::world::{changed, others};

// Paused time: the clock is a discrete-event simulation (see `clock::TokioClock`).
#[tokio::test(start_paused = true)]
async fn tickets_started_at_once_all_finish_in_one_record_each_with_429s_absorbed() {
    let n: usize = std::env::var("E2E_LOAD_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let subjects = e2e::load::subjects(n);
    let h = Harness::builder()
        .simulated_clock()
        // Its conversations start in June 2026: a year back covers them all.
        .analytics_lookback(TimeDelta::days(366))
        .dataset(e2e::load::dataset(&subjects))
        .start()
        .await;
    let before = others(&h, &[]);
    let started = h.clock.now();
    let tickets = subjects
        .iter()
        .map(|s| (s.ticket_id.clone(), e2e::load::ticket(s, started)))
        .collect();
    let wall = Instant::now();
    let runs = h.pipeline.run_many(tickets).await;
    let wall = wall.elapsed();

    let mut problems = Vec::new();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut virtual_end = started;
    for (s, run) in subjects.iter().zip(&runs) {
        let run = run.as_ref().expect("the execution starts");
        virtual_end = virtual_end.max(run.result.stopped_at);
        let Some(receipt) = &run.record else {
            problems.push(format!(
                "{}: no record ({:?})",
                s.ticket_id,
                run.result.error()
            ));
            continue;
        };
        *outcomes.entry(receipt.outcome.clone()).or_default() += 1;
        if receipt.outcome != "COMPLETED" {
            let record = h.read_record(&receipt.key).await;
            problems.push(format!(
                "{}: {} ({} at {})",
                s.ticket_id,
                receipt.outcome,
                record["failure"]["error"],
                record["failure"]["stage"]
            ));
        }
        if h.conversation_ids().contains(&s.conversation_id) {
            problems.push(format!(
                "{}: the subject's call is still there",
                s.ticket_id
            ));
        }
    }
    // One record per ticket, each ticket's deletes sent once, nobody else's data touched.
    let listed = h.archive.list(None).await.expect("lists");
    if listed.len() != n {
        problems.push(format!("{} records for {n} tickets", listed.len()));
    }
    let names: Vec<String> = h
        .emulator
        .gdpr_requests()
        .into_iter()
        .filter(|j| j.request_type == RequestType::GdprDelete)
        .filter_map(|j| j.name)
        .collect();
    let accepted = crate::world::deletes_accepted(&h);
    if accepted.most_of_one > 1 {
        problems.push(format!("{accepted:?}: a GDPR_DELETE accepted twice"));
    }
    let without = (subjects.iter())
        .filter(|s| {
            let prefix = format!("gdpr-erasure/{}/delete/", s.ticket_id);
            !names.iter().any(|n| n.starts_with(&prefix))
        })
        .count();
    if without > 0 {
        problems.push(format!("{without} of {n} tickets without a GDPR_DELETE"));
    }
    let mut gone = changed(&before, &others(&h, &[]));
    // A subject's own call is redacted (or, under the other reading, removed).
    let own: Vec<String> = subjects
        .iter()
        .flat_map(|s| {
            [
                format!("conversation {} is gone", s.conversation_id),
                format!("conversation {} changed", s.conversation_id),
            ]
        })
        .collect();
    gone.retain(|c| !own.contains(c));
    if !gone.is_empty() {
        problems.push(format!("somebody else's data changed: {}", gone.join(", ")));
    }

    // The figures.
    let log = h.emulator.request_log();
    let calls = log.len();
    let limited = log.iter().filter(|e| e.status == Some(429)).count();
    let mut per_minute: BTreeMap<chrono::DateTime<chrono::Utc>, usize> = BTreeMap::new();
    for e in log.iter().filter(|e| e.path.starts_with("/api/")) {
        let minute = e
            .time
            .duration_trunc(TimeDelta::minutes(1))
            .expect("a minute");
        *per_minute.entry(minute).or_default() += 1;
    }
    let answered_per_minute = {
        let mut m: BTreeMap<chrono::DateTime<chrono::Utc>, usize> = BTreeMap::new();
        for e in log
            .iter()
            .filter(|e| e.path.starts_with("/api/") && e.status != Some(429))
        {
            *m.entry(
                e.time
                    .duration_trunc(TimeDelta::minutes(1))
                    .expect("a minute"),
            )
            .or_default() += 1;
        }
        m
    };
    let peak = per_minute.values().max().copied().unwrap_or(0);
    let peak_answered = answered_per_minute.values().max().copied().unwrap_or(0);
    let virtual_time = virtual_end - started;
    let figures = format!(
        "| tickets started at once | {n} |\n\
         | outcomes | {outcomes:?} |\n\
         | Genesys calls (API, token, results) | {calls} |\n\
         | calls per erasure | {:.1} |\n\
         | 429 answers | {limited} |\n\
         | peak API requests in one clock minute (all / answered; the emulator's 300 a minute is a fixed window, so a clock minute spanning two windows may show more) | {peak} / {peak_answered} |\n\
         | virtual time, first start to last end | {} min {} s |\n\
         | wall time | {:.1} s |",
        calls as f64 / n as f64,
        virtual_time.num_minutes(),
        virtual_time.num_seconds() % 60,
        wall.as_secs_f64(),
    );
    println!("load:\n{figures}");
    let _ = std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/../target"));
    let _ = std::fs::write(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/load-figures.md"),
        &figures,
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
