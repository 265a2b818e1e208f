//! The calls, one module per API area; each adds methods to
//! [`GenesysClient`](crate::GenesysClient).

mod analytics;
mod gdpr;
mod recordings;
mod users;

pub use recordings::DELETION_PROTECTION_BATCH;
