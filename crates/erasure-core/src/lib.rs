//! The erasure domain: pure, synchronous, no I/O.
//!
//! A module per concern: [`ticket`] (the execution input, validated), [`identifiers`]
//! (personal data types that redact themselves), [`pseudonym`] (keyed hashes for the
//! record), [`deadline`] (the Art. 12(3) clock), [`hold`] (legal holds and Genesys
//! deletion protection), [`tenure`] (recycled phone numbers), [`review`] (what is
//! erased, withheld, excluded, and whether a person must look), [`record`] (the
//! compliance record) and [`error`].

pub mod deadline;
pub mod error;
pub mod hold;
pub mod identifiers;
pub mod pseudonym;
pub mod record;
pub mod review;
pub mod tenure;
pub mod ticket;
pub mod time;
