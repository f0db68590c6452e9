//! The admin API (`/admin`, admin tokens): issuing API tokens, the school- and DfE-side
//! commands on participants, and NPQ applications from the registration side.

mod npq;
mod participants;
mod schools;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::{self, Role};
use crate::http::json_api::{Document, Resource};
use crate::http::{Admin, ApiError, ErrorEntry, JsonApiBody};

/// The admin routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/tokens", post(create_token))
        .merge(npq::router())
        .merge(participants::router())
        .merge(schools::router())
}

/// What an admin asks for: a role and, for provider tokens, the provider's name.
#[derive(Debug, Deserialize)]
struct TokenRequest {
    role: String,
    lead_provider: Option<String>,
    description: Option<String>,
}

/// The issued token, shown this once.
#[derive(Debug, Serialize)]
struct TokenAttributes {
    role: String,
    lead_provider: Option<String>,
    token: String,
}

/// Issues a token.
async fn create_token(
    State(app): State<AppState>,
    _admin: Admin,
    JsonApiBody(request): JsonApiBody<TokenRequest>,
) -> Result<(StatusCode, Document<Resource<TokenAttributes>>), ApiError> {
    let invalid =
        |title: &str, detail: &str| ApiError::Unprocessable(vec![ErrorEntry::new(title, detail)]);
    let role = auth::parse_role(&request.role).ok_or_else(|| {
        invalid(
            "role",
            "The role must be lead_provider, finance, auditor or admin",
        )
    })?;
    let provider = match (role, request.lead_provider.as_deref()) {
        (Role::LeadProvider, Some(name)) => Some(
            projections::lead_providers::find_by_name(&app.pool, name)
                .await?
                .ok_or_else(|| invalid("lead_provider", "The lead provider is not recognised"))?,
        ),
        (Role::LeadProvider, None) => {
            return Err(invalid("lead_provider", "Enter a lead provider"));
        }
        (_, Some(_)) => {
            return Err(invalid(
                "lead_provider",
                "Only lead provider tokens name a lead provider",
            ));
        }
        (_, None) => None,
    };
    let description = request
        .description
        .unwrap_or_else(|| "issued through the admin API".to_owned());
    aggregates::bounds::text("description", &description)
        .map_err(|e| invalid(e.attribute(), &e.to_string()))?;
    let id = provider.as_ref().map(|p| aggregates::LeadProviderId(p.id));
    let issued = auth::create_token(&app.pool, role, id, &description).await?;
    let attributes = TokenAttributes {
        role: request.role,
        lead_provider: provider.map(|p| p.name),
        token: issued.token,
    };
    let resource = Resource {
        id: issued.id.to_string(),
        kind: "token",
        attributes,
    };
    Ok((StatusCode::CREATED, Document { data: resource }))
}
