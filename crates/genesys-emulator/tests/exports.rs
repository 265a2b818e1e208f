//! Export results as live orgs serve them: ZIP archives behind the downloads API
//! (live-tenants.md section 3), read back with a ZIP library.

mod common;

use std::collections::BTreeSet;
use std::io::{Cursor, Read};
use std::time::Duration;

use common::{Harness, start_with};
use genesys_emulator::{ArchiveFault, ExportFormat, JobTiming};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn zip_emulator() -> Harness {
    start_with(|b| b.export_format(ExportFormat::Zip)).await
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Runs an export of `subject` to COMPLETED; returns its `resultsUrls`.
async fn export(h: &Harness, token: &str, subject: Value) -> Vec<String> {
    let r = h.submit(token, "GDPR_EXPORT", subject).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id = r.body["id"].as_str().expect("id").to_string();
    let (seen, _) = h.run_to_end(token, &id, 30).await;
    assert_eq!(seen.last().map(String::as_str), Some("COMPLETED"));
    let r = h.get(token, &format!("/api/v2/gdpr/requests/{id}")).await;
    let urls: Vec<String> = serde_json::from_value(r.body["resultsUrls"].clone()).expect("urls");
    assert_eq!(r.body["resultsUrl"], json!(urls[0]));
    urls
}

/// The signed URL the downloads API mints for `url` (`issueRedirect=false`).
async fn sign(h: &Harness, token: &str, url: &str) -> String {
    let r = h
        .send(
            h.http
                .get(format!("{url}?issueRedirect=false"))
                .bearer_auth(token),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["url"].as_str().expect("url").to_string()
}

async fn fetch_zip(url: &str) -> (StatusCode, Vec<u8>) {
    let r = no_redirects().get(url).send().await.expect("answered");
    let status = r.status();
    (status, r.bytes().await.expect("body").to_vec())
}

/// Every entry of an archive: name and content.
fn entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).expect("a readable ZIP");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).expect("entry");
            let mut content = Vec::new();
            f.read_to_end(&mut content).expect("content");
            (f.name().expect("entry name").to_string(), content)
        })
        .collect()
}

async fn download_all(h: &Harness, token: &str, urls: &[String]) -> Vec<(String, Vec<u8>)> {
    let mut all = Vec::new();
    for u in urls {
        let signed = sign(h, token, u).await;
        let (status, bytes) = fetch_zip(&signed).await;
        assert_eq!(status, StatusCode::OK);
        all.extend(entries(&bytes));
    }
    all
}

fn analytics_ids(entries: &[(String, Vec<u8>)]) -> BTreeSet<String> {
    entries
        .iter()
        .filter(|(n, _)| n.starts_with("analytics!"))
        .map(|(_, c)| {
            let v: Value = serde_json::from_slice(c).expect("analytics JSON");
            v["externalId"].as_str().expect("externalId").to_string()
        })
        .collect()
}

#[tokio::test]
async fn an_export_is_a_zip_of_flat_service_entries_behind_the_downloads_api() {
    let h = zip_emulator().await;
    let token = h.token().await;
    let liam = h.persona("happy-path");
    let urls = export(&h, &token, json!({"phoneNumbers": ["+353834567890"]})).await;
    assert_eq!(urls.len(), 1);
    assert!(
        urls[0].starts_with(&h.url("/api/v2/downloads/")),
        "{}",
        urls[0]
    );

    // The downloads API needs the token; it answers a 302, or {url} when asked.
    let r = no_redirects().get(&urls[0]).send().await.expect("answered");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = no_redirects()
        .get(&urls[0])
        .bearer_auth(&token)
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let signed = sign(&h, &token, &urls[0]).await;
    assert!(!signed.starts_with(&h.url("/api/")), "{signed}");

    // The signed URL serves the archive without a token, and refuses one.
    let r = no_redirects()
        .get(&location)
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.contains("results-") && disposition.ends_with(".zip\""),
        "{disposition}"
    );
    let bytes = r.bytes().await.unwrap().to_vec();
    let r = no_redirects()
        .get(&signed)
        .bearer_auth(&token)
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let es = entries(&bytes);
    for (name, _) in &es {
        assert!(!name.contains('/'), "flat: {name}");
        assert!(name.contains('!'), "service!identifier: {name}");
    }
    let convs: BTreeSet<String> = liam.customer_conversation_ids.iter().cloned().collect();
    assert_eq!(analytics_ids(&es), convs);
    let mut want_opus = BTreeSet::new();
    for cid in &convs {
        for r in h.emu.conversation(cid).unwrap().recordings {
            want_opus.insert(format!("recording!Recording_Conv_{cid}_Rec_{}.opus", r.id));
        }
    }
    let opus: BTreeSet<String> = es
        .iter()
        .filter(|(n, _)| n.ends_with(".opus"))
        .map(|(n, _)| n.clone())
        .collect();
    assert_eq!(opus, want_opus);
    for (n, c) in es.iter().filter(|(n, _)| n.ends_with(".opus")) {
        assert!(c.starts_with(b"OggS") && c.len() >= 27, "{n}");
    }
    let contact = format!(
        "contacts-service!externalContact_{}.json",
        liam.external_contact_id.as_deref().unwrap()
    );
    let (_, c) = es.iter().find(|(n, _)| *n == contact).expect("the contact");
    let v: Value = serde_json::from_slice(c).unwrap();
    assert_eq!(v["id"], json!(liam.external_contact_id));
    assert_eq!(
        es.iter()
            .filter(|(n, _)| n.starts_with("billing-service!"))
            .count(),
        1
    );
}

#[tokio::test]
async fn digital_interactions_come_as_transcript_bundles_and_sessions() {
    let h = zip_emulator().await;
    let token = h.token().await;
    let grace = h.persona("email-and-voice");
    let urls = export(
        &h,
        &token,
        json!({"externalContactId": grace.external_contact_id}),
    )
    .await;
    let es = download_all(&h, &token, &urls).await;
    let mut bundles = 0;
    for cid in &grace.customer_conversation_ids {
        let c = h.emu.conversation(cid).unwrap();
        for r in &c.recordings {
            let stem = format!("recording!Recording_Conv_{cid}_Rec_{}", r.id);
            match c.media_type {
                genesys_emulator::MediaType::Email => {
                    let (_, inner) = es
                        .iter()
                        .find(|(n, _)| *n == format!("{stem}.zip"))
                        .expect("an e-mail bundle");
                    let inner = entries(inner);
                    assert_eq!(inner[0].0, format!("EmailTranscript_{}.json", r.id));
                    bundles += 1;
                }
                genesys_emulator::MediaType::Chat => {
                    assert!(es.iter().any(|(n, _)| *n == format!("{stem}.json")));
                }
                _ => assert!(es.iter().any(|(n, _)| *n == format!("{stem}.opus"))),
            }
        }
    }
    assert!(bundles >= 2);
    assert!(
        es.iter()
            .any(|(n, _)| n.starts_with("journey-session-store!"))
    );
    // Digital interactions are processed by the transcripts topic too.
    let topics: BTreeSet<String> = es
        .iter()
        .filter(|(n, _)| n.starts_with("analytics!"))
        .map(|(_, c)| serde_json::from_slice::<Value>(c).unwrap()["topic"].to_string())
        .collect();
    assert!(topics.contains("\"TranscriptsEvent\""), "{topics:?}");
}

#[tokio::test]
async fn a_user_export_holds_the_user_service_entries() {
    let h = zip_emulator().await;
    let token = h.token().await;
    let aoife = h.persona("former-agent");
    let urls = export(&h, &token, json!({"userId": aoife.user_id})).await;
    let es = download_all(&h, &token, &urls).await;
    for prefix in [
        "venue!",
        "auth-api!",
        "REALTIME!messages",
        "gamification-service!",
    ] {
        assert!(
            es.iter().any(|(n, _)| n.starts_with(prefix)),
            "{prefix} missing"
        );
    }
    let ids = analytics_ids(&es);
    assert!(ids.contains(aoife.user_id.as_deref().unwrap()));
    // The conversations she handled as an agent.
    assert!(ids.len() > 10, "{}", ids.len());
}

#[tokio::test]
async fn surveys_of_the_dataset_are_in_the_export() {
    let mut ds = genesys_emulator::Dataset::bundled();
    let liam = ds.persona("happy-path").cloned().unwrap();
    let first = liam.customer_conversation_ids[0].clone();
    ds.conversations
        .iter_mut()
        .find(|c| c.id == first)
        .unwrap()
        .survey = true;
    let h = start_with(move |b| b.dataset(ds).export_format(ExportFormat::Zip)).await;
    let token = h.token().await;
    let urls = export(&h, &token, json!({"phoneNumbers": ["+353834567890"]})).await;
    let es = download_all(&h, &token, &urls).await;
    let surveys: Vec<&String> = es
        .iter()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with("quality!"))
        .collect();
    assert_eq!(surveys, [&format!("quality!Survey_Conv_{first}.json")]);
}

#[tokio::test]
async fn a_large_export_is_split_into_several_archives() {
    let whole = {
        let h = zip_emulator().await;
        let token = h.token().await;
        let aoife = h.persona("former-agent");
        let urls = export(&h, &token, json!({"userId": aoife.user_id})).await;
        assert_eq!(urls.len(), 1);
        download_all(&h, &token, &urls).await
    };
    let h = start_with(|b| b.export_format(ExportFormat::Zip).archive_max_entries(7)).await;
    let token = h.token().await;
    let aoife = h.persona("former-agent");
    let urls = export(&h, &token, json!({"userId": aoife.user_id})).await;
    assert_eq!(urls.len(), whole.len().div_ceil(7));
    let parts = download_all(&h, &token, &urls).await;
    let names = |es: &[(String, Vec<u8>)]| -> Vec<String> {
        let mut v: Vec<String> = es
            .iter()
            .map(|(n, _)| n.split('!').next().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&parts), names(&whole));
    assert_eq!(analytics_ids(&parts), analytics_ids(&whole));
}

#[tokio::test]
async fn a_signed_url_goes_stale_and_a_fresh_one_works() {
    let h = start_with(|b| {
        b.export_format(ExportFormat::Zip)
            .signed_url_ttl(Duration::from_secs(60))
    })
    .await;
    let token = h.token().await;
    let urls = export(&h, &token, json!({"phoneNumbers": ["+353834567890"]})).await;
    let signed = sign(&h, &token, &urls[0]).await;
    h.advance(61);
    let (status, body) = fetch_zip(&signed).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&body).contains("Request has expired"));
    let token = h.token().await;
    let fresh = sign(&h, &token, &urls[0]).await;
    assert_eq!(fetch_zip(&fresh).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_download_expires_after_some_days() {
    let h = start_with(|b| {
        b.export_format(ExportFormat::Zip)
            .download_ttl(Duration::from_secs(7 * 24 * 3600))
    })
    .await;
    let token = h.token().await;
    let urls = export(&h, &token, json!({"phoneNumbers": ["+353834567890"]})).await;
    let signed = sign(&h, &token, &urls[0]).await;
    h.advance(6 * 24 * 3600);
    let token = h.token().await;
    sign(&h, &token, &urls[0]).await;
    h.advance(24 * 3600);
    let token = h.token().await;
    let r = h.send(h.http.get(&urls[0]).bearer_auth(&token)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["code"], "not.found");
    assert_eq!(fetch_zip(&signed).await.0, StatusCode::FORBIDDEN);
    // The request still lists its results; they just lead nowhere now.
    let r = h.get(&token, "/api/v2/gdpr/requests").await;
    assert!(r.body["entities"][0]["resultsUrls"].is_array());
}

#[tokio::test]
async fn an_export_takes_business_days_when_timed_like_a_live_org() {
    let timing = JobTiming {
        export_business_days: 2,
        ..JobTiming::default()
    };
    let h = start_with(move |b| b.export_format(ExportFormat::Zip).job_timing(timing)).await;
    let token = h.token().await;
    let r = h
        .submit(
            &token,
            "GDPR_EXPORT",
            json!({"phoneNumbers": ["+353834567890"]}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let mut took = 0;
    loop {
        let token = h.token().await;
        let r = h.get(&token, &format!("/api/v2/gdpr/requests/{id}")).await;
        if r.body["status"] == "COMPLETED" {
            break;
        }
        assert!(took < 10 * 24 * 3600, "{}", r.body);
        h.advance(3600);
        took += 3600;
    }
    // The dataset's clock starts on a Sunday: Monday and Tuesday are the two days.
    assert!(took >= 2 * 24 * 3600, "{took}");
    assert!(took <= 3 * 24 * 3600, "{took}");
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-06T10:00:00Z")
        .unwrap()
        .to_utc();
    // Friday + 1 business day = Monday.
    assert_eq!(
        genesys_emulator::world::business_days_later(start, 1),
        start + chrono::TimeDelta::days(3)
    );
}

#[tokio::test]
async fn archive_faults_give_a_reader_something_to_refuse() {
    let h = zip_emulator().await;
    let token = h.token().await;
    let subject = json!({"phoneNumbers": ["+353834567890"]});

    h.emu.set_archive_fault(Some(ArchiveFault::Malformed));
    let urls = export(&h, &token, subject.clone()).await;
    let (status, bytes) = fetch_zip(&sign(&h, &token, &urls[0]).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(zip::ZipArchive::new(Cursor::new(bytes)).is_err());

    h.emu.set_archive_fault(Some(ArchiveFault::HostileNames));
    let urls = export(&h, &token, subject.clone()).await;
    let (_, bytes) = fetch_zip(&sign(&h, &token, &urls[0]).await).await;
    let z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let names: Vec<String> = z
        .file_names()
        .map(|n| n.expect("entry name").to_string())
        .collect();
    assert!(names.iter().any(|n| n.starts_with("../")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with('/')), "{names:?}");

    h.emu.set_archive_fault(Some(ArchiveFault::ZipBomb {
        uncompressed_bytes: 64 << 20,
    }));
    let urls = export(&h, &token, subject.clone()).await;
    let (_, bytes) = fetch_zip(&sign(&h, &token, &urls[0]).await).await;
    assert!(bytes.len() < 1 << 20, "{}", bytes.len());
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let worst = (0..z.len())
        .map(|i| {
            let f = z.by_index(i).unwrap();
            f.size() / f.compressed_size().max(1)
        })
        .max()
        .unwrap();
    assert!(worst > 500, "ratio {worst}");

    h.emu.set_archive_fault(None);
    let urls = export(&h, &token, subject).await;
    let (_, bytes) = fetch_zip(&sign(&h, &token, &urls[0]).await).await;
    assert!(!entries(&bytes).is_empty());
}
