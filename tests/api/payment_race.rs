//! Voids racing the payment of their statement: a line voided after its statement's payment
//! committed is clawed back, never voided as if it had not been paid, however the void's
//! stale read of the line and the payment interleave.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cpd_ledger::finance;
use cpd_ledger::flows::declaring;
use cpd_ledger::ledger::{Actor, CommandContext};
use projections::declarations;
use sqlx::PgPool;
use uuid::Uuid;

use crate::statement_lifecycle::lines;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[sqlx::test]
async fn a_void_racing_the_payment_is_recorded_on_the_right_side_of_it(pool: PgPool) {
    let w = lines(pool.clone(), 16, true).await;
    let ledger = &w.app.ledger;
    finance::close_due(ledger, at("2022-12-01T00:00:00Z"))
        .await
        .unwrap();
    // Each void starts from the line as read before the payment: `payable`.
    let mut rows = Vec::new();
    for id in &w.ids {
        let row = declarations::find_own(&pool, w.provider, *id)
            .await
            .unwrap();
        rows.push(row.expect("the line"));
    }
    assert!(rows.iter().all(|row| row.state == "payable"));
    let provider_context = CommandContext::of(Actor::LeadProvider(w.provider));
    let finance_context = CommandContext::of(Actor::Finance(Uuid::nil()));
    let now = at("2022-12-21T09:00:00Z");
    let started = Instant::now();

    let (last, rest) = rows.split_last().unwrap();
    let voids = rest.iter().enumerate().map(|(i, row)| {
        let context = provider_context.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(4 * i as u64)).await;
            declaring::void_declaration(ledger, w.provider, row, now, &context)
                .await
                .unwrap();
        }
    });
    let pay = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        finance::pay(
            ledger,
            w.november,
            at("2022-12-20T00:00:00Z"),
            &finance_context,
        )
        .await
        .unwrap();
        // One void surely starts after the payment, from its stale read.
        declaring::void_declaration(ledger, w.provider, last, now, &provider_context)
            .await
            .unwrap();
    };
    tokio::join!(futures::future::join_all(voids), pay);
    assert!(started.elapsed() < Duration::from_secs(60));

    let paid_at: i64 = sqlx::query_scalar(
        "select position from events where aggregate_type = 'statement' and event_type = 'Paid'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let voids: Vec<(String, i64)> = sqlx::query_as(
        r#"
        select event_type, position from events
        where aggregate_type = 'declaration_slot'
          and event_type in ('Voided', 'ClawbackRequested')
        order by position
        "#,
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(voids.len(), w.ids.len());
    for (kind, position) in &voids {
        match kind.as_str() {
            "Voided" => assert!(*position < paid_at, "a plain void after the payment"),
            _ => assert!(*position > paid_at, "a clawback before the payment"),
        }
    }
    w.app.shown().await;
    let states: Vec<String> =
        sqlx::query_scalar("select state from declarations where id = any($1)")
            .bind(&w.ids)
            .fetch_all(&pool)
            .await
            .unwrap();
    let clawbacks = voids.iter().filter(|(k, _)| k != "Voided").count();
    assert!(clawbacks >= 1);
    assert_eq!(
        states.iter().filter(|s| *s == "awaiting-clawback").count(),
        clawbacks
    );
    assert_eq!(
        states.iter().filter(|s| *s == "voided").count(),
        w.ids.len() - clawbacks
    );
}
