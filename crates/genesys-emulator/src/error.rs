//! Genesys `ErrorBody` responses.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

tokio::task_local! {
    /// The correlation id of the request being handled, so every ErrorBody carries the
    /// same `contextId` as the `ININ-Correlation-Id` header.
    pub(crate) static CORRELATION_ID: String;
}

/// One entry of `ErrorBody.details`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    pub error_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
}

/// An API error rendered as Genesys' `ErrorBody`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub message_params: Map<String, Value>,
    pub details: Vec<Detail>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            message_params: Map::new(),
            details: Vec::new(),
            retry_after: None,
        }
    }

    /// 400 `bad.request` naming the field at fault.
    pub fn bad_field(field: &str, message: impl Into<String>) -> Self {
        Self::bad_field_code("bad.request", field, message)
    }

    /// 400 with a specific code naming the field at fault.
    pub fn bad_field_code(code: &str, field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, code, message);
        e.details.push(Detail {
            error_code: code.into(),
            field_name: Some(field.into()),
            entity_id: None,
        });
        e
    }

    /// 400 `invalid.query.param.value` for a query parameter.
    pub fn bad_query(param: &str, value: &str, allowed: &str) -> Self {
        let mut e = Self::bad_field_code(
            "invalid.query.param.value",
            param,
            format!(
                "Value [{value}] is not valid for parameter [{param}]. Allowable values are: {allowed}"
            ),
        );
        e.message_params
            .insert("param".into(), Value::String(param.into()));
        e
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn route_not_found() -> Self {
        Self::not_found("not.found", "The requested resource was not found.")
    }

    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too.many.requests.retry.after",
            format!(
                "Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"
            ),
        );
        e.message_params
            .insert("retryAfter".into(), Value::String(retry_after.to_string()));
        e.retry_after = Some(retry_after);
        e
    }

    /// The body as JSON (without `contextId` when outside a request).
    pub fn body(&self) -> Value {
        let context_id = CORRELATION_ID.try_with(|c| c.clone()).unwrap_or_default();
        serde_json::json!({
            "message": self.message,
            "code": self.code,
            "status": self.status.as_u16(),
            "messageParams": self.message_params,
            "contextId": context_id,
            "details": self.details,
            "errors": [],
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(self.body())).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// The status-specific ErrorBody of an injected server error.
pub fn server_error(status: StatusCode) -> ApiError {
    let (code, message) = match status.as_u16() {
        500 => (
            "internal.server.error",
            "The server encountered an unexpected condition which prevented it from fulfilling the request.",
        ),
        502 => ("bad.gateway", "Bad gateway."),
        503 => (
            "service.unavailable",
            "Service Unavailable - The server is currently unavailable (because it is overloaded or down for maintenance).",
        ),
        504 => ("request.timeout", "The request timed out."),
        _ => (
            "internal.server.error",
            "The server encountered an unexpected condition which prevented it from fulfilling the request.",
        ),
    };
    ApiError::new(status, code, message)
}
