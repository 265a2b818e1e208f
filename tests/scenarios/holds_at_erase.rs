//! A hold that appears between the review and the erasure (the DPO may approve up to
//! 14 days later): Erase reads the register and deletion protection again right before
//! its GDPR_DELETEs, and a change that concerns the subject sends the ticket back to
//! review, which weighs it like any hold. Never overridden.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use e2e::Harness;
use erasure_steps::error::StepError;
use erasure_steps::ports::HoldRegisterSource;
use genesys_emulator::RequestType;
use serde_json::json;

use crate::jobs;

/// A register that is `before` for the first `reads` reads, then `after`.
#[derive(Debug)]
struct ChangingRegister {
    before: Vec<u8>,
    after: Vec<u8>,
    reads: usize,
    read: AtomicUsize,
}

#[async_trait]
impl HoldRegisterSource for ChangingRegister {
    async fn load(&self) -> Result<Vec<u8>, StepError> {
        let n = self.read.fetch_add(1, Ordering::SeqCst);
        Ok(if n < self.reads {
            self.before.clone()
        } else {
            self.after.clone()
        })
    }

    fn describe(&self) -> String {
        "a register that changes after the review".into()
    }
}

fn register(holds: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"keyId": null, "holds": holds})).expect("JSON")
}

/// The happy-path ticket run with a register that reads `before` for the first
/// `reads` reads (Review's), then `after`.
async fn run_with_register(h: &Harness, before: &[u8], after: &[u8], reads: usize) -> e2e::Run {
    let changing = Arc::new(ChangingRegister {
        before: before.to_vec(),
        after: after.to_vec(),
        reads,
        read: AtomicUsize::new(0),
    });
    let pipeline = h.pipeline_with(|d| d.review.holds = changing.clone());
    h.run_on(&pipeline, "DSAR-2026-1001", e2e::ticket("happy-path"))
        .await
}

fn digest(bytes: &[u8]) -> String {
    erasure_steps::gdpr::sha256_of(bytes)
}

#[tokio::test]
async fn a_hold_placed_after_the_review_sends_the_ticket_back_and_its_conversation_is_kept() {
    let h = Harness::builder().start().await;
    let liam = Harness::persona_conversations("happy-path");
    let held = liam[0].clone();
    let after = register(json!([{
        "holdId": "LH-2026-099",
        "conversationIds": [held],
        "expiry": "2027-03-31"
    }]));
    let run = run_with_register(&h, &register(json!([])), &after, 1).await;
    let record = run.record();

    // Erase saw the new hold before sending anything, and the ticket was reviewed again.
    let states = run.states();
    let first_erase = states.iter().position(|s| s == "Erase").expect("Erase ran");
    assert_eq!(states[first_erase + 1], "HoldsChanged", "{states:?}");
    assert_eq!(
        states.iter().filter(|s| *s == "Review").count(),
        2,
        "{states:?}"
    );
    // The held conversation is kept, with its hold.
    let withheld: Vec<&serde_json::Value> = (record["withheld"].as_array())
        .expect("withheld")
        .iter()
        .filter(|w| w["conversationId"] == held.as_str())
        .collect();
    assert_eq!(withheld.len(), 1, "{record:#}");
    assert_eq!(withheld[0]["holdId"], "LH-2026-099");
    assert!(
        h.conversation_ids().contains(&held),
        "the held call is still there"
    );
    assert_eq!(record["holdRegister"]["atReview"], digest(&after).as_str());

    // Exactly what a review that had seen the hold from the start decides.
    let seen = Harness::builder().start().await;
    let baseline = run_with_register(&seen, &after, &after, 0).await;
    let b = baseline.record();
    for field in [
        "outcome", "withheld", "excluded", "gaps", "counts", "deferral",
    ] {
        assert_eq!(record[field], b[field], "{field}");
    }
    let subjects = |h: &Harness| -> Vec<String> {
        let mut v: Vec<String> = jobs(h, RequestType::GdprDelete)
            .iter()
            .map(|d| serde_json::to_string(&d.subject).expect("JSON"))
            .collect();
        v.sort();
        v
    };
    assert_eq!(subjects(&h), subjects(&seen), "the same deletes, no more");
}

#[tokio::test]
async fn a_register_change_that_does_not_concern_the_subject_lets_the_erasure_go_on() {
    let h = Harness::builder().start().await;
    let before = register(json!([]));
    let after = register(json!([{
        "holdId": "LH-2026-100",
        "conversationIds": ["64458958-dd7f-4f46-acaa-e3121b376b94"],
        "expiry": null
    }]));
    let run = run_with_register(&h, &before, &after, 1).await;
    let record = run.record();
    assert_eq!(run.outcome(), "COMPLETED", "{record:#}");
    assert_eq!(
        run.states().iter().filter(|s| *s == "Review").count(),
        1,
        "not reviewed again"
    );
    assert_eq!(record["holdRegister"]["atReview"], digest(&before).as_str());
    assert_eq!(record["holdRegister"]["atErase"], digest(&after).as_str());
}

#[tokio::test]
async fn holds_that_keep_changing_end_in_a_failed_record_and_nothing_more_is_sent() {
    let h = Harness::builder().start().await;
    // Grace's calls on her number (the register's LH-2026-014 pair): a hold on one of
    // them keeps the number out of the delete, her e-mail still goes. Every read of
    // this register shows a new hold on one of them.
    #[derive(Debug)]
    struct EverNew {
        read: AtomicUsize,
    }
    #[async_trait]
    impl HoldRegisterSource for EverNew {
        async fn load(&self) -> Result<Vec<u8>, StepError> {
            let n = self.read.fetch_add(1, Ordering::SeqCst);
            let calls = [
                "ab34cc0b-1fd7-4d50-87ce-07e0d91abb35",
                "d96852e6-f8f2-4e25-8142-119fbe15509e",
            ];
            Ok(register(json!([{
                "holdId": format!("LH-NEW-{n}"),
                "conversationIds": [calls[n % 2]],
                "expiry": "2027-03-31"
            }])))
        }

        fn describe(&self) -> String {
            "a register that changes at every read".into()
        }
    }
    let pipeline = h.pipeline_with(|d| {
        d.review.holds = Arc::new(EverNew {
            read: AtomicUsize::new(0),
        })
    });
    let run = h
        .run_on(&pipeline, "DSAR-2026-1003", e2e::ticket("legal-hold"))
        .await;
    let record = run.record();
    assert_eq!(run.outcome(), "FAILED", "{record:#}");
    assert_eq!(record["failure"]["error"], "HoldsChangedSinceReview");
    assert_eq!(record["failure"]["stage"], "Erase");
    assert_eq!(
        run.states().iter().filter(|s| *s == "Review").count(),
        2,
        "reviewed again once"
    );
    assert!(
        jobs(&h, RequestType::GdprDelete).is_empty(),
        "nothing was erased past a hold the review did not weigh"
    );
}

/// An empty register whose second read (Erase's) first puts one call under Genesys
/// deletion protection, as a records manager would while the review waits.
#[derive(Debug)]
struct ProtectsOnSecondRead {
    genesys: genesys::GenesysClient,
    call: String,
    read: AtomicUsize,
}

#[async_trait]
impl HoldRegisterSource for ProtectsOnSecondRead {
    async fn load(&self) -> Result<Vec<u8>, StepError> {
        if self.read.fetch_add(1, Ordering::SeqCst) == 1 {
            self.genesys
                .set_deletion_protection(std::slice::from_ref(&self.call), true)
                .await
                .expect("protection applied");
        }
        Ok(register(json!([])))
    }

    fn describe(&self) -> String {
        "an empty register, and protection applied while the review waits".into()
    }
}

#[tokio::test]
async fn deletion_protection_applied_while_the_review_waits_keeps_that_call() {
    let h = Harness::builder().start().await;
    let call = Harness::persona_conversations("happy-path")[0].clone();
    let source = Arc::new(ProtectsOnSecondRead {
        genesys: h.genesys(),
        call: call.clone(),
        read: AtomicUsize::new(0),
    });
    let pipeline = h.pipeline_with(|d| d.review.holds = source.clone());
    let run = h
        .run_on(&pipeline, "DSAR-2026-1001", e2e::ticket("happy-path"))
        .await;
    let record = run.record();
    let states = run.states();
    let first_erase = states.iter().position(|s| s == "Erase").expect("Erase ran");
    assert_eq!(states[first_erase + 1], "HoldsChanged", "{states:?}");
    assert!(
        h.conversation_ids().contains(&call),
        "the protected call is kept"
    );
    let kept: Vec<&serde_json::Value> = (record["withheld"].as_array().expect("withheld").iter())
        .filter(|w| w["conversationId"] == call.as_str())
        .collect();
    assert_eq!(kept.len(), 1, "{record:#}");
    assert_eq!(kept[0]["reason"], "DELETION_PROTECTION", "{record:#}");
    // Nothing was sent before the second review weighed the protection.
    let after_review = (run.outcome.result.history.iter())
        .filter(|e| e.kind == "TaskStateEntered" && e.state_name.as_deref() == Some("Review"))
        .count();
    assert_eq!(after_review, 2);
}
