//! Verification of the log against its seals, both ways: every seal, in seal order, against
//! the event it names; then every event that has no seal.

use std::fmt;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Behind, Head, hex, link};
use crate::{Position, StoredEvent};

/// How many seals verification reads at a time.
const BATCH: i64 = 5_000;

/// Something the log and its seals disagree on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// The event's payload, metadata, type, stream or time no longer match its seal.
    Altered {
        /// The seal.
        seal: i64,
        /// The event's position.
        position: i64,
        /// The event.
        event_id: Uuid,
    },
    /// The sealed event is no longer in the log.
    Deleted {
        /// The seal.
        seal: i64,
        /// Where the event stood.
        position: i64,
        /// The event.
        event_id: Uuid,
    },
    /// The event no longer stands where it was sealed.
    Moved {
        /// The seal.
        seal: i64,
        /// The event.
        event_id: Uuid,
        /// Where it was sealed.
        sealed: Position,
        /// Where it stands now.
        now: Position,
    },
    /// An event without a seal stands behind the sealed head.
    Inserted {
        /// Its position.
        position: i64,
        /// The event.
        event_id: Uuid,
    },
    /// The seal numbers skip or repeat: `found` follows `after`.
    SealGap {
        /// The seal before (0 at the start).
        after: i64,
        /// The seal that follows it.
        found: i64,
    },
    /// The seal at a kept head no longer holds that head's event and link.
    HeadRewritten {
        /// The kept head's seal.
        seal: i64,
        /// The event the kept head names.
        event_id: Uuid,
    },
    /// The chain ends before a kept head.
    HeadTruncated {
        /// The kept head's seal.
        seal: i64,
        /// The last seal now.
        last: i64,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Altered {
                seal,
                position,
                event_id,
            } => write!(
                f,
                "altered: event {event_id} at position {position} no longer matches seal {seal} (payload, metadata, type, stream or time changed)"
            ),
            Self::Deleted {
                seal,
                position,
                event_id,
            } => write!(
                f,
                "deleted: event {event_id}, sealed as seal {seal} at position {position}, is gone from the log"
            ),
            Self::Moved {
                seal,
                event_id,
                sealed,
                now,
            } => write!(
                f,
                "reordered: event {event_id} was sealed as seal {seal} at position {} (transaction {}) but stands at position {} (transaction {})",
                sealed.position, sealed.transaction_id, now.position, now.transaction_id
            ),
            Self::Inserted { position, event_id } => write!(
                f,
                "inserted: event {event_id} at position {position} has no seal but stands behind the sealed head"
            ),
            Self::SealGap { after, found } => {
                write!(f, "broken seal sequence: seal {found} follows seal {after}")
            }
            Self::HeadRewritten { seal, event_id } => write!(
                f,
                "rewritten: seal {seal} no longer holds the kept head (event {event_id} and its chain hash); the log up to it was rewritten"
            ),
            Self::HeadTruncated { seal, last } => write!(
                f,
                "truncated: the chain ends at seal {last}, before the kept head's seal {seal}"
            ),
        }
    }
}

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
    let total = sqlx::query_scalar!("select max(seal) from audit_seals")
        .fetch_one(&mut *tx)
        .await?
        .unwrap_or(0) as u64;
    let mut walk = Walk::default();
    loop {
        let done = walk.batch(&mut tx, kept).await?;
        progress(walk.seals, total);
        if done {
            break;
        }
    }
    if let Some(kept) = kept.filter(|kept| walk.last < kept.seal) {
        walk.findings.push(Finding::HeadTruncated {
            seal: kept.seal,
            last: walk.last,
        });
    }
    let events = sqlx::query_scalar!(r#"select count(*) as "count!" from events"#)
        .fetch_one(&mut *tx)
        .await? as u64;
    let mut pending = 0;
    if events > walk.found {
        let behind = Behind {
            head: walk.head.as_ref().map(|(_, at)| *at),
            threshold: walk.threshold,
        };
        for (at, event_id, passed) in unsealed(&mut tx).await? {
            let before_head = walk.head.as_ref().is_some_and(|(_, head)| at < *head);
            if behind.holds(at) || (passed && before_head) {
                walk.findings.push(Finding::Inserted {
                    position: at.position,
                    event_id,
                });
            } else {
                pending += 1;
            }
        }
    }
    tx.commit().await?;
    Ok(Report {
        seals: walk.seals,
        events,
        pending,
        head: walk.head.map(|(head, _)| head),
        findings: walk.findings,
    })
}

/// The walk over the seals so far.
#[derive(Default)]
struct Walk {
    seals: u64,
    /// Seals whose event is still there.
    found: u64,
    last: i64,
    link: Option<Vec<u8>>,
    /// The batch (sealing transaction) of the last seal, and its `complete_below`.
    batch: Option<(i64, i64)>,
    /// The `complete_below` of the batch before the last seal's.
    threshold: Option<i64>,
    head: Option<(Head, Position)>,
    findings: Vec<Finding>,
}

impl Walk {
    /// Checks the next seals; returns whether there are no more.
    async fn batch(
        &mut self,
        conn: &mut PgConnection,
        kept: Option<&Head>,
    ) -> Result<bool, sqlx::Error> {
        let rows = sqlx::query!(
            r#"
            select s.seal, s.event_id, s.position as sealed_position,
                   s.transaction_id::text::bigint as "sealed_transaction!",
                   s.complete_below::text::bigint as "complete_below!",
                   s.sealed_by::text::bigint as "sealed_by!", s.sealed_at, s.link,
                   e.transaction_id::text::bigint as "transaction_id?", e.position as "position?",
                   e.aggregate_type as "aggregate_type?", e.aggregate_id as "aggregate_id?",
                   e.sequence as "sequence?", e.event_type as "event_type?",
                   e.payload as "payload?", e.metadata as "metadata?",
                   e.recorded_at as "recorded_at?"
            from audit_seals s left join events e on e.event_id = s.event_id
            where s.seal > $1
            order by s.seal
            limit $2
            "#,
            self.last,
            BATCH,
        )
        .fetch_all(conn)
        .await?;
        let done = (rows.len() as i64) < BATCH;
        for row in rows {
            let sealed = Position {
                transaction_id: row.sealed_transaction,
                position: row.sealed_position,
            };
            let in_sequence = row.seal == self.last + 1;
            if !in_sequence {
                self.findings.push(Finding::SealGap {
                    after: self.last,
                    found: row.seal,
                });
            }
            let event = match (
                row.transaction_id,
                row.position,
                row.aggregate_type,
                row.aggregate_id,
                row.sequence,
                row.event_type,
                row.payload,
                row.metadata,
                row.recorded_at,
            ) {
                (
                    Some(transaction_id),
                    Some(position),
                    Some(aggregate_type),
                    Some(aggregate_id),
                    Some(sequence),
                    Some(event_type),
                    Some(payload),
                    Some(metadata),
                    Some(recorded_at),
                ) => Some(StoredEvent {
                    position: Position {
                        transaction_id,
                        position,
                    },
                    event_id: row.event_id,
                    aggregate_type,
                    aggregate_id,
                    sequence,
                    event_type,
                    payload,
                    metadata,
                    recorded_at,
                }),
                _ => None,
            };
            match event {
                None => self.findings.push(Finding::Deleted {
                    seal: row.seal,
                    position: row.sealed_position,
                    event_id: row.event_id,
                }),
                Some(event) => {
                    self.found += 1;
                    if event.position != sealed {
                        self.findings.push(Finding::Moved {
                            seal: row.seal,
                            event_id: row.event_id,
                            sealed,
                            now: event.position,
                        });
                    } else if in_sequence
                        && link(self.link.as_deref(), row.seal, &event) != row.link
                    {
                        // Checked against the stored previous link, so one altered event is
                        // one finding rather than a broken chain from there on.
                        self.findings.push(Finding::Altered {
                            seal: row.seal,
                            position: event.position.position,
                            event_id: row.event_id,
                        });
                    }
                }
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
            self.head = Some((
                Head {
                    seal: row.seal,
                    position: row.sealed_position,
                    event_id: row.event_id,
                    chain_hash: hex(&row.link),
                    event_count: self.seals as i64,
                    sealed_at: row.sealed_at,
                },
                sealed,
            ));
            self.link = Some(row.link);
        }
        Ok(done)
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

/// Every event without a seal, with its place, and whether sealing has already passed its
/// transaction: the seals' checkpoint snapshot sees it, or other events of that transaction
/// are sealed (a transaction's events are sealed together), so it was written into the log
/// with a transaction id from the past.
async fn unsealed(conn: &mut PgConnection) -> Result<Vec<(Position, Uuid, bool)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"
        select e.transaction_id::text::bigint as "transaction_id!", e.position, e.event_id,
               (coalesce(pg_visible_in_snapshot(e.transaction_id, c.applied), false)
                or exists (select 1 from audit_seals t
                           where t.transaction_id = e.transaction_id)) as "passed!"
        from events e
        left join projection_checkpoints c on c.projection = $1
        where not exists (select 1 from audit_seals s where s.event_id = e.event_id)
        order by e.transaction_id, e.position
        "#,
        super::NAME,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let at = Position {
                transaction_id: row.transaction_id,
                position: row.position,
            };
            (at, row.event_id, row.passed)
        })
        .collect())
}
