//! How long a record stays locked.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};

use crate::error::ArchiveError;

/// The default retention: seven calendar years from the moment the record was written.
pub const DEFAULT_RETENTION_YEARS: u32 = 7;

/// The archive's retention policy: a number of calendar years from `writtenAt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    years: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            years: DEFAULT_RETENTION_YEARS,
        }
    }
}

impl RetentionPolicy {
    /// A policy of `years` calendar years (1 to 100).
    pub fn years(years: u32) -> Result<Self, ArchiveError> {
        if (1..=100).contains(&years) {
            Ok(Self { years })
        } else {
            Err(ArchiveError::misconfigured(format!(
                "retention of {years} years: expected 1 to 100"
            )))
        }
    }

    pub fn in_years(&self) -> u32 {
        self.years
    }

    /// `written_at` plus the policy's calendar years, same time of day.
    ///
    /// A record written on 29 February is kept until 1 March of the target year when
    /// that year has no 29 February: rounding down would keep it a day short.
    pub fn retain_until(&self, written_at: DateTime<Utc>) -> DateTime<Utc> {
        let date = written_at.date_naive();
        let target_year = date.year() + self.years as i32;
        let target = NaiveDate::from_ymd_opt(target_year, date.month(), date.day())
            .or_else(|| {
                // Only 29 February lacks a counterpart; 1 March follows it.
                NaiveDate::from_ymd_opt(target_year, 3, 1)
            })
            .unwrap_or(NaiveDate::MAX);
        let time_of_day = written_at.time();
        target.and_time(time_of_day).and_utc()
    }

    /// Whether a lock until `lock_until` satisfies this policy for a record written at
    /// `written_at`.
    pub fn is_met_by(&self, written_at: DateTime<Utc>, lock_until: DateTime<Utc>) -> bool {
        lock_until >= self.retain_until(written_at)
    }
}

/// The later of two instants: the archive locks a record at least as long as both its
/// policy and the record itself ask.
pub fn later(a: DateTime<Utc>, b: DateTime<Utc>) -> DateTime<Utc> {
    if a >= b { a } else { b }
}

/// S3 keeps lock dates to the second on some paths and to the millisecond on others;
/// compare at millisecond precision so a faithful round trip is not reported as short.
pub fn truncate_to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    let excess = t.timestamp_subsec_nanos() % 1_000_000;
    t - TimeDelta::nanoseconds(i64::from(excess))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("date")
    }

    #[test]
    fn default_is_seven_calendar_years_to_the_millisecond() {
        assert_eq!(
            RetentionPolicy::default().retain_until(at("2026-11-22T11:42:10.512Z")),
            at("2033-11-22T11:42:10.512Z")
        );
    }

    #[test]
    fn leap_day_rounds_up_never_down() {
        let p = RetentionPolicy::years(7).expect("policy");
        assert_eq!(
            p.retain_until(at("2028-02-29T08:00:00Z")),
            at("2035-03-01T08:00:00Z")
        );
        let p = RetentionPolicy::years(4).expect("policy");
        assert_eq!(
            p.retain_until(at("2028-02-29T08:00:00Z")),
            at("2032-02-29T08:00:00Z")
        );
    }

    #[test]
    fn policy_is_met_only_by_a_lock_at_least_as_long() {
        let p = RetentionPolicy::default();
        let w = at("2026-11-22T11:42:10.512Z");
        assert!(p.is_met_by(w, at("2033-11-22T11:42:10.512Z")));
        assert!(p.is_met_by(w, at("2040-01-01T00:00:00Z")));
        assert!(!p.is_met_by(w, at("2033-11-22T11:42:10.511Z")));
    }

    #[test]
    fn silly_policies_are_refused() {
        assert!(RetentionPolicy::years(0).is_err());
        assert!(RetentionPolicy::years(101).is_err());
    }
}
