//! The tamper drill: a superuser edits, deletes and inserts events behind the triggers' back
//! (`session_replication_role = replica`), with rebuilds in between. Verification names each
//! change with its event, and no rebuild, checkpoint reset or restart makes it pass again.

use cpd_ledger::cli;
use projections::seals::{self, Finding, Head};
use projections::{Position, Runner};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{TestApp, day, ecf_statement};

/// A provider and `months` statements, every event sealed (in several batches).
async fn sealed_log(pool: &PgPool, months: u32) -> TestApp {
    let app = TestApp::new(pool.clone()).await;
    let (provider, _) = app.provider("Teach First").await;
    for month in 1..=months {
        let name = format!("Month {month} 2022");
        let (opens, closes) = (day(2022, month, 1), day(2022, month, 25));
        app.statement(ecf_statement(provider, 2021, &name, opens, closes))
            .await;
    }
    app.ledger.runner().catch_up().await.unwrap();
    app
}

/// Runs `sql` (with `$1` bound to `position`) as a superuser who switches the
/// append-only triggers off.
async fn as_superuser(pool: &PgPool, sql: &str, position: i64) {
    let mut tamper = pool.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tamper)
        .await
        .unwrap();
    sqlx::query(sql)
        .bind(position)
        .execute(&mut *tamper)
        .await
        .unwrap();
    tamper.commit().await.unwrap();
}

/// The seal, position and event of the `n`th statement event sealed (from 1).
async fn statement_event(pool: &PgPool, n: i64) -> (i64, i64, Uuid) {
    sqlx::query_as(
        "select s.seal, s.position, s.event_id from audit_seals s join events e using (event_id)
         where e.aggregate_type = 'statement' order by s.seal offset $1 - 1 limit 1",
    )
    .bind(n)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The seal, position and event of the newest seal.
async fn newest(pool: &PgPool) -> (i64, i64, Uuid) {
    sqlx::query_as("select seal, position, event_id from audit_seals order by seal desc limit 1")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Where the event of seal `seal` stood when it was sealed.
async fn sealed_at(pool: &PgPool, seal: i64) -> Position {
    let (transaction_id, position) = sqlx::query_as(
        "select transaction_id::text::bigint, position from audit_seals where seal = $1",
    )
    .bind(seal)
    .fetch_one(pool)
    .await
    .unwrap();
    Position {
        transaction_id,
        position,
    }
}

async fn findings(pool: &PgPool) -> Vec<Finding> {
    seals::verify(pool, None, |_, _| {}).await.unwrap().findings
}

/// Rebuilds every read model, as `cpd-ledger replay` does, and seals whatever is new.
async fn replay(app: &TestApp, pool: &PgPool) {
    cli::replay(pool, None, None).await.unwrap();
    app.ledger.runner().catch_up().await.unwrap();
}

#[sqlx::test]
async fn verify_names_each_tampering_and_no_replay_launders_it(pool: PgPool) {
    let app = sealed_log(&pool, 6).await;
    // Early statements: each later one is sealed in a batch of its own, so these two stand
    // well behind the head.
    let (seal_a, position_a, altered) = statement_event(&pool, 2).await;
    let (seal_b, position_b, deleted) = statement_event(&pool, 3).await;
    let (stream, sequence, payload): (String, i64, serde_json::Value) =
        sqlx::query_as("select aggregate_id, sequence, payload from events where event_id = $1")
            .bind(deleted)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(findings(&pool).await, vec![]);

    as_superuser(
        &pool,
        r#"update events set payload = jsonb_set(payload, '{Created,name}', '"Forged"')
           where position = $1"#,
        position_a,
    )
    .await;
    let mut expected = vec![Finding::Altered {
        seal: seal_a,
        position: position_a,
        event_id: altered,
    }];
    assert_eq!(findings(&pool).await, expected, "an edited payload");
    replay(&app, &pool).await;
    assert_eq!(findings(&pool).await, expected, "after replay");

    as_superuser(&pool, "delete from events where position = $1", position_b).await;
    expected.push(Finding::Deleted {
        seal: seal_b,
        position: position_b,
        event_id: deleted,
    });
    assert_eq!(findings(&pool).await, expected, "a deleted middle event");
    replay(&app, &pool).await;
    assert_eq!(findings(&pool).await, expected, "after replay");

    let (seal_c, position_c, latest) = newest(&pool).await;
    as_superuser(&pool, "delete from events where position = $1", position_c).await;
    expected.push(Finding::Deleted {
        seal: seal_c,
        position: position_c,
        event_id: latest,
    });
    assert_eq!(findings(&pool).await, expected, "the newest event deleted");
    replay(&app, &pool).await;
    assert_eq!(findings(&pool).await, expected, "after replay");

    // A forged event put where the deleted one stood: same stream, place and transaction.
    let mut payload = payload;
    payload["Created"]["name"] = "Forged".into();
    let forged = Uuid::new_v4();
    sqlx::query(
        "insert into events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata, event_id, transaction_id, position)
         overriding system value
         select 'statement', $1, $2, 'Created', '1', $3, '{}', $4, transaction_id, $5
         from audit_seals where seal = $6",
    )
    .bind(&stream)
    .bind(sequence)
    .bind(&payload)
    .bind(forged)
    .bind(position_b)
    .bind(seal_b)
    .execute(&pool)
    .await
    .unwrap();
    expected.push(Finding::Inserted {
        position: position_b,
        event_id: forged,
    });
    assert_eq!(findings(&pool).await, expected, "a forged event");
    replay(&app, &pool).await;
    assert_eq!(findings(&pool).await, expected, "after replay");

    // A migration that resets the seals' checkpoint, then a start that catches up from zero.
    sqlx::query("delete from projection_checkpoints where projection = 'audit_seals'")
        .execute(&pool)
        .await
        .unwrap();
    Runner::new(pool.clone(), projections::all())
        .await
        .unwrap()
        .catch_up()
        .await
        .unwrap();
    assert_eq!(findings(&pool).await, expected, "after a checkpoint reset");
    let refused = cli::replay(&pool, Some("audit_seals".to_owned()), None)
        .await
        .unwrap_err();
    assert!(
        format!("{refused:#}").contains("never rebuilt"),
        "{refused:#}"
    );

    // The service goes on sealing what it writes next, after the last seal.
    let before = newest(&pool).await.0;
    app.statement(ecf_statement(
        app.provider("Teach First").await.0,
        2022,
        "After 2023",
        day(2023, 1, 1),
        day(2023, 1, 25),
    ))
    .await;
    app.ledger.runner().catch_up().await.unwrap();
    let report = seals::verify(&pool, None, |_, _| {}).await.unwrap();
    assert_eq!(report.findings, expected);
    assert!(report.head.unwrap().seal > before);
    assert_eq!(report.pending, 0);
}

#[sqlx::test]
async fn seals_refuse_updates_deletes_and_truncation(pool: PgPool) {
    sealed_log(&pool, 1).await;

    for sql in [
        "update audit_seals set link = '\\x00' where seal = 1",
        "delete from audit_seals where seal = 1",
        "truncate audit_seals",
    ] {
        let refused = sqlx::query(sql).execute(&pool).await.unwrap_err();
        assert!(refused.to_string().contains("append-only"), "{refused}");
    }
}

#[sqlx::test]
async fn a_seal_removed_from_the_middle_breaks_the_seal_sequence(pool: PgPool) {
    sealed_log(&pool, 4).await;
    let (seal, position, event_id) = statement_event(&pool, 1).await;

    as_superuser(
        &pool,
        "delete from audit_seals where position = $1",
        position,
    )
    .await;

    assert_eq!(
        findings(&pool).await,
        vec![
            Finding::SealGap {
                after: seal - 1,
                found: seal + 1
            },
            Finding::Inserted { position, event_id },
        ]
    );
}

#[sqlx::test]
async fn two_events_that_swap_places_are_each_reported_as_reordered(pool: PgPool) {
    sealed_log(&pool, 2).await;
    let (seal_a, position_a, a) = statement_event(&pool, 1).await;
    let (seal_b, position_b, b) = statement_event(&pool, 2).await;
    let (at_a, at_b) = (
        sealed_at(&pool, seal_a).await,
        sealed_at(&pool, seal_b).await,
    );

    // Each event put back, unchanged but for its position, where the other stood.
    let mut tamper = pool.begin().await.unwrap();
    sqlx::raw_sql(&format!(
        "set local session_replication_role = replica;
         create temporary table moved on commit drop as
             select * from events where position in ({position_a}, {position_b});
         delete from events where position in ({position_a}, {position_b});
         insert into events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata, event_id, recorded_at, transaction_id, position)
         overriding system value
         select aggregate_type, aggregate_id, sequence, event_type, event_version, payload,
                metadata, event_id, recorded_at, transaction_id,
                case position when {position_a} then {position_b} else {position_a} end
         from moved;"
    ))
    .execute(&mut *tamper)
    .await
    .unwrap();
    tamper.commit().await.unwrap();

    assert_eq!(
        findings(&pool).await,
        vec![
            Finding::Moved {
                seal: seal_a,
                event_id: a,
                sealed: at_a,
                now: Position {
                    position: position_b,
                    ..at_a
                },
            },
            Finding::Moved {
                seal: seal_b,
                event_id: b,
                sealed: at_b,
                now: Position {
                    position: position_a,
                    ..at_b
                },
            },
        ]
    );
}

#[sqlx::test]
async fn a_kept_head_proves_the_log_still_extends_it(pool: PgPool) {
    let app = sealed_log(&pool, 2).await;
    let kept: Head = seals::head(&pool).await.unwrap().unwrap();
    let provider = app.provider("Teach First").await.0;
    app.statement(ecf_statement(
        provider,
        2022,
        "Later 2023",
        day(2023, 1, 1),
        day(2023, 1, 25),
    ))
    .await;
    app.ledger.runner().catch_up().await.unwrap();

    let report = seals::verify(&pool, Some(&kept), |_, _| {}).await.unwrap();

    assert_eq!(report.findings, vec![]);
    assert!(report.head.unwrap().seal > kept.seal);
}

#[sqlx::test]
async fn a_log_truncated_to_before_a_kept_head_fails(pool: PgPool) {
    sealed_log(&pool, 2).await;
    let kept: Head = seals::head(&pool).await.unwrap().unwrap();
    let (last, position, _): (i64, i64, Uuid) =
        sqlx::query_as("select seal, position, event_id from audit_seals where seal = $1")
            .bind(kept.seal - 2)
            .fetch_one(&pool)
            .await
            .unwrap();

    // Events and seals both removed from there on: the chain left is consistent in itself.
    for table in ["events", "audit_seals"] {
        let sql = format!("delete from {table} where position >= $1");
        as_superuser(&pool, &sql, position).await;
    }

    assert_eq!(
        findings(&pool).await,
        vec![],
        "nothing to see without a kept head"
    );
    let report = seals::verify(&pool, Some(&kept), |_, _| {}).await.unwrap();
    assert_eq!(
        report.findings,
        vec![Finding::HeadTruncated {
            seal: kept.seal,
            last: last - 1
        }]
    );
}

#[sqlx::test]
async fn the_cli_verifies_since_the_head_the_api_published_and_fails_on_a_finding(pool: PgPool) {
    let app = sealed_log(&pool, 2).await;
    let auditor = app.staff_token(cpd_ledger::auth::Role::Auditor).await;
    let published = app.get("/audit/head", Some(&auditor)).await;
    let file = std::env::temp_dir().join(format!("head-{}.json", Uuid::new_v4()));
    std::fs::write(&file, published.json().to_string()).unwrap();
    let verify = || cli::AuditCommand::Verify {
        since_head: Some(file.clone()),
    };

    let intact = cli::audit(&pool, verify()).await;
    let (_, position, _) = statement_event(&pool, 1).await;
    as_superuser(&pool, "delete from events where position = $1", position).await;
    let broken = cli::audit(&pool, verify()).await;
    std::fs::remove_file(&file).unwrap();

    assert!(intact.is_ok(), "{intact:?}");
    let broken = broken.unwrap_err().to_string();
    assert!(broken.contains("1 finding"), "{broken}");
}
