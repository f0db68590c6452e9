//! Tamper evidence: the hash chain, its head, verification, and the append-only log.

use axum::http::StatusCode;
use cpd_ledger::auth::Role;
use projections::seals::{self, Finding};
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

    let report = seals::verify(&pool, None, |_, _| {}).await.unwrap();
    let head = seals::head(&pool).await.unwrap().unwrap();

    assert_eq!(head.event_count, events);
    assert_eq!(head.seal, events, "seal numbers run from 1 without gaps");
    assert_eq!(report.findings, vec![]);
    assert_eq!(
        (report.seals, report.events),
        (events as u64, events as u64)
    );
    assert_eq!(report.head.as_ref(), Some(&head));
    let auditor = app.staff_token(Role::Auditor).await;
    let published = app.get("/audit/head", Some(&auditor)).await;
    assert_eq!(published.status, StatusCode::OK);
    let attributes = &published.json()["data"]["attributes"];
    assert_eq!(attributes["chain_hash"], head.chain_hash);
    assert_eq!(attributes["seal"], head.seal);
    assert_eq!(attributes["event_id"], head.event_id.to_string());
    assert_eq!(attributes["event_count"], events);
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
    let seal: i64 = sqlx::query_scalar("select seal from audit_seals where position = $1")
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

    let report = seals::verify(&pool, None, |_, _| {}).await.unwrap();

    assert_eq!(
        report.findings,
        vec![Finding::Altered {
            seal,
            position: target,
            event_id
        }]
    );
}

fn events_of(page: &serde_json::Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

#[sqlx::test]
async fn the_cursor_stays_valid_while_events_arrive(pool: PgPool) {
    let app = sealed_log(&pool).await;
    let auditor = app.staff_token(Role::Auditor).await;
    let (provider, _) = app.provider("Capita").await;
    // A writer whose transaction stays open while the auditor pages.
    let mut late = pool.begin().await.unwrap();
    sqlx::query(
        "insert into events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         values ('statement', 'late-writer', 1, 'Created', '1', '{}', '{}')",
    )
    .execute(&mut *late)
    .await
    .unwrap();

    let mut seen = Vec::new();
    let mut cursor = String::new();
    for round in 0..50 {
        let path = format!("/audit/events?page[size]=3{cursor}");
        let page = app.get(&path, Some(&auditor)).await.json();
        seen.extend(events_of(&page));
        if round == 1 {
            // New events commit behind the open transaction, then it commits too.
            app.statement(ecf_statement(
                provider,
                2022,
                "New 2023",
                day(2023, 1, 1),
                day(2023, 1, 25),
            ))
            .await;
            late.commit().await.unwrap();
            late = pool.begin().await.unwrap();
        }
        match page["meta"]["next_cursor"].as_str() {
            Some(next) => cursor = format!("&page[cursor]={next}"),
            None if round > 1 => break,
            None => {}
        }
    }
    late.rollback().await.unwrap();

    let all: Vec<String> =
        sqlx::query_scalar("select event_id::text from events order by transaction_id, position")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(seen, all, "every event once, in the global order");
}

#[sqlx::test]
async fn event_history_filters_by_subject_type_and_time(pool: PgPool) {
    let (app, old, _, jane, _, declaration) = crate::transfers::transferred(pool.clone()).await;
    let auditor = app.staff_token(Role::Auditor).await;
    let old_provider = aggregates::LeadProviderId::from_name("Teach First");
    let void = app
        .request(
            axum::http::Method::PUT,
            &format!("/api/v3/participant-declarations/{declaration}/void"),
            Some(&old),
            None,
        )
        .await;
    assert_eq!(void.status, StatusCode::OK);
    let types = |page: serde_json::Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["attributes"]["event_type"].as_str().unwrap().to_owned())
            .collect()
    };

    let person = app
        .get(&format!("/audit/participants/{jane}"), Some(&auditor))
        .await
        .json();
    let one = app
        .get(
            &format!("/audit/declarations/{declaration}"),
            Some(&auditor),
        )
        .await
        .json();
    let voids = app
        .get("/audit/events?filter[event_type]=Voided", Some(&auditor))
        .await
        .json();
    let by_provider = app
        .get(
            &format!(
                "/audit/events?filter[lead_provider_id]={old_provider}&filter[event_type]=Submitted"
            ),
            Some(&auditor),
        )
        .await
        .json();
    let future = app
        .get(
            "/audit/events?filter[from]=2999-01-01T00:00:00Z",
            Some(&auditor),
        )
        .await
        .json();

    assert_eq!(
        types(person),
        vec![
            "Registered",
            "Submitted",
            "LeavingReported",
            "Joined",
            "Voided"
        ]
    );
    assert_eq!(types(one.clone()), vec!["Submitted", "Voided"]);
    assert_eq!(one["data"][0]["attributes"]["actor_type"], "lead_provider");
    assert_eq!(one["data"][0]["attributes"]["api_version"], "v3");
    assert_eq!(types(voids), vec!["Voided"]);
    assert_eq!(types(by_provider), vec!["Submitted"]);
    assert_eq!(future["data"], serde_json::json!([]));
}

#[sqlx::test]
async fn the_transfer_trail_follows_a_transfer_end_to_end(pool: PgPool) {
    let (app, _, new, jane, record, declaration) =
        crate::transfers::transferred(pool.clone()).await;
    let jane_id: aggregates::ParticipantId = jane.parse().unwrap();
    let mut retained = crate::helpers::started(jane_id);
    retained["declaration_type"] = serde_json::json!("retained-2");
    retained["declaration_date"] = serde_json::json!("2023-05-01T10:00:00Z");
    retained["evidence_held"] = serde_json::json!("other");
    assert_eq!(app.declare(&new, retained).await.status, StatusCode::OK);
    let auditor = app.staff_token(Role::Auditor).await;

    let trails = app.get("/audit/transfers", Some(&auditor)).await.json();
    let csv = app.get("/audit/transfers.csv", Some(&auditor)).await;

    let trail = &trails[0];
    assert_eq!(trail["participant_id"], jane);
    assert_eq!(trail["training_record_id"], record);
    let providers: Vec<&str> = trail["placements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers, vec!["Teach First", "Capita"]);
    let started = &trail["declarations"][0];
    assert_eq!(started["id"], declaration);
    assert_eq!(started["submitted_by"], "Teach First");
    assert_eq!(started["actions"][0]["action"], "Submitted");
    assert_eq!(started["actions"][0]["actor_type"], "lead_provider");
    assert_eq!(started["visible_to"], serde_json::json!(["Capita"]));
    assert_eq!(trail["declarations"][1]["submitted_by"], "Capita");
    assert_eq!(csv.header("content-type"), Some("text/csv"));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert!(lines[0].starts_with("participant_id,training_record_id,providers,declaration_id"));
    assert_eq!(lines.len(), 3, "{}", csv.text);
    assert!(lines[1].contains("Teach First > Capita") && lines[1].contains("Submitted"));
}

#[sqlx::test]
async fn every_path_leaves_its_actor_on_its_events(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let admin = app.staff_token(Role::Admin).await;
    let registered = app
        .post(
            "/admin/participants",
            Some(&admin),
            &serde_json::json!({"data": {"type": "participant", "attributes": {
                "participant_type": "ect", "full_name": "Ada Admin", "email": "ada@example.com",
                "school_urn": "100001", "cohort": 2022, "eligible_for_funding": true}}})
            .to_string(),
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.text
    );
    let participant: aggregates::ParticipantId =
        registered.json()["data"]["attributes"]["participant_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
    app.declare(&school.token, crate::helpers::started(participant))
        .await;
    let (ledger, cli) = (
        &app.ledger,
        cpd_ledger::cli::ParticipantCommand::Register {
            school_urn: "100001".into(),
            cohort: 2022,
            participant_type: "mentor".into(),
            full_name: "Cy Cli".into(),
            email: "cy@example.com".into(),
            trn: None,
            participant_id: None,
            schedule: None,
            eligible: None,
            pupil_premium: false,
            sparsity: false,
            mentor_id: None,
            start: None,
        },
    );
    cpd_ledger::cli::participant(ledger, cli).await.unwrap();

    let actors: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "select event_type, metadata->>'actor_type', metadata->>'actor_id' from events
         where aggregate_type in ('training_record', 'declaration_slot', 'lead_provider') order by position",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let admin_token_id: String =
        sqlx::query_scalar("select id::text from api_tokens where role = 'admin'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let provider_id = aggregates::LeadProviderId::from_name("Teach First").to_string();
    assert_eq!(
        actors,
        vec![
            ("Registered".to_owned(), "seed".to_owned(), None),
            (
                "Registered".to_owned(),
                "admin".to_owned(),
                Some(admin_token_id)
            ),
            (
                "Submitted".to_owned(),
                "lead_provider".to_owned(),
                Some(provider_id)
            ),
            ("Registered".to_owned(), "admin".to_owned(), None),
        ]
    );
}

#[sqlx::test]
async fn a_transaction_longer_than_a_sealing_batch_is_sealed_whole(pool: PgPool) {
    let app = sealed_log(&pool).await;
    // One transaction of 2,500 events: sealing takes it over three batches.
    sqlx::query(
        "insert into events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata)
         select 'benchmark', 'filler', g, 'Filled', '1', jsonb_build_object('n', g), '{}'
         from generate_series(1, 2500) g",
    )
    .execute(&pool)
    .await
    .unwrap();
    app.ledger.runner().catch_up().await.unwrap();
    let events: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(&pool)
        .await
        .unwrap();

    let report = seals::verify(&pool, None, |_, _| {}).await.unwrap();

    assert_eq!(report.findings, vec![]);
    assert_eq!(
        (report.seals, report.events, report.pending),
        (events as u64, events as u64, 0)
    );
}
