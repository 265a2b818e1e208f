//! One review: everything the workflow found and what it will and will not erase,
//! and the decision forms (an approval is confirmed on a page of its own).

use chrono::{DateTime, Utc};
use erasure_steps::state::{FoundBecause, FoundKind, ReviewSection};
use maud::{Markup, html};

use super::{Section, codes, deadline_cell, layout};
use crate::REJECT_REASONS;
use crate::auth::Viewer;
use crate::views::{DeadlineView, ShownIdentifier, code_of, identifier_label, words};

/// What the review page shows.
#[derive(Debug)]
pub struct ReviewPage {
    pub ticket_id: String,
    pub waiting_since: Option<DateTime<Utc>>,
    pub deadline: Option<DeadlineView>,
    pub review: ReviewSection,
    /// The ticket's own identifiers (values only for a role that may see them).
    pub identifiers: Vec<ShownIdentifier>,
    pub erase_recordings: bool,
    /// Four-eyes: the state of the first approval, in words.
    pub four_eyes: Option<String>,
    /// A problem with the last decision attempt.
    pub error: Option<String>,
}

fn status_of(r: &ReviewSection, id: &str) -> String {
    let c = &r.conversations;
    if let Some(h) = c.withheld.iter().find(|h| h.conversation_id.as_str() == id) {
        let mut s = format!("kept: {}", words(&code_of(&h.reason)));
        if let Some(hold) = &h.hold_id {
            s.push_str(&format!(" {hold}"));
        }
        if let Some(e) = h.hold_expiry {
            s.push_str(&format!(" until {e}"));
        }
        return s;
    }
    if let Some(x) = c.excluded.iter().find(|x| x.conversation_id.as_str() == id) {
        return format!("left out: {}", words(&code_of(&x.reason)));
    }
    if c.per_conversation.iter().any(|p| p.as_str() == id) {
        return "the subject's, but the delete cannot reach it without reaching data that must stay: a person must act".into();
    }
    if c.covered.iter().any(|p| p.as_str() == id) {
        return "erased by the GDPR delete".into();
    }
    if c.in_scope.iter().any(|p| p.as_str() == id) {
        return "the subject's".into();
    }
    "found, not the subject's".into()
}

fn found_kind(k: FoundKind) -> &'static str {
    match k {
        FoundKind::ExternalContact => "external contact",
        FoundKind::User => "Genesys user",
        FoundKind::IdentifierOnly => "known only by the identifier",
    }
}

fn found_because(b: FoundBecause) -> &'static str {
    match b {
        FoundBecause::NamedInTicket => "the ticket names this contact or user",
        FoundBecause::TicketNamesAnother => "the ticket names another one of this kind",
        FoundBecause::FoundByTwoIdentifiers => "two or more of the subject's identifiers found it",
        FoundBecause::FoundByOneIdentifier => {
            "one identifier alone found it: a recycled or shared number or address finds its other owner just as well"
        }
        FoundBecause::TheIdentifierItself => {
            "conversations carry the identifier; no contact or user"
        }
    }
}

pub fn review_page(viewer: &Viewer, p: &ReviewPage) -> Markup {
    let r = &p.review;
    let c = &r.conversations;
    let purged: Vec<_> = r.purge.recordings.iter().collect();
    layout(
        &format!("Review {}", p.ticket_id),
        Some(viewer),
        Section::Reviews,
        html! {
            h1 { "Review " (p.ticket_id) }
            @if let Some(e) = &p.error { p class="error" role="alert" { (e) } }
            dl class="facts" {
                dt { "The review says" } dd { (words(&code_of(&r.decision))) }
                dt { "Waiting since" } dd { @if let Some(t) = p.waiting_since { (t.format("%Y-%m-%d %H:%M UTC")) } @else { "-" } }
                dt { "Deadline" } dd { @if let Some(d) = &p.deadline { (d.due_date) " (" (deadline_cell(d)) ")" @if d.extended { ", extended" } } @else { "unknown" } }
                dt { "Agent account" } dd { (words(&r.agent.action)) }
                dt { "Recordings" } dd { @if p.erase_recordings { "the ticket asks for them to be erased" } @else { "the ticket keeps them" } }
            }
            h2 { "Why a person must look" }
            (codes(&r.reasons))

            h2 { "What will be erased" }
            ul {
                li { (c.covered.len()) " of " (c.found.len()) " conversations found, by the GDPR delete" }
                @if r.purge.required { li { (purged.len()) " recordings, purged one by one" } }
                @if r.agent.action == "offboard" { li { "the former agent's user account (anonymised, deactivated, deleted)" } }
            }
            h2 { "What will not be erased" }
            ul {
                li { (c.excluded.len()) " conversations left out (not the subject's)" }
                li { (c.withheld.len()) " conversations kept under a hold" }
                li { (c.per_conversation.len()) " conversations the delete cannot reach without reaching data that must stay (a person acts on them)" }
                @if r.agent.action != "offboard" && r.agent.action != "none" { li { "the user account: " (words(&r.agent.action)) } }
            }

            h2 { "Holds" }
            @if c.withheld.is_empty() && r.deferral.is_none() {
                p { "No hold applies." }
            } @else {
                table {
                    caption { "Holds on the subject's data" }
                    thead { tr { th scope="col" { "Conversation" } th scope="col" { "Source" } th scope="col" { "Hold" } th scope="col" { "Expires" } } }
                    tbody {
                        @for h in &c.withheld {
                            tr {
                                th scope="row" { code { (h.conversation_id.as_str()) } }
                                td { (words(&code_of(&h.reason))) }
                                td { (h.hold_id.as_deref().unwrap_or("-")) }
                                td { @if let Some(e) = h.hold_expiry { (e) } @else { "open-ended" } }
                            }
                        }
                        @if let Some(d) = &r.deferral {
                            @for h in &d.holds {
                                tr {
                                    th scope="row" { "all the subject's data" }
                                    td { "legal hold (register)" }
                                    td { (h.hold_id) }
                                    td { @if let Some(e) = h.expiry { (e) } @else { "open-ended" } }
                                }
                            }
                        }
                    }
                }
            }

            h2 { "Identifiers of the ticket" }
            @if !viewer.may_see_identifiers {
                p { "Your role does not show identifiers: each is named by its kind." }
            }
            table {
                caption { "How each identifier the ticket holds is used" }
                thead { tr { th scope="col" { "Identifier" } th scope="col" { "Value" } th scope="col" { "Used" } th scope="col" { "Left out because" } th scope="col" { "Conversations found" } } }
                tbody {
                    @for i in &p.identifiers {
                        @let outcome = r.identifiers.iter().find(|o| o.identifier_ref == i.reference);
                        tr {
                            th scope="row" { (i.label) }
                            td { @if let Some(v) = &i.value { (v) @if let Some(t) = &i.tenure { br; "held " (t) } } @else { "hidden" } }
                            td { @if let Some(o) = outcome { (words(&code_of(&o.usage))) } @else { "-" } }
                            td { @if let Some(o) = outcome { @if o.left_out_because.is_empty() { "-" } @else { (o.left_out_because.iter().map(|b| words(&code_of(b))).collect::<Vec<_>>().join("; ")) } } @else { "-" } }
                            td { @if let Some(o) = outcome { (o.conversations_found) } @else { "-" } }
                        }
                    }
                }
            }

            h2 { "Subjects Genesys knows" }
            @if r.summary.subjects.is_empty() {
                p { "The subject search listed nobody (or the review predates the list)." }
            } @else {
                table {
                    caption { "Everybody the ticket's identifiers found in Genesys, the subject's or somebody else" }
                    thead { tr { th scope="col" { "Subject" } th scope="col" { "Found by" } th scope="col" { "Whose" } th scope="col" { "Because" } } }
                    tbody {
                        @for (n, f) in r.summary.subjects.iter().enumerate() {
                            tr {
                                th scope="row" { (found_kind(f.kind)) " " (n + 1) }
                                td { (f.found_by.iter().map(|p| identifier_label(p.kind, p.index)).collect::<Vec<_>>().join(", ")) }
                                td { @if f.the_subjects { "the subject's" } @else { "somebody else: what found them stays out of the delete" } }
                                td { (found_because(f.because)) }
                            }
                        }
                    }
                }
            }

            h2 { "Conversations found" }
            table {
                caption { (c.found.len()) " conversations" }
                thead { tr { th scope="col" { "Conversation" } th scope="col" { "Kept or erased, and why" } } }
                tbody {
                    @for id in &c.found {
                        tr { th scope="row" { code { (id.as_str()) } } td { (status_of(r, id.as_str())) } }
                    }
                }
            }

            h2 { "Recordings" }
            @if r.recordings.is_empty() { p { "No recording." } } @else {
                table {
                    caption { (r.recordings.len()) " recordings of the subject's conversations" }
                    thead { tr { th scope="col" { "Recording" } th scope="col" { "Conversation" } th scope="col" { "Will be purged" } } }
                    tbody {
                        @for rec in &r.recordings {
                            tr {
                                th scope="row" { code { (rec.recording_id.as_str()) } }
                                td { code { (rec.conversation_id.as_str()) } }
                                td { @if purged.iter().any(|x| x.recording_id == rec.recording_id) { "yes" } @else { "no" } }
                            }
                        }
                    }
                }
            }

            h2 { "Decision" }
            @if let Some(role) = &viewer.decider_role {
                @if let Some(n) = &p.four_eyes { p class="notice" { (n) } }
                form method="post" action={ "/reviews/" (p.ticket_id) "/approve" } {
                    input type="hidden" name="csrf" value=(viewer.csrf_token());
                    p { "As " (role) ", you can approve the erasure above; you will be asked to confirm." }
                    button type="submit" { "Approve…" }
                }
                form method="post" action={ "/reviews/" (p.ticket_id) "/reject" } {
                    input type="hidden" name="csrf" value=(viewer.csrf_token());
                    fieldset {
                        legend { "Reject, with the reason" }
                        @for (i, (code, text)) in REJECT_REASONS.iter().enumerate() {
                            div {
                                input type="radio" name="reason" id={ "reason-" (i) } value=(code) required;
                                " "
                                label for={ "reason-" (i) } { (text) }
                            }
                        }
                    }
                    button class="danger" type="submit" { "Reject" }
                }
            } @else {
                p { "Your role may read reviews but not decide them." }
            }
        },
    )
}

/// The confirmation before an approval is sent.
pub fn confirm_page(viewer: &Viewer, p: &ReviewPage) -> Markup {
    let c = &p.review.conversations;
    layout(
        &format!("Confirm approval of {}", p.ticket_id),
        Some(viewer),
        Section::Reviews,
        html! {
            h1 { "Approve the erasure of " (p.ticket_id) "?" }
            p class="notice" {
                "Genesys will erase " (c.covered.len()) " conversations"
                @if p.review.purge.required { " and " (p.review.purge.recordings.len()) " recordings" }
                ". An erasure cannot be undone. "
                (c.excluded.len() + c.withheld.len() + c.per_conversation.len()) " conversations stay as the review shows."
            }
            @if let Some(n) = &p.four_eyes { p { (n) } }
            form method="post" action={ "/reviews/" (p.ticket_id) "/approve" } {
                input type="hidden" name="csrf" value=(viewer.csrf_token());
                input type="hidden" name="confirm" value="yes";
                button type="submit" { "Yes, approve the erasure" }
            }
            p { a href={ "/reviews/" (p.ticket_id) } { "No, back to the review" } }
        },
    )
}
