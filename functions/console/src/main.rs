//! The DPO's console behind API Gateway (HTTP API, JWT authorizer): glue only. The
//! pages and checks are `console`; the environment it reads is `console::aws`.

use std::sync::Arc;

use lambda_http::{Error, run};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    // The issuer's discovery and keys, the pseudonym key, the clients: once per cold start.
    let console = console::aws::from_env().await?;
    run(console::router(Arc::new(console))).await
}
