//! Legal holds (Art. 17(3)(e)): data needed for legal claims is kept despite the
//! request. Two sources, both checked:
//!
//! - the controller's legal-hold register, a JSON document kept in S3:
//!   `{keyId?, holds: [{holdId, matter?, conversationIds, subjectRefs?, keyId?, period?, expiry, ...}]}`.
//!   A hold names conversations, or subjects by pseudonym (optionally only their
//!   conversations started within `period`). A hold naming subjects must say which
//!   pseudonym key made its refs (its own `keyId`, else the register's): refs made with
//!   another key match nobody, so such a hold is refused, never silently ignored. `expiry` is the last day the hold is in
//!   force (inclusive, controller's time zone), or null for open-ended;
//! - Genesys recording deletion protection, per conversation, with no expiry.
//!
//! An unreadable register is an error, never an empty register: a missed hold is
//! spoliation of evidence.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::deadline::{end_of_day, local_date, start_of_day};
use crate::error::{FieldError, HoldError};
use crate::identifiers::ConversationId;
use crate::pseudonym::Pseudonym;

/// The hold id used in a deferral for Genesys deletion protection, which has none.
pub const DELETION_PROTECTION_HOLD_ID: &str = "genesys-deletion-protection";
pub const MAX_HOLDS: usize = 10_000;
pub const MAX_REGISTER_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldPeriod {
    pub from: NaiveDate,
    pub until: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegalHold {
    pub hold_id: String,
    pub conversation_ids: Vec<ConversationId>,
    pub subject_refs: Vec<Pseudonym>,
    /// The pseudonym key `subject_refs` were made with, when the hold states it (else
    /// the register's `keyId` applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    pub period: Option<HoldPeriod>,
    pub expiry: Option<NaiveDate>,
}

impl LegalHold {
    /// In force on `today` (the expiry day itself included).
    pub fn in_force(&self, today: NaiveDate) -> bool {
        self.expiry.is_none_or(|e| today <= e)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldRegister {
    /// The pseudonym key the `subjectRefs` were made with, when stated.
    pub key_id: Option<String>,
    pub holds: Vec<LegalHold>,
}

/// Parses the register document.
pub fn parse_register(bytes: &[u8]) -> Result<HoldRegister, HoldError> {
    let one = |code: &str, msg: String| {
        HoldError::InvalidHoldRegister(vec![FieldError::new("$", code, msg)])
    };
    if bytes.len() > MAX_REGISTER_BYTES {
        return Err(one(
            "too-large",
            format!("the register is larger than {MAX_REGISTER_BYTES} bytes"),
        ));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        one(
            "invalid-json",
            format!("not valid JSON (line {}, column {})", e.line(), e.column()),
        )
    })?;
    parse_register_value(&value)
}

pub fn parse_register_value(value: &Value) -> Result<HoldRegister, HoldError> {
    let mut errors = Vec::new();
    let register = read_register(value, &mut errors);
    match register {
        Some(r) if errors.is_empty() => Ok(r),
        _ => Err(HoldError::InvalidHoldRegister(errors)),
    }
}

fn check_keys(
    map: &Map<String, Value>,
    path: &str,
    allowed: &[&str],
    errors: &mut Vec<FieldError>,
) {
    for key in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
        let shown = if key.len() <= 40 && key.chars().all(|c| c.is_ascii_alphanumeric()) {
            key.as_str()
        } else {
            "<unknown>"
        };
        errors.push(FieldError::new(
            if path == "$" {
                shown.to_owned()
            } else {
                format!("{path}.{shown}")
            },
            "unknown-field",
            format!("is not a known field (expected: {})", allowed.join(", ")),
        ));
    }
}

fn read_date(v: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let d = v
        .as_str()
        .filter(|s| s.len() == 10)
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
    if d.is_none() {
        errors.push(FieldError::new(
            path,
            "invalid-date",
            "must be a date in the form YYYY-MM-DD",
        ));
    }
    d
}

fn read_register(value: &Value, errors: &mut Vec<FieldError>) -> Option<HoldRegister> {
    let Some(map) = value.as_object() else {
        errors.push(FieldError::new("$", "wrong-type", "must be an object"));
        return None;
    };
    check_keys(map, "$", &["keyId", "holds", "updatedAt"], errors);
    let key_id = read_key_id(map, "keyId", errors);
    let Some(items) = map.get("holds").and_then(Value::as_array) else {
        errors.push(FieldError::new(
            "holds",
            "missing",
            "must be an array of holds",
        ));
        return None;
    };
    if items.len() > MAX_HOLDS {
        errors.push(FieldError::new(
            "holds",
            "too-many",
            format!("has more than {MAX_HOLDS} entries"),
        ));
        return None;
    }
    let mut seen = BTreeSet::new();
    let mut holds = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("holds[{i}]");
        if let Some(h) = read_hold(item, &path, errors) {
            if !seen.insert(h.hold_id.clone()) {
                errors.push(FieldError::new(
                    format!("{path}.holdId"),
                    "duplicate-hold-id",
                    "is used by an earlier hold",
                ));
            }
            holds.push(h);
        }
    }
    Some(HoldRegister { key_id, holds })
}

/// An optional `keyId` (a pseudonym key id, as records name it).
fn read_key_id(
    map: &Map<String, Value>,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match map.get("keyId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 128 => Some(s.clone()),
        Some(_) => {
            errors.push(FieldError::new(
                path,
                "wrong-type",
                "must be a pseudonym key id",
            ));
            None
        }
    }
}

fn read_hold(value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<LegalHold> {
    let Some(map) = value.as_object() else {
        errors.push(FieldError::new(path, "wrong-type", "must be an object"));
        return None;
    };
    let before = errors.len();
    check_keys(
        map,
        path,
        &[
            "holdId",
            "matter",
            "conversationIds",
            "subjectRefs",
            "keyId",
            "period",
            "expiry",
            "createdAt",
            "notes",
        ],
        errors,
    );
    let hold_id = match map.get("holdId").and_then(Value::as_str) {
        Some(s)
            if !s.is_empty()
                && s.len() <= 128
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._:/-".contains(c)) =>
        {
            Some(s.to_owned())
        }
        _ => {
            errors.push(FieldError::new(
                format!("{path}.holdId"),
                "invalid-hold-id",
                "must be 1 to 128 characters of A-Z a-z 0-9 . _ : / -",
            ));
            None
        }
    };
    let mut conversation_ids = Vec::new();
    match map.get("conversationIds") {
        None | Some(Value::Null) => {}
        Some(Value::Array(ids)) => {
            for (j, id) in ids.iter().enumerate() {
                match id.as_str().map(str::parse::<ConversationId>) {
                    Some(Ok(c)) => conversation_ids.push(c),
                    _ => errors.push(FieldError::new(
                        format!("{path}.conversationIds[{j}]"),
                        "invalid-entity-id",
                        "must be a Genesys conversation id",
                    )),
                }
            }
        }
        Some(_) => errors.push(FieldError::new(
            format!("{path}.conversationIds"),
            "wrong-type",
            "must be an array",
        )),
    }
    let mut subject_refs = Vec::new();
    match map.get("subjectRefs") {
        None | Some(Value::Null) => {}
        Some(Value::Array(refs)) => {
            for (j, r) in refs.iter().enumerate() {
                match r.as_str().map(str::parse::<Pseudonym>) {
                    Some(Ok(p)) => subject_refs.push(p),
                    _ => errors.push(FieldError::new(
                        format!("{path}.subjectRefs[{j}]"),
                        "invalid-pseudonym",
                        "must be hmac-sha256: followed by 64 lower-case hex digits",
                    )),
                }
            }
        }
        Some(_) => errors.push(FieldError::new(
            format!("{path}.subjectRefs"),
            "wrong-type",
            "must be an array",
        )),
    }
    let key_id = read_key_id(map, &format!("{path}.keyId"), errors);
    let period = match map.get("period") {
        None | Some(Value::Null) => None,
        Some(Value::Object(p)) => {
            let ppath = format!("{path}.period");
            check_keys(p, &ppath, &["from", "until"], errors);
            let from = p
                .get("from")
                .and_then(|v| read_date(v, &format!("{ppath}.from"), errors));
            let until = match p.get("until") {
                None | Some(Value::Null) => Some(None),
                Some(v) => read_date(v, &format!("{ppath}.until"), errors).map(Some),
            };
            match (from, until) {
                (Some(from), Some(until)) if until.is_none_or(|u| u >= from) => {
                    Some(HoldPeriod { from, until })
                }
                (Some(_), Some(_)) => {
                    errors.push(FieldError::new(
                        format!("{ppath}.until"),
                        "period-reversed",
                        "is earlier than from",
                    ));
                    None
                }
                _ => None,
            }
        }
        Some(_) => {
            errors.push(FieldError::new(
                format!("{path}.period"),
                "wrong-type",
                "must be an object",
            ));
            None
        }
    };
    // `expiry` must be present: a misspelt key must not turn a dated hold into an
    // open-ended one or the reverse.
    let expiry = match map.get("expiry") {
        None => {
            errors.push(FieldError::new(
                format!("{path}.expiry"),
                "missing",
                "is required (a date, or null for an open-ended hold)",
            ));
            None
        }
        Some(Value::Null) => Some(None),
        Some(v) => read_date(v, &format!("{path}.expiry"), errors).map(Some),
    };
    if conversation_ids.is_empty() && subject_refs.is_empty() && errors.len() == before {
        errors.push(FieldError::new(
            path,
            "empty-hold",
            "names no conversationIds and no subjectRefs",
        ));
    }
    if errors.len() > before {
        return None;
    }
    Some(LegalHold {
        hold_id: hold_id?,
        conversation_ids,
        subject_refs,
        key_id,
        period,
        expiry: expiry?,
    })
}

/// A conversation the subject's identifiers located, with its start time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocatedConversation {
    pub id: ConversationId,
    #[serde(with = "crate::time::utc_z")]
    pub start: DateTime<Utc>,
}

/// Why a conversation is withheld, as the record names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WithholdReason {
    LegalHold,
    DeletionProtection,
}

/// One conversation held by one source. A conversation held by two holds appears
/// twice, once per hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldConversation {
    pub conversation_id: ConversationId,
    pub reason: WithholdReason,
    pub hold_id: Option<String>,
    pub hold_expiry: Option<NaiveDate>,
}

/// A hold that applies to this subject, for the deferral.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveHold {
    pub hold_id: String,
    pub expiry: Option<NaiveDate>,
}

/// The erasure of held data waits until every hold has ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deferral {
    pub holds: Vec<ActiveHold>,
    /// The day after the last expiry; `None` while any hold is open-ended.
    pub resume_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldCheck {
    pub held: Vec<HeldConversation>,
    /// Register holds naming the subject without a period: all the subject's data is
    /// held, including any the search did not locate. Nothing may be deleted by
    /// identifier while one is in force.
    pub subject_wide: Vec<ActiveHold>,
}

impl HoldCheck {
    pub fn is_held(&self, id: &ConversationId) -> bool {
        self.held.iter().any(|h| &h.conversation_id == id)
    }

    pub fn held_ids(&self) -> BTreeSet<ConversationId> {
        self.held
            .iter()
            .map(|h| h.conversation_id.clone())
            .collect()
    }

    pub fn is_subject_wide(&self) -> bool {
        !self.subject_wide.is_empty()
    }

    /// Every hold in play: those holding a conversation, and subject-wide ones.
    pub fn holds(&self) -> Vec<ActiveHold> {
        let mut holds: BTreeSet<ActiveHold> = self.subject_wide.iter().cloned().collect();
        for h in &self.held {
            holds.insert(match h.reason {
                WithholdReason::LegalHold => ActiveHold {
                    hold_id: h.hold_id.clone().unwrap_or_default(),
                    expiry: h.hold_expiry,
                },
                WithholdReason::DeletionProtection => ActiveHold {
                    hold_id: DELETION_PROTECTION_HOLD_ID.to_owned(),
                    expiry: None,
                },
            });
        }
        holds.into_iter().collect()
    }

    /// Only these conversations' holds (the review drops conversations that are not
    /// the subject's).
    pub fn restricted_to(&self, keep: &BTreeSet<ConversationId>) -> HoldCheck {
        HoldCheck {
            held: self
                .held
                .iter()
                .filter(|h| keep.contains(&h.conversation_id))
                .cloned()
                .collect(),
            subject_wide: self.subject_wide.clone(),
        }
    }

    pub fn deferral(&self) -> Option<Deferral> {
        let holds = self.holds();
        if holds.is_empty() {
            return None;
        }
        let open = holds.iter().any(|h| h.expiry.is_none());
        let resume_on = if open {
            None
        } else {
            holds
                .iter()
                .filter_map(|h| h.expiry)
                .max()
                .and_then(|d| d.succ_opt())
        };
        Some(Deferral { holds, resume_on })
    }
}

/// Which of the subject's located conversations are held, and by what.
///
/// `subject_refs` are the pseudonyms of every identifier on the ticket; `protected`
/// the conversations Genesys reports under deletion protection; `now` and `tz` give
/// the controller's today for expiry.
/// Every hold naming subjects, in force or not, must name the current pseudonym key: a
/// register made with another key is wrong as a whole, and the operator learns of it
/// before a hold would have mattered.
fn check_key_ids(register: &HoldRegister, current_key_id: &str) -> Result<(), HoldError> {
    for hold in register.holds.iter().filter(|h| !h.subject_refs.is_empty()) {
        let stated = hold.key_id.as_deref().or(register.key_id.as_deref());
        if stated != Some(current_key_id) {
            return Err(HoldError::HoldRegisterKeyMismatch {
                hold_id: hold.hold_id.clone(),
                stated: stated.map(str::to_owned),
                current: current_key_id.to_owned(),
            });
        }
    }
    Ok(())
}

/// The holds in force on `today` that may reach the subject's data in scope and that
/// the review did not weigh (`reviewed`: hold id and expiry as the review saw them):
/// a hold naming an in-scope conversation, or naming the subject. A subject hold's
/// period is not narrowed here (the conversations' start times are the review's), so
/// any such hold the review did not see sends the ticket back to review.
pub fn unreviewed_holds(
    register: &HoldRegister,
    current_key_id: &str,
    in_scope: &[ConversationId],
    subject_refs: &[Pseudonym],
    reviewed: &[ActiveHold],
    today: NaiveDate,
) -> Result<Vec<LegalHold>, HoldError> {
    check_key_ids(register, current_key_id)?;
    Ok(register
        .holds
        .iter()
        .filter(|h| h.in_force(today))
        .filter(|h| {
            h.subject_refs.iter().any(|r| subject_refs.contains(r))
                || h.conversation_ids.iter().any(|c| in_scope.contains(c))
        })
        .filter(|h| {
            !reviewed.contains(&ActiveHold {
                hold_id: h.hold_id.clone(),
                expiry: h.expiry,
            })
        })
        .cloned()
        .collect())
}

pub fn check_holds(
    register: &HoldRegister,
    current_key_id: &str,
    conversations: &[LocatedConversation],
    subject_refs: &[Pseudonym],
    protected: &[ConversationId],
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<HoldCheck, HoldError> {
    check_key_ids(register, current_key_id)?;
    let today = local_date(now, tz);
    let mut check = HoldCheck::default();
    for hold in register.holds.iter().filter(|h| h.in_force(today)) {
        let names_subject = hold.subject_refs.iter().any(|r| subject_refs.contains(r));
        if names_subject && hold.period.is_none() {
            check.subject_wide.push(ActiveHold {
                hold_id: hold.hold_id.clone(),
                expiry: hold.expiry,
            });
        }
        for c in conversations {
            let by_id = hold.conversation_ids.contains(&c.id);
            let by_subject = names_subject
                && hold.period.as_ref().is_none_or(|p| {
                    c.start >= start_of_day(p.from, tz)
                        && p.until.is_none_or(|u| c.start < end_of_day(u, tz))
                });
            if by_id || by_subject {
                check.held.push(HeldConversation {
                    conversation_id: c.id.clone(),
                    reason: WithholdReason::LegalHold,
                    hold_id: Some(hold.hold_id.clone()),
                    hold_expiry: hold.expiry,
                });
            }
        }
    }
    for c in conversations.iter().filter(|c| protected.contains(&c.id)) {
        check.held.push(HeldConversation {
            conversation_id: c.id.clone(),
            reason: WithholdReason::DeletionProtection,
            hold_id: None,
            hold_expiry: None,
        });
    }
    Ok(check)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        crate::time::parse_rfc3339(s).unwrap()
    }
    fn conv(id: &str, start: &str) -> LocatedConversation {
        LocatedConversation {
            id: id.parse().unwrap(),
            start: t(start),
        }
    }
    fn cid(id: &str) -> ConversationId {
        id.parse().unwrap()
    }
    const REF_A: &str =
        "hmac-sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const REF_B: &str =
        "hmac-sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn register(holds: Value) -> HoldRegister {
        parse_register_value(&json!({ "keyId": "k1", "holds": holds })).unwrap()
    }

    #[test]
    fn a_hold_the_review_did_not_weigh_is_new_even_when_only_its_expiry_moved() {
        let reg = register(json!([
            { "holdId": "LH-1", "conversationIds": ["c-1"], "expiry": "2027-06-30" },
            { "holdId": "LH-2", "conversationIds": [], "subjectRefs": [REF_A], "expiry": null },
            { "holdId": "LH-3", "conversationIds": ["c-9"], "expiry": null },
            { "holdId": "LH-4", "conversationIds": ["c-1"], "expiry": "2026-01-01" }
        ]));
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let reviewed = |expiry: &str| {
            vec![ActiveHold {
                hold_id: "LH-1".into(),
                expiry: Some(expiry.parse().unwrap()),
            }]
        };
        let ids = |v: Vec<LegalHold>| v.into_iter().map(|h| h.hold_id).collect::<Vec<_>>();
        // LH-3 names nothing in scope, LH-4 has expired: neither concerns the ticket.
        let new = unreviewed_holds(
            &reg,
            "k1",
            &[cid("c-1")],
            &[cid_ref(REF_A)],
            &reviewed("2027-06-30"),
            today,
        );
        assert_eq!(ids(new.unwrap()), ["LH-2"]);
        let new = unreviewed_holds(
            &reg,
            "k1",
            &[cid("c-1")],
            &[cid_ref(REF_B)],
            &reviewed("2027-03-31"),
            today,
        );
        assert_eq!(ids(new.unwrap()), ["LH-1"], "extended since the review");
        let err = unreviewed_holds(&reg, "k2", &[cid("c-1")], &[], &[], today).unwrap_err();
        assert!(matches!(err, HoldError::HoldRegisterKeyMismatch { .. }));
    }

    fn cid_ref(r: &str) -> Pseudonym {
        r.parse().unwrap()
    }

    #[test]
    fn register_errors_are_precise_and_complete() {
        let doc = json!({ "holds": [
            { "holdId": "LH-1", "conversationIds": ["c-1"], "expiry": "2027-13-01" },
            { "holdId": "LH 2", "conversationIds": ["c_2"], "expiry": null },
            { "holdId": "LH-3", "expiry": null },
            { "holdId": "LH-4", "conversationIds": ["c-4"] },
            { "holdId": "LH-1", "conversationIds": ["c-5"], "expiry": null, "expirey": "2027-01-01" },
            { "holdId": "LH-6", "subjectRefs": ["sha1:abc"], "expiry": null },
            { "holdId": "LH-7", "subjectRefs": [REF_A], "period": {"from": "2025-01-01", "until": "2024-01-01"}, "expiry": null }
        ]});
        let Err(HoldError::InvalidHoldRegister(errors)) = parse_register_value(&doc) else {
            panic!("expected errors");
        };
        let got: Vec<(String, String)> = errors
            .iter()
            .map(|e| (e.field.clone(), e.code.clone()))
            .collect();
        for want in [
            ("holds[0].expiry", "invalid-date"),
            ("holds[1].holdId", "invalid-hold-id"),
            ("holds[1].conversationIds[0]", "invalid-entity-id"),
            ("holds[2]", "empty-hold"),
            ("holds[3].expiry", "missing"),
            ("holds[4].expirey", "unknown-field"),
            ("holds[5].subjectRefs[0]", "invalid-pseudonym"),
            ("holds[6].period.until", "period-reversed"),
        ] {
            assert!(
                got.contains(&(want.0.to_owned(), want.1.to_owned())),
                "{want:?} in {got:?}"
            );
        }
        let dup = json!({ "holds": [
            { "holdId": "LH-1", "conversationIds": ["c-1"], "expiry": null },
            { "holdId": "LH-1", "conversationIds": ["c-2"], "expiry": null }
        ]});
        let Err(HoldError::InvalidHoldRegister(errors)) = parse_register_value(&dup) else {
            panic!("expected errors");
        };
        assert_eq!(errors[0].code, "duplicate-hold-id");
        assert!(matches!(
            parse_register(b"{"),
            Err(HoldError::InvalidHoldRegister(_))
        ));
        assert!(matches!(
            parse_register(b"{}"),
            Err(HoldError::InvalidHoldRegister(_))
        ));
        assert_eq!(parse_register(br#"{"holds": []}"#).unwrap().holds.len(), 0);
    }

    #[test]
    fn held_conversations_come_with_hold_id_and_expiry_and_expired_holds_do_not_hold() {
        let reg = register(json!([
            { "holdId": "LH-open", "matter": "Doe v Acme", "conversationIds": ["c-1"], "expiry": null },
            { "holdId": "LH-dated", "conversationIds": ["c-2"], "expiry": "2027-06-30" },
            { "holdId": "LH-expired", "conversationIds": ["c-3"], "expiry": "2026-11-21" },
            { "holdId": "LH-today", "conversationIds": ["c-4"], "expiry": "2026-11-22" },
            { "holdId": "LH-other", "conversationIds": ["c-99"], "expiry": null }
        ]));
        let found = [
            conv("c-1", "2025-01-01T10:00:00Z"),
            conv("c-2", "2025-01-02T10:00:00Z"),
            conv("c-3", "2025-01-03T10:00:00Z"),
            conv("c-4", "2025-01-04T10:00:00Z"),
            conv("c-5", "2025-01-05T10:00:00Z"),
        ];
        let check = check_holds(
            &reg,
            "k1",
            &found,
            &[],
            &[],
            t("2026-11-22T12:00:00Z"),
            Tz::UTC,
        )
        .unwrap();
        let held: Vec<(&str, Option<&str>, Option<String>)> = check
            .held
            .iter()
            .map(|h| {
                (
                    h.conversation_id.as_str(),
                    h.hold_id.as_deref(),
                    h.hold_expiry.map(|d| d.to_string()),
                )
            })
            .collect();
        assert_eq!(
            held,
            vec![
                ("c-1", Some("LH-open"), None),
                ("c-2", Some("LH-dated"), Some("2027-06-30".to_owned())),
                ("c-4", Some("LH-today"), Some("2026-11-22".to_owned())),
            ]
        );
        assert!(!check.is_held(&cid("c-3")));
        assert!(!check.is_subject_wide());
        // LH-open has no expiry: the deferral cannot name a resume date.
        assert_eq!(check.deferral().unwrap().resume_on, None);
    }

    #[test]
    fn resume_on_is_the_day_after_the_last_expiry() {
        let reg = register(json!([
            { "holdId": "LH-a", "conversationIds": ["c-1"], "expiry": "2027-06-30" },
            { "holdId": "LH-b", "conversationIds": ["c-2"], "expiry": "2027-03-31" }
        ]));
        let found = [
            conv("c-1", "2025-01-01T10:00:00Z"),
            conv("c-2", "2025-01-01T10:00:00Z"),
        ];
        let check = check_holds(
            &reg,
            "k1",
            &found,
            &[],
            &[],
            t("2026-11-22T12:00:00Z"),
            Tz::UTC,
        )
        .unwrap();
        let d = check.deferral().unwrap();
        assert_eq!(
            d.resume_on.map(|d| d.to_string()).as_deref(),
            Some("2027-07-01")
        );
        assert_eq!(d.holds.len(), 2);
    }

    #[test]
    fn deletion_protection_is_a_second_open_ended_source() {
        let reg = register(json!([]));
        let found = [
            conv("c-1", "2025-01-01T10:00:00Z"),
            conv("c-2", "2025-01-01T10:00:00Z"),
        ];
        let check = check_holds(
            &reg,
            "k1",
            &found,
            &[],
            &[cid("c-2"), cid("c-77")],
            t("2026-11-22T12:00:00Z"),
            Tz::UTC,
        )
        .unwrap();
        assert_eq!(check.held.len(), 1);
        assert_eq!(check.held[0].reason, WithholdReason::DeletionProtection);
        assert_eq!(check.held[0].hold_id, None);
        let d = check.deferral().unwrap();
        assert_eq!(
            d.holds,
            vec![ActiveHold {
                hold_id: DELETION_PROTECTION_HOLD_ID.into(),
                expiry: None
            }]
        );
        assert_eq!(d.resume_on, None);
    }

    #[test]
    fn subject_holds_match_by_pseudonym_and_period() {
        let reg = register(json!([
            { "holdId": "LH-period", "subjectRefs": [REF_A], "period": {"from": "2025-01-01", "until": "2025-01-31"}, "expiry": null },
            { "holdId": "LH-other-person", "subjectRefs": [REF_B], "expiry": null }
        ]));
        let found = [
            conv("c-in", "2025-01-31T23:00:00Z"),
            conv("c-out", "2025-02-01T00:00:00Z"),
        ];
        let refs = [REF_A.parse().unwrap()];
        let check = check_holds(
            &reg,
            "k1",
            &found,
            &refs,
            &[],
            t("2026-11-22T12:00:00Z"),
            Tz::UTC,
        )
        .unwrap();
        assert_eq!(check.held_ids(), BTreeSet::from([cid("c-in")]));
        assert!(!check.is_subject_wide());

        let wide = register(
            json!([{ "holdId": "LH-wide", "subjectRefs": [REF_A], "expiry": "2027-01-01" }]),
        );
        let check = check_holds(
            &wide,
            "k1",
            &[],
            &refs,
            &[],
            t("2026-11-22T12:00:00Z"),
            Tz::UTC,
        )
        .unwrap();
        assert!(
            check.is_subject_wide(),
            "a subject-wide hold holds even what was not located"
        );
        assert_eq!(check.deferral().unwrap().holds[0].hold_id, "LH-wide");
    }

    #[test]
    fn subject_refs_made_with_another_key_are_refused() {
        let reg = register(json!([{ "holdId": "LH-1", "subjectRefs": [REF_A], "expiry": null }]));
        assert_eq!(
            check_holds(
                &reg,
                "k2",
                &[],
                &[],
                &[],
                t("2026-11-22T12:00:00Z"),
                Tz::UTC
            ),
            Err(HoldError::HoldRegisterKeyMismatch {
                hold_id: "LH-1".into(),
                stated: Some("k1".into()),
                current: "k2".into(),
            })
        );
    }

    #[test]
    fn a_hold_naming_subjects_must_say_which_key_made_its_refs() {
        let now = t("2026-11-22T12:00:00Z");
        let unstated = parse_register_value(&json!({ "holds": [
            { "holdId": "LH-C", "conversationIds": ["c-1"], "expiry": null },
            { "holdId": "LH-S", "subjectRefs": [REF_A], "expiry": null }
        ]}))
        .unwrap();
        let e = check_holds(&unstated, "k1", &[], &[], &[], now, Tz::UTC).unwrap_err();
        assert_eq!(
            e,
            HoldError::HoldRegisterKeyMismatch {
                hold_id: "LH-S".into(),
                stated: None,
                current: "k1".into()
            }
        );
        assert!(
            e.to_string().contains("LH-S") && e.to_string().contains("k1"),
            "{e}"
        );

        // A hold's own keyId wins over the register's; holds naming only
        // conversations need none.
        let per_hold = parse_register_value(&json!({ "keyId": "k0", "holds": [
            { "holdId": "LH-C", "conversationIds": ["c-1"], "expiry": null },
            { "holdId": "LH-S", "subjectRefs": [REF_A], "keyId": "k1", "expiry": null }
        ]}))
        .unwrap();
        assert!(check_holds(&per_hold, "k1", &[], &[], &[], now, Tz::UTC).is_ok());
        let old = parse_register_value(&json!({ "keyId": "k1", "holds": [
            { "holdId": "LH-S", "subjectRefs": [REF_A], "keyId": "k0", "expiry": null }
        ]}))
        .unwrap();
        assert!(matches!(
            check_holds(&old, "k1", &[], &[], &[], now, Tz::UTC),
            Err(HoldError::HoldRegisterKeyMismatch { stated: Some(k), .. }) if k == "k0"
        ));
        let only_conversations = parse_register_value(&json!({ "holds": [
            { "holdId": "LH-C", "conversationIds": ["c-1"], "expiry": null }
        ]}))
        .unwrap();
        assert!(check_holds(&only_conversations, "k1", &[], &[], &[], now, Tz::UTC).is_ok());
    }
}
