//! The values a training record is made of: what a school registers, placements and their
//! stints, provider status changes, and the facts of a schedule change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::course::{Course, ParticipantType, TrainingStatus};
use crate::ids::{DeliveryPartnerId, LeadProviderId, ParticipantId, SchoolId};
use crate::reference::{DeclarationType, Schedule};

/// What a school registers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    /// The person (a user id in the API).
    pub participant_id: ParticipantId,
    /// ECT or mentor.
    pub participant_type: ParticipantType,
    /// Full name.
    pub full_name: String,
    /// Email address.
    pub email: String,
    /// Teacher reference number, if known.
    pub trn: Option<String>,
    /// Whether the TRN was validated.
    pub trn_validated: bool,
    /// Funding eligibility: eligible, not eligible, or not yet known.
    pub eligible_for_funding: Option<bool>,
    /// Pupil premium uplift.
    pub pupil_premium_uplift: bool,
    /// Sparsity uplift.
    pub sparsity_uplift: bool,
    /// The ECT's mentor, if any.
    pub mentor_id: Option<ParticipantId>,
    /// The cohort.
    pub cohort: i32,
    /// The training schedule.
    pub schedule_identifier: String,
    /// Where and with whom training starts.
    pub placement: Placement,
}

/// A school placement with the lead provider and delivery partner of the school's partnership.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    /// The school.
    pub school_id: SchoolId,
    /// Its URN.
    pub school_urn: String,
    /// The lead provider training there.
    pub lead_provider_id: LeadProviderId,
    /// The delivery partner.
    pub delivery_partner_id: DeliveryPartnerId,
    /// When the participant starts there.
    pub start: DateTime<Utc>,
}

/// A status change a provider made, with its reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    /// The reason given.
    pub reason: String,
    /// When it was made (server time).
    pub at: DateTime<Utc>,
}

/// One placement of a training record, as it stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stint {
    /// The placement.
    pub placement: Placement,
    /// When the school said the participant leaves.
    pub end: Option<DateTime<Utc>>,
    /// Whether the placement came from a transfer.
    pub transfer: bool,
    /// The provider's training status.
    pub training_status: TrainingStatus,
    /// The schedule during this stint.
    pub schedule_identifier: String,
    /// The latest withdrawal.
    pub withdrawal: Option<StatusChange>,
    /// The latest deferral.
    pub deferral: Option<StatusChange>,
}

/// The target of a schedule change, as the caller looked it up.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleChange {
    /// The provider asking.
    pub lead_provider_id: LeadProviderId,
    /// The course named.
    pub course: Course,
    /// The schedule asked for, if it exists in the cohort asked for.
    pub target: Option<Schedule>,
    /// The cohort asked for (or the current cohort when none was given).
    pub cohort: i32,
    /// Every live declaration of this record (any provider): type and date.
    pub live_declarations: Vec<(DeclarationType, DateTime<Utc>)>,
    /// When the change is made.
    pub at: DateTime<Utc>,
}
