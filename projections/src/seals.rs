//! Tamper evidence: every event is sealed into a hash chain in the global order. A link is
//! SHA-256 over the previous link and the event's id, stream, sequence, type, payload and
//! metadata. Sealing runs after commit, like any projection, so writers never wait for it;
//! [`verify`] recomputes the chain from the events and names the first link that differs.

use std::sync::Mutex;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::event::{self, Position};
use crate::runner::EVERY_TYPE;
use crate::{Projection, ProjectionError, StoredEvent};

/// How many events [`verify`] reads at a time.
const VERIFY_BATCH: i64 = 5_000;

/// The seals' name among the runner's projections.
pub const NAME: &str = "audit_seals";

/// Seals events into the chain.
#[derive(Default)]
pub struct Seals {
    /// The last link written in the current batch, to spare a lookup per event. Batches run
    /// with every checkpoint locked, so nobody else seals meanwhile; each batch starts afresh.
    last: Mutex<Option<(Position, Vec<u8>)>>,
}

/// The link of `event` after `previous` (none for the first event).
pub fn link(previous: Option<&[u8]>, event: &StoredEvent) -> Vec<u8> {
    let mut hash = Sha256::new();
    hash.update(previous.unwrap_or(&[]));
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
    hash.finalize().to_vec()
}

/// Lower-case hex, as links are published.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl Projection for Seals {
    fn name(&self) -> &'static str {
        NAME
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        EVERY_TYPE
    }

    fn start_batch(&self) {
        if let Ok(mut last) = self.last.lock() {
            *last = None;
        }
    }

    async fn reset(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query!("delete from event_seals")
            .execute(conn)
            .await
            .map(drop)
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let cached = self.last.lock().ok().and_then(|last| last.clone());
        let previous = match cached {
            Some((_, link)) => Some(link),
            None => sqlx::query_scalar!(
                "select link from event_seals order by transaction_id desc, position desc limit 1"
            )
            .fetch_optional(&mut *conn)
            .await?,
        };
        let link = link(previous.as_deref(), event);
        sqlx::query!(
            r#"
            insert into event_seals (position, transaction_id, event_id, link)
            values ($1, $2::bigint::text::xid8, $3, $4)
            on conflict (position) do nothing
            "#,
            event.position.position,
            event.position.transaction_id,
            event.event_id,
            link,
        )
        .execute(conn)
        .await?;
        if let Ok(mut last) = self.last.lock() {
            *last = Some((event.position, link));
        }
        Ok(())
    }
}

/// The newest seal: what an auditor records outside the system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// The sealed event's global position.
    pub position: i64,
    /// Its id.
    pub event_id: Uuid,
    /// Its link, hex.
    pub link: String,
    /// How many events are sealed.
    pub sealed: i64,
}

/// The head of the chain, if anything is sealed.
pub async fn head(pool: &PgPool) -> Result<Option<Head>, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        select position, event_id, link, (select count(*) from event_seals) as "sealed!"
        from event_seals order by transaction_id desc, position desc limit 1
        "#
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| Head {
        position: row.position,
        event_id: row.event_id,
        link: hex(&row.link),
        sealed: row.sealed,
    }))
}

/// The outcome of a verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every sealed event matches its link.
    Intact {
        /// Events verified.
        verified: u64,
        /// The last link, hex (none for an empty log).
        head: Option<String>,
    },
    /// The first event whose recomputed link differs from its seal, or that has none.
    Broken {
        /// Events verified before it.
        verified: u64,
        /// Its global position.
        position: i64,
        /// Its id.
        event_id: Uuid,
        /// Its stream.
        stream: String,
    },
}

/// Recomputes the chain over every sealed event, in order; `progress` is told
/// (verified, total).
pub async fn verify(
    pool: &PgPool,
    mut progress: impl FnMut(u64, u64),
) -> Result<Verdict, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let bound = event::visible_bound(&mut conn).await?;
    let total: i64 = sqlx::query_scalar!(r#"select count(*) as "count!" from event_seals"#)
        .fetch_one(&mut *conn)
        .await?;
    let total = total as u64;
    let (mut at, mut previous, mut verified) = (Position::default(), None::<Vec<u8>>, 0);
    loop {
        let events = event::read_after(&mut conn, EVERY_TYPE, at, bound, VERIFY_BATCH).await?;
        if events.is_empty() || verified >= total {
            break;
        }
        let positions: Vec<i64> = events.iter().map(|e| e.position.position).collect();
        let seals = sqlx::query!(
            "select position, link from event_seals where position = any($1)",
            &positions
        )
        .fetch_all(&mut *conn)
        .await?;
        for event in &events {
            if verified >= total {
                break;
            }
            let expected = link(previous.as_deref(), event);
            let sealed = seals.iter().find(|s| s.position == event.position.position);
            if sealed.is_none_or(|s| s.link != expected) {
                return Ok(Verdict::Broken {
                    verified,
                    position: event.position.position,
                    event_id: event.event_id,
                    stream: format!("{}/{}", event.aggregate_type, event.aggregate_id),
                });
            }
            previous = Some(expected);
            verified += 1;
        }
        at = events.last().map(|e| e.position).unwrap_or(at);
        progress(verified, total);
    }
    Ok(Verdict::Intact {
        verified,
        head: previous.map(|p| hex(&p)),
    })
}
