//! Retiring a duplicate participant id (release note of 15 March 2023): the DfE moves one
//! id's records under the other, and providers keep working with either id.

use aggregates::{ParticipantId, TrainingRecordId};
use axum::http::{Method, StatusCode};
use cpd_ledger::auth::Role;
use cpd_ledger::cli::ParticipantCommand;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::declarations::errors;
use crate::helpers::{TestApp, TestResponse, ect, started};
use crate::ledger::snapshot_of;

/// A school with a provider, and one teacher registered twice: `(app, provider token,
/// admin token, retired id and record, kept id and record)`. The two share a TRN unless
/// `trns` differ.
async fn duplicated(
    pool: PgPool,
    trns: (&str, &str),
) -> (
    TestApp,
    String,
    String,
    (ParticipantId, TrainingRecordId),
    (ParticipantId, TrainingRecordId),
) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let mut first = ect("100001", "Ann Kept");
    first.trn = Some(trns.0.to_owned());
    first.trn_validated = true;
    let kept = app.participant(first).await;
    let mut second = ect("100001", "Ann Duplicate");
    second.trn = Some(trns.1.to_owned());
    second.trn_validated = true;
    let retired = app.participant(second).await;
    let admin = app.staff_token(Role::Admin).await;
    (app, school.token, admin, retired, kept)
}

async fn retire(
    app: &TestApp,
    token: Option<&str>,
    retired: &str,
    attributes: Value,
) -> TestResponse {
    let body = json!({"data": {"type": "participant-retirement", "attributes": attributes}});
    app.post(
        &format!("/admin/participants/{retired}/retire"),
        token,
        &body.to_string(),
    )
    .await
}

/// Retires `retired` in favour of `kept`, which share a TRN, and checks it went through.
async fn retire_into(
    app: &TestApp,
    admin: &str,
    retired: ParticipantId,
    kept: ParticipantId,
) -> Value {
    let attributes = json!({"keep_participant_id": kept.to_string()});
    let response = retire(app, Some(admin), &retired.to_string(), attributes).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.json()["data"]["attributes"].clone()
}

fn ids(list: &TestResponse) -> Vec<String> {
    list.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

fn records(person: &TestResponse) -> Vec<String> {
    let mut records: Vec<String> = person.json()["data"]["attributes"]["ecf_enrolments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["training_record_id"].as_str().unwrap().to_owned())
        .collect();
    records.sort();
    records
}

async fn retirement_events(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "select count(*) from events
         where aggregate_type = 'participant_retirement' or event_type in ('MovedOut', 'MovedIn')",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn a_retired_id_moves_its_records_and_still_names_the_kept_person(pool: PgPool) {
    let (app, provider, admin, (retired, retired_record), (kept, kept_record)) =
        duplicated(pool.clone(), ("1234567", "1234567")).await;
    let declared = app.declare(&provider, started(retired)).await;
    assert_eq!(declared.status, StatusCode::OK, "{}", declared.text);
    let declaration = declared.json()["data"]["id"].as_str().unwrap().to_owned();
    let before = app.get("/api/v3/participants/ecf", Some(&provider)).await;
    let mut both = vec![retired.to_string(), kept.to_string()];
    both.sort();
    let mut listed = ids(&before);
    listed.sort();
    assert_eq!(listed, both);

    let attributes = retire_into(&app, &admin, retired, kept).await;

    assert_eq!(attributes["kept_participant_id"], kept.to_string());
    assert_eq!(attributes["training_records_moved"], 1);
    assert_eq!(attributes["declarations_moved"], 1);
    let after = app.get("/api/v3/participants/ecf", Some(&provider)).await;
    assert_eq!(ids(&after), vec![kept.to_string()]);
    let by_kept = app
        .get(&format!("/api/v3/participants/ecf/{kept}"), Some(&provider))
        .await;
    let by_retired = app
        .get(
            &format!("/api/v3/participants/ecf/{retired}"),
            Some(&provider),
        )
        .await;
    assert_eq!(by_retired.status, StatusCode::OK, "{}", by_retired.text);
    assert_eq!(by_retired.json()["data"]["id"], kept.to_string());
    let mut both_records = vec![kept_record.to_string(), retired_record.to_string()];
    both_records.sort();
    assert_eq!(records(&by_kept), both_records, "each record keeps its id");
    assert_eq!(records(&by_retired), both_records);
    let declarations = app
        .get("/api/v3/participant-declarations", Some(&provider))
        .await
        .json();
    assert_eq!(declarations["data"][0]["id"], declaration.as_str());
    assert_eq!(
        declarations["data"][0]["attributes"]["participant_id"],
        kept.to_string()
    );
    let filtered = app
        .get(
            &format!("/api/v3/participant-declarations?filter[participant_id]={retired}"),
            Some(&provider),
        )
        .await;
    assert_eq!(ids(&filtered), vec![declaration.clone()]);
    assert_eq!(
        app.get("/api/v1/participants/ecf", Some(&provider))
            .await
            .json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec![kept.to_string(), kept.to_string()],
        "v1 lists each record under the kept id"
    );
}

#[sqlx::test]
async fn declarations_and_actions_under_the_retired_id_land_on_the_kept_person(pool: PgPool) {
    let (app, provider, admin, (retired, _), (kept, _)) =
        duplicated(pool.clone(), ("1234567", "1234567")).await;
    let moved = app.declare(&provider, started(retired)).await.json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    retire_into(&app, &admin, retired, kept).await;

    let resent = app.declare(&provider, started(retired)).await;
    let later = |person: ParticipantId| {
        let mut later = started(person);
        later["declaration_date"] = json!("2022-10-02T10:00:00Z");
        later
    };
    let duplicate = app.declare(&provider, later(retired)).await;
    let duplicate_by_kept = app.declare(&provider, later(kept)).await;
    let void = app
        .request(
            Method::PUT,
            &format!("/api/v3/participant-declarations/{moved}/void"),
            Some(&provider),
            None,
        )
        .await;
    let redeclared = app.declare(&provider, started(retired)).await;
    let deferred = app
        .put(
            &format!("/api/v3/participants/ecf/{retired}/defer"),
            Some(&provider),
            json!({"reason": "other", "course_identifier": "ecf-induction"}),
        )
        .await;

    assert_eq!(resent.status, StatusCode::OK, "{}", resent.text);
    assert_eq!(
        resent.json()["data"]["id"],
        moved.as_str(),
        "an exact resend"
    );
    assert_eq!(
        resent.json()["data"]["attributes"]["participant_id"],
        kept.to_string()
    );
    assert_eq!(
        errors(&duplicate)[0]["detail"],
        "A declaration has already been submitted that will be, or has been, paid for this event"
    );
    assert_eq!(
        errors(&duplicate_by_kept)[0]["title"],
        "base",
        "the moved declaration holds the kept person's milestone"
    );
    assert_eq!(void.status, StatusCode::OK, "{}", void.text);
    assert_eq!(redeclared.status, StatusCode::OK, "{}", redeclared.text);
    assert_eq!(
        redeclared.json()["data"]["attributes"]["participant_id"],
        kept.to_string()
    );
    assert_eq!(deferred.status, StatusCode::OK, "{}", deferred.text);
    assert_eq!(deferred.json()["data"]["id"], kept.to_string());
}

#[sqlx::test]
async fn refusals_name_the_broken_rule_and_record_nothing(pool: PgPool) {
    let (app, provider, admin, (retired, _), (kept, _)) =
        duplicated(pool.clone(), ("1234567", "7654321")).await;
    let retired_started = app.declare(&provider, started(retired)).await.json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let kept_started = app.declare(&provider, started(kept)).await.json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let keep = |id: String, confirmed: bool| json!({"keep_participant_id": id, "confirmed_same_person": confirmed});
    let (retired, kept) = (retired.to_string(), kept.to_string());
    let nobody = Uuid::new_v4().to_string();

    let unknown = retire(&app, Some(&admin), &nobody, keep(kept.clone(), true)).await;
    let unknown_kept = retire(&app, Some(&admin), &retired, keep(nobody.clone(), true)).await;
    let same = retire(&app, Some(&admin), &retired, keep(retired.clone(), true)).await;
    let unconfirmed = retire(&app, Some(&admin), &retired, keep(kept.clone(), false)).await;
    let clashing = retire(&app, Some(&admin), &retired, keep(kept.clone(), true)).await;
    let by_provider = retire(&app, Some(&provider), &retired, keep(kept.clone(), true)).await;
    let anonymous = retire(&app, None, &retired, keep(kept.clone(), true)).await;
    let no_keep = retire(&app, Some(&admin), &retired, json!({})).await;

    assert_eq!(
        errors(&unknown),
        json!([{"title": "participant_id",
            "detail": format!("There is no participant with the id {nobody} to retire.")}])
    );
    assert_eq!(
        errors(&unknown_kept),
        json!([{"title": "keep_participant_id",
            "detail": format!("There is no participant with the id {nobody} to keep.")}])
    );
    assert_eq!(
        errors(&same),
        json!([{"title": "keep_participant_id",
            "detail": "The participant to retire and the participant to keep must be different ids."}])
    );
    assert_eq!(errors(&unconfirmed)[0]["title"], "confirmed_same_person");
    let clash = errors(&clashing);
    assert_eq!(clash[0]["title"], "declarations");
    assert_eq!(
        clash[0]["detail"],
        format!(
            "Retiring would leave two live declarations for the same milestone: \
             ecf-induction started ({retired_started} and {kept_started}). \
             Void one of each pair first."
        )
    );
    assert_eq!(by_provider.status, StatusCode::FORBIDDEN);
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(errors(&no_keep)[0]["title"], "keep_participant_id");
    assert_eq!(retirement_events(&pool).await, 0, "nothing was recorded");
    let listed = app.get("/api/v3/participants/ecf", Some(&provider)).await;
    assert_eq!(ids(&listed).len(), 2);
}

#[sqlx::test]
async fn the_cli_retires_on_the_admins_word_and_the_history_of_both_ids_stays(pool: PgPool) {
    let (app, provider, _, (retired, retired_record), (kept, _)) =
        duplicated(pool.clone(), ("1234567", "7654321")).await;
    let declared = app.declare(&provider, started(retired)).await;
    assert_eq!(declared.status, StatusCode::OK, "{}", declared.text);
    let auditor = app.staff_token(Role::Auditor).await;
    let refused = cpd_ledger::cli::participant(
        &app.ledger,
        ParticipantCommand::RetireId {
            retire: retired.0,
            keep: kept.0,
            same_person: false,
        },
    )
    .await;
    assert!(refused.is_err(), "no shared TRN and no word from the admin");

    cpd_ledger::cli::participant(
        &app.ledger,
        ParticipantCommand::RetireId {
            retire: retired.0,
            keep: kept.0,
            same_person: true,
        },
    )
    .await
    .unwrap();

    let by_retired = app
        .get(
            &format!("/api/v3/participants/ecf/{retired}"),
            Some(&provider),
        )
        .await;
    assert_eq!(by_retired.json()["data"]["id"], kept.to_string());
    let history = app
        .get(&format!("/audit/participants/{kept}"), Some(&auditor))
        .await
        .json();
    let events: Vec<(String, String)> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let a = &e["attributes"];
            (
                a["stream_id"].as_str().unwrap_or_default().to_owned(),
                a["event_type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let has = |aggregate: &str, event_type: &str| {
        events
            .iter()
            .any(|(a, t)| a == aggregate && t == event_type)
    };
    let record = retired_record.to_string();
    assert!(has(&record, "Registered"), "{events:?}");
    assert!(has(&record, "Reassigned"), "{events:?}");
    assert!(has(&retired.to_string(), "Retired"), "{events:?}");
    assert!(events.iter().any(|(_, t)| t == "Submitted"), "{events:?}");
    assert!(events.iter().any(|(_, t)| t == "MovedIn"), "{events:?}");
    let actors: Vec<String> = sqlx::query_scalar(
        "select distinct metadata->>'actor_type' from events
         where aggregate_type = 'participant_retirement' or event_type = 'Reassigned'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(actors, vec!["admin".to_owned()]);
}

/// Read models a retirement changes, as JSON rows in a stable order.
const TABLES: [&str; 8] = [
    "participants",
    "training_records",
    "provider_participants",
    "declarations",
    "npq_applications",
    "npq_outcomes",
    "participant_retirements",
    "audit_subjects",
];

#[sqlx::test]
async fn a_replay_after_a_retirement_equals_the_live_read_models(pool: PgPool) {
    let (app, provider, admin, (retired, _), (kept, _)) =
        duplicated(pool.clone(), ("1234567", "1234567")).await;
    app.declare(&provider, started(retired)).await;
    retire_into(&app, &admin, retired, kept).await;
    app.declare(
        &provider,
        json!({
            "participant_id": retired.to_string(),
            "declaration_type": "retained-1",
            "declaration_date": "2023-01-10T10:00:00Z",
            "course_identifier": "ecf-induction",
            "evidence_held": "training-event-attended",
        }),
    )
    .await;
    app.ledger.runner().catch_up().await.unwrap();
    let live = snapshot_of(&pool, &TABLES).await;
    let retirements = &live[6];
    assert_eq!(retirements.len(), 1);

    let runner = app.ledger.runner();
    let names: Vec<_> = runner
        .projections()
        .iter()
        .filter(|p| p.rebuildable())
        .map(|p| p.name())
        .collect();
    for name in names {
        runner.rebuild(name, |_, _| {}).await.unwrap();
    }

    assert_eq!(snapshot_of(&pool, &TABLES).await, live);
}

#[sqlx::test]
async fn npq_applications_and_enrolments_move_to_the_kept_person(pool: PgPool) {
    let w = crate::npq::world(pool).await;
    let (kept, retired) = (Uuid::new_v4(), Uuid::new_v4());
    let headship = w
        .apply(json!({"participant_id": kept, "course_identifier": "npq-headship"}))
        .await;
    let senior = w
        .apply(json!({"participant_id": retired, "course_identifier": "npq-senior-leadership"}))
        .await;
    for application in [&headship, &senior] {
        let accepted = w.accept(application, &w.ambition).await;
        assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);
    }
    assert_eq!(
        ids(&w
            .app
            .get("/api/v3/participants/npq", Some(&w.ambition))
            .await)
        .len(),
        2
    );

    let response = retire(
        &w.app,
        Some(&w.admin),
        &retired.to_string(),
        json!({"keep_participant_id": kept, "confirmed_same_person": true}),
    )
    .await;

    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(
        response.json()["data"]["attributes"]["npq_courses_moved"],
        1
    );
    assert_eq!(
        ids(&w
            .app
            .get("/api/v3/participants/npq", Some(&w.ambition))
            .await),
        vec![kept.to_string()]
    );
    let by_retired = w
        .app
        .get(
            &format!("/api/v3/participants/npq/{retired}"),
            Some(&w.ambition),
        )
        .await
        .json();
    assert_eq!(by_retired["data"]["id"], kept.to_string());
    let mut applications: Vec<String> = by_retired["data"]["attributes"]["npq_enrolments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["npq_application_id"].as_str().unwrap().to_owned())
        .collect();
    applications.sort();
    let mut both = vec![headship, senior.clone()];
    both.sort();
    assert_eq!(applications, both);
    let application = w
        .app
        .get(
            &format!("/api/v3/npq-applications/{senior}"),
            Some(&w.ambition),
        )
        .await
        .json();
    assert_eq!(
        application["data"]["attributes"]["participant_id"],
        kept.to_string()
    );
}
