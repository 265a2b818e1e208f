//! The local-directory backend: write-once files, idempotent retries, the chain, and
//! what `verify` finds when someone changes the directory behind the archive's back.

use std::fs;
use std::path::{Path, PathBuf};

use archive::canonical::{canonicalize, checksum_sha256_base64, digest_of};
use archive::verify::{Check, VerifyOptions, VerifyReport, verify};
use archive::{Archive, LocalArchive, Receipt, Record, RetentionPolicy};
use serde_json::{Value, json};
use testkit::RecordBuilder;

const TICKET: &str = "DSAR-2026-0042";

fn new_archive() -> (tempfile::TempDir, LocalArchive) {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = LocalArchive::new(dir.path(), RetentionPolicy::default());
    (dir, archive)
}

fn rec(v: Value) -> Record {
    Record::from_value(v).expect("valid record")
}

/// DEFERRED, DEFERRED again, then COMPLETED: a ticket held twice then erased.
async fn chain_of_three(archive: &LocalArchive) -> Vec<(Record, Receipt)> {
    let mut out: Vec<(Record, Receipt)> = Vec::new();
    for (seq, outcome, at) in [
        (1, "DEFERRED", "2026-11-22T11:42:10.512Z"),
        (2, "DEFERRED", "2027-07-01T08:00:00Z"),
        (3, "COMPLETED", "2027-12-01T08:00:00Z"),
    ] {
        let prev = out.last().map(|(r, _)| r.digest().to_owned());
        let r = rec(RecordBuilder::new(TICKET, outcome)
            .written_at(at)
            .sequence(seq, prev.as_deref())
            .build());
        let receipt = archive.write(&r).await.expect("written");
        out.push((r, receipt));
    }
    out
}

fn path_of(root: &Path, key: &str) -> PathBuf {
    root.join(key)
}

fn make_writable(path: &Path) {
    let mut perms = fs::metadata(path).expect("meta").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs::set_permissions(path, perms).expect("chmod");
}

fn make_read_only(path: &Path) {
    let mut perms = fs::metadata(path).expect("meta").permissions();
    perms.set_readonly(true);
    fs::set_permissions(path, perms).expect("chmod");
}

/// Every record of the archive, as the report loads them.
async fn loaded(archive: &LocalArchive) -> Vec<archive::report::LoadedRecord> {
    archive::report::load_records(archive, &archive::report::RecordFilter::default())
        .await
        .expect("records load")
        .0
}

async fn verified(archive: &LocalArchive) -> VerifyReport {
    verify(archive, &VerifyOptions::default())
        .await
        .expect("verify ran")
}

fn checks_for(report: &VerifyReport, key: &str) -> Vec<Check> {
    report
        .findings
        .iter()
        .filter(|f| f.key == key)
        .map(|f| f.check)
        .collect()
}

#[tokio::test]
async fn a_ticket_chain_is_written_and_verifies_clean() {
    let (_dir, archive) = new_archive();
    let written = chain_of_three(&archive).await;

    let head = archive
        .chain_head(TICKET)
        .await
        .expect("head")
        .expect("some");
    let report = verified(&archive).await;

    assert_eq!(head.sequence, 3);
    assert_eq!(head.digest, written[2].0.digest());
    assert_eq!(head.key, written[2].1.key);
    assert!(report.passed(), "{}", report.to_text());
    assert_eq!((report.records_checked, report.tickets), (3, 1));
    assert!(report.to_text().starts_with("OK "));
}

#[tokio::test]
async fn a_retried_identical_write_returns_the_existing_receipt() {
    let (dir, archive) = new_archive();
    let written = chain_of_three(&archive).await;
    let (first, receipt) = &written[0];

    let again = archive.write(first).await.expect("idempotent");

    assert!(again.already_present);
    assert_eq!(again.key, receipt.key);
    assert_eq!(again.digest, receipt.digest);
    let files = fs::read_dir(dir.path().join("records").join(TICKET))
        .expect("ticket folder")
        .count();
    assert_eq!(files, 6, "three records and their sidecars, nothing more");
}

#[tokio::test]
async fn a_different_document_at_an_existing_key_is_a_conflict() {
    let (dir, archive) = new_archive();
    let written = chain_of_three(&archive).await;
    let changed = rec(RecordBuilder::new(TICKET, "DEFERRED")
        .written_at("2026-11-22T11:42:10.512Z")
        .set("/counts/conversationsFound", json!(9))
        .build());

    let err = archive.write(&changed).await.expect_err("conflict");

    assert_eq!(err.name(), "ArchiveConflict");
    assert!(err.to_string().contains(&written[0].1.key), "{err}");
    let stored = fs::read(path_of(dir.path(), &written[0].1.key)).expect("read");
    assert_eq!(stored, written[0].0.canonical_bytes());
}

#[tokio::test]
async fn a_record_that_does_not_extend_the_chain_is_refused() {
    let (_dir, archive) = new_archive();
    let written = chain_of_three(&archive).await;
    let head_digest = written[2].0.digest().to_owned();

    let first_again = rec(RecordBuilder::new(TICKET, "COMPLETED")
        .written_at("2028-01-01T00:00:00Z")
        .build());
    let skips = rec(RecordBuilder::new(TICKET, "COMPLETED")
        .written_at("2028-01-01T00:00:00Z")
        .sequence(5, Some(&head_digest))
        .build());
    let wrong_link = rec(RecordBuilder::new(TICKET, "COMPLETED")
        .written_at("2028-01-01T00:00:00Z")
        .sequence(4, Some(written[1].0.digest()))
        .build());
    let orphan = rec(RecordBuilder::new("DSAR-2026-0099", "COMPLETED")
        .sequence(2, Some(&head_digest))
        .build());

    for (r, says) in [
        (&first_again, "sequence 1 does not follow"),
        (&skips, "sequence 5 does not follow the head's 3"),
        (&wrong_link, "is not the digest"),
        (&orphan, "has no record yet"),
    ] {
        let err = archive.write(r).await.expect_err("chain mismatch");
        assert_eq!(err.name(), "ChainMismatch");
        assert!(err.to_string().contains(says), "{err}");
    }
    let next = rec(RecordBuilder::new(TICKET, "COMPLETED")
        .written_at("2028-01-01T00:00:00Z")
        .sequence(4, Some(&head_digest))
        .build());
    assert!(!archive.write(&next).await.expect("extends").already_present);
}

#[tokio::test]
async fn verify_names_a_record_whose_bytes_were_changed() {
    let (dir, archive) = new_archive();
    let written = chain_of_three(&archive).await;
    let key = &written[1].1.key;
    let path = path_of(dir.path(), key);
    make_writable(&path);
    let text = String::from_utf8(fs::read(&path).expect("read")).expect("utf-8");
    // Still valid, still canonical: only the digest and checksum can tell.
    let tampered = text.replace("\"conversationsErased\":4", "\"conversationsErased\":0");
    assert_ne!(text, tampered);
    fs::write(&path, tampered).expect("tamper");
    make_read_only(&path);

    let report = verified(&archive).await;
    let out = report.to_text();

    assert!(!report.passed());
    assert_eq!(
        checks_for(&report, key),
        vec![Check::Digest, Check::Checksum],
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "FAIL {key}: digest: the bytes changed after writing"
        )),
        "{out}"
    );
    // The next record's link no longer matches what is stored.
    assert_eq!(
        checks_for(&report, &written[2].1.key),
        vec![Check::Chain],
        "{out}"
    );
    assert!(out.contains("wrong previousDigest"), "{out}");
    assert!(out.contains("FAILED"), "{out}");
    // Nor does the archive extend a chain it cannot vouch for.
    let err = archive
        .chain_head(TICKET)
        .await
        .expect_err("tampered chain");
    assert_eq!(err.name(), "ArchiveCorrupt");
    assert!(err.to_string().contains(key.as_str()), "{err}");
}

#[tokio::test]
async fn verify_names_a_missing_link() {
    let (dir, archive) = new_archive();
    let written = chain_of_three(&archive).await;
    let middle = path_of(dir.path(), &written[1].1.key);
    let sidecar = PathBuf::from(format!("{}.meta", middle.display()));
    for p in [&middle, &sidecar] {
        make_writable(p);
        fs::remove_file(p).expect("rm");
    }

    let report = verified(&archive).await;
    let out = report.to_text();

    assert_eq!(report.findings.len(), 1, "{out}");
    let f = &report.findings[0];
    assert_eq!(
        (f.key.as_str(), f.check),
        (written[2].1.key.as_str(), Check::Chain)
    );
    assert!(f.detail.contains("missing link"), "{out}");
    assert!(f.detail.contains("no record with sequence 2"), "{out}");
}

#[tokio::test]
async fn verify_names_a_record_with_a_wrong_schema() {
    let (dir, archive) = new_archive();
    chain_of_three(&archive).await;
    // Another ticket's record, stored with a faithful digest, checksum and lock, but
    // not a valid record: a negative count and an unknown field.
    let mut value = RecordBuilder::new("DSAR-2026-0077", "COMPLETED").build();
    value["counts"]["conversationsFound"] = json!(-1);
    value["note"] = json!("added by hand");
    let bytes = canonicalize(&value).expect("canonical");
    let key = "records/DSAR-2026-0077/20261122T114210.512Z-COMPLETED.json";
    let path = path_of(dir.path(), key);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(&path, &bytes).expect("write");
    make_read_only(&path);
    let sidecar = json!({
        "schema": "gdpr-erasure/local-archive-sidecar/v1",
        "key": key,
        "digest": digest_of(&bytes),
        "checksumSha256": checksum_sha256_base64(&bytes),
        "lock": {"mode": "COMPLIANCE", "retainUntil": "2033-11-22T11:42:10.512Z"}
    });
    let sidecar_path = PathBuf::from(format!("{}.meta", path.display()));
    fs::write(&sidecar_path, sidecar.to_string()).expect("sidecar");
    make_read_only(&sidecar_path);

    let report = verified(&archive).await;
    let out = report.to_text();

    assert_eq!(
        checks_for(&report, key),
        vec![Check::Schema, Check::Schema],
        "{out}"
    );
    assert_eq!(report.findings.len(), 2, "{out}");
    assert!(
        out.contains(&format!("FAIL {key}: schema: /counts/conversationsFound")),
        "{out}"
    );
    assert!(out.contains("note"), "{out}");
}

#[tokio::test]
async fn verify_names_a_fork_and_the_archive_refuses_to_extend_it() {
    let (dir, archive) = new_archive();
    let written = chain_of_three(&archive).await;
    // A second sequence-3 record, made in another archive from the same first two
    // records, then copied in beside the original.
    let (other_dir, other) = new_archive();
    for (r, _) in &written[..2] {
        other.write(r).await.expect("copy");
    }
    let rival = rec(RecordBuilder::new(TICKET, "PARTIAL")
        .written_at("2027-12-02T08:00:00Z")
        .sequence(3, Some(written[1].0.digest()))
        .build());
    let rival_key = other.write(&rival).await.expect("rival").key;
    for suffix in ["", ".meta"] {
        fs::copy(
            path_of(other_dir.path(), &format!("{rival_key}{suffix}")),
            path_of(dir.path(), &format!("{rival_key}{suffix}")),
        )
        .expect("copy in");
    }

    let report = verified(&archive).await;
    let head = archive.chain_head(TICKET).await;

    let out = report.to_text();
    assert_eq!(
        checks_for(&report, &written[2].1.key),
        vec![Check::Chain],
        "{out}"
    );
    assert_eq!(checks_for(&report, &rival_key), vec![Check::Chain], "{out}");
    assert!(
        out.contains("fork: ticket DSAR-2026-0042 has 2 records with sequence 3"),
        "{out}"
    );
    assert_eq!(head.expect_err("fork").name(), "ArchiveCorrupt");
}

#[tokio::test]
async fn verify_names_stray_files_and_unprotected_records() {
    let (dir, archive) = new_archive();
    let written = chain_of_three(&archive).await;
    let stray = dir.path().join("records").join(TICKET).join("notes.txt");
    fs::write(&stray, "hello").expect("stray");
    let first = path_of(dir.path(), &written[0].1.key);
    make_writable(&first);

    let report = verified(&archive).await;
    let out = report.to_text();

    assert_eq!(
        checks_for(&report, &format!("records/{TICKET}/notes.txt")),
        vec![Check::Layout],
        "{out}"
    );
    assert_eq!(
        checks_for(&report, &written[0].1.key),
        vec![Check::Lock],
        "{out}"
    );
    assert!(out.contains("the record file is writable"), "{out}");
    assert_eq!(report.findings.len(), 2, "{out}");
    // A stray file is no member of the chain: the next record is still written.
    let next = rec(RecordBuilder::new(TICKET, "COMPLETED")
        .written_at("2028-01-01T00:00:00Z")
        .sequence(4, Some(written[2].0.digest()))
        .build());
    assert!(!archive.write(&next).await.expect("extends").already_present);
}

#[tokio::test]
async fn verify_holds_locks_to_the_minimum_retention_asked_for() {
    let (_dir, archive) = new_archive();
    let written = chain_of_three(&archive).await;

    let report = verify(
        &archive,
        &VerifyOptions {
            min_retention: RetentionPolicy::years(8).expect("policy"),
            ticket_id: None,
        },
    )
    .await
    .expect("verify");

    assert_eq!(report.findings.len(), 3, "{}", report.to_text());
    for (_, receipt) in &written {
        assert_eq!(checks_for(&report, &receipt.key), vec![Check::Retention]);
    }
    assert!(report.to_text().contains("short of the 8-year minimum"));
}

#[tokio::test]
async fn a_longer_retention_asked_by_the_record_is_honoured() {
    let (dir, archive) = new_archive();
    let r = rec(RecordBuilder::new(TICKET, "COMPLETED")
        .set("/retention/retainUntil", json!("2040-01-01T00:00:00Z"))
        .build());

    let receipt = archive.write(&r).await.expect("written");

    assert_eq!(
        receipt.retain_until,
        "2040-01-01T00:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .expect("date")
    );
    let sidecar: Value = serde_json::from_slice(
        &fs::read(format!(
            "{}.meta",
            path_of(dir.path(), &receipt.key).display()
        ))
        .expect("sidecar"),
    )
    .expect("json");
    assert_eq!(sidecar["lock"]["retainUntil"], "2040-01-01T00:00:00.000Z");
    assert!(verified(&archive).await.passed());
}

/// A verification of `record` (sequence `seq`, after `previous`), written at `at`.
fn verification(
    record: &Record,
    seq: u64,
    previous: &str,
    at: &str,
    result: &str,
) -> archive::Verification {
    let mut v: Value = serde_json::from_str(include_str!(
        "../../../schemas/examples/verification-clean.json"
    ))
    .expect("example");
    v["ticketId"] = json!(TICKET);
    v["sequence"] = json!(seq);
    v["previousDigest"] = json!(previous);
    v["writtenAt"] = json!(at);
    v["result"] = json!(result);
    v["verifies"]["recordDigest"] = json!(record.digest());
    v["verifies"]["recordSequence"] = json!(record.view().sequence);
    archive::Verification::from_value(v).expect("a valid verification")
}

#[tokio::test]
async fn verifications_chain_off_the_record_are_written_once_and_verified() {
    let (dir, archive) = new_archive();
    let written = chain_of_three(&archive).await;
    let record = &written[2].0;
    let v1 = verification(
        record,
        1,
        record.digest(),
        "2027-12-02T08:00:00Z",
        "PENDING",
    );
    let r1 = archive.write_verification(&v1).await.expect("first");
    assert!(
        r1.key
            .starts_with("verifications/DSAR-2026-0042/20271202T080000.000Z-PENDING")
    );
    assert!(
        archive
            .write_verification(&v1)
            .await
            .expect("again")
            .already_present
    );
    // Out of chain: a second one naming the record again, or the wrong sequence.
    let stray = verification(record, 2, record.digest(), "2027-12-08T08:00:00Z", "CLEAN");
    assert!(matches!(
        archive.write_verification(&stray).await,
        Err(archive::ArchiveError::ChainMismatch { .. })
    ));
    let v2 = verification(record, 2, v1.digest(), "2027-12-08T08:00:00Z", "CLEAN");
    archive.write_verification(&v2).await.expect("second");
    // A first verification naming no record of the ticket is refused.
    let (_d2, other) = new_archive();
    assert!(other.write_verification(&v1).await.is_err());

    let report = verified(&archive).await;
    assert!(report.passed(), "{}", report.to_text());
    assert_eq!(report.verifications_checked, 2);
    assert!(report.to_text().contains("2 verification records"));

    // The first verification taken away behind the archive's back: the second names
    // a verification that is not there, and verify says so for that key.
    let path = path_of(dir.path(), &r1.key);
    make_writable(path.parent().expect("folder"));
    fs::remove_file(&path).expect("removed");
    let _ = fs::remove_file(format!("{}.meta", path.display()));
    let report = verified(&archive).await;
    assert!(!report.passed());
    let second_key = report
        .findings
        .iter()
        .find(|f| f.check == Check::Chain)
        .map(|f| f.key.clone())
        .expect("a chain finding");
    assert!(second_key.ends_with("-CLEAN.json"), "{}", report.to_text());
}

#[tokio::test]
async fn a_ticket_missing_as_a_whole_is_named_by_the_manifest_that_listed_it() {
    let (dir, archive) = new_archive();
    chain_of_three(&archive).await;
    let other = rec(RecordBuilder::new("DSAR-2026-0099", "COMPLETED")
        .written_at("2027-12-02T08:00:00Z")
        .build());
    archive.write(&other).await.expect("written");
    let now: chrono::DateTime<chrono::Utc> = "2027-12-05T00:00:00Z".parse().unwrap();

    // Before any checkpoint: said, not a failure (archives written before manifests
    // existed still verify).
    let report = verified(&archive).await;
    assert!(report.passed(), "{}", report.to_text());
    assert!(report.to_text().contains("no manifest yet"));

    let first = archive::manifest::checkpoint(&archive, now)
        .await
        .expect("checkpoint")
        .expect("a manifest");
    assert!(
        first
            .key
            .starts_with("manifests/checkpoints/20271205T000000.000Z-MANIFEST")
    );
    // Nothing new: nothing written.
    assert!(
        archive::manifest::checkpoint(&archive, now + chrono::Duration::days(1))
            .await
            .expect("checkpoint")
            .is_none()
    );
    let report = verified(&archive).await;
    assert!(report.passed(), "{}", report.to_text());
    assert_eq!(report.manifests_checked, 1);
    assert!(report.warnings.is_empty(), "{}", report.to_text());

    // A second manifest must follow the first.
    let manifests = archive::manifest::read_manifests(&archive).await.unwrap();
    let stray = archive::manifest::Manifest::from_value(manifests[0].1.value().clone()).unwrap();
    assert!(
        archive
            .write_manifest(&stray)
            .await
            .unwrap()
            .already_present
    );

    // The whole of DSAR-2026-0099 removed behind the archive's back: its chain cannot
    // show it, the manifest does, naming the ticket.
    let folder = dir.path().join("records/DSAR-2026-0099");
    for f in fs::read_dir(&folder).unwrap() {
        make_writable(&f.unwrap().path());
    }
    make_writable(&folder);
    fs::remove_dir_all(&folder).expect("removed");
    let report = verified(&archive).await;
    assert!(!report.passed());
    let missing: Vec<_> = (report.findings.iter())
        .filter(|f| f.check == Check::Manifest)
        .collect();
    assert_eq!(missing.len(), 1, "{}", report.to_text());
    assert!(
        missing[0].detail.contains("ticket DSAR-2026-0099"),
        "{}",
        missing[0].detail
    );
    assert_eq!(missing[0].key, first.key);

    // A record slipped in later with an old date is in no manifest: a failure.
    let late = rec(RecordBuilder::new("DSAR-2026-0100", "COMPLETED")
        .written_at("2027-11-01T08:00:00Z")
        .build());
    archive.write(&late).await.expect("written");
    let report = verified(&archive).await;
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.check == Check::Manifest && f.key.contains("DSAR-2026-0100")),
        "{}",
        report.to_text()
    );
}

#[tokio::test]
async fn an_annotation_closes_an_escalation_once_and_hangs_off_its_document() {
    let (dir, archive) = new_archive();
    let mut v = RecordBuilder::new(TICKET, "PARTIAL")
        .written_at("2027-12-01T08:00:00Z")
        .build();
    v["escalations"] = json!([{"reason": "genesys-partial", "at": "2027-12-01T08:00:00Z", "detail": "request r-1 ended in ERROR"}]);
    let r = rec(v);
    let receipt = archive.write(&r).await.expect("written");
    let now: chrono::DateTime<chrono::Utc> = "2027-12-03T10:00:00Z".parse().unwrap();
    let actor = format!("hmac-sha256:{}", "c".repeat(64));
    let closing = |reasons: Vec<String>, case: &'static str| archive::annotation::Closing {
        ticket_id: TICKET,
        document_key: "",
        reasons,
        resolution: "resolved-by-genesys",
        support_case: case,
        actor_ref: &actor,
        role: "DPO",
    };
    let key = receipt.key.clone();
    let open = archive::annotation::escalations(&archive, &loaded(&archive).await, Some(TICKET))
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].document_key.as_str(), open[0].reason.as_str()),
        (key.as_str(), "genesys-partial")
    );
    assert_eq!(open[0].closed_by, None);
    let first = archive::annotation::annotate(
        &archive,
        &archive::annotation::Closing {
            document_key: &key,
            ..closing(Vec::new(), "GEN-CASE-0042187")
        },
        now,
    )
    .await
    .expect("annotated");
    assert!(
        first
            .key
            .starts_with("annotations/DSAR-2026-0042/20271203T100000.000Z-ANNOTATION")
    );
    let closed = archive::annotation::escalations(&archive, &loaded(&archive).await, Some(TICKET))
        .await
        .unwrap();
    assert_eq!(closed[0].closed_by.as_deref(), Some(first.key.as_str()));
    // Closed once: a second closing, a reason the record lacks, free text as the case
    // reference, an unknown document: each refused with why, nothing written.
    // A second closing of what is closed is told apart (an endpoint answers it 409).
    for (reasons, case, doc) in [
        (Vec::new(), "GEN-1", key.as_str()),
        (vec!["made-up".to_owned()], "GEN-1", key.as_str()),
        (
            vec!["genesys-partial".to_owned()],
            "see my e-mail of Tuesday",
            key.as_str(),
        ),
        (
            Vec::new(),
            "GEN-1",
            "records/DSAR-2026-0042/20271201T080000.000Z-COMPLETED.json",
        ),
    ] {
        let closed_already = reasons.is_empty() && case == "GEN-1" && doc == key.as_str();
        let refused = archive::annotation::annotate(
            &archive,
            &archive::annotation::Closing {
                document_key: doc,
                ..closing(reasons, case)
            },
            now,
        )
        .await;
        assert!(
            match refused {
                Err(archive::annotation::AnnotateError::Closed(_)) => closed_already,
                Err(archive::annotation::AnnotateError::Refused(_)) => !closed_already,
                _ => false,
            },
            "{refused:?}"
        );
    }
    assert_eq!(
        archive.list_annotations(Some(TICKET)).await.unwrap().len(),
        1
    );
    let report = verified(&archive).await;
    assert!(report.passed(), "{}", report.to_text());
    assert_eq!(report.annotations_checked, 1);

    // The annotated record taken away: the annotation names what it lost.
    let path = path_of(dir.path(), &key);
    make_writable(path.parent().unwrap());
    make_writable(&path);
    fs::remove_file(&path).unwrap();
    let _ = fs::remove_file(format!("{}.meta", path.display()));
    let report = verified(&archive).await;
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.key == first.key && f.check == Check::Chain),
        "{}",
        report.to_text()
    );
}
