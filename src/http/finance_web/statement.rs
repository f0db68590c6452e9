//! One statement in full, as it stands or stood at any instant: its breakdown, its lines
//! counted, its clawbacks, and what finance can do with it.

use aggregates::{LeadProviderId, StatementId};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use maud::{Markup, html};
use projections::{assurance, lead_providers};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::pages::{internal, money, not_found, state_name, statement_path};
use super::{FinanceSession, page, problem};
use crate::AppState;
use crate::finance::{self, StatementBreakdown, StatementStatus};
use crate::http::extract::parse_instant;

/// Clawbacks listed on a statement's page; the assurance report has every one.
const CLAWBACKS_SHOWN: i64 = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOfQuery {
    /// Show the statement as it stood at this instant: the picker's `2023-10-01T12:00` (UTC)
    /// or any ISO 8601 date-time; empty or absent means now.
    #[param(example = "2023-10-01T12:00")]
    as_of: Option<String>,
}

/// An instant from the "as of" picker (`2023-10-01T12:00`, taken as UTC) or any ISO 8601
/// date-time; empty means now.
fn as_of(text: Option<&str>) -> Result<Option<DateTime<Utc>>, ()> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    parse_instant(text)
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
                .ok()
                .map(|at| at.and_utc())
        })
        .map(Some)
        .ok_or(())
}

/// A statement of the provider, priced as it stands (or stood at `as_of`), or the page to
/// answer with instead.
pub(super) async fn priced(
    app: &AppState,
    session: &FinanceSession,
    (provider, statement): (Uuid, Uuid),
    at: Option<DateTime<Utc>>,
) -> Result<StatementBreakdown, Response> {
    match finance::breakdown(&app.pool, StatementId(statement), at, |_| {}).await {
        Ok(Some(priced)) if priced.lead_provider_id == provider => Ok(priced),
        Ok(_) => Err(not_found(session)),
        Err(error) => Err(internal(session, error)),
    }
}

/// A statement in full: its breakdown, its lines counted, its clawbacks, and its actions.
#[utoipa::path(
    get,
    path = "/finance/providers/{provider}/statements/{statement}",
    tag = "finance",
    operation_id = "finance_page_statement",
    description = "For browsers: an HTML page, behind the `cpd_finance_session` cookie, showing \
        the statement priced in full, its line counts and clawbacks, and links to its assurance \
        report and, while it is payable, to marking it paid.",
    security(("financeSession" = [])),
    params(
        ("provider" = Uuid, Path, description = "The lead provider"),
        ("statement" = Uuid, Path, description = "The provider's statement"),
        AsOfQuery,
    ),
    responses(
        (status = 200, description = "The statement", content_type = "text/html", body = String),
        (status = 303, description = "No live finance session: to the sign-in page", headers(("Location" = String, description = "`/finance/login`"))),
        (status = 400, description = "`as_of` cannot be read (a page), or an id is not a UUID (text)",
            content((String = "text/html"), (String = "text/plain"))),
        (status = 404, description = "No such statement of the provider", content_type = "text/html", body = String),
    ),
)]
pub async fn show(
    State(app): State<AppState>,
    session: FinanceSession,
    Path(ids): Path<(Uuid, Uuid)>,
    Query(query): Query<AsOfQuery>,
) -> Response {
    let Ok(at) = as_of(query.as_of.as_deref()) else {
        let message = "The \"as of\" date and time is not one we can read: use the picker.";
        return problem(StatusCode::BAD_REQUEST, Some(&session), message);
    };
    let priced = match priced(&app, &session, ids, at).await {
        Ok(priced) => priced,
        Err(page) => return page,
    };
    let counts = assurance::line_counts(&app.pool, ids.1).await;
    let clawbacks = assurance::clawbacks(&app.pool, ids.1, CLAWBACKS_SHOWN).await;
    let (counts, clawbacks) = match (counts, clawbacks) {
        (Ok(counts), Ok(clawbacks)) => (counts, clawbacks),
        (Err(error), _) | (_, Err(error)) => return internal(&session, error),
    };
    let provider = lead_providers::find(&app.pool, LeadProviderId(ids.0))
        .await
        .ok()
        .flatten()
        .map_or_else(|| "Lead provider".to_owned(), |row| row.name);
    let path = statement_path(&priced);
    let group_path = format!(
        "/finance/providers/{}?programme={}&cohort={}",
        ids.0, priced.programme, priced.cohort
    );
    let picker = at.map(|at| at.format("%Y-%m-%dT%H:%M:%S").to_string());
    let body = html! {
        nav.crumbs {
            a href="/finance" { "Lead providers" } " › "
            a href=(group_path) { (provider) " " (priced.programme.to_uppercase()) " " (priced.cohort) }
        }
        h1 { (priced.name) " statement" }
        dl.facts {
            dt { "Lead provider" } dd { (provider) }
            dt { "Programme" } dd { (priced.programme.to_uppercase()) ", cohort " (priced.cohort) }
            dt { "State" } dd { span #state class={ "state " (state_name(priced.status)) } { (state_name(priced.status)) } }
            dt { "Deadline" } dd { (priced.deadline_date) }
            dt { "Payment date" } dd { (priced.payment_date) }
            dt { "Shown as of" } dd #as-of { @match at { Some(at) => { (at.to_rfc3339()) } None => { "now" } } }
        }
        form.as-of method="get" action=(path) {
            label for="as_of" { "As of (UTC)" }
            input #as_of type="datetime-local" name="as_of" step="1" value=[picker];
            button type="submit" { "Show as it stood" }
            @if at.is_some() { " " a href=(path) { "Show now" } }
        }
        p.actions {
            a.button #assurance href={ (path) "/assurance.csv" } download { "Download the assurance report (CSV)" }
            @if priced.status == StatementStatus::Payable && at.is_none() {
                " " a.button.primary #pay href={ (path) "/pay" } { "Mark as paid" }
            }
        }
        h2 { "Breakdown" }
        (breakdown(&priced))
        h2 { "Lines" }
        @if at.is_some() {
            p.note { "Line counts and clawbacks are as they are now; the figures above are as of the time chosen." }
        }
        @if counts.is_empty() {
            p { "No declarations are on this statement." }
        } @else {
            div.scroll {
                table #line-counts {
                    thead { tr { th { "Line" } th { "Declaration type" } th { "State" } th.num { "Count" } } }
                    tbody {
                        @for count in &counts {
                            tr {
                                td { @if count.clawback { "clawback" } @else { "billable" } }
                                td { (count.declaration_type) }
                                td { (count.state) }
                                td.num { (count.count) }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Clawbacks" }
        @if clawbacks.is_empty() {
            p { "Nothing is clawed back on this statement." }
        } @else {
            div.scroll {
                table #clawbacks {
                    thead { tr { th { "Declaration" } th { "Participant" } th { "Course" } th { "Type" } th { "State" } th { "Paid on" } } }
                    tbody {
                        @for line in &clawbacks {
                            tr {
                                td.id { (line.id) }
                                td.id { (line.participant_id) }
                                td { (line.course_identifier) }
                                td { (line.declaration_type) }
                                td { (line.state) }
                                td { (line.paid_on.as_deref().unwrap_or("–")) }
                            }
                        }
                    }
                }
            }
            @if clawbacks.len() as i64 == CLAWBACKS_SHOWN {
                p.note { "Only the first " (CLAWBACKS_SHOWN) " are listed; the assurance report has them all." }
            }
        }
    };
    let title = format!("{} statement", priced.name);
    page(StatusCode::OK, &title, Some(&session), body)
}

/// The figures of the JSON breakdown, as tables.
fn breakdown(priced: &StatementBreakdown) -> Markup {
    let uplift_label = match priced.programme.as_str() {
        "npq" => "Targeted delivery funding",
        _ => "Uplift fees",
    };
    html! {
        @if !priced.bands.is_empty() {
            div.scroll {
                table #bands {
                    thead { tr { th { "Declaration type" } th { "Band" } th.num { "Fee" } th.num { "Paid" } th.num { "Output" } th.num { "Clawed back" } th.num { "Clawback" } } }
                    tbody {
                        @for band in &priced.bands {
                            tr {
                                td { (band.declaration_type) } td { (band.band) } td.num { (money(band.fee)) }
                                td.num { (band.additions) } td.num { (money(band.output_fee)) }
                                td.num { (band.subtractions) } td.num { (money(band.clawback)) }
                            }
                        }
                    }
                }
            }
        }
        @if !priced.courses.is_empty() {
            div.scroll {
                table #courses {
                    thead { tr { th { "Course" } th.num { "Billable" } th.num { "Refundable" } th.num { "Service fee" } th.num { "Output" } th.num { "Clawback" } th.num { "TDF" } th.num { "TDF refund" } th.num { "Total" } } }
                    tbody {
                        @for course in &priced.courses {
                            tr {
                                td { (course.course_identifier) } td.num { (course.billable) } td.num { (course.refundable) }
                                td.num { (money(course.service_fee)) } td.num { (money(course.output)) }
                                td.num { (money(course.clawback)) } td.num { (money(course.tdf)) }
                                td.num { (money(course.tdf_refund)) } td.num { (money(course.total)) }
                            }
                        }
                    }
                }
            }
        }
        table.totals #totals {
            tbody {
                tr { th { "Service fee" } td.num { (money(priced.service_fee)) } }
                tr { th { "Output fees" } td.num { (money(priced.output_fee)) } }
                tr { th { (uplift_label) } td.num { (money(priced.uplift_fee)) } }
                tr { th { "Clawbacks" } td.num { (money(priced.clawbacks)) } }
                tr { th { "Adjustments" } td.num { (money(priced.adjustments)) } }
                tr { th { "Total" } td.num #total { (money(priced.total)) } }
                tr { th { "VAT" } td.num #vat { (money(priced.vat)) } }
                tr { th { "Total with VAT" } td.num #total-with-vat { (money(priced.total_with_vat)) } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::as_of;

    #[test]
    fn the_picker_s_value_is_read_as_utc_and_empty_means_now() {
        let at = |text: &str| as_of(Some(text)).map(|at| at.map(|at| at.to_rfc3339()));
        assert_eq!(
            at("2023-10-01T12:30"),
            Ok(Some("2023-10-01T12:30:00+00:00".into()))
        );
        assert_eq!(
            at("2023-10-01T12:30:15"),
            Ok(Some("2023-10-01T12:30:15+00:00".into()))
        );
        assert_eq!(
            at("2023-10-01T12:30:15+01:00"),
            Ok(Some("2023-10-01T11:30:15+00:00".into()))
        );
        assert_eq!(at(""), Ok(None));
        assert_eq!(as_of(None), Ok(None));
        assert_eq!(at("yesterday"), Err(()));
    }
}
