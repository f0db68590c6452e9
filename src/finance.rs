//! Finance, shared by the scheduler, the finance API and the CLI: the statement lifecycle
//! ([`lifecycle`]) and pricing ([`pricing`]).

use aggregates::StatementError;
use aggregates::StatementId;

use crate::ledger::LedgerError;

pub mod lifecycle;
pub mod pricing;
mod shown;

pub use lifecycle::{
    add_statement, close, close_due, close_due_by_database_clock, hold_payment, open_statement, pay,
};
pub use pricing::{
    BandLine, CourseLine, StatementBreakdown, StatementStatus, breakdown, breakdowns, replay_all,
};

/// Why a lifecycle step failed.
#[derive(Debug, thiserror::Error)]
pub enum FinanceError {
    /// The statement refused.
    #[error(transparent)]
    Statement(#[from] LedgerError<StatementError>),
    /// The read models failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The read models could not catch up with the log.
    #[error(transparent)]
    Projection(#[from] projections::ProjectionError),
    /// No such statement.
    #[error("no statement has the id {0}")]
    UnknownStatement(StatementId),
    /// No lead provider has the statement's `lead_provider_id`.
    #[error("The '#/lead_provider_id' is not recognised")]
    UnknownLeadProvider,
    /// The statement's cohort is not in the reference data.
    #[error("The '#/cohort' you have entered is invalid. Check cohort details and try again.")]
    UnknownCohort,
    /// The provider has no ECF contract for the statement's cohort.
    #[error("statement {0}: the provider has no ECF contract for its cohort")]
    NoContract(StatementId),
    /// Finance added an ECF statement for a cohort the provider has no contract for, which
    /// could never be priced.
    #[error("The lead provider has no ECF contract for the '#/cohort' you have entered.")]
    WithoutContract,
}
