//! Steps one at a time, against the emulator over HTTP (no mocks): the rules each
//! step owns, including the ones the end-to-end scenarios do not reach.

use std::sync::Arc;
use std::time::Duration;

use archive::{Archive, LocalArchive, RetentionPolicy};
use chrono::{DateTime, Utc};
use clock::{SharedClock, VirtualClock};
use erasure_core::pseudonym::{PseudonymKey, Pseudonymiser};
use erasure_core::record::AgentAction;
use erasure_core::ticket::IntakeConfig;
use erasure_steps::gdpr::GenesysDeps;
use erasure_steps::intake::{self, ExecutionRef, PollBudget};
use erasure_steps::local::receiver::{Behaviour, DownstreamReceiver};
use erasure_steps::ports::{Downstream, DownstreamSystem, KeyRing, NoHoldRegister};
use erasure_steps::state::{AgentSection, PollState, Selection, SubjectSection};
use erasure_steps::{
    erase, locate, notify_downstream, offboard_agent, poll, purge_recordings, write_record,
};
use genesys::{ClientConfig, Credentials, Environment, GenesysClient};
use genesys_emulator::{Emulator, Fault, FaultAction, RunningEmulator};
use serde_json::{Value, json};

const START: &str = "2026-11-23T09:00:00Z";

struct World {
    clock: Arc<VirtualClock>,
    emu: RunningEmulator,
    deps: GenesysDeps,
}

impl World {
    /// PurgeRecordings' ports over this world's Genesys, with no legal-hold register.
    fn purge(&self) -> purge_recordings::Deps {
        purge_recordings::Deps {
            genesys: self.deps.clone(),
            holds: Arc::new(NoHoldRegister),
        }
    }

    /// Erase's ports over this world's Genesys, with no legal-hold register.
    fn erase(&self) -> erase::Deps {
        erase::Deps {
            genesys: self.deps.clone(),
            holds: Arc::new(NoHoldRegister),
        }
    }
}

async fn world() -> World {
    let clock = Arc::new(VirtualClock::starting_at(START.parse().unwrap()));
    let shared: SharedClock = clock.clone();
    let emu = Emulator::builder()
        .clock(shared.clone())
        .seed(3)
        .start()
        .await
        .unwrap();
    let oauth = emu.oauth_client();
    let client = GenesysClient::new(
        ClientConfig::new(
            Environment::BaseUrl(emu.base_url().parse().unwrap()),
            Credentials::new(oauth.client_id, oauth.client_secret),
        )
        .with_clock(shared.clone()),
    )
    .unwrap();
    World {
        clock,
        emu,
        deps: GenesysDeps::new(client, shared),
    }
}

fn subject(v: Value) -> SubjectSection {
    serde_json::from_value(v).unwrap()
}

fn liam() -> SubjectSection {
    subject(json!({
        "emails": [], "genesysUserId": null, "externalContactId": null,
        "phones": [{"number": "+353834567890", "tenure": [{"from": "2016-04-01", "until": null}]}]
    }))
}

fn pseudonymiser() -> Pseudonymiser {
    Pseudonymiser::new(PseudonymKey::new("steps-test", vec![7; 32]).unwrap())
}

#[tokio::test]
async fn locate_reuses_the_tickets_export_and_erase_the_tickets_delete_by_name() {
    let w = world().await;
    let input = || locate::Input {
        ticket_id: "DSAR-9".into(),
        subject: liam(),
        retry_count: 0,
        fresh: false,
        expired: None,
    };
    let first = locate::handle(&w.deps, input()).await.unwrap();
    assert!(!first.reused);
    assert_eq!(first.name, "gdpr-erasure/DSAR-9/export/phone-0");
    assert_eq!(first.poll.wait_seconds, 10);
    let again = locate::handle(&w.deps, input()).await.unwrap();
    assert!(again.reused);
    assert_eq!(again.request_id, first.request_id);

    let erase_input = |selection: Selection| erase::Input {
        ticket_id: "DSAR-9".into(),
        subject: liam(),
        selection,
        holds_at_review: None,
        retry_count: 0,
    };
    let sel = Selection {
        phones: vec![0],
        ..Selection::default()
    };
    let d1 = erase::handle(&w.erase(), erase_input(sel.clone()))
        .await
        .unwrap();
    let d2 = erase::handle(&w.erase(), erase_input(sel)).await.unwrap();
    assert_eq!((d1.reused, d2.reused), (false, true));
    assert_eq!(d1.name, "gdpr-erasure/DSAR-9/delete/phone-0");
    assert_eq!(d2.subject_matches, Some(true));
    // Decided again with the contact as well: the number's delete is reused, the
    // contact gets its own, and neither is sent twice.
    let mut with_contact = liam();
    with_contact.external_contact_id =
        Some("73915644-4045-433a-b6f0-0ef6164c1830".parse().unwrap());
    let d3 = erase::handle(
        &w.erase(),
        erase::Input {
            ticket_id: "DSAR-9".into(),
            subject: with_contact.clone(),
            selection: Selection {
                phones: vec![0],
                external_contact_id: true,
                ..Selection::default()
            },
            holds_at_review: None,
            retry_count: 1,
        },
    )
    .await
    .unwrap();
    let names: Vec<(&str, bool)> = (d3.parts.iter())
        .map(|p| (p.name.as_str(), p.reused))
        .collect();
    assert_eq!(
        names,
        [
            ("gdpr-erasure/DSAR-9/delete/external-contact", false),
            ("gdpr-erasure/DSAR-9/delete/phone-0", true)
        ]
    );
    assert_eq!(d3.parts[1].request_id, d1.request_id);
    assert_eq!(d3.subject_matches, Some(true));
    // Decided again without the number: its earlier delete cannot be taken back. It is
    // listed and the difference is flagged; nothing is sent.
    let d4 = erase::handle(
        &w.erase(),
        erase::Input {
            ticket_id: "DSAR-9".into(),
            subject: with_contact,
            selection: Selection {
                external_contact_id: true,
                ..Selection::default()
            },
            holds_at_review: None,
            retry_count: 2,
        },
    )
    .await
    .unwrap();
    assert_eq!(d4.parts.len(), 2);
    assert!(d4.parts.iter().all(|p| p.reused));
    assert_eq!(d4.subject_matches, Some(false));
    assert_eq!(
        w.emu
            .gdpr_submissions(genesys_emulator::RequestType::GdprDelete),
        2
    );
}

/// What each GDPR request of a type named, as sent.
fn sent(w: &World, t: genesys_emulator::RequestType) -> Vec<genesys::GdprSubject> {
    (w.emu.gdpr_requests().into_iter())
        .filter(|j| j.request_type == t)
        .map(|j| serde_json::from_value(serde_json::to_value(&j.subject).unwrap()).unwrap())
        .collect()
}

fn identifiers_named(s: &genesys::GdprSubject) -> usize {
    s.email_addresses.len()
        + s.phone_numbers.len()
        + usize::from(s.external_contact_id.is_some())
        + usize::from(s.user_id.is_some())
}

#[tokio::test]
async fn locate_exports_each_identifier_alone_reuses_them_all_and_a_legacy_export_whole() {
    let w = world().await;
    let subject = subject(json!({
        "emails": ["liam@example.org"],
        "genesysUserId": null,
        "externalContactId": "73915644-4045-433a-b6f0-0ef6164c1830",
        "phones": [{"number": "+353834567890", "tenure": [{"from": "2016-04-01", "until": null}]}]
    }));
    let input = |ticket: &str, fresh: bool| locate::Input {
        ticket_id: ticket.into(),
        subject: subject.clone(),
        retry_count: 0,
        fresh,
        expired: None,
    };
    let first = locate::handle(&w.deps, input("DSAR-40", false))
        .await
        .unwrap();
    let names: Vec<&str> = first.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "gdpr-erasure/DSAR-40/export/external-contact",
            "gdpr-erasure/DSAR-40/export/email-0",
            "gdpr-erasure/DSAR-40/export/phone-0"
        ]
    );
    let exports = sent(&w, genesys_emulator::RequestType::GdprExport);
    assert_eq!(exports.len(), 3);
    assert!(exports.iter().all(|s| identifiers_named(s) == 1));
    assert_eq!(first.request_id, first.parts[0].request_id);

    // A retry finds all three in one read of the newest requests.
    let again = locate::handle(&w.deps, input("DSAR-40", false))
        .await
        .unwrap();
    assert!(again.reused && again.parts.iter().all(|p| p.reused));
    assert_eq!(sent(&w, genesys_emulator::RequestType::GdprExport).len(), 3);
    // Made again after expiry: new names, never the expired ones.
    let fresh = locate::handle(&w.deps, input("DSAR-40", true))
        .await
        .unwrap();
    assert!(
        fresh
            .parts
            .iter()
            .all(|p| !p.reused && p.name.starts_with("gdpr-erasure/DSAR-40/export-again/"))
    );
    assert_eq!(sent(&w, genesys_emulator::RequestType::GdprExport).len(), 6);

    // A ticket located before exports went per identifier: its one export is reused
    // whole, and nothing new is sent.
    let client = &w.deps.client;
    let legacy = client
        .create_gdpr_request(
            &genesys::NewGdprRequest::export(
                erasure_steps::state::Selection::all(&subject)
                    .apply(&subject)
                    .unwrap(),
            )
            .with_name("gdpr-erasure/DSAR-41/export".to_owned()),
            false,
        )
        .await
        .unwrap();
    let old = locate::handle(&w.deps, input("DSAR-41", false))
        .await
        .unwrap();
    assert!(old.reused && old.parts.is_empty());
    assert_eq!(
        (old.request_id.as_str(), old.name.as_str()),
        (legacy.id.as_str(), "gdpr-erasure/DSAR-41/export")
    );
    assert_eq!(sent(&w, genesys_emulator::RequestType::GdprExport).len(), 7);
}

#[tokio::test]
async fn erase_sends_one_delete_per_cleared_identifier_each_naming_it_alone_and_poll_waits_for_all()
{
    let w = world().await;
    let subject = subject(json!({
        "emails": ["liam@example.org", "l.byrne@example.com"],
        "genesysUserId": null,
        "externalContactId": "73915644-4045-433a-b6f0-0ef6164c1830",
        "phones": [{"number": "+353834567890", "tenure": [{"from": "2016-04-01", "until": null}]}]
    }));
    let selection = Selection {
        emails: vec![1],
        phones: vec![0],
        external_contact_id: true,
        ..Selection::default()
    };
    let d = erase::handle(
        &w.erase(),
        erase::Input {
            ticket_id: "DSAR-30".into(),
            subject: subject.clone(),
            selection,
            holds_at_review: None,
            retry_count: 0,
        },
    )
    .await
    .unwrap();
    let sent = sent(&w, genesys_emulator::RequestType::GdprDelete);
    assert_eq!(sent.len(), 3, "one per cleared identifier");
    assert!(
        sent.iter().all(|s| identifiers_named(s) == 1),
        "each names one identifier"
    );
    assert!(
        sent.iter().all(|s| s
            .email_addresses
            .iter()
            .all(|e| e.as_str() == "l.byrne@example.com")),
        "the e-mail not cleared is never named"
    );
    let kinds: Vec<String> = (d.parts.iter())
        .map(|p| p.name.rsplit('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["external-contact", "email-1", "phone-0"]);
    assert!(!d.poll.done);

    // Poll looks at each until all have ended; the section is COMPLETED only then.
    let give_up_at: chrono::DateTime<chrono::Utc> = "2026-12-31T00:00:00Z".parse().unwrap();
    let mut section = d;
    for _ in 0..50 {
        w.clock
            .advance(Duration::from_secs(section.poll.wait_seconds.max(1)));
        let out = poll::handle(
            &w.deps,
            poll::Input {
                ticket_id: "DSAR-30".into(),
                request_id: None,
                poll: None,
                request: Some(section.clone()),
                give_up_at,
            },
        )
        .await
        .unwrap();
        let poll::Output::Section(next) = out else {
            panic!("a section in, a section out")
        };
        section = next;
        if section.poll.done {
            break;
        }
        let all = section.parts.iter().all(|p| p.poll.status == "COMPLETED");
        assert!(
            !all,
            "COMPLETED parts alone do not leave the section running"
        );
    }
    assert_eq!(section.poll.status, "COMPLETED");
    assert!(section.parts.iter().all(|p| p.poll.done));
    let last_part_done = (section.parts.iter())
        .filter_map(|p| p.poll.history.last().map(|h| h.observed_at))
        .max()
        .unwrap();
    assert_eq!(
        section.poll.history.last().unwrap().observed_at,
        last_part_done,
        "the section completes when its last request does"
    );
}

#[tokio::test]
async fn a_ticket_deleted_under_the_one_request_name_is_never_sent_per_identifier_deletes() {
    let w = world().await;
    // An earlier version sent one delete named `.../delete` for the ticket.
    let client = &w.deps.client;
    let legacy = "gdpr-erasure/DSAR-31/delete";
    w.deps
        .ledger
        .record_intent(legacy, w.deps.clock.now())
        .await
        .unwrap();
    let subject = genesys::GdprSubject {
        phone_numbers: vec!["+353834567890".to_owned().into()],
        ..genesys::GdprSubject::default()
    };
    let earlier = client
        .create_gdpr_request(
            &genesys::NewGdprRequest::delete(subject).with_name(legacy.to_owned()),
            true,
        )
        .await
        .unwrap();
    w.deps
        .ledger
        .record_request(legacy, &earlier.id)
        .await
        .unwrap();
    let d = erase::handle(&w.erase(), erase_liam("DSAR-31", 1))
        .await
        .unwrap();
    assert!(d.reused);
    assert_eq!(d.request_id, earlier.id);
    assert_eq!(d.parts.len(), 1);
    assert_eq!(d.parts[0].names, None);
    assert_eq!(d.subject_matches, Some(true));
    assert_eq!(
        w.emu
            .gdpr_submissions(genesys_emulator::RequestType::GdprDelete),
        1
    );
}

fn erase_liam(ticket: &str, retry_count: u32) -> erase::Input {
    erase::Input {
        ticket_id: ticket.into(),
        subject: liam(),
        selection: Selection {
            phones: vec![0],
            ..Selection::default()
        },
        holds_at_review: None,
        retry_count,
    }
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_is_found_among_the_newest_requests_not_sent_again() {
    let w = world().await;
    w.emu
        .add_fault(
            Fault::new(
                "POST",
                "/api/v2/gdpr/requests",
                FaultAction::ProcessThenDrop,
            )
            .request_type("GDPR_DELETE")
            .times(1),
        )
        .unwrap();
    let err = erase::handle(&w.erase(), erase_liam("DSAR-21", 0))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "GenesysAmbiguous");
    let entry = w
        .deps
        .ledger
        .get("gdpr-erasure/DSAR-21/delete/phone-0")
        .await
        .unwrap()
        .expect("the intent was written before the POST");
    assert!(entry.request_id.is_none());

    w.clock.advance(Duration::from_secs(2));
    let retried = erase::handle(&w.erase(), erase_liam("DSAR-21", 1))
        .await
        .unwrap();
    assert!(retried.reused, "the applied POST is adopted");
    assert_eq!(
        w.emu
            .gdpr_submissions(genesys_emulator::RequestType::GdprDelete),
        1
    );
    let entry = w
        .deps
        .ledger
        .get("gdpr-erasure/DSAR-21/delete/phone-0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        entry.request_id.as_deref(),
        Some(retried.request_id.as_str())
    );
    // From now on the id is read from the ledger: no listing at all.
    let again = erase::handle(&w.erase(), erase_liam("DSAR-21", 2))
        .await
        .unwrap();
    assert_eq!(again.request_id, retried.request_id);
}

#[tokio::test]
async fn a_delete_that_never_reached_genesys_is_sent_on_the_retry() {
    let w = world().await;
    w.emu
        .add_fault(
            Fault::new(
                "POST",
                "/api/v2/gdpr/requests",
                FaultAction::ServerError { status: 503 },
            )
            .request_type("GDPR_DELETE")
            .times(1),
        )
        .unwrap();
    let err = erase::handle(&w.erase(), erase_liam("DSAR-22", 0))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "GenesysAmbiguous");
    let retried = erase::handle(&w.erase(), erase_liam("DSAR-22", 1))
        .await
        .unwrap();
    assert!(!retried.reused);
    // The 503 created nothing; the retry created the one request of that name.
    let created = w
        .deps
        .client
        .find_gdpr_requests_by_name("gdpr-erasure/DSAR-22/delete/phone-0")
        .await
        .unwrap();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].id, retried.request_id);
}

#[tokio::test]
async fn a_lookup_that_cannot_reach_back_to_the_intent_escalates_instead_of_deleting_again() {
    let mut w = world().await;
    let oauth = w.emu.oauth_client();
    let small_pages = GenesysClient::new(
        ClientConfig::new(
            Environment::BaseUrl(w.emu.base_url().parse().unwrap()),
            Credentials::new(oauth.client_id, oauth.client_secret),
        )
        .with_clock(w.deps.clock.clone())
        .with_page_size(2),
    )
    .unwrap();
    w.deps.client = small_pages;
    // An intent from long ago without a request id, and a busy org: the newest five
    // pages of requests do not reach back to it.
    w.deps
        .ledger
        .record_intent(
            "gdpr-erasure/DSAR-23/delete/phone-0",
            "2026-11-01T00:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
    let client = &w.deps.client;
    for i in 0..(erasure_steps::gdpr::LOOKUP_MAX_PAGES * 2 + 1) {
        let subject = genesys::GdprSubject {
            phone_numbers: vec![format!("+3538300{i:05}").into()],
            ..genesys::GdprSubject::default()
        };
        client
            .create_gdpr_request(
                &genesys::NewGdprRequest::export(subject).with_name(format!("other-{i}")),
                false,
            )
            .await
            .unwrap();
    }
    let before = w
        .emu
        .gdpr_submissions(genesys_emulator::RequestType::GdprDelete);
    let err = erase::handle(&w.erase(), erase_liam("DSAR-23", 1))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "GdprSubmissionUnknown");
    assert!(!err.is_retryable());
    assert_eq!(
        w.emu
            .gdpr_submissions(genesys_emulator::RequestType::GdprDelete),
        before,
        "no GDPR_DELETE was sent"
    );
}

#[tokio::test]
async fn erase_refuses_a_selection_that_names_nothing_or_what_the_subject_lacks() {
    let w = world().await;
    for (selection, says) in [
        (Selection::default(), "names no identifier"),
        (
            Selection {
                emails: vec![0],
                ..Selection::default()
            },
            "selection.emails",
        ),
        (
            Selection {
                genesys_user_id: true,
                ..Selection::default()
            },
            "genesysUserId",
        ),
    ] {
        let err = erase::handle(
            &w.erase(),
            erase::Input {
                ticket_id: "DSAR-10".into(),
                subject: liam(),
                selection,
                holds_at_review: None,
                retry_count: 0,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.name(), "InvalidStepInput");
        assert!(err.to_string().contains(says), "{err}");
    }
    assert!(w.emu.request_log().is_empty(), "refused before any call");
}

#[tokio::test]
async fn an_export_that_ended_in_error_is_not_reused() {
    let w = world().await;
    w.emu
        .add_fault(
            Fault::new(
                "POST",
                "/api/v2/gdpr/requests",
                FaultAction::GdprPartialError { fraction: 0.5 },
            )
            .request_type("GDPR_EXPORT")
            .times(1),
        )
        .unwrap();
    let input = || locate::Input {
        ticket_id: "DSAR-11".into(),
        subject: liam(),
        retry_count: 0,
        fresh: false,
        expired: None,
    };
    let first = locate::handle(&w.deps, input()).await.unwrap();
    w.clock.advance(Duration::from_secs(3600));
    let polled = poll::handle(
        &w.deps,
        poll::Input {
            ticket_id: "DSAR-11".into(),
            request_id: Some(first.request_id.clone()),
            poll: Some(first.poll.clone()),
            request: None,
            give_up_at: "2026-12-20T00:00:00Z".parse().unwrap(),
        },
    )
    .await
    .unwrap();
    let polled = polled.poll_state();
    assert_eq!(polled.status, "ERROR");
    assert!(polled.done);
    let second = locate::handle(&w.deps, input()).await.unwrap();
    assert_ne!(second.request_id, first.request_id);
    assert!(!second.reused);
}

#[tokio::test]
async fn polling_gives_up_at_the_deadline_aware_limit() {
    let w = world().await;
    let located = locate::handle(
        &w.deps,
        locate::Input {
            ticket_id: "DSAR-12".into(),
            subject: liam(),
            retry_count: 0,
            fresh: false,
            expired: None,
        },
    )
    .await
    .unwrap();
    // Pretend the request was first seen long ago and the budget is spent.
    let mut stale: PollState = located.poll.clone();
    stale.history[0].observed_at = "2026-11-01T00:00:00Z".parse().unwrap();
    stale.status = "SEARCHING".into();
    let out = poll::handle(
        &w.deps,
        poll::Input {
            ticket_id: "DSAR-12".into(),
            request_id: Some(located.request_id),
            poll: Some(stale),
            request: None,
            give_up_at: "2026-11-20T00:00:00Z".parse().unwrap(),
        },
    )
    .await
    .unwrap();
    let out = out.poll_state();
    assert!(out.timed_out, "{out:?}");
    assert_eq!(out.wait_seconds, 0);
}

#[tokio::test]
async fn purge_re_checks_deletion_protection_and_never_touches_a_protected_conversation() {
    let w = world().await;
    const CALL: &str = "8a15996b-fa29-4d78-9331-69ded1d4e015";
    const OTHER: &str = "3cd2b595-f15f-4dcb-9218-558b32ac834a";
    // Protected after the review decided to purge it.
    w.deps
        .client
        .set_deletion_protection(&[CALL.to_owned()], true)
        .await
        .unwrap();
    let out = purge_recordings::handle(
        &w.purge(),
        purge_recordings::Input {
            ticket_id: "DSAR-13".into(),
            conversation_ids: vec![CALL.parse().unwrap(), OTHER.parse().unwrap()],
            recordings: vec![],
            holds_at_review: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(out.protected_conversations.len(), 1);
    assert!(
        out.purged
            .iter()
            .all(|p| p.conversation_id.as_str() == OTHER)
    );
    assert_eq!(out.purged.len(), 1);
    let recordings = w.emu.recordings();
    for (c, r) in recordings {
        if c == CALL {
            assert!(r.delete_date.is_none(), "a protected recording was touched");
        }
        if c == OTHER {
            assert!(
                r.delete_date.is_some()
                    || matches!(r.file_state, genesys_emulator::dataset::FileState::Deleted)
            );
        }
    }
    // Again: idempotent, the purged recording is confirmed gone.
    let again = purge_recordings::handle(
        &w.purge(),
        purge_recordings::Input {
            ticket_id: "DSAR-13".into(),
            conversation_ids: vec![OTHER.parse().unwrap()],
            recordings: vec![],
            holds_at_review: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(again.purged.len(), 1);
    assert!(again.failed.is_empty());
}

fn agent(user_ref: bool) -> AgentSection {
    AgentSection {
        action: "offboard".into(),
        plan: Some(erasure_core::review::AgentPlan::Offboard),
        user_ref: user_ref.then(|| {
            pseudonymiser().genesys_user(&"1b7e7ad0-0d78-4841-afe9-1396fb86ef4d".parse().unwrap())
        }),
    }
}

#[tokio::test]
async fn offboarding_re_reads_the_user_skips_an_active_one_and_cleans_a_soft_deleted_one() {
    let w = world().await;
    let run = |id: &str| offboard_agent::Input {
        ticket_id: "DSAR-14".into(),
        agent: agent(true),
        user_id: Some(id.parse().unwrap()),
    };
    // Active now (whatever the review saw): untouched.
    const ACTIVE: &str = "71ecdd34-839b-4a2a-bba2-0cb8af52e86d";
    let before = w.emu.user(ACTIVE);
    let out = offboard_agent::handle(&w.deps, run(ACTIVE)).await.unwrap();
    assert_eq!(out.action, AgentAction::SkippedActive);
    assert_eq!(w.emu.user(ACTIVE), before);

    // Soft-deleted but still named: restored, anonymised, deleted again.
    const DELETED: &str = "9748b1c2-b462-42a0-bc2d-2f1eb1d67d98";
    let out = offboard_agent::handle(&w.deps, run(DELETED)).await.unwrap();
    assert_eq!(out.action, AgentAction::Offboarded);
    assert_eq!(out.changes, ["restored", "anonymised", "deleted"]);
    let u = w.emu.user(DELETED).unwrap();
    assert_eq!(u.name, offboard_agent::ERASED_NAME);
    assert_eq!(u.state, genesys_emulator::dataset::UserState::Deleted);

    // Inactive: anonymised and deleted; a second run changes nothing.
    const INACTIVE: &str = "53cf884c-799d-4bb1-9752-bfaf819a2c45";
    let out = offboard_agent::handle(&w.deps, run(INACTIVE))
        .await
        .unwrap();
    assert_eq!(out.changes, ["anonymised", "deleted"]);
    let again = offboard_agent::handle(&w.deps, run(INACTIVE))
        .await
        .unwrap();
    assert_eq!(again.action, AgentAction::Offboarded);
    assert!(again.changes.is_empty());
    // No such user.
    let out = offboard_agent::handle(&w.deps, run("00000000-0000-4000-8000-000000000000"))
        .await
        .unwrap();
    assert_eq!(out.action, AgentAction::NotFound);
}

#[tokio::test]
async fn downstream_refusals_and_unknown_systems_have_their_own_names() {
    let clock: SharedClock = Arc::new(VirtualClock::starting_at(START.parse().unwrap()));
    let key = KeyRing::from_key("right".repeat(8)).unwrap();
    let receiver = DownstreamReceiver::start(
        vec![("crm".into(), key, Behaviour::Acknowledge)],
        clock.clone(),
    )
    .await
    .unwrap();
    // Signed with the wrong key: the receiver refuses (401), never retried.
    let deps = notify_downstream::Deps {
        downstream: Downstream::new(vec![DownstreamSystem {
            name: "crm".into(),
            endpoint: receiver.endpoint("crm"),
            key: KeyRing::from_key("wrong".repeat(8)).unwrap(),
            timeout: Duration::from_secs(5),
        }])
        .unwrap(),
        clock,
    };
    let input = |system: &str| notify_downstream::Input {
        system: system.into(),
        ticket_id: "DSAR-15".into(),
        subject: liam(),
        deletion: None,
        selection: None,
        withheld: Vec::new(),
        deferral: None,
        attempt: 2,
    };
    let err = notify_downstream::handle(&deps, input("crm"))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "DownstreamRejected");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("[attempt 3]"));
    assert!(!receiver.received()[0].signature_valid);
    let err = notify_downstream::handle(&deps, input("billing"))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "StepMisconfigured");
}

#[tokio::test]
async fn intake_keeps_no_name_and_a_retried_record_write_is_answered_idempotently() {
    let clock: SharedClock = Arc::new(VirtualClock::starting_at(START.parse().unwrap()));
    let deps = intake::Deps {
        pseudonymiser: Arc::new(pseudonymiser()),
        config: IntakeConfig::default(),
        downstream: vec!["crm".into()],
        poll_budget: PollBudget::default(),
        clock: clock.clone(),
        archive: None,
    };
    let ticket: Value = json!({
        "ticket": {"id": "DSAR-16", "source": "onetrust", "receivedAt": "2026-11-20T10:15:00Z",
            "identityVerifiedAt": "2026-11-21T09:00:00Z", "verificationMethod": "account-login",
            "signOff": {"by": "dpo@brightwater.example", "role": "DPO", "at": "2026-11-21T11:00:00Z"}},
        "subject": {"name": "Liam Walsh", "phones": [{"number": "+353 83 456 7890", "from": "2016-04-01"}]}
    });
    let exec = ExecutionRef {
        id: "arn:aws:states:us-east-1:123456789012:execution:gdpr-erasure:DSAR-16".into(),
        name: "DSAR-16".into(),
        started_at: None,
    };
    let out = intake::handle(
        &deps,
        intake::Input {
            input: ticket.into(),
            execution: exec.clone(),
        },
    )
    .await
    .unwrap();
    assert!(out.valid);
    let state = serde_json::to_string(&out).unwrap();
    assert!(
        !state.contains("Liam") && !state.contains("dpo@"),
        "the name and the DPO's address go no further"
    );
    assert_eq!(
        out.identifiers.items.len(),
        2,
        "the phone and the name, as refs"
    );
    assert_eq!(out.downstream, ["crm"]);

    // An invalid ticket's state, through WriteRecord twice with the same writtenAt.
    let refused = intake::handle(
        &deps,
        intake::Input {
            input: json!({"rawTicket": "{\"ticket\": "}).into(),
            execution: exec,
        },
    )
    .await
    .unwrap();
    assert!(!refused.valid);
    let dir = tempfile::tempdir().unwrap();
    let archive: Arc<dyn Archive> =
        Arc::new(LocalArchive::new(dir.path(), RetentionPolicy::default()));
    let wr = write_record::Deps {
        pseudonymiser: Some(Arc::new(pseudonymiser())),
        fallback: None,
        archive,
        pipeline_version: "test".into(),
        definition_digest: None,
        letters: None,
    };
    let mut input = serde_json::to_value(&refused).unwrap();
    let o = input.as_object_mut().unwrap();
    o.remove("subject");
    o.insert(
        "execution".into(),
        json!({"id": "arn:x:DSAR-16", "name": "DSAR-16"}),
    );
    o.insert("writtenAt".into(), json!("2026-11-23T09:00:00.123456Z"));
    let first = write_record::handle(&wr, serde_json::from_value(input.clone()).unwrap())
        .await
        .unwrap();
    let retry = write_record::handle(&wr, serde_json::from_value(input.clone()).unwrap())
        .await
        .unwrap();
    assert_eq!(first.outcome, "REJECTED");
    assert!(!first.already_present && retry.already_present);
    assert_eq!(
        (first.key.clone(), first.digest.clone()),
        (retry.key, retry.digest)
    );
    assert!(
        first.key.ends_with("20261123T090000.123Z-REJECTED.json"),
        "{}",
        first.key
    );
    // A later execution of the ticket chains to it.
    input["writtenAt"] = json!("2026-11-24T09:00:00Z");
    let next = write_record::handle(&wr, serde_json::from_value(input).unwrap())
        .await
        .unwrap();
    assert_eq!(next.sequence, 2);
    let _: DateTime<Utc> = next.retain_until;
}

#[tokio::test]
async fn a_follow_up_tickets_resumes_goes_from_intake_into_its_record() {
    let clock: SharedClock = Arc::new(VirtualClock::starting_at(START.parse().unwrap()));
    let deps = intake::Deps {
        pseudonymiser: Arc::new(pseudonymiser()),
        config: IntakeConfig::default(),
        downstream: vec![],
        poll_budget: PollBudget::default(),
        clock,
        archive: None,
    };
    let follow_up: Value = json!({
        "ticket": {"id": "DSAR-17", "source": "onetrust", "receivedAt": "2026-11-20T10:15:00Z",
            "identityVerifiedAt": "2026-11-21T09:00:00Z", "verificationMethod": "account-login",
            "signOff": {"by": "dpo@brightwater.example", "role": "DPO", "at": "2026-11-21T11:00:00Z"},
            "resumes": "DSAR-16"},
        "subject": {"phones": [{"number": "+353 83 456 7890", "from": "2016-04-01"}]}
    });
    let execution = |name: &str| ExecutionRef {
        id: format!("arn:aws:states:us-east-1:123456789012:execution:gdpr-erasure:{name}"),
        name: name.into(),
        started_at: None,
    };
    let out = intake::handle(
        &deps,
        intake::Input {
            input: follow_up.clone().into(),
            execution: execution("DSAR-17"),
        },
    )
    .await
    .unwrap();
    assert!(out.valid);
    assert_eq!(
        out.ticket.resumes.as_ref().map(|r| r.as_str()),
        Some("DSAR-16")
    );

    // WriteRecord: `$.ticket` carries it into the record (here after a failure at
    // Locate, as any path ends there).
    let dir = tempfile::tempdir().unwrap();
    let archive: Arc<dyn Archive> =
        Arc::new(LocalArchive::new(dir.path(), RetentionPolicy::default()));
    let wr = write_record::Deps {
        pseudonymiser: Some(Arc::new(pseudonymiser())),
        fallback: None,
        archive: archive.clone(),
        pipeline_version: "test".into(),
        definition_digest: None,
        letters: None,
    };
    let mut input = serde_json::to_value(&out).unwrap();
    let o = input.as_object_mut().unwrap();
    o.remove("subject");
    o.insert(
        "failure".into(),
        json!({"Error": "GenesysTransient", "Cause": "HTTP 503"}),
    );
    o.insert("failedStage".into(), json!("Locate"));
    o.insert(
        "execution".into(),
        json!({"id": "arn:x:DSAR-17", "name": "DSAR-17"}),
    );
    o.insert("writtenAt".into(), json!("2026-11-23T09:00:00Z"));
    let receipt = write_record::handle(&wr, serde_json::from_value(input).unwrap())
        .await
        .unwrap();
    let entry = archive
        .list(Some("DSAR-17"))
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.key == receipt.key)
        .unwrap();
    let record: Value = serde_json::from_slice(&archive.read(&entry).await.unwrap().bytes).unwrap();
    assert_eq!(record["ticketId"], "DSAR-17");
    assert_eq!(record["resumes"], "DSAR-16");

    // A follow-up Intake refuses resumes nothing: its REJECTED record says null.
    let mut unsigned = follow_up;
    unsigned["ticket"]["signOff"] = Value::Null;
    let refused = intake::handle(
        &deps,
        intake::Input {
            input: unsigned.into(),
            execution: execution("DSAR-18"),
        },
    )
    .await
    .unwrap();
    assert!(!refused.valid);
    assert_eq!(refused.ticket.resumes, None);
}

#[tokio::test]
async fn the_review_summary_and_the_outcome_report_are_signed_posts() {
    use erasure_steps::ports::{
        HttpReviewNotifier, HttpTicketReporter, ReviewNotifier as _, TicketReporter as _,
    };
    use erasure_steps::{notify_review, report_ticket};
    let clock: SharedClock = Arc::new(VirtualClock::starting_at(START.parse().unwrap()));
    let review_key = KeyRing::from_key("review-key".repeat(4)).unwrap();
    let ticket_key = KeyRing::from_key("ticket-key".repeat(4)).unwrap();
    let receiver = DownstreamReceiver::start(
        vec![
            ("review".into(), review_key.clone(), Behaviour::Acknowledge),
            ("dsar".into(), ticket_key.clone(), Behaviour::Acknowledge),
        ],
        clock.clone(),
    )
    .await
    .unwrap();
    let notifier = HttpReviewNotifier::new(
        receiver.endpoint("review"),
        Some("https://approve.example/".into()),
        review_key,
    );
    let deps = notify_review::Deps {
        notifier: Arc::new(notifier),
        clock: clock.clone(),
    };
    let summary: erasure_steps::state::ReviewSummary = serde_json::from_value(json!({
        "ticketId": "DSAR-17", "decision": "review", "reasons": ["active-agent"],
        "counts": {"found": 1, "inScope": 1, "covered": 1, "perConversation": 0, "excluded": 0, "withheld": 0, "recordings": 1},
        "agent": "skip-active", "perConversation": [], "excluded": [], "withheld": [], "deferral": null
    }))
    .unwrap();
    let out = notify_review::handle(
        &deps,
        notify_review::Input {
            ticket_id: "DSAR-17".into(),
            execution_id: "arn:x".into(),
            task_token: "token-1".into(),
            review: summary.clone(),
        },
    )
    .await
    .unwrap();
    assert!(out.notified);
    let reporter = HttpTicketReporter::new(receiver.endpoint("dsar"), ticket_key);
    let deps = report_ticket::Deps {
        reporter: Arc::new(reporter),
        clock,
    };
    report_ticket::handle(
        &deps,
        serde_json::from_value(json!({"ticketId": "DSAR-17", "record": {
            "key": "records/DSAR-17/x.json", "digest": "sha256:00", "versionId": null, "outcome": "COMPLETED",
            "sequence": 1, "alreadyPresent": false, "retainUntil": "2033-11-23T09:00:00Z"}}))
        .unwrap(),
    )
    .await
    .unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert!(
        received
            .iter()
            .all(|r| r.signature_valid && r.ticket_id.as_deref() == Some("DSAR-17"))
    );

    // Signed with another key: the endpoint refuses, and the step says so by name.
    let wrong = HttpReviewNotifier::new(
        receiver.endpoint("review"),
        None,
        KeyRing::from_key("x".repeat(32)).unwrap(),
    );
    let notice = erasure_steps::ports::ReviewNotice {
        ticket_id: "DSAR-17".into(),
        execution_id: "arn:x".into(),
        task_token: "t".into(),
        approval_url: None,
        review: summary,
        sent_at: START.parse().unwrap(),
    };
    assert_eq!(
        wrong.notify(&notice).await.unwrap_err().name(),
        "ReviewerRejected"
    );
    // Nobody listening: worth retrying.
    let gone = HttpTicketReporter::new(
        "http://127.0.0.1:9/".parse().unwrap(),
        KeyRing::from_key("k".repeat(32)).unwrap(),
    );
    let report = erasure_steps::ports::TicketReport {
        ticket_id: "DSAR-17".into(),
        outcome: "COMPLETED".into(),
        record_key: "k".into(),
        record_digest: "d".into(),
        sequence: 1,
        reported_at: START.parse().unwrap(),
        letters: vec![],
    };
    let err = gone.report(&report).await.unwrap_err();
    assert_eq!(err.name(), "TicketSystemUnavailable");
    assert!(err.is_retryable());
}

/// A ticket with a key given twice is refused by Intake, whether it arrives as the
/// execution input (read from the invocation's bytes) or as `{rawTicket}` text, with
/// the error the other entry points give: `duplicate-key` at the path, nothing of the
/// ticket read (not even which of two ids).
#[tokio::test]
async fn intake_refuses_a_key_given_twice_in_either_form() {
    let clock: SharedClock = Arc::new(VirtualClock::starting_at(START.parse().unwrap()));
    let deps = intake::Deps {
        pseudonymiser: Arc::new(pseudonymiser()),
        config: IntakeConfig::default(),
        downstream: vec![],
        poll_budget: PollBudget::default(),
        clock,
        archive: None,
    };
    let ticket = r#"{"ticket": {"id": "DSAR-17", "source": "onetrust", "receivedAt": "2026-11-20T10:15:00Z",
        "identityVerifiedAt": "2026-11-21T09:00:00Z", "verificationMethod": "account-login",
        "signOff": {"by": "dpo@brightwater.example", "role": "DPO", "at": "2026-11-21T11:00:00Z"}},
        "subject": {"phones": [{"number": "+353 83 456 7890", "from": "2016-04-01"}]},
        "subject": {"phones": [{"number": "+353 83 999 0000", "from": "2016-04-01"}]}}"#;
    let execution =
        r#"{"id": "arn:aws:states:us-east-1:123456789012:execution:gdpr-erasure:x", "name": "x"}"#;
    let as_input: intake::Input = serde_json::from_str(&format!(
        r#"{{"input": {ticket}, "execution": {execution}}}"#
    ))
    .unwrap();
    let raw = serde_json::json!({ "input": {"rawTicket": ticket} });
    let mut as_raw = raw.as_object().unwrap().clone();
    as_raw.insert("execution".into(), serde_json::from_str(execution).unwrap());
    let as_raw: intake::Input = serde_json::from_value(Value::Object(as_raw)).unwrap();
    for input in [as_input, as_raw] {
        let out = intake::handle(&deps, input).await.unwrap();
        assert!(!out.valid);
        let reasons = &out.rejection.as_ref().unwrap().reasons;
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        assert_eq!(
            (reasons[0].field.as_str(), reasons[0].code.as_str()),
            ("subject", "duplicate-key")
        );
        let state = serde_json::to_string(&out).unwrap();
        assert!(!state.contains("DSAR-17") && !state.contains("456 7890"));
    }
}

/// What a review weighed: no holds, the given conversations in scope, the subject as
/// `liam()` with one phone, its pseudonym made with the steps' test key.
fn reviewed_without_holds(
    register: &[u8],
    in_scope: &[String],
) -> erasure_steps::hold_recheck::HoldsAtReview {
    let p = pseudonymiser();
    let phone = liam().phones[0].number.clone();
    serde_json::from_value(json!({
        "registerDigest": erasure_steps::gdpr::sha256_of(register),
        "identifiers": {
            "keyId": "steps-test",
            "items": [{"kind": "phone", "ref": p.phone(&phone), "index": 0}]
        },
        "inScope": in_scope,
        "withheld": [],
        "deferral": null,
        "timeZone": "Europe/Dublin"
    }))
    .unwrap()
}

fn static_register(bytes: &[u8]) -> Arc<dyn erasure_steps::ports::HoldRegisterSource> {
    Arc::new(erasure_steps::ports::StaticHoldRegister {
        name: "test register".into(),
        bytes: bytes.to_vec(),
    })
}

#[tokio::test]
async fn erase_reads_the_holds_again_and_sends_nothing_past_one_the_review_did_not_weigh() {
    let w = world().await;
    let in_scope = vec![w.emu.conversations()[0].id.clone()];
    let reviewed = br#"{"holds": []}"#.to_vec();
    let erase_with = |register: &[u8], ticket: &str| {
        let deps = erase::Deps {
            genesys: w.deps.clone(),
            holds: static_register(register),
        };
        let input = erase::Input {
            holds_at_review: Some(reviewed_without_holds(&reviewed, &in_scope)),
            ..erase_liam(ticket, 0)
        };
        async move { erase::handle(&deps, input).await }
    };
    let deletes = || {
        w.emu
            .gdpr_submissions(genesys_emulator::RequestType::GdprDelete)
    };

    // A hold on a conversation in scope, placed after the review.
    let on_conversation = serde_json::to_vec(&json!({"holds": [{
        "holdId": "LH-LATE-1", "conversationIds": [in_scope[0]], "expiry": null
    }]}))
    .unwrap();
    let err = erase_with(&on_conversation, "DSAR-40").await.unwrap_err();
    assert_eq!(err.name(), "HoldsChangedSinceReview");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("LH-LATE-1"), "{err}");
    // A hold naming the subject by pseudonym.
    let p = pseudonymiser();
    let on_subject = serde_json::to_vec(&json!({"keyId": "steps-test", "holds": [{
        "holdId": "LH-LATE-2", "conversationIds": [],
        "subjectRefs": [p.phone(&liam().phones[0].number)], "expiry": "2027-01-31"
    }]}))
    .unwrap();
    let err = erase_with(&on_subject, "DSAR-41").await.unwrap_err();
    assert_eq!(err.name(), "HoldsChangedSinceReview");
    assert_eq!(deletes(), 0, "nothing sent past either hold");

    // Another matter's hold changes the register but not this ticket: it goes on, and
    // says which version it read.
    let unrelated = serde_json::to_vec(&json!({"holds": [{
        "holdId": "LH-OTHER", "conversationIds": ["64458958-dd7f-4f46-acaa-e3121b376b94"],
        "expiry": null
    }]}))
    .unwrap();
    let d = erase_with(&unrelated, "DSAR-42").await.unwrap();
    assert_eq!(deletes(), 1);
    assert_eq!(
        d.hold_register_at_erase.as_deref(),
        Some(erasure_steps::gdpr::sha256_of(&unrelated).as_str())
    );
    // Already sent: a retry reads nothing again (and a hold now stops nothing sent).
    let again = erase_with(&on_conversation, "DSAR-42").await.unwrap();
    assert!(again.reused);
    assert_eq!(again.hold_register_at_erase, None);
    assert_eq!(deletes(), 1);

    // Deletion protection applied in Genesys after the review.
    w.deps
        .client
        .set_deletion_protection(&in_scope, true)
        .await
        .unwrap();
    let err = erase_with(&reviewed, "DSAR-43").await.unwrap_err();
    assert_eq!(err.name(), "HoldsChangedSinceReview");
    assert!(err.to_string().contains("deletion protection"), "{err}");
    assert_eq!(deletes(), 1);
}

#[tokio::test]
async fn purge_leaves_alone_what_a_legal_hold_placed_after_the_review_may_cover() {
    let w = world().await;
    const CALL: &str = "8a15996b-fa29-4d78-9331-69ded1d4e015";
    const OTHER: &str = "3cd2b595-f15f-4dcb-9218-558b32ac834a";
    let reviewed = br#"{"holds": []}"#.to_vec();
    let both = [CALL.to_owned(), OTHER.to_owned()];
    let purge_with = |register: serde_json::Value, ticket: &str| {
        let deps = purge_recordings::Deps {
            genesys: w.deps.clone(),
            holds: static_register(&serde_json::to_vec(&register).unwrap()),
        };
        let input = purge_recordings::Input {
            ticket_id: ticket.into(),
            conversation_ids: vec![CALL.parse().unwrap(), OTHER.parse().unwrap()],
            recordings: vec![],
            holds_at_review: Some(reviewed_without_holds(&reviewed, &both)),
        };
        async move { purge_recordings::handle(&deps, input).await.unwrap() }
    };
    let touched = |c: &str| {
        w.emu
            .recordings()
            .into_iter()
            .any(|(cid, r)| cid == c && r.delete_date.is_some())
    };
    // A hold naming the subject: no recording of hers is touched.
    let p = pseudonymiser();
    let out = purge_with(
        json!({"keyId": "steps-test", "holds": [{
            "holdId": "LH-LATE-3", "conversationIds": [],
            "subjectRefs": [p.phone(&liam().phones[0].number)], "expiry": null
        }]}),
        "DSAR-44",
    )
    .await;
    assert_eq!(out.held_since_review.len(), 2);
    assert!(out.purged.is_empty());
    assert!(!touched(CALL) && !touched(OTHER));
    // A hold naming one call: only the other is purged.
    let out = purge_with(
        json!({"holds": [{"holdId": "LH-LATE-4", "conversationIds": [CALL], "expiry": null}]}),
        "DSAR-44",
    )
    .await;
    assert_eq!(out.held_since_review, [CALL.parse().unwrap()]);
    assert!(!touched(CALL), "the held call's recordings stay");
    assert!(touched(OTHER));
    assert!(
        out.purged
            .iter()
            .all(|r| r.conversation_id.as_str() == OTHER)
    );
}

/// A FAILED record's state for `ticket` (its subject: an e-mail and a number), with
/// `failure` as a Catch put it.
async fn failed_state(ticket: &str, failure: Value, after: Option<Value>) -> Value {
    let deps = intake::Deps {
        pseudonymiser: Arc::new(pseudonymiser()),
        config: IntakeConfig::default(),
        downstream: vec![],
        poll_budget: PollBudget::default(),
        clock: Arc::new(VirtualClock::starting_at(START.parse().unwrap())),
        archive: None,
    };
    let t = json!({
        "ticket": {"id": ticket, "source": "onetrust", "receivedAt": "2026-11-20T10:15:00Z",
            "identityVerifiedAt": "2026-11-21T09:00:00Z", "verificationMethod": "account-login",
            "signOff": {"by": "dpo@brightwater.example", "role": "DPO", "at": "2026-11-21T11:00:00Z"}},
        "subject": {"name": "Liam Byrne", "emails": ["Liam.Byrne@example.org"],
            "phones": [{"number": "+353 83 456 7890", "from": "2016-04-01"}]}
    });
    let out = intake::handle(
        &deps,
        intake::Input {
            input: t.into(),
            execution: ExecutionRef {
                id: format!(
                    "arn:aws:states:eu-west-1:123456789012:execution:gdpr-erasure:{ticket}"
                ),
                name: ticket.into(),
                started_at: None,
            },
        },
    )
    .await
    .unwrap();
    let mut input = serde_json::to_value(&out).unwrap();
    let o = input.as_object_mut().unwrap();
    o.remove("subject");
    o.insert("failure".into(), failure);
    o.insert("failedStage".into(), json!("Review"));
    if let Some(a) = after {
        o.insert("after".into(), a);
    }
    o.insert(
        "execution".into(),
        json!({"id": format!("arn:x:{ticket}"), "name": ticket}),
    );
    o.insert("writtenAt".into(), json!("2026-11-23T09:00:00Z"));
    input
}

async fn written(wr: &write_record::Deps, input: Value, ticket: &str) -> Value {
    let receipt = write_record::handle(wr, serde_json::from_value(input).unwrap())
        .await
        .unwrap();
    let entry = (wr.archive.list(Some(ticket)).await.unwrap().into_iter())
        .find(|e| e.key == receipt.key)
        .unwrap();
    serde_json::from_slice(&wr.archive.read(&entry).await.unwrap().bytes).unwrap()
}

#[tokio::test]
async fn no_identifier_of_the_subject_is_locked_in_a_record_whatever_text_reaches_it() {
    let dir = tempfile::tempdir().unwrap();
    let wr = write_record::Deps {
        pseudonymiser: Some(Arc::new(pseudonymiser())),
        fallback: None,
        archive: Arc::new(LocalArchive::new(dir.path(), RetentionPolicy::default())),
        pipeline_version: "test".into(),
        definition_digest: None,
        letters: None,
    };
    let leaks = |record: &Value| {
        let text = record.to_string().to_lowercase();
        [
            "liam.byrne@example.org",
            "834567890",
            "83 456 7890",
            "liam byrne",
        ]
        .iter()
        .filter(|v| text.contains(*v))
        .count()
    };

    // A Step Functions cause quotes the state: only the error name and a hash are kept.
    let cause = "An error occurred while executing the state 'Review'. The JSONPath '$.x' could not be found in the input '{\"subject\":{\"emails\":[\"liam.byrne@example.org\"]}}'";
    let r = written(
        &wr,
        failed_state(
            "DSAR-50",
            json!({"Error": "States.Runtime", "Cause": cause}),
            None,
        )
        .await,
        "DSAR-50",
    )
    .await;
    assert_eq!(r["failure"]["error"], "States.Runtime");
    assert!(
        r["failure"]["detail"].as_str().unwrap().contains("sha256:"),
        "{r:#}"
    );
    assert_eq!(leaks(&r), 0, "{r:#}");

    // Our own error's text is kept, unless it carries the subject (here a number in a
    // national spelling and the name): then it is withheld, and the record says where.
    let own = json!({"Error": "ReviewerRejected", "Cause": json!({
        "errorType": "ReviewerRejected",
        "errorMessage": "review endpoint refused the summary: 400 {\"caller\": \"Liam Byrne\", \"from\": \"(083) 456 7890\"}"
    }).to_string()});
    let r = written(&wr, failed_state("DSAR-51", own, None).await, "DSAR-51").await;
    assert_eq!(leaks(&r), 0, "{r:#}");
    assert!(
        r["failure"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("withheld: it carried the subject's")
    );
    let withheld = (r["escalations"].as_array().unwrap().iter())
        .find(|e| e["reason"] == "personal-data-withheld")
        .expect("the record says what it withheld");
    assert!(
        withheld["detail"]
            .as_str()
            .unwrap()
            .contains("$.failure.detail"),
        "{withheld}"
    );

    // A text that does not carry the subject stays as it is.
    let plain = json!({"Error": "GenesysTransient", "Cause": "HTTP 503"});
    let r = written(&wr, failed_state("DSAR-52", plain, None).await, "DSAR-52").await;
    assert_eq!(r["failure"]["detail"], "HTTP 503");
    assert!(
        !(r["escalations"].as_array().unwrap().iter())
            .any(|e| e["reason"] == "personal-data-withheld")
    );
}

#[tokio::test]
async fn a_former_agents_account_loses_every_personal_field_the_users_api_has() {
    let w = world().await;
    const INACTIVE: &str = "53cf884c-799d-4bb1-9752-bfaf819a2c45";
    const MANAGER: &str = "71ecdd34-839b-4a2a-bba2-0cb8af52e86d";
    // Her profile as an org keeps it: title, department, biography, employer, ...
    let client = &w.deps.client;
    let u = client
        .get_user(INACTIVE, genesys::UserLookupState::Active)
        .await
        .unwrap();
    let profile = genesys::UpdateUser {
        title: Some("Senior Agent".into()),
        department: Some("Customer Care".into()),
        biography: Some(
            json!({"biography": "Joined 2019", "hobbies": ["sailing"], "spouse": "Tom"}).into(),
        ),
        employer_info: Some(json!({"employeeId": "E-1042", "dateHire": "2019-03-01"}).into()),
        certifications: Some(vec!["PCI".into()]),
        manager: Some(MANAGER.into()),
        addresses: Some(vec![
            serde_json::from_value(
                json!({"address": "+353871112223", "mediaType": "PHONE", "type": "MOBILE"}),
            )
            .unwrap(),
        ]),
        images: Some(vec![
            json!({"resolution": "x96", "imageUri": "https://example.invalid/me.png"}).into(),
        ]),
        locations: Some(vec![json!({"id": "loc-1"})]),
        ..genesys::UpdateUser::new(u.version)
    };
    client.patch_user(INACTIVE, &profile).await.unwrap();
    let before = w.emu.user(INACTIVE).unwrap();
    assert!(before.profile.len() >= 6, "{:?}", before.profile.keys());

    let out = offboard_agent::handle(
        &w.deps,
        offboard_agent::Input {
            ticket_id: "DSAR-15".into(),
            agent: agent(true),
            user_id: Some(INACTIVE.parse().unwrap()),
        },
    )
    .await
    .unwrap();
    assert_eq!(out.action, AgentAction::Offboarded);
    assert!(out.fields_left.is_empty(), "{:?}", out.fields_left);
    let after = w.emu.user(INACTIVE).unwrap();
    assert_eq!(after.name, offboard_agent::ERASED_NAME);
    assert_eq!((after.title, after.department), (None, None));
    // Only the placeholder name anonymisation itself wrote.
    let left: Vec<(&String, &Value)> = after.profile.iter().collect();
    assert_eq!(
        left,
        [(
            &"preferredName".to_owned(),
            &json!(offboard_agent::ERASED_NAME)
        )],
        "left: {:?}",
        after.profile.keys()
    );
}
