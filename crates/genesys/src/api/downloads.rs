//! Export results behind the downloads API (live-tenants.md section 3).
//!
//! `resultsUrl(s)` of a COMPLETED export name `/api/v2/downloads/{downloadId}`: an API
//! call with the bearer token that, with `issueRedirect=false`, answers `{url}`, a
//! signed URL serving the ZIP **without** the token. Signed URLs go stale, so one is
//! minted right before each download, and minted once more when the signed URL is
//! refused. A 404 from the downloads API means Genesys dropped the export (about a
//! week after it completed): [`GenesysError::DownloadExpired`], which a caller answers
//! with a new export.

use std::io::{Seek, Write};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use url::Url;

use crate::client::transport::Call;
use crate::client::{GenesysClient, check_id};
use crate::error::{ErrorDetail, GenesysError, TransportFailure};
use crate::export_archive::{ArchiveLimits, ArchiveProblem, ExportCatalog};

/// Path template of the signed URL in errors and logs (its query is a credential).
const SIGNED_PATH: &str = "{signedUrl}";
/// How long one archive download may take (the client's request time-out is sized
/// for API calls, not for archives of hundreds of megabytes).
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Deserialize)]
struct DownloadResponse {
    url: Option<String>,
}

/// The download id a results URL names (`…/api/v2/downloads/{id}`), if it names one.
pub fn download_id(results_url: &str) -> Option<String> {
    let url = Url::parse(results_url)
        .or_else(|_| Url::parse("http://relative.invalid/")?.join(results_url))
        .ok()?;
    let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    let at = segments.iter().rposition(|s| *s == "downloads")?;
    match &segments[at + 1..] {
        [id] => Some((*id).to_owned()),
        _ => None,
    }
}

impl GenesysClient {
    /// `GET /api/v2/downloads/{downloadId}?issueRedirect=false` with the bearer token:
    /// a freshly signed URL. 404 is [`GenesysError::DownloadExpired`].
    pub async fn signed_download_url(&self, download_id: &str) -> Result<Url, GenesysError> {
        check_id("download id", download_id)?;
        let mut url = self.api_url(&["downloads", download_id])?;
        url.query_pairs_mut().append_pair("issueRedirect", "false");
        let call = Call::new(Method::GET, "/api/v2/downloads/{downloadId}", url);
        let reply = match self.execute(&call).await {
            Ok(reply) => reply,
            Err(GenesysError::NotFound(detail)) => {
                return Err(GenesysError::DownloadExpired(detail));
            }
            Err(e) => return Err(e),
        };
        let body: DownloadResponse = reply.json()?;
        let invalid = |reason: &str| GenesysError::InvalidResponse {
            reason: reason.to_owned(),
            detail: Box::new(reply.detail.clone()),
        };
        let signed = body.url.ok_or_else(|| invalid("the download has no url"))?;
        let signed = Url::parse(&signed).map_err(|_| invalid("the download url is not a URL"))?;
        if !matches!(signed.scheme(), "http" | "https") || signed.host().is_none() {
            return Err(invalid(
                "the download url is not an http(s) URL with a host",
            ));
        }
        Ok(signed)
    }

    /// Downloads one export archive into `sink` (a file: the archive never sits in
    /// memory), at most `max_bytes`: a fresh signed URL, then the signed URL without
    /// the token; a signed URL refused as stale (403, 404, 410) is minted once more.
    pub async fn download_export_archive<W: Write>(
        &self,
        results_url: &str,
        sink: &mut W,
        max_bytes: u64,
    ) -> Result<u64, GenesysError> {
        let id = download_id(results_url).ok_or_else(|| {
            GenesysError::invalid_request("the results URL does not name /api/v2/downloads/{id}")
        })?;
        let mut minted = 0;
        loop {
            minted += 1;
            let signed = self.signed_download_url(&id).await?;
            match self.fetch_signed(signed, sink, max_bytes, minted).await {
                Err(Stale(detail)) if minted < 2 => {
                    tracing::info!(
                        status = detail.status,
                        "signed download URL refused; minting a fresh one"
                    );
                }
                Err(Stale(detail)) => return Err(GenesysError::Rejected(detail)),
                Ok(result) => return result,
            }
        }
    }

    /// One archive into a fresh temporary file. A transient failure (a 5xx or 429 from
    /// the storage host, a dropped connection) is retried as the API calls are (the
    /// client's `RetryPolicy`), each attempt from the start into a new file, with a
    /// freshly minted URL.
    async fn download_to_temp(
        &self,
        url: &str,
        max_bytes: u64,
    ) -> Result<std::fs::File, GenesysError> {
        let mut attempt = 1;
        loop {
            let mut file = tempfile::tempfile()
                .map_err(|_| GenesysError::config("no temporary file for the export archive"))?;
            match self
                .download_export_archive(url, &mut file, max_bytes)
                .await
            {
                Ok(_) => return Ok(file),
                Err(GenesysError::Transient { .. }) if attempt < self.inner.retry.max_attempts => {
                    let wait = self.backoff(attempt);
                    tracing::warn!(
                        attempt,
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "export archive download failed transiently; retrying"
                    );
                    self.inner.clock.sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Every archive of an export, catalogued (ids and counts only) under `limits`.
    /// A malformed or hostile archive is [`GenesysError::ExportArchiveInvalid`].
    pub async fn catalogue_export(
        &self,
        results_urls: &[&str],
        limits: &ArchiveLimits,
    ) -> Result<ExportCatalog, GenesysError> {
        let mut catalog = ExportCatalog::default();
        for url in results_urls {
            let mut file = self.download_to_temp(url, limits.max_archive_bytes).await?;
            file.rewind()
                .map_err(|_| GenesysError::config("the temporary archive cannot be read"))?;
            let limits = *limits;
            catalog = tokio::task::spawn_blocking(move || {
                let mut catalog = catalog;
                catalog
                    .read_archive(std::io::BufReader::new(file), &limits)
                    .map(|()| catalog)
            })
            .await
            .map_err(|_| GenesysError::config("the archive reader stopped"))?
            .map_err(GenesysError::from)?;
        }
        tracing::info!(
            archives = catalog.archives,
            entries = catalog.entries,
            conversations = catalog.conversation_ids.len(),
            recordings = catalog.recordings.len(),
            unknown_kinds = catalog.unknown_prefixes.values().sum::<u64>(),
            "GDPR export catalogued"
        );
        Ok(catalog)
    }

    async fn fetch_signed<W: Write>(
        &self,
        signed: Url,
        sink: &mut W,
        max_bytes: u64,
        attempt: u32,
    ) -> Result<Result<u64, GenesysError>, Stale> {
        let mut detail = ErrorDetail {
            method: "GET",
            path: SIGNED_PATH,
            attempts: attempt,
            ..ErrorDetail::default()
        };
        // No Authorization header: the signature is the credential, and the org's
        // token never goes to the storage host.
        let sent = self
            .inner
            .http
            .get(signed)
            .timeout(DOWNLOAD_TIMEOUT)
            .send()
            .await;
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => {
                let failure = if e.is_connect() {
                    TransportFailure::ConnectFailed
                } else if e.is_timeout() {
                    TransportFailure::Timeout
                } else {
                    TransportFailure::ConnectionLost
                };
                return Ok(Err(GenesysError::Transient {
                    failure,
                    detail: Box::new(detail),
                }));
            }
        };
        let status = response.status();
        detail.status = Some(status.as_u16());
        if matches!(
            status,
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::GONE
        ) {
            return Err(Stale(Box::new(detail)));
        }
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Ok(Err(GenesysError::Transient {
                failure: TransportFailure::ServerError,
                detail: Box::new(detail),
            }));
        }
        if !status.is_success() {
            return Ok(Err(GenesysError::Rejected(Box::new(detail))));
        }
        let mut written: u64 = 0;
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    let failure = if e.is_timeout() {
                        TransportFailure::Timeout
                    } else {
                        TransportFailure::ConnectionLost
                    };
                    return Ok(Err(GenesysError::Transient {
                        failure,
                        detail: Box::new(detail),
                    }));
                }
            };
            written = written.saturating_add(chunk.len() as u64);
            if written > max_bytes {
                return Ok(Err(
                    ArchiveProblem::ArchiveTooLarge { limit: max_bytes }.into()
                ));
            }
            if sink.write_all(&chunk).is_err() {
                return Ok(Err(GenesysError::config(
                    "the temporary archive cannot be written (disk full?)",
                )));
            }
        }
        Ok(Ok(written))
    }
}

/// The signed URL was refused: stale, mint another.
struct Stale(Box<ErrorDetail>);

impl From<ArchiveProblem> for GenesysError {
    fn from(problem: ArchiveProblem) -> Self {
        GenesysError::ExportArchiveInvalid(problem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_download_id_is_the_segment_after_downloads() {
        assert_eq!(
            download_id("https://apps.mypurecloud.ie/platform/api/v2/downloads/abc-123").as_deref(),
            Some("abc-123")
        );
        assert_eq!(
            download_id("/api/v2/downloads/x1?issueRedirect=true").as_deref(),
            Some("x1")
        );
        assert_eq!(download_id("https://a/results/1"), None);
        assert_eq!(download_id("https://a/api/v2/downloads/"), None);
        assert_eq!(download_id("https://a/api/v2/downloads/a/b"), None);
    }
}
