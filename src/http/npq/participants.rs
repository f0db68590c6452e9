//! `/api/v{1,2,3}/participants/npq`: the people a provider enrolled (list, show) and its
//! actions on their enrolments (defer, resume, withdraw, change schedule).

use aggregates::COURSE_NOT_RECOGNISED;
use aggregates::course::NPQ_WITHDRAWAL_REASONS;
use axum::extract::State;
use projections::npq::{self, EnrolmentFilter};
use uuid::Uuid;

use super::views::{ParticipantResource, participant};
use crate::AppState;
use crate::flows::npq::CommittedApplication;
use crate::http::extract::Path;
use crate::http::json_api::Document;
use crate::http::participant_action::{
    ActionKind, ParticipantAction, action_handlers, unprocessable,
};
use crate::http::{ApiError, ApiVersion, ListParams, NpqProvider, Provider};

/// The people the caller enrolled, oldest first; in v3 `training_status` filters and `sort`
/// reorders the page.
pub(super) async fn list_participants(
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
pub(super) async fn show_participant(
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
