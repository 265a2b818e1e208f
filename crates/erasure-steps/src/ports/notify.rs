//! The two notifications to people's tools: the review summary to the DPO (with the
//! task token the approval endpoint answers with), and the outcome to the DSAR tool.
//! Neither carries an identifier of the subject.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StepError;
use crate::state::ReviewSummary;
use signing::{Endpoint, KeyRing, PostOutcome, SignedPost, http_client};

/// What the DPO is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewNotice {
    pub ticket_id: String,
    pub execution_id: String,
    /// The capability the approval endpoint completes the waiting Task with.
    pub task_token: String,
    pub approval_url: Option<String>,
    pub review: ReviewSummary,
    #[serde(with = "erasure_core::time::utc_z")]
    pub sent_at: DateTime<Utc>,
}

#[async_trait]
pub trait ReviewNotifier: Send + Sync + std::fmt::Debug {
    async fn notify(&self, notice: &ReviewNotice) -> Result<(), StepError>;
}

/// What the DSAR tool is told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketReport {
    pub ticket_id: String,
    pub outcome: String,
    pub record_key: String,
    pub record_digest: String,
    pub sequence: u64,
    #[serde(with = "erasure_core::time::utc_z")]
    pub reported_at: DateTime<Utc>,
    /// The letters to the data subject, each with its SHA-256 as the record holds it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub letters: Vec<letters::Letter>,
}

#[async_trait]
pub trait TicketReporter: Send + Sync + std::fmt::Debug {
    async fn report(&self, report: &TicketReport) -> Result<(), StepError>;
}

/// `REVIEW_ENDPOINT_URL`, signed with the review key.
#[derive(Debug, Clone)]
pub struct HttpReviewNotifier {
    pub endpoint: Endpoint,
    pub approval_url: Option<String>,
    pub key: KeyRing,
    pub timeout: Duration,
    pub http: reqwest::Client,
}

impl HttpReviewNotifier {
    pub fn new(endpoint: Endpoint, approval_url: Option<String>, key: KeyRing) -> Self {
        HttpReviewNotifier {
            endpoint,
            approval_url,
            key,
            timeout: Duration::from_secs(20),
            http: http_client(),
        }
    }
}

#[async_trait]
impl ReviewNotifier for HttpReviewNotifier {
    async fn notify(&self, notice: &ReviewNotice) -> Result<(), StepError> {
        let mut notice = notice.clone();
        if notice.approval_url.is_none() {
            notice.approval_url.clone_from(&self.approval_url);
        }
        let body = serde_json::to_vec(&notice)
            .map_err(|e| StepError::input(format!("the review notice cannot be encoded: {e}")))?;
        let key = format!("{}/review", notice.ticket_id);
        let post = SignedPost {
            endpoint: &self.endpoint,
            keys: &self.key,
            timestamp: notice.sent_at.timestamp(),
            body: &body,
            idempotency_key: &key,
            timeout: self.timeout,
        };
        match post.send(&self.http).await {
            PostOutcome::Accepted { .. } => Ok(()),
            PostOutcome::Unavailable(d) => Err(StepError::ReviewerUnavailable(d)),
            PostOutcome::Refused { status } => {
                Err(StepError::ReviewerRejected(format!("HTTP {status}")))
            }
        }
    }
}

/// `TICKET_CALLBACK_URL`, signed with the ticket key.
#[derive(Debug, Clone)]
pub struct HttpTicketReporter {
    pub endpoint: Endpoint,
    pub key: KeyRing,
    pub timeout: Duration,
    pub http: reqwest::Client,
}

impl HttpTicketReporter {
    pub fn new(endpoint: Endpoint, key: KeyRing) -> Self {
        HttpTicketReporter {
            endpoint,
            key,
            timeout: Duration::from_secs(20),
            http: http_client(),
        }
    }
}

#[async_trait]
impl TicketReporter for HttpTicketReporter {
    async fn report(&self, report: &TicketReport) -> Result<(), StepError> {
        let body = serde_json::to_vec(report)
            .map_err(|e| StepError::input(format!("the report cannot be encoded: {e}")))?;
        let key = format!("{}/{}", report.ticket_id, report.sequence);
        let post = SignedPost {
            endpoint: &self.endpoint,
            keys: &self.key,
            timestamp: report.reported_at.timestamp(),
            body: &body,
            idempotency_key: &key,
            timeout: self.timeout,
        };
        match post.send(&self.http).await {
            PostOutcome::Accepted { .. } => Ok(()),
            PostOutcome::Unavailable(d) => Err(StepError::TicketSystemUnavailable(d)),
            PostOutcome::Refused { status } => {
                Err(StepError::TicketSystemRejected(format!("HTTP {status}")))
            }
        }
    }
}

/// Keeps the notices (local runs show them; the local reviewer answers them).
#[derive(Debug, Default)]
pub struct MemoryReviewNotifier {
    notices: Mutex<Vec<ReviewNotice>>,
}

impl MemoryReviewNotifier {
    pub fn notices(&self) -> Vec<ReviewNotice> {
        self.notices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[async_trait]
impl ReviewNotifier for MemoryReviewNotifier {
    async fn notify(&self, notice: &ReviewNotice) -> Result<(), StepError> {
        self.notices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(notice.clone());
        Ok(())
    }
}

/// Keeps the reports (local runs print them).
#[derive(Debug, Default)]
pub struct MemoryTicketReporter {
    reports: Mutex<Vec<TicketReport>>,
}

impl MemoryTicketReporter {
    pub fn reports(&self) -> Vec<TicketReport> {
        self.reports
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[async_trait]
impl TicketReporter for MemoryTicketReporter {
    async fn report(&self, report: &TicketReport) -> Result<(), StepError> {
        self.reports
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(report.clone());
        Ok(())
    }
}
