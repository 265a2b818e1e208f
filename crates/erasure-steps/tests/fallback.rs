//! A record the archive refuses is not lost: WriteRecord keeps its bytes in the
//! fallback, and replaying them writes a record `audit verify` passes.

use std::sync::Arc;

use archive::fallback::{Fallback, LocalFallback, replay};
use archive::verify::{VerifyOptions, verify};
use archive::{
    Archive, ArchiveError, LocalArchive, ObjectEntry, Receipt, Record, RetentionPolicy,
    StoredObject,
};
use async_trait::async_trait;
use erasure_steps::write_record;
use serde_json::json;

/// The real local archive, whose writes are refused (as a put is when the bucket's
/// policy or lock configuration is wrong): the one failure this test forces.
struct RefusingWrites(LocalArchive);

#[async_trait]
impl Archive for RefusingWrites {
    fn location(&self) -> String {
        self.0.location()
    }
    fn retention(&self) -> RetentionPolicy {
        self.0.retention()
    }
    async fn write(&self, _: &Record) -> Result<Receipt, ArchiveError> {
        Err(ArchiveError::ArchiveRefused {
            operation: "PutObject".into(),
            detail: "AccessDenied".into(),
        })
    }
    async fn list(&self, ticket_id: Option<&str>) -> Result<Vec<ObjectEntry>, ArchiveError> {
        self.0.list(ticket_id).await
    }
    async fn read(&self, entry: &ObjectEntry) -> Result<StoredObject, ArchiveError> {
        self.0.read(entry).await
    }
}

fn rejected_state() -> serde_json::Value {
    // The state of a ticket Intake refused, as WriteRecord receives it.
    json!({
        "ticket": {"id": "DSAR-31"},
        "valid": false,
        "rejection": {"reasons": [{"field": "ticket", "code": "invalid-json",
            "message": "the ticket is not JSON"}]},
        "execution": {"id": "arn:aws:states:eu-west-1:123456789012:execution:gdpr-erasure:DSAR-31",
            "name": "DSAR-31"},
        "writtenAt": "2026-11-23T09:00:00.123Z"
    })
}

#[tokio::test]
async fn a_forced_write_failure_leaves_replayable_bytes_that_verify_once_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let archive_dir = dir.path().join("records");
    let fallback_dir = dir.path().join("records.fallback");
    std::fs::create_dir_all(&archive_dir).unwrap();
    let fallback = Arc::new(LocalFallback::new(&fallback_dir));
    let refusing = write_record::Deps {
        archive: Arc::new(RefusingWrites(LocalArchive::new(
            &archive_dir,
            RetentionPolicy::default(),
        ))),
        fallback: Some(fallback.clone()),
        pipeline_version: "test".into(),
        definition_digest: None,
        letters: None,
        pseudonymiser: None,
    };
    let input = || serde_json::from_value(rejected_state()).expect("a WriteRecord input");

    // Every attempt fails (Step Functions retries, then gives up): one copy is kept.
    for _ in 0..2 {
        let e = write_record::handle(&refusing, input()).await.unwrap_err();
        assert_eq!(e.name(), "ArchiveRefused", "{e}");
    }
    let kept = fallback.names().await.unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].starts_with("DSAR-31/"), "{kept:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(fallback_dir.join(&kept[0]))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "only the owner reads the fallback");
    }

    // The operator replays into the archive: written, locked, and it verifies.
    let archive = LocalArchive::new(&archive_dir, RetentionPolicy::default());
    let replayed = replay(fallback.as_ref(), &archive).await.unwrap();
    assert_eq!(replayed.len(), 1);
    let receipt = replayed[0].result.as_ref().expect("replayed");
    assert!(!receipt.already_present);
    assert!(receipt.key.contains("DSAR-31"), "{}", receipt.key);
    let report = verify(
        &archive,
        &VerifyOptions {
            min_retention: RetentionPolicy::default(),
            ticket_id: None,
        },
    )
    .await
    .unwrap();
    assert!(report.passed(), "{}", report.to_text());
    let head = archive
        .chain_head("DSAR-31")
        .await
        .unwrap()
        .expect("a record");
    assert_eq!(head.digest, receipt.digest);
    assert_eq!(
        head.digest.trim_start_matches("sha256:"),
        kept[0]
            .trim_start_matches("DSAR-31/")
            .trim_end_matches(".json")
    );

    // Replaying again writes nothing twice.
    let again = replay(fallback.as_ref(), &archive).await.unwrap();
    assert!(again[0].result.as_ref().unwrap().already_present);

    // Bytes changed in the fallback are refused, never written.
    std::fs::write(fallback_dir.join(&kept[0]), br#"{"not": "the record"}"#).unwrap();
    let tampered = replay(fallback.as_ref(), &archive).await.unwrap();
    assert!(tampered[0].result.is_err());
}
