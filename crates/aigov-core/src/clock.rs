//! Time as an input. Everything that stamps or compares times takes a [`Clock`], so audit
//! timestamps, session expiry and throttling are testable without sleeping.

use std::sync::Mutex;

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

/// A UTC instant with millisecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// From Unix milliseconds.
    pub fn from_unix_millis(ms: i64) -> Timestamp {
        let t = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Timestamp(t)
    }

    /// Unix milliseconds.
    pub fn unix_millis(self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// `2026-11-21T10:00:00.123Z`: fixed width, so text order is time order.
    pub fn to_rfc3339(self) -> String {
        let t = self.0.to_offset(UtcOffset::UTC);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }

    /// Parses RFC 3339 (any offset), truncating to milliseconds.
    pub fn parse(s: &str) -> Result<Timestamp, String> {
        OffsetDateTime::parse(s, &Rfc3339)
            .map(|t| Timestamp::from_unix_millis((t.unix_timestamp_nanos() / 1_000_000) as i64))
            .map_err(|e| format!("{s:?} is not an RFC 3339 timestamp: {e}"))
    }

    /// This instant plus `seconds`.
    pub fn plus_seconds(self, seconds: i64) -> Timestamp {
        Timestamp(self.0 + Duration::seconds(seconds))
    }

    /// Seconds from `earlier` to `self` (negative when `earlier` is later).
    pub fn seconds_since(self, earlier: Timestamp) -> i64 {
        (self.0 - earlier.0).whole_seconds()
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Timestamp {
        let t = OffsetDateTime::now_utc();
        Timestamp::from_unix_millis((t.unix_timestamp_nanos() / 1_000_000) as i64)
    }
}

/// A clock that only moves when told to, for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    /// A clock stopped at `t`.
    pub fn new(t: Timestamp) -> ManualClock {
        ManualClock(Mutex::new(t))
    }

    /// Moves the clock forward.
    pub fn advance(&self, seconds: i64) {
        if let Ok(mut t) = self.0.lock() {
            *t = t.plus_seconds(seconds);
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        self.0
            .lock()
            .map(|t| *t)
            .unwrap_or(Timestamp::from_unix_millis(0))
    }
}
