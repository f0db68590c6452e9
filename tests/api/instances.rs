//! Three `cpd-ledger serve` processes on one database behave as one service: invariants hold
//! under duplicates raced to different instances, a write is read back on another instance at
//! once, the rate limit is one quota, the schedulers survive their leader's `kill -9` and run
//! once, and the read models equal a replay of the log.

mod cluster;

use std::time::{Duration, Instant};

use aggregates::{LeadProviderId, ParticipantId, SchoolId};
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use cpd_ledger::auth::{self, Role};
use cpd_ledger::sandbox;
use futures::future::join_all;
use serde_json::json;
use sqlx::PgPool;

use self::cluster::{Clients, Instance, QUOTA, database_url, start};
use crate::helpers::{TestApp, TestResponse, day, ecf_statement, ect, started};
use crate::ledger::{rebuild_all, snapshot};

/// Teach First and Capita both work with Teach First's delivery partner in 2022; school 100001
/// is Teach First's, 100002 is unpartnered. A person has applied to both for one NPQ course.
struct World {
    app: TestApp,
    teach_first: String,
    capita: String,
    /// A second Teach First token, for the quota alone.
    quota: String,
    partner: String,
    participants: Vec<ParticipantId>,
    applications: [String; 2],
}

async fn world(pool: &PgPool) -> World {
    let app = TestApp::new(pool.clone()).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let teach_first = LeadProviderId::from_name("Teach First");
    let (capita, capita_token) = app.provider("Capita").await;
    app.relationship(capita, school.delivery_partner, 2022)
        .await;
    app.school("100002", true, false).await;
    let mut participants = Vec::new();
    for n in 0..9 {
        let new = ect("100001", &format!("Ect Number{n}"));
        participants.push(app.participant(new).await.0);
    }
    for (name, deadline, payment) in [
        ("November 2022", day(2022, 11, 30), day(2022, 12, 25)),
        ("December 2022", day(2022, 12, 31), day(2023, 1, 25)),
    ] {
        app.statement(ecf_statement(teach_first, 2022, name, deadline, payment))
            .await;
    }
    let quota = auth::create_token(pool, Role::LeadProvider, Some(teach_first), "quota")
        .await
        .unwrap()
        .token;
    let person = uuid::Uuid::new_v4();
    let applications = [
        apply(&app, person, "Teach First", 2022).await,
        apply(&app, person, "Capita", 2023).await,
    ];
    World {
        app,
        teach_first: school.token,
        capita: capita_token,
        quota,
        partner: school.delivery_partner.to_string(),
        participants,
        applications,
    }
}

/// Sends an NPQ application through the admin API; returns its id.
async fn apply(app: &TestApp, person: uuid::Uuid, provider: &str, cohort: i32) -> String {
    let admin = app.staff_token(Role::Admin).await;
    let attributes = json!({
        "participant_id": person, "full_name": "Sam Lee", "email": "sam@example.com",
        "cohort": cohort, "course_identifier": "npq-headship", "lead_provider": provider,
        "eligible_for_funding": true, "school_urn": "100001", "headteacher_status": "no",
        "funding_choice": "school", "teacher_catchment": "england",
    });
    let body = json!({"data": {"type": "npq-application", "attributes": attributes}});
    let response = app
        .post("/admin/npq-applications", Some(&admin), &body.to_string())
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    response.json()["data"]["id"].as_str().unwrap().to_owned()
}

fn at(instant: &str) -> DateTime<Utc> {
    instant.parse().expect("an instant")
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// How many of `responses` have `status`.
fn with_status(responses: &[TestResponse], status: StatusCode) -> usize {
    responses.iter().filter(|r| r.status == status).count()
}

/// Waits until the statement `name` shows as closed.
async fn closed(pool: &PgPool, name: &str) {
    let started = Instant::now();
    let sql =
        format!("select count(*) from statements where name = '{name}' and closed_at is not null");
    while count(pool, &sql).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{name} never closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Closed events in the log per statement, by statement name.
async fn closes(pool: &PgPool) -> Vec<(String, i64)> {
    sqlx::query_as(
        "select s.name, count(e.*) from statements s
         left join events e on e.aggregate_type = 'statement'
             and e.aggregate_id = s.id::text and e.event_type = 'Closed'
         group by s.name order by s.name",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Waits until every read model has applied every committed event.
async fn settle(pool: &PgPool, app: &TestApp) {
    let started = Instant::now();
    loop {
        app.ledger.runner().catch_up().await.expect("catches up");
        let lags = cpd_ledger::metrics::lags(pool).await.expect("lag");
        if lags.iter().all(|lag| lag.events == 0) {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{lags:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Mixed load through all three instances: each participant's `started` declaration, a
/// partnership with school 100002 and the NPQ acceptances, each raced to different instances.
async fn race(w: &World, http: &Clients, instances: &[Instance]) {
    let token = w.teach_first.as_str();
    let declarations = join_all(w.participants[..6].iter().flat_map(|participant| {
        instances.iter().enumerate().map(move |(n, instance)| {
            let mut attributes = started(*participant);
            attributes["declaration_date"] = json!(format!("2022-10-0{}T10:00:00Z", n + 1));
            http.declare(instance, token, attributes)
        })
    }));
    let partnership = json!({"data": {"type": "ecf-partnership", "attributes": {
        "cohort": "2022", "school_id": SchoolId::from_urn("100002").to_string(),
        "delivery_partner_id": w.partner}}});
    let confirmations = join_all([token, &w.capita, token].iter().zip(instances).map(
        |(token, instance)| {
            let body = partnership.clone();
            http.post(instance, "/api/v3/partnerships/ecf", token, body)
        },
    ));
    let acceptances = join_all((0..6).map(|n| {
        let (id, token) = [(&w.applications[0], token), (&w.applications[1], &w.capita)][n % 2];
        let path = format!("/api/v3/npq-applications/{id}/accept");
        async move {
            let instance = &instances[n % 3];
            http.send(instance, Method::POST, &path, Some(token), None)
                .await
        }
    }));
    let reads = join_all(
        instances
            .iter()
            .map(|instance| http.get(instance, "/api/v3/participants/ecf", Some(token))),
    );
    let (declarations, confirmations, acceptances, reads) =
        tokio::join!(declarations, confirmations, acceptances, reads);

    for raced in declarations.chunks(3) {
        let texts: Vec<&String> = raced.iter().map(|r| &r.text).collect();
        assert_eq!(with_status(raced, StatusCode::OK), 1, "{texts:?}");
        assert_eq!(with_status(raced, StatusCode::UNPROCESSABLE_ENTITY), 2);
    }
    for (raced, refused) in [(&confirmations, 2), (&acceptances, 5)] {
        assert_eq!(with_status(raced, StatusCode::OK), 1, "{raced:?}");
        assert_eq!(
            with_status(raced, StatusCode::UNPROCESSABLE_ENTITY),
            refused
        );
    }
    assert!(reads.iter().all(|read| read.status == StatusCode::OK));
}

/// The invariants, in the read models: one live declaration per participant, course and
/// type; one confirmed partnership per school and cohort; one accepted application.
async fn check_invariants(pool: &PgPool) {
    let live = "state in ('submitted', 'eligible', 'payable', 'paid')";
    let per_slot = format!(
        "select count(*) from declarations where {live}
         group by participant_id, course_identifier, declaration_type order by 1 desc limit 1"
    );
    assert_eq!(count(pool, &per_slot).await, 1);
    let all_live = format!("select count(*) from declarations where {live}");
    assert_eq!(count(pool, &all_live).await, 6);
    let partnered: i64 = sqlx::query_scalar(
        "select count(*) from partnerships
         where cohort = 2022 and school_id::text = $1 and challenged_at is null",
    )
    .bind(SchoolId::from_urn("100002").to_string())
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(partnered, 1);
    let accepted = "select count(*) from npq_applications where status = 'accepted'";
    assert_eq!(count(pool, accepted).await, 1);
}

/// What one instance accepted, the next shows at once.
async fn read_your_writes(w: &World, http: &Clients, instances: &[Instance]) {
    let token = &w.teach_first;
    for (n, participant) in w.participants[6..].iter().enumerate() {
        let written = http
            .declare(&instances[n], token, started(*participant))
            .await;
        assert_eq!(written.status, StatusCode::OK, "{}", written.text);
        let id = written.json()["data"]["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v3/participant-declarations/{id}");
        let read = http.get(&instances[(n + 1) % 3], &path, Some(token)).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text);
        assert_eq!(read.json()["data"], written.json()["data"]);
    }
}

/// One quota per token: the request over it is refused whichever instance gets it.
async fn share_the_quota(w: &World, http: &Clients, instances: &[Instance]) {
    for round in 0..QUOTA / 10 {
        let sent = join_all((0..10).map(|n| {
            let instance = &instances[(round * 10 + n) % 3];
            http.get(instance, "/api/v3/statements", Some(&w.quota))
        }))
        .await;
        assert_eq!(with_status(&sent, StatusCode::OK), 10, "round {round}");
    }
    for instance in instances {
        let over = http
            .get(instance, "/api/v3/statements", Some(&w.quota))
            .await;
        assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "{}", over.text);
    }
}

#[sqlx::test]
async fn three_instances_on_one_database_behave_as_one_service(pool: PgPool) {
    // A sandbox standing at 15 December 2022: November's statement is due, December's not.
    sandbox::record(&pool, at("2022-12-15T12:00:00Z"))
        .await
        .unwrap();
    let w = world(&pool).await;
    let url = database_url(&pool).await;
    let (a, b, c) = tokio::join!(start(&url), start(&url), start(&url));
    let mut instances = [a, b, c];
    let http = Clients::new();

    // One instance leads and closes November; the others run no scheduler.
    let (leader, _) = http.one_leader(&instances.iter().collect::<Vec<_>>()).await;
    closed(&pool, "November 2022").await;
    http.has_run(&instances[leader]).await;
    for (n, instance) in instances.iter().enumerate().filter(|(n, _)| *n != leader) {
        assert_eq!(http.scheduler_runs(instance).await, 0.0, "instance {n}");
    }

    race(&w, &http, &instances).await;
    check_invariants(&pool).await;
    read_your_writes(&w, &http, &instances).await;
    share_the_quota(&w, &http, &instances).await;

    // The leader dies with December due; another takes over within seconds and closes it.
    sandbox::move_clock(&pool, at("2023-01-15T12:00:00Z"))
        .await
        .unwrap();
    let killed = Instant::now();
    instances[leader].process.start_kill().unwrap();
    instances[leader].process.wait().await.unwrap();
    let survivors: Vec<&Instance> = (0..3)
        .filter(|n| *n != leader)
        .map(|n| &instances[n])
        .collect();
    let (successor, _) = http.one_leader(&survivors).await;
    let takeover = killed.elapsed();
    assert!(takeover < Duration::from_secs(5), "took {takeover:?}");
    closed(&pool, "December 2022").await;
    http.has_run(survivors[successor]).await;
    assert_eq!(http.scheduler_runs(survivors[1 - successor]).await, 0.0);
    let once = [
        ("December 2022".to_owned(), 1),
        ("November 2022".to_owned(), 1),
    ];
    assert_eq!(closes(&pool).await, once, "each statement closed once");

    // Replay equals live, once every read model has caught up.
    for instance in &mut instances {
        instance.process.start_kill().ok();
        instance.process.wait().await.unwrap();
    }
    settle(&pool, &w.app).await;
    let live = snapshot(&pool).await;
    rebuild_all(w.app.ledger.runner()).await;
    assert_eq!(snapshot(&pool).await, live);
}
