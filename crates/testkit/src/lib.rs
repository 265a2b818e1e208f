//! Test support shared by the workspace's crates (never shipped).
//!
//! - [`MotoServer`]: a moto server (`$MOTO_SERVER`, installed by `make tools`) on a
//!   free 127.0.0.1 port for the duration of a test, with an S3 client for it.
//! - [`records::RecordBuilder`]: valid compliance records built from the schema's
//!   examples.

pub mod moto;
pub mod records;

pub use moto::{MotoServer, REGION};
pub use records::RecordBuilder;
