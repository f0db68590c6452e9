//! The ECF participants read model one training record at a time, as v1 and v2 list it.

use aggregates::LeadProviderId;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use futures::stream::BoxStream;
use sqlx::PgExecutor;
use uuid::Uuid;

use super::{EnrolmentRow, ParticipantFilter, ParticipantRow};
use crate::Page;

/// One training record a provider trains, with its person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRow {
    pub training_record_id: Uuid,
    pub participant_id: Uuid,
    pub participant_type: String,
    pub email: String,
    pub mentor_id: Option<Uuid>,
    pub school_urn: String,
    pub cohort: i32,
    pub training_status: String,
    pub start_at: DateTime<Utc>,
    pub end_at: Option<DateTime<Utc>>,
    pub trn_validated: bool,
    pub eligible_for_funding: Option<bool>,
    pub pupil_premium_uplift: bool,
    pub sparsity_uplift: bool,
    pub schedule_identifier: String,
    pub delivery_partner_id: Uuid,
    pub withdrawal_reason: Option<String>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub deferral_reason: Option<String>,
    pub deferred_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub full_name: String,
    pub trn: Option<String>,
    pub participant_created_at: DateTime<Utc>,
    pub participant_updated_at: DateTime<Utc>,
}

impl RecordRow {
    /// The person and the record, as the v3 queries give them.
    pub fn split(self) -> (ParticipantRow, EnrolmentRow) {
        let person = ParticipantRow {
            id: self.participant_id,
            full_name: self.full_name,
            trn: self.trn,
            created_at: self.participant_created_at,
            updated_at: self.participant_updated_at,
        };
        let record = EnrolmentRow {
            training_record_id: self.training_record_id,
            participant_id: self.participant_id,
            participant_type: self.participant_type,
            email: self.email,
            mentor_id: self.mentor_id,
            school_urn: self.school_urn,
            cohort: self.cohort,
            training_status: self.training_status,
            start_at: self.start_at,
            end_at: self.end_at,
            trn_validated: self.trn_validated,
            eligible_for_funding: self.eligible_for_funding,
            pupil_premium_uplift: self.pupil_premium_uplift,
            sparsity_uplift: self.sparsity_uplift,
            schedule_identifier: self.schedule_identifier,
            delivery_partner_id: self.delivery_partner_id,
            withdrawal_reason: self.withdrawal_reason,
            withdrawn_at: self.withdrawn_at,
            deferral_reason: self.deferral_reason,
            deferred_at: self.deferred_at,
            created_at: self.created_at,
        };
        (person, record)
    }
}

/// One page of the training records a provider trains (from its latest stint of each),
/// oldest person first, ECT records before mentor ones; with `updated_since`, least recently
/// updated person first.
pub async fn list_records<'a>(
    db: impl PgExecutor<'a> + 'a,
    provider: LeadProviderId,
    filter: &'a ParticipantFilter,
    page: Page,
) -> Result<Vec<RecordRow>, sqlx::Error> {
    stream_records(db, provider, filter, Some(page))
        .try_collect()
        .await
}

/// The records of [`list_records`], all of them when `page` is `None`, read as a stream.
pub fn stream_records<'a>(
    db: impl PgExecutor<'a> + 'a,
    provider: LeadProviderId,
    filter: &'a ParticipantFilter,
    page: Option<Page>,
) -> BoxStream<'a, Result<RecordRow, sqlx::Error>> {
    sqlx::query_as!(
        RecordRow,
        r#"
        select r.id as training_record_id, r.participant_id, r.participant_type, r.email,
               r.mentor_id, s.school_urn, r.cohort, s.training_status, s.start_at, s.end_at,
               r.trn_validated, r.eligible_for_funding, r.pupil_premium_uplift, r.sparsity_uplift,
               r.schedule_identifier, s.delivery_partner_id, s.withdrawal_reason, s.withdrawn_at,
               s.deferral_reason, s.deferred_at, r.created_at, p.full_name, p.trn,
               p.created_at as participant_created_at, p.updated_at as participant_updated_at
        from provider_participants pp
        join participants p on p.id = pp.participant_id
        join training_records r on r.participant_id = pp.participant_id
        join stints s on s.training_record_id = r.id and s.latest and s.lead_provider_id = $1
        where pp.lead_provider_id = $1
          and ($2::int[] is null or r.cohort = any($2))
          and ($3::text is null or s.training_status = $3)
          and ($4::timestamptz is null or p.updated_at >= $4)
        order by case when $4 is null then null else p.updated_at end,
                 pp.participant_created_at, pp.participant_id, r.participant_type, r.created_at,
                 r.id
        limit $5 offset $6
        "#,
        provider.0,
        filter.cohorts.as_deref(),
        filter.training_status,
        filter.updated_since,
        page.map(|page| page.size),
        page.map_or(0, Page::offset),
    )
    .fetch(db)
}
