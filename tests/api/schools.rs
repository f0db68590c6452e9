//! `/api/v3/schools/ecf`, `/api/v3/delivery-partners` and `/api/v3/unfunded-mentors/ecf`.

use aggregates::course::ParticipantType;
use aggregates::reference::DeliveryPartner;
use aggregates::{DeliveryPartnerId, SchoolId};
use axum::http::StatusCode;
use cpd_ledger::auth::Role;
use cpd_ledger::flows::school::NewParticipant;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{TestApp, ect};

fn urns(response: &serde_json::Value) -> Vec<String> {
    response["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["attributes"]["urn"].as_str().unwrap().to_owned())
        .collect()
}

#[sqlx::test]
async fn the_schools_list_needs_a_cohort(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, token) = app.provider("Teach First").await;

    let response = app.get("/api/v3/schools/ecf", Some(&token)).await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({"errors": [{"title": "Bad parameter", "detail": "The filter '#/cohort' must be included in your request"}]})
    );
}

#[sqlx::test]
async fn schools_a_provider_may_partner_are_listed_with_their_cohort_state(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let partnered = app.ecf_school("Capita", "100001", 2022).await;
    let (_, token) = app.provider("Teach First").await;
    app.school("100002", true, false).await;
    app.school("100003", true, true).await;
    app.school("100004", false, false).await;
    let admin = app.staff_token(Role::Admin).await;
    app.put(
        "/admin/schools/100002/cohorts/2022",
        Some(&admin),
        json!({"induction_programme_choice": "design_our_own"}),
    )
    .await;

    let list = app
        .get("/api/v3/schools/ecf?filter[cohort]=2022", Some(&token))
        .await
        .json();

    assert_eq!(
        urns(&list),
        vec!["100001", "100002"],
        "CIP-only and ineligible schools are not listed"
    );
    let attributes = |i: usize| list["data"][i]["attributes"].clone();
    assert_eq!(attributes(0)["in_partnership"], true);
    assert_eq!(attributes(0)["induction_programme_choice"], "not_yet_known");
    assert_eq!(attributes(0)["cohort"], "2022");
    assert_eq!(attributes(1)["in_partnership"], false);
    assert_eq!(
        attributes(1)["induction_programme_choice"],
        "design_our_own"
    );
    assert_eq!(list["data"][0]["type"], "school");
    let by_urn = app
        .get(
            "/api/v3/schools/ecf?filter[cohort]=2022&filter[urn]=100002",
            Some(&token),
        )
        .await
        .json();
    assert_eq!(urns(&by_urn), vec!["100002"]);
    let id = SchoolId::from_urn("100001");
    let shown = app
        .get(
            &format!("/api/v3/schools/ecf/{id}?filter[cohort]=2022"),
            Some(&partnered.token),
        )
        .await;
    assert_eq!(shown.json()["data"]["attributes"]["urn"], "100001");
    let hidden = app
        .get(
            &format!(
                "/api/v3/schools/ecf/{}?filter[cohort]=2022",
                SchoolId::from_urn("100003")
            ),
            Some(&token),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn delivery_partners_are_those_the_provider_works_with(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (provider, token) = app.provider("Teach First").await;
    app.record(DeliveryPartner {
        name: "Partner A".into(),
    })
    .await;
    app.record(DeliveryPartner {
        name: "Partner B".into(),
    })
    .await;
    let a = DeliveryPartnerId::from_name("Partner A");
    let b = DeliveryPartnerId::from_name("Partner B");
    app.relationship(provider, a, 2021).await;
    app.relationship(provider, a, 2022).await;

    let list = app
        .get("/api/v3/delivery-partners", Some(&token))
        .await
        .json();
    let in_2023 = app
        .get(
            "/api/v3/delivery-partners?filter[cohort]=2023",
            Some(&token),
        )
        .await
        .json();
    let other = app
        .get(&format!("/api/v3/delivery-partners/{b}"), Some(&token))
        .await;

    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["id"], a.to_string());
    assert_eq!(list["data"][0]["type"], "delivery-partner");
    assert_eq!(list["data"][0]["attributes"]["name"], "Partner A");
    assert_eq!(
        list["data"][0]["attributes"]["cohort"],
        json!(["2021", "2022"])
    );
    assert_eq!(in_2023["data"], json!([]));
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn a_mentor_trained_by_another_provider_is_an_unfunded_mentor(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let ours = app.ecf_school("Teach First", "100001", 2022).await;
    let theirs = app.ecf_school("Capita", "100002", 2022).await;
    let mentor = NewParticipant {
        participant_type: ParticipantType::Mentor,
        ..ect("100002", "Mo Mentor")
    };
    let (mentor_id, _) = app.participant(mentor).await;
    app.participant(NewParticipant {
        mentor_id: Some(mentor_id),
        ..ect("100001", "Jane Smith")
    })
    .await;

    let ours_list = app
        .get("/api/v3/unfunded-mentors/ecf", Some(&ours.token))
        .await
        .json();
    let theirs_list = app
        .get("/api/v3/unfunded-mentors/ecf", Some(&theirs.token))
        .await
        .json();
    let shown = app
        .get(
            &format!("/api/v3/unfunded-mentors/ecf/{mentor_id}"),
            Some(&ours.token),
        )
        .await
        .json();

    assert_eq!(ours_list["data"].as_array().unwrap().len(), 1);
    assert_eq!(ours_list["data"][0]["type"], "unfunded-mentor");
    assert_eq!(ours_list["data"][0]["attributes"]["full_name"], "Mo Mentor");
    assert_eq!(
        ours_list["data"][0]["attributes"]["email"],
        "mo.mentor@example.com"
    );
    assert_eq!(
        theirs_list["data"],
        json!([]),
        "a provider's own mentor is funded"
    );
    assert_eq!(shown["data"]["id"], mentor_id.to_string());
}
