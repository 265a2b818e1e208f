//! Records are locked for years: whatever the record gains, every record an earlier
//! version wrote must still verify. `tests/fixtures/archives/<version>` holds archives
//! written by earlier versions (their `make demo`, byte for byte); add one per release
//! that changes the record, never edit one.

use std::fs;
use std::path::{Path, PathBuf};

use archive::verify::{VerifyOptions, verify};
use archive::{LocalArchive, Record, RetentionPolicy};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/archives")
}

/// Git keeps no read-only bit; the local archive's lock is one, so restore it on a copy.
fn locked_copy(from: &Path, to: &Path) -> usize {
    let mut files = 0;
    for entry in fs::read_dir(from).expect("fixture dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            fs::create_dir_all(&target).expect("mkdir");
            files += locked_copy(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
            let mut perms = fs::metadata(&target).expect("meta").permissions();
            perms.set_readonly(true);
            fs::set_permissions(&target, perms).expect("chmod");
            files += 1;
        }
    }
    files
}

#[tokio::test]
async fn every_archive_written_by_an_earlier_version_still_verifies() {
    let mut versions = 0;
    for version in fs::read_dir(fixtures()).expect("fixtures") {
        let version = version.expect("entry").path();
        if !version.is_dir() {
            continue; // the README
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let files = locked_copy(&version, dir.path());
        assert!(files > 0, "{} is empty", version.display());
        let archive = LocalArchive::new(dir.path(), RetentionPolicy::default());
        let report = verify(&archive, &VerifyOptions::default())
            .await
            .expect("readable");
        assert!(
            report.passed(),
            "{}: {}",
            version.display(),
            report.to_text()
        );
        assert!(report.records_checked >= 8, "{}", report.to_text());
        if version.join("verifications").is_dir() {
            assert!(report.verifications_checked >= 18, "{}", report.to_text());
        }
        versions += 1;
    }
    assert!(
        versions >= 1,
        "no earlier archive under {}",
        fixtures().display()
    );
}

/// Each earlier record also loads through the record type the current code writes
/// (its schema and its struct), so a reader of old records never needs old code.
#[test]
fn every_earlier_record_parses_as_a_current_record() {
    let (mut records, mut verifications) = (0, 0);
    let mut stack = vec![fixtures()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let value = serde_json::from_slice(&fs::read(&path).expect("read"))
                    .expect("fixture is JSON");
                // Checks after the record are verification records, read as such.
                if path.components().any(|c| c.as_os_str() == "verifications") {
                    archive::Verification::from_value(value)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    verifications += 1;
                    continue;
                }
                Record::from_value(value).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                records += 1;
            }
        }
    }
    assert!(records >= 8, "found {records} earlier records");
    assert!(
        verifications >= 18,
        "found {verifications} earlier verifications"
    );
}
