//! `GET /api/v3/statements` and `GET /api/v3/statements/{id}`: a provider's statements.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use projections::statements::{self, StatementFilter, StatementRow};
use serde::Serialize;

use crate::AppState;
use crate::http::extract::Path;
use crate::http::json_api::{Document, Resource, date, timestamp};
use crate::http::{ApiError, ListParams, Provider};

/// The statement routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/statements", get(list_statements))
        .route("/api/v3/statements/{id}", get(show_statement))
}

/// A statement's attributes, as in the v3 spec.
#[derive(Debug, Serialize)]
struct StatementAttributes {
    month: String,
    year: String,
    #[serde(rename = "type")]
    programme: String,
    cohort: String,
    cut_off_date: String,
    payment_date: String,
    paid: bool,
    created_at: String,
    updated_at: String,
}

impl From<StatementRow> for Resource<StatementAttributes> {
    fn from(row: StatementRow) -> Self {
        // Names read like "May 2022": the month is the first word, the year the first number.
        let month = row
            .name
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        let year = row
            .name
            .split(|c: char| !c.is_ascii_digit())
            .find(|part| !part.is_empty())
            .unwrap_or_default()
            .to_owned();
        Resource {
            id: row.id.to_string(),
            kind: "statement",
            attributes: StatementAttributes {
                month,
                year,
                programme: row.programme,
                cohort: row.cohort.to_string(),
                cut_off_date: date(row.deadline_date),
                payment_date: date(row.payment_date),
                paid: row.paid,
                created_at: timestamp(row.created_at),
                updated_at: timestamp(row.updated_at),
            },
        }
    }
}

type StatementResource = Resource<StatementAttributes>;

/// The caller's output-fee statements, by payment date.
async fn list_statements(
    State(app): State<AppState>,
    provider: Provider,
    params: ListParams,
) -> Result<Document<Vec<StatementResource>>, ApiError> {
    let filter = StatementFilter {
        cohorts: params.cohorts(),
        programme: params.filter("type").map(str::to_owned),
        updated_since: params.date_filter("updated_since")?,
    };
    let rows = statements::list(&app.pool, provider.id, &filter, params.page).await?;
    Ok(Document {
        data: rows.into_iter().map(Resource::from).collect(),
    })
}

/// One of the caller's statements.
async fn show_statement(
    State(app): State<AppState>,
    provider: Provider,
    Path(id): Path<String>,
) -> Result<Document<StatementResource>, ApiError> {
    let id = id.parse().map_err(|_| ApiError::NotFound)?;
    let row = statements::find(&app.pool, provider.id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Document { data: row.into() })
}
