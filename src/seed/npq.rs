//! The sandbox's NPQ world: for each NPQ provider, 24 applications across the leadership,
//! specialist, ASO and EHCO courses in cohorts 2021 to 2023, pending, accepted and rejected.
//! Accepted participants carry `started` declarations and, where the schedule allows by the
//! sandbox's now, `completed` ones with a passed or failed outcome; one is withdrawn, one
//! deferred, and one applicant shares a TRN with an earlier one and merges into them. Once
//! statements are paid, one paid `started` per provider is voided, for a clawback.
//! Ids are derived from the provider and the application's number, so loading twice adds
//! nothing.

use aggregates::course::Course;
use aggregates::declaration::{DeclarationRequest, DeclarationState};
use aggregates::ids::derived;
use aggregates::npq::Application;
use aggregates::reference::DeclarationType;
use aggregates::{LeadProviderId, NpqApplicationId, ParticipantId, Programme};
use chrono::{DateTime, Days, Utc};
use projections::{declarations, lead_providers, npq, reference};

use super::SeedError;
use crate::flows::declaring;
use crate::flows::npq::NpqFlowError;
use crate::flows::training::TrainingRequest;
use crate::ledger::{Actor, CommandContext, Ledger};

/// Applications per provider.
const APPLICATIONS: u32 = 24;

const COURSES: [Course; 10] = [
    Course::NpqHeadship,
    Course::NpqLeadingTeaching,
    Course::NpqSeniorLeadership,
    Course::NpqLeadingLiteracy,
    Course::NpqEarlyHeadshipCoachingOffer,
    Course::NpqExecutiveLeadership,
    Course::NpqLeadingBehaviourCulture,
    Course::NpqEarlyYearsLeadership,
    Course::NpqLeadingTeachingDevelopment,
    Course::NpqAdditionalSupportOffer,
];

const NAMES: [&str; 8] = [
    "Aisha Bello",
    "Ben Carter",
    "Cara Doyle",
    "Dan Evans",
    "Effie Green",
    "Farid Haddad",
    "Gwen Ibbotson",
    "Hugo Jones",
];

/// What happens to an application, by its number.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Pending,
    Rejected,
    Accepted,
}

fn fate(n: u32) -> Fate {
    match n % 4 {
        0 => Fate::Pending,
        1 => Fate::Rejected,
        _ => Fate::Accepted,
    }
}

/// The application numbered `n` of a provider (the `index`th NPQ provider).
fn application(provider: &str, index: usize, n: u32) -> Application {
    let course = COURSES[n as usize % COURSES.len()];
    // ASO has schedules in 2021 only.
    let cohort = match course {
        Course::NpqAdditionalSupportOffer => 2021,
        _ => 2021 + (n % 3) as i32,
    };
    // The last applicant is the third under another id: the same validated TRN.
    let person = if n == APPLICATIONS - 1 { 2 } else { n };
    let name = NAMES[n as usize % NAMES.len()];
    Application {
        id: NpqApplicationId(derived(&format!("sandbox-npq-application:{provider}:{n}"))),
        participant_id: ParticipantId(derived(&format!("sandbox-npq-participant:{provider}:{n}"))),
        lead_provider_id: LeadProviderId::from_name(provider),
        full_name: name.to_owned(),
        email: format!(
            "{}.{index}.{n}@example.com",
            name.to_lowercase().replace(' ', ".")
        ),
        trn: Some(format!("9{index:02}{person:04}")),
        trn_validated: true,
        course,
        cohort,
        works_in_school: n % 7 != 6,
        employer_name: (n % 7 == 6).then(|| "Bright Futures Nursery".to_owned()),
        employment_role: (n % 7 == 6).then(|| "Manager".to_owned()),
        school_urn: (n % 7 != 6).then(|| format!("{}", 140_000 + n)),
        school_ukprn: None,
        private_childcare_provider_urn: (n % 7 == 6).then(|| format!("EY{}", 500_000 + n)),
        headteacher_status: Some(
            if n.is_multiple_of(5) {
                "yes_when_course_starts"
            } else {
                "no"
            }
            .into(),
        ),
        funding_choice: n.is_multiple_of(3).then(|| "school".to_owned()),
        eligible_for_funding: n % 6 != 5,
        targeted_delivery_funding_eligibility: n % 4 == 2,
        teacher_catchment: Some(if n % 9 == 8 { "another" } else { "england" }.into()),
        teacher_catchment_country: (n % 9 == 8).then(|| "France".to_owned()),
        teacher_catchment_iso_country_code: (n % 9 == 8).then(|| "FRA".to_owned()),
        lead_mentor: None,
        itt_provider: None,
    }
}

/// Voids the provider's first paid NPQ `started` declaration, so a clawback waits on its next
/// open statement; nothing to do when it has none, or has a clawback already.
pub async fn claw_back_one(
    ledger: &Ledger,
    provider: &str,
    now: DateTime<Utc>,
) -> Result<(), SeedError> {
    let lead_provider = LeadProviderId::from_name(provider);
    let filter = declarations::DeclarationFilter::default();
    let page = projections::Page {
        number: 1,
        size: 3000,
    };
    let rows = declarations::list(ledger.pool(), lead_provider, &filter, page).await?;
    let npq = |d: &&declarations::DeclarationRow| {
        d.lead_provider_id == lead_provider.0
            && Course::parse(&d.course_identifier).map(Course::programme) == Some(Programme::Npq)
    };
    if rows
        .iter()
        .filter(npq)
        .any(|d| DeclarationState::parse(&d.state).is_some_and(DeclarationState::is_refundable))
    {
        return Ok(());
    }
    let paid = rows
        .iter()
        .filter(npq)
        .find(|d| d.declaration_type == DeclarationType::Started.as_str() && d.state == "paid");
    if let Some(declaration) = paid {
        let context = CommandContext::of(Actor::Seed);
        declaring::void_declaration(ledger, lead_provider, declaration, now, &context)
            .await
            .map_err(|e| SeedError::Command {
                what: "sandbox NPQ clawback",
                message: e.to_string(),
            })?;
    }
    Ok(())
}

/// Loads the NPQ world of every NPQ provider; returns their names.
pub async fn load(ledger: &Ledger, now: DateTime<Utc>) -> Result<Vec<String>, SeedError> {
    let providers: Vec<String> = lead_providers::all(ledger.pool())
        .await?
        .into_iter()
        .filter(|p| p.npq)
        .map(|p| p.name)
        .collect();
    for (index, name) in providers.iter().enumerate() {
        for n in 0..APPLICATIONS {
            seed_application(ledger, application(name, index, n), n, now).await?;
        }
    }
    tracing::info!(
        providers = providers.len(),
        applications = providers.len() * APPLICATIONS as usize,
        "seeded NPQ applications"
    );
    Ok(providers)
}

async fn seed_application(
    ledger: &Ledger,
    application: Application,
    n: u32,
    now: DateTime<Utc>,
) -> Result<(), SeedError> {
    let failed = |e: NpqFlowError| SeedError::Command {
        what: "sandbox NPQ application",
        message: e.to_string(),
    };
    let context = CommandContext::of(Actor::Seed);
    let (provider, course, id) = (
        application.lead_provider_id,
        application.course,
        application.id.to_string(),
    );
    let row = crate::flows::npq::apply(ledger, application, &context)
        .await
        .map_err(failed)?;
    let row = match (fate(n), row.status.as_str()) {
        (Fate::Accepted, "pending") => {
            crate::flows::npq::accept(ledger, provider, &id, now, &context)
                .await
                .map_err(failed)?
        }
        (Fate::Rejected, "pending") => {
            crate::flows::npq::reject(ledger, provider, &id, now, &context)
                .await
                .map_err(failed)?
        }
        _ => row,
    };
    if row.status != "accepted" {
        return Ok(());
    }
    let participant = row.participant_id.to_string();
    let Some(schedule) = row.schedule_identifier.as_deref() else {
        return Ok(());
    };
    let Some(schedule) = reference::schedule(ledger.pool(), schedule, row.cohort).await? else {
        return Ok(());
    };
    let start = |kind: DeclarationType| {
        schedule
            .milestones
            .iter()
            .find(|m| m.declaration_type == kind)
            .map(|m| m.start_date)
    };
    // A declaration made by an earlier load (even one voided since) is not made again.
    let made_before = declarations::types_of_record(ledger.pool(), row.id).await?;
    let declared = |kind: DeclarationType, days: u64, has_passed: Option<bool>| {
        let participant = participant.clone();
        let start = start(kind);
        let made = made_before.iter().any(|t| t == kind.as_str());
        async move {
            if made {
                return Ok::<bool, SeedError>(true);
            }
            let Some(date) = start
                .map(|day| day + Days::new(days))
                .and_then(|day| day.and_hms_opt(10, 0, 0))
                .map(|at| at.and_utc())
                .filter(|at| *at + Days::new(1) < now)
            else {
                return Ok::<bool, SeedError>(false);
            };
            let request = DeclarationRequest {
                participant_id: participant,
                declaration_type: Some(kind.as_str().to_owned()),
                declaration_date: Some(date.to_rfc3339()),
                course_identifier: Some(course.as_str().to_owned()),
                evidence_held: None,
                has_passed: has_passed.map(|passed| passed.to_string()),
            };
            let context = CommandContext::of(Actor::Seed);
            declaring::submit_declaration(ledger, provider, request, date + Days::new(1), &context)
                .await
                .map_err(|e| SeedError::Command {
                    what: "sandbox NPQ declaration",
                    message: e.to_string(),
                })?;
            Ok(true)
        }
    };
    if !declared(DeclarationType::Started, 20, None).await? {
        return Ok(());
    }
    let has_passed = course.has_outcomes().then_some(n % 3 != 1);
    declared(DeclarationType::Completed, 200, has_passed).await?;
    let change = match n {
        6 => Some(TrainingRequest::Withdraw(
            "expected-commitment-unclear".into(),
        )),
        7 => Some(TrainingRequest::Defer("parental-leave".into())),
        _ => None,
    };
    let Some(change) = change else {
        return Ok(());
    };
    // The change reads the declarations just made, which are answered from their commit.
    ledger.read_barrier(&[]).await?;
    let enrolment = npq::enrolment(
        ledger.pool(),
        provider.0,
        row.participant_id,
        course.as_str(),
    )
    .await?;
    if enrolment.and_then(|e| e.training_status).as_deref() != Some("active") {
        return Ok(());
    }
    crate::flows::npq::change_enrolment(
        ledger,
        provider,
        &participant,
        course,
        change,
        now,
        &context,
    )
    .await
    .map_err(failed)?;
    Ok(())
}
