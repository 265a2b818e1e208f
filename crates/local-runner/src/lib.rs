//! An Amazon States Language interpreter (JSONPath query language) that runs a Step
//! Functions definition in process, with every Task dispatched to a [`Handler`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::{collections::HashMap, sync::Arc};
//! use local_runner::{Definition, Resources, Runner, handler_fn};
//!
//! let definition = Definition::from_json_str(
//!     r#"{"StartAt": "Hello", "States": {"Hello": {"Type": "Task",
//!         "Resource": "arn:aws:lambda:us-east-1:123456789012:function:hello", "End": true}}}"#,
//!     &HashMap::new(),
//! )?;
//! let clock = Arc::new(clock::VirtualClock::starting_at(chrono::Utc::now()));
//! let runner = Runner::builder(definition)
//!     .resources(Resources::new().function("hello", handler_fn(|input, _ctx| async move { Ok(input) })))
//!     .clock(clock)
//!     .build()?;
//! let result = runner.run(serde_json::json!({"hi": 1})).await;
//! assert_eq!(result.output(), Some(&serde_json::json!({"hi": 1})));
//! # Ok(()) }
//! ```

mod choice;
mod definition;
mod error;
mod executor;
mod handler;
mod history;
mod intrinsics;
mod io;
pub mod lambda_process;
pub mod mock;
mod path;
mod retry;
mod runner;
mod template;
mod tokens;

pub use definition::{Definition, LoadError, TaskInfo};
pub use error::StateError;
pub use handler::{
    Handler, Resources, SharedHandler, TaskContext, TaskError, function_name, handler_fn,
};
pub use history::{Counts, Event};
pub use intrinsics::SUPPORTED as SUPPORTED_INTRINSICS;
pub use lambda_process::{
    Invocation, InvocationRecord, LambdaProcess, LambdaProcessBuilder, LambdaProcessError,
};
pub use runner::{Execution, ExecutionResult, Outcome, Runner, RunnerBuilder, StartError};
pub use tokens::{CallbackError, PendingToken};
