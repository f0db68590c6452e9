//! Leadership across instances: of all the instances on one database, one at a time runs the
//! schedulers. The leader holds a PostgreSQL session advisory lock on a connection of its
//! own, so a crashed leader's lock goes with its connection and a successor takes the lock
//! at its next try, a few seconds later.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// The advisory lock key of the schedulers' leadership ("cpd_lead" in ASCII).
pub const SCHEDULER_LOCK: i64 = 0x6370_645f_6c65_6164;

/// This instance's part in the leadership: campaigning, or leading until released or dropped.
pub struct Leadership {
    leading: watch::Receiver<bool>,
    release: Arc<Notify>,
    task: Option<JoinHandle<()>>,
}

impl Leadership {
    /// Campaigns for the lock `key` on a connection of its own, trying again every `every`;
    /// a leader checks its connection as often, and steps down when the connection is lost.
    pub fn start(pool: &PgPool, key: i64, every: Duration) -> Self {
        let (sender, leading) = watch::channel(false);
        let release = Arc::new(Notify::new());
        let options = (*pool.connect_options()).clone();
        let task = tokio::spawn(campaign(options, key, every, sender, release.clone()));
        Self {
            leading,
            release,
            task: Some(task),
        }
    }

    /// Whether this instance leads now.
    pub fn is_leader(&self) -> bool {
        *self.leading.borrow()
    }

    /// Follows this instance's leadership as it is won and lost.
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.leading.clone()
    }

    /// Gives the lock up at once (for a graceful shutdown) and stops campaigning.
    pub async fn release(mut self) {
        self.release.notify_one();
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
        {
            tracing::warn!(%error, "the leadership task ended badly");
        }
    }
}

impl Drop for Leadership {
    /// Dropped without a release (a crash, in effect), the connection closes and PostgreSQL
    /// frees the lock for another instance.
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn campaign(
    options: PgConnectOptions,
    key: i64,
    every: Duration,
    leading: watch::Sender<bool>,
    release: Arc<Notify>,
) {
    // One connection campaigns, and becomes the leader's when it wins.
    let mut campaigner = None;
    loop {
        let won = tokio::select! {
            () = release.notified() => return,
            won = try_lock(&mut campaigner, &options, key) => won,
        };
        let mut conn = match (won, campaigner.take()) {
            (Ok(true), Some(conn)) => conn,
            (won, conn) => {
                if let Err(error) = won {
                    tracing::debug!(%error, "cannot campaign for leadership");
                } else {
                    campaigner = conn;
                }
                tokio::select! {
                    () = release.notified() => return,
                    () = tokio::time::sleep(every) => continue,
                }
            }
        };
        tracing::info!("leading the schedulers");
        leading.send_replace(true);
        crate::metrics::set_leader(true);
        let released = hold(&mut conn, every, &release).await;
        leading.send_replace(false);
        crate::metrics::set_leader(false);
        if released {
            let unlocked = sqlx::query("select pg_advisory_unlock($1)")
                .bind(key)
                .execute(&mut conn)
                .await;
            if let Err(error) = unlocked {
                tracing::warn!(%error, "cannot unlock leadership; closing its connection");
            }
            drop(conn.close().await);
            tracing::info!("released the schedulers' leadership");
            return;
        }
        tracing::warn!("lost the leadership connection; campaigning again");
    }
}

/// Tries the lock on the campaign's connection, connecting first if it has none; a failed
/// connection is dropped, to be made afresh at the next try.
async fn try_lock(
    campaigner: &mut Option<PgConnection>,
    options: &PgConnectOptions,
    key: i64,
) -> Result<bool, sqlx::Error> {
    let conn = match campaigner {
        Some(conn) => conn,
        None => campaigner.insert(options.connect().await?),
    };
    let won = sqlx::query_scalar("select pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(conn)
        .await;
    if won.is_err() {
        *campaigner = None;
    }
    won
}

/// Holds the lock until released (true) or the connection fails (false).
async fn hold(conn: &mut PgConnection, every: Duration, release: &Notify) -> bool {
    loop {
        tokio::select! {
            () = release.notified() => return true,
            () = tokio::time::sleep(every) => {}
        }
        if let Err(error) = conn.ping().await {
            tracing::warn!(%error, "the leadership connection failed");
            return false;
        }
    }
}

/// Runs `job` every `every` while `leading` says this instance leads, and at once on taking
/// over, counting each run as `name` in the metrics. Returns when leadership ends for good.
pub async fn run_while_leader<F, Fut, E>(
    name: &'static str,
    mut leading: watch::Receiver<bool>,
    every: Duration,
    mut job: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    loop {
        while !*leading.borrow_and_update() {
            if leading.changed().await.is_err() {
                return;
            }
        }
        let outcome = job().await;
        if let Err(error) = &outcome {
            tracing::error!(%error, job = name, "scheduled job failed; retrying later");
        }
        crate::metrics::scheduler_ran(name, outcome.is_ok());
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            changed = leading.changed() => if changed.is_err() { return },
        }
    }
}
