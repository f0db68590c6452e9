//! Statements and money: the lifecycle, clawbacks, unattached lines, as-of views, replay.

use aggregates::reference::{Band, EcfContract};
use aggregates::{LeadProviderId, StatementId};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::{DateTime, Utc};
use cpd_ledger::auth::Role;
use cpd_ledger::finance;
use cpd_ledger::seed::SeedSet;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{TestApp, TestResponse, day, ecf_statement, ect, started};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// The sandbox's sample contract: bands of ten, uplift £100.
pub(crate) fn contract(provider: LeadProviderId, cohort: i32) -> EcfContract {
    let band = |min, max, price: i64, output: i64, service: i64| Band {
        min: Some(min),
        max,
        per_participant: Decimal::from(price),
        output_payment_percentage: Decimal::from(output),
        service_fee_percentage: Decimal::from(service),
    };
    EcfContract {
        lead_provider_id: provider,
        cohort,
        version: "0.0.1".into(),
        recruitment_target: 4500,
        revised_target: Some(4590),
        set_up_fee: Decimal::ZERO,
        monthly_service_fee: Some(Decimal::ZERO),
        uplift_amount: Decimal::from(100),
        uplift_target: Decimal::new(33, 2),
        bands: vec![
            band(0, 10, 995, 60, 40),
            band(11, 20, 979, 60, 40),
            band(21, 30, 966, 60, 40),
            band(31, 40, 966, 100, 0),
        ],
    }
}

struct World {
    app: TestApp,
    token: String,
    finance: String,
    november: StatementId,
    february: StatementId,
    participant: aggregates::ParticipantId,
}

/// Teach First trains Jane (cohort 2022) and has two output statements: November 2022
/// (deadline 30 November) and February 2023 (deadline 31 January).
async fn world(pool: PgPool) -> World {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let provider = LeadProviderId::from_name("Teach First");
    app.record(contract(provider, 2022)).await;
    let november = app
        .statement(ecf_statement(
            provider,
            2022,
            "November 2022",
            day(2022, 11, 30),
            day(2022, 12, 25),
        ))
        .await;
    let february = app
        .statement(ecf_statement(
            provider,
            2022,
            "February 2023",
            day(2023, 1, 31),
            day(2023, 2, 25),
        ))
        .await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;
    let finance = app.staff_token(Role::Finance).await;
    World {
        app,
        token: school.token,
        finance,
        november,
        february,
        participant,
    }
}

impl World {
    async fn send_at(
        &self,
        method: Method,
        path: &str,
        token: &str,
        now: &str,
        body: Option<Value>,
    ) -> TestResponse {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("Authorization", format!("Bearer {token}"))
            .header("X-With-Server-Date", now);
        if body.is_some() {
            request = request.header("Content-Type", "application/json");
        }
        let body = body
            .map(|b| Body::from(b.to_string()))
            .unwrap_or_else(Body::empty);
        self.app.send(request.body(body).unwrap()).await
    }

    async fn declare_at(&self, now: &str) -> Value {
        let body = json!({"data": {"type": "participant-declaration", "attributes": started(self.participant)}});
        let response = self
            .send_at(
                Method::POST,
                "/api/v3/participant-declarations",
                &self.token,
                now,
                Some(body),
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text);
        response.json()["data"].clone()
    }

    async fn declaration(&self, id: &str) -> Value {
        self.app
            .get(
                &format!("/api/v3/participant-declarations/{id}"),
                Some(&self.token),
            )
            .await
            .json()["data"]["attributes"]
            .clone()
    }

    async fn pay(&self, statement: StatementId, now: &str) -> TestResponse {
        self.send_at(
            Method::POST,
            &format!("/finance/statements/{statement}/pay"),
            &self.finance,
            now,
            None,
        )
        .await
    }

    async fn statement(&self, statement: StatementId) -> Value {
        self.app
            .get(
                &format!("/finance/statements/{statement}"),
                Some(&self.finance),
            )
            .await
            .json()
    }
}

#[sqlx::test]
async fn a_declaration_goes_on_the_open_statement_becomes_payable_and_is_paid(pool: PgPool) {
    let w = world(pool).await;

    let declared = w.declare_at("2022-10-02T09:00:00Z").await;
    let id = declared["id"].as_str().unwrap().to_owned();
    assert_eq!(
        declared["attributes"]["statement_id"],
        w.november.to_string()
    );
    assert_eq!(declared["attributes"]["state"], "eligible");

    let early = w.pay(w.november, "2022-11-15T09:00:00Z").await;
    assert_eq!(
        early.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an open statement cannot be paid"
    );
    finance::close_due(&w.app.ledger, at("2022-12-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(w.declaration(&id).await["state"], "payable");
    assert_eq!(w.statement(w.november).await["status"], "payable");
    assert_eq!(w.statement(w.february).await["status"], "open");

    let paid = w.pay(w.november, "2022-12-20T09:00:00Z").await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);
    assert_eq!(w.declaration(&id).await["state"], "paid");
    let resent = w.declare_at("2022-12-21T09:00:00Z").await;
    assert_eq!(resent["id"], id.as_str(), "an exact resend");
    assert_eq!(resent["attributes"]["state"], "paid", "as it now stands");
    assert_eq!(paid.json()["status"], "paid");
    assert_eq!(paid.json()["output_fee"], "119.40");
    assert_eq!(
        paid.json()["uplift_fee"],
        "100.00",
        "Jane's pupil premium uplift"
    );
    let provider_view = w
        .app
        .get(
            &format!("/api/v3/statements/{}", w.november),
            Some(&w.token),
        )
        .await
        .json();
    assert_eq!(provider_view["data"]["attributes"]["paid"], true);
}

#[sqlx::test]
async fn voiding_a_paid_declaration_claws_it_back_on_the_next_statement(pool: PgPool) {
    let w = world(pool).await;
    let id = w.declare_at("2022-10-02T09:00:00Z").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    finance::close_due(&w.app.ledger, at("2022-12-01T00:00:00Z"))
        .await
        .unwrap();
    w.pay(w.november, "2022-12-20T09:00:00Z").await;

    let void = w
        .send_at(
            Method::PUT,
            &format!("/api/v3/participant-declarations/{id}/void"),
            &w.token,
            "2022-12-21T09:00:00Z",
            None,
        )
        .await;

    assert_eq!(void.status, StatusCode::OK, "{}", void.text);
    let attributes = void.json()["data"]["attributes"].clone();
    assert_eq!(attributes["state"], "awaiting-clawback");
    assert_eq!(attributes["statement_id"], w.november.to_string());
    assert_eq!(attributes["clawback_statement_id"], w.february.to_string());
    let again = w
        .send_at(
            Method::PUT,
            &format!("/api/v3/participant-declarations/{id}/void"),
            &w.token,
            "2022-12-22T09:00:00Z",
            None,
        )
        .await;
    assert_eq!(
        again.json()["errors"][0]["detail"],
        "This declaration cannot be voided. Contact the DfE if you have any questions about why you cannot void it."
    );
    let february = w.statement(w.february).await;
    assert_eq!(february["bands"][0]["subtractions"], 1);
    assert_eq!(
        february["clawbacks"], "219.40",
        "the output fee and the uplift"
    );
    assert_eq!(february["total"], "-219.40");

    finance::close_due(&w.app.ledger, at("2023-02-01T00:00:00Z"))
        .await
        .unwrap();
    w.pay(w.february, "2023-02-20T09:00:00Z").await;
    assert_eq!(w.declaration(&id).await["state"], "clawed-back");
    assert_eq!(
        w.statement(w.november).await["output_fee"],
        "119.40",
        "a paid line stays paid on its statement"
    );
}

#[sqlx::test]
async fn a_line_with_no_open_statement_waits_until_finance_adds_one(pool: PgPool) {
    let w = world(pool).await;
    finance::close_due(&w.app.ledger, at("2023-02-01T00:00:00Z"))
        .await
        .unwrap();

    let declared = w.declare_at("2023-02-02T09:00:00Z").await;
    let id = declared["id"].as_str().unwrap().to_owned();
    assert_eq!(declared["attributes"]["statement_id"], Value::Null);
    let waiting = w
        .app
        .get("/finance/unattached", Some(&w.finance))
        .await
        .json();
    assert_eq!(waiting["data"][0]["id"], id);

    let body = json!({"data": {"type": "statement", "attributes": {
        "lead_provider_id": LeadProviderId::from_name("Teach First").to_string(), "type": "ecf", "cohort": 2022,
        "name": "May 2023", "deadline_date": "2023-04-30", "payment_date": "2023-05-25"}}});
    let added = w
        .send_at(
            Method::POST,
            "/finance/statements",
            &w.finance,
            "2023-02-03T09:00:00Z",
            Some(body),
        )
        .await;

    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    assert_eq!(w.declaration(&id).await["statement_id"], added.json()["id"]);
    assert_eq!(
        w.app
            .get("/finance/unattached", Some(&w.finance))
            .await
            .json()["data"],
        json!([])
    );
}

#[sqlx::test]
async fn a_statement_paid_at_t_shows_payable_just_before_and_paid_after(pool: PgPool) {
    let w = world(pool.clone()).await;
    w.declare_at("2022-10-02T09:00:00Z").await;
    finance::close_due(&w.app.ledger, at("2022-12-01T00:00:00Z"))
        .await
        .unwrap();
    w.pay(w.november, "2022-12-20T09:00:00Z").await;
    let paid_at: DateTime<Utc> = sqlx::query_scalar(
        "select recorded_at from events where event_type = 'Paid' and aggregate_type = 'statement'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let as_of = |instant: DateTime<Utc>| {
        let (app, token, id) = (&w.app, w.finance.clone(), w.november);
        async move {
            let path = format!(
                "/finance/statements/{id}?as_of={}",
                instant
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                    .replace('+', "%2B")
            );
            app.get(&path, Some(&token)).await.json()
        }
    };

    let before = as_of(paid_at - chrono::Duration::microseconds(1)).await;
    let after = as_of(paid_at).await;

    assert_eq!(before["status"], "payable");
    assert_eq!(after["status"], "paid");
    assert_eq!(before["total"], after["total"]);
    assert_eq!(before["total"], "219.40");
}

#[sqlx::test]
async fn replaying_every_statement_from_the_log_equals_the_live_view(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    app.seed(SeedSet::Sandbox).await;
    let groups: Vec<(uuid::Uuid, String, i32)> = sqlx::query_as(
        "select distinct lead_provider_id, programme, cohort from statements order by 1, 2, 3",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let now = Utc::now();
    let mut all_at_once = finance::replay_all(&pool, now, |_| {}).await.unwrap();
    all_at_once
        .iter_mut()
        .for_each(|priced| priced.as_of = None);

    let (mut statements, mut with_money) = (0, 0);
    for (provider, programme, cohort) in groups {
        let group = (LeadProviderId(provider), programme.parse().unwrap(), cohort);
        let live = finance::breakdowns(&pool, group, None, |_| {})
            .await
            .unwrap();
        let mut replayed = finance::breakdowns(&pool, group, Some(now), |_| {})
            .await
            .unwrap();
        replayed.iter_mut().for_each(|priced| priced.as_of = None);
        assert_eq!(replayed, live, "{programme} {cohort} of {provider}");
        let in_one_pass: Vec<_> = all_at_once
            .iter()
            .skip(statements)
            .take(live.len())
            .cloned()
            .collect();
        assert_eq!(
            in_one_pass, live,
            "{programme} {cohort} of {provider}, in one pass"
        );
        for priced in &live {
            let parts = priced.service_fee
                + priced.output_fee
                + priced.uplift_fee
                + priced.adjustments
                + priced.reconcile_amount;
            assert_eq!(parts, priced.total, "{} adds up", priced.name);
        }
        statements += live.len();
        with_money += live
            .iter()
            .filter(|p| p.total_with_vat != Decimal::ZERO)
            .count();
    }
    assert_eq!(statements, 1600, "every statement was replayed");
    assert_eq!(all_at_once.len(), statements, "one pass replays them all");
    assert!(
        with_money > 20,
        "the sandbox's statements carry money ({with_money})"
    );
}

#[sqlx::test]
async fn finance_surfaces_are_for_finance_and_print_as_html(pool: PgPool) {
    let w = world(pool).await;
    w.declare_at("2022-10-02T09:00:00Z").await;

    let provider = w
        .app
        .get(
            &format!("/finance/statements/{}", w.november),
            Some(&w.token),
        )
        .await;
    let page = Request::get(format!("/finance/statements/{}", w.november))
        .header("Authorization", format!("Bearer {}", w.finance))
        .header("Accept", "text/html")
        .body(Body::empty())
        .unwrap();
    let html = w.app.send(page).await;

    assert_eq!(provider.status, StatusCode::FORBIDDEN);
    assert_eq!(html.status, StatusCode::OK);
    assert!(
        html.text.contains("<table") && html.text.contains("November 2022 statement"),
        "{}",
        html.text
    );
    assert!(html.text.contains("£119.40"));
}

#[sqlx::test]
async fn the_cli_prints_the_same_totals_as_the_api(pool: PgPool) {
    let w = world(pool.clone()).await;
    w.declare_at("2022-10-02T09:00:00Z").await;
    let database: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let server = std::env::var("DATABASE_URL").unwrap();
    let url = format!("{}/{database}", server.rsplit_once('/').unwrap().0);

    // Async, so this test's own projection runner keeps running while the CLI works.
    let cli = |args: &'static [&'static str]| {
        let url = url.clone();
        async move {
            let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_cpd-ledger"))
                .args(args)
                .env("DATABASE_URL", url)
                .output()
                .await
                .unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8(output.stdout).unwrap()
        }
    };
    let shown = cli(&[
        "statements",
        "show",
        "--lead-provider",
        "Teach First",
        "--cohort",
        "2022",
        "--month",
        "November 2022",
        "--format",
        "json",
    ])
    .await;
    let replayed = cli(&["statements", "replay-all", "--format", "csv"]).await;

    let shown: Value = serde_json::from_str(&shown).unwrap();
    let api = w.statement(w.november).await;
    assert_eq!(shown["total_with_vat"], api["total_with_vat"]);
    assert_eq!(shown["total_with_vat"], "263.28");
    assert!(
        replayed.lines().any(
            |row| row.starts_with("Teach First,ecf,2022,November 2022,open,")
                && row.ends_with(",263.28")
        ),
        "{replayed}"
    );
}
