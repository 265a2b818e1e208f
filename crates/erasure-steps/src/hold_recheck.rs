//! The holds read again immediately before anything is erased. A review can be up to
//! 14 days old when it is approved; a hold that appeared meanwhile (in the legal-hold
//! register, or as Genesys deletion protection) must narrow or defer the ticket
//! exactly as it would have at review, and is never overridden. So a change that
//! concerns the subject's data in scope is `HoldsChangedSinceReview`, which the
//! definition answers by reviewing the ticket again; one that does not (another
//! matter's hold, an expired one) lets the erasure go on, and the record names both
//! versions of the register.

use std::sync::Arc;

use erasure_core::deadline::{DeadlineConfig, local_date};
use erasure_core::hold::{
    ActiveHold, Deferral, HeldConversation, LegalHold, WithholdReason, parse_register,
    unreviewed_holds,
};
use erasure_core::identifiers::ConversationId;
use genesys::GenesysClient;
use serde::Deserialize;

use crate::error::StepError;
use crate::gdpr::{GenesysDeps, sha256_of};
use crate::ports::HoldRegisterSource;
use crate::state::IdentifiersSection;

/// The ports of the steps that erase (Erase, PurgeRecordings): Genesys (and the
/// ledger it keeps), and the legal-hold register they read again first.
#[derive(Debug, Clone)]
pub struct Deps {
    pub genesys: GenesysDeps,
    pub holds: Arc<dyn HoldRegisterSource>,
}

/// What the review weighed (`$.review`, `$.identifiers`, the clock's time zone).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HoldsAtReview {
    /// The register's version the review read (`None` for a review made before it
    /// was recorded: every hold concerning the subject then counts as new).
    pub register_digest: Option<String>,
    pub identifiers: IdentifiersSection,
    pub in_scope: Vec<ConversationId>,
    pub withheld: Vec<HeldConversation>,
    pub deferral: Option<Deferral>,
    pub time_zone: String,
}

/// The register as read now: its version, and the holds concerning the ticket that
/// the review did not weigh (none when its bytes are unchanged).
#[derive(Debug, Clone)]
pub struct RegisterNow {
    pub digest: String,
    pub new_holds: Vec<LegalHold>,
}

impl RegisterNow {
    /// The new hold that may cover the conversation: one naming it, or one naming the
    /// subject (its conversations' dates are the review's: every one may be held).
    pub fn holding(&self, c: &ConversationId) -> Option<&LegalHold> {
        (self.new_holds.iter())
            .find(|h| !h.subject_refs.is_empty() || h.conversation_ids.contains(c))
    }
}

/// Reads the register again and finds what the review did not weigh.
pub async fn read_register(
    holds: &dyn HoldRegisterSource,
    at_review: &HoldsAtReview,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<RegisterNow, StepError> {
    let bytes = holds.load().await?;
    let digest = sha256_of(&bytes);
    if at_review.register_digest.as_deref() == Some(digest.as_str()) {
        return Ok(RegisterNow {
            digest,
            new_holds: Vec::new(),
        });
    }
    let register = parse_register(&bytes)?;
    let tz = DeadlineConfig::parse_time_zone(&at_review.time_zone)
        .map_err(|_| StepError::input("holdsAtReview.timeZone is not an IANA time zone"))?;
    let mut reviewed: Vec<ActiveHold> = (at_review.withheld.iter())
        .filter_map(|h| {
            h.hold_id.as_ref().map(|id| ActiveHold {
                hold_id: id.clone(),
                expiry: h.hold_expiry,
            })
        })
        .collect();
    reviewed.extend(at_review.deferral.iter().flat_map(|d| d.holds.clone()));
    let refs: Vec<_> = (at_review.identifiers.items.iter())
        .map(|i| i.identifier_ref.clone())
        .collect();
    let new_holds = unreviewed_holds(
        &register,
        &at_review.identifiers.key_id,
        &at_review.in_scope,
        &refs,
        &reviewed,
        local_date(now, tz),
    )?;
    Ok(RegisterNow { digest, new_holds })
}

/// Erase, before its first GDPR_DELETE: the register and the deletion protection of
/// the conversations in scope read again; the register's version when nothing
/// concerning the subject changed, else `HoldsChangedSinceReview`.
pub async fn recheck(
    holds: &dyn HoldRegisterSource,
    client: &GenesysClient,
    at_review: &HoldsAtReview,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, StepError> {
    let register = read_register(holds, at_review, now).await?;
    if !register.new_holds.is_empty() {
        let ids: Vec<&str> = (register.new_holds.iter())
            .map(|h| h.hold_id.as_str())
            .collect();
        return Err(StepError::HoldsChangedSinceReview(format!(
            "{} legal hold(s) in force that the review did not weigh: {}",
            ids.len(),
            ids.join(", ")
        )));
    }
    let already: Vec<&ConversationId> = (at_review.withheld.iter())
        .filter(|h| h.reason == WithholdReason::DeletionProtection)
        .map(|h| &h.conversation_id)
        .collect();
    let ids: Vec<String> = (at_review.in_scope.iter())
        .filter(|c| !already.contains(c))
        .map(|c| c.as_str().to_owned())
        .collect();
    if !ids.is_empty() {
        let protected = client.protected_conversations(&ids).await?;
        if !protected.is_empty() {
            return Err(StepError::HoldsChangedSinceReview(format!(
                "{} conversation(s) in scope put under Genesys deletion protection since the review",
                protected.len()
            )));
        }
    }
    Ok(register.digest)
}
