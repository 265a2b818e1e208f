//! The watchdog against moto (Step Functions that run, and the S3 Object Lock archive)
//! and a local HTTP server standing in for the DSAR tool's callback.
//!
//! The watchdog's clock is a virtual clock 73 hours ahead of the real one: an
//! execution moto put into AwaitDecision a moment ago has, for the watchdog, waited
//! past the 72-hour limit. Nothing here depends on how fast anything runs.

mod common;

use std::sync::{Arc, Mutex};

use archive::{Archive, Record, S3Archive};
use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use clock::{SharedClock, VirtualClock};
use endpoints::signature::{self, KeyRing, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use endpoints::watchdog::{HttpNotifier, Watchdog, WatchdogConfig};
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use testkit::{MotoServer, RecordBuilder};

use common::*;

const TICKET_KEY: &str = "ticket-callback-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABC";

/// What the DSAR tool's callback received: (timestamp, signature, body).
type Received = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

/// A callback endpoint on 127.0.0.1 answering `status`; returns its URL.
async fn dsar_tool(status: StatusCode) -> (String, Received) {
    let received: Received = Arc::default();
    let store = received.clone();
    let app = Router::new().route(
        "/gdpr/callback",
        post(move |headers: HeaderMap, body: Bytes| {
            let store = store.clone();
            async move {
                let h = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                store.lock().expect("store").push((
                    h(TIMESTAMP_HEADER),
                    h(SIGNATURE_HEADER),
                    body.to_vec(),
                ));
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/gdpr/callback"), received)
}

/// Waits in AwaitDecision for DSAR-A, in a long Wait for everything else.
async fn state_machine(moto: &MotoServer, name: &str) -> String {
    let notify = moto.stub_lambda(&format!("{name}-notify"));
    let definition = json!({
        "StartAt": "Route",
        "States": {
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.ticket.id", "StringEquals": "DSAR-A", "Next": "AwaitDecision"}],
                "Default": "PollExport"
            },
            "AwaitDecision": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": notify, "Payload": {"taskToken.$": "$$.Task.Token"}},
                "End": true
            },
            "PollExport": {"Type": "Wait", "Seconds": 86400, "End": true}
        }
    });
    moto.create_state_machine(name, &definition.to_string())
        .await
}

async fn start(moto: &MotoServer, sm: &str, name: &str, input: &Value) {
    moto.sfn_client()
        .start_execution()
        .state_machine_arn(sm)
        .name(name)
        .input(input.to_string())
        .send()
        .await
        .expect("start");
}

/// A ticket received `days_ago` before `now`.
fn ticket_received(id: &str, now: DateTime<Utc>, days_ago: i64) -> Value {
    let mut t = ticket(id, now);
    let received = now - Duration::days(days_ago);
    t["ticket"]["receivedAt"] = json!(rfc3339(received));
    t["ticket"]["identityVerifiedAt"] = json!(rfc3339(received + Duration::hours(1)));
    t["ticket"]["signOff"]["at"] = json!(rfc3339(received + Duration::hours(2)));
    t
}

fn deferred(ticket: &str, resume_on: NaiveDate) -> RecordBuilder {
    RecordBuilder::new(ticket, "DEFERRED").deferral(
        &[("LH-1", Some(&resume_on.to_string()))],
        Some(&resume_on.to_string()),
    )
}

fn record(b: RecordBuilder) -> Record {
    Record::from_value(b.build()).expect("valid record")
}

fn watchdog(
    moto: &MotoServer,
    sm: &str,
    archive: S3Archive,
    url: String,
    clock: SharedClock,
) -> Watchdog<aws_sdk_sfn::Client, HttpNotifier> {
    Watchdog {
        config: WatchdogConfig::new(sm, "GdprErasure", 72, 7),
        sfn: moto.sfn_client(),
        archive: Box::new(archive),
        notifier: HttpNotifier::new(
            url.parse().expect("a local callback"),
            KeyRing::from_key(TICKET_KEY).expect("key"),
            clock.clone(),
        ),
        clock,
    }
}

#[tokio::test]
async fn the_watchdog_counts_overdue_approvals_near_deadlines_and_tells_the_dsar_tool_of_due_resumptions()
 {
    let moto = MotoServer::start_with_step_functions();
    let sm = state_machine(&moto, "erasure").await;
    let later = Utc::now() + Duration::hours(73);
    let clock: SharedClock = Arc::new(VirtualClock::starting_at(later));
    let today = later.date_naive();

    // Running: A waits for the DPO and is 28 days into its month; B is on day 1;
    // D-2 is the follow-up ticket resuming D, under way and not yet recorded.
    start(&moto, &sm, "DSAR-A", &ticket_received("DSAR-A", later, 28)).await;
    start(&moto, &sm, "DSAR-B", &ticket_received("DSAR-B", later, 1)).await;
    let mut d2 = ticket_received("DSAR-D-2", later, 1);
    d2["ticket"]["resumes"] = json!("DSAR-D");
    start(&moto, &sm, "DSAR-D-2", &d2).await;
    let sfn = moto.sfn_client();
    testkit::eventually("DSAR-A to wait for its decision", || {
        let sfn = sfn.clone();
        let arn = endpoints::sfn::execution_arn(&sm, "DSAR-A").expect("arn");
        async move {
            let h = sfn
                .get_execution_history()
                .execution_arn(arn)
                .send()
                .await
                .ok()?;
            h.events()
                .iter()
                .any(|e| e.task_scheduled_event_details().is_some())
                .then_some(())
        }
    })
    .await;

    // The archive: C deferred until yesterday, nothing resumes it; D due too but its
    // follow-up runs; E not yet due; F deferred, then completed in its own chain; G
    // resumed by the follow-up G-2, recorded COMPLETED; H resumed by H-2, which was
    // itself deferred by a later hold now over (H-2 is due, H is not).
    let records = locked_archive(&moto, "archive").await;
    let yesterday = today - Duration::days(1);
    for r in [
        deferred("DSAR-C", yesterday),
        deferred("DSAR-D", today),
        deferred("DSAR-E", today + Duration::days(10)),
        deferred("DSAR-F", yesterday),
        deferred("DSAR-G", yesterday),
        RecordBuilder::new("DSAR-G-2", "COMPLETED")
            .written_at("2026-11-26T10:00:00.000Z")
            .resumes(Some("DSAR-G")),
        deferred("DSAR-H", yesterday),
        deferred("DSAR-H-2", yesterday)
            .written_at("2026-11-26T10:00:00.000Z")
            .deferral(
                &[("LH-2", Some(&yesterday.to_string()))],
                Some(&yesterday.to_string()),
            )
            .resumes(Some("DSAR-H")),
    ] {
        records.write(&record(r)).await.expect("write");
    }
    let first_f = records
        .chain_head("DSAR-F")
        .await
        .expect("head")
        .expect("F");
    let completed = RecordBuilder::new("DSAR-F", "COMPLETED")
        .written_at("2026-11-25T10:00:00.000Z")
        .sequence(2, Some(&first_f.digest))
        .build();
    records
        .write(&Record::from_value(completed).expect("record"))
        .await
        .expect("write F's completion");

    let (url, received) = dsar_tool(StatusCode::NO_CONTENT).await;
    let w = watchdog(&moto, &sm, records, url, clock.clone());
    let (logs, _guard) = Logs::capture();

    let report = w.run().await;

    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!(report.approvals_overdue, Some(1));
    assert_eq!(report.deadlines_near, Some(1));
    assert_eq!(report.resumptions_due, Some(2));
    assert_eq!(report.resumptions_notified, 2);

    let received = received.lock().expect("received").clone();
    let mut told: Vec<Value> = Vec::new();
    for (ts, sig, body) in &received {
        signature::verify(
            &keys(TICKET_KEY),
            Some(ts),
            Some(sig),
            body,
            later,
            signature::DEFAULT_TOLERANCE,
        )
        .expect("the callback is signed with the ticket callback key");
        told.push(serde_json::from_slice(body).expect("JSON"));
    }
    told.sort_by_key(|v| v["ticketId"].as_str().unwrap_or_default().to_owned());
    assert_eq!(
        told,
        vec![
            json!({"event": "resume-due", "ticketId": "DSAR-C",
                   "resumeOn": yesterday.to_string(), "holdIds": ["LH-1"]}),
            json!({"event": "resume-due", "ticketId": "DSAR-H-2",
                   "resumeOn": yesterday.to_string(), "holdIds": ["LH-2"]}),
        ],
        "ids, a date and hold ids: the DSAR tool opens a follow-up with ticket.resumes"
    );

    let line = report.emf_line(&w.config, clock.now());
    let emf: Value = serde_json::from_str(&line).expect("EMF is JSON");
    assert_eq!(emf["ApprovalsOverdue"], 1);
    assert_eq!(emf["DeadlinesNear"], 1);
    assert_eq!(emf["ResumptionsDue"], 2);
    assert_eq!(emf["StateMachineArn"], sm);

    // Its own log lines and metrics name no ticket; nothing logged, the AWS SDK's
    // trace included, holds personal data (the executions' input was read).
    let own = format!("{}\n{line}", logs.own());
    assert!(
        own.contains("watchdog run"),
        "logs were not captured: {own}"
    );
    assert!(
        !own.contains("DSAR-"),
        "the watchdog logged a ticket: {own}"
    );
    assert_no_personal_data("the watchdog's logs", &logs.text());
}

#[tokio::test]
async fn a_deferral_whose_follow_up_is_running_is_in_progress_not_due() {
    let moto = MotoServer::start_with_step_functions();
    let sm = state_machine(&moto, "follow-ups").await;
    let clock: SharedClock = Arc::new(VirtualClock::starting_at(Utc::now()));
    let now = clock.now();
    let yesterday = now.date_naive() - Duration::days(1);
    let records = locked_archive(&moto, "archive").await;
    for t in ["DSAR-P", "DSAR-Q"] {
        records
            .write(&record(deferred(t, yesterday)))
            .await
            .expect("write");
    }
    // P's follow-up runs (its input names P in ticket.resumes); Q's does not: the
    // running DSAR-Q-2 is an ordinary ticket whose id merely starts like Q's.
    let mut p2 = ticket_received("DSAR-P-2", now, 0);
    p2["ticket"]["resumes"] = json!("DSAR-P");
    start(&moto, &sm, "DSAR-P-2", &p2).await;
    start(&moto, &sm, "DSAR-Q-2", &ticket_received("DSAR-Q-2", now, 0)).await;
    let (url, received) = dsar_tool(StatusCode::NO_CONTENT).await;
    let w = watchdog(&moto, &sm, records, url, clock.clone());

    let report = w.run().await;

    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!(report.resumptions_due, Some(1), "Q only");
    let told: Vec<Value> = received
        .lock()
        .expect("received")
        .iter()
        .map(|(_, _, body)| serde_json::from_slice(body).expect("JSON"))
        .collect();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["ticketId"], "DSAR-Q");
}

#[tokio::test]
async fn a_failed_callback_fails_the_run_but_every_metric_is_still_reported() {
    let moto = MotoServer::start_with_step_functions();
    let sm = state_machine(&moto, "quiet").await;
    let clock: SharedClock = Arc::new(VirtualClock::starting_at(Utc::now()));
    let records = locked_archive(&moto, "archive").await;
    let yesterday = clock.now().date_naive() - Duration::days(1);
    records
        .write(&record(deferred("DSAR-H", yesterday)))
        .await
        .expect("write");
    let (url, received) = dsar_tool(StatusCode::SERVICE_UNAVAILABLE).await;
    let w = watchdog(&moto, &sm, records, url, clock.clone());

    let report = w.run().await;

    // Nothing runs: zeros, reported as zeros.
    assert_eq!(report.approvals_overdue, Some(0));
    assert_eq!(report.deadlines_near, Some(0));
    assert_eq!(report.resumptions_due, Some(1));
    assert_eq!(report.resumptions_notified, 0);
    assert_eq!(received.lock().expect("received").len(), 1, "it was tried");
    assert_eq!(
        report.problems,
        vec!["ticket callback: the ticket callback is unavailable: HTTP 503".to_owned()]
    );
    // EventBridge's scheduled event, as the Lambda runtime hands it over.
    let scheduled = json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": testkit::ACCOUNT, "time": "2026-11-27T12:00:00Z", "region": testkit::REGION,
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/gdpr-erasure-watchdog"],
        "detail": {}
    });
    let err = w
        .handle(LambdaEvent::new(scheduled, Context::default()))
        .await
        .expect_err("an incomplete run is an error");
    assert_eq!(err.problems.len(), 1);
}

#[tokio::test]
async fn an_unreachable_step_functions_leaves_its_metrics_out_and_fails_the_run() {
    let moto = MotoServer::start_with_step_functions();
    let missing = format!(
        "arn:aws:states:{}:{}:stateMachine:not-deployed",
        testkit::REGION,
        testkit::ACCOUNT
    );
    let clock: SharedClock = Arc::new(VirtualClock::starting_at(Utc::now()));
    let records = locked_archive(&moto, "archive").await;
    let (url, _) = dsar_tool(StatusCode::NO_CONTENT).await;
    let w = watchdog(&moto, &missing, records, url, clock.clone());

    let report = w.run().await;

    assert_eq!(report.approvals_overdue, None);
    assert_eq!(report.deadlines_near, None);
    assert_eq!(report.resumptions_due, Some(0));
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].starts_with("ListExecutions"));
    let emf: Value = serde_json::from_str(&report.emf_line(&w.config, clock.now())).unwrap();
    assert!(emf.get("ApprovalsOverdue").is_none());
    assert_eq!(emf["ResumptionsDue"], 0);
}
