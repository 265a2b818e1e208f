//! VerifyErasure: evidence, not trust. After the deletion (or after an ERROR, to know
//! what is left), which in-scope conversations still carry the subject?
//!
//! A GDPR_DELETE redacts: the conversation stays, with its metrics, and the subject's
//! identifiers go from its participants, its recordings with them (live-tenants.md
//! §1). So a conversation counts as erased when Genesys no longer has it (404), or when
//! none of the subject's identifying values (names, numbers, addresses) is left on it,
//! compared as keyed pseudonyms (the
//! step never holds the subject's values, so a later check can run from the record),
//! and it has no recording left. The redaction lands up to [`REDACTION_WINDOW`] after
//! the request reads COMPLETED: until then a conversation still carrying the subject is
//! *pending*, and the step names the time of its next check (`nextCheckAt`), which the
//! definition waits for. Past the window it is *remaining*: a gap. After a delete that
//! ended in ERROR or was given up, nothing is pending: what is left is remaining.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use erasure_core::identifiers::{ConversationId, Email, PersonName, PhoneE164};
use erasure_core::pseudonym::{Pseudonym, Pseudonymiser};
use genesys::{AnalyticsConversation, FileState, GenesysError};
use serde::{Deserialize, Serialize};

use crate::error::StepError;
use crate::gdpr::{GenesysDeps, check_ticket_id};
use crate::state::{IdentifiersSection, RequestSection};

/// How long after COMPLETED a redaction may take to land: "up to 14 days"
/// (live-tenants.md §1).
pub const REDACTION_WINDOW: Duration = Duration::days(14);
/// How often a pending conversation is looked at again, by default.
pub const RECHECK_EVERY: Duration = Duration::days(1);

#[derive(Debug, Clone)]
pub struct Deps {
    pub genesys: GenesysDeps,
    /// The key the ticket's refs were made with (checked against `keyId`).
    pub pseudonymiser: Arc<Pseudonymiser>,
    /// How long to wait before looking at pending conversations again
    /// ([`RECHECK_EVERY`]; `REDACTION_RECHECK_SECONDS`).
    pub recheck_every: Duration,
    /// When to check again after the record, from the delete's completion
    /// ([`crate::reverify`]; `VERIFY_AFTER`, default 1, 7 and 15 days).
    pub later_checks: Vec<Duration>,
}

/// What the VerifyErasure function is asked: a check before the record, or one of the
/// checks after it (the payload carries `checksDone`).
#[derive(Debug, Clone)]
pub enum Event {
    Now(Input),
    Later(crate::reverify::Input),
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = serde_json::Value::deserialize(d)?;
        if v.get("checksDone").is_some() {
            crate::reverify::Input::deserialize(v)
                .map(Event::Later)
                .map_err(D::Error::custom)
        } else {
            Input::deserialize(v)
                .map(Event::Now)
                .map_err(D::Error::custom)
        }
    }
}

/// The answer to an [`Event`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum EventOutput {
    Now(Output),
    Later(crate::reverify::Output),
}

/// The VerifyErasure function: either kind of check.
pub async fn handle_event(deps: &Deps, event: Event) -> Result<EventOutput, StepError> {
    match event {
        Event::Now(i) => handle(deps, i).await.map(EventOutput::Now),
        Event::Later(i) => crate::reverify::handle(deps, i)
            .await
            .map(EventOutput::Later),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub ticket_id: String,
    pub conversation_ids: Vec<ConversationId>,
    /// `$.review.conversations.covered`: those the GDPR_DELETE reaches. Only these can
    /// be pending; one handled per conversation gets no redaction to wait for. Absent
    /// (an earlier version's execution): all of them.
    #[serde(default)]
    pub covered: Option<Vec<ConversationId>>,
    /// `$.identifiers`: the refs that must be gone. Absent (an execution started by
    /// an earlier version): only a 404 counts as erased, as that version decided.
    #[serde(default)]
    pub identifiers: Option<IdentifiersSection>,
    /// `$.deletion`: whether it COMPLETED, and when (the window opens then).
    #[serde(default)]
    pub deletion: Option<RequestSection>,
    /// `$.clock.pollGiveUpAt`: no check is planned after it, so the record is written
    /// before the deadline; what is pending then is recorded as pending.
    #[serde(default, with = "erasure_core::time::option_utc_z")]
    pub give_up_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Output {
    /// Always `verify`: the record tells the AfterErasure branches apart by it.
    pub step: String,
    pub checked: usize,
    /// Gone (404), or left without the subject's identifiers and recordings.
    pub erased: Vec<ConversationId>,
    /// Still carrying the subject inside the redaction window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<ConversationId>,
    /// Still carrying the subject where nothing more will land: a gap.
    pub remaining: Vec<ConversationId>,
    /// When the redaction window closes (a COMPLETED delete only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "erasure_core::time::option_utc_z"
    )]
    pub window_closes_at: Option<DateTime<Utc>>,
    /// When to look again; absent when this check is the last.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "erasure_core::time::option_utc_z"
    )]
    pub next_check_at: Option<DateTime<Utc>>,
    #[serde(with = "erasure_core::time::utc_z")]
    pub at: DateTime<Utc>,
}

/// What one conversation still shows.
pub(crate) enum Seen {
    Gone,
    Clean,
    CarriesSubject,
}

pub async fn handle(deps: &Deps, input: Input) -> Result<Output, StepError> {
    let ticket_id = check_ticket_id(&input.ticket_id)?;
    let now = deps.genesys.clock.now();
    let refs = ticket_refs(deps, input.identifiers.as_ref())?;
    let window_closes_at = input
        .deletion
        .as_ref()
        .and_then(completed_at)
        .map(|t| t + REDACTION_WINDOW);

    let mut erased = Vec::new();
    let mut carrying = Vec::new();
    for cid in &input.conversation_ids {
        match look(deps, cid, refs.as_ref()).await? {
            Seen::Gone | Seen::Clean => erased.push(cid.clone()),
            Seen::CarriesSubject => carrying.push(cid.clone()),
        }
    }
    let open = window_closes_at.is_some_and(|closes| now < closes);
    let covered: Option<BTreeSet<&ConversationId>> =
        input.covered.as_ref().map(|c| c.iter().collect());
    let (pending, remaining): (Vec<_>, Vec<_>) = carrying
        .into_iter()
        .partition(|c| open && covered.as_ref().is_none_or(|cov| cov.contains(c)));
    let next_check_at = match window_closes_at {
        Some(closes) if !pending.is_empty() => {
            let next = (now + deps.recheck_every).min(closes);
            input.give_up_at.is_none_or(|g| next <= g).then_some(next)
        }
        _ => None,
    };
    tracing::info!(
        ticket_id,
        checked = input.conversation_ids.len(),
        erased = erased.len(),
        pending = pending.len(),
        remaining = remaining.len(),
        next_check_at = next_check_at.map(|t| t.to_rfc3339()),
        "erasure verified against Genesys"
    );
    Ok(Output {
        step: "verify".to_owned(),
        checked: input.conversation_ids.len(),
        erased,
        pending,
        remaining,
        window_closes_at,
        next_check_at,
        at: now,
    })
}

/// The ticket's refs, checked to be of this function's key; `None` for an execution
/// started by an earlier version (no refs: only a 404 counts as erased).
pub(crate) fn ticket_refs(
    deps: &Deps,
    identifiers: Option<&IdentifiersSection>,
) -> Result<Option<BTreeSet<Pseudonym>>, StepError> {
    match identifiers {
        Some(ids) if ids.key_id != deps.pseudonymiser.key_id() => {
            Err(StepError::misconfigured(format!(
                "the ticket's identifiers were pseudonymised with key {}, this function has key {}: it cannot tell whether they remain",
                ids.key_id,
                deps.pseudonymiser.key_id()
            )))
        }
        Some(ids) => Ok(Some(
            ids.items.iter().map(|i| i.identifier_ref.clone()).collect(),
        )),
        None => Ok(None),
    }
}

/// When the delete was first seen COMPLETED (else when it was submitted, if it reads
/// COMPLETED without a history); `None` for a delete that did not complete.
pub(crate) fn completed_at(d: &RequestSection) -> Option<DateTime<Utc>> {
    if d.poll.status != "COMPLETED" {
        return None;
    }
    d.poll
        .history
        .iter()
        .find(|o| o.status == "COMPLETED")
        .map(|o| o.observed_at)
        .or(Some(d.submitted_at))
}

pub(crate) async fn look(
    deps: &Deps,
    cid: &ConversationId,
    refs: Option<&BTreeSet<Pseudonym>>,
) -> Result<Seen, StepError> {
    let client = &deps.genesys.client;
    let details = match client.get_conversation_details(cid.as_str()).await {
        Ok(d) => d,
        Err(GenesysError::NotFound(_)) => return Ok(Seen::Gone),
        Err(e) => return Err(e.into()),
    };
    // An earlier version's execution: it knows no refs, and standing is not erased.
    let Some(refs) = refs else {
        return Ok(Seen::CarriesSubject);
    };
    let left = identifier_refs(&deps.pseudonymiser, &details);
    if left.iter().any(|r| refs.contains(r)) {
        tracing::debug!(
            conversation_id = cid.as_str(),
            "still carries an identifier of the subject"
        );
        return Ok(Seen::CarriesSubject);
    }
    // Identifiers gone: the recordings must be seen gone too (listed DELETED, or not
    // listed at all).
    let recordings = match client.list_recording_metadata(cid.as_str()).await {
        Ok(list) => list
            .iter()
            .filter(|r| r.file_state != Some(FileState::Deleted))
            .count(),
        Err(GenesysError::NotFound(_)) => 0,
        Err(e) => return Err(e.into()),
    };
    if recordings > 0 {
        tracing::debug!(
            conversation_id = cid.as_str(),
            recordings,
            "identifiers gone, recordings left"
        );
    }
    Ok(if recordings == 0 {
        Seen::Clean
    } else {
        Seen::CarriesSubject
    })
}

/// The keyed pseudonym of every identifying value the conversation's participants
/// still carry: names, and the addresses of their sessions (phone numbers in any
/// stored spelling, e-mail addresses). Not the user and external contact ids: a
/// redaction leaves those references in place (the contact behind one is anonymised,
/// the user is offboarded on its own path), so their presence proves nothing.
fn identifier_refs(p: &Pseudonymiser, c: &AnalyticsConversation) -> BTreeSet<Pseudonym> {
    let mut out = BTreeSet::new();
    for part in &c.participants {
        if let Some(n) = part
            .participant_name
            .as_ref()
            .and_then(|n| n.expose().parse::<PersonName>().ok())
        {
            out.insert(p.name(&n));
        }
    }
    for v in c.session_addresses() {
        if let Some(n) = PhoneE164::from_any_spelling(v) {
            out.insert(p.phone(&n));
        } else if let Ok(e) = v.trim_start_matches("mailto:").parse::<Email>() {
            out.insert(p.email(&e));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use erasure_core::pseudonym::PseudonymKey;
    use serde_json::json;

    #[test]
    fn every_stored_spelling_of_the_subjects_values_is_seen_and_ids_are_not() {
        let p = Pseudonymiser::new(PseudonymKey::new("k", vec![7; 32]).unwrap());
        let c: AnalyticsConversation = serde_json::from_value(json!({
            "conversationId": "c1",
            "participants": [{
                "participantName": "Liam  WALSH",
                "externalContactId": "0f8fad5b-d9cb-469f-a165-70867728950e",
                "userId": "1f8fad5b-d9cb-469f-a165-70867728950e",
                "sessions": [
                    {"ani": "tel:+353861234567", "dnis": "tel:+35312345678"},
                    {"addressFrom": "Liam.Walsh@Example.ie"}
                ]
            }]
        }))
        .unwrap();
        let seen = identifier_refs(&p, &c);
        let phone = p.phone(&"+353861234567".parse().unwrap());
        let email = p.email(&"liam.walsh@example.ie".parse().unwrap());
        let name = p.name(&"Liam Walsh".parse().unwrap());
        assert!(seen.contains(&phone), "a tel: URI is the number");
        assert!(seen.contains(&email), "an address in any case");
        assert!(seen.contains(&name), "a name as the ticket normalised it");
        // A redaction leaves references: they prove nothing either way.
        let contact = p.external_contact(&"0f8fad5b-d9cb-469f-a165-70867728950e".parse().unwrap());
        assert!(!seen.contains(&contact));
    }
}
