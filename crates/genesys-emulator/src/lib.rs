//! A faithful local Genesys Cloud for tests, the demo and people.
//!
//! Written from the API contract (`shared/reference/genesys/contract.md`) on its own,
//! never from the typed client, so client and emulator check each other. Start one
//! in process:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use genesys_emulator::{Dataset, Emulator};
//! let clock = Arc::new(clock::VirtualClock::starting_at(Dataset::bundled().as_of));
//! let emu = Emulator::builder().clock(clock.clone()).seed(7).start().await?;
//! let url = emu.base_url(); // token at {url}/oauth/token, API at {url}/api/v2/...
//! # Ok(()) }
//! ```
//!
//! See `docs/emulator.md` for the dataset format, the admin API, faults and the
//! emulator's assumptions where the contract is silent.

mod admin;
mod analytics;
mod api;
mod app;
mod clockctl;
pub mod dataset;
mod error;
pub mod export;
pub mod faults;
pub mod generate;
mod phone;
mod query;
pub mod redact;
pub mod rng;
mod server;
mod views;
pub mod world;

pub use clockctl::ControlledClock;
pub use dataset::{
    Conversation, Dataset, DatasetError, Direction, ExternalContact, FileState, MediaType,
    OAuthClient, Participant, Persona, PhoneTenure, Recording, User, UserState,
};
pub use export::ArchiveFault;
pub use faults::{Fault, FaultAction, FaultEntry};
pub use phone::{normalise_email, normalise_phone};
pub use redact::RedactionFault;
pub use server::{Emulator, EmulatorBuilder, RunningEmulator, StartError};
pub use world::{
    Config, DeleteEffect, DeletionProtection, ExportFormat, GdprJob, GdprStatus, JobTiming,
    LoggedRequest, RequestType,
};

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Why the emulator's clock could not be steered.
#[derive(Debug, thiserror::Error)]
pub enum ClockControlError {
    #[error("the emulator was started with an external clock; steer that clock instead")]
    NotOwned,
    #[error("{0}")]
    InvalidSpeed(String),
}

/// Rust accessors: what the state holds now (after applying whatever the clock says
/// has happened), so tests can assert what remains.
impl RunningEmulator {
    /// The emulator clock's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.app.now()
    }

    /// The first OAuth client (the dataset's, unless replaced).
    pub fn oauth_client(&self) -> OAuthClient {
        let (w, _) = self.app.world();
        w.clients[0].clone()
    }

    /// Every OAuth client, including those added by the builder.
    pub fn oauth_clients(&self) -> Vec<OAuthClient> {
        self.app.world().0.clients.clone()
    }

    pub fn conversations(&self) -> Vec<Conversation> {
        self.app.world().0.conversations.clone()
    }

    pub fn conversation(&self, id: &str) -> Option<Conversation> {
        self.app
            .world()
            .0
            .conversations
            .iter()
            .find(|c| c.id == id)
            .cloned()
    }

    /// Every recording still present, with its conversation id.
    pub fn recordings(&self) -> Vec<(String, Recording)> {
        let (w, _) = self.app.world();
        w.conversations
            .iter()
            .flat_map(|c| c.recordings.iter().map(|r| (c.id.clone(), r.clone())))
            .collect()
    }

    pub fn users(&self) -> Vec<User> {
        self.app.world().0.users.clone()
    }

    pub fn user(&self, id: &str) -> Option<User> {
        self.app
            .world()
            .0
            .users
            .iter()
            .find(|u| u.id == id)
            .cloned()
    }

    pub fn external_contacts(&self) -> Vec<ExternalContact> {
        self.app.world().0.contacts.clone()
    }

    pub fn external_contact(&self, id: &str) -> Option<ExternalContact> {
        self.app
            .world()
            .0
            .contacts
            .iter()
            .find(|c| c.id == id)
            .cloned()
    }

    pub fn protected_conversation_ids(&self) -> Vec<String> {
        self.app.world().0.protected.iter().cloned().collect()
    }

    /// Every GDPR request, oldest first, with the emulator's bookkeeping (what matched,
    /// the timeline, what it did).
    pub fn gdpr_requests(&self) -> Vec<GdprJob> {
        self.app.world().0.gdpr.clone()
    }

    /// A GDPR request's status now.
    pub fn gdpr_status(&self, id: &str) -> Option<GdprStatus> {
        let (w, now) = self.app.world();
        w.gdpr.iter().find(|j| j.id == id).map(|j| j.status_at(now))
    }

    /// The request log (API and token requests; not the admin API).
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.app.world().0.log.clone()
    }

    /// How many GDPR requests of this type were submitted (whatever the answer).
    pub fn gdpr_submissions(&self, request_type: RequestType) -> usize {
        self.app
            .world()
            .0
            .log
            .iter()
            .filter(|e| e.method == "POST" && e.path == "/api/v2/gdpr/requests")
            .filter(|e| e.request_type.as_deref() == Some(request_type.as_str()))
            .count()
    }

    pub fn clear_request_log(&self) {
        self.app.world().0.log.clear();
    }

    /// Adds a fault rule; returns its id.
    pub fn add_fault(&self, fault: Fault) -> Result<u64, String> {
        self.app.world().0.add_fault(fault)
    }

    /// Removes one rule; false when there is none with that id.
    pub fn remove_fault(&self, id: u64) -> bool {
        let (mut w, _) = self.app.world();
        let before = w.faults.len();
        w.faults.retain(|f| f.id != id);
        w.faults.len() != before
    }

    pub fn clear_faults(&self) {
        self.app.world().0.faults.clear();
    }

    pub fn faults(&self) -> Vec<FaultEntry> {
        self.app.world().0.faults.clone()
    }

    /// Back to the loaded dataset (data, GDPR requests, protections, rate windows,
    /// faults, log). Tokens stay valid.
    pub fn reset(&self) {
        self.app.world().0.reset();
    }

    /// Applies `fault` to every export archive built from now on (`None` clears it).
    pub fn set_archive_fault(&self, fault: Option<ArchiveFault>) {
        self.app.world().0.archive_fault = fault;
    }

    /// Makes the redaction of one conversation land late or never (`None` clears it).
    /// Read when the redaction would land, so it may be set after the request.
    pub fn set_redaction_fault(&self, conversation_id: &str, fault: Option<RedactionFault>) {
        let (mut w, _) = self.app.world();
        match fault {
            Some(f) => w.redaction_faults.insert(conversation_id.to_string(), f),
            None => w.redaction_faults.remove(conversation_id),
        };
    }

    /// The settings the emulator runs with.
    pub fn config(&self) -> Config {
        self.app.world().0.config.clone()
    }

    /// Jumps the emulator-owned clock ahead.
    pub fn advance_clock(&self, d: Duration) -> Result<(), ClockControlError> {
        self.app
            .owned_clock
            .as_ref()
            .ok_or(ClockControlError::NotOwned)?
            .advance(d);
        Ok(())
    }

    /// Sets the emulator-owned clock's speed (0 freezes).
    pub fn set_clock_speed(&self, speed: f64) -> Result<(), ClockControlError> {
        self.app
            .owned_clock
            .as_ref()
            .ok_or(ClockControlError::NotOwned)?
            .set_speed(speed)
            .map_err(ClockControlError::InvalidSpeed)
    }
}
