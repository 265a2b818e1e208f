//! What a step's Lambda function needs besides the step itself: its input read from
//! the invocation payload without quoting a value, one span per invocation naming the
//! ticket, and errors that reach Step Functions under their names, also when the cold
//! start itself fails. `functions/<step>/src/main.rs` is glue around these:
//!
//! ```no_run
//! # async fn main_() -> Result<(), lambda_runtime::Error> {
//! use erasure_steps::{env::Env, lambda, poll};
//! use lambda_runtime::{LambdaEvent, service_fn};
//! use serde_json::Value;
//!
//! let env = Env::load().await;
//! let deps = lambda::init(poll::Deps::from_env(&env)).await?;
//! let deps = &deps;
//! lambda_runtime::run(service_fn(move |e: LambdaEvent<Value>| async move {
//!     lambda::invoke("poll", e.payload, |input| poll::handle(deps, input)).await
//! }))
//! .await
//! # }
//! ```
//!
//! Why not `LambdaEvent<poll::Input>`: lambda_runtime would then deserialise the
//! payload itself, and serde's messages quote the offending value (an e-mail address,
//! a phone number) into the error Step Functions records and into the function's log,
//! under a type name (`&lambda_runtime::deserializer::DeserializeError`) that no
//! `ErrorEquals` can match. Here that is `InvalidStepInput`, naming the field only.

use std::future::Future;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::Instrument;

use crate::error::StepError;

/// A step's input from a payload. serde's own messages can quote a value (personal
/// data): only a missing or unknown field, and the fields the step takes, are named.
pub fn input<T: DeserializeOwned>(step: &str, payload: Value) -> Result<T, StepError> {
    serde_json::from_value(payload).map_err(|e| {
        let msg = e.to_string();
        // "missing field `x`" and "unknown field `x`, expected one of `a`, `b`" quote
        // field names only (the payload's keys are the definition's, never data).
        let detail = if msg.starts_with("missing field") || msg.starts_with("unknown field") {
            msg
        } else {
            "a field has the wrong type or value".to_owned()
        };
        StepError::input(format!("{step}: {detail}"))
    })
}

/// The ticket a payload is about, for the invocation's span: `ticketId` (every Task
/// but Intake), `ticket.id` (WriteRecord) or `execution.name` (Intake: executions are
/// named after their ticket). Only a well-formed ticket id, so nothing else reaches a log.
pub fn ticket_of(payload: &Value) -> Option<&str> {
    [
        &payload["ticketId"],
        &payload["ticket"]["id"],
        &payload["execution"]["name"],
    ]
    .into_iter()
    .filter_map(Value::as_str)
    .find(|id| id.parse::<erasure_core::identifiers::TicketId>().is_ok())
}

/// One invocation of a step: the input read from `payload`, `handle` run in a `step`
/// span carrying the step and the ticket, a failure logged by name (messages never
/// quote identifiers) and returned for lambda_runtime to post as the `errorType`.
pub async fn invoke<I, O, F, Fut>(
    step: &'static str,
    payload: Value,
    handle: F,
) -> Result<O, StepError>
where
    I: DeserializeOwned,
    F: FnOnce(I) -> Fut,
    Fut: Future<Output = Result<O, StepError>>,
{
    let span = tracing::info_span!("step", step, ticket = ticket_of(&payload));
    async move {
        let result = match input(step, payload) {
            Ok(i) => handle(i).await,
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            tracing::warn!(error = e.name(), message = %e, "step failed");
        }
        result
    }
    .instrument(span)
    .await
}

/// Awaits a step's dependencies (variables, secrets, clients: once per cold start).
/// On failure the error is logged and posted to the Lambda Runtime API's
/// `/runtime/init/error` under its name, as Lambda's own runtimes report init
/// failures, then returned so `main` exits. Step Functions then sees
/// `StepMisconfigured` (caught: a FAILED record saying which setting) or
/// `SecretUnavailable` (retried), not an anonymous `Runtime.ExitError`, which every
/// Task retries six times.
pub async fn init<D>(deps: impl Future<Output = Result<D, StepError>>) -> Result<D, StepError> {
    match deps.await {
        Ok(d) => Ok(d),
        Err(e) => {
            tracing::error!(error = e.name(), message = %e, "the function cannot start");
            if let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") {
                report_init_error(&api, &e).await;
            }
            Err(e)
        }
    }
}

async fn report_init_error(api: &str, e: &StepError) {
    let body = serde_json::json!({"errorType": e.name(), "errorMessage": e.to_string()});
    let sent = reqwest::Client::new()
        .post(format!("http://{api}/2018-06-01/runtime/init/error"))
        .header("Lambda-Runtime-Function-Error-Type", e.name())
        .timeout(Duration::from_secs(5))
        .json(&body)
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => tracing::error!(status = r.status().as_u16(), "init error not accepted"),
        Err(e) => tracing::error!(error = %e, "init error not reported"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Probe {
        ticket_id: String,
        count: u32,
    }

    #[test]
    fn a_bad_value_is_never_quoted_and_fields_are_named() {
        let e = input::<Probe>(
            "probe",
            json!({"ticketId": "T-1", "count": "jane@example.com"}),
        )
        .unwrap_err();
        assert_eq!(e.name(), "InvalidStepInput");
        assert!(!e.to_string().contains("jane"), "{e}");
        let e = input::<Probe>("probe", json!({"ticketId": "T-1"})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid step input: probe: missing field `count`"
        );
        let e = input::<Probe>("probe", json!({"other": 1})).unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown field `other`, expected `ticketId` or `count`"),
            "{e}"
        );
    }

    #[test]
    fn only_a_well_formed_ticket_id_names_the_span() {
        assert_eq!(ticket_of(&json!({"ticketId": "DSAR-1"})), Some("DSAR-1"));
        assert_eq!(
            ticket_of(&json!({"ticket": {"id": "DSAR-2"}})),
            Some("DSAR-2")
        );
        assert_eq!(
            ticket_of(&json!({"input": {}, "execution": {"name": "DSAR-3"}})),
            Some("DSAR-3")
        );
        assert_eq!(ticket_of(&json!({"ticketId": "jane@example.com"})), None);
        assert_eq!(ticket_of(&json!([])), None);
    }

    #[tokio::test]
    async fn a_failed_invocation_is_named_and_the_handler_not_called() {
        let called = std::sync::atomic::AtomicBool::new(false);
        let e = invoke("probe", json!({"nope": true}), |_: Probe| async {
            called.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        })
        .await
        .unwrap_err();
        assert_eq!(
            lambda_runtime::Diagnostic::from(e).error_type,
            "InvalidStepInput"
        );
        assert!(!called.load(std::sync::atomic::Ordering::SeqCst));
    }
}
