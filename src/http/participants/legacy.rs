//! v1's deprecated `PUT /api/v1/participants/{id}/defer|resume|withdraw|change-schedule`: the
//! course in the body decides whether the ECF or the NPQ action runs.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::actions;
use crate::AppState;
use crate::http::participant_action::ParticipantAction;
use crate::http::{ApiError, EcfProvider, NpqProvider, Provider, npq};

type Action = Result<Response, ApiError>;

macro_rules! dispatch {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        pub(super) async fn $name(
            State(app): State<AppState>,
            action: ParticipantAction<Provider>,
        ) -> Action {
            if action.body.is_npq() {
                let provider = NpqProvider::check(&app, action.provider.clone()).await?;
                npq::participants::$name(State(app), action.with(provider))
                    .await
                    .map(IntoResponse::into_response)
            } else {
                let provider = EcfProvider::check(&app, action.provider.clone()).await?;
                actions::$name(State(app), action.with(provider)).await
            }
        }
    )*};
}

dispatch!(
    /// Defers an ECF or NPQ participant.
    defer,
    /// Resumes an ECF or NPQ participant.
    resume,
    /// Withdraws an ECF or NPQ participant.
    withdraw,
    /// Changes an ECF or NPQ participant's schedule.
    change_schedule,
);
