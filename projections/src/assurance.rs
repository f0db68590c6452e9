//! What the finance pages read about a statement's lines besides its price: which groups of
//! statements a provider has, the lines counted by state and type, the clawbacks, and the
//! assurance report's rows. Reads the statements and declarations read models; writes nothing.

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use sqlx::PgExecutor;
use uuid::Uuid;

/// A programme and cohort in which a provider has statements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementGroup {
    /// `ecf` or `npq`.
    pub programme: String,
    /// The cohort.
    pub cohort: i32,
}

/// The programmes and cohorts of a provider's statements, ECF first, newest cohort first.
pub async fn groups(
    db: impl PgExecutor<'_>,
    provider: Uuid,
) -> Result<Vec<StatementGroup>, sqlx::Error> {
    sqlx::query_as!(
        StatementGroup,
        r#"
        select distinct programme, cohort from statements
        where lead_provider_id = $1
        order by programme, cohort desc
        "#,
        provider,
    )
    .fetch_all(db)
    .await
}

/// How many of a statement's lines share a kind, declaration type and state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineCount {
    /// The line claws the declaration back (else it bills it).
    pub clawback: bool,
    /// The declaration type.
    pub declaration_type: String,
    /// The declaration's state.
    pub state: String,
    /// How many.
    pub count: i64,
}

/// A statement's lines counted by kind, declaration type and state.
pub async fn line_counts(
    db: impl PgExecutor<'_>,
    statement: Uuid,
) -> Result<Vec<LineCount>, sqlx::Error> {
    sqlx::query_as!(
        LineCount,
        r#"
        select clawback, declaration_type, state, sum(lines)::bigint as "count!"
        from statement_line_counts
        where statement_id = $1 and lines <> 0
        group by 1, 2, 3
        order by 1, 2, 3
        "#,
        statement,
    )
    .fetch_all(db)
    .await
}

/// A declaration clawed back on a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClawbackRow {
    /// The declaration.
    pub id: Uuid,
    /// The person.
    pub participant_id: Uuid,
    /// The course.
    pub course_identifier: String,
    /// The milestone.
    pub declaration_type: String,
    /// Its state.
    pub state: String,
    /// The statement that paid it.
    pub paid_on: Option<String>,
}

/// Up to `limit` of the declarations a statement claws back, oldest first.
pub async fn clawbacks(
    db: impl PgExecutor<'_>,
    statement: Uuid,
    limit: i64,
) -> Result<Vec<ClawbackRow>, sqlx::Error> {
    sqlx::query_as!(
        ClawbackRow,
        r#"
        select d.id, d.participant_id, d.course_identifier, d.declaration_type, d.state,
               s.name as "paid_on?"
        from statement_lines l
        join declarations d on d.id = l.declaration_id
        left join statements s on s.id = d.statement_id
        where l.statement_id = $1 and l.clawback
        order by d.created_at, d.id
        limit $2
        "#,
        statement,
        limit,
    )
    .fetch_all(db)
    .await
}

/// One row of a statement's assurance report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssuranceRow {
    /// The declaration.
    pub declaration_id: Uuid,
    /// The person.
    pub participant_id: Uuid,
    /// Their name.
    pub participant_name: Option<String>,
    /// Their teacher reference number.
    pub trn: Option<String>,
    /// The course.
    pub course_identifier: String,
    /// The milestone.
    pub declaration_type: String,
    /// When the provider says it happened.
    pub declaration_date: DateTime<Utc>,
    /// The declaration's state.
    pub state: String,
    /// `billable` or `clawback`: what the line does on this statement.
    pub line: String,
    /// The schedule the participant follows.
    pub schedule: Option<String>,
    /// The cohort.
    pub cohort: i32,
    /// ECF: pupil premium uplift.
    pub pupil_premium_uplift: bool,
    /// ECF: sparsity uplift.
    pub sparsity_uplift: bool,
    /// NPQ: targeted delivery funding.
    pub targeted_delivery_funding: bool,
    /// The delivery partner at submission.
    pub delivery_partner_id: Option<Uuid>,
    /// Its name.
    pub delivery_partner_name: Option<String>,
    /// The statement's name.
    pub statement_name: String,
}

/// Every declaration on a statement, billed or clawed back, oldest first, read as a stream.
pub fn assurance<'a>(
    db: impl PgExecutor<'a> + 'a,
    statement: Uuid,
) -> BoxStream<'a, Result<AssuranceRow, sqlx::Error>> {
    sqlx::query_as!(
        AssuranceRow,
        r#"
        select d.id as declaration_id, d.participant_id,
               coalesce(p.full_name, a.full_name) as "participant_name?",
               coalesce(p.trn, a.trn) as "trn?",
               d.course_identifier, d.declaration_type, d.declaration_date, d.state,
               case when d.clawback_statement_id is not distinct from $1
                    then 'clawback' else 'billable' end as "line!",
               coalesce(tr.schedule_identifier, a.schedule_identifier) as "schedule?",
               d.cohort, d.pupil_premium_uplift, d.sparsity_uplift,
               d.targeted_delivery_funding, d.delivery_partner_id,
               dp.name as "delivery_partner_name?", s.name as statement_name
        from declarations d
        join statements s on s.id = $1
        left join participants p on p.id = d.participant_id
        left join training_records tr on tr.id = d.training_record_id
        left join npq_applications a on a.id = d.training_record_id
        left join delivery_partners dp on dp.id = d.delivery_partner_id
        where d.id in (select declaration_id from statement_lines where statement_id = $1)
        order by d.created_at, d.id
        "#,
        statement,
    )
    .fetch(db)
}
