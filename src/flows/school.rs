//! The school- and DfE-side commands on ECF participants: register at a school, assign a
//! mentor, decide funding eligibility, and transfer (leave one school, join another). The
//! admin API and the CLI both go through here.

use aggregates::course::ParticipantType;
use aggregates::declaration::{DeclarationSlot, DeclarationSlotCommand};
use aggregates::training_record::{
    Placement, Registration, TrainingRecord, TrainingRecordCommand, TrainingRecordError,
};
use aggregates::{ParticipantId, Programme, SchoolId, TrainingRecordId};
use chrono::{DateTime, Utc};
use projections::{declarations, reference};
use uuid::Uuid;

use crate::ledger::{CommandContext, Ledger, LedgerError};

/// The schedule new participants get unless another is named.
pub const DEFAULT_SCHEDULE: &str = "ecf-standard-september";

/// A participant a school registers.
#[derive(Clone, Debug)]
pub struct NewParticipant {
    /// The person's id, when they already have one (e.g. a mentor who is also an ECT).
    pub participant_id: Option<ParticipantId>,
    /// The record's id, when the caller chooses it (seeds do, to stay idempotent).
    pub training_record_id: Option<TrainingRecordId>,
    /// ECT or mentor.
    pub participant_type: ParticipantType,
    /// Full name.
    pub full_name: String,
    /// Email.
    pub email: String,
    /// Teacher reference number.
    pub trn: Option<String>,
    /// Whether the TRN was validated.
    pub trn_validated: bool,
    /// The school's URN.
    pub school_urn: String,
    /// The cohort.
    pub cohort: i32,
    /// The schedule (default: ecf-standard-september).
    pub schedule_identifier: Option<String>,
    /// Funding eligibility, if decided.
    pub eligible_for_funding: Option<bool>,
    /// Pupil premium uplift.
    pub pupil_premium_uplift: bool,
    /// Sparsity uplift.
    pub sparsity_uplift: bool,
    /// The ECT's mentor.
    pub mentor_id: Option<ParticipantId>,
    /// When training starts.
    pub start: DateTime<Utc>,
}

/// Why a school-side command failed.
#[derive(Debug, thiserror::Error)]
pub enum SchoolError {
    /// No school has the URN.
    #[error("No school has the URN {0}")]
    UnknownSchool(String),
    /// The school has no lead provider for the cohort.
    #[error("School {urn} has no partnership with a lead provider for cohort {cohort}")]
    NoPartnership {
        /// The school.
        urn: String,
        /// The cohort.
        cohort: i32,
    },
    /// The schedule does not exist in the cohort.
    #[error("There is no schedule {identifier} in cohort {cohort}")]
    UnknownSchedule {
        /// The schedule.
        identifier: String,
        /// The cohort.
        cohort: i32,
    },
    /// No training record has the id.
    #[error("No training record has the id {0}")]
    UnknownRecord(Uuid),
    /// No participant has the mentor's id.
    #[error("No participant has the id {0}")]
    UnknownMentor(Uuid),
    /// The training record refused the command.
    #[error(transparent)]
    Rejected(#[from] LedgerError<TrainingRecordError>),
    /// A declaration could not be moved on.
    #[error("cannot update a declaration: {0}")]
    Declaration(String),
    /// The read models failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Registers a participant at a school; the school's partnership for the cohort decides the
/// lead provider and delivery partner.
pub async fn register(
    ledger: &Ledger,
    new: NewParticipant,
    context: &CommandContext,
) -> Result<(ParticipantId, TrainingRecordId), SchoolError> {
    let pool = ledger.pool();
    let schedule_identifier = new
        .schedule_identifier
        .unwrap_or_else(|| DEFAULT_SCHEDULE.to_owned());
    if reference::schedule(pool, &schedule_identifier, new.cohort)
        .await?
        .is_none()
    {
        return Err(SchoolError::UnknownSchedule {
            identifier: schedule_identifier,
            cohort: new.cohort,
        });
    }
    let placement = placement(ledger, &new.school_urn, new.cohort, new.start).await?;
    mentor_exists(ledger, new.mentor_id).await?;
    let participant_id = new
        .participant_id
        .unwrap_or_else(|| ParticipantId(Uuid::new_v4()));
    let record = new
        .training_record_id
        .unwrap_or_else(|| TrainingRecordId(Uuid::new_v4()));
    let registration = Registration {
        participant_id,
        participant_type: new.participant_type,
        full_name: new.full_name,
        email: new.email,
        trn: new.trn,
        trn_validated: new.trn_validated,
        eligible_for_funding: new.eligible_for_funding,
        pupil_premium_uplift: new.pupil_premium_uplift,
        sparsity_uplift: new.sparsity_uplift,
        mentor_id: new.mentor_id,
        cohort: new.cohort,
        schedule_identifier,
        placement,
    };
    let command = TrainingRecordCommand::Register(Box::new(registration));
    ledger
        .execute::<TrainingRecord>(&record.to_string(), command, context)
        .await?;
    Ok((participant_id, record))
}

/// A mentor must be someone the ledger knows.
async fn mentor_exists(ledger: &Ledger, mentor: Option<ParticipantId>) -> Result<(), SchoolError> {
    let Some(mentor) = mentor else {
        return Ok(());
    };
    match projections::participants::person_exists(ledger.pool(), mentor.0).await? {
        true => Ok(()),
        false => Err(SchoolError::UnknownMentor(mentor.0)),
    }
}

/// Assigns (or, with `None`, removes) an ECT's mentor.
pub async fn assign_mentor(
    ledger: &Ledger,
    record: TrainingRecordId,
    mentor: Option<ParticipantId>,
    context: &CommandContext,
) -> Result<(), SchoolError> {
    mentor_exists(ledger, mentor).await?;
    let command = TrainingRecordCommand::AssignMentor(mentor);
    ledger
        .execute::<TrainingRecord>(&record.to_string(), command, context)
        .await?;
    Ok(())
}

/// Records a funding eligibility decision. A participant who becomes eligible has every
/// submitted declaration moved to eligible.
pub async fn change_funding_eligibility(
    ledger: &Ledger,
    record: TrainingRecordId,
    eligible: Option<bool>,
    now: DateTime<Utc>,
    context: &CommandContext,
) -> Result<(), SchoolError> {
    let command = TrainingRecordCommand::ChangeFundingEligibility(eligible);
    ledger
        .execute::<TrainingRecord>(&record.to_string(), command, context)
        .await?;
    if eligible == Some(true) {
        let submitted = declarations::submitted_of_record(ledger.pool(), record.0).await?;
        for (slot, declaration_id, provider, cohort) in submitted {
            // The line goes on the statement open when the participant became fundable.
            let statement_id =
                crate::finance::open_statement(ledger, provider, Programme::Ecf, cohort, now)
                    .await?;
            let command = DeclarationSlotCommand::MarkEligible {
                declaration_id,
                statement_id,
            };
            ledger
                .execute::<DeclarationSlot>(&slot, command, context)
                .await
                .map_err(|e| SchoolError::Declaration(e.to_string()))?;
        }
    }
    Ok(())
}

/// Records that the participant leaves the current school on `end`.
pub async fn report_leaving(
    ledger: &Ledger,
    record: TrainingRecordId,
    end: DateTime<Utc>,
    context: &CommandContext,
) -> Result<(), SchoolError> {
    let command = TrainingRecordCommand::ReportLeaving(end);
    ledger
        .execute::<TrainingRecord>(&record.to_string(), command, context)
        .await?;
    Ok(())
}

/// Records that another school takes the participant on from `start`, with that school's
/// lead provider and delivery partner for the participant's cohort.
pub async fn join(
    ledger: &Ledger,
    record: TrainingRecordId,
    school_urn: &str,
    start: DateTime<Utc>,
    context: &CommandContext,
) -> Result<(), SchoolError> {
    let cohort = projections::participants::cohort_of(ledger.pool(), record.0)
        .await?
        .ok_or(SchoolError::UnknownRecord(record.0))?;
    let placement = placement(ledger, school_urn, cohort, start).await?;
    let command = TrainingRecordCommand::Join(placement);
    ledger
        .execute::<TrainingRecord>(&record.to_string(), command, context)
        .await?;
    Ok(())
}

async fn placement(
    ledger: &Ledger,
    urn: &str,
    cohort: i32,
    start: DateTime<Utc>,
) -> Result<Placement, SchoolError> {
    let pool = ledger.pool();
    let (school_id, _) = reference::school_by_urn(pool, urn)
        .await?
        .ok_or_else(|| SchoolError::UnknownSchool(urn.to_owned()))?;
    let (lead_provider_id, delivery_partner_id) =
        reference::partnership_of(pool, school_id, cohort)
            .await?
            .ok_or_else(|| SchoolError::NoPartnership {
                urn: urn.to_owned(),
                cohort,
            })?;
    Ok(Placement {
        school_id: SchoolId(school_id.0),
        school_urn: urn.to_owned(),
        lead_provider_id,
        delivery_partner_id,
        start,
    })
}
