//! Tickets near or past their deadline, open deferrals / residues / escalations, and
//! one ticket's records with its letter and certificate when they exist.

use chrono::{DateTime, NaiveDate, Utc};
use maud::{Markup, html};

use super::{Section, deadline_cell, layout};
use crate::auth::Viewer;
use crate::ports::TicketDocument;
use crate::views::DeadlineView;

/// A running ticket on the deadlines page.
#[derive(Debug, Clone)]
pub struct DeadlineRow {
    pub ticket_id: String,
    pub state: String,
    pub deadline: DeadlineView,
}

pub fn deadlines_page(viewer: &Viewer, rows: &[DeadlineRow], near_days: i64) -> Markup {
    layout(
        "Deadlines",
        Some(viewer),
        Section::Deadlines,
        html! {
            h1 { "Tickets near or past their deadline" }
            p { "Running erasures whose one-month deadline (Art. 12(3)) is at most " (near_days) " days away or has passed, the most urgent first." }
            @if rows.is_empty() { p class="notice" { "No running ticket is near its deadline." } } @else {
                table {
                    caption { (rows.len()) " tickets" }
                    thead { tr { th scope="col" { "Ticket" } th scope="col" { "Due" } th scope="col" { "Days left" } th scope="col" { "Where it is" } } }
                    tbody {
                        @for r in rows {
                            tr {
                                th scope="row" { a href={ "/tickets/" (r.ticket_id) } { (r.ticket_id) } }
                                td { (r.deadline.due_date) }
                                td { (deadline_cell(&r.deadline)) }
                                td { @if r.state == crate::ports::AWAIT_DECISION_STATE { a href={ "/reviews/" (r.ticket_id) } { "waiting for review" } } @else { (r.state) } }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// Something a person must follow up, from the archive.
#[derive(Debug, Clone)]
pub struct OpenItem {
    pub ticket_id: String,
    /// `deferral`, `residue`, `escalation`.
    pub kind: &'static str,
    pub written_at: DateTime<Utc>,
    pub detail: String,
    pub resume_on: Option<NaiveDate>,
    /// An escalation a person closes with an annotation: (document key, reason).
    pub closes: Option<(String, String)>,
}

pub fn open_items_page(viewer: &Viewer, items: &[OpenItem]) -> Markup {
    layout(
        "Deferrals, residues, escalations",
        Some(viewer),
        Section::Open,
        html! {
            h1 { "Open deferrals, residues and escalations" }
            p { "Deferrals and residues from the latest record of each ticket in the archive; escalations of every record and every check after it, until a person closes them with an annotation (the support case and how it was resolved, locked beside the records)." }
            @if items.is_empty() { p class="notice" { "Nothing is open." } } @else {
                table {
                    caption { (items.len()) " open" }
                    thead { tr { th scope="col" { "Ticket" } th scope="col" { "Kind" } th scope="col" { "Recorded" } th scope="col" { "What remains" } @if viewer.decider_role.is_some() { th scope="col" { "Close" } } } }
                    tbody {
                        @for (n, i) in items.iter().enumerate() {
                            tr {
                                th scope="row" { a href={ "/tickets/" (i.ticket_id) } { (i.ticket_id) } }
                                td { (i.kind) }
                                td { (i.written_at.format("%Y-%m-%d %H:%M UTC")) }
                                td { (i.detail) @if let Some(d) = i.resume_on { " (resumes on " (d) ")" } }
                                @if viewer.decider_role.is_some() {
                                    td { @if let Some((document, reason)) = &i.closes { (close_form(viewer, n, &i.ticket_id, document, reason)) } }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// Closes one escalation with an annotation: how it was resolved and the support case
/// (a reference, never free text); who and when come from the sign-in and the clock.
fn close_form(viewer: &Viewer, n: usize, ticket: &str, document: &str, reason: &str) -> Markup {
    html! {
        form method="post" action={ "/tickets/" (ticket) "/close" } {
            input type="hidden" name="csrf" value=(viewer.csrf_token());
            input type="hidden" name="document" value=(document);
            input type="hidden" name="reason" value=(reason);
            div {
                label for={ "resolution-" (n) } { "Resolution" } br;
                select name="resolution" id={ "resolution-" (n) } required {
                    @for r in archive::annotation::RESOLUTIONS { option value=(r) { (r.replace('-', " ")) } }
                }
            }
            div {
                label for={ "case-" (n) } { "Support case (a reference, not free text)" } br;
                input type="text" name="support_case" id={ "case-" (n) } required maxlength="64"
                    pattern="[A-Za-z0-9][A-Za-z0-9._:\\-]{0,63}" placeholder="GEN-CASE-0042187";
            }
            button type="submit" { "Close with an annotation" }
        }
    }
}

/// One record in a ticket's chain.
#[derive(Debug, Clone)]
pub struct RecordRow {
    pub file_name: String,
    pub outcome: String,
    pub sequence: u64,
    pub written_at: DateTime<Utc>,
    /// `approve` / `reject` by `actorRef` (role, channel), when the DPO decided.
    pub decision: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TicketPage {
    pub ticket_id: String,
    /// Where the running execution is, if one runs.
    pub running_state: Option<String>,
    pub deadline: Option<DeadlineView>,
    pub records: Vec<RecordRow>,
    pub documents: Vec<TicketDocument>,
    pub notice: Option<String>,
}

pub fn ticket_page(viewer: &Viewer, p: &TicketPage) -> Markup {
    layout(
        &format!("Ticket {}", p.ticket_id),
        Some(viewer),
        Section::None,
        html! {
            h1 { "Ticket " (p.ticket_id) }
            @if let Some(n) = &p.notice { p class="notice" role="status" { (n) } }
            dl class="facts" {
                dt { "Execution" }
                dd id="execution-state" {
                    @match &p.running_state {
                        Some(s) if s == crate::ports::AWAIT_DECISION_STATE => { "running: " a href={ "/reviews/" (p.ticket_id) } { "waiting for review" } }
                        Some(s) => { "running: " (s) }
                        None => { "not running" }
                    }
                }
                @if let Some(d) = &p.deadline { dt { "Deadline" } dd { (d.due_date) " (" (deadline_cell(d)) ")" } }
            }
            h2 { "Compliance records" }
            @if p.records.is_empty() { p { "No record yet." } } @else {
                table id="records" {
                    caption { (p.records.len()) " records, oldest first (write-once)" }
                    thead { tr { th scope="col" { "Record" } th scope="col" { "Outcome" } th scope="col" { "Written" } th scope="col" { "DPO decision (decider pseudonymised)" } } }
                    tbody {
                        @for r in &p.records {
                            tr {
                                th scope="row" { a href={ "/tickets/" (p.ticket_id) "/records/" (r.file_name) } { "#" (r.sequence) } }
                                td { (r.outcome) }
                                td { (r.written_at.format("%Y-%m-%d %H:%M UTC")) }
                                td { @if let Some(d) = &r.decision { code { (d) } } @else { "-" } }
                            }
                        }
                    }
                }
            }
            h2 { "Letter and certificate" }
            @if p.documents.is_empty() { p { "None for this ticket yet." } } @else {
                ul { @for d in &p.documents { li { a href=(d.href) { (d.title) } } } }
            }
        },
    )
}
