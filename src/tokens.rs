//! Managing API tokens: revoking one through the ledger, and reading `--expires-in` periods.
//! Shared by the CLI and the admin API.

use aggregates::api_token::{ApiToken, ApiTokenCommand, ApiTokenError};
use chrono::{TimeDelta, Utc};
use uuid::Uuid;

use crate::auth::{self, Authenticator, TokenSummary};
use crate::ledger::{CommandContext, Ledger, LedgerError};

/// Revokes a token, recording the revocation as an event by the context's actor, and returns
/// it as it now stands (`None`: no such token). It authenticates nothing from the moment the
/// event commits; `auth`, the caller's own authenticator, forgets it at once too.
pub async fn revoke(
    ledger: &Ledger,
    auth: Option<&Authenticator>,
    id: Uuid,
    context: &CommandContext,
) -> Result<Option<TokenSummary>, LedgerError<ApiTokenError>> {
    let store = |e: sqlx::Error| LedgerError::Store(Box::new(e));
    if auth::find_token(ledger.pool(), id)
        .await
        .map_err(store)?
        .is_none()
    {
        return Ok(None);
    }
    let command = ApiTokenCommand::Revoke { at: Utc::now() };
    ledger
        .submit::<ApiToken>(&id.to_string(), command, context)
        .await?;
    if let Some(auth) = auth {
        auth.forget(id);
    }
    auth::find_token(ledger.pool(), id).await.map_err(store)
}

/// Reads a period such as `90d`, `12h` or `30m` (days, hours, minutes).
pub fn parse_period(period: &str) -> Result<TimeDelta, String> {
    let invalid = || format!("{period:?} is not a period such as 90d, 12h or 30m");
    let split = period.len().checked_sub(1).ok_or_else(invalid)?;
    let (number, unit) = period.split_at_checked(split).ok_or_else(invalid)?;
    let number: i64 = number.parse().ok().filter(|n| *n > 0).ok_or_else(invalid)?;
    let delta = match unit {
        "d" => TimeDelta::try_days(number),
        "h" => TimeDelta::try_hours(number),
        "m" => TimeDelta::try_minutes(number),
        _ => None,
    };
    delta
        .filter(|delta| *delta <= TimeDelta::days(3660))
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_days_hours_or_minutes() {
        assert_eq!(parse_period("90d"), Ok(TimeDelta::days(90)));
        assert_eq!(parse_period("12h"), Ok(TimeDelta::hours(12)));
        assert_eq!(parse_period("30m"), Ok(TimeDelta::minutes(30)));
    }

    #[test]
    fn other_periods_are_refused() {
        for period in ["", "d", "90", "0d", "-1d", "1w", "99999d", "1.5d"] {
            assert!(parse_period(period).is_err(), "{period}");
        }
    }
}
