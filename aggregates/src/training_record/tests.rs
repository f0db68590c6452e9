//! Training record rules, as given/when/then: registration, transfers and provider actions.

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::course::{Course, ParticipantType};
use crate::ids::{DeliveryPartnerId, SchoolId};
use crate::reference::Milestone;
use crate::reference::{DeclarationType, Schedule, ScheduleType};

type Record = TestFramework<TrainingRecord>;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn provider() -> LeadProviderId {
    LeadProviderId::from_name("Teach First")
}

fn registration() -> Registration {
    Registration {
        participant_id: ParticipantId(Uuid::from_u128(1)),
        participant_type: ParticipantType::Ect,
        full_name: "Jane Smith".into(),
        email: "jane@example.com".into(),
        trn: Some("1234567".into()),
        trn_validated: true,
        eligible_for_funding: Some(true),
        pupil_premium_uplift: false,
        sparsity_uplift: false,
        mentor_id: None,
        cohort: 2022,
        schedule_identifier: "ecf-standard-september".into(),
        placement: Placement {
            school_id: SchoolId::from_urn("100001"),
            school_urn: "100001".into(),
            lead_provider_id: provider(),
            delivery_partner_id: DeliveryPartnerId::from_name("Ace"),
            start: at("2022-09-01T00:00:00Z"),
        },
    }
}

fn registered() -> TrainingRecordEvent {
    TrainingRecordEvent::Registered(Box::new(registration()))
}

fn defer() -> TrainingRecordCommand {
    TrainingRecordCommand::Defer {
        lead_provider_id: provider(),
        reason: "career-break".into(),
        at: at("2023-01-01T00:00:00Z"),
    }
}

fn withdrawn() -> TrainingRecordEvent {
    TrainingRecordEvent::Withdrawn {
        lead_provider_id: provider(),
        reason: "other".into(),
        at: at("2023-01-01T00:00:00Z"),
    }
}

fn schedule(
    identifier: &str,
    cohort: i32,
    schedule_type: ScheduleType,
    start: (i32, u32, u32),
) -> Schedule {
    Schedule {
        identifier: identifier.into(),
        name: identifier.into(),
        cohort,
        schedule_type,
        milestones: vec![Milestone {
            name: "start".into(),
            declaration_type: DeclarationType::Started,
            start_date: NaiveDate::from_ymd_opt(start.0, start.1, start.2).unwrap(),
            milestone_date: None,
            payment_date: None,
        }],
    }
}

fn change(
    target: Option<Schedule>,
    cohort: i32,
    live: Vec<(DeclarationType, DateTime<Utc>)>,
) -> TrainingRecordCommand {
    TrainingRecordCommand::ChangeSchedule(Box::new(ScheduleChange {
        lead_provider_id: provider(),
        course: Course::EcfInduction,
        target,
        cohort,
        live_declarations: live,
        at: at("2023-07-01T00:00:00Z"),
    }))
}

#[test]
fn registering_again_with_the_same_details_changes_nothing() {
    Record::with(())
        .given(vec![registered()])
        .when(TrainingRecordCommand::Register(Box::new(registration())))
        .then_expect_events(vec![]);
}

#[test]
fn an_active_participant_can_be_deferred_once() {
    Record::with(())
        .given(vec![registered()])
        .when(defer())
        .then_expect_events(vec![TrainingRecordEvent::Deferred {
            lead_provider_id: provider(),
            reason: "career-break".into(),
            at: at("2023-01-01T00:00:00Z"),
        }]);
    let deferred = TrainingRecordEvent::Deferred {
        lead_provider_id: provider(),
        reason: "other".into(),
        at: at("2023-01-01T00:00:00Z"),
    };
    Record::with(())
        .given(vec![registered(), deferred])
        .when(defer())
        .then_expect_error(TrainingRecordError::AlreadyDeferred);
}

#[test]
fn resuming_an_active_participant_is_refused() {
    Record::with(())
        .given(vec![registered()])
        .when(TrainingRecordCommand::Resume {
            lead_provider_id: provider(),
            at: at("2023-01-01T00:00:00Z"),
        })
        .then_expect_error(TrainingRecordError::AlreadyActive);
}

#[test]
fn withdrawal_is_final() {
    Record::with(())
        .given(vec![registered(), withdrawn()])
        .when(defer())
        .then_expect_error(TrainingRecordError::AlreadyWithdrawn);
    Record::with(())
        .given(vec![registered(), withdrawn()])
        .when(TrainingRecordCommand::Resume {
            lead_provider_id: provider(),
            at: at("2023-01-01T00:00:00Z"),
        })
        .then_expect_error(TrainingRecordError::AlreadyWithdrawn);
}

#[test]
fn a_provider_that_never_trained_the_participant_is_not_recognised() {
    let stranger = TrainingRecordCommand::Defer {
        lead_provider_id: LeadProviderId::from_name("Capita"),
        reason: "other".into(),
        at: at("2023-01-01T00:00:00Z"),
    };
    Record::with(())
        .given(vec![registered()])
        .when(stranger)
        .then_expect_error(TrainingRecordError::NotRecognised);
}

#[test]
fn the_schedule_changes_when_every_rule_holds() {
    let january = schedule(
        "ecf-standard-january",
        2022,
        ScheduleType::EcfStandard,
        (2023, 1, 1),
    );
    Record::with(())
        .given(vec![registered()])
        .when(change(
            Some(january),
            2022,
            vec![(DeclarationType::Started, at("2023-02-01T00:00:00Z"))],
        ))
        .then_expect_events(vec![TrainingRecordEvent::ScheduleChanged {
            lead_provider_id: provider(),
            schedule_identifier: "ecf-standard-january".into(),
            at: at("2023-07-01T00:00:00Z"),
        }]);
}

#[test]
fn schedule_changes_are_checked_in_order() {
    let january = || {
        schedule(
            "ecf-standard-january",
            2022,
            ScheduleType::EcfStandard,
            (2023, 1, 1),
        )
    };
    let cases = [
        (
            change(None, 2022, vec![]),
            TrainingRecordError::UnknownSchedule,
        ),
        (
            change(Some(january()), 2023, vec![]),
            TrainingRecordError::CohortCannotChange,
        ),
        (
            change(
                Some(schedule(
                    "ecf-standard-september",
                    2022,
                    ScheduleType::EcfStandard,
                    (2022, 6, 1),
                )),
                2022,
                vec![],
            ),
            TrainingRecordError::SameSchedule,
        ),
        (
            change(
                Some(schedule(
                    "ecf-replacement-january",
                    2022,
                    ScheduleType::EcfReplacement,
                    (2023, 1, 1),
                )),
                2022,
                vec![],
            ),
            TrainingRecordError::ScheduleNotForCourse,
        ),
        (
            change(
                Some(january()),
                2022,
                vec![(DeclarationType::Started, at("2022-10-01T00:00:00Z"))],
            ),
            TrainingRecordError::WouldInvalidateDeclarations,
        ),
        (
            change(
                Some(january()),
                2022,
                vec![(DeclarationType::Started, at("2023-01-01T00:00:00Z"))],
            ),
            TrainingRecordError::WouldInvalidateDeclarations,
        ),
    ];
    for (command, error) in cases {
        Record::with(())
            .given(vec![registered()])
            .when(command)
            .then_expect_error(error);
    }
}

#[test]
fn a_withdrawn_participant_keeps_its_schedule() {
    let january = schedule(
        "ecf-standard-january",
        2022,
        ScheduleType::EcfStandard,
        (2023, 1, 1),
    );
    Record::with(())
        .given(vec![registered(), withdrawn()])
        .when(change(Some(january), 2022, vec![]))
        .then_expect_error(TrainingRecordError::WithdrawnCannotChangeSchedule);
}

#[test]
fn after_a_transfer_each_provider_acts_on_its_own_stint() {
    let new_provider = LeadProviderId::from_name("Capita");
    let joined = TrainingRecordEvent::Joined(Placement {
        school_id: SchoolId::from_urn("100002"),
        school_urn: "100002".into(),
        lead_provider_id: new_provider,
        delivery_partner_id: DeliveryPartnerId::from_name("Other"),
        start: at("2023-04-01T00:00:00Z"),
    });
    Record::with(())
        .given(vec![registered(), withdrawn(), joined])
        .when(TrainingRecordCommand::Defer {
            lead_provider_id: new_provider,
            reason: "other".into(),
            at: at("2023-05-01T00:00:00Z"),
        })
        .then_expect_events(vec![TrainingRecordEvent::Deferred {
            lead_provider_id: new_provider,
            reason: "other".into(),
            at: at("2023-05-01T00:00:00Z"),
        }]);
}

#[test]
fn a_stints_status_follows_its_dates_then_its_withdrawal() {
    let now = at("2024-03-01T00:00:00Z");
    let (before, after) = (at("2024-01-01T00:00:00Z"), at("2024-06-01T00:00:00Z"));
    assert_eq!(participant_status(before, None, false, now), "active");
    assert_eq!(participant_status(before, None, true, now), "withdrawn");
    assert_eq!(participant_status(after, None, true, now), "joining");
    assert_eq!(
        participant_status(before, Some(after), true, now),
        "leaving"
    );
    assert_eq!(participant_status(before, Some(before), false, now), "left");
}
