//! `/finance` (finance tokens): statements priced in full, as they stand or as they stood at
//! any instant, as JSON or as a printable page; paying statements; adding statements; and the
//! lines no statement holds yet.

use aggregates::{LeadProviderId, Programme, StatementId, StatementTerms};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use projections::declarations;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::finance::{self, StatementBreakdown};
use crate::http::error::{ErrorBody, ErrorsBody};
use crate::http::extract::{Path, Query};
use crate::http::extract::{bad_date, parse_instant};
use crate::http::json_api::{Document, Resource};
use crate::http::{ApiError, ErrorEntry, Finance, JsonApiBody, Now};
use crate::reports::statement_page;

/// The finance routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/finance/statements", post(add_statement))
        .route("/finance/statements/{id}", get(show_statement))
        .route("/finance/statements/{id}/pay", post(pay_statement))
        .route("/finance/unattached", get(list_unattached))
}

/// The finance routes' description.
#[derive(OpenApi)]
#[openapi(paths(add_statement, show_statement, pay_statement, list_unattached))]
pub(super) struct FinanceApi;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AsOf {
    /// Show the statement as the event log stood at this instant (ISO 8601).
    #[param(example = "2023-05-01T00:00:00Z")]
    as_of: Option<String>,
}

fn statement_id(id: &str) -> Result<StatementId, ApiError> {
    Uuid::parse_str(id)
        .map(StatementId)
        .map_err(|_| ApiError::NotFound)
}

/// A statement's full breakdown; `?as_of=<RFC 3339>` shows it as the log stood then. Browsers
/// (`Accept: text/html`) get a printable page.
#[utoipa::path(
    get,
    path = "/finance/statements/{id}",
    tag = "finance",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "The statement"), AsOf),
    responses(
        (status = 200, description = "The statement priced in full; a printable page for `Accept: text/html`",
            content((StatementBreakdown = "application/json"), (String = "text/html"))),
        (status = 400, description = "`as_of` is not a date-time", content_type = "application/vnd.api+json", body = ErrorsBody),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not a finance token"),
        (status = 404, description = "No such statement", content_type = "application/vnd.api+json", body = ErrorBody),
    ),
)]
async fn show_statement(
    State(app): State<AppState>,
    _finance: Finance,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<AsOf>,
) -> Result<Response, ApiError> {
    let as_of = match query.as_of.as_deref() {
        Some(text) => Some(parse_instant(text).ok_or_else(|| bad_date("as_of"))?),
        None => None,
    };
    let priced = finance::breakdown(&app.pool, statement_id(&id)?, as_of, |_| {})
        .await?
        .ok_or(ApiError::NotFound)?;
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html {
        return Ok(Html(statement_page::html(&priced)).into_response());
    }
    Ok(axum::Json(priced).into_response())
}

/// Marks a closed statement paid.
#[utoipa::path(
    post,
    path = "/finance/statements/{id}/pay",
    tag = "finance",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "The statement")),
    responses(
        (status = 200, description = "The statement, paid", body = StatementBreakdown),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not a finance token"),
        (status = 404, description = "No such statement", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 422, description = "The statement is not payable", content_type = "application/vnd.api+json", body = ErrorsBody),
    ),
)]
async fn pay_statement(
    State(app): State<AppState>,
    finance_user: Finance,
    Now(now): Now,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = statement_id(&id)?;
    finance::pay(&app.ledger, id, now, &finance_user.context).await?;
    let priced = finance::breakdown(&app.pool, id, None, |_| {})
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(axum::Json(priced).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
struct NewStatement {
    lead_provider_id: Uuid,
    #[serde(rename = "type")]
    #[schema(example = "ecf")]
    programme: String,
    cohort: i32,
    name: String,
    deadline_date: NaiveDate,
    payment_date: NaiveDate,
    #[serde(default = "yes")]
    output_fee: bool,
}

fn yes() -> bool {
    true
}

/// Adds a statement; an open output-fee one takes the provider's unattached lines of its cohort.
#[utoipa::path(
    post,
    path = "/finance/statements",
    tag = "finance",
    security(("bearerAuth" = [])),
    request_body(content = JsonApiBody<NewStatement>, content_type = "application/vnd.api+json",
        example = json!({"data": {"type": "statement", "attributes": {
            "lead_provider_id": "6a3e6d8e-2d8e-4b4f-9a8e-3f1d2c4b5a6e", "type": "ecf", "cohort": 2023,
            "name": "January 2024", "deadline_date": "2023-12-31", "payment_date": "2024-01-25"}}})),
    responses(
        (status = 201, description = "The new statement, priced", body = StatementBreakdown),
        (status = 400, description = "Not a JSON:API body", content_type = "application/vnd.api+json", body = ErrorsBody),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not a finance token"),
        (status = 422, description = "The statement breaks a rule", content_type = "application/vnd.api+json", body = ErrorsBody),
    ),
)]
async fn add_statement(
    State(app): State<AppState>,
    finance_user: Finance,
    Now(now): Now,
    JsonApiBody(body): JsonApiBody<NewStatement>,
) -> Result<(StatusCode, Response), ApiError> {
    let programme: Programme = body.programme.parse().map_err(|_| {
        ApiError::Unprocessable(vec![ErrorEntry::new("type", "The type must be ecf or npq")])
    })?;
    let terms = StatementTerms {
        lead_provider_id: LeadProviderId(body.lead_provider_id),
        programme,
        cohort: body.cohort,
        name: body.name,
        deadline_date: body.deadline_date,
        payment_date: body.payment_date,
        output_fee: body.output_fee,
    };
    let id = finance::add_statement(&app.ledger, terms, now, &finance_user.context).await?;
    let priced = finance::breakdown(&app.pool, id, None, |_| {})
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((StatusCode::CREATED, axum::Json(priced).into_response()))
}

/// A line no statement holds.
#[derive(Debug, Serialize, ToSchema)]
struct UnattachedAttributes {
    lead_provider_name: String,
    cohort: i32,
    participant_id: Uuid,
    declaration_type: String,
    state: String,
}

/// Billable and clawback lines that no statement holds, because none was open.
#[utoipa::path(
    get,
    path = "/finance/unattached",
    tag = "finance",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The lines", content_type = "application/vnd.api+json",
            body = Document<Vec<Resource<UnattachedAttributes>>>),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not a finance token"),
    ),
)]
async fn list_unattached(
    State(app): State<AppState>,
    _finance: Finance,
) -> Result<Document<Vec<Resource<UnattachedAttributes>>>, ApiError> {
    let rows = declarations::unattached(&app.pool, None).await?;
    let data = rows
        .into_iter()
        .map(|row| Resource {
            id: row.id.to_string(),
            kind: "unattached-line",
            attributes: UnattachedAttributes {
                lead_provider_name: row.lead_provider_name,
                cohort: row.cohort,
                participant_id: row.participant_id,
                declaration_type: row.declaration_type,
                state: row.state,
            },
        })
        .collect();
    Ok(Document { data })
}
