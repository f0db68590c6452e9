//! Prometheus metrics. Counters and histograms are recorded where things happen (requests,
//! commands, events, schedulers, rate-limit refusals, read-model batches); read-model lag,
//! seal lag and the connection pool are measured when `GET /metrics` is scraped.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cqrs_es::Aggregate;
use metrics::{describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;

/// HTTP requests by route template, method and status.
pub const HTTP_REQUESTS: &str = "cpd_ledger_http_requests_total";
/// HTTP latency by route template, method and status.
pub const HTTP_DURATION: &str = "cpd_ledger_http_request_duration_seconds";
/// Commands by aggregate type and outcome.
pub const COMMANDS: &str = "cpd_ledger_commands_total";
/// Committed events by aggregate type.
pub const EVENTS_APPENDED: &str = "cpd_ledger_events_appended_total";
/// Committed events a read model has not applied yet.
pub const READ_MODEL_LAG_EVENTS: &str = "cpd_ledger_read_model_lag_events";
/// How long the oldest event a read model has not applied has waited.
pub const READ_MODEL_LAG_SECONDS: &str = "cpd_ledger_read_model_lag_seconds";
/// How long a read model's batch took (recorded by the projection runner).
pub const READ_MODEL_BATCH: &str = projections::runner::BATCH_DURATION_METRIC;
/// Committed events not yet sealed into the hash chain.
pub const SEAL_LAG_EVENTS: &str = "cpd_ledger_seal_lag_events";
/// How long the oldest unsealed event has waited.
pub const SEAL_LAG_SECONDS: &str = "cpd_ledger_seal_lag_seconds";
/// This instance's pool connections, by state (`idle`, `in_use`).
pub const POOL_CONNECTIONS: &str = "cpd_ledger_db_pool_connections";
/// The most connections this instance's pool opens.
pub const POOL_MAX: &str = "cpd_ledger_db_pool_max_connections";
/// Callers waiting for a pool connection where the service takes one explicitly.
pub const POOL_WAITING: &str = projections::pool::WAITING_METRIC;
/// Requests answered 503 because no pool connection came within the database timeout.
pub const POOL_TIMEOUTS: &str = "cpd_ledger_db_pool_timeouts_total";
/// Requests refused by the rate limit, by scope (`token`, `ip`).
pub const RATE_LIMIT_REFUSALS: &str = "cpd_ledger_rate_limit_refusals_total";
/// Scheduler runs by job and outcome.
pub const SCHEDULER_RUNS: &str = "cpd_ledger_scheduler_runs_total";
/// 1 while this instance holds the schedulers' leadership.
pub const LEADER: &str = "cpd_ledger_scheduler_leader";

/// Latency buckets in seconds: from a cached read to the longest bounded wait.
const BUCKETS: &[f64] = &[
    0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// How long a scrape waits for the lag queries before answering without them.
const LAG_TIMEOUT: Duration = Duration::from_secs(2);

static HANDLE: LazyLock<PrometheusHandle> = LazyLock::new(|| {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), BUCKETS)
        .expect("the bucket list is not empty")
        .build_recorder();
    let handle = recorder.handle();
    if let Err(error) = metrics::set_global_recorder(recorder) {
        tracing::warn!(%error, "another metrics recorder is installed; /metrics stays empty");
    }
    describe();
    handle
});

/// Installs the process-wide recorder (once) and returns the handle that renders it.
pub fn install() -> PrometheusHandle {
    HANDLE.clone()
}

fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by route template, method and status"
    );
    describe_histogram!(HTTP_DURATION, "HTTP request latency in seconds");
    describe_counter!(COMMANDS, "Commands by aggregate type and outcome");
    describe_counter!(EVENTS_APPENDED, "Committed events by aggregate type");
    describe_gauge!(
        READ_MODEL_LAG_EVENTS,
        "Committed events a read model has not applied"
    );
    describe_gauge!(
        READ_MODEL_LAG_SECONDS,
        "Age in seconds of the oldest event a read model has not applied"
    );
    describe_histogram!(
        READ_MODEL_BATCH,
        "Duration of a read model's batch in seconds"
    );
    describe_gauge!(SEAL_LAG_EVENTS, "Committed events not yet sealed");
    describe_gauge!(
        SEAL_LAG_SECONDS,
        "Age in seconds of the oldest unsealed event"
    );
    describe_gauge!(POOL_CONNECTIONS, "Database pool connections by state");
    describe_gauge!(POOL_MAX, "The most connections the database pool opens");
    describe_gauge!(
        POOL_WAITING,
        "Callers waiting for a database connection where the service takes one explicitly"
    );
    describe_counter!(
        POOL_TIMEOUTS,
        "Requests answered 503 because no database connection came in time"
    );
    describe_counter!(
        RATE_LIMIT_REFUSALS,
        "Requests refused by the rate limit, by scope"
    );
    describe_counter!(SCHEDULER_RUNS, "Scheduler runs by job and outcome");
    describe_gauge!(LEADER, "1 while this instance runs the schedulers");
}

/// Counts one request refused by the rate limit; `scope` is what the quota belongs to
/// (`token` or `ip`). Every rate-limit store calls this when it refuses.
pub fn rate_limit_refused(scope: &'static str) {
    metrics::counter!(RATE_LIMIT_REFUSALS, "scope" => scope).increment(1);
}

/// Counts a request refused because `error` is the pool giving up on a connection.
pub fn request_failed_on(error: &sqlx::Error) {
    if matches!(error, sqlx::Error::PoolTimedOut) {
        metrics::counter!(POOL_TIMEOUTS).increment(1);
    }
}

/// Counts one run of a scheduled job.
pub fn scheduler_ran(job: &'static str, succeeded: bool) {
    let outcome = if succeeded { "ok" } else { "failed" };
    metrics::counter!(SCHEDULER_RUNS, "job" => job, "outcome" => outcome).increment(1);
}

/// Shows whether this instance leads the schedulers.
pub fn set_leader(leading: bool) {
    metrics::gauge!(LEADER).set(if leading { 1.0 } else { 0.0 });
}

/// Counts a command's final outcome (`committed`, `rejected`, `conflict` or `failed`) and the
/// events it committed.
pub fn command_finished<A: Aggregate>(
    result: Result<&crate::ledger::Written, &crate::ledger::LedgerError<A::Error>>,
) {
    use crate::ledger::LedgerError;
    let outcome = match result {
        Ok(_) => "committed",
        Err(LedgerError::Rejected(_)) => "rejected",
        Err(LedgerError::Conflict) => "conflict",
        Err(LedgerError::Store(_)) => "failed",
    };
    metrics::counter!(COMMANDS, "aggregate_type" => A::TYPE, "outcome" => outcome).increment(1);
    if let Ok(written) = result {
        metrics::counter!(EVENTS_APPENDED, "aggregate_type" => A::TYPE).increment(written.events());
    }
}

/// Records every request's route template (never the raw path), method, status and latency.
pub async fn track_http(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_str().to_owned();
    let elapsed = started.elapsed().as_secs_f64();
    metrics::histogram!(HTTP_DURATION, "route" => route.clone(), "method" => method.clone(),
        "status" => status.clone())
    .record(elapsed);
    metrics::counter!(HTTP_REQUESTS, "route" => route, "method" => method, "status" => status)
        .increment(1);
    response
}

/// `GET /metrics`, unauthenticated: mount it on the API or serve it on its own address.
pub fn router(pool: PgPool) -> Router {
    install();
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(pool)
}

async fn scrape(State(pool): State<PgPool>) -> Response {
    observe_pool(&pool);
    match tokio::time::timeout(LAG_TIMEOUT, lags(&pool)).await {
        Ok(Ok(lags)) => observe_lags(&lags),
        Ok(Err(error)) => tracing::warn!(%error, "metrics cannot read read-model lag"),
        Err(_) => tracing::warn!("metrics gave up reading read-model lag"),
    }
    let handle = install();
    handle.run_upkeep();
    let content_type = [(header::CONTENT_TYPE, "text/plain; version=0.0.4")];
    (StatusCode::OK, content_type, handle.render()).into_response()
}

fn observe_pool(pool: &PgPool) {
    let open = pool.size();
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(open);
    metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(idle);
    metrics::gauge!(POOL_CONNECTIONS, "state" => "in_use").set(open - idle);
    metrics::gauge!(POOL_MAX).set(pool.options().get_max_connections());
}

fn observe_lags(lags: &[Lag]) {
    for lag in lags {
        if lag.seal_chain {
            metrics::gauge!(SEAL_LAG_EVENTS).set(lag.events as f64);
            metrics::gauge!(SEAL_LAG_SECONDS).set(lag.seconds);
        } else {
            let name = lag.name.clone();
            metrics::gauge!(READ_MODEL_LAG_EVENTS, "read_model" => name.clone())
                .set(lag.events as f64);
            metrics::gauge!(READ_MODEL_LAG_SECONDS, "read_model" => name).set(lag.seconds);
        }
    }
}

/// How far one reader of the log (a read model, or the seal chain) is behind it.
#[derive(Debug)]
pub struct Lag {
    /// The read model's name (`audit_seals` for the seals).
    pub name: String,
    /// Whether this is the seal chain rather than a read model.
    pub seal_chain: bool,
    /// Committed events it has still to apply (counted up to a million).
    pub events: i64,
    /// Seconds since the oldest of those was recorded; 0 when there are none.
    pub seconds: f64,
}

/// Every read model's and the seal chain's lag, from their checkpoints in the database, as
/// `/readyz` reports them: whichever instance runs them.
pub async fn lags(pool: &PgPool) -> Result<Vec<Lag>, sqlx::Error> {
    let statuses = projections::runner::status(pool, &projections::all()).await?;
    Ok(statuses
        .into_iter()
        .map(|status| Lag {
            name: status.name.to_owned(),
            seal_chain: status.name == projections::seals::NAME,
            events: status.lag_events,
            seconds: status.lag_seconds,
        })
        .collect())
}
