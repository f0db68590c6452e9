//! Reference records: facts registered once (cohorts, schedules, contracts, lead providers,
//! delivery partners, schools) that no provider command changes. One generic aggregate serves
//! them all; registering the same record again is a no-op, so seeding is idempotent.

use std::fmt::Debug;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A kind of reference record.
pub trait Record:
    Clone + PartialEq + Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The aggregate type under which its events are stored.
    const TYPE: &'static str;

    /// The aggregate id, derived from the record's natural key.
    fn aggregate_id(&self) -> String;
}

/// The aggregate holding one reference record, once registered.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Registered<R: Record> {
    record: Option<R>,
}

impl<R: Record> Default for Registered<R> {
    fn default() -> Self {
        Self { record: None }
    }
}

/// The one command on a reference record.
#[derive(Clone, Debug)]
pub enum RecordCommand<R> {
    /// Register the record; a repeat with identical details changes nothing.
    Register(R),
}

/// The one event of a reference record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum RecordEvent<R: Record> {
    /// The record was registered with these details.
    Registered(R),
}

/// Why a registration was refused.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum RecordError {
    /// The same key was registered before with other details.
    #[error("this {0} is already registered with different details")]
    RegisteredDifferently(&'static str),
}

impl<R: Record> DomainEvent for RecordEvent<R> {
    fn event_type(&self) -> String {
        "Registered".to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

impl<R: Record> Registered<R> {
    /// The registered record, if any.
    pub fn record(&self) -> Option<&R> {
        self.record.as_ref()
    }

    fn decide(&self, command: RecordCommand<R>) -> Result<Vec<RecordEvent<R>>, RecordError> {
        let RecordCommand::Register(record) = command;
        match &self.record {
            None => Ok(vec![RecordEvent::Registered(record)]),
            Some(existing) if *existing == record => Ok(vec![]),
            Some(_) => Err(RecordError::RegisteredDifferently(R::TYPE)),
        }
    }
}

impl<R: Record> Aggregate for Registered<R> {
    const TYPE: &'static str = R::TYPE;
    type Command = RecordCommand<R>;
    type Event = RecordEvent<R>;
    type Error = RecordError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), RecordError> {
        let events = self.decide(command)?;
        crate::write_all(self, sink, events).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        let RecordEvent::Registered(record) = event;
        self.record = Some(record);
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;
    use crate::reference::DeliveryPartner;

    fn partner(name: &str) -> DeliveryPartner {
        DeliveryPartner {
            name: name.to_owned(),
        }
    }

    #[test]
    fn registering_a_new_record_records_it() {
        TestFramework::<Registered<DeliveryPartner>>::with(())
            .given_no_previous_events()
            .when(RecordCommand::Register(partner("Ace Partners")))
            .then_expect_events(vec![RecordEvent::Registered(partner("Ace Partners"))]);
    }

    #[test]
    fn registering_the_same_record_again_changes_nothing() {
        TestFramework::<Registered<DeliveryPartner>>::with(())
            .given(vec![RecordEvent::Registered(partner("Ace Partners"))])
            .when(RecordCommand::Register(partner("Ace Partners")))
            .then_expect_events(vec![]);
    }

    #[test]
    fn registering_other_details_under_the_same_key_is_refused() {
        TestFramework::<Registered<DeliveryPartner>>::with(())
            .given(vec![RecordEvent::Registered(partner("Ace Partners"))])
            .when(RecordCommand::Register(partner("Ace Partners Ltd")))
            .then_expect_error(RecordError::RegisteredDifferently("delivery_partner"));
    }
}
