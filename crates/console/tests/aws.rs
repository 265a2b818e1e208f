//! The console's AWS ports against moto: the running executions read and answered
//! through Step Functions, and four-eyes first approvals held in S3 where every
//! function instance sees them.

use console::aws::{S3FirstApprovals, StepFunctionsExecutions};
use console::ports::{Answer, BackendError, Executions, FirstApprovals};
use erasure_core::pseudonym::{PseudonymKey, Pseudonymiser};
use erasure_core::record::ApprovalDecision;
use erasure_steps::write_record::ApprovalInput;
use serde_json::json;
use testkit::MotoServer;

fn approval(by: &str) -> ApprovalInput {
    let p = Pseudonymiser::new(PseudonymKey::new("k", vec![b'k'; 32]).expect("a key"));
    ApprovalInput {
        decision: Some(ApprovalDecision::Approve),
        actor_ref: p.oidc_actor("https://idp.example", by),
        role: "DPO".into(),
        at: "2026-12-08T09:30:00Z".parse().expect("a time"),
        channel: "console".into(),
        reason_code: None,
        issuer: Some("https://idp.example".into()),
        first_approval: None,
    }
}

#[tokio::test]
async fn a_first_approval_is_held_once_in_s3_and_every_instance_reads_it() {
    let moto = MotoServer::start();
    let s3 = moto.s3_client();
    s3.create_bucket()
        .bucket("ledger")
        .send()
        .await
        .expect("bucket");
    let instance = || S3FirstApprovals {
        client: moto.s3_client(),
        bucket: "ledger".into(),
    };
    let (a, b) = (instance(), instance());
    let token = "AAAAKgAAAAIAAAAAAAAAAeJ-task-token";
    assert_eq!(a.get(token).await.expect("read"), None);
    assert!(a.put(token, approval("maeve")).await.expect("held"));
    // Another instance, another person at the same moment: not first, nothing changed.
    assert!(!b.put(token, approval("siobhan")).await.expect("answered"));
    assert_eq!(b.get(token).await.expect("read"), Some(approval("maeve")));
    // Named by the token's hash: the token itself is nowhere in the bucket.
    let listed = s3
        .list_objects_v2()
        .bucket("ledger")
        .send()
        .await
        .expect("listed");
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].starts_with(S3FirstApprovals::PREFIX), "{keys:?}");
    assert!(!keys[0].contains(token));
    // A store that cannot be reached is an error, never "nobody approved yet".
    let gone = S3FirstApprovals {
        client: moto.s3_client(),
        bucket: "no-such-bucket".into(),
    };
    assert!(matches!(
        gone.get(token).await,
        Err(BackendError::Unavailable(_))
    ));
}

#[tokio::test]
async fn the_waiting_review_is_found_and_answered_through_step_functions() {
    let moto = MotoServer::start_with_step_functions();
    let notify = moto.stub_lambda("notify-review");
    let definition = testkit::moto::await_decision_definition(&notify);
    let sm = moto
        .create_state_machine("erasure", &definition.to_string())
        .await;
    let arn = moto
        .sfn_client()
        .start_execution()
        .state_machine_arn(&sm)
        .name("DSAR-2026-0042")
        .input(json!({"ticket": {"id": "DSAR-2026-0042"}, "review": {}}).to_string())
        .send()
        .await
        .expect("started")
        .execution_arn()
        .to_owned();
    let token = moto.task_token(&arn).await;
    let executions = StepFunctionsExecutions {
        sfn: moto.sfn_client(),
        state_machine_arn: sm,
    };
    let running = executions.running().await.expect("read");
    assert_eq!(running.len(), 1);
    let t = &running[0];
    assert_eq!(t.ticket_id, "DSAR-2026-0042");
    assert!(t.awaits_decision(), "{t:?}");
    assert_eq!(t.task_token.as_deref(), Some(token.as_str()));

    executions
        .answer(&token, &Answer::Approve(approval("maeve")))
        .await
        .expect("answered");
    let ended = moto.execution_ended(&arn).await;
    assert_eq!(ended.status().as_str(), "SUCCEEDED");
    let output: serde_json::Value =
        serde_json::from_str(ended.output().expect("an output")).expect("JSON");
    assert_eq!(
        output["approval"]["actorRef"],
        json!(approval("maeve").actor_ref)
    );
    assert_eq!(output["approval"]["channel"], "console");
}
