//! What `run` and `demo` share: the local configuration file, the pseudonym key file,
//! the in-process emulator on a virtual clock, logging with the timeline capture, and
//! the exit code of an outcome.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use archive::{Archive, ArchiveLocation, OpenOptions, RetentionPolicy};
use clock::SharedClock;
use erasure_core::deadline::{ClockBasis, DeadlineConfig};
use erasure_core::pseudonym::{PseudonymKey, Pseudonymiser};
use erasure_core::ticket::IntakeConfig;
use erasure_steps::ports::{
    Downstream, DownstreamSystem, FileHoldRegister, HoldRegisterSource, KeyRing, NoHoldRegister,
};
use rand::RngCore as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::timeline::{Calls, CaptureLayer};

/// `--config FILE`: everything a local run needs that is not a ticket (docs in
/// README.md, "Configuration of local runs").
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalConfig {
    /// The pseudonym key file (`{"keyId", "key"}`, key in hex). Default: beside a
    /// local archive directory, `<DIR>.pseudonym-key.json`; required for S3.
    pub pseudonym_key_file: Option<PathBuf>,
    /// The legal-hold register (JSON). Absent: no register (stated, not assumed).
    pub hold_register: Option<PathBuf>,
    /// The controller's IANA time zone (default UTC).
    pub time_zone: Option<String>,
    /// `receipt` (default) or `verification`.
    pub clock_basis: Option<String>,
    /// Region of numbers written without a country code (ISO 3166, e.g. IE).
    pub default_phone_region: Option<String>,
    /// Years records are locked (default 7).
    pub retention_years: Option<u32>,
    /// Systems told of each erasure.
    #[serde(default)]
    pub downstream: Vec<DownstreamConfig>,
    /// Who answers the review gate with --decision approve|reject.
    pub reviewer: Option<ReviewerConfig>,
    /// A real Genesys org (used with --genesys config).
    pub genesys: Option<GenesysConfig>,
    /// The letters to the data subject (docs/letters.md). Absent: the example
    /// controller, against the emulator only.
    pub letters: Option<letters::LetterSettings>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DownstreamConfig {
    pub name: String,
    pub endpoint: String,
    /// The HMAC key, or the name of the environment variable holding it.
    pub secret: Option<String>,
    pub secret_env: Option<String>,
    pub timeout_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewerConfig {
    pub email: String,
    pub role: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesysConfig {
    /// A region key (`eu_west_1`) or a base URL.
    pub region: String,
    /// The OAuth client, or (better for the secret) the environment variables holding
    /// it (default GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET).
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_id_env: Option<String>,
    pub client_secret_env: Option<String>,
}

impl LocalConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(LocalConfig::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration {}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{} is not a valid configuration (line {}, column {}): see README.md",
                path.display(),
                e.line(),
                e.column()
            )
        })
    }

    pub fn intake(&self) -> anyhow::Result<IntakeConfig> {
        let mut c = IntakeConfig::default();
        let mut d = DeadlineConfig::default();
        if let Some(tz) = &self.time_zone {
            d.time_zone = DeadlineConfig::parse_time_zone(tz)
                .map_err(|_| anyhow::anyhow!("timeZone {tz:?} is not an IANA time zone"))?;
        }
        d.clock_basis = match self.clock_basis.as_deref() {
            None | Some("receipt") => ClockBasis::Receipt,
            Some("verification") => ClockBasis::Verification,
            Some(_) => bail!("clockBasis must be receipt or verification"),
        };
        if let Some(r) = &self.default_phone_region {
            c.default_region = Some(r.parse().map_err(|_| {
                anyhow::anyhow!("defaultPhoneRegion {r:?} is not an ISO 3166 code")
            })?);
        }
        c.deadline = d;
        Ok(c)
    }

    /// The letters, their templates checked now (before any ticket runs). A real org
    /// needs the controller's own settings: the example controller is for the emulator.
    pub fn letters(&self, real_org: bool) -> anyhow::Result<Arc<letters::Letters>> {
        let settings = match (&self.letters, real_org) {
            (Some(s), _) => s.clone(),
            (None, false) => letters::LetterSettings::example(),
            (None, true) => bail!(
                "a run against a real Genesys org needs the `letters` section of --config (controller, dpo, supervisoryAuthority: docs/letters.md)"
            ),
        };
        Ok(Arc::new(letters::Letters::from_settings(settings)?))
    }

    pub fn retention(&self) -> anyhow::Result<RetentionPolicy> {
        Ok(match self.retention_years {
            Some(y) => RetentionPolicy::years(y)?,
            None => RetentionPolicy::default(),
        })
    }

    pub fn holds(&self) -> Arc<dyn HoldRegisterSource> {
        match &self.hold_register {
            Some(p) => Arc::new(FileHoldRegister { path: p.clone() }),
            None => Arc::new(NoHoldRegister),
        }
    }

    pub fn downstream(&self) -> anyhow::Result<Downstream> {
        let mut systems = Vec::new();
        for d in &self.downstream {
            let secret = match (&d.secret, &d.secret_env) {
                (Some(s), _) => s.clone(),
                (None, Some(var)) => std::env::var(var)
                    .with_context(|| format!("downstream system {}: {var} is not set", d.name))?,
                (None, None) => bail!("downstream system {}: give secret or secretEnv", d.name),
            };
            systems.push(DownstreamSystem {
                name: d.name.clone(),
                endpoint: d
                    .endpoint
                    .parse()
                    .with_context(|| format!("downstream system {}: endpoint", d.name))?,
                key: KeyRing::from_key(secret)
                    .with_context(|| format!("downstream system {}: the key", d.name))?,
                timeout: Duration::from_secs(d.timeout_seconds.unwrap_or(30)),
            });
        }
        Ok(Downstream::new(systems)?)
    }
}

/// The submission ledger of `run` with a local archive: beside the directory (the
/// archive holds records only).
pub fn default_ledger_dir(archive_dir: &Path) -> PathBuf {
    let name = archive_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "archive".into());
    archive_dir
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(format!("{name}.ledger"))
}

/// The default key file of a local archive: beside the directory, never in it (the
/// archive can never be erased; the key must stay separable from it).
pub fn default_key_file(archive_dir: &Path) -> PathBuf {
    let name = archive_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "archive".into());
    archive_dir
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(format!("{name}.pseudonym-key.json"))
}

#[derive(serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyFile {
    key_id: String,
    /// Hex.
    key: String,
}

/// Reads the pseudonym key, or creates one if `create` and the file is absent.
pub fn pseudonymiser(
    path: &Path,
    create: bool,
    archive_dir: Option<&Path>,
) -> anyhow::Result<Pseudonymiser> {
    if let Some(dir) = archive_dir {
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let parent = path
            .parent()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()));
        if parent.is_some_and(|p| p.starts_with(&dir)) {
            bail!(
                "the pseudonym key {} would sit inside the archive {}: keep it outside (the archive is never erased)",
                path.display(),
                dir.display()
            );
        }
    }
    if !path.exists() {
        if !create {
            bail!(
                "no pseudonym key at {}: give pseudonymKeyFile in --config (an S3 archive's key is never generated locally)",
                path.display()
            );
        }
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let text = serde_json::to_string_pretty(&KeyFile {
            key_id: PseudonymKey::fingerprint(&key),
            key: hex::encode(key),
        })?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        write_private(path, text.as_bytes())
            .with_context(|| format!("cannot write the pseudonym key {}", path.display()))?;
        eprintln!(
            "created pseudonym key {} (keep it: without it the records' identifier hashes cannot be checked)",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the pseudonym key {}", path.display()))?;
    let file: KeyFile = serde_json::from_str(&text).map_err(|_| {
        anyhow::anyhow!(
            "{} is not a pseudonym key file ({{keyId, key}})",
            path.display()
        )
    })?;
    let bytes = hex::decode(file.key.trim())
        .map_err(|_| anyhow::anyhow!("{}: the key is not hex", path.display()))?;
    // The id must be a fingerprint of this very key, so a key file edited to hold another
    // key cannot pass for the old one: today's, or the one earlier versions wrote
    // (`local-` and 12 hex digits of SHA-256 over the key), which archives made then
    // keep naming.
    let legacy = format!("local-{}", &hex::encode(Sha256::digest(&bytes))[..12]);
    let fingerprint = PseudonymKey::fingerprint(&bytes);
    if file.key_id != fingerprint && file.key_id != legacy {
        bail!(
            "{}: keyId {:?} is not this key's fingerprint ({fingerprint}); a changed key needs the keyId it gives, never the old one's",
            path.display(),
            file.key_id
        );
    }
    Ok(Pseudonymiser::new(PseudonymKey::new(file.key_id, bytes)?))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Opens the archive; for a local directory also says where its key file goes.
pub async fn open_archive(
    location: &str,
    endpoint_url: Option<String>,
    retention: RetentionPolicy,
) -> anyhow::Result<(Arc<dyn Archive>, Option<PathBuf>)> {
    let loc = ArchiveLocation::parse(location)?;
    let dir = match &loc {
        ArchiveLocation::Local(d) => Some(d.clone()),
        ArchiveLocation::S3 { .. } => None,
    };
    if let Some(d) = &dir {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let archive = archive::open(
        &loc,
        &OpenOptions {
            retention,
            endpoint_url,
            ..OpenOptions::default()
        },
    )
    .await?;
    Ok((Arc::from(archive), dir))
}

/// Human logs on stderr (`RUST_LOG`, default warnings only) and the timeline capture.
pub fn init_logging(calls: &Calls) {
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")));
    let capture = CaptureLayer::new(calls.clone()).with_filter(
        Targets::new()
            .with_target("genesys", LevelFilter::DEBUG)
            .with_target("erasure_steps", LevelFilter::INFO),
    );
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(capture)
        .try_init();
}

/// Exit codes of `run` (README.md): 0 COMPLETED; 10 PARTIAL; 11 DEFERRED; 12 REJECTED;
/// 13 FAILED; 3 the execution ended without a record; 4 the record was written but
/// the ticket could not be told.
pub fn exit_code(outcome: Option<&str>, execution_failed: bool) -> u8 {
    match (outcome, execution_failed) {
        (None, _) => 3,
        (Some(_), true) => 4,
        (Some("COMPLETED"), false) => 0,
        (Some("PARTIAL"), false) => 10,
        (Some("DEFERRED"), false) => 11,
        (Some("REJECTED"), false) => 12,
        (Some(_), false) => 13,
    }
}

/// A virtual clock for runs against the emulator.
pub fn virtual_clock(
    start: chrono::DateTime<chrono::Utc>,
) -> (Arc<clock::VirtualClock>, SharedClock) {
    let c = Arc::new(clock::VirtualClock::starting_at(start));
    let shared: SharedClock = c.clone();
    (c, shared)
}
