//! `audit verify` over `manifests/`: the checkpoints, and every document in one.

use std::collections::BTreeMap;

use super::*;

/// How long a record may take to appear after its writtenAt (WriteRecord retries for
/// hours): one written this long before the latest manifest must be in a manifest.
const CHECKPOINT_GRACE: chrono::Duration = chrono::Duration::days(2);

/// The manifests: each read and checked as a record is, their chain, every entry there
/// with its digest, and every document (`present`) in one. Returns how many were read.
pub(super) async fn check_manifests<A: Archive + ?Sized>(
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
        let mut push = finding_for(&mut *findings, &entry.key);
        let here = crate::manifest::relative(entry, key::MANIFESTS_DIR);
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
