//! cpd-ledger-bench: builds a fresh database with a synthetic world, serves cpd-ledger on
//! loopback in this process (rate limits off), and measures over HTTP: declaration submission
//! with concurrent clients, then paging and full syncs of participants and declarations.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aggregates::LeadProviderId;
use anyhow::{Context, bail};
use clap::Parser;
use cpd_ledger::auth::{self, Authenticator, Role};
use cpd_ledger::clock::Clock;
use cpd_ledger::ledger::Ledger;
use cpd_ledger::seed::{self, SeedSet, synthetic};
use cpd_ledger::{AppState, PlanCache, app};
use futures::TryStreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use projections::Runner;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

const DATABASE: &str = "cpd_ledger_bench";

#[derive(Debug, Parser)]
#[command(name = "cpd-ledger-bench", about = "Benchmarks cpd-ledger over HTTP")]
struct Args {
    /// A PostgreSQL server URL; the benchmark (re)creates its own database there.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@localhost/postgres"
    )]
    server: String,
    /// Participants in the synthetic world.
    #[arg(long, default_value_t = 100_000)]
    participants: usize,
    /// Concurrent clients submitting declarations.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Declarations to submit (one `started` per participant).
    #[arg(long, default_value_t = 20_000)]
    declarations: usize,
    /// Pages of 100 to fetch when measuring page latency.
    #[arg(long, default_value_t = 300)]
    page_samples: usize,
    /// Filler events to add before measuring sealing and `audit verify` (0 to skip).
    #[arg(long, default_value_t = 0)]
    audit_events: i64,
    /// Top the event log up with filler to this many events before replaying every statement.
    #[arg(long, default_value_t = 0)]
    log_events: i64,
    /// How the service's statements are planned. `generic` (PostgreSQL's own plan cache) is
    /// what the service uses on a server with autovacuum; where the server has none, the
    /// benchmark stands in for autovacuum (see `autovacuum`).
    #[arg(long, value_enum, default_value_t = PlanCache::Generic)]
    plan_cache: PlanCache,
}

/// How often the stand-in for autovacuum looks for tables to vacuum or analyse.
const AUTOVACUUM_NAPTIME: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter("warn,sqlx=error")
        .init();
    let args = Args::parse();
    if args.declarations > args.participants {
        bail!("--declarations may not exceed --participants (one started declaration each)");
    }
    let pool = fresh_database(&args.server, args.plan_cache).await?;
    let autovacuum_setting: String = sqlx::query_scalar("show autovacuum")
        .fetch_one(&pool)
        .await?;
    println!("statements planned: {:?}", args.plan_cache);
    if autovacuum_setting == "off" && args.plan_cache != PlanCache::Custom {
        println!(
            "autovacuum is off on this server: the benchmark vacuums and analyses what autovacuum would, every {}s",
            AUTOVACUUM_NAPTIME.as_secs()
        );
        tokio::spawn(autovacuum(pool.clone()));
    }
    let runner = Runner::new(pool.clone(), projections::all()).await?;
    tokio::spawn(runner.clone().run());
    let ledger = Ledger::new(pool.clone(), runner.clone());
    let ledger_for_finance = ledger.clone();

    println!(
        "machine: {} cores; {}",
        std::thread::available_parallelism()?,
        server_version(&pool).await?
    );
    let started = Instant::now();
    seed::load_sized(&ledger, SeedSet::Synthetic, args.participants).await?;
    let seconds = started.elapsed().as_secs_f64();
    // A bulk load leaves the planner without statistics and the visibility map unset; on a
    // live database autovacuum would have vacuumed and analysed the new rows by now.
    vacuum(&pool).await?;
    println!(
        "seeded {} participants (reference data included) in {seconds:.1}s, {:.0} participants/s",
        args.participants,
        args.participants as f64 / seconds
    );

    let ceiling = insert_ceiling(&pool, args.clients, Duration::from_secs(5)).await?;
    println!(
        "ceiling: {ceiling:.0} single-row INSERT transactions/s of an event-shaped row ({} clients, this server, this run)",
        args.clients
    );

    let provider = LeadProviderId::from_name(synthetic::PROVIDER);
    let token = auth::create_token(&pool, Role::LeadProvider, Some(provider), "benchmark")
        .await?
        .token;
    let state = AppState {
        pool: pool.clone(),
        ledger,
        auth: Arc::new(Authenticator::new(pool.clone(), None)),
        clock: Clock::System,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app(state)).await });
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.clients.max(1))
        .build_http();
    let bench = Bench {
        client,
        base,
        token,
    };

    let statements_before = statements_run(&pool).await;
    let submitting = Instant::now();
    let rate = bench.declarations(args.declarations, args.clients).await?;
    println!(
        "declarations: {rate:.0} accepted/s = {:.3} x the ceiling",
        rate / ceiling
    );
    settle(&runner).await?;
    // Writes answer from their commit, so the rate the read models keep up with is the one
    // that lasts: the submissions and the catch-up after them.
    let shown = args.declarations as f64 / submitting.elapsed().as_secs_f64();
    println!(
        "declarations: {shown:.0} shown/s (submitted and applied by every read model) = {:.3} x the ceiling",
        shown / ceiling
    );
    if let (Some(before), Some(after)) = (statements_before, statements_run(&pool).await) {
        println!(
            "declarations: {:.1} statements per declaration, the read models' catch-up included (pg_stat_statements)",
            (after - before) as f64 / args.declarations.max(1) as f64
        );
    }
    vacuum(&pool).await?;
    bench
        .paging(
            "/api/v3/participants/ecf",
            args.participants,
            args.page_samples,
        )
        .await?;
    bench
        .paging(
            "/api/v3/participant-declarations",
            args.declarations,
            args.page_samples,
        )
        .await?;
    statements(&ledger_for_finance, &pool, &runner, args.log_events).await?;
    replay(&pool, &runner).await?;
    if args.audit_events > 0 {
        audit(&pool, &runner, args.audit_events, ceiling).await?;
    }
    Ok(())
}

/// Vacuums and analyses the database, as autovacuum would after a load on a live database
/// (where it is on: some servers, CI's among them, turn it off).
async fn vacuum(pool: &PgPool) -> anyhow::Result<()> {
    let setting: String = sqlx::query_scalar("show autovacuum")
        .fetch_one(pool)
        .await?;
    let started = Instant::now();
    sqlx::query("vacuum (analyze)").execute(pool).await?;
    println!(
        "vacuumed and analysed in {:.1}s, as autovacuum would (autovacuum is {setting} on this server)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Finance adds an open statement, which takes every declaration left without one; the
/// statement is priced from the read models; it closes and is paid (each step timed from the
/// command until the read models show every line in its new state); then every statement is
/// replayed from the event log once it holds `log_events` events.
async fn statements(
    ledger: &Ledger,
    pool: &PgPool,
    runner: &Runner,
    log_events: i64,
) -> anyhow::Result<()> {
    let provider = LeadProviderId::from_name(synthetic::PROVIDER);
    let terms = aggregates::StatementTerms {
        lead_provider_id: provider,
        programme: aggregates::Programme::Ecf,
        cohort: synthetic::COHORT,
        name: "Benchmark 2099".to_owned(),
        deadline_date: chrono::NaiveDate::from_ymd_opt(2099, 1, 31).unwrap_or_default(),
        payment_date: chrono::NaiveDate::from_ymd_opt(2099, 2, 25).unwrap_or_default(),
        output_fee: true,
    };
    let context = cpd_ledger::ledger::CommandContext::of(cpd_ledger::ledger::Actor::System);
    let waiting: i64 = sqlx::query_scalar(
        "select count(*) from declarations where statement_id is null and state = 'eligible'",
    )
    .fetch_one(pool)
    .await?;
    let started = Instant::now();
    let id =
        cpd_ledger::finance::add_statement(ledger, terms, chrono::Utc::now(), &context).await?;
    let lines = lines_in_state(pool, id, "eligible", waiting).await?;
    println!(
        "statements: add: a new statement took {lines} lines in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    settle(runner).await?;
    sqlx::query("analyze").execute(pool).await?;
    let mut latencies = Vec::new();
    for _ in 0..20 {
        let sent = Instant::now();
        cpd_ledger::finance::breakdown(pool, id, None, |_| {}).await?;
        latencies.push(sent.elapsed());
    }
    println!(
        "statements: breakdown of a statement with {lines} lines: {}",
        percentiles(&mut latencies)
    );

    let started = Instant::now();
    let closed_at = "2099-02-01T00:00:00Z".parse()?;
    cpd_ledger::finance::close(ledger, id, closed_at).await?;
    lines_in_state(pool, id, "payable", lines).await?;
    println!(
        "statements: close: {lines} lines payable in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    cpd_ledger::finance::pay(ledger, id, "2099-02-20T00:00:00Z".parse()?, &context).await?;
    lines_in_state(pool, id, "paid", lines).await?;
    println!(
        "statements: pay: {lines} lines paid in {:.2}s",
        started.elapsed().as_secs_f64()
    );

    let events: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(pool)
        .await?;
    if log_events > events {
        add_filler(pool, log_events - events).await?;
        runner.catch_up().await?;
    }
    let events: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(pool)
        .await?;
    let started = Instant::now();
    let mut read = 0;
    let replayed = cpd_ledger::finance::replay_all(pool, chrono::Utc::now(), |n| read = n).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "statements: replayed all {} statements from a log of {events} events ({read} declaration events) in {seconds:.2}s ({:.0} log events/s, {:.0} declaration events/s)",
        replayed.len(),
        events as f64 / seconds,
        read as f64 / seconds
    );
    Ok(())
}

/// PostgreSQL's own ceiling on this machine in this run: `clients` connections each committing
/// single-row INSERTs of an event-shaped row into a scratch table for `duration`.
async fn insert_ceiling(pool: &PgPool, clients: usize, duration: Duration) -> anyhow::Result<f64> {
    sqlx::query(
        "create table if not exists bench_ceiling (aggregate_type text, aggregate_id text,
         sequence bigint, event_type text, payload jsonb, metadata jsonb,
         recorded_at timestamptz default now(), position bigint generated always as identity)",
    )
    .execute(pool)
    .await?;
    let payload = serde_json::json!({"Submitted": {"declaration_type": "started",
        "declaration_date": "2022-10-01T10:00:00Z", "course": "ecf-induction",
        "state": "eligible", "evidence_held": null}});
    let metadata = serde_json::json!({"actor_type": "lead_provider", "api_version": "v3"});
    let started = Instant::now();
    let workers = (0..clients).map(|client| {
        let (payload, metadata) = (payload.clone(), metadata.clone());
        async move {
            let mut conn = pool.acquire().await?;
            let mut done = 0_u64;
            while started.elapsed() < duration {
                sqlx::query(
                    "insert into bench_ceiling (aggregate_type, aggregate_id, sequence, event_type, payload, metadata)
                     values ('declaration_slot', $1, 1, 'Submitted', $2, $3)",
                )
                .bind(format!("{client}-{done}"))
                .bind(&payload)
                .bind(&metadata)
                .execute(&mut *conn)
                .await?;
                done += 1;
            }
            anyhow::Ok(done)
        }
    });
    let total: u64 = futures::future::try_join_all(workers)
        .await?
        .into_iter()
        .sum();
    let rate = total as f64 / started.elapsed().as_secs_f64();
    sqlx::query("drop table bench_ceiling")
        .execute(pool)
        .await?;
    Ok(rate)
}

/// Waits until the read model shows `expected` lines of the statement in `state`; returns
/// how many it shows (or fails after two minutes).
async fn lines_in_state(
    pool: &PgPool,
    statement: aggregates::StatementId,
    state: &str,
    expected: i64,
) -> anyhow::Result<i64> {
    let started = Instant::now();
    loop {
        let shown: i64 = sqlx::query_scalar(
            "select count(*) from declarations where statement_id = $1 and state = $2",
        )
        .bind(statement.0)
        .bind(state)
        .fetch_one(pool)
        .await?;
        if shown >= expected {
            return Ok(shown);
        }
        if started.elapsed() > Duration::from_secs(120) {
            bail!("the read model shows {shown} of {expected} lines {state} after two minutes");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until every read model has applied every committed event, so that what follows is
/// measured on a service that is not still catching up.
async fn settle(runner: &Runner) -> anyhow::Result<()> {
    let started = Instant::now();
    while runner.status().await?.iter().any(|s| s.lag_events > 0) {
        runner.wake();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "read models caught up {:.1}s later",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Appends `count` filler events (ignored by every read model but the seals) in transactions
/// of 100,000.
async fn add_filler(pool: &PgPool, count: i64) -> anyhow::Result<()> {
    const CHUNK: i64 = 100_000;
    let mut first: i64 =
        sqlx::query_scalar("select count(*) from events where aggregate_type = 'benchmark'")
            .fetch_one(pool)
            .await?;
    let end = first + count;
    while first < end {
        let last = (first + CHUNK).min(end);
        sqlx::query(
            "insert into events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             select 'benchmark', 'filler-' || (g / 100), g % 100 + 1, 'Filled', '1',
                    jsonb_build_object('n', g), '{\"actor_type\": \"system\"}'
             from generate_series($1::bigint, $2::bigint - 1) g",
        )
        .bind(first)
        .bind(last)
        .execute(pool)
        .await?;
        first = last;
    }
    Ok(())
}

/// Rebuilds every read model from the log, as `cpd-ledger replay` does, and reads the same log
/// raw in the same order, in the same run: the replay's rate is printed as a ratio of the raw
/// read's.
async fn replay(pool: &PgPool, runner: &Runner) -> anyhow::Result<()> {
    let started = Instant::now();
    let events = sqlx::query(
        "select transaction_id::text::bigint, position, event_id, aggregate_type, aggregate_id,
                sequence, event_type, payload, metadata, recorded_at
         from events order by transaction_id, position",
    )
    .fetch(pool)
    .try_fold(0_u64, |read, _| async move { Ok(read + 1) })
    .await?;
    let raw = events as f64 / started.elapsed().as_secs_f64();
    let jobs = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let started = Instant::now();
    let rebuilt = runner.rebuild_all(jobs, |_| |_, _| {}).await?;
    let seconds = started.elapsed().as_secs_f64();
    let applied: u64 = rebuilt.iter().map(|r| r.events).sum();
    let rate = events as f64 / seconds;
    println!(
        "replay: every read model rebuilt, {jobs} at a time, from a log of {events} events ({applied} applied) in {seconds:.2}s: {rate:.0} log events/s = {:.3} x a raw ordered read of the same log ({raw:.0} events/s)",
        rate / raw
    );
    for r in &rebuilt {
        println!(
            "replay:   {}: {} events in {:.2}s",
            r.name,
            r.events,
            r.elapsed.as_secs_f64()
        );
    }
    Ok(())
}

/// Adds `count` filler events, times how long the running service takes to seal them, then
/// times a full verification of the chain; both also as a ratio of the same run's ceiling.
async fn audit(pool: &PgPool, runner: &Runner, count: i64, ceiling: f64) -> anyhow::Result<()> {
    add_filler(pool, count).await?;
    let total: i64 = sqlx::query_scalar("select count(*) from events")
        .fetch_one(pool)
        .await?;
    let started = Instant::now();
    runner.wake();
    loop {
        let sealed: i64 = sqlx::query_scalar("select coalesce(max(seal), 0) from audit_seals")
            .fetch_one(pool)
            .await?;
        if sealed >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let rate = total as f64 / seconds;
    println!(
        "audit: sealed {total} events in {seconds:.1}s ({rate:.0} events/s = {:.2} x the ceiling)",
        rate / ceiling
    );
    let started = Instant::now();
    let report = projections::seals::verify(pool, None, |_, _| {}).await?;
    let seconds = started.elapsed().as_secs_f64();
    if !report.findings.is_empty() {
        bail!("the log does not match its seals: {:?}", report.findings);
    }
    let rate = report.events as f64 / seconds;
    println!(
        "audit verify: {} seals against {} events in {seconds:.1}s ({rate:.0} events/s = {:.2} x the ceiling)",
        report.seals,
        report.events,
        rate / ceiling
    );
    Ok(())
}

/// Drops and recreates the benchmark database, migrated.
/// Statements this database has run so far, where the server tracks them (the
/// `pg_stat_statements` library is loaded); `None` where it does not.
async fn statements_run(pool: &PgPool) -> Option<i64> {
    sqlx::query("create extension if not exists pg_stat_statements")
        .execute(pool)
        .await
        .ok()?;
    sqlx::query_scalar(
        "select sum(calls)::bigint from pg_stat_statements
         where dbid = (select oid from pg_database where datname = current_database())",
    )
    .fetch_one(pool)
    .await
    .ok()
}

/// Stands in for autovacuum on a server that runs without it: every naptime, vacuums each
/// table with more dead rows than autovacuum's default threshold (50 and a fifth of the
/// table), and analyses each changed since its last analysis by more than its threshold (50
/// rows and a tenth of the table). An analysis makes cached plans of the table's statements
/// plan again, as they would on a server with autovacuum.
async fn autovacuum(pool: PgPool) {
    loop {
        tokio::time::sleep(AUTOVACUUM_NAPTIME).await;
        let due: Result<Vec<(String, String)>, _> = sqlx::query_as(
            "select format('%I.%I', s.schemaname, s.relname),
                    case when s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0)
                         then 'vacuum (analyze)' else 'analyze' end
             from pg_stat_user_tables s join pg_class c on c.oid = s.relid
             where s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0)
                or s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)",
        )
        .fetch_all(&pool)
        .await;
        for (table, work) in due.unwrap_or_default() {
            if let Err(error) = sqlx::query(&format!("{work} {table}")).execute(&pool).await {
                eprintln!("cannot {work} {table}: {error}");
            }
        }
    }
}

async fn fresh_database(server: &str, plans: PlanCache) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = server.parse().context("bad --server URL")?;
    let mut admin = options
        .connect()
        .await
        .context("cannot reach the PostgreSQL server")?;
    sqlx::query(&format!("drop database if exists {DATABASE} with (force)"))
        .execute(&mut admin)
        .await?;
    sqlx::query(&format!("create database {DATABASE}"))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    let pool = PgPoolOptions::new()
        .max_connections(32)
        .connect_with(plans.apply(options.database(DATABASE)))
        .await?;
    cpd_ledger::migrate(&pool).await?;
    Ok(pool)
}

async fn server_version(pool: &PgPool) -> anyhow::Result<String> {
    let version: String = sqlx::query_scalar("select version()")
        .fetch_one(pool)
        .await?;
    Ok(version.split(" on ").next().unwrap_or(&version).to_owned())
}

struct Bench {
    client: HttpClient,
    base: String,
    token: String,
}

impl Bench {
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/json")
            .body(Full::new(Bytes::from(body.unwrap_or_default())))?;
        let response = self.client.request(request).await?;
        let status = response.status();
        Ok((status, response.into_body().collect().await?.to_bytes()))
    }

    /// `count` started declarations for distinct participants from `clients` clients at once;
    /// returns the accepted declarations per second.
    async fn declarations(&self, count: usize, clients: usize) -> anyhow::Result<f64> {
        let next = AtomicUsize::new(0);
        let started = Instant::now();
        let workers = (0..clients).map(|_| async {
            let mut latencies = Vec::new();
            let mut failures = 0;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    break;
                }
                let body = serde_json::json!({"data": {"type": "participant-declaration", "attributes": {
                    "participant_id": synthetic::participant_id(n).to_string(),
                    "declaration_type": "started",
                    "declaration_date": "2022-10-01T10:00:00Z",
                    "course_identifier": "ecf-induction",
                }}});
                let sent = Instant::now();
                let (status, _) = self.call(Method::POST, "/api/v3/participant-declarations", Some(body.to_string())).await?;
                latencies.push(sent.elapsed());
                failures += usize::from(status != StatusCode::OK);
            }
            anyhow::Ok((latencies, failures))
        });
        let results = futures::future::try_join_all(workers).await?;
        let elapsed = started.elapsed().as_secs_f64();
        let failures: usize = results.iter().map(|(_, f)| f).sum();
        let mut latencies: Vec<Duration> = results.into_iter().flat_map(|(l, _)| l).collect();
        let rate = (count - failures) as f64 / elapsed;
        println!(
            "declarations: {count} submitted by {clients} clients in {elapsed:.1}s: {rate:.0} accepted/s ({failures} refused); latency {}",
            percentiles(&mut latencies)
        );
        if failures > 0 {
            bail!("{failures} declarations were refused");
        }
        Ok(rate)
    }

    /// Latency of pages of 100 spread over the list, and a full sync at 3000 per page.
    async fn paging(&self, path: &str, total: usize, samples: usize) -> anyhow::Result<()> {
        let pages = total.div_ceil(100).max(1);
        let mut latencies = Vec::with_capacity(samples);
        for i in 0..samples {
            let page = 1 + (i * 7919) % pages;
            let sent = Instant::now();
            let (status, _) = self
                .call(
                    Method::GET,
                    &format!("{path}?page[per_page]=100&page[page]={page}"),
                    None,
                )
                .await?;
            latencies.push(sent.elapsed());
            if status != StatusCode::OK {
                bail!("{path} page {page} answered {status}");
            }
        }
        println!(
            "{path}: page of 100 from {total}: {} ({samples} pages)",
            percentiles(&mut latencies)
        );
        let started = Instant::now();
        let (mut page, mut seen) = (1, 0);
        loop {
            let (status, body) = self
                .call(
                    Method::GET,
                    &format!("{path}?page[per_page]=3000&page[page]={page}"),
                    None,
                )
                .await?;
            if status != StatusCode::OK {
                bail!("{path} page {page} of 3000 answered {status}");
            }
            let items = serde_json::from_slice::<serde_json::Value>(&body)?["data"]
                .as_array()
                .map_or(0, Vec::len);
            if items == 0 {
                break;
            }
            seen += items;
            page += 1;
        }
        println!(
            "{path}: full sync at 3000 per page: {seen} items in {:.2}s ({} pages)",
            started.elapsed().as_secs_f64(),
            page - 1
        );
        if seen != total {
            bail!("{path}: the full sync saw {seen} items, expected {total}");
        }
        Ok(())
    }
}

fn percentiles(latencies: &mut [Duration]) -> String {
    latencies.sort();
    let at = |q: f64| {
        let index =
            ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len().max(1)) - 1;
        latencies
            .get(index)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    format!(
        "p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        at(0.5),
        at(0.95),
        at(0.99),
        at(1.0)
    )
}
