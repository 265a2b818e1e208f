//! The ticket webhook against moto's Step Functions server, through aws-sdk-sfn: what
//! starts, what does not, and what the DSAR tool is told.

mod common;

use std::sync::Arc;

use archive::{Archive, Record};
use chrono::{Duration, Utc};
use clock::{SharedClock, SystemClock};
use endpoints::webhook::{Webhook, WebhookConfig};
use lambda_http::Body;
use serde_json::{Value, json};
use testkit::MotoServer;
use testkit::records::RecordBuilder;

use common::*;

/// A state machine whose executions stay RUNNING (a long Wait) or end at once (Pass).
async fn state_machine(moto: &MotoServer, name: &str, waits: bool) -> String {
    let definition = if waits {
        json!({"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 86400, "End": true}}})
    } else {
        json!({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": true}}})
    };
    moto.create_state_machine(name, &definition.to_string())
        .await
}

const ARCHIVE_BUCKET: &str = "webhook-archive";

async fn webhook(moto: &MotoServer, state_machine_arn: &str) -> Webhook<aws_sdk_sfn::Client> {
    let clock: SharedClock = Arc::new(SystemClock);
    Webhook {
        config: WebhookConfig::new(state_machine_arn, keys(WEBHOOK_KEY)),
        sfn: moto.sfn_client(),
        archive: Box::new(locked_archive(moto, ARCHIVE_BUCKET).await),
        clock,
    }
}

/// (name, input) of every execution of the state machine.
async fn executions(moto: &MotoServer, state_machine_arn: &str) -> Vec<(String, Value)> {
    let sfn = moto.sfn_client();
    let listed = sfn
        .list_executions()
        .state_machine_arn(state_machine_arn)
        .send()
        .await
        .expect("list executions");
    let mut out = Vec::new();
    for e in listed.executions() {
        let d = sfn
            .describe_execution()
            .execution_arn(e.execution_arn())
            .send()
            .await
            .expect("describe");
        let input: Value = serde_json::from_str(d.input().unwrap_or("null")).expect("input");
        out.push((e.name().to_owned(), input));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
async fn a_signed_ticket_starts_one_execution_named_after_the_ticket() {
    let moto = MotoServer::start_with_step_functions();
    let sm = state_machine(&moto, "erasure", true).await;
    let w = webhook(&moto, &sm).await;
    let now = Utc::now();
    let t = ticket("DSAR-2026-0042", now);

    let response = w.handle(signed_json(WEBHOOK_KEY, &t, now)).await;

    assert_eq!(response.status(), 202);
    let body = json_body(&response);
    assert_eq!(body["executionName"], "DSAR-2026-0042");
    assert!(
        body["executionArn"]
            .as_str()
            .unwrap()
            .ends_with(":execution:erasure:DSAR-2026-0042")
    );
    assert!(body["startDate"].as_str().unwrap().ends_with('Z'));
    let started = executions(&moto, &sm).await;
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].0, "DSAR-2026-0042");
    assert_eq!(started[0].1, t, "the execution input is the ticket");
}

#[tokio::test]
async fn the_same_ticket_twice_starts_one_execution() {
    let moto = MotoServer::start_with_step_functions();
    let sm = state_machine(&moto, "erasure", true).await;
    let w = webhook(&moto, &sm).await;
    let now = Utc::now();
    let t = ticket("DSAR-7", now);

    let first = w.handle(signed_json(WEBHOOK_KEY, &t, now)).await;
    // The same ticket, as another serialiser would write it: keys reordered, spaced.
    let mut reordered = serde_json::Map::new();
    for key in ["options", "subject", "ticket"] {
        reordered.insert(key.into(), t[key].clone());
    }
    let again = serde_json::to_vec_pretty(&Value::Object(reordered)).unwrap();
    let second = w.handle(signed(WEBHOOK_KEY, &again, now)).await;

    assert_eq!(first.status(), 202);
    assert_eq!(
        second.status(),
        202,
        "a repeat while it runs is the same execution"
    );
    assert_eq!(
        json_body(&first)["executionArn"],
        json_body(&second)["executionArn"]
    );
    assert_eq!(executions(&moto, &sm).await.len(), 1);
}

#[tokio::test]
async fn a_repeat_after_the_execution_ended_answers_with_that_execution() {
    let moto = MotoServer::start_with_step_functions();
    let sm = state_machine(&moto, "quick", false).await;
    let w = webhook(&moto, &sm).await;
    let now = Utc::now();
    let t = ticket("DSAR-8", now);
    let first = json_body(&w.handle(signed_json(WEBHOOK_KEY, &t, now)).await);
    let arn = first["executionArn"].as_str().unwrap().to_owned();
    let ended = moto.execution_ended(&arn).await;
    assert_eq!(ended.status().as_str(), "SUCCEEDED");

    let repeat = w.handle(signed_json(WEBHOOK_KEY, &t, Utc::now())).await;

    assert_eq!(repeat.status(), 200);
    let body = json_body(&repeat);
    assert_eq!(body["executionArn"], arn);
    assert_eq!(body["status"], "SUCCEEDED");
    assert_eq!(body["alreadyStarted"], true);
    assert_eq!(executions(&moto, &sm).await.len(), 1);
}

#[tokio::test]
async fn another_ticket_under_the_same_id_is_a_conflict_and_starts_nothing() {
    let moto = MotoServer::start_with_step_functions();
    let sm = state_machine(&moto, "erasure", true).await;
    let w = webhook(&moto, &sm).await;
    let now = Utc::now();
    let t = ticket("DSAR-9", now);
    let first = json_body(&w.handle(signed_json(WEBHOOK_KEY, &t, now)).await);
    let mut other = t.clone();
    other["subject"]["emails"] = json!(["someone.else@example.org"]);

    let response = w.handle(signed_json(WEBHOOK_KEY, &other, now)).await;

    assert_eq!(response.status(), 409);
    let body = json_body(&response);
    assert_eq!(body["error"], "ticket-conflict");
    assert_eq!(body["executionArn"], first["executionArn"]);
    assert_eq!(body["status"], "RUNNING");
    assert!(!body.to_string().contains("someone.else"), "{body}");
    let started = executions(&moto, &sm).await;
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].1, t, "the first ticket is still the input");
}

#[tokio::test]
async fn a_follow_up_ticket_starts_its_own_execution_named_after_its_own_id() {
    let moto = MotoServer::start_with_step_functions();
    let sm = state_machine(&moto, "erasure", true).await;
    let w = webhook(&moto, &sm).await;
    let now = Utc::now();
    let deferred = ticket("DSAR-10", now);
    let mut follow_up = ticket("DSAR-11", now);
    follow_up["ticket"]["resumes"] = json!("DSAR-10");

    assert_eq!(
        w.handle(signed_json(WEBHOOK_KEY, &deferred, now))
            .await
            .status(),
        202
    );
    let response = w.handle(signed_json(WEBHOOK_KEY, &follow_up, now)).await;

    assert_eq!(response.status(), 202);
    assert_eq!(json_body(&response)["executionName"], "DSAR-11");
    let started = executions(&moto, &sm).await;
    let names: Vec<&str> = started.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["DSAR-10", "DSAR-11"]);
    assert_eq!(started[1].1["ticket"]["resumes"], "DSAR-10");

    // Re-sending the deferred ticket itself, changed to resume, is not a follow-up:
    // another document under an existing id, refused with the way to do it.
    let mut itself = deferred.clone();
    itself["ticket"]["resumes"] = json!("DSAR-9");
    let conflict = w.handle(signed_json(WEBHOOK_KEY, &itself, now)).await;
    assert_eq!(conflict.status(), 409);
    let body = json_body(&conflict);
    assert_eq!(body["error"], "ticket-conflict");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("open a follow-up ticket with ticket.resumes"),
        "{body}"
    );
    // A ticket cannot resume itself.
    let mut own = ticket("DSAR-12", now);
    own["ticket"]["resumes"] = json!("DSAR-12");
    let refused = w.handle(signed_json(WEBHOOK_KEY, &own, now)).await;
    assert_eq!(refused.status(), 422);
    assert_eq!(json_body(&refused)["reasons"][0]["code"], "resumes-itself");
    assert_eq!(
        executions(&moto, &sm).await.len(),
        2,
        "nothing more started"
    );
}

#[tokio::test]
async fn refused_requests_start_nothing_and_say_precisely_why() {
    let moto = MotoServer::start_with_step_functions();
    let sm = state_machine(&moto, "erasure", true).await;
    let w = webhook(&moto, &sm).await;
    let (logs, _guard) = Logs::capture();
    let now = Utc::now();
    let good = ticket("DSAR-11", now);
    let good_bytes = good.to_string().into_bytes();

    let mut tampered = signed_json(WEBHOOK_KEY, &good, now);
    *tampered.body_mut() = Body::Text(good.to_string().replace("DSAR-11", "DSAR-12"));
    let mut no_signature = signed_json(WEBHOOK_KEY, &good, now);
    no_signature
        .headers_mut()
        .remove(endpoints::signature::SIGNATURE_HEADER);
    let mut bad_ticket = good.clone();
    bad_ticket["ticket"]["signOff"] = Value::Null;
    bad_ticket["subject"]["emails"] = json!(["jane.doe@example"]);
    let mut get = signed_json(WEBHOOK_KEY, &good, now);
    *get.method_mut() = lambda_http::http::Method::GET;
    let huge = json!({"ticket": {"id": "DSAR-13"}, "padding": "x".repeat(70 * 1024)});

    let cases = [
        (
            "wrong key",
            signed_json(
                "another-key-another-key-another-key-another-key",
                &good,
                now,
            ),
            401,
            "signature-mismatch",
        ),
        ("tampered body", tampered, 401, "signature-mismatch"),
        ("no signature", no_signature, 401, "signature-missing"),
        (
            "old timestamp",
            signed(WEBHOOK_KEY, &good_bytes, now - Duration::minutes(6)),
            401,
            "timestamp-outside-window",
        ),
        (
            "future timestamp",
            signed(WEBHOOK_KEY, &good_bytes, now + Duration::minutes(6)),
            401,
            "timestamp-outside-window",
        ),
        (
            "malformed JSON",
            signed(WEBHOOK_KEY, b"{\"ticket\": jane.doe@example.com", now),
            400,
            "invalid-json",
        ),
        (
            "invalid ticket",
            signed_json(WEBHOOK_KEY, &bad_ticket, now),
            422,
            "invalid-ticket",
        ),
        (
            "too large",
            signed_json(WEBHOOK_KEY, &huge, now),
            413,
            "too-large",
        ),
        ("not a POST", get, 405, "method-not-allowed"),
    ];
    for (what, request, status, code) in cases {
        let response = w.handle(request).await;
        let body = json_body(&response);
        assert_eq!(response.status(), status, "{what}: {body}");
        assert_eq!(body["error"], code, "{what}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_no_personal_data(what, &body.to_string());
    }
    assert!(
        executions(&moto, &sm).await.is_empty(),
        "a refused request started an execution"
    );
    let logged = logs.text();
    assert!(
        logged.contains("ticket refused"),
        "logs were not captured: {logged}"
    );
    assert_no_personal_data("the webhook's logs", &logged);
}

#[tokio::test]
async fn an_invalid_ticket_gets_intakes_reasons_by_field_and_code() {
    let moto = MotoServer::start_with_step_functions();
    let sm = state_machine(&moto, "erasure", true).await;
    let w = webhook(&moto, &sm).await;
    let now = Utc::now();
    let mut t = ticket("DSAR-14", now);
    t["ticket"]["signOff"] = Value::Null;
    t["subject"]["phones"][0]["number"] = json!("86 123 4567");
    t["ticket"]["resumes"] = json!("../DSAR-13");

    let response = w.handle(signed_json(WEBHOOK_KEY, &t, now)).await;

    assert_eq!(response.status(), 422);
    let reasons: Vec<(String, String)> = json_body(&response)["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["field"].as_str().unwrap().to_owned(),
                r["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("ticket.signOff", "missing"),
        ("ticket.resumes", "invalid-ticket-id"),
        ("subject.phones[0].number", "phone-needs-country-code"),
    ] {
        assert!(
            reasons.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} not in {reasons:?}"
        );
    }
    assert!(executions(&moto, &sm).await.is_empty());
}

#[tokio::test]
async fn a_step_functions_failure_is_a_502_that_names_nothing() {
    let moto = MotoServer::start_with_step_functions();
    // A state machine that does not exist: Step Functions refuses the start.
    let missing = format!(
        "arn:aws:states:{}:{}:stateMachine:not-deployed",
        testkit::REGION,
        testkit::ACCOUNT
    );
    let w = webhook(&moto, &missing).await;
    let now = Utc::now();

    let response = w
        .handle(signed_json(WEBHOOK_KEY, &ticket("DSAR-15", now), now))
        .await;

    assert_eq!(response.status(), 502);
    let body = json_body(&response);
    assert_eq!(body["error"], "step-functions-unavailable");
    for internal in [
        "not-deployed",
        "arn:",
        "DSAR-15",
        "StateMachineDoesNotExist",
    ] {
        assert!(!body.to_string().contains(internal), "{body}");
    }
}

#[tokio::test]
async fn a_ticket_whose_execution_is_gone_but_whose_record_exists_is_a_repeat_and_starts_nothing() {
    // Step Functions released the name (90 days after the execution closed): it
    // knows no execution DSAR-90, but the archive holds its record.
    let moto = MotoServer::start_with_step_functions();
    let sm = state_machine(&moto, "quick", false).await;
    let w = webhook(&moto, &sm).await;
    let record = Record::from_value(RecordBuilder::new("DSAR-90", "COMPLETED").build())
        .expect("valid record");
    let receipt = locked_archive(&moto, ARCHIVE_BUCKET)
        .await
        .write(&record)
        .await
        .expect("written");
    let now = Utc::now();

    let response = w
        .handle(signed_json(WEBHOOK_KEY, &ticket("DSAR-90", now), now))
        .await;

    assert_eq!(response.status(), 200);
    let body = json_body(&response);
    assert_eq!(body["alreadyStarted"], true);
    assert_eq!(body["closed"], true);
    assert_eq!(body["outcome"], "COMPLETED");
    assert_eq!(body["recordKey"], receipt.key.as_str());
    assert_eq!(body["recordDigest"], receipt.digest.as_str());
    assert_eq!(body["executionName"], "DSAR-90");
    assert!(
        executions(&moto, &sm).await.is_empty(),
        "a closed ticket never runs a second time"
    );
    // Another ticket id still starts.
    let other = w
        .handle(signed_json(WEBHOOK_KEY, &ticket("DSAR-91", now), now))
        .await;
    assert_eq!(other.status(), 202);
}

/// serde_json keeps the last of two `subject` keys; the DSAR tool's parser may have
/// kept the first. Such a ticket is refused with Intake's error, before anything starts.
#[tokio::test]
async fn a_body_with_two_subject_keys_is_refused_and_starts_nothing() {
    let moto = MotoServer::start_with_step_functions();
    let sm = state_machine(&moto, "erasure", true).await;
    let w = webhook(&moto, &sm).await;
    let now = Utc::now();
    let t = ticket("DSAR-15", now);
    let text = t.to_string();
    let subject = t["subject"].to_string();
    let twice = format!(
        "{}, \"subject\": {subject}}}",
        text.trim_end().strip_suffix('}').unwrap()
    );
    assert_eq!(twice.matches("\"subject\"").count(), 2);

    let response = w.handle(signed(WEBHOOK_KEY, twice.as_bytes(), now)).await;

    assert_eq!(response.status(), 422);
    let body = json_body(&response);
    assert_eq!(body["reasons"][0]["field"], "subject");
    assert_eq!(body["reasons"][0]["code"], "duplicate-key");
    assert!(executions(&moto, &sm).await.is_empty());
}
