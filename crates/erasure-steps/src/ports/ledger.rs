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

#[async_trait]
impl SubmissionLedger for S3Ledger {
    async fn get(&self, name: &str) -> Result<Option<LedgerEntry>, StepError> {
        let Some(intent) = self.read(&self.key(name, "intent")).await? else {
            return Ok(None);
        };
        let intent: IntentObject = Self::decode(&intent)?;
        let request_id = match self.read(&self.key(name, "request")).await? {
            Some(bytes) => Some(Self::decode::<RequestObject>(&bytes)?.request_id),
            None => None,
        };
        Ok(Some(LedgerEntry {
            intent_at: intent.intent_at,
            request_id,
        }))
    }

    async fn record_intent(&self, name: &str, at: DateTime<Utc>) -> Result<LedgerEntry, StepError> {
        let body = serde_json::to_vec(&IntentObject { intent_at: at })
            .map_err(|e| StepError::input(format!("a ledger entry cannot be encoded: {e}")))?;
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
