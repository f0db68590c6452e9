//! Measures a streamed CSV export: seeds a synthetic world of N ECTs into a fresh database,
//! then reads `GET /api/v1/participants/ecf.csv` through the service (in this process, the
//! body consumed chunk by chunk) and reports its time and the process's peak memory during it.
//!
//! `cargo run --release --example csv_export -- --participants 100000`

use std::sync::Arc;
use std::time::Instant;

use aggregates::LeadProviderId;
use anyhow::{Context, bail};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use clap::Parser;
use cpd_ledger::auth::{self, Authenticator, Role};
use cpd_ledger::clock::Clock;
use cpd_ledger::ledger::Ledger;
use cpd_ledger::seed::{self, SeedSet, synthetic};
use cpd_ledger::{AppState, app};
use futures::StreamExt;
use projections::Runner;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use tower::ServiceExt;

#[derive(Debug, Parser)]
struct Args {
    /// A PostgreSQL server URL; the benchmark (re)creates its own database there.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@localhost/postgres"
    )]
    server: String,
    /// ECTs in the synthetic world (rows in the export).
    #[arg(long, default_value_t = 100_000)]
    participants: usize,
    /// The database to use.
    #[arg(long, default_value = "cpd_ledger_csv_bench")]
    database: String,
    /// Keep the database if it already holds the world (skips seeding).
    #[arg(long)]
    reuse: bool,
    /// The export to read.
    #[arg(long, default_value = "/api/v1/participants/ecf.csv")]
    path: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let options: PgConnectOptions = args.server.parse().context("bad --server URL")?;
    let mut admin = options.connect().await?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(&args.database)
            .fetch_one(&mut admin)
            .await?;
    let seed_it = !(args.reuse && exists);
    if seed_it {
        sqlx::query(&format!(
            "drop database if exists {} with (force)",
            args.database
        ))
        .execute(&mut admin)
        .await?;
        sqlx::query(&format!("create database {}", args.database))
            .execute(&mut admin)
            .await?;
    }
    admin.close().await?;
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect_with(options.database(&args.database))
        .await?;
    cpd_ledger::migrate(&pool).await?;
    let runner = Runner::new(pool.clone(), projections::all()).await?;
    tokio::spawn(runner.clone().run());
    let ledger = Ledger::new(pool.clone(), runner.clone());
    if seed_it {
        let started = Instant::now();
        seed::load_sized(&ledger, SeedSet::Synthetic, args.participants).await?;
        sqlx::query("analyze").execute(&pool).await?;
        println!(
            "seeded {} participants in {:.1}s",
            args.participants,
            started.elapsed().as_secs_f64()
        );
    }
    runner.catch_up().await?;

    let provider = LeadProviderId::from_name(synthetic::PROVIDER);
    let token = auth::create_token(&pool, Role::LeadProvider, Some(provider), "csv benchmark")
        .await?
        .token;
    let router = app(AppState {
        pool: pool.clone(),
        ledger,
        auth: Arc::new(Authenticator::new(pool.clone(), None)),
        clock: Clock::System,
    });

    let before = memory()?;
    reset_peak()?;
    let started = Instant::now();
    let request = Request::get(&args.path)
        .header("Authorization", format!("Bearer {token}"))
        .body(Body::empty())?;
    let response = router.oneshot(request).await?;
    if response.status() != StatusCode::OK {
        bail!("{} answered {}", args.path, response.status());
    }
    let first_byte = started.elapsed();
    let (mut bytes, mut lines) = (0usize, 0usize);
    let mut body = response.into_body().into_data_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let elapsed = started.elapsed();
    let after = memory()?;
    println!(
        "{}: {} rows (+ header), {:.1} MB in {:.2}s ({:.0} rows/s, first byte after {} ms)",
        args.path,
        lines.saturating_sub(1),
        bytes as f64 / 1e6,
        elapsed.as_secs_f64(),
        lines as f64 / elapsed.as_secs_f64(),
        first_byte.as_millis(),
    );
    println!(
        "process memory: {:.1} MB resident before, peak {:.1} MB during the export (+{:.1} MB)",
        before.resident_kb as f64 / 1024.0,
        after.peak_kb as f64 / 1024.0,
        (after.peak_kb.saturating_sub(before.resident_kb)) as f64 / 1024.0,
    );
    Ok(())
}

/// The process's resident and peak resident memory, from `/proc/self/status`.
struct Memory {
    resident_kb: u64,
    peak_kb: u64,
}

fn memory() -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse().ok())
            .with_context(|| format!("no {name} in /proc/self/status"))
    };
    Ok(Memory {
        resident_kb: field("VmRSS:")?,
        peak_kb: field("VmHWM:")?,
    })
}

/// Restarts the peak-memory mark at the current resident size (Linux `clear_refs` 5).
fn reset_peak() -> anyhow::Result<()> {
    std::fs::write("/proc/self/clear_refs", "5").context("cannot reset the peak memory mark")
}
