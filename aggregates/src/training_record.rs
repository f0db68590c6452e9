//! An ECF training record: one person trained as an ECT or as a mentor (one person may hold
//! both, under one participant id). Schools register and move participants; lead providers
//! defer, resume, withdraw and change their schedule. Each school placement is a stint with
//! one lead provider, and each provider acts on its own latest stint.

mod schedule;
mod values;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

pub use schedule::{declarations_fit, schedule_permits};
pub use values::{Placement, Registration, ScheduleChange, StatusChange, Stint};

use crate::bounds::{self, Invalid};
use crate::course::TrainingStatus;
use crate::ids::{LeadProviderId, ParticipantId};

/// What the school reported about a participant's placement, as of `now`: leaving or left,
/// joining, else active or (when the provider withdrew them) withdrawn.
pub fn participant_status(
    start_at: DateTime<Utc>,
    end_at: Option<DateTime<Utc>>,
    withdrawn: bool,
    now: DateTime<Utc>,
) -> &'static str {
    match end_at {
        Some(end) if end > now => "leaving",
        Some(_) => "left",
        None if start_at > now => "joining",
        None if withdrawn => "withdrawn",
        None => "active",
    }
}

/// The training record aggregate.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// As registered, to recognise a repeated registration.
    original: Option<Registration>,
    /// As registered and amended since.
    registration: Option<Registration>,
    stints: Vec<Stint>,
}

/// Commands on a training record.
#[derive(Clone, Debug)]
pub enum TrainingRecordCommand {
    /// A school registers the participant (a repeat with identical details changes nothing).
    Register(Box<Registration>),
    /// A school assigns (or removes) the ECT's mentor.
    AssignMentor(Option<ParticipantId>),
    /// Funding eligibility is decided.
    ChangeFundingEligibility(Option<bool>),
    /// The school reports the participant is leaving on a date.
    ReportLeaving(DateTime<Utc>),
    /// Another school takes the participant on, possibly with another lead provider.
    Join(Placement),
    /// The provider defers training.
    Defer {
        lead_provider_id: LeadProviderId,
        reason: String,
        at: DateTime<Utc>,
    },
    /// The provider resumes training.
    Resume {
        lead_provider_id: LeadProviderId,
        at: DateTime<Utc>,
    },
    /// The provider withdraws the participant.
    Withdraw {
        lead_provider_id: LeadProviderId,
        reason: String,
        at: DateTime<Utc>,
    },
    /// The provider moves the participant to another schedule.
    ChangeSchedule(Box<ScheduleChange>),
    /// The DfE retired the person's id: the record now belongs to the kept person.
    Reassign(ParticipantId),
}

/// Events of a training record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TrainingRecordEvent {
    /// Registered at a school.
    Registered(Box<Registration>),
    /// The mentor changed.
    MentorAssigned { mentor_id: Option<ParticipantId> },
    /// Funding eligibility changed.
    FundingEligibilityChanged { eligible_for_funding: Option<bool> },
    /// The school reported a leaving date for the current placement.
    LeavingReported { end: DateTime<Utc> },
    /// A new placement began (a transfer).
    Joined(Placement),
    /// A provider deferred training.
    Deferred {
        lead_provider_id: LeadProviderId,
        reason: String,
        at: DateTime<Utc>,
    },
    /// A provider resumed training.
    Resumed {
        lead_provider_id: LeadProviderId,
        at: DateTime<Utc>,
    },
    /// A provider withdrew the participant.
    Withdrawn {
        lead_provider_id: LeadProviderId,
        reason: String,
        at: DateTime<Utc>,
    },
    /// A provider changed the schedule.
    ScheduleChanged {
        lead_provider_id: LeadProviderId,
        schedule_identifier: String,
        at: DateTime<Utc>,
    },
    /// The record moved to the person kept when its person's id was retired.
    Reassigned { participant_id: ParticipantId },
}

/// Why a training record command was refused; the message is the API's.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrainingRecordError {
    /// The participant is not one of the provider's.
    #[error("{}", crate::PARTICIPANT_NOT_RECOGNISED)]
    NotRecognised,
    /// Registered before with other details.
    #[error("This participant is already registered with different details")]
    RegisteredDifferently,
    /// Not yet registered.
    #[error("The participant has not been registered")]
    NotRegistered,
    /// Withdrawn already.
    #[error("The participant is already withdrawn")]
    AlreadyWithdrawn,
    /// Deferred already.
    #[error("The participant is already deferred")]
    AlreadyDeferred,
    /// Active already.
    #[error("The participant is already active")]
    AlreadyActive,
    /// Withdrawn participants keep their schedule.
    #[error("Cannot perform actions on a withdrawn participant")]
    WithdrawnCannotChangeSchedule,
    /// No such schedule in the cohort.
    #[error(
        "The property '#/schedule_identifier' must be present and correspond to a valid schedule"
    )]
    UnknownSchedule,
    /// The schedule is the current one.
    #[error("Selected schedule is already on the profile")]
    SameSchedule,
    /// The schedule does not permit the course.
    #[error("Selected schedule is not valid for the course")]
    ScheduleNotForCourse,
    /// A live declaration falls outside the new schedule's windows.
    #[error("Changing schedule would invalidate existing declarations. Please void them first.")]
    WouldInvalidateDeclarations,
    /// ECF participants keep their cohort.
    #[error("The property '#/cohort' cannot be changed")]
    CohortCannotChange,
    /// A value outside what the ledger stores.
    #[error(transparent)]
    Invalid(#[from] Invalid),
}

impl TrainingRecordError {
    /// The attribute the API names as the error's title.
    pub fn attribute(&self) -> &'static str {
        match self {
            Self::NotRecognised | Self::WithdrawnCannotChangeSchedule => "participant_id",
            Self::RegisteredDifferently | Self::NotRegistered => "participant_id",
            Self::AlreadyWithdrawn | Self::AlreadyDeferred | Self::AlreadyActive => {
                "participant_profile"
            }
            Self::UnknownSchedule
            | Self::SameSchedule
            | Self::ScheduleNotForCourse
            | Self::WouldInvalidateDeclarations => "schedule_identifier",
            Self::CohortCannotChange => "cohort",
            Self::Invalid(invalid) => invalid.attribute(),
        }
    }
}

impl TrainingRecordCommand {
    /// Refuses dates, cohorts and text that a read model could not store or a view render.
    pub fn check_bounds(&self) -> Result<(), Invalid> {
        match self {
            Self::Register(registration) => {
                bounds::text("full_name", &registration.full_name)?;
                bounds::text("email", &registration.email)?;
                bounds::optional_text("teacher_reference_number", registration.trn.as_deref())?;
                bounds::cohort("cohort", registration.cohort)?;
                bounds::text("schedule_identifier", &registration.schedule_identifier)?;
                check_placement(&registration.placement)
            }
            Self::AssignMentor(_) | Self::ChangeFundingEligibility(_) | Self::Reassign(_) => Ok(()),
            Self::ReportLeaving(end) => bounds::instant("end_date", *end),
            Self::Join(placement) => check_placement(placement),
            Self::Defer { reason, at, .. } | Self::Withdraw { reason, at, .. } => {
                bounds::text("reason", reason)?;
                bounds::instant("at", *at)
            }
            Self::Resume { at, .. } => bounds::instant("at", *at),
            Self::ChangeSchedule(change) => {
                bounds::cohort("cohort", change.cohort)?;
                bounds::instant("at", change.at)
            }
        }
    }
}

fn check_placement(placement: &Placement) -> Result<(), Invalid> {
    bounds::text("school_urn", &placement.school_urn)?;
    bounds::instant("start_date", placement.start)
}

impl DomainEvent for TrainingRecordEvent {
    fn event_type(&self) -> String {
        let name = match self {
            Self::Registered(_) => "Registered",
            Self::MentorAssigned { .. } => "MentorAssigned",
            Self::FundingEligibilityChanged { .. } => "FundingEligibilityChanged",
            Self::LeavingReported { .. } => "LeavingReported",
            Self::Joined(_) => "Joined",
            Self::Deferred { .. } => "Deferred",
            Self::Resumed { .. } => "Resumed",
            Self::Withdrawn { .. } => "Withdrawn",
            Self::ScheduleChanged { .. } => "ScheduleChanged",
            Self::Reassigned { .. } => "Reassigned",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

impl TrainingRecord {
    /// What the school registered, as amended since.
    pub fn registration(&self) -> Option<&Registration> {
        self.registration.as_ref()
    }

    /// Every placement, oldest first.
    pub fn stints(&self) -> &[Stint] {
        &self.stints
    }

    /// The provider's latest stint.
    pub fn latest_stint_of(&self, provider: LeadProviderId) -> Option<&Stint> {
        self.stints
            .iter()
            .rev()
            .find(|s| s.placement.lead_provider_id == provider)
    }

    fn decide(
        &self,
        command: TrainingRecordCommand,
    ) -> Result<Vec<TrainingRecordEvent>, TrainingRecordError> {
        use TrainingRecordCommand as C;
        use TrainingRecordError as E;
        use TrainingRecordEvent as V;
        command.check_bounds()?;
        let Some(registration) = &self.registration else {
            return match command {
                C::Register(registration) => Ok(vec![V::Registered(registration)]),
                _ => Err(E::NotRegistered),
            };
        };
        match command {
            C::Register(again) if self.original.as_ref() == Some(&*again) => Ok(vec![]),
            C::Register(_) => Err(E::RegisteredDifferently),
            C::AssignMentor(mentor_id) if mentor_id == registration.mentor_id => Ok(vec![]),
            C::AssignMentor(mentor_id) => Ok(vec![V::MentorAssigned { mentor_id }]),
            C::ChangeFundingEligibility(eligible)
                if eligible == registration.eligible_for_funding =>
            {
                Ok(vec![])
            }
            C::ChangeFundingEligibility(eligible_for_funding) => {
                Ok(vec![V::FundingEligibilityChanged {
                    eligible_for_funding,
                }])
            }
            C::ReportLeaving(end) => Ok(vec![V::LeavingReported { end }]),
            C::Join(placement) => Ok(vec![V::Joined(placement)]),
            C::Defer {
                lead_provider_id,
                reason,
                at,
            } => match self.status_of(lead_provider_id)? {
                TrainingStatus::Withdrawn => Err(E::AlreadyWithdrawn),
                TrainingStatus::Deferred => Err(E::AlreadyDeferred),
                TrainingStatus::Active => Ok(vec![V::Deferred {
                    lead_provider_id,
                    reason,
                    at,
                }]),
            },
            C::Resume {
                lead_provider_id,
                at,
            } => match self.status_of(lead_provider_id)? {
                TrainingStatus::Withdrawn => Err(E::AlreadyWithdrawn),
                TrainingStatus::Active => Err(E::AlreadyActive),
                TrainingStatus::Deferred => Ok(vec![V::Resumed {
                    lead_provider_id,
                    at,
                }]),
            },
            C::Withdraw {
                lead_provider_id,
                reason,
                at,
            } => match self.status_of(lead_provider_id)? {
                TrainingStatus::Withdrawn => Err(E::AlreadyWithdrawn),
                _ => Ok(vec![V::Withdrawn {
                    lead_provider_id,
                    reason,
                    at,
                }]),
            },
            C::ChangeSchedule(change) => self.change_schedule(registration, *change),
            C::Reassign(participant_id) if participant_id == registration.participant_id => {
                Ok(vec![])
            }
            C::Reassign(participant_id) => Ok(vec![V::Reassigned { participant_id }]),
        }
    }

    fn status_of(&self, provider: LeadProviderId) -> Result<TrainingStatus, TrainingRecordError> {
        let stint = self
            .latest_stint_of(provider)
            .ok_or(TrainingRecordError::NotRecognised)?;
        Ok(stint.training_status)
    }
}

impl Aggregate for TrainingRecord {
    const TYPE: &'static str = "training_record";
    type Command = TrainingRecordCommand;
    type Event = TrainingRecordEvent;
    type Error = TrainingRecordError;
    type Services = ();

    async fn handle(
        &mut self,
        command: TrainingRecordCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), TrainingRecordError> {
        let events = self.decide(command)?;
        crate::write_all(self, sink, events).await;
        Ok(())
    }

    fn apply(&mut self, event: TrainingRecordEvent) {
        use TrainingRecordEvent as V;
        match event {
            V::Registered(registration) => {
                self.stints.push(Stint {
                    placement: registration.placement.clone(),
                    end: None,
                    transfer: false,
                    training_status: TrainingStatus::Active,
                    schedule_identifier: registration.schedule_identifier.clone(),
                    withdrawal: None,
                    deferral: None,
                });
                self.original = Some((*registration).clone());
                self.registration = Some(*registration);
            }
            V::MentorAssigned { mentor_id } => {
                if let Some(r) = self.registration.as_mut() {
                    r.mentor_id = mentor_id;
                }
            }
            V::FundingEligibilityChanged {
                eligible_for_funding,
            } => {
                if let Some(r) = self.registration.as_mut() {
                    r.eligible_for_funding = eligible_for_funding;
                }
            }
            V::LeavingReported { end } => {
                if let Some(stint) = self.stints.last_mut() {
                    stint.end = Some(end);
                }
            }
            V::Joined(placement) => {
                let schedule_identifier = self
                    .registration
                    .as_ref()
                    .map(|r| r.schedule_identifier.clone())
                    .unwrap_or_default();
                self.stints.push(Stint {
                    placement,
                    end: None,
                    transfer: true,
                    training_status: TrainingStatus::Active,
                    schedule_identifier,
                    withdrawal: None,
                    deferral: None,
                });
            }
            V::Deferred {
                lead_provider_id,
                reason,
                at,
            } => self.update_stint(lead_provider_id, |s| {
                s.training_status = TrainingStatus::Deferred;
                s.deferral = Some(StatusChange { reason, at });
            }),
            V::Resumed {
                lead_provider_id, ..
            } => self.update_stint(lead_provider_id, |s| {
                s.training_status = TrainingStatus::Active;
                s.deferral = None;
            }),
            V::Withdrawn {
                lead_provider_id,
                reason,
                at,
            } => self.update_stint(lead_provider_id, |s| {
                s.training_status = TrainingStatus::Withdrawn;
                s.withdrawal = Some(StatusChange { reason, at });
            }),
            V::ScheduleChanged {
                lead_provider_id,
                schedule_identifier,
                ..
            } => {
                if let Some(r) = self.registration.as_mut() {
                    r.schedule_identifier = schedule_identifier.clone();
                }
                self.update_stint(lead_provider_id, |s| {
                    s.schedule_identifier = schedule_identifier
                });
            }
            V::Reassigned { participant_id } => {
                if let Some(r) = self.registration.as_mut() {
                    r.participant_id = participant_id;
                }
            }
        }
    }
}

impl TrainingRecord {
    fn update_stint(&mut self, provider: LeadProviderId, change: impl FnOnce(&mut Stint)) {
        if let Some(stint) = self
            .stints
            .iter_mut()
            .rev()
            .find(|s| s.placement.lead_provider_id == provider)
        {
            change(stint);
        }
    }
}

#[cfg(test)]
mod tests;
