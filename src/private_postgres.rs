//! A PostgreSQL server private to this service, run from the system's binaries when no `DATABASE_URL` is set.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail, ensure};
use sqlx::{Connection, PgConnection};
use tokio::process::Command;

// The socket lives inside PGDATA, so the standard port cannot clash with a system server.
const PORT: u16 = 5432;
const USER: &str = "cpd_ledger";
/// The advisory lock held, while it lives, by the process that stops the server on exit.
const OWNER_LOCK: i64 = 0x6370_645f_6f77_6e72;
const NOT_FOUND: &str = "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install the server \
    (Debian/Ubuntu: `apt-get install postgresql`; Fedora: `dnf install postgresql-server`; \
    macOS: `brew install postgresql`) or set DATABASE_URL to use an existing database.";

/// A PostgreSQL server whose data and Unix socket live under a local data directory.
pub struct PrivatePostgres {
    bin_dir: PathBuf,
    data_dir: String,
    pgdata: String,
    run_as: Option<SystemUser>,
    /// Set in the process that stops the server on exit: the connection holding [`OWNER_LOCK`].
    /// The lock goes with the process, so after a crash the next process takes the server over.
    owner: Option<PgConnection>,
}

struct SystemUser {
    name: String,
    uid: u32,
    gid: u32,
}

impl PrivatePostgres {
    /// Finds the server binaries, initialises `data_dir` on first use, and starts the server
    /// unless one is already running there (e.g. started by another cpd-ledger process, or
    /// left by one that was killed: then this process owns it and stops it on exit).
    pub async fn start(data_dir: &Path) -> Result<Self> {
        let bin_dir = find_bin_dir()?;
        let data_dir = std::fs::create_dir_all(data_dir)
            .and_then(|()| data_dir.canonicalize())
            .with_context(|| format!("could not create data directory {}", data_dir.display()))?;
        // pg_ctl's command line and the URL both need the path as text.
        let data_dir = data_dir
            .into_os_string()
            .into_string()
            .map_err(|path| anyhow!("the data directory {path:?} is not valid UTF-8"))?;
        let pgdata = format!("{data_dir}/postgres");
        // Unix socket paths are limited to 104-108 bytes depending on the OS.
        let socket = format!("{pgdata}/.s.PGSQL.{PORT}");
        ensure!(
            socket.len() < 100,
            "the PostgreSQL socket path {socket} is too long for a Unix socket; choose a shorter --data-dir"
        );
        // PostgreSQL refuses to run as root, so as root we hand the data over to a system user.
        let run_as = effective_uid_is_root()
            .then(unprivileged_user)
            .transpose()?;
        let mut pg = Self {
            bin_dir,
            data_dir,
            pgdata,
            run_as,
            owner: None,
        };
        if let Some(user) = &pg.run_as {
            hand_over(Path::new(&pg.data_dir), user).await?;
        }
        if !Path::new(&pg.pgdata).join("PG_VERSION").exists() {
            tracing::info!("initialising private PostgreSQL in {}", pg.pgdata);
            let args = ["--auth=trust", "--encoding=UTF8", "--username", USER];
            pg.run_ok("initdb", &args).await?;
        }
        let started = !pg.is_running().await? && pg.start_server().await?;
        pg.ensure_database().await?;
        pg.owner = pg.claim().await?;
        match (started, pg.owner.is_some()) {
            (false, true) => tracing::info!(
                "took over the private PostgreSQL in {}, left running by a process that ended",
                pg.pgdata
            ),
            (false, false) => tracing::info!(
                "using the private PostgreSQL already running in {}",
                pg.pgdata
            ),
            (true, _) => {}
        }
        Ok(pg)
    }

    /// A connection URL for the `cpd_ledger` database on this server (created if missing by `start`).
    pub fn database_url(&self) -> String {
        self.url("cpd_ledger")
    }

    /// Stops the server, but only if this process owns it: it started it, or took it over
    /// from a process that ended without stopping it.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(owner) = self.owner.take() {
            drop(owner.close().await);
            self.run_ok("pg_ctl", &["stop", "-w", "-m", "fast"]).await?;
            tracing::info!("stopped private PostgreSQL in {}", self.pgdata);
        }
        Ok(())
    }

    fn url(&self, database: &str) -> String {
        // sqlx treats a `host` query parameter starting with `/` as the socket directory.
        let mut host = String::new();
        for byte in self.pgdata.bytes() {
            if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
                host.push(char::from(byte));
            } else {
                host.push_str(&format!("%{byte:02X}"));
            }
        }
        format!("postgres://{USER}@localhost:{PORT}/{database}?host={host}")
    }

    /// Runs a server binary on this data directory as the server's user, capturing its output.
    async fn run(&self, program: &str, args: &[&str]) -> Result<Output> {
        let mut command = Command::new(self.bin_dir.join(program));
        command.arg("-D").arg(&self.pgdata).args(args);
        // The data directory is the one place the server's user is known to be able to enter.
        command.current_dir(&self.data_dir).env("LC_ALL", "C");
        command.stdin(Stdio::null());
        if let Some(user) = &self.run_as {
            command.uid(user.uid).gid(user.gid);
            command.env("HOME", &self.data_dir);
        }
        let output = command.output().await;
        output.with_context(|| format!("could not run {}", self.bin_dir.join(program).display()))
    }

    /// Runs a server binary, failing with its stderr unless it succeeds.
    async fn run_ok(&self, program: &str, args: &[&str]) -> Result<()> {
        let output = self.run(program, args).await?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        ensure!(
            output.status.success(),
            "{program} failed ({}): {}",
            output.status,
            stderr.trim()
        );
        Ok(())
    }

    async fn is_running(&self) -> Result<bool> {
        Ok(self.run("pg_ctl", &["status"]).await?.status.success())
    }

    /// Starts the server, returning false if another process started it first.
    async fn start_server(&self) -> Result<bool> {
        // pg_ctl passes `-o` through a shell, so the socket directory must be shell-quoted.
        let socket_dir = self.pgdata.replace('\'', r"'\''");
        let options = format!("-c listen_addresses='' -p {PORT} -k '{socket_dir}'");
        let log = format!("{}/postgres.log", self.data_dir);
        let args = ["start", "-w", "-l", &log, "-o", &options];
        let Err(err) = self.run_ok("pg_ctl", &args).await else {
            tracing::info!("started private PostgreSQL in {}", self.pgdata);
            return Ok(true);
        };
        if self.is_running().await? {
            return Ok(false);
        }
        let text = tokio::fs::read(&log).await.unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        let message = format!("could not start PostgreSQL; the end of {log}:\n{tail}");
        Err(err.context(message))
    }

    /// Takes ownership of the server unless a live process holds it. A process killed moments
    /// ago may still hold it until its server-side session notices, so the lock is tried for a
    /// second before it is left to the live owner.
    async fn claim(&self) -> Result<Option<PgConnection>> {
        let url = self.url("postgres");
        let mut conn = PgConnection::connect(&url)
            .await
            .with_context(|| format!("could not connect to {url}"))?;
        for _ in 0..10 {
            let won: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
                .bind(OWNER_LOCK)
                .fetch_one(&mut conn)
                .await
                .context("could not claim the private PostgreSQL")?;
            if won {
                return Ok(Some(conn));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(conn.close().await);
        Ok(None)
    }

    async fn ensure_database(&self) -> Result<()> {
        let url = self.url("postgres");
        // The server may have been started moments ago by another process and still be booting.
        let mut attempts = 0;
        let mut conn = loop {
            match PgConnection::connect(&url).await {
                Ok(conn) => break conn,
                Err(_) if attempts < 50 => attempts += 1,
                Err(err) => return Err(err).with_context(|| format!("could not connect to {url}")),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let exists: Option<i32> =
            sqlx::query_scalar("select 1 from pg_database where datname = 'cpd_ledger'")
                .fetch_optional(&mut conn)
                .await
                .context("could not check for the cpd_ledger database")?;
        let duplicate = |err: &sqlx::Error| {
            err.as_database_error().and_then(|e| e.code()).as_deref() == Some("42P04")
        };
        if exists.is_none() {
            match sqlx::raw_sql("create database cpd_ledger")
                .execute(&mut conn)
                .await
            {
                Ok(_) => tracing::info!("created database cpd_ledger"),
                // Another process created it between our check and now.
                Err(err) if duplicate(&err) => {}
                Err(err) => return Err(err).context("could not create the cpd_ledger database"),
            }
        }
        conn.close()
            .await
            .context("could not close the setup connection")
    }
}

fn find_bin_dir() -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(versioned_dirs("/usr/lib/postgresql", "", "bin"))
        .chain([PathBuf::from("/usr/local/pgsql/bin")])
        .chain(versioned_dirs("/usr", "pgsql-", "bin"))
        .chain(versioned_dirs("/opt/homebrew/opt", "postgresql", "bin"))
        .chain(versioned_dirs("/usr/local/opt", "postgresql", "bin"))
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .ok_or_else(|| anyhow!(NOT_FOUND))
}

/// The `<parent>/<prefix><version>/<sub>` directories, highest version first.
fn versioned_dirs(parent: &str, prefix: &str, sub: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u32>, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let parts = name
                .strip_prefix(prefix)?
                .split(|c: char| !c.is_ascii_digit());
            let version = parts
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().ok())
                .collect::<Option<_>>()?;
            Some((version, entry.path().join(sub)))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, dir)| dir).collect()
}

fn effective_uid_is_root() -> bool {
    // /proc/self is owned by the effective uid; without /proc (macOS) root is not supported.
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

fn unprivileged_user() -> Result<SystemUser> {
    let passwd = std::fs::read_to_string("/etc/passwd").context("could not read /etc/passwd")?;
    let lookup = |wanted: &str| {
        passwd.lines().find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next().filter(|name| *name == wanted)?.to_string();
            let (uid, gid) = (fields.nth(1)?.parse().ok()?, fields.next()?.parse().ok()?);
            Some(SystemUser { name, uid, gid })
        })
    };
    lookup("postgres").or_else(|| lookup("nobody")).context(
        "running as root, but there is no `postgres` or `nobody` user to run PostgreSQL as",
    )
}

/// Gives `user` the data directory, after checking it can reach it at all.
async fn hand_over(data_dir: &Path, user: &SystemUser) -> Result<()> {
    for ancestor in data_dir.ancestors().skip(1) {
        let meta = std::fs::metadata(ancestor)
            .with_context(|| format!("could not inspect {}", ancestor.display()))?;
        let shift = match (meta.uid() == user.uid, meta.gid() == user.gid) {
            (true, _) => 6,
            (_, true) => 3,
            _ => 0,
        };
        if (meta.mode() >> shift) & 1 == 0 {
            bail!(
                "PostgreSQL refuses to run as root, so it runs as the `{}` user, which cannot reach {} \
                 because {} is not searchable by it; use a --data-dir under /tmp or /var/lib",
                user.name,
                data_dir.display(),
                ancestor.display()
            );
        }
    }
    let (uid, gid, data_dir) = (user.uid, user.gid, data_dir.to_path_buf());
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        // Only our own files: the data directory may hold other things that are not ours to give away.
        std::os::unix::fs::chown(&data_dir, Some(uid), Some(gid))?;
        let log = data_dir.join("postgres.log");
        if log.exists() {
            std::os::unix::fs::chown(&log, Some(uid), Some(gid))?;
        }
        // A tree already owned by the user needs no walk (and a running server may be changing it).
        let pgdata = data_dir.join("postgres");
        match std::fs::metadata(&pgdata) {
            Ok(meta) if meta.uid() != uid => chown_tree(&pgdata, uid, gid),
            _ => Ok(()),
        }
    })
    .await?
    .with_context(|| format!("could not give the `{}` user the data directory", user.name))
}

fn chown_tree(path: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    // Symlinks (e.g. tablespaces) lead outside the data directory, which is not ours to change.
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}
