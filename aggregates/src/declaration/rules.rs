//! The submission rules, checked in the order the API reports them: first the participant and
//! the required fields together; then, stopping at the first that fails, a course that is not
//! the person's (after the date), the withdrawal, the date, the evidence, the schedule, the
//! milestone's holder and the provider.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, Utc};

use super::{
    Declaration, DeclarationError as E, DeclarationRejection, DeclarationSlot, DeclarationState,
    Resolution, Submission,
};
use crate::bounds;
use crate::course::EVIDENCE_TYPES;
use crate::reference::DeclarationType;

/// Checks a submission against the slot. `Ok(None)` is an exact resend of the provider's live
/// declaration, which records nothing.
pub(super) fn check(
    slot: &DeclarationSlot,
    submission: &Submission,
) -> Result<Option<Declaration>, DeclarationRejection> {
    let request = &submission.request;
    bounds::instant("at", submission.now)?;
    bounds::optional_text("evidence_held", request.evidence_held.as_deref())?;
    let mut errors = Vec::new();
    if submission.resolution == Resolution::UnknownParticipant {
        errors.push(E::ParticipantNotRecognised);
    }
    let date_text = present(&request.declaration_date);
    let type_text = present(&request.declaration_type);
    if date_text.is_none() {
        errors.push(E::MissingDate);
    }
    if type_text.is_none() {
        errors.push(E::MissingType);
    }
    let (Some(date_text), Some(type_text), true) = (date_text, type_text, errors.is_empty()) else {
        return Err(DeclarationRejection(errors));
    };
    let Resolution::Found(facts) = &submission.resolution else {
        return Err(course_not_theirs(date_text, submission.now));
    };

    let date = parse_declaration_date(date_text);
    if let (Some(withdrawn), Some(date)) = (facts.withdrawn_at, date)
        && withdrawn <= date
    {
        let at = withdrawn.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        return Err(E::WithdrawnBefore(at).into());
    }
    let date = date.ok_or(E::InvalidDate)?;
    bounds::instant("declaration_date", date)?;
    if date > submission.now {
        return Err(E::FutureDate.into());
    }
    let declaration_type = DeclarationType::parse(type_text);
    let milestone = declaration_type.and_then(|t| {
        facts
            .schedule
            .milestones
            .iter()
            .find(|m| m.declaration_type == t)
    });
    if let Some(milestone) = milestone {
        // The start day is inclusive here, strict on change of schedule (docs/api.md, ECF rules:
        // Declarations and Change of schedule).
        if date < start_of(milestone.start_date) {
            return Err(E::BeforeMilestoneStart.into());
        }
        if let Some(end) = milestone.milestone_date
            && date >= start_of(end + Days::new(1))
        {
            return Err(E::AfterMilestoneEnd.into());
        }
    }
    let npq = facts.course.npq_group().is_some();
    let evidence_held = present(&request.evidence_held)
        .filter(|_| !npq)
        .map(str::to_owned);
    if !npq && declaration_type != Some(DeclarationType::Started) {
        match &evidence_held {
            None => return Err(E::MissingEvidence.into()),
            Some(evidence) if !EVIDENCE_TYPES.contains(&evidence.as_str()) => {
                return Err(E::InvalidEvidence.into());
            }
            Some(_) => {}
        }
    }
    let has_passed =
        match facts.course.has_outcomes() && declaration_type == Some(DeclarationType::Completed) {
            false => None,
            true => match present(&request.has_passed) {
                Some("true") => Some(true),
                Some("false") => Some(false),
                _ => return Err(E::MissingHasPassed.into()),
            },
        };
    let (Some(declaration_type), Some(_)) = (declaration_type, milestone) else {
        return Err(E::TypeNotInSchedule.into());
    };
    if let Some(live) = slot.live() {
        let resend = live.lead_provider_id == submission.lead_provider_id
            && live.declaration_date == date
            && live.evidence_held == evidence_held
            && live.has_passed == has_passed;
        return if resend {
            Ok(None)
        } else {
            Err(E::Duplicate.into())
        };
    }
    if !facts.trained_on_schedule {
        return Err(E::ParticipantNotRecognised.into());
    }

    let state = match (facts.held_under_same_trn, facts.eligible_for_funding) {
        (Some(_), _) => DeclarationState::Ineligible,
        (None, true) => DeclarationState::Eligible,
        (None, false) => DeclarationState::Submitted,
    };
    Ok(Some(Declaration {
        id: submission.declaration_id,
        participant_id: facts.participant_id,
        training_record_id: facts.training_record_id,
        lead_provider_id: submission.lead_provider_id,
        course: facts.course,
        declaration_type,
        declaration_date: date,
        evidence_held,
        state,
        superseded_by: facts.held_under_same_trn,
        delivery_partner_id: facts.delivery_partner_id,
        mentor_id: facts.mentor_id,
        pupil_premium_uplift: facts.pupil_premium_uplift,
        sparsity_uplift: facts.sparsity_uplift,
        cohort: facts.cohort,
        statement_id: submission
            .statement
            .filter(|_| state != DeclarationState::Submitted),
        clawback_statement_id: None,
        targeted_delivery_funding: facts.targeted_delivery_funding,
        has_passed,
    }))
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(Default::default()).and_utc()
}

/// Parses `YYYY-MM-DDThh:mm:ss[.f][Z|±hh[:]mm]`; without a zone the time is UTC. A date alone
/// is refused, as the API refuses it.
pub fn parse_declaration_date(text: &str) -> Option<DateTime<Utc>> {
    let zoned = ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z"];
    if let Some(at) = zoned
        .iter()
        .find_map(|f| DateTime::parse_from_str(text, f).ok())
    {
        return Some(at.with_timezone(&Utc));
    }
    let naive = text.strip_suffix('Z').unwrap_or(text);
    NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|at| at.and_utc())
}

/// A known person named with a course that is not theirs: the date is checked first, as the
/// real service checks the course only once everything else passed.
fn course_not_theirs(date_text: &str, now: DateTime<Utc>) -> DeclarationRejection {
    match parse_declaration_date(date_text) {
        None => E::InvalidDate.into(),
        Some(date) if date > now => E::FutureDate.into(),
        Some(_) => E::CourseNotRecognised.into(),
    }
}
