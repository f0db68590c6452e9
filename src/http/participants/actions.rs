//! `PUT /api/v{1,2,3}/participants/ecf/{id}/defer|resume|withdraw|change-schedule`.

use aggregates::course::ECF_WITHDRAWAL_REASONS;
use axum::response::Response;

use super::{CommittedStint, respond};
use crate::AppState;
use crate::flows::training::change_training;
use crate::http::participant_action::{ActionKind, ParticipantAction, action_handlers};
use crate::http::{ApiError, EcfProvider};

type Action = Result<Response, ApiError>;

/// An ECF participant action, as its handler receives it.
type EcfAction = ParticipantAction<EcfProvider>;

action_handlers!(EcfProvider, Action, ECF_WITHDRAWAL_REASONS);

/// Checks the body, runs the action on the participant's training record for the course, and
/// answers with the participant.
async fn act(app: &AppState, action: EcfAction, kind: ActionKind) -> Action {
    let (course, request) = action.request(&app.pool, kind).await?;
    let EcfProvider(provider) = &action.provider;
    let changed = change_training(
        &app.ledger,
        provider.id,
        &action.id,
        course,
        request,
        action.now,
        &provider.context,
    )
    .await?;
    let committed = changed.committed.map(|stint| CommittedStint {
        record: changed.record,
        stint,
    });
    respond(
        app,
        provider,
        action.version,
        &action.id,
        Some(changed.record),
        committed.as_ref(),
        action.now,
    )
    .await
}
