//! Statement arithmetic, in exact decimals: ECF service and output fees with cumulative
//! banding, uplifts and clawbacks; NPQ per-course service fees, output payments and targeted
//! delivery funding. Pure functions of counts and contract terms; amounts are never rounded
//! until they are shown ([`pennies`]).

pub mod ecf;
pub mod npq;

use rust_decimal::{Decimal, RoundingStrategy};

/// Whether statements charge VAT: every provider is VAT-chargeable (docs/finance.md), as no
/// provider in the reference data is recorded otherwise.
pub const VAT_CHARGEABLE: bool = true;

/// The VAT rate applied when a provider is VAT-chargeable.
pub fn vat_rate() -> Decimal {
    Decimal::new(20, 2)
}

/// An amount as shown: to the penny, halves away from zero.
pub fn pennies(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// An amount to the penny with exactly two decimal places, so `100` reads "100.00".
pub fn shown(amount: Decimal) -> Decimal {
    let mut rounded = pennies(amount);
    rounded.rescale(2);
    rounded
}

/// Amounts shown to the penny so that they add up to their sum as shown (`total`, itself to
/// the penny; the sum rounded when none is given): each is rounded ([`pennies`]), then each
/// penny still missing (or extra) goes to (comes off) the amount whose rounding moved it
/// furthest the other way, the earliest on a tie (the largest remainder method). Each amount
/// moves by at most one penny.
pub fn apportion(parts: &[Decimal], total: Option<Decimal>) -> Vec<Decimal> {
    let mut out: Vec<Decimal> = parts.iter().copied().map(shown).collect();
    let target = total.unwrap_or_else(|| shown(parts.iter().copied().sum()));
    let penny = Decimal::new(1, 2);
    let missing = target - out.iter().copied().sum::<Decimal>();
    let step = if missing.is_sign_negative() {
        -penny
    } else {
        penny
    };
    let mut moved = vec![false; parts.len()];
    let mut left = (missing / penny).abs();
    while left > Decimal::ZERO {
        let Some(i) = (0..parts.len()).filter(|i| !moved[*i]).max_by(|a, b| {
            let gap = |i: usize| (parts[i] - out[i]) * step;
            gap(*a).cmp(&gap(*b)).then(b.cmp(a))
        }) else {
            break;
        };
        out[i] += step;
        moved[i] = true;
        left -= Decimal::ONE;
    }
    out
}

/// A statement total with its VAT, computed on the unrounded total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Totals {
    /// Before VAT.
    pub total: Decimal,
    /// The VAT on it (zero when not chargeable).
    pub vat: Decimal,
}

impl Totals {
    /// A total, with VAT when `vat_chargeable`.
    pub fn new(total: Decimal, vat_chargeable: bool) -> Self {
        let vat = if vat_chargeable {
            total * vat_rate()
        } else {
            Decimal::ZERO
        };
        Self { total, vat }
    }

    /// Total plus VAT.
    pub fn with_vat(&self) -> Decimal {
        self.total + self.vat
    }
}

#[cfg(test)]
mod tests;
