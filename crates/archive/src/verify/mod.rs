//! `audit verify`: checks every record of an archive the way an auditor would.
//!
//! For each record: the schema (formats included), the canonical form, the digest
//! recorded at write time against the bytes, the store's SHA-256 checksum, the key
//! against the record's content, the lock (COMPLIANCE, retain-until at least the
//! policy's and the record's own); for each ticket: the chain (first record, forks,
//! missing links, wrong previousDigest, sequence gaps). The same for the checks after a
//! record (`verifications/`), the annotations (`annotations.rs`) and the manifests
//! (`manifests.rs`: every entry there, every document in one). Every failure names the
//! key.

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

mod annotations;
mod chains;
mod manifests;

use annotations::check_annotations;
use chains::{Link, check_chain, check_hanging_chain};
use manifests::check_manifests;

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
        let mut push = finding_for(&mut findings, &entry.key);

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
        let mut push = finding_for(&mut findings, &entry.key);
        let here = crate::manifest::relative(entry, key::VERIFICATIONS_DIR);
        present.insert(here.clone(), actual_digest.clone());
        let view = parsed::<VerificationView>(
            &stored.bytes,
            "verification",
            verification_violations,
            &here,
            |v| key::verification_key(v).unwrap_or_else(|_| "no valid key".into()),
            &mut push,
        )?;
        if let Some(view) = &view {
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

/// Adds findings about the document at `key`.
fn finding_for<'a>(findings: &'a mut Vec<Finding>, key: &'a str) -> impl FnMut(Check, String) + 'a {
    move |check, detail| {
        findings.push(Finding {
            key: key.to_owned(),
            check,
            detail,
        })
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
