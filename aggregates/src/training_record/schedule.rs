//! Changing a training record's schedule.

use chrono::{DateTime, Utc};

use super::{
    Registration, ScheduleChange, TrainingRecord, TrainingRecordError, TrainingRecordEvent,
};
use crate::course::{Course, CourseGroup, TrainingStatus};
use crate::reference::{DeclarationType, Schedule, ScheduleType};

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
        if !declarations_fit(&target, &change.live_declarations) {
            return Err(E::WouldInvalidateDeclarations);
        }
        Ok(vec![TrainingRecordEvent::ScheduleChanged {
            lead_provider_id: change.lead_provider_id,
            schedule_identifier: target.identifier,
            at: change.at,
        }])
    }
}

/// Whether every live declaration (type and date) still falls in a milestone of `target`:
/// after the milestone's start day begins and before its end day is over.
pub fn declarations_fit(target: &Schedule, live: &[(DeclarationType, DateTime<Utc>)]) -> bool {
    live.iter().all(|(declaration_type, date)| {
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
                // Strict here, inclusive on submit (docs/api.md, ECF rules: Change of schedule).
                *date > start && before_end
            })
    })
}

/// Whether a schedule of this type may train this course.
pub fn schedule_permits(schedule_type: ScheduleType, course: Course) -> bool {
    let group = course.npq_group();
    match schedule_type {
        ScheduleType::EcfStandard | ScheduleType::EcfReduced | ScheduleType::EcfExtended => {
            group.is_none()
        }
        ScheduleType::EcfReplacement => course == Course::EcfMentor,
        ScheduleType::NpqLeadership => group == Some(CourseGroup::Leadership),
        ScheduleType::NpqSpecialist => group == Some(CourseGroup::Specialist),
        ScheduleType::NpqAso => group == Some(CourseGroup::Support),
        ScheduleType::NpqEhco => group == Some(CourseGroup::Ehco),
    }
}
