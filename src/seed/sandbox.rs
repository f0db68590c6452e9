//! The sandbox world, from `seeds/sandbox`: delivery partners, schools and partnerships for
//! the ECF providers in cohorts 2021 to 2023. Names and URNs are made up.

use std::collections::BTreeSet;

use aggregates::reference::{DeliveryPartner, Partnership, ProviderRelationship, School};
use aggregates::{DeliveryPartnerId, LeadProviderId, SchoolId};
use serde::Deserialize;

use super::{SeedError, participants, read_csv, register_all};
use crate::ledger::Ledger;

const PARTNERS: (&str, &str) = (
    "delivery-partners.csv",
    include_str!("../../seeds/sandbox/delivery-partners.csv"),
);
const SCHOOLS: (&str, &str) = (
    "schools.csv",
    include_str!("../../seeds/sandbox/schools.csv"),
);
const PARTNERSHIPS: (&str, &str) = (
    "partnerships.csv",
    include_str!("../../seeds/sandbox/partnerships.csv"),
);

#[derive(Deserialize)]
struct PartnershipRow {
    lead_provider: String,
    school_urn: String,
    delivery_partner: String,
    cohort: i32,
}

/// Loads the sandbox world (after the reference data).
pub async fn load(ledger: &Ledger) -> Result<(), SeedError> {
    let partners: Vec<DeliveryPartner> = read_csv(PARTNERS.0, PARTNERS.1)?;
    let schools: Vec<School> = read_csv(SCHOOLS.0, SCHOOLS.1)?;
    let rows = read_csv::<PartnershipRow>(PARTNERSHIPS.0, PARTNERSHIPS.1)?;
    let partnerships: Vec<Partnership> = rows
        .iter()
        .map(|row| Partnership {
            lead_provider_id: LeadProviderId::from_name(&row.lead_provider),
            school_id: SchoolId::from_urn(&row.school_urn),
            delivery_partner_id: DeliveryPartnerId::from_name(&row.delivery_partner),
            cohort: row.cohort,
        })
        .collect();
    // A provider works with a delivery partner in every cohort it partners a school through it.
    let relationships: BTreeSet<_> = partnerships
        .iter()
        .map(|p| (p.lead_provider_id, p.delivery_partner_id, p.cohort))
        .collect();
    let relationships = relationships
        .into_iter()
        .map(
            |(lead_provider_id, delivery_partner_id, cohort)| ProviderRelationship {
                lead_provider_id,
                delivery_partner_id,
                cohort,
            },
        )
        .collect();
    register_all(ledger, "delivery partners", partners).await?;
    register_all(ledger, "schools", schools).await?;
    register_all(ledger, "provider relationships", relationships).await?;
    register_all(ledger, "partnerships", partnerships).await?;
    // Registering participants looks schools and partnerships up in the read models.
    super::catch_up(ledger).await?;
    let mut cohorts: Vec<participants::Schools> = Vec::new();
    for row in &rows {
        match cohorts
            .iter_mut()
            .find(|s| s.provider == row.lead_provider && s.cohort == row.cohort)
        {
            Some(schools) => schools.urns.push(&row.school_urn),
            None => cohorts.push(participants::Schools {
                provider: &row.lead_provider,
                cohort: row.cohort,
                urns: vec![&row.school_urn],
            }),
        }
    }
    participants::load(ledger, &cohorts, chrono::Utc::now()).await
}
