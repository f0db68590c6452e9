//! Declaration slot rules, as given/when/then: submission checks, voids, eligibility, outcomes.

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::test::TestFramework;

use uuid::Uuid;

use super::*;
use crate::ids::StatementId;
use crate::reference::{Milestone, ScheduleType};

type Slot = TestFramework<DeclarationSlot>;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn provider() -> LeadProviderId {
    LeadProviderId::from_name("Teach First")
}

fn other_provider() -> LeadProviderId {
    LeadProviderId::from_name("Capita")
}

fn window(declaration_type: DeclarationType, start: NaiveDate, end: NaiveDate) -> Milestone {
    Milestone {
        name: String::new(),
        declaration_type,
        start_date: start,
        milestone_date: Some(end),
        payment_date: None,
    }
}

fn schedule() -> Schedule {
    Schedule {
        identifier: "ecf-standard-september".into(),
        name: "ECF Standard September".into(),
        cohort: 2022,
        schedule_type: ScheduleType::EcfStandard,
        milestones: vec![
            window(DeclarationType::Started, day(2022, 6, 1), day(2022, 12, 31)),
            window(
                DeclarationType::Retained1,
                day(2023, 1, 1),
                day(2023, 3, 31),
            ),
        ],
    }
}

fn facts() -> ParticipantFacts {
    ParticipantFacts {
        participant_id: ParticipantId(Uuid::from_u128(1)),
        training_record_id: TrainingRecordId(Uuid::from_u128(2)),
        course: Course::EcfInduction,
        cohort: 2022,
        schedule: schedule(),
        withdrawn_at: None,
        trained_on_schedule: true,
        eligible_for_funding: true,
        pupil_premium_uplift: true,
        sparsity_uplift: false,
        targeted_delivery_funding: false,
        delivery_partner_id: None,
        mentor_id: None,
        held_under_same_trn: None,
    }
}

fn request(declaration_type: &str, date: &str) -> DeclarationRequest {
    DeclarationRequest {
        participant_id: Uuid::from_u128(1).to_string(),
        declaration_type: Some(declaration_type.into()),
        declaration_date: Some(date.into()),
        course_identifier: Some("ecf-induction".into()),
        evidence_held: None,
        has_passed: None,
    }
}

fn submission(
    id: u128,
    by: LeadProviderId,
    request: DeclarationRequest,
    facts: ParticipantFacts,
) -> DeclarationSlotCommand {
    DeclarationSlotCommand::Submit(Box::new(Submission {
        declaration_id: DeclarationId(Uuid::from_u128(id)),
        lead_provider_id: by,
        request,
        resolution: Resolution::Found(Box::new(facts)),
        now: at("2023-07-12T12:00:00Z"),
        statement: Some(statement()),
    }))
}

fn statement() -> StatementId {
    StatementId(Uuid::from_u128(77))
}

fn started(id: u128, by: LeadProviderId) -> DeclarationSlotCommand {
    submission(id, by, request("started", "2022-10-01T10:00:00Z"), facts())
}

fn accepted(id: u128, by: LeadProviderId, state: DeclarationState) -> DeclarationSlotEvent {
    DeclarationSlotEvent::Submitted(Box::new(Declaration {
        id: DeclarationId(Uuid::from_u128(id)),
        participant_id: ParticipantId(Uuid::from_u128(1)),
        training_record_id: TrainingRecordId(Uuid::from_u128(2)),
        lead_provider_id: by,
        course: Course::EcfInduction,
        declaration_type: DeclarationType::Started,
        declaration_date: at("2022-10-01T10:00:00Z"),
        evidence_held: None,
        state,
        superseded_by: None,
        delivery_partner_id: None,
        mentor_id: None,
        pupil_premium_uplift: true,
        sparsity_uplift: false,
        cohort: 2022,
        statement_id: (state != DeclarationState::Submitted).then(statement),
        clawback_statement_id: None,
        targeted_delivery_funding: false,
        has_passed: None,
    }))
}

fn rejected(errors: Vec<DeclarationError>) -> DeclarationRejection {
    DeclarationRejection(errors)
}

#[test]
fn a_fundable_participants_declaration_is_eligible() {
    Slot::with(())
        .given_no_previous_events()
        .when(started(10, provider()))
        .then_expect_events(vec![accepted(10, provider(), DeclarationState::Eligible)]);
}

#[test]
fn an_unfunded_participants_declaration_is_submitted() {
    let unfunded = ParticipantFacts {
        eligible_for_funding: false,
        ..facts()
    };
    Slot::with(())
        .given_no_previous_events()
        .when(submission(
            10,
            provider(),
            request("started", "2022-10-01T10:00:00Z"),
            unfunded,
        ))
        .then_expect_events(vec![accepted(10, provider(), DeclarationState::Submitted)]);
}

#[test]
fn a_milestone_held_by_another_person_with_the_same_trn_makes_it_ineligible() {
    let holder = DeclarationId(Uuid::from_u128(99));
    let twin = ParticipantFacts {
        held_under_same_trn: Some(holder),
        ..facts()
    };
    let result = Slot::with(())
        .given_no_previous_events()
        .when(submission(
            10,
            provider(),
            request("started", "2022-10-01T10:00:00Z"),
            twin,
        ))
        .inspect_result()
        .unwrap();
    let DeclarationSlotEvent::Submitted(declaration) = &result[0] else {
        panic!("{result:?}")
    };
    assert_eq!(declaration.state, DeclarationState::Ineligible);
    assert_eq!(declaration.superseded_by, Some(holder));
}

#[test]
fn an_unknown_participant_and_missing_fields_are_reported_together() {
    let command = DeclarationSlotCommand::Submit(Box::new(Submission {
        declaration_id: DeclarationId(Uuid::from_u128(10)),
        lead_provider_id: provider(),
        request: DeclarationRequest {
            participant_id: "nobody".into(),
            ..Default::default()
        },
        resolution: Resolution::UnknownParticipant,
        now: at("2023-07-12T12:00:00Z"),
        statement: None,
    }));
    Slot::with(())
        .given_no_previous_events()
        .when(command)
        .then_expect_error(rejected(vec![
            DeclarationError::ParticipantNotRecognised,
            DeclarationError::MissingDate,
            DeclarationError::MissingType,
        ]));
}

#[test]
fn a_declaration_dated_on_or_after_the_withdrawal_is_refused() {
    let withdrawn = ParticipantFacts {
        withdrawn_at: Some(at("2022-09-30T08:00:00Z")),
        ..facts()
    };
    Slot::with(())
        .given_no_previous_events()
        .when(submission(
            10,
            provider(),
            request("started", "2022-10-01T10:00:00Z"),
            withdrawn,
        ))
        .then_expect_error(rejected(vec![DeclarationError::WithdrawnBefore(
            "2022-09-30T08:00:00Z".into(),
        )]));
}

#[test]
fn a_declaration_dated_before_the_withdrawal_is_accepted() {
    let withdrawn = ParticipantFacts {
        withdrawn_at: Some(at("2022-11-30T08:00:00Z")),
        ..facts()
    };
    let events = Slot::with(())
        .given_no_previous_events()
        .when(submission(
            10,
            provider(),
            request("started", "2022-10-01T10:00:00Z"),
            withdrawn,
        ))
        .inspect_result()
        .unwrap();
    assert_eq!(events.len(), 1);
}

#[test]
fn dates_must_be_rfc3339_date_times() {
    for bad in [
        "2022-10-01",
        "01/10/2022",
        "2022-13-01T00:00:00Z",
        "yesterday",
    ] {
        Slot::with(())
            .given_no_previous_events()
            .when(submission(10, provider(), request("started", bad), facts()))
            .then_expect_error(rejected(vec![DeclarationError::InvalidDate]));
    }
}

#[test]
fn zones_and_fractions_are_optional() {
    let expected = Some(at("2022-10-01T09:00:00Z"));
    assert_eq!(
        parse_declaration_date("2022-10-01T10:00:00+01:00"),
        expected
    );
    assert_eq!(parse_declaration_date("2022-10-01T10:00:00+0100"), expected);
    assert_eq!(parse_declaration_date("2022-10-01T09:00:00.000Z"), expected);
    assert_eq!(parse_declaration_date("2022-10-01T09:00:00"), expected);
}

#[test]
fn a_future_date_is_refused() {
    Slot::with(())
        .given_no_previous_events()
        .when(submission(
            10,
            provider(),
            request("started", "2023-07-12T12:00:01Z"),
            facts(),
        ))
        .then_expect_error(rejected(vec![DeclarationError::FutureDate]));
}

#[test]
fn a_date_before_the_milestone_opens_is_refused() {
    Slot::with(())
        .given_no_previous_events()
        .when(submission(
            10,
            provider(),
            request("started", "2022-05-31T23:59:59Z"),
            facts(),
        ))
        .then_expect_error(rejected(vec![DeclarationError::BeforeMilestoneStart]));
}

#[test]
fn the_milestone_date_counts_to_the_end_of_its_day() {
    let last_second = request("started", "2022-12-31T23:59:59Z");
    assert!(
        Slot::with(())
            .given_no_previous_events()
            .when(submission(10, provider(), last_second, facts()))
            .inspect_result()
            .is_ok()
    );
    Slot::with(())
        .given_no_previous_events()
        .when(submission(
            10,
            provider(),
            request("started", "2023-01-01T00:00:00Z"),
            facts(),
        ))
        .then_expect_error(rejected(vec![DeclarationError::AfterMilestoneEnd]));
}

#[test]
fn a_retained_declaration_needs_known_evidence() {
    let mut missing = request("retained-1", "2023-02-01T10:00:00Z");
    Slot::with(())
        .given_no_previous_events()
        .when(submission(10, provider(), missing.clone(), facts()))
        .then_expect_error(rejected(vec![DeclarationError::MissingEvidence]));
    missing.evidence_held = Some("a-hunch".into());
    Slot::with(())
        .given_no_previous_events()
        .when(submission(10, provider(), missing, facts()))
        .then_expect_error(rejected(vec![DeclarationError::InvalidEvidence]));
}

#[test]
fn a_type_the_schedule_lacks_is_refused() {
    let mut retained = request("retained-2", "2023-02-01T10:00:00Z");
    retained.evidence_held = Some("other".into());
    Slot::with(())
        .given_no_previous_events()
        .when(submission(10, provider(), retained, facts()))
        .then_expect_error(rejected(vec![DeclarationError::TypeNotInSchedule]));
}

#[test]
fn a_milestone_held_by_any_provider_is_a_duplicate() {
    Slot::with(())
        .given(vec![accepted(
            10,
            other_provider(),
            DeclarationState::Eligible,
        )])
        .when(started(11, provider()))
        .then_expect_error(rejected(vec![DeclarationError::Duplicate]));
}

#[test]
fn an_exact_resend_records_nothing() {
    Slot::with(())
        .given(vec![accepted(10, provider(), DeclarationState::Eligible)])
        .when(started(11, provider()))
        .then_expect_events(vec![]);
}

#[test]
fn a_resend_with_another_date_is_a_duplicate() {
    Slot::with(())
        .given(vec![accepted(10, provider(), DeclarationState::Eligible)])
        .when(submission(
            11,
            provider(),
            request("started", "2022-10-02T10:00:00Z"),
            facts(),
        ))
        .then_expect_error(rejected(vec![DeclarationError::Duplicate]));
}

#[test]
fn a_voided_declaration_frees_the_milestone() {
    let voided = DeclarationSlotEvent::Voided {
        declaration_id: DeclarationId(Uuid::from_u128(10)),
    };
    Slot::with(())
        .given(vec![
            accepted(10, other_provider(), DeclarationState::Eligible),
            voided,
        ])
        .when(started(11, provider()))
        .then_expect_events(vec![accepted(11, provider(), DeclarationState::Eligible)]);
}

#[test]
fn a_provider_that_never_trained_on_the_schedule_is_refused() {
    let stranger = ParticipantFacts {
        trained_on_schedule: false,
        ..facts()
    };
    Slot::with(())
        .given_no_previous_events()
        .when(submission(
            10,
            provider(),
            request("started", "2022-10-01T10:00:00Z"),
            stranger,
        ))
        .then_expect_error(rejected(vec![DeclarationError::ParticipantNotRecognised]));
}

#[test]
fn voiding_voids_and_voiding_twice_is_refused() {
    let id = DeclarationId(Uuid::from_u128(10));
    let void = DeclarationSlotCommand::Void {
        declaration_id: id,
        lead_provider_id: provider(),
        clawback_statement: None,
        statement_paid: false,
    };
    Slot::with(())
        .given(vec![accepted(10, provider(), DeclarationState::Eligible)])
        .when(void.clone())
        .then_expect_events(vec![DeclarationSlotEvent::Voided { declaration_id: id }]);
    Slot::with(())
        .given(vec![
            accepted(10, provider(), DeclarationState::Eligible),
            DeclarationSlotEvent::Voided { declaration_id: id },
        ])
        .when(void)
        .then_expect_error(rejected(vec![DeclarationError::AlreadyVoided]));
}

#[test]
fn another_providers_declaration_cannot_be_voided() {
    let void = DeclarationSlotCommand::Void {
        declaration_id: DeclarationId(Uuid::from_u128(10)),
        lead_provider_id: provider(),
        clawback_statement: None,
        statement_paid: false,
    };
    Slot::with(())
        .given(vec![accepted(
            10,
            other_provider(),
            DeclarationState::Eligible,
        )])
        .when(void)
        .then_expect_error(rejected(vec![DeclarationError::NotFound]));
}

#[test]
fn becoming_fundable_makes_a_submitted_declaration_eligible_once() {
    let id = DeclarationId(Uuid::from_u128(10));
    let mark = DeclarationSlotCommand::MarkEligible {
        declaration_id: id,
        statement_id: Some(statement()),
    };
    Slot::with(())
        .given(vec![accepted(10, provider(), DeclarationState::Submitted)])
        .when(mark.clone())
        .then_expect_events(vec![DeclarationSlotEvent::BecameEligible {
            declaration_id: id,
            statement_id: Some(statement()),
        }]);
    Slot::with(())
        .given(vec![accepted(10, provider(), DeclarationState::Eligible)])
        .when(mark)
        .then_expect_events(vec![]);
}

#[test]
fn voiding_a_declaration_whose_statement_was_paid_claws_it_back_on_the_next_statement() {
    let id = DeclarationId(Uuid::from_u128(10));
    let next = StatementId(Uuid::from_u128(78));
    let eligible = vec![accepted(10, provider(), DeclarationState::Eligible)];
    let void = DeclarationSlotCommand::Void {
        declaration_id: id,
        lead_provider_id: provider(),
        clawback_statement: Some(next),
        statement_paid: true,
    };
    Slot::with(())
        .given(eligible.clone())
        .when(void.clone())
        .then_expect_events(vec![DeclarationSlotEvent::ClawbackRequested {
            declaration_id: id,
            statement_id: Some(next),
        }]);
    let mut clawing = eligible;
    clawing.push(DeclarationSlotEvent::ClawbackRequested {
        declaration_id: id,
        statement_id: Some(next),
    });
    Slot::with(())
        .given(clawing)
        .when(void)
        .then_expect_error(rejected(vec![DeclarationError::CannotBeVoided]));
}

#[test]
fn voiding_a_declaration_on_an_unpaid_statement_just_voids_it() {
    let id = DeclarationId(Uuid::from_u128(10));
    Slot::with(())
        .given(vec![accepted(10, provider(), DeclarationState::Eligible)])
        .when(DeclarationSlotCommand::Void {
            declaration_id: id,
            lead_provider_id: provider(),
            clawback_statement: Some(StatementId(Uuid::from_u128(78))),
            statement_paid: false,
        })
        .then_expect_events(vec![DeclarationSlotEvent::Voided { declaration_id: id }]);
}

#[test]
fn a_declaration_paid_under_the_earlier_per_line_events_is_still_clawed_back() {
    let id = DeclarationId(Uuid::from_u128(10));
    let next = StatementId(Uuid::from_u128(78));
    Slot::with(())
        .given(vec![
            accepted(10, provider(), DeclarationState::Eligible),
            DeclarationSlotEvent::BecamePayable { declaration_id: id },
            DeclarationSlotEvent::BecamePaid { declaration_id: id },
        ])
        .when(DeclarationSlotCommand::Void {
            declaration_id: id,
            lead_provider_id: provider(),
            clawback_statement: Some(next),
            statement_paid: false,
        })
        .then_expect_events(vec![DeclarationSlotEvent::ClawbackRequested {
            declaration_id: id,
            statement_id: Some(next),
        }]);
}

fn npq_facts() -> ParticipantFacts {
    let mut schedule = schedule();
    schedule.schedule_type = ScheduleType::NpqLeadership;
    schedule.milestones = vec![
        window(DeclarationType::Started, day(2022, 6, 1), day(2022, 12, 31)),
        window(
            DeclarationType::Completed,
            day(2023, 1, 1),
            day(2023, 12, 31),
        ),
    ];
    ParticipantFacts {
        course: Course::NpqHeadship,
        schedule,
        pupil_premium_uplift: false,
        targeted_delivery_funding: true,
        ..facts()
    }
}

fn completed(id: u128, has_passed: Option<&str>) -> DeclarationSlotCommand {
    let request = DeclarationRequest {
        course_identifier: Some("npq-headship".into()),
        has_passed: has_passed.map(Into::into),
        evidence_held: Some("ignored for NPQ".into()),
        ..request("completed", "2023-02-01T10:00:00Z")
    };
    submission(id, provider(), request, npq_facts())
}

fn outcome_request(state: Option<&str>, date: Option<&str>) -> DeclarationSlotCommand {
    DeclarationSlotCommand::RecordOutcome(Box::new(OutcomeRequest {
        lead_provider_id: provider(),
        course_recognised: true,
        course_missing: false,
        state: state.map(Into::into),
        completion_date: date.map(Into::into),
        now: at("2023-07-12T12:00:00Z"),
    }))
}

fn submitted_events(command: DeclarationSlotCommand) -> Vec<DeclarationSlotEvent> {
    let mut slot = DeclarationSlot::default();
    let events = slot.decide(command).unwrap();
    for event in events.clone() {
        cqrs_es::Aggregate::apply(&mut slot, event);
    }
    events
}

#[test]
fn an_npq_completed_declaration_needs_has_passed_and_records_the_outcome() {
    Slot::with(())
        .given_no_previous_events()
        .when(completed(10, None))
        .then_expect_error(rejected(vec![DeclarationError::MissingHasPassed]));
    let events = submitted_events(completed(10, Some("false")));
    let [
        DeclarationSlotEvent::Submitted(declaration),
        DeclarationSlotEvent::OutcomeRecorded(outcome),
    ] = events.as_slice()
    else {
        panic!("expected a declaration and its outcome: {events:?}");
    };
    assert_eq!(declaration.has_passed, Some(false));
    assert_eq!(declaration.evidence_held, None, "NPQ evidence is ignored");
    assert!(declaration.targeted_delivery_funding);
    assert_eq!(outcome.state, OutcomeState::Failed);
    assert_eq!(outcome.completion_date, day(2023, 2, 1));
}

#[test]
fn a_later_outcome_is_recorded_once_and_voiding_appends_voided() {
    let history = submitted_events(completed(10, Some("true")));
    Slot::with(())
        .given(history.clone())
        .when(outcome_request(Some("failed"), Some("2023-03-01")))
        .then_expect_events(vec![DeclarationSlotEvent::OutcomeRecorded(Box::new(
            Outcome {
                id: crate::ids::derived(&format!("outcome:{}:1", Uuid::from_u128(10))),
                declaration_id: DeclarationId(Uuid::from_u128(10)),
                participant_id: ParticipantId(Uuid::from_u128(1)),
                lead_provider_id: provider(),
                course: Course::NpqHeadship,
                state: OutcomeState::Failed,
                completion_date: day(2023, 3, 1),
            },
        ))]);
    Slot::with(())
        .given(history.clone())
        .when(outcome_request(Some("passed"), Some("2023-02-01")))
        .then_expect_events(vec![]);
    let void = DeclarationSlotCommand::Void {
        declaration_id: DeclarationId(Uuid::from_u128(10)),
        lead_provider_id: provider(),
        clawback_statement: None,
        statement_paid: false,
    };
    let mut slot = DeclarationSlot::default();
    history
        .into_iter()
        .for_each(|e| cqrs_es::Aggregate::apply(&mut slot, e));
    let events = slot.decide(void).unwrap();
    assert!(matches!(
        events.as_slice(),
        [DeclarationSlotEvent::Voided { .. }, DeclarationSlotEvent::OutcomeRecorded(o)]
            if o.state == OutcomeState::Voided
    ));
}

#[test]
fn outcome_requests_are_checked_in_the_apis_terms() {
    let history = submitted_events(completed(10, Some("true")));
    let given = || Slot::with(()).given(history.clone());
    given()
        .when(outcome_request(None, None))
        .then_expect_error(rejected(vec![
            DeclarationError::MissingOutcomeState,
            DeclarationError::MissingCompletionDate,
        ]));
    given()
        .when(outcome_request(Some("voided"), Some("01/02/2023")))
        .then_expect_error(rejected(vec![
            DeclarationError::InvalidOutcomeState,
            DeclarationError::InvalidCompletionDate,
        ]));
    given()
        .when(outcome_request(Some("passed"), Some("2024-01-01")))
        .then_expect_error(rejected(vec![DeclarationError::FutureCompletionDate]));
    Slot::with(())
        .given_no_previous_events()
        .when(outcome_request(Some("passed"), Some("2023-01-01")))
        .then_expect_error(rejected(vec![DeclarationError::NoCompletedDeclaration]));
}

#[test]
fn statement_moves_never_change_whether_a_declaration_is_live() {
    use DeclarationState as S;
    let moves = [
        (S::Eligible, S::Payable),
        (S::Eligible, S::Paid),
        (S::Payable, S::Paid),
        (S::AwaitingClawback, S::ClawedBack),
    ];
    for (from, to) in moves {
        assert_eq!(from.is_live(), to.is_live(), "{from:?} -> {to:?}");
    }
}

#[test]
fn a_paid_line_stays_billable_once_voided_and_is_refundable() {
    use DeclarationState as S;
    let billable: Vec<_> = S::ALL.into_iter().filter(|s| s.is_billable()).collect();
    let refundable: Vec<_> = S::ALL.into_iter().filter(|s| s.is_refundable()).collect();
    let paid: Vec<_> = S::ALL.into_iter().filter(|s| s.was_paid()).collect();
    assert_eq!(
        billable,
        [
            S::Eligible,
            S::Payable,
            S::Paid,
            S::AwaitingClawback,
            S::ClawedBack
        ]
    );
    assert_eq!(refundable, [S::AwaitingClawback, S::ClawedBack]);
    assert_eq!(paid, [S::Paid, S::AwaitingClawback, S::ClawedBack]);
    assert!(S::ALL.into_iter().all(|s| S::parse(s.as_str()) == Some(s)));
}

#[test]
fn only_a_paid_started_declaration_with_its_courses_uplift_shows_the_uplift_paid() {
    let pupil_premium = Uplifts {
        pupil_premium: true,
        ..Uplifts::default()
    };
    let funded = Uplifts {
        targeted_delivery_funding: true,
        ..Uplifts::default()
    };
    let shown = |state: DeclarationState, kind: &str, course: Course, uplifts: Uplifts| {
        state.shows_uplift_paid(kind, Some(course), uplifts)
    };
    let paid = DeclarationState::Paid;
    assert!(shown(paid, "started", Course::EcfInduction, pupil_premium));
    assert!(shown(
        DeclarationState::ClawedBack,
        "started",
        Course::EcfInduction,
        pupil_premium
    ));
    assert!(shown(paid, "started", Course::NpqHeadship, funded));
    // Mentors' uplifts are never shown paid, though finance counts them.
    assert!(!shown(paid, "started", Course::EcfMentor, pupil_premium));
    assert!(!shown(
        paid,
        "retained-1",
        Course::EcfInduction,
        pupil_premium
    ));
    assert!(!shown(
        DeclarationState::Payable,
        "started",
        Course::EcfInduction,
        pupil_premium
    ));
    assert!(!shown(paid, "started", Course::EcfInduction, funded));
    assert!(!shown(paid, "started", Course::NpqHeadship, pupil_premium));
}

#[test]
fn eligible_and_payable_declarations_are_eligible_for_payment() {
    let eligible: Vec<DeclarationState> = DeclarationState::ALL
        .into_iter()
        .filter(|state| state.is_eligible_for_payment())
        .collect();
    assert_eq!(
        eligible,
        [DeclarationState::Eligible, DeclarationState::Payable]
    );
}
