//! The bounds an NPQ command's values must meet before anything is decided.

use super::{Application, EnrolmentAction, NpqCourseCommand};
use crate::bounds::{self, Invalid};

impl NpqCourseCommand {
    /// Refuses dates, cohorts and text that a read model could not store or a view render.
    pub fn check_bounds(&self) -> Result<(), Invalid> {
        match self {
            Self::Apply(application) => check_application(application),
            Self::Accept(acceptance) => bounds::instant("at", acceptance.at),
            Self::Reject { at, .. } => bounds::instant("at", *at),
            Self::Reassign { .. } => Ok(()),
            Self::Change(change) => {
                bounds::instant("at", change.at)?;
                match &change.action {
                    EnrolmentAction::Defer { reason, .. }
                    | EnrolmentAction::Withdraw { reason, .. } => bounds::text("reason", reason),
                    EnrolmentAction::Resume => Ok(()),
                    EnrolmentAction::ChangeSchedule { cohort, .. } => {
                        bounds::cohort("cohort", *cohort)
                    }
                }
            }
        }
    }
}

fn check_application(application: &Application) -> Result<(), Invalid> {
    bounds::text("full_name", &application.full_name)?;
    bounds::text("email", &application.email)?;
    bounds::cohort("cohort", application.cohort)?;
    let optional = [
        ("teacher_reference_number", &application.trn),
        ("employer_name", &application.employer_name),
        ("employment_role", &application.employment_role),
        ("school_urn", &application.school_urn),
        ("school_ukprn", &application.school_ukprn),
        (
            "private_childcare_provider_urn",
            &application.private_childcare_provider_urn,
        ),
        ("headteacher_status", &application.headteacher_status),
        ("funding_choice", &application.funding_choice),
        ("teacher_catchment", &application.teacher_catchment),
        (
            "teacher_catchment_country",
            &application.teacher_catchment_country,
        ),
        (
            "teacher_catchment_iso_country_code",
            &application.teacher_catchment_iso_country_code,
        ),
        ("itt_provider", &application.itt_provider),
    ];
    for (attribute, value) in optional {
        bounds::optional_text(attribute, value.as_deref())?;
    }
    Ok(())
}
