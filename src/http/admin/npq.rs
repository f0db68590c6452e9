//! `/admin/npq-applications`: what the NPQ registration service sends, so testers can stage
//! applications for providers to accept or reject.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::AppState;
use crate::flows::npq::NewApplication;
use crate::http::error::{ErrorBody, ErrorsBody};
use crate::http::json_api::{Document, Resource};
use crate::http::{Admin, ApiError, ErrorEntry, JsonApiBody};

/// The NPQ registration routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin/npq-applications", post(apply))
}

/// The NPQ registration routes' description.
#[derive(OpenApi)]
#[openapi(paths(apply))]
pub(super) struct NpqApi;

/// What the admin API answers: the application's person.
#[derive(Debug, Serialize, ToSchema)]
struct ApplicationAttributes {
    participant_id: String,
    lead_provider_id: String,
    status: String,
}

/// Records an application (sending the same one again changes nothing).
#[utoipa::path(
    post,
    path = "/admin/npq-applications",
    tag = "admin",
    security(("bearerAuth" = [])),
    request_body(content = JsonApiBody<NewApplication>, content_type = "application/vnd.api+json",
        example = json!({"data": {"type": "npq_application", "attributes": {
            "lead_provider": "Ambition Institute", "course_identifier": "npq-headship",
            "cohort": 2023, "full_name": "Ada Lovelace", "email": "ada@example.com"}}})),
    responses(
        (status = 201, description = "The application", content_type = "application/vnd.api+json",
            body = Document<Resource<ApplicationAttributes>>),
        (status = 400, description = "Not a JSON:API body", content_type = "application/vnd.api+json", body = ErrorsBody),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an admin token"),
        (status = 422, description = "An unknown provider, course, cohort or school", content_type = "application/vnd.api+json", body = ErrorsBody),
    ),
)]
async fn apply(
    State(app): State<AppState>,
    admin: Admin,
    JsonApiBody(body): JsonApiBody<NewApplication>,
) -> Result<(StatusCode, Document<Resource<ApplicationAttributes>>), ApiError> {
    let application = body
        .resolve(&app.pool)
        .await
        .map_err(|(title, detail)| ApiError::Unprocessable(vec![ErrorEntry::new(title, detail)]))?;
    let row = crate::flows::npq::apply(&app.ledger, application, &admin.context).await?;
    let resource = Resource {
        id: row.id.to_string(),
        kind: "npq_application",
        attributes: ApplicationAttributes {
            participant_id: row.participant_id.to_string(),
            lead_provider_id: row.lead_provider_id.to_string(),
            status: row.status,
        },
    };
    Ok((StatusCode::CREATED, Document { data: resource }))
}
