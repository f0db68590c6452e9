//! NPQ command flows shared by the provider API, the admin API, the CLI and the sandbox seed:
//! each looks up the facts a command needs, runs it on the person's course stream, and reads
//! the result back.

use aggregates::course::Course;
use aggregates::declaration::{
    DeclarationRejection, DeclarationSlot, DeclarationSlotCommand, DeclarationSlotEvent,
    OutcomeRequest,
};
use aggregates::npq::{
    Acceptance, Application, ApplicationStatus, Enrolment, EnrolmentAction, EnrolmentChange,
    NpqCourse, NpqCourseCommand, NpqError, NpqEvent,
};
use aggregates::reference::{DeclarationType, Schedule};
use aggregates::{LeadProviderId, NpqApplicationId, ParticipantId};
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use projections::npq::{self, ApplicationRow, OutcomeRow};
use projections::{declarations, lead_providers, reference};
use serde::Deserialize;
use uuid::Uuid;

use crate::flows::training::TrainingRequest;
use crate::ledger::{CommandContext, Ledger, LedgerError, Visibility};

/// Why an NPQ flow failed.
#[derive(Debug, thiserror::Error)]
pub enum NpqFlowError {
    /// The person's course stream refused it, or the store failed.
    #[error(transparent)]
    Rejected(#[from] LedgerError<NpqError>),
    /// The declaration slot refused an outcome.
    #[error(transparent)]
    Outcome(#[from] LedgerError<DeclarationRejection>),
    /// The read models failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// No such application, or not the caller's.
    #[error("no such application")]
    NotFound,
    /// The provider has no enrolment of the person on the course.
    #[error("the participant is not enrolled with the provider on the course")]
    NotEnrolled,
    /// Committed, yet neither the read model nor the committed events show it: a bug.
    #[error("the change was committed but neither the read model nor the log shows it")]
    NotProjected,
}

/// An application as the registration side sends it, through the admin API (JSON) or the CLI
/// (flags).
#[derive(Clone, Debug, Deserialize, clap::Args, utoipa::ToSchema)]
pub struct NewApplication {
    /// The application's id (default: a new one).
    #[arg(long)]
    pub id: Option<Uuid>,
    /// The applicant's id (default: a new person).
    #[arg(long)]
    pub participant_id: Option<Uuid>,
    /// The lead provider applied to, by name.
    #[arg(long)]
    pub lead_provider: String,
    /// The NPQ course, e.g. `npq-headship`.
    #[arg(long)]
    pub course_identifier: String,
    /// The cohort (start year).
    #[arg(long)]
    pub cohort: i32,
    /// Full name.
    #[arg(long)]
    pub full_name: String,
    /// Email address.
    #[arg(long)]
    pub email: String,
    /// Teacher reference number.
    #[arg(long)]
    pub teacher_reference_number: Option<String>,
    /// The TRN was validated.
    #[arg(long)]
    #[serde(default)]
    pub teacher_reference_number_validated: bool,
    /// The applicant does not work in a school.
    #[arg(long)]
    #[serde(default)]
    pub not_in_school: bool,
    /// Employer, outside schools.
    #[arg(long)]
    pub employer_name: Option<String>,
    /// Role, outside schools.
    #[arg(long)]
    pub employment_role: Option<String>,
    /// School URN.
    #[arg(long)]
    pub school_urn: Option<String>,
    /// School UKPRN.
    #[arg(long)]
    pub school_ukprn: Option<String>,
    /// Private childcare provider URN.
    #[arg(long)]
    pub private_childcare_provider_urn: Option<String>,
    /// `no`, `yes_when_course_starts`, `yes_in_first_two_years`, ….
    #[arg(long)]
    pub headteacher_status: Option<String>,
    /// `school`, `trust`, `self`, `another` or `employer`.
    #[arg(long)]
    pub funding_choice: Option<String>,
    /// The DfE funds this application.
    #[arg(long)]
    #[serde(default)]
    pub eligible_for_funding: bool,
    /// Targeted delivery funding applies.
    #[arg(long)]
    #[serde(default)]
    pub targeted_delivery_funding_eligibility: bool,
    /// Where the applicant teaches: `england`, `scotland`, `wales`, `northern_ireland`,
    /// `jersey_guernsey_isle_of_man` or `another`.
    #[arg(long)]
    pub teacher_catchment: Option<String>,
    /// The country, outside the UK.
    #[arg(long)]
    pub teacher_catchment_country: Option<String>,
    /// Its ISO 3166 code.
    #[arg(long)]
    pub teacher_catchment_iso_country_code: Option<String>,
    /// A lead mentor.
    #[arg(long)]
    pub lead_mentor: Option<bool>,
    /// The lead mentor's ITT provider.
    #[arg(long)]
    pub itt_provider: Option<String>,
}

impl NewApplication {
    /// The application, with its provider and course checked: the attribute and message of
    /// the first thing wrong otherwise.
    pub async fn resolve(
        self,
        pool: &sqlx::PgPool,
    ) -> Result<Application, (&'static str, &'static str)> {
        let provider = lead_providers::find_by_name(pool, &self.lead_provider)
            .await
            .ok()
            .flatten()
            .filter(|p| p.npq)
            .ok_or(("lead_provider", "The lead provider does not deliver NPQ"))?;
        let course = Course::parse(self.course_identifier.trim())
            .filter(|c| c.npq_group().is_some())
            .ok_or(("course_identifier", "The course is not an NPQ course"))?;
        Ok(Application {
            id: NpqApplicationId(self.id.unwrap_or_else(Uuid::new_v4)),
            participant_id: ParticipantId(self.participant_id.unwrap_or_else(Uuid::new_v4)),
            lead_provider_id: LeadProviderId(provider.id),
            full_name: self.full_name,
            email: self.email,
            trn: self.teacher_reference_number,
            trn_validated: self.teacher_reference_number_validated,
            course,
            cohort: self.cohort,
            works_in_school: !self.not_in_school,
            employer_name: self.employer_name,
            employment_role: self.employment_role,
            school_urn: self.school_urn,
            school_ukprn: self.school_ukprn,
            private_childcare_provider_urn: self.private_childcare_provider_urn,
            headteacher_status: self.headteacher_status,
            funding_choice: self.funding_choice,
            eligible_for_funding: self.eligible_for_funding,
            targeted_delivery_funding_eligibility: self.targeted_delivery_funding_eligibility,
            teacher_catchment: self.teacher_catchment,
            teacher_catchment_country: self.teacher_catchment_country,
            teacher_catchment_iso_country_code: self.teacher_catchment_iso_country_code,
            lead_mentor: self.lead_mentor,
            itt_provider: self.itt_provider,
        })
    }
}

/// Records an application from the registration service and returns it.
pub async fn apply(
    ledger: &Ledger,
    application: Application,
    context: &CommandContext,
) -> Result<ApplicationRow, NpqFlowError> {
    let id = application.id;
    let stream = aggregates::npq::stream_id(
        application.trn.as_deref(),
        application.participant_id,
        application.course,
    );
    let command = NpqCourseCommand::Apply(Box::new(application));
    ledger
        .execute::<NpqCourse>(&stream, command, context)
        .await?;
    // A row shows the application whether the read model has caught up or it was sent before
    // (a resend records nothing); without one, the committed event answers.
    match npq::application(ledger.pool(), id.0).await? {
        Some(row) => Ok(row),
        None => applied(ledger, &stream, id).await,
    }
}

/// An application as its committed `Applied` event records it: the answer when the read model
/// does not show it yet.
async fn applied(
    ledger: &Ledger,
    stream: &str,
    id: NpqApplicationId,
) -> Result<ApplicationRow, NpqFlowError> {
    let pool = ledger.pool();
    for event in projections::event::of_aggregate(pool, NpqCourse::TYPE, stream).await? {
        let decoded: NpqEvent = event
            .decode()
            .map_err(|error| LedgerError::<NpqError>::Store(error.into()))?;
        if let NpqEvent::Applied(application) = decoded
            && application.id == id
        {
            let previously_funded = npq::previously_funded(
                pool,
                application.participant_id.0,
                id.0,
                application.course.as_str(),
            )
            .await?;
            return Ok(ApplicationRow::applied(
                *application,
                stream,
                event.recorded_at,
                previously_funded,
            ));
        }
    }
    Err(NpqFlowError::NotProjected)
}

/// One of the provider's applications, by the id in a path.
pub async fn own_application(
    ledger: &Ledger,
    provider: LeadProviderId,
    id: &str,
) -> Result<ApplicationRow, NpqFlowError> {
    let id = Uuid::parse_str(id.trim()).map_err(|_| NpqFlowError::NotFound)?;
    npq::application(ledger.pool(), id)
        .await?
        .filter(|row| row.lead_provider_id == provider.0)
        .ok_or(NpqFlowError::NotFound)
}

/// The provider accepts an application: the person is enrolled on the schedule for the
/// course, cohort and day, their other applications for the course and cohort are rejected,
/// and an applicant whose validated TRN another person holds merges into that person.
pub async fn accept(
    ledger: &Ledger,
    provider: LeadProviderId,
    id: &str,
    now: DateTime<Utc>,
    context: &CommandContext,
) -> Result<ApplicationRow, NpqFlowError> {
    let pool = ledger.pool();
    let row = own_application(ledger, provider, id).await?;
    let course = Course::parse(&row.course_identifier).ok_or(NpqFlowError::NotFound)?;
    let schedule = acceptance_schedule(ledger, course, row.cohort, now).await?;
    let same_trn_as = match row.trn.as_deref().filter(|_| row.trn_validated) {
        Some(trn) => npq::person_with_trn(pool, trn, row.participant_id).await?,
        None => None,
    };
    let command = NpqCourseCommand::Accept(Box::new(Acceptance {
        application_id: NpqApplicationId(row.id),
        lead_provider_id: provider,
        schedule,
        same_trn_as: same_trn_as.map(ParticipantId),
        at: now,
    }));
    let visibility = ledger
        .execute::<NpqCourse>(&row.stream_id, command, context)
        .await?;
    answer(ledger, row, visibility, now).await
}

/// The schedule an acceptance now starts on: the one for the course, cohort and day, in the
/// cohort or, where the cohort has none (ASO after 2021), the latest earlier cohort that has
/// it.
async fn acceptance_schedule(
    ledger: &Ledger,
    course: Course,
    cohort: i32,
    now: DateTime<Utc>,
) -> Result<Option<Schedule>, sqlx::Error> {
    let Some(identifier) = aggregates::npq::schedule_for(course, cohort, now.date_naive()) else {
        return Ok(None);
    };
    for year in (cohort - 3..=cohort).rev() {
        if let Some(schedule) = reference::schedule(ledger.pool(), identifier, year).await? {
            return Ok(Some(schedule));
        }
    }
    Ok(None)
}

/// The provider rejects an application.
pub async fn reject(
    ledger: &Ledger,
    provider: LeadProviderId,
    id: &str,
    now: DateTime<Utc>,
    context: &CommandContext,
) -> Result<ApplicationRow, NpqFlowError> {
    let row = own_application(ledger, provider, id).await?;
    let command = NpqCourseCommand::Reject {
        application_id: NpqApplicationId(row.id),
        lead_provider_id: provider,
        at: now,
    };
    let visibility = ledger
        .execute::<NpqCourse>(&row.stream_id, command, context)
        .await?;
    answer(ledger, row, visibility, now).await
}

/// The provider defers, resumes, withdraws or moves its enrolment of a person on a course,
/// and gets the person's id (after any merge) back, with the write when the read model does
/// not show it yet.
pub async fn change_enrolment(
    ledger: &Ledger,
    provider: LeadProviderId,
    participant: &str,
    course: Course,
    request: TrainingRequest,
    now: DateTime<Utc>,
    context: &CommandContext,
) -> Result<(Uuid, Option<CommittedApplication>), NpqFlowError> {
    let pool = ledger.pool();
    let participant = Uuid::parse_str(participant.trim()).map_err(|_| NpqFlowError::NotEnrolled)?;
    let participant = npq::resolve(pool, participant).await?;
    let enrolment = npq::enrolment(pool, provider.0, participant, course.as_str())
        .await?
        .ok_or(NpqFlowError::NotEnrolled)?;
    let declared = declarations::types_of_record(pool, enrolment.id).await?;
    let action = match request {
        TrainingRequest::Defer(reason) => EnrolmentAction::Defer {
            reason,
            declared: !declared.is_empty(),
        },
        TrainingRequest::Resume => EnrolmentAction::Resume,
        TrainingRequest::Withdraw(reason) => EnrolmentAction::Withdraw {
            reason,
            started: declared
                .iter()
                .any(|t| t == DeclarationType::Started.as_str()),
        },
        TrainingRequest::ChangeSchedule { identifier, cohort } => {
            let target = match cohort {
                Some(cohort) => reference::schedule(pool, &identifier, cohort).await?,
                None => None,
            };
            EnrolmentAction::ChangeSchedule {
                target,
                cohort: cohort.unwrap_or_default(),
                live_declarations: crate::lookup::live_declarations(pool, enrolment.id).await?,
            }
        }
    };
    let command = NpqCourseCommand::Change(Box::new(EnrolmentChange {
        application_id: NpqApplicationId(enrolment.id),
        lead_provider_id: provider,
        at: now,
        action,
    }));
    let visibility = ledger
        .execute::<NpqCourse>(&enrolment.stream_id, command, context)
        .await?;
    let committed = match visibility {
        Visibility::Shown => None,
        Visibility::Behind => committed(ledger, &enrolment.stream_id, enrolment.id, now).await?,
    };
    Ok((participant, committed))
}

/// An application as a provider's committed write left it: what a write that the read model
/// does not show yet is answered from, shown over the application's row.
#[derive(Clone, Debug)]
pub struct CommittedApplication {
    id: Uuid,
    status: ApplicationStatus,
    enrolment: Option<Enrolment>,
    at: DateTime<Utc>,
}

impl CommittedApplication {
    /// Shows the write over the application's row (a row of another application is left as it
    /// is).
    pub fn overlay(&self, row: &mut ApplicationRow) {
        if row.id != self.id {
            return;
        }
        row.status = self.status.as_str().to_owned();
        row.updated_at = self.at;
        if let Some(enrolment) = &self.enrolment {
            row.participant_id = enrolment.participant_id.0;
            row.schedule_identifier = Some(enrolment.schedule_identifier.clone());
            row.cohort = enrolment.cohort;
            row.training_status = Some(enrolment.training_status.as_str().to_owned());
            row.withdrawal_reason = enrolment.withdrawal.as_ref().map(|w| w.reason.clone());
            row.withdrawn_at = enrolment.withdrawal.as_ref().map(|w| w.at);
            row.deferral_reason = enrolment.deferral.as_ref().map(|d| d.reason.clone());
            row.deferred_at = enrolment.deferral.as_ref().map(|d| d.at);
            row.accepted_at = row.accepted_at.or(Some(self.at));
        }
    }
}

/// The application as the stream's committed events leave it.
async fn committed(
    ledger: &Ledger,
    stream: &str,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<CommittedApplication>, NpqFlowError> {
    let course = ledger.committed::<NpqCourse>(stream).await?;
    Ok(course
        .application(NpqApplicationId(id))
        .map(|(_, status, enrolment)| CommittedApplication {
            id,
            status,
            enrolment: enrolment.cloned(),
            at,
        }))
}

/// The application after a provider's write: its row, with the write shown over it when the
/// read model does not show it yet (`before` is the row from before the write).
async fn answer(
    ledger: &Ledger,
    before: ApplicationRow,
    visibility: Visibility,
    at: DateTime<Utc>,
) -> Result<ApplicationRow, NpqFlowError> {
    let read = npq::application(ledger.pool(), before.id).await?;
    match (visibility, read) {
        (Visibility::Shown, Some(row)) => Ok(row),
        (_, read) => {
            let mut row = read.unwrap_or(before);
            if let Some(committed) = committed(ledger, &row.stream_id, row.id, at).await? {
                committed.overlay(&mut row);
            }
            Ok(row)
        }
    }
}

/// What a provider sends to record a later outcome.
#[derive(Clone, Debug, Default)]
pub struct OutcomeBody {
    /// `course_identifier`.
    pub course_identifier: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `completion_date`.
    pub completion_date: Option<String>,
}

/// The provider records a later outcome on its latest `completed` declaration of a person's
/// course; an identical resend records nothing. Returns the latest outcome.
pub async fn record_outcome(
    ledger: &Ledger,
    provider: LeadProviderId,
    participant: &str,
    body: OutcomeBody,
    now: DateTime<Utc>,
    context: &CommandContext,
) -> Result<OutcomeRow, NpqFlowError> {
    let pool = ledger.pool();
    let participant = match Uuid::parse_str(participant.trim()) {
        Ok(id) => Some(npq::resolve(pool, id).await?),
        Err(_) => None,
    };
    let course = body
        .course_identifier
        .as_deref()
        .map(str::trim)
        .and_then(Course::parse)
        .filter(|c| c.has_outcomes());
    let enrolled = match (participant, course) {
        (Some(participant), Some(course)) => {
            npq::enrolment(pool, provider.0, participant, course.as_str())
                .await?
                .is_some()
        }
        _ => false,
    };
    let slot = aggregates::declaration::slot_id(
        &participant.unwrap_or_default().to_string(),
        course.map_or("", Course::as_str),
        DeclarationType::Completed.as_str(),
    );
    let command = DeclarationSlotCommand::RecordOutcome(Box::new(OutcomeRequest {
        lead_provider_id: provider,
        course_recognised: enrolled,
        course_missing: body
            .course_identifier
            .as_deref()
            .is_none_or(|c| c.trim().is_empty()),
        state: body.state,
        completion_date: body.completion_date,
        now,
    }));
    let visibility = ledger
        .execute::<DeclarationSlot>(&slot, command, context)
        .await?;
    let (Some(participant), Some(course)) = (participant, course) else {
        return Err(NpqFlowError::NotEnrolled);
    };
    let read = npq::latest_outcome(pool, provider.0, participant, course.as_str()).await?;
    match (visibility, read) {
        (Visibility::Shown, Some(row)) => Ok(row),
        (_, read) => committed_outcome(ledger, &slot, provider)
            .await?
            .or(read)
            .ok_or(NpqFlowError::NotProjected),
    }
}

/// The provider's latest outcome on a slot as its committed events leave it: the answer to an
/// outcome that the read model does not show yet.
async fn committed_outcome(
    ledger: &Ledger,
    slot: &str,
    provider: LeadProviderId,
) -> Result<Option<OutcomeRow>, NpqFlowError> {
    let events =
        projections::event::of_aggregate(ledger.pool(), DeclarationSlot::TYPE, slot).await?;
    let mut latest = None;
    for event in &events {
        let decoded: DeclarationSlotEvent = event
            .decode()
            .map_err(|error| LedgerError::<DeclarationRejection>::Store(error.into()))?;
        if let DeclarationSlotEvent::OutcomeRecorded(outcome) = decoded
            && outcome.lead_provider_id == provider
        {
            latest = Some(OutcomeRow {
                id: outcome.id,
                participant_id: outcome.participant_id.0,
                course_identifier: outcome.course.as_str().to_owned(),
                state: outcome.state.as_str().to_owned(),
                completion_date: outcome.completion_date,
                created_at: event.recorded_at,
            });
        }
    }
    Ok(latest)
}
