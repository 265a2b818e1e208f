//! Step Functions as a port: the calls the entry points make, behind one small trait
//! that `aws_sdk_sfn::Client` implements. Tests drive the real client against moto's
//! Step Functions server.
//!
//! Execution input and task parameters can hold personal data (the subject of a
//! ticket): the types carrying them print `<redacted>` in `Debug`, and errors carry
//! only the service's error code, never its message (which can quote input).

use std::fmt;

use async_trait::async_trait;
use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::types::{ExecutionStatus, IncludedData};
use chrono::{DateTime, Utc};

/// What the entry points ask of Step Functions. Each function's IAM role grants
/// exactly the calls it makes (docs/deploy.md).
#[async_trait]
pub trait StepFunctions: Send + Sync {
    /// `StartExecution`: idempotent for the same name and input while that
    /// execution runs; [`SfnError::ExecutionAlreadyExists`] otherwise.
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> Result<Started, SfnError>;

    /// `DescribeExecution` with its input.
    async fn describe_execution(&self, execution_arn: &str) -> Result<Execution, SfnError>;

    /// `DescribeExecution` without input or output (no execution data decrypted).
    async fn describe_execution_metadata(&self, execution_arn: &str)
    -> Result<Execution, SfnError>;

    /// One page of `GetExecutionHistory`, newest first where the service honours
    /// `reverseOrder` (callers sort by event id and do not rely on it).
    async fn history_page(
        &self,
        execution_arn: &str,
        next_token: Option<String>,
    ) -> Result<HistoryPage, SfnError>;

    /// Every RUNNING execution of the state machine (all pages).
    async fn list_running(
        &self,
        state_machine_arn: &str,
    ) -> Result<Vec<ExecutionSummary>, SfnError>;

    async fn send_task_success(&self, task_token: &str, output: &str) -> Result<(), SfnError>;

    async fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), SfnError>;
}

/// The answer to `StartExecution`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub execution_arn: String,
    pub start_date: DateTime<Utc>,
}

/// One execution as `DescribeExecution` reports it.
#[derive(Clone, PartialEq, Eq)]
pub struct Execution {
    pub execution_arn: String,
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`, `PENDING_REDRIVE`.
    pub status: String,
    pub start_date: DateTime<Utc>,
    /// The execution input: the ticket, with the subject's identifiers.
    pub input: Option<String>,
}

impl fmt::Debug for Execution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Execution")
            .field("execution_arn", &self.execution_arn)
            .field("name", &self.name)
            .field("status", &self.status)
            .field("start_date", &self.start_date)
            .field("input", &self.input.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// One execution as `ListExecutions` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionSummary {
    pub execution_arn: String,
    pub name: String,
    pub start_date: DateTime<Utc>,
}

/// The history events the entry points read.
#[derive(Clone, PartialEq, Eq)]
pub struct HistoryEvent {
    pub id: i64,
    /// The event type, e.g. `TaskStateEntered`, `TaskScheduled`.
    pub kind: String,
    pub at: DateTime<Utc>,
    /// The state a `*StateEntered` / `*StateExited` event is about.
    pub state_name: Option<String>,
    /// A `TaskScheduled` event's resolved parameters (JSON); they carry the task token
    /// of a `.waitForTaskToken` task.
    pub task_parameters: Option<String>,
    /// A `*StateEntered` event's input: the execution state as the state received it
    /// (the DPO's console reads the review and the deadline from it).
    pub state_input: Option<String>,
}

impl HistoryEvent {
    pub fn is_state_entered(&self) -> bool {
        self.kind.ends_with("StateEntered")
    }
    pub fn is_state_exited(&self) -> bool {
        self.kind.ends_with("StateExited")
    }
}

impl fmt::Debug for HistoryEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistoryEvent")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("at", &self.at)
            .field("state_name", &self.state_name)
            .field(
                "task_parameters",
                &self.task_parameters.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "state_input",
                &self.state_input.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    pub events: Vec<HistoryEvent>,
    pub next_token: Option<String>,
}

/// A Step Functions call failed. Only the error code is kept: messages can quote
/// execution names or input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SfnError {
    #[error("an execution of that name already exists with another input, or has ended")]
    ExecutionAlreadyExists,
    #[error("the execution does not exist")]
    ExecutionDoesNotExist,
    #[error("the task was already answered, or has timed out")]
    TaskTimedOut,
    #[error("Step Functions does not accept the task token")]
    InvalidToken,
    #[error("the task does not exist")]
    TaskDoesNotExist,
    /// Anything else: throttling, access, an unreachable endpoint, a bad ARN.
    #[error("Step Functions {operation} failed ({code})")]
    Service {
        operation: &'static str,
        code: String,
    },
}

impl SfnError {
    fn from_sdk<E: ProvideErrorMetadata>(operation: &'static str, err: &SdkError<E>) -> Self {
        match err.code() {
            Some("ExecutionAlreadyExists") => SfnError::ExecutionAlreadyExists,
            Some("ExecutionDoesNotExist") => SfnError::ExecutionDoesNotExist,
            Some("TaskTimedOut") => SfnError::TaskTimedOut,
            Some("InvalidToken") => SfnError::InvalidToken,
            Some("TaskDoesNotExist") => SfnError::TaskDoesNotExist,
            Some(code) => SfnError::Service {
                operation,
                code: code.to_owned(),
            },
            None => SfnError::Service {
                operation,
                code: match err {
                    SdkError::TimeoutError(_) => "Timeout",
                    SdkError::DispatchFailure(_) => "Unreachable",
                    SdkError::ConstructionFailure(_) => "InvalidRequest",
                    _ => "Unknown",
                }
                .to_owned(),
            },
        }
    }
}

fn to_chrono(t: &aws_sdk_sfn::primitives::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

fn status_str(s: &ExecutionStatus) -> String {
    s.as_str().to_owned()
}

#[async_trait]
impl StepFunctions for aws_sdk_sfn::Client {
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> Result<Started, SfnError> {
        let out = self
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input)
            .send()
            .await
            .map_err(|e| SfnError::from_sdk("StartExecution", &e))?;
        Ok(Started {
            execution_arn: out.execution_arn().to_owned(),
            start_date: to_chrono(out.start_date()),
        })
    }

    async fn describe_execution(&self, execution_arn: &str) -> Result<Execution, SfnError> {
        let out = self
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|e| SfnError::from_sdk("DescribeExecution", &e))?;
        Ok(Execution {
            execution_arn: out.execution_arn().to_owned(),
            name: out.name().unwrap_or_default().to_owned(),
            status: status_str(out.status()),
            start_date: to_chrono(out.start_date()),
            input: out.input().map(str::to_owned),
        })
    }

    async fn describe_execution_metadata(
        &self,
        execution_arn: &str,
    ) -> Result<Execution, SfnError> {
        let out = self
            .describe_execution()
            .execution_arn(execution_arn)
            .included_data(IncludedData::MetadataOnly)
            .send()
            .await
            .map_err(|e| SfnError::from_sdk("DescribeExecution", &e))?;
        Ok(Execution {
            execution_arn: out.execution_arn().to_owned(),
            name: out.name().unwrap_or_default().to_owned(),
            status: status_str(out.status()),
            start_date: to_chrono(out.start_date()),
            input: None,
        })
    }

    async fn history_page(
        &self,
        execution_arn: &str,
        next_token: Option<String>,
    ) -> Result<HistoryPage, SfnError> {
        let out = self
            .get_execution_history()
            .execution_arn(execution_arn)
            .reverse_order(true)
            .max_results(100)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| SfnError::from_sdk("GetExecutionHistory", &e))?;
        let events = out
            .events()
            .iter()
            .map(|e| HistoryEvent {
                id: e.id(),
                kind: e.r#type().as_str().to_owned(),
                at: to_chrono(e.timestamp()),
                state_name: e
                    .state_entered_event_details()
                    .map(|d| d.name().to_owned())
                    .or_else(|| e.state_exited_event_details().map(|d| d.name().to_owned())),
                task_parameters: e
                    .task_scheduled_event_details()
                    .map(|d| d.parameters().to_owned()),
                state_input: e
                    .state_entered_event_details()
                    .and_then(|d| d.input())
                    .map(str::to_owned),
            })
            .collect();
        Ok(HistoryPage {
            events,
            next_token: out.next_token().map(str::to_owned),
        })
    }

    async fn list_running(
        &self,
        state_machine_arn: &str,
    ) -> Result<Vec<ExecutionSummary>, SfnError> {
        let mut all = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = self
                .list_executions()
                .state_machine_arn(state_machine_arn)
                .status_filter(ExecutionStatus::Running)
                .max_results(1000)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| SfnError::from_sdk("ListExecutions", &e))?;
            all.extend(out.executions().iter().map(|e| ExecutionSummary {
                execution_arn: e.execution_arn().to_owned(),
                name: e.name().to_owned(),
                start_date: to_chrono(e.start_date()),
            }));
            match out.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => return Ok(all),
            }
        }
    }

    async fn send_task_success(&self, task_token: &str, output: &str) -> Result<(), SfnError> {
        self.send_task_success()
            .task_token(task_token)
            .output(output)
            .send()
            .await
            .map_err(|e| SfnError::from_sdk("SendTaskSuccess", &e))?;
        Ok(())
    }

    async fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), SfnError> {
        self.send_task_failure()
            .task_token(task_token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map_err(|e| SfnError::from_sdk("SendTaskFailure", &e))?;
        Ok(())
    }
}

/// Where an execution is now: the state it entered last and has not left.
#[derive(Clone, PartialEq, Eq)]
pub struct CurrentState {
    pub name: String,
    pub entered_at: DateTime<Utc>,
    /// The parameters of the newest `TaskScheduled` event since the state was entered
    /// (a retried task is scheduled again, with a new token).
    pub task_parameters: Option<String>,
    /// The state's input, when the history carried it.
    pub state_input: Option<String>,
}

impl fmt::Debug for CurrentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentState")
            .field("name", &self.name)
            .field("entered_at", &self.entered_at)
            .field(
                "task_parameters",
                &self.task_parameters.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Pages read before giving up on finding a state event (a state that has been
/// retried thousands of times); bounded so a run always ends.
const MAX_HISTORY_PAGES: usize = 20;

/// The state the execution last entered and has not exited, or `None` when the
/// newest state event is an exit (between states, or ended).
///
/// Reads history newest first and stops at the first page holding a state event.
/// Events are ordered by id here, so a service that ignores `reverseOrder` and
/// answers with one chronological page gives the same answer.
pub async fn current_state<S: StepFunctions + ?Sized>(
    sfn: &S,
    execution_arn: &str,
) -> Result<Option<CurrentState>, SfnError> {
    let mut events: Vec<HistoryEvent> = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..MAX_HISTORY_PAGES {
        let page = sfn.history_page(execution_arn, next.take()).await?;
        events.extend(page.events);
        events.sort_by_key(|e| std::cmp::Reverse(e.id));
        if let Some(found) = newest_state(&events) {
            return Ok(found);
        }
        match page.next_token {
            Some(t) if !t.is_empty() => next = Some(t),
            _ => break,
        }
    }
    Ok(None)
}

/// `events` sorted newest first. `Some(None)`: the newest state event is an exit.
fn newest_state(events: &[HistoryEvent]) -> Option<Option<CurrentState>> {
    let (pos, event) = events
        .iter()
        .enumerate()
        .find(|(_, e)| e.is_state_entered() || e.is_state_exited())?;
    if event.is_state_exited() {
        return Some(None);
    }
    let task_parameters = events[..pos]
        .iter()
        .find(|e| e.kind == "TaskScheduled")
        .and_then(|e| e.task_parameters.clone());
    Some(Some(CurrentState {
        name: event.state_name.clone().unwrap_or_default(),
        entered_at: event.at,
        task_parameters,
        state_input: event.state_input.clone(),
    }))
}

/// `arn:<partition>:states:<region>:<account>:execution:<machine>:<name>` for an
/// execution of `state_machine_arn`; `None` when that is not a state machine ARN.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> Option<String> {
    let (head, machine) = state_machine_arn.rsplit_once(":stateMachine:")?;
    if machine.is_empty() || machine.contains(':') || !head.starts_with("arn:") {
        return None;
    }
    Some(format!("{head}:execution:{machine}:{name}"))
}

/// Whether `arn` names an execution of `state_machine_arn` (and which name).
pub fn execution_name_in<'a>(state_machine_arn: &str, arn: &'a str) -> Option<&'a str> {
    let prefix = execution_arn(state_machine_arn, "")?;
    let name = arn.strip_prefix(&prefix)?;
    (!name.is_empty() && !name.contains(':')).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SM: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:gdpr-erasure-erasure";

    fn ev(id: i64, kind: &str, state: Option<&str>, params: Option<&str>) -> HistoryEvent {
        HistoryEvent {
            id,
            kind: kind.into(),
            at: DateTime::from_timestamp(1_795_000_000 + id, 0).unwrap(),
            state_name: state.map(Into::into),
            task_parameters: params.map(Into::into),
            state_input: None,
        }
    }

    #[test]
    fn execution_arns_follow_the_state_machine_arn() {
        assert_eq!(
            execution_arn(SM, "DSAR-1.2").as_deref(),
            Some("arn:aws:states:eu-west-1:123456789012:execution:gdpr-erasure-erasure:DSAR-1.2")
        );
        assert_eq!(execution_arn("arn:aws:lambda:x", "a"), None);
        let arn = execution_arn(SM, "DSAR-1").unwrap();
        assert_eq!(execution_name_in(SM, &arn), Some("DSAR-1"));
        let other = arn.replace("gdpr-erasure-erasure", "other-machine");
        assert_eq!(execution_name_in(SM, &other), None);
        assert_eq!(execution_name_in(SM, &format!("{arn}:extra")), None);
    }

    #[test]
    fn the_current_state_is_the_newest_entered_and_not_exited() {
        let mut events = vec![
            ev(1, "ExecutionStarted", None, None),
            ev(2, "TaskStateEntered", Some("Review"), None),
            ev(3, "TaskStateExited", Some("Review"), None),
            ev(4, "TaskStateEntered", Some("AwaitDecision"), None),
            ev(
                5,
                "TaskScheduled",
                None,
                Some(r#"{"Payload":{"taskToken":"t1"}}"#),
            ),
            ev(6, "TaskFailed", None, None),
            ev(
                7,
                "TaskScheduled",
                None,
                Some(r#"{"Payload":{"taskToken":"t2"}}"#),
            ),
            ev(8, "TaskSubmitted", None, None),
        ];
        events.sort_by_key(|e| std::cmp::Reverse(e.id));
        let s = newest_state(&events).unwrap().unwrap();
        assert_eq!(s.name, "AwaitDecision");
        assert_eq!(s.entered_at.timestamp(), 1_795_000_004);
        assert!(
            s.task_parameters.unwrap().contains("t2"),
            "the retry's token"
        );

        events.insert(0, ev(9, "TaskStateExited", Some("AwaitDecision"), None));
        assert_eq!(newest_state(&events), Some(None));
        assert_eq!(
            newest_state(&events[events.len() - 1..]),
            None,
            "no state event yet"
        );
    }

    #[test]
    fn debug_output_redacts_input_and_parameters() {
        let e = Execution {
            execution_arn: "arn".into(),
            name: "n".into(),
            status: "RUNNING".into(),
            start_date: DateTime::<Utc>::UNIX_EPOCH,
            input: Some(r#"{"subject":{"emails":["jane@example.com"]}}"#.into()),
        };
        let h = ev(1, "TaskScheduled", None, Some("jane@example.com"));
        let shown = format!("{e:?} {h:?}");
        assert!(!shown.contains("jane"), "{shown}");
    }
}
