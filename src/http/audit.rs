//! `/audit` (auditor tokens, read only): the event history in the global order, one
//! participant's or declaration's whole history, the transferred-provider trail, and the head
//! of the hash chain, to be recorded outside the system and compared later.

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use projections::audit::{self, EventFilter, Trail};
use projections::{Position, StoredEvent, seals};
use serde::Serialize;
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::http::error::{ErrorBody, ErrorsBody};
use crate::http::extract::{Path, Query};
use crate::http::extract::{bad_date, parse_instant};
use crate::http::json_api::{Document, Resource, timestamp};
use crate::http::{ApiError, Auditor};

/// Events per page unless `page[size]` says otherwise.
const DEFAULT_PAGE: i64 = 100;
/// The most events a page may hold.
const MAX_PAGE: i64 = 1000;
/// The most events one subject's history returns.
const MAX_HISTORY: i64 = 10_000;

/// The audit routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit/head", get(show_head))
        .route("/audit/events", get(list_events))
        .route("/audit/participants/{id}", get(participant_history))
        .route("/audit/declarations/{id}", get(declaration_history))
        .route("/audit/transfers", get(transfer_trails))
        .route("/audit/transfers.csv", get(transfer_trails_csv))
}

/// The audit routes' description.
#[derive(OpenApi)]
#[openapi(paths(
    show_head,
    list_events,
    participant_history,
    declaration_history,
    transfer_trails,
    transfer_trails_csv
))]
pub(super) struct AuditApi;

#[derive(Debug, Serialize, ToSchema)]
struct EventAttributes {
    position: i64,
    stream_type: String,
    stream_id: String,
    sequence: i64,
    event_type: String,
    #[schema(value_type = Object)]
    payload: Value,
    recorded_at: String,
    actor_type: Option<String>,
    actor_id: Option<String>,
    api_version: Option<String>,
    request_id: Option<String>,
}

type EventResource = Resource<EventAttributes>;

impl From<StoredEvent> for EventResource {
    fn from(event: StoredEvent) -> Self {
        let meta = |key: &str| {
            event
                .metadata
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Resource {
            id: event.event_id.to_string(),
            kind: "event",
            attributes: EventAttributes {
                position: event.position.position,
                actor_type: meta("actor_type"),
                actor_id: meta("actor_id"),
                api_version: meta("api_version"),
                request_id: meta("request_id"),
                stream_type: event.aggregate_type,
                stream_id: event.aggregate_id,
                sequence: event.sequence,
                event_type: event.event_type,
                payload: event.payload,
                recorded_at: timestamp(event.recorded_at),
            },
        }
    }
}

/// A page of events and the cursor for the next one.
#[derive(Debug, Serialize, ToSchema)]
struct EventPage {
    data: Vec<Resource<EventAttributes>>,
    meta: PageMeta,
}

#[derive(Debug, Serialize, ToSchema)]
struct PageMeta {
    next_cursor: Option<String>,
}

impl IntoResponse for EventPage {
    fn into_response(self) -> Response {
        axum::Json(self).into_response()
    }
}

fn cursor_of(at: Position) -> String {
    format!("{}-{}", at.transaction_id, at.position)
}

fn parse_cursor(text: &str) -> Option<Position> {
    let (transaction, position) = text.split_once('-')?;
    Some(Position {
        transaction_id: transaction.parse().ok()?,
        position: position.parse().ok()?,
    })
}

fn bad(detail: &str) -> ApiError {
    ApiError::bad_request(detail.to_owned())
}

fn uuid_param(query: &HashMap<String, String>, name: &str) -> Result<Option<Uuid>, ApiError> {
    query
        .get(name)
        .map(|v| Uuid::parse_str(v.trim()).map_err(|_| bad(&format!("'{name}' must be a UUID"))))
        .transpose()
}

fn instant_param(
    query: &HashMap<String, String>,
    name: &str,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    query
        .get(name)
        .map(|v| {
            let filter = name.trim_start_matches("filter[").trim_end_matches(']');
            parse_instant(v).ok_or_else(|| bad_date(filter))
        })
        .transpose()
}

/// Events in the global order, filtered by `filter[participant_id]`, `filter[declaration_id]`,
/// `filter[lead_provider_id]`, `filter[event_type]`, `filter[from]` and `filter[to]`, paged
/// with `page[cursor]` (from the previous page's `meta.next_cursor`) and `page[size]`.
#[utoipa::path(
    get,
    path = "/audit/events",
    tag = "audit",
    security(("bearerAuth" = [])),
    params(
        ("filter[participant_id]" = Option<Uuid>, Query, description = "Events concerning this person"),
        ("filter[declaration_id]" = Option<Uuid>, Query, description = "Events of this declaration"),
        ("filter[lead_provider_id]" = Option<Uuid>, Query, description = "Events concerning this lead provider"),
        ("filter[event_type]" = Option<String>, Query, description = "Events of this type, e.g. `DeclarationSubmitted`"),
        ("filter[from]" = Option<String>, Query, description = "Recorded at or after this instant (ISO 8601)"),
        ("filter[to]" = Option<String>, Query, description = "Recorded before this instant (ISO 8601)"),
        ("page[cursor]" = Option<String>, Query, description = "The previous page's `meta.next_cursor`"),
        ("page[size]" = Option<i64>, Query, description = "Events per page: 100 unless given, at most 1000", minimum = 1),
    ),
    responses(
        (status = 200, description = "A page of events in the global order", body = EventPage),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an auditor token"),
        (status = 400, description = "A filter or page parameter the service cannot read", content_type = "application/vnd.api+json", body = ErrorsBody),
    ),
)]
async fn list_events(
    State(app): State<AppState>,
    _auditor: Auditor,
    Query(query): Query<HashMap<String, String>>,
) -> Result<EventPage, ApiError> {
    let filter = EventFilter {
        participant_id: uuid_param(&query, "filter[participant_id]")?,
        declaration_id: uuid_param(&query, "filter[declaration_id]")?,
        lead_provider_id: uuid_param(&query, "filter[lead_provider_id]")?,
        event_type: query.get("filter[event_type]").cloned(),
        from: instant_param(&query, "filter[from]")?,
        to: instant_param(&query, "filter[to]")?,
    };
    let after = match query.get("page[cursor]") {
        Some(text) => parse_cursor(text)
            .ok_or_else(|| bad("'page[cursor]' is not a cursor this service issued"))?,
        None => Position::default(),
    };
    let size = match query.get("page[size]") {
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| bad("'page[size]' must be a number of at least 1"))?,
        None => DEFAULT_PAGE,
    }
    .min(MAX_PAGE);
    let events = audit::events(&app.pool, &filter, after, size).await?;
    let next_cursor = (events.len() as i64 == size)
        .then(|| events.last().map(|e| cursor_of(e.position)))
        .flatten();
    Ok(EventPage {
        data: events.into_iter().map(Resource::from).collect(),
        meta: PageMeta { next_cursor },
    })
}

/// Every event concerning one person, in order.
#[utoipa::path(
    get,
    path = "/audit/participants/{id}",
    tag = "audit",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "The participant")),
    responses(
        (status = 200, description = "Every event concerning the person", content_type = "application/vnd.api+json", body = Document<Vec<Resource<EventAttributes>>>),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an auditor token"),
        (status = 404, description = "No events concern it", content_type = "application/vnd.api+json", body = ErrorBody),
    ),
)]
async fn participant_history(
    State(app): State<AppState>,
    _auditor: Auditor,
    Path(id): Path<String>,
) -> Result<Document<Vec<EventResource>>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    history(
        &app,
        EventFilter {
            participant_id: Some(id),
            ..Default::default()
        },
    )
    .await
}

/// Every event of one declaration, in order.
#[utoipa::path(
    get,
    path = "/audit/declarations/{id}",
    tag = "audit",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "The declaration")),
    responses(
        (status = 200, description = "Every event of the declaration", content_type = "application/vnd.api+json", body = Document<Vec<Resource<EventAttributes>>>),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an auditor token"),
        (status = 404, description = "No events concern it", content_type = "application/vnd.api+json", body = ErrorBody),
    ),
)]
async fn declaration_history(
    State(app): State<AppState>,
    _auditor: Auditor,
    Path(id): Path<String>,
) -> Result<Document<Vec<EventResource>>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    history(
        &app,
        EventFilter {
            declaration_id: Some(id),
            ..Default::default()
        },
    )
    .await
}

async fn history(
    app: &AppState,
    filter: EventFilter,
) -> Result<Document<Vec<EventResource>>, ApiError> {
    let events = audit::events(&app.pool, &filter, Position::default(), MAX_HISTORY).await?;
    if events.is_empty() {
        return Err(ApiError::NotFound);
    }
    Ok(Document {
        data: events.into_iter().map(Resource::from).collect(),
    })
}

/// The transferred-provider trail, as JSON.
#[utoipa::path(
    get,
    path = "/audit/transfers",
    tag = "audit",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "One trail per training record that changed lead provider: placements, declarations and the actions on them", content_type = "application/json", body = Vec<Value>),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an auditor token"),
    ),
)]
async fn transfer_trails(
    State(app): State<AppState>,
    _auditor: Auditor,
) -> Result<axum::Json<Vec<Trail>>, ApiError> {
    Ok(axum::Json(audit::transfer_trails(&app.pool).await?))
}

/// The transferred-provider trail, one row per action on a declaration.
#[utoipa::path(
    get,
    path = "/audit/transfers.csv",
    tag = "audit",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "One row per action on a declaration of a transferred training record", content_type = "text/csv", body = String),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an auditor token"),
    ),
)]
async fn transfer_trails_csv(
    State(app): State<AppState>,
    _auditor: Auditor,
) -> Result<Response, ApiError> {
    let trails = audit::transfer_trails(&app.pool).await?;
    let body = crate::reports::transfers::trails_csv(&trails)
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(([(header::CONTENT_TYPE, "text/csv")], body).into_response())
}

/// The head of the chain, as `GET /audit/head` describes it (the same fields as
/// [`seals::Head`]).
#[derive(Debug, Serialize, ToSchema)]
struct HeadAttributes {
    /// Its seal number: seals run from 1 without gaps.
    seal: i64,
    /// The sealed event's position (positions may skip values).
    position: i64,
    /// The sealed event's id.
    event_id: String,
    /// Its link, hex: it commits to every sealed event up to it.
    chain_hash: String,
    /// How many events are sealed up to it.
    event_count: i64,
    /// When it was sealed.
    sealed_at: String,
}

/// The newest seal of the chain: the checkpoint `audit verify --since-head` takes.
#[utoipa::path(
    get,
    path = "/audit/head",
    tag = "audit",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The newest seal: record it outside the system and compare later", content_type = "application/vnd.api+json", body = Document<Resource<HeadAttributes>>),
        (status = 401, description = "No valid token", content_type = "application/vnd.api+json", body = ErrorBody),
        (status = 403, description = "Not an auditor token"),
        (status = 404, description = "Nothing is sealed yet", content_type = "application/vnd.api+json", body = ErrorBody),
    ),
)]
async fn show_head(
    State(app): State<AppState>,
    _auditor: Auditor,
) -> Result<Document<Resource<seals::Head>>, ApiError> {
    let head = seals::head(&app.pool).await?.ok_or(ApiError::NotFound)?;
    Ok(Document {
        data: Resource {
            id: head.seal.to_string(),
            kind: "audit-head",
            attributes: head,
        },
    })
}
