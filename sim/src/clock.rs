//! The simulator clock: every timestamp, delay and timeout in the simulator reads it.
//!
//! `Clock::Real { scale }` runs `scale` times faster than the wall clock; `Clock::Manual`
//! stands still until a test calls `advance` (see `controllers::Engine::advance`).
//! Owns time only; running controllers when time moves belongs to the engine.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// How simulated time relates to the wall clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Clock {
    /// Time moves only through `advance`; controllers run only in `advance`/`settle`.
    Manual,
    /// Time follows the wall clock, `scale` times faster (1.0 is real time).
    Real { scale: f64 },
}

/// A point in simulated time, in milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub i64);

impl SimTime {
    pub fn plus(self, d: Duration) -> SimTime {
        SimTime(self.0.saturating_add(d.as_millis() as i64))
    }

    /// Time elapsed from `earlier` to `self`, zero if negative.
    pub fn since(self, earlier: SimTime) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0).max(0) as u64)
    }

    pub fn to_chrono(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0)
            .single()
            .unwrap_or_default()
    }

    /// RFC 3339 with second precision, as Kubernetes `Time` fields are serialized.
    pub fn rfc3339(self) -> String {
        self.to_chrono().to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// RFC 3339 with microseconds, as Kubernetes `MicroTime` fields are serialized.
    pub fn rfc3339_micro(self) -> String {
        self.to_chrono()
            .to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    pub fn parse(s: &str) -> Option<SimTime> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| SimTime(t.timestamp_millis()))
    }
}

/// Where a Manual clock starts, so that runs are reproducible.
const MANUAL_EPOCH_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// Shared clock state.
pub struct ClockCore {
    mode: Clock,
    origin_sim: i64,
    origin_real: Instant,
    manual_now: AtomicI64,
    tick: tokio::sync::watch::Sender<i64>,
}

impl ClockCore {
    pub fn new(mode: Clock) -> ClockCore {
        let origin_sim = match mode {
            Clock::Manual => MANUAL_EPOCH_MS,
            Clock::Real { .. } => Utc::now().timestamp_millis(),
        };
        ClockCore {
            mode,
            origin_sim,
            origin_real: Instant::now(),
            manual_now: AtomicI64::new(origin_sim),
            tick: tokio::sync::watch::channel(origin_sim).0,
        }
    }

    pub fn is_manual(&self) -> bool {
        matches!(self.mode, Clock::Manual)
    }

    pub fn now(&self) -> SimTime {
        match self.mode {
            Clock::Manual => SimTime(self.manual_now.load(Ordering::SeqCst)),
            Clock::Real { scale } => {
                let real = self.origin_real.elapsed().as_secs_f64() * 1000.0 * scale;
                SimTime(self.origin_sim + real as i64)
            }
        }
    }

    /// Moves a Manual clock forward to `t` (never backwards). No-op for a Real clock.
    pub fn set_manual(&self, t: SimTime) {
        if self.is_manual() {
            let prev = self.manual_now.fetch_max(t.0, Ordering::SeqCst);
            if t.0 > prev {
                self.tick.send_replace(t.0);
            }
        }
    }

    /// The wall-clock time that `d` of simulated time takes; `None` on a Manual clock.
    pub fn real_duration(&self, d: Duration) -> Option<Duration> {
        match self.mode {
            Clock::Manual => None,
            Clock::Real { scale } if scale > 0.0 => Some(d.div_f64(scale)),
            Clock::Real { .. } => Some(d),
        }
    }

    /// Waits until simulated time reaches `t`.
    pub async fn sleep_until(&self, t: SimTime) {
        match self.mode {
            Clock::Real { .. } => loop {
                let now = self.now();
                if now >= t {
                    return;
                }
                let wait = self.real_duration(t.since(now)).unwrap_or_default();
                tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
            },
            Clock::Manual => {
                let mut rx = self.tick.subscribe();
                while self.now() < t {
                    if rx.changed().await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
