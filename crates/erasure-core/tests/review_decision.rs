//! The review decision, table-driven: each case states the facts and what a DPO would
//! expect the pipeline to do.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use erasure_core::hold::{HoldRegister, check_holds, parse_register_value};
use erasure_core::identifiers::ConversationId;
use erasure_core::pseudonym::{PseudonymKey, Pseudonymiser};
use erasure_core::review::{
    AgentPlan, AgentStatus, Decision, FoundConversation, IdentifierUsage, LeftOutBecause,
    ReviewFacts, ReviewOutcome, decide, subject_identifiers,
};
use erasure_core::tenure::ExclusionReason;
use erasure_core::ticket::{ExportReview, IntakeConfig, Options, Subject, validate};
use serde_json::{Value, json};

const EMAIL: &str = "jane@example.com";
const PHONE: &str = "+353861234567";
const USER: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

fn now() -> DateTime<Utc> {
    "2026-11-22T12:00:00Z".parse().unwrap()
}

fn pseudonymiser() -> Pseudonymiser {
    Pseudonymiser::new(PseudonymKey::new("k1", vec![9; 32]).unwrap())
}

fn subject(with_user: bool, only_user: bool) -> Subject {
    let mut doc = json!({
        "ticket": {
            "id": "DSAR-1", "source": "onetrust",
            "receivedAt": "2026-11-20T10:15:00Z", "identityVerifiedAt": "2026-11-22T09:00:00Z",
            "verificationMethod": "account-login",
            "signOff": { "by": "dpo@example.com", "role": "DPO", "at": "2026-11-22T11:00:00Z" }
        },
        "subject": {
            "name": "Jane Doe", "emails": [EMAIL],
            "phones": [ { "number": PHONE, "from": "2019-03-01", "until": "2024-06-30" } ],
            "genesysUserId": if with_user { json!(USER) } else { Value::Null }
        }
    });
    if only_user {
        doc["subject"]["emails"] = json!([]);
        doc["subject"]["phones"] = json!([]);
    }
    validate(&doc, &IntakeConfig::default(), now())
        .unwrap()
        .subject
}

#[derive(Clone, Copy)]
enum By {
    Email,
    Phone,
    User,
}

/// One case: conversations as (id, start, end, found by), holds, agent, option.
struct Case {
    name: &'static str,
    with_user: bool,
    only_user: bool,
    conversations: Vec<(&'static str, &'static str, Option<&'static str>, Vec<By>)>,
    register: Value,
    protected: Vec<&'static str>,
    agent: Option<AgentStatus>,
    export_review: ExportReview,
    erase_recordings: bool,
    /// Identifiers a subject search found somebody else by.
    shared: Vec<By>,
    /// Identifiers that are the user account's own (its work e-mail).
    work: Vec<By>,
}

impl Default for Case {
    fn default() -> Self {
        Case {
            name: "",
            with_user: false,
            only_user: false,
            conversations: vec![],
            register: json!([]),
            protected: vec![],
            agent: None,
            export_review: ExportReview::WhenNeeded,
            erase_recordings: true,
            shared: vec![],
            work: vec![],
        }
    }
}

fn run(case: &Case) -> ReviewOutcome {
    let p = pseudonymiser();
    let subject = subject(case.with_user || case.only_user, case.only_user);
    let ids = subject_identifiers(&subject, &p);
    let ref_of = |by: By| {
        let kind = match by {
            By::Email => "email",
            By::Phone => "phone",
            By::User => "genesysUserId",
        };
        ids.iter()
            .find(|i| serde_json::to_value(i.value.kind()).unwrap() == kind)
            .unwrap()
            .identifier_ref
            .clone()
    };
    let conversations: Vec<FoundConversation> = case
        .conversations
        .iter()
        .map(|(id, start, end, by)| FoundConversation {
            id: id.parse().unwrap(),
            start: start.parse().unwrap(),
            end: end.map(|e| e.parse().unwrap()),
            found_by: by.iter().map(|b| ref_of(*b)).collect(),
        })
        .collect();
    let register: HoldRegister =
        parse_register_value(&json!({ "keyId": "k1", "holds": case.register.clone() })).unwrap();
    let located: Vec<_> = conversations
        .iter()
        .map(|c| erasure_core::hold::LocatedConversation {
            id: c.id.clone(),
            start: c.start,
        })
        .collect();
    let refs: Vec<_> = ids.iter().map(|i| i.identifier_ref.clone()).collect();
    let protected: Vec<ConversationId> =
        case.protected.iter().map(|c| c.parse().unwrap()).collect();
    let holds = check_holds(&register, "k1", &located, &refs, &protected, now(), Tz::UTC).unwrap();
    let options = Options {
        erase_recordings: case.erase_recordings,
        export_review: case.export_review,
    };
    let shared: std::collections::BTreeSet<_> = case.shared.iter().map(|b| ref_of(*b)).collect();
    let work: std::collections::BTreeSet<_> = case.work.iter().map(|b| ref_of(*b)).collect();
    let facts = ReviewFacts {
        subject: &subject,
        options: &options,
        identifiers: &ids,
        name_ref: subject.name.as_ref().map(|n| p.name(n)),
        conversations: &conversations,
        holds: &holds,
        agent_status: case.agent,
        time_zone: Tz::UTC,
        shared: &shared,
        work_identifiers: &work,
    };
    decide(&facts)
}

fn ids(list: &[ConversationId]) -> Vec<&str> {
    list.iter().map(|c| c.as_str()).collect()
}

fn usage_of(out: &ReviewOutcome, kind: &str) -> (IdentifierUsage, Vec<LeftOutBecause>) {
    let o = out
        .identifiers
        .iter()
        .find(|o| serde_json::to_value(o.kind).unwrap() == kind)
        .unwrap();
    (o.usage, o.left_out_because.clone())
}

const IN: &str = "2022-01-10T10:00:00Z";
const AFTER: &str = "2025-02-01T10:00:00Z";

/// Expected: decision, reason codes, emails/phones in the delete subject, covered,
/// per-conversation, excluded, withheld.
struct Expect {
    decision: Decision,
    reasons: &'static [&'static str],
    delete_email: bool,
    delete_phone: bool,
    covered: &'static [&'static str],
    per_conversation: &'static [&'static str],
    excluded: &'static [&'static str],
    withheld: &'static [&'static str],
}

#[test]
fn review_decisions_follow_the_facts() {
    let cases: Vec<(Case, Expect)> = vec![
        (
            Case {
                name: "clean subject proceeds with every usable identifier",
                conversations: vec![
                    ("c-1", IN, None, vec![By::Email]),
                    ("c-2", IN, None, vec![By::Phone]),
                ],
                ..Case::default()
            },
            Expect {
                decision: Decision::Proceed,
                reasons: &[],
                delete_email: true,
                delete_phone: true,
                covered: &["c-1", "c-2"],
                per_conversation: &[],
                excluded: &[],
                withheld: &[],
            },
        ),
        (
            Case {
                name: "a number Genesys knows somebody else by stays out, with no call of theirs yet",
                conversations: vec![
                    ("c-1", IN, None, vec![By::Email, By::Phone]),
                    ("c-2", IN, None, vec![By::Phone]),
                ],
                shared: vec![By::Phone],
                ..Case::default()
            },
            Expect {
                decision: Decision::Review,
                reasons: &["per-conversation-erasure", "shared-identifier"],
                delete_email: true,
                delete_phone: false,
                covered: &["c-1"],
                per_conversation: &["c-2"],
                excluded: &[],
                withheld: &[],
            },
        ),
        (
            Case {
                name: "recycled number covered by the e-mail: advisory only",
                conversations: vec![
                    ("c-1", IN, None, vec![By::Email, By::Phone]),
                    ("c-new", AFTER, None, vec![By::Phone]),
                ],
                ..Case::default()
            },
            Expect {
                decision: Decision::Review,
                reasons: &["recycled-number"],
                delete_email: true,
                delete_phone: false,
                covered: &["c-1"],
                per_conversation: &[],
                excluded: &["c-new"],
                withheld: &[],
            },
        ),
        (
            Case {
                name: "recycled number covered by the e-mail, exportReview never: proceeds",
                conversations: vec![
                    ("c-1", IN, None, vec![By::Email, By::Phone]),
                    ("c-new", AFTER, None, vec![By::Phone]),
                ],
                export_review: ExportReview::Never,
                ..Case::default()
            },
            Expect {
                decision: Decision::Proceed,
                reasons: &["recycled-number"],
                delete_email: true,
                delete_phone: false,
                covered: &["c-1"],
                per_conversation: &[],
                excluded: &["c-new"],
                withheld: &[],
            },
        ),
        (
            Case {
                name: "delete_by_recycled_number_spares_new_owner and the subject's calls go per conversation",
                conversations: vec![
                    ("c-mine", IN, None, vec![By::Phone]),
                    ("c-new", AFTER, None, vec![By::Phone]),
                    ("c-mail", IN, None, vec![By::Email]),
                ],
                export_review: ExportReview::Never,
                ..Case::default()
            },
            Expect {
                decision: Decision::Review,
                reasons: &["per-conversation-erasure", "recycled-number"],
                delete_email: true,
                delete_phone: false,
                covered: &["c-mail"],
                per_conversation: &["c-mine"],
                excluded: &["c-new"],
                withheld: &[],
            },
        ),
        (
            Case {
                name: "an outside-tenure call the e-mail also found is the subject's, not excluded",
                conversations: vec![("c-both", AFTER, None, vec![By::Email, By::Phone])],
                ..Case::default()
            },
            Expect {
                decision: Decision::Review,
                reasons: &["recycled-number"],
                delete_email: true,
                delete_phone: false,
                covered: &["c-both"],
                per_conversation: &[],
                excluded: &[],
                withheld: &[],
            },
        ),
        (
            Case {
                name: "a call over midnight of the until date waits for a person even with never",
                conversations: vec![
                    (
                        "c-late",
                        "2024-06-30T23:50:00Z",
                        Some("2024-07-01T00:10:00Z"),
                        vec![By::Phone],
                    ),
                    ("c-1", IN, None, vec![By::Email]),
                ],
                export_review: ExportReview::Never,
                ..Case::default()
            },
            Expect {
                decision: Decision::Review,
                reasons: &["tenure-boundary-call"],
                delete_email: true,
                delete_phone: true,
                covered: &["c-1", "c-late"],
                per_conversation: &[],
                excluded: &[],
                withheld: &[],
            },
        ),
        (
            Case {
                name: "the only e-mail conversation is held: defer, phone still erased",
                conversations: vec![
                    ("c-held", IN, None, vec![By::Email]),
                    ("c-2", IN, None, vec![By::Phone]),
                ],
                register: json!([{ "holdId": "LH-7", "conversationIds": ["c-held"], "expiry": "2027-06-30" }]),
                ..Case::default()
            },
            Expect {
                decision: Decision::Defer,
                reasons: &["legal-hold"],
                delete_email: false,
                delete_phone: true,
                covered: &["c-2"],
                per_conversation: &[],
                excluded: &[],
                withheld: &["c-held"],
            },
        ),
        (
            Case {
                name: "a held conversation shares the e-mail with others: those wait for a person",
                conversations: vec![
                    ("c-held", IN, None, vec![By::Email]),
                    ("c-free", IN, None, vec![By::Email]),
                    ("c-2", IN, None, vec![By::Phone]),
                ],
                register: json!([{ "holdId": "LH-7", "conversationIds": ["c-held"], "expiry": "2027-06-30" }]),
                ..Case::default()
            },
            Expect {
                decision: Decision::Review,
                reasons: &["per-conversation-erasure", "legal-hold"],
                delete_email: false,
                delete_phone: true,
                covered: &["c-2"],
                per_conversation: &["c-free"],
                excluded: &[],
                withheld: &["c-held"],
            },
        ),
        (
            Case {
                name: "expired holds do not hold",
                conversations: vec![
                    ("c-1", IN, None, vec![By::Email]),
                    ("c-2", IN, None, vec![By::Phone]),
                ],
                register: json!([{ "holdId": "LH-old", "conversationIds": ["c-1"], "expiry": "2026-01-01" }]),
                ..Case::default()
            },
            Expect {
                decision: Decision::Proceed,
                reasons: &[],
                delete_email: true,
                delete_phone: true,
                covered: &["c-1", "c-2"],
                per_conversation: &[],
                excluded: &[],
                withheld: &[],
            },
        ),
        (
            Case {
                name: "a hold on another owner's call does not hold the subject",
                conversations: vec![
                    ("c-new", AFTER, None, vec![By::Phone]),
                    ("c-1", IN, None, vec![By::Email]),
                ],
                register: json!([{ "holdId": "LH-9", "conversationIds": ["c-new"], "expiry": null }]),
                export_review: ExportReview::Never,
                ..Case::default()
            },
            Expect {
                decision: Decision::Proceed,
                reasons: &["recycled-number"],
                delete_email: true,
                delete_phone: false,
                covered: &["c-1"],
                per_conversation: &[],
                excluded: &["c-new"],
                withheld: &[],
            },
        ),
        (
            Case {
                name: "genesys deletion protection defers with no resume date",
                conversations: vec![
                    ("c-prot", IN, None, vec![By::Phone]),
                    ("c-1", IN, None, vec![By::Email]),
                ],
                protected: vec!["c-prot"],
                ..Case::default()
            },
            Expect {
                decision: Decision::Defer,
                reasons: &["deletion-protection"],
                delete_email: true,
                delete_phone: false,
                covered: &["c-1"],
                per_conversation: &[],
                excluded: &[],
                withheld: &["c-prot"],
            },
        ),
        (
            Case {
                name: "a subject-wide hold keeps every identifier out",
                conversations: vec![
                    ("c-1", IN, None, vec![By::Email]),
                    ("c-2", IN, None, vec![By::Phone]),
                ],
                register: Value::Null, // filled below with the subject's pseudonym
                ..Case::default()
            },
            Expect {
                decision: Decision::Defer,
                reasons: &["legal-hold", "subject-wide-hold"],
                delete_email: false,
                delete_phone: false,
                covered: &[],
                per_conversation: &[],
                excluded: &[],
                withheld: &["c-1", "c-2"],
            },
        ),
        (
            Case {
                name: "an identifier that found nothing is advisory and still erased by",
                conversations: vec![("c-1", IN, None, vec![By::Email])],
                ..Case::default()
            },
            Expect {
                decision: Decision::Review,
                reasons: &["identifier-found-nothing"],
                delete_email: true,
                delete_phone: true,
                covered: &["c-1"],
                per_conversation: &[],
                excluded: &[],
                withheld: &[],
            },
        ),
        (
            Case {
                name: "exportReview always waits even for a clean subject",
                conversations: vec![
                    ("c-1", IN, None, vec![By::Email]),
                    ("c-2", IN, None, vec![By::Phone]),
                ],
                export_review: ExportReview::Always,
                ..Case::default()
            },
            Expect {
                decision: Decision::Review,
                reasons: &["review-requested"],
                delete_email: true,
                delete_phone: true,
                covered: &["c-1", "c-2"],
                per_conversation: &[],
                excluded: &[],
                withheld: &[],
            },
        ),
        (
            Case {
                name: "exportReview never still proceeds for a clean subject",
                conversations: vec![
                    ("c-1", IN, None, vec![By::Email]),
                    ("c-2", IN, None, vec![By::Phone]),
                ],
                export_review: ExportReview::Never,
                ..Case::default()
            },
            Expect {
                decision: Decision::Proceed,
                reasons: &[],
                delete_email: true,
                delete_phone: true,
                covered: &["c-1", "c-2"],
                per_conversation: &[],
                excluded: &[],
                withheld: &[],
            },
        ),
    ];
    for (mut case, want) in cases {
        if case.register.is_null() {
            // A subject-wide hold names the subject's e-mail pseudonym.
            let p = pseudonymiser();
            let r = p.email(&EMAIL.parse().unwrap());
            case.register = json!([{ "holdId": "LH-wide", "subjectRefs": [r], "expiry": null }]);
        }
        let out = run(&case);
        let n = case.name;
        assert_eq!(
            out.decision, want.decision,
            "{n}: decision, reasons {:?}",
            out.reasons
        );
        assert_eq!(out.reason_codes(), want.reasons, "{n}: reasons");
        assert_eq!(
            out.delete_subject.emails.len() == 1,
            want.delete_email,
            "{n}: e-mail in delete subject"
        );
        assert_eq!(
            out.delete_subject.phones.len() == 1,
            want.delete_phone,
            "{n}: phone in delete subject"
        );
        assert_eq!(ids(&out.covered), want.covered, "{n}: covered");
        assert_eq!(
            ids(&out.per_conversation),
            want.per_conversation,
            "{n}: per conversation"
        );
        let excluded: Vec<&str> = out
            .excluded
            .iter()
            .map(|e| e.conversation_id.as_str())
            .collect();
        assert_eq!(excluded, want.excluded, "{n}: excluded");
        let withheld: Vec<&str> = out
            .withheld
            .iter()
            .map(|w| w.conversation_id.as_str())
            .collect();
        assert_eq!(withheld, want.withheld, "{n}: withheld");
        // Invariants of every outcome.
        assert!(out.delete_subject.emails.len() + out.delete_subject.phones.len() <= 2);
        let (name_usage, _) = usage_of(&out, "name");
        assert_eq!(
            name_usage,
            IdentifierUsage::NotSearched,
            "{n}: the name is never used"
        );
        for c in &out.covered {
            assert!(
                !out.withheld.iter().any(|w| &w.conversation_id == c),
                "{n}: covered and held"
            );
            assert!(
                !out.excluded.iter().any(|e| &e.conversation_id == c),
                "{n}: covered and excluded"
            );
        }
        assert_eq!(
            out.deferral.is_some(),
            !out.withheld.is_empty(),
            "{n}: deferral iff withheld"
        );
    }
}

#[test]
fn deferral_names_holds_and_resume_date() {
    let out = run(&Case {
        conversations: vec![
            ("c-held", IN, None, vec![By::Email]),
            ("c-2", IN, None, vec![By::Phone]),
        ],
        register: json!([{ "holdId": "LH-7", "conversationIds": ["c-held"], "expiry": "2027-06-30" }]),
        ..Case::default()
    });
    let d = out.deferral.clone().unwrap();
    assert_eq!(d.holds[0].hold_id, "LH-7");
    assert_eq!(d.resume_on.unwrap().to_string(), "2027-07-01");
    assert_eq!(out.withheld[0].hold_id.as_deref(), Some("LH-7"));
    assert_eq!(
        usage_of(&out, "email"),
        (IdentifierUsage::SearchedOnly, vec![LeftOutBecause::Held])
    );
}

#[test]
fn agents_active_former_deleted_unknown() {
    let conv = || {
        vec![
            ("c-1", IN, None, vec![By::Email, By::User]),
            ("c-2", IN, None, vec![By::Phone]),
        ]
    };
    let table = [
        // (status, option, decision, plan, user id in delete subject, reasons)
        (
            Some(AgentStatus::Active),
            ExportReview::Never,
            Decision::Review,
            AgentPlan::SkipActive,
            false,
            vec!["active-agent"],
        ),
        (
            Some(AgentStatus::Inactive),
            ExportReview::WhenNeeded,
            Decision::Proceed,
            AgentPlan::Offboard,
            true,
            vec![],
        ),
        (
            Some(AgentStatus::Deleted),
            ExportReview::WhenNeeded,
            Decision::Proceed,
            AgentPlan::AlreadyDeleted,
            true,
            vec![],
        ),
        (
            Some(AgentStatus::NotFound),
            ExportReview::WhenNeeded,
            Decision::Review,
            AgentPlan::NotFound,
            false,
            vec!["agent-not-found"],
        ),
        (
            Some(AgentStatus::NotFound),
            ExportReview::Never,
            Decision::Proceed,
            AgentPlan::NotFound,
            false,
            vec!["agent-not-found"],
        ),
        (
            None,
            ExportReview::Never,
            Decision::Review,
            AgentPlan::Unchecked,
            false,
            vec!["agent-status-unknown"],
        ),
    ];
    for (status, option, decision, plan, in_subject, reasons) in table {
        let out = run(&Case {
            with_user: true,
            conversations: conv(),
            agent: status,
            export_review: option,
            ..Case::default()
        });
        let label = format!("{status:?} {option:?}");
        assert_eq!(out.decision, decision, "{label}");
        assert_eq!(out.agent, Some(plan), "{label}");
        assert_eq!(
            out.delete_subject.genesys_user_id.is_some(),
            in_subject,
            "{label}"
        );
        assert_eq!(out.reason_codes(), reasons, "{label}");
    }
}

#[test]
fn a_held_former_agent_is_not_offboarded() {
    let out = run(&Case {
        with_user: true,
        conversations: vec![("c-1", IN, None, vec![By::User])],
        register: json!([{ "holdId": "LH-1", "conversationIds": ["c-1"], "expiry": null }]),
        agent: Some(AgentStatus::Inactive),
        ..Case::default()
    });
    assert_eq!(out.agent, Some(AgentPlan::Held));
    assert!(out.delete_subject.genesys_user_id.is_none());
}

#[test]
fn nothing_deletable_waits_for_a_person_even_with_never() {
    // Only a user id, and Genesys does not know it: the GDPR_DELETE would name nothing.
    let out = run(&Case {
        only_user: true,
        agent: Some(AgentStatus::NotFound),
        export_review: ExportReview::Never,
        ..Case::default()
    });
    assert!(out.delete_subject.is_empty());
    assert_eq!(out.decision, Decision::Review);
    // Reasons are listed safety first, then advisory, then holds.
    assert_eq!(out.reason_codes(), ["nothing-deletable", "agent-not-found"]);
}

#[test]
fn recordings_are_purged_only_for_in_scope_conversations_and_only_when_asked() {
    let base = || Case {
        conversations: vec![
            ("c-1", IN, None, vec![By::Email]),
            ("c-held", IN, None, vec![By::Phone]),
            ("c-new", AFTER, None, vec![By::Email]),
        ],
        protected: vec!["c-held"],
        ..Case::default()
    };
    let out = run(&base());
    assert_eq!(ids(&out.purge_recordings_of), ["c-1", "c-new"]);
    let out = run(&Case {
        erase_recordings: false,
        ..base()
    });
    assert!(out.purge_recordings_of.is_empty());
}

#[test]
fn a_user_id_never_deletes_the_conversations_the_agent_handled() {
    // c-own: the subject called in (found by her e-mail and phone); c-work-1/2: conversations she handled as an agent, found only by her user
    // id. A GDPR_DELETE by userId would erase those other customers' conversations.
    let out = run(&Case {
        with_user: true,
        conversations: vec![
            ("c-own", IN, None, vec![By::Email, By::Phone]),
            ("c-work-1", IN, None, vec![By::User]),
            ("c-work-2", AFTER, None, vec![By::User]),
        ],
        agent: Some(AgentStatus::Inactive),
        ..Case::default()
    });
    assert!(out.delete_subject.genesys_user_id.is_none());
    assert_eq!(
        usage_of(&out, "genesysUserId"),
        (
            IdentifierUsage::SearchedOnly,
            vec![LeftOutBecause::HandledAsAgent]
        )
    );
    assert_eq!(ids(&out.in_scope), ["c-own"]);
    let excluded: Vec<(&str, ExclusionReason)> = out
        .excluded
        .iter()
        .map(|e| (e.conversation_id.as_str(), e.reason))
        .collect();
    assert_eq!(
        excluded,
        [
            ("c-work-1", ExclusionReason::HandledAsAgent),
            ("c-work-2", ExclusionReason::HandledAsAgent)
        ]
    );
    // The former agent is still offboarded, and nothing here needs a person.
    assert_eq!(out.agent, Some(AgentPlan::Offboard));
    assert_eq!(out.decision, Decision::Proceed, "{:?}", out.reason_codes());
    assert!(out.per_conversation.is_empty());
}

#[test]
fn the_agents_work_e_mail_never_deletes_the_conversations_she_handled_either() {
    // The ticket gives her work e-mail (the account's own address in Genesys): e-mail
    // interactions she handled for customers carry it. c-own: she called in from her
    // phone; c-mail-1/2: customers' e-mails she answered, found by the work e-mail
    // (and the user id) only.
    let case = |work: Vec<By>| Case {
        with_user: true,
        conversations: vec![
            ("c-own", IN, None, vec![By::Phone]),
            ("c-mail-1", IN, None, vec![By::Email, By::User]),
            ("c-mail-2", IN, None, vec![By::Email]),
        ],
        agent: Some(AgentStatus::Inactive),
        work,
        ..Case::default()
    };
    let out = run(&case(vec![By::Email]));
    assert!(
        out.delete_subject.emails.is_empty(),
        "the work e-mail stays out"
    );
    assert_eq!(
        usage_of(&out, "email"),
        (
            IdentifierUsage::SearchedOnly,
            vec![LeftOutBecause::HandledAsAgent]
        )
    );
    assert_eq!(ids(&out.in_scope), ["c-own"]);
    let excluded: Vec<(&str, ExclusionReason)> = (out.excluded.iter())
        .map(|e| (e.conversation_id.as_str(), e.reason))
        .collect();
    assert_eq!(
        excluded,
        [
            ("c-mail-1", ExclusionReason::HandledAsAgent),
            ("c-mail-2", ExclusionReason::HandledAsAgent)
        ]
    );
    // The same e-mail not known as the account's: the subject's, and erased (the
    // rule is what makes the difference).
    let out = run(&case(vec![]));
    assert_eq!(out.delete_subject.emails.len(), 1);
    assert!(out.in_scope.len() == 3, "{:?}", out.in_scope);
}

#[test]
fn once_she_handled_any_conversation_her_work_e_mail_stays_out_even_where_unseen() {
    // Her work address found nothing it shows, but the user id found a conversation she
    // handled: the address may sit unseen on such legs, so it is never deleted by.
    let out = run(&Case {
        with_user: true,
        conversations: vec![
            ("c-own", IN, None, vec![By::Phone]),
            ("c-work", IN, None, vec![By::User]),
        ],
        agent: Some(AgentStatus::Inactive),
        work: vec![By::Email],
        ..Case::default()
    });
    assert!(out.delete_subject.emails.is_empty());
    assert_eq!(
        usage_of(&out, "email"),
        (
            IdentifierUsage::SearchedOnly,
            vec![LeftOutBecause::HandledAsAgent]
        )
    );
    assert_eq!(ids(&out.in_scope), ["c-own"]);
}
