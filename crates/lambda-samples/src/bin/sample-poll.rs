//! The Poll step's Genesys calls as a Rust Lambda function: a client-credentials
//! token, then the GDPR request's status. The same two calls as
//! `bench/guide-step/poll.py`, so `make bench` compares like with like.
//!
//! Configuration (function environment): `GENESYS_BASE_URL` (API base),
//! `GENESYS_LOGIN_URL` (token base; default the API base, as the emulator serves both),
//! `GENESYS_CLIENT_ID`, `GENESYS_CLIENT_SECRET`. Input `{"requestId": "<uuid>"}`,
//! output `{"requestId", "status"}`.

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde::Deserialize;
use serde_json::{Value, json};

struct Config {
    base_url: String,
    login_url: String,
    client_id: String,
    client_secret: String,
}

impl Config {
    fn from_env() -> Result<Self, Error> {
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        let base_url = var("GENESYS_BASE_URL")?;
        Ok(Self {
            login_url: std::env::var("GENESYS_LOGIN_URL").unwrap_or_else(|_| base_url.clone()),
            base_url,
            client_id: var("GENESYS_CLIENT_ID")?,
            client_secret: var("GENESYS_CLIENT_SECRET")?,
        })
    }
}

/// The error names Step Functions matches.
#[derive(Debug)]
enum PollError {
    InvalidInput(&'static str),
    /// Network trouble, 429 or 5xx: worth a retry.
    Transient(String),
    /// Any other refusal.
    Rejected(String),
}

impl From<PollError> for Diagnostic {
    fn from(e: PollError) -> Self {
        let (error_type, error_message) = match e {
            PollError::InvalidInput(m) => ("InvalidInput", m.to_string()),
            PollError::Transient(m) => ("GenesysTransient", m),
            PollError::Rejected(m) => ("GenesysRejected", m),
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message,
        }
    }
}

impl From<reqwest::Error> for PollError {
    fn from(e: reqwest::Error) -> Self {
        // Only the status and the kind of failure: URLs and bodies stay out of errors.
        match e.status() {
            Some(s) if s.as_u16() == 429 || s.is_server_error() => {
                Self::Transient(format!("Genesys answered {s}"))
            }
            Some(s) => Self::Rejected(format!("Genesys answered {s}")),
            None if e.is_decode() => Self::Rejected("Genesys answered an unexpected body".into()),
            None => Self::Transient("Genesys could not be reached".into()),
        }
    }
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
}

#[derive(Deserialize)]
struct GdprRequest {
    id: String,
    status: String,
}

async fn handle(
    client: &reqwest::Client,
    config: &Config,
    event: LambdaEvent<Value>,
) -> Result<Value, PollError> {
    let request_id = event
        .payload
        .get("requestId")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .ok_or(PollError::InvalidInput("requestId must be a request id"))?;
    let token: Token = client
        .post(format!("{}/oauth/token", config.login_url))
        .basic_auth(&config.client_id, Some(&config.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let request: GdprRequest = client
        .get(format!(
            "{}/api/v2/gdpr/requests/{request_id}",
            config.base_url
        ))
        .bearer_auth(&token.access_token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(json!({"requestId": request.id, "status": request.status}))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // A configuration error ends the process during init: Runtime.ExitError in Lambda.
    let config = Config::from_env()?;
    let client = reqwest::Client::builder().build()?;
    lambda_runtime::run(service_fn(|event| handle(&client, &config, event))).await
}
