//! State transitions and Genesys calls of the poll loop, and what they cost.
//!
//! The local runner executes the poll loop of `statemachine/erasure.asl.json`
//! (WaitForExport, PollExport, ExportStatus and their failure states, copied from the
//! file as they are) behind a Locate that submits a GDPR_EXPORT, against emulated jobs
//! that take 1, 10 and 60 minutes on a virtual clock. The Poll handler reads the
//! request's status from the emulator and returns the next wait by one of two
//! policies: back-off (10 s doubling to a 300 s cap) or a fixed 30 s (the guide's).
//! Transitions are the runner's `Counts`, as Step Functions Standard bills them;
//! Genesys calls are the emulator's request log.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use genesys_emulator::{Dataset, Emulator, JobTiming, RunningEmulator};
use local_runner::{Definition, Resources, Runner, TaskError, handler_fn};
use serde_json::{Value, json};

use crate::report::{Context, Rendered, Section, Target, table};

/// Step Functions Standard, US East (N. Virginia) and Europe (Ireland): USD per state
/// transition ($0.025 per 1,000).
pub const PRICE_PER_TRANSITION: f64 = 0.025 / 1000.0;
/// Where and when the price was read.
pub const PRICE_SOURCE: &str = "AWS Step Functions pricing page, Standard workflows, US East \
    (N. Virginia) and Europe (Ireland): $0.025 per 1,000 state transitions beyond the free tier \
    of 4,000 a month (list price, checked in November 2026 when this bench was written; unchanged since the service launched)";

/// The states of the poll loop in the definition.
const LOOP_STATES: [&str; 3] = ["WaitForExport", "PollExport", "ExportStatus"];
/// The states copied from the definition (the loop and where it fails).
const COPIED_STATES: [&str; 6] = [
    "WaitForExport",
    "PollExport",
    "ExportStatus",
    "ExportErrored",
    "ExportTimedOut",
    "PollExportFailed",
];

/// How the Poll step chooses the next wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `first` seconds, doubling after every poll, never more than `cap`.
    Backoff { first: u64, cap: u64 },
    /// The same wait every time.
    Fixed { every: u64 },
}

impl Policy {
    pub fn first_wait(self) -> u64 {
        match self {
            Self::Backoff { first, .. } => first,
            Self::Fixed { every } => every,
        }
    }

    pub fn next_wait(self, previous: u64) -> u64 {
        match self {
            Self::Backoff { cap, .. } => previous.saturating_mul(2).min(cap),
            Self::Fixed { every } => every,
        }
    }

    pub fn label(self) -> String {
        match self {
            Self::Backoff { first, cap } => format!("back-off {first} s doubling, cap {cap} s"),
            Self::Fixed { every } => format!("fixed {every} s"),
        }
    }
}

/// What one poll loop took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopRun {
    /// Status reads (`GET /api/v2/gdpr/requests/{id}`).
    pub status_reads: usize,
    /// Token requests over the whole run (the handlers keep their token, as
    /// `crates/genesys` does).
    pub token_requests: usize,
    /// Transitions into the loop's states.
    pub loop_transitions: u64,
    /// Transitions of the whole run (Locate and the end state included).
    pub transitions: u64,
    /// From the job's completion to the loop seeing it, seconds.
    pub noticed_after: i64,
}

/// The poll loop of `definition_text` behind a Locate, ending in Succeed (`Review`) or
/// Fail (`WriteRecord`).
pub fn poll_loop_definition(definition_text: &str) -> anyhow::Result<Definition> {
    let full: Value =
        serde_json::from_str(definition_text).context("the definition is not JSON")?;
    let mut states = serde_json::Map::new();
    for name in COPIED_STATES {
        let state = full["States"]
            .get(name)
            .with_context(|| format!("the definition has no state {name}"))?;
        states.insert(name.into(), state.clone());
    }
    states.insert(
        "Locate".into(),
        json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:locate",
               "ResultPath": "$.export", "Next": "WaitForExport"}),
    );
    states.insert("Review".into(), json!({"Type": "Succeed"}));
    states.insert(
        "WriteRecord".into(),
        json!({"Type": "Fail", "Error": "PollLoopFailed"}),
    );
    let substitutions = HashMap::from([(
        "PollFunctionArn".to_string(),
        "arn:aws:lambda:us-east-1:123456789012:function:poll".to_string(),
    )]);
    Ok(Definition::from_value(
        json!({"StartAt": "Locate", "States": states}),
        &substitutions,
    )?)
}

/// A job of `length`: INITIATED a quarter, SEARCHING half, FINALIZING the rest.
fn timing(length: Duration) -> JobTiming {
    let quarter = length / 4;
    let half = length / 2;
    JobTiming {
        initiated: quarter,
        searching: half,
        searching_per_item: Duration::ZERO,
        processing: Duration::ZERO,
        processing_per_item: Duration::ZERO,
        finalizing: length - quarter - half,
    }
}

struct Genesys {
    base: String,
    client_id: String,
    secret: String,
    http: reqwest::Client,
    token: Mutex<Option<String>>,
}

impl Genesys {
    fn new(emu: &RunningEmulator) -> Self {
        let oauth = emu.oauth_client();
        Self {
            base: emu.base_url(),
            client_id: oauth.client_id,
            secret: oauth.client_secret,
            http: reqwest::Client::new(),
            token: Mutex::new(None),
        }
    }

    async fn token(&self) -> Result<String, TaskError> {
        if let Some(t) = self.token.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(t);
        }
        let body: Value = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .basic_auth(&self.client_id, Some(&self.secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(transient)?
            .json()
            .await
            .map_err(transient)?;
        let token = body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some(token.clone());
        Ok(token)
    }
}

fn transient(e: reqwest::Error) -> TaskError {
    TaskError::lambda("GenesysTransient", e.to_string())
}

/// Runs the loop once against a job of `length` with `policy`.
pub async fn run_poll_loop(
    definition: Definition,
    length: Duration,
    policy: Policy,
) -> anyhow::Result<LoopRun> {
    let ds = Dataset::bundled();
    let email = ds
        .personas
        .iter()
        .find_map(|p| p.email_addresses.first().cloned())
        .context("no persona with an e-mail address")?;
    let clock = Arc::new(clock::VirtualClock::starting_at(ds.as_of));
    let emu = Emulator::builder()
        .dataset(ds)
        .clock(clock.clone())
        .job_timing(timing(length))
        .start()
        .await?;
    let genesys = Arc::new(Genesys::new(&emu));

    let g = genesys.clone();
    let locate = handler_fn(move |_input, _ctx| {
        let g = g.clone();
        let email = email.clone();
        async move {
            let token = g.token().await?;
            let request: Value = g
                .http
                .post(format!("{}/api/v2/gdpr/requests", g.base))
                .bearer_auth(token)
                .json(
                    &json!({"requestType": "GDPR_EXPORT", "subject": {"emailAddresses": [email]}}),
                )
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(transient)?
                .json()
                .await
                .map_err(transient)?;
            Ok(json!({
                "requestId": request["id"],
                "reused": false,
                "poll": {"status": request["status"], "done": false, "timedOut": false,
                         "waitSeconds": policy.first_wait(), "polls": 0}
            }))
        }
    });
    let g = genesys.clone();
    let poll = handler_fn(move |input: Value, _ctx| {
        let g = g.clone();
        async move {
            let id = input["requestId"].as_str().unwrap_or_default().to_string();
            let token = g.token().await?;
            let request: Value = g
                .http
                .get(format!("{}/api/v2/gdpr/requests/{id}", g.base))
                .bearer_auth(token)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(transient)?
                .json()
                .await
                .map_err(transient)?;
            let status = request["status"].as_str().unwrap_or_default().to_string();
            let previous = input["poll"]["waitSeconds"]
                .as_u64()
                .unwrap_or(policy.first_wait());
            Ok(json!({
                "status": status,
                "done": status == "COMPLETED" || status == "ERROR",
                "timedOut": false,
                "waitSeconds": policy.next_wait(previous),
                "polls": input["poll"]["polls"].as_u64().unwrap_or(0) + 1,
            }))
        }
    });
    let runner = Runner::builder(definition)
        .resources(
            Resources::new()
                .function("locate", locate)
                .function("poll", poll),
        )
        .clock(clock.clone())
        .build()?;
    let input =
        json!({"ticket": {"id": "BENCH-0001"}, "clock": {"pollGiveUpAt": "2099-01-01T00:00:00Z"}});
    let result = runner.run(input).await;
    if let Some(e) = result.error() {
        bail!("the poll loop failed: {}: {}", e.error, e.cause);
    }
    // The report says no retry happened: each would be a billed transition more.
    if result.counts.retries != 0 {
        bail!(
            "the poll loop retried {} times against the emulator",
            result.counts.retries
        );
    }
    let job = emu
        .gdpr_requests()
        .into_iter()
        .next()
        .context("no GDPR request was submitted")?;
    let completed = job
        .phases
        .last()
        .map(|p| p.ends)
        .context("a job without phases")?;
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
    let log = emu.request_log();
    Ok(LoopRun {
        status_reads: log
            .iter()
            .filter(|r| r.method == "GET" && r.path.starts_with("/api/v2/gdpr/requests/"))
            .count(),
        token_requests: log.iter().filter(|r| r.path == "/oauth/token").count(),
        loop_transitions,
        transitions: result.counts.state_transitions,
        noticed_after: (clock::Clock::now(clock.as_ref()) - completed).num_seconds(),
    })
}

pub const BACKOFF: Policy = Policy::Backoff {
    first: 10,
    cap: 300,
};
pub const FIXED: Policy = Policy::Fixed { every: 30 };
/// Job lengths, minutes.
pub const JOBS: [u64; 3] = [1, 10, 60];
/// Goal: back-off transitions per 10-minute job over the fixed poll's.
pub const TRANSITIONS_RATIO_GOAL: f64 = 1.0 / 3.0;

pub struct PollCost {
    pub definition: std::path::PathBuf,
}

fn usd(x: f64) -> String {
    format!("${x:.4}")
}

#[async_trait::async_trait]
impl Section for PollCost {
    fn title(&self) -> String {
        "Transitions and Genesys calls per erasure (poll loop)".into()
    }

    async fn run(&self, ctx: &Context) -> anyhow::Result<Rendered> {
        let path = ctx.root.join(&self.definition);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut rows = Vec::new();
        let mut per_erasure = Vec::new();
        let mut ten: HashMap<&str, u64> = HashMap::new();
        for minutes in JOBS {
            for (key, policy) in [("backoff", BACKOFF), ("fixed", FIXED)] {
                let run = run_poll_loop(
                    poll_loop_definition(&text)?,
                    Duration::from_secs(minutes * 60),
                    policy,
                )
                .await?;
                if minutes == 10 {
                    ten.insert(key, run.loop_transitions);
                }
                let cost_1000_jobs = run.loop_transitions as f64 * 1000.0 * PRICE_PER_TRANSITION;
                rows.push(vec![
                    format!("{minutes} min"),
                    policy.label(),
                    run.status_reads.to_string(),
                    run.token_requests.to_string(),
                    run.loop_transitions.to_string(),
                    format!("{} s", run.noticed_after),
                    usd(cost_1000_jobs),
                ]);
                let waiting_minutes = (minutes * 60) as f64 / 60.0;
                per_erasure.push(vec![
                    format!("{minutes} min"),
                    policy.label(),
                    (2 * run.loop_transitions).to_string(),
                    (2 * run.status_reads).to_string(),
                    usd(2.0 * cost_1000_jobs),
                    format!("{:.2}", run.status_reads as f64 / waiting_minutes),
                ]);
            }
        }
        let mut body = String::new();
        let _ = writeln!(
            body,
            "The local runner runs the poll loop of `{}` (WaitForExport → PollExport → \
             ExportStatus, copied from the file with its Retry and Catch) behind a Locate that \
             submits a GDPR_EXPORT, against the emulator on a virtual clock with jobs that \
             complete after 1, 10 and 60 minutes. The Poll handler reads the status from the \
             emulator (keeping its token, as `crates/genesys` does) and returns the next wait: \
             {} (the project's policy) or {} (the guide's `time.sleep(30)`). *Loop transitions*: \
             states entered in the loop, as Step Functions Standard bills them (the runner's \
             counts; no retries happened); *noticed after*: from the job's completion to the \
             poll that saw it. Price: {PRICE_SOURCE}.\n",
            self.definition.display(),
            BACKOFF.label(),
            FIXED.label()
        );
        body.push_str("Per GDPR job (one poll loop):\n\n");
        body.push_str(&table(
            &[
                "job",
                "policy",
                "status reads",
                "token requests",
                "loop transitions",
                "noticed after",
                "loop cost per 1,000 jobs",
            ],
            &rows,
        ));
        body.push_str(
            "\nPer erasure: two such loops (the export and the deletion; both jobs assumed to take \
             the same time). The rest of the erasure's transitions (Intake, Locate, Review, \
             Erase, AfterErasure, WriteRecord, ...) do not depend on the poll policy; *to fill \
             when the steps land*: the whole definition's transitions per erasure, run with the \
             real steps. *Status reads per minute of job* is what one erasure spends of the 300 requests \
             a minute an OAuth client gets (DESIGN.md), shared by every concurrent erasure.\n\n",
        );
        body.push_str(&table(
            &[
                "jobs of",
                "policy",
                "loop transitions",
                "status reads",
                "polling cost per 1,000 erasures",
                "status reads per minute of job",
            ],
            &per_erasure,
        ));
        let mut targets = Vec::new();
        if let (Some(b), Some(f)) = (ten.get("backoff"), ten.get("fixed")) {
            let ratio = *b as f64 / *f as f64;
            let met = ratio <= TRANSITIONS_RATIO_GOAL;
            targets.push(Target {
                what: "transitions per 10-minute job, back-off vs fixed 30 s poll".into(),
                goal: "at most 1/3".into(),
                measured: format!("{b} vs {f} ({ratio:.2})"),
                met: Some(met),
                margin: if met {
                    format!("{:.1}x below the limit", TRANSITIONS_RATIO_GOAL / ratio)
                } else {
                    format!("{:.1}x over the limit", ratio / TRANSITIONS_RATIO_GOAL)
                },
            });
        }
        Ok(Rendered { body, targets })
    }
}

/// For tests: the definition file of the repository.
pub fn repository_definition() -> anyhow::Result<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../statemachine/erasure.asl.json");
    Ok(std::fs::read_to_string(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_to_its_cap() {
        let mut waits = vec![BACKOFF.first_wait()];
        for _ in 0..6 {
            waits.push(BACKOFF.next_wait(*waits.last().unwrap()));
        }
        assert_eq!(waits, [10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(FIXED.next_wait(30), 30);
    }

    #[tokio::test]
    async fn a_ten_minute_job_needs_six_polls_with_back_off_and_twenty_with_a_fixed_poll() {
        let text = repository_definition().unwrap();
        let ten = Duration::from_secs(600);
        let backoff = run_poll_loop(poll_loop_definition(&text).unwrap(), ten, BACKOFF)
            .await
            .unwrap();
        // Polls at 10, 30, 70, 150, 310 and 610 s; the job completes at 600 s.
        assert_eq!(backoff.status_reads, 6);
        assert_eq!(backoff.loop_transitions, 18);
        assert_eq!(backoff.noticed_after, 10);
        assert_eq!(backoff.token_requests, 1);
        // Locate and the final state besides the loop.
        assert_eq!(backoff.transitions, 20);
        let fixed = run_poll_loop(poll_loop_definition(&text).unwrap(), ten, FIXED)
            .await
            .unwrap();
        assert_eq!(fixed.status_reads, 20);
        assert_eq!(fixed.loop_transitions, 60);
        assert_eq!(fixed.noticed_after, 0);
    }
}
