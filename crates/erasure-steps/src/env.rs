//! Configuration of the Lambda functions: environment variables (the names
//! `infra/template.yaml` sets) and Secrets Manager secrets, into each step's `Deps`.
//! A function's `main.rs` calls [`Env::load`] and `<step>::Deps::from_env`, once per
//! cold start.
//!
//! | variable | used by | what |
//! |---|---|---|
//! | `GENESYS_REGION` | Genesys steps | region key (`eu_west_1`) or a base URL |
//! | `GENESYS_SECRET_ARN` | Genesys steps | `{clientId, clientSecret}` |
//! | `PSEUDONYM_KEY_SECRET_ARN` | Intake, VerifyErasure, WriteRecord | `{key}`; the key id is its fingerprint (`key-sha256-…`) |
//! | `DOWNSTREAM_SYSTEMS` | Intake, NotifyDownstream | `[{name, endpoint, timeoutSeconds?}]` |
//! | `DOWNSTREAM_SECRET_ARN` | NotifyDownstream | `{<name>: <key>}` |
//! | `HOLD_REGISTER_BUCKET`, `HOLD_REGISTER_KEY` | Review, Erase, PurgeRecordings | the legal-hold register object (read again before a delete or a purge) |
//! | `REVIEW_ENDPOINT_URL`, `REVIEW_SECRET_ARN` (`{key}`), `APPROVAL_URL` | NotifyReview | |
//! | `TICKET_CALLBACK_URL`, `TICKET_SECRET_ARN` (`{key}`) | ReportToTicket | |
//! | `ARCHIVE_BUCKET`, `ARCHIVE_PREFIX`, `RETENTION_YEARS` | WriteRecord | records SSE-S3 (AES256) |
//! | `LEDGER_BUCKET`, `LEDGER_PREFIX` (`ledger/`) | Erase (required there) | the submission ledger |
//! | `VERIFY_AFTER` (`1d,7d,15d`) | VerifyErasure | when to check again after the record, from the delete's completion (`s`, `m`, `h`, `d`; empty: never) |
//! | `LETTER_SETTINGS` | WriteRecord | the letters' settings as JSON (`docs/letters.md`); templates checked at cold start |
//!
//! Optional, with defaults: `CONTROLLER_TIME_ZONE` (UTC), `CLOCK_BASIS`
//! (`receipt`|`verification`), `DEFAULT_PHONE_REGION`, `PUBLIC_HOLIDAYS`
//! (comma-separated dates), `SIGN_OFF_ROLES` (comma-separated), `SERVICE_LEVEL_BUSINESS_DAYS`
//! (3), `ROLL_FORWARD_TO_WORKING_DAY` (false), `DEFINITION_DIGEST`,
//! `ANALYTICS_LOOKBACK_DAYS` (3660), `POLL_FIRST_WAIT_SECONDS` (10) and
//! `POLL_MAX_WAIT_SECONDS` (300): the polling back-off of Locate, Erase and Poll;
//! `REDACTION_RECHECK_SECONDS` (86400): how often VerifyErasure looks again at
//! conversations whose redaction is pending.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use archive::{RetentionPolicy, S3Archive, S3Settings, ServerSideEncryption};
use chrono::NaiveDate;
use clock::{SharedClock, SystemClock};
use erasure_core::deadline::{ClockBasis, DeadlineConfig};
use erasure_core::pseudonym::{PseudonymKey, Pseudonymiser};
use erasure_core::ticket::IntakeConfig;
use genesys::{ClientConfig, Credentials, Environment, GenesysClient};
use serde::Deserialize;
use serde_json::Value;

use crate::error::StepError;
use crate::gdpr::{GenesysDeps, PollPolicy};
use crate::ports::{
    Downstream, DownstreamSystem, Endpoint, HttpReviewNotifier, HttpTicketReporter, KeyRing,
    S3HoldRegister, S3Ledger,
};
use crate::{
    hold_recheck, intake, notify_downstream, notify_review, report_ticket, review, verify_erasure,
    write_record,
};

/// The environment of one function: its variables and the AWS configuration.
#[derive(Clone)]
pub struct Env {
    vars: BTreeMap<String, String>,
    aws: aws_config::SdkConfig,
    clock: SharedClock,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Variable names only: values can be URLs with tokens.
        f.debug_struct("Env")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Env {
    /// The process environment and the standard AWS configuration chain.
    pub async fn load() -> Self {
        let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Env::from_vars(std::env::vars(), aws)
    }

    /// Given variables (tests; nothing else reads the process environment).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
        aws: aws_config::SdkConfig,
    ) -> Self {
        Env {
            vars: vars.into_iter().collect(),
            aws,
            clock: Arc::new(SystemClock),
        }
    }

    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    pub fn clock(&self) -> SharedClock {
        self.clock.clone()
    }

    pub fn opt(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    pub fn var(&self, name: &str) -> Result<&str, StepError> {
        self.opt(name)
            .ok_or_else(|| StepError::misconfigured(format!("{name} is not set")))
    }

    fn parse<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, StepError> {
        match self.opt(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| StepError::misconfigured(format!("{name} is not valid"))),
        }
    }

    /// The S3 client (path-style against a local endpoint, as such servers need).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let mut b = aws_sdk_s3::config::Builder::from(&self.aws);
        if self.aws.endpoint_url().is_some() {
            b = b.force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(b.build())
    }

    /// A secret (its JSON and its name, for key ids), read as every function reads
    /// secrets ([`signing::secret::read`]).
    pub async fn secret(&self, arn_var: &str) -> Result<signing::Secret, StepError> {
        let arn = self.var(arn_var)?;
        let client = aws_sdk_secretsmanager::Client::new(&self.aws);
        Ok(signing::secret::read(&client, arn_var, arn).await?)
    }

    /// A secret's JSON and its name.
    pub async fn secret_json(&self, arn_var: &str) -> Result<(Value, String), StepError> {
        let s = self.secret(arn_var).await?;
        Ok((s.json, s.name))
    }

    /// `{"key": "...", "previousKey"?: "..."}` of a secret, as HMAC keys.
    pub async fn key_ring(&self, arn_var: &str) -> Result<KeyRing, StepError> {
        Ok(self.secret(arn_var).await?.key_ring(arn_var)?)
    }

    /// Where signed POSTs named by `name` go (HTTPS; see [`signing::post`]).
    fn endpoint(&self, name: &str) -> Result<Endpoint, StepError> {
        Endpoint::parse(self.var(name)?)
            .map_err(|e| StepError::misconfigured(format!("{name} {e}")))
    }

    /// The deadline and ticket rules (optional variables, with defaults).
    pub fn intake_config(&self) -> Result<IntakeConfig, StepError> {
        let mut c = IntakeConfig::default();
        let mut d = DeadlineConfig::default();
        if let Some(tz) = self.opt("CONTROLLER_TIME_ZONE") {
            d.time_zone = DeadlineConfig::parse_time_zone(tz).map_err(|_| {
                StepError::misconfigured("CONTROLLER_TIME_ZONE is not an IANA time zone")
            })?;
        }
        d.clock_basis = match self.opt("CLOCK_BASIS") {
            None | Some("receipt") => ClockBasis::Receipt,
            Some("verification") => ClockBasis::Verification,
            Some(_) => {
                return Err(StepError::misconfigured(
                    "CLOCK_BASIS must be receipt or verification",
                ));
            }
        };
        if let Some(days) = self.opt("PUBLIC_HOLIDAYS") {
            for day in days.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                d.holidays
                    .insert(NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
                        StepError::misconfigured(
                            "PUBLIC_HOLIDAYS must be YYYY-MM-DD dates, comma-separated",
                        )
                    })?);
            }
        }
        d.service_level_business_days = self.parse("SERVICE_LEVEL_BUSINESS_DAYS", 3)?;
        d.roll_forward_to_working_day = self.parse("ROLL_FORWARD_TO_WORKING_DAY", false)?;
        if let Some(r) = self.opt("DEFAULT_PHONE_REGION") {
            c.default_region = Some(r.parse().map_err(|_| {
                StepError::misconfigured("DEFAULT_PHONE_REGION is not an ISO 3166 alpha-2 code")
            })?);
        }
        if let Some(roles) = self.opt("SIGN_OFF_ROLES") {
            c.allowed_sign_off_roles = roles
                .split(',')
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .collect();
            if c.allowed_sign_off_roles.is_empty() {
                return Err(StepError::misconfigured(
                    "SIGN_OFF_ROLES lists no role: list at least one, comma-separated",
                ));
            }
            if let Some(bad) = c
                .allowed_sign_off_roles
                .iter()
                .find(|r| !erasure_core::record::is_valid_role(r))
            {
                return Err(StepError::misconfigured(format!(
                    "SIGN_OFF_ROLES: role {bad:?} cannot be recorded (a letter, then up to 39 letters, digits, spaces, '_' or '-')"
                )));
            }
        }
        c.deadline = d;
        Ok(c)
    }

    /// `DOWNSTREAM_SYSTEMS` as configured (names and endpoints; no keys there).
    pub fn downstream_entries(&self) -> Result<Vec<DownstreamEntry>, StepError> {
        match self.opt("DOWNSTREAM_SYSTEMS") {
            None => Ok(Vec::new()),
            Some(json) => serde_json::from_str(json).map_err(|_| {
                StepError::misconfigured(
                    "DOWNSTREAM_SYSTEMS must be a JSON list of {name, endpoint}",
                )
            }),
        }
    }

    /// The polling back-off: `POLL_FIRST_WAIT_SECONDS` doubling to
    /// `POLL_MAX_WAIT_SECONDS` ([`PollPolicy::default`] for either left out). Shorter
    /// waits see a fast Genesys sooner at the cost of more state transitions; a test
    /// whose Wait states take real time sets them too.
    pub fn poll_policy(&self) -> Result<PollPolicy, StepError> {
        let default = PollPolicy::default();
        let first: u64 = self.parse("POLL_FIRST_WAIT_SECONDS", default.first_wait.as_secs())?;
        let max: u64 = self.parse("POLL_MAX_WAIT_SECONDS", default.max_wait.as_secs())?;
        if first == 0 || max < first {
            return Err(StepError::misconfigured(
                "POLL_FIRST_WAIT_SECONDS must be at least 1 and at most POLL_MAX_WAIT_SECONDS",
            ));
        }
        Ok(PollPolicy {
            first_wait: Duration::from_secs(first),
            max_wait: Duration::from_secs(max),
            ..default
        })
    }

    pub async fn genesys(&self) -> Result<GenesysDeps, StepError> {
        let environment: Environment = self.var("GENESYS_REGION")?.parse().map_err(|_| {
            StepError::misconfigured("GENESYS_REGION is not a Genesys region or base URL")
        })?;
        let (secret, _) = self.secret_json("GENESYS_SECRET_ARN").await?;
        let creds: GenesysSecret = serde_json::from_value(secret).map_err(|_| {
            StepError::misconfigured(
                "the Genesys secret must be {\"clientId\": ..., \"clientSecret\": ...}",
            )
        })?;
        let client = GenesysClient::new(
            ClientConfig::new(
                environment,
                Credentials::new(creds.client_id, creds.client_secret),
            )
            .with_clock(self.clock.clone()),
        )?;
        let mut deps = GenesysDeps::new(client, self.clock.clone());
        deps.poll = self.poll_policy()?;
        if let Some(bucket) = self.opt("LEDGER_BUCKET") {
            deps.ledger = Arc::new(S3Ledger {
                client: self.s3(),
                bucket: bucket.to_owned(),
                prefix: self.opt("LEDGER_PREFIX").unwrap_or("ledger/").to_owned(),
            });
        }
        Ok(deps)
    }

    /// The pseudonym key, identified by its fingerprint ([`PseudonymKey::from_bytes`]),
    /// never by the secret's name: a key put in place of another under the same name gets
    /// another id, so no record or hold register can take one for the other.
    pub async fn pseudonymiser(&self) -> Result<Pseudonymiser, StepError> {
        let (secret, _) = self.secret_json("PSEUDONYM_KEY_SECRET_ARN").await?;
        pseudonymiser_from_secret(&secret)
    }
}

/// See [`Env::pseudonymiser`]. A `keyId` the secret states (earlier versions read one)
/// must be the key's fingerprint: any other would name a key that is not this one.
pub fn pseudonymiser_from_secret(secret: &Value) -> Result<Pseudonymiser, StepError> {
    let key = secret
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| StepError::misconfigured("the pseudonym key secret has no \"key\""))?;
    let key = PseudonymKey::from_bytes(key.as_bytes().to_vec())
        .map_err(|e| StepError::misconfigured(format!("the pseudonym key: {e}")))?;
    if let Some(stated) = secret.get("keyId").and_then(Value::as_str)
        && stated != key.id()
    {
        return Err(StepError::misconfigured(format!(
            "the pseudonym key secret states keyId {stated:?}, but the key's id is its fingerprint {}: remove keyId from the secret (records name the key by its fingerprint)",
            key.id()
        )));
    }
    Ok(Pseudonymiser::new(key))
}

/// One entry of `DOWNSTREAM_SYSTEMS`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DownstreamEntry {
    pub name: String,
    pub endpoint: String,
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenesysSecret {
    client_id: String,
    client_secret: String,
}

impl GenesysDeps {
    pub async fn from_env(env: &Env) -> Result<Self, StepError> {
        env.genesys().await
    }
}

impl verify_erasure::Deps {
    pub async fn from_env(env: &Env) -> Result<Self, StepError> {
        let recheck: i64 = env.parse(
            "REDACTION_RECHECK_SECONDS",
            verify_erasure::RECHECK_EVERY.num_seconds(),
        )?;
        if recheck < 1 {
            return Err(StepError::misconfigured(
                "REDACTION_RECHECK_SECONDS must be at least 1",
            ));
        }
        let later_checks = match env.opt("VERIFY_AFTER") {
            Some(text) => crate::reverify::parse_schedule(text)
                .map_err(|e| StepError::misconfigured(format!("VERIFY_AFTER: {e}")))?,
            None => crate::reverify::DEFAULT_SCHEDULE_DAYS
                .iter()
                .map(|d| chrono::Duration::days(*d))
                .collect(),
        };
        Ok(verify_erasure::Deps {
            genesys: env.genesys().await?,
            pseudonymiser: Arc::new(env.pseudonymiser().await?),
            recheck_every: chrono::Duration::seconds(recheck),
            later_checks,
        })
    }
}

impl intake::Deps {
    pub async fn from_env(env: &Env) -> Result<Self, StepError> {
        Ok(intake::Deps {
            pseudonymiser: Arc::new(env.pseudonymiser().await?),
            config: env.intake_config()?,
            downstream: env
                .downstream_entries()?
                .into_iter()
                .map(|d| d.name)
                .collect(),
            poll_budget: intake::PollBudget::default(),
            clock: env.clock(),
            archive: Some(Arc::new(env.archive_for_checks()?)),
        })
    }
}

impl Env {
    /// The legal-hold register object (`HOLD_REGISTER_BUCKET`, `HOLD_REGISTER_KEY`).
    fn hold_register(&self) -> Result<S3HoldRegister, StepError> {
        Ok(S3HoldRegister {
            client: self.s3(),
            bucket: self.var("HOLD_REGISTER_BUCKET")?.to_owned(),
            key: self.var("HOLD_REGISTER_KEY")?.to_owned(),
        })
    }

    /// The archive (`ARCHIVE_BUCKET`, `ARCHIVE_PREFIX`) under `retention`.
    fn archive_settings(&self, retention: RetentionPolicy) -> Result<S3Settings, StepError> {
        Ok(S3Settings {
            bucket: self.var("ARCHIVE_BUCKET")?.to_owned(),
            prefix: self.opt("ARCHIVE_PREFIX").unwrap_or_default().to_owned(),
            retention,
            // SSE-S3 on every record, whatever the bucket's default says: no key whose
            // deletion or policy change could make a locked record unreadable.
            encryption: ServerSideEncryption::S3,
        })
    }

    /// The archive as Intake checks it before a ticket goes on: only its lock is
    /// read, nothing is written (so the retention does not matter).
    fn archive_for_checks(&self) -> Result<S3Archive, StepError> {
        let settings = self.archive_settings(RetentionPolicy::default())?;
        Ok(S3Archive::new(self.s3(), settings)?)
    }
}

/// Erase's and PurgeRecordings' ports (`erase::Deps`, `purge_recordings::Deps`).
impl hold_recheck::Deps {
    pub async fn from_env(env: &Env) -> Result<Self, StepError> {
        Ok(hold_recheck::Deps {
            genesys: env.genesys().await?,
            holds: Arc::new(env.hold_register()?),
        })
    }
}

impl review::Deps {
    pub async fn from_env(env: &Env) -> Result<Self, StepError> {
        let holds = env.hold_register()?;
        let lookback: i64 = env.parse("ANALYTICS_LOOKBACK_DAYS", 3660)?;
        Ok(review::Deps {
            genesys: env.genesys().await?,
            holds: Arc::new(holds),
            analytics: review::AnalyticsSettings {
                lookback: chrono::Duration::days(lookback.max(1)),
            },
        })
    }
}

impl notify_review::Deps {
    pub async fn from_env(env: &Env) -> Result<Self, StepError> {
        let notifier = HttpReviewNotifier::new(
            env.endpoint("REVIEW_ENDPOINT_URL")?,
            env.opt("APPROVAL_URL").map(str::to_owned),
            env.key_ring("REVIEW_SECRET_ARN").await?,
        );
        Ok(notify_review::Deps {
            notifier: Arc::new(notifier),
            clock: env.clock(),
        })
    }
}

impl notify_downstream::Deps {
    pub async fn from_env(env: &Env) -> Result<Self, StepError> {
        let entries = env.downstream_entries()?;
        let keys = if entries.is_empty() {
            None
        } else {
            Some(env.secret("DOWNSTREAM_SECRET_ARN").await?)
        };
        let mut systems = Vec::new();
        for e in entries {
            let endpoint = Endpoint::parse(&e.endpoint).map_err(|why| {
                StepError::misconfigured(format!(
                    "downstream system {}: the endpoint {why}",
                    e.name
                ))
            })?;
            let key = keys
                .as_ref()
                .ok_or_else(|| StepError::misconfigured("DOWNSTREAM_SECRET_ARN is not set"))?
                .member_key_ring("DOWNSTREAM_SECRET_ARN", &e.name)?;
            systems.push(DownstreamSystem {
                endpoint,
                name: e.name,
                key,
                timeout: Duration::from_secs(e.timeout_seconds.unwrap_or(30)),
            });
        }
        Ok(notify_downstream::Deps {
            downstream: Downstream::new(systems)?,
            clock: env.clock(),
        })
    }
}

impl write_record::Deps {
    pub async fn from_env(env: &Env) -> Result<Self, StepError> {
        let years: u32 = env
            .var("RETENTION_YEARS")?
            .trim()
            .parse()
            .map_err(|_| StepError::misconfigured("RETENTION_YEARS is not a number"))?;
        let settings = env.archive_settings(RetentionPolicy::years(years)?)?;
        // A record the archive refuses is kept under `<prefix>fallback/` of the same
        // bucket (private, encrypted as the records are) for an operator to replay.
        let fallback = archive::S3Fallback::new(
            env.s3(),
            settings.bucket.clone(),
            &format!("{}fallback/", settings.prefix),
            settings.encryption.clone(),
        )?;
        // A template a letter would fail on is refused here, at cold start.
        let letters = letters::LetterSettings::from_json(env.var("LETTER_SETTINGS")?)
            .and_then(letters::Letters::from_settings)
            .map_err(|e| StepError::misconfigured(format!("LETTER_SETTINGS: {e}")))?;
        Ok(write_record::Deps {
            archive: Arc::new(S3Archive::new(env.s3(), settings)?),
            fallback: Some(Arc::new(fallback)),
            pipeline_version: crate::PIPELINE_VERSION.to_owned(),
            definition_digest: env.opt("DEFINITION_DIGEST").map(str::to_owned),
            letters: Some(Arc::new(letters)),
            // The record is searched for the ticket's identifiers before it is locked.
            pseudonymiser: Some(Arc::new(env.pseudonymiser().await?)),
        })
    }
}

impl report_ticket::Deps {
    pub async fn from_env(env: &Env) -> Result<Self, StepError> {
        Ok(report_ticket::Deps {
            reporter: Arc::new(HttpTicketReporter::new(
                env.endpoint("TICKET_CALLBACK_URL")?,
                env.key_ring("TICKET_SECRET_ARN").await?,
            )),
            clock: env.clock(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        let aws = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        Env::from_vars(
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            aws,
        )
    }

    #[test]
    fn a_sign_off_role_the_record_could_not_hold_is_refused_at_configuration() {
        let ok = env(&[("SIGN_OFF_ROLES", "DPO, Privacy Officer")])
            .intake_config()
            .unwrap();
        assert_eq!(ok.allowed_sign_off_roles, ["DPO", "Privacy Officer"]);
        for bad in ["DPO,Ops/Privacy", "DPO!", " , "] {
            let err = env(&[("SIGN_OFF_ROLES", bad)]).intake_config().unwrap_err();
            assert_eq!(err.name(), "StepMisconfigured", "{bad}");
            assert!(err.to_string().contains("SIGN_OFF_ROLES"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_poll_back_off_is_configurable_and_defaults_to_ten_seconds_doubling_to_five_minutes() {
        assert_eq!(env(&[]).poll_policy().unwrap(), PollPolicy::default());
        let p = env(&[
            ("POLL_FIRST_WAIT_SECONDS", "2"),
            ("POLL_MAX_WAIT_SECONDS", "5"),
        ])
        .poll_policy()
        .unwrap();
        let waits: Vec<u64> = (0..4).map(|n| p.wait_after(n)).collect();
        assert_eq!(waits, [2, 4, 5, 5]);
        assert_eq!(p.min_budget, PollPolicy::default().min_budget);
        for bad in [
            &[("POLL_FIRST_WAIT_SECONDS", "0")][..],
            &[
                ("POLL_FIRST_WAIT_SECONDS", "20"),
                ("POLL_MAX_WAIT_SECONDS", "10"),
            ],
            &[("POLL_MAX_WAIT_SECONDS", "soon")],
        ] {
            let e = env(bad).poll_policy().unwrap_err();
            assert_eq!(e.name(), "StepMisconfigured", "{bad:?}");
        }
    }

    #[test]
    fn the_pseudonym_key_is_named_by_its_fingerprint_not_its_secret() {
        let key = "k".repeat(32);
        let p = pseudonymiser_from_secret(&serde_json::json!({ "key": key })).unwrap();
        assert_eq!(p.key_id(), PseudonymKey::fingerprint(key.as_bytes()));
        let changed =
            pseudonymiser_from_secret(&serde_json::json!({ "key": "j".repeat(32) })).unwrap();
        assert_ne!(changed.key_id(), p.key_id(), "a changed key is another key");
        // A stated keyId must be the fingerprint; any other names another key.
        let stated = serde_json::json!({ "key": key, "keyId": p.key_id() });
        assert!(pseudonymiser_from_secret(&stated).is_ok());
        let e =
            pseudonymiser_from_secret(&serde_json::json!({ "key": key, "keyId": "pseudonym-key" }))
                .unwrap_err();
        assert_eq!(e.name(), "StepMisconfigured");
        assert!(!e.to_string().contains(&key), "{e}");
    }
}
