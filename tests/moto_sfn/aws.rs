//! The AWS side: moto (S3 with Object Lock, Secrets Manager, Step Functions that run)
//! started through `tests/moto-sfn/launch.py`, the twelve function binaries behind
//! `cargo lambda watch`, configured as the template configures them (variables; secrets
//! in moto's Secrets Manager), and around them the Genesys emulator on the real clock and
//! a local receiver for the signed POSTs (downstream systems, the DSAR tool's callback).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use chrono::{DateTime, Utc};
use clock::{SharedClock, SystemClock};
use erasure_steps::local::receiver::DownstreamReceiver;
use genesys_emulator::{Emulator, JobTiming, RunningEmulator};
use serde_json::{Value, json};
use testkit::MotoServer;
use testkit::cargo_lambda::{CargoLambdaWatch, free_port};

use endpoints::answer::Answer;
use endpoints::approval::{ApprovalConfig, ApprovalEndpoint};
use endpoints::signature::{KeyRing, SIGNATURE_HEADER, SigningKey, TIMESTAMP_HEADER};

use crate::{
    APPROVAL_KEY, APPROVAL_URL, POLL_FIRST_WAIT_SECONDS, POLL_MAX_WAIT_SECONDS, PSEUDONYM_KEY,
    SEED, Scenario, key_text, systems,
};

pub const ARCHIVE_BUCKET: &str = "compliance-archive";
pub const ARCHIVE_PREFIX: &str = "moto/";
const HOLDS_BUCKET: &str = "hold-register";
const HOLDS_KEY: &str = "legal-holds.json";
/// Erase's submission ledger (intent before the POST, request id after).
const LEDGER_BUCKET: &str = "erasure-ledger";
/// An execution that has not ended after this long is a hang, not a slow machine.
const EXECUTION_BOUND: Duration = Duration::from_secs(600);

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

pub struct AwsWorld {
    pub emulator: RunningEmulator,
    pub receiver: DownstreamReceiver,
    _moto: MotoServer,
    lambdas: CargoLambdaWatch,
    sfn: aws_sdk_sfn::Client,
    s3: aws_sdk_s3::Client,
    state_machine: String,
    _env_dir: tempfile::TempDir,
}

/// One execution on moto, ended.
pub struct AwsRun {
    pub execution: String,
    pub status: ExecutionStatus,
    pub started: DateTime<Utc>,
    pub history: Vec<HistoryEvent>,
    pub receipt: Value,
    pub record: Value,
    pub took: Duration,
    /// The DPO's answer at the review gate, when the scenario gives one.
    pub decided: Option<Decided>,
}

/// The review summary notify-review posted, and the DPO's answer to it through the
/// approval endpoint.
pub struct Decided {
    /// The review notice as the review endpoint (the receiver) got it, signed.
    pub notice: Value,
    /// The decision document the DPO's tool sent, and the endpoint's answer.
    pub decision: Value,
    pub answer: Answer,
    /// How long the execution had been running when the notice arrived.
    pub notified_after: Duration,
    /// When the decision was sent to the approval endpoint.
    pub answered_at: DateTime<Utc>,
}

impl AwsWorld {
    pub async fn start() -> AwsWorld {
        let built = tokio::task::spawn_blocking(build_functions);
        let clock: SharedClock = Arc::new(SystemClock);
        // Real time: moto's Wait states sleep for real, so the jobs must be quick too.
        let emulator = Emulator::builder()
            .clock(clock.clone())
            .seed(SEED)
            .job_timing(JobTiming::interactive())
            // Redaction lands seconds (days on live orgs) after COMPLETED; VerifyErasure
            // looks again every REDACTION_RECHECK_SECONDS.
            .redaction_lag(std::time::Duration::from_secs(10))
            .start()
            .await
            .expect("the emulator starts");
        // The review endpoint's notices carry no identifier of the subject: the receiver
        // keeps them, as the DPO's tool would, to answer with their task token.
        let receiver = DownstreamReceiver::start_keeping(systems(), clock, &["review"])
            .await
            .expect("the receiver starts");

        let lambda_port = free_port();
        let moto = MotoServer::start_launched_with_step_functions(
            &repository().join("tests/moto-sfn/launch.py"),
            &[
                "--lambda-endpoint",
                &format!("http://127.0.0.1:{lambda_port}"),
            ],
        );
        let s3 = moto.s3_client();
        s3.create_bucket()
            .bucket(ARCHIVE_BUCKET)
            .object_lock_enabled_for_bucket(true)
            .send()
            .await
            .expect("a locked bucket");
        s3.create_bucket()
            .bucket(HOLDS_BUCKET)
            .send()
            .await
            .expect("the register's bucket");
        s3.create_bucket()
            .bucket(LEDGER_BUCKET)
            .send()
            .await
            .expect("the ledger's bucket");

        let env_dir = tempfile::tempdir().expect("a temp dir");
        let env_file = env_dir.path().join("functions.env");
        std::fs::write(&env_file, environment(&moto, &emulator, &receiver).await)
            .expect("the env file is written");
        built.await.expect("the build of the functions ends");
        let lambdas =
            CargoLambdaWatch::start(&repository().join("Cargo.toml"), &env_file, lambda_port);

        let sfn = moto.sfn_client();
        let definition = erasure_steps::local::DEFINITION;
        let mut text = definition.to_owned();
        for (name, arn) in erasure_steps::local::substitutions() {
            text = text.replace(&format!("${{{name}}}"), &arn);
        }
        let state_machine = moto
            .create_state_machine(erasure_steps::local::STATE_MACHINE_NAME, &text)
            .await;
        AwsWorld {
            emulator,
            receiver,
            _moto: moto,
            lambdas,
            sfn,
            s3,
            state_machine,
            _env_dir: env_dir,
        }
    }

    /// Puts the scenario's legal-hold register where Review reads it.
    pub async fn set_register(&self, scenario: &Scenario) {
        self.s3
            .put_object()
            .bucket(HOLDS_BUCKET)
            .key(HOLDS_KEY)
            .body(ByteStream::from(scenario.register()))
            .send()
            .await
            .expect("the register is uploaded");
    }

    /// The approval endpoint of `crates/endpoints` over aws-sdk-sfn against moto, as the
    /// `approval` function runs it (its key, this state machine, the pipeline's
    /// pseudonym key).
    fn approval_endpoint(&self) -> ApprovalEndpoint<aws_sdk_sfn::Client> {
        let keys = KeyRing::from_secret_json(&json!({ "key": APPROVAL_KEY }).to_string())
            .expect("the approval key");
        ApprovalEndpoint {
            config: ApprovalConfig::new(&self.state_machine, keys, crate::local::pseudonymiser()),
            sfn: self.sfn.clone(),
            archive: Box::new(
                archive::S3Archive::new(
                    self.s3.clone(),
                    archive::S3Settings::new(ARCHIVE_BUCKET, ARCHIVE_PREFIX),
                )
                .expect("the archive"),
            ),
            clock: Arc::new(SystemClock),
        }
    }

    /// The DPO answers `decision` to a review notice, through the approval endpoint's
    /// handler, signed as the DPO's tool signs it; `name_execution` puts the notice's
    /// execution in the decision (the endpoint then checks it still waits).
    pub async fn answer_review(
        &self,
        notice: &Value,
        decision: &str,
        name_execution: bool,
    ) -> (Value, Answer) {
        let now = Utc::now();
        let mut document = json!({
            "taskToken": notice["taskToken"],
            "decision": decision,
            "by": e2e::DPO,
            "role": "DPO",
            "at": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        if name_execution {
            document["executionArn"] = notice["executionId"].clone();
        }
        let body = document.to_string().into_bytes();
        let signature = SigningKey::new(APPROVAL_KEY.as_bytes())
            .expect("the approval key")
            .sign(now.timestamp(), &body);
        let request = lambda_http::http::Request::builder()
            .method("POST")
            .uri("https://approval.lambda-url.us-east-1.on.aws/")
            .header("content-type", "application/json")
            .header(TIMESTAMP_HEADER, now.timestamp().to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(lambda_http::Body::Binary(body))
            .expect("a request");
        // The function's handler, and its HTTP response read back.
        let response = self.approval_endpoint().handle(request).await;
        let status = response.status().as_u16();
        let body: Value = match response.body() {
            lambda_http::Body::Text(t) => serde_json::from_str(t).expect("a JSON answer"),
            lambda_http::Body::Binary(b) => serde_json::from_slice(b).expect("a JSON answer"),
            lambda_http::Body::Empty => Value::Null,
            _ => panic!("an unexpected body"),
        };
        (document, Answer { status, body })
    }

    /// The execution's status and its number of history events (to show an answer
    /// changed nothing).
    pub async fn status_and_events(&self, execution: &str) -> (ExecutionStatus, usize) {
        let d = self
            .sfn
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
            .expect("moto describes the execution");
        (d.status, self.history(execution).await.len())
    }

    /// Every version of every object in the archive bucket.
    pub async fn archive_versions(&self) -> Vec<(String, String)> {
        let out = self
            .s3
            .list_object_versions()
            .bucket(ARCHIVE_BUCKET)
            .send()
            .await
            .expect("moto lists the versions");
        let mut v: Vec<(String, String)> = out
            .versions()
            .iter()
            .map(|v| {
                (
                    v.key().unwrap_or_default().to_owned(),
                    v.version_id().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        v.sort();
        v
    }

    /// Runs `input` as execution `name` to its end; when the scenario answers the review
    /// gate, the DPO approves as soon as the review notice for `name` arrives.
    pub async fn run(&self, scenario: Scenario, name: &str, input: &Value) -> AwsRun {
        let began = Instant::now();
        let execution = self
            .sfn
            .start_execution()
            .state_machine_arn(&self.state_machine)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .expect("the execution starts")
            .execution_arn;
        let mut decided: Option<Decided> = None;
        let described = loop {
            if scenario.dpo_approves() && decided.is_none() {
                let notice = self
                    .receiver
                    .kept("review")
                    .into_iter()
                    .find(|n| n["ticketId"] == name);
                if let Some(notice) = notice {
                    let notified_after = began.elapsed();
                    let answered_at = Utc::now();
                    let (decision, answer) = self.answer_review(&notice, "approve", true).await;
                    decided = Some(Decided {
                        notice,
                        decision,
                        answer,
                        notified_after,
                        answered_at,
                    });
                }
            }
            let d = self
                .sfn
                .describe_execution()
                .execution_arn(&execution)
                .send()
                .await
                .expect("moto describes the execution");
            if d.status != ExecutionStatus::Running {
                break d;
            }
            assert!(
                began.elapsed() < EXECUTION_BOUND,
                "{name} still runs after {EXECUTION_BOUND:?}; states so far: {:?}\nfunctions:\n{}",
                crate::compare::states_entered_on_moto(&self.history(&execution).await),
                self.lambdas.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let took = began.elapsed();
        let history = self.history(&execution).await;
        let output: Value = described
            .output
            .as_deref()
            .map(|o| serde_json::from_str(o).expect("the output is JSON"))
            .unwrap_or(Value::Null);
        let receipt = output;
        let key = receipt["key"].as_str().unwrap_or_else(|| {
            panic!(
                "{name} ended {:?} without a record receipt: {:?} {:?}\nstates: {:?}\nfunctions:\n{}",
                described.status,
                described.error,
                described.cause,
                crate::compare::states_entered_on_moto(&history),
                self.lambdas.log_tail()
            )
        });
        let record = self.read_record(key).await;
        AwsRun {
            execution: execution.clone(),
            status: described.status,
            started: DateTime::from_timestamp(
                described.start_date.secs(),
                described.start_date.subsec_nanos(),
            )
            .expect("a start date"),
            history,
            receipt,
            record,
            took,
            decided,
        }
    }

    pub async fn history(&self, execution: &str) -> Vec<HistoryEvent> {
        let mut events = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .sfn
                .get_execution_history()
                .execution_arn(execution)
                .max_results(1000)
                .set_next_token(token)
                .send()
                .await
                .expect("moto gives the history");
            events.extend(page.events);
            token = page.next_token;
            if token.is_none() {
                return events;
            }
        }
    }

    /// The record at `key`, which must be locked in COMPLIANCE mode (the archive is WORM).
    async fn read_record(&self, key: &str) -> Value {
        let object = self
            .s3
            .get_object()
            .bucket(ARCHIVE_BUCKET)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("no record at {key}: {e:?}"));
        assert_eq!(
            object.object_lock_mode().map(|m| m.as_str()),
            Some("COMPLIANCE"),
            "{key} is not locked"
        );
        let bytes = object
            .body
            .collect()
            .await
            .expect("the record reads")
            .into_bytes();
        serde_json::from_slice(&bytes).expect("records are JSON")
    }
}

/// Builds the function binaries the way `cargo lambda watch` builds each on its first
/// invocation (`cargo run --bin <name>`: one at a time, each with its own package's
/// features, so the artifacts are the ones it will find), before any execution starts.
/// Otherwise the first run after a change builds inside the Tasks, and a build longer
/// than a Task's `TimeoutSeconds` (Intake's 60 s) is a `States.Timeout` that Intake's
/// Retry runs again: the two sides then differ by an invocation.
fn build_functions() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut binaries: Vec<String> = erasure_steps::local::substitutions()
        .into_values()
        .filter_map(|arn| arn.rsplit(':').next().map(str::to_owned))
        .collect();
    binaries.sort();
    binaries.dedup();
    for binary in binaries {
        let out = std::process::Command::new(&cargo)
            .args(["build", "--bin", &binary])
            .current_dir(repository())
            .output()
            .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
        assert!(
            out.status.success(),
            "cargo build --bin {binary} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The functions' environment: the variables `infra/template.yaml` sets (secrets as
/// ARNs of secrets created here in moto), AWS pointed at moto, and the poll back-off
/// shortened because moto's Wait states take real time.
async fn environment(
    moto: &MotoServer,
    emulator: &RunningEmulator,
    receiver: &DownstreamReceiver,
) -> String {
    let sm = moto.secrets_client();
    let secret = |name: &'static str, value: Value| {
        let sm = sm.clone();
        async move {
            sm.create_secret()
                .name(name)
                .secret_string(value.to_string())
                .send()
                .await
                .unwrap_or_else(|e| panic!("moto refused secret {name}: {e:?}"))
                .arn
                .expect("a secret ARN")
        }
    };
    let oauth = emulator.oauth_client();
    let downstream_keys: serde_json::Map<String, Value> = ["crm", "warehouse"]
        .into_iter()
        .map(|s| (s.to_owned(), json!(key_text(s))))
        .collect();
    let downstream: Vec<Value> = ["crm", "warehouse"]
        .into_iter()
        .map(
            |s| json!({"name": s, "endpoint": receiver.endpoint(s).as_str(), "timeoutSeconds": 10}),
        )
        .collect();
    let vars: Vec<(&str, String)> = vec![
        ("AWS_ENDPOINT_URL", moto.endpoint().to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", testkit::REGION.into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
        ("GENESYS_REGION", emulator.base_url()),
        (
            "GENESYS_SECRET_ARN",
            secret(
                "genesys-client",
                json!({"clientId": oauth.client_id, "clientSecret": oauth.client_secret}),
            )
            .await,
        ),
        (
            "PSEUDONYM_KEY_SECRET_ARN",
            // The local side's key (e2e::pseudonymiser): the same refs on both sides.
            secret("pseudonym-key", json!({"key": PSEUDONYM_KEY})).await,
        ),
        ("DOWNSTREAM_SYSTEMS", Value::from(downstream).to_string()),
        (
            "DOWNSTREAM_SECRET_ARN",
            secret("downstream-keys", Value::Object(downstream_keys)).await,
        ),
        ("HOLD_REGISTER_BUCKET", HOLDS_BUCKET.into()),
        ("HOLD_REGISTER_KEY", HOLDS_KEY.into()),
        (
            "REVIEW_ENDPOINT_URL",
            receiver.endpoint("review").as_str().to_owned(),
        ),
        (
            "REVIEW_SECRET_ARN",
            secret("review-key", json!({"key": key_text("review")})).await,
        ),
        ("APPROVAL_URL", APPROVAL_URL.into()),
        (
            "TICKET_CALLBACK_URL",
            receiver.endpoint("dsar").as_str().to_owned(),
        ),
        (
            "TICKET_SECRET_ARN",
            secret("ticket-key", json!({"key": key_text("dsar")})).await,
        ),
        ("LEDGER_BUCKET", LEDGER_BUCKET.into()),
        ("ARCHIVE_BUCKET", ARCHIVE_BUCKET.into()),
        ("ARCHIVE_PREFIX", ARCHIVE_PREFIX.into()),
        (
            "LETTER_SETTINGS",
            testkit::lambda::example_letter_settings(),
        ),
        ("RETENTION_YEARS", "7".into()),
        (
            "DEFINITION_DIGEST",
            erasure_steps::local::definition_digest(),
        ),
        (
            "POLL_FIRST_WAIT_SECONDS",
            POLL_FIRST_WAIT_SECONDS.to_string(),
        ),
        ("POLL_MAX_WAIT_SECONDS", POLL_MAX_WAIT_SECONDS.to_string()),
        (
            "REDACTION_RECHECK_SECONDS",
            crate::REDACTION_RECHECK_SECONDS.to_string(),
        ),
        ("VERIFY_AFTER", crate::VERIFY_AFTER.to_owned()),
    ];
    vars.into_iter()
        // Single quotes: the value as it is (JSON has double quotes).
        .map(|(k, v)| {
            assert!(!v.contains('\''), "{k} cannot be single-quoted");
            format!("{k}='{v}'\n")
        })
        .collect()
}
