//! Task handlers and the resource map that routes each Task state to one.
//!
//! A handler stands in for a Lambda function: an in-process Rust function (the
//! workflow steps), a mocked response (Step Functions Local's mock configuration), or
//! an external process behind the Lambda Runtime API (`LambdaProcess`). All three fit one
//! async trait that takes the payload and a context and returns the output or an
//! error name and cause.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use serde_json::Value;

use crate::tokens::{CallbackError, Tokens};

/// A failed invocation: `error` is what Retry and Catch match (a Lambda's
/// `errorType`), `cause` is passed on verbatim in `{"Error", "Cause"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct TaskError {
    /// The error name.
    pub error: String,
    /// The cause text.
    pub cause: String,
}

impl TaskError {
    /// An error with a verbatim cause (as a mocked `Throw` or `SendTaskFailure` gives).
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// An error shaped as a Lambda function's failure reaches Step Functions: the
    /// cause is the function's error document as the Rust runtime posts it and Lambda
    /// passes it on, byte for byte: `{"errorType":...,"errorMessage":...}` in that
    /// order (serde_json's `json!` would sort the keys; moto's Step Functions running
    /// the real binaries showed the difference, `docs/second-interpreter.md`).
    pub fn lambda(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct ErrorDocument<'a> {
            error_type: &'a str,
            error_message: &'a str,
        }
        let error = error_type.into();
        let message = error_message.into();
        let cause = serde_json::to_string(&ErrorDocument {
            error_type: &error,
            error_message: &message,
        })
        .unwrap_or_default();
        Self { error, cause }
    }
}

/// What a handler knows about the invocation.
#[derive(Clone)]
pub struct TaskContext {
    /// The execution's ARN.
    pub execution_id: String,
    /// The execution's name.
    pub execution_name: String,
    /// The Task state's name.
    pub state_name: String,
    /// 0 on the first attempt, then 1, 2, ... on retries (`$$.State.RetryCount`).
    pub attempt: u32,
    /// The Task's `Resource`.
    pub resource: String,
    /// The function invoked (the ARN, or `FunctionName` of `lambda:invoke`).
    pub function: String,
    /// The task token of a `.waitForTaskToken` Task.
    pub task_token: Option<String>,
    pub(crate) tokens: Arc<Tokens>,
}

impl std::fmt::Debug for TaskContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskContext")
            .field("execution_id", &self.execution_id)
            .field("state_name", &self.state_name)
            .field("attempt", &self.attempt)
            .field("function", &self.function)
            .field("task_token", &self.task_token.is_some())
            .finish()
    }
}

impl TaskContext {
    /// Completes a waiting Task (of any execution of the same runner) with `output`,
    /// as `SendTaskSuccess` does.
    pub fn send_task_success(&self, token: &str, output: Value) -> Result<(), CallbackError> {
        self.tokens.complete(token, Ok(output))
    }

    /// Fails a waiting Task, as `SendTaskFailure` does.
    pub fn send_task_failure(
        &self,
        token: &str,
        error: impl Into<String>,
        cause: impl Into<String>,
    ) -> Result<(), CallbackError> {
        self.tokens
            .complete(token, Err(TaskError::new(error, cause)))
    }

    /// Resets a waiting Task's heartbeat clock, as `SendTaskHeartbeat` does.
    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), CallbackError> {
        self.tokens.heartbeat(token)
    }
}

/// Something a Task state invokes.
#[async_trait::async_trait]
pub trait Handler: Send + Sync {
    /// Runs one attempt. For `lambda:invoke` Tasks `input` is the `Payload`.
    async fn invoke(&self, input: Value, ctx: TaskContext) -> Result<Value, TaskError>;

    /// Whether the output is already a service integration's whole response (as a
    /// Step Functions Local mocked `Return` is), so the runner must not wrap it in
    /// the `lambda:invoke` response shape.
    fn output_is_integration_response(&self) -> bool {
        false
    }
}

/// A shared handler.
pub type SharedHandler = Arc<dyn Handler>;

struct FnHandler<F>(F);

#[async_trait::async_trait]
impl<F, Fut> Handler for FnHandler<F>
where
    F: Fn(Value, TaskContext) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, TaskError>> + Send + 'static,
{
    async fn invoke(&self, input: Value, ctx: TaskContext) -> Result<Value, TaskError> {
        (self.0)(input, ctx).await
    }
}

/// A handler from an async function or closure.
pub fn handler_fn<F, Fut>(f: F) -> SharedHandler
where
    F: Fn(Value, TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, TaskError>> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

/// Routes Task states to handlers: by state name first (as a mock test case does),
/// then by the resource or function given (an exact match, then the bare function
/// name, so `arn:aws:lambda:eu-west-1:1:function:intake:live` and `intake` both reach
/// a handler registered as `intake`).
#[derive(Clone, Default)]
pub struct Resources {
    by_function: HashMap<String, SharedHandler>,
    by_state: HashMap<String, SharedHandler>,
}

impl std::fmt::Debug for Resources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resources")
            .field("functions", &self.by_function.keys().collect::<Vec<_>>())
            .field("states", &self.by_state.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Resources {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes a function (name or ARN) to `handler`.
    pub fn function(mut self, name_or_arn: impl Into<String>, handler: SharedHandler) -> Self {
        self.by_function.insert(name_or_arn.into(), handler);
        self
    }

    /// Routes every Task state named `state` (at any depth) to `handler`.
    pub fn state(mut self, state: impl Into<String>, handler: SharedHandler) -> Self {
        self.by_state.insert(state.into(), handler);
        self
    }

    /// The handler for a Task state invoking `function`.
    pub fn resolve(&self, state: &str, function: Option<&str>) -> Option<SharedHandler> {
        if let Some(h) = self.by_state.get(state) {
            return Some(h.clone());
        }
        let function = function?;
        self.by_function
            .get(function)
            .or_else(|| self.by_function.get(function_name(function)))
            .cloned()
    }

    /// Whether `state` is routed by name.
    pub fn has_state(&self, state: &str) -> bool {
        self.by_state.contains_key(state)
    }
}

/// The bare function name of a name, partial ARN or ARN (qualifier dropped).
pub fn function_name(s: &str) -> &str {
    let parts: Vec<&str> = s.split(':').collect();
    match parts.iter().position(|p| *p == "function") {
        Some(i) if i + 1 < parts.len() => parts[i + 1],
        _ => parts[0],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_are_found_in_arns_and_partial_arns() {
        assert_eq!(
            function_name("arn:aws:lambda:eu-west-1:1:function:intake"),
            "intake"
        );
        assert_eq!(
            function_name("arn:aws:lambda:eu-west-1:1:function:intake:live"),
            "intake"
        );
        assert_eq!(function_name("123456789012:function:intake"), "intake");
        assert_eq!(function_name("intake:live"), "intake");
        assert_eq!(function_name("intake"), "intake");
    }

    #[test]
    fn lambda_errors_carry_the_function_error_object_as_cause() {
        let e = TaskError::lambda("GenesysTransient", "503 from Genesys \"quoted\"");
        assert_eq!(e.error, "GenesysTransient");
        // The text a Rust function's failure has in Step Functions (lambda_runtime's
        // Diagnostic, passed on verbatim): the same key order, not just the same JSON.
        let diagnostic = lambda_runtime::Diagnostic {
            error_type: "GenesysTransient".into(),
            error_message: "503 from Genesys \"quoted\"".into(),
        };
        assert_eq!(e.cause, serde_json::to_string(&diagnostic).unwrap());
        assert_eq!(
            e.cause,
            r#"{"errorType":"GenesysTransient","errorMessage":"503 from Genesys \"quoted\""}"#
        );
    }
}
