//! The arrival of a retired id's declarations in the kept person's slot for the same
//! milestone: the rule that keeps one live declaration per milestone across a merge.

use super::{DeclarationSlot, DeclarationState, Moved};

/// What arrives of `moved`: what the slot does not hold yet, now the kept person's. A live
/// declaration arriving where one is live already (only possible for one submitted while the
/// retirement was being recorded: the retirement refuses clashes it can see) arrives
/// ineligible, superseded by the one that holds the milestone. `None` when nothing is new.
pub(super) fn arrive(slot: &DeclarationSlot, moved: Moved) -> Option<Moved> {
    let mut holder = slot.live().map(|d| d.id);
    let declarations: Vec<_> = moved
        .declarations
        .into_iter()
        .filter(|(d, _)| slot.declaration(d.id).is_none())
        .map(|(mut declaration, mut state)| {
            declaration.participant_id = moved.participant_id;
            match holder {
                Some(live) if state.is_live() => {
                    state = DeclarationState::Ineligible;
                    declaration.superseded_by = Some(live);
                }
                None if state.is_live() => holder = Some(declaration.id),
                _ => {}
            }
            (declaration, state)
        })
        .collect();
    let outcomes: Vec<_> = moved
        .outcomes
        .into_iter()
        .filter(|o| !slot.outcomes.iter().any(|known| known.id == o.id))
        .map(|mut outcome| {
            outcome.participant_id = moved.participant_id;
            outcome
        })
        .collect();
    (!declarations.is_empty() || !outcomes.is_empty()).then_some(Moved {
        participant_id: moved.participant_id,
        declarations,
        outcomes,
    })
}

#[cfg(test)]
mod tests;
