//! Fixed-window rate limits per token and per address, the limits shared through PostgreSQL
//! by several instances, and tokens listed, revoked and expired.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use chrono::Utc;
use cpd_ledger::auth::{self, Authenticator, RateLimit, Role};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{TestApp, TestResponse};

/// The windows these tests count in.
const HOUR: u64 = 3600;

fn per_hour(requests: u32) -> RateLimit {
    RateLimit {
        requests: NonZeroU32::new(requests).expect("non-zero"),
        window: Duration::from_secs(HOUR),
    }
}

/// Seconds left in the current hour-long window.
fn left_in_window() -> u64 {
    HOUR - u64::try_from(Utc::now().timestamp()).unwrap() % HOUR
}

/// Waits out the end of the current window if it is close, so a test's requests share one.
async fn not_near_a_window_end() {
    let left = left_in_window();
    if left < 30 {
        tokio::time::sleep(Duration::from_secs(left + 1)).await;
    }
}

/// A request from `peer`, as a connection from that address would bring it.
async fn get_from(app: &TestApp, peer: &str, path: &str, token: Option<&str>) -> TestResponse {
    let mut request = Request::builder().method(Method::GET).uri(path);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut request = request.body(Body::empty()).expect("request");
    let peer: SocketAddr = format!("{peer}:40000").parse().expect("address");
    request.extensions_mut().insert(ConnectInfo(peer));
    app.send(request).await
}

fn assert_retry_later(response: &TestResponse) {
    assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.text, "Retry later\n");
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/plain"),
        "{:?}",
        response.headers
    );
    let retry_after: u64 = response.header("retry-after").unwrap().parse().unwrap();
    assert!(
        retry_after.abs_diff(left_in_window()) <= 2,
        "Retry-After {retry_after} is not the rest of the window ({})",
        left_in_window()
    );
}

#[sqlx::test]
async fn a_token_gets_its_quota_in_each_window_then_429_until_the_window_ends(pool: PgPool) {
    let app = TestApp::with_rate_limit(pool, Some(per_hour(3))).await;
    let (_, token) = app.provider("Teach First").await;
    let (_, other) = app.provider("Capita").await;
    not_near_a_window_end().await;

    for _ in 0..3 {
        let response = app.get("/api/v3/statements", Some(&token)).await;
        assert_eq!(response.status, StatusCode::OK);
    }
    let refused = app.get("/api/v3/statements", Some(&token)).await;
    let still_refused = app
        .get("/api/v3/participant-declarations", Some(&token))
        .await;

    assert_retry_later(&refused);
    assert_retry_later(&still_refused);
    let response = app.get("/api/v3/statements", Some(&other)).await;
    assert_eq!(response.status, StatusCode::OK, "limits are per token");
}

#[sqlx::test]
async fn an_address_over_its_limit_is_refused_before_any_token_is_looked_up(pool: PgPool) {
    let auth = Authenticator::new(pool.clone(), None).with_ip_limit(Some(per_hour(3)));
    let app = TestApp::with_authenticator(pool, auth).await;
    let (_, token) = app.provider("Teach First").await;
    let admin = app.staff_token(Role::Admin).await;
    not_near_a_window_end().await;

    for bad in ["", "Bearer nonsense", "Bearer 00ff"] {
        let bad = bad.strip_prefix("Bearer ");
        let response = get_from(&app, "10.0.0.1", "/api/v3/statements", bad).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }
    let refused = get_from(&app, "10.0.0.1", "/api/v3/statements", Some(&token)).await;

    assert_retry_later(&refused);
    let elsewhere = get_from(&app, "10.0.0.2", "/api/v3/statements", Some(&token)).await;
    assert_eq!(elsewhere.status, StatusCode::OK, "limits are per address");
    let staff = get_from(&app, "10.0.0.1", "/admin/tokens", Some(&admin)).await;
    assert_eq!(
        staff.status,
        StatusCode::OK,
        "only /api/* is limited per address"
    );
}

#[sqlx::test]
async fn behind_a_trusted_proxy_the_address_is_the_last_forwarded_one(pool: PgPool) {
    let auth = Authenticator::new(pool.clone(), None)
        .with_ip_limit(Some(per_hour(1)))
        .trusting_forwarded_for(true);
    let app = TestApp::with_authenticator(pool, auth).await;
    let (_, token) = app.provider("Teach First").await;
    not_near_a_window_end().await;
    let via_proxy = |client: &str| {
        Request::builder()
            .uri("/api/v3/statements")
            .header("Authorization", format!("Bearer {token}"))
            .header("X-Forwarded-For", format!("203.0.113.9, {client}"))
            .body(Body::empty())
            .expect("request")
    };

    let first = app.send(via_proxy("198.51.100.1")).await;
    let second_client = app.send(via_proxy("198.51.100.2")).await;
    let first_again = app.send(via_proxy("198.51.100.1")).await;

    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(second_client.status, StatusCode::OK);
    assert_retry_later(&first_again);
}

#[sqlx::test]
async fn instances_sharing_counters_in_postgres_share_one_quota_per_token_and_address(
    pool: PgPool,
) {
    let shared = || {
        Authenticator::new(pool.clone(), Some(per_hour(4)))
            .with_ip_limit(Some(per_hour(6)))
            .with_shared_counters()
    };
    let one = TestApp::with_authenticator(pool.clone(), shared()).await;
    let two = TestApp::with_authenticator(pool.clone(), shared()).await;
    let (_, token) = one.provider("Teach First").await;
    let (_, other) = one.provider("Capita").await;
    not_near_a_window_end().await;

    for app in [&one, &two, &one, &two] {
        let response = get_from(app, "10.0.0.1", "/api/v3/statements", Some(&token)).await;
        assert_eq!(response.status, StatusCode::OK);
    }
    let fifth_on_one = get_from(&one, "10.0.0.2", "/api/v3/statements", Some(&token)).await;
    let fifth_on_two = get_from(&two, "10.0.0.2", "/api/v3/statements", Some(&token)).await;
    for app in [&one, &two] {
        let response = get_from(app, "10.0.0.1", "/api/v3/statements", Some(&other)).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "another token, same address"
        );
    }
    let seventh_from_address = get_from(&two, "10.0.0.1", "/api/v3/statements", Some(&other)).await;

    assert_retry_later(&fifth_on_one);
    assert_retry_later(&fifth_on_two);
    assert_retry_later(&seventh_from_address);
}

/// Issues a lead provider token through the admin API; returns its id and secret.
async fn issue(app: &TestApp, admin: &str, extra: Value) -> (String, String) {
    let mut attributes = json!({"role": "lead_provider", "lead_provider": "Teach First"});
    attributes
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let body = json!({"data": {"type": "token", "attributes": attributes}}).to_string();
    let response = app.post("/admin/tokens", Some(admin), &body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    let data = &response.json()["data"];
    let secret = data["attributes"]["token"].as_str().unwrap().to_owned();
    (data["id"].as_str().unwrap().to_owned(), secret)
}

fn assert_same_as_unknown(response: &TestResponse, unknown: &TestResponse) {
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.text, unknown.text);
    assert_eq!(
        response.header("www-authenticate"),
        unknown.header("www-authenticate")
    );
}

#[sqlx::test]
async fn a_revoked_token_is_refused_at_once_like_an_unknown_one_and_the_admin_is_recorded(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    app.provider("Teach First").await;
    let admin = app.staff_token(Role::Admin).await;
    let (id, token) = issue(&app, &admin, json!({})).await;
    let used = app.get("/api/v3/statements", Some(&token)).await;
    assert_eq!(used.status, StatusCode::OK);

    let path = format!("/admin/tokens/{id}/revoke");
    let revoked = app.request(Method::PUT, &path, Some(&admin), None).await;
    let again = app.request(Method::PUT, &path, Some(&admin), None).await;

    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
    assert!(revoked.json()["data"]["attributes"]["revoked_at"].is_string());
    assert_eq!(
        again.status,
        StatusCode::OK,
        "revoking twice changes nothing"
    );
    let unknown = app.get("/api/v3/statements", Some("not-a-token")).await;
    let refused = app.get("/api/v3/statements", Some(&token)).await;
    assert_same_as_unknown(&refused, &unknown);
    let admin_id = auth::list_tokens(&pool)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.role == "admin")
        .unwrap()
        .id;
    let events: Vec<(String, Value)> = sqlx::query_as(
        "select event_type, metadata from events where aggregate_type = 'api_token' and aggregate_id = $1",
    )
    .bind(&id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "Revoked");
    assert_eq!(events[0].1["actor_type"], "admin");
    assert_eq!(events[0].1["actor_id"], admin_id.to_string());
}

#[sqlx::test]
async fn another_instance_stops_accepting_a_revoked_token_within_its_cache_lifetime(pool: PgPool) {
    let cached = |ttl| Authenticator::new(pool.clone(), None).with_cache_ttl(ttl);
    let one = TestApp::with_authenticator(pool.clone(), cached(Duration::from_secs(1))).await;
    let two = TestApp::with_authenticator(pool.clone(), cached(Duration::from_secs(1))).await;
    one.provider("Teach First").await;
    let admin = one.staff_token(Role::Admin).await;
    let (id, token) = issue(&one, &admin, json!({})).await;
    let used = two.get("/api/v3/statements", Some(&token)).await;
    assert_eq!(used.status, StatusCode::OK);

    let path = format!("/admin/tokens/{id}/revoke");
    let revoked = one.request(Method::PUT, &path, Some(&admin), None).await;
    assert_eq!(revoked.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let refused = two.get("/api/v3/statements", Some(&token)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn an_expired_token_is_refused_like_an_unknown_one(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (provider, _) = app.provider("Teach First").await;
    let soon = Utc::now() + chrono::TimeDelta::milliseconds(1500);
    let issued =
        auth::create_token_until(&pool, Role::LeadProvider, Some(provider), "t", Some(soon))
            .await
            .unwrap();
    let before = app.get("/api/v3/statements", Some(&issued.token)).await;
    assert_eq!(before.status, StatusCode::OK);

    tokio::time::sleep(Duration::from_millis(1600)).await;
    let after = app.get("/api/v3/statements", Some(&issued.token)).await;

    let unknown = app.get("/api/v3/statements", Some("not-a-token")).await;
    assert_same_as_unknown(&after, &unknown);
}

#[sqlx::test]
async fn tokens_are_listed_with_holder_and_dates_but_never_their_secret(pool: PgPool) {
    let app = TestApp::new(pool).await;
    app.provider("Teach First").await;
    let admin = app.staff_token(Role::Admin).await;
    let (id, secret) = issue(&app, &admin, json!({"expires_in": "90d"})).await;
    let bad_period = json!({"data": {"type": "token", "attributes":
        {"role": "finance", "expires_in": "soon"}}});

    let listing = app.get("/admin/tokens", Some(&admin)).await;
    let refused = app
        .post("/admin/tokens", Some(&admin), &bad_period.to_string())
        .await;
    let as_provider = app.get("/admin/tokens", Some(&secret)).await;

    assert_eq!(listing.status, StatusCode::OK);
    assert!(!listing.text.contains(&secret) && !listing.text.contains(&admin));
    let tokens = listing.json()["data"].as_array().unwrap().clone();
    let issued = tokens.iter().find(|t| t["id"] == id.as_str()).unwrap();
    let attributes = &issued["attributes"];
    assert_eq!(attributes["role"], "lead_provider");
    assert_eq!(attributes["lead_provider"], "Teach First");
    assert!(attributes["created_at"].is_string());
    assert!(attributes["revoked_at"].is_null());
    let expires =
        chrono::DateTime::parse_from_rfc3339(attributes["expires_at"].as_str().unwrap()).unwrap();
    let days = (expires.with_timezone(&Utc) - Utc::now()).num_hours();
    assert!((89 * 24..=90 * 24).contains(&days), "{days} hours");
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.json()["errors"][0]["title"], "expires_in");
    assert_eq!(as_provider.status, StatusCode::FORBIDDEN);
}

#[sqlx::test]
async fn revoking_a_token_that_does_not_exist_is_404(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.staff_token(Role::Admin).await;

    let path = format!("/admin/tokens/{}/revoke", uuid::Uuid::new_v4());
    let response = app.request(Method::PUT, &path, Some(&admin), None).await;
    let malformed = app
        .request(Method::PUT, "/admin/tokens/x/revoke", Some(&admin), None)
        .await;

    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(malformed.status, StatusCode::NOT_FOUND);
}
