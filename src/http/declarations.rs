//! `/api/v{1,2,3}/participant-declarations`: submit, list, show and void declarations, and the
//! v1 and v2 CSV export.

mod views;

use aggregates::declaration::DeclarationRequest;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, put};
use projections::declarations::{self, DeclarationFilter, DeclarationRow};
use serde::Deserialize;
use uuid::Uuid;

use self::views::{DeclarationResource, resource};
use crate::AppState;
use crate::http::csv_export::{csv_response, with_id};
use crate::http::extract::lenient_text;
use crate::http::extract::{Declarant, Path};
use crate::http::json_api::{Document, Resource};
use crate::http::{ApiError, ApiVersion, JsonApiBody, ListParams, Now, Provider};

/// The declaration routes, the same in every version.
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for version in ApiVersion::ALL {
        router = router
            .route(
                &version.path("/participant-declarations"),
                get(list_declarations).post(submit_declaration),
            )
            .route(
                &version.path("/participant-declarations/{id}"),
                get(show_declaration),
            )
            .route(
                &version.path("/participant-declarations/{id}/void"),
                put(void_declaration),
            );
    }
    for version in [ApiVersion::V1, ApiVersion::V2] {
        router = router.route(
            &version.path("/participant-declarations.csv"),
            get(export_declarations),
        );
    }
    router
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

/// Submits a declaration; an exact resend of an accepted one returns it unchanged.
async fn submit_declaration(
    State(app): State<AppState>,
    Declarant(provider): Declarant,
    version: ApiVersion,
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
    let row = crate::flows::declaring::submit_declaration(
        &app.ledger,
        provider.id,
        request,
        now,
        &provider.context,
    )
    .await?;
    Ok(Document {
        data: resource(row, version),
    })
}

/// The list filters of `version`: v3 takes lists and an inclusive `updated_since`; v1 and v2
/// take one participant and a strict `updated_since`.
fn filter(params: &ListParams, version: ApiVersion) -> Result<DeclarationFilter, ApiError> {
    let uuids = |name| {
        params.filter_list(name).map(|ids| {
            ids.iter()
                .filter_map(|id| Uuid::parse_str(id).ok())
                .collect()
        })
    };
    let updated_since = params.date_filter("updated_since")?;
    Ok(match version {
        ApiVersion::V3 => DeclarationFilter {
            participant_ids: uuids("participant_id"),
            cohorts: params.cohorts(),
            delivery_partner_ids: uuids("delivery_partner_id"),
            updated_since,
            updated_after: None,
        },
        ApiVersion::V1 | ApiVersion::V2 => DeclarationFilter {
            participant_ids: params
                .filter("participant_id")
                .map(|id| Uuid::parse_str(id).into_iter().collect()),
            updated_after: updated_since,
            ..DeclarationFilter::default()
        },
    })
}

/// The declarations the caller may see.
async fn list_declarations(
    State(app): State<AppState>,
    provider: Provider,
    version: ApiVersion,
    params: ListParams,
) -> Result<Document<Vec<DeclarationResource>>, ApiError> {
    let mut filter = filter(&params, version)?;
    // A merged or retired id filters on the person it now names.
    for id in filter.participant_ids.iter_mut().flatten() {
        *id = projections::npq::resolve(&app.pool, *id).await?;
    }
    let rows = declarations::list(&app.pool, provider.id, &filter, params.page).await?;
    Ok(Document {
        data: rows.into_iter().map(|row| resource(row, version)).collect(),
    })
}

/// Every declaration of the list, as CSV: `id` and the version's attributes.
async fn export_declarations(
    State(app): State<AppState>,
    provider: Provider,
    version: ApiVersion,
    params: ListParams,
) -> Result<Response, ApiError> {
    let filter = filter(&params, version)?;
    csv_response(move |mut sink| async move {
        let rows = declarations::stream(&app.pool, provider.id, &filter, None);
        sink.rows(rows, |row| {
            let Resource { id, attributes, .. } = resource(row, version);
            with_id(id, attributes)
        })
        .await?;
        Ok(sink)
    })
    .await
}

/// One of the caller's own declarations.
async fn show_declaration(
    State(app): State<AppState>,
    provider: Provider,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Document<DeclarationResource>, ApiError> {
    let row = own_declaration(&app, &provider, &id).await?;
    Ok(Document {
        data: resource(row, version),
    })
}

/// Voids one of the caller's declarations (a paid one becomes awaiting clawback).
async fn void_declaration(
    State(app): State<AppState>,
    provider: Provider,
    version: ApiVersion,
    Now(now): Now,
    Path(id): Path<String>,
) -> Result<Document<DeclarationResource>, ApiError> {
    let row = own_declaration(&app, &provider, &id).await?;
    let row = crate::flows::declaring::void_declaration(
        &app.ledger,
        provider.id,
        &row,
        now,
        &provider.context,
    )
    .await?;
    Ok(Document {
        data: resource(row, version),
    })
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
