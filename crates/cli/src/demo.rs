//! `gdpr-erasure demo` (`make demo`): the workflow definition, run on this machine
//! against the Genesys emulator's bundled dataset, for a handful of tickets that show
//! what the pipeline does with the hard cases. Then the archive is verified as an
//! auditor would (`audit verify`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use archive::RetentionPolicy;
use archive::verify::{VerifyOptions, verify};
use chrono::{DateTime, Duration, Utc};
use clap::Args;
use erasure_core::record::ApprovalDecision;
use erasure_steps::local::receiver::{Behaviour, DownstreamReceiver};
use erasure_steps::local::{Decider, LocalPipeline, LocalPorts, PipelineDeps};
use erasure_steps::ports::{
    Downstream, DownstreamSystem, KeyRing, MemoryReviewNotifier, MemoryTicketReporter,
    StaticHoldRegister,
};
use genesys::{ClientConfig, Credentials, Environment, GenesysClient};
use genesys_emulator::Emulator;
use serde_json::Value;

use crate::local;
use crate::run::ticket_input;
use crate::timeline::Calls;

#[derive(Args)]
pub struct DemoArgs {
    /// The demo's archive directory (its pseudonym key goes beside it).
    #[arg(long, default_value = "demo-archive", value_name = "DIR")]
    archive: PathBuf,
}

pub struct Scenario {
    /// The execution name when the ticket cannot be read.
    pub id: &'static str,
    pub title: &'static str,
    pub ticket: &'static str,
    expected: &'static str,
    shows: &'static str,
}

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/tickets/", $name, ".json"))
    };
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        id: "DSAR-2026-1001",
        title: "happy path",
        ticket: fixture!("happy-path"),
        expected: "COMPLETED",
        shows: "Liam Walsh's three recorded calls are deleted by number and CRM contact id; his namesake is untouched (a name is never used to delete).",
    },
    Scenario {
        id: "DSAR-2026-1002",
        title: "recycled number",
        ticket: fixture!("recycled-number"),
        expected: "COMPLETED",
        shows: "Declan Murphy's old mobile now belongs to Priya Nair: the number is left out of the GDPR delete (it cannot be limited in time), his calls go by e-mail and contact id, hers are excluded (OUTSIDE_TENURE). The DPO approved the review.",
    },
    Scenario {
        id: "DSAR-2026-1003",
        title: "legal hold",
        ticket: fixture!("legal-hold"),
        expected: "DEFERRED",
        shows: "Grace O'Connor's two calls are under legal hold LH-2026-014 until 2027-06-30 (register): withheld under Art. 17(3)(e), her e-mails and chat erased, erasure resumes 2027-07-01.",
    },
    Scenario {
        id: "DSAR-2026-1004",
        title: "deletion protection",
        ticket: fixture!("deletion-protection"),
        expected: "PARTIAL",
        shows: "Tomasz Nowak's complaint call is protected in Genesys. Every one of his calls is reached by the same contact id, so nothing can be deleted by identifier without reaching it: the others' recordings are purged, the conversations named as gaps for a person (PARTIAL, escalated).",
    },
    Scenario {
        id: "DSAR-2026-1005",
        title: "former agent",
        ticket: fixture!("former-agent"),
        expected: "COMPLETED",
        shows: "Aoife Byrne, an ex-agent who now calls in: her customer data is erased and her user account anonymised, deactivated and deleted; the calls she handled for other customers are excluded (HANDLED_AS_AGENT).",
    },
    Scenario {
        id: "DSAR-2026-1006",
        title: "active agent",
        ticket: fixture!("active-agent"),
        expected: "COMPLETED",
        shows: "Niamh Doyle works here: the review stops for the DPO, her customer data is erased after approval, her user account is never touched (SKIPPED_ACTIVE).",
    },
    Scenario {
        id: "DSAR-2026-1007",
        title: "no sign-off",
        ticket: fixture!("rejected-no-sign-off"),
        expected: "REJECTED",
        shows: "No DPO sign-off, no identity verification: refused with every reason; Genesys is never called.",
    },
    Scenario {
        id: "DSAR-2026-1008",
        title: "malformed JSON",
        ticket: fixture!("malformed"),
        expected: "REJECTED",
        shows: "A ticket that is not JSON still ends in a REJECTED record (line and column, never the text).",
    },
];

const REGISTER: &str = include_str!("../../../tests/fixtures/holds/register.json");
/// The demo's world starts after the dataset's date and the tickets' sign-offs.
const START: &str = "2026-11-23T09:00:00Z";
const DEMO_DPO: &str = "maeve.brennan@brightwater.example";

pub async fn run(args: DemoArgs) -> ExitCode {
    match execute(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The demo's world: archive, emulator, downstream receiver and the local pipeline,
/// on one virtual clock. `decision` is how the review gate is answered (`None`
/// leaves reviews waiting, for the console).
pub struct World {
    pub archive: Arc<dyn archive::Archive>,
    pub dir: PathBuf,
    pub key_file: PathBuf,
    pub pseudonymiser: Arc<erasure_core::pseudonym::Pseudonymiser>,
    pub clock: clock::SharedClock,
    pub start: DateTime<Utc>,
    pub pipeline: LocalPipeline,
    pub receiver: DownstreamReceiver,
    pub reports: Arc<MemoryTicketReporter>,
    pub emulator: genesys_emulator::RunningEmulator,
}

/// `later_checks`: whether executions check their erasure again after the record
/// (the demo: yes; the console, which runs its tickets all at once on the one virtual
/// clock: no, or checks weeks after a record would carry the clock past the reviews
/// left waiting, whose tasks would time out).
pub async fn world(
    dir: PathBuf,
    decision: Option<ApprovalDecision>,
    later_checks: bool,
) -> anyhow::Result<World> {
    let (archive, _) = local::open_archive(
        dir.to_str().context("the archive path is not UTF-8")?,
        None,
        RetentionPolicy::default(),
    )
    .await?;
    let key_file = local::default_key_file(&dir);
    let pseudonymiser = Arc::new(local::pseudonymiser(&key_file, true, Some(&dir))?);

    // A rerun starts a minute later per run already in the archive: each ticket's
    // record and checks come a minute after the last run's (keys never collide, chains
    // grow), and the tickets meet the same dates (deadlines, holds) every time.
    let mut runs: BTreeMap<String, i64> = BTreeMap::new();
    for e in archive.list(None).await? {
        if archive::key::parse_record_file_name(&e.file_name).is_some() {
            *runs.entry(e.ticket_folder.clone()).or_default() += 1;
        }
    }
    let start: DateTime<Utc> = START.parse::<DateTime<Utc>>()?
        + Duration::minutes(runs.values().copied().max().unwrap_or(0));
    let (_, clock) = local::virtual_clock(start);
    let emu = Emulator::builder()
        .clock(clock.clone())
        .seed(2026)
        .start()
        .await
        .context("cannot start the emulator")?;
    let oauth = emu.oauth_client();
    let genesys = GenesysClient::new(
        ClientConfig::new(
            Environment::BaseUrl(emu.base_url().parse()?),
            Credentials::new(oauth.client_id, oauth.client_secret),
        )
        .with_clock(clock.clone()),
    )?;

    let systems = [
        ("crm", "demo-crm-key-0123456789abcdef0123456789"),
        ("warehouse", "demo-warehouse-key-0123456789abcdef0123"),
    ];
    let keys: Vec<(String, KeyRing, Behaviour)> = systems
        .iter()
        .map(|(n, k)| {
            let key = KeyRing::from_key(k).context("a demo key")?;
            Ok(((*n).to_owned(), key, Behaviour::Acknowledge))
        })
        .collect::<anyhow::Result<_>>()?;
    let receiver = DownstreamReceiver::start(keys.clone(), clock.clone()).await?;
    let downstream = Downstream::new(
        keys.into_iter()
            .map(|(name, key, _)| DownstreamSystem {
                endpoint: receiver.endpoint(&name),
                name,
                key,
                timeout: std::time::Duration::from_secs(10),
            })
            .collect(),
    )?;

    let notices = Arc::new(MemoryReviewNotifier::default());
    let reports = Arc::new(MemoryTicketReporter::default());
    let deps = PipelineDeps::from_ports(LocalPorts {
        genesys,
        clock: clock.clone(),
        pseudonymiser: pseudonymiser.clone(),
        intake: Default::default(),
        holds: Arc::new(StaticHoldRegister {
            name: "the demo's legal-hold register (tests/fixtures/holds/register.json)".into(),
            bytes: REGISTER.as_bytes().to_vec(),
        }),
        downstream,
        archive: archive.clone(),
        notifier: notices.clone(),
        reporter: reports.clone(),
        letters: erasure_steps::local::example_letters()?,
    });
    let mut deps = deps;
    if !later_checks {
        deps.verify.later_checks.clear();
    }
    let dpo = Decider::new(
        decision,
        &DEMO_DPO.parse().context("the demo DPO's address")?,
        "DPO",
        "demo",
        &pseudonymiser,
        clock.clone(),
    );
    let pipeline = LocalPipeline::new(deps, Arc::new(dpo), clock.clone(), 2026)?;

    Ok(World {
        archive,
        dir,
        key_file,
        pseudonymiser,
        clock,
        start,
        pipeline,
        receiver,
        reports,
        emulator: emu,
    })
}

/// Moves a ticket's own dates (received, verified, signed off) `by` later: the demo
/// runs its tickets one after another, and a ticket is received when it is run.
fn arrives_later(input: &mut Value, by: chrono::Duration) {
    let whole_days = chrono::Duration::days(by.num_days());
    for pointer in [
        "/ticket/receivedAt",
        "/ticket/identityVerifiedAt",
        "/ticket/signOff/at",
    ] {
        if let Some(v) = input.pointer_mut(pointer)
            && let Some(t) = v.as_str().and_then(erasure_core::time::parse_rfc3339)
        {
            *v = Value::String((t + whole_days).to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
    }
}

async fn execute(args: DemoArgs) -> anyhow::Result<bool> {
    let calls = Calls::default();
    local::init_logging(&calls);
    let World {
        archive,
        dir,
        key_file,
        start,
        pipeline,
        receiver,
        reports,
        emulator: emu,
        clock,
        ..
    } = world(args.archive.clone(), Some(ApprovalDecision::Approve), true).await?;

    println!("gdpr-erasure demo: the workflow definition on this machine");
    println!(
        "  Genesys: the emulator's Brightwater Energy dataset, in process, on a virtual clock from {}",
        start.format("%Y-%m-%d %H:%M UTC")
    );
    println!(
        "  downstream systems: crm, warehouse (a local receiver checking each HMAC signature)"
    );
    println!("  review gate: answered by the demo DPO, Maeve Brennan ({DEMO_DPO}), who approves");
    println!(
        "  archive: {} (pseudonym key beside it: {})\n",
        dir.display(),
        key_file.display()
    );

    let mut rows = Vec::new();
    let mut all_as_expected = true;
    for s in SCENARIOS {
        let (name, mut input) = ticket_input(s.ticket, s.id);
        // Each execution checks its erasure again for 15 days after its record, on the
        // one virtual clock: the next ticket arrives then, its dates moved with it.
        arrives_later(&mut input, clock.now() - start);
        let outcome = pipeline.run(&name, input).await?;
        let (outcome_text, key, record) = match &outcome.record {
            Some(r) => {
                let bytes = read(&*archive, &r.key).await?;
                let v: Value = serde_json::from_slice(&bytes)?;
                (r.outcome.clone(), r.key.clone(), Some(v))
            }
            None => ("NO RECORD".to_owned(), String::new(), None),
        };
        if outcome_text != s.expected || outcome.result.error().is_some() {
            all_as_expected = false;
        }
        println!("  {:<16} {:<20} {}", name, s.title, outcome_text);
        rows.push((name, s, outcome_text, key, record));
    }

    println!(
        "\n{:<16} {:<20} {:<10} {:>5} {:>5} {:>6} {:>4} {:>5} {:>5} {:>5}  review",
        "ticket", "scenario", "outcome", "found", "scope", "erased", "pend", "excl", "held", "recs"
    );
    for (name, s, outcome, _, record) in &rows {
        let c = |f: &str| {
            record
                .as_ref()
                .map_or("-".to_owned(), |r| r["counts"][f].to_string())
        };
        let review = record
            .as_ref()
            .map(|r| {
                let rev = &r["decisions"]["review"];
                match (
                    rev["decision"].as_str(),
                    r["decisions"]["approval"]["decision"].as_str(),
                ) {
                    (Some(d), Some(a)) => format!("{d}, DPO: {a}"),
                    (Some(d), None) => d.to_owned(),
                    _ => "-".to_owned(),
                }
            })
            .unwrap_or_default();
        // Still carrying the subject inside Genesys's redaction window when the record
        // was written (a late ticket's short budget).
        let pending = record.as_ref().map_or(0, |r| {
            r["pendingRedaction"]["conversations"]
                .as_array()
                .map_or(0, Vec::len)
        });
        println!(
            "{:<16} {:<20} {:<10} {:>5} {:>5} {:>6} {:>4} {:>5} {:>5} {:>5}  {}",
            name,
            s.title,
            outcome,
            c("conversationsFound"),
            c("conversationsInScope"),
            c("conversationsErased"),
            pending,
            c("conversationsExcluded"),
            c("conversationsWithheld"),
            c("recordingsPurged"),
            review
        );
    }
    println!("\nWhat each shows");
    for (name, s, _, _, _) in &rows {
        println!("  {name}: {}", s.shows);
    }
    println!("\nRecords ({})", dir.display());
    for (_, _, _, key, _) in &rows {
        if !key.is_empty() {
            println!("  {key}");
        }
    }
    // Proof of erasure, not of acceptance: each erasure checked again after its record.
    println!(
        "\nChecked again after the record (days after the GDPR_DELETE completed: result), each a locked verification record under verifications/"
    );
    for (name, _, _, key, _) in &rows {
        // This run's record's checks (a rerun's archive holds the earlier runs' too).
        let digest = match key.is_empty() {
            true => String::new(),
            false => archive::canonical::digest_of(&read(&*archive, key).await?),
        };
        let mut checks = Vec::new();
        for entry in archive.list_verifications(Some(name)).await? {
            let v: Value = serde_json::from_slice(&archive.read(&entry).await?.bytes)?;
            if v["verifies"]["recordDigest"] != digest.as_str() {
                continue;
            }
            let days = |at: &Value| {
                let at = at.as_str().and_then(erasure_core::time::parse_rfc3339);
                let from = v["deletionCompletedAt"]
                    .as_str()
                    .and_then(erasure_core::time::parse_rfc3339);
                at.zip(from).map(|(a, f)| (a - f).num_days())
            };
            checks.push(format!(
                "day {}: {}",
                days(&v["check"]["dueAt"]).unwrap_or_default(),
                v["result"].as_str().unwrap_or("?")
            ));
        }
        if checks.is_empty() {
            println!("  {name:<16} nothing erased by a GDPR_DELETE to check");
        } else {
            println!("  {name:<16} {}", checks.join(", "));
        }
    }
    // The letters as the DSAR tool received them, for a person to read.
    let letters_dir = dir.join("letters");
    println!(
        "\nLetters to the data subjects, as the DSAR tool received them (English; German as .de.*, HTML as .html)"
    );
    for report in reports.reports() {
        let files = crate::letter::save_letters(&letters_dir, &report.ticket_id, &report.letters)?;
        match files.first() {
            Some(first) => println!("  {}", first.display()),
            None => println!("  {:<16} no letter ({})", report.ticket_id, report.outcome),
        }
    }
    println!(
        "  again from its record: gdpr-erasure audit --archive {} letter DSAR-2026-1003 [--lang de] [--html]",
        dir.display()
    );
    println!(
        "\nDownstream acknowledgements: {}; outcome reports to the DSAR tool: {}",
        receiver
            .received()
            .iter()
            .filter(|r| r.reference.is_some())
            .count(),
        reports.reports().len()
    );

    // The day's checkpoint (the watchdog's daily job on AWS): every document written
    // is now in a locked manifest, so a ticket missing as a whole would show.
    println!(
        "\n$ gdpr-erasure audit --archive {} checkpoint",
        dir.display()
    );
    match archive::manifest::checkpoint(&*archive, clock.now()).await? {
        Some(r) => println!("manifest written: {}", r.key),
        None => println!("nothing new since the latest manifest"),
    }

    println!("\n$ gdpr-erasure audit --archive {} verify", dir.display());
    let report = verify(
        &*archive,
        &VerifyOptions {
            min_retention: RetentionPolicy::default(),
            ticket_id: None,
        },
    )
    .await?;
    print!("{}", report.to_text());
    if !all_as_expected {
        println!("\nA scenario did not end as the demo expects: see above.");
    }
    emu.shutdown().await;
    Ok(all_as_expected && report.passed())
}

async fn read(archive: &dyn archive::Archive, key: &str) -> anyhow::Result<Vec<u8>> {
    let entry = archive
        .list(None)
        .await?
        .into_iter()
        .find(|e| e.key == key)
        .with_context(|| format!("record {key} is not listed"))?;
    Ok(archive.read(&entry).await?.bytes)
}
