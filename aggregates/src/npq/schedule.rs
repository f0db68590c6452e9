//! The schedule an accepted application starts on, chosen by course, cohort and the day of
//! acceptance.

use chrono::{Datelike, NaiveDate};

use crate::course::{Course, CourseGroup};

/// The identifier of the schedule an application for `course` in `cohort` accepted on `day`
/// starts on; `None` for ECF courses.
///
/// - Leadership and specialist courses start in autumn when accepted from 3 April to 25
///   December (from 1 June in 2022), otherwise in spring.
/// - ASO has one December schedule.
/// - EHCO from the 2022 cohort starts in the quarter of acceptance: November for September
///   to November, December for December to February, March for March to May, June for June
///   to August; earlier cohorts start in June.
pub fn schedule_for(course: Course, cohort: i32, day: NaiveDate) -> Option<&'static str> {
    let autumn = {
        let opens = if day.year() == 2022 { (6, 1) } else { (4, 3) };
        let at = (day.month(), day.day());
        opens <= at && at <= (12, 25)
    };
    Some(match course.npq_group()? {
        CourseGroup::Leadership if autumn => "npq-leadership-autumn",
        CourseGroup::Leadership => "npq-leadership-spring",
        CourseGroup::Specialist if autumn => "npq-specialist-autumn",
        CourseGroup::Specialist => "npq-specialist-spring",
        CourseGroup::Support => "npq-aso-december",
        CourseGroup::Ehco if cohort < 2022 => "npq-ehco-june",
        CourseGroup::Ehco => match day.month() {
            9..=11 => "npq-ehco-november",
            12 | 1 | 2 => "npq-ehco-december",
            3..=5 => "npq-ehco-march",
            _ => "npq-ehco-june",
        },
    })
}
