//! The statements read model behind `GET /api/v3/statements`.

use aggregates::{LeadProviderId, Programme, Statement, StatementEvent, StatementId};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::Aggregate;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::{Page, Projection, ProjectionError, StoredEvent, read_model};

/// Projects statement events.
pub struct Statements;

/// A statement as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementRow {
    /// Its id.
    pub id: uuid::Uuid,
    /// `ecf` or `npq`.
    pub programme: String,
    /// The cohort it funds.
    pub cohort: i32,
    /// The month it is named after, e.g. "May 2022".
    pub name: String,
    /// The milestone cut-off.
    pub deadline_date: NaiveDate,
    /// The expected payment day.
    pub payment_date: NaiveDate,
    /// Whether it has been paid.
    pub paid: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The filters of the statements list.
#[derive(Clone, Debug, Default)]
pub struct StatementFilter {
    /// Only these cohorts.
    pub cohorts: Option<Vec<i32>>,
    /// Only this programme name; anything but `ecf` or `npq` matches nothing.
    pub programme: Option<String>,
    /// Only statements updated at or after this instant.
    pub updated_since: Option<DateTime<Utc>>,
}

#[async_trait]
impl Projection for Statements {
    read_model!(
        name: "statements",
        reads: [Statement::TYPE],
        tables: ["statements"],
    );

    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let id = event
            .aggregate_uuid()
            .map_err(|e| ProjectionError::decode(event, e))?;
        match event
            .decode::<StatementEvent>()
            .map_err(|e| ProjectionError::decode(event, e))?
        {
            StatementEvent::Created(terms) | StatementEvent::Added { terms, .. } => {
                sqlx::query!(
                    r#"
                    insert into statements (id, lead_provider_id, programme, cohort, name,
                        deadline_date, payment_date, output_fee, paid, created_at, updated_at)
                    values ($1, $2, $3, $4, $5, $6, $7, $8, false, $9, $9)
                    on conflict (id) do nothing
                    "#,
                    id,
                    terms.lead_provider_id.0,
                    terms.programme.as_str(),
                    terms.cohort,
                    terms.name,
                    terms.deadline_date,
                    terms.payment_date,
                    terms.output_fee,
                    event.recorded_at,
                )
                .execute(conn)
                .await?;
            }
            StatementEvent::Closed { at } => {
                sqlx::query!(
                    "update statements set closed_at = $2, updated_at = $3 where id = $1",
                    id,
                    at,
                    event.recorded_at
                )
                .execute(conn)
                .await?;
            }
            StatementEvent::Paid { at } => {
                sqlx::query!(
                    "update statements set paid = true, paid_at = $2, updated_at = $3 where id = $1",
                    id,
                    at,
                    event.recorded_at
                )
                .execute(conn)
                .await?;
            }
        }
        Ok(())
    }
}

/// One page of a provider's output-fee statements, by payment date.
pub async fn list(
    db: impl PgExecutor<'_>,
    provider: LeadProviderId,
    filter: &StatementFilter,
    page: Page,
) -> Result<Vec<StatementRow>, sqlx::Error> {
    sqlx::query_as!(
        StatementRow,
        r#"
        select id, programme, cohort, name, deadline_date, payment_date,
               paid, created_at, updated_at
        from statements
        where lead_provider_id = $1
          and output_fee
          and ($2::int[] is null or cohort = any($2))
          and ($3::text is null or programme = $3)
          and ($4::timestamptz is null or updated_at >= $4)
        order by payment_date, deadline_date, id
        limit $5 offset $6
        "#,
        provider.0,
        filter.cohorts.as_deref(),
        filter.programme,
        filter.updated_since,
        page.size,
        page.offset(),
    )
    .fetch_all(db)
    .await
}

/// One of a provider's statements, output-fee or not.
pub async fn find(
    db: impl PgExecutor<'_>,
    provider: LeadProviderId,
    id: StatementId,
) -> Result<Option<StatementRow>, sqlx::Error> {
    sqlx::query_as!(
        StatementRow,
        r#"
        select id, programme, cohort, name, deadline_date, payment_date,
               paid, created_at, updated_at
        from statements
        where lead_provider_id = $1 and id = $2
        "#,
        provider.0,
        id.0,
    )
    .fetch_optional(db)
    .await
}

/// The programme of a statement row, parsed.
impl StatementRow {
    /// ECF or NPQ.
    pub fn programme(&self) -> Option<Programme> {
        self.programme.parse().ok()
    }
}

/// The statement a line goes on: the provider's earliest open output-fee statement of the
/// programme and cohort whose deadline is today or later (ties by payment date, then id).
pub async fn open_statement(
    db: impl PgExecutor<'_>,
    provider: LeadProviderId,
    programme: Programme,
    cohort: i32,
    today: NaiveDate,
) -> Result<Option<StatementId>, sqlx::Error> {
    let id = sqlx::query_scalar!(
        r#"select id as "id!" from open_statement($1, $2, $3, $4)"#,
        provider.0,
        programme.as_str(),
        cohort,
        today,
    )
    .fetch_optional(db)
    .await?;
    Ok(id.map(StatementId))
}

/// Open statements whose deadline day is over by `today`, with their deadlines.
pub async fn due(
    db: impl PgExecutor<'_>,
    today: NaiveDate,
) -> Result<Vec<(StatementId, NaiveDate)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"
        select id, deadline_date from statements
        where closed_at is null and deadline_date < $1
        order by deadline_date, payment_date, id
        "#,
        today,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (StatementId(r.id), r.deadline_date))
        .collect())
}

/// A statement with its lifecycle, for finance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementState {
    /// Its id.
    pub id: Uuid,
    /// The provider.
    pub lead_provider_id: Uuid,
    /// `ecf` or `npq`.
    pub programme: String,
    /// The cohort.
    pub cohort: i32,
    /// The month name.
    pub name: String,
    /// The deadline.
    pub deadline_date: NaiveDate,
    /// The payment day.
    pub payment_date: NaiveDate,
    /// Whether declarations are paid on it.
    pub output_fee: bool,
    /// When it closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// When it was paid.
    pub paid_at: Option<DateTime<Utc>>,
}

/// Any statement, by id.
pub async fn state(
    db: impl PgExecutor<'_>,
    id: StatementId,
) -> Result<Option<StatementState>, sqlx::Error> {
    sqlx::query_as!(
        StatementState,
        r#"
        select id, lead_provider_id, programme, cohort, name, deadline_date, payment_date,
               output_fee, closed_at, paid_at
        from statements where id = $1
        "#,
        id.0,
    )
    .fetch_optional(db)
    .await
}

/// A provider's statement of a programme, cohort and month.
pub async fn by_name(
    db: impl PgExecutor<'_>,
    provider: LeadProviderId,
    programme: Programme,
    cohort: i32,
    name: &str,
) -> Result<Option<StatementId>, sqlx::Error> {
    let id = sqlx::query_scalar!(
        r#"
        select id from statements
        where lead_provider_id = $1 and programme = $2 and cohort = $3 and lower(name) = lower($4)
        order by output_fee desc
        limit 1
        "#,
        provider.0,
        programme.as_str(),
        cohort,
        name,
    )
    .fetch_optional(db)
    .await?;
    Ok(id.map(StatementId))
}
