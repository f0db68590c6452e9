//! The private PostgreSQL server: started once and reused, bad data directories refused.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use cpd_ledger::private_postgres::PrivatePostgres;
use sqlx::{Connection, PgConnection};

/// A fresh directory, kept short because the server's socket path must fit in ~100 bytes.
fn unique_dir(label: &str) -> PathBuf {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() % 1_000_000_000);
    std::env::temp_dir().join(format!("cpd-{label}-{}-{millis}", std::process::id()))
}

async fn connect(url: &str) -> sqlx::Result<PgConnection> {
    PgConnection::connect(url).await
}

#[tokio::test]
async fn a_private_server_starts_once_and_is_reused() -> anyhow::Result<()> {
    let dir = unique_dir("pg");
    let first = PrivatePostgres::start(&dir).await?;
    assert!(dir.join("postgres/PG_VERSION").is_file(), "initdb ran");
    let url = first.database_url();

    let mut conn = connect(&url).await?;
    let one: i32 = sqlx::query_scalar("select 1").fetch_one(&mut conn).await?;
    assert_eq!(one, 1);
    let database: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&mut conn)
        .await?;
    assert_eq!(database, "cpd_ledger");
    sqlx::raw_sql("create table kept (value int); insert into kept values (42)")
        .execute(&mut conn)
        .await?;
    conn.close().await?;

    // A second handle finds the server running, so stopping it must leave the server up.
    let second = PrivatePostgres::start(&dir).await?;
    assert_eq!(second.database_url(), url);
    second.stop().await?;
    let mut conn = connect(&url).await?;
    let one: i32 = sqlx::query_scalar("select 1").fetch_one(&mut conn).await?;
    assert_eq!(one, 1, "the server survives the second handle's stop");
    conn.close().await?;

    first.stop().await?;
    assert!(
        connect(&url).await.is_err(),
        "the first handle stopped the server"
    );

    // Starting again reuses the data directory rather than initialising a new one.
    let third = PrivatePostgres::start(&dir).await?;
    let mut conn = connect(&third.database_url()).await?;
    let kept: i32 = sqlx::query_scalar("select value from kept")
        .fetch_one(&mut conn)
        .await?;
    assert_eq!(kept, 42);
    conn.close().await?;
    third.stop().await?;

    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[tokio::test]
async fn a_data_dir_too_long_for_a_socket_is_refused() -> anyhow::Result<()> {
    let dir = unique_dir(&"x".repeat(100));
    let result = PrivatePostgres::start(&dir).await;
    std::fs::remove_dir_all(&dir)?;
    let message = format!("{:#}", result.err().expect("a too-long path is refused"));
    assert!(message.contains("--data-dir"), "{message}");
    Ok(())
}

/// Whether any session holds an advisory lock on the server at `url`.
async fn advisory_locks_held(url: &str) -> anyhow::Result<bool> {
    let mut conn = connect(url).await?;
    let held: bool =
        sqlx::query_scalar("select exists (select 1 from pg_locks where locktype = 'advisory')")
            .fetch_one(&mut conn)
            .await?;
    conn.close().await?;
    Ok(held)
}

#[tokio::test]
async fn a_server_left_running_by_a_killed_service_is_taken_over_and_stopped_on_exit()
-> anyhow::Result<()> {
    let dir = unique_dir("kill");
    let killed = PrivatePostgres::start(&dir).await?;
    let url = killed.database_url();
    // `kill -9` runs no code of the service: PostgreSQL only sees its connections close.
    drop(killed);
    let started = std::time::Instant::now();
    while advisory_locks_held(&url).await? {
        assert!(
            started.elapsed().as_secs() < 10,
            "the killed owner's lock stays"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let restarted = PrivatePostgres::start(&dir).await?;
    // Another process alongside (a CLI command) uses the server but does not own it.
    let alongside = PrivatePostgres::start(&dir).await?;
    alongside.stop().await?;
    let mut conn = connect(&url).await?;
    sqlx::query_scalar::<_, i32>("select 1")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;

    restarted.stop().await?;
    assert!(
        connect(&url).await.is_err(),
        "the restarted service stopped the server it took over"
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// `cpd-ledger serve` on the private server in `dir`; returns it once it listens, with its address.
async fn serve(dir: &std::path::Path) -> anyhow::Result<(tokio::process::Child, String)> {
    use tokio::io::AsyncBufReadExt;
    let log = std::fs::File::create(dir.with_extension("log"))?;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cpd-ledger"))
        .env_remove("DATABASE_URL")
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--seed", "reference", "--port", "0"])
        .args(["--shutdown-drain-seconds", "0", "--no-rate-limit"])
        .stdout(std::process::Stdio::piped())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let listening = async {
        while let Some(line) = lines.next_line().await? {
            if let Some(address) = line.strip_prefix("cpd-ledger is listening on ") {
                return Ok(address.to_owned());
            }
        }
        anyhow::bail!("the service ended before listening")
    };
    let address = tokio::time::timeout(std::time::Duration::from_secs(120), listening).await??;
    Ok((child, address))
}

#[tokio::test]
async fn after_kill_9_the_restarted_service_stops_the_private_server_when_it_exits()
-> anyhow::Result<()> {
    let dir = unique_dir("svc");
    std::fs::create_dir_all(&dir)?;
    let (mut first, _) = serve(&dir).await?;
    first.start_kill()?;
    first.wait().await?;
    let url = format!(
        "postgres://cpd_ledger@localhost:5432/cpd_ledger?host={}",
        dir.canonicalize()?.join("postgres").display()
    );
    assert!(
        connect(&url).await.is_ok(),
        "kill -9 left the server running"
    );

    let (mut second, address) = serve(&dir).await?;
    // The binary serves its metrics beside the API unless told otherwise.
    let address = address.trim_start_matches("http://");
    let metrics = get(address, "/metrics").await?;
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    let pool = "cpd_ledger_db_pool_max_connections";
    assert!(metrics.contains(pool), "{metrics}");
    // Alone on its database, it leads the schedulers.
    let started = std::time::Instant::now();
    while !get(address, "/metrics")
        .await?
        .contains("\ncpd_ledger_scheduler_leader 1")
    {
        assert!(started.elapsed().as_secs() < 10, "the service never led");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let pid = second.id().expect("running").to_string();
    let terminated = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await?;
    assert!(terminated.success());
    let exit = tokio::time::timeout(std::time::Duration::from_secs(60), second.wait()).await??;

    assert!(exit.success(), "{exit}");
    assert!(
        connect(&url).await.is_err(),
        "the restarted service stopped the server it took over"
    );
    std::fs::remove_dir_all(&dir)?;
    std::fs::remove_file(dir.with_extension("log"))?;
    Ok(())
}

/// The raw answer to `GET path` from `address`.
async fn get(address: &str, path: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let request = format!("GET {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response)
}
