//! Changing a training record's schedule.

use chrono::{DateTime, Utc};

use super::{
    Registration, ScheduleChange, TrainingRecord, TrainingRecordError, TrainingRecordEvent,
};
use crate::course::{Course, TrainingStatus};
use crate::reference::{DeclarationType, ScheduleType};

impl TrainingRecord {
    pub(super) fn change_schedule(
        &self,
        registration: &Registration,
        change: ScheduleChange,
    ) -> Result<Vec<TrainingRecordEvent>, TrainingRecordError> {
        use TrainingRecordError as E;
        if self.status_of(change.lead_provider_id)? == TrainingStatus::Withdrawn {
            return Err(E::WithdrawnCannotChangeSchedule);
        }
        let target = change.target.ok_or(E::UnknownSchedule)?;
        if change.cohort != registration.cohort {
            return Err(E::CohortCannotChange);
        }
        if target.identifier == registration.schedule_identifier {
            return Err(E::SameSchedule);
        }
        if !schedule_permits(target.schedule_type, change.course) {
            return Err(E::ScheduleNotForCourse);
        }
        let fits = |(declaration_type, date): &(DeclarationType, DateTime<Utc>)| {
            target
                .milestones
                .iter()
                .find(|m| m.declaration_type == *declaration_type)
                .is_some_and(|milestone| {
                    let start = milestone.start_date.and_time(Default::default()).and_utc();
                    let before_end = milestone.milestone_date.is_none_or(|end| {
                        *date
                            < (end + chrono::Days::new(1))
                                .and_time(Default::default())
                                .and_utc()
                    });
                    *date > start && before_end
                })
        };
        if !change.live_declarations.iter().all(fits) {
            return Err(E::WouldInvalidateDeclarations);
        }
        Ok(vec![TrainingRecordEvent::ScheduleChanged {
            lead_provider_id: change.lead_provider_id,
            schedule_identifier: target.identifier,
            at: change.at,
        }])
    }
}

/// Whether a schedule of this type may train this course.
pub fn schedule_permits(schedule_type: ScheduleType, course: Course) -> bool {
    match schedule_type {
        ScheduleType::EcfStandard | ScheduleType::EcfReduced | ScheduleType::EcfExtended => true,
        ScheduleType::EcfReplacement => course == Course::EcfMentor,
        _ => false,
    }
}
