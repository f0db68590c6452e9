//! The retired participant ids read model: which id each retired one now names. Lookups
//! resolve through it (see [`crate::npq::resolve`]); a rebuild refills it from the events.

use aggregates::retirement::{Retirement, RetirementEvent};
use async_trait::async_trait;
use cqrs_es::Aggregate;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::{Projection, ProjectionError, StoredEvent};

/// Projects retirement events.
pub struct Retirements;

#[async_trait]
impl Projection for Retirements {
    fn name(&self) -> &'static str {
        "participant_retirements"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &[Retirement::TYPE]
    }

    async fn reset(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query!("delete from participant_retirements")
            .execute(conn)
            .await
            .map(drop)
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let RetirementEvent::Retired {
            retired_id,
            kept_id,
            confirmed_same_person,
        } = event
            .decode()
            .map_err(|e| ProjectionError::decode(event, e))?;
        sqlx::query!(
            r#"
            insert into participant_retirements (retired_id, kept_id, confirmed_same_person,
                retired_at)
            values ($1, $2, $3, $4)
            on conflict (retired_id) do nothing
            "#,
            retired_id.0,
            kept_id.0,
            confirmed_same_person,
            event.recorded_at,
        )
        .execute(&mut *conn)
        .await?;
        // Ids retired into this one earlier now name the person it was retired into.
        sqlx::query!(
            "update participant_retirements set kept_id = $2 where kept_id = $1",
            retired_id.0,
            kept_id.0,
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// The id a retired id was retired in favour of, if it was.
pub async fn kept_for(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "select kept_id from participant_retirements where retired_id = $1",
        id
    )
    .fetch_optional(db)
    .await
}

/// The ids retired in favour of this one.
pub async fn retired_into(db: impl PgExecutor<'_>, kept: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "select retired_id from participant_retirements where kept_id = $1 order by retired_at",
        kept
    )
    .fetch_all(db)
    .await
}
