//! The calls, one module per API area; each adds methods to
//! [`GenesysClient`](crate::GenesysClient).

mod analytics;
mod downloads;
mod gdpr;
mod recordings;
mod users;

pub use downloads::download_id;
pub use gdpr::NamedLookup;
pub use recordings::DELETION_PROTECTION_BATCH;
