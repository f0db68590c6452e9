//! The `cpd-ledger` binary: serve the API, migrate, seed, replay read models, issue tokens.

use std::future::IntoFuture;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use cpd_ledger::auth::{self, Authenticator, RateLimit, Role};
use cpd_ledger::clock::Clock;
use cpd_ledger::config::{
    Cli, Command, DatabaseConfig, LogFormat, ProjectionsCommand, RateLimitStore, ServeConfig,
    TokenCommand,
};
use cpd_ledger::leader::{self, Leadership};
use cpd_ledger::ledger::{Ledger, Readiness};
use cpd_ledger::private_postgres::PrivatePostgres;
use cpd_ledger::seed::{self, SeedSet};
use cpd_ledger::shutdown::{self, Draining, ShutdownTimes};
use cpd_ledger::{AppState, app, cli, finance, sandbox};
use projections::{Runner, lead_providers};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Commands that print a result keep quiet unless something is wrong.
    let quiet = matches!(cli.command, Some(Command::Token(_) | Command::Migrate));
    init_tracing(cli.log_format, if quiet { "warn" } else { "info" });
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},sqlx=warn,tower_http=warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let database = Database::open(&cli.database).await?;
    let result = match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(config) => serve(&database, config).await,
        Command::Migrate => Ok(()),
        Command::Seed { set, participants } => {
            if set == SeedSet::Sandbox {
                sandbox::record(&database.pool, seed::sandbox_now()).await?;
            }
            let (ledger, following) = ledger(&database.pool).await?;
            let loaded = seed::load_sized(&ledger, set, participants)
                .await
                .context("seeding failed");
            following.abort();
            loaded
        }
        Command::Projections(ProjectionsCommand::Status) => {
            let runner = Runner::new(database.pool.clone(), projections::all()).await?;
            cli::projections_status(&runner).await
        }
        Command::Replay { projection, jobs } => cli::replay(&database.pool, projection, jobs).await,
        Command::Token(TokenCommand::Create {
            lead_provider,
            role,
            expires_in,
        }) => cli::create_token(&database.pool, lead_provider, role, expires_in).await,
        Command::Token(TokenCommand::List) => cli::list_tokens(&database.pool).await,
        Command::Token(TokenCommand::Revoke { id }) => {
            let (ledger, following) = ledger_for_request(&database.pool).await?;
            let done = cli::revoke_token(&ledger, id).await;
            following.abort();
            done
        }
        Command::Participant(command) => {
            let (ledger, following) = ledger_for_request(&database.pool).await?;
            let done = cli::participant(&ledger, command).await;
            following.abort();
            done
        }
        Command::Audit(command) => {
            let (ledger, following) = ledger_for_request(&database.pool).await?;
            let done = cli::audit(ledger.pool(), command).await;
            following.abort();
            done
        }
        Command::Statements(command) => {
            let (ledger, following) = ledger_for_request(&database.pool).await?;
            let done = cli::statements(&ledger, command).await;
            following.abort();
            done
        }
        Command::School(command) => {
            let (ledger, following) = ledger_for_request(&database.pool).await?;
            let done = cli::school(&ledger, command).await;
            following.abort();
            done
        }
        Command::Npq(command) => {
            let (ledger, following) = ledger_for_request(&database.pool).await?;
            let done = cli::npq(&ledger, command).await;
            following.abort();
            done
        }
        Command::Sandbox(command) => sandbox::command(&database.pool, command)
            .await
            .map_err(anyhow::Error::from),
    };
    database.close().await?;
    result
}

/// The database in use, and the private server if this process runs one.
struct Database {
    pool: PgPool,
    private: Option<PrivatePostgres>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or to the private server (starting it), and migrates.
    async fn open(config: &DatabaseConfig) -> anyhow::Result<Self> {
        let (url, private) = match &config.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let private = PrivatePostgres::start(&config.data_dir).await?;
                (private.database_url(), Some(private))
            }
        };
        let options: PgConnectOptions = url.parse().context("DATABASE_URL is not a valid URL")?;
        let plans = config
            .plan_cache
            .on(&options)
            .await
            .context("cannot connect to PostgreSQL")?;
        tracing::debug!(?plans, "planning statements");
        let pool = PgPoolOptions::new()
            .max_connections(20)
            .acquire_timeout(Duration::from_secs_f64(config.database_timeout_seconds))
            .connect_with(plans.apply(options))
            .await
            .context("cannot connect to PostgreSQL")?;
        cpd_ledger::migrate(&pool)
            .await
            .context("cannot migrate the database")?;
        Ok(Self { pool, private })
    }

    async fn close(self) -> anyhow::Result<()> {
        self.pool.close().await;
        match self.private {
            Some(private) => private.stop().await,
            None => Ok(()),
        }
    }
}

/// A ledger for a CLI command, which acts as a request does: it first waits (bounded) until
/// the read models show every write answered before it began, by any instance.
async fn ledger_for_request(
    pool: &PgPool,
) -> anyhow::Result<(Ledger, tokio::task::JoinHandle<()>)> {
    let (ledger, following) = ledger(pool).await?;
    ledger.read_barrier(&[]).await?;
    Ok((ledger, following))
}

/// A ledger whose read models follow the log in the background, so commands can wait for them.
async fn ledger(pool: &PgPool) -> anyhow::Result<(Ledger, tokio::task::JoinHandle<()>)> {
    let runner = Runner::new(pool.clone(), projections::all()).await?;
    let following = tokio::spawn(runner.clone().run());
    Ok((Ledger::new(pool.clone(), runner), following))
}

/// Warns when the server does not vacuum tables by itself: pages are read from indexes alone
/// only where a table's rows are marked visible, so until a vacuum they slow down as rows
/// change.
async fn warn_without_autovacuum(pool: &PgPool) {
    let autovacuum = sqlx::query_scalar::<_, String>("show autovacuum")
        .fetch_one(pool)
        .await;
    if autovacuum.is_ok_and(|setting| setting == "off") {
        tracing::warn!(
            "autovacuum is off on this PostgreSQL server: list pages slow down as rows change \
             until the tables are vacuumed, and every statement is planned afresh unless \
             --plan-cache says otherwise; turn it on, or run VACUUM ANALYZE regularly"
        );
    }
}

async fn serve(database: &Database, config: ServeConfig) -> anyhow::Result<()> {
    // Before anything records a metric, or it would be lost.
    cpd_ledger::metrics::install();
    warn_without_autovacuum(&database.pool).await;
    let (ledger, runner) = ledger(&database.pool).await?;
    let ledger = ledger.with_readiness(Readiness {
        max_lag_events: config.ready_max_lag_events,
        max_lag_seconds: config.ready_max_lag_seconds,
    });
    let private = database.private.is_some();
    let seed = config.seed.or(private.then_some(SeedSet::Sandbox));
    // A sandbox database keeps the clock recorded when it was seeded, whatever the flags.
    let seeding_sandbox = seed == Some(SeedSet::Sandbox);
    let clock = sandbox::clock_for(&database.pool, seeding_sandbox, config.now).await?;
    if let Some(set) = seed {
        tracing::info!(?set, "loading seed data");
        seed::load(&ledger, set).await.context("seeding failed")?;
    }
    let limited = !config.no_rate_limit;
    let per_token = limited.then(|| RateLimit {
        requests: config.rate_limit_requests,
        window: Duration::from_secs(config.rate_limit_window_seconds),
    });
    let per_address = limited.then(|| RateLimit {
        requests: config.ip_rate_limit_requests,
        window: Duration::from_secs(config.ip_rate_limit_window_seconds),
    });
    let mut authenticator = Authenticator::new(database.pool.clone(), per_token)
        .with_ip_limit(per_address)
        .trusting_forwarded_for(config.trust_forwarded_for)
        .with_cache_ttl(Duration::from_secs(config.token_cache_seconds));
    if config.rate_limit_store == RateLimitStore::Postgres {
        authenticator = authenticator.with_shared_counters();
    }
    // Of all the instances on the database, the leader alone runs the schedulers.
    let leadership = Leadership::start(
        &database.pool,
        leader::SCHEDULER_LOCK,
        Duration::from_millis(config.leader_check_ms),
    );
    let scheduler = tokio::spawn({
        let ledger = ledger.clone();
        leader::run_while_leader(
            "close_due_statements",
            leadership.watch(),
            Duration::from_secs(60),
            move || {
                let ledger = ledger.clone();
                async move {
                    finance::close_due_by_database_clock(&ledger)
                        .await
                        .map(drop)
                }
            },
        )
    });
    let state = AppState {
        pool: database.pool.clone(),
        auth: Arc::new(authenticator),
        ledger,
        clock,
    };
    let mut router = app(state);
    let metrics = cpd_ledger::metrics::router(database.pool.clone());
    let metrics_server = match &config.metrics_bind {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen for metrics on {address}"))?;
            println!("metrics at http://{}/metrics", listener.local_addr()?);
            Some(tokio::spawn(axum::serve(listener, metrics).into_future()))
        }
        None => {
            router = router.merge(metrics);
            None
        }
    };
    let listener = tokio::net::TcpListener::bind((config.bind.as_str(), config.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", config.bind, config.port))?;
    let address = listener.local_addr()?;
    if private {
        print_sandbox_tokens(&database.pool).await?;
    }
    if let Clock::Sandbox(Some(now)) = clock {
        println!("Sandbox mode: requests run as of {now} unless they send X-With-Server-Date");
    }
    println!("cpd-ledger is listening on http://{address}");
    tracing::info!(%address, "serving");
    let times = ShutdownTimes {
        drain: Duration::from_secs(config.shutdown_drain_seconds),
        grace: Duration::from_secs(config.shutdown_grace_seconds),
    };
    let draining = Draining::default();
    let finished = shutdown::serve(listener, router, shutdown_signal(), &draining, times).await?;
    // Hand the schedulers over at once rather than when the connection times out.
    scheduler.abort();
    leadership.release().await;
    // Stop following the log before the pool closes; an interrupted batch rolls back.
    runner.abort();
    if let Some(server) = metrics_server {
        server.abort();
    }
    tracing::info!(finished, "shut down");
    Ok(())
}

/// Issues and prints a fresh token for every lead provider, so the sandbox can be used at once.
async fn print_sandbox_tokens(pool: &PgPool) -> anyhow::Result<()> {
    println!("Sandbox tokens (new on every start; earlier ones stay valid):");
    for provider in lead_providers::all(pool).await? {
        let id = aggregates::LeadProviderId(provider.id);
        let issued =
            auth::create_token(pool, Role::LeadProvider, Some(id), "sandbox quick start").await?;
        println!("  {:<32} {}", provider.name, issued.token);
    }
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => drop(signal.recv().await),
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutdown signal received");
}
