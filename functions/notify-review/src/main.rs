//! The AwaitDecision Task of statemachine/erasure.asl.json: invoked with
//! `lambda:invoke.waitForTaskToken`, so its payload is the Task's `Parameters.Payload`
//! `{ticketId, executionId, taskToken, review}`; sends the summary and the token to the
//! DPO's review endpoint and returns, and the execution waits for the approval
//! endpoint. Glue only: the logic is `erasure_steps::notify_review`; the variables and
//! secrets it reads are in `erasure_steps::env` (docs/workflow.md).

use erasure_steps::{env::Env, lambda, notify_review};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON lines when AWS_LAMBDA_LOG_FORMAT=JSON; the level from AWS_LAMBDA_LOG_LEVEL.
    lambda_runtime::tracing::init_default_subscriber();
    let env = Env::load().await;
    // Secrets and clients once per cold start; a failure reaches Step Functions by name.
    let deps = lambda::init(notify_review::Deps::from_env(&env)).await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        lambda::invoke("notify_review", event.payload, |input| {
            notify_review::handle(deps, input)
        })
        .await
    }))
    .await
}
