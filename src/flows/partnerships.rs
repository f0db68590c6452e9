//! Partnership flows shared by the API, the admin API, the CLI and the seeds: each looks up
//! the facts the school cohort aggregate needs and runs its command.

use aggregates::school_cohort::{
    INDUCTION_PROGRAMMES, PartnershipError, PartnershipRejection, PartnershipRequest, SchoolCohort,
    SchoolCohortCommand, Sent, school_cohort_id,
};
use aggregates::{DeliveryPartnerId, LeadProviderId, PartnershipId, SchoolId};
use chrono::{DateTime, Utc};
use projections::reference::{self, PartnershipFacts};
use projections::schools::{PartnershipRow, WrittenPartnership};
use uuid::Uuid;

use crate::ledger::{CommandContext, Ledger, LedgerError, Visibility};

/// A partnership confirmation as the provider sent it: text, as in the request body.
#[derive(Clone, Debug, Default)]
pub struct Confirmation {
    /// `cohort`.
    pub cohort: Option<String>,
    /// `school_id`.
    pub school_id: Option<String>,
    /// `delivery_partner_id`.
    pub delivery_partner_id: Option<String>,
}

fn present(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// Text that must name something known: missing, unparsable or unknown, or known.
fn sent<T>(text: &Option<String>, parsed: Option<T>, known: bool) -> Sent<T> {
    match (present(text), parsed) {
        (None, _) => Sent::Missing,
        (Some(_), Some(value)) if known => Sent::Known(value),
        _ => Sent::Unknown,
    }
}

/// Confirms a partnership and returns its id.
pub async fn confirm(
    ledger: &Ledger,
    provider: LeadProviderId,
    confirmation: &Confirmation,
    now: DateTime<Utc>,
    context: &CommandContext,
) -> Result<Written, LedgerError<PartnershipRejection>> {
    let cohort = present(&confirmation.cohort).and_then(|c| c.parse::<i32>().ok());
    let school = present(&confirmation.school_id)
        .and_then(|s| Uuid::parse_str(s).ok())
        .map(SchoolId);
    let partner = present(&confirmation.delivery_partner_id)
        .and_then(|d| Uuid::parse_str(d).ok())
        .map(DeliveryPartnerId);
    let facts = reference::partnership_facts(ledger.pool(), provider, school, cohort, partner)
        .await
        .map_err(|e| LedgerError::Store(Box::new(e)))?;
    let request = request(confirmation, cohort, school, partner, &facts);
    // A request naming no known school and cohort is refused before it touches any state.
    let stream = match (school, cohort) {
        (Some(school), Some(cohort)) => school_cohort_id(school, cohort),
        _ => school_cohort_id(SchoolId(Uuid::nil()), 0),
    };
    let command = SchoolCohortCommand::Confirm {
        lead_provider_id: provider,
        request: Box::new(request),
        at: now,
    };
    let visibility = ledger
        .execute::<SchoolCohort>(&stream, command, context)
        .await?;
    let (school, cohort) = (
        school.unwrap_or(SchoolId(Uuid::nil())),
        cohort.unwrap_or_default(),
    );
    Ok(Written {
        key: (
            PartnershipId::for_school(provider, school, cohort),
            school,
            cohort,
        ),
        visibility,
    })
}

/// A committed partnership write: which partnership, and whether the read models show it.
#[derive(Clone, Copy, Debug)]
pub struct Written {
    /// The partnership, its school and its cohort.
    pub key: (PartnershipId, SchoolId, i32),
    /// Whether the read models show the write.
    pub visibility: Visibility,
}

/// The partnership as its school cohort's committed events leave it, named as the read model
/// names it: the answer to a write that the read model does not show yet. `created_at` is when
/// it was first confirmed, if known; `now` stands in for when it changed.
pub async fn committed(
    ledger: &Ledger,
    (partnership, school, cohort): (PartnershipId, SchoolId, i32),
    created_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<PartnershipRow>, LedgerError<PartnershipRejection>> {
    let state = ledger
        .committed::<SchoolCohort>(&school_cohort_id(school, cohort))
        .await?;
    let Some(written) = state.partnerships().iter().find(|p| p.id == partnership) else {
        return Ok(None);
    };
    let written = WrittenPartnership {
        id: partnership.0,
        cohort,
        school_id: school.0,
        delivery_partner_id: written.delivery_partner_id.0,
        challenged_reason: written.challenged_reason.clone(),
        created_at: created_at.unwrap_or(now),
        updated_at: now,
    };
    projections::schools::partnership_as_written(ledger.pool(), &written)
        .await
        .map_err(|e| LedgerError::Store(Box::new(e)))
}

fn request(
    confirmation: &Confirmation,
    cohort: Option<i32>,
    school: Option<SchoolId>,
    partner: Option<DeliveryPartnerId>,
    facts: &PartnershipFacts,
) -> PartnershipRequest {
    PartnershipRequest {
        cohort: sent(&confirmation.cohort, cohort, facts.cohort_known),
        school_id: sent(&confirmation.school_id, school, facts.school_known),
        delivery_partner_id: sent(
            &confirmation.delivery_partner_id,
            partner,
            facts.delivery_partner_known,
        ),
        cip_only: facts.cip_only,
        school_eligible: facts.school_eligible,
        partnered_last_year: facts.partnered_last_year,
        has_relationship: facts.has_relationship,
    }
}

/// Moves the provider's partnership at `school` in `cohort` to another delivery partner.
pub async fn change_delivery_partner(
    ledger: &Ledger,
    provider: LeadProviderId,
    (partnership, school, cohort): (PartnershipId, SchoolId, i32),
    delivery_partner_id: &Option<String>,
    context: &CommandContext,
) -> Result<Visibility, LedgerError<PartnershipRejection>> {
    let partner = present(delivery_partner_id)
        .and_then(|d| Uuid::parse_str(d).ok())
        .map(DeliveryPartnerId);
    let facts =
        reference::partnership_facts(ledger.pool(), provider, Some(school), Some(cohort), partner)
            .await
            .map_err(|e| LedgerError::Store(Box::new(e)))?;
    let confirmation = Confirmation {
        delivery_partner_id: delivery_partner_id.clone(),
        ..Default::default()
    };
    let request = request(&confirmation, Some(cohort), Some(school), partner, &facts);
    let command = SchoolCohortCommand::ChangeDeliveryPartner {
        partnership_id: partnership,
        request: Box::new(request),
    };
    ledger
        .execute::<SchoolCohort>(&school_cohort_id(school, cohort), command, context)
        .await
}

/// The school challenges a partnership.
pub async fn challenge(
    ledger: &Ledger,
    (partnership, school, cohort): (PartnershipId, SchoolId, i32),
    reason: &str,
    now: DateTime<Utc>,
    context: &CommandContext,
) -> Result<(), LedgerError<PartnershipRejection>> {
    let command = SchoolCohortCommand::Challenge {
        partnership_id: partnership,
        reason: reason.to_owned(),
        at: now,
    };
    ledger
        .execute::<SchoolCohort>(&school_cohort_id(school, cohort), command, context)
        .await?;
    Ok(())
}

/// The school sets up a cohort and, optionally, chooses its induction programme. A cohort
/// missing from the reference data, or a choice outside the list, is refused before anything
/// is recorded.
pub async fn set_up_cohort(
    ledger: &Ledger,
    school: SchoolId,
    cohort: i32,
    choice: Option<&str>,
    context: &CommandContext,
) -> Result<(), LedgerError<PartnershipRejection>> {
    let refuse = |error: PartnershipError| LedgerError::Rejected(error.into());
    let known = reference::cohort_exists(ledger.pool(), cohort)
        .await
        .map_err(|e| LedgerError::Store(Box::new(e)))?;
    if !known {
        return Err(refuse(PartnershipError::InvalidCohort));
    }
    let stream = school_cohort_id(school, cohort);
    let open = SchoolCohortCommand::Open {
        school_id: school,
        cohort,
    };
    let choose = choice.map(|choice| SchoolCohortCommand::ChooseInductionProgramme {
        school_id: school,
        cohort,
        choice: choice.to_owned(),
    });
    if let Some(choose) = &choose {
        choose.check_bounds().map_err(|e| refuse(e.into()))?;
    }
    if choice.is_some_and(|choice| !INDUCTION_PROGRAMMES.contains(&choice)) {
        return Err(refuse(PartnershipError::UnknownProgramme));
    }
    ledger
        .execute::<SchoolCohort>(&stream, open, context)
        .await?;
    if let Some(choose) = choose {
        ledger
            .execute::<SchoolCohort>(&stream, choose, context)
            .await?;
    }
    Ok(())
}
