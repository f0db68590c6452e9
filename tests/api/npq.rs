//! NPQ: applications (accept, reject and their side effects), enrolments, declarations and
//! outcomes, through the v3 API.

use aggregates::reference::LeadProvider;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use cpd_ledger::auth::{self, Role};
use futures::future::join_all;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{TestApp, TestResponse, ect, eventually, hold_writes_to};

const NOT_RECOGNISED_COURSE: &str = "The entered '#/course_identifier' is not recognised for the given participant. Check details and try again.";

/// A sandbox-dated service with the reference schedules, an NPQ-and-ECF provider, an NPQ-only
/// provider and an admin.
pub(crate) struct World {
    pub(crate) app: TestApp,
    pub(crate) admin: String,
    pub(crate) ambition: String,
    church: String,
}

pub(crate) async fn world(pool: PgPool) -> World {
    world_on(TestApp::new(pool).await).await
}

async fn world_on(app: TestApp) -> World {
    app.schedules().await;
    let (_, ambition) = app.provider("Ambition Institute").await;
    let church = provider_token(&app, "Church of England", true).await;
    let admin = app.staff_token(Role::Admin).await;
    World {
        app,
        admin,
        ambition,
        church,
    }
}

/// Registers a provider that delivers only ECF (`npq: false`) or only NPQ, with a token.
async fn provider_token(app: &TestApp, name: &str, npq: bool) -> String {
    app.record(LeadProvider {
        name: name.into(),
        ecf: !npq,
        npq,
    })
    .await;
    let id = aggregates::LeadProviderId::from_name(name);
    auth::create_token(&app.pool, Role::LeadProvider, Some(id), "test")
        .await
        .unwrap()
        .token
}

impl World {
    /// Sends an application through the admin API; returns its id.
    pub(crate) async fn apply(&self, attributes: Value) -> String {
        let mut attributes = attributes;
        let defaults = json!({
            "full_name": "Sam Lee",
            "email": "sam@example.com",
            "cohort": 2022,
            "course_identifier": "npq-headship",
            "lead_provider": "Ambition Institute",
            "eligible_for_funding": true,
            "school_urn": "100001",
            "headteacher_status": "no",
            "funding_choice": "school",
            "teacher_catchment": "england",
        });
        for (key, value) in defaults.as_object().unwrap() {
            attributes
                .as_object_mut()
                .unwrap()
                .entry(key)
                .or_insert(value.clone());
        }
        let body = json!({"data": {"type": "npq-application", "attributes": attributes}});
        let response = self
            .app
            .post(
                "/admin/npq-applications",
                Some(&self.admin),
                &body.to_string(),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
        response.json()["data"]["id"].as_str().unwrap().to_owned()
    }

    async fn post_at(
        &self,
        path: &str,
        token: &str,
        now: &str,
        body: Option<Value>,
    ) -> TestResponse {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("Authorization", format!("Bearer {token}"))
            .header("X-With-Server-Date", now)
            .header("Content-Type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        self.app.send(request).await
    }

    pub(crate) async fn accept(&self, id: &str, token: &str) -> TestResponse {
        let path = format!("/api/v3/npq-applications/{id}/accept");
        self.app.post(&path, Some(token), "").await
    }

    async fn reject(&self, id: &str, token: &str) -> TestResponse {
        let path = format!("/api/v3/npq-applications/{id}/reject");
        self.app.post(&path, Some(token), "").await
    }

    async fn declare(
        &self,
        token: &str,
        participant: &str,
        kind: &str,
        extra: Value,
    ) -> TestResponse {
        let mut attributes = json!({
            "participant_id": participant,
            "declaration_type": kind,
            "declaration_date": "2022-12-01T10:00:00Z",
            "course_identifier": "npq-headship",
        });
        for (key, value) in extra.as_object().unwrap() {
            attributes[key] = value.clone();
        }
        self.app.declare(token, attributes).await
    }
}

fn ok(response: &TestResponse) -> Value {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.json()["data"].clone()
}

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

#[sqlx::test]
async fn an_application_has_the_spec_shape_and_only_npq_providers_see_applications(pool: PgPool) {
    let w = &world(pool).await;
    let participant = Uuid::new_v4();
    let id = w
        .apply(json!({
            "participant_id": participant,
            "teacher_reference_number": "1234567",
            "teacher_reference_number_validated": true,
            "targeted_delivery_funding_eligibility": true,
        }))
        .await;

    let listed = ok(&w
        .app
        .get("/api/v3/npq-applications", Some(&w.ambition))
        .await);
    let shown = ok(&w
        .app
        .get(&format!("/api/v3/npq-applications/{id}"), Some(&w.ambition))
        .await);

    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0], shown);
    assert_eq!(shown["type"], "npq_application");
    let attributes = &shown["attributes"];
    let created_at = attributes["created_at"].clone();
    assert_eq!(
        attributes,
        &json!({
            "participant_id": participant.to_string(),
            "full_name": "Sam Lee",
            "email": "sam@example.com",
            "email_validated": true,
            "teacher_reference_number": "1234567",
            "teacher_reference_number_validated": true,
            "works_in_school": true,
            "employer_name": null,
            "employment_role": null,
            "school_urn": "100001",
            "private_childcare_provider_urn": null,
            "school_ukprn": null,
            "headteacher_status": "no",
            "eligible_for_funding": true,
            "funding_choice": "school",
            "course_identifier": "npq-headship",
            "status": "pending",
            "created_at": created_at,
            "updated_at": created_at,
            "ineligible_for_funding_reason": null,
            "cohort": "2022",
            "targeted_delivery_funding_eligibility": true,
            "teacher_catchment": true,
            "teacher_catchment_country": null,
            "teacher_catchment_iso_country_code": null,
            "lead_mentor": null,
            "itt_provider": null,
        })
    );
    // Another provider's application is not found; a provider without NPQ is refused.
    assert_eq!(
        w.app
            .get(&format!("/api/v3/npq-applications/{id}"), Some(&w.church))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let capita = provider_token(&w.app, "Capita", false).await;
    let refused = w.app.get("/api/v3/npq-applications", Some(&capita)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let filtered = w
        .app
        .get(
            "/api/v3/npq-applications?filter[cohort]=2021,2023",
            Some(&w.ambition),
        )
        .await;
    assert_eq!(ok(&filtered), json!([]));
    let by_person = w
        .app
        .get(
            &format!("/api/v3/npq-applications?filter[participant_id]={participant}"),
            Some(&w.ambition),
        )
        .await;
    assert_eq!(ok(&by_person).as_array().unwrap().len(), 1);
}

#[sqlx::test]
async fn accepting_enrols_on_the_schedule_for_the_day_and_rejects_the_persons_other_applications(
    pool: PgPool,
) {
    let w = &world(pool).await;
    let person = Uuid::new_v4();
    let mine = w.apply(json!({"participant_id": person})).await;
    let elsewhere = w
        .apply(json!({"participant_id": person, "lead_provider": "Church of England"}))
        .await;
    let next_year = w
        .apply(
            json!({"participant_id": person, "lead_provider": "Church of England", "cohort": 2023}),
        )
        .await;

    let accepted = w
        .post_at(
            &format!("/api/v3/npq-applications/{mine}/accept"),
            &w.ambition,
            "2023-02-01T10:00:00Z",
            None,
        )
        .await;

    assert_eq!(ok(&accepted)["attributes"]["status"], "accepted");
    let enrolled = ok(&w
        .app
        .get(
            &format!("/api/v3/participants/npq/{person}"),
            Some(&w.ambition),
        )
        .await);
    let enrolment = &enrolled["attributes"]["npq_enrolments"][0];
    assert_eq!(enrolment["schedule_identifier"], "npq-leadership-spring");
    assert_eq!(enrolment["cohort"], "2022");
    assert_eq!(enrolment["npq_application_id"], mine);
    assert_eq!(enrolment["training_status"], "active");
    let other = |id: &str| {
        let path = format!("/api/v3/npq-applications/{id}");
        let token = w.church.clone();
        async move { ok(&w.app.get(&path, Some(&token)).await)["attributes"]["status"].clone() }
    };
    assert_eq!(
        other(&elsewhere).await,
        "rejected",
        "same course and cohort"
    );
    assert_eq!(other(&next_year).await, "pending", "another cohort");

    assert_eq!(
        errors(&w.accept(&mine, &w.ambition).await),
        error(
            "npq_application",
            "This NPQ application has already been accepted"
        )
    );
    assert_eq!(
        errors(&w.reject(&mine, &w.ambition).await),
        error(
            "npq_application",
            "Once accepted an application cannot change state"
        )
    );
    assert_eq!(
        errors(&w.accept(&elsewhere, &w.church).await),
        error(
            "npq_application",
            "Once rejected an application cannot change state"
        )
    );
    assert_eq!(
        errors(&w.reject(&elsewhere, &w.church).await),
        error(
            "npq_application",
            "This NPQ application has already been rejected"
        )
    );
    assert_eq!(
        errors(&w.accept(&next_year, &w.church).await),
        error(
            "npq_application",
            "The participant has already had an application accepted for this course."
        )
    );
    assert_eq!(
        w.accept(&mine, &w.church).await.status,
        StatusCode::NOT_FOUND,
        "only the caller's applications"
    );
}

#[sqlx::test]
async fn aso_and_ehco_are_one_course_and_a_funded_place_makes_the_next_previously_funded(
    pool: PgPool,
) {
    let w = &world(pool).await;
    let person = Uuid::new_v4();
    let aso = w
        .apply(json!({"participant_id": person, "course_identifier": "npq-additional-support-offer", "cohort": 2021}))
        .await;
    let ehco = w
        .apply(json!({
            "participant_id": person,
            "course_identifier": "npq-early-headship-coaching-offer",
            "lead_provider": "Church of England",
        }))
        .await;
    let unfunded = w
        .apply(json!({"course_identifier": "npq-leading-literacy", "eligible_for_funding": false}))
        .await;

    let accepted = ok(&w.accept(&aso, &w.ambition).await);

    assert_eq!(accepted["attributes"]["eligible_for_funding"], true);
    let twin = ok(&w
        .app
        .get(&format!("/api/v3/npq-applications/{ehco}"), Some(&w.church))
        .await);
    assert_eq!(twin["attributes"]["eligible_for_funding"], false);
    assert_eq!(
        twin["attributes"]["ineligible_for_funding_reason"],
        "previously-funded"
    );
    assert_eq!(
        errors(&w.accept(&ehco, &w.church).await),
        error(
            "npq_application",
            "The participant has already had an application accepted for this course."
        )
    );
    let unfunded = ok(&w
        .app
        .get(
            &format!("/api/v3/npq-applications/{unfunded}"),
            Some(&w.ambition),
        )
        .await);
    assert_eq!(
        unfunded["attributes"]["ineligible_for_funding_reason"],
        "establishment-ineligible"
    );
    let enrolled = ok(&w
        .app
        .get(
            &format!("/api/v3/participants/npq/{person}"),
            Some(&w.ambition),
        )
        .await);
    assert_eq!(
        enrolled["attributes"]["npq_enrolments"][0]["schedule_identifier"],
        "npq-aso-december"
    );
}

#[sqlx::test]
async fn an_applicant_with_a_known_trn_merges_into_that_person_and_the_old_id_still_resolves(
    pool: PgPool,
) {
    let w = &world(pool).await;
    w.app.ecf_school("Teach First", "100009", 2022).await;
    let mut teacher = ect("100009", "Kim Known");
    teacher.trn = Some("7000001".into());
    teacher.trn_validated = true;
    let (known, _) = w.app.participant(teacher).await;
    let applicant = Uuid::new_v4();
    let id = w
        .apply(json!({
            "participant_id": applicant,
            "teacher_reference_number": "7000001",
            "teacher_reference_number_validated": true,
        }))
        .await;

    let accepted = ok(&w.accept(&id, &w.ambition).await);

    assert_eq!(accepted["attributes"]["participant_id"], known.to_string());
    let by_old_id = ok(&w
        .app
        .get(
            &format!("/api/v3/participants/npq/{applicant}"),
            Some(&w.ambition),
        )
        .await);
    assert_eq!(by_old_id["id"], known.to_string());
    let declared = w
        .declare(&w.ambition, &applicant.to_string(), "started", json!({}))
        .await;
    assert_eq!(
        ok(&declared)["attributes"]["participant_id"],
        known.to_string()
    );
}

#[sqlx::test]
async fn two_providers_accepting_the_same_persons_course_at_once_enrol_them_once(pool: PgPool) {
    let w = &world(pool).await;
    let person = Uuid::new_v4();
    let mine = w.apply(json!({"participant_id": person})).await;
    let theirs = w
        .apply(
            json!({"participant_id": person, "lead_provider": "Church of England", "cohort": 2023}),
        )
        .await;

    let responses = join_all((0..8).map(|i| {
        let (id, token) = match i % 2 {
            0 => (mine.clone(), w.ambition.clone()),
            _ => (theirs.clone(), w.church.clone()),
        };

        async move { w.accept(&id, &token).await }
    }))
    .await;

    let accepted = responses
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(accepted, 1, "exactly one acceptance wins");
    assert!(
        responses
            .iter()
            .all(|r| r.status == StatusCode::OK || r.status == StatusCode::UNPROCESSABLE_ENTITY)
    );
    let enrolled: i64 =
        sqlx::query_scalar("select count(*) from npq_applications where status = 'accepted'")
            .fetch_one(&w.app.pool)
            .await
            .unwrap();
    assert_eq!(enrolled, 1);
}

#[sqlx::test]
async fn enrolments_defer_resume_withdraw_and_change_schedule_by_the_npq_rules(pool: PgPool) {
    let w = &world(pool).await;
    let person = Uuid::new_v4().to_string();
    let id = w
        .apply(json!({"participant_id": person, "lead_provider": "Church of England", "course_identifier": "npq-senior-leadership"}))
        .await;
    ok(&w.accept(&id, &w.church).await);
    let path = |action: &str| format!("/api/v3/participants/npq/{person}/{action}");
    let act = |action: &'static str, attributes: Value| {
        let path = path(action);
        let token = w.church.clone();
        async move { w.app.put(&path, Some(&token), attributes).await }
    };
    let course = "npq-senior-leadership";

    assert_eq!(
        errors(
            &act(
                "defer",
                json!({"course_identifier": course, "reason": "career-break"})
            )
            .await
        ),
        error(
            "participant_profile",
            "You cannot defer an NPQ participant that has no declarations"
        )
    );
    assert_eq!(
        errors(
            &act(
                "withdraw",
                json!({"course_identifier": course, "reason": "other"})
            )
            .await
        ),
        error(
            "participant_profile",
            "An NPQ participant who has not got a started declaration cannot be withdrawn. Please contact support for assistance"
        )
    );
    assert_eq!(
        errors(
            &act(
                "withdraw",
                json!({"course_identifier": course, "reason": "moved-school"})
            )
            .await
        ),
        error("reason", "The property '#/reason' must be a valid reason")
    );
    assert_eq!(
        errors(&act("defer", json!({"reason": "career-break"})).await),
        error(
            "course_identifier",
            "The entered '#/course_identifier' is not recognised for the given participant. Check details and try again., Enter a '#/course_identifier' value for this participant."
        )
    );
    let started = w
        .declare(
            &w.church,
            &person,
            "started",
            json!({"course_identifier": course, "declaration_date": "2023-02-01T10:00:00Z"}),
        )
        .await;
    ok(&started);

    let deferred = ok(&act(
        "defer",
        json!({"course_identifier": course, "reason": "career-break"}),
    )
    .await);
    let enrolment = deferred["attributes"]["npq_enrolments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["course_identifier"] == course)
        .unwrap()
        .clone();
    assert_eq!(enrolment["training_status"], "deferred");
    assert_eq!(enrolment["deferral"]["reason"], "career-break");
    assert_eq!(
        errors(
            &act(
                "defer",
                json!({"course_identifier": course, "reason": "career-break"})
            )
            .await
        ),
        error("participant_profile", "The participant is already deferred")
    );
    ok(&act("resume", json!({"course_identifier": course})).await);
    assert_eq!(
        errors(
            &act(
                "change-schedule",
                json!({"course_identifier": course, "schedule_identifier": "npq-leadership-spring", "cohort": 2023})
            )
            .await
        ),
        error("cohort", "The property '#/cohort' cannot be changed")
    );
    assert_eq!(
        errors(
            &act(
                "change-schedule",
                json!({"course_identifier": course, "schedule_identifier": "npq-specialist-spring", "cohort": 2022})
            )
            .await
        ),
        error("schedule_identifier", "Selected schedule is not valid for the course")
    );
    let moved = ok(&act(
        "change-schedule",
        json!({"course_identifier": course, "schedule_identifier": "npq-leadership-spring", "cohort": 2022}),
    )
    .await);
    assert_eq!(
        errors(
            &act(
                "change-schedule",
                json!({"course_identifier": course, "schedule_identifier": "npq-leadership-spring", "cohort": 2022})
            )
            .await
        ),
        error("schedule_identifier", "Selected schedule is already on the profile")
    );
    assert!(
        moved["attributes"]["npq_enrolments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["schedule_identifier"] == "npq-leadership-spring")
    );
    let withdrawn = ok(&act(
        "withdraw",
        json!({"course_identifier": course, "reason": "quality-of-programme-structure-not-suitable."}),
    )
    .await);
    let enrolment = withdrawn["attributes"]["npq_enrolments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["course_identifier"] == course)
        .unwrap()
        .clone();
    assert_eq!(
        enrolment["withdrawal"]["reason"],
        "quality-of-programme-structure-not-suitable."
    );
    assert_eq!(
        errors(&act("resume", json!({"course_identifier": course})).await),
        error(
            "participant_profile",
            "The participant is already withdrawn"
        )
    );
    assert_eq!(
        errors(
            &act(
                "change-schedule",
                json!({"course_identifier": course, "schedule_identifier": "npq-leadership-autumn", "cohort": 2022})
            )
            .await
        ),
        error(
            "participant_id",
            "Cannot perform actions on a withdrawn participant"
        )
    );
    let stranger = format!("/api/v3/participants/npq/{}/resume", Uuid::new_v4());
    assert_eq!(
        errors(
            &w.app
                .put(
                    &stranger,
                    Some(&w.church),
                    json!({"course_identifier": course})
                )
                .await
        ),
        error(
            "participant_id",
            "Your update cannot be made as the '#/participant_id' is not recognised. Check participant details and try again."
        )
    );
    let listed = ok(&w
        .app
        .get(
            "/api/v3/participants/npq?filter[training_status]=withdrawn",
            Some(&w.church),
        )
        .await);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["type"], "npq-participant");
}

#[sqlx::test]
async fn an_npq_only_provider_declares_and_records_outcomes_through_v3(pool: PgPool) {
    let w = &world(pool).await;
    let person = Uuid::new_v4().to_string();
    let id = w
        .apply(json!({
            "participant_id": person,
            "lead_provider": "Church of England",
            "targeted_delivery_funding_eligibility": true,
        }))
        .await;
    ok(&w.accept(&id, &w.church).await);

    let started = ok(&w.declare(&w.church, &person, "started", json!({})).await);
    assert_eq!(started["attributes"]["state"], "eligible");
    assert_eq!(started["attributes"]["course_identifier"], "npq-headship");
    assert_eq!(started["attributes"]["evidence_held"], Value::Null);
    let resent = ok(&w.declare(&w.church, &person, "started", json!({})).await);
    assert_eq!(
        resent["id"], started["id"],
        "an exact resend returns the declaration"
    );
    assert_eq!(
        errors(
            &w.declare(
                &w.church,
                &person,
                "completed",
                json!({"declaration_date": "2023-03-01T10:00:00Z"})
            )
            .await
        ),
        error(
            "has_passed",
            "Enter 'true' or 'false' in the '#/has_passed' field to indicate whether this participant has passed or failed their course."
        )
    );
    assert_eq!(
        errors(
            &w.declare(&w.ambition, &person, "retained-1", json!({}))
                .await
        ),
        error(
            "participant_id",
            "Your update cannot be made as the '#/participant_id' is not recognised. Check participant details and try again."
        ),
        "only the accepting provider declares"
    );
    let completed = ok(&w
        .declare(
            &w.church,
            &person,
            "completed",
            json!({"declaration_date": "2023-03-01T10:00:00Z", "has_passed": "true"}),
        )
        .await);
    assert_eq!(completed["attributes"]["has_passed"], true);

    let outcomes_path = format!("/api/v3/participants/npq/{person}/outcomes");
    let history = ok(&w.app.get(&outcomes_path, Some(&w.church)).await);
    assert_eq!(history.as_array().unwrap().len(), 1);
    assert_eq!(history[0]["type"], "participant-outcome");
    assert_eq!(history[0]["attributes"]["state"], "passed");
    assert_eq!(
        history[0]["attributes"]["completion_date"],
        "2023-03-01T00:00:00+00:00"
    );

    let outcome = |attributes: Value| {
        let body = json!({"data": {"type": "npq-outcome-confirmation", "attributes": attributes}});
        let (path, token) = (outcomes_path.clone(), w.church.clone());
        async move { w.app.post(&path, Some(&token), &body.to_string()).await }
    };
    let later = ok(&outcome(json!({"course_identifier": "npq-headship", "state": "failed", "completion_date": "2023-04-01"})).await);
    assert_eq!(later["attributes"]["state"], "failed");
    let again = ok(&outcome(json!({"course_identifier": "npq-headship", "state": "failed", "completion_date": "2023-04-01"})).await);
    assert_eq!(
        again["id"], later["id"],
        "an identical resend creates nothing"
    );
    assert_eq!(
        errors(&outcome(json!({"course_identifier": "npq-headship", "state": "voided", "completion_date": "2023-04-01"})).await),
        error(
            "state",
            "The attribute '#/state' can only include 'passed' or 'failed' values. If you need to void an outcome, you will need to void the associated 'completed' declaration."
        )
    );
    assert_eq!(
        errors(&outcome(json!({"course_identifier": "npq-headship", "state": "passed", "completion_date": "01/04/2023"})).await),
        error(
            "completion_date",
            "The '#/completion_date' value must be in the following format: 'yyyy-mm-dd'"
        )
    );
    assert_eq!(
        errors(&outcome(json!({"course_identifier": "npq-additional-support-offer", "state": "passed", "completion_date": "2023-04-01"})).await),
        error("course_identifier", NOT_RECOGNISED_COURSE)
    );
    assert_eq!(
        errors(&outcome(json!({"course_identifier": "npq-headship", "state": "passed", "completion_date": "2099-04-01"})).await),
        error(
            "Invalid action",
            "The attribute '#/completion_date' cannot contain a future date. Resubmit the outcome update with a valid date."
        )
    );

    let void_path = format!(
        "/api/v3/participant-declarations/{}/void",
        completed["id"].as_str().unwrap()
    );
    let voided = ok(&w.app.put(&void_path, Some(&w.church), json!({})).await);
    assert_eq!(voided["attributes"]["has_passed"], Value::Null);
    let history = ok(&w.app.get(&outcomes_path, Some(&w.church)).await);
    let states: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["attributes"]["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(states, ["passed", "failed", "voided"]);
    assert_eq!(
        errors(&outcome(json!({"course_identifier": "npq-headship", "state": "passed", "completion_date": "2023-04-01"})).await),
        error(
            "base",
            "The participant has not had a 'completed' declaration submitted for them. Therefore you cannot update their outcome."
        )
    );
    let all = ok(&w
        .app
        .get(
            "/api/v3/participants/npq/outcomes?filter[created_since]=2000-01-01T00:00:00Z",
            Some(&w.church),
        )
        .await);
    assert_eq!(all.as_array().unwrap().len(), 3);
    let others = ok(&w
        .app
        .get("/api/v3/participants/npq/outcomes", Some(&w.ambition))
        .await);
    assert_eq!(others, json!([]), "outcomes are the caller's own");
}

#[sqlx::test]
async fn accepting_outcomes_and_deferring_are_answered_from_their_commit_when_the_read_model_lags(
    pool: PgPool,
) {
    let app = TestApp::impatient(pool.clone()).await;
    let w = &world_on(app).await;
    let person = Uuid::new_v4().to_string();
    let stored = |id: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "select status || '/' || coalesce(training_status, '-') from npq_applications where id = $1::uuid",
            )
            .bind(id)
            .fetch_optional(&pool)
            .await
            .unwrap()
            .unwrap_or_default()
        }
    };

    // `apply` asserts `201 Created`: the new application is answered from its commit.
    let mut held = hold_writes_to(&pool, "npq_applications").await;
    let id = w
        .apply(json!({"participant_id": person, "lead_provider": "Church of England"}))
        .await;
    assert_eq!(
        stored(id.clone()).await,
        "",
        "the read model had not applied it"
    );
    sqlx::query("rollback").execute(&mut held).await.unwrap();
    eventually(|| async { stored(id.clone()).await == "pending/-" }).await;

    let mut held = hold_writes_to(&pool, "npq_applications").await;
    let accepted = ok(&w.accept(&id, &w.church).await);
    assert_eq!(accepted["attributes"]["status"], "accepted", "{accepted}");
    assert_eq!(
        stored(id.clone()).await,
        "pending/-",
        "the read model had not applied it when it answered"
    );
    sqlx::query("rollback").execute(&mut held).await.unwrap();
    eventually(|| async { stored(id.clone()).await == "accepted/active" }).await;
    ok(&w.declare(&w.church, &person, "started", json!({})).await);
    let completed = json!({"declaration_date": "2023-03-01T10:00:00Z", "has_passed": "true"});
    ok(&w.declare(&w.church, &person, "completed", completed).await);
    w.app.shown().await;

    let mut held = hold_writes_to(&pool, "npq_outcomes").await;
    let body = json!({"data": {"type": "npq-outcome-confirmation", "attributes": {
        "course_identifier": "npq-headship", "state": "failed", "completion_date": "2023-04-01"}}});
    let outcome = w
        .app
        .post(
            &format!("/api/v3/participants/npq/{person}/outcomes"),
            Some(&w.church),
            &body.to_string(),
        )
        .await;
    assert_eq!(
        ok(&outcome)["attributes"]["state"],
        "failed",
        "{}",
        outcome.text
    );
    let states: Vec<String> = sqlx::query_scalar("select state from npq_outcomes")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(states, ["passed"], "the read model had not applied it");
    sqlx::query("rollback").execute(&mut held).await.unwrap();

    let mut held = hold_writes_to(&pool, "npq_applications").await;
    let deferred = w
        .app
        .put(
            &format!("/api/v3/participants/npq/{person}/defer"),
            Some(&w.church),
            json!({"course_identifier": "npq-headship", "reason": "career-break"}),
        )
        .await;
    let enrolment = ok(&deferred)["attributes"]["npq_enrolments"][0].clone();
    assert_eq!(enrolment["training_status"], "deferred", "{enrolment}");
    assert_eq!(stored(id.clone()).await, "accepted/active");
    sqlx::query("rollback").execute(&mut held).await.unwrap();
    eventually(|| async { stored(id.clone()).await == "accepted/deferred" }).await;
    let shown = w
        .app
        .get(
            &format!("/api/v3/participants/npq/{person}"),
            Some(&w.church),
        )
        .await;
    assert_eq!(
        ok(&shown)["attributes"]["npq_enrolments"][0]["training_status"],
        "deferred"
    );
}
