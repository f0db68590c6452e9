//! `participant`: the school- and DfE-side commands on ECF participants (register, assign a
//! mentor, funding eligibility, transfers, retiring a duplicate id).

use aggregates::course::ParticipantType;
use aggregates::{ParticipantId, TrainingRecordId};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;
use uuid::Uuid;

use crate::flows::retirement::{self, RetireRequest};
use crate::flows::school::{self, NewParticipant};
use crate::ledger::{Actor, CommandContext, Ledger};

/// School- and DfE-side commands on ECF participants.
#[derive(Debug, Subcommand)]
pub enum ParticipantCommand {
    /// Register a participant at a school; the school's partnership for the cohort decides
    /// the lead provider. Prints the participant id and the training record id.
    Register {
        /// The school's URN.
        #[arg(long)]
        school_urn: String,
        /// The cohort (start year).
        #[arg(long)]
        cohort: i32,
        /// `ect` or `mentor`.
        #[arg(long = "type", value_parser = ["ect", "mentor"])]
        participant_type: String,
        /// Full name.
        #[arg(long)]
        full_name: String,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Teacher reference number (taken as validated).
        #[arg(long)]
        trn: Option<String>,
        /// An existing person's id, to give them a second record (an ECT who is also a mentor).
        #[arg(long)]
        participant_id: Option<Uuid>,
        /// The schedule (default ecf-standard-september).
        #[arg(long)]
        schedule: Option<String>,
        /// Funding eligibility: `true` or `false`; omit while undecided.
        #[arg(long)]
        eligible: Option<bool>,
        /// Pupil premium uplift.
        #[arg(long)]
        pupil_premium: bool,
        /// Sparsity uplift.
        #[arg(long)]
        sparsity: bool,
        /// The ECT's mentor (a participant id).
        #[arg(long)]
        mentor_id: Option<Uuid>,
        /// When training starts (YYYY-MM-DD; default today).
        #[arg(long)]
        start: Option<NaiveDate>,
    },
    /// Assign an ECT's mentor (omit --mentor-id to remove it).
    Mentor {
        /// The ECT's training record id.
        record: Uuid,
        /// The mentor's participant id.
        #[arg(long)]
        mentor_id: Option<Uuid>,
    },
    /// Decide funding eligibility; becoming eligible moves submitted declarations to eligible.
    Eligibility {
        /// The training record id.
        record: Uuid,
        /// `true`, `false` or `unknown`.
        #[arg(long, value_parser = ["true", "false", "unknown"])]
        eligible: String,
    },
    /// Report the day a participant leaves their school.
    Leave {
        /// The training record id.
        record: Uuid,
        /// The leaving day (YYYY-MM-DD).
        #[arg(long)]
        date: NaiveDate,
    },
    /// Record another school taking the participant on (a transfer).
    Join {
        /// The training record id.
        record: Uuid,
        /// The new school's URN.
        #[arg(long)]
        school_urn: String,
        /// The first day at the new school (YYYY-MM-DD).
        #[arg(long)]
        date: NaiveDate,
    },
    /// Retire a duplicate participant id: its records, declarations, outcomes and NPQ
    /// applications move to the id kept, which the retired id names from then on.
    RetireId {
        /// The participant id to retire.
        #[arg(long)]
        retire: Uuid,
        /// The participant id to keep.
        #[arg(long)]
        keep: Uuid,
        /// The two are one person although they share no TRN.
        #[arg(long)]
        same_person: bool,
    },
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(Default::default()).and_utc()
}

/// Runs a participant command as the CLI's administrator.
pub async fn participant(ledger: &Ledger, command: ParticipantCommand) -> anyhow::Result<()> {
    // The sandbox clock recorded in the database, if it is a sandbox.
    let now = crate::sandbox::now(ledger.pool()).await?;
    let context = CommandContext::of(Actor::Admin(None));
    match command {
        ParticipantCommand::Register {
            school_urn,
            cohort,
            participant_type,
            full_name,
            email,
            trn,
            participant_id,
            schedule,
            eligible,
            pupil_premium,
            sparsity,
            mentor_id,
            start,
        } => {
            let new = NewParticipant {
                participant_id: participant_id.map(ParticipantId),
                training_record_id: None,
                participant_type: if participant_type == "mentor" {
                    ParticipantType::Mentor
                } else {
                    ParticipantType::Ect
                },
                full_name,
                email,
                trn_validated: trn.is_some(),
                trn,
                school_urn,
                cohort,
                schedule_identifier: schedule,
                eligible_for_funding: eligible,
                pupil_premium_uplift: pupil_premium,
                sparsity_uplift: sparsity,
                mentor_id: mentor_id.map(ParticipantId),
                start: start.map_or(now, midnight),
            };
            let (participant, record) = school::register(ledger, new, &context).await?;
            println!("participant_id     {participant}");
            println!("training_record_id {record}");
        }
        ParticipantCommand::Mentor { record, mentor_id } => {
            school::assign_mentor(
                ledger,
                TrainingRecordId(record),
                mentor_id.map(ParticipantId),
                &context,
            )
            .await?;
            println!("mentor recorded for {record}");
        }
        ParticipantCommand::Eligibility { record, eligible } => {
            let eligible = eligible.parse::<bool>().ok();
            school::change_funding_eligibility(
                ledger,
                TrainingRecordId(record),
                eligible,
                now,
                &context,
            )
            .await?;
            println!("funding eligibility recorded for {record}");
        }
        ParticipantCommand::Leave { record, date } => {
            school::report_leaving(ledger, TrainingRecordId(record), midnight(date), &context)
                .await?;
            println!("{record} leaves on {date}");
        }
        ParticipantCommand::Join {
            record,
            school_urn,
            date,
        } => {
            school::join(
                ledger,
                TrainingRecordId(record),
                &school_urn,
                midnight(date),
                &context,
            )
            .await?;
            println!("{record} joins {school_urn} on {date}");
        }
        ParticipantCommand::RetireId {
            retire,
            keep,
            same_person,
        } => {
            let request = RetireRequest {
                retired: ParticipantId(retire),
                kept: ParticipantId(keep),
                confirmed_same_person: same_person,
            };
            let moved = retirement::retire_id(ledger, request, &context).await?;
            println!("{retire} retired in favour of {keep}");
            println!("training records moved {}", moved.training_records);
            println!("npq courses moved      {}", moved.npq_courses);
            println!("declarations moved     {}", moved.declarations);
        }
    }
    Ok(())
}
