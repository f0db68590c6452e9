//! The sandbox world, from `seeds/sandbox`: delivery partners, schools and partnerships for
//! the ECF providers in cohorts 2021 to 2023, their participants, every NPQ provider's
//! applications and enrolments, and statements paid, payable and open. Names and URNs are
//! made up.

use std::collections::BTreeSet;

use aggregates::reference::{DeliveryPartner, ProviderRelationship, School};
use aggregates::school_cohort::PartnershipRejection;
use aggregates::{DeliveryPartnerId, LeadProviderId, PartnershipId, Programme, SchoolId};
use projections::reference;
use serde::Deserialize;

use super::{SeedError, npq, participants, read_csv, register_all};
use crate::flows::partnerships::{self, Confirmation};
use crate::ledger::{Actor, CommandContext, Ledger, LedgerError};

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
    // A provider works with a delivery partner in every cohort it partners a school through it.
    let relationships: BTreeSet<_> = rows
        .iter()
        .map(|row| {
            (
                row.lead_provider.as_str(),
                row.delivery_partner.as_str(),
                row.cohort,
            )
        })
        .collect();
    let relationships = relationships
        .into_iter()
        .map(|(provider, partner, cohort)| ProviderRelationship {
            lead_provider_id: LeadProviderId::from_name(provider),
            delivery_partner_id: DeliveryPartnerId::from_name(partner),
            cohort,
        })
        .collect();
    register_all(ledger, "delivery partners", partners).await?;
    register_all(ledger, "schools", schools).await?;
    register_all(ledger, "provider relationships", relationships).await?;
    // Partnerships and participants look schools and partners up in the read models.
    super::catch_up(ledger).await?;
    partner_schools(ledger, &rows).await?;
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
    let now = super::sandbox_now();
    participants::load(ledger, &cohorts, now).await?;
    // Declarations are answered from their commit: what follows reads them.
    super::catch_up(ledger).await?;
    challenge_some(ledger, &rows).await?;
    let npq_providers = npq::load(ledger, now).await?;
    super::catch_up(ledger).await?;
    statement_lifecycle(ledger, &rows, &npq_providers, now).await
}

/// As of the sandbox's `now`: statements past their deadline are closed; every provider's
/// statements paid out by then are paid except the latest, which stays payable; and one paid
/// `started` per provider and programme is voided, so a clawback waits on the next open
/// statement.
async fn statement_lifecycle(
    ledger: &Ledger,
    rows: &[PartnershipRow],
    npq_providers: &[String],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), SeedError> {
    let failed = |e: crate::finance::FinanceError| SeedError::Command {
        what: "sandbox statements",
        message: e.to_string(),
    };
    crate::finance::close_due(ledger, now)
        .await
        .map_err(failed)?;
    let context = CommandContext::of(Actor::Seed);
    let mut ecf_providers: Vec<&str> = rows.iter().map(|r| r.lead_provider.as_str()).collect();
    ecf_providers.dedup();
    let programmes = ecf_providers
        .iter()
        .map(|name| (*name, Programme::Ecf))
        .chain(
            npq_providers
                .iter()
                .map(|name| (name.as_str(), Programme::Npq)),
        );
    for (name, programme) in programmes {
        let provider = LeadProviderId::from_name(name);
        for cohort in [2021, 2022] {
            let statements =
                projections::finance::live(ledger.pool(), provider, programme, cohort).await?;
            let due: Vec<_> = statements
                .iter()
                .filter(|s| s.payment_date < now.date_naive())
                .collect();
            let Some((_, to_pay)) = due.split_last() else {
                continue;
            };
            for statement in to_pay {
                crate::finance::pay(ledger, aggregates::StatementId(statement.id), now, &context)
                    .await
                    .map_err(failed)?;
            }
        }
    }
    for name in ecf_providers {
        participants::claw_back_one(ledger, name, now).await?;
    }
    for name in npq_providers {
        npq::claw_back_one(ledger, name, now).await?;
    }
    Ok(())
}

/// Each partnered school sets its cohort up with a full induction programme and its provider
/// confirms the partnership.
async fn partner_schools(ledger: &Ledger, rows: &[PartnershipRow]) -> Result<(), SeedError> {
    let context = CommandContext::of(Actor::Seed);
    let failed = |e: LedgerError<PartnershipRejection>| SeedError::Command {
        what: "sandbox partnership",
        message: e.to_string(),
    };
    let now = chrono::Utc::now();
    let mut confirmed = 0;
    for row in rows {
        let provider = LeadProviderId::from_name(&row.lead_provider);
        let school = SchoolId::from_urn(&row.school_urn);
        let id = PartnershipId::for_school(provider, school, row.cohort);
        if reference::partnership_known(ledger.pool(), id).await? {
            continue;
        }
        partnerships::set_up_cohort(
            ledger,
            school,
            row.cohort,
            Some("full_induction_programme"),
            &context,
        )
        .await
        .map_err(failed)?;
        let confirmation = Confirmation {
            cohort: Some(row.cohort.to_string()),
            school_id: Some(school.to_string()),
            delivery_partner_id: Some(
                DeliveryPartnerId::from_name(&row.delivery_partner).to_string(),
            ),
        };
        partnerships::confirm(ledger, provider, &confirmation, now, &context)
            .await
            .map_err(failed)?;
        confirmed += 1;
    }
    tracing::info!(count = confirmed, "seeded partnerships");
    Ok(())
}

/// The last school of each provider (in 2023) challenges its partnership; challenging again
/// changes nothing.
async fn challenge_some(ledger: &Ledger, rows: &[PartnershipRow]) -> Result<(), SeedError> {
    let context = CommandContext::of(Actor::Seed);
    for (i, row) in rows.iter().enumerate() {
        let last_of_provider = rows
            .get(i + 1)
            .is_none_or(|next| next.lead_provider != row.lead_provider);
        if !last_of_provider || row.cohort != 2023 {
            continue;
        }
        let school = SchoolId::from_urn(&row.school_urn);
        let id = PartnershipId::for_school(
            LeadProviderId::from_name(&row.lead_provider),
            school,
            row.cohort,
        );
        partnerships::challenge(
            ledger,
            (id, school, row.cohort),
            "mistake",
            chrono::Utc::now(),
            &context,
        )
        .await
        .map_err(|e| SeedError::Command {
            what: "sandbox challenge",
            message: e.to_string(),
        })?;
    }
    Ok(())
}
