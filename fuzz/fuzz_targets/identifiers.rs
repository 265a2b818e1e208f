//! Arbitrary strings as identifiers. The first byte picks the default phone region
//! (0: none, 1: IE, then a few others); the rest is the text. Checks: phone, e-mail,
//! name and Genesys id parsing never panic; each is idempotent (the normalised value
//! parses to itself); an accepted phone is E.164 (`+`, no leading zero, at most 15
//! digits) and passes the strict E.164 parser of step payloads; an accepted e-mail is
//! trimmed and lower-cased.
#![no_main]

use erasure_core::identifiers::{Email, GenesysUserId, PersonName, PhoneE164, PhoneRegion};
use libfuzzer_sys::fuzz_target;

const REGIONS: &[&str] = &[
    "IE", "US", "GB", "DE", "FR", "IT", "IN", "BR", "JP", "AU", "NL",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let region: Option<PhoneRegion> = match usize::from(selector) % (REGIONS.len() + 1) {
        0 => None,
        i => Some(REGIONS[i - 1].parse().expect("a known region")),
    };

    if let Ok(phone) = PhoneE164::parse(text, region) {
        let e164 = phone.expose();
        let digits = &e164[1..];
        assert!(e164.starts_with('+'), "no +");
        assert!(
            digits.bytes().all(|b| b.is_ascii_digit()),
            "not only digits"
        );
        assert!(!digits.starts_with('0'), "country code starts with 0");
        // E.164 sets only a maximum: Austria has valid six-digit numbers (+43 1112).
        assert!(digits.len() <= 15, "{} digits", digits.len());
        assert_eq!(
            PhoneE164::parse(e164, region).as_ref(),
            Ok(&phone),
            "not idempotent"
        );
        assert_eq!(
            PhoneE164::parse(e164, None).as_ref(),
            Ok(&phone),
            "needs a region"
        );
        assert_eq!(
            e164.parse::<PhoneE164>().as_ref(),
            Ok(&phone),
            "strict parser refuses"
        );
    }

    if let Ok(email) = text.parse::<Email>() {
        let e = email.expose();
        assert_eq!(e, e.trim(), "not trimmed");
        assert_eq!(e, e.to_lowercase(), "not lower-cased");
        assert_eq!(e.parse::<Email>().as_ref(), Ok(&email), "not idempotent");
    }

    if let Ok(name) = text.parse::<PersonName>() {
        assert_eq!(
            name.expose().parse::<PersonName>().as_ref(),
            Ok(&name),
            "not idempotent"
        );
    }

    if let Ok(id) = text.parse::<GenesysUserId>() {
        assert_eq!(
            id.expose().parse::<GenesysUserId>().as_ref(),
            Ok(&id),
            "not idempotent"
        );
    }
});
