//! The DPO's decision endpoint (Lambda function URL): glue only. The logic is
//! `endpoints::approval`; the environment it reads is in `endpoints::startup`.

use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    // Secrets and clients once per cold start; a bad setting stops here, named.
    let endpoint = endpoints::startup::approval_from_env().await?;
    let endpoint = &endpoint;
    run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(endpoint.handle(request).await)
    }))
    .await
}
