//! Erase: one GDPR_DELETE (`deleteConfirmed=true`) per identifier the review
//! cleared, each naming that identifier alone (`.../delete/email-0`, ...): live orgs
//! are asked one subject per request, and a subject mixing identifiers "may not give
//! the intended match" (live-tenants.md 2). Nothing the review did not clear is named.
//!
//! Each is never sent twice for a ticket, and without paging the org's request history: the
//! submission ledger ([`crate::ports::SubmissionLedger`]) gets the intent before the
//! POST and the request id after it. A retry that finds the id reuses that request in
//! any status, ERROR included (partial processing is escalated, never resubmitted
//! blindly). A retry that finds an intent without an id (`GenesysAmbiguous`, or the
//! function died around the POST) reads only the newest requests, back to the
//! intent: the request found there is adopted; none among requests that reach back
//! past the intent means the POST never landed, and it is sent; a lookup that cannot
//! tell (bound reached, listing not newest first) is `GdprSubmissionUnknown`: a
//! FAILED record and a person, never a second GDPR_DELETE.
//!
//! Before the first GDPR_DELETE it sends, Erase reads the legal-hold register and the
//! deletion protection of the conversations in scope again ([`hold_recheck`]): a hold
//! the review did not weigh is `HoldsChangedSinceReview`, nothing more is sent, and
//! the ticket is reviewed again.

use std::collections::BTreeSet;

use erasure_core::identifiers::PhoneE164;
use erasure_core::record::GdprRequestType;
use genesys::{GdprRequest, GdprSubject, NewGdprRequest};
use serde::Deserialize;

use crate::error::StepError;
use crate::gdpr::{GenesysDeps, check_ticket_id, find_recent, status_of};
use crate::hold_recheck::{self, HoldsAtReview};
use crate::ports::LedgerEntry;
use crate::state::{
    PartIdentifier, RequestSection, Selection, SubjectSection, part_name, request_name,
};

pub type Deps = hold_recheck::Deps;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub ticket_id: String,
    pub subject: SubjectSection,
    pub selection: Selection,
    /// What the review weighed, checked again before any GDPR_DELETE is sent.
    /// `None` from a definition that predates the check (nothing is re-read then).
    #[serde(default)]
    pub holds_at_review: Option<HoldsAtReview>,
    #[serde(default)]
    pub retry_count: u32,
}

pub type Output = RequestSection;

pub async fn handle(deps: &Deps, input: Input) -> Result<Output, StepError> {
    let ticket_id = check_ticket_id(&input.ticket_id)?;
    let g = &deps.genesys;
    let started = g.clock.now();
    if input.selection.is_empty() {
        return Err(StepError::input(
            "the selection names no identifier: there is nothing to delete by",
        ));
    }
    // A ticket erased before deletes went per identifier has its one request under
    // the plain name: that request is the ticket's delete, and nothing new is sent.
    let legacy = request_name(ticket_id, GdprRequestType::GdprDelete);
    let one_by_one: Vec<(Option<PartIdentifier>, String, GdprSubject)> =
        if g.ledger.get(&legacy).await?.is_some() {
            vec![(None, legacy, input.selection.apply(&input.subject)?)]
        } else {
            (input.selection.one_by_one(&input.subject)?.into_iter())
                .map(|(names, subject)| (Some(names), part_name(ticket_id, names), subject))
                .collect()
        };
    let mut known = Vec::with_capacity(one_by_one.len());
    for (names, name, wanted) in one_by_one {
        let existing = existing_delete(g, ticket_id, &name).await?;
        known.push((names, name, wanted, existing));
    }
    // Immediately before the first GDPR_DELETE: the holds, read again. A change that
    // concerns the subject stops everything not yet sent (back to review).
    let register_at_erase = match &input.holds_at_review {
        Some(at_review) if known.iter().any(|k| k.3.is_none()) => Some(
            hold_recheck::recheck(deps.holds.as_ref(), &g.client, at_review, g.clock.now()).await?,
        ),
        _ => None,
    };
    let mut parts = Vec::with_capacity(known.len());
    for (names, name, wanted, existing) in known {
        let (request, reused) = match existing {
            Some(r) => (r, true),
            None => (post_delete(g, &name, &wanted, started).await?, false),
        };
        let subject_matches = reused.then(|| same_identifiers(&request.subject, &wanted));
        tracing::info!(
            ticket_id,
            request_id = request.id.as_str(),
            reused,
            status = status_of(&request).as_str(),
            subject_matches,
            "GDPR delete {}",
            if reused {
                "reused (never resubmitted)"
            } else {
                "submitted"
            }
        );
        parts.push(g.part(names, name, &request, reused, subject_matches));
    }
    // A delete this ticket sent earlier for an identifier this review did not clear
    // (the ticket was decided again) cannot be taken back: it is listed, never
    // resubmitted, and the record escalates the difference.
    let mut earlier_differs = false;
    if parts.iter().all(|p| p.names.is_some()) {
        let selected: Vec<PartIdentifier> = parts.iter().filter_map(|p| p.names).collect();
        let every = Selection::all(&input.subject).one_by_one(&input.subject)?;
        for names in every.into_iter().map(|(n, _)| n) {
            if selected.contains(&names) {
                continue;
            }
            let name = part_name(ticket_id, names);
            // Looked up as a delete of this run would be; one that cannot be settled
            // is a difference a person checks, not a failure of this erasure.
            let earlier = match existing_delete(g, ticket_id, &name).await {
                Err(StepError::SubmissionUnknown(_)) => {
                    earlier_differs = true;
                    None
                }
                other => other?,
            };
            if let Some(request) = earlier {
                earlier_differs = true;
                parts.push(g.part(Some(names), name, &request, true, None));
            }
        }
    }
    let now = g.clock.now();
    let first = parts
        .first()
        .cloned()
        .expect("a selection that is not empty");
    let subject_matches = (parts.iter().any(|p| p.reused))
        .then(|| !earlier_differs && parts.iter().all(|p| p.subject_matches != Some(false)));
    let poll = crate::poll::overall(None, &parts, now);
    Ok(RequestSection {
        request_id: first.request_id,
        request_type: GdprRequestType::GdprDelete,
        name: first.name,
        submitted_at: first.submitted_at,
        reused: parts.iter().all(|p| p.reused),
        first_call_at: started.min(
            parts
                .iter()
                .map(|p| p.submitted_at)
                .min()
                .unwrap_or(started),
        ),
        searches: Vec::new(),
        found: Vec::new(),
        subject_matches,
        fresh: false,
        poll,
        parts,
        expired: Vec::new(),
        hold_register_at_erase: register_at_erase,
    })
}

/// The GDPR_DELETE of that name the ledger (or, after an ambiguous POST, the newest
/// requests) knows; `None` when it must be sent. Never a second: a lookup that cannot
/// tell is `GdprSubmissionUnknown`.
async fn existing_delete(
    g: &GenesysDeps,
    ticket_id: &str,
    name: &str,
) -> Result<Option<GdprRequest>, StepError> {
    match g.ledger.get(name).await? {
        Some(LedgerEntry {
            request_id: Some(id),
            ..
        }) => Ok(Some(g.client.get_gdpr_request(&id).await?)),
        Some(LedgerEntry { intent_at, .. }) => {
            match find_recent(&g.client, name, GdprRequestType::GdprDelete, intent_at).await? {
                Some(found) if !found.is_empty() => {
                    let r = found.into_iter().next().expect("not empty");
                    g.ledger.record_request(name, &r.id).await?;
                    Ok(Some(r))
                }
                Some(_) => {
                    tracing::info!(
                        ticket_id,
                        "no GDPR delete since the recorded intent: the earlier POST never landed"
                    );
                    Ok(None)
                }
                None => Err(StepError::SubmissionUnknown(format!(
                    "{name}: an intent was recorded at {intent_at} without a request id, and the newest requests do not show whether Genesys created one"
                ))),
            }
        }
        None => Ok(None),
    }
}

/// Sends the GDPR_DELETE, the intent written before the POST and the id after it.
async fn post_delete(
    g: &GenesysDeps,
    name: &str,
    wanted: &GdprSubject,
    started: chrono::DateTime<chrono::Utc>,
) -> Result<GdprRequest, StepError> {
    g.ledger.record_intent(name, started).await?;
    let new = NewGdprRequest::delete(wanted.clone()).with_name(name.to_owned());
    let created = g.client.create_gdpr_request(&new, true).await?;
    g.ledger.record_request(name, &created.id).await?;
    Ok(created)
}

/// Whether two GDPR subjects name the same identifiers (e-mails compared
/// case-insensitively, phones as E.164).
fn same_identifiers(a: &GdprSubject, b: &GdprSubject) -> bool {
    fn set(s: &GdprSubject) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for e in &s.email_addresses {
            out.insert(format!("e:{}", e.as_str().trim().to_lowercase()));
        }
        for p in &s.phone_numbers {
            let n = PhoneE164::from_any_spelling(p.as_str())
                .map(|p| p.expose().to_owned())
                .unwrap_or_else(|| p.as_str().to_owned());
            out.insert(format!("p:{n}"));
        }
        if let Some(u) = &s.user_id {
            out.insert(format!("u:{}", u.as_str().to_lowercase()));
        }
        if let Some(x) = &s.external_contact_id {
            out.insert(format!("x:{}", x.as_str().to_lowercase()));
        }
        out
    }
    set(a) == set(b)
}
