//! `gdpr-erasure audit letter`: a record's letter to the data subject rendered again
//! from the record, byte for byte as sent (its SHA-256 is checked against the record),
//! and the demo's copies of the letters as the DSAR tool received them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use archive::report::{RecordFilter, load_records};
use erasure_core::record::ComplianceRecord;
use letters::{Format, Letter, LetterKind, render_letter};

use crate::local::LocalConfig;

/// The arguments of `audit letter`.
#[derive(Debug, clap::Args)]
pub struct LetterArgs {
    /// The ticket id.
    ticket: String,
    /// The language (default: the first the record has).
    #[arg(long)]
    lang: Option<String>,
    /// The HTML rendering instead of the text.
    #[arg(long)]
    html: bool,
    /// Another letter of the record than its outcome's: `extension`.
    #[arg(long)]
    kind: Option<String>,
    /// The record of this sequence number (default: the ticket's latest).
    #[arg(long)]
    sequence: Option<u64>,
    /// The configuration whose `letters` section the letters were written with
    /// (default: the example controller of the demo).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// The letter on stdout (exit 0); a record without one, or one that does not render to
/// the digest the record holds, exits 1 with why.
pub async fn audit_letter(
    archive: &dyn archive::Archive,
    args: LetterArgs,
) -> anyhow::Result<(String, ExitCode)> {
    let letters = LocalConfig::load(args.config.as_deref())?.letters(false)?;
    let filter = RecordFilter {
        ticket_id: Some(args.ticket.clone()),
        ..RecordFilter::default()
    };
    let (records, _) = load_records(archive, &filter).await?;
    let loaded = match args.sequence {
        Some(n) => records.iter().find(|r| r.record.view().sequence == n),
        None => records.last(),
    };
    let Some(loaded) = loaded else {
        eprintln!(
            "no record {}for ticket {} in {}",
            args.sequence
                .map(|n| format!("of sequence {n} "))
                .unwrap_or_default(),
            args.ticket,
            archive.location()
        );
        return Ok((String::new(), ExitCode::from(1)));
    };
    let record: ComplianceRecord = serde_json::from_value(loaded.record.value().clone())
        .context("the record does not read as a compliance record")?;
    let kind = match args.kind.as_deref() {
        None => None,
        Some(k) => Some(LetterKind::parse(k).with_context(|| {
            format!("--kind {k}: one of completed, nothing-found, deferred, partial, rejected, extension")
        })?),
    };
    let lang = match (&args.lang, &record.letter) {
        (Some(l), _) => l.clone(),
        (None, Some(l)) => l
            .letters
            .first()
            .map(|d| d.language.clone())
            .unwrap_or_default(),
        (None, None) => String::new(),
    };
    let format = if args.html {
        Format::Html
    } else {
        Format::Text
    };
    match render_letter(&letters, &record, kind, &lang, format) {
        Ok(letter) => Ok((letter.body, ExitCode::SUCCESS)),
        Err(e) => {
            eprintln!(
                "{} (record {}): {e}",
                args.ticket,
                loaded.record.view().sequence
            );
            Ok((String::new(), ExitCode::from(1)))
        }
    }
}

/// Writes a ticket's letters into `dir` as `<ticket>.<lang>.txt|html` (the outcome's)
/// and `<ticket>.<kind>.<lang>.txt|html` (the extension notice); returns the paths, the
/// outcome's text first.
pub fn save_letters(dir: &Path, ticket: &str, letters: &[Letter]) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    if letters.is_empty() {
        return Ok(paths);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for l in letters {
        let ext = match l.format {
            Format::Text => "txt",
            Format::Html => "html",
        };
        let name = if l.kind == LetterKind::Extension.as_str() {
            format!("{ticket}.{}.{}.{ext}", l.kind, l.language)
        } else {
            format!("{ticket}.{}.{ext}", l.language)
        };
        let path = dir.join(name);
        std::fs::write(&path, &l.body)
            .with_context(|| format!("cannot write {}", path.display()))?;
        paths.push(path);
    }
    Ok(paths)
}
