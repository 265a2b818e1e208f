//! The same execution on our side: the local runner and the steps in process
//! (`erasure_steps::local`), as `gdpr-erasure run` and the e2e tests run them, against a
//! fresh emulator built like the AWS side's (same seed, same job timing, same poll
//! back-off) but on a virtual clock starting when the moto execution started.

use std::sync::Arc;

use archive::{Archive, LocalArchive, RetentionPolicy};
use chrono::{DateTime, Utc};
use clock::{SharedClock, VirtualClock};
use erasure_core::pseudonym::{PseudonymKey, Pseudonymiser};
use erasure_core::record::ApprovalDecision;
use erasure_steps::gdpr::PollPolicy;
use erasure_steps::local::receiver::DownstreamReceiver;
use erasure_steps::local::{Decider, LocalPipeline, LocalPorts, PipelineDeps};
use erasure_steps::ports::{
    Downstream, DownstreamSystem, FileHoldRegister, MemoryReviewNotifier, MemoryTicketReporter,
};
use genesys::{ClientConfig, Credentials, Environment, GenesysClient};
use genesys_emulator::{Emulator, JobTiming, RunningEmulator};
use local_runner::Event;
use serde_json::Value;

use crate::{
    POLL_FIRST_WAIT_SECONDS, POLL_MAX_WAIT_SECONDS, PSEUDONYM_KEY, SEED, Scenario, key, systems,
};

pub fn pseudonymiser() -> Pseudonymiser {
    Pseudonymiser::new(
        PseudonymKey::from_bytes(PSEUDONYM_KEY.as_bytes().to_vec()).expect("a valid key"),
    )
}

/// One local execution, ended.
pub struct LocalRun {
    pub history: Vec<Event>,
    pub succeeded: bool,
    pub record: Value,
    pub emulator: RunningEmulator,
    pub receiver: DownstreamReceiver,
    pub reports: usize,
    /// The review notices notify-review sent (the summary, the task token).
    pub notices: Vec<Value>,
    /// Retries made by the definition's Retry rules.
    pub retries: u64,
}

pub async fn run(scenario: &Scenario, name: &str, input: Value, start: DateTime<Utc>) -> LocalRun {
    let clock = Arc::new(VirtualClock::starting_at(start));
    let shared: SharedClock = clock.clone();
    let emulator = Emulator::builder()
        .clock(shared.clone())
        .seed(SEED)
        .job_timing(JobTiming::interactive())
        // As on the AWS side: the redaction lands ten seconds after COMPLETED.
        .redaction_lag(std::time::Duration::from_secs(10))
        .start()
        .await
        .expect("the emulator starts");
    scenario.prepare(&emulator);
    let oauth = emulator.oauth_client();
    let genesys = GenesysClient::new(
        ClientConfig::new(
            Environment::BaseUrl(emulator.base_url().parse().expect("a URL")),
            Credentials::new(oauth.client_id, oauth.client_secret),
        )
        .with_clock(shared.clone()),
    )
    .expect("a Genesys client");
    let receiver = DownstreamReceiver::start(systems(), shared.clone())
        .await
        .expect("the receiver starts");
    let downstream = Downstream::new(
        ["crm", "warehouse"]
            .into_iter()
            .map(|name| DownstreamSystem {
                name: name.to_owned(),
                endpoint: receiver.endpoint(name),
                key: key(name),
                timeout: std::time::Duration::from_secs(10),
            })
            .collect(),
    )
    .expect("valid systems");
    let dir = tempfile::tempdir().expect("a temp dir");
    let register = dir.path().join("legal-holds.json");
    std::fs::write(&register, scenario.register()).expect("the register is written");
    std::fs::create_dir(dir.path().join("archive")).expect("the archive's directory");
    let archive: Arc<dyn Archive> = Arc::new(LocalArchive::new(
        dir.path().join("archive"),
        RetentionPolicy::years(7).expect("seven years"),
    ));
    let pseudonymiser = Arc::new(pseudonymiser());
    let reports = Arc::new(MemoryTicketReporter::default());
    let notices = Arc::new(MemoryReviewNotifier::default());
    let mut deps = PipelineDeps::from_ports(LocalPorts {
        genesys,
        clock: shared.clone(),
        pseudonymiser: pseudonymiser.clone(),
        intake: erasure_core::ticket::IntakeConfig::default(),
        holds: Arc::new(FileHoldRegister { path: register }),
        downstream,
        archive: archive.clone(),
        notifier: notices.clone(),
        reporter: reports.clone(),
        letters: erasure_steps::local::example_letters()
            .expect("the embedded letter templates pass their checks"),
    });
    // The AWS side's POLL_FIRST_WAIT_SECONDS / POLL_MAX_WAIT_SECONDS.
    deps.genesys.poll = PollPolicy {
        first_wait: std::time::Duration::from_secs(POLL_FIRST_WAIT_SECONDS),
        max_wait: std::time::Duration::from_secs(POLL_MAX_WAIT_SECONDS),
        ..PollPolicy::default()
    };
    // The AWS side's REDACTION_RECHECK_SECONDS.
    deps.verify.recheck_every = chrono::Duration::seconds(crate::REDACTION_RECHECK_SECONDS);
    deps.verify.later_checks =
        erasure_steps::reverify::parse_schedule(crate::VERIFY_AFTER).expect("a schedule");
    // The DPO approves at once, as in the e2e tests, over the channel the approval
    // endpoint records (the AWS side's decision comes through it).
    let reviewer = Arc::new(Decider::new(
        Some(ApprovalDecision::Approve),
        &e2e::DPO.parse().expect("an e-mail"),
        "DPO",
        endpoints::approval::CHANNEL,
        &pseudonymiser,
        shared.clone(),
    ));
    let pipeline = LocalPipeline::new(deps, reviewer, shared, SEED).expect("the definition loads");
    let outcome = pipeline
        .run(name, input)
        .await
        .expect("the execution starts");
    let receipt = outcome.record.clone().unwrap_or_else(|| {
        let failures: Vec<String> = outcome
            .result
            .history
            .iter()
            .filter(|e| e.kind.ends_with("Failed"))
            .map(|e| format!("{} {:?} {}", e.kind, e.state_name, e.details))
            .collect();
        panic!(
            "the local execution ended without a record: {:?}\n{}",
            outcome.result.error(),
            failures.join("\n")
        )
    });
    let entry = archive
        .list(None)
        .await
        .expect("the archive lists")
        .into_iter()
        .find(|e| e.key == receipt.key)
        .expect("the record is in the archive");
    let bytes = archive.read(&entry).await.expect("the record reads").bytes;
    LocalRun {
        succeeded: outcome.result.output().is_some(),
        retries: outcome.result.counts.retries,
        notices: notices
            .notices()
            .iter()
            .map(|n| serde_json::to_value(n).expect("a notice is JSON"))
            .collect(),
        history: outcome.result.history,
        record: serde_json::from_slice(&bytes).expect("records are JSON"),
        emulator,
        receiver,
        reports: reports.reports().len(),
    }
}
