//! Step Functions Local's mock configuration: `StateMachines.<name>.TestCases.<case>`
//! maps a state name to a mocked response, and `MockedResponses.<name>` maps the
//! invocation index (`"0"`, or an inclusive range `"1-2"`) to a `Return` or a
//! `Throw`. Each attempt of a Task, retries included, takes the next index.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::handler::{Handler, Resources, TaskContext, TaskError};

/// A mock file that cannot be used, with the JSON path of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct MockError {
    /// Where, e.g. `MockedResponses.PollOk.0-x`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn err(path: impl Into<String>, message: impl Into<String>) -> MockError {
    MockError {
        path: path.into(),
        message: message.into(),
    }
}

#[derive(Debug, Clone)]
enum Response {
    Return(Value),
    Throw(TaskError),
}

#[derive(Debug, Clone)]
struct Mocked {
    name: String,
    /// Inclusive index ranges, sorted.
    entries: Vec<(u64, u64, Response)>,
}

/// A parsed mock configuration.
#[derive(Debug, Clone)]
pub struct MockConfig {
    test_cases: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    responses: HashMap<String, Arc<Mocked>>,
}

impl MockConfig {
    /// Parses and checks a mock configuration file's text.
    pub fn from_json_str(text: &str) -> Result<Self, MockError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| err("(mock config)", format!("not valid JSON: {e}")))?;
        let Value::Object(top) = value else {
            return Err(err("(mock config)", "must be a JSON object"));
        };
        for key in top.keys() {
            if key != "StateMachines" && key != "MockedResponses" {
                return Err(err(key.clone(), "unknown field"));
            }
        }
        let mut responses = HashMap::new();
        if let Some(v) = top.get("MockedResponses") {
            let Value::Object(map) = v else {
                return Err(err("MockedResponses", "must be an object"));
            };
            for (name, entries) in map {
                let at = format!("MockedResponses.{name}");
                responses.insert(name.clone(), Arc::new(parse_mocked(name, entries, &at)?));
            }
        }
        let mut test_cases = BTreeMap::new();
        let machines = match top.get("StateMachines") {
            Some(Value::Object(m)) => m,
            Some(_) => return Err(err("StateMachines", "must be an object")),
            None => return Err(err("StateMachines", "required field missing")),
        };
        for (machine, body) in machines {
            let at = format!("StateMachines.{machine}");
            let Value::Object(body) = body else {
                return Err(err(at, "must be an object"));
            };
            for key in body.keys() {
                if key != "TestCases" {
                    return Err(err(format!("{at}.{key}"), "unknown field"));
                }
            }
            let Some(Value::Object(cases)) = body.get("TestCases") else {
                return Err(err(format!("{at}.TestCases"), "required object missing"));
            };
            let mut parsed = BTreeMap::new();
            for (case, states) in cases {
                let cat = format!("{at}.TestCases.{case}");
                let Value::Object(states) = states else {
                    return Err(err(
                        cat,
                        "must be an object mapping state names to mocked responses",
                    ));
                };
                let mut map = BTreeMap::new();
                for (state, response) in states {
                    let Value::String(response) = response else {
                        return Err(err(
                            format!("{cat}.{state}"),
                            "must be the name of a mocked response",
                        ));
                    };
                    if !responses.contains_key(response) {
                        return Err(err(
                            format!("{cat}.{state}"),
                            format!(
                                "mocked response '{response}' is not defined in MockedResponses"
                            ),
                        ));
                    }
                    map.insert(state.clone(), response.clone());
                }
                parsed.insert(case.clone(), map);
            }
            test_cases.insert(machine.clone(), parsed);
        }
        Ok(Self {
            test_cases,
            responses,
        })
    }

    /// The state machine names the file has test cases for.
    pub fn state_machines(&self) -> Vec<&str> {
        self.test_cases.keys().map(String::as_str).collect()
    }

    /// Resolves the state machine name: the one given, or the file's only one.
    pub fn state_machine<'a>(&'a self, name: Option<&'a str>) -> Result<&'a str, MockError> {
        match name {
            Some(n) if self.test_cases.contains_key(n) => Ok(n),
            Some(n) => Err(err(
                format!("StateMachines.{n}"),
                format!(
                    "no such state machine (the file has: {})",
                    self.state_machines().join(", ")
                ),
            )),
            None => match self.state_machines().as_slice() {
                [only] => Ok(only),
                [] => Err(err("StateMachines", "the file defines no state machine")),
                many => Err(err(
                    "StateMachines",
                    format!(
                        "the file defines several state machines ({}); choose one",
                        many.join(", ")
                    ),
                )),
            },
        }
    }

    /// The state names a test case mocks.
    pub fn mocked_states(
        &self,
        state_machine: &str,
        test_case: &str,
    ) -> Result<Vec<String>, MockError> {
        Ok(self
            .case(state_machine, test_case)?
            .keys()
            .cloned()
            .collect())
    }

    fn case(
        &self,
        state_machine: &str,
        test_case: &str,
    ) -> Result<&BTreeMap<String, String>, MockError> {
        let cases = self.test_cases.get(state_machine).ok_or_else(|| {
            err(
                format!("StateMachines.{state_machine}"),
                "no such state machine",
            )
        })?;
        cases.get(test_case).ok_or_else(|| {
            err(
                format!("StateMachines.{state_machine}.TestCases.{test_case}"),
                format!(
                    "no such test case (the file has: {})",
                    cases.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }

    /// A resource map routing each mocked state of the test case to its responses.
    pub fn resources(&self, state_machine: &str, test_case: &str) -> Result<Resources, MockError> {
        let mut resources = Resources::new();
        for (state, response) in self.case(state_machine, test_case)? {
            let mocked = self.responses[response].clone();
            resources = resources.state(
                state.clone(),
                Arc::new(MockHandler {
                    mocked,
                    calls: Mutex::new(HashMap::new()),
                }),
            );
        }
        Ok(resources)
    }
}

fn parse_mocked(name: &str, v: &Value, at: &str) -> Result<Mocked, MockError> {
    let Value::Object(map) = v else {
        return Err(err(
            at,
            "must be an object mapping invocation indexes to responses",
        ));
    };
    let mut entries = Vec::new();
    for (key, response) in map {
        let eat = format!("{at}.{key}");
        let (start, end) = match key.split_once('-') {
            Some((a, b)) => (a.parse::<u64>(), b.parse::<u64>()),
            None => (key.parse::<u64>(), key.parse::<u64>()),
        };
        let (Ok(start), Ok(end)) = (start, end) else {
            return Err(err(
                eat,
                "an invocation index must be \"N\" or an inclusive range \"A-B\"",
            ));
        };
        if end < start {
            return Err(err(eat, "the range ends before it starts"));
        }
        let Value::Object(r) = response else {
            return Err(err(eat, "must be {\"Return\": ...} or {\"Throw\": {...}}"));
        };
        let response = match (r.get("Return"), r.get("Throw"), r.len()) {
            (Some(v), None, 1) => Response::Return(v.clone()),
            (None, Some(Value::Object(t)), 1) => {
                for k in t.keys() {
                    if k != "Error" && k != "Cause" {
                        return Err(err(format!("{eat}.Throw.{k}"), "unknown field"));
                    }
                }
                let text = |k: &str| match t.get(k) {
                    None => Ok(String::new()),
                    Some(Value::String(s)) => Ok(s.clone()),
                    Some(_) => Err(err(format!("{eat}.Throw.{k}"), "must be a string")),
                };
                let error = text("Error")?;
                if error.is_empty() {
                    return Err(err(format!("{eat}.Throw.Error"), "required"));
                }
                Response::Throw(TaskError::new(error, text("Cause")?))
            }
            _ => {
                return Err(err(
                    eat,
                    "must have exactly one of Return or Throw (an object)",
                ));
            }
        };
        if let Some((s, e, _)) = entries.iter().find(|(s, e, _)| start <= *e && *s <= end) {
            return Err(err(eat, format!("overlaps the entry for {s}-{e}")));
        }
        entries.push((start, end, response));
    }
    entries.sort_by_key(|(s, _, _)| *s);
    Ok(Mocked {
        name: name.to_string(),
        entries,
    })
}

/// Answers a state's invocations from its mocked response, counting attempts per
/// execution.
struct MockHandler {
    mocked: Arc<Mocked>,
    calls: Mutex<HashMap<String, u64>>,
}

#[async_trait::async_trait]
impl Handler for MockHandler {
    async fn invoke(&self, _input: Value, ctx: TaskContext) -> Result<Value, TaskError> {
        let index = {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            let n = calls.entry(ctx.execution_id.clone()).or_insert(0);
            let index = *n;
            *n += 1;
            index
        };
        let response = self
            .mocked
            .entries
            .iter()
            .find(|(s, e, _)| (*s..=*e).contains(&index))
            .map(|(_, _, r)| r.clone())
            .ok_or_else(|| {
                TaskError::new(
                    "States.Runtime",
                    format!(
                        "mocked response '{}' has no entry for invocation {index} of state '{}'",
                        self.mocked.name, ctx.state_name
                    ),
                )
            })?;
        match response {
            Response::Throw(e) => Err(e),
            Response::Return(v) => match &ctx.task_token {
                // A mocked callback Task completes with the mocked response, as if the
                // token had been sent back at once.
                Some(token) => {
                    ctx.send_task_success(token, v)
                        .map_err(|e| TaskError::new("States.Runtime", e.to_string()))?;
                    Ok(json!({}))
                }
                None => Ok(v),
            },
        }
    }

    fn output_is_integration_response(&self) -> bool {
        true
    }
}
