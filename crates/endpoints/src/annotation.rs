//! Closing an escalation on AWS: `POST <approval URL>/annotations`, signed as a decision
//! is (the approval key: who may decide a review may close what it left open).
//!
//! ```json
//! { "ticketId": "DSAR-2026-1004",
//!   "document": "records/DSAR-2026-1004/20261203T101500.000Z-PARTIAL.json",
//!   "closes": ["genesys-partial"]?, "resolution": "resolved-by-genesys",
//!   "supportCase": "GEN-CASE-0042187", "by": "dpo@example.com", "role": "DPO" }
//! ```
//!
//! appends an annotation to the ticket's documents (crate `archive`, `annotation`):
//! written once and locked like the records, `by` kept only as its keyed pseudonym
//! (the same `actorRef` a decision gets). `closes` omitted closes every escalation of
//! the document still open. Answers: 201 with the annotation's key and digest; 409 when
//! what it would close is closed already (a repeated request); 422 when it does not fit
//! the archive (no such document or escalation) or is invalid; 503 when the archive
//! cannot be read or written (retry). Every value is a code, a key or a ticket id
//! checked against its alphabet before anything is read, so no answer or log line can
//! carry free text.

use archive::Archive;
use archive::annotation::{AnnotateError, Closing, RESOLUTIONS, annotate, is_support_case};
use archive::key::{self, RECORDS_DIR, VERIFICATIONS_DIR};
use chrono::{DateTime, Utc};
use erasure_core::error::FieldError;
use erasure_core::identifiers::Email;
use serde_json::{Value, json};

use crate::answer::{Answer, Fields, is_code};

/// The path of the function URL that takes annotations (anything else is a decision).
pub const PATH: &str = "/annotations";

/// A closing that passed every check of its own (the archive checks the rest).
#[derive(Debug)]
pub struct Request {
    pub ticket_id: String,
    pub document: String,
    pub closes: Vec<String>,
    pub resolution: String,
    pub support_case: String,
    pub by: Email,
    pub role: String,
}

/// Reads the closing, reporting every problem at once.
pub fn read(value: &Value) -> Result<Request, Answer> {
    const FIELDS: &[&str] = &[
        "ticketId",
        "document",
        "closes",
        "resolution",
        "supportCase",
        "by",
        "role",
    ];
    let mut f = Fields::of(value, FIELDS).map_err(invalid)?;
    let ticket_id = f.text("ticketId", 80).and_then(|t| {
        if key::validate_ticket_id(&t).is_ok() {
            Some(t)
        } else {
            f.err(
                "ticketId",
                "invalid-ticket-id",
                "must be 1-80 of A-Z a-z 0-9 . _ -, starting with a letter or digit",
            );
            None
        }
    });
    let document = f.text("document", 200).and_then(|d| {
        if ticket_id.as_deref().is_none_or(|t| is_document_of(&d, t)) {
            Some(d)
        } else {
            f.err(
                "document",
                "not-a-document-of-the-ticket",
                "must be the key of one of the ticket's records or verifications \
                 (records/<ticket>/<file> or verifications/<ticket>/<file>), as audit show lists them",
            );
            None
        }
    });
    let closes = match f.get("closes") {
        None => Vec::new(),
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= 16 => {
            let codes: Vec<String> = (items.iter())
                .filter_map(|i| i.as_str().filter(|c| is_code(c)).map(str::to_owned))
                .collect();
            if codes.len() != items.len() {
                f.err(
                    "closes",
                    "invalid-escalation",
                    "must list escalation reasons, each a code of a-z 0-9 -",
                );
            }
            codes
        }
        Some(_) => {
            f.err(
                "closes",
                "wrong-type",
                "must be a list of 1 to 16 escalation reasons, or omitted for every open one",
            );
            Vec::new()
        }
    };
    let resolution = f.text("resolution", 40).and_then(|r| {
        if RESOLUTIONS.contains(&r.as_str()) {
            Some(r)
        } else {
            f.err(
                "resolution",
                "invalid-resolution",
                format!("must be one of {}", RESOLUTIONS.join(", ")),
            );
            None
        }
    });
    let support_case = f.text("supportCase", 64).and_then(|c| {
        if is_support_case(&c) {
            Some(c)
        } else {
            f.err(
                "supportCase",
                "invalid-support-case",
                "must be a support case or change reference (letters, digits and . _ : -), never free text",
            );
            None
        }
    });
    let by = f.person("by");
    let role = f.text("role", 40);
    match (ticket_id, document, resolution, support_case, by, role) {
        (
            Some(ticket_id),
            Some(document),
            Some(resolution),
            Some(support_case),
            Some(by),
            Some(role),
        ) if f.errors.is_empty() => Ok(Request {
            ticket_id,
            document,
            closes,
            resolution,
            support_case,
            by,
            role,
        }),
        _ => Err(invalid(f.errors)),
    }
}

/// Writes the annotation: `actor_ref` is the pseudonym of `request.by`, `role` the
/// allowed role as configured.
pub async fn write(
    archive: &dyn Archive,
    request: &Request,
    actor_ref: &str,
    role: &str,
    now: DateTime<Utc>,
) -> Answer {
    let closing = Closing {
        ticket_id: &request.ticket_id,
        document_key: &request.document,
        reasons: request.closes.clone(),
        resolution: &request.resolution,
        support_case: &request.support_case,
        actor_ref,
        role,
    };
    match annotate(archive, &closing, now).await {
        Ok(receipt) => {
            tracing::info!("annotation written");
            Answer::ok(
                201,
                json!({
                    "annotation": receipt.key,
                    "digest": receipt.digest,
                    "annotates": request.document,
                    "actorRef": actor_ref,
                    "role": role,
                }),
            )
        }
        Err(AnnotateError::Closed(why)) => {
            tracing::warn!("annotation refused: closed already");
            Answer::refuse(409, "closed-already", why)
        }
        Err(AnnotateError::Refused(why)) => {
            tracing::warn!("annotation refused: does not fit the archive");
            Answer::refuse(422, "not-annotatable", why)
        }
        Err(AnnotateError::Archive(e)) => {
            tracing::error!(error = e.name(), "the archive could not be read or written");
            Answer::refuse(
                503,
                "archive-unavailable",
                "the archive could not be read or written; nothing was annotated; retry later",
            )
        }
    }
}

/// `records/<ticket>/<record file>` or `verifications/<ticket>/<verification file>`.
fn is_document_of(document: &str, ticket_id: &str) -> bool {
    let mut parts = document.splitn(3, '/');
    let (Some(dir), Some(ticket), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    ticket == ticket_id
        && match dir {
            RECORDS_DIR => key::parse_record_file_name(file).is_some(),
            VERIFICATIONS_DIR => key::parse_verification_file_name(file).is_some(),
            _ => false,
        }
}

fn invalid(errors: Vec<FieldError>) -> Answer {
    tracing::warn!(problems = errors.len(), "annotation refused: invalid");
    Answer::invalid(
        422,
        "invalid-annotation",
        "the annotation is not valid; nothing was written",
        &errors,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Value {
        json!({
            "ticketId": "DSAR-2026-1004",
            "document": "records/DSAR-2026-1004/20261203T101500.000Z-PARTIAL.json",
            "resolution": "resolved-by-genesys",
            "supportCase": "GEN-CASE-0042187",
            "by": "dpo@example.com",
            "role": "DPO"
        })
    }

    fn fields_of(a: &Answer) -> Vec<String> {
        (a.body["reasons"].as_array().into_iter().flatten())
            .map(|r| {
                format!(
                    "{}:{}",
                    r["field"].as_str().unwrap(),
                    r["code"].as_str().unwrap()
                )
            })
            .collect()
    }

    #[test]
    fn a_closing_is_read_with_every_escalation_when_none_is_named() {
        let r = read(&body()).map_err(|a| a.body).unwrap();
        assert_eq!(r.ticket_id, "DSAR-2026-1004");
        assert!(r.closes.is_empty());
        let mut b = body();
        b["closes"] = json!(["genesys-partial"]);
        b["document"] = json!("verifications/DSAR-2026-1004/20261219T101500.000Z-RESIDUE.json");
        let r = read(&b).map_err(|a| a.body).unwrap();
        assert_eq!(r.closes, ["genesys-partial"]);
    }

    #[test]
    fn every_problem_is_named_and_no_value_is_echoed() {
        let b = json!({
            "ticketId": "DSAR/../x",
            "document": "records/OTHER-1/20261203T101500.000Z-PARTIAL.json",
            "closes": ["Jane rang us"],
            "resolution": "fixed",
            "supportCase": "called Jane Doe on Tuesday",
            "by": "not an address",
            "jane.doe@example.com": 1
        });
        let a = read(&b).unwrap_err();
        assert_eq!(a.status, 422);
        let found = fields_of(&a);
        for want in [
            "ticketId:invalid-ticket-id",
            "closes:invalid-escalation",
            "resolution:invalid-resolution",
            "supportCase:invalid-support-case",
            "role:missing",
            "<unknown>:unknown-field",
        ] {
            assert!(found.iter().any(|f| f == want), "{want} in {found:?}");
        }
        assert!(found.iter().any(|f| f.starts_with("by:")), "{found:?}");
        let shown = a.body.to_string();
        for value in ["Jane", "Tuesday", "jane.doe", "not an address", "OTHER-1"] {
            assert!(!shown.contains(value), "{value} in {shown}");
        }
        // A document of another ticket, or not a record or verification.
        for doc in [
            "records/OTHER-1/20261203T101500.000Z-PARTIAL.json",
            "annotations/DSAR-2026-1004/20261203T101500.000Z-ANNOTATION.json",
            "records/DSAR-2026-1004/../../x",
        ] {
            let mut b = body();
            b["document"] = json!(doc);
            let a = read(&b).unwrap_err();
            assert_eq!(fields_of(&a), ["document:not-a-document-of-the-ticket"]);
        }
    }
}
