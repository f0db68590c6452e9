//! Looks up, from the read models, the outside facts that ECF commands carry into the domain.

use aggregates::course::{Course, Profiles};
use aggregates::declaration::{DeclarationRequest, ParticipantFacts, Resolution};
use aggregates::reference::{DeclarationType, Schedule, ScheduleType};
use aggregates::{
    DeclarationId, DeliveryPartnerId, LeadProviderId, ParticipantId, StatementId, TrainingRecordId,
};
use chrono::{DateTime, Utc};
use projections::participants::{self, RecordFacts};
use projections::{declarations, npq, reference, statements};
use sqlx::PgPool;
use uuid::Uuid;

/// A participant's training record for a course, found from the request's strings (a merged
/// or retired id finds the record of the person it now names).
pub async fn training_record(
    pool: &PgPool,
    participant_id: &str,
    course: Course,
) -> Result<Option<RecordFacts>, sqlx::Error> {
    let Some(kind) = course.participant_type() else {
        return Ok(None);
    };
    let Some(participant) = person(pool, participant_id).await? else {
        return Ok(None);
    };
    participants::record_of(pool, participant, kind.as_str()).await
}

/// The person a request's participant id names now (an old, merged id names the person it
/// merged into, a retired one the person kept); `None` when it is not a UUID.
async fn person(pool: &PgPool, participant_id: &str) -> Result<Option<Uuid>, sqlx::Error> {
    match Uuid::parse_str(participant_id.trim()) {
        Ok(id) => npq::resolve(pool, id).await.map(Some),
        Err(_) => Ok(None),
    }
}

/// The profiles of the person an id names (an old, merged id names the person it merged
/// into); `None` when nobody has the id.
pub async fn profiles(
    pool: &PgPool,
    participant_id: &str,
) -> Result<Option<Profiles>, sqlx::Error> {
    match person(pool, participant_id).await? {
        Some(participant) => profiles_of(pool, participant).await,
        None => Ok(None),
    }
}

/// The profiles of a (resolved) person; `None` when there is nobody of that id.
async fn profiles_of(pool: &PgPool, participant: Uuid) -> Result<Option<Profiles>, sqlx::Error> {
    let kinds = participants::profile_kinds(pool, participant).await?;
    Ok(profiles_from(&kinds))
}

/// The profiles that a person's profile kinds show; `None` for nobody (no kinds).
fn profiles_from(kinds: &[String]) -> Option<Profiles> {
    let has = |kind: &str| kinds.iter().any(|k| k == kind);
    (!kinds.is_empty()).then(|| Profiles {
        ect: has("ect"),
        mentor: has("mentor"),
        npq: has("npq"),
    })
}

/// What [`declaration_resolution`] found.
#[derive(Debug)]
pub struct Found {
    /// What the declaration rules need to know of the participant.
    pub resolution: Resolution,
    /// The statement a line for them would go on.
    pub statement: Option<StatementId>,
    /// Whether another person holds the participant's TRN: the rules then read that person's
    /// declarations.
    pub shares_trn: bool,
}

impl From<(Resolution, Option<StatementId>)> for Found {
    fn from((resolution, statement): (Resolution, Option<StatementId>)) -> Self {
        Self {
            resolution,
            statement,
            shares_trn: false,
        }
    }
}

/// What the declaration rules need to know of the participant named in `request`, and the
/// statement a line for them would go on at `now` (when they are found). An ECF submission
/// asks it all in one query.
pub async fn declaration_resolution(
    pool: &PgPool,
    provider: LeadProviderId,
    request: &DeclarationRequest,
    now: DateTime<Utc>,
) -> Result<Found, sqlx::Error> {
    let course = request
        .course_identifier
        .as_deref()
        .map(str::trim)
        .and_then(Course::parse);
    let (Some(course), Some(kind)) = (course, course.and_then(Course::participant_type)) else {
        return npq_or_unknown(pool, provider, request, course, now)
            .await
            .map(Found::from);
    };
    let Ok(id) = Uuid::parse_str(request.participant_id.trim()) else {
        return Ok((Resolution::UnknownParticipant, None).into());
    };
    let declaration_type = request
        .declaration_type
        .as_deref()
        .unwrap_or_default()
        .trim();
    let submission = participants::submission_facts(
        pool,
        id,
        kind.as_str(),
        course.as_str(),
        declaration_type,
        provider,
        course.programme().as_str(),
        now.date_naive(),
    )
    .await?;
    let Some(profiles) = profiles_from(&submission.profile_kinds) else {
        return Ok((Resolution::UnknownParticipant, None).into());
    };
    if !profiles.cover(course) {
        return Ok((Resolution::UnknownCourse, None).into());
    }
    let Some(facts) = submission.declaration else {
        return Ok((Resolution::UnknownParticipant, None).into());
    };
    let record = facts.record;
    let own: Vec<_> = facts
        .stints
        .iter()
        .filter(|s| s.lead_provider_id == provider.0)
        .collect();
    let Some(latest) = own.iter().find(|s| s.latest) else {
        return Ok((Resolution::UnknownParticipant, None).into());
    };
    let schedule = match (facts.schedule_type, facts.schedule_name, facts.milestones) {
        (Some(kind), Some(name), Some(milestones)) => reference::schedule_from(
            record.schedule_identifier.clone(),
            record.cohort,
            &kind,
            name,
            milestones,
        )?,
        _ => empty_schedule(&record),
    };
    let participant = ParticipantFacts {
        participant_id: ParticipantId(record.participant_id),
        training_record_id: TrainingRecordId(record.training_record_id),
        course,
        cohort: record.cohort,
        withdrawn_at: latest
            .withdrawn_at
            .filter(|_| latest.training_status == "withdrawn"),
        trained_on_schedule: own
            .iter()
            .any(|s| s.schedule_identifier == record.schedule_identifier),
        eligible_for_funding: record.eligible_for_funding == Some(true),
        pupil_premium_uplift: record.pupil_premium_uplift,
        sparsity_uplift: record.sparsity_uplift,
        targeted_delivery_funding: false,
        delivery_partner_id: Some(DeliveryPartnerId(latest.delivery_partner_id)),
        mentor_id: record.mentor_id.map(ParticipantId),
        held_under_same_trn: facts.held_under_same_trn.map(DeclarationId),
        schedule,
    };
    let statement = facts.open_statement.map(StatementId);
    Ok(Found {
        resolution: Resolution::Found(Box::new(participant)),
        statement,
        shares_trn: facts.shares_trn,
    })
}

/// [`declaration_resolution`] for a request whose course is not an ECF one: an NPQ course, or
/// none the participant holds.
async fn npq_or_unknown(
    pool: &PgPool,
    provider: LeadProviderId,
    request: &DeclarationRequest,
    course: Option<Course>,
    now: DateTime<Utc>,
) -> Result<(Resolution, Option<StatementId>), sqlx::Error> {
    let Some(participant) = person(pool, &request.participant_id).await? else {
        return Ok((Resolution::UnknownParticipant, None));
    };
    let Some(profiles) = profiles_of(pool, participant).await? else {
        return Ok((Resolution::UnknownParticipant, None));
    };
    let Some(course) = course.filter(|c| profiles.cover(*c)) else {
        return Ok((Resolution::UnknownCourse, None));
    };
    let resolution = npq_resolution(pool, provider, participant, course).await?;
    let statement = match &resolution {
        Resolution::Found(facts) => {
            statements::open_statement(
                pool,
                provider,
                course.programme(),
                facts.cohort,
                now.date_naive(),
            )
            .await?
        }
        _ => None,
    };
    Ok((resolution, statement))
}

/// What the declaration rules need to know of an NPQ participant (already resolved: an old,
/// merged id names the person it merged into): the provider's enrolment of them on the course.
async fn npq_resolution(
    pool: &PgPool,
    provider: LeadProviderId,
    participant: Uuid,
    course: Course,
) -> Result<Resolution, sqlx::Error> {
    let Some(enrolment) = npq::enrolment(pool, provider.0, participant, course.as_str()).await?
    else {
        return Ok(Resolution::UnknownParticipant);
    };
    let schedule_identifier = enrolment.schedule_identifier.unwrap_or_default();
    let schedule = reference::schedule(pool, &schedule_identifier, enrolment.cohort)
        .await?
        .unwrap_or_else(|| Schedule {
            identifier: schedule_identifier.clone(),
            name: schedule_identifier,
            cohort: enrolment.cohort,
            schedule_type: ScheduleType::NpqLeadership,
            milestones: Vec::new(),
        });
    let withdrawn = enrolment.training_status.as_deref() == Some("withdrawn");
    Ok(Resolution::Found(Box::new(ParticipantFacts {
        participant_id: ParticipantId(participant),
        training_record_id: TrainingRecordId(enrolment.id),
        course,
        cohort: enrolment.cohort,
        schedule,
        withdrawn_at: enrolment.withdrawn_at.filter(|_| withdrawn),
        trained_on_schedule: true,
        eligible_for_funding: enrolment.eligible_for_funding,
        pupil_premium_uplift: false,
        sparsity_uplift: false,
        targeted_delivery_funding: enrolment.targeted_delivery_funding_eligibility,
        delivery_partner_id: None,
        mentor_id: None,
        held_under_same_trn: None,
    })))
}

/// A record whose schedule is missing from the reference data has no milestones to claim.
fn empty_schedule(record: &RecordFacts) -> Schedule {
    Schedule {
        identifier: record.schedule_identifier.clone(),
        name: record.schedule_identifier.clone(),
        cohort: record.cohort,
        schedule_type: ScheduleType::EcfStandard,
        milestones: Vec::new(),
    }
}

/// The slot of the milestone a request names: by the resolved participant where there is
/// one, so that every spelling of the same person lands on the same slot.
pub fn slot_for(request: &DeclarationRequest, resolution: &Resolution) -> String {
    let participant = match resolution {
        Resolution::Found(facts) => facts.participant_id.to_string(),
        _ => request.participant_id.trim().to_owned(),
    };
    let course = request
        .course_identifier
        .as_deref()
        .unwrap_or_default()
        .trim();
    let declaration_type = request
        .declaration_type
        .as_deref()
        .unwrap_or_default()
        .trim();
    aggregates::declaration::slot_id(&participant, course, declaration_type)
}

/// Every live declaration of a record: its type and date.
pub async fn live_declarations(
    pool: &PgPool,
    record: Uuid,
) -> Result<Vec<(DeclarationType, DateTime<Utc>)>, sqlx::Error> {
    let live = declarations::live_of_record(pool, record).await?;
    Ok(live
        .into_iter()
        .filter_map(|(t, date)| Some((DeclarationType::parse(&t)?, date)))
        .collect())
}
