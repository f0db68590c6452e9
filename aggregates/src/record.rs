//! Reference records: facts (cohorts, schedules, contracts, lead providers, delivery partners,
//! schools) that no provider command changes. One generic aggregate serves them all.
//! Registering the same details again is a no-op, so seeding is idempotent; registering other
//! details under the same key records them, so corrected reference data flows through.

use std::convert::Infallible;
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

    fn decide(&self, command: RecordCommand<R>) -> Vec<RecordEvent<R>> {
        let RecordCommand::Register(record) = command;
        match &self.record {
            Some(existing) if *existing == record => vec![],
            _ => vec![RecordEvent::Registered(record)],
        }
    }
}

impl<R: Record> Aggregate for Registered<R> {
    const TYPE: &'static str = R::TYPE;
    type Command = RecordCommand<R>;
    type Event = RecordEvent<R>;
    type Error = Infallible;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Infallible> {
        let events = self.decide(command);
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
    use crate::reference::{DeliveryPartner, School};

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
    fn registering_other_details_under_the_same_key_records_them() {
        let school = |name: &str| School {
            urn: "100001".into(),
            name: name.into(),
            eligible: true,
            cip_only: false,
            induction_tutor_name: None,
            induction_tutor_email: None,
        };
        TestFramework::<Registered<School>>::with(())
            .given(vec![RecordEvent::Registered(school("Old Name School"))])
            .when(RecordCommand::Register(school("New Name School")))
            .then_expect_events(vec![RecordEvent::Registered(school("New Name School"))]);
    }
}
