//! `replay` and `projections status`: rebuilding read models from the log, and where each
//! stands.

use std::time::Instant;

use anyhow::Context;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use projections::Runner;
use sqlx::PgPool;

/// Rebuilds one read model, or all (`jobs` at a time), from the start of the event log.
pub async fn replay(
    pool: &PgPool,
    only: Option<String>,
    jobs: Option<usize>,
) -> anyhow::Result<()> {
    let runner = Runner::new(pool.clone(), projections::all()).await?;
    let style =
        ProgressStyle::with_template("{prefix:>24} [{bar:40}] {pos}/{len} events {per_sec}")?
            .progress_chars("=> ");
    let bars = MultiProgress::new();
    let bar = |name: &str| {
        let bar = bars.add(
            ProgressBar::new(0)
                .with_style(style.clone())
                .with_prefix(name.to_owned()),
        );
        move |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let started = Instant::now();
    let rebuilt = match &only {
        Some(name) => {
            let events = runner
                .rebuild(name, bar(name))
                .await
                .with_context(|| format!("cannot rebuild {name}"))?;
            vec![(name.as_str(), events, started.elapsed())]
        }
        None => {
            let jobs = jobs.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
            });
            runner
                .rebuild_all(jobs, bar)
                .await
                .context("cannot rebuild the read models")?
                .into_iter()
                .map(|r| (r.name, r.events, r.elapsed))
                .collect()
        }
    };
    bars.clear()?;
    for (name, events, elapsed) in rebuilt {
        let seconds = elapsed.as_secs_f64();
        let rate = events as f64 / seconds.max(f64::EPSILON);
        println!("{name}: rebuilt from {events} events in {seconds:.2}s ({rate:.0} events/s)");
    }
    if only.is_none() {
        println!(
            "all read models rebuilt in {:.2}s; audit_seals kept (seals are evidence, written \
             once, never rebuilt)",
            started.elapsed().as_secs_f64()
        );
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
            None if status.rebuilding => {
                "rebuilding (shows its rows as they stood when the rebuild began)".to_owned()
            }
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
