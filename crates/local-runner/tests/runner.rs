//! Behaviour of the runner as a library: long waits on the virtual clock, many
//! concurrent executions, callbacks from outside, reproducible jitter, mocks.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use clock::VirtualClock;
use local_runner::mock::MockConfig;
use local_runner::{CallbackError, Definition, Outcome, Resources, Runner, StartError, handler_fn};
use serde_json::{Value, json};

fn t0() -> DateTime<Utc> {
    "2026-03-01T08:00:00Z".parse().unwrap()
}

fn load(v: Value) -> Definition {
    Definition::from_value(v, &HashMap::new()).unwrap()
}

fn virtual_clock() -> Arc<VirtualClock> {
    Arc::new(VirtualClock::starting_at(t0()))
}

#[tokio::test]
async fn ten_hour_wait_takes_ten_virtual_hours() {
    let def = load(
        json!({"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 36000, "End": true}}}),
    );
    let runner = Runner::builder(def).clock(virtual_clock()).build().unwrap();
    let result = runner.run(json!({"ticket": "DSAR-1"})).await;
    assert_eq!(result.output(), Some(&json!({"ticket": "DSAR-1"})));
    assert_eq!(result.elapsed(), TimeDelta::hours(10));
}

/// 20 states: Pass, then alternating Tasks and Choices, ending in Succeed.
fn twenty_states() -> Definition {
    let mut states = serde_json::Map::new();
    states.insert(
        "S0".into(),
        json!({"Type": "Pass", "Parameters": {"n.$": "$.n", "steps": 0}, "Next": "S1"}),
    );
    for i in 1..19 {
        let next = format!("S{}", i + 1);
        let state = if i % 2 == 1 {
            json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:step",
                   "Retry": [{"ErrorEquals": ["States.ALL"]}], "Next": next})
        } else {
            json!({"Type": "Choice", "Choices": [{"Variable": "$.steps", "NumericGreaterThanEquals": 0, "Next": next}]})
        };
        states.insert(format!("S{i}"), state);
    }
    states.insert("S19".into(), json!({"Type": "Succeed"}));
    load(json!({"StartAt": "S0", "States": states}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_executions_of_twenty_states_all_succeed() {
    let step = handler_fn(|mut input: Value, _ctx| async move {
        let steps = input["steps"].as_u64().unwrap_or(0);
        input["steps"] = json!(steps + 1);
        Ok(input)
    });
    let runner = Runner::builder(twenty_states())
        .resources(Resources::new().function("step", step))
        .clock(virtual_clock())
        .build()
        .unwrap();
    let executions: Vec<_> = (0..1000)
        .map(|n| {
            runner
                .start_named(&format!("exec-{n}"), json!({"n": n}))
                .unwrap()
        })
        .collect();
    let mut succeeded = 0;
    for (n, e) in executions.iter().enumerate() {
        let r = e.wait().await;
        assert_eq!(
            r.output(),
            Some(&json!({"n": n, "steps": 9})),
            "{}",
            e.name()
        );
        assert_eq!(r.counts.state_transitions, 20);
        succeeded += 1;
    }
    assert_eq!(succeeded, 1000);
}

fn approval_definition() -> Definition {
    load(json!({"StartAt": "Await", "States": {"Await": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "notify-dpo", "Payload": {"token.$": "$$.Task.Token"}},
        "TimeoutSeconds": 86400, "End": true}}}))
}

async fn pending_token(e: &local_runner::Execution) -> String {
    for _ in 0..1000 {
        if let Some(t) = e.pending_task_tokens().first() {
            return t.token.clone();
        }
        tokio::task::yield_now().await;
    }
    panic!("no task token became pending");
}

#[tokio::test]
async fn a_paused_execution_resumes_when_the_caller_sends_success() {
    let notified = Arc::new(AtomicUsize::new(0));
    let n = notified.clone();
    let notify = handler_fn(move |_input, _ctx| {
        n.fetch_add(1, Ordering::SeqCst);
        async { Ok(json!({"sent": true})) }
    });
    let runner = Runner::builder(approval_definition())
        .resources(Resources::new().function("notify-dpo", notify))
        .clock(virtual_clock())
        .build()
        .unwrap();
    let e = runner.start_named("DSAR-7", json!({})).unwrap();
    let token = pending_token(&e).await;
    assert!(e.is_running());
    assert_eq!(notified.load(Ordering::SeqCst), 1);
    runner
        .send_task_success(&token, json!({"decision": "proceed"}))
        .unwrap();
    let r = e.wait().await;
    assert_eq!(r.output(), Some(&json!({"decision": "proceed"})));
    // The token is spent: a second callback is refused as Step Functions refuses it.
    assert_eq!(
        runner.send_task_failure(&token, "Late", ""),
        Err(CallbackError::TaskDoesNotExist)
    );
    assert_eq!(
        runner.send_task_success("forged", json!(1)),
        Err(CallbackError::InvalidToken)
    );
}

#[tokio::test]
async fn a_paused_execution_fails_when_the_caller_sends_failure() {
    let runner = Runner::builder(approval_definition())
        .resources(
            Resources::new().function("notify-dpo", handler_fn(|_i, _c| async { Ok(json!({})) })),
        )
        .clock(virtual_clock())
        .build()
        .unwrap();
    let e = runner.start(json!({}));
    let token = pending_token(&e).await;
    runner.send_task_heartbeat(&token).unwrap();
    runner
        .send_task_failure(&token, "Rejected", "the DPO rejected the erasure")
        .unwrap();
    let r = e.wait().await;
    assert_eq!(
        r.outcome,
        Outcome::Failed(local_runner::StateError {
            error: "Rejected".into(),
            cause: "the DPO rejected the erasure".into()
        })
    );
}

#[tokio::test]
async fn a_timed_out_token_refuses_late_callbacks() {
    let clock = virtual_clock();
    let runner = Runner::builder(approval_definition())
        .resources(
            Resources::new().function("notify-dpo", handler_fn(|_i, _c| async { Ok(json!({})) })),
        )
        .clock(clock.clone())
        .build()
        .unwrap();
    let e = runner.start(json!({}));
    let token = pending_token(&e).await;
    // A day and a second passes without a decision.
    clock.advance(Duration::from_secs(86401));
    let r = e.wait().await;
    assert_eq!(r.error().map(|e| e.error.as_str()), Some("States.Timeout"));
    assert_eq!(
        runner.send_task_success(&token, json!({})),
        Err(CallbackError::TaskTimedOut)
    );
}

#[tokio::test]
async fn one_execution_can_resume_another() {
    // Execution A waits; execution B's task calls SendTaskSuccess with A's token.
    let def = load(json!({"StartAt": "Route", "States": {
        "Route": {"Type": "Choice", "Choices": [{"Variable": "$.role", "StringEquals": "approver", "Next": "Approve"}], "Default": "Await"},
        "Await": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                  "Parameters": {"FunctionName": "park", "Payload": {"token.$": "$$.Task.Token"}}, "End": true},
        "Approve": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:approve", "End": true}}}));
    let approve = handler_fn(|input: Value, ctx: local_runner::TaskContext| async move {
        let token = input["token"].as_str().unwrap_or_default().to_string();
        ctx.send_task_success(&token, json!({"approvedBy": ctx.execution_name}))
            .map_err(|e| local_runner::TaskError::new("CallbackRefused", e.to_string()))?;
        Ok(json!("approved"))
    });
    let runner = Runner::builder(def)
        .resources(
            Resources::new()
                .function("park", handler_fn(|_i, _c| async { Ok(json!({})) }))
                .function("approve", approve),
        )
        .clock(virtual_clock())
        .build()
        .unwrap();
    let waiting = runner
        .start_named("waiting", json!({"role": "subject"}))
        .unwrap();
    let token = pending_token(&waiting).await;
    let approver = runner
        .start_named("approver", json!({"role": "approver", "token": token}))
        .unwrap();
    assert_eq!(approver.wait().await.output(), Some(&json!("approved")));
    assert_eq!(
        waiting.wait().await.output(),
        Some(&json!({"approvedBy": "approver"}))
    );
}

#[tokio::test]
async fn execution_names_are_used_once() {
    let def =
        load(json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": true}}}));
    let runner = Runner::builder(def).clock(virtual_clock()).build().unwrap();
    let first = runner
        .start_named("DSAR-2026-0042", json!({"a": 1}))
        .unwrap();
    assert!(matches!(
        runner.start_named("DSAR-2026-0042", json!({"a": 2})),
        Err(StartError::ExecutionAlreadyExists(_))
    ));
    first.wait().await;
    assert!(matches!(
        runner.start_named("DSAR-2026-0042", json!({"a": 1})),
        Err(StartError::ExecutionAlreadyExists(_))
    ));
    assert!(matches!(
        runner.start_named("has space", json!({})),
        Err(StartError::InvalidName(_))
    ));
    assert_eq!(
        first.id(),
        "arn:aws:states:us-east-1:123456789012:execution:StateMachine:DSAR-2026-0042"
    );
}

async fn jitter_run(seed: u64) -> Vec<f64> {
    let def = load(json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 8, "MaxAttempts": 4, "JitterStrategy": "FULL"}],
        "End": true}}}));
    let clock = virtual_clock();
    let times = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (c, t) = (clock.clone(), times.clone());
    let f = handler_fn(move |_i, _ctx| {
        t.lock()
            .unwrap()
            .push((clock::Clock::now(c.as_ref()) - t0()).as_seconds_f64());
        async { Err::<Value, _>(local_runner::TaskError::new("Flaky", "")) }
    });
    let runner = Runner::builder(def)
        .resources(Resources::new().function("f", f))
        .clock(clock)
        .seed(seed)
        .build()
        .unwrap();
    runner
        .start_named("same-name", json!({}))
        .unwrap()
        .wait()
        .await;

    times.lock().unwrap().clone()
}

#[tokio::test]
async fn full_jitter_is_reproducible_and_within_the_backoff() {
    let a = jitter_run(42).await;
    let b = jitter_run(42).await;
    let c = jitter_run(43).await;
    assert_eq!(a, b, "same seed, same waits");
    assert_ne!(a, c, "another seed, other waits");
    assert_eq!(a.len(), 5);
    let caps = [8.0, 16.0, 32.0, 64.0];
    for (i, cap) in caps.iter().enumerate() {
        let wait = a[i + 1] - a[i];
        assert!(
            (0.0..=*cap).contains(&wait),
            "retry {i} waited {wait}, cap {cap}"
        );
    }
    // Without jitter the waits would sum to 120 s; full jitter shortens them.
    assert!(a[4] < 120.0);
}

const MOCK_DEFINITION: &str = r#"{"StartAt": "Locate", "States": {
  "Locate": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:locate",
             "Retry": [{"ErrorEquals": ["GenesysTransient"], "IntervalSeconds": 2, "MaxAttempts": 3}], "Next": "Poll"},
  "Poll": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "poll", "Payload.$": "$"},
           "OutputPath": "$.Payload", "Next": "Done?"},
  "Done?": {"Type": "Choice", "Choices": [{"Variable": "$.status", "StringEquals": "COMPLETED", "Next": "Approve"}], "Default": "Wait"},
  "Wait": {"Type": "Wait", "SecondsPath": "$.waitSeconds", "Next": "Poll"},
  "Approve": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
              "Parameters": {"FunctionName": "ask", "Payload": {"t.$": "$$.Task.Token"}}, "End": true}}}"#;

const MOCK_CONFIG: &str = r#"{
  "StateMachines": {"Erasure": {"TestCases": {
    "HappyPath": {"Locate": "LocateFlaky", "Poll": "PollTwiceThenDone", "Approve": "Approved"},
    "Rejected": {"Locate": "LocateFlaky", "Poll": "PollTwiceThenDone", "Approve": "RejectedByDpo"}}}},
  "MockedResponses": {
    "LocateFlaky": {"0-1": {"Throw": {"Error": "GenesysTransient", "Cause": "503"}}, "2": {"Return": {"requestId": "r-1"}}},
    "PollTwiceThenDone": {
      "0-1": {"Return": {"StatusCode": 200, "Payload": {"status": "SEARCHING", "waitSeconds": 30}}},
      "2": {"Return": {"StatusCode": 200, "Payload": {"status": "COMPLETED"}}}},
    "Approved": {"0": {"Return": {"decision": "proceed"}}},
    "RejectedByDpo": {"0": {"Throw": {"Error": "Rejected", "Cause": "DPO said no"}}}}}"#;

async fn run_mock(case: &str) -> local_runner::ExecutionResult {
    let mocks = MockConfig::from_json_str(MOCK_CONFIG).unwrap();
    let machine = mocks.state_machine(None).unwrap().to_string();
    let runner =
        Runner::builder(Definition::from_json_str(MOCK_DEFINITION, &HashMap::new()).unwrap())
            .resources(mocks.resources(&machine, case).unwrap())
            .state_machine_name(machine)
            .clock(virtual_clock())
            .build()
            .unwrap();
    runner.run(json!({"ticket": "DSAR-1"})).await
}

#[tokio::test]
async fn mocked_responses_follow_the_invocation_index_retries_included() {
    let r = run_mock("HappyPath").await;
    assert_eq!(r.output(), Some(&json!({"decision": "proceed"})));
    // Locate: 2 failures retried at +2 s and +4 s; Poll: three polls 30 s apart.
    assert_eq!(r.elapsed(), TimeDelta::seconds(6 + 60));
    assert_eq!(r.counts.retries, 2);
    assert_eq!(r.counts.task_invocations, 3 + 3 + 1);
    let r = run_mock("Rejected").await;
    assert_eq!(
        r.error().map(|e| (e.error.as_str(), e.cause.as_str())),
        Some(("Rejected", "DPO said no"))
    );
}

#[test]
fn bad_mock_files_are_refused_with_the_field() {
    let e = MockConfig::from_json_str(
        r#"{"StateMachines": {"M": {"TestCases": {"C": {"S": "Nope"}}}}, "MockedResponses": {}}"#,
    )
    .unwrap_err();
    assert_eq!(e.path, "StateMachines.M.TestCases.C.S");
    let e = MockConfig::from_json_str(
        r#"{"StateMachines": {}, "MockedResponses": {"R": {"x-1": {"Return": 1}}}}"#,
    )
    .unwrap_err();
    assert_eq!(e.path, "MockedResponses.R.x-1");
    let e = MockConfig::from_json_str(
        r#"{"StateMachines": {}, "MockedResponses": {"R": {"0": {"Return": 1, "Throw": {}}}}}"#,
    )
    .unwrap_err();
    assert!(e.message.contains("exactly one of Return or Throw"), "{e}");
    let e = MockConfig::from_json_str(r#"{"StateMachines": {}, "MockedResponses": {"R": {"0-2": {"Return": 1}, "2": {"Return": 2}}}}"#)
        .unwrap_err();
    assert!(e.message.contains("overlaps"), "{e}");
}

#[tokio::test]
async fn a_panicking_handler_fails_its_task_not_the_runner() {
    let def = load(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:crash",
              "Catch": [{"ErrorEquals": ["Lambda.Unknown"], "Next": "Recovered"}], "Next": "Recovered"},
        "Recovered": {"Type": "Pass", "Parameters": {"error.$": "$.Error", "cause.$": "$.Cause"}, "End": true}}}));
    let crash = handler_fn(|_i: Value, _c| async move {
        if true {
            panic!("index out of bounds");
        }
        Ok(json!(null))
    });
    let runner = Runner::builder(def)
        .resources(Resources::new().function("crash", crash))
        .clock(virtual_clock())
        .build()
        .unwrap();
    let r = runner.run(json!({})).await;
    assert_eq!(
        r.output(),
        Some(
            &json!({"error": "Lambda.Unknown", "cause": "The handler panicked: index out of bounds"})
        )
    );
}
