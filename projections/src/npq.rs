//! The NPQ read model: applications, the enrolments accepting them made, and the ids merged
//! into another person's. It serves `/api/v3/npq-applications`, `/api/v3/participants/npq`
//! and the facts NPQ commands look up.

use aggregates::npq::{ApplicationStatus, NpqCourse, NpqEvent as V};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use futures::stream::BoxStream;
use futures::{Stream, TryStreamExt};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::{Page, Projection, ProjectionError, StoredEvent, read_model};

/// Projects NPQ course events.
pub struct NpqApplications;

/// An application as the API shows it, with its enrolment once accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationRow {
    pub id: Uuid,
    pub stream_id: String,
    pub participant_id: Uuid,
    pub lead_provider_id: Uuid,
    pub full_name: String,
    pub email: String,
    pub trn: Option<String>,
    pub trn_validated: bool,
    pub course_identifier: String,
    pub cohort: i32,
    pub works_in_school: bool,
    pub employer_name: Option<String>,
    pub employment_role: Option<String>,
    pub school_urn: Option<String>,
    pub school_ukprn: Option<String>,
    pub private_childcare_provider_urn: Option<String>,
    pub headteacher_status: Option<String>,
    pub funding_choice: Option<String>,
    /// The DfE's decision for this application, as sent.
    pub eligible_for_funding: bool,
    /// Another accepted, funded application of the person for the course (ASO and EHCO as
    /// one).
    pub previously_funded: bool,
    pub targeted_delivery_funding_eligibility: bool,
    pub teacher_catchment: Option<String>,
    pub teacher_catchment_country: Option<String>,
    pub teacher_catchment_iso_country_code: Option<String>,
    pub lead_mentor: Option<bool>,
    pub itt_provider: Option<String>,
    pub status: String,
    pub schedule_identifier: Option<String>,
    pub training_status: Option<String>,
    pub withdrawal_reason: Option<String>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub deferral_reason: Option<String>,
    pub deferred_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Filters of the applications list.
#[derive(Clone, Debug, Default)]
pub struct ApplicationFilter {
    /// Only these cohorts.
    pub cohorts: Option<Vec<i32>>,
    /// Only this person's.
    pub participant_id: Option<Uuid>,
    /// Only those updated after this instant.
    pub updated_since: Option<DateTime<Utc>>,
    /// Only accepted ones (enrolments).
    pub accepted: bool,
}

/// Filters of the NPQ participants list.
#[derive(Clone, Debug, Default)]
pub struct EnrolmentFilter {
    /// Only people updated after this instant.
    pub updated_since: Option<DateTime<Utc>>,
    /// Only people with an enrolment in this training status.
    pub training_status: Option<String>,
}

/// An outcome as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutcomeRow {
    pub id: Uuid,
    pub participant_id: Uuid,
    pub course_identifier: String,
    pub state: String,
    pub completion_date: chrono::NaiveDate,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
impl Projection for NpqApplications {
    read_model!(
        name: "npq_applications",
        reads: [NpqCourse::TYPE],
        resets: [
            "delete from npq_applications",
            "delete from participant_aliases",
        ],
    );

    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let at = event.recorded_at;
        let decoded = event
            .decode::<V>()
            .map_err(|e| ProjectionError::decode(event, e))?;
        match decoded {
            V::Applied(a) => {
                sqlx::query!(
                    r#"
                    insert into npq_applications (id, stream_id, participant_id, applicant_id,
                        lead_provider_id, full_name, email, trn, trn_validated,
                        course_identifier, cohort, works_in_school, employer_name,
                        employment_role, school_urn, school_ukprn, private_childcare_provider_urn,
                        headteacher_status, funding_choice, eligible_for_funding,
                        targeted_delivery_funding_eligibility, teacher_catchment,
                        teacher_catchment_country, teacher_catchment_iso_country_code,
                        lead_mentor, itt_provider, status, created_at, updated_at)
                    values ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                        $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, 'pending', $26, $26)
                    on conflict (id) do nothing
                    "#,
                    a.id.0,
                    event.aggregate_id,
                    a.participant_id.0,
                    a.lead_provider_id.0,
                    a.full_name,
                    a.email,
                    a.trn,
                    a.trn_validated,
                    a.course.as_str(),
                    a.cohort,
                    a.works_in_school,
                    a.employer_name,
                    a.employment_role,
                    a.school_urn,
                    a.school_ukprn,
                    a.private_childcare_provider_urn,
                    a.headteacher_status,
                    a.funding_choice,
                    a.eligible_for_funding,
                    a.targeted_delivery_funding_eligibility,
                    a.teacher_catchment,
                    a.teacher_catchment_country,
                    a.teacher_catchment_iso_country_code,
                    a.lead_mentor,
                    a.itt_provider,
                    at,
                )
                .execute(&mut *conn)
                .await?;
            }
            V::Accepted {
                application_id,
                participant_id,
                merged_from,
                schedule_identifier,
                cohort,
                ..
            } => {
                sqlx::query!(
                    r#"
                    update npq_applications
                    set status = 'accepted', participant_id = $2, schedule_identifier = $3,
                        cohort = $4, training_status = 'active', accepted_at = $5, updated_at = $5
                    where id = $1
                    "#,
                    application_id.0,
                    participant_id.0,
                    schedule_identifier,
                    cohort,
                    at,
                )
                .execute(&mut *conn)
                .await?;
                if let Some(old) = merged_from {
                    merge(conn, old.0, participant_id.0, at).await?;
                }
            }
            V::Rejected { application_id, .. } => {
                sqlx::query!(
                    "update npq_applications set status = 'rejected', updated_at = $2 where id = $1",
                    application_id.0,
                    at,
                )
                .execute(&mut *conn)
                .await?;
            }
            V::Deferred {
                application_id,
                reason,
                at: when,
            } => {
                sqlx::query!(
                    r#"
                    update npq_applications
                    set training_status = 'deferred', deferral_reason = $2, deferred_at = $3,
                        updated_at = $4
                    where id = $1
                    "#,
                    application_id.0,
                    reason,
                    when,
                    at,
                )
                .execute(&mut *conn)
                .await?;
            }
            V::Resumed { application_id, .. } => {
                sqlx::query!(
                    r#"
                    update npq_applications
                    set training_status = 'active', deferral_reason = null, deferred_at = null,
                        updated_at = $2
                    where id = $1
                    "#,
                    application_id.0,
                    at,
                )
                .execute(&mut *conn)
                .await?;
            }
            V::Withdrawn {
                application_id,
                reason,
                at: when,
            } => {
                sqlx::query!(
                    r#"
                    update npq_applications
                    set training_status = 'withdrawn', withdrawal_reason = $2, withdrawn_at = $3,
                        updated_at = $4
                    where id = $1
                    "#,
                    application_id.0,
                    reason,
                    when,
                    at,
                )
                .execute(&mut *conn)
                .await?;
            }
            V::Reassigned { from, to } => {
                sqlx::query!(
                    r#"
                    update npq_applications set participant_id = $3, updated_at = $4
                    where stream_id = $1 and participant_id = $2
                    "#,
                    event.aggregate_id,
                    from.0,
                    to.0,
                    at,
                )
                .execute(&mut *conn)
                .await?;
            }
            V::ScheduleChanged {
                application_id,
                schedule_identifier,
                cohort,
                ..
            } => {
                sqlx::query!(
                    r#"
                    update npq_applications
                    set schedule_identifier = $2, cohort = $3, updated_at = $4
                    where id = $1
                    "#,
                    application_id.0,
                    schedule_identifier,
                    cohort,
                    at,
                )
                .execute(&mut *conn)
                .await?;
            }
        }
        Ok(())
    }
}

/// Merges one person's id into another's: the old id resolves to the new one, and the old
/// person's applications follow.
async fn merge(
    conn: &mut PgConnection,
    old: Uuid,
    new: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        insert into participant_aliases (alias_id, participant_id) values ($1, $2)
        on conflict (alias_id) do update set participant_id = excluded.participant_id
        "#,
        old,
        new,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update participant_aliases set participant_id = $2 where participant_id = $1",
        old,
        new,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update npq_applications set participant_id = $2, updated_at = $3 where participant_id = $1",
        old,
        new,
        at,
    )
    .execute(&mut *conn)
    .await
    .map(drop)
}

/// The id a participant id stands for now: itself, the person it merged into (NPQ, by TRN),
/// or the person kept when it was retired (either after the other).
pub async fn resolve(db: impl PgExecutor<'_>, id: Uuid) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        with merged as (
            select coalesce(
                (select participant_id from participant_aliases where alias_id = $1), $1) as id
        )
        select coalesce(r.kept_id, m.id) as "id!"
        from merged m left join participant_retirements r on r.retired_id = m.id
        "#,
        id
    )
    .fetch_one(db)
    .await
}

/// The earliest person known by a TRN other than `except`: an ECF participant first, then an
/// NPQ applicant.
pub async fn person_with_trn(
    db: impl PgExecutor<'_>,
    trn: &str,
    except: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"
        select id as "id!" from (
            select id, 0 as rank, created_at from participants where trn = $1 and id <> $2
            union all
            select participant_id, 1, created_at from npq_applications
            where trn = $1 and participant_id <> $2
        ) known
        order by rank, created_at, id
        limit 1
        "#,
        trn,
        except,
    )
    .fetch_optional(db)
    .await
}

/// One application by id, whoever it was sent to.
pub async fn application(
    db: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<ApplicationRow>, sqlx::Error> {
    Ok(applications(db, None, &[id]).await?.into_iter().next())
}

/// Applications by id, in the order of `ids`; only the provider's when one is given.
pub async fn applications(
    db: impl PgExecutor<'_>,
    provider: Option<Uuid>,
    ids: &[Uuid],
) -> Result<Vec<ApplicationRow>, sqlx::Error> {
    sqlx::query_as!(
        ApplicationRow,
        r#"
        select a.id, a.stream_id, a.participant_id, a.lead_provider_id, a.full_name, a.email,
               a.trn, a.trn_validated, a.course_identifier, a.cohort, a.works_in_school,
               a.employer_name, a.employment_role, a.school_urn, a.school_ukprn,
               a.private_childcare_provider_urn, a.headteacher_status, a.funding_choice,
               a.eligible_for_funding,
               exists (
                   select 1 from npq_applications o
                   where o.participant_id = a.participant_id and o.id <> a.id
                     and o.status = 'accepted' and o.eligible_for_funding
                     and (o.course_identifier = a.course_identifier
                          or o.course_identifier in ($3, $4) and a.course_identifier in ($3, $4))
               ) as "previously_funded!",
               a.targeted_delivery_funding_eligibility, a.teacher_catchment,
               a.teacher_catchment_country, a.teacher_catchment_iso_country_code, a.lead_mentor,
               a.itt_provider, a.status, a.schedule_identifier, a.training_status,
               a.withdrawal_reason, a.withdrawn_at, a.deferral_reason, a.deferred_at,
               a.accepted_at, a.created_at, a.updated_at
        from unnest($2::uuid[]) with ordinality as wanted (id, n)
        join npq_applications a on a.id = wanted.id
        where $1::uuid is null or a.lead_provider_id = $1
        order by wanted.n
        "#,
        provider,
        ids,
        "npq-additional-support-offer",
        "npq-early-headship-coaching-offer",
    )
    .fetch_all(db)
    .await
}

/// One page of a provider's applications, oldest first.
pub async fn list_applications(
    db: &sqlx::PgPool,
    provider: Uuid,
    filter: &ApplicationFilter,
    page: Page,
) -> Result<Vec<ApplicationRow>, sqlx::Error> {
    let ids: Vec<Uuid> = application_ids(db, provider, filter, Some(page))
        .try_collect()
        .await?;
    applications(db, Some(provider), &ids).await
}

/// Every application of [`list_applications`], unpaged, read as a stream: ids from a cursor,
/// rows a batch at a time.
pub fn stream_applications<'a>(
    db: &'a sqlx::PgPool,
    provider: Uuid,
    filter: &'a ApplicationFilter,
) -> impl Stream<Item = Result<ApplicationRow, sqlx::Error>> + Send + 'a {
    application_ids(db, provider, filter, None)
        .try_chunks(STREAM_BATCH)
        .map_err(|error| error.1)
        .and_then(move |ids| async move { applications(db, Some(provider), &ids).await })
        .map_ok(|rows| futures::stream::iter(rows.into_iter().map(Ok)))
        .try_flatten()
}

/// Applications fetched at once while streaming.
const STREAM_BATCH: usize = 500;

fn application_ids<'a>(
    db: &'a sqlx::PgPool,
    provider: Uuid,
    filter: &'a ApplicationFilter,
    page: Option<Page>,
) -> BoxStream<'a, Result<Uuid, sqlx::Error>> {
    sqlx::query_scalar!(
        r#"
        select id from npq_applications
        where lead_provider_id = $1
          and ($2::int[] is null or cohort = any($2))
          and ($3::uuid is null or participant_id = $3)
          and ($4::timestamptz is null or updated_at > $4)
          and (not $7 or status = 'accepted')
        order by created_at, id
        limit $5 offset $6
        "#,
        provider,
        filter.cohorts.as_deref(),
        filter.participant_id,
        filter.updated_since,
        page.map(|page| page.size),
        page.map_or(0, Page::offset),
        filter.accepted,
    )
    .fetch(db)
}

/// A provider's enrolment of a person on a course (its accepted application).
pub async fn enrolment(
    db: &sqlx::PgPool,
    provider: Uuid,
    participant: Uuid,
    course: &str,
) -> Result<Option<ApplicationRow>, sqlx::Error> {
    let id = sqlx::query_scalar!(
        r#"
        select id from npq_applications
        where lead_provider_id = $1 and participant_id = $2 and course_identifier = $3
          and status = $4
        order by accepted_at desc
        limit 1
        "#,
        provider,
        participant,
        course,
        ApplicationStatus::Accepted.as_str(),
    )
    .fetch_optional(db)
    .await?;
    Ok(match id {
        Some(id) => application(db, id).await?,
        None => None,
    })
}

/// One page of the people a provider enrolled, oldest enrolment first, each with the
/// provider's enrolments.
pub async fn list_participants(
    db: &sqlx::PgPool,
    provider: Uuid,
    filter: &EnrolmentFilter,
    page: Page,
) -> Result<Vec<(Uuid, Vec<ApplicationRow>)>, sqlx::Error> {
    let people = sqlx::query_scalar!(
        r#"
        select participant_id as "participant_id!" from npq_applications
        where lead_provider_id = $1 and status = 'accepted'
        group by participant_id
        having ($2::timestamptz is null or max(updated_at) > $2)
           and ($3::text is null or bool_or(training_status = $3))
        order by min(accepted_at), participant_id
        limit $4 offset $5
        "#,
        provider,
        filter.updated_since,
        filter.training_status,
        page.size,
        page.offset(),
    )
    .fetch_all(db)
    .await?;
    enrolments_of(db, provider, &people).await
}

/// The provider's enrolments of each of `people`, in that order; people without one are left
/// out.
pub async fn enrolments_of(
    db: &sqlx::PgPool,
    provider: Uuid,
    people: &[Uuid],
) -> Result<Vec<(Uuid, Vec<ApplicationRow>)>, sqlx::Error> {
    let ids = sqlx::query_scalar!(
        r#"
        select a.id from unnest($2::uuid[]) with ordinality as wanted (id, n)
        join npq_applications a on a.participant_id = wanted.id
        where a.lead_provider_id = $1 and a.status = 'accepted'
        order by wanted.n, a.accepted_at, a.id
        "#,
        provider,
        people,
    )
    .fetch_all(db)
    .await?;
    let mut grouped: Vec<(Uuid, Vec<ApplicationRow>)> = Vec::new();
    for row in applications(db, Some(provider), &ids).await? {
        match grouped.last_mut() {
            Some((person, rows)) if *person == row.participant_id => rows.push(row),
            _ => grouped.push((row.participant_id, vec![row])),
        }
    }
    Ok(grouped)
}

/// A provider's outcomes, oldest first: all of them, or one person's.
pub async fn outcomes(
    db: impl PgExecutor<'_>,
    provider: Uuid,
    participant: Option<Uuid>,
    created_since: Option<DateTime<Utc>>,
    page: Page,
) -> Result<Vec<OutcomeRow>, sqlx::Error> {
    sqlx::query_as!(
        OutcomeRow,
        r#"
        select id, participant_id, course_identifier, state, completion_date, created_at
        from npq_outcomes
        where lead_provider_id = $1
          and ($2::uuid is null or participant_id = $2)
          and ($3::timestamptz is null or created_at >= $3)
        order by created_at, id
        limit $4 offset $5
        "#,
        provider,
        participant,
        created_since,
        page.size,
        page.offset(),
    )
    .fetch_all(db)
    .await
}

/// The latest outcome of a provider's declarations of a person's course.
pub async fn latest_outcome(
    db: impl PgExecutor<'_>,
    provider: Uuid,
    participant: Uuid,
    course: &str,
) -> Result<Option<OutcomeRow>, sqlx::Error> {
    sqlx::query_as!(
        OutcomeRow,
        r#"
        select id, participant_id, course_identifier, state, completion_date, created_at
        from npq_outcomes
        where lead_provider_id = $1 and participant_id = $2 and course_identifier = $3
        order by created_at desc, id desc
        limit 1
        "#,
        provider,
        participant,
        course,
    )
    .fetch_optional(db)
    .await
}
