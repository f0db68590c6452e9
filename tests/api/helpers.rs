//! Builds a service over a test database and drives it like a client would.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use aggregates::reference::LeadProvider;
use aggregates::{
    LeadProviderId, Programme, Statement, StatementCommand, StatementId, StatementTerms,
};
use aggregates::{Record, RecordCommand, Registered};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::NaiveDate;
use cpd_ledger::auth::{self, Authenticator, RateLimit, Role};
use cpd_ledger::ledger::{Actor, CommandContext, Ledger};
use cpd_ledger::seed::{self, SeedSet};
use cpd_ledger::{AppState, app};
use http_body_util::BodyExt;
use projections::Runner;
use serde_json::Value;
use sqlx::PgPool;
use tower::ServiceExt;

/// The service under test, with its database.
pub struct TestApp {
    pub pool: PgPool,
    pub ledger: Ledger,
    router: Router,
}

/// What the service answered.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl TestResponse {
    /// The body as JSON; panics with the body if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    /// A service without rate limits, its read models followed by a live runner.
    pub async fn new(pool: PgPool) -> Self {
        Self::with_rate_limit(pool, None).await
    }

    /// A service with the given per-token limit.
    pub async fn with_rate_limit(pool: PgPool, limit: Option<RateLimit>) -> Self {
        let runner = Runner::new(pool.clone(), projections::all())
            .await
            .expect("runner");
        tokio::spawn(runner.clone().run());
        let ledger = Ledger::new(pool.clone(), runner);
        let state = AppState {
            pool: pool.clone(),
            ledger: ledger.clone(),
            auth: Arc::new(Authenticator::new(pool.clone(), limit)),
        };
        Self {
            pool,
            ledger,
            router: app(state),
        }
    }

    pub async fn seed(&self, set: SeedSet) {
        seed::load(&self.ledger, set).await.expect("seed loads");
    }

    /// Registers a lead provider and issues it a token.
    pub async fn provider(&self, name: &str) -> (LeadProviderId, String) {
        let provider = LeadProvider {
            name: name.to_owned(),
            ecf: true,
            npq: true,
        };
        let id = LeadProviderId::from_name(name);
        self.ledger
            .execute::<Registered<LeadProvider>>(
                &provider.aggregate_id(),
                RecordCommand::Register(provider),
                &CommandContext::of(Actor::Seed),
            )
            .await
            .expect("provider registers");
        let issued = auth::create_token(&self.pool, Role::LeadProvider, Some(id), "test")
            .await
            .expect("token");
        (id, issued.token)
    }

    /// Issues a staff token.
    pub async fn staff_token(&self, role: Role) -> String {
        auth::create_token(&self.pool, role, None, "test")
            .await
            .expect("token")
            .token
    }

    /// Creates a statement through its aggregate and waits for the read model.
    pub async fn statement(&self, terms: StatementTerms) -> StatementId {
        let id = StatementId::for_calendar(
            terms.lead_provider_id,
            terms.programme,
            terms.cohort,
            &terms.name,
        );
        self.ledger
            .execute::<Statement>(
                &id.to_string(),
                StatementCommand::Create(terms),
                &CommandContext::of(Actor::Seed),
            )
            .await
            .expect("statement is created");
        id
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &str) -> TestResponse {
        self.request(Method::POST, path, token, Some(body.to_owned()))
            .await
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request.header("Content-Type", "application/json");
        }
        let request = request
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .expect("request");
        self.send(request).await
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        TestResponse {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

/// An ECF statement of the given provider, cohort and month.
pub fn ecf_statement(
    provider: LeadProviderId,
    cohort: i32,
    name: &str,
    deadline: NaiveDate,
    payment: NaiveDate,
) -> StatementTerms {
    StatementTerms {
        lead_provider_id: provider,
        programme: Programme::Ecf,
        cohort,
        name: name.to_owned(),
        deadline_date: deadline,
        payment_date: payment,
        output_fee: true,
    }
}

pub fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("valid date")
}

/// A limit of `requests` per minute.
pub fn per_minute(requests: u32) -> RateLimit {
    RateLimit {
        requests: NonZeroU32::new(requests).expect("non-zero"),
        window: Duration::from_secs(60),
    }
}
