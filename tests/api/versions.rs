//! v1, v2 and v3 side by side: one scenario through each version changes the ledger the same
//! way, and every event records the version its command came through.

use aggregates::ParticipantId;
use aggregates::course::ParticipantType;
use axum::http::{Method, StatusCode};
use cpd_ledger::auth::Role;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{TestApp, TestResponse, ect, started};

/// A sandbox-dated service with the schedules, one school trained by Ambition Institute (ECF
/// and NPQ), and an admin to send NPQ applications.
pub struct World {
    pub app: TestApp,
    pub admin: String,
    pub token: String,
}

pub async fn world(pool: PgPool) -> World {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let school = app.ecf_school("Ambition Institute", "100001", 2022).await;
    let admin = app.staff_token(Role::Admin).await;
    World {
        app,
        admin,
        token: school.token,
    }
}

pub fn ok(response: &TestResponse) -> Value {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.json()["data"].clone()
}

impl World {
    /// An ECT at the school with a validated TRN, registered as the school would.
    pub async fn ect(&self, name: &str) -> ParticipantId {
        let mut new = ect("100001", name);
        new.trn = Some(trn());
        new.trn_validated = true;
        self.app.participant(new).await.0
    }

    /// Adds a mentor record to an ECT's person.
    pub async fn also_mentor(&self, participant: ParticipantId) {
        let mut mentor = ect("100001", "Jane Smith");
        mentor.participant_id = Some(participant);
        mentor.participant_type = ParticipantType::Mentor;
        self.app.participant(mentor).await;
    }

    /// Sends an NPQ headship application for Ambition Institute; returns its id and person.
    pub async fn apply(&self, name: &str) -> (String, String) {
        let person = Uuid::new_v4().to_string();
        let attributes = json!({
            "participant_id": person,
            "full_name": name,
            "email": format!("{}@example.com", name.to_lowercase().replace(' ', ".")),
            "cohort": 2022,
            "course_identifier": "npq-headship",
            "lead_provider": "Ambition Institute",
            "eligible_for_funding": true,
            "school_urn": "100001",
            "headteacher_status": "no",
            "funding_choice": "school",
            "teacher_catchment": "england",
            "teacher_reference_number": trn(),
            "teacher_reference_number_validated": true,
            "school_ukprn": "10000001",
        });
        let body = json!({"data": {"type": "npq-application", "attributes": attributes}});
        let response = self
            .app
            .post(
                "/admin/npq-applications",
                Some(&self.admin),
                &body.to_string(),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
        let id = response.json()["data"]["id"].as_str().unwrap().to_owned();
        (id, person)
    }

    /// POSTs a JSON:API body (or none) as the provider.
    pub async fn post(&self, path: &str, attributes: Option<Value>) -> TestResponse {
        let body = attributes
            .map(|a| json!({"data": {"type": "participant-declaration", "attributes": a}}))
            .map_or_else(String::new, |b| b.to_string());
        self.app.post(path, Some(&self.token), &body).await
    }

    /// PUTs a JSON:API body (or none) as the provider.
    pub async fn put(&self, path: &str, attributes: Option<Value>) -> TestResponse {
        match attributes {
            Some(attributes) => self.app.put(path, Some(&self.token), attributes).await,
            None => {
                self.app
                    .request(Method::PUT, path, Some(&self.token), None)
                    .await
            }
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.app.get(path, Some(&self.token)).await
    }
}

/// A made-up teacher reference number, different each time.
fn trn() -> String {
    format!("{:07}", Uuid::new_v4().as_u128() % 10_000_000)
}

/// The aggregate and event types the provider's commands through `version` wrote, in order.
async fn events_through(pool: &PgPool, version: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        r#"
        select aggregate_type, event_type from events
        where metadata->>'api_version' = $1
        order by position
        "#,
    )
    .bind(version)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn declare_void_withdraw_and_accept_change_the_ledger_alike_in_every_version(pool: PgPool) {
    let w = world(pool.clone()).await;
    let mut outcomes = Vec::new();

    for version in ["v1", "v2", "v3"] {
        let participant = w.ect(&format!("Jane {version}")).await;
        let (application, sam) = w.apply(&format!("Sam {version}")).await;
        let api = |rest: &str| format!("/api/{version}{rest}");

        let declared = ok(&w
            .post(
                &api("/participant-declarations"),
                Some(started(participant)),
            )
            .await);
        let declaration = declared["id"].as_str().unwrap().to_owned();
        let voided = ok(&w
            .put(
                &api(&format!("/participant-declarations/{declaration}/void")),
                None,
            )
            .await);
        assert_eq!(voided["attributes"]["state"], "voided");
        ok(&w
            .put(
                &api(&format!("/participants/ecf/{participant}/withdraw")),
                Some(json!({"course_identifier": "ecf-induction", "reason": "moved-school"})),
            )
            .await);
        let accepted = ok(&w
            .post(
                &api(&format!("/npq-applications/{application}/accept")),
                None,
            )
            .await);
        assert_eq!(accepted["attributes"]["status"], "accepted");

        // Read back through v3, the version-independent view.
        let declaration = ok(&w
            .get(&format!("/api/v3/participant-declarations/{declaration}"))
            .await);
        let person = ok(&w
            .get(&format!("/api/v3/participants/ecf/{participant}"))
            .await);
        let application = ok(&w
            .get(&format!("/api/v3/npq-applications/{application}"))
            .await);
        let sam = ok(&w.get(&format!("/api/v3/participants/npq/{sam}")).await);
        outcomes.push(json!({
            "declaration_state": declaration["attributes"]["state"],
            "training_status": person["attributes"]["ecf_enrolments"][0]["training_status"],
            "withdrawal_reason": person["attributes"]["ecf_enrolments"][0]["withdrawal"]["reason"],
            "application_status": application["attributes"]["status"],
            "schedule": sam["attributes"]["npq_enrolments"][0]["schedule_identifier"],
        }));
    }

    assert_eq!(outcomes[0], outcomes[1], "v1 and v2 end alike");
    assert_eq!(outcomes[1], outcomes[2], "v2 and v3 end alike");
    assert_eq!(
        outcomes[0],
        json!({
            "declaration_state": "voided",
            "training_status": "withdrawn",
            "withdrawal_reason": "moved-school",
            "application_status": "accepted",
            "schedule": "npq-leadership-autumn",
        })
    );
    let v1 = events_through(&pool, "v1").await;
    assert!(v1.len() >= 4, "{v1:?}");
    assert_eq!(v1, events_through(&pool, "v2").await);
    assert_eq!(v1, events_through(&pool, "v3").await);
}

#[sqlx::test]
async fn each_event_records_the_api_version_its_command_came_through(pool: PgPool) {
    let w = world(pool.clone()).await;
    let jane = w.ect("Jane Smith").await;
    let john = w.ect("John Smith").await;

    ok(&w
        .post("/api/v1/participant-declarations", Some(started(jane)))
        .await);
    ok(&w
        .post("/api/v2/participant-declarations", Some(started(john)))
        .await);
    ok(&w
        .put(
            &format!("/api/v1/participants/{john}/defer"),
            Some(json!({"course_identifier": "ecf-induction", "reason": "career-break"})),
        )
        .await);

    let versions: Vec<(String, Option<String>)> = sqlx::query_as(
        r#"
        select event_type, metadata->>'api_version' from events
        where metadata->>'actor_type' = 'lead_provider'
        order by position
        "#,
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let through = |version: &str| {
        versions
            .iter()
            .filter(|(_, v)| v.as_deref() == Some(version))
            .count()
    };
    assert!(through("v1") >= 2, "{versions:?}");
    assert!(through("v2") >= 1, "{versions:?}");
    assert_eq!(
        through("v1") + through("v2"),
        versions.len(),
        "every provider event names its version: {versions:?}"
    );
}
