//! The glue a Lambda `main.rs` is made of, exercised as the runtime calls it:
//! `LambdaEvent::new(payload, Context::default())` through `service_fn`, and a step's
//! error reaching Step Functions under its stable name.

use std::sync::Arc;

use clock::{SharedClock, VirtualClock};
use erasure_core::pseudonym::{PseudonymKey, Pseudonymiser};
use erasure_core::ticket::IntakeConfig;
use erasure_steps::ports::Downstream;
use erasure_steps::{intake, notify_downstream};
use lambda_runtime::tower::Service as _;
use lambda_runtime::{Context, Diagnostic, LambdaEvent, service_fn};
use serde_json::json;

fn clock() -> SharedClock {
    Arc::new(VirtualClock::starting_at(
        "2026-11-23T09:00:00Z".parse().unwrap(),
    ))
}

#[tokio::test]
async fn a_step_behind_service_fn_answers_its_output_and_its_errors_by_name() {
    let deps = intake::Deps {
        pseudonymiser: Arc::new(Pseudonymiser::new(
            PseudonymKey::new("k", vec![1; 32]).unwrap(),
        )),
        config: IntakeConfig::default(),
        downstream: vec![],
        poll_budget: intake::PollBudget::default(),
        clock: clock(),
        archive: None,
    };
    let mut service = service_fn(|e: LambdaEvent<intake::Input>| {
        let deps = &deps;
        async move { intake::handle(deps, e.payload).await }
    });
    let payload: intake::Input = serde_json::from_value(json!({
        "input": {"rawTicket": "not json"},
        "execution": {"id": "arn:x", "name": "DSAR-1", "startedAt": "2026-11-23T09:00:00Z"}
    }))
    .unwrap();
    let out = service
        .call(LambdaEvent::new(payload, Context::default()))
        .await
        .unwrap();
    assert!(!out.valid);
    assert_eq!(out.ticket.id, "DSAR-1");

    let deps = notify_downstream::Deps {
        downstream: Downstream::new(vec![]).unwrap(),
        clock: clock(),
    };
    let mut service = service_fn(|e: LambdaEvent<notify_downstream::Input>| {
        let deps = &deps;
        async move {
            notify_downstream::handle(deps, e.payload)
                .await
                .map_err(Diagnostic::from)
        }
    });
    let payload: notify_downstream::Input = serde_json::from_value(json!({
        "system": "crm", "ticketId": "DSAR-1", "deletion": null, "attempt": 0,
        "subject": {"emails": [], "phones": [], "genesysUserId": null, "externalContactId": null}
    }))
    .unwrap();
    let err = service
        .call(LambdaEvent::new(payload, Context::default()))
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "StepMisconfigured");
}
