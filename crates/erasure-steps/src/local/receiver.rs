//! A local stand-in for downstream systems (CRM, warehouse, ...): an HTTP server that
//! checks each instruction's HMAC signature and timestamp and acknowledges it with a
//! reference, or, for one system on purpose, never answers.
//!
//! It keeps which ticket each system was told about, never the instruction itself
//! (that carries the subject's identifiers), except for the systems it is started to
//! keep messages of ([`DownstreamReceiver::start_keeping`]): people's tools whose
//! messages carry no identifier of the subject (the review summary with its task token,
//! which a test answers as the DPO).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use clock::SharedClock;
use serde_json::{Value, json};

use signing::{
    DEFAULT_TOLERANCE, Endpoint, IDEMPOTENCY_HEADER, KeyRing, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};

/// How a system behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Checks the signature, answers 202 `{status: "accepted", reference}`.
    Acknowledge,
    /// Accepts the connection and never answers (the sender times out).
    NeverAnswer,
}

/// One instruction as the receiver saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub system: String,
    pub ticket_id: Option<String>,
    pub signature_valid: bool,
    /// The reference answered, if any.
    pub reference: Option<String>,
}

struct System {
    key: KeyRing,
    behaviour: Behaviour,
}

#[derive(Clone)]
struct App {
    systems: Arc<HashMap<String, System>>,
    received: Arc<Mutex<Vec<Received>>>,
    references: Arc<Mutex<HashMap<String, String>>>,
    keep: Arc<Vec<String>>,
    kept: Arc<Mutex<Vec<(String, Value)>>>,
    clock: SharedClock,
}

/// A running receiver; stops when dropped.
pub struct DownstreamReceiver {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    kept: Arc<Mutex<Vec<(String, Value)>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl DownstreamReceiver {
    /// Serves the systems on 127.0.0.1 (a free port). Timestamps are checked against
    /// `clock`, the pipeline's.
    pub async fn start(
        systems: Vec<(String, KeyRing, Behaviour)>,
        clock: SharedClock,
    ) -> std::io::Result<Self> {
        Self::start_keeping(systems, clock, &[]).await
    }

    /// As [`start`](Self::start), also keeping the JSON body of every validly signed
    /// message to the systems named in `keep` ([`kept`](Self::kept)). Only for systems
    /// whose messages carry no identifier of the subject (the review endpoint).
    pub async fn start_keeping(
        systems: Vec<(String, KeyRing, Behaviour)>,
        clock: SharedClock,
        keep: &[&str],
    ) -> std::io::Result<Self> {
        let app = App {
            systems: Arc::new(
                systems
                    .into_iter()
                    .map(|(name, key, behaviour)| (name, System { key, behaviour }))
                    .collect(),
            ),
            received: Arc::new(Mutex::new(Vec::new())),
            references: Arc::new(Mutex::new(HashMap::new())),
            keep: Arc::new(keep.iter().map(|s| (*s).to_owned()).collect()),
            kept: Arc::new(Mutex::new(Vec::new())),
            clock,
        };
        let received = app.received.clone();
        let kept = app.kept.clone();
        let router = Router::new()
            .route("/systems/{name}", post(instruction))
            .with_state(app);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(DownstreamReceiver {
            addr,
            received,
            kept,
            stop: Some(stop),
        })
    }

    /// Where system `name` receives instructions (plain HTTP on 127.0.0.1, the one
    /// place [`Endpoint`] allows it).
    pub fn endpoint(&self, name: &str) -> Endpoint {
        let mut u: url::Url = format!("http://{}/", self.addr)
            .parse()
            .expect("a socket address makes a URL");
        u.path_segments_mut()
            .expect("http URLs have paths")
            .pop_if_empty()
            .extend(["systems", name]);
        Endpoint::new(u).expect("http to 127.0.0.1 is an endpoint")
    }

    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The bodies of the validly signed messages to `system`, in order of arrival, if
    /// it is one of the systems this receiver keeps messages of.
    pub fn kept(&self, system: &str) -> Vec<Value> {
        self.kept
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(s, _)| s == system)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl Drop for DownstreamReceiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn instruction(
    State(app): State<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(system) = app.systems.get(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let header = |h: &str| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    // The receiver's check is the pipeline's own (signing::verify), stale timestamps
    // (replays) included.
    let signature_valid = signing::verify(
        &system.key,
        header(TIMESTAMP_HEADER).as_deref(),
        header(SIGNATURE_HEADER).as_deref(),
        &body,
        app.clock.now(),
        DEFAULT_TOLERANCE,
    )
    .is_ok();
    let ticket_id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("ticketId").and_then(Value::as_str).map(str::to_owned));
    let mut seen = Received {
        system: name.clone(),
        ticket_id,
        signature_valid,
        reference: None,
    };
    if !signature_valid {
        app.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(seen);
        return (StatusCode::UNAUTHORIZED, "bad or stale signature").into_response();
    }
    if let Some(v) = app
        .keep
        .contains(&name)
        .then(|| serde_json::from_slice::<Value>(&body).ok())
        .flatten()
    {
        app.kept
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((name.clone(), v));
    }
    match system.behaviour {
        Behaviour::NeverAnswer => {
            app.received
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(seen);
            // Longer than any sender waits; the graceful shutdown cuts it short.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Behaviour::Acknowledge => {
            // A retried instruction (same idempotency key) gets the same reference.
            let key = header(IDEMPOTENCY_HEADER).unwrap_or_default();
            let reference = {
                let mut refs = app.references.lock().unwrap_or_else(|p| p.into_inner());
                let n = refs.len() + 1;
                refs.entry(format!("{name}/{key}"))
                    .or_insert_with(|| format!("{}-{n:05}", name.to_uppercase()))
                    .clone()
            };
            seen.reference = Some(reference.clone());
            app.received
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(seen);
            (
                StatusCode::ACCEPTED,
                axum::Json(json!({"status": "accepted", "reference": reference})),
            )
                .into_response()
        }
    }
}
