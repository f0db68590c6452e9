//! v1 and v2: every endpoint's body against its spec, the filters that differ from v3, and the
//! deprecated v1 paths.

use axum::http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::started;
use crate::spec::{assert_fits, assert_matches};
use crate::versions::{ok, world};

/// What an ECF action answers: the participant as `GET participants/ecf/{id}` shows it. The
/// specs' separate defer, resume and withdraw response schemas omit `training_record_id` and
/// make the TRN fields non-nullable, unlike the service, which renders one serializer.
const RETURNED_PARTICIPANT: &str = "ECFParticipantResponse";

#[sqlx::test]
async fn ecf_participants_are_flat_one_item_per_training_record_as_in_the_specs(pool: PgPool) {
    let w = world(pool).await;
    let jane = w.ect("Jane Smith").await;
    w.also_mentor(jane).await;

    for version in ["v1", "v2"] {
        let list_path = format!("/api/{version}/participants/ecf");
        let list = w.get(&list_path).await;
        assert_matches(&list_path, "get", &list.json());
        let items = ok(&list);
        let kinds: Vec<_> = items
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                (
                    item["id"].clone(),
                    item["attributes"]["participant_type"].clone(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                (json!(jane.to_string()), json!("ect")),
                (json!(jane.to_string()), json!("mentor"))
            ],
            "one item per training record, ECT first"
        );
        let ect = &items[0]["attributes"];
        assert_eq!(ect["status"], "active");
        assert_eq!(ect["training_status"], "active");
        assert_eq!(ect["cohort"], "2022");
        assert_eq!(ect["school_urn"], "100001");
        assert_eq!(ect["email"], "jane.smith@example.com");
        assert_eq!(ect["teacher_reference_number_validated"], true);

        let one_path = format!("/api/{version}/participants/ecf/{{id}}");
        let one = w
            .get(&format!("/api/{version}/participants/ecf/{jane}"))
            .await;
        assert_matches(&one_path, "get", &one.json());
        assert_eq!(ok(&one), items[0], "show gives the ECT record");

        let (course, kind) = match version {
            "v1" => ("ecf-mentor", "mentor"),
            _ => ("ecf-induction", "ect"),
        };
        let withdraw = format!("/api/{version}/participants/ecf/{jane}/withdraw");
        let withdrawn = w
            .put(
                &withdraw,
                Some(json!({"course_identifier": course, "reason": "moved-school"})),
            )
            .await;
        assert_fits(version, RETURNED_PARTICIPANT, &withdrawn.json());
        let record = ok(&withdrawn);
        assert_eq!(
            record["attributes"]["participant_type"], kind,
            "the record acted on"
        );
        assert_eq!(record["attributes"]["status"], "withdrawn");
        assert_eq!(record["attributes"]["training_status"], "withdrawn");
    }
    let alias = w.get("/api/v1/participants").await;
    assert_eq!(alias.json(), w.get("/api/v1/participants/ecf").await.json());
    assert_eq!(
        w.get("/api/v2/participants").await.status,
        StatusCode::NOT_FOUND,
        "the alias is v1's only"
    );
}

#[sqlx::test]
async fn ecf_actions_and_the_deprecated_v1_paths_answer_in_the_spec_shape(pool: PgPool) {
    let w = world(pool).await;
    let jane = w.ect("Jane Smith").await;

    for (version, action, body) in [
        (
            "v1",
            "defer",
            json!({"course_identifier": "ecf-induction", "reason": "career-break"}),
        ),
        (
            "v2",
            "resume",
            json!({"course_identifier": "ecf-induction"}),
        ),
        (
            "v1",
            "change-schedule",
            json!({"course_identifier": "ecf-induction", "schedule_identifier": "ecf-standard-january", "cohort": 2022}),
        ),
    ] {
        let response = w
            .put(
                &format!("/api/{version}/participants/ecf/{jane}/{action}"),
                Some(body),
            )
            .await;
        assert_fits(version, RETURNED_PARTICIPANT, &response.json());
    }
    let deferred = w
        .put(
            &format!("/api/v1/participants/{jane}/defer"),
            Some(json!({"course_identifier": "ecf-induction", "reason": "parental-leave"})),
        )
        .await;
    assert_matches("/api/v1/participants/{id}/defer", "put", &deferred.json());
    assert_eq!(ok(&deferred)["attributes"]["training_status"], "deferred");
    let resumed = w
        .put(
            &format!("/api/v1/participants/{jane}/resume"),
            Some(json!({"course_identifier": "ecf-induction"})),
        )
        .await;
    assert_matches("/api/v1/participants/{id}/resume", "put", &resumed.json());
    assert_eq!(
        ok(&resumed)["attributes"]["schedule_identifier"],
        "ecf-standard-january"
    );
    let withdrawn = w
        .put(
            &format!("/api/v1/participants/{jane}/withdraw"),
            Some(json!({"course_identifier": "ecf-induction", "reason": "other"})),
        )
        .await;
    assert_matches(
        "/api/v1/participants/{id}/withdraw",
        "put",
        &withdrawn.json(),
    );
    assert_eq!(ok(&withdrawn)["attributes"]["status"], "withdrawn");
}

#[sqlx::test]
async fn declarations_have_each_versions_shape_and_filters(pool: PgPool) {
    let w = world(pool).await;
    let jane = w.ect("Jane Smith").await;
    let john = w.ect("John Smith").await;

    let first = w
        .post("/api/v1/participant-declarations", Some(started(jane)))
        .await;
    assert_matches("/api/v1/participant-declarations", "post", &first.json());
    let first = ok(&first);
    assert_eq!(first["attributes"]["eligible_for_payment"], true);
    assert_eq!(first["attributes"]["voided"], false);
    let second = w
        .post("/api/v2/participant-declarations", Some(started(john)))
        .await;
    assert_matches("/api/v2/participant-declarations", "post", &second.json());
    let second = ok(&second);
    assert!(second["attributes"].get("eligible_for_payment").is_none());

    for version in ["v1", "v2"] {
        let list_path = format!("/api/{version}/participant-declarations");
        let list = w.get(&list_path).await;
        assert_matches(&list_path, "get", &list.json());
        assert_eq!(ok(&list).as_array().unwrap().len(), 2);
        let one = w
            .get(&format!("{list_path}/{}", first["id"].as_str().unwrap()))
            .await;
        assert_matches(&format!("{list_path}/{{id}}"), "get", &one.json());

        let single = w
            .get(&format!("{list_path}?filter[participant_id]={jane}"))
            .await;
        assert_eq!(ok(&single).as_array().unwrap().len(), 1);
        let two = w
            .get(&format!("{list_path}?filter[participant_id]={jane},{john}"))
            .await;
        assert_eq!(ok(&two), json!([]), "v1 and v2 take one participant");
        let later = w
            .get(&format!(
                "{list_path}?filter[updated_since]=2999-01-01T00:00:00Z"
            ))
            .await;
        assert_eq!(ok(&later), json!([]));
        let bad = w
            .get(&format!("{list_path}?filter[updated_since]=soon"))
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    }
    let both = w
        .get(&format!(
            "/api/v3/participant-declarations?filter[participant_id]={jane},{john}"
        ))
        .await;
    assert_eq!(ok(&both).as_array().unwrap().len(), 2, "v3 takes a list");

    let voided = w
        .put(
            &format!(
                "/api/v1/participant-declarations/{}/void",
                first["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_matches(
        "/api/v1/participant-declarations/{id}/void",
        "put",
        &voided.json(),
    );
    let voided = ok(&voided);
    assert_eq!(voided["attributes"]["voided"], true);
    assert_eq!(voided["attributes"]["eligible_for_payment"], false);
    assert_eq!(voided["attributes"]["state"], "voided");
    let v2_void = w
        .put(
            &format!(
                "/api/v2/participant-declarations/{}/void",
                second["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_matches(
        "/api/v2/participant-declarations/{id}/void",
        "put",
        &v2_void.json(),
    );
}

#[sqlx::test]
async fn npq_endpoints_have_each_versions_shape(pool: PgPool) {
    let w = world(pool).await;
    let (pending, _) = w.apply("Ann Lee").await;
    let (accepted, sam) = w.apply("Sam Lee").await;

    for version in ["v1", "v2"] {
        let list_path = format!("/api/{version}/npq-applications");
        let list = w.get(&list_path).await;
        assert_matches(&list_path, "get", &list.json());
        let one = w.get(&format!("{list_path}/{pending}")).await;
        assert_matches(&format!("{list_path}/{{id}}"), "get", &one.json());
        let single = w.get(&format!("{list_path}?filter[cohort]=2022")).await;
        assert_eq!(ok(&single).as_array().unwrap().len(), 2);
        let listed = w
            .get(&format!("{list_path}?filter[cohort]=2021,2022"))
            .await;
        assert_eq!(ok(&listed), json!([]), "v1 and v2 take one cohort");
    }
    let both = w
        .get("/api/v3/npq-applications?filter[cohort]=2021,2022")
        .await;
    assert_eq!(ok(&both).as_array().unwrap().len(), 2, "v3 takes a list");

    let accept = w
        .post(&format!("/api/v1/npq-applications/{accepted}/accept"), None)
        .await;
    assert_matches(
        "/api/v1/npq-applications/{id}/accept",
        "post",
        &accept.json(),
    );
    let reject = w
        .post(&format!("/api/v2/npq-applications/{pending}/reject"), None)
        .await;
    assert_matches(
        "/api/v2/npq-applications/{id}/reject",
        "post",
        &reject.json(),
    );

    let v2 = w.get("/api/v2/participants/npq").await;
    assert_matches("/api/v2/participants/npq", "get", &v2.json());
    let v1 = w.get("/api/v1/participants/npq").await;
    assert_matches("/api/v1/participants/npq", "get", &v1.json());
    let person = &ok(&v1)[0]["attributes"];
    assert_eq!(person["participant_id"], json!(sam));
    assert_eq!(person["npq_courses"], json!(["npq-headship"]));
    let v2 = w.get(&format!("/api/v2/participants/npq/{sam}")).await;
    assert_matches("/api/v2/participants/npq/{id}", "get", &v2.json());
    let enrolment = &ok(&v2)["attributes"]["npq_enrolments"][0];
    assert_eq!(enrolment["npq_application_id"], json!(accepted));
    assert_eq!(enrolment["schedule_identifier"], "npq-leadership-autumn");
    let v1_one = w.get(&format!("/api/v1/participants/npq/{sam}")).await;
    assert_matches("/api/v1/participants/npq/{id}", "get", &v1_one.json());

    let declared = w
        .post(
            "/api/v2/participant-declarations",
            Some(json!({
                "participant_id": sam,
                "declaration_type": "started",
                "declaration_date": "2022-12-01T10:00:00Z",
                "course_identifier": "npq-headship",
            })),
        )
        .await;
    assert_matches("/api/v2/participant-declarations", "post", &declared.json());
    let deferred = w
        .put(
            &format!("/api/v1/participants/npq/{sam}/defer"),
            Some(json!({"course_identifier": "npq-headship", "reason": "career-break"})),
        )
        .await;
    assert_matches(
        "/api/v1/participants/npq/{id}/defer",
        "put",
        &deferred.json(),
    );
    let resumed = w
        .put(
            &format!("/api/v1/participants/{sam}/resume"),
            Some(json!({"course_identifier": "npq-headship"})),
        )
        .await;
    assert_eq!(
        ok(&resumed)["type"],
        "npq-participant",
        "the deprecated path runs the NPQ action for an NPQ course"
    );
    let withdrawn = w
        .put(
            &format!("/api/v2/participants/npq/{sam}/withdraw"),
            Some(json!({"course_identifier": "npq-headship", "reason": "personal-reason-other"})),
        )
        .await;
    assert_matches(
        "/api/v2/participants/npq/{id}/withdraw",
        "put",
        &withdrawn.json(),
    );
    assert_eq!(
        ok(&withdrawn)["attributes"]["npq_enrolments"][0]["training_status"],
        "withdrawn"
    );

    for version in ["v1", "v2"] {
        let outcomes = w
            .get(&format!("/api/{version}/participants/npq/outcomes"))
            .await;
        assert_matches(
            &format!("/api/{version}/participants/npq/outcomes"),
            "get",
            &outcomes.json(),
        );
    }
}

#[sqlx::test]
async fn outcomes_in_v1_and_v2_have_no_updated_at(pool: PgPool) {
    let w = world(pool).await;
    let (application, sam) = w.apply("Sam Lee").await;
    ok(&w
        .post(
            &format!("/api/v3/npq-applications/{application}/accept"),
            None,
        )
        .await);
    let declare = |kind: &str, date: &str, extra: Value| {
        let mut attributes = json!({
            "participant_id": sam,
            "declaration_type": kind,
            "declaration_date": date,
            "course_identifier": "npq-headship",
        });
        for (key, value) in extra.as_object().unwrap() {
            attributes[key] = value.clone();
        }
        w.post("/api/v1/participant-declarations", Some(attributes))
    };
    ok(&declare("started", "2022-12-01T10:00:00Z", json!({})).await);
    ok(&declare(
        "completed",
        "2023-03-01T10:00:00Z",
        json!({"has_passed": "true"}),
    )
    .await);

    for version in ["v1", "v2"] {
        let template = format!("/api/{version}/participants/npq/{{participant_id}}/outcomes");
        let path = format!("/api/{version}/participants/npq/{sam}/outcomes");
        let history = w.get(&path).await;
        assert_matches(&template, "get", &history.json());
        let history = ok(&history);
        assert_eq!(history.as_array().unwrap().len(), 1);
        assert!(history[0]["attributes"].get("updated_at").is_none());
        let list = w
            .get(&format!("/api/{version}/participants/npq/outcomes"))
            .await;
        assert_matches(
            &format!("/api/{version}/participants/npq/outcomes"),
            "get",
            &list.json(),
        );
    }
    let body = json!({"course_identifier": "npq-headship", "state": "failed", "completion_date": "2023-03-02"});
    let recorded = w
        .app
        .post(
            &format!("/api/v2/participants/npq/{sam}/outcomes"),
            Some(&w.token),
            &json!({"data": {"type": "npq-outcome-confirmation", "attributes": body}}).to_string(),
        )
        .await;
    assert_matches(
        "/api/v2/participants/npq/{participant_id}/outcomes",
        "post",
        &recorded.json(),
    );
    let v3 = ok(&w
        .get(&format!("/api/v3/participants/npq/{sam}/outcomes"))
        .await);
    assert!(v3[0]["attributes"]["updated_at"].is_string());
}

#[sqlx::test]
async fn v3_only_resources_are_not_found_in_v1_and_v2(pool: PgPool) {
    let w = world(pool).await;
    for path in [
        "/api/v1/statements",
        "/api/v2/schools/ecf",
        "/api/v1/participants/ecf/transfers",
    ] {
        let response = w.get(path).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(response.json(), json!({"error": "Resource not Found"}));
    }
}

#[sqlx::test]
async fn declarations_updated_since_is_strict_in_v1_and_v2_and_inclusive_in_v3(pool: PgPool) {
    let w = world(pool.clone()).await;
    let jane = w.ect("Jane Smith").await;
    let declared = ok(&w
        .post("/api/v3/participant-declarations", Some(started(jane)))
        .await);
    let id: uuid::Uuid = declared["id"].as_str().unwrap().parse().unwrap();
    w.app.shown().await;
    // The exact stored instant, to the microsecond; the API renders whole seconds.
    let updated_at: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("select updated_at from declarations where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    let bound = updated_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);

    let count = |version: &str| {
        let path = format!("/api/{version}/participant-declarations?filter[updated_since]={bound}");
        let w = &w;
        async move { ok(&w.get(&path).await).as_array().unwrap().len() }
    };

    assert_eq!(count("v1").await, 0, "v1 is strictly after");
    assert_eq!(count("v2").await, 0, "v2 is strictly after");
    assert_eq!(count("v3").await, 1, "v3 is at or after");
}
