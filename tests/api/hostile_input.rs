//! Hostile input: out-of-range dates, NUL, malformed paths and queries and oversized text are
//! refused with the API's errors, append nothing, and never answer 5xx.

use axum::http::StatusCode;
use cpd_ledger::auth::Role;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{TestApp, TestResponse, ect, started};

const NUL_BYTE: &str = "string contains null byte";

async fn event_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from events")
        .fetch_one(pool)
        .await
        .expect("count")
}

fn assert_error(response: &TestResponse, status: StatusCode, title: &str, detail: &str) {
    assert_eq!(response.status, status, "{}", response.text);
    assert_eq!(
        response.json(),
        json!({"errors": [{"title": title, "detail": detail}]}),
        "{}",
        response.text
    );
}

fn assert_names(response: &TestResponse, attribute: &str) {
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.text
    );
    assert_eq!(response.json()["errors"][0]["title"], attribute);
}

fn bad_date(filter: &str) -> String {
    format!("The filter '#/{filter}' must be a valid RCF3339 date")
}

fn body(attributes: Value) -> String {
    json!({"data": {"type": "thing", "attributes": attributes}}).to_string()
}

/// A provider with a school in cohort 2022 and one ECT there: (app, token, participant, record).
pub async fn school_with_ect(pool: PgPool) -> (TestApp, String, String, String) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (participant, record) = app.participant(ect("100001", "Jane Smith")).await;
    (
        app,
        school.token,
        participant.to_string(),
        record.to_string(),
    )
}

#[sqlx::test]
async fn a_poison_leaving_date_is_refused_and_the_read_models_keep_moving(pool: PgPool) {
    let (app, token, participant, record) = school_with_ect(pool.clone()).await;
    let admin = app.staff_token(Role::Admin).await;
    let before = event_count(&pool).await;

    let path = format!("/admin/training-records/{record}/leaving");
    for end_date in [
        "-9999-01-01T00:00:00",
        "-9999-01-01",
        "1999-12-31",
        "2101-01-01",
    ] {
        let response = app
            .put(&path, Some(&admin), json!({"end_date": end_date}))
            .await;
        assert_names(&response, "end_date");
    }

    assert_eq!(event_count(&pool).await, before);
    let deferred = app
        .put(
            &format!("/api/v3/participants/ecf/{participant}/defer"),
            Some(&token),
            json!({"reason": "other", "course_identifier": "ecf-induction"}),
        )
        .await;
    assert_eq!(deferred.status, StatusCode::OK, "{}", deferred.text);
    let shown = app
        .get(
            &format!("/api/v3/participants/ecf/{participant}"),
            Some(&token),
        )
        .await;
    assert_eq!(
        shown.json()["data"]["attributes"]["ecf_enrolments"][0]["training_status"],
        "deferred"
    );
}

#[sqlx::test]
async fn a_poison_statement_deadline_is_refused_naming_the_attribute(pool: PgPool) {
    let (app, _, _, _) = school_with_ect(pool.clone()).await;
    let finance = app.staff_token(Role::Finance).await;
    let provider = aggregates::LeadProviderId::from_name("Teach First");
    let before = event_count(&pool).await;
    let statement = |deadline: &str, payment: &str, cohort: i32| {
        body(json!({
            "lead_provider_id": provider.to_string(), "type": "ecf", "cohort": cohort,
            "name": "May 2023", "deadline_date": deadline, "payment_date": payment,
        }))
    };

    let poison = app
        .post(
            "/finance/statements",
            Some(&finance),
            &statement("-9999-01-01", "2023-05-25", 2022),
        )
        .await;
    let late = app
        .post(
            "/finance/statements",
            Some(&finance),
            &statement("2023-04-30", "2101-01-01", 2022),
        )
        .await;
    let no_cohort = app
        .post(
            "/finance/statements",
            Some(&finance),
            &statement("2023-04-30", "2023-05-25", 2050),
        )
        .await;

    let no_contract = app
        .post(
            "/finance/statements",
            Some(&finance),
            &statement("2023-04-30", "2023-05-25", 2022),
        )
        .await;

    assert_names(&poison, "deadline_date");
    assert_names(&late, "payment_date");
    assert_names(&no_cohort, "cohort");
    // This world has no ECF contracts: such a statement could never be priced.
    assert_names(&no_contract, "cohort");
    assert_eq!(event_count(&pool).await, before);
}

#[sqlx::test]
async fn a_cohort_set_up_needs_a_cohort_that_exists(pool: PgPool) {
    let (app, _, _, _) = school_with_ect(pool.clone()).await;
    let admin = app.staff_token(Role::Admin).await;
    let before = event_count(&pool).await;

    for cohort in ["-1", "2050"] {
        let response = app
            .put(
                &format!("/admin/schools/100001/cohorts/{cohort}"),
                Some(&admin),
                json!({}),
            )
            .await;
        assert_names(&response, "cohort");
    }

    assert_eq!(event_count(&pool).await, before);
}

#[sqlx::test]
async fn nul_in_a_declarations_text_is_the_real_bad_request(pool: PgPool) {
    let (app, token, participant, _) = school_with_ect(pool.clone()).await;
    let before = event_count(&pool).await;

    for attribute in ["declaration_type", "evidence_held", "course_identifier"] {
        let mut attributes = started(participant.parse().unwrap());
        attributes[attribute] = json!("started\u{0}");
        for version in ["v1", "v2", "v3"] {
            let response = app
                .post(
                    &format!("/api/{version}/participant-declarations"),
                    Some(&token),
                    &body(attributes.clone()),
                )
                .await;
            assert_error(&response, StatusCode::BAD_REQUEST, "Bad request", NUL_BYTE);
        }
    }

    assert_eq!(event_count(&pool).await, before);
}

#[sqlx::test]
async fn nul_in_a_change_of_schedule_is_the_real_bad_request(pool: PgPool) {
    let (app, token, participant, _) = school_with_ect(pool).await;

    for version in ["v1", "v2", "v3"] {
        let response = app
            .put(
                &format!("/api/{version}/participants/ecf/{participant}/change-schedule"),
                Some(&token),
                json!({"schedule_identifier": "ecf-standard-january\u{0}",
                       "course_identifier": "ecf-induction"}),
            )
            .await;
        assert_error(&response, StatusCode::BAD_REQUEST, "Bad request", NUL_BYTE);
    }
}

#[sqlx::test]
async fn nul_in_filters_and_paths_is_the_real_bad_request(pool: PgPool) {
    let (app, token, _, _) = school_with_ect(pool).await;
    let admin = app.staff_token(Role::Admin).await;
    let auditor = app.staff_token(Role::Auditor).await;

    let provider_paths = [
        "/api/v3/statements?filter[type]=ecf%00",
        "/api/v3/schools/ecf?filter[cohort]=2022&filter[urn]=100001%00",
        "/api/v3/participants/ecf/%00",
    ];
    for path in provider_paths {
        let response = app.get(path, Some(&token)).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "Bad request", NUL_BYTE);
    }
    let audit = app
        .get(
            "/audit/events?filter[event_type]=Submitted%00",
            Some(&auditor),
        )
        .await;
    assert_error(&audit, StatusCode::BAD_REQUEST, "Bad request", NUL_BYTE);
    let school_cohort = app
        .put("/admin/schools/%00/cohorts/2023", Some(&admin), json!({}))
        .await;
    assert_error(
        &school_cohort,
        StatusCode::BAD_REQUEST,
        "Bad request",
        NUL_BYTE,
    );
}

#[sqlx::test]
async fn nul_in_staff_bodies_is_the_real_bad_request(pool: PgPool) {
    let (app, _, _, record) = school_with_ect(pool.clone()).await;
    let admin = app.staff_token(Role::Admin).await;
    let before = event_count(&pool).await;

    let token = app
        .post(
            "/admin/tokens",
            Some(&admin),
            &body(json!({"role": "lead_provider", "lead_provider": "Teach First\u{0}"})),
        )
        .await;
    let registration = app
        .post(
            "/admin/participants",
            Some(&admin),
            &body(
                json!({"participant_type": "ect", "full_name": "Ada", "email": "a@b.c",
                         "school_urn": "100001\u{0}", "cohort": 2022}),
            ),
        )
        .await;
    let joining = app
        .put(
            &format!("/admin/training-records/{record}/joining"),
            Some(&admin),
            json!({"school_urn": "100001\u{0}"}),
        )
        .await;

    for response in [token, registration, joining] {
        assert_error(&response, StatusCode::BAD_REQUEST, "Bad request", NUL_BYTE);
    }
    assert_eq!(event_count(&pool).await, before);
}

#[sqlx::test]
async fn out_of_range_date_filters_are_the_real_bad_request_on_every_list(pool: PgPool) {
    let (app, token, _, _) = school_with_ect(pool).await;
    let mut lists: Vec<(String, &str)> = Vec::new();
    for version in ["v1", "v2", "v3"] {
        for list in [
            "participants/ecf",
            "participants/npq",
            "participant-declarations",
            "npq-applications",
        ] {
            lists.push((format!("/api/{version}/{list}?"), "updated_since"));
        }
        lists.push((
            format!("/api/{version}/participants/npq/outcomes?"),
            "created_since",
        ));
    }
    for version in ["v1", "v2"] {
        for export in [
            "participants/ecf.csv",
            "participant-declarations.csv",
            "npq-applications.csv",
        ] {
            lists.push((format!("/api/{version}/{export}?"), "updated_since"));
        }
    }
    lists.push(("/api/v1/participants?".to_owned(), "updated_since"));
    lists.push(("/api/v2/npq-enrolments.csv?".to_owned(), "updated_since"));
    for list in [
        "participants/ecf/transfers?",
        "unfunded-mentors/ecf?",
        "schools/ecf?filter[cohort]=2022&",
        "partnerships/ecf?",
        "statements?",
    ] {
        lists.push((format!("/api/v3/{list}"), "updated_since"));
    }

    for (list, filter) in &lists {
        for value in ["-9999-01-01", "-9999-01-01T00:00:00", "10000-01-01"] {
            let path = format!("{list}filter[{filter}]={value}");
            let response = app.get(&path, Some(&token)).await;
            assert_error(
                &response,
                StatusCode::BAD_REQUEST,
                "Bad request",
                &bad_date(filter),
            );
        }
    }
}

#[sqlx::test]
async fn staff_date_filters_out_of_range_are_bad_requests(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let auditor = app.staff_token(Role::Auditor).await;
    let finance = app.staff_token(Role::Finance).await;
    let id = uuid::Uuid::new_v4();

    let audit = app
        .get("/audit/events?filter[from]=-9999-01-01", Some(&auditor))
        .await;
    let as_of = app
        .get(
            &format!("/finance/statements/{id}?as_of=-9999-01-01T00:00:00"),
            Some(&finance),
        )
        .await;
    let repeated = app
        .get(
            &format!("/finance/statements/{id}?as_of=2023-01-01&as_of=2023-02-01"),
            Some(&finance),
        )
        .await;

    assert_error(
        &audit,
        StatusCode::BAD_REQUEST,
        "Bad request",
        &bad_date("from"),
    );
    assert_error(
        &as_of,
        StatusCode::BAD_REQUEST,
        "Bad request",
        &bad_date("as_of"),
    );
    assert_eq!(
        repeated.status,
        StatusCode::BAD_REQUEST,
        "{}",
        repeated.text
    );
    assert_eq!(repeated.json()["errors"][0]["title"], "Bad request");
}

#[sqlx::test]
async fn a_server_date_outside_the_bounds_is_refused(pool: PgPool) {
    let (app, token, _, _) = school_with_ect(pool).await;

    let response = app
        .get_at("/api/v1/participants/ecf", &token, "-9999-01-01T00:00:00Z")
        .await;

    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "{}",
        response.text
    );
    assert_eq!(response.json()["errors"][0]["title"], "Bad request");
}

#[sqlx::test]
async fn an_id_that_is_not_utf8_is_not_found_in_json(pool: PgPool) {
    let (app, token, _, _) = school_with_ect(pool).await;

    for path in [
        "/api/v3/participant-declarations/%FF",
        "/api/v1/participants/ecf/%FF%FE",
        "/api/v3/statements/%C3%28",
    ] {
        let response = app.get(path, Some(&token)).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(response.json(), json!({"error": "Resource not Found"}));
    }
}

#[sqlx::test]
async fn a_csv_export_with_a_bad_filter_answers_json_before_any_row(pool: PgPool) {
    let (app, token, participant, _) = school_with_ect(pool).await;
    let declared = app
        .declare(&token, started(participant.parse().unwrap()))
        .await;
    assert_eq!(declared.status, StatusCode::OK, "{}", declared.text);

    let response = app
        .get(
            "/api/v1/participant-declarations.csv?filter[updated_since]=-0001-01-01",
            Some(&token),
        )
        .await;
    let export = app
        .get("/api/v1/participant-declarations.csv", Some(&token))
        .await;

    assert_error(
        &response,
        StatusCode::BAD_REQUEST,
        "Bad request",
        &bad_date("updated_since"),
    );
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(export.header("content-type"), Some("text/csv"));
    assert_eq!(export.text.lines().count(), 2, "{}", export.text);
}

#[sqlx::test]
async fn evidence_held_is_bounded_to_255_characters(pool: PgPool) {
    let (app, token, participant, _) = school_with_ect(pool.clone()).await;
    let participant = participant.parse().unwrap();
    let before = event_count(&pool).await;

    for evidence in ["x".repeat(256), "x".repeat(200 * 1024)] {
        let mut attributes = started(participant);
        attributes["evidence_held"] = json!(evidence);
        let response = app.declare(&token, attributes).await;
        assert_error(
            &response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "evidence_held",
            "The '#/evidence_held' must be 255 characters or fewer",
        );
    }
    let mut control = started(participant);
    control["evidence_held"] = json!("other\u{1b}[2J");
    let controlled = app.declare(&token, control).await;
    assert_names(&controlled, "evidence_held");
    assert_eq!(event_count(&pool).await, before);

    let mut longest = started(participant);
    longest["evidence_held"] = json!("é".repeat(255));
    let accepted = app.declare(&token, longest).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);
}

#[sqlx::test]
async fn a_name_with_control_characters_is_refused(pool: PgPool) {
    let (app, _, _, _) = school_with_ect(pool.clone()).await;
    let admin = app.staff_token(Role::Admin).await;
    let before = event_count(&pool).await;

    let response = app
        .post(
            "/admin/participants",
            Some(&admin),
            &body(json!({
                "participant_type": "ect", "full_name": "Ada\u{7}", "email": "ada@example.com",
                "school_urn": "100001", "cohort": 2022})),
        )
        .await;

    assert_names(&response, "full_name");
    assert_eq!(event_count(&pool).await, before);
}

#[sqlx::test]
async fn a_mentor_must_be_someone_the_ledger_knows(pool: PgPool) {
    let (app, _, _, record) = school_with_ect(pool.clone()).await;
    let admin = app.staff_token(Role::Admin).await;
    let before = event_count(&pool).await;
    let stranger = uuid::Uuid::new_v4().to_string();

    let assigned = app
        .put(
            &format!("/admin/training-records/{record}/mentor"),
            Some(&admin),
            json!({"mentor_id": stranger}),
        )
        .await;
    let registered = app
        .post(
            "/admin/participants",
            Some(&admin),
            &body(
                json!({"participant_type": "ect", "full_name": "Ada", "email": "a@b.c",
                         "school_urn": "100001", "cohort": 2022, "mentor_id": stranger}),
            ),
        )
        .await;

    assert_names(&assigned, "mentor_id");
    assert_names(&registered, "mentor_id");
    assert_eq!(event_count(&pool).await, before);
}
