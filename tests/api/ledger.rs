//! The event store and the projection runner: global order, exactly-once, rebuilds, metadata.

use std::collections::HashMap;
use std::sync::Mutex;

use aggregates::{LeadProviderId, Statement, StatementCommand, StatementEvent};
use cpd_ledger::ledger::{Actor, CommandContext};
use cpd_ledger::seed::SeedSet;
use futures::future::join_all;
use projections::Runner;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::helpers::{TestApp, day, ecf_statement};

/// Writes a statement-created event the way the event store does, inside `tx`.
async fn insert_statement_event(tx: &mut PgConnection, name: &str) -> Uuid {
    let id = Uuid::new_v4();
    let terms = ecf_statement(
        LeadProviderId::from_name("Teach First"),
        2021,
        name,
        day(2022, 4, 30),
        day(2022, 5, 25),
    );
    let payload = serde_json::to_value(StatementEvent::Created(terms)).unwrap();
    sqlx::query(
        "insert into events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         values ('statement', $1, 1, 'Created', '1', $2, '{}')",
    )
    .bind(id.to_string())
    .bind(payload)
    .execute(tx)
    .await
    .unwrap();
    id
}

/// Catches up until `expected` events have been read, or ten seconds pass. Transactions of
/// other tests on the same server can hold visibility back for a moment, never skip an event.
async fn read_until(runner: &Runner, expected: u64) -> u64 {
    let mut read = 0;
    for _ in 0..200 {
        read += runner.catch_up().await.unwrap();
        if read >= expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    read
}

async fn statement_ids(pool: &PgPool) -> Vec<Uuid> {
    sqlx::query_scalar("select id from statements order by name")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn a_transaction_that_commits_late_is_neither_skipped_nor_applied_twice(pool: PgPool) {
    let runner = Runner::new(pool.clone(), projections::all()).await.unwrap();
    let mut earlier = pool.begin().await.unwrap();
    let first = insert_statement_event(&mut earlier, "A: started first, commits last").await;
    let mut later = pool.begin().await.unwrap();
    let second = insert_statement_event(&mut later, "B: started second, commits first").await;
    later.commit().await.unwrap();

    let while_open = read_until(&runner, 1).await;
    assert_eq!(
        while_open, 1,
        "the committed transaction is read although an older one is still open"
    );
    assert_eq!(statement_ids(&pool).await, vec![second]);

    earlier.commit().await.unwrap();
    let after_commit = read_until(&runner, 1).await;
    let again = runner.catch_up().await.unwrap();

    assert_eq!(after_commit, 1, "the late commit is read once it commits");
    assert_eq!(again, 0, "nothing is read twice");
    assert_eq!(statement_ids(&pool).await, vec![first, second]);
}

#[sqlx::test]
async fn two_runners_never_apply_an_event_twice(pool: PgPool) {
    let one = Runner::new(pool.clone(), projections::all()).await.unwrap();
    let two = Runner::new(pool.clone(), projections::all()).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    for n in 0..50 {
        insert_statement_event(&mut tx, &format!("statement {n}")).await;
    }
    tx.commit().await.unwrap();

    let (a, b) = tokio::join!(one.catch_up(), two.catch_up());
    let racing = a.unwrap() + b.unwrap();
    let rest = read_until(&one, 50 - racing).await;

    assert_eq!(
        racing + rest,
        50,
        "each event was read by exactly one runner"
    );
    assert_eq!(statement_ids(&pool).await.len(), 50);
}

#[sqlx::test]
async fn a_backlog_longer_than_a_batch_is_applied_once_in_order(pool: PgPool) {
    let runner = Runner::new(pool.clone(), projections::all()).await.unwrap();
    runner.catch_up().await.unwrap();
    // Three transactions, the first larger than a batch (1,000 events), so the reader resumes
    // inside a transaction's events and then moves on to the later ones.
    for (first, count) in [(0, 1_500), (1_500, 300), (1_800, 200)] {
        let mut tx = pool.begin().await.unwrap();
        for n in first..first + count {
            insert_statement_event(&mut tx, &format!("statement {n:04}")).await;
        }
        tx.commit().await.unwrap();
    }

    let read = read_until(&runner, 2_000).await;
    let again = runner.catch_up().await.unwrap();

    assert_eq!(read, 2_000, "every event is read once");
    assert_eq!(again, 0, "nothing is read twice");
    let names: Vec<String> = sqlx::query_scalar("select name from statements order by name")
        .fetch_all(&pool)
        .await
        .unwrap();
    let expected: Vec<String> = (0..2_000).map(|n| format!("statement {n:04}")).collect();
    assert_eq!(names, expected);
}

/// Every read model table, as JSON rows in a stable order.
const READ_MODELS: [&str; 18] = [
    "lead_providers",
    "statements",
    "cohorts",
    "schedules",
    "schools",
    "delivery_partners",
    "provider_relationships",
    "school_cohorts",
    "partnerships",
    "participants",
    "training_records",
    "stints",
    "provider_participants",
    "declarations",
    "npq_applications",
    "participant_aliases",
    "npq_outcomes",
    "audit_subjects",
];

/// Every read model's rows.
pub(crate) async fn snapshot(pool: &PgPool) -> Vec<Vec<Value>> {
    snapshot_of(pool, &READ_MODELS).await
}

/// These tables' rows as JSON, in a stable order.
pub(crate) async fn snapshot_of(pool: &PgPool, read_models: &[&str]) -> Vec<Vec<Value>> {
    let mut tables = Vec::new();
    for table in read_models {
        let query = format!("select to_jsonb(t) from {table} t order by to_jsonb(t)::text");
        tables.push(sqlx::query_scalar(&query).fetch_all(pool).await.unwrap());
    }
    tables
}

/// Rebuilds every rebuildable read model from the start of the log, two at a time, checking
/// each one's progress.
pub(crate) async fn rebuild_all(runner: &Runner) {
    let reports: Mutex<HashMap<&str, Vec<(u64, u64)>>> = Mutex::default();
    let reports = &reports;
    let rebuilt = runner
        .rebuild_all(2, |name| {
            move |done, total| {
                let mut reports = reports.lock().unwrap();
                reports.entry(name).or_default().push((done, total));
            }
        })
        .await
        .unwrap();
    let rebuildable = runner.projections().iter().filter(|p| p.rebuildable());
    assert_eq!(rebuilt.len(), rebuildable.count(), "every one rebuilt once");
    let reports = reports.lock().unwrap();
    for rebuilt in &rebuilt {
        // The sandbox retires no participant id; `retire.rs` replays a retirement.
        assert!(
            rebuilt.events > 0 || rebuilt.name == "participant_retirements",
            "{}",
            rebuilt.name
        );
        assert_eq!(
            reports[rebuilt.name].last(),
            Some(&(rebuilt.events, rebuilt.events)),
            "progress ends at the total"
        );
    }
}

#[sqlx::test]
async fn a_rebuild_from_zero_equals_the_live_read_models(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    app.seed(SeedSet::Sandbox).await;
    let live = snapshot(&pool).await;
    assert!(
        live.iter().all(|rows| !rows.is_empty()),
        "every read model has rows"
    );

    rebuild_all(app.ledger.runner()).await;

    assert_eq!(snapshot(&pool).await, live);
}

#[sqlx::test]
async fn every_event_records_its_actor_version_request_and_time(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let provider = LeadProviderId::from_name("Teach First");
    let terms = ecf_statement(
        provider,
        2021,
        "May 2022",
        day(2022, 4, 30),
        day(2022, 5, 25),
    );
    let context = CommandContext {
        actor: Actor::LeadProvider(provider),
        api_version: Some("v3"),
        request_id: Some("req-42".to_owned()),
    };

    app.ledger
        .execute::<Statement>("one", StatementCommand::Create(terms), &context)
        .await
        .unwrap();

    let (metadata, event_id, position): (Value, Uuid, i64) =
        sqlx::query_as("select metadata, event_id, position from events")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(metadata["actor_type"], "lead_provider");
    assert_eq!(metadata["actor_id"], provider.to_string());
    assert_eq!(metadata["api_version"], "v3");
    assert_eq!(metadata["request_id"], "req-42");
    assert!(metadata["time"].as_str().unwrap().ends_with('Z'));
    assert!(!event_id.is_nil() && position > 0);
}

#[sqlx::test]
async fn concurrent_identical_commands_write_one_event(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let terms = ecf_statement(
        LeadProviderId::from_name("Teach First"),
        2021,
        "May 2022",
        day(2022, 4, 30),
        day(2022, 5, 25),
    );
    let context = CommandContext::of(Actor::Seed);

    let results = join_all((0..16).map(|_| {
        app.ledger
            .execute::<Statement>("same", StatementCommand::Create(terms.clone()), &context)
    }))
    .await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let count: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[sqlx::test]
async fn auto_plans_generically_only_where_autovacuum_keeps_statistics(pool: PgPool) {
    use cpd_ledger::PlanCache;
    use sqlx::ConnectOptions;

    let autovacuum: String = sqlx::query_scalar("show autovacuum")
        .fetch_one(&pool)
        .await
        .unwrap();
    let options = (*pool.connect_options()).clone();
    let expected = match autovacuum.as_str() {
        "on" => PlanCache::Generic,
        _ => PlanCache::Custom,
    };

    assert_eq!(PlanCache::Auto.on(&options).await.unwrap(), expected);
    assert_eq!(
        PlanCache::Generic.on(&options).await.unwrap(),
        PlanCache::Generic,
        "a mode given is kept"
    );
    for (plans, setting) in [
        (PlanCache::Generic, "auto"),
        (PlanCache::Custom, "force_custom_plan"),
    ] {
        let mut conn = plans.apply(options.clone()).connect().await.unwrap();
        let mode: String = sqlx::query_scalar("show plan_cache_mode")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(mode, setting);
    }
}
