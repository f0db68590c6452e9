//! Loading the reference data and the sandbox world.

use axum::http::StatusCode;
use cpd_ledger::auth::{self, Role};
use cpd_ledger::seed::SeedSet;
use projections::lead_providers;
use sqlx::PgPool;

use crate::helpers::TestApp;

async fn event_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from events")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn loading_the_sandbox_twice_adds_nothing(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;

    app.seed(SeedSet::Sandbox).await;
    let first = event_count(&pool).await;
    app.seed(SeedSet::Sandbox).await;

    assert!(first > 2000, "{first}");
    assert_eq!(event_count(&pool).await, first);
}

#[sqlx::test]
async fn a_seeded_provider_sees_its_calendar_through_the_api(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    app.seed(SeedSet::Reference).await;
    let ambition = lead_providers::find_by_name(&pool, "Ambition Institute")
        .await
        .unwrap()
        .unwrap();
    let token = auth::create_token(
        &pool,
        Role::LeadProvider,
        Some(aggregates::LeadProviderId(ambition.id)),
        "test",
    )
    .await
    .unwrap()
    .token;

    let response = app
        .get(
            "/api/v3/statements?filter[cohort]=2021&filter[type]=ecf",
            Some(&token),
        )
        .await;

    assert_eq!(response.status, StatusCode::OK);
    let statements = response.json()["data"].as_array().unwrap().clone();
    // The 2021 ECF calendar has ten output-fee statements.
    assert_eq!(statements.len(), 10);
    let dates: Vec<&str> = statements
        .iter()
        .map(|s| s["attributes"]["payment_date"].as_str().unwrap())
        .collect();
    assert!(
        dates.windows(2).all(|pair| pair[0] <= pair[1]),
        "ordered by payment date: {dates:?}"
    );
}

#[sqlx::test]
async fn an_ecf_only_provider_gets_no_npq_statements(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    app.seed(SeedSet::Reference).await;

    let capita: Vec<String> = sqlx::query_scalar(
        "select distinct s.programme from statements s join lead_providers p on p.id = s.lead_provider_id where p.name = 'Capita'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();

    assert_eq!(capita, vec!["ecf".to_owned()]);
}
