//! What statements hold, for pricing them: the line counts of every statement of a provider,
//! programme and cohort, either from the live read models or folded from the event log as it
//! stood at an instant (the same numbers when the instant is now: the replay test checks it).

use std::collections::{BTreeMap, HashMap};

use aggregates::declaration::{Declaration, DeclarationSlotEvent, DeclarationState, transition};
use aggregates::reference::{EcfContract, NpqContract};
use aggregates::{LeadProviderId, Programme, RecordEvent, StatementEvent};
use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
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

/// The statements priced together: one provider's programme and cohort.
pub type Group = (LeadProviderId, Programme, i32);

/// How often a replay reports progress, in events.
const PROGRESS_EVERY: u64 = 10_000;

fn kind(programme: Programme, course: &str, declaration_type: &str) -> String {
    match programme {
        Programme::Ecf => declaration_type.to_owned(),
        Programme::Npq => course.to_owned(),
    }
}

/// The statements of one or more groups, being filled with line counts, found by id.
struct StatementTally {
    groups: HashMap<Group, CohortLines>,
    by_id: HashMap<Uuid, (Group, usize)>,
}

impl StatementTally {
    /// Orders each group's statements by payment date, then deadline, then id, and indexes them.
    fn new(mut groups: HashMap<Group, CohortLines>) -> Self {
        let mut by_id = HashMap::new();
        for (group, statements) in &mut groups {
            statements.sort_by(|a, b| {
                (a.payment_date, a.deadline_date, a.id).cmp(&(
                    b.payment_date,
                    b.deadline_date,
                    b.id,
                ))
            });
            for (i, statement) in statements.iter().enumerate() {
                by_id.insert(statement.id, (*group, i));
            }
        }
        Self { groups, by_id }
    }

    fn statement(&mut self, id: Option<Uuid>) -> Option<(Programme, &mut StatementLines)> {
        let ((provider, programme, cohort), i) = *self.by_id.get(&id?)?;
        let statements = self.groups.get_mut(&(provider, programme, cohort))?;
        Some((programme, statements.get_mut(i)?))
    }

    /// Counts `line.lines` alike lines on their statement and, if refundable, on their
    /// clawback statement.
    fn count(&mut self, line: Line<'_>) {
        let n = line.lines;
        // Mentors' uplifts count here though the API's `uplift_paid` leaves them out
        // (docs/finance.md: "mentors included, as the calculator does").
        let uplift = n * i64::from(line.uplift && line.declaration_type == "started");
        if line.state.is_billable()
            && let Some((programme, s)) = self.statement(line.statement)
        {
            let kind = kind(programme, line.course, line.declaration_type);
            let counts = s.lines.entry(kind).or_default();
            counts.billable += n;
            counts.uplift_billable += uplift;
        }
        if line.state.is_refundable()
            && let Some((programme, s)) = self.statement(line.clawback)
        {
            let kind = kind(programme, line.course, line.declaration_type);
            let counts = s.lines.entry(kind).or_default();
            counts.refundable += n;
            counts.uplift_refundable += uplift;
        }
    }
}

/// Declarations that statements count alike.
struct Line<'a> {
    lines: i64,
    statement: Option<Uuid>,
    clawback: Option<Uuid>,
    state: DeclarationState,
    course: &'a str,
    declaration_type: &'a str,
    uplift: bool,
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
        "#,
        provider.0,
        programme.as_str(),
        cohort
    )
    .fetch_all(pool)
    .await?;
    let ids: Vec<Uuid> = statements.iter().map(|s| s.id).collect();
    let group = (provider, programme, cohort);
    let statements = statements
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
    let mut tally = StatementTally::new(HashMap::from([(group, statements)]));
    // The projection keeps the lines counted (`statement_line_counts`), so pricing does not
    // group every line of every statement.
    let mut lines = sqlx::query!(
        r#"
        select statement_id, clawback, state, declaration_type, course_identifier, uplift, lines
        from statement_line_counts
        where statement_id = any($1) and lines <> 0
        "#,
        &ids
    )
    .fetch(pool);
    while let Some(line) = lines.try_next().await? {
        let state = DeclarationState::parse(&line.state).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown declaration state {:?}", line.state).into())
        })?;
        let (statement, clawback) = match line.clawback {
            true => (None, Some(line.statement_id)),
            false => (Some(line.statement_id), None),
        };
        tally.count(Line {
            lines: line.lines,
            statement,
            clawback,
            state,
            course: &line.course_identifier,
            declaration_type: &line.declaration_type,
            uplift: line.uplift,
        });
    }
    Ok(tally.groups.remove(&group).unwrap_or_default())
}

/// The lines of one group as the event log stood at `as_of`, folded from the events recorded
/// by then; `progress` is told how many declaration events were read.
pub async fn as_of(
    pool: &PgPool,
    provider: LeadProviderId,
    programme: Programme,
    cohort: i32,
    as_of: DateTime<Utc>,
    progress: impl FnMut(u64),
) -> Result<CohortLines, sqlx::Error> {
    let group = (provider, programme, cohort);
    let mut all = all_as_of(pool, as_of, |g| *g == group, progress).await?;
    Ok(all.remove(&group).unwrap_or_default())
}

/// The lines of every `wanted` group as the event log stood at `as_of`, from one pass over
/// the log in its global order.
pub async fn all_as_of(
    pool: &PgPool,
    as_of: DateTime<Utc>,
    wanted: impl Fn(&Group) -> bool,
    mut progress: impl FnMut(u64),
) -> Result<HashMap<Group, CohortLines>, sqlx::Error> {
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
    let mut groups: HashMap<Group, CohortLines> = HashMap::new();
    let mut group_of: HashMap<Uuid, Group> = HashMap::new();
    // Lines taken by statements finance added, in log order: (statement, line, clawback).
    let mut taken: Vec<(Uuid, Uuid, bool)> = Vec::new();
    for row in statement_events {
        let id =
            Uuid::parse_str(&row.aggregate_id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let event = serde_json::from_value::<StatementEvent>(row.payload).map_err(decode)?;
        if let StatementEvent::Added {
            lines, clawbacks, ..
        } = &event
        {
            taken.extend(lines.iter().map(|line| (id, line.0, false)));
            taken.extend(clawbacks.iter().map(|line| (id, line.0, true)));
        }
        if let StatementEvent::Created(terms) | StatementEvent::Added { terms, .. } = &event {
            let group = (terms.lead_provider_id, terms.programme, terms.cohort);
            if wanted(&group) {
                group_of.insert(id, group);
                groups.entry(group).or_default().push(StatementLines {
                    id,
                    name: terms.name.clone(),
                    deadline_date: terms.deadline_date,
                    payment_date: terms.payment_date,
                    output_fee: terms.output_fee,
                    closed: false,
                    paid: false,
                    lines: BTreeMap::new(),
                });
            }
            continue;
        }
        let Some(statement) = group_of
            .get(&id)
            .and_then(|group| groups.get_mut(group))
            .and_then(|statements| statements.iter_mut().find(|s| s.id == id))
        else {
            continue;
        };
        match event {
            StatementEvent::Created(_) | StatementEvent::Added { .. } => {}
            StatementEvent::Closed { .. } => statement.closed = true,
            StatementEvent::Paid { .. } => statement.paid = true,
        }
    }
    let mut tally = StatementTally::new(groups);

    let mut declarations: HashMap<Uuid, (Declaration, DeclarationState)> = HashMap::new();
    let mut events = sqlx::query!(
        r#"
        select payload from events
        where aggregate_type = 'declaration_slot' and recorded_at <= $1
        order by transaction_id, position
        "#,
        as_of,
    )
    .fetch(pool);
    let mut read = 0;
    while let Some(row) = events.try_next().await? {
        fold(
            &mut declarations,
            serde_json::from_value(row.payload).map_err(decode)?,
        );
        read += 1;
        if read % PROGRESS_EVERY == 0 {
            progress(read);
        }
    }
    progress(read);
    // A line is taken only while no statement holds it, so the first taker in the log wins,
    // as in the read model.
    for (statement, line, clawback) in taken {
        let Some((declaration, _)) = declarations.get_mut(&line) else {
            continue;
        };
        let held = match clawback {
            true => &mut declaration.clawback_statement_id,
            false => &mut declaration.statement_id,
        };
        if held.is_none() {
            *held = Some(aggregates::StatementId(statement));
        }
    }
    for (declaration, state) in declarations.values() {
        tally.count(Line {
            lines: 1,
            statement: declaration.statement_id.map(|s| s.0),
            clawback: declaration.clawback_statement_id.map(|s| s.0),
            state: *state,
            course: declaration.course.as_str(),
            declaration_type: declaration.declaration_type.as_str(),
            uplift: declaration.pupil_premium_uplift
                || declaration.sparsity_uplift
                || declaration.targeted_delivery_funding,
        });
    }
    Ok(tally.groups)
}

/// Applies one declaration slot event to the folded declarations, by the aggregate's own
/// transition function.
fn fold(
    declarations: &mut HashMap<Uuid, (Declaration, DeclarationState)>,
    event: DeclarationSlotEvent,
) {
    match event {
        DeclarationSlotEvent::Submitted(declaration) => {
            let state = declaration.state;
            declarations.insert(declaration.id.0, (*declaration, state));
        }
        DeclarationSlotEvent::MovedIn(moved) => {
            for (declaration, state) in moved.declarations {
                declarations.insert(declaration.id.0, (declaration, state));
            }
        }
        event => {
            let moved = event.moved().and_then(|id| declarations.get_mut(&id.0));
            if let Some((declaration, state)) = moved {
                transition(declaration, state, &event);
            }
        }
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
