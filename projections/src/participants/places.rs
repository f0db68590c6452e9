//! Each provider's list of the people it trains, with every person's place in it (`ordinal`,
//! dense from 1 in the list's order), so that a page of the list is read by place.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Lists people under providers (`(provider, person)` pairs; those already listed keep their
/// place). A person usually joins the end of a list and takes the next place; one created
/// before the last listed person renumbers the places from theirs.
///
/// Each person and listing is looked up by its key: `offset 0` keeps the two subqueries from
/// being planned as joins, which PostgreSQL answered for a batch of a thousand (a rebuild's)
/// by reading both tables whole, so that a rebuild's time grew with the square of the people
/// (rebuilding 100,000: 14.5 ms a batch by key, against 28.5 ms on average and rising).
pub(super) async fn list(
    conn: &mut PgConnection,
    providers: &[Uuid],
    people: &[Uuid],
) -> Result<(), sqlx::Error> {
    let early = sqlx::query!(
        r#"
        with wanted as (
            select distinct x.lead_provider_id, x.participant_id, p.created_at
            from unnest($1::uuid[], $2::uuid[]) as x (lead_provider_id, participant_id)
            cross join lateral (
                select created_at from participants p where p.id = x.participant_id offset 0
            ) p
            where not exists (
                select from provider_participants pp
                where pp.lead_provider_id = x.lead_provider_id
                  and pp.participant_id = x.participant_id
                offset 0)
        ), last as (
            select l.*
            from list_lengths n
            cross join lateral (
                select pp.lead_provider_id, pp.ordinal, pp.participant_created_at,
                       pp.participant_id
                from provider_participants pp
                where pp.lead_provider_id = n.lead_provider_id and pp.ordinal = n.length
                limit 1
            ) l
            where n.list = 'participants'
              and n.lead_provider_id in (select lead_provider_id from wanted)
        ), listed as (
            insert into provider_participants (lead_provider_id, participant_id,
                participant_created_at, ordinal)
            select w.lead_provider_id, w.participant_id, w.created_at,
                   coalesce(l.ordinal, 0) + row_number() over (
                       partition by w.lead_provider_id order by w.created_at, w.participant_id)
            from wanted w left join last l on l.lead_provider_id = w.lead_provider_id
        )
        select w.lead_provider_id as "lead_provider_id!", w.created_at as "created_at!",
               w.participant_id as "participant_id!"
        from wanted w join last l on l.lead_provider_id = w.lead_provider_id
        where (w.created_at, w.participant_id) < (l.participant_created_at, l.participant_id)
        "#,
        providers,
        people,
    )
    .fetch_all(&mut *conn)
    .await?;
    let (providers, created, people): (Vec<_>, Vec<_>, Vec<_>) = early
        .into_iter()
        .map(|row| (row.lead_provider_id, row.created_at, row.participant_id))
        .collect();
    renumber(conn, &providers, &created, &people).await
}

/// Takes people off providers' lists when no record of theirs has a placement with the
/// provider any more, and closes the gaps they leave.
pub(super) async fn unlist_without_placement(
    conn: &mut PgConnection,
    person: Uuid,
) -> Result<(), sqlx::Error> {
    let left = sqlx::query!(
        r#"
        delete from provider_participants pp
        where pp.participant_id = $1 and not exists (
            select 1 from training_records r
            join stints s on s.training_record_id = r.id
            where r.participant_id = $1 and s.lead_provider_id = pp.lead_provider_id)
        returning pp.lead_provider_id, pp.participant_created_at, pp.participant_id
        "#,
        person,
    )
    .fetch_all(&mut *conn)
    .await?;
    let (providers, created, people): (Vec<_>, Vec<_>, Vec<_>) = left
        .into_iter()
        .map(|row| {
            (
                row.lead_provider_id,
                row.participant_created_at,
                row.participant_id,
            )
        })
        .collect();
    renumber(conn, &providers, &created, &people).await
}

/// Numbers each provider's list afresh from the earliest of the given places (a person who
/// arrived there or left it) to its end. The places before it are untouched, so the one just
/// before it is right; only rows whose place changes are written.
async fn renumber(
    conn: &mut PgConnection,
    providers: &[Uuid],
    created: &[DateTime<Utc>],
    people: &[Uuid],
) -> Result<(), sqlx::Error> {
    if providers.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        r#"
        update provider_participants pp set ordinal = placed.ordinal
        from (
            select tail.lead_provider_id, tail.participant_id,
                   coalesce(before.ordinal, 0) + row_number() over (
                       partition by tail.lead_provider_id
                       order by tail.participant_created_at, tail.participant_id) as ordinal
            from (
                select distinct on (x.lead_provider_id) x.*
                from unnest($1::uuid[], $2::timestamptz[], $3::uuid[])
                    as x (lead_provider_id, created_at, participant_id)
                order by x.lead_provider_id, x.created_at, x.participant_id
            ) first
            left join lateral (
                select b.ordinal from provider_participants b
                where b.lead_provider_id = first.lead_provider_id
                  and (b.participant_created_at, b.participant_id)
                      < (first.created_at, first.participant_id)
                order by b.participant_created_at desc, b.participant_id desc
                limit 1
            ) before on true
            join provider_participants tail
              on tail.lead_provider_id = first.lead_provider_id
             and (tail.participant_created_at, tail.participant_id)
                 >= (first.created_at, first.participant_id)
        ) placed
        where pp.lead_provider_id = placed.lead_provider_id
          and pp.participant_id = placed.participant_id
          and pp.ordinal <> placed.ordinal
        "#,
        providers,
        created,
        people,
    )
    .execute(conn)
    .await
    .map(drop)
}
