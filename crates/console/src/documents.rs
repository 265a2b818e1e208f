//! A ticket's documents besides its records, built from the archive when asked: the
//! certificate of erasure (crate `archive`, `certificate`) and the letters to the data
//! subject, rendered again from the record and checked against the digests it holds
//! (crate `letters`), as `audit certificate` and `audit letter` do.

use std::sync::Arc;

use archive::Archive;
use archive::report::{RecordFilter, load_records};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use erasure_core::record::ComplianceRecord;
use letters::{Format, LetterKind, Letters, render_letter};

use crate::ports::{BackendError, TicketDocument, TicketDocuments};

/// The documents of the tickets in `archive`; letters only with `letters` (the
/// settings and templates the records' letters were written with).
pub struct ArchiveDocuments {
    pub archive: Arc<dyn Archive>,
    pub letters: Option<Arc<Letters>>,
}

impl ArchiveDocuments {
    async fn latest(&self, ticket: &str) -> Result<Option<ComplianceRecord>, BackendError> {
        let filter = RecordFilter {
            ticket_id: Some(ticket.to_owned()),
            ..RecordFilter::default()
        };
        let (records, _) = load_records(&*self.archive, &filter)
            .await
            .map_err(|e| BackendError::Unavailable(e.to_string()))?;
        Ok(records
            .last()
            .and_then(|r| serde_json::from_value(r.record.value().clone()).ok()))
    }
}

#[async_trait]
impl TicketDocuments for ArchiveDocuments {
    async fn documents(&self, ticket_id: &str) -> Vec<TicketDocument> {
        let Ok(Some(record)) = self.latest(ticket_id).await else {
            return Vec::new();
        };
        let mut out = vec![TicketDocument {
            title: "Certificate of erasure".into(),
            href: format!("/tickets/{ticket_id}/certificate"),
        }];
        if self.letters.is_some() {
            for l in record.letter.iter().flat_map(|s| &s.letters) {
                out.push(TicketDocument {
                    title: format!("Letter to the data subject ({}, {})", l.kind, l.language),
                    href: format!("/tickets/{ticket_id}/letters/{}/{}", l.kind, l.language),
                });
            }
        }
        out
    }

    async fn certificate(
        &self,
        ticket_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, BackendError> {
        archive::certificate::certificate(&*self.archive, ticket_id, now, true)
            .await
            .map_err(|e| BackendError::Unavailable(e.to_string()))
    }

    async fn letter(
        &self,
        ticket_id: &str,
        kind: &str,
        language: &str,
    ) -> Result<Option<String>, BackendError> {
        let (Some(letters), Some(kind)) = (&self.letters, LetterKind::parse(kind)) else {
            return Ok(None);
        };
        let Some(record) = self.latest(ticket_id).await? else {
            return Ok(None);
        };
        // A letter that no longer renders to the digest its record holds is refused,
        // never shown as if it were what was sent.
        match render_letter(letters, &record, Some(kind), language, Format::Html) {
            Ok(l) => Ok(Some(l.body)),
            Err(letters::LetterError::NotInRecord) => Ok(None),
            Err(e) => Err(BackendError::Unavailable(format!("the letter: {e}"))),
        }
    }
}
