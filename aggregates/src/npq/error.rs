//! Why an NPQ command was refused, with the API's messages and error titles.

use crate::training_record::TrainingRecordError;

/// Why an NPQ command was refused; the message is the API's.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum NpqError {
    /// Not one of the caller's applications.
    #[error("Resource not Found")]
    NotFound,
    /// Sent before with other details.
    #[error("This application is already registered with different details")]
    AppliedDifferently,
    /// Accepted already.
    #[error("This NPQ application has already been accepted")]
    AlreadyAccepted,
    /// Rejected applications stay rejected.
    #[error("Once rejected an application cannot change state")]
    RejectedIsFinal,
    /// The person already holds a place on the course.
    #[error("The participant has already had an application accepted for this course.")]
    PlaceTaken,
    /// Rejected already.
    #[error("This NPQ application has already been rejected")]
    AlreadyRejected,
    /// Accepted applications stay accepted.
    #[error("Once accepted an application cannot change state")]
    AcceptedIsFinal,
    /// The course has no schedule in the cohort.
    #[error("There is no schedule for this course in the application's cohort")]
    NoSchedule,
    /// Deferring needs a declaration.
    #[error("You cannot defer an NPQ participant that has no declarations")]
    DeferWithoutDeclarations,
    /// Withdrawing needs a `started` declaration.
    #[error(
        "An NPQ participant who has not got a started declaration cannot be withdrawn. Please contact support for assistance"
    )]
    WithdrawWithoutStart,
    /// A rule shared with ECF training records.
    #[error(transparent)]
    Training(#[from] TrainingRecordError),
    /// A value outside what the ledger stores.
    #[error(transparent)]
    Invalid(#[from] crate::bounds::Invalid),
}

impl NpqError {
    /// The attribute the API names as the error's title.
    pub fn attribute(&self) -> &'static str {
        match self {
            Self::NotFound => "Invalid action",
            Self::AppliedDifferently
            | Self::AlreadyAccepted
            | Self::RejectedIsFinal
            | Self::PlaceTaken
            | Self::AlreadyRejected
            | Self::AcceptedIsFinal
            | Self::NoSchedule => "npq_application",
            Self::DeferWithoutDeclarations | Self::WithdrawWithoutStart => "participant_profile",
            Self::Training(error) => error.attribute(),
            Self::Invalid(invalid) => invalid.attribute(),
        }
    }
}
