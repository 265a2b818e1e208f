//! The hourly watchdog (EventBridge schedule): glue only. The logic is
//! `endpoints::watchdog`; the environment it reads is in `endpoints::startup`.

use lambda_http::lambda_runtime::{self, Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    // Secrets and clients once per cold start; a bad setting stops here, named.
    let watchdog = endpoints::startup::watchdog_from_env().await?;
    let watchdog = &watchdog;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        watchdog.handle(event).await
    }))
    .await
}
