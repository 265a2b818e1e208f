//! Erase: one GDPR_DELETE (`deleteConfirmed=true`) of exactly the identifiers the
//! review selected.
//!
//! Never sent twice for a ticket, and without paging the org's request history: the
//! submission ledger ([`crate::ports::SubmissionLedger`]) gets the intent before the
//! POST and the request id after it. A retry that finds the id reuses that request in
//! any status, ERROR included (partial processing is escalated, never resubmitted
//! blindly). A retry that finds an intent without an id (`GenesysAmbiguous`, or the
//! function died around the POST) reads only the newest requests, back to the
//! intent: the request found there is adopted; none among requests that reach back
//! past the intent means the POST never landed, and it is sent; a lookup that cannot
//! tell (bound reached, listing not newest first) is `GdprSubmissionUnknown`: a
//! FAILED record and a person, never a second GDPR_DELETE.

use std::collections::BTreeSet;

use erasure_core::identifiers::PhoneE164;
use erasure_core::record::GdprRequestType;
use genesys::{GdprSubject, NewGdprRequest};
use serde::Deserialize;

use crate::error::StepError;
use crate::gdpr::{GenesysDeps, check_ticket_id, find_recent, status_of};
use crate::ports::LedgerEntry;
use crate::state::{RequestSection, Selection, SubjectSection, request_name};

pub type Deps = GenesysDeps;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub ticket_id: String,
    pub subject: SubjectSection,
    pub selection: Selection,
    #[serde(default)]
    pub retry_count: u32,
}

pub type Output = RequestSection;

pub async fn handle(deps: &Deps, input: Input) -> Result<Output, StepError> {
    let ticket_id = check_ticket_id(&input.ticket_id)?;
    let started = deps.clock.now();
    if input.selection.is_empty() {
        return Err(StepError::input(
            "the selection names no identifier: there is nothing to delete by",
        ));
    }
    let wanted = input.selection.apply(&input.subject)?;
    let name = request_name(ticket_id, GdprRequestType::GdprDelete);
    let client = &deps.client;
    let ledger = &deps.ledger;
    let submit = || async {
        let new = NewGdprRequest::delete(wanted.clone()).with_name(name.clone());
        let created = client.create_gdpr_request(&new, true).await?;
        ledger.record_request(&name, &created.id).await?;
        Ok::<_, StepError>((created, false))
    };
    let (request, reused) = match ledger.get(&name).await? {
        Some(LedgerEntry {
            request_id: Some(id),
            ..
        }) => (client.get_gdpr_request(&id).await?, true),
        Some(LedgerEntry { intent_at, .. }) => {
            match find_recent(client, &name, GdprRequestType::GdprDelete, intent_at).await? {
                Some(found) if !found.is_empty() => {
                    let r = found.into_iter().next().expect("not empty");
                    ledger.record_request(&name, &r.id).await?;
                    (r, true)
                }
                Some(_) => {
                    tracing::info!(
                        ticket_id,
                        "no GDPR delete since the recorded intent: the earlier POST never landed"
                    );
                    submit().await?
                }
                None => {
                    return Err(StepError::SubmissionUnknown(format!(
                        "{name}: an intent was recorded at {intent_at} without a request id, and the newest requests do not show whether Genesys created one"
                    )));
                }
            }
        }
        None => {
            ledger.record_intent(&name, started).await?;
            submit().await?
        }
    };
    let subject_matches = reused.then(|| same_identifiers(&request.subject, &wanted));
    let now = deps.clock.now();
    let submitted_at = request.created_date.unwrap_or(now);
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
    Ok(RequestSection {
        request_id: request.id.clone(),
        request_type: GdprRequestType::GdprDelete,
        name,
        submitted_at,
        reused,
        first_call_at: started.min(submitted_at),
        searches: Vec::new(),
        subject_matches,
        fresh: false,
        poll: deps.poll.initial(&request, now),
    })
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
