//! Compliance records: built from facts, valid against the published schema for every
//! outcome, with derived values computed, and no personal data inside.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use erasure_core::deadline::DeadlineConfig;
use erasure_core::hold::{LocatedConversation, check_holds, parse_register_value};
use erasure_core::identifiers::ConversationId;
use erasure_core::pseudonym::{PseudonymKey, Pseudonymiser};
use erasure_core::record::*;
use erasure_core::review::{
    AgentStatus, FoundConversation, ReviewFacts, decide, subject_identifiers,
};
use erasure_core::ticket::TicketError;
use erasure_core::ticket::{IntakeConfig, ValidTicket, validate};
use serde_json::{Value, json};

const SCHEMA: &str = include_str!("../../../schemas/compliance-record.v1.schema.json");

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn assert_valid(record: &ComplianceRecord) -> Value {
    let doc = serde_json::to_value(record).unwrap();
    let v = validator();
    let errors: Vec<String> = v
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "schema errors: {errors:#?}\n{doc:#}");
    doc
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

// Known identifiers, searched for in every serialised record.
const EMAIL: &str = "Jane.Doe@Example.com";
const PHONE: &str = "+353 86 123 4567";
const NAME: &str = "Zoë Ní Bhriain";
const USER: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
const EXTERNAL: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
const DPO: &str = "Privacy.Lead@Example.com";

fn ticket_doc() -> Value {
    json!({
        "ticket": {
            "id": "DSAR-2026-0042", "source": "onetrust",
            "receivedAt": "2026-11-20T10:15:00Z", "identityVerifiedAt": "2026-11-22T09:00:00Z",
            "verificationMethod": "account-login",
            "signOff": { "by": DPO, "role": "DPO", "at": "2026-11-22T11:00:00Z" },
            "extension": null
        },
        "subject": {
            "name": NAME, "emails": [EMAIL],
            "phones": [ { "number": PHONE, "from": "2019-03-01", "until": "2024-06-30" } ],
            "genesysUserId": USER, "externalContactId": EXTERNAL
        },
        "options": { "eraseRecordings": true, "exportReview": "when-needed" }
    })
}

fn intake_at() -> DateTime<Utc> {
    t("2026-11-22T11:00:01Z")
}

fn ticket() -> ValidTicket {
    validate(&ticket_doc(), &IntakeConfig::default(), intake_at()).unwrap()
}

fn p() -> Pseudonymiser {
    Pseudonymiser::new(PseudonymKey::new("pseudonym-key-2026", vec![42; 32]).unwrap())
}

fn ctx() -> RecordContext {
    RecordContext {
        ticket_id: "DSAR-2026-0042".parse().unwrap(),
        ticket_source: "onetrust".into(),
        resumes: None,
        execution_id: "arn:aws:states:eu-west-1:123456789012:execution:gdpr-erasure:DSAR-2026-0042"
            .into(),
        sequence: 1,
        previous_digest: None,
        written_at: t("2026-11-22T11:42:10.512Z"),
        pipeline_version: "0.1.0".into(),
        definition_digest: None,
        retention_years: 7,
        key_id: "pseudonym-key-2026".into(),
    }
}

fn cid(s: &str) -> ConversationId {
    s.parse().unwrap()
}

/// A full run: review from located conversations (c-1 e-mail, c-2 phone in tenure,
/// c-new phone after tenure, c-held e-mail+phone under a hold when `hold`), then the
/// facts a successful run would report.
fn run_facts(hold: bool) -> RecordFacts {
    let ticket = ticket();
    let p = p();
    let ids = subject_identifiers(&ticket.subject, &p);
    let r = |kind: &str| {
        ids.iter()
            .find(|i| serde_json::to_value(i.value.kind()).unwrap() == kind)
            .unwrap()
            .identifier_ref
            .clone()
    };
    let mut conversations = vec![
        FoundConversation {
            id: cid("c-1"),
            start: t("2025-01-01T10:00:00Z"),
            end: None,
            found_by: vec![r("email"), r("externalContactId")],
        },
        FoundConversation {
            id: cid("c-2"),
            start: t("2022-01-01T10:00:00Z"),
            end: None,
            found_by: vec![r("phone"), r("email")],
        },
        FoundConversation {
            id: cid("c-new"),
            start: t("2025-03-01T10:00:00Z"),
            end: None,
            found_by: vec![r("phone")],
        },
        FoundConversation {
            id: cid("c-agent"),
            start: t("2021-03-01T10:00:00Z"),
            end: None,
            found_by: vec![r("genesysUserId")],
        },
    ];
    let mut register = json!({"holds": []});
    if hold {
        conversations.push(FoundConversation {
            id: cid("c-held"),
            start: t("2023-01-01T10:00:00Z"),
            end: None,
            found_by: vec![r("externalContactId")],
        });
        register = json!({"holds": [{ "holdId": "LH-2025-007", "conversationIds": ["c-held"], "expiry": "2027-06-30" }]});
    }
    let located: Vec<LocatedConversation> = conversations
        .iter()
        .map(|c| LocatedConversation {
            id: c.id.clone(),
            start: c.start,
        })
        .collect();
    let refs: Vec<_> = ids.iter().map(|i| i.identifier_ref.clone()).collect();
    let holds = check_holds(
        &parse_register_value(&register).unwrap(),
        p.key_id(),
        &located,
        &refs,
        &[],
        intake_at(),
        Tz::UTC,
    )
    .unwrap();
    let review = decide(&ReviewFacts {
        subject: &ticket.subject,
        options: &ticket.options,
        identifiers: &ids,
        name_ref: ticket.subject.name.as_ref().map(|n| p.name(n)),
        conversations: &conversations,
        holds: &holds,
        agent_status: Some(AgentStatus::Inactive),
        time_zone: Tz::UTC,
        shared: &Default::default(),
        work_identifiers: &Default::default(),
    });
    let mut facts = RecordFacts::empty(intake_at());
    facts.apply_review(&review, t("2026-11-22T11:20:00Z"));
    facts.clock = ClockFacts {
        received_at: Some(ticket.ticket.received_at),
        identity_verified_at: Some(ticket.ticket.identity_verified_at),
        extension: None,
        intake_at: intake_at(),
        genesys_first_call_at: Some(t("2026-11-22T11:00:05Z")),
        completed_at: Some(t("2026-11-22T11:42:09Z")),
    };
    facts.sign_off = Some(ActorDecision {
        actor_ref: p.actor(&ticket.ticket.sign_off.by),
        role: ticket.ticket.sign_off.role.clone(),
        at: ticket.ticket.sign_off.at,
    });
    let status = |s: &str, at: &str| StatusObservation {
        status: s.into(),
        observed_at: t(at),
    };
    facts.genesys_requests = vec![
        GenesysRequestRecord {
            request_type: GdprRequestType::GdprExport,
            request_id: "7c2d9a4e-1b3f-4a5c-9d8e-0f1a2b3c4d5e".into(),
            submitted_at: t("2026-11-22T11:00:05Z"),
            reused: false,
            status_history: vec![
                status("INITIATED", "2026-11-22T11:00:05Z"),
                status("COMPLETED", "2026-11-22T11:19:40Z"),
            ],
            final_status: Some("COMPLETED".into()),
            subject_ref: None,
        },
        GenesysRequestRecord {
            request_type: GdprRequestType::GdprDelete,
            request_id: "8d3e0b5f-2c4a-4b6d-8e9f-1a2b3c4d5e6f".into(),
            submitted_at: t("2026-11-22T11:20:02Z"),
            reused: false,
            status_history: vec![
                status("INITIATED", "2026-11-22T11:20:02Z"),
                status("COMPLETED", "2026-11-22T11:40:00Z"),
            ],
            final_status: Some("COMPLETED".into()),
            subject_ref: Some(r("email")),
        },
    ];
    facts.conversations_erased = review.covered.clone();
    facts.recordings_found = vec![
        RecordingRef {
            conversation_id: cid("c-1"),
            recording_id: "r-1".parse().unwrap(),
        },
        RecordingRef {
            conversation_id: cid("c-new"),
            recording_id: "r-new".parse().unwrap(),
        },
    ];
    facts.recordings_purged = vec![PurgedRecording {
        conversation_id: cid("c-1"),
        recording_id: "r-1".parse().unwrap(),
        at: t("2026-11-22T11:41:00Z"),
    }];
    facts.agent = Some(AgentRecord {
        user_ref: p.genesys_user(ticket.subject.genesys_user_id.as_ref().unwrap()),
        action: AgentAction::Offboarded,
        at: t("2026-11-22T11:41:10Z"),
    });
    facts.downstream_expected = vec!["crm".into(), "warehouse".into()];
    facts.downstream = vec![
        DownstreamAck {
            system: "crm".into(),
            status: DownstreamStatus::Acknowledged,
            http_status: Some(202),
            reference: Some("CRM-1".into()),
            attempts: 1,
            at: t("2026-11-22T11:41:30Z"),
        },
        DownstreamAck {
            system: "warehouse".into(),
            status: DownstreamStatus::Acknowledged,
            http_status: Some(200),
            reference: None,
            attempts: 2,
            at: t("2026-11-22T11:41:45Z"),
        },
    ];
    facts
}

fn build(facts: &RecordFacts) -> ComplianceRecord {
    build_record(&ctx(), facts, &DeadlineConfig::default()).unwrap()
}

#[test]
fn the_schema_check_is_not_vacuous() {
    // A producer asserting COMPLETED over a gap, or an offset timestamp, is caught.
    let mut doc = serde_json::to_value(build(&run_facts(false))).unwrap();
    doc["gaps"] = json!([{ "kind": "GENESYS_PARTIAL", "reason": "x", "subjectOfGap": "y" }]);
    assert!(!validator().is_valid(&doc));
    let mut doc = serde_json::to_value(build(&run_facts(false))).unwrap();
    doc["writtenAt"] = json!("2026-11-22T11:42:10+00:00");
    assert!(!validator().is_valid(&doc));
}

#[test]
fn a_record_written_before_follow_up_tickets_still_validates_and_reads() {
    // Records are locked for years: a field added within v1 must not make the ones
    // already in the archive invalid. Without `resumes` a record reads as an ordinary
    // ticket's; a malformed one is still refused.
    let mut doc = serde_json::to_value(build(&run_facts(false))).unwrap();
    doc.as_object_mut().unwrap().remove("resumes");
    assert!(validator().is_valid(&doc));
    let back: ComplianceRecord = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(back.resumes, None);
    doc["resumes"] = json!("not a ticket id!");
    assert!(!validator().is_valid(&doc));
}

#[test]
fn a_clean_run_is_completed_with_computed_clock_and_counts() {
    let record = build(&run_facts(false));
    assert_valid(&record);
    assert_eq!(
        record.outcome,
        Outcome::Completed,
        "gaps: {:?}",
        record.gaps
    );
    let c = &record.counts;
    assert_eq!(c.conversations_found, 4);
    assert_eq!(
        c.conversations_excluded, 2,
        "the later owner's call, and a call the former agent only handled"
    );
    assert_eq!(c.conversations_in_scope, 2);
    assert_eq!(c.conversations_erased, 2);
    assert_eq!(c.recordings_found, 2);
    assert_eq!(c.recordings_purged, 1);
    assert_eq!(c.downstream_acknowledged, 2);
    assert_eq!(record.excluded[0].conversation_id.as_str(), "c-new");
    assert_eq!(record.excluded[1].conversation_id.as_str(), "c-agent");
    assert_eq!(
        record.excluded[1].reason,
        erasure_core::tenure::ExclusionReason::HandledAsAgent
    );
    assert_eq!(record.clock.due_date.to_string(), "2026-12-20");
    assert_eq!(record.clock.within_deadline, Some(true));
    assert_eq!(record.clock.days_late, Some(0));
    assert_eq!(record.clock.service_level.met, Some(true));
    assert_eq!(record.retention.retain_until, t("2033-11-22T11:42:10.512Z"));
}

#[test]
fn every_gap_makes_the_record_partial_never_completed() {
    type Mutate = fn(&mut RecordFacts);
    let cases: Vec<(&str, Mutate, GapKind, &str)> = vec![
        (
            "a downstream system that never acknowledges",
            |f| {
                f.downstream.retain(|d| d.system != "warehouse");
            },
            GapKind::DownstreamNotAcknowledged,
            "warehouse",
        ),
        (
            "a downstream system that answered without acknowledging",
            |f| {
                f.downstream[0].status = DownstreamStatus::NotAcknowledged;
            },
            GapKind::DownstreamNotAcknowledged,
            "crm",
        ),
        (
            "an in-scope conversation not confirmed erased",
            |f| {
                f.conversations_erased.retain(|c| c.as_str() != "c-2");
            },
            GapKind::ConversationNotErased,
            "c-2",
        ),
        (
            "a recording purge that failed",
            |f| {
                f.recordings_found.push(RecordingRef {
                    conversation_id: "c-2".parse().unwrap(),
                    recording_id: "r-2".parse().unwrap(),
                });
                f.recordings_failed.push(FailedRecording {
                    conversation_id: "c-2".parse().unwrap(),
                    recording_id: "r-2".parse().unwrap(),
                    error: "recording.not.archivable".into(),
                });
            },
            GapKind::RecordingNotPurged,
            "r-2",
        ),
        (
            "a recording never attempted",
            |f| {
                f.recordings_found.push(RecordingRef {
                    conversation_id: "c-2".parse().unwrap(),
                    recording_id: "r-3".parse().unwrap(),
                });
            },
            GapKind::RecordingNotPurged,
            "r-3",
        ),
        (
            "a GDPR_DELETE that did not complete",
            |f| {
                f.genesys_requests[1].final_status = None;
            },
            GapKind::GenesysPartial,
            "8d3e0b5f-2c4a-4b6d-8e9f-1a2b3c4d5e6f",
        ),
        (
            "no GDPR_DELETE at all",
            |f| {
                f.genesys_requests.truncate(1);
            },
            GapKind::GenesysPartial,
            "GDPR_DELETE",
        ),
        (
            "an agent that could not be offboarded",
            |f| {
                if let Some(a) = f.agent.as_mut() {
                    a.action = AgentAction::Failed;
                }
            },
            GapKind::AgentNotOffboarded,
            "genesysUserId",
        ),
    ];
    for (name, mutate, kind, subject) in cases {
        let mut facts = run_facts(false);
        mutate(&mut facts);
        let record = build(&facts);
        assert_valid(&record);
        assert_eq!(record.outcome, Outcome::Partial, "{name}");
        assert!(
            record
                .gaps
                .iter()
                .any(|g| g.kind == kind && g.subject_of_gap == subject),
            "{name}: {:?}",
            record.gaps
        );
    }
}

#[test]
fn held_data_is_deferred_with_hold_and_resume_date() {
    let facts = run_facts(true);
    let record = build(&facts);
    let doc = assert_valid(&record);
    assert_eq!(record.outcome, Outcome::Deferred, "gaps: {:?}", record.gaps);
    assert_eq!(record.counts.conversations_withheld, 1);
    assert_eq!(record.counts.conversations_found, 5);
    assert_eq!(record.counts.conversations_in_scope, 2);
    assert_eq!(doc["withheld"][0]["holdId"], "LH-2025-007");
    assert_eq!(doc["withheld"][0]["legalBasis"], "Art. 17(3)(e)");
    assert_eq!(doc["deferral"]["resumeOn"], "2027-07-01");
    assert_eq!(doc["deferral"]["holds"][0]["expiry"], "2027-06-30");

    // A recording of the held conversation is counted as withheld and never owed.
    let mut facts = run_facts(true);
    facts.recordings_found.push(RecordingRef {
        conversation_id: cid("c-held"),
        recording_id: "r-held".parse().unwrap(),
    });
    let record = build(&facts);
    assert_valid(&record);
    assert_eq!(record.counts.recordings_withheld, 1);
    assert_eq!(record.outcome, Outcome::Deferred, "gaps: {:?}", record.gaps);
}

#[test]
fn gaps_outrank_a_deferral() {
    let mut facts = run_facts(true);
    facts.downstream.clear();
    let record = build(&facts);
    assert_valid(&record);
    assert_eq!(record.outcome, Outcome::Partial);
    assert!(record.deferral.is_some(), "the holds are still recorded");
}

#[test]
fn an_invalid_ticket_is_rejected_with_every_reason_and_no_completion() {
    let mut doc = ticket_doc();
    doc["ticket"]["signOff"] = Value::Null;
    doc["subject"]["emails"] = json!([EMAIL, "not an email"]);
    let err = validate(&doc, &IntakeConfig::default(), intake_at()).unwrap_err();
    let TicketError::InvalidTicket { errors, salvage } = err;
    let facts = RecordFacts::rejected(errors, &salvage, &p(), intake_at());
    let record = build(&facts);
    let doc = assert_valid(&record);
    assert_eq!(record.outcome, Outcome::Rejected);
    assert_eq!(doc["clock"]["completedAt"], Value::Null);
    assert_eq!(doc["clock"]["withinDeadline"], Value::Null);
    assert_eq!(doc["clock"]["daysLate"], Value::Null);
    assert_eq!(doc["decisions"]["signOff"], Value::Null);
    let codes: Vec<&str> = record
        .rejection
        .as_ref()
        .unwrap()
        .reasons
        .iter()
        .map(|r| r.code.as_str())
        .collect();
    assert_eq!(codes, ["missing", "invalid-email"]);
    assert!(
        record
            .subject
            .identifiers
            .iter()
            .all(|i| i.usage == erasure_core::review::IdentifierUsage::NotSearched)
    );
    assert_eq!(record.subject.identifiers.len(), 5);
}

#[test]
fn a_rejection_with_an_unreadable_receipt_time_still_makes_a_valid_record() {
    let mut doc = ticket_doc();
    doc["ticket"]["receivedAt"] = json!("yesterday");
    let TicketError::InvalidTicket { errors, salvage } =
        validate(&doc, &IntakeConfig::default(), intake_at()).unwrap_err();
    let record = build(&RecordFacts::rejected(errors, &salvage, &p(), intake_at()));
    assert_valid(&record);
    assert_eq!(record.clock.received_at, intake_at());
}

#[test]
fn a_genesys_error_is_failed_with_the_facts() {
    let mut facts = run_facts(false);
    facts.genesys_requests[1].final_status = Some("ERROR".into());
    facts.conversations_erased.clear();
    facts.ending = Ending::Failed(Failure {
        stage: "ErasePoll".into(),
        error: "GenesysRequestError".into(),
        detail: "GDPR_DELETE 8d3e0b5f-2c4a-4b6d-8e9f-1a2b3c4d5e6f ended ERROR".into(),
    });
    facts.escalations.push(Escalation {
        reason: "genesys-partial-deletion".into(),
        at: t("2026-11-22T11:40:00Z"),
        detail: "open a Genesys support case; do not resubmit".into(),
    });
    let record = build(&facts);
    assert_valid(&record);
    assert_eq!(record.outcome, Outcome::Failed);
    assert_eq!(record.failure.as_ref().unwrap().stage, "ErasePoll");
    assert!(
        record
            .gaps
            .iter()
            .any(|g| g.kind == GapKind::ConversationNotErased)
    );
}

#[test]
fn a_late_completion_is_computed_not_asserted() {
    let mut facts = run_facts(false);
    facts.clock.completed_at = Some(t("2026-12-23T09:00:00Z"));
    let record = build(&facts);
    assert_valid(&record);
    assert_eq!(record.clock.within_deadline, Some(false));
    assert_eq!(record.clock.days_late, Some(3));

    // A ticket that arrived after its deadline is flagged, and still recorded.
    let mut facts = run_facts(false);
    facts.clock.received_at = Some(t("2026-09-01T09:00:00Z"));
    facts.clock.identity_verified_at = Some(t("2026-09-01T10:00:00Z"));
    let record = build(&facts);
    assert_valid(&record);
    assert!(record.clock.late_at_intake);
    assert_eq!(record.clock.days_late, Some(52)); // due 2026-10-01, done 2026-11-22
    assert_eq!(record.clock.service_level.met, Some(false));
}

#[test]
fn a_second_record_chains_to_the_first() {
    let mut c = ctx();
    c.sequence = 2;
    assert!(matches!(
        build_record(&c, &run_facts(false), &DeadlineConfig::default()),
        Err(erasure_core::error::RecordError::InvalidRecordInput(_))
    ));
    c.previous_digest = Some(format!("sha256:{}", "ab".repeat(32)));
    c.retention_years = 0;
    assert!(build_record(&c, &run_facts(false), &DeadlineConfig::default()).is_err());
    c.retention_years = 10;
    let record = build_record(&c, &run_facts(false), &DeadlineConfig::default()).unwrap();
    assert_valid(&record);
}

#[test]
fn a_follow_up_ticket_names_the_deferral_it_resumes_and_an_ordinary_one_null() {
    let ordinary = assert_valid(&build(&run_facts(false)));
    assert_eq!(ordinary["resumes"], Value::Null, "present, and null");

    let mut c = ctx();
    c.resumes = Some("DSAR-2026-0001".parse().unwrap());
    let record = build_record(&c, &run_facts(false), &DeadlineConfig::default()).unwrap();
    assert_eq!(assert_valid(&record)["resumes"], "DSAR-2026-0001");

    // A record cannot resume its own ticket.
    c.resumes = Some(c.ticket_id.clone());
    let Err(erasure_core::error::RecordError::InvalidRecordInput(errors)) =
        build_record(&c, &run_facts(false), &DeadlineConfig::default())
    else {
        panic!("expected an error")
    };
    assert_eq!(errors[0].field, "resumes");

    // The schema holds it to the ticket id alphabet.
    let mut doc = assert_valid(&build(&run_facts(false)));
    doc["resumes"] = json!("../DSAR-1");
    assert!(validator().iter_errors(&doc).next().is_some());
}

#[test]
fn malformed_producer_values_are_refused_precisely() {
    let mut facts = run_facts(false);
    facts.downstream[0].system = "crm/eu".into();
    facts.escalations.push(Escalation {
        reason: "Bad Reason".into(),
        at: t("2026-11-22T11:40:00Z"),
        detail: String::new(),
    });
    let Err(erasure_core::error::RecordError::InvalidRecordInput(errors)) =
        build_record(&ctx(), &facts, &DeadlineConfig::default())
    else {
        panic!("expected an error")
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["downstream[0].system", "escalations[0].reason"]);
}

#[test]
fn erasing_a_held_conversation_is_escalated_not_hidden() {
    let mut facts = run_facts(true);
    facts.conversations_erased.push("c-held".parse().unwrap());
    let record = build(&facts);
    assert_valid(&record);
    assert!(
        record
            .escalations
            .iter()
            .any(|e| e.reason == "erased-outside-scope" && e.detail.contains("c-held"))
    );
    assert_eq!(
        record.counts.conversations_erased, 2,
        "only in-scope erasures count"
    );
}

#[test]
fn the_published_examples_round_trip_through_the_record_type() {
    for (name, text) in [
        (
            "completed",
            include_str!("../../../schemas/examples/completed.json"),
        ),
        (
            "deferred",
            include_str!("../../../schemas/examples/deferred.json"),
        ),
        (
            "rejected",
            include_str!("../../../schemas/examples/rejected.json"),
        ),
    ] {
        let original: Value = serde_json::from_str(text).unwrap();
        let record: ComplianceRecord =
            serde_json::from_value(original.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(serde_json::to_value(&record).unwrap(), original, "{name}");
    }
}

/// Every spelling of every identifier that must never reach the archive.
fn spellings() -> Vec<String> {
    let mut s = vec![
        EMAIL.to_owned(),
        EMAIL.to_lowercase(),
        EMAIL.to_uppercase(),
        "jane.doe".into(),
        PHONE.to_owned(),
        "+353861234567".into(),
        "353861234567".into(),
        "0861234567".into(),
        "861234567".into(),
        "086 123 4567".into(),
        NAME.to_owned(),
        NAME.to_lowercase(),
        "Bhriain".into(),
        "bhriain".into(),
        USER.to_owned(),
        USER.to_uppercase(),
        USER.replace('-', ""),
        EXTERNAL.to_owned(),
        EXTERNAL.replace('-', ""),
        DPO.to_owned(),
        DPO.to_lowercase(),
        "privacy.lead".into(),
    ];
    s.sort();
    s.dedup();
    s
}

#[test]
fn no_personal_data_appears_in_any_record() {
    let mut records = vec![build(&run_facts(false)), build(&run_facts(true))];
    let mut doc = ticket_doc();
    doc["ticket"]["signOff"]["role"] = json!("Intern");
    doc["subject"]["phones"][0]["number"] = json!("+353 86 123 4567 x");
    let TicketError::InvalidTicket { errors, salvage } =
        validate(&doc, &IntakeConfig::default(), intake_at()).unwrap_err();
    records.push(build(&RecordFacts::rejected(
        errors,
        &salvage,
        &p(),
        intake_at(),
    )));
    for record in &records {
        let text = serde_json::to_string(record).unwrap();
        let lower = text.to_lowercase();
        for s in spellings() {
            assert!(
                !text.contains(&s) && !lower.contains(&s.to_lowercase()),
                "{s} found in a {:?} record",
                record.outcome
            );
        }
        let debug = format!("{record:?}");
        for s in spellings() {
            assert!(!debug.contains(&s), "{s} found in Debug of a record");
        }
    }
}
