//! The token table: issuing, looking up by digest, listing. Revocations are `api_token`
//! events in the log, so a token is valid only while no such event exists.

use aggregates::LeadProviderId;
use aggregates::api_token::ApiToken;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use sha2::{Digest, Sha256};
use sqlx::PgExecutor;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{Principal, Role};

/// A token just issued: the only time the token itself is known.
#[derive(Debug)]
pub struct IssuedToken {
    /// The token's id.
    pub id: Uuid,
    /// The token to give to its holder.
    pub token: String,
}

/// What is known of a token, for listing; never its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSummary {
    /// The token's id.
    pub id: Uuid,
    /// Its role's name.
    pub role: String,
    /// The lead provider it acts for, for lead provider tokens.
    pub lead_provider_id: Option<Uuid>,
    /// That provider's name.
    pub lead_provider: Option<String>,
    /// What it was issued for.
    pub description: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it was last used, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working, if it expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A valid (not revoked) token found by its digest.
pub(super) struct Found {
    pub(super) principal: Principal,
    pub(super) expires_at: Option<DateTime<Utc>>,
    /// Its use was last recorded over a minute ago.
    pub(super) stale: bool,
}

/// Issues a new token that never expires and returns it; only its digest is stored.
pub async fn create_token(
    db: impl PgExecutor<'_>,
    role: Role,
    lead_provider_id: Option<LeadProviderId>,
    description: &str,
) -> Result<IssuedToken, sqlx::Error> {
    create_token_until(db, role, lead_provider_id, description, None).await
}

/// Issues a new token, valid until `expires_at` when given, and returns it.
pub async fn create_token_until(
    db: impl PgExecutor<'_>,
    role: Role,
    lead_provider_id: Option<LeadProviderId>,
    description: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<IssuedToken, sqlx::Error> {
    let mut secret = [0u8; 24];
    getrandom::fill(&mut secret)
        .map_err(|e| sqlx::Error::Protocol(format!("no randomness: {e}")))?;
    let token: String = secret.iter().map(|byte| format!("{byte:02x}")).collect();
    let id = Uuid::new_v4();
    sqlx::query!(
        r#"
        insert into api_tokens (id, digest, role, lead_provider_id, description, expires_at)
        values ($1, $2, $3, $4, $5, $6)
        "#,
        id,
        &digest(&token)[..],
        role.as_str(),
        lead_provider_id.map(|id| id.0),
        description,
        expires_at,
    )
    .execute(db)
    .await?;
    Ok(IssuedToken { id, token })
}

/// Every token, oldest first.
pub async fn list_tokens(db: impl PgExecutor<'_>) -> Result<Vec<TokenSummary>, sqlx::Error> {
    summaries(db, None).await
}

/// One token, if it exists.
pub async fn find_token(
    db: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<TokenSummary>, sqlx::Error> {
    Ok(summaries(db, Some(id)).await?.pop())
}

async fn summaries(
    db: impl PgExecutor<'_>,
    id: Option<Uuid>,
) -> Result<Vec<TokenSummary>, sqlx::Error> {
    sqlx::query_as!(
        TokenSummary,
        r#"
        select t.id, t.role, t.lead_provider_id, p.name as "lead_provider?", t.description,
               t.created_at, t.last_used_at, t.expires_at,
               (select min(e.recorded_at) from events e
                where e.aggregate_type = $1 and e.aggregate_id = t.id::text) as revoked_at
        from api_tokens t
        left join lead_providers p on p.id = t.lead_provider_id
        where $2::uuid is null or t.id = $2
        order by t.created_at, t.id
        "#,
        ApiToken::TYPE,
        id,
    )
    .fetch_all(db)
    .await
}

/// The unrevoked token with this digest. Expiry is left to the caller, so that a cached
/// lookup expires on time too.
pub(super) async fn find_by_digest(
    db: impl PgExecutor<'_>,
    digest: &[u8; 32],
) -> Result<Option<Found>, sqlx::Error> {
    let row = sqlx::query!(
        r#"
        select t.id, t.digest, t.role, t.lead_provider_id, t.expires_at,
               t.last_used_at is null or t.last_used_at < now() - interval '1 minute' as "stale!"
        from api_tokens t
        where t.digest = $1
          and not exists (select from events e
                          where e.aggregate_type = $2 and e.aggregate_id = t.id::text)
        "#,
        &digest[..],
        ApiToken::TYPE,
    )
    .fetch_optional(db)
    .await?;
    let found = row.and_then(|row| {
        let matches = bool::from(row.digest.ct_eq(digest));
        let role = Role::parse(&row.role).filter(|_| matches)?;
        Some(Found {
            principal: Principal {
                token_id: row.id,
                role,
                lead_provider_id: row.lead_provider_id.map(LeadProviderId),
            },
            expires_at: row.expires_at,
            stale: row.stale,
        })
    });
    Ok(found)
}

/// Records that a token was used now.
pub(super) async fn touch(db: impl PgExecutor<'_>, token_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update api_tokens set last_used_at = now() where id = $1",
        token_id
    )
    .execute(db)
    .await
    .map(drop)
}

/// The SHA-256 digest a token is stored and looked up by.
pub(super) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}
