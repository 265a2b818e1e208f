//! WriteRecord's second event: one later check ([`crate::reverify`]) locked in the
//! archive as a verification record (`schemas/verification-record.v1.schema.json`),
//! chained off the ticket's record. Only WriteRecord writes to the archive.
//!
//! Idempotent: a verification of the same record with the same check number already
//! in the archive is answered as written (a retried Task never writes a second one);
//! otherwise the new one follows the ticket's latest verification (one chain per
//! ticket, whose first link names the record it verifies), or, as the ticket's first,
//! the record.

use archive::{Verification, VerificationView};
use chrono::{DateTime, SubsecRound, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::error::StepError;
use crate::gdpr::check_ticket_id;
use crate::reverify::Facts;
use crate::write_record::{Deps, ExecutionIds, RecordReceipt};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub ticket_id: String,
    pub execution: ExecutionIds,
    /// `$.record`: the record verified.
    pub record: RecordReceipt,
    /// `$.identifiers.keyId`: the key the compared pseudonyms were made with.
    pub key_id: String,
    /// `$.laterCheck.verification`.
    pub verification: Facts,
}

pub type Output = RecordReceipt;

pub async fn handle(deps: &Deps, input: Input) -> Result<Output, StepError> {
    let ticket_id = check_ticket_id(&input.ticket_id)?;
    if !matches!(
        input.record.outcome.as_str(),
        "COMPLETED" | "PARTIAL" | "DEFERRED"
    ) {
        return Err(StepError::input(
            "only a COMPLETED, PARTIAL or DEFERRED record has an erasure to verify",
        ));
    }
    let facts = &input.verification;
    let archive = deps.archive.as_ref();
    // The ticket's verifications: this check already written, or the latest to follow.
    let mut head: Option<(u64, String)> = None;
    for entry in archive.list_verifications(Some(ticket_id)).await? {
        if archive::key::parse_verification_file_name(&entry.file_name).is_none() {
            continue;
        }
        let stored = archive.read(&entry).await?;
        let Ok(v) = Verification::from_json(&stored.bytes) else {
            continue; // audit verify names it; it is no link of this chain
        };
        let number = v.value()["check"]["number"].as_u64();
        let view: &VerificationView = v.view();
        if view.verifies.record_digest == input.record.digest
            && number == Some(u64::from(facts.check.number))
        {
            return Ok(receipt(&entry.key, &stored, view, true));
        }
        // One chain per ticket: a ticket run again has its new record's checks follow
        // the old record's.
        if head.as_ref().is_none_or(|h| view.sequence > h.0) {
            head = Some((view.sequence, v.digest().to_owned()));
        }
    }
    let (sequence, previous) = match head {
        Some((seq, digest)) => (seq + 1, digest),
        None => (1, input.record.digest.clone()),
    };
    let written_at = facts.at.trunc_subsecs(3);
    let escalations = if facts.result == "RESIDUE" {
        vec![json!({
            "reason": "erasure-residue",
            "at": millis(written_at),
            "detail": format!(
                "{} conversation(s) and {} recording(s) still carry the subject after the redaction window closed ({}); nothing was resubmitted to Genesys: a person decides",
                facts.conversations.residue.len(),
                facts.recordings.residue.len(),
                (facts.conversations.residue.iter().map(|c| c.as_str().to_owned()))
                    .chain(facts.recordings.residue.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })]
    } else {
        Vec::new()
    };
    let value = json!({
        "schema": archive::VERIFICATION_SCHEMA_V1,
        "ticketId": ticket_id,
        "executionId": input.execution.id,
        "sequence": sequence,
        "previousDigest": previous,
        "writtenAt": millis(written_at),
        "verifies": {
            "recordDigest": input.record.digest,
            "recordSequence": input.record.sequence,
            "outcome": input.record.outcome,
        },
        "check": {
            "number": facts.check.number,
            "of": facts.check.of,
            "dueAt": millis(facts.check.due_at),
        },
        "result": facts.result,
        "deletionCompletedAt": millis(facts.deletion_completed_at),
        "windowClosesAt": millis(facts.window_closes_at),
        "conversations": {
            "checked": facts.conversations.checked,
            "clean": facts.conversations.clean,
            "pending": facts.conversations.pending,
            "residue": facts.conversations.residue,
        },
        "recordings": {
            "checked": facts.recordings.checked,
            "residue": facts.recordings.residue,
        },
        "pseudonymisation": { "keyId": input.key_id },
        "retention": {
            "mode": "COMPLIANCE",
            "retainUntil": millis(archive.retention().retain_until(written_at)),
        },
        "escalations": escalations,
    });
    let v = Verification::from_value(value)
        .map_err(|e| StepError::input(format!("the verification is not valid: {e}")))?;
    let written = archive.write_verification(&v).await?;
    tracing::info!(
        ticket_id,
        key = written.key.as_str(),
        sequence,
        result = facts.result.as_str(),
        "verification written"
    );
    Ok(RecordReceipt {
        key: written.key,
        digest: written.digest,
        version_id: written.version_id,
        outcome: facts.result.clone(),
        sequence,
        already_present: written.already_present,
        retain_until: written.retain_until,
        letters: Vec::new(),
    })
}

fn receipt(
    key: &str,
    stored: &archive::StoredObject,
    view: &VerificationView,
    already_present: bool,
) -> RecordReceipt {
    RecordReceipt {
        key: key.to_owned(),
        digest: archive::canonical::digest_of(&stored.bytes),
        version_id: stored.version_id.clone(),
        outcome: view.result.as_str().to_owned(),
        sequence: view.sequence,
        already_present,
        retain_until: stored
            .lock
            .retain_until
            .unwrap_or(view.retention.retain_until),
        letters: Vec::new(),
    }
}

fn millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
