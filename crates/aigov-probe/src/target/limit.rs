//! Per-target limits: concurrency (a semaphore), request and token rates (token buckets), a
//! global pause after `Retry-After`, retry backoff with seeded jitter, and a circuit breaker.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::util::Rng;

/// A token bucket refilled continuously.
#[derive(Debug)]
struct Bucket {
    capacity: f64,
    tokens: f64,
    per_sec: f64,
    last: Instant,
}

impl Bucket {
    fn new(capacity: f64, per_sec: f64) -> Bucket {
        Bucket {
            capacity,
            tokens: capacity,
            per_sec,
            last: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * self.per_sec).min(self.capacity);
        self.last = now;
    }

    /// Takes `n` tokens now or says how long to wait. A request bigger than the bucket waits
    /// for a full bucket and then takes it all (it can never fit otherwise).
    fn take(&mut self, n: f64, now: Instant) -> Option<Duration> {
        self.refill(now);
        let need = n.min(self.capacity);
        if self.tokens >= need {
            self.tokens -= n;
            None
        } else {
            Some(Duration::from_secs_f64(
                ((need - self.tokens) / self.per_sec).max(0.0005),
            ))
        }
    }
}

/// Concurrency and rate limits of one target.
#[derive(Debug)]
pub struct Limiter {
    sem: Semaphore,
    rps: Option<Mutex<Bucket>>,
    tpm: Option<Mutex<Bucket>>,
    pause_until: Mutex<Option<Instant>>,
}

impl Limiter {
    /// `concurrency` requests in flight at most; `rps` requests per second (burst of a tenth
    /// of a second, at least one); `tpm` tokens per minute (burst of one minute).
    pub fn new(concurrency: usize, rps: Option<f64>, tpm: Option<u64>) -> Limiter {
        Limiter {
            sem: Semaphore::new(concurrency.max(1)),
            rps: rps
                .filter(|r| *r > 0.0)
                .map(|r| Mutex::new(Bucket::new((r / 10.0).max(1.0), r))),
            tpm: tpm
                .filter(|t| *t > 0)
                .map(|t| Mutex::new(Bucket::new(t as f64, t as f64 / 60.0))),
            pause_until: Mutex::new(None),
        }
    }

    /// Waits for a concurrency slot, the end of any pause, a request token and `tokens`
    /// tokens of the per-minute budget.
    pub async fn acquire(&self, tokens: u64) -> SemaphorePermit<'_> {
        // The semaphore is never closed.
        let permit = match self.sem.acquire().await {
            Ok(p) => p,
            Err(_) => unreachable_permit(),
        };
        loop {
            let until = *lock(&self.pause_until);
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => break,
            }
        }
        if let Some(b) = &self.rps {
            wait_bucket(b, 1.0).await;
        }
        if let Some(b) = &self.tpm {
            wait_bucket(b, tokens as f64).await;
        }
        permit
    }

    /// Corrects the token budget once the real usage is known (it may go into debt).
    pub fn settle(&self, estimated: u64, actual: u64) {
        if let Some(b) = &self.tpm {
            let mut b = lock(b);
            b.tokens -= actual as f64 - estimated as f64;
            b.tokens = b.tokens.min(b.capacity);
        }
    }

    /// Pauses every request to this target for `d` (a `Retry-After` on a 429 or 503).
    pub fn pause_for(&self, d: Duration) {
        let t = Instant::now() + d;
        let mut p = lock(&self.pause_until);
        if p.is_none_or(|x| x < t) {
            *p = Some(t);
        }
    }
}

fn unreachable_permit() -> ! {
    panic!("the limiter's semaphore is never closed")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn wait_bucket(b: &Mutex<Bucket>, n: f64) {
    loop {
        let wait = lock(b).take(n, Instant::now());
        match wait {
            None => return,
            Some(d) => tokio::time::sleep(d).await,
        }
    }
}

/// Retry timing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first try.
    pub retries: u32,
    /// First backoff.
    pub base: Duration,
    /// Longest backoff.
    pub cap: Duration,
    /// Longest `Retry-After` honoured; a longer one ends the retries.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based). Exponential with "equal jitter"
    /// (half fixed, half uniform), never below `base`, capped at `cap`. With a `Retry-After`,
    /// that wait plus up to 10 % (at most 1 s) of jitter so that clients do not return in step.
    pub fn backoff(&self, attempt: u32, retry_after: Option<Duration>, rng: &mut Rng) -> Duration {
        if let Some(ra) = retry_after {
            let extra = (ra.as_secs_f64() * 0.1).min(1.0) * rng.unit();
            return ra + Duration::from_secs_f64(extra);
        }
        let exp = self.base.as_secs_f64() * 2f64.powi(attempt.min(30) as i32);
        let d = exp.min(self.cap.as_secs_f64());
        let half = d / 2.0;
        Duration::from_secs_f64((half + half * rng.unit()).max(self.base.as_secs_f64().min(d)))
    }
}

/// Stops a run when a target keeps failing: `threshold` consecutive failed attempts (after
/// their retries) trip it; one success resets the count.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    consecutive: AtomicU32,
    tripped: AtomicBool,
    last_error: Mutex<Option<String>>,
}

impl Breaker {
    /// A breaker; 0 disables it.
    pub fn new(threshold: u32) -> Breaker {
        Breaker {
            threshold,
            consecutive: AtomicU32::new(0),
            tripped: AtomicBool::new(false),
            last_error: Mutex::new(None),
        }
    }

    /// Records a success.
    pub fn success(&self) {
        self.consecutive.store(0, Ordering::Relaxed);
    }

    /// Records a failure; true when this one trips the breaker.
    pub fn failure(&self, message: &str) -> bool {
        *lock(&self.last_error) = Some(message.to_string());
        let n = self.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
        if self.threshold > 0 && n >= self.threshold {
            return !self.tripped.swap(true, Ordering::Relaxed);
        }
        false
    }

    /// Whether it has tripped.
    pub fn tripped(&self) -> bool {
        self.tripped.load(Ordering::Relaxed)
    }

    /// The message to stop a run with.
    pub fn message(&self, target: &str) -> String {
        format!(
            "target {target} failed {} times in a row (last error: {}); the run stopped. Fix the target, then continue with `aigov probe run --resume DIR`",
            self.threshold,
            lock(&self.last_error).as_deref().unwrap_or("unknown")
        )
    }
}

/// Parses a `Retry-After` value: delay-seconds (integer or decimal) or an HTTP-date
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), the latter relative to `now_ms` (Unix milliseconds).
pub fn parse_retry_after(v: &str, now_ms: u64) -> Option<Duration> {
    let v = v.trim();
    if let Ok(s) = v.parse::<f64>() {
        return (s.is_finite() && s >= 0.0).then(|| Duration::from_secs_f64(s.min(86_400.0)));
    }
    let at = parse_http_date(v)?;
    Some(Duration::from_millis(at.saturating_sub(now_ms)))
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) → Unix milliseconds.
fn parse_http_date(s: &str) -> Option<u64> {
    let (_, rest) = s.split_once(", ")?;
    let parts: Vec<&str> = rest.split_whitespace().collect();
    if parts.len() != 5 || parts[4] != "GMT" {
        return None;
    }
    let day: u32 = parts[0].parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[1])? as u32
        + 1;
    let year: i64 = parts[2].parse().ok()?;
    let hms: Vec<u64> = parts[3]
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if hms.len() != 3 || hms[0] > 23 || hms[1] > 59 || hms[2] > 60 || !(1..=31).contains(&day) {
        return None;
    }
    let days = crate::util::days_from_civil(year, month, day);
    let secs = days.checked_mul(86_400)? + (hms[0] * 3600 + hms[1] * 60 + hms[2]) as i64;
    u64::try_from(secs).ok().map(|s| s * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("2", 0), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("0.5", 0),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_retry_after("-1", 0), None);
        // 1994-11-06T08:49:37Z = 784111777 s.
        let now = 784_111_770_000;
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now + 60_000),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }

    #[test]
    fn backoff_grows_with_jitter_and_honours_retry_after() {
        let p = RetryPolicy {
            retries: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(60),
        };
        let mut rng = Rng::new(1);
        for a in 0..8 {
            let d = p.backoff(a, None, &mut rng);
            let full = (0.1 * 2f64.powi(a as i32)).min(2.0);
            assert!(
                d.as_secs_f64() >= full / 2.0 - 1e-9 && d.as_secs_f64() <= full + 1e-9,
                "{a}: {d:?}"
            );
        }
        let d = p.backoff(0, Some(Duration::from_secs(3)), &mut rng);
        assert!(d >= Duration::from_secs(3) && d <= Duration::from_millis(3300));
        // Same seed, same waits.
        let a: Vec<_> = (0..4)
            .map(|i| p.backoff(i, None, &mut Rng::new(9)))
            .collect();
        let b: Vec<_> = (0..4)
            .map(|i| p.backoff(i, None, &mut Rng::new(9)))
            .collect();
        assert_eq!(a, b);
    }

    #[test]
    fn breaker_trips_once_and_resets() {
        let b = Breaker::new(3);
        assert!(!b.failure("x"));
        b.success();
        assert!(!b.failure("x"));
        assert!(!b.failure("x"));
        assert!(b.failure("boom"));
        assert!(b.tripped());
        assert!(!b.failure("again"));
        assert!(
            b.message("t")
                .contains("3 times in a row (last error: again)")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limit_spaces_requests() {
        let l = Limiter::new(100, Some(10.0), None);
        let start = Instant::now();
        for _ in 0..21 {
            drop(l.acquire(0).await);
        }
        // Burst of 1, then 10 per second: 20 more tokens take 2 s.
        let el = start.elapsed().as_secs_f64();
        assert!((1.99..2.1).contains(&el), "{el}");
    }

    #[tokio::test(start_paused = true)]
    async fn token_budget_and_pause() {
        let l = Limiter::new(4, None, Some(600)); // 10 tokens/s, burst 600
        let start = Instant::now();
        drop(l.acquire(600).await);
        drop(l.acquire(100).await); // waits 10 s
        assert!((9.9..10.2).contains(&start.elapsed().as_secs_f64()));
        l.pause_for(Duration::from_secs(5));
        let t = Instant::now();
        drop(l.acquire(0).await);
        assert!(t.elapsed() >= Duration::from_secs(5));
    }
}
