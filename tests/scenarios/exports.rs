//! Exports as live orgs make them (live-tenants.md 3): ZIP archives behind the
//! downloads API, dropped after about a week, read with hard limits. Whatever goes
//! wrong with one, nothing is deleted and the ticket ends in one clear record.

use e2e::Harness;
use genesys_emulator::{ArchiveFault, Fault, FaultAction, RequestType};

use crate::{deletes_per_identifier, deletes_sent_once, exports_per_identifier, jobs};

/// A world whose exports keep their downloads two hours (a week on live orgs), where
/// the next `times` downloads answer a day late: past it, so the downloads API
/// answers 404 (the day also outlasts Review's task timeout: the definition retries
/// Review, and the retry meets the 404).
async fn world_expiring(times: u32) -> Harness {
    let h = Harness::builder()
        .download_ttl(std::time::Duration::from_secs(2 * 3600))
        .start()
        .await;
    h.emulator
        .add_fault(
            Fault::new(
                "GET",
                "/api/v2/downloads/*",
                FaultAction::Slow {
                    emulated_delay_ms: 24 * 3600 * 1000,
                    real_delay_ms: 0,
                },
            )
            .times(times),
        )
        .expect("a valid fault");
    h
}

#[tokio::test]
async fn an_expired_export_is_made_once_more_and_the_erasure_goes_on() {
    let h = world_expiring(1).await;
    let run = h.run("happy-path").await;
    let record = run.record();
    assert_eq!(run.outcome(), "COMPLETED", "{record:#}");
    // Every identifier's export made once more, under its own name.
    let again = exports_per_identifier(&h, "DSAR-2026-1001", record, true);
    assert_eq!(
        h.emulator.gdpr_submissions(RequestType::GdprExport),
        2 * again
    );
    assert_eq!(
        deletes_sent_once(&h),
        deletes_per_identifier(&h, "DSAR-2026-1001", record).len()
    );
    assert!(run.states().contains(&"ExportAgain".to_owned()));
    assert_eq!(record["counts"]["conversationsErased"], 3);
    // The service level is measured on the ticket's first Genesys call: the first
    // export's, not the fresh one's a week later.
    let first_export = (record["genesys"]["requests"].as_array().unwrap().iter())
        .filter(|r| r["requestType"] == "GDPR_EXPORT")
        .filter_map(|r| r["submittedAt"].as_str())
        .min()
        .expect("exports in the record")
        .to_owned();
    let first_call = record["clock"]["serviceLevel"]["genesysFirstCallAt"]
        .as_str()
        .expect("a first call");
    assert!(
        first_call <= first_export.as_str(),
        "{first_call} after the first export {first_export}"
    );
}

#[tokio::test]
async fn a_second_expiry_fails_the_ticket_clearly_and_deletes_nothing() {
    // Downloads gone a second after the export completed: the fresh export's too.
    let h = Harness::builder()
        .download_ttl(std::time::Duration::from_secs(1))
        .start()
        .await;
    let before = h.conversation_ids();
    let run = h.run("happy-path").await;
    let record = run.record();
    assert_eq!(run.outcome(), "FAILED", "{record:#}");
    assert_eq!(record["failure"]["error"], "GenesysDownloadExpired");
    assert_eq!(record["failure"]["stage"], "Review");
    let again = exports_per_identifier(&h, "DSAR-2026-1001", record, true);
    assert_eq!(
        h.emulator.gdpr_submissions(RequestType::GdprExport),
        2 * again
    );
    assert!(jobs(&h, RequestType::GdprDelete).is_empty());
    assert_eq!(h.conversation_ids(), before);
}

#[tokio::test]
async fn a_malformed_or_hostile_archive_is_a_clear_failure_and_nothing_is_deleted() {
    for fault in [
        ArchiveFault::Malformed,
        ArchiveFault::HostileNames,
        ArchiveFault::ZipBomb {
            uncompressed_bytes: 64 << 20,
        },
    ] {
        let h = Harness::builder().start().await;
        let before = h.conversation_ids();
        h.emulator.set_archive_fault(Some(fault));
        let run = h.run("happy-path").await;
        let record = run.record();
        assert_eq!(run.outcome(), "FAILED", "{fault:?}: {record:#}");
        assert_eq!(
            record["failure"]["error"], "GenesysExportArchiveInvalid",
            "{fault:?}"
        );
        assert_eq!(record["failure"]["stage"], "Review");
        assert!(jobs(&h, RequestType::GdprDelete).is_empty(), "{fault:?}");
        assert_eq!(h.conversation_ids(), before, "{fault:?}");
    }
}
