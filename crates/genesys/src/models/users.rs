//! Users API models (contract section 4): reading and offboarding a former agent.
//!
//! Objects the contract extract does not expand (images, biography, employer info,
//! locations, groups) are kept as raw JSON; those that describe a person are [`Pii`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::common::{DomainEntityRef, EntityListing};
use crate::Pii;

open_enum! {
    /// `User.state` / `UpdateUser.state`.
    pub enum UserState {
        /// Active user.
        Active = "active",
        /// Deactivated user.
        Inactive = "inactive",
        /// Soft-deleted user.
        Deleted = "deleted",
    }
}

/// The `state` query parameter of `GET /api/v2/users/{userId}` (only these two exist).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UserLookupState {
    /// Read an active or inactive user (the API default).
    #[default]
    Active,
    /// Read a deleted user.
    Deleted,
}

impl UserLookupState {
    /// As the query parameter spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            UserLookupState::Active => "active",
            UserLookupState::Deleted => "deleted",
        }
    }
}

/// `Chat` {jabberId}.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Chat {
    /// Chat address of the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jabber_id: Option<Pii<String>>,
}

/// `Contact`: one of a user's phone numbers or addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// Phone number, e-mail address, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Pii<String>>,
    /// Formatted form of the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<Pii<String>>,
    /// PHONE, EMAIL, SMS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// PRIMARY, WORK, HOME, MOBILE, ...
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Phone extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<Pii<String>>,
    /// Country code of a phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// Integration that supplied the contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration: Option<String>,
}

/// `User` as Genesys returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// User id.
    pub id: String,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Pii<String>>,
    /// Division.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<DomainEntityRef>,
    /// Chat identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<Chat>,
    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Pii<String>>,
    /// Primary contact details (read-only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub primary_contact_info: Vec<Contact>,
    /// Further contact details.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Contact>,
    /// active, inactive or deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<UserState>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Login name (usually an e-mail address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<Pii<String>>,
    /// Manager. The contract types it as a `User`, but Genesys sends a reference;
    /// id, name and selfUri are what a reference carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<DomainEntityRef>,
    /// Profile images (URLs of a face).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Pii<serde_json::Value>>,
    /// Current version; `UpdateUser.version` must equal it.
    pub version: i64,
    /// Certifications.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certifications: Vec<String>,
    /// Biography.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biography: Option<Pii<serde_json::Value>>,
    /// Employer information (employee id, hire date, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer_info: Option<Pii<serde_json::Value>>,
    /// Preferred name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_name: Option<Pii<String>>,
    /// Skills (read-only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profile_skills: Vec<String>,
    /// Locations (read-only here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<serde_json::Value>,
    /// Groups (read-only here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<serde_json::Value>,
    /// Auto-answer ACD interactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acd_auto_answer: Option<bool>,
    /// Last login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_last_login: Option<DateTime<Utc>>,
    /// URI of the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `UpdateUser`: the body of `PATCH /api/v2/users/{userId}`. `version` is required and
/// must equal the user's current version; every other field is sent only when set.
///
/// A `state` change is its own PATCH (`{version, state}`): when `state` is present
/// Genesys changes nothing else, so the client refuses to mix it with other fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUser {
    /// The user's current version.
    pub version: i64,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Pii<String>>,
    /// Chat identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<Chat>,
    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Pii<String>>,
    /// Contact details (send an empty list to remove them all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<Contact>>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Login name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<Pii<String>>,
    /// Preferred name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_name: Option<Pii<String>>,
    /// Manager's user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// Profile images (send an empty list to remove them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<Pii<serde_json::Value>>>,
    /// Skills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_skills: Option<Vec<String>>,
    /// Locations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locations: Option<Vec<serde_json::Value>>,
    /// Groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<serde_json::Value>>,
    /// active, inactive or deleted (restores a deleted user). Send alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<UserState>,
    /// Auto-answer ACD interactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acd_auto_answer: Option<bool>,
    /// Certifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certifications: Option<Vec<String>>,
    /// Biography.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biography: Option<Pii<serde_json::Value>>,
    /// Employer information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer_info: Option<Pii<serde_json::Value>>,
}

impl UpdateUser {
    /// An update that changes nothing yet, against `version`.
    pub fn new(version: i64) -> Self {
        Self {
            version,
            ..Self::default()
        }
    }
}

/// `UserEntityListing`.
pub type UserEntityListing = EntityListing<User>;

/// The body of `DELETE /api/v2/users/{userId}` (`Empty`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_debug_prints_no_personal_data() {
        let json = r#"{"id":"u1","name":"Agent Smith","email":"smith@corp.example",
            "username":"smith@corp.example","version":7,"state":"inactive",
            "primaryContactInfo":[{"address":"+15551234","mediaType":"PHONE","type":"PRIMARY"}],
            "chat":{"jabberId":"smith@jabber.example"},"preferredName":"Smithy",
            "employerInfo":{"employeeId":"EMP-123"},"images":[{"imageUri":"https://img/face.png"}],
            "manager":{"id":"m1","selfUri":"/api/v2/users/m1"},"unknownThing":[1,2]}"#;
        let user: User = serde_json::from_str(json).unwrap();
        assert_eq!(user.version, 7);
        assert_eq!(user.state, Some(UserState::Inactive));
        let printed = format!("{user:?}");
        for leaked in [
            "Smith",
            "smith@",
            "5551234",
            "jabber.example",
            "EMP-123",
            "face.png",
        ] {
            assert!(!printed.contains(leaked), "{leaked}: {printed}");
        }
    }

    #[test]
    fn update_user_sends_only_what_is_set() {
        let mut update = UpdateUser::new(3);
        update.name = Some("Former agent".into());
        update.addresses = Some(Vec::new());
        let json = serde_json::to_value(&update).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"version": 3, "name": "Former agent", "addresses": []})
        );
    }
}
