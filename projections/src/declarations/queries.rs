//! What the declarations read model answers: a provider's declarations (its own and those it
//! may see of a transferred participant), a training record's, and the lines no statement
//! holds yet.

use aggregates::{DeclarationId, LeadProviderId};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use futures::stream::BoxStream;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::Page;

/// A declaration as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclarationRow {
    /// Its id.
    pub id: Uuid,
    /// The slot (participant milestone) it belongs to.
    pub slot_id: String,
    /// The person.
    pub participant_id: Uuid,
    /// The training record.
    pub training_record_id: Uuid,
    /// The submitting provider.
    pub lead_provider_id: Uuid,
    /// Its name.
    pub lead_provider_name: String,
    /// The course.
    pub course_identifier: String,
    /// The milestone.
    pub declaration_type: String,
    /// When the provider says it happened.
    pub declaration_date: DateTime<Utc>,
    /// Evidence held.
    pub evidence_held: Option<String>,
    /// The state, dasherized.
    pub state: String,
    /// For an ineligible duplicate, what it duplicates.
    pub superseded_by: Option<Uuid>,
    /// The delivery partner at submission.
    pub delivery_partner_id: Option<Uuid>,
    /// The mentor at submission.
    pub mentor_id: Option<Uuid>,
    /// Pupil premium uplift at submission.
    pub pupil_premium_uplift: bool,
    /// Sparsity uplift at submission.
    pub sparsity_uplift: bool,
    /// The cohort at submission.
    pub cohort: i32,
    /// The statement paying it.
    pub statement_id: Option<Uuid>,
    /// The statement clawing it back.
    pub clawback_statement_id: Option<Uuid>,
    /// NPQ: targeted delivery funding at submission.
    pub targeted_delivery_funding: bool,
    /// NPQ: the latest outcome's result; none when voided or not recorded.
    pub has_passed: Option<bool>,
    /// When it was submitted.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Filters of the declarations list.
#[derive(Clone, Debug, Default)]
pub struct DeclarationFilter {
    /// Only these participants.
    pub participant_ids: Option<Vec<Uuid>>,
    /// Only these cohorts.
    pub cohorts: Option<Vec<i32>>,
    /// Only these delivery partners.
    pub delivery_partner_ids: Option<Vec<Uuid>>,
    /// Only those updated at or after this instant.
    pub updated_since: Option<DateTime<Utc>>,
    /// Only those updated strictly after this instant (v1 and v2).
    pub updated_after: Option<DateTime<Utc>>,
}

impl DeclarationFilter {
    /// Whether it lets every declaration through.
    pub fn is_empty(&self) -> bool {
        self.participant_ids.is_none()
            && self.cohorts.is_none()
            && self.delivery_partner_ids.is_none()
            && self.updated_since.is_none()
            && self.updated_after.is_none()
    }
}

/// Selects [`DeclarationRow`]s, naming their columns once: from `$from` (SQL after `from`,
/// holding declarations as `d` and their provider as `lp`), with `$arg`s bound.
macro_rules! select_rows {
    ($from:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            DeclarationRow,
            r#"
            select d.id as "id!", d.slot_id as "slot_id!", d.participant_id as "participant_id!",
                   d.training_record_id as "training_record_id!",
                   d.lead_provider_id as "lead_provider_id!", lp.name as lead_provider_name,
                   d.course_identifier as "course_identifier!",
                   d.declaration_type as "declaration_type!",
                   d.declaration_date as "declaration_date!", d.evidence_held,
                   d.state as "state!", d.superseded_by, d.delivery_partner_id, d.mentor_id,
                   d.pupil_premium_uplift as "pupil_premium_uplift!",
                   d.sparsity_uplift as "sparsity_uplift!", d.cohort as "cohort!",
                   d.statement_id, d.clawback_statement_id,
                   d.targeted_delivery_funding as "targeted_delivery_funding!", d.has_passed,
                   d.created_at as "created_at!", d.updated_at as "updated_at!"
            from "# + $from
            $(, $arg)*
        )
    };
}

/// One of the provider's own declarations.
pub async fn find_own(
    db: impl PgExecutor<'_>,
    provider: LeadProviderId,
    id: Uuid,
) -> Result<Option<DeclarationRow>, sqlx::Error> {
    select_rows!(
        "declarations d join lead_providers lp on lp.id = d.lead_provider_id
        where d.id = $2 and d.lead_provider_id = $1",
        provider.0,
        id,
    )
    .fetch_optional(db)
    .await
}

/// One page of the declarations a provider may see, oldest first: its own in every state, and
/// other providers' live ECF declarations for participants it now trains.
pub async fn list<'a>(
    db: impl PgExecutor<'a> + 'a,
    provider: LeadProviderId,
    filter: &'a DeclarationFilter,
    page: Page,
) -> Result<Vec<DeclarationRow>, sqlx::Error> {
    if !filter.is_empty() {
        return stream(db, provider, filter, Some(page)).try_collect().await;
    }
    // A declaration's place in the whole list is its place among the provider's own plus the
    // others' it sees before it: the own ones are read by place around the page (as many
    // before it as there are others'), each of the others' finds the own one just before it,
    // and the page is what lands in its range. However deep the page, no more rows are read
    // than the page and the others'.
    select_rows!(
        "(
            with seen as (
                select d.id, d.created_at
                from declaration_viewers w join declarations d on d.id = w.declaration_id
                where w.lead_provider_id = $1
            ), candidates as (
                select o.id, o.created_at, o.ordinal as own_before, false as seen
                from declarations o
                where o.lead_provider_id = $1
                  and o.ordinal > $2 - (select count(*) from seen) and o.ordinal <= $3
                union all
                select s.id, s.created_at, coalesce((
                    select o.ordinal from declarations o
                    where o.lead_provider_id = $1 and (o.created_at, o.id) < (s.created_at, s.id)
                    order by o.created_at desc, o.id desc
                    limit 1), 0), true
                from seen s
            ), placed as (
                select c.id, c.created_at,
                       c.own_before + count(*) filter (where c.seen)
                           over (order by c.created_at, c.id) as place
                from candidates c
            )
            select p.id, p.created_at, p.place from placed p
            where p.place > $2 and p.place <= $3
        ) page
        join declarations d on d.id = page.id
        join lead_providers lp on lp.id = d.lead_provider_id
        order by page.place",
        provider.0,
        page.offset(),
        page.end(),
    )
    .fetch_all(db)
    .await
}

/// The declarations of [`list`], all of them when `page` is `None`, read as a stream. The
/// page is cut from ids and times alone, and only its rows are then read whole. The caller's
/// own and the others' visible ones are each filtered, ordered and cut at the page's end
/// apart, then merged: its own in index order (without filters, an index-only read, however
/// deep the page), the others' found from the caller's later placements.
pub fn stream<'a>(
    db: impl PgExecutor<'a> + 'a,
    provider: LeadProviderId,
    filter: &'a DeclarationFilter,
    page: Option<Page>,
) -> BoxStream<'a, Result<DeclarationRow, sqlx::Error>> {
    select_rows!(
        "(
            select v.id, v.created_at
            from (
                (
                    select d.id, d.created_at from declarations d
                    where d.lead_provider_id = $1
                      and ($2::uuid[] is null or d.participant_id = any($2))
                      and ($3::int[] is null or d.cohort = any($3))
                      and ($4::uuid[] is null or d.delivery_partner_id = any($4))
                      and ($5::timestamptz is null or d.updated_at >= $5)
                      and ($8::timestamptz is null or d.updated_at > $8)
                    order by d.created_at, d.id
                    limit $9
                )
                union all
                (
                    select d.id, d.created_at
                    from declaration_viewers w join declarations d on d.id = w.declaration_id
                    where w.lead_provider_id = $1
                      and ($2::uuid[] is null or d.participant_id = any($2))
                      and ($3::int[] is null or d.cohort = any($3))
                      and ($4::uuid[] is null or d.delivery_partner_id = any($4))
                      and ($5::timestamptz is null or d.updated_at >= $5)
                      and ($8::timestamptz is null or d.updated_at > $8)
                    order by d.created_at, d.id
                    limit $9
                )
            ) v
            order by v.created_at, v.id
            limit $6 offset $7
        ) page
        join declarations d on d.id = page.id
        join lead_providers lp on lp.id = d.lead_provider_id
        order by page.created_at, page.id",
        provider.0,
        filter.participant_ids.as_deref(),
        filter.cohorts.as_deref(),
        filter.delivery_partner_ids.as_deref(),
        filter.updated_since,
        page.map(|page| page.size),
        page.map_or(0, Page::offset),
        filter.updated_after,
        page.map(Page::end),
    )
    .fetch(db)
}

/// The type and date of every live declaration of a training record.
pub async fn live_of_record(
    db: impl PgExecutor<'_>,
    record: Uuid,
) -> Result<Vec<(String, DateTime<Utc>)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"
        select declaration_type, declaration_date from declarations
        where training_record_id = $1 and live
        "#,
        record,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.declaration_type, r.declaration_date))
        .collect())
}

/// The type of every declaration of a training record (or NPQ enrolment), in any state.
pub async fn types_of_record(
    db: impl PgExecutor<'_>,
    record: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select declaration_type from declarations where training_record_id = $1",
        record,
    )
    .fetch_all(db)
    .await
}

/// The submitted declarations of a training record: slot, declaration, provider, cohort.
pub async fn submitted_of_record(
    db: impl PgExecutor<'_>,
    record: Uuid,
) -> Result<Vec<(String, DeclarationId, LeadProviderId, i32)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"
        select slot_id, id, lead_provider_id, cohort from declarations
        where training_record_id = $1 and state = 'submitted'
        "#,
        record,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.slot_id,
                DeclarationId(r.id),
                LeadProviderId(r.lead_provider_id),
                r.cohort,
            )
        })
        .collect())
}

/// Billable or clawback lines that no statement holds yet: every one, or those of one
/// provider's programme (`ecf` or `npq`) and cohort.
pub async fn unattached(
    db: impl PgExecutor<'_>,
    group: Option<(LeadProviderId, &str, i32)>,
) -> Result<Vec<DeclarationRow>, sqlx::Error> {
    select_rows!(
        "declarations d join lead_providers lp on lp.id = d.lead_provider_id
        where ((d.state in ('eligible', 'ineligible') and d.statement_id is null)
               or (d.state = 'awaiting-clawback' and d.clawback_statement_id is null))
          and ($1::uuid is null or d.lead_provider_id = $1
               and d.programme = $2 and d.cohort = $3)
        order by d.created_at, d.id",
        group.map(|g| g.0.0),
        group.map(|g| g.1),
        group.map(|g| g.2),
    )
    .fetch_all(db)
    .await
}

/// The lines of [`unattached`] for one provider's programme (`ecf` or `npq`) and cohort, oldest
/// first: each declaration's id, and whether it is a clawback line. What a statement finance
/// adds takes, read without the rest of each row.
pub async fn unattached_lines(
    db: impl PgExecutor<'_>,
    (provider, programme, cohort): (LeadProviderId, &str, i32),
) -> Result<Vec<(DeclarationId, bool)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"
        select id, state = 'awaiting-clawback' as "clawback!" from declarations
        where lead_provider_id = $1 and programme = $2 and cohort = $3
          and ((state in ('eligible', 'ineligible') and statement_id is null)
               or (state = 'awaiting-clawback' and clawback_statement_id is null))
        order by created_at, id
        "#,
        provider.0,
        programme,
        cohort,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (DeclarationId(r.id), r.clawback))
        .collect())
}
