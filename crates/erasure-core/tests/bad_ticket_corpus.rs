//! Runs every case of the hostile-input corpus, `tests/fixtures/bad-tickets/` (format
//! in its README.md). For each case: no panic; the outcome and the exact set of
//! (field, code) errors it expects, from the bytes (`parse_ticket`) and from the
//! parsed document (`validate`, `intake`); an accepted ticket's late flag and its
//! round trip through the input form; and no personal data of the input, in any
//! spelling, in the errors or the REJECTED record built from them.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use erasure_core::deadline::{ClockBasis, DeadlineConfig};
use erasure_core::intake::intake;
use erasure_core::pseudonym::{PseudonymKey, Pseudonymiser};
use erasure_core::record::{RecordContext, build_record};
use erasure_core::ticket::TicketError;
use erasure_core::ticket::{IntakeConfig, ValidTicket, parse_ticket, validate};
use serde::Deserialize;
use serde_json::Value;

const DEFAULT_NOW: &str = "2026-11-22T12:00:00Z";
const MIN_CASES: usize = 200;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/bad-tickets")
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Case {
    description: String,
    now: Option<String>,
    #[serde(default)]
    config: CaseConfig,
    input: Option<Value>,
    input_text: Option<String>,
    input_hex: Option<String>,
    input_repeat: Option<Repeat>,
    expect: Expect,
    expect_parsed: Option<Expect>,
    #[serde(default)]
    personal_data: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CaseConfig {
    default_region: Option<String>,
    clock_basis: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Repeat {
    prefix: String,
    repeat: String,
    times: usize,
    suffix: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Expect {
    outcome: Outcome,
    #[serde(default)]
    errors: Vec<ExpectedError>,
    late_at_intake: Option<bool>,
    effective_due_date: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Outcome {
    Accepted,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedError {
    field: String,
    code: String,
}

struct Loaded {
    name: String,
    category: String,
    case: Case,
    bytes: Vec<u8>,
}

fn load() -> Vec<Loaded> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the corpus directory exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let category = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let name = format!("{category}/{}", file.file_name().unwrap().to_string_lossy());
            assert!(name.ends_with(".json"), "{name}: cases are .json files");
            let text = std::fs::read_to_string(&file).unwrap();
            let case: Case =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not a case: {e}"));
            let bytes = input_bytes(&name, &case);
            out.push(Loaded {
                name,
                category: category.clone(),
                case,
                bytes,
            });
        }
    }
    out
}

fn input_bytes(name: &str, case: &Case) -> Vec<u8> {
    let given = [
        case.input.is_some(),
        case.input_text.is_some(),
        case.input_hex.is_some(),
        case.input_repeat.is_some(),
    ];
    assert_eq!(
        given.iter().filter(|g| **g).count(),
        1,
        "{name}: exactly one of input, inputText, inputHex, inputRepeat"
    );
    if let Some(v) = &case.input {
        return serde_json::to_vec(v).unwrap();
    }
    if let Some(t) = &case.input_text {
        return t.as_bytes().to_vec();
    }
    if let Some(h) = &case.input_hex {
        let clean: String = h.chars().filter(|c| !c.is_whitespace()).collect();
        return hex::decode(clean).unwrap_or_else(|e| panic!("{name}: inputHex: {e}"));
    }
    let r = case.input_repeat.as_ref().unwrap();
    let mut b = Vec::with_capacity(r.prefix.len() + r.repeat.len() * r.times + r.suffix.len());
    b.extend_from_slice(r.prefix.as_bytes());
    for _ in 0..r.times {
        b.extend_from_slice(r.repeat.as_bytes());
    }
    b.extend_from_slice(r.suffix.as_bytes());
    b
}

fn config_of(name: &str, c: &CaseConfig) -> IntakeConfig {
    let clock_basis = match c.clock_basis.as_deref() {
        None | Some("receipt") => ClockBasis::Receipt,
        Some("verification") => ClockBasis::Verification,
        Some(other) => panic!("{name}: clockBasis {other}"),
    };
    IntakeConfig {
        default_region: c
            .default_region
            .as_ref()
            .map(|r| r.parse().unwrap_or_else(|_| panic!("{name}: region {r}"))),
        deadline: DeadlineConfig {
            clock_basis,
            ..DeadlineConfig::default()
        },
        ..IntakeConfig::default()
    }
}

fn pseudonyms() -> Pseudonymiser {
    Pseudonymiser::new(PseudonymKey::new("corpus", vec![9; 32]).unwrap())
}

fn record_context(ticket_id: Option<&str>, now: DateTime<Utc>) -> RecordContext {
    RecordContext {
        // A ticket whose id is unreadable still gets a record; the pipeline names it
        // after the execution.
        ticket_id: ticket_id.unwrap_or("UNREADABLE-ID").parse().unwrap(),
        ticket_source: "corpus".into(),
        resumes: None,
        execution_id: "arn:aws:states:eu-west-1:000000000000:execution:gdpr-erasure:corpus".into(),
        sequence: 1,
        previous_digest: None,
        written_at: now,
        pipeline_version: "0.1.0".into(),
        definition_digest: None,
        retention_years: 7,
        key_id: "corpus".into(),
    }
}

fn error_set(e: &TicketError) -> BTreeSet<ExpectedError> {
    e.errors()
        .iter()
        .map(|f| ExpectedError {
            field: f.field.clone(),
            code: f.code.clone(),
        })
        .collect()
}

/// Compares one result with its expectation; returns the problems found.
fn compare(
    what: &str,
    got: &Result<ValidTicket, TicketError>,
    want: &Expect,
    problems: &mut Vec<String>,
) {
    match (got, want.outcome) {
        (Ok(_), Outcome::Accepted) => {}
        (Err(e), Outcome::Rejected) => {
            let got = error_set(e);
            let want: BTreeSet<ExpectedError> = want.errors.iter().cloned().collect();
            if got != want {
                let missing: Vec<_> = want.difference(&got).collect();
                let unexpected: Vec<_> = got.difference(&want).collect();
                problems.push(format!(
                    "{what}: missing {missing:?}, unexpected {unexpected:?}"
                ));
            }
        }
        (Ok(_), Outcome::Rejected) => problems.push(format!("{what}: accepted, expected errors")),
        (Err(e), Outcome::Accepted) => {
            problems.push(format!("{what}: refused with {:?}", error_set(e)))
        }
    }
}

/// The personal data of an input document: the subject's identifiers, the signer's
/// e-mail, and every key that is not a field name (a key can be anything).
fn personal_strings(v: &Value, path: &str, out: &mut Vec<String>) {
    const PERSONAL: &[&str] = &[
        "subject.name",
        "subject.emails",
        "subject.phones.number",
        "subject.genesysUserId",
        "subject.externalContactId",
        "ticket.signOff.by",
    ];
    match v {
        Value::String(s) if PERSONAL.iter().any(|p| path.starts_with(p)) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| personal_strings(i, path, out)),
        Value::Object(map) => {
            for (k, v) in map {
                // A key that is (part of) a field name in another spelling
                // (ReceivedAt, received_at, email) is a typo, not personal data, and
                // messages listing the expected fields contain it.
                let folded = k.to_lowercase().replace('_', "");
                if !erasure_core::ticket::FIELD_NAMES
                    .iter()
                    .any(|f| f.to_lowercase().contains(&folded))
                {
                    out.push(k.clone());
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                personal_strings(v, &p, out);
            }
        }
        _ => {}
    }
}

/// The spellings to look for: as given, trimmed and lower-cased, and for anything
/// with a run of digits (a phone number, however written) the digits alone.
fn spellings(values: &[String]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for v in values {
        let t = v.trim().to_lowercase();
        // Short strings ("DPO", "1") are words of the messages themselves.
        if t.chars().count() >= 5 {
            out.insert(t);
        }
        let digits: String = v.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 6 {
            out.insert(digits.clone());
            // Without a country code of 1 to 3 digits, bare or with a trunk 0: the
            // national spellings of a phone number.
            for cc in 1..=3 {
                if digits.len() >= cc + 8 {
                    out.insert(digits[cc..].to_owned());
                    out.insert(format!("0{}", &digits[cc..]));
                }
            }
        }
    }
    out.into_iter().collect()
}

fn string_values(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| string_values(i, out)),
        Value::Object(map) => map.values().for_each(|i| string_values(i, out)),
        _ => {}
    }
}

fn leaks(haystack: &str, needles: &[String]) -> Vec<String> {
    let hay = haystack.to_lowercase();
    needles
        .iter()
        .filter(|n| hay.contains(n.as_str()))
        .map(|n| n.chars().take(40).collect())
        .collect()
}

fn run_case(l: &Loaded) -> Vec<String> {
    let mut problems = Vec::new();
    let c = &l.case;
    let config = config_of(&l.name, &c.config);
    let now: DateTime<Utc> = c.now.as_deref().unwrap_or(DEFAULT_NOW).parse().unwrap();
    let p = pseudonyms();

    if c.expect.outcome == Outcome::Rejected && c.expect.errors.is_empty() {
        problems.push("a rejected case lists its expected errors".into());
    }
    if c.expect.outcome == Outcome::Accepted && c.expect.late_at_intake.is_none() {
        problems.push("an accepted case says whether it is late (lateAtIntake)".into());
    }

    let from_bytes = parse_ticket(&l.bytes, &config, now);
    compare("parse_ticket", &from_bytes, &c.expect, &mut problems);

    // The same document already parsed, as the Intake Lambda receives it.
    let parsed: Option<Value> = serde_json::from_slice(&l.bytes).ok();
    let parsed_expect = c.expect_parsed.as_ref().unwrap_or(&c.expect);
    if c.expect_parsed.is_some() && parsed.is_none() {
        problems.push("expectParsed given for input that is not JSON".into());
    }
    let mut needles = c.personal_data.clone();
    if let Some(doc) = &parsed {
        personal_strings(doc, "", &mut needles);
    }
    let needles = spellings(&needles);

    let mut outputs: Vec<(String, String)> = Vec::new();
    if let Err(e) = &from_bytes {
        outputs.push(("parse_ticket error".into(), format!("{e} {e:?}")));
        outputs.push((
            "parse_ticket error list".into(),
            serde_json::to_string(e.errors()).unwrap(),
        ));
    }

    if let Some(doc) = &parsed {
        let validated = validate(doc, &config, now);
        compare("validate", &validated, parsed_expect, &mut problems);
        if let Err(e) = &validated {
            outputs.push(("validate error".into(), format!("{e} {e:?}")));
        }
        match intake(doc, &config, &p, now) {
            Ok(accepted) => {
                if Some(accepted.deadline.late_at_intake) != parsed_expect.late_at_intake {
                    problems.push(format!(
                        "intake: lateAtIntake {} (expected {:?})",
                        accepted.deadline.late_at_intake, parsed_expect.late_at_intake
                    ));
                }
                if let Some(due) = &parsed_expect.effective_due_date
                    && accepted.deadline.effective_due_date.to_string() != *due
                {
                    problems.push(format!(
                        "intake: effective due date {} (expected {due})",
                        accepted.deadline.effective_due_date
                    ));
                }
                let again = validate(&accepted.ticket.to_input(), &config, now);
                if again.as_ref() != Ok(&accepted.ticket) {
                    problems.push("the input form of the accepted ticket is not itself".into());
                }
            }
            Err(refused) => {
                let ctx = record_context(refused.ticket_id.as_ref().map(|t| t.as_str()), now);
                match build_record(&ctx, &refused.record_facts, &config.deadline) {
                    Ok(record) => {
                        // Its values only: the record's own keys are schema words.
                        let mut values = Vec::new();
                        string_values(&serde_json::to_value(&record).unwrap(), &mut values);
                        outputs.extend(values.into_iter().map(|v| ("REJECTED record".into(), v)));
                    }
                    Err(e) => problems.push(format!("no REJECTED record: {e}")),
                }
            }
        }
    }

    for (what, text) in &outputs {
        let found = leaks(text, &needles);
        if !found.is_empty() {
            problems.push(format!("{what} contains personal data: {found:?}"));
        }
    }
    problems
}

#[test]
fn every_case_of_the_hostile_input_corpus_gets_its_expected_answer() {
    let cases = load();
    assert!(
        cases.len() >= MIN_CASES,
        "the corpus has {} cases, at least {MIN_CASES} expected",
        cases.len()
    );
    let mut failures = Vec::new();
    for l in &cases {
        match catch_unwind(AssertUnwindSafe(|| run_case(l))) {
            Ok(problems) => {
                for p in problems {
                    failures.push(format!("{} ({}): {p}", l.name, l.case.description));
                }
            }
            Err(_) => failures.push(format!("{}: PANICKED", l.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn the_corpus_covers_every_documented_code_and_only_documented_codes() {
    let doc = include_str!("../../../docs/ticket-format.md");
    let all_codes = doc
        .split("All codes:")
        .nth(1)
        .expect("docs/ticket-format.md lists all codes");
    let documented: BTreeSet<&str> = all_codes.split('`').skip(1).step_by(2).collect();
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    for l in load() {
        for e in l
            .case
            .expect
            .errors
            .iter()
            .chain(l.case.expect_parsed.iter().flat_map(|x| x.errors.iter()))
        {
            assert!(
                documented.contains(e.code.as_str()),
                "{}: code {} is not in docs/ticket-format.md",
                l.name,
                e.code
            );
            *used.entry(e.code.clone()).or_default() += 1;
        }
    }
    let unused: Vec<&&str> = documented
        .iter()
        .filter(|c| !used.contains_key(**c))
        .collect();
    assert!(unused.is_empty(), "no corpus case expects {unused:?}");
}

#[test]
fn the_corpus_readme_describes_every_category() {
    let readme = std::fs::read_to_string(corpus_dir().join("README.md")).unwrap();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for l in load() {
        *counts.entry(l.category).or_default() += 1;
    }
    for category in counts.keys() {
        assert!(
            readme.contains(&format!("`{category}/`")),
            "README.md does not describe `{category}/`"
        );
    }
}
