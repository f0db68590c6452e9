//! ECF participants in v1 and v2: flat, one item per training record the caller trains.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use projections::participants::{self, EnrolmentRow, ParticipantFilter, ParticipantRow};
use serde::Serialize;
use uuid::Uuid;

use super::participant_status;
use crate::AppState;
use crate::http::csv_export::{csv_response, with_id};
use crate::http::json_api::{Document, Resource, timestamp};
use crate::http::{ApiError, EcfProvider, ListParams, Now, Provider};

/// A training record's attributes, as in the v1 and v2 specs.
#[derive(Debug, Serialize)]
pub(super) struct RecordAttributes {
    email: String,
    full_name: String,
    mentor_id: Option<String>,
    school_urn: String,
    participant_type: String,
    cohort: String,
    status: &'static str,
    teacher_reference_number: Option<String>,
    teacher_reference_number_validated: Option<bool>,
    eligible_for_funding: Option<bool>,
    pupil_premium_uplift: bool,
    sparsity_uplift: bool,
    training_status: String,
    training_record_id: String,
    schedule_identifier: String,
    updated_at: String,
}

/// A training record as v1 and v2 show it: `status` is `withdrawn` once the record is,
/// otherwise `active` (leaving, left and joining included).
fn resource(
    person: &ParticipantRow,
    record: EnrolmentRow,
    now: DateTime<Utc>,
) -> Resource<RecordAttributes> {
    let status = match participant_status(&record, now) {
        "withdrawn" => "withdrawn",
        _ => "active",
    };
    Resource {
        id: person.id.to_string(),
        kind: "participant",
        attributes: RecordAttributes {
            email: record.email,
            full_name: person.full_name.clone(),
            mentor_id: record.mentor_id.map(|id| id.to_string()),
            school_urn: record.school_urn,
            participant_type: record.participant_type,
            cohort: record.cohort.to_string(),
            status,
            teacher_reference_number_validated: person.trn.as_ref().map(|_| record.trn_validated),
            teacher_reference_number: person.trn.clone(),
            eligible_for_funding: record.eligible_for_funding,
            pupil_premium_uplift: record.pupil_premium_uplift,
            sparsity_uplift: record.sparsity_uplift,
            training_status: record.training_status,
            training_record_id: record.training_record_id.to_string(),
            schedule_identifier: record.schedule_identifier,
            updated_at: timestamp(person.updated_at),
        },
    }
}

/// The v1 and v2 filters: `cohort` (a list) and an inclusive `updated_since`.
fn filter(params: &ListParams) -> Result<ParticipantFilter, ApiError> {
    Ok(ParticipantFilter {
        cohorts: params.cohorts(),
        training_status: None,
        updated_since: params.date_filter("updated_since")?,
    })
}

/// One page of the caller's training records.
pub(super) async fn list(
    app: &AppState,
    provider: &Provider,
    params: &ListParams,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    let filter = filter(params)?;
    let rows = participants::list_records(&app.pool, provider.id, &filter, params.page).await?;
    let data: Vec<_> = rows
        .into_iter()
        .map(|row| {
            let (person, record) = row.split();
            resource(&person, record, now)
        })
        .collect();
    Ok(Document { data }.into_response())
}

/// One person's record: `record` if given (the one an action changed), else the ECT record
/// before the mentor one.
pub(super) fn show(
    person: &ParticipantRow,
    records: Vec<EnrolmentRow>,
    record: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    let chosen = match record {
        Some(wanted) => records.into_iter().find(|r| r.training_record_id == wanted),
        None => records.into_iter().next(),
    };
    let record = chosen.ok_or(ApiError::NotFound)?;
    Ok(Document {
        data: resource(person, record, now),
    }
    .into_response())
}

/// `GET /api/v{1,2}/participants/ecf.csv`: every record of the list, unpaged.
pub(super) async fn export(
    State(app): State<AppState>,
    EcfProvider(provider): EcfProvider,
    Now(now): Now,
    params: ListParams,
) -> Result<Response, ApiError> {
    let filter = filter(&params)?;
    csv_response(move |mut sink| async move {
        let rows = participants::stream_records(&app.pool, provider.id, &filter, None);
        sink.rows(rows, |row| {
            let (person, record) = row.split();
            let Resource { id, attributes, .. } = resource(&person, record, now);
            with_id(id, attributes)
        })
        .await?;
        Ok(sink)
    })
    .await
}
