//! The instances: real `cpd-ledger serve` processes on the test's database, and a client
//! that talks to each over its socket.

use std::process::Stdio;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{Method, Request};
use cpd_ledger::metrics::{LEADER, SCHEDULER_RUNS};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::io::AsyncBufReadExt;
use tokio::process::Child;

use crate::helpers::TestResponse;

/// Requests per token in a window, across all instances.
pub(super) const QUOTA: usize = 100;
/// How often an instance campaigns for the schedulers' leadership.
const LEADER_CHECK_MS: &str = "200";

/// One `cpd-ledger serve` process.
pub(super) struct Instance {
    pub(super) process: Child,
    address: String,
}

/// Starts `cpd-ledger serve` on `url`, sharing its rate-limit counters in PostgreSQL.
pub(super) async fn start(url: &str) -> Instance {
    let mut process = tokio::process::Command::new(env!("CARGO_BIN_EXE_cpd-ledger"))
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .args(["serve", "--port", "0", "--rate-limit-store", "postgres"])
        .args(["--rate-limit-requests", &QUOTA.to_string()])
        .args(["--ip-rate-limit-requests", "100000"])
        .args(["--leader-check-ms", LEADER_CHECK_MS])
        .args(["--shutdown-drain-seconds", "0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cpd-ledger starts");
    let stdout = process.stdout.take().expect("piped");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let listening = async {
        while let Some(line) = lines.next_line().await.expect("stdout") {
            if let Some(address) = line.strip_prefix("cpd-ledger is listening on ") {
                return address.to_owned();
            }
        }
        panic!("the instance ended before listening")
    };
    let address = tokio::time::timeout(Duration::from_secs(60), listening)
        .await
        .expect("the instance listens");
    Instance { process, address }
}

/// A client of the instances over real sockets.
pub(super) struct Clients(Client<HttpConnector, Full<Bytes>>);

impl Clients {
    pub(super) fn new() -> Self {
        Self(Client::builder(TokioExecutor::new()).build_http())
    }

    pub(super) async fn send(
        &self,
        instance: &Instance,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> TestResponse {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", instance.address));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request.header("Content-Type", "application/json");
        }
        let body = body.map_or_else(Bytes::new, |body| Bytes::from(body.to_string()));
        let response = self
            .0
            .request(request.body(Full::new(body)).expect("request"))
            .await
            .expect("the instance answers");
        TestResponse::read(response).await
    }

    pub(super) async fn get(
        &self,
        instance: &Instance,
        path: &str,
        token: Option<&str>,
    ) -> TestResponse {
        self.send(instance, Method::GET, path, token, None).await
    }

    pub(super) async fn post(
        &self,
        instance: &Instance,
        path: &str,
        token: &str,
        body: Value,
    ) -> TestResponse {
        self.send(instance, Method::POST, path, Some(token), Some(body))
            .await
    }

    pub(super) async fn declare(
        &self,
        instance: &Instance,
        token: &str,
        attributes: Value,
    ) -> TestResponse {
        let body = json!({"data": {"type": "participant-declaration", "attributes": attributes}});
        self.post(instance, "/api/v3/participant-declarations", token, body)
            .await
    }

    /// The value of the series `series` (with its labels, as rendered) on `instance`; 0 when absent.
    async fn metric(&self, instance: &Instance, series: &str) -> f64 {
        let text = self.get(instance, "/metrics", None).await.text;
        text.lines()
            .filter_map(|line| line.rsplit_once(' '))
            .find(|(name, _)| *name == series)
            .map_or(0.0, |(_, value)| value.parse().expect("a number"))
    }

    /// Which of `instances` lead the schedulers, by index.
    async fn leaders(&self, instances: &[&Instance]) -> Vec<usize> {
        let mut leaders = Vec::new();
        for (index, instance) in instances.iter().enumerate() {
            if self.metric(instance, LEADER).await == 1.0 {
                leaders.push(index);
            }
        }
        leaders
    }

    /// Waits until exactly one of `instances` leads; returns its index and how long it took.
    pub(super) async fn one_leader(&self, instances: &[&Instance]) -> (usize, Duration) {
        let started = Instant::now();
        loop {
            if let [leader] = self.leaders(instances).await[..] {
                return (leader, started.elapsed());
            }
            assert!(started.elapsed() < Duration::from_secs(15), "nobody leads");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `instance` has finished a scheduler run (a run counts once it ends, after
    /// what it wrote shows).
    pub(super) async fn has_run(&self, instance: &Instance) {
        let started = Instant::now();
        while self.scheduler_runs(instance).await < 1.0 {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no scheduler run"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(super) async fn scheduler_runs(&self, instance: &Instance) -> f64 {
        let series = format!("{SCHEDULER_RUNS}{{job=\"close_due_statements\",outcome=\"ok\"}}");
        self.metric(instance, &series).await
    }
}

/// The URL of the test's own database, for the processes.
pub(super) async fn database_url(pool: &PgPool) -> String {
    let database: String = sqlx::query_scalar("select current_database()")
        .fetch_one(pool)
        .await
        .unwrap();
    let server = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    format!("{}/{database}", server.rsplit_once('/').unwrap().0)
}
