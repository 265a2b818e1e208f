//! End-to-end scenarios: each test starts its own world (virtual clock, emulator,
//! downstream receiver, archive) and runs tickets through the one workflow definition.

mod agents;
mod contract;
mod deadline;
mod downstream;
mod exports;
mod failures;
mod happy_path;
mod idempotency;
mod legal_hold;
mod letters;
mod recycled_number;
mod redaction;
mod rejections;
mod terminal_record;

use genesys_emulator::RequestType;

/// GDPR requests of a type the emulator accepted (its own state, not the client's word).
pub fn jobs(h: &e2e::Harness, t: RequestType) -> Vec<genesys_emulator::GdprJob> {
    h.emulator
        .gdpr_requests()
        .into_iter()
        .filter(|j| j.request_type == t)
        .collect()
}

/// The `ref` of the record's identifier of `kind`.
pub fn identifier<'a>(record: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    record["subject"]["identifiers"]
        .as_array()
        .and_then(|ids| ids.iter().find(|i| i["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} identifier in the record"))
}

pub fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}
