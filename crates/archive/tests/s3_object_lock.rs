//! The S3 backend against moto's S3 server (`$MOTO_SERVER`, from `make tools`).
//!
//! moto enforces what these tests rely on: refusal to delete a locked version,
//! `If-None-Match: *`, and the lock mode and date reported by HeadObject. It does not
//! implement GetObjectRetention, nor refuse a shortened retention, nor check the
//! SHA-256 value sent with a PutObject; nothing here depends on those.

use archive::verify::{Check, VerifyOptions, verify};
use archive::{
    Archive, Record, RetentionPolicy, S3Archive, S3Settings, ServerSideEncryption,
    canonical::checksum_sha256_base64,
};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, DateTime as SmithyDateTime};
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ObjectLockMode};
use chrono::{DateTime, Utc};
use serde_json::json;
use testkit::{MotoServer, RecordBuilder};

async fn locked_bucket(client: &Client, bucket: &str) {
    client
        .create_bucket()
        .bucket(bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("create locked bucket");
}

fn archive(client: &Client, bucket: &str) -> S3Archive {
    S3Archive::new(client.clone(), S3Settings::new(bucket, "gdpr/")).expect("archive")
}

fn record(ticket: &str) -> Record {
    Record::from_value(RecordBuilder::new(ticket, "COMPLETED").build()).expect("valid record")
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("date")
}

async fn version_count(client: &Client, bucket: &str) -> usize {
    let out = client
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .expect("list versions");
    out.versions().len() + out.delete_markers().len()
}

#[tokio::test]
async fn record_is_written_in_compliance_mode_until_the_retention_date() {
    let moto = MotoServer::start();
    let client = moto.s3_client();
    locked_bucket(&client, "records").await;
    let archive = archive(&client, "records");
    let r = record("DSAR-2026-0042");

    let receipt = archive.write(&r).await.expect("written");

    assert_eq!(
        receipt.key,
        "gdpr/records/DSAR-2026-0042/20261122T114210.512Z-COMPLETED.json"
    );
    assert!(!receipt.already_present);
    assert_eq!(receipt.digest, r.digest());
    assert_eq!(receipt.retain_until, at("2033-11-22T11:42:10.512Z"));
    let head = client
        .head_object()
        .bucket("records")
        .key(&receipt.key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("head");
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));
    let until = head.object_lock_retain_until_date().expect("retain-until");
    assert_eq!(until.secs(), at("2033-11-22T11:42:10Z").timestamp());
    assert_eq!(head.version_id(), receipt.version_id.as_deref());
    assert_eq!(head.content_type(), Some("application/json"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("digest"))
            .map(String::as_str),
        Some(r.digest())
    );
    assert_eq!(
        head.checksum_sha256(),
        Some(checksum_sha256_base64(r.canonical_bytes()).as_str())
    );
    let body = client
        .get_object()
        .bucket("records")
        .key(&receipt.key)
        .send()
        .await
        .expect("get")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes();
    assert_eq!(&body[..], r.canonical_bytes());
}

#[tokio::test]
async fn deleting_the_locked_version_is_refused() {
    let moto = MotoServer::start();
    let client = moto.s3_client();
    locked_bucket(&client, "records").await;
    let receipt = archive(&client, "records")
        .write(&record("DSAR-2026-0042"))
        .await
        .expect("written");

    let err = client
        .delete_object()
        .bucket("records")
        .key(&receipt.key)
        .set_version_id(receipt.version_id.clone())
        .send()
        .await
        .expect_err("a COMPLIANCE-locked version cannot be deleted");

    use aws_sdk_s3::error::ProvideErrorMetadata as _;
    assert_eq!(err.code(), Some("AccessDenied"));
    client
        .head_object()
        .bucket("records")
        .key(&receipt.key)
        .set_version_id(receipt.version_id)
        .send()
        .await
        .expect("the record is still there");
}

#[tokio::test]
async fn a_different_document_at_the_same_key_is_a_conflict() {
    let moto = MotoServer::start();
    let client = moto.s3_client();
    locked_bucket(&client, "records").await;
    let archive = archive(&client, "records");
    let first = record("DSAR-2026-0042");
    archive.write(&first).await.expect("written");
    // Same ticket, writtenAt and outcome (so the same key), different content.
    let other = Record::from_value(
        RecordBuilder::new("DSAR-2026-0042", "COMPLETED")
            .set("/counts/conversationsFound", json!(5))
            .build(),
    )
    .expect("valid");

    let err = archive.write(&other).await.expect_err("conflict");

    assert_eq!(err.name(), "ArchiveConflict");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains(first.digest()), "{err}");
    assert_eq!(version_count(&client, "records").await, 1);
}

#[tokio::test]
async fn the_store_itself_refuses_a_second_write_to_a_record_key() {
    // If-None-Match is what stops a second writer racing past the archive's own
    // check; moto enforces it like S3.
    let moto = MotoServer::start();
    let client = moto.s3_client();
    locked_bucket(&client, "records").await;
    let receipt = archive(&client, "records")
        .write(&record("DSAR-2026-0042"))
        .await
        .expect("written");

    let err = client
        .put_object()
        .bucket("records")
        .key(&receipt.key)
        .body(ByteStream::from_static(b"{}"))
        .if_none_match("*")
        .send()
        .await
        .expect_err("precondition");

    use aws_sdk_s3::error::ProvideErrorMetadata as _;
    assert_eq!(err.code(), Some("PreconditionFailed"));
    assert_eq!(version_count(&client, "records").await, 1);
}

#[tokio::test]
async fn a_retried_identical_write_is_answered_with_the_first_receipt() {
    let moto = MotoServer::start();
    let client = moto.s3_client();
    locked_bucket(&client, "records").await;
    let archive = archive(&client, "records");
    let r = record("DSAR-2026-0042");
    let first = archive.write(&r).await.expect("written");

    let again = archive.write(&r).await.expect("idempotent");

    assert!(again.already_present);
    assert_eq!(again.key, first.key);
    assert_eq!(again.version_id, first.version_id);
    assert_eq!(again.digest, first.digest);
    assert_eq!(version_count(&client, "records").await, 1);
}

#[tokio::test]
async fn a_delete_marker_neither_hides_a_record_nor_lets_it_be_written_twice() {
    let moto = MotoServer::start();
    let client = moto.s3_client();
    locked_bucket(&client, "records").await;
    let archive = archive(&client, "records");
    let r = record("DSAR-2026-0042");
    let first = archive.write(&r).await.expect("written");
    // A plain DELETE on a versioned bucket succeeds: it stacks a delete marker.
    client
        .delete_object()
        .bucket("records")
        .key(&first.key)
        .send()
        .await
        .expect("delete marker");

    let again = archive.write(&r).await.expect("idempotent");
    let head = archive.chain_head("DSAR-2026-0042").await.expect("head");
    let report = verify(&archive, &VerifyOptions::default())
        .await
        .expect("verify");

    assert!(again.already_present);
    assert_eq!(again.version_id, first.version_id);
    assert_eq!(head.map(|h| h.digest), Some(r.digest().to_owned()));
    assert_eq!(report.findings.len(), 1, "{}", report.to_text());
    assert_eq!(report.findings[0].key, first.key);
    assert_eq!(report.findings[0].check, Check::Layout);
    assert!(report.findings[0].detail.contains("delete marker"));
}

#[tokio::test]
async fn a_bucket_without_object_lock_is_refused_before_anything_is_written() {
    let moto = MotoServer::start();
    let client = moto.s3_client();
    client
        .create_bucket()
        .bucket("plain")
        .send()
        .await
        .expect("create bucket");
    let archive = archive(&client, "plain");

    let err = archive
        .write(&record("DSAR-2026-0042"))
        .await
        .expect_err("refused");

    assert_eq!(err.name(), "ArchiveNotLocked");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("plain"), "{err}");
    let listed = client
        .list_objects_v2()
        .bucket("plain")
        .send()
        .await
        .expect("list");
    assert_eq!(listed.key_count(), Some(0));
    assert!(listed.contents().is_empty());
    let report = verify(&archive, &VerifyOptions::default())
        .await
        .expect("verify");
    assert!(!report.passed());
    assert_eq!(report.findings[0].check, Check::Store);
}

#[tokio::test]
async fn a_missing_bucket_is_a_configuration_error() {
    let moto = MotoServer::start();
    let err = archive(&moto.s3_client(), "nowhere")
        .write(&record("DSAR-2026-0042"))
        .await
        .expect_err("no bucket");
    assert_eq!(err.name(), "ArchiveMisconfigured");
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");
}

#[tokio::test]
async fn records_chain_and_a_broken_link_is_refused() {
    let moto = MotoServer::start();
    let client = moto.s3_client();
    locked_bucket(&client, "records").await;
    let archive = archive(&client, "records");
    let first = Record::from_value(
        RecordBuilder::new("DSAR-2026-0042", "DEFERRED")
            .written_at("2026-11-22T11:42:10.512Z")
            .build(),
    )
    .expect("valid");
    archive.write(&first).await.expect("first");
    let head = archive
        .chain_head("DSAR-2026-0042")
        .await
        .expect("head")
        .expect("some");
    assert_eq!((head.sequence, head.digest.as_str()), (1, first.digest()));

    let wrong = Record::from_value(
        RecordBuilder::new("DSAR-2026-0042", "COMPLETED")
            .written_at("2027-07-01T09:00:00Z")
            .sequence(2, Some(&format!("sha256:{}", "0".repeat(64))))
            .build(),
    )
    .expect("valid");
    let err = archive.write(&wrong).await.expect_err("mismatch");
    assert_eq!(err.name(), "ChainMismatch");
    assert!(err.to_string().contains(first.digest()), "{err}");

    let second = Record::from_value(
        RecordBuilder::new("DSAR-2026-0042", "COMPLETED")
            .written_at("2027-07-01T09:00:00Z")
            .sequence(2, Some(first.digest()))
            .build(),
    )
    .expect("valid");
    archive.write(&second).await.expect("second");
    let head = archive
        .chain_head("DSAR-2026-0042")
        .await
        .expect("head")
        .expect("some");
    assert_eq!((head.sequence, head.digest.as_str()), (2, second.digest()));
}

#[tokio::test]
async fn server_side_encryption_settings_reach_the_store() {
    let moto = MotoServer::start();
    let client = moto.s3_client();
    locked_bucket(&client, "records").await;
    let mut settings = S3Settings::new("records", "");
    settings.encryption = ServerSideEncryption::S3;
    let archive = S3Archive::new(client.clone(), settings).expect("archive");
    let receipt = archive
        .write(&record("DSAR-2026-0042"))
        .await
        .expect("written");
    assert!(receipt.key.starts_with("records/DSAR-2026-0042/"));
    let head = client
        .head_object()
        .bucket("records")
        .key(&receipt.key)
        .send()
        .await
        .expect("head");
    assert_eq!(
        head.server_side_encryption(),
        Some(&aws_sdk_s3::types::ServerSideEncryption::Aes256)
    );
}

/// Puts a valid record's canonical bytes directly, bypassing the archive, with the
/// digest metadata and checksum a real write has, and the given lock (or none).
async fn put_raw(
    client: &Client,
    bucket: &str,
    key: &str,
    r: &Record,
    lock: Option<DateTime<Utc>>,
) {
    let mut put = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(r.canonical_bytes().to_vec()))
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_sha256(checksum_sha256_base64(r.canonical_bytes()))
        .metadata("digest", r.digest());
    if let Some(until) = lock {
        put = put
            .object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(SmithyDateTime::from_secs(until.timestamp()));
    }
    put.send().await.expect("raw put");
}

#[tokio::test]
async fn verify_passes_good_records_and_names_missing_or_short_locks() {
    let moto = MotoServer::start();
    let client = moto.s3_client();
    // Object Lock enabled, no default retention: a put without lock headers stays unlocked.
    locked_bucket(&client, "records").await;
    let archive = archive(&client, "records");
    let first = Record::from_value(
        RecordBuilder::new("DSAR-2026-0042", "DEFERRED")
            .written_at("2026-11-22T11:42:10.512Z")
            .build(),
    )
    .expect("valid");
    archive.write(&first).await.expect("first");
    let second = Record::from_value(
        RecordBuilder::new("DSAR-2026-0042", "COMPLETED")
            .written_at("2027-07-01T09:00:00Z")
            .sequence(2, Some(first.digest()))
            .build(),
    )
    .expect("valid");
    archive.write(&second).await.expect("second");

    let good = verify(&archive, &VerifyOptions::default())
        .await
        .expect("verify");
    assert!(good.passed(), "{}", good.to_text());
    assert_eq!((good.records_checked, good.tickets), (2, 1));

    let unlocked = record("DSAR-2026-0050");
    let unlocked_key = "gdpr/records/DSAR-2026-0050/20261122T114210.512Z-COMPLETED.json";
    put_raw(&client, "records", unlocked_key, &unlocked, None).await;
    let short = record("DSAR-2026-0051");
    let short_key = "gdpr/records/DSAR-2026-0051/20261122T114210.512Z-COMPLETED.json";
    put_raw(
        &client,
        "records",
        short_key,
        &short,
        Some(at("2027-11-22T11:42:10Z")),
    )
    .await;

    let bad = verify(&archive, &VerifyOptions::default())
        .await
        .expect("verify");
    let text = bad.to_text();
    assert!(!bad.passed());
    let of = |key: &str| -> Vec<Check> {
        bad.findings
            .iter()
            .filter(|f| f.key == key)
            .map(|f| f.check)
            .collect()
    };
    assert_eq!(of(unlocked_key), vec![Check::Lock], "{text}");
    assert_eq!(
        of(short_key),
        vec![Check::Retention, Check::Retention],
        "{text}"
    );
    assert_eq!(bad.findings.len(), 3, "{text}");
    assert!(
        text.contains(&format!(
            "FAIL {unlocked_key}: lock: the object has no lock"
        )),
        "{text}"
    );
    assert!(text.contains("short of the 7-year minimum"), "{text}");

    // A stricter policy than the locks written fails every record, naming each.
    let strict = verify(
        &archive,
        &VerifyOptions {
            min_retention: RetentionPolicy::years(10).expect("policy"),
            ticket_id: Some("DSAR-2026-0042".into()),
        },
    )
    .await
    .expect("verify");
    assert_eq!(strict.findings.len(), 2, "{}", strict.to_text());
    assert!(strict.findings.iter().all(|f| f.check == Check::Retention));
}

/// A store that keeps no SHA-256 checksum (Ceph radosgw, as issue 13 found it):
/// emulated on moto by writing without one, as such a store would hold the object.
/// Not real Ceph: docs/archive.md says so.
async fn put_without_checksum(
    client: &Client,
    bucket: &str,
    key: &str,
    bytes: &[u8],
    digest: &str,
) {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(bytes.to_vec()))
        .metadata("digest", digest)
        .object_lock_mode(ObjectLockMode::Compliance)
        .object_lock_retain_until_date(SmithyDateTime::from_secs(
            at("2040-01-01T00:00:00Z").timestamp(),
        ))
        .send()
        .await
        .expect("put without a checksum");
}

#[tokio::test]
async fn a_store_without_checksums_passes_with_a_warning_and_changed_bytes_still_fail() {
    let moto = MotoServer::start();
    let client = moto.s3_client();
    locked_bucket(&client, "records").await;
    let archive = archive(&client, "records");
    let good = record("DSAR-2026-0060");
    let good_key = "gdpr/records/DSAR-2026-0060/20261122T114210.512Z-COMPLETED.json";
    put_without_checksum(
        &client,
        "records",
        good_key,
        good.canonical_bytes(),
        good.digest(),
    )
    .await;

    let report = verify(&archive, &VerifyOptions::default())
        .await
        .expect("verify");
    let text = report.to_text();
    assert!(report.passed(), "{text}");
    assert_eq!(
        (report.warnings.iter())
            .filter(|w| w.check == Check::Checksum)
            .count(),
        1,
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "WARN {good_key}: checksum: store gap: the store keeps no SHA-256 checksum"
        )),
        "{text}"
    );

    // Bytes that no longer match the digest recorded at write time: a failure, named.
    let changed = record("DSAR-2026-0061");
    let changed_key = "gdpr/records/DSAR-2026-0061/20261122T114210.512Z-COMPLETED.json";
    let mut bytes = changed.canonical_bytes().to_vec();
    let at_sequence = bytes
        .windows(3)
        .position(|w| w == b"\"se")
        .expect("a field");
    bytes.insert(at_sequence, b' ');
    put_without_checksum(&client, "records", changed_key, &bytes, changed.digest()).await;
    let report = verify(&archive, &VerifyOptions::default())
        .await
        .expect("verify");
    let text = report.to_text();
    assert!(!report.passed(), "{text}");
    assert!(
        text.contains(&format!(
            "FAIL {changed_key}: digest: the bytes changed after writing"
        )),
        "{text}"
    );
}

#[tokio::test]
async fn the_deployed_fallback_keeps_a_record_encrypted_and_replays_it_into_the_archive() {
    use archive::fallback::{Fallback, replay};
    let moto = MotoServer::start();
    let client = moto.s3_client();
    locked_bucket(&client, "records").await;
    let fallback = archive::S3Fallback::new(
        client.clone(),
        "records",
        "gdpr/fallback/",
        ServerSideEncryption::S3,
    )
    .expect("fallback");
    let r = record("DSAR-2026-0070");
    let name = fallback.keep(&r).await.expect("kept");
    assert_eq!(fallback.names().await.expect("names"), vec![name.clone()]);
    let head = client
        .head_object()
        .bucket("records")
        .key(format!("gdpr/fallback/{name}"))
        .send()
        .await
        .expect("head");
    assert_eq!(
        head.server_side_encryption(),
        Some(&aws_sdk_s3::types::ServerSideEncryption::Aes256)
    );

    let archive = archive(&client, "records");
    let replayed = replay(&fallback, &archive).await.expect("replay");
    let receipt = replayed[0].result.as_ref().expect("written");
    assert_eq!(receipt.digest, r.digest());
    let report = verify(&archive, &VerifyOptions::default())
        .await
        .expect("verify");
    assert!(report.passed(), "{}", report.to_text());
    assert_eq!(
        report.records_checked, 1,
        "the fallback is not under records/"
    );
}

#[tokio::test]
async fn a_verification_is_locked_beside_the_records_and_verified_with_them() {
    let moto = MotoServer::start();
    let client = moto.s3_client();
    locked_bucket(&client, "records").await;
    let archive = archive(&client, "records");
    let r = record("DSAR-2026-0042");
    archive.write(&r).await.expect("record");
    let mut v: serde_json::Value = serde_json::from_str(include_str!(
        "../../../schemas/examples/verification-clean.json"
    ))
    .expect("example");
    v["previousDigest"] = json!(r.digest());
    v["verifies"]["recordDigest"] = json!(r.digest());
    let v = archive::Verification::from_value(v).expect("valid");

    let receipt = archive.write_verification(&v).await.expect("written");
    assert_eq!(
        receipt.key,
        "gdpr/verifications/DSAR-2026-0042/20261123T114210.512Z-CLEAN.json"
    );
    let head = client
        .head_object()
        .bucket("records")
        .key(&receipt.key)
        .send()
        .await
        .expect("head");
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));
    assert!(
        archive
            .write_verification(&v)
            .await
            .expect("again")
            .already_present
    );
    // Records are listed as before: the verification is not one of them.
    assert_eq!(archive.list(None).await.expect("records").len(), 1);
    let report = verify(&archive, &VerifyOptions::default())
        .await
        .expect("verify ran");
    assert!(report.passed(), "{}", report.to_text());
    assert_eq!(report.verifications_checked, 1);
}
