//! The public face: a [`Runner`] for one definition, shared across tasks, that
//! starts [`Execution`]s and routes task-token callbacks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use clock::SharedClock;
use rand::rngs::StdRng;
use rand::{RngCore as _, SeedableRng as _};
use serde_json::Value;
use tokio::sync::watch;

use crate::definition::{Definition, LoadError};
use crate::error::StateError;
use crate::executor::{Exec, Shared};
use crate::handler::Resources;
use crate::history::{Counts, Event};
use crate::tokens::{CallbackError, PendingToken, Tokens};

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `ExecutionSucceeded` with this output.
    Succeeded(Value),
    /// `ExecutionFailed` with this error and cause.
    Failed(StateError),
}

/// A finished execution.
#[derive(Debug, Clone)]
pub struct ExecutionResult {
    /// The execution's ARN.
    pub execution_id: String,
    /// The execution's name.
    pub name: String,
    /// Output or error.
    pub outcome: Outcome,
    /// Every event, in order.
    pub history: Vec<Event>,
    /// Transitions, invocations, retries.
    pub counts: Counts,
    /// Start, on the runner's clock.
    pub started_at: DateTime<Utc>,
    /// End, on the runner's clock.
    pub stopped_at: DateTime<Utc>,
}

impl ExecutionResult {
    /// The output of a successful execution.
    pub fn output(&self) -> Option<&Value> {
        match &self.outcome {
            Outcome::Succeeded(v) => Some(v),
            Outcome::Failed(_) => None,
        }
    }

    /// The error of a failed execution.
    pub fn error(&self) -> Option<&StateError> {
        match &self.outcome {
            Outcome::Failed(e) => Some(e),
            Outcome::Succeeded(_) => None,
        }
    }

    /// Time the execution took on the runner's clock (virtual or real).
    pub fn elapsed(&self) -> chrono::TimeDelta {
        self.stopped_at - self.started_at
    }
}

/// Why an execution could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// The name is taken by another execution (or the same name with other input).
    #[error("ExecutionAlreadyExists: an execution named '{0}' already exists")]
    ExecutionAlreadyExists(String),
    /// The name breaks Step Functions' rules (1-80 characters, no whitespace or
    /// `< > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /`).
    #[error("InvalidName: '{0}' is not a valid execution name")]
    InvalidName(String),
}

/// An execution, running or finished. Cheap to clone.
#[derive(Clone)]
pub struct Execution {
    exec: Arc<Exec>,
    input: Value,
    done: watch::Receiver<Option<Arc<ExecutionResult>>>,
}

impl std::fmt::Debug for Execution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Execution")
            .field("id", &self.exec.id)
            .finish()
    }
}

impl Execution {
    /// The execution's ARN (`$$.Execution.Id`).
    pub fn id(&self) -> &str {
        &self.exec.id
    }

    /// The execution's name.
    pub fn name(&self) -> &str {
        &self.exec.name
    }

    /// Whether it is still running.
    pub fn is_running(&self) -> bool {
        self.done.borrow().is_none()
    }

    /// Waits for the end and returns the result.
    pub async fn wait(&self) -> ExecutionResult {
        let mut done = self.done.clone();
        loop {
            if let Some(r) = done.borrow_and_update().clone() {
                return (*r).clone();
            }
            if done.changed().await.is_err() {
                // The execution's task ended without a result: it panicked.
                return ExecutionResult {
                    execution_id: self.exec.id.clone(),
                    name: self.exec.name.clone(),
                    outcome: Outcome::Failed(StateError::runtime(
                        "the execution's task stopped unexpectedly (a handler panicked)",
                    )),
                    history: self.history(),
                    counts: self.exec.counts(),
                    started_at: self.exec.start,
                    stopped_at: self.exec.shared.clock.now(),
                };
            }
        }
    }

    /// The history so far.
    pub fn history(&self) -> Vec<Event> {
        self.exec
            .history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .events
            .clone()
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        self.exec.counts()
    }

    /// Task tokens of this execution that wait for a callback.
    pub fn pending_task_tokens(&self) -> Vec<PendingToken> {
        self.exec.shared.tokens.pending(Some(&self.exec.id))
    }
}

/// Builds a [`Runner`].
pub struct RunnerBuilder {
    definition: Definition,
    resources: Resources,
    clock: Option<SharedClock>,
    seed: u64,
    state_machine_name: String,
    region: String,
    account: String,
}

impl RunnerBuilder {
    /// Where Task states go.
    pub fn resources(mut self, resources: Resources) -> Self {
        self.resources = resources;
        self
    }

    /// The clock for Waits, retry intervals, timeouts and timestamps (default: the
    /// system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Seed for execution names, task tokens, UUIDs, jitter and `States.MathRandom`,
    /// so runs are reproducible (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The state machine's name in ARNs and `$$.StateMachine.Name` (default `StateMachine`).
    pub fn state_machine_name(mut self, name: impl Into<String>) -> Self {
        self.state_machine_name = name.into();
        self
    }

    /// Region and account in the ARNs (default `us-east-1`, `123456789012`, as Step
    /// Functions Local uses).
    pub fn account(mut self, region: impl Into<String>, account: impl Into<String>) -> Self {
        self.region = region.into();
        self.account = account.into();
        self
    }

    /// Checks that every Task whose target is fixed in the definition has a handler.
    pub fn build(self) -> Result<Runner, LoadError> {
        for task in self.definition.tasks() {
            let routed = self.resources.has_state(&task.state)
                || task
                    .function
                    .as_deref()
                    .is_some_and(|f| self.resources.resolve(&task.state, Some(f)).is_some());
            let dynamic = task.function.is_none();
            if !routed && !dynamic {
                return Err(LoadError::new(
                    format!("States.{}.Resource", task.state),
                    format!(
                        "no handler for '{}' (Task state '{}')",
                        task.function.unwrap_or(task.resource),
                        task.state
                    ),
                ));
            }
        }
        let clock = self.clock.unwrap_or_else(|| Arc::new(clock::SystemClock));
        let (region, account, name) = (&self.region, &self.account, &self.state_machine_name);
        let shared = Shared {
            state_machine_arn: format!("arn:aws:states:{region}:{account}:stateMachine:{name}"),
            role_arn: format!("arn:aws:iam::{account}:role/local-runner"),
            tokens: Arc::new(Tokens::new(clock.clone())),
            definition: self.definition,
            resources: self.resources,
            clock,
            state_machine_name: name.clone(),
        };
        Ok(Runner {
            shared: Arc::new(shared),
            executions: Arc::new(Mutex::new(HashMap::new())),
            rng: Arc::new(Mutex::new(StdRng::seed_from_u64(self.seed))),
            region: self.region,
            account: self.account,
            seed: self.seed,
        })
    }
}

/// Runs executions of one definition. `Send + Sync`; clone it or share it in an `Arc`.
#[derive(Clone)]
pub struct Runner {
    shared: Arc<Shared>,
    executions: Arc<Mutex<HashMap<String, Execution>>>,
    rng: Arc<Mutex<StdRng>>,
    region: String,
    account: String,
    seed: u64,
}

impl Runner {
    /// Starts building a runner for `definition`.
    pub fn builder(definition: Definition) -> RunnerBuilder {
        RunnerBuilder {
            definition,
            resources: Resources::new(),
            clock: None,
            seed: 0,
            state_machine_name: "StateMachine".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
        }
    }

    /// The runner's clock.
    pub fn clock(&self) -> &SharedClock {
        &self.shared.clock
    }

    /// Starts an execution with a generated name. Must be called inside a tokio runtime.
    pub fn start(&self, input: Value) -> Execution {
        loop {
            let name = {
                let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
                let mut bytes = [0u8; 16];
                rng.fill_bytes(&mut bytes);
                uuid::Builder::from_random_bytes(bytes)
                    .into_uuid()
                    .to_string()
            };
            if let Ok(e) = self.start_named(&name, input.clone()) {
                return e;
            }
        }
    }

    /// Starts an execution named `name`. As in Step Functions, a name is used once:
    /// starting a running execution's name again with the same input returns that
    /// execution; any other reuse is refused.
    pub fn start_named(&self, name: &str, input: Value) -> Result<Execution, StartError> {
        if !valid_name(name) {
            return Err(StartError::InvalidName(name.to_string()));
        }
        let mut executions = self.executions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = executions.get(name) {
            if existing.is_running() && existing.input == input {
                return Ok(existing.clone());
            }
            return Err(StartError::ExecutionAlreadyExists(name.to_string()));
        }
        let id = format!(
            "arn:aws:states:{}:{}:execution:{}:{name}",
            self.region, self.account, self.shared.state_machine_name
        );
        // Each execution has its own random stream, derived from the seed and its name,
        // so one execution's draws do not depend on what others ran before it.
        let rng = StdRng::seed_from_u64(self.seed ^ fnv1a(name));
        let exec = Arc::new(Exec::new(
            self.shared.clone(),
            id,
            name.to_string(),
            input.clone(),
            rng,
        ));
        let (tx, rx) = watch::channel(None);
        let execution = Execution {
            exec: exec.clone(),
            input,
            done: rx,
        };
        executions.insert(name.to_string(), execution.clone());
        drop(executions);
        tokio::spawn(async move {
            let result = exec.run().await;
            let history = exec.history.lock().unwrap_or_else(|p| p.into_inner());
            let stopped_at = history
                .events
                .last()
                .map(|e| e.timestamp)
                .unwrap_or(exec.start);
            let r = ExecutionResult {
                execution_id: exec.id.clone(),
                name: exec.name.clone(),
                outcome: match result {
                    Ok(v) => Outcome::Succeeded(v),
                    Err(e) => Outcome::Failed(e),
                },
                history: history.events.clone(),
                counts: history.counts,
                started_at: exec.start,
                stopped_at,
            };
            drop(history);
            // Nobody may be waiting; that is fine.
            let _ = tx.send(Some(Arc::new(r)));
        });
        Ok(execution)
    }

    /// Starts an execution and waits for it.
    pub async fn run(&self, input: Value) -> ExecutionResult {
        self.start(input).wait().await
    }

    /// An execution started by this runner, by name.
    pub fn execution(&self, name: &str) -> Option<Execution> {
        self.executions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// `SendTaskSuccess`: the waiting Task succeeds with `output` as its result.
    pub fn send_task_success(&self, token: &str, output: Value) -> Result<(), CallbackError> {
        self.shared.tokens.complete(token, Ok(output))
    }

    /// `SendTaskFailure`: the waiting Task fails with `error` and `cause`.
    pub fn send_task_failure(
        &self,
        token: &str,
        error: impl Into<String>,
        cause: impl Into<String>,
    ) -> Result<(), CallbackError> {
        self.shared
            .tokens
            .complete(token, Err(crate::handler::TaskError::new(error, cause)))
    }

    /// `SendTaskHeartbeat`: restarts the waiting Task's heartbeat period.
    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), CallbackError> {
        self.shared.tokens.heartbeat(token)
    }

    /// Every task token waiting for a callback, across executions.
    pub fn pending_task_tokens(&self) -> Vec<PendingToken> {
        self.shared.tokens.pending(None)
    }
}

fn valid_name(name: &str) -> bool {
    let len = name.chars().count();
    (1..=80).contains(&len)
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c))
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
