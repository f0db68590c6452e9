//! Queries on the ECF participants read model.

use aggregates::LeadProviderId;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::Page;

/// A person a provider trains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantRow {
    /// The participant (user) id.
    pub id: Uuid,
    /// Full name.
    pub full_name: String,
    /// Teacher reference number.
    pub trn: Option<String>,
    /// When first registered.
    pub created_at: DateTime<Utc>,
    /// When anything about them last changed.
    pub updated_at: DateTime<Utc>,
}

/// One training record as a provider sees it: from the provider's latest stint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrolmentRow {
    /// The training record.
    pub training_record_id: Uuid,
    /// The person.
    pub participant_id: Uuid,
    /// `ect` or `mentor`.
    pub participant_type: String,
    /// Email.
    pub email: String,
    /// The ECT's mentor.
    pub mentor_id: Option<Uuid>,
    /// The school of the provider's latest stint.
    pub school_urn: String,
    /// The cohort.
    pub cohort: i32,
    /// The provider's training status.
    pub training_status: String,
    /// When the stint starts.
    pub start_at: DateTime<Utc>,
    /// When the school said it ends.
    pub end_at: Option<DateTime<Utc>>,
    /// Whether a TRN was validated.
    pub trn_validated: bool,
    /// Funding eligibility.
    pub eligible_for_funding: Option<bool>,
    /// Pupil premium uplift.
    pub pupil_premium_uplift: bool,
    /// Sparsity uplift.
    pub sparsity_uplift: bool,
    /// The schedule.
    pub schedule_identifier: String,
    /// The delivery partner of the stint.
    pub delivery_partner_id: Uuid,
    /// The latest withdrawal reason, while withdrawn.
    pub withdrawal_reason: Option<String>,
    /// When withdrawn.
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// The latest deferral reason, while deferred.
    pub deferral_reason: Option<String>,
    /// When deferred.
    pub deferred_at: Option<DateTime<Utc>>,
    /// When the record was registered.
    pub created_at: DateTime<Utc>,
}

/// Filters of the participants list.
#[derive(Clone, Debug, Default)]
pub struct ParticipantFilter {
    /// Only records in these cohorts.
    pub cohorts: Option<Vec<i32>>,
    /// Only records with this training status.
    pub training_status: Option<String>,
    /// Only people updated at or after this instant.
    pub updated_since: Option<DateTime<Utc>>,
}

impl ParticipantFilter {
    /// Whether it lets every person through.
    pub fn is_empty(&self) -> bool {
        self.cohorts.is_none() && self.training_status.is_none() && self.updated_since.is_none()
    }
}

/// One page of the people a provider trains, oldest first.
pub async fn list(
    db: impl PgExecutor<'_>,
    provider: LeadProviderId,
    filter: &ParticipantFilter,
    page: Page,
) -> Result<Vec<ParticipantRow>, sqlx::Error> {
    if filter.is_empty() {
        // The page is a range of places in the provider's list, however deep.
        return sqlx::query_as!(
            ParticipantRow,
            r#"
            select p.id, p.full_name, p.trn, p.created_at, p.updated_at
            from provider_participants pp
            join participants p on p.id = pp.participant_id
            where pp.lead_provider_id = $1 and pp.ordinal > $2 and pp.ordinal <= $3
            order by pp.ordinal
            "#,
            provider.0,
            page.offset(),
            page.end(),
        )
        .fetch_all(db)
        .await;
    }
    // The page is cut from the provider's index first; only its rows are joined.
    sqlx::query_as!(
        ParticipantRow,
        r#"
        select p.id, p.full_name, p.trn, p.created_at, p.updated_at
        from (
            select pp.participant_id, pp.participant_created_at
            from provider_participants pp
            where pp.lead_provider_id = $1
              and ($4::timestamptz is null or exists (
                  select 1 from participants p
                  where p.id = pp.participant_id and p.updated_at >= $4))
              and ($2::int[] is null and $3::text is null or exists (
                  select 1 from training_records r
                  join stints s on s.training_record_id = r.id and s.latest
                      and s.lead_provider_id = $1
                  where r.participant_id = pp.participant_id
                    and ($2::int[] is null or r.cohort = any($2))
                    and ($3::text is null or s.training_status = $3)))
            order by pp.participant_created_at, pp.participant_id
            limit $5 offset $6
        ) page
        join participants p on p.id = page.participant_id
        order by page.participant_created_at, page.participant_id
        "#,
        provider.0,
        filter.cohorts.as_deref(),
        filter.training_status,
        filter.updated_since,
        page.size,
        page.offset(),
    )
    .fetch_all(db)
    .await
}

/// One person, if the provider trains (or trained) them.
pub async fn find(
    db: impl PgExecutor<'_>,
    provider: LeadProviderId,
    id: Uuid,
) -> Result<Option<ParticipantRow>, sqlx::Error> {
    sqlx::query_as!(
        ParticipantRow,
        r#"
        select p.id, p.full_name, p.trn, p.created_at, p.updated_at
        from participants p
        where p.id = $2 and exists (
            select 1 from training_records r
            join stints s on s.training_record_id = r.id and s.latest and s.lead_provider_id = $1
            where r.participant_id = p.id
        )
        "#,
        provider.0,
        id,
    )
    .fetch_optional(db)
    .await
}

/// The provider's enrolments of these people, ECT records first.
pub async fn enrolments(
    db: impl PgExecutor<'_>,
    provider: LeadProviderId,
    participants: &[Uuid],
) -> Result<Vec<EnrolmentRow>, sqlx::Error> {
    sqlx::query_as!(
        EnrolmentRow,
        r#"
        select r.id as training_record_id, r.participant_id, r.participant_type, r.email,
               r.mentor_id, s.school_urn, r.cohort, s.training_status, s.start_at, s.end_at,
               r.trn_validated, r.eligible_for_funding, r.pupil_premium_uplift, r.sparsity_uplift,
               r.schedule_identifier, s.delivery_partner_id, s.withdrawal_reason, s.withdrawn_at,
               s.deferral_reason, s.deferred_at, r.created_at
        from training_records r
        join stints s on s.training_record_id = r.id and s.latest and s.lead_provider_id = $1
        where r.participant_id = any($2)
        order by r.participant_id, r.participant_type, r.created_at
        "#,
        provider.0,
        participants,
    )
    .fetch_all(db)
    .await
}

/// What commands need to know of a training record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordFacts {
    /// The record.
    pub training_record_id: Uuid,
    /// The person.
    pub participant_id: Uuid,
    /// The cohort.
    pub cohort: i32,
    /// The current schedule.
    pub schedule_identifier: String,
    /// Funding eligibility.
    pub eligible_for_funding: Option<bool>,
    /// Pupil premium uplift.
    pub pupil_premium_uplift: bool,
    /// Sparsity uplift.
    pub sparsity_uplift: bool,
    /// The ECT's mentor.
    pub mentor_id: Option<Uuid>,
    /// The person's TRN.
    pub trn: Option<String>,
}

/// A person's training record of one type (`ect` or `mentor`).
pub async fn record_of(
    db: impl PgExecutor<'_>,
    participant: Uuid,
    participant_type: &str,
) -> Result<Option<RecordFacts>, sqlx::Error> {
    sqlx::query_as!(
        RecordFacts,
        r#"
        select r.id as training_record_id, r.participant_id, r.cohort, r.schedule_identifier,
               r.eligible_for_funding, r.pupil_premium_uplift, r.sparsity_uplift, r.mentor_id,
               p.trn
        from training_records r join participants p on p.id = r.participant_id
        where r.participant_id = $1 and r.participant_type = $2
        order by r.created_at
        limit 1
        "#,
        participant,
        participant_type,
    )
    .fetch_optional(db)
    .await
}

/// One stint of a record, for the facts provider commands need.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct StintRow {
    /// The provider.
    pub lead_provider_id: Uuid,
    /// The delivery partner.
    pub delivery_partner_id: Uuid,
    /// The schedule during the stint.
    pub schedule_identifier: String,
    /// The provider's training status.
    pub training_status: String,
    /// When the provider withdrew the participant.
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// Whether this is the provider's latest stint.
    pub latest: bool,
}

/// Whether anyone has this participant id.
pub async fn person_exists(db: impl PgExecutor<'_>, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from participants where id = $1) as "known!""#,
        id
    )
    .fetch_one(db)
    .await
}

/// The cohort of a training record.
pub async fn cohort_of(db: impl PgExecutor<'_>, record: Uuid) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar!("select cohort from training_records where id = $1", record)
        .fetch_optional(db)
        .await
}

/// Everything an ECF declaration submission needs to know, in one round trip: what profiles the
/// person a participant id names now holds, their record of the course's type with its stints
/// and schedule, the same-TRN holder of the milestone, and the statement a line would go on.
#[derive(Clone, Debug, PartialEq)]
pub struct SubmissionFacts {
    /// The profile kinds of the person the id names now (see [`profile_kinds`]); empty when
    /// nobody has the id.
    pub profile_kinds: Vec<String>,
    /// Their record of the course's type, if any.
    pub declaration: Option<DeclarationFacts>,
}

/// A record and what goes with it, for [`SubmissionFacts`].
#[derive(Clone, Debug, PartialEq)]
pub struct DeclarationFacts {
    /// The record.
    pub record: RecordFacts,
    /// Its stints, oldest first.
    pub stints: Vec<StintRow>,
    /// The schedule's type, if the schedule exists.
    pub schedule_type: Option<String>,
    /// The schedule's name.
    pub schedule_name: Option<String>,
    /// The schedule's milestones (JSON, as projected).
    pub milestones: Option<serde_json::Value>,
    /// Another person with the same TRN holding this milestone with this declaration.
    pub held_under_same_trn: Option<Uuid>,
    /// Whether another person has the same TRN (and so `held_under_same_trn` reads their
    /// declarations).
    pub shares_trn: bool,
    /// The provider's open ECF statement for the record's cohort on the day of submission.
    pub open_statement: Option<Uuid>,
}

/// What a submission of `declaration_type` of `course` by `provider` on `today` needs to know
/// of participant id `id`, whose record for the course is of `participant_type`.
#[expect(clippy::too_many_arguments, reason = "one submission's whole request")]
pub async fn submission_facts(
    db: impl PgExecutor<'_>,
    id: Uuid,
    participant_type: &str,
    course: &str,
    declaration_type: &str,
    provider: LeadProviderId,
    programme: &str,
    today: NaiveDate,
) -> Result<SubmissionFacts, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        select array(select kind from profile_kinds(n.id)) as "profile_kinds!",
               r.id as "record_id?", r.participant_id as "participant_id?",
               r.cohort as "cohort?", r.schedule_identifier as "schedule_identifier?",
               r.eligible_for_funding as "eligible_for_funding?",
               r.pupil_premium_uplift as "pupil_premium_uplift?",
               r.sparsity_uplift as "sparsity_uplift?", r.mentor_id as "mentor_id?",
               r.trn as "trn?", r.stints as "stints?", r.schedule_type as "schedule_type?",
               r.schedule_name as "schedule_name?", r.milestones as "milestones?",
               r.held_under_same_trn as "held_under_same_trn?",
               r.shares_trn as "shares_trn?", r.open_statement as "open_statement?"
        from person_named($1) n
        left join lateral (
            select r.id, r.participant_id, r.cohort, r.schedule_identifier,
                   r.eligible_for_funding, r.pupil_premium_uplift, r.sparsity_uplift,
                   r.mentor_id, p.trn, st.stints, sc.schedule_type, sc.name as schedule_name,
                   sc.milestones, twin.id as held_under_same_trn, os.id as open_statement,
                   exists (select 1 from participants other
                           where other.trn = p.trn and other.id <> p.id) as shares_trn
            from training_records r
            join participants p on p.id = r.participant_id
            cross join lateral (
                select coalesce(jsonb_agg(jsonb_build_object(
                    'lead_provider_id', s.lead_provider_id,
                    'delivery_partner_id', s.delivery_partner_id,
                    'schedule_identifier', s.schedule_identifier,
                    'training_status', s.training_status,
                    'withdrawn_at', s.withdrawn_at,
                    'latest', s.latest) order by s.seq), '[]'::jsonb) as stints
                from stints s where s.training_record_id = r.id
            ) st
            left join schedules sc on sc.identifier = r.schedule_identifier
                and sc.cohort = r.cohort
            left join lateral (
                select d.id from participants other
                join declarations d on d.participant_id = other.id
                where other.trn = p.trn and other.id <> p.id and d.course_identifier = $3
                  and d.declaration_type = $4 and d.superseded_by is null and d.live
                order by d.created_at
                limit 1
            ) twin on true
            left join lateral open_statement($5, $6, r.cohort, $7) os on true
            where r.participant_id = n.id and r.participant_type = $2
            order by r.created_at
            limit 1
        ) r on true
        "#,
        id,
        participant_type,
        course,
        declaration_type,
        provider.0,
        programme,
        today,
    )
    .fetch_one(db)
    .await?;
    let record = match (
        row.record_id,
        row.participant_id,
        row.cohort,
        row.schedule_identifier,
        row.pupil_premium_uplift,
        row.sparsity_uplift,
        row.stints,
    ) {
        (
            Some(training_record_id),
            Some(participant_id),
            Some(cohort),
            Some(schedule_identifier),
            Some(pupil_premium_uplift),
            Some(sparsity_uplift),
            Some(stints),
        ) => Some(DeclarationFacts {
            record: RecordFacts {
                training_record_id,
                participant_id,
                cohort,
                schedule_identifier,
                eligible_for_funding: row.eligible_for_funding,
                pupil_premium_uplift,
                sparsity_uplift,
                mentor_id: row.mentor_id,
                trn: row.trn,
            },
            stints: serde_json::from_value(stints).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            schedule_type: row.schedule_type,
            schedule_name: row.schedule_name,
            milestones: row.milestones,
            held_under_same_trn: row.held_under_same_trn,
            shares_trn: row.shares_trn == Some(true),
            open_statement: row.open_statement,
        }),
        _ => None,
    };
    Ok(SubmissionFacts {
        profile_kinds: row.profile_kinds,
        declaration: record,
    })
}

/// A mentor of the provider's ECTs whom the provider does not train.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnfundedMentorRow {
    /// The mentor's participant id.
    pub id: Uuid,
    /// Full name.
    pub full_name: String,
    /// Email (of their mentor record, else any record).
    pub email: Option<String>,
    /// Teacher reference number.
    pub trn: Option<String>,
    /// When first registered.
    pub created_at: DateTime<Utc>,
    /// When anything about them last changed.
    pub updated_at: DateTime<Utc>,
}

/// The mentors of the provider's ECTs who have no mentor record the provider trains.
pub async fn unfunded_mentors(
    db: impl PgExecutor<'_>,
    provider: LeadProviderId,
    id: Option<Uuid>,
    updated_since: Option<DateTime<Utc>>,
    page: Page,
) -> Result<Vec<UnfundedMentorRow>, sqlx::Error> {
    sqlx::query_as!(
        UnfundedMentorRow,
        r#"
        select m.id, m.full_name, m.trn, m.created_at, m.updated_at,
               (select r.email from training_records r where r.participant_id = m.id
                order by r.participant_type desc, r.created_at limit 1) as email
        from participants m
        where exists (
                select 1 from training_records ect
                join stints s on s.training_record_id = ect.id and s.latest
                    and s.lead_provider_id = $1
                where ect.mentor_id = m.id)
          and not exists (
                select 1 from training_records own
                join stints s on s.training_record_id = own.id and s.latest
                    and s.lead_provider_id = $1
                where own.participant_id = m.id and own.participant_type = 'mentor')
          and ($2::uuid is null or m.id = $2)
          and ($3::timestamptz is null or m.updated_at >= $3)
        order by m.created_at, m.id
        limit $4 offset $5
        "#,
        provider.0,
        id,
        updated_since,
        page.size,
        page.offset(),
    )
    .fetch_all(db)
    .await
}

/// The kinds of profile a person holds (`ect`, `mentor`, `npq` for an accepted NPQ
/// application), plus `person` for a participant record and `applicant` for any other NPQ
/// application; empty for an id nobody knows.
pub async fn profile_kinds(
    db: impl PgExecutor<'_>,
    participant: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select kind as "kind!" from profile_kinds($1)"#,
        participant,
    )
    .fetch_all(db)
    .await
}
