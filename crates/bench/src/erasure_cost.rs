//! State transitions and Genesys calls of whole erasures, and what they cost.
//!
//! The happy-path ticket runs through `statemachine/erasure.asl.json` on the local
//! runner with every step in process ([`crate::world`]), against the emulator on a
//! virtual clock whose GDPR jobs (the export and the deletion) each take exactly 1, 10
//! or 60 minutes. Once with the project's poll policy (`PollPolicy::default()`: 10 s
//! doubling to a 300 s cap), once with the guide's fixed 30 s (the same policy type with
//! first wait and cap at 30 s). Transitions are the runner's `Counts`, as Step Functions
//! Standard bills them; Genesys calls are the emulator's request log.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context as _, bail};
use erasure_steps::gdpr::PollPolicy;
use genesys_emulator::JobTiming;

use crate::report::{Context, Rendered, Section, Target, table};
use crate::world::{World, WorldOptions, happy_path};

/// Step Functions Standard, US East (N. Virginia) and Europe (Ireland): USD per state
/// transition ($0.025 per 1,000).
pub const PRICE_PER_TRANSITION: f64 = 0.025 / 1000.0;
/// Where and when the price was read.
pub const PRICE_SOURCE: &str = "AWS Step Functions pricing \
    (<https://aws.amazon.com/step-functions/pricing/>), Standard workflows: $0.0250 per 1,000 state \
    transitions in US East (N. Virginia) and Europe (Ireland), retries included, beyond a free \
    tier of 4,000 a month that is not deducted here (read in November 2026)";

/// The poll loops' states: Wait, Task and Choice of the export and of the deletion.
pub const LOOP_STATES: [&str; 6] = [
    "WaitForExport",
    "PollExport",
    "ExportStatus",
    "WaitForDeletion",
    "PollDeletion",
    "DeletionStatus",
];

/// The project's policy.
pub fn backoff() -> PollPolicy {
    PollPolicy::default()
}

/// The guide's `time.sleep(30)`.
pub fn fixed_30s() -> PollPolicy {
    PollPolicy {
        first_wait: Duration::from_secs(30),
        max_wait: Duration::from_secs(30),
        ..PollPolicy::default()
    }
}

pub fn label(p: &PollPolicy) -> String {
    if p.first_wait == p.max_wait {
        format!("fixed {} s", p.first_wait.as_secs())
    } else {
        format!(
            "back-off {} s doubling, cap {} s",
            p.first_wait.as_secs(),
            p.max_wait.as_secs()
        )
    }
}

/// A GDPR job of `length`: INITIATED a quarter, SEARCHING half, FINALIZING the rest,
/// nothing per item, so every job takes exactly `length`.
pub fn timing(length: Duration) -> JobTiming {
    let quarter = length / 4;
    let half = length / 2;
    JobTiming {
        initiated: quarter,
        searching: half,
        searching_per_item: Duration::ZERO,
        processing: Duration::ZERO,
        processing_per_item: Duration::ZERO,
        finalizing: length - quarter - half,
        export_business_days: 0,
    }
}

/// What one whole erasure took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureRun {
    pub outcome: String,
    /// Every billed transition of the execution.
    pub transitions: u64,
    pub retries: u64,
    /// Transitions into the two poll loops' states.
    pub loop_transitions: u64,
    /// PollExport and PollDeletion invocations.
    pub polls: u64,
    /// Every call the emulator answered.
    pub genesys_calls: usize,
    /// `GET /api/v2/gdpr/requests/{id}`: the polls, and Review reading the export.
    pub status_reads: usize,
    pub token_requests: usize,
    /// Virtual time from start to end, seconds.
    pub elapsed: i64,
}

/// The happy-path ticket, once, with jobs of `length` and `poll`.
pub async fn run_erasure(length: Duration, poll: PollPolicy) -> anyhow::Result<ErasureRun> {
    let world = World::start(WorldOptions {
        job_timing: timing(length),
        poll,
        ..WorldOptions::default()
    })
    .await?;
    let started = clock::Clock::now(world.clock.as_ref());
    let (outcome, record) = world.run(happy_path()).await?;
    if let Some(e) = outcome.result.error() {
        bail!("the erasure failed: {}: {}", e.error, e.cause);
    }
    let result = &outcome.result;
    let loop_transitions = result
        .history
        .iter()
        .filter(|e| {
            e.kind.ends_with("StateEntered")
                && e.state_name
                    .as_deref()
                    .is_some_and(|s| LOOP_STATES.contains(&s))
        })
        .count() as u64;
    let polls = result
        .history
        .iter()
        .filter(|e| {
            e.kind.ends_with("StateEntered")
                && matches!(e.state_name.as_deref(), Some("PollExport" | "PollDeletion"))
        })
        .count() as u64;
    let log = world.emulator.request_log();
    Ok(ErasureRun {
        polls,
        outcome: record,
        transitions: result.counts.state_transitions,
        retries: result.counts.retries,
        loop_transitions,
        genesys_calls: log.len(),
        status_reads: log
            .iter()
            .filter(|r| r.method == "GET" && r.path.starts_with("/api/v2/gdpr/requests/"))
            .count(),
        token_requests: log.iter().filter(|r| r.path == "/oauth/token").count(),
        elapsed: (clock::Clock::now(world.clock.as_ref()) - started).num_seconds(),
    })
}

/// Job lengths, minutes.
pub const JOBS: [u64; 3] = [1, 10, 60];
/// Goal: back-off poll-loop transitions per 10-minute job over the fixed poll's.
pub const TRANSITIONS_RATIO_GOAL: f64 = 1.0 / 3.0;

pub struct ErasureCost;

fn usd(x: f64) -> String {
    format!("${x:.2}")
}

#[async_trait::async_trait]
impl Section for ErasureCost {
    fn title(&self) -> String {
        "Transitions and Genesys calls per erasure".into()
    }

    async fn run(&self, _ctx: &Context) -> anyhow::Result<Rendered> {
        let mut rows = Vec::new();
        let mut ten: HashMap<bool, ErasureRun> = HashMap::new();
        for minutes in JOBS {
            for (fixed, policy) in [(false, backoff()), (true, fixed_30s())] {
                let run = run_erasure(Duration::from_secs(minutes * 60), policy).await?;
                // Counts, not timings: a second run must give the same figures.
                let again = run_erasure(Duration::from_secs(minutes * 60), policy).await?;
                if again != run {
                    bail!(
                        "two erasures of {minutes}-minute jobs counted differently: {run:?} vs {again:?}"
                    );
                }
                if run.outcome != "COMPLETED" || run.retries != 0 {
                    bail!(
                        "the happy path ended {} after {} retries",
                        run.outcome,
                        run.retries
                    );
                }
                rows.push(vec![
                    format!("{minutes} min"),
                    label(&policy),
                    run.transitions.to_string(),
                    format!(
                        "{} ({} per job)",
                        run.loop_transitions,
                        run.loop_transitions / 2
                    ),
                    run.polls.to_string(),
                    run.genesys_calls.to_string(),
                    run.token_requests.to_string(),
                    format!("{:.1} min", run.elapsed as f64 / 60.0),
                    usd(run.transitions as f64 * 1000.0 * PRICE_PER_TRANSITION),
                ]);
                if minutes == 10 {
                    ten.insert(fixed, run);
                }
            }
        }
        let mut body = String::new();
        let _ = writeln!(
            body,
            "Whole erasures of the happy-path ticket (`tests/fixtures/tickets/happy-path.json`, \
             `make demo`'s first scenario: three recorded calls found by number and CRM contact \
             id, two downstream systems told) through `statemachine/erasure.asl.json` on the \
             local runner, every step in process (`erasure_steps::local`), against the emulator \
             on a virtual clock whose export and deletion jobs each take exactly 1, 10 or 60 \
             minutes. Policies: {} (the project's `PollPolicy::default()`) and {} (the guide's \
             `time.sleep(30)`, as a `PollPolicy` with first wait and cap at 30 s). Every run \
             ended COMPLETED without a retry and was run twice with the same counts. \
             *Transitions*: states entered plus retries, as Step Functions Standard bills them \
             (the runner's counts); *poll loops*: Wait, Task and Choice of the export's and the \
             deletion's loops; *Genesys calls*: every request the emulator answered (the \
             steps' client keeps its token, so one token request per erasure); *took*: \
             virtual time from start to record. Price: {PRICE_SOURCE}.\n",
            label(&backoff()),
            label(&fixed_30s())
        );
        body.push_str(&table(
            &[
                "jobs of",
                "policy",
                "transitions",
                "poll loops",
                "polls",
                "Genesys calls",
                "token requests",
                "took",
                "cost per 1,000 erasures",
            ],
            &rows,
        ));
        let mut targets = Vec::new();
        let (b, f) = (
            ten.get(&false).context("no 10-minute back-off run")?,
            ten.get(&true).context("no 10-minute fixed run")?,
        );
        let (bj, fj) = (b.loop_transitions / 2, f.loop_transitions / 2);
        let ratio = bj as f64 / fj as f64;
        let met = ratio <= TRANSITIONS_RATIO_GOAL;
        let _ = writeln!(
            body,
            "\nFor a 10-minute job the back-off polls {} times where the fixed poll polls {} \
             (three transitions each: Wait, Task, Choice). Over the whole erasure, which also \
             pays for Intake, Locate, Review, Erase, the AfterErasure branches, WriteRecord and \
             ReportToTicket whatever the policy, that is {} transitions against {} ({:.2}).",
            b.polls / 2,
            f.polls / 2,
            b.transitions,
            f.transitions,
            b.transitions as f64 / f.transitions as f64
        );
        targets.push(Target {
            what: "poll-loop transitions per 10-minute job, back-off vs fixed 30 s poll".into(),
            goal: "at most 1/3".into(),
            measured: format!("{bj} vs {fj} ({ratio:.2})"),
            met: Some(met),
            margin: if met {
                format!("{:.1}x below the limit", TRANSITIONS_RATIO_GOAL / ratio)
            } else {
                format!("{:.1}x over the limit", ratio / TRANSITIONS_RATIO_GOAL)
            },
        });
        Ok(Rendered { body, targets })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_ten_minute_job_costs_six_polls_with_back_off_and_twenty_with_a_fixed_poll() {
        let ten = Duration::from_secs(600);
        let b = run_erasure(ten, backoff()).await.unwrap();
        assert_eq!(b.outcome, "COMPLETED");
        // Polls at 10, 30, 70, 150, 310 and 610 s of each 600 s job.
        assert_eq!(b.polls, 12);
        assert_eq!(b.loop_transitions, 36);
        // At most one token per day of the run, and a token lives 24 h: the erasure
        // spans the emulator's three-day redaction lag (VerifyErasure looks again
        // daily), then the checks 1, 7 and 15 days after the delete completed, each
        // after a wait longer than a token lives.
        assert!((2..=8).contains(&b.token_requests), "{}", b.token_requests);
        let f = run_erasure(ten, fixed_30s()).await.unwrap();
        assert_eq!(f.polls, 40);
        assert_eq!(f.loop_transitions, 120);
        // Everything else the erasure does is the same whatever the policy.
        assert_eq!(f.transitions - b.transitions, 120 - 36);
        // Each PollExport reads the status of each of the ticket's exports (one per
        // identifier: its e-mail and its number), each PollDeletion each of its deletes
        // (one per cleared identifier: the same two).
        let reads_per_poll_round = 2 + 2;
        assert_eq!(
            f.genesys_calls - b.genesys_calls,
            (20 - 6) * reads_per_poll_round
        );
        assert_eq!(
            f.status_reads - b.status_reads,
            (20 - 6) * reads_per_poll_round
        );
    }
}
