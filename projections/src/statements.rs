//! The statements read model behind `GET /api/v3/statements`.

use aggregates::{LeadProviderId, Programme, Statement, StatementEvent, StatementId};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::Aggregate;
use sqlx::{PgConnection, PgExecutor};

use crate::{Page, Projection, ProjectionError, StoredEvent};

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
    fn name(&self) -> &'static str {
        "statements"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &[Statement::TYPE]
    }

    async fn reset(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query!("delete from statements")
            .execute(conn)
            .await
            .map(drop)
    }

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
            StatementEvent::Created(terms) => {
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
