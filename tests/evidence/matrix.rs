//! The fault matrix: one row per fault on one Genesys call (or on the archive, a
//! step, the webhook, the approval), each run in a world of its own through the
//! definition, the local runner and the emulator's fault injection. Every row checks
//! the same things: one schema-valid record per execution and `audit verify` passes,
//! at most one GDPR_DELETE ever, nobody else's conversations, recordings, users or
//! contacts changed, the fault actually fired, and the outcome names what happened.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use e2e::Harness;
use genesys_emulator::{Fault, FaultAction, RequestType};
use local_runner::handler_fn;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::world::{common_checks, others, personas_of};

/// What the record must say.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// Retries absorbed the fault: the record says what a fault-free run of the same
    /// ticket says (outcome, gaps, counts) and the same conversations are gone.
    Baseline,
    /// A FAILED record naming the stage and the error.
    Failed(&'static str, &'static str),
    /// A PARTIAL record with a gap of this kind.
    Partial(&'static str),
}

/// One row.
pub struct Cell {
    pub name: String,
    pub fixture: &'static str,
    /// Arm the faults when this state is first invoked (`None`: from the start), so
    /// a call several states make is faulted where it matters.
    pub at: Option<&'static str>,
    pub faults: Vec<Fault>,
    pub expect: Expect,
    /// The Genesys client's real-time request limit (for real delays).
    pub request_timeout: Option<Duration>,
}

impl Cell {
    fn new(name: impl Into<String>, fixture: &'static str, at: Option<&'static str>) -> Self {
        Cell {
            name: name.into(),
            fixture,
            at,
            faults: Vec::new(),
            expect: Expect::Baseline,
            request_timeout: None,
        }
    }
    fn fault(mut self, f: Fault) -> Self {
        self.faults.push(f);
        self
    }
    fn expect(mut self, e: Expect) -> Self {
        self.expect = e;
        self
    }
}

/// A Genesys call the workflow makes, where a fault on it is armed, and the ticket
/// that exercises it.
struct Call {
    label: &'static str,
    method: &'static str,
    path: &'static str,
    request_type: Option<&'static str>,
    at: Option<&'static str>,
    fixture: &'static str,
    /// The stage named when the fault outlasts every retry, and how.
    exhausted: Expect,
    /// Whether Genesys may have applied the call before the answer was lost.
    mutating: bool,
}

impl Call {
    /// How many 5xx or dropped answers the retries absorb: a GDPR submission whose
    /// answer is lost is never resent by the client (Genesys may have applied it), so
    /// only the definition's 5 retries (each looking the request up by name first)
    /// are left; other calls also have the client's own 5 attempts per invocation.
    fn absorbable(&self) -> u32 {
        if self.request_type.is_some() { 5 } else { 7 }
    }
}

const CALLS: &[Call] = &[
    Call {
        label: "token",
        method: "POST",
        path: "/oauth/token",
        request_type: None,
        at: None,
        fixture: "happy-path",
        exhausted: Expect::Failed("Locate", "GenesysTransient"),
        mutating: false,
    },
    Call {
        label: "subject search",
        method: "GET",
        path: "/api/v2/gdpr/subjects",
        request_type: None,
        at: None,
        fixture: "happy-path",
        exhausted: Expect::Failed("Locate", "GenesysTransient"),
        mutating: false,
    },
    Call {
        label: "list requests (Locate)",
        method: "GET",
        path: "/api/v2/gdpr/requests",
        request_type: None,
        at: Some("Locate"),
        fixture: "happy-path",
        exhausted: Expect::Failed("Locate", "GenesysTransient"),
        mutating: false,
    },
    Call {
        label: "POST GDPR_EXPORT",
        method: "POST",
        path: "/api/v2/gdpr/requests",
        request_type: Some("GDPR_EXPORT"),
        at: None,
        fixture: "happy-path",
        exhausted: Expect::Failed("Locate", "GenesysAmbiguous"),
        mutating: true,
    },
    Call {
        label: "GDPR GET (export poll)",
        method: "GET",
        path: "/api/v2/gdpr/requests/*",
        request_type: None,
        at: Some("PollExport"),
        fixture: "happy-path",
        exhausted: Expect::Failed("PollExport", "GenesysTransient"),
        mutating: false,
    },
    Call {
        label: "download link (downloads API)",
        method: "GET",
        path: "/api/v2/downloads/*",
        request_type: None,
        at: Some("Review"),
        fixture: "happy-path",
        exhausted: Expect::Failed("Review", "GenesysTransient"),
        mutating: false,
    },
    Call {
        label: "archive download (signed URL)",
        method: "GET",
        path: "/_emulator/downloads/*",
        request_type: None,
        at: Some("Review"),
        fixture: "happy-path",
        exhausted: Expect::Failed("Review", "GenesysTransient"),
        mutating: false,
    },
    Call {
        label: "analytics query",
        method: "POST",
        path: "/api/v2/analytics/conversations/details/query",
        request_type: None,
        at: Some("Review"),
        fixture: "happy-path",
        exhausted: Expect::Failed("Review", "GenesysTransient"),
        mutating: false,
    },
    Call {
        label: "conversation details (Verify)",
        method: "GET",
        path: "/api/v2/analytics/conversations/*/details",
        request_type: None,
        at: Some("VerifyErasure"),
        fixture: "happy-path",
        exhausted: Expect::Partial("CONVERSATION_NOT_ERASED"),
        mutating: false,
    },
    Call {
        label: "users GET (Review)",
        method: "GET",
        path: "/api/v2/users/*",
        request_type: None,
        at: Some("Review"),
        fixture: "former-agent",
        exhausted: Expect::Failed("Review", "GenesysTransient"),
        mutating: false,
    },
    Call {
        label: "users PATCH (offboard)",
        method: "PATCH",
        path: "/api/v2/users/*",
        request_type: None,
        at: Some("OffboardAgent"),
        fixture: "former-agent",
        exhausted: Expect::Partial("AGENT_NOT_OFFBOARDED"),
        mutating: true,
    },
    Call {
        label: "users DELETE (offboard)",
        method: "DELETE",
        path: "/api/v2/users/*",
        request_type: None,
        at: Some("OffboardAgent"),
        fixture: "former-agent",
        exhausted: Expect::Partial("AGENT_NOT_OFFBOARDED"),
        mutating: true,
    },
    Call {
        label: "recording metadata",
        method: "GET",
        path: "/api/v2/conversations/*/recordingmetadata",
        request_type: None,
        at: Some("Review"),
        fixture: "happy-path",
        // Review reads recordings leniently (the export lists them); the purge cannot.
        exhausted: Expect::Partial("RECORDING_NOT_PURGED"),
        mutating: false,
    },
    Call {
        label: "deletion protection POST (Review)",
        method: "POST",
        path: "/api/v2/recordings/deletionprotection",
        request_type: None,
        at: Some("Review"),
        fixture: "happy-path",
        exhausted: Expect::Failed("Review", "GenesysTransient"),
        mutating: false,
    },
    // No "list requests (Erase)" row: Erase keeps a submission ledger and lists the
    // org's requests only to settle an intent whose POST answer was lost, so a fault on
    // that listing fires only behind a lost answer ("POST GDPR_DELETE: processed,
    // answer lost" below; erasure-steps' steps tests cover a listing that cannot tell).
    Call {
        label: "POST GDPR_DELETE",
        method: "POST",
        path: "/api/v2/gdpr/requests",
        request_type: Some("GDPR_DELETE"),
        at: None,
        fixture: "happy-path",
        exhausted: Expect::Failed("Erase", "GenesysAmbiguous"),
        mutating: true,
    },
    Call {
        label: "GDPR GET (deletion poll)",
        method: "GET",
        path: "/api/v2/gdpr/requests/*",
        request_type: None,
        at: Some("PollDeletion"),
        fixture: "happy-path",
        exhausted: Expect::Failed("PollDeletion", "GenesysTransient"),
        mutating: false,
    },
    Call {
        label: "deletion protection POST (Purge)",
        method: "POST",
        path: "/api/v2/recordings/deletionprotection",
        request_type: None,
        at: Some("PurgeRecordings"),
        fixture: "happy-path",
        exhausted: Expect::Partial("RECORDING_NOT_PURGED"),
        mutating: false,
    },
    Call {
        label: "recording PUT (purge)",
        method: "PUT",
        path: "/api/v2/conversations/*/recordings/*",
        request_type: None,
        at: Some("PurgeRecordings"),
        // The only fixture whose recordings outlive the GDPR delete (conversations a
        // protection keeps out of it): the purge PUTs them.
        fixture: "deletion-protection",
        exhausted: Expect::Partial("RECORDING_NOT_PURGED"),
        mutating: true,
    },
];

fn fault(call: &Call, action: FaultAction, times: u32) -> Fault {
    let mut f = Fault::new(call.method, call.path, action).times(times);
    if let Some(t) = call.request_type {
        f = f.request_type(t);
    }
    f
}

/// The rows: for every call, a 429 storm, 5xx, a slow answer and dropped
/// connections that the retries absorb; a fault that outlasts every retry; and for
/// calls Genesys may have applied, an answer lost after processing. Then the faults
/// that are not one call's: Genesys ERROR mid-delete, a step crashing after its side
/// effect, a real-time delay past the client's timeout.
pub fn cells() -> Vec<Cell> {
    let mut out = Vec::new();
    for c in CALLS {
        let row = |kind: &str| Cell::new(format!("{}: {kind}", c.label), c.fixture, c.at);
        // Eight 429s: more than the client's five attempts, so the definition's Retry
        // (with jitter) takes over once; Retry-After is slept on the shared clock.
        out.push(row("429 storm, absorbed").fault(fault(
            c,
            FaultAction::RateLimited {
                retry_after_seconds: 30,
            },
            8,
        )));
        out.push(row("503s, absorbed").fault(fault(
            c,
            FaultAction::ServerError { status: 503 },
            c.absorbable(),
        )));
        // An answer 90 s late on the emulator's clock (tokens age, jobs move on).
        out.push(row("slow (emulated 90 s)").fault(fault(
            c,
            FaultAction::Slow {
                emulated_delay_ms: 90_000,
                real_delay_ms: 0,
            },
            3,
        )));
        out.push(row("dropped connections, absorbed").fault(fault(
            c,
            FaultAction::DropConnection,
            c.absorbable(),
        )));
        out.push(
            row("502 outlasting every retry")
                .fault(fault(c, FaultAction::ServerError { status: 502 }, 1000))
                .expect(c.exhausted.clone()),
        );
        if c.mutating {
            out.push(row("processed, answer lost").fault(fault(
                c,
                FaultAction::ProcessThenDrop,
                1,
            )));
        }
    }

    // A real-time delay past the client's request timeout (real time: few rows).
    for (label, method, path, at) in [
        (
            "GDPR GET (export poll)",
            "GET",
            "/api/v2/gdpr/requests/*",
            Some("PollExport"),
        ),
        ("POST GDPR_DELETE", "POST", "/api/v2/gdpr/requests", None),
    ] {
        let mut f = Fault::new(
            method,
            path,
            FaultAction::Slow {
                emulated_delay_ms: 0,
                real_delay_ms: 1_500,
            },
        )
        .times(1);
        if at.is_none() {
            f = f.request_type("GDPR_DELETE");
        }
        let mut cell = Cell::new(
            format!("{label}: real 1.5 s delay past a 1 s client timeout"),
            "happy-path",
            at,
        )
        .fault(f);
        cell.request_timeout = Some(Duration::from_secs(1));
        out.push(cell);
    }

    // Genesys deletes part of what a request covers, then sets it to ERROR.
    for (row, request_type, poll) in [
        (
            "Genesys ERROR after partial deletion",
            "GDPR_DELETE",
            "PollDeletion",
        ),
        ("Genesys ERROR on the export", "GDPR_EXPORT", "PollExport"),
    ] {
        out.push(
            Cell::new(row, "happy-path", None)
                .fault(
                    Fault::new(
                        "POST",
                        "/api/v2/gdpr/requests",
                        FaultAction::GdprPartialError { fraction: 0.5 },
                    )
                    .request_type(request_type),
                )
                .expect(Expect::Failed(poll, "GenesysRequestError")),
        );
    }
    // A random 10% of every API call fails, seeded: many faults on many calls at once.
    out.push(
        Cell::new("10% of all calls 503, seeded", "former-agent", None).fault(
            Fault::new("GET", "*", FaultAction::ServerError { status: 503 }).probability(0.1),
        ),
    );
    out
}

/// Adds a fault rule through the emulator's admin API (a handler cannot hold the
/// harness).
async fn arm(base: &str, fault: &Fault) {
    let body = serde_json::to_string(fault).expect("JSON");
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("the emulator");
    let req = format!(
        "POST /_emulator/faults HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("sent");
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.expect("an answer");
    assert!(
        answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.1 201"),
        "the fault was refused: {answer}"
    );
}

/// What a record says, in the terms rows are compared in.
#[derive(Debug, Clone, PartialEq)]
pub struct Said {
    outcome: String,
    stage: Option<String>,
    error: Option<String>,
    gaps: BTreeSet<String>,
    erased: Value,
    purged: Value,
    /// The subject's conversations Genesys still has.
    left: BTreeSet<String>,
    /// GDPR_DELETEs accepted (distinct names: one per cleared identifier).
    deletes: usize,
}

impl std::fmt::Display for Said {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.outcome.as_str() {
            "FAILED" => write!(
                f,
                "FAILED at {} ({})",
                self.stage.as_deref().unwrap_or("?"),
                self.error.as_deref().unwrap_or("?")
            ),
            o if self.gaps.is_empty() => write!(f, "{o}"),
            o => write!(
                f,
                "{o}, gaps {}",
                self.gaps.iter().cloned().collect::<Vec<_>>().join(",")
            ),
        }
    }
}

fn said(h: &Harness, record: &Value, personas: &[&str]) -> Said {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    Said {
        outcome: text(&record["outcome"]).unwrap_or_default(),
        stage: text(&record["failure"]["stage"]),
        error: text(&record["failure"]["error"]),
        gaps: record["gaps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| text(&g["kind"]))
            .collect(),
        erased: record["counts"]["conversationsErased"].clone(),
        purged: record["counts"]["recordingsPurged"].clone(),
        left: {
            let untouched = h.conversation_ids();
            personas
                .iter()
                .flat_map(|p| Harness::persona_conversations(p))
                .filter(|c| untouched.contains(c))
                .collect()
        },
        deletes: crate::world::deletes_accepted(h).names,
    }
}

/// A fault-free run of the fixture: what every absorbed fault must end in.
pub async fn baseline(fixture: &str) -> (Said, BTreeSet<String>) {
    let h = Harness::builder().start().await;
    let run = h.run(fixture).await;
    let routes = h
        .emulator
        .request_log()
        .into_iter()
        .map(|e| route_key(&e))
        .collect();
    (said(&h, run.record(), personas_of(fixture)), routes)
}

/// `METHOD /route/{template} [requestType]`.
fn route_key(e: &genesys_emulator::LoggedRequest) -> String {
    format!(
        "{} {}{}",
        e.method,
        e.route.clone().unwrap_or_else(|| e.path.clone()),
        e.request_type
            .as_deref()
            .map(|t| format!(" {t}"))
            .unwrap_or_default()
    )
}

/// A row's line of the summary and the (call, fault kind) pairs that fired in it.
pub struct Row {
    pub line: String,
    pub fired: BTreeSet<(String, String)>,
}

/// Runs one row; returns its line of the summary table, or the problems.
pub async fn run(cell: &Cell, baseline: &Said) -> Result<Row, String> {
    let mut b = Harness::builder();
    if let Some(t) = cell.request_timeout {
        b = b.genesys_request_timeout(t);
    }
    let h = b.start().await;
    let personas = personas_of(cell.fixture);
    let before = others(&h, personas);
    let ticket = e2e::ticket(cell.fixture);
    let id = ticket["ticket"]["id"].as_str().expect("an id").to_owned();

    let result = match cell.at {
        None => {
            for f in &cell.faults {
                h.emulator.add_fault(f.clone()).expect("a valid fault");
            }
            h.pipeline
                .runner()
                .start_named(&id, ticket)
                .expect("starts")
                .wait()
                .await
        }
        Some(state) => {
            let base = h.emulator.base_url();
            let faults = cell.faults.clone();
            let armed = Arc::new(AtomicBool::new(false));
            let runner = h.runner_with(|r| {
                let inner = r
                    .resolve(state, Some(function_of(state)))
                    .expect("the state has a handler");
                r.state(
                    state,
                    handler_fn(move |input: Value, ctx| {
                        let (inner, base, faults, armed) =
                            (inner.clone(), base.clone(), faults.clone(), armed.clone());
                        async move {
                            if !armed.swap(true, Ordering::SeqCst) {
                                for f in &faults {
                                    arm(&base, f).await;
                                }
                            }
                            inner.invoke(input, ctx).await
                        }
                    }),
                )
            });
            runner
                .start_named(&id, ticket)
                .expect("starts")
                .wait()
                .await
        }
    };
    let receipt = erasure_steps::local::record_of(&result);
    let mut problems = common_checks(&h, &id, 1, &before, personas).await;
    // Counted by the emulator's rules (a fault whose answer never went out, a real
    // delay the client gave up on, is not in the request log but did fire).
    let fired: u32 = h.emulator.faults().iter().map(|f| f.fired).sum();
    if fired == 0 && !cell.faults.is_empty() {
        problems.push("the fault never fired: the row proves nothing".into());
    }
    let fired_keys: BTreeSet<(String, String)> = h
        .emulator
        .request_log()
        .into_iter()
        .filter_map(|e| e.fault.clone().map(|f| (route_key(&e), f)))
        .collect();
    let Some(receipt) = receipt else {
        problems.push(format!("no record: {:?}", result.error()));
        return Err(problems.join("; "));
    };
    let record = h.read_record(&receipt.key).await;
    let now = said(&h, &record, personas);
    let sent = h.emulator.gdpr_submissions(RequestType::GdprDelete);
    let accepted = crate::world::deletes_accepted(&h);
    match &cell.expect {
        Expect::Baseline => {
            if now != *baseline {
                problems.push(format!(
                    "expected what a fault-free run says ({baseline}, erased {}, purged {}, {} left), got {now} (erased {}, purged {}, {} left)",
                    baseline.erased,
                    baseline.purged,
                    baseline.left.len(),
                    now.erased,
                    now.purged,
                    now.left.len()
                ));
            }
            if accepted.most_of_one != 1 || accepted.names != baseline.deletes {
                problems.push(format!(
                    "{accepted:?} GDPR_DELETEs accepted, expected {} once each",
                    baseline.deletes
                ));
            }
        }
        Expect::Failed(stage, error) => {
            if now.outcome != "FAILED"
                || now.stage.as_deref() != Some(stage)
                || now.error.as_deref() != Some(error)
            {
                problems.push(format!("expected FAILED at {stage} ({error}), got {now}"));
            }
        }
        Expect::Partial(kind) => {
            if now.outcome != "PARTIAL" || !now.gaps.contains(*kind) {
                problems.push(format!("expected PARTIAL with {kind}, got {now}"));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    Ok(Row {
        line: format!(
            "| {} | {} | {} | {}/{} | {} |",
            cell.name, fired, result.counts.retries, sent, accepted.names, now
        ),
        fired: fired_keys,
    })
}

/// The function a state invokes (for wrapping it).
fn function_of(state: &str) -> &'static str {
    match state {
        "Intake" => "intake",
        "Locate" => "locate",
        "PollExport" | "PollDeletion" => "poll",
        "Review" => "review",
        "Erase" => "erase",
        "PurgeRecordings" => "purge-recordings",
        "OffboardAgent" => "offboard-agent",
        "VerifyErasure" | "VerifyPartialDeletion" => "verify-erasure",
        "WriteRecord" => "write-record",
        other => panic!("no function known for {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_on_every_genesys_call_ends_in_one_record_one_delete_at_most_and_nobody_elses_data_touched()
 {
    use futures::StreamExt;
    let cells = cells();
    let fixtures: BTreeSet<&str> = cells.iter().map(|c| c.fixture).collect();
    let mut baselines = std::collections::BTreeMap::new();
    let mut calls_made = BTreeSet::new();
    for f in fixtures {
        let (said, routes) = baseline(f).await;
        calls_made.extend(routes);
        baselines.insert(f, said);
    }
    let results: Vec<(String, Result<Row, String>)> = futures::stream::iter(cells.iter())
        .map(|c| {
            let b = &baselines[c.fixture];
            async move { (c.name.clone(), run(c, b).await) }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let mut lines: Vec<&String> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().map(|r| &r.line))
        .collect();
    lines.sort();
    println!("fault matrix, {} rows:", results.len());
    println!("| row | faults fired | retries | GDPR_DELETE sent/accepted | record |");
    println!("|---|---|---|---|---|");
    for l in &lines {
        println!("{l}");
    }
    let mut failures: Vec<String> = results
        .iter()
        .filter_map(|(n, r)| r.as_ref().err().map(|e| format!("{n}: {e}")))
        .collect();
    // Every call a fault-free run makes met every kind of fault somewhere.
    let fired: BTreeSet<(String, String)> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .flat_map(|r| r.fired.iter().cloned())
        .collect();
    for call in &calls_made {
        for kind in ["rateLimited", "serverError", "slow", "dropConnection"] {
            if !fired.contains(&(call.clone(), kind.to_owned())) {
                failures.push(format!("no row fires {kind} on {call}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems in {} rows:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
}
