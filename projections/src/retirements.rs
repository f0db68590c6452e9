//! The retired participant ids read model: which id each retired one now names. Lookups
//! resolve through it (see [`crate::npq::resolve`]); a rebuild refills it from the events.

use aggregates::retirement::{Retirement, RetirementEvent};
use async_trait::async_trait;
use cqrs_es::Aggregate;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::{Projection, ProjectionError, StoredEvent, read_model};

/// Projects retirement events.
pub struct Retirements;

#[async_trait]
impl Projection for Retirements {
    read_model!(
        name: "participant_retirements",
        reads: [Retirement::TYPE],
        tables: ["participant_retirements"],
    );

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

/// The TRNs a person is known by: on their ECF record and on their NPQ applications.
pub async fn trns_of(db: impl PgExecutor<'_>, person: Uuid) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        select trn as "trn!" from participants where id = $1 and trn is not null
        union
        select trn from npq_applications where participant_id = $1 and trn is not null
        "#,
        person
    )
    .fetch_all(db)
    .await
}

/// A milestone both people hold with a live declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClashRow {
    pub course_identifier: String,
    pub declaration_type: String,
    pub retired_declaration: Uuid,
    pub kept_declaration: Uuid,
}

/// The milestones both people hold with a declaration in one of the `live` states.
pub async fn clashes(
    db: impl PgExecutor<'_>,
    retired: Uuid,
    kept: Uuid,
) -> Result<Vec<ClashRow>, sqlx::Error> {
    sqlx::query_as!(
        ClashRow,
        r#"
        select r.course_identifier, r.declaration_type, r.id as retired_declaration,
               k.id as kept_declaration
        from declarations r
        join declarations k on k.course_identifier = r.course_identifier
            and k.declaration_type = r.declaration_type
        where r.participant_id = $1 and k.participant_id = $2
          and r.live and k.live
        order by r.course_identifier, r.declaration_type
        "#,
        retired,
        kept,
    )
    .fetch_all(db)
    .await
}

/// The courses a person has declarations or an NPQ enrolment on.
pub async fn courses_of(db: impl PgExecutor<'_>, person: Uuid) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        select course_identifier as "course!" from declarations where participant_id = $1
        union
        select course_identifier from npq_applications
        where participant_id = $1 and status = 'accepted'
        "#,
        person
    )
    .fetch_all(db)
    .await
}

/// A person's training records.
pub async fn records_of(db: impl PgExecutor<'_>, person: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from training_records where participant_id = $1 order by created_at",
        person
    )
    .fetch_all(db)
    .await
}

/// The NPQ streams holding a person's applications.
pub async fn npq_streams_of(
    db: impl PgExecutor<'_>,
    person: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select distinct stream_id from npq_applications where participant_id = $1",
        person
    )
    .fetch_all(db)
    .await
}
