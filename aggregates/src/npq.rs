//! NPQ training: one person's applications for one course with every provider, and the
//! enrolment that accepting one of them makes.
//!
//! A person's applications for a course (ASO and EHCO counting as one course) live in one
//! [`NpqCourse`] stream, keyed by their TRN where they have one. So "one accepted application
//! per person and course, across providers and identities" is decided on one stream and holds
//! under concurrent requests, and accepting rejects the person's other applications for the
//! course and cohort in the same commit.

mod bounds;
mod error;
mod schedule;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

pub use error::NpqError;
pub use schedule::schedule_for;

use crate::course::{Course, TrainingStatus};
use crate::ids::{LeadProviderId, NpqApplicationId, ParticipantId};
use crate::reference::{DeclarationType, Schedule};
use crate::training_record::{
    StatusChange, TrainingRecordError, declarations_fit, schedule_permits,
};

/// Why an application is not eligible for funding, as the API names it: funded before, or an
/// establishment that is not eligible; `None` when it is eligible.
pub fn ineligible_for_funding_reason(
    previously_funded: bool,
    eligible_for_funding: bool,
) -> Option<&'static str> {
    match (previously_funded, eligible_for_funding) {
        (true, _) => Some("previously-funded"),
        (false, false) => Some("establishment-ineligible"),
        (false, true) => None,
    }
}

/// Teacher catchment areas that count as the UK and islands (`teacher_catchment: true`).
pub const UK_CATCHMENTS: &[&str] = &[
    "england",
    "scotland",
    "wales",
    "northern_ireland",
    "jersey_guernsey_isle_of_man",
];

/// The stream holding a person's applications for a course: by TRN when there is one, else
/// by participant.
pub fn stream_id(trn: Option<&str>, participant: ParticipantId, course: Course) -> String {
    let person = match trn.map(str::trim).filter(|t| !t.is_empty()) {
        Some(trn) => format!("trn:{trn}"),
        None => format!("participant:{participant}"),
    };
    crate::ids::derived(&format!("npq:{person}:{}", course.twin().as_str())).to_string()
}

/// An application, as the NPQ registration service sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Application {
    /// Its id.
    pub id: NpqApplicationId,
    /// The applicant (a user id in the API).
    pub participant_id: ParticipantId,
    /// The provider applied to.
    pub lead_provider_id: LeadProviderId,
    /// Full name.
    pub full_name: String,
    /// Email address.
    pub email: String,
    /// Teacher reference number, if given.
    pub trn: Option<String>,
    /// Whether the TRN was validated.
    pub trn_validated: bool,
    /// The course.
    pub course: Course,
    /// The cohort.
    pub cohort: i32,
    /// Works in a school.
    pub works_in_school: bool,
    /// Employer, outside schools.
    pub employer_name: Option<String>,
    /// Role, outside schools.
    pub employment_role: Option<String>,
    /// School URN.
    pub school_urn: Option<String>,
    /// School UKPRN.
    pub school_ukprn: Option<String>,
    /// Private childcare provider URN.
    pub private_childcare_provider_urn: Option<String>,
    /// Headship status.
    pub headteacher_status: Option<String>,
    /// Who pays.
    pub funding_choice: Option<String>,
    /// The DfE's funding decision for this application.
    pub eligible_for_funding: bool,
    /// Targeted delivery funding applies.
    pub targeted_delivery_funding_eligibility: bool,
    /// Where the applicant teaches (`england`, `scotland`, … or `another`).
    pub teacher_catchment: Option<String>,
    /// The country, outside the UK.
    pub teacher_catchment_country: Option<String>,
    /// Its ISO code.
    pub teacher_catchment_iso_country_code: Option<String>,
    /// A lead mentor.
    pub lead_mentor: Option<bool>,
    /// The lead mentor's ITT provider.
    pub itt_provider: Option<String>,
}

/// Where an application stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApplicationStatus {
    /// Waiting for the provider.
    Pending,
    /// Accepted: the person is enrolled.
    Accepted,
    /// Rejected, by the provider or because another was accepted.
    Rejected,
}

impl ApplicationStatus {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
        }
    }
}

/// The enrolment an accepted application made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Enrolment {
    /// The person, after any merge.
    pub participant_id: ParticipantId,
    /// The schedule.
    pub schedule_identifier: String,
    /// The schedule's cohort.
    pub cohort: i32,
    /// The provider's training status.
    pub training_status: TrainingStatus,
    /// The latest withdrawal.
    pub withdrawal: Option<StatusChange>,
    /// The latest deferral.
    pub deferral: Option<StatusChange>,
}

/// An acceptance, with the facts the caller looked up.
#[derive(Clone, Debug, PartialEq)]
pub struct Acceptance {
    /// The application.
    pub application_id: NpqApplicationId,
    /// The provider accepting.
    pub lead_provider_id: LeadProviderId,
    /// The schedule chosen by course, cohort and date ([`schedule_for`]), if it exists.
    pub schedule: Option<Schedule>,
    /// Another person already known by the applicant's TRN, into whom the applicant merges.
    pub same_trn_as: Option<ParticipantId>,
    /// The server's now.
    pub at: DateTime<Utc>,
}

/// A change to an enrolment's status, with the facts the rules need.
#[derive(Clone, Debug, PartialEq)]
pub struct EnrolmentChange {
    /// The enrolment (its application).
    pub application_id: NpqApplicationId,
    /// The provider asking.
    pub lead_provider_id: LeadProviderId,
    /// The server's now.
    pub at: DateTime<Utc>,
    /// What to change.
    pub action: EnrolmentAction,
}

/// What a provider does to an enrolment.
#[derive(Clone, Debug, PartialEq)]
pub enum EnrolmentAction {
    /// Defer; the facts: whether the enrolment has any declaration at all.
    Defer { reason: String, declared: bool },
    /// Resume.
    Resume,
    /// Withdraw; the facts: whether it has a `started` declaration (any state).
    Withdraw { reason: String, started: bool },
    /// Change schedule; the facts: the target (if it exists in `cohort`) and every live
    /// declaration's type and date.
    ChangeSchedule {
        target: Option<Schedule>,
        cohort: i32,
        live_declarations: Vec<(DeclarationType, DateTime<Utc>)>,
    },
}

/// One person's applications for one course (ASO and EHCO together).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct NpqCourse {
    applications: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    application: Application,
    status: ApplicationStatus,
    enrolment: Option<Enrolment>,
    /// The person kept when the applicant's id was retired.
    #[serde(default)]
    reassigned_to: Option<ParticipantId>,
}

impl Entry {
    /// Whose application it is now: the enrolled person, or the applicant (as reassigned).
    fn person(&self) -> ParticipantId {
        self.enrolment.as_ref().map_or(
            self.reassigned_to
                .unwrap_or(self.application.participant_id),
            |e| e.participant_id,
        )
    }
}

/// Commands on a person's NPQ course.
#[derive(Clone, Debug)]
pub enum NpqCourseCommand {
    /// The registration service sends an application (a repeat with the same details
    /// changes nothing).
    Apply(Box<Application>),
    /// The provider accepts one of its applications.
    Accept(Box<Acceptance>),
    /// The provider rejects one of its applications.
    Reject {
        application_id: NpqApplicationId,
        lead_provider_id: LeadProviderId,
        at: DateTime<Utc>,
    },
    /// The provider defers, resumes, withdraws or moves an enrolment.
    Change(Box<EnrolmentChange>),
    /// The DfE retired a person's id: their applications and enrolments move to the kept one.
    Reassign {
        from: ParticipantId,
        to: ParticipantId,
    },
}

/// Events of a person's NPQ course.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum NpqEvent {
    /// An application arrived.
    Applied(Box<Application>),
    /// An application was accepted and the person enrolled.
    Accepted {
        application_id: NpqApplicationId,
        /// The person enrolled: the applicant, or the person they merged into.
        participant_id: ParticipantId,
        /// The applicant's id when it merged into another person's.
        merged_from: Option<ParticipantId>,
        schedule_identifier: String,
        cohort: i32,
        at: DateTime<Utc>,
    },
    /// An application was rejected.
    Rejected {
        application_id: NpqApplicationId,
        /// Rejected because another application for the course and cohort was accepted.
        automatically: bool,
        at: DateTime<Utc>,
    },
    /// The provider deferred the enrolment.
    Deferred {
        application_id: NpqApplicationId,
        reason: String,
        at: DateTime<Utc>,
    },
    /// The provider resumed it.
    Resumed {
        application_id: NpqApplicationId,
        at: DateTime<Utc>,
    },
    /// The provider withdrew the participant.
    Withdrawn {
        application_id: NpqApplicationId,
        reason: String,
        at: DateTime<Utc>,
    },
    /// The provider moved it to another schedule (and perhaps cohort).
    ScheduleChanged {
        application_id: NpqApplicationId,
        schedule_identifier: String,
        cohort: i32,
        at: DateTime<Utc>,
    },
    /// A retired id's applications and enrolments moved to the person kept.
    Reassigned {
        from: ParticipantId,
        to: ParticipantId,
    },
}

impl DomainEvent for NpqEvent {
    fn event_type(&self) -> String {
        let name = match self {
            Self::Applied(_) => "Applied",
            Self::Accepted { .. } => "Accepted",
            Self::Rejected { .. } => "Rejected",
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

impl NpqCourse {
    /// An application of this person, with where it stands and its enrolment.
    pub fn application(
        &self,
        id: NpqApplicationId,
    ) -> Option<(&Application, ApplicationStatus, Option<&Enrolment>)> {
        self.applications
            .iter()
            .find(|e| e.application.id == id)
            .map(|e| (&e.application, e.status, e.enrolment.as_ref()))
    }

    fn own(&self, id: NpqApplicationId, provider: LeadProviderId) -> Result<&Entry, NpqError> {
        self.applications
            .iter()
            .find(|e| e.application.id == id && e.application.lead_provider_id == provider)
            .ok_or(NpqError::NotFound)
    }

    fn decide(&self, command: NpqCourseCommand) -> Result<Vec<NpqEvent>, NpqError> {
        command.check_bounds()?;
        match command {
            NpqCourseCommand::Apply(application) => match self.application(application.id) {
                None => Ok(vec![NpqEvent::Applied(application)]),
                Some((known, ..)) if *known == *application => Ok(vec![]),
                Some(_) => Err(NpqError::AppliedDifferently),
            },
            NpqCourseCommand::Accept(acceptance) => self.accept(*acceptance),
            NpqCourseCommand::Reject {
                application_id,
                lead_provider_id,
                at,
            } => match self.own(application_id, lead_provider_id)?.status {
                ApplicationStatus::Rejected => Err(NpqError::AlreadyRejected),
                ApplicationStatus::Accepted => Err(NpqError::AcceptedIsFinal),
                ApplicationStatus::Pending => Ok(vec![NpqEvent::Rejected {
                    application_id,
                    automatically: false,
                    at,
                }]),
            },
            NpqCourseCommand::Change(change) => self.change(*change),
            NpqCourseCommand::Reassign { from, to } => Ok(self
                .applications
                .iter()
                .any(|e| e.person() == from && from != to)
                .then_some(NpqEvent::Reassigned { from, to })
                .into_iter()
                .collect()),
        }
    }

    fn accept(&self, acceptance: Acceptance) -> Result<Vec<NpqEvent>, NpqError> {
        let entry = self.own(acceptance.application_id, acceptance.lead_provider_id)?;
        match entry.status {
            ApplicationStatus::Accepted => return Err(NpqError::AlreadyAccepted),
            ApplicationStatus::Rejected => return Err(NpqError::RejectedIsFinal),
            ApplicationStatus::Pending => {}
        }
        if self
            .applications
            .iter()
            .any(|e| e.status == ApplicationStatus::Accepted)
        {
            return Err(NpqError::PlaceTaken);
        }
        let schedule = acceptance.schedule.ok_or(NpqError::NoSchedule)?;
        let applicant = entry.person();
        let participant_id = acceptance.same_trn_as.unwrap_or(applicant);
        let mut events = vec![NpqEvent::Accepted {
            application_id: acceptance.application_id,
            participant_id,
            merged_from: (participant_id != applicant).then_some(applicant),
            schedule_identifier: schedule.identifier,
            cohort: schedule.cohort,
            at: acceptance.at,
        }];
        let application = &entry.application;
        events.extend(
            self.applications
                .iter()
                .filter(|e| {
                    e.status == ApplicationStatus::Pending
                        && e.application.id != application.id
                        && e.application.course == application.course
                        && e.application.cohort == application.cohort
                })
                .map(|e| NpqEvent::Rejected {
                    application_id: e.application.id,
                    automatically: true,
                    at: acceptance.at,
                }),
        );
        Ok(events)
    }

    fn change(&self, change: EnrolmentChange) -> Result<Vec<NpqEvent>, NpqError> {
        use TrainingRecordError as T;
        let entry = self.own(change.application_id, change.lead_provider_id)?;
        let enrolment = entry
            .enrolment
            .as_ref()
            .ok_or(NpqError::Training(T::NotRecognised))?;
        let (application_id, at) = (change.application_id, change.at);
        let status = enrolment.training_status;
        let event = match change.action {
            EnrolmentAction::Defer { reason, declared } => match status {
                TrainingStatus::Withdrawn => return Err(T::AlreadyWithdrawn.into()),
                TrainingStatus::Deferred => return Err(T::AlreadyDeferred.into()),
                TrainingStatus::Active if !declared => {
                    return Err(NpqError::DeferWithoutDeclarations);
                }
                TrainingStatus::Active => NpqEvent::Deferred {
                    application_id,
                    reason,
                    at,
                },
            },
            EnrolmentAction::Resume => match status {
                TrainingStatus::Withdrawn => return Err(T::AlreadyWithdrawn.into()),
                TrainingStatus::Active => return Err(T::AlreadyActive.into()),
                TrainingStatus::Deferred => NpqEvent::Resumed { application_id, at },
            },
            EnrolmentAction::Withdraw { reason, started } => match status {
                TrainingStatus::Withdrawn => return Err(T::AlreadyWithdrawn.into()),
                _ if !started => return Err(NpqError::WithdrawWithoutStart),
                _ => NpqEvent::Withdrawn {
                    application_id,
                    reason,
                    at,
                },
            },
            EnrolmentAction::ChangeSchedule {
                target,
                cohort,
                live_declarations,
            } => {
                if status == TrainingStatus::Withdrawn {
                    return Err(T::WithdrawnCannotChangeSchedule.into());
                }
                let target = target.ok_or(T::UnknownSchedule)?;
                if cohort != enrolment.cohort && !live_declarations.is_empty() {
                    return Err(T::CohortCannotChange.into());
                }
                if target.identifier == enrolment.schedule_identifier
                    && target.cohort == enrolment.cohort
                {
                    return Err(T::SameSchedule.into());
                }
                if !schedule_permits(target.schedule_type, entry.application.course) {
                    return Err(T::ScheduleNotForCourse.into());
                }
                if !declarations_fit(&target, &live_declarations) {
                    return Err(T::WouldInvalidateDeclarations.into());
                }
                NpqEvent::ScheduleChanged {
                    application_id,
                    schedule_identifier: target.identifier,
                    cohort: target.cohort,
                    at,
                }
            }
        };
        Ok(vec![event])
    }

    fn entry_mut(&mut self, id: NpqApplicationId) -> Option<&mut Entry> {
        self.applications
            .iter_mut()
            .find(|e| e.application.id == id)
    }

    fn enrolment_mut(&mut self, id: NpqApplicationId) -> Option<&mut Enrolment> {
        self.entry_mut(id).and_then(|e| e.enrolment.as_mut())
    }
}

impl Aggregate for NpqCourse {
    const TYPE: &'static str = "npq_course";
    type Command = NpqCourseCommand;
    type Event = NpqEvent;
    type Error = NpqError;
    type Services = ();

    async fn handle(
        &mut self,
        command: NpqCourseCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), NpqError> {
        let events = self.decide(command)?;
        crate::write_all(self, sink, events).await;
        Ok(())
    }

    fn apply(&mut self, event: NpqEvent) {
        match event {
            NpqEvent::Applied(application) => self.applications.push(Entry {
                application: *application,
                status: ApplicationStatus::Pending,
                enrolment: None,
                reassigned_to: None,
            }),
            NpqEvent::Reassigned { from, to } => {
                for entry in self.applications.iter_mut().filter(|e| e.person() == from) {
                    entry.reassigned_to = Some(to);
                    if let Some(enrolment) = entry.enrolment.as_mut() {
                        enrolment.participant_id = to;
                    }
                }
            }
            NpqEvent::Accepted {
                application_id,
                participant_id,
                schedule_identifier,
                cohort,
                ..
            } => {
                if let Some(entry) = self.entry_mut(application_id) {
                    entry.status = ApplicationStatus::Accepted;
                    entry.enrolment = Some(Enrolment {
                        participant_id,
                        schedule_identifier,
                        cohort,
                        training_status: TrainingStatus::Active,
                        withdrawal: None,
                        deferral: None,
                    });
                }
            }
            NpqEvent::Rejected { application_id, .. } => {
                if let Some(entry) = self.entry_mut(application_id) {
                    entry.status = ApplicationStatus::Rejected;
                }
            }
            NpqEvent::Deferred {
                application_id,
                reason,
                at,
            } => {
                if let Some(enrolment) = self.enrolment_mut(application_id) {
                    enrolment.training_status = TrainingStatus::Deferred;
                    enrolment.deferral = Some(StatusChange { reason, at });
                }
            }
            NpqEvent::Resumed { application_id, .. } => {
                if let Some(enrolment) = self.enrolment_mut(application_id) {
                    enrolment.training_status = TrainingStatus::Active;
                    enrolment.deferral = None;
                }
            }
            NpqEvent::Withdrawn {
                application_id,
                reason,
                at,
            } => {
                if let Some(enrolment) = self.enrolment_mut(application_id) {
                    enrolment.training_status = TrainingStatus::Withdrawn;
                    enrolment.withdrawal = Some(StatusChange { reason, at });
                }
            }
            NpqEvent::ScheduleChanged {
                application_id,
                schedule_identifier,
                cohort,
                ..
            } => {
                if let Some(enrolment) = self.enrolment_mut(application_id) {
                    enrolment.schedule_identifier = schedule_identifier;
                    enrolment.cohort = cohort;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
