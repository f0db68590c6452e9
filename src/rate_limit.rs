//! Fixed-window rate limits, counted as rack-attack counts them: at most `requests` per key in
//! each window, windows aligned on the Unix epoch, and a refused request told the seconds left
//! until its window ends. The counters live in this process or, shared by every instance, in
//! PostgreSQL.

mod memory;
mod postgres;

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use memory::MemoryCounters;

/// How often an instance deletes the counters of windows that have ended.
const SWEEP_EVERY_SECONDS: i64 = 60;

/// A request limit: `requests` in each `window`.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub requests: NonZeroU32,
    /// The window.
    pub window: Duration,
}

/// The window an instant falls in, for one limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Window {
    start: i64,
    end: i64,
}

impl Window {
    fn at(now: DateTime<Utc>, limit: RateLimit) -> Self {
        let length = i64::try_from(limit.window.as_secs().max(1)).unwrap_or(i64::MAX);
        let start = now.timestamp().div_euclid(length) * length;
        Self {
            start,
            end: start.saturating_add(length),
        }
    }
}

/// Where the counters are kept.
enum Counters {
    Memory(MemoryCounters),
    Postgres(PgPool),
}

/// Counts requests per key in fixed windows.
pub struct RateLimiter {
    counters: Counters,
    last_sweep: AtomicI64,
}

impl RateLimiter {
    /// Counters in this process: one quota per instance.
    pub fn in_memory() -> Self {
        Self::with(Counters::Memory(MemoryCounters::default()))
    }

    /// Counters in PostgreSQL: one quota across every instance on the database.
    pub fn postgres(pool: PgPool) -> Self {
        Self::with(Counters::Postgres(pool))
    }

    fn with(counters: Counters) -> Self {
        Self {
            counters,
            last_sweep: AtomicI64::new(0),
        }
    }

    /// Counts one request for `key` at `now`: `None` lets it through, `Some(seconds)` refuses
    /// it until its window ends that many seconds later.
    pub async fn hit(
        &self,
        key: &str,
        limit: RateLimit,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, sqlx::Error> {
        let window = Window::at(now, limit);
        self.sweep(now);
        let hits = match &self.counters {
            Counters::Memory(counters) => counters.hit(key, window),
            Counters::Postgres(pool) => {
                let mut conn = projections::pool::acquire(pool).await?;
                postgres::hit(&mut *conn, key, window).await?
            }
        };
        if hits <= i64::from(limit.requests.get()) {
            return Ok(None);
        }
        let left = window.end - now.timestamp();
        Ok(Some(u64::try_from(left.max(1)).unwrap_or(1)))
    }

    /// Forgets ended windows, at most once a minute per instance.
    fn sweep(&self, now: DateTime<Utc>) {
        let now = now.timestamp();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now - last < SWEEP_EVERY_SECONDS
            || self
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        match &self.counters {
            Counters::Memory(counters) => counters.sweep(now),
            Counters::Postgres(pool) => {
                let pool = pool.clone();
                tokio::spawn(async move {
                    if let Err(error) = postgres::sweep(&pool, now).await {
                        tracing::warn!(%error, "cannot delete ended rate-limit windows");
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn limit(requests: u32, seconds: u64) -> RateLimit {
        RateLimit {
            requests: NonZeroU32::new(requests).unwrap(),
            window: Duration::from_secs(seconds),
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).unwrap()
    }

    #[test]
    fn windows_are_aligned_on_the_epoch() {
        let window = Window::at(at(1_000_123), limit(1, 300));
        assert_eq!(
            window,
            Window {
                start: 999_900,
                end: 1_000_200
            }
        );
    }

    #[tokio::test]
    async fn the_request_after_the_quota_waits_for_the_end_of_the_window() {
        let limiter = RateLimiter::in_memory();
        let limit = limit(2, 300);
        for _ in 0..2 {
            assert_eq!(limiter.hit("k", limit, at(1_000_123)).await.unwrap(), None);
        }
        assert_eq!(
            limiter.hit("k", limit, at(1_000_150)).await.unwrap(),
            Some(50)
        );
        assert_eq!(
            limiter.hit("other", limit, at(1_000_150)).await.unwrap(),
            None
        );
        assert_eq!(limiter.hit("k", limit, at(1_000_200)).await.unwrap(), None);
    }
}
