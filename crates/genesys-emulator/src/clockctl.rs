//! A clock the emulator owns and the admin API can steer: advance, freeze, speed.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use clock::{Clock, Sleep, SystemClock};

/// Emulated time running at `speed` times real time (0 = frozen), from a start
/// instant, that can also jump ahead.
#[derive(Debug)]
pub struct ControlledClock {
    inner: Mutex<Inner>,
}

#[derive(Debug, Clone, Copy)]
struct Inner {
    origin_real: Instant,
    origin: DateTime<Utc>,
    speed: f64,
}

impl ControlledClock {
    /// Starts at `start`, running at `speed` (finite, >= 0).
    pub fn new(start: DateTime<Utc>, speed: f64) -> Result<Self, String> {
        check_speed(speed)?;
        Ok(Self {
            inner: Mutex::new(Inner {
                origin_real: Instant::now(),
                origin: start,
                speed,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock holds plain numbers that are still valid.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now_of(i: &Inner) -> DateTime<Utc> {
        let real = i.origin_real.elapsed().as_secs_f64() * i.speed;
        later(
            i.origin,
            Duration::try_from_secs_f64(real).unwrap_or(Duration::MAX),
        )
    }

    /// Jumps ahead by `d`.
    pub fn advance(&self, d: Duration) {
        let mut i = self.lock();
        let now = Self::now_of(&i);
        i.origin = later(now, d);
        i.origin_real = Instant::now();
    }

    /// Runs at `speed` times real time from now on (0 freezes).
    pub fn set_speed(&self, speed: f64) -> Result<(), String> {
        check_speed(speed)?;
        let mut i = self.lock();
        let now = Self::now_of(&i);
        *i = Inner {
            origin_real: Instant::now(),
            origin: now,
            speed,
        };
        Ok(())
    }

    pub fn speed(&self) -> f64 {
        self.lock().speed
    }
}

/// `t + d`, saturating at the end of representable time.
fn later(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn check_speed(speed: f64) -> Result<(), String> {
    if speed.is_finite() && (0.0..=1_000_000.0).contains(&speed) {
        Ok(())
    } else {
        Err(format!(
            "speed must be a number within 0..=1000000 (0 freezes), got {speed}"
        ))
    }
}

impl Clock for ControlledClock {
    fn now(&self) -> DateTime<Utc> {
        Self::now_of(&self.lock())
    }

    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        let target = later(self.now(), duration);
        Box::pin(async move {
            // Re-read the clock in short real-time steps: it may be sped up, frozen or
            // advanced while we wait.
            loop {
                let now = self.now();
                if now >= target {
                    return;
                }
                let speed = self.speed();
                let step = if speed > 0.0 {
                    let left = (target - now).to_std().unwrap_or_default().div_f64(speed);
                    left.min(Duration::from_millis(200))
                } else {
                    Duration::from_millis(50)
                };
                SystemClock.sleep(step.max(Duration::from_millis(1))).await;
            }
        })
    }
}
