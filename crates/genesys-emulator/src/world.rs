//! The emulator's mutable state and the rules that change it.
//!
//! Everything time-dependent (GDPR job progress, recording retention dates, token
//! expiry, rate-limit windows) is computed from the instant passed in, read from the
//! emulator's clock on every request: there are no background timers, so a virtual
//! clock that jumps ahead just works.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::dataset::{Conversation, Dataset, ExternalContact, FileState, OAuthClient, User};
use crate::export::{ArchiveFault, Download, SignedUrl};
use crate::faults::{Fault, FaultAction, FaultEntry};
use crate::phone::{normalise_email, normalise_name, normalise_phone};
use crate::redact::{RedactionFault, RedactionIdentifiers, RedactionProgress};
use crate::rng::SeededRng;

/// How long GDPR jobs take on the emulator's clock: a base per phase plus a duration
/// per matched item (conversations, recordings, users and external contacts).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobTiming {
    pub initiated: Duration,
    pub searching: Duration,
    pub searching_per_item: Duration,
    /// DELETING or UPDATING.
    pub processing: Duration,
    pub processing_per_item: Duration,
    pub finalizing: Duration,
    /// Business days (Monday to Friday) an export spends SEARCHING on top of the rest:
    /// 1-2 on live orgs (live-tenants.md section 3); 0 keeps exports to minutes.
    pub export_business_days: u32,
}

impl Default for JobTiming {
    /// Minutes of emulator time for a typical subject (about 3 minutes for three
    /// recorded calls, 6 for thirty items), as the real service is asynchronous.
    fn default() -> Self {
        Self {
            initiated: Duration::from_secs(15),
            searching: Duration::from_secs(45),
            searching_per_item: Duration::from_secs(2),
            processing: Duration::from_secs(60),
            processing_per_item: Duration::from_secs(5),
            finalizing: Duration::from_secs(30),
            export_business_days: 0,
        }
    }
}

impl JobTiming {
    /// Seconds of real time for a typical subject: what `emulator serve` uses so a
    /// person with curl watches a job finish.
    pub fn interactive() -> Self {
        Self {
            initiated: Duration::from_millis(500),
            searching: Duration::from_millis(1000),
            searching_per_item: Duration::from_millis(20),
            processing: Duration::from_millis(1000),
            processing_per_item: Duration::from_millis(50),
            finalizing: Duration::from_millis(500),
            export_business_days: 0,
        }
    }
}

/// The same time of day `n` business days (Monday to Friday) after `t`.
pub fn business_days_later(t: DateTime<Utc>, n: u32) -> DateTime<Utc> {
    use chrono::{Datelike, Weekday};
    let mut end = t;
    let mut left = n;
    while left > 0 {
        end += TimeDelta::days(1);
        if !matches!(end.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    end
}

/// Settings fixed when the emulator starts.
#[derive(Debug, Clone)]
pub struct Config {
    pub job_timing: JobTiming,
    /// Requests per minute per OAuth client.
    pub rate_limit_per_minute: u32,
    /// Conversations per export results file in the legacy JSON format (more produce
    /// several `resultsUrls`).
    pub results_conversations_per_file: usize,
    /// What an export's `resultsUrl(s)` lead to.
    pub export_format: ExportFormat,
    /// Entries per ZIP archive; a bigger export is split into several archives.
    pub archive_max_entries: usize,
    /// How long a signed download URL minted by the downloads API works.
    pub signed_url_ttl: Duration,
    /// How long after COMPLETED an export's downloads exist (then 404).
    pub download_ttl: Duration,
    /// What a GDPR_DELETE does to the conversations it matched.
    pub delete_effect: DeleteEffect,
    /// With `DeleteEffect::Redact`: how long after COMPLETED the redaction lands.
    pub redaction_lag: Duration,
    /// Whether a GDPR_DELETE leaves conversations under deletion protection alone.
    pub deletion_protection: DeletionProtection,
    /// Whether a subject search for an identifier seen only on conversations (no
    /// external contact, no user) returns a subject holding just that identifier.
    pub search_finds_conversation_only_identifiers: bool,
    /// The longest interval the synchronous details query answers; longer is a 413
    /// (integrators report 31 days; the limit is not documented in the contract).
    pub max_details_interval: chrono::TimeDelta,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            job_timing: JobTiming::default(),
            rate_limit_per_minute: 300,
            results_conversations_per_file: 50,
            export_format: ExportFormat::Zip,
            archive_max_entries: 5000,
            signed_url_ttl: Duration::from_secs(5 * 60),
            download_ttl: Duration::from_secs(7 * 24 * 3600),
            delete_effect: DeleteEffect::Redact,
            redaction_lag: Duration::from_secs(3 * 24 * 3600),
            deletion_protection: DeletionProtection::Ignored,
            search_finds_conversation_only_identifiers: true,
            max_details_interval: chrono::TimeDelta::days(31),
        }
    }
}

/// Environment variables that override the defaults (a builder call still wins), so a
/// CI job can run a whole suite under the other reading of an open question.
pub const ENV_DELETION_PROTECTION: &str = "GENESYS_EMULATOR_DELETION_PROTECTION";
pub const ENV_DELETE_EFFECT: &str = "GENESYS_EMULATOR_DELETE_EFFECT";
pub const ENV_EXPORT_FORMAT: &str = "GENESYS_EMULATOR_EXPORT_FORMAT";
pub const ENV_REDACTION_LAG_SECONDS: &str = "GENESYS_EMULATOR_REDACTION_LAG_SECONDS";

impl Config {
    /// The defaults with the `GENESYS_EMULATOR_*` environment variables applied; an
    /// unknown value is an error naming the variable.
    pub fn from_env() -> Result<Self, String> {
        Self::default().with_env(|k| std::env::var(k).ok())
    }

    /// Applies overrides read through `get` (the environment, or a map in tests).
    pub fn with_env(mut self, get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let bad = |k: &str, v: &str, allowed: &str| format!("{k}={v:?}: expected {allowed}");
        if let Some(v) = get(ENV_DELETION_PROTECTION) {
            self.deletion_protection = DeletionProtection::parse(&v)
                .ok_or_else(|| bad(ENV_DELETION_PROTECTION, &v, "honoured or ignored"))?;
        }
        if let Some(v) = get(ENV_DELETE_EFFECT) {
            self.delete_effect = DeleteEffect::parse(&v)
                .ok_or_else(|| bad(ENV_DELETE_EFFECT, &v, "redact or remove"))?;
        }
        if let Some(v) = get(ENV_EXPORT_FORMAT) {
            self.export_format = ExportFormat::parse(&v)
                .ok_or_else(|| bad(ENV_EXPORT_FORMAT, &v, "zip or legacy-json"))?;
        }
        if let Some(v) = get(ENV_REDACTION_LAG_SECONDS) {
            let secs: u64 = v
                .trim()
                .parse()
                .map_err(|_| bad(ENV_REDACTION_LAG_SECONDS, &v, "whole seconds"))?;
            self.redaction_lag = Duration::from_secs(secs);
        }
        Ok(self)
    }
}

/// What an export's results are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExportFormat {
    /// As live orgs do (live-tenants.md section 3): `resultsUrl(s)` point at the
    /// downloads API, which mints a signed URL serving a ZIP archive.
    Zip,
    /// The emulator's first guess: JSON documents at unauthenticated capability URLs.
    LegacyJson,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zip" => Some(Self::Zip),
            "legacy-json" | "legacy_json" | "json" => Some(Self::LegacyJson),
            _ => None,
        }
    }
}

/// What a GDPR_DELETE does to a matched conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeleteEffect {
    /// As live orgs do (live-tenants.md section 1): the conversation stays, the
    /// subject's identifiers are removed from it and its recordings are deleted, some
    /// time after COMPLETED.
    Redact,
    /// The emulator's first guess: the conversation and its recordings disappear at the
    /// end of DELETING.
    Remove,
}

impl DeleteEffect {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "redact" => Some(Self::Redact),
            "remove" => Some(Self::Remove),
            _ => None,
        }
    }
}

/// Whether a GDPR_DELETE honours recording deletion protection: not established
/// (live-tenants.md section 1), so tests run under both readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeletionProtection {
    /// Protected conversations are left as they are (recordings and participant data).
    Honoured,
    /// The delete reaches protected conversations like any other (the pessimistic
    /// reading: what cannot be ruled out).
    Ignored,
}

impl DeletionProtection {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "honoured" | "honored" => Some(Self::Honoured),
            "ignored" => Some(Self::Ignored),
            _ => None,
        }
    }
}

/// GDPR request types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestType {
    GdprExport,
    GdprUpdate,
    GdprDelete,
}

impl RequestType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "GDPR_EXPORT" => Some(Self::GdprExport),
            "GDPR_UPDATE" => Some(Self::GdprUpdate),
            "GDPR_DELETE" => Some(Self::GdprDelete),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::GdprExport => "GDPR_EXPORT",
            Self::GdprUpdate => "GDPR_UPDATE",
            Self::GdprDelete => "GDPR_DELETE",
        }
    }
}

/// GDPR request statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GdprStatus {
    Initiated,
    Searching,
    Updating,
    Deleting,
    Finalizing,
    Completed,
    Error,
}

/// The subject of a GDPR request, as Genesys' `GDPRSubject`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GdprSubject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_contact_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialer_contact_id: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey_customer: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub social_handle: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_addresses: Vec<String>,
}

impl fmt::Debug for GdprSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GdprSubject")
            .field("phone_numbers", &self.phone_numbers.len())
            .field("email_addresses", &self.email_addresses.len())
            .finish_non_exhaustive()
    }
}

impl GdprSubject {
    /// Whether the subject names anything at all.
    pub fn is_empty(&self) -> bool {
        self.name.as_deref().is_none_or(|s| s.trim().is_empty())
            && self.user_id.as_deref().is_none_or(str::is_empty)
            && self
                .external_contact_id
                .as_deref()
                .is_none_or(str::is_empty)
            && self.dialer_contact_id.is_none()
            && self.journey_customer.is_none()
            && self.social_handle.is_none()
            && self.external_id.as_deref().is_none_or(str::is_empty)
            && self.addresses.is_empty()
            && self.phone_numbers.is_empty()
            && self.email_addresses.is_empty()
    }
}

/// `ReplacementTerm` of a GDPR_UPDATE.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplacementTerm {
    #[serde(rename = "type")]
    pub term_type: String,
    pub existing_value: String,
    pub updated_value: String,
}

impl fmt::Debug for ReplacementTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplacementTerm")
            .field("type", &self.term_type)
            .finish_non_exhaustive()
    }
}

/// Which identifier of the subject matched where.
#[derive(Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchedIdentifier {
    /// PHONE, EMAIL, NAME, USER_ID or EXTERNAL_CONTACT_ID
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The identifier as the request gave it.
    pub value: String,
    /// The participant field it matched (ani, dnis, addressFrom, addressTo,
    /// emailAddress, name, userId, externalContactId).
    pub field: &'static str,
    pub participant_purpose: String,
}

impl fmt::Debug for MatchedIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MatchedIdentifier")
            .field("type", &self.kind)
            .field("field", &self.field)
            .field("participant_purpose", &self.participant_purpose)
            .finish_non_exhaustive()
    }
}

/// What a subject matches, computed when the request is submitted.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchSet {
    pub conversations: Vec<(String, Vec<MatchedIdentifier>)>,
    pub recording_ids: Vec<String>,
    pub user_ids: Vec<String>,
    pub external_contact_ids: Vec<String>,
}

impl MatchSet {
    pub fn item_count(&self) -> usize {
        self.conversations.len()
            + self.recording_ids.len()
            + self.user_ids.len()
            + self.external_contact_ids.len()
    }
}

/// What a GDPR job did to the state (once).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobOutcome {
    pub applied_at: Option<DateTime<Utc>>,
    pub deleted_conversation_ids: Vec<String>,
    pub deleted_recording_ids: Vec<String>,
    /// Matched, but under deletion protection: left in place.
    pub protected_conversation_ids: Vec<String>,
    /// Matched, but left in place because the job failed part-way.
    pub not_processed_conversation_ids: Vec<String>,
    pub anonymised_external_contact_ids: Vec<String>,
    pub updated_conversation_ids: Vec<String>,
    /// `DeleteEffect::Redact`: conversations the redaction has landed on (they stay,
    /// without the subject's identifiers and recordings).
    pub redacted_conversation_ids: Vec<String>,
}

/// One phase of a job and when it ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Phase {
    pub status: GdprStatus,
    pub ends: DateTime<Utc>,
}

/// A GDPR request and its progress.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GdprJob {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub request_type: RequestType,
    pub subject: GdprSubject,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replacement_terms: Vec<ReplacementTerm>,
    pub created_date: DateTime<Utc>,
    pub created_by_client_id: String,
    pub phases: Vec<Phase>,
    /// COMPLETED or ERROR, once the last phase ends.
    pub terminal: GdprStatus,
    pub matched: MatchSet,
    /// The fraction deleted before the job errors (an injected fault).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_error_fraction: Option<f64>,
    pub applied: bool,
    pub outcome: JobOutcome,
    /// Result file tokens (exports), revealed once COMPLETED.
    #[serde(skip)]
    pub result_tokens: Vec<String>,
    /// What a delete does (from the configuration when it was submitted).
    pub delete_effect: DeleteEffect,
    /// What a redacting delete removes (normalised identifiers: never shown).
    #[serde(skip)]
    pub redaction_ids: RedactionIdentifiers,
    /// Where a redacting delete stands.
    pub redaction: RedactionProgress,
    /// `ExportFormat::Zip`: the download ids of the export's archives.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub download_ids: Vec<String>,
}

impl GdprJob {
    pub fn status_at(&self, now: DateTime<Utc>) -> GdprStatus {
        self.phases
            .iter()
            .find(|p| now < p.ends)
            .map(|p| p.status)
            .unwrap_or(self.terminal)
    }

    /// When the request reads COMPLETED or ERROR.
    pub fn ends_at(&self) -> DateTime<Utc> {
        self.phases.last().map_or(self.created_date, |p| p.ends)
    }

    /// When the job's effect on the state happens: the end of DELETING/UPDATING.
    fn effect_at(&self) -> Option<DateTime<Utc>> {
        self.phases
            .iter()
            .find(|p| matches!(p.status, GdprStatus::Deleting | GdprStatus::Updating))
            .map(|p| p.ends)
    }
}

/// A validated GDPR request to submit.
pub struct Submission {
    pub request_type: RequestType,
    pub subject: GdprSubject,
    pub name: Option<String>,
    pub replacement_terms: Vec<ReplacementTerm>,
    pub client_id: String,
    pub partial_error_fraction: Option<f64>,
}

/// An issued access token.
#[derive(Debug, Clone)]
pub struct Token {
    pub client_id: String,
    pub expires: DateTime<Utc>,
}

/// A client's current rate-limit window.
#[derive(Debug, Clone)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub count: u32,
}

/// Rate-limit accounting of one request.
#[derive(Debug, Clone, Copy)]
pub struct RateInfo {
    pub count: u32,
    pub allowed: u32,
    pub reset_seconds: u64,
    pub limited: bool,
}

/// One entry of the request log.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedRequest {
    pub seq: u64,
    /// On the emulator's clock.
    pub time: DateTime<Utc>,
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The route template that matched, e.g. `/api/v2/users/{userId}`.
    pub route: Option<String>,
    /// None when the connection was dropped without an answer.
    pub status: Option<u16>,
    pub client_id: Option<String>,
    /// `requestType` of a `POST /api/v2/gdpr/requests` body.
    pub request_type: Option<String>,
    /// The injected fault, by kind, if one fired.
    pub fault: Option<String>,
    pub correlation_id: String,
}

// Paths carry user and conversation ids: Debug shows the route template instead.
impl fmt::Debug for LoggedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggedRequest")
            .field("seq", &self.seq)
            .field("method", &self.method)
            .field("route", &self.route)
            .field("status", &self.status)
            .field("request_type", &self.request_type)
            .field("fault", &self.fault)
            .finish_non_exhaustive()
    }
}

/// Why a bearer token was refused.
pub enum AuthFailure {
    Missing,
    Invalid,
}

/// The whole mutable state.
pub struct World {
    pub loaded: Dataset,
    pub rng: SeededRng,
    pub config: Config,
    pub base_url: String,
    pub clients: Vec<OAuthClient>,
    pub users: Vec<User>,
    pub contacts: Vec<ExternalContact>,
    pub conversations: Vec<Conversation>,
    pub protected: BTreeSet<String>,
    pub gdpr: Vec<GdprJob>,
    pub results: HashMap<String, Value>,
    /// `ExportFormat::Zip`: archives by download id, and the signed URLs minted.
    pub downloads: HashMap<String, Download>,
    pub signed_urls: HashMap<String, SignedUrl>,
    /// Applied to every export archive built while set.
    pub archive_fault: Option<ArchiveFault>,
    /// Per conversation: when a redaction lands, if not after the configured lag.
    pub redaction_faults: HashMap<String, RedactionFault>,
    pub tokens: HashMap<String, Token>,
    pub windows: HashMap<String, Window>,
    pub faults: Vec<FaultEntry>,
    pub next_fault_id: u64,
    pub log: Vec<LoggedRequest>,
}

impl World {
    pub fn new(
        dataset: Dataset,
        extra_clients: Vec<OAuthClient>,
        seed: u64,
        config: Config,
    ) -> Self {
        let mut clients = dataset.oauth_clients.clone();
        for c in extra_clients {
            clients.retain(|x| x.client_id != c.client_id);
            clients.push(c);
        }
        let mut w = Self {
            loaded: dataset,
            rng: SeededRng::new(seed),
            config,
            base_url: String::new(),
            clients,
            users: Vec::new(),
            contacts: Vec::new(),
            conversations: Vec::new(),
            protected: BTreeSet::new(),
            gdpr: Vec::new(),
            results: HashMap::new(),
            downloads: HashMap::new(),
            signed_urls: HashMap::new(),
            archive_fault: None,
            redaction_faults: HashMap::new(),
            tokens: HashMap::new(),
            windows: HashMap::new(),
            faults: Vec::new(),
            next_fault_id: 1,
            log: Vec::new(),
        };
        w.reset();
        w
    }

    /// Back to the loaded dataset: data, GDPR requests, protections, rate windows,
    /// faults and the request log. Issued tokens stay valid.
    pub fn reset(&mut self) {
        self.users = self.loaded.users.clone();
        self.contacts = self.loaded.external_contacts.clone();
        self.conversations = self.loaded.conversations.clone();
        self.conversations
            .sort_by(|a, b| a.start.cmp(&b.start).then(a.id.cmp(&b.id)));
        self.protected = self
            .loaded
            .deletion_protected_conversation_ids
            .iter()
            .cloned()
            .collect();
        self.gdpr.clear();
        self.results.clear();
        self.downloads.clear();
        self.signed_urls.clear();
        self.archive_fault = None;
        self.redaction_faults.clear();
        self.windows.clear();
        self.faults.clear();
        self.log.clear();
    }

    /// Brings time-dependent state up to `now`: applies GDPR jobs whose processing
    /// phase has ended (each exactly once) and recording retention dates that passed.
    pub fn advance(&mut self, now: DateTime<Utc>) {
        for i in 0..self.gdpr.len() {
            let job = &self.gdpr[i];
            if job.applied {
                continue;
            }
            if job.request_type == RequestType::GdprDelete
                && job.delete_effect == DeleteEffect::Redact
            {
                self.advance_redaction(i, now);
                continue;
            }
            let due = match job.effect_at() {
                Some(at) => now >= at,
                // Exports change nothing; mark them once they are over.
                None => job.status_at(now) == job.terminal,
            };
            if due {
                self.apply_job(i, now);
            }
        }
        for c in &mut self.conversations {
            let protected = self.protected.contains(&c.id);
            for r in &mut c.recordings {
                if r.file_state == FileState::Deleted {
                    continue;
                }
                // Protection overrides policy deletion dates while it is in place.
                if !protected && r.delete_date.is_some_and(|d| d <= now) {
                    r.file_state = FileState::Deleted;
                } else if r.file_state == FileState::Available
                    && r.archive_date.is_some_and(|d| d <= now)
                {
                    r.file_state = FileState::Archived;
                }
            }
        }
    }

    pub fn next_uuid(&mut self) -> String {
        self.rng.uuid()
    }

    // ----- OAuth -----

    pub fn client(&self, id: &str) -> Option<&OAuthClient> {
        self.clients.iter().find(|c| c.client_id == id)
    }

    pub fn issue_token(&mut self, client_id: &str, now: DateTime<Utc>) -> Option<(String, u32)> {
        let lifetime = self.client(client_id)?.access_token_validity_seconds;
        let token = self.rng.token(48);
        self.tokens.insert(
            token.clone(),
            Token {
                client_id: client_id.into(),
                expires: now + TimeDelta::seconds(i64::from(lifetime)),
            },
        );
        Some((token, lifetime))
    }

    pub fn check_bearer(
        &self,
        header: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<String, AuthFailure> {
        let header = header.ok_or(AuthFailure::Missing)?;
        let (scheme, token) = header.trim().split_once(' ').ok_or(AuthFailure::Missing)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(AuthFailure::Missing);
        }
        match self.tokens.get(token.trim()) {
            Some(t) if now < t.expires && self.client(&t.client_id).is_some() => {
                Ok(t.client_id.clone())
            }
            _ => Err(AuthFailure::Invalid),
        }
    }

    // ----- rate limiting -----

    /// Counts a request of `client_id` in its one-minute window (on the emulator's
    /// clock); over the allowance the request is refused and not counted.
    pub fn rate_check(&mut self, client_id: &str, now: DateTime<Utc>) -> RateInfo {
        let allowed = self.config.rate_limit_per_minute;
        let w = self.windows.entry(client_id.into()).or_insert(Window {
            start: now,
            count: 0,
        });
        if now >= w.start + TimeDelta::seconds(60) || now < w.start {
            *w = Window {
                start: now,
                count: 0,
            };
        }
        let left = (w.start + TimeDelta::seconds(60)) - now;
        let reset_seconds = ((left.num_milliseconds() + 999) / 1000).max(1) as u64;
        if w.count >= allowed {
            return RateInfo {
                count: w.count,
                allowed,
                reset_seconds,
                limited: true,
            };
        }
        w.count += 1;
        RateInfo {
            count: w.count,
            allowed,
            reset_seconds,
            limited: false,
        }
    }

    // ----- faults -----

    pub fn add_fault(&mut self, fault: Fault) -> Result<u64, String> {
        fault.validate()?;
        let id = self.next_fault_id;
        self.next_fault_id += 1;
        let remaining = match (fault.times, fault.probability) {
            (_, Some(_)) => None,
            (Some(n), None) => Some(n),
            (None, None) => Some(1),
        };
        self.faults.push(FaultEntry {
            id,
            fault,
            remaining,
            fired: 0,
        });
        Ok(id)
    }

    /// The action of the first rule that concerns the request and fires now.
    pub fn take_fault(
        &mut self,
        method: &str,
        path: &str,
        request_type: Option<&str>,
    ) -> Option<FaultAction> {
        for i in 0..self.faults.len() {
            let entry = &self.faults[i];
            if entry.remaining == Some(0) || !entry.fault.matches(method, path, request_type) {
                continue;
            }
            let fires = match entry.fault.probability {
                Some(p) => self.rng.chance(p),
                None => true,
            };
            if fires {
                let entry = &mut self.faults[i];
                entry.fired += 1;
                if let Some(r) = entry.remaining.as_mut() {
                    *r -= 1;
                }
                return Some(entry.fault.action.clone());
            }
        }
        None
    }

    // ----- GDPR -----

    /// Everything the subject's identifiers match, as the GDPR search would find it.
    pub fn match_subject(&self, subject: &GdprSubject) -> MatchSet {
        let phones: Vec<(String, &String)> = subject
            .phone_numbers
            .iter()
            .filter_map(|p| normalise_phone(p).map(|n| (n, p)))
            .collect();
        let emails: Vec<(String, &String)> = subject
            .email_addresses
            .iter()
            .filter_map(|e| normalise_email(e).map(|n| (n, e)))
            .collect();
        let name = subject
            .name
            .as_deref()
            .map(normalise_name)
            .filter(|n| !n.is_empty());
        let user_id = subject.user_id.as_deref().filter(|s| !s.is_empty());
        let contact_id = subject
            .external_contact_id
            .as_deref()
            .filter(|s| !s.is_empty());

        let mut set = MatchSet::default();
        for c in &self.conversations {
            let mut found = Vec::new();
            for p in &c.participants {
                let mut hit = |kind: &'static str, value: &String, field: &'static str| {
                    let m = MatchedIdentifier {
                        kind,
                        value: value.clone(),
                        field,
                        participant_purpose: p.purpose.clone(),
                    };
                    if !found.contains(&m) {
                        found.push(m);
                    }
                };
                for (field, raw) in p.address_fields() {
                    if let Some(n) = normalise_phone(raw) {
                        for (want, given) in &phones {
                            if &n == want {
                                hit("PHONE", given, field);
                            }
                        }
                    }
                    if let Some(n) = normalise_email(raw) {
                        for (want, given) in &emails {
                            if &n == want {
                                hit("EMAIL", given, field);
                            }
                        }
                    }
                }
                if let (Some(want), Some(pn)) = (&name, &p.name)
                    && &normalise_name(pn) == want
                {
                    hit("NAME", subject.name.as_ref().unwrap_or(pn), "name");
                }
                if let (Some(want), Some(u)) = (user_id, &p.user_id)
                    && want == u
                {
                    hit("USER_ID", u, "userId");
                }
                if let (Some(want), Some(x)) = (contact_id, &p.external_contact_id)
                    && want == x
                {
                    hit("EXTERNAL_CONTACT_ID", x, "externalContactId");
                }
            }
            if !found.is_empty() {
                set.recording_ids.extend(
                    c.recordings
                        .iter()
                        .filter(|r| r.file_state != FileState::Deleted)
                        .map(|r| r.id.clone()),
                );
                set.conversations.push((c.id.clone(), found));
            }
        }
        for u in &self.users {
            let by_id = user_id == Some(u.id.as_str());
            let by_email =
                normalise_email(&u.email).is_some_and(|e| emails.iter().any(|(w, _)| *w == e));
            let by_name = name.as_ref().is_some_and(|n| *n == normalise_name(&u.name));
            if by_id || by_email || by_name {
                set.user_ids.push(u.id.clone());
            }
        }
        for x in &self.contacts {
            let by_id = contact_id == Some(x.id.as_str());
            let by_phone = x
                .phone_numbers
                .iter()
                .filter_map(|p| normalise_phone(p))
                .any(|p| phones.iter().any(|(w, _)| *w == p));
            let by_email = x
                .email_addresses
                .iter()
                .filter_map(|e| normalise_email(e))
                .any(|e| emails.iter().any(|(w, _)| *w == e));
            let by_name = name
                .as_ref()
                .is_some_and(|n| x.full_name().is_some_and(|f| normalise_name(&f) == *n));
            if by_id || by_phone || by_email || by_name {
                set.external_contact_ids.push(x.id.clone());
            }
        }
        set
    }

    /// Creates a job; its timeline is fixed now, from how much the subject matches.
    pub fn submit_gdpr(&mut self, s: Submission, now: DateTime<Utc>) -> String {
        let Submission {
            request_type,
            subject,
            name,
            replacement_terms,
            client_id,
            partial_error_fraction,
        } = s;
        let matched = self.match_subject(&subject);
        let redaction_ids = RedactionIdentifiers::of(self, &subject);
        let t = self.config.job_timing;
        let items = matched.item_count() as u32;
        let mut phases = Vec::new();
        let mut end = now;
        let mut phase = |status: GdprStatus, d: Duration| {
            end += TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX);
            phases.push(Phase { status, ends: end });
        };
        phase(GdprStatus::Initiated, t.initiated);
        let export_days = if request_type == RequestType::GdprExport {
            (business_days_later(now, t.export_business_days) - now)
                .to_std()
                .unwrap_or_default()
        } else {
            Duration::ZERO
        };
        phase(
            GdprStatus::Searching,
            t.searching + t.searching_per_item * items + export_days,
        );
        let processing = t.processing + t.processing_per_item * items;
        match request_type {
            RequestType::GdprDelete => phase(GdprStatus::Deleting, processing),
            RequestType::GdprUpdate => phase(GdprStatus::Updating, processing),
            RequestType::GdprExport => {}
        }
        let terminal = if partial_error_fraction.is_some() {
            GdprStatus::Error
        } else {
            phase(GdprStatus::Finalizing, t.finalizing);
            GdprStatus::Completed
        };
        let id = self.rng.uuid();
        let mut job = GdprJob {
            id: id.clone(),
            name,
            request_type,
            subject,
            replacement_terms,
            created_date: now,
            created_by_client_id: client_id,
            phases,
            terminal,
            matched,
            partial_error_fraction,
            applied: false,
            outcome: JobOutcome::default(),
            result_tokens: Vec::new(),
            delete_effect: self.config.delete_effect,
            redaction_ids,
            redaction: RedactionProgress::default(),
            download_ids: Vec::new(),
        };
        if request_type == RequestType::GdprExport && terminal == GdprStatus::Completed {
            match self.config.export_format {
                ExportFormat::LegacyJson => self.prepare_results(&mut job, now),
                ExportFormat::Zip => self.prepare_archives(&mut job, now),
            }
        }
        self.gdpr.push(job);
        id
    }

    /// The export's result files, built from what the search found.
    fn prepare_results(&mut self, job: &mut GdprJob, now: DateTime<Utc>) {
        let per_file = self.config.results_conversations_per_file.max(1);
        let convs: Vec<Value> = job
            .matched
            .conversations
            .iter()
            .filter_map(|(id, ids)| {
                let c = self.conversations.iter().find(|c| &c.id == id)?;
                Some(json!({
                    "conversationId": c.id,
                    "conversationStart": crate::views::ts(c.start),
                    "conversationEnd": crate::views::ts(c.end),
                    "mediaType": c.media_type.as_str(),
                    "originatingDirection": c.direction.as_str(),
                    "matchedIdentifiers": ids,
                    "recordings": c.recordings.iter().filter(|r| r.file_state != FileState::Deleted).map(|r| json!({
                        "recordingId": r.id,
                        "media": r.media,
                        "startTime": crate::views::ts(r.start_time),
                        "endTime": crate::views::ts(r.end_time),
                        "fileState": r.file_state,
                    })).collect::<Vec<_>>(),
                }))
            })
            .collect();
        let users: Vec<Value> = job
            .matched
            .user_ids
            .iter()
            .filter_map(|id| self.users.iter().find(|u| &u.id == id))
            .map(|u| json!({"id": u.id, "name": u.name, "email": u.email, "username": u.username, "state": u.state.as_str(), "department": u.department, "title": u.title}))
            .collect();
        let contacts: Vec<Value> = job
            .matched
            .external_contact_ids
            .iter()
            .filter_map(|id| self.contacts.iter().find(|x| &x.id == id))
            .map(|x| json!({"id": x.id, "firstName": x.first_name, "lastName": x.last_name, "phoneNumbers": x.phone_numbers, "emailAddresses": x.email_addresses}))
            .collect();
        let chunks: Vec<&[Value]> = if convs.is_empty() {
            vec![&[]]
        } else {
            convs.chunks(per_file).collect()
        };
        let parts = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            let token = self.rng.token(32);
            let doc = json!({
                "requestId": job.id,
                "requestType": job.request_type.as_str(),
                "generatedDate": crate::views::ts(now),
                "part": i + 1,
                "parts": parts,
                "subject": job.subject,
                "conversations": chunk,
                "users": if i == 0 { users.clone() } else { vec![] },
                "externalContacts": if i == 0 { contacts.clone() } else { vec![] },
            });
            self.results.insert(token.clone(), doc);
            job.result_tokens.push(token);
        }
    }

    fn apply_job(&mut self, index: usize, now: DateTime<Utc>) {
        let job = self.gdpr[index].clone();
        let mut outcome = JobOutcome {
            applied_at: Some(now),
            ..JobOutcome::default()
        };
        match job.request_type {
            RequestType::GdprExport => {}
            RequestType::GdprDelete => {
                let ids: Vec<&String> =
                    job.matched.conversations.iter().map(|(id, _)| id).collect();
                let present: Vec<&String> = ids
                    .into_iter()
                    .filter(|id| self.conversations.iter().any(|c| &c.id == *id))
                    .collect();
                let take = crate::redact::partial_take(&job, present.len());
                let honoured = self.config.deletion_protection == DeletionProtection::Honoured;
                for (i, id) in present.into_iter().enumerate() {
                    if i >= take {
                        outcome.not_processed_conversation_ids.push(id.clone());
                    } else if honoured && self.protected.contains(id) {
                        outcome.protected_conversation_ids.push(id.clone());
                    } else if let Some(pos) = self.conversations.iter().position(|c| &c.id == id) {
                        let c = self.conversations.remove(pos);
                        outcome
                            .deleted_recording_ids
                            .extend(c.recordings.into_iter().map(|r| r.id));
                        outcome.deleted_conversation_ids.push(c.id);
                    }
                }
                if job.partial_error_fraction.is_none() {
                    self.anonymise_contacts(&job, &mut outcome);
                }
            }
            RequestType::GdprUpdate => {
                if job.partial_error_fraction.is_none() {
                    self.apply_update(&job, &mut outcome);
                }
            }
        }
        let stored = &mut self.gdpr[index];
        stored.applied = true;
        stored.outcome = outcome;
    }

    fn apply_update(&mut self, job: &GdprJob, outcome: &mut JobOutcome) {
        let same = |kind: &str, a: &str, b: &str| -> bool {
            match kind {
                "PHONE" => normalise_phone(a).is_some() && normalise_phone(a) == normalise_phone(b),
                "EMAIL" => normalise_email(a).is_some() && normalise_email(a) == normalise_email(b),
                _ => normalise_name(a) == normalise_name(b),
            }
        };
        for (id, _) in &job.matched.conversations {
            let Some(c) = self.conversations.iter_mut().find(|c| &c.id == id) else {
                continue;
            };
            let mut changed = false;
            for p in &mut c.participants {
                for term in &job.replacement_terms {
                    let fields: Vec<&mut Option<String>> = match term.term_type.as_str() {
                        "PHONE" => vec![
                            &mut p.ani,
                            &mut p.dnis,
                            &mut p.address_from,
                            &mut p.address_to,
                        ],
                        "EMAIL" => {
                            vec![&mut p.address_from, &mut p.address_to, &mut p.email_address]
                        }
                        "NAME" => vec![&mut p.name],
                        _ => vec![],
                    };
                    for f in fields {
                        if f.as_deref()
                            .is_some_and(|v| same(&term.term_type, v, &term.existing_value))
                        {
                            *f = Some(term.updated_value.clone());
                            changed = true;
                        }
                    }
                }
            }
            if changed {
                outcome.updated_conversation_ids.push(id.clone());
            }
        }
        for id in &job.matched.external_contact_ids {
            if let Some(x) = self.contacts.iter_mut().find(|x| &x.id == id) {
                for term in &job.replacement_terms {
                    match term.term_type.as_str() {
                        "PHONE" => x
                            .phone_numbers
                            .iter_mut()
                            .filter(|p| same("PHONE", p, &term.existing_value))
                            .for_each(|p| *p = term.updated_value.clone()),
                        "EMAIL" => x
                            .email_addresses
                            .iter_mut()
                            .filter(|e| same("EMAIL", e, &term.existing_value))
                            .for_each(|e| *e = term.updated_value.clone()),
                        _ => {}
                    }
                }
            }
        }
    }

    /// The export result URLs of a job, once it is COMPLETED.
    pub fn results_urls(&self, job: &GdprJob, now: DateTime<Utc>) -> Vec<String> {
        if job.status_at(now) != GdprStatus::Completed {
            return Vec::new();
        }
        if !job.download_ids.is_empty() {
            return job
                .download_ids
                .iter()
                .map(|d| format!("{}/api/v2/downloads/{d}", self.base_url))
                .collect();
        }
        job.result_tokens
            .iter()
            .map(|t| format!("{}/_emulator/results/{t}", self.base_url))
            .collect()
    }
}
