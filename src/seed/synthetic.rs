//! A synthetic world for benchmarks: one provider ("Ambition Institute") in partnership with a
//! hundred made-up schools in cohort 2022, and as many funded ECTs as asked for, spread over
//! those schools. Ids derive from each participant's number, so a repeat adds nothing.

use aggregates::course::ParticipantType;
use aggregates::ids::derived;
use aggregates::reference::{DeliveryPartner, ProviderRelationship, School};
use aggregates::training_record::{Placement, Registration, TrainingRecord, TrainingRecordCommand};
use aggregates::{DeliveryPartnerId, LeadProviderId, ParticipantId, PartnershipId, SchoolId};
use indicatif::{ProgressBar, ProgressStyle};
use projections::reference;

use super::{SeedError, register_all, send_all};
use crate::flows::partnerships::{self, Confirmation};
use crate::ledger::{Actor, CommandContext, Ledger};

/// The provider that trains the synthetic participants.
pub const PROVIDER: &str = "Ambition Institute";
/// The cohort they are in.
pub const COHORT: i32 = 2022;
const SCHOOLS: usize = 100;
const BATCH: usize = 5_000;

/// The synthetic participant number `n`.
pub fn participant_id(n: usize) -> ParticipantId {
    ParticipantId(derived(&format!("synthetic-person:{n}")))
}

/// Registers the schools, then `participants` ECTs, with a progress bar.
pub async fn load(ledger: &Ledger, participants: usize) -> Result<(), SeedError> {
    let provider = LeadProviderId::from_name(PROVIDER);
    let partner = DeliveryPartner {
        name: "Synthetic Delivery Partner".to_owned(),
    };
    let delivery_partner_id = DeliveryPartnerId::from_name(&partner.name);
    let urn = |i: usize| format!("{}", 900_000 + i);
    let schools: Vec<School> = (0..SCHOOLS)
        .map(|i| School {
            urn: urn(i),
            name: format!("Synthetic School {i}"),
            eligible: true,
            cip_only: false,
            induction_tutor_name: None,
            induction_tutor_email: None,
        })
        .collect();
    let relationship = ProviderRelationship {
        lead_provider_id: provider,
        delivery_partner_id,
        cohort: COHORT,
    };
    register_all(ledger, "delivery partners", vec![partner]).await?;
    register_all(ledger, "schools", schools).await?;
    register_all(ledger, "provider relationships", vec![relationship]).await?;
    super::catch_up(ledger).await?;
    let context = CommandContext::of(Actor::Seed);
    for i in 0..SCHOOLS {
        let school = SchoolId::from_urn(&urn(i));
        if reference::partnership_known(
            ledger.pool(),
            PartnershipId::for_school(provider, school, COHORT),
        )
        .await?
        {
            continue;
        }
        let confirmation = Confirmation {
            cohort: Some(COHORT.to_string()),
            school_id: Some(school.to_string()),
            delivery_partner_id: Some(delivery_partner_id.to_string()),
        };
        partnerships::confirm(
            ledger,
            provider,
            &confirmation,
            chrono::Utc::now(),
            &context,
        )
        .await
        .map_err(|e| SeedError::Command {
            what: "synthetic partnership",
            message: e.to_string(),
        })?;
    }

    let bar = ProgressBar::new(participants as u64).with_style(
        ProgressStyle::with_template("participants [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .map_err(|e| SeedError::Command {
                what: "progress bar",
                message: e.to_string(),
            })?
            .progress_chars("=> "),
    );
    let start = "2022-09-01T00:00:00Z".parse().unwrap_or_default();
    let mut first = 0;
    while first < participants {
        let last = (first + BATCH).min(participants);
        let commands = (first..last).map(|n| {
            let school = n % SCHOOLS;
            let registration = Registration {
                participant_id: participant_id(n),
                participant_type: ParticipantType::Ect,
                full_name: format!("Synthetic Participant {n}"),
                email: format!("participant{n}@synthetic.example.com"),
                trn: Some(format!("{:07}", 3_000_000 + n)),
                trn_validated: true,
                eligible_for_funding: Some(true),
                pupil_premium_uplift: n % 3 == 0,
                sparsity_uplift: n % 7 == 0,
                mentor_id: None,
                cohort: COHORT,
                schedule_identifier: "ecf-standard-september".to_owned(),
                placement: Placement {
                    school_id: SchoolId::from_urn(&urn(school)),
                    school_urn: urn(school),
                    lead_provider_id: provider,
                    delivery_partner_id,
                    start,
                },
            };
            let record = derived(&format!("synthetic-record:{n}")).to_string();
            (
                record,
                TrainingRecordCommand::Register(Box::new(registration)),
            )
        });
        send_all::<TrainingRecord, _>(ledger, "synthetic participants", commands).await?;
        bar.set_position(last as u64);
        first = last;
    }
    bar.finish_and_clear();
    Ok(())
}
