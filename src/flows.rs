//! The use cases: each module looks up the outside facts one kind of command needs, runs it on
//! the ledger and reads the answer back. The API, the admin API, the CLI and the seeds all go
//! through here, so a handler only parses, calls a flow and answers.
//!
//! The statement lifecycle (`crate::finance::lifecycle`) is a flow too, kept beside the
//! pricing it shares its types with.

pub mod declaring;
pub mod npq;
pub mod partnerships;
pub mod retirement;
pub mod school;
pub mod training;
