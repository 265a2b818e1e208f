//! The wire shapes of the emulator's objects (Genesys models, camelCase).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::dataset::{Conversation, FileState, Recording, User};
use crate::world::{GdprJob, World};

/// Genesys timestamps: ISO-8601 with milliseconds and `Z`.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn user(u: &User) -> Value {
    let mut v = json!({
        "id": u.id,
        "name": u.name,
        "division": {"id": "00000000-0000-4000-8000-000000000001", "name": "Home", "selfUri": "/api/v2/authorization/divisions/00000000-0000-4000-8000-000000000001"},
        "department": u.department,
        "email": u.email,
        "primaryContactInfo": [{"address": u.email, "mediaType": "EMAIL", "type": "PRIMARY"}],
        "addresses": [],
        "state": u.state.as_str(),
        "title": u.title,
        "username": u.username,
        "version": u.version,
        "acdAutoAnswer": false,
        "selfUri": format!("/api/v2/users/{}", u.id),
    });
    if let Some(m) = v.as_object_mut() {
        for (k, x) in &u.profile {
            m.insert(k.clone(), x.clone());
        }
    }
    v
}

fn recording_common(c: &Conversation, r: &Recording) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), json!(r.id));
    m.insert("conversationId".into(), json!(c.id));
    m.insert("startTime".into(), json!(ts(r.start_time)));
    m.insert("endTime".into(), json!(ts(r.end_time)));
    m.insert("media".into(), json!(r.media));
    if r.media == "audio" {
        m.insert("mediaSubtype".into(), json!("Trunk"));
    }
    m.insert("fileState".into(), json!(r.file_state));
    if let Some(d) = r.archive_date {
        m.insert("archiveDate".into(), json!(ts(d)));
        m.insert("archiveMedium".into(), json!("CLOUDARCHIVE"));
    }
    if let Some(d) = r.delete_date {
        m.insert("deleteDate".into(), json!(ts(d)));
    }
    // The session of the first agent, as recordings belong to an agent's leg.
    if let Some(p) = c.participants.iter().find(|p| p.purpose == "agent") {
        m.insert("sessionId".into(), json!(p.session_id));
    }
    m.insert("maxAllowedRestorationsForOrg".into(), json!(20));
    m.insert("remainingRestorationsAllowedForOrg".into(), json!(20));
    m
}

/// `RecordingMetadata`.
pub fn recording_metadata(c: &Conversation, r: &Recording) -> Value {
    let mut m = recording_common(c, r);
    m.insert("region".into(), json!("eu-west-1"));
    m.insert(
        "selfUri".into(),
        json!(format!(
            "/api/v2/conversations/{}/recordingmetadata/{}",
            c.id, r.id
        )),
    );
    Value::Object(m)
}

/// `Recording` (without playable media: the emulator has none).
pub fn recording(c: &Conversation, r: &Recording) -> Value {
    let mut m = recording_common(c, r);
    m.insert("creationTime".into(), json!(ts(r.end_time)));
    m.insert("recordingFileRole".into(), json!("CUSTOMER_EXPERIENCE"));
    m.insert("annotations".into(), json!([]));
    m.insert(
        "selfUri".into(),
        json!(format!(
            "/api/v2/conversations/{}/recordings/{}",
            c.id, r.id
        )),
    );
    Value::Object(m)
}

/// `AnalyticsConversationWithoutAttributes`.
pub fn analytics_conversation(c: &Conversation) -> Value {
    let recorded = c
        .recordings
        .iter()
        .any(|r| r.file_state != FileState::Deleted);
    let participants: Vec<Value> = c
        .participants
        .iter()
        .map(|p| {
            let mut session = serde_json::Map::new();
            session.insert("sessionId".into(), json!(p.session_id));
            session.insert("mediaType".into(), json!(c.media_type.as_str()));
            session.insert("direction".into(), json!(c.direction.as_str()));
            for (k, v) in [
                ("ani", &p.ani),
                ("dnis", &p.dnis),
                ("addressFrom", &p.address_from),
                ("addressTo", &p.address_to),
            ] {
                if let Some(v) = v {
                    session.insert(k.into(), json!(v));
                }
            }
            if p.purpose == "agent" || p.purpose == "acd" {
                session.insert("recording".into(), json!(recorded));
            }
            session.insert(
                "segments".into(),
                json!([{
                    "segmentStart": ts(c.start),
                    "segmentEnd": ts(c.end),
                    "segmentType": "interact",
                }]),
            );
            let mut participant = serde_json::Map::new();
            participant.insert("participantId".into(), json!(p.id));
            if let Some(n) = &p.name {
                participant.insert("participantName".into(), json!(n));
            }
            participant.insert("purpose".into(), json!(p.purpose));
            if let Some(u) = &p.user_id {
                participant.insert("userId".into(), json!(u));
            }
            if let Some(x) = &p.external_contact_id {
                participant.insert("externalContactId".into(), json!(x));
            }
            participant.insert("sessions".into(), json!([Value::Object(session)]));
            Value::Object(participant)
        })
        .collect();
    json!({
        "conversationId": c.id,
        "conversationStart": ts(c.start),
        "conversationEnd": ts(c.end),
        "originatingDirection": c.direction.as_str(),
        "divisionIds": ["00000000-0000-4000-8000-000000000001"],
        "participants": participants,
    })
}

/// `GDPRRequest` as the API shows it at `now`.
pub fn gdpr_request(w: &World, j: &GdprJob, now: DateTime<Utc>) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), json!(j.id));
    if let Some(n) = &j.name {
        m.insert("name".into(), json!(n));
    }
    m.insert(
        "createdBy".into(),
        json!({"id": j.created_by_client_id, "selfUri": format!("/api/v2/oauth/clients/{}", j.created_by_client_id)}),
    );
    if !j.replacement_terms.is_empty() {
        m.insert("replacementTerms".into(), json!(j.replacement_terms));
    }
    m.insert("requestType".into(), json!(j.request_type));
    m.insert("createdDate".into(), json!(ts(j.created_date)));
    m.insert("status".into(), json!(j.status_at(now)));
    m.insert("subject".into(), json!(j.subject));
    let urls = w.results_urls(j, now);
    if let Some(first) = urls.first() {
        m.insert("resultsUrl".into(), json!(first));
        m.insert("resultsUrls".into(), json!(urls));
    }
    m.insert(
        "selfUri".into(),
        json!(format!("/api/v2/gdpr/requests/{}", j.id)),
    );
    Value::Object(m)
}

/// Genesys page-number listing around `entities`.
pub fn listing(
    entities: Vec<Value>,
    total: usize,
    page_size: usize,
    page_number: usize,
    base: &str,
) -> Value {
    let page_count = total.div_ceil(page_size.max(1));
    let sep = if base.contains('?') { '&' } else { '?' };
    let uri = |n: usize| format!("{base}{sep}pageSize={page_size}&pageNumber={n}");
    let mut m = serde_json::Map::new();
    m.insert("entities".into(), Value::Array(entities));
    m.insert("pageSize".into(), json!(page_size));
    m.insert("pageNumber".into(), json!(page_number));
    m.insert("total".into(), json!(total));
    m.insert("pageCount".into(), json!(page_count));
    m.insert("firstUri".into(), json!(uri(1)));
    m.insert("selfUri".into(), json!(uri(page_number)));
    m.insert("lastUri".into(), json!(uri(page_count.max(1))));
    if page_number < page_count {
        m.insert("nextUri".into(), json!(uri(page_number + 1)));
    }
    if page_number > 1 {
        m.insert("previousUri".into(), json!(uri(page_number - 1)));
    }
    Value::Object(m)
}
