//! The ECF participants read model: people, their training records and each record's stints,
//! with each provider's latest stint marked. It serves `GET /api/v3/participants/ecf` and the
//! facts that provider commands look up.

mod places;
mod queries;
mod reassign;
mod records;

use std::collections::HashMap;

use aggregates::training_record::{Registration, TrainingRecord, TrainingRecordEvent as V};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use sqlx::PgConnection;
use uuid::Uuid;

pub use queries::*;
pub use records::*;

use crate::stretches::{self, Stretches, column};
use crate::{Projection, ProjectionError, StoredEvent, read_model};

/// Projects training record events.
pub struct Participants;

#[async_trait]
impl Projection for Participants {
    read_model!(
        name: "ecf_participants",
        reads: [TrainingRecord::TYPE],
        tables: [
            "stints",
            "training_records",
            "participants",
            "provider_participants",
        ],
        read_indexes: [
            "participants_created_idx",
            "participants_trn_idx",
            "stints_provider_latest_idx",
            "stints_later_placements_idx",
        ],
        // After the list, whose deletion left its lengths at zero.
        shared: ["delete from list_lengths where list = 'participants'"],
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
            V::Registered(registration) => {
                let registered = Registered {
                    record,
                    registration,
                    at,
                };
                return register(conn, vec![registered]).await.map_err(Into::into);
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
            list_for_providers(conn, &[record]).await?;
        }
        Ok(())
    }

    /// Applies a run of events, writing each stretch of registrations (most of a log) in one
    /// statement per table, and every other event as [`Projection::apply`] does.
    async fn apply_run(
        &self,
        conn: &mut PgConnection,
        events: &[&StoredEvent],
    ) -> Result<(), ProjectionError> {
        stretches::apply_run(self, conn, events).await
    }
}

#[async_trait]
impl Stretches for Participants {
    type Item = Registered;

    fn gather(&self, event: &StoredEvent) -> Result<Option<Registered>, ProjectionError> {
        if event.event_type != "Registered" {
            return Ok(None);
        }
        let V::Registered(registration) = event
            .decode::<V>()
            .map_err(|e| ProjectionError::decode(event, e))?
        else {
            return Ok(None);
        };
        Ok(Some(Registered {
            record: event
                .aggregate_uuid()
                .map_err(|e| ProjectionError::decode(event, e))?,
            registration,
            at: event.recorded_at,
        }))
    }

    async fn write(
        &self,
        conn: &mut PgConnection,
        stretch: Vec<Registered>,
    ) -> Result<(), sqlx::Error> {
        register(conn, stretch).await
    }
}

/// A record's registration, as its event gives it.
pub(crate) struct Registered {
    record: Uuid,
    registration: Box<Registration>,
    at: DateTime<Utc>,
}

/// Writes registrations, in log order: each person once (named and created as first
/// registered, with the first TRN any registration gives, updated when last registered),
/// each record, its first stint, and its person listed under the provider.
async fn register(conn: &mut PgConnection, stretch: Vec<Registered>) -> Result<(), sqlx::Error> {
    if stretch.is_empty() {
        return Ok(());
    }
    // One row per person: `ON CONFLICT DO UPDATE` may not meet a row twice in one statement.
    let (mut ids, mut names, mut trns, mut created, mut updated) = (
        Vec::new(),
        Vec::new(),
        Vec::<Option<String>>::new(),
        Vec::new(),
        Vec::new(),
    );
    let mut row_of: HashMap<Uuid, usize> = HashMap::new();
    for Registered {
        registration: r,
        at,
        ..
    } in &stretch
    {
        let id = r.participant_id.0;
        match row_of.get(&id) {
            Some(&row) => {
                trns[row] = trns[row].take().or_else(|| r.trn.clone());
                updated[row] = *at;
            }
            None => {
                row_of.insert(id, ids.len());
                ids.push(id);
                names.push(r.full_name.clone());
                trns.push(r.trn.clone());
                created.push(*at);
                updated.push(*at);
            }
        }
    }
    sqlx::query!(
        r#"
        insert into participants (id, full_name, trn, created_at, updated_at)
        select * from unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[],
            $5::timestamptz[])
        on conflict (id) do update
        set trn = coalesce(participants.trn, excluded.trn), updated_at = excluded.updated_at
        "#,
        &ids,
        &names,
        &trns as &[Option<String>],
        &created,
        &updated,
    )
    .execute(&mut *conn)
    .await?;
    let records: Vec<Uuid> = stretch.iter().map(|r| r.record).collect();
    sqlx::query!(
        r#"
        insert into training_records (id, participant_id, participant_type, email,
            trn_validated, eligible_for_funding, pupil_premium_uplift, sparsity_uplift,
            mentor_id, cohort, schedule_identifier, created_at, updated_at)
        select r.*, r.created_at
        from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bool[], $6::bool[],
            $7::bool[], $8::bool[], $9::uuid[], $10::int[], $11::text[], $12::timestamptz[])
            as r (id, participant_id, participant_type, email, trn_validated,
                  eligible_for_funding, pupil_premium_uplift, sparsity_uplift, mentor_id,
                  cohort, schedule_identifier, created_at)
        on conflict (id) do nothing
        "#,
        &records,
        &column(&stretch, |r| r.registration.participant_id.0),
        &column(&stretch, |r| r
            .registration
            .participant_type
            .as_str()
            .to_owned()),
        &column(&stretch, |r| r.registration.email.clone()),
        &column(&stretch, |r| r.registration.trn.is_some()
            && r.registration.trn_validated),
        &column(&stretch, |r| r.registration.eligible_for_funding) as &[Option<bool>],
        &column(&stretch, |r| r.registration.pupil_premium_uplift),
        &column(&stretch, |r| r.registration.sparsity_uplift),
        &column(&stretch, |r| r.registration.mentor_id.map(|m| m.0)) as &[Option<Uuid>],
        &column(&stretch, |r| r.registration.cohort),
        &column(&stretch, |r| r.registration.schedule_identifier.clone()),
        &column(&stretch, |r| r.at),
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"
        insert into stints (training_record_id, seq, lead_provider_id, school_id, school_urn,
            delivery_partner_id, start_at, transfer, latest, training_status,
            schedule_identifier, created_at, updated_at)
        select s.training_record_id, 0, s.lead_provider_id, s.school_id, s.school_urn,
               s.delivery_partner_id, s.start_at, false, true, 'active', s.schedule_identifier,
               s.created_at, s.created_at
        from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::uuid[],
            $6::timestamptz[], $7::text[], $8::timestamptz[])
            as s (training_record_id, lead_provider_id, school_id, school_urn,
                  delivery_partner_id, start_at, schedule_identifier, created_at)
        on conflict do nothing
        "#,
        &records,
        &column(&stretch, |r| r.registration.placement.lead_provider_id.0),
        &column(&stretch, |r| r.registration.placement.school_id.0),
        &column(&stretch, |r| r.registration.placement.school_urn.clone()),
        &column(&stretch, |r| r.registration.placement.delivery_partner_id.0),
        &column(&stretch, |r| r.registration.placement.start),
        &column(&stretch, |r| r.registration.schedule_identifier.clone()),
        &column(&stretch, |r| r.at),
    )
    .execute(&mut *conn)
    .await?;
    // A record registers once, on its first stint: its person is listed under that stint's
    // provider, from the stretch rather than read back.
    places::list(
        conn,
        &column(&stretch, |r| r.registration.placement.lead_provider_id.0),
        &column(&stretch, |r| r.registration.participant_id.0),
    )
    .await
}

/// Lists the records' people under every provider with a placement on them.
async fn list_for_providers(conn: &mut PgConnection, records: &[Uuid]) -> Result<(), sqlx::Error> {
    let listings = sqlx::query!(
        r#"
        select distinct s.lead_provider_id, r.participant_id
        from stints s
        join training_records r on r.id = s.training_record_id
        where s.training_record_id = any($1)
        "#,
        records
    )
    .fetch_all(&mut *conn)
    .await?;
    let (providers, people): (Vec<Uuid>, Vec<Uuid>) = listings
        .into_iter()
        .map(|row| (row.lead_provider_id, row.participant_id))
        .unzip();
    places::list(conn, &providers, &people).await
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
