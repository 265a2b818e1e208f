//! A ticket the archive already holds a record of: closed, whatever Step Functions
//! still remembers. Step Functions releases an execution name 90 days after the
//! execution closed, so from then on `StartExecution` with the ticket id would start
//! a second erasure; the archive keeps the records for years, so it is the memory
//! the entry points consult before starting anything.

use chrono::{DateTime, Utc};

use crate::{Archive, ArchiveError, Outcome, Record, key};

/// The latest record of a closed ticket, as a repeat is answered with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedTicket {
    pub ticket_id: String,
    pub outcome: Outcome,
    pub record_key: String,
    pub record_digest: String,
    pub sequence: u64,
    /// The execution that wrote it (a Step Functions ARN, or a local execution id).
    pub execution_id: Option<String>,
    pub written_at: DateTime<Utc>,
}

/// The ticket's latest record, if the archive holds any: looked up under the
/// ticket's own key prefix, so one listing of a few objects.
pub async fn closed_ticket<A: Archive + ?Sized>(
    archive: &A,
    ticket_id: &str,
) -> Result<Option<ClosedTicket>, ArchiveError> {
    key::validate_ticket_id(ticket_id)?;
    let Some(head) = archive.chain_head(ticket_id).await? else {
        return Ok(None);
    };
    let entry = archive
        .list(Some(ticket_id))
        .await?
        .into_iter()
        .find(|e| e.key == head.key)
        .ok_or_else(|| ArchiveError::corrupt(&head.key, "listed once, then not listed again"))?;
    let stored = archive.read(&entry).await?;
    let record = Record::from_json(&stored.bytes)
        .map_err(|e| ArchiveError::corrupt(&entry.key, e.to_string()))?;
    let view = record.view();
    Ok(Some(ClosedTicket {
        ticket_id: view.ticket_id.clone(),
        outcome: view.outcome,
        record_key: head.key,
        record_digest: head.digest,
        sequence: view.sequence,
        execution_id: record
            .value()
            .get("executionId")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        written_at: view.written_at,
    }))
}
