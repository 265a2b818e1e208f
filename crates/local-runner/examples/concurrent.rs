//! Measures the wall time of N concurrent executions of a 20-state definition
//! (Pass, 9 Tasks with a Retry rule, 9 Choices, Succeed) with trivial handlers on
//! the virtual clock.
//!
//! `cargo run --release -p local-runner --example concurrent -- [N]` (default 1000).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use local_runner::{Definition, Resources, Runner, handler_fn};
use serde_json::{Value, json};

fn twenty_states() -> Result<Definition, local_runner::LoadError> {
    let mut states = serde_json::Map::new();
    states.insert(
        "S0".into(),
        json!({"Type": "Pass", "Parameters": {"n.$": "$.n", "steps": 0}, "Next": "S1"}),
    );
    for i in 1..19 {
        let next = format!("S{}", i + 1);
        let state = if i % 2 == 1 {
            json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:step",
                   "Retry": [{"ErrorEquals": ["States.ALL"]}], "Next": next})
        } else {
            json!({"Type": "Choice", "Choices": [{"Variable": "$.steps", "NumericGreaterThanEquals": 0, "Next": next}]})
        };
        states.insert(format!("S{i}"), state);
    }
    states.insert("S19".into(), json!({"Type": "Succeed"}));
    Definition::from_value(json!({"StartAt": "S0", "States": states}), &HashMap::new())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1000);
    let step = handler_fn(|mut input: Value, _ctx| async move {
        input["steps"] = json!(input["steps"].as_u64().unwrap_or(0) + 1);
        Ok(input)
    });
    let runner = Runner::builder(twenty_states()?)
        .resources(Resources::new().function("step", step))
        .clock(Arc::new(clock::VirtualClock::starting_at(
            chrono::Utc::now(),
        )))
        .build()?;
    let started = Instant::now();
    let executions: Vec<_> = (0..n).map(|i| runner.start(json!({"n": i}))).collect();
    let mut succeeded = 0;
    let mut transitions = 0;
    for e in &executions {
        let r = e.wait().await;
        if r.output().is_some() {
            succeeded += 1;
        }
        transitions += r.counts.state_transitions;
    }
    let elapsed = started.elapsed();
    println!(
        "{succeeded}/{n} executions succeeded, {transitions} state transitions, in {:.1} ms ({:.0} transitions/s)",
        elapsed.as_secs_f64() * 1000.0,
        transitions as f64 / elapsed.as_secs_f64()
    );
    if succeeded != n {
        return Err(format!("{} executions failed", n - succeeded).into());
    }
    Ok(())
}
