//! Payload templates: `Parameters`, `ResultSelector`, `ItemSelector` and the
//! `...Path` fields of Fail. A field whose name ends in `.$` takes its value from a
//! path on the input (`$`), the context object (`$$`) or an intrinsic function.

use serde_json::{Map, Value};

use crate::definition::LoadError;
use crate::error::StateError;
use crate::intrinsics::{Call, Env, EvalError};
use crate::path::Path;

/// A value computed when the state runs.
#[derive(Debug, Clone)]
pub enum Dynamic {
    Literal(Value),
    Path(Path),
    Call(Call),
}

/// A compiled payload template.
#[derive(Debug, Clone)]
pub enum Template {
    /// Nothing dynamic inside: used as is.
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    /// The value of a `.$` field; the string is the field's name as written.
    Dynamic(Dynamic, String),
}

impl Template {
    /// Compiles a template, checking every `.$` field at load.
    pub fn compile(value: &Value, at: &str) -> Result<Self, LoadError> {
        let t = compile(value, at)?;
        Ok(t)
    }

    /// The literal value of a top-level field, when the template is an object and
    /// that field is not computed.
    pub fn literal_field(&self, name: &str) -> Option<&Value> {
        match self {
            Template::Literal(Value::Object(o)) => o.get(name),
            Template::Object(fields) => fields
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, t)| t.literal()),
            _ => None,
        }
    }

    /// The whole template's value when nothing in it is computed.
    pub fn literal(&self) -> Option<&Value> {
        match self {
            Template::Literal(v) => Some(v),
            _ => None,
        }
    }

    /// Builds the payload.
    pub fn render(&self, env: &mut Env<'_>) -> Result<Value, StateError> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Array(items) => items
                .iter()
                .map(|t| t.render(env))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Template::Object(fields) => {
                let mut out = Map::new();
                for (k, t) in fields {
                    out.insert(k.clone(), t.render(env)?);
                }
                Ok(Value::Object(out))
            }
            Template::Dynamic(d, field) => d.eval(env, field),
        }
    }
}

impl Dynamic {
    /// Evaluates the value; `field` names it in the cause of a failure.
    pub fn eval(&self, env: &mut Env<'_>, field: &str) -> Result<Value, StateError> {
        match self {
            Dynamic::Literal(v) => Ok(v.clone()),
            Dynamic::Path(p) => {
                let root = if p.is_context() {
                    env.context
                } else {
                    env.input
                };
                p.select(root).ok_or_else(|| {
                    StateError::runtime(format!(
                        "The JSONPath '{p}' specified for the field '{field}' could not be found in the input '{}'",
                        if p.is_context() { env.context } else { env.input }
                    ))
                })
            }
            Dynamic::Call(c) => c.eval(env).map_err(|e| match e {
                EvalError::Runtime(m) => StateError::runtime(m),
                EvalError::Intrinsic(m) => StateError::new("States.IntrinsicFailure", m),
            }),
        }
    }
}

fn compile(value: &Value, at: &str) -> Result<Template, LoadError> {
    match value {
        Value::Object(map) => {
            let mut fields = Vec::with_capacity(map.len());
            let mut dynamic = false;
            for (k, v) in map {
                let fat = format!("{at}.{k}");
                if let Some(name) = k.strip_suffix(".$") {
                    let Value::String(expr) = v else {
                        return Err(LoadError::new(
                            fat,
                            "a field ending in '.$' must be a path or an intrinsic function string",
                        ));
                    };
                    let d = if Call::looks_like(expr) {
                        Dynamic::Call(Call::parse(expr).map_err(|e| LoadError::new(&fat, e))?)
                    } else {
                        Dynamic::Path(Path::parse(expr, true).map_err(|e| LoadError::new(&fat, e))?)
                    };
                    if fields.iter().any(|(n, _): &(String, Template)| n == name)
                        || map.contains_key(name)
                    {
                        return Err(LoadError::new(
                            fat,
                            format!("field '{name}' is given twice"),
                        ));
                    }
                    fields.push((name.to_string(), Template::Dynamic(d, k.clone())));
                    dynamic = true;
                } else {
                    let t = compile(v, &fat)?;
                    dynamic |= t.literal().is_none();
                    fields.push((k.clone(), t));
                }
            }
            Ok(if dynamic {
                Template::Object(fields)
            } else {
                Template::Literal(value.clone())
            })
        }
        Value::Array(items) => {
            let compiled = items
                .iter()
                .enumerate()
                .map(|(i, v)| compile(v, &format!("{at}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            if compiled.iter().all(|t| t.literal().is_some()) {
                Ok(Template::Literal(value.clone()))
            } else {
                Ok(Template::Array(compiled))
            }
        }
        other => Ok(Template::Literal(other.clone())),
    }
}
