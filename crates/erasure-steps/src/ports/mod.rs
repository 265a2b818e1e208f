//! The ports the steps talk to besides Genesys (a `GenesysClient`, see
//! [`crate::gdpr::GenesysDeps`]) and the archive (the `archive::Archive` trait).
//!
//! Each has a production adapter (S3, a signed HTTPS POST) and a local one for runs on
//! one machine; tests use the local adapters or real local servers, never mocks.

pub mod downstream;
pub mod holds;
pub mod ledger;
pub mod notify;

pub use downstream::{Acknowledgement, Downstream, DownstreamSystem};
pub use holds::{
    FileHoldRegister, HoldRegisterSource, NoHoldRegister, S3HoldRegister, StaticHoldRegister,
};
pub use ledger::{DirLedger, LedgerEntry, MemoryLedger, S3Ledger, SubmissionLedger};
pub use notify::{
    HttpReviewNotifier, HttpTicketReporter, MemoryReviewNotifier, MemoryTicketReporter,
    ReviewNotice, ReviewNotifier, TicketReport, TicketReporter,
};
pub use signing::{Endpoint, KeyRing};
