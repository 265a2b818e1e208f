//! The WORM archive of compliance records.
//!
//! One [`Archive`] trait, two backends: [`S3Archive`] (S3 Object Lock, COMPLIANCE
//! mode: the production store) and [`LocalArchive`] (a directory of read-only files:
//! the demo and local runs). Both store a record's RFC 8785 canonical bytes under
//! `records/<ticket id>/<writtenAt>-<OUTCOME>.json`, write each key once, answer a
//! retried identical write idempotently, and refuse a record that does not extend its
//! ticket's chain. [`verify`] and [`report`] read either backend for auditors.
//!
//! Records are handled as JSON validated against the repository's schema
//! (`schemas/compliance-record.v1.schema.json`), not as the type that produces them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub mod annotation;
pub mod canonical;
pub mod certificate;
mod error;
pub mod fallback;
pub mod key;
mod local;
mod location;
pub mod manifest;
mod record;
pub mod repeat;
pub mod report;
mod retention;
mod s3;
mod verification;
pub mod verify;

pub use error::ArchiveError;
pub use fallback::{Fallback, LocalFallback, S3Fallback};
pub use local::LocalArchive;
pub use location::{ArchiveLocation, OpenOptions, open};
pub use record::{
    ClockView, DeferralView, Document, HoldView, Outcome, Record, RecordView, RetentionView,
    SCHEMA_V1, SCHEMA_V1_JSON, schema_violations,
};
pub use repeat::{ClosedTicket, closed_ticket};
pub use retention::{DEFAULT_RETENTION_YEARS, RetentionPolicy};
pub use s3::{S3Archive, S3Settings, ServerSideEncryption};
pub use verification::{
    VERIFICATION_SCHEMA_V1, VERIFICATION_SCHEMA_V1_JSON, Verification, VerificationResult,
    VerificationView, VerifiesView, verification_violations,
};

/// What the archive answers when a record is written (or found already written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The full key of the record in the store.
    pub key: String,
    /// The store's version id of the record (S3); `None` for the local backend.
    pub version_id: Option<String>,
    /// `sha256:<hex>` of the stored (canonical) bytes.
    pub digest: String,
    /// The lock's retain-until date.
    pub retain_until: DateTime<Utc>,
    /// True when this exact record was already at its key (a retried write).
    pub already_present: bool,
}

/// The latest record of a ticket's chain: what the next record must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub sequence: u64,
    pub digest: String,
    pub key: String,
}

/// One record object as listed by the store, before it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEntry {
    /// The full key in the store.
    pub key: String,
    /// The ticket folder the object sits in.
    pub ticket_folder: String,
    /// The object's file name within the ticket folder.
    pub file_name: String,
    /// The version to read (S3: the first version written at the key).
    pub version_id: Option<String>,
    /// Problems the listing itself shows (a later version over the record, a delete
    /// marker, a file name outside the layout). `audit verify` reports each.
    pub anomalies: Vec<String>,
}

/// The lock as the store reports it for one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredLock {
    /// `COMPLIANCE`, `GOVERNANCE`, or `None` when the object has no lock.
    pub mode: Option<String>,
    pub retain_until: Option<DateTime<Utc>>,
}

/// A record object as stored: its raw bytes and what the store says about them. Raw,
/// because verification must cope with objects that are not valid records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub key: String,
    pub version_id: Option<String>,
    pub bytes: Vec<u8>,
    /// The digest recorded beside the object at write time (S3 metadata `digest`, or
    /// the local sidecar).
    pub recorded_digest: Option<String>,
    /// Base64 SHA-256 of the bytes as the store recorded it at write time (S3
    /// `ChecksumSHA256`, or the local sidecar).
    pub recorded_checksum_sha256: Option<String>,
    pub lock: StoredLock,
    /// Backend-specific protection problems (a local file that is writable).
    pub protection_problems: Vec<String>,
}

/// A WORM store of compliance records.
#[async_trait]
pub trait Archive: Send + Sync {
    /// Where the archive is, for messages (`s3://bucket/prefix`, a directory).
    fn location(&self) -> String;

    /// The retention policy the archive locks records for.
    fn retention(&self) -> RetentionPolicy;

    /// Writes `record` once, locked until the later of the policy's date and the
    /// record's own `retention.retainUntil`.
    ///
    /// The same record again returns the first receipt with `already_present`; a
    /// different document at the same key is [`ArchiveError::ArchiveConflict`]; a
    /// record that does not extend its ticket's chain is
    /// [`ArchiveError::ChainMismatch`].
    async fn write(&self, record: &Record) -> Result<Receipt, ArchiveError>;

    /// The ticket's latest record, or `None` when it has none yet.
    async fn chain_head(&self, ticket_id: &str) -> Result<Option<ChainHead>, ArchiveError> {
        chain::head(self, ticket_id).await
    }

    /// Every object under the records folder (or one ticket's), sorted by key.
    async fn list(&self, ticket_id: Option<&str>) -> Result<Vec<ObjectEntry>, ArchiveError>;

    /// The stored bytes, checksum, digest and lock of one listed object.
    async fn read(&self, entry: &ObjectEntry) -> Result<StoredObject, ArchiveError>;

    /// Every verification object (or one ticket's), sorted by key. An archive that
    /// keeps none (a test double) lists none.
    async fn list_verifications(
        &self,
        ticket_id: Option<&str>,
    ) -> Result<Vec<ObjectEntry>, ArchiveError> {
        let _ = ticket_id;
        Ok(Vec::new())
    }

    /// Writes a verification once, under the same lock as the records. It must extend
    /// the ticket's verification chain, whose first link names one of the ticket's
    /// records ([`ArchiveError::ChainMismatch`] otherwise); the same verification again
    /// is answered with the first receipt.
    async fn write_verification(
        &self,
        verification: &Verification,
    ) -> Result<Receipt, ArchiveError> {
        let _ = verification;
        Err(ArchiveError::misconfigured(format!(
            "{} keeps no verification records",
            self.location()
        )))
    }

    /// Every annotation object (or one ticket's), sorted by key; none for an archive
    /// that keeps none (a test double).
    async fn list_annotations(
        &self,
        ticket_id: Option<&str>,
    ) -> Result<Vec<ObjectEntry>, ArchiveError> {
        let _ = ticket_id;
        Ok(Vec::new())
    }

    /// Writes an annotation once, locked; it must extend the ticket's annotations (the
    /// first hangs off the document it annotates). See [`annotation::annotate`].
    async fn write_annotation(
        &self,
        annotation: &annotation::Annotation,
    ) -> Result<Receipt, ArchiveError> {
        let _ = annotation;
        Err(ArchiveError::misconfigured(format!(
            "{} keeps no annotations",
            self.location()
        )))
    }

    /// The archive's manifests (`manifests/checkpoints/`), sorted by key; none for an
    /// archive that keeps none (a test double).
    async fn list_manifests(&self) -> Result<Vec<ObjectEntry>, ArchiveError> {
        Ok(Vec::new())
    }

    /// Writes a manifest once, locked; it must follow the latest manifest
    /// ([`ArchiveError::ChainMismatch`] otherwise). See [`manifest::checkpoint`].
    async fn write_manifest(&self, manifest: &manifest::Manifest) -> Result<Receipt, ArchiveError> {
        let _ = manifest;
        Err(ArchiveError::misconfigured(format!(
            "{} keeps no manifests",
            self.location()
        )))
    }

    /// Problems of the store as a whole that make its records prove nothing (an S3
    /// bucket without Object Lock). Empty when there are none.
    async fn store_problems(&self) -> Result<Vec<String>, ArchiveError> {
        Ok(Vec::new())
    }
}

pub(crate) mod chain {
    //! Chain rules shared by the backends.

    use super::*;
    use crate::verification::Verification;

    /// The ticket's head: the record with the highest sequence, which must be unique.
    pub async fn head<A: Archive + ?Sized>(
        archive: &A,
        ticket_id: &str,
    ) -> Result<Option<ChainHead>, ArchiveError> {
        key::validate_ticket_id(ticket_id)?;
        let mut best: Option<ChainHead> = None;
        let mut tie: Option<String> = None;
        for entry in archive.list(Some(ticket_id)).await? {
            // Objects whose names the archive never writes are not chain members;
            // `audit verify` reports them.
            if key::parse_record_file_name(&entry.file_name).is_none() {
                continue;
            }
            let stored = archive.read(&entry).await?;
            let record = Record::from_json(&stored.bytes)
                .map_err(|e| ArchiveError::corrupt(&entry.key, e.to_string()))?;
            // A chain is only extended from records exactly as they were written.
            let actual = canonical::digest_of(&stored.bytes);
            if actual != record.digest() {
                return Err(ArchiveError::corrupt(
                    &entry.key,
                    "the stored bytes are not the record's canonical form; run `gdpr-erasure audit verify`",
                ));
            }
            if let Some(recorded) = stored.recorded_digest.as_deref().filter(|d| *d != actual) {
                return Err(ArchiveError::corrupt(
                    &entry.key,
                    format!(
                        "the bytes hash to {actual} but {recorded} was recorded when they were written; run `gdpr-erasure audit verify`"
                    ),
                ));
            }
            let seq = record.view().sequence;
            match &best {
                Some(b) if b.sequence > seq => {}
                Some(b) if b.sequence == seq => tie = Some(entry.key.clone()),
                _ => {
                    tie = None;
                    best = Some(ChainHead {
                        sequence: seq,
                        digest: actual,
                        key: entry.key.clone(),
                    });
                }
            }
        }
        if let (Some(b), Some(other)) = (&best, tie) {
            return Err(ArchiveError::corrupt(
                &b.key,
                format!(
                    "ticket {ticket_id}'s chain forks: {other} also has sequence {}; run `gdpr-erasure audit verify`",
                    b.sequence
                ),
            ));
        }
        Ok(best)
    }

    /// Refuses a record that does not follow `head`.
    pub fn check_extends(head: Option<&ChainHead>, record: &Record) -> Result<(), ArchiveError> {
        let view = record.view();
        let mismatch = |detail: String| ArchiveError::ChainMismatch {
            ticket_id: view.ticket_id.clone(),
            detail,
        };
        match head {
            None if view.sequence == 1 && view.previous_digest.is_none() => Ok(()),
            None => Err(mismatch(format!(
                "the ticket has no record yet, so the first must have sequence 1 and previousDigest null (got sequence {})",
                view.sequence
            ))),
            Some(h) if view.sequence != h.sequence + 1 => Err(mismatch(format!(
                "sequence {} does not follow the head's {} ({})",
                view.sequence, h.sequence, h.key
            ))),
            Some(h) if view.previous_digest.as_deref() != Some(h.digest.as_str()) => {
                Err(mismatch(format!(
                    "previousDigest {} is not the digest {} of the head ({})",
                    view.previous_digest.as_deref().unwrap_or("null"),
                    h.digest,
                    h.key
                )))
            }
            Some(_) => Ok(()),
        }
    }

    /// Refuses a verification that does not follow the ticket's verifications (or, as
    /// the first, does not name one of the ticket's records).
    pub async fn check_verification_extends<A: Archive + ?Sized>(
        archive: &A,
        v: &Verification,
    ) -> Result<(), ArchiveError> {
        let view = v.view();
        let mismatch = |detail: String| ArchiveError::ChainMismatch {
            ticket_id: view.ticket_id.clone(),
            detail,
        };
        let mut head: Option<(u64, String, String)> = None;
        for entry in archive.list_verifications(Some(&view.ticket_id)).await? {
            if key::parse_verification_file_name(&entry.file_name).is_none() {
                continue;
            }
            let stored = archive.read(&entry).await?;
            let other = Verification::from_json(&stored.bytes)
                .map_err(|e| ArchiveError::corrupt(&entry.key, e.to_string()))?;
            let seq = other.view().sequence;
            if head.as_ref().is_none_or(|h| seq > h.0) {
                head = Some((seq, other.digest().to_owned(), entry.key.clone()));
            }
        }
        match head {
            Some((seq, digest, key)) => {
                if view.sequence != seq + 1 {
                    return Err(mismatch(format!(
                        "verification sequence {} does not follow the head's {seq} ({key})",
                        view.sequence
                    )));
                }
                if view.previous_digest != digest {
                    return Err(mismatch(format!(
                        "previousDigest {} is not the digest {digest} of the head ({key})",
                        view.previous_digest
                    )));
                }
                Ok(())
            }
            None => {
                if view.sequence != 1 || view.previous_digest != view.verifies.record_digest {
                    return Err(mismatch(
                        "the ticket's first verification must have sequence 1 and name the verified record's digest as previousDigest".into(),
                    ));
                }
                for entry in archive.list(Some(&view.ticket_id)).await? {
                    if key::parse_record_file_name(&entry.file_name).is_none() {
                        continue;
                    }
                    let stored = archive.read(&entry).await?;
                    if canonical::digest_of(&stored.bytes) == view.verifies.record_digest {
                        return Ok(());
                    }
                }
                Err(mismatch(format!(
                    "no record of the ticket has the digest {} it verifies",
                    view.verifies.record_digest
                )))
            }
        }
    }

    /// Refuses a manifest that does not follow the latest one.
    pub async fn check_manifest_extends<A: Archive + ?Sized>(
        archive: &A,
        m: &crate::manifest::Manifest,
    ) -> Result<(), ArchiveError> {
        let head = crate::manifest::read_manifests(archive).await?.pop();
        let view = m.view();
        let (expected_seq, expected_prev) = match &head {
            Some((_, h)) => (h.view().sequence + 1, Some(h.digest().to_owned())),
            None => (1, None),
        };
        if view.sequence != expected_seq || view.previous_digest != expected_prev {
            return Err(ArchiveError::ChainMismatch {
                ticket_id: crate::manifest::CHECKPOINTS.to_owned(),
                detail: format!(
                    "manifest sequence {} does not follow the latest manifest (expected sequence {expected_seq}, previousDigest {})",
                    view.sequence,
                    expected_prev.as_deref().unwrap_or("null")
                ),
            });
        }
        Ok(())
    }

    /// Refuses an annotation that does not follow the ticket's annotations, or, as the
    /// first, does not hang off the document it annotates.
    pub async fn check_annotation_extends<A: Archive + ?Sized>(
        archive: &A,
        a: &crate::annotation::Annotation,
    ) -> Result<(), ArchiveError> {
        let view = a.view();
        let mismatch = |detail: String| ArchiveError::ChainMismatch {
            ticket_id: view.ticket_id.clone(),
            detail,
        };
        let head = crate::annotation::read_annotations(archive, Some(&view.ticket_id))
            .await?
            .pop();
        match head {
            Some((key, h)) if view.sequence != h.view().sequence + 1
                || view.previous_digest != h.digest() =>
            {
                Err(mismatch(format!(
                    "annotation sequence {} does not follow the head ({key})",
                    view.sequence
                )))
            }
            Some(_) => Ok(()),
            None if view.sequence != 1 || view.previous_digest != view.annotates.digest => {
                Err(mismatch(
                    "the ticket's first annotation must have sequence 1 and name the annotated document's digest as previousDigest".into(),
                ))
            }
            None => Ok(()),
        }
    }

    /// The lock date of a document written at `written_at` that asks for `asked`.
    pub fn lock_for(
        policy: RetentionPolicy,
        written_at: DateTime<Utc>,
        asked: DateTime<Utc>,
    ) -> DateTime<Utc> {
        retention::later(policy.retain_until(written_at), asked)
    }

    /// The lock date for a verification under `policy`.
    pub fn verification_lock_until(policy: RetentionPolicy, v: &Verification) -> DateTime<Utc> {
        let view = v.view();
        retention::later(
            policy.retain_until(view.written_at),
            view.retention.retain_until,
        )
    }

    /// The answer to a write whose key already holds an object; `digest` is the
    /// digest of the document being written.
    pub fn existing_answer(
        digest: &str,
        stored: &StoredObject,
        fallback_retain_until: DateTime<Utc>,
    ) -> Result<Receipt, ArchiveError> {
        let stored_digest = canonical::digest_of(&stored.bytes);
        if stored_digest == digest {
            Ok(Receipt {
                key: stored.key.clone(),
                version_id: stored.version_id.clone(),
                digest: stored_digest,
                retain_until: stored.lock.retain_until.unwrap_or(fallback_retain_until),
                already_present: true,
            })
        } else {
            Err(ArchiveError::ArchiveConflict {
                key: stored.key.clone(),
                detail: format!(
                    "a different document ({stored_digest}) is already stored there; the document ({digest}) was not written"
                ),
            })
        }
    }

    /// The lock date for `record` under `policy`.
    pub fn lock_until(policy: RetentionPolicy, record: &Record) -> DateTime<Utc> {
        let view = record.view();
        retention::later(
            policy.retain_until(view.written_at),
            view.retention.retain_until,
        )
    }
}
