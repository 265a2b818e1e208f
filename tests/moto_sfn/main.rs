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
//! Scenarios: the happy path, and a Task whose function fails (Review cannot use the
//! legal-hold register) caught by its Catch into a FAILED record.

mod aws;
mod compare;
mod local;

use std::collections::BTreeSet;
use std::time::Instant;

use aws_sdk_sfn::types::ExecutionStatus;
use chrono::{DateTime, Duration, Utc};
use erasure_steps::local::receiver::Behaviour;
use erasure_steps::ports::HmacKey;
use serde_json::Value;

use crate::compare::{
    data_flow, differences, flow_differences, flow_locally, flow_on_moto, masked, state_path,
    states_entered_locally,
};

/// The emulator's seed on both sides: the same dataset ids.
pub const SEED: u64 = 7;
/// The poll back-off on both sides (`POLL_FIRST_WAIT_SECONDS`, `POLL_MAX_WAIT_SECONDS`
/// on the AWS side): the emulator's interactive jobs take 2 to 4 s.
pub const POLL_FIRST_WAIT_SECONDS: u64 = 3;
pub const POLL_MAX_WAIT_SECONDS: u64 = 6;
/// The pseudonym key on both sides, so identifier refs compare.
pub const PSEUDONYM_KEY_ID: &str = "moto-sfn-test-key";
pub const PSEUDONYM_KEY: &str = "moto-sfn-pseudonym-key-0123456789abcdef";

pub fn key_text(system: &str) -> String {
    format!("{system}-key")
}

pub fn key(system: &str) -> HmacKey {
    HmacKey::new(key_text(system).into_bytes()).expect("a non-empty key")
}

/// The receiver's systems: the two downstream systems, the review endpoint and the
/// DSAR tool's callback; all acknowledge signed POSTs.
pub fn systems() -> Vec<(String, HmacKey, Behaviour)> {
    ["crm", "warehouse", "review", "dsar"]
        .into_iter()
        .map(|s| (s.to_owned(), key(s), Behaviour::Acknowledge))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// `happy-path.json`: Liam's three conversations and four recordings erased.
    HappyPath,
    /// The same subject under another ticket, with a legal-hold register Review cannot
    /// use (a hold without its conversations): `InvalidHoldRegister`, which no Retry
    /// names, caught by Review's Catch into a FAILED record.
    ReviewCaught,
}

impl Scenario {
    /// The execution's name and input: the fixture ticket, its dates moved by whole weeks
    /// (weekdays kept) so that it was received 7 to 13 days before `now`.
    pub fn ticket(self, now: DateTime<Utc>) -> (String, Value) {
        let mut t = e2e::ticket("happy-path");
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
            Scenario::HappyPath => std::fs::read(e2e::fixtures().join("holds/register.json"))
                .expect("the fixture register"),
            Scenario::ReviewCaught => br#"{"keyId": null, "updatedAt": "2026-11-02T09:00:00Z",
                "holds": [{"holdId": "LH-2026-099", "matter": "No conversations", "expiry": null}]}"#
                .to_vec(),
        }
    }

    /// What this scenario sets up in the emulator (nothing yet: both use the dataset).
    pub fn prepare(self, _emulator: &genesys_emulator::RunningEmulator) {}

    /// What the record must say, whoever ran it (so the test fails when both sides
    /// agree on something wrong).
    fn check(self, record: &Value) {
        match self {
            Scenario::HappyPath => {
                assert_eq!(record["outcome"], "COMPLETED", "{record:#}");
                assert_eq!(record["counts"]["conversationsErased"], 3);
                assert_eq!(record["counts"]["recordingsPurged"], 4);
                assert_eq!(record["counts"]["downstreamAcknowledged"], 2);
                assert_eq!(record["gaps"], serde_json::json!([]));
            }
            Scenario::ReviewCaught => {
                assert_eq!(record["outcome"], "FAILED", "{record:#}");
                assert_eq!(record["failure"]["error"], "InvalidHoldRegister");
                assert_eq!(record["failure"]["stage"], "Review");
                assert_eq!(record["counts"]["conversationsErased"], 0);
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
    // fresh emulator has it.
    for scenario in [Scenario::ReviewCaught, Scenario::HappyPath] {
        world.set_register(&scenario).await;
        scenario.prepare(&world.emulator);
        let before = conversations(&world.emulator);
        let (name, input) = scenario.ticket(Utc::now());
        let on_moto = world.run(&name, &input).await;
        let invocations = on_moto
            .history
            .iter()
            .filter(|e| e.lambda_function_scheduled_event_details.is_some())
            .count();
        eprintln!(
            "{scenario:?} on moto: {:?}, {} states entered, {invocations} function invocations",
            on_moto.took,
            compare::states_entered_on_moto(&on_moto.history).len()
        );
        let on_ours = local::run(&scenario, &name, input, on_moto.started).await;

        // Both ended, and ended alike.
        assert_eq!(on_moto.status, ExecutionStatus::Succeeded, "{scenario:?}");
        assert!(
            on_ours.succeeded,
            "{scenario:?}: the local execution failed"
        );
        scenario.check(&on_moto.record);
        scenario.check(&on_ours.record);
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
        let diffs = flow_differences(
            &data_flow(flow_on_moto(&on_moto.history)),
            &data_flow(flow_locally(&on_ours.history)),
        );
        assert!(
            diffs.is_empty(),
            "{scenario:?}: the state data differ (moto vs local):\n{}",
            diffs.join("\n")
        );

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
    eprintln!("moto-sfn: {:?} in all", began.elapsed());
}
