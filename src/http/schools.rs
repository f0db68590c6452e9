//! `GET /api/v3/schools/ecf[/{id}]` and `GET /api/v3/delivery-partners[/{id}]`.

use std::cmp::Ordering;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use projections::Page;
use projections::schools::{self, DeliveryPartnerRow, SchoolFilter, SchoolRow};
use serde::Serialize;
use uuid::Uuid;

use crate::AppState;
use crate::http::extract::Path;
use crate::http::json_api::{Document, Resource, timestamp};
use crate::http::{ApiError, EcfProvider, ListParams};

/// The school and delivery partner routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/schools/ecf", get(list_schools))
        .route("/api/v3/schools/ecf/{id}", get(show_school))
        .route("/api/v3/delivery-partners", get(list_delivery_partners))
        .route("/api/v3/delivery-partners/{id}", get(show_delivery_partner))
}

#[derive(Debug, Serialize)]
struct SchoolAttributes {
    name: String,
    urn: String,
    cohort: String,
    in_partnership: bool,
    induction_programme_choice: String,
    created_at: String,
    updated_at: String,
}

type SchoolResource = Resource<SchoolAttributes>;

fn school(row: SchoolRow, cohort: i32) -> SchoolResource {
    Resource {
        id: row.id.to_string(),
        kind: "school",
        attributes: SchoolAttributes {
            name: row.name,
            urn: row.urn,
            cohort: cohort.to_string(),
            in_partnership: row.in_partnership,
            induction_programme_choice: row.induction_programme_choice,
            created_at: timestamp(row.created_at),
            updated_at: timestamp(row.updated_at),
        },
    }
}

/// The required `filter[cohort]`, a single year; `None` when it names no year.
fn required_cohort(params: &ListParams) -> Result<Option<i32>, ApiError> {
    let cohort = params.filter("cohort").ok_or_else(|| {
        ApiError::bad_parameter("The filter '#/cohort' must be included in your request")
    })?;
    Ok(cohort.parse().ok())
}

/// The schools the caller may partner in a cohort.
async fn list_schools(
    State(app): State<AppState>,
    _provider: EcfProvider,
    params: ListParams,
) -> Result<Document<Vec<SchoolResource>>, ApiError> {
    let Some(cohort) = required_cohort(&params)? else {
        return Ok(Document { data: vec![] });
    };
    let filter = SchoolFilter {
        urn: params.filter("urn").map(str::to_owned),
        updated_since: params.date_filter("updated_since")?,
        id: None,
    };
    let mut rows = schools::schools(&app.pool, cohort, &filter, params.page).await?;
    params.sort_page(&mut rows, |r| (r.created_at, r.updated_at));
    Ok(Document {
        data: rows.into_iter().map(|row| school(row, cohort)).collect(),
    })
}

/// One school, as of a cohort.
async fn show_school(
    State(app): State<AppState>,
    _provider: EcfProvider,
    Path(id): Path<String>,
    params: ListParams,
) -> Result<Document<SchoolResource>, ApiError> {
    let cohort = required_cohort(&params)?.ok_or(ApiError::NotFound)?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let filter = SchoolFilter {
        id: Some(id),
        ..Default::default()
    };
    let row = schools::schools(&app.pool, cohort, &filter, Page { number: 1, size: 1 })
        .await?
        .pop();
    Ok(Document {
        data: school(row.ok_or(ApiError::NotFound)?, cohort),
    })
}

#[derive(Debug, Serialize)]
struct DeliveryPartnerAttributes {
    name: String,
    cohort: Vec<String>,
    created_at: String,
    updated_at: String,
}

type DeliveryPartnerResource = Resource<DeliveryPartnerAttributes>;

impl From<DeliveryPartnerRow> for DeliveryPartnerResource {
    fn from(row: DeliveryPartnerRow) -> Self {
        Resource {
            id: row.id.to_string(),
            kind: "delivery-partner",
            attributes: DeliveryPartnerAttributes {
                name: row.name,
                cohort: row.cohorts.iter().map(ToString::to_string).collect(),
                created_at: timestamp(row.created_at),
                updated_at: timestamp(row.updated_at),
            },
        }
    }
}

/// The delivery partners the caller works with.
async fn list_delivery_partners(
    State(app): State<AppState>,
    EcfProvider(provider): EcfProvider,
    params: ListParams,
) -> Result<Document<Vec<DeliveryPartnerResource>>, ApiError> {
    let cohorts = params.cohorts();
    let mut rows = schools::delivery_partners(
        &app.pool,
        provider.id,
        cohorts.as_deref(),
        None,
        params.page,
    )
    .await?;
    sort_delivery_partners(&params, &mut rows);
    Ok(Document {
        data: rows.into_iter().map(Resource::from).collect(),
    })
}

/// Reorders a page of delivery partners by `sort`: `name`, `created_at` or `updated_at`, `-`
/// for descending, comma-separated; other names are ignored.
fn sort_delivery_partners(params: &ListParams, rows: &mut [DeliveryPartnerRow]) {
    type Order = fn(&DeliveryPartnerRow, &DeliveryPartnerRow) -> Ordering;
    let Some(sort) = params.sort.as_deref() else {
        return;
    };
    for key in sort.split(',').rev().map(str::trim) {
        let (descending, name) = key
            .strip_prefix('-')
            .map_or((false, key), |name| (true, name));
        let order: Order = match name {
            "name" => |a, b| a.name.cmp(&b.name),
            "created_at" => |a, b| a.created_at.cmp(&b.created_at),
            "updated_at" => |a, b| a.updated_at.cmp(&b.updated_at),
            _ => continue,
        };
        rows.sort_by(|a, b| if descending { order(b, a) } else { order(a, b) });
    }
}

/// One delivery partner the caller works with.
async fn show_delivery_partner(
    State(app): State<AppState>,
    EcfProvider(provider): EcfProvider,
    Path(id): Path<String>,
) -> Result<Document<DeliveryPartnerResource>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let page = Page { number: 1, size: 1 };
    let row = schools::delivery_partners(&app.pool, provider.id, None, Some(id), page)
        .await?
        .pop();
    Ok(Document {
        data: row.ok_or(ApiError::NotFound)?.into(),
    })
}
