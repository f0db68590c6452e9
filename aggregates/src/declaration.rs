//! Declarations: a provider's claim that a participant reached a milestone of a course.
//!
//! All declarations ever made for one participant's milestone (participant, course, type) live
//! in one [`DeclarationSlot`] aggregate, so the rule "at most one live declaration per
//! milestone, across all providers" is decided on one stream and holds under concurrent
//! requests: the event store lets only one writer append at a time.

mod error;
mod moves;
mod outcome;
mod rules;
mod state;

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::course::Course;
use crate::ids::{
    DeclarationId, DeliveryPartnerId, LeadProviderId, ParticipantId, StatementId, TrainingRecordId,
};
use crate::reference::{DeclarationType, Schedule};

pub use error::{DeclarationError, DeclarationRejection};
pub use outcome::{Outcome, OutcomeRequest, OutcomeState};
pub use rules::parse_declaration_date;
pub use state::{DeclarationState, Uplifts, transition};

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
