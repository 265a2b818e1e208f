//! HTTP answers of the two function-URL endpoints: a status and a JSON body.
//!
//! A refusal is `{"error": "<code>", "message": "...", "reasons": [...]?}`: a stable
//! code for machines, a sentence for people, and for invalid documents every problem
//! as `{field, code, message}`. Nothing in an answer quotes a value the caller sent.

use chrono::{DateTime, Utc};
use erasure_core::error::FieldError;
use erasure_core::identifiers::{Email, check_text};
use erasure_core::strict_json::CheckedJson;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};

/// The namespace of the endpoints' metrics (the template's alarms watch it; the
/// watchdog's `METRICS_NAMESPACE` is the same).
pub const METRICS_NAMESPACE: &str = "GdprErasure";
/// 5xx answers of the ticket webhook (infra/template.yaml, TicketWebhookServerErrorsAlarm).
pub const WEBHOOK_SERVER_ERRORS: &str = "TicketWebhookServerErrors";
/// 5xx answers of the approval endpoint (ApprovalServerErrorsAlarm).
pub const APPROVAL_SERVER_ERRORS: &str = "ApprovalServerErrors";

/// What an endpoint answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn ok(status: u16, body: Value) -> Self {
        Self { status, body }
    }

    pub fn refuse(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "error": code, "message": message.into() }),
        }
    }

    /// A refusal listing every problem of the document.
    pub fn invalid(status: u16, code: &str, message: &str, reasons: &[FieldError]) -> Self {
        let reasons: Vec<Value> = reasons
            .iter()
            .map(|r| json!({ "field": r.field, "code": r.code, "message": r.message }))
            .collect();
        Self {
            status,
            body: json!({ "error": code, "message": message, "reasons": reasons }),
        }
    }

    /// Adds a field to the body (e.g. the existing execution's ARN on a conflict).
    pub fn with(mut self, key: &str, value: Value) -> Self {
        if let Some(map) = self.body.as_object_mut() {
            map.insert(key.to_owned(), value);
        }
        self
    }

    /// The error code of a refusal, for logs.
    pub fn code(&self) -> &str {
        self.body
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("ok")
    }

    /// For a 5xx answer, the CloudWatch EMF line counting it as `metric` (one, with the
    /// state machine's ARN as its dimension, as the watchdog's metrics): the caller was
    /// told to retry, and nothing else would show that it keeps happening.
    pub fn server_error_metric(
        &self,
        metric: &str,
        state_machine_arn: &str,
        at: DateTime<Utc>,
    ) -> Option<String> {
        (self.status >= 500).then(|| {
            crate::watchdog::emf_line(METRICS_NAMESPACE, state_machine_arn, &[(metric, 1)], at)
        })
    }

    pub fn into_response(self) -> Response<Body> {
        let mut response = Response::new(Body::Text(self.body.to_string()));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

/// The raw body bytes of a request, whatever the function URL decoded it into.
pub fn body_bytes(request: &Request) -> &[u8] {
    request.body().as_ref()
}

/// A header as text; a header that is not visible ASCII counts as absent.
pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Refuses anything but POST: both endpoints take one signed document.
pub fn require_post(request: &Request) -> Result<(), Answer> {
    if request.method() == lambda_http::http::Method::POST {
        Ok(())
    } else {
        Err(Answer::refuse(
            405,
            "method-not-allowed",
            "only POST is accepted",
        ))
    }
}

/// Refuses a body above `limit` bytes before anything else is done with it.
pub fn require_size(body: &[u8], limit: usize) -> Result<(), Answer> {
    if body.len() > limit {
        Err(Answer::refuse(
            413,
            "too-large",
            format!("the body is larger than {limit} bytes"),
        ))
    } else {
        Ok(())
    }
}

/// Checks the request's signature (`signing::verify`); a refusal is a 401 with the
/// check's code, logged as `what` refused (never with the headers' values).
pub fn require_signature(
    request: &Request,
    body: &[u8],
    keys: &signing::KeyRing,
    now: chrono::DateTime<chrono::Utc>,
    tolerance: chrono::Duration,
    what: &'static str,
) -> Result<(), Answer> {
    signing::verify(
        keys,
        header(request, signing::TIMESTAMP_HEADER),
        header(request, signing::SIGNATURE_HEADER),
        body,
        now,
        tolerance,
    )
    .map_err(|e| {
        tracing::warn!(code = e.code(), refused = what, "refused: signature");
        Answer::refuse(401, e.code(), e.to_string())
    })
}

/// Parses the body as JSON; the refusal says where, never what.
pub fn parse_json(body: &[u8]) -> Result<Value, Answer> {
    serde_json::from_slice(body).map_err(|e| not_json(&e))
}

/// Parses the body as JSON, finding every key given twice (the caller refuses those).
pub fn parse_strict_json(body: &[u8]) -> Result<CheckedJson, Answer> {
    CheckedJson::from_slice(body).map_err(|e| not_json(&e))
}

fn not_json(e: &serde_json::Error) -> Answer {
    Answer::refuse(
        400,
        "invalid-json",
        format!(
            "the body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
    )
}

/// Reads the fields of a signed message's JSON object, collecting every problem so
/// the answer lists them all at once. Field names are echoed, values never.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    pub errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    /// The object's fields; a non-object is one problem, a key not in `known` another.
    pub fn of(value: &'a Value, known: &[&str]) -> Result<Self, Vec<FieldError>> {
        let Some(map) = value.as_object() else {
            return Err(vec![FieldError::new(
                "$",
                "wrong-type",
                "must be an object",
            )]);
        };
        let mut fields = Self {
            map,
            errors: Vec::new(),
        };
        for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
            fields.err(
                &safe_key(key),
                "unknown-field",
                format!("is not a known field (expected: {})", known.join(", ")),
            );
        }
        Ok(fields)
    }

    pub fn err(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, code, message));
    }

    /// The field's value, absent when missing or null.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A required string of at most `max` characters, no control characters.
    pub fn text(&mut self, key: &str, max: usize) -> Option<String> {
        if self.get(key).is_none() {
            self.err(key, "missing", "is required");
            return None;
        }
        self.optional_text(key, max)
    }

    /// As [`Fields::text`], but absent is no problem.
    pub fn optional_text(&mut self, key: &str, max: usize) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => match check_text(s, max) {
                Ok(()) => Some(s.clone()),
                Err(p) => {
                    self.err(key, p.code, p.message);
                    None
                }
            },
            _ => {
                self.err(key, "wrong-type", "must be a string");
                None
            }
        }
    }

    /// A required e-mail address: the person who decided.
    pub fn person(&mut self, key: &str) -> Option<Email> {
        let s = self.text(key, 320)?;
        match s.parse::<Email>() {
            Ok(e) => Some(e),
            Err(e) => {
                self.err(
                    key,
                    e.code(),
                    "must be the e-mail address of the person who decided",
                );
                None
            }
        }
    }

    /// An optional code as the records keep codes (`^[a-z0-9][a-z0-9._-]{0,63}$`
    /// without `.` and `_`): never free text.
    pub fn optional_code(&mut self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(code) if is_code(code) => Some(code.clone()),
            Value::String(_) => {
                self.err(
                    key,
                    &format!("invalid-{}", kebab(key)),
                    "must be a code of a-z 0-9 - (1 to 64), never free text",
                );
                None
            }
            _ => {
                self.err(key, "wrong-type", "must be a string");
                None
            }
        }
    }
}

/// A code of a-z, 0-9 and '-', 1 to 64 long, not starting with '-'.
pub fn is_code(code: &str) -> bool {
    (1..=64).contains(&code.len())
        && !code.starts_with('-')
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `reasonCode` -> `reason-code`, for an error code named after its field.
fn kebab(key: &str) -> String {
    key.chars()
        .flat_map(|c| {
            if c.is_ascii_uppercase() {
                vec!['-', c.to_ascii_lowercase()]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// An unknown key is echoed only if it looks like a field name (it could be an address).
pub fn safe_key(key: &str) -> String {
    let looks_like_field = key.len() <= 40
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if looks_like_field {
        key.to_owned()
    } else {
        "<unknown>".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_becomes_a_json_response_with_its_status() {
        let r = Answer::refuse(409, "ticket-conflict", "already started")
            .with("executionArn", json!("arn:x"))
            .into_response();
        assert_eq!(r.status(), 409);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
        let v: Value = serde_json::from_slice(r.body().as_ref()).unwrap();
        assert_eq!(v["error"], "ticket-conflict");
        assert_eq!(v["executionArn"], "arn:x");
    }

    #[test]
    fn a_5xx_answer_is_counted_as_a_metric_and_nothing_else_is() {
        let sm = "arn:aws:states:eu-west-1:123456789012:stateMachine:gdpr-erasure-erasure";
        let at = DateTime::from_timestamp(1_795_000_000, 0).unwrap();
        let failed = Answer::refuse(502, "step-functions-unavailable", "retry later");
        let line = failed
            .server_error_metric(WEBHOOK_SERVER_ERRORS, sm, at)
            .expect("a 502 is counted");
        let emf: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(emf[WEBHOOK_SERVER_ERRORS], 1);
        assert_eq!(emf["StateMachineArn"], sm);
        let metrics = &emf["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(metrics["Namespace"], METRICS_NAMESPACE);
        assert_eq!(metrics["Metrics"][0]["Name"], WEBHOOK_SERVER_ERRORS);
        assert_eq!(metrics["Dimensions"], json!([["StateMachineArn"]]));
        for status in [200, 202, 401, 409, 422] {
            let a = Answer::refuse(status, "x", "y");
            assert_eq!(a.server_error_metric(WEBHOOK_SERVER_ERRORS, sm, at), None);
        }
    }

    #[test]
    fn invalid_json_is_located_not_quoted() {
        let a = parse_json(b"{\"email\": jane@example.com}").unwrap_err();
        assert_eq!(a.status, 400);
        assert!(!a.body.to_string().contains("jane"), "{}", a.body);
        assert!(a.body["message"].as_str().unwrap().contains("line 1"));
    }
}
