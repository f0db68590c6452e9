//! The ECF participants read model: people, their training records and each record's stints,
//! with each provider's latest stint marked. It serves `GET /api/v3/participants/ecf` and the
//! facts that provider commands look up.

mod queries;
mod reassign;
mod records;

use aggregates::training_record::{TrainingRecord, TrainingRecordEvent as V};
use async_trait::async_trait;
use cqrs_es::Aggregate;
use sqlx::PgConnection;
use uuid::Uuid;

pub use queries::*;
pub use records::*;

use crate::{Projection, ProjectionError, StoredEvent, read_model};

/// Projects training record events.
pub struct Participants;

#[async_trait]
impl Projection for Participants {
    read_model!(
        name: "ecf_participants",
        reads: [TrainingRecord::TYPE],
        resets: [
            "delete from stints",
            "delete from training_records",
            "delete from participants",
            "delete from provider_participants",
        ],
    );

    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let record = event
            .aggregate_uuid()
            .map_err(|e| ProjectionError::decode(event, e))?;
        let at = event.recorded_at;
        let decoded = event
            .decode::<V>()
            .map_err(|e| ProjectionError::decode(event, e))?;
        let placed = matches!(
            decoded,
            V::Registered(_) | V::Joined(_) | V::Reassigned { .. }
        );
        match decoded {
            V::Registered(r) => {
                sqlx::query!(
                    r#"
                    insert into participants (id, full_name, trn, created_at, updated_at)
                    values ($1, $2, $3, $4, $4)
                    on conflict (id) do update
                    set trn = coalesce(participants.trn, excluded.trn), updated_at = excluded.updated_at
                    "#,
                    r.participant_id.0,
                    r.full_name,
                    r.trn,
                    at,
                )
                .execute(&mut *conn)
                .await?;
                sqlx::query!(
                    r#"
                    insert into training_records (id, participant_id, participant_type, email,
                        trn_validated, eligible_for_funding, pupil_premium_uplift, sparsity_uplift,
                        mentor_id, cohort, schedule_identifier, created_at, updated_at)
                    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
                    on conflict (id) do nothing
                    "#,
                    record,
                    r.participant_id.0,
                    r.participant_type.as_str(),
                    r.email,
                    r.trn.is_some() && r.trn_validated,
                    r.eligible_for_funding,
                    r.pupil_premium_uplift,
                    r.sparsity_uplift,
                    r.mentor_id.map(|m| m.0),
                    r.cohort,
                    r.schedule_identifier,
                    at,
                )
                .execute(&mut *conn)
                .await?;
                let p = &r.placement;
                sqlx::query!(
                    r#"
                    insert into stints (training_record_id, seq, lead_provider_id, school_id,
                        school_urn, delivery_partner_id, start_at, transfer, latest,
                        training_status, schedule_identifier, created_at, updated_at)
                    values ($1, 0, $2, $3, $4, $5, $6, false, true, 'active', $7, $8, $8)
                    on conflict do nothing
                    "#,
                    record,
                    p.lead_provider_id.0,
                    p.school_id.0,
                    p.school_urn,
                    p.delivery_partner_id.0,
                    p.start,
                    r.schedule_identifier,
                    at,
                )
                .execute(&mut *conn)
                .await?;
            }
            V::MentorAssigned { mentor_id } => {
                sqlx::query!(
                    "update training_records set mentor_id = $2, updated_at = $3 where id = $1",
                    record,
                    mentor_id.map(|m| m.0),
                    at
                )
                .execute(&mut *conn)
                .await?;
            }
            V::FundingEligibilityChanged {
                eligible_for_funding,
            } => {
                sqlx::query!(
                    "update training_records set eligible_for_funding = $2, updated_at = $3 where id = $1",
                    record,
                    eligible_for_funding,
                    at
                )
                .execute(&mut *conn)
                .await?;
            }
            V::LeavingReported { end } => {
                sqlx::query!(
                    r#"
                    update stints set end_at = $2, updated_at = $3
                    where training_record_id = $1
                      and seq = (select max(seq) from stints where training_record_id = $1)
                    "#,
                    record,
                    end,
                    at
                )
                .execute(&mut *conn)
                .await?;
            }
            V::Joined(p) => {
                sqlx::query!(
                    r#"
                    update stints set latest = false
                    where training_record_id = $1 and lead_provider_id = $2 and latest
                    "#,
                    record,
                    p.lead_provider_id.0
                )
                .execute(&mut *conn)
                .await?;
                sqlx::query!(
                    r#"
                    insert into stints (training_record_id, seq, lead_provider_id, school_id,
                        school_urn, delivery_partner_id, start_at, transfer, latest,
                        training_status, schedule_identifier, created_at, updated_at)
                    select $1, coalesce(max(s.seq), -1) + 1, $2, $3, $4, $5, $6, true, true,
                           'active', r.schedule_identifier, $7, $7
                    from training_records r left join stints s on s.training_record_id = r.id
                    where r.id = $1
                    group by r.schedule_identifier
                    "#,
                    record,
                    p.lead_provider_id.0,
                    p.school_id.0,
                    p.school_urn,
                    p.delivery_partner_id.0,
                    p.start,
                    at,
                )
                .execute(&mut *conn)
                .await?;
            }
            V::Deferred {
                lead_provider_id,
                reason,
                at: deferred_at,
            } => {
                sqlx::query!(
                    r#"
                    update stints set training_status = 'deferred', deferral_reason = $3,
                        deferred_at = $4, updated_at = $5
                    where training_record_id = $1 and lead_provider_id = $2 and latest
                    "#,
                    record,
                    lead_provider_id.0,
                    reason,
                    deferred_at,
                    at
                )
                .execute(&mut *conn)
                .await?;
            }
            V::Resumed {
                lead_provider_id, ..
            } => {
                sqlx::query!(
                    r#"
                    update stints set training_status = 'active', deferral_reason = null,
                        deferred_at = null, updated_at = $3
                    where training_record_id = $1 and lead_provider_id = $2 and latest
                    "#,
                    record,
                    lead_provider_id.0,
                    at
                )
                .execute(&mut *conn)
                .await?;
            }
            V::Withdrawn {
                lead_provider_id,
                reason,
                at: withdrawn_at,
            } => {
                sqlx::query!(
                    r#"
                    update stints set training_status = 'withdrawn', withdrawal_reason = $3,
                        withdrawn_at = $4, updated_at = $5
                    where training_record_id = $1 and lead_provider_id = $2 and latest
                    "#,
                    record,
                    lead_provider_id.0,
                    reason,
                    withdrawn_at,
                    at
                )
                .execute(&mut *conn)
                .await?;
            }
            V::ScheduleChanged {
                lead_provider_id,
                schedule_identifier,
                ..
            } => {
                sqlx::query!(
                    "update training_records set schedule_identifier = $2, updated_at = $3 where id = $1",
                    record,
                    schedule_identifier,
                    at
                )
                .execute(&mut *conn)
                .await?;
                sqlx::query!(
                    r#"
                    update stints set schedule_identifier = $3, updated_at = $4
                    where training_record_id = $1 and lead_provider_id = $2 and latest
                    "#,
                    record,
                    lead_provider_id.0,
                    schedule_identifier,
                    at
                )
                .execute(&mut *conn)
                .await?;
            }
            V::Reassigned { participant_id } => {
                reassign::reassign(&mut *conn, record, participant_id.0, at).await?;
            }
        }
        touch(&mut *conn, record, at).await?;
        if placed {
            list_for_providers(conn, record).await?;
        }
        Ok(())
    }
}

/// Lists the record's person under every provider with a placement on it.
async fn list_for_providers(conn: &mut PgConnection, record: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        insert into provider_participants (lead_provider_id, participant_id, participant_created_at)
        select distinct s.lead_provider_id, r.participant_id, p.created_at
        from stints s
        join training_records r on r.id = s.training_record_id
        join participants p on p.id = r.participant_id
        where s.training_record_id = $1
        on conflict do nothing
        "#,
        record
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Any change to a record moves its person's `updated_at`, which the list filters on.
async fn touch(
    conn: &mut PgConnection,
    record: Uuid,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        update participants set updated_at = greatest(updated_at, $2)
        where id = (select participant_id from training_records where id = $1)
        "#,
        record,
        at
    )
    .execute(conn)
    .await
    .map(drop)
}
