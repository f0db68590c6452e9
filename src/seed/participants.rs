//! The sandbox's ECF participants: for each ECF provider, ten participants in each of cohorts
//! 2021 to 2023 at its partner schools, covering ECTs with mentors, funded and not, uplifts,
//! an ECT who is also a mentor, a TRN shared by two records, deferred, withdrawn and leaving
//! participants, and declarations submitted, eligible, ineligible and voided; plus one
//! participant who transferred in after the previous provider declared `started`.
//! Participants already seeded are left as they are, so loading twice adds nothing.

use aggregates::course::ParticipantType;
use aggregates::declaration::DeclarationRequest;
use aggregates::ids::derived;
use aggregates::reference::DeclarationType;
use aggregates::training_record::{TrainingRecord, TrainingRecordCommand};
use aggregates::{LeadProviderId, ParticipantId, TrainingRecordId};
use chrono::{DateTime, Days, Utc};
use projections::{participants, reference};

use super::SeedError;
use crate::flows::declaring;
use crate::flows::school::{self, NewParticipant};
use crate::ledger::{Actor, CommandContext, Ledger};

const FIRST_NAMES: [&str; 10] = [
    "Amara", "Ben", "Chloe", "Dev", "Ella", "Femi", "Grace", "Harry", "Isla", "Jonah",
];
const LAST_NAMES: [&str; 6] = ["Okafor", "Patel", "Hughes", "Nowak", "Campbell", "Ahmed"];

/// One provider's partner schools in one cohort.
pub struct Schools<'a> {
    /// The provider's name.
    pub provider: &'a str,
    /// The cohort.
    pub cohort: i32,
    /// School URNs, at least one.
    pub urns: Vec<&'a str>,
}

/// Seeds the participants of every provider, then the transfers between neighbours.
pub async fn load(
    ledger: &Ledger,
    all: &[Schools<'_>],
    now: DateTime<Utc>,
) -> Result<(), SeedError> {
    let mut seeded = 0;
    for schools in all {
        seeded += seed_cohort(ledger, schools, now).await?;
    }
    let providers: Vec<&str> =
        all.iter()
            .map(|s| s.provider)
            .fold(Vec::new(), |mut names, name| {
                if !names.contains(&name) {
                    names.push(name);
                }
                names
            });
    for (i, joining) in providers.iter().enumerate() {
        let leaving = providers[(i + providers.len() - 1) % providers.len()];
        let school = |name: &str| {
            all.iter()
                .find(|s| s.provider == name && s.cohort == 2022)
                .map(|s| s.urns[0])
        };
        if let (Some(from), Some(to)) = (school(leaving), school(joining)) {
            seeded += seed_transfer(ledger, leaving, from, to, now).await?;
            seeded += seed_unfunded_mentee(ledger, joining, to, leaving, from).await?;
        }
    }
    tracing::info!(count = seeded, "seeded sandbox participants");
    Ok(())
}

fn failed(what: &'static str) -> impl Fn(String) -> SeedError {
    move |message| SeedError::Command { what, message }
}

/// A participant of the sandbox, with ids derived from its key.
fn newcomer(key: &str, kind: ParticipantType, urn: &str, cohort: i32, n: usize) -> NewParticipant {
    let name = format!(
        "{} {}",
        FIRST_NAMES[n % 10],
        LAST_NAMES[(n / 10 + cohort as usize) % 6]
    );
    NewParticipant {
        participant_id: Some(ParticipantId(derived(&format!("sandbox-person:{key}")))),
        training_record_id: Some(TrainingRecordId(derived(&format!("sandbox-record:{key}")))),
        participant_type: kind,
        email: format!(
            "{}.{}@example.com",
            name.to_lowercase().replace(' ', "."),
            &derived(key).simple().to_string()[..6]
        ),
        full_name: name,
        trn: Some(format!("{:07}", derived(key).as_u128() % 10_000_000)),
        trn_validated: true,
        school_urn: urn.to_owned(),
        cohort,
        schedule_identifier: None,
        eligible_for_funding: Some(true),
        pupil_premium_uplift: false,
        sparsity_uplift: false,
        mentor_id: None,
        start: format!("{cohort}-09-01T00:00:00Z")
            .parse()
            .unwrap_or_default(),
    }
}

/// Ten participants of one provider in one cohort; returns how many were new.
async fn seed_cohort(
    ledger: &Ledger,
    schools: &Schools<'_>,
    now: DateTime<Utc>,
) -> Result<usize, SeedError> {
    let context = CommandContext::of(Actor::Seed);
    let provider = LeadProviderId::from_name(schools.provider);
    let key = |k: usize| format!("{}:{}:{k}", schools.provider, schools.cohort);
    let at = |k: usize| schools.urns[k % schools.urns.len()];
    let mut seeded = 0;
    for k in [1, 0, 2, 3, 4, 5, 6, 7, 8, 9] {
        let mut new = newcomer(&key(k), ParticipantType::Ect, at(k), schools.cohort, k);
        match k {
            0 => {
                new.pupil_premium_uplift = true;
                new.mentor_id =
                    newcomer(&key(1), ParticipantType::Mentor, at(1), schools.cohort, 1)
                        .participant_id;
            }
            1 => new.participant_type = ParticipantType::Mentor,
            2 => new.eligible_for_funding = None,
            3 => new.sparsity_uplift = true,
            6 => new.eligible_for_funding = Some(false),
            // The ECT of k = 0 is also a mentor: same person, second record.
            7 => {
                let ect = newcomer(&key(0), ParticipantType::Ect, at(0), schools.cohort, 0);
                new.participant_type = ParticipantType::Mentor;
                new.participant_id = ect.participant_id;
                new.full_name = ect.full_name;
                new.trn = ect.trn;
            }
            // A second person registered with the same TRN as k = 0.
            8 => new.trn = newcomer(&key(0), ParticipantType::Ect, at(0), schools.cohort, 0).trn,
            _ => {}
        }
        let (Some(participant), Some(record)) = (new.participant_id, new.training_record_id) else {
            continue;
        };
        if participants::cohort_of(ledger.pool(), record.0)
            .await?
            .is_some()
        {
            continue;
        }
        let course = new.participant_type.course();
        school::register(ledger, new, &context)
            .await
            .map_err(|e| failed("sandbox participant")(e.to_string()))?;
        seeded += 1;
        let declare_after = |declaration_type, days| {
            declare(
                ledger,
                provider,
                participant,
                course,
                (schools.cohort, declaration_type, days),
                now,
            )
        };
        let declare = |declaration_type| declare_after(declaration_type, 14);
        let record_command = |command| async move {
            ledger
                .execute::<TrainingRecord>(
                    &record.to_string(),
                    command,
                    &CommandContext::of(Actor::Seed),
                )
                .await
                .map_err(|e| failed("sandbox participant")(e.to_string()))
        };
        match k {
            0 => {
                declare(DeclarationType::Started).await?;
                declare(DeclarationType::Retained1).await?;
            }
            1 => {
                declare(DeclarationType::Started).await?;
                // Late in its window, so it lands on the statement left payable.
                declare_after(DeclarationType::Retained2, 45).await?;
            }
            2 | 8 => {
                declare(DeclarationType::Started).await?;
            }
            3 => {
                if let Some(declaration) = declare(DeclarationType::Started).await? {
                    declaring::void_declaration(ledger, provider, &declaration, now, &context)
                        .await
                        .map_err(|e| failed("sandbox declaration")(e.to_string()))?;
                }
            }
            4 => {
                record_command(TrainingRecordCommand::Defer {
                    lead_provider_id: provider,
                    reason: "career-break".into(),
                    at: now,
                })
                .await?;
            }
            5 => {
                declare(DeclarationType::Started).await?;
                record_command(TrainingRecordCommand::Withdraw {
                    lead_provider_id: provider,
                    reason: "moved-school".into(),
                    at: now,
                })
                .await?;
            }
            9 => {
                record_command(TrainingRecordCommand::ReportLeaving(now + Days::new(60))).await?;
            }
            _ => {}
        }
    }
    Ok(seeded)
}

/// One participant who starts with `leaving`, is declared `started`, and moves to a school of
/// the next provider; returns 1 if new.
async fn seed_transfer(
    ledger: &Ledger,
    leaving: &str,
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Result<usize, SeedError> {
    let context = CommandContext::of(Actor::Seed);
    let new = newcomer(
        &format!("transfer:{leaving}"),
        ParticipantType::Ect,
        from,
        2022,
        3,
    );
    let (Some(participant), Some(record)) = (new.participant_id, new.training_record_id) else {
        return Ok(0);
    };
    if participants::cohort_of(ledger.pool(), record.0)
        .await?
        .is_some()
    {
        return Ok(0);
    }
    let error = failed("sandbox transfer");
    school::register(ledger, new, &context)
        .await
        .map_err(|e| error(e.to_string()))?;
    let provider = LeadProviderId::from_name(leaving);
    declare(
        ledger,
        provider,
        participant,
        aggregates::course::Course::EcfInduction,
        (2022, DeclarationType::Started, 14),
        now,
    )
    .await?;
    let end: DateTime<Utc> = "2022-12-31T00:00:00Z".parse().unwrap_or_default();
    school::report_leaving(ledger, record, end, &context)
        .await
        .map_err(|e| error(e.to_string()))?;
    school::join(ledger, record, to, end + Days::new(1), &context)
        .await
        .map_err(|e| error(e.to_string()))?;
    Ok(1)
}

/// One ECT of `provider` mentored by the mentor that `mentor_provider` trains in 2022, so
/// every provider has an unfunded mentor; returns 1 if new.
async fn seed_unfunded_mentee(
    ledger: &Ledger,
    provider: &str,
    urn: &str,
    mentor_provider: &str,
    mentor_urn: &str,
) -> Result<usize, SeedError> {
    let mentor = newcomer(
        &format!("{mentor_provider}:2022:1"),
        ParticipantType::Mentor,
        mentor_urn,
        2022,
        1,
    );
    let mut new = newcomer(
        &format!("mentee:{provider}"),
        ParticipantType::Ect,
        urn,
        2022,
        4,
    );
    new.mentor_id = mentor.participant_id;
    let Some(record) = new.training_record_id else {
        return Ok(0);
    };
    if participants::cohort_of(ledger.pool(), record.0)
        .await?
        .is_some()
    {
        return Ok(0);
    }
    school::register(ledger, new, &CommandContext::of(Actor::Seed))
        .await
        .map_err(|e| failed("sandbox mentee")(e.to_string()))?;
    Ok(1)
}

/// Declares a milestone of a cohort `days` after its window opens, the day after (so the line
/// goes on the statement open then); nothing when that is after the sandbox's `now`.
async fn declare(
    ledger: &Ledger,
    provider: LeadProviderId,
    participant: ParticipantId,
    course: aggregates::course::Course,
    (cohort, declaration_type, days): (i32, DeclarationType, u64),
    now: DateTime<Utc>,
) -> Result<Option<projections::declarations::DeclarationRow>, SeedError> {
    let schedule = reference::schedule(ledger.pool(), school::DEFAULT_SCHEDULE, cohort).await?;
    let milestone = schedule
        .iter()
        .flat_map(|s| &s.milestones)
        .find(|m| m.declaration_type == declaration_type);
    let start = milestone.map(|m| m.start_date).ok_or_else(|| {
        failed("sandbox declaration")(format!(
            "no {} milestone in {cohort}",
            declaration_type.as_str()
        ))
    })?;
    let date = (start + Days::new(days))
        .and_hms_opt(10, 0, 0)
        .unwrap_or_default()
        .and_utc();
    if date > now {
        return Ok(None);
    }
    let request = DeclarationRequest {
        participant_id: participant.to_string(),
        declaration_type: Some(declaration_type.as_str().to_owned()),
        declaration_date: Some(date.to_rfc3339()),
        course_identifier: Some(course.as_str().to_owned()),
        evidence_held: (declaration_type != DeclarationType::Started)
            .then(|| "training-event-attended".to_owned()),
        has_passed: None,
    };
    declaring::submit_declaration(
        ledger,
        provider,
        request,
        date + Days::new(1),
        &CommandContext::of(Actor::Seed),
    )
    .await
    .map(Some)
    .map_err(|e| failed("sandbox declaration")(e.to_string()))
}

/// Voids the provider's paid `started` declaration of its 2021 mentor (k = 1), so a clawback
/// waits on the next open statement; nothing if it is not paid (or already clawed back).
pub async fn claw_back_one(
    ledger: &Ledger,
    provider: &str,
    now: DateTime<Utc>,
) -> Result<(), SeedError> {
    let mentor = newcomer(
        &format!("{provider}:2021:1"),
        ParticipantType::Mentor,
        "",
        2021,
        1,
    );
    let (Some(participant), Some(record)) = (mentor.participant_id, mentor.training_record_id)
    else {
        return Ok(());
    };
    let lead_provider = LeadProviderId::from_name(provider);
    let filter = projections::declarations::DeclarationFilter {
        participant_ids: Some(vec![participant.0]),
        ..Default::default()
    };
    let page = projections::Page {
        number: 1,
        size: 10,
    };
    let rows = projections::declarations::list(ledger.pool(), lead_provider, &filter, page).await?;
    let paid = rows.into_iter().find(|d| {
        d.training_record_id == record.0 && d.declaration_type == "started" && d.state == "paid"
    });
    if let Some(declaration) = paid {
        declaring::void_declaration(
            ledger,
            lead_provider,
            &declaration,
            now,
            &CommandContext::of(Actor::Seed),
        )
        .await
        .map_err(|e| failed("sandbox clawback")(e.to_string()))?;
    }
    Ok(())
}
