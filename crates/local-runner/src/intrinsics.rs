//! Intrinsic functions (`States.Format(...)` and friends) in payload templates.
//!
//! Parsed once at load so a malformed call is a load error; evaluated per state.
//! A failing call raises `States.IntrinsicFailure`; a path argument that matches
//! nothing raises `States.Runtime`, as a `.$` field's path does.

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use crate::path::Path;

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    name: Func,
    args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Literal(Value),
    Path(Path),
    Call(Call),
}

macro_rules! funcs {
    ($($variant:ident => $name:literal),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq)]
        enum Func { $($variant),* }
        impl Func {
            fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(Func::$variant),)* _ => None }
            }
            fn name(self) -> &'static str {
                match self { $(Func::$variant => $name),* }
            }
        }
        /// Every intrinsic function the runner implements.
        pub const SUPPORTED: &[&str] = &[$($name),*];
    };
}

funcs! {
    Format => "States.Format",
    StringToJson => "States.StringToJson",
    JsonToString => "States.JsonToString",
    Array => "States.Array",
    ArrayPartition => "States.ArrayPartition",
    ArrayContains => "States.ArrayContains",
    ArrayRange => "States.ArrayRange",
    ArrayGetItem => "States.ArrayGetItem",
    ArrayLength => "States.ArrayLength",
    ArrayUnique => "States.ArrayUnique",
    Base64Encode => "States.Base64Encode",
    Base64Decode => "States.Base64Decode",
    Hash => "States.Hash",
    JsonMerge => "States.JsonMerge",
    MathRandom => "States.MathRandom",
    MathAdd => "States.MathAdd",
    StringSplit => "States.StringSplit",
    Uuid => "States.UUID",
}

/// Why an evaluation failed: the error name Step Functions raises and its cause.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalError {
    /// A path argument matched nothing (`States.Runtime`).
    Runtime(String),
    /// The function refused its arguments (`States.IntrinsicFailure`).
    Intrinsic(String),
}

/// What an evaluation may read: the state's input, the context object, randomness.
pub struct Env<'a> {
    pub input: &'a Value,
    pub context: &'a Value,
    pub random: &'a mut dyn FnMut() -> u64,
}

impl Call {
    /// String literals keep their escapes only where States.Format needs them (its
    /// template, to tell `\{` from a placeholder); everywhere else they are resolved
    /// here, so values read by path are never unescaped.
    fn new(name: Func, mut args: Vec<Arg>) -> Self {
        for (i, arg) in args.iter_mut().enumerate() {
            if let Arg::Literal(Value::String(s)) = arg
                && !(name == Func::Format && i == 0)
            {
                *s = unescape(s);
            }
        }
        Self { name, args }
    }

    /// Whether `text` looks like an intrinsic call (rather than a path).
    pub fn looks_like(text: &str) -> bool {
        text.starts_with("States.")
    }

    /// Parses `States.Name(arg, ...)`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut p = Parser {
            s: text,
            pos: 0,
            full: text,
        };
        let call = p.call()?;
        p.skip_ws();
        if p.pos != p.s.len() {
            return Err(format!(
                "unexpected '{}' after the intrinsic function in '{text}'",
                &p.s[p.pos..]
            ));
        }
        Ok(call)
    }

    /// Evaluates the call.
    pub fn eval(&self, env: &mut Env<'_>) -> Result<Value, EvalError> {
        let mut args = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            args.push(match arg {
                Arg::Literal(v) => v.clone(),
                Arg::Path(p) => {
                    let root = if p.is_context() { env.context } else { env.input };
                    p.select(root).ok_or_else(|| {
                        EvalError::Runtime(format!(
                            "The JsonPath argument for the field '{}' could not be found in the input",
                            p
                        ))
                    })?
                }
                Arg::Call(c) => c.eval(env)?,
            });
        }
        apply(self.name, args, env).map_err(|e| {
            EvalError::Intrinsic(format!("Invalid arguments in {}: {e}", self.name.name()))
        })
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    full: &'a str,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn skip_ws(&mut self) {
        while self.rest().starts_with(char::is_whitespace) {
            self.pos += self.rest().chars().next().map_or(1, char::len_utf8);
        }
    }

    fn err(&self, what: &str) -> String {
        format!("{what} at offset {} in '{}'", self.pos, self.full)
    }

    fn call(&mut self) -> Result<Call, String> {
        self.skip_ws();
        let open = self
            .rest()
            .find('(')
            .ok_or_else(|| self.err("expected '(' after the function name"))?;
        let name_text = self.rest()[..open].trim();
        let name = Func::from_name(name_text).ok_or_else(|| {
            format!(
                "unknown intrinsic function '{name_text}' in '{}' (supported: {})",
                self.full,
                SUPPORTED.join(", ")
            )
        })?;
        self.pos += open + 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.rest().starts_with(')') {
            self.pos += 1;
            return Ok(Call::new(name, args));
        }
        loop {
            args.push(self.arg()?);
            self.skip_ws();
            if self.rest().starts_with(',') {
                self.pos += 1;
            } else if self.rest().starts_with(')') {
                self.pos += 1;
                return Ok(Call::new(name, args));
            } else {
                return Err(self.err("expected ',' or ')'"));
            }
        }
    }

    fn arg(&mut self) -> Result<Arg, String> {
        self.skip_ws();
        let rest = self.rest().to_string();
        if rest.starts_with('\'') {
            return self.string().map(|s| Arg::Literal(Value::String(s)));
        }
        if rest.starts_with("States.") {
            return self.call().map(Arg::Call);
        }
        // Paths, numbers, booleans and null run to the next top-level ',' or ')'.
        let end = token_end(&rest);
        let token = rest[..end].trim();
        self.pos += end;
        if token.starts_with('$') {
            return Path::parse(token, true)
                .map(Arg::Path)
                .map_err(|e| format!("{e} in '{}'", self.full));
        }
        match token {
            "true" => return Ok(Arg::Literal(Value::Bool(true))),
            "false" => return Ok(Arg::Literal(Value::Bool(false))),
            "null" => return Ok(Arg::Literal(Value::Null)),
            _ => {}
        }
        serde_json::from_str::<Number>(token)
            .map(|n| Arg::Literal(Value::Number(n)))
            .map_err(|_| self.err(&format!("invalid argument '{token}'")))
    }

    /// A single-quoted string; `\'`, `\{`, `\}` and `\\` are escapes. `\{` and `\}`
    /// stay escaped in the value so States.Format can tell them from placeholders.
    fn string(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, '\'')) => out.push('\''),
                    Some((_, '\\')) => out.push_str("\\\\"),
                    Some((_, '{')) => out.push_str("\\{"),
                    Some((_, '}')) => out.push_str("\\}"),
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => break,
                },
                '\'' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                c => out.push(c),
            }
        }
        Err(self.err("unterminated string literal"))
    }
}

fn token_end(s: &str) -> usize {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '(') => depth += 1,
            (None, ']') => depth -= 1,
            (None, ')') if depth == 0 => return i,
            (None, ')') => depth -= 1,
            (None, ',') if depth == 0 => return i,
            _ => {}
        }
    }
    s.len()
}

/// Removes the escapes the parser kept (`\{`, `\}`, `\\`) from a string argument.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n @ ('{' | '}' | '\\')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn count(args: &[Value], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!("expected {n} argument(s), got {}", args.len()))
    }
}

fn string(v: &Value, what: &str) -> Result<String, String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{what} must be a string, got {v}"))
}

fn array<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("{what} must be an array, got {v}"))
}

fn integer(v: &Value, what: &str) -> Result<i64, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or_else(|| format!("{what} must be an integer, got {v}")),
        _ => Err(format!("{what} must be an integer, got {v}")),
    }
}

fn apply(f: Func, args: Vec<Value>, env: &mut Env<'_>) -> Result<Value, String> {
    match f {
        Func::Format => {
            let template = args.first().ok_or("expected a format string")?;
            let template = template
                .as_str()
                .ok_or("the first argument must be a string")?;
            format(template, &args[1..])
        }
        Func::StringToJson => {
            count(&args, 1)?;
            let s = string(&args[0], "the argument")?;
            serde_json::from_str(&s).map_err(|e| format!("'{s}' is not JSON: {e}"))
        }
        Func::JsonToString => {
            count(&args, 1)?;
            Ok(Value::String(args[0].to_string()))
        }
        Func::Array => Ok(Value::Array(args)),
        Func::ArrayPartition => {
            count(&args, 2)?;
            let a = array(&args[0], "the first argument")?;
            let size = integer(&args[1], "the chunk size")?;
            if size <= 0 {
                return Err("the chunk size must be greater than 0".into());
            }
            Ok(Value::Array(
                a.chunks(size as usize)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            ))
        }
        Func::ArrayContains => {
            count(&args, 2)?;
            let a = array(&args[0], "the first argument")?;
            Ok(Value::Bool(a.iter().any(|v| json_eq(v, &args[1]))))
        }
        Func::ArrayRange => {
            count(&args, 3)?;
            let start = rounded(&args[0], "the start")?;
            let end = rounded(&args[1], "the end")?;
            let step = rounded(&args[2], "the step")?;
            if step <= 0 {
                return Err("the step must be a positive integer".into());
            }
            let mut out = Vec::new();
            let mut i = start;
            while i <= end {
                out.push(Value::from(i));
                if out.len() > 1000 {
                    return Err("the range has more than 1000 items".into());
                }
                i += step;
            }
            Ok(Value::Array(out))
        }
        Func::ArrayGetItem => {
            count(&args, 2)?;
            let a = array(&args[0], "the first argument")?;
            let i = integer(&args[1], "the index")?;
            usize::try_from(i)
                .ok()
                .and_then(|i| a.get(i))
                .cloned()
                .ok_or_else(|| format!("index {i} is out of bounds (length {})", a.len()))
        }
        Func::ArrayLength => {
            count(&args, 1)?;
            Ok(Value::from(array(&args[0], "the argument")?.len()))
        }
        Func::ArrayUnique => {
            count(&args, 1)?;
            let mut out: Vec<Value> = Vec::new();
            for v in array(&args[0], "the argument")? {
                if !out.iter().any(|o| json_eq(o, v)) {
                    out.push(v.clone());
                }
            }
            Ok(Value::Array(out))
        }
        Func::Base64Encode => {
            count(&args, 1)?;
            let s = string(&args[0], "the argument")?;
            if s.len() > 10_000 {
                return Err("the input exceeds 10000 characters".into());
            }
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
            ))
        }
        Func::Base64Decode => {
            count(&args, 1)?;
            let s = string(&args[0], "the argument")?;
            if s.len() > 10_000 {
                return Err("the input exceeds 10000 characters".into());
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|e| format!("'{s}' is not base64: {e}"))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|_| "the decoded data is not UTF-8".into())
        }
        Func::Hash => {
            count(&args, 2)?;
            let data = match &args[0] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let algorithm = string(&args[1], "the algorithm")?;
            hash(&data, &algorithm).map(Value::String)
        }
        Func::JsonMerge => {
            count(&args, 3)?;
            let (Value::Object(a), Value::Object(b)) = (&args[0], &args[1]) else {
                return Err("the first two arguments must be objects".into());
            };
            if args[2] != Value::Bool(false) {
                return Err("only a shallow merge (false) is supported, as in AWS".into());
            }
            let mut merged: Map<String, Value> = a.clone();
            for (k, v) in b {
                merged.insert(k.clone(), v.clone());
            }
            Ok(Value::Object(merged))
        }
        Func::MathRandom => {
            if args.len() != 2 && args.len() != 3 {
                return Err(format!("expected 2 or 3 arguments, got {}", args.len()));
            }
            let start = rounded(&args[0], "the start")?;
            let end = rounded(&args[1], "the end")?;
            if end < start {
                return Err("the end must not be less than the start".into());
            }
            // Both ends are included (as LocalStack, tested against AWS, does).
            let span = (end - start) as u64 + 1;
            let r = match args.get(2) {
                // A seed makes the value reproducible, as in AWS.
                Some(seed) => splitmix(rounded(seed, "the seed")? as u64),
                None => (env.random)(),
            };
            Ok(Value::from(start + (r % span) as i64))
        }
        Func::MathAdd => {
            count(&args, 2)?;
            let a = rounded(&args[0], "the first argument")?;
            let b = rounded(&args[1], "the second argument")?;
            a.checked_add(b)
                .map(Value::from)
                .ok_or_else(|| "integer overflow".into())
        }
        Func::StringSplit => {
            count(&args, 2)?;
            let s = string(&args[0], "the first argument")?;
            let delims = string(&args[1], "the delimiter")?;
            // Every character of the delimiter splits; empty pieces are dropped
            // (StringTokenizer semantics, which the AWS examples show).
            Ok(Value::Array(
                s.split(|c| delims.contains(c))
                    .filter(|p| !p.is_empty())
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
            ))
        }
        Func::Uuid => {
            count(&args, 0)?;
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&(env.random)().to_le_bytes());
            bytes[8..].copy_from_slice(&(env.random)().to_le_bytes());
            Ok(Value::String(
                uuid::Builder::from_random_bytes(bytes)
                    .into_uuid()
                    .to_string(),
            ))
        }
    }
}

/// A number as an integer; a fraction is rounded to the nearest integer, halves
/// upward (Java's `Math.round`), as AWS documents for MathAdd and MathRandom.
fn rounded(v: &Value, what: &str) -> Result<i64, String> {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(i),
            None => n
                .as_f64()
                .map(|f| (f + 0.5).floor())
                .filter(|f| f.is_finite() && f.abs() < 9.0e15)
                .map(|f| f as i64)
                .ok_or_else(|| format!("{what} is out of range: {v}")),
        },
        _ => Err(format!("{what} must be a number, got {v}")),
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn format(template: &str, args: &[Value]) -> Result<Value, String> {
    let mut out = String::new();
    let mut next = 0usize;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => out.push(n),
                None => out.push('\\'),
            },
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let arg = args.get(next).ok_or_else(|| {
                    format!(
                        "the format string has more placeholders than the {} argument(s)",
                        args.len()
                    )
                })?;
                out.push_str(&format_value(arg));
                next += 1;
            }
            c => out.push(c),
        }
    }
    if next != args.len() {
        return Err(format!(
            "the format string has {next} placeholder(s) but {} argument(s) were given",
            args.len()
        ));
    }
    Ok(Value::String(out))
}

/// How States.Format prints a value: strings as they are, arrays as `[a, b]` and
/// objects as `{key=value, ...}` (the Java rendering AWS produces), the rest as JSON.
fn format_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(format_value)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{k}={}", format_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn hash(data: &str, algorithm: &str) -> Result<String, String> {
    use sha2::Digest as _;
    Ok(match algorithm {
        "MD5" => hex::encode(md5::Md5::digest(data.as_bytes())),
        "SHA-1" => hex::encode(sha1::Sha1::digest(data.as_bytes())),
        "SHA-256" => hex::encode(sha2::Sha256::digest(data.as_bytes())),
        "SHA-384" => hex::encode(sha2::Sha384::digest(data.as_bytes())),
        "SHA-512" => hex::encode(sha2::Sha512::digest(data.as_bytes())),
        other => {
            return Err(format!(
                "unsupported hash algorithm '{other}' (MD5, SHA-1, SHA-256, SHA-384, SHA-512)"
            ));
        }
    })
}

/// JSON equality that treats 1 and 1.0 as equal, as Step Functions compares numbers.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(text: &str, input: Value) -> Result<Value, EvalError> {
        let call = Call::parse(text).unwrap();
        let mut n = 0u64;
        let mut random = || {
            n += 1;
            n
        };
        call.eval(&mut Env {
            input: &input,
            context: &json!({"Execution": {"Name": "e1"}}),
            random: &mut random,
        })
    }

    #[test]
    fn aws_documentation_examples() {
        assert_eq!(
            eval(
                "States.Format('Hello, my name is {}.', $.name)",
                json!({"name": "Arnav"})
            ),
            Ok(json!("Hello, my name is Arnav."))
        );
        assert_eq!(
            eval(
                "States.StringSplit($.s, $.d)",
                json!({"s": "This.is+a,test=string", "d": ".+,="})
            ),
            Ok(json!(["This", "is", "a", "test", "string"]))
        );
        assert_eq!(
            eval("States.ArrayRange(1, 9, 2)", json!({})),
            Ok(json!([1, 3, 5, 7, 9]))
        );
        assert_eq!(
            eval(
                "States.ArrayPartition($.a, 4)",
                json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]})
            ),
            Ok(json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]]))
        );
        assert_eq!(
            eval("States.Hash($.d, 'SHA-1')", json!({"d": "input data"})),
            Ok(json!("aaff4a450a104cd177d28d18d74485e8cae074b7"))
        );
        assert_eq!(
            eval("States.Base64Encode($.d)", json!({"d": "Data to encode"})),
            Ok(json!("RGF0YSB0byBlbmNvZGU="))
        );
        assert_eq!(
            eval("States.MathAdd($.v, -1)", json!({"v": 111})),
            Ok(json!(110))
        );
        assert_eq!(
            eval(
                "States.Format('{} \\{literal\\}', $$.Execution.Name)",
                json!({})
            ),
            Ok(json!("e1 {literal}"))
        );
    }

    #[test]
    fn values_read_by_path_keep_their_backslashes() {
        assert_eq!(
            eval(
                "States.Format('{} and {}', $.v, 'a\\\\b')",
                json!({"v": "C:\\{x}"})
            ),
            Ok(json!("C:\\{x} and a\\b"))
        );
        assert_eq!(
            eval(
                "States.ArrayLength(States.Array('\\'', $.v))",
                json!({"v": "\\"})
            ),
            Ok(json!(2))
        );
    }

    #[test]
    fn format_prints_arrays_and_objects_as_aws_does() {
        assert_eq!(
            eval(
                "States.Format('{} {}', $.a, $.o)",
                json!({"a": ["x", 1], "o": {"Arg1": 1, "Arg2": []}})
            ),
            Ok(json!("[x, 1] {Arg1=1, Arg2=[]}"))
        );
    }

    #[test]
    fn failures_name_the_function() {
        assert!(matches!(
            eval("States.ArrayGetItem($.a, 5)", json!({"a": [1]})),
            Err(EvalError::Intrinsic(m)) if m.contains("States.ArrayGetItem")
        ));
        assert!(matches!(
            eval("States.Format('{}', $.x)", json!({})),
            Err(EvalError::Runtime(_))
        ));
        assert!(Call::parse("States.Nope(1)").is_err());
        assert!(Call::parse("States.Format('x'").is_err());
    }
}
