//! The execution input (DESIGN section 3), validated field by field.
//!
//! Validation walks the raw JSON by hand rather than through serde derive so that it
//! reports every problem at once, each with its JSON path and a stable code, and never
//! quotes a value (it could be personal data). `docs/ticket-format.md` is the
//! integrator's view of the same rules.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::deadline::{self, Deadline, DeadlineConfig, ExtensionNotice};
use crate::error::{FieldError, summarise};
use crate::identifiers::{
    Email, ExternalContactId, GenesysUserId, PersonName, PhoneE164, PhoneRegion, TicketId,
    check_text,
};
use crate::strict_json::CheckedJson;
use crate::tenure::{TenureWindow, merge_windows};

/// GDPR applies from 25 May 2018 (Art. 99(2)); an earlier request is a data error.
pub const GDPR_APPLIES_FROM: &str = "2018-05-25T00:00:00Z";
pub const MAX_EMAILS: usize = 20;
pub const MAX_PHONES: usize = 20;
/// Stop listing after this many problems: a garbage document gets a bounded answer.
pub const MAX_ERRORS: usize = 50;
const MAX_SHORT_TEXT: usize = 128;

/// How to read tickets. Built once per deployment.
#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// Region for numbers written without a country code; none = such numbers are
    /// refused.
    pub default_region: Option<PhoneRegion>,
    /// Roles allowed to sign off an erasure (compared case-insensitively; the record
    /// carries the spelling given here).
    pub allowed_sign_off_roles: Vec<String>,
    /// Identity verification methods the controller accepts.
    pub allowed_verification_methods: Vec<String>,
    /// How far in the future a timestamp may be (clock skew between systems).
    pub max_clock_skew: Duration,
    /// Largest accepted input document, in bytes.
    pub max_input_bytes: usize,
    pub deadline: DeadlineConfig,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        Self {
            default_region: None,
            allowed_sign_off_roles: vec!["DPO".into(), "Privacy Officer".into()],
            allowed_verification_methods: DEFAULT_VERIFICATION_METHODS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            max_clock_skew: Duration::minutes(5),
            max_input_bytes: 64 * 1024,
            deadline: DeadlineConfig::default(),
        }
    }
}

pub const DEFAULT_VERIFICATION_METHODS: &[&str] = &[
    "account-login",
    "id-document",
    "knowledge-based",
    "email-confirmation",
    "sms-otp",
    "callback",
    "in-person",
];

/// `exportReview`: when the pipeline stops for a person before erasing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExportReview {
    /// Every ticket waits for the DPO's approval after the export.
    Always,
    /// Wait when the review finds something a person should decide (the default).
    WhenNeeded,
    /// Do not wait for advisory findings; safety findings (an active agent, a
    /// conversation that cannot be erased by identifier, ...) still wait.
    Never,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Options {
    pub erase_recordings: bool,
    pub export_review: ExportReview,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            erase_recordings: true,
            export_review: ExportReview::WhenNeeded,
        }
    }
}

/// Who signed the erasure off, in what role, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignOff {
    /// The signer's e-mail: personal data of the DPO, pseudonymised in the record.
    pub by: Email,
    pub role: String,
    #[serde(with = "crate::time::utc_z")]
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketInfo {
    pub id: TicketId,
    pub source: String,
    #[serde(with = "crate::time::utc_z")]
    pub received_at: DateTime<Utc>,
    #[serde(with = "crate::time::utc_z")]
    pub identity_verified_at: DateTime<Utc>,
    pub verification_method: String,
    pub sign_off: SignOff,
    pub extension: Option<ExtensionNotice>,
    /// The DEFERRED ticket this follow-up ticket continues, once its hold is over
    /// (`docs/ticket-format.md`, "Follow-up tickets"). A follow-up is an ordinary
    /// ticket with its own id, its own sign-off and its own deadline clock: a GDPR
    /// delete is never sent twice for one ticket id, so erasing what a hold kept needs
    /// a new one. Never the ticket's own id.
    #[serde(default)]
    pub resumes: Option<TicketId>,
}

/// One phone number, normalised, with every period it was the subject's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Phone {
    pub number: PhoneE164,
    pub tenure: Vec<TenureWindow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    pub name: Option<PersonName>,
    pub emails: Vec<Email>,
    pub phones: Vec<Phone>,
    pub genesys_user_id: Option<GenesysUserId>,
    pub external_contact_id: Option<ExternalContactId>,
}

impl Subject {
    /// Identifiers that can locate and delete data (a name cannot).
    pub fn usable_identifier_count(&self) -> usize {
        self.emails.len()
            + self.phones.len()
            + usize::from(self.genesys_user_id.is_some())
            + usize::from(self.external_contact_id.is_some())
    }
}

/// A ticket that passed every check. Serialisable for step payloads (identifiers
/// appear as plain strings there, as the Genesys steps need them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidTicket {
    pub ticket: TicketInfo,
    pub subject: Subject,
    pub options: Options,
}

impl ValidTicket {
    /// The deadline clock as known at intake.
    pub fn deadline(&self, config: &DeadlineConfig, intake_at: DateTime<Utc>) -> Deadline {
        deadline::compute(
            config,
            self.ticket.received_at,
            Some(self.ticket.identity_verified_at),
            self.ticket.extension.as_ref(),
            intake_at,
        )
    }

    /// The ticket back in the input format (`docs/ticket-format.md`), normalised:
    /// identifiers in their canonical form, timestamps in UTC, one phone entry per
    /// tenure window. Validating it again (same configuration, same `now`) gives this
    /// same ticket; the fuzz target `ticket_validate` checks that it always does.
    pub fn to_input(&self) -> Value {
        let t = &self.ticket;
        let ts = |d: &DateTime<Utc>| Value::String(crate::time::format_utc(d));
        let extension = t.extension.as_ref().map_or(Value::Null, |e| {
            serde_json::json!({
                "noticeSentAt": ts(&e.notice_sent_at),
                "reasonCode": e.reason_code,
            })
        });
        let phones: Vec<Value> = self
            .subject
            .phones
            .iter()
            .flat_map(|p| {
                p.tenure.iter().map(|w| {
                    serde_json::json!({
                        "number": p.number.expose(),
                        "from": w.from.format("%Y-%m-%d").to_string(),
                        "until": w.until.map(|u| u.format("%Y-%m-%d").to_string()),
                    })
                })
            })
            .collect();
        let s = &self.subject;
        serde_json::json!({
            "ticket": {
                "id": t.id.as_str(),
                "source": t.source,
                "receivedAt": ts(&t.received_at),
                "identityVerifiedAt": ts(&t.identity_verified_at),
                "verificationMethod": t.verification_method,
                "signOff": {
                    "by": t.sign_off.by.expose(),
                    "role": t.sign_off.role,
                    "at": ts(&t.sign_off.at),
                },
                "extension": extension,
                "resumes": t.resumes.as_ref().map(TicketId::as_str),
            },
            "subject": {
                "name": s.name.as_ref().map(PersonName::expose),
                "emails": s.emails.iter().map(Email::expose).collect::<Vec<_>>(),
                "phones": phones,
                "genesysUserId": s.genesys_user_id.as_ref().map(GenesysUserId::expose),
                "externalContactId": s.external_contact_id.as_ref().map(ExternalContactId::expose),
            },
            "options": {
                "eraseRecordings": self.options.erase_recordings,
                "exportReview": match self.options.export_review {
                    ExportReview::Always => "always",
                    ExportReview::WhenNeeded => "when-needed",
                    ExportReview::Never => "never",
                },
            },
        })
    }
}

/// The execution input is not an acceptable erasure ticket (its own error, beside the
/// ticket: `error` holds only what every input shares). Ends in a REJECTED record.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TicketError {
    #[error("invalid ticket: {}", summarise(.errors))]
    InvalidTicket {
        /// Every problem found, not just the first.
        errors: Vec<FieldError>,
        /// What could still be read, for the REJECTED record.
        salvage: Box<TicketSalvage>,
    },
}

impl TicketError {
    pub fn name(&self) -> &'static str {
        match self {
            TicketError::InvalidTicket { .. } => "InvalidTicket",
        }
    }
    /// Bad input stays bad: never retried.
    pub fn is_retryable(&self) -> bool {
        false
    }
    pub fn errors(&self) -> &[FieldError] {
        match self {
            TicketError::InvalidTicket { errors, .. } => errors,
        }
    }
}

/// What could still be read from a ticket that failed validation: enough for the
/// REJECTED record (its id, times, and the identifiers to pseudonymise).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketSalvage {
    pub ticket_id: Option<TicketId>,
    pub source: Option<String>,
    #[serde(with = "crate::time::option_utc_z")]
    pub received_at: Option<DateTime<Utc>>,
    #[serde(with = "crate::time::option_utc_z")]
    pub identity_verified_at: Option<DateTime<Utc>>,
    pub extension: Option<ExtensionNotice>,
    pub sign_off: Option<SignOff>,
    pub subject: Subject,
}

/// Reads a ticket from bytes: size, JSON syntax, then [`validate`].
pub fn parse_ticket(
    bytes: &[u8],
    config: &IntakeConfig,
    now: DateTime<Utc>,
) -> Result<ValidTicket, TicketError> {
    let reject = |e: FieldError| TicketError::InvalidTicket {
        errors: vec![e],
        salvage: Box::default(),
    };
    if bytes.len() > config.max_input_bytes {
        return Err(reject(FieldError::new(
            "$",
            "too-large",
            format!("the ticket is larger than {} bytes", config.max_input_bytes),
        )));
    }
    let checked = CheckedJson::from_slice(bytes).map_err(|e| {
        // Position only: serde_json's message can quote the input.
        reject(FieldError::new(
            "$",
            "invalid-json",
            format!("not valid JSON (line {}, column {})", e.line(), e.column()),
        ))
    })?;
    if !checked.duplicates.is_empty() {
        // An ambiguous document is treated like one that is not JSON: nothing of it
        // is read, not even the ticket id (which of two?).
        return Err(TicketError::InvalidTicket {
            errors: checked.duplicate_key_errors(),
            salvage: Box::default(),
        });
    }
    let value = checked.value;
    validate(&value, config, now)
}

/// Validates the execution input. Every problem is reported, not just the first.
pub fn validate(
    input: &Value,
    config: &IntakeConfig,
    now: DateTime<Utc>,
) -> Result<ValidTicket, TicketError> {
    let mut v = Walker {
        errors: Vec::new(),
        config,
        now,
    };
    let mut salvage = TicketSalvage::default();
    let root = v.object(input, "$", &["ticket", "subject", "options"]);
    let ticket = root.and_then(|r| v.required(r, "ticket", "ticket"));
    let subject = root.and_then(|r| v.required(r, "subject", "subject"));
    let options = root.and_then(|r| optional(r, "options"));

    let ticket = ticket.and_then(|t| v.ticket(t, &mut salvage));
    let subject = subject.and_then(|s| v.subject(s, &mut salvage));
    let options = match options {
        Some(o) => v.options(o),
        None => Some(Options::default()),
    };

    match (ticket, subject, options) {
        (Some(ticket), Some(subject), Some(options)) if v.errors.is_empty() => Ok(ValidTicket {
            ticket,
            subject,
            options,
        }),
        _ => {
            let mut errors = v.errors;
            if errors.is_empty() {
                // Unreachable by construction (every None pushes an error); kept so a
                // future slip rejects rather than accepts.
                errors.push(FieldError::new("$", "invalid", "the ticket is not valid"));
            }
            if errors.len() > MAX_ERRORS {
                errors.truncate(MAX_ERRORS);
                errors.push(FieldError::new(
                    "$",
                    "too-many-errors",
                    "further problems were not listed",
                ));
            }
            Err(TicketError::InvalidTicket {
                errors,
                salvage: Box::new(salvage),
            })
        }
    }
}

fn optional<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent == "$" {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// Every field name of the format, at any level: the only words an error path may
/// contain besides `<unknown>` and indexes.
pub const FIELD_NAMES: &[&str] = &[
    "ticket",
    "subject",
    "options",
    "id",
    "source",
    "receivedAt",
    "identityVerifiedAt",
    "verificationMethod",
    "signOff",
    "extension",
    "resumes",
    "by",
    "role",
    "at",
    "noticeSentAt",
    "reasonCode",
    "name",
    "emails",
    "phones",
    "number",
    "from",
    "until",
    "genesysUserId",
    "externalContactId",
    "eraseRecordings",
    "exportReview",
];

/// An unknown key is echoed in a path only if it is a field name of the format (one
/// put at the wrong level). Any other key could be personal data ("jane", an e-mail
/// address), and paths go into the REJECTED record, which can never be erased.
pub(crate) fn safe_key(key: &str) -> &str {
    if FIELD_NAMES.contains(&key) {
        key
    } else {
        "<unknown>"
    }
}

/// The allowed field a misspelt key most likely meant (edit distance at most 2,
/// ignoring case), so a typo still gets a precise hint without echoing the key.
fn closest_field<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    if key.chars().count() > 40 {
        return None;
    }
    let key: Vec<char> = key.to_lowercase().chars().collect();
    allowed
        .iter()
        .map(|a| {
            (
                edit_distance(&key, &a.to_lowercase().chars().collect::<Vec<_>>()),
                *a,
            )
        })
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

struct Walker<'c> {
    errors: Vec<FieldError>,
    config: &'c IntakeConfig,
    now: DateTime<Utc>,
}

impl Walker<'_> {
    fn err(&mut self, field: impl Into<String>, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, code, message));
    }

    fn object<'a>(
        &mut self,
        value: &'a Value,
        path: &str,
        allowed: &[&str],
    ) -> Option<&'a Map<String, Value>> {
        let Some(map) = value.as_object() else {
            self.err(path, "wrong-type", "must be an object");
            return None;
        };
        for key in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
            let hint = closest_field(key, allowed)
                .map(|f| format!("; did you mean {f}?"))
                .unwrap_or_default();
            self.err(
                join(path, safe_key(key)),
                "unknown-field",
                format!(
                    "is not a known field (expected: {}){hint}",
                    allowed.join(", ")
                ),
            );
        }
        Some(map)
    }

    fn required<'a>(
        &mut self,
        map: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a Value> {
        let v = optional(map, key);
        if v.is_none() {
            self.err(path, "missing", "is required");
        }
        v
    }

    fn string<'a>(&mut self, value: &'a Value, path: &str, max_chars: usize) -> Option<&'a str> {
        let Some(s) = value.as_str() else {
            self.err(path, "wrong-type", "must be a string");
            return None;
        };
        if let Err(p) = check_text(s, max_chars) {
            self.err(path, p.code, p.message);
            return None;
        }
        Some(s)
    }

    fn boolean(&mut self, value: &Value, path: &str) -> Option<bool> {
        let b = value.as_bool();
        if b.is_none() {
            self.err(path, "wrong-type", "must be true or false");
        }
        b
    }

    fn timestamp(&mut self, value: &Value, path: &str) -> Option<DateTime<Utc>> {
        let s = self.string(value, path, 64)?;
        let Some(t) = crate::time::parse_rfc3339(s.trim()) else {
            self.err(
                path,
                "invalid-timestamp",
                "must be an RFC 3339 timestamp with a time zone offset, e.g. 2026-11-20T10:15:00Z",
            );
            return None;
        };
        let gdpr = crate::time::parse_rfc3339(GDPR_APPLIES_FROM).unwrap_or(t);
        if t < gdpr {
            self.err(
                path,
                "before-gdpr",
                "is before 25 May 2018, when the GDPR began to apply",
            );
            return None;
        }
        if t > self.now + self.config.max_clock_skew {
            self.err(path, "in-future", "is in the future");
            return None;
        }
        Some(t)
    }

    fn date(&mut self, value: &Value, path: &str) -> Option<NaiveDate> {
        // Room for a timestamp given by mistake, so that it is called an invalid date
        // rather than too long.
        let s = self.string(value, path, 32)?.trim();
        // The shape first: chrono's %Y also takes signs and other widths ("+019-03-01"
        // would be the year 19).
        let shape = s.len() == 10
            && s.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        let parsed = shape
            .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .flatten();
        let Some(d) = parsed else {
            self.err(
                path,
                "invalid-date",
                "must be a date in the form YYYY-MM-DD",
            );
            return None;
        };
        if d < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(d) {
            self.err(path, "invalid-date", "is before 1900");
            return None;
        }
        Some(d)
    }

    fn array<'a>(&mut self, value: &'a Value, path: &str, max: usize) -> Option<&'a Vec<Value>> {
        let Some(items) = value.as_array() else {
            self.err(path, "wrong-type", "must be an array");
            return None;
        };
        if items.len() > max {
            self.err(path, "too-many", format!("has more than {max} entries"));
            return None;
        }
        Some(items)
    }

    fn ticket(&mut self, value: &Value, salvage: &mut TicketSalvage) -> Option<TicketInfo> {
        let p = "ticket";
        let map = self.object(
            value,
            p,
            &[
                "id",
                "source",
                "receivedAt",
                "identityVerifiedAt",
                "verificationMethod",
                "signOff",
                "extension",
                "resumes",
            ],
        )?;
        let id = self.required(map, "id", "ticket.id").and_then(|v| {
            let s = self.string(v, "ticket.id", 80)?;
            match s.parse::<TicketId>() {
                Ok(id) => Some(id),
                Err(e) => {
                    self.err("ticket.id", e.code(), "must be 1 to 80 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit");
                    None
                }
            }
        });
        salvage.ticket_id.clone_from(&id);

        let source = self.required(map, "source", "ticket.source").and_then(|v| {
            // ASCII lower-casing only: Unicode's maps the Kelvin sign to k, which
            // would turn a look-alike into a valid source.
            let s = self
                .string(v, "ticket.source", 40)?
                .trim()
                .to_ascii_lowercase();
            let ok = s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c));
            if !ok {
                self.err(
                    "ticket.source",
                    "invalid-source",
                    "must be 1 to 40 characters of a-z 0-9 . _ -, naming the DSAR tool",
                );
            }
            ok.then_some(s)
        });
        salvage.source.clone_from(&source);

        let received = self
            .required(map, "receivedAt", "ticket.receivedAt")
            .and_then(|v| self.timestamp(v, "ticket.receivedAt"));
        salvage.received_at = received;

        let verified = match optional(map, "identityVerifiedAt") {
            Some(v) => self.timestamp(v, "ticket.identityVerifiedAt"),
            None => {
                self.err(
                    "ticket.identityVerifiedAt",
                    "missing",
                    "identity verification is required before any Genesys call",
                );
                None
            }
        };
        salvage.identity_verified_at = verified;
        if let (Some(r), Some(v)) = (received, verified)
            && v < r
        {
            self.err(
                "ticket.identityVerifiedAt",
                "before-receipt",
                "is earlier than ticket.receivedAt",
            );
        }

        let method = match optional(map, "verificationMethod") {
            Some(v) => self
                .string(v, "ticket.verificationMethod", MAX_SHORT_TEXT)
                .and_then(|s| {
                    // ASCII only, as for the source: no look-alike becomes a method.
                    let s = s.trim().to_ascii_lowercase();
                    let known = self.config.allowed_verification_methods.contains(&s);
                    if !known {
                        self.err(
                            "ticket.verificationMethod",
                            "unknown-verification-method",
                            format!(
                                "is not an accepted verification method (accepted: {})",
                                self.config.allowed_verification_methods.join(", ")
                            ),
                        );
                    }
                    known.then_some(s)
                }),
            None => {
                self.err(
                    "ticket.verificationMethod",
                    "missing",
                    "the identity verification method is required",
                );
                None
            }
        };

        let sign_off = match optional(map, "signOff") {
            Some(v) => self.sign_off(v, received, verified),
            None => {
                self.err(
                    "ticket.signOff",
                    "missing",
                    "a DPO sign-off is required before any Genesys call",
                );
                None
            }
        };
        salvage.sign_off.clone_from(&sign_off);

        // None: absent; Some(None): present but invalid (errors already pushed).
        let extension = optional(map, "extension").map(|v| self.extension(v, received, verified));
        let extension_ok = !matches!(extension, Some(None));
        let extension = extension.flatten();
        salvage.extension.clone_from(&extension);

        let resumes = optional(map, "resumes").map(|v| self.resumes(v, id.as_ref()));
        let resumes_ok = !matches!(resumes, Some(None));
        let resumes = resumes.flatten();

        match (id, source, received, verified, method, sign_off) {
            (
                Some(id),
                Some(source),
                Some(received_at),
                Some(identity_verified_at),
                Some(verification_method),
                Some(sign_off),
            ) if extension_ok && resumes_ok => Some(TicketInfo {
                id,
                source,
                received_at,
                identity_verified_at,
                verification_method,
                sign_off,
                extension,
                resumes,
            }),
            _ => None,
        }
    }

    /// `ticket.resumes`: the id of the DEFERRED ticket this one follows up, in the
    /// ticket id alphabet, and never the ticket's own id (a ticket cannot resume
    /// itself: its GDPR delete, if any, was already sent).
    fn resumes(&mut self, value: &Value, id: Option<&TicketId>) -> Option<TicketId> {
        let path = "ticket.resumes";
        let s = self.string(value, path, 80)?;
        let Ok(resumed) = s.parse::<TicketId>() else {
            self.err(
                path,
                "invalid-ticket-id",
                "must be the id of the deferred ticket: 1 to 80 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit",
            );
            return None;
        };
        if id == Some(&resumed) {
            self.err(
                path,
                "resumes-itself",
                "names this ticket itself: a follow-up ticket has its own id and names the deferred ticket it continues",
            );
            return None;
        }
        Some(resumed)
    }

    fn sign_off(
        &mut self,
        value: &Value,
        received: Option<DateTime<Utc>>,
        verified: Option<DateTime<Utc>>,
    ) -> Option<SignOff> {
        let p = "ticket.signOff";
        let map = self.object(value, p, &["by", "role", "at"])?;
        let by = self.required(map, "by", "ticket.signOff.by").and_then(|v| {
            let s = self.string(v, "ticket.signOff.by", 320)?;
            match s.parse::<Email>() {
                Ok(e) => Some(e),
                Err(e) => {
                    let msg = "must be the e-mail address of the person who signed off";
                    self.err("ticket.signOff.by", e.code(), msg);
                    None
                }
            }
        });
        let role = self
            .required(map, "role", "ticket.signOff.role")
            .and_then(|v| {
                let s = self.string(v, "ticket.signOff.role", 40)?;
                let found = self
                    .config
                    .allowed_sign_off_roles
                    .iter()
                    .find(|r| r.eq_ignore_ascii_case(s.trim()))
                    .cloned();
                if found.is_none() {
                    self.err(
                        "ticket.signOff.role",
                        "role-not-allowed",
                        format!(
                            "is not a role allowed to sign off an erasure (allowed: {})",
                            self.config.allowed_sign_off_roles.join(", ")
                        ),
                    );
                }
                found
            });
        let at = self
            .required(map, "at", "ticket.signOff.at")
            .and_then(|v| self.timestamp(v, "ticket.signOff.at"));
        if let (Some(at), Some(r)) = (at, received)
            && at < r
        {
            self.err(
                "ticket.signOff.at",
                "before-receipt",
                "is earlier than ticket.receivedAt",
            );
        } else if let (Some(at), Some(v)) = (at, verified)
            && at < v
        {
            self.err(
                "ticket.signOff.at",
                "before-verification",
                "is earlier than ticket.identityVerifiedAt: sign-off must follow verification",
            );
        }
        Some(SignOff {
            by: by?,
            role: role?,
            at: at?,
        })
    }

    /// `None` means invalid (the errors are pushed).
    fn extension(
        &mut self,
        value: &Value,
        received: Option<DateTime<Utc>>,
        verified: Option<DateTime<Utc>>,
    ) -> Option<ExtensionNotice> {
        let p = "ticket.extension";
        let map = self.object(value, p, &["noticeSentAt", "reasonCode"])?;
        let notice = self
            .required(map, "noticeSentAt", "ticket.extension.noticeSentAt")
            .and_then(|v| self.timestamp(v, "ticket.extension.noticeSentAt"));
        let reason = self
            .required(map, "reasonCode", "ticket.extension.reasonCode")
            .and_then(|v| {
                let s = self.string(v, "ticket.extension.reasonCode", 64)?;
                let ok = s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                if !ok {
                    self.err(
                        "ticket.extension.reasonCode",
                        "invalid-reason-code",
                        "must be a code of a-z 0-9 - (e.g. complexity, number-of-requests), never free text",
                    );
                }
                ok.then(|| s.to_owned())
            });
        if let (Some(n), Some(r)) = (notice, received) {
            if n < r {
                self.err(
                    "ticket.extension.noticeSentAt",
                    "before-receipt",
                    "is earlier than ticket.receivedAt",
                );
                return None;
            }
            let start = match (self.config.deadline.clock_basis, verified) {
                (deadline::ClockBasis::Verification, Some(v)) => v,
                _ => r,
            };
            if n >= deadline::first_month_ends_at(start, &self.config.deadline) {
                self.err(
                    "ticket.extension.noticeSentAt",
                    "extension-notice-late",
                    "the subject must be told of an extension within the first month (Art. 12(3))",
                );
                return None;
            }
        }
        Some(ExtensionNotice {
            notice_sent_at: notice?,
            reason_code: reason?,
        })
    }

    fn subject(&mut self, value: &Value, salvage: &mut TicketSalvage) -> Option<Subject> {
        let p = "subject";
        let map = self.object(
            value,
            p,
            &[
                "name",
                "emails",
                "phones",
                "genesysUserId",
                "externalContactId",
            ],
        )?;
        let before = self.errors.len();

        let name = optional(map, "name").and_then(|v| {
            let s = self.string(v, "subject.name", crate::identifiers::MAX_NAME_CHARS)?;
            match s.parse::<PersonName>() {
                Ok(n) => Some(n),
                Err(e) => {
                    self.err("subject.name", e.code(), "is not a usable name");
                    None
                }
            }
        });
        salvage.subject.name.clone_from(&name);

        let mut emails: Vec<Email> = Vec::new();
        if let Some(items) =
            optional(map, "emails").and_then(|v| self.array(v, "subject.emails", MAX_EMAILS))
        {
            for (i, item) in items.iter().enumerate() {
                let path = format!("subject.emails[{i}]");
                let Some(s) = self.string(item, &path, crate::identifiers::MAX_EMAIL_CHARS + 64)
                else {
                    continue;
                };
                match s.parse::<Email>() {
                    // Duplicates after normalisation are merged, not refused.
                    Ok(e) if !emails.contains(&e) => emails.push(e),
                    Ok(_) => {}
                    Err(e) => self.err(path, e.code(), "is not a valid e-mail address"),
                }
            }
        }
        salvage.subject.emails.clone_from(&emails);

        let mut phones: BTreeMap<PhoneE164, Vec<TenureWindow>> = BTreeMap::new();
        let mut order: Vec<PhoneE164> = Vec::new();
        if let Some(items) =
            optional(map, "phones").and_then(|v| self.array(v, "subject.phones", MAX_PHONES))
        {
            for (i, item) in items.iter().enumerate() {
                let path = format!("subject.phones[{i}]");
                let (number, window) = self.phone(item, &path);
                if let Some(n) = &number
                    && !order.contains(n)
                {
                    order.push(n.clone());
                }
                if let (Some(n), Some(w)) = (number, window) {
                    phones.entry(n).or_default().push(w);
                }
            }
        }
        salvage.subject.phones = order
            .iter()
            .map(|n| Phone {
                number: n.clone(),
                tenure: Vec::new(),
            })
            .collect();
        let phones: Vec<Phone> = order
            .into_iter()
            .filter_map(|n| {
                let windows = phones.remove(&n)?;
                Some(Phone {
                    number: n,
                    tenure: merge_windows(windows),
                })
            })
            .collect();

        let genesys_user_id = optional(map, "genesysUserId").and_then(|v| {
            let s = self.string(v, "subject.genesysUserId", 64)?;
            s.parse::<GenesysUserId>()
                .map_err(|e| {
                    self.err(
                        "subject.genesysUserId",
                        e.code(),
                        "must be a Genesys user id (a UUID)",
                    )
                })
                .ok()
        });
        salvage.subject.genesys_user_id.clone_from(&genesys_user_id);
        let external_contact_id = optional(map, "externalContactId").and_then(|v| {
            let s = self.string(v, "subject.externalContactId", 64)?;
            s.parse::<ExternalContactId>()
                .map_err(|e| {
                    self.err(
                        "subject.externalContactId",
                        e.code(),
                        "must be a Genesys external contact id (a UUID)",
                    )
                })
                .ok()
        });
        salvage
            .subject
            .external_contact_id
            .clone_from(&external_contact_id);

        let subject = Subject {
            name,
            emails,
            phones,
            genesys_user_id,
            external_contact_id,
        };
        // Only judged on a clean subject: a subject whose only e-mail is malformed has
        // an error already, and "no identifier" would be noise.
        if self.errors.len() == before && subject.usable_identifier_count() == 0 {
            self.err(
                "subject",
                "no-usable-identifier",
                "needs at least one e-mail, phone, genesysUserId or externalContactId (a name alone is never used to delete)",
            );
            return None;
        }
        (self.errors.len() == before).then_some(subject)
    }

    fn phone(&mut self, value: &Value, path: &str) -> (Option<PhoneE164>, Option<TenureWindow>) {
        let Some(map) = self.object(value, path, &["number", "from", "until"]) else {
            return (None, None);
        };
        let number_path = format!("{path}.number");
        let number = self.required(map, "number", &number_path).and_then(|v| {
            let s = self.string(v, &number_path, crate::identifiers::MAX_PHONE_INPUT_CHARS)?;
            PhoneE164::parse(s, self.config.default_region)
                .map_err(|p| self.err(&number_path, p.code(), p.message()))
                .ok()
        });
        let from_path = format!("{path}.from");
        let from = match optional(map, "from") {
            Some(v) => self.date(v, &from_path),
            None => {
                self.err(
                    &from_path,
                    "missing",
                    "the date the number became the subject's is required (recycled numbers)",
                );
                None
            }
        };
        let until_path = format!("{path}.until");
        let until = optional(map, "until").map(|v| self.date(v, &until_path));
        let today = self.now.date_naive();
        if let Some(f) = from
            && f > today + Duration::days(1)
        {
            self.err(&from_path, "in-future", "is in the future");
            return (number, None);
        }
        match (from, until) {
            (Some(from), None) => (number, Some(TenureWindow { from, until: None })),
            (Some(from), Some(Some(until))) if until >= from => (
                number,
                Some(TenureWindow {
                    from,
                    until: Some(until),
                }),
            ),
            (Some(_), Some(Some(_))) => {
                self.err(&until_path, "tenure-reversed", "is earlier than from");
                (number, None)
            }
            _ => (number, None),
        }
    }

    fn options(&mut self, value: &Value) -> Option<Options> {
        let map = self.object(value, "options", &["eraseRecordings", "exportReview"])?;
        let defaults = Options::default();
        let erase_recordings = match optional(map, "eraseRecordings") {
            Some(v) => self.boolean(v, "options.eraseRecordings"),
            None => Some(defaults.erase_recordings),
        };
        let export_review = match optional(map, "exportReview") {
            Some(v) => {
                let s = self.string(v, "options.exportReview", 32);
                match s {
                    Some("always") => Some(ExportReview::Always),
                    Some("when-needed") => Some(ExportReview::WhenNeeded),
                    Some("never") => Some(ExportReview::Never),
                    Some(_) => {
                        self.err(
                            "options.exportReview",
                            "invalid-option",
                            "must be one of: always, when-needed, never",
                        );
                        None
                    }
                    None => None,
                }
            }
            None => Some(defaults.export_review),
        };
        Some(Options {
            erase_recordings: erase_recordings?,
            export_review: export_review?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ticket_error_is_named_for_step_functions_and_never_retried() {
        let e = TicketError::InvalidTicket {
            errors: vec![],
            salvage: Box::default(),
        };
        assert!(crate::error::ERROR_NAMES.contains(&e.name()));
        assert!(!e.is_retryable());
    }

    #[test]
    fn error_display_summarises_without_values() {
        let e = TicketError::InvalidTicket {
            errors: (0..7)
                .map(|i| {
                    FieldError::new(
                        format!("subject.emails[{i}]"),
                        "invalid-email",
                        "is not a valid e-mail address",
                    )
                })
                .collect(),
            salvage: Box::default(),
        };
        let shown = e.to_string();
        assert!(shown.starts_with("invalid ticket: subject.emails[0]"));
        assert!(shown.ends_with("and 2 more"));
    }
}
