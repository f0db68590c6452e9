//! Marking a payable statement paid: a confirmation page, then the form it posts, recorded
//! with the signed-in finance user as actor.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::pages::{internal, money, state_name, statement_path};
use super::statement::priced;
use super::{FinanceSession, page, problem};
use crate::AppState;
use crate::finance::{self, FinanceError, StatementStatus};
use crate::http::Now;

/// Asks finance to confirm that a payable statement is paid.
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

#[derive(Deserialize)]
pub struct PayForm {
    csrf: String,
}

/// Marks the statement paid and goes back to it.
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
