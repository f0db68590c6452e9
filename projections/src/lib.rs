//! cpd-ledger's read models. Each projection follows the event log through a checkpointed
//! catch-up reader ([`runner`]) that batches by snapshot, writing its rows and its checkpoint
//! in one transaction, so every event takes effect exactly once and none is skipped.

pub mod assurance;
pub mod audit;
pub mod declarations;
pub mod event;
pub mod finance;
pub mod lead_providers;
pub mod npq;
pub mod participants;
pub mod pool;
pub mod reference;
pub mod retirements;
pub mod runner;
pub mod schools;
pub mod seals;
pub mod statements;
mod stretches;
pub mod transfers;

#[cfg(test)]
mod tests;

/// The parts of an `impl Projection` that every read model writes alike: its `name`, the
/// aggregate types it reads, the `tables` it alone writes (which `reset` empties, in order, and
/// a rebuild writes afresh), `read_indexes`: those of their indexes that only readers use,
/// which a rebuild builds at its end, `updated_in_place`: those of its tables whose rows its
/// statements update more than once over a log (see [`Projection::updated_in_place`]), and
/// `shared`: a `delete` for each table whose rows it
/// shares with other read models, run after the others. Write it first inside the impl block,
/// then `apply`:
///
/// ```ignore
/// impl Projection for Retirements {
///     read_model!(
///         name: "participant_retirements",
///         reads: [Retirement::TYPE],
///         tables: ["participant_retirements"],
///     );
///
///     async fn apply(&self, conn: &mut PgConnection, event: &StoredEvent) -> ... { ... }
/// }
/// ```
macro_rules! read_model {
    (
        name: $name:literal,
        reads: [$($kind:expr),+ $(,)?],
        tables: [$($table:literal),+ $(,)?]
        $(, read_indexes: [$($index:literal),+ $(,)?])?
        $(, updated_in_place: [$($roomy:literal),+ $(,)?])?
        $(, shared: [$($delete:literal),+ $(,)?])? $(,)?
    ) => {
        fn name(&self) -> &'static str {
            $name
        }

        fn aggregate_types(&self) -> &'static [&'static str] {
            &[$($kind),+]
        }

        fn tables(&self) -> &'static [&'static str] {
            &[$($table),+]
        }

        fn read_indexes(&self) -> &'static [&'static str] {
            &[$($($index),+)?]
        }

        fn updated_in_place(&self) -> &'static [&'static str] {
            &[$($($roomy),+)?]
        }

        // `reset` as `#[async_trait]` writes it: that attribute runs before this macro
        // expands, so it cannot rewrite an `async fn` written here.
        fn reset<'life0, 'life1, 'async_trait>(
            &'life0 self,
            conn: &'life1 mut sqlx::PgConnection,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send + 'async_trait>,
        >
        where
            'life0: 'async_trait,
            'life1: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move {
                $(sqlx::query(concat!("delete from ", $table)).execute(&mut *conn).await?;)+
                $($(sqlx::query!($delete).execute(&mut *conn).await?;)+)?
                Ok(())
            })
        }
    };
}

pub(crate) use read_model;

use std::sync::Arc;

pub use event::{Position, Snapshot, StoredEvent};
pub use runner::{Checkpoint, Halt, Projection, ProjectionError, Rebuilt, Runner, Status};

/// Every read model the service keeps, in the order they are brought up to date.
pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(lead_providers::LeadProviders),
        Arc::new(reference::ReferenceData),
        Arc::new(schools::SchoolCohorts),
        Arc::new(statements::Statements),
        Arc::new(participants::Participants),
        Arc::new(npq::NpqApplications),
        Arc::new(retirements::Retirements),
        Arc::new(declarations::Declarations),
        Arc::new(audit::Subjects),
        Arc::new(seals::Seals::default()),
    ]
}

/// A page of a list: `page[page]` and `page[per_page]`, already validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// The page number, from 1.
    pub number: i64,
    /// Items per page.
    pub size: i64,
}

impl Page {
    /// The number of rows to skip.
    pub fn offset(self) -> i64 {
        (self.number - 1).saturating_mul(self.size)
    }

    /// The number of rows up to the end of the page.
    pub fn end(self) -> i64 {
        self.offset().saturating_add(self.size)
    }
}
