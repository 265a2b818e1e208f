//! Matching errors against ErrorEquals, and the retry back-off.

use std::time::Duration;

use crate::definition::Retrier;
use crate::error::StateError;

/// Whether an error matches an `ErrorEquals` list.
///
/// - `States.Runtime` matches nothing: AWS never retries or catches it.
/// - `States.ALL` matches any other error.
/// - `States.TaskFailed` matches any error except the timeouts.
/// - `States.Timeout` also matches `States.HeartbeatTimeout` (AWS documents a missed
///   heartbeat as one kind of Task timeout).
/// - `States.BranchFailed` matches an error a Parallel branch or Map iteration raised.
pub(crate) fn matches(names: &[String], e: &StateError, from_branch: bool) -> bool {
    if e.is_runtime() || e.error == "States.DataLimitExceeded" {
        return false;
    }
    let timeout = e.error == "States.Timeout" || e.error == "States.HeartbeatTimeout";
    names.iter().any(|n| {
        n == &e.error
            || n == "States.ALL"
            || (n == "States.TaskFailed" && !timeout)
            || (n == "States.Timeout" && e.error == "States.HeartbeatTimeout")
            || (n == "States.BranchFailed" && from_branch)
    })
}

/// The wait before retry number `done + 1` of this retrier:
/// `IntervalSeconds * BackoffRate^done`, capped by `MaxDelaySeconds`, and with
/// `JitterStrategy: FULL` a random point between 0 and that (`unit` is uniform in [0, 1)).
pub(crate) fn delay(r: &Retrier, done: u64, unit: f64) -> Duration {
    let exp = i32::try_from(done).unwrap_or(i32::MAX);
    let mut secs = r.interval_seconds as f64 * r.backoff_rate.powi(exp);
    if let Some(cap) = r.max_delay_seconds {
        secs = secs.min(cap as f64);
    }
    // Step Functions' own ceiling for any single wait is a year; it also keeps
    // Duration::from_secs_f64 from overflowing on a huge backoff.
    secs = secs.min(31_622_400.0);
    if r.jitter_full {
        secs *= unit;
    }
    Duration::from_secs_f64(secs.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retrier(interval: u64, rate: f64, cap: Option<u64>, jitter: bool) -> Retrier {
        Retrier {
            errors: vec!["States.ALL".into()],
            interval_seconds: interval,
            max_attempts: 3,
            backoff_rate: rate,
            max_delay_seconds: cap,
            jitter_full: jitter,
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let r = retrier(2, 2.0, Some(5), false);
        assert_eq!(delay(&r, 0, 0.5), Duration::from_secs(2));
        assert_eq!(delay(&r, 1, 0.5), Duration::from_secs(4));
        assert_eq!(delay(&r, 2, 0.5), Duration::from_secs(5));
        let j = retrier(2, 2.0, None, true);
        assert_eq!(delay(&j, 1, 0.25), Duration::from_secs(1));
    }

    #[test]
    fn runtime_errors_are_never_matched() {
        let e = StateError::runtime("x");
        assert!(!matches(&["States.ALL".into()], &e, false));
        assert!(!matches(&["States.Runtime".into()], &e, false));
        let t = StateError::new("States.Timeout", "");
        assert!(!matches(&["States.TaskFailed".into()], &t, false));
        assert!(matches(
            &["States.TaskFailed".into()],
            &StateError::new("Boom", ""),
            false
        ));
    }
}
