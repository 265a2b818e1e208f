//! Test doubles for the client's mechanics: a scripted HTTP server (axum on
//! 127.0.0.1:0) that records every request and answers from per-route queues, and a
//! raw TCP server that can drop a connection after reading the request.
//!
//! These test the client's retry, auth and encoding rules with exact response
//! sequences; the behaviour of Genesys itself is the emulator's job.
#![allow(dead_code)] // each test file uses a different part of this module

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use clock::{Clock, Sleep, VirtualClock};
use genesys::{ClientConfig, Credentials, Environment, GenesysClient, RetryPolicy};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use url::Url;

pub const CLIENT_ID: &str = "test-client-id";
pub const CLIENT_SECRET: &str = "test-client-secret-Zq9";

pub fn t0() -> DateTime<Utc> {
    "2026-11-22T11:00:00Z".parse().unwrap()
}

pub fn virtual_clock() -> Arc<VirtualClock> {
    Arc::new(VirtualClock::starting_at(t0()))
}

/// Seconds the clock moved since [`t0`].
pub fn elapsed(clock: &VirtualClock) -> Duration {
    (clock.now() - t0()).to_std().unwrap()
}

/// One request the server received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let q = self.query.clone().unwrap_or_default();
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    }

    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// A scripted response.
#[derive(Clone, Debug)]
pub struct Scripted {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Scripted {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(&body).unwrap(),
        }
    }

    pub fn ok(body: Value) -> Self {
        Self::json(200, body)
    }

    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn bytes(status: u16, body: &[u8]) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/octet-stream".into())],
            body: body.to_vec(),
        }
    }

    /// A Genesys `ErrorBody`.
    pub fn error(status: u16, code: &str, context_id: &str) -> Self {
        Self::json(
            status,
            serde_json::json!({
                "status": status, "code": code, "message": "scripted failure",
                "contextId": context_id, "details": [], "errors": []
            }),
        )
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type RouteKey = (String, String);

#[derive(Default)]
struct ServerState {
    requests: Mutex<Vec<Recorded>>,
    queues: Mutex<HashMap<RouteKey, VecDeque<Scripted>>>,
    defaults: Mutex<HashMap<RouteKey, Scripted>>,
    tokens_issued: AtomicUsize,
    token_expires_in: Mutex<u64>,
    token_gate: Mutex<Option<Arc<TokenGate>>>,
}

/// Holds token responses until released, to line up concurrent callers.
pub struct TokenGate {
    pub entered: Notify,
    pub release: Semaphore,
}

/// A scripted Genesys stand-in. `POST /oauth/token` answers `tok-<n>` with
/// `expires_in` 86400 unless scripted otherwise.
pub struct MockGenesys {
    pub base: Url,
    state: Arc<ServerState>,
}

impl MockGenesys {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener)
    }

    pub fn serve(listener: TcpListener) -> Self {
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ServerState::default());
        *state.token_expires_in.lock().unwrap() = 86_400;
        let app = Router::new().fallback(handle).with_state(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base: format!("http://{addr}/").parse().unwrap(),
            state,
        }
    }

    /// Queues responses for `method path`, served in order.
    pub fn script(&self, method: &str, path: &str, responses: Vec<Scripted>) {
        self.state
            .queues
            .lock()
            .unwrap()
            .entry((method.into(), path.into()))
            .or_default()
            .extend(responses);
    }

    /// The response for `method path` once its queue is empty.
    pub fn always(&self, method: &str, path: &str, response: Scripted) {
        self.state
            .defaults
            .lock()
            .unwrap()
            .insert((method.into(), path.into()), response);
    }

    pub fn set_token_lifetime(&self, seconds: u64) {
        *self.state.token_expires_in.lock().unwrap() = seconds;
    }

    pub fn gate_tokens(&self) -> Arc<TokenGate> {
        let gate = Arc::new(TokenGate {
            entered: Notify::new(),
            release: Semaphore::new(0),
        });
        *self.state.token_gate.lock().unwrap() = Some(gate.clone());
        gate
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Requests other than token requests, optionally only to `path`.
    pub fn api_requests(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    pub fn token_requests(&self) -> Vec<Recorded> {
        self.api_requests("/oauth/token")
    }

    pub fn tokens_issued(&self) -> usize {
        self.state.tokens_issued.load(Ordering::SeqCst)
    }
}

async fn handle(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_owned();
    state.requests.lock().unwrap().push(Recorded {
        method: method.clone(),
        path: path.clone(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers.clone(),
        body,
    });
    let key = (method.clone(), path.clone());
    let scripted = state
        .queues
        .lock()
        .unwrap()
        .get_mut(&key)
        .and_then(VecDeque::pop_front)
        .or_else(|| state.defaults.lock().unwrap().get(&key).cloned());
    if let Some(scripted) = scripted {
        return respond(scripted);
    }
    if method == "POST" && path == "/oauth/token" {
        let gate = state.token_gate.lock().unwrap().clone();
        if let Some(gate) = gate {
            gate.entered.notify_one();
            gate.release.acquire().await.unwrap().forget();
        }
        let n = state.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
        let expires_in = *state.token_expires_in.lock().unwrap();
        return respond(Scripted::ok(serde_json::json!({
            "access_token": format!("tok-{n}"),
            "token_type": "bearer",
            "expires_in": expires_in
        })));
    }
    // 418: not retried by the client, so a missing script fails fast and visibly.
    respond(Scripted::error(418, "test.unscripted", "unscripted"))
}

fn respond(scripted: Scripted) -> Response {
    let mut response = Response::new(Body::from(scripted.body));
    *response.status_mut() = StatusCode::from_u16(scripted.status).unwrap();
    for (name, value) in scripted.headers {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    response.into_response()
}

/// A client of `server` on a virtual clock, with the default retry policy.
pub fn client(server: &MockGenesys, clock: Arc<VirtualClock>) -> GenesysClient {
    GenesysClient::new(config(Environment::BaseUrl(server.base.clone()), clock)).unwrap()
}

pub fn config(environment: Environment, clock: Arc<VirtualClock>) -> ClientConfig {
    ClientConfig::new(environment, Credentials::new(CLIENT_ID, CLIENT_SECRET))
        .with_clock(clock)
        .with_retry(RetryPolicy::default())
}

/// What the raw server does with one connection, after reading a whole request.
#[derive(Clone, Debug)]
pub enum RawAction {
    /// Close the socket without answering.
    Drop,
    /// Answer `status` with a JSON body, then close.
    Respond(u16, Value),
}

/// A TCP server that reads one request per connection and then follows its script.
pub struct RawServer {
    pub base: Url,
    pub connections: Arc<AtomicUsize>,
}

impl RawServer {
    pub async fn start(script: Vec<RawAction>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        tokio::spawn(async move {
            let mut script = VecDeque::from(script);
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                read_request(&mut socket).await;
                match script.pop_front().unwrap_or(RawAction::Drop) {
                    RawAction::Drop => drop(socket),
                    RawAction::Respond(status, body) => {
                        let body = serde_json::to_vec(&body).unwrap();
                        let head = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = socket.write_all(head.as_bytes()).await;
                        let _ = socket.write_all(&body).await;
                        let _ = socket.shutdown().await;
                    }
                }
            }
        });
        Self {
            base: format!("http://{addr}/").parse().unwrap(),
            connections,
        }
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Reads headers and a `content-length` body.
async fn read_request(socket: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = socket.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let Ok(n) = socket.read(&mut chunk).await else {
                    return;
                };
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return;
        }
    }
}

/// A free local port with nothing listening on it (connections are refused).
pub async fn refused_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// A virtual clock that starts a [`MockGenesys`] on `addr` during the first sleep:
/// the first attempt meets a refused connection, the retry finds a server.
#[derive(Debug)]
pub struct StartServerOnFirstSleep {
    pub clock: Arc<VirtualClock>,
    addr: SocketAddr,
    started: Mutex<bool>,
    pub server: Arc<Mutex<Option<Arc<MockGenesys>>>>,
    pub script: Vec<(String, String, Scripted)>,
}

impl std::fmt::Debug for MockGenesys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockGenesys")
            .field("base", &self.base.as_str())
            .finish()
    }
}

impl StartServerOnFirstSleep {
    pub fn new(addr: SocketAddr, script: Vec<(String, String, Scripted)>) -> Self {
        Self {
            clock: virtual_clock(),
            addr,
            started: Mutex::new(false),
            server: Arc::new(Mutex::new(None)),
            script,
        }
    }
}

impl Clock for StartServerOnFirstSleep {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        Box::pin(async move {
            let first = !std::mem::replace(&mut *self.started.lock().unwrap(), true);
            if first {
                let listener = TcpListener::bind(self.addr).await.unwrap();
                let server = MockGenesys::serve(listener);
                for (method, path, response) in &self.script {
                    server.script(method, path, vec![response.clone()]);
                }
                *self.server.lock().unwrap() = Some(Arc::new(server));
            }
            self.clock.sleep(duration).await;
        })
    }
}
