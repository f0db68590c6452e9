//! Counters in an unlogged PostgreSQL table, shared by every instance: one upsert per hit.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::Window;

/// Counts a hit and returns the hits so far in `window`, across every instance.
pub(super) async fn hit(
    db: impl PgExecutor<'_>,
    key: &str,
    window: Window,
) -> Result<i64, sqlx::Error> {
    let hits = sqlx::query_scalar!(
        r#"
        insert into rate_limit_counters (key, window_start, window_end, hits)
        values ($1, $2, $3, 1)
        on conflict (key, window_start)
        do update set hits = rate_limit_counters.hits + 1
        returning hits
        "#,
        key,
        instant(window.start),
        instant(window.end),
    )
    .fetch_one(db)
    .await?;
    Ok(i64::from(hits))
}

/// Deletes the counters of windows that ended before `now`.
pub(super) async fn sweep(db: impl PgExecutor<'_>, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from rate_limit_counters where window_end <= $1",
        instant(now)
    )
    .execute(db)
    .await
    .map(drop)
}

fn instant(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}
