//! The tenure filter for recycled phone numbers.
//!
//! A GDPR_DELETE by phone number erases every conversation with that number, with no
//! date range (contract 3.6), including those of an earlier or later owner. So each
//! number carries the subject's tenure, and the conversations found for it are
//! classified:
//!
//! - the tenure window of `from`..`until` runs from the start of `from` to the end of
//!   `until` (inclusive dates) in the controller's time zone; `until: null` means the
//!   number is still the subject's;
//! - a conversation belongs to whoever held the number when it **started**: a call
//!   cannot change hands mid-call. One that starts inside the window is the subject's;
//!   if it ends after the window closes (a call over midnight of the `until` date) it
//!   is still the subject's but flagged, so a person can look;
//! - one that starts before `from` or after the end of `until` is outside: another
//!   owner's. A single such conversation takes the number out of the GDPR_DELETE
//!   subject; the subject's own conversations on that number are then handled one by
//!   one, and the outside ones are listed as excluded (OUTSIDE_TENURE) with the
//!   number's pseudonym.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::deadline::{end_of_day, start_of_day};
use crate::identifiers::{ConversationId, PhoneE164};
use crate::pseudonym::Pseudonym;

/// The period a number was the subject's: inclusive dates, `until: None` = still is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenureWindow {
    pub from: NaiveDate,
    pub until: Option<NaiveDate>,
}

impl TenureWindow {
    fn starts_at(&self, tz: Tz) -> DateTime<Utc> {
        start_of_day(self.from, tz)
    }
    fn ends_at(&self, tz: Tz) -> Option<DateTime<Utc>> {
        self.until.map(|u| end_of_day(u, tz))
    }
    fn contains(&self, t: DateTime<Utc>, tz: Tz) -> bool {
        t >= self.starts_at(tz) && self.ends_at(tz).is_none_or(|end| t < end)
    }
}

/// Sorts windows and merges overlapping or adjacent ones (a number listed twice).
pub fn merge_windows(mut windows: Vec<TenureWindow>) -> Vec<TenureWindow> {
    windows.sort();
    let mut merged: Vec<TenureWindow> = Vec::with_capacity(windows.len());
    for w in windows {
        if let Some(last) = merged.last_mut() {
            let touches = match last.until {
                None => true,
                Some(u) => u.succ_opt().is_none_or(|next| w.from <= next),
            };
            if touches {
                last.until = match (last.until, w.until) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
                continue;
            }
        }
        merged.push(w);
    }
    merged
}

/// A conversation found for a phone number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneConversation {
    pub id: ConversationId,
    #[serde(with = "crate::time::utc_z")]
    pub start: DateTime<Utc>,
    #[serde(with = "crate::time::option_utc_z")]
    pub end: Option<DateTime<Utc>>,
}

/// Where a conversation falls against the number's tenure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TenurePosition {
    /// Started and ended inside a window.
    Within,
    /// Started inside a window and ended after it closed: the subject's, flagged.
    SpansEnd,
    /// Started outside every window: another owner's.
    Outside,
}

pub fn classify(
    windows: &[TenureWindow],
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    tz: Tz,
) -> TenurePosition {
    let mut position = TenurePosition::Outside;
    for w in windows.iter().filter(|w| w.contains(start, tz)) {
        // An end before the start is bad data: judge by the start alone.
        let end = end.filter(|e| *e >= start).unwrap_or(start);
        if w.contains(end, tz) {
            return TenurePosition::Within;
        }
        position = TenurePosition::SpansEnd;
    }
    position
}

/// Why a found conversation is kept out of the erasure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExclusionReason {
    OutsideTenure,
    /// Found only by the subject's Genesys user id: a conversation the subject handled
    /// as an agent, i.e. another person's interaction (see `review`).
    HandledAsAgent,
}

/// A conversation found by an identifier but not the subject's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exclusion {
    pub conversation_id: ConversationId,
    pub reason: ExclusionReason,
    pub identifier_ref: Pseudonym,
}

/// The tenure verdict for one phone number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneTenureResult {
    pub phone: PhoneE164,
    pub phone_ref: Pseudonym,
    pub within: Vec<ConversationId>,
    pub spans_end: Vec<ConversationId>,
    pub outside: Vec<ConversationId>,
}

impl PhoneTenureResult {
    /// Whether a GDPR_DELETE may name this number: only if every conversation found
    /// for it is the subject's.
    pub fn deletable_by_number(&self) -> bool {
        self.outside.is_empty()
    }

    /// The subject's conversations on this number (to handle one by one when the
    /// number cannot be deleted by).
    pub fn subjects_conversations(&self) -> impl Iterator<Item = &ConversationId> {
        self.within.iter().chain(self.spans_end.iter())
    }

    pub fn exclusions(&self) -> Vec<Exclusion> {
        self.outside
            .iter()
            .map(|id| Exclusion {
                conversation_id: id.clone(),
                reason: ExclusionReason::OutsideTenure,
                identifier_ref: self.phone_ref.clone(),
            })
            .collect()
    }
}

/// Classifies every conversation found for one number.
pub fn filter_phone(
    phone: &PhoneE164,
    phone_ref: &Pseudonym,
    windows: &[TenureWindow],
    conversations: &[PhoneConversation],
    tz: Tz,
) -> PhoneTenureResult {
    let mut result = PhoneTenureResult {
        phone: phone.clone(),
        phone_ref: phone_ref.clone(),
        within: Vec::new(),
        spans_end: Vec::new(),
        outside: Vec::new(),
    };
    for c in conversations {
        let list = match classify(windows, c.start, c.end, tz) {
            TenurePosition::Within => &mut result.within,
            TenurePosition::SpansEnd => &mut result.spans_end,
            TenurePosition::Outside => &mut result.outside,
        };
        if !list.contains(&c.id) {
            list.push(c.id.clone());
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pseudonym::{PseudonymKey, Pseudonymiser};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn t(s: &str) -> DateTime<Utc> {
        crate::time::parse_rfc3339(s).unwrap()
    }
    fn w(from: &str, until: Option<&str>) -> TenureWindow {
        TenureWindow {
            from: d(from),
            until: until.map(d),
        }
    }

    #[test]
    fn conversations_are_classified_by_when_they_started() {
        let utc = Tz::UTC;
        let ws = [w("2019-03-01", Some("2024-06-30"))];
        let cases = [
            ("2019-03-01T00:00:00Z", None, TenurePosition::Within), // first instant
            ("2019-02-28T23:59:59Z", None, TenurePosition::Outside), // earlier owner
            (
                "2022-01-10T10:00:00Z",
                Some("2022-01-10T10:05:00Z"),
                TenurePosition::Within,
            ),
            ("2024-06-30T23:59:59Z", None, TenurePosition::Within), // whole until day
            ("2024-07-01T00:00:00Z", None, TenurePosition::Outside), // later owner
            // A call over midnight of the until date: the subject's, flagged.
            (
                "2024-06-30T23:50:00Z",
                Some("2024-07-01T00:10:00Z"),
                TenurePosition::SpansEnd,
            ),
            // Started before the subject had the number: the earlier owner's.
            (
                "2019-02-28T23:50:00Z",
                Some("2019-03-01T00:10:00Z"),
                TenurePosition::Outside,
            ),
            // An end before the start is bad data; the start decides.
            (
                "2022-01-10T10:00:00Z",
                Some("2021-01-01T00:00:00Z"),
                TenurePosition::Within,
            ),
        ];
        for (start, end, want) in cases {
            assert_eq!(classify(&ws, t(start), end.map(t), utc), want, "{start}");
        }
    }

    #[test]
    fn an_open_tenure_has_no_later_owner() {
        let ws = [w("2019-03-01", None)];
        assert_eq!(
            classify(&ws, t("2031-01-01T00:00:00Z"), None, Tz::UTC),
            TenurePosition::Within
        );
        assert_eq!(
            classify(&ws, t("2019-01-01T00:00:00Z"), None, Tz::UTC),
            TenurePosition::Outside
        );
    }

    #[test]
    fn tenure_days_are_the_controllers_days() {
        // Until 30 June in Dublin (UTC+1 in summer) ends at 23:00 UTC.
        let dublin: Tz = "Europe/Dublin".parse().unwrap();
        let ws = [w("2019-03-01", Some("2024-06-30"))];
        assert_eq!(
            classify(&ws, t("2024-06-30T22:59:00Z"), None, dublin),
            TenurePosition::Within
        );
        assert_eq!(
            classify(&ws, t("2024-06-30T23:01:00Z"), None, dublin),
            TenurePosition::Outside
        );
        assert_eq!(
            classify(&ws, t("2024-06-30T23:01:00Z"), None, Tz::UTC),
            TenurePosition::Within
        );
    }

    #[test]
    fn windows_merge_when_they_overlap_or_touch() {
        let merged = merge_windows(vec![
            w("2022-01-01", Some("2022-12-31")),
            w("2019-01-01", Some("2020-06-30")),
            w("2020-07-01", Some("2020-12-31")), // adjacent
            w("2022-06-01", None),               // overlaps, open
        ]);
        assert_eq!(
            merged,
            vec![w("2019-01-01", Some("2020-12-31")), w("2022-01-01", None)]
        );
        // A gap between two tenures belongs to someone else.
        assert_eq!(
            classify(&merged, t("2021-06-01T10:00:00Z"), None, Tz::UTC),
            TenurePosition::Outside
        );
    }

    #[test]
    fn delete_by_recycled_number_spares_new_owner() {
        let p = Pseudonymiser::new(PseudonymKey::new("k", vec![7; 32]).unwrap());
        let phone = PhoneE164::parse("+353861234567", None).unwrap();
        let phone_ref = p.phone(&phone);
        let conv = |id: &str, start: &str| PhoneConversation {
            id: id.parse().unwrap(),
            start: t(start),
            end: None,
        };
        let found = [
            conv("c-mine-1", "2020-05-01T10:00:00Z"),
            conv("c-mine-2", "2024-06-30T12:00:00Z"),
            conv("c-new-owner", "2025-02-01T10:00:00Z"),
        ];
        let r = filter_phone(
            &phone,
            &phone_ref,
            &[w("2019-03-01", Some("2024-06-30"))],
            &found,
            Tz::UTC,
        );
        assert!(!r.deletable_by_number());
        assert_eq!(r.within.len(), 2);
        let ex = r.exclusions();
        assert_eq!(ex.len(), 1);
        assert_eq!(ex[0].conversation_id.as_str(), "c-new-owner");
        assert_eq!(ex[0].identifier_ref, phone_ref);
        assert_eq!(ex[0].reason, ExclusionReason::OutsideTenure);

        let clean = filter_phone(
            &phone,
            &phone_ref,
            &[w("2019-03-01", None)],
            &found,
            Tz::UTC,
        );
        assert!(clean.deletable_by_number());
    }
}
