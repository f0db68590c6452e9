//! A declaration's states, what each counts as (live, billable, refundable, paid, eligible for
//! payment, an uplift shown paid), and the one transition function that moves them.

use serde::{Deserialize, Serialize};

use super::{Declaration, DeclarationSlotEvent};
use crate::course::Course;

/// The states of a declaration, dasherized as the API shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeclarationState {
    /// Accepted; the participant is not (yet) fundable.
    Submitted,
    /// Fundable; waiting for its statement's deadline.
    Eligible,
    /// Its statement closed; to be paid.
    Payable,
    /// Paid.
    Paid,
    /// Voided by its provider.
    Voided,
    /// A duplicate of another person's declaration with the same TRN.
    Ineligible,
    /// Voided after payment; to be clawed back.
    AwaitingClawback,
    /// Clawed back.
    ClawedBack,
}

impl DeclarationState {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Eligible => "eligible",
            Self::Payable => "payable",
            Self::Paid => "paid",
            Self::Voided => "voided",
            Self::Ineligible => "ineligible",
            Self::AwaitingClawback => "awaiting-clawback",
            Self::ClawedBack => "clawed-back",
        }
    }

    /// Every state.
    pub const ALL: [Self; 8] = [
        Self::Submitted,
        Self::Eligible,
        Self::Payable,
        Self::Paid,
        Self::Voided,
        Self::Ineligible,
        Self::AwaitingClawback,
        Self::ClawedBack,
    ];

    /// Parses the name the API uses.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }

    /// Whether it holds the milestone: submitted, eligible, payable or paid. Statement events
    /// never change it (eligible → payable → paid, awaiting clawback → clawed back), so the
    /// read side's set-based statement updates leave its `live` column as it is.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            Self::Submitted | Self::Eligible | Self::Payable | Self::Paid
        )
    }

    /// Whether its statement counts it as a billable line: eligible, payable or paid, and a
    /// paid line stays billable once voided (awaiting clawback or clawed back).
    pub fn is_billable(self) -> bool {
        matches!(
            self,
            Self::Eligible | Self::Payable | Self::Paid | Self::AwaitingClawback | Self::ClawedBack
        )
    }

    /// Whether its clawback statement counts it as a refundable line.
    pub fn is_refundable(self) -> bool {
        matches!(self, Self::AwaitingClawback | Self::ClawedBack)
    }

    /// Whether it was paid: paid, or voided after payment.
    pub fn was_paid(self) -> bool {
        matches!(self, Self::Paid | Self::AwaitingClawback | Self::ClawedBack)
    }

    /// Whether v1 calls it eligible for payment: eligible or payable, not yet paid.
    pub fn is_eligible_for_payment(self) -> bool {
        matches!(self, Self::Eligible | Self::Payable)
    }

    /// Whether the API shows its uplift as paid: a paid `started` declaration on a course that
    /// carries an uplift the participant has (ECF induction: pupil premium or sparsity; an NPQ
    /// course with outcomes: targeted delivery funding). Deliberately never for mentors, whose
    /// uplifts finance still counts (docs/finance.md: "mentors included, as the calculator
    /// does").
    pub fn shows_uplift_paid(
        self,
        declaration_type: &str,
        course: Option<Course>,
        uplifts: Uplifts,
    ) -> bool {
        let uplift = match course {
            Some(Course::EcfInduction) => uplifts.pupil_premium || uplifts.sparsity,
            Some(course) if course.has_outcomes() => uplifts.targeted_delivery_funding,
            _ => false,
        };
        self.was_paid() && declaration_type == "started" && uplift
    }
}

/// The uplifts a participant has, as the declaration's read model records them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Uplifts {
    /// ECF: the school's pupil premium uplift.
    pub pupil_premium: bool,
    /// ECF: the school's sparsity uplift.
    pub sparsity: bool,
    /// NPQ: targeted delivery funding.
    pub targeted_delivery_funding: bool,
}

/// What one event does to a declaration already recorded and its state: the one transition
/// function, used by the slot and by finance's fold of the log. Events of other declarations,
/// and those that do not move one (`Submitted`, `OutcomeRecorded`), change nothing.
pub fn transition(
    declaration: &mut Declaration,
    state: &mut DeclarationState,
    event: &DeclarationSlotEvent,
) {
    use DeclarationSlotEvent as V;
    if event.moved() != Some(declaration.id) {
        return;
    }
    match *event {
        V::Submitted(_) | V::OutcomeRecorded(_) | V::MovedOut { .. } | V::MovedIn(_) => {}
        V::Voided { .. } => *state = DeclarationState::Voided,
        V::ClawbackRequested { statement_id, .. } => {
            *state = DeclarationState::AwaitingClawback;
            declaration.clawback_statement_id = statement_id;
        }
        V::BecameEligible { statement_id, .. } => {
            *state = DeclarationState::Eligible;
            declaration.statement_id = statement_id;
        }
        V::Attached {
            statement_id,
            clawback,
            ..
        } => match clawback {
            true => declaration.clawback_statement_id = Some(statement_id),
            false => declaration.statement_id = Some(statement_id),
        },
        V::BecamePayable { .. } => *state = DeclarationState::Payable,
        V::BecamePaid { .. } => *state = DeclarationState::Paid,
        V::ClawedBack { .. } => *state = DeclarationState::ClawedBack,
    }
}
