//! A school's arrangements for one cohort: whether it has set the cohort up, its induction
//! programme choice, and its partnerships with lead providers. Partnerships of one school and
//! cohort live together so that "one confirmed provider per school and cohort" is decided on
//! one stream, whatever the concurrency.

mod rules;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::bounds::{self, Invalid};
use crate::ids::{DeliveryPartnerId, LeadProviderId, PartnershipId, SchoolId, derived};

/// The reasons a school may give when it challenges a partnership.
pub const CHALLENGE_REASONS: &[&str] = &[
    "another_provider",
    "not_confirmed",
    "do_not_recognise",
    "no_ects",
    "mistake",
];

/// The induction programme choices a school may make.
pub const INDUCTION_PROGRAMMES: &[&str] = &[
    "full_induction_programme",
    "core_induction_programme",
    "design_our_own",
    "school_funded_fip",
    "no_early_career_teachers",
];

/// The aggregate id of a school's cohort.
pub fn school_cohort_id(school: SchoolId, cohort: i32) -> String {
    derived(&format!("school-cohort:{school}:{cohort}")).to_string()
}

/// An attribute of a request: not sent, sent but not one the service knows, or known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sent<T> {
    /// Absent or blank.
    #[default]
    Missing,
    /// Sent, but it names nothing the service knows.
    Unknown,
    /// Sent and known.
    Known(T),
}

/// A partnership request as the provider sent it, with what the caller found out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartnershipRequest {
    /// `cohort`.
    pub cohort: Sent<i32>,
    /// `school_id`.
    pub school_id: Sent<SchoolId>,
    /// `delivery_partner_id`.
    pub delivery_partner_id: Sent<DeliveryPartnerId>,
    /// The school only runs the core induction programme.
    pub cip_only: bool,
    /// The school is eligible for funding.
    pub school_eligible: bool,
    /// The school had a lead provider in the previous cohort.
    pub partnered_last_year: bool,
    /// The provider works with the delivery partner in this cohort.
    pub has_relationship: bool,
}

/// One partnership of the school in this cohort.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partnership {
    /// Its id.
    pub id: PartnershipId,
    /// The provider.
    pub lead_provider_id: LeadProviderId,
    /// The delivery partner.
    pub delivery_partner_id: DeliveryPartnerId,
    /// The school's challenge, if any.
    pub challenged_reason: Option<String>,
}

/// The school cohort aggregate.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SchoolCohort {
    opened: bool,
    induction_programme: Option<String>,
    partnerships: Vec<Partnership>,
}

/// Commands on a school cohort.
#[derive(Clone, Debug)]
pub enum SchoolCohortCommand {
    /// A provider confirms a partnership (creating it, or reusing and un-challenging its own).
    Confirm {
        lead_provider_id: LeadProviderId,
        request: Box<PartnershipRequest>,
        at: DateTime<Utc>,
    },
    /// A provider moves its partnership to another delivery partner.
    ChangeDeliveryPartner {
        partnership_id: PartnershipId,
        request: Box<PartnershipRequest>,
    },
    /// The school challenges a partnership.
    Challenge {
        partnership_id: PartnershipId,
        reason: String,
        at: DateTime<Utc>,
    },
    /// The school chooses its induction programme.
    ChooseInductionProgramme {
        school_id: SchoolId,
        cohort: i32,
        choice: String,
    },
    /// The school sets the cohort up.
    Open { school_id: SchoolId, cohort: i32 },
}

/// Events of a school cohort.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SchoolCohortEvent {
    /// The school set the cohort up.
    Opened { school_id: SchoolId, cohort: i32 },
    /// The school chose its induction programme.
    InductionProgrammeChosen {
        school_id: SchoolId,
        cohort: i32,
        choice: String,
    },
    /// A provider confirmed a partnership.
    PartnershipConfirmed {
        /// The partnership.
        partnership_id: PartnershipId,
        /// The school.
        school_id: SchoolId,
        /// The cohort.
        cohort: i32,
        /// The provider.
        lead_provider_id: LeadProviderId,
        /// The delivery partner.
        delivery_partner_id: DeliveryPartnerId,
        /// The deadline for the school to challenge it.
        challenge_deadline: DateTime<Utc>,
    },
    /// A partnership moved to another delivery partner.
    DeliveryPartnerChanged {
        partnership_id: PartnershipId,
        delivery_partner_id: DeliveryPartnerId,
    },
    /// The school challenged a partnership.
    PartnershipChallenged {
        partnership_id: PartnershipId,
        reason: String,
        at: DateTime<Utc>,
    },
}

/// One broken rule; the message is the API's, the attribute its error title.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PartnershipError {
    /// No cohort.
    #[error("Enter a '#/cohort'.")]
    MissingCohort,
    /// No school.
    #[error("Enter a '#/school_id'.")]
    MissingSchool,
    /// No delivery partner.
    #[error("Enter a '#/delivery_partner_id'.")]
    MissingDeliveryPartner,
    /// An unknown cohort.
    #[error("The '#/cohort' you have entered is invalid. Check cohort details and try again.")]
    InvalidCohort,
    /// An unknown school.
    #[error(
        "The '#/school_id' you have entered is invalid. Check school details and try again. Contact the DfE for support if you are unable to find the '#/school_id'."
    )]
    InvalidSchool,
    /// The school runs only the core induction programme.
    #[error(
        "The school you have entered has not registered to deliver DfE-funded training. Contact the school for more information."
    )]
    NotFunded,
    /// The school is not eligible.
    #[error(
        "The school you have entered is currently ineligible for DfE funding. Contact the school for more information."
    )]
    Ineligible,
    /// The provider is partnered with the school already.
    #[error("You are already in a confirmed partnership with this school for the entered cohort.")]
    AlreadyPartnered,
    /// Another provider is partnered with the school.
    #[error(
        "Another provider is in a confirmed partnership with the school for the cohort you entered. Contact the school for more information."
    )]
    OtherProvider,
    /// The school had a provider last year and has not set this cohort up.
    #[error(
        "The school you have entered has not yet confirmed they will deliver DfE-funded training. Contact the school for more information."
    )]
    NotYetConfirmed,
    /// An unknown delivery partner.
    #[error(
        "The '#/delivery_partner_id' you have entered is invalid. Check delivery partner details and try again."
    )]
    InvalidDeliveryPartner,
    /// The provider does not work with the delivery partner in the cohort.
    #[error(
        "The entered delivery partner is not recognised to be working in partnership with you for the given cohort. Contact the DfE for more information."
    )]
    NoRelationship,
    /// The school challenged the partnership.
    #[error(
        "Your update cannot be made as this partnership has been challenged by the school. If this partnership has been challenged in error, submit a new partnership confirmation using the endpoint POST /api/v3/partnerships/ecf."
    )]
    Challenged,
    /// No such partnership of the caller.
    #[error("Resource not Found")]
    NotFound,
    /// A challenge reason outside the list.
    #[error(
        "The reason must be one of another_provider, not_confirmed, do_not_recognise, no_ects, mistake"
    )]
    UnknownReason,
    /// A programme outside the list.
    #[error(
        "The induction programme must be one of full_induction_programme, core_induction_programme, design_our_own, school_funded_fip, no_early_career_teachers"
    )]
    UnknownProgramme,
    /// A value outside what the ledger stores.
    #[error(transparent)]
    Invalid(#[from] Invalid),
}

impl PartnershipError {
    /// The attribute the API names as the error's title.
    pub fn attribute(&self) -> &'static str {
        match self {
            Self::MissingCohort | Self::InvalidCohort => "cohort",
            Self::MissingSchool
            | Self::InvalidSchool
            | Self::NotFunded
            | Self::Ineligible
            | Self::AlreadyPartnered
            | Self::OtherProvider
            | Self::NotYetConfirmed => "school_id",
            Self::MissingDeliveryPartner
            | Self::InvalidDeliveryPartner
            | Self::NoRelationship
            | Self::Challenged => "delivery_partner_id",
            Self::NotFound => "id",
            Self::UnknownReason => "reason",
            Self::UnknownProgramme => "induction_programme_choice",
            Self::Invalid(invalid) => invalid.attribute(),
        }
    }
}

/// A refused command: the broken rules, in the order they were checked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
pub struct PartnershipRejection(pub Vec<PartnershipError>);

impl From<PartnershipError> for PartnershipRejection {
    fn from(error: PartnershipError) -> Self {
        Self(vec![error])
    }
}

impl SchoolCohortCommand {
    /// Refuses dates, cohorts and text that a read model could not store or a view render.
    pub fn check_bounds(&self) -> Result<(), Invalid> {
        match self {
            Self::Confirm { request, at, .. } => {
                if let Sent::Known(year) = request.cohort {
                    bounds::cohort("cohort", year)?;
                }
                bounds::instant("at", *at)
            }
            Self::ChangeDeliveryPartner { .. } => Ok(()),
            Self::Challenge { reason, at, .. } => {
                bounds::text("reason", reason)?;
                bounds::instant("at", *at)
            }
            Self::ChooseInductionProgramme { cohort, choice, .. } => {
                bounds::cohort("cohort", *cohort)?;
                bounds::text("induction_programme_choice", choice)
            }
            Self::Open { cohort, .. } => bounds::cohort("cohort", *cohort),
        }
    }
}

impl From<Invalid> for PartnershipRejection {
    fn from(invalid: Invalid) -> Self {
        PartnershipError::Invalid(invalid).into()
    }
}

impl DomainEvent for SchoolCohortEvent {
    fn event_type(&self) -> String {
        let name = match self {
            Self::Opened { .. } => "Opened",
            Self::InductionProgrammeChosen { .. } => "InductionProgrammeChosen",
            Self::PartnershipConfirmed { .. } => "PartnershipConfirmed",
            Self::DeliveryPartnerChanged { .. } => "DeliveryPartnerChanged",
            Self::PartnershipChallenged { .. } => "PartnershipChallenged",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

impl SchoolCohort {
    /// The partnerships, in the order they were first confirmed.
    pub fn partnerships(&self) -> &[Partnership] {
        &self.partnerships
    }

    /// Whether the school has set the cohort up (opened it or chosen a programme).
    pub fn set_up(&self) -> bool {
        self.opened || self.induction_programme.is_some()
    }
}

impl Aggregate for SchoolCohort {
    const TYPE: &'static str = "school_cohort";
    type Command = SchoolCohortCommand;
    type Event = SchoolCohortEvent;
    type Error = PartnershipRejection;
    type Services = ();

    async fn handle(
        &mut self,
        command: SchoolCohortCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), PartnershipRejection> {
        let events = rules::decide(self, command)?;
        crate::write_all(self, sink, events).await;
        Ok(())
    }

    fn apply(&mut self, event: SchoolCohortEvent) {
        use SchoolCohortEvent as V;
        match event {
            V::Opened { .. } => self.opened = true,
            V::InductionProgrammeChosen { choice, .. } => self.induction_programme = Some(choice),
            V::PartnershipConfirmed {
                partnership_id,
                lead_provider_id,
                delivery_partner_id,
                ..
            } => {
                match self
                    .partnerships
                    .iter_mut()
                    .find(|p| p.id == partnership_id)
                {
                    Some(existing) => {
                        existing.delivery_partner_id = delivery_partner_id;
                        existing.challenged_reason = None;
                    }
                    None => self.partnerships.push(Partnership {
                        id: partnership_id,
                        lead_provider_id,
                        delivery_partner_id,
                        challenged_reason: None,
                    }),
                }
            }
            V::DeliveryPartnerChanged {
                partnership_id,
                delivery_partner_id,
            } => {
                if let Some(p) = self
                    .partnerships
                    .iter_mut()
                    .find(|p| p.id == partnership_id)
                {
                    p.delivery_partner_id = delivery_partner_id;
                }
            }
            V::PartnershipChallenged {
                partnership_id,
                reason,
                ..
            } => {
                if let Some(p) = self
                    .partnerships
                    .iter_mut()
                    .find(|p| p.id == partnership_id)
                {
                    p.challenged_reason = Some(reason);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
