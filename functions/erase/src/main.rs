//! The Erase Task of statemachine/erasure.asl.json: submits (or reuses, never
//! resubmits) the GDPR_DELETE. Glue only: the logic is `erasure_steps::erase`; the
//! variables and secrets it reads are in `erasure_steps::env` (docs/workflow.md).

use erasure_steps::{env::Env, erase, lambda};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON lines when AWS_LAMBDA_LOG_FORMAT=JSON; the level from AWS_LAMBDA_LOG_LEVEL.
    lambda_runtime::tracing::init_default_subscriber();
    let env = Env::load().await;
    // Secrets and clients once per cold start; a failure reaches Step Functions by name.
    // The submission ledger is what keeps a retried Erase from a second GDPR_DELETE:
    // never run without it.
    let deps = lambda::init(async {
        env.var("LEDGER_BUCKET")?;
        erase::Deps::from_env(&env).await
    })
    .await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        lambda::invoke("erase", event.payload, |input| erase::handle(deps, input)).await
    }))
    .await
}
