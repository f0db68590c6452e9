//! Liveness and readiness for load balancers and operators.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::AppState;
use crate::http::ApiError;

/// `GET /healthz` and `GET /readyz`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(alive))
        .route("/readyz", get(ready))
}

/// The health routes' description.
#[derive(OpenApi)]
#[openapi(paths(alive, ready))]
pub(super) struct HealthApi;

/// What a health check answers: `{"status": "ok"}`.
#[derive(Debug, Serialize, ToSchema)]
struct Health {
    #[schema(value_type = String, example = "ok")]
    status: &'static str,
}

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "The process is up", body = Health)),
)]
async fn alive() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The database answers and every read model has applied every visible event.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "The database is unreachable or read models are catching up"),
    ),
)]
async fn ready(State(app): State<AppState>) -> Result<Json<Health>, ApiError> {
    let lagging = app.ledger.runner().lagging().await.map_err(|error| {
        tracing::warn!(%error, "readiness check cannot reach the database");
        ApiError::Unavailable("database unreachable".to_owned())
    })?;
    if !lagging.is_empty() {
        return Err(ApiError::Unavailable(format!(
            "read models catching up: {}",
            lagging.join(", ")
        )));
    }
    Ok(Json(Health { status: "ready" }))
}
