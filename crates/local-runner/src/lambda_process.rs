//! A [`Handler`] that hosts a real Lambda function binary (any language) through the
//! AWS Lambda Runtime API, as a Lambda execution environment does.
//!
//! Each execution environment is one child process and one Runtime API server of its
//! own on `127.0.0.1:<port>` (`AWS_LAMBDA_RUNTIME_API`). The first invocation starts the
//! process (a cold start); the process then asks for events with
//! `GET /2018-06-01/runtime/invocation/next` and answers each with `.../response` or
//! `.../error`, and stays warm for the next invocation. One invocation runs at a time
//! per environment; a pool of up to [`LambdaProcessBuilder::max_environments`]
//! environments serves concurrent invocations. Every process is killed by its PID when
//! its environment is dropped: after a crash or a time-out, when an invocation is
//! abandoned (a Task's `TimeoutSeconds` passed), and when the [`LambdaProcess`] goes.
//!
//! Failures become the error Step Functions would see (see docs/local-runner.md):
//! the function's `errorType`, `Runtime.ExitError`, `Sandbox.Timedout`,
//! `Runtime.InvalidEntrypoint`, an init error's own type.
//!
//! Each invocation is recorded ([`InvocationRecord`]): cold or warm, process start to
//! the first `next` request (init), event handed over to response (duration), and the
//! process's peak RSS (`VmHWM` in `/proc/<pid>/status`). `make bench` builds on this.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use crate::handler::{Handler, SharedHandler, TaskContext, TaskError};

/// Largest synchronous response Lambda returns (6 MB).
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

/// Lines of captured output kept ([`Output::Capture`]); older lines are dropped.
const CAPTURED_LINES: usize = 10_000;

/// Environment variables Lambda sets itself; a function's configuration cannot set them.
const RESERVED: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Where the function's stdout and stderr go (CloudWatch Logs, in AWS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Output {
    /// Both streams to this process's stderr (stdout stays free for results).
    #[default]
    Stderr,
    /// Discarded.
    Null,
    /// Kept in memory, line by line ([`LambdaProcess::captured_output`]).
    Capture,
}

/// `AWS_LAMBDA_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `Text`, Lambda's default.
    #[default]
    Text,
    /// `JSON`, as `infra/template.yaml` configures the functions.
    Json,
}

/// Why a [`LambdaProcess`] cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LambdaProcessError {
    /// The environment names a variable Lambda reserves.
    #[error("{0} is reserved by Lambda and cannot be set in the function's environment")]
    ReservedVariable(String),
    /// A setting is out of range.
    #[error("{0}")]
    Invalid(String),
}

/// One invocation as measured.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvocationRecord {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// The execution environment (1, 2, ... in the order they were started).
    pub environment: u64,
    /// The process id of the environment (0 when the process could not be started).
    pub pid: u32,
    /// Whether this invocation started the process.
    pub cold: bool,
    /// Cold starts: process start to its first `next` request (Lambda's Init Duration).
    pub init: Option<Duration>,
    /// Event handed to the runtime to its response or error (Lambda's Duration); `None`
    /// when the event was never handed over.
    pub duration: Option<Duration>,
    /// `invoke` called to outcome: what the caller waits, process start included.
    pub total: Duration,
    /// Peak resident set size of the process so far (`VmHWM`), in KiB; `None` when the
    /// process was already gone.
    pub peak_rss_kib: Option<u64>,
    /// The error name when the invocation failed.
    pub error: Option<String>,
}

/// The result of [`LambdaProcess::invoke_measured`].
#[derive(Debug)]
pub struct Invocation {
    /// The function's output, or the error Step Functions would see.
    pub result: Result<Value, TaskError>,
    /// What was measured.
    pub record: InvocationRecord,
}

/// Settings of a [`LambdaProcess`]; see [`LambdaProcess::builder`].
#[derive(Debug, Clone)]
pub struct LambdaProcessBuilder {
    program: PathBuf,
    args: Vec<OsString>,
    function_name: String,
    handler: String,
    memory_mb: u32,
    timeout: Duration,
    init_timeout: Duration,
    region: String,
    account: String,
    version: String,
    log_format: LogFormat,
    env: Vec<(OsString, OsString)>,
    inherit_env: bool,
    task_root: Option<PathBuf>,
    output: Output,
    max_environments: usize,
}

impl LambdaProcessBuilder {
    /// Arguments after the program (e.g. the bootstrap script of an interpreter), passed
    /// as given: the process runs in the task root, so give paths absolute.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        self
    }

    /// `AWS_LAMBDA_FUNCTION_NAME` (default: the program's file name).
    pub fn function_name(mut self, name: impl Into<String>) -> Self {
        self.function_name = name.into();
        self
    }

    /// `_HANDLER` (default `bootstrap`, as `provided.al2023` functions have).
    pub fn handler(mut self, handler: impl Into<String>) -> Self {
        self.handler = handler.into();
        self
    }

    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` in MB (default 128). Not enforced.
    pub fn memory_mb(mut self, mb: u32) -> Self {
        self.memory_mb = mb;
        self
    }

    /// The function's timeout (default 3 s, Lambda's): an invocation still running
    /// then ends with `Sandbox.Timedout` and the environment is killed. Real time: the
    /// process runs in real time whatever clock the runner uses.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long a new process may take to ask for its first event (default 10 s, the
    /// limit of Lambda's init phase).
    pub fn init_timeout(mut self, timeout: Duration) -> Self {
        self.init_timeout = timeout;
        self
    }

    /// `AWS_REGION` and the account in the invoked function's ARN (default
    /// `us-east-1`, `123456789012`).
    pub fn account(mut self, region: impl Into<String>, account: impl Into<String>) -> Self {
        self.region = region.into();
        self.account = account.into();
        self
    }

    /// `AWS_LAMBDA_FUNCTION_VERSION` (default `$LATEST`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// `AWS_LAMBDA_LOG_FORMAT` (default `Text`).
    pub fn log_format(mut self, format: LogFormat) -> Self {
        self.log_format = format;
        self
    }

    /// A variable of the function's configuration (`Environment.Variables`).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Passes this process's environment on too (default: only what Lambda sets, plus
    /// `PATH`, `LANG` and `TZ` as Lambda has them, so a run does not depend on the
    /// shell it was started from).
    pub fn inherit_env(mut self, inherit: bool) -> Self {
        self.inherit_env = inherit;
        self
    }

    /// `LAMBDA_TASK_ROOT` and the process's working directory (default: the program's
    /// directory). A program given as a relative path with a directory
    /// (`target/release/poll`) is resolved against this process's working directory.
    pub fn task_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.task_root = Some(dir.into());
        self
    }

    /// Where the function's output goes (default: this process's stderr).
    pub fn output(mut self, output: Output) -> Self {
        self.output = output;
        self
    }

    /// How many environments may run at once (default 1): concurrent invocations
    /// beyond that wait for one to be free.
    pub fn max_environments(mut self, n: usize) -> Self {
        self.max_environments = n;
        self
    }

    /// Checks the settings. Starts nothing: the first invocation starts a process.
    pub fn build(self) -> Result<LambdaProcess, LambdaProcessError> {
        for (key, _) in &self.env {
            let key = key.to_string_lossy();
            if RESERVED.contains(&key.as_ref()) {
                return Err(LambdaProcessError::ReservedVariable(key.into_owned()));
            }
        }
        if self.max_environments == 0 {
            return Err(LambdaProcessError::Invalid(
                "max_environments must be at least 1".into(),
            ));
        }
        if self.timeout.is_zero() || self.init_timeout.is_zero() {
            return Err(LambdaProcessError::Invalid(
                "timeouts must be longer than zero".into(),
            ));
        }
        let task_root = self.task_root.clone().unwrap_or_else(|| {
            self.program
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."))
        });
        // The process runs in the task root: relative paths are made absolute here,
        // against this process's working directory, so they mean what the caller meant.
        let task_root = std::path::absolute(&task_root).unwrap_or(task_root);
        let mut settings = self;
        if settings.program.components().count() > 1 {
            settings.program = std::path::absolute(&settings.program).unwrap_or(settings.program);
        }
        let permits = Arc::new(Semaphore::new(settings.max_environments));
        Ok(LambdaProcess {
            inner: Arc::new(Inner {
                config: Config {
                    settings,
                    task_root,
                },
                idle: Mutex::new(Vec::new()),
                permits,
                next_environment: AtomicU64::new(1),
                records: Mutex::new(Vec::new()),
                captured: Arc::new(Mutex::new(VecDeque::new())),
                live: Arc::new(Mutex::new(Vec::new())),
            }),
        })
    }
}

/// A Lambda function run as a real process behind the Runtime API.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use local_runner::{LambdaProcess, Resources};
/// let poll = LambdaProcess::builder("target/release/poll")
///     .env("GENESYS_BASE_URL", "http://127.0.0.1:8089")
///     .build()?;
/// let resources = Resources::new().function("poll", poll.handler());
/// // ... run a definition; afterwards:
/// for record in poll.invocations() {
///     println!("cold={} init={:?} rss={:?} KiB", record.cold, record.init, record.peak_rss_kib);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LambdaProcess {
    inner: Arc<Inner>,
}

impl fmt::Debug for LambdaProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LambdaProcess")
            .field("program", &self.inner.config.settings.program)
            .field("function_name", &self.inner.config.settings.function_name)
            .finish()
    }
}

struct Config {
    settings: LambdaProcessBuilder,
    task_root: PathBuf,
}

struct Inner {
    config: Config,
    /// Warm environments, most recently used last (reused first, as Lambda tends to).
    idle: Mutex<Vec<Environment>>,
    /// One permit per environment that may exist.
    permits: Arc<Semaphore>,
    next_environment: AtomicU64,
    records: Mutex<Vec<InvocationRecord>>,
    captured: Arc<Mutex<VecDeque<String>>>,
    /// Processes started and not yet reaped.
    live: Arc<Mutex<Vec<u32>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Data behind these locks stays consistent even if a holder panicked.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LambdaProcess {
    /// Settings for a function whose executable (the `bootstrap`, or an interpreter
    /// with [`LambdaProcessBuilder::args`]) is `program`.
    pub fn builder(program: impl Into<PathBuf>) -> LambdaProcessBuilder {
        let program = program.into();
        let function_name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "function".into());
        LambdaProcessBuilder {
            program,
            args: Vec::new(),
            function_name,
            handler: "bootstrap".into(),
            memory_mb: 128,
            timeout: Duration::from_secs(3),
            init_timeout: Duration::from_secs(10),
            region: "us-east-1".into(),
            account: "123456789012".into(),
            version: "$LATEST".into(),
            log_format: LogFormat::Text,
            env: Vec::new(),
            inherit_env: false,
            task_root: None,
            output: Output::Stderr,
            max_environments: 1,
        }
    }

    /// This process as a handler to register in [`crate::Resources`].
    pub fn handler(&self) -> SharedHandler {
        Arc::new(self.clone())
    }

    /// Every invocation so far, in the order they ended.
    pub fn invocations(&self) -> Vec<InvocationRecord> {
        lock(&self.inner.records).clone()
    }

    /// Process ids of the warm environments (those not running an invocation).
    pub fn warm_pids(&self) -> Vec<u32> {
        lock(&self.inner.idle).iter().map(|e| e.pid).collect()
    }

    /// Process ids of every process started and not yet reaped (warm, busy, or killed
    /// a moment ago).
    pub fn live_pids(&self) -> Vec<u32> {
        lock(&self.inner.live).clone()
    }

    /// The function's output lines so far ([`Output::Capture`] only), oldest first.
    pub fn captured_output(&self) -> Vec<String> {
        lock(&self.inner.captured).iter().cloned().collect()
    }

    /// Kills every warm environment and waits until each process has exited, so the
    /// next invocation is cold. Environments running an invocation are killed when it
    /// ends or is abandoned.
    pub async fn shutdown(&self) {
        let environments: Vec<Environment> = lock(&self.inner.idle).drain(..).collect();
        for env in environments {
            env.kill_and_wait().await;
        }
    }

    /// Invokes the function with `payload`, as Lambda's `Invoke` (RequestResponse) does.
    /// `function_arn` is the `Lambda-Runtime-Invoked-Function-Arn` (default: the
    /// unqualified ARN of the function).
    pub async fn invoke_measured(&self, payload: &Value, function_arn: Option<&str>) -> Invocation {
        let called = Instant::now();
        let config = &self.inner.config;
        let request_id = uuid::Uuid::new_v4().to_string();
        let arn = match function_arn {
            Some(a) if a.starts_with("arn:") => a.to_string(),
            Some(name) => self.arn(name),
            None => self.arn(&config.settings.function_name),
        };
        // The semaphore is never closed, so acquiring only waits.
        let permit = self.inner.permits.clone().acquire_owned().await.ok();
        let warm = {
            let mut idle = lock(&self.inner.idle);
            // An environment whose process died while idle is dropped (and reaped).
            idle.retain(|e| !e.has_exited());
            idle.pop()
        };
        let cold = warm.is_none();
        let env = match warm {
            Some(env) => Ok(env),
            None => {
                let id = self.inner.next_environment.fetch_add(1, Ordering::Relaxed);
                Environment::start(config, id, &self.inner.captured, &self.inner.live)
                    .await
                    .map_err(|e| (e, id))
            }
        };
        let (result, record) = match env {
            Err((error, environment)) => {
                let record = InvocationRecord {
                    request_id: request_id.clone(),
                    environment,
                    pid: 0,
                    cold: true,
                    init: None,
                    duration: None,
                    total: called.elapsed(),
                    peak_rss_kib: None,
                    error: Some(error.error.clone()),
                };
                (Err(error), record)
            }
            Ok(mut env) => {
                let event = EventToSend {
                    request_id: request_id.clone(),
                    payload: Bytes::from(serde_json::to_vec(payload).unwrap_or_default()),
                    arn,
                    trace_id: trace_id(&request_id),
                };
                let outcome = env.invoke(event, config).await;
                let peak_rss_kib = peak_rss_kib(env.pid);
                let record = InvocationRecord {
                    request_id: request_id.clone(),
                    environment: env.id,
                    pid: env.pid,
                    cold,
                    init: if cold { env.init_duration() } else { None },
                    duration: outcome.duration,
                    total: called.elapsed(),
                    peak_rss_kib,
                    error: outcome.result.as_ref().err().map(|e| e.error.clone()),
                };
                if outcome.keep_warm && !env.has_exited() {
                    lock(&self.inner.idle).push(env);
                }
                // Otherwise `env` is dropped here: its process is killed.
                (outcome.result, record)
            }
        };
        drop(permit);
        lock(&self.inner.records).push(record.clone());
        Invocation { result, record }
    }

    fn arn(&self, name: &str) -> String {
        let s = &self.inner.config.settings;
        format!("arn:aws:lambda:{}:{}:function:{name}", s.region, s.account)
    }
}

#[async_trait::async_trait]
impl Handler for LambdaProcess {
    async fn invoke(&self, input: Value, ctx: TaskContext) -> Result<Value, TaskError> {
        self.invoke_measured(&input, Some(&ctx.function))
            .await
            .result
    }
}

/// An event on its way to the runtime.
struct EventToSend {
    request_id: String,
    payload: Bytes,
    arn: String,
    trace_id: String,
}

/// What the runtime answered for an event.
enum Reply {
    Response(Bytes),
    Error { header: Option<String>, body: Bytes },
    TooLarge(usize),
}

/// An event queued for the `next` handler, with where to send the reply.
struct Queued {
    event: EventToSend,
    deadline_after: Duration,
    delivered: oneshot::Sender<Instant>,
    reply: oneshot::Sender<Reply>,
}

/// The event the runtime is working on.
struct InFlight {
    request_id: String,
    reply: oneshot::Sender<Reply>,
}

/// State shared by an environment's Runtime API server and its invoker.
struct Api {
    queue: tokio::sync::Mutex<mpsc::Receiver<Queued>>,
    in_flight: Mutex<Option<InFlight>>,
    first_next: watch::Sender<Option<Instant>>,
    init_error: watch::Sender<Option<(Option<String>, Bytes)>>,
}

struct InvokeOutcome {
    result: Result<Value, TaskError>,
    duration: Option<Duration>,
    keep_warm: bool,
}

/// One execution environment: a process and its Runtime API server.
struct Environment {
    id: u64,
    pid: u32,
    started: Instant,
    api: Arc<Api>,
    queue: mpsc::Sender<Queued>,
    exited: watch::Receiver<Option<String>>,
    /// Dropping it (with the environment) makes the watcher kill the process.
    kill: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Environment {
    fn drop(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        self.server.abort();
    }
}

impl Environment {
    async fn start(
        config: &Config,
        id: u64,
        captured: &Arc<Mutex<VecDeque<String>>>,
        live: &Arc<Mutex<Vec<u32>>>,
    ) -> Result<Self, TaskError> {
        let s = &config.settings;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| {
                TaskError::lambda(
                    "Lambda.ServiceException",
                    format!("cannot open the Runtime API: {e}"),
                )
            })?;
        let addr = listener.local_addr().map_err(|e| {
            TaskError::lambda(
                "Lambda.ServiceException",
                format!("cannot open the Runtime API: {e}"),
            )
        })?;
        let (queue_tx, queue_rx) = mpsc::channel(1);
        let api = Arc::new(Api {
            queue: tokio::sync::Mutex::new(queue_rx),
            in_flight: Mutex::new(None),
            first_next: watch::channel(None).0,
            init_error: watch::channel(None).0,
        });
        let server = tokio::spawn(serve(listener, api.clone()));

        let mut command = tokio::process::Command::new(&s.program);
        command
            .args(&s.args)
            .current_dir(&config.task_root)
            .stdin(Stdio::null())
            // If the watcher task is gone (its runtime shut down), dropping the child kills it.
            .kill_on_drop(true);
        if !s.inherit_env {
            command.env_clear();
            command.env("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin");
            command.env("LANG", "en_US.UTF-8");
        }
        command.env("TZ", ":UTC");
        let task_root = &config.task_root;
        for (k, v) in &s.env {
            command.env(k, v);
        }
        command
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("_HANDLER", &s.handler)
            .env("AWS_LAMBDA_FUNCTION_NAME", &s.function_name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", &s.version)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", s.memory_mb.to_string())
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", s.function_name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", log_stream_name(&s.version))
            .env(
                "AWS_LAMBDA_LOG_FORMAT",
                match s.log_format {
                    LogFormat::Text => "Text",
                    LogFormat::Json => "JSON",
                },
            )
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_REGION", &s.region)
            .env("AWS_DEFAULT_REGION", &s.region)
            .env("LAMBDA_TASK_ROOT", task_root)
            .env("LAMBDA_RUNTIME_DIR", task_root);
        match s.output {
            Output::Stderr => {
                command
                    .stdout(Stdio::from(std::io::stderr()))
                    .stderr(Stdio::from(std::io::stderr()));
            }
            Output::Null => {
                command.stdout(Stdio::null()).stderr(Stdio::null());
            }
            Output::Capture => {
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
            }
        }

        let started = Instant::now();
        let mut child = command.spawn().map_err(|e| {
            // What Lambda reports when the bootstrap is missing or cannot be executed.
            TaskError::lambda(
                "Runtime.InvalidEntrypoint",
                format!("cannot start {}: {e}", s.program.display()),
            )
        })?;
        let pid = child.id().unwrap_or(0);
        if s.output == Output::Capture {
            if let Some(out) = child.stdout.take() {
                tokio::spawn(capture_lines(out, captured.clone()));
            }
            if let Some(err) = child.stderr.take() {
                tokio::spawn(capture_lines(err, captured.clone()));
            }
        }
        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        let (exit_tx, exit_rx) = watch::channel(None);
        lock(live).push(pid);
        let live = live.clone();
        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status,
                // A kill request, or the environment dropped without one.
                _ = kill_rx => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            let text = match status {
                Ok(status) => describe_exit(status),
                Err(e) => format!("the process could not be waited for: {e}"),
            };
            lock(&live).retain(|p| *p != pid);
            let _ = exit_tx.send(Some(text));
        });
        Ok(Self {
            id,
            pid,
            started,
            api,
            queue: queue_tx,
            exited: exit_rx,
            kill: Some(kill_tx),
            server,
        })
    }

    fn has_exited(&self) -> bool {
        self.exited.borrow().is_some()
    }

    fn init_duration(&self) -> Option<Duration> {
        (*self.api.first_next.borrow()).map(|t| t.saturating_duration_since(self.started))
    }

    async fn kill_and_wait(mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        let _ = self.exited.wait_for(Option::is_some).await;
    }

    /// Hands `event` to the runtime and waits for its answer, the process's exit, an
    /// init error or a time-out.
    async fn invoke(&mut self, event: EventToSend, config: &Config) -> InvokeOutcome {
        let s = &config.settings;
        let request_id = event.request_id.clone();
        let (delivered_tx, mut delivered_rx) = oneshot::channel();
        let (reply_tx, mut reply_rx) = oneshot::channel();
        let queued = Queued {
            event,
            deadline_after: s.timeout,
            delivered: delivered_tx,
            reply: reply_tx,
        };
        let failed = |result: TaskError, duration| InvokeOutcome {
            result: Err(result),
            duration,
            keep_warm: false,
        };
        if self.queue.send(queued).await.is_err() {
            return failed(exit_error(&request_id, "the Runtime API is gone"), None);
        }
        let mut exited = self.exited.clone();
        let mut init_error = self.api.init_error.subscribe();
        let mut first_next = self.api.first_next.subscribe();
        let init_deadline = self.started + s.init_timeout;
        // Waits for the first `next` only while that has not happened (cold starts).
        let init_timeout = async {
            tokio::select! {
                _ = tokio::time::sleep_until(init_deadline.into()) => {}
                _ = initialised(&mut first_next) => std::future::pending::<()>().await,
            }
        };
        let mut delivered_at: Option<Instant> = None;
        tokio::pin!(init_timeout);
        let since = |at: Option<Instant>| at.map(|t| t.elapsed());
        loop {
            let deadline_at = delivered_at.map(|at| at + s.timeout);
            let deadline = async move {
                match deadline_at {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                reply = &mut reply_rx => {
                    let duration = since(delivered_at);
                    return match reply {
                        Ok(reply) => self.outcome(&request_id, reply, duration),
                        Err(_) => failed(exit_error(&request_id, "the Runtime API is gone"), duration),
                    };
                }
                at = &mut delivered_rx, if delivered_at.is_none() => {
                    delivered_at = Some(at.unwrap_or_else(|_| Instant::now()));
                }
                posted = init_error.wait_for(Option::is_some) => {
                    let (header, body) = posted.ok().and_then(|p| p.clone()).unwrap_or_default();
                    return failed(function_error(header.as_deref(), &body, "Runtime.InitError"), None);
                }
                how = exited.wait_for(Option::is_some) => {
                    let how = how.ok().and_then(|h| h.clone()).unwrap_or_default();
                    // An answer posted just before the exit wins over the exit.
                    if let Ok(reply) = reply_rx.try_recv() {
                        return self.outcome(&request_id, reply, since(delivered_at));
                    }
                    let posted = self.api.init_error.borrow().clone();
                    if let Some((header, body)) = posted {
                        return failed(function_error(header.as_deref(), &body, "Runtime.InitError"), None);
                    }
                    return failed(exit_error(&request_id, &how), since(delivered_at));
                }
                _ = &mut init_timeout => {
                    return failed(TaskError::lambda(
                        "Sandbox.Timedout",
                        format!(
                            "RequestId: {request_id} Error: Init phase timed out after {:.2} seconds",
                            s.init_timeout.as_secs_f64()
                        ),
                    ), None);
                }
                _ = deadline => {
                    return failed(TaskError::lambda(
                        "Sandbox.Timedout",
                        format!(
                            "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                            s.timeout.as_secs_f64()
                        ),
                    ), since(delivered_at));
                }
            }
        }
    }

    fn outcome(&self, request_id: &str, reply: Reply, duration: Option<Duration>) -> InvokeOutcome {
        let (result, keep_warm) = match reply {
            Reply::Response(body) => (response_value(&body), true),
            Reply::Error { header, body } => (
                Err(function_error(header.as_deref(), &body, "Lambda.Unknown")),
                true,
            ),
            Reply::TooLarge(size) => (
                Err(TaskError::lambda(
                    "Function.ResponseSizeTooLarge",
                    format!(
                        "RequestId: {request_id} Response payload size ({size} bytes) exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
                    ),
                )),
                true,
            ),
        };
        InvokeOutcome {
            result,
            duration,
            keep_warm,
        }
    }
}

/// Completes once the runtime has asked for its first event.
async fn initialised(first_next: &mut watch::Receiver<Option<Instant>>) {
    // The guard `wait_for` returns is dropped here, not held across later awaits.
    let _ = first_next.wait_for(Option::is_some).await.map(|_| ());
}

/// The function's response as the Task's result. Lambda passes any bytes on; Step
/// Functions needs JSON, so anything else fails the Task.
fn response_value(body: &[u8]) -> Result<Value, TaskError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| {
        TaskError::lambda(
            "Lambda.Unknown",
            format!("The function's response is not JSON: {e}"),
        )
    })
}

/// The error Step Functions sees for an error document a runtime posted: the
/// document's `errorType` (what Lambda returns as the payload, and Step Functions
/// reads), else a specific `Lambda-Runtime-Function-Error-Type` header, else
/// `fallback`. The cause is the document as posted.
fn function_error(header: Option<&str>, body: &[u8], fallback: &str) -> TaskError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let from_body = parsed
        .as_ref()
        .and_then(|v| v.get("errorType"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty());
    // lambda_runtime sends `unhandled` here whatever the error; that names nothing.
    let from_header = header.filter(|h| {
        !h.is_empty() && !h.eq_ignore_ascii_case("unhandled") && !h.eq_ignore_ascii_case("handled")
    });
    let error = from_body.or(from_header).unwrap_or(fallback).to_string();
    let text = String::from_utf8_lossy(body).trim().to_string();
    match parsed {
        Some(Value::Object(_)) => TaskError::new(error, text),
        _ => TaskError::lambda(error, text),
    }
}

fn exit_error(request_id: &str, how: &str) -> TaskError {
    TaskError::lambda(
        "Runtime.ExitError",
        format!("RequestId: {request_id} Error: {how}"),
    )
}

/// Lambda's wording for a runtime's exit (Go's `ExitError` text).
fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        if code == 0 {
            return "Runtime exited without providing a reason".into();
        }
        return format!("Runtime exited with error: exit status {code}");
    }
    let signal = match status.signal() {
        Some(6) => "aborted".to_string(),
        Some(9) => "killed".to_string(),
        Some(11) => "segmentation fault".to_string(),
        Some(15) => "terminated".to_string(),
        Some(n) => n.to_string(),
        None => "unknown".to_string(),
    };
    format!("Runtime exited with error: signal: {signal}")
}

/// `VmHWM` of `/proc/<pid>/status`, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

fn epoch_ms(at: SystemTime) -> u128 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// An X-Ray trace header shaped as Lambda's (`Root=1-<epoch hex>-<24 hex>;...`).
fn trace_id(request_id: &str) -> String {
    let secs = epoch_ms(SystemTime::now()) / 1000;
    let hex: String = request_id.chars().filter(char::is_ascii_hexdigit).collect();
    let root = hex.get(..24).unwrap_or("000000000000000000000000");
    let parent = hex
        .get(hex.len().saturating_sub(16)..)
        .unwrap_or("0000000000000000");
    format!("Root=1-{secs:08x}-{root};Parent={parent};Sampled=0")
}

/// `2026/11/27/[$LATEST]<32 hex>`, the shape of a Lambda log stream name.
fn log_stream_name(version: &str) -> String {
    let date = chrono::Utc::now().format("%Y/%m/%d");
    format!("{date}/[{version}]{}", uuid::Uuid::new_v4().simple())
}

async fn capture_lines<R>(stream: R, into: Arc<Mutex<VecDeque<String>>>)
where
    R: tokio::io::AsyncRead + Unpin,
{
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut buffer = lock(&into);
        if buffer.len() == CAPTURED_LINES {
            buffer.pop_front();
        }
        buffer.push_back(line);
    }
}

// ---------------------------------------------------------------------------------------
// The Runtime API server of one environment.
// ---------------------------------------------------------------------------------------

async fn serve(listener: tokio::net::TcpListener, api: Arc<Api>) {
    let router = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/response",
            post(response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/error",
            post(invocation_error),
        )
        .route("/2018-06-01/runtime/init/error", post(init_error))
        // Read a little past the limit so an oversized response is answered 413, not cut.
        .layer(DefaultBodyLimit::max(MAX_RESPONSE_BYTES + 1024 * 1024))
        .with_state(api);
    let _ = axum::serve(listener, router).await;
}

fn api_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({"errorMessage": message, "errorType": error_type}).to_string(),
    )
        .into_response()
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        [("content-type", "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

async fn next(State(api): State<Arc<Api>>) -> Response {
    api.first_next.send_if_modified(|first| {
        if first.is_none() {
            *first = Some(Instant::now());
            true
        } else {
            false
        }
    });
    // One runtime loop per environment; a second concurrent `next` waits its turn.
    let mut queue = api.queue.lock().await;
    let Some(queued) = queue.recv().await else {
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Runtime.ExitError",
            "the execution environment is shutting down",
        );
    };
    drop(queue);
    let event = queued.event;
    let deadline = SystemTime::now() + queued.deadline_after;
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put("content-type", "application/json");
    put("lambda-runtime-aws-request-id", &event.request_id);
    put(
        "lambda-runtime-deadline-ms",
        &epoch_ms(deadline).to_string(),
    );
    put("lambda-runtime-invoked-function-arn", &event.arn);
    put("lambda-runtime-trace-id", &event.trace_id);
    *lock(&api.in_flight) = Some(InFlight {
        request_id: event.request_id,
        reply: queued.reply,
    });
    let _ = queued.delivered.send(Instant::now());
    (StatusCode::OK, headers, event.payload).into_response()
}

/// Takes the in-flight invocation if `request_id` names it.
fn take_in_flight(api: &Api, request_id: &str) -> Option<InFlight> {
    let mut in_flight = lock(&api.in_flight);
    match in_flight.as_ref() {
        Some(f) if f.request_id == request_id => in_flight.take(),
        _ => None,
    }
}

async fn response(
    State(api): State<Arc<Api>>,
    UrlPath(request_id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let Some(in_flight) = take_in_flight(&api, &request_id) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "no invocation in flight has this request id",
        );
    };
    if body.len() > MAX_RESPONSE_BYTES {
        let _ = in_flight.reply.send(Reply::TooLarge(body.len()));
        return api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
        );
    }
    let _ = in_flight.reply.send(Reply::Response(body));
    accepted()
}

fn error_type_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn invocation_error(
    State(api): State<Arc<Api>>,
    UrlPath(request_id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(in_flight) = take_in_flight(&api, &request_id) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "no invocation in flight has this request id",
        );
    };
    let _ = in_flight.reply.send(Reply::Error {
        header: error_type_header(&headers),
        body,
    });
    accepted()
}

async fn init_error(State(api): State<Arc<Api>>, headers: HeaderMap, body: Bytes) -> Response {
    if api.first_next.borrow().is_some() {
        return api_error(
            StatusCode::FORBIDDEN,
            "InvalidStateTransition",
            "init/error after the runtime asked for an event",
        );
    }
    api.init_error
        .send_replace(Some((error_type_header(&headers), body)));
    accepted()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_document_names_the_error() {
        let e = function_error(
            Some("unhandled"),
            br#"{"errorType":"GenesysTransient","errorMessage":"503"}"#,
            "Lambda.Unknown",
        );
        assert_eq!(e.error, "GenesysTransient");
        assert_eq!(
            e.cause,
            r#"{"errorType":"GenesysTransient","errorMessage":"503"}"#
        );
    }

    #[test]
    fn a_specific_header_names_an_error_whose_document_does_not() {
        let e = function_error(
            Some("Runtime.InitError"),
            br#"{"errorMessage":"boom"}"#,
            "Lambda.Unknown",
        );
        assert_eq!(e.error, "Runtime.InitError");
        let e = function_error(Some("Unhandled"), b"not json", "Lambda.Unknown");
        assert_eq!(e.error, "Lambda.Unknown");
        let cause: Value = serde_json::from_str(&e.cause).unwrap();
        assert_eq!(cause["errorMessage"], "not json");
    }

    #[test]
    fn exits_are_worded_as_lambda_words_them() {
        use std::os::unix::process::ExitStatusExt;
        let s = std::process::ExitStatus::from_raw(3 << 8);
        assert_eq!(describe_exit(s), "Runtime exited with error: exit status 3");
        let s = std::process::ExitStatus::from_raw(9);
        assert_eq!(
            describe_exit(s),
            "Runtime exited with error: signal: killed"
        );
    }

    #[test]
    fn empty_responses_are_null_and_other_bytes_fail() {
        assert_eq!(response_value(b"").unwrap(), Value::Null);
        assert_eq!(response_value(b"{\"a\":1}").unwrap(), json!({"a": 1}));
        assert_eq!(
            response_value(b"SUCCESS").unwrap_err().error,
            "Lambda.Unknown"
        );
    }

    #[test]
    fn reserved_variables_are_refused() {
        let e = LambdaProcess::builder("/bin/true")
            .env("AWS_REGION", "eu-west-1")
            .build()
            .unwrap_err();
        assert_eq!(e, LambdaProcessError::ReservedVariable("AWS_REGION".into()));
    }

    #[test]
    fn trace_headers_have_the_x_ray_shape() {
        let t = trace_id("8476a536-e9f4-11e8-9739-2dfe598c3fcd");
        assert!(t.starts_with("Root=1-"), "{t}");
        assert!(t.contains(";Parent="), "{t}");
    }

    #[test]
    fn peak_rss_of_this_process_is_read() {
        assert!(peak_rss_kib(std::process::id()).unwrap() > 0);
    }
}
