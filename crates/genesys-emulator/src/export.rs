//! Export results as live orgs serve them (live-tenants.md section 3): ZIP archives of
//! flat `service!identifier` entries behind the downloads API, which mints short-lived
//! signed URLs that serve the archive without the bearer token.

use std::io::{Cursor, Write};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zip::write::SimpleFileOptions;

use crate::app::App;
use crate::dataset::{Conversation, FileState, MediaType};
use crate::error::ApiError;
use crate::query::Query;
use crate::views::ts;
use crate::world::{GdprJob, World};

/// A fault applied to every export archive built while it is set, so a client's
/// archive reader can be tested against what it must refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ArchiveFault {
    /// The archive is cut short: no central directory, not a readable ZIP.
    Malformed,
    /// One extra entry of this many zero bytes, deflated (a ratio near 1000:1).
    #[serde(rename_all = "camelCase")]
    ZipBomb { uncompressed_bytes: u64 },
    /// Extra entries named `../…` and `/…` (path traversal, absolute paths).
    HostileNames,
}

/// One archive of an export.
#[derive(Clone)]
pub struct Download {
    pub job_id: String,
    /// `results-<requestId>-<ISO timestamp>.zip`
    pub file_name: String,
    pub bytes: Arc<Vec<u8>>,
    /// After this the downloads API answers 404.
    pub expires: DateTime<Utc>,
}

/// A signed URL minted by the downloads API.
#[derive(Debug, Clone)]
pub struct SignedUrl {
    pub download_id: String,
    pub expires: DateTime<Utc>,
}

fn json_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(v).unwrap_or_default()
}

/// An Ogg page header with no packets (27 bytes), as the empty recordings seen in real
/// archives; recordings with audio get an `OpusHead` packet after it.
fn opus(with_audio: bool) -> Vec<u8> {
    let mut b = b"OggS".to_vec();
    b.extend_from_slice(&[0, 2]);
    b.extend_from_slice(&[0; 8 + 4 + 4 + 4]);
    b.push(0);
    if with_audio {
        b.extend_from_slice(b"OpusHead");
        b.extend_from_slice(&[1, 1, 56, 1, 128, 187, 0, 0, 0, 0, 0]);
        b.extend(std::iter::repeat_n(0x55, 256));
    }
    b
}

/// A ZIP of `(name, content)` entries (deflated).
pub fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in entries {
        // Writing to memory cannot fail short of running out of it.
        if w.start_file(name.as_str(), opts).is_ok() {
            let _ = w.write_all(content);
        }
    }
    w.finish().map(Cursor::into_inner).unwrap_or_default()
}

impl World {
    /// The export's entries, as a live org's archive names them, for what the search
    /// matched (in the state of submission time).
    fn archive_entries(&mut self, job: &GdprJob, now: DateTime<Utc>) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let convs: Vec<Conversation> = job
            .matched
            .conversations
            .iter()
            .filter_map(|(id, _)| self.conversations.iter().find(|c| &c.id == id).cloned())
            .collect();
        let ack = |topic: &str, external_id: &str, at: DateTime<Utc>, request: &str| {
            json_bytes(&json!({
                "topic": topic,
                "externalId": external_id,
                "eventTime": ts(at),
                "gdprRequestId": request,
                "status": "PROCESSED",
            }))
        };
        for c in &convs {
            let e = ack("ConversationEvent", &c.id, c.end, &job.id);
            out.push((format!("analytics!{}", self.rng.uuid()), e));
            if c.media_type != MediaType::Voice {
                let e = ack("TranscriptsEvent", &c.id, c.end, &job.id);
                out.push((format!("analytics!{}", self.rng.uuid()), e));
            }
            for r in c
                .recordings
                .iter()
                .filter(|r| r.file_state != FileState::Deleted)
            {
                let stem = format!("recording!Recording_Conv_{}_Rec_{}", c.id, r.id);
                let transcript = |kind: &str| {
                    json_bytes(&json!({
                        "type": kind,
                        "conversationId": c.id,
                        "recordingId": r.id,
                        "startTime": ts(r.start_time),
                        "endTime": ts(r.end_time),
                        "participants": c.participants.iter().map(|p| json!({
                            "purpose": p.purpose, "name": p.name,
                            "addressFrom": p.address_from, "addressTo": p.address_to,
                        })).collect::<Vec<_>>(),
                        "messages": [],
                    }))
                };
                match c.media_type {
                    MediaType::Voice => {
                        // Real archives hold some 27-byte empty recordings.
                        let audio = r.end_time > r.start_time;
                        out.push((format!("{stem}.opus"), opus(audio)));
                    }
                    MediaType::Chat => {
                        out.push((format!("{stem}.json"), transcript("ChatTranscript")))
                    }
                    MediaType::Email => {
                        let inner = zip_of(&[(
                            format!("EmailTranscript_{}.json", r.id),
                            transcript("EmailTranscript"),
                        )]);
                        out.push((format!("{stem}.zip"), inner));
                    }
                    MediaType::Message => {
                        let inner = zip_of(&[(
                            format!("MessageTranscript_{}.json", r.id),
                            transcript("MessageTranscript"),
                        )]);
                        out.push((format!("{stem}.zip"), inner));
                    }
                }
            }
            if matches!(c.media_type, MediaType::Chat | MediaType::Message) {
                let session = json!({"id": self.rng.uuid(), "type": "web", "conversationId": c.id});
                out.push((
                    format!("journey-session-store!{}.json", self.rng.uuid()),
                    json_bytes(&session),
                ));
            }
            if c.survey {
                let survey = json!({"conversationId": c.id, "status": "Finished", "answers": []});
                out.push((
                    format!("quality!Survey_Conv_{}.json", c.id),
                    json_bytes(&survey),
                ));
            }
        }
        for id in &job.matched.external_contact_ids {
            if let Some(x) = self.contacts.iter().find(|x| &x.id == id) {
                let doc = json!({
                    "id": x.id, "firstName": x.first_name, "lastName": x.last_name,
                    "phoneNumbers": x.phone_numbers, "emailAddresses": x.email_addresses,
                    "mergeSet": [],
                });
                out.push((
                    format!("contacts-service!externalContact_{}.json", x.id),
                    json_bytes(&doc),
                ));
            }
        }
        if !convs.is_empty() {
            let doc = json!({"invoiceIds": [self.rng.uuid()]});
            out.push((
                format!("billing-service!{}", self.rng.uuid()),
                json_bytes(&doc),
            ));
        }
        for (n, id) in job.matched.user_ids.iter().enumerate() {
            let Some(u) = self.users.iter().find(|u| &u.id == id).cloned() else {
                continue;
            };
            let profile = json!({"id": u.id, "name": u.name, "email": u.email, "username": u.username,
                                 "department": u.department, "title": u.title, "state": u.state.as_str()});
            out.push((format!("venue!{}", self.rng.uuid()), json_bytes(&profile)));
            out.push((
                format!("auth-api!{}", self.rng.uuid()),
                u.email.clone().into_bytes(),
            ));
            let e = ack("UserActivityEvents", &u.id, now, &job.id);
            out.push((format!("analytics!{}", self.rng.uuid()), e));
            for c in self.conversations.iter().filter(|c| {
                c.media_type == MediaType::Email
                    && c.participants
                        .iter()
                        .any(|p| p.user_id.as_deref() == Some(&u.id))
            }) {
                let doc = json!({"conversationId": c.id, "headers": {"From": c.participants[0].address_from, "To": c.participants[0].address_to}});
                out.push((format!("postino-service!{}", c.id), json_bytes(&doc)));
            }
            if n == 0 {
                out.push(("REALTIME!messages".into(), b"[]".to_vec()));
            }
            let doc = json!({"userId": u.id, "points": 0});
            out.push((
                format!("gamification-service!{}", self.rng.uuid()),
                json_bytes(&doc),
            ));
        }
        out
    }

    /// Builds the export's archives (split at `archive_max_entries`) and registers
    /// them as downloads that expire `download_ttl` after the request completes.
    pub(crate) fn prepare_archives(&mut self, job: &mut GdprJob, now: DateTime<Utc>) {
        let entries = self.archive_entries(job, now);
        let per = self.config.archive_max_entries.max(1);
        let chunks: Vec<&[(String, Vec<u8>)]> = if entries.is_empty() {
            vec![&[]]
        } else {
            entries.chunks(per).collect()
        };
        let ends = job.ends_at();
        let expires =
            ends + TimeDelta::from_std(self.config.download_ttl).unwrap_or(TimeDelta::MAX);
        let stamp = ends.format("%Y-%m-%dT%H-%M-%S%.3fZ");
        for chunk in chunks {
            let mut chunk = chunk.to_vec();
            let fault = self.archive_fault;
            match fault {
                Some(ArchiveFault::HostileNames) => {
                    chunk.push(("../../analytics!escape".into(), b"{}".to_vec()));
                    chunk.push(("/etc/analytics!absolute".into(), b"{}".to_vec()));
                    chunk.push(("recording!..\\..\\windows.opus".into(), opus(false)));
                }
                Some(ArchiveFault::ZipBomb { .. }) | Some(ArchiveFault::Malformed) | None => {}
            }
            let mut bytes = match fault {
                Some(ArchiveFault::ZipBomb { uncompressed_bytes }) => {
                    zip_with_bomb(&chunk, uncompressed_bytes, &self.rng.uuid())
                }
                _ => zip_of(&chunk),
            };
            if fault == Some(ArchiveFault::Malformed) {
                bytes.truncate(bytes.len() / 2);
            }
            let id = self.rng.uuid();
            self.downloads.insert(
                id.clone(),
                Download {
                    job_id: job.id.clone(),
                    file_name: format!("results-{}-{stamp}.zip", job.id),
                    bytes: Arc::new(bytes),
                    expires,
                },
            );
            job.download_ids.push(id);
        }
    }

    /// The download with this id, if it exists now (the export completed, not expired).
    fn live_download(&self, id: &str, now: DateTime<Utc>) -> Option<&Download> {
        let d = self.downloads.get(id)?;
        let job = self.gdpr.iter().find(|j| j.id == d.job_id)?;
        (now >= job.ends_at() && now < d.expires).then_some(d)
    }
}

/// The entries plus one deflated run of zeros: small on the wire, huge when read.
fn zip_with_bomb(entries: &[(String, Vec<u8>)], uncompressed: u64, id: &str) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(uncompressed >= u64::from(u32::MAX));
    for (name, content) in entries {
        if w.start_file(name.as_str(), opts).is_ok() {
            let _ = w.write_all(content);
        }
    }
    if w.start_file(format!("analytics!{id}"), opts).is_ok() {
        let block = vec![0u8; 1 << 20];
        let mut left = uncompressed;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            if w.write_all(&block[..n]).is_err() {
                break;
            }
            left -= n as u64;
        }
    }
    w.finish().map(Cursor::into_inner).unwrap_or_default()
}

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/api/v2/downloads/{downloadId}", get(download))
        .route("/_emulator/downloads/{token}/{file}", get(signed))
}

/// `GET /api/v2/downloads/{downloadId}` (bearer token checked by the gateway): a
/// fresh signed URL, as a 302 or, with `issueRedirect=false`, as `{"url"}`.
async fn download(
    State(app): State<App>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q = Query::of(&uri);
    let redirect = q.bool("issueRedirect", true)?;
    q.bool("redirectToAuth", true)?;
    q.one_of("contentDisposition", &["attachment", "inline"])?;
    let (mut w, now) = app.world();
    let file = w
        .live_download(&id, now)
        .map(|d| d.file_name.clone())
        .ok_or_else(|| ApiError::not_found("not.found", "The download was not found."))?;
    let token = w.rng.token(40);
    let ttl = TimeDelta::from_std(w.config.signed_url_ttl).unwrap_or(TimeDelta::MAX);
    w.signed_urls.insert(
        token.clone(),
        SignedUrl {
            download_id: id,
            expires: now + ttl,
        },
    );
    let url = format!(
        "{}/_emulator/downloads/{token}/{file}?X-Amz-Expires={}",
        w.base_url,
        ttl.num_seconds()
    );
    Ok(if redirect {
        (StatusCode::FOUND, [(header::LOCATION, url)]).into_response()
    } else {
        Json(json!({"url": url})).into_response()
    })
}

/// An object-store error, XML as S3 answers a presigned URL.
fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// The signed URL: serves the archive without a token, until it goes stale.
async fn signed(
    State(app): State<App>,
    Path((token, _file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        // A presigned URL carries its own signature: S3 refuses a second mechanism.
        return s3_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        );
    }
    let (w, now) = app.world();
    let Some(s) = w.signed_urls.get(&token) else {
        return s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "The request signature we calculated does not match the signature you provided.",
        );
    };
    if now >= s.expires {
        return s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired");
    }
    let Some(d) = w.live_download(&s.download_id, now) else {
        return s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    let disposition = format!("attachment; filename=\"{}\"", d.file_name);
    let bytes = d.bytes.as_ref().clone();
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}
