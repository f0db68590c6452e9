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

#[sqlx::test]
async fn every_npq_provider_has_applications_enrolments_declarations_and_outcomes(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    app.seed(SeedSet::Sandbox).await;

    let per_provider: Vec<(String, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
        r#"
        select lp.name,
               count(*) filter (where a.status = 'pending'),
               count(*) filter (where a.status = 'accepted'),
               count(*) filter (where a.status = 'rejected'),
               count(distinct a.cohort),
               count(distinct a.course_identifier),
               (select count(*) from declarations d
                where d.lead_provider_id = lp.id and d.course_identifier like 'npq-%')
        from lead_providers lp join npq_applications a on a.lead_provider_id = lp.id
        where lp.npq
        group by lp.id, lp.name
        order by lp.name
        "#,
    )
    .fetch_all(&pool)
    .await
    .unwrap();

    assert_eq!(
        per_provider.len(),
        10,
        "every NPQ provider: {per_provider:?}"
    );
    for (name, pending, accepted, rejected, cohorts, courses, declarations) in per_provider {
        assert!(pending + accepted + rejected >= 20, "{name}");
        assert!(pending > 0 && accepted > 0 && rejected > 0, "{name}");
        assert_eq!(cohorts, 3, "{name}: cohorts 2021 to 2023");
        assert_eq!(courses, 10, "{name}: every NPQ course");
        assert!(declarations > 0, "{name}");
    }
    let outcomes: Vec<(String, i64)> =
        sqlx::query_as("select state, count(*) from npq_outcomes group by state order by state")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(
        outcomes.iter().any(|(s, n)| s == "passed" && *n >= 10)
            && outcomes.iter().any(|(s, n)| s == "failed" && *n >= 10),
        "a passed and a failed outcome per provider: {outcomes:?}"
    );
    let merged: i64 = sqlx::query_scalar("select count(*) from participant_aliases")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(merged, 10, "one TRN merge per NPQ provider");
    let clawbacks: i64 = sqlx::query_scalar(
        r#"
        select count(distinct lead_provider_id) from declarations
        where course_identifier like 'npq-%' and state = 'awaiting-clawback'
          and clawback_statement_id is not null
        "#,
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(clawbacks, 10, "a clawback waits for every NPQ provider");
}
