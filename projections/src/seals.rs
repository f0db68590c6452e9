//! Tamper evidence: every event is sealed once into a hash chain, numbered from 1 without gaps
//! in the order sealing takes the events. A link is SHA-256 over the previous link, the seal
//! number, the event's place (transaction and position), id, stream, sequence, type, payload,
//! metadata and time. Sealing follows the log after commit, so writers never wait for it, but
//! the seals are evidence, not a read model: `audit_seals` only grows (its triggers refuse
//! changes), and no rebuild, migration or start deletes or recomputes one. [`verify`] checks
//! the log against them both ways.

mod finding;
mod verify;

use std::collections::HashSet;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::event::{self, Position};
use crate::runner::EVERY_TYPE;
use crate::{Projection, ProjectionError, StoredEvent};

pub use finding::Finding;
pub use verify::{Report, verify};

/// The seals' name among the runner's projections.
pub const NAME: &str = "audit_seals";

/// Seals events into the chain.
#[derive(Default)]
pub struct Seals {
    /// Where the chain stood when the current batch began, and its newest seal since. Batches
    /// hold the checkpoint lock, so nobody else seals meanwhile; each batch starts afresh.
    tip: Mutex<Option<Tip>>,
}

/// The chain as the current batch sees it.
#[derive(Clone, Debug)]
struct Tip {
    /// The newest seal's number and link (0 and none before the first).
    seal: i64,
    link: Option<Vec<u8>>,
    /// Every transaction below this one had finished when the batch began.
    complete_below: i64,
    /// What an event must not be behind to be sealed now, from before the batch.
    behind: Behind,
}

/// The rule for an insertion. An unsealed event is behind the sealed head when its
/// transaction is below the `complete_below` of the newest seal written by an earlier batch
/// than the head's (so it had finished before the head's batch looked at the log, and the
/// runner would have delivered it by then) and its place is before the head's. A transaction
/// that commits late is never behind: it was still running when that batch began.
#[derive(Clone, Copy, Debug, Default)]
struct Behind {
    head: Option<Position>,
    threshold: Option<i64>,
}

impl Behind {
    fn holds(self, at: Position) -> bool {
        match (self.head, self.threshold) {
            (Some(head), Some(threshold)) => at.transaction_id < threshold && at < head,
            _ => false,
        }
    }
}

/// The link of the event sealed as `seal` after `previous` (none for seal 1).
pub fn link(previous: Option<&[u8]>, seal: i64, event: &StoredEvent) -> Vec<u8> {
    let mut hash = Sha256::new();
    hash.update(previous.unwrap_or(&[]));
    hash.update(seal.to_be_bytes());
    hash.update(event.position.transaction_id.to_be_bytes());
    hash.update(event.position.position.to_be_bytes());
    hash.update(event.event_id.as_bytes());
    for part in [
        &event.aggregate_type,
        &event.aggregate_id,
        &event.event_type,
    ] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.update(event.sequence.to_be_bytes());
    for json in [&event.payload, &event.metadata] {
        let text = json.to_string();
        hash.update((text.len() as u64).to_be_bytes());
        hash.update(text.as_bytes());
    }
    hash.update(event.recorded_at.timestamp_micros().to_be_bytes());
    hash.finalize().to_vec()
}

/// Lower-case hex, as links are published.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Seals {
    /// The chain's tip for this batch, read once at its first event.
    async fn tip(&self, conn: &mut PgConnection) -> Result<Tip, sqlx::Error> {
        if let Some(tip) = self.tip.lock().ok().and_then(|tip| tip.clone()) {
            return Ok(tip);
        }
        let complete_below = event::visible_bound(&mut *conn).await?;
        let head = sqlx::query!(
            r#"
            select h.seal, h.link, h.transaction_id::text::bigint as "transaction_id!", h.position,
                   (select s.complete_below::text::bigint from audit_seals s
                    where s.sealed_by <> h.sealed_by order by s.seal desc limit 1) as threshold
            from audit_seals h order by h.seal desc limit 1
            "#
        )
        .fetch_optional(&mut *conn)
        .await?;
        Ok(match head {
            Some(head) => Tip {
                seal: head.seal,
                link: Some(head.link),
                complete_below,
                behind: Behind {
                    head: Some(Position {
                        transaction_id: head.transaction_id,
                        position: head.position,
                    }),
                    threshold: head.threshold,
                },
            },
            None => Tip {
                seal: 0,
                link: None,
                complete_below,
                behind: Behind::default(),
            },
        })
    }
}

#[async_trait]
impl Projection for Seals {
    fn name(&self) -> &'static str {
        NAME
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        EVERY_TYPE
    }

    fn rebuildable(&self) -> bool {
        false
    }

    fn start_batch(&self) {
        if let Ok(mut tip) = self.tip.lock() {
            *tip = None;
        }
    }

    /// Never called, as seals are not rebuildable; the table refuses deletes anyway.
    async fn reset(&self, _conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        Ok(())
    }

    /// Seals the event, as a run of one.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        self.apply_run(conn, &[event]).await
    }

    /// Seals each event unless it already has a seal (a checkpoint moved back delivers events
    /// again), stands behind the sealed head, or belongs to a transaction an earlier batch
    /// sealed without this event being its continuation (it was inserted behind sealing's
    /// back, and sealing it now would launder it). The links are computed here and the seals
    /// written in one insert.
    async fn apply_run(
        &self,
        conn: &mut PgConnection,
        events: &[&StoredEvent],
    ) -> Result<(), ProjectionError> {
        let mut tip = self.tip(conn).await?;
        let candidates: Vec<&StoredEvent> = events
            .iter()
            .copied()
            .filter(|event| !tip.behind.holds(event.position))
            .collect();
        if candidates.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = candidates.iter().map(|event| event.event_id).collect();
        let mut transactions: Vec<i64> = candidates
            .iter()
            .map(|event| event.position.transaction_id)
            .collect();
        transactions.dedup();
        // A transaction's events all become visible together and are sealed in order in one
        // run of batches, so one that a batch before this one sealed events of is over,
        // unless this run goes on from the head the previous batch left: a transaction of
        // more events than a batch takes.
        let known = sqlx::query!(
            r#"
            select array(select event_id from audit_seals where event_id = any($1))
                       as "sealed!",
                   array(select t from unnest($2::bigint[]) t
                         where exists (select 1 from audit_seals s
                                       where s.transaction_id = t::text::xid8
                                         and s.sealed_by <> pg_current_xact_id()))
                       as "over!"
            "#,
            &ids,
            &transactions,
        )
        .fetch_one(&mut *conn)
        .await?;
        let sealed: HashSet<Uuid> = known.sealed.into_iter().collect();
        let over: HashSet<i64> = known.over.into_iter().collect();
        let mut new = NewSeals::default();
        for event in candidates {
            let continues = tip.behind.head.is_some_and(|head| {
                head.transaction_id == event.position.transaction_id && head < event.position
            });
            if sealed.contains(&event.event_id)
                || (over.contains(&event.position.transaction_id) && !continues)
            {
                continue;
            }
            let seal = tip.seal + 1;
            let link = link(tip.link.as_deref(), seal, event);
            new.push(seal, event, link.clone());
            tip.seal = seal;
            tip.link = Some(link);
        }
        if !new.seal.is_empty() {
            sqlx::query!(
                r#"
                insert into audit_seals
                    (seal, event_id, position, transaction_id, complete_below, link)
                select seal, event_id, position, transaction_id::text::xid8,
                       $5::bigint::text::xid8, link
                from unnest($1::bigint[], $2::uuid[], $3::bigint[], $4::bigint[], $6::bytea[])
                     as new (seal, event_id, position, transaction_id, link)
                "#,
                &new.seal,
                &new.event_id,
                &new.position,
                &new.transaction_id,
                tip.complete_below,
                &new.link,
            )
            .execute(&mut *conn)
            .await?;
        }
        if let Ok(mut cached) = self.tip.lock() {
            *cached = Some(tip);
        }
        Ok(())
    }
}

/// Seals about to be written, column by column.
#[derive(Default)]
struct NewSeals {
    seal: Vec<i64>,
    event_id: Vec<Uuid>,
    position: Vec<i64>,
    transaction_id: Vec<i64>,
    link: Vec<Vec<u8>>,
}

impl NewSeals {
    fn push(&mut self, seal: i64, event: &StoredEvent, link: Vec<u8>) {
        self.seal.push(seal);
        self.event_id.push(event.event_id);
        self.position.push(event.position.position);
        self.transaction_id.push(event.position.transaction_id);
        self.link.push(link);
    }
}

/// The newest seal: the checkpoint an auditor keeps outside the system, as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Its seal number: seals run from 1 without gaps.
    pub seal: i64,
    /// The sealed event's position (positions may skip values).
    pub position: i64,
    /// The sealed event's id.
    pub event_id: Uuid,
    /// Its link, hex: it commits to every sealed event up to it.
    pub chain_hash: String,
    /// How many events are sealed up to it.
    pub event_count: i64,
    /// When it was sealed.
    pub sealed_at: DateTime<Utc>,
}

/// The head of the chain, if anything is sealed.
pub async fn head(pool: &PgPool) -> Result<Option<Head>, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        select seal, position, event_id, link, sealed_at,
               (select count(*) from audit_seals) as "event_count!"
        from audit_seals order by seal desc limit 1
        "#
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| Head {
        seal: row.seal,
        position: row.position,
        event_id: row.event_id,
        chain_hash: hex(&row.link),
        event_count: row.event_count,
        sealed_at: row.sealed_at,
    }))
}
