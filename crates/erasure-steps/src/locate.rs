//! Locate: what Genesys knows of the subject, and one GDPR_EXPORT per identifier of
//! everything it reaches (never by name: a name matches namesakes), each naming that
//! identifier alone as live orgs are asked (live-tenants.md 2).
//!
//! Each e-mail and number is searched on its own; a search that finds somebody else
//! (an external contact or user that is not the ticket's, and not corroborated by two
//! of the subject's identifiers) is counted in `otherSubjects`, and Review keeps that
//! identifier out of the delete.
//!
//! Idempotent: each export is named `gdpr-erasure/<ticket id>/export/<kind>[-<i>]`; an
//! existing export of that name among the newest requests (back to
//! [`EXPORT_REUSE_WINDOW`] before the step ran, one read for all the names) that did
//! not end in ERROR is reused, so a retry (after `GenesysAmbiguous` too) or the same
//! ticket run again submits nothing new. The org's whole request history is never
//! paged. (A duplicate export after an ambiguous POST costs nothing: it erases
//! nothing.)

use std::collections::BTreeMap;

use chrono::DateTime;
use erasure_core::identifiers::IdentifierKind;
use erasure_core::record::GdprRequestType;
use genesys::{GdprRequest, NewGdprRequest, Pii, SearchType};
use serde::Deserialize;

use crate::error::StepError;
use crate::gdpr::{GenesysDeps, check_ticket_id, find_recent_named, status_of};
use crate::state::{
    FoundBecause, FoundKind, FoundSubject, PartIdentifier, RequestSection, Selection,
    SubjectSearch, SubjectSection, export_part_name, request_name,
};

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
    /// The ticket's export expired before it was read: make them again, under their
    /// own names (`.../export-again/...`), never reusing an expired one.
    #[serde(default)]
    pub fresh: bool,
    /// With `fresh`: the export section whose downloads expired (`$.export`), carried
    /// into this one's `expired` for the record.
    #[serde(default)]
    pub expired: Option<RequestSection>,
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
    let found = classify(subject, &found_by);
    let searches: Vec<SubjectSearch> = found_by
        .iter()
        .map(|(kind, i, hits)| {
            let names = PartIdentifier {
                kind: *kind,
                index: Some(*i),
            };
            SubjectSearch {
                kind: *kind,
                index: Some(*i),
                subjects_found: hits.len(),
                other_subjects: (found.iter())
                    .filter(|f| !f.the_subjects && f.found_by.contains(&names))
                    .count(),
            }
        })
        .collect();

    // One export per identifier, each naming it alone (live-tenants.md 2): what each
    // reaches is then known per identifier. An export that ended in ERROR produced
    // nothing to review; exporting again erases nothing, so only such a one is not
    // reused. Only the newest requests are read, once for all the names.
    let one_by_one = Selection::all(subject).one_by_one(subject)?;
    if one_by_one.is_empty() {
        return Err(StepError::input(
            "the subject has no identifier to export by (a name alone is never one)",
        ));
    }
    let named: Vec<(PartIdentifier, String, genesys::GdprSubject)> = (one_by_one.into_iter())
        .map(|(names, only)| (names, export_part_name(ticket_id, names, input.fresh), only))
        .collect();
    // A ticket located before exports went per identifier has its one export under
    // the plain name: reused while it can still be read.
    let legacy = request_name(ticket_id, GdprRequestType::GdprExport);
    let mut lookup: Vec<&str> = named.iter().map(|(_, n, _)| n.as_str()).collect();
    if !input.fresh {
        lookup.push(&legacy);
    }
    let recent: Vec<GdprRequest> = find_recent_named(
        client,
        &lookup,
        GdprRequestType::GdprExport,
        started - EXPORT_REUSE_WINDOW,
    )
    .await?
    .unwrap_or_default()
    .into_iter()
    .filter(|r| status_of(r) != "ERROR")
    .collect();
    let newest_named = |name: &str| recent.iter().find(|r| r.name.as_deref() == Some(name));
    let mut parts = Vec::with_capacity(named.len());
    if let (false, Some(r)) = (input.fresh, newest_named(&legacy)) {
        parts.push(deps.part(None, legacy.clone(), r, true, None));
    } else {
        for (names, name, only) in named {
            let part = match newest_named(&name) {
                Some(r) => deps.part(Some(names), name, r, true, None),
                None => {
                    let new = NewGdprRequest::export(only).with_name(name.clone());
                    let r = client.create_gdpr_request(&new, false).await?;
                    deps.part(Some(names), name, &r, false, None)
                }
            };
            parts.push(part);
        }
    }
    for p in &parts {
        tracing::info!(
            ticket_id,
            request_id = p.request_id.as_str(),
            reused = p.reused,
            status = p.poll.status.as_str(),
            "GDPR export {}",
            if p.reused { "reused" } else { "submitted" }
        );
    }
    let now = deps.clock.now();
    let first = parts.first().cloned().expect("one identifier at least");
    let poll = crate::poll::overall(None, &parts, now);
    let earlier = input.expired.as_ref().filter(|_| input.fresh);
    Ok(RequestSection {
        request_id: first.request_id,
        request_type: GdprRequestType::GdprExport,
        name: first.name,
        submitted_at: first.submitted_at,
        reused: parts.iter().all(|p| p.reused),
        // The ticket's first Genesys call stays the first Locate's after an expiry.
        first_call_at: (parts.iter().map(|p| p.submitted_at))
            .chain(earlier.map(|e| e.first_call_at))
            .fold(started, DateTime::min),
        searches,
        found,
        subject_matches: None,
        fresh: input.fresh,
        poll,
        // A legacy export stays the one request it was.
        parts: if first.names.is_some() {
            parts
        } else {
            Vec::new()
        },
        expired: earlier
            .map(|e| e.expired.iter().cloned().chain(e.requests()).collect())
            .unwrap_or_default(),
        hold_register_at_erase: None,
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

/// Every subject found, deduplicated by id, classified: the ticket's external contact
/// or user; or, when the ticket names none of that kind, one that two or more of the
/// subject's identifiers found (corroborated). One identifier alone proves nothing: a
/// recycled number finds its new owner's contact just as well (pessimistic reading).
fn classify(
    subject: &SubjectSection,
    found_by: &[(IdentifierKind, usize, Vec<genesys::GdprSubject>)],
) -> Vec<FoundSubject> {
    let same = |theirs: Option<&Pii<String>>, ours: Option<&str>| {
        theirs.is_some_and(|t| ours.is_some_and(|o| t.expose().eq_ignore_ascii_case(o)))
    };
    let contact = subject.external_contact_id.as_ref().map(|x| x.expose());
    let user = subject.genesys_user_id.as_ref().map(|u| u.expose());
    // Keyed by id (or, for an identifier-only subject, by the identifier).
    let mut by_key: BTreeMap<String, (FoundKind, Vec<PartIdentifier>, FoundBecause)> =
        BTreeMap::new();
    for (kind, i, found) in found_by {
        let names = PartIdentifier {
            kind: *kind,
            index: Some(*i),
        };
        for f in found {
            let (key, found_kind, because) = match subject_key(f) {
                None => (
                    format!("i:{kind:?}:{i}"),
                    FoundKind::IdentifierOnly,
                    FoundBecause::TheIdentifierItself,
                ),
                Some(key) => {
                    let is_contact = f.external_contact_id.is_some();
                    let named = if is_contact { contact } else { user };
                    let because = if same(f.external_contact_id.as_ref(), contact)
                        || same(f.user_id.as_ref(), user)
                    {
                        FoundBecause::NamedInTicket
                    } else if named.is_some() {
                        FoundBecause::TicketNamesAnother
                    } else {
                        FoundBecause::FoundByOneIdentifier
                    };
                    let kind = if is_contact {
                        FoundKind::ExternalContact
                    } else {
                        FoundKind::User
                    };
                    (key, kind, because)
                }
            };
            let entry = by_key
                .entry(key)
                .or_insert((found_kind, Vec::new(), because));
            if !entry.1.contains(&names) {
                entry.1.push(names);
            }
        }
    }
    let mut out: Vec<FoundSubject> = by_key
        .into_values()
        .map(|(kind, found_by, mut because)| {
            if because == FoundBecause::FoundByOneIdentifier && found_by.len() >= 2 {
                because = FoundBecause::FoundByTwoIdentifiers;
            }
            FoundSubject {
                kind,
                the_subjects: matches!(
                    because,
                    FoundBecause::NamedInTicket
                        | FoundBecause::FoundByTwoIdentifiers
                        | FoundBecause::TheIdentifierItself
                ),
                found_by,
                because,
            }
        })
        .collect();
    // The order the reviewer reads: the subject's first, then by kind.
    out.sort_by_key(|f| {
        (
            !f.the_subjects,
            f.kind as u8,
            f.found_by.first().map(|p| (p.kind as u8, p.index)),
        )
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(id: &str) -> genesys::GdprSubject {
        genesys::GdprSubject {
            external_contact_id: Some(id.to_owned().into()),
            ..genesys::GdprSubject::default()
        }
    }

    fn subject(contact: Option<&str>) -> SubjectSection {
        serde_json::from_value(serde_json::json!({
            "emails": ["liam@example.org"],
            "phones": [{"number": "+353834567890", "tenure": []}],
            "genesysUserId": null,
            "externalContactId": contact,
        }))
        .unwrap()
    }

    #[test]
    fn a_contact_found_by_one_identifier_alone_is_somebody_else_two_corroborate() {
        let a = "73915644-4045-433a-b6f0-0ef6164c1830";
        let b = "0b6b2f0e-52a4-4c38-9f5e-6b1c9a4f7d21";
        let found_by = vec![
            (IdentifierKind::Email, 0, vec![contact(a)]),
            (
                IdentifierKind::Phone,
                0,
                vec![contact(a), contact(b), genesys::GdprSubject::default()],
            ),
        ];
        let found = classify(&subject(None), &found_by);
        let of = |k: FoundKind, n: usize| {
            found
                .iter()
                .filter(|f| f.kind == k && f.found_by.len() == n)
                .collect::<Vec<_>>()
        };
        let two = of(FoundKind::ExternalContact, 2);
        assert_eq!(two.len(), 1, "{found:?}");
        assert!(two[0].the_subjects);
        assert_eq!(two[0].because, FoundBecause::FoundByTwoIdentifiers);
        let one = of(FoundKind::ExternalContact, 1);
        assert_eq!(one.len(), 1, "{found:?}");
        assert!(!one[0].the_subjects);
        assert_eq!(one[0].because, FoundBecause::FoundByOneIdentifier);
        let itself = of(FoundKind::IdentifierOnly, 1);
        assert!(itself[0].the_subjects);
        assert_eq!(found.len(), 3, "deduplicated by id");
        // The subject's come first.
        assert!(found[0].the_subjects && !found[2].the_subjects);

        // The ticket names contact b: a is somebody else, however many found it.
        let found = classify(&subject(Some(b)), &found_by);
        let a_found = found.iter().find(|f| f.found_by.len() == 2).unwrap();
        assert!(!a_found.the_subjects);
        assert_eq!(a_found.because, FoundBecause::TicketNamesAnother);
        let b_found = (found.iter())
            .find(|f| f.kind == FoundKind::ExternalContact && f.found_by.len() == 1)
            .unwrap();
        assert!(b_found.the_subjects);
        assert_eq!(b_found.because, FoundBecause::NamedInTicket);
    }
}
