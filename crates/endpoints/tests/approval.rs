//! The approval endpoint against moto's Step Functions server, through aws-sdk-sfn.
//!
//! The state machine waits as the real definition's AwaitDecision does
//! (`lambda:invoke.waitForTaskToken` on a function, moto's stub here, with the task
//! token in the payload, the answer at `$.approval`, `ReviewRejected` caught into
//! `$.approvalRejection`). The tests read the token back from the execution history,
//! as a review tool would receive it from notify-review.
//!
//! What moto does not do, and so is not proven here: it drops the `cause` of
//! SendTaskFailure (the cause's shape is unit-tested in `approval.rs`), and it accepts
//! SendTaskFailure for a token whose execution already ended, where AWS answers
//! TaskTimedOut (so "reject after approve" is tested only with `executionArn`, which
//! the endpoint checks itself).

mod common;

use std::sync::Arc;

use archive::{Archive, S3Archive, S3Settings};
use chrono::{DateTime, Duration, Utc};
use clock::{SharedClock, SystemClock};
use endpoints::approval::{ApprovalConfig, ApprovalEndpoint};
use endpoints::startup::pseudonymiser_from_secret;
use serde_json::{Value, json};
use testkit::MotoServer;

use common::*;

const DPO: &str = "dpo.anne@example.com";
const ARCHIVE_BUCKET: &str = "approval-archive";

struct Fixture {
    moto: MotoServer,
    sm: String,
}

impl Fixture {
    async fn new() -> Self {
        let moto = MotoServer::start_with_step_functions();
        let notify = moto.stub_lambda("notify-review");
        let definition = testkit::moto::await_decision_definition(&notify);
        let sm = moto
            .create_state_machine("erasure", &definition.to_string())
            .await;
        locked_archive(&moto, ARCHIVE_BUCKET).await;
        Self { moto, sm }
    }

    fn endpoint(&self) -> ApprovalEndpoint<aws_sdk_sfn::Client> {
        let clock: SharedClock = Arc::new(SystemClock);
        ApprovalEndpoint {
            config: ApprovalConfig::new(&self.sm, keys(APPROVAL_KEY), pseudonymiser()),
            sfn: self.moto.sfn_client(),
            archive: Box::new(self.archive()),
            clock,
        }
    }

    /// The archive annotations are written to (the bucket made in `new`).
    fn archive(&self) -> S3Archive {
        S3Archive::new(
            self.moto.s3_client(),
            S3Settings::new(ARCHIVE_BUCKET, "gdpr/"),
        )
        .expect("archive")
    }

    /// Starts an execution and waits until it waits for a decision: (ARN, token).
    async fn waiting(&self, name: &str) -> (String, String) {
        self.waiting_with(
            name,
            json!({"ticket": {"id": name}, "review": {"reasons": ["recycled-number"]}}),
        )
        .await
    }

    async fn waiting_with(&self, name: &str, input: Value) -> (String, String) {
        let sfn = self.moto.sfn_client();
        let arn = sfn
            .start_execution()
            .state_machine_arn(&self.sm)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .expect("start")
            .execution_arn()
            .to_owned();
        let token = self.moto.task_token(&arn).await;
        (arn, token)
    }

    /// Waits for the execution to end: (status, output).
    async fn ended(&self, arn: &str) -> (String, Value) {
        let d = self.moto.execution_ended(arn).await;
        let output = d.output().and_then(|o| serde_json::from_str(o).ok());
        (
            d.status().as_str().to_owned(),
            output.unwrap_or(Value::Null),
        )
    }

    async fn status(&self, arn: &str) -> String {
        let d = self
            .moto
            .sfn_client()
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .expect("describe");
        d.status().as_str().to_owned()
    }

    /// The history's event types, in order.
    async fn history(&self, arn: &str) -> Vec<String> {
        let h = self
            .moto
            .sfn_client()
            .get_execution_history()
            .execution_arn(arn)
            .send()
            .await
            .expect("history");
        let mut events: Vec<(i64, String)> = h
            .events()
            .iter()
            .map(|e| (e.id(), e.r#type().as_str().to_owned()))
            .collect();
        events.sort();
        events.into_iter().map(|(_, t)| t).collect()
    }
}

fn pseudonymiser() -> erasure_core::pseudonym::Pseudonymiser {
    pseudonymiser_from_secret(
        "PSEUDONYM_KEY_SECRET_ARN",
        &signing::Secret {
            name: "pseudonym-key".into(),
            json: json!({ "key": PSEUDONYM_KEY }),
        },
    )
    .expect("pseudonym key")
}

fn actor_ref() -> String {
    pseudonymiser()
        .actor(&DPO.parse().expect("email"))
        .as_str()
        .to_owned()
}

fn decision(token: &str, arn: Option<&str>, decision: &str, at: DateTime<Utc>) -> Value {
    let mut d = json!({
        "taskToken": token,
        "decision": decision,
        "by": DPO,
        "role": "DPO",
        "at": rfc3339(at),
    });
    if let Some(arn) = arn {
        d["executionArn"] = json!(arn);
    }
    d
}

#[tokio::test]
async fn an_approval_resumes_the_waiting_execution_with_the_pseudonymised_decision() {
    let f = Fixture::new().await;
    let (arn, token) = f.waiting("DSAR-1").await;
    let now = Utc::now();
    let decided_at = now - Duration::minutes(2);

    let response = f
        .endpoint()
        .handle(signed_json(
            APPROVAL_KEY,
            &decision(&token, Some(&arn), "approve", decided_at),
            now,
        ))
        .await;

    assert_eq!(response.status(), 200, "{}", json_body(&response));
    assert_eq!(json_body(&response)["actorRef"], actor_ref());
    let (status, output) = f.ended(&arn).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(
        output["approval"],
        json!({
            "decision": "approve",
            "actorRef": actor_ref(),
            "role": "DPO",
            "at": rfc3339(decided_at),
            "channel": "approval-endpoint",
        }),
        "the task output is what the record keeps"
    );
    assert_no_personal_data("the execution output", &output.to_string());
}

#[tokio::test]
async fn a_second_answer_to_the_same_token_is_refused_and_changes_nothing() {
    let f = Fixture::new().await;
    let (arn, token) = f.waiting("DSAR-2").await;
    let endpoint = f.endpoint();
    let now = Utc::now();
    let first = endpoint
        .handle(signed_json(
            APPROVAL_KEY,
            &decision(&token, Some(&arn), "approve", now),
            now,
        ))
        .await;
    assert_eq!(first.status(), 200);
    let (_, output_before) = f.ended(&arn).await;
    let history_before = f.history(&arn).await;

    // The same approval again, delivered twice by a retrying review tool.
    let again = endpoint
        .handle(signed_json(
            APPROVAL_KEY,
            &decision(&token, Some(&arn), "approve", now),
            Utc::now(),
        ))
        .await;
    // A change of mind after the fact, naming the execution.
    let reject = endpoint
        .handle(signed_json(
            APPROVAL_KEY,
            &decision(&token, Some(&arn), "reject", now),
            Utc::now(),
        ))
        .await;

    assert_eq!(again.status(), 409, "{}", json_body(&again));
    assert_eq!(json_body(&again)["error"], "execution-not-running");
    assert_eq!(reject.status(), 409, "{}", json_body(&reject));
    assert_eq!(json_body(&reject)["error"], "execution-not-running");
    let (status, output_after) = f.ended(&arn).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(output_after, output_before);
    assert_eq!(f.history(&arn).await, history_before);
}

#[tokio::test]
async fn a_rejection_fails_the_task_with_review_rejected() {
    let f = Fixture::new().await;
    let (arn, token) = f.waiting("DSAR-3").await;
    let now = Utc::now();
    let mut body = decision(&token, Some(&arn), "reject", now);
    body["reasonCode"] = json!("hold-pending");

    let response = f
        .endpoint()
        .handle(signed_json(APPROVAL_KEY, &body, now))
        .await;

    assert_eq!(response.status(), 200, "{}", json_body(&response));
    assert_eq!(json_body(&response)["decision"], "reject");
    let (status, output) = f.ended(&arn).await;
    assert_eq!(status, "SUCCEEDED", "the Catch leads on to the record");
    assert_eq!(output["approvalRejection"]["Error"], "ReviewRejected");
    assert!(output.get("approval").is_none(), "{output}");
    let history = f
        .moto
        .sfn_client()
        .get_execution_history()
        .execution_arn(&arn)
        .send()
        .await
        .expect("history");
    let failed: Vec<&str> = history
        .events()
        .iter()
        .filter_map(|e| e.task_failed_event_details()?.error())
        .collect();
    assert_eq!(failed, vec!["ReviewRejected"]);
}

#[tokio::test]
async fn a_decision_naming_another_execution_or_token_sends_nothing() {
    let f = Fixture::new().await;
    let (arn_a, token_a) = f.waiting("DSAR-4").await;
    let (arn_b, token_b) = f.waiting("DSAR-5").await;
    let endpoint = f.endpoint();
    let now = Utc::now();
    let missing = arn_a.replace("DSAR-4", "DSAR-404");
    let foreign = arn_a.replace(":erasure:", ":another-machine:");

    let cases = [
        (
            Some(arn_a.as_str()),
            token_b.as_str(),
            409,
            "task-token-mismatch",
        ),
        (
            Some(missing.as_str()),
            token_a.as_str(),
            410,
            "execution-not-found",
        ),
        (
            Some(foreign.as_str()),
            token_a.as_str(),
            422,
            "invalid-decision",
        ),
    ];
    for (arn, token, status, code) in cases {
        let response = endpoint
            .handle(signed_json(
                APPROVAL_KEY,
                &decision(token, arn, "approve", now),
                now,
            ))
            .await;
        assert_eq!(response.status(), status, "{}", json_body(&response));
        assert_eq!(json_body(&response)["error"], code);
    }
    assert_eq!(f.status(&arn_a).await, "RUNNING");
    assert_eq!(f.status(&arn_b).await, "RUNNING");

    // The right pair resumes exactly its own execution.
    let ok = endpoint
        .handle(signed_json(
            APPROVAL_KEY,
            &decision(&token_a, Some(&arn_a), "approve", now),
            now,
        ))
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(f.ended(&arn_a).await.0, "SUCCEEDED");
    assert_eq!(f.status(&arn_b).await, "RUNNING");
}

#[tokio::test]
async fn refused_decisions_send_nothing_and_say_precisely_why() {
    let f = Fixture::new().await;
    let (arn, token) = f.waiting("DSAR-6").await;
    let endpoint = f.endpoint();
    let (logs, _guard) = Logs::capture();
    let now = Utc::now();
    let good = decision(&token, Some(&arn), "approve", now);
    let mut intern = good.clone();
    intern["role"] = json!("Intern");
    let invalid = json!({
        "decision": "maybe",
        "by": "dpo.anne@example",
        "role": "DPO",
        "at": rfc3339(now + Duration::hours(1)),
        "executionArn": arn,
        "dpo.anne@example.com": true,
    });
    let mut reason_with_approval = good.clone();
    reason_with_approval["reasonCode"] = json!("looks-fine");

    let cases = [
        (
            "webhook key instead of the approval key",
            signed_json(WEBHOOK_KEY, &good, now),
            401,
            "signature-mismatch",
        ),
        (
            "stale",
            signed_json(APPROVAL_KEY, &good, now - Duration::minutes(10)),
            401,
            "timestamp-outside-window",
        ),
        (
            "role not allowed",
            signed_json(APPROVAL_KEY, &intern, now),
            403,
            "role-not-allowed",
        ),
        (
            "invalid",
            signed_json(APPROVAL_KEY, &invalid, now),
            422,
            "invalid-decision",
        ),
        (
            "reason with an approval",
            signed_json(APPROVAL_KEY, &reason_with_approval, now),
            422,
            "invalid-decision",
        ),
    ];
    let mut reasons = Vec::new();
    for (what, request, status, code) in cases {
        let response = endpoint.handle(request).await;
        let body = json_body(&response);
        assert_eq!(response.status(), status, "{what}: {body}");
        assert_eq!(body["error"], code, "{what}");
        assert_no_personal_data(what, &body.to_string());
        for r in body["reasons"].as_array().into_iter().flatten() {
            reasons.push(format!(
                "{} {}",
                r["field"].as_str().unwrap(),
                r["code"].as_str().unwrap()
            ));
        }
    }
    for expected in [
        "taskToken missing",
        "decision invalid-decision",
        "by invalid-email",
        "at in-future",
        "<unknown> unknown-field",
        "reasonCode reason-code-only-with-reject",
        "role role-not-allowed",
    ] {
        assert!(
            reasons.iter().any(|r| r == expected),
            "{expected} not in {reasons:?}"
        );
    }
    assert_eq!(f.status(&arn).await, "RUNNING");
    let history = f.history(&arn).await;
    assert!(
        !history
            .iter()
            .any(|t| t == "TaskSucceeded" || t == "TaskFailed"),
        "a refused decision reached the task: {history:?}"
    );
    let logged = logs.text();
    assert!(
        logged.contains("decision refused"),
        "logs were not captured"
    );
    assert_no_personal_data("the approval endpoint's logs", &logged);
}

#[tokio::test]
async fn the_roles_allowed_to_decide_are_configurable() {
    let f = Fixture::new().await;
    let (arn, token) = f.waiting("DSAR-7").await;
    let mut endpoint = f.endpoint();
    endpoint.config.allowed_roles = vec!["Privacy Counsel".into()];
    let now = Utc::now();

    let dpo = endpoint
        .handle(signed_json(
            APPROVAL_KEY,
            &decision(&token, Some(&arn), "approve", now),
            now,
        ))
        .await;
    let mut counsel = decision(&token, Some(&arn), "approve", now);
    counsel["role"] = json!("privacy counsel");
    let accepted = endpoint
        .handle(signed_json(APPROVAL_KEY, &counsel, now))
        .await;

    assert_eq!(dpo.status(), 403);
    assert_eq!(accepted.status(), 200, "{}", json_body(&accepted));
    let (_, output) = f.ended(&arn).await;
    assert_eq!(
        output["approval"]["role"], "Privacy Counsel",
        "recorded as configured"
    );
}

#[tokio::test]
async fn an_approval_must_name_its_execution_and_cannot_predate_the_review() {
    let f = Fixture::new().await;
    let (arn, token) = f.waiting("DSAR-20").await;
    let endpoint = f.endpoint();
    let now = Utc::now();
    let unnamed = endpoint
        .handle(signed_json(
            APPROVAL_KEY,
            &decision(&token, None, "approve", now),
            now,
        ))
        .await;
    assert_eq!(unnamed.status(), 422, "{}", json_body(&unnamed));
    assert!(json_body(&unnamed).to_string().contains("executionArn"));
    // Dated a day before the review was put to the DPO (beyond any clock skew).
    let early = endpoint
        .handle(signed_json(
            APPROVAL_KEY,
            &decision(&token, Some(&arn), "approve", now - Duration::days(1)),
            now,
        ))
        .await;
    assert_eq!(early.status(), 400, "{}", json_body(&early));
    assert_eq!(json_body(&early)["error"], "decided-before-review");
    assert_eq!(f.status(&arn).await, "RUNNING", "nothing was sent");
}

#[tokio::test]
async fn under_four_eyes_the_person_who_signed_the_ticket_off_cannot_approve_it() {
    let f = Fixture::new().await;
    let signed_by = |actor: &str| {
        json!({"ticket": {"id": "x", "signOff": {"actorRef": actor, "role": "DPO", "at": "2026-11-21T11:00:00Z"}},
               "review": {"reasons": []}})
    };
    let mut endpoint = f.endpoint();
    endpoint.config.four_eyes = true;
    let now = Utc::now();

    // The DPO signed the ticket off: her approval is refused, nothing is sent.
    let (arn, token) = f.waiting_with("DSAR-21", signed_by(&actor_ref())).await;
    let same = endpoint
        .handle(signed_json(
            APPROVAL_KEY,
            &decision(&token, Some(&arn), "approve", now),
            now,
        ))
        .await;
    assert_eq!(same.status(), 403, "{}", json_body(&same));
    assert_eq!(json_body(&same)["error"], "four-eyes");
    assert_eq!(f.status(&arn).await, "RUNNING");

    // Who signed it off cannot be told: refused too.
    let (arn2, token2) = f.waiting("DSAR-22").await;
    let unknown = endpoint
        .handle(signed_json(
            APPROVAL_KEY,
            &decision(&token2, Some(&arn2), "approve", now),
            now,
        ))
        .await;
    assert_eq!(unknown.status(), 409, "{}", json_body(&unknown));
    assert_eq!(json_body(&unknown)["error"], "signer-unknown");

    // Somebody else signed it off: the DPO's approval goes through.
    let other = pseudonymiser()
        .actor(&"counsel@example.com".parse().expect("email"))
        .as_str()
        .to_owned();
    let (arn3, token3) = f.waiting_with("DSAR-23", signed_by(&other)).await;
    let ok = endpoint
        .handle(signed_json(
            APPROVAL_KEY,
            &decision(&token3, Some(&arn3), "approve", now),
            now,
        ))
        .await;
    assert_eq!(ok.status(), 200, "{}", json_body(&ok));
    // Without four-eyes the signer may decide (the default).
    let (arn4, token4) = f.waiting_with("DSAR-24", signed_by(&actor_ref())).await;
    let plain = f
        .endpoint()
        .handle(signed_json(
            APPROVAL_KEY,
            &decision(&token4, Some(&arn4), "approve", now),
            now,
        ))
        .await;
    assert_eq!(plain.status(), 200, "{}", json_body(&plain));
}

/// A person closes a PARTIAL record's escalation through `/annotations`: signed with the
/// approval key, by an allowed role, written once and locked in the archive, chained
/// off the record, `by` kept only as the same actorRef a decision gets; a repeat is
/// 409, what does not fit the archive 422, a bad signature or role writes nothing.
#[tokio::test(flavor = "current_thread")]
async fn an_annotation_closes_an_escalation_in_the_locked_archive() {
    let f = Fixture::new().await;
    let archive = f.archive();
    let mut record = testkit::RecordBuilder::new("DSAR-31", "PARTIAL")
        .written_at("2026-12-01T08:00:00Z")
        .build();
    record["escalations"] = json!([{"reason": "genesys-partial", "at": "2026-12-01T08:00:00Z",
                                     "detail": "request r-1 ended in ERROR"}]);
    let written = archive
        .write(&archive::Record::from_value(record).expect("record"))
        .await
        .expect("written");
    let document = written
        .key
        .strip_prefix("gdpr/")
        .expect("prefix")
        .to_owned();
    let closing = json!({
        "ticketId": "DSAR-31",
        "document": document,
        "resolution": "resolved-by-genesys",
        "supportCase": "GEN-CASE-0042187",
        "by": DPO,
        "role": "DPO",
    });
    let endpoint = f.endpoint();
    let now = Utc::now();
    let post =
        |key: &str, body: &Value| signed_to("/annotations", key, body.to_string().as_bytes(), now);
    let (logs, _guard) = Logs::capture();

    let forged = endpoint.handle(post(WEBHOOK_KEY, &closing)).await;
    assert_eq!(forged.status(), 401, "{}", json_body(&forged));
    let mut intern = closing.clone();
    intern["role"] = json!("Intern");
    let not_allowed = endpoint.handle(post(APPROVAL_KEY, &intern)).await;
    assert_eq!(not_allowed.status(), 403, "{}", json_body(&not_allowed));
    assert!(
        archive
            .list_annotations(Some("DSAR-31"))
            .await
            .unwrap()
            .is_empty()
    );

    let ok = endpoint.handle(post(APPROVAL_KEY, &closing)).await;
    let body = json_body(&ok);
    assert_eq!(ok.status(), 201, "{body}");
    assert_eq!(body["actorRef"], actor_ref());
    assert_eq!(body["annotates"], json!(document));
    let listed = archive.list_annotations(Some("DSAR-31")).await.unwrap();
    assert_eq!(listed.len(), 1);
    let stored: Value =
        serde_json::from_slice(&archive.read(&listed[0]).await.unwrap().bytes).unwrap();
    assert_eq!(
        stored["by"],
        json!({"actorRef": actor_ref(), "role": "DPO"})
    );
    assert_eq!(stored["closes"], json!(["genesys-partial"]));
    assert_eq!(stored["annotates"]["digest"], json!(written.digest));
    assert_eq!(stored["supportCase"], "GEN-CASE-0042187");
    assert_eq!(stored["retention"]["mode"], "COMPLIANCE");
    let report = archive::verify::verify(&archive, &archive::verify::VerifyOptions::default())
        .await
        .expect("verify ran");
    assert!(report.passed(), "{}", report.to_text());
    assert_eq!(report.annotations_checked, 1);

    // Sent again (a lost answer): closed already, nothing more written.
    let again = endpoint.handle(post(APPROVAL_KEY, &closing)).await;
    assert_eq!(again.status(), 409, "{}", json_body(&again));
    assert_eq!(json_body(&again)["error"], "closed-already");
    // An escalation the record does not have, or a record that does not exist.
    let mut other = closing.clone();
    other["closes"] = json!(["recording-not-purged"]);
    let unknown = endpoint.handle(post(APPROVAL_KEY, &other)).await;
    assert_eq!(unknown.status(), 422, "{}", json_body(&unknown));
    assert_eq!(json_body(&unknown)["error"], "not-annotatable");
    other["document"] = json!("records/DSAR-31/20261202T080000.000Z-COMPLETED.json");
    let missing = endpoint.handle(post(APPROVAL_KEY, &other)).await;
    assert_eq!(missing.status(), 422, "{}", json_body(&missing));
    assert_eq!(
        archive
            .list_annotations(Some("DSAR-31"))
            .await
            .unwrap()
            .len(),
        1
    );

    // A decision's body sent to /annotations is not an annotation.
    let stray = endpoint
        .handle(post(APPROVAL_KEY, &decision("t", None, "approve", now)))
        .await;
    assert_eq!(stray.status(), 422, "{}", json_body(&stray));
    assert_eq!(json_body(&stray)["error"], "invalid-annotation");
    assert_no_personal_data("the logs", &logs.own());
}
