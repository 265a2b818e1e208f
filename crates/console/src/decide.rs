//! A decision from the console: who (the checked token), which review (the task
//! token of the execution waiting for it), four-eyes where configured, then the
//! same callback the approval endpoint sends.

use erasure_core::record::{ActorDecision, ApprovalDecision};
use erasure_steps::write_record::ApprovalInput;

use crate::auth::Viewer;
use crate::ports::{Answer, BackendError, RunningTicket};
use crate::{CHANNEL, Console, REJECT_REASONS};

/// What the reviewer asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Approve,
    Reject { reason_code: String },
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// Sent: the execution continues (approve) or ends with a record (reject).
    Sent(ApprovalDecision),
    /// Four-eyes: the first approval is held until another person approves.
    FirstApprovalHeld,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    #[error("your role may not decide reviews")]
    NotADecider,
    #[error("no review of this ticket is waiting (already decided, timed out, or never asked)")]
    NotWaiting,
    #[error("choose one of the listed reasons")]
    UnknownReason,
    #[error("four-eyes: you gave the first approval; another person must give the second")]
    SamePerson,
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// The running execution of a ticket that waits for a decision.
pub async fn waiting_ticket(
    console: &Console,
    ticket_id: &str,
) -> Result<Option<RunningTicket>, BackendError> {
    Ok(console
        .executions
        .running()
        .await?
        .into_iter()
        .find(|t| t.ticket_id == ticket_id && t.awaits_decision()))
}

pub async fn decide(
    console: &Console,
    viewer: &Viewer,
    ticket_id: &str,
    request: Request,
) -> Result<Decided, DecideError> {
    let role = viewer
        .decider_role
        .clone()
        .ok_or(DecideError::NotADecider)?;
    let reason_code = match &request {
        Request::Reject { reason_code } => {
            if !REJECT_REASONS.iter().any(|(c, _)| c == reason_code) {
                return Err(DecideError::UnknownReason);
            }
            Some(reason_code.clone())
        }
        Request::Approve => None,
    };
    let ticket = waiting_ticket(console, ticket_id)
        .await?
        .ok_or(DecideError::NotWaiting)?;
    let token = ticket
        .task_token
        .as_deref()
        .ok_or(DecideError::NotWaiting)?;
    let decision = match request {
        Request::Approve => ApprovalDecision::Approve,
        Request::Reject { .. } => ApprovalDecision::Reject,
    };
    let mut mine = ApprovalInput {
        decision: Some(decision),
        actor_ref: viewer.actor_ref(&console.pseudonymiser),
        role,
        at: console.clock.now(),
        channel: CHANNEL.to_owned(),
        reason_code,
        issuer: viewer.issuer.clone(),
        first_approval: None,
    };
    let answer = match decision {
        ApprovalDecision::Reject => Answer::Reject(mine),
        ApprovalDecision::Approve if console.settings.four_eyes => {
            // Twice at most: a first approval another person held meanwhile makes this
            // one the second.
            let mut held = console.first_approvals.get(token).await?;
            if held.is_none() {
                if console.first_approvals.put(token, mine.clone()).await? {
                    tracing::info!(ticket = ticket_id, "console: first approval held");
                    return Ok(Decided::FirstApprovalHeld);
                }
                held = console.first_approvals.get(token).await?;
            }
            match held {
                None => {
                    return Err(DecideError::Backend(BackendError::Unavailable(
                        "the first approval could be neither held nor read".into(),
                    )));
                }
                Some(first) if first.actor_ref == mine.actor_ref => {
                    return Err(DecideError::SamePerson);
                }
                Some(first) => {
                    mine.first_approval = Some(ActorDecision {
                        actor_ref: first.actor_ref,
                        role: first.role,
                        at: first.at,
                    });
                    Answer::Approve(mine)
                }
            }
        }
        ApprovalDecision::Approve => Answer::Approve(mine),
    };
    match console.executions.answer(token, &answer).await {
        Ok(()) => {
            console.first_approvals.remove(token).await;
            let d = match decision {
                ApprovalDecision::Approve => "approve",
                ApprovalDecision::Reject => "reject",
            };
            tracing::info!(
                ticket = ticket_id,
                decision = d,
                "console: decision delivered"
            );
            Ok(Decided::Sent(decision))
        }
        Err(BackendError::NotWaiting(_)) => {
            console.first_approvals.remove(token).await;
            Err(DecideError::NotWaiting)
        }
        Err(e) => Err(e.into()),
    }
}
