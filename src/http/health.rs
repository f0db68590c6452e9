//! Liveness and readiness for load balancers and operators.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use projections::Status;
use serde_json::{Value, json};

use crate::AppState;
use crate::ledger::Readiness;

/// How long `/readyz` waits for the database before it says it is unreachable.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

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

/// 200 when the database answers (within a second) and every read model is running and
/// within the lag bounds; 503 otherwise. The body gives each read model's lag and any halt.
async fn ready(State(app): State<AppState>) -> Response {
    let statuses = match tokio::time::timeout(READY_TIMEOUT, app.ledger.runner().status()).await {
        Ok(Ok(statuses)) => statuses,
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check cannot reach the database");
            return unavailable(
                json!({ "status": "unavailable", "reason": "database unreachable" }),
            );
        }
        Err(_) => {
            tracing::warn!("readiness check timed out waiting for the database");
            return unavailable(
                json!({ "status": "unavailable", "reason": "database unreachable" }),
            );
        }
    };
    let readiness = app.ledger.readiness();
    let ready = statuses.iter().all(|status| within(status, readiness));
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "read_models": statuses.iter().map(describe).collect::<Vec<_>>(),
    });
    match ready {
        true => Json(body).into_response(),
        false => unavailable(body),
    }
}

/// Whether a read model is running and close enough to the log.
fn within(status: &Status, readiness: Readiness) -> bool {
    status.halt.is_none()
        && status.lag_events <= readiness.max_lag_events
        && status.lag_seconds <= readiness.max_lag_seconds
}

fn describe(status: &Status) -> Value {
    json!({
        "name": status.name,
        "lag_events": status.lag_events,
        "lag_seconds": status.lag_seconds,
        "halted": status.halt.as_ref().map(|halt| json!({
            "position": halt.position,
            "event_id": halt.event_id,
            "error": halt.error,
            "since": halt.since,
        })),
    })
}

fn unavailable(body: Value) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        Json(body),
    )
        .into_response()
}
