//! The PurgeRecordings Task of statemachine/erasure.asl.json: deletes the recordings of
//! in-scope conversations that no hold (deletion protection, or a legal hold placed after the review) covers. Glue only: the logic is
//! `erasure_steps::purge_recordings`; the variables and secrets it reads are in
//! `erasure_steps::env` (docs/workflow.md).

use erasure_steps::{env::Env, lambda, purge_recordings};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON lines when AWS_LAMBDA_LOG_FORMAT=JSON; the level from AWS_LAMBDA_LOG_LEVEL.
    lambda_runtime::tracing::init_default_subscriber();
    let env = Env::load().await;
    // Secrets and clients once per cold start; a failure reaches Step Functions by name.
    let deps = lambda::init(purge_recordings::Deps::from_env(&env)).await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        lambda::invoke("purge_recordings", event.payload, |input| {
            purge_recordings::handle(deps, input)
        })
        .await
    }))
    .await
}
