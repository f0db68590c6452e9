//! Configuration: flags and environment variables, parsed once in `main` and passed down.

use std::fmt;
use std::num::NonZeroU32;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::PlanCache;
use crate::seed::SeedSet;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "cpd-ledger",
    version,
    about = "The Lead Provider API as an event-sourced ledger"
)]
pub struct Cli {
    /// Where the data lives.
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// Log output: `text` for people, `json` for log collectors.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// Settings of `serve`, which runs when no subcommand is given.
    #[command(flatten)]
    pub serve: ServeConfig,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The database: an existing one, or a private server in a data directory.
#[derive(Clone, Args)]
pub struct DatabaseConfig {
    /// PostgreSQL connection URL. Without it, a private server runs from `--data-dir`.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Where the private PostgreSQL keeps its data.
    #[arg(
        long,
        env = "CPD_LEDGER_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// How long a request waits for a database connection before answering 503.
    #[arg(
        long,
        env = "DATABASE_TIMEOUT_SECONDS",
        default_value_t = 2.0,
        global = true
    )]
    pub database_timeout_seconds: f64,
    /// How PostgreSQL plans the service's statements: `generic` plans are reused (for servers
    /// whose autovacuum keeps statistics current), `custom` ones made for every execution;
    /// `auto` picks `generic` where the server runs autovacuum.
    #[arg(
        long,
        env = "PLAN_CACHE",
        value_enum,
        default_value_t = PlanCache::Auto,
        global = true
    )]
    pub plan_cache: PlanCache,
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field(
                "database_url",
                &self.database_url.as_ref().map(|_| "[redacted]"),
            )
            .field("data_dir", &self.data_dir)
            .field("database_timeout_seconds", &self.database_timeout_seconds)
            .finish()
    }
}

/// Log formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API (the default).
    Serve(ServeConfig),
    /// Apply database migrations and exit.
    Migrate,
    /// Load seed data by sending ordinary commands; loading twice adds nothing.
    Seed {
        /// Which data set.
        #[arg(value_enum)]
        set: SeedSet,
        /// How many participants the synthetic world has.
        #[arg(long, default_value_t = crate::seed::DEFAULT_SYNTHETIC_PARTICIPANTS)]
        participants: usize,
    },
    /// The read models: how far behind each is, and any that halted.
    #[command(subcommand)]
    Projections(ProjectionsCommand),
    /// Rebuild read models from the start of the event log.
    Replay {
        /// Only this read model (default: all).
        #[arg(long)]
        projection: Option<String>,
        /// How many read models to rebuild at once, each on its own connection (PostgreSQL
        /// gives each a core of its own). Default: this machine's cores.
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Manage API tokens: create, list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
    /// School- and DfE-side commands on ECF participants (register, mentor, eligibility,
    /// leave, join).
    #[command(subcommand)]
    Participant(crate::cli::ParticipantCommand),
    /// Statements for finance: show, replay, close-due, pay.
    #[command(subcommand)]
    Statements(crate::cli::StatementsCommand),
    /// Audit the event log (verify its hash chain).
    #[command(subcommand)]
    Audit(crate::cli::AuditCommand),
    /// School-side commands on partnerships and cohorts (challenge, set-up).
    #[command(subcommand)]
    School(crate::cli::SchoolCommand),
    /// The NPQ registration side: record applications for providers to accept or reject.
    #[command(subcommand)]
    Npq(crate::cli::NpqRegistrationCommand),
    /// The sandbox's clock: show it, or move it forward for every instance on the database.
    #[command(subcommand)]
    Sandbox(crate::sandbox::SandboxCommand),
}

/// Read-model subcommands.
#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Each read model's lag in events and seconds, and where and why any halted.
    Status,
}

/// Token subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token and print it as the last line of output.
    Create {
        /// The lead provider the token acts for, by name.
        #[arg(long, conflicts_with = "role", required_unless_present = "role")]
        lead_provider: Option<String>,
        /// A staff role instead: finance, auditor or admin.
        #[arg(long, value_parser = ["finance", "auditor", "admin"])]
        role: Option<String>,
        /// Expire the token after this period, e.g. 90d, 12h or 30m (default: never).
        #[arg(long, value_parser = crate::tokens::parse_period)]
        expires_in: Option<chrono::TimeDelta>,
    },
    /// List every token: id, role or provider, created, last used, expiry, revocation.
    List,
    /// Revoke a token at once (other instances stop accepting it within a few seconds).
    Revoke {
        /// The token's id, as `token list` shows it.
        id: uuid::Uuid,
    },
}

/// Where rate-limit counters are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RateLimitStore {
    /// In this process: one quota per instance.
    Memory,
    /// In PostgreSQL: one quota across every instance on the database.
    Postgres,
}

/// Settings of `serve`.
#[derive(Clone, Debug, Args)]
pub struct ServeConfig {
    /// The port to listen on.
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,
    /// The address to listen on.
    #[arg(long, env = "BIND_ADDRESS", default_value = "127.0.0.1")]
    pub bind: String,
    /// Load a seed set before serving (the private database always gets the sandbox).
    #[arg(long, value_enum)]
    pub seed: Option<SeedSet>,
    /// Sandbox only: the instant requests run at unless they send `X-With-Server-Date`.
    #[arg(long, env = "SANDBOX_NOW")]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// Requests allowed per token in each rate-limit window.
    #[arg(long, env = "RATE_LIMIT_REQUESTS", default_value = "1000")]
    pub rate_limit_requests: NonZeroU32,
    /// The rate-limit window, in seconds.
    #[arg(long, env = "RATE_LIMIT_WINDOW_SECONDS", default_value_t = 300)]
    pub rate_limit_window_seconds: u64,
    /// Requests allowed to `/api/*` per client address in each window, counted before the
    /// token is looked up.
    #[arg(long, env = "IP_RATE_LIMIT_REQUESTS", default_value = "1000")]
    pub ip_rate_limit_requests: NonZeroU32,
    /// The per-address window, in seconds.
    #[arg(long, env = "IP_RATE_LIMIT_WINDOW_SECONDS", default_value_t = 300)]
    pub ip_rate_limit_window_seconds: u64,
    /// Where the counters live: `postgres` shares one quota across instances.
    #[arg(long, env = "RATE_LIMIT_STORE", value_enum, default_value_t = RateLimitStore::Memory)]
    pub rate_limit_store: RateLimitStore,
    /// Take the client address from the last `X-Forwarded-For` entry (behind a load balancer).
    #[arg(long, env = "TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Switch rate limiting off (for benchmarks).
    #[arg(long, env = "RATE_LIMIT_DISABLED")]
    pub no_rate_limit: bool,
    /// `/readyz` answers 503 when a read model has more committed events than this to apply.
    #[arg(long, env = "READY_MAX_LAG_EVENTS", default_value_t = 10_000)]
    pub ready_max_lag_events: i64,
    /// `/readyz` answers 503 when a read model's oldest unapplied event is older than this.
    #[arg(long, env = "READY_MAX_LAG_SECONDS", default_value_t = 10.0)]
    pub ready_max_lag_seconds: f64,
    /// How long a token lookup is trusted, in seconds: the most a revocation made on another
    /// instance takes to reach this one.
    #[arg(long, env = "TOKEN_CACHE_SECONDS", default_value_t = crate::auth::TOKEN_CACHE_TTL.as_secs())]
    pub token_cache_seconds: u64,
    /// Serve `GET /metrics` on this address (e.g. `0.0.0.0:9090`) instead of the API's.
    #[arg(long, env = "METRICS_BIND")]
    pub metrics_bind: Option<String>,
    /// On SIGTERM or Ctrl-C, how long `/readyz` answers 503 before the listener closes.
    #[arg(long, env = "SHUTDOWN_DRAIN_SECONDS", default_value_t = 5)]
    pub shutdown_drain_seconds: u64,
    /// Then, how long requests in flight may take to finish before they are cut off.
    #[arg(long, env = "SHUTDOWN_GRACE_SECONDS", default_value_t = 30)]
    pub shutdown_grace_seconds: u64,
    /// How often an instance tries to take over the schedulers, and the leader checks its
    /// hold, in milliseconds: a crashed leader is replaced within about this long.
    #[arg(long, env = "LEADER_CHECK_MS", default_value_t = 2000)]
    pub leader_check_ms: u64,
}
