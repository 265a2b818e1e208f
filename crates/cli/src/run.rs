//! `gdpr-erasure run`: one ticket through the workflow definition on this machine.
//!
//! Against the in-process emulator by default (one virtual clock for the runner, the
//! emulator and the Genesys client: hours of Genesys work take milliseconds), or a
//! real Genesys org (`--genesys CONFIG`, real time). Prints the timeline and where the
//! record is. Exit codes: see [`crate::local::exit_code`].

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use async_trait::async_trait;
use chrono::{SubsecRound as _, Utc};
use clap::{Args, ValueEnum};
use clock::SharedClock;
use erasure_core::identifiers::{Email, TicketId};
use erasure_core::record::ApprovalDecision;
use erasure_core::strict_json::CheckedJson;
use erasure_steps::local::{
    Decider, LocalPipeline, LocalPorts, PipelineDeps, ReviewAnswer, Reviewer,
};
use erasure_steps::ports::{MemoryReviewNotifier, MemoryTicketReporter};
use erasure_steps::state::ReviewSummary;
use genesys::{ClientConfig, Credentials, Environment, GenesysClient};
use genesys_emulator::Emulator;
use serde_json::{Value, json};

use crate::local::{self, LocalConfig};
use crate::timeline::{self, Calls};

#[derive(Args)]
pub struct RunArgs {
    /// The ticket (JSON, docs/ticket-format.md). Malformed JSON still ends in a
    /// REJECTED record.
    #[arg(long, value_name = "FILE")]
    ticket: PathBuf,
    /// The ticket id when the file cannot be read as a ticket (default: its name).
    #[arg(long, value_name = "ID")]
    ticket_id: Option<String>,
    /// How the review gate is answered, if the review asks: `ask` prompts here.
    #[arg(long, value_enum, default_value = "ask")]
    decision: DecisionArg,
    /// Where the record goes: a directory (default ./gdpr-archive) or s3://BUCKET/PREFIX.
    #[arg(
        long,
        value_name = "DIR|s3://BUCKET/PREFIX",
        default_value = "gdpr-archive"
    )]
    archive: String,
    /// An S3-compatible endpoint for an s3:// archive (a local server).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// `emulator` (in process, virtual clock) or `config`: the org in --config's
    /// `genesys` section, credentials from its environment variables (real time).
    #[arg(long, default_value = "emulator", value_name = "emulator|config")]
    genesys: String,
    /// Local configuration (JSON; README.md "Configuration of local runs").
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum DecisionArg {
    Approve,
    Reject,
    Ask,
}

pub async fn run(args: RunArgs) -> ExitCode {
    match execute(args).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The execution input and its name: the ticket as JSON when it parses as one
/// unambiguous document, else `{rawTicket}` so that Intake refuses it with a REJECTED
/// record (not JSON, or a key given twice: `duplicate-key`, as the webhook answers).
pub fn ticket_input(text: &str, fallback_name: &str) -> (String, Value) {
    match CheckedJson::from_slice(text.as_bytes()) {
        Ok(CheckedJson {
            value: v,
            duplicates,
        }) if duplicates.is_empty() => {
            let name = v
                .pointer("/ticket/id")
                .and_then(Value::as_str)
                .filter(|id| id.parse::<TicketId>().is_ok())
                .map_or_else(|| fallback_name.to_owned(), str::to_owned);
            (name, v)
        }
        _ => (fallback_name.to_owned(), json!({ "rawTicket": text })),
    }
}

async fn execute(args: RunArgs) -> anyhow::Result<u8> {
    let config = LocalConfig::load(args.config.as_deref())?;
    let text = std::fs::read_to_string(&args.ticket)
        .with_context(|| format!("cannot read the ticket {}", args.ticket.display()))?;
    let fallback = args.ticket_id.clone().unwrap_or_else(|| {
        erasure_steps::intake::ticket_id_from_name(
            &args
                .ticket
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    });
    let (name, input) = ticket_input(&text, &fallback);

    let calls = Calls::default();
    local::init_logging(&calls);
    let is_s3 = matches!(
        archive::ArchiveLocation::parse(&args.archive)?,
        archive::ArchiveLocation::S3 { .. }
    );
    if is_s3 && config.pseudonym_key_file.is_none() {
        bail!(
            "an S3 archive needs pseudonymKeyFile in --config (the key is never generated for it)"
        );
    }

    let (archive, archive_dir) = local::open_archive(
        &args.archive,
        args.endpoint_url.clone(),
        config.retention()?,
    )
    .await?;
    let key_file = match (&config.pseudonym_key_file, &archive_dir) {
        (Some(p), _) => p.clone(),
        (None, Some(dir)) => local::default_key_file(dir),
        (None, None) => bail!(
            "an S3 archive needs pseudonymKeyFile in --config (the key is never generated for it)"
        ),
    };
    let pseudonymiser = Arc::new(local::pseudonymiser(
        &key_file,
        archive_dir.is_some(),
        archive_dir.as_deref(),
    )?);

    // The letters' templates are checked before anything runs.
    let letters = config.letters(args.genesys != "emulator")?;

    // Genesys, and the clock everything shares.
    let mut _emulator = None;
    let (clock, genesys, clock_note): (SharedClock, GenesysClient, &str) =
        match args.genesys.as_str() {
            "emulator" => {
                let (_, clock) = local::virtual_clock(Utc::now().trunc_subsecs(0));
                let emu = Emulator::builder()
                    .clock(clock.clone())
                    .seed(1)
                    .start()
                    .await
                    .context("cannot start the emulator")?;
                let oauth = emu.oauth_client();
                let client = GenesysClient::new(
                    ClientConfig::new(
                        Environment::BaseUrl(emu.base_url().parse()?),
                        Credentials::new(oauth.client_id, oauth.client_secret),
                    )
                    .with_clock(clock.clone()),
                )?;
                _emulator = Some(emu);
                (clock, client, "virtual clock, in-process Genesys emulator")
            }
            "config" => {
                let g = config
                    .genesys
                    .as_ref()
                    .context("--genesys config needs a `genesys` section in --config")?;
                let id_var = g.client_id_env.as_deref().unwrap_or("GENESYS_CLIENT_ID");
                let secret_var = g
                    .client_secret_env
                    .as_deref()
                    .unwrap_or("GENESYS_CLIENT_SECRET");
                let id = match &g.client_id {
                    Some(id) => id.clone(),
                    None => {
                        std::env::var(id_var).with_context(|| format!("{id_var} is not set"))?
                    }
                };
                let secret = match &g.client_secret {
                    Some(s) => s.clone(),
                    None => std::env::var(secret_var)
                        .with_context(|| format!("{secret_var} is not set"))?,
                };
                let environment: Environment = g
                    .region
                    .parse()
                    .map_err(|e| anyhow::anyhow!("genesys.region: {e}"))?;
                let clock: SharedClock = Arc::new(clock::SystemClock);
                let client = GenesysClient::new(
                    ClientConfig::new(environment, Credentials::new(id, secret))
                        .with_clock(clock.clone()),
                )?;
                (clock, client, "real time, Genesys Cloud")
            }
            other => bail!("--genesys {other}: expected emulator or config"),
        };

    let reviewer: Arc<dyn Reviewer> = {
        let email: Email = config
            .reviewer
            .as_ref()
            .map_or("dpo@localhost.localdomain", |r| r.email.as_str())
            .parse()
            .map_err(|_| anyhow::anyhow!("reviewer.email is not an e-mail address"))?;
        let role = config
            .reviewer
            .as_ref()
            .and_then(|r| r.role.clone())
            .unwrap_or_else(|| "DPO".into());
        match args.decision {
            DecisionArg::Approve => Arc::new(Decider::new(
                Some(ApprovalDecision::Approve),
                &email,
                &role,
                "cli",
                &pseudonymiser,
                clock.clone(),
            )),
            DecisionArg::Reject => Arc::new(Decider::new(
                Some(ApprovalDecision::Reject),
                &email,
                &role,
                "cli",
                &pseudonymiser,
                clock.clone(),
            )),
            DecisionArg::Ask => Arc::new(TerminalReviewer {
                decider: Decider::new(
                    None,
                    &email,
                    &role,
                    "cli-prompt",
                    &pseudonymiser,
                    clock.clone(),
                ),
            }),
        }
    };

    let reports = Arc::new(MemoryTicketReporter::default());
    let mut deps = PipelineDeps::from_ports(LocalPorts {
        genesys,
        clock: clock.clone(),
        pseudonymiser: pseudonymiser.clone(),
        intake: config.intake()?,
        holds: config.holds(),
        downstream: config.downstream()?,
        archive: archive.clone(),
        notifier: Arc::new(MemoryReviewNotifier::default()),
        reporter: reports.clone(),
        letters,
    });
    // Erase's submission ledger outlives the run: a second run of the ticket (against
    // a real org above all) finds the first one's GDPR_DELETE instead of sending one.
    let ledger_dir = match &archive_dir {
        Some(dir) => local::default_ledger_dir(dir),
        None => std::path::PathBuf::from(".gdpr-erasure-ledger"),
    };
    let ledger: Arc<dyn erasure_steps::ports::SubmissionLedger> =
        Arc::new(erasure_steps::ports::DirLedger {
            root: ledger_dir.clone(),
        });
    deps.genesys.ledger = ledger.clone();
    deps.review.genesys.ledger = ledger;
    let pipeline = LocalPipeline::new(deps, reviewer, clock.clone(), 1)?;
    println!(
        "gdpr-erasure run: ticket {name} ({clock_note}), archive {}, submission ledger {}",
        archive.location(),
        ledger_dir.display()
    );
    // A ticket id runs once. This machine's runner keeps no executions between runs
    // (as Step Functions forgets a name 90 days after it closed): the archive is the
    // memory, and a ticket it holds a record of is answered as a repeat.
    if archive::key::validate_ticket_id(&name).is_ok()
        && let Some(closed) = archive::closed_ticket(archive.as_ref(), &name).await?
    {
        println!("\nRepeat    ticket {name} already ran; nothing was run again");
        println!("Outcome   {}", closed.outcome.as_str());
        println!(
            "Record    {}",
            record_location(&archive.location(), &closed.record_key)
        );
        println!("Digest    {}", closed.record_digest);
        println!("Sequence  {}", closed.sequence);
        return Ok(local::exit_code(Some(closed.outcome.as_str()), false));
    }
    let outcome = pipeline.run(&name, input).await?;

    println!("\nTimeline");
    print!(
        "{}",
        timeline::render(&outcome.result, &calls.of_ticket(&name))
    );
    let failed = outcome.result.error().is_some();
    match &outcome.record {
        Some(r) => {
            println!("\nOutcome   {}", r.outcome);
            println!("Record    {}", record_location(&archive.location(), &r.key));
            println!("Digest    {}", r.digest);
            println!(
                "Sequence  {}{}",
                r.sequence,
                if r.already_present {
                    " (already present)"
                } else {
                    ""
                }
            );
            println!("Locked    until {}", r.retain_until.format("%Y-%m-%d"));
        }
        None => println!("\nNo record was written."),
    }
    if let Some(e) = outcome.result.error() {
        println!("Execution failed: {} ({})", e.error, e.cause);
    }
    if let Some(report) = reports.reports().last() {
        println!("Ticket    told {} (local reporter)", report.outcome);
        for l in report
            .letters
            .iter()
            .filter(|l| l.format == letters::Format::Text)
        {
            println!("Letter    {} {} {}", l.kind, l.language, l.sha256);
        }
    }
    println!(
        "Took      {} s on the {}",
        outcome.result.elapsed().num_seconds(),
        if clock_note.starts_with("virtual") {
            "virtual clock"
        } else {
            "clock"
        }
    );
    Ok(local::exit_code(
        outcome.record.as_ref().map(|r| r.outcome.as_str()),
        failed,
    ))
}

/// Asks on the terminal. Without one (or on end of input) the review is not answered:
/// the execution records a FAILED outcome rather than guess.
struct TerminalReviewer {
    decider: Decider,
}

#[async_trait]
impl Reviewer for TerminalReviewer {
    async fn answer(&self, summary: &ReviewSummary) -> ReviewAnswer {
        if !std::io::stdin().is_terminal() {
            return ReviewAnswer::NoAnswer(
                "the review needs a DPO and there is no terminal: pass --decision approve|reject"
                    .into(),
            );
        }
        let shown = describe(summary);
        let answer = tokio::task::spawn_blocking(move || {
            println!("\n{shown}");
            loop {
                print!("Approve the erasure? [approve/reject] ");
                let _ = std::io::stdout().flush();
                let mut line = String::new();
                match std::io::stdin().lock().read_line(&mut line) {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => match line.trim().to_lowercase().as_str() {
                        "approve" | "a" | "yes" | "y" => return Some(ApprovalDecision::Approve),
                        "reject" | "r" | "no" | "n" => return Some(ApprovalDecision::Reject),
                        _ => {}
                    },
                }
            }
        })
        .await
        .ok()
        .flatten();
        match answer {
            Some(ApprovalDecision::Approve) => {
                ReviewAnswer::Approve(self.decider.approval(ApprovalDecision::Approve))
            }
            Some(ApprovalDecision::Reject) => {
                ReviewAnswer::Reject(self.decider.approval(ApprovalDecision::Reject))
            }
            None => ReviewAnswer::NoAnswer("the review prompt got no answer".into()),
        }
    }
}

/// The review summary as the DPO reads it.
pub fn describe(s: &ReviewSummary) -> String {
    let c = &s.counts;
    let mut out = format!(
        "Review of {}: {:?} ({})\n  conversations found {}, in scope {}, erased by the GDPR delete {}, only per conversation {}, excluded {}, withheld {}; recordings {}\n  user account: {}",
        s.ticket_id,
        s.decision,
        if s.reasons.is_empty() {
            "no findings".to_owned()
        } else {
            s.reasons.join(", ")
        },
        c.found,
        c.in_scope,
        c.covered,
        c.per_conversation,
        c.excluded,
        c.withheld,
        c.recordings,
        s.agent
    );
    if let Some(d) = &s.deferral {
        let holds: Vec<String> = d
            .holds
            .iter()
            .map(|h| {
                format!(
                    "{} until {}",
                    h.hold_id,
                    h.expiry.map_or("further notice".into(), |e| e.to_string())
                )
            })
            .collect();
        out.push_str(&format!("\n  holds: {}", holds.join("; ")));
    }
    out
}

/// Where a record is, as a person would open it: the archive's location and the key.
pub fn record_location(archive: &str, key: &str) -> String {
    if archive.starts_with("s3://") {
        let bucket = archive
            .trim_start_matches("s3://")
            .split('/')
            .next()
            .unwrap_or_default();
        format!("s3://{bucket}/{key}")
    } else {
        format!("{}/{key}", archive.trim_end_matches('/'))
    }
}
