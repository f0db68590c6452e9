//! Tokens, roles and rate limits.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cpd_ledger::auth::Role;
use sqlx::PgPool;

use crate::helpers::{TestApp, per_minute};

#[sqlx::test]
async fn a_request_without_a_token_gets_the_real_401(pool: PgPool) {
    let app = TestApp::new(pool).await;

    let response = app.get("/api/v3/statements", None).await;

    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Token realm=\"Application\"")
    );
    assert_eq!(
        response.header("content-type"),
        Some("application/vnd.api+json")
    );
    assert_eq!(response.text, r#"{"error":"HTTP Token: Access denied"}"#);
}

#[sqlx::test]
async fn a_wrong_token_gets_the_same_401(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.provider("Teach First").await;

    let response = app
        .get("/api/v3/statements", Some("not-a-token-we-issued"))
        .await;

    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.text, r#"{"error":"HTTP Token: Access denied"}"#);
}

#[sqlx::test]
async fn the_token_scheme_is_accepted_as_well_as_bearer(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, token) = app.provider("Teach First").await;

    for header in [
        format!("Token {token}"),
        format!("Token token=\"{token}\""),
        format!("Bearer {token}"),
    ] {
        let request = Request::get("/api/v3/statements")
            .header("Authorization", &header)
            .body(Body::empty())
            .unwrap();
        let response = app.send(request).await;
        assert_eq!(response.status, StatusCode::OK, "{header}");
    }
}

#[sqlx::test]
async fn tokens_are_stored_only_as_digests(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, token) = app.provider("Teach First").await;

    let stored: Vec<Vec<u8>> = sqlx::query_scalar("select digest from api_tokens")
        .fetch_all(&app.pool)
        .await
        .unwrap();

    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].len(), 32);
    assert!(
        !stored[0]
            .windows(token.len())
            .any(|w| w == token.as_bytes())
    );
}

#[sqlx::test]
async fn a_staff_token_on_the_provider_api_gets_an_empty_403(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let finance = app.staff_token(Role::Finance).await;

    let response = app.get("/api/v3/statements", Some(&finance)).await;

    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.text, "");
}

#[sqlx::test]
async fn a_provider_token_on_the_admin_api_gets_403(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, token) = app.provider("Teach First").await;
    let body = r#"{"data":{"type":"token","attributes":{"role":"finance"}}}"#;

    let response = app.post("/admin/tokens", Some(&token), body).await;

    assert_eq!(response.status, StatusCode::FORBIDDEN);
}

#[sqlx::test]
async fn an_admin_can_issue_a_provider_token_that_works(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.provider("Capita").await;
    let admin = app.staff_token(Role::Admin).await;
    let body = r#"{"data":{"type":"token","attributes":{"role":"lead_provider","lead_provider":"Capita"}}}"#;

    let response = app.post("/admin/tokens", Some(&admin), body).await;

    assert_eq!(response.status, StatusCode::CREATED);
    let issued = response.json();
    assert_eq!(issued["data"]["attributes"]["lead_provider"], "Capita");
    let token = issued["data"]["attributes"]["token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/v3/statements", Some(token)).await.status,
        StatusCode::OK
    );
}

#[sqlx::test]
async fn an_admin_token_request_for_an_unknown_provider_is_a_422(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.staff_token(Role::Admin).await;
    let body = r#"{"data":{"type":"token","attributes":{"role":"lead_provider","lead_provider":"Nobody"}}}"#;

    let response = app.post("/admin/tokens", Some(&admin), body).await;

    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        response.json(),
        serde_json::json!({"errors":[{"title":"lead_provider","detail":"The lead provider is not recognised"}]})
    );
}

#[sqlx::test]
async fn requests_over_the_limit_get_429_with_retry_after(pool: PgPool) {
    let app = TestApp::with_rate_limit(pool, Some(per_minute(3))).await;
    let (_, token) = app.provider("Teach First").await;
    let (_, other) = app.provider("Capita").await;

    for _ in 0..3 {
        assert_eq!(
            app.get("/api/v3/statements", Some(&token)).await.status,
            StatusCode::OK
        );
    }
    let limited = app.get("/api/v3/statements", Some(&token)).await;

    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        app.get("/api/v3/statements", Some(&other)).await.status,
        StatusCode::OK,
        "limits are per token"
    );
}
