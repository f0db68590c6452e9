//! What statements hold, for pricing them: the line counts of every statement of a provider,
//! programme and cohort, either from the live read models or folded from the event log as it
//! stood at an instant (the same numbers when the instant is now: the replay test checks it).

use std::collections::{BTreeMap, HashMap};

use aggregates::declaration::{Declaration, DeclarationSlotEvent, DeclarationState};
use aggregates::reference::{EcfContract, NpqContract};
use aggregates::{LeadProviderId, Programme, RecordEvent, StatementEvent};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// The lines of one kind (declaration type, or course for NPQ) on one statement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Billable lines: eligible, payable or paid (a paid line stays, even once clawed back).
    pub billable: i64,
    /// Refundable lines: awaiting clawback or clawed back.
    pub refundable: i64,
    /// Billable `started` lines with an uplift flag (ECF) or TDF (NPQ).
    pub uplift_billable: i64,
    /// Refundable such lines.
    pub uplift_refundable: i64,
}

/// A statement and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementLines {
    /// The statement.
    pub id: Uuid,
    /// Its month name.
    pub name: String,
    /// Its deadline.
    pub deadline_date: NaiveDate,
    /// Its payment day.
    pub payment_date: NaiveDate,
    /// Whether declarations are paid on it.
    pub output_fee: bool,
    /// Closed (payable) by then.
    pub closed: bool,
    /// Paid by then.
    pub paid: bool,
    /// Lines by declaration type (ECF) or course (NPQ).
    pub lines: BTreeMap<String, Counts>,
}

/// Every statement of a provider's programme and cohort, by payment date.
pub type CohortLines = Vec<StatementLines>;

const BILLABLE: [&str; 5] = [
    "eligible",
    "payable",
    "paid",
    "awaiting-clawback",
    "clawed-back",
];
const REFUNDABLE: [&str; 2] = ["awaiting-clawback", "clawed-back"];

fn kind(programme: Programme, course: &str, declaration_type: &str) -> String {
    match programme {
        Programme::Ecf => declaration_type.to_owned(),
        Programme::Npq => course.to_owned(),
    }
}

/// The live lines, from the read models.
pub async fn live(
    pool: &PgPool,
    provider: LeadProviderId,
    programme: Programme,
    cohort: i32,
) -> Result<CohortLines, sqlx::Error> {
    let statements = sqlx::query!(
        r#"
        select id, name, deadline_date, payment_date, output_fee,
               closed_at is not null as "closed!", paid_at is not null as "paid!"
        from statements where lead_provider_id = $1 and programme = $2 and cohort = $3
        order by payment_date, deadline_date, id
        "#,
        provider.0,
        programme.as_str(),
        cohort
    )
    .fetch_all(pool)
    .await?;
    let ids: Vec<Uuid> = statements.iter().map(|s| s.id).collect();
    let lines = sqlx::query!(
        r#"
        select statement_id, clawback_statement_id, state, declaration_type, course_identifier,
               pupil_premium_uplift or sparsity_uplift as "uplift!"
        from declarations
        where statement_id = any($1) or clawback_statement_id = any($1)
        "#,
        &ids
    )
    .fetch_all(pool)
    .await?;
    let mut result: CohortLines = statements
        .into_iter()
        .map(|s| StatementLines {
            id: s.id,
            name: s.name,
            deadline_date: s.deadline_date,
            payment_date: s.payment_date,
            output_fee: s.output_fee,
            closed: s.closed,
            paid: s.paid,
            lines: BTreeMap::new(),
        })
        .collect();
    for line in lines {
        let kind = kind(programme, &line.course_identifier, &line.declaration_type);
        let uplift = line.uplift && line.declaration_type == "started";
        count(
            &mut result,
            line.statement_id,
            line.clawback_statement_id,
            &line.state,
            &kind,
            uplift,
        );
    }
    Ok(result)
}

fn count(
    lines: &mut CohortLines,
    statement: Option<Uuid>,
    clawback: Option<Uuid>,
    state: &str,
    kind: &str,
    uplift: bool,
) {
    let uplift = i64::from(uplift);
    if BILLABLE.contains(&state)
        && let Some(s) = lines.iter_mut().find(|s| Some(s.id) == statement)
    {
        let counts = s.lines.entry(kind.to_owned()).or_default();
        counts.billable += 1;
        counts.uplift_billable += uplift;
    }
    if REFUNDABLE.contains(&state)
        && let Some(s) = lines.iter_mut().find(|s| Some(s.id) == clawback)
    {
        let counts = s.lines.entry(kind.to_owned()).or_default();
        counts.refundable += 1;
        counts.uplift_refundable += uplift;
    }
}

/// The lines as the event log stood at `as_of`, folded from the events recorded by then;
/// `progress` is told how many events were read.
pub async fn as_of(
    pool: &PgPool,
    provider: LeadProviderId,
    programme: Programme,
    cohort: i32,
    as_of: DateTime<Utc>,
    mut progress: impl FnMut(u64),
) -> Result<CohortLines, sqlx::Error> {
    let decode = |e: serde_json::Error| sqlx::Error::Decode(Box::new(e));
    let statement_events = sqlx::query!(
        r#"
        select aggregate_id, payload from events
        where aggregate_type = 'statement' and recorded_at <= $1
        order by transaction_id, position
        "#,
        as_of
    )
    .fetch_all(pool)
    .await?;
    let mut result: CohortLines = Vec::new();
    for row in statement_events {
        let id =
            Uuid::parse_str(&row.aggregate_id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        match serde_json::from_value::<StatementEvent>(row.payload).map_err(decode)? {
            StatementEvent::Created(terms) => {
                if terms.lead_provider_id == provider
                    && terms.programme == programme
                    && terms.cohort == cohort
                {
                    result.push(StatementLines {
                        id,
                        name: terms.name,
                        deadline_date: terms.deadline_date,
                        payment_date: terms.payment_date,
                        output_fee: terms.output_fee,
                        closed: false,
                        paid: false,
                        lines: BTreeMap::new(),
                    });
                }
            }
            StatementEvent::Closed { .. } => result
                .iter_mut()
                .filter(|s| s.id == id)
                .for_each(|s| s.closed = true),
            StatementEvent::Paid { .. } => result
                .iter_mut()
                .filter(|s| s.id == id)
                .for_each(|s| s.paid = true),
        }
    }
    result.sort_by(|a, b| {
        (a.payment_date, a.deadline_date, a.id).cmp(&(b.payment_date, b.deadline_date, b.id))
    });
    let mut declarations: HashMap<Uuid, (Declaration, DeclarationState)> = HashMap::new();
    let mut read = 0;
    let mut after = 0i64;
    loop {
        let rows = sqlx::query!(
            r#"
            select position, payload from events
            where aggregate_type = 'declaration_slot' and recorded_at <= $1 and position > $2
            order by position
            limit 10000
            "#,
            as_of,
            after
        )
        .fetch_all(pool)
        .await?;
        let Some(last) = rows.last().map(|r| r.position) else {
            break;
        };
        after = last;
        read += rows.len() as u64;
        for row in rows {
            fold(
                &mut declarations,
                serde_json::from_value(row.payload).map_err(decode)?,
            );
        }
        progress(read);
    }
    for (declaration, state) in declarations.values() {
        let kind = kind(
            programme,
            declaration.course.as_str(),
            declaration.declaration_type.as_str(),
        );
        let uplift = (declaration.pupil_premium_uplift || declaration.sparsity_uplift)
            && declaration.declaration_type == aggregates::reference::DeclarationType::Started;
        let statement = declaration.statement_id.map(|s| s.0);
        let clawback = declaration.clawback_statement_id.map(|s| s.0);
        count(
            &mut result,
            statement,
            clawback,
            state.as_str(),
            &kind,
            uplift,
        );
    }
    Ok(result)
}

/// Applies one declaration slot event to the folded declarations.
fn fold(
    declarations: &mut HashMap<Uuid, (Declaration, DeclarationState)>,
    event: DeclarationSlotEvent,
) {
    use DeclarationSlotEvent as V;
    let id = match &event {
        V::Submitted(declaration) => {
            let state = declaration.state;
            declarations.insert(declaration.id.0, ((**declaration).clone(), state));
            return;
        }
        V::Voided { declaration_id }
        | V::ClawbackRequested { declaration_id, .. }
        | V::BecameEligible { declaration_id, .. }
        | V::Attached { declaration_id, .. }
        | V::BecamePayable { declaration_id }
        | V::BecamePaid { declaration_id }
        | V::ClawedBack { declaration_id } => declaration_id.0,
    };
    let Some((declaration, state)) = declarations.get_mut(&id) else {
        return;
    };
    match event {
        V::Submitted(_) => {}
        V::Voided { .. } => *state = DeclarationState::Voided,
        V::ClawbackRequested { statement_id, .. } => {
            *state = DeclarationState::AwaitingClawback;
            declaration.clawback_statement_id = statement_id;
        }
        V::BecameEligible { statement_id, .. } => {
            *state = DeclarationState::Eligible;
            declaration.statement_id = statement_id;
        }
        V::Attached {
            statement_id,
            clawback: true,
            ..
        } => declaration.clawback_statement_id = Some(statement_id),
        V::Attached {
            statement_id,
            clawback: false,
            ..
        } => declaration.statement_id = Some(statement_id),
        V::BecamePayable { .. } => *state = DeclarationState::Payable,
        V::BecamePaid { .. } => *state = DeclarationState::Paid,
        V::ClawedBack { .. } => *state = DeclarationState::ClawedBack,
    }
}

/// The latest registration of a record, as the log stood at `as_of`.
async fn latest_record<R: aggregates::Record>(
    pool: &PgPool,
    aggregate_type: &str,
    filter: serde_json::Value,
    as_of: DateTime<Utc>,
) -> Result<Vec<R>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"
        select distinct on (aggregate_id) payload from events
        where aggregate_type = $1 and recorded_at <= $2 and payload -> 'Registered' @> $3
        order by aggregate_id, sequence desc
        "#,
        aggregate_type,
        as_of,
        filter
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(
            |row| match serde_json::from_value::<RecordEvent<R>>(row.payload) {
                Ok(RecordEvent::Registered(record)) => Ok(record),
                Err(e) => Err(sqlx::Error::Decode(Box::new(e))),
            },
        )
        .collect()
}

/// The provider's ECF contract for a cohort, as registered by `as_of`.
pub async fn ecf_contract(
    pool: &PgPool,
    provider: LeadProviderId,
    cohort: i32,
    as_of: DateTime<Utc>,
) -> Result<Option<EcfContract>, sqlx::Error> {
    let filter = serde_json::json!({"lead_provider_id": provider.0, "cohort": cohort});
    Ok(
        latest_record::<EcfContract>(pool, "ecf_contract", filter, as_of)
            .await?
            .into_iter()
            .next(),
    )
}

/// The provider's NPQ course contracts for a cohort, as registered by `as_of`.
pub async fn npq_contracts(
    pool: &PgPool,
    provider: LeadProviderId,
    cohort: i32,
    as_of: DateTime<Utc>,
) -> Result<Vec<NpqContract>, sqlx::Error> {
    let filter = serde_json::json!({"lead_provider_id": provider.0, "cohort": cohort});
    let mut contracts = latest_record::<NpqContract>(pool, "npq_contract", filter, as_of).await?;
    contracts.sort_by(|a, b| a.course_identifier.cmp(&b.course_identifier));
    Ok(contracts)
}
