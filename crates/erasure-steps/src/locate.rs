//! Locate: what Genesys knows of the subject, and one GDPR_EXPORT of everything the
//! subject's identifiers reach (never by name: a name matches namesakes).
//!
//! Each e-mail and number is searched on its own; a search that finds somebody else
//! (an external contact or user that is not the ticket's, and not corroborated by two
//! of the subject's identifiers) is counted in `otherSubjects`, and Review keeps that
//! identifier out of the delete.
//!
//! Idempotent: the export is named `gdpr-erasure/<ticket id>/export`; an existing
//! export of that name among the newest requests (back to [`EXPORT_REUSE_WINDOW`]
//! before the step ran) that did not end in ERROR is reused, so a retry (after
//! `GenesysAmbiguous` too) or the same ticket run again submits nothing new. The org's
//! whole request history is never paged.

use std::collections::{BTreeMap, BTreeSet};

use erasure_core::identifiers::IdentifierKind;
use erasure_core::record::GdprRequestType;
use genesys::{NewGdprRequest, Pii, SearchType};
use serde::Deserialize;

use crate::error::StepError;
use crate::gdpr::{GenesysDeps, check_ticket_id, find_recent, status_of};
use crate::state::{RequestSection, Selection, SubjectSearch, SubjectSection, request_name};

pub type Deps = GenesysDeps;

/// How far back an export of the ticket is reused: less than the week after which
/// Genesys drops an export's downloads (live-tenants.md 3), so a reused export can
/// still be read. An older one is simply made again, which is harmless.
pub const EXPORT_REUSE_WINDOW: chrono::Duration = chrono::Duration::days(6);

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub ticket_id: String,
    pub subject: SubjectSection,
    /// `$$.State.RetryCount`: informative only; the lookup by name runs every time.
    #[serde(default)]
    pub retry_count: u32,
    /// The ticket's export expired before it was read: make one more, under its own
    /// name (`.../export-again`), never reusing the expired one.
    #[serde(default)]
    pub fresh: bool,
}

pub type Output = RequestSection;

pub async fn handle(deps: &Deps, input: Input) -> Result<Output, StepError> {
    let ticket_id = check_ticket_id(&input.ticket_id)?;
    let started = deps.clock.now();
    let client = &deps.client;
    let subject = &input.subject;

    // Every identifier is searched on its own (live-tenants.md 2); who was found is
    // classified once all searches are in, as the subject's or somebody else.
    let asked = (subject.emails.iter().enumerate())
        .map(|(i, e)| (IdentifierKind::Email, i, SearchType::Email, e.expose()))
        .chain((subject.phones.iter().enumerate()).map(|(i, p)| {
            (
                IdentifierKind::Phone,
                i,
                SearchType::Phone,
                p.number.expose(),
            )
        }));
    let mut found_by: Vec<(IdentifierKind, usize, Vec<genesys::GdprSubject>)> = Vec::new();
    for (kind, i, search_type, value) in asked {
        found_by.push((
            kind,
            i,
            client.search_gdpr_subjects(search_type, value).await?,
        ));
    }
    let mut times_found: BTreeMap<String, usize> = BTreeMap::new();
    for (_, _, found) in &found_by {
        let ids: BTreeSet<String> = found.iter().filter_map(subject_key).collect();
        for id in ids {
            *times_found.entry(id).or_default() += 1;
        }
    }
    let searches: Vec<SubjectSearch> = found_by
        .iter()
        .map(|(kind, i, found)| SubjectSearch {
            kind: *kind,
            index: Some(*i),
            subjects_found: found.len(),
            other_subjects: found
                .iter()
                .filter(|f| !is_the_subjects(subject, f, &times_found))
                .count(),
        })
        .collect();

    let mut name = request_name(ticket_id, GdprRequestType::GdprExport);
    if input.fresh {
        name.push_str("-again");
    }
    // An export that ended in ERROR produced nothing to review; exporting again erases
    // nothing, so only such a one is not reused. Only the newest requests are read.
    let existing = find_recent(
        client,
        &name,
        GdprRequestType::GdprExport,
        started - EXPORT_REUSE_WINDOW,
    )
    .await?
    .unwrap_or_default()
    .into_iter()
    .find(|r| status_of(r) != "ERROR");
    let (request, reused) = match existing {
        Some(r) => (r, true),
        None => {
            let export_subject = Selection::all(subject).apply(subject)?;
            let new = NewGdprRequest::export(export_subject).with_name(name.clone());
            (client.create_gdpr_request(&new, false).await?, false)
        }
    };
    let now = deps.clock.now();
    let submitted_at = request.created_date.unwrap_or(now);
    tracing::info!(
        ticket_id,
        request_id = request.id.as_str(),
        reused,
        status = status_of(&request).as_str(),
        "GDPR export {}",
        if reused { "reused" } else { "submitted" }
    );
    Ok(RequestSection {
        request_id: request.id.clone(),
        request_type: GdprRequestType::GdprExport,
        name,
        submitted_at,
        reused,
        first_call_at: started.min(submitted_at),
        searches,
        subject_matches: None,
        fresh: input.fresh,
        poll: deps.poll.initial(&request, now),
    })
}

/// A found subject's id (`x:` external contact, `u:` user), lower-cased; `None` for a
/// subject that is only the identifier itself (seen on conversations): nobody else.
fn subject_key(f: &genesys::GdprSubject) -> Option<String> {
    f.external_contact_id
        .as_ref()
        .map(|x| format!("x:{}", x.expose().to_lowercase()))
        .or_else(|| {
            f.user_id
                .as_ref()
                .map(|u| format!("u:{}", u.expose().to_lowercase()))
        })
}

/// Whether a found subject is the data subject: the ticket's external contact or user;
/// or, when the ticket names none of that kind, one that two or more of the subject's
/// identifiers found (corroborated). One identifier alone proves nothing: a recycled
/// number finds its new owner's contact just as well (pessimistic reading).
fn is_the_subjects(
    subject: &SubjectSection,
    f: &genesys::GdprSubject,
    times_found: &BTreeMap<String, usize>,
) -> bool {
    let same = |theirs: Option<&Pii<String>>, ours: Option<&str>| {
        theirs.is_some_and(|t| ours.is_some_and(|o| t.expose().eq_ignore_ascii_case(o)))
    };
    let contact = subject.external_contact_id.as_ref().map(|x| x.expose());
    let user = subject.genesys_user_id.as_ref().map(|u| u.expose());
    if same(f.external_contact_id.as_ref(), contact) || same(f.user_id.as_ref(), user) {
        return true;
    }
    let unnamed_kind = match (&f.external_contact_id, &f.user_id) {
        (Some(_), _) => contact.is_none(),
        (None, Some(_)) => user.is_none(),
        (None, None) => return true,
    };
    unnamed_kind && subject_key(f).is_some_and(|k| times_found.get(&k).copied().unwrap_or(0) >= 2)
}
