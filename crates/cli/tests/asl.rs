//! `gdpr-erasure asl run` as a person runs it: the built binary, files on disk,
//! exit codes 0 (succeeded), 1 (execution failed), 2 (cannot run).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

const DEFINITION: &str = r#"{
  "Comment": "Locate, poll until done, ask the DPO, then erase",
  "StartAt": "Locate",
  "States": {
    "Locate": {"Type": "Task", "Resource": "${LocateArn}",
               "Retry": [{"ErrorEquals": ["GenesysTransient"], "IntervalSeconds": 2, "MaxAttempts": 3}], "ResultPath": "$.locate", "Next": "Poll"},
    "Poll": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
             "Parameters": {"FunctionName": "poll", "Payload.$": "$.locate"}, "ResultSelector": {"status.$": "$.Payload.status", "waitSeconds.$": "$.Payload.waitSeconds"},
             "ResultPath": "$.poll", "Next": "Done?"},
    "Done?": {"Type": "Choice", "Choices": [{"Variable": "$.poll.status", "StringEquals": "COMPLETED", "Next": "AwaitDecision"}], "Default": "Wait"},
    "Wait": {"Type": "Wait", "SecondsPath": "$.poll.waitSeconds", "Next": "Poll"},
    "AwaitDecision": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                      "Parameters": {"FunctionName": "ask-dpo", "Payload": {"token.$": "$$.Task.Token"}}, "ResultPath": "$.decision",
                      "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.rejection", "Next": "Rejected"}], "Next": "Erased"},
    "Rejected": {"Type": "Fail", "Error": "ErasureRejected", "CausePath": "$.rejection.Cause"},
    "Erased": {"Type": "Succeed", "OutputPath": "$.decision"}
  }
}"#;

const MOCKS: &str = r#"{
  "StateMachines": {"Erasure": {"TestCases": {
    "HappyPath": {"Locate": "LocateAfterTwoFailures", "Poll": "PollTwiceThenDone", "AwaitDecision": "Approved"},
    "Rejected": {"Locate": "LocateAfterTwoFailures", "Poll": "PollTwiceThenDone", "AwaitDecision": "RejectedByDpo"},
    "NoPollMock": {"Locate": "LocateAfterTwoFailures", "AwaitDecision": "Approved"}}}},
  "MockedResponses": {
    "LocateAfterTwoFailures": {"0-1": {"Throw": {"Error": "GenesysTransient", "Cause": "503"}}, "2": {"Return": {"requestId": "r-1"}}},
    "PollTwiceThenDone": {"0-1": {"Return": {"StatusCode": 200, "Payload": {"status": "SEARCHING", "waitSeconds": 30}}},
                          "2": {"Return": {"StatusCode": 200, "Payload": {"status": "COMPLETED", "waitSeconds": 0}}}},
    "Approved": {"0": {"Return": {"decision": "proceed", "by": "dpo@example.com"}}},
    "RejectedByDpo": {"0": {"Throw": {"Error": "Rejected", "Cause": "held for litigation"}}}}
}"#;

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        let f = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        f.write("erasure.asl.json", DEFINITION);
        f.write("mocks.json", MOCKS);
        f.write("input.json", r#"{"ticket": {"id": "DSAR-2026-0042"}}"#);
        f
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn asl_run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gdpr-erasure"))
        .current_dir(dir)
        .args(["asl", "run"])
        .args(args)
        .output()
        .unwrap()
}

const LOCATE: &str =
    "--substitution=LocateArn=arn:aws:lambda:eu-west-1:123456789012:function:locate";

fn stdout_json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

#[test]
fn a_successful_execution_prints_its_output_and_exits_0() {
    let f = Files::new();
    let o = asl_run(
        f.dir.path(),
        &[
            "erasure.asl.json",
            "--input",
            "input.json",
            "--mock-config",
            "mocks.json",
            "--test-case",
            "HappyPath",
            LOCATE,
            "--history",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        stdout_json(&o),
        json!({"decision": "proceed", "by": "dpo@example.com"})
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    let events: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.first().unwrap()["type"], "ExecutionStarted");
    assert_eq!(events[events.len() - 2]["type"], "ExecutionSucceeded");
    assert_eq!(events.last().unwrap()["counts"]["retries"], 2);
    assert!(events.iter().any(|e| e["type"] == "TaskSubmitted"));
}

#[test]
fn a_failed_execution_prints_error_and_cause_and_exits_1() {
    let f = Files::new();
    let o = asl_run(
        f.dir.path(),
        &[
            "erasure.asl.json",
            "--input",
            "input.json",
            "--mock-config",
            "mocks.json",
            "--test-case",
            "Rejected",
            LOCATE,
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        stdout_json(&o),
        json!({"Error": "ErasureRejected", "Cause": "held for litigation"})
    );
}

#[test]
fn a_task_without_a_mock_exits_2_naming_the_state() {
    let f = Files::new();
    let o = asl_run(
        f.dir.path(),
        &[
            "erasure.asl.json",
            "--input",
            "input.json",
            "--mock-config",
            "mocks.json",
            "--test-case",
            "NoPollMock",
            LOCATE,
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Task state 'Poll' has no mock"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn an_unusable_definition_or_input_exits_2_with_the_reason() {
    let f = Files::new();
    // Without the substitution the Resource placeholder is unresolved.
    let o = asl_run(
        f.dir.path(),
        &[
            "erasure.asl.json",
            "--input",
            "input.json",
            "--mock-config",
            "mocks.json",
            "--test-case",
            "HappyPath",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("States.Locate.Resource: unresolved definition substitution '${LocateArn}'")
    );

    f.write(
        "bogus.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Bogus": 1, "End": true}}}"#,
    );
    let o = asl_run(f.dir.path(), &["bogus.json", "--input", "input.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("States.A.Bogus: unknown field"));

    f.write("broken-input.json", "{not json");
    let o = asl_run(
        f.dir.path(),
        &[
            "erasure.asl.json",
            "--input",
            "broken-input.json",
            "--mock-config",
            "mocks.json",
            "--test-case",
            "HappyPath",
            LOCATE,
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not valid JSON"));

    let o = asl_run(
        f.dir.path(),
        &[
            "erasure.asl.json",
            "--input",
            "input.json",
            "--mock-config",
            "mocks.json",
            "--test-case",
            "Missing",
            LOCATE,
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("TestCases.Missing: no such test case"));
}

#[test]
fn a_definition_without_tasks_needs_no_mock_file() {
    let f = Files::new();
    let def = f.write(
        "wait.json",
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 36000, "Next": "P"},
        "P": {"Type": "Pass", "Parameters": {"machine.$": "$$.StateMachine.Name"}, "End": true}}}"#,
    );
    let o = asl_run(
        f.dir.path(),
        &[
            def.to_str().unwrap(),
            "--input",
            f.path("input.json").to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(stdout_json(&o), json!({"machine": "wait"}));
}
