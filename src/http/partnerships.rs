//! `/api/v3/partnerships/ecf`: a provider's partnerships with schools, confirmed and updated.

use aggregates::{PartnershipId, SchoolId};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Utc};
use projections::Page;
use projections::schools::{self, PartnershipFilter, PartnershipRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::flows::partnerships::{self, Confirmation, Written};
use crate::http::extract::Path;
use crate::http::extract::lenient_text;
use crate::http::json_api::{Document, Resource, timestamp};
use crate::http::{ApiError, EcfProvider, JsonApiBody, ListParams, Now, Provider};
use crate::ledger::Visibility;

/// The partnership routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v3/partnerships/ecf",
            get(list_partnerships).post(confirm_partnership),
        )
        .route(
            "/api/v3/partnerships/ecf/{id}",
            get(show_partnership).put(update_partnership),
        )
}

#[derive(Debug, Deserialize)]
struct PartnershipBody {
    #[serde(default, deserialize_with = "lenient_text")]
    cohort: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    school_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    delivery_partner_id: Option<String>,
}

#[derive(Debug, Serialize)]
struct PartnershipAttributes {
    cohort: String,
    urn: String,
    school_id: String,
    delivery_partner_id: String,
    delivery_partner_name: String,
    status: &'static str,
    challenged_reason: Option<String>,
    challenged_at: Option<String>,
    induction_tutor_name: Option<String>,
    induction_tutor_email: Option<String>,
    updated_at: String,
    created_at: String,
}

type PartnershipResource = Resource<PartnershipAttributes>;

impl From<PartnershipRow> for PartnershipResource {
    fn from(row: PartnershipRow) -> Self {
        Resource {
            id: row.id.to_string(),
            kind: "partnership",
            attributes: PartnershipAttributes {
                cohort: row.cohort.to_string(),
                urn: row.urn,
                school_id: row.school_id.to_string(),
                delivery_partner_id: row.delivery_partner_id.to_string(),
                delivery_partner_name: row.delivery_partner_name,
                status: if row.challenged_reason.is_some() {
                    "challenged"
                } else {
                    "active"
                },
                challenged_reason: row.challenged_reason,
                // The real service writes this one time with milliseconds.
                challenged_at: row
                    .challenged_at
                    .map(|at| at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
                induction_tutor_name: row.induction_tutor_name,
                induction_tutor_email: row.induction_tutor_email,
                updated_at: timestamp(row.updated_at),
                created_at: timestamp(row.created_at),
            },
        }
    }
}

/// The caller's partnerships.
async fn list_partnerships(
    State(app): State<AppState>,
    EcfProvider(provider): EcfProvider,
    params: ListParams,
) -> Result<Document<Vec<PartnershipResource>>, ApiError> {
    let filter = PartnershipFilter {
        cohorts: params.cohorts(),
        delivery_partner_ids: params.filter_list("delivery_partner_id").map(|ids| {
            ids.iter()
                .filter_map(|id| Uuid::parse_str(id).ok())
                .collect()
        }),
        updated_since: params.date_filter("updated_since")?,
        id: None,
    };
    let mut rows = schools::partnerships(&app.pool, provider.id, &filter, params.page).await?;
    params.sort_page(&mut rows, |r| (r.created_at, r.updated_at));
    Ok(Document {
        data: rows.into_iter().map(Resource::from).collect(),
    })
}

/// One of the caller's partnerships.
async fn show_partnership(
    State(app): State<AppState>,
    EcfProvider(provider): EcfProvider,
    Path(id): Path<String>,
) -> Result<Document<PartnershipResource>, ApiError> {
    Ok(Document {
        data: own(&app, &provider, &id).await?.into(),
    })
}

/// Confirms a partnership with a school for a cohort.
async fn confirm_partnership(
    State(app): State<AppState>,
    EcfProvider(provider): EcfProvider,
    Now(now): Now,
    JsonApiBody(body): JsonApiBody<PartnershipBody>,
) -> Result<Document<PartnershipResource>, ApiError> {
    let confirmation = Confirmation {
        cohort: body.cohort,
        school_id: body.school_id,
        delivery_partner_id: body.delivery_partner_id,
    };
    let written = partnerships::confirm(
        &app.ledger,
        provider.id,
        &confirmation,
        now,
        &provider.context,
    )
    .await?;
    answer(&app, &provider, written, None, now).await
}

/// Moves one of the caller's partnerships to another delivery partner.
async fn update_partnership(
    State(app): State<AppState>,
    EcfProvider(provider): EcfProvider,
    Now(now): Now,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<PartnershipBody>,
) -> Result<Document<PartnershipResource>, ApiError> {
    let row = own(&app, &provider, &id).await?;
    let key = (PartnershipId(row.id), SchoolId(row.school_id), row.cohort);
    let visibility = partnerships::change_delivery_partner(
        &app.ledger,
        provider.id,
        key,
        &body.delivery_partner_id,
        &provider.context,
    )
    .await?;
    let written = Written { key, visibility };
    answer(&app, &provider, written, Some(row.created_at), now).await
}

/// The partnership after a write: from the read model, or from the write's own commit when the
/// read model does not show it yet (`created_at`: when it was first confirmed, if known).
async fn answer(
    app: &AppState,
    provider: &Provider,
    written: Written,
    created_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Document<PartnershipResource>, ApiError> {
    let read = own(app, provider, &written.key.0.to_string()).await;
    let row = match (written.visibility, read) {
        (Visibility::Shown, Ok(row)) => row,
        (_, read) => {
            let created_at = read.as_ref().ok().map(|row| row.created_at).or(created_at);
            partnerships::committed(&app.ledger, written.key, created_at, now)
                .await?
                .ok_or(ApiError::NotFound)?
        }
    };
    Ok(Document { data: row.into() })
}

async fn own(app: &AppState, provider: &Provider, id: &str) -> Result<PartnershipRow, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::NotFound)?;
    let filter = PartnershipFilter {
        id: Some(id),
        ..Default::default()
    };
    let row = schools::partnerships(&app.pool, provider.id, &filter, Page { number: 1, size: 1 })
        .await?
        .pop();
    row.ok_or(ApiError::NotFound)
}
