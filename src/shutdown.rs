//! Graceful shutdown behind a load balancer: on the signal `/readyz` answers 503 for a drain
//! period while requests are still served, then the listener closes and in-flight requests
//! get a bounded time to finish.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::IntoResponse;
use serde_json::json;
use tokio::net::TcpListener;

/// How long shutdown takes at most: `drain` with `/readyz` at 503, then up to `grace` for
/// in-flight requests.
#[derive(Clone, Copy, Debug)]
pub struct ShutdownTimes {
    /// How long `/readyz` answers 503 before the listener closes, so a load balancer stops
    /// sending new requests first.
    pub drain: Duration,
    /// How long in-flight requests may take to finish once the listener has closed.
    pub grace: Duration,
}

/// Whether this instance is on its way out; shared by the server and its readiness check.
#[derive(Clone, Debug, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    /// Marks the instance as leaving: `/readyz` answers 503 from now on.
    pub fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the instance is leaving.
    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// `router` with `/readyz` answering 503 once draining has started.
    pub fn guard(&self, router: Router) -> Router {
        let draining = self.clone();
        router.layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let draining = draining.clone();
                async move {
                    let readiness =
                        request.method() == Method::GET && request.uri().path() == "/readyz";
                    if readiness && draining.is_draining() {
                        let body = json!({ "error": "shutting down" });
                        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
                    }
                    next.run(request).await
                }
            },
        ))
    }
}

/// Serves `router` on `listener` until `signal` resolves, then shuts down gracefully (see the
/// module). Returns whether every in-flight request finished within the grace period.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    signal: impl Future<Output = ()>,
    draining: &Draining,
    times: ShutdownTimes,
) -> std::io::Result<bool> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // The peer's address reaches the handlers, for the per-address rate limit.
    let service = draining
        .guard(router)
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            drop(stopped.await);
        })
        .into_future();
    let mut server = tokio::spawn(server);
    tokio::select! {
        ended = &mut server => return ended.map_err(std::io::Error::other)?.map(|()| true),
        () = signal => {}
    }
    tracing::info!(drain = ?times.drain, "shutting down: readiness now fails");
    draining.start();
    tokio::time::sleep(times.drain).await;
    tracing::info!(grace = ?times.grace, "no longer accepting; finishing requests in flight");
    stop.send(()).ok();
    match tokio::time::timeout(times.grace, &mut server).await {
        Ok(ended) => ended.map_err(std::io::Error::other)?.map(|()| true),
        Err(_) => {
            tracing::warn!("requests still in flight after the grace period; exiting without them");
            // Their connections end with the process.
            server.abort();
            Ok(false)
        }
    }
}
