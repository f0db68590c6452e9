//! Liveness and readiness for load balancers and operators.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use projections::Status;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

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

/// The health routes' description.
#[derive(OpenApi)]
#[openapi(paths(alive, ready))]
pub(super) struct HealthApi;

/// What a liveness check answers: `{"status": "ok"}`.
#[derive(Debug, Serialize, ToSchema)]
struct Health {
    #[schema(value_type = String, example = "ok")]
    status: &'static str,
}

/// What a readiness check answers.
#[derive(Debug, Serialize, ToSchema)]
struct ReadyBody {
    /// `ready`, `not ready` or `unavailable`.
    #[schema(value_type = String, example = "ready")]
    status: &'static str,
    /// Why the database could not be asked, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    reason: Option<&'static str>,
    /// Each read model's lag and halt.
    #[serde(skip_serializing_if = "Option::is_none")]
    read_models: Option<Vec<ReadModelBody>>,
}

/// One read model's state.
#[derive(Debug, Serialize, ToSchema)]
struct ReadModelBody {
    /// The read model, as `replay --projection` names it.
    #[schema(value_type = String)]
    name: &'static str,
    /// Committed events it has still to apply.
    lag_events: i64,
    /// How long the oldest of them has waited.
    lag_seconds: f64,
    /// Where and why it stopped, if it did.
    halted: Option<HaltBody>,
    /// Whether a rebuild of it is under way: it shows its rows as they stood when the rebuild
    /// began until the rebuild commits, and its lag does not make the service unready.
    rebuilding: bool,
}

/// A read model stopped at an event it cannot apply.
#[derive(Debug, Serialize, ToSchema)]
struct HaltBody {
    /// The event's identity position.
    position: i64,
    /// The event's id.
    event_id: Uuid,
    /// What went wrong.
    error: String,
    /// When it was last tried.
    since: DateTime<Utc>,
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

/// 200 when the database answers (within a second) and every read model is running and
/// within the lag bounds (or being rebuilt); 503 otherwise. The body gives each read model's
/// lag and any halt.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = ReadyBody),
        (status = 503, description = "The database is unreachable, or a read model has halted or is beyond the lag bounds", body = ReadyBody),
    ),
)]
async fn ready(State(app): State<AppState>) -> Response {
    let statuses = match tokio::time::timeout(READY_TIMEOUT, app.ledger.runner().status()).await {
        Ok(Ok(statuses)) => statuses,
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check cannot reach the database");
            crate::metrics::request_failed_on(&error);
            return unreachable();
        }
        Err(_) => {
            tracing::warn!("readiness check timed out waiting for the database");
            return unreachable();
        }
    };
    let readiness = app.ledger.readiness();
    let ready = statuses.iter().all(|status| within(status, readiness));
    let body = ReadyBody {
        status: if ready { "ready" } else { "not ready" },
        reason: None,
        read_models: Some(statuses.into_iter().map(describe).collect()),
    };
    match ready {
        true => Json(body).into_response(),
        false => unavailable(body),
    }
}

/// Whether a read model is running and close enough to the log. One being rebuilt lags by
/// design until its rebuild commits, on every instance alike: taking instances out of service
/// for it would help nobody.
fn within(status: &Status, readiness: Readiness) -> bool {
    status.halt.is_none()
        && (status.rebuilding
            || status.lag_events <= readiness.max_lag_events
                && status.lag_seconds <= readiness.max_lag_seconds)
}

fn describe(status: Status) -> ReadModelBody {
    ReadModelBody {
        name: status.name,
        lag_events: status.lag_events,
        lag_seconds: status.lag_seconds,
        halted: status.halt.map(|halt| HaltBody {
            position: halt.position,
            event_id: halt.event_id,
            error: halt.error,
            since: halt.since,
        }),
        rebuilding: status.rebuilding,
    }
}

fn unreachable() -> Response {
    unavailable(ReadyBody {
        status: "unavailable",
        reason: Some("database unreachable"),
        read_models: None,
    })
}

fn unavailable(body: ReadyBody) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        Json(body),
    )
        .into_response()
}
