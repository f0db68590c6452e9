//! The per-address limit on `/api/*`, applied before anything looks at the token, so that a
//! flood of bad tokens neither reaches the database nor spends a provider's quota.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::http::ApiError;

/// Counts a request to `/api/*` against its client address's quota.
pub async fn throttle_by_address(
    State(app): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with("/api/")
        && let Some(ip) = client_address(&request, app.auth.trusts_forwarded_for())
        && let Err(refusal) = app.auth.throttle_ip(ip).await
    {
        return ApiError::from(refusal).into_response();
    }
    next.run(request).await
}

/// The last `X-Forwarded-For` entry when the proxy in front is trusted to append it, else the
/// connection's peer. `None` only when served without peer addresses (in-process tests).
fn client_address(request: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
    let forwarded = trust_forwarded_for
        .then(|| {
            request
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
        })
        .flatten()
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok());
    forwarded.or_else(|| {
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip())
    })
}
