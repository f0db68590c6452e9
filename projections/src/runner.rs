//! The projection runner: a checkpointed catch-up reader of the event log. Each projection's
//! rows and checkpoint are written in one transaction, with the checkpoint row locked, so an
//! event takes effect exactly once even when runners in several processes race or crash.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use tokio::sync::{Notify, watch};

use crate::event::{self, Position, StoredEvent};

/// How many events one transaction applies.
const BATCH_SIZE: i64 = 1000;
/// How often the runner looks for events when no notification arrives.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// The channel the events table notifies on commit.
const CHANNEL: &str = "events_committed";

/// What a projection that reads every event returns from [`Projection::aggregate_types`].
pub const EVERY_TYPE: &[&str] = &["*"];

/// Whether a projection reads events of this aggregate type.
fn reads(projection: &dyn Projection, aggregate_type: &str) -> bool {
    let types = projection.aggregate_types();
    types == EVERY_TYPE || types.contains(&aggregate_type)
}

/// A read model fed from the event log.
#[async_trait]
pub trait Projection: Send + Sync {
    /// Its name, as `replay --projection` takes it.
    fn name(&self) -> &'static str;

    /// The aggregate types whose events it reads ([`EVERY_TYPE`] for all).
    fn aggregate_types(&self) -> &'static [&'static str];

    /// Whether a rebuild may delete its rows and apply the log again. Evidence (the seals) is
    /// written once and is not a read model: `rebuild` refuses it.
    fn rebuildable(&self) -> bool {
        true
    }

    /// Called before each batch (and rebuild) is applied, inside exclusive locks: state kept
    /// between events is only good within one batch.
    fn start_batch(&self) {}

    /// Deletes all its rows, inside the rebuild's transaction.
    async fn reset(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error>;

    /// Applies one event, inside the transaction that also moves the checkpoint.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError>;
}

/// Why a projection could not move on.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A stored event does not decode as its aggregate's event type.
    #[error("event {event_id} ({aggregate_type} {event_type}) does not decode: {reason}")]
    Decode {
        /// The event's id.
        event_id: uuid::Uuid,
        /// Its aggregate type.
        aggregate_type: String,
        /// Its event type.
        event_type: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The projection holds evidence, which is never rebuilt.
    #[error(
        "{0} holds the seals of the event log: they are evidence, written once, and are never rebuilt"
    )]
    NotRebuildable(&'static str),
    /// No projection has the requested name.
    #[error("no projection is called {0:?}")]
    Unknown(String),
}

impl ProjectionError {
    /// Wraps a decoding failure with the event it came from.
    pub fn decode(event: &StoredEvent, reason: impl ToString) -> Self {
        Self::Decode {
            event_id: event.event_id,
            aggregate_type: event.aggregate_type.clone(),
            event_type: event.event_type.clone(),
            reason: reason.to_string(),
        }
    }
}

/// Drives every projection, and lets writers wait until their events are visible.
pub struct Runner {
    pool: PgPool,
    projections: Vec<Arc<dyn Projection>>,
    positions: Vec<watch::Sender<Position>>,
    wake: Notify,
}

impl Runner {
    /// Prepares a runner for these projections, starting from their stored checkpoints.
    pub async fn new(
        pool: PgPool,
        projections: Vec<Arc<dyn Projection>>,
    ) -> Result<Arc<Self>, sqlx::Error> {
        let mut positions = Vec::with_capacity(projections.len());
        let mut conn = pool.acquire().await?;
        for projection in &projections {
            ensure_checkpoint(&mut conn, projection.name()).await?;
            // A plain read: a runner starting up must not wait on one that is mid-batch.
            let position = sqlx::query!(
                r#"
                select transaction_id::text::bigint as "transaction_id!", position
                from projection_checkpoints where projection = $1
                "#,
                projection.name()
            )
            .fetch_one(&mut *conn)
            .await
            .map(|row| Position {
                transaction_id: row.transaction_id,
                position: row.position,
            })?;
            positions.push(watch::Sender::new(position));
        }
        drop(conn);
        Ok(Arc::new(Self {
            pool,
            projections,
            positions,
            wake: Notify::new(),
        }))
    }

    /// The projections this runner drives.
    pub fn projections(&self) -> &[Arc<dyn Projection>] {
        &self.projections
    }

    /// Brings every projection up to the end of the visible log; returns the events read.
    pub async fn catch_up(&self) -> Result<u64, ProjectionError> {
        let mut read = 0;
        loop {
            let count = self.step().await?;
            read += count as u64;
            if count < BATCH_SIZE as usize {
                return Ok(read);
            }
        }
    }

    /// Reads one batch of the log once and applies it to every projection, all in one
    /// transaction with every checkpoint row locked; returns how many events it read.
    async fn step(&self) -> Result<usize, ProjectionError> {
        let mut tx = self.pool.begin().await?;
        // Read models can be rebuilt from the log, and a lost commit takes its checkpoint with
        // it, so the runner need not wait for the disk: the events are re-applied on restart.
        sqlx::query!("set local synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
        let names: Vec<&str> = self.projections.iter().map(|p| p.name()).collect();
        let checkpoints = load_checkpoints(&mut tx, &names).await?;
        // Taken once the checkpoints are ours, so a wait for another runner's batch does not
        // leave this one looking at the log as it stood before that wait.
        let bound = event::visible_bound(&mut tx).await?;
        let from = checkpoints.iter().copied().min().unwrap_or_default();
        let mut types: Vec<&str> = self
            .projections
            .iter()
            .flat_map(|p| p.aggregate_types())
            .copied()
            .collect();
        types.sort_unstable();
        types.dedup();
        let events = event::read_after(&mut tx, &types, from, bound, BATCH_SIZE).await?;
        let Some(last) = events.last().map(|event| event.position) else {
            tx.rollback().await?;
            // Another process may have moved the checkpoints on.
            for (index, at) in checkpoints.into_iter().enumerate() {
                self.advance(index, at);
            }
            return Ok(0);
        };
        for (projection, at) in self.projections.iter().zip(&checkpoints) {
            projection.start_batch();
            for event in events.iter().filter(|e| e.position > *at) {
                if reads(projection.as_ref(), &event.aggregate_type) {
                    projection.apply(&mut tx, event).await?;
                }
            }
        }
        let moved: Vec<Position> = checkpoints.iter().map(|at| (*at).max(last)).collect();
        save_checkpoints(&mut tx, &names, &moved).await?;
        tx.commit().await?;
        for (index, at) in moved.into_iter().enumerate() {
            self.advance(index, at);
        }
        Ok(events.len())
    }

    /// Rebuilds one projection from the start of the log in a single transaction, so readers
    /// see the old rows until the new ones are complete. `progress` is told (applied, total).
    pub async fn rebuild(
        &self,
        name: &str,
        mut progress: impl FnMut(u64, u64) + Send,
    ) -> Result<u64, ProjectionError> {
        let index = self
            .projections
            .iter()
            .position(|p| p.name() == name)
            .ok_or_else(|| ProjectionError::Unknown(name.to_owned()))?;
        let projection = &self.projections[index];
        if !projection.rebuildable() {
            return Err(ProjectionError::NotRebuildable(projection.name()));
        }
        let types = projection.aggregate_types();
        let mut tx = self.pool.begin().await?;
        load_checkpoint(&mut tx, name).await?;
        let bound = event::visible_bound(&mut tx).await?;
        let total = event::count_below(&mut tx, types, bound).await? as u64;
        projection.start_batch();
        projection.reset(&mut tx).await?;
        let (mut applied, mut at) = (0, Position::default());
        progress(0, total);
        loop {
            let events = event::read_after(&mut tx, types, at, bound, BATCH_SIZE).await?;
            let Some(last) = events.last().map(|event| event.position) else {
                break;
            };
            for event in &events {
                projection.apply(&mut tx, event).await?;
            }
            applied += events.len() as u64;
            at = last;
            progress(applied, total);
        }
        save_checkpoint(&mut tx, name, at).await?;
        tx.commit().await?;
        self.positions[index].send_replace(at);
        self.wake.notify_one();
        Ok(applied)
    }

    /// Follows the log until the process ends: woken by commits in any process (through
    /// `LISTEN`), by [`Runner::wake`], or by a timer as a fallback.
    pub async fn run(self: Arc<Self>) {
        let mut listener = match listen(&self.pool).await {
            Ok(listener) => Some(listener),
            Err(error) => {
                tracing::warn!(%error, "cannot listen for commits; polling instead");
                None
            }
        };
        loop {
            if let Err(error) = self.catch_up().await {
                tracing::error!(%error, "projection runner failed; retrying");
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL_INTERVAL) => {}
                received = next_notification(&mut listener) => {
                    if let Err(error) = received {
                        tracing::warn!(%error, "lost the commit listener; polling instead");
                        listener = None;
                    }
                }
            }
        }
    }

    fn advance(&self, index: usize, to: Position) {
        self.positions[index].send_if_modified(|at| {
            let moved = to > *at;
            if moved {
                *at = to;
            }
            moved
        });
    }

    /// Asks the running loop to look for new events now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits, at most `timeout`, until every projection that reads `aggregate_type` has
    /// applied the event at `target`. Returns whether they all got there in time.
    pub async fn wait_for(
        &self,
        aggregate_type: &str,
        target: Position,
        timeout: Duration,
    ) -> bool {
        self.wake();
        let waits = self
            .projections
            .iter()
            .zip(&self.positions)
            .filter(|(projection, _)| reads(projection.as_ref(), aggregate_type))
            .map(|(_, position)| position.subscribe());
        let all = async {
            for mut position in waits {
                if position.wait_for(|at| *at >= target).await.is_err() {
                    return false;
                }
            }
            true
        };
        tokio::time::timeout(timeout, all).await.unwrap_or(false)
    }

    /// The projections that have visible events still to apply.
    pub async fn lagging(&self) -> Result<Vec<&'static str>, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        let bound = event::visible_bound(&mut conn).await?;
        let mut lagging = Vec::new();
        for (projection, position) in self.projections.iter().zip(&self.positions) {
            let at = *position.borrow();
            let next =
                event::read_after(&mut conn, projection.aggregate_types(), at, bound, 1).await?;
            if !next.is_empty() {
                lagging.push(projection.name());
            }
        }
        Ok(lagging)
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Waits for a commit notification, then takes every one already buffered: one catch-up
/// covers them all.
async fn next_notification(listener: &mut Option<PgListener>) -> Result<(), sqlx::Error> {
    match listener {
        Some(listener) => {
            listener.recv().await?;
            while listener.next_buffered().is_some() {}
            Ok(())
        }
        None => std::future::pending().await,
    }
}

async fn ensure_checkpoint(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into projection_checkpoints (projection) values ($1) on conflict do nothing",
        name
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Reads a projection's checkpoint and locks its row until the transaction ends, so that two
/// runners never apply the same events.
async fn load_checkpoint(conn: &mut PgConnection, name: &str) -> Result<Position, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        select transaction_id::text::bigint as "transaction_id!", position
        from projection_checkpoints where projection = $1 for update
        "#,
        name
    )
    .fetch_one(conn)
    .await?;
    Ok(Position {
        transaction_id: row.transaction_id,
        position: row.position,
    })
}

/// Reads and locks the checkpoints of these projections, in the order given.
async fn load_checkpoints(
    conn: &mut PgConnection,
    names: &[&str],
) -> Result<Vec<Position>, sqlx::Error> {
    let owned: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let rows = sqlx::query!(
        r#"
        select projection, transaction_id::text::bigint as "transaction_id!", position
        from projection_checkpoints where projection = any($1)
        order by projection
        for update
        "#,
        &owned
    )
    .fetch_all(conn)
    .await?;
    Ok(names
        .iter()
        .map(|name| {
            rows.iter()
                .find(|row| row.projection == *name)
                .map(|row| Position {
                    transaction_id: row.transaction_id,
                    position: row.position,
                })
                .unwrap_or_default()
        })
        .collect())
}

/// Moves several projections' checkpoints in one statement.
async fn save_checkpoints(
    conn: &mut PgConnection,
    names: &[&str],
    positions: &[Position],
) -> Result<(), sqlx::Error> {
    let owned: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let transactions: Vec<i64> = positions.iter().map(|p| p.transaction_id).collect();
    let identities: Vec<i64> = positions.iter().map(|p| p.position).collect();
    sqlx::query!(
        r#"
        update projection_checkpoints c
        set transaction_id = u.transaction_id::text::xid8, position = u.position, updated_at = now()
        from unnest($1::text[], $2::bigint[], $3::bigint[]) as u(projection, transaction_id, position)
        where c.projection = u.projection
        "#,
        &owned,
        &transactions,
        &identities,
    )
    .execute(conn)
    .await
    .map(drop)
}

async fn save_checkpoint(
    conn: &mut PgConnection,
    name: &str,
    at: Position,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        update projection_checkpoints
        set transaction_id = $2::bigint::text::xid8, position = $3, updated_at = now()
        where projection = $1
        "#,
        name,
        at.transaction_id,
        at.position,
    )
    .execute(conn)
    .await
    .map(drop)
}
