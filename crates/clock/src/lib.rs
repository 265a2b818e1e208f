//! Time as a port.
//!
//! Everything that waits or reads the time in this project (the local state-machine
//! runner, the Genesys emulator's job progress and rate limiter, the Genesys client's
//! retry back-off) takes an `Arc<dyn Clock>`, so one run can use real time while a
//! test or the demo runs a workflow that waits for hours in milliseconds.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// A boxed future returned by [`Clock::sleep`].
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A source of the current time that can also wait.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
    /// Completes once at least `duration` has passed on this clock.
    fn sleep(&self, duration: Duration) -> Sleep<'_>;
    /// Whether a sleeper wakes when its time comes while others run, so a watcher can
    /// sleep until a deadline. False for a clock that jumps ahead at every sleep
    /// ([`VirtualClock`]): sleeping there would move time for everyone.
    fn wakes_sleepers(&self) -> bool {
        false
    }
}

/// Shared handle to a clock.
pub type SharedClock = Arc<dyn Clock>;

/// Real time: `Utc::now()` and `tokio::time::sleep`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn wakes_sleepers(&self) -> bool {
        true
    }
}

/// Virtual time that jumps ahead instead of waiting.
///
/// `sleep(d)` moves the clock to at least "now at the call + d" and returns at once
/// (after yielding, so other tasks run). Many concurrent sleepers share one timeline:
/// it only moves forward, and every sleeper sees at least its own duration pass.
#[derive(Debug)]
pub struct VirtualClock {
    now: Mutex<DateTime<Utc>>,
}

impl VirtualClock {
    /// A virtual clock starting at `start`.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward by `duration` (never backward).
    pub fn advance(&self, duration: Duration) {
        let mut now = self.lock();
        *now += to_delta(duration);
    }

    /// Moves the clock to `instant` if that is later than now.
    pub fn advance_to(&self, instant: DateTime<Utc>) {
        let mut now = self.lock();
        if instant > *now {
            *now = instant;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A poisoned lock only means another thread panicked while holding a plain
        // timestamp; the value is still valid.
        self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }

    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        let target = self.now() + to_delta(duration);
        self.advance_to(target);
        Box::pin(tokio::task::yield_now())
    }
}

/// Tokio's clock, read as calendar time from `start`. Under a runtime whose time is
/// paused (`#[tokio::test(start_paused = true)]`) it is a discrete-event simulation:
/// time moves only when every task waits, straight to the earliest sleeper's
/// deadline, so many concurrent executions each see time pass as it would for them.
/// A [`VirtualClock`] instead jumps ahead at every sleep, so one execution's wait
/// passes for all the others at once: fine for one ticket, not for load.
#[derive(Debug)]
pub struct TokioClock {
    origin: tokio::time::Instant,
    start: DateTime<Utc>,
}

impl TokioClock {
    /// A clock that reads `start` now. Must be called inside a tokio runtime.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Self {
            origin: tokio::time::Instant::now(),
            start,
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + to_delta(tokio::time::Instant::now() - self.origin)
    }

    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn wakes_sleepers(&self) -> bool {
        true
    }
}

/// Real time running `factor` times faster, from the moment it is created. Lets a
/// person watch a job that takes minutes of emulated time finish in seconds.
#[derive(Debug)]
pub struct ScaledClock {
    origin_real: std::time::Instant,
    origin: DateTime<Utc>,
    factor: f64,
}

impl ScaledClock {
    /// A clock that starts at the current real time and runs `factor` times faster.
    /// `factor` must be finite and positive.
    pub fn new(factor: f64) -> Result<Self, String> {
        if !(factor.is_finite() && factor > 0.0) {
            return Err(format!(
                "clock speed must be a positive number, got {factor}"
            ));
        }
        Ok(Self {
            origin_real: std::time::Instant::now(),
            origin: Utc::now(),
            factor,
        })
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        let real = self.origin_real.elapsed().as_secs_f64() * self.factor;
        self.origin + to_delta(Duration::from_secs_f64(real))
    }

    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        Box::pin(tokio::time::sleep(duration.div_f64(self.factor)))
    }

    fn wakes_sleepers(&self) -> bool {
        true
    }
}

fn to_delta(duration: Duration) -> TimeDelta {
    // Durations beyond chrono's range (hundreds of millions of years) saturate.
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        "2026-01-31T10:00:00Z".parse().unwrap()
    }

    #[tokio::test]
    async fn virtual_sleep_of_ten_hours_advances_without_waiting() {
        let clock = VirtualClock::starting_at(t0());
        let real = std::time::Instant::now();
        clock.sleep(Duration::from_secs(10 * 3600)).await;
        assert_eq!(clock.now(), t0() + TimeDelta::hours(10));
        assert!(real.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn virtual_clock_never_moves_backward() {
        let clock = VirtualClock::starting_at(t0());
        clock.sleep(Duration::from_secs(60)).await;
        clock.advance_to(t0());
        assert_eq!(clock.now(), t0() + TimeDelta::seconds(60));
    }

    #[tokio::test]
    async fn concurrent_virtual_sleepers_share_one_timeline() {
        let clock = Arc::new(VirtualClock::starting_at(t0()));
        let (a, b) = (clock.clone(), clock.clone());
        let long = tokio::spawn(async move { a.sleep(Duration::from_secs(100)).await });
        let short = tokio::spawn(async move { b.sleep(Duration::from_secs(5)).await });
        long.await.unwrap();
        short.await.unwrap();
        // Each sleeper saw its own duration pass; neither waited for the other.
        let now = clock.now();
        assert!(now >= t0() + TimeDelta::seconds(100), "{now}");
        assert!(now <= t0() + TimeDelta::seconds(105), "{now}");
    }

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_wakes_concurrent_sleepers_in_deadline_order_without_jumping_for_all() {
        let clock = Arc::new(TokioClock::starting_at(t0()));
        let (a, b) = (clock.clone(), clock.clone());
        let long = tokio::spawn(async move {
            a.sleep(Duration::from_secs(100)).await;
            a.now()
        });
        let short = tokio::spawn(async move {
            b.sleep(Duration::from_secs(5)).await;
            b.now()
        });
        // Unlike a VirtualClock, the short sleeper wakes at its own deadline.
        assert_eq!(short.await.unwrap(), t0() + TimeDelta::seconds(5));
        assert_eq!(long.await.unwrap(), t0() + TimeDelta::seconds(100));
    }

    #[tokio::test(start_paused = true)]
    async fn scaled_clock_sleeps_a_fraction_of_real_time() {
        let clock = ScaledClock::new(60.0).unwrap();
        let start = tokio::time::Instant::now();
        clock.sleep(Duration::from_secs(60)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[test]
    fn scaled_clock_refuses_a_nonsense_speed() {
        assert!(ScaledClock::new(0.0).is_err());
        assert!(ScaledClock::new(f64::NAN).is_err());
        assert!(ScaledClock::new(-2.0).is_err());
    }
}
