//! Choice rules: parsing, validation and evaluation.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::definition::LoadError;
use crate::error::StateError;
use crate::path::Path;

/// A Choice rule (top-level rules carry a `Next` beside it).
#[derive(Debug, Clone)]
pub enum ChoiceRule {
    And(Vec<ChoiceRule>),
    Or(Vec<ChoiceRule>),
    Not(Box<ChoiceRule>),
    Test {
        variable: Path,
        op: Op,
        operand: Operand,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Compare(Kind, Cmp),
    StringMatches,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

#[derive(Debug, Clone)]
pub enum Operand {
    Value(Value),
    Path(Path),
}

const KINDS: [(&str, Kind); 4] = [
    ("String", Kind::String),
    ("Numeric", Kind::Numeric),
    ("Boolean", Kind::Boolean),
    ("Timestamp", Kind::Timestamp),
];
const CMPS: [(&str, Cmp); 5] = [
    ("Equals", Cmp::Equals),
    ("LessThanEquals", Cmp::LessThanEquals),
    ("GreaterThanEquals", Cmp::GreaterThanEquals),
    ("LessThan", Cmp::LessThan),
    ("GreaterThan", Cmp::GreaterThan),
];

fn operator(key: &str) -> Option<(Op, bool)> {
    let (base, is_path) = match key.strip_suffix("Path") {
        Some(b) => (b, true),
        None => (key, false),
    };
    let simple = match base {
        "StringMatches" if !is_path => Some(Op::StringMatches),
        "IsNull" if !is_path => Some(Op::IsNull),
        "IsPresent" if !is_path => Some(Op::IsPresent),
        "IsNumeric" if !is_path => Some(Op::IsNumeric),
        "IsString" if !is_path => Some(Op::IsString),
        "IsBoolean" if !is_path => Some(Op::IsBoolean),
        "IsTimestamp" if !is_path => Some(Op::IsTimestamp),
        _ => None,
    };
    if let Some(op) = simple {
        return Some((op, false));
    }
    for (kname, kind) in KINDS {
        if let Some(cmp_name) = base.strip_prefix(kname) {
            for (cname, cmp) in CMPS {
                if cmp_name == cname && (kind != Kind::Boolean || cmp == Cmp::Equals) {
                    return Some((Op::Compare(kind, cmp), is_path));
                }
            }
        }
    }
    None
}

/// Parses a top-level rule, which must have `Next`.
pub fn parse_top(v: &Value, at: &str) -> Result<(ChoiceRule, String), LoadError> {
    let Value::Object(obj) = v else {
        return Err(LoadError::new(at, "a choice rule must be an object"));
    };
    let next = match obj.get("Next") {
        Some(Value::String(n)) => n.clone(),
        Some(_) => return Err(LoadError::new(format!("{at}.Next"), "must be a string")),
        None => {
            return Err(LoadError::new(
                format!("{at}.Next"),
                "required field missing",
            ));
        }
    };
    Ok((parse_rule(obj, at, true)?, next))
}

fn parse_rule(obj: &Map<String, Value>, at: &str, top: bool) -> Result<ChoiceRule, LoadError> {
    let field = |k: &str| format!("{at}.{k}");
    let mut rule: Option<ChoiceRule> = None;
    let mut variable: Option<Path> = None;
    let mut test: Option<(Op, Operand, String)> = None;
    for (key, value) in obj {
        match key.as_str() {
            "Next" if top => {}
            "Next" => {
                return Err(LoadError::new(
                    field(key),
                    "only top-level choice rules have Next",
                ));
            }
            "Comment" => {}
            "Variable" => {
                let Value::String(p) = value else {
                    return Err(LoadError::new(field(key), "must be a path string"));
                };
                variable = Some(Path::parse(p, true).map_err(|e| LoadError::new(field(key), e))?);
            }
            "And" | "Or" => {
                let Value::Array(items) = value else {
                    return Err(LoadError::new(
                        field(key),
                        "must be a non-empty array of rules",
                    ));
                };
                if items.is_empty() {
                    return Err(LoadError::new(
                        field(key),
                        "must be a non-empty array of rules",
                    ));
                }
                let mut rules = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let iat = format!("{at}.{key}[{i}]");
                    let Value::Object(o) = item else {
                        return Err(LoadError::new(iat, "a choice rule must be an object"));
                    };
                    rules.push(parse_rule(o, &iat, false)?);
                }
                set_once(
                    &mut rule,
                    if key == "And" {
                        ChoiceRule::And(rules)
                    } else {
                        ChoiceRule::Or(rules)
                    },
                    at,
                )?;
            }
            "Not" => {
                let Value::Object(o) = value else {
                    return Err(LoadError::new(field(key), "must be a choice rule object"));
                };
                set_once(
                    &mut rule,
                    ChoiceRule::Not(Box::new(parse_rule(o, &field(key), false)?)),
                    at,
                )?;
            }
            other => {
                let Some((op, is_path)) = operator(other) else {
                    return Err(LoadError::new(field(other), "unknown field"));
                };
                if test.is_some() {
                    return Err(LoadError::new(
                        at,
                        "a choice rule has exactly one comparison operator",
                    ));
                }
                let operand = check_operand(&op, is_path, value, &field(other))?;
                test = Some((op, operand, other.to_string()));
            }
        }
    }
    match (rule, test, variable) {
        (Some(r), None, None) => Ok(r),
        (Some(_), _, _) => Err(LoadError::new(
            at,
            "And, Or and Not rules take no Variable or comparison operator",
        )),
        (None, Some((op, operand, _)), Some(variable)) => Ok(ChoiceRule::Test {
            variable,
            op,
            operand,
        }),
        (None, Some((_, _, name)), None) => Err(LoadError::new(
            format!("{at}.Variable"),
            format!("required with {name}"),
        )),
        (None, None, _) => Err(LoadError::new(
            at,
            "a choice rule needs a comparison operator, And, Or or Not",
        )),
    }
}

fn set_once(slot: &mut Option<ChoiceRule>, rule: ChoiceRule, at: &str) -> Result<(), LoadError> {
    if slot.is_some() {
        return Err(LoadError::new(
            at,
            "a choice rule has exactly one of And, Or, Not",
        ));
    }
    *slot = Some(rule);
    Ok(())
}

fn check_operand(op: &Op, is_path: bool, v: &Value, at: &str) -> Result<Operand, LoadError> {
    if is_path {
        let Value::String(p) = v else {
            return Err(LoadError::new(at, "must be a path string"));
        };
        return Path::parse(p, true)
            .map(Operand::Path)
            .map_err(|e| LoadError::new(at, e));
    }
    let ok = match op {
        Op::Compare(Kind::String, _) | Op::StringMatches => v.is_string(),
        Op::Compare(Kind::Numeric, _) => v.is_number(),
        Op::Compare(Kind::Boolean, _) => v.is_boolean(),
        Op::Compare(Kind::Timestamp, _) => v.as_str().and_then(parse_timestamp).is_some(),
        _ => v.is_boolean(),
    };
    if !ok {
        let want = match op {
            Op::Compare(Kind::String, _) | Op::StringMatches => "a string",
            Op::Compare(Kind::Numeric, _) => "a number",
            Op::Compare(Kind::Timestamp, _) => "an RFC 3339 timestamp string",
            _ => "a boolean",
        };
        return Err(LoadError::new(at, format!("must be {want}, got {v}")));
    }
    Ok(Operand::Value(v.clone()))
}

/// Parses a timestamp the way Step Functions accepts one: RFC 3339 with an uppercase
/// `T` between date and time and an uppercase `Z` or a numeric offset.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    if s.len() < 20 || s.as_bytes().get(10) != Some(&b'T') || s.contains('z') || s.contains('t') {
        return None;
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl ChoiceRule {
    /// Evaluates the rule against the state's effective input. A Variable (or
    /// `...Path` operand) that matches nothing is a `States.Runtime` error, except
    /// under `IsPresent`.
    pub fn eval(&self, input: &Value, context: &Value) -> Result<bool, StateError> {
        match self {
            ChoiceRule::And(rules) => {
                for r in rules {
                    if !r.eval(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            ChoiceRule::Or(rules) => {
                for r in rules {
                    if r.eval(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            ChoiceRule::Not(r) => Ok(!r.eval(input, context)?),
            ChoiceRule::Test {
                variable,
                op,
                operand,
            } => {
                let root = |p: &Path| if p.is_context() { context } else { input };
                let value = variable.select(root(variable));
                if *op == Op::IsPresent {
                    let present = match &value {
                        None => false,
                        Some(Value::Array(a)) if !variable.is_definite() => !a.is_empty(),
                        Some(_) => true,
                    };
                    return Ok(Some(&Value::Bool(present)) == operand_value(operand).as_ref());
                }
                let value = value.ok_or_else(|| {
                    StateError::runtime(format!(
                        "Invalid path '{variable}': The choice state's condition path references an invalid value."
                    ))
                })?;
                let expected = match operand {
                    Operand::Value(v) => v.clone(),
                    Operand::Path(p) => p.select(root(p)).ok_or_else(|| {
                        StateError::runtime(format!(
                            "Invalid path '{p}': The choice state's condition path references an invalid value."
                        ))
                    })?,
                };
                Ok(test(op, &value, &expected))
            }
        }
    }
}

fn operand_value(o: &Operand) -> Option<Value> {
    match o {
        Operand::Value(v) => Some(v.clone()),
        Operand::Path(_) => None,
    }
}

fn test(op: &Op, value: &Value, expected: &Value) -> bool {
    let flag = expected.as_bool().unwrap_or(false);
    match op {
        Op::IsNull => value.is_null() == flag,
        Op::IsNumeric => value.is_number() == flag,
        Op::IsString => value.is_string() == flag,
        Op::IsBoolean => value.is_boolean() == flag,
        Op::IsTimestamp => value.as_str().and_then(parse_timestamp).is_some() == flag,
        // IsPresent is decided in `eval`, before the variable must exist.
        Op::IsPresent => false,
        Op::StringMatches => match (value.as_str(), expected.as_str()) {
            (Some(s), Some(pattern)) => wildcard_match(pattern, s),
            _ => false,
        },
        // A value of the wrong type makes the comparison false, not an error.
        Op::Compare(kind, cmp) => {
            let ordering = match kind {
                Kind::String => match (value.as_str(), expected.as_str()) {
                    (Some(a), Some(b)) => Some(a.cmp(b)),
                    _ => None,
                },
                Kind::Numeric => match (value.as_f64(), expected.as_f64()) {
                    (Some(a), Some(b)) if value.is_number() && expected.is_number() => {
                        a.partial_cmp(&b)
                    }
                    _ => None,
                },
                Kind::Boolean => match (value.as_bool(), expected.as_bool()) {
                    (Some(a), Some(b)) => Some(a.cmp(&b)),
                    _ => None,
                },
                Kind::Timestamp => match (
                    value.as_str().and_then(parse_timestamp),
                    expected.as_str().and_then(parse_timestamp),
                ) {
                    (Some(a), Some(b)) => Some(a.cmp(&b)),
                    _ => None,
                },
            };
            let Some(o) = ordering else {
                return false;
            };
            match cmp {
                Cmp::Equals => o.is_eq(),
                Cmp::LessThan => o.is_lt(),
                Cmp::GreaterThan => o.is_gt(),
                Cmp::LessThanEquals => o.is_le(),
                Cmp::GreaterThanEquals => o.is_ge(),
            }
        }
    }
}

/// `*` matches any run of characters (also none); `\*` is a literal star and `\\` a
/// literal backslash.
pub fn wildcard_match(pattern: &str, s: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Star,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => toks.push(Tok::Char(chars.next().unwrap_or('\\'))),
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Char(c)),
        }
    }
    let text: Vec<char> = s.chars().collect();
    // Classic two-pointer glob match with backtracking to the last star.
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Char(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|t| *t == Tok::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_matches_follows_the_aws_examples() {
        assert!(wildcard_match("log-*.txt", "log-2024-01.txt"));
        assert!(wildcard_match("*.log", "a.b.log"));
        assert!(!wildcard_match("*.log", "a.log.txt"));
        assert!(wildcard_match("foo\\*bar", "foo*bar"));
        assert!(!wildcard_match("foo\\*bar", "fooXbar"));
        assert!(wildcard_match("*", ""));
    }

    #[test]
    fn timestamps_need_uppercase_t_and_z() {
        assert!(parse_timestamp("2016-03-14T01:59:00Z").is_some());
        assert!(parse_timestamp("2016-03-14T01:59:00+01:00").is_some());
        assert!(parse_timestamp("2016-03-14t01:59:00z").is_none());
        assert!(parse_timestamp("2016-03-14").is_none());
    }
}
