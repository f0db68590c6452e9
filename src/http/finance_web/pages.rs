//! The pages finance reads first: the lead providers, then a provider's statements of one
//! programme and cohort in payment order; and what every finance page shares.

use aggregates::finance::pennies;
use aggregates::{LeadProviderId, Programme};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use projections::{assurance, lead_providers};
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{FinanceSession, page, problem};
use crate::AppState;
use crate::finance::{self, FinanceError, StatementBreakdown, StatementStatus};
use crate::reports::statement_page::pounds;

/// An amount as every finance page shows it: to the penny, in pounds.
pub(super) fn money(amount: Decimal) -> String {
    pounds(pennies(amount))
}

pub(super) fn state_name(status: StatementStatus) -> &'static str {
    match status {
        StatementStatus::Open => "open",
        StatementStatus::Payable => "payable",
        StatementStatus::Paid => "paid",
    }
}

pub(super) fn internal(session: &FinanceSession, error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "a finance page failed");
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        Some(session),
        "Something went wrong. Please try again.",
    )
}

pub(super) fn not_found(session: &FinanceSession) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        Some(session),
        "There is no such page.",
    )
}

/// The lead providers to choose from.
#[utoipa::path(
    get,
    path = "/finance",
    tag = "finance",
    operation_id = "finance_page_providers",
    description = "For browsers: an HTML page, behind the `cpd_finance_session` cookie that \
        signing in at `/finance/login` sets, linking to each lead provider's statements.",
    security(("financeSession" = [])),
    responses(
        (status = 200, description = "The lead providers, each linking to its statements", content_type = "text/html", body = String),
        (status = 303, description = "No live finance session: to the sign-in page", headers(("Location" = String, description = "`/finance/login`"))),
    ),
)]
pub async fn providers(State(app): State<AppState>, session: FinanceSession) -> Response {
    let providers = match lead_providers::all(&app.pool).await {
        Ok(providers) => providers,
        Err(error) => return internal(&session, error),
    };
    let body = html! {
        h1 { "Lead providers" }
        p { "Choose a lead provider to see its statements." }
        ul.choices {
            @for provider in &providers {
                li { a href={ "/finance/providers/" (provider.id) } { (provider.name) } }
            }
        }
    };
    page(StatusCode::OK, "Lead providers", Some(&session), body)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupQuery {
    /// The programme, e.g. `ecf` or `npq`: with `cohort`, the statements to list (the
    /// provider's first programme and cohort unless both are given).
    programme: Option<String>,
    /// The cohort, e.g. `2023`, with `programme`.
    cohort: Option<i32>,
}

/// A provider's statements of one programme and cohort, in payment order.
#[utoipa::path(
    get,
    path = "/finance/providers/{provider}",
    tag = "finance",
    operation_id = "finance_page_statements",
    description = "For browsers: an HTML page, behind the `cpd_finance_session` cookie, listing \
        one programme and cohort of the provider's statements with a form to choose another.",
    security(("financeSession" = [])),
    params(("provider" = Uuid, Path, description = "The lead provider"), GroupQuery),
    responses(
        (status = 200, description = "The statements in payment order, or why they cannot be priced", content_type = "text/html", body = String),
        (status = 303, description = "No live finance session: to the sign-in page", headers(("Location" = String, description = "`/finance/login`"))),
        (status = 400, description = "The provider is not a UUID or the cohort not a number", content_type = "text/plain", body = String),
        (status = 404, description = "No such lead provider", content_type = "text/html", body = String),
    ),
)]
pub async fn statements(
    State(app): State<AppState>,
    session: FinanceSession,
    Path(provider): Path<Uuid>,
    Query(query): Query<GroupQuery>,
) -> Response {
    let provider_row = match lead_providers::find(&app.pool, LeadProviderId(provider)).await {
        Ok(Some(row)) => row,
        Ok(None) => return not_found(&session),
        Err(error) => return internal(&session, error),
    };
    let groups = match assurance::groups(&app.pool, provider).await {
        Ok(groups) => groups,
        Err(error) => return internal(&session, error),
    };
    let chosen = match (&query.programme, query.cohort) {
        (Some(programme), Some(cohort)) => groups
            .iter()
            .find(|g| &g.programme == programme && g.cohort == cohort),
        _ => groups.first(),
    };
    let listed = match chosen {
        None => Ok(Vec::new()),
        Some(group) => match group.programme.parse::<Programme>() {
            Ok(programme) => {
                let key = (LeadProviderId(provider), programme, group.cohort);
                finance::breakdowns(&app.pool, key, None, |_| {}).await
            }
            Err(_) => Ok(Vec::new()),
        },
    };
    let mut statements = match listed {
        Ok(statements) => statements,
        Err(FinanceError::NoContract(_)) => {
            let message = "The provider has no contract for this cohort, so its statements \
                           cannot be priced.";
            return problem(StatusCode::OK, Some(&session), message);
        }
        Err(error) => return internal(&session, error),
    };
    statements.sort_by_key(|s| (s.payment_date, s.deadline_date, s.id));
    let mut programmes: Vec<&str> = groups.iter().map(|g| g.programme.as_str()).collect();
    programmes.dedup();
    let mut cohorts: Vec<i32> = groups.iter().map(|g| g.cohort).collect();
    cohorts.sort_unstable_by(|a, b| b.cmp(a));
    cohorts.dedup();
    let body = html! {
        nav.crumbs { a href="/finance" { "Lead providers" } " › " (provider_row.name) }
        h1 { (provider_row.name) }
        @if groups.is_empty() {
            p { "This provider has no statements." }
        } @else {
            form.choose method="get" {
                label for="programme" { "Programme" }
                select #programme name="programme" {
                    @for programme in &programmes {
                        option value=(programme) selected[chosen.is_some_and(|g| g.programme == *programme)] {
                            (programme.to_uppercase())
                        }
                    }
                }
                label for="cohort" { "Cohort" }
                select #cohort name="cohort" {
                    @for cohort in &cohorts {
                        option value=(cohort) selected[chosen.is_some_and(|g| g.cohort == *cohort)] { (cohort) }
                    }
                }
                button type="submit" { "Show statements" }
            }
        }
        @if let Some(group) = chosen {
            h2 { (group.programme.to_uppercase()) " statements, cohort " (group.cohort) }
            div.scroll {
                table #statements {
                    thead { tr { th { "Statement" } th { "State" } th { "Deadline" } th { "Payment date" } th.num { "Total" } } }
                    tbody {
                        @for statement in &statements {
                            tr {
                                td { a href=(statement_path(statement)) { (statement.name) } }
                                td { span class={ "state " (state_name(statement.status)) } { (state_name(statement.status)) } }
                                td { (statement.deadline_date) }
                                td { (statement.payment_date) }
                                td.num { (money(statement.total)) }
                            }
                        }
                    }
                }
            }
        } @else if query.programme.is_some() {
            p { "This provider has no statements of that programme and cohort." }
        }
    };
    page(StatusCode::OK, &provider_row.name, Some(&session), body)
}

pub(super) fn statement_path(statement: &StatementBreakdown) -> String {
    format!(
        "/finance/providers/{}/statements/{}",
        statement.lead_provider_id, statement.id
    )
}
