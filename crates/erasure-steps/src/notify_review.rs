//! NotifyReview (the AwaitDecision Task's function): sends the review summary to the
//! DPO with the task token, and returns. The execution then waits for the approval
//! endpoint's `SendTaskSuccess` (approve) or `SendTaskFailure` `ReviewRejected`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use clock::SharedClock;
use serde::{Deserialize, Serialize};

use crate::error::StepError;
use crate::gdpr::check_ticket_id;
use crate::ports::{ReviewNotice, ReviewNotifier};
use crate::state::ReviewSummary;

#[derive(Debug, Clone)]
pub struct Deps {
    pub notifier: Arc<dyn ReviewNotifier>,
    pub clock: SharedClock,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub ticket_id: String,
    pub execution_id: String,
    pub task_token: String,
    pub review: ReviewSummary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub notified: bool,
    #[serde(with = "erasure_core::time::utc_z")]
    pub at: DateTime<Utc>,
}

pub async fn handle(deps: &Deps, input: Input) -> Result<Output, StepError> {
    let ticket_id = check_ticket_id(&input.ticket_id)?;
    if input.task_token.trim().is_empty() {
        return Err(StepError::input(
            "taskToken is empty: nobody could answer the review",
        ));
    }
    let at = deps.clock.now();
    let notice = ReviewNotice {
        ticket_id: ticket_id.to_owned(),
        execution_id: input.execution_id,
        task_token: input.task_token,
        approval_url: None,
        review: input.review,
        sent_at: at,
    };
    deps.notifier.notify(&notice).await?;
    tracing::info!(ticket_id, decision = ?notice.review.decision, "review summary sent to the DPO");
    Ok(Output { notified: true, at })
}
