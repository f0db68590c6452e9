//! `statements`: a statement's breakdown live or as of an instant, rebuilding statements from
//! the log, closing those due and paying one.

use std::collections::HashMap;
use std::time::Instant;

use aggregates::LeadProviderId;
use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use projections::lead_providers;
use sqlx::PgPool;

use crate::finance::StatementBreakdown;
use crate::ledger::{Actor, CommandContext, Ledger};
use crate::reports::statements;

/// Which statement: provider, programme, cohort and month.
#[derive(Debug, clap::Args)]
pub struct StatementChoice {
    /// The lead provider's name.
    #[arg(long)]
    lead_provider: String,
    /// The cohort.
    #[arg(long)]
    cohort: i32,
    /// The month, as the statement is named, e.g. "May 2023".
    #[arg(long)]
    month: String,
    /// `ecf` or `npq`.
    #[arg(long, default_value = "ecf", value_parser = ["ecf", "npq"])]
    programme: String,
}

/// Statement commands for finance.
#[derive(Debug, Subcommand)]
pub enum StatementsCommand {
    /// Show a statement's breakdown from the live read models (or `--as-of`, from the log).
    Show {
        #[command(flatten)]
        choice: StatementChoice,
        /// Show it as the event log stood at this instant (RFC 3339).
        #[arg(long)]
        as_of: Option<DateTime<Utc>>,
        /// `table`, `json`, `csv` or `html`.
        #[arg(long, default_value = "table", value_parser = ["table", "json", "csv", "html"])]
        format: String,
    },
    /// Rebuild a statement from the event log (as of now, or `--as-of`), with progress.
    Replay {
        #[command(flatten)]
        choice: StatementChoice,
        /// Replay up to this instant (RFC 3339); default now.
        #[arg(long)]
        as_of: Option<DateTime<Utc>>,
        /// `table`, `json`, `csv` or `html`.
        #[arg(long, default_value = "table", value_parser = ["table", "json", "csv", "html"])]
        format: String,
    },
    /// Rebuild every statement from the event log in one pass and list their totals.
    ReplayAll {
        /// Replay up to this instant (RFC 3339); default now.
        #[arg(long)]
        as_of: Option<DateTime<Utc>>,
        /// `table`, `json` or `csv`.
        #[arg(long, default_value = "table", value_parser = ["table", "json", "csv"])]
        format: String,
    },
    /// Close every statement whose deadline day is over (the service does this itself too).
    CloseDue {
        /// Close as of this instant (RFC 3339); default now.
        #[arg(long)]
        now: Option<DateTime<Utc>>,
    },
    /// Mark a closed statement paid.
    Pay {
        #[command(flatten)]
        choice: StatementChoice,
    },
}

/// Runs a statements command as the CLI's operator (finance).
pub async fn statements(ledger: &Ledger, command: StatementsCommand) -> anyhow::Result<()> {
    // The sandbox clock recorded in the database, if it is a sandbox.
    let today = crate::sandbox::now(ledger.pool()).await?;
    let pool = ledger.pool();
    match command {
        StatementsCommand::CloseDue { now } => {
            let closed = crate::finance::close_due(ledger, now.unwrap_or(today)).await?;
            println!("closed {closed} statements");
        }
        StatementsCommand::Pay { choice } => {
            let id = find_statement(pool, &choice).await?;
            crate::finance::pay(ledger, id, today, &CommandContext::of(Actor::Admin(None))).await?;
            println!("statement {id} paid");
        }
        StatementsCommand::Show {
            choice,
            as_of,
            format,
        } => {
            let id = find_statement(pool, &choice).await?;
            let priced = crate::finance::breakdown(pool, id, as_of, |_| {})
                .await?
                .context("statement not found")?;
            print_breakdown(&priced, &format)?;
        }
        StatementsCommand::Replay {
            choice,
            as_of,
            format,
        } => {
            let id = find_statement(pool, &choice).await?;
            let bar = ProgressBar::new_spinner().with_style(ProgressStyle::with_template(
                "replaying {pos} events {per_sec}",
            )?);
            let started = Instant::now();
            let priced =
                crate::finance::breakdown(pool, id, Some(as_of.unwrap_or(today)), |read| {
                    bar.set_position(read)
                })
                .await?
                .context("statement not found")?;
            let events = bar.position();
            bar.finish_and_clear();
            let seconds = started.elapsed().as_secs_f64();
            eprintln!(
                "replayed {events} declaration events in {seconds:.2}s ({:.0} events/s)",
                events as f64 / seconds.max(f64::EPSILON)
            );
            print_breakdown(&priced, &format)?;
        }
        StatementsCommand::ReplayAll { as_of, format } => {
            let bar = ProgressBar::new_spinner().with_style(ProgressStyle::with_template(
                "replaying {pos} events {per_sec}",
            )?);
            let started = Instant::now();
            let all = crate::finance::replay_all(pool, as_of.unwrap_or(today), |read| {
                bar.set_position(read)
            })
            .await?;
            let events = bar.position();
            bar.finish_and_clear();
            let seconds = started.elapsed().as_secs_f64();
            eprintln!(
                "replayed {} statements from {events} declaration events in {seconds:.2}s ({:.0} events/s)",
                all.len(),
                events as f64 / seconds.max(f64::EPSILON)
            );
            print_summaries(pool, &all, &format).await?;
        }
    }
    Ok(())
}

async fn find_statement(
    pool: &PgPool,
    choice: &StatementChoice,
) -> anyhow::Result<aggregates::StatementId> {
    let provider = lead_providers::find_by_name(pool, &choice.lead_provider)
        .await?
        .with_context(|| format!("no lead provider is called {:?}", choice.lead_provider))?;
    let programme: aggregates::Programme = choice.programme.parse()?;
    projections::statements::by_name(
        pool,
        LeadProviderId(provider.id),
        programme,
        choice.cohort,
        &choice.month,
    )
    .await?
    .with_context(|| {
        format!(
            "{} has no {} statement for {} in cohort {}",
            choice.lead_provider, choice.programme, choice.month, choice.cohort
        )
    })
}

/// Prints one statement's breakdown as JSON, HTML, CSV or text.
fn print_breakdown(priced: &StatementBreakdown, format: &str) -> anyhow::Result<()> {
    match format {
        "json" => println!("{}", serde_json::to_string_pretty(priced)?),
        "html" => print!("{}", crate::reports::statement_page::html(priced)),
        "csv" => statements::breakdown_csv(priced, std::io::stdout())?,
        _ => statements::breakdown_text(priced, &mut std::io::stdout().lock())?,
    }
    Ok(())
}

/// Prints one line per statement, as JSON, CSV or tab-separated text.
async fn print_summaries(
    pool: &PgPool,
    all: &[StatementBreakdown],
    format: &str,
) -> anyhow::Result<()> {
    if format == "json" {
        println!("{}", serde_json::to_string_pretty(all)?);
        return Ok(());
    }
    let names: HashMap<_, _> = lead_providers::all(pool)
        .await?
        .into_iter()
        .map(|provider| (provider.id, provider.name))
        .collect();
    let delimiter = if format == "csv" { b',' } else { b'\t' };
    statements::summaries(all, &names, delimiter, std::io::stdout())?;
    Ok(())
}
