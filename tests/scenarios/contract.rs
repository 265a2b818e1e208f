//! Every JSONPath the definition reads exists in what the steps produce: checked
//! against the state of a real run (all of it: every section the steps write is always
//! present, `null` when empty, so a path that resolves here resolves in every run).

use e2e::Harness;
use erasure_steps::local::DEFINITION;
use serde_json::Value;

/// The paths a state reads (`$.a.b`, never `$$` context paths), skipping the states of
/// a Map's item processor (their `$` is the item).
fn read_paths(states: &serde_json::Map<String, Value>, out: &mut Vec<(String, String)>) {
    for (name, st) in states {
        collect(name, st, out);
        for b in st
            .get("Branches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(s) = b["States"].as_object() {
                read_paths(s, out);
            }
        }
    }
}

fn collect(state: &str, v: &Value, out: &mut Vec<(String, String)>) {
    const PATH_FIELDS: &[&str] = &[
        "Variable",
        "SecondsPath",
        "ItemsPath",
        "InputPath",
        "OutputPath",
        "TimestampPath",
    ];
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if matches!(
                    k.as_str(),
                    "States" | "Branches" | "ItemProcessor" | "Iterator" | "Retry" | "Catch"
                ) {
                    continue;
                }
                match child {
                    Value::String(s) if k.ends_with(".$") || PATH_FIELDS.contains(&k.as_str()) => {
                        for p in paths_in(s) {
                            out.push((state.to_owned(), p));
                        }
                    }
                    _ => collect(state, child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect(state, i, out)),
        _ => {}
    }
}

/// `$.x.y` tokens of a path or an intrinsic call.
fn paths_in(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    for i in 0..b.len() {
        if b[i] == b'$' && (i == 0 || b[i - 1] != b'$') && b.get(i + 1) == Some(&b'.') {
            let end = s[i + 2..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
                .map_or(s.len(), |e| i + 2 + e);
            out.push(s[i..end].to_owned());
        }
    }
    out
}

fn resolves(state: &Value, path: &str) -> bool {
    let mut v = state;
    for seg in path.trim_start_matches("$.").split('.') {
        match v.get(seg) {
            Some(next) => v = next,
            None => return false,
        }
    }
    true
}

/// The state a state entered with, in a run.
fn entered_input(run: &e2e::Run, state: &str) -> Value {
    run.outcome
        .result
        .history
        .iter()
        .find(|e| e.kind.ends_with("StateEntered") && e.state_name.as_deref() == Some(state))
        .and_then(|e| e.details.get("input").and_then(Value::as_str))
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_else(|| panic!("{state} was not entered"))
}

#[tokio::test]
async fn every_path_the_definition_reads_exists_in_what_the_steps_produce() {
    let h = Harness::builder().start().await;
    // Review, the DPO's gate, the deletion, every AfterErasure branch but offboarding.
    let run = h.run("recycled-number").await;
    assert_eq!(run.outcome(), "COMPLETED");
    let before_record = entered_input(&run, "WriteRecord");
    let after_record = entered_input(&run, "ReportToTicket");
    // The checks after the record: after one was written, and waiting for the next.
    let after_check = entered_input(&run, "LaterCheckResult");
    let waiting_check = entered_input(&run, "LaterCheckWait");
    // Offboarding's paths, from a former agent's run.
    let agent_run = h.run("former-agent").await;
    let offboard = entered_input(&agent_run, "AfterErasure");

    let definition: Value = serde_json::from_str(DEFINITION).expect("JSON");
    let mut paths = Vec::new();
    read_paths(
        definition["States"].as_object().expect("states"),
        &mut paths,
    );
    assert!(paths.len() > 40, "found {} paths", paths.len());
    // Written by a Catch or by the definition itself, not by a step's output.
    const NOT_FROM_STEPS: &[&str] = &[
        "$.failure",
        "$.error",
        "$.verifyError",
        "$.expired",
        "$.export.fresh",
        // Present only while a redaction is pending; read by an IsPresent test alone.
        "$.verify.nextCheckAt",
        "$.recordError",
        "$.reportError",
        // Set by the definition itself (ReviewAgain) and read by an IsPresent test.
        "$.reviewedAgain",
        "$.holdsChanged",
    ];
    let mut checked = 0;
    for (state, path) in paths {
        if NOT_FROM_STEPS
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}.")))
        {
            continue;
        }
        let record_step = path == "$.record" || path.starts_with("$.record.");
        let later_check = ["$.laterCheck", "$.verification"]
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}.")));
        let in_run = if later_check {
            resolves(&after_check, &path) || resolves(&waiting_check, &path)
        } else if record_step {
            resolves(&after_record, &path)
        } else {
            // In both runs: a section's shape does not depend on the ticket.
            resolves(&before_record, &path) && resolves(&offboard, &path)
        };
        assert!(in_run, "{state} reads {path}, which no step produces");
        checked += 1;
    }
    assert!(checked > 40);
    // The check can fail.
    assert!(!resolves(&before_record, "$.review.erase.selections"));
    assert!(!resolves(&before_record, "$.export.poll.wait_seconds"));
}

#[test]
fn every_state_after_the_record_is_one_the_watchdog_knows_as_a_later_check() {
    // The watchdog counts no deadline for an execution in these states: every state
    // the record's ReportToTicket leads to (told or not), but the ends, must carry
    // the prefix.
    let definition: Value = serde_json::from_str(DEFINITION).expect("JSON");
    let states = definition["States"].as_object().expect("states");
    let mut seen = std::collections::BTreeSet::new();
    let report = &states["ReportToTicket"];
    let mut next = vec![
        report["Next"].as_str().expect("a next").to_owned(),
        report["Catch"][0]["Next"]
            .as_str()
            .expect("a catch")
            .to_owned(),
    ];
    while let Some(name) = next.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let state = &states[&name];
        // An end (Done, TicketNotUpdated, LaterCheckFailed): no execution waits there.
        if matches!(state["Type"].as_str(), Some("Succeed" | "Fail")) {
            continue;
        }
        assert!(
            name.starts_with(endpoints::watchdog::LATER_CHECK_STATES),
            "{name} follows the record but is not named {}…",
            endpoints::watchdog::LATER_CHECK_STATES
        );
        let s = state.to_string();
        for (i, _) in s.match_indices("\"Next\":\"") {
            let rest = &s[i + 8..];
            next.push(rest[..rest.find('"').expect("a name")].to_owned());
        }
        if let Some(d) = state["Default"].as_str() {
            next.push(d.to_owned());
        }
    }
    assert!(seen.len() >= 8, "{seen:?}");
}
