//! What the console reads and where its decisions go, behind small traits: the local
//! runner and archive on one machine (`gdpr-erasure console`), Step Functions and the
//! S3 archive in AWS.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use erasure_steps::write_record::ApprovalInput;
use serde_json::Value;

/// The state the definition waits in for the DPO.
pub const AWAIT_DECISION_STATE: &str = endpoints::approval::AWAIT_DECISION_STATE;

/// One running execution (one ticket), as the console needs it.
#[derive(Clone)]
pub struct RunningTicket {
    pub ticket_id: String,
    pub execution_id: String,
    pub started_at: DateTime<Utc>,
    /// The state it is in now.
    pub current_state: Option<String>,
    /// When it entered that state.
    pub since: Option<DateTime<Utc>>,
    /// The execution state as the current state received it (holds `clock`, `review`,
    /// and the ticket's own identifiers in `subject`).
    pub state_input: Option<Value>,
    /// The task token of an `AwaitDecision` that waits for an answer.
    pub task_token: Option<String>,
}

impl std::fmt::Debug for RunningTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningTicket")
            .field("ticket_id", &self.ticket_id)
            .field("current_state", &self.current_state)
            .finish_non_exhaustive()
    }
}

impl RunningTicket {
    /// Waiting for the DPO, with a token to answer.
    pub fn awaits_decision(&self) -> bool {
        self.current_state.as_deref() == Some(AWAIT_DECISION_STATE) && self.task_token.is_some()
    }
}

/// The DPO's answer, in the form the definition's `AwaitDecision` takes: approve is
/// `SendTaskSuccess` with the approval, reject is `SendTaskFailure` `ReviewRejected`
/// with the approval as its cause (what the approval endpoint and the local reviewer
/// send; WriteRecord reads either into `decisions.approval`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Approve(ApprovalInput),
    Reject(ApprovalInput),
}

/// Why the executions could not be read or answered. No identifier in any message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The review was answered already, timed out, or its execution ended.
    #[error("the review is no longer waiting: {0}")]
    NotWaiting(String),
    #[error("the executions could not be read or answered: {0}")]
    Unavailable(String),
}

/// The running executions, and the callbacks that answer a review.
#[async_trait]
pub trait Executions: Send + Sync {
    /// Every running execution of the pipeline's state machine.
    async fn running(&self) -> Result<Vec<RunningTicket>, BackendError>;
    /// Sends the answer for the task token (to the execution that waits for it).
    async fn answer(&self, task_token: &str, answer: &Answer) -> Result<(), BackendError>;
}

/// A document about a ticket other than its records (the letter to the data subject,
/// the erasure certificate), linked from the ticket's page when present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketDocument {
    /// What it is, for people ("Letter to the data subject").
    pub title: String,
    /// Where the console serves or finds it.
    pub href: String,
}

/// Letters and certificates (`documents::ArchiveDocuments`): the ticket page links
/// what exists, and the console serves each.
#[async_trait]
pub trait TicketDocuments: Send + Sync {
    async fn documents(&self, ticket_id: &str) -> Vec<TicketDocument>;
    /// The certificate of erasure as an HTML page; `None` without a record.
    async fn certificate(
        &self,
        ticket_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, BackendError>;
    /// A letter of the latest record, as HTML; `None` if it has no such letter.
    async fn letter(
        &self,
        ticket_id: &str,
        kind: &str,
        language: &str,
    ) -> Result<Option<String>, BackendError>;
}

/// Four-eyes approvals: the first approval of a review, held until a second person
/// approves, where every console instance sees it (in memory on one machine, S3 on
/// AWS: `aws::S3FirstApprovals`).
#[async_trait]
pub trait FirstApprovals: Send + Sync {
    async fn get(&self, task_token: &str) -> Result<Option<ApprovalInput>, BackendError>;
    /// Holds `first` unless a first approval is held already (another person's, made
    /// meanwhile): `false` then, and nothing changed.
    async fn put(&self, task_token: &str, first: ApprovalInput) -> Result<bool, BackendError>;
    /// Once the review is answered (or no longer waits).
    async fn remove(&self, task_token: &str);
}

/// First approvals in this process's memory.
#[derive(Debug, Default)]
pub struct MemoryFirstApprovals {
    held: tokio::sync::Mutex<std::collections::HashMap<String, ApprovalInput>>,
}

#[async_trait]
impl FirstApprovals for MemoryFirstApprovals {
    async fn get(&self, task_token: &str) -> Result<Option<ApprovalInput>, BackendError> {
        Ok(self.held.lock().await.get(task_token).cloned())
    }
    async fn put(&self, task_token: &str, first: ApprovalInput) -> Result<bool, BackendError> {
        let mut held = self.held.lock().await;
        if held.contains_key(task_token) {
            return Ok(false);
        }
        held.insert(task_token.to_owned(), first);
        Ok(true)
    }
    async fn remove(&self, task_token: &str) {
        self.held.lock().await.remove(task_token);
    }
}
