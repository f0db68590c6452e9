//! `GET /api/v3/statements` and `GET /api/v3/statements/{id}`.

use aggregates::{Programme, StatementTerms};
use axum::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{TestApp, day, ecf_statement};

fn ids(response: &serde_json::Value) -> Vec<String> {
    response["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[sqlx::test]
async fn a_statement_has_the_spec_shape(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (provider, token) = app.provider("Teach First").await;
    let id = app
        .statement(ecf_statement(
            provider,
            2021,
            "May 2022",
            day(2022, 4, 30),
            day(2022, 5, 25),
        ))
        .await;

    let response = app
        .get(&format!("/api/v3/statements/{id}"), Some(&token))
        .await;

    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.header("content-type"),
        Some("application/vnd.api+json")
    );
    let body = response.json();
    let created_at = body["data"]["attributes"]["created_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        created_at.ends_with('Z') && created_at.len() == 20,
        "{created_at}"
    );
    assert_eq!(
        body,
        json!({"data": {"id": id.to_string(), "type": "statement", "attributes": {
            "month": "May", "year": "2022", "type": "ecf", "cohort": "2021",
            "cut_off_date": "2022-04-30", "payment_date": "2022-05-25", "paid": false,
            "created_at": created_at, "updated_at": created_at,
        }}})
    );
}

#[sqlx::test]
async fn the_list_shows_only_the_callers_output_fee_statements_by_payment_date(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (provider, token) = app.provider("Teach First").await;
    let (other, _) = app.provider("Capita").await;
    let may = app
        .statement(ecf_statement(
            provider,
            2021,
            "May 2022",
            day(2022, 4, 30),
            day(2022, 5, 25),
        ))
        .await;
    let february = app
        .statement(ecf_statement(
            provider,
            2021,
            "February 2022",
            day(2022, 1, 31),
            day(2022, 2, 25),
        ))
        .await;
    let service_only = StatementTerms {
        output_fee: false,
        ..ecf_statement(
            provider,
            2021,
            "March 2022",
            day(2022, 2, 28),
            day(2022, 3, 25),
        )
    };
    let march = app.statement(service_only).await;
    app.statement(ecf_statement(
        other,
        2021,
        "May 2022",
        day(2022, 4, 30),
        day(2022, 5, 25),
    ))
    .await;

    let response = app.get("/api/v3/statements", Some(&token)).await;

    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        ids(&response.json()),
        vec![february.to_string(), may.to_string()]
    );
    let shown = app
        .get(&format!("/api/v3/statements/{march}"), Some(&token))
        .await;
    assert_eq!(
        shown.status,
        StatusCode::OK,
        "a non-output statement can still be fetched by id"
    );
}

#[sqlx::test]
async fn another_providers_statement_is_not_found(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, token) = app.provider("Teach First").await;
    let (other, _) = app.provider("Capita").await;
    let theirs = app
        .statement(ecf_statement(
            other,
            2021,
            "May 2022",
            day(2022, 4, 30),
            day(2022, 5, 25),
        ))
        .await;

    for path in [
        format!("/api/v3/statements/{theirs}"),
        "/api/v3/statements/not-a-uuid".to_owned(),
    ] {
        let response = app.get(&path, Some(&token)).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(response.text, r#"{"error":"Resource not Found"}"#);
    }
}

#[sqlx::test]
async fn the_list_filters_by_cohort_and_type(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (provider, token) = app.provider("Teach First").await;
    let ecf_2021 = app
        .statement(ecf_statement(
            provider,
            2021,
            "May 2022",
            day(2022, 4, 30),
            day(2022, 5, 25),
        ))
        .await;
    let ecf_2022 = app
        .statement(ecf_statement(
            provider,
            2022,
            "May 2023",
            day(2023, 4, 30),
            day(2023, 5, 25),
        ))
        .await;
    let npq = StatementTerms {
        programme: Programme::Npq,
        ..ecf_statement(
            provider,
            2022,
            "June 2023",
            day(2023, 5, 25),
            day(2023, 6, 25),
        )
    };
    let npq_2022 = app.statement(npq).await;
    let list = |query: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            ids(&app
                .get(&format!("/api/v3/statements?{query}"), Some(&token))
                .await
                .json())
        }
    };

    assert_eq!(
        list("filter[cohort]=2021").await,
        vec![ecf_2021.to_string()]
    );
    assert_eq!(list("filter[cohort]=2021,2022").await.len(), 3);
    assert_eq!(
        list("filter[cohort]=2022&filter[type]=ecf").await,
        vec![ecf_2022.to_string()]
    );
    assert_eq!(list("filter[type]=npq").await, vec![npq_2022.to_string()]);
    assert!(list("filter[type]=other").await.is_empty());
    assert!(list("filter[cohort]=abc").await.is_empty());
}

#[sqlx::test]
async fn the_list_filters_by_updated_since(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (provider, token) = app.provider("Teach First").await;
    app.statement(ecf_statement(
        provider,
        2021,
        "May 2022",
        day(2022, 4, 30),
        day(2022, 5, 25),
    ))
    .await;

    let past = app
        .get(
            "/api/v3/statements?filter[updated_since]=2020-11-13T11:21:55Z",
            Some(&token),
        )
        .await;
    let future = app
        .get(
            "/api/v3/statements?filter[updated_since]=2999-01-01T00:00:00%2B01:00",
            Some(&token),
        )
        .await;

    assert_eq!(ids(&past.json()).len(), 1);
    assert!(ids(&future.json()).is_empty());
}

#[sqlx::test]
async fn the_list_pages(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (provider, token) = app.provider("Teach First").await;
    let mut expected = Vec::new();
    for month in 1..=5 {
        let name = format!("Month {month} 2022");
        let id = app
            .statement(ecf_statement(
                provider,
                2021,
                &name,
                day(2022, month, 1),
                day(2022, month, 25),
            ))
            .await;
        expected.push(id.to_string());
    }
    let page = |n: u32| {
        let (app, token) = (&app, token.clone());
        async move {
            ids(&app
                .get(
                    &format!("/api/v3/statements?page[per_page]=2&page[page]={n}"),
                    Some(&token),
                )
                .await
                .json())
        }
    };

    assert_eq!(page(1).await, expected[0..2]);
    assert_eq!(page(2).await, expected[2..4]);
    assert_eq!(page(3).await, expected[4..5]);
    assert!(page(4).await.is_empty(), "past the end is an empty list");
}
