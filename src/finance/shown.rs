//! A priced statement as shown: every amount to the penny (finance brief: rounding only on
//! display, halves away from zero, VAT on the unrounded total), with the parts adding up to
//! the totals as shown. Every output (JSON, HTML, CSV, CLI) renders these figures.

use aggregates::finance::{apportion, shown};
use rust_decimal::Decimal;

use super::StatementBreakdown;

/// Rounds a priced statement for showing. The total is the exact total rounded, and VAT the
/// exact VAT rounded; the total with VAT is their sum as shown. Service fee, output fees,
/// uplifts, adjustments and reconcile amount add up to the total; ECF band output fees add up
/// to the output fees; NPQ course totals add up to the total, and each course's parts to its
/// total. Each amount is at most a penny from its exact value rounded.
pub(super) fn to_pennies(priced: &mut StatementBreakdown) {
    let total = shown(priced.total);
    let parts = apportion(
        &[
            priced.service_fee,
            priced.output_fee,
            priced.uplift_fee,
            priced.adjustments,
            priced.reconcile_amount,
        ],
        Some(total),
    );
    let exact_output = priced.output_fee;
    [
        priced.service_fee,
        priced.output_fee,
        priced.uplift_fee,
        priced.adjustments,
        priced.reconcile_amount,
    ] = [parts[0], parts[1], parts[2], parts[3], parts[4]];
    priced.clawbacks = Decimal::ZERO - priced.adjustments;
    priced.total = total;
    priced.vat = shown(priced.vat);
    priced.total_with_vat = priced.total + priced.vat;

    let band_outputs: Vec<Decimal> = priced.bands.iter().map(|b| b.output_fee).collect();
    let band_outputs = match band_outputs.iter().copied().sum::<Decimal>() == exact_output {
        true => apportion(&band_outputs, Some(priced.output_fee)),
        false => band_outputs.into_iter().map(shown).collect(),
    };
    for (band, output) in priced.bands.iter_mut().zip(band_outputs) {
        band.fee = shown(band.fee);
        band.output_fee = output;
        band.clawback = shown(band.clawback);
    }

    // Without a reconcile amount the courses make up the whole total.
    let course_totals: Vec<Decimal> = priced.courses.iter().map(|c| c.total).collect();
    let course_totals = match priced.reconcile_amount.is_zero() {
        true => apportion(&course_totals, Some(priced.total)),
        false => apportion(&course_totals, None),
    };
    for (course, total) in priced.courses.iter_mut().zip(course_totals) {
        let parts = apportion(
            &[
                course.service_fee,
                course.output,
                Decimal::ZERO - course.clawback,
                course.tdf,
                Decimal::ZERO - course.tdf_refund,
            ],
            Some(total),
        );
        course.per_declaration = shown(course.per_declaration);
        course.service_fee = parts[0];
        course.output = parts[1];
        course.clawback = Decimal::ZERO - parts[2];
        course.tdf = parts[3];
        course.tdf_refund = Decimal::ZERO - parts[4];
        course.total = total;
    }
}
