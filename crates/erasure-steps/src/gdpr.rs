//! What Locate, Erase and Poll share: the Genesys port, GDPR requests found by name,
//! and the back-off of the polling loop.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clock::SharedClock;
use erasure_core::record::{GdprRequestType, StatusObservation};
use genesys::{GdprRequest, GdprRequestStatus, GenesysClient, NamedLookup};

use crate::error::StepError;
use crate::ports::{MemoryLedger, SubmissionLedger};
use crate::state::PollState;

/// The Genesys port of the steps that call Genesys.
///
/// `GenesysClient` itself, not a trait over it: the only other implementation a trait
/// would serve is a mock, and the tests use the emulator over real HTTP instead. The
/// client is cheap to clone and carries its clock and retry policy.
#[derive(Clone, Debug)]
pub struct GenesysDeps {
    pub client: GenesysClient,
    pub clock: SharedClock,
    pub poll: PollPolicy,
    /// Where Erase records its submissions (S3 in AWS; in memory for a run on one
    /// machine, as durable as the runner's own state).
    pub ledger: Arc<dyn SubmissionLedger>,
}

impl GenesysDeps {
    /// One of a ticket's GDPR requests as first seen now (its poll state started).
    pub fn part(
        &self,
        names: Option<crate::state::PartIdentifier>,
        name: String,
        request: &GdprRequest,
        reused: bool,
        subject_matches: Option<bool>,
    ) -> crate::state::RequestPart {
        let now = self.clock.now();
        crate::state::RequestPart {
            names,
            request_id: request.id.clone(),
            name,
            submitted_at: request.created_date.unwrap_or(now),
            reused,
            subject_matches,
            poll: self.poll.initial(request, now),
        }
    }

    pub fn new(client: GenesysClient, clock: SharedClock) -> Self {
        GenesysDeps {
            client,
            clock,
            poll: PollPolicy::default(),
            ledger: Arc::new(MemoryLedger::default()),
        }
    }

    pub fn with_ledger(mut self, ledger: Arc<dyn SubmissionLedger>) -> Self {
        self.ledger = ledger;
        self
    }
}

/// How many pages of the newest requests a lookup by name reads at most.
pub const LOOKUP_MAX_PAGES: u32 = 5;
/// Clock skew allowed between this pipeline and Genesys when comparing a request's
/// `createdDate` with a time taken here.
pub const LOOKUP_SKEW: chrono::Duration = chrono::Duration::minutes(10);

/// The polling back-off: seconds at first, doubling to a cap, so a ten-minute job
/// costs six polls instead of a fixed 30 s poll's twenty (a third of the state
/// transitions), while a job that takes seconds is seen within seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollPolicy {
    pub first_wait: Duration,
    pub max_wait: Duration,
    /// Each request gets at least this long, whatever the deadline says: a request
    /// submitted after a late approval is still polled to its end.
    pub min_budget: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            first_wait: Duration::from_secs(10),
            max_wait: Duration::from_secs(300),
            min_budget: Duration::from_secs(48 * 3600),
        }
    }
}

impl PollPolicy {
    /// The wait after `polls` polls: first, 2 x first, 4 x first, ... up to the cap.
    pub fn wait_after(&self, polls: u32) -> u64 {
        let first = self.first_wait.as_secs().max(1);
        let factor = 1u64.checked_shl(polls.min(32)).unwrap_or(u64::MAX);
        first
            .saturating_mul(factor)
            .min(self.max_wait.as_secs().max(1))
    }

    /// The poll state right after submitting (or finding) a request.
    pub fn initial(&self, request: &GdprRequest, now: DateTime<Utc>) -> PollState {
        let status = status_of(request);
        let done = is_terminal(&status);
        PollState {
            history: vec![StatusObservation {
                status: status.clone(),
                observed_at: now,
            }],
            status,
            done,
            timed_out: false,
            wait_seconds: if done { 0 } else { self.wait_after(0) },
            polls: 0,
        }
    }
}

/// The status as the record spells it (A-Z and _ only; an unknown or missing status
/// becomes UNKNOWN rather than an invalid record).
pub fn status_of(request: &GdprRequest) -> String {
    let raw = request
        .status
        .as_ref()
        .map(GdprRequestStatus::as_str)
        .unwrap_or("UNKNOWN");
    if !raw.is_empty() && raw.len() <= 40 && raw.chars().all(|c| c.is_ascii_uppercase() || c == '_')
    {
        raw.to_owned()
    } else {
        "UNKNOWN".to_owned()
    }
}

pub fn is_terminal(status: &str) -> bool {
    status == "COMPLETED" || status == "ERROR"
}

/// The ticket's requests of one type with that name created since `not_before`,
/// newest first: a bounded look at the newest requests, never the whole history.
/// `None` when the lookup cannot tell.
pub async fn find_recent(
    client: &GenesysClient,
    name: &str,
    request_type: GdprRequestType,
    not_before: DateTime<Utc>,
) -> Result<Option<Vec<GdprRequest>>, StepError> {
    find_recent_named(client, &[name], request_type, not_before).await
}

/// [`find_recent`] for several names in one read of the newest requests.
pub async fn find_recent_named(
    client: &GenesysClient,
    names: &[&str],
    request_type: GdprRequestType,
    not_before: DateTime<Utc>,
) -> Result<Option<Vec<GdprRequest>>, StepError> {
    let wanted = match request_type {
        GdprRequestType::GdprExport => genesys::GdprRequestType::GdprExport,
        GdprRequestType::GdprDelete => genesys::GdprRequestType::GdprDelete,
    };
    let found = match client
        .find_recent_gdpr_requests_named(names, not_before - LOOKUP_SKEW, LOOKUP_MAX_PAGES)
        .await?
    {
        NamedLookup::Found(list) => list,
        NamedLookup::Absent => Vec::new(),
        NamedLookup::Unsure(why) => {
            tracing::warn!(
                why,
                "the newest GDPR requests do not settle a lookup by name"
            );
            return Ok(None);
        }
    };
    let mut found: Vec<GdprRequest> = found
        .into_iter()
        .filter(|r| r.request_type == wanted)
        .collect();
    found.sort_by_key(|r| std::cmp::Reverse(r.created_date));
    Ok(Some(found))
}

/// `sha256:<hex>` of the bytes: the legal-hold register's version as the record names
/// it (an ETag would differ between a multipart and a single upload of the same
/// bytes), and what the record keeps of text it must not hold verbatim.
pub fn sha256_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// A ticket id as the steps accept it (the same rule as the ticket's).
pub fn check_ticket_id(id: &str) -> Result<&str, StepError> {
    id.parse::<erasure_core::identifiers::TicketId>()
        .map(|_| id)
        .map_err(|_| StepError::input("ticketId is not a valid ticket id"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_from_ten_seconds_to_five_minutes() {
        let p = PollPolicy::default();
        let waits: Vec<u64> = (0..8).map(|n| p.wait_after(n)).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(p.wait_after(u32::MAX), 300);
    }

    #[test]
    fn a_ten_minute_job_costs_at_most_a_third_of_a_fixed_thirty_second_poll() {
        // Each poll is three transitions (Wait, Poll, Choice) either way.
        let p = PollPolicy::default();
        let (mut waited, mut polls) = (0u64, 0u32);
        while waited < 600 {
            waited += p.wait_after(polls);
            polls += 1;
        }
        let fixed = 600 / 30;
        assert!(polls * 3 <= fixed, "{polls} polls against {fixed}");
    }
}
