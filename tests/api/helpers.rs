//! Builds a service over a test database and drives it like a client would.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use aggregates::course::ParticipantType;
use aggregates::reference::LeadProvider;
use aggregates::reference::{Cohort, DeliveryPartner, ProviderRelationship, School};
use aggregates::{DeliveryPartnerId, SchoolId};
use aggregates::{
    LeadProviderId, Programme, Statement, StatementCommand, StatementId, StatementTerms,
};
use aggregates::{ParticipantId, TrainingRecordId};
use aggregates::{Record, RecordCommand, Registered};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::NaiveDate;
use cpd_ledger::auth::{self, Authenticator, RateLimit, Role};
use cpd_ledger::clock::Clock;
use cpd_ledger::flows::partnerships::{self, Confirmation};
use cpd_ledger::flows::school::{self, NewParticipant};
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
    /// Reads a whole response, from the router or over a socket.
    pub async fn read<B>(response: axum::http::Response<B>) -> Self
    where
        B: BodyExt,
        B::Error: std::fmt::Debug,
    {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Self {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

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
        let auth = Authenticator::new(pool.clone(), limit);
        Self::with_authenticator(pool, auth).await
    }

    /// A service whose tokens and limits `auth` checks.
    pub async fn with_authenticator(pool: PgPool, auth: Authenticator) -> Self {
        Self::build(pool, auth, projections::all(), Duration::from_secs(60)).await
    }

    /// A service whose writes wait at most a second for the read models: for tests of writes
    /// that a held-back read model does not show yet.
    pub async fn impatient(pool: PgPool) -> Self {
        Self::following(pool, projections::all(), Duration::from_secs(1)).await
    }

    /// A service without rate limits whose runner drives these read models, and whose writes
    /// wait at most `settle` for them.
    pub async fn following(
        pool: PgPool,
        read_models: Vec<Arc<dyn projections::Projection>>,
        settle: Duration,
    ) -> Self {
        let auth = Authenticator::new(pool.clone(), None);
        Self::build(pool, auth, read_models, settle).await
    }

    /// A service whose runner drives these read models, and whose writes wait at most
    /// `settle` for them. The default allows for a server made busy by a parallel test run.
    pub async fn build(
        pool: PgPool,
        auth: Authenticator,
        read_models: Vec<Arc<dyn projections::Projection>>,
        settle: Duration,
    ) -> Self {
        let runner = Runner::new(pool.clone(), read_models)
            .await
            .expect("runner");
        tokio::spawn(runner.clone().run());
        let ledger = Ledger::new(pool.clone(), runner).with_settle_timeout(settle);
        let state = AppState {
            pool: pool.clone(),
            ledger: ledger.clone(),
            auth: Arc::new(auth),
            clock: Clock::Sandbox(None),
        };
        Self {
            pool,
            ledger,
            router: app(state),
        }
    }

    /// Waits until the read models show every write answered so far, as every request does
    /// before it reads them: for tests that read the tables themselves.
    pub async fn shown(&self) {
        self.ledger.read_barrier(&[]).await.expect("read barrier");
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
        TestResponse::read(response).await
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

/// A school in partnership with a provider for a cohort, ready for ECF participants.
pub struct EcfSchool {
    pub token: String,
    pub delivery_partner: aggregates::DeliveryPartnerId,
}

impl TestApp {
    /// Registers every schedule (the milestone windows declarations are checked against).
    pub async fn schedules(&self) {
        cpd_ledger::seed::reference::load_schedules(&self.ledger)
            .await
            .expect("schedules load");
        self.ledger
            .runner()
            .catch_up()
            .await
            .expect("read models catch up");
    }

    /// A school with URN `urn` in partnership with `provider_name` for `cohort`.
    pub async fn ecf_school(&self, provider_name: &str, urn: &str, cohort: i32) -> EcfSchool {
        let (provider, token) = self.provider(provider_name).await;
        let partner = DeliveryPartner {
            name: format!("Partner of {provider_name}"),
        };
        let delivery_partner = DeliveryPartnerId::from_name(&partner.name);
        self.record(partner).await;
        self.school(urn, true, false).await;
        self.relationship(provider, delivery_partner, cohort).await;
        let confirmation = Confirmation {
            cohort: Some(cohort.to_string()),
            school_id: Some(SchoolId::from_urn(urn).to_string()),
            delivery_partner_id: Some(delivery_partner.to_string()),
        };
        partnerships::confirm(
            &self.ledger,
            provider,
            &confirmation,
            chrono::Utc::now(),
            &CommandContext::of(Actor::Seed),
        )
        .await
        .expect("partnership is confirmed");
        EcfSchool {
            token,
            delivery_partner,
        }
    }

    /// Registers a cohort (from its start year).
    pub async fn cohort(&self, year: i32) {
        self.record(Cohort {
            start_year: year,
            registration_start_date: day(year, 5, 10),
            academic_year_start_date: day(year, 9, 1),
            npq_registration_start_date: None,
        })
        .await;
    }

    /// Registers a school with a tutor.
    pub async fn school(&self, urn: &str, eligible: bool, cip_only: bool) {
        self.record(School {
            urn: urn.to_owned(),
            name: format!("School {urn}"),
            eligible,
            cip_only,
            induction_tutor_name: Some("Ida Tutor".to_owned()),
            induction_tutor_email: Some(format!("tutor@{urn}.example.com")),
        })
        .await;
    }

    /// Registers that a provider works with a delivery partner in a cohort (and the cohort).
    pub async fn relationship(
        &self,
        provider: LeadProviderId,
        partner: DeliveryPartnerId,
        cohort: i32,
    ) {
        self.cohort(cohort).await;
        self.record(ProviderRelationship {
            lead_provider_id: provider,
            delivery_partner_id: partner,
            cohort,
        })
        .await;
    }

    /// Registers a reference record and waits for the read models.
    pub async fn record<R: Record>(&self, record: R) {
        self.ledger
            .execute::<Registered<R>>(
                &record.aggregate_id(),
                RecordCommand::Register(record),
                &CommandContext::of(Actor::Seed),
            )
            .await
            .expect("record registers");
    }

    /// Registers an ECF participant at a school (as the school would).
    pub async fn participant(&self, new: NewParticipant) -> (ParticipantId, TrainingRecordId) {
        school::register(&self.ledger, new, &CommandContext::of(Actor::Admin(None)))
            .await
            .expect("participant registers")
    }

    /// POSTs a declaration with these attributes.
    pub async fn declare(&self, token: &str, attributes: Value) -> TestResponse {
        let body = serde_json::json!({"data": {"type": "participant-declaration", "attributes": attributes}});
        self.post(
            "/api/v3/participant-declarations",
            Some(token),
            &body.to_string(),
        )
        .await
    }

    /// PUTs a JSON:API body.
    pub async fn put(&self, path: &str, token: Option<&str>, attributes: Value) -> TestResponse {
        let body =
            serde_json::json!({"data": {"type": "participant-action", "attributes": attributes}});
        self.request(Method::PUT, path, token, Some(body.to_string()))
            .await
    }

    /// GETs as if it were `now` (the sandbox's X-With-Server-Date).
    pub async fn get_at(&self, path: &str, token: &str, now: &str) -> TestResponse {
        let request = Request::get(path)
            .header("Authorization", format!("Bearer {token}"))
            .header("X-With-Server-Date", now)
            .body(Body::empty())
            .expect("request");
        self.send(request).await
    }
}

/// An ECT at `urn` in cohort 2022, fundable, with a pupil premium uplift.
pub fn ect(urn: &str, name: &str) -> NewParticipant {
    NewParticipant {
        participant_id: None,
        training_record_id: None,
        participant_type: ParticipantType::Ect,
        full_name: name.to_owned(),
        email: format!("{}@example.com", name.to_lowercase().replace(' ', ".")),
        trn: None,
        trn_validated: false,
        school_urn: urn.to_owned(),
        cohort: 2022,
        schedule_identifier: None,
        eligible_for_funding: Some(true),
        pupil_premium_uplift: true,
        sparsity_uplift: false,
        mentor_id: None,
        start: "2022-09-01T00:00:00Z".parse().expect("date"),
    }
}

/// A `started` declaration for an ECT, dated inside the 2022 September window.
pub fn started(participant: ParticipantId) -> Value {
    serde_json::json!({
        "participant_id": participant.to_string(),
        "declaration_type": "started",
        "declaration_date": "2022-10-01T10:00:00Z",
        "course_identifier": "ecf-induction",
    })
}

impl TestApp {
    /// The service's router, to serve over a real socket.
    pub fn router(&self) -> Router {
        self.router.clone()
    }
}

/// Holds, in another session, a lock that lets read models read `table` but not write it: a
/// read model that writes there cannot apply anything until the returned connection rolls back.
pub async fn hold_writes_to(pool: &PgPool, table: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    let mut held = sqlx::PgConnection::connect_with(&pool.connect_options())
        .await
        .unwrap();
    sqlx::query("begin").execute(&mut held).await.unwrap();
    sqlx::query(&format!("lock table {table} in exclusive mode"))
        .execute(&mut held)
        .await
        .unwrap();
    held
}

/// Ends a [`hold_writes_to`] in 300 ms, once the request under test has begun.
pub fn release_soon(mut held: sqlx::PgConnection) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        sqlx::query("rollback").execute(&mut held).await.unwrap();
    })
}

/// Waits (at most ten seconds) until `check` holds, as a read model catches up; panics if it
/// never does.
pub async fn eventually<F, Fut>(check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the read models never caught up");
}
