//! Ticket validation: every field, every code, all errors at once, no values leaked.

use chrono::{DateTime, Utc};
use erasure_core::deadline::{ClockBasis, DeadlineConfig};
use erasure_core::ticket::{ExportReview, IntakeConfig, parse_ticket, validate};
use serde_json::{Value, json};

fn now() -> DateTime<Utc> {
    "2026-11-22T12:00:00Z".parse().unwrap()
}

fn base() -> Value {
    json!({
        "ticket": {
            "id": "DSAR-2026-0042", "source": "onetrust",
            "receivedAt": "2026-11-20T10:15:00Z", "identityVerifiedAt": "2026-11-22T09:00:00Z",
            "verificationMethod": "account-login",
            "signOff": { "by": "dpo@example.com", "role": "DPO", "at": "2026-11-22T11:00:00Z" },
            "extension": null
        },
        "subject": {
            "name": "Jane Doe", "emails": ["jane@example.com"],
            "phones": [ { "number": "+353 86 123 4567", "from": "2019-03-01", "until": "2024-06-30" } ],
            "genesysUserId": null, "externalContactId": null
        },
        "options": { "eraseRecordings": true, "exportReview": "when-needed" }
    })
}

/// Sets (or with `None` removes) the value at a dotted path with `[i]` indexes.
fn with(mut doc: Value, path: &str, value: Option<Value>) -> Value {
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = &mut doc;
    for (n, part) in parts.iter().enumerate() {
        let (key, index) = match part.split_once('[') {
            Some((k, rest)) => (
                k,
                Some(rest.trim_end_matches(']').parse::<usize>().unwrap()),
            ),
            None => (*part, None),
        };
        let last = n == parts.len() - 1;
        if last && index.is_none() {
            let obj = cur.as_object_mut().unwrap();
            match value {
                Some(v) => {
                    obj.insert(key.to_owned(), v);
                }
                None => {
                    obj.remove(key);
                }
            }
            return doc;
        }
        cur = &mut cur[key];
        if let Some(i) = index {
            if last {
                cur[i] = value.unwrap();
                return doc;
            }
            cur = &mut cur[i];
        }
    }
    doc
}

fn errors_of(doc: &Value, config: &IntakeConfig) -> Vec<(String, String)> {
    match validate(doc, config, now()) {
        Ok(_) => vec![],
        Err(e) => e
            .errors()
            .iter()
            .map(|f| (f.field.clone(), f.code.clone()))
            .collect(),
    }
}

#[test]
fn the_design_example_ticket_is_valid_and_normalised() {
    let t = validate(&base(), &IntakeConfig::default(), now()).unwrap();
    assert_eq!(t.ticket.id.as_str(), "DSAR-2026-0042");
    assert_eq!(t.subject.phones[0].number.expose(), "+353861234567");
    assert_eq!(t.subject.emails[0].expose(), "jane@example.com");
    assert_eq!(t.ticket.sign_off.role, "DPO");
    assert_eq!(t.options.export_review, ExportReview::WhenNeeded);
    assert!(t.options.erase_recordings);
}

#[test]
fn each_bad_field_gets_its_path_and_code() {
    let long = "x".repeat(300);
    let cases: Vec<(&str, Option<Value>, &str, &str)> = vec![
        // ticket
        ("ticket.id", None, "ticket.id", "missing"),
        (
            "ticket.id",
            Some(json!("DSAR 42")),
            "ticket.id",
            "invalid-ticket-id",
        ),
        (
            "ticket.id",
            Some(json!("-DSAR")),
            "ticket.id",
            "invalid-ticket-id",
        ),
        ("ticket.id", Some(json!(42)), "ticket.id", "wrong-type"),
        (
            "ticket.id",
            Some(json!("a".repeat(81))),
            "ticket.id",
            "too-long",
        ),
        (
            "ticket.source",
            Some(json!("one trust")),
            "ticket.source",
            "invalid-source",
        ),
        ("ticket.source", None, "ticket.source", "missing"),
        (
            "ticket.receivedAt",
            Some(json!("2026-11-20")),
            "ticket.receivedAt",
            "invalid-timestamp",
        ),
        (
            "ticket.receivedAt",
            Some(json!("2026-11-20T10:15:00")),
            "ticket.receivedAt",
            "invalid-timestamp",
        ),
        (
            "ticket.receivedAt",
            Some(json!("2017-11-20T10:15:00Z")),
            "ticket.receivedAt",
            "before-gdpr",
        ),
        (
            "ticket.receivedAt",
            Some(json!("2026-11-22T12:06:00Z")),
            "ticket.receivedAt",
            "in-future",
        ),
        (
            "ticket.receivedAt",
            Some(json!("")),
            "ticket.receivedAt",
            "empty",
        ),
        (
            "ticket.identityVerifiedAt",
            None,
            "ticket.identityVerifiedAt",
            "missing",
        ),
        (
            "ticket.identityVerifiedAt",
            Some(Value::Null),
            "ticket.identityVerifiedAt",
            "missing",
        ),
        (
            "ticket.identityVerifiedAt",
            Some(json!("2026-11-19T09:00:00Z")),
            "ticket.identityVerifiedAt",
            "before-receipt",
        ),
        (
            "ticket.verificationMethod",
            None,
            "ticket.verificationMethod",
            "missing",
        ),
        (
            "ticket.verificationMethod",
            Some(json!("trust-me")),
            "ticket.verificationMethod",
            "unknown-verification-method",
        ),
        ("ticket.signOff", None, "ticket.signOff", "missing"),
        (
            "ticket.signOff",
            Some(Value::Null),
            "ticket.signOff",
            "missing",
        ),
        (
            "ticket.signOff",
            Some(json!("yes")),
            "ticket.signOff",
            "wrong-type",
        ),
        (
            "ticket.signOff.by",
            Some(json!("dpo")),
            "ticket.signOff.by",
            "invalid-email",
        ),
        (
            "ticket.signOff.role",
            Some(json!("Intern")),
            "ticket.signOff.role",
            "role-not-allowed",
        ),
        ("ticket.signOff.at", None, "ticket.signOff.at", "missing"),
        (
            "ticket.signOff.at",
            Some(json!("2026-11-22T08:00:00Z")),
            "ticket.signOff.at",
            "before-verification",
        ),
        (
            "ticket.signOff.at",
            Some(json!("2026-11-19T08:00:00Z")),
            "ticket.signOff.at",
            "before-receipt",
        ),
        (
            "ticket.signOff.signedBy",
            Some(json!("x")),
            "ticket.signOff.<unknown>",
            "unknown-field",
        ),
        (
            "ticket.extension",
            Some(json!({"noticeSentAt": "2026-11-21T00:00:00Z"})),
            "ticket.extension.reasonCode",
            "missing",
        ),
        (
            "ticket.extension",
            Some(
                json!({"noticeSentAt": "2026-11-21T00:00:00Z", "reasonCode": "Because the subject is difficult"}),
            ),
            "ticket.extension.reasonCode",
            "invalid-reason-code",
        ),
        (
            "ticket.extension",
            Some(json!({"noticeSentAt": "2026-11-19T00:00:00Z", "reasonCode": "complexity"})),
            "ticket.extension.noticeSentAt",
            "before-receipt",
        ),
        (
            "ticket.extension",
            Some(
                json!({"noticeSentAt": "2026-11-21T00:00:00Z", "reasonCode": "complexity", "by": "x"}),
            ),
            "ticket.extension.by",
            "unknown-field",
        ),
        (
            "ticket.extension",
            Some(json!(true)),
            "ticket.extension",
            "wrong-type",
        ),
        (
            "ticket.priority",
            Some(json!("high")),
            "ticket.<unknown>",
            "unknown-field",
        ),
        // subject
        ("subject", None, "subject", "missing"),
        (
            "subject.name",
            Some(json!("Jane\u{0000}Doe")),
            "subject.name",
            "control-character",
        ),
        (
            "subject.name",
            Some(json!(long)),
            "subject.name",
            "too-long",
        ),
        ("subject.name", Some(json!("   ")), "subject.name", "empty"),
        (
            "subject.emails",
            Some(json!("jane@example.com")),
            "subject.emails",
            "wrong-type",
        ),
        (
            "subject.emails",
            Some(json!(["jane@example.com", "not-an-email"])),
            "subject.emails[1]",
            "invalid-email",
        ),
        (
            "subject.emails",
            Some(json!(vec!["a@example.com"; 21])),
            "subject.emails",
            "too-many",
        ),
        (
            "subject.emails",
            Some(json!([7])),
            "subject.emails[0]",
            "wrong-type",
        ),
        (
            "subject.phones[0].number",
            Some(json!("086 123 4567")),
            "subject.phones[0].number",
            "phone-needs-country-code",
        ),
        (
            "subject.phones[0].number",
            Some(json!("+353 86")),
            "subject.phones[0].number",
            "invalid-phone",
        ),
        (
            "subject.phones[0].number",
            None,
            "subject.phones[0].number",
            "missing",
        ),
        (
            "subject.phones[0].from",
            None,
            "subject.phones[0].from",
            "missing",
        ),
        (
            "subject.phones[0].from",
            Some(json!("01/03/2019")),
            "subject.phones[0].from",
            "invalid-date",
        ),
        (
            "subject.phones[0].from",
            Some(json!("2019-02-30")),
            "subject.phones[0].from",
            "invalid-date",
        ),
        (
            "subject.phones[0].from",
            Some(json!("2030-01-01")),
            "subject.phones[0].from",
            "in-future",
        ),
        (
            "subject.phones[0].until",
            Some(json!("2018-01-01")),
            "subject.phones[0].until",
            "tenure-reversed",
        ),
        (
            "subject.phones[0].owner",
            Some(json!("me")),
            "subject.phones[0].<unknown>",
            "unknown-field",
        ),
        (
            "subject.phones",
            Some(json!(["+353861234567"])),
            "subject.phones[0]",
            "wrong-type",
        ),
        (
            "subject.genesysUserId",
            Some(json!("agent-7")),
            "subject.genesysUserId",
            "invalid-genesys-id",
        ),
        (
            "subject.externalContactId",
            Some(json!("12345")),
            "subject.externalContactId",
            "invalid-genesys-id",
        ),
        (
            "subject.email",
            Some(json!(["x@example.com"])),
            "subject.<unknown>",
            "unknown-field",
        ),
        // options
        (
            "options.exportReview",
            Some(json!("sometimes")),
            "options.exportReview",
            "invalid-option",
        ),
        (
            "options.eraseRecordings",
            Some(json!("yes")),
            "options.eraseRecordings",
            "wrong-type",
        ),
        (
            "options.deleteRecordings",
            Some(json!(true)),
            "options.<unknown>",
            "unknown-field",
        ),
        ("extra", Some(json!(1)), "<unknown>", "unknown-field"),
        // follow-up of a deferred ticket
        (
            "ticket.resumes",
            Some(json!(42)),
            "ticket.resumes",
            "wrong-type",
        ),
        (
            "ticket.resumes",
            Some(json!("../DSAR-2026-0001")),
            "ticket.resumes",
            "invalid-ticket-id",
        ),
        (
            "ticket.resumes",
            Some(json!("DSAR 2026 0001")),
            "ticket.resumes",
            "invalid-ticket-id",
        ),
        (
            "ticket.resumes",
            Some(json!("x".repeat(81))),
            "ticket.resumes",
            "too-long",
        ),
        ("ticket.resumes", Some(json!("")), "ticket.resumes", "empty"),
        (
            "ticket.resumes",
            Some(json!("DSAR-2026-0042")),
            "ticket.resumes",
            "resumes-itself",
        ),
    ];
    let config = IntakeConfig::default();
    let doc_page = include_str!("../../../docs/ticket-format.md");
    for (path, value, field, code) in cases {
        assert!(
            doc_page.contains(&format!("`{code}`")),
            "{code} is not documented in docs/ticket-format.md"
        );
        let doc = with(base(), path, value.clone());
        let errors = errors_of(&doc, &config);
        assert!(
            errors.contains(&(field.to_owned(), code.to_owned())),
            "setting {path} to {value:?}: expected {field} {code}, got {errors:?}"
        );
    }
}

#[test]
fn all_errors_are_reported_at_once() {
    let mut doc = with(base(), "ticket.signOff", None);
    doc = with(doc, "ticket.identityVerifiedAt", None);
    doc = with(doc, "subject.emails", Some(json!(["bad"])));
    doc = with(doc, "options.exportReview", Some(json!("maybe")));
    let errors = errors_of(&doc, &IntakeConfig::default());
    for want in [
        ("ticket.signOff", "missing"),
        ("ticket.identityVerifiedAt", "missing"),
        ("subject.emails[0]", "invalid-email"),
        ("options.exportReview", "invalid-option"),
    ] {
        assert!(
            errors.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} in {errors:?}"
        );
    }
}

#[test]
fn a_name_alone_is_not_enough_to_erase() {
    let mut doc = with(base(), "subject.emails", Some(json!([])));
    doc = with(doc, "subject.phones", None);
    assert_eq!(
        errors_of(&doc, &IntakeConfig::default()),
        vec![("subject".to_owned(), "no-usable-identifier".to_owned())]
    );
    let doc = with(
        doc,
        "subject.externalContactId",
        Some(json!("0f8fad5b-d9cb-469f-a165-70867728950e")),
    );
    assert!(errors_of(&doc, &IntakeConfig::default()).is_empty());
}

#[test]
fn a_ticket_already_past_its_deadline_validates_and_is_flagged_late() {
    let mut doc = with(
        base(),
        "ticket.receivedAt",
        Some(json!("2026-08-01T09:00:00Z")),
    );
    doc = with(
        doc,
        "ticket.identityVerifiedAt",
        Some(json!("2026-08-02T09:00:00Z")),
    );
    doc = with(
        doc,
        "ticket.signOff.at",
        Some(json!("2026-08-03T09:00:00Z")),
    );
    let t = validate(&doc, &IntakeConfig::default(), now()).expect("late is not invalid");
    let clock = t.deadline(&DeadlineConfig::default(), now());
    assert!(clock.late_at_intake);
    assert_eq!(clock.due_date.to_string(), "2026-09-01");
}

#[test]
fn an_extension_must_be_notified_within_the_first_month() {
    let late = json!({"noticeSentAt": "2026-11-21T00:00:00Z", "reasonCode": "complexity"});
    // Received 2026-10-20: the first month ends with 2026-11-20.
    let mut doc = with(
        base(),
        "ticket.receivedAt",
        Some(json!("2026-10-20T10:00:00Z")),
    );
    doc = with(doc, "ticket.extension", Some(late));
    assert_eq!(
        errors_of(&doc, &IntakeConfig::default()),
        vec![(
            "ticket.extension.noticeSentAt".to_owned(),
            "extension-notice-late".to_owned()
        )]
    );
    let in_time = json!({"noticeSentAt": "2026-11-20T23:59:59Z", "reasonCode": "complexity"});
    let doc = with(doc, "ticket.extension", Some(in_time));
    let t = validate(&doc, &IntakeConfig::default(), now()).unwrap();
    let clock = t.deadline(&DeadlineConfig::default(), now());
    assert_eq!(clock.effective_due_date.to_string(), "2027-01-20");
    // With the clock starting at verification, the first month runs from there.
    let config = IntakeConfig {
        deadline: DeadlineConfig {
            clock_basis: ClockBasis::Verification,
            ..DeadlineConfig::default()
        },
        ..IntakeConfig::default()
    };
    let late_from_receipt =
        json!({"noticeSentAt": "2026-11-21T10:00:00Z", "reasonCode": "complexity"});
    let doc = with(
        doc,
        "ticket.identityVerifiedAt",
        Some(json!("2026-10-25T10:00:00Z")),
    );
    let doc = with(doc, "ticket.extension", Some(late_from_receipt));
    assert!(errors_of(&doc, &config).is_empty());
}

#[test]
fn identifiers_are_normalised_and_duplicates_merged() {
    let mut doc = with(
        base(),
        "subject.emails",
        Some(json!([
            " Jane@Example.com",
            "jane@example.com",
            "JANE@EXAMPLE.COM",
            "j.doe@example.org"
        ])),
    );
    doc = with(
        doc,
        "subject.phones",
        Some(json!([
            { "number": "+353 86 123 4567", "from": "2019-03-01", "until": "2020-06-30" },
            { "number": "00353861234567", "from": "2020-07-01", "until": "2021-12-31" },
            { "number": "086 123 4567", "from": "2023-01-01" },
            { "number": "+44 20 7946 0018", "from": "2015-01-01", "until": null }
        ])),
    );
    let config = IntakeConfig {
        default_region: Some("IE".parse().unwrap()),
        ..IntakeConfig::default()
    };
    let t = validate(&doc, &config, now()).unwrap();
    let emails: Vec<&str> = t.subject.emails.iter().map(|e| e.expose()).collect();
    assert_eq!(emails, ["jane@example.com", "j.doe@example.org"]);
    assert_eq!(t.subject.phones.len(), 2);
    let ie = &t.subject.phones[0];
    assert_eq!(ie.number.expose(), "+353861234567");
    let windows: Vec<String> = ie
        .tenure
        .iter()
        .map(|w| format!("{}..{:?}", w.from, w.until.map(|d| d.to_string())))
        .collect();
    assert_eq!(
        windows,
        ["2019-03-01..Some(\"2021-12-31\")", "2023-01-01..None"]
    );
}

#[test]
fn options_default_when_absent_and_roles_match_case_insensitively() {
    let mut doc = with(base(), "options", None);
    doc = with(doc, "ticket.signOff.role", Some(json!("privacy officer")));
    let t = validate(&doc, &IntakeConfig::default(), now()).unwrap();
    assert!(t.options.erase_recordings);
    assert_eq!(t.options.export_review, ExportReview::WhenNeeded);
    assert_eq!(t.ticket.sign_off.role, "Privacy Officer");
    let config = IntakeConfig {
        allowed_sign_off_roles: vec!["Head of Privacy".into()],
        ..IntakeConfig::default()
    };
    assert_eq!(
        errors_of(&base(), &config),
        vec![(
            "ticket.signOff.role".to_owned(),
            "role-not-allowed".to_owned()
        )]
    );
}

#[test]
fn error_messages_never_contain_the_offending_values() {
    let secrets = [
        "jane.secret@example.com",
        "+353 86 999 8877",
        "Zoë Secretname",
        "0f8fad5b-d9cb-469f-a165-7086772895XX",
    ];
    let mut doc = with(
        base(),
        "subject.emails",
        Some(json!([secrets[0], "bad jane.secret@x"])),
    );
    doc = with(
        doc,
        "subject.phones[0].number",
        Some(json!("+353 86 999 8877 CALL")),
    );
    doc = with(
        doc,
        "subject.name",
        Some(json!(format!("{}\u{0007}", secrets[2]))),
    );
    doc = with(doc, "subject.genesysUserId", Some(json!(secrets[3])));
    doc["subject"]["jane.secret@example.com"] = json!(1);
    let err = validate(&doc, &IntakeConfig::default(), now()).unwrap_err();
    let shown = format!(
        "{err} {err:?} {}",
        serde_json::to_string(err.errors()).unwrap()
    );
    for s in ["jane.secret", "999", "8877", "Secretname", "7086772895XX"] {
        assert!(!shown.contains(s), "{s} leaked: {shown}");
    }
    assert!(
        err.errors()
            .iter()
            .any(|e| e.field == "subject.<unknown>" && e.code == "unknown-field")
    );
}

#[test]
fn bytes_input_bounds_size_and_reports_json_errors_by_position() {
    let config = IntakeConfig::default();
    let huge = vec![b' '; config.max_input_bytes + 1];
    let err = parse_ticket(&huge, &config, now()).unwrap_err();
    assert_eq!(err.errors()[0].code, "too-large");
    let err = parse_ticket(br#"{"subject": {"name": "Jane Doe" "#, &config, now()).unwrap_err();
    assert_eq!(err.errors()[0].code, "invalid-json");
    assert!(!err.to_string().contains("Jane"));
    let err = parse_ticket(b"[1,2]", &config, now()).unwrap_err();
    assert_eq!(err.errors()[0].code, "wrong-type");
    let ok = serde_json::to_vec(&base()).unwrap();
    assert!(parse_ticket(&ok, &config, now()).is_ok());
}

#[test]
fn a_rejected_ticket_keeps_what_can_be_recorded() {
    let doc = with(base(), "ticket.signOff", None);
    let err = validate(&doc, &IntakeConfig::default(), now()).unwrap_err();
    let erasure_core::ticket::TicketError::InvalidTicket { salvage, .. } = err;
    assert_eq!(salvage.ticket_id.unwrap().as_str(), "DSAR-2026-0042");
    assert!(salvage.received_at.is_some());
    assert_eq!(salvage.subject.emails.len(), 1);
    assert_eq!(salvage.subject.phones.len(), 1);
    assert!(salvage.sign_off.is_none());
}

#[test]
fn garbage_gets_a_bounded_list_of_errors() {
    let mut subject = serde_json::Map::new();
    for i in 0..500 {
        subject.insert(format!("field{i}"), json!(i));
    }
    let doc = with(base(), "subject", Some(Value::Object(subject)));
    let err = validate(&doc, &IntakeConfig::default(), now()).unwrap_err();
    assert_eq!(err.errors().len(), 51);
    assert_eq!(err.errors()[50].code, "too-many-errors");
}

#[test]
fn a_valid_ticket_round_trips_through_a_step_payload() {
    let t = validate(&base(), &IntakeConfig::default(), now()).unwrap();
    let payload = serde_json::to_string(&t).unwrap();
    let back: erasure_core::ticket::ValidTicket = serde_json::from_str(&payload).unwrap();
    assert_eq!(back, t);
}

#[test]
fn a_follow_up_ticket_names_the_deferred_ticket_it_resumes() {
    let first = validate(&base(), &IntakeConfig::default(), now()).unwrap();
    assert_eq!(first.ticket.resumes, None);

    let follow_up = with(
        with(base(), "ticket.id", Some(json!("DSAR-2027-0007"))),
        "ticket.resumes",
        Some(json!("DSAR-2026-0042")),
    );
    let t = validate(&follow_up, &IntakeConfig::default(), now()).unwrap();
    assert_eq!(
        t.ticket.resumes.as_ref().map(|r| r.as_str()),
        Some("DSAR-2026-0042")
    );
    // Its input form keeps the field, and validates to the same ticket.
    let again = validate(&t.to_input(), &IntakeConfig::default(), now()).unwrap();
    assert_eq!(again, t);

    // null is the same as absent.
    let null = with(base(), "ticket.resumes", Some(Value::Null));
    assert_eq!(
        validate(&null, &IntakeConfig::default(), now())
            .unwrap()
            .ticket
            .resumes,
        None
    );
}

#[test]
fn a_ticket_cannot_resume_itself() {
    let doc = with(base(), "ticket.resumes", Some(json!("DSAR-2026-0042")));
    assert_eq!(
        errors_of(&doc, &IntakeConfig::default()),
        vec![("ticket.resumes".to_owned(), "resumes-itself".to_owned())]
    );
    // Ticket ids are compared exactly, as execution names and archive keys are.
    let other_case = with(base(), "ticket.resumes", Some(json!("dsar-2026-0042")));
    assert!(errors_of(&other_case, &IntakeConfig::default()).is_empty());
}

#[test]
fn payloads_written_without_resumes_still_read() {
    let t = validate(&base(), &IntakeConfig::default(), now()).unwrap();
    let mut payload = serde_json::to_value(&t).unwrap();
    payload["ticket"].as_object_mut().unwrap().remove("resumes");
    let back: erasure_core::ticket::ValidTicket = serde_json::from_value(payload).unwrap();
    assert_eq!(back.ticket.resumes, None);
}

#[test]
fn a_valid_ticket_in_input_form_validates_to_itself() {
    let config = IntakeConfig {
        default_region: Some("IE".parse().unwrap()),
        ..IntakeConfig::default()
    };
    let mut doc = with(
        base(),
        "subject.phones",
        Some(json!([
            { "number": "086 123 4567", "from": "2019-03-01", "until": "2020-06-30" },
            { "number": "+353 86 123 4567", "from": "2020-07-01" },
            { "number": "+44 20 7946 0018", "from": "2015-01-01", "until": "2016-01-01" },
            { "number": "+44 20 7946 0018", "from": "2018-01-01", "until": "2019-01-01" }
        ])),
    );
    doc = with(
        doc,
        "ticket.extension",
        Some(json!({"noticeSentAt": "2026-11-21T10:00:00+01:00", "reasonCode": "complexity"})),
    );
    doc = with(doc, "subject.name", Some(json!("  Zoë   Ó Súilleabháin ")));
    let t = validate(&doc, &config, now()).unwrap();
    let again = t.to_input();
    assert_eq!(again["subject"]["phones"].as_array().unwrap().len(), 3);
    assert_eq!(
        again["ticket"]["extension"]["noticeSentAt"],
        "2026-11-21T09:00:00Z"
    );
    assert_eq!(validate(&again, &config, now()).unwrap(), t);
}

#[test]
fn an_unknown_key_is_named_only_when_it_is_a_field_name_of_the_format() {
    let mut doc = base();
    doc["subject"]["jane"] = json!("Doe");
    doc["subject"]["emial"] = json!(["jane@example.com"]);
    doc["ticket"]["emails"] = json!([]);
    let err = validate(&doc, &IntakeConfig::default(), now()).unwrap_err();
    let got: Vec<(&str, &str)> = err
        .errors()
        .iter()
        .map(|e| (e.field.as_str(), e.message.as_str()))
        .collect();
    assert!(got.contains(&(
        "ticket.emails",
        "is not a known field (expected: id, source, receivedAt, identityVerifiedAt, verificationMethod, signOff, extension, resumes)"
    )));
    let hints: Vec<&str> = got
        .iter()
        .filter(|(f, _)| *f == "subject.<unknown>")
        .map(|(_, m)| m.rsplit("; ").next().unwrap())
        .collect();
    // "jane" is one letter from "name", "emial" a transposition of "emails" minus "s".
    assert_eq!(hints, ["did you mean emails?", "did you mean name?"]);
    assert!(!format!("{err:?}").contains("jane\""));
}
