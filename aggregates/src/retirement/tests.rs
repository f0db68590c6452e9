use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;

type Given = TestFramework<Retirement>;

fn retired() -> ParticipantId {
    ParticipantId(Uuid::from_u128(1))
}

fn kept() -> ParticipantId {
    ParticipantId(Uuid::from_u128(2))
}

fn facts() -> RetirementFacts {
    RetirementFacts {
        retired_id: retired(),
        kept_id: kept(),
        retired_known: true,
        kept_known: true,
        kept_retired_into: None,
        same_trn: true,
        confirmed_same_person: false,
        clashes: vec![],
    }
}

fn retire(facts: RetirementFacts) -> RetirementCommand {
    RetirementCommand::Retire(Box::new(facts))
}

fn retired_event() -> RetirementEvent {
    RetirementEvent::Retired {
        retired_id: retired(),
        kept_id: kept(),
        confirmed_same_person: false,
    }
}

#[test]
fn two_records_with_one_trn_are_merged() {
    Given::with(())
        .given_no_previous_events()
        .when(retire(facts()))
        .then_expect_events(vec![retired_event()]);
}

#[test]
fn records_without_a_shared_trn_need_the_admins_word() {
    let unconfirmed = RetirementFacts {
        same_trn: false,
        ..facts()
    };
    Given::with(())
        .given_no_previous_events()
        .when(retire(unconfirmed.clone()))
        .then_expect_error(RetirementError::NotSamePerson);
    Given::with(())
        .given_no_previous_events()
        .when(retire(RetirementFacts {
            confirmed_same_person: true,
            ..unconfirmed
        }))
        .then_expect_events(vec![RetirementEvent::Retired {
            retired_id: retired(),
            kept_id: kept(),
            confirmed_same_person: true,
        }]);
}

#[test]
fn an_id_cannot_be_retired_in_favour_of_itself() {
    Given::with(())
        .given_no_previous_events()
        .when(retire(RetirementFacts {
            kept_id: retired(),
            ..facts()
        }))
        .then_expect_error(RetirementError::SameId);
}

#[test]
fn both_ids_must_name_participants() {
    Given::with(())
        .given_no_previous_events()
        .when(retire(RetirementFacts {
            retired_known: false,
            ..facts()
        }))
        .then_expect_error(RetirementError::UnknownRetired(retired()));
    Given::with(())
        .given_no_previous_events()
        .when(retire(RetirementFacts {
            kept_known: false,
            ..facts()
        }))
        .then_expect_error(RetirementError::UnknownKept(kept()));
}

#[test]
fn clashing_live_declarations_are_refused_by_name() {
    let clash = Clash {
        course: "ecf-induction".into(),
        declaration_type: "started".into(),
        retired_declaration: DeclarationId(Uuid::from_u128(10)),
        kept_declaration: DeclarationId(Uuid::from_u128(11)),
    };
    let error = RetirementError::ClashingDeclarations(vec![clash.clone()]);
    assert!(error.to_string().contains(
        "ecf-induction started (00000000-0000-0000-0000-00000000000a and 00000000-0000-0000-0000-00000000000b)"
    ));
    Given::with(())
        .given_no_previous_events()
        .when(retire(RetirementFacts {
            clashes: vec![clash],
            ..facts()
        }))
        .then_expect_error(error);
}

#[test]
fn repeating_a_retirement_changes_nothing_and_another_target_is_refused() {
    Given::with(())
        .given(vec![retired_event()])
        .when(retire(RetirementFacts {
            retired_known: false,
            ..facts()
        }))
        .then_expect_events(vec![]);
    let third = ParticipantId(Uuid::from_u128(3));
    Given::with(())
        .given(vec![retired_event()])
        .when(retire(RetirementFacts {
            kept_id: third,
            ..facts()
        }))
        .then_expect_error(RetirementError::AlreadyRetired(retired(), kept()));
}

#[test]
fn an_id_that_was_itself_retired_cannot_be_kept() {
    let third = ParticipantId(Uuid::from_u128(3));
    Given::with(())
        .given_no_previous_events()
        .when(retire(RetirementFacts {
            kept_retired_into: Some(third),
            ..facts()
        }))
        .then_expect_error(RetirementError::KeptIsRetired(third));
}
