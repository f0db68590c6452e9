//! A monthly financial statement of one lead provider, programme and cohort. The calendar (or
//! finance) creates it; at the first instant after its deadline day it closes and what it
//! holds becomes payable; finance then marks it paid. Each step is one event on the statement:
//! the state of every line on it follows from that event, so no step is ever half done.

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::Programme;
use crate::bounds::{self, Invalid};
use crate::ids::{DeclarationId, LeadProviderId};

/// A statement as the calendar defines it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatementTerms {
    /// The provider to be paid.
    pub lead_provider_id: LeadProviderId,
    /// ECF or NPQ.
    pub programme: Programme,
    /// The cohort it funds.
    pub cohort: i32,
    /// The month it is named after, e.g. "May 2022".
    pub name: String,
    /// The milestone cut-off: declarations accepted up to this day land here.
    pub deadline_date: NaiveDate,
    /// The day payment is expected.
    pub payment_date: NaiveDate,
    /// Whether declarations are paid on it (otherwise it carries only the service fee).
    pub output_fee: bool,
}

/// The statement aggregate.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Statement {
    terms: Option<StatementTerms>,
    closed: bool,
    paid: bool,
}

/// Commands on a statement.
#[derive(Clone, Debug)]
pub enum StatementCommand {
    /// Create the statement from the calendar; a repeat with identical terms changes nothing.
    Create(StatementTerms),
    /// Finance adds the statement, and it takes the lines that no statement held (looked up
    /// by the caller); a repeat with identical terms changes nothing.
    Add {
        /// Its terms.
        terms: StatementTerms,
        /// Declarations whose billable line goes on it.
        lines: Vec<DeclarationId>,
        /// Declarations whose clawback line goes on it.
        clawbacks: Vec<DeclarationId>,
    },
    /// Close it after its deadline: what it holds becomes payable. Closing again changes
    /// nothing.
    Close {
        /// The first instant after the deadline day.
        at: DateTime<Utc>,
    },
    /// Finance marks it paid. Paying again changes nothing.
    Pay {
        /// When.
        at: DateTime<Utc>,
    },
}

/// Events of a statement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StatementEvent {
    /// The statement was created with these terms.
    Created(StatementTerms),
    /// Finance added the statement; it took these lines, which no statement held then. A line
    /// another statement took first (earlier in the log) stays there.
    Added {
        /// Its terms.
        terms: StatementTerms,
        /// Declarations whose billable line it took.
        #[serde(default)]
        lines: Vec<DeclarationId>,
        /// Declarations whose clawback line it took.
        #[serde(default)]
        clawbacks: Vec<DeclarationId>,
    },
    /// It closed: its eligible declarations became payable.
    Closed {
        /// The first instant after the deadline day.
        at: DateTime<Utc>,
    },
    /// Finance paid it.
    Paid {
        /// When.
        at: DateTime<Utc>,
    },
}

/// Why a statement command was refused.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum StatementError {
    /// The statement exists with other terms.
    #[error("this statement already exists with different terms")]
    CreatedDifferently,
    /// No such statement.
    #[error("this statement does not exist")]
    NotCreated,
    /// Only a closed (payable) statement can be paid.
    #[error("this statement is not payable yet: it closes after its deadline")]
    NotPayable,
    /// A value outside what the ledger stores.
    #[error(transparent)]
    Invalid(#[from] Invalid),
}

impl StatementError {
    /// The attribute the API names as the error's title.
    pub fn attribute(&self) -> &'static str {
        match self {
            Self::Invalid(invalid) => invalid.attribute(),
            _ => "statement",
        }
    }
}

impl StatementCommand {
    /// Refuses dates, cohorts and text that a read model could not store or a view render.
    pub fn check_bounds(&self) -> Result<(), Invalid> {
        match self {
            Self::Create(terms) | Self::Add { terms, .. } => {
                bounds::cohort("cohort", terms.cohort)?;
                bounds::text("name", &terms.name)?;
                bounds::day("deadline_date", terms.deadline_date)?;
                bounds::day("payment_date", terms.payment_date)
            }
            Self::Close { at } | Self::Pay { at } => bounds::instant("at", *at),
        }
    }
}

impl DomainEvent for StatementEvent {
    fn event_type(&self) -> String {
        let name = match self {
            Self::Created(_) => "Created",
            Self::Added { .. } => "Added",
            Self::Closed { .. } => "Closed",
            Self::Paid { .. } => "Paid",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

impl Statement {
    /// The statement's terms, once created.
    pub fn terms(&self) -> Option<&StatementTerms> {
        self.terms.as_ref()
    }

    fn decide(&self, command: StatementCommand) -> Result<Vec<StatementEvent>, StatementError> {
        use StatementCommand as C;
        command.check_bounds()?;
        match (command, &self.terms) {
            (C::Create(terms), None) => Ok(vec![StatementEvent::Created(terms)]),
            (C::Create(terms), Some(existing)) if terms == *existing => Ok(vec![]),
            (C::Create(_), Some(_)) => Err(StatementError::CreatedDifferently),
            (
                C::Add {
                    terms,
                    lines,
                    clawbacks,
                },
                None,
            ) => Ok(vec![StatementEvent::Added {
                terms,
                lines,
                clawbacks,
            }]),
            (C::Add { terms, .. }, Some(existing)) if terms == *existing => Ok(vec![]),
            (C::Add { .. }, Some(_)) => Err(StatementError::CreatedDifferently),
            (_, None) => Err(StatementError::NotCreated),
            (C::Close { .. }, Some(_)) if self.closed => Ok(vec![]),
            (C::Close { at }, Some(_)) => Ok(vec![StatementEvent::Closed { at }]),
            (C::Pay { .. }, Some(_)) if self.paid => Ok(vec![]),
            (C::Pay { .. }, Some(_)) if !self.closed => Err(StatementError::NotPayable),
            (C::Pay { at }, Some(_)) => Ok(vec![StatementEvent::Paid { at }]),
        }
    }
}

impl Aggregate for Statement {
    const TYPE: &'static str = "statement";
    type Command = StatementCommand;
    type Event = StatementEvent;
    type Error = StatementError;
    type Services = ();

    async fn handle(
        &mut self,
        command: StatementCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), StatementError> {
        let events = self.decide(command)?;
        crate::write_all(self, sink, events).await;
        Ok(())
    }

    fn apply(&mut self, event: StatementEvent) {
        match event {
            StatementEvent::Created(terms) | StatementEvent::Added { terms, .. } => {
                self.terms = Some(terms);
            }
            StatementEvent::Closed { .. } => self.closed = true,
            StatementEvent::Paid { .. } => self.paid = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;

    fn may_2022() -> StatementTerms {
        StatementTerms {
            lead_provider_id: LeadProviderId::from_name("Teach First"),
            programme: Programme::Ecf,
            cohort: 2021,
            name: "May 2022".to_owned(),
            deadline_date: NaiveDate::from_ymd_opt(2022, 4, 30).unwrap(),
            payment_date: NaiveDate::from_ymd_opt(2022, 5, 25).unwrap(),
            output_fee: true,
        }
    }

    #[test]
    fn creating_a_statement_records_its_terms() {
        TestFramework::<Statement>::with(())
            .given_no_previous_events()
            .when(StatementCommand::Create(may_2022()))
            .then_expect_events(vec![StatementEvent::Created(may_2022())]);
    }

    #[test]
    fn creating_it_again_with_the_same_terms_changes_nothing() {
        TestFramework::<Statement>::with(())
            .given(vec![StatementEvent::Created(may_2022())])
            .when(StatementCommand::Create(may_2022()))
            .then_expect_events(vec![]);
    }

    fn at() -> DateTime<Utc> {
        "2022-05-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_statement_closes_once_and_can_then_be_paid_once() {
        let created = StatementEvent::Created(may_2022());
        TestFramework::<Statement>::with(())
            .given(vec![created.clone()])
            .when(StatementCommand::Close { at: at() })
            .then_expect_events(vec![StatementEvent::Closed { at: at() }]);
        TestFramework::<Statement>::with(())
            .given(vec![created.clone(), StatementEvent::Closed { at: at() }])
            .when(StatementCommand::Close { at: at() })
            .then_expect_events(vec![]);
        TestFramework::<Statement>::with(())
            .given(vec![created.clone(), StatementEvent::Closed { at: at() }])
            .when(StatementCommand::Pay { at: at() })
            .then_expect_events(vec![StatementEvent::Paid { at: at() }]);
    }

    #[test]
    fn adding_a_statement_records_the_lines_it_takes_in_one_event() {
        let lines = vec![DeclarationId(uuid::Uuid::from_u128(1))];
        let clawbacks = vec![DeclarationId(uuid::Uuid::from_u128(2))];
        TestFramework::<Statement>::with(())
            .given_no_previous_events()
            .when(StatementCommand::Add {
                terms: may_2022(),
                lines: lines.clone(),
                clawbacks: clawbacks.clone(),
            })
            .then_expect_events(vec![StatementEvent::Added {
                terms: may_2022(),
                lines,
                clawbacks,
            }]);
    }

    #[test]
    fn adding_a_statement_the_calendar_created_takes_nothing() {
        TestFramework::<Statement>::with(())
            .given(vec![StatementEvent::Created(may_2022())])
            .when(StatementCommand::Add {
                terms: may_2022(),
                lines: vec![DeclarationId(uuid::Uuid::from_u128(1))],
                clawbacks: vec![],
            })
            .then_expect_events(vec![]);
    }

    #[test]
    fn an_open_statement_cannot_be_paid() {
        TestFramework::<Statement>::with(())
            .given(vec![StatementEvent::Created(may_2022())])
            .when(StatementCommand::Pay { at: at() })
            .then_expect_error(StatementError::NotPayable);
    }

    #[test]
    fn creating_it_again_with_other_terms_is_refused() {
        let moved = StatementTerms {
            payment_date: NaiveDate::from_ymd_opt(2022, 5, 26).unwrap(),
            ..may_2022()
        };
        TestFramework::<Statement>::with(())
            .given(vec![StatementEvent::Created(may_2022())])
            .when(StatementCommand::Create(moved))
            .then_expect_error(StatementError::CreatedDifferently);
    }
}
