//! The definition and the code agree on names: every error `ErrorEquals` matches is one
//! the code (or AWS) raises, every Task retries every retryable error, and every
//! `${...}` substitution is a function the local pipeline routes to a step.

use std::collections::BTreeSet;

use erasure_steps::local::{DEFINITION, FUNCTIONS, substitutions};
use erasure_steps::{all_error_names, retryable_error_names};
use serde_json::Value;

fn definition() -> Value {
    serde_json::from_str(DEFINITION).expect("the definition is JSON")
}

/// Every state, nested ones included, with its name.
fn states(v: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    if let Some(map) = v.get("States").and_then(Value::as_object) {
        for (name, st) in map {
            out.push((name.clone(), st.clone()));
            for b in st
                .get("Branches")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.extend(states(b));
            }
            if let Some(p) = st.get("ItemProcessor").or_else(|| st.get("Iterator")) {
                out.extend(states(p));
            }
        }
    }
    out
}

/// Names AWS raises itself.
fn is_aws(name: &str) -> bool {
    const STATES: &[&str] = &[
        "States.ALL",
        "States.Timeout",
        "States.HeartbeatTimeout",
        "States.TaskFailed",
        "States.Permissions",
        "States.ResultPathMatchFailure",
        "States.ParameterPathFailure",
        "States.BranchFailed",
        "States.NoChoiceMatched",
        "States.IntrinsicFailure",
        "States.ExceedToleratedFailureThreshold",
        "States.ItemReaderFailed",
        "States.ResultWriterFailed",
        "States.Runtime",
    ];
    STATES.contains(&name)
        || name == "Sandbox.Timedout"
        || (name.starts_with("Lambda.") && name.len() > 7)
        || matches!(name, "Runtime.ExitError" | "Runtime.Unknown")
}

#[test]
fn error_equals_names_only_errors_the_code_or_aws_raises() {
    let known: BTreeSet<&str> = all_error_names().into_iter().collect();
    let mut seen = 0;
    for (name, st) in states(&definition()) {
        for list in ["Retry", "Catch"] {
            for rule in st.get(list).and_then(Value::as_array).into_iter().flatten() {
                for e in rule["ErrorEquals"].as_array().into_iter().flatten() {
                    let e = e.as_str().expect("error names are strings");
                    seen += 1;
                    assert!(
                        known.contains(e) || is_aws(e),
                        "{name}.{list} matches {e}, which nothing raises"
                    );
                }
            }
        }
    }
    assert!(seen > 100, "the walk found the rules ({seen})");
}

fn names(r: &Value) -> BTreeSet<&str> {
    r["ErrorEquals"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

#[test]
fn every_task_retries_every_retryable_error_first() {
    let mut tasks = 0;
    for (name, st) in states(&definition()) {
        if st["Type"] != "Task" {
            continue;
        }
        tasks += 1;
        // A Task that calls Genesys may first have a longer retrier for
        // GenesysRateLimited alone (the shared 300 a minute can take an hour to drain
        // under load); the general retrier comes next and names everything else.
        let retriers = st["Retry"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no Retry"));
        let general = if names(&retriers[0]) == BTreeSet::from(["GenesysRateLimited"]) {
            assert_eq!(retriers[0]["JitterStrategy"], "FULL", "{name}");
            &retriers[1]
        } else {
            &retriers[0]
        };
        let first = names(general);
        for r in retryable_error_names() {
            assert!(first.contains(r), "{name} does not retry {r}");
        }
        assert!(
            st["Catch"]
                .as_array()
                .is_some_and(|c| c.iter().any(|r| r["ErrorEquals"][0] == "States.ALL")),
            "{name} catches nothing: a failure would end without a record"
        );
    }
    assert_eq!(
        tasks, 18,
        "12 functions; Locate twice (ExportAgain), Poll twice, VerifyErasure three times \
         (LaterCheck), WriteRecord and ReportTicket twice (LaterCheckWrite, LaterCheckResidue)"
    );
}

#[test]
fn every_substitution_is_a_function_the_local_pipeline_routes() {
    let mut in_definition = BTreeSet::new();
    let mut rest = DEFINITION;
    while let Some(i) = rest.find("${") {
        let tail = &rest[i + 2..];
        let end = tail.find('}').expect("closed");
        in_definition.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    let mapped: BTreeSet<String> = substitutions().into_keys().collect();
    assert_eq!(in_definition, mapped);
    let functions: BTreeSet<&str> = FUNCTIONS.iter().map(|(_, f)| *f).collect();
    assert_eq!(
        functions.len(),
        FUNCTIONS.len(),
        "one function per substitution"
    );
    // The infra template names the same substitutions.
    let template = include_str!("../../../infra/template.yaml");
    for s in &in_definition {
        assert!(
            template.contains(&format!("{s}: !GetAtt")),
            "infra/template.yaml lacks {s}"
        );
    }
}

#[test]
fn the_definition_loads_in_the_local_runner() {
    local_runner::Definition::from_json_str(DEFINITION, &substitutions()).expect("loads");
}
