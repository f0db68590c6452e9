//! Declaring: submitting and voiding a provider's declarations, shared by the API and the
//! seeds. Each looks up the facts the declaration slot needs, runs it, and answers from what it
//! committed, without waiting for the read models.

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
    // The rules read the participant's records, the reference data and the statements, which
    // no declaration changes: the submission does not wait for other declarations to be shown.
    ledger.read_barrier(&[DeclarationSlot::TYPE]).await?;
    let pool = ledger.pool();
    let mut found = lookup::declaration_resolution(pool, provider, &request, now).await?;
    if found.shares_trn {
        // Except when another person holds the participant's TRN: then they read that
        // person's declarations, so those must be shown first.
        ledger.read_barrier(&[]).await?;
        found = lookup::declaration_resolution(pool, provider, &request, now).await?;
    }
    let slot = lookup::slot_for(&request, &found.resolution);
    let declaration_id = DeclarationId(Uuid::new_v4());
    let submission = Submission {
        statement: found.statement,
        declaration_id,
        lead_provider_id: provider,
        request,
        resolution: found.resolution,
        now,
    };
    let command = DeclarationSlotCommand::Submit(Box::new(submission));
    let history = ledger
        .record::<DeclarationSlot>(&slot, command, context)
        .await?;
    // The new declaration, or, for an exact resend, the live one accepted before.
    answer(ledger, &slot, &history, Some(declaration_id)).await
}

/// The declaration `id` as its slot's committed `history` leaves it: a write's answer, built
/// from its own commit. Without `id`, or when the slot does not hold it (an exact resend), the
/// live declaration, as the read models show it.
async fn answer(
    ledger: &Ledger,
    slot_id: &str,
    history: &[(DeclarationSlotEvent, DateTime<Utc>)],
    id: Option<DeclarationId>,
) -> Result<DeclarationRow, DeclareError> {
    let mut slot = DeclarationSlot::default();
    let mut created = std::collections::HashMap::new();
    for (event, recorded_at) in history {
        if let DeclarationSlotEvent::Submitted(declaration) = event {
            created.insert(declaration.id, *recorded_at);
        }
        slot.apply(event.clone());
    }
    let requested = id.filter(|id| slot.declaration(*id).is_some());
    let Some((id, created_at)) = requested.and_then(|id| Some((id, *created.get(&id)?))) else {
        // An exact resend (the live declaration accepted before, whose state statements may
        // have moved since), or a declaration moved in from a retired id's slot (whose history
        // holds its submission): the read model holds it as it now stands, and shows this
        // write once it has passed the barrier.
        let id = match requested {
            Some(id) => id,
            None => slot.live().ok_or(DeclareError::NotCommitted)?.id,
        };
        let (declaration, _) = slot.declaration(id).ok_or(DeclareError::NotCommitted)?;
        ledger.read_barrier(&[]).await?;
        return declarations::find_own(ledger.pool(), declaration.lead_provider_id, id.0)
            .await?
            .ok_or(DeclareError::NotCommitted);
    };
    let (declaration, state) = slot.declaration(id).ok_or(DeclareError::NotCommitted)?;
    let lead_provider_name = ledger
        .lead_provider_name(declaration.lead_provider_id)
        .await?;
    Ok(DeclarationRow {
        id: declaration.id.0,
        slot_id: slot_id.to_owned(),
        participant_id: declaration.participant_id.0,
        training_record_id: declaration.training_record_id.0,
        lead_provider_id: declaration.lead_provider_id.0,
        lead_provider_name,
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
        updated_at: history.last().map_or(created_at, |(_, at)| *at),
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
    let history = ledger
        .record::<DeclarationSlot>(&declaration.slot_id, command, context)
        .await?;
    if let Some(held) = held {
        held.commit().await?;
    }
    answer(
        ledger,
        &declaration.slot_id,
        &history,
        Some(DeclarationId(declaration.id)),
    )
    .await
}
