//! The VerifyErasure and VerifyPartialDeletion Task of statemachine/erasure.asl.json:
//! checks which in-scope conversations Genesys still has. Glue only: the logic is
//! `erasure_steps::verify_erasure`; the variables and secrets it reads are in
//! `erasure_steps::env` (docs/workflow.md).

use erasure_steps::{env::Env, lambda, reverify, verify_erasure};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON lines when AWS_LAMBDA_LOG_FORMAT=JSON; the level from AWS_LAMBDA_LOG_LEVEL.
    lambda_runtime::tracing::init_default_subscriber();
    let env = Env::load().await;
    // Secrets and clients once per cold start; a failure reaches Step Functions by name.
    let deps = lambda::init(verify_erasure::Deps::from_env(&env)).await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let out = lambda::invoke("verify_erasure", event.payload, |input| {
            verify_erasure::handle_event(deps, input)
        })
        .await?;
        // A residue after the redaction window: the alarm's metric (EMF, on stdout).
        if let verify_erasure::EventOutput::Later(later) = &out
            && later.found_residue()
        {
            println!("{}", reverify::residue_metric_line(chrono::Utc::now()));
        }
        Ok::<_, erasure_steps::error::StepError>(out)
    }))
    .await
}
