//! Cold start: the environment (ARNs and settings only, as `docs/deploy.md` lists
//! them) and the secrets they name, read once; clients built once.
//!
//! Secrets are Secrets Manager JSON `{"key": "<64 alphanumerics>"}`; a key is the
//! UTF-8 bytes of that string, for the HMAC keys and the pseudonym key alike, so an
//! operator's `openssl dgst -hmac "$KEY"` and an auditor's recomputation agree with
//! the pipeline. A missing or unusable setting stops the cold start with a message
//! naming the variable, never the value.

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};
use clock::{SharedClock, SystemClock};
use erasure_core::pseudonym::{PseudonymKey, Pseudonymiser};
use signing::{Endpoint, KeyRing, SecretError};

use crate::approval::{self, ApprovalConfig, ApprovalEndpoint};
use crate::watchdog::{HttpNotifier, Watchdog, WatchdogConfig};
use crate::webhook::{Webhook, WebhookConfig};

/// Why a function could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("environment variable {0} is not set")]
    MissingEnv(&'static str),
    #[error("environment variable {name} is not usable: {reason}")]
    InvalidEnv { name: &'static str, reason: String },
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// Reads settings through `lookup` (the process environment in the binaries, a map
/// in tests).
pub struct Settings<F: Fn(&str) -> Option<String>> {
    lookup: F,
}

impl<F: Fn(&str) -> Option<String>> Settings<F> {
    pub fn new(lookup: F) -> Self {
        Self { lookup }
    }

    pub fn required(&self, name: &'static str) -> Result<String, StartupError> {
        (self.lookup)(name)
            .filter(|v| !v.trim().is_empty())
            .ok_or(StartupError::MissingEnv(name))
    }

    pub fn optional(&self, name: &'static str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// A whole number of at least 1.
    pub fn positive(&self, name: &'static str) -> Result<u32, StartupError> {
        self.required(name)?
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or(StartupError::InvalidEnv {
                name,
                reason: "must be a whole number of at least 1".into(),
            })
    }

    /// A state machine ARN (`arn:...:states:...:stateMachine:<name>`).
    pub fn state_machine_arn(&self, name: &'static str) -> Result<String, StartupError> {
        let arn = self.required(name)?;
        if crate::sfn::execution_arn(&arn, "x").is_none() {
            return Err(StartupError::InvalidEnv {
                name,
                reason: "is not a Step Functions state machine ARN".into(),
            });
        }
        Ok(arn)
    }
}

/// The process environment.
pub fn process_env() -> Settings<impl Fn(&str) -> Option<String>> {
    Settings::new(|name: &str| std::env::var(name).ok())
}

/// The AWS configuration of the Lambda environment (region, role credentials).
pub async fn aws() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

/// The `key` (and optional `previousKey`) of a secret, as HMAC keys.
pub async fn signing_keys(
    client: &aws_sdk_secretsmanager::Client,
    env_name: &'static str,
    arn: &str,
) -> Result<KeyRing, StartupError> {
    Ok(signing::secret::read(client, env_name, arn)
        .await?
        .key_ring(env_name)?)
}

/// The pseudonym key (`{"key": "..."}`), for actor references.
pub async fn pseudonymiser(
    client: &aws_sdk_secretsmanager::Client,
    env_name: &'static str,
    arn: &str,
) -> Result<Pseudonymiser, StartupError> {
    let secret = signing::secret::read(client, env_name, arn).await?;
    pseudonymiser_from_secret(env_name, &secret)
}

/// See [`pseudonymiser`]: the key bytes are the UTF-8 bytes of `key`.
pub fn pseudonymiser_from_secret(
    env_name: &'static str,
    secret: &signing::Secret,
) -> Result<Pseudonymiser, StartupError> {
    // Named by its fingerprint, as Intake names it: the approval's actor refs and the
    // record's keyId then name the same key.
    let key = PseudonymKey::from_bytes(secret.string(env_name, "key")?.as_bytes().to_vec())
        .map_err(|e| SecretError::Invalid {
            var: env_name.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(Pseudonymiser::new(key))
}

fn system_clock() -> SharedClock {
    Arc::new(SystemClock)
}

/// `ticket-webhook`: `WEBHOOK_SECRET_ARN`, `STATE_MACHINE_ARN`, `ARCHIVE_BUCKET`,
/// `ARCHIVE_PREFIX` (the archive, read only, tells a closed ticket).
pub async fn webhook_from_env() -> Result<Webhook<aws_sdk_sfn::Client>, StartupError> {
    let env = process_env();
    let state_machine_arn = env.state_machine_arn("STATE_MACHINE_ARN")?;
    let secret_arn = env.required("WEBHOOK_SECRET_ARN")?;
    let bucket = env.required("ARCHIVE_BUCKET")?;
    let prefix = env.optional("ARCHIVE_PREFIX").unwrap_or_default();
    let aws = aws().await;
    let archive = archive_client(&aws, bucket, prefix)?;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let keys = signing_keys(&secrets, "WEBHOOK_SECRET_ARN", &secret_arn).await?;
    Ok(Webhook {
        config: WebhookConfig::new(state_machine_arn, keys),
        sfn: aws_sdk_sfn::Client::new(&aws),
        archive: Box::new(archive),
        clock: system_clock(),
    })
}

/// The archive as the entry points reach it. Their roles decide what they may do
/// there: the webhook reads; the watchdog also writes manifests, the approval endpoint
/// annotations (the bucket policy names one writer per folder).
fn archive_client(
    aws: &SdkConfig,
    bucket: String,
    prefix: String,
) -> Result<archive::S3Archive, StartupError> {
    archive::S3Archive::new(
        aws_sdk_s3::Client::new(aws),
        archive::S3Settings::new(bucket, prefix),
    )
    .map_err(|e| StartupError::InvalidEnv {
        name: "ARCHIVE_BUCKET",
        reason: e.to_string(),
    })
}

/// `approval`: `APPROVAL_SECRET_ARN`, `PSEUDONYM_KEY_SECRET_ARN`, `STATE_MACHINE_ARN`,
/// `ARCHIVE_BUCKET`, `ARCHIVE_PREFIX` (annotations are written there), and optionally `APPROVAL_ROLES` (comma-separated; default DPO, Privacy Officer) and
/// `APPROVAL_FOUR_EYES` (`true`: the ticket's signer may not approve; default `false`).
pub async fn approval_from_env() -> Result<ApprovalEndpoint<aws_sdk_sfn::Client>, StartupError> {
    let env = process_env();
    let state_machine_arn = env.state_machine_arn("STATE_MACHINE_ARN")?;
    let approval_arn = env.required("APPROVAL_SECRET_ARN")?;
    let pseudonym_arn = env.required("PSEUDONYM_KEY_SECRET_ARN")?;
    let bucket = env.required("ARCHIVE_BUCKET")?;
    let prefix = env.optional("ARCHIVE_PREFIX").unwrap_or_default();
    let roles = match env.optional("APPROVAL_ROLES") {
        Some(raw) => approval::parse_roles(&raw).map_err(|reason| StartupError::InvalidEnv {
            name: "APPROVAL_ROLES",
            reason,
        })?,
        None => approval::default_roles(),
    };
    let aws = aws().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let keys = signing_keys(&secrets, "APPROVAL_SECRET_ARN", &approval_arn).await?;
    let pseudonymiser = pseudonymiser(&secrets, "PSEUDONYM_KEY_SECRET_ARN", &pseudonym_arn).await?;
    let four_eyes = match env.optional("APPROVAL_FOUR_EYES").as_deref() {
        None | Some("" | "false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(StartupError::InvalidEnv {
                name: "APPROVAL_FOUR_EYES",
                reason: "must be true or false".into(),
            });
        }
    };
    let mut config = ApprovalConfig::new(state_machine_arn, keys, pseudonymiser);
    config.allowed_roles = roles;
    config.four_eyes = four_eyes;
    Ok(ApprovalEndpoint {
        config,
        sfn: aws_sdk_sfn::Client::new(&aws),
        archive: Box::new(archive_client(&aws, bucket, prefix)?),
        clock: system_clock(),
    })
}

/// `watchdog`: `STATE_MACHINE_ARN`, `ARCHIVE_BUCKET`, `ARCHIVE_PREFIX`,
/// `METRICS_NAMESPACE`, `APPROVAL_OVERDUE_HOURS`, `DEADLINE_WARNING_DAYS`,
/// `TICKET_CALLBACK_URL`, `TICKET_SECRET_ARN`.
pub async fn watchdog_from_env() -> Result<Watchdog<aws_sdk_sfn::Client, HttpNotifier>, StartupError>
{
    let env = process_env();
    let config = watchdog_config(&env)?;
    let bucket = env.required("ARCHIVE_BUCKET")?;
    // Empty (the template's default) means records/ at the bucket's root.
    let prefix = env.optional("ARCHIVE_PREFIX").unwrap_or_default();
    let callback_url = callback_url(&env)?;
    let ticket_secret_arn = env.required("TICKET_SECRET_ARN")?;
    let aws = aws().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let keys = signing_keys(&secrets, "TICKET_SECRET_ARN", &ticket_secret_arn).await?;
    let archive = archive_client(&aws, bucket, prefix)?;
    let clock = system_clock();
    Ok(Watchdog {
        config,
        sfn: aws_sdk_sfn::Client::new(&aws),
        archive: Box::new(archive),
        notifier: HttpNotifier::new(callback_url, keys, clock.clone()),
        clock,
    })
}

/// The watchdog's settings from the environment.
pub fn watchdog_config<F: Fn(&str) -> Option<String>>(
    env: &Settings<F>,
) -> Result<WatchdogConfig, StartupError> {
    let config = WatchdogConfig::new(
        env.state_machine_arn("STATE_MACHINE_ARN")?,
        env.required("METRICS_NAMESPACE")?,
        env.positive("APPROVAL_OVERDUE_HOURS")?,
        env.positive("DEADLINE_WARNING_DAYS")?,
    );
    // Guard against a typo that would silently move every alarm off its metric.
    if !config
        .namespace
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/#:".contains(c))
    {
        return Err(StartupError::InvalidEnv {
            name: "METRICS_NAMESPACE",
            reason: "must be letters, digits and . _ - / # :".into(),
        });
    }
    Ok(config)
}

/// `TICKET_CALLBACK_URL` must be HTTPS (the callback names tickets), as every
/// signed POST's endpoint ([`signing::post`]).
pub fn callback_url<F: Fn(&str) -> Option<String>>(
    env: &Settings<F>,
) -> Result<Endpoint, StartupError> {
    Endpoint::parse(&env.required("TICKET_CALLBACK_URL")?).map_err(|e| StartupError::InvalidEnv {
        name: "TICKET_CALLBACK_URL",
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Settings<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::new(move |k: &str| map.get(k).cloned())
    }

    const SM: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:gdpr-erasure-erasure";

    #[test]
    fn the_watchdog_reads_its_settings_and_names_what_is_wrong() {
        let good = [
            ("STATE_MACHINE_ARN", SM),
            ("METRICS_NAMESPACE", "GdprErasure"),
            ("APPROVAL_OVERDUE_HOURS", "72"),
            ("DEADLINE_WARNING_DAYS", "7"),
        ];
        let c = watchdog_config(&env(&good)).unwrap();
        assert_eq!(c.approval_overdue, Duration::hours(72));
        assert_eq!(c.deadline_warning, Duration::days(7));

        let mut bad = good;
        bad[2] = ("APPROVAL_OVERDUE_HOURS", "0");
        assert!(matches!(
            watchdog_config(&env(&bad)),
            Err(StartupError::InvalidEnv {
                name: "APPROVAL_OVERDUE_HOURS",
                ..
            })
        ));
        let mut bad = good;
        bad[0] = ("STATE_MACHINE_ARN", "arn:aws:lambda:eu-west-1:1:function:x");
        assert!(matches!(
            watchdog_config(&env(&bad)),
            Err(StartupError::InvalidEnv {
                name: "STATE_MACHINE_ARN",
                ..
            })
        ));
        assert!(matches!(
            watchdog_config(&env(&good[1..])),
            Err(StartupError::MissingEnv("STATE_MACHINE_ARN"))
        ));
    }

    #[test]
    fn the_callback_must_be_https() {
        assert!(
            callback_url(&env(&[(
                "TICKET_CALLBACK_URL",
                "https://dsar.example.com/cb"
            )]))
            .is_ok()
        );
        assert!(
            callback_url(&env(&[(
                "TICKET_CALLBACK_URL",
                "http://dsar.example.com/cb"
            )]))
            .is_err()
        );
    }

    #[test]
    fn the_pseudonym_key_is_the_utf8_of_its_key_string() {
        let key = "k".repeat(32);
        let secret = |json: serde_json::Value| signing::Secret {
            name: "pseudonym".into(),
            json,
        };
        let p = pseudonymiser_from_secret(
            "PSEUDONYM_KEY_SECRET_ARN",
            &secret(serde_json::json!({ "key": key })),
        )
        .unwrap();
        // The same key as erasure-core's own openssl-checked test vector.
        let expected = Pseudonymiser::new(PseudonymKey::new("k", vec![b'k'; 32]).unwrap());
        let dpo: erasure_core::identifiers::Email = "dpo@example.com".parse().unwrap();
        assert_eq!(p.actor(&dpo), expected.actor(&dpo));
        let e = pseudonymiser_from_secret(
            "PSEUDONYM_KEY_SECRET_ARN",
            &secret(serde_json::json!({"key": "short-secret"})),
        )
        .unwrap_err();
        assert!(!e.to_string().contains("short-secret"), "{e}");
    }
}
