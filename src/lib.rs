//! cpd-ledger: the Lead Provider API for early career (ECF) and NPQ training, rebuilt as an
//! event-sourced ledger. This crate holds the HTTP API, authentication, the CLI and the wiring;
//! the domain lives in `aggregates` and the read side in `projections`.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod finance;
pub mod flows;
pub mod http;
pub mod leader;
pub mod ledger;
pub mod lookup;
pub mod metrics;
pub mod private_postgres;
pub mod rate_limit;
pub mod reports;
pub mod sandbox;
pub mod seed;
pub mod shutdown;
pub mod tokens;

use std::sync::Arc;

use sqlx::PgPool;

pub use http::app;

/// Everything a request handler needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database pool, for read-model queries.
    pub pool: PgPool,
    /// Where commands go.
    pub ledger: ledger::Ledger,
    /// Token checks and rate limits.
    pub auth: Arc<auth::Authenticator>,
    /// Where now comes from (the sandbox can move it).
    pub clock: clock::Clock,
}

/// Connection settings every pool of the service uses: statements are planned for their
/// actual parameters each time, so a generic plan made while a table was small (a sequential
/// scan) can never stand in for a key lookup once it has grown.
pub fn stable_plans(options: sqlx::postgres::PgConnectOptions) -> sqlx::postgres::PgConnectOptions {
    options.options([("plan_cache_mode", "force_custom_plan")])
}

/// Applies the database migrations (event store, tokens, read models).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!("./migrations").run(pool).await
}
