//! Listing and revoking API tokens (`/admin/tokens`). Issuing one is in the parent module.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::put;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{self, TokenSummary};
use crate::http::error::ErrorBody;
use crate::http::json_api::{Document, Resource, timestamp};
use crate::http::{Admin, ApiError};

/// The routes beyond issuing.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin/tokens/{id}/revoke", put(revoke_token))
}

/// The listing and revoking routes' description.
#[derive(OpenApi)]
#[openapi(paths(list_tokens, revoke_token))]
pub(super) struct TokensApi;

/// A token as an admin sees it: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct TokenListing {
    role: String,
    lead_provider: Option<String>,
    description: String,
    created_at: String,
    last_used_at: Option<String>,
    expires_at: Option<String>,
    revoked_at: Option<String>,
}

fn resource(token: TokenSummary) -> Resource<TokenListing> {
    Resource {
        id: token.id.to_string(),
        kind: "token",
        attributes: TokenListing {
            role: token.role,
            lead_provider: token.lead_provider,
            description: token.description,
            created_at: timestamp(token.created_at),
            last_used_at: token.last_used_at.map(timestamp),
            expires_at: token.expires_at.map(timestamp),
            revoked_at: token.revoked_at.map(timestamp),
        },
    }
}

/// Lists every token, oldest first.
#[utoipa::path(
    get,
    path = "/admin/tokens",
    tag = "admin",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Every token, oldest first, without its secret", content_type = "application/vnd.api+json",
            body = Document<Vec<Resource<TokenListing>>>),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an admin token"),
    ),
)]
pub(super) async fn list_tokens(
    State(app): State<AppState>,
    _admin: Admin,
) -> Result<Document<Vec<Resource<TokenListing>>>, ApiError> {
    let tokens = auth::list_tokens(&app.pool).await?;
    Ok(Document {
        data: tokens.into_iter().map(resource).collect(),
    })
}

/// Revokes a token at once; revoking it again changes nothing.
#[utoipa::path(
    put,
    path = "/admin/tokens/{id}/revoke",
    tag = "admin",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "The token")),
    responses(
        (status = 200, description = "The token, revoked (already revoked tokens are answered unchanged)",
            content_type = "application/vnd.api+json", body = Document<Resource<TokenListing>>),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an admin token"),
        (status = 404, description = "No such token", content_type = "application/vnd.api+json", body = ErrorBody),
    ),
)]
async fn revoke_token(
    State(app): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Document<Resource<TokenListing>>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let token = crate::tokens::revoke(&app.ledger, Some(&app.auth), id, &admin.context)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Document {
        data: resource(token),
    })
}
