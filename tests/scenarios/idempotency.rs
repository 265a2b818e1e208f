use e2e::Harness;
use genesys_emulator::RequestType;

use crate::{deletes_per_identifier, deletes_sent_once, exports_per_identifier};

#[tokio::test]
async fn running_the_same_ticket_twice_submits_no_second_gdpr_request_of_either_kind() {
    let h = Harness::builder().start().await;
    // Without the checks after the record, so the rerun comes days, not weeks, later
    // (an export is reused for six days; after that one is made again, harmlessly).
    let first = h
        .run_on(
            &h.pipeline_with(|d| d.verify.later_checks.clear()),
            "DSAR-2026-1001",
            e2e::ticket("happy-path"),
        )
        .await;
    assert_eq!(first.outcome(), "COMPLETED");
    let first_digest = first
        .outcome
        .record
        .as_ref()
        .expect("a receipt")
        .digest
        .clone();

    // The same ticket again (a repeated webhook reaching a new execution).
    let second = h
        .run_on(
            &h.another_pipeline(),
            "DSAR-2026-1001",
            e2e::ticket("happy-path"),
        )
        .await;
    let record = second.record();
    assert_eq!(second.outcome(), "COMPLETED", "{record:#}");
    assert_eq!(
        h.emulator.gdpr_submissions(RequestType::GdprExport),
        exports_per_identifier(&h, "DSAR-2026-1001", record, false)
    );
    assert_eq!(
        deletes_sent_once(&h),
        deletes_per_identifier(&h, "DSAR-2026-1001", record).len()
    );
    for r in record["genesys"]["requests"].as_array().expect("requests") {
        assert_eq!(r["reused"], true, "{r}");
    }
    // The second record extends the ticket's chain.
    assert_eq!(record["sequence"], 2);
    assert_eq!(record["previousDigest"], first_digest.as_str());
    assert_eq!(h.records_of("DSAR-2026-1001").await.len(), 2);
}
