//! Taking a connection from the pool while counting the callers still waiting for one.
//! sqlx does not say how many callers wait in its pool, so the service takes connections
//! through these functions where it takes them explicitly; queries run straight on the
//! pool take theirs unseen.

use std::future::Future;

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres, Transaction};

/// Callers waiting in [`acquire`] or [`begin`] for a connection, in this process.
pub const WAITING_METRIC: &str = "cpd_ledger_db_pool_waiting";

/// A connection from `pool`, counted as waiting until it comes or the pool gives up.
pub async fn acquire(pool: &PgPool) -> Result<PoolConnection<Postgres>, sqlx::Error> {
    waiting(pool.acquire()).await
}

/// A transaction on a connection from `pool`, counted as waiting until the connection comes.
pub async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let conn = acquire(pool).await?;
    Transaction::begin(conn, None).await
}

async fn waiting<T>(acquiring: impl Future<Output = T>) -> T {
    let _waiting = Waiting::start();
    acquiring.await
}

/// One caller in the waiting gauge, for as long as it lives: a caller that gives up (its
/// future dropped) leaves the count too.
struct Waiting;

impl Waiting {
    fn start() -> Self {
        metrics::gauge!(WAITING_METRIC).increment(1.0);
        Self
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        metrics::gauge!(WAITING_METRIC).decrement(1.0);
    }
}
