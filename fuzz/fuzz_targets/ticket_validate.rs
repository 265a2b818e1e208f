//! Arbitrary bytes as an erasure ticket. Checks, for every input:
//! - `parse_ticket` never panics, and neither does anything intake does next (the
//!   deadline clock, pseudonyms, the REJECTED record: bad input must end in a record);
//! - a refusal lists 1 to 51 errors, each with a documented code, a path made only
//!   of field names of the format, `<unknown>` and indexes (paths go into the WORM
//!   record, so an input key must never show up in one), and a message that quotes
//!   no identifier (the corpus test searches for the input's own values);
//! - `validate` on the parsed document agrees with `parse_ticket` on the bytes;
//! - an accepted ticket, written back in input form (`to_input`), validates to itself.
#![no_main]

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use erasure_core::intake::intake;
use erasure_core::pseudonym::{PseudonymKey, Pseudonymiser};
use erasure_core::record::{RecordContext, build_record};
use erasure_core::ticket::{IntakeConfig, parse_ticket, validate};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Every code of docs/ticket-format.md, read from its "All codes:" list (the same
/// list the corpus test holds the corpus to), so a new code needs no second copy here.
static CODES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let page = include_str!("../../docs/ticket-format.md");
    let list = page
        .split("All codes:")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("docs/ticket-format.md lists all codes");
    let codes: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
    assert!(codes.len() > 20, "the code list reads as {codes:?}");
    codes
});

static NOW: LazyLock<DateTime<Utc>> =
    LazyLock::new(|| "2026-11-22T12:00:00Z".parse().expect("fixed instant"));

static CONFIGS: LazyLock<Vec<IntakeConfig>> = LazyLock::new(|| {
    vec![
        IntakeConfig::default(),
        IntakeConfig {
            default_region: Some("IE".parse().expect("IE is a region")),
            ..IntakeConfig::default()
        },
    ]
});

static PSEUDONYMS: LazyLock<Pseudonymiser> = LazyLock::new(|| {
    Pseudonymiser::new(PseudonymKey::new("fuzz", vec![7; 32]).expect("32-byte key"))
});

fn path_is_made_of_field_names(path: &str) -> bool {
    path == "$"
        || path.split('.').all(|segment| {
            let name = segment.split('[').next().unwrap_or(segment);
            let indexes_ok = segment[name.len()..].split_terminator(']').all(|i| {
                i.strip_prefix('[')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            });
            (name == "<unknown>" || erasure_core::ticket::FIELD_NAMES.contains(&name)) && indexes_ok
        })
}

/// A message is fixed English text with a few numbers: ASCII, no `@`, no run of six
/// digits or more (but in the example UUID it gives). An e-mail address, a phone
/// number or a name in another script quoted from the input breaks that. (Quoting is
/// checked this way rather than by searching messages for input strings: libFuzzer
/// learns the strings such a search compares and feeds message text back as input.)
fn message_quotes_nothing(message: &str) -> bool {
    let without_example = message.replace("0f8fad5b-d9cb-469f-a165-70867728950e", "");
    let longest_digit_run = without_example
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    message
        .chars()
        .all(|c| c.is_ascii() && !c.is_ascii_control())
        && !message.contains('@')
        && longest_digit_run < 6
}

fn check(data: &[u8], config: &IntakeConfig) {
    let now = *NOW;
    let parsed: Option<Value> = serde_json::from_slice(data).ok();
    match parse_ticket(data, config, now) {
        Err(e) => {
            let errors = e.errors();
            assert!(
                !errors.is_empty() && errors.len() <= 51,
                "{} errors",
                errors.len()
            );
            for f in errors {
                assert!(
                    CODES.contains(&f.code.as_str()),
                    "undocumented code {}",
                    f.code
                );
                assert!(path_is_made_of_field_names(&f.field), "path {:?}", f.field);
                assert!(
                    message_quotes_nothing(&f.message),
                    "message {:?}",
                    f.message
                );
            }
            let early = errors.iter().any(|f| {
                matches!(
                    f.code.as_str(),
                    "invalid-json" | "too-large" | "duplicate-key"
                )
            });
            if let (Some(v), false) = (&parsed, early) {
                let again = validate(v, config, now)
                    .expect_err("validate accepted what parse_ticket refused");
                assert_eq!(again.errors(), errors, "validate and parse_ticket disagree");
            }
            if let Some(v) = &parsed {
                if let Err(refused) = intake(v, config, &PSEUDONYMS, now) {
                    let ctx = context(refused.ticket_id.as_ref().map(|t| t.as_str()), now);
                    build_record(&ctx, &refused.record_facts, &config.deadline)
                        .expect("a refused ticket always gets its REJECTED record");
                }
            }
        }
        Ok(ticket) => {
            let v = parsed.expect("parse_ticket accepted something serde_json cannot parse");
            assert_eq!(validate(&v, config, now).as_ref(), Ok(&ticket));
            let accepted =
                intake(&v, config, &PSEUDONYMS, now).expect("intake refused a valid ticket");
            assert_eq!(accepted.ticket, ticket);
            let bytes = serde_json::to_vec(&ticket.to_input()).expect("serialisable");
            let again = parse_ticket(&bytes, config, now)
                .expect("the input form of a valid ticket is valid");
            assert_eq!(again, ticket, "not the same ticket after a round trip");
        }
    }
}

fn context(ticket_id: Option<&str>, now: DateTime<Utc>) -> RecordContext {
    RecordContext {
        ticket_id: ticket_id
            .unwrap_or("UNREADABLE")
            .parse()
            .expect("a ticket id"),
        ticket_source: "fuzz".into(),
        resumes: None,
        execution_id: "arn:aws:states:eu-west-1:123456789012:execution:gdpr-erasure:fuzz".into(),
        sequence: 1,
        previous_digest: None,
        written_at: now,
        pipeline_version: "0.1.0".into(),
        definition_digest: None,
        retention_years: 7,
        key_id: "fuzz".into(),
    }
}

fuzz_target!(|data: &[u8]| {
    for config in CONFIGS.iter() {
        check(data, config);
    }
});
