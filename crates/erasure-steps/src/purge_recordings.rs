//! PurgeRecordings: the GDPR API has no recording flag, so the recordings of the
//! subject's in-scope conversations are deleted one by one (`deleteDate` = now), when
//! the ticket asks for it.
//!
//! Deletion protection and the legal-hold register are checked again first (a hold
//! can arrive after the review): a protected conversation, or one a hold the review
//! did not weigh may cover (every one, when the new hold names the subject), is never
//! touched and its recordings are reported as not purged. A recording Genesys no
//! longer has (its conversation went with the GDPR delete, or it is already DELETED)
//! is confirmed gone: that is what the record's
//! `purged` list proves. Idempotent: a retry finds the recordings DELETED.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use erasure_core::identifiers::{ConversationId, EntityId};
use erasure_core::record::{FailedRecording, PurgedRecording, RecordingRef};
use genesys::{FileState, GenesysError};
use serde::{Deserialize, Serialize};

use crate::error::StepError;
use crate::gdpr::check_ticket_id;
use crate::hold_recheck::{HoldsAtReview, read_register};

pub type Deps = crate::hold_recheck::Deps;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub ticket_id: String,
    pub conversation_ids: Vec<ConversationId>,
    /// The recordings the review knew of (so that ones gone with their conversation
    /// can be confirmed).
    #[serde(default)]
    pub recordings: Vec<RecordingRef>,
    /// What the review weighed (`None` from a definition that predates the check:
    /// then only deletion protection is read again).
    #[serde(default)]
    pub holds_at_review: Option<HoldsAtReview>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Output {
    /// Always `purge`.
    pub step: String,
    pub purged: Vec<PurgedRecording>,
    pub failed: Vec<FailedRecording>,
    /// Conversations found under deletion protection now, and left alone.
    pub protected_conversations: Vec<ConversationId>,
    /// Conversations a legal hold placed after the review may cover, left alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_since_review: Vec<ConversationId>,
    #[serde(with = "erasure_core::time::utc_z")]
    pub at: DateTime<Utc>,
}

pub async fn handle(deps: &Deps, input: Input) -> Result<Output, StepError> {
    let ticket_id = check_ticket_id(&input.ticket_id)?;
    let client = &deps.genesys.client;
    let clock = &deps.genesys.clock;
    let register = match &input.holds_at_review {
        Some(at_review) => Some(read_register(deps.holds.as_ref(), at_review, clock.now()).await?),
        None => None,
    };
    let ids: Vec<String> = input
        .conversation_ids
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    let protected: BTreeSet<String> = client
        .protected_conversations(&ids)
        .await?
        .into_iter()
        .filter_map(|r| r.id)
        .collect();
    let mut known: BTreeMap<&ConversationId, BTreeSet<&EntityId>> = BTreeMap::new();
    for r in &input.recordings {
        known
            .entry(&r.conversation_id)
            .or_default()
            .insert(&r.recording_id);
    }

    let mut purged = Vec::new();
    let mut failed = Vec::new();
    let mut protected_conversations = Vec::new();
    let mut held_since_review = Vec::new();
    for cid in &input.conversation_ids {
        let known_here = known.get(cid).cloned().unwrap_or_default();
        if let Some(hold) = register.as_ref().and_then(|r| r.holding(cid)) {
            held_since_review.push(cid.clone());
            for rid in known_here {
                failed.push(FailedRecording {
                    conversation_id: cid.clone(),
                    recording_id: rid.clone(),
                    error: format!(
                        "legal hold {} was placed after the review; not touched",
                        hold.hold_id
                    ),
                });
            }
            continue;
        }
        if protected.contains(cid.as_str()) {
            protected_conversations.push(cid.clone());
            for rid in known_here {
                failed.push(FailedRecording {
                    conversation_id: cid.clone(),
                    recording_id: rid.clone(),
                    error: "deletion protection was applied after the review; not touched".into(),
                });
            }
            continue;
        }
        let listed = match client.list_recording_metadata(cid.as_str()).await {
            Ok(list) => list,
            // The conversation is gone, and its recordings with it.
            Err(GenesysError::NotFound(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let mut seen: BTreeSet<EntityId> = BTreeSet::new();
        for r in listed {
            let Some(rid) = r.id.as_deref().and_then(|id| id.parse::<EntityId>().ok()) else {
                continue;
            };
            seen.insert(rid.clone());
            if r.file_state == Some(FileState::Deleted) {
                purged.push(gone(cid, &rid, clock.now()));
                continue;
            }
            match client
                .set_recording_delete_date(cid.as_str(), rid.as_str(), clock.now())
                .await
            {
                Ok(_) | Err(GenesysError::NotFound(_)) => purged.push(gone(cid, &rid, clock.now())),
                Err(e) if e.is_retryable() => return Err(e.into()),
                // Refused, but maybe because an earlier attempt whose answer was lost
                // already deleted it (Genesys refuses a delete date on a DELETED
                // recording): look again before calling it a gap.
                Err(e) if confirmed_deleted(client, cid, &rid).await? => {
                    tracing::info!(
                        ticket_id,
                        error = e.name(),
                        "recording refused a delete date but is deleted already"
                    );
                    purged.push(gone(cid, &rid, clock.now()))
                }
                Err(e) => failed.push(FailedRecording {
                    conversation_id: cid.clone(),
                    recording_id: rid.clone(),
                    error: format!("{}: {}", e.name(), short(&e)),
                }),
            }
        }
        // Known from the export but no longer listed: gone.
        for rid in known_here.into_iter().filter(|r| !seen.contains(*r)) {
            purged.push(gone(cid, rid, clock.now()));
        }
    }
    tracing::info!(
        ticket_id,
        conversations = input.conversation_ids.len(),
        purged = purged.len(),
        failed = failed.len(),
        protected = protected_conversations.len(),
        held = held_since_review.len(),
        "recordings purged"
    );
    Ok(Output {
        step: "purge".to_owned(),
        purged,
        failed,
        protected_conversations,
        held_since_review,
        at: clock.now(),
    })
}

/// Whether Genesys now lists the recording as DELETED, or no longer has it.
async fn confirmed_deleted(
    client: &genesys::GenesysClient,
    cid: &ConversationId,
    rid: &EntityId,
) -> Result<bool, StepError> {
    match client.list_recording_metadata(cid.as_str()).await {
        Ok(list) => Ok(list
            .iter()
            .find(|r| r.id.as_deref() == Some(rid.as_str()))
            .is_none_or(|r| r.file_state == Some(FileState::Deleted))),
        Err(GenesysError::NotFound(_)) => Ok(true),
        Err(e) => Err(e.into()),
    }
}

fn gone(cid: &ConversationId, rid: &EntityId, at: DateTime<Utc>) -> PurgedRecording {
    PurgedRecording {
        conversation_id: cid.clone(),
        recording_id: rid.clone(),
        at,
    }
}

/// The status and Genesys code of a failed call (its message names no identifier).
fn short(e: &GenesysError) -> String {
    match e.detail() {
        Some(d) => format!(
            "status {}{}",
            d.status
                .map_or_else(|| "none".to_owned(), |s| s.to_string()),
            d.code
                .as_deref()
                .map(|c| format!(", code {c}"))
                .unwrap_or_default()
        ),
        None => e.to_string(),
    }
}
