//! The metrics endpoint: request, command, event and refusal counters and read-model lag.

use std::num::NonZeroU32;
use std::time::Duration;

use aggregates::reference::LeadProvider;
use aggregates::{Record, Registered};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use cpd_ledger::auth::{self, Authenticator, RateLimit, Role};
use cpd_ledger::ledger::{Actor, CommandContext, Ledger};
use cpd_ledger::metrics;
use http_body_util::BodyExt;
use projections::Runner;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tower::ServiceExt;

use crate::helpers::TestApp;

/// The sum of every sample of `name` whose labels include all of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter(|(series, _)| {
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            metric == name
                && labels
                    .iter()
                    .all(|(key, value)| rest.contains(&format!("{key}=\"{value}\"")))
        })
        .map(|(_, value)| value.parse::<f64>().expect("a number"))
        .sum()
}

async fn scrape(pool: &PgPool) -> String {
    let response = metrics::router(pool.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).expect("text")
}

#[sqlx::test]
async fn requests_commands_events_and_refusals_move_their_counters(pool: PgPool) {
    let limit = RateLimit {
        requests: NonZeroU32::new(1).unwrap(),
        window: Duration::from_secs(300),
    };
    let app = TestApp::with_rate_limit(pool.clone(), Some(limit)).await;
    let before = scrape(&pool).await;
    let healthz = [("route", "/healthz"), ("method", "GET"), ("status", "200")];
    let refused = [
        ("route", "/api/v3/statements"),
        ("method", "GET"),
        ("status", "429"),
    ];

    let (_, token) = app.provider("Metrics Provider").await;
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
    assert_eq!(
        app.get("/no/such/path", None).await.status,
        StatusCode::NOT_FOUND
    );
    app.get("/api/v3/statements", Some(&token)).await;
    let limited = app.get("/api/v3/statements", Some(&token)).await;
    let after = scrape(&pool).await;

    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let moved = |name: &str, labels: &[(&str, &str)]| {
        sample(&after, name, labels) - sample(&before, name, labels)
    };
    assert!(moved(metrics::HTTP_REQUESTS, &healthz) >= 1.0, "{after}");
    assert!(moved(&format!("{}_count", metrics::HTTP_DURATION), &healthz) >= 1.0);
    assert!(moved(metrics::HTTP_REQUESTS, &refused) >= 1.0);
    assert!(
        moved(
            metrics::HTTP_REQUESTS,
            &[("route", "unmatched"), ("status", "404")]
        ) >= 1.0
    );
    assert!(moved(metrics::RATE_LIMIT_REFUSALS, &[("scope", "token")]) >= 1.0);
    assert!(moved(metrics::COMMANDS, &[("outcome", "committed")]) >= 1.0);
    assert!(moved(metrics::EVENTS_APPENDED, &[]) >= 1.0);
    assert!(sample(&after, metrics::POOL_MAX, &[]) >= 1.0);
    assert!(
        after.contains(&format!("{}{{", metrics::POOL_CONNECTIONS)),
        "{after}"
    );
    // The raw path of a refused request never becomes a label.
    assert!(!after.contains("/no/such/path"));
}

#[sqlx::test]
async fn read_model_and_seal_lag_are_measured_from_the_tables(pool: PgPool) {
    metrics::install();
    let runner = Runner::new(pool.clone(), projections::all())
        .await
        .expect("runner");
    let ledger = Ledger::new(pool.clone(), runner.clone());
    let provider = LeadProvider {
        name: "Lagging Provider".to_owned(),
        ecf: true,
        npq: false,
    };
    // Nothing follows the log here, so the read models stay behind the commit.
    ledger
        .submit::<Registered<LeadProvider>>(
            &provider.aggregate_id(),
            aggregates::RecordCommand::Register(provider),
            &CommandContext::of(Actor::Seed),
        )
        .await
        .expect("commits");

    let behind = metrics::lags(&pool).await.expect("lag");
    let seals = behind
        .iter()
        .find(|lag| lag.seal_chain)
        .expect("the seal chain");
    assert!(seals.events >= 1, "{behind:?}");
    let lead_providers = behind
        .iter()
        .find(|lag| lag.name == "lead_providers")
        .expect("a read model");
    assert!(lead_providers.events >= 1 && lead_providers.seconds >= 0.0);
    // Gauges are per process and tests run in parallel, so only their presence is checked.
    let text = scrape(&pool).await;
    assert!(
        text.contains(&format!("\n{} ", metrics::SEAL_LAG_SECONDS)),
        "{text}"
    );
    let batches = format!("{}_count", metrics::READ_MODEL_BATCH);
    let batches_before = sample(&text, &batches, &[("read_model", "lead_providers")]);

    let started = std::time::Instant::now();
    let caught_up = loop {
        runner.catch_up().await.expect("catches up");
        let lags = metrics::lags(&pool).await.expect("lag");
        if lags.iter().all(|lag| lag.events == 0) || started.elapsed().as_secs() > 60 {
            break lags;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        caught_up
            .iter()
            .all(|lag| lag.events == 0 && lag.seconds == 0.0),
        "{caught_up:?}"
    );
    let text = scrape(&pool).await;
    let lag = format!(
        "{}{{read_model=\"lead_providers\"}}",
        metrics::READ_MODEL_LAG_SECONDS
    );
    assert!(text.contains(&lag), "{text}");
    assert!(sample(&text, &batches, &[("read_model", "lead_providers")]) > batches_before);
}

#[sqlx::test]
async fn callers_waiting_for_a_connection_and_requests_refused_for_want_of_one_are_counted(
    pool: PgPool,
) {
    // An instance whose pool's every connection is taken: one follows the log for the read
    // models, the test holds the other. Its callers wait long enough for a scrape to see
    // them on a server busy with other tests (a scrape reads the database too), and less
    // than `/readyz`'s own bound, so that the pool's timeout is what refuses it.
    let small = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_millis(900))
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    let auth = Authenticator::new(small.clone(), None);
    let app = TestApp::build(small.clone(), auth, Vec::new(), Duration::from_secs(5)).await;
    let provider = Some(aggregates::LeadProviderId::from_name("Waiting Provider"));
    let token = auth::create_token(&pool, Role::LeadProvider, provider, "test")
        .await
        .unwrap()
        .token;
    let mut held = Vec::new();
    while let Ok(connection) = small.acquire().await {
        held.push(connection);
    }
    let before = scrape(&pool).await;

    // The readiness check waits for the connection; the scrape runs on another pool.
    let waiting = async {
        let started = std::time::Instant::now();
        loop {
            let seen = sample(&scrape(&pool).await, metrics::POOL_WAITING, &[]);
            if seen >= 1.0 || started.elapsed() > Duration::from_secs(5) {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let (ready, waiting) = tokio::join!(app.get("/readyz", None), waiting);
    let read = app.get("/api/v3/statements", Some(&token)).await;
    let after = scrape(&pool).await;
    drop(held);

    assert!(waiting >= 1.0, "{before}");
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        ready.text
    );
    assert_eq!(
        read.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        read.text
    );
    let timeouts = sample(&after, metrics::POOL_TIMEOUTS, &[]);
    assert!(
        timeouts - sample(&before, metrics::POOL_TIMEOUTS, &[]) >= 2.0,
        "{after}"
    );
}
