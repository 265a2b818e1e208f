//! Typed async client for the parts of the Genesys Cloud Platform API that a GDPR
//! Article 17 erasure pipeline calls: GDPR requests and subject search, users,
//! recordings and their deletion protection, and the analytics conversation-details
//! query. Written from `shared/reference/genesys/contract.md`.
//!
//! - OAuth client credentials against `https://login.<domain>/oauth/token`; the token
//!   is cached, renewed 60 s before it expires (on the injected [`clock`]) and after a
//!   401, with one renewal shared by concurrent callers.
//! - Retries: 429 honours `Retry-After`; 5xx and connection faults back off with full
//!   jitter; submitting a GDPR request is never repeated after a failure that leaves
//!   open whether Genesys applied it ([`GenesysError::Ambiguous`]).
//! - Personal data sits in [`Pii`] and credentials in [`Secret`]; neither prints in
//!   `Debug`, and errors and logs carry path templates, statuses and correlation ids
//!   only.
//!
//! ```no_run
//! # async fn run() -> Result<(), genesys::GenesysError> {
//! use genesys::{ClientConfig, Credentials, GdprSubject, GenesysClient, NewGdprRequest, Region};
//!
//! let client = GenesysClient::new(ClientConfig::new(
//!     Region::EuWest1,
//!     Credentials::new("client-id", "client-secret"),
//! ))?;
//! let subject = GdprSubject {
//!     phone_numbers: vec!["+353861234567".into()],
//!     ..GdprSubject::default()
//! };
//! let request = NewGdprRequest::export(subject).with_name("DSAR-2026-0042");
//! let created = client.create_gdpr_request(&request, false).await?;
//! let status = client.get_gdpr_request(&created.id).await?.status;
//! # let _ = status;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod api;
mod client;
mod config;
mod error;
pub mod export_archive;
pub mod models;
mod pii;
mod region;

pub use api::{DELETION_PROTECTION_BATCH, NamedLookup, download_id};
pub use client::{GenesysClient, RateLimitSnapshot};
pub use config::{ClientConfig, Credentials, RetryPolicy, Timeouts};
pub use error::{ErrorDetail, GenesysError, TransportFailure};
pub use export_archive::{ArchiveLimits, ArchiveProblem, ArchivedRecording, ExportCatalog};
pub use models::*;
pub use pii::{Pii, Secret};
pub use region::{Environment, EnvironmentParseError, Region, UnknownRegion};

/// Re-exported so callers can build a [`ClientConfig`] without naming the crate.
pub use clock;

/// Compiles the README's example, so it stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
