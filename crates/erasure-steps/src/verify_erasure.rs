//! VerifyErasure: evidence, not trust. After the deletion (or after an ERROR, to know
//! what is left), which in-scope conversations does Genesys still have?

use chrono::{DateTime, Utc};
use erasure_core::identifiers::ConversationId;
use genesys::GenesysError;
use serde::{Deserialize, Serialize};

use crate::error::StepError;
use crate::gdpr::{GenesysDeps, check_ticket_id};

pub type Deps = GenesysDeps;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub ticket_id: String,
    pub conversation_ids: Vec<ConversationId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Output {
    /// Always `verify`: the record tells the AfterErasure branches apart by it.
    pub step: String,
    pub checked: usize,
    /// Genesys answers 404 for them.
    pub erased: Vec<ConversationId>,
    /// Genesys still has them.
    pub remaining: Vec<ConversationId>,
    #[serde(with = "erasure_core::time::utc_z")]
    pub at: DateTime<Utc>,
}

pub async fn handle(deps: &Deps, input: Input) -> Result<Output, StepError> {
    let ticket_id = check_ticket_id(&input.ticket_id)?;
    let mut erased = Vec::new();
    let mut remaining = Vec::new();
    for cid in &input.conversation_ids {
        match deps.client.get_conversation_details(cid.as_str()).await {
            Ok(_) => remaining.push(cid.clone()),
            Err(GenesysError::NotFound(_)) => erased.push(cid.clone()),
            Err(e) => return Err(e.into()),
        }
    }
    tracing::info!(
        ticket_id,
        checked = input.conversation_ids.len(),
        erased = erased.len(),
        remaining = remaining.len(),
        "erasure verified against Genesys"
    );
    Ok(Output {
        step: "verify".to_owned(),
        checked: input.conversation_ids.len(),
        erased,
        remaining,
        at: deps.clock.now(),
    })
}
