//! A step's real Lambda binary started as Lambda starts it: a new process behind the
//! Runtime API ([`local_runner::LambdaProcess`]), configured with the variables
//! `infra/template.yaml` gives it and its secrets in moto's Secrets Manager (the
//! process finds moto through `AWS_ENDPOINT_URL`, as the AWS SDK does), never as plain
//! values.
//!
//! [`check_step_binary`] is the test every `functions/<step>` crate runs on its own
//! binary (`env!("CARGO_BIN_EXE_<step>")`).

use std::time::Duration;

use local_runner::lambda_process::{LogFormat, Output};
use local_runner::{LambdaProcess, LambdaProcessBuilder};
use serde_json::{Value, json};

use crate::MotoServer;

/// A value that must never reach a log or an error: a subject's e-mail address.
pub const PERSONAL_VALUE: &str = "jane.doe@example.com";

/// Where a step finds Genesys: `GENESYS_REGION` (a region key, or a base URL such as
/// the emulator's) and the OAuth client its secret holds.
#[derive(Debug, Clone)]
pub struct GenesysAccess {
    pub base: String,
    pub client_id: String,
    pub client_secret: String,
}

impl GenesysAccess {
    /// Nothing answers there: for a test in which no Genesys call may be made.
    pub fn unreachable() -> Self {
        Self {
            base: "http://127.0.0.1:9".into(),
            client_id: "test-client".into(),
            client_secret: "test-secret".into(),
        }
    }
}

/// Creates the secrets a step's function reads in `moto` (named after the binary, so
/// several steps share one server) and returns its environment as the template sets
/// it (secret ARNs, URLs, names; the optional settings left out).
///
/// # Panics
/// For a binary the template does not deploy as a step, or when moto refuses a secret.
pub async fn step_environment(
    moto: &MotoServer,
    binary: &str,
    genesys: &GenesysAccess,
) -> Vec<(String, String)> {
    let sm = moto.secrets_client();
    let secret = |name: &'static str, value: String| {
        let sm = sm.clone();
        let name = format!("{binary}-{name}");
        async move {
            sm.create_secret()
                .name(&name)
                .secret_string(value)
                .send()
                .await
                .unwrap_or_else(|e| panic!("moto refused secret {name}: {e:?}"))
                .arn()
                .expect("a secret ARN")
                .to_owned()
        }
    };
    let key = |k: &str| json!({ "key": k }).to_string();
    let mut env: Vec<(&str, String)> = match binary {
        "intake" => vec![
            (
                "PSEUDONYM_KEY_SECRET_ARN",
                secret("pseudonym-key", key(&"p".repeat(64))).await,
            ),
            ("DOWNSTREAM_SYSTEMS", "[]".into()),
            ("ARCHIVE_BUCKET", "compliance-archive".into()),
        ],
        "locate" | "poll" | "erase" | "purge-recordings" | "offboard-agent" | "verify-erasure"
        | "review" => {
            let creds =
                json!({"clientId": genesys.client_id, "clientSecret": genesys.client_secret});
            let mut env = vec![
                ("GENESYS_REGION", genesys.base.clone()),
                (
                    "GENESYS_SECRET_ARN",
                    secret("genesys-client", creds.to_string()).await,
                ),
            ];
            // Review reads the register; Erase and PurgeRecordings read it again.
            if matches!(binary, "review" | "erase" | "purge-recordings") {
                env.push(("HOLD_REGISTER_BUCKET", "hold-register".into()));
                env.push(("HOLD_REGISTER_KEY", "legal-holds.json".into()));
            }
            if binary == "erase" {
                env.push(("LEDGER_BUCKET", "erasure-ledger".into()));
            }
            if binary == "verify-erasure" {
                env.push((
                    "PSEUDONYM_KEY_SECRET_ARN",
                    secret("pseudonym-key", key(&"p".repeat(64))).await,
                ));
            }
            env
        }
        "notify-review" => vec![
            (
                "REVIEW_ENDPOINT_URL",
                "https://review.example.invalid/reviews".into(),
            ),
            (
                "REVIEW_SECRET_ARN",
                secret("review-key", key(&"r".repeat(32))).await,
            ),
            ("APPROVAL_URL", "https://approval.example.invalid/".into()),
        ],
        "notify-downstream" => vec![
            (
                "DOWNSTREAM_SYSTEMS",
                r#"[{"name": "crm", "endpoint": "https://crm.example.invalid/erase"}]"#.into(),
            ),
            (
                "DOWNSTREAM_SECRET_ARN",
                secret(
                    "downstream-keys",
                    json!({"crm": "c".repeat(32)}).to_string(),
                )
                .await,
            ),
        ],
        "write-record" => vec![
            ("ARCHIVE_BUCKET", "compliance-archive".into()),
            ("LETTER_SETTINGS", example_letter_settings()),
            ("ARCHIVE_PREFIX", String::new()),
            ("RETENTION_YEARS", "7".into()),
            (
                "PSEUDONYM_KEY_SECRET_ARN",
                secret("pseudonym-key", key(&"p".repeat(64))).await,
            ),
        ],
        "report-ticket" => vec![
            (
                "TICKET_CALLBACK_URL",
                "https://dsar.example.invalid/outcomes".into(),
            ),
            (
                "TICKET_SECRET_ARN",
                secret("ticket-key", key(&"t".repeat(32))).await,
            ),
        ],
        other => panic!("{other} is not a step function of infra/template.yaml"),
    };
    env.sort();
    env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// A Lambda process of `program` with `env`, reaching AWS at `moto` (test
/// credentials), JSON logs captured.
pub fn step_process(
    program: &str,
    moto: &MotoServer,
    env: &[(String, String)],
) -> LambdaProcessBuilder {
    let mut b = LambdaProcess::builder(program)
        .account(crate::REGION, crate::ACCOUNT)
        .log_format(LogFormat::Json)
        .output(Output::Capture)
        // Debug builds under a loaded test machine: generous, never what is measured.
        .init_timeout(Duration::from_secs(60))
        .timeout(Duration::from_secs(60))
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing");
    for (k, v) in env {
        b = b.env(k, v);
    }
    b
}

/// The test of a step's binary: started through the Runtime API with the template's
/// variables and its secrets in moto, it
///
/// 1. answers a payload its step does not take with `InvalidStepInput`, naming the
///    step and `fields` of its input type (so `main.rs` wires that step) without
///    quoting the payload's values, and logs JSON lines with no personal data;
/// 2. fails its cold start as `StepMisconfigured` (reported through
///    `/runtime/init/error`) when its secret does not exist: the secret is read from
///    Secrets Manager at start-up, not from the environment.
///
/// # Panics
/// When any of that does not hold.
pub async fn check_step_binary(program: &str, binary: &str, step: &str, fields: &[&str]) {
    let moto = MotoServer::start();
    // Nothing is called in Genesys here: an unreachable base URL proves it.
    let env = step_environment(&moto, binary, &GenesysAccess::unreachable()).await;

    let process = step_process(program, &moto, &env)
        .build()
        .expect("settings");
    let invocation = process
        .invoke_measured(&json!({"nope": PERSONAL_VALUE}), None)
        .await;
    let error = invocation
        .result
        .expect_err("a payload the step does not take must fail");
    assert_eq!(error.error, "InvalidStepInput", "{}", error.cause);
    let cause: Value = serde_json::from_str(&error.cause).expect("an error document");
    let message = cause["errorMessage"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("{step}: unknown field `nope`")),
        "{message}"
    );
    for field in fields {
        assert!(
            message.contains(&format!("`{field}`")),
            "{field}: {message}"
        );
    }
    assert!(
        invocation.record.cold,
        "the first invocation starts the process"
    );
    let logs = process.captured_output();
    process.shutdown().await;
    assert!(
        logs.iter()
            .any(|l| l.contains("\"InvalidStepInput\"") && l.contains(&format!("\"{step}\""))),
        "the failure is logged under its name and step: {logs:?}"
    );
    for line in &logs {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "AWS_LAMBDA_LOG_FORMAT=JSON, yet a line is not JSON: {line}"
        );
        assert!(
            !line.contains(PERSONAL_VALUE),
            "personal data logged: {line}"
        );
    }
    assert!(!error.cause.contains(PERSONAL_VALUE), "{}", error.cause);

    // A cold start without what it needs fails by name: the secret it cannot read, or
    // (write-record reads none) a required variable that is not set.
    let secret_var = env
        .iter()
        .find(|(k, _)| k.ends_with("_SECRET_ARN"))
        .map(|(k, _)| k.clone());
    let (broken, must_name, because): (Vec<(String, String)>, String, &str) = match &secret_var {
        Some(secret_var) => (
            env.iter()
                .map(|(k, v)| {
                    let v = if k == secret_var {
                        format!(
                            "arn:aws:secretsmanager:{}:{}:secret:no-such-secret-AbCdEf",
                            crate::REGION,
                            crate::ACCOUNT
                        )
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                })
                .collect(),
            secret_var.clone(),
            "ResourceNotFoundException",
        ),
        None => {
            let (first, _) = env.first().expect("a step has configuration");
            (env[1..].to_vec(), first.clone(), first.as_str())
        }
    };
    let process = step_process(program, &moto, &broken)
        .build()
        .expect("settings");
    let error = process
        .invoke_measured(&json!({}), None)
        .await
        .result
        .expect_err("a cold start without its configuration must fail");
    assert_eq!(error.error, "StepMisconfigured", "{}", error.cause);
    assert!(
        error.cause.contains(&must_name) && error.cause.contains(because),
        "{}",
        error.cause
    );
}

/// `LETTER_SETTINGS` of the example controller, as the local pipeline uses it.
pub fn example_letter_settings() -> String {
    serde_json::to_string(&letters::LetterSettings::example()).expect("settings encode as JSON")
}
