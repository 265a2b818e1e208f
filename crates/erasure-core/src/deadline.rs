//! The Art. 12(3) deadline clock. See `docs/deadline-clock.md` for the rules and
//! worked examples.
//!
//! A month is a calendar month (Regulation 1182/71 Art. 3(2)(c)): the period ends at
//! the end of the day in the last month bearing the same date as the day the clock
//! started, or at the end of that month's last day where there is none. Days are days
//! in the controller's time zone.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// What starts the one-month clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ClockBasis {
    /// Receipt of the request (the default, and the reading of Art. 12(3)).
    Receipt,
    /// Identity verification, where the controller had to verify first (Art. 12(6)).
    Verification,
}

/// The deployment's clock settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadlineConfig {
    pub clock_basis: ClockBasis,
    /// The controller's time zone: which calendar day an instant falls on.
    pub time_zone: Tz,
    /// Public holidays (not business days) for the service level and the optional
    /// roll-forward.
    pub holidays: BTreeSet<NaiveDate>,
    /// Genesys is first called within this many business days of verification.
    pub service_level_business_days: u32,
    /// Reg. 1182/71 Art. 3(4): a period ending on a Saturday, Sunday or public holiday
    /// ends at the end of the next working day. Off by default: the earlier date is
    /// never wrong, the later one depends on the holiday calendar being right.
    pub roll_forward_to_working_day: bool,
}

impl Default for DeadlineConfig {
    fn default() -> Self {
        Self {
            clock_basis: ClockBasis::Receipt,
            time_zone: Tz::UTC,
            holidays: BTreeSet::new(),
            service_level_business_days: 3,
            roll_forward_to_working_day: false,
        }
    }
}

impl DeadlineConfig {
    /// Parses an IANA time zone name (`Europe/Dublin`).
    pub fn parse_time_zone(name: &str) -> Result<Tz, ConfigError> {
        name.trim()
            .parse::<Tz>()
            .map_err(|_| ConfigError::UnknownTimeZone)
    }
}

/// `date` plus `months` calendar months, clamped to the last day of the target month
/// (31 January + 1 = 28/29 February; 31 January + 3 = 30 April). Always computed from
/// the original date, never chained month by month.
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    let total = date.year() * 12 + date.month0() as i32 + months as i32;
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12) as u32);
    let last = last_day_of_month(year, month0 + 1);
    NaiveDate::from_ymd_opt(year, month0 + 1, date.day().min(last)).unwrap_or(date)
}

fn last_day_of_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

/// The calendar day `instant` falls on in `tz`.
pub fn local_date(instant: DateTime<Utc>, tz: Tz) -> NaiveDate {
    instant.with_timezone(&tz).date_naive()
}

/// The first instant of local day `date` in `tz`. Where midnight does not exist
/// (a DST jump at 00:00) it is the first instant that does; where it happens twice,
/// the earlier.
pub fn start_of_day(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    local_instant(date, NaiveTime::MIN, tz)
}

/// The end of local day `date`: exclusive, i.e. the start of the next day. An instant
/// is on or before the end of `date` exactly when it is `< end_of_day(date)`.
pub fn end_of_day(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    start_of_day(date.succ_opt().unwrap_or(date), tz)
}

fn local_instant(date: NaiveDate, time: NaiveTime, tz: Tz) -> DateTime<Utc> {
    let mut wall = date.and_time(time);
    // A DST gap is at most a few hours; step over it a minute at a time.
    for _ in 0..(24 * 60) {
        match tz.from_local_datetime(&wall) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(early, _) => return early.with_timezone(&Utc),
            LocalResult::None => wall += Duration::minutes(1),
        }
    }
    Utc.from_utc_datetime(&date.and_time(time))
}

/// Monday to Friday and not a configured holiday.
pub fn is_business_day(date: NaiveDate, holidays: &BTreeSet<NaiveDate>) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&date)
}

/// The same local time of day on the `n`th business day after the day of `instant`.
/// (Verified on a Friday at 09:00 with n = 3: the next Wednesday at 09:00.)
pub fn add_business_days(
    instant: DateTime<Utc>,
    n: u32,
    tz: Tz,
    holidays: &BTreeSet<NaiveDate>,
) -> DateTime<Utc> {
    let local = instant.with_timezone(&tz);
    let mut date = local.date_naive();
    let mut counted = 0;
    while counted < n {
        match date.succ_opt() {
            Some(next) => date = next,
            None => break,
        }
        if is_business_day(date, holidays) {
            counted += 1;
        }
    }
    local_instant(date, local.time(), tz)
}

fn roll_forward(date: NaiveDate, config: &DeadlineConfig) -> NaiveDate {
    if !config.roll_forward_to_working_day {
        return date;
    }
    let mut d = date;
    while !is_business_day(d, &config.holidays) {
        match d.succ_opt() {
            Some(next) => d = next,
            None => break,
        }
    }
    d
}

/// An extension of the period by two further months (Art. 12(3)), as the ticket
/// states it: when the subject was told, and why (a code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionNotice {
    #[serde(with = "crate::time::utc_z")]
    pub notice_sent_at: DateTime<Utc>,
    pub reason_code: String,
}

/// The extended period as computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtendedDeadline {
    pub extended_due_date: NaiveDate,
    #[serde(with = "crate::time::utc_z")]
    pub notice_sent_at: DateTime<Utc>,
    pub reason_code: String,
}

/// Every value of the clock that can be known at intake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deadline {
    #[serde(with = "crate::time::utc_z")]
    pub received_at: DateTime<Utc>,
    #[serde(with = "crate::time::option_utc_z")]
    pub identity_verified_at: Option<DateTime<Utc>>,
    #[serde(with = "crate::time::utc_z")]
    pub clock_starts_at: DateTime<Utc>,
    pub clock_basis: ClockBasis,
    /// Last day of the one-month period (inclusive, controller's time zone).
    pub due_date: NaiveDate,
    pub extension: Option<ExtendedDeadline>,
    /// `extension.extended_due_date` when extended, else `due_date`.
    pub effective_due_date: NaiveDate,
    /// The first instant after the effective due date: done in time means before this.
    #[serde(with = "crate::time::utc_z")]
    pub effective_deadline_ends_at: DateTime<Utc>,
    /// The pipeline's own target for its first Genesys call.
    #[serde(with = "crate::time::utc_z")]
    pub genesys_due_by: DateTime<Utc>,
    /// The period had already ended when the pipeline took the ticket in. The erasure
    /// still runs at once: it is owed regardless.
    pub late_at_intake: bool,
}

/// Whether the erasure finished in time, from the real completion instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    pub within_deadline: bool,
    /// Whole calendar days after the effective due date (0 when within; 1 for
    /// anything on the day after).
    pub days_late: u32,
}

/// The service level: first Genesys call within N business days of verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceLevel {
    pub genesys_due_by: DateTime<Utc>,
    pub genesys_first_call_at: Option<DateTime<Utc>>,
    /// `None` while Genesys has not been called.
    pub met: Option<bool>,
}

/// The end of the first month from `clock_start`: an extension notice must be sent
/// before this instant.
pub fn first_month_ends_at(clock_start: DateTime<Utc>, config: &DeadlineConfig) -> DateTime<Utc> {
    let due = roll_forward(
        add_months(local_date(clock_start, config.time_zone), 1),
        config,
    );
    end_of_day(due, config.time_zone)
}

/// Computes the clock. `identity_verified_at` is `None` only for a ticket that will be
/// rejected; the clock then runs from receipt whatever the configuration says.
pub fn compute(
    config: &DeadlineConfig,
    received_at: DateTime<Utc>,
    identity_verified_at: Option<DateTime<Utc>>,
    extension: Option<&ExtensionNotice>,
    intake_at: DateTime<Utc>,
) -> Deadline {
    let tz = config.time_zone;
    let (clock_starts_at, clock_basis) = match (config.clock_basis, identity_verified_at) {
        (ClockBasis::Verification, Some(v)) => (v, ClockBasis::Verification),
        _ => (received_at, ClockBasis::Receipt),
    };
    let start_day = local_date(clock_starts_at, tz);
    let due_date = roll_forward(add_months(start_day, 1), config);
    let extension = extension.map(|e| ExtendedDeadline {
        extended_due_date: roll_forward(add_months(start_day, 3), config),
        notice_sent_at: e.notice_sent_at,
        reason_code: e.reason_code.clone(),
    });
    let effective_due_date = extension.as_ref().map_or(due_date, |e| e.extended_due_date);
    let effective_deadline_ends_at = end_of_day(effective_due_date, tz);
    let genesys_due_by = add_business_days(
        identity_verified_at.unwrap_or(received_at),
        config.service_level_business_days,
        tz,
        &config.holidays,
    );
    Deadline {
        received_at,
        identity_verified_at,
        clock_starts_at,
        clock_basis,
        due_date,
        extension,
        effective_due_date,
        effective_deadline_ends_at,
        genesys_due_by,
        late_at_intake: intake_at >= effective_deadline_ends_at,
    }
}

impl Deadline {
    /// Within deadline and days late, from the real completion instant.
    pub fn completion(&self, completed_at: DateTime<Utc>, tz: Tz) -> Completion {
        if completed_at < self.effective_deadline_ends_at {
            return Completion {
                within_deadline: true,
                days_late: 0,
            };
        }
        let days = (local_date(completed_at, tz) - self.effective_due_date).num_days();
        Completion {
            within_deadline: false,
            days_late: u32::try_from(days.max(1)).unwrap_or(u32::MAX),
        }
    }

    pub fn service_level(&self, genesys_first_call_at: Option<DateTime<Utc>>) -> ServiceLevel {
        ServiceLevel {
            genesys_due_by: self.genesys_due_by,
            genesys_first_call_at,
            met: genesys_first_call_at.map(|t| t <= self.genesys_due_by),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn t(s: &str) -> DateTime<Utc> {
        crate::time::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn one_month_is_a_calendar_month_clamped_to_month_end() {
        let cases = [
            ("2026-11-20", 1, "2026-12-20"),
            ("2027-01-31", 1, "2027-02-28"), // non-leap
            ("2028-01-31", 1, "2028-02-29"), // leap
            ("2027-01-30", 1, "2027-02-28"),
            ("2027-01-31", 3, "2027-04-30"), // with extension: from the start, not chained
            ("2028-01-31", 3, "2028-04-30"),
            ("2027-03-31", 1, "2027-04-30"),
            ("2027-08-31", 1, "2027-09-30"),
            ("2027-02-28", 1, "2027-03-28"), // not "end of month to end of month"
            ("2026-12-15", 1, "2027-01-15"), // year end
            ("2026-12-31", 1, "2027-01-31"),
            ("2026-11-30", 3, "2027-02-28"),
            ("2027-11-30", 3, "2028-02-29"),
        ];
        for (start, months, want) in cases {
            assert_eq!(add_months(d(start), months), d(want), "{start} + {months}");
        }
    }

    #[test]
    fn thirty_days_would_be_late_where_a_calendar_month_is_not() {
        // Received 1 Feb: the month ends 1 March, 28 days later; a 30-day count
        // would end on 3 March and be two days late.
        let c = compute(
            &DeadlineConfig::default(),
            t("2027-02-01T10:00:00Z"),
            Some(t("2027-02-01T11:00:00Z")),
            None,
            t("2027-02-01T12:00:00Z"),
        );
        assert_eq!(c.due_date, d("2027-03-01"));
        assert!(
            !c.completion(t("2027-03-03T09:00:00Z"), Tz::UTC)
                .within_deadline
        );
    }

    #[test]
    fn due_date_and_extension_follow_the_clock_basis() {
        let received = t("2027-01-31T10:00:00Z");
        let verified = Some(t("2027-02-03T09:00:00Z"));
        let notice = ExtensionNotice {
            notice_sent_at: t("2027-02-10T09:00:00Z"),
            reason_code: "complexity".into(),
        };
        let by_receipt = compute(
            &DeadlineConfig::default(),
            received,
            verified,
            Some(&notice),
            t("2027-02-03T10:00:00Z"),
        );
        assert_eq!(by_receipt.clock_basis, ClockBasis::Receipt);
        assert_eq!(by_receipt.due_date, d("2027-02-28"));
        assert_eq!(
            by_receipt.extension.as_ref().map(|e| e.extended_due_date),
            Some(d("2027-04-30"))
        );
        assert_eq!(by_receipt.effective_due_date, d("2027-04-30"));
        let config = DeadlineConfig {
            clock_basis: ClockBasis::Verification,
            ..DeadlineConfig::default()
        };
        let by_verification = compute(&config, received, verified, None, received);
        assert_eq!(by_verification.clock_starts_at, t("2027-02-03T09:00:00Z"));
        assert_eq!(by_verification.due_date, d("2027-03-03"));
        assert_eq!(by_verification.effective_due_date, d("2027-03-03"));
        // Without a verification (a ticket about to be rejected) receipt starts it.
        let unverified = compute(&config, received, None, None, received);
        assert_eq!(unverified.clock_basis, ClockBasis::Receipt);
    }

    #[test]
    fn the_day_is_the_controllers_day() {
        // 23:30 UTC on 31 January is already 1 February in Berlin.
        let received = t("2027-01-31T23:30:00Z");
        let utc = compute(&DeadlineConfig::default(), received, None, None, received);
        assert_eq!(utc.due_date, d("2027-02-28"));
        let berlin = DeadlineConfig {
            time_zone: DeadlineConfig::parse_time_zone("Europe/Berlin").unwrap(),
            ..DeadlineConfig::default()
        };
        let c = compute(&berlin, received, None, None, received);
        assert_eq!(c.due_date, d("2027-03-01"));
        // The period ends at local midnight: 23:00 UTC in winter Berlin.
        assert_eq!(c.effective_deadline_ends_at, t("2027-03-01T23:00:00Z"));
        assert!(
            c.completion(t("2027-03-01T22:59:59Z"), berlin.time_zone)
                .within_deadline
        );
        assert!(
            !c.completion(t("2027-03-01T23:00:00Z"), berlin.time_zone)
                .within_deadline
        );
    }

    #[test]
    fn unknown_time_zones_are_refused() {
        assert_eq!(
            DeadlineConfig::parse_time_zone("Europe/Atlantis"),
            Err(ConfigError::UnknownTimeZone)
        );
    }

    #[test]
    fn within_deadline_and_days_late_come_from_the_real_completion_time() {
        let c = compute(
            &DeadlineConfig::default(),
            t("2026-11-20T10:15:00Z"),
            Some(t("2026-11-22T09:00:00Z")),
            None,
            t("2026-11-22T11:00:00Z"),
        );
        assert_eq!(c.due_date, d("2026-12-20"));
        assert!(!c.late_at_intake);
        let cases = [
            ("2026-11-22T11:42:09Z", true, 0),
            ("2026-12-20T23:59:59Z", true, 0), // the whole due day counts
            ("2026-12-21T00:00:00Z", false, 1),
            ("2026-12-21T18:00:00Z", false, 1),
            ("2027-01-04T08:00:00Z", false, 15),
        ];
        for (done, within, late) in cases {
            let got = c.completion(t(done), Tz::UTC);
            assert_eq!(
                (got.within_deadline, got.days_late),
                (within, late),
                "{done}"
            );
        }
    }

    #[test]
    fn a_ticket_arriving_after_its_deadline_is_flagged_late_not_refused() {
        let c = compute(
            &DeadlineConfig::default(),
            t("2026-09-01T10:00:00Z"),
            Some(t("2026-09-02T10:00:00Z")),
            None,
            t("2026-10-05T10:00:00Z"),
        );
        assert!(c.late_at_intake);
        assert_eq!(
            c.completion(t("2026-10-05T12:00:00Z"), Tz::UTC).days_late,
            4
        );
        // The extension, when notified, moves the deadline that lateness is judged by.
        let extended = compute(
            &DeadlineConfig::default(),
            t("2026-09-01T10:00:00Z"),
            Some(t("2026-09-02T10:00:00Z")),
            Some(&ExtensionNotice {
                notice_sent_at: t("2026-09-20T10:00:00Z"),
                reason_code: "complexity".into(),
            }),
            t("2026-10-05T10:00:00Z"),
        );
        assert!(!extended.late_at_intake);
        assert_eq!(extended.effective_due_date, d("2026-12-01"));
    }

    #[test]
    fn roll_forward_moves_a_weekend_or_holiday_due_date_when_configured() {
        // Received Fri 2026-05-15 -> due Mon 2026-06-15 (no move); received
        // 2026-05-13 -> due Sat 2026-06-13 -> Mon 15, or Tue 16 if the 15th is a holiday.
        let mut config = DeadlineConfig {
            roll_forward_to_working_day: true,
            ..DeadlineConfig::default()
        };
        let r = t("2026-05-13T10:00:00Z");
        assert_eq!(compute(&config, r, None, None, r).due_date, d("2026-06-15"));
        config.holidays.insert(d("2026-06-15"));
        assert_eq!(compute(&config, r, None, None, r).due_date, d("2026-06-16"));
        config.roll_forward_to_working_day = false;
        assert_eq!(compute(&config, r, None, None, r).due_date, d("2026-06-13"));
    }

    #[test]
    fn business_days_skip_weekends_and_holidays() {
        let none = BTreeSet::new();
        let cases = [
            // (verified, holidays, want)
            ("2026-11-22T09:00:00Z", vec![], "2026-11-25T09:00:00Z"), // Sunday -> Wed
            ("2026-11-23T09:00:00Z", vec![], "2026-11-26T09:00:00Z"), // Mon -> Thu
            ("2026-11-20T09:00:00Z", vec![], "2026-11-25T09:00:00Z"), // Fri -> Wed
            ("2026-11-21T16:30:00Z", vec![], "2026-11-25T16:30:00Z"), // Sat -> Wed
            (
                "2026-12-23T09:00:00Z",
                vec!["2026-12-25", "2026-12-28"],
                "2026-12-30T09:00:00Z",
            ), // Wed; Thu 24, [Fri 25], [Mon 28], Tue 29, Wed 30
        ];
        for (from, holidays, want) in cases {
            let h: BTreeSet<NaiveDate> = holidays.iter().map(|s| d(s)).collect();
            assert_eq!(
                add_business_days(t(from), 3, Tz::UTC, &h),
                t(want),
                "{from}"
            );
        }
        assert_eq!(
            add_business_days(t("2026-11-20T09:00:00Z"), 0, Tz::UTC, &none),
            t("2026-11-20T09:00:00Z")
        );
    }

    #[test]
    fn service_level_is_met_only_by_a_call_before_the_due_instant() {
        let c = compute(
            &DeadlineConfig::default(),
            t("2026-11-20T10:15:00Z"),
            Some(t("2026-11-22T09:00:00Z")),
            None,
            t("2026-11-22T11:00:00Z"),
        );
        assert_eq!(c.genesys_due_by, t("2026-11-25T09:00:00Z"));
        assert_eq!(c.service_level(None).met, None);
        assert_eq!(
            c.service_level(Some(t("2026-11-25T09:00:00Z"))).met,
            Some(true)
        );
        assert_eq!(
            c.service_level(Some(t("2026-11-25T09:00:01Z"))).met,
            Some(false)
        );
    }

    #[test]
    fn end_of_day_survives_dst_changes() {
        let dublin: Tz = "Europe/Dublin".parse().unwrap();
        // Last Sunday of March 2027 (28th): clocks go forward at 01:00 UTC; the 28th is
        // a 23-hour day and ends at 23:00 UTC.
        assert_eq!(
            end_of_day(d("2027-03-28"), dublin),
            t("2027-03-28T23:00:00Z")
        );
        // A zone whose DST starts at midnight (Santiago, first Sunday of September
        // 2026): local midnight does not exist, the day starts at 01:00 local.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let start = start_of_day(d("2026-09-06"), santiago);
        assert_eq!(local_date(start, santiago), d("2026-09-06"));
        assert!(local_date(start - Duration::seconds(1), santiago) < d("2026-09-06"));
    }
}
