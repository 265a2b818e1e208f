//! Key layout: `<prefix>records/<ticket id>/<writtenAt>-<OUTCOME>.json`, with
//! writtenAt in compact UTC form to the millisecond (`20261122T114210.512Z`).
//!
//! Keys sort by time within a ticket, and are fixed by the record itself, so a retried
//! write lands on the same key.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::error::ArchiveError;
use crate::record::{Outcome, RecordView};

/// The folder every record lives under, below the archive's prefix.
pub const RECORDS_DIR: &str = "records";

/// The folder of verification records (`verifications/<ticket id>/<writtenAt>-<RESULT>.json`).
pub const VERIFICATIONS_DIR: &str = "verifications";

/// The folder of the archive's manifests (`manifests/checkpoints/<writtenAt>-MANIFEST.json`).
pub const MANIFESTS_DIR: &str = "manifests";

/// The folder of annotations (`annotations/<ticket id>/<writtenAt>-ANNOTATION.json`).
pub const ANNOTATIONS_DIR: &str = "annotations";

/// Whether `name` is a file name the archive writes in `dir` (records, verifications,
/// annotations or manifests).
pub fn is_file_name_in(dir: &str, name: &str) -> bool {
    match dir {
        VERIFICATIONS_DIR => parse_verification_file_name(name).is_some(),
        MANIFESTS_DIR => parse_manifest_file_name(name).is_some(),
        ANNOTATIONS_DIR => parse_annotation_file_name(name).is_some(),
        _ => parse_record_file_name(name).is_some(),
    }
}

/// An annotation's file name: `<writtenAt compact>-ANNOTATION.json`.
pub fn annotation_file_name(written_at: &DateTime<Utc>) -> String {
    format!("{}-ANNOTATION.json", written_at.format(TIMESTAMP_FORMAT))
}

/// Parses `<writtenAt compact>-ANNOTATION.json`.
pub fn parse_annotation_file_name(name: &str) -> Option<DateTime<Utc>> {
    parse_timestamp(name.strip_suffix("-ANNOTATION.json")?)
}

/// What a file name in `dir` ends in, for messages: `OUTCOME`, `RESULT`, `MANIFEST`.
pub fn tag_of(dir: &str) -> &'static str {
    match dir {
        VERIFICATIONS_DIR => "RESULT",
        MANIFESTS_DIR => "MANIFEST",
        ANNOTATIONS_DIR => "ANNOTATION",
        _ => "OUTCOME",
    }
}

/// A manifest's file name: `<writtenAt compact>-MANIFEST.json`.
pub fn manifest_file_name(written_at: &DateTime<Utc>) -> String {
    format!("{}-MANIFEST.json", written_at.format(TIMESTAMP_FORMAT))
}

/// Parses `<writtenAt compact>-MANIFEST.json`.
pub fn parse_manifest_file_name(name: &str) -> Option<DateTime<Utc>> {
    parse_timestamp(name.strip_suffix("-MANIFEST.json")?)
}

/// The key of a verification below the archive's prefix.
pub fn verification_key(view: &crate::VerificationView) -> Result<String, ArchiveError> {
    validate_ticket_id(&view.ticket_id)?;
    Ok(format!(
        "{VERIFICATIONS_DIR}/{}/{}-{}.json",
        view.ticket_id,
        view.written_at.format(TIMESTAMP_FORMAT),
        view.result
    ))
}

/// Parses `<writtenAt compact>-<CLEAN|PENDING|RESIDUE>.json`.
pub fn parse_verification_file_name(
    name: &str,
) -> Option<(DateTime<Utc>, crate::VerificationResult)> {
    let (ts, result) = name.strip_suffix(".json")?.split_once('-')?;
    let result = (crate::VerificationResult::ALL.into_iter()).find(|r| r.as_str() == result)?;
    Some((parse_timestamp(ts)?, result))
}

fn parse_timestamp(ts: &str) -> Option<DateTime<Utc>> {
    if ts.len() != "20261122T114210.512Z".len() {
        return None;
    }
    NaiveDateTime::parse_from_str(ts, TIMESTAMP_FORMAT)
        .ok()
        .map(|n| n.and_utc())
}

const TIMESTAMP_FORMAT: &str = "%Y%m%dT%H%M%S%.3fZ";

/// Checks a ticket id against the record schema's alphabet
/// (`^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$`). A valid id has no `/` and cannot be `.` or
/// `..`, so it is always exactly one path segment.
pub fn validate_ticket_id(ticket_id: &str) -> Result<(), ArchiveError> {
    let bytes = ticket_id.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 80
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        // The id is not echoed: a malformed one may be anything a user pasted.
        Err(ArchiveError::invalid(format!(
            "ticket id is not a valid ticket id ({} characters; expected 1-80 of A-Z a-z 0-9 . _ -, starting with a letter or digit)",
            ticket_id.chars().count()
        )))
    }
}

/// The record's file name: `<writtenAt compact>-<OUTCOME>.json`.
pub fn record_file_name(written_at: &DateTime<Utc>, outcome: Outcome) -> String {
    format!("{}-{}.json", written_at.format(TIMESTAMP_FORMAT), outcome)
}

/// The key of a record below the archive's records folder: `<ticket>/<file name>`.
pub fn relative_key(view: &RecordView) -> Result<String, ArchiveError> {
    validate_ticket_id(&view.ticket_id)?;
    Ok(format!(
        "{}/{}",
        view.ticket_id,
        record_file_name(&view.written_at, view.outcome)
    ))
}

/// What a record's file name says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedName {
    pub written_at: DateTime<Utc>,
    pub outcome: Outcome,
}

/// Parses `<writtenAt compact>-<OUTCOME>.json`; `None` for anything else.
pub fn parse_record_file_name(name: &str) -> Option<ParsedName> {
    let (ts, outcome) = name.strip_suffix(".json")?.split_once('-')?;
    // Exact, upper-case outcome: nothing else is what the archive writes.
    let outcome = Outcome::ALL.into_iter().find(|o| o.as_str() == outcome)?;
    Some(ParsedName {
        written_at: parse_timestamp(ts)?,
        outcome,
    })
}

/// Normalises an archive prefix: empty, or ending in exactly one `/`. Refuses `..`
/// segments and a leading `/`, which would place records somewhere unexpected.
pub fn normalise_prefix(prefix: &str) -> Result<String, ArchiveError> {
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if trimmed.starts_with('/')
        || trimmed
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Err(ArchiveError::misconfigured(format!(
            "archive prefix '{prefix}' must be relative segments without '.', '..' or '//'"
        )));
    }
    Ok(format!("{trimmed}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_name_uses_compact_utc_to_the_millisecond() {
        let at: DateTime<Utc> = "2026-11-22T11:42:10.512Z".parse().expect("date");
        assert_eq!(
            record_file_name(&at, Outcome::Completed),
            "20261122T114210.512Z-COMPLETED.json"
        );
        let whole: DateTime<Utc> = "2026-11-22T11:42:10Z".parse().expect("date");
        assert_eq!(
            record_file_name(&whole, Outcome::Deferred),
            "20261122T114210.000Z-DEFERRED.json"
        );
    }

    #[test]
    fn file_name_round_trips() {
        let at: DateTime<Utc> = "2026-11-22T11:42:10.512Z".parse().expect("date");
        let parsed = parse_record_file_name("20261122T114210.512Z-PARTIAL.json").expect("parses");
        assert_eq!(parsed.written_at, at);
        assert_eq!(parsed.outcome, Outcome::Partial);
    }

    #[test]
    fn other_file_names_are_not_records() {
        for name in [
            "20261122T114210.512Z-COMPLETED.json.meta",
            "20261122T114210.512Z-completed.json",
            "20261122T114210.512Z-DONE.json",
            "20261122T114210Z-COMPLETED.json",
            "notes.txt",
            "-COMPLETED.json",
        ] {
            assert_eq!(parse_record_file_name(name), None, "{name}");
        }
    }

    #[test]
    fn ticket_ids_follow_the_schema_alphabet() {
        for ok in ["DSAR-2026-0042", "a", "A.b_c-9", &"x".repeat(80)] {
            assert!(validate_ticket_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "..",
            ".",
            "../etc",
            "a/b",
            "-a",
            "a b",
            "ü",
            &"x".repeat(81),
            "a\\b",
        ] {
            assert!(validate_ticket_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn prefixes_are_normalised_and_traversal_refused() {
        assert_eq!(normalise_prefix("").expect("ok"), "");
        assert_eq!(normalise_prefix("gdpr").expect("ok"), "gdpr/");
        assert_eq!(normalise_prefix("a/b/").expect("ok"), "a/b/");
        for bad in ["/abs", "a/../b", "a//b", "./a"] {
            assert!(normalise_prefix(bad).is_err(), "{bad}");
        }
    }
}
