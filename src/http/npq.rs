//! NPQ for providers: `/api/v3/npq-applications` (list, show, accept, reject),
//! `/api/v3/participants/npq` (list, show, defer, resume, withdraw, change schedule) and
//! outcomes.

use aggregates::course::{DEFERRAL_REASONS, NPQ_WITHDRAWAL_REASONS};
use aggregates::npq::UK_CATCHMENTS;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use projections::lead_providers;
use projections::npq::{self, ApplicationFilter, ApplicationRow, EnrolmentFilter, OutcomeRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::participants::actions::{ActionBody, NOT_RECOGNISED, unprocessable};
use super::participants::{StatusChange, change};
use crate::AppState;
use crate::http::extract::lenient_text;
use crate::http::json_api::{Document, Resource, date, timestamp};
use crate::http::{ApiError, JsonApiBody, ListParams, Now, Provider};
use crate::npq::{EnrolmentRequest, NpqFlowError, OutcomeBody};

/// The NPQ routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/npq-applications", get(list_applications))
        .route("/api/v3/npq-applications/{id}", get(show_application))
        .route("/api/v3/npq-applications/{id}/accept", post(accept))
        .route("/api/v3/npq-applications/{id}/reject", post(reject))
        .route("/api/v3/participants/npq", get(list_participants))
        .route("/api/v3/participants/npq/outcomes", get(list_outcomes))
        .route("/api/v3/participants/npq/{id}", get(show_participant))
        .route(
            "/api/v3/participants/npq/{id}/outcomes",
            get(participant_outcomes).post(record_outcome),
        )
        .route("/api/v3/participants/npq/{id}/defer", put(defer))
        .route("/api/v3/participants/npq/{id}/resume", put(resume))
        .route("/api/v3/participants/npq/{id}/withdraw", put(withdraw))
        .route(
            "/api/v3/participants/npq/{id}/change-schedule",
            put(change_schedule),
        )
}

/// A provider that delivers NPQ; others are refused with 403.
async fn npq_provider(app: &AppState, provider: &Provider) -> Result<(), ApiError> {
    match lead_providers::find(&app.pool, provider.id).await? {
        Some(row) if row.npq => Ok(()),
        _ => Err(ApiError::Forbidden),
    }
}

impl From<NpqFlowError> for ApiError {
    fn from(error: NpqFlowError) -> Self {
        match error {
            NpqFlowError::Rejected(rejection) => rejection.into(),
            NpqFlowError::Outcome(rejection) => rejection.into(),
            NpqFlowError::NotFound => Self::NotFound,
            NpqFlowError::NotEnrolled => unprocessable("participant_id", NOT_RECOGNISED),
            NpqFlowError::Database(error) => error.into(),
            other @ NpqFlowError::NotProjected => Self::Internal(Box::new(other)),
        }
    }
}

/// An application's attributes, as in the v3 spec.
#[derive(Debug, Serialize)]
struct ApplicationAttributes {
    participant_id: String,
    full_name: String,
    email: String,
    email_validated: bool,
    teacher_reference_number: Option<String>,
    teacher_reference_number_validated: bool,
    works_in_school: bool,
    employer_name: Option<String>,
    employment_role: Option<String>,
    school_urn: Option<String>,
    private_childcare_provider_urn: Option<String>,
    school_ukprn: Option<String>,
    headteacher_status: Option<String>,
    eligible_for_funding: bool,
    funding_choice: Option<String>,
    course_identifier: String,
    status: String,
    created_at: String,
    updated_at: String,
    ineligible_for_funding_reason: Option<&'static str>,
    cohort: String,
    targeted_delivery_funding_eligibility: bool,
    teacher_catchment: Option<bool>,
    teacher_catchment_country: Option<String>,
    teacher_catchment_iso_country_code: Option<String>,
    lead_mentor: Option<bool>,
    itt_provider: Option<String>,
}

type ApplicationResource = Resource<ApplicationAttributes>;

impl From<ApplicationRow> for ApplicationResource {
    fn from(row: ApplicationRow) -> Self {
        let ineligible_for_funding_reason = match (row.previously_funded, row.eligible_for_funding)
        {
            (true, _) => Some("previously-funded"),
            (false, false) => Some("establishment-ineligible"),
            (false, true) => None,
        };
        Resource {
            id: row.id.to_string(),
            kind: "npq_application",
            attributes: ApplicationAttributes {
                participant_id: row.participant_id.to_string(),
                full_name: row.full_name,
                email: row.email,
                email_validated: true,
                teacher_reference_number: row.trn,
                teacher_reference_number_validated: row.trn_validated,
                works_in_school: row.works_in_school,
                employer_name: row.employer_name,
                employment_role: row.employment_role,
                school_urn: row.school_urn,
                private_childcare_provider_urn: row.private_childcare_provider_urn,
                school_ukprn: row.school_ukprn,
                headteacher_status: row.headteacher_status,
                eligible_for_funding: ineligible_for_funding_reason.is_none(),
                funding_choice: row.funding_choice,
                course_identifier: row.course_identifier,
                status: row.status,
                created_at: timestamp(row.created_at),
                updated_at: timestamp(row.updated_at),
                ineligible_for_funding_reason,
                cohort: row.cohort.to_string(),
                targeted_delivery_funding_eligibility: row.targeted_delivery_funding_eligibility,
                teacher_catchment: row
                    .teacher_catchment
                    .as_deref()
                    .map(|area| UK_CATCHMENTS.contains(&area)),
                teacher_catchment_country: row.teacher_catchment_country,
                teacher_catchment_iso_country_code: row.teacher_catchment_iso_country_code,
                lead_mentor: row.lead_mentor,
                itt_provider: row.itt_provider,
            },
        }
    }
}

/// The caller's applications, oldest first; `sort` reorders the page.
async fn list_applications(
    State(app): State<AppState>,
    provider: Provider,
    params: ListParams,
) -> Result<Document<Vec<ApplicationResource>>, ApiError> {
    npq_provider(&app, &provider).await?;
    let filter = ApplicationFilter {
        cohorts: params.cohorts(),
        participant_id: params
            .filter("participant_id")
            .map(|id| Uuid::parse_str(id).unwrap_or_default()),
        updated_since: params.date_filter("updated_since")?,
    };
    let mut rows = npq::list_applications(&app.pool, provider.id.0, &filter, params.page).await?;
    params.sort_page(&mut rows, |row| (row.created_at, row.updated_at));
    Ok(Document {
        data: rows.into_iter().map(Resource::from).collect(),
    })
}

/// One of the caller's applications.
async fn show_application(
    State(app): State<AppState>,
    provider: Provider,
    Path(id): Path<String>,
) -> Result<Document<ApplicationResource>, ApiError> {
    npq_provider(&app, &provider).await?;
    let row = crate::npq::own_application(&app.ledger, provider.id, &id).await?;
    Ok(Document { data: row.into() })
}

/// Accepts one of the caller's applications.
async fn accept(
    State(app): State<AppState>,
    provider: Provider,
    Now(now): Now,
    Path(id): Path<String>,
) -> Result<Document<ApplicationResource>, ApiError> {
    npq_provider(&app, &provider).await?;
    let row = crate::npq::accept(&app.ledger, provider.id, &id, now, &provider.context).await?;
    Ok(Document { data: row.into() })
}

/// Rejects one of the caller's applications.
async fn reject(
    State(app): State<AppState>,
    provider: Provider,
    Now(now): Now,
    Path(id): Path<String>,
) -> Result<Document<ApplicationResource>, ApiError> {
    npq_provider(&app, &provider).await?;
    let row = crate::npq::reject(&app.ledger, provider.id, &id, now, &provider.context).await?;
    Ok(Document { data: row.into() })
}

/// An NPQ participant's attributes, as in the v3 spec.
#[derive(Debug, Serialize)]
struct ParticipantAttributes {
    full_name: String,
    teacher_reference_number: Option<String>,
    updated_at: String,
    npq_enrolments: Vec<Enrolment>,
}

/// One of the caller's enrolments of the person.
#[derive(Debug, Serialize)]
struct Enrolment {
    email: String,
    course_identifier: String,
    schedule_identifier: Option<String>,
    cohort: String,
    npq_application_id: String,
    eligible_for_funding: bool,
    training_status: Option<String>,
    school_urn: Option<String>,
    targeted_delivery_funding_eligibility: bool,
    withdrawal: Option<StatusChange>,
    deferral: Option<StatusChange>,
    created_at: String,
}

type ParticipantResource = Resource<ParticipantAttributes>;

/// A person with the caller's enrolments of them (the latest application gives the name).
fn participant(id: Uuid, rows: Vec<ApplicationRow>) -> ParticipantResource {
    let latest = rows.iter().max_by_key(|row| row.created_at);
    let full_name = latest.map(|row| row.full_name.clone()).unwrap_or_default();
    let trn = rows.iter().find_map(|row| row.trn.clone());
    let updated_at = rows.iter().map(|row| row.updated_at).max();
    let enrolments = rows
        .into_iter()
        .map(|row| {
            let status = row.training_status.as_deref();
            Enrolment {
                withdrawal: change(
                    &row.withdrawal_reason,
                    row.withdrawn_at,
                    status == Some("withdrawn"),
                ),
                deferral: change(
                    &row.deferral_reason,
                    row.deferred_at,
                    status == Some("deferred"),
                ),
                email: row.email,
                course_identifier: row.course_identifier,
                schedule_identifier: row.schedule_identifier,
                cohort: row.cohort.to_string(),
                npq_application_id: row.id.to_string(),
                eligible_for_funding: row.eligible_for_funding,
                training_status: row.training_status,
                school_urn: row.school_urn,
                targeted_delivery_funding_eligibility: row.targeted_delivery_funding_eligibility,
                created_at: timestamp(row.accepted_at.unwrap_or(row.created_at)),
            }
        })
        .collect();
    Resource {
        id: id.to_string(),
        kind: "npq-participant",
        attributes: ParticipantAttributes {
            full_name,
            teacher_reference_number: trn,
            updated_at: updated_at.map(timestamp).unwrap_or_default(),
            npq_enrolments: enrolments,
        },
    }
}

/// The people the caller enrolled, oldest first; `sort` reorders the page.
async fn list_participants(
    State(app): State<AppState>,
    provider: Provider,
    params: ListParams,
) -> Result<Document<Vec<ParticipantResource>>, ApiError> {
    npq_provider(&app, &provider).await?;
    let filter = EnrolmentFilter {
        updated_since: params.date_filter("updated_since")?,
        training_status: params.training_status()?,
    };
    let people = npq::list_participants(&app.pool, provider.id.0, &filter, params.page).await?;
    let mut people: Vec<_> = people
        .into_iter()
        .map(|(id, rows)| {
            let created = rows.iter().filter_map(|r| r.accepted_at).min();
            let updated = rows.iter().map(|r| r.updated_at).max();
            let stamps = (created.unwrap_or_default(), updated.unwrap_or_default());
            (stamps, participant(id, rows))
        })
        .collect();
    params.sort_page(&mut people, |(stamps, _)| *stamps);
    Ok(Document {
        data: people.into_iter().map(|(_, person)| person).collect(),
    })
}

/// One person the caller enrolled (an old, merged id finds them too).
async fn show_participant(
    State(app): State<AppState>,
    provider: Provider,
    Path(id): Path<String>,
) -> Result<Document<ParticipantResource>, ApiError> {
    npq_provider(&app, &provider).await?;
    let id = Uuid::parse_str(id.trim()).map_err(|_| ApiError::NotFound)?;
    Ok(Document {
        data: find_participant(&app, &provider, id).await?,
    })
}

async fn find_participant(
    app: &AppState,
    provider: &Provider,
    id: Uuid,
) -> Result<ParticipantResource, ApiError> {
    let id = npq::resolve(&app.pool, id).await?;
    let (id, rows) = npq::enrolments_of(&app.pool, provider.id.0, &[id])
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    Ok(participant(id, rows))
}

type Action = Result<Document<ParticipantResource>, ApiError>;

/// Runs an enrolment action and answers with the person.
async fn act(
    app: &AppState,
    provider: &Provider,
    now: chrono::DateTime<chrono::Utc>,
    id: &str,
    body: &ActionBody,
    reasons: Option<&[&str]>,
    request: impl FnOnce(String) -> Result<EnrolmentRequest, ApiError>,
) -> Action {
    npq_provider(app, provider).await?;
    let (course, reason) = body.checked(reasons)?;
    if course.npq_group().is_none() {
        return Err(unprocessable(
            "course_identifier",
            "The entered '#/course_identifier' is not recognised for the given participant. Check details and try again.",
        ));
    }
    let request = request(reason)?;
    let person = crate::npq::change_enrolment(
        &app.ledger,
        provider.id,
        id,
        course,
        request,
        now,
        &provider.context,
    )
    .await?;
    Ok(Document {
        data: find_participant(app, provider, person).await?,
    })
}

/// Defers an enrolment.
async fn defer(
    State(app): State<AppState>,
    provider: Provider,
    Now(now): Now,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<ActionBody>,
) -> Action {
    let reasons = Some(DEFERRAL_REASONS);
    act(&app, &provider, now, &id, &body, reasons, |reason| {
        Ok(EnrolmentRequest::Defer(reason))
    })
    .await
}

/// Resumes an enrolment.
async fn resume(
    State(app): State<AppState>,
    provider: Provider,
    Now(now): Now,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<ActionBody>,
) -> Action {
    act(&app, &provider, now, &id, &body, None, |_| {
        Ok(EnrolmentRequest::Resume)
    })
    .await
}

/// Withdraws the participant from the course.
async fn withdraw(
    State(app): State<AppState>,
    provider: Provider,
    Now(now): Now,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<ActionBody>,
) -> Action {
    let reasons = Some(NPQ_WITHDRAWAL_REASONS);
    act(&app, &provider, now, &id, &body, reasons, |reason| {
        Ok(EnrolmentRequest::Withdraw(reason))
    })
    .await
}

/// Moves an enrolment to another schedule (and, while nothing is declared, cohort).
async fn change_schedule(
    State(app): State<AppState>,
    provider: Provider,
    Now(now): Now,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<ActionBody>,
) -> Action {
    let (identifier, cohort) = body.schedule_target(now)?;
    act(&app, &provider, now, &id, &body, None, |_| {
        Ok(EnrolmentRequest::ChangeSchedule { identifier, cohort })
    })
    .await
}

/// An outcome's attributes, as in the v3 spec.
#[derive(Debug, Serialize)]
struct OutcomeAttributes {
    participant_id: String,
    course_identifier: String,
    state: String,
    completion_date: String,
    created_at: String,
    updated_at: String,
}

type OutcomeResource = Resource<OutcomeAttributes>;

impl From<OutcomeRow> for OutcomeResource {
    fn from(row: OutcomeRow) -> Self {
        Resource {
            id: row.id.to_string(),
            kind: "participant-outcome",
            attributes: OutcomeAttributes {
                participant_id: row.participant_id.to_string(),
                course_identifier: row.course_identifier,
                state: row.state,
                completion_date: date(row.completion_date),
                created_at: timestamp(row.created_at),
                updated_at: timestamp(row.created_at),
            },
        }
    }
}

/// Every outcome of the caller's declarations, oldest first.
async fn list_outcomes(
    State(app): State<AppState>,
    provider: Provider,
    params: ListParams,
) -> Result<Document<Vec<OutcomeResource>>, ApiError> {
    let created_since = params.date_filter("created_since")?;
    let rows = npq::outcomes(&app.pool, provider.id.0, None, created_since, params.page).await?;
    Ok(Document {
        data: rows.into_iter().map(Resource::from).collect(),
    })
}

/// One person's outcomes of the caller's declarations.
async fn participant_outcomes(
    State(app): State<AppState>,
    provider: Provider,
    Path(id): Path<String>,
    params: ListParams,
) -> Result<Document<Vec<OutcomeResource>>, ApiError> {
    let id = Uuid::parse_str(id.trim()).map_err(|_| ApiError::NotFound)?;
    let id = npq::resolve(&app.pool, id).await?;
    let rows = npq::outcomes(&app.pool, provider.id.0, Some(id), None, params.page).await?;
    Ok(Document {
        data: rows.into_iter().map(Resource::from).collect(),
    })
}

/// The attributes of an outcome a provider sends.
#[derive(Debug, Deserialize)]
struct OutcomeRequestBody {
    #[serde(default, deserialize_with = "lenient_text")]
    course_identifier: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    state: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    completion_date: Option<String>,
}

/// Records a later outcome; an identical resend returns the existing one.
async fn record_outcome(
    State(app): State<AppState>,
    provider: Provider,
    Now(now): Now,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<OutcomeRequestBody>,
) -> Result<Document<OutcomeResource>, ApiError> {
    let body = OutcomeBody {
        course_identifier: body.course_identifier,
        state: body.state,
        completion_date: body.completion_date,
    };
    let row =
        crate::npq::record_outcome(&app.ledger, provider.id, &id, body, now, &provider.context)
            .await?;
    Ok(Document { data: row.into() })
}
