//! Whether the database is a sandbox, and its clock. Both are recorded in the database when
//! the sandbox is seeded, so every instance and CLI command on it runs as of the same instant
//! whatever flags it was started with; `cpd-ledger sandbox clock --set` moves it on.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::clock::Clock;

/// Why the sandbox clock cannot be set as asked.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// `--now` on a database that is not a sandbox.
    #[error(
        "--now only applies to a sandbox database (seed it with `serve --seed sandbox`, \
         or run without DATABASE_URL)"
    )]
    NotASandbox,
    /// The clock only moves forward: closed statements cannot reopen.
    #[error("the sandbox clock stands at {at}; it only moves forward, not to {to}")]
    Backwards {
        /// Where it stands.
        at: DateTime<Utc>,
        /// Where it was asked to go.
        to: DateTime<Utc>,
    },
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The sandbox clock recorded in the database, or `None` when it is not a sandbox.
pub async fn recorded(pool: &PgPool) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar("select now from sandbox_clock")
        .fetch_optional(pool)
        .await
}

/// Marks the database as a sandbox standing at `now`, unless it is one already; returns the
/// clock it has.
pub async fn record(pool: &PgPool, now: DateTime<Utc>) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar(
        r#"
        with added as (
            insert into sandbox_clock (now) values ($1)
            on conflict (singleton) do nothing
            returning now
        )
        select now from added
        union all
        select now from sandbox_clock
        limit 1
        "#,
    )
    .bind(now)
    .fetch_one(pool)
    .await
}

/// Moves the sandbox clock forward to `to`; returns where it stood.
pub async fn move_clock(pool: &PgPool, to: DateTime<Utc>) -> Result<DateTime<Utc>, SandboxError> {
    let mut tx = projections::pool::begin(pool).await?;
    let at: DateTime<Utc> = sqlx::query_scalar("select now from sandbox_clock for update")
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(SandboxError::NotASandbox)?;
    if to < at {
        return Err(SandboxError::Backwards { at, to });
    }
    sqlx::query("update sandbox_clock set now = $1, updated_at = now()")
        .bind(to)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(at)
}

/// The clock of the database as recorded: the sandbox's, or the system's.
pub async fn clock_of(pool: &PgPool) -> Result<Clock, sqlx::Error> {
    Ok(recorded(pool)
        .await?
        .map_or(Clock::System, |at| Clock::Sandbox(Some(at))))
}

/// The clock an instance runs on. A sandbox database keeps its recorded clock whatever the
/// flags say; seeding the sandbox records one (`now`, or the sandbox world's instant).
pub async fn clock_for(
    pool: &PgPool,
    seeding_sandbox: bool,
    now: Option<DateTime<Utc>>,
) -> Result<Clock, SandboxError> {
    let at = match recorded(pool).await? {
        Some(at) => {
            if let Some(asked) = now.filter(|asked| *asked != at) {
                tracing::warn!(
                    %at, %asked,
                    "this sandbox's clock is recorded in the database; --now is ignored \
                     (move it with `cpd-ledger sandbox clock --set`)"
                );
            }
            at
        }
        None if seeding_sandbox => {
            record(pool, now.unwrap_or_else(crate::seed::sandbox_now)).await?
        }
        None if now.is_some() => return Err(SandboxError::NotASandbox),
        None => return Ok(Clock::System),
    };
    Ok(Clock::Sandbox(Some(at)))
}

/// Now by the database's clock: the sandbox's recorded instant, or the system's.
pub async fn now(pool: &PgPool) -> Result<DateTime<Utc>, sqlx::Error> {
    Ok(recorded(pool).await?.unwrap_or_else(Utc::now))
}

/// `cpd-ledger sandbox`: the sandbox's own settings.
#[derive(Debug, clap::Subcommand)]
pub enum SandboxCommand {
    /// Show the sandbox clock, or move it forward with `--set`.
    Clock {
        /// The instant (RFC 3339) every instance and CLI command on this sandbox runs as of.
        #[arg(long)]
        set: Option<DateTime<Utc>>,
    },
}

/// Runs a sandbox command.
pub async fn command(pool: &PgPool, command: SandboxCommand) -> Result<(), SandboxError> {
    match command {
        SandboxCommand::Clock { set: None } => match recorded(pool).await? {
            Some(at) => println!("sandbox clock {}", at.to_rfc3339()),
            None => println!("not a sandbox: the real clock"),
        },
        SandboxCommand::Clock { set: Some(to) } => {
            let was = move_clock(pool, to).await?;
            println!(
                "sandbox clock moved from {} to {}",
                was.to_rfc3339(),
                to.to_rfc3339()
            );
            println!("running instances take it on when they restart; schedulers at once");
        }
    }
    Ok(())
}
