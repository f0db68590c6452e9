//! A seeded property test: for every command type, hostile values (extreme dates and cohorts,
//! empty and 100 kB text, NUL and other control characters, unicode) are either refused by the
//! aggregate or make events that every projection applies against PostgreSQL.

use std::fmt::Debug;

use aggregates::course::{Course, ParticipantType};
use aggregates::npq::{
    Acceptance, Application, EnrolmentAction, EnrolmentChange, NpqCourseCommand,
};
use aggregates::npq::{NpqCourse, stream_id};
use aggregates::retirement::{Clash, Retirement, RetirementCommand, RetirementFacts};
use aggregates::school_cohort::{
    PartnershipRequest, SchoolCohort, SchoolCohortCommand, Sent, school_cohort_id,
};
use aggregates::training_record::{
    Placement, Registration, ScheduleChange, TrainingRecord, TrainingRecordCommand,
};
use aggregates::{
    DeclarationId, DeliveryPartnerId, LeadProviderId, NpqApplicationId, ParticipantId,
    PartnershipId, Programme, SchoolId, Statement, StatementCommand, StatementId, StatementTerms,
    TrainingRecordId,
};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use cpd_ledger::ledger::{Actor, CommandContext, LedgerError};
use cqrs_es::Aggregate;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{TestApp, started};
use crate::hostile_input::school_with_ect;

/// The fixed seed, so CI runs the same cases every time.
const SEED: [u8; 32] = *b"cpd-ledger hostile command seeds";
/// Cases per command type: enough to hit every edge strategy, few enough for CI.
const CASES: usize = 24;

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let (min, max) = (
        DateTime::<Utc>::MIN_UTC.timestamp(),
        DateTime::<Utc>::MAX_UTC.timestamp(),
    );
    let at = |seconds: i64| DateTime::from_timestamp(seconds, 0).expect("in chrono's range");
    prop_oneof![
        Just(DateTime::<Utc>::MIN_UTC),
        Just(DateTime::<Utc>::MAX_UTC),
        (min..=max).prop_map(at),
        (-62_198_755_200i64..-62_135_596_800).prop_map(at),
        (946_684_800i64..4_133_980_800).prop_map(at),
    ]
}

fn day() -> impl Strategy<Value = NaiveDate> {
    instant().prop_map(|at| at.date_naive())
}

fn cohort() -> impl Strategy<Value = i32> {
    prop_oneof![any::<i32>(), Just(-1), Just(0), Just(2022), 1995i32..2105,]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("x".repeat(100 * 1024)),
        Just("nul \0 inside".to_owned()),
        Just("é".repeat(255)),
        "[\\x00-\\x1f\\x7f]{1,8}",
        "\\PC{0,40}",
        "[a-z0-9-]{1,12}",
    ]
}

fn samples<S: Strategy>(strategy: S, runner: &mut TestRunner) -> Vec<S::Value> {
    (0..CASES)
        .map(|_| strategy.new_tree(runner).expect("a value").current())
        .collect()
}

/// Submits a command: refusal and success are both fine, anything else reached the store.
async fn submit<A>(app: &TestApp, id: &str, command: A::Command)
where
    A: Aggregate<Services = ()>,
    A::Command: Clone + Debug,
{
    let context = CommandContext::of(Actor::Admin(None));
    match app.ledger.submit::<A>(id, command.clone(), &context).await {
        Ok(_) | Err(LedgerError::Rejected(_)) => {}
        Err(other) => panic!("{command:?} was neither refused nor stored: {other}"),
    }
}

async fn projections_apply_everything(app: &TestApp, what: &str) {
    if let Err(error) = app.ledger.runner().catch_up().await {
        panic!("a read model cannot apply the {what} events: {error}");
    }
}

#[sqlx::test]
async fn every_command_either_is_refused_or_feeds_every_read_model(pool: PgPool) {
    let (app, token, participant, record) = school_with_ect(pool).await;
    let record = TrainingRecordId(record.parse().expect("uuid"));
    let participant = ParticipantId(participant.parse().expect("uuid"));
    let provider = LeadProviderId::from_name("Teach First");
    let partner = DeliveryPartnerId::from_name("Partner of Teach First");
    let school = SchoolId::from_urn("100001");
    let mut rng = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &SEED),
    );

    let placement = move || {
        (text(), instant()).prop_map(move |(urn, start)| Placement {
            school_id: school,
            school_urn: urn,
            lead_provider_id: provider,
            delivery_partner_id: partner,
            start,
        })
    };
    let registrations = (text(), text(), text(), cohort(), text(), placement());
    for (name, email, trn, cohort, schedule, placement) in samples(registrations, &mut rng) {
        let registration = Registration {
            participant_id: ParticipantId(Uuid::new_v4()),
            participant_type: ParticipantType::Ect,
            full_name: name,
            email,
            trn: Some(trn),
            trn_validated: false,
            eligible_for_funding: Some(true),
            pupil_premium_uplift: false,
            sparsity_uplift: false,
            mentor_id: None,
            cohort,
            schedule_identifier: schedule,
            placement,
        };
        let id = Uuid::new_v4().to_string();
        let command = TrainingRecordCommand::Register(Box::new(registration));
        submit::<TrainingRecord>(&app, &id, command).await;
    }
    let record_commands = (instant(), text(), cohort(), placement()).prop_flat_map(
        move |(at, reason, cohort, placement)| {
            let change = ScheduleChange {
                lead_provider_id: provider,
                course: Course::EcfInduction,
                target: None,
                cohort,
                live_declarations: vec![],
                at,
            };
            prop_oneof![
                Just(TrainingRecordCommand::ReportLeaving(at)),
                Just(TrainingRecordCommand::Join(placement)),
                Just(TrainingRecordCommand::Defer {
                    lead_provider_id: provider,
                    reason: reason.clone(),
                    at
                }),
                Just(TrainingRecordCommand::Resume {
                    lead_provider_id: provider,
                    at
                }),
                Just(TrainingRecordCommand::Withdraw {
                    lead_provider_id: provider,
                    reason,
                    at
                }),
                Just(TrainingRecordCommand::ChangeSchedule(Box::new(change))),
                Just(TrainingRecordCommand::AssignMentor(Some(participant))),
                Just(TrainingRecordCommand::ChangeFundingEligibility(None)),
            ]
        },
    );
    for command in samples(record_commands, &mut rng) {
        submit::<TrainingRecord>(&app, &record.to_string(), command).await;
    }
    projections_apply_everything(&app, "training record").await;

    let terms = || {
        (cohort(), text(), day(), day()).prop_map(move |(cohort, name, deadline, payment)| {
            StatementTerms {
                lead_provider_id: provider,
                programme: Programme::Ecf,
                cohort,
                name,
                deadline_date: deadline,
                payment_date: payment,
                output_fee: true,
            }
        })
    };
    for terms in samples(terms(), &mut rng) {
        let id = StatementId(Uuid::new_v4()).to_string();
        submit::<Statement>(&app, &id, StatementCommand::Create(terms.clone())).await;
        let [close, pay] = samples(instant(), &mut rng)[..2] else {
            unreachable!("two samples")
        };
        submit::<Statement>(&app, &id, StatementCommand::Close { at: close }).await;
        submit::<Statement>(&app, &id, StatementCommand::Pay { at: pay }).await;
    }
    projections_apply_everything(&app, "statement").await;

    for (year, choice, reason, at) in samples((cohort(), text(), text(), instant()), &mut rng) {
        let stream = school_cohort_id(school, year);
        let request = PartnershipRequest {
            cohort: Sent::Known(year),
            school_id: Sent::Known(school),
            delivery_partner_id: Sent::Known(partner),
            cip_only: false,
            school_eligible: true,
            partnered_last_year: false,
            has_relationship: true,
        };
        let commands = [
            SchoolCohortCommand::Open {
                school_id: school,
                cohort: year,
            },
            SchoolCohortCommand::ChooseInductionProgramme {
                school_id: school,
                cohort: year,
                choice,
            },
            SchoolCohortCommand::Confirm {
                lead_provider_id: LeadProviderId(Uuid::new_v4()),
                request: Box::new(request.clone()),
                at,
            },
            SchoolCohortCommand::ChangeDeliveryPartner {
                partnership_id: PartnershipId(Uuid::new_v4()),
                request: Box::new(request),
            },
            SchoolCohortCommand::Challenge {
                partnership_id: PartnershipId(Uuid::new_v4()),
                reason,
                at,
            },
        ];
        for command in commands {
            submit::<SchoolCohort>(&app, &stream, command).await;
        }
    }
    projections_apply_everything(&app, "school cohort").await;

    let applications = (
        (text(), text(), text(), cohort()),
        (text(), text(), text(), text()),
        (instant(), text()),
    );
    for ((name, email, trn, year), (employer, role, urn, catchment), (at, reason)) in
        samples(applications, &mut rng)
    {
        let application = Application {
            id: NpqApplicationId(Uuid::new_v4()),
            participant_id: ParticipantId(Uuid::new_v4()),
            lead_provider_id: provider,
            full_name: name,
            email,
            trn: Some(trn.clone()),
            trn_validated: false,
            course: Course::NpqHeadship,
            cohort: year,
            works_in_school: true,
            employer_name: Some(employer),
            employment_role: Some(role),
            school_urn: Some(urn),
            school_ukprn: None,
            private_childcare_provider_urn: None,
            headteacher_status: None,
            funding_choice: None,
            eligible_for_funding: true,
            targeted_delivery_funding_eligibility: false,
            teacher_catchment: Some(catchment),
            teacher_catchment_country: None,
            teacher_catchment_iso_country_code: None,
            lead_mentor: None,
            itt_provider: None,
        };
        let id = application.id;
        let stream = stream_id(Some(&trn), application.participant_id, application.course);
        let change = |action| {
            NpqCourseCommand::Change(Box::new(EnrolmentChange {
                application_id: id,
                lead_provider_id: provider,
                at,
                action,
            }))
        };
        let commands = [
            NpqCourseCommand::Apply(Box::new(application)),
            change(EnrolmentAction::Defer {
                reason: reason.clone(),
                declared: true,
            }),
            change(EnrolmentAction::Withdraw {
                reason,
                started: true,
            }),
            change(EnrolmentAction::ChangeSchedule {
                target: None,
                cohort: year,
                live_declarations: vec![],
            }),
            NpqCourseCommand::Accept(Box::new(Acceptance {
                application_id: id,
                lead_provider_id: provider,
                schedule: None,
                same_trn_as: None,
                at,
            })),
            NpqCourseCommand::Reject {
                application_id: id,
                lead_provider_id: provider,
                at,
            },
        ];
        for command in commands {
            submit::<NpqCourse>(&app, &stream, command).await;
        }
    }
    projections_apply_everything(&app, "NPQ").await;

    let dates = prop_oneof![instant().prop_map(|at| at.to_rfc3339()), text()];
    let declarations = (text(), text(), dates);
    for (case, (evidence, kind, date)) in samples(declarations, &mut rng).into_iter().enumerate() {
        let mut attributes = started(participant);
        let (attribute, value) = match case % 3 {
            0 => ("evidence_held", evidence),
            1 => ("declaration_date", date),
            _ => ("declaration_type", kind),
        };
        attributes[attribute] = value.into();
        let response = app.declare(&token, attributes).await;
        assert!(
            matches!(
                response.status,
                StatusCode::OK | StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY
            ),
            "{attribute}: {}: {}",
            response.status,
            response.text
        );
    }
    projections_apply_everything(&app, "declaration").await;

    // Statements finance adds take lines: real declarations, unknown ids and repeats.
    let declared: Vec<Uuid> = sqlx::query_scalar("select id from declarations")
        .fetch_all(&app.pool)
        .await
        .expect("the declarations");
    let line = prop_oneof![
        (0..declared.len().max(1))
            .prop_map(move |i| DeclarationId(declared.get(i).copied().unwrap_or_default())),
        any::<u128>().prop_map(|n| DeclarationId(Uuid::from_u128(n))),
    ];
    let lines = proptest::collection::vec(line, 0..6);
    for (terms, lines, clawbacks) in samples((terms(), lines.clone(), lines), &mut rng) {
        let id = StatementId(Uuid::new_v4()).to_string();
        let twice = [lines.clone(), lines].concat();
        let add = StatementCommand::Add {
            terms,
            lines: twice,
            clawbacks,
        };
        submit::<Statement>(&app, &id, add.clone()).await;
        submit::<Statement>(&app, &id, add).await;
    }
    projections_apply_everything(&app, "added statement").await;

    // Retirements: the registered participant or unknown ids, any facts, clashes with any text.
    let person = prop_oneof![
        Just(participant),
        any::<u128>().prop_map(|n| ParticipantId(Uuid::from_u128(n))),
    ];
    let clash = (text(), text(), any::<u128>(), any::<u128>()).prop_map(
        |(course, declaration_type, retired, kept)| Clash {
            course,
            declaration_type,
            retired_declaration: DeclarationId(Uuid::from_u128(retired)),
            kept_declaration: DeclarationId(Uuid::from_u128(kept)),
        },
    );
    let facts = (
        (person.clone(), person.clone(), proptest::option::of(person)),
        any::<[bool; 4]>(),
        proptest::collection::vec(clash, 0..3),
    )
        .prop_map(
            |((retired_id, kept_id, kept_retired_into), flags, clashes)| RetirementFacts {
                retired_id,
                kept_id,
                retired_known: flags[0],
                kept_known: flags[1],
                kept_retired_into,
                same_trn: flags[2],
                confirmed_same_person: flags[3],
                clashes,
            },
        );
    for facts in samples(facts, &mut rng) {
        let id = facts.retired_id.to_string();
        let retire = RetirementCommand::Retire(Box::new(facts));
        submit::<Retirement>(&app, &id, retire.clone()).await;
        submit::<Retirement>(&app, &id, retire).await;
    }
    projections_apply_everything(&app, "retirement").await;
}
