//! The HTTP API: one module per resource, each with its own `router()`, merged by [`app`].

mod admin;
mod api_docs;
pub(crate) mod audit;
mod capability;
mod csv_export;
mod declarations;
mod error;
mod extract;
pub(crate) mod finance;
mod finance_web;
mod health;
pub mod json_api;
mod npq;
mod participant_action;
mod participants;
mod partnerships;
mod schools;
mod statements;
mod throttle;
mod transfers;
mod unfunded_mentors;
mod version;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use capability::{EcfProvider, NpqProvider};
pub use error::{ApiError, ApiRejection, ErrorEntry};
pub use extract::{Admin, Auditor, Finance, JsonApiBody, ListParams, Now, Provider};
pub use version::ApiVersion;

use crate::AppState;

/// The largest request body accepted.
const BODY_LIMIT: usize = 256 * 1024;

/// The whole service: API routes, health checks, and the layers every request passes.
pub fn app(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(health::router())
        .merge(statements::router())
        .merge(declarations::router())
        .merge(transfers::router())
        .merge(schools::router())
        .merge(partnerships::router())
        .merge(unfunded_mentors::router())
        .merge(participants::router())
        .merge(npq::router())
        .merge(admin::router())
        .merge(audit::router())
        .merge(finance::router())
        .merge(api_docs::router())
        .merge(finance_web::router())
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            throttle::throttle_by_address,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("a request handler panicked".into()).into_response()
        }))
        .layer(axum::middleware::from_fn(crate::metrics::track_http))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok());
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = id.unwrap_or_default(),
                    )
                })
                .on_response(
                    |response: &Response, latency: Duration, _: &tracing::Span| {
                        tracing::info!(status = response.status().as_u16(), ?latency, "served");
                    },
                ),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}
