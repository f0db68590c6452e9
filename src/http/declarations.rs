//! `/api/v3/participant-declarations`: submit, list, show and void declarations.

use aggregates::course::Course;
use aggregates::declaration::DeclarationRequest;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, put};
use projections::declarations::{self, DeclarationFilter, DeclarationRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::http::extract::lenient_text;
use crate::http::json_api::{Document, Resource, timestamp};
use crate::http::{ApiError, JsonApiBody, ListParams, Now, Provider};

/// The declaration routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v3/participant-declarations",
            get(list_declarations).post(submit_declaration),
        )
        .route(
            "/api/v3/participant-declarations/{id}",
            get(show_declaration),
        )
        .route(
            "/api/v3/participant-declarations/{id}/void",
            put(void_declaration),
        )
}

/// The attributes a provider sends.
#[derive(Debug, Deserialize)]
struct DeclarationBody {
    #[serde(default, deserialize_with = "lenient_text")]
    participant_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    declaration_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    declaration_date: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    course_identifier: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    evidence_held: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    has_passed: Option<String>,
}

/// A declaration's attributes, as in the v3 spec.
#[derive(Debug, Serialize)]
struct DeclarationAttributes {
    participant_id: String,
    declaration_type: String,
    declaration_date: String,
    course_identifier: String,
    state: String,
    updated_at: String,
    created_at: String,
    delivery_partner_id: Option<String>,
    statement_id: Option<String>,
    clawback_statement_id: Option<String>,
    ineligible_for_funding_reason: Option<&'static str>,
    mentor_id: Option<String>,
    uplift_paid: bool,
    evidence_held: Option<String>,
    has_passed: Option<bool>,
    lead_provider_name: String,
}

type DeclarationResource = Resource<DeclarationAttributes>;

impl From<DeclarationRow> for DeclarationResource {
    fn from(row: DeclarationRow) -> Self {
        let paid = matches!(
            row.state.as_str(),
            "paid" | "awaiting-clawback" | "clawed-back"
        );
        let uplift = match Course::parse(&row.course_identifier) {
            Some(Course::EcfInduction) => row.pupil_premium_uplift || row.sparsity_uplift,
            Some(course) if course.has_outcomes() => row.targeted_delivery_funding,
            _ => false,
        };
        let uplift_paid = paid && row.declaration_type == "started" && uplift;
        let ineligible = row.state == "ineligible" && row.superseded_by.is_some();
        Resource {
            id: row.id.to_string(),
            kind: "participant-declaration",
            attributes: DeclarationAttributes {
                participant_id: row.participant_id.to_string(),
                declaration_type: row.declaration_type,
                declaration_date: timestamp(row.declaration_date),
                course_identifier: row.course_identifier,
                state: row.state,
                updated_at: timestamp(row.updated_at),
                created_at: timestamp(row.created_at),
                delivery_partner_id: row.delivery_partner_id.map(|id| id.to_string()),
                statement_id: row.statement_id.map(|id| id.to_string()),
                clawback_statement_id: row.clawback_statement_id.map(|id| id.to_string()),
                ineligible_for_funding_reason: ineligible.then_some("duplicate_declaration"),
                mentor_id: row.mentor_id.map(|id| id.to_string()),
                uplift_paid,
                evidence_held: row.evidence_held,
                has_passed: row.has_passed,
                lead_provider_name: row.lead_provider_name,
            },
        }
    }
}

/// Submits a declaration; an exact resend of an accepted one returns it unchanged.
async fn submit_declaration(
    State(app): State<AppState>,
    provider: Provider,
    Now(now): Now,
    JsonApiBody(body): JsonApiBody<DeclarationBody>,
) -> Result<Document<DeclarationResource>, ApiError> {
    let request = DeclarationRequest {
        participant_id: body.participant_id.unwrap_or_default(),
        declaration_type: body.declaration_type,
        declaration_date: body.declaration_date,
        course_identifier: body.course_identifier,
        evidence_held: body.evidence_held,
        has_passed: body.has_passed,
    };
    let row = crate::provider::submit_declaration(
        &app.ledger,
        provider.id,
        request,
        now,
        &provider.context,
    )
    .await?;
    Ok(Document { data: row.into() })
}

/// The declarations the caller may see.
async fn list_declarations(
    State(app): State<AppState>,
    provider: Provider,
    params: ListParams,
) -> Result<Document<Vec<DeclarationResource>>, ApiError> {
    let uuids = |name| {
        params.filter_list(name).map(|ids| {
            ids.iter()
                .filter_map(|id| Uuid::parse_str(id).ok())
                .collect()
        })
    };
    let filter = DeclarationFilter {
        participant_ids: uuids("participant_id"),
        cohorts: params.cohorts(),
        delivery_partner_ids: uuids("delivery_partner_id"),
        updated_since: params.date_filter("updated_since")?,
    };
    let rows = declarations::list(&app.pool, provider.id, &filter, params.page).await?;
    Ok(Document {
        data: rows.into_iter().map(Resource::from).collect(),
    })
}

/// One of the caller's own declarations.
async fn show_declaration(
    State(app): State<AppState>,
    provider: Provider,
    Path(id): Path<String>,
) -> Result<Document<DeclarationResource>, ApiError> {
    Ok(Document {
        data: own_declaration(&app, &provider, &id).await?.into(),
    })
}

/// Voids one of the caller's declarations (a paid one becomes awaiting clawback).
async fn void_declaration(
    State(app): State<AppState>,
    provider: Provider,
    Now(now): Now,
    Path(id): Path<String>,
) -> Result<Document<DeclarationResource>, ApiError> {
    let row = own_declaration(&app, &provider, &id).await?;
    let row =
        crate::provider::void_declaration(&app.ledger, provider.id, &row, now, &provider.context)
            .await?;
    Ok(Document { data: row.into() })
}

async fn own_declaration(
    app: &AppState,
    provider: &Provider,
    id: &str,
) -> Result<DeclarationRow, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::NotFound)?;
    declarations::find_own(&app.pool, provider.id, id)
        .await?
        .ok_or(ApiError::NotFound)
}
