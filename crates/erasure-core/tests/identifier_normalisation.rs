//! Identifier normalisation: phone numbers to E.164 from many spellings, e-mails
//! trimmed and lower-cased, and idempotence (a normalised value normalises to
//! itself). Tables for the spellings people write, and generated spellings and
//! strings (a seeded generator, so a failure names its input and repeats).

use erasure_core::identifiers::{Email, GenesysUserId, PersonName, PhoneE164, PhoneRegion};

fn region(r: &str) -> Option<PhoneRegion> {
    Some(r.parse().unwrap())
}

/// splitmix64: small, seeded, good enough to vary spellings.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// (E.164, country code digits, region, national spellings in that region).
const NUMBERS: &[(&str, &str, &str, &[&str])] = &[
    (
        "+353861234567",
        "353",
        "IE",
        &[
            "086 123 4567",
            "(086) 123-4567",
            "0861234567",
            "86 123 4567",
        ],
    ),
    (
        "+442079460018",
        "44",
        "GB",
        &["020 7946 0018", "(020) 7946-0018", "02079460018"],
    ),
    (
        "+12025550143",
        "1",
        "US",
        &[
            "(202) 555-0143",
            "202.555.0143",
            "1-202-555-0143",
            "202/555/0143",
        ],
    ),
    (
        "+390612345678",
        "39",
        "IT",
        // Italy keeps the leading 0 of fixed lines in E.164.
        &["06 1234 5678", "06-12345678"],
    ),
];

#[test]
fn phone_spellings_people_write_normalise_to_one_e164() {
    let table: &[(&str, Option<&str>, &str)] = &[
        ("+353 86 123 4567", None, "+353861234567"),
        ("+353-86-123-4567", None, "+353861234567"),
        ("+353 (86) 123 4567", None, "+353861234567"),
        ("+353.86.123.4567", None, "+353861234567"),
        ("+353/86/1234567", None, "+353861234567"),
        ("00353861234567", None, "+353861234567"),
        ("00 353 86 123 4567", None, "+353861234567"),
        ("  +353 86 123 4567  ", None, "+353861234567"),
        // A trunk 0 after the country code is dropped.
        ("+353 086 123 4567", None, "+353861234567"),
        ("+44 (0)20 7946 0018", None, "+442079460018"),
        ("+1 (202) 555-0143", None, "+12025550143"),
        // With a default region, a number carrying its own country code keeps it.
        ("+44 20 7946 0018", Some("IE"), "+442079460018"),
        ("0044 20 7946 0018", Some("US"), "+442079460018"),
    ];
    for (raw, r, want) in table {
        let got = PhoneE164::parse(raw, r.and_then(region))
            .unwrap_or_else(|e| panic!("{raw:?} ({r:?}): {e:?}"));
        assert_eq!(got.expose(), *want, "{raw:?}");
    }
    for (e164, _, r, nationals) in NUMBERS {
        for raw in *nationals {
            let got = PhoneE164::parse(raw, region(r)).unwrap_or_else(|e| panic!("{raw:?}: {e:?}"));
            assert_eq!(got.expose(), *e164, "{raw:?} in {r}");
            // The same spelling without a region has no country code to go by.
            assert_eq!(
                PhoneE164::parse(raw, None).map(|p| p.expose().to_owned()),
                Err(erasure_core::identifiers::PhoneProblem::NeedsCountryCode),
                "{raw:?}"
            );
        }
    }
}

/// Writes a number as people do: `+cc` or `00cc`, then the national digits in groups
/// of 1 to 4 with random separators (space, dash, dot, slash, none), the first group
/// sometimes bracketed, spaces around.
fn spell(rng: &mut Rng, cc: &str, national: &str) -> String {
    const SEPARATORS: [&str; 7] = [" ", "-", ".", "/", "", " - ", "  "];
    let mut out = " ".repeat(rng.below(3));
    out.push_str(if rng.below(2) == 0 { "+" } else { "00" });
    out.push_str(cc);
    let mut rest = national;
    let mut first = true;
    while !rest.is_empty() {
        let take = (1 + rng.below(4)).min(rest.len());
        let (group, tail) = rest.split_at(take);
        out.push_str(SEPARATORS[rng.below(SEPARATORS.len())]);
        if first && rng.below(3) == 0 {
            out.push_str(&format!("({group})"));
        } else {
            out.push_str(group);
        }
        first = false;
        rest = tail;
    }
    out.push_str(&" ".repeat(rng.below(3)));
    out
}

#[test]
fn generated_spellings_of_a_number_all_normalise_to_its_e164() {
    let mut rng = Rng(0x5EED_0042);
    for (e164, cc, r, _) in NUMBERS {
        let national = &e164[1 + cc.len()..];
        for _ in 0..300 {
            let raw = spell(&mut rng, cc, national);
            for default in [None, region(r), region("DE")] {
                let got = PhoneE164::parse(&raw, default)
                    .unwrap_or_else(|e| panic!("{raw:?} ({default:?}): {e:?}"));
                assert_eq!(got.expose(), *e164, "{raw:?}");
            }
        }
    }
}

#[test]
fn a_normalised_phone_normalises_to_itself_and_is_strict_e164() {
    let mut rng = Rng(7);
    // Spellings of real numbers with up to three random edits: many stay valid
    // numbers (of the same or another country), many do not.
    let alphabet: Vec<char> = "0123456789 +-()./x#*٣０\u{200b}".chars().collect();
    let mut accepted = 0;
    for _ in 0..1_500 {
        let (e164, cc, _, _) = rng.pick(NUMBERS);
        let mut raw: Vec<char> = spell(&mut rng, cc, &e164[1 + cc.len()..]).chars().collect();
        for _ in 0..rng.below(4) {
            let at = rng.below(raw.len() + 1);
            match rng.below(3) {
                0 => raw.insert(at, *rng.pick(&alphabet)),
                1 if at < raw.len() => {
                    raw.remove(at);
                }
                _ if at < raw.len() => raw[at] = *rng.pick(&alphabet),
                _ => {}
            }
        }
        let raw: String = raw.into_iter().collect();
        for r in [None, region("IE"), region("US"), region("DE")] {
            let Ok(p) = PhoneE164::parse(&raw, r) else {
                continue;
            };
            accepted += 1;
            let e164 = p.expose();
            assert!(
                e164.starts_with('+')
                    && e164[1..].bytes().all(|b| b.is_ascii_digit())
                    && !e164[1..].starts_with('0')
                    && e164.len() <= 16,
                "{raw:?} gave {e164:?}, not E.164"
            );
            assert_eq!(PhoneE164::parse(e164, r).as_ref(), Ok(&p), "{raw:?}");
            assert_eq!(PhoneE164::parse(e164, None).as_ref(), Ok(&p), "{raw:?}");
            assert_eq!(e164.parse::<PhoneE164>().as_ref(), Ok(&p), "{raw:?}");
        }
    }
    // The property means nothing if almost nothing was accepted.
    assert!(accepted > 1_000, "only {accepted} accepted");
}

#[test]
fn step_payloads_take_e164_only() {
    assert!("+353861234567".parse::<PhoneE164>().is_ok());
    for raw in ["+353 86 123 4567", "00353861234567", "086 123 4567"] {
        assert!(raw.parse::<PhoneE164>().is_err(), "{raw:?}");
    }
}

#[test]
fn email_spellings_are_trimmed_and_lower_cased() {
    let table = [
        ("jane@example.com", "jane@example.com"),
        ("Jane@Example.com", "jane@example.com"),
        ("JANE@EXAMPLE.COM", "jane@example.com"),
        ("  jane@example.com\u{3000}", "jane@example.com"),
        ("Jane.Doe+DSAR@Example.IE", "jane.doe+dsar@example.ie"),
        ("JÖRG@BÜCHER.DE", "jörg@bücher.de"),
        ("ИВАН@ПРИМЕР.РФ", "иван@пример.рф"),
    ];
    for (raw, want) in table {
        let e: Email = raw.parse().unwrap_or_else(|e| panic!("{raw:?}: {e:?}"));
        assert_eq!(e.expose(), want, "{raw:?}");
    }
    // Every mix of cases and surrounding spaces of one address is that address.
    let mut rng = Rng(11);
    for base in [
        "jane.doe@example.com",
        "o'brien+x@mail.example.ie",
        "jörg@bücher.de",
    ] {
        for _ in 0..200 {
            let mut raw: String = base
                .chars()
                .map(|c| {
                    if rng.below(2) == 0 {
                        c.to_uppercase().collect::<String>()
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            raw = format!(
                "{}{raw}{}",
                " ".repeat(rng.below(3)),
                "\u{a0}".repeat(rng.below(2))
            );
            let e: Email = raw.parse().unwrap_or_else(|e| panic!("{raw:?}: {e:?}"));
            assert_eq!(e.expose(), base, "{raw:?}");
        }
    }
}

#[test]
fn normalised_emails_names_and_ids_normalise_to_themselves() {
    let mut rng = Rng(23);
    // Addresses shaped local@label.label from an alphabet of ASCII, other scripts,
    // look-alikes, invisible characters and separators.
    let alphabet: Vec<char> = "abcdefghijZ9.-_+'Ö ж\u{430}\u{212a}ｊ ᛗ١\u{200d}\u{a0}İΣς@"
        .chars()
        .collect();
    let part = |rng: &mut Rng| -> String {
        let len = 1 + rng.below(6);
        (0..len).map(|_| *rng.pick(&alphabet)).collect()
    };
    let mut accepted = 0;
    for _ in 0..20_000 {
        let raw = format!("{}@{}.{}", part(&mut rng), part(&mut rng), part(&mut rng));
        if let Ok(e) = raw.parse::<Email>() {
            accepted += 1;
            let v = e.expose();
            assert_eq!(v, v.trim(), "{raw:?}");
            assert_eq!(v, v.to_lowercase(), "{raw:?}");
            assert_eq!(v.parse::<Email>().as_ref(), Ok(&e), "{raw:?}");
        }
        if let Ok(n) = raw.parse::<PersonName>() {
            assert_eq!(n.expose().parse::<PersonName>().as_ref(), Ok(&n), "{raw:?}");
        }
    }
    assert!(accepted > 50, "only {accepted} e-mails accepted");
    let id: GenesysUserId = " 0F8FAD5B-D9CB-469F-A165-70867728950E ".parse().unwrap();
    assert_eq!(id.expose(), "0f8fad5b-d9cb-469f-a165-70867728950e");
    assert_eq!(id.expose().parse::<GenesysUserId>().as_ref(), Ok(&id));
}
