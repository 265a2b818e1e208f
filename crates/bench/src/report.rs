//! The report: sections, each measured by its own code, and the targets they check.
//!
//! A section is one `impl Section`; `main.rs` lists them in order. Adding a
//! measurement is adding a type and one line there.

use std::fmt::Write as _;

/// What `make bench` aims for, and what was measured against it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What is compared, e.g. "cold start, Rust sample vs Python guide step".
    pub what: String,
    /// The goal, in words: "under 0.10x".
    pub goal: String,
    /// What was measured, in words.
    pub measured: String,
    /// `Some(true)` met, `Some(false)` missed, `None` not measurable in this run.
    pub met: Option<bool>,
    /// By how much it was met or missed, or why it could not be measured.
    pub margin: String,
}

/// A measured section of the report.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// Markdown, without the section's heading.
    pub body: String,
    /// Targets this section checked.
    pub targets: Vec<Target>,
}

/// Shared inputs of every section.
#[derive(Debug, Clone)]
pub struct Context {
    /// The repository root (where `statemachine/` is).
    pub root: std::path::PathBuf,
    /// A Python interpreter (the project's `.venv`), for the guide step and zips.
    pub python: Option<std::path::PathBuf>,
}

/// One section of `docs/performance.md`.
#[async_trait::async_trait]
pub trait Section: Send + Sync {
    /// The heading.
    fn title(&self) -> String;
    /// Measures and renders.
    async fn run(&self, ctx: &Context) -> anyhow::Result<Rendered>;
}

/// A section someone will measure later: says what it will show and how to add it.
pub struct Pending {
    pub title: &'static str,
    pub what: &'static str,
}

#[async_trait::async_trait]
impl Section for Pending {
    fn title(&self) -> String {
        self.title.to_string()
    }

    async fn run(&self, _ctx: &Context) -> anyhow::Result<Rendered> {
        Ok(Rendered {
            body: format!(
                "**Not measured yet.** {}\n\nTo fill it: implement `bench::report::Section` in \
                 `crates/bench/src/` and list it in `crates/bench/src/main.rs` in place of this \
                 `Pending` (see docs/bench.md).\n",
                self.what
            ),
            targets: Vec::new(),
        })
    }
}

/// The targets table.
pub fn targets_table(targets: &[Target]) -> String {
    let mut out = String::from("| target | goal | measured | verdict |\n|---|---|---|---|\n");
    for t in targets {
        let verdict = match t.met {
            Some(true) => format!("**met** ({})", t.margin),
            Some(false) => format!("**missed** ({})", t.margin),
            None => format!("not measured ({})", t.margin),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            t.what, t.goal, t.measured, verdict
        );
    }
    out
}

/// A markdown table from a header and rows.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_say_met_missed_or_why_not_measured() {
        let t = |met| Target {
            what: "w".into(),
            goal: "g".into(),
            measured: "m".into(),
            met,
            margin: "x".into(),
        };
        let text = targets_table(&[t(Some(true)), t(Some(false)), t(None)]);
        assert!(text.contains("| w | g | m | **met** (x) |"));
        assert!(text.contains("**missed** (x)"));
        assert!(text.contains("not measured (x)"));
    }
}
