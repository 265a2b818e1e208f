//! A person's closing of an escalation or a residue (`schemas/annotation.v1.schema.json`).
//! Records cannot change, so what a person did afterwards (a Genesys support case, a
//! conversation erased by hand) is appended as an annotation, written once and locked
//! like the records under `annotations/<ticket id>/<writtenAt>-ANNOTATION.json`. The
//! ticket's annotations form a chain that hangs off the first document they annotate;
//! each names the document (a record or a verification) by key and digest and which of
//! its escalations it closes.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use chrono::{DateTime, SubsecRound, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::canonical::digest_of;
use crate::error::ArchiveError;
use crate::key::{self, ANNOTATIONS_DIR};
use crate::record::{Document, RetentionView, compile_schema, json_of, violations};
use crate::{Archive, Receipt};

pub const ANNOTATION_SCHEMA_V1: &str = "gdpr-erasure/annotation/v1";
pub const ANNOTATION_SCHEMA_V1_JSON: &str =
    include_str!("../../../schemas/annotation.v1.schema.json");

static VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> =
    LazyLock::new(|| compile_schema(ANNOTATION_SCHEMA_V1_JSON, "annotation"));

/// How an escalation was resolved.
pub const RESOLUTIONS: [&str; 4] = [
    "resolved-by-genesys",
    "erased-by-hand",
    "kept-lawfully",
    "not-the-subject",
];

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnnotationView {
    pub ticket_id: String,
    pub sequence: u64,
    pub previous_digest: String,
    pub written_at: DateTime<Utc>,
    pub annotates: Annotated,
    pub closes: Vec<String>,
    pub resolution: String,
    pub support_case: String,
    pub retention: RetentionView,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Annotated {
    pub key: String,
    pub digest: String,
}

pub fn annotation_violations(value: &Value) -> Result<Vec<String>, ArchiveError> {
    violations(&VALIDATOR, value, ANNOTATION_SCHEMA_V1, "annotation")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation(Document<AnnotationView>);

impl Annotation {
    pub fn from_value(value: Value) -> Result<Self, ArchiveError> {
        let found = annotation_violations(&value)?;
        Document::new(value, ANNOTATION_SCHEMA_V1, found).map(Self)
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, ArchiveError> {
        Self::from_value(json_of(bytes)?)
    }
}

impl std::ops::Deref for Annotation {
    type Target = Document<AnnotationView>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// The key of an annotation below the archive's prefix.
pub fn annotation_key(view: &AnnotationView) -> String {
    format!(
        "{ANNOTATIONS_DIR}/{}/{}",
        view.ticket_id,
        key::annotation_file_name(&view.written_at)
    )
}

/// The ticket's annotations, read and valid, in chain order.
pub async fn read_annotations<A: Archive + ?Sized>(
    archive: &A,
    ticket_id: Option<&str>,
) -> Result<Vec<(String, Annotation)>, ArchiveError> {
    let mut out = Vec::new();
    for entry in archive.list_annotations(ticket_id).await? {
        if key::parse_annotation_file_name(&entry.file_name).is_none() {
            continue;
        }
        if let Ok(a) = Annotation::from_json(&archive.read(&entry).await?.bytes) {
            out.push((entry.key.clone(), a));
        }
    }
    out.sort_by(|a, b| {
        (a.1.view().ticket_id.as_str(), a.1.view().sequence)
            .cmp(&(b.1.view().ticket_id.as_str(), b.1.view().sequence))
    });
    Ok(out)
}

/// The schema's `supportCase`: `^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`, a reference a
/// support system gives, never free text.
pub fn is_support_case(case: &str) -> bool {
    (1..=64).contains(&case.len())
        && case.starts_with(|c: char| c.is_ascii_alphanumeric())
        && case
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c))
}

/// An escalation a record or verification names, and whether a person closed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub ticket_id: String,
    /// The document's key below the archive's prefix (`records/<ticket>/<file>`), as
    /// an annotation names it.
    pub document_key: String,
    pub reason: String,
    /// When it was escalated (RFC 3339, as the document says).
    pub at: String,
    /// The annotation that closed it, if one did.
    pub closed_by: Option<String>,
}

/// Every escalation of `records` (as `report::load_records` loaded them, so a caller
/// that has them reads them once) and of the ticket's (or every ticket's) verifications,
/// each with the annotation that closed it. Verifications that cannot be read as JSON
/// are skipped, as invalid records are by the loading (`audit verify` names both).
pub async fn escalations<A: Archive + ?Sized>(
    archive: &A,
    records: &[crate::report::LoadedRecord],
    ticket_id: Option<&str>,
) -> Result<Vec<Escalation>, ArchiveError> {
    let closing: Vec<(String, Annotation)> = read_annotations(archive, ticket_id).await?;
    let mut documents: Vec<(String, String, Value)> = (records.iter())
        .map(|r| {
            let view = r.record.view();
            let file = r.key.rsplit('/').next().unwrap_or_default();
            (
                view.ticket_id.clone(),
                format!("{}/{}/{file}", key::RECORDS_DIR, view.ticket_id),
                r.record.value().clone(),
            )
        })
        .collect();
    for entry in archive.list_verifications(ticket_id).await? {
        if let Ok(doc) = json_of(&archive.read(&entry).await?.bytes) {
            let document_key = crate::manifest::relative(&entry, key::VERIFICATIONS_DIR);
            documents.push((entry.ticket_folder, document_key, doc));
        }
    }
    let mut out = Vec::new();
    for (ticket_id, document_key, doc) in documents {
        for e in doc["escalations"].as_array().into_iter().flatten() {
            let Some(reason) = e["reason"].as_str() else {
                continue;
            };
            let closed_by = (closing.iter())
                .find(|(_, a)| {
                    a.view().annotates.key == document_key
                        && a.view().closes.iter().any(|c| c == reason)
                })
                .map(|(k, _)| k.clone());
            out.push(Escalation {
                ticket_id: ticket_id.clone(),
                document_key: document_key.clone(),
                reason: reason.to_owned(),
                at: e["at"].as_str().unwrap_or_default().to_owned(),
                closed_by,
            });
        }
    }
    Ok(out)
}

/// What a person asks to close.
#[derive(Debug, Clone)]
pub struct Closing<'a> {
    pub ticket_id: &'a str,
    /// The record or verification key (below the prefix) whose escalations are closed.
    pub document_key: &'a str,
    /// Its escalation reasons to close; empty: every one it has.
    pub reasons: Vec<String>,
    pub resolution: &'a str,
    pub support_case: &'a str,
    pub actor_ref: &'a str,
    pub role: &'a str,
}

/// Why an annotation cannot be written: said precisely, nothing written.
#[derive(Debug, thiserror::Error)]
pub enum AnnotateError {
    /// The closing does not fit the archive (no such document or escalation, a
    /// resolution that is not one of [`RESOLUTIONS`]).
    #[error("{0}")]
    Refused(String),
    /// What it would close is closed already (a repeated request, say).
    #[error("{0}")]
    Closed(String),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

/// Appends the annotation closing `closing`'s escalations, after checking that the
/// document exists, has them, and that they are not closed already.
pub async fn annotate<A: Archive + ?Sized>(
    archive: &A,
    closing: &Closing<'_>,
    now: DateTime<Utc>,
) -> Result<Receipt, AnnotateError> {
    let refuse = |s: String| Err(AnnotateError::Refused(s));
    if !RESOLUTIONS.contains(&closing.resolution) {
        return refuse(format!(
            "resolution must be one of {}",
            RESOLUTIONS.join(", ")
        ));
    }
    if !is_support_case(closing.support_case) {
        return refuse(
            "the support case must be a reference (letters, digits and . _ : -, up to 64), never free text"
                .into(),
        );
    }
    let (dir, _) = closing.document_key.split_once('/').unwrap_or_default();
    let listed = match dir {
        key::RECORDS_DIR => archive.list(Some(closing.ticket_id)).await?,
        key::VERIFICATIONS_DIR => archive.list_verifications(Some(closing.ticket_id)).await?,
        _ => return refuse("the document must be a records/ or verifications/ key".into()),
    };
    let Some(entry) = listed
        .iter()
        .find(|e| crate::manifest::relative(e, dir) == closing.document_key)
    else {
        return refuse(format!(
            "{} is not a document of ticket {}",
            closing.document_key, closing.ticket_id
        ));
    };
    let bytes = archive.read(entry).await?.bytes;
    let doc: Value = json_of(&bytes)?;
    let has: BTreeSet<String> = (doc["escalations"].as_array().into_iter().flatten())
        .filter_map(|e| e["reason"].as_str().map(str::to_owned))
        .collect();
    let earlier = read_annotations(archive, Some(closing.ticket_id)).await?;
    let closed: BTreeSet<&str> = (earlier.iter())
        .filter(|(_, a)| a.view().annotates.key == closing.document_key)
        .flat_map(|(_, a)| a.view().closes.iter().map(String::as_str))
        .collect();
    let closes: Vec<String> = if closing.reasons.is_empty() {
        has.iter()
            .filter(|r| !closed.contains(r.as_str()))
            .cloned()
            .collect()
    } else {
        closing.reasons.clone()
    };
    if closes.is_empty() {
        return Err(AnnotateError::Closed(format!(
            "{} has no open escalation to close",
            closing.document_key
        )));
    }
    for r in &closes {
        if !has.contains(r) {
            return refuse(format!(
                "{} has no escalation {r} (it has: {})",
                closing.document_key,
                has.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        if closed.contains(r.as_str()) {
            return Err(AnnotateError::Closed(format!(
                "{r} of {} is closed already",
                closing.document_key
            )));
        }
    }
    let head = earlier.last();
    let digest = digest_of(&bytes);
    let written_at = now.trunc_subsecs(3);
    let value = json!({
        "schema": ANNOTATION_SCHEMA_V1,
        "ticketId": closing.ticket_id,
        "sequence": head.map_or(1, |(_, a)| a.view().sequence + 1),
        "previousDigest": head.map_or(digest.clone(), |(_, a)| a.digest().to_owned()),
        "writtenAt": written_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "annotates": {"key": closing.document_key, "digest": digest},
        "closes": closes,
        "resolution": closing.resolution,
        "supportCase": closing.support_case,
        "by": {"actorRef": closing.actor_ref, "role": closing.role},
        "retention": {
            "mode": "COMPLIANCE",
            "retainUntil": archive.retention().retain_until(written_at)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        },
    });
    let annotation = Annotation::from_value(value)
        .map_err(|e| AnnotateError::Refused(format!("the annotation is not valid: {e}")))?;
    Ok(archive.write_annotation(&annotation).await?)
}
