//! School cohorts and partnerships: the read models behind `/api/v3/schools/ecf`,
//! `/api/v3/partnerships/ecf` and `/api/v3/delivery-partners`.

use aggregates::LeadProviderId;
use aggregates::school_cohort::{SchoolCohort, SchoolCohortEvent as V};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::{Page, Projection, ProjectionError, StoredEvent, read_model};

/// Projects school cohort events.
pub struct SchoolCohorts;

#[async_trait]
impl Projection for SchoolCohorts {
    read_model!(
        name: "school_cohorts",
        reads: [SchoolCohort::TYPE],
        tables: ["school_cohorts", "partnerships"],
    );

    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let at = event.recorded_at;
        match event
            .decode::<V>()
            .map_err(|e| ProjectionError::decode(event, e))?
        {
            V::Opened { school_id, cohort } => {
                sqlx::query!(
                    r#"
                    insert into school_cohorts (school_id, cohort, opened, created_at, updated_at)
                    values ($1, $2, true, $3, $3)
                    on conflict (school_id, cohort) do update
                    set opened = true, updated_at = excluded.updated_at
                    "#,
                    school_id.0,
                    cohort,
                    at
                )
                .execute(conn)
                .await?;
            }
            V::InductionProgrammeChosen {
                school_id,
                cohort,
                choice,
            } => {
                sqlx::query!(
                    r#"
                    insert into school_cohorts (school_id, cohort, induction_programme_choice,
                        created_at, updated_at)
                    values ($1, $2, $3, $4, $4)
                    on conflict (school_id, cohort) do update
                    set induction_programme_choice = excluded.induction_programme_choice,
                        updated_at = excluded.updated_at
                    "#,
                    school_id.0,
                    cohort,
                    choice,
                    at
                )
                .execute(conn)
                .await?;
            }
            V::PartnershipConfirmed {
                partnership_id,
                school_id,
                cohort,
                lead_provider_id,
                delivery_partner_id,
                challenge_deadline,
            } => {
                sqlx::query!(
                    r#"
                    insert into partnerships (id, lead_provider_id, school_id, delivery_partner_id,
                        cohort, challenge_deadline, created_at, updated_at)
                    values ($1, $2, $3, $4, $5, $6, $7, $7)
                    on conflict (id) do update
                    set delivery_partner_id = excluded.delivery_partner_id,
                        challenge_deadline = excluded.challenge_deadline,
                        challenged_reason = null, challenged_at = null,
                        updated_at = excluded.updated_at
                    "#,
                    partnership_id.0,
                    lead_provider_id.0,
                    school_id.0,
                    delivery_partner_id.0,
                    cohort,
                    challenge_deadline,
                    at
                )
                .execute(conn)
                .await?;
            }
            V::DeliveryPartnerChanged {
                partnership_id,
                delivery_partner_id,
            } => {
                sqlx::query!(
                    "update partnerships set delivery_partner_id = $2, updated_at = $3 where id = $1",
                    partnership_id.0,
                    delivery_partner_id.0,
                    at
                )
                .execute(conn)
                .await?;
            }
            V::PartnershipChallenged {
                partnership_id,
                reason,
                at: challenged_at,
            } => {
                sqlx::query!(
                    r#"
                    update partnerships set challenged_reason = $2, challenged_at = $3, updated_at = $4
                    where id = $1
                    "#,
                    partnership_id.0,
                    reason,
                    challenged_at,
                    at
                )
                .execute(conn)
                .await?;
            }
        }
        Ok(())
    }
}

/// A school as a cohort's list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchoolRow {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its URN.
    pub urn: String,
    /// Whether an unchallenged partnership exists for the cohort.
    pub in_partnership: bool,
    /// The school's choice for the cohort, or `not_yet_known`.
    pub induction_programme_choice: String,
    /// When the school was registered.
    pub created_at: DateTime<Utc>,
    /// When the school or its cohort last changed.
    pub updated_at: DateTime<Utc>,
}

/// Filters of the schools list (the cohort is required, so it is an argument).
#[derive(Clone, Debug, Default)]
pub struct SchoolFilter {
    /// Only the school with this URN.
    pub urn: Option<String>,
    /// Only schools updated at or after this instant.
    pub updated_since: Option<DateTime<Utc>>,
    /// Only this school.
    pub id: Option<Uuid>,
}

/// The schools a provider may partner in a cohort: eligible ones that are not CIP-only, and
/// any with an unchallenged partnership in the cohort; none for a cohort that does not exist.
pub async fn schools(
    db: impl PgExecutor<'_>,
    cohort: i32,
    filter: &SchoolFilter,
    page: Page,
) -> Result<Vec<SchoolRow>, sqlx::Error> {
    sqlx::query_as!(
        SchoolRow,
        r#"
        select s.id, s.name, s.urn,
               exists (
                   select 1 from partnerships p
                   where p.school_id = s.id and p.cohort = $1 and p.challenged_reason is null
               ) as "in_partnership!",
               coalesce(sc.induction_programme_choice, 'not_yet_known') as "induction_programme_choice!",
               s.created_at,
               greatest(s.updated_at, sc.updated_at) as "updated_at!"
        from schools s
        left join school_cohorts sc on sc.school_id = s.id and sc.cohort = $1
        where exists (select 1 from cohorts c where c.start_year = $1)
          and ((s.eligible and not s.cip_only) or exists (
                  select 1 from partnerships p
                  where p.school_id = s.id and p.cohort = $1 and p.challenged_reason is null))
          and ($2::text is null or s.urn = $2)
          and ($3::timestamptz is null or greatest(s.updated_at, sc.updated_at) >= $3)
          and ($4::uuid is null or s.id = $4)
        order by s.created_at, s.id
        limit $5 offset $6
        "#,
        cohort,
        filter.urn,
        filter.updated_since,
        filter.id,
        page.size,
        page.offset(),
    )
    .fetch_all(db)
    .await
}

/// A delivery partner a provider works with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryPartnerRow {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The cohorts of the provider's relationship with it.
    pub cohorts: Vec<i32>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The delivery partners the provider works with (in any of `cohorts`, if given).
pub async fn delivery_partners(
    db: impl PgExecutor<'_>,
    provider: LeadProviderId,
    cohorts: Option<&[i32]>,
    id: Option<Uuid>,
    page: Page,
) -> Result<Vec<DeliveryPartnerRow>, sqlx::Error> {
    sqlx::query_as!(
        DeliveryPartnerRow,
        r#"
        select d.id, d.name, d.created_at, d.updated_at,
               array(
                   select r.cohort from provider_relationships r
                   where r.delivery_partner_id = d.id and r.lead_provider_id = $1
                   order by r.cohort
               ) as "cohorts!"
        from delivery_partners d
        where exists (
                select 1 from provider_relationships r
                where r.delivery_partner_id = d.id and r.lead_provider_id = $1
                  and ($2::int[] is null or r.cohort = any($2)))
          and ($3::uuid is null or d.id = $3)
        order by d.created_at, d.id
        limit $4 offset $5
        "#,
        provider.0,
        cohorts,
        id,
        page.size,
        page.offset(),
    )
    .fetch_all(db)
    .await
}

/// A partnership as its provider sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnershipRow {
    /// Its id.
    pub id: Uuid,
    /// The cohort.
    pub cohort: i32,
    /// The school's URN.
    pub urn: String,
    /// The school.
    pub school_id: Uuid,
    /// The delivery partner.
    pub delivery_partner_id: Uuid,
    /// Its name.
    pub delivery_partner_name: String,
    /// The school's challenge reason.
    pub challenged_reason: Option<String>,
    /// When the school challenged it.
    pub challenged_at: Option<DateTime<Utc>>,
    /// The school's induction tutor.
    pub induction_tutor_name: Option<String>,
    /// Their email.
    pub induction_tutor_email: Option<String>,
    /// When it was confirmed.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Filters of the partnerships list.
#[derive(Clone, Debug, Default)]
pub struct PartnershipFilter {
    /// Only these cohorts.
    pub cohorts: Option<Vec<i32>>,
    /// Only these delivery partners.
    pub delivery_partner_ids: Option<Vec<Uuid>>,
    /// Only those updated after this instant.
    pub updated_since: Option<DateTime<Utc>>,
    /// Only this partnership.
    pub id: Option<Uuid>,
}

/// The provider's partnerships, oldest first.
pub async fn partnerships(
    db: impl PgExecutor<'_>,
    provider: LeadProviderId,
    filter: &PartnershipFilter,
    page: Page,
) -> Result<Vec<PartnershipRow>, sqlx::Error> {
    sqlx::query_as!(
        PartnershipRow,
        r#"
        select p.id, p.cohort, s.urn, p.school_id, p.delivery_partner_id,
               d.name as delivery_partner_name, p.challenged_reason, p.challenged_at,
               s.induction_tutor_name, s.induction_tutor_email, p.created_at, p.updated_at
        from partnerships p
        join schools s on s.id = p.school_id
        join delivery_partners d on d.id = p.delivery_partner_id
        where p.lead_provider_id = $1
          and ($2::int[] is null or p.cohort = any($2))
          and ($3::uuid[] is null or p.delivery_partner_id = any($3))
          and ($4::timestamptz is null or p.updated_at > $4)
          and ($5::uuid is null or p.id = $5)
        order by p.created_at, p.id
        limit $6 offset $7
        "#,
        provider.0,
        filter.cohorts.as_deref(),
        filter.delivery_partner_ids.as_deref(),
        filter.updated_since,
        filter.id,
        page.size,
        page.offset(),
    )
    .fetch_all(db)
    .await
}

/// A partnership as a committed write left it, named as the list names it (the school's URN
/// and induction tutor, the delivery partner's name): the answer to a write that the
/// partnerships read model does not show yet. `None` when the school or the delivery partner
/// is unknown.
pub async fn partnership_as_written(
    db: impl PgExecutor<'_>,
    written: &WrittenPartnership,
) -> Result<Option<PartnershipRow>, sqlx::Error> {
    sqlx::query_as!(
        PartnershipRow,
        r#"
        select $1::uuid as "id!", $2::int as "cohort!", s.urn, s.id as school_id,
               d.id as delivery_partner_id, d.name as delivery_partner_name,
               $5::text as challenged_reason, null::timestamptz as challenged_at,
               s.induction_tutor_name, s.induction_tutor_email,
               $6::timestamptz as "created_at!", $7::timestamptz as "updated_at!"
        from schools s, delivery_partners d
        where s.id = $3 and d.id = $4
        "#,
        written.id,
        written.cohort,
        written.school_id,
        written.delivery_partner_id,
        written.challenged_reason,
        written.created_at,
        written.updated_at,
    )
    .fetch_optional(db)
    .await
}

/// What a committed partnership write says of the partnership.
#[derive(Clone, Debug)]
pub struct WrittenPartnership {
    /// Its id.
    pub id: Uuid,
    /// The cohort.
    pub cohort: i32,
    /// The school.
    pub school_id: Uuid,
    /// The delivery partner.
    pub delivery_partner_id: Uuid,
    /// The school's challenge, if it stands.
    pub challenged_reason: Option<String>,
    /// When it was first confirmed.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}
