//! ReportToTicket: tells the DSAR tool the outcome, where the record is, and sends the
//! letters to the data subject (text and HTML, every language; their SHA-256 are in the
//! record). The DSAR tool fills the `{{addressee}}` placeholder and sends one.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use clock::SharedClock;
use serde::{Deserialize, Serialize};

use crate::error::StepError;
use crate::gdpr::check_ticket_id;
use crate::ports::{TicketReport, TicketReporter};
use crate::write_record::RecordReceipt;

#[derive(Debug, Clone)]
pub struct Deps {
    pub reporter: Arc<dyn TicketReporter>,
    pub clock: SharedClock,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub ticket_id: String,
    pub record: RecordReceipt,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub reported: bool,
    #[serde(with = "erasure_core::time::utc_z")]
    pub at: DateTime<Utc>,
}

pub async fn handle(deps: &Deps, input: Input) -> Result<Output, StepError> {
    let ticket_id = check_ticket_id(&input.ticket_id)?;
    let at = deps.clock.now();
    let report = TicketReport {
        ticket_id: ticket_id.to_owned(),
        outcome: input.record.outcome.clone(),
        record_key: input.record.key.clone(),
        record_digest: input.record.digest.clone(),
        sequence: input.record.sequence,
        reported_at: at,
        letters: input.record.letters.clone(),
    };
    deps.reporter.report(&report).await?;
    tracing::info!(
        ticket_id,
        outcome = report.outcome.as_str(),
        "outcome reported to the ticket"
    );
    Ok(Output { reported: true, at })
}
