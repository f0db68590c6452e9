//! Statement arithmetic, in exact decimals: ECF service and output fees with cumulative
//! banding, uplifts and clawbacks; NPQ per-course service fees, output payments and targeted
//! delivery funding. Pure functions of counts and contract terms; amounts are never rounded
//! until they are shown ([`pennies`]).

pub mod ecf;
pub mod npq;

use rust_decimal::{Decimal, RoundingStrategy};

/// The VAT rate applied when a provider is VAT-chargeable.
pub fn vat_rate() -> Decimal {
    Decimal::new(20, 2)
}

/// An amount as shown: to the penny, halves away from zero.
pub fn pennies(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
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
