//! The event store's write path: an aggregate is loaded from its events, and a command's
//! events are appended in one statement, which is the command's one transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use sqlx::PgPool;

use super::{LedgerError, Written};

/// PostgreSQL's `unique_violation`: another writer took the aggregate's next sequence first.
const UNIQUE_VIOLATION: &str = "23505";

/// What one run of a command left: its commit, and, when asked for, the aggregate's whole
/// history with it.
pub(super) struct Ran<A: Aggregate> {
    pub(super) written: Written,
    /// Every committed event of the aggregate (the command's own last) with when it was
    /// recorded; empty unless `run` was asked to keep it.
    pub(super) history: Vec<(A::Event, DateTime<Utc>)>,
}

/// Runs a command once: loads the aggregate, lets it decide, and appends what it decided.
/// With `keep_history`, returns the aggregate's events as they now stand, to answer from.
pub(super) async fn run<A: Aggregate<Services = ()>>(
    pool: &PgPool,
    aggregate_id: &str,
    command: A::Command,
    metadata: &HashMap<String, String>,
    keep_history: bool,
) -> Result<Ran<A>, LedgerError<A::Error>> {
    let mut loaded = load_events::<A>(pool, aggregate_id, keep_history).await?;
    let events = decide(&mut loaded, command).await?;
    if events.is_empty() {
        // Nothing new: a read after this waits for the aggregate's last write instead.
        return Ok(Ran {
            written: Written {
                transaction_id: loaded.last_transaction,
                events: 0,
            },
            history: loaded.history,
        });
    }
    let (transaction_id, recorded_at) =
        append::<A>(pool, aggregate_id, loaded.sequence, &events, metadata).await?;
    let written = Written {
        transaction_id: Some(transaction_id),
        events: events.len() as u64,
    };
    let mut history = loaded.history;
    if keep_history {
        history.extend(events.into_iter().map(|event| (event, recorded_at)));
    }
    Ok(Ran { written, history })
}

/// An aggregate as its committed events leave it, how many there are, and the transaction
/// that wrote the last of them.
pub(super) struct Loaded<A: Aggregate> {
    pub(super) aggregate: A,
    sequence: i64,
    last_transaction: Option<i64>,
    /// Its events with when each was recorded, when asked for.
    history: Vec<(A::Event, DateTime<Utc>)>,
}

/// Folds every committed event of one aggregate.
pub(super) async fn load<A: Aggregate>(
    pool: &PgPool,
    aggregate_id: &str,
) -> Result<Loaded<A>, LedgerError<A::Error>> {
    load_events(pool, aggregate_id, false).await
}

/// Folds every committed event of one aggregate, keeping them when `keep_history`.
async fn load_events<A: Aggregate>(
    pool: &PgPool,
    aggregate_id: &str,
    keep_history: bool,
) -> Result<Loaded<A>, LedgerError<A::Error>> {
    let rows = sqlx::query!(
        r#"
        select payload, transaction_id::text::bigint as "transaction_id!", recorded_at
        from events
        where aggregate_type = $1 and aggregate_id = $2
        order by sequence
        "#,
        A::TYPE,
        aggregate_id,
    )
    .fetch_all(pool)
    .await
    .map_err(store)?;
    let mut aggregate = A::default();
    let mut history = Vec::with_capacity(if keep_history { rows.len() } else { 0 });
    for row in &rows {
        let event = <A::Event as serde::Deserialize>::deserialize(&row.payload).map_err(store)?;
        if keep_history {
            history.push((event.clone(), row.recorded_at));
        }
        aggregate.apply(event);
    }
    Ok(Loaded {
        aggregate,
        sequence: rows.len() as i64,
        last_transaction: rows.last().map(|row| row.transaction_id),
        history,
    })
}

/// Runs a command against a loaded aggregate and returns the events it decided on.
async fn decide<A: Aggregate<Services = ()>>(
    loaded: &mut Loaded<A>,
    command: A::Command,
) -> Result<Vec<A::Event>, LedgerError<A::Error>> {
    let sink = EventSink::default();
    loaded
        .aggregate
        .handle(command, &(), &sink)
        .await
        .map_err(LedgerError::Rejected)?;
    Ok(sink.collect().await)
}

/// Appends `events` after the `after`-th event of the aggregate, with one metadata object for
/// all of them, and returns the id of the transaction that committed them and when it did. Another writer
/// that appended first makes this a [`LedgerError::Conflict`], with nothing written.
async fn append<A: Aggregate>(
    pool: &PgPool,
    aggregate_id: &str,
    after: i64,
    events: &[A::Event],
    metadata: &HashMap<String, String>,
) -> Result<(i64, DateTime<Utc>), LedgerError<A::Error>> {
    let mut types = Vec::with_capacity(events.len());
    let mut versions = Vec::with_capacity(events.len());
    let mut payloads = Vec::with_capacity(events.len());
    for event in events {
        types.push(event.event_type());
        versions.push(event.event_version());
        payloads.push(serde_json::to_value(event).map_err(store)?);
    }
    let metadata = serde_json::to_value(metadata).map_err(store)?;
    let appended = sqlx::query!(
        r#"
        with appended as (
            insert into events
                (aggregate_type, aggregate_id, sequence, event_type, event_version, payload,
                 metadata)
            select $1, $2, $3 + e.nth, e.event_type, e.event_version, e.payload, $7
            from unnest($4::text[], $5::text[], $6::jsonb[])
                with ordinality as e(event_type, event_version, payload, nth)
            returning transaction_id, recorded_at
        )
        select transaction_id::text::bigint as "transaction_id!",
               recorded_at as "recorded_at!"
        from appended limit 1
        "#,
        A::TYPE,
        aggregate_id,
        after,
        &types,
        &versions,
        &payloads,
        metadata,
    )
    .fetch_one(pool)
    .await
    .map_err(|error| match &error {
        sqlx::Error::Database(e) if e.code().as_deref() == Some(UNIQUE_VIOLATION) => {
            LedgerError::Conflict
        }
        _ => store(error),
    })?;
    Ok((appended.transaction_id, appended.recorded_at))
}

fn store<E: std::error::Error, S: std::error::Error + Send + Sync + 'static>(
    error: S,
) -> LedgerError<E> {
    LedgerError::Store(Box::new(error))
}
