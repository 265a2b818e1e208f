//! `gdpr-erasure audit` as an auditor runs it: the binary, against a local archive
//! (and once against moto's S3).

use std::fs;
use std::path::Path;
use std::process::Command;

use archive::canonical::checksum_sha256_base64;
use archive::{Archive, LocalArchive, Record, RetentionPolicy, S3Archive, S3Settings};
use serde_json::Value;
use testkit::{MotoServer, RecordBuilder};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn audit(archive: &str, args: &[&str], env: &[(&str, String)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gdpr-erasure"));
    cmd.arg("audit").arg("--archive").arg(archive).args(args);
    cmd.env_remove("GDPR_ERASURE_ARCHIVE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run gdpr-erasure");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn local(dir: &Path, args: &[&str]) -> Run {
    audit(dir.to_str().expect("utf-8 path"), args, &[])
}

/// DSAR-A: DEFERRED then COMPLETED; DSAR-B: REJECTED; DSAR-C: PARTIAL in December.
async fn sample_archive() -> (tempfile::TempDir, Vec<(Record, String)>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = LocalArchive::new(dir.path(), RetentionPolicy::default());
    let a1 = Record::from_value(
        RecordBuilder::new("DSAR-A", "DEFERRED")
            .written_at("2025-11-05T09:00:00Z")
            .clock(
                "2025-11-01T00:00:00Z",
                Some("2025-11-04T00:00:00Z"),
                Some(true),
                Some(0),
            )
            .build(),
    )
    .expect("valid");
    let a2 = Record::from_value(
        RecordBuilder::new("DSAR-A", "COMPLETED")
            .written_at("2025-11-25T09:00:00Z")
            .sequence(2, Some(a1.digest()))
            .clock(
                "2025-11-01T00:00:00Z",
                Some("2025-11-25T00:00:00Z"),
                Some(true),
                Some(0),
            )
            .build(),
    )
    .expect("valid");
    let b = Record::from_value(
        RecordBuilder::new("DSAR-B", "REJECTED")
            .written_at("2025-11-12T09:00:00Z")
            .build(),
    )
    .expect("valid");
    let c = Record::from_value(
        RecordBuilder::new("DSAR-C", "PARTIAL")
            .written_at("2025-12-03T09:00:00Z")
            .clock(
                "2025-11-20T00:00:00Z",
                Some("2025-12-02T00:00:00Z"),
                Some(true),
                Some(0),
            )
            .build(),
    )
    .expect("valid");
    let mut written = Vec::new();
    for r in [a1, a2, b, c] {
        let key = archive.write(&r).await.expect("written").key;
        written.push((r, key));
    }
    (dir, written)
}

#[tokio::test]
async fn list_shows_a_table_filtered_by_ticket_outcome_and_dates() {
    let (dir, _) = sample_archive().await;

    let all = local(dir.path(), &["list"]);
    let deferred = local(dir.path(), &["list", "--outcome", "deferred"]);
    let ticket = local(dir.path(), &["list", "--ticket", "DSAR-A"]);
    let november = local(
        dir.path(),
        &["list", "--from", "2025-11-10", "--to", "2025-11-30"],
    );

    assert_eq!(all.code, 0, "{}", all.stderr);
    let lines: Vec<&str> = all.stdout.lines().collect();
    assert!(
        lines[0].starts_with("TICKET  SEQ  WRITTEN AT (UTC)"),
        "{}",
        all.stdout
    );
    assert!(
        lines[1].starts_with("DSAR-A  1    2025-11-05T09:00:00.000Z  DEFERRED"),
        "{}",
        all.stdout
    );
    assert!(all.stdout.contains("4 records"));
    assert!(deferred.stdout.contains("1 records") && deferred.stdout.contains("DEFERRED"));
    assert!(!deferred.stdout.contains("COMPLETED"));
    assert!(ticket.stdout.contains("2 records") && !ticket.stdout.contains("DSAR-B"));
    assert!(november.stdout.contains("2 records"), "{}", november.stdout);
    assert!(november.stdout.contains("DSAR-B") && !november.stdout.contains("DSAR-C"));
}

#[tokio::test]
async fn list_refuses_bad_dates_and_outcomes_precisely() {
    let (dir, _) = sample_archive().await;

    let bad_date = local(dir.path(), &["list", "--from", "2026-13-01"]);
    let reversed = local(
        dir.path(),
        &["list", "--from", "2025-12-01", "--to", "2025-11-01"],
    );
    let bad_outcome = local(dir.path(), &["list", "--outcome", "DONE"]);

    assert_eq!(bad_date.code, 2);
    assert!(
        bad_date
            .stderr
            .contains("'2026-13-01' is not a date: expected YYYY-MM-DD"),
        "{}",
        bad_date.stderr
    );
    assert_eq!(reversed.code, 2);
    assert!(
        reversed
            .stderr
            .contains("ends (2025-11-01) before it starts (2025-12-01)"),
        "{}",
        reversed.stderr
    );
    assert_eq!(bad_outcome.code, 2);
    assert!(
        bad_outcome.stderr.contains("unknown outcome 'DONE'"),
        "{}",
        bad_outcome.stderr
    );
}

#[tokio::test]
async fn show_prints_a_ticket_in_chain_order_and_as_json() {
    let (dir, written) = sample_archive().await;

    let text = local(dir.path(), &["show", "DSAR-A"]);
    let json = local(dir.path(), &["show", "DSAR-A", "--json"]);

    assert_eq!(text.code, 0, "{}", text.stderr);
    let out = &text.stdout;
    let first = out.find("DSAR-A  record 1 of 2: DEFERRED").expect(out);
    let second = out.find("DSAR-A  record 2 of 2: COMPLETED").expect(out);
    assert!(first < second);
    assert!(
        out.contains(&format!("digest            {}", written[0].0.digest())),
        "{out}"
    );
    assert!(
        out.contains(&format!("previous digest   {}", written[0].0.digest())),
        "{out}"
    );
    assert!(
        out.contains("store reports COMPLIANCE until 2032-11-05T09:00:00.000Z"),
        "{out}"
    );
    assert!(
        out.contains("holds LH-2025-007 until 2027-06-30; resumes 2027-07-01"),
        "{out}"
    );
    assert!(out.contains("within deadline: yes"), "{out}");

    assert_eq!(json.code, 0);
    let values: Vec<Value> = serde_json::from_str(&json.stdout).expect("JSON array");
    assert_eq!(values.len(), 2);
    assert_eq!(values[0]["sequence"], 1);
    assert_eq!(values[1]["previousDigest"], written[0].0.digest());
    assert_eq!(&values[1], written[1].0.value());
}

#[tokio::test]
async fn show_follows_a_deferral_to_the_follow_up_ticket_that_resumed_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = LocalArchive::new(dir.path(), RetentionPolicy::default());
    for b in [
        RecordBuilder::new("DSAR-D", "DEFERRED").written_at("2026-11-22T09:00:00Z"),
        RecordBuilder::new("DSAR-E", "DEFERRED").written_at("2026-11-23T09:00:00Z"),
        RecordBuilder::new("DSAR-D-2", "COMPLETED")
            .written_at("2027-07-02T09:00:00Z")
            .resumes(Some("DSAR-D")),
    ] {
        archive
            .write(&Record::from_value(b.build()).expect("valid"))
            .await
            .expect("written");
    }

    let deferred = local(dir.path(), &["show", "DSAR-D"]);
    let open = local(dir.path(), &["show", "DSAR-E"]);
    let list = local(dir.path(), &["list"]);
    let follow_up = local(dir.path(), &["show", "DSAR-D-2"]);
    let report = local(dir.path(), &["report"]);

    assert_eq!(deferred.code, 0, "{}", deferred.stderr);
    assert!(
        deferred
            .stdout
            .contains("resumed by        DSAR-D-2 (COMPLETED)"),
        "{}",
        deferred.stdout
    );
    assert!(
        open.stdout
            .contains("resumed by        no follow-up ticket yet: the deferral is open"),
        "{}",
        open.stdout
    );
    assert!(
        follow_up
            .stdout
            .contains("resumes           the deferred ticket DSAR-D (a follow-up ticket)"),
        "{}",
        follow_up.stdout
    );
    let row = |ticket: &str| {
        list.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{ticket} ")))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        list.stdout
            .lines()
            .next()
            .unwrap_or_default()
            .ends_with("DIGEST               RESUMES  LOCK"),
        "{}",
        list.stdout
    );
    assert!(
        row("DSAR-D-2").ends_with("  DSAR-D   COMPLIANCE"),
        "{}",
        list.stdout
    );
    assert!(
        row("DSAR-D").ends_with("  -        COMPLIANCE"),
        "{}",
        list.stdout
    );
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert!(
        report.stdout.contains("Open deferrals as of"),
        "{}",
        report.stdout
    );
    assert!(
        report.stdout.contains("  DSAR-E  holds:"),
        "{}",
        report.stdout
    );
    assert!(
        !report.stdout.contains("  DSAR-D  holds:"),
        "{}",
        report.stdout
    );
    assert!(
        report
            .stdout
            .contains("DSAR-D  resumed by DSAR-D-2 (COMPLETED)"),
        "{}",
        report.stdout
    );
}

#[tokio::test]
async fn show_says_when_a_ticket_has_no_records_or_is_not_a_ticket_id() {
    let (dir, _) = sample_archive().await;

    let missing = local(dir.path(), &["show", "DSAR-NONE"]);
    let traversal = local(dir.path(), &["show", "../../etc"]);

    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("no records for ticket DSAR-NONE"),
        "{}",
        missing.stderr
    );
    assert_eq!(traversal.code, 2);
    assert!(
        traversal.stderr.contains("not a valid ticket id"),
        "{}",
        traversal.stderr
    );
}

#[tokio::test]
async fn verify_passes_a_clean_archive_and_fails_naming_each_problem() {
    let (dir, written) = sample_archive().await;

    let clean = local(dir.path(), &["verify"]);
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    assert!(clean.stdout.starts_with("OK "), "{}", clean.stdout);
    assert!(clean.stdout.contains("4 records of 3 tickets verified"));

    let strict = local(
        dir.path(),
        &[
            "verify",
            "--min-retention-years",
            "10",
            "--ticket",
            "DSAR-B",
        ],
    );
    assert_eq!(strict.code, 1);
    assert!(
        strict
            .stdout
            .contains(&format!("FAIL {}: retention:", written[2].1)),
        "{}",
        strict.stdout
    );

    // Change one record's bytes behind the archive's back.
    let path = dir.path().join(&written[1].1);
    let mut perms = fs::metadata(&path).expect("meta").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs::set_permissions(&path, perms).expect("chmod");
    let text = fs::read_to_string(&path).expect("read");
    fs::write(
        &path,
        text.replace("\"conversationsFound\":4", "\"conversationsFound\":3"),
    )
    .expect("tamper");

    let tampered = local(dir.path(), &["verify"]);
    assert_eq!(tampered.code, 1);
    let key = &written[1].1;
    assert!(
        tampered.stdout.contains(&format!(
            "FAIL {key}: digest: the bytes changed after writing"
        )),
        "{}",
        tampered.stdout
    );
    assert!(tampered.stdout.contains(&format!("FAIL {key}: checksum:")));
    assert!(
        tampered
            .stdout
            .contains(&format!("FAIL {key}: lock: the record file is writable"))
    );
    assert!(
        tampered
            .stdout
            .lines()
            .last()
            .expect("summary")
            .starts_with("FAILED ")
    );
}

#[tokio::test]
async fn report_prints_the_figures_and_writes_a_self_contained_page() {
    let (dir, _) = sample_archive().await;
    let html_path = dir.path().join("report.html");

    let run = local(
        dir.path(),
        &[
            "report",
            "--from",
            "2025-11-01",
            "--to",
            "2025-11-30",
            "--html",
            html_path.to_str().expect("utf-8"),
        ],
    );

    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("Period: 2025-11-01 to 2025-11-30"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Outcomes recorded:        3 (2 tickets)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("2 of 2 outcomes with a completion time (100.0%)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("median 13d 12h 00m, worst 24d 00h 00m"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Open deferrals as of 2025-11-30: 0"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("HTML report written to {}", html_path.display()))
    );
    let html = fs::read_to_string(&html_path).expect("html written");
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("<svg") && !html.contains("<script")
    );
    assert!(html.contains("<title>COMPLETED: 1</title>"));
}

#[test]
fn a_bad_archive_location_is_a_precise_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nowhere");

    let scheme = audit("ftp://host/x", &["list"], &[]);
    let bucket = audit("s3://Not_A_Bucket/x", &["list"], &[]);
    let absent = local(&missing, &["verify"]);

    assert_eq!(scheme.code, 2);
    assert!(
        scheme.stderr.contains("'ftp://' is not supported"),
        "{}",
        scheme.stderr
    );
    assert_eq!(bucket.code, 2);
    assert!(
        bucket.stderr.contains("not a valid S3 bucket name"),
        "{}",
        bucket.stderr
    );
    assert_eq!(absent.code, 2);
    assert!(absent.stderr.contains("no archive at"), "{}", absent.stderr);
}

#[tokio::test]
async fn verify_reads_an_s3_archive_through_the_standard_aws_environment() {
    let moto = MotoServer::start();
    let client = moto.s3_client();
    client
        .create_bucket()
        .bucket("records")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("bucket");
    let archive =
        S3Archive::new(client.clone(), S3Settings::new("records", "prod")).expect("archive");
    let r = Record::from_value(RecordBuilder::new("DSAR-A", "COMPLETED").build()).expect("valid");
    let key = archive.write(&r).await.expect("written").key;
    let env = moto.aws_env();
    let args = ["--endpoint-url", moto.endpoint()];

    let list = audit("s3://records/prod", &[&args[..], &["list"]].concat(), &env);
    let clean = audit(
        "s3://records/prod",
        &[&args[..], &["verify"]].concat(),
        &env,
    );
    // A record put straight into the bucket without a lock.
    let unlocked =
        Record::from_value(RecordBuilder::new("DSAR-B", "COMPLETED").build()).expect("valid");
    let unlocked_key = "prod/records/DSAR-B/20261122T114210.512Z-COMPLETED.json";
    client
        .put_object()
        .bucket("records")
        .key(unlocked_key)
        .body(unlocked.canonical_bytes().to_vec().into())
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .checksum_sha256(checksum_sha256_base64(unlocked.canonical_bytes()))
        .metadata("digest", unlocked.digest())
        .send()
        .await
        .expect("raw put");
    let dirty = audit(
        "s3://records/prod",
        &[&args[..], &["verify"]].concat(),
        &env,
    );

    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(
        list.stdout.contains("DSAR-A") && list.stdout.contains("1 records"),
        "{}",
        list.stdout
    );
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    assert!(
        clean.stdout.contains("OK s3://records/prod/: 1 records"),
        "{}",
        clean.stdout
    );
    assert_eq!(dirty.code, 1, "{}{}", dirty.stdout, dirty.stderr);
    assert!(
        dirty.stdout.contains(&format!(
            "FAIL {unlocked_key}: lock: the object has no lock"
        )),
        "{}",
        dirty.stdout
    );
    assert!(
        !dirty.stdout.contains(&format!("FAIL {key}")),
        "{}",
        dirty.stdout
    );
}
