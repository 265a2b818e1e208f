//! Cold starts as Lambda makes them: a new process behind the Runtime API, timed from
//! process start to the first response, for every function given, in the same run,
//! against one in-process Genesys emulator.
//!
//! Two kinds of Rust function are started: the samples, which follow the poll contract
//! the guide's Python step follows (credentials in the environment, `{"requestId"}` in,
//! one token and one status read per invocation), and the real step binaries
//! (`functions/<step>`), configured as `infra/template.yaml` configures them, their
//! Genesys secret read from moto's Secrets Manager at every cold start (as in AWS), fed
//! the payload the definition's Task would give them for the happy-path ticket.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clock::{SharedClock, VirtualClock};
use erasure_steps::gdpr::GenesysDeps;
use erasure_steps::ports::StaticHoldRegister;
use erasure_steps::{intake, locate, poll, review};
use genesys_emulator::{Emulator, RunningEmulator};
use local_runner::lambda_process::Output;
use local_runner::{InvocationRecord, LambdaProcess, LambdaProcessBuilder};
use serde_json::{Value, json};

use crate::report::{Context, Rendered, Section, Target, table};
use crate::stats::{Summary, ms, summarise};
use crate::world::{REGISTER, genesys_client, happy_path, pseudonymiser};

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
    /// A real step binary (`functions/<step>`): its binary name.
    step: Option<String>,
}

/// The step binaries the bench can start, with the Task of the definition whose
/// `Parameters` make each one's payload.
pub const STEPS: &[(&str, &str)] = &[
    ("poll", "PollExport"),
    ("locate", "Locate"),
    ("review", "Review"),
    ("erase", "Erase"),
    ("purge-recordings", "PurgeRecordings"),
    ("verify-erasure", "VerifyErasure"),
];

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
            step: None,
        }
    }

    /// A real step binary (`functions/<step>`, one of [`STEPS`]).
    pub fn step(binary: &Path) -> anyhow::Result<Self> {
        let mut f = Self::rust(binary);
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !STEPS.iter().any(|(b, _)| *b == name) {
            bail!("{name} is not a step the bench can start (one of {STEPS:?})");
        }
        f.label = format!("{name} (Rust step)");
        f.step = Some(name);
        Ok(f)
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
            step: None,
        }
    }

    fn builder(&self, emu: &RunningEmulator, steps: Option<&Steps>) -> LambdaProcessBuilder {
        if let (Some(step), Some(steps)) = (&self.step, steps) {
            let env = steps.env.get(step).map(Vec::as_slice).unwrap_or_default();
            return testkit::lambda::step_process(
                &self.program.to_string_lossy(),
                &steps.moto,
                env,
            )
            .function_name(step)
            .timeout(Duration::from_secs(30))
            .init_timeout(Duration::from_secs(10))
            .output(Output::Null);
        }
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
    /// Genesys calls of each cold invocation, and of each warm one.
    pub cold_calls: Vec<f64>,
    pub warm_calls: Vec<f64>,
}

/// What the step binaries need: moto (their secrets; the review's hold register), their
/// environments, and their payloads.
pub struct Steps {
    pub moto: testkit::MotoServer,
    pub env: HashMap<String, Vec<(String, String)>>,
    pub payloads: HashMap<String, Value>,
    /// Median of GetSecretValue answered by moto, ms: part of every step's cold start.
    pub secret_read_ms: f64,
}

/// The happy-path ticket's state as the definition would carry it into each Task:
/// Intake, Locate, the export completed (the virtual clock moved on), PollExport and
/// Review run in process; each Task's payload is its `Parameters` of the definition
/// over that state.
pub async fn happy_path_state(
    emu: &RunningEmulator,
    clock: Arc<VirtualClock>,
) -> anyhow::Result<Value> {
    let shared: SharedClock = clock.clone();
    let genesys = GenesysDeps::new(genesys_client(emu, shared.clone())?, shared.clone());
    let ticket = happy_path();
    let id = ticket["ticket"]["id"]
        .as_str()
        .context("a ticket id")?
        .to_owned();
    let intake_deps = intake::Deps {
        pseudonymiser: Arc::new(pseudonymiser()),
        config: Default::default(),
        downstream: Vec::new(),
        poll_budget: Default::default(),
        clock: shared.clone(),
        archive: None,
    };
    let input: intake::Input = serde_json::from_value(json!({
        "input": ticket,
        "execution": {"id": format!("arn:aws:states:us-east-1:123456789012:execution:gdpr-erasure:{id}"),
                      "name": id, "startedAt": clock::Clock::now(clock.as_ref())}
    }))?;
    let mut state = serde_json::to_value(intake::handle(&intake_deps, input).await?)?;
    let definition: Value = serde_json::from_str(erasure_steps::local::DEFINITION)?;
    let export = locate::handle(&genesys, task_input(&definition, "Locate", &state)?).await?;
    state["export"] = serde_json::to_value(export)?;
    // The export job finishes on the emulator's clock; nothing moves it after this.
    clock.advance(Duration::from_secs(2 * 3600));
    let polled = poll::handle(&genesys, task_input(&definition, "PollExport", &state)?).await?;
    state["export"] = serde_json::to_value(polled)?;
    let review_deps = review::Deps {
        genesys: genesys.clone(),
        holds: Arc::new(StaticHoldRegister {
            name: "tests/fixtures/holds/register.json".into(),
            bytes: REGISTER.as_bytes().to_vec(),
        }),
        analytics: Default::default(),
    };
    let reviewed = review::handle(&review_deps, task_input(&definition, "Review", &state)?).await?;
    state["review"] = serde_json::to_value(reviewed)?;
    Ok(state)
}

/// A Task's payload: its `Parameters` of the definition over `state` (`key.$` paths
/// `$.a.b`; `$$.State.RetryCount` is 0, a first attempt).
pub fn task_payload(definition: &Value, task: &str, state: &Value) -> anyhow::Result<Value> {
    fn find<'a>(states: &'a Value, task: &str) -> Option<&'a Value> {
        let states = states.as_object()?;
        if let Some(s) = states.get(task) {
            return Some(s);
        }
        states.values().find_map(|s| {
            s["Branches"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|b| find(&b["States"], task))
                .or_else(|| find(&s["ItemProcessor"]["States"], task))
        })
    }
    let params = find(&definition["States"], task)
        .and_then(|s| s["Parameters"].as_object())
        .with_context(|| format!("the definition has no Task {task} with Parameters"))?;
    fill(task, params, state)
}

/// A Parameters object with its `.$` paths read from `state` (nested objects too).
fn fill(
    task: &str,
    params: &serde_json::Map<String, Value>,
    state: &Value,
) -> anyhow::Result<Value> {
    let mut out = serde_json::Map::new();
    for (key, value) in params {
        match (key.strip_suffix(".$"), value.as_str()) {
            (Some(k), Some("$$.State.RetryCount")) => {
                out.insert(k.to_owned(), json!(0));
            }
            (Some(k), Some(path)) => {
                let pointer = path
                    .strip_prefix("$.")
                    .with_context(|| format!("{task}.{key}: {path} is not a $. path"))?
                    .replace('.', "/");
                let v = state
                    .pointer(&format!("/{pointer}"))
                    .with_context(|| format!("{task}.{key}: nothing at {path}"))?;
                out.insert(k.to_owned(), v.clone());
            }
            _ => {
                let v = match value.as_object() {
                    Some(nested) => fill(task, nested, state)?,
                    None => value.clone(),
                };
                out.insert(key.clone(), v);
            }
        }
    }
    Ok(Value::Object(out))
}

fn task_input<T: serde::de::DeserializeOwned>(
    definition: &Value,
    task: &str,
    state: &Value,
) -> anyhow::Result<T> {
    Ok(erasure_steps::lambda::input(
        task,
        task_payload(definition, task, state)?,
    )?)
}

/// Whether a step answered as it should for the happy path.
fn step_answer_ok(step: &str, v: &Value, export_id: &str) -> bool {
    match step {
        "poll" => v["status"] == "COMPLETED" && v["done"] == true,
        "locate" => v["requestId"] == export_id && v["reused"] == true,
        "review" => v["decision"] == "proceed",
        "erase" => v["requestId"].is_string() && v["requestType"] == "GDPR_DELETE",
        "purge-recordings" => v["step"] == "purge",
        "verify-erasure" => v["step"] == "verify",
        _ => false,
    }
}

/// The cold-start section.
pub struct ColdStart {
    pub functions: Vec<Function>,
    /// Cold starts per function (each a new process).
    pub rounds: usize,
    /// Warm invocations after each cold start.
    pub warm: usize,
}

impl ColdStart {
    /// The emulator, and for step binaries moto with their secrets and payloads.
    async fn world(&self) -> anyhow::Result<(RunningEmulator, Option<Steps>, String)> {
        // Now, on a clock that moves only when told: the happy path's deadline is
        // ahead, and no job the steps start finishes while the bench measures.
        let clock = Arc::new(VirtualClock::starting_at(chrono::Utc::now()));
        let emu = Emulator::builder()
            .clock(clock.clone())
            // Hundreds of calls in a minute: the bench measures start-up, not limits.
            .rate_limit_per_minute(u32::MAX)
            .start()
            .await?;
        let state = happy_path_state(&emu, clock.clone()).await?;
        let export_id = state["export"]["requestId"]
            .as_str()
            .context("an export id")?
            .to_owned();
        let wanted: Vec<&String> = self
            .functions
            .iter()
            .filter_map(|f| f.step.as_ref())
            .collect();
        if wanted.is_empty() {
            return Ok((emu, None, export_id));
        }
        let moto = testkit::MotoServer::try_start().map_err(anyhow::Error::msg)?;
        // The review reads the legal-hold register from S3, where the template puts it.
        let s3 = moto.s3_client();
        s3.create_bucket().bucket("hold-register").send().await?;
        s3.put_object()
            .bucket("hold-register")
            .key("legal-holds.json")
            .body(REGISTER.as_bytes().to_vec().into())
            .send()
            .await?;
        let definition: Value = serde_json::from_str(erasure_steps::local::DEFINITION)?;
        let oauth = emu.oauth_client();
        let access = testkit::lambda::GenesysAccess {
            base: emu.base_url(),
            client_id: oauth.client_id.clone(),
            client_secret: oauth.client_secret.clone(),
        };
        let mut env = HashMap::new();
        let mut payloads = HashMap::new();
        for step in wanted {
            let task = STEPS
                .iter()
                .find(|(b, _)| b == step)
                .map(|(_, t)| *t)
                .context("a known step")?;
            env.insert(
                step.clone(),
                testkit::lambda::step_environment(&moto, step, &access).await,
            );
            payloads.insert(step.clone(), task_payload(&definition, task, &state)?);
        }
        // What reading a secret costs here (a warm client: no connection set-up).
        let sm = moto.secrets_client();
        let arn = env
            .values()
            .flatten()
            .find(|(k, _)| k.ends_with("_SECRET_ARN"))
            .map(|(_, v)| v.clone())
            .context("a secret")?;
        let mut reads = Vec::new();
        for _ in 0..11 {
            let t = std::time::Instant::now();
            sm.get_secret_value().secret_id(&arn).send().await?;
            reads.push(ms(t.elapsed()));
        }
        let secret_read_ms = summarise(&reads).map_or(0.0, |s| s.median);
        emu.clear_request_log();
        Ok((
            emu,
            Some(Steps {
                moto,
                env,
                payloads,
                secret_read_ms,
            }),
            export_id,
        ))
    }

    /// Runs every round; each round starts every function once, in an order that
    /// rotates, so drift in the machine's load is shared out.
    /// The measurements, and the median GetSecretValue time when steps were started.
    pub async fn measure(&self) -> anyhow::Result<(BTreeMap<String, Measured>, Option<f64>)> {
        let (emu, steps, export_id) = self.world().await?;
        let sample_payload = json!({"requestId": export_id});
        let mut measured: BTreeMap<String, Measured> = BTreeMap::new();
        for round in 0..self.rounds {
            for i in 0..self.functions.len() {
                let f = &self.functions[(i + round) % self.functions.len()];
                let payload = match (&f.step, &steps) {
                    (Some(step), Some(s)) => s.payloads.get(step).context("a payload")?,
                    _ => &sample_payload,
                };
                let process = f.builder(&emu, steps.as_ref()).build()?;
                let m = measured.entry(f.label.clone()).or_default();
                emu.clear_request_log();
                let cold = process.invoke_measured(payload, None).await;
                check(f, &cold.result, &export_id)?;
                m.cold.push(cold.record);
                let cold_log = emu.request_log();
                emu.clear_request_log();
                let mut last_rss = None;
                for _ in 0..self.warm {
                    let warm = process.invoke_measured(payload, None).await;
                    check(f, &warm.result, &export_id)?;
                    last_rss = warm.record.peak_rss_kib;
                    m.warm.push(warm.record);
                }
                let warm_log = emu.request_log();
                if let Some(rss) = last_rss {
                    m.rss_after_warm.push(rss);
                }
                process.shutdown().await;
                m.cold_calls.push(cold_log.len() as f64);
                if self.warm > 0 {
                    m.warm_calls.push(warm_log.len() as f64 / self.warm as f64);
                }
                same_work(f, &cold_log, &warm_log, self.warm, &export_id)?;
            }
        }
        Ok((measured, steps.map(|s| s.secret_read_ms)))
    }
}

/// The samples and the guide's step do the same work every invocation: one token
/// request and one status read. The poll step keeps its token (as `crates/genesys`
/// does): one token request per cold start, one status read per invocation.
fn same_work(
    f: &Function,
    cold: &[genesys_emulator::LoggedRequest],
    warm: &[genesys_emulator::LoggedRequest],
    warm_n: usize,
    id: &str,
) -> anyhow::Result<()> {
    let count = |log: &[genesys_emulator::LoggedRequest]| {
        let tokens = log
            .iter()
            .filter(|r| r.path == "/oauth/token" && r.status == Some(200))
            .count();
        let reads = log
            .iter()
            .filter(|r| {
                r.method == "GET"
                    && r.path == format!("/api/v2/gdpr/requests/{id}")
                    && r.status == Some(200)
            })
            .count();
        (tokens, reads, log.len())
    };
    let expected = match f.step.as_deref() {
        None => [(1, 1, 2), (warm_n, warm_n, 2 * warm_n)],
        Some("poll") => [(1, 1, 2), (0, warm_n, warm_n)],
        Some(_) => return Ok(()),
    };
    let got = [count(cold), count(warm)];
    if got != expected {
        bail!(
            "{}: (token requests, status reads, calls) cold and warm were {got:?}, expected {expected:?}",
            f.label
        );
    }
    Ok(())
}

fn check(
    f: &Function,
    result: &Result<Value, local_runner::TaskError>,
    id: &str,
) -> anyhow::Result<()> {
    let label = &f.label;
    match (result, &f.step) {
        (Ok(v), Some(step)) if step_answer_ok(step, v, id) => Ok(()),
        (Ok(v), None) if v["requestId"] == id && v["status"].is_string() => Ok(()),
        (Ok(v), _) => bail!("{label} answered {v}, not what its step answers for the happy path"),
        (Err(e), _) => bail!("{label} failed: {}: {}", e.error, e.cause),
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
        let (measured, secret_read_ms) = self.measure().await?;
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
                format!(
                    "{} / {}",
                    summarise(&m.cold_calls).map_or(0.0, |s| s.median),
                    summarise(&m.warm_calls).map_or(0.0, |s| s.median)
                ),
            ]);
        }
        let mut body = String::new();
        let _ = writeln!(
            body,
            "{} cold starts per function, interleaved in one run (each a new process started \
             through the Runtime API), each followed by {} warm invocations of the same \
             process, against the Genesys emulator in process.\n\n\
             - *(Python)*, *(Rust)*: the guide's poll step and the Rust sample of it. \
             Credentials in the environment; every invocation gets a client-credentials token \
             and reads one GDPR request's status (checked in the emulator's request log).\n\
             - *(Rust step)*: the real `functions/<step>` release binaries, configured as \
             `infra/template.yaml` configures them; every cold start reads the Genesys client \
             from Secrets Manager (moto, at `AWS_ENDPOINT_URL`), as in AWS, before asking for \
             its first event. Each gets the payload its Task's `Parameters` make from the \
             happy-path ticket's state (Intake, Locate, PollExport and Review run in process \
             beforehand, the export completed) and its answer is checked (poll: COMPLETED; \
             locate: the export reused by name; review: proceed; ...). Erase and \
             purge-recordings act on their first invocation (a GDPR_DELETE submitted, which \
             never finishes on the emulator's clock, held still; the recordings given a delete \
             date); later invocations find that done and do less. The poll step keeps its token \
             (`crates/genesys`): one token request per cold start, checked.\n\n\
             Times in milliseconds, memory in MiB; *Genesys calls*: medians per cold \
             invocation / per warm invocation.\n",
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
                "Genesys calls",
            ],
            &rows,
        ));
        if let Some(t) = secret_read_ms {
            let _ = writeln!(
                body,
                "\nOf each step's init, reading its secret takes about {t:.1} ms here (median of \
                 11 GetSecretValue calls to moto, a Python server, from a warm client); the \
                 Python step reads no secret, so the comparison leaves it that much ahead."
            );
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use erasure_steps::lambda::input;
    use erasure_steps::{erase, purge_recordings, verify_erasure};

    #[tokio::test]
    async fn every_step_gets_the_payload_its_task_would_give_it() {
        let clock = Arc::new(VirtualClock::starting_at(chrono::Utc::now()));
        let emu = Emulator::builder()
            .clock(clock.clone())
            .start()
            .await
            .unwrap();
        let state = happy_path_state(&emu, clock).await.unwrap();
        assert_eq!(state["export"]["poll"]["status"], "COMPLETED");
        assert_eq!(state["review"]["decision"], "proceed");
        let definition: Value = serde_json::from_str(erasure_steps::local::DEFINITION).unwrap();
        for (binary, task) in STEPS {
            let p = task_payload(&definition, task, &state).unwrap();
            let parsed = match *binary {
                "poll" => input::<poll::Input>(binary, p).map(drop),
                "locate" => input::<locate::Input>(binary, p).map(drop),
                "review" => input::<review::Input>(binary, p).map(drop),
                "erase" => input::<erase::Input>(binary, p).map(drop),
                "purge-recordings" => input::<purge_recordings::Input>(binary, p).map(drop),
                "verify-erasure" => input::<verify_erasure::Input>(binary, p).map(drop),
                other => panic!("{other} has no input type here"),
            };
            parsed.unwrap_or_else(|e| panic!("{binary}: {e}"));
        }
        let verify = task_payload(&definition, "VerifyErasure", &state).unwrap();
        assert_eq!(verify["conversationIds"].as_array().map(Vec::len), Some(3));
    }
}
