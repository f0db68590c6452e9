//! The statement lifecycle: choosing the statement a line goes on, closing statements after
//! their deadline, paying them, and adding statements (which take the lines no statement
//! held). Each step is one event on the statement.

use aggregates::{
    LeadProviderId, Programme, Statement, StatementCommand, StatementError, StatementId,
    StatementTerms,
};
use chrono::{DateTime, Days, Utc};
use cqrs_es::Aggregate;
use projections::{declarations, finance, statements};

use super::FinanceError;
use crate::ledger::{Actor, CommandContext, Ledger, LedgerError};

/// The statement a new line of the provider's programme and cohort goes on at `now`, if one
/// is open.
pub async fn open_statement(
    ledger: &Ledger,
    provider: LeadProviderId,
    programme: Programme,
    cohort: i32,
    now: DateTime<Utc>,
) -> Result<Option<StatementId>, sqlx::Error> {
    statements::open_statement(ledger.pool(), provider, programme, cohort, now.date_naive()).await
}

/// Closes every statement whose deadline day is over at `now`, at the first instant after
/// that day; returns how many it closed. Each close is one event on the statement, and its
/// lines become payable with it (the read side moves them all in the transaction that applies
/// that event), so there is nothing left half done for a later run to finish. Safe to run
/// again: a missed run is caught up by the next.
pub async fn close_due(ledger: &Ledger, now: DateTime<Utc>) -> Result<usize, FinanceError> {
    ledger.read_barrier(&[]).await?;
    let due = statements::due(ledger.pool(), now.date_naive()).await?;
    for (statement, deadline) in &due {
        let at = (*deadline + Days::new(1))
            .and_time(Default::default())
            .and_utc();
        close(ledger, *statement, at).await?;
    }
    if !due.is_empty() {
        tracing::info!(count = due.len(), "closed statements past their deadline");
    }
    // Answer once the read side shows every closed statement's lines as payable, whether
    // this run closed them or a run that died after its commit did.
    ledger.runner().catch_up().await?;
    Ok(due.len())
}

/// Closes one statement at `at`: what it holds becomes payable.
pub async fn close(
    ledger: &Ledger,
    statement: StatementId,
    at: DateTime<Utc>,
) -> Result<(), FinanceError> {
    let context = CommandContext::of(Actor::System);
    ledger
        .execute::<Statement>(
            &statement.to_string(),
            StatementCommand::Close { at },
            &context,
        )
        .await?;
    Ok(())
}

/// Finance pays a statement: one event, by which its payable lines are paid and its
/// clawbacks clawed back. It commits while no void of one of its lines is deciding (see
/// [`hold_payment`]).
pub async fn pay(
    ledger: &Ledger,
    statement: StatementId,
    at: DateTime<Utc>,
    context: &CommandContext,
) -> Result<(), FinanceError> {
    ledger.read_barrier(&[]).await?;
    statements::state(ledger.pool(), statement)
        .await?
        .ok_or(FinanceError::UnknownStatement(statement))?;
    let id = statement.to_string();
    let held = hold_payment(ledger, statement, true).await?;
    let written = ledger
        .submit::<Statement>(&id, StatementCommand::Pay { at }, context)
        .await?;
    held.commit().await?;
    ledger.settle(Statement::TYPE, written).await;
    Ok(())
}

/// Holds a statement's payment until the returned transaction ends: a void of one of its
/// lines holds it shared while it asks the log whether the statement is paid and records its
/// decision, and the payment holds it alone while it commits. So a void never decides on a
/// payment it could not see: one committed before it began is in the log it reads, and none
/// commits until it has finished.
pub async fn hold_payment(
    ledger: &Ledger,
    statement: StatementId,
    alone: bool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    let mut held = ledger.holds().begin().await?;
    let key = format!("statement-payment:{statement}");
    match alone {
        true => {
            sqlx::query!("select pg_advisory_xact_lock(hashtextextended($1, 0))", key)
                .execute(&mut *held)
                .await?
        }
        false => {
            sqlx::query!(
                "select pg_advisory_xact_lock_shared(hashtextextended($1, 0))",
                key
            )
            .execute(&mut *held)
            .await?
        }
    };
    Ok(held)
}

/// Finance adds a statement; if it is an open output-fee statement, it takes the provider's
/// lines of that cohort that no statement held, listed in the one event that adds it.
pub async fn add_statement(
    ledger: &Ledger,
    terms: StatementTerms,
    now: DateTime<Utc>,
    context: &CommandContext,
) -> Result<StatementId, FinanceError> {
    // The lines it takes are read from the declarations: every one accepted so far.
    ledger.read_barrier(&[]).await?;
    let id = StatementId::for_calendar(
        terms.lead_provider_id,
        terms.programme,
        terms.cohort,
        &terms.name,
    );
    if projections::lead_providers::find(ledger.pool(), terms.lead_provider_id)
        .await?
        .is_none()
    {
        return Err(FinanceError::UnknownLeadProvider);
    }
    if !projections::reference::cohort_exists(ledger.pool(), terms.cohort).await? {
        return Err(FinanceError::UnknownCohort);
    }
    // Bounds first, so that a statement refused for its dates says so whatever its contract.
    StatementCommand::Create(terms.clone())
        .check_bounds()
        .map_err(|invalid| LedgerError::Rejected(StatementError::from(invalid)))?;
    if terms.programme == Programme::Ecf
        && finance::ecf_contract(
            ledger.pool(),
            terms.lead_provider_id,
            terms.cohort,
            Utc::now(),
        )
        .await?
        .is_none()
    {
        return Err(FinanceError::WithoutContract);
    }
    let (mut lines, mut clawbacks) = (Vec::new(), Vec::new());
    if terms.output_fee && terms.deadline_date >= now.date_naive() {
        let group = (
            terms.lead_provider_id,
            terms.programme.as_str(),
            terms.cohort,
        );
        for (line, clawback) in declarations::unattached_lines(ledger.pool(), group).await? {
            match clawback {
                true => clawbacks.push(line),
                false => lines.push(line),
            }
        }
    }
    let command = StatementCommand::Add {
        terms,
        lines,
        clawbacks,
    };
    ledger
        .execute::<Statement>(&id.to_string(), command, context)
        .await?;
    Ok(id)
}

/// Closes the statements due by the database's clock (the sandbox's, if it is one), read
/// afresh on every run so a moved sandbox clock applies at once: the schedulers' job.
pub async fn close_due_by_database_clock(ledger: &Ledger) -> Result<usize, FinanceError> {
    let now = crate::sandbox::now(ledger.pool()).await?;
    close_due(ledger, now).await
}
