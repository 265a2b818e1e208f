//! The error a state raises: a Step Functions error name and its cause.

use serde_json::{Value, json};

/// An error raised while running a state, matched by Retry and Catch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError {
    /// The error name (`States.Timeout`, a Lambda `errorType`, ...).
    pub error: String,
    /// The cause text.
    pub cause: String,
}

impl StateError {
    pub(crate) fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }

    pub(crate) fn runtime(cause: impl Into<String>) -> Self {
        Self::new("States.Runtime", cause)
    }

    /// `States.Runtime` ends the execution: no Retry or Catch applies to it.
    pub fn is_runtime(&self) -> bool {
        self.error == "States.Runtime"
    }

    /// The error output a Catch passes on: `{"Error": ..., "Cause": ...}`.
    pub fn to_output(&self) -> Value {
        json!({"Error": self.error, "Cause": self.cause})
    }
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}
