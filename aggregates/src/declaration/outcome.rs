//! NPQ outcomes: whether a participant passed the course, recorded on the provider's latest
//! `completed` declaration. Outcomes are only ever appended; the latest one counts.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{DeclarationError as E, DeclarationRejection, DeclarationSlot, DeclarationState};
use crate::bounds;
use crate::course::Course;
use crate::ids::{DeclarationId, LeadProviderId, ParticipantId};
use crate::reference::DeclarationType;

/// An outcome's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeState {
    /// Passed.
    Passed,
    /// Failed.
    Failed,
    /// Its declaration was voided.
    Voided,
}

impl OutcomeState {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Voided => "voided",
        }
    }

    /// What `has_passed` shows for it.
    pub fn has_passed(self) -> Option<bool> {
        match self {
            Self::Passed => Some(true),
            Self::Failed => Some(false),
            Self::Voided => None,
        }
    }
}

/// One recorded outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Its id.
    pub id: Uuid,
    /// The `completed` declaration it belongs to.
    pub declaration_id: DeclarationId,
    /// The person.
    pub participant_id: ParticipantId,
    /// The provider that declared.
    pub lead_provider_id: LeadProviderId,
    /// The course.
    pub course: Course,
    /// Passed, failed or voided.
    pub state: OutcomeState,
    /// When the participant completed.
    pub completion_date: NaiveDate,
}

/// A provider's outcome request, as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutcomeRequest {
    /// The provider.
    pub lead_provider_id: LeadProviderId,
    /// Whether the participant and course were recognised (an NPQ course with outcomes).
    pub course_recognised: bool,
    /// No `course_identifier` was sent.
    pub course_missing: bool,
    /// `state`.
    pub state: Option<String>,
    /// `completion_date`.
    pub completion_date: Option<String>,
    /// The server's today.
    pub now: DateTime<Utc>,
}

/// Checks a later outcome. `Ok(None)` repeats the latest outcome, which records nothing.
pub(super) fn record(
    slot: &DeclarationSlot,
    request: &OutcomeRequest,
) -> Result<Option<Outcome>, DeclarationRejection> {
    let mut errors = Vec::new();
    if !request.course_recognised {
        errors.push(E::CourseNotRecognised);
    }
    if request.course_missing {
        errors.push(E::MissingCourse);
    }
    let state = match request.state.as_deref().map(str::trim) {
        None | Some("") => Err(E::MissingOutcomeState),
        Some("passed") => Ok(OutcomeState::Passed),
        Some("failed") => Ok(OutcomeState::Failed),
        Some(_) => Err(E::InvalidOutcomeState),
    };
    let date = match request.completion_date.as_deref().map(str::trim) {
        None | Some("") => Err(E::MissingCompletionDate),
        Some(text) => parse_completion_date(text).ok_or(E::InvalidCompletionDate),
    };
    let (state, date) = match (state, date) {
        (Ok(state), Ok(date)) if errors.is_empty() => (state, date),
        (state, date) => {
            errors.extend(state.err());
            errors.extend(date.err());
            return Err(DeclarationRejection(errors));
        }
    };
    let declaration = slot
        .declarations
        .iter()
        .rev()
        .find(|(d, state)| {
            d.lead_provider_id == request.lead_provider_id
                && d.declaration_type == DeclarationType::Completed
                && !matches!(
                    state,
                    DeclarationState::Voided | DeclarationState::ClawedBack
                )
        })
        .map(|(d, _)| d)
        .ok_or(E::NoCompletedDeclaration)?;
    bounds::day("completion_date", date)?;
    if date > request.now.date_naive() {
        return Err(E::FutureCompletionDate.into());
    }
    let latest = slot
        .outcomes
        .iter()
        .rev()
        .find(|o| o.declaration_id == declaration.id);
    if latest.is_some_and(|o| o.state == state && o.completion_date == date) {
        return Ok(None);
    }
    Ok(Some(slot.outcome_of(declaration, state, date)))
}

/// `yyyy-mm-dd`, exactly.
fn parse_completion_date(text: &str) -> Option<NaiveDate> {
    let well_formed = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            matches!(i, 4 | 7) == (b == b'-') && (matches!(i, 4 | 7) || b.is_ascii_digit())
        });
    well_formed
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
}
