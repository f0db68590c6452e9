//! NPQ for providers: `/api/v{1,2,3}/npq-applications` (list, show, accept, reject),
//! `/api/v{1,2,3}/participants/npq` (list, show, defer, resume, withdraw, change schedule),
//! outcomes, and the v1 and v2 CSV exports.

mod exports;
mod views;

use aggregates::COURSE_NOT_RECOGNISED;
use aggregates::course::NPQ_WITHDRAWAL_REASONS;
use aggregates::npq::{UK_CATCHMENTS, ineligible_for_funding_reason};
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post, put};
use projections::npq::{self, ApplicationFilter, ApplicationRow, EnrolmentFilter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use self::views::{OutcomeResource, ParticipantResource, outcome, participant};
use crate::AppState;
use crate::flows::npq::{CommittedApplication, OutcomeBody};
use crate::http::extract::Path;
use crate::http::extract::lenient_text;
use crate::http::json_api::{Document, Resource, timestamp};
use crate::http::participant_action::{
    ActionKind, ParticipantAction, action_handlers, unprocessable,
};
use crate::http::{ApiError, ApiVersion, JsonApiBody, ListParams, Now, NpqProvider, Provider};

/// The NPQ routes: the same handlers in every version, and the v1 and v2 CSV exports.
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for version in ApiVersion::ALL {
        let path = |rest: &str| version.path(rest);
        router = router
            .route(&path("/npq-applications"), get(list_applications))
            .route(&path("/npq-applications/{id}"), get(show_application))
            .route(&path("/npq-applications/{id}/accept"), post(accept))
            .route(&path("/npq-applications/{id}/reject"), post(reject))
            .route(&path("/participants/npq"), get(list_participants))
            .route(&path("/participants/npq/outcomes"), get(list_outcomes))
            .route(&path("/participants/npq/{id}"), get(show_participant))
            .route(
                &path("/participants/npq/{id}/outcomes"),
                get(participant_outcomes).post(record_outcome),
            )
            .route(&path("/participants/npq/{id}/defer"), put(defer))
            .route(&path("/participants/npq/{id}/resume"), put(resume))
            .route(&path("/participants/npq/{id}/withdraw"), put(withdraw))
            .route(
                &path("/participants/npq/{id}/change-schedule"),
                put(change_schedule),
            );
    }
    for version in [ApiVersion::V1, ApiVersion::V2] {
        router = router.route(
            &version.path("/npq-applications.csv"),
            get(exports::applications),
        );
    }
    router.route(
        &ApiVersion::V2.path("/npq-enrolments.csv"),
        get(exports::enrolments),
    )
}

/// An application's attributes, as in the v3 spec.
#[derive(Debug, Serialize)]
struct ApplicationAttributes {
    participant_id: String,
    full_name: String,
    email: String,
    email_validated: bool,
    teacher_reference_number: Option<String>,
    teacher_reference_number_validated: bool,
    works_in_school: bool,
    employer_name: Option<String>,
    employment_role: Option<String>,
    school_urn: Option<String>,
    private_childcare_provider_urn: Option<String>,
    school_ukprn: Option<String>,
    headteacher_status: Option<String>,
    eligible_for_funding: bool,
    funding_choice: Option<String>,
    course_identifier: String,
    status: String,
    created_at: String,
    updated_at: String,
    ineligible_for_funding_reason: Option<&'static str>,
    cohort: String,
    targeted_delivery_funding_eligibility: bool,
    teacher_catchment: Option<bool>,
    teacher_catchment_country: Option<String>,
    teacher_catchment_iso_country_code: Option<String>,
    lead_mentor: Option<bool>,
    itt_provider: Option<String>,
}

type ApplicationResource = Resource<ApplicationAttributes>;

impl From<ApplicationRow> for ApplicationResource {
    fn from(row: ApplicationRow) -> Self {
        let ineligible_for_funding_reason =
            ineligible_for_funding_reason(row.previously_funded, row.eligible_for_funding);
        Resource {
            id: row.id.to_string(),
            kind: "npq_application",
            attributes: ApplicationAttributes {
                participant_id: row.participant_id.to_string(),
                full_name: row.full_name,
                email: row.email,
                email_validated: true,
                teacher_reference_number: row.trn,
                teacher_reference_number_validated: row.trn_validated,
                works_in_school: row.works_in_school,
                employer_name: row.employer_name,
                employment_role: row.employment_role,
                school_urn: row.school_urn,
                private_childcare_provider_urn: row.private_childcare_provider_urn,
                school_ukprn: row.school_ukprn,
                headteacher_status: row.headteacher_status,
                eligible_for_funding: ineligible_for_funding_reason.is_none(),
                funding_choice: row.funding_choice,
                course_identifier: row.course_identifier,
                status: row.status,
                created_at: timestamp(row.created_at),
                updated_at: timestamp(row.updated_at),
                ineligible_for_funding_reason,
                cohort: row.cohort.to_string(),
                targeted_delivery_funding_eligibility: row.targeted_delivery_funding_eligibility,
                teacher_catchment: row
                    .teacher_catchment
                    .as_deref()
                    .map(|area| UK_CATCHMENTS.contains(&area)),
                teacher_catchment_country: row.teacher_catchment_country,
                teacher_catchment_iso_country_code: row.teacher_catchment_iso_country_code,
                lead_mentor: row.lead_mentor,
                itt_provider: row.itt_provider,
            },
        }
    }
}

/// The list filters of `version`: v3 takes a list of cohorts and a participant; v1 and v2 one
/// cohort (a value that is not a year matches nothing).
fn application_filter(
    params: &ListParams,
    version: ApiVersion,
) -> Result<ApplicationFilter, ApiError> {
    let updated_since = params.date_filter("updated_since")?;
    Ok(match version {
        ApiVersion::V3 => ApplicationFilter {
            cohorts: params.cohorts(),
            participant_id: params
                .filter("participant_id")
                .map(|id| Uuid::parse_str(id).unwrap_or_default()),
            updated_since,
            accepted: false,
        },
        ApiVersion::V1 | ApiVersion::V2 => ApplicationFilter {
            cohorts: params
                .filter("cohort")
                .map(|year| year.parse().into_iter().collect()),
            updated_since,
            ..ApplicationFilter::default()
        },
    })
}

/// The caller's applications, oldest first; in v3 `sort` reorders the page.
async fn list_applications(
    State(app): State<AppState>,
    NpqProvider(provider): NpqProvider,
    version: ApiVersion,
    params: ListParams,
) -> Result<Document<Vec<ApplicationResource>>, ApiError> {
    let filter = application_filter(&params, version)?;
    let mut rows = npq::list_applications(&app.pool, provider.id.0, &filter, params.page).await?;
    if version == ApiVersion::V3 {
        params.sort_page(&mut rows, |row| (row.created_at, row.updated_at));
    }
    Ok(Document {
        data: rows.into_iter().map(Resource::from).collect(),
    })
}

/// One of the caller's applications.
async fn show_application(
    State(app): State<AppState>,
    NpqProvider(provider): NpqProvider,
    Path(id): Path<String>,
) -> Result<Document<ApplicationResource>, ApiError> {
    let row = crate::flows::npq::own_application(&app.ledger, provider.id, &id).await?;
    Ok(Document { data: row.into() })
}

/// Accepts one of the caller's applications.
async fn accept(
    State(app): State<AppState>,
    NpqProvider(provider): NpqProvider,
    Now(now): Now,
    Path(id): Path<String>,
) -> Result<Document<ApplicationResource>, ApiError> {
    let row =
        crate::flows::npq::accept(&app.ledger, provider.id, &id, now, &provider.context).await?;
    Ok(Document { data: row.into() })
}

/// Rejects one of the caller's applications.
async fn reject(
    State(app): State<AppState>,
    NpqProvider(provider): NpqProvider,
    Now(now): Now,
    Path(id): Path<String>,
) -> Result<Document<ApplicationResource>, ApiError> {
    let row =
        crate::flows::npq::reject(&app.ledger, provider.id, &id, now, &provider.context).await?;
    Ok(Document { data: row.into() })
}

/// The people the caller enrolled, oldest first; in v3 `training_status` filters and `sort`
/// reorders the page.
async fn list_participants(
    State(app): State<AppState>,
    NpqProvider(provider): NpqProvider,
    version: ApiVersion,
    params: ListParams,
) -> Result<Document<Vec<ParticipantResource>>, ApiError> {
    let filter = EnrolmentFilter {
        updated_since: params.date_filter("updated_since")?,
        training_status: match version {
            ApiVersion::V3 => params.training_status()?,
            ApiVersion::V1 | ApiVersion::V2 => None,
        },
    };
    let people = npq::list_participants(&app.pool, provider.id.0, &filter, params.page).await?;
    let mut people: Vec<_> = people
        .into_iter()
        .map(|(id, rows)| {
            let created = rows.iter().filter_map(|r| r.accepted_at).min();
            let updated = rows.iter().map(|r| r.updated_at).max();
            let stamps = (created.unwrap_or_default(), updated.unwrap_or_default());
            (stamps, participant(id, rows, version))
        })
        .collect();
    if version == ApiVersion::V3 {
        params.sort_page(&mut people, |(stamps, _)| *stamps);
    }
    Ok(Document {
        data: people.into_iter().map(|(_, person)| person).collect(),
    })
}

/// One person the caller enrolled (an old, merged id finds them too).
async fn show_participant(
    State(app): State<AppState>,
    NpqProvider(provider): NpqProvider,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Document<ParticipantResource>, ApiError> {
    let id = Uuid::parse_str(id.trim()).map_err(|_| ApiError::NotFound)?;
    Ok(Document {
        data: find_participant(&app, &provider, id, None, version).await?,
    })
}

async fn find_participant(
    app: &AppState,
    provider: &Provider,
    id: Uuid,
    committed: Option<&CommittedApplication>,
    version: ApiVersion,
) -> Result<ParticipantResource, ApiError> {
    let id = npq::resolve(&app.pool, id).await?;
    let (id, mut rows) = npq::enrolments_of(&app.pool, provider.id.0, &[id])
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    if let Some(committed) = committed {
        rows.iter_mut().for_each(|row| committed.overlay(row));
    }
    Ok(participant(id, rows, version))
}

type Action = Result<Document<ParticipantResource>, ApiError>;

/// An NPQ participant action, as its handler receives it.
type NpqAction = ParticipantAction<NpqProvider>;

action_handlers!(NpqProvider, Action, NPQ_WITHDRAWAL_REASONS);

/// Runs an enrolment action and answers with the person.
async fn act(app: &AppState, action: NpqAction, kind: ActionKind) -> Action {
    let (course, request) = action.request(&app.pool, kind).await?;
    if course.npq_group().is_none() {
        return Err(unprocessable("course_identifier", COURSE_NOT_RECOGNISED));
    }
    let NpqProvider(provider) = &action.provider;
    let (person, committed) = crate::flows::npq::change_enrolment(
        &app.ledger,
        provider.id,
        &action.id,
        course,
        request,
        action.now,
        &provider.context,
    )
    .await?;
    Ok(Document {
        data: find_participant(app, provider, person, committed.as_ref(), action.version).await?,
    })
}

/// Every outcome of the caller's declarations, oldest first.
async fn list_outcomes(
    State(app): State<AppState>,
    provider: Provider,
    version: ApiVersion,
    params: ListParams,
) -> Result<Document<Vec<OutcomeResource>>, ApiError> {
    let created_since = params.date_filter("created_since")?;
    let rows = npq::outcomes(&app.pool, provider.id.0, None, created_since, params.page).await?;
    Ok(Document {
        data: rows.into_iter().map(|row| outcome(row, version)).collect(),
    })
}

/// One person's outcomes of the caller's declarations.
async fn participant_outcomes(
    State(app): State<AppState>,
    provider: Provider,
    version: ApiVersion,
    Path(id): Path<String>,
    params: ListParams,
) -> Result<Document<Vec<OutcomeResource>>, ApiError> {
    let id = Uuid::parse_str(id.trim()).map_err(|_| ApiError::NotFound)?;
    let id = npq::resolve(&app.pool, id).await?;
    let rows = npq::outcomes(&app.pool, provider.id.0, Some(id), None, params.page).await?;
    Ok(Document {
        data: rows.into_iter().map(|row| outcome(row, version)).collect(),
    })
}

/// The attributes of an outcome a provider sends.
#[derive(Debug, Deserialize)]
struct OutcomeRequestBody {
    #[serde(default, deserialize_with = "lenient_text")]
    course_identifier: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    state: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    completion_date: Option<String>,
}

/// Records a later outcome; an identical resend returns the existing one.
async fn record_outcome(
    State(app): State<AppState>,
    provider: Provider,
    version: ApiVersion,
    Now(now): Now,
    Path(id): Path<String>,
    JsonApiBody(body): JsonApiBody<OutcomeRequestBody>,
) -> Result<Document<OutcomeResource>, ApiError> {
    let body = OutcomeBody {
        course_identifier: body.course_identifier,
        state: body.state,
        completion_date: body.completion_date,
    };
    let row = crate::flows::npq::record_outcome(
        &app.ledger,
        provider.id,
        &id,
        body,
        now,
        &provider.context,
    )
    .await?;
    Ok(Document {
        data: outcome(row, version),
    })
}
