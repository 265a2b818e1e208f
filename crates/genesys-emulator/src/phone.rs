//! Identifier normalisation used by GDPR matching.
//!
//! Real data stores phone numbers in many spellings (`tel:+353861234567`,
//! `+353 86 123 4567`, `00353861234567`, `(+44) 7700-900123`); the GDPR search
//! compares them as E.164. E-mail addresses compare case-insensitively.

/// Normalises a phone number: drops a `tel:`/`sip:` scheme and any `@host` or
/// `;parameters`, drops spaces, dashes, dots, slashes and brackets, and turns a
/// leading `00` into `+`. Returns `+<digits>` for an international number, the bare
/// digits for a number without an international prefix (such a number never equals an
/// E.164 one), or `None` when the value is not a phone number at all.
pub fn normalise_phone(raw: &str) -> Option<String> {
    let lower = raw.trim().to_ascii_lowercase();
    let without_scheme = ["tel:", "sips:", "sip:"]
        .iter()
        .find_map(|s| lower.strip_prefix(s))
        .unwrap_or(&lower);
    let number = without_scheme
        .split(['@', ';'])
        .next()
        .unwrap_or(without_scheme);
    let compact: String = number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '/' | '\t'))
        .collect();
    let (international, digits) = if let Some(rest) = compact.strip_prefix('+') {
        (true, rest)
    } else if let Some(rest) = compact.strip_prefix("00") {
        (true, rest)
    } else {
        (false, compact.as_str())
    };
    if digits.len() < 3 || digits.len() > 15 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(if international {
        format!("+{digits}")
    } else {
        digits.to_string()
    })
}

/// Normalises an e-mail address for comparison (trimmed, lower case). `None` when the
/// value has no `@`.
pub fn normalise_email(raw: &str) -> Option<String> {
    let t = raw.trim();
    let at = t.find('@')?;
    if at == 0 || at + 1 == t.len() {
        return None;
    }
    Some(t.to_lowercase())
}

/// Names compare exactly, ignoring case and surrounding space (the real search is
/// described as fuzzy and unreliable; the emulator is predictable instead).
pub fn normalise_name(raw: &str) -> String {
    raw.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_one_number_normalises_alike() {
        for s in [
            "tel:+353861234567",
            "+353 86 123 4567",
            "00353861234567",
            "+353-86-123-4567",
            "(+353) 86 123 4567",
            "sip:+353861234567@sbc.example.net",
            "TEL:+353.86.123.4567",
        ] {
            assert_eq!(normalise_phone(s).as_deref(), Some("+353861234567"), "{s}");
        }
    }

    #[test]
    fn national_numbers_and_words_do_not_become_e164() {
        assert_eq!(
            normalise_phone("086 123 4567").as_deref(),
            Some("0861234567")
        );
        assert_eq!(normalise_phone("jane@example.com"), None);
        assert_eq!(normalise_phone("+"), None);
    }

    #[test]
    fn emails_compare_case_insensitively() {
        assert_eq!(
            normalise_email(" Grace.OConnor@Example.COM "),
            normalise_email("grace.oconnor@example.com")
        );
        assert_eq!(normalise_email("not-an-email"), None);
    }
}
