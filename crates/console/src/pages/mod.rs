//! The pages, as plain HTML (maud escapes every value). No script: forms and links.
//! Accessible by construction: landmarks, a skip link, one h1, labelled controls,
//! tables with captions and header cells, focus outlines, WCAG AA contrast.

mod review;
mod tickets;

pub use review::{ReviewPage, confirm_page, review_page};
pub use tickets::{
    DeadlineRow, OpenItem, RecordRow, TicketPage, deadlines_page, open_items_page, ticket_page,
};

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::auth::Viewer;
use crate::views::WaitingRow;

const STYLE: &str = r#"
:root { color-scheme: light; --ink: #1b1b1b; --muted: #4a4a4a; --link: #0a4fb3; --line: #c8c8c8; --warn: #8a4b00; --bad: #a4161a; --ok: #1e5e2f; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--ink); background: #fff; }
a { color: var(--link); }
a:focus, button:focus, input:focus { outline: 3px solid #ffbf47; outline-offset: 2px; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; z-index: 1; }
header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between; padding: .75rem 1.5rem; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; margin: 0; }
nav ul { list-style: none; display: flex; gap: 1.25rem; margin: 0; padding: 0; flex-wrap: wrap; }
nav a[aria-current="page"] { font-weight: 700; }
main { padding: 1rem 1.5rem 3rem; max-width: 72rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1.5rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f2f2f2; }
.late { color: var(--bad); font-weight: 700; }
.near { color: var(--warn); font-weight: 700; }
.ok { color: var(--ok); }
.notice { border-left: 4px solid var(--link); background: #eef3fb; padding: .75rem 1rem; margin: 1rem 0; }
.error { border-left: 4px solid var(--bad); background: #fbeeee; padding: .75rem 1rem; margin: 1rem 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
fieldset { border: 1px solid var(--line); margin: 1rem 0; padding: .75rem 1rem; }
legend { font-weight: 700; padding: 0 .25rem; }
button { font: inherit; padding: .5rem 1rem; border: 2px solid var(--link); background: var(--link); color: #fff; border-radius: 4px; cursor: pointer; }
button.secondary { background: #fff; color: var(--link); }
button.danger { background: var(--bad); border-color: var(--bad); }
.inline { display: inline; }
code { font-family: ui-monospace, monospace; font-size: .95em; }
"#;

/// Which navigation entry a page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Reviews,
    Deadlines,
    Open,
    None,
}

/// The frame of every page.
pub fn layout(title: &str, viewer: Option<&Viewer>, section: Section, body: Markup) -> Markup {
    let nav = [
        (Section::Reviews, "/", "Reviews waiting"),
        (Section::Deadlines, "/deadlines", "Deadlines"),
        (Section::Open, "/open", "Deferrals, residues, escalations"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · gdpr-erasure console" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header {
                    p class="brand" { "gdpr-erasure console" }
                    @if let Some(v) = viewer {
                        nav aria-label="Main" {
                            ul {
                                @for (s, href, label) in nav {
                                    li {
                                        @if s == section {
                                            a href=(href) aria-current="page" { (label) }
                                        } @else {
                                            a href=(href) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                        form class="inline" method="post" action="/auth/logout" {
                            input type="hidden" name="csrf" value=(v.csrf_token());
                            span { "Signed in as " (v.display_name)
                                @if let Some(r) = &v.decider_role { " (" (r) ")" } " " }
                            button class="secondary" type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}

/// The list of waiting reviews, oldest first.
pub fn waiting_page(viewer: &Viewer, rows: &[WaitingRow]) -> Markup {
    layout(
        "Reviews waiting",
        Some(viewer),
        Section::Reviews,
        html! {
            h1 { "Reviews waiting" }
            p { "Erasures a person must decide before anything is deleted, the longest waiting first." }
            @if rows.is_empty() {
                p class="notice" { "No review is waiting." }
            } @else {
                table {
                    caption { (rows.len()) " waiting" }
                    thead { tr {
                        th scope="col" { "Ticket" }
                        th scope="col" { "Waiting since" }
                        th scope="col" { "Deadline" }
                        th scope="col" { "Days left" }
                        th scope="col" { "Why a person must look" }
                    } }
                    tbody {
                        @for r in rows {
                            tr {
                                th scope="row" { a href={ "/reviews/" (r.ticket_id) } { "Review " (r.ticket_id) } }
                                td { @if let Some(t) = r.waiting_since { (t.format("%Y-%m-%d %H:%M UTC")) } @else { "-" } }
                                td { @if let Some(d) = &r.deadline { (d.due_date) } @else { "unknown" } }
                                td { @if let Some(d) = &r.deadline { (deadline_cell(d)) } @else { "-" } }
                                td { (codes(&r.reasons)) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// Days left, coloured when near or past (with words, never colour alone).
pub fn deadline_cell(d: &crate::views::DeadlineView) -> Markup {
    let class = if d.is_past() {
        "late"
    } else if d.days_left <= crate::NEAR_DEADLINE_DAYS {
        "near"
    } else {
        "ok"
    };
    html! { span class=(class) { (d.describe()) } }
}

/// Codes as a list of words, with the code beside for those who know them.
pub fn codes(list: &[String]) -> Markup {
    html! {
        @if list.is_empty() { "none" } @else {
            ul { @for c in list { li { (crate::views::words(c)) @if crate::views::words(c) != *c { " (" code { (c) } ")" } } } }
        }
    }
}

/// A page for a refusal or a problem (401, 403, 404, 409, 502).
pub fn message_page(viewer: Option<&Viewer>, title: &str, text: &str, sign_in: bool) -> Markup {
    layout(
        title,
        viewer,
        Section::None,
        html! {
            h1 { (title) }
            p class="error" role="alert" { (text) }
            @if sign_in { p { a href="/auth/login" { "Sign in" } } }
            @else if viewer.is_some() { p { a href="/" { "Back to the reviews waiting" } } }
        },
    )
}

/// The signed-out page: where to sign in.
pub fn signed_out_page(local_sign_in: bool) -> Markup {
    layout(
        "Sign in",
        None,
        Section::None,
        html! {
            h1 { "Sign in" }
            p { "The console shows erasure reviews to the privacy team. Sign in with your organisation's account." }
            p { a href="/auth/login" { "Sign in with your organisation" } }
            @if local_sign_in {
                p { a href="/auth/local" { "Local sign-in (this machine only)" } }
            }
        },
    )
}
