//! A real process behind the Lambda Runtime API: the Python runtime the bench uses
//! (`bench/guide-step/bootstrap`) with the test function in `tests/fixtures/python`.
//! (The Rust side, a `lambda_runtime` binary, is tested in `crates/lambda-samples`.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use local_runner::lambda_process::Output;
use local_runner::{Definition, LambdaProcess, LambdaProcessBuilder, Outcome, Resources, Runner};
use serde_json::{Value, json};

/// The interpreter itself, not a version manager's shim: the function's environment
/// is Lambda's clean one, in which a shim may not find its way.
fn python() -> PathBuf {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap_or_else(|e| panic!("these tests run a Python function: install python3 ({e})"));
    assert!(out.status.success(), "python3 does not run");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn function(handler: &str) -> LambdaProcessBuilder {
    LambdaProcess::builder(python())
        .args([repo().join("bench/guide-step/bootstrap")])
        .handler(handler)
        .task_root(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python"))
        .function_name("behaviours")
        // Lambda's task root is read-only: no bytecode cache is written there either.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output(Output::Capture)
}

fn behaviours() -> LambdaProcess {
    function("behaviours.handler").build().unwrap()
}

/// Whether `pid` is gone (reaped) or a zombie about to be.
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Err(_) => true,
        Ok(s) => s
            .lines()
            .any(|l| l.starts_with("State:") && l.contains('Z')),
    }
}

/// Polls (never times) until `pid` is gone; the bound only turns a hang into a failure.
async fn wait_until_gone(pid: u32) -> bool {
    for _ in 0..1000 {
        if process_gone(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn python_function_answers_with_the_lambda_environment_and_headers() {
    let f = function("behaviours.handler")
        .env("GENESYS_BASE_URL", "http://127.0.0.1:1")
        .account("eu-west-1", "111122223333")
        .memory_mb(256)
        .build()
        .unwrap();
    let invocation = f.invoke_measured(&json!({"echo": "hello"}), None).await;
    let out = invocation.result.unwrap();
    assert_eq!(out["echo"], "hello");
    assert_eq!(out["requestId"], json!(invocation.record.request_id));
    assert_eq!(
        out["functionArn"],
        "arn:aws:lambda:eu-west-1:111122223333:function:behaviours"
    );
    assert!(out["deadlineMs"].as_u64().unwrap() > 1_600_000_000_000);
    assert!(out["traceId"].as_str().unwrap().starts_with("Root=1-"));
    let env = &out["env"];
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "behaviours");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_REGION"], "eu-west-1");
    assert_eq!(env["_HANDLER"], "behaviours.handler");
    assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/behaviours");
    assert!(
        env["AWS_LAMBDA_RUNTIME_API"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    // The function's configuration is passed on; this process's environment is not.
    assert!(env.get("CARGO_MANIFEST_DIR").is_none());
    let record = &invocation.record;
    assert!(record.cold);
    assert!(record.init.is_some() && record.duration.is_some());
    assert!(record.peak_rss_kib.unwrap() > 1024, "{record:?}");
    assert_eq!(record.error, None);
}

#[tokio::test]
async fn an_exception_is_named_by_its_class_and_the_error_document_is_the_cause() {
    let f = behaviours();
    let error = f
        .invoke_measured(&json!({"raise": "503 from Genesys"}), None)
        .await
        .result
        .unwrap_err();
    assert_eq!(error.error, "GenesysTransient");
    let cause: Value = serde_json::from_str(&error.cause).unwrap();
    assert_eq!(cause["errorType"], "GenesysTransient");
    assert_eq!(cause["errorMessage"], "503 from Genesys");
    assert!(cause["stackTrace"].is_array());
    // A handled error leaves the environment warm.
    let next = f.invoke_measured(&json!({}), None).await;
    assert!(!next.record.cold);
    assert_eq!(next.result.unwrap()["invocation"], 2);
}

#[tokio::test]
async fn a_process_exit_is_runtime_exit_error_and_the_next_invocation_starts_cold() {
    let f = behaviours();
    let crashed = f.invoke_measured(&json!({"exit": 3}), None).await;
    let error = crashed.result.unwrap_err();
    assert_eq!(error.error, "Runtime.ExitError");
    let cause: Value = serde_json::from_str(&error.cause).unwrap();
    assert_eq!(
        cause["errorMessage"],
        json!(format!(
            "RequestId: {} Error: Runtime exited with error: exit status 3",
            crashed.record.request_id
        ))
    );
    let next = f.invoke_measured(&json!({}), None).await;
    assert!(next.record.cold);
    assert_ne!(next.record.pid, crashed.record.pid);
    assert_eq!(next.result.unwrap()["invocation"], 1);
}

#[tokio::test]
async fn a_warm_environment_is_reused_and_only_the_first_invocation_is_cold() {
    let f = behaviours();
    let mut pids = Vec::new();
    for n in 1..=3 {
        let invocation = f.invoke_measured(&json!({}), None).await;
        let out = invocation.result.unwrap();
        assert_eq!(out["invocation"], n);
        pids.push(out["pid"].as_u64().unwrap() as u32);
    }
    assert!(pids.iter().all(|p| *p == pids[0]));
    let records = f.invocations();
    assert_eq!(
        records.iter().map(|r| r.cold).collect::<Vec<_>>(),
        [true, false, false]
    );
    assert!(records[1].init.is_none());
    assert_eq!(f.warm_pids(), vec![pids[0]]);
    f.shutdown().await;
    assert!(process_gone(pids[0]));
    assert!(f.invoke_measured(&json!({}), None).await.record.cold);
}

#[tokio::test]
async fn an_import_failure_is_the_init_error_the_runtime_reports() {
    let f = function("missing_module.handler").build().unwrap();
    let invocation = f.invoke_measured(&json!({}), None).await;
    let error = invocation.result.unwrap_err();
    assert_eq!(error.error, "Runtime.ImportModuleError");
    assert!(
        error
            .cause
            .contains("Unable to import module 'missing_module'")
    );
    assert!(invocation.record.duration.is_none());
    assert!(wait_until_gone(invocation.record.pid).await);
}

#[tokio::test]
async fn a_crash_during_init_is_runtime_exit_error() {
    let f = function("exits_on_import.handler").build().unwrap();
    let error = f
        .invoke_measured(&json!({}), None)
        .await
        .result
        .unwrap_err();
    assert_eq!(error.error, "Runtime.ExitError");
    assert!(error.cause.contains("exit status 2"), "{}", error.cause);
}

#[tokio::test]
async fn a_function_past_its_timeout_is_killed_with_sandbox_timedout() {
    let f = function("behaviours.handler")
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let invocation = f.invoke_measured(&json!({"sleep": 600}), None).await;
    let error = invocation.result.unwrap_err();
    assert_eq!(error.error, "Sandbox.Timedout");
    assert!(
        error.cause.contains("Task timed out after 1.00 seconds"),
        "{}",
        error.cause
    );
    assert!(wait_until_gone(invocation.record.pid).await);
    assert!(f.warm_pids().is_empty());
}

#[tokio::test]
async fn a_program_that_cannot_start_is_an_invalid_entrypoint() {
    let f = LambdaProcess::builder("/nonexistent/bootstrap")
        .build()
        .unwrap();
    let invocation = f.invoke_measured(&json!({}), None).await;
    assert_eq!(
        invocation.result.unwrap_err().error,
        "Runtime.InvalidEntrypoint"
    );
    assert_eq!(invocation.record.pid, 0);
}

#[tokio::test]
async fn dropping_the_function_kills_its_processes_by_pid() {
    let f = behaviours();
    let pid = f.invoke_measured(&json!({}), None).await.record.pid;
    assert!(!process_gone(pid));
    drop(f);
    assert!(wait_until_gone(pid).await, "process {pid} still runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_run_in_separate_environments_of_the_pool() {
    let f = function("behaviours.handler")
        .max_environments(2)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let barrier = tempfile::tempdir().unwrap();
    let event = json!({"barrier": barrier.path(), "count": 2});
    let (a, b) = tokio::join!(
        f.invoke_measured(&event, None),
        f.invoke_measured(&event, None)
    );
    let (a, b) = (a.result.unwrap(), b.result.unwrap());
    assert_ne!(a["pid"], b["pid"]);
    assert_eq!(std::fs::read_dir(barrier.path()).unwrap().count(), 2);
    // A third invocation reuses one of the two warm environments.
    let c = f.invoke_measured(&json!({}), None).await;
    assert!(!c.record.cold);
    assert_eq!(f.warm_pids().len(), 2);
}

#[tokio::test]
async fn a_definition_retries_a_crashed_process_and_succeeds_on_a_cold_start() {
    let definition = Definition::from_value(
        json!({
            "StartAt": "Poll",
            "States": {
                "Poll": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:behaviours",
                    "Parameters": {"exitWhenAttempt": 0, "attempt.$": "$$.State.RetryCount", "echo.$": "$.ticket"},
                    "Retry": [{"ErrorEquals": ["Runtime.ExitError"], "IntervalSeconds": 2, "MaxAttempts": 2}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                    "ResultSelector": {"echo.$": "$.echo", "invocation.$": "$.invocation"},
                    "End": true
                },
                "Failed": {"Type": "Fail", "Error": "Unexpected"}
            }
        }),
        &HashMap::new(),
    )
    .unwrap();
    let f = behaviours();
    let clock = std::sync::Arc::new(clock::VirtualClock::starting_at(chrono::Utc::now()));
    let runner = Runner::builder(definition)
        .resources(Resources::new().function("behaviours", f.handler()))
        .clock(clock)
        .build()
        .unwrap();
    let result = runner.run(json!({"ticket": "DSAR-1"})).await;
    match &result.outcome {
        Outcome::Succeeded(out) => assert_eq!(out, &json!({"echo": "DSAR-1", "invocation": 1})),
        other => panic!("{other:?}"),
    }
    assert_eq!(result.counts.retries, 1);
    let failed: Vec<_> = result
        .history
        .iter()
        .filter(|e| e.kind == "LambdaFunctionFailed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].details["error"], "Runtime.ExitError");
    let records = f.invocations();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r.cold));
}

#[tokio::test]
async fn a_task_timeout_abandons_the_invocation_and_kills_its_process() {
    let definition = Definition::from_value(
        json!({
            "StartAt": "Slow",
            "States": {"Slow": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:behaviours",
                "TimeoutSeconds": 1,
                "End": true
            }}
        }),
        &HashMap::new(),
    )
    .unwrap();
    let f = function("behaviours.handler")
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    // The Task's timeout is watched on the system clock here, as in AWS.
    let runner = Runner::builder(definition)
        .resources(Resources::new().function("behaviours", f.handler()))
        .build()
        .unwrap();
    let result = runner.run(json!({"sleep": 600})).await;
    assert_eq!(result.error().unwrap().error, "States.Timeout");
    // No record: the invocation never ended; its environment is gone from the pool and
    // its process killed (by the time it is reaped, it has left `live_pids`).
    assert!(f.invocations().is_empty());
    assert!(f.warm_pids().is_empty());
    for _ in 0..1000 {
        if f.live_pids().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(f.live_pids(), Vec::<u32>::new());
    // A process that had started printed its pid: it is gone too.
    let pids: Vec<u32> = f
        .captured_output()
        .iter()
        .filter_map(|l| l.strip_prefix("pid ").and_then(|p| p.parse().ok()))
        .collect();
    for pid in pids {
        assert!(process_gone(pid));
    }
}
