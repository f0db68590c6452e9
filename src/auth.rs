//! Bearer tokens and rate limits. Tokens are random, shown once, and stored only as SHA-256
//! digests; a presented token is looked up by digest and compared in constant time. Lookups
//! are cached for a few seconds, so most requests cost no round trip for authentication.
//! Browsers exchange a finance token for a signed session cookie ([`session`]).

pub mod session;

mod cache;
mod tokens;

use std::net::IpAddr;
use std::time::Duration;

use aggregates::LeadProviderId;
use chrono::Utc;
use sqlx::PgPool;
use uuid::Uuid;

use self::session::SessionKey;
pub use crate::rate_limit::RateLimit;
use crate::rate_limit::RateLimiter;
use cache::TokenCache;
pub use tokens::{
    IssuedToken, TokenSummary, create_token, create_token_until, find_token, list_tokens,
};

/// How long a token lookup is trusted before the database is asked again: the most a
/// revocation or expiry made elsewhere takes to reach this instance.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);

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
    /// The role's name, as the CLI, the admin API and the token table spell it.
    pub fn as_str(self) -> &'static str {
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

/// Why a request was not let through.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No token, or not one we issued, or one revoked or expired.
    #[error("no valid token")]
    Unauthenticated,
    /// Over the rate limit; try again after this many seconds.
    #[error("rate limited")]
    RateLimited(u64),
    /// The token store failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Checks tokens and applies the rate limits: per token, and per client address on `/api/*`.
pub struct Authenticator {
    pool: PgPool,
    limiter: RateLimiter,
    per_token: Option<RateLimit>,
    per_ip: Option<RateLimit>,
    trust_forwarded_for: bool,
    cache: TokenCache,
    sessions: SessionKey,
}

impl Authenticator {
    /// An authenticator over the token table with a per-token limit (`None`: unlimited),
    /// counting in this process and with no per-address limit.
    pub fn new(pool: PgPool, per_token: Option<RateLimit>) -> Self {
        Self {
            pool,
            limiter: RateLimiter::in_memory(),
            per_token,
            per_ip: None,
            trust_forwarded_for: false,
            cache: TokenCache::new(TOKEN_CACHE_TTL),
            sessions: SessionKey::random().expect("the system has randomness"),
        }
    }

    /// The key of browser sessions: drawn at start, so sessions end when the process does.
    pub fn sessions(&self) -> &SessionKey {
        &self.sessions
    }

    /// The principal of a browser session's token, if it is still valid (not revoked, not
    /// expired), counting the request against the token's rate limit.
    pub async fn session_principal(&self, token_id: Uuid) -> Result<Principal, Refusal> {
        let token = tokens::find_token(&self.pool, token_id)
            .await?
            .ok_or(Refusal::Unauthenticated)?;
        let now = Utc::now();
        if token.revoked_at.is_some() || token.expires_at.is_some_and(|expiry| expiry <= now) {
            return Err(Refusal::Unauthenticated);
        }
        let role = Role::parse(&token.role).ok_or(Refusal::Unauthenticated)?;
        if let Some(limit) = self.per_token {
            let key = format!("token:{token_id}");
            if let Some(retry_after) = self.limiter.hit(&key, limit, now).await? {
                crate::metrics::rate_limit_refused("token");
                return Err(Refusal::RateLimited(retry_after));
            }
        }
        Ok(Principal {
            token_id,
            role,
            lead_provider_id: token.lead_provider_id.map(LeadProviderId),
        })
    }

    /// Also limits requests to `/api/*` per client address, before their token is looked up.
    pub fn with_ip_limit(self, per_ip: Option<RateLimit>) -> Self {
        Self { per_ip, ..self }
    }

    /// Counts requests in PostgreSQL, so that every instance on the database shares one quota.
    pub fn with_shared_counters(self) -> Self {
        Self {
            limiter: RateLimiter::postgres(self.pool.clone()),
            ..self
        }
    }

    /// Takes the client address from the last `X-Forwarded-For` entry (behind a proxy).
    pub fn trusting_forwarded_for(self, trust: bool) -> Self {
        Self {
            trust_forwarded_for: trust,
            ..self
        }
    }

    /// Trusts a token lookup for `ttl` (zero: ask the database on every request).
    pub fn with_cache_ttl(self, ttl: Duration) -> Self {
        Self {
            cache: TokenCache::new(ttl),
            ..self
        }
    }

    /// Whether the client address comes from `X-Forwarded-For`.
    pub fn trusts_forwarded_for(&self) -> bool {
        self.trust_forwarded_for
    }

    /// Counts a request from `ip` against the per-address limit, if there is one.
    pub async fn throttle_ip(&self, ip: IpAddr) -> Result<(), Refusal> {
        let Some(limit) = self.per_ip else {
            return Ok(());
        };
        match self
            .limiter
            .hit(&format!("ip:{ip}"), limit, Utc::now())
            .await?
        {
            Some(retry_after) => {
                crate::metrics::rate_limit_refused("ip");
                Err(Refusal::RateLimited(retry_after))
            }
            None => Ok(()),
        }
    }

    /// Resolves an `Authorization` header value to its principal and counts the request.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, Refusal> {
        let token = authorization
            .and_then(presented_token)
            .ok_or(Refusal::Unauthenticated)?;
        let digest = tokens::digest(token);
        let now = Utc::now();
        let lookup = match self.cache.get(&digest) {
            Some(lookup) => lookup,
            None => {
                let mut conn = projections::pool::acquire(&self.pool).await?;
                let found = tokens::find_by_digest(&mut *conn, &digest).await?;
                let found = found.ok_or(Refusal::Unauthenticated)?;
                self.cache.put(digest, found)
            }
        };
        if lookup.expires_at.is_some_and(|expiry| expiry <= now) {
            return Err(Refusal::Unauthenticated);
        }
        let principal = lookup.principal;
        if let Some(limit) = self.per_token {
            let key = format!("token:{}", principal.token_id);
            if let Some(retry_after) = self.limiter.hit(&key, limit, now).await? {
                crate::metrics::rate_limit_refused("token");
                return Err(Refusal::RateLimited(retry_after));
            }
        }
        if lookup.touch {
            self.touch(principal.token_id);
        }
        Ok(principal)
    }

    /// Drops a token from this instance's cache, so its revocation takes effect at once.
    pub fn forget(&self, token_id: Uuid) {
        self.cache.forget(token_id);
    }

    /// Records that a token was used, at most once a minute, off the request's path.
    fn touch(&self, token_id: Uuid) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            if let Err(error) = tokens::touch(&pool, token_id).await {
                tracing::warn!(%error, %token_id, "cannot record token use");
            }
        });
    }
}

/// Parses the role names the CLI and admin API accept.
pub fn parse_role(role: &str) -> Option<Role> {
    Role::parse(role)
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
