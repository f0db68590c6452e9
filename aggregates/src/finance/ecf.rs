//! ECF money: the service fee, output fees filling bands cumulatively per declaration type,
//! refunds unwound from the highest band, and uplifts up to a cap.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::reference::{Band, DeclarationType, EcfContract};

/// The share of a band's output payment each declaration type earns, in percent.
pub fn share(declaration_type: DeclarationType) -> Decimal {
    match declaration_type {
        DeclarationType::Started | DeclarationType::Completed => Decimal::from(20),
        _ => Decimal::from(15),
    }
}

/// How many participants a band holds: max − (min, or 1 when none) + 1.
pub fn capacity(band: &Band) -> u32 {
    (band.max + 1).saturating_sub(band.min.unwrap_or(1))
}

/// How many of the first `n` participants fall in band `index`: band A's lower edge is 0,
/// every other band's is its min − 1.
fn in_band(bands: &[Band], index: usize, n: u32) -> u32 {
    let band = &bands[index];
    let lower = if index == 0 {
        0
    } else {
        band.min.unwrap_or(1).saturating_sub(1)
    };
    n.min(band.max).saturating_sub(lower)
}

/// The contract's value: each band's share of the recruitment target at its price.
pub fn contract_value(contract: &EcfContract) -> Decimal {
    (0..contract.bands.len())
        .map(|i| {
            Decimal::from(in_band(&contract.bands, i, contract.recruitment_target))
                * contract.bands[i].per_participant
        })
        .sum()
}

/// The uplift cap: 5 % of the contract value, rounded up to the next £100.
pub fn uplift_cap(contract: &EcfContract) -> Decimal {
    let five_percent = contract_value(contract) * Decimal::new(5, 2);
    (five_percent / Decimal::from(100)).ceil() * Decimal::from(100)
}

/// The service fee on every ECF statement: the bands' service share of the target, less the
/// set-up fee spread over band A, divided by 29 — unless the contract fixes a monthly fee.
pub fn service_fee(contract: &EcfContract) -> Decimal {
    if let Some(fixed) = contract.monthly_service_fee {
        return fixed;
    }
    let bands = &contract.bands;
    let sum: Decimal = (0..bands.len())
        .map(|i| {
            let band = &bands[i];
            let set_up = if i == 0 && band.max > 0 {
                contract.set_up_fee / Decimal::from(band.max)
            } else {
                Decimal::ZERO
            };
            let per_head =
                band.per_participant * band.service_fee_percentage / Decimal::from(100) - set_up;
            Decimal::from(in_band(bands, i, contract.recruitment_target)) * per_head
        })
        .sum();
    sum / Decimal::from(29)
}

/// The output fee of one declaration of a type in a band.
pub fn fee(band: &Band, declaration_type: DeclarationType) -> Decimal {
    band.per_participant * band.output_payment_percentage / Decimal::from(100)
        * share(declaration_type)
        / Decimal::from(100)
}

/// Line items of one declaration type: on earlier statements (net of refunds) and on this one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TypeCounts {
    /// Billable minus refundable items on statements paid earlier.
    pub previous_net: i64,
    /// Billable items on this statement.
    pub billable: u32,
    /// Refundable items on this statement.
    pub refundable: u32,
}

/// What one declaration type earns and loses on a statement, band by band.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeOutput {
    /// Additions per band (A first).
    pub additions: Vec<u32>,
    /// Subtractions per band.
    pub subtractions: Vec<u32>,
    /// Σ additions × fee.
    pub output_fee: Decimal,
    /// Σ subtractions × fee (a positive amount, deducted).
    pub clawback: Decimal,
}

/// One band's part in one declaration type's output on a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BandAmounts {
    /// The band's letter: A, B, C, D.
    pub letter: char,
    /// The fee per declaration of the type in this band.
    pub fee: Decimal,
    /// Declarations paid in this band.
    pub additions: u32,
    /// Clawbacks unwound from this band.
    pub subtractions: u32,
    /// additions × fee.
    pub output_fee: Decimal,
    /// subtractions × fee (a positive amount, deducted).
    pub clawback: Decimal,
}

impl TypeOutput {
    /// The bands that paid or clawed back anything, A first, with their fees and amounts.
    pub fn bands(&self, bands: &[Band], declaration_type: DeclarationType) -> Vec<BandAmounts> {
        bands
            .iter()
            .enumerate()
            .filter_map(|(i, band)| {
                let additions = self.additions.get(i).copied().unwrap_or(0);
                let subtractions = self.subtractions.get(i).copied().unwrap_or(0);
                if additions == 0 && subtractions == 0 {
                    return None;
                }
                let fee = fee(band, declaration_type);
                Some(BandAmounts {
                    letter: char::from(b'A' + u8::try_from(i).unwrap_or(25)),
                    fee,
                    additions,
                    subtractions,
                    output_fee: fee * Decimal::from(additions),
                    clawback: fee * Decimal::from(subtractions),
                })
            })
            .collect()
    }
}

/// Fills the bands for one type: the previous net fill first, then this statement's billable
/// items into what is left (anything beyond the last band is not paid); refunds come off this
/// statement's own additions from the highest band, then off the previous fill.
pub fn band_output(
    bands: &[Band],
    declaration_type: DeclarationType,
    counts: TypeCounts,
) -> TypeOutput {
    let capacities: Vec<i64> = bands.iter().map(|b| i64::from(capacity(b))).collect();
    let mut previous = vec![0i64; bands.len()];
    let mut left = counts.previous_net.max(0);
    for (fill, capacity) in previous.iter_mut().zip(&capacities) {
        let poured = left.min(*capacity);
        *fill = poured;
        left -= poured;
    }
    let mut additions = vec![0i64; bands.len()];
    let mut left = i64::from(counts.billable);
    for i in 0..bands.len() {
        let poured = left.min(capacities[i] - previous[i]);
        additions[i] = poured;
        left -= poured;
    }
    let mut subtractions = vec![0i64; bands.len()];
    let mut refunds = i64::from(counts.refundable);
    for i in (0..bands.len()).rev() {
        let taken = refunds.min(additions[i]);
        subtractions[i] += taken;
        refunds -= taken;
    }
    for i in (0..bands.len()).rev() {
        let taken = refunds.min(previous[i]);
        subtractions[i] += taken;
        refunds -= taken;
    }
    let amount = |counts: &[i64]| -> Decimal {
        counts
            .iter()
            .zip(bands)
            .map(|(n, band)| Decimal::from(*n) * fee(band, declaration_type))
            .sum()
    };
    let output_fee = amount(&additions);
    let clawback = amount(&subtractions);
    let as_u32 = |v: Vec<i64>| {
        v.into_iter()
            .map(|n| u32::try_from(n).unwrap_or(0))
            .collect()
    };
    TypeOutput {
        additions: as_u32(additions),
        subtractions: as_u32(subtractions),
        output_fee,
        clawback,
    }
}

/// Uplift counts: qualifying `started` items (sparsity or pupil premium, counted once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpliftCounts {
    /// Qualifying billable minus refundable on earlier statements.
    pub previous_net: i64,
    /// Qualifying billable items on this statement.
    pub additions: u32,
    /// Qualifying refundable items on this statement.
    pub subtractions: u32,
}

/// An ECF statement's breakdown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcfBreakdown {
    /// The service fee.
    pub service_fee: Decimal,
    /// Per declaration type: bands, fees and clawbacks.
    pub outputs: BTreeMap<DeclarationType, TypeOutput>,
    /// Σ output fees.
    pub output_fee: Decimal,
    /// Uplift fees, within the cap.
    pub uplift_fee: Decimal,
    /// Uplift clawback (a positive amount, deducted; never capped).
    pub uplift_clawback: Decimal,
    /// −(clawbacks + uplift clawback).
    pub adjustments: Decimal,
    /// The signed manual adjustment.
    pub reconcile_amount: Decimal,
    /// The total and its VAT.
    pub totals: super::Totals,
}

/// Prices one ECF statement.
pub fn breakdown(
    contract: &EcfContract,
    counts: &BTreeMap<DeclarationType, TypeCounts>,
    uplifts: UpliftCounts,
    reconcile_amount: Decimal,
    vat_chargeable: bool,
) -> EcfBreakdown {
    let outputs: BTreeMap<_, _> = counts
        .iter()
        .map(|(t, c)| (*t, band_output(&contract.bands, *t, *c)))
        .collect();
    let output_fee: Decimal = outputs.values().map(|o| o.output_fee).sum();
    let clawbacks: Decimal = outputs.values().map(|o| o.clawback).sum();
    let amount = contract.uplift_amount;
    let room =
        (uplift_cap(contract) - Decimal::from(uplifts.previous_net) * amount).max(Decimal::ZERO);
    let uplift_fee = room.min(Decimal::from(uplifts.additions) * amount);
    let uplift_clawback = Decimal::from(uplifts.subtractions) * amount;
    let adjustments = Decimal::ZERO - (clawbacks + uplift_clawback);
    let service_fee = service_fee(contract);
    let total = service_fee + output_fee + uplift_fee + adjustments + reconcile_amount;
    EcfBreakdown {
        service_fee,
        outputs,
        output_fee,
        uplift_fee,
        uplift_clawback,
        adjustments,
        reconcile_amount,
        totals: super::Totals::new(total, vat_chargeable),
    }
}
