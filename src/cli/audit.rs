//! `audit`: the log checked against its seals (`verify`), the head an auditor keeps outside
//! the system, one person's or declaration's events, and the transferred-provider trail.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use projections::Runner;
use projections::seals::{self, Head};
use sqlx::PgPool;
use uuid::Uuid;

use crate::reports::transfers;

/// Audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the event log against its seals, both ways, and list every disagreement (exits
    /// non-zero on any).
    Verify {
        /// A head kept earlier (`audit head`'s JSON, or `GET /audit/head`'s): also prove the
        /// log still holds everything up to it, unchanged.
        #[arg(long, value_name = "FILE")]
        since_head: Option<PathBuf>,
    },
    /// Print the newest seal as JSON, for an auditor to keep outside the system.
    Head,
    /// Every event concerning one person, in order.
    Participant {
        /// The participant id.
        id: Uuid,
    },
    /// Every event of one declaration, in order.
    Declaration {
        /// The declaration id.
        id: Uuid,
    },
    /// The transferred-provider trail.
    Transfers {
        /// `text` (default), `json` or `csv`.
        #[arg(long, default_value = "text", value_parser = ["text", "json", "csv"])]
        format: String,
    },
}

/// Runs an audit command; a broken chain is an error (non-zero exit).
pub async fn audit(pool: &PgPool, command: AuditCommand) -> anyhow::Result<()> {
    let filter = match command {
        AuditCommand::Verify { since_head } => return verify(pool, since_head).await,
        AuditCommand::Head => return head(pool).await,
        AuditCommand::Transfers { format } => return transfers(pool, &format).await,
        AuditCommand::Participant { id } => projections::audit::EventFilter {
            participant_id: Some(id),
            ..Default::default()
        },
        AuditCommand::Declaration { id } => projections::audit::EventFilter {
            declaration_id: Some(id),
            ..Default::default()
        },
    };
    let events = projections::audit::events(pool, &filter, Default::default(), 10_000).await?;
    if events.is_empty() {
        bail!("no events concern that id");
    }
    for event in events {
        let meta = |key: &str| {
            event
                .metadata
                .get(key)
                .and_then(|v| v.as_str())
                .unwrap_or("-")
                .to_owned()
        };
        println!(
            "{}  #{:<8} {}/{} {:<26} by {} {}  {}",
            event
                .recorded_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            event.position.position,
            event.aggregate_type,
            event.aggregate_id,
            event.event_type,
            meta("actor_type"),
            meta("actor_id"),
            event.payload,
        );
    }
    Ok(())
}

/// Prints the transferred-provider trail as JSON, CSV or text.
async fn transfers(pool: &PgPool, format: &str) -> anyhow::Result<()> {
    let trails = projections::audit::transfer_trails(pool).await?;
    match format {
        "json" => println!("{}", serde_json::to_string_pretty(&trails)?),
        "csv" => print!("{}", transfers::trails_csv(&trails)?),
        _ => transfers::trails_text(&trails, &mut std::io::stdout().lock())?,
    }
    Ok(())
}

/// Findings printed in full; the rest are counted.
const SHOWN: usize = 100;

/// Seals everything committed so far, then checks the log against its seals.
pub async fn verify(pool: &PgPool, since_head: Option<PathBuf>) -> anyhow::Result<()> {
    let kept = since_head.map(|path| read_head(&path)).transpose()?;
    Runner::new(pool.clone(), projections::all())
        .await?
        .catch_up()
        .await?;
    let style = ProgressStyle::with_template("verifying [{bar:40}] {pos}/{len} seals {per_sec}")?
        .progress_chars("=> ");
    let bar = ProgressBar::new(0).with_style(style);
    let started = Instant::now();
    let report = seals::verify(pool, kept.as_ref(), |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let rate = report.seals as f64 / seconds.max(f64::EPSILON);
    println!(
        "checked {} seals against {} events in {seconds:.2}s ({rate:.0} seals/s); {} events not sealed yet",
        report.seals, report.events, report.pending
    );
    if let Some(head) = &report.head {
        println!(
            "head: seal {}, position {}, event {}, chain hash {}",
            head.seal, head.position, head.event_id, head.chain_hash
        );
    }
    if let Some(kept) = &kept {
        println!(
            "kept head: seal {}, chain hash {}",
            kept.seal, kept.chain_hash
        );
    }
    for finding in report.findings.iter().take(SHOWN) {
        println!("{finding}");
    }
    let found = report.findings.len();
    if found > SHOWN {
        println!("... and {} more", found - SHOWN);
    }
    match found {
        0 if kept.is_some() => println!("intact, and it extends the kept head"),
        0 => println!("intact"),
        1 => bail!("the log does not match its seals: 1 finding"),
        _ => bail!("the log does not match its seals: {found} findings"),
    }
    Ok(())
}

/// Prints the newest seal as JSON.
pub async fn head(pool: &PgPool) -> anyhow::Result<()> {
    let head = seals::head(pool).await?.context("nothing is sealed yet")?;
    println!("{}", serde_json::to_string_pretty(&head)?);
    Ok(())
}

/// Reads a kept head: `audit head`'s JSON, or the document `GET /audit/head` returns.
fn read_head(path: &PathBuf) -> anyhow::Result<Head> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let head = json.pointer("/data/attributes").unwrap_or(&json);
    serde_json::from_value(head.clone())
        .with_context(|| format!("{} is not a head from `audit head`", path.display()))
}
