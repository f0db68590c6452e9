//! `GET /api/v3/unfunded-mentors/ecf[/{id}]`: mentors of the caller's ECTs whom the caller
//! does not train.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use projections::Page;
use projections::participants::{self, UnfundedMentorRow};
use serde::Serialize;
use uuid::Uuid;

use crate::AppState;
use crate::http::extract::Path;
use crate::http::json_api::{Document, Resource, timestamp};
use crate::http::{ApiError, EcfProvider, ListParams};

/// The unfunded mentor routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/unfunded-mentors/ecf", get(list_unfunded_mentors))
        .route(
            "/api/v3/unfunded-mentors/ecf/{id}",
            get(show_unfunded_mentor),
        )
}

#[derive(Debug, Serialize)]
struct MentorAttributes {
    full_name: String,
    email: Option<String>,
    teacher_reference_number: Option<String>,
    created_at: String,
    updated_at: String,
}

type MentorResource = Resource<MentorAttributes>;

impl From<UnfundedMentorRow> for MentorResource {
    fn from(row: UnfundedMentorRow) -> Self {
        Resource {
            id: row.id.to_string(),
            kind: "unfunded-mentor",
            attributes: MentorAttributes {
                full_name: row.full_name,
                email: row.email,
                teacher_reference_number: row.trn,
                created_at: timestamp(row.created_at),
                updated_at: timestamp(row.updated_at),
            },
        }
    }
}

/// The caller's unfunded mentors.
async fn list_unfunded_mentors(
    State(app): State<AppState>,
    EcfProvider(provider): EcfProvider,
    params: ListParams,
) -> Result<Document<Vec<MentorResource>>, ApiError> {
    let since = params.date_filter("updated_since")?;
    let mut rows =
        participants::unfunded_mentors(&app.pool, provider.id, None, since, params.page).await?;
    params.sort_page(&mut rows, |r| (r.created_at, r.updated_at));
    Ok(Document {
        data: rows.into_iter().map(Resource::from).collect(),
    })
}

/// One unfunded mentor of the caller.
async fn show_unfunded_mentor(
    State(app): State<AppState>,
    EcfProvider(provider): EcfProvider,
    Path(id): Path<String>,
) -> Result<Document<MentorResource>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let page = Page { number: 1, size: 1 };
    let row = participants::unfunded_mentors(&app.pool, provider.id, Some(id), None, page)
        .await?
        .pop();
    Ok(Document {
        data: row.ok_or(ApiError::NotFound)?.into(),
    })
}
