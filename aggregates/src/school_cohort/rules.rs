//! The partnership rules, checked in the order the API reports them.

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::{
    CHALLENGE_REASONS, INDUCTION_PROGRAMMES, PartnershipError as E, PartnershipRejection,
    SchoolCohort, SchoolCohortCommand as C, SchoolCohortEvent as V, Sent,
};
use crate::ids::PartnershipId;

pub(super) fn decide(cohort: &SchoolCohort, command: C) -> Result<Vec<V>, PartnershipRejection> {
    command.check_bounds()?;
    match command {
        C::Confirm {
            lead_provider_id,
            request,
            at,
        } => {
            let mut missing = Vec::new();
            if request.cohort == Sent::Missing {
                missing.push(E::MissingCohort);
            }
            if request.school_id == Sent::Missing {
                missing.push(E::MissingSchool);
            }
            if request.delivery_partner_id == Sent::Missing {
                missing.push(E::MissingDeliveryPartner);
            }
            if !missing.is_empty() {
                return Err(PartnershipRejection(missing));
            }
            let Sent::Known(year) = request.cohort else {
                return Err(E::InvalidCohort.into());
            };
            let Sent::Known(school_id) = request.school_id else {
                return Err(E::InvalidSchool.into());
            };
            if request.cip_only {
                return Err(E::NotFunded.into());
            }
            if !request.school_eligible {
                return Err(E::Ineligible.into());
            }
            let active = cohort
                .partnerships
                .iter()
                .find(|p| p.challenged_reason.is_none());
            if let Some(partnership) = active {
                let ours = partnership.lead_provider_id == lead_provider_id;
                return Err(if ours {
                    E::AlreadyPartnered
                } else {
                    E::OtherProvider
                }
                .into());
            }
            if request.partnered_last_year && !cohort.set_up() {
                return Err(E::NotYetConfirmed.into());
            }
            let Sent::Known(delivery_partner_id) = request.delivery_partner_id else {
                return Err(E::InvalidDeliveryPartner.into());
            };
            if !request.has_relationship {
                return Err(E::NoRelationship.into());
            }
            Ok(vec![V::PartnershipConfirmed {
                partnership_id: PartnershipId::for_school(lead_provider_id, school_id, year),
                school_id,
                cohort: year,
                lead_provider_id,
                delivery_partner_id,
                challenge_deadline: challenge_deadline(year, at),
            }])
        }
        C::ChangeDeliveryPartner {
            partnership_id,
            request,
        } => {
            let partnership = cohort.partnerships.iter().find(|p| p.id == partnership_id);
            let partnership = partnership.ok_or(E::NotFound)?;
            let delivery_partner_id = match request.delivery_partner_id {
                Sent::Missing => return Err(E::MissingDeliveryPartner.into()),
                Sent::Unknown => return Err(E::InvalidDeliveryPartner.into()),
                Sent::Known(id) => id,
            };
            if !request.has_relationship {
                return Err(E::NoRelationship.into());
            }
            if partnership.challenged_reason.is_some() {
                return Err(E::Challenged.into());
            }
            if partnership.delivery_partner_id == delivery_partner_id {
                return Ok(vec![]);
            }
            Ok(vec![V::DeliveryPartnerChanged {
                partnership_id,
                delivery_partner_id,
            }])
        }
        C::Challenge {
            partnership_id,
            reason,
            at,
        } => {
            if !CHALLENGE_REASONS.contains(&reason.as_str()) {
                return Err(E::UnknownReason.into());
            }
            let partnership = cohort.partnerships.iter().find(|p| p.id == partnership_id);
            match partnership.ok_or(E::NotFound)?.challenged_reason {
                Some(_) => Ok(vec![]),
                None => Ok(vec![V::PartnershipChallenged {
                    partnership_id,
                    reason,
                    at,
                }]),
            }
        }
        C::ChooseInductionProgramme {
            school_id,
            cohort: year,
            choice,
        } => {
            if !INDUCTION_PROGRAMMES.contains(&choice.as_str()) {
                return Err(E::UnknownProgramme.into());
            }
            if cohort.induction_programme.as_ref() == Some(&choice) {
                return Ok(vec![]);
            }
            Ok(vec![V::InductionProgrammeChosen {
                school_id,
                cohort: year,
                choice,
            }])
        }
        C::Open {
            school_id,
            cohort: year,
        } if !cohort.opened => Ok(vec![V::Opened {
            school_id,
            cohort: year,
        }]),
        C::Open { .. } => Ok(vec![]),
    }
}

/// The later of the end of October of the cohort year (two months into the academic year) and
/// fourteen days from confirmation.
fn challenge_deadline(cohort: i32, at: DateTime<Utc>) -> DateTime<Utc> {
    let autumn = NaiveDate::from_ymd_opt(cohort, 10, 31)
        .map(|day| day.and_time(Default::default()).and_utc())
        .unwrap_or(at);
    autumn.max(at + Days::new(14))
}
