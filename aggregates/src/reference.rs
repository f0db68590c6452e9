//! The reference records: the facts that the rest of the ledger looks up and copies into its
//! commands. Each is registered once, from the seed files, through [`crate::Registered`].

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::{DeliveryPartnerId, LeadProviderId, SchoolId};
use crate::record::Record;

/// A cohort: the year in which participants start training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cohort {
    /// The start year, e.g. 2022.
    pub start_year: i32,
    /// When schools may start registering participants for this cohort.
    pub registration_start_date: NaiveDate,
    /// When the academic year starts.
    pub academic_year_start_date: NaiveDate,
    /// When NPQ registration opens, where it differs.
    pub npq_registration_start_date: Option<NaiveDate>,
}

impl Record for Cohort {
    const TYPE: &'static str = "cohort";

    fn aggregate_id(&self) -> String {
        self.start_year.to_string()
    }
}

/// The milestone types a declaration can claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeclarationType {
    /// The participant started training.
    Started,
    /// First retention point.
    #[serde(rename = "retained-1")]
    Retained1,
    /// Second retention point.
    #[serde(rename = "retained-2")]
    Retained2,
    /// Third retention point.
    #[serde(rename = "retained-3")]
    Retained3,
    /// Fourth retention point.
    #[serde(rename = "retained-4")]
    Retained4,
    /// The participant completed training.
    Completed,
}

impl DeclarationType {
    /// Every type, in milestone order.
    pub const ALL: [Self; 6] = [
        Self::Started,
        Self::Retained1,
        Self::Retained2,
        Self::Retained3,
        Self::Retained4,
        Self::Completed,
    ];

    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Retained1 => "retained-1",
            Self::Retained2 => "retained-2",
            Self::Retained3 => "retained-3",
            Self::Retained4 => "retained-4",
            Self::Completed => "completed",
        }
    }

    /// Parses the API's name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// The kinds of schedule in the reference data; each permits a group of courses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleType {
    /// ECF standard schedules (september, january, april).
    EcfStandard,
    /// ECF reduced schedules.
    EcfReduced,
    /// ECF extended schedules.
    EcfExtended,
    /// ECF replacement schedules, for mentors only.
    EcfReplacement,
    /// NPQ specialist courses.
    NpqSpecialist,
    /// NPQ leadership courses.
    NpqLeadership,
    /// The NPQ additional support offer.
    NpqAso,
    /// The NPQ early headship coaching offer.
    NpqEhco,
}

impl ScheduleType {
    /// Every type.
    pub const ALL: [Self; 8] = [
        Self::EcfStandard,
        Self::EcfReduced,
        Self::EcfExtended,
        Self::EcfReplacement,
        Self::NpqSpecialist,
        Self::NpqLeadership,
        Self::NpqAso,
        Self::NpqEhco,
    ];

    /// The name the reference data uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EcfStandard => "ecf_standard",
            Self::EcfReduced => "ecf_reduced",
            Self::EcfExtended => "ecf_extended",
            Self::EcfReplacement => "ecf_replacement",
            Self::NpqSpecialist => "npq_specialist",
            Self::NpqLeadership => "npq_leadership",
            Self::NpqAso => "npq_aso",
            Self::NpqEhco => "npq_ehco",
        }
    }

    /// Parses the reference data's name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// One milestone of a schedule: the window in which one declaration type may be dated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Milestone {
    /// The milestone's display name, e.g. "Output 1 - Participant Start".
    pub name: String,
    /// The declaration type it pays for.
    pub declaration_type: DeclarationType,
    /// The first day a declaration may be dated.
    pub start_date: NaiveDate,
    /// The last day a declaration may be dated; none means no upper bound.
    pub milestone_date: Option<NaiveDate>,
    /// The expected payment day (display only).
    pub payment_date: Option<NaiveDate>,
}

/// A training schedule of one cohort, with its milestones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// The schedule identifier, e.g. `ecf-standard-september`.
    pub identifier: String,
    /// Its display name.
    pub name: String,
    /// The cohort it belongs to.
    pub cohort: i32,
    /// Which kind of schedule it is.
    pub schedule_type: ScheduleType,
    /// Its milestones, in the order of the reference data.
    pub milestones: Vec<Milestone>,
}

impl Record for Schedule {
    const TYPE: &'static str = "schedule";

    fn aggregate_id(&self) -> String {
        format!("{}:{}", self.cohort, self.identifier)
    }
}

/// A lead provider and the programmes it delivers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeadProvider {
    /// The provider's name, as the API shows it.
    pub name: String,
    /// Delivers early career framework training.
    pub ecf: bool,
    /// Delivers national professional qualifications.
    pub npq: bool,
}

impl Record for LeadProvider {
    const TYPE: &'static str = "lead_provider";

    fn aggregate_id(&self) -> String {
        LeadProviderId::from_name(&self.name).to_string()
    }
}

/// One band of an ECF call-off contract.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// The lowest participant number in the band (none for band A).
    pub min: Option<u32>,
    /// The highest participant number in the band.
    pub max: u32,
    /// The price per participant in this band.
    pub per_participant: Decimal,
    /// The share of the price paid as output fees, in percent.
    pub output_payment_percentage: Decimal,
    /// The share of the price paid as service fee, in percent.
    pub service_fee_percentage: Decimal,
}

/// An ECF call-off contract: one per provider, cohort and version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EcfContract {
    /// The contracted provider.
    pub lead_provider_id: LeadProviderId,
    /// The cohort it funds.
    pub cohort: i32,
    /// The contract version that statements select.
    pub version: String,
    /// The recruitment target that sizes the service fee.
    pub recruitment_target: u32,
    /// The revised target (display only).
    pub revised_target: Option<u32>,
    /// The set-up fee deducted from band A's service fee.
    pub set_up_fee: Decimal,
    /// When set, replaces the computed monthly service fee.
    pub monthly_service_fee: Option<Decimal>,
    /// The uplift paid per qualifying start.
    pub uplift_amount: Decimal,
    /// The uplift target (display only).
    pub uplift_target: Decimal,
    /// The bands, A first.
    pub bands: Vec<Band>,
}

impl Record for EcfContract {
    const TYPE: &'static str = "ecf_contract";

    fn aggregate_id(&self) -> String {
        format!("{}:{}:{}", self.lead_provider_id, self.cohort, self.version)
    }
}

/// An NPQ contract: one per provider, cohort, course and version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NpqContract {
    /// The contracted provider.
    pub lead_provider_id: LeadProviderId,
    /// The cohort it funds.
    pub cohort: i32,
    /// The NPQ course, e.g. `npq-headship`.
    pub course_identifier: String,
    /// The contract version that statements select.
    pub version: String,
    /// The recruitment target.
    pub recruitment_target: u32,
    /// The price per participant.
    pub per_participant: Decimal,
    /// Over how many statements the service fee is spread.
    pub service_fee_installments: u32,
}

impl Record for NpqContract {
    const TYPE: &'static str = "npq_contract";

    fn aggregate_id(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.lead_provider_id, self.cohort, self.course_identifier, self.version
        )
    }
}

/// A delivery partner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryPartner {
    /// Its name.
    pub name: String,
}

impl Record for DeliveryPartner {
    const TYPE: &'static str = "delivery_partner";

    fn aggregate_id(&self) -> String {
        DeliveryPartnerId::from_name(&self.name).to_string()
    }
}

/// A school.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct School {
    /// The unique reference number.
    pub urn: String,
    /// Its name.
    pub name: String,
    /// Whether it is eligible for DfE-funded training.
    pub eligible: bool,
    /// Whether it runs only the core induction programme (no funded provider training).
    #[serde(default)]
    pub cip_only: bool,
    /// The induction tutor's name.
    #[serde(default)]
    pub induction_tutor_name: Option<String>,
    /// The induction tutor's (or else the school contact's) email.
    #[serde(default)]
    pub induction_tutor_email: Option<String>,
}

impl Record for School {
    const TYPE: &'static str = "school";

    fn aggregate_id(&self) -> String {
        SchoolId::from_urn(&self.urn).to_string()
    }
}

/// A lead provider's working relationship with a delivery partner in a cohort; a provider may
/// only partner with schools through delivery partners it has one with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderRelationship {
    /// The lead provider.
    pub lead_provider_id: LeadProviderId,
    /// The delivery partner.
    pub delivery_partner_id: DeliveryPartnerId,
    /// The cohort.
    pub cohort: i32,
}

impl Record for ProviderRelationship {
    const TYPE: &'static str = "provider_relationship";

    fn aggregate_id(&self) -> String {
        format!(
            "{}:{}:{}",
            self.lead_provider_id, self.delivery_partner_id, self.cohort
        )
    }
}
