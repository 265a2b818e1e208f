//! GDPR API (contract section 3).

use bytes::Bytes;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::de::DeserializeOwned;
use url::Url;

use crate::client::transport::{Auth, Call, Reply};
use crate::client::{GenesysClient, check_id};
use crate::error::GenesysError;
use crate::models::{
    GdprRequest, GdprRequestEntityListing, GdprRequestType, GdprSubject, GdprSubjectEntityListing,
    NewGdprRequest, SearchType,
};

/// What [`GenesysClient::find_recent_gdpr_request_by_name`] established.
#[derive(Debug)]
pub enum NamedLookup {
    /// Requests of that name created since the time asked, newest first.
    Found(Vec<GdprRequest>),
    /// None was created since then: every newer request was seen.
    Absent,
    /// It cannot be told (why, never an identifier).
    Unsure(&'static str),
}

impl GenesysClient {
    /// `GET /api/v2/gdpr/subjects?searchType=&searchValue=`: the subjects Genesys
    /// knows for one identifier.
    pub async fn search_gdpr_subjects(
        &self,
        search_type: SearchType,
        search_value: &str,
    ) -> Result<Vec<GdprSubject>, GenesysError> {
        if search_value.trim().is_empty() {
            return Err(GenesysError::invalid_request("searchValue is empty"));
        }
        let mut url = self.api_url(&["gdpr", "subjects"])?;
        url.query_pairs_mut()
            .append_pair("searchType", search_type.as_str())
            .append_pair("searchValue", search_value);
        let call = Call::new(Method::GET, "/api/v2/gdpr/subjects", url);
        let listing: GdprSubjectEntityListing = self.execute(&call).await?.json()?;
        Ok(listing.entities)
    }

    /// `POST /api/v2/gdpr/requests[?deleteConfirmed=true]`.
    ///
    /// Refused locally, before any HTTP call, with `InvalidRequest`: a subject with no
    /// identifier; `replacementTerms` on a request that is not GDPR_UPDATE (Genesys
    /// answers 400) or a GDPR_UPDATE without them; a GDPR_DELETE without
    /// `delete_confirmed = true`; `delete_confirmed` on an export or update.
    ///
    /// Not idempotent: retried only after failures that prove the request was not
    /// processed (429, connection not established). A 5xx, time-out or lost
    /// connection after sending gives `GenesysError::Ambiguous` at once; look the
    /// request up by name ([`Self::find_recent_gdpr_request_by_name`]) before submitting
    /// again.
    pub async fn create_gdpr_request(
        &self,
        request: &NewGdprRequest,
        delete_confirmed: bool,
    ) -> Result<GdprRequest, GenesysError> {
        check_new_request(request, delete_confirmed)?;
        let mut url = self.api_url(&["gdpr", "requests"])?;
        if delete_confirmed {
            url.query_pairs_mut().append_pair("deleteConfirmed", "true");
        }
        let call = Call::new(Method::POST, "/api/v2/gdpr/requests", url).json(request)?;
        let created: GdprRequest = self.execute(&call).await?.json()?;
        tracing::info!(
            request_id = created.id.as_str(),
            request_type = created.request_type.as_str(),
            status = created.status.as_ref().map(|s| s.as_str()),
            "genesys GDPR request submitted"
        );
        Ok(created)
    }

    /// `GET /api/v2/gdpr/requests/{requestId}`.
    pub async fn get_gdpr_request(&self, request_id: &str) -> Result<GdprRequest, GenesysError> {
        check_id("request id", request_id)?;
        let url = self.api_url(&["gdpr", "requests", request_id])?;
        let call = Call::new(Method::GET, "/api/v2/gdpr/requests/{requestId}", url);
        self.execute(&call).await?.json()
    }

    /// `GET /api/v2/gdpr/requests?pageSize=&pageNumber=`: one page (1-based).
    pub async fn list_gdpr_requests_page(
        &self,
        page_number: u32,
        page_size: u32,
    ) -> Result<GdprRequestEntityListing, GenesysError> {
        if page_number == 0 || page_size == 0 {
            return Err(GenesysError::invalid_request(
                "pageNumber and pageSize start at 1",
            ));
        }
        let mut url = self.api_url(&["gdpr", "requests"])?;
        url.query_pairs_mut()
            .append_pair("pageSize", &page_size.to_string())
            .append_pair("pageNumber", &page_number.to_string());
        let call = Call::new(Method::GET, "/api/v2/gdpr/requests", url);
        self.execute(&call).await?.json()
    }

    /// Every GDPR request of the org, following `pageCount` through all pages.
    pub async fn list_gdpr_requests(&self) -> Result<Vec<GdprRequest>, GenesysError> {
        let page_size = self.inner.page_size;
        let mut all = Vec::new();
        let mut page_number = 1;
        loop {
            let page = self.list_gdpr_requests_page(page_number, page_size).await?;
            let received = page.entities.len();
            all.extend(page.entities);
            let more = match page.page_count {
                Some(count) => page_number < count,
                // Without pageCount, a full page means there may be another.
                None => u32::try_from(received).is_ok_and(|n| n >= page_size),
            };
            if received == 0 || !more {
                break;
            }
            page_number += 1;
        }
        Ok(all)
    }

    /// Whether a request named `name` was created at or after `not_before`, looking
    /// only at the newest requests: pages of the listing, newest first, until an entry
    /// older than `not_before` (nothing older can be the one looked for) or
    /// `max_pages` pages. Never the org's whole history, which grows for years.
    ///
    /// [`NamedLookup::Unsure`] when the bound ran out first, or the listing is not
    /// newest first (its order is not in the contract): a caller about to submit a
    /// GDPR_DELETE must then stop and escalate, never submit a second one.
    pub async fn find_recent_gdpr_request_by_name(
        &self,
        name: &str,
        not_before: DateTime<Utc>,
        max_pages: u32,
    ) -> Result<NamedLookup, GenesysError> {
        self.find_recent_gdpr_requests_named(&[name], not_before, max_pages)
            .await
    }

    /// [`Self::find_recent_gdpr_request_by_name`] for several names in one read of
    /// the newest requests (a ticket's per-identifier exports): every request whose
    /// name is one of `names`.
    pub async fn find_recent_gdpr_requests_named(
        &self,
        names: &[&str],
        not_before: DateTime<Utc>,
        max_pages: u32,
    ) -> Result<NamedLookup, GenesysError> {
        let page_size = self.inner.page_size;
        let mut found: Vec<GdprRequest> = Vec::new();
        let mut previous: Option<DateTime<Utc>> = None;
        for page_number in 1..=max_pages.max(1) {
            let page = self.list_gdpr_requests_page(page_number, page_size).await?;
            let received = page.entities.len();
            let mut reached_older = false;
            for r in page.entities {
                let Some(created) = r.created_date else {
                    return Ok(NamedLookup::Unsure("a listed request has no createdDate"));
                };
                if previous.is_some_and(|p| created > p) {
                    return Ok(NamedLookup::Unsure(
                        "the request listing is not newest first",
                    ));
                }
                previous = Some(created);
                if created < not_before {
                    reached_older = true;
                    break;
                }
                if r.name.as_deref().is_some_and(|n| names.contains(&n)) {
                    found.push(r);
                }
            }
            let last_page = match page.page_count {
                Some(count) => page_number >= count,
                None => u32::try_from(received).map_or(true, |n| n < page_size),
            };
            if reached_older || received == 0 || last_page {
                return Ok(if found.is_empty() {
                    NamedLookup::Absent
                } else {
                    NamedLookup::Found(found)
                });
            }
        }
        Ok(if found.is_empty() {
            NamedLookup::Unsure("the newest requests did not reach back to the time asked")
        } else {
            NamedLookup::Found(found)
        })
    }

    /// Every GDPR request named `name`, paging through the org's whole history: a test
    /// and audit helper. Steps use [`Self::find_recent_gdpr_request_by_name`].
    pub async fn find_gdpr_requests_by_name(
        &self,
        name: &str,
    ) -> Result<Vec<GdprRequest>, GenesysError> {
        Ok(self
            .list_gdpr_requests()
            .await?
            .into_iter()
            .filter(|r| r.name.as_deref() == Some(name))
            .collect())
    }

    /// Downloads one export result (`resultsUrl` / an entry of `resultsUrls`) as
    /// opaque bytes. The bearer token is sent only when the URL has the API's origin
    /// (scheme, host and port); a relative URL is resolved against the API base.
    pub async fn download_results(&self, results_url: &str) -> Result<Bytes, GenesysError> {
        Ok(self.fetch_results(results_url).await?.body)
    }

    /// [`Self::download_results`], decoded as JSON (Genesys staff say results are
    /// generally JSON; the format is not specified).
    pub async fn download_results_json<T: DeserializeOwned>(
        &self,
        results_url: &str,
    ) -> Result<T, GenesysError> {
        self.fetch_results(results_url).await?.json()
    }

    async fn fetch_results(&self, results_url: &str) -> Result<Reply, GenesysError> {
        let url = self.results_url(results_url)?;
        let same_origin = url.origin() == self.inner.api_base.origin();
        // Never hand the org's token to a host that is not the API.
        let auth = if same_origin {
            Auth::Bearer
        } else {
            Auth::None
        };
        tracing::debug!(same_origin, "downloading GDPR export results");
        let call = Call::new(Method::GET, "{resultsUrl}", url).auth(auth);
        self.execute(&call).await
    }

    fn results_url(&self, results_url: &str) -> Result<Url, GenesysError> {
        let url = self
            .inner
            .api_base
            .join(results_url.trim())
            .map_err(|e| GenesysError::invalid_request(format!("the results URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(GenesysError::invalid_request(
                "the results URL must be an http(s) URL with a host",
            ));
        }
        Ok(url)
    }
}

fn check_new_request(request: &NewGdprRequest, delete_confirmed: bool) -> Result<(), GenesysError> {
    if request.subject.is_empty() {
        return Err(GenesysError::invalid_request(
            "the subject has no identifier: set at least one of name, phoneNumbers, emailAddresses, addresses, userId, externalContactId, externalId, socialHandle, dialerContactId, journeyCustomer",
        ));
    }
    let kind = &request.request_type;
    match kind {
        GdprRequestType::GdprUpdate if request.replacement_terms.is_empty() => {
            return Err(GenesysError::invalid_request(
                "a GDPR_UPDATE needs replacementTerms",
            ));
        }
        GdprRequestType::GdprUpdate => {}
        _ if !request.replacement_terms.is_empty() => {
            return Err(GenesysError::invalid_request(format!(
                "replacementTerms are only allowed on GDPR_UPDATE, not on {kind}"
            )));
        }
        _ => {}
    }
    match kind {
        GdprRequestType::GdprDelete if !delete_confirmed => Err(GenesysError::invalid_request(
            "a GDPR_DELETE must be submitted with delete_confirmed = true",
        )),
        GdprRequestType::GdprExport | GdprRequestType::GdprUpdate if delete_confirmed => {
            Err(GenesysError::invalid_request(format!(
                "delete_confirmed applies only to GDPR_DELETE, not to {kind}"
            )))
        }
        _ => Ok(()),
    }
}
