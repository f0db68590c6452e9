//! The write side: runs commands against aggregates (cqrs-es) in the event store, stamps every
//! event with who caused it, and keeps the read barrier: a request waits until the read models
//! show every write answered before it began.

mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aggregates::LeadProviderId;
use chrono::{DateTime, SecondsFormat, Utc};
use cqrs_es::Aggregate;
use projections::Runner;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

/// How often a command is retried when another writer got to its aggregate first.
const MAX_ATTEMPTS: usize = 5;
/// Connections for locks held while a command runs.
const HOLD_CONNECTIONS: u32 = 4;
/// How long a request waits, by default, for the read models to show its events.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Who caused an event.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A lead provider's system, through the API.
    LeadProvider(LeadProviderId),
    /// A finance user, identified by token.
    Finance(Uuid),
    /// An auditor, identified by token.
    Auditor(Uuid),
    /// An administrator, identified by token, or the CLI operator.
    Admin(Option<Uuid>),
    /// The seed loader.
    Seed,
    /// The service itself (schedulers).
    System,
}

impl Actor {
    fn kind(&self) -> &'static str {
        match self {
            Self::LeadProvider(_) => "lead_provider",
            Self::Finance(_) => "finance",
            Self::Auditor(_) => "auditor",
            Self::Admin(_) => "admin",
            Self::Seed => "seed",
            Self::System => "system",
        }
    }

    fn id(&self) -> Option<String> {
        match self {
            Self::LeadProvider(id) => Some(id.to_string()),
            Self::Finance(id) | Self::Auditor(id) | Self::Admin(Some(id)) => Some(id.to_string()),
            Self::Admin(None) | Self::Seed | Self::System => None,
        }
    }
}

/// The circumstances of a command, recorded in its events' metadata.
#[derive(Clone, Debug)]
pub struct CommandContext {
    /// Who is acting.
    pub actor: Actor,
    /// The API version the command came through (`v1`, `v2`, `v3`), if any.
    pub api_version: Option<&'static str>,
    /// The request id, if the command came over HTTP.
    pub request_id: Option<String>,
}

impl CommandContext {
    /// A context for commands that do not come over HTTP.
    pub fn of(actor: Actor) -> Self {
        Self {
            actor,
            api_version: None,
            request_id: None,
        }
    }

    fn metadata(&self) -> HashMap<String, String> {
        let mut metadata = HashMap::from([
            ("actor_type".to_owned(), self.actor.kind().to_owned()),
            (
                "time".to_owned(),
                Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
            ),
        ]);
        let optional = [
            ("actor_id", self.actor.id()),
            ("api_version", self.api_version.map(str::to_owned)),
            ("request_id", self.request_id.clone()),
        ];
        metadata.extend(
            optional
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_owned(), v?))),
        );
        metadata
    }
}

/// Why a command did not commit.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError<E: std::error::Error> {
    /// The aggregate refused the command; the message is for the API user.
    #[error(transparent)]
    Rejected(E),
    /// Other writers kept changing the aggregate; nothing was written.
    #[error("the record kept changing under concurrent requests")]
    Conflict,
    /// The event store failed; nothing was written.
    #[error("event store failure: {0}")]
    Store(Box<dyn std::error::Error + Send + Sync>),
}

/// What a command left in the log, for waiting until the read models show it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// The transaction that committed its events; when it decided on nothing (a repeated
    /// command), the one that wrote the aggregate's last event, if any.
    transaction_id: Option<i64>,
    events: u64,
}

impl Written {
    /// How many events it recorded.
    pub fn events(&self) -> u64 {
        self.events
    }
}

/// Whether the read models showed a committed write when the wait for them ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// Every read model that reads the aggregate has applied the write.
    Shown,
    /// One of them has not (it is halted, or slower than the wait).
    Behind,
}

/// How far behind its read models may be while an instance still reports itself ready.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Readiness {
    /// Committed events a read model may have still to apply.
    pub max_lag_events: i64,
    /// How long the oldest of them may have waited, in seconds.
    pub max_lag_seconds: f64,
}

impl Default for Readiness {
    fn default() -> Self {
        Self {
            max_lag_events: 10_000,
            max_lag_seconds: 10.0,
        }
    }
}

/// Runs commands and waits for the read side.
#[derive(Clone)]
pub struct Ledger {
    pool: PgPool,
    holds: PgPool,
    runner: Arc<Runner>,
    settle_timeout: Duration,
    readiness: Readiness,
    provider_names: Arc<Mutex<HashMap<LeadProviderId, String>>>,
}

impl Ledger {
    /// A ledger writing through `pool`, whose read models `runner` keeps up to date.
    pub fn new(pool: PgPool, runner: Arc<Runner>) -> Self {
        // Holds get connections of their own: a holder then needs one of `pool`'s, and
        // holders waiting for a hold take none of those from it, so they cannot starve it.
        let holds = PgPoolOptions::new()
            .max_connections(HOLD_CONNECTIONS)
            .connect_lazy_with((*pool.connect_options()).clone());
        Self {
            pool,
            holds,
            runner,
            settle_timeout: SETTLE_TIMEOUT,
            readiness: Readiness::default(),
            provider_names: Arc::default(),
        }
    }

    /// The same ledger, reporting itself ready within these bounds.
    pub fn with_readiness(self, readiness: Readiness) -> Self {
        Self { readiness, ..self }
    }

    /// How far behind its read models may be while it reports itself ready.
    pub fn readiness(&self) -> Readiness {
        self.readiness
    }

    /// The same ledger, waiting up to `timeout` for the read models after a command.
    pub fn with_settle_timeout(self, timeout: Duration) -> Self {
        Self {
            settle_timeout: timeout,
            ..self
        }
    }

    /// The database the ledger writes to, for looking up facts.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Connections for advisory locks held across a command (see
    /// [`crate::finance::hold_payment`]).
    pub fn holds(&self) -> &PgPool {
        &self.holds
    }

    /// A lead provider's name, as a write's answer shows it. A provider's id is made from its
    /// name, so a name once read is kept for good; an unknown provider has none (empty).
    pub async fn lead_provider_name(&self, id: LeadProviderId) -> Result<String, sqlx::Error> {
        if let Some(name) = self.provider_names.lock().expect("provider names").get(&id) {
            return Ok(name.clone());
        }
        let Some(provider) = projections::lead_providers::find(&self.pool, id).await? else {
            return Ok(String::new());
        };
        self.provider_names
            .lock()
            .expect("provider names")
            .insert(id, provider.name.clone());
        Ok(provider.name)
    }

    /// The projection runner.
    pub fn runner(&self) -> &Arc<Runner> {
        &self.runner
    }

    /// Runs a command and waits (bounded) until the read models show its events, so the
    /// caller reads its own writes. When this returns `Ok`, the events are committed; it says
    /// whether the read models show them, and a caller that answers from the read models
    /// answers a [`Visibility::Behind`] write from [`Self::committed`] instead.
    pub async fn execute<A>(
        &self,
        aggregate_id: &str,
        command: A::Command,
        context: &CommandContext,
    ) -> Result<Visibility, LedgerError<A::Error>>
    where
        A: Aggregate<Services = ()>,
        A::Command: Clone,
    {
        let written = self.submit::<A>(aggregate_id, command, context).await?;
        Ok(self.settle(A::TYPE, written).await)
    }

    /// The aggregate as its committed events leave it: what a write that the read models do
    /// not show yet (one of them is halted, or slower than the wait) is answered from.
    pub async fn committed<A>(&self, aggregate_id: &str) -> Result<A, LedgerError<A::Error>>
    where
        A: Aggregate,
    {
        Ok(store::load::<A>(&self.pool, aggregate_id).await?.aggregate)
    }

    /// Runs a command without waiting for the read models (for bulk loads, which catch up
    /// once at the end). Its events are appended in one statement, the command's one
    /// transaction; a conflict with another writer is retried on fresh state.
    pub async fn submit<A>(
        &self,
        aggregate_id: &str,
        command: A::Command,
        context: &CommandContext,
    ) -> Result<Written, LedgerError<A::Error>>
    where
        A: Aggregate<Services = ()>,
        A::Command: Clone,
    {
        let ran = self.run::<A>(aggregate_id, command, context, false).await?;
        Ok(ran.written)
    }

    /// Runs a command and answers from its commit: returns the aggregate's committed events,
    /// the command's own last, each with when it was recorded. It does not wait for the read
    /// models: the runner is nudged to apply the events, and the next request waits for them
    /// at its read barrier ([`Self::read_barrier`]).
    pub async fn record<A>(
        &self,
        aggregate_id: &str,
        command: A::Command,
        context: &CommandContext,
    ) -> Result<Vec<(A::Event, DateTime<Utc>)>, LedgerError<A::Error>>
    where
        A: Aggregate<Services = ()>,
        A::Command: Clone,
    {
        let ran = self.run::<A>(aggregate_id, command, context, true).await?;
        if ran.written.events > 0 {
            self.runner.nudge();
        }
        Ok(ran.history)
    }

    /// Runs a command, retrying on fresh state when another writer got to the aggregate first.
    async fn run<A>(
        &self,
        aggregate_id: &str,
        command: A::Command,
        context: &CommandContext,
        keep_history: bool,
    ) -> Result<store::Ran<A>, LedgerError<A::Error>>
    where
        A: Aggregate<Services = ()>,
        A::Command: Clone,
    {
        let mut attempt = 1;
        loop {
            let metadata = context.metadata();
            let result = store::run::<A>(
                &self.pool,
                aggregate_id,
                command.clone(),
                &metadata,
                keep_history,
            )
            .await;
            match result {
                Err(LedgerError::Conflict) if attempt < MAX_ATTEMPTS => attempt += 1,
                result => {
                    crate::metrics::command_finished::<A>(result.as_ref().map(|ran| &ran.written));
                    return result;
                }
            }
        }
    }

    /// Waits (bounded) until the read models fed by `aggregate_type` have applied a command's
    /// events. When they have not, the next request waits for them at its read barrier.
    pub async fn settle(&self, aggregate_type: &str, written: Written) -> Visibility {
        let Some(target) = written.transaction_id else {
            return Visibility::Shown;
        };
        if self
            .runner
            .wait_for(aggregate_type, target, self.settle_timeout)
            .await
        {
            return Visibility::Shown;
        }
        tracing::warn!(
            aggregate_type,
            transaction_id = target,
            "read models are behind the commit"
        );
        Visibility::Behind
    }

    /// The read barrier: waits (bounded, as a write does) until the read models show every
    /// event committed before this call, by this process or any other sharing the database,
    /// so that a request shows every write answered before it began. Events of the aggregate
    /// types in `unread` are not waited for (the caller reads no read model they feed), nor is
    /// a halted read model; after the bound the read models are read as they stand.
    pub async fn read_barrier(&self, unread: &[&str]) -> Result<(), sqlx::Error> {
        let shown = self.runner.barrier(unread, self.settle_timeout).await?;
        if !shown {
            tracing::warn!("read models are behind the log; reading them as they stand");
        }
        Ok(())
    }
}
