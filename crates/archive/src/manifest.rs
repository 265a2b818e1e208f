//! Checkpoints over the whole archive (`schemas/manifest.v1.schema.json`). A ticket's
//! chain cannot show that the whole ticket is missing; a manifest can: each lists the
//! key and digest of every record and verification written since the one before, is
//! chained to it, and is written once and locked like the records, under
//! `manifests/checkpoints/<writtenAt>-MANIFEST.json`. [`checkpoint`] writes the next one
//! (daily on AWS, by the watchdog; `audit checkpoint` and the demo locally), and
//! `audit verify` checks that every manifest entry exists with its digest and every
//! document is in a manifest.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use chrono::{DateTime, SubsecRound, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::canonical::digest_of;
use crate::error::ArchiveError;
use crate::key::{self, ANNOTATIONS_DIR, MANIFESTS_DIR, RECORDS_DIR, VERIFICATIONS_DIR};
use crate::record::{Document, RetentionView, compile_schema, json_of, violations};
use crate::{Archive, ObjectEntry, Receipt};

pub const MANIFEST_SCHEMA_V1: &str = "gdpr-erasure/manifest/v1";
pub const MANIFEST_SCHEMA_V1_JSON: &str = include_str!("../../../schemas/manifest.v1.schema.json");

static VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> =
    LazyLock::new(|| compile_schema(MANIFEST_SCHEMA_V1_JSON, "manifest"));

/// The one folder the manifests live in, below `manifests/`.
pub const CHECKPOINTS: &str = "checkpoints";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestView {
    pub sequence: u64,
    pub previous_digest: Option<String>,
    pub written_at: DateTime<Utc>,
    pub entries: Vec<ManifestEntry>,
    pub retention: RetentionView,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ManifestEntry {
    /// Below the archive's prefix: `records/<ticket>/<file>` or `verifications/...`.
    pub key: String,
    pub digest: String,
}

/// Every violation of the manifest schema, values masked.
pub fn manifest_violations(value: &Value) -> Result<Vec<String>, ArchiveError> {
    violations(&VALIDATOR, value, MANIFEST_SCHEMA_V1, "manifest")
}

/// A validated manifest with its canonical bytes and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest(Document<ManifestView>);

impl Manifest {
    pub fn from_value(value: Value) -> Result<Self, ArchiveError> {
        let found = manifest_violations(&value)?;
        Document::new(value, MANIFEST_SCHEMA_V1, found).map(Self)
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, ArchiveError> {
        Self::from_value(json_of(bytes)?)
    }
}

impl std::ops::Deref for Manifest {
    type Target = Document<ManifestView>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// The key of a manifest below the archive's prefix.
pub fn manifest_key(view: &ManifestView) -> String {
    format!(
        "{MANIFESTS_DIR}/{CHECKPOINTS}/{}",
        key::manifest_file_name(&view.written_at)
    )
}

/// A document's key below the archive's prefix (`records/...`, `verifications/...`).
pub fn relative(entry: &ObjectEntry, dir: &str) -> String {
    format!("{dir}/{}/{}", entry.ticket_folder, entry.file_name)
}

/// The archive's manifests, read and valid, in chain order (invalid ones left out:
/// `audit verify` names them).
pub async fn read_manifests<A: Archive + ?Sized>(
    archive: &A,
) -> Result<Vec<(ObjectEntry, Manifest)>, ArchiveError> {
    let mut out = Vec::new();
    for entry in archive.list_manifests().await? {
        if key::parse_manifest_file_name(&entry.file_name).is_none() {
            continue;
        }
        if let Ok(m) = Manifest::from_json(&archive.read(&entry).await?.bytes) {
            out.push((entry, m));
        }
    }
    out.sort_by_key(|(_, m)| m.view().sequence);
    Ok(out)
}

/// Writes the next manifest: every record and verification not in an earlier one.
/// `None` when nothing new was written since the last (no empty manifest is written).
pub async fn checkpoint<A: Archive + ?Sized>(
    archive: &A,
    now: DateTime<Utc>,
) -> Result<Option<Receipt>, ArchiveError> {
    let manifests = read_manifests(archive).await?;
    let covered: BTreeSet<&str> = (manifests.iter())
        .flat_map(|(_, m)| m.view().entries.iter().map(|e| e.key.as_str()))
        .collect();
    let mut entries: Vec<(String, String)> = Vec::new();
    for (dir, listed) in [
        (RECORDS_DIR, archive.list(None).await?),
        (VERIFICATIONS_DIR, archive.list_verifications(None).await?),
        (ANNOTATIONS_DIR, archive.list_annotations(None).await?),
    ] {
        for entry in listed {
            let rel = relative(&entry, dir);
            if !key::is_file_name_in(dir, &entry.file_name) || covered.contains(rel.as_str()) {
                continue;
            }
            let stored = archive.read(&entry).await?;
            entries.push((rel, digest_of(&stored.bytes)));
        }
    }
    if entries.is_empty() {
        return Ok(None);
    }
    entries.sort();
    let head = manifests.last();
    let written_at = now.trunc_subsecs(3);
    let value = json!({
        "schema": MANIFEST_SCHEMA_V1,
        "sequence": head.map_or(1, |(_, m)| m.view().sequence + 1),
        "previousDigest": head.map(|(_, m)| m.digest().to_owned()),
        "writtenAt": written_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "entries": entries.iter().map(|(k, d)| json!({"key": k, "digest": d})).collect::<Vec<_>>(),
        "retention": {
            "mode": "COMPLIANCE",
            "retainUntil": archive.retention().retain_until(written_at)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        },
    });
    let manifest = Manifest::from_value(value)?;
    archive.write_manifest(&manifest).await.map(Some)
}
