//! The routes: one function per page or form, all behind the signed-in check.

// A check's `Err` is the response the handler returns at once (a page): it is not
// passed around, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::Arc;

use archive::report::{RecordFilter, load_records};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post};
use erasure_core::identifiers::TicketId;
use erasure_core::record::ApprovalDecision;
use maud::Markup;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{self, LOGIN_COOKIE, SESSION_COOKIE, Viewer};
use crate::decide::{self, DecideError, Decided, Request};
use crate::oidc::LoginState;
use crate::pages::{self, DeadlineRow, OpenItem, RecordRow, ReviewPage, TicketPage};
use crate::views;
use crate::{Console, NEAR_DEADLINE_DAYS};

type Shared = Arc<Console>;

/// Every route of the console.
pub fn router(console: Arc<Console>) -> Router {
    let r = Router::new()
        .route("/", get(waiting))
        .route("/reviews/{ticket}", get(review))
        .route("/reviews/{ticket}/approve", post(approve))
        .route("/reviews/{ticket}/reject", post(reject))
        .route("/deadlines", get(deadlines))
        .route("/open", get(open_items))
        .route("/tickets/{ticket}", get(ticket))
        .route("/tickets/{ticket}/close", post(close))
        .route("/tickets/{ticket}/certificate", get(certificate))
        .route("/tickets/{ticket}/letters/{kind}/{lang}", get(letter))
        .route("/tickets/{ticket}/records/{file}", get(record_file))
        .route("/api/reviews", get(api_reviews))
        .route("/auth/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/auth/logout", post(logout));
    #[cfg(feature = "local-sign-in")]
    let r = r.route("/auth/local", get(local_form).post(local_sign_in));
    r.with_state(console)
}

fn html(status: StatusCode, m: Markup) -> Response {
    let mut r = (status, Html(m.into_string())).into_response();
    // Pages show review data: never kept by a shared cache, never framed.
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

fn problem(viewer: Option<&Viewer>, status: StatusCode, title: &str, text: &str) -> Response {
    let sign_in = status == StatusCode::UNAUTHORIZED;
    html(status, pages::message_page(viewer, title, text, sign_in))
}

/// The signed-in person with a role that may read, or the page that refuses.
async fn reader(c: &Console, headers: &HeaderMap) -> Result<Viewer, Response> {
    let viewer = signed_in(c, headers).await?;
    if !viewer.may_read {
        tracing::warn!("console: refused a person without a console role");
        return Err(problem(
            Some(&viewer),
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Your account has no role in the privacy team's console. Ask for the group that gives it.",
        ));
    }
    Ok(viewer)
}

async fn signed_in(c: &Console, headers: &HeaderMap) -> Result<Viewer, Response> {
    let token = auth::bearer(headers).or_else(|| auth::cookie(headers, SESSION_COOKIE));
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(html(
            StatusCode::UNAUTHORIZED,
            pages::signed_out_page(c.has_local_sign_in()),
        ));
    };
    #[cfg(feature = "local-sign-in")]
    if let Some(local) = &c.local_sign_in
        && token.starts_with("local.")
        && let Some((name, group)) = local.check(token)
    {
        let claims = json!({ c.settings.roles.claim.clone(): [group], "name": name });
        let claims = claims.as_object().cloned().unwrap_or_default();
        return Ok(Viewer::from_claims(
            None,
            name,
            &claims,
            &c.settings.roles,
            token.to_owned(),
        ));
    }
    let refused = |why: String| {
        tracing::warn!(why = why.as_str(), "console: token refused");
        let mut r = problem(
            None,
            StatusCode::UNAUTHORIZED,
            "Sign in again",
            &format!("Your sign-in is not accepted ({why}). Sign in again."),
        );
        r.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_str(&auth::set_cookie(
                SESSION_COOKIE,
                "",
                "/",
                0,
                c.settings.secure_cookies,
            ))
            .expect("a cookie header is ASCII"),
        );
        r
    };
    let Some(oidc) = &c.oidc else {
        return Err(refused("no identity provider is configured".into()));
    };
    match oidc.verify(token).await {
        Ok(v) => Ok(Viewer::from_claims(
            Some(v.issuer),
            v.subject,
            &v.claims,
            &c.settings.roles,
            token.to_owned(),
        )),
        Err(e) => Err(refused(e.to_string())),
    }
}

/// A page about one ticket: a reader first (403 before anything is said of the
/// ticket), then a well-formed ticket id (404).
async fn ticket_reader(
    c: &Console,
    headers: &HeaderMap,
    raw: &str,
) -> Result<(Viewer, String), Response> {
    let viewer = reader(c, headers).await?;
    Ok((viewer, ticket_id(raw)?))
}

fn ticket_id(raw: &str) -> Result<String, Response> {
    raw.parse::<TicketId>()
        .map(|_| raw.to_owned())
        .map_err(|_| problem(None, StatusCode::NOT_FOUND, "Not found", "No such ticket."))
}

fn unavailable(viewer: &Viewer, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console: backend unavailable");
    problem(
        Some(viewer),
        StatusCode::BAD_GATEWAY,
        "Not available",
        "The executions or the archive could not be read. Try again shortly.",
    )
}

async fn waiting(State(c): State<Shared>, headers: HeaderMap) -> Response {
    let viewer = match reader(&c, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match c.executions.running().await {
        Ok(running) => {
            let rows = views::waiting_rows(&running, c.clock.now());
            html(StatusCode::OK, pages::waiting_page(&viewer, &rows))
        }
        Err(e) => unavailable(&viewer, e),
    }
}

async fn review_page_data(
    c: &Console,
    viewer: &Viewer,
    ticket: &str,
    error: Option<String>,
) -> Result<ReviewPage, Response> {
    let waiting = decide::waiting_ticket(c, ticket)
        .await
        .map_err(|e| unavailable(viewer, e))?;
    let Some(t) = waiting else {
        return Err(problem(
            Some(viewer),
            StatusCode::NOT_FOUND,
            "No review waiting",
            "No review of this ticket is waiting: it was decided, timed out, or never asked for. The ticket's page shows its records.",
        ));
    };
    let state = t.state_input.clone().unwrap_or(Value::Null);
    let Some(review) = views::review_of(&state) else {
        return Err(unavailable(viewer, "the review section is unreadable"));
    };
    let four_eyes = if c.settings.four_eyes {
        let token = t.task_token.as_deref().unwrap_or_default();
        Some(match c.first_approvals.get(token).await {
            Err(_) => "Four-eyes: two different people must approve; whether someone has already could not be read now.".to_owned(),
            Ok(None) => "Four-eyes: two different people must approve; no one has yet.".to_owned(),
            Ok(Some(first)) if first.actor_ref == viewer.actor_ref(&c.pseudonymiser) => {
                "Four-eyes: you gave the first approval; another person must give the second."
                    .to_owned()
            }
            Ok(Some(_)) => {
                "Four-eyes: another person gave the first approval; yours would release the erasure."
                    .to_owned()
            }
        })
    } else {
        None
    };
    Ok(ReviewPage {
        ticket_id: ticket.to_owned(),
        waiting_since: t.since,
        deadline: views::deadline_of(&state, c.clock.now()),
        identifiers: views::ticket_identifiers(
            &state,
            &c.pseudonymiser,
            viewer.may_see_identifiers,
        ),
        erase_recordings: views::erases_recordings(&state),
        review,
        four_eyes,
        error,
    })
}

async fn review(
    State(c): State<Shared>,
    Path(ticket): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (viewer, ticket) = match ticket_reader(&c, &headers, &ticket).await {
        Ok(vt) => vt,
        Err(r) => return r,
    };
    match review_page_data(&c, &viewer, &ticket, None).await {
        Ok(p) => html(StatusCode::OK, pages::review_page(&viewer, &p)),
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// A signed-in decider whose form carries this session's CSRF token.
async fn decider(c: &Console, headers: &HeaderMap, csrf: &str) -> Result<Viewer, Response> {
    let viewer = reader(c, headers).await?;
    if !viewer.csrf_matches(csrf) {
        tracing::warn!("console: form refused, CSRF token does not match");
        return Err(problem(
            Some(&viewer),
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form does not belong to your current sign-in. Open the review again.",
        ));
    }
    if viewer.decider_role.is_none() {
        return Err(problem(
            Some(&viewer),
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Your role may read reviews but not decide them.",
        ));
    }
    Ok(viewer)
}

/// Who may decide, and which ticket: what an approval and a rejection both check first.
async fn decision_context(
    c: &Console,
    headers: &HeaderMap,
    csrf: &str,
    ticket: &str,
) -> Result<(Viewer, String), Response> {
    let viewer = decider(c, headers, csrf).await?;
    Ok((viewer, ticket_id(ticket)?))
}

async fn approve(
    State(c): State<Shared>,
    Path(ticket): Path<String>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Response {
    let (viewer, ticket) = match decision_context(&c, &headers, &form.csrf, &ticket).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if form.confirm.as_deref() != Some("yes") {
        // The confirmation step: nothing is sent yet.
        return match review_page_data(&c, &viewer, &ticket, None).await {
            Ok(p) => html(StatusCode::OK, pages::confirm_page(&viewer, &p)),
            Err(r) => r,
        };
    }
    finish(&c, &viewer, &ticket, Request::Approve).await
}

async fn reject(
    State(c): State<Shared>,
    Path(ticket): Path<String>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Response {
    let (viewer, ticket) = match decision_context(&c, &headers, &form.csrf, &ticket).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let reason_code = form.reason.unwrap_or_default();
    finish(&c, &viewer, &ticket, Request::Reject { reason_code }).await
}

async fn finish(c: &Console, viewer: &Viewer, ticket: &str, request: Request) -> Response {
    match decide::decide(c, viewer, ticket, request).await {
        Ok(Decided::Sent(d)) => {
            let what = match d {
                ApprovalDecision::Approve => "approved",
                ApprovalDecision::Reject => "rejected",
            };
            Redirect::to(&format!("/tickets/{ticket}?decided={what}")).into_response()
        }
        Ok(Decided::FirstApprovalHeld) => {
            Redirect::to(&format!("/tickets/{ticket}?decided=first-approval")).into_response()
        }
        Err(e @ (DecideError::UnknownReason | DecideError::SamePerson)) => {
            let status = match e {
                DecideError::UnknownReason => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::CONFLICT,
            };
            match review_page_data(c, viewer, ticket, Some(e.to_string())).await {
                Ok(p) => html(status, pages::review_page(viewer, &p)),
                Err(r) => r,
            }
        }
        Err(DecideError::NotADecider) => problem(
            Some(viewer),
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Your role may not decide reviews.",
        ),
        Err(e @ DecideError::NotWaiting) => problem(
            Some(viewer),
            StatusCode::CONFLICT,
            "Not sent",
            &format!("{e}. Nothing was sent."),
        ),
        Err(DecideError::Backend(e)) => unavailable(viewer, e),
    }
}

#[derive(Debug, Deserialize)]
struct TicketQuery {
    decided: Option<String>,
}

async fn ticket(
    State(c): State<Shared>,
    Path(ticket): Path<String>,
    Query(q): Query<TicketQuery>,
    headers: HeaderMap,
) -> Response {
    let (viewer, ticket) = match ticket_reader(&c, &headers, &ticket).await {
        Ok(vt) => vt,
        Err(r) => return r,
    };
    let running = match c.executions.running().await {
        Ok(r) => r.into_iter().find(|t| t.ticket_id == ticket),
        Err(e) => return unavailable(&viewer, e),
    };
    let filter = RecordFilter {
        ticket_id: Some(ticket.clone()),
        ..Default::default()
    };
    let records = match load_records(&*c.archive, &filter).await {
        Ok((records, _)) => records,
        Err(e) => return unavailable(&viewer, e),
    };
    let records = records
        .iter()
        .map(|r| {
            let v = r.record.view();
            let a = &r.record.value()["decisions"]["approval"];
            let decision = a["decision"].as_str().map(|d| {
                let mut s = format!(
                    "{d} by {} ({}, {})",
                    a["actorRef"].as_str().unwrap_or("-"),
                    a["role"].as_str().unwrap_or("-"),
                    a["channel"].as_str().unwrap_or("-"),
                );
                if let Some(reason) = a["reasonCode"].as_str() {
                    s.push_str(&format!(", reason {reason}"));
                }
                s
            });
            RecordRow {
                file_name: r.key.rsplit('/').next().unwrap_or_default().to_owned(),
                outcome: v.outcome.as_str().to_owned(),
                sequence: v.sequence,
                written_at: v.written_at,
                decision,
            }
        })
        .collect();
    let notice = match q.decided.as_deref() {
        Some("approved") => Some("Approval sent: the erasure continues.".to_owned()),
        Some("rejected") => {
            Some("Rejection sent: the ticket ends with a REJECTED record.".to_owned())
        }
        Some("first-approval") => Some(
            "First approval held: another person must approve before the erasure continues."
                .to_owned(),
        ),
        _ => None,
    };
    let page = TicketPage {
        deadline: running
            .as_ref()
            .and_then(|t| t.state_input.as_ref())
            .and_then(|s| views::deadline_of(s, c.clock.now())),
        running_state: running.and_then(|t| t.current_state),
        records,
        documents: c.documents.documents(&ticket).await,
        notice,
        ticket_id: ticket,
    };
    html(StatusCode::OK, pages::ticket_page(&viewer, &page))
}

async fn record_file(
    State(c): State<Shared>,
    Path((ticket, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (viewer, ticket) = match ticket_reader(&c, &headers, &ticket).await {
        Ok(vt) => vt,
        Err(r) => return r,
    };
    let entries = match c.archive.list(Some(&ticket)).await {
        Ok(e) => e,
        Err(e) => return unavailable(&viewer, e),
    };
    let Some(entry) = entries.into_iter().find(|e| e.file_name == file) else {
        return problem(
            Some(&viewer),
            StatusCode::NOT_FOUND,
            "Not found",
            "No such record.",
        );
    };
    match c.archive.read(&entry).await {
        // Records hold no personal data: pseudonyms and ids only.
        Ok(o) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            o.bytes,
        )
            .into_response(),
        Err(e) => unavailable(&viewer, e),
    }
}

async fn deadlines(State(c): State<Shared>, headers: HeaderMap) -> Response {
    let viewer = match reader(&c, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let running = match c.executions.running().await {
        Ok(r) => r,
        Err(e) => return unavailable(&viewer, e),
    };
    let now = c.clock.now();
    let mut rows: Vec<DeadlineRow> = running
        .iter()
        .filter_map(|t| {
            let deadline = views::deadline_of(t.state_input.as_ref()?, now)?;
            (deadline.days_left <= NEAR_DEADLINE_DAYS).then(|| DeadlineRow {
                ticket_id: t.ticket_id.clone(),
                state: t.current_state.clone().unwrap_or_default(),
                deadline,
            })
        })
        .collect();
    rows.sort_by_key(|r| (r.deadline.days_left, r.ticket_id.clone()));
    html(
        StatusCode::OK,
        pages::deadlines_page(&viewer, &rows, NEAR_DEADLINE_DAYS),
    )
}

async fn open_items(State(c): State<Shared>, headers: HeaderMap) -> Response {
    let viewer = match reader(&c, &headers).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let records = match load_records(&*c.archive, &RecordFilter::default()).await {
        Ok((r, _)) => r,
        Err(e) => return unavailable(&viewer, e),
    };
    // The latest record of each ticket (records are sorted by ticket, then sequence).
    let mut latest: BTreeMap<String, &archive::report::LoadedRecord> = BTreeMap::new();
    for r in &records {
        latest.insert(r.record.view().ticket_id.clone(), r);
    }
    let resumed: Vec<&str> = records
        .iter()
        .filter_map(|r| r.record.view().resumes.as_deref())
        .collect();
    let mut items = Vec::new();
    for (ticket, r) in &latest {
        let v = r.record.view();
        let value = r.record.value();
        if v.outcome == archive::Outcome::Deferred && !resumed.contains(&ticket.as_str()) {
            let holds = v
                .deferral
                .as_ref()
                .map(|d| {
                    d.holds
                        .iter()
                        .map(|h| h.hold_id.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            items.push(OpenItem {
                ticket_id: ticket.clone(),
                kind: "deferral",
                written_at: v.written_at,
                detail: format!("held data (holds: {holds})"),
                resume_on: v.deferral.as_ref().and_then(|d| d.resume_on),
                closes: None,
            });
        }
        if v.outcome == archive::Outcome::Partial {
            let gaps = value["gaps"].as_array().map_or(0, Vec::len);
            items.push(OpenItem {
                ticket_id: ticket.clone(),
                kind: "residue",
                written_at: v.written_at,
                detail: format!("{gaps} gaps named in the record"),
                resume_on: None,
                closes: None,
            });
        }
    }
    // Escalations of every record and check after it, until a person closes them.
    let escalations = match archive::annotation::escalations(&*c.archive, &records, None).await {
        Ok(e) => e,
        Err(e) => return unavailable(&viewer, e),
    };
    for e in escalations.into_iter().filter(|e| e.closed_by.is_none()) {
        items.push(OpenItem {
            ticket_id: e.ticket_id,
            kind: "escalation",
            written_at: erasure_core::time::parse_rfc3339(&e.at).unwrap_or_default(),
            detail: format!("{} ({})", e.reason, e.document_key),
            resume_on: None,
            closes: Some((e.document_key, e.reason)),
        });
    }
    html(StatusCode::OK, pages::open_items_page(&viewer, &items))
}

/// The certificate of erasure, built from the archive now (crate `archive`).
async fn certificate(
    State(c): State<Shared>,
    Path(ticket): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (viewer, ticket) = match ticket_reader(&c, &headers, &ticket).await {
        Ok(vt) => vt,
        Err(r) => return r,
    };
    document(
        &viewer,
        c.documents.certificate(&ticket, c.clock.now()).await,
        "No record of this ticket yet: nothing to certify.",
    )
}

/// A letter to the data subject, rendered again from the record and checked against
/// the digest it holds.
async fn letter(
    State(c): State<Shared>,
    Path((ticket, kind, lang)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let (viewer, ticket) = match ticket_reader(&c, &headers, &ticket).await {
        Ok(vt) => vt,
        Err(r) => return r,
    };
    document(
        &viewer,
        c.documents.letter(&ticket, &kind, &lang).await,
        "The ticket's latest record has no such letter.",
    )
}

/// A self-contained HTML document (a certificate, a letter) under the pages' headers.
fn document(
    viewer: &Viewer,
    found: Result<Option<String>, crate::ports::BackendError>,
    missing: &str,
) -> Response {
    match found {
        Ok(Some(page)) => html(StatusCode::OK, maud::PreEscaped(page)),
        Ok(None) => problem(Some(viewer), StatusCode::NOT_FOUND, "Not found", missing),
        Err(e) => unavailable(viewer, e),
    }
}

#[derive(Debug, Deserialize)]
struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    document: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    resolution: String,
    #[serde(default)]
    support_case: String,
}

/// Closes an escalation with an annotation in the archive (crate `archive`,
/// `annotation`): a decider, named by the keyed pseudonym the sign-in gives, as a
/// decision is.
async fn close(
    State(c): State<Shared>,
    Path(ticket): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CloseForm>,
) -> Response {
    let (viewer, ticket) = match decision_context(&c, &headers, &form.csrf, &ticket).await {
        Ok(vt) => vt,
        Err(r) => return r,
    };
    let role = viewer.decider_role.clone().unwrap_or_default();
    let actor = viewer.actor_ref(&c.pseudonymiser);
    let closing = archive::annotation::Closing {
        ticket_id: &ticket,
        document_key: &form.document,
        reasons: vec![form.reason.clone()],
        resolution: &form.resolution,
        support_case: &form.support_case,
        actor_ref: actor.as_str(),
        role: &role,
    };
    let refused = |status, title: &str, why: String| {
        tracing::warn!(status = %status, "console: escalation not closed");
        problem(Some(&viewer), status, title, &why)
    };
    match archive::annotation::annotate(&*c.archive, &closing, c.clock.now()).await {
        Ok(_) => {
            tracing::info!("console: escalation closed with an annotation");
            Redirect::to("/open").into_response()
        }
        Err(archive::annotation::AnnotateError::Closed(why)) => {
            refused(StatusCode::CONFLICT, "Closed already", why)
        }
        Err(archive::annotation::AnnotateError::Refused(why)) => {
            refused(StatusCode::UNPROCESSABLE_ENTITY, "Not closed", why)
        }
        Err(archive::annotation::AnnotateError::Archive(e)) => unavailable(&viewer, e),
    }
}

/// The reviews waiting as JSON, for API clients (the JWT authorizer's routes).
async fn api_reviews(State(c): State<Shared>, headers: HeaderMap) -> Response {
    let viewer = match signed_in(&c, &headers).await {
        Ok(v) if v.may_read => v,
        Ok(_) => {
            return (
                StatusCode::FORBIDDEN,
                Json(json!({"error": "role-not-allowed"})),
            )
                .into_response();
        }
        Err(_) => {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": "invalid-token"})),
            )
                .into_response();
        }
    };
    match c.executions.running().await {
        Ok(running) => {
            let rows: Vec<Value> = views::waiting_rows(&running, c.clock.now())
                .into_iter()
                .map(|r| {
                    json!({
                        "ticketId": r.ticket_id,
                        "waitingSince": r.waiting_since.map(|t| erasure_core::time::format_utc(&t)),
                        "dueDate": r.deadline.as_ref().map(|d| d.due_date.to_string()),
                        "daysLeft": r.deadline.as_ref().map(|d| d.days_left),
                        "reasons": r.reasons,
                    })
                })
                .collect();
            Json(json!({ "reviews": rows, "mayDecide": viewer.decider_role.is_some() }))
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "console: backend unavailable");
            (
                StatusCode::BAD_GATEWAY,
                Json(json!({"error": "unavailable"})),
            )
                .into_response()
        }
    }
}

fn with_cookie(mut r: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn login(State(c): State<Shared>) -> Response {
    let Some(oidc) = &c.oidc else {
        return problem(
            None,
            StatusCode::NOT_FOUND,
            "No identity provider",
            "This console has no identity provider configured.",
        );
    };
    let state = LoginState::new();
    let url = oidc.authorization_url(&c.redirect_uri(), &state);
    with_cookie(
        Redirect::to(&url).into_response(),
        &auth::set_cookie(
            LOGIN_COOKIE,
            &state.encode(),
            "/auth",
            600,
            c.settings.secure_cookies,
        ),
    )
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(c): State<Shared>,
    Query(q): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Response {
    let fail = |text: &str| problem(None, StatusCode::UNAUTHORIZED, "Sign-in failed", text);
    let Some(oidc) = &c.oidc else {
        return fail("This console has no identity provider configured.");
    };
    if let Some(e) = &q.error {
        // The error code is the provider's (`access_denied`, ...), never personal data.
        let code: String = e
            .chars()
            .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '_')
            .take(40)
            .collect();
        return fail(&format!(
            "The identity provider refused the sign-in ({code})."
        ));
    }
    let Some(login) = auth::cookie(&headers, LOGIN_COOKIE).and_then(LoginState::decode) else {
        return fail("The sign-in expired or was started elsewhere. Sign in again.");
    };
    if q.state.as_deref() != Some(login.state.as_str()) {
        tracing::warn!("console: sign-in refused, state does not match");
        return fail("The sign-in does not match the one this browser started. Sign in again.");
    }
    let Some(code) = q.code.as_deref() else {
        return fail("The identity provider sent no code.");
    };
    match oidc.exchange(code, &c.redirect_uri(), &login).await {
        Ok((id_token, _)) => {
            tracing::info!("console: signed in");
            let r = Redirect::to("/").into_response();
            let r = with_cookie(
                r,
                &auth::set_cookie(LOGIN_COOKIE, "", "/auth", 0, c.settings.secure_cookies),
            );
            with_cookie(
                r,
                &auth::set_cookie(
                    SESSION_COOKIE,
                    &id_token,
                    "/",
                    3600,
                    c.settings.secure_cookies,
                ),
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "console: sign-in failed");
            fail(&format!("The sign-in could not be completed: {e}."))
        }
    }
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(c): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    // A cross-site form cannot sign anyone out: the CSRF token must match.
    if let Ok(v) = signed_in(&c, &headers).await
        && !v.csrf_matches(&form.csrf)
    {
        return problem(
            Some(&v),
            StatusCode::FORBIDDEN,
            "Form expired",
            "Open the page again to sign out.",
        );
    }
    // The console forgets the token; the issuer's own session is the issuer's.
    with_cookie(
        html(
            StatusCode::OK,
            pages::signed_out_page(c.has_local_sign_in()),
        ),
        &auth::set_cookie(SESSION_COOKIE, "", "/", 0, c.settings.secure_cookies),
    )
}

#[cfg(feature = "local-sign-in")]
async fn local_form(State(c): State<Shared>) -> Response {
    use maud::html;
    if c.local_sign_in.is_none() {
        return problem(
            None,
            StatusCode::NOT_FOUND,
            "Not found",
            "No local sign-in here.",
        );
    }
    let groups: Vec<String> = c
        .settings
        .roles
        .deciders
        .iter()
        .chain(&c.settings.roles.readers)
        .cloned()
        .collect();
    html(
        StatusCode::OK,
        pages::layout(
            "Local sign-in",
            None,
            pages::Section::None,
            html! {
                h1 { "Local sign-in" }
                p class="notice" { "For trying the console on this machine only: no identity provider vouches for this name, and the record says so (no issuer)." }
                form method="post" action="/auth/local" {
                    p { label for="name" { "Your name" } br; input id="name" name="name" required maxlength="80" autocomplete="name"; }
                    fieldset {
                        legend { "Group" }
                        @for (i, g) in groups.iter().enumerate() {
                            div { input type="radio" id={ "group-" (i) } name="group" value=(g) required checked[i == 0]; " " label for={ "group-" (i) } { (g) } }
                        }
                    }
                    button type="submit" { "Sign in" }
                }
            },
        ),
    )
}

#[cfg(feature = "local-sign-in")]
#[derive(Debug, Deserialize)]
struct LocalForm {
    name: String,
    group: String,
}

#[cfg(feature = "local-sign-in")]
async fn local_sign_in(State(c): State<Shared>, Form(form): Form<LocalForm>) -> Response {
    let Some(local) = &c.local_sign_in else {
        return problem(
            None,
            StatusCode::NOT_FOUND,
            "Not found",
            "No local sign-in here.",
        );
    };
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return problem(
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Sign-in failed",
            "Give a name of 1 to 80 characters.",
        );
    }
    let token = local.issue(name, form.group.trim());
    with_cookie(
        Redirect::to("/").into_response(),
        &auth::set_cookie(
            SESSION_COOKIE,
            &token,
            "/",
            8 * 3600,
            c.settings.secure_cookies,
        ),
    )
}
