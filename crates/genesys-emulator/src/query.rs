//! Query-string and body parsing that answers bad input with a precise ErrorBody
//! (axum's own extractors answer in plain text).

use axum::http::Uri;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::ApiError;

/// Parsed query parameters, repeated keys kept (`id=a&id=b`).
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn of(uri: &Uri) -> Self {
        let q = uri.query().unwrap_or("");
        Self(
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// All values of `key` (also spelled `key[]`).
    pub fn all(&self, key: &str) -> Vec<&str> {
        let alt = format!("{key}[]");
        self.0
            .iter()
            .filter(|(k, _)| k == key || *k == alt)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// An integer within `min..=max`, `default` when absent.
    pub fn int(
        &self,
        key: &str,
        default: usize,
        min: usize,
        max: usize,
    ) -> Result<usize, ApiError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_query(key, v, &format!("an integer within {min}..={max}"))
                }),
        }
    }

    pub fn bool(&self, key: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ApiError::bad_query(key, v, "true, false")),
        }
    }

    /// One of `allowed`, or `None` when absent.
    pub fn one_of(&self, key: &str, allowed: &[&str]) -> Result<Option<String>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if allowed.contains(&v) => Ok(Some(v.to_string())),
            Some(v) => Err(ApiError::bad_query(key, v, &allowed.join(", "))),
        }
    }
}

/// The body as a JSON object.
pub fn json_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_field("body", "A request body is required."));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_field(
            "body",
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(ApiError::bad_field(
            "body",
            format!(
                "The request could not be understood by the server due to malformed syntax: {e}"
            ),
        )),
    }
}

/// Deserialises a JSON value into `T`, naming `field` when it does not fit.
pub fn typed<T: serde::de::DeserializeOwned>(field: &str, v: Value) -> Result<T, ApiError> {
    serde_json::from_value(v)
        .map_err(|e| ApiError::bad_field_code("invalid.value", field, format!("{field}: {e}")))
}

/// An optional ISO-8601 date-time field: `Ok(None)` absent, `Ok(Some(None))` null.
pub fn date_field(
    obj: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<Option<DateTime<Utc>>>, ApiError> {
    match obj.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|d| Some(Some(d.with_timezone(&Utc))))
            .map_err(|_| invalid_date(field)),
        Some(_) => Err(invalid_date(field)),
    }
}

fn invalid_date(field: &str) -> ApiError {
    ApiError::bad_field_code(
        "invalid.date",
        field,
        "Dates must be specified as ISO-8601 strings. For example: yyyy-MM-ddTHH:mm:ss.SSSZ",
    )
}
