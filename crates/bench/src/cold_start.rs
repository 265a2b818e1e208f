//! Cold starts as Lambda makes them: a new process behind the Runtime API, timed from
//! process start to the first response, for every function given, in the same run,
//! against one in-process Genesys emulator.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use genesys_emulator::{Dataset, Emulator, RunningEmulator};
use local_runner::lambda_process::Output;
use local_runner::{InvocationRecord, LambdaProcess, LambdaProcessBuilder};
use serde_json::{Value, json};

use crate::report::{Context, Rendered, Section, Target, table};
use crate::stats::{Summary, ms, summarise};

/// The language a function is written in: Python functions are the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Rust,
    Python,
}

/// A function to start, as the bench runs it.
#[derive(Debug, Clone)]
pub struct Function {
    pub label: String,
    pub language: Language,
    program: PathBuf,
    args: Vec<PathBuf>,
    handler: Option<String>,
    task_root: Option<PathBuf>,
}

impl Function {
    /// A `provided.al2023` binary (the bootstrap itself).
    pub fn rust(binary: &Path) -> Self {
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| binary.display().to_string());
        Self {
            label: format!("{name} (Rust)"),
            language: Language::Rust,
            program: binary.to_path_buf(),
            args: Vec::new(),
            handler: None,
            task_root: None,
        }
    }

    /// A Python function directory holding `bootstrap` (the runtime loop) and the
    /// handler's module, run by `interpreter`.
    pub fn python(interpreter: &Path, dir: &Path, handler: &str) -> Self {
        // The bootstrap is an argument, and the process runs in the task root.
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let dir = dir.as_path();
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        Self {
            label: format!("{name} (Python)"),
            language: Language::Python,
            program: interpreter.to_path_buf(),
            args: vec![dir.join("bootstrap")],
            handler: Some(handler.to_string()),
            task_root: Some(dir.to_path_buf()),
        }
    }

    fn builder(&self, emu: &RunningEmulator) -> LambdaProcessBuilder {
        let oauth = emu.oauth_client();
        let mut b = LambdaProcess::builder(&self.program)
            .args(&self.args)
            .function_name("poll")
            .timeout(Duration::from_secs(30))
            .output(Output::Null)
            .env("GENESYS_BASE_URL", emu.base_url())
            .env("GENESYS_CLIENT_ID", &oauth.client_id)
            .env("GENESYS_CLIENT_SECRET", &oauth.client_secret);
        if let Some(h) = &self.handler {
            b = b.handler(h);
        }
        if let Some(root) = &self.task_root {
            b = b.task_root(root);
        }
        if self.language == Language::Python {
            // Lambda's task root is read-only: no bytecode cache is written there.
            b = b.env("PYTHONDONTWRITEBYTECODE", "1");
        }
        b
    }
}

/// What one function measured over every round.
#[derive(Debug, Default)]
pub struct Measured {
    pub cold: Vec<InvocationRecord>,
    pub warm: Vec<InvocationRecord>,
    /// Peak RSS after the last warm invocation of each process, KiB.
    pub rss_after_warm: Vec<u64>,
}

/// The cold-start section.
pub struct ColdStart {
    pub functions: Vec<Function>,
    /// Cold starts per function (each a new process).
    pub rounds: usize,
    /// Warm invocations after each cold start.
    pub warm: usize,
}

/// Submits a GDPR_EXPORT for a persona of the bundled dataset and returns its id: the
/// request every poll reads.
pub async fn submit_export(emu: &RunningEmulator) -> anyhow::Result<String> {
    let client = reqwest::Client::new();
    let oauth = emu.oauth_client();
    let token: Value = client
        .post(format!("{}/oauth/token", emu.base_url()))
        .basic_auth(&oauth.client_id, Some(&oauth.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let email = Dataset::bundled()
        .personas
        .iter()
        .find_map(|p| p.email_addresses.first().cloned())
        .context("the bundled dataset has no persona with an e-mail address")?;
    let request: Value = client
        .post(format!("{}/api/v2/gdpr/requests", emu.base_url()))
        .bearer_auth(token["access_token"].as_str().unwrap_or_default())
        .json(&json!({"requestType": "GDPR_EXPORT", "subject": {"emailAddresses": [email]}}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    request["id"]
        .as_str()
        .map(str::to_string)
        .context("the emulator answered a request without an id")
}

impl ColdStart {
    /// Runs every round; each round starts every function once, in an order that
    /// rotates, so drift in the machine's load is shared out.
    pub async fn measure(&self) -> anyhow::Result<BTreeMap<String, Measured>> {
        let emu = Emulator::builder()
            // Hundreds of calls in a minute: the bench measures start-up, not limits.
            .rate_limit_per_minute(u32::MAX)
            .start()
            .await?;
        let request_id = submit_export(&emu).await?;
        let payload = json!({"requestId": request_id});
        emu.clear_request_log();
        let mut measured: BTreeMap<String, Measured> = BTreeMap::new();
        for round in 0..self.rounds {
            for i in 0..self.functions.len() {
                let f = &self.functions[(i + round) % self.functions.len()];
                let process = f.builder(&emu).build()?;
                let m = measured.entry(f.label.clone()).or_default();
                let cold = process.invoke_measured(&payload, None).await;
                check(&f.label, &cold.result, &request_id)?;
                m.cold.push(cold.record);
                let mut last_rss = None;
                for _ in 0..self.warm {
                    let warm = process.invoke_measured(&payload, None).await;
                    check(&f.label, &warm.result, &request_id)?;
                    last_rss = warm.record.peak_rss_kib;
                    m.warm.push(warm.record);
                }
                if let Some(rss) = last_rss {
                    m.rss_after_warm.push(rss);
                }
                process.shutdown().await;
            }
        }
        // Every invocation did the same work: one token request and one status read.
        let invocations = self.rounds * (1 + self.warm) * self.functions.len();
        let log = emu.request_log();
        let tokens = log
            .iter()
            .filter(|r| r.path == "/oauth/token" && r.status == Some(200))
            .count();
        let reads = log
            .iter()
            .filter(|r| {
                r.method == "GET"
                    && r.path == format!("/api/v2/gdpr/requests/{request_id}")
                    && r.status == Some(200)
            })
            .count();
        if tokens != invocations || reads != invocations || log.len() != 2 * invocations {
            bail!(
                "{invocations} invocations made {tokens} token requests, {reads} status reads \
                 and {} calls in all: the functions do not do the same work",
                log.len()
            );
        }
        Ok(measured)
    }
}

fn check(
    label: &str,
    result: &Result<Value, local_runner::TaskError>,
    id: &str,
) -> anyhow::Result<()> {
    match result {
        Ok(v) if v["requestId"] == id && v["status"].is_string() => Ok(()),
        Ok(v) => bail!("{label} answered {v} instead of the request's status"),
        Err(e) => bail!("{label} failed: {}: {}", e.error, e.cause),
    }
}

fn durations(
    records: &[InvocationRecord],
    pick: impl Fn(&InvocationRecord) -> Option<Duration>,
) -> Option<Summary> {
    let v: Vec<f64> = records.iter().filter_map(pick).map(ms).collect();
    summarise(&v)
}

fn mib(kib: f64) -> f64 {
    kib / 1024.0
}

fn fmt_ms(s: Option<Summary>) -> String {
    s.map(|s| format!("{:.1}", s.median))
        .unwrap_or_else(|| "-".into())
}

/// Goal for a Rust function's cold start against the Python baseline's.
pub const COLD_START_RATIO_GOAL: f64 = 0.1;
/// Goal for a Rust function's peak RSS, MiB (Lambda's "MB" of memory).
pub const PEAK_RSS_GOAL_MIB: f64 = 32.0;

#[async_trait::async_trait]
impl Section for ColdStart {
    fn title(&self) -> String {
        "Cold start and memory: Rust against the guide's Python step".into()
    }

    async fn run(&self, _ctx: &Context) -> anyhow::Result<Rendered> {
        let measured = self.measure().await?;
        let mut rows = Vec::new();
        let mut cold_medians = BTreeMap::new();
        let mut rss_medians = BTreeMap::new();
        for f in &self.functions {
            let Some(m) = measured.get(&f.label) else {
                continue;
            };
            let cold = durations(&m.cold, |r| Some(r.total)).context("no cold start measured")?;
            let rss_cold: Vec<f64> = m
                .cold
                .iter()
                .filter_map(|r| r.peak_rss_kib)
                .map(|k| mib(k as f64))
                .collect();
            let rss_warm: Vec<f64> = m.rss_after_warm.iter().map(|k| mib(*k as f64)).collect();
            let rss_cold = summarise(&rss_cold);
            let rss_warm = summarise(&rss_warm);
            cold_medians.insert(f.label.clone(), cold.median);
            if let Some(r) = rss_warm.or(rss_cold) {
                rss_medians.insert(f.label.clone(), r.median);
            }
            rows.push(vec![
                f.label.clone(),
                format!("{:.1}", cold.median),
                format!("{:.1}", cold.p90),
                format!("{:.1}–{:.1}", cold.min, cold.max),
                fmt_ms(durations(&m.cold, |r| r.init)),
                fmt_ms(durations(&m.cold, |r| r.duration)),
                fmt_ms(durations(&m.warm, |r| r.duration)),
                rss_cold
                    .map(|s| format!("{:.1}", s.median))
                    .unwrap_or_else(|| "-".into()),
                rss_warm
                    .map(|s| format!("{:.1}", s.median))
                    .unwrap_or_else(|| "-".into()),
            ]);
        }
        let mut body = String::new();
        let _ = writeln!(
            body,
            "{} cold starts per function, interleaved in one run (each a new process started \
             through the Runtime API), each followed by {} warm invocations of the same \
             process. Every invocation gets a client-credentials token and reads one GDPR \
             request's status from the in-process Genesys emulator (checked in its request log: \
             one token request and one status read per invocation). Times in milliseconds, \
             memory in MiB.\n",
            self.rounds, self.warm
        );
        body.push_str(&table(
            &[
                "function",
                "cold start median",
                "cold start p90",
                "cold start range",
                "init median",
                "first invocation median",
                "warm invocation median",
                "peak RSS after first invocation",
                &format!("peak RSS after {} more", self.warm),
            ],
            &rows,
        ));
        body.push_str(
            "\n*cold start*: process start to the first response (what a caller waits for on a \
             cold start, without Lambda's own sandbox set-up); *init*: process start to the \
             runtime's first `next` request; *first invocation*: event handed over to response, \
             on the cold process; *peak RSS*: the process's `VmHWM`.\n",
        );

        let mut targets = Vec::new();
        let baseline = self
            .functions
            .iter()
            .find(|f| f.language == Language::Python)
            .and_then(|f| cold_medians.get(&f.label).map(|m| (f.label.clone(), *m)));
        let mut ratios = Vec::new();
        for f in self
            .functions
            .iter()
            .filter(|f| f.language == Language::Rust)
        {
            let Some(cold) = cold_medians.get(&f.label) else {
                continue;
            };
            match &baseline {
                Some((base_label, base)) => {
                    let ratio = cold / base;
                    ratios.push(vec![
                        f.label.clone(),
                        base_label.clone(),
                        format!("{ratio:.3}x"),
                        format!("{:.1}x faster", base / cold),
                    ]);
                    let met = ratio < COLD_START_RATIO_GOAL;
                    targets.push(Target {
                        what: format!("cold start, {} vs {}", f.label, base_label),
                        goal: format!("under {COLD_START_RATIO_GOAL:.2}x"),
                        measured: format!("{ratio:.3}x ({cold:.1} ms vs {base:.1} ms, medians)"),
                        met: Some(met),
                        margin: if met {
                            format!("{:.1}x below the limit", COLD_START_RATIO_GOAL / ratio)
                        } else {
                            format!("{:.1}x over the limit", ratio / COLD_START_RATIO_GOAL)
                        },
                    });
                }
                None => targets.push(Target {
                    what: format!("cold start, {} vs the Python step", f.label),
                    goal: format!("under {COLD_START_RATIO_GOAL:.2}x"),
                    measured: format!("{cold:.1} ms"),
                    met: None,
                    margin: "no Python function in this run".into(),
                }),
            }
            if let Some(rss) = rss_medians.get(&f.label) {
                let met = *rss < PEAK_RSS_GOAL_MIB;
                targets.push(Target {
                    what: format!("peak RSS, {}", f.label),
                    goal: format!("under {PEAK_RSS_GOAL_MIB:.0} MiB"),
                    measured: format!("{rss:.1} MiB (median)"),
                    met: Some(met),
                    margin: if met {
                        format!("{:.1} MiB to spare", PEAK_RSS_GOAL_MIB - rss)
                    } else {
                        format!("{:.1} MiB over", rss - PEAK_RSS_GOAL_MIB)
                    },
                });
            }
        }
        if !ratios.is_empty() {
            body.push_str("\nRatios of the medians, measured in the same run:\n\n");
            body.push_str(&table(
                &["function", "against", "cold start ratio", ""],
                &ratios,
            ));
            for f in self
                .functions
                .iter()
                .filter(|f| f.language == Language::Rust)
            {
                if let (Some(r), Some((base_label, _))) = (rss_medians.get(&f.label), &baseline)
                    && let Some(b) = rss_medians.get(base_label)
                {
                    let _ = writeln!(
                        body,
                        "\nPeak RSS: {} {r:.1} MiB, {base_label} {b:.1} MiB ({:.1}x less).",
                        f.label,
                        b / r
                    );
                }
            }
        }
        Ok(Rendered { body, targets })
    }
}
