//! Marking a payable statement paid: a confirmation page, then the form it posts, recorded
//! with the signed-in finance user as actor.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::pages::{internal, money, state_name, statement_path};
use super::statement::priced;
use super::{FinanceSession, page, problem};
use crate::AppState;
use crate::finance::{self, FinanceError, StatementStatus};
use crate::http::Now;

/// Asks finance to confirm that a payable statement is paid.
#[utoipa::path(
    get,
    path = "/finance/providers/{provider}/statements/{statement}/pay",
    tag = "finance",
    operation_id = "finance_page_confirm_payment",
    description = "For browsers: an HTML page, behind the `cpd_finance_session` cookie, asking \
        to confirm that a payable statement was paid; its form posts to this path.",
    security(("financeSession" = [])),
    params(
        ("provider" = Uuid, Path, description = "The lead provider"),
        ("statement" = Uuid, Path, description = "The provider's statement"),
    ),
    responses(
        (status = 200, description = "The confirmation form", content_type = "text/html", body = String),
        (status = 303, description = "No live finance session: to the sign-in page", headers(("Location" = String, description = "`/finance/login`"))),
        (status = 400, description = "An id is not a UUID", content_type = "text/plain", body = String),
        (status = 404, description = "No such statement of the provider", content_type = "text/html", body = String),
        (status = 409, description = "The statement is not payable", content_type = "text/html", body = String),
    ),
)]
pub async fn confirm(
    State(app): State<AppState>,
    session: FinanceSession,
    Path(ids): Path<(Uuid, Uuid)>,
) -> Response {
    let priced = match priced(&app, &session, ids, None).await {
        Ok(priced) => priced,
        Err(page) => return page,
    };
    let path = statement_path(&priced);
    if priced.status != StatementStatus::Payable {
        let message = format!(
            "The {} statement is {}: only a payable statement can be marked paid.",
            priced.name,
            state_name(priced.status)
        );
        return problem(StatusCode::CONFLICT, Some(&session), &message);
    }
    let title = format!("Mark the {} statement paid", priced.name);
    let body = html! {
        h1 { (title) }
        p { "This records that the " (priced.name) " statement ("
            (priced.programme.to_uppercase()) ", cohort " (priced.cohort) ") was paid "
            strong { (money(priced.total_with_vat)) } " including VAT. Its payable declarations "
            "become paid and its clawbacks clawed back. This cannot be undone." }
        form.confirm method="post" action={ (path) "/pay" } {
            input type="hidden" name="csrf" value=(session.csrf);
            button.primary #confirm-pay type="submit" { "Confirm: mark as paid" }
            " "
            a href=(path) { "Cancel" }
        }
    };
    page(StatusCode::OK, &title, Some(&session), body)
}

/// The confirmation form.
#[derive(Deserialize, ToSchema)]
pub struct PayForm {
    /// The CSRF token of the confirmation page's form.
    csrf: String,
}

/// Marks the statement paid and goes back to it.
#[utoipa::path(
    post,
    path = "/finance/providers/{provider}/statements/{statement}/pay",
    tag = "finance",
    operation_id = "finance_page_pay",
    description = "For browsers: the confirmation page's form, behind the `cpd_finance_session` \
        cookie. Records the payment with the signed-in finance token as actor.",
    security(("financeSession" = [])),
    params(
        ("provider" = Uuid, Path, description = "The lead provider"),
        ("statement" = Uuid, Path, description = "The provider's statement"),
    ),
    request_body(content = PayForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Paid: back to the statement's page; or, with no live finance session, to the sign-in page",
            headers(("Location" = String, description = "The statement's page, or `/finance/login`"))),
        (status = 400, description = "An id is not a UUID", content_type = "text/plain", body = String),
        (status = 403, description = "The form's CSRF token is not the session's", content_type = "text/html", body = String),
        (status = 404, description = "No such statement of the provider", content_type = "text/html", body = String),
        (status = 409, description = "The statement cannot be marked paid", content_type = "text/html", body = String),
        (status = 422, description = "The form lacks its CSRF token", content_type = "text/plain", body = String),
    ),
)]
pub async fn pay(
    State(app): State<AppState>,
    session: FinanceSession,
    Now(now): Now,
    Path(ids): Path<(Uuid, Uuid)>,
    Form(form): Form<PayForm>,
) -> Response {
    if let Some(refused) = session.refuse_forged(&app, &form.csrf) {
        return refused;
    }
    let priced = match priced(&app, &session, ids, None).await {
        Ok(priced) => priced,
        Err(page) => return page,
    };
    let id = aggregates::StatementId(priced.id);
    match finance::pay(&app.ledger, id, now, &session.context).await {
        Ok(()) => Redirect::to(&statement_path(&priced)).into_response(),
        Err(FinanceError::Statement(refusal)) => {
            let message = format!("The statement cannot be marked paid: {refusal}");
            problem(StatusCode::CONFLICT, Some(&session), &message)
        }
        Err(error) => internal(&session, error),
    }
}
