//! The lead providers read model: names and programmes, for token issue and access checks.

use aggregates::reference::LeadProvider;
use aggregates::{LeadProviderId, Record, RecordEvent};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use crate::{Projection, ProjectionError, StoredEvent, read_model};

/// Projects lead provider registrations.
pub struct LeadProviders;

/// A lead provider as the read side knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadProviderRow {
    /// Its id.
    pub id: uuid::Uuid,
    /// Its name.
    pub name: String,
    /// Delivers ECF.
    pub ecf: bool,
    /// Delivers NPQ.
    pub npq: bool,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

#[async_trait]
impl Projection for LeadProviders {
    read_model!(
        name: "lead_providers",
        reads: [LeadProvider::TYPE],
        tables: ["lead_providers"],
    );

    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let RecordEvent::Registered(provider) = event
            .decode::<RecordEvent<LeadProvider>>()
            .map_err(|e| ProjectionError::decode(event, e))?;
        let id = event
            .aggregate_uuid()
            .map_err(|e| ProjectionError::decode(event, e))?;
        sqlx::query!(
            r#"
            insert into lead_providers (id, name, ecf, npq, created_at, updated_at)
            values ($1, $2, $3, $4, $5, $5)
            on conflict (id) do update
            set name = excluded.name, ecf = excluded.ecf, npq = excluded.npq,
                updated_at = excluded.updated_at
            "#,
            id,
            provider.name,
            provider.ecf,
            provider.npq,
            event.recorded_at,
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// Finds a lead provider by its exact name.
pub async fn find_by_name(
    db: impl PgExecutor<'_>,
    name: &str,
) -> Result<Option<LeadProviderRow>, sqlx::Error> {
    sqlx::query_as!(
        LeadProviderRow,
        r#"
        select id, name, ecf, npq, created_at
        from lead_providers where name = $1
        "#,
        name
    )
    .fetch_optional(db)
    .await
}

/// Finds a lead provider by id.
pub async fn find(
    db: impl PgExecutor<'_>,
    id: LeadProviderId,
) -> Result<Option<LeadProviderRow>, sqlx::Error> {
    sqlx::query_as!(
        LeadProviderRow,
        r#"
        select id, name, ecf, npq, created_at
        from lead_providers where id = $1
        "#,
        id.0
    )
    .fetch_optional(db)
    .await
}

/// Every lead provider, by name.
pub async fn all(db: impl PgExecutor<'_>) -> Result<Vec<LeadProviderRow>, sqlx::Error> {
    sqlx::query_as!(
        LeadProviderRow,
        r#"
        select id, name, ecf, npq, created_at
        from lead_providers order by name
        "#
    )
    .fetch_all(db)
    .await
}
