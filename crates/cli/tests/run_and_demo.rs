//! `gdpr-erasure run` and `gdpr-erasure demo` as people run them: the binary, the
//! in-process emulator, a local archive in a temporary directory.

use std::path::Path;
use std::process::{Command, Stdio};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn gdpr_erasure(dir: &Path, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_gdpr-erasure"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn fixture(name: &str) -> String {
    format!(
        "{}/../../tests/fixtures/tickets/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn run_prints_the_timeline_and_the_record_and_exits_by_outcome() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = gdpr_erasure(
        dir.path(),
        &[
            "run",
            "--ticket",
            &fixture("recycled-number.json"),
            "--decision",
            "approve",
            "--archive",
            "records",
        ],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for expected in [
        "Timeline",
        "PollExport",
        "waited 10 s",
        "genesys: POST /api/v2/gdpr/requests 202",
        "AwaitDecision            DPO: approve",
        "Outcome   COMPLETED",
        "Record    records/records/DSAR-2026-1002/",
        "Digest    sha256:",
    ] {
        assert!(
            out.stdout.contains(expected),
            "{expected:?} missing from\n{}",
            out.stdout
        );
    }
    // The key lives beside the archive, never in it.
    assert!(dir.path().join("records.pseudonym-key.json").is_file());
    // No identifier of the subject in what the command prints.
    for leak in ["Declan", "declan.murphy", "+353861234567", "86 123 4567"] {
        assert!(
            !out.stdout.contains(leak) && !out.stderr.contains(leak),
            "{leak}"
        );
    }

    // The same ticket again, against the archive that holds its record: a repeat,
    // answered with the existing outcome; nothing runs, Genesys is never called.
    let digest = out
        .stdout
        .lines()
        .find(|l| l.starts_with("Digest"))
        .expect("a digest line")
        .to_owned();
    let again = gdpr_erasure(
        dir.path(),
        &[
            "run",
            "--ticket",
            &fixture("recycled-number.json"),
            "--decision",
            "reject",
            "--archive",
            "records",
        ],
    );
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(
        again
            .stdout
            .contains("Repeat    ticket DSAR-2026-1002 already ran"),
        "{}",
        again.stdout
    );
    assert!(
        again.stdout.contains("Outcome   COMPLETED"),
        "{}",
        again.stdout
    );
    assert!(again.stdout.contains(&digest), "{}", again.stdout);
    assert!(!again.stdout.contains("genesys:"), "{}", again.stdout);

    // A reviewer who rejects (another archive): REJECTED (12), nothing deleted.
    let out = gdpr_erasure(
        dir.path(),
        &[
            "run",
            "--ticket",
            &fixture("recycled-number.json"),
            "--decision",
            "reject",
            "--archive",
            "records-2",
        ],
    );
    assert_eq!(out.code, 12, "{}", out.stdout);
    assert!(
        !out.stdout
            .contains("POST /api/v2/gdpr/requests 202\n              genesys: GET")
    );
}

#[test]
fn a_review_nobody_can_answer_is_recorded_as_failed_not_guessed() {
    let dir = tempfile::tempdir().expect("tempdir");
    // stdin is not a terminal: `ask` cannot ask.
    let out = gdpr_erasure(
        dir.path(),
        &["run", "--ticket", &fixture("active-agent.json")],
    );
    assert_eq!(out.code, 13, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("Outcome   FAILED"));
}

#[test]
fn malformed_json_ends_in_a_rejected_record_named_after_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("DSAR-77.json"), "{ not json").expect("written");
    let out = gdpr_erasure(dir.path(), &["run", "--ticket", "DSAR-77.json"]);
    assert_eq!(out.code, 12, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("ticket DSAR-77"));
    assert!(out.stdout.contains("Outcome   REJECTED"));
    assert!(!out.stdout.contains("genesys:"), "Genesys is never called");
}

#[test]
fn a_ticket_with_a_key_given_twice_ends_in_a_rejected_record_that_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(fixture("happy-path.json")).expect("fixture");
    let ticket: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let twice = format!(
        "{}, \"subject\": {{\"name\": \"Somebody Else\"}}}}",
        ticket.to_string().strip_suffix('}').expect("object")
    );
    std::fs::write(dir.path().join("DSAR-78.json"), twice).expect("written");
    let out = gdpr_erasure(
        dir.path(),
        &["run", "--ticket", "DSAR-78.json", "--archive", "records"],
    );
    assert_eq!(out.code, 12, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("ticket DSAR-78"), "{}", out.stdout);
    assert!(out.stdout.contains("Outcome   REJECTED"));
    assert!(!out.stdout.contains("genesys:"), "Genesys is never called");
    let records = dir.path().join("records/records/DSAR-78");
    let record = std::fs::read_dir(&records)
        .expect("the ticket's records")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("a record");
    let record = std::fs::read_to_string(record).expect("read");
    assert!(record.contains("duplicate-key"), "{record}");
    assert!(!record.contains("Somebody") && !record.contains("happy"));
}

#[test]
fn bad_configuration_is_a_precise_error_with_exit_code_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("c.json"), r#"{"timeZone": "Mars/Olympus"}"#).expect("written");
    let out = gdpr_erasure(
        dir.path(),
        &[
            "run",
            "--ticket",
            &fixture("happy-path.json"),
            "--config",
            "c.json",
        ],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("timeZone"), "{}", out.stderr);
    let out = gdpr_erasure(dir.path(), &["run", "--ticket", "missing.json"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("missing.json"));
    let out = gdpr_erasure(
        dir.path(),
        &[
            "run",
            "--ticket",
            &fixture("happy-path.json"),
            "--archive",
            "s3://bucket/p",
        ],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("pseudonymKeyFile"), "{}", out.stderr);
}

#[test]
fn the_demo_runs_every_scenario_and_verifies_the_archive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = gdpr_erasure(dir.path(), &["demo"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for expected in [
        "COMPLETED",
        "DEFERRED",
        "PARTIAL",
        "REJECTED",
        "audit --archive demo-archive verify",
        "OK demo-archive: 8 records of 8 tickets",
        // Each erasure checked again after its record, each check locked.
        "DSAR-2026-1001   day 1: CLEAN, day 7: CLEAN, day 15: CLEAN",
        "18 verification records",
        // The day's checkpoint, then verified.
        "manifest written: manifests/checkpoints/",
        "1 manifests, their entries present",
    ] {
        assert!(
            out.stdout.contains(expected),
            "{expected:?} missing from\n{}",
            out.stdout
        );
    }
    // The certificates of a COMPLETED and a DEFERRED ticket: the facts of the record
    // and of its checks, every document's digest, and nothing personal.
    let verify = gdpr_erasure(
        dir.path(),
        &[
            "audit",
            "--archive",
            "demo-archive",
            "show",
            "DSAR-2026-1003",
            "--json",
        ],
    );
    let shown: serde_json::Value = serde_json::from_str(&verify.stdout).expect("JSON records");
    for (ticket, outcome) in [
        ("DSAR-2026-1001", "COMPLETED"),
        ("DSAR-2026-1003", "DEFERRED"),
    ] {
        let cert = gdpr_erasure(
            dir.path(),
            &["audit", "--archive", "demo-archive", "certificate", ticket],
        );
        assert_eq!(cert.code, 0, "{}", cert.stderr);
        let text = &cert.stdout;
        for expected in [
            format!("Certificate of erasure: ticket {ticket}"),
            format!("Outcome {outcome} (record 1 of the ticket"),
            "Check 1 of 3".to_owned(),
            "Check 3 of 3".to_owned(),
            "CLEAN".to_owned(),
            ": met.".to_owned(),
            format!("verifications/{ticket}/"),
        ] {
            assert!(
                text.contains(&expected),
                "{expected:?} missing from
{text}"
            );
        }
        for personal in ["Liam", "Walsh", "Grace", "O'Connor", "@", "+353"] {
            assert!(
                !text.contains(personal),
                "{personal:?} in
{text}"
            );
        }
    }
    let deferred = gdpr_erasure(
        dir.path(),
        &[
            "audit",
            "--archive",
            "demo-archive",
            "certificate",
            "DSAR-2026-1003",
            "--html",
        ],
    )
    .stdout;
    assert!(deferred.starts_with("<!DOCTYPE html>"));
    assert!(deferred.contains("LEGAL_HOLD LH-2026-014 until 2027-06-30 (Art. 17(3)(e))"));
    assert!(deferred.contains("resumes on 2027-07-01"));
    // The record's digest (its canonical bytes' SHA-256) is in the certificate.
    let record = archive::Record::from_value(shown[0].clone()).expect("a record");
    assert!(
        deferred.contains(record.digest()),
        "{} not in the certificate",
        record.digest()
    );

    // The PARTIAL ticket's escalation closed by a person with a support case: an
    // annotation; free text as the reference is refused and writes nothing.
    let show = gdpr_erasure(
        dir.path(),
        &[
            "audit",
            "--archive",
            "demo-archive",
            "show",
            "DSAR-2026-1004",
            "--json",
        ],
    );
    let partial: serde_json::Value = serde_json::from_str(&show.stdout).expect("JSON");
    let document = format!(
        "records/DSAR-2026-1004/{}",
        std::fs::read_dir(dir.path().join("demo-archive/records/DSAR-2026-1004"))
            .expect("the ticket's folder")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .find(|n| n.ends_with(".json"))
            .expect("its record")
    );
    assert!(
        partial[0]["escalations"]
            .as_array()
            .is_some_and(|e| !e.is_empty())
    );
    let annotate = |case: &str| {
        gdpr_erasure(
            dir.path(),
            &[
                "audit",
                "--archive",
                "demo-archive",
                "annotate",
                "DSAR-2026-1004",
                "--document",
                &document,
                "--resolution",
                "erased-by-hand",
                "--support-case",
                case,
                "--by",
                "maeve.brennan@brightwater.example",
            ],
        )
    };
    let refused = annotate("called Genesys on Tuesday");
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("support case must be a reference"),
        "{}",
        refused.stderr
    );
    let closed = annotate("GEN-CASE-0042187");
    assert_eq!(closed.code, 0, "{}", closed.stderr);
    assert!(
        closed
            .stdout
            .starts_with("annotation written: annotations/DSAR-2026-1004/")
    );
    let cert = gdpr_erasure(
        dir.path(),
        &[
            "audit",
            "--archive",
            "demo-archive",
            "certificate",
            "DSAR-2026-1004",
        ],
    );
    assert!(
        cert.stdout
            .contains("erased-by-hand, case GEN-CASE-0042187"),
        "{}",
        cert.stdout
    );
    assert!(
        !cert.stdout.contains("maeve"),
        "who decided is a keyed hash"
    );
    let shown = gdpr_erasure(
        dir.path(),
        &[
            "audit",
            "--archive",
            "demo-archive",
            "show",
            "DSAR-2026-1004",
        ],
    );
    for expected in [
        "After the records",
        "check 3 of 3  CLEAN",
        "annotation  closes per-conversation-erasure of records/DSAR-2026-1004/",
    ] {
        assert!(
            shown.stdout.contains(expected),
            "{expected:?} in\n{}",
            shown.stdout
        );
    }
    let checked = gdpr_erasure(
        dir.path(),
        &["audit", "--archive", "demo-archive", "checkpoint"],
    );
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    let verified = gdpr_erasure(
        dir.path(),
        &["audit", "--archive", "demo-archive", "verify"],
    );
    assert_eq!(verified.code, 0, "{}", verified.stdout);
    assert!(
        verified.stdout.contains("1 annotations"),
        "{}",
        verified.stdout
    );

    // Again on the same archive: the chains grow, the archive still verifies.
    let again = gdpr_erasure(dir.path(), &["demo"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
    assert!(
        again.stdout.contains("16 records of 8 tickets")
            && again.stdout.contains("36 verification records"),
        "{}",
        again.stdout
    );
    // The second run's tickets met the same dates: the same outcomes, in time.
    assert!(
        again
            .stdout
            .contains("DSAR-2026-1003   legal hold           DEFERRED"),
        "{}",
        again.stdout
    );
}
