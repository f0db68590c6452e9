//! Runs of events written a stretch at a time: a read model whose most common event (a
//! registration, a submission) can be written for many events in one statement per table
//! gathers consecutive such events and writes them together, applying every other event alone
//! and in its place, so the rows are those of [`Projection::apply`] on each event in turn.

use async_trait::async_trait;
use sqlx::PgConnection;

use crate::{Projection, ProjectionError, StoredEvent};

/// A read model that writes stretches of one kind of event together.
#[async_trait]
pub(crate) trait Stretches: Projection {
    /// What it keeps of each event it writes in stretches.
    type Item: Send;

    /// The event, if it is one written in stretches.
    fn gather(&self, event: &StoredEvent) -> Result<Option<Self::Item>, ProjectionError>;

    /// Writes a stretch (possibly empty), as applying its events in turn would.
    async fn write(
        &self,
        conn: &mut PgConnection,
        stretch: Vec<Self::Item>,
    ) -> Result<(), sqlx::Error>;
}

/// Applies a run of events: each stretch of gathered events written together, every other
/// event applied alone after the stretch before it.
pub(crate) async fn apply_run<P: Stretches>(
    projection: &P,
    conn: &mut PgConnection,
    events: &[&StoredEvent],
) -> Result<(), ProjectionError> {
    let mut stretch = Vec::new();
    for &event in events {
        match projection.gather(event)? {
            Some(item) => stretch.push(item),
            None => {
                projection
                    .write(&mut *conn, std::mem::take(&mut stretch))
                    .await?;
                projection.apply(&mut *conn, event).await?;
            }
        }
    }
    projection.write(conn, stretch).await?;
    Ok(())
}

/// One column of a stretch, for `unnest`.
pub(crate) fn column<I, T>(stretch: &[I], value: impl Fn(&I) -> T) -> Vec<T> {
    stretch.iter().map(value).collect()
}
