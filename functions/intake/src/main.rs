//! The Intake Task of statemachine/erasure.asl.json: validates and normalises the
//! ticket, computes the Art. 12(3) deadline, pseudonymises the identifiers; no Genesys
//! call. Glue only: the logic is `erasure_steps::intake`; the variables and secrets it
//! reads are in `erasure_steps::env` (docs/workflow.md).

use erasure_steps::{env::Env, intake, lambda};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON lines when AWS_LAMBDA_LOG_FORMAT=JSON; the level from AWS_LAMBDA_LOG_LEVEL.
    lambda_runtime::tracing::init_default_subscriber();
    let env = Env::load().await;
    // Secrets and clients once per cold start; a failure reaches Step Functions by name.
    let deps = lambda::init(intake::Deps::from_env(&env)).await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        lambda::invoke("intake", event.payload, |input| intake::handle(deps, input)).await
    }))
    .await
}
