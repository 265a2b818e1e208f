//! Identifiers. The subject's name, e-mails, phone numbers, Genesys user id and
//! external contact id are personal data: their types print `Kind(<redacted>)` for
//! both `Debug` and `Display`, so a stray `{:?}` in a log cannot leak them. The raw
//! value is reachable only through `expose()`, which a Genesys request body calls.
//!
//! Ticket ids and Genesys entity ids (conversations, recordings, requests) are not
//! personal data and print normally.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::IdentifierError;

/// Longest name accepted, in characters (a name is never used to delete).
pub const MAX_NAME_CHARS: usize = 200;
/// RFC 5321 path limit, in octets (UTF-8 bytes).
pub const MAX_EMAIL_CHARS: usize = 254;
/// Longest phone input before normalisation (spaces, dashes, brackets included).
pub const MAX_PHONE_INPUT_CHARS: usize = 40;
/// ITU-T E.164: at most 15 digits, country code included.
pub const MAX_E164_DIGITS: usize = 15;
/// The fewest digits a step payload's number may have: a country code and a few
/// digits of subscriber number (no country numbers its lines with fewer).
pub const MIN_E164_DIGITS: usize = 5;

/// Why a piece of text was refused; `code` is the stable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextProblem {
    pub code: &'static str,
    pub message: &'static str,
}

const fn problem(code: &'static str, message: &'static str) -> TextProblem {
    TextProblem { code, message }
}

/// Control characters, and the invisible bidi controls that can make a value display
/// differently from what it is (Trojan Source); line/paragraph separators too.
pub fn is_forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// Shared checks for free text: no forbidden characters, not blank, bounded length.
pub fn check_text(value: &str, max_chars: usize) -> Result<(), TextProblem> {
    if value.chars().any(is_forbidden_char) {
        return Err(problem(
            "control-character",
            "contains a control or bidirectional-override character",
        ));
    }
    if value.chars().count() > max_chars {
        return Err(problem("too-long", "is longer than allowed"));
    }
    if value.trim().is_empty() {
        return Err(problem("empty", "is empty"));
    }
    Ok(())
}

fn invalid(p: TextProblem) -> IdentifierError {
    IdentifierError::InvalidIdentifier {
        code: p.code,
        message: p.message.to_owned(),
    }
}

/// The kinds of identifier a ticket can carry, named as in the compliance record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum IdentifierKind {
    Name,
    Email,
    Phone,
    GenesysUserId,
    ExternalContactId,
}

impl IdentifierKind {
    /// Domain-separation prefix for pseudonyms: the same string as an e-mail and as a
    /// name never hashes to the same pseudonym.
    pub fn domain(self) -> &'static str {
        match self {
            IdentifierKind::Name => "name",
            IdentifierKind::Email => "email",
            IdentifierKind::Phone => "phone",
            IdentifierKind::GenesysUserId => "genesys-user",
            IdentifierKind::ExternalContactId => "external-contact",
        }
    }
}

macro_rules! personal_data_type {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
        impl $name {
            /// The raw normalised value, for the Genesys request that needs it.
            /// Never log it.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                // The message names the problem only: the value may be personal data.
                $name::from_str(&raw).map_err(|e| {
                    serde::de::Error::custom(format!(concat!(stringify!($name), ": {}"), e.code()))
                })
            }
        }
    };
}

/// The subject's name. Any script; never used to delete (too imprecise), only
/// pseudonymised for the record.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonName(String);
personal_data_type!(PersonName);

impl FromStr for PersonName {
    type Err = IdentifierError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        check_text(raw, MAX_NAME_CHARS).map_err(invalid)?;
        Ok(PersonName(
            raw.split_whitespace().collect::<Vec<_>>().join(" "),
        ))
    }
}

impl PersonName {
    /// The form that is hashed: whitespace collapsed and lower-cased, so "Jane  DOE"
    /// and "jane doe" give one pseudonym. (No Unicode normalisation form is applied:
    /// a name typed with combining marks hashes differently from its precomposed form.)
    pub fn canonical(&self) -> String {
        self.0.to_lowercase()
    }
}

/// An e-mail address: trimmed, in Unicode NFC, lower-cased, an internationalised
/// domain in its Unicode spelling (`xn--` labels decoded), syntactically checked.
///
/// One address as people write it gives one value, so one pseudonym: `jörg@bücher.de`
/// typed with a combining diaeresis, or with its domain as `xn--bcher-kva.de`, is the
/// same address. An address already in this form (every ASCII one written in lower
/// case) is left exactly as it is, so pseudonyms computed before this normalisation
/// still compare.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);
personal_data_type!(Email);

const LOCAL_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~.";

impl FromStr for Email {
    type Err = IdentifierError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        check_text(raw, MAX_EMAIL_CHARS + 64).map_err(invalid)?;
        // Before lower-casing: the Kelvin sign lower-cases to an ASCII k.
        if raw.chars().any(is_lookalike_form) {
            return Err(invalid(problem(
                "invalid-email",
                "is not a valid e-mail address",
            )));
        }
        // Lower-cased whole: mail systems (and Genesys matching) treat the local part
        // case-insensitively in practice, and one spelling means one pseudonym.
        let value: String = raw.trim().nfc().collect::<String>().to_lowercase();
        let value = decode_punycode_domain(value).map_err(invalid)?;
        check_email_syntax(&value).map_err(invalid)?;
        Ok(Email(value))
    }
}

/// The Unicode spelling of a domain written with `xn--` (punycode) labels; any other
/// address as it is. The decoded form then goes through the same checks as a typed
/// one (mixed scripts, look-alikes), so a punycode homoglyph is refused too.
fn decode_punycode_domain(value: String) -> Result<String, TextProblem> {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return Ok(value);
    };
    if !domain.split('.').any(|l| l.starts_with("xn--")) {
        return Ok(value);
    }
    let (unicode, result) = idna::domain_to_unicode(domain);
    if result.is_err() || unicode.starts_with("xn--") || unicode.contains(".xn--") {
        return Err(problem("invalid-email", "is not a valid e-mail address"));
    }
    let unicode: String = unicode.nfc().collect::<String>().to_lowercase();
    Ok(format!("{local}@{unicode}"))
}

/// Compatibility forms: characters that are drawn as (or fold to) other letters and
/// digits, mostly ASCII ones. An address written with them is a look-alike of another
/// address, never one a person typed on purpose.
fn is_lookalike_form(c: char) -> bool {
    matches!(c as u32,
        0x00AA | 0x00BA | 0x017F // ordinal indicators, long s
        | 0x02B0..=0x02FF // spacing modifier letters
        | 0x1D2C..=0x1D6A // superscript modifier letters
        | 0x2070..=0x209F // superscripts and subscripts
        | 0x2100..=0x214F // letterlike symbols (Kelvin sign, Angstrom sign)
        | 0x2160..=0x2188 // Roman numerals
        | 0x2460..=0x24FF // enclosed alphanumerics
        | 0xFB00..=0xFB4F // ligatures
        | 0xFF00..=0xFFEF // half- and full-width forms
        | 0x1D400..=0x1D7FF // mathematical alphanumerics
        | 0x1F100..=0x1F1FF // enclosed alphanumeric supplement
    )
}

/// A letter of an e-mail address: ASCII, or a letter of another script (EAI) that is
/// not a compatibility form. Digits other than ASCII ones are refused: they would let
/// a numeric top-level label or a look-alike through.
fn is_address_letter(c: char) -> bool {
    c.is_ascii_alphanumeric() || (!c.is_ascii() && c.is_alphabetic() && !is_lookalike_form(c))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Greek,
    Cyrillic,
}

fn confusable_script(c: char) -> Option<Script> {
    match c as u32 {
        0x41..=0x5A | 0x61..=0x7A => Some(Script::Latin),
        0xC0..=0x24F | 0x1E00..=0x1EFF | 0x2C60..=0x2C7F | 0xA720..=0xA7FF | 0xAB30..=0xAB6F => {
            Some(Script::Latin)
        }
        0x370..=0x3FF | 0x1F00..=0x1FFF => Some(Script::Greek),
        0x400..=0x52F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => {
            Some(Script::Cyrillic)
        }
        _ => None,
    }
}

/// Latin, Greek and Cyrillic share look-alike letters (a/а, o/ο/о, p/р): one part of
/// an address (the local part, one domain label) mixing them is a homoglyph of
/// another address. One script alone (иван@пример.рф) is a real address of its own.
fn mixes_confusable_scripts(part: &str) -> bool {
    let mut seen: Option<Script> = None;
    for s in part.chars().filter_map(confusable_script) {
        match seen {
            Some(first) if first != s => return true,
            _ => seen = Some(s),
        }
    }
    false
}

fn check_email_syntax(value: &str) -> Result<(), TextProblem> {
    let bad = problem("invalid-email", "is not a valid e-mail address");
    // Octets, as RFC 5321 (and RFC 6531 for UTF-8 addresses) counts every limit.
    if value.len() > MAX_EMAIL_CHARS {
        return Err(problem(
            "too-long",
            "is longer than an e-mail address can be",
        ));
    }
    let (local, domain) = match value.split_once('@') {
        Some(parts) => parts,
        None => return Err(bad),
    };
    if domain.contains('@') || local.is_empty() || local.len() > 64 {
        return Err(bad);
    }
    let local_ok = local
        .chars()
        .all(|c| is_address_letter(c) || LOCAL_SPECIALS.contains(c))
        && !mixes_confusable_scripts(local)
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if !local_ok {
        return Err(bad);
    }
    if domain.len() > 253 {
        return Err(bad);
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(bad);
    }
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| is_address_letter(c) || c == '-')
            && !mixes_confusable_scripts(label)
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(bad);
        }
    }
    let tld = labels.last().copied().unwrap_or_default();
    if tld.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad);
    }
    Ok(())
}

/// A phone number in E.164 (`+353861234567`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneE164(String);
personal_data_type!(PhoneE164);

/// Why a phone number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneProblem {
    /// Text checks (control characters, length, empty).
    Text(TextProblem),
    /// No country code and no default region configured.
    NeedsCountryCode,
    /// Not a valid number for its country.
    Invalid,
}

impl PhoneProblem {
    pub fn code(self) -> &'static str {
        match self {
            PhoneProblem::Text(p) => p.code,
            PhoneProblem::NeedsCountryCode => "phone-needs-country-code",
            PhoneProblem::Invalid => "invalid-phone",
        }
    }
    pub fn message(self) -> &'static str {
        match self {
            PhoneProblem::Text(p) => p.message,
            PhoneProblem::NeedsCountryCode => {
                "has no country code and no default phone region is configured"
            }
            PhoneProblem::Invalid => "is not a valid phone number",
        }
    }
}

/// An ISO 3166 alpha-2 region used for numbers written without a country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion(phonenumber::country::Id);

impl FromStr for PhoneRegion {
    type Err = crate::error::ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        phonenumber::country::Id::from_str(&s.trim().to_ascii_uppercase())
            .map(PhoneRegion)
            .map_err(|_| crate::error::ConfigError::UnknownRegion)
    }
}

impl PhoneE164 {
    /// Normalises a number as a person wrote it. Numbers starting with `+` or `00`
    /// carry their country code; others need `default_region`.
    pub fn parse(raw: &str, default_region: Option<PhoneRegion>) -> Result<Self, PhoneProblem> {
        check_text(raw, MAX_PHONE_INPUT_CHARS).map_err(PhoneProblem::Text)?;
        let trimmed = raw.trim();
        // Letters (vanity numbers, "ext") are refused: a number used to delete must be
        // exactly what was written, not a guess.
        if !trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.' | '/'))
        {
            return Err(PhoneProblem::Invalid);
        }
        if trimmed.chars().skip(1).any(|c| c == '+') {
            return Err(PhoneProblem::Invalid);
        }
        // Separators belong between digits: a number that is only separators, or
        // starts or ends with one ("+353 86 123 4567 /"), is not what a person wrote
        // as a number, and without a digit there is no country code to ask for.
        let starts_ok = trimmed.starts_with(|c: char| c == '+' || c == '(' || c.is_ascii_digit());
        let ends_ok = trimmed.ends_with(|c: char| c == ')' || c.is_ascii_digit());
        if !trimmed.chars().any(|c| c.is_ascii_digit()) || !starts_ok || !ends_ok {
            return Err(PhoneProblem::Invalid);
        }
        // Separators carry no meaning, and the phonenumber crate misreads some: it
        // refuses "+3538.6123-45-67" while taking "+353 8.6123-45-67". Only the
        // digits (and the plus) go to it.
        let compact: String = trimmed
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        let international = if let Some(rest) = compact.strip_prefix("00") {
            Some(format!("+{rest}"))
        } else if compact.starts_with('+') {
            Some(compact.clone())
        } else {
            None
        };
        let parsed = match (&international, default_region) {
            (Some(intl), _) => phonenumber::parse(None, intl),
            (None, Some(PhoneRegion(region))) => phonenumber::parse(Some(region), &compact),
            (None, None) => return Err(PhoneProblem::NeedsCountryCode),
        }
        .map_err(|_| PhoneProblem::Invalid)?;
        if !phonenumber::is_valid(&parsed) {
            return Err(PhoneProblem::Invalid);
        }
        let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
        // ITU-T E.164 caps a number at 15 digits; libphonenumber's metadata accepts
        // longer ones for a few countries (German extensions), which are not E.164.
        if e164.len() > 1 + MAX_E164_DIGITS {
            return Err(PhoneProblem::Invalid);
        }
        // The normal form must read back as itself. libphonenumber strips a trunk
        // prefix after the country code: "+7 888 770 788 877" loses an 8 and becomes
        // +78770788877, which read again loses another and is invalid. Such a number
        // is not what was written; deleting by it could erase someone else's data.
        let stable = phonenumber::parse(None, &e164).is_ok_and(|again| {
            phonenumber::is_valid(&again)
                && again.format().mode(phonenumber::Mode::E164).to_string() == e164
        });
        if !stable {
            return Err(PhoneProblem::Invalid);
        }
        Ok(PhoneE164(e164))
    }

    /// A number Genesys sent back, to compare with the subject's: taken as it is when
    /// already in canonical E.164 (how Genesys echoes what it was sent), otherwise
    /// normalised by [`PhoneE164::parse`]. Sparing the canonical spelling the parse
    /// keeps libphonenumber's metadata (about 85 ms to load) out of a step's cold
    /// start; a match is the same either way, since the subject's number is valid.
    pub fn from_any_spelling(raw: &str) -> Option<Self> {
        // Genesys stores voice addresses as RFC 3966 URIs (`tel:+353...`).
        let raw = raw.trim();
        let raw = raw
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("tel:"))
            .map_or(raw, |_| &raw[4..]);
        raw.parse().ok().or_else(|| Self::parse(raw, None).ok())
    }
}

impl FromStr for PhoneE164 {
    type Err = IdentifierError;
    /// Accepts only the canonical E.164 form, as Intake writes numbers into step
    /// payloads: `+`, a country code starting 1 to 9, 5 to 15 digits in all. Only the
    /// form is checked here: the number met libphonenumber's metadata when the ticket
    /// was taken in ([`PhoneE164::parse`]), and loading that metadata again costs a
    /// step about 85 ms of its cold start (docs/performance.md).
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let digits = raw.strip_prefix('+').unwrap_or_default();
        let canonical = (MIN_E164_DIGITS..=MAX_E164_DIGITS).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !canonical {
            return Err(IdentifierError::InvalidIdentifier {
                code: "not-e164",
                message: "is not in E.164 form".to_owned(),
            });
        }
        Ok(PhoneE164(raw.to_owned()))
    }
}

fn parse_uuid(raw: &str, code: &'static str) -> Result<String, IdentifierError> {
    let value = raw.trim().to_ascii_lowercase();
    let groups: Vec<&str> = value.split('-').collect();
    let shape = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(shape)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(value)
    } else {
        Err(IdentifierError::InvalidIdentifier {
            code,
            message: "is not a Genesys id (a UUID such as 0f8fad5b-d9cb-469f-a165-70867728950e)"
                .to_owned(),
        })
    }
}

/// A Genesys Cloud user id (a UUID), when the subject is or was an agent.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GenesysUserId(String);
personal_data_type!(GenesysUserId);

impl FromStr for GenesysUserId {
    type Err = IdentifierError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        parse_uuid(raw, "invalid-genesys-id").map(GenesysUserId)
    }
}

/// A Genesys Cloud external contact id (a UUID).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExternalContactId(String);
personal_data_type!(ExternalContactId);

impl FromStr for ExternalContactId {
    type Err = IdentifierError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        parse_uuid(raw, "invalid-genesys-id").map(ExternalContactId)
    }
}

macro_rules! plain_id_type {
    ($name:ident, $check:expr, $code:literal, $msg:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl FromStr for $name {
            type Err = IdentifierError;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                let check: fn(&str) -> bool = $check;
                if check(raw) {
                    Ok($name(raw.to_owned()))
                } else {
                    Err(IdentifierError::InvalidIdentifier {
                        code: $code,
                        message: $msg.to_owned(),
                    })
                }
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                $name::from_str(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

plain_id_type!(
    TicketId,
    |s| {
        let mut chars = s.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
            && s.len() <= 80
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    },
    "invalid-ticket-id",
    "must be 1 to 80 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit"
);

plain_id_type!(
    EntityId,
    |s| !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
    "invalid-entity-id",
    "must be 1 to 64 characters of A-Z a-z 0-9 -"
);

/// Genesys conversation ids are entity ids.
pub type ConversationId = EntityId;

#[cfg(test)]
mod tests {
    use super::*;

    fn ie() -> Option<PhoneRegion> {
        Some("IE".parse().unwrap())
    }

    #[test]
    fn phones_normalise_to_e164_from_many_spellings() {
        let cases = [
            ("+353 86 123 4567", None, "+353861234567"),
            ("00353 86 123 4567", None, "+353861234567"),
            ("+353-(86)-123.4567", None, "+353861234567"),
            ("086 123 4567", ie(), "+353861234567"),
            ("+44 20 7946 0018", ie(), "+442079460018"),
            // The phonenumber crate alone refuses these two spellings.
            ("+3538.6123-45-67", None, "+353861234567"),
            ("+353861.234567", None, "+353861234567"),
        ];
        for (raw, region, want) in cases {
            let got = PhoneE164::parse(raw, region).unwrap_or_else(|e| panic!("{raw}: {e:?}"));
            assert_eq!(got.expose(), want, "{raw}");
        }
    }

    #[test]
    fn phones_without_country_code_need_a_region() {
        assert_eq!(
            PhoneE164::parse("086 123 4567", None),
            Err(PhoneProblem::NeedsCountryCode)
        );
    }

    #[test]
    fn bad_phones_are_refused() {
        for raw in [
            "+353 86 12",
            "+353 86 CALL ME",
            "+1+2",
            "+99 123 456 789",
            "  ",
            // 16 digits: libphonenumber calls it a valid German number; E.164 does not.
            "+49 6623 0662252584",
            // Its normal form would not read back as itself (a trunk 8 stripped twice).
            "+7 888 770 788 877",
            "()-./",
            "+353 86 123 4567 /",
            "-353 86 123 4567",
        ] {
            assert!(PhoneE164::parse(raw, ie()).is_err(), "{raw}");
        }
    }

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        let e: Email = "  Jane.Doe+DSAR@Example.COM ".parse().unwrap();
        assert_eq!(e.expose(), "jane.doe+dsar@example.com");
        let idn: Email = "jörg@bücher.de".parse().unwrap();
        assert_eq!(idn.expose(), "jörg@bücher.de");
        for bad in [
            "jane",
            "jane@",
            "@example.com",
            "jane@example",
            "jane@@example.com",
            "ja ne@example.com",
            "jane..doe@example.com",
            ".jane@example.com",
            "jane@-example.com",
            "jane@example.123",
            "jane@[127.0.0.1]",
            // Look-alikes: Cyrillic а, Greek ο, full-width, Kelvin sign, Arabic-Indic
            // digits as a top-level label.
            "j\u{430}ne@example.com",
            "jane@exampl\u{3bf}.com",
            "\u{ff4a}ane@example.com",
            "\u{212a}ate@example.com",
            "jane@example.\u{661}\u{662}",
        ] {
            assert!(bad.parse::<Email>().is_err(), "{bad}");
        }
        let one_script: Email = "иван@пример.рф".parse().unwrap();
        assert_eq!(one_script.expose(), "иван@пример.рф");
    }

    #[test]
    fn an_address_is_one_value_in_nfc_and_in_either_domain_spelling() {
        let composed: Email = "jörg@bücher.de".parse().unwrap();
        // o + U+0308 COMBINING DIAERESIS, u likewise: NFC composes them.
        let decomposed: Email = "jo\u{308}rg@bu\u{308}cher.de".parse().unwrap();
        let punycode: Email = "Jörg@XN--BCHER-KVA.de".parse().unwrap();
        assert_eq!(composed, decomposed);
        assert_eq!(composed, punycode);
        assert_eq!(punycode.expose(), "jörg@bücher.de");
        let cyrillic: Email = "иван@xn--e1afmkfd.xn--p1ai".parse().unwrap();
        assert_eq!(cyrillic.expose(), "иван@пример.рф");
        // Already-normalised ASCII addresses are left exactly as they were.
        for ascii in ["jane.doe+dsar@example.com", "a_b-c@sub.example.co.uk"] {
            assert_eq!(ascii.parse::<Email>().unwrap().expose(), ascii);
        }
        // A punycode label that does not decode, or decodes to a homoglyph of
        // example.com (Latin and Cyrillic mixed), is refused.
        for bad in [
            "jane@xn--.com",
            "jane@xn--zz-zzz.com",
            "jane@xn--exmple-4nf.com",
        ] {
            assert!(bad.parse::<Email>().is_err(), "{bad}");
        }
    }

    #[test]
    fn names_accept_any_script_and_refuse_control_characters() {
        for ok in [
            "Jane Doe",
            "Zoë Ó Súilleabháin",
            "山田 太郎",
            "Ольга Иванова",
            "محمد",
        ] {
            assert!(ok.parse::<PersonName>().is_ok(), "{ok}");
        }
        let collapsed: PersonName = "  Jane   Doe ".parse().unwrap();
        assert_eq!(collapsed.expose(), "Jane Doe");
        let err = "Jane\u{0007}Doe".parse::<PersonName>().unwrap_err();
        assert_eq!(err.code(), "control-character");
        let err = "Jane\u{202E}eoD".parse::<PersonName>().unwrap_err();
        assert_eq!(err.code(), "control-character");
        let err = "x"
            .repeat(MAX_NAME_CHARS + 1)
            .parse::<PersonName>()
            .unwrap_err();
        assert_eq!(err.code(), "too-long");
    }

    #[test]
    fn personal_data_types_redact_debug_and_display() {
        let e: Email = "jane@example.com".parse().unwrap();
        let p = PhoneE164::parse("+353861234567", None).unwrap();
        let n: PersonName = "Jane Doe".parse().unwrap();
        let u: GenesysUserId = "0F8FAD5B-D9CB-469F-A165-70867728950E".parse().unwrap();
        assert_eq!(u.expose(), "0f8fad5b-d9cb-469f-a165-70867728950e");
        let x: ExternalContactId = "0f8fad5b-d9cb-469f-a165-70867728950e".parse().unwrap();
        let shown = format!("{e:?} {e} {p:?} {p} {n:?} {n} {u:?} {u} {x:?} {x}");
        assert!(shown.contains("Email(<redacted>)"));
        assert!(shown.contains("PhoneE164(<redacted>)"));
        for secret in ["jane", "353", "861234567", "Doe", "0f8fad5b"] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
    }

    #[test]
    fn personal_data_types_serialise_as_plain_strings_and_revalidate() {
        let e: Email = "jane@example.com".parse().unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"jane@example.com\"");
        let back: Email = serde_json::from_str("\"jane@example.com\"").unwrap();
        assert_eq!(back, e);
        let err = serde_json::from_str::<PhoneE164>("\"086 123 4567\"").unwrap_err();
        assert!(!err.to_string().contains("086"), "{err}");
        let err = serde_json::from_str::<PhoneE164>("\"+353 86 123 4567\"").unwrap_err();
        assert!(err.to_string().contains("not-e164"));
        // A payload's number is held to the canonical form only (Intake validated it).
        for bad in [
            "",
            "+",
            "353861234567",
            "+0353861234567",
            "+1234",
            "+3538612345678901",
            "+35386123456x",
            " +353861234567",
        ] {
            assert!(bad.parse::<PhoneE164>().is_err(), "{bad:?}");
        }
        // A number Genesys sends back: any spelling of the same number is the same.
        let subject = PhoneE164::parse("+353861234567", None).unwrap();
        for spelling in ["+353861234567", "+353 86 123 4567", "00353 86 123 4567"] {
            assert_eq!(
                PhoneE164::from_any_spelling(spelling),
                Some(subject.clone()),
                "{spelling}"
            );
        }
        assert_eq!(PhoneE164::from_any_spelling("jane@example.com"), None);
        for good in ["+353861234567", "+12025550123", "+43123456"] {
            assert_eq!(good.parse::<PhoneE164>().unwrap().expose(), good);
        }
    }

    #[test]
    fn ticket_and_entity_ids_follow_their_alphabets() {
        assert!("DSAR-2026-0042".parse::<TicketId>().is_ok());
        assert!("a".repeat(80).parse::<TicketId>().is_ok());
        for bad in ["", "-DSAR", "DSAR 1", "DSAR/1", "DSÄR", &"a".repeat(81)] {
            assert!(bad.parse::<TicketId>().is_err(), "{bad}");
        }
        assert!(
            "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
                .parse::<EntityId>()
                .is_ok()
        );
        assert!("conv_1".parse::<EntityId>().is_err());
    }
}
