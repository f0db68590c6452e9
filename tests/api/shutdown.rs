//! Graceful shutdown: readiness fails first, then the listener closes and requests finish.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use cpd_ledger::auth::Authenticator;
use cpd_ledger::clock::Clock;
use cpd_ledger::ledger::Ledger;
use cpd_ledger::shutdown::{self, Draining, ShutdownTimes};
use cpd_ledger::{AppState, app};
use projections::Runner;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The service, plus a request that takes `slow` to answer.
async fn service(pool: &PgPool, slow: Duration) -> Router {
    let runner = Runner::new(pool.clone(), projections::all())
        .await
        .expect("runner");
    tokio::spawn(runner.clone().run());
    let state = AppState {
        pool: pool.clone(),
        ledger: Ledger::new(pool.clone(), runner),
        auth: Arc::new(Authenticator::new(pool.clone(), None)),
        clock: Clock::System,
    };
    app(state).route(
        "/slow",
        get(move || async move {
            tokio::time::sleep(slow).await;
            "done"
        }),
    )
}

/// Starts serving; returns the address, the trigger of the shutdown signal and the server.
async fn start(
    router: Router,
    times: ShutdownTimes,
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    JoinHandle<std::io::Result<bool>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("listener");
    let address = listener.local_addr().expect("address");
    let (signal, signalled) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let signalled = async {
            signalled.await.ok();
        };
        shutdown::serve(listener, router, signalled, &Draining::default(), times).await
    });
    (address, signal, server)
}

/// The status of `GET path` on a fresh connection.
async fn status(address: SocketAddr, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(address).await?;
    let request = format!("GET {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let code = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok());
    code.ok_or_else(|| std::io::Error::other(format!("not HTTP: {response:?}")))
}

#[sqlx::test]
async fn on_the_signal_readiness_fails_first_then_the_listener_closes_and_requests_in_flight_finish(
    pool: PgPool,
) {
    let times = ShutdownTimes {
        drain: Duration::from_millis(1500),
        grace: Duration::from_secs(10),
    };
    let (address, signal, server) =
        start(service(&pool, Duration::from_secs(3)).await, times).await;
    assert_eq!(status(address, "/readyz").await.expect("ready"), 200);
    let in_flight = tokio::spawn(status(address, "/slow"));
    tokio::time::sleep(Duration::from_millis(200)).await;

    signal.send(()).expect("signalled");
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Draining: the load balancer's check fails while requests are still served.
    assert_eq!(status(address, "/readyz").await.expect("answers"), 503);
    assert_eq!(status(address, "/healthz").await.expect("answers"), 200);
    // Then new connections are refused.
    let started = Instant::now();
    while TcpStream::connect(address).await.is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still accepting"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The request in flight all along still gets its answer, and the server ends cleanly.
    assert_eq!(in_flight.await.unwrap().expect("answered"), 200);
    let finished = server.await.unwrap().expect("served");
    assert!(finished, "every request finished within the grace period");
}

#[sqlx::test]
async fn requests_still_running_after_the_grace_period_do_not_hold_the_exit(pool: PgPool) {
    let times = ShutdownTimes {
        drain: Duration::ZERO,
        grace: Duration::from_millis(300),
    };
    let (address, signal, server) =
        start(service(&pool, Duration::from_secs(60)).await, times).await;
    let in_flight = tokio::spawn(status(address, "/slow"));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    signal.send(()).expect("signalled");
    let finished = server.await.unwrap().expect("served");

    // The process exits from here, which ends the connection still open.
    assert!(!finished, "the slow request was still running");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert!(!in_flight.is_finished(), "the slow request had no answer");
    in_flight.abort();
}
