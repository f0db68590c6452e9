//! NPQ course rules, as given/when/then: applications, acceptance, enrolment actions.

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::reference::{Milestone, ScheduleType};

type Stream = TestFramework<NpqCourse>;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn ambition() -> LeadProviderId {
    LeadProviderId::from_name("Ambition Institute")
}

fn ucl() -> LeadProviderId {
    LeadProviderId::from_name("UCL Institute of Education")
}

fn application(n: u128, provider: LeadProviderId, course: Course) -> Application {
    Application {
        id: NpqApplicationId(Uuid::from_u128(n)),
        participant_id: ParticipantId(Uuid::from_u128(100)),
        lead_provider_id: provider,
        full_name: "Sam Lee".into(),
        email: "sam@example.com".into(),
        trn: Some("7654321".into()),
        trn_validated: true,
        course,
        cohort: 2022,
        works_in_school: true,
        employer_name: None,
        employment_role: None,
        school_urn: Some("100001".into()),
        school_ukprn: None,
        private_childcare_provider_urn: None,
        headteacher_status: Some("no".into()),
        funding_choice: None,
        eligible_for_funding: true,
        targeted_delivery_funding_eligibility: false,
        teacher_catchment: Some("england".into()),
        teacher_catchment_country: None,
        teacher_catchment_iso_country_code: None,
        lead_mentor: None,
        itt_provider: None,
    }
}

fn applied(n: u128, provider: LeadProviderId, course: Course) -> NpqEvent {
    NpqEvent::Applied(Box::new(application(n, provider, course)))
}

fn schedule(identifier: &str, cohort: i32, kind: ScheduleType) -> Schedule {
    Schedule {
        identifier: identifier.into(),
        name: identifier.into(),
        cohort,
        schedule_type: kind,
        milestones: vec![
            Milestone {
                name: "Output 1".into(),
                declaration_type: DeclarationType::Started,
                start_date: day("2022-09-01"),
                milestone_date: None,
                payment_date: None,
            },
            Milestone {
                name: "Output 4".into(),
                declaration_type: DeclarationType::Completed,
                start_date: day("2023-01-01"),
                milestone_date: None,
                payment_date: None,
            },
        ],
    }
}

fn leadership_autumn() -> Schedule {
    schedule("npq-leadership-autumn", 2022, ScheduleType::NpqLeadership)
}

fn accept(n: u128, provider: LeadProviderId) -> NpqCourseCommand {
    NpqCourseCommand::Accept(Box::new(Acceptance {
        application_id: NpqApplicationId(Uuid::from_u128(n)),
        lead_provider_id: provider,
        schedule: Some(leadership_autumn()),
        same_trn_as: None,
        at: at("2022-10-01T09:00:00Z"),
    }))
}

fn accepted(n: u128) -> NpqEvent {
    NpqEvent::Accepted {
        application_id: NpqApplicationId(Uuid::from_u128(n)),
        participant_id: ParticipantId(Uuid::from_u128(100)),
        merged_from: None,
        schedule_identifier: "npq-leadership-autumn".into(),
        cohort: 2022,
        at: at("2022-10-01T09:00:00Z"),
    }
}

fn change(n: u128, action: EnrolmentAction) -> NpqCourseCommand {
    NpqCourseCommand::Change(Box::new(EnrolmentChange {
        application_id: NpqApplicationId(Uuid::from_u128(n)),
        lead_provider_id: ambition(),
        at: at("2023-02-01T09:00:00Z"),
        action,
    }))
}

#[test]
fn accepting_enrols_and_rejects_the_other_applications_for_the_course_and_cohort() {
    let mut other_cohort = application(3, ucl(), Course::NpqHeadship);
    other_cohort.cohort = 2023;
    Stream::with(())
        .given(vec![
            applied(1, ambition(), Course::NpqHeadship),
            applied(2, ucl(), Course::NpqHeadship),
            NpqEvent::Applied(Box::new(other_cohort)),
        ])
        .when(accept(1, ambition()))
        .then_expect_events(vec![
            accepted(1),
            NpqEvent::Rejected {
                application_id: NpqApplicationId(Uuid::from_u128(2)),
                automatically: true,
                at: at("2022-10-01T09:00:00Z"),
            },
        ]);
}

#[test]
fn a_person_holds_one_place_per_course_across_providers_and_with_the_aso_ehco_twin() {
    Stream::with(())
        .given(vec![
            applied(1, ucl(), Course::NpqHeadship),
            accepted(1),
            applied(2, ambition(), Course::NpqHeadship),
        ])
        .when(accept(2, ambition()))
        .then_expect_error(NpqError::PlaceTaken);
    let aso = application(1, ucl(), Course::NpqAdditionalSupportOffer);
    let ehco = application(2, ambition(), Course::NpqEarlyHeadshipCoachingOffer);
    let stream = |a: &Application| stream_id(a.trn.as_deref(), a.participant_id, a.course);
    assert_eq!(stream(&aso), stream(&ehco), "ASO and EHCO share a stream");
}

#[test]
fn accepting_or_rejecting_twice_or_after_the_other_is_refused() {
    let given = || {
        Stream::with(()).given(vec![
            applied(1, ambition(), Course::NpqHeadship),
            accepted(1),
        ])
    };
    given()
        .when(accept(1, ambition()))
        .then_expect_error(NpqError::AlreadyAccepted);
    given()
        .when(NpqCourseCommand::Reject {
            application_id: NpqApplicationId(Uuid::from_u128(1)),
            lead_provider_id: ambition(),
            at: at("2022-10-02T09:00:00Z"),
        })
        .then_expect_error(NpqError::AcceptedIsFinal);
    let rejected = NpqEvent::Rejected {
        application_id: NpqApplicationId(Uuid::from_u128(1)),
        automatically: false,
        at: at("2022-10-01T09:00:00Z"),
    };
    Stream::with(())
        .given(vec![applied(1, ambition(), Course::NpqHeadship), rejected])
        .when(accept(1, ambition()))
        .then_expect_error(NpqError::RejectedIsFinal);
}

#[test]
fn another_providers_application_is_not_found() {
    Stream::with(())
        .given(vec![applied(1, ucl(), Course::NpqHeadship)])
        .when(accept(1, ambition()))
        .then_expect_error(NpqError::NotFound);
}

#[test]
fn an_applicant_whose_trn_another_person_holds_merges_into_them() {
    let someone = ParticipantId(Uuid::from_u128(7));
    let NpqCourseCommand::Accept(mut acceptance) = accept(1, ambition()) else {
        unreachable!()
    };
    acceptance.same_trn_as = Some(someone);
    Stream::with(())
        .given(vec![applied(1, ambition(), Course::NpqHeadship)])
        .when(NpqCourseCommand::Accept(acceptance))
        .then_expect_events(vec![NpqEvent::Accepted {
            application_id: NpqApplicationId(Uuid::from_u128(1)),
            participant_id: someone,
            merged_from: Some(ParticipantId(Uuid::from_u128(100))),
            schedule_identifier: "npq-leadership-autumn".into(),
            cohort: 2022,
            at: at("2022-10-01T09:00:00Z"),
        }]);
}

#[test]
fn deferring_needs_a_declaration_and_withdrawing_a_started_one() {
    let given = || {
        Stream::with(()).given(vec![
            applied(1, ambition(), Course::NpqHeadship),
            accepted(1),
        ])
    };
    given()
        .when(change(
            1,
            EnrolmentAction::Defer {
                reason: "other".into(),
                declared: false,
            },
        ))
        .then_expect_error(NpqError::DeferWithoutDeclarations);
    given()
        .when(change(
            1,
            EnrolmentAction::Withdraw {
                reason: "expected-commitment-unclear".into(),
                started: false,
            },
        ))
        .then_expect_error(NpqError::WithdrawWithoutStart);
    given()
        .when(change(
            1,
            EnrolmentAction::Withdraw {
                reason: "quality-of-programme-structure-not-suitable.".into(),
                started: true,
            },
        ))
        .then_expect_events(vec![NpqEvent::Withdrawn {
            application_id: NpqApplicationId(Uuid::from_u128(1)),
            reason: "quality-of-programme-structure-not-suitable.".into(),
            at: at("2023-02-01T09:00:00Z"),
        }]);
    given()
        .when(change(1, EnrolmentAction::Resume))
        .then_expect_error(NpqError::Training(TrainingRecordError::AlreadyActive));
}

#[test]
fn the_cohort_changes_only_while_nothing_is_declared() {
    let target = schedule("npq-leadership-spring", 2023, ScheduleType::NpqLeadership);
    let given = || {
        Stream::with(()).given(vec![
            applied(1, ambition(), Course::NpqHeadship),
            accepted(1),
        ])
    };
    given()
        .when(change(
            1,
            EnrolmentAction::ChangeSchedule {
                target: Some(target.clone()),
                cohort: 2023,
                live_declarations: vec![(DeclarationType::Started, at("2022-10-01T00:00:00Z"))],
            },
        ))
        .then_expect_error(NpqError::Training(TrainingRecordError::CohortCannotChange));
    given()
        .when(change(
            1,
            EnrolmentAction::ChangeSchedule {
                target: Some(target),
                cohort: 2023,
                live_declarations: vec![],
            },
        ))
        .then_expect_events(vec![NpqEvent::ScheduleChanged {
            application_id: NpqApplicationId(Uuid::from_u128(1)),
            schedule_identifier: "npq-leadership-spring".into(),
            cohort: 2023,
            at: at("2023-02-01T09:00:00Z"),
        }]);
    let specialist = schedule("npq-specialist-spring", 2022, ScheduleType::NpqSpecialist);
    given()
        .when(change(
            1,
            EnrolmentAction::ChangeSchedule {
                target: Some(specialist),
                cohort: 2022,
                live_declarations: vec![],
            },
        ))
        .then_expect_error(NpqError::Training(
            TrainingRecordError::ScheduleNotForCourse,
        ));
}

#[test]
fn the_schedule_follows_course_cohort_and_day_of_acceptance() {
    let cases = [
        (
            Course::NpqHeadship,
            2023,
            "2023-04-03",
            Some("npq-leadership-autumn"),
        ),
        (
            Course::NpqHeadship,
            2023,
            "2023-04-02",
            Some("npq-leadership-spring"),
        ),
        (
            Course::NpqLeadingLiteracy,
            2022,
            "2022-05-01",
            Some("npq-specialist-spring"),
        ),
        (
            Course::NpqLeadingLiteracy,
            2022,
            "2022-06-01",
            Some("npq-specialist-autumn"),
        ),
        (
            Course::NpqLeadingLiteracy,
            2022,
            "2022-12-26",
            Some("npq-specialist-spring"),
        ),
        (
            Course::NpqEarlyHeadshipCoachingOffer,
            2023,
            "2023-01-15",
            Some("npq-ehco-december"),
        ),
        (
            Course::NpqEarlyHeadshipCoachingOffer,
            2023,
            "2023-10-15",
            Some("npq-ehco-november"),
        ),
        (
            Course::NpqEarlyHeadshipCoachingOffer,
            2021,
            "2023-10-15",
            Some("npq-ehco-june"),
        ),
        (
            Course::NpqAdditionalSupportOffer,
            2021,
            "2021-10-15",
            Some("npq-aso-december"),
        ),
        (Course::EcfInduction, 2022, "2022-10-15", None),
    ];
    for (course, cohort, accepted_on, expected) in cases {
        assert_eq!(
            schedule_for(course, cohort, day(accepted_on)),
            expected,
            "{course:?} {cohort} accepted on {accepted_on}"
        );
    }
}

#[test]
fn funding_before_outranks_an_ineligible_establishment() {
    assert_eq!(
        ineligible_for_funding_reason(true, false),
        Some("previously-funded")
    );
    assert_eq!(
        ineligible_for_funding_reason(false, false),
        Some("establishment-ineligible")
    );
    assert_eq!(ineligible_for_funding_reason(false, true), None);
}
