//! `/admin/participants` and `/admin/training-records/{id}/...`: what schools and the DfE do
//! to ECF participants, so testers can stage registrations, eligibility changes and transfers.

use aggregates::course::ParticipantType;
use aggregates::{ParticipantId, TrainingRecordId};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{post, put};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::flows::school::{self, NewParticipant};
use crate::http::error::{ErrorBody, ErrorsBody};
use crate::http::extract::Path;
use crate::http::extract::parse_instant;
use crate::http::json_api::{Document, Resource};
use crate::http::{Admin, ApiError, ErrorEntry, JsonApiBody, Now};

/// The school-side routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/participants", post(register))
        .route("/admin/training-records/{id}/mentor", put(assign_mentor))
        .route(
            "/admin/training-records/{id}/funding-eligibility",
            put(change_funding_eligibility),
        )
        .route("/admin/training-records/{id}/leaving", put(report_leaving))
        .route("/admin/training-records/{id}/joining", put(join))
}

/// The school-side routes' description.
#[derive(OpenApi)]
#[openapi(paths(
    register,
    assign_mentor,
    change_funding_eligibility,
    report_leaving,
    join
))]
pub(super) struct ParticipantsApi;

#[derive(Debug, Deserialize, ToSchema)]
struct Registration {
    participant_id: Option<Uuid>,
    #[schema(value_type = String, example = "ect")]
    participant_type: ParticipantType,
    full_name: String,
    email: String,
    teacher_reference_number: Option<String>,
    #[serde(default)]
    teacher_reference_number_validated: bool,
    school_urn: String,
    cohort: i32,
    schedule_identifier: Option<String>,
    eligible_for_funding: Option<bool>,
    #[serde(default)]
    pupil_premium_uplift: bool,
    #[serde(default)]
    sparsity_uplift: bool,
    mentor_id: Option<Uuid>,
    start_date: Option<String>,
}

/// What a school-side command answers: the record and its person.
#[derive(Debug, Serialize, ToSchema)]
struct RecordAttributes {
    participant_id: Option<String>,
}

type RecordDocument = Document<Resource<RecordAttributes>>;

fn record_document(record: TrainingRecordId, participant: Option<ParticipantId>) -> RecordDocument {
    Document {
        data: Resource {
            id: record.to_string(),
            kind: "training-record",
            attributes: RecordAttributes {
                participant_id: participant.map(|p| p.to_string()),
            },
        },
    }
}

/// Registers a participant at a school.
#[utoipa::path(
    post,
    path = "/admin/participants",
    tag = "admin",
    security(("bearerAuth" = [])),
    request_body(content = JsonApiBody<Registration>, content_type = "application/vnd.api+json"),
    responses(
        (status = 201, description = "The training record", content_type = "application/vnd.api+json",
            body = Document<Resource<RecordAttributes>>),
        (status = 400, description = "Not a JSON:API body", content_type = "application/vnd.api+json", body = ErrorsBody),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an admin token"),
        (status = 422, description = "The change breaks a rule", content_type = "application/vnd.api+json", body = ErrorsBody),
    ),
)]
async fn register(
    State(app): State<AppState>,
    admin: Admin,
    Now(now): Now,
    JsonApiBody(body): JsonApiBody<Registration>,
) -> Result<(StatusCode, RecordDocument), ApiError> {
    let start = date_or(body.start_date.as_deref(), "start_date", now)?;
    let new = NewParticipant {
        participant_id: body.participant_id.map(ParticipantId),
        training_record_id: None,
        participant_type: body.participant_type,
        full_name: body.full_name,
        email: body.email,
        trn: body.teacher_reference_number,
        trn_validated: body.teacher_reference_number_validated,
        school_urn: body.school_urn,
        cohort: body.cohort,
        schedule_identifier: body.schedule_identifier,
        eligible_for_funding: body.eligible_for_funding,
        pupil_premium_uplift: body.pupil_premium_uplift,
        sparsity_uplift: body.sparsity_uplift,
        mentor_id: body.mentor_id.map(ParticipantId),
        start,
    };
    let (participant, record) = school::register(&app.ledger, new, &admin.context).await?;
    Ok((
        StatusCode::CREATED,
        record_document(record, Some(participant)),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
struct Mentor {
    mentor_id: Option<Uuid>,
}

/// Assigns or removes an ECT's mentor.
#[utoipa::path(
    put,
    path = "/admin/training-records/{id}/mentor",
    tag = "admin",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "The training record")),
    request_body(content = JsonApiBody<Mentor>, content_type = "application/vnd.api+json"),
    responses(
        (status = 200, description = "The training record", content_type = "application/vnd.api+json",
            body = Document<Resource<RecordAttributes>>),
        (status = 400, description = "Not a JSON:API body", content_type = "application/vnd.api+json", body = ErrorsBody),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an admin token"),
        (status = 404, description = "No such training record", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 422, description = "The change breaks a rule", content_type = "application/vnd.api+json", body = ErrorsBody),
    ),
)]
async fn assign_mentor(
    State(app): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<Mentor>,
) -> Result<RecordDocument, ApiError> {
    let record = record_id(&id)?;
    school::assign_mentor(
        &app.ledger,
        record,
        body.mentor_id.map(ParticipantId),
        &admin.context,
    )
    .await?;
    Ok(record_document(record, None))
}

#[derive(Debug, Deserialize, ToSchema)]
struct Eligibility {
    eligible_for_funding: Option<bool>,
}

/// Decides funding eligibility; becoming eligible moves submitted declarations to eligible.
#[utoipa::path(
    put,
    path = "/admin/training-records/{id}/funding-eligibility",
    tag = "admin",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "The training record")),
    request_body(content = JsonApiBody<Eligibility>, content_type = "application/vnd.api+json"),
    responses(
        (status = 200, description = "The training record", content_type = "application/vnd.api+json",
            body = Document<Resource<RecordAttributes>>),
        (status = 400, description = "Not a JSON:API body", content_type = "application/vnd.api+json", body = ErrorsBody),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an admin token"),
        (status = 404, description = "No such training record", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 422, description = "The change breaks a rule", content_type = "application/vnd.api+json", body = ErrorsBody),
    ),
)]
async fn change_funding_eligibility(
    State(app): State<AppState>,
    admin: Admin,
    Now(now): Now,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<Eligibility>,
) -> Result<RecordDocument, ApiError> {
    let record = record_id(&id)?;
    school::change_funding_eligibility(
        &app.ledger,
        record,
        body.eligible_for_funding,
        now,
        &admin.context,
    )
    .await?;
    Ok(record_document(record, None))
}

#[derive(Debug, Deserialize, ToSchema)]
struct Leaving {
    end_date: Option<String>,
}

/// Records the date the participant leaves the current school.
#[utoipa::path(
    put,
    path = "/admin/training-records/{id}/leaving",
    tag = "admin",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "The training record")),
    request_body(content = JsonApiBody<Leaving>, content_type = "application/vnd.api+json"),
    responses(
        (status = 200, description = "The training record", content_type = "application/vnd.api+json",
            body = Document<Resource<RecordAttributes>>),
        (status = 400, description = "Not a JSON:API body", content_type = "application/vnd.api+json", body = ErrorsBody),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an admin token"),
        (status = 404, description = "No such training record", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 422, description = "The change breaks a rule", content_type = "application/vnd.api+json", body = ErrorsBody),
    ),
)]
async fn report_leaving(
    State(app): State<AppState>,
    admin: Admin,
    Now(now): Now,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<Leaving>,
) -> Result<RecordDocument, ApiError> {
    let record = record_id(&id)?;
    let end = date_or(body.end_date.as_deref(), "end_date", now)?;
    school::report_leaving(&app.ledger, record, end, &admin.context).await?;
    Ok(record_document(record, None))
}

#[derive(Debug, Deserialize, ToSchema)]
struct Joining {
    school_urn: String,
    start_date: Option<String>,
}

/// Records that another school takes the participant on.
#[utoipa::path(
    put,
    path = "/admin/training-records/{id}/joining",
    tag = "admin",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "The training record")),
    request_body(content = JsonApiBody<Joining>, content_type = "application/vnd.api+json"),
    responses(
        (status = 200, description = "The training record", content_type = "application/vnd.api+json",
            body = Document<Resource<RecordAttributes>>),
        (status = 400, description = "Not a JSON:API body", content_type = "application/vnd.api+json", body = ErrorsBody),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an admin token"),
        (status = 404, description = "No such training record", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 422, description = "The change breaks a rule", content_type = "application/vnd.api+json", body = ErrorsBody),
    ),
)]
async fn join(
    State(app): State<AppState>,
    admin: Admin,
    Now(now): Now,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<Joining>,
) -> Result<RecordDocument, ApiError> {
    let record = record_id(&id)?;
    let start = date_or(body.start_date.as_deref(), "start_date", now)?;
    school::join(&app.ledger, record, &body.school_urn, start, &admin.context).await?;
    Ok(record_document(record, None))
}

fn record_id(id: &str) -> Result<TrainingRecordId, ApiError> {
    Uuid::parse_str(id)
        .map(TrainingRecordId)
        .map_err(|_| ApiError::NotFound)
}

fn date_or(
    text: Option<&str>,
    attribute: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    match text {
        None => Ok(now),
        Some(text) => parse_instant(text).ok_or_else(|| {
            ApiError::Unprocessable(vec![ErrorEntry::new(
                attribute,
                "Enter an ISO 8601 date or date-time",
            )])
        }),
    }
}
