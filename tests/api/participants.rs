//! `/api/v3/participants/ecf` and the provider's actions on participants.

use aggregates::course::ParticipantType;
use axum::http::StatusCode;
use cpd_ledger::flows::school::NewParticipant;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{EcfSchool, TestApp, ect};

async fn world(app: &TestApp) -> EcfSchool {
    app.schedules().await;
    app.ecf_school("Teach First", "100001", 2022).await
}

fn action(course: &str, reason: Option<&str>) -> Value {
    match reason {
        Some(reason) => json!({"course_identifier": course, "reason": reason}),
        None => json!({"course_identifier": course}),
    }
}

#[sqlx::test]
async fn a_participant_has_the_spec_shape(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let school = world(&app).await;
    let (participant, record) = app.participant(ect("100001", "Jane Smith")).await;

    let response = app
        .get(
            &format!("/api/v3/participants/ecf/{participant}"),
            Some(&school.token),
        )
        .await;

    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    let data = response.json()["data"].clone();
    assert_eq!(data["type"], "participant");
    assert_eq!(data["id"], participant.to_string());
    let attributes = &data["attributes"];
    assert_eq!(attributes["full_name"], "Jane Smith");
    assert_eq!(attributes["teacher_reference_number"], Value::Null);
    let enrolment = &attributes["ecf_enrolments"][0];
    let created_at = enrolment["created_at"].clone();
    assert_eq!(
        enrolment,
        &json!({
            "training_record_id": record.to_string(),
            "email": "jane.smith@example.com",
            "mentor_id": null,
            "school_urn": "100001",
            "participant_type": "ect",
            "cohort": "2022",
            "training_status": "active",
            "participant_status": "active",
            "teacher_reference_number_validated": false,
            "eligible_for_funding": true,
            "pupil_premium_uplift": true,
            "sparsity_uplift": false,
            "schedule_identifier": "ecf-standard-september",
            "delivery_partner_id": school.delivery_partner.to_string(),
            "withdrawal": null,
            "deferral": null,
            "created_at": created_at,
        })
    );
}

#[sqlx::test]
async fn an_ect_who_is_also_a_mentor_is_one_participant_with_two_enrolments(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let school = world(&app).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;
    let mentor = NewParticipant {
        participant_id: Some(participant),
        participant_type: ParticipantType::Mentor,
        ..ect("100001", "Jane Smith")
    };
    app.participant(mentor).await;
    let (sam, _) = app.participant(ect("100001", "Sam Lee")).await;

    let list = app
        .get("/api/v3/participants/ecf", Some(&school.token))
        .await
        .json();

    let people = list["data"].as_array().unwrap();
    let nested: Vec<(&str, Vec<&str>)> = people
        .iter()
        .map(|person| {
            let types = person["attributes"]["ecf_enrolments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["participant_type"].as_str().unwrap())
                .collect();
            (person["id"].as_str().unwrap(), types)
        })
        .collect();
    let (jane, sam) = (participant.to_string(), sam.to_string());
    assert_eq!(
        nested,
        [
            (jane.as_str(), vec!["ect", "mentor"]),
            (sam.as_str(), vec!["ect"])
        ]
    );
}

#[sqlx::test]
async fn another_providers_participant_is_not_listed_or_found(pool: PgPool) {
    let app = TestApp::new(pool).await;
    world(&app).await;
    let other = app.ecf_school("Capita", "100002", 2022).await;
    let (participant, _) = app.participant(ect("100001", "Jane Smith")).await;

    assert_eq!(
        app.get("/api/v3/participants/ecf", Some(&other.token))
            .await
            .json()["data"],
        json!([])
    );
    let shown = app
        .get(
            &format!("/api/v3/participants/ecf/{participant}"),
            Some(&other.token),
        )
        .await;
    assert_eq!(shown.status, StatusCode::NOT_FOUND);
    let deferred = app
        .put(
            &format!("/api/v3/participants/ecf/{participant}/defer"),
            Some(&other.token),
            action("ecf-induction", Some("career-break")),
        )
        .await;
    assert_eq!(deferred.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(deferred.json()["errors"][0]["title"], "participant_id");
}

#[sqlx::test]
async fn the_list_filters_by_cohort_training_status_and_update(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let school = world(&app).await;
    let (jane, _) = app.participant(ect("100001", "Jane Smith")).await;
    app.participant(ect("100001", "Sam Lee")).await;
    app.put(
        &format!("/api/v3/participants/ecf/{jane}/defer"),
        Some(&school.token),
        action("ecf-induction", Some("parental-leave")),
    )
    .await;
    let count = |query: &'static str| {
        let (app, token) = (&app, school.token.clone());
        async move {
            let response = app
                .get(&format!("/api/v3/participants/ecf?{query}"), Some(&token))
                .await;
            response.json()["data"].as_array().map(Vec::len)
        }
    };

    assert_eq!(count("filter[cohort]=2022").await, Some(2));
    assert_eq!(count("filter[cohort]=2021,2023").await, Some(0));
    assert_eq!(count("filter[training_status]=deferred").await, Some(1));
    assert_eq!(count("filter[training_status]=active").await, Some(1));
    assert_eq!(
        count("filter[updated_since]=2999-01-01T00:00:00Z").await,
        Some(0)
    );
    assert_eq!(count("page[per_page]=1").await, Some(1));
    let bad = app
        .get(
            "/api/v3/participants/ecf?filter[training_status]=resting",
            Some(&school.token),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json()["errors"][0]["detail"],
        r#"The filter '#/training_status' must be ["active", "deferred", "withdrawn"]"#
    );
}

#[sqlx::test]
async fn defer_resume_and_withdraw_follow_the_training_status_rules(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let school = world(&app).await;
    let (jane, _) = app.participant(ect("100001", "Jane Smith")).await;
    let path = |verb: &str| format!("/api/v3/participants/ecf/{jane}/{verb}");
    let token = Some(school.token.as_str());

    let deferred = app
        .put(
            &path("defer"),
            token,
            action("ecf-induction", Some("career-break")),
        )
        .await;
    let enrolment = deferred.json()["data"]["attributes"]["ecf_enrolments"][0].clone();
    assert_eq!(enrolment["training_status"], "deferred");
    assert_eq!(enrolment["deferral"]["reason"], "career-break");
    let again = app
        .put(
            &path("defer"),
            token,
            action("ecf-induction", Some("career-break")),
        )
        .await;
    assert_eq!(
        again.json()["errors"],
        json!([{"title": "participant_profile", "detail": "The participant is already deferred"}])
    );

    let resumed = app
        .put(&path("resume"), token, action("ecf-induction", None))
        .await;
    assert_eq!(
        resumed.json()["data"]["attributes"]["ecf_enrolments"][0]["training_status"],
        "active"
    );
    assert_eq!(
        resumed.json()["data"]["attributes"]["ecf_enrolments"][0]["deferral"],
        Value::Null
    );

    let withdrawn = app
        .put(
            &path("withdraw"),
            token,
            action("ecf-induction", Some("moved-school")),
        )
        .await;
    let enrolment = withdrawn.json()["data"]["attributes"]["ecf_enrolments"][0].clone();
    assert_eq!(enrolment["training_status"], "withdrawn");
    assert_eq!(enrolment["participant_status"], "withdrawn");
    assert_eq!(enrolment["withdrawal"]["reason"], "moved-school");
    let resume = app
        .put(&path("resume"), token, action("ecf-induction", None))
        .await;
    assert_eq!(
        resume.json()["errors"],
        json!([{"title": "participant_profile", "detail": "The participant is already withdrawn"}])
    );
}

#[sqlx::test]
async fn actions_check_the_course_and_reason_first(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let school = world(&app).await;
    let (jane, _) = app.participant(ect("100001", "Jane Smith")).await;
    let path = format!("/api/v3/participants/ecf/{jane}/withdraw");

    let nothing = app.put(&path, Some(&school.token), json!({})).await;
    let bad_reason = app
        .put(
            &path,
            Some(&school.token),
            action("ecf-induction", Some("bored")),
        )
        .await;
    let wrong_course = app
        .put(
            &path,
            Some(&school.token),
            action("ecf-mentor", Some("other")),
        )
        .await;

    assert_eq!(
        nothing.json()["errors"],
        json!([
            {"title": "course_identifier", "detail": "The entered '#/course_identifier' is not recognised for the given participant. Check details and try again., Enter a '#/course_identifier' value for this participant."},
        ])
    );
    assert_eq!(
        bad_reason.json()["errors"],
        json!([{"title": "reason", "detail": "The property '#/reason' must be a valid reason"}])
    );
    assert_eq!(
        wrong_course.json()["errors"][0]["title"],
        "course_identifier"
    );
}

#[sqlx::test]
async fn a_schedule_change_moves_the_participant_within_its_cohort(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let school = world(&app).await;
    let (jane, _) = app.participant(ect("100001", "Jane Smith")).await;
    let path = format!("/api/v3/participants/ecf/{jane}/change-schedule");
    let change = |schedule: &str, cohort: Value| json!({"course_identifier": "ecf-induction", "schedule_identifier": schedule, "cohort": cohort});

    let moved = app
        .put(
            &path,
            Some(&school.token),
            change("ecf-standard-january", json!("2022")),
        )
        .await;
    let same = app
        .put(
            &path,
            Some(&school.token),
            change("ecf-standard-january", json!(2022)),
        )
        .await;
    let other_cohort = app
        .put(
            &path,
            Some(&school.token),
            change("ecf-standard-september", json!("2021")),
        )
        .await;
    let unknown = app
        .put(
            &path,
            Some(&school.token),
            change("ecf-standard-never", json!("2022")),
        )
        .await;

    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(
        moved.json()["data"]["attributes"]["ecf_enrolments"][0]["schedule_identifier"],
        "ecf-standard-january"
    );
    assert_eq!(
        same.json()["errors"],
        json!([{"title": "schedule_identifier", "detail": "Selected schedule is already on the profile"}])
    );
    assert_eq!(
        other_cohort.json()["errors"],
        json!([{"title": "cohort", "detail": "The property '#/cohort' cannot be changed"}])
    );
    assert_eq!(unknown.json()["errors"][0]["title"], "schedule_identifier");
}

#[sqlx::test]
async fn a_schedule_change_may_not_strand_a_live_declaration(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let school = world(&app).await;
    let (jane, _) = app.participant(ect("100001", "Jane Smith")).await;
    let declared = app
        .declare(&school.token, crate::helpers::started(jane))
        .await;
    assert_eq!(declared.status, StatusCode::OK);

    let response = app
        .put(
            &format!("/api/v3/participants/ecf/{jane}/change-schedule"),
            Some(&school.token),
            json!({"course_identifier": "ecf-induction", "schedule_identifier": "ecf-standard-april", "cohort": "2022"}),
        )
        .await;

    assert_eq!(
        response.json()["errors"],
        json!([{"title": "schedule_identifier", "detail": "Changing schedule would invalidate existing declarations. Please void them first."}])
    );
}
