//! `gdpr-erasure emulator serve`: a local Genesys Cloud for people and the demo.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use genesys_emulator::{Dataset, Emulator, JobTiming, OAuthClient};

#[derive(Args)]
pub struct EmulatorArgs {
    #[command(subcommand)]
    command: EmulatorCommand,
}

#[derive(Subcommand)]
enum EmulatorCommand {
    /// Serve the emulator (token endpoint, API and admin API on one port) until Ctrl-C.
    Serve(ServeArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// Dataset JSON file (the emulator's format, see docs/emulator.md); default: the
    /// bundled Brightwater Energy dataset.
    #[arg(long)]
    dataset: Option<PathBuf>,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8089)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// An OAuth client to add beside the dataset's.
    #[arg(long, requires = "client_secret")]
    client_id: Option<String>,
    /// Secret of --client-id.
    #[arg(long, requires = "client_id")]
    client_secret: Option<String>,
    /// Emulated seconds per real second (token lifetimes, rate-limit windows and GDPR
    /// jobs all run on this clock).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// How long GDPR jobs take: `interactive` finishes a typical job in a few seconds,
    /// `realistic` in a few minutes of emulated time.
    #[arg(long, value_enum, default_value = "interactive")]
    jobs: JobProfile,
    /// Requests per minute per OAuth client.
    #[arg(long, default_value_t = 300)]
    rate_limit: u32,
    /// Seed of ids, tokens and probabilistic faults.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum JobProfile {
    Interactive,
    Realistic,
}

pub async fn run(args: EmulatorArgs) -> anyhow::Result<()> {
    match args.command {
        EmulatorCommand::Serve(a) => serve(a).await,
    }
}

async fn serve(a: ServeArgs) -> anyhow::Result<()> {
    // Another subcommand (or main) may already have installed a subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();

    let (dataset, source) = match &a.dataset {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let ds = Dataset::from_json(&text)
                .with_context(|| format!("{} is not a usable dataset", path.display()))?;
            (ds, path.display().to_string())
        }
        None => (Dataset::bundled(), "bundled".to_string()),
    };
    if !(a.speed.is_finite() && a.speed > 0.0) {
        anyhow::bail!("--speed must be a positive number, got {}", a.speed);
    }
    let mut builder = Emulator::builder()
        .dataset(dataset.clone())
        .owned_clock(clock::Clock::now(&clock::SystemClock), a.speed)
        .seed(a.seed)
        .rate_limit_per_minute(a.rate_limit)
        .job_timing(match a.jobs {
            JobProfile::Interactive => JobTiming::interactive(),
            JobProfile::Realistic => JobTiming::default(),
        })
        .bind(SocketAddr::new(a.host, a.port));
    let client = match (a.client_id, a.client_secret) {
        (Some(id), Some(secret)) => {
            let c = OAuthClient {
                client_id: id,
                client_secret: secret,
                name: "command line".into(),
                access_token_validity_seconds: 86_400,
            };
            builder = builder.oauth_client(c.clone());
            c
        }
        _ => dataset.oauth_clients[0].clone(),
    };
    let emu = builder.start().await.context("cannot start the emulator")?;
    let url = emu.base_url();
    println!("Genesys Cloud emulator listening on {url}");
    println!(
        "  dataset: {source} ({} conversations, {} users, {} external contacts)",
        dataset.conversations.len(),
        dataset.users.len(),
        dataset.external_contacts.len()
    );
    println!(
        "  client:  id {}  secret {}",
        client.client_id, client.client_secret
    );
    println!(
        "  token:   curl -s -u '{}:{}' -d grant_type=client_credentials {url}/oauth/token",
        client.client_id, client.client_secret
    );
    println!("  API:     {url}/api/v2/...   admin: {url}/_emulator/   (docs/emulator.md)");
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    emu.shutdown().await;
    Ok(())
}
