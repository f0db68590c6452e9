//! Reference read models the commands look up: cohorts, schedules, schools, delivery
//! partners and providers' relationships with them.

use aggregates::reference::{
    Cohort, DeliveryPartner, Milestone, ProviderRelationship, Schedule, ScheduleType, School,
};
use aggregates::{DeliveryPartnerId, LeadProviderId, Record, RecordEvent, SchoolId};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use sqlx::{PgConnection, PgExecutor};

use crate::{Projection, ProjectionError, StoredEvent, read_model};

/// Projects reference records.
pub struct ReferenceData;

fn record<R: Record + DeserializeOwned>(event: &StoredEvent) -> Result<R, ProjectionError> {
    let RecordEvent::Registered(record) = event
        .decode::<RecordEvent<R>>()
        .map_err(|e| ProjectionError::decode(event, e))?;
    Ok(record)
}

#[async_trait]
impl Projection for ReferenceData {
    read_model!(
        name: "reference_data",
        reads: [Cohort::TYPE, Schedule::TYPE, School::TYPE, DeliveryPartner::TYPE, ProviderRelationship::TYPE],
        tables: [
            "cohorts",
            "schedules",
            "schools",
            "delivery_partners",
            "provider_relationships",
        ],
    );

    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let at = event.recorded_at;
        match event.aggregate_type.as_str() {
            Cohort::TYPE => {
                let cohort: Cohort = record(event)?;
                sqlx::query!(
                    r#"
                    insert into cohorts (start_year, created_at, updated_at) values ($1, $2, $2)
                    on conflict (start_year) do update set updated_at = excluded.updated_at
                    "#,
                    cohort.start_year,
                    at,
                )
                .execute(conn)
                .await?;
            }
            Schedule::TYPE => {
                let schedule: Schedule = record(event)?;
                let milestones = serde_json::to_value(&schedule.milestones)
                    .map_err(|e| ProjectionError::decode(event, e))?;
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
                let school: School = record(event)?;
                sqlx::query!(
                    r#"
                    insert into schools (id, urn, name, eligible, cip_only, induction_tutor_name,
                        induction_tutor_email, created_at, updated_at)
                    values ($1, $2, $3, $4, $5, $6, $7, $8, $8)
                    on conflict (id) do update
                    set urn = excluded.urn, name = excluded.name, eligible = excluded.eligible,
                        cip_only = excluded.cip_only,
                        induction_tutor_name = excluded.induction_tutor_name,
                        induction_tutor_email = excluded.induction_tutor_email,
                        updated_at = excluded.updated_at
                    "#,
                    SchoolId::from_urn(&school.urn).0,
                    school.urn,
                    school.name,
                    school.eligible,
                    school.cip_only,
                    school.induction_tutor_name,
                    school.induction_tutor_email,
                    at,
                )
                .execute(conn)
                .await?;
            }
            DeliveryPartner::TYPE => {
                let partner: DeliveryPartner = record(event)?;
                sqlx::query!(
                    r#"
                    insert into delivery_partners (id, name, created_at, updated_at)
                    values ($1, $2, $3, $3)
                    on conflict (id) do update
                    set name = excluded.name, updated_at = excluded.updated_at
                    "#,
                    DeliveryPartnerId::from_name(&partner.name).0,
                    partner.name,
                    at,
                )
                .execute(conn)
                .await?;
            }
            _ => {
                let relationship: ProviderRelationship = record(event)?;
                sqlx::query!(
                    r#"
                    insert into provider_relationships (lead_provider_id, delivery_partner_id,
                        cohort, created_at)
                    values ($1, $2, $3, $4)
                    on conflict do nothing
                    "#,
                    relationship.lead_provider_id.0,
                    relationship.delivery_partner_id.0,
                    relationship.cohort,
                    at,
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

/// Whether a cohort (by start year) is in the reference data.
pub async fn cohort_exists(db: impl PgExecutor<'_>, start_year: i32) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from cohorts where start_year = $1) as "known!""#,
        start_year
    )
    .fetch_one(db)
    .await
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
        where school_id = $1 and cohort = $2 and challenged_reason is null
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

/// What the partnership rules need to know of a request's school, cohort and delivery partner.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartnershipFacts {
    /// The cohort exists.
    pub cohort_known: bool,
    /// The school exists.
    pub school_known: bool,
    /// The school runs only the core induction programme.
    pub cip_only: bool,
    /// The school is eligible for funding.
    pub school_eligible: bool,
    /// The school had a confirmed provider in the previous cohort.
    pub partnered_last_year: bool,
    /// The delivery partner exists.
    pub delivery_partner_known: bool,
    /// The provider works with the delivery partner in the cohort.
    pub has_relationship: bool,
}

/// Looks up the partnership facts in one round trip.
pub async fn partnership_facts(
    db: impl PgExecutor<'_>,
    provider: LeadProviderId,
    school: Option<SchoolId>,
    cohort: Option<i32>,
    delivery_partner: Option<DeliveryPartnerId>,
) -> Result<PartnershipFacts, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        select
            exists (select 1 from cohorts where start_year = $2) as "cohort_known!",
            exists (select 1 from schools where id = $1) as "school_known!",
            coalesce((select cip_only from schools where id = $1), false) as "cip_only!",
            coalesce((select eligible from schools where id = $1), false) as "school_eligible!",
            exists (
                select 1 from partnerships
                where school_id = $1 and cohort = $2 - 1 and challenged_reason is null
            ) as "partnered_last_year!",
            exists (select 1 from delivery_partners where id = $3) as "delivery_partner_known!",
            exists (
                select 1 from provider_relationships
                where lead_provider_id = $4 and delivery_partner_id = $3 and cohort = $2
            ) as "has_relationship!"
        "#,
        school.map(|s| s.0),
        cohort,
        delivery_partner.map(|d| d.0),
        provider.0,
    )
    .fetch_one(db)
    .await?;
    Ok(PartnershipFacts {
        cohort_known: row.cohort_known,
        school_known: row.school_known,
        cip_only: row.cip_only,
        school_eligible: row.school_eligible,
        partnered_last_year: row.partnered_last_year,
        delivery_partner_known: row.delivery_partner_known,
        has_relationship: row.has_relationship,
    })
}

/// Whether a partnership exists, challenged or not.
pub async fn partnership_known(
    db: impl PgExecutor<'_>,
    id: aggregates::PartnershipId,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from partnerships where id = $1) as "known!""#,
        id.0
    )
    .fetch_one(db)
    .await
}

/// The school and cohort of a partnership.
pub async fn partnership_key(
    db: impl PgExecutor<'_>,
    id: aggregates::PartnershipId,
) -> Result<Option<(SchoolId, i32)>, sqlx::Error> {
    let row = sqlx::query!(
        "select school_id, cohort from partnerships where id = $1",
        id.0
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|row| (SchoolId(row.school_id), row.cohort)))
}
