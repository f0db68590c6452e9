//! A provider's actions on a participant's training (defer, resume, withdraw, change of
//! schedule): what it asks for, and for ECF the flow that finds the training record, looks up
//! the facts a change of schedule needs and runs the command. NPQ's flow is
//! [`crate::flows::npq::change_enrolment`].

use aggregates::LeadProviderId;
use aggregates::course::Course;
use aggregates::training_record::{
    ScheduleChange, Stint, TrainingRecord, TrainingRecordCommand, TrainingRecordError,
};
use chrono::{DateTime, Utc};
use projections::reference;
use uuid::Uuid;

use crate::ledger::{CommandContext, Ledger, LedgerError, Visibility};
use crate::lookup;

/// What a provider asks of a participant's training on a course, before the facts are looked
/// up (ECF and NPQ alike).
#[derive(Clone, Debug)]
pub enum TrainingRequest {
    /// Defer for a reason.
    Defer(String),
    /// Resume.
    Resume,
    /// Withdraw for a reason.
    Withdraw(String),
    /// Move to a schedule of a cohort (`None`: not a year).
    ChangeSchedule {
        /// The schedule asked for.
        identifier: String,
        /// Its cohort.
        cohort: Option<i32>,
    },
}

/// Why an ECF training action failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainingFlowError {
    /// The training record refused it, or the store failed.
    #[error(transparent)]
    Rejected(#[from] LedgerError<TrainingRecordError>),
    /// The read models failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The participant has no training record for the course.
    #[error("the participant has no training record for the course")]
    NotRecognised,
}

/// The training record an action changed.
#[derive(Debug)]
pub struct TrainingChanged {
    /// The record acted on.
    pub record: Uuid,
    /// The provider's latest stint on it as the committed events leave it, when the read
    /// model does not show the write yet.
    pub committed: Option<Stint>,
}

/// The provider defers, resumes, withdraws or moves a participant's ECF training on a course.
pub async fn change_training(
    ledger: &Ledger,
    provider: LeadProviderId,
    participant: &str,
    course: Course,
    request: TrainingRequest,
    now: DateTime<Utc>,
    context: &CommandContext,
) -> Result<TrainingChanged, TrainingFlowError> {
    let pool = ledger.pool();
    let record = lookup::training_record(pool, participant, course)
        .await?
        .ok_or(TrainingFlowError::NotRecognised)?
        .training_record_id;
    let command = match request {
        TrainingRequest::Defer(reason) => TrainingRecordCommand::Defer {
            lead_provider_id: provider,
            reason,
            at: now,
        },
        TrainingRequest::Resume => TrainingRecordCommand::Resume {
            lead_provider_id: provider,
            at: now,
        },
        TrainingRequest::Withdraw(reason) => TrainingRecordCommand::Withdraw {
            lead_provider_id: provider,
            reason,
            at: now,
        },
        TrainingRequest::ChangeSchedule { identifier, cohort } => {
            let target = match cohort {
                Some(cohort) => reference::schedule(pool, &identifier, cohort).await?,
                None => None,
            };
            TrainingRecordCommand::ChangeSchedule(Box::new(ScheduleChange {
                lead_provider_id: provider,
                course,
                target,
                cohort: cohort.unwrap_or_default(),
                live_declarations: lookup::live_declarations(pool, record).await?,
                at: now,
            }))
        }
    };
    let record_id = record.to_string();
    let visibility = ledger
        .execute::<TrainingRecord>(&record_id, command, context)
        .await?;
    let committed = match visibility {
        Visibility::Shown => None,
        Visibility::Behind => ledger
            .committed::<TrainingRecord>(&record_id)
            .await?
            .latest_stint_of(provider)
            .cloned(),
    };
    Ok(TrainingChanged { record, committed })
}
