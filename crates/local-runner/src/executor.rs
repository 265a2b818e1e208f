//! Running one execution: the state loop, each state type, Retry and Catch, timeouts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use clock::{Clock as _, SharedClock, SystemClock};
use futures::future::BoxFuture;
use futures::{FutureExt as _, StreamExt as _, TryStreamExt as _};
use rand::rngs::StdRng;
use rand::{Rng as _, RngCore as _};
use serde_json::{Map, Value, json};

use crate::definition::{Definition, Kind, Resource, Seconds, State, Transition, WaitFor, Work};
use crate::error::StateError;
use crate::handler::{Resources, TaskContext};
use crate::history::{Counts, EventData, History};
use crate::intrinsics::Env;
use crate::template::Template;
use crate::tokens::Tokens;
use crate::{io, retry};

/// How often a waiting Task re-reads the clock for its timeout. A virtual clock only
/// moves when something sleeps on it and cannot wake a waiter, so timeouts are
/// watched by polling; on the real clock this is the timeout's precision.
const WATCH_TICK: Duration = Duration::from_millis(10);

/// Step Functions' payload quota: a state's input or output, or a task's result,
/// may be at most 256 KiB of UTF-8 JSON.
const PAYLOAD_LIMIT: usize = 256 * 1024;

fn check_size(value: &Value, what: &str) -> Result<(), StateError> {
    let size = value.to_string().len();
    if size > PAYLOAD_LIMIT {
        return Err(StateError::new(
            "States.DataLimitExceeded",
            format!("The {what} has {size} bytes, more than the {PAYLOAD_LIMIT}-byte quota"),
        ));
    }
    Ok(())
}

const RUNTIME_PREFIX: &str = "An error occurred while executing the state";

/// What every execution of one runner shares.
pub(crate) struct Shared {
    pub definition: Definition,
    pub resources: Resources,
    pub clock: SharedClock,
    pub tokens: Arc<Tokens>,
    pub state_machine_name: String,
    pub state_machine_arn: String,
    pub role_arn: String,
}

/// One execution in flight.
pub(crate) struct Exec {
    pub shared: Arc<Shared>,
    pub id: String,
    pub name: String,
    pub start: DateTime<Utc>,
    pub input: Value,
    pub history: Mutex<History>,
    rng: Mutex<StdRng>,
    base_context: Value,
    /// When the execution-wide TimeoutSeconds runs out.
    deadline: Option<DateTime<Utc>>,
}

/// How a state hands over.
struct Step {
    output: Value,
    /// The next state; `None` ends the scope.
    next: Option<String>,
}

impl Step {
    fn to(output: Value, next: Option<String>) -> Self {
        Self { output, next }
    }
}

/// An error from a Task/Parallel/Map attempt.
struct AttemptError {
    error: StateError,
    /// A branch (of a Parallel or Map) raised it, not the state itself.
    from_branch: bool,
}

impl AttemptError {
    /// Raised by the state itself.
    fn own(error: StateError) -> Self {
        Self {
            error,
            from_branch: false,
        }
    }
}

pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn state_type(kind: &Kind) -> &'static str {
    match kind {
        Kind::Pass { .. } => "Pass",
        Kind::Task { .. } => "Task",
        Kind::Choice { .. } => "Choice",
        Kind::Wait { .. } => "Wait",
        Kind::Succeed => "Succeed",
        Kind::Fail { .. } => "Fail",
        Kind::Parallel { .. } => "Parallel",
        Kind::Map { .. } => "Map",
    }
}

fn next_of(t: &Transition) -> Option<String> {
    match t {
        Transition::Next(n) => Some(n.clone()),
        Transition::End => None,
    }
}

fn details(pairs: &[(&str, Value)]) -> Option<Map<String, Value>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

impl Exec {
    pub fn new(shared: Arc<Shared>, id: String, name: String, input: Value, rng: StdRng) -> Self {
        let start = shared.clock.now();
        let base_context = json!({
            "Execution": {
                "Id": id, "Input": input, "Name": name, "RoleArn": shared.role_arn,
                "StartTime": timestamp(start), "RedriveCount": 0
            },
            "StateMachine": {"Id": shared.state_machine_arn, "Name": shared.state_machine_name},
        });
        let deadline = shared
            .definition
            .timeout_seconds
            .map(|t| start + TimeDelta::seconds(t as i64));
        Self {
            deadline,
            shared,
            id,
            name,
            start,
            input,
            history: Mutex::new(History::default()),
            rng: Mutex::new(rng),
            base_context,
        }
    }

    fn clock(&self) -> &dyn clock::Clock {
        self.shared.clock.as_ref()
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock().now()
    }

    fn lock_history(&self) -> std::sync::MutexGuard<'_, History> {
        // Events are appended whole; a poisoned lock still holds a consistent list.
        self.history.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn event(&self, prev: &mut u64, kind: &str, data: EventData) -> u64 {
        let now = self.now();
        self.lock_history().push(prev, now, kind, data)
    }

    fn event_at(&self, prev: &mut u64, at: DateTime<Utc>, kind: &str, data: EventData) -> u64 {
        self.lock_history().push(prev, at, kind, data)
    }

    fn count(&self, f: impl FnOnce(&mut Counts)) {
        f(&mut self.lock_history().counts);
    }

    pub fn counts(&self) -> Counts {
        self.lock_history().counts
    }

    fn random(&self) -> u64 {
        self.rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .next_u64()
    }

    fn unit(&self) -> f64 {
        self.rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .random::<f64>()
    }

    fn uuid(&self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.random().to_le_bytes());
        bytes[8..].copy_from_slice(&self.random().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    fn context(
        &self,
        state: &str,
        entered: DateTime<Utc>,
        retry: u32,
        token: Option<&str>,
        item: Option<(usize, &Value)>,
    ) -> Value {
        let mut c = self.base_context.clone();
        c["State"] = json!({"Name": state, "EnteredTime": timestamp(entered), "RetryCount": retry});
        if let Some(t) = token {
            c["Task"] = json!({"Token": t});
        }
        if let Some((index, value)) = item {
            c["Map"] = json!({"Item": {"Index": index, "Value": value}});
        }
        c
    }

    fn render(&self, t: &Template, input: &Value, context: &Value) -> Result<Value, StateError> {
        let mut random = || self.random();
        t.render(&mut Env {
            input,
            context,
            random: &mut random,
        })
    }

    /// Runs the whole execution; returns its output or the error that ended it.
    pub async fn run(&self) -> Result<Value, StateError> {
        let mut prev = 0;
        self.event(
            &mut prev,
            "ExecutionStarted",
            EventData {
                input: Some(self.input.clone()),
                details: details(&[("roleArn", json!(self.shared.role_arn))]),
                ..Default::default()
            },
        );
        let run = self.run_scope(&self.shared.definition, self.input.clone(), &mut prev);
        // The execution-wide timeout also ends an execution blocked in a Task.
        let result = tokio::select! {
            biased;
            r = run => r,
            _ = watch(self.shared.clock.clone(), self.deadline, None) => Err(self.timed_out_error()),
        };
        let result = if self.timed_out() {
            Err(self.timed_out_error())
        } else {
            result
        };
        let mut prev = self.lock_history().events.len() as u64;
        if let (Err(e), Some(deadline)) = (&result, self.deadline)
            && self.timed_out()
        {
            self.event_at(
                &mut prev,
                deadline,
                "ExecutionTimedOut",
                EventData {
                    details: details(&[("error", json!(e.error)), ("cause", json!(e.cause))]),
                    ..Default::default()
                },
            );
            return result;
        }
        match &result {
            Ok(output) => self.event(
                &mut prev,
                "ExecutionSucceeded",
                EventData {
                    output: Some(output.clone()),
                    ..Default::default()
                },
            ),
            Err(e) => self.event(
                &mut prev,
                "ExecutionFailed",
                EventData {
                    details: details(&[("error", json!(e.error)), ("cause", json!(e.cause))]),
                    ..Default::default()
                },
            ),
        };
        result
    }

    fn timed_out(&self) -> bool {
        self.deadline.is_some_and(|d| self.now() > d)
    }

    fn timed_out_error(&self) -> StateError {
        StateError::new(
            "States.Timeout",
            format!(
                "The execution ran longer than its TimeoutSeconds ({}s)",
                self.shared.definition.timeout_seconds.unwrap_or(0)
            ),
        )
    }

    /// Runs a scope (the top level, a branch or an iteration) from StartAt to its end.
    fn run_scope<'a>(
        &'a self,
        def: &'a Definition,
        input: Value,
        prev: &'a mut u64,
    ) -> BoxFuture<'a, Result<Value, StateError>> {
        Box::pin(async move {
            let mut name = def.start_at.as_str();
            let mut input = input;
            loop {
                let Some(state) = def.states.get(name) else {
                    // Load-time validation makes this unreachable; stay precise anyway.
                    return Err(StateError::runtime(format!("no state named '{name}'")));
                };
                // Past the execution's TimeoutSeconds nothing more runs, and no Catch applies.
                if self.timed_out() {
                    return Err(self.timed_out_error());
                }
                let ty = state_type(&state.kind);
                self.count(|c| c.state_transitions += 1);
                let entered_at = self.now();
                let entered_id = self.event(
                    prev,
                    &format!("{ty}StateEntered"),
                    EventData {
                        state: Some(name.to_string()),
                        input: Some(input.clone()),
                        ..Default::default()
                    },
                );
                let outcome = self
                    .run_state(state, input, entered_at, prev)
                    .await
                    .and_then(|step| check_size(&step.output, "state's output").map(|()| step));
                match outcome {
                    Ok(Step { output, next }) => {
                        self.event(
                            prev,
                            &format!("{ty}StateExited"),
                            EventData {
                                state: Some(name.to_string()),
                                output: Some(output.clone()),
                                ..Default::default()
                            },
                        );
                        match next {
                            None => return Ok(output),
                            Some(n) => {
                                name = def
                                    .states
                                    .get_key_value(n.as_str())
                                    .map(|(k, _)| k.as_str())
                                    .ok_or_else(|| {
                                        StateError::runtime(format!("no state named '{n}'"))
                                    })?;
                                input = output;
                            }
                        }
                    }
                    Err(mut e) => {
                        if e.is_runtime() && !e.cause.starts_with(RUNTIME_PREFIX) {
                            e.cause = format!(
                                "{RUNTIME_PREFIX} '{name}' (entered at the event id #{entered_id}). {}",
                                e.cause
                            );
                        }
                        return Err(e);
                    }
                }
            }
        })
    }

    async fn run_state(
        &self,
        state: &State,
        raw: Value,
        entered_at: DateTime<Utc>,
        prev: &mut u64,
    ) -> Result<Step, StateError> {
        match &state.kind {
            Kind::Pass {
                result,
                parameters,
                result_path,
                transition,
            } => {
                let effective = io::select(&state.input_path, &raw)?;
                let result = match (result, parameters) {
                    (Some(r), _) => r.clone(),
                    (None, Some(p)) => {
                        let ctx = self.context(&state.name, entered_at, 0, None, None);
                        self.render(p, &effective, &ctx)?
                    }
                    (None, None) => effective,
                };
                let placed = io::place(result_path, &raw, result)?;
                Ok(Step::to(
                    io::select(&state.output_path, &placed)?,
                    next_of(transition),
                ))
            }
            Kind::Wait { wait, transition } => {
                let effective = io::select(&state.input_path, &raw)?;
                let ctx = self.context(&state.name, entered_at, 0, None, None);
                let duration = self.wait_duration(wait, &effective, &ctx)?;
                if let Some(d) = self.deadline {
                    // A Wait outlasting the execution's timeout is cut short by it.
                    let left = (d - self.now()).to_std().unwrap_or(Duration::ZERO);
                    if duration > left {
                        self.clock().sleep(left + Duration::from_millis(1)).await;
                        return Err(self.timed_out_error());
                    }
                }
                self.clock().sleep(duration).await;
                Ok(Step::to(
                    io::select(&state.output_path, &effective)?,
                    next_of(transition),
                ))
            }
            Kind::Choice { choices, default } => {
                let effective = io::select(&state.input_path, &raw)?;
                let ctx = self.context(&state.name, entered_at, 0, None, None);
                let mut next = None;
                for (rule, target) in choices {
                    if rule.eval(&effective, &ctx)? {
                        next = Some(target.clone());
                        break;
                    }
                }
                let next = next.or_else(|| default.clone()).ok_or_else(|| {
                    StateError::new(
                        "States.NoChoiceMatched",
                        format!(
                            "No choice rule of state '{}' matched the input and it has no Default",
                            state.name
                        ),
                    )
                })?;
                Ok(Step::to(
                    io::select(&state.output_path, &effective)?,
                    Some(next),
                ))
            }
            Kind::Succeed => {
                let effective = io::select(&state.input_path, &raw)?;
                Ok(Step::to(io::select(&state.output_path, &effective)?, None))
            }
            Kind::Fail { error, cause } => {
                let ctx = self.context(&state.name, entered_at, 0, None, None);
                let text = |d: &Option<crate::template::Dynamic>, field: &str| match d {
                    None => Ok(None),
                    Some(d) => {
                        let mut random = || self.random();
                        let v = d.eval(
                            &mut Env {
                                input: &raw,
                                context: &ctx,
                                random: &mut random,
                            },
                            field,
                        )?;
                        match v {
                            Value::String(s) => Ok(Some(s)),
                            other => Err(StateError::runtime(format!(
                                "The value of {field} must be a string, got {other}"
                            ))),
                        }
                    }
                };
                let error = text(error, "ErrorPath")?.unwrap_or_default();
                let cause = text(cause, "CausePath")?.unwrap_or_default();
                Err(StateError::new(error, cause))
            }
            Kind::Task { work, .. } | Kind::Parallel { work, .. } | Kind::Map { work, .. } => {
                self.run_work(state, work, raw, entered_at, prev).await
            }
        }
    }

    fn wait_duration(
        &self,
        wait: &WaitFor,
        input: &Value,
        ctx: &Value,
    ) -> Result<Duration, StateError> {
        let until = |t: DateTime<Utc>| (t - self.now()).to_std().unwrap_or(Duration::ZERO);
        match wait {
            WaitFor::Seconds(s) => Ok(Duration::from_secs(self.seconds(
                s,
                input,
                ctx,
                "SecondsPath",
                0,
            )?)),
            WaitFor::Timestamp(t) => Ok(until(*t)),
            WaitFor::TimestampPath(p) => {
                let v = select_path(p, input, ctx)?;
                let t = v
                    .as_str()
                    .and_then(crate::choice::parse_timestamp)
                    .ok_or_else(|| {
                        StateError::runtime(format!(
                            "The TimestampPath '{p}' did not resolve to an RFC 3339 timestamp: {v}"
                        ))
                    })?;
                Ok(until(t))
            }
        }
    }

    /// A seconds (or count) field, literal or read by path; a path must give an integer >= `min`.
    fn seconds(
        &self,
        s: &Seconds,
        input: &Value,
        ctx: &Value,
        field: &str,
        min: u64,
    ) -> Result<u64, StateError> {
        match s {
            Seconds::Fixed(n) => Ok(*n),
            Seconds::Path(p) => {
                let v = select_path(p, input, ctx)?;
                v.as_u64().filter(|n| *n >= min).ok_or_else(|| {
                    StateError::runtime(format!(
                        "The {field} '{p}' must resolve to an integer >= {min}, got {v}"
                    ))
                })
            }
        }
    }

    /// Task, Parallel and Map: attempts with Retry, then Catch.
    async fn run_work(
        &self,
        state: &State,
        work: &Work,
        raw: Value,
        entered_at: DateTime<Utc>,
        prev: &mut u64,
    ) -> Result<Step, StateError> {
        let effective = io::select(&state.input_path, &raw)?;
        let mut retries_done = vec![0u64; work.retry.len()];
        let mut attempt: u32 = 0;
        loop {
            let attempt_result = match &state.kind {
                Kind::Task { .. } => self
                    .task_attempt(state, work, &effective, attempt, entered_at, prev)
                    .await
                    .map_err(AttemptError::own),
                Kind::Parallel { branches, .. } => {
                    self.parallel_attempt(
                        state, work, branches, &effective, attempt, entered_at, prev,
                    )
                    .await
                }
                Kind::Map { .. } => {
                    self.map_attempt(state, work, &effective, attempt, entered_at, prev)
                        .await
                }
                _ => Err(AttemptError::own(StateError::runtime(
                    "not a Task, Parallel or Map state",
                ))),
            };
            let AttemptError { error, from_branch } = match attempt_result.and_then(|result| {
                self.finish(state, work, &raw, result, entered_at, attempt)
                    .map_err(AttemptError::own)
            }) {
                Ok(output) => return Ok(Step::to(output, next_of(&work.transition))),
                Err(e) => e,
            };
            if error.is_runtime() || self.timed_out() {
                return Err(error);
            }
            // The first retrier whose ErrorEquals matches decides; once it is
            // exhausted the error goes to Catch, even if a later retrier matches too.
            if let Some(i) = work
                .retry
                .iter()
                .position(|r| retry::matches(&r.errors, &error, from_branch))
            {
                let retrier = &work.retry[i];
                if retries_done[i] < retrier.max_attempts {
                    let wait = retry::delay(retrier, retries_done[i], self.unit());
                    retries_done[i] += 1;
                    attempt += 1;
                    self.count(|c| {
                        c.retries += 1;
                        c.state_transitions += 1;
                    });
                    self.clock().sleep(wait).await;
                    continue;
                }
            }
            if let Some(catcher) = work
                .catch
                .iter()
                .find(|c| retry::matches(&c.errors, &error, from_branch))
            {
                let output = io::place(&catcher.result_path, &raw, error.to_output())?;
                return Ok(Step::to(output, Some(catcher.next.clone())));
            }
            return Err(error);
        }
    }

    /// ResultSelector, ResultPath and OutputPath on a successful attempt's result.
    fn finish(
        &self,
        state: &State,
        work: &Work,
        raw: &Value,
        result: Value,
        entered_at: DateTime<Utc>,
        attempt: u32,
    ) -> Result<Value, StateError> {
        let result = match &work.result_selector {
            Some(t) => {
                let ctx = self.context(&state.name, entered_at, attempt, None, None);
                self.render(t, &result, &ctx)?
            }
            None => result,
        };
        let placed = io::place(&work.result_path, raw, result)?;
        io::select(&state.output_path, &placed)
    }

    async fn task_attempt(
        &self,
        state: &State,
        work: &Work,
        effective: &Value,
        attempt: u32,
        entered_at: DateTime<Utc>,
        prev: &mut u64,
    ) -> Result<Value, StateError> {
        let Kind::Task {
            resource,
            resource_text,
            timeout,
            heartbeat,
            ..
        } = &state.kind
        else {
            return Err(StateError::runtime("not a Task state"));
        };
        let wait_for_token = matches!(
            resource,
            Resource::LambdaInvoke {
                wait_for_token: true
            }
        );
        let token =
            wait_for_token.then(|| format!("{}{}", self.uuid(), self.uuid()).replace('-', ""));
        let ctx = self.context(&state.name, entered_at, attempt, token.as_deref(), None);
        let params = match &work.parameters {
            Some(t) => self.render(t, effective, &ctx)?,
            None => effective.clone(),
        };
        let (function, payload) = match resource {
            Resource::LambdaArn { arn, .. } => (arn.clone(), params.clone()),
            Resource::LambdaInvoke { .. } => {
                let function = params
                    .get("FunctionName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        StateError::runtime(format!(
                            "The field 'FunctionName' must be a string, got {}",
                            params.get("FunctionName").unwrap_or(&Value::Null)
                        ))
                    })?
                    .to_string();
                let payload = params.get("Payload").cloned().unwrap_or_else(|| json!({}));
                (function, payload)
            }
        };
        let timeout = timeout
            .as_ref()
            .map(|s| self.seconds(s, effective, &ctx, "TimeoutSecondsPath", 1))
            .transpose()?;
        let heartbeat = heartbeat
            .as_ref()
            .map(|s| self.seconds(s, effective, &ctx, "HeartbeatSecondsPath", 1))
            .transpose()?;
        let lambda = matches!(resource, Resource::LambdaArn { .. });
        let names = if lambda {
            [
                "LambdaFunctionScheduled",
                "LambdaFunctionStarted",
                "LambdaFunctionSucceeded",
                "LambdaFunctionFailed",
                "LambdaFunctionTimedOut",
            ]
        } else {
            [
                "TaskScheduled",
                "TaskStarted",
                "TaskSucceeded",
                "TaskFailed",
                "TaskTimedOut",
            ]
        };
        let handler = self
            .shared
            .resources
            .resolve(&state.name, Some(&function))
            .ok_or_else(|| {
                StateError::new(
                    "Lambda.ResourceNotFoundException",
                    format!("Function not found: {function} (no handler is registered for it)"),
                )
            })?;
        let state_name = Some(state.name.clone());
        let mut scheduled = vec![("resource", json!(resource_text))];
        if let Some(t) = timeout {
            scheduled.push(("timeoutInSeconds", json!(t)));
        }
        if let Some(h) = heartbeat {
            scheduled.push(("heartbeatInSeconds", json!(h)));
        }
        self.event(
            prev,
            names[0],
            EventData {
                state: state_name.clone(),
                input: Some(params.clone()),
                details: details(&scheduled),
                ..Default::default()
            },
        );
        self.event(
            prev,
            names[1],
            EventData {
                state: state_name.clone(),
                ..Default::default()
            },
        );
        self.count(|c| c.task_invocations += 1);

        let started = self.now();
        let deadline = timeout.map(|t| started + TimeDelta::seconds(t as i64));
        // The execution's own deadline also bounds the wait (it then fails the execution).
        let watched = match (deadline, self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let waiter = token
            .as_ref()
            .map(|t| self.shared.tokens.register(t, &self.id, &state.name));
        let task_ctx = TaskContext {
            execution_id: self.id.clone(),
            execution_name: self.name.clone(),
            state_name: state.name.clone(),
            attempt,
            resource: resource_text.clone(),
            function,
            task_token: token.clone(),
            tokens: self.shared.tokens.clone(),
        };
        let clock = self.shared.clock.clone();
        let outcome = tokio::select! {
            biased;
            r = std::panic::AssertUnwindSafe(handler.invoke(payload, task_ctx)).catch_unwind() => {
                // A panicking handler is a crashed function, not a crashed runner.
                Ok(r.unwrap_or_else(|panic| Err(crate::handler::TaskError::new(
                    "Lambda.Unknown",
                    format!("The handler panicked: {}", panic_message(panic.as_ref())),
                ))))
            }
            e = watch(clock.clone(), watched, None) => Err(e),
        };
        // On a virtual clock the handler's own sleeps may have carried time past the deadline.
        let outcome = match outcome {
            Ok(_) if self.past(deadline) => Err(timeout_error(timeout)),
            other => other,
        };
        let fail = |e: StateError, kind: &str, at: Option<DateTime<Utc>>, prev: &mut u64| {
            if let Some(t) = &token {
                self.shared.tokens.close(t, e.error.ends_with("Timeout"));
            }
            let data = EventData {
                state: state_name.clone(),
                details: details(&[("error", json!(e.error)), ("cause", json!(e.cause))]),
                ..Default::default()
            };
            match at {
                Some(at) => self.event_at(prev, at.max(started), kind, data),
                None => self.event(prev, kind, data),
            };
            e
        };
        let output = match outcome {
            Err(e) => return Err(fail(e, names[4], deadline, prev)),
            Ok(Err(e)) => {
                return Err(fail(
                    StateError::new(e.error, e.cause),
                    names[3],
                    None,
                    prev,
                ));
            }
            Ok(Ok(v)) => v,
        };
        if let Err(e) = check_size(&output, "task's result") {
            return Err(fail(e, names[3], None, prev));
        }
        let output = match resource {
            Resource::LambdaInvoke { .. } if !handler.output_is_integration_response() => {
                self.invoke_response(output)
            }
            _ => output,
        };
        let output = match waiter {
            None => output,
            Some(waiter) => {
                self.event(
                    prev,
                    "TaskSubmitted",
                    EventData {
                        state: state_name.clone(),
                        output: Some(output),
                        ..Default::default()
                    },
                );
                // The heartbeat clock starts when the function has returned.
                *waiter.last_beat.lock().unwrap_or_else(|p| p.into_inner()) = self.now();
                let beat = heartbeat.map(|h| (Duration::from_secs(h), waiter.last_beat.clone()));
                let outcome = tokio::select! {
                    biased;
                    r = waiter.receiver => Ok(r),
                    e = watch(clock, watched, beat.clone()) => Err(e),
                };
                // On a virtual clock the callback may come after time has passed a limit.
                let outcome = match outcome {
                    Ok(_) if self.past(deadline) => Err(timeout_error(timeout)),
                    Ok(_)
                        if beat
                            .as_ref()
                            .is_some_and(|b| heartbeat_missed(self.now(), b)) =>
                    {
                        Err(heartbeat_error(heartbeat.unwrap_or(0)))
                    }
                    other => other,
                };
                match outcome {
                    Err(e) => {
                        let at = if e.error == "States.Timeout" {
                            deadline
                        } else {
                            None
                        };
                        return Err(fail(e, names[4], at, prev));
                    }
                    Ok(Err(_)) => {
                        let e = StateError::new("States.TaskFailed", "the task token was dropped");
                        return Err(fail(e, names[3], None, prev));
                    }
                    Ok(Ok(Err(e))) => {
                        return Err(fail(
                            StateError::new(e.error, e.cause),
                            names[3],
                            None,
                            prev,
                        ));
                    }
                    Ok(Ok(Ok(v))) => v,
                }
            }
        };
        self.event(
            prev,
            names[2],
            EventData {
                state: state_name,
                output: Some(output.clone()),
                ..Default::default()
            },
        );
        Ok(output)
    }

    fn past(&self, deadline: Option<DateTime<Utc>>) -> bool {
        deadline.is_some_and(|d| self.now() > d)
    }

    /// The optimised Lambda integration's response around a function's output.
    fn invoke_response(&self, payload: Value) -> Value {
        let request_id = self.uuid();
        let length = payload.to_string().len().to_string();
        let date = self.now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let trace = format!(
            "root=1-{:08x}-{:024x};sampled=0",
            self.now().timestamp(),
            self.random() as u128
        );
        let headers = [
            ("Connection", "keep-alive".to_string()),
            ("Content-Length", length),
            ("Content-Type", "application/json".to_string()),
            ("Date", date),
            ("X-Amz-Executed-Version", "$LATEST".to_string()),
            ("x-amzn-Remapped-Content-Length", "0".to_string()),
            ("x-amzn-RequestId", request_id.clone()),
            ("X-Amzn-Trace-Id", trace),
        ];
        let single: Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let all: Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!([v])))
            .collect();
        json!({
            "ExecutedVersion": "$LATEST",
            "Payload": payload,
            "SdkHttpMetadata": {"AllHttpHeaders": all, "HttpHeaders": single, "HttpStatusCode": 200},
            "SdkResponseMetadata": {"RequestId": request_id},
            "StatusCode": 200
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn parallel_attempt(
        &self,
        state: &State,
        work: &Work,
        branches: &[Definition],
        effective: &Value,
        attempt: u32,
        entered_at: DateTime<Utc>,
        prev: &mut u64,
    ) -> Result<Value, AttemptError> {
        let input = match &work.parameters {
            Some(t) => {
                let ctx = self.context(&state.name, entered_at, attempt, None, None);
                self.render(t, effective, &ctx).map_err(AttemptError::own)?
            }
            None => effective.clone(),
        };
        let name = Some(state.name.clone());
        let started = self.event(
            prev,
            "ParallelStateStarted",
            EventData {
                state: name.clone(),
                ..Default::default()
            },
        );
        let runs: Vec<BoxFuture<'_, Result<Value, StateError>>> = branches
            .iter()
            .map(|b| {
                let input = input.clone();
                Box::pin(async move {
                    let mut p = started;
                    self.run_scope(b, input, &mut p).await
                }) as BoxFuture<'_, _>
            })
            .collect();
        // try_join_all drops the other branches at the first failure: AWS stops them too.
        match futures::future::try_join_all(runs).await {
            Ok(outputs) => {
                self.event(
                    prev,
                    "ParallelStateSucceeded",
                    EventData {
                        state: name,
                        ..Default::default()
                    },
                );
                Ok(Value::Array(outputs))
            }
            Err(e) => {
                self.event(
                    prev,
                    "ParallelStateFailed",
                    EventData {
                        state: name,
                        details: details(&[("error", json!(e.error)), ("cause", json!(e.cause))]),
                        ..Default::default()
                    },
                );
                Err(AttemptError {
                    error: e,
                    from_branch: true,
                })
            }
        }
    }

    async fn map_attempt(
        &self,
        state: &State,
        work: &Work,
        effective: &Value,
        attempt: u32,
        entered_at: DateTime<Utc>,
        prev: &mut u64,
    ) -> Result<Value, AttemptError> {
        let Kind::Map {
            processor,
            items_path,
            max_concurrency,
            ..
        } = &state.kind
        else {
            return Err(AttemptError::own(StateError::runtime("not a Map state")));
        };
        let ctx = self.context(&state.name, entered_at, attempt, None, None);
        let items = match items_path {
            Some(p) => select_path(p, effective, &ctx).map_err(AttemptError::own)?,
            None => effective.clone(),
        };
        let Value::Array(items) = items else {
            return Err(AttemptError::own(StateError::runtime(format!(
                "Items of Map state '{}' must be an array, got {items}",
                state.name
            ))));
        };
        let limit = self
            .seconds(max_concurrency, effective, &ctx, "MaxConcurrencyPath", 0)
            .map_err(AttemptError::own)?;
        let limit = if limit == 0 {
            items.len().max(1)
        } else {
            limit as usize
        };
        let name = Some(state.name.clone());
        let started = self.event(
            prev,
            "MapStateStarted",
            EventData {
                state: name.clone(),
                details: details(&[("length", json!(items.len()))]),
                ..Default::default()
            },
        );
        type Iteration<'f> = BoxFuture<'f, Result<(usize, Value), StateError>>;
        let mut iterations: Vec<Iteration<'_>> = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let name = name.clone();
            iterations.push(Box::pin(async move {
                let iteration_input = match &work.parameters {
                    Some(t) => {
                        let ctx = self.context(
                            &state.name,
                            entered_at,
                            attempt,
                            None,
                            Some((index, item)),
                        );
                        self.render(t, effective, &ctx)?
                    }
                    None => item.clone(),
                };
                let mut p = started;
                self.count(|c| c.map_iterations += 1);
                let index_details =
                    details(&[("index", json!(index)), ("name", json!(state.name))]);
                self.event(
                    &mut p,
                    "MapIterationStarted",
                    EventData {
                        state: name.clone(),
                        details: index_details.clone(),
                        ..Default::default()
                    },
                );
                let result = self.run_scope(processor, iteration_input, &mut p).await;
                let kind = if result.is_ok() {
                    "MapIterationSucceeded"
                } else {
                    "MapIterationFailed"
                };
                self.event(
                    &mut p,
                    kind,
                    EventData {
                        state: name,
                        details: index_details,
                        ..Default::default()
                    },
                );
                result.map(|v| (index, v))
            }));
        }
        // At most `limit` iterations run at once; the first failure drops the rest.
        let collected: Result<Vec<(usize, Value)>, StateError> = futures::stream::iter(iterations)
            .buffer_unordered(limit)
            .try_collect()
            .await;
        match collected {
            Ok(mut results) => {
                results.sort_by_key(|(i, _)| *i);
                self.event(
                    prev,
                    "MapStateSucceeded",
                    EventData {
                        state: name,
                        ..Default::default()
                    },
                );
                Ok(Value::Array(results.into_iter().map(|(_, v)| v).collect()))
            }
            Err(e) => {
                self.event(
                    prev,
                    "MapStateFailed",
                    EventData {
                        state: name,
                        details: details(&[("error", json!(e.error)), ("cause", json!(e.cause))]),
                        ..Default::default()
                    },
                );
                let runtime = e.is_runtime();
                Err(AttemptError {
                    error: e,
                    from_branch: !runtime,
                })
            }
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

fn select_path(p: &crate::path::Path, input: &Value, ctx: &Value) -> Result<Value, StateError> {
    let root = if p.is_context() { ctx } else { input };
    p.select(root).ok_or_else(|| {
        StateError::runtime(format!(
            "Invalid path '{p}' : No results for path: {}",
            p.bracketed()
        ))
    })
}

fn timeout_error(timeout: Option<u64>) -> StateError {
    StateError::new(
        "States.Timeout",
        format!(
            "The task ran longer than TimeoutSeconds ({}s)",
            timeout.unwrap_or(0)
        ),
    )
}

fn heartbeat_missed(
    now: DateTime<Utc>,
    (period, last): &(Duration, Arc<Mutex<DateTime<Utc>>>),
) -> bool {
    let last = *last.lock().unwrap_or_else(|p| p.into_inner());
    now - last > TimeDelta::from_std(*period).unwrap_or(TimeDelta::MAX)
}

fn heartbeat_error(seconds: u64) -> StateError {
    StateError::new(
        "States.HeartbeatTimeout",
        format!("No heartbeat was received for {seconds}s (HeartbeatSeconds)"),
    )
}

/// Completes with a timeout error once the clock passes `deadline`, or once the
/// heartbeat has not been renewed for its period; never when neither is set.
async fn watch(
    clock: SharedClock,
    deadline: Option<DateTime<Utc>>,
    heartbeat: Option<(Duration, Arc<Mutex<DateTime<Utc>>>)>,
) -> StateError {
    if deadline.is_none() && heartbeat.is_none() {
        return futures::future::pending().await;
    }
    let ticker = SystemClock;
    loop {
        let now = clock.now();
        if deadline.is_some_and(|d| now > d) {
            return StateError::new("States.Timeout", "The task ran longer than TimeoutSeconds");
        }
        if let Some(beat) = &heartbeat
            && heartbeat_missed(now, beat)
        {
            return heartbeat_error(beat.0.as_secs());
        }
        match deadline {
            // A clock that wakes sleepers is slept on until the deadline: on a
            // simulated clock, ticking would cost a wake-up per tick per running Task.
            Some(d) if heartbeat.is_none() && clock.wakes_sleepers() => {
                let left = (d - now).to_std().unwrap_or_default();
                clock.sleep(left + Duration::from_millis(1)).await;
            }
            _ => ticker.sleep(WATCH_TICK).await,
        }
    }
}
