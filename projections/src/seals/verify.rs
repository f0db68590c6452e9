//! Verification of the log against its seals, both ways: every seal, in seal order, against
//! the event it names; then every event that has no seal. The seals and the events are read
//! side by side, each in its own index order (seal number, position), and matched on the
//! position a seal recorded, which is where its event stands unless the log was tampered
//! with; only a seal whose event is not there is looked up by event id. Each of the two reads
//! runs ahead on a connection of its own in the walk's snapshot, so the database reads the
//! next chunks while the walk hashes this one.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{Behind, Finding, Head, hex, link};
use crate::event::EventRow;
use crate::{Position, StoredEvent};

/// How many seals, and how many events, verification reads at a time.
const CHUNK: i64 = 20_000;

/// What verification checked and found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Seals checked.
    pub seals: u64,
    /// Events in the log.
    pub events: u64,
    /// Events committed after the sealed head, not sealed yet (not a finding).
    pub pending: u64,
    /// The newest seal.
    pub head: Option<Head>,
    /// Every disagreement, seals in seal order first.
    pub findings: Vec<Finding>,
}

/// Checks every seal, by seal number, against its event, and every unsealed event against the
/// sealed head, in one snapshot; with `kept`, also that the chain still holds that head.
/// `progress` is told (seals checked, seals).
pub async fn verify(
    pool: &PgPool,
    kept: Option<&Head>,
    mut progress: impl FnMut(u64, u64),
) -> Result<Report, sqlx::Error> {
    let mut tx = crate::pool::begin(pool).await?;
    sqlx::query!("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let snapshot = sqlx::query_scalar!(r#"select pg_export_snapshot() as "snapshot!""#)
        .fetch_one(&mut *tx)
        .await?;
    let total = sqlx::query_scalar!("select max(seal) from audit_seals")
        .fetch_one(&mut *tx)
        .await?
        .unwrap_or(0) as u64;
    let mut seal_chunks = read_ahead::<SealRow>(pool, &snapshot);
    let mut walk = Walk::default();
    let mut log = Log::new(read_ahead::<EventRow>(pool, &snapshot));
    while let Some(seals) = seal_chunks.recv().await {
        let seals = seals?;
        let events = log.events_of(&mut tx, &seals).await?;
        for (seal, event) in seals.into_iter().zip(events) {
            walk.check(seal, event, kept);
        }
        progress(walk.seals, total);
    }
    if let Some(kept) = kept.filter(|kept| walk.last < kept.seal) {
        walk.findings.push(Finding::HeadTruncated {
            seal: kept.seal,
            last: walk.last,
        });
    }
    let behind = Behind {
        head: walk.head.as_ref().map(|head| head.at),
        threshold: walk.threshold,
    };
    let mut pending = 0;
    for (at, event_id, passed) in log.unsealed(&mut tx).await? {
        let before_head = walk.head.as_ref().is_some_and(|head| at < head.at);
        if behind.holds(at) || (passed && before_head) {
            walk.findings.push(Finding::Inserted {
                position: at.position,
                event_id,
            });
        } else {
            pending += 1;
        }
    }
    tx.commit().await?;
    Ok(Report {
        seals: walk.seals,
        events: log.count,
        pending,
        head: walk.published_head(),
        findings: walk.findings,
    })
}

/// A seal as verification reads it.
struct SealRow {
    seal: i64,
    event_id: Uuid,
    position: i64,
    transaction_id: i64,
    complete_below: i64,
    sealed_by: i64,
    sealed_at: DateTime<Utc>,
    link: Vec<u8>,
}

/// Chunks of one ordered table, as a reader running ahead sends them; the channel closes
/// after the last.
type Chunks<T> = mpsc::Receiver<Result<Vec<T>, sqlx::Error>>;

/// Rows read in chunks in the order of a key.
#[async_trait]
trait Ordered: Sized + Send + 'static {
    /// The next chunk after key `last`.
    async fn after(conn: &mut PgConnection, last: i64) -> Result<Vec<Self>, sqlx::Error>;

    /// The row's key.
    fn key(&self) -> i64;
}

#[async_trait]
impl Ordered for SealRow {
    async fn after(conn: &mut PgConnection, last: i64) -> Result<Vec<Self>, sqlx::Error> {
        sqlx::query_as!(
            SealRow,
            r#"
            select seal, event_id, position, transaction_id::text::bigint as "transaction_id!",
                   complete_below::text::bigint as "complete_below!",
                   sealed_by::text::bigint as "sealed_by!", sealed_at, link
            from audit_seals
            where seal > $1
            order by seal
            limit $2
            "#,
            last,
            CHUNK,
        )
        .fetch_all(conn)
        .await
    }

    fn key(&self) -> i64 {
        self.seal
    }
}

#[async_trait]
impl Ordered for EventRow {
    async fn after(conn: &mut PgConnection, last: i64) -> Result<Vec<Self>, sqlx::Error> {
        sqlx::query_as!(
            EventRow,
            r#"
            select transaction_id::text::bigint as "transaction_id!", position, event_id,
                   aggregate_type, aggregate_id, sequence, event_type, payload, metadata,
                   recorded_at
            from events
            where position > $1
            order by position
            limit $2
            "#,
            last,
            CHUNK,
        )
        .fetch_all(conn)
        .await
    }

    fn key(&self) -> i64 {
        self.position
    }
}

/// Reads a whole table in key order on a connection of its own, in the exported `snapshot`,
/// at most two chunks ahead of the walk.
fn read_ahead<T: Ordered>(pool: &PgPool, snapshot: &str) -> Chunks<T> {
    let (sender, chunks) = mpsc::channel(2);
    let (pool, snapshot) = (pool.clone(), snapshot.to_owned());
    tokio::spawn(async move {
        let read = async {
            let mut tx = crate::pool::begin(&pool).await?;
            join_snapshot(&mut tx, &snapshot).await?;
            let mut last = 0;
            loop {
                let rows = T::after(&mut tx, last).await?;
                let done = (rows.len() as i64) < CHUNK;
                last = rows.last().map_or(last, T::key);
                // The walk has stopped (it failed) when nobody receives.
                if sender.send(Ok(rows)).await.is_err() || done {
                    return Ok(());
                }
            }
        };
        if let Err(error) = read.await {
            let _ = sender.send(Err(error)).await;
        }
    });
    chunks
}

/// Makes this transaction see the database as the exporting one does.
async fn join_snapshot(conn: &mut PgConnection, snapshot: &str) -> Result<(), sqlx::Error> {
    // `set transaction snapshot` takes no parameters; an exported id is hex digits and dashes.
    if !snapshot.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(sqlx::Error::Protocol(format!(
            "unexpected snapshot id {snapshot:?}"
        )));
    }
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!("set transaction snapshot '{snapshot}'"))
        .execute(conn)
        .await
        .map(drop)
}

/// The events, read in position order alongside the seals.
struct Log {
    /// The chunks of events as they are read.
    chunks: Chunks<EventRow>,
    /// The highest position read so far, and whether the log has been read to its end.
    read_to: i64,
    ended: bool,
    /// Events read.
    count: u64,
    /// Events read and not yet matched to a seal at their position, by position.
    waiting: HashMap<i64, StoredEvent>,
    /// Events matched to a seal by id, as they do not stand at the position it recorded.
    elsewhere: HashSet<Uuid>,
}

impl Log {
    fn new(chunks: Chunks<EventRow>) -> Self {
        Self {
            chunks,
            read_to: 0,
            ended: false,
            count: 0,
            waiting: HashMap::new(),
            elsewhere: HashSet::new(),
        }
    }

    /// The event each seal names, if it is still in the log: at the position the seal
    /// recorded, or else wherever it stands now.
    async fn events_of(
        &mut self,
        conn: &mut PgConnection,
        seals: &[SealRow],
    ) -> Result<Vec<Option<StoredEvent>>, sqlx::Error> {
        if let Some(furthest) = seals.iter().map(|seal| seal.position).max() {
            self.read_through(furthest).await?;
        }
        let mut events: Vec<Option<StoredEvent>> = seals
            .iter()
            .map(|seal| self.take(seal.position, seal.event_id))
            .collect();
        let missing: Vec<Uuid> = seals
            .iter()
            .zip(&events)
            .filter(|(_, event)| event.is_none())
            .map(|(seal, _)| seal.event_id)
            .collect();
        if missing.is_empty() {
            return Ok(events);
        }
        let mut found: HashMap<Uuid, StoredEvent> = events_by_id(&mut *conn, &missing)
            .await?
            .into_iter()
            .map(|event| (event.event_id, event))
            .collect();
        for (seal, event) in seals.iter().zip(&mut events) {
            if event.is_none()
                && let Some(moved) = found.remove(&seal.event_id)
            {
                self.elsewhere.insert(moved.event_id);
                *event = Some(moved);
            }
        }
        Ok(events)
    }

    /// Takes events in position order until past `position` or the end of the log.
    async fn read_through(&mut self, position: i64) -> Result<(), sqlx::Error> {
        while !self.ended && self.read_to < position {
            let Some(rows) = self.chunks.recv().await else {
                self.ended = true;
                break;
            };
            let rows = rows?;
            self.count += rows.len() as u64;
            for row in rows {
                self.read_to = row.position;
                self.waiting.insert(row.position, row.into());
            }
        }
        Ok(())
    }

    /// The event at `position`, if it is the one with this id.
    fn take(&mut self, position: i64, event_id: Uuid) -> Option<StoredEvent> {
        let event = self.waiting.remove(&position)?;
        if event.event_id == event_id {
            return Some(event);
        }
        self.waiting.insert(position, event);
        None
    }

    /// Every event no seal names, in (transaction, position) order, with whether sealing has
    /// already passed its transaction: the seals' checkpoint snapshot sees it, or other events
    /// of that transaction are sealed (a transaction's events are sealed together), so it was
    /// written into the log with a transaction id from the past.
    async fn unsealed(
        &mut self,
        conn: &mut PgConnection,
    ) -> Result<Vec<(Position, Uuid, bool)>, sqlx::Error> {
        let mut unsealed: Vec<(Position, Uuid)> = self
            .waiting
            .drain()
            .filter(|(_, event)| !self.elsewhere.contains(&event.event_id))
            .map(|(_, event)| (event.position, event.event_id))
            .collect();
        // Past the last seal's event only ids are kept.
        while let Some(rows) = self.chunks.recv().await {
            let rows = rows?;
            self.count += rows.len() as u64;
            unsealed.extend(
                rows.into_iter()
                    .filter(|row| !self.elsewhere.contains(&row.event_id))
                    .map(|row| {
                        let at = Position {
                            transaction_id: row.transaction_id,
                            position: row.position,
                        };
                        (at, row.event_id)
                    }),
            );
        }
        if unsealed.is_empty() {
            return Ok(Vec::new());
        }
        unsealed.sort_unstable();
        let ids: Vec<Uuid> = unsealed.iter().map(|(_, id)| *id).collect();
        let passed: HashSet<Uuid> = sqlx::query_scalar!(
            r#"
            select e.event_id
            from events e
            left join projection_checkpoints c on c.projection = $1
            where e.event_id = any($2)
              and (coalesce(pg_visible_in_snapshot(e.transaction_id, c.applied), false)
                   or exists (select 1 from audit_seals t
                              where t.transaction_id = e.transaction_id))
            "#,
            super::NAME,
            &ids,
        )
        .fetch_all(conn)
        .await?
        .into_iter()
        .collect();
        Ok(unsealed
            .into_iter()
            .map(|(at, id)| (at, id, passed.contains(&id)))
            .collect())
    }
}

/// The events with these ids, wherever they stand.
async fn events_by_id(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let rows = sqlx::query_as!(
        EventRow,
        r#"
        select transaction_id::text::bigint as "transaction_id!", position, event_id,
               aggregate_type, aggregate_id, sequence, event_type, payload, metadata, recorded_at
        from events
        where event_id = any($1)
        "#,
        ids,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(StoredEvent::from).collect())
}

/// The walk over the seals so far.
#[derive(Default)]
struct Walk {
    seals: u64,
    last: i64,
    link: Option<Vec<u8>>,
    /// The batch (sealing transaction) of the last seal, and its `complete_below`.
    batch: Option<(i64, i64)>,
    /// The `complete_below` of the batch before the last seal's.
    threshold: Option<i64>,
    head: Option<Sealed>,
    findings: Vec<Finding>,
}

/// The newest seal walked: its link is the walk's.
struct Sealed {
    seal: i64,
    event_id: Uuid,
    at: Position,
    sealed_at: DateTime<Utc>,
}

impl Walk {
    /// Checks the next seal against its event (none if it is gone).
    fn check(&mut self, row: SealRow, event: Option<StoredEvent>, kept: Option<&Head>) {
        let sealed = Position {
            transaction_id: row.transaction_id,
            position: row.position,
        };
        let in_sequence = row.seal == self.last + 1;
        if !in_sequence {
            self.findings.push(Finding::SealGap {
                after: self.last,
                found: row.seal,
            });
        }
        match event {
            None => self.findings.push(Finding::Deleted {
                seal: row.seal,
                position: row.position,
                event_id: row.event_id,
            }),
            Some(event) if event.position != sealed => self.findings.push(Finding::Moved {
                seal: row.seal,
                event_id: row.event_id,
                sealed,
                now: event.position,
            }),
            // Checked against the stored previous link, so one altered event is one finding
            // rather than a broken chain from there on.
            Some(event)
                if in_sequence && link(self.link.as_deref(), row.seal, &event) != row.link =>
            {
                self.findings.push(Finding::Altered {
                    seal: row.seal,
                    position: event.position.position,
                    event_id: row.event_id,
                });
            }
            Some(_) => {}
        }
        if let Some(kept) = kept.filter(|kept| kept.seal == row.seal)
            && (kept.event_id != row.event_id || kept.chain_hash != hex(&row.link))
        {
            self.findings.push(Finding::HeadRewritten {
                seal: kept.seal,
                event_id: kept.event_id,
            });
        }
        self.note_batch(row.sealed_by, row.complete_below);
        self.seals += 1;
        self.last = row.seal;
        self.head = Some(Sealed {
            seal: row.seal,
            event_id: row.event_id,
            at: sealed,
            sealed_at: row.sealed_at,
        });
        self.link = Some(row.link);
    }

    /// The newest seal as published: hex is written once, not for every seal walked.
    fn published_head(&self) -> Option<Head> {
        let head = self.head.as_ref()?;
        Some(Head {
            seal: head.seal,
            position: head.at.position,
            event_id: head.event_id,
            chain_hash: hex(self.link.as_deref().unwrap_or_default()),
            event_count: self.seals as i64,
            sealed_at: head.sealed_at,
        })
    }

    /// Keeps the `complete_below` of the batch before the current one.
    fn note_batch(&mut self, sealed_by: i64, complete_below: i64) {
        match self.batch {
            Some((by, _)) if by == sealed_by => {}
            previous => {
                if let Some((_, below)) = previous {
                    self.threshold = Some(below);
                }
                self.batch = Some((sealed_by, complete_below));
            }
        }
    }
}
