//! A statement's assurance report: every declaration on it, billed or clawed back, as CSV,
//! streamed from a cursor so that its size does not matter.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use super::FinanceSession;
use super::statement::priced;
use crate::AppState;
use crate::http::csv_export::csv_response;
use crate::http::json_api::timestamp;

/// One row of the report, in column order.
#[derive(Serialize)]
struct AssuranceLine {
    declaration_id: Uuid,
    participant_id: Uuid,
    participant_name: String,
    trn: String,
    course_identifier: String,
    declaration_type: String,
    declaration_date: String,
    state: String,
    line: String,
    schedule: String,
    cohort: i32,
    pupil_premium_uplift: bool,
    sparsity_uplift: bool,
    targeted_delivery_funding: bool,
    delivery_partner_id: Option<Uuid>,
    delivery_partner_name: String,
    statement_name: String,
}

impl From<projections::assurance::AssuranceRow> for AssuranceLine {
    fn from(row: projections::assurance::AssuranceRow) -> Self {
        Self {
            declaration_id: row.declaration_id,
            participant_id: row.participant_id,
            participant_name: row.participant_name.unwrap_or_default(),
            trn: row.trn.unwrap_or_default(),
            course_identifier: row.course_identifier,
            declaration_type: row.declaration_type,
            declaration_date: timestamp(row.declaration_date),
            state: row.state,
            line: row.line,
            schedule: row.schedule.unwrap_or_default(),
            cohort: row.cohort,
            pupil_premium_uplift: row.pupil_premium_uplift,
            sparsity_uplift: row.sparsity_uplift,
            targeted_delivery_funding: row.targeted_delivery_funding,
            delivery_partner_id: row.delivery_partner_id,
            delivery_partner_name: row.delivery_partner_name.unwrap_or_default(),
            statement_name: row.statement_name,
        }
    }
}

/// The assurance report of one of the provider's statements, as a download.
#[utoipa::path(
    get,
    path = "/finance/providers/{provider}/statements/{statement}/assurance.csv",
    tag = "finance",
    operation_id = "finance_page_assurance_report",
    description = "For browsers: a download, behind the `cpd_finance_session` cookie, of every \
        declaration on the statement, billed or clawed back, one CSV row each.",
    security(("financeSession" = [])),
    params(
        ("provider" = Uuid, Path, description = "The lead provider"),
        ("statement" = Uuid, Path, description = "The provider's statement"),
    ),
    responses(
        (status = 200, description = "The report, as an attachment named after the programme, cohort and statement",
            content_type = "text/csv", body = String,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"assurance-….csv\"`"))),
        (status = 303, description = "No live finance session: to the sign-in page", headers(("Location" = String, description = "`/finance/login`"))),
        (status = 400, description = "An id is not a UUID", content_type = "text/plain", body = String),
        (status = 404, description = "No such statement of the provider", content_type = "text/html", body = String),
    ),
)]
pub async fn report(
    State(app): State<AppState>,
    session: FinanceSession,
    Path(ids): Path<(Uuid, Uuid)>,
) -> Response {
    let statement = match priced(&app, &session, ids, None).await {
        Ok(priced) => priced,
        Err(page) => return page,
    };
    let pool = app.pool.clone();
    let id = statement.id;
    let exported = csv_response(move |mut sink| async move {
        let rows = projections::assurance::assurance(&pool, id);
        sink.rows(rows, AssuranceLine::from).await?;
        Ok(sink)
    })
    .await;
    let mut response = match exported {
        Ok(response) => response,
        Err(error) => return error.into_response(),
    };
    let name: String = format!(
        "assurance-{}-{}-{}",
        statement.programme, statement.cohort, statement.name
    )
    .chars()
    .map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        }
    })
    .collect();
    let disposition = format!("attachment; filename=\"{name}.csv\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
