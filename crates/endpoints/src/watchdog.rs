//! The watchdog (hourly, EventBridge): what no single execution can see.
//!
//! - **ApprovalsOverdue**: RUNNING executions waiting in `AwaitDecision` for longer
//!   than `APPROVAL_OVERDUE_HOURS` (how long, from the history: when the state was
//!   entered).
//! - **DeadlinesNear**: RUNNING executions whose Art. 12(3) deadline (erasure-core's
//!   clock over the ticket in the execution input) ends within
//!   `DEADLINE_WARNING_DAYS`, or has passed.
//! - **ResumptionsDue**: DEFERRED tickets whose hold has expired: the latest record of
//!   the ticket in the archive is DEFERRED with `resumeOn` today or earlier, and the
//!   next attempt is not already running. Each is told to the DSAR tool (a signed
//!   POST to the ticket callback, `event: "resume-due"`), which re-sends the ticket
//!   with that attempt: the pipeline keeps no identifiers, the DSAR tool does.
//!
//! Metrics go to stdout as one CloudWatch Embedded Metric Format line (namespace
//! `GdprErasure`, dimension `StateMachineArn`), every run, zeros included. Execution
//! input is read in memory only; nothing the watchdog logs names a ticket or a person.
//! A metric the watchdog could not compute (Step Functions or the archive failing) is
//! left out rather than reported as 0, and the run fails, which raises
//! `WatchdogErrors`.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use clock::SharedClock;
use erasure_core::deadline::{self, DeadlineConfig};
use erasure_core::error::TicketError;
use erasure_core::identifiers::TicketId;
use erasure_core::ticket::{IntakeConfig, execution_name, validate};
use lambda_http::lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::{Value, json};

use archive::key::parse_record_file_name;
use archive::{Archive, ArchiveError, Outcome, Record};

use crate::sfn::{self, CurrentState, SfnError, StepFunctions};
use crate::signature::{SIGNATURE_HEADER, SigningKey, TIMESTAMP_HEADER};

pub const METRIC_APPROVALS_OVERDUE: &str = "ApprovalsOverdue";
pub const METRIC_DEADLINES_NEAR: &str = "DeadlinesNear";
pub const METRIC_RESUMPTIONS_DUE: &str = "ResumptionsDue";
/// The `event` of the callback that tells the DSAR tool to re-send a ticket.
pub const RESUME_DUE_EVENT: &str = "resume-due";

/// How the watchdog is set up (built once per cold start).
#[derive(Debug, Clone)]
pub struct WatchdogConfig {
    pub state_machine_arn: String,
    pub namespace: String,
    pub approval_overdue: Duration,
    pub deadline_warning: Duration,
    /// The deployment's ticket rules and deadline clock (Intake's defaults).
    pub intake: IntakeConfig,
}

impl WatchdogConfig {
    pub fn new(
        state_machine_arn: impl Into<String>,
        namespace: impl Into<String>,
        approval_overdue_hours: u32,
        deadline_warning_days: u32,
    ) -> Self {
        Self {
            state_machine_arn: state_machine_arn.into(),
            namespace: namespace.into(),
            approval_overdue: Duration::hours(i64::from(approval_overdue_hours)),
            deadline_warning: Duration::days(i64::from(deadline_warning_days)),
            intake: IntakeConfig::default(),
        }
    }

    fn deadline(&self) -> &DeadlineConfig {
        &self.intake.deadline
    }
}

/// What the watchdog learnt about one RUNNING execution (in memory only).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecutionFacts {
    /// The first instant after the ticket's effective deadline; `None` when the input
    /// holds no usable receipt time.
    pub deadline_ends_at: Option<DateTime<Utc>>,
    /// When the execution entered AwaitDecision, if that is where it is.
    pub awaiting_decision_since: Option<DateTime<Utc>>,
}

/// The two execution metrics over every RUNNING execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExecutionCounts {
    pub approvals_overdue: u64,
    pub deadlines_near: u64,
}

/// Counts overdue approvals (waiting strictly longer than the limit) and near
/// deadlines (ending within the warning period, or already passed).
pub fn count_executions(
    facts: &[ExecutionFacts],
    now: DateTime<Utc>,
    config: &WatchdogConfig,
) -> ExecutionCounts {
    let mut c = ExecutionCounts::default();
    for f in facts {
        if f.awaiting_decision_since
            .is_some_and(|since| now - since > config.approval_overdue)
        {
            c.approvals_overdue += 1;
        }
        if f.deadline_ends_at
            .is_some_and(|end| end - now <= config.deadline_warning)
        {
            c.deadlines_near += 1;
        }
    }
    c
}

/// The deadline of the ticket in an execution input, by erasure-core's clock. A
/// ticket that fails validation still has a clock when its receipt time is readable
/// (the erasure is owed all the same).
pub fn deadline_of(
    input: &str,
    config: &IntakeConfig,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let value: Value = serde_json::from_str(input).ok()?;
    let d = match validate(&value, config, now) {
        Ok(t) => t.deadline(&config.deadline, now),
        Err(TicketError::InvalidTicket { salvage, .. }) => deadline::compute(
            &config.deadline,
            salvage.received_at?,
            salvage.identity_verified_at,
            salvage.extension.as_ref(),
            now,
        ),
    };
    Some(d.effective_deadline_ends_at)
}

/// The facts of one execution from its input and its current state.
pub fn facts_of(
    input: Option<&str>,
    current: Option<&CurrentState>,
    config: &WatchdogConfig,
    now: DateTime<Utc>,
) -> ExecutionFacts {
    ExecutionFacts {
        deadline_ends_at: input.and_then(|i| deadline_of(i, &config.intake, now)),
        awaiting_decision_since: current
            .filter(|s| s.name == crate::approval::AWAIT_DECISION_STATE)
            .map(|s| s.entered_at),
    }
}

/// A DEFERRED ticket whose hold has expired, as the DSAR tool is told of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResumeNotice {
    pub event: &'static str,
    pub ticket_id: String,
    /// The `ticket.attempt` to re-send the ticket with.
    pub attempt: u32,
    pub resume_on: NaiveDate,
    /// The archive key of the DEFERRED record (names no person).
    pub deferred_record_key: String,
}

/// The attempt that wrote a record, from its `executionId` (`...:execution:<machine>:<name>`,
/// name `<ticket>` or `<ticket>.<attempt>`); the record's sequence when the name says
/// nothing (a record from the local runner): each run writes one record.
pub fn attempt_of_record(record: &Record) -> u32 {
    let view = record.view();
    let execution_id = record
        .value()
        .get("executionId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = execution_id.rsplit(':').next().unwrap_or_default();
    let from_name = if name == view.ticket_id {
        Some(1)
    } else {
        name.strip_prefix(view.ticket_id.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| *n >= 2)
    };
    from_name.unwrap_or_else(|| u32::try_from(view.sequence).unwrap_or(u32::MAX))
}

/// Open deferrals due today: the latest record of each ticket (by the time in its
/// key) is DEFERRED with `resumeOn <= today`. Only those latest DEFERRED records are
/// read. Returns the notices and how many records could not be read.
pub async fn resumptions_due<A: Archive + ?Sized>(
    archive: &A,
    today: NaiveDate,
) -> Result<(Vec<ResumeNotice>, usize), ArchiveError> {
    let mut latest: BTreeMap<String, (DateTime<Utc>, Outcome, archive::ObjectEntry)> =
        BTreeMap::new();
    for entry in archive.list(None).await? {
        let Some(parsed) = parse_record_file_name(&entry.file_name) else {
            continue;
        };
        let newer = latest
            .get(&entry.ticket_folder)
            .is_none_or(|(at, _, e)| (parsed.written_at, &entry.key) > (*at, &e.key));
        if newer {
            latest.insert(
                entry.ticket_folder.clone(),
                (parsed.written_at, parsed.outcome, entry),
            );
        }
    }
    let mut due = Vec::new();
    let mut unreadable = 0;
    for (_, (_, outcome, entry)) in latest {
        if outcome != Outcome::Deferred {
            continue;
        }
        let record = match archive.read(&entry).await {
            Ok(stored) => match Record::from_json(&stored.bytes) {
                Ok(r) => r,
                Err(_) => {
                    unreadable += 1;
                    continue;
                }
            },
            Err(ArchiveError::RecordNotFound { .. } | ArchiveError::ArchiveCorrupt { .. }) => {
                unreadable += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        let view = record.view();
        let Some(resume_on) = view.deferral.as_ref().and_then(|d| d.resume_on) else {
            continue;
        };
        if resume_on > today {
            continue;
        }
        due.push(ResumeNotice {
            event: RESUME_DUE_EVENT,
            ticket_id: view.ticket_id.clone(),
            attempt: attempt_of_record(&record).saturating_add(1),
            resume_on,
            deferred_record_key: entry.key.clone(),
        });
    }
    Ok((due, unreadable))
}

/// Tells the DSAR tool a ticket is due to be resumed.
#[async_trait]
pub trait ResumeNotifier: Send + Sync {
    async fn resume_due(&self, notice: &ResumeNotice) -> Result<(), NotifyError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("the ticket callback answered HTTP {0}")]
    Status(u16),
    #[error("the ticket callback could not be reached")]
    Unreachable,
}

/// The real notifier: a signed JSON POST to the ticket callback URL.
#[derive(Debug, Clone)]
pub struct HttpNotifier {
    pub client: reqwest::Client,
    pub url: String,
    pub key: SigningKey,
    pub clock: SharedClock,
}

#[async_trait]
impl ResumeNotifier for HttpNotifier {
    async fn resume_due(&self, notice: &ResumeNotice) -> Result<(), NotifyError> {
        let body = serde_json::to_vec(notice).map_err(|_| NotifyError::Unreachable)?;
        let ts = self.clock.now().timestamp();
        let signature = self.key.sign(ts, &body);
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header(TIMESTAMP_HEADER, ts.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .map_err(|_| NotifyError::Unreachable)?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(NotifyError::Status(status.as_u16()))
        }
    }
}

/// What one run found. `None`: that metric could not be computed this run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WatchdogReport {
    pub approvals_overdue: Option<u64>,
    pub deadlines_near: Option<u64>,
    pub resumptions_due: Option<u64>,
    /// Resumptions the DSAR tool was told of this run.
    pub resumptions_notified: u64,
    /// What went wrong, as codes (no identifiers): the run fails when not empty.
    pub problems: Vec<String>,
}

impl WatchdogReport {
    /// The EMF line for this run's metrics.
    pub fn emf_line(&self, config: &WatchdogConfig, at: DateTime<Utc>) -> String {
        let metrics: Vec<(&str, u64)> = [
            (METRIC_APPROVALS_OVERDUE, self.approvals_overdue),
            (METRIC_DEADLINES_NEAR, self.deadlines_near),
            (METRIC_RESUMPTIONS_DUE, self.resumptions_due),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.map(|v| (name, v)))
        .collect();
        emf_line(&config.namespace, &config.state_machine_arn, &metrics, at)
    }
}

/// One CloudWatch Embedded Metric Format document on one line: counts with the
/// `StateMachineArn` dimension.
pub fn emf_line(
    namespace: &str,
    state_machine_arn: &str,
    metrics: &[(&str, u64)],
    at: DateTime<Utc>,
) -> String {
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|(name, _)| json!({ "Name": name, "Unit": "Count" }))
        .collect();
    let mut doc = json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["StateMachineArn"]],
                "Metrics": definitions,
            }],
        },
        "StateMachineArn": state_machine_arn,
    });
    if let Some(map) = doc.as_object_mut() {
        for (name, value) in metrics {
            map.insert((*name).to_owned(), json!(value));
        }
    }
    doc.to_string()
}

/// The watchdog with its clients.
pub struct Watchdog<S, N> {
    pub config: WatchdogConfig,
    pub sfn: S,
    pub archive: Box<dyn Archive>,
    pub notifier: N,
    pub clock: SharedClock,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the watchdog run was incomplete: {}", .problems.join(", "))]
pub struct WatchdogError {
    pub problems: Vec<String>,
}

/// A stable `errorType` for the Lambda runtime (a boxed error would give a type name).
impl From<WatchdogError> for lambda_http::lambda_runtime::Diagnostic {
    fn from(e: WatchdogError) -> Self {
        lambda_http::lambda_runtime::Diagnostic {
            error_type: "WatchdogIncomplete".into(),
            error_message: e.to_string(),
        }
    }
}

impl<S: StepFunctions, N: ResumeNotifier> Watchdog<S, N> {
    /// The Lambda handler: one run, its metrics printed to stdout. The scheduled
    /// event carries nothing the watchdog needs.
    pub async fn handle(&self, _event: LambdaEvent<Value>) -> Result<Value, WatchdogError> {
        let report = self.run().await;
        println!("{}", report.emf_line(&self.config, self.clock.now()));
        if report.problems.is_empty() {
            Ok(json!({
                "approvalsOverdue": report.approvals_overdue,
                "deadlinesNear": report.deadlines_near,
                "resumptionsDue": report.resumptions_due,
                "resumptionsNotified": report.resumptions_notified,
            }))
        } else {
            Err(WatchdogError {
                problems: report.problems,
            })
        }
    }

    /// Computes the metrics and tells the DSAR tool of due resumptions.
    pub async fn run(&self) -> WatchdogReport {
        let now = self.clock.now();
        let mut report = WatchdogReport::default();
        let running = match self.sfn.list_running(&self.config.state_machine_arn).await {
            Ok(r) => Some(r),
            Err(e) => {
                report.problems.push(problem("ListExecutions", &e));
                None
            }
        };
        if let Some(running) = &running {
            let mut facts = Vec::with_capacity(running.len());
            for execution in running {
                match self.facts(&execution.execution_arn, now).await {
                    Ok(f) => facts.push(f),
                    // Ended between listing and reading: no longer running.
                    Err(SfnError::ExecutionDoesNotExist) => {}
                    Err(e) => report.problems.push(problem("execution", &e)),
                }
            }
            // With some executions unread the counts are lower bounds: still worth
            // emitting (a 1 still alarms), and the failed run says they are partial.
            let counts = count_executions(&facts, now, &self.config);
            report.approvals_overdue = Some(counts.approvals_overdue);
            report.deadlines_near = Some(counts.deadlines_near);
        }

        let today = deadline::local_date(now, self.config.deadline().time_zone);
        match resumptions_due(self.archive.as_ref(), today).await {
            Ok((due, unreadable)) => {
                if unreadable > 0 {
                    report
                        .problems
                        .push(format!("archive: {unreadable} unreadable record(s)"));
                }
                let running_names: BTreeSet<&str> =
                    running.iter().flatten().map(|e| e.name.as_str()).collect();
                let mut count = 0;
                for notice in &due {
                    // The resumption is under way: nothing to tell.
                    let next = notice
                        .ticket_id
                        .parse::<TicketId>()
                        .ok()
                        .map(|id| execution_name(&id, notice.attempt));
                    if next.is_some_and(|n| running_names.contains(n.as_str())) {
                        continue;
                    }
                    count += 1;
                    match self.notifier.resume_due(notice).await {
                        Ok(()) => report.resumptions_notified += 1,
                        Err(e) => report.problems.push(format!("ticket callback: {e}")),
                    }
                }
                report.resumptions_due = Some(count);
            }
            Err(e) => report.problems.push(format!("archive: {}", e.name())),
        }
        tracing::info!(
            approvals_overdue = report.approvals_overdue,
            deadlines_near = report.deadlines_near,
            resumptions_due = report.resumptions_due,
            resumptions_notified = report.resumptions_notified,
            problems = ?report.problems,
            "watchdog run"
        );
        report
    }

    async fn facts(
        &self,
        execution_arn: &str,
        now: DateTime<Utc>,
    ) -> Result<ExecutionFacts, SfnError> {
        let execution = self.sfn.describe_execution(execution_arn).await?;
        let current = sfn::current_state(&self.sfn, execution_arn).await?;
        Ok(facts_of(
            execution.input.as_deref(),
            current.as_ref(),
            &self.config,
            now,
        ))
    }
}

fn problem(what: &str, e: &SfnError) -> String {
    match e {
        SfnError::Service { operation, code } => format!("{what}: {operation} {code}"),
        other => format!("{what}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SM: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:gdpr-erasure-erasure";

    fn config() -> WatchdogConfig {
        WatchdogConfig::new(SM, "GdprErasure", 72, 7)
    }

    fn now() -> DateTime<Utc> {
        "2026-12-01T12:00:00Z".parse().unwrap()
    }

    fn waiting(for_: Duration) -> ExecutionFacts {
        ExecutionFacts {
            deadline_ends_at: None,
            awaiting_decision_since: Some(now() - for_),
        }
    }

    fn ending_in(d: Duration) -> ExecutionFacts {
        ExecutionFacts {
            deadline_ends_at: Some(now() + d),
            awaiting_decision_since: None,
        }
    }

    #[test]
    fn an_approval_is_overdue_only_once_it_has_waited_longer_than_the_limit() {
        let c = count_executions(
            &[
                waiting(Duration::hours(72)),
                waiting(Duration::hours(72) + Duration::seconds(1)),
                waiting(Duration::hours(1)),
                ExecutionFacts::default(),
            ],
            now(),
            &config(),
        );
        assert_eq!(c.approvals_overdue, 1);
        assert_eq!(c.deadlines_near, 0);
    }

    #[test]
    fn a_deadline_within_the_warning_or_already_passed_is_near() {
        let c = count_executions(
            &[
                ending_in(Duration::days(7)),
                ending_in(Duration::days(7) + Duration::seconds(1)),
                ending_in(-Duration::days(3)),
                ending_in(Duration::hours(1)),
                ExecutionFacts::default(),
            ],
            now(),
            &config(),
        );
        assert_eq!(c.deadlines_near, 3);
        assert_eq!(c.approvals_overdue, 0);
    }

    fn ticket(sign_off: Value) -> String {
        json!({
            "ticket": {
                "id": "DSAR-1", "source": "onetrust",
                "receivedAt": "2026-11-20T10:15:00Z", "identityVerifiedAt": "2026-11-22T09:00:00Z",
                "verificationMethod": "account-login", "signOff": sign_off
            },
            "subject": { "emails": ["jane@example.com"] }
        })
        .to_string()
    }

    #[test]
    fn the_deadline_comes_from_the_tickets_clock_even_when_the_ticket_is_invalid() {
        let signed =
            ticket(json!({"by": "dpo@example.com", "role": "DPO", "at": "2026-11-22T11:00:00Z"}));
        let expected: DateTime<Utc> = "2026-12-21T00:00:00Z".parse().unwrap();
        let intake = IntakeConfig::default();
        assert_eq!(deadline_of(&signed, &intake, now()), Some(expected));
        // No sign-off: Intake will reject it, yet the erasure's clock still runs.
        assert_eq!(
            deadline_of(&ticket(Value::Null), &intake, now()),
            Some(expected)
        );
        assert_eq!(
            deadline_of(r#"{"rawTicket": "garbage"}"#, &intake, now()),
            None
        );
        assert_eq!(deadline_of("not json", &intake, now()), None);
    }

    #[test]
    fn facts_take_the_wait_only_from_await_decision() {
        let entered: DateTime<Utc> = "2026-11-28T08:00:00Z".parse().unwrap();
        let at = |name: &str| CurrentState {
            name: name.into(),
            entered_at: entered,
            task_parameters: None,
        };
        let f = facts_of(None, Some(&at("AwaitDecision")), &config(), now());
        assert_eq!(f.awaiting_decision_since, Some(entered));
        let f = facts_of(None, Some(&at("PollExport")), &config(), now());
        assert_eq!(f.awaiting_decision_since, None);
    }

    #[test]
    fn the_emf_line_carries_every_metric_zeros_included_with_the_dimension() {
        let report = WatchdogReport {
            approvals_overdue: Some(0),
            deadlines_near: Some(2),
            resumptions_due: Some(0),
            ..WatchdogReport::default()
        };
        let line = report.emf_line(&config(), now());
        assert!(!line.contains('\n'), "one line");
        let v: Value = serde_json::from_str(&line).unwrap();
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(v["_aws"]["Timestamp"], now().timestamp_millis());
        assert_eq!(directive["Namespace"], "GdprErasure");
        assert_eq!(directive["Dimensions"], json!([["StateMachineArn"]]));
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            vec!["ApprovalsOverdue", "DeadlinesNear", "ResumptionsDue"]
        );
        assert_eq!(v["StateMachineArn"], SM);
        assert_eq!(v["ApprovalsOverdue"], 0);
        assert_eq!(v["DeadlinesNear"], 2);
        assert_eq!(v["ResumptionsDue"], 0);
    }

    #[test]
    fn a_metric_that_could_not_be_computed_is_left_out_not_zeroed() {
        let report = WatchdogReport {
            resumptions_due: Some(1),
            problems: vec!["ListExecutions".into()],
            ..WatchdogReport::default()
        };
        let v: Value = serde_json::from_str(&report.emf_line(&config(), now())).unwrap();
        assert!(v.get("ApprovalsOverdue").is_none());
        assert!(v.get("DeadlinesNear").is_none());
        assert_eq!(v["ResumptionsDue"], 1);
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn the_attempt_of_a_record_comes_from_its_execution_name() {
        let record = |execution_id: &str, sequence: u64| {
            let mut v = testkit::RecordBuilder::new("DSAR-9", "DEFERRED").build();
            v["executionId"] = json!(execution_id);
            v["sequence"] = json!(sequence);
            if sequence > 1 {
                v["previousDigest"] = json!(format!("sha256:{}", "0".repeat(64)));
            }
            Record::from_value(v).unwrap()
        };
        let arn = "arn:aws:states:eu-west-1:123456789012:execution:gdpr-erasure-erasure";
        assert_eq!(attempt_of_record(&record(&format!("{arn}:DSAR-9"), 1)), 1);
        assert_eq!(attempt_of_record(&record(&format!("{arn}:DSAR-9.3"), 3)), 3);
        // Not an execution of this ticket's name (the local runner's ids): the chain
        // length, one record per run.
        assert_eq!(attempt_of_record(&record("local-run-7", 2)), 2);
    }
}
