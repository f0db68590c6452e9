//! The declarations read model behind `/api/v3/participant-declarations`. A line's state
//! follows from its own stream and from the statement it is on: statement events move every
//! line on the statement in one set-based update, in the same transaction as the checkpoint.

use aggregates::declaration::{
    Declaration, DeclarationSlot, DeclarationSlotEvent as V, DeclarationState,
};
use aggregates::{DeclarationId, Statement, StatementEvent, StatementId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::stretches::{self, Stretches, column};
use crate::{Projection, ProjectionError, StoredEvent, read_model};

mod queries;

pub use queries::*;

/// Projects declaration slot events.
pub struct Declarations;

#[async_trait]
impl Projection for Declarations {
    read_model!(
        name: "declarations",
        reads: [DeclarationSlot::TYPE, Statement::TYPE],
        tables: [
            "line_statements",
            "npq_outcomes",
            "statement_lines",
            "declarations",
            // After the declarations, whose deletion left their counts at zero.
            "statement_line_counts",
        ],
        read_indexes: [
            "declarations_participant_idx",
            "declarations_training_record_idx",
            "npq_outcomes_provider_idx",
            "npq_outcomes_participant_idx",
        ],
        // Taken onto a statement, made payable, paid.
        updated_in_place: ["declarations"],
        shared: ["delete from list_lengths where list = 'declarations'"],
    );

    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        if event.aggregate_type == Statement::TYPE {
            return apply_statement(conn, event).await;
        }
        let at = event.recorded_at;
        let (id, state) = match event
            .decode::<V>()
            .map_err(|e| ProjectionError::decode(event, e))?
        {
            V::Submitted(declaration) => {
                let submitted = Submitted {
                    slot: event.aggregate_id.clone(),
                    declaration,
                    at,
                };
                return submit(conn, vec![submitted]).await.map_err(Into::into);
            }
            V::Voided { declaration_id } => (declaration_id, DeclarationState::Voided),
            V::ClawbackRequested {
                declaration_id,
                statement_id,
            } => {
                set_statement(&mut *conn, declaration_id, statement_id, true).await?;
                (declaration_id, DeclarationState::AwaitingClawback)
            }
            V::BecameEligible {
                declaration_id,
                statement_id,
            } => {
                set_statement(&mut *conn, declaration_id, statement_id, false).await?;
                (declaration_id, DeclarationState::Eligible)
            }
            V::Attached {
                declaration_id,
                statement_id,
                clawback,
            } => {
                set_statement(&mut *conn, declaration_id, Some(statement_id), clawback).await?;
                sqlx::query!(
                    "update declarations set updated_at = $2 where id = $1",
                    declaration_id.0,
                    at
                )
                .execute(&mut *conn)
                .await?;
                follow_statements(conn, &[declaration_id.0]).await?;
                return Ok(());
            }
            V::BecamePayable { declaration_id } => (declaration_id, DeclarationState::Payable),
            V::BecamePaid { declaration_id } => (declaration_id, DeclarationState::Paid),
            V::ClawedBack { declaration_id } => (declaration_id, DeclarationState::ClawedBack),
            V::OutcomeRecorded(outcome) => {
                record_outcome(conn, &outcome, at).await?;
                return Ok(());
            }
            V::MovedOut { .. } => return Ok(()),
            V::MovedIn(moved) => {
                move_in(conn, &event.aggregate_id, &moved, at).await?;
                return Ok(());
            }
        };
        sqlx::query!(
            "update declarations set state = $2, live = $4, updated_at = $3 where id = $1",
            id.0,
            state.as_str(),
            at,
            state.is_live(),
        )
        .execute(&mut *conn)
        .await?;
        if matches!(
            state,
            DeclarationState::Eligible | DeclarationState::AwaitingClawback
        ) {
            follow_statements(conn, &[id.0]).await?;
        }
        Ok(())
    }

    /// Applies a run of events, writing each stretch of submissions (most of a log) in one
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
impl Stretches for Declarations {
    type Item = Submitted;

    fn gather(&self, event: &StoredEvent) -> Result<Option<Submitted>, ProjectionError> {
        if event.aggregate_type != DeclarationSlot::TYPE || event.event_type != "Submitted" {
            return Ok(None);
        }
        let V::Submitted(declaration) = event
            .decode::<V>()
            .map_err(|e| ProjectionError::decode(event, e))?
        else {
            return Ok(None);
        };
        Ok(Some(Submitted {
            slot: event.aggregate_id.clone(),
            declaration,
            at: event.recorded_at,
        }))
    }

    async fn write(
        &self,
        conn: &mut PgConnection,
        stretch: Vec<Submitted>,
    ) -> Result<(), sqlx::Error> {
        submit(conn, stretch).await
    }
}

/// A declaration as its slot's event submitted it.
pub(crate) struct Submitted {
    slot: String,
    declaration: Box<Declaration>,
    at: DateTime<Utc>,
}

/// Writes submitted declarations, each as submitted; one the aggregate put on a statement is
/// held as that statement's line and follows the statement's state.
async fn submit(conn: &mut PgConnection, stretch: Vec<Submitted>) -> Result<(), sqlx::Error> {
    if stretch.is_empty() {
        return Ok(());
    }
    let slots: Vec<String> = stretch.iter().map(|s| s.slot.clone()).collect();
    let times: Vec<DateTime<Utc>> = stretch.iter().map(|s| s.at).collect();
    let ids = column(&stretch, |s| s.declaration.id.0);
    let statements = column(&stretch, |s| s.declaration.statement_id.map(|s| s.0));
    // Each declaration takes the next place in its provider's list; one that lands earlier
    // in the list's order than the provider's last (or is not written) is returned, and the
    // places are numbered afresh from it.
    let misplaced = sqlx::query!(
        r#"
        with submitted as (
            select * from unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::uuid[],
                $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::text[], $11::uuid[],
                $12::uuid[], $13::uuid[], $14::bool[], $15::bool[], $16::int[], $17::uuid[],
                $18::bool[], $19::bool[], $20::timestamptz[], $21::bool[], $22::text[])
                as d (id, slot_id, participant_id, training_record_id, lead_provider_id,
                      course_identifier, declaration_type, declaration_date, evidence_held,
                      state, superseded_by, delivery_partner_id, mentor_id,
                      pupil_premium_uplift, sparsity_uplift, cohort, statement_id,
                      targeted_delivery_funding, has_passed, at, live, programme)
            where not exists (select 1 from declarations e where e.id = d.id)
        ), last as (
            select l.*
            from list_lengths n
            cross join lateral (
                select o.lead_provider_id, o.ordinal, o.created_at, o.id from declarations o
                where o.lead_provider_id = n.lead_provider_id and o.ordinal = n.length
                limit 1
            ) l
            where n.list = 'declarations'
              and n.lead_provider_id in (select lead_provider_id from submitted)
        ), written as (
            insert into declarations (id, slot_id, participant_id, training_record_id,
                lead_provider_id, course_identifier, declaration_type, declaration_date,
                evidence_held, state, superseded_by, delivery_partner_id, mentor_id,
                pupil_premium_uplift, sparsity_uplift, cohort, statement_id,
                targeted_delivery_funding, has_passed, created_at, updated_at, live, programme,
                ordinal)
            select d.id, d.slot_id, d.participant_id, d.training_record_id, d.lead_provider_id,
                   d.course_identifier, d.declaration_type, d.declaration_date,
                   d.evidence_held, d.state, d.superseded_by, d.delivery_partner_id,
                   d.mentor_id, d.pupil_premium_uplift, d.sparsity_uplift, d.cohort,
                   d.statement_id, d.targeted_delivery_funding, d.has_passed, d.at, d.at,
                   d.live, d.programme,
                   coalesce(l.ordinal, 0) + row_number() over (
                       partition by d.lead_provider_id order by d.at, d.id)
            from submitted d left join last l on l.lead_provider_id = d.lead_provider_id
            on conflict (id) do nothing
            returning id
        )
        select d.lead_provider_id as "lead_provider_id!", d.at as "created_at!",
               d.id as "id!"
        from submitted d left join last l on l.lead_provider_id = d.lead_provider_id
        where (d.at, d.id) < (l.created_at, l.id)
           or not exists (select 1 from written w where w.id = d.id)
        "#,
        &ids,
        &slots,
        &column(&stretch, |s| s.declaration.participant_id.0),
        &column(&stretch, |s| s.declaration.training_record_id.0),
        &column(&stretch, |s| s.declaration.lead_provider_id.0),
        &column(&stretch, |s| s.declaration.course.as_str().to_owned()),
        &column(&stretch, |s| s
            .declaration
            .declaration_type
            .as_str()
            .to_owned()),
        &column(&stretch, |s| s.declaration.declaration_date),
        &column(&stretch, |s| s.declaration.evidence_held.clone()) as &[Option<String>],
        &column(&stretch, |s| s.declaration.state.as_str().to_owned()),
        &column(&stretch, |s| s.declaration.superseded_by.map(|s| s.0)) as &[Option<Uuid>],
        &column(&stretch, |s| s.declaration.delivery_partner_id.map(|p| p.0)) as &[Option<Uuid>],
        &column(&stretch, |s| s.declaration.mentor_id.map(|m| m.0)) as &[Option<Uuid>],
        &column(&stretch, |s| s.declaration.pupil_premium_uplift),
        &column(&stretch, |s| s.declaration.sparsity_uplift),
        &column(&stretch, |s| s.declaration.cohort),
        &statements as &[Option<Uuid>],
        &column(&stretch, |s| s.declaration.targeted_delivery_funding),
        &column(&stretch, |s| s.declaration.has_passed) as &[Option<bool>],
        &times,
        &column(&stretch, |s| s.declaration.state.is_live()),
        &column(&stretch, |s| s
            .declaration
            .course
            .programme()
            .as_str()
            .to_owned()),
    )
    .fetch_all(&mut *conn)
    .await?;
    if !misplaced.is_empty() {
        let (providers, created, ids): (Vec<_>, Vec<_>, Vec<_>) = misplaced
            .into_iter()
            .map(|row| (row.lead_provider_id, row.created_at, row.id))
            .collect();
        renumber(&mut *conn, &providers, &created, &ids).await?;
    }
    let (held, on): (Vec<Uuid>, Vec<Uuid>) = ids
        .iter()
        .zip(&statements)
        .filter_map(|(id, statement)| Some((*id, (*statement)?)))
        .unzip();
    if held.is_empty() {
        return Ok(());
    }
    hold_lines(&mut *conn, &held, &on).await?;
    follow_statements(conn, &held).await
}

/// Numbers each provider's own declarations afresh from the earliest of the given ones to the
/// end of its list. The places before it are untouched, so the one just before it is right;
/// only rows whose place changes are written.
async fn renumber(
    conn: &mut PgConnection,
    providers: &[Uuid],
    created: &[DateTime<Utc>],
    ids: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        update declarations d set ordinal = placed.ordinal
        from (
            select tail.id,
                   coalesce(before.ordinal, 0) + row_number() over (
                       partition by tail.lead_provider_id order by tail.created_at, tail.id)
                       as ordinal
            from (
                select distinct on (x.lead_provider_id) x.*
                from unnest($1::uuid[], $2::timestamptz[], $3::uuid[])
                    as x (lead_provider_id, created_at, id)
                order by x.lead_provider_id, x.created_at, x.id
            ) first
            left join lateral (
                select b.ordinal from declarations b
                where b.lead_provider_id = first.lead_provider_id
                  and (b.created_at, b.id) < (first.created_at, first.id)
                order by b.created_at desc, b.id desc
                limit 1
            ) before on true
            join declarations tail
              on tail.lead_provider_id = first.lead_provider_id
             and (tail.created_at, tail.id) >= (first.created_at, first.id)
        ) placed
        where d.id = placed.id and d.ordinal <> placed.ordinal
        "#,
        providers,
        created,
        ids,
    )
    .execute(conn)
    .await
    .map(drop)
}

/// A statement event: it takes lines, or moves every line on it to the state it implies.
async fn apply_statement(
    conn: &mut PgConnection,
    event: &StoredEvent,
) -> Result<(), ProjectionError> {
    let id = StatementId(
        event
            .aggregate_uuid()
            .map_err(|e| ProjectionError::decode(event, e))?,
    );
    let at = event.recorded_at;
    match event
        .decode::<StatementEvent>()
        .map_err(|e| ProjectionError::decode(event, e))?
    {
        StatementEvent::Created(_) => {}
        StatementEvent::Added {
            lines, clawbacks, ..
        } => {
            let lines: Vec<Uuid> = lines.into_iter().map(|d| d.0).collect();
            let clawbacks: Vec<Uuid> = clawbacks.into_iter().map(|d| d.0).collect();
            take_lines(conn, id, &lines, &clawbacks, at).await?;
        }
        StatementEvent::Closed { .. } => close_lines(conn, id, at).await?,
        StatementEvent::Paid { .. } => pay_lines(conn, id, at).await?,
    }
    Ok(())
}

/// Puts the lines a statement took on it, unless another statement took them first. Only
/// `statement_id` and `clawback_statement_id` change on `declarations`, neither indexed, so
/// the update is heap-only where its pages have room; `statement_lines` records the taking.
async fn take_lines(
    conn: &mut PgConnection,
    statement: StatementId,
    lines: &[Uuid],
    clawbacks: &[Uuid],
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        with wanted (id, clawback) as (
            select id, false from unnest($2::uuid[]) as id
            union all
            select id, true from unnest($3::uuid[]) as id
        ), taken as (
            insert into statement_lines (statement_id, clawback, declaration_id)
            select $1, w.clawback, d.id
            from wanted w join declarations d on d.id = w.id
            where case when w.clawback then d.clawback_statement_id else d.statement_id end
                  is null
            order by w.clawback, d.id
            on conflict do nothing
            returning declaration_id, clawback
        )
        update declarations d
        set statement_id = case when t.line then $1 else d.statement_id end,
            clawback_statement_id = case when t.clawback then $1
                                         else d.clawback_statement_id end,
            updated_at = $4
        from (
            select declaration_id, bool_or(not clawback) as line, bool_or(clawback) as clawback
            from taken group by declaration_id
        ) t
        where d.id = t.declaration_id
        "#,
        statement.0,
        lines,
        clawbacks,
        at,
    )
    .execute(conn)
    .await
    .map(drop)
}

/// A statement closed: its eligible lines are payable.
async fn close_lines(
    conn: &mut PgConnection,
    statement: StatementId,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        insert into line_statements (statement_id, state) values ($1, 'payable')
        on conflict (statement_id) do nothing
        "#,
        statement.0,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"
        update declarations d set state = 'payable', updated_at = $2
        from statement_lines l
        where l.statement_id = $1 and not l.clawback and d.id = l.declaration_id
          and d.state = 'eligible'
        "#,
        statement.0,
        at,
    )
    .execute(conn)
    .await
    .map(drop)
}

/// A statement was paid: its eligible and payable lines are paid, the clawbacks on it
/// clawed back.
async fn pay_lines(
    conn: &mut PgConnection,
    statement: StatementId,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        insert into line_statements (statement_id, state) values ($1, 'paid')
        on conflict (statement_id) do update set state = 'paid'
        "#,
        statement.0,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"
        update declarations d set state = 'paid', updated_at = $2
        from statement_lines l
        where l.statement_id = $1 and not l.clawback and d.id = l.declaration_id
          and d.state in ('eligible', 'payable')
        "#,
        statement.0,
        at,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"
        update declarations d set state = 'clawed-back', updated_at = $2
        from statement_lines l
        where l.statement_id = $1 and l.clawback and d.id = l.declaration_id
          and d.state = 'awaiting-clawback'
        "#,
        statement.0,
        at,
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Brings lines into line with the statements they are on, after their own streams moved them
/// (a line can join a statement that has already closed, or even been paid).
async fn follow_statements(conn: &mut PgConnection, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        update declarations d
        set state = case
            when d.state = 'awaiting-clawback' and c.state = 'paid' then 'clawed-back'
            when d.state in ('eligible', 'payable') and s.state = 'paid' then 'paid'
            when d.state = 'eligible' and s.state = 'payable' then 'payable'
            else d.state end
        from declarations l
        left join line_statements s on s.statement_id = l.statement_id
        left join line_statements c on c.statement_id = l.clawback_statement_id
        where l.id = any($1) and d.id = l.id and (s.state is not null or c.state is not null)
        "#,
        ids,
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Adds an NPQ outcome and shows it on its declaration.
async fn record_outcome(
    conn: &mut PgConnection,
    outcome: &aggregates::declaration::Outcome,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        insert into npq_outcomes (id, declaration_id, participant_id, lead_provider_id,
            course_identifier, state, completion_date, created_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8)
        on conflict (id) do nothing
        "#,
        outcome.id,
        outcome.declaration_id.0,
        outcome.participant_id.0,
        outcome.lead_provider_id.0,
        outcome.course.as_str(),
        outcome.state.as_str(),
        outcome.completion_date,
        at,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update declarations set has_passed = $2, updated_at = $3 where id = $1",
        outcome.declaration_id.0,
        outcome.state.has_passed(),
        at,
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Shows a retired id's declarations, and their outcomes, under the kept person and their slot.
async fn move_in(
    conn: &mut PgConnection,
    slot_id: &str,
    moved: &aggregates::declaration::Moved,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let ids: Vec<Uuid> = moved.declarations.iter().map(|(d, _)| d.id.0).collect();
    let states: Vec<&str> = moved.declarations.iter().map(|(_, s)| s.as_str()).collect();
    let live: Vec<bool> = moved
        .declarations
        .iter()
        .map(|(_, s)| s.is_live())
        .collect();
    let superseded: Vec<Option<Uuid>> = moved
        .declarations
        .iter()
        .map(|(d, _)| d.superseded_by.map(|s| s.0))
        .collect();
    sqlx::query!(
        r#"
        update declarations d
        set slot_id = $1, participant_id = $2, state = m.state, live = m.live,
            superseded_by = m.superseded_by, updated_at = $6
        from unnest($3::uuid[], $4::text[], $5::uuid[], $7::bool[])
            as m(id, state, superseded_by, live)
        where d.id = m.id
        "#,
        slot_id,
        moved.participant_id.0,
        &ids,
        &states as &[&str],
        &superseded as &[Option<Uuid>],
        at,
        &live,
    )
    .execute(&mut *conn)
    .await?;
    let outcomes: Vec<Uuid> = moved.outcomes.iter().map(|o| o.id).collect();
    sqlx::query!(
        "update npq_outcomes set participant_id = $2 where id = any($1) or declaration_id = any($3)",
        &outcomes,
        moved.participant_id.0,
        &ids,
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Puts a declaration's billable or clawback line on a statement (or on none), in
/// `statement_lines` as on the declaration.
async fn set_statement(
    conn: &mut PgConnection,
    declaration: DeclarationId,
    statement: Option<aggregates::StatementId>,
    clawback: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        with dropped as (
            delete from statement_lines l
            using declarations d
            where d.id = $1 and l.declaration_id = $1 and l.clawback = $3
              and l.statement_id = case when $3 then d.clawback_statement_id
                                        else d.statement_id end
              and l.statement_id is distinct from $2
        ), moved as (
            update declarations
            set statement_id = case when $3 then statement_id else $2 end,
                clawback_statement_id = case when $3 then $2 else clawback_statement_id end
            where id = $1
        )
        insert into statement_lines (statement_id, clawback, declaration_id)
        select $2::uuid, $3, $1 where $2::uuid is not null
        on conflict do nothing
        "#,
        declaration.0,
        statement.map(|s| s.0),
        clawback,
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Records declarations' billable lines on the statements chosen when they were accepted.
async fn hold_lines(
    conn: &mut PgConnection,
    declarations: &[Uuid],
    statements: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        insert into statement_lines (statement_id, clawback, declaration_id)
        select statement_id, false, declaration_id
        from unnest($1::uuid[], $2::uuid[]) as l (declaration_id, statement_id)
        on conflict do nothing
        "#,
        declarations,
        statements,
    )
    .execute(conn)
    .await
    .map(drop)
}
