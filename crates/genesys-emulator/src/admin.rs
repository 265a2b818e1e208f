//! The admin API under `/_emulator/` (no OAuth): state, request log, clock, faults,
//! reset, and the export result files.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::app::App;
use crate::error::ApiError;
use crate::faults::Fault;
use crate::query::{json_object, typed};
use crate::views;
use crate::world::World;

type AdminResult = Result<Response, ApiError>;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/_emulator", get(index))
        .route("/_emulator/", get(index))
        .route("/_emulator/state", get(state_all))
        .route("/_emulator/state/{section}", get(state_section))
        .route("/_emulator/requests", get(requests).delete(clear_requests))
        .route("/_emulator/clock", get(clock_get))
        .route("/_emulator/clock/advance", post(clock_advance))
        .route("/_emulator/clock/freeze", post(clock_freeze))
        .route("/_emulator/clock/speed", post(clock_speed))
        .route(
            "/_emulator/faults",
            get(faults_list).post(faults_add).delete(faults_clear),
        )
        .route("/_emulator/faults/{id}", delete(fault_remove))
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/results/{token}", get(results))
        .route(
            "/_emulator/archive-fault",
            get(archive_fault_get)
                .put(archive_fault_set)
                .delete(archive_fault_clear),
        )
        .route(
            "/_emulator/redaction-faults",
            get(redaction_faults_list).delete(redaction_faults_clear),
        )
        .route(
            "/_emulator/redaction-faults/{conversationId}",
            axum::routing::put(redaction_fault_set).delete(redaction_fault_remove),
        )
}

async fn index() -> Json<Value> {
    Json(json!({
        "emulator": "genesys-emulator",
        "endpoints": [
            "GET /_emulator/state",
            "GET /_emulator/state/{conversations|recordings|users|external-contacts|protections|gdpr-requests}",
            "GET|DELETE /_emulator/requests",
            "GET /_emulator/clock", "POST /_emulator/clock/advance {\"seconds\": n}",
            "POST /_emulator/clock/freeze", "POST /_emulator/clock/speed {\"speed\": f}",
            "GET|POST|DELETE /_emulator/faults", "DELETE /_emulator/faults/{id}",
            "POST /_emulator/reset",
            "GET /_emulator/results/{token}",
            "GET|PUT|DELETE /_emulator/archive-fault {\"kind\": \"malformed\"|\"hostileNames\"|\"zipBomb\", \"uncompressedBytes\": n}",
            "GET|DELETE /_emulator/redaction-faults",
            "PUT|DELETE /_emulator/redaction-faults/{conversationId} {\"kind\": \"landsLate\", \"extraSeconds\": n}|{\"kind\": \"neverLands\"}",
        ],
    }))
}

pub(crate) fn section(w: &World, name: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Value> {
    Some(match name {
        "conversations" => json!(w.conversations),
        "recordings" => json!(
            w.conversations
                .iter()
                .flat_map(|c| c.recordings.iter().map(move |r| {
                    let mut v = json!(r);
                    if let Some(m) = v.as_object_mut() {
                        m.insert("conversationId".into(), json!(c.id));
                    }
                    v
                }))
                .collect::<Vec<_>>()
        ),
        "users" => json!(w.users),
        "external-contacts" => json!(w.contacts),
        "protections" => json!(w.protected),
        "gdpr-requests" => json!(
            w.gdpr
                .iter()
                .map(|j| {
                    let mut v = json!(j);
                    if let Some(m) = v.as_object_mut() {
                        m.insert("status".into(), json!(j.status_at(now)));
                        m.insert("resultsUrls".into(), json!(w.results_urls(j, now)));
                    }
                    v
                })
                .collect::<Vec<_>>()
        ),
        _ => return None,
    })
}

async fn state_all(State(app): State<App>) -> Json<Value> {
    let (w, now) = app.world();
    let mut m = serde_json::Map::new();
    m.insert("now".into(), json!(views::ts(now)));
    for name in [
        "conversations",
        "recordings",
        "users",
        "external-contacts",
        "protections",
        "gdpr-requests",
    ] {
        if let Some(v) = section(&w, name, now) {
            let key = match name {
                "external-contacts" => "externalContacts",
                "protections" => "protectedConversationIds",
                "gdpr-requests" => "gdprRequests",
                other => other,
            };
            m.insert(key.into(), v);
        }
    }
    Json(Value::Object(m))
}

async fn state_section(State(app): State<App>, Path(name): Path<String>) -> AdminResult {
    let (w, now) = app.world();
    section(&w, &name, now)
        .map(|v| Json(v).into_response())
        .ok_or_else(|| {
            ApiError::not_found(
                "not.found",
                "Unknown state section; use conversations, recordings, users, external-contacts, protections or gdpr-requests",
            )
        })
}

async fn requests(State(app): State<App>) -> Json<Value> {
    Json(json!(app.world().0.log))
}

async fn clear_requests(State(app): State<App>) -> StatusCode {
    app.world().0.log.clear();
    StatusCode::NO_CONTENT
}

fn clock_view(app: &App) -> Value {
    json!({
        "now": views::ts(app.now()),
        "owned": app.owned_clock.is_some(),
        "speed": app.owned_clock.as_ref().map(|c| c.speed()),
    })
}

fn owned(app: &App) -> Result<&crate::clockctl::ControlledClock, ApiError> {
    app.owned_clock.as_deref().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "emulator.clock.not.owned",
            "The emulator was started with an external clock; steer that clock instead.",
        )
    })
}

async fn clock_get(State(app): State<App>) -> Json<Value> {
    Json(clock_view(&app))
}

async fn clock_advance(State(app): State<App>, body: Bytes) -> AdminResult {
    let obj = json_object(&body)?;
    let seconds: f64 = match obj.get("seconds") {
        Some(v) => typed("seconds", v.clone())?,
        None => return Err(ApiError::bad_field("seconds", "seconds is required")),
    };
    if !(seconds.is_finite() && (0.0..=1e10).contains(&seconds)) {
        return Err(ApiError::bad_field(
            "seconds",
            "seconds must be a non-negative number",
        ));
    }
    owned(&app)?.advance(Duration::from_secs_f64(seconds));
    Ok(Json(clock_view(&app)).into_response())
}

async fn clock_freeze(State(app): State<App>) -> AdminResult {
    owned(&app)?
        .set_speed(0.0)
        .map_err(|m| ApiError::bad_field("speed", m))?;
    Ok(Json(clock_view(&app)).into_response())
}

async fn clock_speed(State(app): State<App>, body: Bytes) -> AdminResult {
    let obj = json_object(&body)?;
    let speed: f64 = match obj.get("speed") {
        Some(v) => typed("speed", v.clone())?,
        None => return Err(ApiError::bad_field("speed", "speed is required")),
    };
    owned(&app)?
        .set_speed(speed)
        .map_err(|m| ApiError::bad_field("speed", m))?;
    Ok(Json(clock_view(&app)).into_response())
}

async fn faults_list(State(app): State<App>) -> Json<Value> {
    Json(json!(app.world().0.faults))
}

async fn faults_add(State(app): State<App>, body: Bytes) -> AdminResult {
    let obj = json_object(&body)?;
    let fault: Fault = typed("fault", Value::Object(obj))?;
    let id = app
        .world()
        .0
        .add_fault(fault)
        .map_err(|m| ApiError::bad_field("fault", m))?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

async fn faults_clear(State(app): State<App>) -> StatusCode {
    app.world().0.faults.clear();
    StatusCode::NO_CONTENT
}

async fn fault_remove(State(app): State<App>, Path(id): Path<String>) -> AdminResult {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::bad_field("id", "a fault id is a number"))?;
    let (mut w, _) = app.world();
    let before = w.faults.len();
    w.faults.retain(|f| f.id != id);
    if w.faults.len() == before {
        return Err(ApiError::not_found("not.found", "No fault with that id."));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn reset(State(app): State<App>) -> StatusCode {
    app.world().0.reset();
    StatusCode::NO_CONTENT
}

async fn results(State(app): State<App>, Path(token): Path<String>) -> AdminResult {
    let (w, now) = app.world();
    // Only once the export is COMPLETED (the URL is not handed out before).
    let ready = w.gdpr.iter().any(|j| {
        j.result_tokens.contains(&token) && j.status_at(now) == crate::world::GdprStatus::Completed
    });
    match w.results.get(&token) {
        Some(doc) if ready => Ok(Json(doc.clone()).into_response()),
        _ => Err(ApiError::not_found(
            "not.found",
            "No export results at this address.",
        )),
    }
}

async fn archive_fault_get(State(app): State<App>) -> Json<Value> {
    Json(json!(app.world().0.archive_fault))
}

async fn archive_fault_set(State(app): State<App>, body: Bytes) -> AdminResult {
    let obj = json_object(&body)?;
    let fault: crate::export::ArchiveFault = typed("archiveFault", Value::Object(obj))?;
    app.world().0.archive_fault = Some(fault);
    Ok(Json(json!(fault)).into_response())
}

async fn archive_fault_clear(State(app): State<App>) -> StatusCode {
    app.world().0.archive_fault = None;
    StatusCode::NO_CONTENT
}

async fn redaction_faults_list(State(app): State<App>) -> Json<Value> {
    Json(json!(app.world().0.redaction_faults))
}

async fn redaction_faults_clear(State(app): State<App>) -> StatusCode {
    app.world().0.redaction_faults.clear();
    StatusCode::NO_CONTENT
}

async fn redaction_fault_set(
    State(app): State<App>,
    Path(cid): Path<String>,
    body: Bytes,
) -> AdminResult {
    let obj = json_object(&body)?;
    let fault: crate::redact::RedactionFault = typed("redactionFault", Value::Object(obj))?;
    app.world().0.redaction_faults.insert(cid, fault);
    Ok(Json(json!(fault)).into_response())
}

async fn redaction_fault_remove(State(app): State<App>, Path(cid): Path<String>) -> AdminResult {
    match app.world().0.redaction_faults.remove(&cid) {
        Some(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        None => Err(ApiError::not_found(
            "not.found",
            "No redaction fault for that conversation.",
        )),
    }
}
