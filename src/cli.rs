//! The CLI subcommands besides `serve`, one module per command family; what they print in
//! more than one format is rendered by `crate::reports`.

mod audit;
mod npq;
mod participants;
mod read_models;
mod schools;
mod statements;
mod tokens;

pub use audit::{AuditCommand, audit};
pub use npq::{NpqRegistrationCommand, npq};
pub use participants::{ParticipantCommand, participant};
pub use read_models::{projections_status, replay};
pub use schools::{SchoolCommand, school};
pub use statements::{StatementChoice, StatementsCommand, statements};
pub use tokens::{create_token, list_tokens, revoke_token};
