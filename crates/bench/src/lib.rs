//! `make bench`: measures what the project publishes in `docs/performance.md` and
//! writes it. How it measures, and what the figures do and do not show, is
//! `docs/bench.md`.
//!
//! The report is a list of [`report::Section`]s (`src/main.rs` lists them); each
//! measures, renders its markdown and names the [`report::Target`]s it checked.

pub mod cold_start;
pub mod erasure_cost;
pub mod machine;
pub mod report;
pub mod sizes;
pub mod stats;
pub mod throughput;
pub mod world;
