//! What the two runs must agree on: the record (ids, times and digests masked) and the
//! states entered.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_sfn::types::HistoryEvent;
use local_runner::Event;
use serde_json::{Map, Value};

/// Fields that name this run rather than what it found or did: ids, times, where the
/// record is stored, and how often a job was polled. Masked wherever they occur (in the
/// record and in the state data); every other field must be equal on both sides.
const MASKED: &[&str] = &[
    // Ids the two worlds draw on their own: the emulator's GDPR request UUIDs, the
    // receivers' acknowledgement references.
    "requestId",
    "reference",
    // The task token of AwaitDecision (random on both sides).
    "taskToken",
    // Times that depend on when things ran. The clock facts that do not (the ticket's
    // times, the due dates, whether the deadline and the service level were met) stay
    // compared. moto also writes the context object's times in another form
    // (`$$.Execution.StartTime`, `$$.State.EnteredTime`: `...123456+00:00` where AWS
    // and the local runner write `...123Z`): docs/second-interpreter.md.
    "writtenAt",
    "startedAt",
    "retainUntil",
    "intakeAt",
    "completedAt",
    "genesysFirstCallAt",
    "firstCallAt",
    "submittedAt",
    "observedAt",
    "at",
    // The redaction window and the next check follow the deletion's completion.
    "windowClosesAt",
    "nextCheckAt",
    // The checks after the record follow it too.
    "deletionCompletedAt",
    "dueAt",
    // Where the record went: S3 (a version id, the prefix) on one side, a directory on
    // the other; the digest covers the masked times.
    "key",
    "versionId",
    "digest",
    // The polling loop's bookkeeping: how many rounds a job took depends on real time
    // on the AWS side. Its status, `done` and `timedOut` stay compared.
    "polls",
    "waitSeconds",
    "history",
    "statusHistory",
];

/// `value` with every [`MASKED`] field's value replaced by `"<masked>"` (a field
/// present on one side only still differs).
pub fn masked(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if MASKED.contains(&k.as_str()) {
                        Value::String("<masked>".into())
                    } else {
                        masked(v)
                    };
                    (k.clone(), v)
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(masked).collect()),
        other => other.clone(),
    }
}

/// JSON pointers where `a` and `b` differ.
pub fn differences(a: &Value, b: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff(a, b, String::new(), &mut out);
    out
}

fn diff(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                diff(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    format!("{at}/{k}"),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(p, q, format!("{at}/{i}"), out);
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{at}: {a} vs {b}")),
    }
}

/// `(event type, state name)` of every state entered, in history order.
pub fn states_entered_on_moto(history: &[HistoryEvent]) -> Vec<(String, String)> {
    history
        .iter()
        .filter(|e| e.r#type.as_str().ends_with("StateEntered"))
        .map(|e| {
            let name = e
                .state_entered_event_details
                .as_ref()
                .map(|d| d.name.clone())
                .unwrap_or_default();
            (e.r#type.as_str().to_owned(), name)
        })
        .collect()
}

pub fn states_entered_locally(history: &[Event]) -> Vec<(String, String)> {
    history
        .iter()
        .filter(|e| e.kind.ends_with("StateEntered"))
        .map(|e| (e.kind.clone(), e.state_name.clone().unwrap_or_default()))
        .collect()
}

/// The states entered, as the two interpreters must agree on them:
///
/// - the top level in order, each polling loop (`WaitFor…`, `Poll…`, `…Status`) counted
///   once however often it went round: the AWS side's jobs run on the real clock, so a
///   busy machine can make a job take one more round there;
/// - the states inside Parallel branches and Map iterations as a set with counts:
///   branches and iterations run concurrently, so their order is not defined.
#[derive(Debug, PartialEq, Eq)]
pub struct StatePath {
    pub top: Vec<(String, String)>,
    pub nested: Vec<(String, String)>,
}

pub fn state_path(entered: Vec<(String, String)>) -> StatePath {
    let definition: Value =
        serde_json::from_str(erasure_steps::local::DEFINITION).expect("the definition is JSON");
    let top_level: BTreeSet<&str> = definition["States"]
        .as_object()
        .expect("States")
        .keys()
        .map(String::as_str)
        .collect();
    let (top, mut nested): (Vec<_>, Vec<_>) = entered
        .into_iter()
        .partition(|(_, name)| top_level.contains(name.as_str()));
    nested.sort();
    StatePath {
        top: collapse_polling(top),
        nested,
    }
}

fn collapse_polling(states: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for s in states {
        out.push(s);
        let n = out.len();
        // ... Wait, Poll, Status, Wait, Poll, Status: the second round goes. The checks
        // after the record wait the same way (LaterCheck, LaterCheckRoute, LaterCheckWait):
        // moto's Wait may wake before the step's clock says the check is due.
        let round = |name: &str| name.starts_with("WaitFor") || name == "LaterCheck";
        if n >= 6 && round(&out[n - 3].1) && out[n - 6..n - 3] == out[n - 3..] {
            out.truncate(n - 3);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| ("T".to_owned(), (*n).to_owned()))
            .collect()
    }

    #[test]
    fn polling_rounds_count_once() {
        let rounds = s(&[
            "Locate",
            "WaitForExport",
            "PollExport",
            "ExportStatus",
            "WaitForExport",
            "PollExport",
            "ExportStatus",
            "WaitForExport",
            "PollExport",
            "ExportStatus",
            "Review",
        ]);
        assert_eq!(
            collapse_polling(rounds),
            s(&[
                "Locate",
                "WaitForExport",
                "PollExport",
                "ExportStatus",
                "Review"
            ])
        );
    }
}

/// The state a history event belongs to: the one its branch last entered.
fn state_of_event(history: &[HistoryEvent], event: &HistoryEvent) -> String {
    let by_id: std::collections::HashMap<i64, &HistoryEvent> =
        history.iter().map(|e| (e.id, e)).collect();
    let mut e = event;
    loop {
        if let Some(d) = &e.state_entered_event_details {
            return d.name.clone();
        }
        match by_id.get(&e.previous_event_id) {
            Some(p) => e = p,
            None => return String::new(),
        }
    }
}

/// Every failed function invocation as (state, error), in history order.
pub fn failures_on_moto(history: &[HistoryEvent]) -> Vec<(String, String)> {
    history
        .iter()
        .filter_map(|e| {
            let error = e
                .lambda_function_failed_event_details
                .as_ref()
                .map(|d| d.error.clone())
                .or_else(|| {
                    e.task_failed_event_details
                        .as_ref()
                        .map(|d| d.error.clone())
                })?;
            Some((state_of_event(history, e), error.unwrap_or_default()))
        })
        .collect()
}

pub fn failures_locally(history: &[Event]) -> Vec<(String, String)> {
    history
        .iter()
        .filter(|e| e.kind == "LambdaFunctionFailed" || e.kind == "TaskFailed")
        .map(|e| {
            (
                e.state_name.clone().unwrap_or_default(),
                e.details
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

/// For each failed invocation on moto that its state's Retry ran again, how long until
/// the next invocation of that state was scheduled (the Retry's wait), in seconds.
pub fn retry_waits_on_moto(history: &[HistoryEvent]) -> Vec<f64> {
    let secs =
        |e: &HistoryEvent| e.timestamp.secs() as f64 + f64::from(e.timestamp.subsec_nanos()) / 1e9;
    history
        .iter()
        .enumerate()
        .filter(|(_, e)| e.lambda_function_failed_event_details.is_some())
        .filter_map(|(i, failed)| {
            let next = history[i..]
                .iter()
                .find(|e| e.lambda_function_scheduled_event_details.is_some())?;
            (state_of_event(history, next) == state_of_event(history, failed))
                .then(|| secs(next) - secs(failed))
        })
        .collect()
}

/// How many times moto ran a Task again: invocations beyond one per Task state entered.
pub fn retries_on_moto(history: &[HistoryEvent]) -> u64 {
    let scheduled = history
        .iter()
        .filter(|e| {
            e.lambda_function_scheduled_event_details.is_some()
                || e.task_scheduled_event_details.is_some()
        })
        .count();
    let tasks = history
        .iter()
        .filter(|e| e.r#type.as_str() == "TaskStateEntered")
        .count();
    scheduled.saturating_sub(tasks) as u64
}

/// One step of the data flow: a state's output when it exits, or the payload a Lambda
/// function was invoked with.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub state: String,
    pub kind: &'static str,
    pub data: Value,
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

pub fn flow_on_moto(history: &[HistoryEvent]) -> Vec<Flow> {
    let by_id: std::collections::HashMap<i64, &HistoryEvent> =
        history.iter().map(|e| (e.id, e)).collect();
    // A Lambda event names no state: the state is the one its branch last entered.
    let state_of = |first: &HistoryEvent| -> String {
        let mut e = first;
        loop {
            if let Some(d) = &e.state_entered_event_details {
                return d.name.clone();
            }
            match by_id.get(&e.previous_event_id) {
                Some(p) => e = p,
                None => return String::new(),
            }
        }
    };
    history
        .iter()
        .filter_map(|e| {
            if let Some(d) = &e.state_exited_event_details {
                return Some(Flow {
                    state: d.name.clone(),
                    kind: "output",
                    data: json(d.output.as_deref().unwrap_or("null")),
                });
            }
            if let Some(d) = &e.task_scheduled_event_details {
                return Some(Flow {
                    state: state_of(e),
                    kind: "parameters",
                    data: json(&d.parameters),
                });
            }
            let d = e.lambda_function_scheduled_event_details.as_ref()?;
            Some(Flow {
                state: state_of(e),
                kind: "payload",
                data: json(d.input.as_deref().unwrap_or("null")),
            })
        })
        .collect()
}

pub fn flow_locally(history: &[Event]) -> Vec<Flow> {
    history
        .iter()
        .filter_map(|e| {
            let (kind, field) = if e.kind.ends_with("StateExited") {
                ("output", "output")
            } else if e.kind == "LambdaFunctionScheduled" {
                ("payload", "input")
            } else if e.kind == "TaskScheduled" {
                ("parameters", "input")
            } else {
                return None;
            };
            Some(Flow {
                state: e.state_name.clone().unwrap_or_default(),
                kind,
                data: json(
                    e.details
                        .get(field)
                        .and_then(Value::as_str)
                        .unwrap_or("null"),
                ),
            })
        })
        .collect()
}

/// The data flow as the two interpreters must agree on it, masked: for each state, the
/// payloads its function was invoked with and the outputs it exited with (sorted, as
/// Map iterations and Parallel branches run concurrently). Of a polling loop only what
/// does not depend on the number of rounds: the last output of its Poll and its Choice
/// (the final status); its Wait passes its input on unchanged, and the payload of a
/// poll carries the previous round's status.
pub fn data_flow(flows: Vec<Flow>) -> BTreeMap<(String, &'static str), Vec<Value>> {
    let mut out: BTreeMap<(String, &'static str), Vec<Value>> = BTreeMap::new();
    for f in flows {
        // The redaction loop (VerifyErasure, RedactionPending, WaitForRedaction) is one
        // too: how many checks the redaction needed depends on real time on AWS.
        let polling = f.state.starts_with("Poll")
            || f.state.ends_with("Status")
            || matches!(
                f.state.as_str(),
                "VerifyErasure" | "RedactionPending" | "LaterCheck" | "LaterCheckRoute"
            );
        if f.state.starts_with("WaitFor")
            || f.state == "LaterCheckWait"
            || (polling && f.kind == "payload")
        {
            continue;
        }
        let values = out.entry((f.state, f.kind)).or_default();
        if polling {
            values.clear();
        }
        values.push(masked(&f.data));
    }
    for values in out.values_mut() {
        values.sort_by_key(Value::to_string);
    }
    out
}

/// Where two data flows differ, state by state.
pub fn flow_differences(
    moto: &BTreeMap<(String, &'static str), Vec<Value>>,
    ours: &BTreeMap<(String, &'static str), Vec<Value>>,
) -> Vec<String> {
    let keys: BTreeSet<&(String, &'static str)> = moto.keys().chain(ours.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        let a = Value::from(moto.get(k).cloned().unwrap_or_default());
        let b = Value::from(ours.get(k).cloned().unwrap_or_default());
        out.extend(
            differences(&a, &b)
                .into_iter()
                .map(|d| format!("{} {}{d}", k.0, k.1)),
        );
    }
    out
}
