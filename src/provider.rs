//! Provider-side command flows shared by the API and the sandbox seed: each looks up the facts
//! a command needs, runs it, and reads back the result.

use aggregates::declaration::{
    DeclarationRejection, DeclarationRequest, DeclarationSlot, DeclarationSlotCommand, Resolution,
    Submission,
};
use aggregates::{DeclarationId, LeadProviderId, Programme};
use chrono::{DateTime, Utc};
use projections::declarations::{self, DeclarationRow};
use uuid::Uuid;

use crate::ledger::{CommandContext, Ledger, LedgerError};
use crate::lookup;

/// Why a declaration command failed.
#[derive(Debug, thiserror::Error)]
pub enum DeclareError {
    /// The slot refused it, or the store failed.
    #[error(transparent)]
    Rejected(#[from] LedgerError<DeclarationRejection>),
    /// The read models failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The committed declaration is not (yet) in the read model.
    #[error("the declaration was committed but the read model does not show it yet")]
    NotProjected,
}

/// Submits a declaration and returns it: the new declaration, or, for an exact resend, the
/// one accepted before.
pub async fn submit_declaration(
    ledger: &Ledger,
    provider: LeadProviderId,
    request: DeclarationRequest,
    now: DateTime<Utc>,
    context: &CommandContext,
) -> Result<DeclarationRow, DeclareError> {
    let pool = ledger.pool();
    let resolution = lookup::declaration_resolution(pool, provider, &request).await?;
    let slot = lookup::slot_for(&request, &resolution);
    let declaration_id = DeclarationId(Uuid::new_v4());
    let statement = match &resolution {
        Resolution::Found(facts) => {
            let programme = facts.course.programme();
            crate::finance::open_statement(ledger, provider, programme, facts.cohort, now).await?
        }
        _ => None,
    };
    let submission = Submission {
        statement,
        declaration_id,
        lead_provider_id: provider,
        request,
        resolution,
        now,
    };
    let command = DeclarationSlotCommand::Submit(Box::new(submission));
    ledger
        .execute::<DeclarationSlot>(&slot, command, context)
        .await?;
    if let Some(new) = declarations::find_own(pool, provider, declaration_id.0).await? {
        return Ok(new);
    }
    declarations::live_in_slot(pool, &slot)
        .await?
        .ok_or(DeclareError::NotProjected)
}

/// Voids one of the provider's declarations and returns it as it now stands; a paid one is
/// clawed back on the statement open at `now`.
pub async fn void_declaration(
    ledger: &Ledger,
    provider: LeadProviderId,
    declaration: &DeclarationRow,
    now: DateTime<Utc>,
    context: &CommandContext,
) -> Result<DeclarationRow, DeclareError> {
    let clawback_statement = match declaration.state.as_str() {
        "paid" => {
            let programme = match declaration.course_identifier.starts_with("npq-") {
                true => Programme::Npq,
                false => Programme::Ecf,
            };
            crate::finance::open_statement(ledger, provider, programme, declaration.cohort, now)
                .await?
        }
        _ => None,
    };
    let command = DeclarationSlotCommand::Void {
        declaration_id: DeclarationId(declaration.id),
        lead_provider_id: provider,
        clawback_statement,
        statement_paid: declaration.state == "paid",
    };
    ledger
        .execute::<DeclarationSlot>(&declaration.slot_id, command, context)
        .await?;
    declarations::find_own(ledger.pool(), provider, declaration.id)
        .await?
        .ok_or(DeclareError::NotProjected)
}
