//! What every cell of the evidence checks about one world after its executions: the
//! records, the GDPR_DELETE count, and everybody else's data.

use std::collections::{BTreeMap, BTreeSet};

use archive::verify::{VerifyOptions, verify};
use e2e::Harness;
use genesys_emulator::{Dataset, RequestType};
use serde_json::Value;

/// The personas a fixture ticket is about.
pub fn personas_of(fixture: &str) -> &'static [&'static str] {
    match fixture {
        "happy-path" => &["happy-path"],
        "recycled-number" => &["recycled-number-old-owner"],
        "legal-hold" | "deletion-protection" => &["legal-hold"],
        "former-agent" => &["former-agent"],
        "active-agent" => &["active-agent"],
        _ => &[],
    }
}

/// Everything in the emulator that is not the subject's own: every other
/// conversation (with its recordings), user and external contact, as JSON by id.
pub fn others(h: &Harness, subject_personas: &[&str]) -> BTreeMap<String, Value> {
    let ds = Dataset::bundled();
    let mut own_conversations = BTreeSet::new();
    let mut own_ids = BTreeSet::new();
    for key in subject_personas {
        let p = ds
            .persona(key)
            .unwrap_or_else(|| panic!("no persona {key}"));
        own_conversations.extend(p.customer_conversation_ids.iter().cloned());
        own_ids.extend(p.user_id.iter().cloned());
        own_ids.extend(p.external_contact_id.iter().cloned());
    }
    let mut out = BTreeMap::new();
    for c in h.emulator.conversations() {
        if !own_conversations.contains(&c.id) {
            let mut v = serde_json::to_value(&c).expect("JSON");
            // A run waits days for redactions to land, and recordings move to the
            // archive tier as the clock passes their archive date: storage, not data.
            for r in v["recordings"].as_array_mut().into_iter().flatten() {
                if matches!(r["fileState"].as_str(), Some("ARCHIVED" | "RESTORED")) {
                    r["fileState"] = Value::from("AVAILABLE");
                }
            }
            out.insert(format!("conversation {}", c.id), v);
        }
    }
    for u in h.emulator.users() {
        if !own_ids.contains(&u.id) {
            out.insert(
                format!("user {}", u.id),
                serde_json::to_value(&u).expect("JSON"),
            );
        }
    }
    for x in h.emulator.external_contacts() {
        if !own_ids.contains(&x.id) {
            out.insert(
                format!("contact {}", x.id),
                serde_json::to_value(&x).expect("JSON"),
            );
        }
    }
    out
}

/// What differs between two snapshots (ids only: no personal data in messages).
pub fn changed(before: &BTreeMap<String, Value>, after: &BTreeMap<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in before {
        match after.get(k) {
            None => out.push(format!("{k} is gone")),
            Some(w) if w != v => out.push(format!("{k} changed")),
            _ => {}
        }
    }
    for k in after.keys() {
        if !before.contains_key(k) {
            out.push(format!("{k} appeared"));
        }
    }
    out
}

/// The checks every cell makes on its world, as problems (empty: all hold).
pub async fn common_checks(
    h: &Harness,
    ticket: &str,
    executions: usize,
    others_before: &BTreeMap<String, Value>,
    subject_personas: &[&str],
) -> Vec<String> {
    let mut problems = Vec::new();
    let records = h.records_of(ticket).await;
    if records.len() != executions {
        problems.push(format!(
            "{} records for {executions} execution(s) of {ticket}",
            records.len()
        ));
    }
    let report = verify(&*h.archive, &VerifyOptions::default())
        .await
        .expect("the archive can be read");
    if !report.passed() {
        problems.push(format!("audit verify fails: {}", report.to_text()));
    }
    let accepted = deletes_accepted(h);
    if accepted.most_of_one > 1 {
        problems.push(format!(
            "Genesys accepted {} GDPR_DELETEs under one name",
            accepted.most_of_one
        ));
    }
    let diff = changed(others_before, &others(h, subject_personas));
    if !diff.is_empty() {
        problems.push(format!("somebody else's data changed: {}", diff.join(", ")));
    }
    problems
}

/// GDPR_DELETEs Genesys took on, by request name (one per cleared identifier):
/// the jobs the emulator holds. A 429 or a 5xx (refused before processing) may be
/// resent; an accepted delete never is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// Distinct request names accepted.
    pub names: usize,
    /// The most accepted under one name: 1 when nothing was sent twice.
    pub most_of_one: usize,
}

pub fn deletes_accepted(h: &Harness) -> Accepted {
    let jobs: Vec<Option<String>> = h
        .emulator
        .gdpr_requests()
        .into_iter()
        .filter(|j| j.request_type == RequestType::GdprDelete)
        .map(|j| j.name)
        .collect();
    let mut per_name: BTreeMap<Option<String>, usize> = BTreeMap::new();
    for name in &jobs {
        *per_name.entry(name.clone()).or_default() += 1;
    }
    // The request log cross-checks the jobs: a submission answered 2xx (or processed
    // before its answer was lost) that left no job would hide a second delete.
    let logged = h
        .emulator
        .request_log()
        .into_iter()
        .filter(|e| e.method == "POST" && e.path == "/api/v2/gdpr/requests")
        .filter(|e| e.request_type.as_deref() == Some("GDPR_DELETE"))
        .filter(|e| {
            e.status.is_some_and(|s| (200..300).contains(&s))
                || e.fault.as_deref() == Some("processThenDrop")
        })
        .count();
    let most = per_name.values().copied().max().unwrap_or(0);
    Accepted {
        names: per_name.len(),
        most_of_one: if logged > jobs.len() {
            most.max(2)
        } else {
            most
        },
    }
}
