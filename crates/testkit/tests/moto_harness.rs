//! The harness itself: moto comes up, serves S3, and is gone once its handle is
//! dropped, also when the test holding it panics.

use std::net::TcpStream;
use std::panic::{AssertUnwindSafe, catch_unwind};

use testkit::MotoServer;

fn port_answers(endpoint: &str) -> bool {
    let addr = endpoint.trim_start_matches("http://");
    TcpStream::connect(addr).is_ok()
}

/// Whether the process still exists. On Linux /proc says so directly (a closed port
/// could be reopened by another test's server); elsewhere the port is the evidence.
fn still_running(pid: u32, endpoint: &str) -> bool {
    let proc_dir = std::path::Path::new("/proc");
    if proc_dir.join("self").exists() {
        proc_dir.join(pid.to_string()).exists()
    } else {
        port_answers(endpoint)
    }
}

#[tokio::test]
async fn serves_s3_on_a_local_port() {
    let moto = MotoServer::start();
    assert!(moto.endpoint().starts_with("http://127.0.0.1:"));
    let client = moto.s3_client();
    client
        .create_bucket()
        .bucket("harness-check")
        .send()
        .await
        .expect("create");
    let listed = client.list_buckets().send().await.expect("list");
    assert_eq!(listed.buckets().len(), 1);
}

#[test]
fn is_killed_when_dropped() {
    let moto = MotoServer::start();
    let (pid, endpoint) = (moto.pid(), moto.endpoint().to_owned());
    assert!(port_answers(&endpoint));
    assert!(still_running(pid, &endpoint));
    drop(moto);
    assert!(
        !still_running(pid, &endpoint),
        "moto (pid {pid}) is still running"
    );
}

#[test]
fn is_killed_when_the_test_panics() {
    let (mut pid, mut endpoint) = (0, String::new());
    let result = catch_unwind(AssertUnwindSafe(|| {
        let moto = MotoServer::start();
        (pid, endpoint) = (moto.pid(), moto.endpoint().to_owned());
        panic!("a failing test");
    }));
    assert!(result.is_err());
    assert_ne!(pid, 0);
    assert!(
        !still_running(pid, &endpoint),
        "moto (pid {pid}) is still running"
    );
}

#[test]
fn two_servers_run_side_by_side() {
    let a = MotoServer::start();
    let b = MotoServer::start();
    assert_ne!(a.endpoint(), b.endpoint());
    assert_ne!(a.pid(), b.pid());
}

/// The Step Functions variant runs state machines, including a
/// `lambda:invoke.waitForTaskToken` task on a stub function, whose token the
/// execution history shows and SendTaskSuccess accepts.
#[tokio::test]
async fn runs_state_machines_and_waits_for_task_tokens() {
    let moto = MotoServer::start_with_step_functions();
    let sfn = moto.sfn_client();
    let function = moto.stub_lambda("harness-notify");
    let definition = serde_json::json!({
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": function, "Payload": {"taskToken.$": "$$.Task.Token"}},
                "End": true
            }
        }
    });
    let machine = moto
        .create_state_machine("harness", &definition.to_string())
        .await;
    let started = sfn
        .start_execution()
        .state_machine_arn(machine)
        .name("run-1")
        .input("{}")
        .send()
        .await
        .expect("start");
    let arn = started.execution_arn().to_owned();
    let token = moto.task_token(&arn).await;
    sfn.send_task_success()
        .task_token(token)
        .output(r#"{"ok":true}"#)
        .send()
        .await
        .expect("send task success");
    let status = moto.execution_ended(&arn).await.status;
    assert_eq!(status, aws_sdk_sfn::types::ExecutionStatus::Succeeded);
}
