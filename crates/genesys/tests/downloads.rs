//! The two-step download of export results (live-tenants.md section 3): the downloads
//! API with the bearer token, then the signed URL without it; a fresh URL per
//! download, a stale one minted again, an expired download named as such.

mod support;

use std::io::{Cursor, Write};

use genesys::{ArchiveLimits, download_id};
use serde_json::json;
use support::*;
use zip::write::SimpleFileOptions;

const CONV: &str = "0b1e7a52-1111-4c4c-9a9a-000000000001";

fn archive() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("analytics!r1", SimpleFileOptions::default())
        .unwrap();
    w.write_all(
        json!({"topic": "ConversationEvent", "externalId": CONV})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    w.finish().unwrap().into_inner()
}

/// The org's API (downloads endpoint) and a storage host serving signed URLs.
async fn setup() -> (MockGenesys, MockGenesys) {
    let api = MockGenesys::start().await;
    let storage = MockGenesys::start().await;
    (api, storage)
}

fn signed(storage: &MockGenesys, n: u32) -> serde_json::Value {
    json!({"url": format!("{}bucket/results-d1.zip?X-Amz-Signature=s{n}", storage.base)})
}

#[tokio::test]
async fn the_archive_is_fetched_from_a_fresh_signed_url_without_the_token() {
    let (api, storage) = setup().await;
    api.always(
        "GET",
        "/api/v2/downloads/d1",
        Scripted::ok(signed(&storage, 1)),
    );
    storage.always(
        "GET",
        "/bucket/results-d1.zip",
        Scripted::bytes(200, &archive()),
    );
    let client = client(&api, virtual_clock());

    let results_url = format!("{}api/v2/downloads/d1", api.base);
    let catalog = client
        .catalogue_export(&[results_url.as_str()], &ArchiveLimits::default())
        .await
        .unwrap();

    assert_eq!(catalog.conversation_ids.iter().collect::<Vec<_>>(), [CONV]);
    let minted = &api.api_requests("/api/v2/downloads/d1")[0];
    assert_eq!(minted.header("authorization"), Some("Bearer tok-1"));
    assert_eq!(
        minted.query_param("issueRedirect").as_deref(),
        Some("false")
    );
    let fetched = &storage.requests()[0];
    assert_eq!(
        fetched.header("authorization"),
        None,
        "the token never goes to storage"
    );
    assert!(storage.token_requests().is_empty());
}

#[tokio::test]
async fn each_download_mints_its_own_url_and_a_stale_one_is_minted_again() {
    let (api, storage) = setup().await;
    api.script(
        "GET",
        "/api/v2/downloads/d1",
        vec![
            Scripted::ok(signed(&storage, 1)),
            Scripted::ok(signed(&storage, 2)),
            Scripted::ok(signed(&storage, 3)),
        ],
    );
    storage.script(
        "GET",
        "/bucket/results-d1.zip",
        vec![
            Scripted::bytes(200, &archive()),
            // The second download's URL has gone stale by the time it is used.
            Scripted::empty(403),
            Scripted::bytes(200, &archive()),
        ],
    );
    let client = client(&api, virtual_clock());
    let url = format!("{}api/v2/downloads/d1", api.base);

    let mut first = Vec::new();
    client
        .download_export_archive(&url, &mut first, 1 << 20)
        .await
        .unwrap();
    let mut second = Vec::new();
    client
        .download_export_archive(&url, &mut second, 1 << 20)
        .await
        .unwrap();

    assert_eq!(first, archive());
    assert_eq!(second, archive());
    assert_eq!(api.api_requests("/api/v2/downloads/d1").len(), 3);
    let signatures: Vec<String> = storage
        .requests()
        .iter()
        .filter_map(|r| r.query_param("X-Amz-Signature"))
        .collect();
    assert_eq!(signatures, ["s1", "s2", "s3"], "a URL is never reused");
}

#[tokio::test]
async fn a_404_from_the_downloads_api_is_an_expired_download() {
    let (api, _storage) = setup().await;
    api.always(
        "GET",
        "/api/v2/downloads/d1",
        Scripted::error(404, "not.found", "ctx-9"),
    );
    let client = client(&api, virtual_clock());
    let url = format!("{}api/v2/downloads/d1", api.base);
    let err = client
        .catalogue_export(&[url.as_str()], &ArchiveLimits::default())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "GenesysDownloadExpired");
    assert!(!err.is_retryable());
    assert!(matches!(err, genesys::GenesysError::DownloadExpired(_)));
}

#[tokio::test]
async fn an_archive_larger_than_allowed_stops_the_download() {
    let (api, storage) = setup().await;
    api.always(
        "GET",
        "/api/v2/downloads/d1",
        Scripted::ok(signed(&storage, 1)),
    );
    storage.always(
        "GET",
        "/bucket/results-d1.zip",
        Scripted::bytes(200, &[0u8; 4096]),
    );
    let client = client(&api, virtual_clock());
    let url = format!("{}api/v2/downloads/d1", api.base);
    let limits = ArchiveLimits {
        max_archive_bytes: 1000,
        ..ArchiveLimits::default()
    };
    let err = client
        .catalogue_export(&[url.as_str()], &limits)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "GenesysExportArchiveInvalid");
}

#[tokio::test]
async fn a_download_that_is_not_a_zip_is_an_invalid_archive() {
    let (api, storage) = setup().await;
    api.always(
        "GET",
        "/api/v2/downloads/d1",
        Scripted::ok(signed(&storage, 1)),
    );
    storage.always(
        "GET",
        "/bucket/results-d1.zip",
        Scripted::ok(json!({"conversations": []})),
    );
    let client = client(&api, virtual_clock());
    let url = format!("{}api/v2/downloads/d1", api.base);
    let err = client
        .catalogue_export(&[url.as_str()], &ArchiveLimits::default())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "GenesysExportArchiveInvalid");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_results_url_that_is_not_a_download_is_refused_before_any_call() {
    let (api, _storage) = setup().await;
    let client = client(&api, virtual_clock());
    let err = client
        .catalogue_export(
            &["https://elsewhere.example/results/1.json"],
            &ArchiveLimits::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.name(), "GenesysInvalidRequest");
    assert!(api.requests().is_empty());
    assert_eq!(
        download_id("https://apps.mypurecloud.ie/platform/api/v2/downloads/z9").as_deref(),
        Some("z9")
    );
}
