//! What the NPQ read model answers: applications, enrolments, outcomes and which person an id
//! stands for now.

use aggregates::npq::{Application, ApplicationStatus};
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{Stream, TryStreamExt};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::Page;

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

impl ApplicationRow {
    /// A new application as its `Applied` event records it, before any decision: what an
    /// application is answered with when the read model does not show it yet.
    pub fn applied(
        a: Application,
        stream_id: &str,
        at: DateTime<Utc>,
        previously_funded: bool,
    ) -> Self {
        Self {
            id: a.id.0,
            stream_id: stream_id.to_owned(),
            participant_id: a.participant_id.0,
            lead_provider_id: a.lead_provider_id.0,
            full_name: a.full_name,
            email: a.email,
            trn: a.trn,
            trn_validated: a.trn_validated,
            course_identifier: a.course.as_str().to_owned(),
            cohort: a.cohort,
            works_in_school: a.works_in_school,
            employer_name: a.employer_name,
            employment_role: a.employment_role,
            school_urn: a.school_urn,
            school_ukprn: a.school_ukprn,
            private_childcare_provider_urn: a.private_childcare_provider_urn,
            headteacher_status: a.headteacher_status,
            funding_choice: a.funding_choice,
            eligible_for_funding: a.eligible_for_funding,
            previously_funded,
            targeted_delivery_funding_eligibility: a.targeted_delivery_funding_eligibility,
            teacher_catchment: a.teacher_catchment,
            teacher_catchment_country: a.teacher_catchment_country,
            teacher_catchment_iso_country_code: a.teacher_catchment_iso_country_code,
            lead_mentor: a.lead_mentor,
            itt_provider: a.itt_provider,
            status: ApplicationStatus::Pending.as_str().to_owned(),
            schedule_identifier: None,
            training_status: None,
            withdrawal_reason: None,
            withdrawn_at: None,
            deferral_reason: None,
            deferred_at: None,
            accepted_at: None,
            created_at: at,
            updated_at: at,
        }
    }
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

/// The id a participant id stands for now: itself, the person it merged into (NPQ, by TRN),
/// or the person kept when it was retired (either after the other).
pub async fn resolve(db: impl PgExecutor<'_>, id: Uuid) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(r#"select id as "id!" from person_named($1)"#, id)
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

/// Whether the person holds another accepted, funded application for the course (the
/// additional support and early headship coaching offers as one).
pub async fn previously_funded(
    db: impl PgExecutor<'_>,
    person: Uuid,
    application: Uuid,
    course: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select npq_previously_funded($1, $2, $3) as "previously_funded!""#,
        person,
        application,
        course,
    )
    .fetch_one(db)
    .await
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
               npq_previously_funded(a.participant_id, a.id, a.course_identifier)
                   as "previously_funded!",
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
