//! Pricing: a statement's breakdown from its line counts under the provider's contract, from
//! the live read models or as the event log stood at an instant.

use std::collections::BTreeMap;

use aggregates::finance::{Totals, VAT_CHARGEABLE, ecf, npq};
use aggregates::reference::{DeclarationType, EcfContract, NpqContract};
use aggregates::{LeadProviderId, Programme, StatementId};
use chrono::{DateTime, NaiveDate, Utc};
use projections::{finance, statements};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{FinanceError, shown};

/// Where a statement stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatementStatus {
    /// Receiving declarations.
    Open,
    /// Closed after its deadline; to be paid.
    Payable,
    /// Paid.
    Paid,
}

/// One band's part in one declaration type's output on an ECF statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct BandLine {
    /// The declaration type.
    pub declaration_type: String,
    /// The band: A, B, C, D.
    #[schema(value_type = String)]
    pub band: char,
    /// The fee per declaration in this band.
    #[schema(value_type = String)]
    pub fee: Decimal,
    /// Declarations paid in this band.
    pub additions: u32,
    /// Clawbacks unwound from this band.
    pub subtractions: u32,
    /// additions × fee.
    #[schema(value_type = String)]
    pub output_fee: Decimal,
    /// subtractions × fee.
    #[schema(value_type = String)]
    pub clawback: Decimal,
}

/// One NPQ course's part in a statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct CourseLine {
    /// The course.
    pub course_identifier: String,
    /// Billable declarations.
    pub billable: i64,
    /// Refundable declarations.
    pub refundable: i64,
    /// The monthly service fee.
    #[schema(value_type = String)]
    pub service_fee: Decimal,
    /// The payment per declaration.
    #[schema(value_type = String)]
    pub per_declaration: Decimal,
    /// Output payments.
    #[schema(value_type = String)]
    pub output: Decimal,
    /// Clawbacks.
    #[schema(value_type = String)]
    pub clawback: Decimal,
    /// Targeted delivery funding.
    #[schema(value_type = String)]
    pub tdf: Decimal,
    /// TDF refunded.
    #[schema(value_type = String)]
    pub tdf_refund: Decimal,
    /// The course's total.
    #[schema(value_type = String)]
    pub total: Decimal,
}

/// A statement priced, as finance sees it. Amounts are to the penny, the parts adding up to
/// the totals as shown (see `finance::shown`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct StatementBreakdown {
    /// The statement.
    pub id: Uuid,
    /// The lead provider paid by it.
    pub lead_provider_id: Uuid,
    /// `ecf` or `npq`.
    pub programme: String,
    /// The cohort.
    pub cohort: i32,
    /// The month.
    pub name: String,
    /// The deadline.
    pub deadline_date: NaiveDate,
    /// The payment day.
    pub payment_date: NaiveDate,
    /// Open, payable or paid.
    pub status: StatementStatus,
    /// The instant it is shown as of (none: now).
    pub as_of: Option<DateTime<Utc>>,
    /// The service fee.
    #[schema(value_type = String)]
    pub service_fee: Decimal,
    /// ECF: per band and declaration type.
    pub bands: Vec<BandLine>,
    /// NPQ: per course.
    pub courses: Vec<CourseLine>,
    /// Σ output fees.
    #[schema(value_type = String)]
    pub output_fee: Decimal,
    /// ECF uplift fees; for NPQ, targeted delivery funding.
    #[schema(value_type = String)]
    pub uplift_fee: Decimal,
    /// Σ clawbacks (positive, deducted), uplift clawbacks included.
    #[schema(value_type = String)]
    pub clawbacks: Decimal,
    /// −clawbacks.
    #[schema(value_type = String)]
    pub adjustments: Decimal,
    /// Manual adjustment.
    #[schema(value_type = String)]
    pub reconcile_amount: Decimal,
    /// Before VAT.
    #[schema(value_type = String)]
    pub total: Decimal,
    /// VAT.
    #[schema(value_type = String)]
    pub vat: Decimal,
    /// With VAT.
    #[schema(value_type = String)]
    pub total_with_vat: Decimal,
}

/// Prices a statement from the live read models, or as the event log stood at `as_of`.
pub async fn breakdown(
    pool: &PgPool,
    statement: StatementId,
    as_of: Option<DateTime<Utc>>,
    progress: impl FnMut(u64),
) -> Result<Option<StatementBreakdown>, FinanceError> {
    let Some(state) = statements::state(pool, statement).await? else {
        return Ok(None);
    };
    let programme: Programme = state
        .programme
        .parse()
        .map_err(|_| FinanceError::UnknownStatement(statement))?;
    let group = (
        LeadProviderId(state.lead_provider_id),
        programme,
        state.cohort,
    );
    let all = breakdowns(pool, group, as_of, progress).await?;
    Ok(all.into_iter().find(|priced| priced.id == statement.0))
}

/// Prices every statement of a provider's programme and cohort at once (banding carries from
/// one statement to the next, so they are priced in payment order from one set of lines).
pub async fn breakdowns(
    pool: &PgPool,
    (provider, programme, cohort): (LeadProviderId, Programme, i32),
    as_of: Option<DateTime<Utc>>,
    progress: impl FnMut(u64),
) -> Result<Vec<StatementBreakdown>, FinanceError> {
    let all = match as_of {
        None => finance::live(pool, provider, programme, cohort).await?,
        Some(at) => finance::as_of(pool, provider, programme, cohort, at, progress).await?,
    };
    price(pool, (provider, programme, cohort), &all, as_of).await
}

/// Rebuilds every statement from the event log as it stood at `as_of`, reading the log once;
/// `progress` is told how many declaration events were read. Groups come in a stable order
/// (provider, programme, cohort), each in payment order.
pub async fn replay_all(
    pool: &PgPool,
    as_of: DateTime<Utc>,
    progress: impl FnMut(u64),
) -> Result<Vec<StatementBreakdown>, FinanceError> {
    let groups = finance::all_as_of(pool, as_of, |_| true, progress).await?;
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by_key(|(group, _)| *group);
    let mut priced = Vec::new();
    for (group, lines) in groups {
        priced.extend(price(pool, group, &lines, Some(as_of)).await?);
    }
    Ok(priced)
}

/// Prices one group's statements from their lines, under the contracts in force at `as_of`.
async fn price(
    pool: &PgPool,
    (provider, programme, cohort): finance::Group,
    all: &finance::CohortLines,
    as_of: Option<DateTime<Utc>>,
) -> Result<Vec<StatementBreakdown>, FinanceError> {
    let at = as_of.unwrap_or_else(Utc::now);
    let ecf_contract = match programme {
        Programme::Ecf => finance::ecf_contract(pool, provider, cohort, at).await?,
        Programme::Npq => None,
    };
    let npq_contracts = match programme {
        Programme::Npq => finance::npq_contracts(pool, provider, cohort, at).await?,
        Programme::Ecf => Vec::new(),
    };
    let mut priced_all = Vec::with_capacity(all.len());
    for this in all {
        let earlier: Vec<_> = all
            .iter()
            .filter(|s| s.payment_date < this.payment_date)
            .collect();
        let status = match (this.paid, this.closed) {
            (true, _) => StatementStatus::Paid,
            (false, true) => StatementStatus::Payable,
            _ => StatementStatus::Open,
        };
        let mut priced = StatementBreakdown {
            id: this.id,
            lead_provider_id: provider.0,
            programme: programme.as_str().to_owned(),
            cohort,
            name: this.name.clone(),
            deadline_date: this.deadline_date,
            payment_date: this.payment_date,
            status,
            as_of,
            service_fee: Decimal::ZERO,
            bands: Vec::new(),
            courses: Vec::new(),
            output_fee: Decimal::ZERO,
            uplift_fee: Decimal::ZERO,
            clawbacks: Decimal::ZERO,
            adjustments: Decimal::ZERO,
            reconcile_amount: Decimal::ZERO,
            total: Decimal::ZERO,
            vat: Decimal::ZERO,
            total_with_vat: Decimal::ZERO,
        };
        let totals = match (&ecf_contract, programme) {
            (Some(contract), Programme::Ecf) => price_ecf(contract, this, &earlier, &mut priced),
            (None, Programme::Ecf) => return Err(FinanceError::NoContract(StatementId(this.id))),
            (_, Programme::Npq) => price_npq(&npq_contracts, this, &mut priced),
        };
        priced.total = totals.total;
        priced.vat = totals.vat;
        priced.total_with_vat = totals.with_vat();
        shown::to_pennies(&mut priced);
        priced_all.push(priced);
    }
    Ok(priced_all)
}

fn price_ecf(
    contract: &EcfContract,
    this: &finance::StatementLines,
    earlier: &[&finance::StatementLines],
    priced: &mut StatementBreakdown,
) -> Totals {
    let net = |kind: &str, uplift: bool| -> i64 {
        earlier
            .iter()
            .filter_map(|s| s.lines.get(kind))
            .map(|c| {
                if uplift {
                    c.uplift_billable - c.uplift_refundable
                } else {
                    c.billable - c.refundable
                }
            })
            .sum()
    };
    let mut counts = BTreeMap::new();
    for declaration_type in DeclarationType::ALL {
        let kind = declaration_type.as_str();
        let here = this.lines.get(kind).copied().unwrap_or_default();
        counts.insert(
            declaration_type,
            ecf::TypeCounts {
                previous_net: net(kind, false),
                billable: u32::try_from(here.billable).unwrap_or(0),
                refundable: u32::try_from(here.refundable).unwrap_or(0),
            },
        );
    }
    let started = this.lines.get("started").copied().unwrap_or_default();
    let uplifts = ecf::UpliftCounts {
        previous_net: net("started", true),
        additions: u32::try_from(started.uplift_billable).unwrap_or(0),
        subtractions: u32::try_from(started.uplift_refundable).unwrap_or(0),
    };
    let priced_ecf = ecf::breakdown(contract, &counts, uplifts, Decimal::ZERO, VAT_CHARGEABLE);
    for (declaration_type, output) in &priced_ecf.outputs {
        for band in output.bands(&contract.bands, *declaration_type) {
            priced.bands.push(BandLine {
                declaration_type: declaration_type.as_str().to_owned(),
                band: band.letter,
                fee: band.fee,
                additions: band.additions,
                subtractions: band.subtractions,
                output_fee: band.output_fee,
                clawback: band.clawback,
            });
        }
    }
    priced.service_fee = priced_ecf.service_fee;
    priced.output_fee = priced_ecf.output_fee;
    priced.uplift_fee = priced_ecf.uplift_fee;
    priced.adjustments = priced_ecf.adjustments;
    priced.clawbacks = Decimal::ZERO - priced_ecf.adjustments;
    priced_ecf.totals
}

fn price_npq(
    contracts: &[NpqContract],
    this: &finance::StatementLines,
    priced: &mut StatementBreakdown,
) -> Totals {
    let mut courses = Vec::new();
    for contract in contracts {
        let (terms, tdf_applies) = (npq::CourseTerms::of(contract), npq::tdf_applies(contract));
        let here = this
            .lines
            .get(&contract.course_identifier)
            .copied()
            .unwrap_or_default();
        let tdf = |n: i64| {
            if tdf_applies {
                u32::try_from(n).unwrap_or(0)
            } else {
                0
            }
        };
        let counts = npq::CourseCounts {
            billable: u32::try_from(here.billable).unwrap_or(0),
            refundable: u32::try_from(here.refundable).unwrap_or(0),
            tdf_starts: tdf(here.uplift_billable),
            tdf_refunds: tdf(here.uplift_refundable),
        };
        let course = npq::course(&terms, counts);
        priced.courses.push(CourseLine {
            course_identifier: contract.course_identifier.clone(),
            billable: here.billable,
            refundable: here.refundable,
            service_fee: course.service_fee,
            per_declaration: course.per_declaration,
            output: course.output,
            clawback: course.clawback,
            tdf: course.tdf,
            tdf_refund: course.tdf_refund,
            total: course.total(),
        });
        courses.push(course);
    }
    priced.service_fee = courses.iter().map(|c| c.service_fee).sum();
    priced.output_fee = courses.iter().map(|c| c.output).sum();
    priced.uplift_fee = courses.iter().map(|c| c.tdf).sum();
    priced.clawbacks = courses.iter().map(|c| c.clawback + c.tdf_refund).sum();
    priced.adjustments = Decimal::ZERO - priced.clawbacks;
    npq::statement(&courses, Decimal::ZERO, VAT_CHARGEABLE)
}
