//! `/audit` (auditor tokens): the head of the event log's hash chain, to be recorded outside
//! the system and compared later.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use projections::seals;
use serde::Serialize;

use crate::AppState;
use crate::http::json_api::{Document, Resource};
use crate::http::{ApiError, Auditor};

/// The audit routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/audit/head", get(show_head))
}

#[derive(Debug, Serialize)]
struct HeadAttributes {
    position: i64,
    event_id: String,
    link: String,
    sealed_events: i64,
}

/// The newest seal of the chain.
async fn show_head(
    State(app): State<AppState>,
    _auditor: Auditor,
) -> Result<Document<Resource<HeadAttributes>>, ApiError> {
    let head = seals::head(&app.pool).await?.ok_or(ApiError::NotFound)?;
    Ok(Document {
        data: Resource {
            id: head.position.to_string(),
            kind: "audit-head",
            attributes: HeadAttributes {
                position: head.position,
                event_id: head.event_id.to_string(),
                link: head.link,
                sealed_events: head.sealed,
            },
        },
    })
}
