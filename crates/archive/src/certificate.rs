//! The certificate of erasure: what a DPO hands to a regulator or to the data
//! subject's representative (`gdpr-erasure audit certificate`, the console's ticket
//! page). Built from the ticket's locked records, the checks after them and the
//! annotations that closed escalations, with no personal data (identifiers only as the
//! record's keyed hashes): what was asked and when, what was erased, what was withheld
//! and why, each check after the record, the deadline and whether it was met, and the
//! digest of every document, so anyone with the archive can check them (`audit verify
//! --ticket`).

use std::fmt::Write as _;

use serde_json::Value;

use crate::report::{LoadedRecord, RecordFilter, load_records};
use crate::{Archive, ArchiveError};

/// One section of the certificate: a heading and its lines, rendered as text or HTML.
struct Section {
    heading: &'static str,
    lines: Vec<String>,
}

/// The certificate of `ticket` (text, or a self-contained HTML page), issued at
/// `issued_at`; `None` when the archive holds no record of the ticket.
pub async fn certificate<A: Archive + ?Sized>(
    archive: &A,
    ticket: &str,
    issued_at: chrono::DateTime<chrono::Utc>,
    as_html: bool,
) -> Result<Option<String>, ArchiveError> {
    let filter = RecordFilter {
        ticket_id: Some(ticket.to_owned()),
        ..RecordFilter::default()
    };
    let (records, unusable) = load_records(archive, &filter).await?;
    let Some(latest) = records.last() else {
        return Ok(None);
    };
    let r = latest.record.value();
    let mut checks: Vec<(String, Value)> = Vec::new();
    for entry in archive.list_verifications(Some(ticket)).await? {
        if crate::key::parse_verification_file_name(&entry.file_name).is_none() {
            continue;
        }
        let stored = archive.read(&entry).await?;
        if let Ok(v) = crate::Verification::from_json(&stored.bytes)
            && v.view().verifies.record_digest == latest.record.digest()
        {
            checks.push((entry.key.clone(), v.value().clone()));
        }
    }

    // What a person closed afterwards: (document key, reason) → how.
    let mut closed: std::collections::BTreeMap<(String, String), String> = Default::default();
    for (key, a) in crate::annotation::read_annotations(archive, Some(ticket)).await? {
        let v = a.view();
        for reason in &v.closes {
            closed.insert(
                (v.annotates.key.clone(), reason.clone()),
                format!(
                    "closed {}: {}, case {} ({key})",
                    text_time(v.written_at),
                    v.resolution,
                    v.support_case
                ),
            );
        }
    }
    let closed_for = |doc: &str, reason: &str| {
        closed
            .get(&(doc.to_owned(), reason.to_owned()))
            .map_or_else(|| "open".to_owned(), Clone::clone)
    };
    let record_key = match latest.key.find("records/") {
        Some(i) => latest.key[i..].to_owned(),
        None => latest.key.clone(),
    };
    let sections = vec![
        request(r),
        outcome(r, latest.record.digest()),
        erased(r),
        withheld(r),
        told(r),
        later_checks(&checks),
        open_points(r, &record_key, &checks, &closed_for),
        evidence(
            archive.location(),
            &records,
            &checks,
            ticket,
            unusable.len(),
        ),
    ];
    let title = format!("Certificate of erasure: ticket {ticket}");
    let preface = format!(
        "Issued {} from the WORM archive {}. It holds no personal data: the data subject's identifiers appear only as keyed hashes (HMAC-SHA256, key {}).",
        text_time(issued_at),
        archive.location(),
        str_at(r, "/pseudonymisation/keyId")
    );
    Ok(Some(if as_html {
        html(&title, &preface, &sections)
    } else {
        text(&title, &preface, &sections)
    }))
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("-")
}

fn num_at(v: &Value, pointer: &str) -> u64 {
    v.pointer(pointer).and_then(Value::as_u64).unwrap_or(0)
}

fn list_at<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn text_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn request(r: &Value) -> Section {
    let mut lines = vec![
        format!(
            "Received {} from {}; identity verified {}.",
            str_at(r, "/clock/receivedAt"),
            str_at(r, "/ticketSource"),
            str_at(r, "/clock/identityVerifiedAt")
        ),
        match r.pointer("/decisions/signOff").filter(|s| !s.is_null()) {
            Some(s) => format!(
                "Signed off by a {} (keyed hash {}) at {}.",
                str_at(s, "/role"),
                str_at(s, "/actorRef"),
                str_at(s, "/at")
            ),
            None => "No sign-off was given.".to_owned(),
        },
        format!(
            "Identifiers given: {}.",
            list_at(r, "/subject/identifiers")
                .iter()
                .map(|i| format!("{} ({})", str_at(i, "/kind"), str_at(i, "/usage")))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ];
    if let Some(resumes) = r.get("resumes").and_then(Value::as_str) {
        lines.push(format!(
            "Follows up the deferred ticket {resumes}, whose hold has ended."
        ));
    }
    Section {
        heading: "The request",
        lines,
    }
}

fn outcome(r: &Value, digest: &str) -> Section {
    let mut lines = vec![format!(
        "Outcome {} (record {} of the ticket, written {}, {}).",
        str_at(r, "/outcome"),
        num_at(r, "/sequence"),
        str_at(r, "/writtenAt"),
        digest
    )];
    let deadline = match r.pointer("/clock/withinDeadline").and_then(Value::as_bool) {
        Some(true) => "met".to_owned(),
        Some(false) => format!("missed by {} day(s)", num_at(r, "/clock/daysLate")),
        None => "not judged (no completion)".to_owned(),
    };
    lines.push(format!(
        "Deadline under Art. 12(3): {} (clock from {}, {}); completed {}: {}.",
        str_at(r, "/clock/effectiveDueDate"),
        str_at(r, "/clock/clockStartsAt"),
        str_at(r, "/clock/clockBasis"),
        str_at(r, "/clock/completedAt"),
        deadline
    ));
    for reason in list_at(r, "/rejection/reasons") {
        lines.push(format!(
            "Refused: {} {} ({}).",
            str_at(reason, "/field"),
            str_at(reason, "/code"),
            str_at(reason, "/message")
        ));
    }
    if let Some(f) = r.get("failure").filter(|f| !f.is_null()) {
        lines.push(format!(
            "Failed at {}: {}.",
            str_at(f, "/stage"),
            str_at(f, "/error")
        ));
    }
    Section {
        heading: "Outcome and deadline",
        lines,
    }
}

fn erased(r: &Value) -> Section {
    let c = |k: &str| num_at(r, &format!("/counts/{k}"));
    let mut lines = vec![
        format!(
            "Conversations: {} found, {} in scope, {} erased, {} excluded (another person's or out of scope), {} withheld.",
            c("conversationsFound"),
            c("conversationsInScope"),
            c("conversationsErased"),
            c("conversationsExcluded"),
            c("conversationsWithheld")
        ),
        format!(
            "Recordings: {} found, {} purged, {} withheld.",
            c("recordingsFound"),
            c("recordingsPurged"),
            c("recordingsWithheld")
        ),
        "Genesys removes the data subject's details from a conversation (its participants' names, numbers and addresses, and its recordings) and keeps the conversation's metrics: that is an erasure of the personal data, not of the record of a call.".to_owned(),
    ];
    for q in list_at(r, "/genesys/requests") {
        lines.push(format!(
            "{} {} submitted {}, ended {}.",
            str_at(q, "/requestType"),
            str_at(q, "/requestId"),
            str_at(q, "/submittedAt"),
            str_at(q, "/finalStatus")
        ));
    }
    if let Some(a) = r.get("agent").filter(|a| !a.is_null()) {
        lines.push(format!(
            "The data subject's user account: {}.",
            str_at(a, "/action")
        ));
    }
    Section {
        heading: "What was erased",
        lines,
    }
}

fn withheld(r: &Value) -> Section {
    let mut lines: Vec<String> = list_at(r, "/withheld")
        .iter()
        .map(|w| {
            format!(
                "Conversation {}: {} {} until {} ({}).",
                str_at(w, "/conversationId"),
                str_at(w, "/reason"),
                str_at(w, "/holdId"),
                str_at(w, "/holdExpiry"),
                str_at(w, "/legalBasis")
            )
        })
        .collect();
    if let Some(d) = r.get("deferral").filter(|d| !d.is_null()) {
        lines.push(format!(
            "Erasure of what is held resumes on {} ({}).",
            str_at(d, "/resumeOn"),
            str_at(d, "/legalBasis")
        ));
    }
    if lines.is_empty() {
        lines.push("Nothing was withheld.".to_owned());
    }
    Section {
        heading: "What was withheld, and why",
        lines,
    }
}

fn told(r: &Value) -> Section {
    let mut lines: Vec<String> = list_at(r, "/downstream")
        .iter()
        .map(|d| {
            format!(
                "{}: {} at {}.",
                str_at(d, "/system"),
                str_at(d, "/status"),
                str_at(d, "/at")
            )
        })
        .collect();
    if lines.is_empty() {
        lines.push("No recipient was told (none configured, or nothing was erased).".to_owned());
    }
    Section {
        heading: "Recipients told under Art. 19",
        lines,
    }
}

fn later_checks(checks: &[(String, Value)]) -> Section {
    let mut lines: Vec<String> = checks
        .iter()
        .map(|(_, v)| {
            format!(
                "Check {} of {}, due {}, made {}: {} ({} conversation(s) and {} recording(s) checked{}).",
                num_at(v, "/check/number"),
                num_at(v, "/check/of"),
                str_at(v, "/check/dueAt"),
                str_at(v, "/writtenAt"),
                str_at(v, "/result"),
                num_at(v, "/conversations/checked"),
                num_at(v, "/recordings/checked"),
                match (
                    list_at(v, "/conversations/residue").len() + list_at(v, "/recordings/residue").len(),
                    list_at(v, "/conversations/pending").len(),
                ) {
                    (0, 0) => String::new(),
                    (0, p) => format!("; {p} still pending inside the redaction window"),
                    (n, _) => format!("; {n} still carrying the data subject after the window"),
                }
            )
        })
        .collect();
    if lines.is_empty() {
        lines.push(
            "None: no GDPR_DELETE completed for this record, or its checks are not yet due."
                .to_owned(),
        );
    }
    Section {
        heading: "Checked again after the record",
        lines,
    }
}

fn open_points(
    r: &Value,
    record_key: &str,
    checks: &[(String, Value)],
    closed_for: &dyn Fn(&str, &str) -> String,
) -> Section {
    let escalations = (list_at(r, "/escalations").iter().map(|e| (record_key, e))).chain(
        checks.iter().flat_map(|(k, v)| {
            let rel = k.find("verifications/").map_or(k.as_str(), |i| &k[i..]);
            list_at(v, "/escalations").iter().map(move |e| (rel, e))
        }),
    );
    let mut lines: Vec<String> = list_at(r, "/gaps")
        .iter()
        .map(|g| {
            format!(
                "Gap: {} {} ({}).",
                str_at(g, "/kind"),
                str_at(g, "/subjectOfGap"),
                str_at(g, "/reason")
            )
        })
        .chain(escalations.map(|(doc, e)| {
            format!(
                "Escalated to a person: {} at {}; {}.",
                str_at(e, "/reason"),
                str_at(e, "/at"),
                closed_for(doc, str_at(e, "/reason"))
            )
        }))
        .collect();
    if lines.is_empty() {
        lines.push("None.".to_owned());
    }
    Section {
        heading: "Gaps and escalations",
        lines,
    }
}

fn evidence(
    location: String,
    records: &[LoadedRecord],
    checks: &[(String, Value)],
    ticket: &str,
    unusable: usize,
) -> Section {
    let mut lines: Vec<String> = records
        .iter()
        .map(|r| format!("{}  {}", r.key, r.record.digest()))
        .collect();
    for (key, v) in checks {
        let digest = crate::Verification::from_value(v.clone())
            .map(|d| d.digest().to_owned())
            .unwrap_or_default();
        lines.push(format!("{key}  {digest}"));
    }
    if unusable > 0 {
        lines.push(format!(
            "{unusable} object(s) of the ticket could not be read as records: run audit verify."
        ));
    }
    lines.push(format!(
        "Each digest is the SHA-256 of the document's RFC 8785 bytes, locked in COMPLIANCE mode; check them all with: gdpr-erasure audit --archive {} verify --ticket {ticket}",
        location
    ));
    Section {
        heading: "Evidence",
        lines,
    }
}

fn text(title: &str, preface: &str, sections: &[Section]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{title}\n{}\n{preface}", "=".repeat(title.len()));
    for s in sections {
        let _ = writeln!(o, "\n{}", s.heading);
        for l in &s.lines {
            let _ = writeln!(o, "  {l}");
        }
    }
    o
}

fn html(title: &str, preface: &str, sections: &[Section]) -> String {
    let e = escape;
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{t}</title>\n<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111;line-height:1.5}}h2{{border-bottom:1px solid #999;margin-top:2rem}}li{{margin:.25rem 0;overflow-wrap:anywhere}}</style>\n</head>\n<body>\n<h1>{t}</h1>\n<p>{p}</p>\n",
        t = e(title),
        p = e(preface)
    );
    for s in sections {
        let _ = writeln!(o, "<h2>{}</h2>\n<ul>", e(s.heading));
        for l in &s.lines {
            let _ = writeln!(o, "<li>{}</li>", e(l));
        }
        let _ = writeln!(o, "</ul>");
    }
    o.push_str("</body>\n</html>\n");
    o
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
