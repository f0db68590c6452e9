//! The reference data: real cohorts, schedules, lead providers, contracts and the statement
//! calendar, from `seeds/reference`.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use aggregates::reference::{
    Band, Cohort, DeclarationType, EcfContract, LeadProvider, Milestone, NpqContract, Schedule,
    ScheduleType,
};
use aggregates::{
    LeadProviderId, Programme, Statement, StatementCommand, StatementId, StatementTerms,
};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::{SeedError, parse_date, read_csv, register_all, send_all};
use crate::ledger::Ledger;

/// The version every seeded contract and statement uses.
const CONTRACT_VERSION: &str = "0.0.1";

const COHORTS: (&str, &str) = (
    "cohorts.csv",
    include_str!("../../seeds/reference/cohorts.csv"),
);
const SCHEDULES: (&str, &str) = (
    "schedules.csv",
    include_str!("../../seeds/reference/schedules.csv"),
);
const PROVIDERS: (&str, &str) = (
    "lead-providers.csv",
    include_str!("../../seeds/reference/lead-providers.csv"),
);
const ECF_CONTRACTS: (&str, &str) = (
    "ecf-contracts.csv",
    include_str!("../../seeds/reference/ecf-contracts.csv"),
);
const NPQ_CONTRACTS: [(&str, &str); 3] = [
    (
        "npq-contracts-2021.csv",
        include_str!("../../seeds/reference/npq-contracts-2021.csv"),
    ),
    (
        "npq-contracts-2022.csv",
        include_str!("../../seeds/reference/npq-contracts-2022.csv"),
    ),
    (
        "npq-contracts-2023.csv",
        include_str!("../../seeds/reference/npq-contracts-2023.csv"),
    ),
];
const CALENDAR: (&str, &str) = (
    "statements.csv",
    include_str!("../../seeds/reference/statements.csv"),
);

/// Registers the schedules alone (tests that need milestones but not the calendar use it).
pub async fn load_schedules(ledger: &Ledger) -> Result<(), SeedError> {
    register_all(ledger, "schedules", schedules()?).await
}

/// Loads all reference data.
pub async fn load(ledger: &Ledger) -> Result<(), SeedError> {
    register_all(ledger, "cohorts", cohorts()?).await?;
    register_all(ledger, "schedules", schedules()?).await?;
    register_all(ledger, "lead providers", lead_providers()?).await?;
    let ecf = ecf_contracts()?;
    let npq = npq_contracts()?;
    let statements = calendar(&ecf, &npq)?;
    register_all(ledger, "ECF contracts", ecf).await?;
    register_all(ledger, "NPQ contracts", npq).await?;
    let commands = statements
        .into_iter()
        .map(|(id, terms)| (id.to_string(), StatementCommand::Create(terms)));
    send_all::<Statement, _>(ledger, "statements", commands).await
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct CohortRow {
    start_year: i32,
    registration_start_date: String,
    academic_year_start_date: String,
    npq_registration_start_date: String,
}

fn cohorts() -> Result<Vec<Cohort>, SeedError> {
    let (file, text) = COHORTS;
    let date = |text: &str| parse_date(file, text, "%Y/%m/%d");
    read_csv::<CohortRow>(file, text)?
        .into_iter()
        .map(|row| {
            let npq = row.npq_registration_start_date;
            Ok(Cohort {
                start_year: row.start_year,
                registration_start_date: date(&row.registration_start_date)?,
                academic_year_start_date: date(&row.academic_year_start_date)?,
                npq_registration_start_date: (!npq.is_empty()).then(|| date(&npq)).transpose()?,
            })
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct MilestoneRow {
    #[serde(rename = "type")]
    schedule_type: ScheduleType,
    schedule_identifier: String,
    schedule_name: String,
    schedule_cohort_year: i32,
    milestone_name: String,
    milestone_declaration_type: DeclarationType,
    milestone_start_date: String,
    milestone_date: String,
    milestone_payment_date: String,
}

/// Groups the one-row-per-milestone file into schedules, keeping the file's order.
fn schedules() -> Result<Vec<Schedule>, SeedError> {
    let (file, text) = SCHEDULES;
    let date = |text: &str| parse_date(file, text, "%d/%m/%Y");
    let optional = |text: &str| (!text.trim().is_empty()).then(|| date(text)).transpose();
    let mut schedules: Vec<Schedule> = Vec::new();
    for row in read_csv::<MilestoneRow>(file, text)? {
        let milestone = Milestone {
            name: row.milestone_name,
            declaration_type: row.milestone_declaration_type,
            start_date: date(&row.milestone_start_date)?,
            milestone_date: optional(&row.milestone_date)?,
            payment_date: optional(&row.milestone_payment_date)?,
        };
        let existing = schedules.iter_mut().find(|s| {
            s.identifier == row.schedule_identifier && s.cohort == row.schedule_cohort_year
        });
        match existing {
            Some(schedule) => schedule.milestones.push(milestone),
            None => schedules.push(Schedule {
                identifier: row.schedule_identifier,
                name: row.schedule_name,
                cohort: row.schedule_cohort_year,
                schedule_type: row.schedule_type,
                milestones: vec![milestone],
            }),
        }
    }
    Ok(schedules)
}

fn lead_providers() -> Result<Vec<LeadProvider>, SeedError> {
    let (file, text) = PROVIDERS;
    read_csv(file, text)
}

/// One row of the ECF call-off contract import format.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct EcfContractRow {
    lead_provider_name: String,
    cohort_start_year: i32,
    uplift_target: Decimal,
    uplift_amount: Decimal,
    recruitment_target: u32,
    revised_target: Option<u32>,
    set_up_fee: Decimal,
    monthly_service_fee: Option<Decimal>,
    band_a_min: Option<u32>,
    band_a_max: u32,
    band_a_per_participant: Decimal,
    band_b_min: Option<u32>,
    band_b_max: Option<u32>,
    band_b_per_participant: Option<Decimal>,
    band_c_min: Option<u32>,
    band_c_max: Option<u32>,
    band_c_per_participant: Option<Decimal>,
    band_d_min: Option<u32>,
    band_d_max: Option<u32>,
    band_d_per_participant: Option<Decimal>,
}

fn ecf_contracts() -> Result<Vec<EcfContract>, SeedError> {
    let (file, text) = ECF_CONTRACTS;
    let sixty_forty = (Decimal::from(60), Decimal::from(40));
    let all_output = (Decimal::from(100), Decimal::ZERO);
    let band = |min, max: Option<u32>, price: Option<Decimal>, (output, service)| {
        Some(Band {
            min,
            max: max?,
            per_participant: price?,
            output_payment_percentage: output,
            service_fee_percentage: service,
        })
    };
    Ok(read_csv::<EcfContractRow>(file, text)?
        .into_iter()
        .map(|row| EcfContract {
            lead_provider_id: LeadProviderId::from_name(&row.lead_provider_name),
            cohort: row.cohort_start_year,
            version: CONTRACT_VERSION.to_owned(),
            recruitment_target: row.recruitment_target,
            revised_target: row.revised_target,
            set_up_fee: row.set_up_fee,
            monthly_service_fee: row.monthly_service_fee,
            uplift_amount: row.uplift_amount,
            uplift_target: row.uplift_target,
            // The import format pays band D entirely as output fees.
            bands: [
                band(
                    row.band_a_min,
                    Some(row.band_a_max),
                    Some(row.band_a_per_participant),
                    sixty_forty,
                ),
                band(
                    row.band_b_min,
                    row.band_b_max,
                    row.band_b_per_participant,
                    sixty_forty,
                ),
                band(
                    row.band_c_min,
                    row.band_c_max,
                    row.band_c_per_participant,
                    sixty_forty,
                ),
                band(
                    row.band_d_min,
                    row.band_d_max,
                    row.band_d_per_participant,
                    all_output,
                ),
            ]
            .into_iter()
            .flatten()
            .collect(),
        })
        .collect())
}

#[derive(Deserialize)]
struct NpqContractRow {
    provider_name: String,
    cohort_year: i32,
    course_identifier: String,
    recruitment_target: u32,
    per_participant: Decimal,
    service_fee_installments: u32,
}

fn npq_contracts() -> Result<Vec<NpqContract>, SeedError> {
    let mut contracts = Vec::new();
    for (file, text) in NPQ_CONTRACTS {
        contracts.extend(
            read_csv::<NpqContractRow>(file, text)?
                .into_iter()
                .map(|row| NpqContract {
                    lead_provider_id: LeadProviderId::from_name(&row.provider_name),
                    cohort: row.cohort_year,
                    course_identifier: row.course_identifier,
                    version: CONTRACT_VERSION.to_owned(),
                    recruitment_target: row.recruitment_target,
                    per_participant: row.per_participant,
                    service_fee_installments: row.service_fee_installments,
                }),
        );
    }
    Ok(contracts)
}

#[derive(Deserialize)]
struct CalendarRow {
    #[serde(rename = "type")]
    programme: String,
    name: String,
    cohort: i32,
    deadline_date: String,
    payment_date: String,
    output_fee: bool,
}

/// Copies each calendar row to every provider with a contract for its programme and cohort.
fn calendar(
    ecf: &[EcfContract],
    npq: &[NpqContract],
) -> Result<Vec<(StatementId, StatementTerms)>, SeedError> {
    let (file, text) = CALENDAR;
    let mut contracted: BTreeMap<(Programme, i32), BTreeSet<LeadProviderId>> = BTreeMap::new();
    for contract in ecf {
        contracted
            .entry((Programme::Ecf, contract.cohort))
            .or_default()
            .insert(contract.lead_provider_id);
    }
    for contract in npq {
        contracted
            .entry((Programme::Npq, contract.cohort))
            .or_default()
            .insert(contract.lead_provider_id);
    }
    let mut statements = Vec::new();
    for row in read_csv::<CalendarRow>(file, text)? {
        let programme = Programme::from_str(&row.programme).map_err(|e| SeedError::File {
            file,
            message: e.to_string(),
        })?;
        let providers = contracted
            .get(&(programme, row.cohort))
            .into_iter()
            .flatten();
        for &provider in providers {
            let terms = StatementTerms {
                lead_provider_id: provider,
                programme,
                cohort: row.cohort,
                name: row.name.clone(),
                deadline_date: deadline(
                    parse_date(file, &row.deadline_date, "%Y-%m-%d")?,
                    parse_date(file, &row.payment_date, "%Y-%m-%d")?,
                ),
                payment_date: parse_date(file, &row.payment_date, "%Y-%m-%d")?,
                output_fee: row.output_fee,
            };
            statements.push((
                StatementId::for_calendar(provider, programme, row.cohort, &row.name),
                terms,
            ));
        }
    }
    Ok(statements)
}

/// A deadline after its own payment day is a wrong year in the calendar (the ECF January
/// rows): it is taken as the last day of the month before the payment month, as every other
/// ECF deadline is.
fn deadline(deadline: chrono::NaiveDate, payment: chrono::NaiveDate) -> chrono::NaiveDate {
    use chrono::Datelike;
    if deadline <= payment {
        return deadline;
    }
    payment
        .with_day(1)
        .and_then(|first| first.pred_opt())
        .unwrap_or(deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_files_parse() {
        assert_eq!(cohorts().unwrap().len(), 4);
        let schedules = schedules().unwrap();
        assert!(schedules.iter().all(|s| !s.milestones.is_empty()));
        let september = schedules
            .iter()
            .find(|s| s.identifier == "ecf-standard-september" && s.cohort == 2022)
            .unwrap();
        assert_eq!(september.milestones.len(), 6);
        assert_eq!(
            lead_providers().unwrap().iter().filter(|p| p.ecf).count(),
            6
        );
    }

    #[test]
    fn a_deadline_after_its_payment_day_moves_to_the_month_before() {
        let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            deadline(day(2025, 12, 31), day(2025, 1, 25)),
            day(2024, 12, 31)
        );
        assert_eq!(
            deadline(day(2022, 4, 30), day(2022, 5, 25)),
            day(2022, 4, 30)
        );
    }

    #[test]
    fn the_calendar_goes_to_every_contracted_provider() {
        let ecf = ecf_contracts().unwrap();
        let npq = npq_contracts().unwrap();
        let statements = calendar(&ecf, &npq).unwrap();
        let teach_first = LeadProviderId::from_name("Teach First");
        let ecf_2021 = statements
            .iter()
            .filter(|(_, t)| {
                t.lead_provider_id == teach_first
                    && t.programme == Programme::Ecf
                    && t.cohort == 2021
            })
            .count();
        assert_eq!(ecf_2021, 30);
        let capita_npq = statements
            .iter()
            .filter(|(_, t)| {
                t.lead_provider_id == LeadProviderId::from_name("Capita")
                    && t.programme == Programme::Npq
            })
            .count();
        assert_eq!(capita_npq, 0);
        assert_eq!(ecf[0].bands.len(), 4);
    }
}
