//! The DSAR tool's webhook (Lambda function URL): glue only. The logic is
//! `endpoints::webhook`; the environment it reads is in `endpoints::startup`.

use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    // Secrets and clients once per cold start; a bad setting stops here, named.
    let webhook = endpoints::startup::webhook_from_env().await?;
    let webhook = &webhook;
    run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(webhook.handle(request).await)
    }))
    .await
}
