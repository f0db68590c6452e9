//! The NPQ CSV exports: `GET /api/v{1,2}/npq-applications.csv` and
//! `GET /api/v2/npq-enrolments.csv`, streamed and unpaged.

use axum::extract::State;
use axum::response::Response;
use projections::npq::{self, ApplicationFilter, ApplicationRow};
use serde::Serialize;

use super::applications::{ApplicationAttributes, ApplicationResource, application_filter};
use super::views::EnrolmentV2;
use crate::AppState;
use crate::http::csv_export::{csv_response, with_id};
use crate::http::json_api::Resource;
use crate::http::{ApiError, ApiVersion, ListParams, NpqProvider};

/// An application's row in v2: the attributes without the teacher catchment, and the cohort
/// as a number.
#[derive(Debug, Serialize)]
struct ApplicationRowV2 {
    participant_id: String,
    full_name: String,
    email: String,
    email_validated: bool,
    teacher_reference_number: Option<String>,
    teacher_reference_number_validated: bool,
    works_in_school: bool,
    employer_name: Option<String>,
    employment_role: Option<String>,
    school_urn: Option<String>,
    private_childcare_provider_urn: Option<String>,
    school_ukprn: Option<String>,
    headteacher_status: Option<String>,
    eligible_for_funding: bool,
    funding_choice: Option<String>,
    course_identifier: String,
    status: String,
    created_at: String,
    updated_at: String,
    ineligible_for_funding_reason: Option<&'static str>,
    cohort: i32,
    targeted_delivery_funding_eligibility: bool,
    lead_mentor: Option<bool>,
    itt_provider: Option<String>,
}

impl ApplicationRowV2 {
    fn new(a: ApplicationAttributes, cohort: i32) -> Self {
        Self {
            participant_id: a.participant_id,
            full_name: a.full_name,
            email: a.email,
            email_validated: a.email_validated,
            teacher_reference_number: a.teacher_reference_number,
            teacher_reference_number_validated: a.teacher_reference_number_validated,
            works_in_school: a.works_in_school,
            employer_name: a.employer_name,
            employment_role: a.employment_role,
            school_urn: a.school_urn,
            private_childcare_provider_urn: a.private_childcare_provider_urn,
            school_ukprn: a.school_ukprn,
            headteacher_status: a.headteacher_status,
            eligible_for_funding: a.eligible_for_funding,
            funding_choice: a.funding_choice,
            course_identifier: a.course_identifier,
            status: a.status,
            created_at: a.created_at,
            updated_at: a.updated_at,
            ineligible_for_funding_reason: a.ineligible_for_funding_reason,
            cohort,
            targeted_delivery_funding_eligibility: a.targeted_delivery_funding_eligibility,
            lead_mentor: a.lead_mentor,
            itt_provider: a.itt_provider,
        }
    }
}

/// An application's row in the shape of one version.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum ApplicationCsv {
    V1(ApplicationAttributes),
    V2(ApplicationRowV2),
}

fn application_csv(row: ApplicationRow, version: ApiVersion) -> impl Serialize {
    let cohort = row.cohort;
    let Resource { id, attributes, .. } = ApplicationResource::from(row);
    let attributes = match version {
        ApiVersion::V2 => ApplicationCsv::V2(ApplicationRowV2::new(attributes, cohort)),
        ApiVersion::V1 | ApiVersion::V3 => ApplicationCsv::V1(attributes),
    };
    with_id(id, attributes)
}

/// Every application of the list (v1 and v2 filters), as CSV.
pub(super) async fn applications(
    State(app): State<AppState>,
    NpqProvider(provider): NpqProvider,
    version: ApiVersion,
    params: ListParams,
) -> Result<Response, ApiError> {
    let filter = application_filter(&params, version)?;
    csv_response(move |mut sink| async move {
        let rows = npq::stream_applications(&app.pool, provider.id.0, &filter);
        sink.rows(rows, |row| application_csv(row, version)).await?;
        Ok(sink)
    })
    .await
}

/// An enrolment's row: the person, then the v2 enrolment without targeted delivery funding.
#[derive(Debug, Serialize)]
struct EnrolmentCsv {
    participant_id: String,
    course_identifier: String,
    schedule_identifier: Option<String>,
    cohort: String,
    npq_application_id: String,
    eligible_for_funding: bool,
    training_status: Option<String>,
    school_urn: Option<String>,
}

/// Every enrolment (accepted application) of the caller, as CSV; `updated_since` is strict.
pub(super) async fn enrolments(
    State(app): State<AppState>,
    NpqProvider(provider): NpqProvider,
    params: ListParams,
) -> Result<Response, ApiError> {
    let filter = ApplicationFilter {
        updated_since: params.date_filter("updated_since")?,
        accepted: true,
        ..ApplicationFilter::default()
    };
    csv_response(move |mut sink| async move {
        let rows = npq::stream_applications(&app.pool, provider.id.0, &filter);
        sink.rows(rows, |row| {
            let participant_id = row.participant_id.to_string();
            let enrolment = EnrolmentV2::from(row);
            EnrolmentCsv {
                participant_id,
                course_identifier: enrolment.course_identifier,
                schedule_identifier: enrolment.schedule_identifier,
                cohort: enrolment.cohort,
                npq_application_id: enrolment.npq_application_id,
                eligible_for_funding: enrolment.eligible_for_funding,
                training_status: enrolment.training_status,
                school_urn: enrolment.school_urn,
            }
        })
        .await?;
        Ok(sink)
    })
    .await
}
