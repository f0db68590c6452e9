//! `POST /admin/participants/{id}/retire`: the DfE retires a duplicate participant id in
//! favour of the id to keep.

use aggregates::ParticipantId;
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::flows::retirement::{self, RetireRequest, RetirementSummary};
use crate::http::error::{ErrorBody, ErrorsBody};
use crate::http::extract::Path;
use crate::http::json_api::{Document, Resource};
use crate::http::{Admin, ApiError, ErrorEntry, JsonApiBody};

/// The retirement route.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin/participants/{id}/retire", post(retire))
}

/// The retirement route's description.
#[derive(OpenApi)]
#[openapi(paths(retire))]
pub(super) struct RetireApi;

/// The id to keep, and the admin's word that both are one person when they share no TRN.
#[derive(Debug, Deserialize, ToSchema)]
struct Retire {
    keep_participant_id: Option<String>,
    #[serde(default)]
    confirmed_same_person: bool,
}

/// The retirement: the retired id, the kept one, and what moved.
#[derive(Debug, Serialize, ToSchema)]
struct RetirementAttributes {
    retired_participant_id: String,
    kept_participant_id: String,
    training_records_moved: usize,
    npq_courses_moved: usize,
    declarations_moved: usize,
}

/// Retires a duplicate participant id: its training records, declarations, outcomes, NPQ
/// applications and enrolments move to the kept id, which the retired id names from then on.
#[utoipa::path(
    post,
    path = "/admin/participants/{id}/retire",
    tag = "admin",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "The participant id to retire")),
    request_body(content = JsonApiBody<Retire>, content_type = "application/vnd.api+json",
        example = json!({"data": {"type": "participant-retirement", "attributes": {
            "keep_participant_id": "6e0a6bd7-63a3-4b8b-a1c4-5b8a5f0b2a11",
            "confirmed_same_person": false}}})),
    responses(
        (status = 200, description = "The retirement", content_type = "application/vnd.api+json",
            body = Document<Resource<RetirementAttributes>>),
        (status = 400, description = "Not a JSON:API body", content_type = "application/vnd.api+json", body = ErrorsBody),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an admin token"),
        (status = 422, description = "Unknown or identical ids, no shared TRN without confirmation, or live declarations both ids hold", content_type = "application/vnd.api+json", body = ErrorsBody),
    ),
)]
async fn retire(
    State(app): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<Retire>,
) -> Result<Document<Resource<RetirementAttributes>>, ApiError> {
    let invalid =
        |title: &str, detail: String| ApiError::Unprocessable(vec![ErrorEntry::new(title, detail)]);
    let retired = Uuid::parse_str(id.trim()).map_err(|_| {
        invalid(
            "participant_id",
            format!("There is no participant with the id {id} to retire."),
        )
    })?;
    let keep = body.keep_participant_id.unwrap_or_default();
    let kept = Uuid::parse_str(keep.trim()).map_err(|_| {
        invalid(
            "keep_participant_id",
            "Enter the '#/keep_participant_id' of the participant to keep.".to_owned(),
        )
    })?;
    let request = RetireRequest {
        retired: ParticipantId(retired),
        kept: ParticipantId(kept),
        confirmed_same_person: body.confirmed_same_person,
    };
    let summary = retirement::retire_id(&app.ledger, request, &admin.context).await?;
    Ok(document(request, summary))
}

fn document(
    request: RetireRequest,
    summary: RetirementSummary,
) -> Document<Resource<RetirementAttributes>> {
    Document {
        data: Resource {
            id: request.retired.to_string(),
            kind: "participant-retirement",
            attributes: RetirementAttributes {
                retired_participant_id: request.retired.to_string(),
                kept_participant_id: request.kept.to_string(),
                training_records_moved: summary.training_records,
                npq_courses_moved: summary.npq_courses,
                declarations_moved: summary.declarations,
            },
        },
    }
}
