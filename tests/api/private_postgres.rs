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
