//! The real service's behaviour where a provider's integration would notice a difference:
//! which attribute an error blames, the messages it joins, date formats and filters, and which
//! providers may use which endpoints, in every version where the endpoint exists.

use aggregates::LeadProviderId;
use aggregates::reference::{DeliveryPartner, LeadProvider};
use axum::http::{Method, StatusCode};
use cpd_ledger::auth::{self, Role};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{TestApp, TestResponse, ect, started};

const VERSIONS: [&str; 3] = ["v1", "v2", "v3"];
const PARTICIPANT: &str = "Your update cannot be made as the '#/participant_id' is not recognised. Check participant details and try again.";
const COURSE: &str = "The entered '#/course_identifier' is not recognised for the given participant. Check details and try again.";
const BOTH_COURSE: &str = "The entered '#/course_identifier' is not recognised for the given participant. Check details and try again., Enter a '#/course_identifier' value for this participant.";
const BOTH_REASON: &str =
    "The property '#/reason' must be present, The property '#/reason' must be a valid reason";

fn errors(response: &TestResponse) -> Value {
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

fn ok(response: &TestResponse) -> Value {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.json()["data"].clone()
}

/// Registers a provider delivering only the given programmes, with a token.
async fn provider_delivering(app: &TestApp, name: &str, ecf: bool, npq: bool) -> String {
    app.record(LeadProvider {
        name: name.into(),
        ecf,
        npq,
    })
    .await;
    let id = LeadProviderId::from_name(name);
    auth::create_token(&app.pool, Role::LeadProvider, Some(id), "test")
        .await
        .unwrap()
        .token
}

/// Sends an NPQ application for `participant` to `provider` through the admin API, and the
/// provider accepts it; returns the application id.
async fn enrol(app: &TestApp, admin: &str, token: &str, provider: &str, extra: Value) -> String {
    let mut attributes = json!({
        "full_name": "Sam Lee",
        "email": "sam@example.com",
        "cohort": 2022,
        "course_identifier": "npq-headship",
        "lead_provider": provider,
        "eligible_for_funding": true,
        "school_urn": "100001",
    });
    for (key, value) in extra.as_object().unwrap() {
        attributes[key] = value.clone();
    }
    let body = json!({"data": {"type": "npq-application", "attributes": attributes}});
    let applied = app
        .post("/admin/npq-applications", Some(admin), &body.to_string())
        .await;
    assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.text);
    let id = applied.json()["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v3/npq-applications/{id}/accept");
    ok(&app.post(&path, Some(token), "").await);
    id
}

/// POSTs a declaration through a version's path.
async fn declare(app: &TestApp, version: &str, token: &str, attributes: Value) -> TestResponse {
    let body = json!({"data": {"type": "participant-declaration", "attributes": attributes}});
    app.post(
        &format!("/api/{version}/participant-declarations"),
        Some(token),
        &body.to_string(),
    )
    .await
}

/// The action bodies that name `course` (each valid but for the course).
fn actions(course: &str) -> [(&'static str, Value); 4] {
    [
        (
            "defer",
            json!({"course_identifier": course, "reason": "career-break"}),
        ),
        ("resume", json!({"course_identifier": course})),
        (
            "withdraw",
            json!({"course_identifier": course, "reason": "other"}),
        ),
        (
            "change-schedule",
            json!({"course_identifier": course, "schedule_identifier": "ecf-standard-january", "cohort": 2022}),
        ),
    ]
}

#[sqlx::test]
async fn a_course_the_known_participant_is_not_on_is_blamed_on_the_course(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let admin = app.staff_token(Role::Admin).await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (ect_id, _) = app.participant(ect("100001", "Jane Smith")).await;
    let npq_person = Uuid::new_v4().to_string();
    enrol(
        &app,
        &admin,
        &school.token,
        "Teach First",
        json!({"participant_id": npq_person}),
    )
    .await;
    let ect_id = ect_id.to_string();
    let with = |participant: &str, course: &str| {
        let mut body = started(aggregates::ParticipantId(
            Uuid::parse_str(participant).unwrap(),
        ));
        body["course_identifier"] = json!(course);
        body
    };

    for version in VERSIONS {
        for (participant, course) in [
            (&ect_id, "ecf-mentor"),
            (&ect_id, "npq-headship"),
            (&npq_person, "ecf-induction"),
        ] {
            let response = declare(&app, version, &school.token, with(participant, course)).await;
            assert_eq!(
                errors(&response),
                error("course_identifier", COURSE),
                "{version} {course}"
            );
        }
        let unknown = with(&Uuid::new_v4().to_string(), "ecf-induction");
        let response = declare(&app, version, &school.token, unknown).await;
        assert_eq!(errors(&response), error("participant_id", PARTICIPANT));
        // The person holds an NPQ enrolment, so every NPQ course is theirs; one they are not
        // enrolled on with this provider fails the provider check, as the real service does.
        let other = with(&npq_person, "npq-senior-leadership");
        let response = declare(&app, version, &school.token, other).await;
        assert_eq!(errors(&response), error("participant_id", PARTICIPANT));

        for (action, body) in actions("ecf-mentor") {
            let path = format!("/api/{version}/participants/ecf/{ect_id}/{action}");
            let response = app.put(&path, Some(&school.token), body).await;
            assert_eq!(
                errors(&response),
                error("course_identifier", COURSE),
                "{path}"
            );
        }
        for (action, body) in actions("ecf-induction") {
            let path = format!("/api/{version}/participants/npq/{npq_person}/{action}");
            let response = app.put(&path, Some(&school.token), body).await;
            assert_eq!(
                errors(&response),
                error("course_identifier", COURSE),
                "{path}"
            );
            let stranger = format!(
                "/api/{version}/participants/ecf/{}/{action}",
                Uuid::new_v4()
            );
            let body = actions("ecf-induction")
                .into_iter()
                .find(|(a, _)| *a == action)
                .unwrap()
                .1;
            let response = app.put(&stranger, Some(&school.token), body).await;
            assert_eq!(errors(&response), error("participant_id", PARTICIPANT));
        }
    }
    let legacy = format!("/api/v1/participants/{ect_id}/defer");
    let body = json!({"course_identifier": "ecf-mentor", "reason": "career-break"});
    let response = app.put(&legacy, Some(&school.token), body).await;
    assert_eq!(errors(&response), error("course_identifier", COURSE));
}

#[sqlx::test]
async fn an_unknown_participant_without_a_course_is_reported_before_the_missing_fields(
    pool: PgPool,
) {
    let app = TestApp::new(pool).await;
    let (_, token) = app.provider("Teach First").await;

    for version in VERSIONS {
        let attributes = json!({"participant_id": "00000000-0000-4000-8000-000000000000"});
        let response = declare(&app, version, &token, attributes).await;

        assert_eq!(
            errors(&response),
            json!([
                {"title": "participant_id", "detail": PARTICIPANT},
                {"title": "declaration_date", "detail": "Enter a '#/declaration_date'."},
                {"title": "declaration_type", "detail": "Enter a '#/declaration_type'."},
            ]),
            "{version}"
        );
    }
}

#[sqlx::test]
async fn attributes_that_are_not_an_object_are_read_as_empty(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, token) = app.provider("Teach First").await;
    let body = json!({"data": {"type": "participant-declaration", "attributes": ""}});

    for version in VERSIONS {
        let path = format!("/api/{version}/participant-declarations");
        let response = app.post(&path, Some(&token), &body.to_string()).await;

        assert_eq!(
            errors(&response),
            json!([
                {"title": "participant_id", "detail": PARTICIPANT},
                {"title": "declaration_date", "detail": "Enter a '#/declaration_date'."},
                {"title": "declaration_type", "detail": "Enter a '#/declaration_type'."},
            ]),
            "{version}"
        );
    }
}

#[sqlx::test]
async fn a_missing_course_gets_both_course_messages_on_actions_and_outcomes(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let admin = app.staff_token(Role::Admin).await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (ect_id, _) = app.participant(ect("100001", "Jane Smith")).await;
    let mentor = cpd_ledger::flows::school::NewParticipant {
        participant_type: aggregates::course::ParticipantType::Mentor,
        ..ect("100001", "Max Mentor")
    };
    let (mentor_id, _) = app.participant(mentor).await;
    let npq_person = Uuid::new_v4().to_string();
    enrol(
        &app,
        &admin,
        &school.token,
        "Teach First",
        json!({"participant_id": npq_person}),
    )
    .await;
    let without_course = |body: Value| {
        let mut body = body;
        body.as_object_mut().unwrap().remove("course_identifier");
        body
    };

    for version in VERSIONS {
        for (programme, person) in [
            ("ecf", ect_id.to_string()),
            ("ecf", mentor_id.to_string()),
            ("npq", npq_person.clone()),
        ] {
            for (action, body) in actions("") {
                let path = format!("/api/{version}/participants/{programme}/{person}/{action}");
                let response = app
                    .put(&path, Some(&school.token), without_course(body))
                    .await;
                assert_eq!(
                    errors(&response),
                    error("course_identifier", BOTH_COURSE),
                    "{path}"
                );
            }
        }
        for (programme, person) in [("ecf", ect_id.to_string()), ("npq", npq_person.clone())] {
            let path = format!("/api/{version}/participants/{programme}/{person}/change-schedule");
            let response = app.put(&path, Some(&school.token), json!({})).await;
            assert_eq!(
                errors(&response),
                json!([
                    {"title": "course_identifier", "detail": BOTH_COURSE},
                    {"title": "schedule_identifier", "detail": "The property '#/schedule_identifier' must be present and correspond to a valid schedule"},
                ]),
                "{path}"
            );
        }
        let path = format!("/api/{version}/participants/npq/{npq_person}/outcomes");
        let body = json!({"data": {"type": "npq-outcome-confirmation", "attributes": {"state": "passed", "completion_date": "2023-04-01"}}});
        let response = app
            .post(&path, Some(&school.token), &body.to_string())
            .await;
        assert_eq!(
            errors(&response),
            error("course_identifier", BOTH_COURSE),
            "{path}"
        );
    }
}

#[sqlx::test]
async fn a_blank_reason_gets_both_reason_messages(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let admin = app.staff_token(Role::Admin).await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (ect_id, _) = app.participant(ect("100001", "Jane Smith")).await;
    let npq_person = Uuid::new_v4().to_string();
    enrol(
        &app,
        &admin,
        &school.token,
        "Teach First",
        json!({"participant_id": npq_person}),
    )
    .await;

    for version in VERSIONS {
        for (programme, person, course) in [
            ("ecf", ect_id.to_string(), "ecf-induction"),
            ("npq", npq_person.clone(), "npq-headship"),
        ] {
            for action in ["withdraw", "defer"] {
                let path = format!("/api/{version}/participants/{programme}/{person}/{action}");
                for body in [
                    json!({"course_identifier": course, "reason": ""}),
                    json!({"course_identifier": course}),
                ] {
                    let response = app.put(&path, Some(&school.token), body).await;
                    assert_eq!(errors(&response), error("reason", BOTH_REASON), "{path}");
                }
                let body = json!({"course_identifier": course, "reason": "bored"});
                let response = app.put(&path, Some(&school.token), body).await;
                assert_eq!(
                    errors(&response),
                    error("reason", "The property '#/reason' must be a valid reason"),
                    "{path}"
                );
            }
        }
    }
}

#[sqlx::test]
async fn outcome_completion_dates_are_date_times_in_every_version(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let admin = app.staff_token(Role::Admin).await;
    let token = provider_delivering(&app, "Church of England", false, true).await;
    let person = Uuid::new_v4().to_string();
    enrol(
        &app,
        &admin,
        &token,
        "Church of England",
        json!({"participant_id": person}),
    )
    .await;
    let declaration = |kind: &str, date: &str| {
        json!({"participant_id": person, "declaration_type": kind, "declaration_date": date,
               "course_identifier": "npq-headship", "has_passed": true})
    };
    ok(&declare(
        &app,
        "v3",
        &token,
        declaration("started", "2022-12-01T10:00:00Z"),
    )
    .await);
    ok(&declare(
        &app,
        "v3",
        &token,
        declaration("completed", "2023-06-01T10:00:00Z"),
    )
    .await);

    for version in VERSIONS {
        for path in [
            format!("/api/{version}/participants/npq/outcomes"),
            format!("/api/{version}/participants/npq/{person}/outcomes"),
        ] {
            let outcomes = ok(&app.get(&path, Some(&token)).await);
            assert_eq!(
                outcomes[0]["attributes"]["completion_date"], "2023-06-01T00:00:00+00:00",
                "{path}"
            );
        }
        let path = format!("/api/{version}/participants/npq/{person}/outcomes");
        let body = json!({"data": {"type": "npq-outcome-confirmation", "attributes": {"course_identifier": "npq-headship", "state": "failed", "completion_date": "2023-06-02"}}});
        let recorded = ok(&app.post(&path, Some(&token), &body.to_string()).await);
        assert_eq!(
            recorded["attributes"]["completion_date"],
            "2023-06-02T00:00:00+00:00"
        );
    }
}

#[sqlx::test]
async fn a_twice_encoded_updated_since_is_decoded_and_a_date_alone_is_refused(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let admin = app.staff_token(Role::Admin).await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;
    ok(&app.declare(&school.token, started(participant)).await);
    let application = Uuid::new_v4().to_string();
    let body = json!({"data": {"type": "npq-application", "attributes": {
        "id": application, "full_name": "Sam Lee", "email": "sam@example.com", "cohort": 2022,
        "course_identifier": "npq-headship", "lead_provider": "Teach First"}}});
    let applied = app
        .post("/admin/npq-applications", Some(&admin), &body.to_string())
        .await;
    assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.text);
    let twice = "1980-01-01T00%253A00%253A00%252B01%253A00";
    let bad_date = json!({"errors": [{"title": "Bad request", "detail": "The filter '#/updated_since' must be a valid RCF3339 date"}]});

    for version in VERSIONS {
        for resource in [
            "npq-applications",
            "participant-declarations",
            "participants/ecf",
            "participants/npq",
        ] {
            let path = format!("/api/{version}/{resource}?filter[updated_since]={twice}");
            let listed = ok(&app.get(&path, Some(&school.token)).await);
            if resource != "participants/npq" {
                assert_eq!(listed.as_array().unwrap().len(), 1, "{path}");
            }
            let path = format!("/api/{version}/{resource}?filter[updated_since]=2023-07-12");
            let refused = app.get(&path, Some(&school.token)).await;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{path}");
            assert_eq!(refused.json(), bad_date, "{path}");
        }
    }
    let path = format!("/api/v3/npq-applications?filter[updated_since]={twice}");
    let listed = ok(&app.get(&path, Some(&school.token)).await);
    assert_eq!(listed[0]["id"], application.as_str());
}

#[sqlx::test]
async fn schools_of_a_cohort_that_does_not_exist_are_none(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    app.school("100002", true, false).await;

    let existing = ok(&app
        .get(
            "/api/v3/schools/ecf?filter[cohort]=2022",
            Some(&school.token),
        )
        .await);
    let missing = ok(&app
        .get(
            "/api/v3/schools/ecf?filter[cohort]=3100",
            Some(&school.token),
        )
        .await);

    assert_eq!(existing.as_array().unwrap().len(), 2);
    assert_eq!(missing, json!([]));
    let id = existing[0]["id"].as_str().unwrap();
    let shown = app
        .get(
            &format!("/api/v3/schools/ecf/{id}?filter[cohort]=3100"),
            Some(&school.token),
        )
        .await;
    assert_eq!(shown.status, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn delivery_partners_sort_by_name(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (provider, token) = app.provider("Teach First").await;
    for name in ["Beta Partners", "Charlie Partners", "Alpha Partners"] {
        let partner = DeliveryPartner { name: name.into() };
        let id = aggregates::DeliveryPartnerId::from_name(name);
        app.record(partner).await;
        app.relationship(provider, id, 2022).await;
    }
    let names = |data: &Value| -> Vec<String> {
        data.as_array()
            .unwrap()
            .iter()
            .map(|p| p["attributes"]["name"].as_str().unwrap().to_owned())
            .collect()
    };

    let ascending = ok(&app
        .get("/api/v3/delivery-partners?sort=name", Some(&token))
        .await);
    let descending = ok(&app
        .get("/api/v3/delivery-partners?sort=-name", Some(&token))
        .await);
    let created = ok(&app
        .get("/api/v3/delivery-partners?sort=-created_at", Some(&token))
        .await);

    assert_eq!(
        names(&ascending),
        ["Alpha Partners", "Beta Partners", "Charlie Partners"]
    );
    assert_eq!(
        names(&descending),
        ["Charlie Partners", "Beta Partners", "Alpha Partners"]
    );
    assert_eq!(
        names(&created),
        ["Alpha Partners", "Charlie Partners", "Beta Partners"]
    );
}

#[sqlx::test]
async fn an_unvalidated_trn_is_not_shown_on_the_npq_participant(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let admin = app.staff_token(Role::Admin).await;
    let token = provider_delivering(&app, "Church of England", false, true).await;
    let unvalidated = Uuid::new_v4().to_string();
    let validated = Uuid::new_v4().to_string();
    enrol(
        &app,
        &admin,
        &token,
        "Church of England",
        json!({"participant_id": unvalidated, "teacher_reference_number": "1234567"}),
    )
    .await;
    enrol(&app, &admin, &token, "Church of England", json!({"participant_id": validated, "teacher_reference_number": "7654321", "teacher_reference_number_validated": true, "email": "kim@example.com"})).await;

    for version in VERSIONS {
        let path = format!("/api/{version}/participants/npq/{unvalidated}");
        let shown = ok(&app.get(&path, Some(&token)).await);
        assert_eq!(
            shown["attributes"]["teacher_reference_number"],
            Value::Null,
            "{path}"
        );
        let path = format!("/api/{version}/participants/npq/{validated}");
        let shown = ok(&app.get(&path, Some(&token)).await);
        assert_eq!(shown["attributes"]["teacher_reference_number"], "7654321");
    }
    let application = ok(&app.get("/api/v3/npq-applications", Some(&token)).await);
    assert!(
        application
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["attributes"]["teacher_reference_number"] == "1234567"),
        "the application still shows what the applicant sent"
    );
}

#[sqlx::test]
async fn npq_only_providers_are_forbidden_ecf_only_endpoints(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    app.ecf_school("Teach First", "100001", 2022).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;
    let token = provider_delivering(&app, "Church of England", false, true).await;
    let id = Uuid::new_v4();
    let mut refused = vec![
        (Method::GET, "/api/v3/participants/ecf/transfers".to_owned()),
        (
            Method::GET,
            format!("/api/v3/participants/ecf/{id}/transfers"),
        ),
        (Method::GET, "/api/v3/unfunded-mentors/ecf".to_owned()),
        (Method::GET, format!("/api/v3/unfunded-mentors/ecf/{id}")),
        (
            Method::GET,
            "/api/v3/schools/ecf?filter[cohort]=2022".to_owned(),
        ),
        (
            Method::GET,
            format!("/api/v3/schools/ecf/{id}?filter[cohort]=2022"),
        ),
        (Method::GET, "/api/v3/delivery-partners".to_owned()),
        (Method::GET, format!("/api/v3/delivery-partners/{id}")),
        (Method::GET, "/api/v3/partnerships/ecf".to_owned()),
        (Method::GET, format!("/api/v3/partnerships/ecf/{id}")),
        (Method::POST, "/api/v3/partnerships/ecf".to_owned()),
        (Method::PUT, format!("/api/v3/partnerships/ecf/{id}")),
        (Method::GET, "/api/v1/participants".to_owned()),
        (
            Method::PUT,
            format!("/api/v1/participants/{participant}/defer"),
        ),
    ];
    for version in VERSIONS {
        refused.push((Method::GET, format!("/api/{version}/participants/ecf")));
        refused.push((
            Method::GET,
            format!("/api/{version}/participants/ecf/{participant}"),
        ));
        for action in ["defer", "resume", "withdraw", "change-schedule"] {
            refused.push((
                Method::PUT,
                format!("/api/{version}/participants/ecf/{participant}/{action}"),
            ));
        }
    }
    for version in ["v1", "v2"] {
        refused.push((Method::GET, format!("/api/{version}/participants/ecf.csv")));
    }
    let body = json!({"data": {"attributes": {"course_identifier": "ecf-induction", "reason": "career-break"}}});

    for (method, path) in refused {
        let response = app
            .request(method.clone(), &path, Some(&token), Some(body.to_string()))
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(response.text, "", "{method} {path}");
    }
    for version in VERSIONS {
        for path in [
            "participant-declarations",
            "participants/npq",
            "npq-applications",
            "participants/npq/outcomes",
        ] {
            let path = format!("/api/{version}/{path}");
            assert_eq!(ok(&app.get(&path, Some(&token)).await), json!([]), "{path}");
        }
    }
}

#[sqlx::test]
async fn the_npq_capability_is_checked_before_the_body(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let token = provider_delivering(&app, "Capita", true, false).await;
    let id = Uuid::new_v4();

    for version in VERSIONS {
        for body in [json!({}), json!({"course_identifier": "npq-headship"})] {
            let path = format!("/api/{version}/participants/npq/{id}/change-schedule");
            let response = app.put(&path, Some(&token), body).await;
            assert_eq!(response.status, StatusCode::FORBIDDEN, "{path}");
            assert_eq!(response.text, "");
        }
        let path = format!("/api/{version}/participants/npq/{id}/withdraw");
        let response = app
            .request(Method::PUT, &path, Some(&token), Some("{not json".into()))
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{path}");
    }
}
