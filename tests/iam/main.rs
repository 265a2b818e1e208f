//! IAM tested, not read: each function runs against moto with IAM enforced, as an IAM
//! user whose one policy is what `infra/template.yaml` gives that function's role
//! (derived by `infra/scripts/iam_policies.py`: every Ref, GetAtt and Sub resolved to
//! the resources created here), through every path it takes.
//!
//! moto enforces IAM once its `INITIAL_NO_AUTH_ACTION_COUNT` is used up (set to 0 here
//! after setup): a call must be signed by an IAM user's key and allowed by that user's
//! policies. `tests/iam/launch.py` makes moto check the secret and state machine ARNs
//! too (moto itself matches resources for S3 only), names S3 calls as IAM does, and
//! writes every decision down; docs/iam.md says what moto still does not enforce
//! (conditions, resource policies, KMS calls services make for the caller).
//!
//! - `every_function_works_with_exactly_its_template_grants`: the webhook (new,
//!   repeated, conflicting and ended ticket), approval (approve, reject, an annotation), watchdog,
//!   write-record (first write, retry), notify-review, intake, erase (first delete,
//!   retry), locate, poll, verify-erasure and report-ticket with their grants (the
//!   Genesys steps against the emulator); then the
//!   report of granted vs exercised actions, where every granted action the tests
//!   never exercised must be one of [`NOT_EXERCISABLE`], with its reason.
//! - `a_grant_taken_out_of_the_template_fails_its_path`: one grant each function needs
//!   removed from its derived policy; the path that needs it fails, denied.

#[path = "../../crates/endpoints/tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use archive::{Archive, Record, S3Archive, S3Settings};
use chrono::{Duration, Utc};
use clock::{SharedClock, SystemClock, VirtualClock};
use common::*;
use endpoints::approval::{ApprovalConfig, ApprovalEndpoint};
use endpoints::startup;
use endpoints::watchdog::{HttpNotifier, Watchdog, WatchdogConfig};
use endpoints::webhook::{Webhook, WebhookConfig};
use erasure_core::pseudonym::{PseudonymKey, Pseudonymiser};
use erasure_steps::env::Env;
use erasure_steps::gdpr::GenesysDeps;
use erasure_steps::hold_recheck::{self, HoldsAtReview};
use erasure_steps::local::receiver::{Behaviour, DownstreamReceiver};
use erasure_steps::ports::KeyRing;
use erasure_steps::state::{IdentifiersSection, Selection, SubjectSection};
use erasure_steps::{
    erase, intake, locate, notify_downstream, notify_review, offboard_agent, poll,
    purge_recordings, report_ticket, review, verify_erasure, write_record,
};
use genesys_emulator::{Emulator, RunningEmulator};
use serde_json::{Value, json};
use testkit::{MotoServer, RecordBuilder};

const STACK: &str = "gdpr-erasure";
const BUCKET: &str = "gdpr-erasure-archive";
const TICKET_KEY: &str = "ticket-callback-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABC";
const REVIEW_KEY: &str = "review-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLM";
const DOWNSTREAM_KEY: &str = "downstream-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH";
const LEDGER_BUCKET: &str = "gdpr-erasure-ledger";
const HOLD_BUCKET: &str = "gdpr-erasure-hold-register";
const HOLD_KEY: &str = "legal-holds.json";
const HOLD_REGISTER: &str = r#"{"holds": []}"#;

/// The functions under test: user name, role in the template.
const FUNCTIONS: &[(&str, &str)] = &[
    ("ticket-webhook", "TicketWebhookRole"),
    ("approval", "ApprovalRole"),
    ("watchdog", "WatchdogRole"),
    ("write-record", "WriteRecordRole"),
    ("notify-review", "NotifyReviewRole"),
    ("intake", "IntakeRole"),
    ("erase", "EraseRole"),
    ("locate", "LocateRole"),
    ("poll", "PollRole"),
    ("verify-erasure", "VerifyErasureRole"),
    ("report-ticket", "ReportTicketRole"),
    ("notify-downstream", "NotifyDownstreamRole"),
    ("review", "ReviewRole"),
    ("purge-recordings", "PurgeRecordingsRole"),
    ("offboard-agent", "OffboardAgentRole"),
    ("console", "ConsoleRole"),
];

/// Granted actions no test against moto can exercise, and why: (function, or `*` for
/// every function; action; reason). A granted action that the tests did not exercise
/// and that is not here fails the report: either a path is untested or the grant is
/// unused.
const NOT_EXERCISABLE: &[(&str, &str, &str)] = &[
    (
        "*",
        "logs:CreateLogStream",
        "Lambda writes the function's logs with the role; the code never calls CloudWatch Logs",
    ),
    (
        "*",
        "logs:PutLogEvents",
        "Lambda writes the function's logs with the role; the code never calls CloudWatch Logs",
    ),
    (
        "*",
        "xray:PutTraceSegments",
        "Lambda sends the active-tracing segments with the role; the code never calls X-Ray",
    ),
    (
        "*",
        "xray:PutTelemetryRecords",
        "Lambda sends the active-tracing segments with the role; the code never calls X-Ray",
    ),
    (
        "*",
        "kms:Decrypt",
        "Step Functions and Secrets Manager call KMS for the caller; moto encrypts nothing",
    ),
    (
        "*",
        "kms:GenerateDataKey",
        "Step Functions calls KMS for the caller to encrypt execution data; moto does not",
    ),
    (
        "watchdog",
        "s3:GetObjectRetention",
        "S3 returns a version's lock in HeadObject only to a caller with it (moto to anyone); \
         a checkpoint written again reports the lock it finds",
    ),
    (
        "approval",
        "s3:GetObjectRetention",
        "S3 returns a version's lock in HeadObject only to a caller with it (moto to anyone); \
         an annotation found already written reports the lock it finds",
    ),
    (
        "console",
        "s3:GetObjectRetention",
        "S3 returns a version's lock in HeadObject only to a caller with it (moto to anyone); \
         an annotation found already written reports the lock it finds",
    ),
    (
        "write-record",
        "s3:GetObjectRetention",
        "S3 returns a version's lock in HeadObject only to a caller with it (moto to anyone); \
         a retried write reports the lock it finds",
    ),
    (
        "*",
        "s3:ListBucket",
        "without it S3 answers a missing key 403, not 404 (moto: 404), and the archive tells \
         'not found' from 'access denied' by that",
    ),
];

/// The removals: (function, action taken out of its policy).
const REMOVALS: &[(&str, &str)] = &[
    ("ticket-webhook", "states:DescribeExecution"),
    ("ticket-webhook", "states:StartExecution"),
    ("approval", "states:SendTaskSuccess"),
    ("approval", "states:GetExecutionHistory"),
    ("approval", "secretsmanager:GetSecretValue"),
    ("approval", "s3:PutObject"),
    ("watchdog", "states:ListExecutions"),
    ("watchdog", "s3:GetObjectVersion"),
    ("watchdog", "s3:PutObject"),
    ("write-record", "s3:PutObjectRetention"),
    ("write-record", "s3:GetBucketObjectLockConfiguration"),
    ("notify-review", "secretsmanager:GetSecretValue"),
    ("intake", "s3:GetBucketObjectLockConfiguration"),
    ("erase", "s3:PutObject"),
    ("locate", "secretsmanager:GetSecretValue"),
    ("verify-erasure", "secretsmanager:GetSecretValue"),
    ("report-ticket", "secretsmanager:GetSecretValue"),
    ("notify-downstream", "secretsmanager:GetSecretValue"),
    ("review", "s3:GetObject"),
    ("purge-recordings", "s3:GetObject"),
    ("offboard-agent", "secretsmanager:GetSecretValue"),
    ("console", "states:SendTaskSuccess"),
    ("console", "s3:PutObject"),
];

#[derive(Debug, Clone)]
struct User {
    key: String,
    secret: String,
    policy: Value,
}

/// moto with the template's resources, one IAM user per function (and per removal),
/// IAM enforced.
struct Stack {
    moto: MotoServer,
    /// Genesys for the steps that call it (the emulator, on the system clock).
    genesys: RunningEmulator,
    _dir: tempfile::TempDir,
    audit_log: PathBuf,
    sm: String,
    secrets: BTreeMap<&'static str, String>,
    users: BTreeMap<String, User>,
}

fn removal_user(function: &str, action: &str) -> String {
    format!("{function}-without-{}", action.replace(':', "."))
}

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// Runs `iam_policies.py <command>` with `spec` on stdin; its JSON answer.
fn iam_policies(command: &str, spec: &Value) -> Value {
    let python = testkit::moto::python().unwrap_or_else(|e| panic!("{e}"));
    let mut child = Command::new(python)
        .arg(repo_file("infra/scripts/iam_policies.py"))
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("iam_policies.py starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(spec.to_string().as_bytes())
        .expect("spec written");
    let out = child.wait_with_output().expect("iam_policies.py ends");
    assert!(
        out.status.success(),
        "iam_policies.py {command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from iam_policies.py")
}

impl Stack {
    async fn new(removals: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        // Jobs take seconds of real time, so an export completes for Review.
        let genesys = Emulator::builder()
            .job_timing(genesys_emulator::JobTiming::interactive())
            .start()
            .await
            .expect("the emulator");
        let audit_log = dir.path().join("calls.jsonl");
        let audit_arg = audit_log.to_string_lossy().into_owned();
        let moto = MotoServer::start_launched_with_step_functions(
            &repo_file("tests/iam/launch.py"),
            &["--audit-log", &audit_arg],
        );

        // Setup, before IAM is enforced: what CloudFormation would create.
        let notify = moto.stub_lambda("notify-review");
        let sm = moto
            .create_state_machine(
                &format!("{STACK}-erasure"),
                &definition(&notify).to_string(),
            )
            .await;
        let sm_client = moto.secrets_client();
        let mut secrets = BTreeMap::new();
        for (logical, key) in [
            ("WebhookSecret", WEBHOOK_KEY),
            ("ApprovalSecret", APPROVAL_KEY),
            ("PseudonymKeySecret", PSEUDONYM_KEY),
            ("ReviewSecret", REVIEW_KEY),
            ("TicketCallbackSecret", TICKET_KEY),
            ("GenesysClientSecret", ""),
            ("DownstreamSecret", DOWNSTREAM_KEY),
        ] {
            let value = match logical {
                "GenesysClientSecret" => {
                    let c = genesys.oauth_client();
                    json!({"clientId": c.client_id, "clientSecret": c.client_secret})
                }
                // The downstream secret holds one key per system.
                "DownstreamSecret" => json!({ "crm": key }),
                _ => json!({ "key": key }),
            };
            let arn = sm_client
                .create_secret()
                .name(format!("{STACK}-{logical}"))
                .secret_string(value.to_string())
                .send()
                .await
                .expect("secret")
                .arn()
                .expect("arn")
                .to_owned();
            secrets.insert(logical, arn);
        }
        moto.s3_client()
            .create_bucket()
            .bucket(BUCKET)
            .object_lock_enabled_for_bucket(true)
            .send()
            .await
            .expect("archive bucket");
        let s3 = moto.s3_client();
        for bucket in [LEDGER_BUCKET, HOLD_BUCKET] {
            s3.create_bucket()
                .bucket(bucket)
                .send()
                .await
                .expect("bucket");
        }
        s3.put_object()
            .bucket(HOLD_BUCKET)
            .key(HOLD_KEY)
            .body(HOLD_REGISTER.as_bytes().to_vec().into())
            .send()
            .await
            .expect("the hold register");

        let mut resources = json!({
            "ErasureStateMachine": sm,
            "ArchiveBucket": BUCKET,
            "HoldRegisterBucket": HOLD_BUCKET,
            "LedgerBucket": LEDGER_BUCKET,
        });
        for (logical, arn) in &secrets {
            resources[*logical] = json!(arn);
        }
        let mut wanted: Vec<Value> = FUNCTIONS
            .iter()
            .map(|(name, role)| json!({"name": name, "role": role}))
            .collect();
        for (function, action) in removals {
            let role = FUNCTIONS
                .iter()
                .find(|(n, _)| n == function)
                .expect("a function under test")
                .1;
            wanted.push(
                json!({"name": removal_user(function, action), "role": role, "without": [action]}),
            );
        }
        let created = iam_policies(
            "setup",
            &json!({
                "endpoint": moto.endpoint(),
                "account": testkit::ACCOUNT,
                "region": testkit::REGION,
                "stack": STACK,
                "resources": resources,
                "parameters": {"ArchivePrefix": "", "HoldRegisterKey": HOLD_KEY},
                "users": wanted,
                "admin": "admin",
            }),
        );
        let users = created["users"]
            .as_object()
            .expect("users")
            .iter()
            .map(|(name, u)| {
                (
                    name.clone(),
                    User {
                        key: u["accessKeyId"].as_str().expect("key").to_owned(),
                        secret: u["secretAccessKey"].as_str().expect("secret").to_owned(),
                        policy: u["policy"].clone(),
                    },
                )
            })
            .collect();
        // From here on every call is checked against the caller's policies.
        moto.enforce_iam_after(0);
        Self {
            moto,
            genesys,
            _dir: dir,
            audit_log,
            sm,
            secrets,
            users,
        }
    }

    fn aws(&self, user: &str) -> aws_config::SdkConfig {
        let u = &self.users[user];
        self.moto.sdk_config_as(&u.key, &u.secret)
    }

    fn sfn(&self, user: &str) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::new(&self.aws(user))
    }

    fn s3(&self, user: &str) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.aws(user))
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    fn secrets_client(&self, user: &str) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.aws(user))
    }

    /// Every IAM decision moto made: (user, action, allowed).
    fn calls(&self) -> Vec<(String, String, bool)> {
        let by_key: BTreeMap<&str, &str> = self
            .users
            .iter()
            .map(|(name, u)| (u.key.as_str(), name.as_str()))
            .collect();
        std::fs::read_to_string(&self.audit_log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|c| {
                let user = by_key
                    .get(c["accessKey"].as_str().unwrap_or_default())
                    .copied()
                    .unwrap_or("unknown");
                (
                    user.to_owned(),
                    c["action"].as_str().unwrap_or_default().to_owned(),
                    c["allowed"].as_bool().unwrap_or(false),
                )
            })
            .collect()
    }

    /// The calls of `user` moto denied (for failure messages).
    fn denials(&self, user: &str) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|(u, _, allowed)| u == user && !allowed)
            .map(|(_, a, _)| a)
            .collect()
    }

    fn denied(&self, user: &str, action: &str) -> bool {
        self.calls()
            .iter()
            .any(|(u, a, allowed)| u == user && a == action && !allowed)
    }

    /// Starts an execution as the admin (what the webhook of another test did).
    async fn start(&self, name: &str, input: &Value) -> String {
        self.sfn("admin")
            .start_execution()
            .state_machine_arn(&self.sm)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .expect("start as admin")
            .execution_arn()
            .to_owned()
    }

    /// The task token of an execution waiting in AwaitDecision (read as the admin).
    async fn token(&self, arn: &str) -> String {
        testkit::moto::task_token(&self.sfn("admin"), arn).await
    }
}

/// A review waits in AwaitDecision (as in the real definition), `DSAR-QUICK` ends at
/// once, any other ticket waits a day.
fn definition(notify: &str) -> Value {
    json!({
        "StartAt": "Route",
        "States": {
            "Route": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.review", "IsPresent": true, "Next": "AwaitDecision"},
                    {"Variable": "$.ticket.id", "StringEquals": "DSAR-QUICK", "Next": "Done"}
                ],
                "Default": "PollExport"
            },
            "AwaitDecision": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": notify, "Payload": {"taskToken.$": "$$.Task.Token"}},
                "ResultPath": "$.approval",
                "Catch": [{"ErrorEquals": ["ReviewRejected"], "ResultPath": "$.approvalRejection", "Next": "Done"}],
                "Next": "Done"
            },
            "PollExport": {"Type": "Wait", "Seconds": 86400, "Next": "Done"},
            "Done": {"Type": "Pass", "End": true}
        }
    })
}

// ---------------------------------------------------------------------------------------
// The functions, built as their main.rs builds them (secrets read at cold start with the
// function's own credentials), each with the clients of one IAM user.
// ---------------------------------------------------------------------------------------

async fn webhook(stack: &Stack, user: &str) -> Webhook<aws_sdk_sfn::Client> {
    let keys = startup::signing_keys(
        &stack.secrets_client(user),
        "WEBHOOK_SECRET_ARN",
        &stack.secrets["WebhookSecret"],
    )
    .await
    .expect("the webhook reads its key");
    Webhook {
        config: WebhookConfig::new(&stack.sm, keys),
        sfn: stack.sfn(user),
        archive: Box::new(
            S3Archive::new(stack.s3(user), S3Settings::new(BUCKET, "")).expect("archive"),
        ),
        clock: Arc::new(SystemClock),
    }
}

async fn approval(
    stack: &Stack,
    user: &str,
) -> Result<ApprovalEndpoint<aws_sdk_sfn::Client>, startup::StartupError> {
    let secrets = stack.secrets_client(user);
    let keys = startup::signing_keys(
        &secrets,
        "APPROVAL_SECRET_ARN",
        &stack.secrets["ApprovalSecret"],
    )
    .await?;
    let pseudonymiser = startup::pseudonymiser(
        &secrets,
        "PSEUDONYM_KEY_SECRET_ARN",
        &stack.secrets["PseudonymKeySecret"],
    )
    .await?;
    Ok(ApprovalEndpoint {
        config: ApprovalConfig::new(&stack.sm, keys, pseudonymiser),
        sfn: stack.sfn(user),
        archive: Box::new(
            S3Archive::new(stack.s3(user), S3Settings::new(BUCKET, "")).expect("archive"),
        ),
        clock: Arc::new(SystemClock),
    })
}

async fn watchdog(
    stack: &Stack,
    user: &str,
    url: String,
    clock: SharedClock,
) -> Watchdog<aws_sdk_sfn::Client, HttpNotifier> {
    let key = startup::signing_keys(
        &stack.secrets_client(user),
        "TICKET_SECRET_ARN",
        &stack.secrets["TicketCallbackSecret"],
    )
    .await
    .expect("the watchdog reads its key");
    Watchdog {
        config: WatchdogConfig::new(&stack.sm, "GdprErasure", 72, 7),
        sfn: stack.sfn(user),
        archive: Box::new(
            S3Archive::new(stack.s3(user), S3Settings::new(BUCKET, "")).expect("archive"),
        ),
        notifier: HttpNotifier::new(url.parse().expect("a local callback"), key, clock.clone()),
        clock,
    }
}

/// The step's environment as the template sets it, its AWS clients acting as `user`.
fn step_env(stack: &Stack, user: &str, vars: &[(&str, String)]) -> Env {
    Env::from_vars(
        vars.iter().map(|(k, v)| ((*k).to_owned(), v.clone())),
        stack.aws(user),
    )
}

fn write_record_env(stack: &Stack, user: &str) -> Env {
    step_env(
        stack,
        user,
        &[
            ("ARCHIVE_BUCKET", BUCKET.to_owned()),
            ("ARCHIVE_PREFIX", String::new()),
            ("RETENTION_YEARS", "7".to_owned()),
            (
                "LETTER_SETTINGS",
                testkit::lambda::example_letter_settings(),
            ),
            (
                "PSEUDONYM_KEY_SECRET_ARN",
                stack.secrets["PseudonymKeySecret"].clone(),
            ),
        ],
    )
}

/// A REJECTED ticket's state at WriteRecord (Intake's own output for an unreadable
/// ticket): the record needs nothing from Genesys.
async fn rejected_state(ticket_id: &str) -> Value {
    let key = PseudonymKey::new("iam-test", PSEUDONYM_KEY.as_bytes().to_vec()).expect("key");
    let deps = intake::Deps {
        pseudonymiser: Arc::new(Pseudonymiser::new(key)),
        config: Default::default(),
        downstream: Vec::new(),
        poll_budget: Default::default(),
        clock: Arc::new(SystemClock),
        archive: None,
    };
    let out = intake::handle(
        &deps,
        intake::Input {
            input: json!({"rawTicket": "{\"ticket\": "}).into(),
            execution: intake::ExecutionRef {
                id: format!(
                    "arn:aws:states:us-east-1:123456789012:execution:{STACK}-erasure:{ticket_id}"
                ),
                name: ticket_id.into(),
                started_at: None,
            },
        },
    )
    .await
    .expect("intake");
    let mut state = serde_json::to_value(&out).expect("state");
    let o = state.as_object_mut().expect("object");
    o.remove("subject");
    o.insert(
        "execution".into(),
        json!({"id": format!("arn:x:{ticket_id}"), "name": ticket_id}),
    );
    o.insert("writtenAt".into(), json!("2026-11-23T09:00:00.123456Z"));
    state
}

async fn write(env: &Env, state: &Value) -> Result<write_record::Output, String> {
    let deps = write_record::Deps::from_env(env)
        .await
        .map_err(|e| e.to_string())?;
    write_record::handle(&deps, serde_json::from_value(state.clone()).expect("input"))
        .await
        .map_err(|e| e.to_string())
}

/// Intake as the template configures it, acting as `user`: a valid ticket through,
/// the archive's lock checked before anything else.
async fn run_intake(stack: &Stack, user: &str, ticket_id: &str) -> Result<bool, String> {
    let env = step_env(
        stack,
        user,
        &[
            (
                "PSEUDONYM_KEY_SECRET_ARN",
                stack.secrets["PseudonymKeySecret"].clone(),
            ),
            ("DOWNSTREAM_SYSTEMS", "[]".to_owned()),
            ("ARCHIVE_BUCKET", BUCKET.to_owned()),
            ("ARCHIVE_PREFIX", String::new()),
        ],
    );
    let deps = intake::Deps::from_env(&env)
        .await
        .map_err(|e| e.to_string())?;
    let out = intake::handle(
        &deps,
        intake::Input {
            input: ticket(ticket_id, Utc::now()).into(),
            execution: intake::ExecutionRef {
                id: format!("arn:x:{ticket_id}"),
                name: ticket_id.into(),
                started_at: None,
            },
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(serde_json::to_value(&out).expect("state")["valid"] == true)
}

/// Erase as the template configures it, acting as `user`: the ledger written before
/// and after the GDPR_DELETE, the hold register read again right before it.
async fn run_erase(stack: &Stack, user: &str, ticket_id: &str) -> Result<bool, String> {
    let mut vars = hold_register_vars();
    vars.push(("LEDGER_BUCKET", LEDGER_BUCKET.to_owned()));
    let env = genesys_env(stack, user, &vars);
    let deps = hold_recheck::Deps::from_env(&env)
        .await
        .map_err(|e| e.to_string())?;
    let subject = phone_subject();
    let holds_at_review = HoldsAtReview {
        register_digest: Some(erasure_steps::gdpr::sha256_of(HOLD_REGISTER.as_bytes())),
        identifiers: IdentifiersSection {
            key_id: "iam-test".into(),
            items: Vec::new(),
        },
        in_scope: Vec::new(),
        withheld: Vec::new(),
        deferral: None,
        time_zone: "Europe/Dublin".into(),
    };
    let out = erase::handle(
        &deps,
        erase::Input {
            ticket_id: ticket_id.into(),
            subject,
            selection: Selection {
                phones: vec![0],
                ..Selection::default()
            },
            holds_at_review: Some(holds_at_review),
            retry_count: 0,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(out.reused)
}

/// A Genesys step's environment as the template sets it (region, client secret).
/// Where the template tells Erase, Review and PurgeRecordings the hold register is.
fn hold_register_vars() -> Vec<(&'static str, String)> {
    vec![
        ("HOLD_REGISTER_BUCKET", HOLD_BUCKET.to_owned()),
        ("HOLD_REGISTER_KEY", HOLD_KEY.to_owned()),
    ]
}

fn genesys_env(stack: &Stack, user: &str, more: &[(&str, String)]) -> Env {
    let mut vars = vec![
        ("GENESYS_REGION", stack.genesys.base_url().to_string()),
        (
            "GENESYS_SECRET_ARN",
            stack.secrets["GenesysClientSecret"].clone(),
        ),
    ];
    vars.extend(more.iter().cloned());
    step_env(stack, user, &vars)
}

/// Locate acting as `user` (the subject searched, its export sent), then Poll acting
/// as `poll_user` on what Locate made.
async fn run_locate_and_poll(
    stack: &Stack,
    user: &str,
    poll_user: &str,
    ticket_id: &str,
) -> Result<String, String> {
    let deps = GenesysDeps::from_env(&genesys_env(stack, user, &[]))
        .await
        .map_err(|e| e.to_string())?;
    let section = locate::handle(
        &deps,
        locate::Input {
            ticket_id: ticket_id.into(),
            subject: phone_subject(),
            retry_count: 0,
            fresh: false,
            expired: None,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let deps = GenesysDeps::from_env(&genesys_env(stack, poll_user, &[]))
        .await
        .map_err(|e| e.to_string())?;
    let polled = poll::handle(
        &deps,
        poll::Input {
            ticket_id: ticket_id.into(),
            request_id: None,
            poll: None,
            request: Some(section),
            give_up_at: Utc::now() + Duration::days(30),
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(polled.poll_state().status.clone())
}

/// VerifyErasure acting as `user`: a conversation Genesys no longer has is erased.
async fn run_verify(stack: &Stack, user: &str) -> Result<usize, String> {
    let env = genesys_env(
        stack,
        user,
        &[(
            "PSEUDONYM_KEY_SECRET_ARN",
            stack.secrets["PseudonymKeySecret"].clone(),
        )],
    );
    let deps = verify_erasure::Deps::from_env(&env)
        .await
        .map_err(|e| e.to_string())?;
    let out = verify_erasure::handle(
        &deps,
        verify_erasure::Input {
            ticket_id: "DSAR-VERIFY".into(),
            conversation_ids: vec!["0a1b2c3d-0000-4000-8000-00000000dead".parse().expect("id")],
            covered: None,
            identifiers: Some(IdentifiersSection {
                key_id: deps.pseudonymiser.key_id().to_owned(),
                items: Vec::new(),
            }),
            deletion: None,
            give_up_at: None,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(out.erased.len())
}

/// ReportTicket acting as `user`: the record's receipt to the DSAR tool.
async fn run_report(
    stack: &Stack,
    user: &str,
    receiver: &DownstreamReceiver,
    receipt: Value,
) -> Result<bool, String> {
    let env = step_env(
        stack,
        user,
        &[
            (
                "TICKET_CALLBACK_URL",
                receiver.endpoint("dsar").as_str().to_owned(),
            ),
            (
                "TICKET_SECRET_ARN",
                stack.secrets["TicketCallbackSecret"].clone(),
            ),
        ],
    );
    let deps = report_ticket::Deps::from_env(&env)
        .await
        .map_err(|e| e.to_string())?;
    let out = report_ticket::handle(
        &deps,
        report_ticket::Input {
            ticket_id: "DSAR-RECORD".into(),
            record: serde_json::from_value(receipt).map_err(|e| e.to_string())?,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(out.reported)
}

/// NotifyDownstream as the template configures it, acting as `user`: the cleared
/// identifiers, signed with the system's key from the downstream secret, to `crm`.
async fn run_notify_downstream(stack: &Stack, user: &str) -> Result<String, String> {
    let crm = DownstreamReceiver::start(
        vec![(
            "crm".into(),
            KeyRing::from_key(DOWNSTREAM_KEY).expect("key"),
            Behaviour::Acknowledge,
        )],
        Arc::new(SystemClock),
    )
    .await
    .expect("receiver");
    let env = step_env(
        stack,
        user,
        &[
            (
                "DOWNSTREAM_SYSTEMS",
                json!([{"name": "crm", "endpoint": crm.endpoint("crm").as_str()}]).to_string(),
            ),
            (
                "DOWNSTREAM_SECRET_ARN",
                stack.secrets["DownstreamSecret"].clone(),
            ),
        ],
    );
    let deps = notify_downstream::Deps::from_env(&env)
        .await
        .map_err(|e| e.to_string())?;
    let out = notify_downstream::handle(
        &deps,
        notify_downstream::Input {
            system: "crm".into(),
            ticket_id: "DSAR-DOWNSTREAM".into(),
            subject: phone_subject(),
            deletion: None,
            selection: Some(Selection {
                phones: vec![0],
                ..Selection::default()
            }),
            withheld: Vec::new(),
            deferral: None,
            attempt: 0,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    assert!(crm.received().iter().all(|r| r.signature_valid));
    Ok(out.reference)
}

/// Intake, Locate and Poll as the admin's functions would (their own grants are
/// tested above), then Review acting as `user`: the exports read, the analytics
/// queried, the legal-hold register read from S3.
async fn run_review(stack: &Stack, user: &str, ticket_id: &str) -> Result<String, String> {
    let env = step_env(
        stack,
        "intake",
        &[
            (
                "PSEUDONYM_KEY_SECRET_ARN",
                stack.secrets["PseudonymKeySecret"].clone(),
            ),
            ("DOWNSTREAM_SYSTEMS", "[]".to_owned()),
            ("ARCHIVE_BUCKET", BUCKET.to_owned()),
            ("ARCHIVE_PREFIX", String::new()),
        ],
    );
    let intake = intake::handle(
        &intake::Deps::from_env(&env)
            .await
            .map_err(|e| e.to_string())?,
        intake::Input {
            input: ticket(ticket_id, Utc::now()).into(),
            execution: intake::ExecutionRef {
                id: format!("arn:x:{ticket_id}"),
                name: ticket_id.into(),
                started_at: None,
            },
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let state = serde_json::to_value(&intake).expect("state");
    let genesys = GenesysDeps::from_env(&genesys_env(stack, "locate", &[]))
        .await
        .map_err(|e| e.to_string())?;
    let mut export = locate::handle(
        &genesys,
        locate::Input {
            ticket_id: ticket_id.into(),
            subject: serde_json::from_value(state["subject"].clone()).expect("subject"),
            retry_count: 0,
            fresh: false,
            expired: None,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    for _ in 0..60 {
        if export.poll.status == "COMPLETED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let polled = poll::handle(
            &genesys,
            poll::Input {
                ticket_id: ticket_id.into(),
                request_id: None,
                poll: None,
                request: Some(export.clone()),
                give_up_at: Utc::now() + Duration::days(30),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        if let poll::Output::Section(s) = polled {
            export = s;
        }
    }
    let env = genesys_env(stack, user, &hold_register_vars());
    let deps = review::Deps::from_env(&env)
        .await
        .map_err(|e| e.to_string())?;
    let out = review::handle(
        &deps,
        serde_json::from_value(json!({
            "ticketId": ticket_id,
            "subject": state["subject"],
            "identifiers": state["identifiers"],
            "options": state["options"],
            "clock": state["clock"],
            "export": export,
        }))
        .expect("review input"),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(serde_json::to_value(&out).expect("review")["decision"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// PurgeRecordings acting as `user`: the register and deletion protection read again,
/// then the `nth` recording of the emulator's dataset given a delete date.
async fn run_purge(stack: &Stack, user: &str, nth: usize) -> Result<usize, String> {
    let (conversation, recording) = stack
        .genesys
        .recordings()
        .into_iter()
        .nth(nth)
        .expect("a recording");
    let env = genesys_env(stack, user, &hold_register_vars());
    let deps = hold_recheck::Deps::from_env(&env)
        .await
        .map_err(|e| e.to_string())?;
    let out = purge_recordings::handle(
        &deps,
        serde_json::from_value(json!({
            "ticketId": "DSAR-PURGE",
            "conversationIds": [conversation],
            "recordings": [{"conversationId": conversation, "recordingId": recording.id}],
            "holdsAtReview": {
                "registerDigest": erasure_steps::gdpr::sha256_of(HOLD_REGISTER.as_bytes()),
                "identifiers": {"keyId": "iam-test", "items": []},
                "inScope": [conversation],
                "withheld": [],
                "deferral": null,
                "timeZone": "Europe/Dublin",
            },
        }))
        .expect("purge input"),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(out.purged.len())
}

/// OffboardAgent acting as `user`: the dataset's former agent (Aoife Byrne) re-read,
/// anonymised, deactivated and deleted through the Users API.
async fn run_offboard(stack: &Stack, user: &str) -> Result<String, String> {
    const FORMER_AGENT: &str = "1b7e7ad0-0d78-4841-afe9-1396fb86ef4d";
    let deps = GenesysDeps::from_env(&genesys_env(stack, user, &[]))
        .await
        .map_err(|e| e.to_string())?;
    let out = offboard_agent::handle(
        &deps,
        serde_json::from_value(json!({
            "ticketId": "DSAR-OFFBOARD",
            "agent": {"action": "offboard", "plan": "OFFBOARD", "userRef": null},
            "userId": FORMER_AGENT,
        }))
        .expect("offboard input"),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(serde_json::to_value(out.action)
        .expect("action")
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

fn phone_subject() -> SubjectSection {
    serde_json::from_value(json!({
        "emails": [], "genesysUserId": null, "externalContactId": null,
        "phones": [{"number": "+353834567890", "tenure": []}]
    }))
    .expect("subject")
}

fn review_input(ticket_id: &str) -> notify_review::Input {
    serde_json::from_value(json!({
        "ticketId": ticket_id,
        "executionId": format!("arn:x:{ticket_id}"),
        "taskToken": "token-1",
        "review": {
            "ticketId": ticket_id, "decision": "review", "reasons": ["active-agent"],
            "counts": {"found": 1, "inScope": 1, "covered": 1, "perConversation": 0, "excluded": 0, "withheld": 0, "recordings": 1},
            "agent": "skip-active", "perConversation": [], "excluded": [], "withheld": [], "deferral": null
        }
    }))
    .expect("notify-review input")
}

async fn notify(stack: &Stack, user: &str, receiver: &DownstreamReceiver) -> Result<bool, String> {
    let env = step_env(
        stack,
        user,
        &[
            (
                "REVIEW_ENDPOINT_URL",
                receiver.endpoint("review").as_str().to_owned(),
            ),
            ("REVIEW_SECRET_ARN", stack.secrets["ReviewSecret"].clone()),
            (
                "APPROVAL_URL",
                "https://approval.example.invalid/".to_owned(),
            ),
        ],
    );
    let deps = notify_review::Deps::from_env(&env)
        .await
        .map_err(|e| e.to_string())?;
    notify_review::handle(&deps, review_input("DSAR-REVIEW"))
        .await
        .map(|o| o.notified)
        .map_err(|e| e.to_string())
}

fn decision(token: &str, arn: &str, decision: &str) -> Value {
    json!({
        "taskToken": token,
        "executionArn": arn,
        "decision": decision,
        "by": "dpo.anne@example.com",
        "role": "DPO",
        "at": rfc3339(Utc::now() - Duration::minutes(1)),
    })
}

/// A PARTIAL record with an open escalation, written as the admin: its key below the
/// prefix, the document an annotation closes.
async fn escalated_record(stack: &Stack, ticket_id: &str) -> String {
    let mut v = RecordBuilder::new(ticket_id, "PARTIAL").build();
    v["escalations"] = json!([{"reason": "genesys-partial", "at": "2026-12-01T08:00:00Z",
                               "detail": "request r-1 ended in ERROR"}]);
    S3Archive::new(stack.s3("admin"), S3Settings::new(BUCKET, ""))
        .expect("archive")
        .write(&Record::from_value(v).expect("record"))
        .await
        .expect("written as the admin")
        .key
}

/// The approval endpoint's `/annotations` request closing `document`'s escalations.
fn annotation_request(ticket_id: &str, document: &str) -> lambda_http::Request {
    let body = json!({
        "ticketId": ticket_id, "document": document, "resolution": "resolved-by-genesys",
        "supportCase": "GEN-CASE-0042187", "by": "dpo.anne@example.com", "role": "DPO",
    });
    signed_to(
        "/annotations",
        APPROVAL_KEY,
        body.to_string().as_bytes(),
        Utc::now(),
    )
}

/// What the console function reaches in AWS (`console::aws`): the executions, the
/// four-eyes first approvals, the archive, the pseudonym key; as `user`.
struct ConsolePorts {
    executions: console::aws::StepFunctionsExecutions<aws_sdk_sfn::Client>,
    first_approvals: console::aws::S3FirstApprovals,
    archive: S3Archive,
    pseudonymiser: Pseudonymiser,
}

async fn console_ports(stack: &Stack, user: &str) -> Result<ConsolePorts, startup::StartupError> {
    let pseudonymiser = startup::pseudonymiser(
        &stack.secrets_client(user),
        "PSEUDONYM_KEY_SECRET_ARN",
        &stack.secrets["PseudonymKeySecret"],
    )
    .await?;
    Ok(ConsolePorts {
        executions: console::aws::StepFunctionsExecutions {
            sfn: stack.sfn(user),
            state_machine_arn: stack.sm.clone(),
        },
        first_approvals: console::aws::S3FirstApprovals {
            client: stack.s3(user),
            bucket: LEDGER_BUCKET.into(),
        },
        archive: S3Archive::new(stack.s3(user), S3Settings::new(BUCKET, "")).expect("archive"),
        pseudonymiser,
    })
}

/// A console decision by `who`, as the console builds it.
fn console_decision(
    p: &ConsolePorts,
    who: &str,
    decision: erasure_core::record::ApprovalDecision,
) -> erasure_steps::write_record::ApprovalInput {
    erasure_steps::write_record::ApprovalInput {
        decision: Some(decision),
        actor_ref: p.pseudonymiser.oidc_actor("https://idp.example", who),
        role: "DPO".into(),
        at: Utc::now(),
        channel: console::CHANNEL.into(),
        reason_code: (decision == erasure_core::record::ApprovalDecision::Reject)
            .then(|| "not-the-subject".to_owned()),
        issuer: Some("https://idp.example".into()),
        first_approval: None,
    }
}

/// The console's paths under `user`: the reviews read, one approved after a first
/// approval held in the ledger bucket, one rejected, an escalation closed with an
/// annotation. Err names the first step that failed.
async fn run_console(stack: &Stack, user: &str, prefix: &str) -> Result<(), String> {
    use console::ports::{Answer, Executions, FirstApprovals};
    use erasure_core::record::ApprovalDecision::{Approve, Reject};
    let p = console_ports(stack, user)
        .await
        .map_err(|e| e.to_string())?;
    let (approve, reject) = (format!("{prefix}-APPROVE"), format!("{prefix}-REJECT"));
    for name in [&approve, &reject] {
        let arn = stack.start(name, &review_ticket(name)).await;
        stack.token(&arn).await;
    }
    let running = p.executions.running().await.map_err(|e| e.to_string())?;
    let token = |name: &str| {
        running
            .iter()
            .find(|t| t.ticket_id == name && t.awaits_decision())
            .and_then(|t| t.task_token.clone())
            .ok_or(format!("{name} is not listed as waiting"))
    };
    let (to_approve, to_reject) = (token(&approve)?, token(&reject)?);
    let first = console_decision(&p, "maeve", Approve);
    let held = p.first_approvals.put(&to_approve, first.clone());
    if !held.await.map_err(|e| format!("first approval: {e}"))? {
        return Err("the first approval was not held".into());
    }
    let read = p.first_approvals.get(&to_approve).await;
    if read.map_err(|e| format!("first approval read: {e}"))? != Some(first.clone()) {
        return Err("the first approval reads back otherwise".into());
    }
    let mut second = console_decision(&p, "siobhan", Approve);
    second.first_approval = Some(erasure_core::record::ActorDecision {
        actor_ref: first.actor_ref,
        role: first.role,
        at: first.at,
    });
    (p.executions
        .answer(&to_approve, &Answer::Approve(second))
        .await)
        .map_err(|e| format!("approve: {e}"))?;
    let rejection = Answer::Reject(console_decision(&p, "maeve", Reject));
    (p.executions.answer(&to_reject, &rejection).await).map_err(|e| format!("reject: {e}"))?;
    // The open items: records and their escalations, one closed with an annotation.
    let document = escalated_record(stack, &format!("{prefix}-ESCALATED")).await;
    let (records, _) =
        archive::report::load_records(&p.archive, &archive::report::RecordFilter::default())
            .await
            .map_err(|e| format!("records: {e}"))?;
    let open = archive::annotation::escalations(&p.archive, &records, None)
        .await
        .map_err(|e| format!("escalations: {e}"))?;
    if !open
        .iter()
        .any(|e| e.document_key == document && e.closed_by.is_none())
    {
        return Err(format!("{document}'s escalation is not listed open"));
    }
    let actor = p.pseudonymiser.oidc_actor("https://idp.example", "maeve");
    let closing = archive::annotation::Closing {
        ticket_id: &format!("{prefix}-ESCALATED"),
        document_key: &document,
        reasons: Vec::new(),
        resolution: "resolved-by-genesys",
        support_case: "GEN-CASE-0042187",
        actor_ref: actor.as_str(),
        role: "DPO",
    };
    archive::annotation::annotate(&p.archive, &closing, Utc::now())
        .await
        .map_err(|e| format!("annotation: {e}"))?;
    Ok(())
}

fn review_ticket(id: &str) -> Value {
    let mut t = ticket(id, Utc::now() - Duration::days(25));
    t["review"] = json!({"reasons": ["recycled-number"]});
    t
}

async fn receiver() -> DownstreamReceiver {
    DownstreamReceiver::start(
        vec![
            (
                "review".into(),
                KeyRing::from_key(REVIEW_KEY).expect("key"),
                Behaviour::Acknowledge,
            ),
            (
                "dsar".into(),
                KeyRing::from_key(TICKET_KEY).expect("key"),
                Behaviour::Acknowledge,
            ),
        ],
        Arc::new(SystemClock),
    )
    .await
    .expect("receiver")
}

#[tokio::test]
async fn every_function_works_with_exactly_its_template_grants() {
    let stack = Stack::new(&[]).await;
    let now = Utc::now();

    // ticket-webhook: new, repeated while running, conflicting, ended.
    let w = webhook(&stack, "ticket-webhook").await;
    let t = ticket("DSAR-IAM-1", now);
    let new = w.handle(signed_json(WEBHOOK_KEY, &t, now)).await;
    assert_eq!(new.status(), 202, "new: {}", json_body(&new));
    let repeated = w.handle(signed_json(WEBHOOK_KEY, &t, now)).await;
    assert!(
        [200, 202].contains(&repeated.status().as_u16()),
        "repeated: {}",
        json_body(&repeated)
    );
    let mut other = t.clone();
    other["options"]["eraseRecordings"] = json!(false);
    let conflicting = w.handle(signed_json(WEBHOOK_KEY, &other, now)).await;
    assert_eq!(
        conflicting.status(),
        409,
        "conflicting: {}",
        json_body(&conflicting)
    );
    let quick = ticket("DSAR-QUICK", now);
    let first = json_body(&w.handle(signed_json(WEBHOOK_KEY, &quick, now)).await);
    let arn = first["executionArn"].as_str().expect("started").to_owned();
    testkit::eventually("DSAR-QUICK to end", || {
        let (sfn, arn) = (stack.sfn("admin"), arn.clone());
        async move {
            let d = sfn
                .describe_execution()
                .execution_arn(arn)
                .send()
                .await
                .ok()?;
            (d.status().as_str() == "SUCCEEDED").then_some(())
        }
    })
    .await;
    let ended = w.handle(signed_json(WEBHOOK_KEY, &quick, Utc::now())).await;
    assert_eq!(ended.status(), 200, "ended: {}", json_body(&ended));
    assert_eq!(json_body(&ended)["alreadyStarted"], true);

    // approval: an approval and a rejection, each of a waiting execution.
    let a = approval(&stack, "approval").await.expect("approval starts");
    for (name, verdict) in [("DSAR-APPROVE", "approve"), ("DSAR-REJECT", "reject")] {
        let arn = stack.start(name, &review_ticket(name)).await;
        let token = stack.token(&arn).await;
        let answer = a
            .handle(signed_json(
                APPROVAL_KEY,
                &decision(&token, &arn, verdict),
                Utc::now(),
            ))
            .await;
        assert_eq!(
            answer.status(),
            200,
            "{verdict}: {}; denied: {:?}",
            json_body(&answer),
            stack.denials("approval")
        );
    }

    // approval at /annotations: a person closes a PARTIAL record's escalation.
    let document = escalated_record(&stack, "DSAR-ANNOTATED").await;
    let answer = a
        .handle(annotation_request("DSAR-ANNOTATED", &document))
        .await;
    assert_eq!(
        answer.status(),
        201,
        "annotation: {}; denied: {:?}",
        json_body(&answer),
        stack.denials("approval")
    );

    // console: reviews read and answered (four-eyes, the first approval in the ledger
    // bucket), an escalation closed with an annotation.
    run_console(&stack, "console", "DSAR-CONSOLE")
        .await
        .unwrap_or_else(|e| panic!("console: {e}; denied: {:?}", stack.denials("console")));

    // watchdog: a review overdue (its clock 73 hours ahead), a deferral due.
    let waiting = stack
        .start("DSAR-WAITING", &review_ticket("DSAR-WAITING"))
        .await;
    stack.token(&waiting).await;
    let later = Utc::now() + Duration::hours(73);
    let yesterday = (later - Duration::days(1)).date_naive().to_string();
    let deferred = RecordBuilder::new("DSAR-DEFERRED", "DEFERRED")
        .deferral(&[("LH-1", Some(&yesterday))], Some(&yesterday))
        .build();
    S3Archive::new(stack.s3("admin"), S3Settings::new(BUCKET, ""))
        .expect("archive")
        .write(&Record::from_value(deferred).expect("record"))
        .await
        .expect("written as the admin");
    // ticket-webhook again: a ticket Step Functions no longer knows (its name released
    // 90 days after it closed) whose record the archive holds: answered from the record.
    let forgotten = w
        .handle(signed_json(
            WEBHOOK_KEY,
            &ticket("DSAR-DEFERRED", Utc::now()),
            Utc::now(),
        ))
        .await;
    assert_eq!(
        forgotten.status(),
        200,
        "forgotten: {}",
        json_body(&forgotten)
    );
    let callbacks = receiver().await;
    let clock: SharedClock = Arc::new(VirtualClock::starting_at(later));
    let report = watchdog(
        &stack,
        "watchdog",
        callbacks.endpoint("dsar").as_str().to_owned(),
        clock,
    )
    .await
    .run()
    .await;
    assert_eq!(report.approvals_overdue, Some(1), "{report:?}");
    assert_eq!(report.resumptions_due, Some(1), "{report:?}");
    assert!(report.deadlines_near.is_some(), "{report:?}");
    // The day's checkpoint over the archive, written with the watchdog's own grants.
    assert!(report.checkpoint.is_some(), "{report:?}");
    assert!(
        !report.problems.iter().any(|p| p.starts_with("checkpoint")),
        "{report:?}"
    );

    // write-record: the first write, and a retry that finds the record written.
    let env = write_record_env(&stack, "write-record");
    let state = rejected_state("DSAR-RECORD").await;
    let written = write(&env, &state).await.expect("first write");
    let retried = write(&env, &state).await.expect("retry");
    assert!(!written.already_present && retried.already_present);

    // report-ticket: the record's receipt, signed, to the DSAR tool.
    let dsar = receiver().await;
    assert_eq!(
        run_report(
            &stack,
            "report-ticket",
            &dsar,
            serde_json::to_value(&written).expect("receipt")
        )
        .await,
        Ok(true)
    );

    // notify-review.
    let review = receiver().await;
    assert_eq!(notify(&stack, "notify-review", &review).await, Ok(true));

    // intake: a valid ticket, the archive's lock checked first.
    assert_eq!(
        run_intake(&stack, "intake", "DSAR-INTAKE").await,
        Ok(true),
        "denied: {:?}",
        stack.denials("intake")
    );

    // erase: the first run sends its GDPR_DELETE (ledger, register, ledger), the retry
    // finds it in the ledger and sends nothing.
    assert_eq!(
        run_erase(&stack, "erase", "DSAR-ERASE").await,
        Ok(false),
        "denied: {:?}",
        stack.denials("erase")
    );
    assert_eq!(run_erase(&stack, "erase", "DSAR-ERASE").await, Ok(true));

    // locate and poll: the subject searched, its export sent and looked at; verify.
    let status = run_locate_and_poll(&stack, "locate", "poll", "DSAR-LOCATE").await;
    assert!(status.is_ok(), "{status:?}");
    assert_eq!(run_verify(&stack, "verify-erasure").await, Ok(1));

    // review: the exports read, the analytics queried, the hold register read.
    let decided = run_review(&stack, "review", "DSAR-REVIEW").await;
    assert!(
        decided.as_deref().is_ok_and(|d| !d.is_empty()),
        "{decided:?}; denied: {:?}",
        stack.denials("review")
    );

    // purge-recordings: the holds read again, then the recording given a delete date.
    let purged = run_purge(&stack, "purge-recordings", 0).await;
    assert!(
        purged.as_ref().is_ok_and(|n| *n >= 1),
        "{purged:?}; denied: {:?}",
        stack.denials("purge-recordings")
    );

    // offboard-agent: the former agent's account anonymised and deleted.
    let offboarded = run_offboard(&stack, "offboard-agent").await;
    assert_eq!(
        offboarded.as_deref(),
        Ok("OFFBOARDED"),
        "denied: {:?}",
        stack.denials("offboard-agent")
    );

    // notify-downstream: the cleared identifiers, signed, to the system.
    let sent = run_notify_downstream(&stack, "notify-downstream").await;
    assert!(
        sent.is_ok(),
        "{sent:?}; denied: {:?}",
        stack.denials("notify-downstream")
    );

    // Nothing any function did was denied, and the report of what each was granted but
    // did not exercise holds only what cannot be exercised here.
    let calls = stack.calls();
    let denied: Vec<_> = calls
        .iter()
        .filter(|(u, _, ok)| u != "admin" && !ok)
        .collect();
    assert!(
        denied.is_empty(),
        "denied with the template's grants: {denied:?}"
    );
    let granted: serde_json::Map<String, Value> = FUNCTIONS
        .iter()
        .map(|(f, _)| ((*f).to_owned(), stack.users[*f].policy.clone()))
        .collect();
    let report = iam_policies(
        "report",
        &json!({
            "granted": granted,
            "calls": calls.iter().map(|(u, a, ok)| json!({"function": u, "action": a, "allowed": ok})).collect::<Vec<_>>(),
        }),
    );
    println!("granted vs exercised per function:\n{report:#}");
    let mut unused = Vec::new();
    for (function, r) in report.as_object().expect("report") {
        for action in r["grantedNotExercised"].as_array().expect("list") {
            let action = action.as_str().unwrap_or_default();
            let explained = NOT_EXERCISABLE
                .iter()
                .any(|(f, a, _)| (*f == "*" || f == function) && *a == action);
            if !explained {
                unused.push(format!("{function}: {action}"));
            }
        }
    }
    assert!(
        unused.is_empty(),
        "granted, and exercised by no path: remove each grant or test the path that needs it: {unused:?}"
    );
}

#[tokio::test]
async fn a_grant_taken_out_of_the_template_fails_its_path() {
    let stack = Stack::new(REMOVALS).await;
    let now = Utc::now();
    let user = |f: &str, a: &str| removal_user(f, a);

    // ticket-webhook without DescribeExecution: a conflicting or repeated-after-end
    // ticket cannot be told apart, and is answered "retry later" (the issue's bug).
    let u = user("ticket-webhook", "states:DescribeExecution");
    let w = webhook(&stack, &u).await;
    let t = ticket("DSAR-NODESC", now);
    assert_eq!(
        w.handle(signed_json(WEBHOOK_KEY, &t, now)).await.status(),
        202
    );
    let mut other = t.clone();
    other["options"]["eraseRecordings"] = json!(false);
    let conflicting = w.handle(signed_json(WEBHOOK_KEY, &other, now)).await;
    assert_eq!(conflicting.status(), 502, "{}", json_body(&conflicting));
    assert!(stack.denied(&u, "states:DescribeExecution"));

    let u = user("ticket-webhook", "states:StartExecution");
    let w = webhook(&stack, &u).await;
    let answer = w
        .handle(signed_json(WEBHOOK_KEY, &ticket("DSAR-NOSTART", now), now))
        .await;
    assert_eq!(answer.status(), 502);
    assert!(stack.denied(&u, "states:StartExecution"));

    // approval without SendTaskSuccess or GetExecutionHistory: the decision is not
    // delivered, and the execution still waits.
    for action in ["states:SendTaskSuccess", "states:GetExecutionHistory"] {
        let u = user("approval", action);
        let a = approval(&stack, &u).await.expect("approval starts");
        let name = format!("DSAR-NO-{}", action.rsplit(':').next().unwrap_or_default());
        let arn = stack.start(&name, &review_ticket(&name)).await;
        let token = stack.token(&arn).await;
        let answer = a
            .handle(signed_json(
                APPROVAL_KEY,
                &decision(&token, &arn, "approve"),
                Utc::now(),
            ))
            .await;
        assert!(
            answer.status().is_server_error(),
            "{action}: {}",
            json_body(&answer)
        );
        assert!(stack.denied(&u, action), "{action}");
    }
    // approval without PutObject: the annotation is not written (503, retry later).
    let u = user("approval", "s3:PutObject");
    let a = approval(&stack, &u).await.expect("approval starts");
    let document = escalated_record(&stack, "DSAR-NOT-ANNOTATED").await;
    let answer = a
        .handle(annotation_request("DSAR-NOT-ANNOTATED", &document))
        .await;
    assert_eq!(answer.status(), 503, "{}", json_body(&answer));
    assert!(stack.denied(&u, "s3:PutObject"));
    let written = S3Archive::new(stack.s3("admin"), S3Settings::new(BUCKET, ""))
        .expect("archive")
        .list_annotations(Some("DSAR-NOT-ANNOTATED"))
        .await
        .expect("listed");
    assert!(written.is_empty(), "{written:?}");
    let u = user("approval", "secretsmanager:GetSecretValue");
    assert!(approval(&stack, &u).await.is_err(), "no key, no start");
    assert!(stack.denied(&u, "secretsmanager:GetSecretValue"));

    // console without SendTaskSuccess: the approval is not delivered; without
    // PutObject: no first approval is held (nor any annotation written).
    let u = user("console", "states:SendTaskSuccess");
    let failed = run_console(&stack, &u, "DSAR-NO-CONSOLE-SEND").await;
    assert!(
        failed.as_ref().is_err_and(|e| e.starts_with("approve")),
        "{failed:?}"
    );
    assert!(stack.denied(&u, "states:SendTaskSuccess"));
    let u = user("console", "s3:PutObject");
    let failed = run_console(&stack, &u, "DSAR-NO-CONSOLE-PUT").await;
    assert!(
        failed
            .as_ref()
            .is_err_and(|e| e.starts_with("first approval")),
        "{failed:?}"
    );
    assert!(stack.denied(&u, "s3:PutObject"));

    // watchdog without ListExecutions: it cannot count; without GetObjectVersion it
    // cannot read the records.
    let later = Utc::now() + Duration::hours(73);
    let yesterday = (later - Duration::days(1)).date_naive().to_string();
    let deferred = RecordBuilder::new("DSAR-DEFERRED", "DEFERRED")
        .deferral(&[("LH-1", Some(&yesterday))], Some(&yesterday))
        .build();
    S3Archive::new(stack.s3("admin"), S3Settings::new(BUCKET, ""))
        .expect("archive")
        .write(&Record::from_value(deferred).expect("record"))
        .await
        .expect("written as the admin");
    let callbacks = receiver().await;
    // PutObject first: the first run that can write writes the day's checkpoint.
    for action in [
        "s3:PutObject",
        "states:ListExecutions",
        "s3:GetObjectVersion",
    ] {
        let u = user("watchdog", action);
        let clock: SharedClock = Arc::new(VirtualClock::starting_at(later));
        let report = watchdog(
            &stack,
            &u,
            callbacks.endpoint("dsar").as_str().to_owned(),
            clock,
        )
        .await
        .run()
        .await;
        assert!(!report.problems.is_empty(), "{action}: {report:?}");
        assert!(stack.denied(&u, action), "{action}");
        if action == "s3:PutObject" {
            assert!(report.checkpoint.is_none(), "{report:?}");
            assert!(
                report.problems.iter().any(|p| p.starts_with("checkpoint")),
                "{report:?}"
            );
        }
    }

    // write-record without PutObjectRetention or the lock check: no record.
    for action in [
        "s3:PutObjectRetention",
        "s3:GetBucketObjectLockConfiguration",
    ] {
        let u = user("write-record", action);
        let name = format!("DSAR-NO-{}", action.rsplit(':').next().unwrap_or_default());
        let result = write(&write_record_env(&stack, &u), &rejected_state(&name).await).await;
        assert!(result.is_err(), "{action}: {result:?}");
        assert!(stack.denied(&u, action), "{action}");
    }

    // intake without the lock check: the ticket stops before Genesys.
    let u = user("intake", "s3:GetBucketObjectLockConfiguration");
    assert!(run_intake(&stack, &u, "DSAR-NOLOCK").await.is_err());
    assert!(stack.denied(&u, "s3:GetBucketObjectLockConfiguration"));

    // erase without PutObject: no intent in the ledger, so no GDPR_DELETE at all.
    let u = user("erase", "s3:PutObject");
    let deletes = stack
        .genesys
        .gdpr_submissions(genesys_emulator::RequestType::GdprDelete);
    assert!(run_erase(&stack, &u, "DSAR-NOLEDGER").await.is_err());
    assert!(stack.denied(&u, "s3:PutObject"));
    assert_eq!(
        stack
            .genesys
            .gdpr_submissions(genesys_emulator::RequestType::GdprDelete),
        deletes,
        "nothing sent without the ledger"
    );

    // The Genesys steps and ReportTicket without their secrets: they do not start.
    let u = user("locate", "secretsmanager:GetSecretValue");
    assert!(
        run_locate_and_poll(&stack, &u, "poll", "DSAR-NOLOCATE")
            .await
            .is_err()
    );
    assert!(stack.denied(&u, "secretsmanager:GetSecretValue"));
    let u = user("verify-erasure", "secretsmanager:GetSecretValue");
    assert!(run_verify(&stack, &u).await.is_err());
    assert!(stack.denied(&u, "secretsmanager:GetSecretValue"));
    // review without reading the hold register: no decision without the holds.
    let u = user("review", "s3:GetObject");
    assert!(run_review(&stack, &u, "DSAR-NOREGISTER").await.is_err());
    assert!(stack.denied(&u, "s3:GetObject"));
    // purge-recordings without reading the register: nothing is purged.
    let u = user("purge-recordings", "s3:GetObject");
    assert!(run_purge(&stack, &u, 0).await.is_err());
    assert!(stack.denied(&u, "s3:GetObject"));
    let u = user("offboard-agent", "secretsmanager:GetSecretValue");
    assert!(run_offboard(&stack, &u).await.is_err());
    assert!(stack.denied(&u, "secretsmanager:GetSecretValue"));
    let u = user("notify-downstream", "secretsmanager:GetSecretValue");
    assert!(run_notify_downstream(&stack, &u).await.is_err());
    assert!(stack.denied(&u, "secretsmanager:GetSecretValue"));

    let u = user("report-ticket", "secretsmanager:GetSecretValue");
    let dsar = receiver().await;
    assert!(run_report(&stack, &u, &dsar, json!({})).await.is_err());
    assert!(stack.denied(&u, "secretsmanager:GetSecretValue"));

    // notify-review without its key: it does not start.
    let u = user("notify-review", "secretsmanager:GetSecretValue");
    let review = receiver().await;
    assert!(notify(&stack, &u, &review).await.is_err());
    assert!(stack.denied(&u, "secretsmanager:GetSecretValue"));
}
