//! `GET /api/v3/participants/ecf/transfers` and `GET /api/v3/participants/ecf/{id}/transfers`.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Utc};
use projections::transfers::{self, Transfer, TransferStint};
use serde::Serialize;
use uuid::Uuid;

use crate::AppState;
use crate::http::extract::Path;
use crate::http::json_api::{Document, Resource, date, timestamp};
use crate::http::{ApiError, EcfProvider, ListParams, Now, Provider};

/// The transfer routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/participants/ecf/transfers", get(list_transfers))
        .route(
            "/api/v3/participants/ecf/{id}/transfers",
            get(show_transfers),
        )
}

#[derive(Debug, Serialize)]
struct TransferAttributes {
    updated_at: String,
    transfers: Vec<TransferItem>,
}

#[derive(Debug, Serialize)]
struct TransferItem {
    training_record_id: String,
    transfer_type: &'static str,
    status: &'static str,
    leaving: Side,
    joining: Option<Side>,
    created_at: String,
}

#[derive(Debug, Serialize)]
struct Side {
    school_urn: String,
    provider: String,
    date: String,
}

type TransferResource = Resource<TransferAttributes>;

fn item(transfer: Transfer, now: DateTime<Utc>) -> TransferItem {
    let Transfer { leaving, joining } = transfer;
    let end = leaving.end_at.unwrap_or(leaving.updated_at);
    let settled = joining.as_ref().map_or(end, |j| end.max(j.start_at));
    let transfer_type = match &joining {
        None => "unknown",
        Some(j) if j.lead_provider_id != leaving.lead_provider_id => "new_provider",
        Some(_) => "new_school",
    };
    let created_at = joining
        .as_ref()
        .map_or(leaving.updated_at, |j| j.created_at.max(leaving.updated_at));
    let side = |s: &TransferStint, at: DateTime<Utc>| Side {
        school_urn: s.school_urn.clone(),
        provider: s.provider_name.clone(),
        date: date(at.date_naive()),
    };
    TransferItem {
        training_record_id: leaving.training_record_id.to_string(),
        transfer_type,
        status: if settled > now {
            "incomplete"
        } else {
            "complete"
        },
        leaving: side(&leaving, end),
        joining: joining.as_ref().map(|j| side(j, j.start_at)),
        created_at: timestamp(created_at),
    }
}

/// Groups the provider's visible transfers by person, in the order people were registered.
async fn transfer_resources(
    app: &AppState,
    provider: &Provider,
    participant: Option<Uuid>,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Vec<TransferResource>, ApiError> {
    let stints = transfers::stints(&app.pool, provider.id, participant).await?;
    let mut order = Vec::new();
    let mut people: BTreeMap<Uuid, (DateTime<Utc>, Vec<TransferItem>)> = BTreeMap::new();
    for transfer in transfers::pair(&stints, provider.id) {
        let person = transfer.leaving.participant_id;
        let updated_at = transfer.leaving.participant_updated_at;
        let entry = people.entry(person).or_insert_with(|| {
            order.push(person);
            (updated_at, Vec::new())
        });
        entry.1.push(item(transfer, now));
    }
    Ok(order
        .into_iter()
        .filter_map(|person| {
            let (updated_at, transfers) = people.remove(&person)?;
            if since.is_some_and(|since| updated_at < since) {
                return None;
            }
            Some(Resource {
                id: person.to_string(),
                kind: "participant-transfer",
                attributes: TransferAttributes {
                    updated_at: timestamp(updated_at),
                    transfers,
                },
            })
        })
        .collect())
}

/// Everyone who transferred to or from the caller.
async fn list_transfers(
    State(app): State<AppState>,
    EcfProvider(provider): EcfProvider,
    Now(now): Now,
    params: ListParams,
) -> Result<Document<Vec<TransferResource>>, ApiError> {
    let since = params.date_filter("updated_since")?;
    let resources = transfer_resources(&app, &provider, None, since, now).await?;
    let page = params.page;
    let start = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let size = usize::try_from(page.size).unwrap_or(usize::MAX);
    Ok(Document {
        data: resources.into_iter().skip(start).take(size).collect(),
    })
}

/// One person's transfers.
async fn show_transfers(
    State(app): State<AppState>,
    EcfProvider(provider): EcfProvider,
    Now(now): Now,
    Path(id): Path<String>,
) -> Result<Document<TransferResource>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let resource = transfer_resources(&app, &provider, Some(id), None, now)
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    Ok(Document { data: resource })
}
