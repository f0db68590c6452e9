//! Declarations: a provider's claim that a participant reached a milestone of a course.
//!
//! All declarations ever made for one participant's milestone (participant, course, type) live
//! in one [`DeclarationSlot`] aggregate, so the rule "at most one live declaration per
//! milestone, across all providers" is decided on one stream and holds under concurrent
//! requests: the event store lets only one writer append at a time.

mod moves;
mod outcome;
mod rules;

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::bounds::Invalid;
use crate::course::Course;
use crate::ids::{
    DeclarationId, DeliveryPartnerId, LeadProviderId, ParticipantId, StatementId, TrainingRecordId,
};
use crate::reference::{DeclarationType, Schedule};

pub use outcome::{Outcome, OutcomeRequest, OutcomeState};
pub use rules::parse_declaration_date;

/// The states of a declaration, dasherized as the API shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeclarationState {
    /// Accepted; the participant is not (yet) fundable.
    Submitted,
    /// Fundable; waiting for its statement's deadline.
    Eligible,
    /// Its statement closed; to be paid.
    Payable,
    /// Paid.
    Paid,
    /// Voided by its provider.
    Voided,
    /// A duplicate of another person's declaration with the same TRN.
    Ineligible,
    /// Voided after payment; to be clawed back.
    AwaitingClawback,
    /// Clawed back.
    ClawedBack,
}

impl DeclarationState {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Eligible => "eligible",
            Self::Payable => "payable",
            Self::Paid => "paid",
            Self::Voided => "voided",
            Self::Ineligible => "ineligible",
            Self::AwaitingClawback => "awaiting-clawback",
            Self::ClawedBack => "clawed-back",
        }
    }

    /// Every state.
    pub const ALL: [Self; 8] = [
        Self::Submitted,
        Self::Eligible,
        Self::Payable,
        Self::Paid,
        Self::Voided,
        Self::Ineligible,
        Self::AwaitingClawback,
        Self::ClawedBack,
    ];

    /// Parses the name the API uses.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }

    /// Whether it holds the milestone: submitted, eligible, payable or paid. Statement events
    /// never change it (eligible → payable → paid, awaiting clawback → clawed back), so the
    /// read side's set-based statement updates leave its `live` column as it is.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            Self::Submitted | Self::Eligible | Self::Payable | Self::Paid
        )
    }

    /// Whether its statement counts it as a billable line: eligible, payable or paid, and a
    /// paid line stays billable once voided (awaiting clawback or clawed back).
    pub fn is_billable(self) -> bool {
        matches!(
            self,
            Self::Eligible | Self::Payable | Self::Paid | Self::AwaitingClawback | Self::ClawedBack
        )
    }

    /// Whether its clawback statement counts it as a refundable line.
    pub fn is_refundable(self) -> bool {
        matches!(self, Self::AwaitingClawback | Self::ClawedBack)
    }

    /// Whether it was paid: paid, or voided after payment.
    pub fn was_paid(self) -> bool {
        matches!(self, Self::Paid | Self::AwaitingClawback | Self::ClawedBack)
    }

    /// Whether v1 calls it eligible for payment: eligible or payable, not yet paid.
    pub fn is_eligible_for_payment(self) -> bool {
        matches!(self, Self::Eligible | Self::Payable)
    }

    /// Whether the API shows its uplift as paid: a paid `started` declaration on a course that
    /// carries an uplift the participant has (ECF induction: pupil premium or sparsity; an NPQ
    /// course with outcomes: targeted delivery funding). Deliberately never for mentors, whose
    /// uplifts finance still counts (docs/finance.md: "mentors included, as the calculator
    /// does").
    pub fn shows_uplift_paid(
        self,
        declaration_type: &str,
        course: Option<Course>,
        uplifts: Uplifts,
    ) -> bool {
        let uplift = match course {
            Some(Course::EcfInduction) => uplifts.pupil_premium || uplifts.sparsity,
            Some(course) if course.has_outcomes() => uplifts.targeted_delivery_funding,
            _ => false,
        };
        self.was_paid() && declaration_type == "started" && uplift
    }
}

/// The uplifts a participant has, as the declaration's read model records them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Uplifts {
    /// ECF: the school's pupil premium uplift.
    pub pupil_premium: bool,
    /// ECF: the school's sparsity uplift.
    pub sparsity: bool,
    /// NPQ: targeted delivery funding.
    pub targeted_delivery_funding: bool,
}

/// What one event does to a declaration already recorded and its state: the one transition
/// function, used by the slot and by finance's fold of the log. Events of other declarations,
/// and those that do not move one (`Submitted`, `OutcomeRecorded`), change nothing.
pub fn transition(
    declaration: &mut Declaration,
    state: &mut DeclarationState,
    event: &DeclarationSlotEvent,
) {
    use DeclarationSlotEvent as V;
    if event.moved() != Some(declaration.id) {
        return;
    }
    match *event {
        V::Submitted(_) | V::OutcomeRecorded(_) | V::MovedOut { .. } | V::MovedIn(_) => {}
        V::Voided { .. } => *state = DeclarationState::Voided,
        V::ClawbackRequested { statement_id, .. } => {
            *state = DeclarationState::AwaitingClawback;
            declaration.clawback_statement_id = statement_id;
        }
        V::BecameEligible { statement_id, .. } => {
            *state = DeclarationState::Eligible;
            declaration.statement_id = statement_id;
        }
        V::Attached {
            statement_id,
            clawback,
            ..
        } => match clawback {
            true => declaration.clawback_statement_id = Some(statement_id),
            false => declaration.statement_id = Some(statement_id),
        },
        V::BecamePayable { .. } => *state = DeclarationState::Payable,
        V::BecamePaid { .. } => *state = DeclarationState::Paid,
        V::ClawedBack { .. } => *state = DeclarationState::ClawedBack,
    }
}

/// The id of the slot for one participant's milestone of a course.
pub fn slot_id(participant: &str, course: &str, declaration_type: &str) -> String {
    crate::ids::derived(&format!(
        "declaration-slot:{participant}:{course}:{declaration_type}"
    ))
    .to_string()
}

/// A declaration request as the provider sent it; the rules parse it in the API's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeclarationRequest {
    /// `participant_id`.
    pub participant_id: String,
    /// `declaration_type`.
    pub declaration_type: Option<String>,
    /// `declaration_date`.
    pub declaration_date: Option<String>,
    /// `course_identifier`.
    pub course_identifier: Option<String>,
    /// `evidence_held`.
    pub evidence_held: Option<String>,
    /// `has_passed`: `true` or `false` (NPQ `completed`).
    pub has_passed: Option<String>,
}

/// What the caller found out about the participant for this request.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolution {
    /// The course is not one this participant could be on.
    UnknownCourse,
    /// No training record of the participant for the course.
    UnknownParticipant,
    /// The training record, and the facts the rules need.
    Found(Box<ParticipantFacts>),
}

/// Facts about the participant, looked up by the caller from the read side.
#[derive(Clone, Debug, PartialEq)]
pub struct ParticipantFacts {
    /// The person.
    pub participant_id: ParticipantId,
    /// Their training record for the course.
    pub training_record_id: TrainingRecordId,
    /// The course.
    pub course: Course,
    /// The record's cohort.
    pub cohort: i32,
    /// The record's current schedule.
    pub schedule: Schedule,
    /// When this provider withdrew the participant, if its latest stint is withdrawn.
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// Whether this provider ever trained the participant on the current schedule.
    pub trained_on_schedule: bool,
    /// Whether the participant is fundable.
    pub eligible_for_funding: bool,
    /// Pupil premium uplift on the record.
    pub pupil_premium_uplift: bool,
    /// Sparsity uplift on the record.
    pub sparsity_uplift: bool,
    /// NPQ: targeted delivery funding on the application.
    pub targeted_delivery_funding: bool,
    /// This provider's delivery partner for the participant.
    pub delivery_partner_id: Option<DeliveryPartnerId>,
    /// The ECT's mentor.
    pub mentor_id: Option<ParticipantId>,
    /// Another person with the same TRN holds this milestone with this declaration.
    pub held_under_same_trn: Option<DeclarationId>,
}

/// A submission: the request, the facts, the new declaration's id and the time.
#[derive(Clone, Debug, PartialEq)]
pub struct Submission {
    /// The id the declaration gets if accepted.
    pub declaration_id: DeclarationId,
    /// The provider submitting.
    pub lead_provider_id: LeadProviderId,
    /// What it sent.
    pub request: DeclarationRequest,
    /// What is known of the participant.
    pub resolution: Resolution,
    /// The server's now (the sandbox may move it).
    pub now: DateTime<Utc>,
    /// The provider's open output-fee statement for the cohort now, for a billable line.
    pub statement: Option<StatementId>,
}

/// An accepted declaration, as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Declaration {
    /// Its id.
    pub id: DeclarationId,
    /// The person.
    pub participant_id: ParticipantId,
    /// The training record.
    pub training_record_id: TrainingRecordId,
    /// The submitting provider.
    pub lead_provider_id: LeadProviderId,
    /// The course.
    pub course: Course,
    /// The milestone.
    pub declaration_type: DeclarationType,
    /// When the provider says it happened.
    pub declaration_date: DateTime<Utc>,
    /// The evidence the provider holds.
    pub evidence_held: Option<String>,
    /// The state it started in.
    pub state: DeclarationState,
    /// For an ineligible duplicate, the declaration it duplicates.
    pub superseded_by: Option<DeclarationId>,
    /// The provider's delivery partner at submission.
    pub delivery_partner_id: Option<DeliveryPartnerId>,
    /// The ECT's mentor at submission.
    pub mentor_id: Option<ParticipantId>,
    /// Pupil premium uplift at submission.
    pub pupil_premium_uplift: bool,
    /// Sparsity uplift at submission.
    pub sparsity_uplift: bool,
    /// The record's cohort at submission.
    pub cohort: i32,
    /// The statement its line item is on (none while submitted, or while no statement is
    /// open); chosen when it becomes billable and never re-derived.
    #[serde(default)]
    pub statement_id: Option<StatementId>,
    /// The statement its clawback is on, once a paid declaration is voided.
    #[serde(default)]
    pub clawback_statement_id: Option<StatementId>,
    /// NPQ: targeted delivery funding at submission.
    #[serde(default)]
    pub targeted_delivery_funding: bool,
    /// NPQ `completed`: whether the provider said the participant passed.
    #[serde(default)]
    pub has_passed: Option<bool>,
}

/// All declarations of one participant's milestone.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DeclarationSlot {
    declarations: Vec<(Declaration, DeclarationState)>,
    /// NPQ outcomes of the slot's `completed` declarations, oldest first.
    #[serde(default)]
    outcomes: Vec<Outcome>,
    /// The person kept when the slot's participant id was retired: the declarations live on
    /// in that person's slot, and this one takes no more commands.
    #[serde(default)]
    moved_to: Option<ParticipantId>,
}

/// Commands on a slot.
#[derive(Clone, Debug)]
pub enum DeclarationSlotCommand {
    /// Submit a declaration; an exact resend of the provider's live one changes nothing.
    Submit(Box<Submission>),
    /// The provider voids one of its declarations; a paid one is clawed back on
    /// `clawback_statement` (the next open output-fee statement, if any). Its line is paid when
    /// the statement it is on has been paid (`statement_paid`, looked up by the caller: a
    /// line's payment is recorded on its statement, not on the declaration's stream).
    Void {
        declaration_id: DeclarationId,
        lead_provider_id: LeadProviderId,
        clawback_statement: Option<StatementId>,
        statement_paid: bool,
    },
    /// The participant became fundable: a submitted declaration becomes eligible, on the
    /// statement open now.
    MarkEligible {
        declaration_id: DeclarationId,
        statement_id: Option<StatementId>,
    },
    /// The provider records a later NPQ outcome on its latest `completed` declaration.
    RecordOutcome(Box<OutcomeRequest>),
    /// The slot's participant id was retired: close the slot, its declarations moving to the
    /// kept person's slot for the same milestone.
    MoveOut { to: ParticipantId },
    /// Take in the declarations and outcomes of a retired id's slot for the same milestone.
    MoveIn(Box<Moved>),
}

/// A retired id's declarations and outcomes for one milestone, moving to the kept person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Moved {
    /// The kept person.
    pub participant_id: ParticipantId,
    /// The declarations, with their states.
    pub declarations: Vec<(Declaration, DeclarationState)>,
    /// Their NPQ outcomes.
    pub outcomes: Vec<Outcome>,
}

/// Events of a slot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DeclarationSlotEvent {
    /// A declaration was accepted.
    Submitted(Box<Declaration>),
    /// A declaration was voided before payment.
    Voided { declaration_id: DeclarationId },
    /// A paid declaration was voided: its payment is to be clawed back.
    ClawbackRequested {
        declaration_id: DeclarationId,
        /// The statement the clawback is on.
        #[serde(default)]
        statement_id: Option<StatementId>,
    },
    /// A submitted declaration became eligible for payment.
    BecameEligible {
        declaration_id: DeclarationId,
        /// The statement its line item is on.
        #[serde(default)]
        statement_id: Option<StatementId>,
    },
    /// A line left without a statement was put on one (recorded before statements took their
    /// lines in their own `Added` event).
    Attached {
        declaration_id: DeclarationId,
        statement_id: StatementId,
        /// Whether it is the clawback line.
        clawback: bool,
    },
    /// Its statement closed: it is payable (recorded before a line's state followed from its
    /// statement's own events).
    BecamePayable { declaration_id: DeclarationId },
    /// Its statement was paid (as above: no longer recorded).
    BecamePaid { declaration_id: DeclarationId },
    /// The statement with its clawback was paid (as above: no longer recorded).
    ClawedBack { declaration_id: DeclarationId },
    /// An NPQ outcome: passed or failed with a `completed` declaration or later, voided with
    /// it.
    OutcomeRecorded(Box<Outcome>),
    /// The slot's participant id was retired in favour of this person; the slot is closed.
    MovedOut { participant_id: ParticipantId },
    /// Declarations and outcomes of a retired id arrived, now the kept person's (a live one
    /// arriving where one is live already arrives ineligible, superseded by it).
    MovedIn(Box<Moved>),
}

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

impl DeclarationSlotEvent {
    /// The recorded declaration whose state the event moves; none for `Submitted` (a new one),
    /// `OutcomeRecorded` (an outcome beside it) and a retirement's `MovedOut` and `MovedIn`
    /// (which carry whole declarations between people's slots).
    pub fn moved(&self) -> Option<DeclarationId> {
        match self {
            Self::Submitted(_)
            | Self::OutcomeRecorded(_)
            | Self::MovedOut { .. }
            | Self::MovedIn(_) => None,
            Self::Voided { declaration_id }
            | Self::ClawbackRequested { declaration_id, .. }
            | Self::BecameEligible { declaration_id, .. }
            | Self::Attached { declaration_id, .. }
            | Self::BecamePayable { declaration_id }
            | Self::BecamePaid { declaration_id }
            | Self::ClawedBack { declaration_id } => Some(*declaration_id),
        }
    }
}

impl DomainEvent for DeclarationSlotEvent {
    fn event_type(&self) -> String {
        let name = match self {
            Self::Submitted(_) => "Submitted",
            Self::Voided { .. } => "Voided",
            Self::ClawbackRequested { .. } => "ClawbackRequested",
            Self::BecameEligible { .. } => "BecameEligible",
            Self::Attached { .. } => "Attached",
            Self::BecamePayable { .. } => "BecamePayable",
            Self::BecamePaid { .. } => "BecamePaid",
            Self::ClawedBack { .. } => "ClawedBack",
            Self::OutcomeRecorded(_) => "OutcomeRecorded",
            Self::MovedOut { .. } => "MovedOut",
            Self::MovedIn(_) => "MovedIn",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

impl DeclarationSlot {
    /// One of the slot's declarations as its events leave it, with its state.
    pub fn declaration(&self, id: DeclarationId) -> Option<(&Declaration, DeclarationState)> {
        self.declarations
            .iter()
            .find(|(d, _)| d.id == id)
            .map(|(d, state)| (d, *state))
    }

    /// The declaration holding the milestone, if any.
    pub fn live(&self) -> Option<&Declaration> {
        self.declarations
            .iter()
            .find(|(_, state)| state.is_live())
            .map(|(d, _)| d)
    }

    fn decide(
        &self,
        command: DeclarationSlotCommand,
    ) -> Result<Vec<DeclarationSlotEvent>, DeclarationRejection> {
        use DeclarationSlotEvent as V;
        if let Some(kept) = self.moved_to {
            return match command {
                DeclarationSlotCommand::MoveOut { to } if to == kept => Ok(vec![]),
                _ => Err(DeclarationError::ParticipantRetired.into()),
            };
        }
        match command {
            DeclarationSlotCommand::MoveOut { to } => Ok(vec![V::MovedOut { participant_id: to }]),
            DeclarationSlotCommand::MoveIn(moved) => Ok(moves::arrive(self, *moved)
                .map(|moved| V::MovedIn(Box::new(moved)))
                .into_iter()
                .collect()),
            DeclarationSlotCommand::Submit(submission) => {
                let Some(declaration) = rules::check(self, &submission)? else {
                    return Ok(vec![]);
                };
                let outcome = declaration.has_passed.map(|passed| {
                    let state = match passed {
                        true => OutcomeState::Passed,
                        false => OutcomeState::Failed,
                    };
                    let date = declaration.declaration_date.date_naive();
                    self.outcome_of(&declaration, state, date)
                });
                let mut events = vec![V::Submitted(Box::new(declaration))];
                events.extend(outcome.map(|o| V::OutcomeRecorded(Box::new(o))));
                Ok(events)
            }
            DeclarationSlotCommand::Void {
                declaration_id,
                lead_provider_id,
                clawback_statement,
                statement_paid,
            } => {
                let state = self.state_of(declaration_id, Some(lead_provider_id))?;
                let paid = state == DeclarationState::Paid
                    || (statement_paid
                        && matches!(
                            state,
                            DeclarationState::Eligible | DeclarationState::Payable
                        ));
                let mut events = match state {
                    DeclarationState::Voided => return Err(DeclarationError::AlreadyVoided.into()),
                    DeclarationState::AwaitingClawback | DeclarationState::ClawedBack => {
                        return Err(DeclarationError::CannotBeVoided.into());
                    }
                    _ if paid => vec![V::ClawbackRequested {
                        declaration_id,
                        statement_id: clawback_statement,
                    }],
                    _ => vec![V::Voided { declaration_id }],
                };
                events.extend(
                    self.void_outcome(declaration_id)
                        .map(Box::new)
                        .map(V::OutcomeRecorded),
                );
                Ok(events)
            }
            DeclarationSlotCommand::MarkEligible {
                declaration_id,
                statement_id,
            } => match self.state_of(declaration_id, None)? {
                DeclarationState::Submitted => Ok(vec![V::BecameEligible {
                    declaration_id,
                    statement_id,
                }]),
                _ => Ok(vec![]),
            },
            DeclarationSlotCommand::RecordOutcome(request) => Ok(outcome::record(self, &request)?
                .map(|o| V::OutcomeRecorded(Box::new(o)))
                .into_iter()
                .collect()),
        }
    }

    /// The slot's declarations with their states, oldest first.
    pub fn declarations(&self) -> &[(Declaration, DeclarationState)] {
        &self.declarations
    }

    /// The outcomes of the slot's declarations, oldest first.
    pub fn outcomes(&self) -> &[Outcome] {
        &self.outcomes
    }

    /// A new outcome of a declaration, with an id derived from how many it had before.
    fn outcome_of(
        &self,
        declaration: &Declaration,
        state: OutcomeState,
        completion_date: NaiveDate,
    ) -> Outcome {
        let before = self
            .outcomes
            .iter()
            .filter(|o| o.declaration_id == declaration.id)
            .count();
        Outcome {
            id: crate::ids::derived(&format!("outcome:{}:{before}", declaration.id)),
            declaration_id: declaration.id,
            participant_id: declaration.participant_id,
            lead_provider_id: declaration.lead_provider_id,
            course: declaration.course,
            state,
            completion_date,
        }
    }

    /// The `voided` outcome a void appends, unless the latest outcome is voided already.
    fn void_outcome(&self, declaration_id: DeclarationId) -> Option<Outcome> {
        let latest = self
            .outcomes
            .iter()
            .rev()
            .find(|o| o.declaration_id == declaration_id)?;
        if latest.state == OutcomeState::Voided {
            return None;
        }
        let (declaration, _) = self.entry(declaration_id).ok()?;
        Some(self.outcome_of(declaration, OutcomeState::Voided, latest.completion_date))
    }

    fn entry(
        &self,
        id: DeclarationId,
    ) -> Result<&(Declaration, DeclarationState), DeclarationError> {
        self.declarations
            .iter()
            .find(|(d, _)| d.id == id)
            .ok_or(DeclarationError::NotFound)
    }

    fn state_of(
        &self,
        id: DeclarationId,
        owner: Option<LeadProviderId>,
    ) -> Result<DeclarationState, DeclarationError> {
        self.declarations
            .iter()
            .find(|(d, _)| d.id == id && owner.is_none_or(|owner| d.lead_provider_id == owner))
            .map(|(_, state)| *state)
            .ok_or(DeclarationError::NotFound)
    }
}

impl Aggregate for DeclarationSlot {
    const TYPE: &'static str = "declaration_slot";
    type Command = DeclarationSlotCommand;
    type Event = DeclarationSlotEvent;
    type Error = DeclarationRejection;
    type Services = ();

    async fn handle(
        &mut self,
        command: DeclarationSlotCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), DeclarationRejection> {
        let events = self.decide(command)?;
        crate::write_all(self, sink, events).await;
        Ok(())
    }

    fn apply(&mut self, event: DeclarationSlotEvent) {
        match event {
            DeclarationSlotEvent::Submitted(declaration) => {
                let state = declaration.state;
                self.declarations.push((*declaration, state));
            }
            DeclarationSlotEvent::OutcomeRecorded(outcome) => self.outcomes.push(*outcome),
            DeclarationSlotEvent::MovedOut { participant_id } => {
                self.moved_to = Some(participant_id);
            }
            DeclarationSlotEvent::MovedIn(moved) => {
                self.declarations.extend(moved.declarations);
                self.outcomes.extend(moved.outcomes);
            }
            event => {
                if let Some((declaration, state)) = self
                    .declarations
                    .iter_mut()
                    .find(|(d, _)| Some(d.id) == event.moved())
                {
                    transition(declaration, state, &event);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
