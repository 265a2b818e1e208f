//! HTTP answers of the two function-URL endpoints: a status and a JSON body.
//!
//! A refusal is `{"error": "<code>", "message": "...", "reasons": [...]?}`: a stable
//! code for machines, a sentence for people, and for invalid documents every problem
//! as `{field, code, message}`. Nothing in an answer quotes a value the caller sent.

use erasure_core::error::FieldError;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

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

/// Parses the body as JSON; the refusal says where, never what.
pub fn parse_json(body: &[u8]) -> Result<Value, Answer> {
    serde_json::from_slice(body).map_err(|e| {
        Answer::refuse(
            400,
            "invalid-json",
            format!(
                "the body is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })
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
    fn invalid_json_is_located_not_quoted() {
        let a = parse_json(b"{\"email\": jane@example.com}").unwrap_err();
        assert_eq!(a.status, 400);
        assert!(!a.body.to_string().contains("jane"), "{}", a.body);
        assert!(a.body["message"].as_str().unwrap().contains("line 1"));
    }
}
