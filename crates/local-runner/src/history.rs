//! The execution history, shaped like Step Functions' `GetExecutionHistory`, and
//! the counts that drive cost.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// One history event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// 1-based, in the order events happened.
    pub id: u64,
    /// The event this one follows in its branch (0 for the first).
    pub previous_event_id: u64,
    /// When, on the execution's clock.
    pub timestamp: DateTime<Utc>,
    /// `ExecutionStarted`, `TaskStateEntered`, `LambdaFunctionScheduled`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The state the event belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_name: Option<String>,
    /// Size in bytes of the input the event carries (serialised JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_bytes: Option<usize>,
    /// Size in bytes of the output the event carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_bytes: Option<usize>,
    /// The rest: `input`, `output`, `error`, `cause`, `resource`, `index`, ...
    #[serde(skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

/// Counts that matter for cost and for checking a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// State transitions as Step Functions Standard bills them: one per state
    /// entered (inside Map and Parallel too) plus one per retry.
    pub state_transitions: u64,
    /// Handler invocations (every attempt).
    pub task_invocations: u64,
    /// Retries made by Retry rules.
    pub retries: u64,
    /// Map iterations started.
    pub map_iterations: u64,
}

#[derive(Debug, Default)]
pub(crate) struct History {
    pub events: Vec<Event>,
    pub counts: Counts,
}

/// What an event carries besides its type.
#[derive(Default)]
pub(crate) struct EventData {
    pub state: Option<String>,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub details: Option<serde_json::Map<String, Value>>,
}

impl History {
    /// Appends an event after `prev` (the branch's last event) and moves `prev` on.
    pub fn push(&mut self, prev: &mut u64, at: DateTime<Utc>, kind: &str, data: EventData) -> u64 {
        let id = self.events.len() as u64 + 1;
        let mut details = data.details.unwrap_or_default();
        let input_bytes = data.input.map(|v| {
            let text = v.to_string();
            let n = text.len();
            details.insert("input".into(), Value::String(text));
            n
        });
        let output_bytes = data.output.map(|v| {
            let text = v.to_string();
            let n = text.len();
            details.insert("output".into(), Value::String(text));
            n
        });
        self.events.push(Event {
            id,
            previous_event_id: *prev,
            timestamp: at,
            kind: kind.to_string(),
            state_name: data.state,
            input_bytes,
            output_bytes,
            details: if details.is_empty() {
                Value::Null
            } else {
                Value::Object(details)
            },
        });
        *prev = id;
        id
    }
}
