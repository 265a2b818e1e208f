//! Who answers the review gate on one machine: the DPO of `gdpr-erasure run
//! --decision`, the demo's named DPO, a terminal prompt (in the CLI), or nobody yet
//! (a test answers through the runner itself).

use async_trait::async_trait;
use clock::SharedClock;
use erasure_core::identifiers::Email;
use erasure_core::pseudonym::{Pseudonym, Pseudonymiser};
use erasure_core::record::ApprovalDecision;

use crate::state::ReviewSummary;
use crate::write_record::ApprovalInput;

/// The answer to one review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewAnswer {
    /// `SendTaskSuccess` with this approval.
    Approve(ApprovalInput),
    /// `SendTaskFailure` `ReviewRejected`, this as the cause.
    Reject(ApprovalInput),
    /// `SendTaskFailure` `ReviewNotAnswered` (no one could answer, e.g. no terminal).
    NoAnswer(String),
    /// Leave the Task waiting; someone calls the runner's callbacks later.
    Later,
}

#[async_trait]
pub trait Reviewer: Send + Sync {
    async fn answer(&self, summary: &ReviewSummary) -> ReviewAnswer;
}

/// A named reviewer who always decides the same way.
#[derive(Debug, Clone)]
pub struct Decider {
    pub decision: Option<ApprovalDecision>,
    pub actor_ref: Pseudonym,
    pub role: String,
    pub channel: String,
    pub clock: SharedClock,
}

impl Decider {
    /// `decision: None` leaves every review waiting.
    pub fn new(
        decision: Option<ApprovalDecision>,
        who: &Email,
        role: &str,
        channel: &str,
        pseudonymiser: &Pseudonymiser,
        clock: SharedClock,
    ) -> Self {
        Decider {
            decision,
            actor_ref: pseudonymiser.actor(who),
            role: role.to_owned(),
            channel: channel.to_owned(),
            clock,
        }
    }

    /// The approval this reviewer gives now.
    pub fn approval(&self, decision: ApprovalDecision) -> ApprovalInput {
        ApprovalInput {
            decision: Some(decision),
            actor_ref: self.actor_ref.clone(),
            role: self.role.clone(),
            at: self.clock.now(),
            channel: self.channel.clone(),
            reason_code: None,
            issuer: None,
            first_approval: None,
        }
    }
}

#[async_trait]
impl Reviewer for Decider {
    async fn answer(&self, _summary: &ReviewSummary) -> ReviewAnswer {
        match self.decision {
            Some(ApprovalDecision::Approve) => {
                ReviewAnswer::Approve(self.approval(ApprovalDecision::Approve))
            }
            Some(ApprovalDecision::Reject) => {
                ReviewAnswer::Reject(self.approval(ApprovalDecision::Reject))
            }
            None => ReviewAnswer::Later,
        }
    }
}
