//! The erasure domain: pure, synchronous, no I/O, no AWS types. Every workflow step
//! calls into it; none of it reads the time (callers pass `now`) or the network.
//!
//! How the steps use it:
//!
//! | step | call |
//! |---|---|
//! | Intake | [`intake::intake`] (or [`ticket::validate`] / [`ticket::parse_ticket`], then [`ticket::ValidTicket::deadline`]) |
//! | Locate | [`review::subject_identifiers`]: one Genesys search per identifier, tagged with its pseudonym |
//! | Review | [`hold::parse_register`], [`hold::check_holds`], then [`review::decide`] (which applies [`tenure`]) |
//! | Erase | [`review::ReviewOutcome::delete_subject`] is exactly the GDPR_DELETE subject |
//! | Record | [`record::RecordFacts`] + [`record::build_record`] -> [`record::ComplianceRecord`] |
//!
//! Modules: [`ticket`] (the execution input, validated), [`identifiers`] (personal
//! data types that redact themselves), [`pseudonym`] (keyed hashes for the record),
//! [`deadline`] (the Art. 12(3) clock), [`hold`] (legal holds and Genesys deletion
//! protection), [`tenure`] (recycled phone numbers), [`review`] (what is erased,
//! withheld, excluded, and whether a person must look), [`record`] (the compliance
//! record), [`error`] (one enum per concern, stable names).

pub mod deadline;
pub mod error;
pub mod hold;
pub mod identifiers;
pub mod intake;
pub mod pseudonym;
pub mod record;
pub mod review;
pub mod strict_json;
pub mod tenure;
pub mod ticket;
pub mod time;
