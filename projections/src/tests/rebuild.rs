//! Rebuilds write each read model's tables afresh and swap them in: the tables left behind
//! are the ones the migrations made, holding the rows the live read models held, and readers
//! see the old rows, never an error, until the swap commits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aggregates::declaration::DeclarationState;
use sqlx::PgPool;

use super::{catch_up, ect, provider, rows_of, submit_started};
use crate::Runner;

/// A little of what the big read models hold: two providers, people, declarations.
async fn world(pool: &PgPool) {
    let alpha = provider(pool, "Alpha").await;
    let beta = provider(pool, "Beta").await;
    for (n, name) in ["ann", "bob", "cat", "dan"].into_iter().enumerate() {
        let lead = if n % 2 == 0 { alpha } else { beta };
        let person = ect(pool, name, lead).await;
        submit_started(
            pool,
            n as u128 + 1,
            lead,
            person,
            DeclarationState::Eligible,
        )
        .await;
    }
}

/// Every table a rebuild writes afresh.
fn rebuilt_tables() -> Vec<&'static str> {
    crate::all()
        .iter()
        .filter(|projection| projection.rebuildable())
        .flat_map(|projection| projection.tables().iter().copied())
        .collect()
}

/// How these tables, and every view, are made: columns, storage parameters, constraints,
/// indexes and triggers, as PostgreSQL writes them back; and any schema a rebuild left.
async fn shape(pool: &PgPool, tables: &[&str]) -> Vec<String> {
    sqlx::query_scalar(
        r#"
        with made as (select unnest($1::text[])::regclass as oid)
        select kind || ' ' || definition from (
            select 'column' as kind, format('%s.%s %s %s %s', c.relname, a.attname,
                   format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid)) as definition
            from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attnum > 0
                 and not a.attisdropped
            left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
            where c.oid in (select oid from made)
            union all
            select 'options', format('%s %s', relname, reloptions) from pg_class
            where oid in (select oid from made)
            union all
            select 'constraint', format('%s %s %s', conrelid::regclass, conname,
                   pg_get_constraintdef(oid))
            from pg_constraint where conrelid in (select oid from made)
            union all
            select 'index', pg_get_indexdef(indexrelid) from pg_index
            where indrelid in (select oid from made)
            union all
            select 'trigger', pg_get_triggerdef(oid) from pg_trigger
            where tgrelid in (select oid from made) and not tgisinternal
            union all
            select 'view', format('%s %s', viewname, definition) from pg_views
            where schemaname = 'public'
            union all
            select 'schema', nspname from pg_namespace where nspname like 'rebuild%'
        ) described
        order by 1
        "#,
    )
    .bind(tables)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_rebuild_leaves_the_tables_the_migrations_made_with_the_live_rows(pool: PgPool) {
    world(&pool).await;
    catch_up(&pool).await;
    let tables = rebuilt_tables();
    let made = shape(&pool, &tables).await;
    let live = rows_of(&pool, &tables).await;
    assert!(
        made.iter()
            .any(|line| line.contains("declarations_training_record_idx"))
    );
    assert!(
        made.iter()
            .any(|line| line.starts_with("view declaration_viewers"))
    );
    assert!(made.iter().any(|line| line.contains("fillfactor=45")));
    assert!(live.len() > 8, "{live:?}");

    let runner = Runner::new(pool.clone(), crate::all()).await.unwrap();
    runner.rebuild_all(2, |_| |_, _| {}).await.unwrap();

    assert_eq!(shape(&pool, &tables).await, made);
    assert_eq!(rows_of(&pool, &tables).await, live);
    // The runner follows the log on, on the swapped-in tables.
    let beta = aggregates::LeadProviderId::from_name("Beta");
    let person = ect(&pool, "eve", beta).await;
    submit_started(&pool, 9, beta, person, DeclarationState::Eligible).await;
    runner.catch_up().await.unwrap();
    let shown: i64 = sqlx::query_scalar("select count(*) from declarations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(shown, 5);
}

#[sqlx::test(migrations = "../migrations")]
async fn indexes_to_build_last_must_be_the_rebuilt_tables_own(pool: PgPool) {
    let mut tx = pool.begin().await.unwrap();
    let refused = sqlx::query("select fresh_tables('rebuild_x', '{declarations}', $1)")
        .bind(["stints_provider_latest_idx"])
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("must be on the tables rebuilt"),
        "{refused}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn readers_see_the_old_rows_without_error_while_read_models_are_rebuilt(pool: PgPool) {
    world(&pool).await;
    catch_up(&pool).await;
    let runner = Runner::new(pool.clone(), crate::all()).await.unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (pool, done) = (pool.clone(), done.clone());
            tokio::spawn(async move {
                let mut reads = 0_u32;
                while !done.load(Ordering::Relaxed) || reads == 0 {
                    // A prepared statement, as the service's are, planned on the tables
                    // a rebuild then replaces.
                    let (declarations, viewers, listed, subjects): (i64, i64, i64, i64) =
                        sqlx::query_as(
                            "select (select count(*) from declarations),
                                    (select count(*) from declaration_viewers),
                                    (select count(*) from provider_participants),
                                    (select count(*) from audit_subjects)",
                        )
                        .fetch_one(&pool)
                        .await
                        .expect("a read during a rebuild");
                    assert_eq!((declarations, viewers, listed), (4, 0, 4));
                    assert!(subjects > 0);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for _ in 0..3 {
        runner.rebuild_all(2, |_| |_, _| {}).await.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        assert!(reader.await.unwrap() > 0);
    }
}

/// The tables no read model writes: the log and its seals (evidence, never rebuilt), the
/// runner's and the service's own, and `list_lengths`, whose rows two read models share.
const NOT_READ_MODELS: &[&str] = &[
    "_sqlx_migrations",
    "api_tokens",
    "audit_seals",
    "events",
    "list_lengths",
    "projection_checkpoints",
    "rate_limit_counters",
    "sandbox_clock",
];

#[sqlx::test(migrations = "../migrations")]
async fn every_other_table_is_written_afresh_by_the_one_read_model_that_owns_it(pool: PgPool) {
    let mut owned = rebuilt_tables();
    owned.sort_unstable();
    let claimed = owned.len();
    owned.dedup();
    assert_eq!(owned.len(), claimed, "a table claimed by two read models");
    let mut tables: Vec<String> = sqlx::query_scalar(
        "select tablename::text from pg_tables where schemaname = 'public' and tablename <> all($1)",
    )
    .bind(NOT_READ_MODELS)
    .fetch_all(&pool)
    .await
    .unwrap();
    tables.sort_unstable();
    assert_eq!(tables, owned);
    for projection in crate::all() {
        for table in projection.updated_in_place() {
            assert!(
                projection.tables().contains(table),
                "{} leaves room in {table}, which it does not own",
                projection.name()
            );
        }
    }
}
