//! Poll (PollExport and PollDeletion): one look at a GDPR request, or at each of a
//! ticket's deletes, and how long the Wait state waits before the next.
//!
//! The wait backs off (10 s doubling to 5 min) and never runs past the give-up time:
//! `giveUpAt` from the deadline clock, but at least [`PollPolicy::min_budget`] after
//! the request was first seen. Once past it, `timedOut` is set and the definition
//! writes a FAILED record with the facts.

use chrono::{DateTime, Utc};
use erasure_core::record::StatusObservation;
use serde::{Deserialize, Serialize};

use crate::error::StepError;
use crate::gdpr::{GenesysDeps, PollPolicy, check_ticket_id, is_terminal, status_of};
use crate::state::{PollState, RequestPart, RequestSection};

pub type Deps = GenesysDeps;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub ticket_id: String,
    /// One request (`$.export`): its id and poll state.
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub poll: Option<PollState>,
    /// A section of several (`$.deletion`): every request in it is polled.
    #[serde(default)]
    pub request: Option<RequestSection>,
    #[serde(with = "erasure_core::time::utc_z")]
    pub give_up_at: DateTime<Utc>,
}

/// The poll state of the one request, or the section with every request polled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Output {
    One(PollState),
    Section(RequestSection),
}

impl Output {
    /// The poll state: the one request's, or the section's over all its requests.
    pub fn poll_state(&self) -> &PollState {
        match self {
            Output::One(p) => p,
            Output::Section(s) => &s.poll,
        }
    }
}

pub async fn handle(deps: &Deps, input: Input) -> Result<Output, StepError> {
    let ticket_id = check_ticket_id(&input.ticket_id)?;
    match (input.request, input.request_id, input.poll) {
        (Some(section), None, None) => poll_section(deps, ticket_id, section, input.give_up_at)
            .await
            .map(Output::Section),
        (None, Some(request_id), Some(poll)) => {
            poll_one(deps, ticket_id, &request_id, poll, input.give_up_at)
                .await
                .map(Output::One)
        }
        _ => Err(StepError::input(
            "Poll takes either requestId and poll, or request",
        )),
    }
}

async fn poll_one(
    deps: &Deps,
    ticket_id: &str,
    request_id: &str,
    poll: PollState,
    give_up_at: DateTime<Utc>,
) -> Result<PollState, StepError> {
    let request = deps.client.get_gdpr_request(request_id).await?;
    let now = deps.clock.now();
    let out = next(&deps.poll, poll, status_of(&request), give_up_at, now);
    tracing::info!(
        ticket_id,
        request_id,
        status = out.status.as_str(),
        polls = out.polls,
        wait_seconds = out.wait_seconds,
        timed_out = out.timed_out,
        "GDPR request polled"
    );
    Ok(out)
}

/// Every request of the section that has not ended is looked at once; the section's
/// own poll state is then their sum ([`overall`]).
async fn poll_section(
    deps: &Deps,
    ticket_id: &str,
    mut section: RequestSection,
    give_up_at: DateTime<Utc>,
) -> Result<RequestSection, StepError> {
    if section.parts.is_empty() {
        let id = section.request_id.clone();
        section.poll = poll_one(deps, ticket_id, &id, section.poll, give_up_at).await?;
        return Ok(section);
    }
    for part in section.parts.iter_mut().filter(|p| !p.poll.done) {
        part.poll = poll_one(
            deps,
            ticket_id,
            &part.request_id,
            part.poll.clone(),
            give_up_at,
        )
        .await?;
    }
    section.poll = overall(Some(section.poll), &section.parts, deps.clock.now());
    Ok(section)
}

/// The poll state of several requests taken together: COMPLETED when all are, ERROR
/// when all have ended and one is in ERROR (the others are still seen to their end,
/// so the record says what each did), else the first running one's status; timed out
/// when one is; the next wait is the shortest any running one asks for.
pub fn overall(
    previous: Option<PollState>,
    parts: &[RequestPart],
    now: DateTime<Utc>,
) -> PollState {
    let done = parts.iter().all(|p| p.poll.done);
    let status = if parts.iter().all(|p| p.poll.status == "COMPLETED") {
        "COMPLETED".to_owned()
    } else if done {
        "ERROR".to_owned()
    } else {
        (parts.iter().find(|p| !p.poll.done))
            .map_or_else(|| "UNKNOWN".to_owned(), |p| p.poll.status.clone())
    };
    let timed_out = !done && parts.iter().any(|p| p.poll.timed_out);
    let wait_seconds = if done || timed_out {
        0
    } else {
        (parts.iter().filter(|p| !p.poll.done))
            .map(|p| p.poll.wait_seconds)
            .min()
            .unwrap_or(0)
    };
    let (mut history, polls) = match previous {
        Some(p) => (p.history, p.polls.saturating_add(1)),
        None => (Vec::new(), 0),
    };
    if history.last().map(|h| h.status.as_str()) != Some(status.as_str()) {
        history.push(StatusObservation {
            status: status.clone(),
            observed_at: now,
        });
    }
    PollState {
        status,
        done,
        timed_out,
        wait_seconds,
        polls,
        history,
    }
}

/// The poll state after observing `status` at `now`.
pub fn next(
    policy: &PollPolicy,
    mut poll: PollState,
    status: String,
    give_up_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> PollState {
    if poll.history.last().map(|h| h.status.as_str()) != Some(status.as_str()) {
        poll.history.push(StatusObservation {
            status: status.clone(),
            observed_at: now,
        });
    }
    poll.polls = poll.polls.saturating_add(1);
    poll.done = is_terminal(&status);
    poll.status = status;
    let first_seen = poll.history.first().map_or(now, |h| h.observed_at);
    let budget = chrono::Duration::from_std(policy.min_budget).unwrap_or(chrono::Duration::MAX);
    let give_up = give_up_at.max(first_seen + budget);
    if poll.done {
        poll.wait_seconds = 0;
        poll.timed_out = false;
    } else if now >= give_up {
        poll.wait_seconds = 0;
        poll.timed_out = true;
    } else {
        let left = u64::try_from((give_up - now).num_seconds())
            .unwrap_or(0)
            .max(1);
        poll.wait_seconds = policy.wait_after(poll.polls).min(left);
        poll.timed_out = false;
    }
    poll
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn start(at: &str) -> PollState {
        PollState {
            status: "INITIATED".into(),
            done: false,
            timed_out: false,
            wait_seconds: 10,
            polls: 0,
            history: vec![StatusObservation {
                status: "INITIATED".into(),
                observed_at: t(at),
            }],
        }
    }

    #[test]
    fn history_keeps_status_changes_only_and_waits_back_off() {
        let p = PollPolicy::default();
        let give_up = t("2026-12-10T00:00:00Z");
        let s = next(
            &p,
            start("2026-11-22T11:00:00Z"),
            "SEARCHING".into(),
            give_up,
            t("2026-11-22T11:00:10Z"),
        );
        let s = next(
            &p,
            s,
            "SEARCHING".into(),
            give_up,
            t("2026-11-22T11:00:30Z"),
        );
        assert_eq!(s.wait_seconds, 40);
        assert_eq!(s.history.len(), 2);
        let s = next(
            &p,
            s,
            "COMPLETED".into(),
            give_up,
            t("2026-11-22T11:01:10Z"),
        );
        assert!(s.done && !s.timed_out);
        assert_eq!(s.wait_seconds, 0);
        let statuses: Vec<&str> = s.history.iter().map(|h| h.status.as_str()).collect();
        assert_eq!(statuses, ["INITIATED", "SEARCHING", "COMPLETED"]);
    }

    #[test]
    fn the_wait_never_runs_past_the_give_up_time_and_then_times_out() {
        let p = PollPolicy::default();
        // Submitted long ago: the minimum budget has passed too.
        let first = "2026-11-01T00:00:00Z";
        let give_up = t("2026-11-22T11:00:25Z");
        let mut s = start(first);
        s.polls = 9;
        let s = next(&p, s, "DELETING".into(), give_up, t("2026-11-22T11:00:00Z"));
        assert_eq!(s.wait_seconds, 25, "capped at the give-up time");
        let s = next(&p, s, "DELETING".into(), give_up, t("2026-11-22T11:00:25Z"));
        assert!(s.timed_out && !s.done);
    }

    #[test]
    fn a_request_submitted_after_the_give_up_time_still_gets_its_minimum_budget() {
        let p = PollPolicy::default();
        let give_up = t("2026-11-20T00:00:00Z");
        let s = next(
            &p,
            start("2026-11-22T11:00:00Z"),
            "SEARCHING".into(),
            give_up,
            t("2026-11-22T11:00:10Z"),
        );
        assert!(!s.timed_out);
        assert_eq!(s.wait_seconds, 20);
    }
}
