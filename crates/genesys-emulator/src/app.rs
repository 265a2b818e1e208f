//! What every request handler shares: the emulator's state behind the clock, and what
//! the gateway (`server`) learns of a request before a handler (`api`, `admin`,
//! `analytics`, `export`) sees it. Its own module, so the handlers depend on it and not
//! on the server that mounts them.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};
use clock::SharedClock;

use crate::clockctl::ControlledClock;
use crate::world::World;

/// Largest request body read.
pub(crate) const MAX_BODY: usize = 2 * 1024 * 1024;

/// State shared by every request.
pub(crate) struct Shared {
    pub world: Mutex<World>,
    pub clock: SharedClock,
    /// Present when the emulator owns its clock (then the admin API may steer it).
    pub owned_clock: Option<Arc<ControlledClock>>,
}

pub(crate) type App = Arc<Shared>;

impl Shared {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The world, brought up to the clock's now.
    pub fn world(&self) -> (MutexGuard<'_, World>, DateTime<Utc>) {
        let now = self.now();
        // A poisoned lock means a handler panicked mid-update; the state is plain data
        // and the emulator is a test tool, so keep serving.
        let mut w = self.world.lock().unwrap_or_else(|p| p.into_inner());
        w.advance(now);
        (w, now)
    }
}

/// The OAuth client that made the request (set by the gateway).
#[derive(Debug, Clone)]
pub(crate) struct ClientId(pub String);

/// An injected `gdprPartialError` for this request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PartialError(pub f64);

/// The client id of a Basic `Authorization` header, unchecked.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}
