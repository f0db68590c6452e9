//! The projection runner: a checkpointed catch-up reader of the event log. It batches by
//! snapshot, as PgQ does: a batch is the events whose transaction is visible in a new snapshot
//! and was not in the last one applied, so a transaction that commits late is picked up in a
//! later batch and a transaction held open anywhere on the server delays nobody else. Each
//! read model has its own checkpoint, written with its rows; a read model that cannot apply
//! an event halts at that event alone, and the others go on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use sqlx::{PgConnection, PgPool};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use crate::event::{self, Position, Snapshot, StoredEvent};

mod shared;

use shared::SharedQuestion;

/// How many events one batch applies at most.
const BATCH_SIZE: i64 = 1000;
/// How often the runner looks for events when nothing in this process wakes it.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How long the runner lets commits that nobody waits for gather before it applies them.
pub const NUDGE_DELAY: Duration = Duration::from_millis(200);
/// How long a halted read model waits before it tries its event again (it also tries at
/// every start, so a deployed fix takes effect at once).
const HALT_RETRY: Duration = Duration::from_secs(30);
/// The most pending events [`Runner::status`] counts for one read model.
const LAG_COUNT_CAP: i64 = 1_000_000;

/// The histogram of each read model's share of a batch, in seconds.
pub const BATCH_DURATION_METRIC: &str = "cpd_ledger_read_model_batch_duration_seconds";

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

    /// Called before each batch (and rebuild) is applied, with its checkpoint locked: state
    /// kept between events is only good within one batch.
    fn start_batch(&self) {}

    /// The tables it alone writes: `reset` empties them, and a rebuild writes them afresh
    /// beside the live ones and swaps them in at its end.
    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    /// The indexes on [`Projection::tables`] that only readers use, never its own statements:
    /// a rebuild builds them once, at its end, rather than row by row.
    fn read_indexes(&self) -> &'static [&'static str] {
        &[]
    }

    /// The [`Projection::tables`] whose rows its statements update more than once over a log.
    /// A rebuild applies the log in one transaction, so no version it supersedes can be pruned
    /// before it commits: their fresh tables leave room on each page for the new versions
    /// (which then stay on the row's page and out of the indexes), until the swap.
    fn updated_in_place(&self) -> &'static [&'static str] {
        &[]
    }

    /// Deletes all its rows, inside the rebuild's transaction.
    async fn reset(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error>;

    /// Applies one event, inside the transaction that also moves the checkpoint.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError>;

    /// Applies a run of events in log order, inside the same transaction. A read model that
    /// can write a run in fewer statements than one per event overrides this; it must leave
    /// the same rows as [`Projection::apply`] on each event in turn, which the runner falls
    /// back to (one event at a time) to find the event a failed run could not apply.
    async fn apply_run(
        &self,
        conn: &mut PgConnection,
        events: &[&StoredEvent],
    ) -> Result<(), ProjectionError> {
        for event in events {
            self.apply(conn, event).await?;
        }
        Ok(())
    }
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

    /// Whether trying the same event again later may succeed (the connection, a deadlock,
    /// the server's resources), rather than the event being one this read model cannot take.
    fn is_transient(&self) -> bool {
        match self {
            Self::Database(sqlx::Error::Database(error)) => error
                .code()
                .is_some_and(|code| ["08", "40", "53", "57", "58"].contains(&&code[..2])),
            Self::Database(
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed,
            ) => true,
            _ => false,
        }
    }
}

/// Where a read model has got to in the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// Every event of a transaction this snapshot sees has been applied.
    pub applied: Snapshot,
    /// The snapshot of the batch being applied, when one is under way.
    pub target: Option<Snapshot>,
    /// The last event applied within that batch.
    pub after: Position,
    /// Why the read model stopped, if it did.
    pub halt: Option<Halt>,
    /// Whether a rebuild held it when this process last looked (never stored): the runner
    /// leaves it to the rebuild, and nobody waits for it meanwhile.
    pub rebuilding: bool,
}

impl Checkpoint {
    /// Whether waiting for it to apply more would be in vain for now.
    fn stopped(&self) -> bool {
        self.halt.is_some() || self.rebuilding
    }

    /// Whether the events of `transaction_id` have been applied.
    pub fn covers(&self, transaction_id: i64) -> bool {
        self.applied.sees(transaction_id)
    }

    /// The batch this checkpoint is in: where it runs to, and its cursor.
    fn batch(&self, now: &Snapshot) -> (Snapshot, Position) {
        match &self.target {
            Some(target) => (target.clone(), self.after),
            None => (now.clone(), Position::default()),
        }
    }
}

/// A read model stopped at an event it cannot apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Halt {
    /// The event's identity position.
    pub position: i64,
    /// The event's id.
    pub event_id: Uuid,
    /// What went wrong.
    pub error: String,
    /// When it was last tried.
    pub since: DateTime<Utc>,
}

/// What one rebuild of [`Runner::rebuild_all`] did.
#[derive(Clone, Debug)]
pub struct Rebuilt {
    /// The read model.
    pub name: &'static str,
    /// The events it applied.
    pub events: u64,
    /// How long it took.
    pub elapsed: Duration,
}

/// One read model's state, for `/readyz` and `projections status`.
#[derive(Clone, Debug)]
pub struct Status {
    /// The read model.
    pub name: &'static str,
    /// Committed events it has still to apply (counted up to a million).
    pub lag_events: i64,
    /// How long the oldest of them has waited.
    pub lag_seconds: f64,
    /// Why it stopped, if it did.
    pub halt: Option<Halt>,
    /// Whether a rebuild of it is under way (it shows its old rows until the rebuild commits).
    pub rebuilding: bool,
}

/// Drives every projection, and lets writers wait until their events are visible.
pub struct Runner {
    pool: PgPool,
    projections: Vec<Arc<dyn Projection>>,
    checkpoints: Vec<watch::Sender<Checkpoint>>,
    retry_halted: AtomicBool,
    wake: Notify,
    nudge: Notify,
    /// The read barrier's question, shared by the requests that ask it of the same aggregate
    /// types at the same time.
    unseen: Mutex<HashMap<Vec<&'static str>, Arc<SharedQuestion<Unseen>>>>,
}

/// The read barrier's answer: the committed transactions the read models have not applied,
/// and whether there may be more.
type Unseen = (Vec<i64>, bool);

/// What one pass over the projections did.
struct Step {
    /// Events read from the log.
    read: usize,
    /// Whether some batch was full, so more may be waiting.
    more: bool,
}

impl Runner {
    /// Prepares a runner for these projections, starting from their stored checkpoints.
    pub async fn new(
        pool: PgPool,
        projections: Vec<Arc<dyn Projection>>,
    ) -> Result<Arc<Self>, sqlx::Error> {
        let names: Vec<&str> = projections.iter().map(|p| p.name()).collect();
        let mut conn = crate::pool::acquire(&pool).await?;
        ensure_checkpoints(&mut conn, &names).await?;
        // A plain read: a runner starting up must not wait on one that is mid-batch.
        let stored = load_checkpoints(&mut conn, &names, Lock::None).await?;
        drop(conn);
        let stored = stored.into_iter().map(Option::unwrap_or_default);
        Ok(Arc::new(Self {
            pool,
            projections,
            checkpoints: stored.map(watch::Sender::new).collect(),
            retry_halted: AtomicBool::new(true),
            wake: Notify::new(),
            nudge: Notify::new(),
            unseen: Mutex::new(HashMap::new()),
        }))
    }

    /// The projections this runner drives.
    pub fn projections(&self) -> &[Arc<dyn Projection>] {
        &self.projections
    }

    /// Brings every running projection up to the end of the visible log; returns the events
    /// read. A halted projection stays where it stopped.
    pub async fn catch_up(&self) -> Result<u64, ProjectionError> {
        if self.up_to_date().await? {
            return Ok(0);
        }
        let mut read = 0;
        loop {
            let step = match self.step(false).await {
                Err(StepError::Halting) => self.step(true).await,
                other => other,
            }?;
            read += step.read as u64;
            if !step.more {
                return Ok(read);
            }
        }
    }

    /// Whether a step would find nothing to do: every read model has applied the same
    /// snapshot, none is part-way through a batch or halted, and the log holds no event of a
    /// transaction that snapshot does not see. One statement instead of a step's seven, for
    /// the wake-ups that follow a batch already applied (a writer's wait, its commit's notice).
    async fn up_to_date(&self) -> Result<bool, sqlx::Error> {
        if self.retry_halted.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let checkpoints: Vec<Checkpoint> = self
            .checkpoints
            .iter()
            .map(|c| c.borrow().clone())
            .collect();
        let Some(first) = checkpoints.first() else {
            return Ok(true);
        };
        let settled = checkpoints.iter().all(|checkpoint| {
            checkpoint.applied == first.applied
                && checkpoint.target.is_none()
                && !checkpoint.stopped()
        });
        if !settled {
            return Ok(false);
        }
        let mut conn = crate::pool::acquire(&self.pool).await?;
        Ok(!event::committed_unseen(&mut conn, &first.applied).await?)
    }

    /// Applies one batch to every projection that is not halted or being rebuilt, in one
    /// transaction with their checkpoint rows locked. `careful` puts each projection under a
    /// savepoint, so that one that fails rolls back alone and halts at the event that failed;
    /// otherwise such a failure abandons the step with [`StepError::Halting`], to be run again
    /// carefully (the savepoints cost two round trips per read model, paid only when one
    /// fails).
    async fn step(&self, careful: bool) -> Result<Step, StepError> {
        let mut tx = crate::pool::begin(&self.pool).await?;
        // Read models can be rebuilt from the log, and a lost commit takes its checkpoint with
        // it, so the runner need not wait for the disk: the events are re-applied on restart.
        sqlx::query!("set local synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
        let names: Vec<&str> = self.projections.iter().map(|p| p.name()).collect();
        // One that a rebuild holds keeps what this process knew of it, marked as being rebuilt.
        let stored: Vec<Checkpoint> = load_checkpoints(&mut tx, &names, Lock::UnlessRebuilding)
            .await?
            .into_iter()
            .zip(&self.checkpoints)
            .map(|(held, known)| {
                held.unwrap_or_else(|| Checkpoint {
                    rebuilding: true,
                    ..known.borrow().clone()
                })
            })
            .collect();
        // Taken once the checkpoints are ours, so a wait for another runner's batch does not
        // leave this one looking at the log as it stood before that wait.
        let now = event::current_snapshot(&mut tx).await?;
        let retry = self.retry_halted.swap(false, Ordering::Relaxed);
        let mut moved = stored.clone();
        let mut step = Step {
            read: 0,
            more: false,
        };
        let mut pending: Vec<usize> = (0..self.projections.len())
            .filter(|&index| !stored[index].rebuilding)
            .filter(|&index| match &stored[index].halt {
                None => true,
                Some(halt) => retry || halt.since + HALT_RETRY < Utc::now(),
            })
            .collect();
        // Projections at the same place share one read of the log.
        while let Some(&first) = pending.first() {
            let (target, after) = stored[first].batch(&now);
            let applied = stored[first].applied.clone();
            let group: Vec<usize> = pending
                .iter()
                .copied()
                .filter(|&i| {
                    stored[i].applied == applied && stored[i].batch(&now) == (target.clone(), after)
                })
                .collect();
            pending.retain(|i| !group.contains(i));
            let mut types: Vec<&str> = group
                .iter()
                .flat_map(|&i| self.projections[i].aggregate_types())
                .copied()
                .collect();
            types.sort_unstable();
            types.dedup();
            let events =
                event::read_batch(&mut tx, &types, &applied, &target, after, BATCH_SIZE).await?;
            let complete = (events.len() as i64) < BATCH_SIZE;
            step.read += events.len();
            // A batch begun earlier ends before `now`: what came since waits for another.
            step.more |= !complete || target != now;
            for index in group {
                let started = std::time::Instant::now();
                moved[index] = self
                    .apply_batch(
                        &mut tx,
                        careful,
                        index,
                        &stored[index],
                        &events,
                        &target,
                        complete,
                    )
                    .await?;
                metrics::histogram!(
                    BATCH_DURATION_METRIC,
                    "read_model" => self.projections[index].name()
                )
                .record(started.elapsed().as_secs_f64());
            }
        }
        save_checkpoints(&mut tx, &names, &stored, &moved).await?;
        tx.commit().await?;
        for (index, checkpoint) in moved.into_iter().enumerate() {
            self.checkpoints[index].send_replace(checkpoint);
        }
        Ok(step)
    }

    /// Applies a batch to one projection under a savepoint and returns its new checkpoint.
    /// An event it cannot take halts it there, with the events before it applied.
    #[expect(clippy::too_many_arguments, reason = "one batch's whole context")]
    async fn apply_batch(
        &self,
        conn: &mut PgConnection,
        careful: bool,
        index: usize,
        from: &Checkpoint,
        events: &[StoredEvent],
        target: &Snapshot,
        complete: bool,
    ) -> Result<Checkpoint, StepError> {
        let projection = self.projections[index].as_ref();
        let mine: Vec<&StoredEvent> = events
            .iter()
            .filter(|event| reads(projection, &event.aggregate_type))
            .collect();
        let failed = match apply_events(conn, careful, projection, &mine).await? {
            None if complete => {
                return Ok(Checkpoint {
                    applied: target.clone(),
                    ..Checkpoint::default()
                });
            }
            None => {
                return Ok(Checkpoint {
                    applied: from.applied.clone(),
                    target: Some(target.clone()),
                    after: events.last().map_or(from.after, |event| event.position),
                    ..Checkpoint::default()
                });
            }
            Some(_) if !careful => return Err(StepError::Halting),
            Some(failed) => failed,
        };
        let (at, error) = failed;
        let event = mine[at];
        tracing::error!(
            projection = projection.name(),
            position = event.position.position,
            event_id = %event.event_id,
            %error,
            "read model halted: it cannot apply this event; the others go on"
        );
        // Keep what it could apply before the event that failed.
        let before = &mine[..at];
        let after = match apply_events(conn, true, projection, before).await? {
            None => before.last().map_or(from.after, |event| event.position),
            Some(_) => from.after,
        };
        Ok(Checkpoint {
            applied: from.applied.clone(),
            target: Some(target.clone()),
            after,
            halt: Some(Halt {
                position: event.position.position,
                event_id: event.event_id,
                error: error.to_string(),
                since: Utc::now(),
            }),
            rebuilding: false,
        })
    }

    /// Rebuilds one projection from the start of the log in a single transaction, so readers
    /// see the old rows until the new ones are complete: its tables are written afresh beside
    /// the live ones and swapped in at the end (see [`Fresh`]). `progress` is told (applied,
    /// total).
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
        let mut tx = crate::pool::begin(&self.pool).await?;
        let stored = load_checkpoints(&mut tx, &[name], Lock::Rebuild).await?;
        let stored: Vec<Checkpoint> = stored.into_iter().map(Option::unwrap_or_default).collect();
        let now = event::current_snapshot(&mut tx).await?;
        let nothing = Snapshot::default();
        let (total, _) = event::lag(
            &mut tx,
            types,
            &nothing,
            Position::default(),
            &now,
            i64::MAX,
        )
        .await?;
        let fresh = Fresh::make(&mut tx, projection.as_ref()).await?;
        projection.start_batch();
        projection.reset(&mut tx).await?;
        let (mut applied, mut at) = (0, Position::default());
        progress(0, total as u64);
        loop {
            let events = event::read_batch(&mut tx, types, &nothing, &now, at, BATCH_SIZE).await?;
            let Some(last) = events.last().map(|event| event.position) else {
                break;
            };
            let run: Vec<&StoredEvent> = events.iter().collect();
            projection.apply_run(&mut tx, &run).await?;
            applied += events.len() as u64;
            at = last;
            progress(applied, total as u64);
        }
        if let Some(fresh) = fresh {
            fresh.swap_in(&mut tx).await?;
        }
        let rebuilt = Checkpoint {
            applied: now,
            ..Checkpoint::default()
        };
        save_checkpoints(&mut tx, &[name], &stored, std::slice::from_ref(&rebuilt)).await?;
        tx.commit().await?;
        self.checkpoints[index].send_replace(rebuilt);
        self.wake.notify_one();
        Ok(applied)
    }

    /// Rebuilds every rebuildable projection, up to `jobs` at once: each as [`Runner::rebuild`]
    /// does, in its own transaction on its own connection, so PostgreSQL rebuilds them on as
    /// many cores (no two write the same table). Those with the most events to apply start
    /// first, so that no long one is left to run alone at the end. `progress(name)` makes the
    /// progress callback of each. Returns what each rebuilt, in the order they finished.
    pub async fn rebuild_all<P>(
        &self,
        jobs: usize,
        progress: impl Fn(&'static str) -> P,
    ) -> Result<Vec<Rebuilt>, ProjectionError>
    where
        P: FnMut(u64, u64) + Send,
    {
        let counts = event::count_by_type(&self.pool).await?;
        let events_of = |projection: &dyn Projection| -> i64 {
            counts
                .iter()
                .filter(|(kind, _)| reads(projection, kind))
                .map(|(_, count)| count)
                .sum()
        };
        let mut longest_first: Vec<_> = self
            .projections
            .iter()
            .filter(|projection| projection.rebuildable())
            .collect();
        longest_first.sort_by_key(|projection| std::cmp::Reverse(events_of(projection.as_ref())));
        let rebuilds = longest_first.into_iter().map(|projection| {
            let name = projection.name();
            let progress = progress(name);
            async move {
                let started = Instant::now();
                let events = self.rebuild(name, progress).await?;
                Ok(Rebuilt {
                    name,
                    events,
                    elapsed: started.elapsed(),
                })
            }
        });
        futures::stream::iter(rebuilds)
            .buffer_unordered(jobs.max(1))
            .try_collect()
            .await
    }

    /// Follows the log until the process ends: woken at once by [`Runner::wake`] (a request in
    /// this process waiting for the read models), within [`NUDGE_DELAY`] by [`Runner::nudge`]
    /// (a commit nobody waits for yet), and otherwise by a timer, for commits of other
    /// processes nobody here has asked about.
    pub async fn run(self: Arc<Self>) {
        loop {
            if let Err(error) = self.catch_up().await {
                tracing::warn!(%error, "cannot follow the event log; retrying");
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = self.nudge.notified() => {
                    tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep(NUDGE_DELAY) => {}
                    }
                }
                () = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    }

    /// Asks the running loop to look for new events now: somebody is waiting for them.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Tells the running loop that events were committed that nobody waits for yet: it
    /// applies them within [`NUDGE_DELAY`], together with whatever else commits meanwhile,
    /// so a steady stream of writes costs a step per interval rather than a step per write.
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }

    /// Waits, at most `timeout`, until the read models show everything committed before this
    /// call: the read barrier of every request, which makes a write answered from its commit
    /// (by any process sharing the database) visible to any request that starts after it.
    /// Events of the aggregate types in `unread` are not waited for: the caller reads no read
    /// model they feed. A read model halted or being rebuilt is not waited for. One statement
    /// when the read models are up to date; returns whether they all got there in time.
    pub async fn barrier(&self, unread: &[&str], timeout: Duration) -> Result<bool, sqlx::Error> {
        let mut types: Vec<&'static str> = self
            .projections
            .iter()
            .flat_map(|projection| projection.aggregate_types())
            .copied()
            .filter(|kind| *kind != EVERY_TYPE[0] && !unread.contains(kind))
            .collect();
        types.sort_unstable();
        types.dedup();
        let waited: Vec<&watch::Sender<Checkpoint>> = self
            .projections
            .iter()
            .zip(&self.checkpoints)
            .filter(|(projection, _)| types.iter().any(|kind| reads(projection.as_ref(), kind)))
            .map(|(_, checkpoint)| checkpoint)
            .filter(|checkpoint| !checkpoint.borrow().stopped())
            .collect();
        let deadline = Instant::now() + timeout;
        loop {
            // Every read model's snapshot comes from the same sequence of steps, so the oldest
            // sees no transaction that the others do not.
            let Some(oldest) = waited
                .iter()
                .map(|checkpoint| checkpoint.borrow().applied.clone())
                .min_by_key(Snapshot::age)
            else {
                return Ok(true);
            };
            let (unseen, more) = self.ask_unseen(&types, &oldest).await?;
            if unseen.is_empty() {
                return Ok(true);
            }
            self.wake();
            let shown = |at: &Checkpoint| unseen.iter().all(|&transaction| at.covers(transaction));
            let all = async {
                for checkpoint in &waited {
                    let mut checkpoint = checkpoint.subscribe();
                    let reached = checkpoint.wait_for(|at| at.stopped() || shown(at)).await;
                    if !reached.is_ok_and(|at| shown(&at)) {
                        return false;
                    }
                }
                true
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if !tokio::time::timeout(left, all).await.unwrap_or(false) {
                return Ok(false);
            }
            // One type had more than one answer holds: ask again past what is now shown.
            if !more {
                return Ok(true);
            }
        }
    }

    /// Which committed transactions of these aggregate types the read models have not applied,
    /// beyond `oldest`: asked of the database once for all the requests that arrive while
    /// another is asking (see [`SharedQuestion`]). Each takes an answer from a query begun
    /// after it arrived, so it sees every commit answered before the request began.
    async fn ask_unseen(
        &self,
        types: &[&'static str],
        oldest: &Snapshot,
    ) -> Result<Unseen, sqlx::Error> {
        let question = {
            let mut questions = self.unseen.lock().unwrap_or_else(|e| e.into_inner());
            match questions.get(types) {
                Some(question) => question.clone(),
                None => questions
                    .entry(types.to_vec())
                    .or_insert_with(|| Arc::new(SharedQuestion::new()))
                    .clone(),
            }
        };
        let patience = self.pool.options().get_acquire_timeout();
        question
            .answer(patience, || async {
                let mut conn = crate::pool::acquire(&self.pool).await?;
                event::unseen_transactions(&mut conn, types, oldest).await
            })
            .await
    }

    /// Waits, at most `timeout`, until every running projection that reads `aggregate_type`
    /// has applied the events of transaction `transaction_id`. A halted projection, or one
    /// being rebuilt, is not waited for. Returns whether they all got there in time (never
    /// while one is halted or being rebuilt).
    pub async fn wait_for(
        &self,
        aggregate_type: &str,
        transaction_id: i64,
        timeout: Duration,
    ) -> bool {
        self.wake();
        let waits = self
            .projections
            .iter()
            .zip(&self.checkpoints)
            .filter(|(projection, _)| reads(projection.as_ref(), aggregate_type))
            .map(|(_, checkpoint)| checkpoint.subscribe());
        let all = async {
            for mut checkpoint in waits {
                let reached = checkpoint
                    .wait_for(|at| at.stopped() || at.covers(transaction_id))
                    .await;
                if !reached.is_ok_and(|at| at.covers(transaction_id)) {
                    return false;
                }
            }
            true
        };
        tokio::time::timeout(timeout, all).await.unwrap_or(false)
    }

    /// Each read model's lag and halt, read from the database (so it covers runners in every
    /// process).
    pub async fn status(&self) -> Result<Vec<Status>, sqlx::Error> {
        status(&self.pool, &self.projections).await
    }
}

/// Each of these read models' lag and halt, read from the database: whatever process runs them.
pub async fn status(
    pool: &PgPool,
    projections: &[Arc<dyn Projection>],
) -> Result<Vec<Status>, sqlx::Error> {
    let mut conn = crate::pool::acquire(pool).await?;
    let names: Vec<&str> = projections.iter().map(|p| p.name()).collect();
    let stored = load_checkpoints(&mut conn, &names, Lock::None).await?;
    let rebuilding = being_rebuilt(&mut conn, &names).await?;
    let now = event::current_snapshot(&mut conn).await?;
    let mut statuses = Vec::with_capacity(names.len());
    for (projection, checkpoint) in projections.iter().zip(stored) {
        let checkpoint = checkpoint.unwrap_or_default();
        let (lag_events, oldest) = event::lag(
            &mut conn,
            projection.aggregate_types(),
            &checkpoint.applied,
            checkpoint.after,
            &now,
            LAG_COUNT_CAP,
        )
        .await?;
        let lag_seconds = oldest.map_or(0.0, |oldest| {
            (Utc::now() - oldest).num_milliseconds().max(0) as f64 / 1000.0
        });
        statuses.push(Status {
            name: projection.name(),
            lag_events,
            lag_seconds,
            halt: checkpoint.halt,
            rebuilding: rebuilding.contains(&projection.name()),
        });
    }
    Ok(statuses)
}

/// Why a step did not complete.
#[derive(Debug, thiserror::Error)]
enum StepError {
    /// A read model cannot apply an event: the step is to be run again with savepoints.
    #[error("a read model cannot apply an event")]
    Halting,
    /// The log could not be read or applied.
    #[error(transparent)]
    Failed(#[from] ProjectionError),
}

impl From<sqlx::Error> for StepError {
    fn from(error: sqlx::Error) -> Self {
        Self::Failed(error.into())
    }
}

impl From<StepError> for ProjectionError {
    fn from(error: StepError) -> Self {
        match error {
            StepError::Failed(error) => error,
            // A careful step halts the read model instead of returning this.
            StepError::Halting => Self::Unknown("halting outside a careful step".to_owned()),
        }
    }
}

/// Applies events: as one run, or, when `careful`, one at a time under a savepoint. On an
/// error the event cannot be applied, rolls back to the savepoint (if any) and returns the
/// failing event's index (0 for a run, whose failing event is not known) with the error; a
/// transient error aborts the whole step instead.
async fn apply_events(
    conn: &mut PgConnection,
    careful: bool,
    projection: &dyn Projection,
    events: &[&StoredEvent],
) -> Result<Option<(usize, ProjectionError)>, ProjectionError> {
    if !careful {
        projection.start_batch();
        // Which event failed is found again carefully, one event at a time.
        return match projection.apply_run(conn, events).await {
            Ok(()) => Ok(None),
            Err(error) if error.is_transient() => Err(error),
            Err(error) => Ok(Some((0, error))),
        };
    }
    sqlx::query("savepoint projection")
        .execute(&mut *conn)
        .await?;
    projection.start_batch();
    for (index, event) in events.iter().enumerate() {
        match projection.apply(conn, event).await {
            Ok(()) => {}
            Err(error) if error.is_transient() => return Err(error),
            Err(error) => {
                sqlx::query("rollback to savepoint projection")
                    .execute(&mut *conn)
                    .await?;
                return Ok(Some((index, error)));
            }
        }
    }
    sqlx::query("release savepoint projection")
        .execute(&mut *conn)
        .await?;
    Ok(None)
}

async fn ensure_checkpoints(conn: &mut PgConnection, names: &[&str]) -> Result<(), sqlx::Error> {
    let owned: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    sqlx::query!(
        r#"
        insert into projection_checkpoints (projection)
        select unnest($1::text[]) on conflict do nothing
        "#,
        &owned
    )
    .execute(conn)
    .await
    .map(drop)
}

/// How [`load_checkpoints`] holds the rows it reads.
#[derive(Clone, Copy)]
enum Lock {
    /// A plain read.
    None,
    /// A runner's step: locks the rows until the transaction ends, so that two runners never
    /// apply the same events, waiting for another step that holds one; but leaves out, without
    /// waiting, a read model being rebuilt, which would hold it for the whole rebuild.
    UnlessRebuilding,
    /// A rebuild: says so for the rest of the transaction (a lock steps share and a rebuild
    /// takes alone, keyed by the read model's name), then locks the row like a step.
    Rebuild,
}

/// Reads the checkpoints of these projections, in the order given: none for one whose row it
/// did not read (not made yet, or left out by [`Lock::UnlessRebuilding`]).
async fn load_checkpoints(
    conn: &mut PgConnection,
    names: &[&str],
    lock: Lock,
) -> Result<Vec<Option<Checkpoint>>, sqlx::Error> {
    let owned: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let sql = match lock {
        Lock::None => format!("{CHECKPOINT_SELECT} order by projection"),
        Lock::UnlessRebuilding => format!(
            "{CHECKPOINT_SELECT}
               and pg_try_advisory_xact_lock_shared({REBUILD_LOCK_CLASS}, hashtext(projection))
             order by projection for update"
        ),
        Lock::Rebuild => {
            sqlx::query(&format!(
                "select pg_advisory_xact_lock({REBUILD_LOCK_CLASS}, hashtext(name))
                 from unnest($1::text[]) as n(name) order by name"
            ))
            .bind(&owned)
            .execute(&mut *conn)
            .await?;
            format!("{CHECKPOINT_SELECT} order by projection for update")
        }
    };
    let rows: Vec<CheckpointRow> = sqlx::query_as(&sql).bind(&owned).fetch_all(conn).await?;
    names
        .iter()
        .map(|name| {
            rows.iter()
                .find(|row| row.projection == *name)
                .map(CheckpointRow::checkpoint)
                .transpose()
        })
        .collect()
}

/// Which of these read models a rebuild holds now.
async fn being_rebuilt<'a>(
    conn: &mut PgConnection,
    names: &[&'a str],
) -> Result<Vec<&'a str>, sqlx::Error> {
    // The shared lock is the statement's own, and gone when it ends.
    let held: Vec<bool> = sqlx::query_scalar(&format!(
        "select not pg_try_advisory_xact_lock_shared({REBUILD_LOCK_CLASS}, hashtext(name))
         from unnest($1::text[]) with ordinality as n(name, at) order by at"
    ))
    .bind(names)
    .fetch_all(conn)
    .await?;
    Ok(names
        .iter()
        .zip(held)
        .filter(|(_, held)| *held)
        .map(|(name, _)| *name)
        .collect())
}

/// A rebuild's fresh tables: made empty, beside the live ones, in a schema of the rebuild's
/// own that its transaction puts first on its search path, so the read model's statements
/// write them unchanged. Its [`Projection::read_indexes`] are left out while the log is
/// applied; [`Fresh::swap_in`] builds them in one pass each, which costs a fraction of
/// keeping them row by row, and puts the tables in place of the live ones. Both are
/// functions in the database (migration `20261206000000`).
struct Fresh {
    schema: String,
    tables: &'static [&'static str],
    later: &'static [&'static str],
    roomy: &'static [&'static str],
    search_path: String,
}

/// The fill factor of a rebuild's fresh tables that are updated in place: room on each page
/// for three more versions of each row.
const ROOMY_FILLFACTOR: u8 = 25;

impl Fresh {
    /// Makes the fresh tables of a read model that owns any (none, for one that owns none).
    async fn make(
        conn: &mut PgConnection,
        projection: &dyn Projection,
    ) -> Result<Option<Self>, sqlx::Error> {
        if projection.tables().is_empty() {
            return Ok(None);
        }
        let fresh = Self {
            schema: format!("rebuild_{}", projection.name()),
            tables: projection.tables(),
            later: projection.read_indexes(),
            roomy: projection.updated_in_place(),
            search_path: sqlx::query_scalar("select current_setting('search_path')")
                .fetch_one(&mut *conn)
                .await?,
        };
        sqlx::query("select fresh_tables($1, $2, $3)")
            .bind(&fresh.schema)
            .bind(fresh.tables)
            .bind(fresh.later)
            .execute(&mut *conn)
            .await?;
        for table in fresh.roomy {
            sqlx::query(&format!(
                r#"alter table "{}"."{table}" set (fillfactor = {ROOMY_FILLFACTOR})"#,
                fresh.schema
            ))
            .execute(&mut *conn)
            .await?;
        }
        let path = format!("\"{}\", {}", fresh.schema, fresh.search_path);
        set_search_path(conn, &path).await?;
        Ok(Some(fresh))
    }

    async fn swap_in(self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        set_search_path(conn, &self.search_path).await?;
        // The live table's storage parameters, for the rows written once the swap is done.
        for table in self.roomy {
            let fresh = format!(r#""{}"."{table}""#, self.schema);
            let live: Option<String> = sqlx::query_scalar(
                "select array_to_string(reloptions, ', ') from pg_class
                 where oid = format('public.%I', $1::text)::regclass",
            )
            .bind(table)
            .fetch_one(&mut *conn)
            .await?;
            sqlx::query(&format!("alter table {fresh} reset (fillfactor)"))
                .execute(&mut *conn)
                .await?;
            if let Some(live) = live {
                sqlx::query(&format!("alter table {fresh} set ({live})"))
                    .execute(&mut *conn)
                    .await?;
            }
        }
        sqlx::query("select swap_in_fresh_tables($1, $2, $3)")
            .bind(&self.schema)
            .bind(self.tables)
            .bind(self.later)
            .execute(conn)
            .await
            .map(drop)
    }
}

/// Sets the search path until the transaction ends.
async fn set_search_path(conn: &mut PgConnection, path: &str) -> Result<(), sqlx::Error> {
    sqlx::query("select set_config('search_path', $1, true)")
        .bind(path)
        .execute(conn)
        .await
        .map(drop)
}

/// The checkpoint columns, for a condition and an order to follow (rows are locked in
/// projection order).
const CHECKPOINT_SELECT: &str = r#"
    select projection, applied::text, target::text,
           transaction_id::text::bigint as transaction_id, position,
           halted_position, halted_event_id, halted_error, halted_at
    from projection_checkpoints where projection = any($1)
"#;

/// The first key of the advisory locks that say a read model is being rebuilt (the second is
/// a hash of its name).
const REBUILD_LOCK_CLASS: &str = "hashtext('cpd-ledger rebuild')";

#[derive(sqlx::FromRow)]
struct CheckpointRow {
    projection: String,
    applied: String,
    target: Option<String>,
    transaction_id: i64,
    position: i64,
    halted_position: Option<i64>,
    halted_event_id: Option<Uuid>,
    halted_error: Option<String>,
    halted_at: Option<DateTime<Utc>>,
}

impl CheckpointRow {
    fn checkpoint(&self) -> Result<Checkpoint, sqlx::Error> {
        let snapshot = |text: &str| {
            text.parse::<Snapshot>()
                .map_err(|reason| sqlx::Error::Decode(reason.into()))
        };
        let halt = match (
            self.halted_position,
            self.halted_event_id,
            &self.halted_error,
            self.halted_at,
        ) {
            (Some(position), Some(event_id), Some(error), Some(since)) => Some(Halt {
                position,
                event_id,
                error: error.clone(),
                since,
            }),
            _ => None,
        };
        Ok(Checkpoint {
            applied: snapshot(&self.applied)?,
            target: self.target.as_deref().map(snapshot).transpose()?,
            after: Position {
                transaction_id: self.transaction_id,
                position: self.position,
            },
            halt,
            rebuilding: false,
        })
    }
}

/// Writes the checkpoints that changed, in one statement.
async fn save_checkpoints(
    conn: &mut PgConnection,
    names: &[&str],
    before: &[Checkpoint],
    after: &[Checkpoint],
) -> Result<(), sqlx::Error> {
    let changed: Vec<(&str, &Checkpoint)> = names
        .iter()
        .zip(before.iter().zip(after))
        .filter(|(_, (old, new))| old != new)
        .map(|(name, (_, new))| (*name, new))
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&Checkpoint) -> Option<String>| -> Vec<Option<String>> {
        changed.iter().map(|(_, c)| f(c)).collect()
    };
    let projections: Vec<&str> = changed.iter().map(|(name, _)| *name).collect();
    sqlx::query(
        r#"
        update projection_checkpoints c
        set applied = u.applied::pg_snapshot, target = u.target::pg_snapshot,
            transaction_id = u.transaction_id::xid8, position = u.position::bigint,
            halted_position = u.halted_position::bigint, halted_event_id = u.halted_event_id::uuid,
            halted_error = u.halted_error, halted_at = u.halted_at::timestamptz,
            updated_at = now()
        from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                    $7::text[], $8::text[], $9::text[])
            as u(projection, applied, target, transaction_id, position, halted_position,
                 halted_event_id, halted_error, halted_at)
        where c.projection = u.projection
        "#,
    )
    .bind(&projections)
    .bind(column(|c| Some(c.applied.to_text())))
    .bind(column(|c| c.target.as_ref().map(Snapshot::to_text)))
    .bind(column(|c| Some(c.after.transaction_id.to_string())))
    .bind(column(|c| Some(c.after.position.to_string())))
    .bind(column(|c| c.halt.as_ref().map(|h| h.position.to_string())))
    .bind(column(|c| c.halt.as_ref().map(|h| h.event_id.to_string())))
    .bind(column(|c| c.halt.as_ref().map(|h| h.error.clone())))
    .bind(column(|c| c.halt.as_ref().map(|h| h.since.to_rfc3339())))
    .execute(conn)
    .await
    .map(drop)
}
