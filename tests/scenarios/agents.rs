use std::collections::BTreeSet;

use e2e::Harness;
use genesys_emulator::RequestType;
use genesys_emulator::dataset::UserState;

use crate::{identifier, jobs, strings};

const AOIFE: &str = "1b7e7ad0-0d78-4841-afe9-1396fb86ef4d";
const NIAMH: &str = "0448d776-313c-4652-bb6a-d21b91d9d49a";

#[tokio::test]
async fn former_agent_is_anonymised_deactivated_and_deleted_and_the_calls_she_handled_stay() {
    let h = Harness::builder().start().await;
    let before = h.emulator.user(AOIFE).expect("the user");
    let persona = genesys_emulator::Dataset::bundled()
        .persona("former-agent")
        .cloned()
        .expect("persona");
    let handled: BTreeSet<String> = persona.agent_conversation_ids.iter().cloned().collect();

    let run = h.run("former-agent").await;
    let record = run.record();
    assert_eq!(run.outcome(), "COMPLETED", "{record:#}");

    let user = h
        .emulator
        .user(AOIFE)
        .expect("a soft-deleted user stays readable");
    assert_eq!(user.state, UserState::Deleted);
    assert_ne!(user.name, before.name, "the name is anonymised");
    assert_ne!(user.email, before.email, "the e-mail is anonymised");
    assert!(!user.email.contains("aoife"));
    assert_eq!(record["agent"]["action"], "OFFBOARDED");

    let after = h.conversation_ids();
    for c in &persona.customer_conversation_ids {
        assert!(!after.contains(c), "her own conversation {c} is erased");
    }
    assert!(
        handled.is_subset(&after),
        "other customers' calls she handled stay"
    );
    // The user id never reaches the GDPR_DELETE (it would take every call she handled).
    assert!(
        jobs(&h, RequestType::GdprDelete)
            .iter()
            .all(|d| d.subject.user_id.is_none())
    );
    let user_id = identifier(record, "genesysUserId");
    assert_eq!(strings(&user_id["leftOutBecause"]), ["handled-as-agent"]);
    let excluded: BTreeSet<String> = record["excluded"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|x| x["reason"] == "HANDLED_AS_AGENT")
        .filter_map(|x| x["conversationId"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(excluded, handled);
}

#[tokio::test]
async fn active_agent_is_never_touched_and_goes_to_review() {
    let h = Harness::builder().start().await;
    let before = h.emulator.user(NIAMH).expect("the user");

    let run = h.run("active-agent").await;
    let record = run.record();
    assert!(
        run.states().contains(&"AwaitDecision".to_owned()),
        "a person decides"
    );
    let review = &record["decisions"]["review"];
    assert_eq!(review["decision"], "review");
    assert!(strings(&review["reasons"]).contains(&"active-agent".to_owned()));
    let notices = h.notices.notices();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].review.agent, "skip-active");

    assert_eq!(
        h.emulator.user(NIAMH),
        Some(before),
        "the account is exactly as it was"
    );
    let touched = h
        .emulator
        .request_log()
        .into_iter()
        .any(|r| r.route.as_deref() == Some("/api/v2/users/{userId}") && r.method != "GET");
    assert!(!touched, "no PATCH or DELETE reached the user");
    assert_eq!(record["agent"]["action"], "SKIPPED_ACTIVE");
    assert!(
        jobs(&h, RequestType::GdprDelete)
            .iter()
            .all(|d| d.subject.user_id.is_none())
    );
}

#[tokio::test]
async fn a_former_agents_work_e_mail_in_the_ticket_erases_none_of_the_conversations_she_handled() {
    // One of the e-mails she answered for a customer carries her work address on her
    // leg, as e-mail interactions do; the ticket lists that address too.
    let mut ds = genesys_emulator::Dataset::bundled();
    let work = ds
        .users
        .iter()
        .find(|u| u.id == AOIFE)
        .expect("the user")
        .email
        .clone();
    let persona = ds.persona("former-agent").cloned().expect("persona");
    let handled: BTreeSet<String> = persona.agent_conversation_ids.iter().cloned().collect();
    let marked = persona.agent_conversation_ids[0].clone();
    let conversation = ds
        .conversations
        .iter_mut()
        .find(|c| c.id == marked)
        .expect("a conversation she handled");
    let leg = conversation
        .participants
        .iter_mut()
        .find(|p| p.user_id.as_deref() == Some(AOIFE))
        .expect("her leg");
    leg.email_address = Some(work.clone());
    let h = Harness::builder().dataset(ds).start().await;
    let mut ticket = e2e::ticket("former-agent");
    ticket["subject"]["emails"]
        .as_array_mut()
        .expect("e-mails")
        .push(serde_json::json!(work));

    let run = h.run_input("DSAR-2026-1005", ticket).await;
    let record = run.record();
    assert_eq!(run.outcome(), "COMPLETED", "{record:#}");
    // Every conversation she handled is still there, the marked one included.
    let after = h.conversation_ids();
    assert!(
        handled.is_subset(&after),
        "other customers' conversations stay: missing {:?}, marked {marked}, excluded {}, identifiers {}",
        handled.difference(&after).collect::<Vec<_>>(),
        record["excluded"],
        record["subject"]["identifiers"]
    );
    // The work address is searched, never sent for deletion.
    assert!(
        jobs(&h, RequestType::GdprDelete).iter().all(|d| d
            .subject
            .email_addresses
            .iter()
            .all(|e| !e.as_str().eq_ignore_ascii_case(&work))),
        "no delete names her work address"
    );
    let work_email = (record["subject"]["identifiers"]
        .as_array()
        .expect("identifiers")
        .iter())
    .filter(|i| i["kind"] == "email")
    .find(|i| strings(&i["leftOutBecause"]).contains(&"handled-as-agent".to_owned()))
    .expect("the work e-mail, left out because she handled those conversations");
    assert_eq!(work_email["usage"], "searched-only");
    let excluded: BTreeSet<String> = (record["excluded"].as_array().expect("a list").iter())
        .filter(|x| x["reason"] == "HANDLED_AS_AGENT")
        .filter_map(|x| x["conversationId"].as_str().map(str::to_owned))
        .collect();
    assert!(excluded.contains(&marked), "{excluded:?}");
    // Her own conversations as a customer are still erased (by her own e-mail and number).
    for c in &persona.customer_conversation_ids {
        assert!(!after.contains(c), "her own conversation {c} is erased");
    }
}
