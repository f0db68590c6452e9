//! `/api/v{1,2,3}/participants/npq/outcomes` and `/participants/npq/{id}/outcomes`: the
//! outcomes of a provider's NPQ declarations, and recording a later one.

use axum::extract::State;
use projections::npq;
use serde::Deserialize;
use uuid::Uuid;

use super::views::{OutcomeResource, outcome};
use crate::AppState;
use crate::flows::npq::OutcomeBody;
use crate::http::extract::{Path, lenient_text};
use crate::http::json_api::Document;
use crate::http::{ApiError, ApiVersion, JsonApiBody, ListParams, Now, Provider};

/// Every outcome of the caller's declarations, oldest first.
pub(super) async fn list_outcomes(
    State(app): State<AppState>,
    provider: Provider,
    version: ApiVersion,
    params: ListParams,
) -> Result<Document<Vec<OutcomeResource>>, ApiError> {
    let created_since = params.date_filter("created_since")?;
    let rows = npq::outcomes(&app.pool, provider.id.0, None, created_since, params.page).await?;
    Ok(Document {
        data: rows.into_iter().map(|row| outcome(row, version)).collect(),
    })
}

/// One person's outcomes of the caller's declarations.
pub(super) async fn participant_outcomes(
    State(app): State<AppState>,
    provider: Provider,
    version: ApiVersion,
    Path(id): Path<String>,
    params: ListParams,
) -> Result<Document<Vec<OutcomeResource>>, ApiError> {
    let id = Uuid::parse_str(id.trim()).map_err(|_| ApiError::NotFound)?;
    let id = npq::resolve(&app.pool, id).await?;
    let rows = npq::outcomes(&app.pool, provider.id.0, Some(id), None, params.page).await?;
    Ok(Document {
        data: rows.into_iter().map(|row| outcome(row, version)).collect(),
    })
}

/// The attributes of an outcome a provider sends.
#[derive(Debug, Deserialize)]
pub(super) struct OutcomeRequestBody {
    #[serde(default, deserialize_with = "lenient_text")]
    course_identifier: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    state: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    completion_date: Option<String>,
}

/// Records a later outcome; an identical resend returns the existing one.
pub(super) async fn record_outcome(
    State(app): State<AppState>,
    provider: Provider,
    version: ApiVersion,
    Now(now): Now,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<OutcomeRequestBody>,
) -> Result<Document<OutcomeResource>, ApiError> {
    let body = OutcomeBody {
        course_identifier: body.course_identifier,
        state: body.state,
        completion_date: body.completion_date,
    };
    let row = crate::flows::npq::record_outcome(
        &app.ledger,
        provider.id,
        &id,
        body,
        now,
        &provider.context,
    )
    .await?;
    Ok(Document {
        data: outcome(row, version),
    })
}
