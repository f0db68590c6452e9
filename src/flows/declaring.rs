//! Declaring: submitting and voiding a provider's declarations, shared by the API and the
//! seeds. Each looks up the facts the declaration slot needs, runs it, and reads back the result.

use aggregates::course::Course;
use aggregates::declaration::{
    DeclarationError, DeclarationRejection, DeclarationRequest, DeclarationSlot,
    DeclarationSlotCommand, DeclarationSlotEvent, Submission,
};
use aggregates::{DeclarationId, LeadProviderId, Programme, Statement, StatementId};
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
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
    /// The declaration's own committed events do not show it: a fault of ours.
    #[error("the declaration is not in its slot's committed events")]
    NotCommitted,
    /// A stored event of the slot does not decode.
    #[error("a declaration slot event does not decode: {0}")]
    Decode(#[from] serde_json::Error),
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
    match submit_once(ledger, provider, request.clone(), now, context).await {
        // The participant id was retired between the lookup and the commit: the lookup now
        // resolves it to the kept person.
        Err(DeclareError::Rejected(LedgerError::Rejected(rejection)))
            if rejection.0 == [DeclarationError::ParticipantRetired] =>
        {
            submit_once(ledger, provider, request, now, context).await
        }
        result => result,
    }
}

async fn submit_once(
    ledger: &Ledger,
    provider: LeadProviderId,
    request: DeclarationRequest,
    now: DateTime<Utc>,
    context: &CommandContext,
) -> Result<DeclarationRow, DeclareError> {
    let pool = ledger.pool();
    let (resolution, statement) =
        lookup::declaration_resolution(pool, provider, &request, now).await?;
    let slot = lookup::slot_for(&request, &resolution);
    let declaration_id = DeclarationId(Uuid::new_v4());
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
    if let Some(resent) = declarations::live_in_slot(pool, &slot).await? {
        return Ok(resent);
    }
    from_commit(ledger, &slot, Some(declaration_id)).await
}

/// The declaration as its slot's committed events leave it, for answering a write that the
/// read model does not show yet (it is halted, or slower than the wait): the answer never shows
/// the state before the write. `id` names the declaration; without it, the live one.
async fn from_commit(
    ledger: &Ledger,
    slot_id: &str,
    id: Option<DeclarationId>,
) -> Result<DeclarationRow, DeclareError> {
    let pool = ledger.pool();
    let events = projections::event::of_aggregate(pool, DeclarationSlot::TYPE, slot_id).await?;
    let mut slot = DeclarationSlot::default();
    let mut created = std::collections::HashMap::new();
    for event in &events {
        let decoded: DeclarationSlotEvent = event.decode()?;
        if let DeclarationSlotEvent::Submitted(declaration) = &decoded {
            created.insert(declaration.id, event.recorded_at);
        }
        slot.apply(decoded);
    }
    let id = match id {
        Some(id) if slot.declaration(id).is_some() => id,
        _ => slot.live().ok_or(DeclareError::NotCommitted)?.id,
    };
    let (declaration, state) = slot.declaration(id).ok_or(DeclareError::NotCommitted)?;
    let provider = projections::lead_providers::find(pool, declaration.lead_provider_id).await?;
    let created_at = created
        .get(&id)
        .copied()
        .ok_or(DeclareError::NotCommitted)?;
    tracing::warn!(%slot_id, "answering a committed declaration from its events: the read model does not show it yet");
    Ok(DeclarationRow {
        id: declaration.id.0,
        slot_id: slot_id.to_owned(),
        participant_id: declaration.participant_id.0,
        training_record_id: declaration.training_record_id.0,
        lead_provider_id: declaration.lead_provider_id.0,
        lead_provider_name: provider.map(|p| p.name).unwrap_or_default(),
        course_identifier: declaration.course.as_str().to_owned(),
        declaration_type: declaration.declaration_type.as_str().to_owned(),
        declaration_date: declaration.declaration_date,
        evidence_held: declaration.evidence_held.clone(),
        state: state.as_str().to_owned(),
        superseded_by: declaration.superseded_by.map(|s| s.0),
        delivery_partner_id: declaration.delivery_partner_id.map(|p| p.0),
        mentor_id: declaration.mentor_id.map(|m| m.0),
        pupil_premium_uplift: declaration.pupil_premium_uplift,
        sparsity_uplift: declaration.sparsity_uplift,
        cohort: declaration.cohort,
        statement_id: declaration.statement_id.map(|s| s.0),
        clawback_statement_id: declaration.clawback_statement_id.map(|s| s.0),
        targeted_delivery_funding: declaration.targeted_delivery_funding,
        has_passed: declaration.has_passed.filter(|_| state.is_live()),
        created_at,
        updated_at: events.last().map_or(created_at, |event| event.recorded_at),
    })
}

/// Voids one of the provider's declarations and returns it as it now stands; a paid one is
/// clawed back on the statement open at `now`. Whether its statement is paid is read from the
/// log while that statement's payment is held (a payment racing the void either committed
/// before, and is read, or waits until the void is recorded).
pub async fn void_declaration(
    ledger: &Ledger,
    provider: LeadProviderId,
    declaration: &DeclarationRow,
    now: DateTime<Utc>,
    context: &CommandContext,
) -> Result<DeclarationRow, DeclareError> {
    let statement = declaration.statement_id.map(StatementId);
    let held = match statement {
        Some(statement) => Some(crate::finance::hold_payment(ledger, statement, false).await?),
        None => None,
    };
    let statement_paid = match statement {
        Some(statement) => {
            projections::event::recorded(
                ledger.pool(),
                Statement::TYPE,
                &statement.to_string(),
                "Paid",
            )
            .await?
        }
        None => false,
    };
    let clawback_statement = match statement_paid || declaration.state == "paid" {
        true => {
            let programme = Course::parse(&declaration.course_identifier)
                .map_or(Programme::Ecf, Course::programme);
            crate::finance::open_statement(ledger, provider, programme, declaration.cohort, now)
                .await?
        }
        false => None,
    };
    let command = DeclarationSlotCommand::Void {
        declaration_id: DeclarationId(declaration.id),
        lead_provider_id: provider,
        clawback_statement,
        statement_paid,
    };
    let written = ledger
        .submit::<DeclarationSlot>(&declaration.slot_id, command, context)
        .await?;
    if let Some(held) = held {
        held.commit().await?;
    }
    ledger.settle(DeclarationSlot::TYPE, written, context).await;
    let shown = declarations::find_own(ledger.pool(), provider, declaration.id).await?;
    match shown {
        Some(row) if row.updated_at > declaration.updated_at || row.state != declaration.state => {
            Ok(row)
        }
        // The read model does not show the void yet.
        _ => {
            from_commit(
                ledger,
                &declaration.slot_id,
                Some(DeclarationId(declaration.id)),
            )
            .await
        }
    }
}
