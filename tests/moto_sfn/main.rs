//! The workflow definition on a Step Functions implementation we did not write.
//!
//! `statemachine/erasure.asl.json` runs on moto's Step Functions (its ASL interpreter, a
//! port of LocalStack's), each Task invoking the real function binary served by `cargo
//! lambda watch`, configured as the template configures it. The same tickets run on our
//! local runner with the steps in process. Both must end in the same outcome, the same
//! record (ids, times and digests masked) and the same states entered: our interpreter
//! could share our misreadings of the States Language, moto's does not.
//! `docs/second-interpreter.md` says how the pieces are wired and what differed.
//!
//! Scenarios: the happy path; a Task whose function fails (Review cannot use the
//! legal-hold register) caught by its Catch into a FAILED record; the DPO's review gate
//! (AwaitDecision's task token from notify-review's notice, answered through the
//! approval endpoint, a second answer refused); and a transient Genesys fault that
//! PollExport's Retry absorbs.

mod aws;
mod compare;
mod local;

use std::collections::BTreeSet;
use std::time::Instant;

use aws_sdk_sfn::types::ExecutionStatus;
use chrono::{DateTime, Duration, Utc};
use erasure_steps::local::receiver::Behaviour;
use erasure_steps::ports::KeyRing;
use genesys_emulator::{Fault, FaultAction};
use serde_json::Value;

use crate::compare::{
    data_flow, differences, failures_locally, failures_on_moto, flow_differences, flow_locally,
    flow_on_moto, masked, retries_on_moto, state_path, states_entered_locally,
};

/// The emulator's seed on both sides: the same dataset ids.
pub const SEED: u64 = 7;
/// The poll back-off on both sides (`POLL_FIRST_WAIT_SECONDS`, `POLL_MAX_WAIT_SECONDS`
/// on the AWS side): the emulator's interactive jobs take 2 to 4 s.
pub const POLL_FIRST_WAIT_SECONDS: u64 = 3;
pub const POLL_MAX_WAIT_SECONDS: u64 = 6;
/// How often VerifyErasure looks again at a pending redaction, on both sides (the
/// emulators' redaction lands ten seconds after COMPLETED).
pub const REDACTION_RECHECK_SECONDS: i64 = 3;
/// One check after the record, a few seconds after the delete completed (the
/// default's days would be real days on moto).
pub const VERIFY_AFTER: &str = "15s";
/// The pseudonym key on both sides, so identifier refs (and the key id, its
/// fingerprint) compare.
pub const PSEUDONYM_KEY: &str = "moto-sfn-pseudonym-key-0123456789abcdef";

pub fn key_text(system: &str) -> String {
    format!("{system}-key-0123456789abcdef0123456789")
}

pub fn key(system: &str) -> KeyRing {
    KeyRing::from_key(key_text(system)).expect("a 32-byte key")
}

/// The receiver's systems: the two downstream systems, the review endpoint and the
/// DSAR tool's callback; all acknowledge signed POSTs.
pub fn systems() -> Vec<(String, KeyRing, Behaviour)> {
    ["crm", "warehouse", "review", "dsar"]
        .into_iter()
        .map(|s| (s.to_owned(), key(s), Behaviour::Acknowledge))
        .collect()
}

/// The approval endpoint's key (the DPO's tool signs decisions with it).
pub const APPROVAL_KEY: &str = "moto-sfn-approval-key-0123456789-abcdefghijklmnopqrstuvwxyz";
/// `APPROVAL_URL`, which notify-review puts in the review notice.
pub const APPROVAL_URL: &str = "https://approval.example/decide";
/// The Genesys client's own attempts per call (`genesys::RetryPolicy::default`): this
/// many 503s in a row make one invocation fail with `GenesysTransient`.
pub const CLIENT_ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// `happy-path.json`: Liam's three conversations and four recordings erased.
    HappyPath,
    /// The same subject under another ticket, with a legal-hold register Review cannot
    /// use (a hold without its conversations): `InvalidHoldRegister`, which no Retry
    /// names, caught by Review's Catch into a FAILED record.
    ReviewCaught,
    /// `active-agent.json`: Niamh is an active agent, so Review asks a person
    /// (AwaitDecision); the DPO approves through the approval endpoint (on moto:
    /// notify-review's notice, a signed decision, SendTaskSuccess), her own
    /// conversations are erased and her account is left alone.
    DpoApproves,
    /// `former-agent.json` with the export's first status poll answered 503 by
    /// Genesys as often as the client tries: PollExport fails with `GenesysTransient`
    /// and the definition's Retry runs it again.
    PollRetried,
}

impl Scenario {
    fn fixture(self) -> &'static str {
        match self {
            Scenario::HappyPath | Scenario::ReviewCaught => "happy-path",
            Scenario::DpoApproves => "active-agent",
            Scenario::PollRetried => "former-agent",
        }
    }

    /// Whether the DPO answers the review gate (approves) in this scenario.
    pub fn dpo_approves(self) -> bool {
        self == Scenario::DpoApproves
    }

    /// The execution's name and input: the fixture ticket, its dates moved by whole weeks
    /// (weekdays kept) so that it was received 7 to 13 days before `now`.
    pub fn ticket(self, now: DateTime<Utc>) -> (String, Value) {
        let mut t = e2e::ticket(self.fixture());
        if self == Scenario::ReviewCaught {
            t["ticket"]["id"] = "DSAR-2026-1002".into();
        }
        let received: DateTime<Utc> = t["ticket"]["receivedAt"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("the fixture has receivedAt");
        let weeks = ((now - received).num_days() - 7).div_euclid(7);
        let shift = |v: &mut Value| {
            let at: DateTime<Utc> = v.as_str().and_then(|s| s.parse().ok()).expect("a time");
            *v = (at + Duration::weeks(weeks))
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
                .into();
        };
        shift(&mut t["ticket"]["receivedAt"]);
        shift(&mut t["ticket"]["identityVerifiedAt"]);
        shift(&mut t["ticket"]["signOff"]["at"]);
        let name = t["ticket"]["id"].as_str().expect("an id").to_owned();
        (name, t)
    }

    /// The legal-hold register document Review reads.
    pub fn register(self) -> Vec<u8> {
        match self {
            Scenario::ReviewCaught => br#"{"keyId": null, "updatedAt": "2026-11-02T09:00:00Z",
                "holds": [{"holdId": "LH-2026-099", "matter": "No conversations", "expiry": null}]}"#
                .to_vec(),
            _ => std::fs::read(e2e::fixtures().join("holds/register.json"))
                .expect("the fixture register"),
        }
    }

    /// What this scenario sets up in the emulator, on either side.
    pub fn prepare(self, emulator: &genesys_emulator::RunningEmulator) {
        if self == Scenario::PollRetried {
            emulator
                .add_fault(
                    Fault::new(
                        "GET",
                        "/api/v2/gdpr/requests/*",
                        FaultAction::ServerError { status: 503 },
                    )
                    .times(CLIENT_ATTEMPTS),
                )
                .expect("the fault is valid");
        }
    }

    /// The function failures (state, error) the scenario must show, in order.
    fn failures(self) -> Vec<(String, String)> {
        let f = |state: &str, error: &str| vec![(state.to_owned(), error.to_owned())];
        match self {
            Scenario::HappyPath | Scenario::DpoApproves => vec![],
            Scenario::ReviewCaught => f("Review", "InvalidHoldRegister"),
            Scenario::PollRetried => f("PollExport", "GenesysTransient"),
        }
    }

    /// How many times a Retry rule ran a Task again.
    fn retries(self) -> u64 {
        u64::from(self == Scenario::PollRetried)
    }

    /// What the record must say, whoever ran it (so the test fails when both sides
    /// agree on something wrong). `approved_at`: the time the DPO's decision gave,
    /// where the side knows it.
    fn check(self, record: &Value, approved_at: Option<&str>) {
        match self {
            Scenario::HappyPath => {
                assert_eq!(record["outcome"], "COMPLETED", "{record:#}");
                assert_eq!(record["counts"]["conversationsErased"], 3);
                assert_eq!(record["counts"]["recordingsPurged"], 4);
                assert_eq!(record["counts"]["downstreamAcknowledged"], 2);
                assert_eq!(record["gaps"], serde_json::json!([]));
                assert_eq!(record["decisions"]["approval"], Value::Null);
            }
            Scenario::ReviewCaught => {
                assert_eq!(record["outcome"], "FAILED", "{record:#}");
                assert_eq!(record["failure"]["error"], "InvalidHoldRegister");
                assert_eq!(record["failure"]["stage"], "Review");
                assert_eq!(record["counts"]["conversationsErased"], 0);
            }
            Scenario::DpoApproves => {
                assert_eq!(record["outcome"], "COMPLETED", "{record:#}");
                let review = &record["decisions"]["review"];
                assert_eq!(review["decision"], "review", "{record:#}");
                assert!(
                    review["reasons"]
                        .as_array()
                        .is_some_and(|r| r.contains(&"active-agent".into())),
                    "{record:#}"
                );
                // Who decided (pseudonymised with the pipeline's key), in what role,
                // through which channel, and when.
                let approval = &record["decisions"]["approval"];
                let dpo = local::pseudonymiser().actor(&e2e::DPO.parse().expect("an e-mail"));
                assert_eq!(approval["decision"], "approve", "{record:#}");
                assert_eq!(approval["actorRef"], dpo.as_str());
                assert_eq!(approval["role"], "DPO");
                assert_eq!(approval["channel"], endpoints::approval::CHANNEL);
                assert!(!record.to_string().contains(e2e::DPO), "the DPO's address");
                let at = approval["at"].as_str().expect("the decision's time");
                if let Some(expected) = approved_at {
                    assert_eq!(at, expected, "the decision's own time");
                }
                assert!(at <= record["writtenAt"].as_str().expect("writtenAt"));
                assert_eq!(record["agent"]["action"], "SKIPPED_ACTIVE", "{record:#}");
                assert!(record["counts"]["conversationsErased"].as_u64() > Some(0));
            }
            Scenario::PollRetried => {
                assert_eq!(record["outcome"], "COMPLETED", "{record:#}");
                assert_eq!(record["agent"]["action"], "OFFBOARDED", "{record:#}");
                assert!(record["counts"]["conversationsErased"].as_u64() > Some(0));
                assert_eq!(record["gaps"], serde_json::json!([]));
            }
        }
    }
}

fn conversations(e: &genesys_emulator::RunningEmulator) -> BTreeSet<String> {
    e.conversations().into_iter().map(|c| c.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_definition_ends_alike_on_moto_and_on_the_local_runner() {
    let began = Instant::now();
    let world = aws::AwsWorld::start().await;
    eprintln!("moto and cargo lambda watch up in {:?}", began.elapsed());
    let dataset = conversations(&world.emulator);
    // The Catch first: it erases nothing, so the happy path then finds Liam's data as a
    // fresh emulator has it. The other two are other subjects.
    for scenario in [
        Scenario::ReviewCaught,
        Scenario::HappyPath,
        Scenario::DpoApproves,
        Scenario::PollRetried,
    ] {
        ends_alike(&world, &dataset, scenario).await;
    }
    eprintln!("moto-sfn: {:?} in all", began.elapsed());
}

async fn ends_alike(world: &aws::AwsWorld, dataset: &BTreeSet<String>, scenario: Scenario) {
    world.set_register(&scenario).await;
    scenario.prepare(&world.emulator);
    let before = conversations(&world.emulator);
    let (name, input) = scenario.ticket(Utc::now());
    let on_moto = world.run(scenario, &name, &input).await;
    let invocations = on_moto
        .history
        .iter()
        .filter(|e| {
            e.lambda_function_scheduled_event_details.is_some()
                || e.task_scheduled_event_details.is_some()
        })
        .count();
    eprintln!(
        "{scenario:?} on moto: {:?}, {} states entered, {invocations} function invocations, {} retried (after {:?} s)",
        on_moto.took,
        compare::states_entered_on_moto(&on_moto.history).len(),
        retries_on_moto(&on_moto.history),
        compare::retry_waits_on_moto(&on_moto.history),
    );
    let on_ours = local::run(&scenario, &name, input, on_moto.started).await;

    // Both ended, and ended alike.
    assert_eq!(on_moto.status, ExecutionStatus::Succeeded, "{scenario:?}");
    assert!(
        on_ours.succeeded,
        "{scenario:?}: the local execution failed"
    );
    let approved_at = on_moto
        .decided
        .as_ref()
        .and_then(|d| d.answer.body["at"].as_str());
    scenario.check(&on_moto.record, approved_at);
    scenario.check(&on_ours.record, None);
    let diffs = differences(&masked(&on_moto.record), &masked(&on_ours.record));
    assert!(
        diffs.is_empty(),
        "{scenario:?}: the records differ (moto vs local):\n{}\nmoto's record: {:#}",
        diffs.join("\n"),
        on_moto.record
    );
    assert_eq!(on_moto.receipt["outcome"], on_ours.record["outcome"]);

    // The same states entered, with the same data.
    let moto_path = state_path(compare::states_entered_on_moto(&on_moto.history));
    let our_path = state_path(states_entered_locally(&on_ours.history));
    assert_eq!(
        moto_path, our_path,
        "{scenario:?}: the states entered differ"
    );
    let moto_flow = data_flow(flow_on_moto(&on_moto.history));
    if scenario.dpo_approves() {
        let parameters = &moto_flow[&("AwaitDecision".to_owned(), "parameters")];
        assert_eq!(parameters.len(), 1, "AwaitDecision is scheduled once");
        assert_eq!(parameters[0]["Payload"]["taskToken"], "<masked>");
    }
    let diffs = flow_differences(&moto_flow, &data_flow(flow_locally(&on_ours.history)));
    assert!(
        diffs.is_empty(),
        "{scenario:?}: the state data differ (moto vs local):\n{}",
        diffs.join("\n")
    );

    // The same function failures, each retried or caught as the scenario says.
    let failed = failures_on_moto(&on_moto.history);
    assert_eq!(
        failed,
        scenario.failures(),
        "{scenario:?}: failures on moto"
    );
    assert_eq!(
        failures_locally(&on_ours.history),
        failed,
        "{scenario:?}: failures"
    );
    assert_eq!(
        (retries_on_moto(&on_moto.history), on_ours.retries),
        (scenario.retries(), scenario.retries()),
        "{scenario:?}: Tasks run again by a Retry (moto, local)"
    );

    // The review gate: asked on both sides with the same summary; on moto the DPO's
    // answer went through the approval endpoint and a second answer changes nothing.
    review_gate(world, scenario, &name, &on_moto, &on_ours).await;

    // The same effects: Genesys lost the same conversations, the same systems were
    // told (signed), the DSAR tool was told once.
    let gone_on_moto: BTreeSet<String> = before
        .difference(&conversations(&world.emulator))
        .cloned()
        .collect();
    let gone_locally: BTreeSet<String> = dataset
        .difference(&conversations(&on_ours.emulator))
        .cloned()
        .collect();
    assert_eq!(
        gone_on_moto, gone_locally,
        "{scenario:?}: erased conversations"
    );
    let fired = |e: &genesys_emulator::RunningEmulator| -> Vec<u32> {
        e.faults().iter().map(|f| f.fired).collect()
    };
    let expected: Vec<u32> = if scenario == Scenario::PollRetried {
        vec![CLIENT_ATTEMPTS]
    } else {
        vec![]
    };
    assert_eq!(
        (fired(&world.emulator), fired(&on_ours.emulator)),
        (expected.clone(), expected),
        "{scenario:?}: injected faults fired (moto, local)"
    );
    world.emulator.clear_faults();
    let told = |r: &erasure_steps::local::receiver::DownstreamReceiver| {
        let mut v: Vec<(String, Option<String>, bool)> = r
            .received()
            .into_iter()
            .filter(|x| x.ticket_id.as_deref() == Some(name.as_str()))
            .filter(|x| x.system != "dsar" && x.system != "review")
            .map(|x| (x.system, x.ticket_id, x.signature_valid))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        told(&world.receiver),
        told(&on_ours.receiver),
        "{scenario:?}"
    );
    let reported = world
        .receiver
        .received()
        .into_iter()
        .filter(|x| x.system == "dsar" && x.ticket_id.as_deref() == Some(name.as_str()))
        .filter(|x| x.signature_valid)
        .count();
    assert_eq!(
        (reported, on_ours.reports),
        (1, 1),
        "{scenario:?}: the ticket is told once"
    );
}

/// The review gate of a scenario: no notice where no person is asked; where the DPO
/// approves, one notice on each side with the same summary, the moto side's signed
/// and carrying the task token moto gave AwaitDecision, answered once through the
/// approval endpoint; a second answer is refused and changes nothing.
async fn review_gate(
    world: &aws::AwsWorld,
    scenario: Scenario,
    name: &str,
    on_moto: &aws::AwsRun,
    on_ours: &local::LocalRun,
) {
    let notices_on_moto: Vec<Value> = world
        .receiver
        .kept("review")
        .into_iter()
        .filter(|n| n["ticketId"] == name)
        .collect();
    if !scenario.dpo_approves() {
        assert!(notices_on_moto.is_empty(), "{scenario:?}: nobody is asked");
        assert!(on_ours.notices.is_empty(), "{scenario:?}: nobody is asked");
        assert!(on_moto.decided.is_none());
        return;
    }
    let decided = on_moto
        .decided
        .as_ref()
        .expect("the review notice arrived and the DPO answered");
    eprintln!(
        "{scenario:?}: review notice after {:?}, answered {} {}",
        decided.notified_after, decided.answer.status, decided.answer.body
    );
    assert_eq!(notices_on_moto.len(), 1, "one notice, signed");
    assert_eq!(on_ours.notices.len(), 1, "one notice locally");
    let signed = world
        .receiver
        .received()
        .into_iter()
        .filter(|x| x.system == "review" && x.ticket_id.as_deref() == Some(name))
        .map(|x| x.signature_valid)
        .collect::<Vec<_>>();
    assert_eq!(signed, [true], "the notice is signed with the review key");
    let (notice, ours) = (&decided.notice, &on_ours.notices[0]);
    assert_eq!(notice["approvalUrl"], APPROVAL_URL);
    assert_eq!(notice["executionId"], on_moto.execution.as_str());
    assert_eq!(notice["executionId"], ours["executionId"]);
    assert_eq!(notice["ticketId"], ours["ticketId"]);
    assert!(
        notice["review"]["reasons"]
            .as_array()
            .is_some_and(|r| r.contains(&"active-agent".into())),
        "the notice carries the review summary: {notice:#}"
    );
    let diffs = differences(&masked(&notice["review"]), &masked(&ours["review"]));
    assert!(
        diffs.is_empty(),
        "the review summaries differ (moto vs local):\n{}",
        diffs.join("\n")
    );
    // The token is the one moto gave the waiting task.
    let scheduled: Vec<Value> = on_moto
        .history
        .iter()
        .filter_map(|e| e.task_scheduled_event_details.as_ref())
        .filter_map(|d| serde_json::from_str::<Value>(&d.parameters).ok())
        .map(|p| p["Payload"]["taskToken"].clone())
        .collect();
    assert_eq!(scheduled, [notice["taskToken"].clone()]);
    assert!(notice["taskToken"].as_str().is_some_and(|t| !t.is_empty()));

    // The first answer was taken.
    assert_eq!(
        decided.answer.status, 200,
        "the approval: {}",
        decided.answer.body
    );
    assert_eq!(decided.answer.body["decision"], "approve");
    assert_eq!(
        on_moto.record["decisions"]["approval"],
        serde_json::json!({
            "decision": "approve",
            "actorRef": decided.answer.body["actorRef"],
            "role": "DPO",
            "at": decided.answer.body["at"],
            "channel": endpoints::approval::CHANNEL,
        }),
        "the record keeps the endpoint's answer"
    );
    assert_eq!(decided.decision["by"], e2e::DPO);
    // moto held the execution in AwaitDecision until the answer.
    let left: Vec<DateTime<Utc>> = on_moto
        .history
        .iter()
        .filter(|e| {
            e.state_exited_event_details
                .as_ref()
                .is_some_and(|d| d.name == "AwaitDecision")
        })
        .filter_map(|e| DateTime::from_timestamp_millis(e.timestamp.to_millis().ok()?))
        .collect();
    assert_eq!(left.len(), 1, "AwaitDecision is left once");
    assert!(
        left[0] >= decided.answered_at - Duration::milliseconds(1),
        "AwaitDecision was left at {} before the answer at {}",
        left[0],
        decided.answered_at
    );

    // A second answer, delivered again by a retrying tool without naming the execution
    // (refused before anything: a decision must name it) and naming the execution (the
    // endpoint refuses: it has ended): nothing changes.
    let state = world.status_and_events(&on_moto.execution).await;
    let versions = world.archive_versions().await;
    let (_, again) = world.answer_review(notice, "approve", false).await;
    assert_eq!(
        (again.status, again.code()),
        (422, "invalid-decision"),
        "{}",
        again.body
    );
    let (_, changed_mind) = world.answer_review(notice, "reject", true).await;
    assert_eq!(
        (changed_mind.status, changed_mind.code()),
        (409, "execution-not-running"),
        "{}",
        changed_mind.body
    );
    assert_eq!(world.status_and_events(&on_moto.execution).await, state);
    assert_eq!(world.archive_versions().await, versions);
}
