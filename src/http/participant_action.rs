//! What the provider's participant actions (ECF and NPQ defer, resume, withdraw, change
//! schedule) share: the request extractor, the body and its checks in the API's terms.

use aggregates::course::Course;
use aggregates::{COURSE_NOT_RECOGNISED, PARTICIPANT_NOT_RECOGNISED};
use axum::extract::{FromRequest, FromRequestParts, Request};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::AppState;
use crate::clock::current_cohort;
use crate::flows::training::TrainingRequest;
use crate::http::error::grouped;
use crate::http::extract::{Path, lenient_text};
use crate::http::{ApiError, ApiVersion, ErrorEntry, JsonApiBody, Now};
use crate::lookup;

const MISSING_COURSE: &str = "Enter a '#/course_identifier' value for this participant.";

const MISSING_SCHEDULE: &str =
    "The property '#/schedule_identifier' must be present and correspond to a valid schedule";

/// Which action a request asks for, with what its body must hold beside the course.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ActionKind {
    /// A reason from the list, always checked.
    Defer(&'static [&'static str]),
    /// The course alone.
    Resume,
    /// A reason from the list, checked once the person and course are recognised.
    Withdraw(&'static [&'static str]),
    /// A schedule identifier, and a cohort (the current one when none is given).
    ChangeSchedule,
}

/// The four action handlers of a programme (`defer`, `resume`, `withdraw`,
/// `change_schedule`): each takes a [`ParticipantAction`] checked for `$capability` and runs
/// the module's `act` with its [`ActionKind`]; `$withdrawal` lists the programme's withdrawal
/// reasons.
macro_rules! action_handlers {
    ($capability:ty, $answer:ty, $withdrawal:expr) => {
        crate::http::participant_action::action_handlers!(@each $capability, $answer;
            /// Defers the participant's training.
            defer => Defer(aggregates::course::DEFERRAL_REASONS),
            /// Resumes the participant's training.
            resume => Resume,
            /// Withdraws the participant.
            withdraw => Withdraw($withdrawal),
            /// Moves the participant to another schedule (NPQ: and, while nothing is
            /// declared, cohort).
            change_schedule => ChangeSchedule,
        );
    };
    (@each $capability:ty, $answer:ty; $($(#[$doc:meta])* $name:ident => $kind:ident $(($reasons:expr))?,)*) => {$(
        $(#[$doc])*
        pub(crate) async fn $name(
            axum::extract::State(app): axum::extract::State<crate::AppState>,
            action: crate::http::participant_action::ParticipantAction<$capability>,
        ) -> $answer {
            let kind = crate::http::participant_action::ActionKind::$kind $(($reasons))?;
            act(&app, action, kind).await
        }
    )*};
}

pub(crate) use action_handlers;

/// A participant action as a provider sends it: the provider (`C` checks its capability
/// first, before the body is read), the API version, the request's time, the participant id
/// in the path and the body.
#[derive(Debug)]
pub(crate) struct ParticipantAction<C> {
    /// The caller.
    pub(crate) provider: C,
    /// The version of the path.
    pub(crate) version: ApiVersion,
    /// When the request runs.
    pub(crate) now: DateTime<Utc>,
    /// The participant id, as sent.
    pub(crate) id: String,
    /// The action's attributes.
    pub(crate) body: ActionBody,
}

impl<C> FromRequest<AppState> for ParticipantAction<C>
where
    C: FromRequestParts<AppState, Rejection = ApiError> + Send,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let provider = C::from_request_parts(&mut parts, state).await?;
        let version = ApiVersion::from_request_parts(&mut parts, state).await?;
        let Now(now) = Now::from_request_parts(&mut parts, state).await?;
        let Path(id) = Path::<String>::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let JsonApiBody(body) = JsonApiBody::from_request(request, state).await?;
        Ok(Self {
            provider,
            version,
            now,
            id,
            body,
        })
    }
}

impl<C> ParticipantAction<C> {
    /// The same request, with the provider's capability checked as `D`.
    pub(crate) fn with<D>(self, provider: D) -> ParticipantAction<D> {
        ParticipantAction {
            provider,
            version: self.version,
            now: self.now,
            id: self.id,
            body: self.body,
        }
    }

    /// The course and what the provider asks, checked in the API's terms and order.
    pub(crate) async fn request(
        &self,
        pool: &sqlx::PgPool,
        kind: ActionKind,
    ) -> Result<(Course, TrainingRequest), ApiError> {
        let (course, reason) = self.body.checked(pool, &self.id, kind).await?;
        let request = match kind {
            ActionKind::Defer(_) => TrainingRequest::Defer(reason),
            ActionKind::Resume => TrainingRequest::Resume,
            ActionKind::Withdraw(_) => TrainingRequest::Withdraw(reason),
            ActionKind::ChangeSchedule => {
                let (identifier, cohort) = self.body.schedule_target(self.now);
                TrainingRequest::ChangeSchedule { identifier, cohort }
            }
        };
        Ok((course, request))
    }
}

/// The attributes of an action body (ECF and NPQ).
#[derive(Debug, Deserialize)]
pub(crate) struct ActionBody {
    #[serde(default, deserialize_with = "lenient_text")]
    course_identifier: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    reason: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    schedule_identifier: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    cohort: Option<String>,
}

impl ActionBody {
    /// Whether the body names an NPQ course (v1's deprecated paths serve both programmes).
    pub(crate) fn is_npq(&self) -> bool {
        self.course_identifier
            .as_deref()
            .and_then(|course| Course::parse(course.trim()))
            .is_some_and(|course| course.npq_group().is_some())
    }

    /// The course and reason, checked in the API's terms and order: an id nobody knows, then
    /// a course that is not the person's and a missing course (both messages when the course
    /// is missing), then the reason or schedule that `kind` asks for.
    async fn checked(
        &self,
        pool: &sqlx::PgPool,
        participant: &str,
        kind: ActionKind,
    ) -> Result<(Course, String), ApiError> {
        let course_text = self
            .course_identifier
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let reason = self
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        let profiles = lookup::profiles(pool, participant).await?;
        let course = course_text.and_then(Course::parse);
        let mut errors = Vec::new();
        match (profiles, course) {
            (None, _) => errors.push(("participant_id", PARTICIPANT_NOT_RECOGNISED)),
            (Some(profiles), Some(course)) if profiles.cover(course) => {}
            (Some(_), _) => errors.push(("course_identifier", COURSE_NOT_RECOGNISED)),
        }
        if course_text.is_none() {
            errors.push(("course_identifier", MISSING_COURSE));
        }
        let reasons = match kind {
            ActionKind::Defer(reasons) => Some(reasons),
            ActionKind::Withdraw(reasons) if errors.is_empty() => Some(reasons),
            _ => None,
        };
        if let Some(reasons) = reasons
            && !reason.is_some_and(|r| reasons.contains(&r))
        {
            if reason.is_none() {
                errors.push(("reason", "The property '#/reason' must be present"));
            }
            errors.push(("reason", "The property '#/reason' must be a valid reason"));
        }
        if matches!(kind, ActionKind::ChangeSchedule) && self.schedule_identifier().is_none() {
            errors.push(("schedule_identifier", MISSING_SCHEDULE));
        }
        match course.filter(|_| errors.is_empty()) {
            Some(course) => Ok((course, reason.unwrap_or_default().to_owned())),
            None => Err(ApiError::Unprocessable(grouped(
                errors
                    .into_iter()
                    .map(|(title, detail)| (title, detail.to_owned())),
            ))),
        }
    }

    fn schedule_identifier(&self) -> Option<&str> {
        self.schedule_identifier
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// The schedule asked for (checked present by [`Self::checked`] for a change of
    /// schedule) and its cohort (the current cohort when none is given; `None` when the
    /// cohort is not a year).
    fn schedule_target(&self, now: DateTime<Utc>) -> (String, Option<i32>) {
        let identifier = self.schedule_identifier().unwrap_or_default().to_owned();
        let cohort = match self.cohort.as_deref().map(str::trim) {
            None | Some("") => Some(current_cohort(now)),
            Some(text) => text.parse().ok(),
        };
        (identifier, cohort)
    }
}

/// A 422 with one entry.
pub(crate) fn unprocessable(title: &str, detail: &str) -> ApiError {
    ApiError::Unprocessable(vec![ErrorEntry::new(title, detail)])
}
