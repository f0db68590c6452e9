//! cpd-ledger's domain: the aggregates, their commands, events and rules. No IO happens here;
//! callers look up outside facts and put them in the command.

pub mod api_token;
pub mod bounds;
pub mod course;
pub mod declaration;
pub mod finance;
pub mod ids;
pub mod npq;
pub mod record;
pub mod reference;
pub mod retirement;
pub mod school_cohort;
pub mod statement;
pub mod training_record;

pub use ids::*;
pub use record::{Record, RecordCommand, RecordEvent, Registered};
pub use statement::{Statement, StatementCommand, StatementError, StatementEvent, StatementTerms};

use serde::{Deserialize, Serialize};

/// The two training programmes a lead provider can deliver and be paid for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Programme {
    /// The early career framework: ECTs and their mentors.
    Ecf,
    /// National professional qualifications.
    Npq,
}

impl Programme {
    /// The lower-case name the API and the reference data use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ecf => "ecf",
            Self::Npq => "npq",
        }
    }
}

impl std::str::FromStr for Programme {
    type Err = UnknownProgramme;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ecf" => Ok(Self::Ecf),
            "npq" => Ok(Self::Npq),
            _ => Err(UnknownProgramme(s.to_owned())),
        }
    }
}

/// A programme name that is neither `ecf` nor `npq`.
#[derive(Debug, thiserror::Error)]
#[error("unknown programme {0:?}: expected ecf or npq")]
pub struct UnknownProgramme(String);

/// The API's message for a participant the provider may not act on (declarations, actions,
/// NPQ).
pub const PARTICIPANT_NOT_RECOGNISED: &str = "Your update cannot be made as the '#/participant_id' is not recognised. Check participant details and try again.";

/// The API's message for a course that is not the participant's.
pub const COURSE_NOT_RECOGNISED: &str = "The entered '#/course_identifier' is not recognised for the given participant. Check details and try again.";

/// Applies the events a command decided on, through cqrs-es's sink, so that `handle` stays a
/// thin wrapper around a plain `decide` function.
pub(crate) async fn write_all<A: cqrs_es::Aggregate>(
    aggregate: &mut A,
    sink: &cqrs_es::event_sink::EventSink<A>,
    events: Vec<A::Event>,
) {
    for event in events {
        sink.write(event, aggregate).await;
    }
}
