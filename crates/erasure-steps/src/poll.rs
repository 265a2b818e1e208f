//! Poll (PollExport and PollDeletion): one look at a GDPR request, and how long the
//! Wait state waits before the next.
//!
//! The wait backs off (10 s doubling to 5 min) and never runs past the give-up time:
//! `giveUpAt` from the deadline clock, but at least [`PollPolicy::min_budget`] after
//! the request was first seen. Once past it, `timedOut` is set and the definition
//! writes a FAILED record with the facts.

use chrono::{DateTime, Utc};
use erasure_core::record::StatusObservation;
use serde::Deserialize;

use crate::error::StepError;
use crate::gdpr::{GenesysDeps, PollPolicy, check_ticket_id, is_terminal, status_of};
use crate::state::PollState;

pub type Deps = GenesysDeps;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub ticket_id: String,
    pub request_id: String,
    pub poll: PollState,
    #[serde(with = "erasure_core::time::utc_z")]
    pub give_up_at: DateTime<Utc>,
}

pub type Output = PollState;

pub async fn handle(deps: &Deps, input: Input) -> Result<Output, StepError> {
    let ticket_id = check_ticket_id(&input.ticket_id)?;
    let request = deps.client.get_gdpr_request(&input.request_id).await?;
    let now = deps.clock.now();
    let status = status_of(&request);
    let out = next(&deps.poll, input.poll, status, input.give_up_at, now);
    tracing::info!(
        ticket_id,
        request_id = input.request_id.as_str(),
        status = out.status.as_str(),
        polls = out.polls,
        wait_seconds = out.wait_seconds,
        timed_out = out.timed_out,
        "GDPR request polled"
    );
    Ok(out)
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
