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
pub mod transfers;

#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use event::{Position, Snapshot, StoredEvent};
pub use runner::{Checkpoint, Halt, Projection, ProjectionError, Runner, Status};

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
}
