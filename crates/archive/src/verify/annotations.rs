//! `audit verify` over `annotations/`.

use std::collections::BTreeMap;

use super::*;

/// The annotations: each read and checked as a record is, the document it annotates
/// there with the digest it names, and each ticket's chain of them. They join
/// `present` (manifests list them too). Returns how many were read.
pub(super) async fn check_annotations<A: Archive + ?Sized>(
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
        let mut push = finding_for(&mut *findings, &entry.key);
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
