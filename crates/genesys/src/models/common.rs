//! Types shared by every API area: references, listings, the error body.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::Pii;

/// `AddressableEntityRef` {id, selfUri}.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressableEntityRef {
    /// Entity id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// URI of the entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `DomainEntityRef` {id, name, selfUri}. The name can be a person's (e.g. the
/// creator of a GDPR request), so it is [`Pii`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainEntityRef {
    /// Entity id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Pii<String>>,
    /// URI of the entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// A page of a page-number listing (`GDPRRequestEntityListing`,
/// `GDPRSubjectEntityListing`, `UserEntityListing`, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityListing<T> {
    /// The entities on this page.
    #[serde(default = "Vec::new")]
    pub entities: Vec<T>,
    /// Page size used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    /// 1-based page number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_number: Option<u32>,
    /// Total number of entities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Number of pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_count: Option<u32>,
    /// First page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_uri: Option<String>,
    /// Next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_uri: Option<String>,
    /// Previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_uri: Option<String>,
    /// Last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_uri: Option<String>,
    /// This page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

impl<T> Default for EntityListing<T> {
    fn default() -> Self {
        Self {
            entities: Vec::new(),
            page_size: None,
            page_number: None,
            total: None,
            page_count: None,
            first_uri: None,
            next_uri: None,
            previous_uri: None,
            last_uri: None,
            self_uri: None,
        }
    }
}

/// `ErrorBody`: what Genesys returns with a 4xx/5xx. Free-text fields can echo input
/// (e.g. "Value [..] is not valid"), so they are [`Pii`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Pii<String>>,
    /// Dotted error code, e.g. `bad.request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Mirrors the HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Entity concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    /// Entity name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_name: Option<Pii<String>>,
    /// Message template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_with_params: Option<Pii<String>>,
    /// Template parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_params: Option<Pii<HashMap<String, String>>>,
    /// Correlation id of the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    /// Field-level details.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Detail>,
    /// Nested errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorBody>,
    /// The limit that was hit, for limit errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
}

/// `Detail` of an [`ErrorBody`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    /// Error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Field concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_name: Option<String>,
    /// Entity concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    /// Entity name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_name: Option<Pii<String>>,
}

/// `Limit` of an [`ErrorBody`]. `namespace` is an open set (gdpr, dsar, recording,
/// platform.api, ...), kept as a string.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limit {
    /// Limit key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Limit namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Limit value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i64>,
}
