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

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgPool};

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

/// How PostgreSQL plans the service's prepared statements (`plan_cache_mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanCache {
    /// `generic` where the server runs autovacuum, `custom` where it does not.
    #[default]
    Auto,
    /// PostgreSQL's own choice: a prepared statement settles on one generic plan once that
    /// costs no more than fresh ones, and plans again when ANALYZE renews its tables'
    /// statistics. Without autovacuum a plan made while a table was small (a sequential scan)
    /// would stand in for a key lookup however large the table grows.
    Generic,
    /// Every execution planned for its parameters (`force_custom_plan`): right whatever the
    /// statistics, at the cost of planning every statement (a quarter of the CPU while
    /// declarations stream in; docs/benchmarks.md).
    Custom,
}

impl PlanCache {
    /// The mode to use on the server `options` name: `Auto` asks it whether it runs autovacuum.
    pub async fn on(self, options: &PgConnectOptions) -> Result<Self, sqlx::Error> {
        if self != Self::Auto {
            return Ok(self);
        }
        let mut conn = options.connect().await?;
        let autovacuum: String = sqlx::query_scalar("show autovacuum")
            .fetch_one(&mut conn)
            .await?;
        sqlx::Connection::close(conn).await?;
        Ok(match autovacuum.as_str() {
            "on" => Self::Generic,
            _ => Self::Custom,
        })
    }

    /// Connection options that plan this way.
    pub fn apply(self, options: PgConnectOptions) -> PgConnectOptions {
        match self {
            Self::Auto | Self::Generic => options.options([("plan_cache_mode", "auto")]),
            Self::Custom => options.options([("plan_cache_mode", "force_custom_plan")]),
        }
    }
}

/// Applies the database migrations (event store, tokens, read models).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!("./migrations").run(pool).await
}
