//! The submission ledger: what the ticket's GDPR submissions are, written where a
//! retried or re-run step finds it, so a GDPR_DELETE is sent at most once per ticket
//! without paging the org's request history (which grows for years).
//!
//! Two write-once facts per request name: the **intent**, written before the POST,
//! and the **request id**, written after it. A step that finds an id reuses that
//! request; one that finds an intent without an id (the POST failed ambiguously, or
//! the function died around it) looks at the newest requests only, back to the intent
//! (`GenesysClient::find_recent_gdpr_request_by_name`), and escalates when that cannot
//! tell; one that finds nothing submits.
//!
//! Entries hold the request name (`gdpr-erasure/<ticket id>/<kind>`), times and the
//! Genesys request id: no identifier of the subject.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StepError;

/// What the ledger knows of one request name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LedgerEntry {
    /// When the POST was about to be sent (the first intent; never moved).
    #[serde(with = "erasure_core::time::utc_z")]
    pub intent_at: DateTime<Utc>,
    /// The request Genesys created, once known.
    pub request_id: Option<String>,
}

/// Where submissions are recorded.
#[async_trait]
pub trait SubmissionLedger: Send + Sync + std::fmt::Debug {
    /// The entry for `name`, if an intent was ever written.
    async fn get(&self, name: &str) -> Result<Option<LedgerEntry>, StepError>;
    /// Writes the intent unless one exists; returns the entry as it now stands (an
    /// earlier intent wins).
    async fn record_intent(&self, name: &str, at: DateTime<Utc>) -> Result<LedgerEntry, StepError>;
    /// Writes the request id (write-once: an existing different id is an error).
    async fn record_request(&self, name: &str, request_id: &str) -> Result<(), StepError>;
}

/// The ledger of a run on one machine: as durable as the local runner's own state,
/// which lives in the same process.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    entries: Mutex<BTreeMap<String, LedgerEntry>>,
}

#[async_trait]
impl SubmissionLedger for MemoryLedger {
    async fn get(&self, name: &str) -> Result<Option<LedgerEntry>, StepError> {
        Ok(self.lock().get(name).cloned())
    }

    async fn record_intent(&self, name: &str, at: DateTime<Utc>) -> Result<LedgerEntry, StepError> {
        Ok(self
            .lock()
            .entry(name.to_owned())
            .or_insert(LedgerEntry {
                intent_at: at,
                request_id: None,
            })
            .clone())
    }

    async fn record_request(&self, name: &str, request_id: &str) -> Result<(), StepError> {
        let mut entries = self.lock();
        let entry = entries.get_mut(name).ok_or_else(|| {
            StepError::SubmissionUnknown(format!("no intent recorded for {name}"))
        })?;
        match &entry.request_id {
            Some(id) if id != request_id => Err(StepError::SubmissionUnknown(format!(
                "{name} already names another request"
            ))),
            _ => {
                entry.request_id = Some(request_id.to_owned());
                Ok(())
            }
        }
    }
}

impl MemoryLedger {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, LedgerEntry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `s3://<bucket>/<prefix><name>/intent.json` and `.../request.json`, each written
/// once (`If-None-Match: *`): `LEDGER_BUCKET`, `LEDGER_PREFIX`.
#[derive(Debug, Clone)]
pub struct S3Ledger {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
    pub prefix: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntentObject {
    #[serde(with = "erasure_core::time::utc_z")]
    intent_at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestObject {
    request_id: String,
}

impl S3Ledger {
    fn key(&self, name: &str, fact: &str) -> String {
        format!("{}{name}/{fact}.json", self.prefix)
    }

    async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StepError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => {
                let bytes = out.body.collect().await.map_err(|_| {
                    StepError::LedgerUnavailable("a ledger entry's download broke off".into())
                })?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(e) if e.code() == Some("NoSuchKey") => Ok(None),
            Err(e) => Err(StepError::LedgerUnavailable(format!(
                "s3://{}: {}",
                self.bucket,
                e.code().unwrap_or("no answer from S3")
            ))),
        }
    }

    /// Writes `body` at `key` unless something is there; `false` when it was.
    async fn write_once(&self, key: &str, body: Vec<u8>) -> Result<bool, StepError> {
        match self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .if_none_match("*")
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.code(),
                    Some("PreconditionFailed" | "ConditionalRequestConflict")
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(StepError::LedgerUnavailable(format!(
                "s3://{}: {}",
                self.bucket,
                e.code().unwrap_or("no answer from S3")
            ))),
        }
    }

    fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StepError> {
        serde_json::from_slice(bytes)
            .map_err(|_| StepError::misconfigured("a ledger entry is not what this code writes"))
    }
}

/// An entry from its stored objects (the request's only once the POST answered).
fn entry(intent: &[u8], request: Option<&[u8]>) -> Result<LedgerEntry, StepError> {
    let intent: IntentObject = S3Ledger::decode(intent)?;
    let request_id = match request {
        Some(bytes) => Some(S3Ledger::decode::<RequestObject>(bytes)?.request_id),
        None => None,
    };
    Ok(LedgerEntry {
        intent_at: intent.intent_at,
        request_id,
    })
}

fn intent_body(at: DateTime<Utc>) -> Result<Vec<u8>, StepError> {
    serde_json::to_vec(&IntentObject { intent_at: at })
        .map_err(|e| StepError::input(format!("a ledger entry cannot be encoded: {e}")))
}

#[async_trait]
impl SubmissionLedger for S3Ledger {
    async fn get(&self, name: &str) -> Result<Option<LedgerEntry>, StepError> {
        let Some(intent) = self.read(&self.key(name, "intent")).await? else {
            return Ok(None);
        };
        let request = self.read(&self.key(name, "request")).await?;
        entry(&intent, request.as_deref()).map(Some)
    }

    async fn record_intent(&self, name: &str, at: DateTime<Utc>) -> Result<LedgerEntry, StepError> {
        let body = intent_body(at)?;
        self.write_once(&self.key(name, "intent"), body).await?;
        self.get(name).await?.ok_or_else(|| {
            StepError::LedgerUnavailable("the intent just written cannot be read back".into())
        })
    }

    async fn record_request(&self, name: &str, request_id: &str) -> Result<(), StepError> {
        let body = serde_json::to_vec(&RequestObject {
            request_id: request_id.to_owned(),
        })
        .map_err(|e| StepError::input(format!("a ledger entry cannot be encoded: {e}")))?;
        if self.write_once(&self.key(name, "request"), body).await? {
            return Ok(());
        }
        match self.get(name).await?.and_then(|e| e.request_id) {
            Some(id) if id == request_id => Ok(()),
            _ => Err(StepError::SubmissionUnknown(format!(
                "{name} already names another request"
            ))),
        }
    }
}

/// `<root>/<name>/intent.json` and `.../request.json`, each created once
/// (`create_new`): the ledger of `gdpr-erasure run`, kept beside its archive so a
/// second run of the same ticket against a real org finds the first run's requests.
#[derive(Debug, Clone)]
pub struct DirLedger {
    pub root: std::path::PathBuf,
}

impl DirLedger {
    fn path(&self, name: &str, fact: &str) -> Result<std::path::PathBuf, StepError> {
        if name
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(StepError::input(
                "a ledger name has an empty or dot component",
            ));
        }
        Ok(self.root.join(name).join(format!("{fact}.json")))
    }

    fn read(&self, name: &str, fact: &str) -> Result<Option<Vec<u8>>, StepError> {
        match std::fs::read(self.path(name, fact)?) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StepError::LedgerUnavailable(format!(
                "{}: {:?}",
                self.root.display(),
                e.kind()
            ))),
        }
    }

    fn write_once(&self, name: &str, fact: &str, body: &[u8]) -> Result<bool, StepError> {
        use std::io::Write;
        let path = self.path(name, fact)?;
        let unavailable = |e: std::io::Error| {
            StepError::LedgerUnavailable(format!("{}: {:?}", self.root.display(), e.kind()))
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(body).map_err(unavailable)?;
                f.sync_all().map_err(unavailable)?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[async_trait]
impl SubmissionLedger for DirLedger {
    async fn get(&self, name: &str) -> Result<Option<LedgerEntry>, StepError> {
        let Some(intent) = self.read(name, "intent")? else {
            return Ok(None);
        };
        let request = self.read(name, "request")?;
        entry(&intent, request.as_deref()).map(Some)
    }

    async fn record_intent(&self, name: &str, at: DateTime<Utc>) -> Result<LedgerEntry, StepError> {
        let body = intent_body(at)?;
        self.write_once(name, "intent", &body)?;
        self.get(name).await?.ok_or_else(|| {
            StepError::LedgerUnavailable("the intent just written cannot be read back".into())
        })
    }

    async fn record_request(&self, name: &str, request_id: &str) -> Result<(), StepError> {
        let body = serde_json::to_vec(&RequestObject {
            request_id: request_id.to_owned(),
        })
        .map_err(|e| StepError::input(format!("a ledger entry cannot be encoded: {e}")))?;
        if self.write_once(name, "request", &body)? {
            return Ok(());
        }
        match self.get(name).await?.and_then(|e| e.request_id) {
            Some(id) if id == request_id => Ok(()),
            _ => Err(StepError::SubmissionUnknown(format!(
                "{name} already names another request"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_directory_ledger_keeps_the_first_intent_and_one_request_id() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = DirLedger {
            root: dir.path().to_owned(),
        };
        let name = "gdpr-erasure/DSAR-1/delete";
        assert_eq!(ledger.get(name).await.unwrap(), None);
        let t1: DateTime<Utc> = "2026-11-22T11:00:00Z".parse().unwrap();
        ledger.record_intent(name, t1).await.unwrap();
        let again = ledger
            .record_intent(name, t1 + chrono::Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(again.intent_at, t1);
        ledger.record_request(name, "r-1").await.unwrap();
        ledger.record_request(name, "r-1").await.unwrap();
        assert_eq!(
            ledger.record_request(name, "r-2").await.unwrap_err().name(),
            "GdprSubmissionUnknown"
        );
        // A second process over the same directory sees it all.
        let other = DirLedger {
            root: dir.path().to_owned(),
        };
        let entry = other.get(name).await.unwrap().unwrap();
        assert_eq!(entry.request_id.as_deref(), Some("r-1"));
        assert!(other.get("../x").await.is_err());
    }
}
