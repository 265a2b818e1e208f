//! `audit verify`: checks every record of an archive the way an auditor would.
//!
//! For each record: the schema (formats included), the canonical form, the digest
//! recorded at write time against the bytes, the store's SHA-256 checksum, the key
//! against the record's content, the lock (COMPLIANCE, retain-until at least the
//! policy's and the record's own); for each ticket: the chain (first record, forks,
//! missing links, wrong previousDigest, sequence gaps). Every failure names the key.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use crate::canonical::{canonicalize, checksum_sha256_base64, digest_of};
use crate::error::ArchiveError;
use crate::key::{self, parse_record_file_name};
use crate::record::{RecordView, schema_violations};
use crate::retention::{RetentionPolicy, truncate_to_millis};
use crate::verification::{VerificationView, verification_violations};
use crate::{Archive, ObjectEntry};

/// What a verification is measured against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// The minimum retention every lock must reach (`--min-retention-years`).
    pub min_retention: RetentionPolicy,
    /// Only this ticket's records.
    pub ticket_id: Option<String>,
}

/// Which check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// The store as a whole (a bucket without Object Lock).
    Store,
    /// An object that should not be there, or is not where its content says.
    Layout,
    /// The object could not be read.
    Read,
    /// Not a valid compliance record.
    Schema,
    /// The stored bytes are not the RFC 8785 form of the record.
    Canonical,
    /// The digest recorded at write time does not match the bytes.
    Digest,
    /// The store's SHA-256 checksum does not match the bytes.
    Checksum,
    /// No lock, the wrong mode, or an unprotected file.
    Lock,
    /// The lock ends too early.
    Retention,
    /// The ticket's chain of records is broken.
    Chain,
    /// A manifest names a document that is not there, or a document is in no manifest.
    Manifest,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Store => "store",
            Check::Layout => "layout",
            Check::Read => "read",
            Check::Schema => "schema",
            Check::Canonical => "canonical-form",
            Check::Digest => "digest",
            Check::Checksum => "checksum",
            Check::Lock => "lock",
            Check::Retention => "retention",
            Check::Chain => "chain",
            Check::Manifest => "manifest",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failed check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The record's key (or the archive's location for store-wide findings).
    pub key: String,
    pub check: Check,
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FAIL {}: {}: {}", self.key, self.check, self.detail)
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub location: String,
    pub min_retention_years: u32,
    pub objects: usize,
    pub records_checked: usize,
    /// Verification records read (`verifications/`).
    pub verifications_checked: usize,
    /// Manifests read (`manifests/`).
    pub manifests_checked: usize,
    /// Annotations read (`annotations/`).
    pub annotations_checked: usize,
    pub tickets: usize,
    pub findings: Vec<Finding>,
    /// Guarantees the store could not give, where what it did give was checked and
    /// held (an S3-compatible store that keeps no SHA-256 checksum: the bytes were
    /// checked against the digest recorded at write time instead). Not failures.
    pub warnings: Vec<Finding>,
}

impl VerifyReport {
    pub fn passed(&self) -> bool {
        self.findings.is_empty()
    }

    /// Failures first, one per line, then a summary line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            out.push_str(&f.to_string());
            out.push('\n');
        }
        for w in &self.warnings {
            out.push_str(&format!("WARN {}: {}: {}\n", w.key, w.check, w.detail));
        }
        let failed_keys = {
            let mut keys: Vec<&str> = self.findings.iter().map(|f| f.key.as_str()).collect();
            keys.sort_unstable();
            keys.dedup();
            keys.len()
        };
        if self.passed() {
            out.push_str(&format!(
                "OK {}: {} records of {} tickets verified (schema, canonical form, digest, checksum, COMPLIANCE lock of at least {} years, chains){}\n",
                self.location,
                self.records_checked,
                self.tickets,
                self.min_retention_years,
                if self.verifications_checked > 0 {
                    format!("; {} verification records, each chained to its ticket's record", self.verifications_checked)
                } else {
                    String::new()
                } + &if self.annotations_checked > 0 {
                    format!("; {} annotations", self.annotations_checked)
                } else {
                    String::new()
                } + &if self.manifests_checked > 0 {
                    format!("; {} manifests, their entries present", self.manifests_checked)
                } else if self.records_checked > 0 {
                    "; no manifest yet, so a ticket missing as a whole cannot be seen (audit checkpoint)".to_owned()
                } else {
                    String::new()
                }
            ));
            if !self.warnings.is_empty() {
                out.push_str(&format!(
                    "   with {} warnings (WARN lines above: a guarantee the store could not give, where what it did give held; a document not in a manifest yet)\n",
                    self.warnings.len()
                ));
            }
        } else {
            out.push_str(&format!(
                "FAILED {}: {} failures in {} of {} objects ({} records of {} tickets read)\n",
                self.location,
                self.findings.len(),
                failed_keys,
                self.objects,
                self.records_checked,
                self.tickets
            ));
        }
        out
    }
}

/// A record's place in its chain.
struct Link {
    key: String,
    sequence: u64,
    previous_digest: Option<String>,
    digest: String,
}

/// Verifies every record (or one ticket's). Findings are data; an error means the
/// archive could not be read at all (or not completely).
pub async fn verify<A: Archive + ?Sized>(
    archive: &A,
    options: &VerifyOptions,
) -> Result<VerifyReport, ArchiveError> {
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    let location = archive.location();
    for problem in archive.store_problems().await? {
        findings.push(Finding {
            key: location.clone(),
            check: Check::Store,
            detail: problem,
        });
    }
    let entries = archive.list(options.ticket_id.as_deref()).await?;
    let mut chains: BTreeMap<String, Vec<Link>> = BTreeMap::new();
    let mut records_checked = 0;
    // Every record and verification read, by key below the prefix: its digest.
    let mut present: BTreeMap<String, String> = BTreeMap::new();
    for entry in &entries {
        // Not a record name: the layout finding says so.
        let named = parse_record_file_name(&entry.file_name).is_some();
        let Some((stored, actual_digest)) =
            read_checked(archive, entry, named, &mut findings, &mut warnings).await?
        else {
            continue;
        };
        records_checked += 1;
        present.insert(
            crate::manifest::relative(entry, key::RECORDS_DIR),
            actual_digest.clone(),
        );
        let mut push = |check: Check, detail: String| {
            findings.push(Finding {
                key: entry.key.clone(),
                check,
                detail,
            })
        };

        let value: Value = match serde_json::from_slice(&stored.bytes) {
            Ok(v) => v,
            Err(e) => {
                push(Check::Schema, format!("not JSON: {e}"));
                check_lock(entry, None, &stored.lock, options, &mut push);
                continue;
            }
        };
        match schema_violations(&value) {
            Ok(v) => v.into_iter().for_each(|msg| push(Check::Schema, msg)),
            Err(e) => return Err(e),
        }
        match canonicalize(&value) {
            Ok(canon) if canon != stored.bytes => push(
                Check::Canonical,
                format!(
                    "the stored bytes are not the RFC 8785 form of the record (canonical form hashes to {})",
                    digest_of(&canon)
                ),
            ),
            Ok(_) => {}
            Err(e) => push(Check::Canonical, e.to_string()),
        }
        // The typed view is read leniently: a record that fails the schema elsewhere
        // still takes its place in the chain, so one fault is not reported twice.
        let view = RecordView::deserialize(&value).ok();
        if let Some(view) = &view {
            check_key(entry, view, &mut push);
            chains
                .entry(view.ticket_id.clone())
                .or_default()
                .push(Link {
                    key: entry.key.clone(),
                    sequence: view.sequence,
                    previous_digest: view.previous_digest.clone(),
                    digest: actual_digest.clone(),
                });
        }
        check_lock(entry, view.as_ref(), &stored.lock, options, &mut push);
    }
    // Verifications: each read as a record is, and each ticket's chain of them must
    // hang off one of the ticket's records.
    let record_digests: BTreeMap<String, Vec<String>> = (chains.iter())
        .map(|(t, links)| (t.clone(), links.iter().map(|l| l.digest.clone()).collect()))
        .collect();
    let verifications = archive
        .list_verifications(options.ticket_id.as_deref())
        .await?;
    let mut verification_chains: BTreeMap<String, Vec<Link>> = BTreeMap::new();
    let mut verifications_checked = 0;
    for entry in &verifications {
        let named = key::parse_verification_file_name(&entry.file_name).is_some();
        let Some((stored, actual_digest)) =
            read_checked(archive, entry, named, &mut findings, &mut warnings).await?
        else {
            continue;
        };
        verifications_checked += 1;
        present.insert(
            crate::manifest::relative(entry, key::VERIFICATIONS_DIR),
            actual_digest.clone(),
        );
        let mut push = |check: Check, detail: String| {
            findings.push(Finding {
                key: entry.key.clone(),
                check,
                detail,
            })
        };
        let Ok(value) = serde_json::from_slice::<Value>(&stored.bytes) else {
            push(Check::Schema, "not JSON".into());
            check_lock(entry, None, &stored.lock, options, &mut push);
            continue;
        };
        for msg in verification_violations(&value)? {
            push(Check::Schema, msg);
        }
        match canonicalize(&value) {
            Ok(canon) if canon != stored.bytes => push(
                Check::Canonical,
                "the stored bytes are not the RFC 8785 form of the verification".into(),
            ),
            Ok(_) => {}
            Err(e) => push(Check::Canonical, e.to_string()),
        }
        let view = VerificationView::deserialize(&value).ok();
        if let Some(view) = &view {
            let expected = key::verification_key(view).ok();
            let actual = format!(
                "{}/{}/{}",
                key::VERIFICATIONS_DIR,
                entry.ticket_folder,
                entry.file_name
            );
            if expected.as_deref() != Some(actual.as_str()) {
                push(
                    Check::Layout,
                    format!(
                        "the key does not match the content (belongs at {})",
                        expected.unwrap_or_else(|| "no valid key".into())
                    ),
                );
            }
            if view.previous_digest != view.verifies.record_digest && view.sequence == 1 {
                push(
                    Check::Chain,
                    "the first verification must name the verified record's digest as previousDigest".into(),
                );
            }
            verification_chains
                .entry(view.ticket_id.clone())
                .or_default()
                .push(Link {
                    key: entry.key.clone(),
                    sequence: view.sequence,
                    previous_digest: Some(view.previous_digest.clone()),
                    digest: actual_digest.clone(),
                });
        }
        let asked = view
            .as_ref()
            .map(|v| (v.written_at, v.retention.retain_until));
        check_lock_dates(entry, asked, &stored.lock, options, &mut push);
    }
    let annotations =
        check_annotations(archive, options, &mut present, &mut findings, &mut warnings).await?;
    let manifests =
        check_manifests(archive, options, &present, &mut findings, &mut warnings).await?;
    let tickets = chains.len();
    for (ticket, links) in chains {
        check_chain(&ticket, links, &mut findings);
    }
    for (ticket, links) in verification_chains {
        let records = record_digests.get(&ticket).cloned().unwrap_or_default();
        check_hanging_chain(&ticket, "verification", links, &records, &mut findings);
    }
    findings.sort_by(|a, b| a.key.cmp(&b.key).then(a.check.cmp(&b.check)));
    Ok(VerifyReport {
        location,
        min_retention_years: options.min_retention.in_years(),
        objects: entries.len() + verifications.len(),
        records_checked,
        verifications_checked,
        manifests_checked: manifests,
        annotations_checked: annotations,
        tickets,
        findings,
        warnings,
    })
}

/// A stored document's JSON, schema (by `violations`) and canonical form checked;
/// its typed view when it reads as one, and whether its key is `here` (the key its
/// content names, by `key_of`).
fn parsed<V: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
    violations: fn(&Value) -> Result<Vec<String>, ArchiveError>,
    here: &str,
    key_of: impl Fn(&V) -> String,
    push: &mut impl FnMut(Check, String),
) -> Result<Option<V>, ArchiveError> {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        push(Check::Schema, "not JSON".into());
        return Ok(None);
    };
    for msg in violations(&value)? {
        push(Check::Schema, msg);
    }
    if canonicalize(&value).ok().as_deref() != Some(bytes) {
        push(
            Check::Canonical,
            format!("the stored bytes are not the RFC 8785 form of the {what}"),
        );
    }
    let Ok(view) = V::deserialize(&value) else {
        return Ok(None);
    };
    let expected = key_of(&view);
    if expected != here {
        push(
            Check::Layout,
            format!("the key does not match the content (belongs at {expected})"),
        );
    }
    Ok(Some(view))
}

/// The annotations: each read and checked as a record is, the document it annotates
/// there with the digest it names, and each ticket's chain of them. They join
/// `present` (manifests list them too). Returns how many were read.
async fn check_annotations<A: Archive + ?Sized>(
    archive: &A,
    options: &VerifyOptions,
    present: &mut BTreeMap<String, String>,
    findings: &mut Vec<Finding>,
    warnings: &mut Vec<Finding>,
) -> Result<usize, ArchiveError> {
    use crate::annotation::{AnnotationView, annotation_key, annotation_violations};
    let mut chains: BTreeMap<String, Vec<Link>> = BTreeMap::new();
    let mut read = 0;
    let mut annotated: Vec<(String, String, String)> = Vec::new();
    for entry in &archive
        .list_annotations(options.ticket_id.as_deref())
        .await?
    {
        let named = key::parse_annotation_file_name(&entry.file_name).is_some();
        let Some((stored, actual_digest)) =
            read_checked(archive, entry, named, findings, warnings).await?
        else {
            continue;
        };
        read += 1;
        let rel = crate::manifest::relative(entry, key::ANNOTATIONS_DIR);
        let mut push = |check: Check, detail: String| {
            findings.push(Finding {
                key: entry.key.clone(),
                check,
                detail,
            })
        };
        let Some(view) = parsed::<AnnotationView>(
            &stored.bytes,
            "annotation",
            annotation_violations,
            &rel,
            annotation_key,
            &mut push,
        )?
        else {
            continue;
        };
        annotated.push((
            entry.key.clone(),
            view.annotates.key.clone(),
            view.annotates.digest.clone(),
        ));
        chains
            .entry(view.ticket_id.clone())
            .or_default()
            .push(Link {
                key: entry.key.clone(),
                sequence: view.sequence,
                previous_digest: Some(view.previous_digest.clone()),
                digest: actual_digest.clone(),
            });
        check_lock_dates(
            entry,
            Some((view.written_at, view.retention.retain_until)),
            &stored.lock,
            options,
            &mut push,
        );
        present.insert(rel, actual_digest);
    }
    for (key, doc, digest) in annotated {
        if present.get(&doc) != Some(&digest) {
            findings.push(Finding {
                key,
                check: Check::Chain,
                detail: format!(
                    "annotates {doc} ({digest}), which is not in the archive with that digest"
                ),
            });
        }
    }
    for (ticket, links) in chains {
        let anchors: Vec<String> = (present.iter())
            .filter(|(k, _)| k.split('/').nth(1) == Some(ticket.as_str()))
            .map(|(_, d)| d.clone())
            .collect();
        check_hanging_chain(&ticket, "annotation", links, &anchors, findings);
    }
    Ok(read)
}

/// How long a record may take to appear after its writtenAt (WriteRecord retries for
/// hours): one written this long before the latest manifest must be in a manifest.
const CHECKPOINT_GRACE: chrono::Duration = chrono::Duration::days(2);

/// The manifests: each read and checked as a record is, their chain, every entry there
/// with its digest, and every document (`present`) in one. Returns how many were read.
async fn check_manifests<A: Archive + ?Sized>(
    archive: &A,
    options: &VerifyOptions,
    present: &BTreeMap<String, String>,
    findings: &mut Vec<Finding>,
    warnings: &mut Vec<Finding>,
) -> Result<usize, ArchiveError> {
    use crate::manifest::{ManifestView, manifest_key, manifest_violations};
    let mut links = Vec::new();
    let mut named: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut latest: Option<chrono::DateTime<chrono::Utc>> = None;
    let mut read = 0;
    for entry in &archive.list_manifests().await? {
        let is_manifest = key::parse_manifest_file_name(&entry.file_name).is_some();
        let Some((stored, actual_digest)) =
            read_checked(archive, entry, is_manifest, findings, warnings).await?
        else {
            continue;
        };
        read += 1;
        let mut push = |check: Check, detail: String| {
            findings.push(Finding {
                key: entry.key.clone(),
                check,
                detail,
            })
        };
        let here = format!(
            "{}/{}/{}",
            key::MANIFESTS_DIR,
            entry.ticket_folder,
            entry.file_name
        );
        let Some(view) = parsed::<ManifestView>(
            &stored.bytes,
            "manifest",
            manifest_violations,
            &here,
            manifest_key,
            &mut push,
        )?
        else {
            continue;
        };
        for e in &view.entries {
            named.insert(e.key.clone(), (e.digest.clone(), entry.key.clone()));
        }
        latest = latest.max(Some(view.written_at));
        links.push(Link {
            key: entry.key.clone(),
            sequence: view.sequence,
            previous_digest: view.previous_digest.clone(),
            digest: actual_digest,
        });
        check_lock_dates(
            entry,
            Some((view.written_at, view.retention.retain_until)),
            &stored.lock,
            options,
            &mut push,
        );
    }
    check_chain("the archive's manifests", links, findings);
    // A manifest entry whose document is gone: the finding names the ticket.
    for (rel, (digest, manifest)) in &named {
        if options
            .ticket_id
            .as_deref()
            .is_some_and(|t| rel.split('/').nth(1) != Some(t))
        {
            continue;
        }
        let ticket = rel.split('/').nth(1).unwrap_or("?");
        match present.get(rel) {
            None => findings.push(Finding {
                key: manifest.clone(),
                check: Check::Manifest,
                detail: format!(
                    "missing: ticket {ticket}'s {rel} is in this manifest but not in the archive"
                ),
            }),
            Some(d) if d != digest => findings.push(Finding {
                key: rel.clone(),
                check: Check::Manifest,
                detail: format!("the bytes hash to {d}, but manifest {manifest} names {digest}"),
            }),
            Some(_) => {}
        }
    }
    // No manifest yet (an archive written before them): the summary line says so.
    let Some(latest) = latest else {
        return Ok(read);
    };
    for rel in present.keys().filter(|k| !named.contains_key(*k)) {
        let file = rel.rsplit('/').next().unwrap_or_default();
        let written_at = parse_record_file_name(file)
            .map(|p| p.written_at)
            .or_else(|| key::parse_verification_file_name(file).map(|p| p.0))
            .or_else(|| key::parse_annotation_file_name(file));
        let finding = Finding {
            key: rel.clone(),
            check: Check::Manifest,
            detail: String::new(),
        };
        if written_at.is_some_and(|w| w < latest - CHECKPOINT_GRACE) {
            findings.push(Finding {
                detail: "written well before the latest manifest but in none: it was not in the archive when the checkpoints were made".into(),
                ..finding
            });
        } else {
            warnings.push(Finding {
                detail: "not in a manifest yet (written after the latest checkpoint)".into(),
                ..finding
            });
        }
    }
    Ok(read)
}

/// A ticket's verifications or annotations: 1, 2, ... without gaps or forks, the first
/// hanging off one of `anchors` (a document of the ticket), each later one off the one
/// before.
fn check_hanging_chain(
    ticket: &str,
    what: &str,
    mut links: Vec<Link>,
    anchors: &[String],
    findings: &mut Vec<Finding>,
) {
    links.sort_by(|a, b| a.sequence.cmp(&b.sequence).then(a.key.cmp(&b.key)));
    let mut push = |key: &str, detail: String| {
        findings.push(Finding {
            key: key.to_owned(),
            check: Check::Chain,
            detail,
        })
    };
    let mut previous: Option<&Link> = None;
    for (i, l) in links.iter().enumerate() {
        let expected = u64::try_from(i + 1).unwrap_or(u64::MAX);
        if l.sequence != expected {
            push(
                &l.key,
                format!(
                    "ticket {ticket}'s {what} has sequence {}, expected {expected} (a gap, a fork or a missing first {what})",
                    l.sequence
                ),
            );
        }
        let prev = l.previous_digest.as_deref().unwrap_or_default();
        match previous {
            None if !anchors.iter().any(|d| d == prev) => push(
                &l.key,
                format!(
                    "missing link: the first {what} of ticket {ticket} names {prev}, which is no document of the ticket it can hang off"
                ),
            ),
            Some(p) if p.digest != prev => push(
                &l.key,
                format!(
                    "wrong previousDigest: names {prev}, but the {what} before it is {} at {}",
                    p.digest, p.key
                ),
            ),
            _ => {}
        }
        previous = Some(l);
    }
}

/// A listed object, read for the checks: its listing anomalies become layout findings;
/// `None` when it is no document of the layout (`named` false) or cannot be read (a
/// finding says so); else the stored object and the digest of its bytes, its
/// protection and integrity already checked.
async fn read_checked<A: Archive + ?Sized>(
    archive: &A,
    entry: &ObjectEntry,
    named: bool,
    findings: &mut Vec<Finding>,
    warnings: &mut Vec<Finding>,
) -> Result<Option<(crate::StoredObject, String)>, ArchiveError> {
    let finding = |check: Check, detail: String| Finding {
        key: entry.key.clone(),
        check,
        detail,
    };
    for a in &entry.anomalies {
        findings.push(finding(Check::Layout, a.clone()));
    }
    if !named {
        return Ok(None);
    }
    let stored = match archive.read(entry).await {
        Ok(s) => s,
        Err(ArchiveError::RecordNotFound { .. }) => {
            findings.push(finding(
                Check::Read,
                "the object is listed but cannot be read".into(),
            ));
            return Ok(None);
        }
        Err(ArchiveError::ArchiveCorrupt { detail, .. }) => {
            findings.push(finding(Check::Read, detail));
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    for p in &stored.protection_problems {
        findings.push(finding(Check::Lock, p.clone()));
    }
    let actual_digest = digest_of(&stored.bytes);
    check_integrity(
        &stored.bytes,
        &actual_digest,
        &stored,
        &mut |c, d| findings.push(finding(c, d)),
        &mut |c, d| warnings.push(finding(c, d)),
    );
    Ok(Some((stored, actual_digest)))
}

fn check_integrity(
    bytes: &[u8],
    actual_digest: &str,
    stored: &crate::StoredObject,
    push: &mut impl FnMut(Check, String),
    warn: &mut impl FnMut(Check, String),
) {
    match &stored.recorded_digest {
        None => push(
            Check::Digest,
            "no digest was recorded with the object".into(),
        ),
        Some(d) if d != actual_digest => push(
            Check::Digest,
            format!(
                "the bytes changed after writing: the digest recorded at write time is {d}, the stored bytes hash to {actual_digest}"
            ),
        ),
        Some(_) => {}
    }
    let actual_checksum = checksum_sha256_base64(bytes);
    match &stored.recorded_checksum_sha256 {
        // A store without checksums (Ceph radosgw): the digest recorded at write time
        // is the guarantee left; checked above, a mismatch is a failure there.
        None if stored.recorded_digest.is_some() => warn(
            Check::Checksum,
            "store gap: the store keeps no SHA-256 checksum for the object, so the bytes were checked only against the digest recorded at write time".into(),
        ),
        None => push(
            Check::Checksum,
            "the store holds no SHA-256 checksum for the object".into(),
        ),
        Some(c) if *c != actual_checksum => push(
            Check::Checksum,
            format!(
                "the store's SHA-256 checksum {c} does not match the bytes ({actual_checksum})"
            ),
        ),
        Some(_) => {}
    }
}

fn check_key(entry: &ObjectEntry, view: &RecordView, push: &mut impl FnMut(Check, String)) {
    let expected = key::relative_key(view).ok();
    let actual = format!("{}/{}", entry.ticket_folder, entry.file_name);
    if expected.as_deref() != Some(actual.as_str()) {
        push(
            Check::Layout,
            format!(
                "the key does not match the content (ticket {}, writtenAt {}, outcome {} belong at {})",
                view.ticket_id,
                view.written_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                view.outcome,
                expected.unwrap_or_else(|| "no valid key".into())
            ),
        );
    }
}

fn check_lock(
    entry: &ObjectEntry,
    view: Option<&RecordView>,
    lock: &crate::StoredLock,
    options: &VerifyOptions,
    push: &mut impl FnMut(Check, String),
) {
    let asked = view.map(|v| (v.written_at, v.retention.retain_until));
    check_lock_dates(entry, asked, lock, options, push);
}

/// The lock of a stored document against the policy and `asked`: the document's own
/// (writtenAt, retention.retainUntil), when it could be read.
fn check_lock_dates(
    entry: &ObjectEntry,
    asked: Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
    lock: &crate::StoredLock,
    options: &VerifyOptions,
    push: &mut impl FnMut(Check, String),
) {
    match lock.mode.as_deref() {
        Some("COMPLIANCE") => {}
        Some(other) => push(
            Check::Lock,
            format!("lock mode is {other}, not COMPLIANCE: it can be lifted before it expires"),
        ),
        None => push(Check::Lock, "the object has no lock".into()),
    }
    let Some(until) = lock.retain_until else {
        if lock.mode.is_some() {
            push(Check::Lock, "the lock has no retain-until date".into());
        }
        return;
    };
    let until = truncate_to_millis(until);
    let written_at = asked
        .map(|a| a.0)
        .or_else(|| parse_record_file_name(&entry.file_name).map(|p| p.written_at))
        .or_else(|| key::parse_verification_file_name(&entry.file_name).map(|p| p.0));
    let fmt =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    if let Some(written_at) = written_at {
        let needed = truncate_to_millis(options.min_retention.retain_until(written_at));
        if until < needed {
            push(
                Check::Retention,
                format!(
                    "locked until {}, short of the {}-year minimum ({} from writtenAt {})",
                    fmt(until),
                    options.min_retention.in_years(),
                    fmt(needed),
                    fmt(written_at)
                ),
            );
        }
    }
    if let Some((_, asked)) = asked {
        let asked = truncate_to_millis(asked);
        if until < asked {
            push(
                Check::Retention,
                format!(
                    "locked until {}, earlier than the document's own retention.retainUntil {}",
                    fmt(until),
                    fmt(asked)
                ),
            );
        }
    }
}

fn check_chain(ticket: &str, mut links: Vec<Link>, findings: &mut Vec<Finding>) {
    links.sort_by(|a, b| a.sequence.cmp(&b.sequence).then(a.key.cmp(&b.key)));
    let mut push = |key: &str, detail: String| {
        findings.push(Finding {
            key: key.to_owned(),
            check: Check::Chain,
            detail,
        })
    };
    let mut by_seq: BTreeMap<u64, Vec<&Link>> = BTreeMap::new();
    for l in &links {
        by_seq.entry(l.sequence).or_default().push(l);
    }
    for (seq, same) in &by_seq {
        if same.len() > 1 {
            let keys: Vec<&str> = same.iter().map(|l| l.key.as_str()).collect();
            for l in same {
                push(
                    &l.key,
                    format!(
                        "fork: ticket {ticket} has {} records with sequence {seq} ({})",
                        same.len(),
                        keys.join(", ")
                    ),
                );
            }
        }
    }
    for l in &links {
        if l.sequence == 0 {
            push(&l.key, "sequence 0: sequences start at 1".into());
            continue;
        }
        if l.sequence == 1 {
            if l.previous_digest.is_some() {
                push(&l.key, "sequence 1 must have previousDigest null".into());
            }
            continue;
        }
        let Some(prev) = &l.previous_digest else {
            push(
                &l.key,
                format!("sequence {} has no previousDigest", l.sequence),
            );
            continue;
        };
        match by_seq.get(&(l.sequence - 1)).map(Vec::as_slice) {
            None | Some([]) => {
                let named = links.iter().find(|o| &o.digest == prev);
                let detail = match named {
                    Some(o) => format!(
                        "sequence gap: the previous record is {} with sequence {}, expected sequence {}",
                        o.key,
                        o.sequence,
                        l.sequence - 1
                    ),
                    None => format!(
                        "missing link: ticket {ticket} has no record with sequence {}, and previousDigest {prev} matches no record of the ticket",
                        l.sequence - 1
                    ),
                };
                push(&l.key, detail);
            }
            Some(prevs) => {
                if !prevs.iter().any(|p| &p.digest == prev) {
                    let actual: Vec<String> = prevs
                        .iter()
                        .map(|p| format!("{} at {}", p.digest, p.key))
                        .collect();
                    push(
                        &l.key,
                        format!(
                            "wrong previousDigest: names {prev}, but sequence {} is {}",
                            l.sequence - 1,
                            actual.join(" and ")
                        ),
                    );
                }
            }
        }
    }
    // A chain starting at 2 was already reported by its first record's missing link.
    if !by_seq.contains_key(&1)
        && let Some(first) = links.first().filter(|f| f.sequence > 2)
    {
        push(
            &first.key,
            format!(
                "missing link: ticket {ticket} has no record with sequence 1 (its first record here has sequence {})",
                first.sequence
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(key: &str, sequence: u64, previous: Option<&str>, digest: &str) -> Link {
        Link {
            key: key.into(),
            sequence,
            previous_digest: previous.map(Into::into),
            digest: digest.into(),
        }
    }

    fn chain_findings(links: Vec<Link>) -> Vec<String> {
        let mut findings = Vec::new();
        check_chain("T", links, &mut findings);
        findings
            .into_iter()
            .map(|f| format!("{}: {}", f.key, f.detail))
            .collect()
    }

    #[test]
    fn an_intact_chain_has_no_findings() {
        let f = chain_findings(vec![
            link("a", 1, None, "d1"),
            link("b", 2, Some("d1"), "d2"),
            link("c", 3, Some("d2"), "d3"),
        ]);
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn a_sequence_gap_names_the_record_after_it() {
        let f = chain_findings(vec![
            link("a", 1, None, "d1"),
            link("c", 3, Some("d1"), "d3"),
        ]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].starts_with("c: sequence gap"), "{f:?}");
    }

    #[test]
    fn a_chain_without_its_first_record_is_reported_once() {
        let f = chain_findings(vec![link("b", 2, Some("d1"), "d2")]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].contains("no record with sequence 1"), "{f:?}");
    }

    #[test]
    fn sequence_zero_is_reported_not_a_crash() {
        let f = chain_findings(vec![link("z", 0, None, "d0")]);
        assert!(f.iter().any(|s| s.starts_with("z: sequence 0")), "{f:?}");
    }
}
