//! The workflow on one machine: `statemachine/erasure.asl.json` run by the local
//! runner, every Task dispatched in process to the step it names, on one clock.
//!
//! With a `VirtualClock` shared by the runner, the Genesys client and the emulator,
//! hours of Genesys work and every Wait state pass in milliseconds.

pub mod receiver;
pub mod reviewer;

use std::collections::HashMap;
use std::sync::Arc;

use clock::SharedClock;
use local_runner::{
    Definition, ExecutionResult, LoadError, Resources, Runner, SharedHandler, StartError,
    TaskError, handler_fn,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::error::StepError;
use crate::gdpr::GenesysDeps;
use crate::write_record::RecordReceipt;
use crate::{
    erase, intake, locate, notify_downstream, notify_review, offboard_agent, poll,
    purge_recordings, report_ticket, review, verify_erasure, write_record,
};

pub use reviewer::{Decider, ReviewAnswer, Reviewer};

/// The one workflow definition, as AWS runs it.
pub const DEFINITION: &str = include_str!("../../../../statemachine/erasure.asl.json");

/// The definition's `${...}` substitutions and the function each names (the
/// functions' binary names under `functions/`).
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("IntakeFunctionArn", "intake"),
    ("LocateFunctionArn", "locate"),
    ("PollFunctionArn", "poll"),
    ("ReviewFunctionArn", "review"),
    ("NotifyReviewFunctionArn", "notify-review"),
    ("EraseFunctionArn", "erase"),
    ("PurgeRecordingsFunctionArn", "purge-recordings"),
    ("OffboardAgentFunctionArn", "offboard-agent"),
    ("NotifyDownstreamFunctionArn", "notify-downstream"),
    ("VerifyErasureFunctionArn", "verify-erasure"),
    ("WriteRecordFunctionArn", "write-record"),
    ("ReportTicketFunctionArn", "report-ticket"),
];

/// The state machine's name in local ARNs.
pub const STATE_MACHINE_NAME: &str = "gdpr-erasure";

/// Every substitution as a Lambda ARN of the local runner's account.
pub fn substitutions() -> HashMap<String, String> {
    FUNCTIONS
        .iter()
        .map(|(sub, f)| {
            (
                (*sub).to_owned(),
                format!("arn:aws:lambda:us-east-1:123456789012:function:{f}"),
            )
        })
        .collect()
}

/// `sha256:<hex>` of the definition text (the record names it).
pub fn definition_digest() -> String {
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(DEFINITION.as_bytes()))
    )
}

/// The letters of the demo and the tests: the example controller
/// ([`letters::LetterSettings::example`]) and the embedded templates, checked.
pub fn example_letters() -> Result<Arc<letters::Letters>, letters::LetterError> {
    letters::Letters::from_settings(letters::LetterSettings::example()).map(Arc::new)
}

/// Everything the steps need, built once.
#[derive(Debug, Clone)]
pub struct PipelineDeps {
    pub intake: intake::Deps,
    pub genesys: GenesysDeps,
    pub review: review::Deps,
    pub verify: verify_erasure::Deps,
    pub notify_review: notify_review::Deps,
    pub notify_downstream: notify_downstream::Deps,
    pub write_record: write_record::Deps,
    pub report_ticket: report_ticket::Deps,
}

/// The ports of a local run, from which every step's `Deps` is made.
#[derive(Clone)]
pub struct LocalPorts {
    pub genesys: genesys::GenesysClient,
    pub clock: SharedClock,
    pub pseudonymiser: Arc<erasure_core::pseudonym::Pseudonymiser>,
    pub intake: erasure_core::ticket::IntakeConfig,
    pub holds: Arc<dyn crate::ports::HoldRegisterSource>,
    pub downstream: crate::ports::Downstream,
    pub archive: Arc<dyn archive::Archive>,
    pub notifier: Arc<dyn crate::ports::ReviewNotifier>,
    pub reporter: Arc<dyn crate::ports::TicketReporter>,
    /// The letters to the data subject (checked when built).
    pub letters: Arc<letters::Letters>,
}

impl PipelineDeps {
    /// Erase's and PurgeRecordings' ports: the pipeline's Genesys (its ledger and
    /// polling, as changed by the caller) and Review's hold register, read again
    /// before anything is erased.
    pub fn erasing(&self) -> crate::hold_recheck::Deps {
        crate::hold_recheck::Deps {
            genesys: self.genesys.clone(),
            holds: self.review.holds.clone(),
        }
    }

    pub fn from_ports(p: LocalPorts) -> Self {
        let genesys = GenesysDeps::new(p.genesys, p.clock.clone());
        PipelineDeps {
            verify: verify_erasure::Deps {
                genesys: genesys.clone(),
                pseudonymiser: p.pseudonymiser.clone(),
                recheck_every: verify_erasure::RECHECK_EVERY,
                later_checks: crate::reverify::DEFAULT_SCHEDULE_DAYS
                    .iter()
                    .map(|d| chrono::Duration::days(*d))
                    .collect(),
            },
            intake: intake::Deps {
                pseudonymiser: p.pseudonymiser.clone(),
                config: p.intake,
                downstream: p.downstream.names(),
                poll_budget: intake::PollBudget::default(),
                clock: p.clock.clone(),
                archive: Some(p.archive.clone()),
            },
            review: review::Deps {
                genesys: genesys.clone(),
                holds: p.holds,
                analytics: review::AnalyticsSettings::default(),
            },
            genesys,
            notify_review: notify_review::Deps {
                notifier: p.notifier,
                clock: p.clock.clone(),
            },
            notify_downstream: notify_downstream::Deps {
                downstream: p.downstream,
                clock: p.clock.clone(),
            },
            write_record: write_record::Deps {
                archive: p.archive,
                fallback: None,
                pipeline_version: crate::PIPELINE_VERSION.to_owned(),
                definition_digest: Some(definition_digest()),
                letters: Some(p.letters),
                pseudonymiser: Some(p.pseudonymiser),
            },
            report_ticket: report_ticket::Deps {
                reporter: p.reporter,
                clock: p.clock,
            },
        }
    }
}

/// Deserialises a step input as the Lambda functions do ([`crate::lambda::input`]:
/// serde never quotes a value, which could be personal data).
fn input<T: DeserializeOwned>(task: &str, v: Value) -> Result<T, TaskError> {
    Ok(crate::lambda::input(task, v)?)
}

fn output<T: Serialize>(v: T) -> Result<Value, TaskError> {
    serde_json::to_value(v)
        .map_err(|e| StepError::input(format!("the output cannot be encoded: {e}")).into())
}

macro_rules! step {
    // Ports made once from the pipeline's when the handler is built.
    ($deps:expr, fn $make:ident, $module:ident) => {{
        let made = $deps.$make();
        handler_fn(move |v: Value, ctx| {
            let made = made.clone();
            let span = task_span(&ctx);
            async move {
                let i: $module::Input = input(stringify!($module), v)?;
                output($module::handle(&made, i).await?)
            }
            .instrument(span)
        })
    }};
    // A function that takes two kinds of event (`$module::$event`).
    ($deps:expr, $field:ident, $module:ident :: $handle:ident ($event:ident)) => {{
        let deps = $deps.clone();
        handler_fn(move |v: Value, ctx| {
            let deps = deps.clone();
            let span = task_span(&ctx);
            async move {
                let i: $module::$event = input(stringify!($module), v)?;
                output($module::$handle(&deps.$field, i).await?)
            }
            .instrument(span)
        })
    }};
    ($deps:expr, $field:ident, $module:ident) => {{
        let deps = $deps.clone();
        handler_fn(move |v: Value, ctx| {
            let deps = deps.clone();
            let span = task_span(&ctx);
            async move {
                let i: $module::Input = input(stringify!($module), v)?;
                output($module::handle(&deps.$field, i).await?)
            }
            .instrument(span)
        })
    }};
}

/// The AwaitDecision function: sends the summary, then lets the local reviewer answer
/// through the runner's callbacks, as the approval endpoint does in AWS.
fn await_decision(deps: Arc<PipelineDeps>, reviewer: Arc<dyn Reviewer>) -> SharedHandler {
    handler_fn(move |v: Value, ctx| {
        let deps = deps.clone();
        let reviewer = reviewer.clone();
        let span = task_span(&ctx);
        async move {
            let i: notify_review::Input = input("notify_review", v)?;
            let token = i.task_token.clone();
            let summary = i.review.clone();
            let out = notify_review::handle(&deps.notify_review, i).await?;
            let answer = reviewer.answer(&summary).await;
            let sent = match answer {
                ReviewAnswer::Approve(a) => ctx.send_task_success(&token, output(a)?),
                ReviewAnswer::Reject(a) => {
                    let cause = serde_json::to_string(&a).unwrap_or_default();
                    ctx.send_task_failure(&token, "ReviewRejected", cause)
                }
                ReviewAnswer::NoAnswer(why) => {
                    ctx.send_task_failure(&token, "ReviewNotAnswered", why)
                }
                ReviewAnswer::Later => Ok(()),
            };
            sent.map_err(|e| TaskError::new("States.Runtime", e.to_string()))?;
            output(out)
        }
        .instrument(span)
    })
}

/// One span per invocation, as the Lambda runtime opens one per request: the state,
/// the ticket (the execution name) and the attempt. No identifiers.
fn task_span(ctx: &local_runner::TaskContext) -> tracing::Span {
    tracing::info_span!(
        "task",
        state = ctx.state_name.as_str(),
        ticket = ctx.execution_name.as_str(),
        attempt = ctx.attempt
    )
}

/// Every Task of the definition, routed to its step.
pub fn resources(deps: Arc<PipelineDeps>, reviewer: Arc<dyn Reviewer>) -> Resources {
    Resources::new()
        .function("intake", step!(deps, intake, intake))
        .function("locate", step!(deps, genesys, locate))
        .function("poll", step!(deps, genesys, poll))
        .function("review", step!(deps, review, review))
        .function("notify-review", await_decision(deps.clone(), reviewer))
        .function("erase", step!(deps, fn erasing, erase))
        .function(
            "purge-recordings",
            step!(deps, fn erasing, purge_recordings),
        )
        .function("offboard-agent", step!(deps, genesys, offboard_agent))
        .function(
            "notify-downstream",
            step!(deps, notify_downstream, notify_downstream),
        )
        .function(
            "verify-erasure",
            step!(deps, verify, verify_erasure::handle_event(Event)),
        )
        .function(
            "write-record",
            step!(deps, write_record, write_record::handle_event(Event)),
        )
        .function("report-ticket", step!(deps, report_ticket, report_ticket))
}

/// Why a local run could not start or be set up.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("the workflow definition cannot be loaded: {0}")]
    Definition(#[from] LoadError),
    #[error(transparent)]
    Start(#[from] StartError),
}

/// The local pipeline: one runner for any number of executions.
#[derive(Clone)]
pub struct LocalPipeline {
    runner: Runner,
}

/// One finished execution and the record it wrote.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub result: ExecutionResult,
    /// The record's receipt (also when only reporting it to the ticket failed).
    pub record: Option<RecordReceipt>,
}

impl LocalPipeline {
    pub fn new(
        deps: PipelineDeps,
        reviewer: Arc<dyn Reviewer>,
        clock: SharedClock,
        seed: u64,
    ) -> Result<Self, PipelineError> {
        let definition = Definition::from_json_str(DEFINITION, &substitutions())?;
        let runner = Runner::builder(definition)
            .resources(resources(Arc::new(deps), reviewer))
            .clock(clock)
            .seed(seed)
            .state_machine_name(STATE_MACHINE_NAME)
            .build()?;
        Ok(LocalPipeline { runner })
    }

    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    /// Runs one execution named `name` (the ticket id) to its end.
    pub async fn run(&self, name: &str, input: Value) -> Result<RunOutcome, PipelineError> {
        let execution = self.runner.start_named(name, input)?;
        let result = execution.wait().await;
        let record = record_of(&result);
        Ok(RunOutcome { result, record })
    }

    /// Runs several executions at once.
    pub async fn run_many(
        &self,
        tickets: Vec<(String, Value)>,
    ) -> Vec<Result<RunOutcome, PipelineError>> {
        let runs = tickets.into_iter().map(|(name, input)| {
            let me = self.clone();
            async move { me.run(&name, input).await }
        });
        futures_join_all(runs).await
    }
}

async fn futures_join_all<F>(futs: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        match h.await {
            Ok(v) => out.push(v),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    out
}

/// The receipt WriteRecord produced, from the execution's output or its history.
pub fn record_of(result: &ExecutionResult) -> Option<RecordReceipt> {
    if let Some(r) = result
        .output()
        .and_then(|o| serde_json::from_value::<RecordReceipt>(o.clone()).ok())
    {
        return Some(r);
    }
    result
        .history
        .iter()
        .rev()
        .filter(|e| e.kind == "TaskStateExited" && e.state_name.as_deref() == Some("WriteRecord"))
        .find_map(|e| {
            let text = e.details.get("output")?.as_str()?;
            let v: Value = serde_json::from_str(text).ok()?;
            serde_json::from_value(v.get("record")?.clone()).ok()
        })
}
