//! `/admin/partnerships/{id}/challenge` and `/admin/schools/{urn}/cohorts/{cohort}`: what
//! schools do about partnerships and their cohorts.

use aggregates::PartnershipId;
use axum::Router;
use axum::extract::State;
use axum::routing::put;
use projections::reference;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::http::extract::Path;
use crate::http::json_api::{Document, Resource};
use crate::http::{Admin, ApiError, ErrorEntry, JsonApiBody, Now};
use crate::partnerships;

/// The school-side partnership routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/partnerships/{id}/challenge", put(challenge))
        .route("/admin/schools/{urn}/cohorts/{cohort}", put(set_up_cohort))
}

#[derive(Debug, Deserialize)]
struct Challenge {
    reason: String,
}

#[derive(Debug, Serialize)]
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

#[derive(Debug, Deserialize)]
struct CohortSetUp {
    induction_programme_choice: Option<String>,
}

/// The school sets a cohort up, optionally choosing its induction programme.
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
