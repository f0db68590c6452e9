//! NPQ money: per course, a service fee, a flat payment per declaration, clawbacks, and
//! targeted delivery funding (TDF) on qualifying starts. No banding, nothing carried between
//! statements.

use rust_decimal::Decimal;

use crate::course::{Course, CourseGroup};
use crate::reference::NpqContract;

/// The terms of one course contract as a statement prices it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CourseTerms {
    /// Recruitment target.
    pub recruitment_target: u32,
    /// Price per participant.
    pub per_participant: Decimal,
    /// Statements the service fee is spread over.
    pub service_fee_installments: u32,
    /// Service share of the price, percent (40; 0 for ASO and EHCO).
    pub service_fee_percentage: Decimal,
    /// Output share of the price, percent (60; 100 for ASO and EHCO).
    pub output_payment_percentage: Decimal,
    /// Output payment periods (3 for specialist courses, else 4).
    pub number_of_payment_periods: u32,
    /// When present, replaces the computed monthly service fee.
    pub monthly_service_fee: Option<Decimal>,
    /// TDF per qualifying start.
    pub targeted_delivery_funding_per_participant: Decimal,
}

impl CourseTerms {
    /// A course contract's terms: its price, and what the contract file leaves out, decided by
    /// the course's group (finance brief §4.2): the support offers (ASO, EHCO) are all output,
    /// specialist courses pay over 3 periods; a course the ledger does not know is priced as
    /// a leadership course.
    pub fn of(contract: &NpqContract) -> Self {
        let group = group_of(contract);
        let support = matches!(group, Some(CourseGroup::Support | CourseGroup::Ehco));
        let (service, output) = if support { (0, 100) } else { (40, 60) };
        Self {
            recruitment_target: contract.recruitment_target,
            per_participant: contract.per_participant,
            service_fee_installments: contract.service_fee_installments,
            service_fee_percentage: Decimal::from(service),
            output_payment_percentage: Decimal::from(output),
            number_of_payment_periods: match group {
                Some(CourseGroup::Specialist) => 3,
                _ => 4,
            },
            monthly_service_fee: None,
            targeted_delivery_funding_per_participant: Decimal::from(100),
        }
    }
}

/// Whether qualifying starts on a contract's course earn targeted delivery funding: from the
/// 2022 cohort, on every course but the support offers (ASO, EHCO).
pub fn tdf_applies(contract: &NpqContract) -> bool {
    let support = matches!(
        group_of(contract),
        Some(CourseGroup::Support | CourseGroup::Ehco)
    );
    !support && contract.cohort >= 2022
}

fn group_of(contract: &NpqContract) -> Option<CourseGroup> {
    Course::parse(&contract.course_identifier).and_then(Course::npq_group)
}

/// A course's items on one statement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CourseCounts {
    /// Distinct (participant, declaration type) pairs among billable items.
    pub billable: u32,
    /// Distinct pairs among refundable items.
    pub refundable: u32,
    /// Billable starts qualifying for TDF.
    pub tdf_starts: u32,
    /// Refundable starts that had qualified for TDF.
    pub tdf_refunds: u32,
}

/// What one course contributes to a statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CourseBreakdown {
    /// The monthly service fee.
    pub service_fee: Decimal,
    /// The payment per declaration (same for every type).
    pub per_declaration: Decimal,
    /// billable × per declaration.
    pub output: Decimal,
    /// refundable × per declaration (positive, deducted).
    pub clawback: Decimal,
    /// TDF on qualifying starts.
    pub tdf: Decimal,
    /// TDF refunded (positive, deducted).
    pub tdf_refund: Decimal,
}

impl CourseBreakdown {
    /// Service fee + output − clawback + TDF − TDF refunds.
    pub fn total(&self) -> Decimal {
        self.service_fee + self.output - self.clawback + self.tdf - self.tdf_refund
    }
}

/// Prices one course on a statement.
pub fn course(terms: &CourseTerms, counts: CourseCounts) -> CourseBreakdown {
    let hundred = Decimal::from(100);
    let per_head_service =
        if terms.service_fee_percentage.is_zero() || terms.service_fee_installments == 0 {
            Decimal::ZERO
        } else {
            terms.per_participant * terms.service_fee_percentage
                / (hundred * Decimal::from(terms.service_fee_installments))
        };
    let service_fee = terms
        .monthly_service_fee
        .unwrap_or_else(|| Decimal::from(terms.recruitment_target) * per_head_service);
    let per_declaration = terms.per_participant * terms.output_payment_percentage
        / (hundred * Decimal::from(terms.number_of_payment_periods.max(1)));
    let tdf = terms.targeted_delivery_funding_per_participant;
    CourseBreakdown {
        service_fee,
        per_declaration,
        output: Decimal::from(counts.billable) * per_declaration,
        clawback: Decimal::from(counts.refundable) * per_declaration,
        tdf: Decimal::from(counts.tdf_starts) * tdf,
        tdf_refund: Decimal::from(counts.tdf_refunds) * tdf,
    }
}

/// A statement's total over its courses, with the manual adjustment and VAT.
pub fn statement(
    courses: &[CourseBreakdown],
    reconcile_amount: Decimal,
    vat_chargeable: bool,
) -> super::Totals {
    let total: Decimal =
        courses.iter().map(CourseBreakdown::total).sum::<Decimal>() + reconcile_amount;
    super::Totals::new(total, vat_chargeable)
}
