//! `/api/v3/participant-declarations`: submission rules, idempotency, concurrency, voiding.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures::future::join_all;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{TestApp, ect, started};

const NOT_RECOGNISED: &str = "Your update cannot be made as the '#/participant_id' is not recognised. Check participant details and try again.";
const DUPLICATE: &str =
    "A declaration has already been submitted that will be, or has been, paid for this event";

/// The errors of a 422 answer; fails on any other status.
pub(crate) fn errors(response: &crate::helpers::TestResponse) -> Value {
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.text
    );
    response.json()["errors"].clone()
}

fn error(title: &str, detail: &str) -> Value {
    json!([{"title": title, "detail": detail}])
}

#[sqlx::test]
async fn an_accepted_declaration_has_the_spec_shape(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;

    let response = app.declare(&school.token, started(participant)).await;

    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    let data = response.json()["data"].clone();
    assert_eq!(data["type"], "participant-declaration");
    let attributes = &data["attributes"];
    let created_at = attributes["created_at"].clone();
    assert_eq!(
        attributes,
        &json!({
            "participant_id": participant.to_string(),
            "declaration_type": "started",
            "declaration_date": "2022-10-01T10:00:00Z",
            "course_identifier": "ecf-induction",
            "state": "eligible",
            "updated_at": created_at,
            "created_at": created_at,
            "delivery_partner_id": school.delivery_partner.to_string(),
            "statement_id": null,
            "clawback_statement_id": null,
            "ineligible_for_funding_reason": null,
            "mentor_id": null,
            "uplift_paid": false,
            "evidence_held": null,
            "has_passed": null,
            "lead_provider_name": "Teach First",
        })
    );
    let shown = app
        .get(
            &format!(
                "/api/v3/participant-declarations/{}",
                data["id"].as_str().unwrap()
            ),
            Some(&school.token),
        )
        .await;
    assert_eq!(shown.json()["data"], data);
}

#[sqlx::test]
async fn a_participant_not_yet_fundable_gets_a_submitted_declaration_that_becomes_eligible(
    pool: PgPool,
) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let unfunded = cpd_ledger::flows::school::NewParticipant {
        eligible_for_funding: None,
        ..ect("100001", "Sam Lee")
    };
    let (participant, record) = app.participant(unfunded).await;
    let submitted = app.declare(&school.token, started(participant)).await;
    assert_eq!(submitted.json()["data"]["attributes"]["state"], "submitted");
    let admin = app.staff_token(cpd_ledger::auth::Role::Admin).await;

    let changed = app
        .put(
            &format!("/admin/training-records/{record}/funding-eligibility"),
            Some(&admin),
            json!({"eligible_for_funding": true}),
        )
        .await;

    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    let id = submitted.json()["data"]["id"].as_str().unwrap().to_owned();
    let shown = app
        .get(
            &format!("/api/v3/participant-declarations/{id}"),
            Some(&school.token),
        )
        .await;
    assert_eq!(shown.json()["data"]["attributes"]["state"], "eligible");
}

#[sqlx::test]
async fn each_rule_answers_with_its_exact_message(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;
    let with = |changes: Value| {
        let mut body = started(participant);
        for (key, value) in changes.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    let retained = |evidence: Value| {
        with(
            json!({"declaration_type": "retained-1", "declaration_date": "2023-02-01T10:00:00Z", "evidence_held": evidence}),
        )
    };
    let cases = [
        (
            with(json!({"participant_id": "00000000-0000-0000-0000-000000000000"})),
            error("participant_id", NOT_RECOGNISED),
        ),
        (
            with(json!({"course_identifier": "ecf-mentor"})),
            error(
                "course_identifier",
                "The entered '#/course_identifier' is not recognised for the given participant. Check details and try again.",
            ),
        ),
        (
            with(json!({"course_identifier": "npq-cooking"})),
            error(
                "course_identifier",
                "The entered '#/course_identifier' is not recognised for the given participant. Check details and try again.",
            ),
        ),
        (
            with(json!({"declaration_date": null, "declaration_type": ""})),
            json!([{"title": "declaration_date", "detail": "Enter a '#/declaration_date'."}, {"title": "declaration_type", "detail": "Enter a '#/declaration_type'."}]),
        ),
        (
            with(json!({"declaration_date": "2022-10-01"})),
            error(
                "declaration_date",
                "Enter a valid RCF3339 '#/declaration_date'.",
            ),
        ),
        (
            with(json!({"declaration_date": "2022-05-31T23:00:00Z"})),
            error(
                "declaration_date",
                "Enter a '#/declaration_date' that's on or after the milestone start.",
            ),
        ),
        (
            with(json!({"declaration_date": "2023-01-01T00:00:00Z"})),
            error(
                "declaration_date",
                "Enter a '#/declaration_date' that's before the milestone end date.",
            ),
        ),
        (
            retained(Value::Null),
            error(
                "evidence_held",
                "Enter a '#/evidence_held' value for this participant.",
            ),
        ),
        (
            retained(json!("a-hunch")),
            error(
                "evidence_held",
                "Enter an available '#/evidence_held' type for this participant's event and course.",
            ),
        ),
        (
            with(json!({"declaration_type": "extended-1", "evidence_held": "other"})),
            error(
                "declaration_type",
                "The property '#/declaration_type' does not exist for this schedule.",
            ),
        ),
    ];
    for (body, expected) in cases {
        let response = app.declare(&school.token, body.clone()).await;
        assert_eq!(errors(&response), expected, "{body}");
    }
}

#[sqlx::test]
async fn a_future_date_is_refused_as_of_the_sandbox_server_date(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;
    let body =
        json!({"data": {"type": "participant-declaration", "attributes": started(participant)}});
    let request = Request::post("/api/v3/participant-declarations")
        .header("Authorization", format!("Bearer {}", school.token))
        .header("X-With-Server-Date", "2022-09-15T00:00:00Z")
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();

    let response = app.send(request).await;

    assert_eq!(
        errors(&response),
        error(
            "declaration_date",
            "The '#/declaration_date' value cannot be a future date. Check the date and try again."
        )
    );
}

#[sqlx::test]
async fn a_provider_that_does_not_train_the_participant_is_refused(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    app.ecf_school("Teach First", "100001", 2022).await;
    let stranger = app.ecf_school("Capita", "100002", 2022).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;

    let response = app.declare(&stranger.token, started(participant)).await;

    assert_eq!(errors(&response), error("participant_id", NOT_RECOGNISED));
}

#[sqlx::test]
async fn a_declaration_after_the_withdrawal_is_refused(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;
    let withdraw = format!("/api/v3/participants/ecf/{participant}/withdraw");
    let request = Request::put(&withdraw)
        .header("Authorization", format!("Bearer {}", school.token))
        .header("X-With-Server-Date", "2022-09-20T12:00:00Z")
        .header("Content-Type", "application/json")
        .body(Body::from(json!({"data": {"attributes": {"course_identifier": "ecf-induction", "reason": "moved-school"}}}).to_string()))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::OK);

    let response = app.declare(&school.token, started(participant)).await;

    assert_eq!(
        errors(&response),
        error(
            "participant_id",
            "This participant withdrew from this course on 2022-09-20T12:00:00Z. Enter a '#/declaration_date' that's on or before the withdrawal date."
        )
    );
}

#[sqlx::test]
async fn an_exact_resend_returns_the_accepted_declaration(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;

    let first = app.declare(&school.token, started(participant)).await;
    let again = app.declare(&school.token, started(participant)).await;
    let mut other_date = started(participant);
    other_date["declaration_date"] = json!("2022-10-02T10:00:00Z");
    let different = app.declare(&school.token, other_date).await;

    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json(), first.json());
    assert_eq!(errors(&different), error("base", DUPLICATE));
    app.shown().await;
    let count: i64 = sqlx::query_scalar("select count(*) from declarations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[sqlx::test]
async fn concurrent_submissions_for_one_milestone_accept_exactly_one(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;
    let bodies: Vec<Value> = (1..=24)
        .map(|day| {
            let mut body = started(participant);
            body["declaration_date"] = json!(format!("2022-10-{day:02}T10:00:00Z"));
            body
        })
        .collect();

    let responses = join_all(bodies.into_iter().map(|body| {
        let (app, token) = (&app, school.token.clone());
        async move { app.declare(&token, body).await }
    }))
    .await;

    let accepted = responses
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(
        accepted,
        1,
        "{:?}",
        responses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for rejected in responses.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(errors(rejected), error("base", DUPLICATE));
    }
    app.shown().await;
    let live: i64 = sqlx::query_scalar("select count(*) from declarations where state <> 'voided'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(live, 1);
}

#[sqlx::test]
async fn voiding_frees_the_milestone_and_cannot_be_repeated(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;
    let id = app
        .declare(&school.token, started(participant))
        .await
        .json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let void = format!("/api/v3/participant-declarations/{id}/void");

    let voided = app
        .request(axum::http::Method::PUT, &void, Some(&school.token), None)
        .await;
    let again = app
        .request(axum::http::Method::PUT, &void, Some(&school.token), None)
        .await;
    let redeclared = app.declare(&school.token, started(participant)).await;

    assert_eq!(voided.status, StatusCode::OK);
    assert_eq!(voided.json()["data"]["attributes"]["state"], "voided");
    assert_eq!(
        errors(&again),
        error(
            "Invalid action",
            "This declaration has already been voided."
        )
    );
    assert_eq!(redeclared.status, StatusCode::OK);
    assert_ne!(redeclared.json()["data"]["id"], json!(id));
}

#[sqlx::test]
async fn another_providers_declaration_is_not_found(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let other = app.ecf_school("Capita", "100002", 2022).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;
    let id = app
        .declare(&school.token, started(participant))
        .await
        .json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let shown = app
        .get(
            &format!("/api/v3/participant-declarations/{id}"),
            Some(&other.token),
        )
        .await;
    let voided = app
        .request(
            axum::http::Method::PUT,
            &format!("/api/v3/participant-declarations/{id}/void"),
            Some(&other.token),
            None,
        )
        .await;
    let listed = app
        .get("/api/v3/participant-declarations", Some(&other.token))
        .await;

    assert_eq!(shown.status, StatusCode::NOT_FOUND);
    assert_eq!(voided.status, StatusCode::NOT_FOUND);
    assert_eq!(listed.json()["data"], json!([]));
}

#[sqlx::test]
async fn the_list_filters_by_participant_cohort_partner_and_update(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (jane, _) = app.participant(ect("100001", "Jane Smith")).await;
    let (sam, _) = app.participant(ect("100001", "Sam Lee")).await;
    app.declare(&school.token, started(jane)).await;
    app.declare(&school.token, started(sam)).await;
    let count = |query: String| {
        let (app, token) = (&app, school.token.clone());
        async move {
            app.get(
                &format!("/api/v3/participant-declarations?{query}"),
                Some(&token),
            )
            .await
            .json()["data"]
                .as_array()
                .unwrap()
                .len()
        }
    };

    assert_eq!(count(String::new()).await, 2);
    assert_eq!(count(format!("filter[participant_id]={jane}")).await, 1);
    assert_eq!(
        count(format!("filter[participant_id]={jane},{sam}")).await,
        2
    );
    assert_eq!(count("filter[cohort]=2022".into()).await, 2);
    assert_eq!(count("filter[cohort]=2021".into()).await, 0);
    assert_eq!(
        count(format!(
            "filter[delivery_partner_id]={}",
            school.delivery_partner
        ))
        .await,
        2
    );
    assert_eq!(
        count("filter[updated_since]=2999-01-01T00:00:00Z".into()).await,
        0
    );
    assert_eq!(count("page[per_page]=1&page[page]=2".into()).await, 1);
}
