//! The finance pages in a real browser: headless Chromium, driven through chromedriver,
//! against the service listening on a socket. Chromium is required: without it the test fails.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aggregates::reference::{Band, EcfContract};
use aggregates::{LeadProviderId, ParticipantId, StatementId};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Timelike, Utc};
use cpd_ledger::auth::{self, Role};
use cpd_ledger::finance;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::process::{Child, Command};

use crate::helpers::{TestApp, day, ecf_statement, ect, started};

const INSTALL: &str = "the finance browser test needs Debian's chromium and chromium-driver \
                       packages (apt-get install chromium chromium-driver; .ci/run installs them)";

/// A contract with bands of ten and a £100 uplift.
fn contract(provider: LeadProviderId) -> EcfContract {
    let band = |min, max, price: i64| Band {
        min: Some(min),
        max,
        per_participant: Decimal::from(price),
        output_payment_percentage: Decimal::from(60),
        service_fee_percentage: Decimal::from(40),
    };
    EcfContract {
        lead_provider_id: provider,
        cohort: 2022,
        version: "0.0.1".into(),
        recruitment_target: 4500,
        revised_target: Some(4590),
        set_up_fee: Decimal::ZERO,
        monthly_service_fee: Some(Decimal::ZERO),
        uplift_amount: Decimal::from(100),
        uplift_target: Decimal::new(33, 2),
        bands: vec![band(0, 10, 995), band(11, 20, 979), band(21, 30, 966)],
    }
}

/// Teach First's November 2022 statement, payable, holding Jane's and Ahmed's started
/// declarations; February 2023 still open.
struct World {
    app: TestApp,
    finance_token: String,
    finance_token_id: uuid::Uuid,
    provider: LeadProviderId,
    november: StatementId,
    february: StatementId,
    before_close: DateTime<Utc>,
    school_token: String,
    jane_declaration: String,
}

async fn world(pool: PgPool) -> World {
    let app = TestApp::new(pool).await;
    app.schedules().await;
    let school = app.ecf_school("Teach First", "100001", 2022).await;
    let provider = LeadProviderId::from_name("Teach First");
    app.record(contract(provider)).await;
    let november = ecf_statement(
        provider,
        2022,
        "November 2022",
        day(2022, 11, 30),
        day(2022, 12, 25),
    );
    let november = app.statement(november).await;
    let february = ecf_statement(
        provider,
        2022,
        "February 2023",
        day(2023, 1, 31),
        day(2023, 2, 25),
    );
    let february = app.statement(february).await;
    let mut declarations = Vec::new();
    for name in ["Jane Smith", "Ahmed Khan"] {
        let (participant, _) = app.participant(ect("100001", name)).await;
        declarations.push(declare(&app, &school.token, participant).await);
    }
    // "As of" is over the instants events were recorded: pick a whole second between the
    // declarations and the close.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before_close = Utc::now().with_nanosecond(0).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    finance::close_due(&app.ledger, "2022-12-01T00:00:00Z".parse().unwrap())
        .await
        .unwrap();
    let issued = auth::create_token(&app.pool, Role::Finance, None, "test")
        .await
        .unwrap();
    World {
        app,
        finance_token: issued.token,
        finance_token_id: issued.id,
        provider,
        november,
        february,
        before_close,
        school_token: school.token,
        jane_declaration: declarations.swap_remove(0),
    }
}

/// Declares a start as the school's provider; answers the declaration's id.
async fn declare(app: &TestApp, token: &str, participant: ParticipantId) -> String {
    let body =
        json!({"data": {"type": "participant-declaration", "attributes": started(participant)}});
    let request = Request::post("/api/v3/participant-declarations")
        .header("Authorization", format!("Bearer {token}"))
        .header("X-With-Server-Date", "2022-10-02T09:00:00Z")
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.json()["data"]["id"].as_str().unwrap().to_owned()
}

/// The value of the first hidden `csrf` field of a page.
fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page has a form with a CSRF token")
        .to_owned()
}

/// A form POST, with a session cookie when given.
fn form_post(path: &str, cookie: Option<&str>, body: String) -> Request<Body> {
    let mut request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("X-With-Server-Date", "2022-12-20T09:00:00Z");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::from(body)).unwrap()
}

/// A GET with a session cookie.
async fn get_with(app: &TestApp, path: &str, cookie: &str) -> crate::helpers::TestResponse {
    let request = Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    app.send(request).await
}

/// Headless Chromium under chromedriver, ended when dropped.
struct Browser {
    client: Client,
    _driver: Child,
    downloads: PathBuf,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("an address").port()
}

async fn browser() -> Browser {
    let port = free_port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start chromedriver ({e}): {INSTALL}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not start: {INSTALL}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let downloads = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("downloads-{port}"));
    std::fs::create_dir_all(&downloads).unwrap();
    let mut capabilities = Capabilities::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,1024"],
            "prefs": {
                "download.default_directory": downloads,
                "download.prompt_for_download": false,
            },
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_or_else(|e| panic!("chromedriver cannot start Chromium ({e}): {INSTALL}"));
    Browser {
        client,
        _driver: driver,
        downloads,
    }
}

impl Browser {
    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => {
                let page = self.client.source().await.unwrap_or_default();
                panic!("no {css} on the page ({e}):\n{page}")
            }
        }
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits for the browser to arrive at `expected` (path and query), failing with the page
    /// it shows instead.
    async fn arrive(&self, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.path().await != expected {
            if Instant::now() > deadline {
                let text = self.text("body").await;
                panic!(
                    "expected {expected}, still at {}: {text}",
                    self.path().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        std::fs::write(&path, png).unwrap();
        path
    }

    /// The first CSV file to land in the download folder.
    async fn downloaded_csv(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let done = std::fs::read_dir(&self.downloads)
                .unwrap()
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .find(|path| path.extension().is_some_and(|ext| ext == "csv"));
            if let Some(path) = done {
                return std::fs::read_to_string(path).unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "the assurance report did not download"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[sqlx::test]
async fn finance_signs_in_reads_a_statement_as_it_stood_downloads_its_report_and_pays_it(
    pool: PgPool,
) {
    let b = browser().await;
    let w = world(pool.clone()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(axum::serve(listener, w.app.router()).into_future());
    let expected = finance::breakdown(&w.app.pool, w.november, None, |_| {})
        .await
        .unwrap()
        .unwrap();

    // Signing in: the pages send a browser without a session to the login form.
    b.client.goto(&format!("{base}/finance")).await.unwrap();
    b.arrive("/finance/login").await;
    let token = b.client.find(Locator::Css("#token")).await.unwrap();
    token.send_keys(&w.finance_token).await.unwrap();
    b.click("form.login button").await;
    b.arrive("/finance").await;
    let cookies = b.client.get_all_cookies().await.unwrap();
    let session = cookies
        .iter()
        .find(|c| c.name() == "cpd_finance_session")
        .expect("a session cookie over http on 127.0.0.1");
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(session.secure(), Some(true));

    // A provider's statements, in payment order.
    b.client
        .find(Locator::LinkText("Teach First"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.arrive(&format!("/finance/providers/{}", w.provider))
        .await;
    let rows = b.text("#statements tbody").await;
    let lines: Vec<&str> = rows.lines().collect();
    assert_eq!(lines.len(), 2, "{rows}");
    assert!(
        lines[0].starts_with("November 2022") && lines[0].contains("PAYABLE"),
        "{rows}"
    );
    assert!(
        lines[0].contains("2022-11-30") && lines[0].contains("2022-12-25"),
        "{rows}"
    );
    assert!(
        lines[1].starts_with("February 2023") && lines[1].contains("OPEN"),
        "{rows}"
    );

    // The statement: the same figures as the JSON, its lines counted.
    b.client
        .find(Locator::LinkText("November 2022"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let statement_path = format!(
        "/finance/providers/{}/statements/{}",
        w.provider, w.november
    );
    b.arrive(&statement_path).await;
    let json = w
        .app
        .get(
            &format!("/finance/statements/{}", w.november),
            Some(&w.finance_token),
        )
        .await
        .json();
    assert_eq!(json["total"], json!(expected.total.to_string()));
    assert_eq!(b.text("#state").await, "PAYABLE");
    assert_eq!(
        expected.total,
        Decimal::new(43_880, 2),
        "two started declarations at £119.40 and two £100 uplifts"
    );
    assert_eq!(b.text("#total").await, "£438.80");
    assert_eq!(
        b.text("#line-counts tbody").await,
        "billable started payable 2"
    );
    let screenshot = b.screenshot("finance-statement.png").await;
    println!("statement page: {}", screenshot.display());

    // Before it closed, the statement was open.
    let picker = b.client.find(Locator::Css("#as_of")).await.unwrap();
    b.client
        .execute(
            "arguments[0].value = arguments[1];",
            vec![
                serde_json::to_value(&picker).unwrap(),
                json!(w.before_close.format("%Y-%m-%dT%H:%M:%S").to_string()),
            ],
        )
        .await
        .unwrap();
    b.click("form.as-of button").await;
    // The picker leaves out seconds that are zero.
    let query = match w.before_close.second() {
        0 => w.before_close.format("%Y-%m-%dT%H%%3A%M"),
        _ => w.before_close.format("%Y-%m-%dT%H%%3A%M%%3A%S"),
    };
    b.arrive(&format!("{statement_path}?as_of={query}")).await;
    assert_eq!(b.text("#state").await, "OPEN");
    assert_eq!(b.text("#as-of").await, w.before_close.to_rfc3339());
    assert!(
        b.client.find(Locator::Css("#pay")).await.is_err(),
        "no paying from a past view"
    );

    // The assurance report.
    b.client
        .goto(&format!("{base}{statement_path}"))
        .await
        .unwrap();
    b.click("#assurance").await;
    let csv = b.downloaded_csv().await;
    let mut rows = csv.lines();
    assert_eq!(
        rows.next(),
        Some(
            "declaration_id,participant_id,participant_name,trn,course_identifier,\
             declaration_type,declaration_date,state,line,schedule,cohort,pupil_premium_uplift,\
             sparsity_uplift,targeted_delivery_funding,delivery_partner_id,\
             delivery_partner_name,statement_name"
        )
    );
    let rows: Vec<&str> = rows.collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows[0].contains(",Jane Smith,"), "{csv}");
    assert!(
        rows[0].contains(",ecf-induction,started,2022-10-01T10:00:00Z,payable,billable,"),
        "{csv}"
    );
    assert!(rows[0].ends_with(",November 2022"), "{csv}");

    // At a phone's width nothing runs off the side.
    b.client.set_window_size(390, 844).await.unwrap();
    let overflow = b
        .client
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "the page scrolls sideways by {overflow}px"
    );
    b.screenshot("finance-statement-phone.png").await;
    b.client.set_window_size(1280, 1024).await.unwrap();

    // Paying: a confirmation, then the statement paid by this finance user.
    b.click("#pay").await;
    b.arrive(&format!("{statement_path}/pay")).await;
    b.click("#confirm-pay").await;
    b.arrive(&statement_path).await;
    assert_eq!(b.text("#state").await, "PAID");
    let metadata: Value = sqlx::query_scalar(
        "select metadata from events where aggregate_id = $1 and event_type like '%Paid' \
         order by sequence desc limit 1",
    )
    .bind(w.november.to_string())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(metadata["actor_type"], "finance");
    assert_eq!(metadata["actor_id"], w.finance_token_id.to_string());

    // Signing out ends the session.
    b.click("form.logout button").await;
    b.arrive("/finance/login").await;
    b.client.goto(&format!("{base}/finance")).await.unwrap();
    b.arrive("/finance/login").await;
    b.client.close().await.unwrap();
}

#[sqlx::test]
async fn the_pages_refuse_forms_without_their_csrf_token_and_tokens_that_are_not_finance(
    pool: PgPool,
) {
    let w = world(pool).await;
    let (_, provider_token) = w.app.provider("Ambition Institute").await;
    let login = |token: &str, csrf: &str| {
        form_post("/finance/login", None, format!("token={token}&csrf={csrf}"))
    };
    let csrf = csrf_of(&w.app.get("/finance/login", None).await.text);

    let anonymous = w.app.get("/finance", None).await;
    let as_provider = w.app.send(login(&provider_token, &csrf)).await;
    let forged = w.app.send(login(&w.finance_token, "1.00")).await;
    let signed_in = w.app.send(login(&w.finance_token, &csrf)).await;

    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.header("location"), Some("/finance/login"));
    assert_eq!(as_provider.status, StatusCode::UNAUTHORIZED);
    assert_eq!(as_provider.header("set-cookie"), None);
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(forged.header("set-cookie"), None);
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let cookie = signed_in.header("set-cookie").unwrap().to_owned();
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Max-Age=28800",
        "Path=/finance",
    ] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let session = cookie.split(';').next().unwrap().to_owned();

    let pay_path = format!(
        "/finance/providers/{}/statements/{}/pay",
        w.provider, w.november
    );
    let pay =
        |csrf: &str, session: &str| form_post(&pay_path, Some(session), format!("csrf={csrf}"));
    let without_csrf = w.app.send(pay("", &session)).await;
    let tampered = w.app.send(pay("", &format!("{session}0"))).await;
    let statement = w
        .app
        .get(
            &format!("/finance/statements/{}", w.november),
            Some(&w.finance_token),
        )
        .await
        .json();

    assert_eq!(without_csrf.status, StatusCode::FORBIDDEN);
    assert_eq!(
        tampered.status,
        StatusCode::SEE_OTHER,
        "a tampered cookie is no session"
    );
    assert_eq!(tampered.header("location"), Some("/finance/login"));
    assert_eq!(statement["status"], "payable");
}

#[sqlx::test]
async fn a_clawback_shows_on_the_next_statement_s_page_and_in_its_assurance_report(pool: PgPool) {
    let w = world(pool).await;
    let csrf = csrf_of(&w.app.get("/finance/login", None).await.text);
    let login = form_post(
        "/finance/login",
        None,
        format!("token={}&csrf={csrf}", w.finance_token),
    );
    let signed_in = w.app.send(login).await;
    let cookie = signed_in.header("set-cookie").unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let november = format!(
        "/finance/providers/{}/statements/{}",
        w.provider, w.november
    );
    let february = format!(
        "/finance/providers/{}/statements/{}",
        w.provider, w.february
    );
    let confirm = get_with(&w.app, &format!("{november}/pay"), &cookie).await;
    let pay = form_post(
        &format!("{november}/pay"),
        Some(&cookie),
        format!("csrf={}", csrf_of(&confirm.text)),
    );
    let paid = w.app.send(pay).await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.text);
    let void = Request::put(format!(
        "/api/v3/participant-declarations/{}/void",
        w.jane_declaration
    ))
    .header("Authorization", format!("Bearer {}", w.school_token))
    .header("X-With-Server-Date", "2022-12-21T09:00:00Z")
    .body(Body::empty())
    .unwrap();
    let voided = w.app.send(void).await;
    assert_eq!(voided.status, StatusCode::OK, "{}", voided.text);

    let page = get_with(&w.app, &february, &cookie).await;
    let report = get_with(&w.app, &format!("{february}/assurance.csv"), &cookie).await;
    let again = get_with(&w.app, &format!("{november}/pay"), &cookie).await;

    assert_eq!(page.status, StatusCode::OK);
    let clawbacks = page
        .text
        .split("id=\"clawbacks\"")
        .nth(1)
        .expect("a clawbacks table");
    assert!(clawbacks.contains(&w.jane_declaration), "{clawbacks}");
    assert!(clawbacks.contains("<td>November 2022</td>"), "{clawbacks}");
    assert!(
        page.text
            .contains("<td>clawback</td><td>started</td><td>awaiting-clawback</td>")
    );
    assert!(
        page.text.contains("-£219.40"),
        "the total, as in the JSON: {}",
        page.text
    );
    assert_eq!(report.status, StatusCode::OK);
    assert_eq!(report.header("content-type"), Some("text/csv"));
    assert_eq!(
        report.header("content-disposition"),
        Some("attachment; filename=\"assurance-ecf-2022-february-2023.csv\"")
    );
    let lines: Vec<&str> = report.text.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "a header and Jane's clawback: {}",
        report.text
    );
    assert!(lines[1].starts_with(&w.jane_declaration), "{}", report.text);
    assert!(
        lines[1].contains(",Jane Smith,") && lines[1].contains(",awaiting-clawback,clawback,"),
        "{}",
        report.text
    );
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "a paid statement is not paid twice"
    );
}
