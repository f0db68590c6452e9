//! v1's deprecated `PUT /api/v1/participants/{id}/defer|resume|withdraw|change-schedule`: the
//! course in the body decides whether the ECF or the NPQ action runs.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::actions::{self, ActionBody};
use crate::AppState;
use crate::http::extract::Path;
use crate::http::{
    ApiError, ApiVersion, EcfProvider, JsonApiBody, Now, NpqProvider, Provider, npq,
};

type Action = Result<Response, ApiError>;

macro_rules! dispatch {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        pub(super) async fn $name(
            app: State<AppState>,
            provider: Provider,
            version: ApiVersion,
            now: Now,
            id: Path<String>,
            body: JsonApiBody<ActionBody>,
        ) -> Action {
            if body.0.is_npq() {
                let provider = NpqProvider::check(&app, provider).await?;
                npq::$name(app, provider, version, now, id, body)
                    .await
                    .map(IntoResponse::into_response)
            } else {
                let provider = EcfProvider::check(&app, provider).await?;
                actions::$name(app, provider, version, now, id, body).await
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
