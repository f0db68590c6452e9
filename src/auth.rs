//! Bearer tokens and rate limits. Tokens are random, shown once, and stored only as SHA-256
//! digests; a presented token is looked up by digest and compared in constant time.

use std::num::NonZeroU32;
use std::time::Duration;

use aggregates::LeadProviderId;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use sha2::{Digest, Sha256};
use sqlx::{PgExecutor, PgPool};
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// What a token lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A lead provider's system: the Lead Provider API, for its own records.
    LeadProvider,
    /// Finance staff: statements and payments.
    Finance,
    /// Auditors: the event history, read only.
    Auditor,
    /// Administrators: the school- and DfE-side commands.
    Admin,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Self::LeadProvider => "lead_provider",
            Self::Finance => "finance",
            Self::Auditor => "auditor",
            Self::Admin => "admin",
        }
    }

    fn parse(role: &str) -> Option<Self> {
        [
            Self::LeadProvider,
            Self::Finance,
            Self::Auditor,
            Self::Admin,
        ]
        .into_iter()
        .find(|r| r.as_str() == role)
    }
}

/// The holder of a valid token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The token's id (never the token itself).
    pub token_id: Uuid,
    /// What it may do.
    pub role: Role,
    /// The lead provider it acts for, for lead provider tokens.
    pub lead_provider_id: Option<LeadProviderId>,
}

/// A request limit per token: `requests` in each `window`.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub requests: NonZeroU32,
    /// The window.
    pub window: Duration,
}

/// Why a request was not let through.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No token, or not one we issued.
    #[error("no valid token")]
    Unauthenticated,
    /// Over the rate limit; try again after this many seconds.
    #[error("rate limited")]
    RateLimited(u64),
    /// The token store failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Checks tokens and applies the per-token rate limit.
pub struct Authenticator {
    pool: PgPool,
    limiter: Option<DefaultKeyedRateLimiter<Uuid>>,
}

impl Authenticator {
    /// An authenticator over the token table; `None` switches rate limiting off.
    pub fn new(pool: PgPool, limit: Option<RateLimit>) -> Self {
        let limiter = limit.and_then(|limit| {
            let period = limit.window / limit.requests.get();
            let quota = Quota::with_period(period)?.allow_burst(limit.requests);
            Some(DefaultKeyedRateLimiter::keyed(quota))
        });
        Self { pool, limiter }
    }

    /// Resolves an `Authorization` header value to its principal and counts the request.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, Refusal> {
        let token = authorization
            .and_then(presented_token)
            .ok_or(Refusal::Unauthenticated)?;
        let digest = digest(token);
        let row = sqlx::query!(
            r#"
            select id, digest, role, lead_provider_id,
                   last_used_at is null or last_used_at < now() - interval '1 minute' as "stale!"
            from api_tokens where digest = $1
            "#,
            &digest[..]
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Refusal::Unauthenticated)?;
        if !bool::from(row.digest.ct_eq(&digest)) {
            return Err(Refusal::Unauthenticated);
        }
        let role = Role::parse(&row.role).ok_or(Refusal::Unauthenticated)?;
        if let Some(limiter) = &self.limiter
            && let Err(not_until) = limiter.check_key(&row.id)
        {
            crate::metrics::rate_limit_refused("token");
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(Refusal::RateLimited(wait.as_secs() + 1));
        }
        if row.stale {
            self.touch(row.id);
        }
        Ok(Principal {
            token_id: row.id,
            role,
            lead_provider_id: row.lead_provider_id.map(LeadProviderId),
        })
    }

    /// Records that a token was used, at most once a minute, off the request's path.
    fn touch(&self, token_id: Uuid) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let touched = sqlx::query!(
                "update api_tokens set last_used_at = now() where id = $1",
                token_id
            )
            .execute(&pool)
            .await;
            if let Err(error) = touched {
                tracing::warn!(%error, %token_id, "cannot record token use");
            }
        });
    }
}

/// A token just issued: the only time the token itself is known.
#[derive(Debug)]
pub struct IssuedToken {
    /// The token's id.
    pub id: Uuid,
    /// The token to give to its holder.
    pub token: String,
}

/// Issues a new token and returns it; only its digest is stored.
pub async fn create_token(
    db: impl PgExecutor<'_>,
    role: Role,
    lead_provider_id: Option<LeadProviderId>,
    description: &str,
) -> Result<IssuedToken, sqlx::Error> {
    let mut secret = [0u8; 24];
    getrandom::fill(&mut secret)
        .map_err(|e| sqlx::Error::Protocol(format!("no randomness: {e}")))?;
    let token: String = secret.iter().map(|byte| format!("{byte:02x}")).collect();
    let id = Uuid::new_v4();
    sqlx::query!(
        r#"
        insert into api_tokens (id, digest, role, lead_provider_id, description)
        values ($1, $2, $3, $4, $5)
        "#,
        id,
        &digest(&token)[..],
        role.as_str(),
        lead_provider_id.map(|id| id.0),
        description,
    )
    .execute(db)
    .await?;
    Ok(IssuedToken { id, token })
}

/// Parses the role names the CLI and admin API accept.
pub fn parse_role(role: &str) -> Option<Role> {
    Role::parse(role)
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Takes the token from `Bearer <t>`, `Token <t>` or Rails' `Token token="<t>"`.
fn presented_token(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") && !scheme.eq_ignore_ascii_case("token") {
        return None;
    }
    let rest = rest.trim();
    let token = match rest.strip_prefix("token=") {
        Some(quoted) => quoted.split(',').next()?.trim_matches('"'),
        None => rest,
    };
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_and_rails_token_schemes_are_accepted() {
        assert_eq!(presented_token("Bearer abc123"), Some("abc123"));
        assert_eq!(presented_token("bearer  abc123 "), Some("abc123"));
        assert_eq!(presented_token("Token abc123"), Some("abc123"));
        assert_eq!(
            presented_token(r#"Token token="abc123", nonce="x""#),
            Some("abc123")
        );
    }

    #[test]
    fn other_schemes_and_empty_tokens_are_refused() {
        assert_eq!(presented_token("Basic dXNlcjpwYXNz"), None);
        assert_eq!(presented_token("Bearer "), None);
        assert_eq!(presented_token("abc123"), None);
    }
}
