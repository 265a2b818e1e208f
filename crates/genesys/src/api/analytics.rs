//! Analytics conversation details (contract 5.3).

use reqwest::Method;

use crate::client::{GenesysClient, check_id};
use crate::error::GenesysError;
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::client::transport::Call;
use crate::models::{
    AnalyticsConversation, AnalyticsConversationQueryResponse, ConversationQuery, Interval,
    MAX_DETAILS_QUERY_INTERVAL, MIN_DETAILS_QUERY_INTERVAL, PagingSpec,
};

impl GenesysClient {
    /// `POST /api/v2/analytics/conversations/details/query`: one page, as the query's
    /// `paging` asks (Genesys default: 25 per page, page 1). An interval longer than
    /// [`MAX_DETAILS_QUERY_INTERVAL`] is refused locally: ask
    /// [`Self::conversation_details_between`] for longer spans.
    pub async fn query_conversation_details(
        &self,
        query: &ConversationQuery,
    ) -> Result<AnalyticsConversationQueryResponse, GenesysError> {
        if query.interval.length() > MAX_DETAILS_QUERY_INTERVAL {
            return Err(GenesysError::invalid_request(format!(
                "the details query interval is longer than {} days",
                MAX_DETAILS_QUERY_INTERVAL.num_days()
            )));
        }
        if let Some(PagingSpec {
            page_size,
            page_number,
        }) = query.paging
            && (page_size == 0 || page_number == 0)
        {
            return Err(GenesysError::invalid_request(
                "paging.pageSize and paging.pageNumber start at 1",
            ));
        }
        let url = self.api_url(&["analytics", "conversations", "details", "query"])?;
        let call = Call::new(
            Method::POST,
            "/api/v2/analytics/conversations/details/query",
            url,
        )
        .json(query)?
        .read_only();
        self.execute(&call).await?.json()
    }

    /// Every conversation the query matches, page by page from page 1 (page size from
    /// the query's `paging`, else the client's), until a short or empty page or
    /// `totalHits` conversations.
    pub async fn query_conversation_details_all(
        &self,
        query: &ConversationQuery,
    ) -> Result<Vec<AnalyticsConversation>, GenesysError> {
        let page_size = query
            .paging
            .map(|p| p.page_size)
            .unwrap_or(self.inner.page_size);
        let mut query = query.clone();
        let mut all = Vec::new();
        let mut page_number = 1;
        loop {
            query.paging = Some(PagingSpec {
                page_size,
                page_number,
            });
            let page = self.query_conversation_details(&query).await?;
            let received = page.conversations.len();
            all.extend(page.conversations);
            let short = u32::try_from(received).is_ok_and(|n| n < page_size);
            let reached_total = page
                .total_hits
                .is_some_and(|total| u64::try_from(all.len()).map_or(true, |n| n >= total));
            if received == 0 || short || reached_total {
                break;
            }
            page_number += 1;
        }
        Ok(all)
    }

    /// Every conversation matching `query`'s filters that started in `[from, to)`:
    /// asked in consecutive intervals of at most [`MAX_DETAILS_QUERY_INTERVAL`], none
    /// ending after the client's clock, post-filtered on exact start times (the query
    /// answers per day touched) and deduplicated by id. `query.interval` is ignored.
    /// A 413 (the interval or its result set too large for the org) halves the slice,
    /// down to [`MIN_DETAILS_QUERY_INTERVAL`]; a 413 on that is the caller's error.
    pub async fn conversation_details_between(
        &self,
        query: &ConversationQuery,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AnalyticsConversation>, GenesysError> {
        let end = to.min(self.inner.clock.now());
        let mut step = MAX_DETAILS_QUERY_INTERVAL;
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let mut start = from;
        while start < end {
            let slice = Interval::new(start, (start + step).min(end))
                .map_err(|e| GenesysError::invalid_request(e.to_string()))?;
            let mut q = query.clone();
            q.interval = slice;
            let found = match self.query_conversation_details_all(&q).await {
                Err(GenesysError::Rejected(d))
                    if d.status == Some(413) && step > MIN_DETAILS_QUERY_INTERVAL =>
                {
                    step = (step / 2).max(MIN_DETAILS_QUERY_INTERVAL);
                    tracing::debug!(days = step.num_days(), "details query too large: halving");
                    continue;
                }
                other => other?,
            };
            for c in found {
                let inside = c
                    .conversation_start
                    .is_some_and(|s| s >= slice.start() && s < slice.end());
                let new = c
                    .conversation_id
                    .as_ref()
                    .is_none_or(|id| seen.insert(id.clone()));
                if inside && new {
                    out.push(c);
                }
            }
            start = slice.end();
        }
        Ok(out)
    }

    /// `GET /api/v2/analytics/conversations/{conversationId}/details`.
    pub async fn get_conversation_details(
        &self,
        conversation_id: &str,
    ) -> Result<AnalyticsConversation, GenesysError> {
        check_id("conversation id", conversation_id)?;
        let url = self.api_url(&["analytics", "conversations", conversation_id, "details"])?;
        let call = Call::new(
            Method::GET,
            "/api/v2/analytics/conversations/{conversationId}/details",
            url,
        );
        self.execute(&call).await?.json()
    }
}
