//! NPQ for providers: `/api/v{1,2,3}/npq-applications` (list, show, accept, reject),
//! `/api/v{1,2,3}/participants/npq` (list, show, defer, resume, withdraw, change schedule),
//! outcomes, and the v1 and v2 CSV exports.

mod applications;
mod exports;
mod outcomes;
pub(crate) mod participants;
mod views;

use axum::Router;
use axum::routing::{get, post, put};

use crate::AppState;
use crate::http::ApiVersion;

/// The NPQ routes: the same handlers in every version, and the v1 and v2 CSV exports.
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for version in ApiVersion::ALL {
        let path = |rest: &str| version.path(rest);
        router = router
            .route(
                &path("/npq-applications"),
                get(applications::list_applications),
            )
            .route(
                &path("/npq-applications/{id}"),
                get(applications::show_application),
            )
            .route(
                &path("/npq-applications/{id}/accept"),
                post(applications::accept),
            )
            .route(
                &path("/npq-applications/{id}/reject"),
                post(applications::reject),
            )
            .route(
                &path("/participants/npq"),
                get(participants::list_participants),
            )
            .route(
                &path("/participants/npq/outcomes"),
                get(outcomes::list_outcomes),
            )
            .route(
                &path("/participants/npq/{id}"),
                get(participants::show_participant),
            )
            .route(
                &path("/participants/npq/{id}/outcomes"),
                get(outcomes::participant_outcomes).post(outcomes::record_outcome),
            )
            .route(
                &path("/participants/npq/{id}/defer"),
                put(participants::defer),
            )
            .route(
                &path("/participants/npq/{id}/resume"),
                put(participants::resume),
            )
            .route(
                &path("/participants/npq/{id}/withdraw"),
                put(participants::withdraw),
            )
            .route(
                &path("/participants/npq/{id}/change-schedule"),
                put(participants::change_schedule),
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
