//! What every endpoint shares: unknown routes, paging and filter errors, bodies, request ids.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use cpd_ledger::auth::Role;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::TestApp;

fn bad_request(detail: &str) -> serde_json::Value {
    json!({"errors":[{"title":"Bad request","detail":detail}]})
}

const BAD_BODY: &str = "correct json data structure required. See API docs for reference";

#[sqlx::test]
async fn an_unknown_route_gets_the_real_404_with_or_without_a_token(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, token) = app.provider("Teach First").await;

    for token in [None, Some(token.as_str())] {
        let response = app.get("/api/v3/no-such-thing", token).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        assert_eq!(response.text, r#"{"error":"Resource not Found"}"#);
    }
}

#[sqlx::test]
async fn a_method_a_route_does_not_have_is_a_404(pool: PgPool) {
    let app = TestApp::new(pool).await;

    let response = app
        .request(Method::DELETE, "/api/v3/statements", None, None)
        .await;

    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.text, r#"{"error":"Resource not Found"}"#);
}

#[sqlx::test]
async fn bad_paging_gets_the_real_400(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, token) = app.provider("Teach First").await;
    let message = "The '#/page[page]' and '#/page[per_page]' parameter values must be a valid number (equal and more than 1)";

    for query in [
        "page[per_page]=0",
        "page[page]=0",
        "page[page]=abc",
        "page[per_page]=-5",
    ] {
        let response = app
            .get(&format!("/api/v3/statements?{query}"), Some(&token))
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(response.json(), bad_request(message), "{query}");
    }
}

#[sqlx::test]
async fn a_bad_date_filter_gets_the_real_400(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, token) = app.provider("Teach First").await;

    let response = app
        .get(
            "/api/v3/statements?filter[updated_since]=last-tuesday",
            Some(&token),
        )
        .await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        bad_request("The filter '#/updated_since' must be a valid RCF3339 date")
    );
}

#[sqlx::test]
async fn a_filter_that_is_not_a_hash_is_a_bad_parameter(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, token) = app.provider("Teach First").await;

    let response = app
        .get("/api/v3/statements?filter=2022", Some(&token))
        .await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json(),
        json!({"errors":[{"title":"Bad parameter","detail":"Filter must be a hash"}]})
    );
}

#[sqlx::test]
async fn malformed_bodies_get_400_never_500(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.staff_token(Role::Admin).await;

    for body in [
        "{not json",
        "[]",
        r#"{"role":"finance"}"#,
        r#"{"data":"finance"}"#,
        r#"{"data":{"type":"token"}}"#,
    ] {
        let response = app.post("/admin/tokens", Some(&admin), body).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(response.json(), bad_request(BAD_BODY), "{body}");
    }
}

#[sqlx::test]
async fn attributes_of_the_wrong_type_get_400(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.staff_token(Role::Admin).await;

    let response = app
        .post(
            "/admin/tokens",
            Some(&admin),
            r#"{"data":{"attributes":{"role":42}}}"#,
        )
        .await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.json()["errors"][0]["title"], "Bad request");
}

#[sqlx::test]
async fn an_oversized_body_gets_413_in_the_error_shape(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.staff_token(Role::Admin).await;
    let huge = format!(
        r#"{{"data":{{"attributes":{{"role":"{}"}}}}}}"#,
        "x".repeat(1024 * 1024)
    );

    let response = app.post("/admin/tokens", Some(&admin), &huge).await;

    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.json()["errors"][0]["title"], "Bad request");
}

#[sqlx::test]
async fn a_request_id_is_echoed_or_made_up(pool: PgPool) {
    let app = TestApp::new(pool).await;

    let given = Request::get("/healthz")
        .header("x-request-id", "trace-me-123")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.send(given).await.header("x-request-id"),
        Some("trace-me-123")
    );

    let made_up = app.get("/healthz", None).await;
    assert_eq!(made_up.header("x-request-id").map(str::len), Some(36));
}

#[sqlx::test]
async fn health_and_readiness_answer(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.provider("Teach First").await;

    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    let body = ready.json();
    assert_eq!(body["status"], "ready");
    let read_models = body["read_models"].as_array().unwrap();
    assert_eq!(read_models.len(), projections::all().len());
    assert!(
        read_models
            .iter()
            .all(|m| m["lag_events"] == 0 && m["halted"].is_null()),
        "{body}"
    );
}
