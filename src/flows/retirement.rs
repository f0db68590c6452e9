//! Retiring a duplicate participant id (DfE side): looks up what the retirement rules need,
//! records the retirement, then moves the retired id's declaration slots, training records and
//! NPQ applications to the kept person, one stream at a time.
//!
//! The retirement is recorded first, so from then on every lookup resolves the retired id to
//! the kept person. Then each of the retired id's slots (every milestone of every course it
//! could declare on) is closed and its contents moved into the kept person's slot for the same
//! milestone: that slot alone decides whether a milestone is held, so a declaration sent under
//! the retired id while this runs either reached the old slot before it closed (and moves with
//! it) or is refused by the closed slot and sent again by the submission flow to the kept
//! person's slot. Every step is idempotent: running the same retirement again finishes an
//! interrupted one.

use aggregates::course::{Course, ParticipantType};
use aggregates::declaration::{
    DeclarationRejection, DeclarationSlot, DeclarationSlotCommand, DeclarationSlotEvent, Moved,
    slot_id,
};
use aggregates::npq::{NpqCourse, NpqCourseCommand, NpqError};
use aggregates::reference::DeclarationType;
use aggregates::retirement::{
    Clash, Retirement, RetirementCommand, RetirementError, RetirementFacts,
};
use aggregates::training_record::{TrainingRecord, TrainingRecordCommand, TrainingRecordError};
use aggregates::{DeclarationId, ParticipantId};
use cqrs_es::Aggregate;
use projections::{participants, retirements};
use sqlx::PgPool;

use crate::ledger::{CommandContext, Ledger, LedgerError};

/// What the admin asks for.
#[derive(Clone, Copy, Debug)]
pub struct RetireRequest {
    /// The id to retire.
    pub retired: ParticipantId,
    /// The id to keep.
    pub kept: ParticipantId,
    /// The admin's word that the two are one person (needed when they share no TRN).
    pub confirmed_same_person: bool,
}

/// What moved to the kept person.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetirementSummary {
    /// Training records.
    pub training_records: usize,
    /// NPQ streams holding the retired id's applications.
    pub npq_courses: usize,
    /// Declarations.
    pub declarations: usize,
}

/// Why a retirement did not complete.
#[derive(Debug, thiserror::Error)]
pub enum RetireError {
    /// The retirement rules refused it; nothing was recorded.
    #[error(transparent)]
    Refused(#[from] LedgerError<RetirementError>),
    /// A declaration slot refused a move, or the store failed (run it again to finish).
    #[error(transparent)]
    Slot(#[from] LedgerError<DeclarationRejection>),
    /// A training record refused a move, or the store failed (run it again to finish).
    #[error(transparent)]
    Record(#[from] LedgerError<TrainingRecordError>),
    /// An NPQ stream refused a move, or the store failed (run it again to finish).
    #[error(transparent)]
    Npq(#[from] LedgerError<NpqError>),
    /// The read models failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A stored slot event does not decode.
    #[error("a declaration slot event does not decode: {0}")]
    Decode(#[from] serde_json::Error),
}

/// Retires `request.retired` in favour of `request.kept`.
pub async fn retire_id(
    ledger: &Ledger,
    request: RetireRequest,
    context: &CommandContext,
) -> Result<RetirementSummary, RetireError> {
    let pool = ledger.pool();
    let (retired, kept) = (request.retired, request.kept);
    let facts = facts(pool, request).await?;
    let command = RetirementCommand::Retire(Box::new(facts));
    ledger
        .execute::<Retirement>(&retired.to_string(), command, context)
        .await?;
    let mut summary = RetirementSummary::default();
    for (course, declaration_type) in milestones(pool, retired).await? {
        summary.declarations +=
            move_slot(ledger, request, course, declaration_type, context).await?;
    }
    for record in retirements::records_of(pool, retired.0).await? {
        let command = TrainingRecordCommand::Reassign(kept);
        ledger
            .execute::<TrainingRecord>(&record.to_string(), command, context)
            .await?;
        summary.training_records += 1;
    }
    for stream in retirements::npq_streams_of(pool, retired.0).await? {
        let command = NpqCourseCommand::Reassign {
            from: retired,
            to: kept,
        };
        ledger
            .execute::<NpqCourse>(&stream, command, context)
            .await?;
        summary.npq_courses += 1;
    }
    Ok(summary)
}

/// What the retirement rules need: whether each id names a participant record, whether they
/// share a TRN, and the milestones both hold with a live declaration.
async fn facts(pool: &PgPool, request: RetireRequest) -> Result<RetirementFacts, sqlx::Error> {
    let (retired, kept) = (request.retired.0, request.kept.0);
    let retired_trns = retirements::trns_of(pool, retired).await?;
    let kept_trns = retirements::trns_of(pool, kept).await?;
    let clashes = retirements::clashes(pool, retired, kept).await?;
    Ok(RetirementFacts {
        retired_id: request.retired,
        kept_id: request.kept,
        retired_known: has_records(pool, retired).await?,
        kept_known: has_records(pool, kept).await?,
        kept_retired_into: retirements::kept_for(pool, kept).await?.map(ParticipantId),
        same_trn: retired_trns.iter().any(|trn| kept_trns.contains(trn)),
        confirmed_same_person: request.confirmed_same_person,
        clashes: clashes
            .into_iter()
            .map(|c| Clash {
                course: c.course_identifier,
                declaration_type: c.declaration_type,
                retired_declaration: DeclarationId(c.retired_declaration),
                kept_declaration: DeclarationId(c.kept_declaration),
            })
            .collect(),
    })
}

/// Whether an id names a participant record: a training record or an NPQ application.
async fn has_records(pool: &PgPool, id: uuid::Uuid) -> Result<bool, sqlx::Error> {
    let kinds = participants::profile_kinds(pool, id).await?;
    Ok(kinds.iter().any(|kind| kind != "person"))
}

/// Every milestone the retired id holds or could be sent: each type of each course it has
/// declarations, a training record or an enrolment on.
async fn milestones(
    pool: &PgPool,
    retired: ParticipantId,
) -> Result<Vec<(Course, DeclarationType)>, sqlx::Error> {
    let kinds = participants::profile_kinds(pool, retired.0).await?;
    let mut courses: Vec<Course> = retirements::courses_of(pool, retired.0)
        .await?
        .iter()
        .filter_map(|c| Course::parse(c))
        .collect();
    courses.extend(
        [ParticipantType::Ect, ParticipantType::Mentor]
            .into_iter()
            .filter(|t| kinds.iter().any(|k| k == t.as_str()))
            .map(ParticipantType::course),
    );
    courses.sort_by_key(|c| c.as_str());
    courses.dedup();
    Ok(courses
        .into_iter()
        .flat_map(|c| DeclarationType::ALL.map(|t| (c, t)))
        .collect())
}

/// Closes the retired id's slot for one milestone and moves what it held into the kept
/// person's slot; answers how many declarations moved.
async fn move_slot(
    ledger: &Ledger,
    request: RetireRequest,
    course: Course,
    declaration_type: DeclarationType,
    context: &CommandContext,
) -> Result<usize, RetireError> {
    let slot = |person: ParticipantId| {
        slot_id(
            &person.to_string(),
            course.as_str(),
            declaration_type.as_str(),
        )
    };
    let from = slot(request.retired);
    let close = DeclarationSlotCommand::MoveOut { to: request.kept };
    ledger
        .submit::<DeclarationSlot>(&from, close, context)
        .await?;
    let events =
        projections::event::of_aggregate(ledger.pool(), DeclarationSlot::TYPE, &from).await?;
    let mut closed = DeclarationSlot::default();
    for event in &events {
        closed.apply(event.decode::<DeclarationSlotEvent>()?);
    }
    if closed.declarations().is_empty() && closed.outcomes().is_empty() {
        return Ok(0);
    }
    let moved = Moved {
        participant_id: request.kept,
        declarations: closed.declarations().to_vec(),
        outcomes: closed.outcomes().to_vec(),
    };
    let count = moved.declarations.len();
    let command = DeclarationSlotCommand::MoveIn(Box::new(moved));
    ledger
        .execute::<DeclarationSlot>(&slot(request.kept), command, context)
        .await?;
    Ok(count)
}
