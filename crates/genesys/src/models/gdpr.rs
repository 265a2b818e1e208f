//! GDPR API models (contract section 3).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::common::{DomainEntityRef, EntityListing};
use crate::Pii;

open_enum! {
    /// `GDPRRequest.requestType`.
    pub enum GdprRequestType {
        /// Export the subject's data.
        GdprExport = "GDPR_EXPORT",
        /// Replace the subject's identifiers (`replacementTerms`).
        GdprUpdate = "GDPR_UPDATE",
        /// Delete the subject's data (needs `deleteConfirmed=true`).
        GdprDelete = "GDPR_DELETE",
    }
}

open_enum! {
    /// `GDPRRequest.status`. Only `COMPLETED` and `ERROR` are terminal.
    pub enum GdprRequestStatus {
        /// Accepted, not started.
        Initiated = "INITIATED",
        /// Looking for the subject's data.
        Searching = "SEARCHING",
        /// Applying replacement terms.
        Updating = "UPDATING",
        /// Deleting.
        Deleting = "DELETING",
        /// Done.
        Completed = "COMPLETED",
        /// Failed; Genesys gives no detail.
        Error = "ERROR",
        /// Wrapping up.
        Finalizing = "FINALIZING",
    }
}

impl GdprRequestStatus {
    /// True for `COMPLETED` and `ERROR`.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            GdprRequestStatus::Completed | GdprRequestStatus::Error
        )
    }
}

open_enum! {
    /// `searchType` of the subject search, also `ReplacementTerm.type`. Grows over
    /// time (WHATSAPP arrived in SDK 259).
    pub enum SearchType {
        /// Person name.
        Name = "NAME",
        /// Postal address.
        Address = "ADDRESS",
        /// Phone number.
        Phone = "PHONE",
        /// E-mail address.
        Email = "EMAIL",
        /// Twitter handle.
        Twitter = "TWITTER",
        /// Instagram handle.
        Instagram = "INSTAGRAM",
        /// Facebook handle.
        Facebook = "FACEBOOK",
        /// Apple Messages for Business id.
        AppleMessages = "APPLE_MESSAGES",
        /// External id.
        ExternalId = "EXTERNAL_ID",
        /// WhatsApp number.
        Whatsapp = "WHATSAPP",
    }
}

open_enum! {
    /// `SocialHandle.type`.
    pub enum SocialHandleType {
        /// Twitter.
        Twitter = "TWITTER",
        /// Instagram.
        Instagram = "INSTAGRAM",
        /// Facebook.
        Facebook = "FACEBOOK",
        /// Apple Messages for Business.
        AppleMessages = "APPLE_MESSAGES",
    }
}

/// `GDPRSubject`: the person a request is about. Embedded by value in each request
/// (there is no subject id). Every field is optional and personal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GdprSubject {
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Pii<String>>,
    /// Genesys user id (an agent as subject).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Pii<String>>,
    /// External contact id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_contact_id: Option<Pii<String>>,
    /// Outbound dialer contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialer_contact_id: Option<DialerContactId>,
    /// Journey customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey_customer: Option<GdprJourneyCustomer>,
    /// Social media handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub social_handle: Option<SocialHandle>,
    /// External id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<Pii<String>>,
    /// Postal addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Pii<String>>,
    /// Phone numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<Pii<String>>,
    /// E-mail addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_addresses: Vec<Pii<String>>,
}

impl GdprSubject {
    /// True when no identifier at all is set (Genesys would match nothing).
    pub fn is_empty(&self) -> bool {
        self == &GdprSubject::default()
    }
}

/// `DialerContactId`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DialerContactId {
    /// Contact id (identifies the person).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Pii<String>>,
    /// Contact list id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_list_id: Option<String>,
}

/// `GDPRJourneyCustomer`: `type` and `id`, each required if the other is set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GdprJourneyCustomer {
    /// Id type (e.g. cookie, email).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Customer id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Pii<String>>,
}

/// `SocialHandle`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SocialHandle {
    /// Network.
    #[serde(rename = "type")]
    pub kind: SocialHandleType,
    /// Handle.
    pub value: Pii<String>,
}

/// `ReplacementTerm` of a GDPR_UPDATE.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplacementTerm {
    /// What kind of identifier.
    #[serde(rename = "type")]
    pub kind: SearchType,
    /// Current value.
    pub existing_value: Pii<String>,
    /// New value.
    pub updated_value: Pii<String>,
}

/// `GDPRRequest` as Genesys returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GdprRequest {
    /// Request id.
    pub id: String,
    /// Name given at submission (this project puts the ticket id there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Who submitted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<DomainEntityRef>,
    /// Replacement terms (GDPR_UPDATE only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replacement_terms: Vec<ReplacementTerm>,
    /// Export, update or delete.
    pub request_type: GdprRequestType,
    /// When it was submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<DateTime<Utc>>,
    /// Progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<GdprRequestStatus>,
    /// The subject, by value.
    #[serde(default)]
    pub subject: GdprSubject,
    /// Location of the export result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_url: Option<String>,
    /// Locations of the export results when there are several archives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results_urls: Vec<String>,
    /// URI of this request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

impl GdprRequest {
    /// Every export result location: `resultsUrls` when present, else `resultsUrl`.
    pub fn result_urls(&self) -> Vec<&str> {
        if self.results_urls.is_empty() {
            self.results_url.as_deref().into_iter().collect()
        } else {
            self.results_urls.iter().map(String::as_str).collect()
        }
    }
}

/// The body of `POST /api/v2/gdpr/requests`: only the client-writable fields of
/// `GDPRRequest` (contract 3.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewGdprRequest {
    /// Export, update or delete.
    pub request_type: GdprRequestType,
    /// Who the request is about.
    pub subject: GdprSubject,
    /// A name to find the request by later (idempotency key of the caller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only for GDPR_UPDATE.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replacement_terms: Vec<ReplacementTerm>,
}

impl NewGdprRequest {
    /// A GDPR_EXPORT of `subject`.
    pub fn export(subject: GdprSubject) -> Self {
        Self::new(GdprRequestType::GdprExport, subject)
    }

    /// A GDPR_DELETE of `subject` (submit it with `delete_confirmed = true`).
    pub fn delete(subject: GdprSubject) -> Self {
        Self::new(GdprRequestType::GdprDelete, subject)
    }

    /// A GDPR_UPDATE of `subject` with its replacement terms.
    pub fn update(subject: GdprSubject, replacement_terms: Vec<ReplacementTerm>) -> Self {
        Self {
            replacement_terms,
            ..Self::new(GdprRequestType::GdprUpdate, subject)
        }
    }

    fn new(request_type: GdprRequestType, subject: GdprSubject) -> Self {
        Self {
            request_type,
            subject,
            name: None,
            replacement_terms: Vec::new(),
        }
    }

    /// Sets the request name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// `GDPRRequestEntityListing`.
pub type GdprRequestEntityListing = EntityListing<GdprRequest>;
/// `GDPRSubjectEntityListing`.
pub type GdprSubjectEntityListing = EntityListing<GdprSubject>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_status_and_request_type_survive_a_round_trip() {
        let json = r#"{"id":"r1","requestType":"GDPR_ANONYMISE","status":"QUEUED_FOR_REVIEW","subject":{}}"#;
        let req: GdprRequest = serde_json::from_str(json).unwrap();
        assert_eq!(
            req.status,
            Some(GdprRequestStatus::Unknown("QUEUED_FOR_REVIEW".into()))
        );
        assert_eq!(
            req.request_type,
            GdprRequestType::Unknown("GDPR_ANONYMISE".into())
        );
        let back = serde_json::to_value(&req).unwrap();
        assert_eq!(back["status"], "QUEUED_FOR_REVIEW");
        assert_eq!(back["requestType"], "GDPR_ANONYMISE");
    }

    #[test]
    fn known_values_parse_to_their_variants() {
        for s in GdprRequestStatus::KNOWN {
            let v: GdprRequestStatus = serde_json::from_value(serde_json::json!(s)).unwrap();
            assert!(v.is_known());
            assert_eq!(v.as_str(), *s);
        }
        assert!(GdprRequestStatus::Completed.is_terminal());
        assert!(GdprRequestStatus::Error.is_terminal());
        assert!(!GdprRequestStatus::Finalizing.is_terminal());
        assert_eq!(SearchType::from("WHATSAPP"), SearchType::Whatsapp);
        assert_eq!(SearchType::from("LINE"), SearchType::Unknown("LINE".into()));
    }

    #[test]
    fn full_contract_request_deserialises_and_ignores_unknown_fields() {
        let json = r#"{
            "id": "6f1c",
            "name": "DSAR-2026-0042",
            "createdBy": {"id": "u1", "name": "Integration Client", "selfUri": "/api/v2/users/u1"},
            "requestType": "GDPR_EXPORT",
            "createdDate": "2026-11-22T11:05:00.123Z",
            "status": "COMPLETED",
            "subject": {
                "name": "Jane Doe",
                "phoneNumbers": ["+353861234567"],
                "emailAddresses": ["jane@example.com"],
                "socialHandle": {"type": "TWITTER", "value": "@jane"},
                "dialerContactId": {"id": "c1", "contactListId": "l1"},
                "journeyCustomer": {"type": "cookie", "id": "j1"},
                "brandNewField": {"nested": true}
            },
            "resultsUrl": "https://api.mypurecloud.ie/results/1",
            "resultsUrls": ["https://a/1", "https://a/2"],
            "selfUri": "/api/v2/gdpr/requests/6f1c",
            "someFutureField": 42
        }"#;
        let req: GdprRequest = serde_json::from_str(json).unwrap();
        assert_eq!(req.name.as_deref(), Some("DSAR-2026-0042"));
        assert_eq!(req.subject.phone_numbers[0].expose(), "+353861234567");
        assert_eq!(
            req.subject.social_handle.as_ref().unwrap().kind,
            SocialHandleType::Twitter
        );
        assert_eq!(req.result_urls(), ["https://a/1", "https://a/2"]);
        assert_eq!(
            req.created_date.unwrap().to_rfc3339(),
            "2026-11-22T11:05:00.123+00:00"
        );
    }

    #[test]
    fn debug_of_subject_and_request_prints_no_identifier() {
        let subject = GdprSubject {
            name: Some("Jane Doe".into()),
            user_id: Some("user-77".into()),
            external_contact_id: Some("ext-88".into()),
            external_id: Some("crm-99".into()),
            addresses: vec!["1 Main Street".into()],
            phone_numbers: vec!["+353861234567".into()],
            email_addresses: vec!["jane@example.com".into()],
            social_handle: Some(SocialHandle {
                kind: SocialHandleType::Twitter,
                value: "@janedoe".into(),
            }),
            dialer_contact_id: Some(DialerContactId {
                id: Some("dial-55".into()),
                contact_list_id: None,
            }),
            journey_customer: Some(GdprJourneyCustomer {
                kind: Some("cookie".into()),
                id: Some("journey-66".into()),
            }),
        };
        let req = NewGdprRequest::update(
            subject.clone(),
            vec![ReplacementTerm {
                kind: SearchType::Email,
                existing_value: "jane@example.com".into(),
                updated_value: "new-jane@example.org".into(),
            }],
        );
        let printed = format!("{subject:?} {subject:#?} {req:?}");
        for secret in [
            "Jane",
            "Doe",
            "user-77",
            "ext-88",
            "crm-99",
            "Main",
            "353",
            "jane@",
            "example",
            "janedoe",
            "dial-55",
            "journey-66",
        ] {
            assert!(!printed.contains(secret), "{secret} leaked: {printed}");
        }
    }
}
