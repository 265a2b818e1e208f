//! The emulator's dataset: what a Genesys Cloud org holds when the emulator starts.
//!
//! The format is the emulator's own (documented in `docs/emulator.md`): plain JSON,
//! camelCase, one file. Phone numbers and e-mail addresses are stored as real systems
//! store them, in mixed spellings; the emulator normalises them where Genesys would.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The dataset bundled with the crate (`data/dataset.json`), as JSON text.
pub const BUNDLED_DATASET_JSON: &str = include_str!("../data/dataset.json");

/// A whole org: OAuth clients, users, external contacts, conversations with their
/// recordings, and the conversations under deletion protection.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dataset {
    /// Always 1 for this format.
    pub format_version: u32,
    /// Free text: where the dataset comes from.
    #[serde(default)]
    pub description: String,
    /// The instant the dataset describes; a good start for a virtual clock.
    pub as_of: DateTime<Utc>,
    /// OAuth clients allowed to get a client-credentials token.
    pub oauth_clients: Vec<OAuthClient>,
    /// Users (agents).
    #[serde(default)]
    pub users: Vec<User>,
    /// External contacts (customers known to the CRM side of Genesys).
    #[serde(default)]
    pub external_contacts: Vec<ExternalContact>,
    /// Conversations, each with its participants and recordings.
    #[serde(default)]
    pub conversations: Vec<Conversation>,
    /// Conversations under recording deletion protection (legal hold).
    #[serde(default)]
    pub deletion_protected_conversation_ids: Vec<String>,
    /// Documented people in the dataset that tests and the demo use by key.
    #[serde(default)]
    pub personas: Vec<Persona>,
}

// The dataset is full of personal data (fictional here, real if someone loads an
// export): Debug prints counts only.
impl fmt::Debug for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dataset")
            .field("users", &self.users.len())
            .field("external_contacts", &self.external_contacts.len())
            .field("conversations", &self.conversations.len())
            .field("protected", &self.deletion_protected_conversation_ids.len())
            .finish_non_exhaustive()
    }
}

/// An OAuth client (client-credentials grant).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
    #[serde(default)]
    pub name: String,
    /// Token lifetime in seconds (Genesys allows 300..=172800; 86400 when unset).
    #[serde(default = "default_token_lifetime")]
    pub access_token_validity_seconds: u32,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field(
                "access_token_validity_seconds",
                &self.access_token_validity_seconds,
            )
            .finish_non_exhaustive()
    }
}

fn default_token_lifetime() -> u32 {
    86_400
}

/// A Genesys user (an agent).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct User {
    pub id: String,
    pub name: String,
    pub email: String,
    pub username: String,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    /// The other personal fields of the Users API a PATCH can set and clear
    /// (`biography`, `employerInfo`, `certifications`, `manager`, `addresses`,
    /// `images`, `preferredName`, `profileSkills`, `locations`), as JSON by name.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub profile: serde_json::Map<String, serde_json::Value>,
    /// Optimistic-locking version; PATCH must send the current one.
    pub version: u64,
    pub state: UserState,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("state", &self.state)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// A user's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserState {
    Active,
    Inactive,
    Deleted,
}

impl UserState {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Deleted => "deleted",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "inactive" => Some(Self::Inactive),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }
}

/// An external contact.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalContact {
    pub id: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub phone_numbers: Vec<String>,
    #[serde(default)]
    pub email_addresses: Vec<String>,
}

impl fmt::Debug for ExternalContact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalContact")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl ExternalContact {
    /// "First Last", or whichever part exists.
    pub fn full_name(&self) -> Option<String> {
        match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(f), None) => Some(f.clone()),
            (None, Some(l)) => Some(l.clone()),
            (None, None) => None,
        }
    }
}

/// A conversation.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Conversation {
    pub id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub media_type: MediaType,
    pub direction: Direction,
    pub participants: Vec<Participant>,
    #[serde(default)]
    pub recordings: Vec<Recording>,
    /// Whether a post-contact survey was answered (an export then holds
    /// `quality!Survey_Conv_<id>.json`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub survey: bool,
}

impl fmt::Debug for Conversation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conversation")
            .field("id", &self.id)
            .field("start", &self.start)
            .field("media_type", &self.media_type)
            .field("participants", &self.participants.len())
            .field("recordings", &self.recordings.len())
            .finish()
    }
}

/// Media type of a conversation (the analytics `mediaType` dimension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaType {
    Voice,
    Email,
    Chat,
    Message,
}

impl MediaType {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Voice => "voice",
            Self::Email => "email",
            Self::Chat => "chat",
            Self::Message => "message",
        }
    }
}

/// Originating direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        }
    }
}

/// One participant of a conversation, with the one session the emulator models.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Participant {
    pub id: String,
    pub session_id: String,
    /// customer, agent, acd, ivr, external, ...
    pub purpose: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub external_contact_id: Option<String>,
    #[serde(default)]
    pub ani: Option<String>,
    #[serde(default)]
    pub dnis: Option<String>,
    #[serde(default)]
    pub address_from: Option<String>,
    #[serde(default)]
    pub address_to: Option<String>,
    /// An e-mail address the participant gave (e.g. a chat form), beside the addresses.
    #[serde(default)]
    pub email_address: Option<String>,
    /// Participant data attributes (what IVR flows and scripts attach: often personal).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

impl fmt::Debug for Participant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Participant")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

impl Participant {
    /// Every phone-like or address field the participant carries, with its name.
    pub fn address_fields(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("ani", self.ani.as_deref()),
            ("dnis", self.dnis.as_deref()),
            ("addressFrom", self.address_from.as_deref()),
            ("addressTo", self.address_to.as_deref()),
            ("emailAddress", self.email_address.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
    }
}

/// A recording of (part of) a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recording {
    pub id: String,
    /// audio, email, chat, message, screen
    pub media: String,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub file_state: FileState,
    #[serde(default)]
    pub archive_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub delete_date: Option<DateTime<Utc>>,
}

/// A recording's file state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FileState {
    Available,
    Archived,
    Deleted,
    Restored,
    Restoring,
    Uploading,
    Error,
}

/// A person of the dataset documented in `data/PERSONAS.md`, by key.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Persona {
    /// Stable key, e.g. `recycled-number-old-owner`.
    pub key: String,
    pub title: String,
    pub description: String,
    pub name: String,
    #[serde(default)]
    pub phone_numbers: Vec<PhoneTenure>,
    #[serde(default)]
    pub email_addresses: Vec<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub external_contact_id: Option<String>,
    /// The conversations in which this person takes part as a customer.
    #[serde(default)]
    pub customer_conversation_ids: Vec<String>,
    /// The conversations this person handled as an agent.
    #[serde(default)]
    pub agent_conversation_ids: Vec<String>,
    /// Of the above, those under deletion protection.
    #[serde(default)]
    pub protected_conversation_ids: Vec<String>,
}

impl fmt::Debug for Persona {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Persona")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// A phone number and the period the persona held it (E.164).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PhoneTenure {
    pub number: String,
    pub from: chrono::NaiveDate,
    #[serde(default)]
    pub until: Option<chrono::NaiveDate>,
}

/// Why a dataset was refused.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("dataset is not valid JSON for the emulator's format: {0}")]
    Json(#[from] serde_json::Error),
    #[error("dataset is inconsistent: {0}")]
    Invalid(String),
}

impl Dataset {
    /// The dataset bundled with the crate.
    pub fn bundled() -> Self {
        // The bundled file is checked by a test against the generator, so parsing it
        // cannot fail in a released build; fall back to regenerating it regardless.
        Self::from_json(BUNDLED_DATASET_JSON)
            .unwrap_or_else(|_| crate::generate::generate(crate::generate::DEFAULT_SEED))
    }

    /// Parses and validates a dataset.
    pub fn from_json(text: &str) -> Result<Self, DatasetError> {
        let ds: Dataset = serde_json::from_str(text)?;
        ds.validate()?;
        Ok(ds)
    }

    /// The dataset as pretty JSON with a trailing newline (the committed file's form).
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// A persona by key.
    pub fn persona(&self, key: &str) -> Option<&Persona> {
        self.personas.iter().find(|p| p.key == key)
    }

    /// Checks references and uniqueness, naming the first problem found.
    pub fn validate(&self) -> Result<(), DatasetError> {
        let bad = |m: String| Err(DatasetError::Invalid(m));
        if self.format_version != 1 {
            return bad(format!(
                "formatVersion {} is not supported (expected 1)",
                self.format_version
            ));
        }
        if self.oauth_clients.is_empty() {
            return bad("oauthClients must name at least one client".into());
        }
        let mut ids = HashSet::new();
        for c in &self.oauth_clients {
            if c.client_id.is_empty() || c.client_secret.is_empty() {
                return bad("every OAuth client needs a clientId and a clientSecret".into());
            }
            if !(300..=172_800).contains(&c.access_token_validity_seconds) {
                return bad(format!(
                    "OAuth client {}: accessTokenValiditySeconds must be within 300..=172800",
                    c.client_id
                ));
            }
            if !ids.insert(format!("client:{}", c.client_id)) {
                return bad(format!("duplicate OAuth client id {}", c.client_id));
            }
        }
        let mut user_ids = HashSet::new();
        for u in &self.users {
            if !user_ids.insert(u.id.as_str()) {
                return bad(format!("duplicate user id {}", u.id));
            }
        }
        let mut contact_ids = HashSet::new();
        for c in &self.external_contacts {
            if !contact_ids.insert(c.id.as_str()) {
                return bad(format!("duplicate external contact id {}", c.id));
            }
        }
        let mut conv_ids = HashSet::new();
        let mut rec_ids = HashSet::new();
        for c in &self.conversations {
            if !conv_ids.insert(c.id.as_str()) {
                return bad(format!("duplicate conversation id {}", c.id));
            }
            if c.end < c.start {
                return bad(format!("conversation {} ends before it starts", c.id));
            }
            if c.participants.is_empty() {
                return bad(format!("conversation {} has no participants", c.id));
            }
            for p in &c.participants {
                if let Some(u) = &p.user_id
                    && !user_ids.contains(u.as_str())
                {
                    return bad(format!(
                        "conversation {}: participant {} names unknown user {u}",
                        c.id, p.id
                    ));
                }
                if let Some(x) = &p.external_contact_id
                    && !contact_ids.contains(x.as_str())
                {
                    return bad(format!(
                        "conversation {}: participant {} names unknown external contact {x}",
                        c.id, p.id
                    ));
                }
            }
            for r in &c.recordings {
                if !rec_ids.insert(r.id.as_str()) {
                    return bad(format!("duplicate recording id {}", r.id));
                }
            }
        }
        for id in &self.deletion_protected_conversation_ids {
            if !conv_ids.contains(id.as_str()) {
                return bad(format!(
                    "deletionProtectedConversationIds names unknown conversation {id}"
                ));
            }
        }
        let mut keys = HashSet::new();
        for p in &self.personas {
            if !keys.insert(p.key.as_str()) {
                return bad(format!("duplicate persona key {}", p.key));
            }
            for id in p
                .customer_conversation_ids
                .iter()
                .chain(&p.agent_conversation_ids)
                .chain(&p.protected_conversation_ids)
            {
                if !conv_ids.contains(id.as_str()) {
                    return bad(format!("persona {} names unknown conversation {id}", p.key));
                }
            }
        }
        Ok(())
    }
}
