//! `/api/v{1,2,3}/npq-applications`: list, show, accept and reject a provider's applications.

use aggregates::npq::{UK_CATCHMENTS, ineligible_for_funding_reason};
use axum::extract::State;
use projections::npq::{self, ApplicationFilter, ApplicationRow};
use serde::Serialize;
use uuid::Uuid;

use crate::AppState;
use crate::http::extract::Path;
use crate::http::json_api::{Document, Resource, timestamp};
use crate::http::{ApiError, ApiVersion, ListParams, Now, NpqProvider};

/// An application's attributes, as in the v3 spec.
#[derive(Debug, Serialize)]
pub(super) struct ApplicationAttributes {
    pub(super) participant_id: String,
    pub(super) full_name: String,
    pub(super) email: String,
    pub(super) email_validated: bool,
    pub(super) teacher_reference_number: Option<String>,
    pub(super) teacher_reference_number_validated: bool,
    pub(super) works_in_school: bool,
    pub(super) employer_name: Option<String>,
    pub(super) employment_role: Option<String>,
    pub(super) school_urn: Option<String>,
    pub(super) private_childcare_provider_urn: Option<String>,
    pub(super) school_ukprn: Option<String>,
    pub(super) headteacher_status: Option<String>,
    pub(super) eligible_for_funding: bool,
    pub(super) funding_choice: Option<String>,
    pub(super) course_identifier: String,
    pub(super) status: String,
    pub(super) created_at: String,
    pub(super) updated_at: String,
    pub(super) ineligible_for_funding_reason: Option<&'static str>,
    pub(super) cohort: String,
    pub(super) targeted_delivery_funding_eligibility: bool,
    pub(super) teacher_catchment: Option<bool>,
    pub(super) teacher_catchment_country: Option<String>,
    pub(super) teacher_catchment_iso_country_code: Option<String>,
    pub(super) lead_mentor: Option<bool>,
    pub(super) itt_provider: Option<String>,
}

pub(super) type ApplicationResource = Resource<ApplicationAttributes>;

impl From<ApplicationRow> for ApplicationResource {
    fn from(row: ApplicationRow) -> Self {
        let ineligible_for_funding_reason =
            ineligible_for_funding_reason(row.previously_funded, row.eligible_for_funding);
        Resource {
            id: row.id.to_string(),
            kind: "npq_application",
            attributes: ApplicationAttributes {
                participant_id: row.participant_id.to_string(),
                full_name: row.full_name,
                email: row.email,
                email_validated: true,
                teacher_reference_number: row.trn,
                teacher_reference_number_validated: row.trn_validated,
                works_in_school: row.works_in_school,
                employer_name: row.employer_name,
                employment_role: row.employment_role,
                school_urn: row.school_urn,
                private_childcare_provider_urn: row.private_childcare_provider_urn,
                school_ukprn: row.school_ukprn,
                headteacher_status: row.headteacher_status,
                eligible_for_funding: ineligible_for_funding_reason.is_none(),
                funding_choice: row.funding_choice,
                course_identifier: row.course_identifier,
                status: row.status,
                created_at: timestamp(row.created_at),
                updated_at: timestamp(row.updated_at),
                ineligible_for_funding_reason,
                cohort: row.cohort.to_string(),
                targeted_delivery_funding_eligibility: row.targeted_delivery_funding_eligibility,
                teacher_catchment: row
                    .teacher_catchment
                    .as_deref()
                    .map(|area| UK_CATCHMENTS.contains(&area)),
                teacher_catchment_country: row.teacher_catchment_country,
                teacher_catchment_iso_country_code: row.teacher_catchment_iso_country_code,
                lead_mentor: row.lead_mentor,
                itt_provider: row.itt_provider,
            },
        }
    }
}

/// The list filters of `version`: v3 takes a list of cohorts and a participant; v1 and v2 one
/// cohort (a value that is not a year matches nothing).
pub(super) fn application_filter(
    params: &ListParams,
    version: ApiVersion,
) -> Result<ApplicationFilter, ApiError> {
    let updated_since = params.date_filter("updated_since")?;
    Ok(match version {
        ApiVersion::V3 => ApplicationFilter {
            cohorts: params.cohorts(),
            participant_id: params
                .filter("participant_id")
                .map(|id| Uuid::parse_str(id).unwrap_or_default()),
            updated_since,
            accepted: false,
        },
        ApiVersion::V1 | ApiVersion::V2 => ApplicationFilter {
            cohorts: params
                .filter("cohort")
                .map(|year| year.parse().into_iter().collect()),
            updated_since,
            ..ApplicationFilter::default()
        },
    })
}

/// The caller's applications, oldest first; in v3 `sort` reorders the page.
pub(super) async fn list_applications(
    State(app): State<AppState>,
    NpqProvider(provider): NpqProvider,
    version: ApiVersion,
    params: ListParams,
) -> Result<Document<Vec<ApplicationResource>>, ApiError> {
    let filter = application_filter(&params, version)?;
    let mut rows = npq::list_applications(&app.pool, provider.id.0, &filter, params.page).await?;
    if version == ApiVersion::V3 {
        params.sort_page(&mut rows, |row| (row.created_at, row.updated_at));
    }
    Ok(Document {
        data: rows.into_iter().map(Resource::from).collect(),
    })
}

/// One of the caller's applications.
pub(super) async fn show_application(
    State(app): State<AppState>,
    NpqProvider(provider): NpqProvider,
    Path(id): Path<String>,
) -> Result<Document<ApplicationResource>, ApiError> {
    let row = crate::flows::npq::own_application(&app.ledger, provider.id, &id).await?;
    Ok(Document { data: row.into() })
}

/// Accepts one of the caller's applications.
pub(super) async fn accept(
    State(app): State<AppState>,
    NpqProvider(provider): NpqProvider,
    Now(now): Now,
    Path(id): Path<String>,
) -> Result<Document<ApplicationResource>, ApiError> {
    let row =
        crate::flows::npq::accept(&app.ledger, provider.id, &id, now, &provider.context).await?;
    Ok(Document { data: row.into() })
}

/// Rejects one of the caller's applications.
pub(super) async fn reject(
    State(app): State<AppState>,
    NpqProvider(provider): NpqProvider,
    Now(now): Now,
    Path(id): Path<String>,
) -> Result<Document<ApplicationResource>, ApiError> {
    let row =
        crate::flows::npq::reject(&app.ledger, provider.id, &id, now, &provider.context).await?;
    Ok(Document { data: row.into() })
}
