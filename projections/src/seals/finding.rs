//! What verification can find: each way the log and its seals may disagree, with the
//! event concerned, and how `audit verify` prints it.

use std::fmt;

use uuid::Uuid;

use crate::Position;

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
