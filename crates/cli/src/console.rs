//! `gdpr-erasure console` (`make console`): the DPO's console on this machine, over
//! the demo's tickets run by the local runner (the reviews wait for a person) and a
//! local archive. Sign-in against any OpenID Connect issuer given, or the local
//! sign-in (this binary only: the AWS function is built without it).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use clap::Args;
use console::auth::Roles;
use console::oidc::{Oidc, OidcSettings};
use console::ports::{Answer, BackendError, Executions, MemoryFirstApprovals, RunningTicket};
use local_runner::{CallbackError, Runner};
use serde_json::Value;

use crate::demo::{SCENARIOS, World, world};
use crate::local;
use crate::run::ticket_input;
use crate::timeline::Calls;

#[derive(Args)]
pub struct ConsoleArgs {
    /// The archive directory the demo tickets' records go to (pseudonym key beside it).
    #[arg(long, default_value = "console-archive", value_name = "DIR")]
    archive: PathBuf,
    /// Where the console listens.
    #[arg(long, default_value = "127.0.0.1:8088")]
    listen: SocketAddr,
    /// The console's URL as the browser sees it (default http://<listen>).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// The OpenID Connect issuer (discovery at <issuer>/.well-known/openid-configuration).
    /// Without it, the local sign-in.
    #[arg(long, env = "CONSOLE_OIDC_ISSUER", value_name = "URL")]
    issuer: Option<String>,
    /// The console's client id at the issuer.
    #[arg(
        long,
        env = "CONSOLE_OIDC_CLIENT_ID",
        default_value = "gdpr-erasure-console"
    )]
    client_id: String,
    /// The environment variable holding the client secret (none: a public client).
    #[arg(long, default_value = "CONSOLE_OIDC_CLIENT_SECRET", value_name = "VAR")]
    client_secret_env: String,
    /// Scopes asked for, space-separated (openid always).
    #[arg(long, default_value = "openid profile email groups")]
    scopes: String,
    /// The ID token claim holding the person's groups (e.g. cognito:groups).
    #[arg(long, default_value = "groups")]
    groups_claim: String,
    /// Groups that may decide (comma-separated); the group is the recorded role.
    #[arg(long, default_value = "DPO,Privacy Officer")]
    deciders: String,
    /// Groups that may read without deciding.
    #[arg(long, default_value = "Auditor")]
    readers: String,
    /// Groups that may see the identifiers a ticket holds.
    #[arg(long, default_value = "DPO")]
    identifier_readers: String,
    /// An approval needs two different people.
    #[arg(long)]
    four_eyes: bool,
    /// Clock skew allowed on token times, in seconds.
    #[arg(long, default_value_t = 30)]
    leeway_seconds: u64,
}

pub async fn run(args: ConsoleArgs) -> ExitCode {
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn serve(args: ConsoleArgs) -> anyhow::Result<()> {
    let calls = Calls::default();
    local::init_logging(&calls);
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen))
        .trim_end_matches('/')
        .to_owned();
    let oidc = match &args.issuer {
        Some(issuer) => Some(
            Oidc::discover(OidcSettings {
                issuer: issuer.clone(),
                client_id: args.client_id.clone(),
                client_secret: std::env::var(&args.client_secret_env).ok(),
                scopes: args.scopes.split_whitespace().map(str::to_owned).collect(),
                leeway: Duration::from_secs(args.leeway_seconds),
            })
            .await
            .context("cannot use the OpenID Connect issuer")?,
        ),
        None => None,
    };
    let World {
        archive,
        dir,
        pseudonymiser,
        clock,
        pipeline,
        receiver: _receiver,
        emulator: _emulator,
        ..
    } = world(args.archive.clone(), None, false).await?;

    // The demo's tickets, all at once: those whose review asks for a person wait.
    let runner = pipeline.runner().clone();
    let mut names = Vec::new();
    for s in SCENARIOS {
        let (name, input) = ticket_input(s.ticket, s.id);
        runner
            .start_named(&name, input)
            .with_context(|| format!("cannot start {name}"))?;
        names.push(name);
    }

    let secure_cookies = public_url.starts_with("https://")
        || public_url.starts_with("http://127.0.0.1")
        || public_url.starts_with("http://localhost");
    let console = console::Console {
        settings: console::Settings {
            public_url: public_url.clone(),
            roles: Roles {
                claim: args.groups_claim.clone(),
                deciders: list(&args.deciders),
                readers: list(&args.readers),
                identifier_readers: list(&args.identifier_readers),
            },
            four_eyes: args.four_eyes,
            secure_cookies,
        },
        local_sign_in: oidc.is_none().then(console::auth::local::LocalSignIn::new),
        oidc,
        executions: Arc::new(LocalExecutions { runner, names }),
        archive: archive.clone(),
        // The demo's letters are written with the example settings (the world's).
        documents: Arc::new(console::documents::ArchiveDocuments {
            archive,
            letters: Some(erasure_steps::local::example_letters()?),
        }),
        first_approvals: Arc::new(MemoryFirstApprovals::default()),
        pseudonymiser,
        clock,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    println!("gdpr-erasure console: {public_url}/");
    println!("  tickets: the demo's, run by the local runner; reviews wait for a person");
    println!("  archive: {}", dir.display());
    match &args.issuer {
        Some(i) => println!("  sign-in: {i} (client {})", args.client_id),
        None => println!("  sign-in: local (this machine only; no identity provider)"),
    }
    axum::serve(listener, console::router(Arc::new(console)))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("the console stopped")?;
    Ok(())
}

/// The local runner's executions of this process, as the console reads them.
struct LocalExecutions {
    runner: Runner,
    names: Vec<String>,
}

#[async_trait]
impl Executions for LocalExecutions {
    async fn running(&self) -> Result<Vec<RunningTicket>, BackendError> {
        let mut out = Vec::new();
        for name in &self.names {
            let Some(execution) = self.runner.execution(name) else {
                continue;
            };
            if !execution.is_running() {
                continue;
            }
            let history = execution.history();
            let entered = history
                .iter()
                .rev()
                .find(|e| e.kind.ends_with("StateEntered"));
            let token = execution
                .pending_task_tokens()
                .into_iter()
                .find(|t| t.state_name == console::ports::AWAIT_DECISION_STATE)
                .map(|t| t.token);
            out.push(RunningTicket {
                ticket_id: name.clone(),
                execution_id: execution.id().to_owned(),
                started_at: history.first().map(|e| e.timestamp).unwrap_or_default(),
                current_state: entered.and_then(|e| e.state_name.clone()),
                since: entered.map(|e| e.timestamp),
                state_input: entered
                    .and_then(|e| e.details.get("input"))
                    .and_then(Value::as_str)
                    .and_then(|s| serde_json::from_str(s).ok()),
                task_token: token,
            });
        }
        Ok(out)
    }

    async fn answer(&self, task_token: &str, answer: &Answer) -> Result<(), BackendError> {
        let sent = match answer {
            Answer::Approve(a) => self.runner.send_task_success(
                task_token,
                serde_json::to_value(a).map_err(|e| BackendError::Unavailable(e.to_string()))?,
            ),
            Answer::Reject(a) => self.runner.send_task_failure(
                task_token,
                endpoints::approval::REJECTED_ERROR,
                &serde_json::to_string(a).map_err(|e| BackendError::Unavailable(e.to_string()))?,
            ),
        };
        sent.map_err(|e: CallbackError| BackendError::NotWaiting(e.to_string()))
    }
}
