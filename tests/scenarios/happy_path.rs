use std::collections::BTreeSet;

use aws_sdk_s3::types::ObjectLockMode;
use e2e::{ArchiveChoice, Harness};
use genesys_emulator::RequestType;

use crate::{deletes_per_identifier, exports_per_identifier, identifier, jobs};

#[tokio::test]
async fn happy_path_erases_the_subjects_conversations_and_recordings_and_nobody_elses() {
    let h = Harness::builder().start().await;
    let before = h.conversation_ids();
    let recordings_before = h.live_recording_ids();
    let liam: BTreeSet<String> = Harness::persona_conversations("happy-path")
        .into_iter()
        .collect();
    let liam_recordings: BTreeSet<String> = h
        .emulator
        .recordings()
        .into_iter()
        .filter(|(c, _)| liam.contains(c))
        .map(|(_, r)| r.id)
        .collect();
    assert_eq!(liam.len(), 3);
    assert_eq!(liam_recordings.len(), 4);

    let run = h.run("happy-path").await;
    let record = run.record();
    assert_eq!(run.outcome(), "COMPLETED", "{record:#}");

    // Exactly his conversations and recordings are gone; everyone else's remain,
    // his namesake's included.
    let after = h.conversation_ids();
    assert_eq!(
        before.difference(&after).cloned().collect::<BTreeSet<_>>(),
        liam
    );
    let recordings_after = h.live_recording_ids();
    assert_eq!(
        recordings_before
            .difference(&recordings_after)
            .cloned()
            .collect::<BTreeSet<_>>(),
        liam_recordings
    );

    assert_eq!(record["counts"]["conversationsErased"], 3);
    assert_eq!(record["counts"]["recordingsPurged"], 4);
    assert_eq!(record["gaps"], serde_json::json!([]));
    // One export per identifier searched; one delete per cleared identifier; never
    // by name.
    assert_eq!(
        exports_per_identifier(&h, "DSAR-2026-1001", record, false),
        jobs(&h, RequestType::GdprExport).len()
    );
    let deletes = deletes_per_identifier(&h, "DSAR-2026-1001", record);
    assert_eq!(deletes.len(), jobs(&h, RequestType::GdprDelete).len());
    assert_eq!(identifier(record, "name")["usage"], "not-searched");
    assert_eq!(identifier(record, "phone")["usage"], "searched-and-erased");
    // Every downstream system acknowledged, with its reference kept.
    let downstream = record["downstream"].as_array().expect("a list");
    assert_eq!(downstream.len(), 2);
    assert!(
        downstream
            .iter()
            .all(|d| d["status"] == "ACKNOWLEDGED" && d["reference"].is_string())
    );
    assert!(h.receiver.received().iter().all(|r| r.signature_valid));
    assert_eq!(record["clock"]["withinDeadline"], true);
    assert_eq!(
        h.reports.reports().len(),
        1,
        "the ticket is told the outcome"
    );
}

#[tokio::test]
async fn happy_path_record_lands_in_an_object_locked_s3_archive() {
    let moto = testkit::MotoServer::start();
    let s3 = moto.s3_client();
    let h = Harness::builder()
        .archive(ArchiveChoice::S3(moto))
        .start()
        .await;
    let run = h.run("happy-path").await;
    assert_eq!(run.outcome(), "COMPLETED");
    let receipt = run.outcome.record.as_ref().expect("a receipt");
    assert!(
        receipt.key.starts_with("prod/records/DSAR-2026-1001/"),
        "{}",
        receipt.key
    );
    assert!(receipt.version_id.is_some());
    let head = s3
        .head_object()
        .bucket("e2e-records")
        .key(&receipt.key)
        .send()
        .await
        .expect("the record is in the bucket");
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));
    assert_eq!(
        h.archive
            .chain_head("DSAR-2026-1001")
            .await
            .expect("head")
            .map(|h| h.digest),
        Some(receipt.digest.clone())
    );
}
