//! The pipeline's AWS entry points, as library functions the Lambda binaries wrap:
//!
//! | binary | trigger | here |
//! |---|---|---|
//! | `ticket-webhook` | function URL, from the DSAR tool | [`webhook::Webhook::handle`] |
//! | `approval` | function URL, the DPO's decision; `/annotations`, a closed escalation ([`annotation`]) | [`approval::ApprovalEndpoint::handle`] |
//! | `watchdog` | EventBridge, hourly | [`watchdog::Watchdog::handle`] |
//!
//! Each is generic over [`sfn::StepFunctions`] (implemented by `aws_sdk_sfn::Client`)
//! and takes the time from a [`clock::SharedClock`]. [`signature`] is the HMAC
//! scheme of every HTTP message in and out (the `signing` crate's, shared with the
//! steps); [`startup`] reads the environment and
//! the secrets once per cold start.

pub mod annotation;
pub mod answer;
pub mod approval;
pub mod sfn;
pub use signing::scheme as signature;
pub mod startup;
pub mod watchdog;
pub mod webhook;
