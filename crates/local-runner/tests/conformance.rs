//! The conformance suite: every `tests/conformance/*.json` is one small definition
//! with its input, the behaviour of its handlers, and what Step Functions would do.
//!
//! Fixture keys:
//! - `definition`, `input` (default `{}`), `substitutions` (default none);
//! - `handlers`: function name, ARN or `state:<StateName>` -> list of steps; the
//!   n-th invocation uses step n (the last step repeats). A step is one of
//!   `{"return": v}`, `{"returnStringOfBytes": n}`, `{"echo": true}`, `{"throw": {"Error", "Cause"}}`,
//!   `{"succeedToken": v}`, `{"failToken": {"Error", "Cause"}}`, `{"noCallback": true}`,
//!   optionally with `"sleep": seconds` first (on the virtual clock) and `"later"`:
//!   actions a spawned task runs after the handler returns
//!   (`{"after": s, "heartbeat": true}`, `{"after": s, "succeed": v}`);
//! - `expect`: `output` | `error` (+ `cause` or `causeContains`) | `loadError`
//!   (substring of `path: message`), and optionally `elapsedSeconds`, `counts`
//!   (a subset), `events` (the exact type sequence), `eventsInclude`,
//!   `invocationTimes` (seconds after the start, per handler), `maxInFlight`,
//!   `invocationInputs` (per handler), `uuidLike` (paths in the output that hold UUIDs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use clock::{Clock, VirtualClock};
use local_runner::{Definition, Resources, Runner, TaskError, handler_fn};
use serde_json::{Value, json};

fn t0() -> DateTime<Utc> {
    "2026-01-01T00:00:00Z".parse().expect("valid timestamp")
}

#[derive(Default)]
struct Observed {
    invocations: HashMap<String, Vec<f64>>,
    inputs: HashMap<String, Vec<Value>>,
    in_flight: HashMap<String, (u64, u64)>,
}

fn handler_for(
    key: String,
    steps: Vec<Value>,
    clock: Arc<VirtualClock>,
    observed: Arc<Mutex<Observed>>,
) -> local_runner::SharedHandler {
    let calls = Arc::new(Mutex::new(0usize));
    handler_fn(move |input: Value, ctx: local_runner::TaskContext| {
        let (key, steps, clock, observed, calls) = (
            key.clone(),
            steps.clone(),
            clock.clone(),
            observed.clone(),
            calls.clone(),
        );
        async move {
            let n = {
                let mut c = calls.lock().unwrap();
                *c += 1;
                *c - 1
            };
            let step = steps[n.min(steps.len() - 1)].clone();
            {
                let mut o = observed.lock().unwrap();
                let at = (clock.now() - t0()).as_seconds_f64();
                o.invocations.entry(key.clone()).or_default().push(at);
                o.inputs.entry(key.clone()).or_default().push(input.clone());
                let f = o.in_flight.entry(key.clone()).or_default();
                f.0 += 1;
                f.1 = f.1.max(f.0);
            }
            if let Some(s) = step.get("sleep").and_then(Value::as_f64) {
                clock.sleep(Duration::from_secs_f64(s)).await;
            }
            observed.lock().unwrap().in_flight.get_mut(&key).unwrap().0 -= 1;
            if let Some(later) = step.get("later").and_then(Value::as_array).cloned() {
                let token = ctx.task_token.clone().expect("later needs a task token");
                let (clock, ctx) = (clock.clone(), ctx.clone());
                tokio::spawn(async move {
                    for action in later {
                        let after = action["after"].as_f64().unwrap_or(0.0);
                        clock.sleep(Duration::from_secs_f64(after)).await;
                        if action.get("heartbeat").is_some() {
                            let _ = ctx.send_task_heartbeat(&token);
                        }
                        if let Some(v) = action.get("succeed") {
                            let _ = ctx.send_task_success(&token, v.clone());
                        }
                    }
                });
            }
            let token = || ctx.task_token.clone().expect("step needs a task token");
            if let Some(v) = step.get("return") {
                Ok(v.clone())
            } else if let Some(n) = step.get("returnStringOfBytes").and_then(Value::as_u64) {
                Ok(Value::String("x".repeat(n as usize)))
            } else if step.get("echo").is_some() {
                Ok(input)
            } else if let Some(t) = step.get("throw") {
                Err(TaskError::new(
                    t["Error"].as_str().unwrap_or_default(),
                    t["Cause"].as_str().unwrap_or_default(),
                ))
            } else if let Some(v) = step.get("succeedToken") {
                ctx.send_task_success(&token(), v.clone()).unwrap();
                Ok(json!({}))
            } else if let Some(t) = step.get("failToken") {
                ctx.send_task_failure(
                    &token(),
                    t["Error"].as_str().unwrap_or_default(),
                    t["Cause"].as_str().unwrap_or_default(),
                )
                .unwrap();
                Ok(json!({}))
            } else if step.get("noCallback").is_some() || step.get("later").is_some() {
                Ok(json!({}))
            } else {
                panic!("unknown handler step {step}")
            }
        }
    })
}

/// Runs one fixture; returns what differs from the expectation.
async fn run_fixture(name: &str, fixture: &Value) -> Result<(), String> {
    let expect = &fixture["expect"];
    let subs: HashMap<String, String> = fixture
        .get("substitutions")
        .map(|s| serde_json::from_value(s.clone()).expect("substitutions are strings"))
        .unwrap_or_default();
    let clock = Arc::new(VirtualClock::starting_at(t0()));
    let observed = Arc::new(Mutex::new(Observed::default()));
    let mut resources = Resources::new();
    if let Some(Value::Object(handlers)) = fixture.get("handlers") {
        for (key, steps) in handlers {
            let steps = steps.as_array().cloned().expect("handler steps are a list");
            let h = handler_for(key.clone(), steps, clock.clone(), observed.clone());
            resources = match key.strip_prefix("state:") {
                Some(state) => resources.state(state, h),
                None => resources.function(key.clone(), h),
            };
        }
    }
    let loaded = Definition::from_value(fixture["definition"].clone(), &subs).and_then(|d| {
        Runner::builder(d)
            .resources(resources)
            .clock(clock.clone())
            .seed(7)
            .state_machine_name("Conformance")
            .build()
    });
    let runner = match (loaded, expect.get("loadError")) {
        (Err(e), Some(want)) => {
            let want = want.as_str().unwrap_or_default();
            return if e.to_string().contains(want) {
                Ok(())
            } else {
                Err(format!("load error '{e}' does not contain '{want}'"))
            };
        }
        (Err(e), None) => return Err(format!("refused at load: {e}")),
        (Ok(_), Some(want)) => return Err(format!("loaded, but expected the load error '{want}'")),
        (Ok(r), None) => r,
    };
    let input = fixture.get("input").cloned().unwrap_or_else(|| json!({}));
    let result = tokio::time::timeout(Duration::from_secs(20), runner.run(input))
        .await
        .map_err(|_| "did not finish within 20 s of real time".to_string())?;
    let mut problems = Vec::new();
    match (&result.outcome, expect.get("output"), expect.get("error")) {
        (local_runner::Outcome::Succeeded(out), Some(want), _) => {
            let mut out = out.clone();
            if let Some(Value::Array(paths)) = expect.get("uuidLike") {
                for p in paths {
                    let p = p.as_str().unwrap_or_default();
                    match out.pointer_mut(p) {
                        Some(v) if v.as_str().is_some_and(uuid_like) => *v = json!("<uuid>"),
                        other => problems.push(format!("{p} is not a UUID: {other:?}")),
                    }
                }
            }
            if &out != want {
                problems.push(format!("output {} != expected {want}", short(&out)));
            }
        }
        (local_runner::Outcome::Failed(e), None, Some(want)) => {
            if e.error != want.as_str().unwrap_or_default() {
                problems.push(format!(
                    "error '{}' != expected '{want}' (cause: {})",
                    e.error, e.cause
                ));
            }
            if let Some(c) = expect.get("cause").and_then(Value::as_str)
                && e.cause != c
            {
                problems.push(format!("cause '{}' != expected '{c}'", e.cause));
            }
            if let Some(c) = expect.get("causeContains").and_then(Value::as_str)
                && !e.cause.contains(c)
            {
                problems.push(format!("cause '{}' does not contain '{c}'", e.cause));
            }
        }
        (outcome, _, _) => problems.push(format!(
            "unexpected outcome {}",
            short(&format!("{outcome:?}"))
        )),
    }
    if let Some(want) = expect.get("elapsedSeconds").and_then(Value::as_f64) {
        let got = result.elapsed().as_seconds_f64();
        if (got - want).abs() > 1e-6 {
            problems.push(format!("elapsed {got} s != expected {want} s"));
        }
    }
    if let Some(Value::Object(want)) = expect.get("counts") {
        let got = serde_json::to_value(result.counts).expect("counts serialise");
        for (k, v) in want {
            if got.get(k) != Some(v) {
                problems.push(format!("count {k} = {:?}, expected {v}", got.get(k)));
            }
        }
    }
    let kinds: Vec<String> = result.history.iter().map(|e| e.kind.clone()).collect();
    if let Some(want) = expect.get("events") {
        let want: Vec<String> = serde_json::from_value(want.clone()).expect("event list");
        if kinds != want {
            problems.push(format!("events {kinds:?} != expected {want:?}"));
        }
    }
    if let Some(Value::Array(want)) = expect.get("eventsInclude") {
        for w in want {
            if !kinds.iter().any(|k| Some(k.as_str()) == w.as_str()) {
                problems.push(format!("no {w} event in {kinds:?}"));
            }
        }
    }
    let observed = observed.lock().unwrap();
    if let Some(Value::Object(want)) = expect.get("invocationTimes") {
        for (k, v) in want {
            let got = json!(observed.invocations.get(k).cloned().unwrap_or_default());
            if !same_numbers(&got, v) {
                problems.push(format!("{k} invoked at {got}, expected {v}"));
            }
        }
    }
    if let Some(Value::Object(want)) = expect.get("invocationInputs") {
        for (k, v) in want {
            let got = json!(observed.inputs.get(k).cloned().unwrap_or_default());
            if &got != v {
                problems.push(format!("{k} received {got}, expected {v}"));
            }
        }
    }
    if let Some(Value::Object(want)) = expect.get("maxInFlight") {
        for (k, v) in want {
            let got = observed.in_flight.get(k).map(|f| f.1).unwrap_or(0);
            if Some(got) != v.as_u64() {
                problems.push(format!("{k} peaked at {got} in flight, expected {v}"));
            }
        }
    }
    // Every fixture also proves the history is well formed.
    for (i, e) in result.history.iter().enumerate() {
        if e.id != i as u64 + 1 || e.previous_event_id >= e.id {
            problems.push(format!(
                "event {i} has id {} / previous {}",
                e.id, e.previous_event_id
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{name}:\n  {}", problems.join("\n  ")))
    }
}

/// Keeps failure messages readable when an output is large.
fn short(v: &dyn std::fmt::Display) -> String {
    let text = v.to_string();
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}... ({} bytes)", &text[..i], text.len()),
        None => text,
    }
}

fn same_numbers(a: &Value, b: &Value) -> bool {
    match (a.as_array(), b.as_array()) {
        (Some(x), Some(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|(p, q)| {
                    (p.as_f64().unwrap_or(f64::NAN) - q.as_f64().unwrap_or(f64::NAN)).abs() < 1e-6
                })
        }
        _ => false,
    }
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

// One thread: a handler's spawned `later` callbacks then run only once the execution
// waits for them, so virtual timings are exact and the suite is deterministic.
#[tokio::test]
async fn every_conformance_fixture_behaves_as_step_functions_does() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/conformance exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 60, "only {} fixtures", files.len());
    let only = std::env::var("FIXTURE").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for path in &files {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let text = std::fs::read_to_string(path).expect("readable fixture");
        let fixture: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        ran += 1;
        if let Err(problem) = run_fixture(&name, &fixture).await {
            failures.push(if problem.starts_with(&format!("{name}:")) {
                problem
            } else {
                format!("{name}: {problem}")
            });
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} fixtures failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
