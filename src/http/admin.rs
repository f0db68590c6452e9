//! The admin API (`/admin`, admin tokens): issuing, listing and revoking API tokens, the
//! school- and DfE-side commands on participants, and NPQ applications from the registration
//! side.

mod npq;
mod participants;
mod retire;
mod schools;
mod tokens;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::AppState;
use crate::auth::{self, Role};
use crate::http::error::{ErrorBody, ErrorsBody};
use crate::http::json_api::{Document, Resource};
use crate::http::{Admin, ApiError, ErrorEntry, JsonApiBody};

/// The admin routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/tokens", post(create_token).get(tokens::list_tokens))
        .merge(tokens::router())
        .merge(npq::router())
        .merge(participants::router())
        .merge(retire::router())
        .merge(schools::router())
}

/// The admin routes' description.
pub(super) fn openapi() -> utoipa::openapi::OpenApi {
    let mut api = AdminApi::openapi();
    api.merge(tokens::TokensApi::openapi());
    api.merge(npq::NpqApi::openapi());
    api.merge(participants::ParticipantsApi::openapi());
    api.merge(retire::RetireApi::openapi());
    api.merge(schools::SchoolsApi::openapi());
    api
}

#[derive(OpenApi)]
#[openapi(paths(create_token))]
struct AdminApi;

/// What an admin asks for: a role and, for provider tokens, the provider's name.
#[derive(Debug, Deserialize, ToSchema)]
struct TokenRequest {
    role: String,
    lead_provider: Option<String>,
    description: Option<String>,
    /// A period such as `90d`; the token never expires without one.
    expires_in: Option<String>,
}

/// The issued token, shown this once.
#[derive(Debug, Serialize, ToSchema)]
struct TokenAttributes {
    role: String,
    lead_provider: Option<String>,
    expires_at: Option<String>,
    token: String,
}

/// Issues a token.
#[utoipa::path(
    post,
    path = "/admin/tokens",
    tag = "admin",
    security(("bearerAuth" = [])),
    request_body(content = JsonApiBody<TokenRequest>, content_type = "application/vnd.api+json",
        example = json!({"data": {"type": "token", "attributes": {"role": "lead_provider", "lead_provider": "Ambition Institute"}}})),
    responses(
        (status = 201, description = "The token, shown this once", content_type = "application/vnd.api+json",
            body = Document<Resource<TokenAttributes>>),
        (status = 400, description = "Not a JSON:API body", content_type = "application/vnd.api+json", body = ErrorsBody),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an admin token"),
        (status = 422, description = "An unknown role or lead provider", content_type = "application/vnd.api+json", body = ErrorsBody),
    ),
)]
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
    let expires_at = match request
        .expires_in
        .as_deref()
        .map(crate::tokens::parse_period)
    {
        Some(Ok(period)) => Some(chrono::Utc::now() + period),
        Some(Err(message)) => return Err(invalid("expires_in", &message)),
        None => None,
    };
    let description = request
        .description
        .unwrap_or_else(|| "issued through the admin API".to_owned());
    aggregates::bounds::text("description", &description)
        .map_err(|e| invalid(e.attribute(), &e.to_string()))?;
    let id = provider.as_ref().map(|p| aggregates::LeadProviderId(p.id));
    let issued = auth::create_token_until(&app.pool, role, id, &description, expires_at).await?;
    let attributes = TokenAttributes {
        role: request.role,
        lead_provider: provider.map(|p| p.name),
        expires_at: expires_at.map(crate::http::json_api::timestamp),
        token: issued.token,
    };
    let resource = Resource {
        id: issued.id.to_string(),
        kind: "token",
        attributes,
    };
    Ok((StatusCode::CREATED, Document { data: resource }))
}
