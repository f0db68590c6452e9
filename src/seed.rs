//! Loads the reference data and the sandbox world by sending ordinary commands, so the read
//! models are built from events like everything else. Every command is idempotent, so loading
//! twice adds nothing. The seed files are compiled in; the binary needs no checkout.

mod npq;
mod participants;
pub mod reference;
mod sandbox;
pub mod synthetic;

use aggregates::{Record, RecordCommand, Registered};
use cqrs_es::Aggregate;
use futures::{StreamExt, TryStreamExt, stream};

use crate::ledger::{Actor, CommandContext, Ledger, LedgerError};

/// How many seed commands run at once.
const CONCURRENCY: usize = 8;

/// What to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SeedSet {
    /// Cohorts, schedules, lead providers, contracts and the statement calendar.
    Reference,
    /// The reference data plus a sandbox world of delivery partners, schools and partnerships.
    Sandbox,
    /// The reference data plus a synthetic world for benchmarks (`--participants N`).
    Synthetic,
}

/// Why a seed could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// A seed file is malformed.
    #[error("{file}: {message}")]
    File {
        /// The seed file.
        file: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The read models failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A read model could not catch up.
    #[error(transparent)]
    ReadModels(#[from] projections::ProjectionError),
    /// A command was refused or the store failed.
    #[error("cannot record {what}: {message}")]
    Command {
        /// The kind of record.
        what: &'static str,
        /// Why.
        message: String,
    },
}

/// The instant the sandbox world stands at: 12 July 2023, when the reference data was taken.
/// Its declarations, closed and paid statements and clawbacks are as of then, and the sandbox
/// serves requests as of then unless `serve --now` or `X-With-Server-Date` says otherwise.
pub fn sandbox_now() -> chrono::DateTime<chrono::Utc> {
    chrono::NaiveDate::from_ymd_opt(2023, 7, 12)
        .and_then(|day| day.and_hms_opt(12, 0, 0))
        .map(|at| at.and_utc())
        .unwrap_or_default()
}

/// Participants in the synthetic world unless `--participants` says otherwise.
pub const DEFAULT_SYNTHETIC_PARTICIPANTS: usize = 100_000;

/// Loads a seed set, then brings the read models up to date.
pub async fn load(ledger: &Ledger, set: SeedSet) -> Result<(), SeedError> {
    load_sized(ledger, set, DEFAULT_SYNTHETIC_PARTICIPANTS).await
}

/// Loads a seed set with a synthetic world of `participants`, then catches the read models up.
pub async fn load_sized(
    ledger: &Ledger,
    set: SeedSet,
    participants: usize,
) -> Result<(), SeedError> {
    reference::load(ledger).await?;
    match set {
        SeedSet::Reference => {}
        SeedSet::Sandbox => sandbox::load(ledger).await?,
        SeedSet::Synthetic => synthetic::load(ledger, participants).await?,
    }
    catch_up(ledger).await
}

/// Brings the read models up to date, for seeds that look records up.
async fn catch_up(ledger: &Ledger) -> Result<(), SeedError> {
    ledger.runner().catch_up().await?;
    Ok(())
}

/// Sends one command per item, a few at a time, and reports how many it sent.
async fn send_all<A, I>(ledger: &Ledger, what: &'static str, commands: I) -> Result<(), SeedError>
where
    A: Aggregate<Services = ()>,
    A::Command: Clone,
    I: IntoIterator<Item = (String, A::Command)>,
{
    let context = CommandContext::of(Actor::Seed);
    let sent = stream::iter(commands)
        .map(|(id, command)| {
            let context = &context;
            async move { ledger.submit::<A>(&id, command, context).await }
        })
        .buffer_unordered(CONCURRENCY)
        .map_err(|error: LedgerError<A::Error>| SeedError::Command {
            what,
            message: error.to_string(),
        })
        .try_fold(0usize, |count, _| async move { Ok(count + 1) })
        .await?;
    tracing::info!(count = sent, "seeded {what}");
    Ok(())
}

/// Registers reference records.
async fn register_all<R: Record>(
    ledger: &Ledger,
    what: &'static str,
    records: Vec<R>,
) -> Result<(), SeedError> {
    let commands = records
        .into_iter()
        .map(|r| (r.aggregate_id(), RecordCommand::Register(r)));
    send_all::<Registered<R>, _>(ledger, what, commands).await
}

/// Reads a compiled-in CSV file into records.
fn read_csv<T: serde::de::DeserializeOwned>(
    file: &'static str,
    text: &str,
) -> Result<Vec<T>, SeedError> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()
        .map_err(|e| SeedError::File {
            file,
            message: e.to_string(),
        })
}

/// Parses a date in one of the seed files' formats.
fn parse_date(
    file: &'static str,
    text: &str,
    format: &str,
) -> Result<chrono::NaiveDate, SeedError> {
    chrono::NaiveDate::parse_from_str(text.trim(), format).map_err(|e| SeedError::File {
        file,
        message: format!("bad date {text:?}: {e}"),
    })
}
