//! `/admin/partnerships/{id}/challenge` and `/admin/schools/{urn}/cohorts/{cohort}`: what
//! schools do about partnerships and their cohorts.

use aggregates::PartnershipId;
use axum::Router;
use axum::extract::State;
use axum::routing::put;
use projections::reference;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::flows::partnerships;
use crate::http::error::{ErrorBody, ErrorsBody};
use crate::http::extract::Path;
use crate::http::json_api::{Document, Resource};
use crate::http::{Admin, ApiError, ErrorEntry, JsonApiBody, Now};

/// The school-side partnership routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/partnerships/{id}/challenge", put(challenge))
        .route("/admin/schools/{urn}/cohorts/{cohort}", put(set_up_cohort))
}

/// The school-side partnership routes' description.
#[derive(OpenApi)]
#[openapi(paths(challenge, set_up_cohort))]
pub(super) struct SchoolsApi;

#[derive(Debug, Deserialize, ToSchema)]
struct Challenge {
    reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
struct Recorded {
    recorded: bool,
}

fn recorded(id: String, kind: &'static str) -> Document<Resource<Recorded>> {
    Document {
        data: Resource {
            id,
            kind,
            attributes: Recorded { recorded: true },
        },
    }
}

/// The school challenges a partnership.
#[utoipa::path(
    put,
    path = "/admin/partnerships/{id}/challenge",
    tag = "admin",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "The partnership")),
    request_body(content = JsonApiBody<Challenge>, content_type = "application/vnd.api+json",
        example = json!({"data": {"type": "partnership", "attributes": {"reason": "mistake"}}})),
    responses(
        (status = 200, description = "Recorded", content_type = "application/vnd.api+json",
            body = Document<Resource<Recorded>>),
        (status = 400, description = "Not a JSON:API body", content_type = "application/vnd.api+json", body = ErrorsBody),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an admin token"),
        (status = 404, description = "No such partnership", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 422, description = "The challenge breaks a rule", content_type = "application/vnd.api+json", body = ErrorsBody),
    ),
)]
async fn challenge(
    State(app): State<AppState>,
    admin: Admin,
    Now(now): Now,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<Challenge>,
) -> Result<Document<Resource<Recorded>>, ApiError> {
    let id = PartnershipId(Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?);
    let (school, cohort) = reference::partnership_key(&app.pool, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    partnerships::challenge(
        &app.ledger,
        (id, school, cohort),
        &body.reason,
        now,
        &admin.context,
    )
    .await?;
    Ok(recorded(id.to_string(), "partnership"))
}

#[derive(Debug, Deserialize, ToSchema)]
struct CohortSetUp {
    induction_programme_choice: Option<String>,
}

/// The school sets a cohort up, optionally choosing its induction programme.
#[utoipa::path(
    put,
    path = "/admin/schools/{urn}/cohorts/{cohort}",
    tag = "admin",
    security(("bearerAuth" = [])),
    params(
        ("urn" = String, Path, description = "The school's URN"),
        ("cohort" = i32, Path, description = "The cohort's start year"),
    ),
    request_body(content = JsonApiBody<CohortSetUp>, content_type = "application/vnd.api+json",
        example = json!({"data": {"type": "school-cohort", "attributes": {"induction_programme_choice": "full_induction_programme"}}})),
    responses(
        (status = 200, description = "Recorded", content_type = "application/vnd.api+json",
            body = Document<Resource<Recorded>>),
        (status = 400, description = "Not a JSON:API body", content_type = "application/vnd.api+json", body = ErrorsBody),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an admin token"),
        (status = 404, description = "No such school", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 422, description = "Not a year, or the choice breaks a rule", content_type = "application/vnd.api+json", body = ErrorsBody),
    ),
)]
async fn set_up_cohort(
    State(app): State<AppState>,
    admin: Admin,
    Path((urn, cohort)): Path<(String, String)>,
    JsonApiBody(body): JsonApiBody<CohortSetUp>,
) -> Result<Document<Resource<Recorded>>, ApiError> {
    let (school, _) = reference::school_by_urn(&app.pool, &urn)
        .await?
        .ok_or(ApiError::NotFound)?;
    let cohort: i32 = cohort.parse().map_err(|_| {
        ApiError::Unprocessable(vec![ErrorEntry::new("cohort", "The cohort must be a year")])
    })?;
    let choice = body.induction_programme_choice.as_deref();
    partnerships::set_up_cohort(&app.ledger, school, cohort, choice, &admin.context).await?;
    Ok(recorded(format!("{urn}:{cohort}"), "school-cohort"))
}
