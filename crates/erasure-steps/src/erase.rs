//! Erase: one GDPR_DELETE (`deleteConfirmed=true`) of exactly the identifiers the
//! review selected.
//!
//! Never sent twice for a ticket: before submitting, the org's requests are listed
//! and a GDPR_DELETE named `gdpr-erasure/<ticket id>/delete` in any status is reused,
//! ERROR included (partial processing is escalated, never resubmitted blindly). A
//! submission that failed ambiguously (`GenesysAmbiguous`) is retried by the
//! definition, and the retry finds the request if Genesys applied it.

use std::collections::BTreeSet;

use erasure_core::identifiers::PhoneE164;
use erasure_core::record::GdprRequestType;
use genesys::{GdprSubject, NewGdprRequest};
use serde::Deserialize;

use crate::error::StepError;
use crate::gdpr::{GenesysDeps, check_ticket_id, find_named, status_of};
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
    let existing = find_named(&deps.client, &name, GdprRequestType::GdprDelete).await?;
    let (request, reused) = match existing.into_iter().next() {
        Some(r) => (r, true),
        None => {
            let new = NewGdprRequest::delete(wanted.clone()).with_name(name.clone());
            (deps.client.create_gdpr_request(&new, true).await?, false)
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
