//! Reference read models the commands look up: schedules, schools and partnerships.

use aggregates::reference::{Milestone, Partnership, Schedule, ScheduleType, School};
use aggregates::{DeliveryPartnerId, LeadProviderId, Record, RecordEvent, SchoolId};
use async_trait::async_trait;
use sqlx::{PgConnection, PgExecutor};

use crate::{Projection, ProjectionError, StoredEvent};

/// Projects schedules, schools and partnerships.
pub struct ReferenceData;

#[async_trait]
impl Projection for ReferenceData {
    fn name(&self) -> &'static str {
        "reference_data"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &[Schedule::TYPE, School::TYPE, Partnership::TYPE]
    }

    async fn reset(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query!("delete from schedules")
            .execute(&mut *conn)
            .await?;
        sqlx::query!("delete from schools")
            .execute(&mut *conn)
            .await?;
        sqlx::query!("delete from partnerships")
            .execute(&mut *conn)
            .await
            .map(drop)
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let decode_error = |e: serde_json::Error| ProjectionError::decode(event, e);
        match event.aggregate_type.as_str() {
            Schedule::TYPE => {
                let RecordEvent::Registered(schedule) = event
                    .decode::<RecordEvent<Schedule>>()
                    .map_err(decode_error)?;
                let milestones =
                    serde_json::to_value(&schedule.milestones).map_err(decode_error)?;
                sqlx::query!(
                    r#"
                    insert into schedules (identifier, cohort, schedule_type, name, milestones)
                    values ($1, $2, $3, $4, $5)
                    on conflict (identifier, cohort) do update
                    set schedule_type = excluded.schedule_type, name = excluded.name,
                        milestones = excluded.milestones
                    "#,
                    schedule.identifier,
                    schedule.cohort,
                    schedule.schedule_type.as_str(),
                    schedule.name,
                    milestones,
                )
                .execute(conn)
                .await?;
            }
            School::TYPE => {
                let RecordEvent::Registered(school) = event
                    .decode::<RecordEvent<School>>()
                    .map_err(decode_error)?;
                sqlx::query!(
                    r#"
                    insert into schools (id, urn, name, eligible, created_at, updated_at)
                    values ($1, $2, $3, $4, $5, $5)
                    on conflict (id) do update
                    set urn = excluded.urn, name = excluded.name, eligible = excluded.eligible,
                        updated_at = excluded.updated_at
                    "#,
                    SchoolId::from_urn(&school.urn).0,
                    school.urn,
                    school.name,
                    school.eligible,
                    event.recorded_at,
                )
                .execute(conn)
                .await?;
            }
            _ => {
                let RecordEvent::Registered(partnership) = event
                    .decode::<RecordEvent<Partnership>>()
                    .map_err(decode_error)?;
                let id = event
                    .aggregate_uuid()
                    .map_err(|e| ProjectionError::decode(event, e))?;
                sqlx::query!(
                    r#"
                    insert into partnerships (id, lead_provider_id, school_id, delivery_partner_id,
                        cohort, created_at, updated_at)
                    values ($1, $2, $3, $4, $5, $6, $6)
                    on conflict (id) do update
                    set delivery_partner_id = excluded.delivery_partner_id,
                        updated_at = excluded.updated_at
                    "#,
                    id,
                    partnership.lead_provider_id.0,
                    partnership.school_id.0,
                    partnership.delivery_partner_id.0,
                    partnership.cohort,
                    event.recorded_at,
                )
                .execute(conn)
                .await?;
            }
        }
        Ok(())
    }
}

/// A schedule of a cohort, with its milestones.
pub async fn schedule(
    db: impl PgExecutor<'_>,
    identifier: &str,
    cohort: i32,
) -> Result<Option<Schedule>, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        select identifier, cohort, schedule_type, name, milestones
        from schedules where identifier = $1 and cohort = $2
        "#,
        identifier,
        cohort
    )
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        schedule_from(
            row.identifier,
            row.cohort,
            &row.schedule_type,
            row.name,
            row.milestones,
        )
    })
    .transpose()
}

/// A schedule from its projected columns.
pub fn schedule_from(
    identifier: String,
    cohort: i32,
    schedule_type: &str,
    name: String,
    milestones: serde_json::Value,
) -> Result<Schedule, sqlx::Error> {
    let schedule_type = ScheduleType::parse(schedule_type).ok_or_else(|| {
        sqlx::Error::Decode(format!("unknown schedule type {schedule_type:?}").into())
    })?;
    let milestones: Vec<Milestone> =
        serde_json::from_value(milestones).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(Schedule {
        identifier,
        name,
        cohort,
        schedule_type,
        milestones,
    })
}

/// A school, by URN: its id and whether it is eligible for funding.
pub async fn school_by_urn(
    db: impl PgExecutor<'_>,
    urn: &str,
) -> Result<Option<(SchoolId, bool)>, sqlx::Error> {
    let row = sqlx::query!("select id, eligible from schools where urn = $1", urn)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|row| (SchoolId(row.id), row.eligible)))
}

/// The lead provider and delivery partner of a school's partnership in a cohort.
pub async fn partnership_of(
    db: impl PgExecutor<'_>,
    school: SchoolId,
    cohort: i32,
) -> Result<Option<(LeadProviderId, DeliveryPartnerId)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        select lead_provider_id, delivery_partner_id from partnerships
        where school_id = $1 and cohort = $2
        order by created_at
        limit 1
        "#,
        school.0,
        cohort
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|row| {
        (
            LeadProviderId(row.lead_provider_id),
            DeliveryPartnerId(row.delivery_partner_id),
        )
    }))
}
