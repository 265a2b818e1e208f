//! The console in AWS: the pipeline's running executions through Step Functions
//! (the approval endpoint's port), the records in the S3 archive, and the settings
//! from the function's environment. Built without the local sign-in.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use endpoints::sfn::{self, SfnError, StepFunctions};
use endpoints::startup::{self, Settings as Env, StartupError};
use serde_json::Value;

use crate::auth::Roles;
use crate::oidc::{Oidc, OidcSettings};
use crate::ports::{
    AWAIT_DECISION_STATE, Answer, BackendError, Executions, FirstApprovals, MemoryFirstApprovals,
    RunningTicket,
};
use crate::{Console, Settings};
use erasure_steps::write_record::ApprovalInput;

/// The running executions of one state machine.
pub struct StepFunctionsExecutions<S> {
    pub sfn: S,
    pub state_machine_arn: String,
}

fn backend(e: SfnError) -> BackendError {
    match e {
        SfnError::TaskTimedOut | SfnError::InvalidToken | SfnError::TaskDoesNotExist => {
            BackendError::NotWaiting(e.to_string())
        }
        other => BackendError::Unavailable(other.to_string()),
    }
}

#[async_trait]
impl<S: StepFunctions> Executions for StepFunctionsExecutions<S> {
    async fn running(&self) -> Result<Vec<RunningTicket>, BackendError> {
        let mut out = Vec::new();
        for e in self
            .sfn
            .list_running(&self.state_machine_arn)
            .await
            .map_err(backend)?
        {
            let current = sfn::current_state(&self.sfn, &e.execution_arn)
                .await
                .map_err(backend)?;
            let task_token = current
                .as_ref()
                .filter(|c| c.name == AWAIT_DECISION_STATE)
                .and_then(|c| c.task_parameters.as_deref())
                .and_then(|p| serde_json::from_str::<Value>(p).ok())
                .and_then(|p| {
                    p.pointer("/Payload/taskToken")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                });
            out.push(RunningTicket {
                ticket_id: e.name.clone(),
                execution_id: e.execution_arn.clone(),
                started_at: e.start_date,
                since: current.as_ref().map(|c| c.entered_at),
                state_input: current
                    .as_ref()
                    .and_then(|c| c.state_input.as_deref())
                    .and_then(|s| serde_json::from_str(s).ok()),
                current_state: current.map(|c| c.name),
                task_token,
            });
        }
        Ok(out)
    }

    async fn answer(&self, task_token: &str, answer: &Answer) -> Result<(), BackendError> {
        let text =
            |a| serde_json::to_string(a).map_err(|e| BackendError::Unavailable(e.to_string()));
        match answer {
            Answer::Approve(a) => self.sfn.send_task_success(task_token, &text(a)?).await,
            Answer::Reject(a) => {
                self.sfn
                    .send_task_failure(task_token, endpoints::approval::REJECTED_ERROR, &text(a)?)
                    .await
            }
        }
        .map_err(backend)
    }
}

/// Four-eyes first approvals in S3 (the stack's ledger bucket, under
/// `console/first-approvals/`), where every function instance sees them: one object
/// per review, named by the SHA-256 of its task token, written once (`If-None-Match`)
/// so two people approving at once cannot both be first.
pub struct S3FirstApprovals {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
}

impl S3FirstApprovals {
    pub const PREFIX: &'static str = "console/first-approvals/";

    fn key(task_token: &str) -> String {
        use sha2::{Digest, Sha256};
        format!(
            "{}{}.json",
            Self::PREFIX,
            hex::encode(Sha256::digest(task_token.as_bytes()))
        )
    }
}

fn s3_failure(operation: &str, e: impl std::fmt::Display) -> BackendError {
    BackendError::Unavailable(format!("{operation}: {e}"))
}

#[async_trait]
impl FirstApprovals for S3FirstApprovals {
    async fn get(&self, task_token: &str) -> Result<Option<ApprovalInput>, BackendError> {
        let got = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(Self::key(task_token))
            .send()
            .await;
        let out = match got {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => {
                return Err(s3_failure(
                    "GetObject",
                    aws_sdk_s3::error::DisplayErrorContext(e),
                ));
            }
        };
        let bytes = (out.body.collect().await)
            .map_err(|e| s3_failure("GetObject", e))?
            .into_bytes();
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| s3_failure("the first approval", e))
    }

    async fn put(&self, task_token: &str, first: ApprovalInput) -> Result<bool, BackendError> {
        let body = serde_json::to_vec(&first).map_err(|e| s3_failure("the first approval", e))?;
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(Self::key(task_token))
            .content_type("application/json")
            .if_none_match("*")
            .body(body.into())
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => Ok(false),
            Err(e) => Err(s3_failure(
                "PutObject",
                aws_sdk_s3::error::DisplayErrorContext(e),
            )),
        }
    }

    /// Kept: the ledger bucket refuses deletion, and a task token is never asked for
    /// again once its review is answered, so a kept first approval changes nothing.
    async fn remove(&self, _task_token: &str) {}
}

fn list(raw: Option<String>, default: &[&str]) -> Vec<String> {
    match raw {
        Some(r) => r
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        None => default.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// The console from the function's environment (docs/console.md, "In AWS"):
/// `OIDC_ISSUER`, `OIDC_CLIENT_ID`, `PUBLIC_URL`, `GROUPS_CLAIM`, `DECIDER_GROUPS`,
/// `READER_GROUPS`, `IDENTIFIER_GROUPS`, `STATE_MACHINE_ARN`,
/// `PSEUDONYM_KEY_SECRET_ARN`, `ARCHIVE_BUCKET`, `ARCHIVE_PREFIX`, `FOUR_EYES` and,
/// with it, `FIRST_APPROVALS_BUCKET`, `LETTER_SETTINGS` (optional).
pub async fn from_env() -> Result<Console, StartupError> {
    let env = startup::process_env();
    from_settings(&env).await
}

pub async fn from_settings<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Console, StartupError> {
    let issuer = env.required("OIDC_ISSUER")?;
    let client_id = env.required("OIDC_CLIENT_ID")?;
    let public_url = env.required("PUBLIC_URL")?.trim_end_matches('/').to_owned();
    if !public_url.starts_with("https://") {
        return Err(StartupError::InvalidEnv {
            name: "PUBLIC_URL",
            reason: "must be an https:// URL".into(),
        });
    }
    // Four-eyes keeps the first approval where every instance sees it: the ledger
    // bucket. Without one it is refused rather than silently weakened.
    let four_eyes = match env.optional("FOUR_EYES").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(StartupError::InvalidEnv {
                name: "FOUR_EYES",
                reason: "must be true or false".into(),
            });
        }
    };
    let first_approvals_bucket = if four_eyes {
        Some(env.required("FIRST_APPROVALS_BUCKET")?)
    } else {
        None
    };
    let state_machine_arn = env.state_machine_arn("STATE_MACHINE_ARN")?;
    let oidc = Oidc::discover(OidcSettings {
        issuer,
        client_id,
        client_secret: None,
        scopes: env
            .optional("OIDC_SCOPES")
            .unwrap_or_else(|| "openid email profile".into())
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        leeway: Duration::from_secs(30),
    })
    .await
    .map_err(|e| StartupError::InvalidEnv {
        name: "OIDC_ISSUER",
        reason: e.to_string(),
    })?;
    let aws = startup::aws().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let key_arn = env.required("PSEUDONYM_KEY_SECRET_ARN")?;
    let pseudonymiser =
        startup::pseudonymiser(&secrets, "PSEUDONYM_KEY_SECRET_ARN", &key_arn).await?;
    let archive = archive::S3Archive::new(
        aws_sdk_s3::Client::new(&aws),
        archive::S3Settings::new(
            env.required("ARCHIVE_BUCKET")?,
            env.optional("ARCHIVE_PREFIX").unwrap_or_default(),
        ),
    )
    .map_err(|e| StartupError::InvalidEnv {
        name: "ARCHIVE_BUCKET",
        reason: e.to_string(),
    })?;
    let archive: Arc<dyn archive::Archive> = Arc::new(archive);
    // The letters' settings, as WriteRecord has them: the ticket page shows the letters
    // rendered again and checked against the record. Absent: no letters are linked.
    let letters = match env.optional("LETTER_SETTINGS") {
        None => None,
        Some(raw) => Some(Arc::new(
            letters::LetterSettings::from_json(&raw)
                .and_then(letters::Letters::from_settings)
                .map_err(|e| StartupError::InvalidEnv {
                    name: "LETTER_SETTINGS",
                    reason: e.to_string(),
                })?,
        )),
    };
    Ok(Console {
        settings: Settings {
            public_url,
            roles: Roles {
                claim: env
                    .optional("GROUPS_CLAIM")
                    .unwrap_or_else(|| "cognito:groups".into()),
                deciders: list(env.optional("DECIDER_GROUPS"), &["DPO"]),
                readers: list(env.optional("READER_GROUPS"), &[]),
                identifier_readers: list(env.optional("IDENTIFIER_GROUPS"), &["DPO"]),
            },
            four_eyes,
            secure_cookies: true,
        },
        oidc: Some(oidc),
        #[cfg(feature = "local-sign-in")]
        local_sign_in: None,
        executions: Arc::new(StepFunctionsExecutions {
            sfn: aws_sdk_sfn::Client::new(&aws),
            state_machine_arn,
        }),
        documents: Arc::new(crate::documents::ArchiveDocuments {
            archive: archive.clone(),
            letters,
        }),
        archive,
        first_approvals: match first_approvals_bucket {
            Some(bucket) => Arc::new(S3FirstApprovals {
                client: aws_sdk_s3::Client::new(&aws),
                bucket,
            }),
            None => Arc::new(MemoryFirstApprovals::default()),
        },
        pseudonymiser: Arc::new(pseudonymiser),
        clock: Arc::new(clock::SystemClock),
    })
}
