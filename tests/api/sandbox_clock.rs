//! The sandbox clock: every instance follows the clock recorded when the database was seeded.

use aggregates::{LeadProviderId, Programme, StatementTerms};
use chrono::{DateTime, NaiveDate, Utc};
use cpd_ledger::clock::Clock;
use cpd_ledger::finance;
use cpd_ledger::sandbox::{self, SandboxError};
use sqlx::PgPool;

use crate::helpers::TestApp;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("an instant")
}

fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a day")
}

/// Whether the statement is still open: due by a day long after its deadline.
async fn open(pool: &PgPool, statement: aggregates::StatementId) -> bool {
    projections::statements::due(pool, day(2100, 1, 1))
        .await
        .expect("due statements")
        .iter()
        .any(|(id, _)| *id == statement)
}

#[sqlx::test]
async fn every_instance_follows_the_sandbox_clock_recorded_when_the_database_was_seeded(
    pool: PgPool,
) {
    let seeded_at = at("2023-07-12T12:00:00Z");
    // `serve --seed sandbox --now …` records the sandbox and its clock.
    let seeding = sandbox::clock_for(&pool, true, Some(seeded_at))
        .await
        .unwrap();
    // A plain `serve`, and one with another `--now`, on the same database.
    let plain = sandbox::clock_for(&pool, false, None).await.unwrap();
    let other_now = sandbox::clock_for(&pool, true, Some(at("2026-01-01T00:00:00Z")))
        .await
        .unwrap();

    assert_eq!(seeding, Clock::Sandbox(Some(seeded_at)));
    assert_eq!(plain, seeding);
    assert_eq!(other_now, seeding);
    assert_eq!(sandbox::now(&pool).await.unwrap(), seeded_at);

    // The scheduler, on any instance, closes nothing that is due only by the real clock.
    let app = TestApp::new(pool.clone()).await;
    let statement = app
        .statement(StatementTerms {
            lead_provider_id: LeadProviderId::from_name("Sandbox Provider"),
            programme: Programme::Ecf,
            cohort: 2022,
            name: "August 2023".to_owned(),
            deadline_date: day(2023, 7, 31),
            payment_date: day(2023, 8, 25),
            output_fee: true,
        })
        .await;
    let closed = finance::close_due_by_database_clock(&app.ledger)
        .await
        .unwrap();
    assert_eq!(closed, 0);
    assert!(open(&pool, statement).await);

    // Moving the clock on deliberately is what closes it.
    let was = sandbox::move_clock(&pool, at("2023-08-01T09:00:00Z"))
        .await
        .unwrap();
    assert_eq!(was, seeded_at);
    let closed = finance::close_due_by_database_clock(&app.ledger)
        .await
        .unwrap();
    assert_eq!(closed, 1);
    assert!(!open(&pool, statement).await);
    let back = sandbox::move_clock(&pool, seeded_at).await;
    assert!(
        matches!(back, Err(SandboxError::Backwards { .. })),
        "{back:?}"
    );
}

#[sqlx::test]
async fn a_database_that_is_not_a_sandbox_runs_on_the_real_clock_and_refuses_a_fixed_now(
    pool: PgPool,
) {
    assert_eq!(
        sandbox::clock_for(&pool, false, None).await.unwrap(),
        Clock::System
    );
    let fixed = sandbox::clock_for(&pool, false, Some(at("2023-07-12T12:00:00Z"))).await;
    assert!(matches!(fixed, Err(SandboxError::NotASandbox)), "{fixed:?}");
    let moved = sandbox::move_clock(&pool, at("2023-07-12T12:00:00Z")).await;
    assert!(matches!(moved, Err(SandboxError::NotASandbox)), "{moved:?}");
    assert_eq!(sandbox::recorded(&pool).await.unwrap(), None);
}
