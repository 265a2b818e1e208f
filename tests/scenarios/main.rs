//! End-to-end scenarios: each test starts its own world (virtual clock, emulator,
//! downstream receiver, archive) and runs tickets through the one workflow definition.

mod agents;
mod contract;
mod deadline;
mod downstream;
mod exports;
mod failures;
mod happy_path;
mod holds_at_erase;
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

/// The ticket's GDPR_DELETEs, checked against its record: one per identifier the
/// record says was erased, each naming that identifier alone and never a name, each
/// listed in the record with that identifier's pseudonym.
pub fn deletes_per_identifier(
    h: &e2e::Harness,
    ticket: &str,
    record: &serde_json::Value,
) -> Vec<genesys_emulator::GdprJob> {
    let deletes: Vec<_> = jobs(h, RequestType::GdprDelete)
        .into_iter()
        .filter(|j| {
            j.name
                .as_deref()
                .is_some_and(|n| n.starts_with(&format!("gdpr-erasure/{ticket}/delete/")))
        })
        .collect();
    for d in &deletes {
        let s = &d.subject;
        let named = s.email_addresses.len()
            + s.phone_numbers.len()
            + usize::from(s.user_id.is_some())
            + usize::from(s.external_contact_id.is_some());
        assert_eq!(named, 1, "{:?} names one identifier", d.name);
        assert_eq!(s.name, None, "a delete never names the person by name");
    }
    let erased: std::collections::BTreeSet<String> = (record["subject"]["identifiers"]
        .as_array()
        .into_iter()
        .flatten())
    .filter(|i| i["usage"] == "searched-and-erased")
    .filter_map(|i| i["ref"].as_str().map(str::to_owned))
    .collect();
    let listed: std::collections::BTreeSet<String> = (record["genesys"]["requests"]
        .as_array()
        .into_iter()
        .flatten())
    .filter(|r| r["requestType"] == "GDPR_DELETE")
    .filter_map(|r| r["subjectRef"].as_str().map(str::to_owned))
    .collect();
    assert_eq!(listed, erased, "the record names each delete's identifier");
    assert_eq!(
        deletes.len(),
        erased.len(),
        "one delete per erased identifier"
    );
    deletes
}

/// How many GDPR_DELETEs the emulator holds, after checking that each was submitted
/// once and that no two share a name.
/// The ticket's GDPR_EXPORTs (`.../export/...`, or `.../export-again/...` when
/// `again`), checked: one per identifier searched (never the name), each naming that
/// identifier alone, each listed in the record with that identifier's pseudonym (the
/// record lists the exports Review read: the fresh ones when `again`).
pub fn exports_per_identifier(
    h: &e2e::Harness,
    ticket: &str,
    record: &serde_json::Value,
    again: bool,
) -> usize {
    let prefix = format!(
        "gdpr-erasure/{ticket}/export{}/",
        if again { "-again" } else { "" }
    );
    let exports: Vec<_> = jobs(h, RequestType::GdprExport)
        .into_iter()
        .filter(|j| j.name.as_deref().is_some_and(|n| n.starts_with(&prefix)))
        .collect();
    for e in &exports {
        let s = &e.subject;
        let named = s.email_addresses.len()
            + s.phone_numbers.len()
            + usize::from(s.user_id.is_some())
            + usize::from(s.external_contact_id.is_some());
        assert_eq!(named, 1, "{:?} names one identifier", e.name);
        assert_eq!(s.name, None, "an export never names the person by name");
    }
    let searched = (record["subject"]["identifiers"]
        .as_array()
        .into_iter()
        .flatten())
    .filter(|i| i["kind"] != "name")
    .count();
    assert_eq!(
        exports.len(),
        searched,
        "one export per identifier searched"
    );
    let listed: Vec<_> = (record["genesys"]["requests"]
        .as_array()
        .into_iter()
        .flatten())
    .filter(|r| r["requestType"] == "GDPR_EXPORT")
    .collect();
    // Every export the ticket made is in the record, the expired ones too.
    let made = jobs(h, RequestType::GdprExport)
        .into_iter()
        .filter(|j| {
            (j.name.as_deref())
                .is_some_and(|n| n.starts_with(&format!("gdpr-erasure/{ticket}/export")))
        })
        .count();
    assert_eq!(listed.len(), made, "every export is in the record");
    assert!(listed.iter().all(|r| r["subjectRef"].is_string()));
    exports.len()
}

pub fn deletes_sent_once(h: &e2e::Harness) -> usize {
    let deletes = jobs(h, RequestType::GdprDelete);
    let names: std::collections::BTreeSet<_> = deletes.iter().map(|d| d.name.clone()).collect();
    assert_eq!(names.len(), deletes.len(), "no two deletes share a name");
    assert_eq!(
        h.emulator.gdpr_submissions(RequestType::GdprDelete),
        deletes.len(),
        "every delete was submitted once"
    );
    deletes.len()
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
