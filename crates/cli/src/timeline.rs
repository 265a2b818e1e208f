//! The timeline of one execution: the states it went through (from the runner's
//! history), the waits, and the Genesys calls each Task made (method, route template,
//! status: never an id or an identifier).
//!
//! Genesys calls are captured from the client's own `tracing` events and attributed
//! to the Task invocation whose span they happened in (the local pipeline opens a
//! `task` span per invocation, as the Lambda runtime opens one per request).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use local_runner::ExecutionResult;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// One Genesys call.
#[derive(Debug, Clone)]
pub struct Call {
    pub ticket: String,
    pub state: String,
    /// Which entry into the state (a retry stays in the same entry).
    pub entry: usize,
    pub method: String,
    pub path: String,
    pub status: String,
}

/// The calls captured so far, shared with the layer.
#[derive(Clone, Default)]
pub struct Calls(Arc<Mutex<Vec<Call>>>);

impl Calls {
    pub fn of_ticket(&self, ticket: &str) -> Vec<Call> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|c| c.ticket == ticket)
            .cloned()
            .collect()
    }
}

/// The `tracing` layer that captures Genesys calls.
pub struct CaptureLayer {
    calls: Calls,
    /// Entries per (ticket, state) so far.
    entries: Mutex<HashMap<(String, String), usize>>,
}

impl CaptureLayer {
    pub fn new(calls: Calls) -> Self {
        CaptureLayer {
            calls,
            entries: Mutex::new(HashMap::new()),
        }
    }
}

#[derive(Default)]
struct Fields {
    message: Option<String>,
    method: Option<String>,
    path: Option<String>,
    status: Option<String>,
    error: Option<String>,
    state: Option<String>,
    ticket: Option<String>,
    attempt: Option<u64>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}").trim_matches('"').to_owned();
        self.set(field.name(), text);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field.name(), value.to_owned());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "attempt" {
            self.attempt = Some(value);
        } else {
            self.set(field.name(), value.to_string());
        }
    }
}

impl Fields {
    fn set(&mut self, name: &str, v: String) {
        match name {
            "message" => self.message = Some(v),
            "method" => self.method = Some(v),
            "path" => self.path = Some(v),
            "status" => self.status = Some(v),
            "error" => self.error = Some(v),
            "state" => self.state = Some(v),
            "ticket" => self.ticket = Some(v),
            _ => {}
        }
    }
}

/// What a `task` span stands for.
struct TaskOf {
    ticket: String,
    state: String,
    entry: usize,
}

impl<S> Layer<S> for CaptureLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "task" {
            return;
        }
        let mut f = Fields::default();
        attrs.record(&mut f);
        let (Some(ticket), Some(state)) = (f.ticket, f.state) else {
            return;
        };
        let entry = {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            let n = entries.entry((ticket.clone(), state.clone())).or_insert(0);
            if f.attempt.unwrap_or(0) == 0 {
                *n += 1;
            }
            *n
        };
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(TaskOf {
                ticket,
                state,
                entry,
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if !event.metadata().target().starts_with("genesys") {
            return;
        }
        let mut f = Fields::default();
        event.record(&mut f);
        let status = match f.message.as_deref() {
            Some("genesys response") => f.status.unwrap_or_default(),
            // A failure with a status was already seen as a response.
            Some("genesys call failed") if f.status.is_none() => {
                format!("no answer ({})", f.error.unwrap_or_default())
            }
            _ => return,
        };
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        for span in scope {
            if let Some(task) = span.extensions().get::<TaskOf>() {
                self.calls
                    .0
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(Call {
                        ticket: task.ticket.clone(),
                        state: task.state.clone(),
                        entry: task.entry,
                        method: f.method.clone().unwrap_or_default(),
                        path: f.path.clone().unwrap_or_default(),
                        status: status.trim().to_owned(),
                    });
                return;
            }
        }
    }
}

fn offset(d: TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    format!("+{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// The timeline as text.
pub fn render(result: &ExecutionResult, calls: &[Call]) -> String {
    let start: DateTime<Utc> = result.started_at;
    let mut out = String::new();
    let mut entries: HashMap<&str, usize> = HashMap::new();
    let mut wait_started: HashMap<&str, DateTime<Utc>> = HashMap::new();
    for e in &result.history {
        let state = e.state_name.as_deref().unwrap_or("");
        match e.kind.as_str() {
            "WaitStateEntered" => {
                wait_started.insert(state, e.timestamp);
            }
            "WaitStateExited" => {
                let from = wait_started.remove(state).unwrap_or(e.timestamp);
                let _ = writeln!(
                    out,
                    "  {}  {:<24} waited {} s",
                    offset(from - start),
                    state,
                    (e.timestamp - from).num_seconds()
                );
            }
            k if k.ends_with("StateEntered") => {
                let n = entries.entry(state).or_insert(0);
                *n += 1;
                let here: Vec<String> = calls
                    .iter()
                    .filter(|c| c.state == state && c.entry == *n)
                    .map(|c| format!("{} {} {}", c.method, c.path, c.status))
                    .collect();
                let _ = writeln!(out, "  {}  {}", offset(e.timestamp - start), state);
                for c in collapse(&here) {
                    let _ = writeln!(out, "              genesys: {c}");
                }
            }
            "TaskSucceeded" if state == "AwaitDecision" => {
                let decision = e
                    .details
                    .get("output")
                    .and_then(|v| v.as_str())
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
                    .and_then(|v| {
                        v.get("decision")
                            .and_then(|d| d.as_str())
                            .map(str::to_owned)
                    })
                    .unwrap_or_else(|| "answered".into());
                let _ = writeln!(
                    out,
                    "  {}  {:<24} DPO: {decision}",
                    offset(e.timestamp - start),
                    state
                );
            }
            "TaskFailed" | "LambdaFunctionFailed" | "LambdaFunctionTimedOut" | "TaskTimedOut" => {
                let error = e
                    .details
                    .get("error")
                    .and_then(|v| v.as_str())
                    .unwrap_or("error");
                let _ = writeln!(
                    out,
                    "  {}  {:<24} failed: {error}",
                    offset(e.timestamp - start),
                    state
                );
            }
            "ExecutionFailed" => {
                let error = e
                    .details
                    .get("error")
                    .and_then(|v| v.as_str())
                    .unwrap_or("error");
                let _ = writeln!(
                    out,
                    "  {}  execution failed: {error}",
                    offset(e.timestamp - start)
                );
            }
            _ => {}
        }
    }
    out
}

/// Repeated identical calls as one line with a count.
fn collapse(lines: &[String]) -> Vec<String> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for l in lines {
        match out.last_mut() {
            Some((last, n)) if last == l => *n += 1,
            _ => out.push((l.clone(), 1)),
        }
    }
    out.into_iter()
        .map(|(l, n)| if n > 1 { format!("{l} (x{n})") } else { l })
        .collect()
}
