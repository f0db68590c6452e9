//! `/api/v3/partnerships/ecf`: confirming, listing, updating and challenges.

use aggregates::reference::DeliveryPartner;
use aggregates::{DeliveryPartnerId, LeadProviderId, SchoolId};
use axum::http::StatusCode;
use cpd_ledger::auth::Role;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{TestApp, TestResponse, eventually, hold_writes_to};

struct World {
    app: TestApp,
    token: String,
    provider: LeadProviderId,
    partner: DeliveryPartnerId,
}

/// Teach First works with "Partner A" in 2022; school 100001 is eligible and unpartnered.
async fn world(pool: PgPool) -> World {
    world_on(TestApp::new(pool).await).await
}

async fn world_on(app: TestApp) -> World {
    let (provider, token) = app.provider("Teach First").await;
    app.record(DeliveryPartner {
        name: "Partner A".into(),
    })
    .await;
    let partner = DeliveryPartnerId::from_name("Partner A");
    app.relationship(provider, partner, 2022).await;
    app.school("100001", true, false).await;
    World {
        app,
        token,
        provider,
        partner,
    }
}

fn body(cohort: Value, school: Value, partner: Value) -> String {
    json!({"data": {"type": "ecf-partnership", "attributes": {"cohort": cohort, "school_id": school, "delivery_partner_id": partner}}}).to_string()
}

fn school(urn: &str) -> Value {
    json!(SchoolId::from_urn(urn).to_string())
}

impl World {
    async fn confirm(
        &self,
        token: &str,
        cohort: Value,
        urn: &str,
        partner: DeliveryPartnerId,
    ) -> TestResponse {
        self.app
            .post(
                "/api/v3/partnerships/ecf",
                Some(token),
                &body(cohort, school(urn), json!(partner.to_string())),
            )
            .await
    }
}

fn error(response: &TestResponse) -> Value {
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.text
    );
    response.json()["errors"].clone()
}

fn one(title: &str, detail: &str) -> Value {
    json!([{"title": title, "detail": detail}])
}

#[sqlx::test]
async fn a_confirmed_partnership_has_the_spec_shape(pool: PgPool) {
    let w = world(pool).await;

    let response = w
        .confirm(&w.token, json!("2022"), "100001", w.partner)
        .await;

    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    let data = response.json()["data"].clone();
    assert_eq!(data["type"], "partnership");
    let attributes = &data["attributes"];
    let created_at = attributes["created_at"].clone();
    assert_eq!(
        attributes,
        &json!({
            "cohort": "2022",
            "urn": "100001",
            "school_id": SchoolId::from_urn("100001").to_string(),
            "delivery_partner_id": w.partner.to_string(),
            "delivery_partner_name": "Partner A",
            "status": "active",
            "challenged_reason": null,
            "challenged_at": null,
            "induction_tutor_name": "Ida Tutor",
            "induction_tutor_email": "tutor@100001.example.com",
            "updated_at": created_at,
            "created_at": created_at,
        })
    );
    let shown = w
        .app
        .get(
            &format!("/api/v3/partnerships/ecf/{}", data["id"].as_str().unwrap()),
            Some(&w.token),
        )
        .await;
    assert_eq!(shown.json()["data"], data);
}

#[sqlx::test]
async fn missing_attributes_are_reported_together(pool: PgPool) {
    let w = world(pool).await;

    let response = w
        .app
        .post(
            "/api/v3/partnerships/ecf",
            Some(&w.token),
            &body(Value::Null, json!(""), Value::Null),
        )
        .await;

    assert_eq!(
        error(&response),
        json!([
            {"title": "cohort", "detail": "Enter a '#/cohort'."},
            {"title": "school_id", "detail": "Enter a '#/school_id'."},
            {"title": "delivery_partner_id", "detail": "Enter a '#/delivery_partner_id'."},
        ])
    );
}

#[sqlx::test]
async fn each_rule_answers_with_its_exact_message(pool: PgPool) {
    let w = world(pool).await;
    w.app.school("100002", true, true).await;
    w.app.school("100003", false, false).await;
    let unknown_partner = DeliveryPartnerId::from_name("Nobody");
    w.app
        .record(DeliveryPartner {
            name: "Partner B".into(),
        })
        .await;
    let unrelated = DeliveryPartnerId::from_name("Partner B");

    let cases = [
        (
            w.confirm(&w.token, json!("1999"), "100001", w.partner)
                .await,
            one(
                "cohort",
                "The '#/cohort' you have entered is invalid. Check cohort details and try again.",
            ),
        ),
        (
            w.app
                .post(
                    "/api/v3/partnerships/ecf",
                    Some(&w.token),
                    &body(
                        json!(2022),
                        json!("not-a-school"),
                        json!(w.partner.to_string()),
                    ),
                )
                .await,
            one(
                "school_id",
                "The '#/school_id' you have entered is invalid. Check school details and try again. Contact the DfE for support if you are unable to find the '#/school_id'.",
            ),
        ),
        (
            w.confirm(&w.token, json!(2022), "100002", w.partner).await,
            one(
                "school_id",
                "The school you have entered has not registered to deliver DfE-funded training. Contact the school for more information.",
            ),
        ),
        (
            w.confirm(&w.token, json!(2022), "100003", w.partner).await,
            one(
                "school_id",
                "The school you have entered is currently ineligible for DfE funding. Contact the school for more information.",
            ),
        ),
        (
            w.confirm(&w.token, json!(2022), "100001", unknown_partner)
                .await,
            one(
                "delivery_partner_id",
                "The '#/delivery_partner_id' you have entered is invalid. Check delivery partner details and try again.",
            ),
        ),
        (
            w.confirm(&w.token, json!(2022), "100001", unrelated).await,
            one(
                "delivery_partner_id",
                "The entered delivery partner is not recognised to be working in partnership with you for the given cohort. Contact the DfE for more information.",
            ),
        ),
    ];
    for (response, expected) in cases {
        assert_eq!(error(&response), expected);
    }
}

#[sqlx::test]
async fn a_school_partners_one_provider_per_cohort(pool: PgPool) {
    let w = world(pool).await;
    let (other, other_token) = w.app.provider("Capita").await;
    w.app.relationship(other, w.partner, 2022).await;
    assert_eq!(
        w.confirm(&w.token, json!(2022), "100001", w.partner)
            .await
            .status,
        StatusCode::OK
    );

    let again = w.confirm(&w.token, json!(2022), "100001", w.partner).await;
    let rival = w
        .confirm(&other_token, json!(2022), "100001", w.partner)
        .await;

    assert_eq!(
        error(&again),
        one(
            "school_id",
            "You are already in a confirmed partnership with this school for the entered cohort."
        )
    );
    assert_eq!(
        error(&rival),
        one(
            "school_id",
            "Another provider is in a confirmed partnership with the school for the cohort you entered. Contact the school for more information."
        )
    );
}

#[sqlx::test]
async fn a_school_partnered_last_year_must_set_the_cohort_up_first(pool: PgPool) {
    let w = world(pool).await;
    w.app.relationship(w.provider, w.partner, 2021).await;
    assert_eq!(
        w.confirm(&w.token, json!(2021), "100001", w.partner)
            .await
            .status,
        StatusCode::OK
    );
    let admin = w.app.staff_token(Role::Admin).await;

    let early = w.confirm(&w.token, json!(2022), "100001", w.partner).await;
    let set_up = w
        .app
        .put(
            "/admin/schools/100001/cohorts/2022",
            Some(&admin),
            json!({"induction_programme_choice": "full_induction_programme"}),
        )
        .await;
    let after = w.confirm(&w.token, json!(2022), "100001", w.partner).await;

    assert_eq!(
        error(&early),
        one(
            "school_id",
            "The school you have entered has not yet confirmed they will deliver DfE-funded training. Contact the school for more information."
        )
    );
    assert_eq!(set_up.status, StatusCode::OK, "{}", set_up.text);
    assert_eq!(after.status, StatusCode::OK, "{}", after.text);
}

#[sqlx::test]
async fn a_challenged_partnership_cannot_be_updated_until_confirmed_again(pool: PgPool) {
    let w = world(pool).await;
    let id = w
        .confirm(&w.token, json!(2022), "100001", w.partner)
        .await
        .json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = w.app.staff_token(Role::Admin).await;

    let challenged = w
        .app
        .put(
            &format!("/admin/partnerships/{id}/challenge"),
            Some(&admin),
            json!({"reason": "mistake"}),
        )
        .await;
    let shown = w
        .app
        .get(&format!("/api/v3/partnerships/ecf/{id}"), Some(&w.token))
        .await
        .json();
    let update = w
        .app
        .put(
            &format!("/api/v3/partnerships/ecf/{id}"),
            Some(&w.token),
            json!({"delivery_partner_id": w.partner.to_string()}),
        )
        .await;
    let reconfirmed = w.confirm(&w.token, json!(2022), "100001", w.partner).await;

    assert_eq!(challenged.status, StatusCode::OK, "{}", challenged.text);
    let attributes = &shown["data"]["attributes"];
    assert_eq!(attributes["status"], "challenged");
    assert_eq!(attributes["challenged_reason"], "mistake");
    let at = attributes["challenged_at"].as_str().unwrap();
    assert!(
        at.ends_with('Z') && at.len() == 24,
        "milliseconds, as the real service writes them: {at}"
    );
    assert_eq!(
        error(&update),
        one(
            "delivery_partner_id",
            "Your update cannot be made as this partnership has been challenged by the school. If this partnership has been challenged in error, submit a new partnership confirmation using the endpoint POST /api/v3/partnerships/ecf."
        )
    );
    assert_eq!(reconfirmed.status, StatusCode::OK);
    assert_eq!(reconfirmed.json()["data"]["id"], json!(id));
    assert_eq!(reconfirmed.json()["data"]["attributes"]["status"], "active");
}

#[sqlx::test]
async fn an_update_moves_the_partnership_to_another_delivery_partner(pool: PgPool) {
    let w = world(pool).await;
    let id = w
        .confirm(&w.token, json!(2022), "100001", w.partner)
        .await
        .json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.app
        .record(DeliveryPartner {
            name: "Partner B".into(),
        })
        .await;
    let other = DeliveryPartnerId::from_name("Partner B");
    let path = format!("/api/v3/partnerships/ecf/{id}");
    let to = |partner: Value| json!({"delivery_partner_id": partner});

    let unrelated = w
        .app
        .put(&path, Some(&w.token), to(json!(other.to_string())))
        .await;
    let blank = w.app.put(&path, Some(&w.token), to(json!(""))).await;
    let unknown = w
        .app
        .put(
            &path,
            Some(&w.token),
            to(json!("00000000-0000-0000-0000-000000000000")),
        )
        .await;
    w.app.relationship(w.provider, other, 2022).await;
    let moved = w
        .app
        .put(&path, Some(&w.token), to(json!(other.to_string())))
        .await;
    let same = w
        .app
        .put(&path, Some(&w.token), to(json!(other.to_string())))
        .await;

    assert_eq!(
        error(&unrelated)[0]["detail"],
        "The entered delivery partner is not recognised to be working in partnership with you for the given cohort. Contact the DfE for more information."
    );
    assert_eq!(
        error(&blank),
        one("delivery_partner_id", "Enter a '#/delivery_partner_id'.")
    );
    assert_eq!(error(&unknown)[0]["title"], "delivery_partner_id");
    assert_eq!(
        moved.json()["data"]["attributes"]["delivery_partner_name"],
        "Partner B"
    );
    assert_eq!(
        same.status,
        StatusCode::OK,
        "the same delivery partner changes nothing"
    );
}

#[sqlx::test]
async fn the_list_filters_by_cohort_partner_and_update(pool: PgPool) {
    let w = world(pool).await;
    w.app.relationship(w.provider, w.partner, 2021).await;
    w.app.school("100002", true, false).await;
    w.confirm(&w.token, json!(2022), "100001", w.partner).await;
    w.confirm(&w.token, json!(2021), "100002", w.partner).await;
    let count = |query: String| {
        let (app, token) = (&w.app, w.token.clone());
        async move {
            app.get(&format!("/api/v3/partnerships/ecf?{query}"), Some(&token))
                .await
                .json()["data"]
                .as_array()
                .unwrap()
                .len()
        }
    };

    assert_eq!(count(String::new()).await, 2);
    assert_eq!(count("filter[cohort]=2021".into()).await, 1);
    assert_eq!(
        count(format!("filter[delivery_partner_id]={}", w.partner)).await,
        2
    );
    assert_eq!(
        count(format!(
            "filter[delivery_partner_id]={}",
            DeliveryPartnerId::from_name("Nobody")
        ))
        .await,
        0
    );
    assert_eq!(
        count("filter[updated_since]=2999-01-01T00:00:00Z".into()).await,
        0
    );
}

#[sqlx::test]
async fn confirming_and_moving_are_answered_from_their_commit_when_the_read_model_lags(
    pool: PgPool,
) {
    let app = TestApp::impatient(pool.clone()).await;
    let w = world_on(app).await;
    w.app
        .record(DeliveryPartner {
            name: "Partner B".into(),
        })
        .await;
    let other = DeliveryPartnerId::from_name("Partner B");
    w.app.relationship(w.provider, other, 2022).await;
    let stored = || async {
        sqlx::query_scalar::<_, String>(
            "select d.name from partnerships p join delivery_partners d on d.id = p.delivery_partner_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };

    let mut held = hold_writes_to(&pool, "partnerships").await;
    let confirmed = w
        .confirm(&w.token, json!("2022"), "100001", w.partner)
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text);
    let data = confirmed.json()["data"].clone();
    assert_eq!(data["attributes"]["urn"], "100001");
    assert_eq!(data["attributes"]["delivery_partner_name"], "Partner A");
    assert_eq!(data["attributes"]["status"], "active");
    assert_eq!(data["attributes"]["induction_tutor_name"], "Ida Tutor");
    assert!(
        stored().await.is_empty(),
        "the read model had not applied it"
    );
    sqlx::query("rollback").execute(&mut held).await.unwrap();
    eventually(|| async { !stored().await.is_empty() }).await;

    let id = data["id"].as_str().unwrap();
    let mut held = hold_writes_to(&pool, "partnerships").await;
    let moved = w
        .app
        .put(
            &format!("/api/v3/partnerships/ecf/{id}"),
            Some(&w.token),
            json!({"delivery_partner_id": other.to_string()}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    let attributes = moved.json()["data"]["attributes"].clone();
    assert_eq!(attributes["delivery_partner_name"], "Partner B");
    assert_eq!(attributes["created_at"], data["attributes"]["created_at"]);
    assert_eq!(
        stored().await,
        ["Partner A"],
        "the read model had not applied it"
    );
    sqlx::query("rollback").execute(&mut held).await.unwrap();
}
