//! `POST /api/v2/analytics/conversations/details/query` and the single-conversation
//! details, with the synchronous query's day granularity: it returns conversations
//! that STARTED ON A UTC DAY TOUCHED BY the interval, so callers must post-filter on
//! exact timestamps.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::dataset::{Conversation, Participant};
use crate::error::ApiError;
use crate::query::{json_object, typed};
use crate::views;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/api/v2/analytics/conversations/details/query",
            post(details_query),
        )
        .route(
            "/api/v2/analytics/conversations/{conversationId}/details",
            get(details_one),
        )
}

async fn details_one(State(app): State<App>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let (w, _) = app.world();
    let c =
        w.conversations.iter().find(|c| c.id == id).ok_or_else(|| {
            ApiError::not_found("not.found", "The requested resource was not found.")
        })?;
    Ok(Json(views::analytics_conversation(c)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Filter {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    clauses: Vec<Clause>,
    #[serde(default)]
    predicates: Vec<Predicate>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Clause {
    #[serde(rename = "type")]
    kind: String,
    predicates: Vec<Predicate>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Predicate {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    dimension: Option<String>,
    #[serde(default)]
    operator: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    range: Option<Value>,
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    property: Option<String>,
    #[serde(default)]
    property_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Paging {
    #[serde(default)]
    page_size: Option<i64>,
    #[serde(default)]
    page_number: Option<i64>,
}

const SEGMENT_DIMENSIONS: &[&str] = &[
    "ani",
    "dnis",
    "sessionDnis",
    "addressFrom",
    "addressTo",
    "direction",
    "mediaType",
    "userId",
    "externalContactId",
    "purpose",
    "participantName",
];
const CONVERSATION_DIMENSIONS: &[&str] = &["conversationId", "originatingDirection", "divisionId"];

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Matches,
    Exists,
    NotExists,
}

/// A predicate checked and ready to evaluate.
struct Pred {
    dimension: String,
    op: Op,
    value: String,
}

struct CheckedFilter {
    all: bool,
    predicates: Vec<Pred>,
    clauses: Vec<(bool, Vec<Pred>)>,
}

fn combine(all: bool, mut results: impl Iterator<Item = bool>) -> bool {
    if all {
        results.all(|b| b)
    } else {
        results.any(|b| b)
    }
}

impl CheckedFilter {
    fn eval(&self, lookup: &dyn Fn(&str) -> Option<String>) -> bool {
        if self.predicates.is_empty() && self.clauses.is_empty() {
            return true;
        }
        let preds = self.predicates.iter().map(|p| eval_pred(p, lookup));
        let clauses = self
            .clauses
            .iter()
            .map(|(all, ps)| combine(*all, ps.iter().map(|p| eval_pred(p, lookup))));
        combine(self.all, preds.chain(clauses))
    }
}

fn eval_pred(p: &Pred, lookup: &dyn Fn(&str) -> Option<String>) -> bool {
    let v = lookup(&p.dimension).filter(|v| !v.is_empty());
    match p.op {
        Op::Exists => v.is_some(),
        Op::NotExists => v.is_none(),
        // Exact comparison of the stored value, ignoring ASCII case: a voice ANI is
        // stored as tel:+<E.164>, so that is the spelling to query with.
        Op::Matches => v.is_some_and(|v| v.eq_ignore_ascii_case(&p.value)),
    }
}

fn check_filters(
    field: &str,
    value: Option<&Value>,
    dims: &[&str],
) -> Result<Vec<CheckedFilter>, ApiError> {
    let filters: Vec<Filter> = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(v) => typed(field, v.clone())?,
    };
    let kind = |k: &str, at: &str| match k {
        "and" => Ok(true),
        "or" => Ok(false),
        _ => Err(ApiError::bad_field_code(
            "invalid.value",
            at,
            format!("{at} must be 'and' or 'or'"),
        )),
    };
    let check_pred = |p: Predicate| -> Result<Pred, ApiError> {
        let at = format!("{field}.predicates");
        if p.kind.as_deref().is_some_and(|k| k != "dimension")
            || p.metric.is_some()
            || p.property.is_some()
            || p.property_type.is_some()
        {
            return Err(ApiError::bad_field(
                &at,
                "the emulator supports dimension predicates only",
            ));
        }
        if p.range.is_some() {
            return Err(ApiError::bad_field(
                &at,
                "the emulator does not support range predicates",
            ));
        }
        let dimension = p.dimension.ok_or_else(|| {
            ApiError::bad_field(
                &format!("{at}.dimension"),
                "a dimension predicate needs a dimension",
            )
        })?;
        if !dims.contains(&dimension.as_str()) {
            return Err(ApiError::bad_field_code(
                "invalid.value",
                &format!("{at}.dimension"),
                format!(
                    "dimension [{dimension}] is not supported in {field} by the emulator; supported: {}",
                    dims.join(", ")
                ),
            ));
        }
        let op = match p.operator.as_deref().unwrap_or("matches") {
            "matches" => Op::Matches,
            "exists" => Op::Exists,
            "notExists" => Op::NotExists,
            other => {
                return Err(ApiError::bad_field_code(
                    "invalid.value",
                    &format!("{at}.operator"),
                    format!("operator [{other}] must be matches, exists or notExists"),
                ));
            }
        };
        let value = match (op, p.value) {
            (Op::Matches, None) => {
                return Err(ApiError::bad_field(
                    &format!("{at}.value"),
                    "a matches predicate needs a value",
                ));
            }
            (_, v) => v.unwrap_or_default(),
        };
        Ok(Pred {
            dimension,
            op,
            value,
        })
    };
    filters
        .into_iter()
        .map(|f| {
            let all = kind(&f.kind, &format!("{field}.type"))?;
            let predicates = f
                .predicates
                .into_iter()
                .map(&check_pred)
                .collect::<Result<Vec<_>, _>>()?;
            let clauses = f
                .clauses
                .into_iter()
                .map(|c| {
                    Ok((
                        kind(&c.kind, &format!("{field}.clauses.type"))?,
                        c.predicates
                            .into_iter()
                            .map(&check_pred)
                            .collect::<Result<Vec<_>, _>>()?,
                    ))
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            Ok(CheckedFilter {
                all,
                predicates,
                clauses,
            })
        })
        .collect()
}

fn segment_value(c: &Conversation, p: &Participant, dimension: &str) -> Option<String> {
    match dimension {
        "ani" => p.ani.clone(),
        "dnis" | "sessionDnis" => p.dnis.clone(),
        "addressFrom" => p.address_from.clone(),
        "addressTo" => p.address_to.clone(),
        "direction" => Some(c.direction.as_str().into()),
        "mediaType" => Some(c.media_type.as_str().into()),
        "userId" => p.user_id.clone(),
        "externalContactId" => p.external_contact_id.clone(),
        "purpose" => Some(p.purpose.clone()),
        "participantName" => p.name.clone(),
        _ => None,
    }
}

fn conversation_value(c: &Conversation, dimension: &str) -> Option<String> {
    match dimension {
        "conversationId" => Some(c.id.clone()),
        "originatingDirection" => Some(c.direction.as_str().into()),
        "divisionId" => Some("00000000-0000-4000-8000-000000000001".into()),
        _ => None,
    }
}

/// The UTC days an interval touches: from the start's day to the day of the last
/// instant before the end.
fn touched_days(start: DateTime<Utc>, end: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let last = end - TimeDelta::nanoseconds(1);
    (start.date_naive(), last.date_naive())
}

fn parse_interval(v: Option<&Value>) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let bad = || {
        ApiError::bad_field_code(
            "invalid.date",
            "interval",
            "interval must be two ISO-8601 instants separated by '/', e.g. 2024-01-01T00:00:00.000Z/2024-02-01T00:00:00.000Z",
        )
    };
    let s = match v {
        None | Some(Value::Null) => {
            return Err(ApiError::bad_field("interval", "interval is required"));
        }
        Some(Value::String(s)) => s,
        Some(_) => return Err(bad()),
    };
    let (a, b) = s.split_once('/').ok_or_else(bad)?;
    let start = DateTime::parse_from_rfc3339(a)
        .map_err(|_| bad())?
        .with_timezone(&Utc);
    let end = DateTime::parse_from_rfc3339(b)
        .map_err(|_| bad())?
        .with_timezone(&Utc);
    if end <= start {
        return Err(ApiError::bad_field(
            "interval",
            "the interval's end must be after its start",
        ));
    }
    Ok((start, end))
}

const QUERY_FIELDS: &[&str] = &[
    "conversationFilters",
    "segmentFilters",
    "evaluationFilters",
    "surveyFilters",
    "resolutionFilters",
    "order",
    "orderBy",
    "interval",
    "aggregations",
    "paging",
];

async fn details_query(State(app): State<App>, body: Bytes) -> Result<Response, ApiError> {
    let obj: Map<String, Value> = json_object(&body)?;
    if let Some(k) = obj.keys().find(|k| !QUERY_FIELDS.contains(&k.as_str())) {
        return Err(ApiError::bad_field_code(
            "invalid.property",
            k,
            format!("Value [{k}] is not a valid property for object [ConversationQuery]"),
        ));
    }
    let (start, end) = parse_interval(obj.get("interval"))?;
    let max = app.world().0.config.max_details_interval;
    if end - start > max {
        return Err(ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "analytics.query.interval.too.large",
            format!(
                "The interval is longer than the {} days a details query answers",
                max.num_days()
            ),
        ));
    }
    for f in [
        "evaluationFilters",
        "surveyFilters",
        "resolutionFilters",
        "aggregations",
    ] {
        if obj
            .get(f)
            .is_some_and(|v| v.as_array().is_none_or(|a| !a.is_empty()) && !v.is_null())
        {
            return Err(ApiError::bad_field(
                f,
                format!("{f} are not supported by the emulator"),
            ));
        }
    }
    let segment_filters = check_filters(
        "segmentFilters",
        obj.get("segmentFilters"),
        SEGMENT_DIMENSIONS,
    )?;
    let conversation_filters = check_filters(
        "conversationFilters",
        obj.get("conversationFilters"),
        CONVERSATION_DIMENSIONS,
    )?;
    let order = match obj.get("order") {
        None | Some(Value::Null) => "asc".to_string(),
        Some(Value::String(s)) if ["asc", "desc", "unordered"].contains(&s.as_str()) => s.clone(),
        Some(_) => {
            return Err(ApiError::bad_field_code(
                "invalid.value",
                "order",
                "order must be asc, desc or unordered",
            ));
        }
    };
    let by_end = match obj.get("orderBy") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) if s == "conversationStart" || s == "segmentStart" => false,
        Some(Value::String(s)) if s == "conversationEnd" || s == "segmentEnd" => true,
        Some(_) => {
            return Err(ApiError::bad_field_code(
                "invalid.value",
                "orderBy",
                "orderBy must be conversationStart, conversationEnd, segmentStart or segmentEnd",
            ));
        }
    };
    let paging: Option<Paging> = match obj.get("paging") {
        None | Some(Value::Null) => None,
        Some(v) => Some(typed("paging", v.clone())?),
    };
    let page_size = paging.as_ref().and_then(|p| p.page_size).unwrap_or(25);
    let page_number = paging.as_ref().and_then(|p| p.page_number).unwrap_or(1);
    if !(1..=100).contains(&page_size) {
        return Err(ApiError::bad_field_code(
            "invalid.value",
            "paging.pageSize",
            "paging.pageSize must be within 1..=100",
        ));
    }
    if !(1..=1_000_000).contains(&page_number) {
        return Err(ApiError::bad_field_code(
            "invalid.value",
            "paging.pageNumber",
            "paging.pageNumber must be within 1..=1000000",
        ));
    }

    let (first_day, last_day) = touched_days(start, end);
    let (w, _) = app.world();
    let mut hits: Vec<&Conversation> = w
        .conversations
        .iter()
        .filter(|c| {
            let d = c.start.date_naive();
            first_day <= d && d <= last_day
        })
        .filter(|c| {
            conversation_filters
                .iter()
                .all(|f| f.eval(&|dim| conversation_value(c, dim)))
        })
        .filter(|c| {
            segment_filters.iter().all(|f| {
                c.participants
                    .iter()
                    .any(|p| f.eval(&|dim| segment_value(c, p, dim)))
            })
        })
        .collect();
    if by_end {
        hits.sort_by(|a, b| a.end.cmp(&b.end).then(a.id.cmp(&b.id)));
    } else {
        hits.sort_by(|a, b| a.start.cmp(&b.start).then(a.id.cmp(&b.id)));
    }
    if order == "desc" {
        hits.reverse();
    }
    let total = hits.len();
    let page: Vec<Value> = hits
        .into_iter()
        .skip(((page_number - 1) * page_size) as usize)
        .take(page_size as usize)
        .map(views::analytics_conversation)
        .collect();
    // Like the real service, an empty page has no `conversations` member at all.
    let body = if page.is_empty() {
        json!({"totalHits": total})
    } else {
        json!({"conversations": page, "totalHits": total})
    };
    Ok(Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_touches_its_whole_day() {
        let s: DateTime<Utc> = "2024-03-10T14:00:00Z".parse().unwrap();
        let e: DateTime<Utc> = "2024-03-10T15:00:00Z".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2024, 3, 10).unwrap();
        assert_eq!(touched_days(s, e), (d, d));
    }

    #[test]
    fn an_interval_ending_at_midnight_does_not_touch_the_next_day() {
        let s: DateTime<Utc> = "2024-03-10T23:00:00Z".parse().unwrap();
        let e: DateTime<Utc> = "2024-03-11T00:00:00Z".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2024, 3, 10).unwrap();
        assert_eq!(touched_days(s, e), (d, d));
    }
}
