//! The end-to-end harness: a virtual clock shared by the local runner, the Genesys
//! client and the in-process emulator (its bundled dataset, real HTTP), a local
//! downstream receiver, and a local (or moto S3) archive. Each test builds its own.
//!
//! Every harness is also the suite's privacy check ([`evidence`]): the first one a
//! test binary starts captures all `tracing` output at TRACE, and each one, when its
//! test ends, fails the test if any identifier of any test subject is in the logs or
//! in its archive.

pub mod corpus;
pub mod evidence;
pub mod load;
pub mod proxy;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use archive::{Archive, LocalArchive, RetentionPolicy};
use chrono::{DateTime, Utc};
use clock::{SharedClock, VirtualClock};
use erasure_core::pseudonym::{PseudonymKey, Pseudonymiser};
use erasure_core::record::ApprovalDecision;
use erasure_core::ticket::IntakeConfig;
use erasure_steps::local::receiver::{Behaviour, DownstreamReceiver};
use erasure_steps::local::{Decider, LocalPipeline, LocalPorts, PipelineDeps, RunOutcome};
use erasure_steps::ports::{
    Downstream, DownstreamSystem, FileHoldRegister, HoldRegisterSource, KeyRing,
    MemoryReviewNotifier, MemoryTicketReporter, NoHoldRegister,
};
use genesys::{ClientConfig, Credentials, Environment, GenesysClient};
use genesys_emulator::{Dataset, Emulator, RunningEmulator};
use serde_json::{Value, json};

/// When the tests' world starts: after the dataset's `asOf`, after the fixture
/// tickets were signed off.
pub const START: &str = "2026-11-23T09:00:00Z";
/// The DPO who answers review gates.
pub const DPO: &str = "maeve.brennan@brightwater.example";

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A fixture ticket's text.
pub fn ticket_text(name: &str) -> String {
    let path = fixtures().join("tickets").join(format!("{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fixture ticket as JSON.
pub fn ticket(name: &str) -> Value {
    serde_json::from_str(&ticket_text(name)).expect("fixture tickets are JSON")
}

/// The pseudonymiser every harness uses (a fixed test key).
pub fn pseudonymiser() -> Pseudonymiser {
    Pseudonymiser::new(PseudonymKey::new("e2e-test-key", vec![0x5a; 32]).expect("a valid key"))
}

/// Where the records go.
pub enum ArchiveChoice {
    Local,
    /// An S3 bucket with Object Lock on a moto server (kept alive by the harness).
    S3(testkit::MotoServer),
    /// The S3 backend reaching moto through a proxy that can fail on demand, the SDK's
    /// own retries off (the definition's Retry is what is tested), and the bucket
    /// created only when `create_bucket` (else the first write finds none).
    S3Proxied {
        moto: testkit::MotoServer,
        proxy: proxy::FaultyProxy,
        create_bucket: bool,
    },
}

/// The archive bucket of S3 harnesses.
pub const BUCKET: &str = "e2e-records";

pub struct Builder {
    start: DateTime<Utc>,
    register: bool,
    decision: Option<ApprovalDecision>,
    silent_system: bool,
    archive: ArchiveChoice,
    intake: IntakeConfig,
    dataset: Option<Dataset>,
    rate_limit: Option<u32>,
    analytics_lookback: Option<chrono::TimeDelta>,
    request_timeout: Option<std::time::Duration>,
    download_ttl: Option<std::time::Duration>,
    simulated: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            start: START.parse().expect("START is a timestamp"),
            register: true,
            decision: Some(ApprovalDecision::Approve),
            silent_system: false,
            archive: ArchiveChoice::Local,
            intake: IntakeConfig::default(),
            dataset: None,
            rate_limit: None,
            analytics_lookback: None,
            request_timeout: None,
            download_ttl: None,
            simulated: false,
        }
    }
}

impl Builder {
    pub fn start_at(mut self, t: &str) -> Self {
        self.start = t.parse().expect("a timestamp");
        self
    }
    /// Without the fixture legal-hold register (an explicitly empty one).
    pub fn no_register(mut self) -> Self {
        self.register = false;
        self
    }
    /// How the DPO answers the review gate (`None`: nobody answers).
    pub fn decision(mut self, d: Option<ApprovalDecision>) -> Self {
        self.decision = d;
        self
    }
    /// Adds a downstream system, `archive-vault`, that never answers.
    pub fn with_silent_system(mut self) -> Self {
        self.silent_system = true;
        self
    }
    pub fn archive(mut self, a: ArchiveChoice) -> Self {
        self.archive = a;
        self
    }
    /// Intake's settings (default region, clock basis, ...).
    pub fn intake(mut self, c: IntakeConfig) -> Self {
        self.intake = c;
        self
    }
    /// A discrete-event clock (`clock::TokioClock`) instead of the `VirtualClock`:
    /// for many executions at once, each seeing time pass as it would for it. The
    /// test must run on a paused current-thread runtime
    /// (`#[tokio::test(start_paused = true)]`).
    pub fn simulated_clock(mut self) -> Self {
        self.simulated = true;
        self
    }
    /// The emulator's dataset (default: the bundled one).
    pub fn dataset(mut self, d: Dataset) -> Self {
        self.dataset = Some(d);
        self
    }
    /// How far back Review's analytics query looks (default: the deployment's, 3660
    /// days, in 7-day slices: about 520 queries per phone number). A dataset that
    /// spans months needs less, and the load test's shared 300 requests a minute are
    /// then spent on what it measures.
    pub fn analytics_lookback(mut self, lookback: chrono::TimeDelta) -> Self {
        self.analytics_lookback = Some(lookback);
        self
    }
    /// How long the emulator keeps an export's downloads (default: its own, 7 days).
    pub fn download_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.download_ttl = Some(ttl);
        self
    }

    /// The emulator's requests per minute per OAuth client (default: its own, 300).
    pub fn rate_limit_per_minute(mut self, n: u32) -> Self {
        self.rate_limit = Some(n);
        self
    }
    /// The Genesys client's real-time limit on one request (default 60 s), so that a
    /// fault delaying an answer in real time trips it quickly.
    pub fn genesys_request_timeout(mut self, t: std::time::Duration) -> Self {
        self.request_timeout = Some(t);
        self
    }

    pub async fn start(self) -> Harness {
        evidence::init();
        let shared: SharedClock = if self.simulated {
            Arc::new(clock::TokioClock::starting_at(self.start))
        } else {
            Arc::new(VirtualClock::starting_at(self.start))
        };
        let clock = shared.clone();
        let mut emulator = Emulator::builder().clock(shared.clone()).seed(7);
        if let Some(d) = self.dataset {
            emulator = emulator.dataset(d);
        }
        if let Some(n) = self.rate_limit {
            emulator = emulator.rate_limit_per_minute(n);
        }
        if let Some(ttl) = self.download_ttl {
            emulator = emulator.download_ttl(ttl);
        }
        let emulator = emulator.start().await.expect("the emulator starts");
        let oauth = emulator.oauth_client();
        let mut config = ClientConfig::new(
            Environment::BaseUrl(emulator.base_url().parse().expect("a URL")),
            Credentials::new(oauth.client_id, oauth.client_secret),
        )
        .with_clock(shared.clone());
        if let Some(t) = self.request_timeout {
            config.timeouts.request = t;
        }
        let genesys = GenesysClient::new(config).expect("a Genesys client");

        let mut systems = vec![
            ("crm".to_owned(), key("crm-key"), Behaviour::Acknowledge),
            (
                "warehouse".to_owned(),
                key("warehouse-key"),
                Behaviour::Acknowledge,
            ),
        ];
        if self.silent_system {
            systems.push((
                "archive-vault".to_owned(),
                key("vault-key"),
                Behaviour::NeverAnswer,
            ));
        }
        // The crm's instructions are kept, so a test reads what a system was told.
        let receiver = DownstreamReceiver::start_keeping(systems.clone(), shared.clone(), &["crm"])
            .await
            .expect("the receiver starts");
        let downstream = Downstream::new(
            systems
                .iter()
                .map(|(name, k, b)| DownstreamSystem {
                    name: name.clone(),
                    endpoint: receiver.endpoint(name),
                    key: k.clone(),
                    timeout: match b {
                        // Real time: each attempt waits this long for an answer.
                        Behaviour::NeverAnswer => std::time::Duration::from_millis(200),
                        Behaviour::Acknowledge => std::time::Duration::from_secs(10),
                    },
                })
                .collect(),
        )
        .expect("valid systems");

        let archive_dir = tempfile::tempdir().expect("a temp dir");
        let (store, moto, proxy): (
            Arc<dyn Archive>,
            Option<testkit::MotoServer>,
            Option<proxy::FaultyProxy>,
        ) = match self.archive {
            ArchiveChoice::Local => (
                Arc::new(LocalArchive::new(
                    archive_dir.path(),
                    RetentionPolicy::default(),
                )),
                None,
                None,
            ),
            ArchiveChoice::S3(moto) => {
                let client = moto.s3_client();
                create_locked_bucket(&client).await;
                let s3 = archive::S3Archive::new(client, archive::S3Settings::new(BUCKET, "prod/"))
                    .expect("an S3 archive");
                (Arc::new(s3), Some(moto), None)
            }
            ArchiveChoice::S3Proxied {
                moto,
                proxy,
                create_bucket,
            } => {
                if create_bucket {
                    create_locked_bucket(&moto.s3_client()).await;
                }
                let s3 = archive::S3Archive::new(
                    proxied_s3_client(&proxy),
                    archive::S3Settings::new(BUCKET, "prod/"),
                )
                .expect("an S3 archive");
                (Arc::new(s3), Some(moto), Some(proxy))
            }
        };
        let written = evidence::Written::default();
        let archive: Arc<dyn Archive> = Arc::new(evidence::Teed {
            inner: store,
            written: written.clone(),
        });

        let holds: Arc<dyn HoldRegisterSource> = if self.register {
            Arc::new(FileHoldRegister {
                path: fixtures().join("holds").join("register.json"),
            })
        } else {
            Arc::new(NoHoldRegister)
        };
        let pseudonymiser = Arc::new(pseudonymiser());
        let notices = Arc::new(MemoryReviewNotifier::default());
        let reports = Arc::new(MemoryTicketReporter::default());
        let mut deps = PipelineDeps::from_ports(LocalPorts {
            genesys,
            clock: shared.clone(),
            pseudonymiser: pseudonymiser.clone(),
            intake: self.intake,
            holds,
            downstream,
            archive: archive.clone(),
            notifier: notices.clone(),
            reporter: reports.clone(),
            letters: erasure_steps::local::example_letters()
                .expect("the embedded letter templates pass their checks"),
        });
        if let Some(lookback) = self.analytics_lookback {
            deps.review.analytics.lookback = lookback;
        }
        let reviewer = Arc::new(Decider::new(
            self.decision,
            &DPO.parse().expect("an e-mail"),
            "DPO",
            "e2e",
            &pseudonymiser,
            shared.clone(),
        ));
        let pipeline = LocalPipeline::new(deps.clone(), reviewer.clone(), shared, 11)
            .expect("the definition loads");
        Harness {
            deps,
            reviewer,
            clock,
            emulator,
            receiver,
            archive,
            archive_dir,
            written,
            moto,
            proxy,
            pipeline,
            notices,
            reports,
        }
    }
}

/// Creates the archive bucket, Object Lock on.
pub async fn create_locked_bucket(client: &aws_sdk_s3::Client) {
    client
        .create_bucket()
        .bucket(BUCKET)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("a locked bucket");
}

/// An S3 client whose requests go through `proxy`, with the SDK's retries off.
pub fn proxied_s3_client(proxy: &proxy::FaultyProxy) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version_latest()
        .region(aws_sdk_s3::config::Region::new(testkit::moto::REGION))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "e2e",
        ))
        .endpoint_url(proxy.endpoint())
        .force_path_style(true)
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A test key of `s`, padded to the 32 bytes a key must have.
fn key(s: &str) -> KeyRing {
    KeyRing::from_key(format!("{s:-<32}")).expect("a 32-byte key")
}

pub struct Harness {
    deps: PipelineDeps,
    reviewer: Arc<Decider>,
    pub clock: SharedClock,
    pub emulator: RunningEmulator,
    pub receiver: DownstreamReceiver,
    pub archive: Arc<dyn Archive>,
    archive_dir: tempfile::TempDir,
    written: evidence::Written,
    moto: Option<testkit::MotoServer>,
    proxy: Option<proxy::FaultyProxy>,
    pub pipeline: LocalPipeline,
    pub notices: Arc<MemoryReviewNotifier>,
    pub reports: Arc<MemoryTicketReporter>,
}

impl Harness {
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Another runner over the same world (the same ticket can be started again, as
    /// after a redeployment or by a second webhook).
    pub fn another_pipeline(&self) -> LocalPipeline {
        LocalPipeline::new(
            self.deps.clone(),
            self.reviewer.clone(),
            self.clock.clone(),
            12,
        )
        .expect("the definition loads")
    }

    /// A runner over this world whose Tasks are routed as `route` changes them (to make
    /// a step fail where nothing in the world would).
    pub fn runner_with(
        &self,
        route: impl FnOnce(local_runner::Resources) -> local_runner::Resources,
    ) -> local_runner::Runner {
        let clock = self.clock.clone();
        let definition = local_runner::Definition::from_json_str(
            erasure_steps::local::DEFINITION,
            &erasure_steps::local::substitutions(),
        )
        .expect("the definition loads");
        let resources =
            erasure_steps::local::resources(Arc::new(self.deps.clone()), self.reviewer.clone());
        local_runner::Runner::builder(definition)
            .resources(route(resources))
            .clock(clock)
            .seed(13)
            .state_machine_name(erasure_steps::local::STATE_MACHINE_NAME)
            .build()
            .expect("every Task has a handler")
    }

    /// The moto server of an S3 harness.
    pub fn moto(&self) -> Option<&testkit::MotoServer> {
        self.moto.as_ref()
    }

    /// The proxy in front of moto of an `S3Proxied` harness.
    pub fn proxy(&self) -> Option<&proxy::FaultyProxy> {
        self.proxy.as_ref()
    }

    /// The DPO's answer at the review gate, as the approval endpoint passes it on.
    pub fn approval(&self, decision: ApprovalDecision) -> Value {
        serde_json::to_value(self.reviewer.approval(decision)).expect("an approval is JSON")
    }

    /// The steps' dependencies (to build a runner that differs in one port).
    pub fn deps(&self) -> &PipelineDeps {
        &self.deps
    }

    /// A pipeline over this world with other dependencies (`change` edits a copy).
    pub fn pipeline_with(&self, change: impl FnOnce(&mut PipelineDeps)) -> LocalPipeline {
        let mut deps = self.deps.clone();
        change(&mut deps);
        LocalPipeline::new(deps, self.reviewer.clone(), self.clock.clone(), 14)
            .expect("the definition loads")
    }

    /// What the privacy check finds in the logs captured since the last check and in
    /// this harness's archive (empty when nothing leaked).
    pub fn privacy_findings(&self) -> Vec<String> {
        let n = evidence::needles();
        let mut found = n.scan(&evidence::take_unscanned_logs(), "logs");
        for f in evidence::files_under(self.archive_dir.path()) {
            let bytes = std::fs::read(&f).unwrap_or_default();
            found.extend(n.scan(
                &String::from_utf8_lossy(&bytes),
                &format!("archive file {}", f.display()),
            ));
        }
        for (key, bytes) in self.written.take() {
            found.extend(n.scan(&String::from_utf8_lossy(&bytes), &format!("record {key}")));
        }
        found
    }

    /// A client of the emulator, for setting up a scenario (deletion protection).
    pub fn genesys(&self) -> GenesysClient {
        self.deps.genesys.client.clone()
    }

    /// Runs a fixture ticket (execution named after its id).
    pub async fn run(&self, fixture: &str) -> Run {
        let t = ticket(fixture);
        let name = t["ticket"]["id"]
            .as_str()
            .expect("fixtures have ids")
            .to_owned();
        self.run_input(&name, t).await
    }

    /// Runs any execution input under `name`.
    pub async fn run_input(&self, name: &str, input: Value) -> Run {
        self.run_on(&self.pipeline, name, input).await
    }

    /// Runs on a given pipeline of this world.
    pub async fn run_on(&self, pipeline: &LocalPipeline, name: &str, input: Value) -> Run {
        let outcome = pipeline
            .run(name, input)
            .await
            .expect("the execution starts");
        let record = match &outcome.record {
            Some(r) => Some(self.read_record(&r.key).await),
            None => None,
        };
        Run { outcome, record }
    }

    /// Runs text the caller could not parse: `{rawTicket}`.
    pub async fn run_raw(&self, name: &str, text: &str) -> Run {
        self.run_input(name, json!({ "rawTicket": text })).await
    }

    /// A record's JSON, read back from the archive.
    pub async fn read_record(&self, key: &str) -> Value {
        serde_json::from_slice(&self.read_record_bytes(key).await).expect("records are JSON")
    }

    pub async fn read_record_bytes(&self, key: &str) -> Vec<u8> {
        let entry = self
            .archive
            .list(None)
            .await
            .expect("the archive lists")
            .into_iter()
            .find(|e| e.key == key)
            .unwrap_or_else(|| panic!("no record at {key}"));
        self.archive
            .read(&entry)
            .await
            .expect("the record reads")
            .bytes
    }

    /// Every record of a ticket, oldest first.
    /// The ticket's verification records (`verifications/`), oldest first.
    pub async fn verifications_of(&self, ticket_id: &str) -> Vec<Value> {
        let mut out = Vec::new();
        for e in self
            .archive
            .list_verifications(Some(ticket_id))
            .await
            .expect("the archive lists")
        {
            let bytes = self.archive.read(&e).await.expect("reads").bytes;
            out.push(serde_json::from_slice(&bytes).expect("JSON"));
        }
        out
    }

    pub async fn records_of(&self, ticket_id: &str) -> Vec<Value> {
        let mut out = Vec::new();
        for e in self
            .archive
            .list(Some(ticket_id))
            .await
            .expect("the archive lists")
        {
            let bytes = self.archive.read(&e).await.expect("reads").bytes;
            out.push(serde_json::from_slice(&bytes).expect("JSON"));
        }
        out
    }

    /// Conversation ids the emulator still has untouched by a GDPR_DELETE: neither
    /// removed nor redacted (a delete redacts by default, as on live orgs, so "erased"
    /// means one or the other).
    pub fn conversation_ids(&self) -> std::collections::BTreeSet<String> {
        let redacted: std::collections::BTreeSet<String> = self
            .emulator
            .gdpr_requests()
            .into_iter()
            .flat_map(|j| j.outcome.redacted_conversation_ids)
            .collect();
        self.emulator
            .conversations()
            .into_iter()
            .map(|c| c.id)
            .filter(|c| !redacted.contains(c))
            .collect()
    }

    /// Ids of recordings the emulator has that are not deleted.
    pub fn live_recording_ids(&self) -> std::collections::BTreeSet<String> {
        self.emulator
            .recordings()
            .into_iter()
            .filter(|(_, r)| !matches!(r.file_state, genesys_emulator::dataset::FileState::Deleted))
            .map(|(_, r)| r.id)
            .collect()
    }

    /// The persona's conversations (customer side) from the dataset.
    pub fn persona_conversations(key: &str) -> Vec<String> {
        genesys_emulator::Dataset::bundled()
            .persona(key)
            .unwrap_or_else(|| panic!("no persona {key}"))
            .customer_conversation_ids
            .clone()
    }
}

impl Drop for Harness {
    /// The privacy check, when the test ends: a test that already failed is not
    /// failed again.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let found = self.privacy_findings();
        assert!(
            found.is_empty(),
            "identifiers of test subjects leaked:\n{}",
            found.join("\n")
        );
    }
}

/// One finished execution and its record.
pub struct Run {
    pub outcome: RunOutcome,
    pub record: Option<Value>,
}

impl Run {
    /// The record (every execution must end with one).
    pub fn record(&self) -> &Value {
        self.record.as_ref().unwrap_or_else(|| {
            panic!(
                "the execution ended without a record: {:?}",
                self.outcome.result.error()
            )
        })
    }

    pub fn outcome(&self) -> &str {
        self.record()["outcome"].as_str().expect("an outcome")
    }

    /// The digest of the record the execution wrote (its receipt).
    pub fn record_digest(&self) -> String {
        (self.outcome.record.as_ref())
            .map(|r| r.digest.clone())
            .expect("a record receipt")
    }

    /// The execution state as the named state left it (its last exit).
    pub fn state_after(&self, state: &str) -> Option<Value> {
        (self.outcome.result.history.iter().rev())
            .filter(|e| e.kind.ends_with("StateExited"))
            .find(|e| e.state_name.as_deref() == Some(state))
            .and_then(|e| e.details["output"].as_str())
            .and_then(|text| serde_json::from_str(text).ok())
    }

    /// Names of the states entered, in order.
    pub fn states(&self) -> Vec<String> {
        self.outcome
            .result
            .history
            .iter()
            .filter(|e| e.kind.ends_with("StateEntered"))
            .filter_map(|e| e.state_name.clone())
            .collect()
    }
}
