//! The audit subjects a retirement adds.

use aggregates::declaration::{DeclarationSlot, DeclarationSlotEvent};
use aggregates::npq::{NpqCourse, NpqEvent};
use aggregates::retirement::{Retirement, RetirementEvent};
use aggregates::training_record::{TrainingRecord, TrainingRecordEvent};
use cqrs_es::Aggregate;
use uuid::Uuid;

use super::Subject;
use crate::StoredEvent;

/// The subjects a retirement adds: the retirement concerns both ids, and every stream whose
/// records move to the kept person concerns that person from then on, its history before the
/// move included. `None` for other events.
pub(super) fn retirement_subjects(
    event: &StoredEvent,
) -> Result<Option<Vec<Subject>>, serde_json::Error> {
    let person = |id: Uuid| Subject {
        participant: Some(id),
        ..Subject::default()
    };
    let subjects = match event.aggregate_type.as_str() {
        Retirement::TYPE => {
            let RetirementEvent::Retired {
                retired_id,
                kept_id,
                ..
            } = event.decode()?;
            vec![person(retired_id.0), person(kept_id.0)]
        }
        TrainingRecord::TYPE if event.event_type == "Reassigned" => {
            match event.decode::<TrainingRecordEvent>()? {
                TrainingRecordEvent::Reassigned { participant_id } => {
                    vec![person(participant_id.0)]
                }
                _ => return Ok(None),
            }
        }
        NpqCourse::TYPE if event.event_type == "Reassigned" => match event.decode::<NpqEvent>()? {
            NpqEvent::Reassigned { to, .. } => vec![person(to.0)],
            _ => return Ok(None),
        },
        DeclarationSlot::TYPE if matches!(event.event_type.as_str(), "MovedOut" | "MovedIn") => {
            match event.decode::<DeclarationSlotEvent>()? {
                DeclarationSlotEvent::MovedOut { participant_id } => vec![person(participant_id.0)],
                DeclarationSlotEvent::MovedIn(moved) => moved
                    .declarations
                    .iter()
                    .map(|(d, _)| Subject {
                        participant: Some(d.participant_id.0),
                        provider: Some(d.lead_provider_id.0),
                        declaration: Some(d.id.0),
                    })
                    .collect(),
                _ => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(subjects))
}
