//! A participant transfers between schools and providers: what each provider sees.

use axum::http::{Method, StatusCode};
use cpd_ledger::auth::Role;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{TestApp, ect, started};

/// Jane starts with Teach First, who declares `started`; she leaves on 31 March 2023 and joins
/// a Capita school on 1 April 2023. Returns (app, old token, new token, participant, record,
/// old declaration id).
pub async fn transferred(pool: PgPool) -> (TestApp, String, String, String, String, String) {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let old = app.ecf_school("Teach First", "100001", 2022).await;
    let new = app.ecf_school("Capita", "100002", 2022).await;
    let (jane, record) = app.participant(ect("100001", "Jane Smith")).await;
    let declared = app.declare(&old.token, started(jane)).await;
    let declaration = declared.json()["data"]["id"].as_str().unwrap().to_owned();
    let admin = app.staff_token(Role::Admin).await;
    let leaving = app
        .put(
            &format!("/admin/training-records/{record}/leaving"),
            Some(&admin),
            json!({"end_date": "2023-03-31T00:00:00Z"}),
        )
        .await;
    assert_eq!(leaving.status, StatusCode::OK, "{}", leaving.text);
    let joining = app
        .put(
            &format!("/admin/training-records/{record}/joining"),
            Some(&admin),
            json!({"school_urn": "100002", "start_date": "2023-04-01"}),
        )
        .await;
    assert_eq!(joining.status, StatusCode::OK, "{}", joining.text);
    (
        app,
        old.token,
        new.token,
        jane.to_string(),
        record.to_string(),
        declaration,
    )
}

fn status_of(response: &crate::helpers::TestResponse) -> String {
    response.json()["data"]["attributes"]["ecf_enrolments"][0]["participant_status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[sqlx::test]
async fn the_old_provider_sees_leaving_then_left_and_the_new_one_joining_then_active(pool: PgPool) {
    let (app, old, new, jane, _, _) = transferred(pool).await;
    let path = format!("/api/v3/participants/ecf/{jane}");

    assert_eq!(
        status_of(&app.get_at(&path, &old, "2023-03-15T00:00:00Z").await),
        "leaving"
    );
    assert_eq!(
        status_of(&app.get_at(&path, &new, "2023-03-15T00:00:00Z").await),
        "joining"
    );
    assert_eq!(
        status_of(&app.get_at(&path, &old, "2023-05-01T00:00:00Z").await),
        "left"
    );
    assert_eq!(
        status_of(&app.get_at(&path, &new, "2023-05-01T00:00:00Z").await),
        "active"
    );
    let old_view = app.get(&path, Some(&old)).await.json();
    assert_eq!(
        old_view["data"]["attributes"]["ecf_enrolments"][0]["school_urn"],
        "100001"
    );
}

#[sqlx::test]
async fn the_new_provider_sees_but_cannot_void_the_old_providers_declaration(pool: PgPool) {
    let (app, _, new, _, _, declaration) = transferred(pool).await;

    let listed = app
        .get("/api/v3/participant-declarations", Some(&new))
        .await
        .json();
    let shown = app
        .get(
            &format!("/api/v3/participant-declarations/{declaration}"),
            Some(&new),
        )
        .await;
    let voided = app
        .request(
            Method::PUT,
            &format!("/api/v3/participant-declarations/{declaration}/void"),
            Some(&new),
            None,
        )
        .await;

    let items = listed["data"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], declaration);
    assert_eq!(items[0]["attributes"]["lead_provider_name"], "Teach First");
    assert_eq!(shown.status, StatusCode::NOT_FOUND);
    assert_eq!(voided.status, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn the_new_provider_declares_the_next_milestone_but_not_a_claimed_one(pool: PgPool) {
    let (app, _, new, jane, _, _) = transferred(pool).await;
    let jane: aggregates::ParticipantId = jane.parse().unwrap();
    let mut retained = started(jane);
    retained["declaration_type"] = json!("retained-2");
    retained["declaration_date"] = json!("2023-05-01T10:00:00Z");
    retained["evidence_held"] = json!("training-event-attended");

    let again = app.declare(&new, started(jane)).await;
    let next = app.declare(&new, retained).await;

    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(again.json()["errors"][0]["title"], "base");
    assert_eq!(next.status, StatusCode::OK, "{}", next.text);
    assert_eq!(
        next.json()["data"]["attributes"]["lead_provider_name"],
        "Capita"
    );
}

#[sqlx::test]
async fn both_providers_see_the_transfer_paired(pool: PgPool) {
    let (app, old, new, jane, record, _) = transferred(pool).await;
    let expected = |status: &str| {
        json!({
            "training_record_id": record,
            "transfer_type": "new_provider",
            "status": status,
            "leaving": {"school_urn": "100001", "provider": "Teach First", "date": "2023-03-31"},
            "joining": {"school_urn": "100002", "provider": "Capita", "date": "2023-04-01"},
        })
    };

    for token in [&old, &new] {
        let list = app
            .get_at(
                "/api/v3/participants/ecf/transfers",
                token,
                "2023-05-01T00:00:00Z",
            )
            .await
            .json();
        assert_eq!(list["data"][0]["id"], jane);
        assert_eq!(list["data"][0]["type"], "participant-transfer");
        let mut transfer = list["data"][0]["attributes"]["transfers"][0].clone();
        transfer.as_object_mut().unwrap().remove("created_at");
        assert_eq!(transfer, expected("complete"));
    }
    let early = app
        .get_at(
            &format!("/api/v3/participants/ecf/{jane}/transfers"),
            &new,
            "2023-03-01T00:00:00Z",
        )
        .await
        .json();
    assert_eq!(
        early["data"]["attributes"]["transfers"][0]["status"],
        "incomplete"
    );
}

#[sqlx::test]
async fn a_provider_outside_the_transfer_sees_nothing(pool: PgPool) {
    let (app, _, _, jane, _, _) = transferred(pool).await;
    let outsider = app
        .ecf_school("UCL Institute of Education", "100003", 2022)
        .await;

    let list = app
        .get("/api/v3/participants/ecf/transfers", Some(&outsider.token))
        .await
        .json();
    let one = app
        .get(
            &format!("/api/v3/participants/ecf/{jane}/transfers"),
            Some(&outsider.token),
        )
        .await;

    assert_eq!(list["data"], json!([]));
    assert_eq!(one.status, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn the_new_providers_pages_merge_its_own_and_the_old_providers_declarations_in_order(
    pool: PgPool,
) {
    let (app, _, new, _, _, declaration) = transferred(pool).await;
    let mut own = Vec::new();
    for name in ["Sam Lee", "Ada Byron"] {
        let (person, _) = app.participant(ect("100002", name)).await;
        let declared = app.declare(&new, started(person)).await;
        assert_eq!(declared.status, StatusCode::OK, "{}", declared.text);
        own.push(declared.json()["data"]["id"].as_str().unwrap().to_owned());
    }
    let ids = |query: String| {
        let (app, new) = (&app, &new);
        async move {
            let listed = app
                .get(
                    &format!("/api/v3/participant-declarations{query}"),
                    Some(new),
                )
                .await
                .json();
            listed["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };

    let all = ids(String::new()).await;
    assert_eq!(all, [declaration, own[0].clone(), own[1].clone()]);
    let mut paged = Vec::new();
    for page in 1..=4 {
        paged.extend(ids(format!("?page[per_page]=1&page[page]={page}")).await);
    }
    assert_eq!(
        paged, all,
        "pages of one, in the same order, and nothing after the last"
    );
    assert_eq!(ids("?filter[cohort]=2022".into()).await, all);
    assert!(ids("?filter[cohort]=2021".into()).await.is_empty());
}
