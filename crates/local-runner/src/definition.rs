//! Loading a definition: definition substitutions, parsing into typed states and
//! validation. Everything the runner does not implement is refused here with the
//! field's JSON path, never ignored at run time.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use crate::choice::{self, ChoiceRule};
use crate::intrinsics::Call;
use crate::path::Path;
use crate::template::{Dynamic, Template};

/// A definition the runner refuses, with the JSON path of the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct LoadError {
    /// Where, e.g. `States.Foo.Retry[0].Bogus`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl LoadError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

type Res<T> = Result<T, LoadError>;

/// A loaded, validated state machine definition (top level, or a Parallel branch or
/// Map item processor, which have the same shape).
#[derive(Debug, Clone)]
pub struct Definition {
    pub(crate) start_at: String,
    pub(crate) states: BTreeMap<String, State>,
    /// The execution-wide `TimeoutSeconds` (top level only).
    pub(crate) timeout_seconds: Option<u64>,
}

/// How the state's effective input/output path is configured.
#[derive(Debug, Clone)]
pub(crate) enum IoPath {
    /// Absent: `$`, the whole value.
    Whole,
    /// `null`: an empty object.
    Null,
    Path(Path),
}

#[derive(Debug, Clone)]
pub(crate) enum ResultPath {
    /// Absent or `$`: the result replaces the input.
    Replace,
    /// `null`: the result is discarded, the input passes through.
    Discard,
    Path(Path),
}

#[derive(Debug, Clone)]
pub(crate) enum Transition {
    Next(String),
    End,
}

#[derive(Debug, Clone)]
pub(crate) struct State {
    pub name: String,
    pub input_path: IoPath,
    pub output_path: IoPath,
    pub kind: Kind,
}

/// A number given literally or read from the input at run time.
#[derive(Debug, Clone)]
pub(crate) enum Seconds {
    Fixed(u64),
    Path(Path),
}

#[derive(Debug, Clone)]
pub(crate) enum WaitFor {
    Seconds(Seconds),
    Timestamp(chrono::DateTime<chrono::Utc>),
    TimestampPath(Path),
}

/// What a Task invokes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resource {
    /// `arn:aws:lambda:...:function:NAME`: the result is the function's output.
    LambdaArn { arn: String, function: String },
    /// `arn:aws:states:::lambda:invoke`, optionally `.waitForTaskToken`.
    LambdaInvoke { wait_for_token: bool },
}

#[derive(Debug, Clone)]
pub(crate) struct Retrier {
    pub errors: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter_full: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Catcher {
    pub errors: Vec<String>,
    pub result_path: ResultPath,
    pub next: String,
}

/// Fields shared by Task, Parallel and Map.
#[derive(Debug, Clone)]
pub(crate) struct Work {
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: ResultPath,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub transition: Transition,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Pass {
        result: Option<Value>,
        parameters: Option<Template>,
        result_path: ResultPath,
        transition: Transition,
    },
    Task {
        resource: Resource,
        resource_text: String,
        work: Work,
        timeout: Option<Seconds>,
        heartbeat: Option<Seconds>,
    },
    Choice {
        choices: Vec<(ChoiceRule, String)>,
        default: Option<String>,
    },
    Wait {
        wait: WaitFor,
        transition: Transition,
    },
    Succeed,
    Fail {
        error: Option<Dynamic>,
        cause: Option<Dynamic>,
    },
    Parallel {
        branches: Vec<Definition>,
        work: Work,
    },
    Map {
        processor: Box<Definition>,
        items_path: Option<Path>,
        work: Work,
        max_concurrency: Seconds,
    },
}

/// Error names Step Functions defines; any other `States.` name is a typo.
const STATES_ERRORS: &[&str] = &[
    "States.ALL",
    "States.BranchFailed",
    "States.DataLimitExceeded",
    "States.ExceedToleratedFailureThreshold",
    "States.HeartbeatTimeout",
    "States.Http.Socket",
    "States.IntrinsicFailure",
    "States.ItemReaderFailed",
    "States.NoChoiceMatched",
    "States.ParameterPathFailure",
    "States.Permissions",
    "States.QueryEvaluationError",
    "States.ResultPathMatchFailure",
    "States.ResultWriterFailed",
    "States.Runtime",
    "States.TaskFailed",
    "States.Timeout",
];

/// Largest number Step Functions accepts for seconds and attempt counts.
const MAX_SECONDS: u64 = 99_999_999;

impl Definition {
    /// Loads a definition from its JSON text, applying `substitutions` first
    /// (`${Name}` as in SAM's `DefinitionSubstitutions`; `${!Name}` is a literal `${Name}`).
    pub fn from_json_str(text: &str, substitutions: &HashMap<String, String>) -> Res<Self> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| LoadError::new("(definition)", format!("not valid JSON: {e}")))?;
        Self::from_value(value, substitutions)
    }

    /// Loads a definition from parsed JSON, applying `substitutions` first.
    pub fn from_value(mut value: Value, substitutions: &HashMap<String, String>) -> Res<Self> {
        substitute(&mut value, substitutions, "")?;
        let Value::Object(top) = &value else {
            return Err(LoadError::new("(definition)", "must be a JSON object"));
        };
        check_fields(
            top,
            "",
            &[
                "StartAt",
                "States",
                "Comment",
                "Version",
                "TimeoutSeconds",
                "QueryLanguage",
            ],
        )?;
        if let Some(v) = top.get("Version")
            && v != "1.0"
        {
            return Err(LoadError::new("Version", "only \"1.0\" is defined"));
        }
        if let Some(v) = top.get("QueryLanguage")
            && v != "JSONPath"
        {
            return Err(LoadError::new(
                "QueryLanguage",
                format!("{v} is not supported: the local runner implements JSONPath only"),
            ));
        }
        let mut def = parse_machine(top, "")?;
        def.timeout_seconds = get_uint(top, "TimeoutSeconds", "", 1)?;
        Ok(def)
    }

    /// The names of every Task state, at any depth, with the handler key its resource
    /// resolves to when it is known at load (a Lambda ARN, or a literal FunctionName).
    pub fn tasks(&self) -> Vec<TaskInfo> {
        let mut out = Vec::new();
        collect_tasks(self, &mut out);
        out
    }
}

/// A Task state as seen by a resource map at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    /// The state's name.
    pub state: String,
    /// The `Resource` field.
    pub resource: String,
    /// The function name or ARN, when fixed in the definition.
    pub function: Option<String>,
}

fn collect_tasks(def: &Definition, out: &mut Vec<TaskInfo>) {
    for state in def.states.values() {
        match &state.kind {
            Kind::Task {
                resource,
                resource_text,
                work,
                ..
            } => {
                let function = match resource {
                    Resource::LambdaArn { arn, .. } => Some(arn.clone()),
                    Resource::LambdaInvoke { .. } => work
                        .parameters
                        .as_ref()
                        .and_then(|p| p.literal_field("FunctionName"))
                        .and_then(|v| v.as_str().map(str::to_string)),
                };
                out.push(TaskInfo {
                    state: state.name.clone(),
                    resource: resource_text.clone(),
                    function,
                });
            }
            Kind::Parallel { branches, .. } => branches.iter().for_each(|b| collect_tasks(b, out)),
            Kind::Map { processor, .. } => collect_tasks(processor, out),
            _ => {}
        }
    }
}

fn substitute(value: &mut Value, subs: &HashMap<String, String>, at: &str) -> Res<()> {
    match value {
        Value::String(s) if s.contains("${") => {
            let mut out = String::with_capacity(s.len());
            let mut rest = s.as_str();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                let end = after.find('}').ok_or_else(|| {
                    LoadError::new(at_or_root(at), format!("unterminated '${{' in \"{s}\""))
                })?;
                let name = &after[..end];
                if let Some(literal) = name.strip_prefix('!') {
                    out.push_str("${");
                    out.push_str(literal);
                    out.push('}');
                } else {
                    let v = subs.get(name).ok_or_else(|| {
                        LoadError::new(
                            at_or_root(at),
                            format!("unresolved definition substitution '${{{name}}}'"),
                        )
                    })?;
                    out.push_str(v);
                }
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                substitute(v, subs, &format!("{at}[{i}]"))?;
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                substitute(v, subs, &join(at, k))?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn at_or_root(at: &str) -> &str {
    if at.is_empty() { "(definition)" } else { at }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

fn check_fields(obj: &Map<String, Value>, at: &str, allowed: &[&str]) -> Res<()> {
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(LoadError::new(join(at, key), "unknown field"));
        }
    }
    Ok(())
}

fn get_str<'a>(obj: &'a Map<String, Value>, key: &str, at: &str) -> Res<Option<&'a str>> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(LoadError::new(
            join(at, key),
            format!("must be a string, got {other}"),
        )),
    }
}

fn require_str<'a>(obj: &'a Map<String, Value>, key: &str, at: &str) -> Res<&'a str> {
    get_str(obj, key, at)?.ok_or_else(|| LoadError::new(join(at, key), "required field missing"))
}

fn get_uint(obj: &Map<String, Value>, key: &str, at: &str, min: u64) -> Res<Option<u64>> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if (min..=MAX_SECONDS).contains(&n) => Ok(Some(n)),
            _ => Err(LoadError::new(
                join(at, key),
                format!("must be an integer from {min} to {MAX_SECONDS}, got {v}"),
            )),
        },
    }
}

fn parse_machine(obj: &Map<String, Value>, at: &str) -> Res<Definition> {
    let start_at = require_str(obj, "StartAt", at)?.to_string();
    let states_at = join(at, "States");
    let states_obj = match obj.get("States") {
        Some(Value::Object(m)) if !m.is_empty() => m,
        Some(Value::Object(_)) => return Err(LoadError::new(states_at, "must not be empty")),
        Some(_) => return Err(LoadError::new(states_at, "must be an object")),
        None => return Err(LoadError::new(states_at, "required field missing")),
    };
    let mut states = BTreeMap::new();
    for (name, value) in states_obj {
        let state_at = join(&states_at, name);
        if name.is_empty() || name.chars().count() > 80 {
            return Err(LoadError::new(
                state_at,
                "a state name must have 1 to 80 characters",
            ));
        }
        let Value::Object(s) = value else {
            return Err(LoadError::new(state_at, "a state must be an object"));
        };
        states.insert(name.clone(), parse_state(name, s, &state_at)?);
    }
    if !states.contains_key(&start_at) {
        return Err(LoadError::new(
            join(at, "StartAt"),
            format!("'{start_at}' is not a state of this scope"),
        ));
    }
    let def = Definition {
        start_at,
        states,
        timeout_seconds: None,
    };
    validate_transitions(&def, at)?;
    Ok(def)
}

/// Every Next names a state of the same scope, and every state is reachable.
fn validate_transitions(def: &Definition, at: &str) -> Res<()> {
    let mut edges: HashMap<&str, Vec<(&str, String)>> = HashMap::new();
    for (name, state) in &def.states {
        let sat = join(&join(at, "States"), name);
        let mut out: Vec<(&str, String)> = Vec::new();
        match &state.kind {
            Kind::Pass { transition, .. } | Kind::Wait { transition, .. } => {
                if let Transition::Next(n) = transition {
                    out.push((n, join(&sat, "Next")));
                }
            }
            Kind::Task { work, .. } | Kind::Parallel { work, .. } | Kind::Map { work, .. } => {
                if let Transition::Next(n) = &work.transition {
                    out.push((n.as_str(), join(&sat, "Next")));
                }
                for (i, c) in work.catch.iter().enumerate() {
                    out.push((&c.next, format!("{sat}.Catch[{i}].Next")));
                }
            }
            Kind::Choice { choices, default } => {
                for (i, (_, next)) in choices.iter().enumerate() {
                    out.push((next, format!("{sat}.Choices[{i}].Next")));
                }
                if let Some(d) = default {
                    out.push((d, join(&sat, "Default")));
                }
            }
            Kind::Succeed | Kind::Fail { .. } => {}
        }
        for (target, field) in &out {
            if !def.states.contains_key(*target) {
                return Err(LoadError::new(
                    field.clone(),
                    format!("'{target}' is not a state of this scope"),
                ));
            }
        }
        edges.insert(name, out);
    }
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut stack = vec![def.start_at.as_str()];
    while let Some(s) = stack.pop() {
        if seen.insert(s)
            && let Some(next) = edges.get(s)
        {
            stack.extend(next.iter().map(|(t, _)| *t));
        }
    }
    if let Some(unreached) = def.states.keys().find(|k| !seen.contains(k.as_str())) {
        return Err(LoadError::new(
            join(&join(at, "States"), unreached),
            "state is unreachable from StartAt",
        ));
    }
    Ok(())
}

const COMMON: &[&str] = &["Type", "Comment", "InputPath", "OutputPath"];

fn allowed(extra: &[&'static str]) -> Vec<&'static str> {
    COMMON.iter().chain(extra).copied().collect()
}

fn parse_state(name: &str, s: &Map<String, Value>, at: &str) -> Res<State> {
    let ty = require_str(s, "Type", at)?;
    let kind = match ty {
        "Pass" => {
            check_fields(
                s,
                at,
                &allowed(&["Result", "ResultPath", "Parameters", "Next", "End"]),
            )?;
            Kind::Pass {
                result: s.get("Result").cloned(),
                parameters: template(s, "Parameters", at)?,
                result_path: result_path(s, at)?,
                transition: transition(s, at)?,
            }
        }
        "Task" => parse_task(s, at)?,
        "Choice" => {
            check_fields(s, at, &allowed(&["Choices", "Default"]))?;
            let choices_at = join(at, "Choices");
            let list = match s.get("Choices") {
                Some(Value::Array(a)) if !a.is_empty() => a,
                Some(_) => return Err(LoadError::new(choices_at, "must be a non-empty array")),
                None => return Err(LoadError::new(choices_at, "required field missing")),
            };
            let mut choices = Vec::new();
            for (i, rule) in list.iter().enumerate() {
                let rat = format!("{choices_at}[{i}]");
                let (rule, next) = choice::parse_top(rule, &rat)?;
                choices.push((rule, next));
            }
            Kind::Choice {
                choices,
                default: get_str(s, "Default", at)?.map(str::to_string),
            }
        }
        "Wait" => {
            check_fields(
                s,
                at,
                &allowed(&[
                    "Seconds",
                    "SecondsPath",
                    "Timestamp",
                    "TimestampPath",
                    "Next",
                    "End",
                ]),
            )?;
            let given: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
                .into_iter()
                .filter(|k| s.contains_key(*k))
                .collect();
            if given.len() != 1 {
                return Err(LoadError::new(
                    at,
                    "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
                ));
            }
            let wait = match given[0] {
                "Seconds" => {
                    WaitFor::Seconds(Seconds::Fixed(get_uint(s, "Seconds", at, 0)?.unwrap_or(0)))
                }
                "SecondsPath" => WaitFor::Seconds(Seconds::Path(path_field(s, "SecondsPath", at)?)),
                "Timestamp" => {
                    let t = require_str(s, "Timestamp", at)?;
                    WaitFor::Timestamp(choice::parse_timestamp(t).ok_or_else(|| {
                        LoadError::new(
                            join(at, "Timestamp"),
                            format!("'{t}' is not an RFC 3339 timestamp"),
                        )
                    })?)
                }
                _ => WaitFor::TimestampPath(path_field(s, "TimestampPath", at)?),
            };
            Kind::Wait {
                wait,
                transition: transition(s, at)?,
            }
        }
        "Succeed" => {
            check_fields(s, at, COMMON)?;
            Kind::Succeed
        }
        "Fail" => {
            // Fail has no InputPath/OutputPath.
            check_fields(
                s,
                at,
                &[
                    "Type",
                    "Comment",
                    "Error",
                    "ErrorPath",
                    "Cause",
                    "CausePath",
                ],
            )?;
            Kind::Fail {
                error: fail_field(s, "Error", at)?,
                cause: fail_field(s, "Cause", at)?,
            }
        }
        "Parallel" => {
            check_fields(s, at, &allowed(&work_fields(&["Branches"])))?;
            let bat = join(at, "Branches");
            let list = match s.get("Branches") {
                Some(Value::Array(a)) if !a.is_empty() => a,
                Some(_) => return Err(LoadError::new(bat, "must be a non-empty array")),
                None => return Err(LoadError::new(bat, "required field missing")),
            };
            let mut branches = Vec::new();
            for (i, b) in list.iter().enumerate() {
                let at_i = format!("{bat}[{i}]");
                let Value::Object(b) = b else {
                    return Err(LoadError::new(at_i, "a branch must be an object"));
                };
                check_fields(b, &at_i, &["StartAt", "States", "Comment"])?;
                branches.push(parse_machine(b, &at_i)?);
            }
            Kind::Parallel {
                branches,
                work: work(s, at, "Parameters")?,
            }
        }
        "Map" => parse_map(s, at)?,
        other => {
            return Err(LoadError::new(
                join(at, "Type"),
                format!("unknown state type '{other}'"),
            ));
        }
    };
    Ok(State {
        name: name.to_string(),
        input_path: io_path(s, "InputPath", at)?,
        output_path: io_path(s, "OutputPath", at)?,
        kind,
    })
}

fn work_fields(extra: &[&'static str]) -> Vec<&'static str> {
    let mut v = vec![
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Retry",
        "Catch",
        "Next",
        "End",
    ];
    v.extend_from_slice(extra);
    v
}

fn parse_task(s: &Map<String, Value>, at: &str) -> Res<Kind> {
    if s.contains_key("Credentials") {
        return Err(LoadError::new(
            join(at, "Credentials"),
            "cross-account task credentials are not supported by the local runner",
        ));
    }
    check_fields(
        s,
        at,
        &allowed(&work_fields(&[
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
        ])),
    )?;
    let resource_text = require_str(s, "Resource", at)?.to_string();
    let rat = join(at, "Resource");
    let resource = parse_resource(&resource_text).map_err(|m| LoadError::new(&rat, m))?;
    let work = work(s, at, "Parameters")?;
    if let Resource::LambdaInvoke { wait_for_token } = resource {
        check_lambda_parameters(work.parameters.as_ref(), wait_for_token, at)?;
    }
    let timeout = seconds_pair(s, "TimeoutSeconds", at)?;
    let heartbeat = seconds_pair(s, "HeartbeatSeconds", at)?;
    if let (Some(Seconds::Fixed(t)), Some(Seconds::Fixed(h))) = (&timeout, &heartbeat)
        && h >= t
    {
        return Err(LoadError::new(
            join(at, "HeartbeatSeconds"),
            format!("must be smaller than TimeoutSeconds ({h} >= {t})"),
        ));
    }
    Ok(Kind::Task {
        resource,
        resource_text,
        work,
        timeout,
        heartbeat,
    })
}

fn parse_resource(text: &str) -> Result<Resource, String> {
    match text {
        "arn:aws:states:::lambda:invoke" => {
            return Ok(Resource::LambdaInvoke {
                wait_for_token: false,
            });
        }
        "arn:aws:states:::lambda:invoke.waitForTaskToken" => {
            return Ok(Resource::LambdaInvoke {
                wait_for_token: true,
            });
        }
        _ => {}
    }
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() >= 7
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "lambda"
        && parts[5] == "function"
        && !parts[6].is_empty()
        && parts.len() <= 8
    {
        return Ok(Resource::LambdaArn {
            arn: text.to_string(),
            function: parts[6].to_string(),
        });
    }
    Err(format!(
        "resource '{text}' is not supported by the local runner (supported: a Lambda function ARN, \
         arn:aws:states:::lambda:invoke and arn:aws:states:::lambda:invoke.waitForTaskToken)"
    ))
}

fn check_lambda_parameters(params: Option<&Template>, wait_for_token: bool, at: &str) -> Res<()> {
    let pat = join(at, "Parameters");
    // Field names with any '.$' suffix removed, and the literal value when fixed.
    let fields: Vec<(String, Option<Value>)> = match params {
        Some(Template::Object(fields)) => fields
            .iter()
            .map(|(k, t)| (k.clone(), t.literal().cloned()))
            .collect(),
        Some(Template::Literal(Value::Object(o))) => o
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect(),
        _ => {
            return Err(LoadError::new(
                pat,
                "lambda:invoke needs Parameters with FunctionName",
            ));
        }
    };
    let mut has_function = false;
    for (key, value) in &fields {
        match key.as_str() {
            "FunctionName" => has_function = true,
            "Payload" | "Qualifier" | "ClientContext" => {}
            "InvocationType" => {
                if value.as_ref() != Some(&Value::String("RequestResponse".into())) {
                    return Err(LoadError::new(
                        join(&pat, "InvocationType"),
                        "only RequestResponse invocations are supported by the local runner",
                    ));
                }
            }
            other => {
                return Err(LoadError::new(
                    join(&pat, other),
                    "unknown or unsupported lambda:invoke parameter",
                ));
            }
        }
    }
    if !has_function {
        return Err(LoadError::new(
            join(&pat, "FunctionName"),
            "required field missing",
        ));
    }
    let _ = wait_for_token;
    Ok(())
}

fn parse_map(s: &Map<String, Value>, at: &str) -> Res<Kind> {
    for distributed in [
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "Label",
    ] {
        if s.contains_key(distributed) {
            return Err(LoadError::new(
                join(at, distributed),
                "a Distributed Map field; the local runner runs inline Map states only",
            ));
        }
    }
    check_fields(
        s,
        at,
        &allowed(&work_fields(&[
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "ItemSelector",
            "MaxConcurrency",
            "MaxConcurrencyPath",
        ])),
    )?;
    let (proc_key, proc) = match (s.get("ItemProcessor"), s.get("Iterator")) {
        (Some(_), Some(_)) => {
            return Err(LoadError::new(
                at,
                "use ItemProcessor or the legacy Iterator, not both",
            ));
        }
        (Some(p), None) => ("ItemProcessor", p),
        (None, Some(p)) => ("Iterator", p),
        (None, None) => {
            return Err(LoadError::new(
                join(at, "ItemProcessor"),
                "required field missing",
            ));
        }
    };
    let pat = join(at, proc_key);
    let Value::Object(p) = proc else {
        return Err(LoadError::new(pat, "must be an object"));
    };
    if proc_key == "ItemProcessor" {
        check_fields(
            p,
            &pat,
            &["StartAt", "States", "Comment", "ProcessorConfig"],
        )?;
        if let Some(cfg) = p.get("ProcessorConfig") {
            let cat = join(&pat, "ProcessorConfig");
            let Value::Object(cfg) = cfg else {
                return Err(LoadError::new(cat, "must be an object"));
            };
            check_fields(cfg, &cat, &["Mode", "ExecutionType"])?;
            if let Some(mode) = get_str(cfg, "Mode", &cat)?
                && mode != "INLINE"
            {
                return Err(LoadError::new(
                    join(&cat, "Mode"),
                    format!(
                        "'{mode}' is not supported: the local runner runs INLINE Map states only"
                    ),
                ));
            }
            if cfg.contains_key("ExecutionType") {
                return Err(LoadError::new(
                    join(&cat, "ExecutionType"),
                    "applies to Distributed Map only",
                ));
            }
        }
    } else {
        check_fields(p, &pat, &["StartAt", "States", "Comment"])?;
    }
    let processor = parse_machine(p, &pat)?;
    if s.contains_key("ItemSelector") && s.contains_key("Parameters") {
        return Err(LoadError::new(
            join(at, "Parameters"),
            "use ItemSelector or the legacy Parameters, not both",
        ));
    }
    let selector_key = if s.contains_key("Parameters") {
        "Parameters"
    } else {
        "ItemSelector"
    };
    let max_concurrency = match (s.get("MaxConcurrency"), s.get("MaxConcurrencyPath")) {
        (Some(_), Some(_)) => {
            return Err(LoadError::new(
                at,
                "use MaxConcurrency or MaxConcurrencyPath, not both",
            ));
        }
        (None, Some(_)) => Seconds::Path(path_field(s, "MaxConcurrencyPath", at)?),
        _ => Seconds::Fixed(get_uint(s, "MaxConcurrency", at, 0)?.unwrap_or(0)),
    };
    Ok(Kind::Map {
        processor: Box::new(processor),
        items_path: match get_str(s, "ItemsPath", at)? {
            Some(p) => {
                Some(Path::parse(p, true).map_err(|e| LoadError::new(join(at, "ItemsPath"), e))?)
            }
            None => None,
        },
        work: work(s, at, selector_key)?,
        max_concurrency,
    })
}

fn work(s: &Map<String, Value>, at: &str, parameters_key: &str) -> Res<Work> {
    Ok(Work {
        parameters: template(s, parameters_key, at)?,
        result_selector: template(s, "ResultSelector", at)?,
        result_path: result_path(s, at)?,
        retry: retriers(s, at)?,
        catch: catchers(s, at)?,
        transition: transition(s, at)?,
    })
}

fn transition(s: &Map<String, Value>, at: &str) -> Res<Transition> {
    match (s.get("Next"), s.get("End")) {
        (Some(_), Some(_)) => Err(LoadError::new(at, "a state cannot have both Next and End")),
        (Some(Value::String(n)), None) => Ok(Transition::Next(n.clone())),
        (Some(_), None) => Err(LoadError::new(join(at, "Next"), "must be a string")),
        (None, Some(Value::Bool(true))) => Ok(Transition::End),
        (None, Some(_)) => Err(LoadError::new(join(at, "End"), "must be true")),
        (None, None) => Err(LoadError::new(at, "a state of this type needs Next or End")),
    }
}

fn io_path(s: &Map<String, Value>, key: &str, at: &str) -> Res<IoPath> {
    match s.get(key) {
        None => Ok(IoPath::Whole),
        Some(Value::Null) => Ok(IoPath::Null),
        Some(Value::String(p)) => Path::parse(p, false)
            .map(IoPath::Path)
            .map_err(|e| LoadError::new(join(at, key), e)),
        Some(v) => Err(LoadError::new(
            join(at, key),
            format!("must be a path or null, got {v}"),
        )),
    }
}

fn result_path(s: &Map<String, Value>, at: &str) -> Res<ResultPath> {
    parse_result_path(s.get("ResultPath"), &join(at, "ResultPath"))
}

fn parse_result_path(v: Option<&Value>, at: &str) -> Res<ResultPath> {
    match v {
        None => Ok(ResultPath::Replace),
        Some(Value::Null) => Ok(ResultPath::Discard),
        Some(Value::String(p)) if p == "$" => Ok(ResultPath::Replace),
        Some(Value::String(p)) => Path::parse_reference(p)
            .map(ResultPath::Path)
            .map_err(|e| LoadError::new(at, e)),
        Some(v) => Err(LoadError::new(
            at,
            format!("must be a reference path or null, got {v}"),
        )),
    }
}

fn path_field(s: &Map<String, Value>, key: &str, at: &str) -> Res<Path> {
    let p = require_str(s, key, at)?;
    Path::parse(p, true).map_err(|e| LoadError::new(join(at, key), e))
}

fn seconds_pair(s: &Map<String, Value>, key: &str, at: &str) -> Res<Option<Seconds>> {
    let path_key = format!("{key}Path");
    match (s.contains_key(key), s.contains_key(&path_key)) {
        (true, true) => Err(LoadError::new(
            at,
            format!("use {key} or {path_key}, not both"),
        )),
        (true, false) => Ok(get_uint(s, key, at, 1)?.map(Seconds::Fixed)),
        (false, true) => Ok(Some(Seconds::Path(path_field(s, &path_key, at)?))),
        (false, false) => Ok(None),
    }
}

fn template(s: &Map<String, Value>, key: &str, at: &str) -> Res<Option<Template>> {
    s.get(key)
        .map(|v| Template::compile(v, &join(at, key)))
        .transpose()
}

fn fail_field(s: &Map<String, Value>, key: &str, at: &str) -> Res<Option<Dynamic>> {
    let path_key = format!("{key}Path");
    match (s.get(key), s.get(&path_key)) {
        (Some(_), Some(_)) => Err(LoadError::new(
            at,
            format!("use {key} or {path_key}, not both"),
        )),
        (Some(Value::String(v)), None) => Ok(Some(Dynamic::Literal(Value::String(v.clone())))),
        (Some(_), None) => Err(LoadError::new(join(at, key), "must be a string")),
        (None, Some(Value::String(p))) => {
            let fat = join(at, &path_key);
            if Call::looks_like(p) {
                Call::parse(p)
                    .map(Dynamic::Call)
                    .map(Some)
                    .map_err(|e| LoadError::new(fat, e))
            } else {
                Path::parse(p, true)
                    .map(Dynamic::Path)
                    .map(Some)
                    .map_err(|e| LoadError::new(fat, e))
            }
        }
        (None, Some(_)) => Err(LoadError::new(join(at, &path_key), "must be a string")),
        (None, None) => Ok(None),
    }
}

fn error_list(v: Option<&Value>, at: &str) -> Res<Vec<String>> {
    let eat = join(at, "ErrorEquals");
    let list = match v {
        Some(Value::Array(a)) if !a.is_empty() => a,
        Some(_) => {
            return Err(LoadError::new(
                eat,
                "must be a non-empty array of error names",
            ));
        }
        None => return Err(LoadError::new(eat, "required field missing")),
    };
    let mut out = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let Value::String(name) = e else {
            return Err(LoadError::new(format!("{eat}[{i}]"), "must be a string"));
        };
        if name.starts_with("States.") && !STATES_ERRORS.contains(&name.as_str()) {
            return Err(LoadError::new(
                format!("{eat}[{i}]"),
                format!("'{name}' is not an error name Step Functions defines"),
            ));
        }
        out.push(name.clone());
    }
    if out.iter().any(|e| e == "States.ALL") && out.len() > 1 {
        return Err(LoadError::new(
            eat,
            "States.ALL must appear alone in ErrorEquals",
        ));
    }
    Ok(out)
}

fn retriers(s: &Map<String, Value>, at: &str) -> Res<Vec<Retrier>> {
    let rat = join(at, "Retry");
    let Some(v) = s.get("Retry") else {
        return Ok(Vec::new());
    };
    let Value::Array(list) = v else {
        return Err(LoadError::new(rat, "must be an array"));
    };
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let at_i = format!("{rat}[{i}]");
        let Value::Object(r) = r else {
            return Err(LoadError::new(at_i, "a retrier must be an object"));
        };
        check_fields(
            r,
            &at_i,
            &[
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            ],
        )?;
        let errors = error_list(r.get("ErrorEquals"), &at_i)?;
        if errors.iter().any(|e| e == "States.ALL") && i + 1 != list.len() {
            return Err(LoadError::new(
                join(&at_i, "ErrorEquals"),
                "States.ALL must be in the last retrier",
            ));
        }
        let backoff_rate = match r.get("BackoffRate") {
            None => 2.0,
            Some(v) => match v.as_f64() {
                Some(b) if b >= 1.0 => b,
                _ => {
                    return Err(LoadError::new(
                        join(&at_i, "BackoffRate"),
                        format!("must be a number >= 1.0, got {v}"),
                    ));
                }
            },
        };
        let jitter_full = match get_str(r, "JitterStrategy", &at_i)? {
            None | Some("NONE") => false,
            Some("FULL") => true,
            Some(other) => {
                return Err(LoadError::new(
                    join(&at_i, "JitterStrategy"),
                    format!("must be FULL or NONE, got '{other}'"),
                ));
            }
        };
        out.push(Retrier {
            errors,
            interval_seconds: get_uint(r, "IntervalSeconds", &at_i, 1)?.unwrap_or(1),
            max_attempts: get_uint(r, "MaxAttempts", &at_i, 0)?.unwrap_or(3),
            backoff_rate,
            max_delay_seconds: get_uint(r, "MaxDelaySeconds", &at_i, 1)?,
            jitter_full,
        });
    }
    Ok(out)
}

fn catchers(s: &Map<String, Value>, at: &str) -> Res<Vec<Catcher>> {
    let cat = join(at, "Catch");
    let Some(v) = s.get("Catch") else {
        return Ok(Vec::new());
    };
    let Value::Array(list) = v else {
        return Err(LoadError::new(cat, "must be an array"));
    };
    let mut out = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let at_i = format!("{cat}[{i}]");
        let Value::Object(c) = c else {
            return Err(LoadError::new(at_i, "a catcher must be an object"));
        };
        check_fields(c, &at_i, &["ErrorEquals", "ResultPath", "Next", "Comment"])?;
        let errors = error_list(c.get("ErrorEquals"), &at_i)?;
        if errors.iter().any(|e| e == "States.ALL") && i + 1 != list.len() {
            return Err(LoadError::new(
                join(&at_i, "ErrorEquals"),
                "States.ALL must be in the last catcher",
            ));
        }
        out.push(Catcher {
            errors,
            result_path: parse_result_path(c.get("ResultPath"), &join(&at_i, "ResultPath"))?,
            next: require_str(c, "Next", &at_i)?.to_string(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(v: Value) -> Result<Definition, String> {
        Definition::from_value(v, &HashMap::new()).map_err(|e| e.to_string())
    }

    #[test]
    fn unknown_retry_field_is_named_with_its_path() {
        let err = load(json!({"StartAt": "Foo", "States": {"Foo": {
            "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "Retry": [{"ErrorEquals": ["States.ALL"], "Bogus": 1}], "End": true}}}))
        .unwrap_err();
        assert_eq!(err, "States.Foo.Retry[0].Bogus: unknown field");
    }

    #[test]
    fn substitutions_resolve_or_name_the_missing_one() {
        let def = json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${Fn}", "End": true}}});
        let mut subs = HashMap::new();
        let err = Definition::from_value(def.clone(), &subs).unwrap_err();
        assert_eq!(err.path, "States.A.Resource");
        assert!(err.message.contains("${Fn}"), "{err}");
        subs.insert(
            "Fn".into(),
            "arn:aws:lambda:eu-west-1:1:function:intake".into(),
        );
        let loaded = Definition::from_value(def, &subs).unwrap();
        assert_eq!(
            loaded.tasks()[0].resource,
            "arn:aws:lambda:eu-west-1:1:function:intake"
        );
    }
}
