//! The worked examples of the finance brief, to the penny.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;

use super::ecf::{self, TypeCounts, UpliftCounts};
use super::npq::{self, CourseCounts, CourseTerms};
use super::pennies;
use crate::LeadProviderId;
use crate::reference::{Band, DeclarationType, EcfContract};

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn band(min: Option<u32>, max: u32, price: &str, output: &str, service: &str) -> Band {
    Band {
        min,
        max,
        per_participant: d(price),
        output_payment_percentage: d(output),
        service_fee_percentage: d(service),
    }
}

/// The brief's worked ECF contract: target 300, set-up £2,900, uplift £100.
fn contract() -> EcfContract {
    EcfContract {
        lead_provider_id: LeadProviderId::from_name("Teach First"),
        cohort: 2021,
        version: "0.0.1".into(),
        recruitment_target: 300,
        revised_target: Some(330),
        set_up_fee: d("2900"),
        monthly_service_fee: None,
        uplift_amount: d("100"),
        uplift_target: d("0.33"),
        bands: vec![
            band(None, 100, "1000", "60", "40"),
            band(Some(101), 200, "900", "60", "40"),
            band(Some(201), 300, "800", "60", "40"),
            band(Some(301), 330, "800", "100", "0"),
        ],
    }
}

#[test]
fn the_service_fee_and_uplift_cap_match_the_worked_example() {
    assert_eq!(pennies(ecf::service_fee(&contract())), d("3624.14"));
    assert_eq!(
        ecf::service_fee(&contract()) * Decimal::from(29),
        d("105100")
    );
    assert_eq!(ecf::uplift_cap(&contract()), d("13500"));
}

#[test]
fn statement_one_pays_eighty_starts_in_band_a_with_uplifts() {
    let counts = BTreeMap::from([(
        DeclarationType::Started,
        TypeCounts {
            previous_net: 0,
            billable: 80,
            refundable: 0,
        },
    )]);
    let uplifts = UpliftCounts {
        previous_net: 0,
        additions: 30,
        subtractions: 0,
    };

    let breakdown = ecf::breakdown(&contract(), &counts, uplifts, Decimal::ZERO, true);

    assert_eq!(breakdown.output_fee, d("9600"));
    assert_eq!(breakdown.uplift_fee, d("3000"));
    assert_eq!(pennies(breakdown.totals.total), d("16224.14"));
    assert_eq!(pennies(breakdown.totals.vat), d("3244.83"));
    assert_eq!(pennies(breakdown.totals.with_vat()), d("19468.97"));
}

#[test]
fn statement_two_prices_refunds_at_the_band_they_are_unwound_from() {
    let counts = BTreeMap::from([
        (
            DeclarationType::Started,
            TypeCounts {
                previous_net: 80,
                billable: 50,
                refundable: 2,
            },
        ),
        (
            DeclarationType::Retained1,
            TypeCounts {
                previous_net: 0,
                billable: 70,
                refundable: 0,
            },
        ),
    ]);
    let uplifts = UpliftCounts {
        previous_net: 30,
        additions: 10,
        subtractions: 1,
    };

    let breakdown = ecf::breakdown(&contract(), &counts, uplifts, Decimal::ZERO, true);

    let starts = &breakdown.outputs[&DeclarationType::Started];
    assert_eq!(starts.additions, vec![20, 30, 0, 0]);
    assert_eq!(starts.output_fee, d("5640"));
    assert_eq!(starts.subtractions, vec![0, 2, 0, 0]);
    assert_eq!(starts.clawback, d("216"));
    assert_eq!(
        breakdown.outputs[&DeclarationType::Retained1].output_fee,
        d("6300")
    );
    assert_eq!(breakdown.output_fee, d("11940"));
    assert_eq!(breakdown.uplift_fee, d("1000"));
    assert_eq!(breakdown.uplift_clawback, d("100"));
    assert_eq!(breakdown.adjustments, d("-316"));
    assert_eq!(pennies(breakdown.totals.total), d("16248.14"));
    assert_eq!(pennies(breakdown.totals.with_vat()), d("19497.77"));
}

#[test]
fn statement_three_unwinds_refunds_from_the_previous_fill() {
    let counts = BTreeMap::from([(
        DeclarationType::Started,
        TypeCounts {
            previous_net: 128,
            billable: 0,
            refundable: 5,
        },
    )]);

    let breakdown = ecf::breakdown(
        &contract(),
        &counts,
        UpliftCounts::default(),
        Decimal::ZERO,
        true,
    );

    let starts = &breakdown.outputs[&DeclarationType::Started];
    assert_eq!(starts.subtractions, vec![0, 5, 0, 0]);
    assert_eq!(starts.clawback, d("540"));
}

#[test]
fn nothing_is_paid_beyond_the_last_band() {
    let counts = TypeCounts {
        previous_net: 320,
        billable: 20,
        refundable: 0,
    };

    let output = ecf::band_output(&contract().bands, DeclarationType::Started, counts);

    assert_eq!(output.additions, vec![0, 0, 0, 10]);
    assert_eq!(output.output_fee, d("1600"));
}

#[test]
fn the_sandbox_contract_fills_band_a_with_eleven_and_caps_uplifts_at_2000() {
    let sample = EcfContract {
        recruitment_target: 4500,
        revised_target: Some(4590),
        set_up_fee: Decimal::ZERO,
        monthly_service_fee: Some(Decimal::ZERO),
        bands: vec![
            band(Some(0), 10, "995", "60", "40"),
            band(Some(11), 20, "979", "60", "40"),
            band(Some(21), 30, "966", "60", "40"),
            band(Some(31), 40, "966", "100", "0"),
        ],
        ..contract()
    };
    let output = ecf::band_output(
        &sample.bands,
        DeclarationType::Started,
        TypeCounts {
            previous_net: 0,
            billable: 41,
            refundable: 0,
        },
    );

    assert_eq!(output.additions, vec![11, 10, 10, 10]);
    assert_eq!(ecf::uplift_cap(&sample), d("2000"));
    assert_eq!(ecf::service_fee(&sample), Decimal::ZERO);
    assert_eq!(
        ecf::fee(&sample.bands[3], DeclarationType::Retained1),
        d("144.90")
    );
}

#[test]
fn the_worked_npq_statement_adds_up_to_the_penny() {
    let headship = CourseTerms {
        recruitment_target: 72,
        per_participant: d("1985"),
        service_fee_installments: 20,
        service_fee_percentage: d("40"),
        output_payment_percentage: d("60"),
        number_of_payment_periods: 4,
        monthly_service_fee: None,
        targeted_delivery_funding_per_participant: d("100"),
    };
    let ehco = CourseTerms {
        recruitment_target: 10,
        per_participant: d("800"),
        service_fee_installments: 0,
        service_fee_percentage: Decimal::ZERO,
        output_payment_percentage: d("100"),
        number_of_payment_periods: 4,
        monthly_service_fee: None,
        targeted_delivery_funding_per_participant: d("100"),
    };

    let headship = npq::course(
        &headship,
        CourseCounts {
            billable: 55,
            refundable: 2,
            tdf_starts: 12,
            tdf_refunds: 1,
        },
    );
    let ehco = npq::course(
        &ehco,
        CourseCounts {
            billable: 10,
            ..Default::default()
        },
    );
    let totals = npq::statement(&[headship, ehco], Decimal::ZERO, true);

    assert_eq!(headship.service_fee, d("2858.40"));
    assert_eq!(headship.per_declaration, d("297.75"));
    assert_eq!(headship.output, d("16376.25"));
    assert_eq!(headship.clawback, d("595.50"));
    assert_eq!(pennies(headship.total()), d("19739.15"));
    assert_eq!(ehco.per_declaration, d("200"));
    assert_eq!(ehco.total(), d("2000"));
    assert_eq!(pennies(totals.total), d("21739.15"));
    assert_eq!(pennies(totals.vat), d("4347.83"));
    assert_eq!(pennies(totals.with_vat()), d("26086.98"));
}

#[test]
fn shown_amounts_have_two_decimal_places() {
    assert_eq!(super::shown(d("109.55")).to_string(), "109.55");
    assert_eq!(super::shown(d("109.5500")).to_string(), "109.55");
    assert_eq!(super::shown(d("100")).to_string(), "100.00");
    assert_eq!(super::shown(d("0.125")).to_string(), "0.13");
    assert_eq!(super::shown(d("-0.125")).to_string(), "-0.13");
}

#[test]
fn apportioned_parts_add_up_to_their_total_as_shown() {
    // Three thirds of a penny-less pound: each rounds to 0.33, the total to 1.00.
    let third = d("1") / d("3");
    let parts = super::apportion(&[third, third, third], None);
    assert_eq!(parts, vec![d("0.34"), d("0.33"), d("0.33")]);
    // The part rounded down furthest takes the missing penny.
    let parts = super::apportion(&[d("0.004"), d("0.003"), d("0.003")], None);
    assert_eq!(parts, vec![d("0.01"), d("0.00"), d("0.00")]);
    // A penny too many comes off the part rounded up furthest.
    let parts = super::apportion(&[d("0.005"), d("0.006"), d("-0.001")], None);
    assert_eq!(parts.iter().sum::<Decimal>(), d("0.01"));
    assert_eq!(parts, vec![d("0.00"), d("0.01"), d("0.00")]);
    // The brief's worked statement: exact parts round and add up unchanged.
    let parts = super::apportion(&[d("3624.137931"), d("11940"), d("1000"), d("-316")], None);
    assert_eq!(parts, vec![d("3624.14"), d("11940"), d("1000"), d("-316")]);
    assert_eq!(parts.iter().sum::<Decimal>(), d("16248.14"));
    // Parts of a total that was itself moved by a penny follow it.
    let parts = super::apportion(&[d("0.5"), d("0.5")], Some(d("1.01")));
    assert_eq!(parts, vec![d("0.51"), d("0.50")]);
}
