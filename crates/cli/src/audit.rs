//! `gdpr-erasure audit`: read and check the compliance archive, for auditors.
//!
//! Glue only: arguments to the `archive` crate's loading, verification and report.
//! Exit codes: 0 all good, 1 verification failed (or nothing matched `show`),
//! 2 the command could not run (bad input, archive unreachable).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use archive::report::{
    LoadedRecord, Period, RecordFilter, Unusable, build_report, human_duration, load_records,
    load_verifications, parse_date,
};
use archive::verify::{VerifyOptions, verify};
use archive::{ArchiveLocation, OpenOptions, Outcome, RetentionPolicy};
use chrono::{NaiveDate, SecondsFormat};
use clap::{Args, Subcommand};
use clock::Clock as _;
use serde_json::Value;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The archive: a directory, or s3://BUCKET/PREFIX (region and credentials from
    /// the standard AWS environment).
    #[arg(
        long,
        env = "GDPR_ERASURE_ARCHIVE",
        value_name = "DIR|s3://BUCKET/PREFIX"
    )]
    archive: String,

    /// Endpoint of an S3-compatible server (a local test server); uses path-style
    /// addressing.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,

    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// List records as a table.
    List {
        /// Only this ticket's records.
        #[arg(long)]
        ticket: Option<String>,
        /// Only records with this outcome (COMPLETED, PARTIAL, DEFERRED, REJECTED, FAILED).
        #[arg(long, value_parser = parse_outcome)]
        outcome: Option<Outcome>,
        /// Records written on or after this UTC date (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date)]
        from: Option<NaiveDate>,
        /// Records written on or before this UTC date (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date)]
        to: Option<NaiveDate>,
    },
    /// Show one ticket's records in chain order.
    Show {
        /// The ticket id.
        ticket: String,
        /// Print the records as JSON (an array, in chain order) instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Check every record: schema, digest and checksum, chain, Object Lock and retention.
    Verify {
        /// The shortest acceptable retention, in years from each record's writtenAt.
        #[arg(long, default_value_t = archive::DEFAULT_RETENTION_YEARS, value_name = "YEARS")]
        min_retention_years: u32,
        /// Only this ticket's records.
        #[arg(long)]
        ticket: Option<String>,
    },
    /// Close an escalation or a residue: an annotation appended to the ticket's
    /// documents (a support case reference, a resolution code, who and when).
    Annotate(crate::annotate::AnnotateArgs),
    /// Write the next manifest: the key and digest of every record and verification
    /// not in an earlier one, chained to it and locked (the watchdog does this daily
    /// on AWS). Nothing is written when nothing is new.
    Checkpoint,
    /// Write the records WriteRecord kept in its fallback (the archive refused them)
    /// into the archive, then check them as `verify` does.
    ReplayFallback {
        /// The fallback (default: `<prefix>fallback/` of an S3 archive's bucket,
        /// `<dir>.fallback` beside a local archive).
        #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
        fallback: Option<String>,
    },
    /// Figures for a period: outcomes, deadlines, time taken, open deferrals.
    Report {
        /// First UTC date of the period (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date)]
        from: Option<NaiveDate>,
        /// Last UTC date of the period (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date)]
        to: Option<NaiveDate>,
        /// Also write the report as a self-contained HTML page.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// A record's letter to the data subject, rendered again from the record and
    /// checked against the SHA-256 the record holds (docs/letters.md).
    Letter(crate::letter::LetterArgs),
    /// A certificate of a ticket's erasure for a regulator or the data subject's
    /// representative: no personal data, every document's digest.
    Certificate(crate::certificate::CertificateArgs),
}

/// The documents appended after a ticket's records: the checks after them and the
/// annotations, one line each (empty when there are none).
async fn later_documents_text(
    archive: &dyn archive::Archive,
    ticket: &str,
) -> anyhow::Result<String> {
    let mut out = String::new();
    for entry in archive.list_verifications(Some(ticket)).await? {
        let Ok(v) = archive::Verification::from_json(&archive.read(&entry).await?.bytes) else {
            let _ = writeln!(
                out,
                "  {}  (not a valid verification: audit verify)",
                entry.key
            );
            continue;
        };
        let value = v.value();
        let _ = writeln!(
            out,
            "  check {} of {}  {}  {}  {}",
            value["check"]["number"],
            value["check"]["of"],
            v.view().result,
            v.view()
                .written_at
                .to_rfc3339_opts(SecondsFormat::Secs, true),
            entry.key
        );
    }
    for (key, a) in archive::annotation::read_annotations(archive, Some(ticket)).await? {
        let view = a.view();
        let _ = writeln!(
            out,
            "  annotation  closes {} of {}: {}, case {}  {}  {key}",
            view.closes.join(", "),
            view.annotates.key,
            view.resolution,
            view.support_case,
            view.written_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        );
    }
    if out.is_empty() {
        return Ok(out);
    }
    Ok(format!("After the records\n{out}"))
}

/// Now, for a document added to the archive: never before its latest manifest (an
/// archive written on a virtual clock ahead of this one, as the demo's is, would
/// otherwise get documents dated before the checkpoint that should list them).
async fn archive_now(
    archive: &dyn archive::Archive,
) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    let now = clock::SystemClock.now();
    let latest = archive::manifest::read_manifests(archive)
        .await?
        .last()
        .map(|(_, m)| m.view().written_at + chrono::Duration::seconds(1));
    Ok(latest.map_or(now, |l| l.max(now)))
}

fn parse_outcome(s: &str) -> Result<Outcome, String> {
    s.parse()
}

/// Runs the subcommand, printing its output; errors go to stderr with exit code 2.
pub async fn run(args: AuditArgs) -> ExitCode {
    match execute(args).await {
        Ok((text, code)) => {
            print!("{text}");
            code
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn execute(args: AuditArgs) -> anyhow::Result<(String, ExitCode)> {
    let location = ArchiveLocation::parse(&args.archive)?;
    let min_retention = match &args.command {
        AuditCommand::Verify {
            min_retention_years,
            ..
        } => RetentionPolicy::years(*min_retention_years)?,
        _ => RetentionPolicy::default(),
    };
    let options = OpenOptions {
        retention: min_retention,
        endpoint_url: args.endpoint_url.clone(),
        ..OpenOptions::default()
    };
    let archive = archive::open(&location, &options).await?;
    let archive = archive.as_ref();
    match args.command {
        AuditCommand::Annotate(a) => {
            let dir = match &location {
                ArchiveLocation::Local(d) => Some(d.clone()),
                ArchiveLocation::S3 { .. } => None,
            };
            let now = archive_now(archive).await?;
            crate::annotate::audit_annotate(archive, dir, a, now).await
        }
        AuditCommand::Checkpoint => {
            let now = archive_now(archive).await?;
            let text = match archive::manifest::checkpoint(archive, now).await? {
                Some(r) => format!("manifest written: {} ({})\n", r.key, r.digest),
                None => "nothing new since the latest manifest: none written\n".to_owned(),
            };
            Ok((text, ExitCode::SUCCESS))
        }
        AuditCommand::ReplayFallback { fallback } => {
            let at = match fallback {
                Some(f) => ArchiveLocation::parse(&f)?,
                None => archive::fallback::default_for(&location),
            };
            let store = archive::fallback::open(&at, args.endpoint_url.as_deref()).await?;
            let replayed = archive::fallback::replay(store.as_ref(), archive).await?;
            let mut text = format!(
                "{} record(s) in the fallback {}\n",
                replayed.len(),
                store.location()
            );
            let mut failed = false;
            for r in &replayed {
                match &r.result {
                    Ok(receipt) => {
                        let _ = writeln!(
                            text,
                            "  {}  {} {}",
                            r.name,
                            if receipt.already_present {
                                "already in the archive at"
                            } else {
                                "written to"
                            },
                            receipt.key
                        );
                    }
                    Err(e) => {
                        failed = true;
                        let _ = writeln!(text, "  {}  NOT replayed: {e}", r.name);
                    }
                }
            }
            let report = verify(
                archive,
                &VerifyOptions {
                    min_retention,
                    ticket_id: None,
                },
            )
            .await?;
            text.push_str(&report.to_text());
            let code = if failed || !report.passed() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
            Ok((text, code))
        }
        AuditCommand::List {
            ticket,
            outcome,
            from,
            to,
        } => {
            let filter = RecordFilter {
                ticket_id: ticket,
                outcome,
                period: Period::new(from, to).map_err(anyhow::Error::msg)?,
            };
            let (records, unusable) = load_records(archive, &filter).await?;
            Ok((list_table(&records, &unusable), ExitCode::SUCCESS))
        }
        AuditCommand::Show { ticket, json } => {
            let filter = RecordFilter {
                ticket_id: Some(ticket.clone()),
                ..RecordFilter::default()
            };
            let (records, unusable) = load_records(archive, &filter).await?;
            if records.is_empty() && unusable.is_empty() {
                eprintln!("no records for ticket {ticket} in {}", archive.location());
                return Ok((String::new(), ExitCode::from(1)));
            }
            let text = if json {
                let values: Vec<&Value> = records.iter().map(|r| r.record.value()).collect();
                let mut s = serde_json::to_string_pretty(&values)?;
                s.push('\n');
                s
            } else {
                // A ticket that ends DEFERRED: which follow-up tickets resumed it (any
                // record naming it in `resumes`), read from the whole archive.
                let follow_ups = match records.last() {
                    Some(last) if last.record.view().outcome == Outcome::Deferred => {
                        let (all, _) = load_records(archive, &RecordFilter::default()).await?;
                        follow_ups_of(&all, &ticket)
                    }
                    _ => Vec::new(),
                };
                let mut text = show_text(&records, &unusable, &follow_ups);
                text.push_str(&later_documents_text(archive, &ticket).await?);
                text
            };
            Ok((text, ExitCode::SUCCESS))
        }
        AuditCommand::Verify { ticket, .. } => {
            let report = verify(
                archive,
                &VerifyOptions {
                    min_retention,
                    ticket_id: ticket,
                },
            )
            .await?;
            let code = if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            };
            Ok((report.to_text(), code))
        }
        AuditCommand::Letter(a) => crate::letter::audit_letter(archive, a).await,
        AuditCommand::Certificate(a) => {
            crate::certificate::audit_certificate(archive, a, clock::SystemClock.now()).await
        }
        AuditCommand::Report { from, to, html } => {
            let period = Period::new(from, to).map_err(anyhow::Error::msg)?;
            let (records, unusable) = load_records(archive, &RecordFilter::default()).await?;
            let today = clock::SystemClock.now().date_naive();
            let mut report = build_report(&archive.location(), &records, unusable, period, today);
            report.verifications = Some(load_verifications(archive, &report.period).await?);
            let mut text = report.to_text();
            if let Some(path) = html {
                std::fs::write(&path, report.to_html())
                    .with_context(|| format!("cannot write {}", path.display()))?;
                let _ = writeln!(text, "\nHTML report written to {}", path.display());
            }
            Ok((text, ExitCode::SUCCESS))
        }
    }
}

fn short_digest(d: &str) -> &str {
    // `sha256:` and 12 hex digits identify a record at a glance.
    d.get(..19).unwrap_or(d)
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
}

/// `COMPLIANCE`, or what is wrong in capitals: a record that is not locked in
/// compliance mode proves nothing, and the list says so on its line.
fn lock_cell(lock: &archive::StoredLock) -> String {
    match (lock.mode.as_deref(), lock.retain_until) {
        (Some("COMPLIANCE"), Some(_)) => "COMPLIANCE".into(),
        (Some(mode), _) => format!("{mode} (NOT COMPLIANCE)"),
        (None, _) => "NOT LOCKED".into(),
    }
}

fn list_table(records: &[LoadedRecord], unusable: &[Unusable]) -> String {
    let header = [
        "TICKET",
        "SEQ",
        "WRITTEN AT (UTC)",
        "OUTCOME",
        "WITHIN DEADLINE",
        "DIGEST",
        "RESUMES",
        "LOCK",
    ];
    let rows: Vec<[String; 8]> = records
        .iter()
        .map(|r| {
            let v = r.record.view();
            [
                v.ticket_id.clone(),
                v.sequence.to_string(),
                v.written_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                v.outcome.to_string(),
                yes_no(v.clock.within_deadline).to_owned(),
                short_digest(r.record.digest()).to_owned(),
                v.resumes.clone().unwrap_or_else(|| "-".into()),
                lock_cell(&r.lock),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(&mut out, &header);
    for row in &rows {
        line(&mut out, &row.each_ref().map(String::as_str));
    }
    let _ = writeln!(out, "{} records", rows.len());
    if !unusable.is_empty() {
        let _ = writeln!(
            out,
            "\n{} objects are not readable as records (run `gdpr-erasure audit verify`):",
            unusable.len()
        );
        for u in unusable {
            let _ = writeln!(out, "  {}: {}", u.key, u.reason);
        }
    }
    out
}

fn field<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    v.pointer(pointer).unwrap_or(&Value::Null)
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The tickets whose records resume `ticket`, each with its latest outcome:
/// `DSAR-2 (COMPLETED)`.
fn follow_ups_of(all: &[LoadedRecord], ticket: &str) -> Vec<String> {
    let mut latest: std::collections::BTreeMap<&str, &LoadedRecord> =
        std::collections::BTreeMap::new();
    for r in all {
        let v = r.record.view();
        if v.resumes.as_deref() != Some(ticket) {
            continue;
        }
        let slot = latest.entry(v.ticket_id.as_str()).or_insert(r);
        if v.sequence > slot.record.view().sequence {
            *slot = r;
        }
    }
    latest
        .into_iter()
        .map(|(id, r)| format!("{id} ({})", r.record.view().outcome))
        .collect()
}

fn show_text(records: &[LoadedRecord], unusable: &[Unusable], follow_ups: &[String]) -> String {
    let mut o = String::new();
    let total = records.len();
    for (i, r) in records.iter().enumerate() {
        let v = r.record.view();
        let value = r.record.value();
        let _ = writeln!(
            o,
            "{}  record {} of {}: {}",
            v.ticket_id,
            i + 1,
            total,
            v.outcome
        );
        let row = |o: &mut String, label: &str, text: String| {
            let _ = writeln!(o, "  {label:<18}{text}");
        };
        row(&mut o, "key", r.key.clone());
        row(&mut o, "sequence", v.sequence.to_string());
        row(&mut o, "digest", r.record.digest().to_owned());
        row(
            &mut o,
            "previous digest",
            v.previous_digest
                .clone()
                .unwrap_or_else(|| "none (first record)".into()),
        );
        row(
            &mut o,
            "written at",
            v.written_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        );
        row(&mut o, "execution", text_of(field(value, "/executionId")));
        if let Some(resumed) = &v.resumes {
            row(
                &mut o,
                "resumes",
                format!("the deferred ticket {resumed} (a follow-up ticket)"),
            );
        }
        let stored_lock = match (&r.lock.mode, r.lock.retain_until) {
            (Some(m), Some(u)) => {
                format!(
                    "{m} until {}",
                    u.to_rfc3339_opts(SecondsFormat::Millis, true)
                )
            }
            (Some(m), None) => format!("{m}, no date"),
            _ => "no lock".into(),
        };
        row(
            &mut o,
            "retention",
            format!(
                "asked {} until {}; store reports {stored_lock}",
                v.retention.mode,
                v.retention
                    .retain_until
                    .to_rfc3339_opts(SecondsFormat::Millis, true)
            ),
        );
        let c = &v.clock;
        row(
            &mut o,
            "clock",
            format!(
                "starts {} ({}), due {}, effective due {}",
                c.clock_starts_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                text_of(field(value, "/clock/clockBasis")),
                c.due_date,
                c.effective_due_date
            ),
        );
        let done = match c.completed_at {
            Some(t) => format!(
                "{} after {}, within deadline: {}{}",
                t.to_rfc3339_opts(SecondsFormat::Secs, true),
                human_duration(t - c.clock_starts_at),
                yes_no(c.within_deadline),
                c.days_late
                    .filter(|d| *d > 0)
                    .map(|d| format!(" ({d} days late)"))
                    .unwrap_or_default()
            ),
            None => "not completed".into(),
        };
        row(&mut o, "completed", done);
        if c.late_at_intake {
            row(
                &mut o,
                "late at intake",
                "yes: the deadline had passed on arrival".into(),
            );
        }
        let requests: Vec<String> = field(value, "/genesys/requests")
            .as_array()
            .map(|reqs| {
                reqs.iter()
                    .map(|q| {
                        format!(
                            "{} {} {}",
                            text_of(field(q, "/requestType")),
                            text_of(field(q, "/requestId")),
                            text_of(field(q, "/finalStatus"))
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        row(
            &mut o,
            "genesys requests",
            if requests.is_empty() {
                "none".into()
            } else {
                requests.join("; ")
            },
        );
        let n = |p: &str| text_of(field(value, &format!("/counts/{p}")));
        row(
            &mut o,
            "conversations",
            format!(
                "found {}, in scope {}, erased {}, withheld {}, excluded {}",
                n("conversationsFound"),
                n("conversationsInScope"),
                n("conversationsErased"),
                n("conversationsWithheld"),
                n("conversationsExcluded")
            ),
        );
        row(
            &mut o,
            "recordings",
            format!(
                "found {}, purged {}, withheld {}",
                n("recordingsFound"),
                n("recordingsPurged"),
                n("recordingsWithheld")
            ),
        );
        let downstream: Vec<String> = field(value, "/downstream")
            .as_array()
            .map(|ds| {
                ds.iter()
                    .map(|d| {
                        format!(
                            "{} {}",
                            text_of(field(d, "/system")),
                            text_of(field(d, "/status"))
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        row(
            &mut o,
            "downstream",
            if downstream.is_empty() {
                "none".into()
            } else {
                downstream.join("; ")
            },
        );
        let list_of = |pointer: &str, fields: &[&str]| -> Vec<String> {
            field(value, pointer)
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|it| {
                            fields
                                .iter()
                                .map(|f| text_of(field(it, &format!("/{f}"))))
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        for (label, pointer, fields) in [
            ("gaps", "/gaps", &["kind", "subjectOfGap", "reason"][..]),
            (
                "escalations",
                "/escalations",
                &["reason", "at", "detail"][..],
            ),
            (
                "withheld",
                "/withheld",
                &["conversationId", "reason", "holdId", "holdExpiry"][..],
            ),
            ("excluded", "/excluded", &["conversationId", "reason"][..]),
        ] {
            let items = list_of(pointer, fields);
            if !items.is_empty() {
                row(&mut o, label, items.join("; "));
            }
        }
        if let Some(d) = &v.deferral {
            let holds: Vec<String> = d
                .holds
                .iter()
                .map(|h| match h.expiry {
                    Some(e) => format!("{} until {e}", h.hold_id),
                    None => format!("{} (open-ended)", h.hold_id),
                })
                .collect();
            row(
                &mut o,
                "deferral",
                format!(
                    "holds {}; resumes {}",
                    holds.join(", "),
                    d.resume_on.map_or_else(
                        || "when the holds end (open-ended)".into(),
                        |r| r.to_string()
                    )
                ),
            );
            if i + 1 == total {
                row(
                    &mut o,
                    "resumed by",
                    if follow_ups.is_empty() {
                        "no follow-up ticket yet: the deferral is open".into()
                    } else {
                        follow_ups.join(", ")
                    },
                );
            }
        }
        let rejection = list_of("/rejection/reasons", &["field", "code", "message"]);
        if !rejection.is_empty() {
            row(&mut o, "rejected because", rejection.join("; "));
        }
        if !field(value, "/failure").is_null() {
            row(
                &mut o,
                "failure",
                format!(
                    "{} at {}: {}",
                    text_of(field(value, "/failure/error")),
                    text_of(field(value, "/failure/stage")),
                    text_of(field(value, "/failure/detail"))
                ),
            );
        }
        let _ = writeln!(o);
    }
    if !unusable.is_empty() {
        let _ = writeln!(
            o,
            "{} objects of this ticket are not readable as records (run `gdpr-erasure audit verify`):",
            unusable.len()
        );
        for u in unusable {
            let _ = writeln!(o, "  {}: {}", u.key, u.reason);
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_marks_a_record_that_is_not_locked_in_compliance_mode() {
        let lock = |mode: Option<&str>| archive::StoredLock {
            mode: mode.map(str::to_owned),
            retain_until: Some(chrono::Utc::now()),
        };
        assert_eq!(lock_cell(&lock(Some("COMPLIANCE"))), "COMPLIANCE");
        assert_eq!(lock_cell(&lock(None)), "NOT LOCKED");
        assert_eq!(
            lock_cell(&lock(Some("GOVERNANCE"))),
            "GOVERNANCE (NOT COMPLIANCE)"
        );
    }
}
