//! `/api/v{1,2,3}/participants/ecf`: the ECF participants a provider trains (nested in v3, one
//! item per training record in v1 and v2, with a CSV export), and the provider's actions on
//! them (defer, resume, withdraw, change schedule).

mod actions;
mod flat;
mod legacy;

use std::collections::HashMap;

use aggregates::training_record::{self, Stint};
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use chrono::{DateTime, Utc};
use projections::participants::{self, EnrolmentRow, ParticipantFilter, ParticipantRow};
use serde::Serialize;
use uuid::Uuid;

use crate::AppState;
use crate::http::extract::Path;
use crate::http::json_api::{Document, Resource, timestamp};
use crate::http::{ApiError, ApiVersion, EcfProvider, ListParams, Now, Provider};

/// The participant routes: the same handlers in every version, the CSV export in v1 and v2,
/// and v1's deprecated aliases.
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for version in ApiVersion::ALL {
        let path = |rest: &str| version.path(&format!("/participants/ecf{rest}"));
        router = router
            .route(&path(""), get(list_participants))
            .route(&path("/{id}"), get(show_participant))
            .route(&path("/{id}/defer"), put(actions::defer))
            .route(&path("/{id}/resume"), put(actions::resume))
            .route(&path("/{id}/withdraw"), put(actions::withdraw))
            .route(
                &path("/{id}/change-schedule"),
                put(actions::change_schedule),
            );
    }
    for version in [ApiVersion::V1, ApiVersion::V2] {
        router = router.route(&version.path("/participants/ecf.csv"), get(flat::export));
    }
    let v1 = |rest: &str| ApiVersion::V1.path(&format!("/participants{rest}"));
    router
        .route(&v1(""), get(list_participants))
        .route(&v1("/{id}/defer"), put(legacy::defer))
        .route(&v1("/{id}/resume"), put(legacy::resume))
        .route(&v1("/{id}/withdraw"), put(legacy::withdraw))
        .route(&v1("/{id}/change-schedule"), put(legacy::change_schedule))
}

/// A participant's attributes, as in the v3 spec.
#[derive(Debug, Serialize)]
pub struct ParticipantAttributes {
    full_name: String,
    teacher_reference_number: Option<String>,
    updated_at: String,
    ecf_enrolments: Vec<Enrolment>,
}

/// A status change shown while it applies.
#[derive(Debug, Serialize)]
pub(crate) struct StatusChange {
    reason: String,
    date: String,
}

/// One training record the caller trains.
#[derive(Debug, Serialize)]
struct Enrolment {
    training_record_id: String,
    email: String,
    mentor_id: Option<String>,
    school_urn: String,
    participant_type: String,
    cohort: String,
    training_status: String,
    participant_status: &'static str,
    teacher_reference_number_validated: bool,
    eligible_for_funding: Option<bool>,
    pupil_premium_uplift: bool,
    sparsity_uplift: bool,
    schedule_identifier: String,
    delivery_partner_id: String,
    withdrawal: Option<StatusChange>,
    deferral: Option<StatusChange>,
    created_at: String,
}

/// A participant resource.
pub type ParticipantResource = Resource<ParticipantAttributes>;

/// What the school reported, as of `now` ([`training_record::participant_status`]).
fn participant_status(row: &EnrolmentRow, now: DateTime<Utc>) -> &'static str {
    let withdrawn = row.training_status == "withdrawn";
    training_record::participant_status(row.start_at, row.end_at, withdrawn, now)
}

/// A withdrawal or deferral, shown only while the status it made applies.
pub(crate) fn change(
    reason: &Option<String>,
    at: Option<DateTime<Utc>>,
    applies: bool,
) -> Option<StatusChange> {
    match (reason, at, applies) {
        (Some(reason), Some(at), true) => Some(StatusChange {
            reason: reason.clone(),
            date: timestamp(at),
        }),
        _ => None,
    }
}

fn enrolment(row: EnrolmentRow, now: DateTime<Utc>) -> Enrolment {
    let participant_status = participant_status(&row, now);
    let withdrawal = change(
        &row.withdrawal_reason,
        row.withdrawn_at,
        row.training_status == "withdrawn",
    );
    let deferral = change(
        &row.deferral_reason,
        row.deferred_at,
        row.training_status == "deferred",
    );
    Enrolment {
        training_record_id: row.training_record_id.to_string(),
        email: row.email,
        mentor_id: row.mentor_id.map(|id| id.to_string()),
        school_urn: row.school_urn,
        participant_type: row.participant_type,
        cohort: row.cohort.to_string(),
        training_status: row.training_status,
        participant_status,
        teacher_reference_number_validated: row.trn_validated,
        eligible_for_funding: row.eligible_for_funding,
        pupil_premium_uplift: row.pupil_premium_uplift,
        sparsity_uplift: row.sparsity_uplift,
        schedule_identifier: row.schedule_identifier,
        delivery_partner_id: row.delivery_partner_id.to_string(),
        withdrawal,
        deferral,
        created_at: timestamp(row.created_at),
    }
}

/// Builds the resources for these people, each with the caller's enrolments.
pub async fn resources(
    app: &AppState,
    provider: &Provider,
    people: Vec<ParticipantRow>,
    now: DateTime<Utc>,
) -> Result<Vec<ParticipantResource>, ApiError> {
    let ids: Vec<Uuid> = people.iter().map(|p| p.id).collect();
    let enrolments = participants::enrolments(&app.pool, provider.id, &ids).await?;
    Ok(nest(people, enrolments, now))
}

/// Nests each person's enrolments under them, in the order given.
fn nest(
    people: Vec<ParticipantRow>,
    enrolments: Vec<EnrolmentRow>,
    now: DateTime<Utc>,
) -> Vec<ParticipantResource> {
    let mut by_person: HashMap<Uuid, Vec<EnrolmentRow>> = HashMap::new();
    for enrolment in enrolments {
        by_person
            .entry(enrolment.participant_id)
            .or_default()
            .push(enrolment);
    }
    people
        .into_iter()
        .map(|person| {
            let mine = by_person.remove(&person.id).unwrap_or_default();
            Resource {
                id: person.id.to_string(),
                kind: "participant",
                attributes: ParticipantAttributes {
                    full_name: person.full_name,
                    teacher_reference_number: person.trn,
                    updated_at: timestamp(person.updated_at),
                    ecf_enrolments: mine.into_iter().map(|e| enrolment(e, now)).collect(),
                },
            }
        })
        .collect()
}

/// The people the caller trains, oldest first; `sort` reorders the page. v1 and v2 list
/// training records instead.
async fn list_participants(
    State(app): State<AppState>,
    EcfProvider(provider): EcfProvider,
    version: ApiVersion,
    Now(now): Now,
    params: ListParams,
) -> Result<Response, ApiError> {
    if version != ApiVersion::V3 {
        return flat::list(&app, &provider, &params, now).await;
    }
    let filter = ParticipantFilter {
        cohorts: params.cohorts(),
        training_status: params.training_status()?,
        updated_since: params.date_filter("updated_since")?,
    };
    let mut people = participants::list(&app.pool, provider.id, &filter, params.page).await?;
    params.sort_page(&mut people, |p| (p.created_at, p.updated_at));
    Ok(Document {
        data: resources(&app, &provider, people, now).await?,
    }
    .into_response())
}

/// One person the caller trains.
async fn show_participant(
    State(app): State<AppState>,
    EcfProvider(provider): EcfProvider,
    version: ApiVersion,
    Now(now): Now,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    respond(&app, &provider, version, &id, None, None, now).await
}

/// A person in the shape of `version`: nested in v3; in v1 and v2 the training record
/// `record` (the ECT record when `None`). `committed` is a provider's write that the read
/// model may not show yet, shown over it.
pub(crate) async fn respond(
    app: &AppState,
    provider: &Provider,
    version: ApiVersion,
    id: &str,
    record: Option<Uuid>,
    committed: Option<&CommittedStint>,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    let person = find(app, provider, id).await?;
    let mut enrolments = participants::enrolments(&app.pool, provider.id, &[person.id]).await?;
    if let Some(committed) = committed {
        committed.overlay(&mut enrolments);
    }
    if version != ApiVersion::V3 {
        return flat::show(&person, enrolments, record, now);
    }
    let resource = nest(vec![person], enrolments, now)
        .pop()
        .ok_or(ApiError::NotFound)?;
    Ok(Document { data: resource }.into_response())
}

/// The provider's stint on a training record as its committed events leave it: the answer to
/// an action that the participants read model does not show yet.
pub(crate) struct CommittedStint {
    /// The training record acted on.
    pub(crate) record: Uuid,
    /// The provider's latest stint on it.
    pub(crate) stint: Stint,
}

impl CommittedStint {
    /// Shows the provider's part of the stint (status, reasons, schedule) over the read
    /// model's row of that record.
    fn overlay(&self, enrolments: &mut [EnrolmentRow]) {
        let stint = &self.stint;
        for row in enrolments
            .iter_mut()
            .filter(|row| row.training_record_id == self.record)
        {
            row.training_status = stint.training_status.as_str().to_owned();
            row.schedule_identifier = stint.schedule_identifier.clone();
            row.withdrawal_reason = stint.withdrawal.as_ref().map(|w| w.reason.clone());
            row.withdrawn_at = stint.withdrawal.as_ref().map(|w| w.at);
            row.deferral_reason = stint.deferral.as_ref().map(|d| d.reason.clone());
            row.deferred_at = stint.deferral.as_ref().map(|d| d.at);
        }
    }
}

async fn find(app: &AppState, provider: &Provider, id: &str) -> Result<ParticipantRow, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::NotFound)?;
    // A merged or retired id shows the person it now names.
    let id = projections::npq::resolve(&app.pool, id).await?;
    participants::find(&app.pool, provider.id, id)
        .await?
        .ok_or(ApiError::NotFound)
}
