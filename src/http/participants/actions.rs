//! `PUT /api/v{1,2,3}/participants/ecf/{id}/defer|resume|withdraw|change-schedule`.

use aggregates::course::{Course, DEFERRAL_REASONS, ECF_WITHDRAWAL_REASONS};
use aggregates::training_record::{ScheduleChange, TrainingRecord, TrainingRecordCommand};
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use projections::reference;
use serde::Deserialize;

use super::{CommittedStint, respond};
use crate::AppState;
use crate::clock::current_cohort;
use crate::http::error::grouped;
use crate::http::extract::Path;
use crate::http::extract::lenient_text;
use crate::http::{ApiError, ApiVersion, EcfProvider, ErrorEntry, JsonApiBody, Now, Provider};
use crate::ledger::Visibility;
use crate::lookup;

pub(crate) use aggregates::{COURSE_NOT_RECOGNISED, PARTICIPANT_NOT_RECOGNISED as NOT_RECOGNISED};

pub(crate) const MISSING_COURSE: &str = "Enter a '#/course_identifier' value for this participant.";

const MISSING_SCHEDULE: &str =
    "The property '#/schedule_identifier' must be present and correspond to a valid schedule";

/// What an action's body needs beside the course, checked as the real service checks it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Requires {
    /// The course alone (resume).
    Course,
    /// A reason from the list, always checked (defer).
    Reason(&'static [&'static str]),
    /// A reason from the list, checked once the person and course are recognised (withdraw).
    RecognisedReason(&'static [&'static str]),
    /// A schedule identifier (change schedule).
    Schedule,
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
    /// is missing), then the reason or schedule that `requires` asks for.
    pub(crate) async fn checked(
        &self,
        pool: &sqlx::PgPool,
        participant: &str,
        requires: Requires,
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
            (None, _) => errors.push(("participant_id", NOT_RECOGNISED)),
            (Some(profiles), Some(course)) if profiles.cover(course) => {}
            (Some(_), _) => errors.push(("course_identifier", COURSE_NOT_RECOGNISED)),
        }
        if course_text.is_none() {
            errors.push(("course_identifier", MISSING_COURSE));
        }
        let reasons = match requires {
            Requires::Reason(reasons) => Some(reasons),
            Requires::RecognisedReason(reasons) if errors.is_empty() => Some(reasons),
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
        if matches!(requires, Requires::Schedule) && self.schedule_identifier().is_none() {
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

    /// The schedule asked for (checked present by [`Self::checked`] with
    /// [`Requires::Schedule`]) and its cohort (the current cohort when none is given; `None`
    /// when the cohort is not a year).
    pub(crate) fn schedule_target(&self, now: DateTime<Utc>) -> (String, Option<i32>) {
        let identifier = self.schedule_identifier().unwrap_or_default().to_owned();
        let cohort = match self.cohort.as_deref().map(str::trim) {
            None | Some("") => Some(current_cohort(now)),
            Some(text) => text.parse().ok(),
        };
        (identifier, cohort)
    }
}

type Action = Result<Response, ApiError>;

/// Defers training.
pub(crate) async fn defer(
    State(app): State<AppState>,
    EcfProvider(provider): EcfProvider,
    version: ApiVersion,
    Now(now): Now,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<ActionBody>,
) -> Action {
    let lead_provider_id = provider.id;
    act(
        &app,
        &provider,
        version,
        now,
        &id,
        &body,
        Requires::Reason(DEFERRAL_REASONS),
        |_, reason| async move {
            Ok(TrainingRecordCommand::Defer {
                lead_provider_id,
                reason,
                at: now,
            })
        },
    )
    .await
}

/// Resumes training.
pub(crate) async fn resume(
    State(app): State<AppState>,
    EcfProvider(provider): EcfProvider,
    version: ApiVersion,
    Now(now): Now,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<ActionBody>,
) -> Action {
    let lead_provider_id = provider.id;
    act(
        &app,
        &provider,
        version,
        now,
        &id,
        &body,
        Requires::Course,
        |_, _| async move {
            Ok(TrainingRecordCommand::Resume {
                lead_provider_id,
                at: now,
            })
        },
    )
    .await
}

/// Withdraws the participant.
pub(crate) async fn withdraw(
    State(app): State<AppState>,
    EcfProvider(provider): EcfProvider,
    version: ApiVersion,
    Now(now): Now,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<ActionBody>,
) -> Action {
    let lead_provider_id = provider.id;
    act(
        &app,
        &provider,
        version,
        now,
        &id,
        &body,
        Requires::RecognisedReason(ECF_WITHDRAWAL_REASONS),
        |_, reason| async move {
            Ok(TrainingRecordCommand::Withdraw {
                lead_provider_id,
                reason,
                at: now,
            })
        },
    )
    .await
}

/// Moves the participant to another schedule of its cohort.
pub(crate) async fn change_schedule(
    State(app): State<AppState>,
    EcfProvider(provider): EcfProvider,
    version: ApiVersion,
    Now(now): Now,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<ActionBody>,
) -> Action {
    let (identifier, cohort) = body.schedule_target(now);
    let (pool, lead_provider_id) = (app.pool.clone(), provider.id);
    act(
        &app,
        &provider,
        version,
        now,
        &id,
        &body,
        Requires::Schedule,
        |record, _| async move {
            let target = match cohort {
                Some(cohort) => reference::schedule(&pool, &identifier, cohort).await?,
                None => None,
            };
            let live_declarations = lookup::live_declarations(&pool, record.0).await?;
            Ok(TrainingRecordCommand::ChangeSchedule(Box::new(
                ScheduleChange {
                    lead_provider_id,
                    course: record.1,
                    target,
                    cohort: cohort.unwrap_or_default(),
                    live_declarations,
                    at: now,
                },
            )))
        },
    )
    .await
}

/// Checks the body, finds the training record for the course, runs the command that `build`
/// makes (given the record and the reason), and answers with the participant.
#[expect(
    clippy::too_many_arguments,
    reason = "the parts of one action, all needed"
)]
async fn act<F, Fut>(
    app: &AppState,
    provider: &Provider,
    version: ApiVersion,
    now: DateTime<Utc>,
    id: &str,
    body: &ActionBody,
    requires: Requires,
    build: F,
) -> Action
where
    F: FnOnce((uuid::Uuid, Course), String) -> Fut,
    Fut: Future<Output = Result<TrainingRecordCommand, sqlx::Error>>,
{
    let (course, reason) = body.checked(&app.pool, id, requires).await?;
    let record = lookup::training_record(&app.pool, id, course).await?;
    let record = record.ok_or_else(|| unprocessable("participant_id", NOT_RECOGNISED))?;
    let command = build((record.training_record_id, course), reason).await?;
    let record_id = record.training_record_id.to_string();
    let visibility = app
        .ledger
        .execute::<TrainingRecord>(&record_id, command, &provider.context)
        .await?;
    let committed = match visibility {
        Visibility::Shown => None,
        Visibility::Behind => app
            .ledger
            .committed::<TrainingRecord>(&record_id)
            .await?
            .latest_stint_of(provider.id)
            .map(|stint| CommittedStint {
                record: record.training_record_id,
                stint: stint.clone(),
            }),
    };
    respond(
        app,
        provider,
        version,
        id,
        Some(record.training_record_id),
        committed.as_ref(),
        now,
    )
    .await
}

pub(crate) fn unprocessable(title: &str, detail: &str) -> ApiError {
    ApiError::Unprocessable(vec![ErrorEntry::new(title, detail)])
}
