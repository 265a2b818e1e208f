//! Input and output processing in AWS's order: InputPath, Parameters (template.rs),
//! the work, ResultSelector, ResultPath, OutputPath.

use serde_json::{Map, Value};

use crate::definition::{IoPath, ResultPath};
use crate::error::StateError;

/// Applies InputPath (or OutputPath): `$` keeps the value, `null` gives `{}`, a path
/// that matches nothing is a `States.Runtime` error.
pub(crate) fn select(path: &IoPath, value: &Value) -> Result<Value, StateError> {
    match path {
        IoPath::Whole => Ok(value.clone()),
        IoPath::Null => Ok(Value::Object(Map::new())),
        IoPath::Path(p) => p.select(value).ok_or_else(|| {
            StateError::runtime(format!(
                "Invalid path '{p}' : No results for path: {}",
                p.bracketed()
            ))
        }),
    }
}

/// Places `result` into the state's raw input as ResultPath says.
pub(crate) fn place(path: &ResultPath, raw: &Value, result: Value) -> Result<Value, StateError> {
    match path {
        ResultPath::Replace => Ok(result),
        ResultPath::Discard => Ok(raw.clone()),
        ResultPath::Path(p) => {
            let mut out = raw.clone();
            p.write(&mut out, result)
                .map_err(|m| StateError::new("States.ResultPathMatchFailure", m))?;
            Ok(out)
        }
    }
}
