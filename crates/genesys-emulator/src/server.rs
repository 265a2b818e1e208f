//! The HTTP server: building, the accept loop (which can drop a connection on
//! purpose), and the gateway every request passes (correlation id, authentication,
//! rate limit, faults, request log).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use clock::{Clock, SharedClock, SystemClock};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use crate::app::{App, ClientId, MAX_BODY, PartialError, Shared, basic_credentials};
use crate::clockctl::ControlledClock;
use crate::dataset::{Dataset, OAuthClient};
use crate::error::{ApiError, CORRELATION_ID, server_error};
use crate::faults::FaultAction;
use crate::world::{AuthFailure, Config, LoggedRequest, RateInfo, World};

/// Closes the request's connection without an answer when notified.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnKill(Arc<Notify>);

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid emulator setting: {0}")]
    Invalid(String),
}

/// Builds an emulator. Defaults: the bundled dataset, a clock the emulator owns
/// starting at the real current time and running at real speed, seed 0, default job
/// timing, 300 requests a minute per client, 127.0.0.1 on a free port.
pub struct EmulatorBuilder {
    dataset: Option<Dataset>,
    clock: Option<SharedClock>,
    owned_start: Option<DateTime<Utc>>,
    owned_speed: f64,
    seed: u64,
    config: Config,
    bind: SocketAddr,
    extra_clients: Vec<OAuthClient>,
    /// A `GENESYS_EMULATOR_*` variable with a value that means nothing (reported by
    /// `start`).
    env_error: Option<String>,
}

/// Entry point: `Emulator::builder()`.
pub struct Emulator;

impl Emulator {
    /// A builder with the defaults, overridden by the `GENESYS_EMULATOR_*` environment
    /// variables (see `Config::from_env`); the builder's own setters win over both.
    pub fn builder() -> EmulatorBuilder {
        let (config, env_error) = match Config::from_env() {
            Ok(c) => (c, None),
            Err(e) => (Config::default(), Some(e)),
        };
        EmulatorBuilder {
            dataset: None,
            clock: None,
            owned_start: None,
            owned_speed: 1.0,
            seed: 0,
            config,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            extra_clients: Vec::new(),
            env_error,
        }
    }
}

impl EmulatorBuilder {
    /// The org's data (default: `Dataset::bundled()`).
    pub fn dataset(mut self, dataset: Dataset) -> Self {
        self.dataset = Some(dataset);
        self
    }

    /// Read all time from this clock (e.g. a `VirtualClock` the test also holds). The
    /// admin API then cannot steer the clock (409).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Use a clock the emulator owns, starting at `start` and running at `speed`
    /// times real time (0 = frozen); the admin API can advance, freeze and speed it.
    pub fn owned_clock(mut self, start: DateTime<Utc>, speed: f64) -> Self {
        self.clock = None;
        self.owned_start = Some(start);
        self.owned_speed = speed;
        self
    }

    /// Seed of everything random (ids, tokens, probabilistic faults).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How long GDPR jobs take.
    pub fn job_timing(mut self, timing: crate::world::JobTiming) -> Self {
        self.config.job_timing = timing;
        self
    }

    /// The longest details query interval answered (default 31 days; longer is a 413).
    pub fn max_details_interval(mut self, max: chrono::TimeDelta) -> Self {
        self.config.max_details_interval = max;
        self
    }

    /// Requests per minute per OAuth client (default 300).
    pub fn rate_limit_per_minute(mut self, n: u32) -> Self {
        self.config.rate_limit_per_minute = n;
        self
    }

    /// Conversations per export results file (default 50).
    pub fn results_conversations_per_file(mut self, n: usize) -> Self {
        self.config.results_conversations_per_file = n;
        self
    }

    /// What an export's `resultsUrl(s)` lead to (default: the legacy JSON files).
    pub fn export_format(mut self, format: crate::world::ExportFormat) -> Self {
        self.config.export_format = format;
        self
    }

    /// Entries per export archive; more are split over several (default 5000).
    pub fn archive_max_entries(mut self, n: usize) -> Self {
        self.config.archive_max_entries = n;
        self
    }

    /// How long a signed download URL works (default 5 minutes).
    pub fn signed_url_ttl(mut self, d: Duration) -> Self {
        self.config.signed_url_ttl = d;
        self
    }

    /// How long after COMPLETED an export can be downloaded (default 7 days).
    pub fn download_ttl(mut self, d: Duration) -> Self {
        self.config.download_ttl = d;
        self
    }

    /// What a GDPR_DELETE does (default: the legacy removal).
    pub fn delete_effect(mut self, effect: crate::world::DeleteEffect) -> Self {
        self.config.delete_effect = effect;
        self
    }

    /// How long after COMPLETED a redaction lands (default 3 days).
    pub fn redaction_lag(mut self, d: Duration) -> Self {
        self.config.redaction_lag = d;
        self
    }

    /// Whether a GDPR_DELETE honours recording deletion protection.
    pub fn deletion_protection(mut self, reading: crate::world::DeletionProtection) -> Self {
        self.config.deletion_protection = reading;
        self
    }

    /// Whether searching an identifier seen only on conversations returns a subject
    /// holding just that identifier (default true; false is the pessimistic reading).
    pub fn search_finds_conversation_only_identifiers(mut self, yes: bool) -> Self {
        self.config.search_finds_conversation_only_identifiers = yes;
        self
    }

    /// Adds (or replaces, by id) an OAuth client beside the dataset's.
    pub fn oauth_client(mut self, client: OAuthClient) -> Self {
        self.extra_clients.push(client);
        self
    }

    /// Address to listen on (default 127.0.0.1:0).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Binds and starts serving.
    pub async fn start(self) -> Result<RunningEmulator, StartError> {
        if let Some(e) = self.env_error {
            return Err(StartError::Invalid(e));
        }
        if self.config.archive_max_entries == 0 {
            return Err(StartError::Invalid(
                "an export archive must hold at least one entry".into(),
            ));
        }
        if self.config.rate_limit_per_minute == 0 {
            return Err(StartError::Invalid(
                "rate limit must allow at least one request a minute".into(),
            ));
        }
        for c in &self.extra_clients {
            if c.client_id.is_empty() || c.client_secret.is_empty() {
                return Err(StartError::Invalid(
                    "an OAuth client needs an id and a secret".into(),
                ));
            }
            if !(300..=172_800).contains(&c.access_token_validity_seconds) {
                return Err(StartError::Invalid(
                    "token lifetime must be within 300..=172800 seconds".into(),
                ));
            }
        }
        let dataset = self.dataset.unwrap_or_else(Dataset::bundled);
        let (clock, owned_clock): (SharedClock, Option<Arc<ControlledClock>>) = match self.clock {
            Some(c) => (c, None),
            None => {
                let start = self.owned_start.unwrap_or_else(|| SystemClock.now());
                let owned = Arc::new(
                    ControlledClock::new(start, self.owned_speed).map_err(StartError::Invalid)?,
                );
                (owned.clone(), Some(owned))
            }
        };
        let listener = TcpListener::bind(self.bind)
            .await
            .map_err(|source| StartError::Bind {
                addr: self.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: self.bind,
            source,
        })?;
        let mut world = World::new(dataset, self.extra_clients, self.seed, self.config);
        world.base_url = format!("http://{addr}");
        let app: App = Arc::new(Shared {
            world: Mutex::new(world),
            clock,
            owned_clock,
        });
        let router = router(app.clone());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, router, shutdown_rx));
        Ok(RunningEmulator {
            app,
            addr,
            shutdown,
            task: Some(task),
        })
    }
}

async fn accept_loop(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else {
                    // Out of file descriptors and the like: back off briefly.
                    SystemClock.sleep(Duration::from_millis(20)).await;
                    continue;
                };
                connections.spawn(serve_connection(stream, router.clone(), shutdown.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    // Let in-flight requests finish for a moment, then stop.
    let drain = async { while connections.join_next().await.is_some() {} };
    tokio::select! {
        _ = drain => {}
        _ = SystemClock.sleep(Duration::from_secs(5)) => connections.abort_all(),
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let kill = ConnKill::default();
    let kill_for_requests = kill.clone();
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(kill_for_requests.clone());
            router.clone().oneshot(req.map(Body::new))
        });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        // Dropping the connection future closes the socket without a response.
        _ = kill.0.notified() => {}
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = kill.0.notified() => {}
            }
        }
    }
}

fn router(app: App) -> Router {
    Router::new()
        .merge(crate::api::routes())
        .merge(crate::admin::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(app.clone(), gateway))
        .with_state(app)
}

async fn not_found() -> ApiError {
    ApiError::route_not_found()
}

async fn gateway(State(app): State<App>, req: Request, next: Next) -> Response {
    let correlation_id = app.world().0.next_uuid();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let method = req.method().clone();
    let status_route = route.clone().unwrap_or_else(|| "<unmatched>".into());
    let resp = CORRELATION_ID
        .scope(
            correlation_id.clone(),
            handle(app, req, next, route, correlation_id.clone()),
        )
        .await;
    // Method, route template and status only: paths carry ids and queries carry
    // identifiers, neither belongs in a log.
    tracing::info!(method = %method, route = %status_route, status = resp.status().as_u16(), "genesys-emulator request");
    resp
}

async fn handle(
    app: App,
    req: Request,
    next: Next,
    route: Option<String>,
    correlation_id: String,
) -> Response {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    // The admin API is neither logged nor faulted; the export results are: they are
    // the download of the workflow's Review step (in Genesys too a call that can fail).
    let results =
        path.starts_with("/_emulator/results/") || path.starts_with("/_emulator/downloads/");
    if (path == "/_emulator" || path.starts_with("/_emulator/")) && !results {
        let mut resp = next.run(req).await;
        set_header(resp.headers_mut(), "ININ-Correlation-Id", &correlation_id);
        return resp;
    }
    let time = app.now();
    let kill = req.extensions().get::<ConnKill>().cloned();
    let mut req = req;

    // The GDPR request type is needed by faults and the log, so read the body here.
    let mut request_type = None;
    if method == Method::POST && path == "/api/v2/gdpr/requests" {
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(b) => b,
            Err(_) => {
                let e = ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request.entity.too.large",
                    format!("The request is over the size limit. Maximum bytes: {MAX_BODY}"),
                );
                return finish(
                    &app,
                    e.into_response(),
                    Entry::new(time, &method, &path, route, None, None, correlation_id),
                    None,
                );
            }
        };
        request_type = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.get("requestType")?.as_str().map(String::from));
        req = Request::from_parts(parts, Body::from(bytes));
    }

    let mut client = None;
    let mut rate = None;
    if path.starts_with("/api/") && route.is_some() {
        let auth = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let (mut w, now) = app.world();
        match w.check_bearer(auth.as_deref(), now) {
            Err(failure) => {
                drop(w);
                let e = match failure {
                    AuthFailure::Missing => ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "authentication.required",
                        "No authentication bearer token specified in authorization header.",
                    ),
                    AuthFailure::Invalid => ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "bad.credentials",
                        "Invalid login credentials.",
                    ),
                };
                let entry = Entry::new(
                    time,
                    &method,
                    &path,
                    route,
                    None,
                    request_type,
                    correlation_id,
                );
                return finish(&app, e.into_response(), entry, None);
            }
            Ok(c) => {
                let info = w.rate_check(&c, now);
                drop(w);
                rate = Some(info);
                client = Some(c.clone());
                if info.limited {
                    let entry = Entry::new(
                        time,
                        &method,
                        &path,
                        route,
                        client,
                        request_type,
                        correlation_id,
                    );
                    return finish(
                        &app,
                        ApiError::too_many_requests(info.reset_seconds).into_response(),
                        entry,
                        rate,
                    );
                }
                req.extensions_mut().insert(ClientId(c));
            }
        }
    } else if path == "/oauth/token" {
        client = basic_client_id(req.headers()).filter(|id| app.world().0.client(id).is_some());
    }

    let mut entry = Entry::new(
        time,
        &method,
        &path,
        route,
        client,
        request_type,
        correlation_id,
    );
    let action = app
        .world()
        .0
        .take_fault(method.as_str(), &path, entry.0.request_type.as_deref());
    if let Some(action) = &action {
        entry.0.fault = Some(action.name().into());
    }
    match action {
        None => {}
        Some(FaultAction::RateLimited {
            retry_after_seconds,
        }) => {
            return finish(
                &app,
                ApiError::too_many_requests(retry_after_seconds).into_response(),
                entry,
                rate,
            );
        }
        Some(FaultAction::ServerError { status }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return finish(&app, server_error(status).into_response(), entry, rate);
        }
        Some(FaultAction::Slow {
            emulated_delay_ms,
            real_delay_ms,
        }) => {
            if emulated_delay_ms > 0 {
                app.clock
                    .sleep(Duration::from_millis(emulated_delay_ms))
                    .await;
            }
            if real_delay_ms > 0 {
                SystemClock
                    .sleep(Duration::from_millis(real_delay_ms))
                    .await;
            }
        }
        Some(FaultAction::GdprPartialError { fraction }) => {
            req.extensions_mut().insert(PartialError(fraction));
        }
        Some(FaultAction::DropConnection) => {
            return drop_connection(&app, kill, entry).await;
        }
        Some(FaultAction::ProcessThenDrop) => {
            let resp = next.run(req).await;
            entry.0.status = Some(resp.status().as_u16());
            return drop_connection(&app, kill, entry).await;
        }
    }
    let resp = next.run(req).await;
    finish(&app, resp, entry, rate)
}

/// Closes the connection without an answer. The handler never returns: the
/// connection task drops it together with the socket.
async fn drop_connection(app: &App, kill: Option<ConnKill>, entry: Entry) -> Response {
    let Some(kill) = kill else {
        // Only reachable if the router is served by something other than our accept loop.
        return finish(
            app,
            server_error(StatusCode::INTERNAL_SERVER_ERROR).into_response(),
            entry,
            None,
        );
    };
    app.world().0.log.push(entry.into_logged());
    kill.0.notify_one();
    std::future::pending::<Response>().await
}

/// A request log entry being built.
struct Entry(LoggedRequest);

impl Entry {
    fn new(
        time: DateTime<Utc>,
        method: &Method,
        path: &str,
        route: Option<String>,
        client: Option<String>,
        request_type: Option<String>,
        correlation_id: String,
    ) -> Self {
        Self(LoggedRequest {
            seq: 0,
            time,
            method: method.as_str().into(),
            path: path.into(),
            route,
            status: None,
            client_id: client,
            request_type,
            fault: None,
            correlation_id,
        })
    }

    fn into_logged(self) -> LoggedRequest {
        self.0
    }
}

fn finish(app: &App, mut resp: Response, mut entry: Entry, rate: Option<RateInfo>) -> Response {
    let headers = resp.headers_mut();
    set_header(headers, "ININ-Correlation-Id", &entry.0.correlation_id);
    if let Some(r) = rate {
        set_header(headers, "inin-ratelimit-count", &r.count.to_string());
        set_header(headers, "inin-ratelimit-allowed", &r.allowed.to_string());
        set_header(
            headers,
            "inin-ratelimit-reset",
            &r.reset_seconds.to_string(),
        );
    }
    entry.0.status = Some(resp.status().as_u16());
    let (mut w, _) = app.world();
    entry.0.seq = w.log.len() as u64 + 1;
    w.log.push(entry.into_logged());
    resp
}

fn set_header(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

fn basic_client_id(headers: &HeaderMap) -> Option<String> {
    basic_credentials(headers).map(|(id, _)| id)
}

/// A started emulator. Dropping it stops the server.
pub struct RunningEmulator {
    pub(crate) app: App,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// `http://127.0.0.1:<port>`: the API base and the login base (the token
    /// endpoint is `<base>/oauth/token`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The clock the emulator reads.
    pub fn clock(&self) -> SharedClock {
        self.app.clock.clone()
    }

    /// Stops accepting, lets in-flight requests finish (up to 5 s), and returns.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningEmulator {
    /// Stops accepting at once; in-flight requests finish in the background (up to
    /// 5 s), as with `shutdown`, unless the runtime itself ends first.
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.task.take();
    }
}
