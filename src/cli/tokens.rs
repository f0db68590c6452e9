//! `token create`, `token list` and `token revoke`.

use aggregates::LeadProviderId;
use anyhow::{Context, bail};
use chrono::Utc;
use projections::{Runner, lead_providers};
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::{self, Role, TokenSummary};
use crate::ledger::{Actor, CommandContext, Ledger};

/// Prints every token, one a line; never a secret.
pub async fn list_tokens(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let tokens = auth::list_tokens(pool).await?;
    println!(
        "{:<36}  {:<32}  {:<20}  {:<20}  status",
        "id", "role or provider", "created", "last used"
    );
    for token in tokens {
        println!("{}", line(&token));
    }
    Ok(())
}

/// Revokes a token as the CLI operator (an admin) and prints it as it now stands.
pub async fn revoke_token(ledger: &Ledger, id: Uuid) -> anyhow::Result<()> {
    let context = CommandContext::of(Actor::Admin(None));
    let token = crate::tokens::revoke(ledger, None, id, &context)
        .await
        .context("cannot revoke the token")?
        .with_context(|| format!("no token has the id {id}"))?;
    println!("{}", line(&token));
    Ok(())
}

fn line(token: &TokenSummary) -> String {
    let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let holder = token.lead_provider.as_deref().unwrap_or(&token.role);
    let status = match (token.revoked_at, token.expires_at) {
        (Some(revoked), _) => format!("revoked {}", at(revoked)),
        (None, Some(expiry)) if expiry <= chrono::Utc::now() => format!("expired {}", at(expiry)),
        (None, Some(expiry)) => format!("expires {}", at(expiry)),
        (None, None) => "valid".to_owned(),
    };
    let last_used = token.last_used_at.map_or_else(|| "never".to_owned(), at);
    format!(
        "{:<36}  {:<32}  {:<20}  {:<20}  {status}",
        token.id,
        holder,
        at(token.created_at),
        last_used
    )
}

/// Issues a token for a lead provider (by name) or a staff role, and prints it last.
pub async fn create_token(
    pool: &PgPool,
    provider: Option<String>,
    role: Option<String>,
    expires_in: Option<chrono::TimeDelta>,
) -> anyhow::Result<()> {
    let (role, provider) = match (provider, role) {
        (Some(name), _) => {
            // Make sure the read model has every registered provider before looking one up.
            Runner::new(pool.clone(), projections::all())
                .await?
                .catch_up()
                .await?;
            let Some(provider) = lead_providers::find_by_name(pool, &name).await? else {
                let known: Vec<String> = lead_providers::all(pool)
                    .await?
                    .into_iter()
                    .map(|p| p.name)
                    .collect();
                bail!(
                    "no lead provider is called {name:?}; known providers: {}",
                    known.join(", ")
                );
            };
            (Role::LeadProvider, Some(provider))
        }
        (None, Some(role)) => (auth::parse_role(&role).context("unknown role")?, None),
        (None, None) => bail!("name a --lead-provider or a --role"),
    };
    let id = provider.as_ref().map(|p| LeadProviderId(p.id));
    let expires_at = expires_in.map(|period| Utc::now() + period);
    let issued =
        auth::create_token_until(pool, role, id, "issued with the CLI", expires_at).await?;
    match provider {
        Some(provider) => println!(
            "Token for {} (shown only once; keep it secret):",
            provider.name
        ),
        None => println!("Token for the {role:?} role (shown only once; keep it secret):"),
    }
    if let Some(expiry) = expires_at {
        println!("It expires at {expiry}.");
    }
    println!("{}", issued.token);
    Ok(())
}
