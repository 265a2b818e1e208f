//! The workflow steps of `statemachine/erasure.asl.json`: one module per Task, each an
//! async `handle(&Deps, Input) -> Result<Output, StepError>` over typed, camelCase
//! input and output (the state contract, docs/workflow.md).
//!
//! | Task | module | Deps |
//! |---|---|---|
//! | Intake | [`intake`] | pseudonym key, ticket rules, downstream names, clock |
//! | Locate | [`locate`] | [`gdpr::GenesysDeps`] |
//! | PollExport, PollDeletion | [`poll`] | [`gdpr::GenesysDeps`] |
//! | Review | [`review`] | Genesys, legal-hold register |
//! | AwaitDecision | [`notify_review`] | review notifier |
//! | Erase | [`erase`] | [`gdpr::GenesysDeps`] |
//! | PurgeRecordings | [`purge_recordings`] | [`gdpr::GenesysDeps`] |
//! | OffboardAgent | [`offboard_agent`] | [`gdpr::GenesysDeps`] |
//! | NotifyDownstream | [`notify_downstream`] | downstream systems |
//! | VerifyErasure | [`verify_erasure`] | [`gdpr::GenesysDeps`] |
//! | WriteRecord | [`write_record`] | archive |
//! | ReportToTicket | [`report_ticket`] | ticket reporter |
//!
//! A Lambda function (`functions/<step>`) is glue around one of them, with
//! [`lambda`] reading the payload and naming errors:
//!
//! ```no_run
//! # async fn main_() -> Result<(), lambda_runtime::Error> {
//! use erasure_steps::{env::Env, lambda, locate};
//! use lambda_runtime::{LambdaEvent, service_fn};
//! use serde_json::Value;
//!
//! let env = Env::load().await;
//! let deps = lambda::init(locate::Deps::from_env(&env)).await?;
//! let deps = &deps;
//! lambda_runtime::run(service_fn(move |e: LambdaEvent<Value>| async move {
//!     lambda::invoke("locate", e.payload, |input| locate::handle(deps, input)).await
//! }))
//! .await
//! # }
//! ```
//!
//! [`local`] runs the same definition on one machine with the local runner, every
//! Task dispatched to these functions in process.

pub mod env;
pub mod erase;
pub mod error;
pub mod gdpr;
pub mod hold_recheck;
pub mod intake;
pub mod lambda;
pub mod local;
pub mod locate;
pub mod notify_downstream;
pub mod notify_review;
pub mod offboard_agent;
pub mod poll;
pub mod ports;
pub mod purge_recordings;
pub mod record_scan;
pub mod report_ticket;
pub mod reverify;
pub mod review;
pub mod state;
pub mod verify_erasure;
pub mod write_record;
pub mod write_verification;

pub use error::{StepError, all_error_names, retryable_error_names};

/// The version every record names.
pub const PIPELINE_VERSION: &str = env!("CARGO_PKG_VERSION");
