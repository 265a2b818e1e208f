//! Reading records for people: loading with filters (`audit list` and `show`) and the
//! period report (`audit report`) as text and as a self-contained HTML page.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, TimeDelta, Utc};

use crate::error::ArchiveError;
use crate::key::parse_record_file_name;
use crate::record::{HoldView, Outcome, Record};
use crate::{Archive, StoredLock, VerificationResult};
use serde_json::Value;

/// An inclusive range of UTC dates; either end open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl Period {
    /// Refuses a period that ends before it starts.
    pub fn new(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<Self, String> {
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            return Err(format!("the period ends ({t}) before it starts ({f})"));
        }
        Ok(Self { from, to })
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        let d = t.date_naive();
        self.from.is_none_or(|f| d >= f) && self.to.is_none_or(|to| d <= to)
    }

    /// The last instant of the period, if it has an end.
    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.to.map(|d| match d.succ_opt() {
            Some(next) => next.and_time(NaiveTime::MIN).and_utc() - TimeDelta::nanoseconds(1),
            None => DateTime::<Utc>::MAX_UTC,
        })
    }

    pub fn describe(&self) -> String {
        match (self.from, self.to) {
            (None, None) => "all records".into(),
            (Some(f), None) => format!("from {f}"),
            (None, Some(t)) => format!("up to {t}"),
            (Some(f), Some(t)) => format!("{f} to {t}"),
        }
    }
}

/// Parses a `YYYY-MM-DD` date for `--from`/`--to`.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| format!("'{s}' is not a date: expected YYYY-MM-DD ({e})"))
}

/// Which records to load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    pub ticket_id: Option<String>,
    pub outcome: Option<Outcome>,
    pub period: Period,
}

/// A valid record with where it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedRecord {
    pub key: String,
    pub record: Record,
    /// The lock as the store reports it.
    pub lock: StoredLock,
}

/// An object that could not be taken as a record, and why. Loading never hides
/// these: callers show them and point at `audit verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    pub key: String,
    pub reason: String,
}

/// Loads the records matching `filter`, sorted by ticket then sequence. Key-level
/// filters (ticket, outcome, date) are applied before anything is read.
pub async fn load_records<A: Archive + ?Sized>(
    archive: &A,
    filter: &RecordFilter,
) -> Result<(Vec<LoadedRecord>, Vec<Unusable>), ArchiveError> {
    let mut records = Vec::new();
    let mut unusable = Vec::new();
    for entry in archive.list(filter.ticket_id.as_deref()).await? {
        let Some(name) = parse_record_file_name(&entry.file_name) else {
            unusable.push(Unusable {
                key: entry.key,
                reason: "not a record file name".into(),
            });
            continue;
        };
        if filter.outcome.is_some_and(|o| o != name.outcome)
            || !filter.period.contains(name.written_at)
        {
            continue;
        }
        let stored = match archive.read(&entry).await {
            Ok(s) => s,
            Err(
                e @ (ArchiveError::RecordNotFound { .. } | ArchiveError::ArchiveCorrupt { .. }),
            ) => {
                unusable.push(Unusable {
                    key: entry.key,
                    reason: e.to_string(),
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        match Record::from_json(&stored.bytes) {
            Ok(record) => records.push(LoadedRecord {
                key: entry.key,
                record,
                lock: stored.lock,
            }),
            Err(e) => unusable.push(Unusable {
                key: entry.key,
                reason: e.to_string(),
            }),
        }
    }
    records.sort_by(|a, b| {
        let (va, vb) = (a.record.view(), b.record.view());
        va.ticket_id
            .cmp(&vb.ticket_id)
            .then(va.sequence.cmp(&vb.sequence))
            .then(a.key.cmp(&b.key))
    });
    Ok((records, unusable))
}

/// Deadline figures over the outcomes that have a completion time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadlineFigures {
    /// Outcomes whose `clock.withinDeadline` is known (all but REJECTED).
    pub judged: usize,
    pub within: usize,
    pub late: usize,
    /// Tickets whose deadline had already passed when they arrived.
    pub late_at_intake: usize,
    pub worst_days_late: u64,
}

impl DeadlineFigures {
    /// Share within the deadline, in percent; `None` when nothing was judged.
    pub fn share_within(&self) -> Option<f64> {
        (self.judged > 0).then(|| self.within as f64 * 100.0 / self.judged as f64)
    }
}

/// Time from the clock start to the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationFigures {
    pub count: usize,
    pub median: TimeDelta,
    pub worst: TimeDelta,
    pub worst_key: String,
}

/// A DEFERRED record with no later record of its ticket, and no follow-up ticket
/// resuming it (no record whose `resumes` names the ticket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenDeferral {
    pub ticket_id: String,
    pub key: String,
    pub written_at: DateTime<Utc>,
    pub holds: Vec<HoldView>,
    pub resume_on: Option<NaiveDate>,
    /// The resume date has passed by the report's date and nothing followed.
    pub resume_overdue: bool,
}

/// A ticket whose latest record is DEFERRED, resolved by the follow-up ticket(s) whose
/// records name it in `resumes`: where an auditor follows the deferral to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumedDeferral {
    pub ticket_id: String,
    /// The DEFERRED record.
    pub key: String,
    pub written_at: DateTime<Utc>,
    /// Every follow-up ticket, by id, with its latest record.
    pub follow_ups: Vec<FollowUp>,
}

/// A follow-up ticket and where it stands: its latest record (by the report's date).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub ticket_id: String,
    pub outcome: Outcome,
    pub key: String,
}

/// The period report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub location: String,
    pub period: Period,
    /// The date open deferrals are judged at: the period's end, or today.
    pub as_of: NaiveDate,
    pub records: usize,
    pub tickets: usize,
    /// Every outcome, in a fixed order, with its count (zeros included).
    pub per_outcome: Vec<(Outcome, usize)>,
    /// COMPLETED and PARTIAL records: erasures carried out.
    pub erasures: usize,
    pub deadline: DeadlineFigures,
    pub duration: Option<DurationFigures>,
    pub open_deferrals: Vec<OpenDeferral>,
    /// Deferrals a follow-up ticket resumed (by the report's date): no longer open.
    pub resumed_deferrals: Vec<ResumedDeferral>,
    pub not_counted: Vec<Unusable>,
    /// The checks after the records ([`load_verifications`]); `None` when not loaded.
    pub verifications: Option<VerificationFigures>,
}

/// The erasures checked again after their records, in the period (by writtenAt).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerificationFigures {
    pub clean: usize,
    pub pending: usize,
    pub residue: usize,
    /// Tickets whose latest check (at any time) found a residue: the data is still
    /// in Genesys after the redaction window, and a person must act.
    pub open_residues: Vec<OpenResidue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenResidue {
    pub ticket_id: String,
    pub conversations: usize,
    pub recordings: usize,
    pub key: String,
}

/// Reads every verification record and counts those written in `period`. An object
/// that is not a valid verification is left out (`audit verify` names it).
pub async fn load_verifications<A: Archive + ?Sized>(
    archive: &A,
    period: &Period,
) -> Result<VerificationFigures, ArchiveError> {
    let mut figures = VerificationFigures::default();
    let mut latest: BTreeMap<String, (u64, OpenResidue, bool)> = BTreeMap::new();
    for entry in archive.list_verifications(None).await? {
        if crate::key::parse_verification_file_name(&entry.file_name).is_none() {
            continue;
        }
        let Ok(v) = crate::Verification::from_json(&archive.read(&entry).await?.bytes) else {
            continue;
        };
        let view = v.view();
        if period.contains(view.written_at) {
            match view.result {
                VerificationResult::Clean => figures.clean += 1,
                VerificationResult::Pending => figures.pending += 1,
                VerificationResult::Residue => figures.residue += 1,
            }
        }
        let count = |path: &str| {
            v.value()
                .pointer(path)
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        };
        let residue = OpenResidue {
            ticket_id: view.ticket_id.clone(),
            conversations: count("/conversations/residue"),
            recordings: count("/recordings/residue"),
            key: entry.key.clone(),
        };
        let is_residue = view.result == VerificationResult::Residue;
        if latest
            .get(&view.ticket_id)
            .is_none_or(|(seq, _, _)| view.sequence > *seq)
        {
            latest.insert(view.ticket_id.clone(), (view.sequence, residue, is_residue));
        }
    }
    // A residue a person closed with an annotation is no longer open.
    let closed: BTreeSet<String> = crate::annotation::read_annotations(archive, None)
        .await?
        .iter()
        .filter(|(_, a)| a.view().closes.iter().any(|c| c == "erasure-residue"))
        .map(|(_, a)| a.view().annotates.key.clone())
        .collect();
    figures.open_residues = latest
        .into_values()
        .filter(|(_, r, is_residue)| {
            *is_residue
                && !closed.contains(
                    r.key
                        .find("verifications/")
                        .map_or(r.key.as_str(), |i| &r.key[i..]),
                )
        })
        .map(|(_, r, _)| r)
        .collect();
    Ok(figures)
}

/// Builds the report from every loaded record (not only the period's: a deferral
/// opened before the period may still be open at its end).
pub fn build_report(
    location: &str,
    all: &[LoadedRecord],
    not_counted: Vec<Unusable>,
    period: Period,
    today: NaiveDate,
) -> Report {
    let in_period: Vec<&LoadedRecord> = all
        .iter()
        .filter(|r| period.contains(r.record.view().written_at))
        .collect();
    let mut per_outcome: BTreeMap<Outcome, usize> = Outcome::ALL.iter().map(|o| (*o, 0)).collect();
    let mut tickets = BTreeSet::new();
    let mut deadline = DeadlineFigures::default();
    let mut durations: Vec<(TimeDelta, &str)> = Vec::new();
    for r in &in_period {
        let v = r.record.view();
        *per_outcome.entry(v.outcome).or_default() += 1;
        tickets.insert(v.ticket_id.as_str());
        if v.clock.late_at_intake {
            deadline.late_at_intake += 1;
        }
        match v.clock.within_deadline {
            Some(true) => {
                deadline.judged += 1;
                deadline.within += 1;
            }
            Some(false) => {
                deadline.judged += 1;
                deadline.late += 1;
                deadline.worst_days_late =
                    deadline.worst_days_late.max(v.clock.days_late.unwrap_or(0));
            }
            None => {}
        }
        if let Some(done) = v.clock.completed_at {
            durations.push((done - v.clock.clock_starts_at, r.key.as_str()));
        }
    }
    durations.sort();
    let duration = durations.last().map(|(worst, key)| {
        let n = durations.len();
        let median = if n % 2 == 1 {
            durations[n / 2].0
        } else {
            (durations[n / 2 - 1].0 + durations[n / 2].0) / 2
        };
        DurationFigures {
            count: n,
            median,
            worst: *worst,
            worst_key: (*key).to_owned(),
        }
    });

    // Deferrals: judged at the period's end, ignoring records written after it.
    let as_of = period.to.map_or(today, |t| t.min(today));
    let cutoff = period.end();
    let mut latest: BTreeMap<&str, &LoadedRecord> = BTreeMap::new();
    for r in all {
        let v = r.record.view();
        if cutoff.is_some_and(|c| v.written_at > c) {
            continue;
        }
        let slot = latest.entry(v.ticket_id.as_str()).or_insert(r);
        if v.sequence > slot.record.view().sequence {
            *slot = r;
        }
    }
    // A deferral is resolved by any record, written by then, whose `resumes` names it.
    let mut resumed_by: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in all {
        let v = r.record.view();
        if cutoff.is_some_and(|c| v.written_at > c) {
            continue;
        }
        if let Some(deferred) = v.resumes.as_deref() {
            resumed_by
                .entry(deferred)
                .or_default()
                .insert(v.ticket_id.as_str());
        }
    }
    let deferred: Vec<&&LoadedRecord> = latest
        .values()
        .filter(|r| r.record.view().outcome == Outcome::Deferred)
        .collect();
    let resumed_deferrals = deferred
        .iter()
        .filter_map(|r| {
            let v = r.record.view();
            let follow_ups = resumed_by.get(v.ticket_id.as_str())?;
            Some(ResumedDeferral {
                ticket_id: v.ticket_id.clone(),
                key: r.key.clone(),
                written_at: v.written_at,
                follow_ups: follow_ups
                    .iter()
                    .filter_map(|id| latest.get(id))
                    .map(|f| FollowUp {
                        ticket_id: f.record.view().ticket_id.clone(),
                        outcome: f.record.view().outcome,
                        key: f.key.clone(),
                    })
                    .collect(),
            })
        })
        .collect();
    let open_deferrals = deferred
        .iter()
        .filter(|r| !resumed_by.contains_key(r.record.view().ticket_id.as_str()))
        .map(|r| {
            let v = r.record.view();
            let (holds, resume_on) = v
                .deferral
                .as_ref()
                .map(|d| (d.holds.clone(), d.resume_on))
                .unwrap_or_default();
            OpenDeferral {
                ticket_id: v.ticket_id.clone(),
                key: r.key.clone(),
                written_at: v.written_at,
                holds,
                resume_on,
                resume_overdue: resume_on.is_some_and(|d| d < as_of),
            }
        })
        .collect();

    let per_outcome: Vec<(Outcome, usize)> = per_outcome.into_iter().collect();
    let erasures = per_outcome
        .iter()
        .filter(|(o, _)| matches!(o, Outcome::Completed | Outcome::Partial))
        .map(|(_, n)| n)
        .sum();
    Report {
        location: location.to_owned(),
        period,
        as_of,
        records: in_period.len(),
        tickets: tickets.len(),
        per_outcome,
        erasures,
        deadline,
        duration,
        open_deferrals,
        resumed_deferrals,
        not_counted,
        verifications: None,
    }
}

/// `3d 04h 12m`, `41m 05s`: what a person reads at a glance.
pub fn human_duration(d: TimeDelta) -> String {
    let negative = d < TimeDelta::zero();
    let secs = d.num_seconds().unsigned_abs();
    let (days, hours, mins, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let body = if days > 0 {
        format!("{days}d {hours:02}h {mins:02}m")
    } else if hours > 0 {
        format!("{hours}h {mins:02}m")
    } else {
        format!("{mins}m {s:02}s")
    };
    if negative { format!("-{body}") } else { body }
}

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "n/a".to_owned(), |p| format!("{p:.1}%"))
}

fn holds_text(holds: &[HoldView]) -> String {
    if holds.is_empty() {
        return "-".into();
    }
    holds
        .iter()
        .map(|h| match h.expiry {
            Some(e) => format!("{} until {e}", h.hold_id),
            None => format!("{} (open-ended)", h.hold_id),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `DSAR-2 (COMPLETED), DSAR-3 (DEFERRED)`.
fn follow_ups_text(follow_ups: &[FollowUp]) -> String {
    follow_ups
        .iter()
        .map(|f| format!("{} ({})", f.ticket_id, f.outcome))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Report {
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "Erasure report for {}", self.location);
        let _ = writeln!(o, "Period: {} (UTC, by writtenAt)", self.period.describe());
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "Outcomes recorded:        {} ({} tickets)",
            self.records, self.tickets
        );
        let _ = writeln!(
            o,
            "Erasures carried out:     {} (COMPLETED + PARTIAL)",
            self.erasures
        );
        for (outcome, n) in &self.per_outcome {
            let _ = writeln!(o, "  {:<10} {n:>6}", outcome.as_str());
        }
        let d = &self.deadline;
        let _ = writeln!(
            o,
            "Within deadline:          {} of {} outcomes with a completion time ({})",
            d.within,
            d.judged,
            percent(d.share_within())
        );
        if d.late > 0 {
            let _ = writeln!(
                o,
                "  late: {}, worst {} days late",
                d.late, d.worst_days_late
            );
        }
        if d.late_at_intake > 0 {
            let _ = writeln!(o, "  already late when received: {}", d.late_at_intake);
        }
        match &self.duration {
            Some(t) => {
                let _ = writeln!(
                    o,
                    "Clock start to outcome:   median {}, worst {} ({}; {} outcomes)",
                    human_duration(t.median),
                    human_duration(t.worst),
                    t.worst_key,
                    t.count
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "Clock start to outcome:   n/a (no outcome with a completion time)"
                );
            }
        }
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "Open deferrals as of {}: {}",
            self.as_of,
            self.open_deferrals.len()
        );
        for od in &self.open_deferrals {
            let _ = writeln!(
                o,
                "  {}  holds: {}  resumes: {}{}  ({})",
                od.ticket_id,
                holds_text(&od.holds),
                od.resume_on
                    .map_or_else(|| "open-ended".to_owned(), |d| d.to_string()),
                if od.resume_overdue {
                    "  RESUME OVERDUE"
                } else {
                    ""
                },
                od.key
            );
        }
        if !self.resumed_deferrals.is_empty() {
            let _ = writeln!(
                o,
                "Deferrals resumed by a follow-up ticket as of {}: {}",
                self.as_of,
                self.resumed_deferrals.len()
            );
            for rd in &self.resumed_deferrals {
                let _ = writeln!(
                    o,
                    "  {}  resumed by {}  ({})",
                    rd.ticket_id,
                    follow_ups_text(&rd.follow_ups),
                    rd.key
                );
            }
        }
        if let Some(v) = &self.verifications {
            let _ = writeln!(
                o,
                "Checks after the record:  {} (CLEAN {}, PENDING {}, RESIDUE {})",
                v.clean + v.pending + v.residue,
                v.clean,
                v.pending,
                v.residue
            );
            let _ = writeln!(
                o,
                "Open residues (latest check RESIDUE): {}",
                v.open_residues.len()
            );
            for r in &v.open_residues {
                let _ = writeln!(
                    o,
                    "  {}  {} conversation(s), {} recording(s) still carry the subject  ({})",
                    r.ticket_id, r.conversations, r.recordings, r.key
                );
            }
        }
        if !self.not_counted.is_empty() {
            let _ = writeln!(o);
            let _ = writeln!(
                o,
                "Not counted ({} objects; run `gdpr-erasure audit verify`):",
                self.not_counted.len()
            );
            for u in &self.not_counted {
                let _ = writeln!(o, "  {}: {}", u.key, u.reason);
            }
        }
        o
    }

    /// A self-contained page: inline CSS and SVG, no scripts, no external assets.
    pub fn to_html(&self) -> String {
        let e = html_escape;
        let mut o = String::new();
        let _ = write!(
            o,
            r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Erasure report: {period}</title>
<style>
body{{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1b1f24;background:#fff}}
h1{{font-size:1.6rem;margin-bottom:.2rem}} h2{{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}}
.meta{{color:#57606a;margin-top:0}}
.figures{{display:grid;grid-template-columns:repeat(auto-fit,minmax(12.5rem,1fr));gap:.8rem;margin:1.2rem 0}}
.figure{{border:1px solid #d0d7de;border-radius:6px;padding:.7rem .9rem}}
.figure .n{{font-size:1.5rem;font-weight:600;white-space:nowrap}} .figure .l{{color:#57606a;font-size:.9rem}}
table{{border-collapse:collapse;width:100%;font-size:.95rem}} th,td{{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #d0d7de}}
th{{background:#f6f8fa}} td.num,th.num{{text-align:right;font-variant-numeric:tabular-nums}}
.overdue{{color:#cf222e;font-weight:600}} code{{font-size:.85rem}}
.warn{{border:1px solid #cf222e;border-radius:6px;padding:.6rem .9rem;background:#fff5f5}}
</style>
</head>
<body>
<h1>Erasure report</h1>
<p class="meta">Archive <code>{location}</code> &middot; period: {period} (UTC, by record writtenAt) &middot; open deferrals as of {as_of}</p>
"#,
            period = e(&self.period.describe()),
            location = e(&self.location),
            as_of = self.as_of,
        );
        let d = &self.deadline;
        let (median, worst) = self.duration.as_ref().map_or_else(
            || ("n/a".to_owned(), "n/a".to_owned()),
            |t| (human_duration(t.median), human_duration(t.worst)),
        );
        let _ = write!(
            o,
            r#"<div class="figures">
<div class="figure" id="fig-records"><div class="n">{records}</div><div class="l">outcomes recorded ({tickets} tickets)</div></div>
<div class="figure" id="fig-erasures"><div class="n">{erasures}</div><div class="l">erasures carried out (COMPLETED + PARTIAL)</div></div>
<div class="figure" id="fig-within"><div class="n">{share}</div><div class="l">within deadline ({within} of {judged})</div></div>
<div class="figure" id="fig-median"><div class="n">{median}</div><div class="l">median, clock start to outcome</div></div>
<div class="figure" id="fig-worst"><div class="n">{worst}</div><div class="l">worst, clock start to outcome</div></div>
<div class="figure" id="fig-deferrals"><div class="n">{open}</div><div class="l">open deferrals</div></div>
</div>
"#,
            records = self.records,
            tickets = self.tickets,
            erasures = self.erasures,
            share = percent(d.share_within()),
            within = d.within,
            judged = d.judged,
            open = self.open_deferrals.len(),
        );

        let _ = writeln!(o, "<h2>Outcomes</h2>");
        o.push_str(&self.outcome_chart_svg());
        let _ = writeln!(
            o,
            "<table><tr><th>Outcome</th><th class=\"num\">Records</th></tr>"
        );
        for (outcome, n) in &self.per_outcome {
            let _ = writeln!(o, "<tr><td>{outcome}</td><td class=\"num\">{n}</td></tr>");
        }
        let _ = writeln!(o, "</table>");

        let _ = writeln!(o, "<h2>Deadline (Art. 12(3))</h2>");
        o.push_str(&self.deadline_chart_svg());
        let _ = writeln!(o, "<table>");
        let _ = writeln!(
            o,
            "<tr><td>Within deadline</td><td class=\"num\">{}</td></tr>",
            d.within
        );
        let _ = writeln!(o, "<tr><td>Late</td><td class=\"num\">{}</td></tr>", d.late);
        let _ = writeln!(
            o,
            "<tr><td>Worst days late</td><td class=\"num\">{}</td></tr>",
            d.worst_days_late
        );
        let _ = writeln!(
            o,
            "<tr><td>Already late when received</td><td class=\"num\">{}</td></tr>",
            d.late_at_intake
        );
        if let Some(t) = &self.duration {
            let _ = writeln!(
                o,
                "<tr><td>Slowest outcome</td><td><code>{}</code></td></tr>",
                e(&t.worst_key)
            );
        }
        let _ = writeln!(o, "</table>");

        let _ = writeln!(o, "<h2>Open deferrals</h2>");
        if self.open_deferrals.is_empty() {
            let _ = writeln!(o, "<p>None.</p>");
        } else {
            let _ = writeln!(
                o,
                "<table><tr><th>Ticket</th><th>Holds (expiry)</th><th>Resumes</th><th>Deferred at</th></tr>"
            );
            for od in &self.open_deferrals {
                let resume = od
                    .resume_on
                    .map_or_else(|| "open-ended".to_owned(), |d| d.to_string());
                let resume = if od.resume_overdue {
                    format!("<span class=\"overdue\">{resume} (overdue)</span>")
                } else {
                    resume
                };
                let _ = writeln!(
                    o,
                    "<tr><td>{}</td><td>{}</td><td>{resume}</td><td>{}</td></tr>",
                    e(&od.ticket_id),
                    e(&holds_text(&od.holds)),
                    od.written_at.to_rfc3339_opts(SecondsFormat::Secs, true)
                );
            }
            let _ = writeln!(o, "</table>");
        }
        if !self.resumed_deferrals.is_empty() {
            let _ = writeln!(
                o,
                "<h2>Deferrals resumed by a follow-up ticket</h2>\n<table><tr><th>Deferred ticket</th><th>Resumed by</th><th>Deferred at</th></tr>"
            );
            for rd in &self.resumed_deferrals {
                let _ = writeln!(
                    o,
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    e(&rd.ticket_id),
                    e(&follow_ups_text(&rd.follow_ups)),
                    rd.written_at.to_rfc3339_opts(SecondsFormat::Secs, true)
                );
            }
            let _ = writeln!(o, "</table>");
        }
        if let Some(v) = &self.verifications {
            let _ = writeln!(
                o,
                "<h2>Checks after the record</h2><p>CLEAN {}, PENDING {}, RESIDUE {} in the period; open residues (latest check RESIDUE): {}.</p>",
                v.clean,
                v.pending,
                v.residue,
                v.open_residues.len()
            );
            if !v.open_residues.is_empty() {
                let _ = writeln!(
                    o,
                    "<table><tr><th scope=\"col\">ticket</th><th scope=\"col\">conversations</th><th scope=\"col\">recordings</th><th scope=\"col\">verification</th></tr>"
                );
                for r in &v.open_residues {
                    let _ = writeln!(
                        o,
                        "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                        e(&r.ticket_id),
                        r.conversations,
                        r.recordings,
                        e(&r.key)
                    );
                }
                let _ = writeln!(o, "</table>");
            }
        }
        if !self.not_counted.is_empty() {
            let _ = writeln!(
                o,
                "<h2>Not counted</h2><div class=\"warn\"><p>{} objects could not be read as records; run <code>gdpr-erasure audit verify</code>.</p><ul>",
                self.not_counted.len()
            );
            for u in &self.not_counted {
                let _ = writeln!(o, "<li><code>{}</code>: {}</li>", e(&u.key), e(&u.reason));
            }
            let _ = writeln!(o, "</ul></div>");
        }
        let _ = writeln!(o, "</body>\n</html>");
        o
    }

    /// One bar split into outcomes within the deadline and late ones.
    fn deadline_chart_svg(&self) -> String {
        const W: usize = 560;
        let d = &self.deadline;
        let within_w = (d.within * W).checked_div(d.judged).unwrap_or(0);
        let mut s = String::from(
            r#"<svg xmlns="http://www.w3.org/2000/svg" id="deadline-chart" role="img" aria-label="Outcomes within and after the deadline" width="560" height="56" viewBox="0 0 560 56" font-family="system-ui,sans-serif" font-size="13">
"#,
        );
        if d.judged == 0 {
            s.push_str(r##"<rect x="0" y="0" width="560" height="24" rx="3" fill="#d0d7de"><title>no outcome with a completion time</title></rect>"##);
        } else {
            let _ = write!(
                s,
                r##"<rect x="0" y="0" width="{within_w}" height="24" fill="#2da44e"><title>within deadline: {within}</title></rect><rect x="{within_w}" y="0" width="{late_w}" height="24" fill="#cf222e"><title>late: {late}</title></rect>"##,
                within = d.within,
                late = d.late,
                late_w = W - within_w,
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="0" y="44">within deadline {} ({})</text><text x="560" y="44" text-anchor="end">late {}</text>"#,
            d.within,
            percent(d.share_within()),
            d.late
        );
        s.push_str("</svg>\n");
        s
    }

    /// A horizontal bar per outcome, scaled to the largest count.
    fn outcome_chart_svg(&self) -> String {
        const ROW: usize = 34;
        const LABEL_W: usize = 110;
        const BAR_W: usize = 380;
        let height = ROW * self.per_outcome.len() + 10;
        let max = self
            .per_outcome
            .iter()
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0)
            .max(1);
        let mut s = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" id="outcome-chart" role="img" aria-label="Records per outcome" width="560" height="{height}" viewBox="0 0 560 {height}" font-family="system-ui,sans-serif" font-size="14">
"#
        );
        for (i, (outcome, n)) in self.per_outcome.iter().enumerate() {
            let y = i * ROW + 5;
            let w = if *n == 0 { 0 } else { (n * BAR_W / max).max(2) };
            let colour = match outcome {
                Outcome::Completed => "#2da44e",
                Outcome::Partial => "#bf8700",
                Outcome::Deferred => "#0969da",
                Outcome::Rejected => "#8250df",
                Outcome::Failed => "#cf222e",
            };
            let _ = writeln!(
                s,
                r#"<text x="0" y="{ty}" dominant-baseline="middle">{outcome}</text><rect x="{LABEL_W}" y="{y}" width="{w}" height="24" rx="3" fill="{colour}"><title>{outcome}: {n}</title></rect><text x="{tx}" y="{ty}" dominant-baseline="middle">{n}</text>"#,
                ty = y + 12,
                tx = LABEL_W + w + 8,
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(human_duration(TimeDelta::seconds(41 * 60 + 5)), "41m 05s");
        assert_eq!(human_duration(TimeDelta::seconds(3 * 3600 + 60)), "3h 01m");
        assert_eq!(
            human_duration(TimeDelta::seconds(2 * 86_400 + 3 * 3600 + 12 * 60)),
            "2d 03h 12m"
        );
    }

    #[test]
    fn dates_are_parsed_strictly() {
        assert_eq!(
            parse_date("2026-11-22"),
            Ok(NaiveDate::from_ymd_opt(2026, 11, 22).expect("date"))
        );
        for bad in ["2026-13-01", "22/11/2026", "yesterday", ""] {
            let msg = parse_date(bad).unwrap_err();
            assert!(msg.contains("YYYY-MM-DD"), "{msg}");
        }
        assert!(Period::new(parse_date("2026-12-01").ok(), parse_date("2026-11-01").ok()).is_err());
    }

    #[test]
    fn period_is_inclusive_of_both_days() {
        let p = Period::new(parse_date("2026-11-01").ok(), parse_date("2026-11-30").ok())
            .expect("period");
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("date");
        assert!(p.contains(at("2026-11-01T00:00:00Z")));
        assert!(p.contains(at("2026-11-30T23:59:59.999Z")));
        assert!(!p.contains(at("2026-12-01T00:00:00Z")));
        assert!(!p.contains(at("2026-10-31T23:59:59Z")));
    }

    #[test]
    fn the_last_representable_day_ends_a_period_without_overflow() {
        let p = Period::new(None, Some(NaiveDate::MAX)).expect("period");
        assert_eq!(p.end(), Some(DateTime::<Utc>::MAX_UTC));
    }

    #[test]
    fn html_escapes_text() {
        assert_eq!(
            html_escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
