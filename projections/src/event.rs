//! Stored events as the projections read them: in the global order, with their identity.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// An event's place in the log: the writing transaction's id, then the event's identity
/// position. Within one batch (see [`Snapshot`]) events are applied in this order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The 64-bit id (`xid8`) of the transaction that wrote the event.
    pub transaction_id: i64,
    /// The event's identity position.
    pub position: i64,
}

/// One event from the log.
#[derive(Clone, Debug)]
pub struct StoredEvent {
    /// Where it stands in the global order.
    pub position: Position,
    /// Its unique id.
    pub event_id: Uuid,
    /// The kind of aggregate it belongs to, e.g. `statement`.
    pub aggregate_type: String,
    /// The aggregate's id.
    pub aggregate_id: String,
    /// Its sequence within the aggregate, from 1.
    pub sequence: i64,
    /// The event's variant name.
    pub event_type: String,
    /// The serialized event.
    pub payload: Value,
    /// Who caused it, through which API version and request.
    pub metadata: Value,
    /// The server time it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// An event row as the log's readers select it; every such select names these columns.
pub(crate) struct EventRow {
    pub(crate) transaction_id: i64,
    pub(crate) position: i64,
    pub(crate) event_id: Uuid,
    pub(crate) aggregate_type: String,
    pub(crate) aggregate_id: String,
    pub(crate) sequence: i64,
    pub(crate) event_type: String,
    pub(crate) payload: Value,
    pub(crate) metadata: Value,
    pub(crate) recorded_at: DateTime<Utc>,
}

impl From<EventRow> for StoredEvent {
    fn from(row: EventRow) -> Self {
        Self {
            position: Position {
                transaction_id: row.transaction_id,
                position: row.position,
            },
            event_id: row.event_id,
            aggregate_type: row.aggregate_type,
            aggregate_id: row.aggregate_id,
            sequence: row.sequence,
            event_type: row.event_type,
            payload: row.payload,
            metadata: row.metadata,
            recorded_at: row.recorded_at,
        }
    }
}

impl StoredEvent {
    /// Decodes the payload as the given event enum.
    pub fn decode<E: DeserializeOwned>(&self) -> Result<E, serde_json::Error> {
        E::deserialize(&self.payload)
    }

    /// Parses the aggregate id as a UUID.
    pub fn aggregate_uuid(&self) -> Result<Uuid, uuid::Error> {
        Uuid::parse_str(&self.aggregate_id)
    }
}

/// The oldest transaction still running in this database (or, when none is, the next to
/// start): every event below it is committed and visible. Transactions of other databases on
/// the server cannot write this log, so they hold nothing back. The audit trail pages below
/// it, so a page never changes once read.
pub(crate) async fn visible_bound(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    // `pg_stat_activity` gives a backend's transaction id in 32 bits; the snapshot's list of
    // running transactions gives them in 64, so they are matched on their low 32 bits.
    sqlx::query_scalar!(
        r#"
        with now as (select pg_current_snapshot() as snapshot)
        select coalesce(
            (select min(running::text::bigint)
             from now, pg_snapshot_xip(now.snapshot) as running
             where running::text::bigint % 4294967296 in (
                 select backend_xid::text::bigint from pg_stat_activity
                 where datname = current_database() and backend_xid is not null)),
            (select pg_snapshot_xmax(snapshot)::text::bigint from now)
        ) as "bound!"
        "#
    )
    .fetch_one(conn)
    .await
}

/// A PostgreSQL snapshot (`pg_snapshot`): which transactions had committed when it was taken.
/// Transactions below `xmin` had; those from `xmin` up to `xmax` had unless listed in `xip`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Snapshot {
    xmin: i64,
    xmax: i64,
    xip: Vec<i64>,
}

impl Default for Snapshot {
    /// The snapshot that sees no transaction: nothing applied yet.
    fn default() -> Self {
        Self {
            xmin: 1,
            xmax: 1,
            xip: Vec::new(),
        }
    }
}

impl Snapshot {
    /// Whether the transaction `transaction_id` had committed when this was taken.
    pub fn sees(&self, transaction_id: i64) -> bool {
        transaction_id < self.xmin
            || (transaction_id < self.xmax && !self.xip.contains(&transaction_id))
    }

    /// Orders snapshots of one runner by when they were taken: a later one ends later, or
    /// ends at the same transaction with fewer of those before it still running.
    pub(crate) fn age(&self) -> (i64, std::cmp::Reverse<usize>) {
        (self.xmax, std::cmp::Reverse(self.xip.len()))
    }

    /// The text form PostgreSQL reads and writes: `xmin:xmax:xip,xip`.
    pub fn to_text(&self) -> String {
        let xip: Vec<String> = self.xip.iter().map(i64::to_string).collect();
        format!("{}:{}:{}", self.xmin, self.xmax, xip.join(","))
    }
}

impl std::str::FromStr for Snapshot {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("not a snapshot: {text:?}");
        let mut parts = text.splitn(3, ':');
        let number = |part: Option<&str>| part.and_then(|p| p.parse().ok()).ok_or_else(bad);
        let xmin = number(parts.next())?;
        let xmax = number(parts.next())?;
        let xip = match parts.next().ok_or_else(bad)? {
            "" => Vec::new(),
            list => list
                .split(',')
                .map(|id| id.parse().map_err(|_| bad()))
                .collect::<Result<_, _>>()?,
        };
        Ok(Self { xmin, xmax, xip })
    }
}

/// The snapshot of the transaction `conn` is in (or of this statement, outside one).
pub(crate) async fn current_snapshot(conn: &mut PgConnection) -> Result<Snapshot, sqlx::Error> {
    let text = sqlx::query_scalar!(r#"select pg_current_snapshot()::text as "snapshot!""#)
        .fetch_one(conn)
        .await?;
    text.parse()
        .map_err(|reason: String| sqlx::Error::Decode(reason.into()))
}

/// Whether the log holds an event of a transaction `applied` does not see: one begun since,
/// or one that was still running when it was taken. Both are index lookups whatever the plan
/// (the newest event, and the running transactions' events); a range test in an `exists`
/// would let a generic plan scan the whole log for rows that are not there.
pub(crate) async fn committed_unseen(
    conn: &mut PgConnection,
    applied: &Snapshot,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        select coalesce((
                   select transaction_id >= pg_snapshot_xmax($1::text::pg_snapshot)
                   from events order by transaction_id desc limit 1), false)
            or exists (
                   select 1 from events
                   where transaction_id = any(array(
                       select x from pg_snapshot_xip($1::text::pg_snapshot) x)))
            as "unseen!"
        "#,
        applied.to_text(),
    )
    .fetch_one(conn)
    .await
}

/// The transactions whose events, of these aggregate types, this statement's snapshot sees and
/// `applied` does not: what a reader must wait for before the read models show everything
/// committed so far; and whether there may be more (one type had a thousand of them begun
/// since: ask again once these are shown). The query is the database function of the same name
/// (migration `20261205001500`), planned once per connection.
pub(crate) async fn unseen_transactions(
    conn: &mut PgConnection,
    aggregate_types: &[&str],
    applied: &Snapshot,
) -> Result<(Vec<i64>, bool), sqlx::Error> {
    let types: Vec<String> = aggregate_types.iter().map(|t| (*t).to_owned()).collect();
    let row = sqlx::query!(
        r#"
        select unseen as "unseen!", more as "more!"
        from unseen_transactions($1, $2::text::pg_snapshot)
        "#,
        &types,
        applied.to_text(),
    )
    .fetch_one(conn)
    .await?;
    Ok((row.unseen, row.more))
}

/// The events of one batch: those of the given aggregate types whose transaction `target`
/// sees and `applied` does not, after the cursor `after`, up to `limit` of them, in
/// (transaction, position) order. The two halves of the batch (transactions still running at
/// `applied`, and those begun since) are each cut from the global-order index with their own
/// limit, so a batch costs the same however far behind the reader is; ordering the output by
/// the cast `transaction_id` instead sorted every pending event (1.15 s a batch with 444,000
/// pending). The second half starts at one row bound, the later of `applied`'s end and the
/// cursor: given both, the index scan started at the cursor, the start of the log for a new
/// batch, and walked every event before `applied` (30 ms a batch at 200,000 events).
pub(crate) async fn read_batch(
    conn: &mut PgConnection,
    aggregate_types: &[&str],
    applied: &Snapshot,
    target: &Snapshot,
    after: Position,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let types: Vec<String> = aggregate_types.iter().map(|t| (*t).to_owned()).collect();
    let rows = sqlx::query_as!(
        EventRow,
        r#"
        with batch as (
            (select * from events
             where transaction_id = any(array(
                       select x from pg_snapshot_xip($3::text::pg_snapshot) x
                       where x >= $5::bigint::text::xid8))
               and (transaction_id, position) > ($5::bigint::text::xid8, $6)
               and pg_visible_in_snapshot(transaction_id, $4::text::pg_snapshot)
               and ('*' = any($1) or aggregate_type = any($1))
             order by transaction_id, position
             limit $2)
            union all
            (select * from events
             where (transaction_id, position) > (
                       greatest(pg_snapshot_xmax($3::text::pg_snapshot), $5::bigint::text::xid8),
                       case when $5::bigint::text::xid8 >= pg_snapshot_xmax($3::text::pg_snapshot)
                            then $6 else 0 end)
               and transaction_id < pg_snapshot_xmax($4::text::pg_snapshot)
               and pg_visible_in_snapshot(transaction_id, $4::text::pg_snapshot)
               and ('*' = any($1) or aggregate_type = any($1))
             order by transaction_id, position
             limit $2)
        )
        select transaction_id::text::bigint as "transaction_id!", position as "position!",
               event_id as "event_id!", aggregate_type as "aggregate_type!",
               aggregate_id as "aggregate_id!", sequence as "sequence!",
               event_type as "event_type!", payload as "payload!", metadata as "metadata!",
               recorded_at as "recorded_at!"
        from batch
        order by batch.transaction_id, batch.position
        limit $2
        "#,
        &types,
        limit,
        applied.to_text(),
        target.to_text(),
        after.transaction_id,
        after.position,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(StoredEvent::from).collect())
}

/// How far a reader at (`applied`, `after`) is behind `now`: how many events of these types
/// it has still to apply (counted up to `cap`), and when the oldest of them was recorded.
pub(crate) async fn lag(
    conn: &mut PgConnection,
    aggregate_types: &[&str],
    applied: &Snapshot,
    after: Position,
    now: &Snapshot,
    cap: i64,
) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
    let types: Vec<String> = aggregate_types.iter().map(|t| (*t).to_owned()).collect();
    let row = sqlx::query!(
        r#"
        select count(*) as "count!", min(recorded_at) as oldest from (
            select recorded_at from events
            where transaction_id = any(array(select pg_snapshot_xip($3::text::pg_snapshot)))
              and (transaction_id, position) > ($4::bigint::text::xid8, $5)
              and pg_visible_in_snapshot(transaction_id, $6::text::pg_snapshot)
              and ('*' = any($1) or aggregate_type = any($1))
            union all
            select recorded_at from events
            where (transaction_id, position) > (
                      greatest(pg_snapshot_xmax($3::text::pg_snapshot), $4::bigint::text::xid8),
                      case when $4::bigint::text::xid8 >= pg_snapshot_xmax($3::text::pg_snapshot)
                           then $5 else 0 end)
              and pg_visible_in_snapshot(transaction_id, $6::text::pg_snapshot)
              and ('*' = any($1) or aggregate_type = any($1))
            limit $2
        ) as pending
        "#,
        &types,
        cap,
        applied.to_text(),
        after.transaction_id,
        after.position,
        now.to_text(),
    )
    .fetch_one(conn)
    .await?;
    Ok((row.count, row.oldest))
}

/// How many events the log holds of each aggregate type.
pub(crate) async fn count_by_type(
    db: impl sqlx::PgExecutor<'_>,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select aggregate_type, count(*) as "count!" from events group by aggregate_type"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.aggregate_type, row.count))
        .collect())
}
/// Every event of one aggregate, in its sequence.
pub async fn of_aggregate(
    db: impl sqlx::PgExecutor<'_>,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let rows = sqlx::query_as!(
        EventRow,
        r#"
        select transaction_id::text::bigint as "transaction_id!", position, event_id,
               aggregate_type, aggregate_id, sequence, event_type, payload, metadata, recorded_at
        from events where aggregate_type = $1 and aggregate_id = $2
        order by sequence
        "#,
        aggregate_type,
        aggregate_id,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(StoredEvent::from).collect())
}

/// Whether the log holds an event of this type for one aggregate, whatever the read models
/// have applied yet.
pub async fn recorded(
    db: impl sqlx::PgExecutor<'_>,
    aggregate_type: &str,
    aggregate_id: &str,
    event_type: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        select exists (
            select 1 from events
            where aggregate_type = $1 and aggregate_id = $2 and event_type = $3
        ) as "recorded!"
        "#,
        aggregate_type,
        aggregate_id,
        event_type,
    )
    .fetch_one(db)
    .await
}
