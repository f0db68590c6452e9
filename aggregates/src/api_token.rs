//! An API token's lifecycle in the ledger. Tokens themselves are credentials kept outside the
//! log; what the log records is that an administrator revoked one, so the revocation is
//! evidence like any other decision and takes effect the moment its event commits.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

/// One API token, keyed by the token's id.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ApiToken {
    revoked: bool,
}

/// What can be done to a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApiTokenCommand {
    /// Stop accepting the token. Revoking a revoked token changes nothing.
    Revoke {
        /// When.
        at: DateTime<Utc>,
    },
}

/// What happened to a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApiTokenEvent {
    /// The token was revoked; it authenticates nothing from now on.
    Revoked {
        /// When.
        at: DateTime<Utc>,
    },
}

/// Why a token command was refused; no rule refuses one today.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiTokenError {}

impl DomainEvent for ApiTokenEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Revoked { .. } => "Revoked".to_owned(),
        }
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

impl ApiToken {
    fn decide(&self, command: ApiTokenCommand) -> Result<Vec<ApiTokenEvent>, ApiTokenError> {
        match command {
            ApiTokenCommand::Revoke { .. } if self.revoked => Ok(vec![]),
            ApiTokenCommand::Revoke { at } => Ok(vec![ApiTokenEvent::Revoked { at }]),
        }
    }
}

impl Aggregate for ApiToken {
    const TYPE: &'static str = "api_token";
    type Command = ApiTokenCommand;
    type Event = ApiTokenEvent;
    type Error = ApiTokenError;
    type Services = ();

    async fn handle(
        &mut self,
        command: ApiTokenCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), ApiTokenError> {
        let events = self.decide(command)?;
        crate::write_all(self, sink, events).await;
        Ok(())
    }

    fn apply(&mut self, event: ApiTokenEvent) {
        match event {
            ApiTokenEvent::Revoked { .. } => self.revoked = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use cqrs_es::test::TestFramework;

    use super::*;

    fn noon() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap()
    }

    #[test]
    fn revoking_a_token_records_when() {
        TestFramework::<ApiToken>::with(())
            .given_no_previous_events()
            .when(ApiTokenCommand::Revoke { at: noon() })
            .then_expect_events(vec![ApiTokenEvent::Revoked { at: noon() }]);
    }

    #[test]
    fn revoking_a_revoked_token_records_nothing() {
        TestFramework::<ApiToken>::with(())
            .given(vec![ApiTokenEvent::Revoked { at: noon() }])
            .when(ApiTokenCommand::Revoke { at: noon() })
            .then_expect_events(vec![]);
    }
}
