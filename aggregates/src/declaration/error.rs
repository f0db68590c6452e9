//! The rules a declaration command can break, with the API's messages, and a refusal listing
//! them in the order they were checked.

use crate::bounds::Invalid;

/// One broken rule; the message is the API's, the attribute its error title.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeclarationError {
    /// Step 1 and 10: not a participant this provider may declare for.
    #[error("{}", crate::PARTICIPANT_NOT_RECOGNISED)]
    ParticipantNotRecognised,
    /// Withdrawn on or before the declaration date.
    #[error(
        "This participant withdrew from this course on {0}. Enter a '#/declaration_date' that's on or before the withdrawal date."
    )]
    WithdrawnBefore(String),
    /// No date.
    #[error("Enter a '#/declaration_date'.")]
    MissingDate,
    /// No type.
    #[error("Enter a '#/declaration_type'.")]
    MissingType,
    /// A date in the future.
    #[error(
        "The '#/declaration_date' value cannot be a future date. Check the date and try again."
    )]
    FutureDate,
    /// Not an RFC 3339 date-time.
    #[error("Enter a valid RCF3339 '#/declaration_date'.")]
    InvalidDate,
    /// Before the milestone opens.
    #[error("Enter a '#/declaration_date' that's on or after the milestone start.")]
    BeforeMilestoneStart,
    /// After the milestone closes.
    #[error("Enter a '#/declaration_date' that's before the milestone end date.")]
    AfterMilestoneEnd,
    /// No evidence on a declaration that needs it.
    #[error("Enter a '#/evidence_held' value for this participant.")]
    MissingEvidence,
    /// Evidence of an unknown kind.
    #[error("Enter an available '#/evidence_held' type for this participant's event and course.")]
    InvalidEvidence,
    /// The type is not a milestone of the schedule.
    #[error("The property '#/declaration_type' does not exist for this schedule.")]
    TypeNotInSchedule,
    /// The milestone is held by a live declaration.
    #[error(
        "A declaration has already been submitted that will be, or has been, paid for this event"
    )]
    Duplicate,
    /// NPQ `completed` without a pass or fail.
    #[error(
        "Enter 'true' or 'false' in the '#/has_passed' field to indicate whether this participant has passed or failed their course."
    )]
    MissingHasPassed,
    /// An outcome without a state.
    #[error(
        "The '#/state' is missing from your request. Please include a 'passed' or 'failed' value and try again."
    )]
    MissingOutcomeState,
    /// An outcome state other than passed or failed.
    #[error(
        "The attribute '#/state' can only include 'passed' or 'failed' values. If you need to void an outcome, you will need to void the associated 'completed' declaration."
    )]
    InvalidOutcomeState,
    /// An outcome without a completion date.
    #[error(
        "The '#/completion_date' is missing from your request. Please include a completion_date value and try again."
    )]
    MissingCompletionDate,
    /// A completion date that is not `yyyy-mm-dd`.
    #[error("The '#/completion_date' value must be in the following format: 'yyyy-mm-dd'")]
    InvalidCompletionDate,
    /// A completion date in the future.
    #[error(
        "The attribute '#/completion_date' cannot contain a future date. Resubmit the outcome update with a valid date."
    )]
    FutureCompletionDate,
    /// No `completed` declaration to record an outcome on.
    #[error(
        "The participant has not had a 'completed' declaration submitted for them. Therefore you cannot update their outcome."
    )]
    NoCompletedDeclaration,
    /// The course is not the participant's.
    #[error("{}", crate::COURSE_NOT_RECOGNISED)]
    CourseNotRecognised,
    /// Voided already.
    #[error("This declaration has already been voided.")]
    AlreadyVoided,
    /// Being or been clawed back.
    #[error(
        "This declaration cannot be voided. Contact the DfE if you have any questions about why you cannot void it."
    )]
    CannotBeVoided,
    /// Not in this slot, or not the caller's.
    #[error("Resource not Found")]
    NotFound,
    /// No course was sent.
    #[error("Enter a '#/course_identifier' value for this participant.")]
    MissingCourse,
    /// The participant id was retired while the request was being made.
    #[error(
        "This '#/participant_id' has just been retired in favour of another id. Send the request again."
    )]
    ParticipantRetired,
    /// A value outside what the ledger stores.
    #[error(transparent)]
    Invalid(#[from] Invalid),
}

impl DeclarationError {
    /// The attribute the API names as the error's title.
    pub fn attribute(&self) -> &'static str {
        match self {
            Self::ParticipantNotRecognised
            | Self::WithdrawnBefore(_)
            | Self::ParticipantRetired => "participant_id",
            Self::MissingDate
            | Self::FutureDate
            | Self::InvalidDate
            | Self::BeforeMilestoneStart
            | Self::AfterMilestoneEnd => "declaration_date",
            Self::MissingType | Self::TypeNotInSchedule => "declaration_type",
            Self::MissingEvidence | Self::InvalidEvidence => "evidence_held",
            Self::Duplicate | Self::NoCompletedDeclaration => "base",
            Self::CourseNotRecognised | Self::MissingCourse => "course_identifier",
            Self::MissingHasPassed => "has_passed",
            Self::MissingOutcomeState | Self::InvalidOutcomeState => "state",
            Self::MissingCompletionDate | Self::InvalidCompletionDate => "completion_date",
            Self::AlreadyVoided
            | Self::CannotBeVoided
            | Self::NotFound
            | Self::FutureCompletionDate => "Invalid action",
            Self::Invalid(invalid) => invalid.attribute(),
        }
    }
}

/// A refused command: the broken rules, in the order they were checked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
pub struct DeclarationRejection(pub Vec<DeclarationError>);

impl From<Invalid> for DeclarationRejection {
    fn from(invalid: Invalid) -> Self {
        DeclarationError::Invalid(invalid).into()
    }
}

impl From<DeclarationError> for DeclarationRejection {
    fn from(error: DeclarationError) -> Self {
        Self(vec![error])
    }
}
