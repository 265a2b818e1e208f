//! The hostile-input corpus (`tests/fixtures/bad-tickets/`, format in its README.md),
//! read for the pipeline: each case's input as `gdpr-erasure run` would start an
//! execution with it, and the answer it expects.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Value, json};

pub fn dir() -> PathBuf {
    crate::fixtures().join("bad-tickets")
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Case {
    #[serde(skip)]
    pub name: String,
    pub description: String,
    pub now: Option<String>,
    #[serde(default)]
    pub config: CaseConfig,
    input: Option<Value>,
    input_text: Option<String>,
    input_hex: Option<String>,
    input_repeat: Option<Repeat>,
    pub expect: Expect,
    pub expect_parsed: Option<Expect>,
    #[serde(default)]
    pub personal_data: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaseConfig {
    pub default_region: Option<String>,
    pub clock_basis: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Repeat {
    prefix: String,
    repeat: String,
    times: usize,
    suffix: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    pub outcome: String,
    #[serde(default)]
    pub errors: Vec<ExpectedError>,
    pub late_at_intake: Option<bool>,
    pub effective_due_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedError {
    pub field: String,
    pub code: String,
}

impl Case {
    /// The input's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        if let Some(v) = &self.input {
            return serde_json::to_vec(v).expect("JSON");
        }
        if let Some(t) = &self.input_text {
            return t.as_bytes().to_vec();
        }
        if let Some(h) = &self.input_hex {
            let clean: String = h.chars().filter(|c| !c.is_whitespace()).collect();
            return hex::decode(clean).unwrap_or_else(|e| panic!("{}: inputHex: {e}", self.name));
        }
        let r = self
            .input_repeat
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no input", self.name));
        let mut b = Vec::with_capacity(r.prefix.len() + r.repeat.len() * r.times + r.suffix.len());
        b.extend_from_slice(r.prefix.as_bytes());
        for _ in 0..r.times {
            b.extend_from_slice(r.repeat.as_bytes());
        }
        b.extend_from_slice(r.suffix.as_bytes());
        b
    }

    /// The document, when the bytes are JSON.
    pub fn parsed(&self) -> Option<Value> {
        if let Some(v) = &self.input {
            return Some(v.clone());
        }
        serde_json::from_slice(&self.bytes()).ok()
    }

    /// The execution input as `gdpr-erasure run` makes it: the ticket when it parses
    /// as JSON, else `{rawTicket}`. `None` for bytes that are not UTF-8: the command
    /// reads the file as text and refuses to start at all (a lossy reading would turn
    /// invalid bytes into U+FFFD and could make a refused ticket valid).
    pub fn execution_input(&self) -> Option<Value> {
        let bytes = self.bytes();
        let text = std::str::from_utf8(&bytes).ok()?;
        Some(match serde_json::from_str::<Value>(text) {
            Ok(v) => v,
            Err(_) => json!({ "rawTicket": text }),
        })
    }

    /// What the pipeline must answer: Intake receives a parsed document (or raw text).
    pub fn pipeline_expect(&self) -> &Expect {
        match (&self.expect_parsed, self.parsed().is_some()) {
            (Some(e), true) => e,
            _ => &self.expect,
        }
    }
}

/// Every case, sorted by name (`<category>/<file>`).
pub fn load() -> Vec<Case> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("the corpus directory exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        let category = d
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .expect("readable")
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            let name = format!(
                "{category}/{}",
                f.file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            );
            let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut case: Case =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not a case: {e}"));
            case.name = name;
            out.push(case);
        }
    }
    out
}
