//! Liveness and readiness for load balancers and operators.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::AppState;
use crate::http::ApiError;

/// `GET /healthz` and `GET /readyz`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(alive))
        .route("/readyz", get(ready))
}

/// The process is up.
async fn alive() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers and every read model has applied every visible event.
async fn ready(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!({ "status": "ready" })))
}
