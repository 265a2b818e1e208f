//! The watchdog (hourly, EventBridge): what no single execution can see.
//!
//! - **ApprovalsOverdue**: RUNNING executions waiting in `AwaitDecision` for longer
//!   than `APPROVAL_OVERDUE_HOURS` (how long, from the history: when the state was
//!   entered).
//! - **DeadlinesNear**: RUNNING executions whose Art. 12(3) deadline (erasure-core's
//!   clock over the ticket in the execution input) ends within
//!   `DEADLINE_WARNING_DAYS`, or has passed.
//! - **ResumptionsDue**: DEFERRED tickets whose hold is over and that nothing resumes
//!   yet: the latest record of the ticket in the archive is DEFERRED with `resumeOn`
//!   today or earlier, no record in the archive names it in `resumes` (a follow-up
//!   ticket that ran), and no RUNNING execution's ticket names it in `ticket.resumes`
//!   (a follow-up in progress). Each is told to the DSAR tool (a signed POST to the
//!   ticket callback, `event: "resume-due"`), which opens a follow-up ticket with
//!   `ticket.resumes` set to that id: the pipeline keeps no identifiers, the DSAR tool
//!   does. A ticket id runs once (its GDPR delete is never sent twice), so a
//!   resumption is always a new ticket.
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
use erasure_core::identifiers::TicketId;
use erasure_core::ticket::TicketError;
use erasure_core::ticket::{IntakeConfig, validate};
use lambda_http::lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::{Value, json};

use archive::key::parse_record_file_name;
use archive::{Archive, ArchiveError, Outcome, Record};

use crate::sfn::{self, CurrentState, SfnError, StepFunctions};
use signing::{Endpoint, KeyRing, PostOutcome, SignedPost};

pub const METRIC_APPROVALS_OVERDUE: &str = "ApprovalsOverdue";
pub const METRIC_DEADLINES_NEAR: &str = "DeadlinesNear";
pub const METRIC_RESUMPTIONS_DUE: &str = "ResumptionsDue";
/// Executions checking their erasure again whose DSAR ticket could not be told the
/// outcome (ReportToTicket failed): they end in TicketNotUpdated only after the checks.
pub const METRIC_TICKETS_NOT_UPDATED: &str = "TicketsNotUpdated";
/// The `event` of the callback that asks the DSAR tool for a follow-up ticket.
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
    /// The DEFERRED ticket this execution's ticket follows up (`ticket.resumes`): a
    /// resumption in progress. A ticket id, not personal data; held in memory only.
    pub resumes: Option<TicketId>,
    /// Past its record, checking again, and its DSAR ticket was never told the outcome.
    pub ticket_not_told: bool,
}

/// The two execution metrics over every RUNNING execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExecutionCounts {
    pub approvals_overdue: u64,
    pub deadlines_near: u64,
    pub tickets_not_updated: u64,
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
        c.tickets_not_updated += u64::from(f.ticket_not_told);
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

/// Writes the next manifest when the latest is a day old or more (the watchdog runs
/// more often than daily); the key written, or `None`.
pub async fn daily_checkpoint(
    archive: &dyn Archive,
    now: DateTime<Utc>,
) -> Result<Option<String>, archive::ArchiveError> {
    let latest = archive::manifest::read_manifests(archive)
        .await?
        .last()
        .map(|(_, m)| m.view().written_at);
    if latest.is_some_and(|at| now - at < Duration::days(1)) {
        return Ok(None);
    }
    Ok(archive::manifest::checkpoint(archive, now)
        .await?
        .map(|r| r.key))
}

/// The prefix of the definition's states after the record (the later checks of the
/// erasure, statemachine/erasure.asl.json).
pub const LATER_CHECK_STATES: &str = "LaterCheck";

/// The facts of one execution from its input and its current state.
pub fn facts_of(
    input: Option<&str>,
    current: Option<&CurrentState>,
    config: &WatchdogConfig,
    now: DateTime<Utc>,
) -> ExecutionFacts {
    // An execution checking its erasure again after the record has met its deadline
    // (the record says whether in time): it is not near one.
    let after_record = current.is_some_and(|s| s.name.starts_with(LATER_CHECK_STATES));
    ExecutionFacts {
        deadline_ends_at: input
            .filter(|_| !after_record)
            .and_then(|i| deadline_of(i, &config.intake, now)),
        awaiting_decision_since: current
            .filter(|s| s.name == crate::approval::AWAIT_DECISION_STATE)
            .map(|s| s.entered_at),
        resumes: input.and_then(resumes_of),
        // ReportToTicket's Catch keeps its error at $.reportError and the execution
        // goes on to its later checks (the state's input is read, never logged).
        ticket_not_told: after_record
            && (current.and_then(|s| s.state_input.as_deref()))
                .and_then(|i| serde_json::from_str::<Value>(i).ok())
                .is_some_and(|i| i.get("reportError").is_some()),
    }
}

/// The `ticket.resumes` of an execution input, when it names a ticket id. Read from the
/// document as it is (a ticket Intake will refuse for another reason is still a
/// follow-up under way: its REJECTED record comes within minutes).
pub fn resumes_of(input: &str) -> Option<TicketId> {
    let value: Value = serde_json::from_str(input).ok()?;
    value.pointer("/ticket/resumes")?.as_str()?.parse().ok()
}

/// A DEFERRED ticket whose hold is over and that nothing resumes, as the DSAR tool is
/// told of it: open a follow-up ticket with `ticket.resumes` = `ticket_id`. Ids and a
/// date only, nothing about the subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResumeNotice {
    pub event: &'static str,
    /// The DEFERRED ticket, for the follow-up's `ticket.resumes`.
    pub ticket_id: String,
    pub resume_on: NaiveDate,
    /// The holds the DEFERRED record names (register ids, or
    /// `genesys-deletion-protection`).
    pub hold_ids: Vec<String>,
}

/// Open deferrals due today: the latest record of each ticket (by the time in its
/// key) is DEFERRED with `resumeOn <= today`, and no record of the archive resumes it
/// (`resumes` = its id). Returns the notices and how many records could not be read.
///
/// Reads only what it needs: the latest DEFERRED records, then, when any is due, the
/// records written since the first record of the earliest due ticket (a follow-up is
/// opened after the ticket it resumes, so its records are later).
pub async fn resumptions_due<A: Archive + ?Sized>(
    archive: &A,
    today: NaiveDate,
) -> Result<(Vec<ResumeNotice>, usize), ArchiveError> {
    struct Ticket {
        first: DateTime<Utc>,
        latest: (DateTime<Utc>, Outcome, archive::ObjectEntry),
    }
    // Objects outside the layout are `audit verify`'s business, not the watchdog's.
    let entries: Vec<(DateTime<Utc>, Outcome, archive::ObjectEntry)> = archive
        .list(None)
        .await?
        .into_iter()
        .filter_map(|e| parse_record_file_name(&e.file_name).map(|p| (p.written_at, p.outcome, e)))
        .collect();
    let mut tickets: BTreeMap<String, Ticket> = BTreeMap::new();
    for (at, outcome, entry) in &entries {
        let outcome = *outcome;
        match tickets.get_mut(&entry.ticket_folder) {
            None => {
                tickets.insert(
                    entry.ticket_folder.clone(),
                    Ticket {
                        first: *at,
                        latest: (*at, outcome, entry.clone()),
                    },
                );
            }
            Some(t) => {
                t.first = t.first.min(*at);
                if (*at, &entry.key) > (t.latest.0, &t.latest.2.key) {
                    t.latest = (*at, outcome, entry.clone());
                }
            }
        }
    }
    let mut unreadable = 0;
    let mut read_keys = BTreeSet::new();
    let mut resumed: BTreeSet<String> = BTreeSet::new();
    let mut candidates: Vec<(DateTime<Utc>, ResumeNotice)> = Vec::new();
    for t in tickets.values() {
        let (_, outcome, entry) = &t.latest;
        if *outcome != Outcome::Deferred {
            continue;
        }
        read_keys.insert(entry.key.clone());
        let Some(record) = read_record(archive, entry, &mut unreadable).await? else {
            continue;
        };
        let view = record.view();
        // A due follow-up can itself resume an earlier deferral.
        resumed.extend(view.resumes.clone());
        let Some(deferral) = view.deferral.as_ref() else {
            continue;
        };
        let Some(resume_on) = deferral.resume_on else {
            continue;
        };
        if resume_on > today {
            continue;
        }
        candidates.push((
            t.first,
            ResumeNotice {
                event: RESUME_DUE_EVENT,
                ticket_id: view.ticket_id.clone(),
                resume_on,
                hold_ids: deferral.holds.iter().map(|h| h.hold_id.clone()).collect(),
            },
        ));
    }
    if let Some(since) = candidates.iter().map(|(first, _)| *first).min() {
        for (at, _, entry) in &entries {
            if *at < since || read_keys.contains(&entry.key) {
                continue;
            }
            if let Some(record) = read_record(archive, entry, &mut unreadable).await? {
                resumed.extend(record.view().resumes.clone());
            }
        }
    }
    let due = candidates
        .into_iter()
        .map(|(_, notice)| notice)
        .filter(|n| !resumed.contains(&n.ticket_id))
        .collect();
    Ok((due, unreadable))
}

/// One record; `None` (counted) when what is stored is not a readable record.
async fn read_record<A: Archive + ?Sized>(
    archive: &A,
    entry: &archive::ObjectEntry,
    unreadable: &mut usize,
) -> Result<Option<Record>, ArchiveError> {
    match archive.read(entry).await {
        Ok(stored) => match Record::from_json(&stored.bytes) {
            Ok(r) => Ok(Some(r)),
            Err(_) => {
                *unreadable += 1;
                Ok(None)
            }
        },
        Err(ArchiveError::RecordNotFound { .. } | ArchiveError::ArchiveCorrupt { .. }) => {
            *unreadable += 1;
            Ok(None)
        }
        Err(e) => Err(e),
    }
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
    /// No answer in time, a 5xx, 408 or 429: the detail says which.
    #[error("the ticket callback is unavailable: {0}")]
    Unavailable(String),
}

/// The real notifier: a signed JSON POST to the ticket callback URL.
#[derive(Debug, Clone)]
pub struct HttpNotifier {
    pub client: reqwest::Client,
    pub url: Endpoint,
    pub keys: KeyRing,
    pub clock: SharedClock,
    pub timeout: std::time::Duration,
}

impl HttpNotifier {
    pub fn new(url: Endpoint, keys: KeyRing, clock: SharedClock) -> Self {
        HttpNotifier {
            client: signing::http_client(),
            url,
            keys,
            clock,
            timeout: std::time::Duration::from_secs(10),
        }
    }
}

#[async_trait]
impl ResumeNotifier for HttpNotifier {
    async fn resume_due(&self, notice: &ResumeNotice) -> Result<(), NotifyError> {
        let body = serde_json::to_vec(notice).map_err(|_| NotifyError::Unreachable)?;
        // One notice per deferred ticket and resumption date.
        let idempotency_key = format!("{}/resume/{}", notice.ticket_id, notice.resume_on);
        let post = SignedPost {
            endpoint: &self.url,
            keys: &self.keys,
            timestamp: self.clock.now().timestamp(),
            body: &body,
            idempotency_key: &idempotency_key,
            timeout: self.timeout,
        };
        match post.send(&self.client).await {
            PostOutcome::Accepted { .. } => Ok(()),
            PostOutcome::Refused { status } => Err(NotifyError::Status(status)),
            PostOutcome::Unavailable(detail) => Err(NotifyError::Unavailable(detail)),
        }
    }
}

/// What one run found. `None`: that metric could not be computed this run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WatchdogReport {
    pub approvals_overdue: Option<u64>,
    pub deadlines_near: Option<u64>,
    pub resumptions_due: Option<u64>,
    pub tickets_not_updated: Option<u64>,
    /// Resumptions the DSAR tool was told of this run.
    pub resumptions_notified: u64,
    /// What went wrong, as codes (no identifiers): the run fails when not empty.
    pub problems: Vec<String>,
    /// The manifest this run wrote (the day's checkpoint), if it wrote one.
    pub checkpoint: Option<String>,
}

impl WatchdogReport {
    /// The EMF line for this run's metrics.
    pub fn emf_line(&self, config: &WatchdogConfig, at: DateTime<Utc>) -> String {
        let metrics: Vec<(&str, u64)> = [
            (METRIC_APPROVALS_OVERDUE, self.approvals_overdue),
            (METRIC_DEADLINES_NEAR, self.deadlines_near),
            (METRIC_RESUMPTIONS_DUE, self.resumptions_due),
            (METRIC_TICKETS_NOT_UPDATED, self.tickets_not_updated),
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
                "ticketsNotUpdated": report.tickets_not_updated,
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
        // Follow-up tickets under way: their deferral is not due.
        let mut in_progress: BTreeSet<TicketId> = BTreeSet::new();
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
            report.tickets_not_updated = Some(counts.tickets_not_updated);
            in_progress.extend(facts.into_iter().filter_map(|f| f.resumes));
        }

        let today = deadline::local_date(now, self.config.deadline().time_zone);
        match resumptions_due(self.archive.as_ref(), today).await {
            Ok((due, unreadable)) => {
                if unreadable > 0 {
                    report
                        .problems
                        .push(format!("archive: {unreadable} unreadable record(s)"));
                }
                let mut count = 0;
                for notice in &due {
                    // A follow-up is running: nothing to tell.
                    if in_progress.iter().any(|r| r.as_str() == notice.ticket_id) {
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
        // The day's checkpoint over the archive: a manifest of every record and
        // verification since the last one, once a day at most.
        match daily_checkpoint(self.archive.as_ref(), now).await {
            Ok(written) => report.checkpoint = written,
            Err(e) => report.problems.push(format!("checkpoint: {}", e.name())),
        }
        tracing::info!(
            approvals_overdue = report.approvals_overdue,
            deadlines_near = report.deadlines_near,
            resumptions_due = report.resumptions_due,
            tickets_not_updated = report.tickets_not_updated,
            resumptions_notified = report.resumptions_notified,
            checkpoint = report.checkpoint.as_deref(),
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
            ..ExecutionFacts::default()
        }
    }

    fn ending_in(d: Duration) -> ExecutionFacts {
        ExecutionFacts {
            deadline_ends_at: Some(now() + d),
            ..ExecutionFacts::default()
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
            state_input: None,
        };
        let f = facts_of(None, Some(&at("AwaitDecision")), &config(), now());
        assert_eq!(f.awaiting_decision_since, Some(entered));
        let f = facts_of(None, Some(&at("PollExport")), &config(), now());
        assert_eq!(f.awaiting_decision_since, None);
    }

    #[test]
    fn an_execution_checking_its_erasure_after_the_record_has_no_deadline_to_watch() {
        let at = |name: &str| CurrentState {
            name: name.into(),
            entered_at: now(),
            task_parameters: None,
            state_input: None,
        };
        let input =
            ticket(json!({"by": "dpo@example.com", "role": "DPO", "at": "2026-11-22T11:00:00Z"}));
        let erasing = facts_of(Some(&input), Some(&at("WaitForDeletion")), &config(), now());
        assert!(erasing.deadline_ends_at.is_some());
        for state in ["LaterCheckWait", "LaterCheck", "LaterCheckWrite"] {
            let checking = facts_of(Some(&input), Some(&at(state)), &config(), now());
            assert_eq!(checking.deadline_ends_at, None, "{state}");
        }
    }

    #[test]
    fn an_execution_checking_again_whose_ticket_was_not_told_is_counted() {
        let entered: DateTime<Utc> = "2026-11-28T08:00:00Z".parse().unwrap();
        let at = |name: &str, state: Value| CurrentState {
            name: name.into(),
            entered_at: entered,
            task_parameters: None,
            state_input: Some(state.to_string()),
        };
        let not_told =
            json!({"ticket": {"id": "DSAR-1"}, "reportError": {"Error": "TicketSystemRejected"}});
        let told = json!({"ticket": {"id": "DSAR-2"}, "report": {"reported": true}});
        let facts: Vec<ExecutionFacts> = [
            at("LaterCheckWait", not_told.clone()),
            at("LaterCheck", not_told.clone()),
            at("LaterCheckWait", told),
            // Before the record a reportError cannot exist; a stray one is not counted.
            at("WaitForDeletion", not_told),
        ]
        .iter()
        .map(|c| facts_of(None, Some(c), &config(), now()))
        .collect();
        let flags: Vec<bool> = facts.iter().map(|f| f.ticket_not_told).collect();
        assert_eq!(flags, [true, true, false, false]);
        assert_eq!(
            count_executions(&facts, now(), &config()).tickets_not_updated,
            2
        );
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
    fn a_running_follow_up_is_read_from_its_tickets_resumes() {
        let mut follow_up: Value = serde_json::from_str(&ticket(Value::Null)).unwrap();
        follow_up["ticket"]["resumes"] = json!("DSAR-0");
        let f = facts_of(Some(&follow_up.to_string()), None, &config(), now());
        assert_eq!(f.resumes.as_ref().map(TicketId::as_str), Some("DSAR-0"));
        // An ordinary ticket, a malformed value, an unreadable input: no follow-up.
        assert_eq!(resumes_of(&ticket(Value::Null)), None);
        follow_up["ticket"]["resumes"] = json!("../DSAR-0");
        assert_eq!(resumes_of(&follow_up.to_string()), None);
        assert_eq!(resumes_of(r#"{"rawTicket": "garbage"}"#), None);
    }
}
