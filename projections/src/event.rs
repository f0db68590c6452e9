//! Stored events as the projections read them: in the global order, with their identity.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// A place in the global order: the writing transaction's id, then the event's identity
/// position. Readers only go below the oldest running transaction, so a transaction that
/// commits late can never be passed over.
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

/// The oldest transaction still running: every event below it is committed and visible.
pub(crate) async fn visible_bound(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select pg_snapshot_xmin(pg_current_snapshot())::text::bigint as "bound!""#
    )
    .fetch_one(conn)
    .await
}

/// Reads up to `limit` events of the given aggregate types after `after`, in global order,
/// from transactions below `bound`.
pub(crate) async fn read_after(
    conn: &mut PgConnection,
    aggregate_types: &[&str],
    after: Position,
    bound: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let types: Vec<String> = aggregate_types.iter().map(|t| (*t).to_owned()).collect();
    let rows = sqlx::query!(
        r#"
        select transaction_id::text::bigint as "transaction_id!", position, event_id,
               aggregate_type, aggregate_id, sequence, event_type, payload, metadata, recorded_at
        from events
        where ('*' = any($1) or aggregate_type = any($1))
          and (transaction_id, position) > ($2::bigint::text::xid8, $3)
          and transaction_id < $4::bigint::text::xid8
        order by transaction_id, position
        limit $5
        "#,
        &types,
        after.transaction_id,
        after.position,
        bound,
        limit,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| StoredEvent {
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
        })
        .collect())
}

/// Counts the events of the given types below `bound` (for progress reports).
pub(crate) async fn count_below(
    conn: &mut PgConnection,
    aggregate_types: &[&str],
    bound: i64,
) -> Result<i64, sqlx::Error> {
    let types: Vec<String> = aggregate_types.iter().map(|t| (*t).to_owned()).collect();
    sqlx::query_scalar!(
        r#"
        select count(*) as "count!" from events
        where ('*' = any($1) or aggregate_type = any($1))
          and transaction_id < $2::bigint::text::xid8
        "#,
        &types,
        bound,
    )
    .fetch_one(conn)
    .await
}

/// The last event of one aggregate, for read-your-writes waits.
pub async fn last_of_aggregate(
    conn: &mut PgConnection,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<Option<Position>, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        select transaction_id::text::bigint as "transaction_id!", position from events
        where aggregate_type = $1 and aggregate_id = $2
        order by sequence desc
        limit 1
        "#,
        aggregate_type,
        aggregate_id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| Position {
        transaction_id: row.transaction_id,
        position: row.position,
    }))
}
