//! Closing, paying and adding a statement are one event each: every line follows its
//! statement after a lost connection, a failed read-side transaction or a killed process, and
//! replaying the log gives the same lines and figures as the live read models.

use std::time::Duration;

use aggregates::{LeadProviderId, StatementId};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::{DateTime, Utc};
use cpd_ledger::auth::Role;
use cpd_ledger::finance;
use cpd_ledger::ledger::{Actor, CommandContext, Ledger};
use projections::Runner;
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::finance::contract;
use crate::helpers::{TestApp, day, ecf_statement, ect, started};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// Teach First, cohort 2022, with `count` eligible `started` declarations made on 2 October
/// 2022, on the November 2022 statement when `with_statement` (else on none).
pub(crate) struct Lines {
    pub(crate) app: TestApp,
    token: String,
    pub(crate) provider: LeadProviderId,
    pub(crate) november: StatementId,
    pub(crate) ids: Vec<Uuid>,
}

pub(crate) async fn lines(pool: PgPool, count: usize, with_statement: bool) -> Lines {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let provider = LeadProviderId::from_name("Teach First");
    app.record(contract(provider, 2022)).await;
    let november = ecf_statement(
        provider,
        2022,
        "November 2022",
        day(2022, 11, 30),
        day(2022, 12, 25),
    );
    let november = match with_statement {
        true => app.statement(november).await,
        false => StatementId::for_calendar(provider, november.programme, 2022, &november.name),
    };
    let mut ids = Vec::new();
    for i in 0..count {
        let (participant, _) = app
            .participant(ect("100001", &format!("Ect Number{i}")))
            .await;
        let body = json!({"data": {"type": "participant-declaration", "attributes": started(participant)}});
        let request = Request::builder()
            .method(Method::POST)
            .uri("/api/v3/participant-declarations")
            .header("Authorization", format!("Bearer {}", school.token))
            .header("X-With-Server-Date", "2022-10-02T09:00:00Z")
            .header("Content-Type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = app.send(request).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text);
        let id = response.json()["data"]["id"].as_str().unwrap().to_owned();
        ids.push(Uuid::parse_str(&id).unwrap());
    }
    Lines {
        app,
        token: school.token,
        provider,
        november,
        ids,
    }
}

impl Lines {
    /// The lines' states as the read model shows them, sorted.
    async fn states(&self) -> Vec<String> {
        self.app.shown().await;
        sqlx::query_scalar("select state from declarations where id = any($1) order by state")
            .bind(&self.ids)
            .fetch_all(&self.app.pool)
            .await
            .unwrap()
    }

    fn all(&self, state: &str) -> Vec<String> {
        vec![state.to_owned(); self.ids.len()]
    }
}

/// A ledger whose process holds at most `connections` connections, with its own runner.
async fn small_ledger(pool: &PgPool, connections: u32) -> Ledger {
    let small = PgPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(60))
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    let runner = Runner::new(small.clone(), projections::all())
        .await
        .unwrap();
    tokio::spawn(runner.clone().run());
    Ledger::new(small, runner).with_settle_timeout(Duration::from_secs(60))
}

#[sqlx::test]
async fn twelve_lines_follow_their_statement_through_a_six_connection_process(pool: PgPool) {
    let w = lines(pool.clone(), 12, true).await;
    let ledger = small_ledger(&pool, 6).await;
    assert_eq!(w.states().await, w.all("eligible"));

    let closed = finance::close_due(&ledger, at("2023-10-01T00:00:01Z"))
        .await
        .unwrap();
    assert_eq!(closed, 1);
    assert_eq!(w.states().await, w.all("payable"));
    let again = finance::close_due(&ledger, at("2023-10-01T00:00:01Z"))
        .await
        .unwrap();
    assert_eq!(again, 0);

    let context = CommandContext::of(Actor::Finance(Uuid::nil()));
    finance::pay(&ledger, w.november, at("2023-10-02T00:00:00Z"), &context)
        .await
        .unwrap();
    assert_eq!(w.states().await, w.all("paid"));
}

#[sqlx::test]
async fn a_close_whose_lines_failed_to_move_is_finished_by_the_next_tick(pool: PgPool) {
    let w = lines(pool.clone(), 12, true).await;
    // The read side's first attempt to move the lines fails, as a lost connection would; a
    // sequence counts attempts outside the failing transaction.
    sqlx::raw_sql(
        r#"
        create sequence injected_faults;
        create function fail_first_payable() returns trigger language plpgsql as $$
        begin
            if nextval('injected_faults') = 1 then
                raise exception 'injected fault: connection lost';
            end if;
            return new;
        end $$;
        create trigger fail_first_payable before update on declarations
            for each row when (new.state = 'payable') execute function fail_first_payable();
        "#,
    )
    .execute(&pool)
    .await
    .unwrap();

    let first = finance::close_due(&w.app.ledger, at("2022-12-01T00:00:00Z")).await;
    let before_tick = w.states().await;
    let tick = finance::close_due(&w.app.ledger, at("2022-12-01T00:01:00Z"))
        .await
        .unwrap();

    let attempts: i64 = sqlx::query_scalar("select last_value from injected_faults")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(attempts > 1, "the fault was injected ({first:?})");
    assert_eq!(w.states().await, w.all("payable"));
    assert!(
        tick == 1 || before_tick == w.all("payable"),
        "a tick that closes nothing finds every line payable already: {before_tick:?}"
    );
    let finance_token = w.app.staff_token(Role::Finance).await;
    let statement = w
        .app
        .get(
            &format!("/finance/statements/{}", w.november),
            Some(&finance_token),
        )
        .await;
    assert_eq!(statement.json()["status"], "payable");
}

#[sqlx::test]
async fn a_close_killed_midway_and_run_again_leaves_every_line_payable(pool: PgPool) {
    let w = lines(pool.clone(), 12, true).await;
    // Slow the lines' move down so that the kill lands after the statement's event commits
    // and before the read side has moved every line.
    sqlx::raw_sql(
        r#"
        create function slow_payable() returns trigger language plpgsql as $$
        begin perform pg_sleep(0.1); return new; end $$;
        create trigger slow_payable before update on declarations
            for each row when (new.state = 'payable') execute function slow_payable();
        "#,
    )
    .execute(&pool)
    .await
    .unwrap();
    let database: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let server = std::env::var("DATABASE_URL").unwrap();
    let url = format!("{}/{database}", server.rsplit_once('/').unwrap().0);
    let close_due = || {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_cpd-ledger"));
        command
            .args(["statements", "close-due", "--now", "2022-12-01T00:00:00Z"])
            .env("DATABASE_URL", &url)
            .kill_on_drop(true);
        command
    };

    let mut running = close_due().spawn().unwrap();
    let closed_in_log = async {
        loop {
            let closed: i64 = sqlx::query_scalar(
                "select count(*) from events where aggregate_type = 'statement' and event_type = 'Closed'",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            if closed > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(120), closed_in_log)
        .await
        .expect("the close commits its event");
    running.kill().await.unwrap();
    let midway = w.states().await;
    sqlx::raw_sql("drop trigger slow_payable on declarations")
        .execute(&pool)
        .await
        .unwrap();
    let restarted = close_due().output().await.unwrap();

    assert!(
        restarted.status.success(),
        "{}",
        String::from_utf8_lossy(&restarted.stderr)
    );
    assert!(
        String::from_utf8_lossy(&restarted.stdout).starts_with("closed "),
        "{}",
        String::from_utf8_lossy(&restarted.stdout)
    );
    assert_eq!(w.states().await, w.all("payable"), "midway: {midway:?}");
}

/// Every declaration as the read model shows it: id, state, statement, clawback statement.
async fn rows(pool: &PgPool) -> Vec<(Uuid, String, Option<Uuid>, Option<Uuid>)> {
    sqlx::query_as(
        "select id, state, statement_id, clawback_statement_id from declarations order by id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// A statement's figures from the live read models, and as replayed from the log at `as_of`.
async fn live_and_replayed(
    pool: &PgPool,
    statement: StatementId,
    as_of: DateTime<Utc>,
) -> (Value, Value) {
    let live = finance::breakdown(pool, statement, None, |_| {})
        .await
        .unwrap()
        .unwrap();
    let replayed = finance::breakdown(pool, statement, Some(as_of), |_| {})
        .await
        .unwrap()
        .unwrap();
    let mut live = serde_json::to_value(live).unwrap();
    let mut replayed = serde_json::to_value(replayed).unwrap();
    live["as_of"] = Value::Null;
    replayed["as_of"] = Value::Null;
    (live, replayed)
}

#[sqlx::test]
async fn statements_finance_adds_take_lines_and_replay_equals_live_at_every_step(pool: PgPool) {
    let w = lines(pool.clone(), 3, false).await;
    let context = CommandContext::of(Actor::Finance(Uuid::nil()));
    let ledger = &w.app.ledger;
    let terms =
        |name: &str, deadline, payment| ecf_statement(w.provider, 2022, name, deadline, payment);
    let mut views = Vec::new();

    let november = finance::add_statement(
        ledger,
        terms("November 2022", day(2022, 11, 30), day(2022, 12, 25)),
        at("2022-10-03T00:00:00Z"),
        &context,
    )
    .await
    .unwrap();
    assert_eq!(november, w.november);
    views.push((
        Utc::now(),
        live_and_replayed(&pool, november, Utc::now()).await.0,
    ));
    finance::close_due(ledger, at("2022-12-01T00:00:00Z"))
        .await
        .unwrap();
    views.push((
        Utc::now(),
        live_and_replayed(&pool, november, Utc::now()).await.0,
    ));
    finance::pay(ledger, november, at("2022-12-20T00:00:00Z"), &context)
        .await
        .unwrap();
    assert_eq!(w.states().await, w.all("paid"));
    let void = Request::builder()
        .method(Method::PUT)
        .uri(format!(
            "/api/v3/participant-declarations/{}/void",
            w.ids[0]
        ))
        .header("Authorization", format!("Bearer {}", w.token))
        .header("X-With-Server-Date", "2022-12-21T09:00:00Z")
        .body(Body::empty())
        .unwrap();
    let void = w.app.send(void).await;
    assert_eq!(void.status, StatusCode::OK, "{}", void.text);
    assert_eq!(
        void.json()["data"]["attributes"]["state"],
        "awaiting-clawback"
    );
    let february = finance::add_statement(
        ledger,
        terms("February 2023", day(2023, 1, 31), day(2023, 2, 25)),
        at("2022-12-22T00:00:00Z"),
        &context,
    )
    .await
    .unwrap();
    views.push((
        Utc::now(),
        live_and_replayed(&pool, november, Utc::now()).await.0,
    ));
    finance::close_due(ledger, at("2023-02-01T00:00:00Z"))
        .await
        .unwrap();
    finance::pay(ledger, february, at("2023-02-20T00:00:00Z"), &context)
        .await
        .unwrap();
    let (live, replayed) = live_and_replayed(&pool, february, Utc::now()).await;

    let clawed: String = sqlx::query_scalar("select state from declarations where id = $1")
        .bind(w.ids[0])
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(clawed, "clawed-back");
    assert_eq!(live, replayed);
    assert_eq!(live["status"], "paid");
    for (instant, then) in views {
        let replayed = live_and_replayed(&pool, november, instant).await.1;
        let mut then = then;
        then["as_of"] = Value::Null;
        assert_eq!(replayed, then, "as of {instant}");
    }
    let before = rows(&pool).await;
    w.app
        .ledger
        .runner()
        .rebuild("declarations", |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        rows(&pool).await,
        before,
        "the rebuilt read model equals the live one"
    );
    let finance_token = w.app.staff_token(Role::Finance).await;
    let shown = w
        .app
        .get(
            &format!("/finance/statements/{february}"),
            Some(&finance_token),
        )
        .await;
    assert_eq!(shown.json()["total"], live["total"]);
}
