//! `/admin/npq-applications`: what the NPQ registration service sends, so testers can stage
//! applications for providers to accept or reject.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Serialize;

use crate::AppState;
use crate::http::json_api::{Document, Resource};
use crate::http::{Admin, ApiError, ErrorEntry, JsonApiBody};
use crate::npq::NewApplication;

/// The NPQ registration routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin/npq-applications", post(apply))
}

/// What the admin API answers: the application's person.
#[derive(Debug, Serialize)]
struct ApplicationAttributes {
    participant_id: String,
    lead_provider_id: String,
    status: String,
}

/// Records an application (sending the same one again changes nothing).
async fn apply(
    State(app): State<AppState>,
    admin: Admin,
    JsonApiBody(body): JsonApiBody<NewApplication>,
) -> Result<(StatusCode, Document<Resource<ApplicationAttributes>>), ApiError> {
    let application = body
        .resolve(&app.pool)
        .await
        .map_err(|(title, detail)| ApiError::Unprocessable(vec![ErrorEntry::new(title, detail)]))?;
    let row = crate::npq::apply(&app.ledger, application, &admin.context).await?;
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
