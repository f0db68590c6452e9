//! The read side under real conditions: a transaction held open elsewhere, a read model that
//! cannot apply an event or lags, a database that cannot give a connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aggregates::{LeadProviderId, Statement, StatementCommand, StatementId};
use async_trait::async_trait;
use axum::http::StatusCode;
use cpd_ledger::ledger::{Actor, CommandContext, Visibility};
use projections::{Projection, ProjectionError, Runner, StoredEvent};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::Notify;

use crate::helpers::{TestApp, day, ecf_statement, ect, hold_writes_to, release_soon, started};

/// How long writes wait for read models in these tests: long enough for a healthy runner,
/// short enough that a stalled one shows as a stale answer.
const SETTLE: Duration = Duration::from_secs(5);

#[sqlx::test]
async fn writes_reads_and_readiness_go_on_while_transactions_are_held_open(pool: PgPool) {
    let app = TestApp::following(pool.clone(), projections::all(), SETTLE).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;
    // One transaction in this database that has written to another table, and one in another
    // database on the same server that holds a transaction id: both stay open throughout.
    sqlx::query("create table unrelated (note text)")
        .execute(&pool)
        .await
        .unwrap();
    let mut same = pool.begin().await.unwrap();
    sqlx::query("insert into unrelated values ('held open')")
        .execute(&mut *same)
        .await
        .unwrap();
    let server = std::env::var("DATABASE_URL").expect("DATABASE_URL names the test server");
    let mut elsewhere = PgConnection::connect(&server).await.unwrap();
    let mut other = elsewhere.begin().await.unwrap();
    sqlx::query("select pg_current_xact_id()")
        .execute(&mut *other)
        .await
        .unwrap();

    let declared = app.declare(&school.token, started(participant)).await;
    assert_eq!(declared.status, StatusCode::OK, "{}", declared.text);
    let id = declared.json()["data"]["id"].as_str().unwrap().to_owned();
    let shown = app
        .get(
            &format!("/api/v3/participant-declarations/{id}"),
            Some(&school.token),
        )
        .await;
    let voided = app
        .put(
            &format!("/api/v3/participant-declarations/{id}/void"),
            Some(&school.token),
            serde_json::json!({}),
        )
        .await;
    let ready = app.get("/readyz", None).await;

    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert_eq!(shown.json()["data"]["attributes"]["state"], "eligible");
    assert_eq!(voided.status, StatusCode::OK, "{}", voided.text);
    assert_eq!(
        voided.json()["data"]["attributes"]["state"],
        "voided",
        "the answer shows the write it answers"
    );
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    assert_eq!(ready.json()["status"], "ready");
    other.rollback().await.unwrap();
    same.rollback().await.unwrap();
}

/// A read model that cannot store statements named "poison" until it is fixed.
struct Picky {
    fixed: Arc<AtomicBool>,
}

#[async_trait]
impl Projection for Picky {
    fn name(&self) -> &'static str {
        "picky"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &["statement"]
    }

    async fn reset(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query("delete from picky_names")
            .execute(conn)
            .await
            .map(drop)
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let name = event.payload["Created"]["name"]
            .as_str()
            .unwrap_or_default();
        if name == "poison" && !self.fixed.load(Ordering::SeqCst) {
            // As a year PostgreSQL cannot store would fail.
            sqlx::query("select '-9999-01-01'::date")
                .execute(&mut *conn)
                .await?;
        }
        sqlx::query("insert into picky_names values ($1)")
            .bind(name)
            .execute(conn)
            .await?;
        Ok(())
    }
}

fn read_models(fixed: &Arc<AtomicBool>) -> Vec<Arc<dyn Projection>> {
    let mut all = projections::all();
    all.push(Arc::new(Picky {
        fixed: fixed.clone(),
    }));
    all
}

async fn create_statement(app: &TestApp, name: &str) -> Result<Visibility, String> {
    let terms = ecf_statement(
        LeadProviderId::from_name("Teach First"),
        2021,
        name,
        day(2022, 4, 30),
        day(2022, 5, 25),
    );
    let id = StatementId::for_calendar(terms.lead_provider_id, terms.programme, 2021, name);
    app.ledger
        .execute::<Statement>(
            &id.to_string(),
            StatementCommand::Create(terms),
            &CommandContext::of(Actor::Seed),
        )
        .await
        .map_err(|error| error.to_string())
}

async fn rows(pool: &PgPool, sql: &str) -> Vec<String> {
    sqlx::query_scalar(sql).fetch_all(pool).await.unwrap()
}

#[sqlx::test]
async fn a_read_model_that_cannot_apply_an_event_halts_alone_and_resumes_after_the_fix(
    pool: PgPool,
) {
    sqlx::query("create table picky_names (name text not null)")
        .execute(&pool)
        .await
        .unwrap();
    let fixed = Arc::new(AtomicBool::new(false));
    let app = TestApp::following(pool.clone(), read_models(&fixed), SETTLE).await;

    for name in ["first", "poison", "after"] {
        create_statement(&app, name).await.unwrap();
    }
    let statuses = app.ledger.runner().status().await.unwrap();
    let ready = app.get("/readyz", None).await;
    let status_command = cpd_ledger::cli::projections_status(app.ledger.runner()).await;

    assert_eq!(
        rows(&pool, "select name from statements order by name").await,
        ["after", "first", "poison"],
        "the other read models went on"
    );
    assert_eq!(rows(&pool, "select name from picky_names").await, ["first"]);
    let picky = statuses.iter().find(|s| s.name == "picky").unwrap();
    let halt = picky.halt.as_ref().expect("picky has halted");
    let poison: (uuid::Uuid, i64) = sqlx::query_as(
        "select event_id, position from events where payload->'Created'->>'name' = 'poison'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((halt.event_id, halt.position), poison, "it names the event");
    assert!(halt.error.contains("-9999-01-01"), "{}", halt.error);
    assert_eq!(
        picky.lag_events, 2,
        "the poisoned event and the one after it wait"
    );
    assert!(
        statuses
            .iter()
            .filter(|s| s.name != "picky")
            .all(|s| s.halt.is_none())
    );
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        ready.text
    );
    let body = ready.json();
    let shown = body["read_models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "picky")
        .unwrap();
    assert_eq!(shown["halted"]["event_id"], poison.0.to_string());
    assert!(
        status_command.is_err(),
        "the status command fails while one has halted"
    );

    // A fix is deployed: a new process runs the same read model, and tries the event again.
    fixed.store(true, Ordering::SeqCst);
    let restarted = Runner::new(pool.clone(), read_models(&fixed))
        .await
        .unwrap();
    restarted.catch_up().await.unwrap();

    assert_eq!(
        rows(&pool, "select name from picky_names order by name").await,
        ["after", "first", "poison"]
    );
    let statuses = restarted.status().await.unwrap();
    assert!(
        statuses
            .iter()
            .all(|s| s.halt.is_none() && s.lag_events == 0),
        "{statuses:?}"
    );
}

#[sqlx::test]
async fn writes_do_not_wait_for_a_halted_read_model(pool: PgPool) {
    sqlx::query("create table picky_names (name text not null)")
        .execute(&pool)
        .await
        .unwrap();
    let fixed = Arc::new(AtomicBool::new(false));
    // A long settle wait: a write that waited for the halted read model would take a minute.
    let app = TestApp::following(pool.clone(), read_models(&fixed), Duration::from_secs(60)).await;
    create_statement(&app, "poison").await.unwrap();

    let written = tokio::time::timeout(Duration::from_secs(30), create_statement(&app, "next"))
        .await
        .expect("the write answers without waiting for the halted read model");

    assert_eq!(
        written.unwrap(),
        Visibility::Behind,
        "the write says a read model does not show it"
    );
    assert_eq!(
        rows(&pool, "select name from statements order by name").await,
        ["next", "poison"]
    );
}

/// A read model whose rebuild stops at its start until the test lets it go on, as a long
/// rebuild in another process would; otherwise the names a fixed [`Picky`] keeps.
struct Gated {
    rebuilding: Arc<Notify>,
    go_on: Arc<Notify>,
    names: Picky,
}

#[async_trait]
impl Projection for Gated {
    fn name(&self) -> &'static str {
        "gated"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        self.names.aggregate_types()
    }

    async fn reset(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        self.rebuilding.notify_one();
        self.go_on.notified().await;
        self.names.reset(conn).await
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        self.names.apply(conn, event).await
    }
}

#[sqlx::test]
async fn a_rebuild_elsewhere_holds_up_no_other_read_model_nor_the_writes(pool: PgPool) {
    sqlx::query("create table picky_names (name text not null)")
        .execute(&pool)
        .await
        .unwrap();
    let (rebuilding, go_on) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let gated = || -> Arc<dyn Projection> {
        Arc::new(Gated {
            rebuilding: rebuilding.clone(),
            go_on: go_on.clone(),
            names: Picky {
                fixed: Arc::new(AtomicBool::new(true)),
            },
        })
    };
    let mut read_models = projections::all();
    read_models.push(gated());
    // A long settle wait: a write that waited for the rebuilt read model would take a minute.
    let app = TestApp::following(pool.clone(), read_models, Duration::from_secs(60)).await;
    create_statement(&app, "before").await.unwrap();
    // Another process rebuilds the gated read model, and holds its rebuild open.
    let elsewhere = Runner::new(pool.clone(), vec![gated()]).await.unwrap();
    let rebuild = tokio::spawn(async move { elsewhere.rebuild("gated", |_, _| {}).await });
    rebuilding.notified().await;

    let written = tokio::time::timeout(Duration::from_secs(30), create_statement(&app, "during"))
        .await
        .expect("the write answers without waiting for the rebuild");
    let statuses = app.ledger.runner().status().await.unwrap();
    let ready = app.get("/readyz", None).await;

    assert_eq!(
        written.unwrap(),
        Visibility::Behind,
        "the write says a read model does not show it yet"
    );
    assert_eq!(
        rows(&pool, "select name from statements order by name").await,
        ["before", "during"],
        "the other read models went on"
    );
    assert_eq!(
        rows(&pool, "select name from picky_names").await,
        ["before"]
    );
    let shown = statuses.iter().find(|s| s.name == "gated").unwrap();
    assert!(shown.rebuilding && shown.halt.is_none(), "{shown:?}");
    assert!(
        statuses
            .iter()
            .filter(|s| s.name != "gated")
            .all(|s| !s.rebuilding && s.lag_events == 0),
        "{statuses:?}"
    );
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    let body = ready.json();
    let model = |name: &str| {
        body["read_models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(model("gated")["rebuilding"], true);
    assert_eq!(model("statements")["rebuilding"], false);

    go_on.notify_one();
    assert_eq!(
        rebuild.await.unwrap().unwrap(),
        1,
        "the rebuild applies the log as it stood when it began"
    );
    app.ledger.runner().catch_up().await.unwrap();
    assert_eq!(
        rows(&pool, "select name from picky_names order by name").await,
        ["before", "during"]
    );
    let statuses = app.ledger.runner().status().await.unwrap();
    assert!(
        statuses.iter().all(|s| !s.rebuilding && s.lag_events == 0),
        "{statuses:?}"
    );
}

#[sqlx::test]
async fn a_database_that_cannot_give_a_connection_gets_503_with_retry_after(pool: PgPool) {
    let seeded = TestApp::new(pool.clone()).await;
    let (_, token) = seeded.provider("Teach First").await;
    let small = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_millis(300))
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    let app = TestApp::following(small.clone(), projections::all(), SETTLE).await;
    // Take every connection the pool can give.
    let mut held = Vec::new();
    while let Ok(connection) = small.acquire().await {
        held.push(connection);
    }

    let read = app.get("/api/v3/participants/ecf", Some(&token)).await;
    let ready = app.get("/readyz", None).await;

    for response in [&read, &ready] {
        assert_eq!(
            response.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            response.text
        );
        assert_eq!(response.header("retry-after"), Some("1"));
        response.json();
    }
    assert_eq!(read.json()["error"], "Service unavailable");
    drop(held);
    let after = app.get("/api/v3/participants/ecf", Some(&token)).await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.text);
}

#[sqlx::test]
async fn a_committed_declaration_is_answered_from_its_commit_when_the_read_model_lags(
    pool: PgPool,
) {
    // The declarations read model is not followed at all: it never shows a write.
    let without_declarations = projections::all()
        .into_iter()
        .filter(|p| p.name() != "declarations")
        .collect();
    let app = TestApp::following(pool.clone(), without_declarations, SETTLE).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;

    let declared = app.declare(&school.token, started(participant)).await;

    assert_eq!(declared.status, StatusCode::OK, "{}", declared.text);
    let data = declared.json()["data"].clone();
    assert_eq!(data["attributes"]["state"], "eligible");
    assert_eq!(
        data["attributes"]["participant_id"],
        participant.to_string()
    );
    assert_eq!(data["attributes"]["declaration_type"], "started");
    let committed: i64 =
        sqlx::query_scalar("select count(*) from events where event_type = 'Submitted'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(committed, 1);
}

#[sqlx::test]
async fn a_declaration_does_not_wait_for_the_read_models_and_any_instance_s_next_read_shows_it(
    pool: PgPool,
) {
    // Were the submission to wait for the read models, it would wait a minute here.
    let patient = Duration::from_secs(60);
    let app = TestApp::following(pool.clone(), projections::all(), patient).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;
    // The declarations read model can read but not write until the lock goes, and the lock
    // goes only after the submission has been answered.
    let held = hold_writes_to(&pool, "declarations").await;

    let declared = tokio::time::timeout(
        patient / 3,
        app.declare(&school.token, started(participant)),
    )
    .await
    .expect("answered without waiting for the read models");

    assert_eq!(declared.status, StatusCode::OK, "{}", declared.text);
    let data = declared.json()["data"].clone();
    assert_eq!(data["attributes"]["state"], "eligible");
    assert_eq!(data["attributes"]["lead_provider_name"], "Teach First");
    let stored: i64 = sqlx::query_scalar("select count(*) from declarations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        stored, 0,
        "the read model had not applied it when it answered"
    );

    // Another instance on the same database: its first read waits at the read barrier until
    // the read model shows the write, which it can once the lock goes.
    let other = TestApp::new(pool.clone()).await;
    let release = release_soon(held);
    let id = data["id"].as_str().unwrap();
    let shown = other
        .get(
            &format!("/api/v3/participant-declarations/{id}"),
            Some(&school.token),
        )
        .await;
    release.await.unwrap();
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert_eq!(
        shown.json()["data"],
        data,
        "the read shows what the write answered"
    );
}

#[sqlx::test]
async fn a_committed_action_is_answered_from_its_commit_and_the_next_read_waits_for_it(
    pool: PgPool,
) {
    let app = TestApp::impatient(pool.clone()).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;
    // Another session holds a lock that lets the participants read model read but not write:
    // it cannot apply the deferral until the lock goes.
    let held = hold_writes_to(&pool, "stints").await;

    let deferred = app
        .put(
            &format!("/api/v3/participants/ecf/{participant}/defer"),
            Some(&school.token),
            serde_json::json!({"course_identifier": "ecf-induction", "reason": "career-break"}),
        )
        .await;

    assert_eq!(deferred.status, StatusCode::OK, "{}", deferred.text);
    let enrolment = deferred.json()["data"]["attributes"]["ecf_enrolments"][0].clone();
    assert_eq!(enrolment["training_status"], "deferred", "{enrolment}");
    assert_eq!(enrolment["deferral"]["reason"], "career-break");
    let stored: String = sqlx::query_scalar("select training_status from stints")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        stored, "active",
        "the read model had not applied it when it answered"
    );

    // The provider's next read waits until the read model shows its write: the lock goes
    // only after the read has begun.
    let release = release_soon(held);
    let shown = app
        .get(
            &format!("/api/v3/participants/ecf/{participant}"),
            Some(&school.token),
        )
        .await;
    release.await.unwrap();
    assert_eq!(
        shown.json()["data"]["attributes"]["ecf_enrolments"][0]["training_status"],
        "deferred",
        "{}",
        shown.text
    );
}

#[sqlx::test]
async fn readiness_does_not_flap_while_writes_stream_in(pool: PgPool) {
    let app = TestApp::following(pool.clone(), projections::all(), SETTLE).await;
    let (app, writing) = (&app, &AtomicBool::new(true));
    let writers = futures::future::join_all((0..16).map(|writer| async move {
        for n in 0..12 {
            create_statement(app, &format!("writer {writer} statement {n}"))
                .await
                .unwrap();
        }
    }));
    let polls = async {
        let mut statuses = Vec::new();
        while writing.load(Ordering::SeqCst) {
            statuses.push(app.get("/readyz", None).await.status);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        statuses
    };
    let written = async {
        writers.await;
        writing.store(false, Ordering::SeqCst);
    };

    let ((), statuses) = tokio::join!(written, polls);

    assert!(statuses.len() > 5, "polled {} times", statuses.len());
    assert!(
        statuses.iter().all(|status| *status == StatusCode::OK),
        "{statuses:?}"
    );
}

#[sqlx::test]
async fn a_submission_reads_the_participant_only_once_the_read_models_show_their_last_change(
    pool: PgPool,
) {
    let app = TestApp::impatient(pool.clone()).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;
    // The participants read model cannot apply the withdrawal until the lock goes.
    let held = hold_writes_to(&pool, "stints").await;
    let withdraw =
        axum::http::Request::put(format!("/api/v3/participants/ecf/{participant}/withdraw"))
            .header("Authorization", format!("Bearer {}", school.token))
            .header("X-With-Server-Date", "2022-09-20T12:00:00Z")
            .header("Content-Type", "application/json")
            .body(axum::body::Body::from(
                serde_json::json!({"data": {"attributes": {
            "course_identifier": "ecf-induction", "reason": "moved-school"}}})
                .to_string(),
            ))
            .unwrap();
    let withdrawn = app.send(withdraw).await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{}", withdrawn.text);
    let stored: String = sqlx::query_scalar("select training_status from stints")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        stored, "active",
        "the read model had not applied the withdrawal"
    );

    // The lock goes only after the submission has begun: it must wait for the withdrawal
    // before it reads the participant, or it would accept a declaration dated after it.
    let release = release_soon(held);
    let declared = app.declare(&school.token, started(participant)).await;
    release.await.unwrap();

    assert_eq!(
        declared.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        declared.text
    );
    assert!(
        declared
            .text
            .contains("withdrew from this course on 2022-09-20T12:00:00Z"),
        "{}",
        declared.text
    );
}

#[sqlx::test]
async fn concurrent_reads_on_another_instance_show_every_write_answered_before_them(pool: PgPool) {
    // Two instances on one database, each with its own runner. Many requests reach the
    // second at once, so they share its read barrier's queries: each must still see the write
    // answered before it began.
    let writer = TestApp::following(pool.clone(), projections::all(), SETTLE).await;
    let reader = TestApp::following(pool.clone(), projections::all(), SETTLE).await;
    writer.schedules().await;
    let school = writer.ecf_school("Teach First", "100001", 2022).await;
    let mut participants = Vec::new();
    for n in 0..48 {
        let (participant, _) = writer
            .participant(ect("100001", &format!("Teacher {n}")))
            .await;
        participants.push(participant);
    }
    let (writer, reader, token) = (&writer, &reader, school.token.as_str());

    let shown = futures::future::join_all(participants.chunks(3).map(|theirs| async move {
        let mut shown = Vec::new();
        for participant in theirs {
            let written = writer.declare(token, started(*participant)).await;
            assert_eq!(written.status, StatusCode::OK, "{}", written.text);
            let id = written.json()["data"]["id"].as_str().unwrap().to_owned();
            let read = reader
                .get(
                    &format!("/api/v3/participant-declarations/{id}"),
                    Some(token),
                )
                .await;
            shown.push((read.status, read.json()["data"] == written.json()["data"]));
        }
        shown
    }))
    .await;

    let shown: Vec<_> = shown.into_iter().flatten().collect();
    assert_eq!(shown.len(), 48);
    assert!(
        shown.iter().all(|&read| read == (StatusCode::OK, true)),
        "{shown:?}"
    );
}
