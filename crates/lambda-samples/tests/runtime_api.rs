//! The sample functions, built with lambda_runtime, hosted by `LambdaProcess` through
//! the Runtime API: what the crate needs from the environment to start, how its
//! errors reach Step Functions, and the poll sample against the Genesys emulator.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use genesys_emulator::{Dataset, Emulator, RunningEmulator};
use local_runner::lambda_process::Output;
use local_runner::{Definition, LambdaProcess, LambdaProcessBuilder, Resources, Runner};
use serde_json::{Value, json};

fn behaviours() -> LambdaProcessBuilder {
    LambdaProcess::builder(env!("CARGO_BIN_EXE_sample-behaviours"))
        .function_name("behaviours")
        .output(Output::Capture)
}

fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Err(_) => true,
        Ok(s) => s
            .lines()
            .any(|l| l.starts_with("State:") && l.contains('Z')),
    }
}

#[tokio::test]
async fn lambda_runtime_starts_with_the_environment_lambda_gives_it() {
    let f = behaviours()
        .memory_mb(512)
        .account("eu-west-1", "111122223333")
        .build()
        .unwrap();
    let invocation = f.invoke_measured(&json!({"echo": 1}), None).await;
    let out = invocation.result.unwrap();
    // lambda_runtime panics at start without these; it read them as Lambda sets them.
    assert_eq!(out["functionName"], "behaviours");
    assert_eq!(out["memoryMb"], 512);
    assert_eq!(out["requestId"], json!(invocation.record.request_id));
    assert_eq!(
        out["functionArn"],
        "arn:aws:lambda:eu-west-1:111122223333:function:behaviours"
    );
    assert!(out["traceId"].as_str().unwrap().starts_with("Root=1-"));
    assert!(out["deadlineMs"].as_u64().unwrap() > 1_600_000_000_000);
    assert_eq!(out["env"]["_HANDLER"], "bootstrap");
    assert_eq!(out["env"]["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
    assert!(invocation.record.cold && invocation.record.init.is_some());
}

#[tokio::test]
async fn a_diagnostic_error_type_is_the_error_step_functions_matches() {
    let f = behaviours().build().unwrap();
    let error = f
        .invoke_measured(
            &json!({"fail": {"type": "GenesysRateLimited", "message": "429, retry in 3 s"}}),
            None,
        )
        .await
        .result
        .unwrap_err();
    assert_eq!(error.error, "GenesysRateLimited");
    let cause: Value = serde_json::from_str(&error.cause).unwrap();
    assert_eq!(
        cause,
        json!({"errorType": "GenesysRateLimited", "errorMessage": "429, retry in 3 s"})
    );
}

#[tokio::test]
async fn a_panic_is_reported_under_a_rust_type_name_and_the_process_stays_warm() {
    let f = behaviours().build().unwrap();
    let first = f.invoke_measured(&json!({"panic": "boom"}), None).await;
    let error = first.result.unwrap_err();
    // lambda_runtime catches the panic and posts it as an invocation error, named by
    // a Rust type (which is why handlers return their own Diagnostic, never panic).
    assert!(error.error.contains("Box<dyn core::any::Any"), "{error:?}");
    assert!(
        error.cause.contains("Lambda panicked: asked to panic"),
        "{}",
        error.cause
    );
    let second = f.invoke_measured(&json!({}), None).await;
    assert!(!second.record.cold);
    assert_eq!(second.record.pid, first.record.pid);
}

#[tokio::test]
async fn exit_and_abort_are_runtime_exit_errors_worded_as_lambda_words_them() {
    let f = behaviours().build().unwrap();
    let exited = f.invoke_measured(&json!({"exit": 7}), None).await;
    let error = exited.result.unwrap_err();
    assert_eq!(error.error, "Runtime.ExitError");
    assert!(
        error
            .cause
            .contains("Runtime exited with error: exit status 7")
    );
    let aborted = f.invoke_measured(&json!({"abort": true}), None).await;
    assert!(aborted.record.cold);
    let error = aborted.result.unwrap_err();
    assert_eq!(error.error, "Runtime.ExitError");
    assert!(
        error
            .cause
            .contains("Runtime exited with error: signal: aborted"),
        "{}",
        error.cause
    );
}

#[tokio::test]
async fn a_slow_invocation_times_out_as_sandbox_timedout_and_its_process_is_killed() {
    let f = behaviours()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let invocation = f.invoke_measured(&json!({"sleepMs": 600_000}), None).await;
    assert_eq!(invocation.result.unwrap_err().error, "Sandbox.Timedout");
    for _ in 0..1000 {
        if gone(invocation.record.pid) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(gone(invocation.record.pid));
}

#[tokio::test]
async fn warm_invocations_reuse_the_process_and_peak_rss_follows_what_it_touched() {
    let f = behaviours().build().unwrap();
    let first = f.invoke_measured(&json!({}), None).await;
    let small = first.record.peak_rss_kib.unwrap();
    let second = f.invoke_measured(&json!({"allocateMiB": 64}), None).await;
    assert!(!second.record.cold);
    assert_eq!(second.result.unwrap()["invocation"], 2);
    let large = second.record.peak_rss_kib.unwrap();
    assert!(
        large >= 64 * 1024 && large > small,
        "{small} KiB, then {large} KiB"
    );
}

#[tokio::test]
async fn a_definition_catches_the_function_error_by_its_type() {
    let definition = Definition::from_value(
        json!({
            "StartAt": "Step",
            "States": {
                "Step": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "behaviours", "Payload.$": "$"},
                    "Catch": [{"ErrorEquals": ["InvalidTicket"], "ResultPath": "$.failure", "Next": "Rejected"}],
                    "End": true
                },
                "Rejected": {"Type": "Pass", "End": true}
            }
        }),
        &HashMap::new(),
    )
    .unwrap();
    let f = behaviours().build().unwrap();
    let runner = Runner::builder(definition)
        .resources(Resources::new().function("behaviours", f.handler()))
        .clock(Arc::new(clock::VirtualClock::starting_at(
            chrono::Utc::now(),
        )))
        .build()
        .unwrap();
    let input = json!({"fail": {"type": "InvalidTicket", "message": "signOff missing"}});
    let result = runner.run(input).await;
    let out = result.output().unwrap();
    assert_eq!(out["failure"]["Error"], "InvalidTicket");
    let succeeded = runner.run(json!({"echo": "x"})).await;
    let out = succeeded.output().unwrap();
    assert_eq!(out["StatusCode"], 200);
    assert_eq!(out["Payload"]["echo"], "x");
    assert_eq!(f.invocations().len(), 2);
    assert!(!f.invocations()[1].cold);
}

async fn emulator() -> (RunningEmulator, Arc<clock::VirtualClock>) {
    let ds = Dataset::bundled();
    let clock = Arc::new(clock::VirtualClock::starting_at(ds.as_of));
    let emu = Emulator::builder()
        .dataset(ds)
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    (emu, clock)
}

/// Submits a GDPR_EXPORT for a persona of the bundled dataset; its id.
async fn submit_export(emu: &RunningEmulator) -> String {
    let client = reqwest::Client::new();
    let oauth = emu.oauth_client();
    let token: Value = client
        .post(format!("{}/oauth/token", emu.base_url()))
        .basic_auth(&oauth.client_id, Some(&oauth.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let email = Dataset::bundled()
        .personas
        .iter()
        .find_map(|p| p.email_addresses.first().cloned())
        .unwrap();
    let request: Value = client
        .post(format!("{}/api/v2/gdpr/requests", emu.base_url()))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&json!({"requestType": "GDPR_EXPORT", "subject": {"emailAddresses": [email]}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    request["id"].as_str().unwrap().to_string()
}

fn sample_poll(emu: &RunningEmulator) -> LambdaProcess {
    let oauth = emu.oauth_client();
    LambdaProcess::builder(env!("CARGO_BIN_EXE_sample-poll"))
        .env("GENESYS_BASE_URL", emu.base_url())
        .env("GENESYS_CLIENT_ID", &oauth.client_id)
        .env("GENESYS_CLIENT_SECRET", &oauth.client_secret)
        .output(Output::Capture)
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_poll_sample_reads_the_request_status_with_one_token_and_one_get() {
    let (emu, clock) = emulator().await;
    let id = submit_export(&emu).await;
    let poll = sample_poll(&emu);
    emu.clear_request_log();

    let first = poll.invoke_measured(&json!({"requestId": id}), None).await;
    assert_eq!(
        first.result.unwrap(),
        json!({"requestId": id, "status": "INITIATED"})
    );
    clock.advance(Duration::from_secs(3600));
    let later = poll.invoke_measured(&json!({"requestId": id}), None).await;
    assert_eq!(later.result.unwrap()["status"], "COMPLETED");
    assert!(!later.record.cold);

    let calls: Vec<(String, String, Option<u16>)> = emu
        .request_log()
        .into_iter()
        .map(|r| (r.method, r.path, r.status))
        .collect();
    let token = ("POST".to_string(), "/oauth/token".to_string(), Some(200));
    let get = (
        "GET".to_string(),
        format!("/api/v2/gdpr/requests/{id}"),
        Some(200),
    );
    assert_eq!(calls, vec![token.clone(), get.clone(), token, get]);
}

#[tokio::test]
async fn the_poll_sample_names_its_errors_and_never_quotes_the_request() {
    let (emu, _clock) = emulator().await;
    let poll = sample_poll(&emu);
    let missing = poll
        .invoke_measured(
            &json!({"requestId": "00000000-0000-4000-8000-000000000000"}),
            None,
        )
        .await;
    let error = missing.result.unwrap_err();
    assert_eq!(error.error, "GenesysRejected");
    assert!(!error.cause.contains("00000000"), "{}", error.cause);
    let bad = poll
        .invoke_measured(&json!({"requestId": "../users"}), None)
        .await;
    assert_eq!(bad.result.unwrap_err().error, "InvalidInput");
}

#[tokio::test]
async fn the_poll_sample_without_configuration_exits_during_init() {
    let f = LambdaProcess::builder(env!("CARGO_BIN_EXE_sample-poll"))
        .output(Output::Capture)
        .build()
        .unwrap();
    let invocation = f.invoke_measured(&json!({"requestId": "x"}), None).await;
    let error = invocation.result.unwrap_err();
    assert_eq!(error.error, "Runtime.ExitError");
    assert!(error.cause.contains("exit status 1"), "{}", error.cause);
    assert!(invocation.record.init.is_none());
    assert!(
        f.captured_output()
            .iter()
            .any(|l| l.contains("GENESYS_BASE_URL is not set")),
        "{:?}",
        f.captured_output()
    );
}
