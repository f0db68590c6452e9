//! `token list` and `token revoke`.

use anyhow::Context;
use uuid::Uuid;

use crate::auth::{self, TokenSummary};
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
