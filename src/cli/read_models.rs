//! `replay` and `projections status`: rebuilding read models from the log, and where each
//! stands.

use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use projections::Runner;
use sqlx::PgPool;

/// Rebuilds one read model, or all, from the start of the event log.
pub async fn replay(pool: &PgPool, only: Option<String>) -> anyhow::Result<()> {
    let runner = Runner::new(pool.clone(), projections::all()).await?;
    let names: Vec<String> = match &only {
        Some(name) => vec![name.clone()],
        None => runner
            .projections()
            .iter()
            .filter(|p| p.rebuildable())
            .map(|p| p.name().to_owned())
            .collect(),
    };
    let style =
        ProgressStyle::with_template("{prefix:>16} [{bar:40}] {pos}/{len} events {per_sec}")?
            .progress_chars("=> ");
    for name in names {
        let bar = ProgressBar::new(0)
            .with_style(style.clone())
            .with_prefix(name.clone());
        let started = Instant::now();
        let applied = runner
            .rebuild(&name, |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })
            .await
            .with_context(|| format!("cannot rebuild {name}"))?;
        bar.finish_and_clear();
        let seconds = started.elapsed().as_secs_f64();
        let rate = applied as f64 / seconds.max(f64::EPSILON);
        println!("{name}: rebuilt from {applied} events in {seconds:.2}s ({rate:.0} events/s)");
    }
    if only.is_none() {
        println!("audit_seals: kept (seals are evidence, written once, never rebuilt)");
    }
    Ok(())
}

/// Prints each read model's lag and any halt; fails when one has halted, so scripts notice.
pub async fn projections_status(runner: &Runner) -> anyhow::Result<()> {
    let statuses = runner.status().await?;
    println!(
        "{:<20} {:>12} {:>10}  state",
        "read model", "lag events", "lag secs"
    );
    for status in &statuses {
        let state = match &status.halt {
            None => "running".to_owned(),
            Some(halt) => format!(
                "HALTED at position {} (event {}) since {}: {}",
                halt.position, halt.event_id, halt.since, halt.error
            ),
        };
        println!(
            "{:<20} {:>12} {:>10.1}  {state}",
            status.name, status.lag_events, status.lag_seconds
        );
    }
    let halted = statuses.iter().filter(|s| s.halt.is_some()).count();
    if halted > 0 {
        anyhow::bail!(
            "{halted} read model(s) halted; fix the cause and restart the service, which tries \
             the event again at start"
        );
    }
    Ok(())
}
