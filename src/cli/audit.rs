//! `audit verify` and `audit head`: the log checked against its seals, and the head an
//! auditor keeps outside the system.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use projections::Runner;
use projections::seals::{self, Head};
use sqlx::PgPool;

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
