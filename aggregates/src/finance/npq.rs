//! NPQ money: per course, a service fee, a flat payment per declaration, clawbacks, and
//! targeted delivery funding (TDF) on qualifying starts. No banding, nothing carried between
//! statements.

use rust_decimal::Decimal;

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
