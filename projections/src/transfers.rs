//! Transfers: participants who left one school for another, paired from their stints.

use aggregates::LeadProviderId;
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// A stint with what the transfer list shows of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferStint {
    /// The training record.
    pub training_record_id: Uuid,
    /// The person.
    pub participant_id: Uuid,
    /// Order within the record.
    pub seq: i32,
    /// The provider.
    pub lead_provider_id: Uuid,
    /// Its name.
    pub provider_name: String,
    /// The school.
    pub school_urn: String,
    /// When the stint starts.
    pub start_at: DateTime<Utc>,
    /// When the school said it ends.
    pub end_at: Option<DateTime<Utc>>,
    /// Whether it came from a transfer.
    pub transfer: bool,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When anything about the person last changed.
    pub participant_updated_at: DateTime<Utc>,
}

/// One leaving stint paired with the stint that took the participant on, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// The leaving stint.
    pub leaving: TransferStint,
    /// The joining stint; none while nobody has taken the participant on.
    pub joining: Option<TransferStint>,
}

/// Every stint of the records with a transfer the provider is part of (leaving or joining),
/// optionally for one person, ordered by person, record and stint.
pub async fn stints(
    db: impl PgExecutor<'_>,
    provider: LeadProviderId,
    participant: Option<Uuid>,
) -> Result<Vec<TransferStint>, sqlx::Error> {
    sqlx::query_as!(
        TransferStint,
        r#"
        select s.training_record_id, r.participant_id, s.seq, s.lead_provider_id,
               lp.name as provider_name, s.school_urn, s.start_at, s.end_at, s.transfer,
               s.created_at, s.updated_at, p.updated_at as participant_updated_at
        from stints s
        join training_records r on r.id = s.training_record_id
        join participants p on p.id = r.participant_id
        join lead_providers lp on lp.id = s.lead_provider_id
        where s.training_record_id in (
            select l.training_record_id from stints l
            where l.end_at is not null
              and (l.lead_provider_id = $1 or exists (
                  select 1 from stints j
                  where j.training_record_id = l.training_record_id and j.transfer
                    and j.lead_provider_id = $1)))
          and ($2::uuid is null or r.participant_id = $2)
        order by p.created_at, r.participant_id, s.training_record_id, s.seq
        "#,
        provider.0,
        participant,
    )
    .fetch_all(db)
    .await
}

/// Pairs each leaving stint with the next unused transfer stint at another school, and keeps
/// the pairs the provider may see: those it is on either side of, and its own unpaired ones.
pub fn pair(stints: &[TransferStint], provider: LeadProviderId) -> Vec<Transfer> {
    let mut used = vec![false; stints.len()];
    let mut transfers = Vec::new();
    for (i, leaving) in stints.iter().enumerate() {
        if leaving.end_at.is_none() {
            continue;
        }
        let joining = stints.iter().enumerate().skip(i + 1).find(|(j, s)| {
            !used[*j]
                && s.training_record_id == leaving.training_record_id
                && s.transfer
                && s.school_urn != leaving.school_urn
        });
        if let Some((j, _)) = joining {
            used[j] = true;
        }
        let joining = joining.map(|(_, s)| s.clone());
        let visible = leaving.lead_provider_id == provider.0
            || joining
                .as_ref()
                .is_some_and(|j| j.lead_provider_id == provider.0);
        if visible {
            transfers.push(Transfer {
                leaving: leaving.clone(),
                joining,
            });
        }
    }
    transfers
}
