//! The last look before a record is locked for years: every text in it is searched
//! for the ticket's own identifiers, in every spelling people and systems write them,
//! compared as keyed pseudonyms (WriteRecord never holds the values themselves).
//!
//! - e-mail addresses: any token with an `@` (a `mailto:` prefix, case, Unicode
//!   forms and punycode domains normalised as the ticket's were);
//! - phone numbers: any run of digits with the separators people write (`+`, spaces,
//!   dashes, dots, brackets, `tel:`), as international (`+…`, `00…`) or national
//!   with or without its trunk `0` under every country calling code;
//! - Genesys user and external contact ids: any UUID-shaped token;
//! - the name: every run of one to four words.
//!
//! A hit names the identifier's kind and where it is, never the value.

use std::collections::BTreeMap;

use erasure_core::identifiers::{
    Email, ExternalContactId, GenesysUserId, IdentifierKind, PersonName, PhoneE164,
};
use erasure_core::pseudonym::{Pseudonym, Pseudonymiser};
use serde_json::Value;

/// The ticket's identifiers as pseudonyms, and the key that made them.
pub struct IdentifierScan<'a> {
    pseudonymiser: &'a Pseudonymiser,
    refs: BTreeMap<Pseudonym, IdentifierKind>,
}

/// One identifier found: where (a JSON path) and of which kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub path: String,
    pub kind: IdentifierKind,
}

const MAX_NAME_WORDS: usize = 4;
const MIN_PHONE_DIGITS: usize = 6;
const MAX_PHONE_DIGITS: usize = 15;

impl<'a> IdentifierScan<'a> {
    pub fn new(
        pseudonymiser: &'a Pseudonymiser,
        refs: impl IntoIterator<Item = (IdentifierKind, Pseudonym)>,
    ) -> Self {
        IdentifierScan {
            pseudonymiser,
            refs: refs.into_iter().map(|(k, r)| (r, k)).collect(),
        }
    }

    fn known(&self, r: &Pseudonym) -> Option<IdentifierKind> {
        self.refs.get(r).copied()
    }

    /// The kind of the first of the ticket's identifiers the text carries.
    pub fn find(&self, text: &str) -> Option<IdentifierKind> {
        if self.refs.is_empty() {
            return None;
        }
        let p = self.pseudonymiser;
        let tokens = text.split(|c: char| c.is_whitespace() || "\"'<>()[]{},;|".contains(c));
        for token in tokens.filter(|t| !t.is_empty()) {
            let token = token.trim_matches(|c: char| ".:!?".contains(c));
            if token.contains('@') {
                let bare = token
                    .get(..7)
                    .filter(|p| p.eq_ignore_ascii_case("mailto:"))
                    .map_or(token, |_| &token[7..]);
                if let Some(k) = bare
                    .parse::<Email>()
                    .ok()
                    .and_then(|e| self.known(&p.email(&e)))
                {
                    return Some(k);
                }
            }
            if token.len() == 36 {
                let user = token
                    .parse::<GenesysUserId>()
                    .ok()
                    .map(|u| p.genesys_user(&u));
                let contact =
                    (token.parse::<ExternalContactId>().ok()).map(|x| p.external_contact(&x));
                if let Some(k) = user
                    .iter()
                    .chain(contact.iter())
                    .find_map(|r| self.known(r))
                {
                    return Some(k);
                }
            }
        }
        if let Some(k) = self.find_phone(text) {
            return Some(k);
        }
        self.find_name(text)
    }

    fn find_phone(&self, text: &str) -> Option<IdentifierKind> {
        let p = self.pseudonymiser;
        let phone = |e164: &str| {
            e164.parse::<PhoneE164>()
                .ok()
                .and_then(|n| self.known(&p.phone(&n)))
        };
        for run in phone_runs(text) {
            // A date (the record is full of them) is never a number.
            let b = run.as_bytes();
            if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
                continue;
            }
            let digits: String = run.chars().filter(char::is_ascii_digit).collect();
            if !(MIN_PHONE_DIGITS..=MAX_PHONE_DIGITS + 2).contains(&digits.len()) {
                continue;
            }
            let mut candidates = vec![format!("+{digits}")];
            if let Some(rest) = digits.strip_prefix("00") {
                candidates.push(format!("+{rest}"));
            }
            if !run.starts_with('+') {
                // National: under every country calling code, with and without the
                // trunk 0 (the record never holds the region the ticket was read in).
                let national = digits.strip_prefix('0');
                for cc in 1..=999 {
                    candidates.push(format!("+{cc}{digits}"));
                    if let Some(n) = national {
                        candidates.push(format!("+{cc}{n}"));
                    }
                }
            }
            if let Some(k) = candidates.iter().find_map(|c| phone(c)) {
                return Some(k);
            }
        }
        None
    }

    fn find_name(&self, text: &str) -> Option<IdentifierKind> {
        let words: Vec<&str> = text
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .filter(|w| !w.is_empty())
            .collect();
        for len in 1..=MAX_NAME_WORDS.min(words.len()) {
            for window in words.windows(len) {
                let Ok(name) = window.join(" ").parse::<PersonName>() else {
                    continue;
                };
                if let Some(k) = self.known(&self.pseudonymiser.name(&name)) {
                    return Some(k);
                }
            }
        }
        None
    }

    /// Every string in `v` that carries one of the ticket's identifiers.
    pub fn scan_json(&self, v: &Value) -> Vec<Hit> {
        let mut hits = Vec::new();
        self.walk(v, "$".to_owned(), &mut hits);
        hits
    }

    fn walk(&self, v: &Value, path: String, hits: &mut Vec<Hit>) {
        match v {
            Value::String(s) => {
                // Pseudonyms and digests are what the record is made of: never a value.
                let derived = s.starts_with("hmac-sha256:") || s.starts_with("sha256:");
                if let Some(kind) = (!derived).then(|| self.find(s)).flatten() {
                    hits.push(Hit { path, kind });
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    self.walk(x, format!("{path}[{i}]"), hits);
                }
            }
            Value::Object(m) => {
                for (k, x) in m {
                    self.walk(x, format!("{path}.{k}"), hits);
                }
            }
            _ => {}
        }
    }
}

/// The runs of digits and the separators people write numbers with that stand on
/// their own: a run touching a letter (inside an id, a hash, a word) is not a number.
fn phone_runs(text: &str) -> Vec<&str> {
    let is_part = |c: char| c.is_ascii_digit() || " +-./()".contains(c);
    let touches = |x: Option<char>| x.is_some_and(|x| x.is_alphanumeric() || x == '_');
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), '\0')))
    {
        let part = i < text.len() && is_part(c);
        match (start, part) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                let raw = &text[s..i];
                let edge = |c: char| " .-/".contains(c);
                let lead = raw.len() - raw.trim_start_matches(edge).len();
                let run = raw.trim_matches(edge);
                let (ts, te) = (s + lead, s + lead + run.len());
                let before = text[..ts].chars().next_back();
                let after = text[te..].chars().next();
                if !touches(before) && !touches(after) && run.chars().any(|c| c.is_ascii_digit()) {
                    out.push(run);
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use erasure_core::pseudonym::PseudonymKey;

    fn p() -> Pseudonymiser {
        Pseudonymiser::new(PseudonymKey::new("scan-test", vec![9; 32]).unwrap())
    }

    fn scan(p: &Pseudonymiser) -> IdentifierScan<'_> {
        IdentifierScan::new(
            p,
            [
                (
                    IdentifierKind::Email,
                    p.email(&"Liam.Byrne@example.org".parse().unwrap()),
                ),
                (
                    IdentifierKind::Phone,
                    p.phone(&"+353834567890".parse().unwrap()),
                ),
                (
                    IdentifierKind::ExternalContactId,
                    p.external_contact(&"73915644-4045-433a-b6f0-0ef6164c1830".parse().unwrap()),
                ),
                (IdentifierKind::Name, p.name(&"Liam Byrne".parse().unwrap())),
            ],
        )
    }

    #[test]
    fn the_tickets_identifiers_are_found_in_every_spelling() {
        let p = p();
        let s = scan(&p);
        for (text, kind) in [
            ("sent to <LIAM.BYRNE@example.org>.", IdentifierKind::Email),
            ("mailto:liam.byrne@EXAMPLE.org", IdentifierKind::Email),
            ("caller +353 83 456 7890 hung up", IdentifierKind::Phone),
            ("tel:+353834567890", IdentifierKind::Phone),
            ("ring 00353-83-456-7890", IdentifierKind::Phone),
            ("ring (083) 456 7890 today", IdentifierKind::Phone),
            ("Tel.083-456-7890.", IdentifierKind::Phone),
            (
                "contact 73915644-4045-433A-B6F0-0EF6164C1830 merged",
                IdentifierKind::ExternalContactId,
            ),
            ("Dear  LIAM byrne,", IdentifierKind::Name),
        ] {
            assert_eq!(s.find(text), Some(kind), "{text}");
        }
    }

    #[test]
    fn other_peoples_values_ids_and_times_are_not_hits() {
        let p = p();
        let s = scan(&p);
        for text in [
            "priya@example.org wrote",
            "+353 83 999 0000",
            "conversation 8a15996b-fa29-4d78-9331-69ded1d4e015 at 2026-11-22T11:00:05Z",
            // Digits inside an id or a hash are not a number, even the subject's.
            "r-353834567890x and id353834567890",
            "Liam Murphy called Byrne's office",
            "GDPR_DELETE ended ERROR",
        ] {
            assert_eq!(s.find(text), None, "{text}");
        }
        let record = serde_json::json!({"a": ["ok", {"b": "to liam.byrne@example.org"}], "c": "hmac-sha256:00"});
        let hits = s.scan_json(&record);
        assert_eq!(
            hits,
            [Hit {
                path: "$.a[1].b".into(),
                kind: IdentifierKind::Email
            }]
        );
    }
}
