//! VerifyErasure again, after the record: Genesys reports COMPLETED before its
//! redaction lands (up to 14 days later, live-tenants.md §1), so a record written at
//! COMPLETED proves that the erasure was accepted, not that the data is gone. The
//! definition calls this on a schedule after the ticket's record (`VERIFY_AFTER`,
//! default 1, 7 and 15 days after the GDPR_DELETE completed); each check is written
//! as a verification record (WriteRecord's `verification` event) chained to the
//! ticket's record.
//!
//! A check looks at every conversation the delete covered (gone, or none of the
//! subject's identifiers left on it, compared as keyed pseudonyms, and no recording)
//! and at every recording that was purged (seen gone, not trusted from the 200). The
//! result: CLEAN (nothing left), PENDING (something left inside the redaction window)
//! or RESIDUE (something left after it: escalated to a person; nothing is resubmitted
//! without one). Checking stops after the first CLEAN past the window, or at the last
//! check. A call made before the next check is due only says when that is.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use erasure_core::identifiers::ConversationId;
use erasure_core::record::RecordingRef;
use genesys::{FileState, GenesysError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StepError;
use crate::gdpr::check_ticket_id;
use crate::state::{IdentifiersSection, RequestSection};
use crate::verify_erasure::{self, Deps, REDACTION_WINDOW, Seen};

/// The default schedule: days after the GDPR_DELETE completed. The last is past the
/// 14-day redaction window, so a redaction that never lands is seen as a residue.
pub const DEFAULT_SCHEDULE_DAYS: [i64; 3] = [1, 7, 15];

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub ticket_id: String,
    /// `$.review.conversations.covered`: what the GDPR_DELETE reached.
    pub conversation_ids: Vec<ConversationId>,
    pub identifiers: IdentifiersSection,
    /// `$.deletion`: when it completed (the schedule and the window start then).
    pub deletion: RequestSection,
    /// `$.after`: the purge's result, whose purged recordings are looked for.
    #[serde(default)]
    pub after: Option<Value>,
    /// Checks written so far (`$.laterCheck.checksDone`; 0 before the first).
    pub checks_done: u32,
}

/// `$.laterCheck`: where the checks stand, and the check to write when one was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Output {
    pub checks_done: u32,
    /// This call checked: `verification` is to be written.
    pub checked: bool,
    /// No check is left.
    pub done: bool,
    /// When the next check is due (absent when done).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "erasure_core::time::option_utc_z"
    )]
    pub next_check_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Facts>,
}

/// What one check found: the verification record's facts. Ids and counts only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Facts {
    pub check: CheckNumber,
    pub result: String,
    #[serde(with = "erasure_core::time::utc_z")]
    pub deletion_completed_at: DateTime<Utc>,
    #[serde(with = "erasure_core::time::utc_z")]
    pub window_closes_at: DateTime<Utc>,
    pub conversations: ConversationsChecked,
    pub recordings: RecordingsChecked,
    #[serde(with = "erasure_core::time::utc_z")]
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckNumber {
    pub number: u32,
    pub of: u32,
    #[serde(with = "erasure_core::time::utc_z")]
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConversationsChecked {
    pub checked: usize,
    pub clean: usize,
    pub pending: Vec<ConversationId>,
    pub residue: Vec<ConversationId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordingsChecked {
    pub checked: usize,
    pub residue: Vec<String>,
}

/// Parses `VERIFY_AFTER`: durations after the delete completed, `1d,7d,15d` (units
/// `s`, `m`, `h`, `d`), strictly increasing; empty means no later checks.
pub fn parse_schedule(text: &str) -> Result<Vec<Duration>, String> {
    let mut out: Vec<Duration> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (n, unit) = part.split_at(part.len() - 1);
        let n: i64 = n
            .parse()
            .map_err(|_| format!("{part:?} is not a number followed by s, m, h or d"))?;
        let d = match unit {
            "s" => Duration::seconds(n),
            "m" => Duration::minutes(n),
            "h" => Duration::hours(n),
            "d" => Duration::days(n),
            _ => return Err(format!("{part:?}: the unit must be s, m, h or d")),
        };
        if d < Duration::zero() || out.last().is_some_and(|l| d <= *l) {
            return Err("the checks must be at increasing, non-negative times".into());
        }
        out.push(d);
    }
    if out.len() > 100 {
        return Err("at most 100 checks".into());
    }
    Ok(out)
}

pub async fn handle(deps: &Deps, input: Input) -> Result<Output, StepError> {
    let ticket_id = check_ticket_id(&input.ticket_id)?;
    let now = deps.genesys.clock.now();
    let (Some(completed), false) = (
        verify_erasure::completed_at(&input.deletion),
        deps.later_checks.is_empty(),
    ) else {
        // No delete completed (nothing was erased by identifier), or no checks wanted.
        return Ok(done(input.checks_done));
    };
    let due: Vec<DateTime<Utc>> = deps.later_checks.iter().map(|d| completed + *d).collect();
    let of = u32::try_from(due.len()).unwrap_or(u32::MAX);
    let next = usize::try_from(input.checks_done).unwrap_or(usize::MAX);
    let Some(next_due) = due.get(next).copied() else {
        return Ok(done(input.checks_done));
    };
    if now < next_due {
        return Ok(Output {
            checks_done: input.checks_done,
            checked: false,
            done: false,
            next_check_at: Some(next_due),
            verification: None,
        });
    }
    // Checks missed while the execution could not run are one check now: the latest due.
    let index = due.iter().rposition(|d| *d <= now).unwrap_or(next);
    let refs = verify_erasure::ticket_refs(deps, Some(&input.identifiers))?.unwrap_or_default();
    let window_closes_at = completed + REDACTION_WINDOW;
    let open = now < window_closes_at;

    let (mut clean, mut left) = (0, Vec::new());
    for cid in &input.conversation_ids {
        match verify_erasure::look(deps, cid, Some(&refs)).await? {
            Seen::Gone | Seen::Clean => clean += 1,
            Seen::CarriesSubject => left.push(cid.clone()),
        }
    }
    let purged = purged_recordings(input.after.as_ref());
    let mut recordings_left = Vec::new();
    for r in &purged {
        if recording_left(deps, r).await? {
            recordings_left.push(r.recording_id.as_str().to_owned());
        }
    }
    let anything_left = !left.is_empty() || !recordings_left.is_empty();
    let result = match (anything_left, open) {
        (false, _) => "CLEAN",
        (true, true) => "PENDING",
        (true, false) => "RESIDUE",
    };
    let (pending, residue) = if open {
        (left, Vec::new())
    } else {
        (Vec::new(), left)
    };
    let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
    let finished = number >= of || (result == "CLEAN" && !open);
    if result == "RESIDUE" {
        // The alarm's metric filter matches this line; ids only, no identifier.
        tracing::error!(
            ticket_id,
            conversations = residue.len(),
            recordings = recordings_left.len(),
            "erasure residue after the redaction window"
        );
    } else {
        tracing::info!(ticket_id, number, of, result, "erasure verified again");
    }
    Ok(Output {
        checks_done: number,
        checked: true,
        done: finished,
        next_check_at: (!finished).then(|| due.get(index + 1).copied()).flatten(),
        verification: Some(Facts {
            check: CheckNumber {
                number,
                of,
                due_at: due[index],
            },
            result: result.to_owned(),
            deletion_completed_at: completed,
            window_closes_at,
            conversations: ConversationsChecked {
                checked: input.conversation_ids.len(),
                clean,
                pending,
                residue,
            },
            recordings: RecordingsChecked {
                checked: purged.len(),
                residue: recordings_left,
            },
            at: now,
        }),
    })
}

/// The CloudWatch Embedded Metric Format line the VerifyErasure function prints for a
/// RESIDUE (`GdprErasure/ErasureResidues`, no dimension: the function cannot name the
/// state machine that calls it); the template's alarm watches it. Counts only.
pub fn residue_metric_line(at: DateTime<Utc>) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": "GdprErasure",
                "Dimensions": [[]],
                "Metrics": [{"Name": "ErasureResidues", "Unit": "Count"}],
            }],
        },
        "ErasureResidues": 1,
    })
    .to_string()
}

impl Output {
    /// This call found a residue (the metric line is due).
    pub fn found_residue(&self) -> bool {
        self.verification
            .as_ref()
            .is_some_and(|v| v.result == "RESIDUE")
    }
}

fn done(checks_done: u32) -> Output {
    Output {
        checks_done,
        checked: false,
        done: true,
        next_check_at: None,
        verification: None,
    }
}

/// The recordings the purge reported purged (`$.after`, the branch whose `step` is
/// `purge`); none when it was skipped or failed.
fn purged_recordings(after: Option<&Value>) -> Vec<RecordingRef> {
    let items: Vec<&Value> = match after {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(o @ Value::Object(_)) => vec![o],
        _ => Vec::new(),
    };
    let mut out: BTreeSet<(String, String)> = BTreeSet::new();
    let mut refs = Vec::new();
    for item in items.into_iter().filter(|i| i["step"] == "purge") {
        for p in item["purged"].as_array().into_iter().flatten() {
            if let Ok(r) = serde_json::from_value::<RecordingRef>(serde_json::json!({
                "conversationId": p["conversationId"],
                "recordingId": p["recordingId"],
            })) && out.insert((
                r.conversation_id.as_str().to_owned(),
                r.recording_id.as_str().to_owned(),
            )) {
                refs.push(r);
            }
        }
    }
    refs
}

/// Whether a purged recording is still there (listed and not DELETED).
async fn recording_left(deps: &Deps, r: &RecordingRef) -> Result<bool, StepError> {
    match (deps.genesys.client)
        .list_recording_metadata(r.conversation_id.as_str())
        .await
    {
        Ok(list) => Ok(list.iter().any(|m| {
            m.id.as_deref() == Some(r.recording_id.as_str())
                && m.file_state != Some(FileState::Deleted)
        })),
        Err(GenesysError::NotFound(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_reads_units_and_refuses_what_is_not_increasing() {
        assert_eq!(
            parse_schedule("1d, 7d,15d").unwrap(),
            [Duration::days(1), Duration::days(7), Duration::days(15)]
        );
        assert_eq!(parse_schedule("30s,2m,1h").unwrap().len(), 3);
        assert!(parse_schedule("").unwrap().is_empty());
        for bad in ["7d,1d", "1w", "d", "-1d", "1d,1d"] {
            assert!(parse_schedule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_the_purge_branchs_purged_recordings_are_looked_for() {
        let after = serde_json::json!([
            {"step": "verify", "erased": []},
            {"step": "purge", "purged": [
                {"conversationId": "c-1", "recordingId": "r-1", "at": "2026-11-22T11:00:00Z"},
                {"conversationId": "c-1", "recordingId": "r-1", "at": "2026-11-22T11:00:00Z"}
            ], "failed": []},
            {"step": "purge", "skipped": true}
        ]);
        let refs = purged_recordings(Some(&after));
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].recording_id.as_str(), "r-1");
        assert!(purged_recordings(None).is_empty());
    }
}
