use chrono::{DateTime, Utc};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use crate::course::Course;
use crate::declaration::{
    Declaration, DeclarationError, DeclarationSlot, DeclarationSlotCommand, DeclarationSlotEvent,
    DeclarationState, Moved,
};
use crate::ids::{DeclarationId, LeadProviderId, ParticipantId, TrainingRecordId};
use crate::reference::DeclarationType;

type Slot = TestFramework<DeclarationSlot>;

fn retired() -> ParticipantId {
    ParticipantId(Uuid::from_u128(1))
}

fn kept() -> ParticipantId {
    ParticipantId(Uuid::from_u128(2))
}

fn declaration(id: u128, participant: ParticipantId) -> Declaration {
    let at: DateTime<Utc> = "2022-10-01T10:00:00Z".parse().unwrap();
    Declaration {
        id: DeclarationId(Uuid::from_u128(id)),
        participant_id: participant,
        training_record_id: TrainingRecordId(Uuid::from_u128(id + 100)),
        lead_provider_id: LeadProviderId::from_name("Teach First"),
        course: Course::EcfInduction,
        declaration_type: DeclarationType::Started,
        declaration_date: at,
        evidence_held: None,
        state: DeclarationState::Submitted,
        superseded_by: None,
        delivery_partner_id: None,
        mentor_id: None,
        pupil_premium_uplift: false,
        sparsity_uplift: false,
        cohort: 2022,
        statement_id: None,
        clawback_statement_id: None,
        targeted_delivery_funding: false,
        has_passed: None,
    }
}

fn submitted(id: u128, participant: ParticipantId) -> DeclarationSlotEvent {
    DeclarationSlotEvent::Submitted(Box::new(declaration(id, participant)))
}

fn move_in(declarations: Vec<(Declaration, DeclarationState)>) -> DeclarationSlotCommand {
    DeclarationSlotCommand::MoveIn(Box::new(Moved {
        participant_id: kept(),
        declarations,
        outcomes: vec![],
    }))
}

#[test]
fn a_moved_out_slot_takes_no_more_commands() {
    Slot::with(())
        .given(vec![
            submitted(10, retired()),
            DeclarationSlotEvent::MovedOut {
                participant_id: kept(),
            },
        ])
        .when(DeclarationSlotCommand::Void {
            declaration_id: DeclarationId(Uuid::from_u128(10)),
            lead_provider_id: LeadProviderId::from_name("Teach First"),
            clawback_statement: None,
            statement_paid: false,
        })
        .then_expect_error(DeclarationError::ParticipantRetired.into());
}

#[test]
fn moving_out_twice_records_it_once() {
    Slot::with(())
        .given(vec![DeclarationSlotEvent::MovedOut {
            participant_id: kept(),
        }])
        .when(DeclarationSlotCommand::MoveOut { to: kept() })
        .then_expect_events(vec![]);
}

#[test]
fn moved_declarations_arrive_as_the_kept_persons() {
    let voided = (declaration(10, retired()), DeclarationState::Voided);
    let live = (declaration(11, retired()), DeclarationState::Submitted);
    Slot::with(())
        .given_no_previous_events()
        .when(move_in(vec![voided, live]))
        .then_expect_events(vec![DeclarationSlotEvent::MovedIn(Box::new(Moved {
            participant_id: kept(),
            declarations: vec![
                (declaration(10, kept()), DeclarationState::Voided),
                (declaration(11, kept()), DeclarationState::Submitted),
            ],
            outcomes: vec![],
        }))]);
}

#[test]
fn a_live_declaration_arriving_where_one_is_live_arrives_ineligible() {
    let mut superseded = declaration(11, kept());
    superseded.superseded_by = Some(DeclarationId(Uuid::from_u128(20)));
    Slot::with(())
        .given(vec![submitted(20, kept())])
        .when(move_in(vec![(
            declaration(11, retired()),
            DeclarationState::Submitted,
        )]))
        .then_expect_events(vec![DeclarationSlotEvent::MovedIn(Box::new(Moved {
            participant_id: kept(),
            declarations: vec![(superseded, DeclarationState::Ineligible)],
            outcomes: vec![],
        }))]);
}

#[test]
fn moving_the_same_declarations_in_again_records_nothing() {
    let moved = Moved {
        participant_id: kept(),
        declarations: vec![(declaration(11, kept()), DeclarationState::Submitted)],
        outcomes: vec![],
    };
    Slot::with(())
        .given(vec![DeclarationSlotEvent::MovedIn(Box::new(moved))])
        .when(move_in(vec![(
            declaration(11, retired()),
            DeclarationState::Submitted,
        )]))
        .then_expect_events(vec![]);
}

#[test]
fn a_milestone_moved_in_is_held_against_new_submissions() {
    let mut slot = DeclarationSlot::default();
    cqrs_es::Aggregate::apply(
        &mut slot,
        DeclarationSlotEvent::MovedIn(Box::new(Moved {
            participant_id: kept(),
            declarations: vec![(declaration(11, kept()), DeclarationState::Eligible)],
            outcomes: vec![],
        })),
    );
    assert_eq!(
        slot.live().map(|d| d.id),
        Some(DeclarationId(Uuid::from_u128(11)))
    );
}
