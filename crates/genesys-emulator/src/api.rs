//! The Genesys Cloud API routes: OAuth, GDPR, users, recordings, deletion protection.
//! (Analytics lives in `analytics.rs`.)

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::app::{App, ClientId, PartialError, basic_credentials};
use crate::dataset::{Conversation, FileState, UserState};
use crate::error::ApiError;
use crate::phone::{normalise_email, normalise_name, normalise_phone};
use crate::query::{Query, date_field, json_object, typed};
use crate::views;
use crate::world::{GdprSubject, ReplacementTerm, RequestType, Submission, World};

type ApiResult = Result<Response, ApiError>;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/api/v2/gdpr/subjects", get(gdpr_subjects))
        .route("/api/v2/gdpr/requests", post(gdpr_submit).get(gdpr_list))
        .route("/api/v2/gdpr/requests/{requestId}", get(gdpr_get))
        .route("/api/v2/users", get(users_list))
        .route(
            "/api/v2/users/{userId}",
            get(user_get).patch(user_patch).delete(user_delete),
        )
        .route(
            "/api/v2/conversations/{conversationId}/recordingmetadata",
            get(recording_metadata_list),
        )
        .route(
            "/api/v2/conversations/{conversationId}/recordingmetadata/{recordingId}",
            get(recording_metadata_get),
        )
        .route(
            "/api/v2/conversations/{conversationId}/recordings",
            get(recordings_list),
        )
        .route(
            "/api/v2/conversations/{conversationId}/recordings/{recordingId}",
            get(recording_get).put(recording_put),
        )
        .route(
            "/api/v2/recordings/deletionprotection",
            post(protection_query).put(protection_set),
        )
        .merge(crate::analytics::routes())
        .merge(crate::export::routes())
}

// ----- OAuth -----

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "description": description, "error_description": description})),
    )
        .into_response()
}

async fn token(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let Some((id, secret)) = basic_credentials(&headers) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication is required: HTTP Basic with the client id and secret.",
        );
    };
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let (mut w, now) = app.world();
    if w.client(&id).is_none_or(|c| c.client_secret != secret) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        );
    }
    match form
        .iter()
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.as_str())
    {
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required (client_credentials).",
        ),
        Some("client_credentials") => match w.issue_token(&id, now) {
            Some((token, expires_in)) => Json(
                json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in}),
            )
            .into_response(),
            None => oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed.",
            ),
        },
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only the client_credentials grant is supported.",
        ),
    }
}

// ----- GDPR -----

const SEARCH_TYPES: &[&str] = &[
    "NAME",
    "ADDRESS",
    "PHONE",
    "EMAIL",
    "TWITTER",
    "INSTAGRAM",
    "FACEBOOK",
    "APPLE_MESSAGES",
    "EXTERNAL_ID",
    "WHATSAPP",
];

async fn gdpr_subjects(State(app): State<App>, uri: Uri) -> ApiResult {
    let q = Query::of(&uri);
    let search_type = q
        .one_of("searchType", SEARCH_TYPES)?
        .ok_or_else(|| ApiError::bad_field("searchType", "searchType is required"))?;
    let value = q
        .get("searchValue")
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ApiError::bad_field("searchValue", "searchValue is required"))?
        .to_string();
    let (w, _) = app.world();
    let subjects = search_subjects(&w, &search_type, &value);
    let total = subjects.len();
    Ok(Json(views::listing(
        subjects,
        total,
        total.max(25),
        1,
        "/api/v2/gdpr/subjects",
    ))
    .into_response())
}

fn search_subjects(w: &World, search_type: &str, value: &str) -> Vec<Value> {
    let contact_subject = |x: &crate::dataset::ExternalContact| {
        json!(GdprSubject {
            name: x.full_name(),
            external_contact_id: Some(x.id.clone()),
            phone_numbers: x.phone_numbers.clone(),
            email_addresses: x.email_addresses.clone(),
            ..GdprSubject::default()
        })
    };
    let user_subject = |u: &crate::dataset::User| {
        json!(GdprSubject {
            name: Some(u.name.clone()),
            user_id: Some(u.id.clone()),
            email_addresses: vec![u.email.clone()],
            ..GdprSubject::default()
        })
    };
    let mut out = Vec::new();
    let conversation_only = w.config.search_finds_conversation_only_identifiers;
    let seen_in_conversations: bool;
    match search_type {
        "PHONE" => {
            // An unparseable value is a miss, not a 400 (live-tenants.md section 2).
            let Some(want) = normalise_phone(value) else {
                return out;
            };
            for x in &w.contacts {
                if x.phone_numbers
                    .iter()
                    .any(|p| normalise_phone(p).as_ref() == Some(&want))
                {
                    out.push(contact_subject(x));
                }
            }
            seen_in_conversations = w.conversations.iter().any(|c| {
                c.participants.iter().any(|p| {
                    p.address_fields()
                        .any(|(_, v)| normalise_phone(v).as_ref() == Some(&want))
                })
            });
            if out.is_empty() && seen_in_conversations && conversation_only {
                out.push(json!(GdprSubject {
                    phone_numbers: vec![value.to_string()],
                    ..GdprSubject::default()
                }));
            }
        }
        "EMAIL" => {
            // An unparseable value is a miss, not a 400 (live-tenants.md section 2).
            let Some(want) = normalise_email(value) else {
                return out;
            };
            for x in &w.contacts {
                if x.email_addresses
                    .iter()
                    .any(|e| normalise_email(e).as_ref() == Some(&want))
                {
                    out.push(contact_subject(x));
                }
            }
            for u in &w.users {
                if normalise_email(&u.email).as_ref() == Some(&want) {
                    out.push(user_subject(u));
                }
            }
            seen_in_conversations = w.conversations.iter().any(|c| {
                c.participants.iter().any(|p| {
                    p.address_fields()
                        .any(|(_, v)| normalise_email(v).as_ref() == Some(&want))
                })
            });
            if out.is_empty() && seen_in_conversations && conversation_only {
                out.push(json!(GdprSubject {
                    email_addresses: vec![value.to_string()],
                    ..GdprSubject::default()
                }));
            }
        }
        "NAME" => {
            let want = normalise_name(value);
            for x in &w.contacts {
                if x.full_name().is_some_and(|n| normalise_name(&n) == want) {
                    out.push(contact_subject(x));
                }
            }
            for u in &w.users {
                if normalise_name(&u.name) == want {
                    out.push(user_subject(u));
                }
            }
            seen_in_conversations = w.conversations.iter().any(|c| {
                c.participants
                    .iter()
                    .any(|p| p.name.as_deref().is_some_and(|n| normalise_name(n) == want))
            });
            if out.is_empty() && seen_in_conversations && conversation_only {
                out.push(json!(GdprSubject {
                    name: Some(value.to_string()),
                    ..GdprSubject::default()
                }));
            }
        }
        // The dataset holds no postal addresses, social handles or external ids.
        _ => {}
    }
    out
}

const GDPR_REQUEST_FIELDS: &[&str] = &[
    "id",
    "name",
    "createdBy",
    "replacementTerms",
    "requestType",
    "createdDate",
    "status",
    "subject",
    "resultsUrl",
    "resultsUrls",
    "selfUri",
];
const TERM_TYPES: &[&str] = &[
    "NAME",
    "ADDRESS",
    "PHONE",
    "EMAIL",
    "TWITTER",
    "INSTAGRAM",
    "FACEBOOK",
    "APPLE_MESSAGES",
    "EXTERNAL_ID",
    "WHATSAPP",
];

async fn gdpr_submit(
    State(app): State<App>,
    uri: Uri,
    client: Option<Extension<ClientId>>,
    partial: Option<Extension<PartialError>>,
    body: Bytes,
) -> ApiResult {
    let q = Query::of(&uri);
    let delete_confirmed = q.bool("deleteConfirmed", false)?;
    let obj = json_object(&body)?;
    if let Some(k) = obj
        .keys()
        .find(|k| !GDPR_REQUEST_FIELDS.contains(&k.as_str()))
    {
        return Err(ApiError::bad_field_code(
            "invalid.property",
            k,
            format!("Value [{k}] is not a valid property for object [GDPRRequest]"),
        ));
    }
    let request_type = match obj.get("requestType") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad_field(
                "requestType",
                "requestType is required: GDPR_EXPORT, GDPR_UPDATE or GDPR_DELETE",
            ));
        }
        Some(Value::String(s)) => RequestType::parse(s),
        Some(_) => None,
    }
    .ok_or_else(|| {
        ApiError::bad_field_code(
            "invalid.value",
            "requestType",
            "requestType must be one of GDPR_EXPORT, GDPR_UPDATE, GDPR_DELETE",
        )
    })?;
    let subject: GdprSubject = match obj.get("subject") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad_field("subject", "subject is required"));
        }
        Some(v) => typed("subject", v.clone())?,
    };
    if subject.is_empty() {
        return Err(ApiError::bad_field(
            "subject",
            "subject must carry at least one identifier",
        ));
    }
    for (i, p) in subject.phone_numbers.iter().enumerate() {
        if normalise_phone(p).is_none() {
            return Err(ApiError::bad_field_code(
                "invalid.value",
                &format!("subject.phoneNumbers[{i}]"),
                format!("subject.phoneNumbers[{i}] is not a phone number"),
            ));
        }
    }
    for (i, e) in subject.email_addresses.iter().enumerate() {
        if normalise_email(e).is_none() {
            return Err(ApiError::bad_field_code(
                "invalid.value",
                &format!("subject.emailAddresses[{i}]"),
                format!("subject.emailAddresses[{i}] is not an e-mail address"),
            ));
        }
    }
    let name: Option<String> = match obj.get("name") {
        None | Some(Value::Null) => None,
        Some(v) => Some(typed("name", v.clone())?),
    };
    let terms: Vec<ReplacementTerm> = match obj.get("replacementTerms") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => typed("replacementTerms", v.clone())?,
    };
    if !terms.is_empty() && request_type != RequestType::GdprUpdate {
        return Err(ApiError::bad_field(
            "replacementTerms",
            "replacementTerms are only allowed on GDPR_UPDATE requests",
        ));
    }
    if request_type == RequestType::GdprUpdate {
        if terms.is_empty() {
            return Err(ApiError::bad_field(
                "replacementTerms",
                "a GDPR_UPDATE needs at least one replacement term",
            ));
        }
        if let Some(t) = terms
            .iter()
            .find(|t| !TERM_TYPES.contains(&t.term_type.as_str()))
        {
            return Err(ApiError::bad_field_code(
                "invalid.value",
                "replacementTerms.type",
                format!(
                    "replacement term type [{}] is not one of {}",
                    t.term_type,
                    TERM_TYPES.join(", ")
                ),
            ));
        }
    }
    if request_type == RequestType::GdprDelete && !delete_confirmed {
        return Err(ApiError::bad_field(
            "deleteConfirmed",
            "A GDPR_DELETE must be confirmed with the query parameter deleteConfirmed=true",
        ));
    }
    let client_id = client.map(|c| c.0.0).unwrap_or_default();
    let (mut w, now) = app.world();
    let id = w.submit_gdpr(
        Submission {
            request_type,
            subject,
            name,
            replacement_terms: terms,
            client_id,
            partial_error_fraction: partial.map(|p| p.0.0),
        },
        now,
    );
    let job = w
        .gdpr
        .iter()
        .find(|j| j.id == id)
        .ok_or_else(|| crate::error::server_error(StatusCode::INTERNAL_SERVER_ERROR))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(views::gdpr_request(&w, job, now)),
    )
        .into_response())
}

async fn gdpr_get(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let (w, now) = app.world();
    let job = w
        .gdpr
        .iter()
        .find(|j| j.id == id)
        .ok_or_else(|| ApiError::not_found("not.found", "The GDPR request was not found."))?;
    Ok(Json(views::gdpr_request(&w, job, now)).into_response())
}

async fn gdpr_list(State(app): State<App>, uri: Uri) -> ApiResult {
    let q = Query::of(&uri);
    let page_size = q.int("pageSize", 25, 1, 100)?;
    let page_number = q.int("pageNumber", 1, 1, 1_000_000)?;
    let (w, now) = app.world();
    // Newest first.
    let all: Vec<&crate::world::GdprJob> = w.gdpr.iter().rev().collect();
    let page: Vec<Value> = all
        .iter()
        .skip((page_number - 1) * page_size)
        .take(page_size)
        .map(|j| views::gdpr_request(&w, j, now))
        .collect();
    Ok(Json(views::listing(
        page,
        all.len(),
        page_size,
        page_number,
        "/api/v2/gdpr/requests",
    ))
    .into_response())
}

// ----- users -----

fn user_not_found() -> ApiError {
    ApiError::not_found(
        "general.resource.not.found",
        "Unable to find a user with that userId",
    )
}

async fn users_list(State(app): State<App>, uri: Uri) -> ApiResult {
    let q = Query::of(&uri);
    let page_size = q.int("pageSize", 25, 1, 500)?;
    let page_number = q.int("pageNumber", 1, 1, 1_000_000)?;
    let ids = q.all("id");
    if ids.len() > 100 {
        return Err(ApiError::bad_field_code(
            "max.user.ids",
            "id",
            "Only 100 users can be requested at a time.",
        ));
    }
    let state = q
        .one_of("state", &["active", "inactive", "deleted", "any"])?
        .unwrap_or_else(|| "active".into());
    let descending = match q.get("sortOrder") {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("ascending") || v.eq_ignore_ascii_case("asc") => false,
        Some(v) if v.eq_ignore_ascii_case("descending") || v.eq_ignore_ascii_case("desc") => true,
        Some(v) => return Err(ApiError::bad_query("sortOrder", v, "ascending, descending")),
    };
    let (w, _) = app.world();
    let mut users: Vec<&crate::dataset::User> = w
        .users
        .iter()
        .filter(|u| state == "any" || u.state.as_str() == state)
        .filter(|u| ids.is_empty() || ids.contains(&u.id.as_str()))
        .collect();
    users.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    if descending {
        users.reverse();
    }
    let total = users.len();
    let page: Vec<Value> = users
        .into_iter()
        .skip((page_number - 1) * page_size)
        .take(page_size)
        .map(views::user)
        .collect();
    let base = format!("/api/v2/users?state={state}");
    Ok(Json(views::listing(page, total, page_size, page_number, &base)).into_response())
}

async fn user_get(State(app): State<App>, Path(id): Path<String>, uri: Uri) -> ApiResult {
    let q = Query::of(&uri);
    // `active` (the default) finds active and inactive users; a deleted user is only
    // found with state=deleted.
    let want_deleted = q.one_of("state", &["active", "deleted"])?.as_deref() == Some("deleted");
    let (w, _) = app.world();
    let user = w
        .users
        .iter()
        .find(|u| u.id == id && (u.state == UserState::Deleted) == want_deleted)
        .ok_or_else(user_not_found)?;
    Ok(Json(views::user(user)).into_response())
}

/// The Users API's other personal fields the emulator keeps (`dataset::User::profile`).
const USER_PROFILE_FIELDS: &[&str] = &[
    "biography",
    "employerInfo",
    "certifications",
    "manager",
    "addresses",
    "images",
    "preferredName",
    "profileSkills",
    "locations",
];

async fn user_patch(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let obj = json_object(&body)?;
    let version = match obj.get("version") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad_field(
                "version",
                "version is required: send the user's current version (read it first)",
            ));
        }
        Some(v) => v.as_u64().ok_or_else(|| {
            ApiError::bad_field_code(
                "invalid.value",
                "version",
                "version must be a non-negative integer",
            )
        })?,
    };
    let new_state = match obj.get("state") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(UserState::parse(s).ok_or_else(|| {
            ApiError::bad_field_code(
                "invalid.value",
                "state",
                "state must be one of active, inactive, deleted",
            )
        })?),
        Some(_) => {
            return Err(ApiError::bad_field_code(
                "invalid.value",
                "state",
                "state must be one of active, inactive, deleted",
            ));
        }
    };
    let mut text_fields = Vec::new();
    for field in ["name", "email", "username", "department", "title"] {
        match obj.get(field) {
            None => {}
            Some(Value::String(s)) if s.is_empty() && matches!(field, "department" | "title") => {
                text_fields.push((field, None))
            }
            Some(Value::String(s)) => text_fields.push((field, Some(s.clone()))),
            Some(Value::Null) if matches!(field, "department" | "title") => {
                text_fields.push((field, None))
            }
            Some(_) => {
                return Err(ApiError::bad_field_code(
                    "invalid.value",
                    field,
                    format!("{field} must be a string"),
                ));
            }
        }
    }
    // The other personal fields: stored as sent; null, "" or an empty list or object
    // clears one (assumption: how a real org clears each is not documented).
    let profile: Vec<(&str, Option<Value>)> = USER_PROFILE_FIELDS
        .iter()
        .filter_map(|f| obj.get(*f).map(|v| (*f, v)))
        .map(|(f, v)| {
            let empty = match v {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.values().all(|x| {
                    x.is_null()
                        || x.as_str().is_some_and(str::is_empty)
                        || x.as_array().is_some_and(Vec::is_empty)
                }),
                _ => false,
            };
            // A manager is sent as a user id and read back as a reference.
            let v = match (f, v) {
                ("manager", Value::String(id)) => {
                    json!({"id": id, "selfUri": format!("/api/v2/users/{id}")})
                }
                (_, v) => v.clone(),
            };
            (f, (!empty).then_some(v))
        })
        .collect();
    let (mut w, _) = app.world();
    let user = w
        .users
        .iter_mut()
        .find(|u| u.id == id)
        .ok_or_else(user_not_found)?;
    if user.state == UserState::Deleted && new_state.is_none() {
        // A deleted user can only be restored (a PATCH carrying state).
        return Err(user_not_found());
    }
    if version != user.version {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "general.conflict",
            "The version supplied does not match the current version of the user",
        ));
    }
    if let Some(state) = new_state {
        // When state is present it is the only field changed.
        user.state = state;
    } else {
        for (field, value) in text_fields {
            match field {
                "name" => user.name = value.unwrap_or_default(),
                "email" => user.email = value.unwrap_or_default(),
                "username" => user.username = value.unwrap_or_default(),
                "department" => user.department = value,
                _ => user.title = value,
            }
        }
        for (field, value) in profile {
            match value {
                Some(v) => {
                    user.profile.insert(field.to_owned(), v);
                }
                None => {
                    user.profile.remove(field);
                }
            }
        }
    }
    user.version += 1;
    Ok(Json(views::user(user)).into_response())
}

async fn user_delete(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let (mut w, _) = app.world();
    let user = w
        .users
        .iter_mut()
        .find(|u| u.id == id && u.state != UserState::Deleted)
        .ok_or_else(user_not_found)?;
    // Soft delete: the user stays readable with state=deleted and can be restored.
    user.state = UserState::Deleted;
    user.version += 1;
    Ok(Json(json!({})).into_response())
}

// ----- recordings -----

fn conversation<'a>(w: &'a World, id: &str) -> Result<&'a Conversation, ApiError> {
    w.conversations.iter().find(|c| c.id == id).ok_or_else(|| {
        ApiError::not_found(
            "conversation.not.found",
            "A conversation for the provided conversationId was not found.",
        )
    })
}

fn recording_not_found() -> ApiError {
    ApiError::not_found(
        "recording.recording.not.found",
        "Recording with recordingId was not found.",
    )
}

const FORMAT_IDS: &[&str] = &[
    "WAV",
    "WEBM",
    "WAV_ULAW",
    "OGG_VORBIS",
    "OGG_OPUS",
    "MP3",
    "NONE",
];

async fn recording_metadata_list(State(app): State<App>, Path(cid): Path<String>) -> ApiResult {
    let (w, _) = app.world();
    let c = conversation(&w, &cid)?;
    let list: Vec<Value> = c
        .recordings
        .iter()
        .map(|r| views::recording_metadata(c, r))
        .collect();
    Ok(Json(list).into_response())
}

async fn recording_metadata_get(
    State(app): State<App>,
    Path((cid, rid)): Path<(String, String)>,
) -> ApiResult {
    let (w, _) = app.world();
    let c = conversation(&w, &cid)?;
    let r = c
        .recordings
        .iter()
        .find(|r| r.id == rid)
        .ok_or_else(recording_not_found)?;
    Ok(Json(views::recording_metadata(c, r)).into_response())
}

async fn recordings_list(State(app): State<App>, Path(cid): Path<String>, uri: Uri) -> ApiResult {
    let q = Query::of(&uri);
    q.int("maxWaitMs", 5000, 0, 3_600_000)?;
    q.one_of("formatId", FORMAT_IDS)?;
    q.bool("includePauseAnnotationsForScreenRecordings", false)?;
    let (w, _) = app.world();
    let c = conversation(&w, &cid)?;
    let list: Vec<Value> = c
        .recordings
        .iter()
        .map(|r| views::recording(c, r))
        .collect();
    Ok(Json(list).into_response())
}

async fn recording_get(
    State(app): State<App>,
    Path((cid, rid)): Path<(String, String)>,
    uri: Uri,
) -> ApiResult {
    let q = Query::of(&uri);
    q.one_of("formatId", FORMAT_IDS)?;
    q.one_of("emailFormatId", &["EML", "NONE"])?;
    q.one_of("chatFormatId", &["ZIP", "NONE"])?;
    q.one_of("messageFormatId", &["ZIP", "NONE"])?;
    q.bool("download", false)?;
    let (w, _) = app.world();
    let c = conversation(&w, &cid)?;
    let r = c
        .recordings
        .iter()
        .find(|r| r.id == rid)
        .ok_or_else(recording_not_found)?;
    Ok(Json(views::recording(c, r)).into_response())
}

async fn recording_put(
    State(app): State<App>,
    Path((cid, rid)): Path<(String, String)>,
    uri: Uri,
    body: Bytes,
) -> ApiResult {
    let q = Query::of(&uri);
    // Accepted for the contract's sake; the emulator keeps no export dates to clear.
    q.bool("clearExport", false)?;
    let obj = json_object(&body)?;
    let delete_date = date_field(&obj, "deleteDate")?;
    let archive_date = date_field(&obj, "archiveDate")?;
    let (mut w, now) = app.world();
    let protected = w.protected.contains(&cid);
    conversation(&w, &cid)?;
    let conv = w.conversations.iter_mut().find(|c| c.id == cid);
    let Some(r) = conv.and_then(|c| c.recordings.iter_mut().find(|r| r.id == rid)) else {
        return Err(recording_not_found());
    };
    if matches!(r.file_state, FileState::Deleted | FileState::Uploading) {
        return Err(ApiError::bad_field_code(
            "recording.not.archivable",
            "recordingId",
            "Recording has been deleted or is still uploading",
        ));
    }
    if protected && matches!(delete_date, Some(Some(_))) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "recording.deletion.protected",
            "The conversation is under recording deletion protection; its recordings cannot be given a delete date until the protection is revoked.",
        ));
    }
    if let Some(d) = delete_date {
        r.delete_date = d;
    }
    if let Some(a) = archive_date {
        // Moving an archived recording's archive date into the future restores it.
        if r.file_state == FileState::Archived && a.is_some_and(|a| a > now) {
            r.file_state = FileState::Restored;
        }
        r.archive_date = a;
    }
    if r.delete_date.is_some_and(|d| d <= now) {
        r.file_state = FileState::Deleted;
    } else if matches!(r.file_state, FileState::Available | FileState::Restored)
        && r.archive_date.is_some_and(|d| d <= now)
    {
        r.file_state = FileState::Archived;
    }
    let c = conversation(&w, &cid)?;
    let r = c
        .recordings
        .iter()
        .find(|r| r.id == rid)
        .ok_or_else(recording_not_found)?;
    Ok(Json(views::recording(c, r)).into_response())
}

// ----- deletion protection -----

fn conversation_ids(body: &[u8]) -> Result<Vec<String>, ApiError> {
    let obj = json_object(body)?;
    let ids: Vec<String> = match obj.get("conversationIds") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad_field(
                "conversationIds",
                "conversationIds is required",
            ));
        }
        Some(v) => typed("conversationIds", v.clone())?,
    };
    if ids.len() > 100 {
        return Err(ApiError::bad_field(
            "conversationIds",
            "At most 100 conversationIds may be given at once",
        ));
    }
    if ids.iter().any(|id| uuid::Uuid::parse_str(id).is_err()) {
        return Err(ApiError::bad_field_code(
            "recording.conversation.id.not.uuid",
            "conversationIds",
            "Request needs recording conversation ID not UUID.",
        ));
    }
    Ok(ids)
}

async fn protection_query(State(app): State<App>, body: Bytes) -> ApiResult {
    let ids = conversation_ids(&body)?;
    let (w, _) = app.world();
    let mut seen = std::collections::HashSet::new();
    // Unknown ids are simply not protected (the call is a query).
    let list: Vec<Value> = ids
        .iter()
        .filter(|id| w.protected.contains(*id) && seen.insert(id.as_str()))
        .map(|id| json!({"id": id, "selfUri": format!("/api/v2/conversations/{id}")}))
        .collect();
    Ok(Json(list).into_response())
}

async fn protection_set(State(app): State<App>, uri: Uri, body: Bytes) -> ApiResult {
    let q = Query::of(&uri);
    let protect = q.bool("protect", true)?;
    let ids = conversation_ids(&body)?;
    if ids.is_empty() {
        return Err(ApiError::bad_field_code(
            "recording.empty.payload",
            "conversationIds",
            "Recording payload was empty.",
        ));
    }
    let (mut w, _) = app.world();
    if ids
        .iter()
        .any(|id| !w.conversations.iter().any(|c| &c.id == id))
    {
        return Err(ApiError::not_found(
            "recording.conversation.not.found",
            "Recording conversation not found.",
        ));
    }
    for id in ids {
        if protect {
            w.protected.insert(id);
        } else {
            w.protected.remove(&id);
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
