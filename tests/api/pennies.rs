//! Every amount a statement shows is to the penny, and its parts add up to its totals.

use aggregates::finance::pennies;
use axum::body::Body;
use axum::http::Request;
use cpd_ledger::auth::Role;
use cpd_ledger::finance;
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::PgPool;

use crate::statement_lifecycle::lines;

fn amount(view: &Value, field: &str) -> Decimal {
    let text = view[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field}: {view}"));
    let (_, pence) = text
        .split_once('.')
        .unwrap_or_else(|| panic!("{field}: {text}"));
    assert_eq!(pence.len(), 2, "{field} is shown to the penny: {text}");
    text.parse().unwrap()
}

#[sqlx::test]
async fn a_statement_shows_pennies_that_add_up(pool: PgPool) {
    let w = lines(pool.clone(), 3, true).await;
    let token = w.app.staff_token(Role::Finance).await;

    let view = w
        .app
        .get(&format!("/finance/statements/{}", w.november), Some(&token))
        .await
        .json();

    let parts: Decimal = [
        "service_fee",
        "output_fee",
        "uplift_fee",
        "adjustments",
        "reconcile_amount",
    ]
    .iter()
    .map(|field| amount(&view, field))
    .sum();
    let total = amount(&view, "total");
    assert_eq!(parts, total);
    assert_eq!(amount(&view, "vat"), pennies(total * Decimal::new(20, 2)));
    assert_eq!(
        amount(&view, "vat").to_string(),
        view["vat"].as_str().unwrap()
    );
    assert_eq!(
        total + amount(&view, "vat"),
        amount(&view, "total_with_vat")
    );
    assert_eq!(
        amount(&view, "clawbacks"),
        Decimal::ZERO - amount(&view, "adjustments")
    );
    let bands = view["bands"].as_array().unwrap();
    assert!(!bands.is_empty());
    let band_outputs: Decimal = bands.iter().map(|band| amount(band, "output_fee")).sum();
    assert_eq!(band_outputs, amount(&view, "output_fee"));
    for band in bands {
        amount(band, "fee");
        amount(band, "clawback");
    }
    let page = Request::get(format!("/finance/statements/{}", w.november))
        .header("Authorization", format!("Bearer {token}"))
        .header("Accept", "text/html")
        .body(Body::empty())
        .unwrap();
    let page = w.app.send(page).await.text;
    let with_vat = view["total_with_vat"].as_str().unwrap();
    assert!(page.contains(&format!("£{with_vat}")), "{page}");
    let priced = finance::breakdown(&pool, w.november, None, |_| {})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(priced.total_with_vat.to_string(), with_vat);
}
