//! Tamper evidence: the hash chain, its head, verification, and the append-only log.

use axum::http::StatusCode;
use cpd_ledger::auth::Role;
use projections::seals::{self, Verdict};
use sqlx::PgPool;

use crate::helpers::{TestApp, day, ecf_statement};

/// A few statements' worth of events, sealed.
async fn sealed_log(pool: &PgPool) -> TestApp {
    let app = TestApp::new(pool.clone()).await;
    let (provider, _) = app.provider("Teach First").await;
    for month in 1..=4 {
        let name = format!("Month {month} 2022");
        app.statement(ecf_statement(
            provider,
            2021,
            &name,
            day(2022, month, 1),
            day(2022, month, 25),
        ))
        .await;
    }
    app.ledger.runner().catch_up().await.unwrap();
    app
}

#[sqlx::test]
async fn every_event_is_sealed_and_the_chain_verifies(pool: PgPool) {
    let app = sealed_log(&pool).await;
    let events: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&pool)
        .await
        .unwrap();

    let verdict = seals::verify(&pool, |_, _| {}).await.unwrap();
    let head = seals::head(&pool).await.unwrap().unwrap();

    assert_eq!(head.sealed, events);
    assert_eq!(
        verdict,
        Verdict::Intact {
            verified: events as u64,
            head: Some(head.link.clone())
        }
    );
    let auditor = app.staff_token(Role::Auditor).await;
    let published = app.get("/audit/head", Some(&auditor)).await;
    assert_eq!(published.status, StatusCode::OK);
    assert_eq!(published.json()["data"]["attributes"]["link"], head.link);
    assert_eq!(
        published.json()["data"]["attributes"]["sealed_events"],
        events
    );
}

#[sqlx::test]
async fn only_auditors_read_the_head(pool: PgPool) {
    let app = sealed_log(&pool).await;
    let (_, provider) = app.provider("Capita").await;

    assert_eq!(
        app.get("/audit/head", Some(&provider)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/audit/head", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[sqlx::test]
async fn the_event_log_refuses_updates_and_deletes(pool: PgPool) {
    sealed_log(&pool).await;

    let update = sqlx::query(
        "update events set payload = '{}' where position = (select min(position) from events)",
    )
    .execute(&pool)
    .await;
    let delete = sqlx::query("delete from events").execute(&pool).await;

    for refused in [update.unwrap_err(), delete.unwrap_err()] {
        assert!(refused.to_string().contains("append-only"), "{refused}");
    }
}

#[sqlx::test]
async fn verification_pinpoints_an_event_altered_behind_the_services_back(pool: PgPool) {
    sealed_log(&pool).await;
    let (target, event_id): (i64, uuid::Uuid) =
        sqlx::query_as("select position, event_id from events where aggregate_type = 'statement' order by position offset 2 limit 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    let earlier: i64 = sqlx::query_scalar("select count(*) from events where (transaction_id, position) < (select transaction_id, position from events where position = $1)")
        .bind(target)
        .fetch_one(&pool)
        .await
        .unwrap();

    // Only a superuser who switches triggers off can do this; the chain still notices.
    let mut tamper = pool.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tamper)
        .await
        .unwrap();
    sqlx::query("update events set payload = jsonb_set(payload, '{Created,name}', '\"Forged 2022\"') where position = $1")
        .bind(target)
        .execute(&mut *tamper)
        .await
        .unwrap();
    tamper.commit().await.unwrap();

    let verdict = seals::verify(&pool, |_, _| {}).await.unwrap();

    let Verdict::Broken {
        position,
        event_id: broken,
        verified,
        stream,
    } = verdict
    else {
        panic!("{verdict:?}")
    };
    assert_eq!(position, target);
    assert_eq!(broken, event_id);
    assert_eq!(verified, earlier as u64);
    assert!(stream.starts_with("statement/"));
}
