//! The JSONPath subset Step Functions documents, implemented here rather than taken
//! from a general JSONPath crate: AWS evaluates paths with Jayway semantics (a
//! *definite* path yields one value or fails; an *indefinite* one, with `*`, `..`,
//! unions or slices, yields an array, possibly empty) and restricts reference paths
//! (ResultPath) to `$`, `.field`, `['field']` and `[n]`. General crates differ on
//! exactly these points, and the subset is small.

use serde_json::{Map, Value};

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
    Wildcard,
    /// `..name` or `..*` (`None`).
    Descend(Option<String>),
    Union(Vec<Key>),
    Slice(Option<i64>, Option<i64>, i64),
}

#[derive(Debug, Clone, PartialEq)]
enum Key {
    Name(String),
    Index(i64),
}

/// A parsed JSONPath, rooted at `$` (the state's input) or `$$` (the context object).
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    text: String,
    context: bool,
    steps: Vec<Step>,
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Path {
    /// Parses a path; `$$` paths are accepted only when `allow_context`.
    pub fn parse(text: &str, allow_context: bool) -> Result<Self, String> {
        let (context, rest) = if let Some(rest) = text.strip_prefix("$$") {
            if !allow_context {
                return Err(format!("'{text}': a context path ($$) is not allowed here"));
            }
            (true, rest)
        } else if let Some(rest) = text.strip_prefix('$') {
            (false, rest)
        } else {
            return Err(format!(
                "'{text}' is not a JSONPath (it must start with '$')"
            ));
        };
        let steps = parse_steps(rest).map_err(|e| format!("invalid JSONPath '{text}': {e}"))?;
        Ok(Self {
            text: text.to_string(),
            context,
            steps,
        })
    }

    /// Parses a reference path (ResultPath): only `$`, `.field`, `['field']`, `[n]`.
    pub fn parse_reference(text: &str) -> Result<Self, String> {
        let path = Self::parse(text, false)?;
        if !path.is_definite()
            || path
                .steps
                .iter()
                .any(|s| matches!(s, Step::Index(i) if *i < 0))
        {
            return Err(format!(
                "'{text}' is not a reference path (only '$', '.field', ['field'] and [n] are allowed)"
            ));
        }
        Ok(path)
    }

    /// Whether this path reads the context object (`$$`).
    pub fn is_context(&self) -> bool {
        self.context
    }

    /// A definite path selects at most one value.
    pub fn is_definite(&self) -> bool {
        self.steps
            .iter()
            .all(|s| matches!(s, Step::Field(_) | Step::Index(_)))
    }

    /// Evaluates the path: `Some(value)` for a definite match (or the array of matches of
    /// an indefinite path, possibly empty), `None` when a definite path matches nothing.
    pub fn select(&self, root: &Value) -> Option<Value> {
        let mut current: Vec<&Value> = vec![root];
        for step in &self.steps {
            let mut next = Vec::new();
            for value in current {
                apply_step(step, value, &mut next);
            }
            current = next;
        }
        if self.is_definite() {
            current.first().map(|v| (*v).clone())
        } else {
            Some(Value::Array(current.into_iter().cloned().collect()))
        }
    }

    /// Writes `value` at this reference path inside `target`, creating intermediate
    /// objects for missing fields. Fails when a step meets a non-object (or an array
    /// index out of range), as Step Functions' ResultPath does.
    pub fn write(&self, target: &mut Value, value: Value) -> Result<(), String> {
        write_at(target, &self.steps, value, &self.text)
    }

    /// The `$['a']['b']` form AWS prints in "No results for path" causes.
    pub fn bracketed(&self) -> String {
        let mut out = String::from(if self.context { "$$" } else { "$" });
        for step in &self.steps {
            match step {
                Step::Field(name) => out.push_str(&format!("['{name}']")),
                Step::Index(i) => out.push_str(&format!("[{i}]")),
                _ => return self.text.clone(),
            }
        }
        out
    }
}

fn apply_step<'a>(step: &Step, value: &'a Value, out: &mut Vec<&'a Value>) {
    match step {
        Step::Field(name) => {
            if let Some(v) = value.as_object().and_then(|o| o.get(name)) {
                out.push(v);
            }
        }
        Step::Index(i) => {
            if let Some(v) = value.as_array().and_then(|a| index(a, *i)) {
                out.push(v);
            }
        }
        Step::Wildcard => match value {
            Value::Object(o) => out.extend(o.values()),
            Value::Array(a) => out.extend(a.iter()),
            _ => {}
        },
        Step::Descend(name) => descend(value, name.as_deref(), out),
        Step::Union(keys) => {
            for key in keys {
                match key {
                    Key::Name(n) => {
                        if let Some(v) = value.as_object().and_then(|o| o.get(n)) {
                            out.push(v);
                        }
                    }
                    Key::Index(i) => {
                        if let Some(v) = value.as_array().and_then(|a| index(a, *i)) {
                            out.push(v);
                        }
                    }
                }
            }
        }
        Step::Slice(start, end, step) => {
            if let Some(a) = value.as_array() {
                let len = a.len() as i64;
                let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
                let s = start.map(norm).unwrap_or(0);
                let e = end.map(norm).unwrap_or(len);
                let mut i = s;
                while i < e {
                    out.push(&a[i as usize]);
                    i += step;
                }
            }
        }
    }
}

fn index(a: &[Value], i: i64) -> Option<&Value> {
    let i = if i < 0 { a.len() as i64 + i } else { i };
    usize::try_from(i).ok().and_then(|i| a.get(i))
}

/// `..name` collects `name` in this value and every descendant, in document order.
fn descend<'a>(value: &'a Value, name: Option<&str>, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(o) => {
            match name {
                Some(n) => {
                    if let Some(v) = o.get(n) {
                        out.push(v);
                    }
                }
                None => out.extend(o.values()),
            }
            for v in o.values() {
                descend(v, name, out);
            }
        }
        Value::Array(a) => {
            if name.is_none() {
                out.extend(a.iter());
            }
            for v in a {
                descend(v, name, out);
            }
        }
        _ => {}
    }
}

fn write_at(target: &mut Value, steps: &[Step], value: Value, text: &str) -> Result<(), String> {
    let Some((first, rest)) = steps.split_first() else {
        *target = value;
        return Ok(());
    };
    match first {
        Step::Field(name) => {
            let Value::Object(obj) = target else {
                return Err(format!(
                    "Unable to apply ResultPath '{text}': the value at '{name}''s parent is not an object"
                ));
            };
            let slot = obj
                .entry(name.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !rest.is_empty() && !slot.is_object() && !slot.is_array() {
                *slot = Value::Object(Map::new());
            }
            write_at(slot, rest, value, text)
        }
        Step::Index(i) => {
            let Value::Array(arr) = target else {
                return Err(format!(
                    "Unable to apply ResultPath '{text}': index [{i}] applied to a non-array"
                ));
            };
            let len = arr.len();
            let slot = usize::try_from(*i)
                .ok()
                .and_then(|i| arr.get_mut(i))
                .ok_or_else(|| {
                    format!("Unable to apply ResultPath '{text}': index [{i}] out of range ({len})")
                })?;
            write_at(slot, rest, value, text)
        }
        _ => Err(format!("'{text}' is not a reference path")),
    }
}

fn parse_steps(mut rest: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("..") {
            if let Some(r2) = r.strip_prefix('*') {
                steps.push(Step::Descend(None));
                rest = r2;
            } else {
                let (name, r2) = take_name(r);
                if name.is_empty() {
                    return Err("'..' must be followed by a field name or '*'".into());
                }
                steps.push(Step::Descend(Some(name.to_string())));
                rest = r2;
            }
        } else if let Some(r) = rest.strip_prefix('.') {
            if let Some(r2) = r.strip_prefix('*') {
                steps.push(Step::Wildcard);
                rest = r2;
            } else {
                let (name, r2) = take_name(r);
                if name.is_empty() {
                    return Err("'.' must be followed by a field name".into());
                }
                steps.push(Step::Field(name.to_string()));
                rest = r2;
            }
        } else if let Some(r) = rest.strip_prefix('[') {
            let (step, r2) = parse_bracket(r)?;
            steps.push(step);
            rest = r2;
        } else {
            return Err(format!("unexpected '{rest}'"));
        }
    }
    Ok(steps)
}

fn take_name(s: &str) -> (&str, &str) {
    let end = s.find(['.', '[']).unwrap_or(s.len());
    s.split_at(end)
}

fn parse_bracket(s: &str) -> Result<(Step, &str), String> {
    let s = s.trim_start();
    if let Some(r) = s.strip_prefix('*') {
        let r = r.trim_start();
        let r = r.strip_prefix(']').ok_or("expected ']' after '*'")?;
        return Ok((Step::Wildcard, r));
    }
    if s.starts_with('?') || s.starts_with('(') {
        return Err("filter and script expressions ([?(...)]) are not supported".into());
    }
    // Collect the comma-separated members up to the closing bracket, honouring quotes.
    let mut members: Vec<String> = Vec::new();
    let mut quoted: Vec<bool> = Vec::new();
    let mut chars = s.char_indices().peekable();
    let mut current = String::new();
    let mut is_quoted = false;
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' | '"' => {
                let quote = c;
                let mut lit = String::new();
                let mut closed = false;
                while let Some((_, c2)) = chars.next() {
                    if c2 == '\\' {
                        if let Some((_, esc)) = chars.next() {
                            lit.push(esc);
                        }
                    } else if c2 == quote {
                        closed = true;
                        break;
                    } else {
                        lit.push(c2);
                    }
                }
                if !closed {
                    return Err("unterminated quoted name".into());
                }
                current = lit;
                is_quoted = true;
            }
            ',' => {
                members.push(std::mem::take(&mut current));
                quoted.push(std::mem::replace(&mut is_quoted, false));
            }
            ']' => {
                members.push(current);
                quoted.push(is_quoted);
                let rest = &s[i + 1..];
                return Ok((bracket_step(&members, &quoted)?, rest));
            }
            c if c.is_whitespace() => {}
            c => {
                if is_quoted {
                    return Err(format!("unexpected '{c}' after a quoted name"));
                }
                current.push(c);
            }
        }
    }
    Err("missing ']'".into())
}

fn bracket_step(members: &[String], quoted: &[bool]) -> Result<Step, String> {
    if members.len() == 1 && !quoted[0] && members[0].contains(':') {
        let parts: Vec<&str> = members[0].split(':').collect();
        if parts.len() > 3 {
            return Err(format!("invalid slice '[{}]'", members[0]));
        }
        let num = |p: &str| -> Result<Option<i64>, String> {
            if p.is_empty() {
                Ok(None)
            } else {
                p.parse()
                    .map(Some)
                    .map_err(|_| format!("invalid slice bound '{p}'"))
            }
        };
        let step = match parts.get(2) {
            Some(p) => num(p)?.unwrap_or(1),
            None => 1,
        };
        if step <= 0 {
            return Err("slice step must be positive".into());
        }
        return Ok(Step::Slice(num(parts[0])?, num(parts[1])?, step));
    }
    let mut keys = Vec::new();
    for (m, q) in members.iter().zip(quoted) {
        if *q {
            keys.push(Key::Name(m.clone()));
        } else if m.is_empty() {
            return Err("empty member in brackets".into());
        } else {
            let i: i64 = m
                .parse()
                .map_err(|_| format!("'{m}' is neither a quoted name nor an index"))?;
            keys.push(Key::Index(i));
        }
    }
    Ok(match keys.as_slice() {
        [Key::Name(n)] => Step::Field(n.clone()),
        [Key::Index(i)] => Step::Index(*i),
        _ => Step::Union(keys),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(path: &str, v: &Value) -> Option<Value> {
        Path::parse(path, true).unwrap().select(v)
    }

    #[test]
    fn definite_and_indefinite_paths_follow_jayway() {
        let v = json!({"a": {"b": [1, 2, 3]}, "c": [{"id": 1}, {"id": 2}], "x y": 5});
        assert_eq!(sel("$", &v), Some(v.clone()));
        assert_eq!(sel("$.a.b[1]", &v), Some(json!(2)));
        assert_eq!(sel("$['a']['b'][-1]", &v), Some(json!(3)));
        assert_eq!(sel("$['x y']", &v), Some(json!(5)));
        assert_eq!(sel("$.missing", &v), None);
        assert_eq!(sel("$.c[*].id", &v), Some(json!([1, 2])));
        assert_eq!(sel("$..id", &v), Some(json!([1, 2])));
        assert_eq!(sel("$.a.b[0,2]", &v), Some(json!([1, 3])));
        assert_eq!(sel("$.a.b[1:]", &v), Some(json!([2, 3])));
        assert_eq!(sel("$.a.b[:2]", &v), Some(json!([1, 2])));
        assert_eq!(sel("$.nothing[*]", &v), Some(json!([])));
    }

    #[test]
    fn reference_paths_create_intermediate_objects() {
        let mut v = json!({"a": 1});
        Path::parse_reference("$.b.c.d")
            .unwrap()
            .write(&mut v, json!(true))
            .unwrap();
        assert_eq!(v, json!({"a": 1, "b": {"c": {"d": true}}}));
        assert!(Path::parse_reference("$.a[*]").is_err());
        assert!(Path::parse_reference("$..a").is_err());
        let mut s = json!("text");
        assert!(
            Path::parse_reference("$.x")
                .unwrap()
                .write(&mut s, json!(1))
                .is_err()
        );
    }

    #[test]
    fn bad_paths_are_refused() {
        assert!(Path::parse("a.b", true).is_err());
        assert!(Path::parse("$.a[?(@.x)]", true).is_err());
        assert!(Path::parse("$$.Execution.Id", false).is_err());
        assert!(Path::parse("$.a[", true).is_err());
    }
}
