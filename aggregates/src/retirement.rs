//! Retiring a duplicate participant id: the DfE finds one person registered under two ids,
//! retires one and keeps the other. The retired id's stream records the decision; the records
//! then change owner on their own streams (training records, NPQ courses, declaration slots).

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::ids::{DeclarationId, ParticipantId};

/// One milestone that both ids hold with a live declaration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clash {
    /// The course.
    pub course: String,
    /// The milestone.
    pub declaration_type: String,
    /// The live declaration under the retired id.
    pub retired_declaration: DeclarationId,
    /// The live declaration under the kept id.
    pub kept_declaration: DeclarationId,
}

/// What the caller found out about the two ids, and what the admin said.
#[derive(Clone, Debug, PartialEq)]
pub struct RetirementFacts {
    /// The id to retire.
    pub retired_id: ParticipantId,
    /// The id to keep.
    pub kept_id: ParticipantId,
    /// Whether the id to retire names a participant record.
    pub retired_known: bool,
    /// Whether the id to keep names a participant record.
    pub kept_known: bool,
    /// The id the kept id was itself retired in favour of, if it was.
    pub kept_retired_into: Option<ParticipantId>,
    /// Whether the two records share a TRN.
    pub same_trn: bool,
    /// The admin's word that the two records are one person.
    pub confirmed_same_person: bool,
    /// Milestones both ids hold with a live declaration.
    pub clashes: Vec<Clash>,
}

/// The retirement of one participant id, once decided.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Retirement {
    kept_id: Option<ParticipantId>,
}

/// The one command on a retirement.
#[derive(Clone, Debug)]
pub enum RetirementCommand {
    /// Retire the id in favour of another; repeating the same retirement changes nothing.
    Retire(Box<RetirementFacts>),
}

/// The one event of a retirement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RetirementEvent {
    /// The id was retired: it now names the kept person.
    Retired {
        retired_id: ParticipantId,
        kept_id: ParticipantId,
        /// Whether the admin's word, rather than a shared TRN, made them one person.
        confirmed_same_person: bool,
    },
}

/// Why a retirement was refused; the message is the API's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RetirementError {
    /// Both ids are the same.
    #[error("The participant to retire and the participant to keep must be different ids.")]
    SameId,
    /// Nobody has the id to retire.
    #[error("There is no participant with the id {0} to retire.")]
    UnknownRetired(ParticipantId),
    /// Nobody has the id to keep.
    #[error("There is no participant with the id {0} to keep.")]
    UnknownKept(ParticipantId),
    /// Retired before, in favour of another id.
    #[error("The participant id {0} was already retired in favour of {1}.")]
    AlreadyRetired(ParticipantId, ParticipantId),
    /// The id to keep was itself retired.
    #[error("The participant to keep was itself retired in favour of {0}: keep that id instead.")]
    KeptIsRetired(ParticipantId),
    /// No shared TRN, and no word from the admin.
    #[error(
        "The two participants share no TRN. Confirm they are the same person ('confirmed_same_person') to retire one."
    )]
    NotSamePerson,
    /// The merge would leave two live declarations for one milestone.
    #[error(
        "Retiring would leave two live declarations for the same milestone: {}. Void one of each pair first.",
        describe(.0)
    )]
    ClashingDeclarations(Vec<Clash>),
}

impl RetirementError {
    /// The attribute the API names as the error's title.
    pub fn attribute(&self) -> &'static str {
        match self {
            Self::SameId | Self::UnknownKept(_) | Self::KeptIsRetired(_) => "keep_participant_id",
            Self::UnknownRetired(_) | Self::AlreadyRetired(..) => "participant_id",
            Self::NotSamePerson => "confirmed_same_person",
            Self::ClashingDeclarations(_) => "declarations",
        }
    }
}

fn describe(clashes: &[Clash]) -> String {
    clashes
        .iter()
        .map(|c| {
            format!(
                "{} {} ({} and {})",
                c.course, c.declaration_type, c.retired_declaration, c.kept_declaration
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl DomainEvent for RetirementEvent {
    fn event_type(&self) -> String {
        "Retired".to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

impl Retirement {
    /// The id kept in place of this one, once retired.
    pub fn kept_id(&self) -> Option<ParticipantId> {
        self.kept_id
    }

    fn decide(&self, command: RetirementCommand) -> Result<Vec<RetirementEvent>, RetirementError> {
        use RetirementError as E;
        let RetirementCommand::Retire(facts) = command;
        match self.kept_id {
            Some(kept) if kept == facts.kept_id => return Ok(vec![]),
            Some(kept) => return Err(E::AlreadyRetired(facts.retired_id, kept)),
            None => {}
        }
        if facts.retired_id == facts.kept_id {
            return Err(E::SameId);
        }
        if !facts.retired_known {
            return Err(E::UnknownRetired(facts.retired_id));
        }
        if let Some(into) = facts.kept_retired_into {
            return Err(E::KeptIsRetired(into));
        }
        if !facts.kept_known {
            return Err(E::UnknownKept(facts.kept_id));
        }
        if !facts.same_trn && !facts.confirmed_same_person {
            return Err(E::NotSamePerson);
        }
        if !facts.clashes.is_empty() {
            return Err(E::ClashingDeclarations(facts.clashes));
        }
        Ok(vec![RetirementEvent::Retired {
            retired_id: facts.retired_id,
            kept_id: facts.kept_id,
            confirmed_same_person: !facts.same_trn,
        }])
    }
}

impl Aggregate for Retirement {
    const TYPE: &'static str = "participant_retirement";
    type Command = RetirementCommand;
    type Event = RetirementEvent;
    type Error = RetirementError;
    type Services = ();

    async fn handle(
        &mut self,
        command: RetirementCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), RetirementError> {
        let events = self.decide(command)?;
        crate::write_all(self, sink, events).await;
        Ok(())
    }

    fn apply(&mut self, event: RetirementEvent) {
        let RetirementEvent::Retired { kept_id, .. } = event;
        self.kept_id = Some(kept_id);
    }
}

#[cfg(test)]
mod tests;
