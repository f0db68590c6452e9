//! The audit read side: which streams concern which people, providers and declarations, and
//! the event history an auditor pages through in the global order.

mod moves;

use aggregates::declaration::{DeclarationSlot, DeclarationSlotEvent};
use aggregates::npq::{NpqCourse, NpqEvent};
use aggregates::retirement::Retirement;
use aggregates::school_cohort::{SchoolCohort, SchoolCohortEvent};
use aggregates::training_record::{TrainingRecord, TrainingRecordEvent};
use aggregates::{Statement, StatementEvent};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::event::{self, Position};
use crate::{Projection, ProjectionError, StoredEvent, read_model};

/// Projects the subjects of each stream.
pub struct Subjects;

/// One subject of a stream.
#[derive(Default)]
struct Subject {
    participant: Option<Uuid>,
    provider: Option<Uuid>,
    declaration: Option<Uuid>,
}

#[async_trait]
impl Projection for Subjects {
    read_model!(
        name: "audit_subjects",
        reads: [TrainingRecord::TYPE, DeclarationSlot::TYPE, NpqCourse::TYPE, Statement::TYPE, SchoolCohort::TYPE, Retirement::TYPE],
        tables: ["audit_subjects"],
        read_indexes: [
            "audit_subjects_participant_idx",
            "audit_subjects_provider_idx",
            "audit_subjects_declaration_idx",
        ],
    );

    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        self.apply_run(conn, &[event]).await
    }

    /// Finds each event's subjects and writes a run's in one insert; an event whose subject
    /// is looked up in the table (the person of a later placement) first writes those before
    /// it.
    async fn apply_run(
        &self,
        conn: &mut PgConnection,
        events: &[&StoredEvent],
    ) -> Result<(), ProjectionError> {
        let mut found = Found::default();
        for &event in events {
            match subjects(event).map_err(|e| ProjectionError::decode(event, e))? {
                Said::These(subjects) => found.add(event, subjects),
                Said::PersonOfStreamWith(provider) => {
                    found.write(&mut *conn).await?;
                    let participant = sqlx::query_scalar!(
                        r#"
                        select participant_id from audit_subjects
                        where aggregate_type = $1 and aggregate_id = $2 and participant_id is not null
                        limit 1
                        "#,
                        event.aggregate_type,
                        event.aggregate_id
                    )
                    .fetch_optional(&mut *conn)
                    .await?
                    .flatten();
                    let subject = Subject {
                        participant,
                        provider: Some(provider),
                        declaration: None,
                    };
                    found.add(event, vec![subject]);
                }
            }
        }
        found.write(conn).await?;
        Ok(())
    }
}

/// What an event says its stream concerns.
enum Said {
    /// These subjects.
    These(Vec<Subject>),
    /// A provider, with the person the stream already concerns (a training record's later
    /// placement).
    PersonOfStreamWith(Uuid),
}

/// The subjects of one event; none for an event that adds none.
fn subjects(event: &StoredEvent) -> Result<Said, serde_json::Error> {
    if let Some(subjects) = moves::retirement_subjects(event)? {
        return Ok(Said::These(subjects));
    }
    let subject = match event.aggregate_type.as_str() {
        TrainingRecord::TYPE => match event.decode::<TrainingRecordEvent>()? {
            TrainingRecordEvent::Registered(r) => Subject {
                participant: Some(r.participant_id.0),
                provider: Some(r.placement.lead_provider_id.0),
                declaration: None,
            },
            TrainingRecordEvent::Joined(p) => {
                return Ok(Said::PersonOfStreamWith(p.lead_provider_id.0));
            }
            _ => return Ok(Said::These(Vec::new())),
        },
        DeclarationSlot::TYPE => match event.decode::<DeclarationSlotEvent>()? {
            DeclarationSlotEvent::Submitted(d) => Subject {
                participant: Some(d.participant_id.0),
                provider: Some(d.lead_provider_id.0),
                declaration: Some(d.id.0),
            },
            _ => return Ok(Said::These(Vec::new())),
        },
        NpqCourse::TYPE => match event.decode::<NpqEvent>()? {
            NpqEvent::Applied(a) => Subject {
                participant: Some(a.participant_id.0),
                provider: Some(a.lead_provider_id.0),
                declaration: None,
            },
            NpqEvent::Accepted { participant_id, .. } => Subject {
                participant: Some(participant_id.0),
                ..Subject::default()
            },
            _ => return Ok(Said::These(Vec::new())),
        },
        Statement::TYPE => match event.decode::<StatementEvent>()? {
            StatementEvent::Created(terms) | StatementEvent::Added { terms, .. } => Subject {
                provider: Some(terms.lead_provider_id.0),
                ..Subject::default()
            },
            _ => return Ok(Said::These(Vec::new())),
        },
        _ => match event.decode::<SchoolCohortEvent>()? {
            SchoolCohortEvent::PartnershipConfirmed {
                lead_provider_id, ..
            } => Subject {
                provider: Some(lead_provider_id.0),
                ..Subject::default()
            },
            _ => return Ok(Said::These(Vec::new())),
        },
    };
    Ok(Said::These(vec![subject]))
}

/// Subjects found and not yet written, as the columns of `audit_subjects`.
#[derive(Default)]
struct Found {
    aggregate_types: Vec<String>,
    aggregate_ids: Vec<String>,
    participants: Vec<Option<Uuid>>,
    providers: Vec<Option<Uuid>>,
    declarations: Vec<Option<Uuid>>,
}

impl Found {
    fn add(&mut self, event: &StoredEvent, subjects: Vec<Subject>) {
        for subject in subjects {
            self.aggregate_types.push(event.aggregate_type.clone());
            self.aggregate_ids.push(event.aggregate_id.clone());
            self.participants.push(subject.participant);
            self.providers.push(subject.provider);
            self.declarations.push(subject.declaration);
        }
    }

    /// Records that the streams concern the subjects (once each), and empties the list.
    async fn write(&mut self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.aggregate_ids.is_empty() {
            return Ok(());
        }
        let found = std::mem::take(self);
        sqlx::query!(
            r#"
            insert into audit_subjects (aggregate_type, aggregate_id, participant_id,
                lead_provider_id, declaration_id)
            select distinct * from unnest($1::text[], $2::text[], $3::uuid[], $4::uuid[],
                $5::uuid[])
            on conflict do nothing
            "#,
            &found.aggregate_types,
            &found.aggregate_ids,
            &found.participants as &[Option<Uuid>],
            &found.providers as &[Option<Uuid>],
            &found.declarations as &[Option<Uuid>],
        )
        .execute(conn)
        .await
        .map(drop)
    }
}

/// Which events an auditor asks for.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    /// Every stream concerning this person.
    pub participant_id: Option<Uuid>,
    /// The events of this declaration.
    pub declaration_id: Option<Uuid>,
    /// Events caused by this provider, or of streams concerning it.
    pub lead_provider_id: Option<Uuid>,
    /// Only this event type (e.g. `Voided`).
    pub event_type: Option<String>,
    /// Recorded at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Recorded before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// One page of history after `after`, in the global order. Only events below the oldest
/// running transaction are returned, so a page never changes once read and the cursor stays
/// valid while new events arrive.
pub async fn events(
    pool: &PgPool,
    filter: &EventFilter,
    after: Position,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let mut conn = crate::pool::acquire(pool).await?;
    let bound = event::visible_bound(&mut conn).await?;
    let declaration_text = filter.declaration_id.map(|d| format!("%{d}%"));
    let rows = sqlx::query_as!(
        event::EventRow,
        r#"
        select e.transaction_id::text::bigint as "transaction_id!", e.position, e.event_id,
               e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.payload, e.metadata,
               e.recorded_at
        from events e
        where (e.transaction_id, e.position) > ($1::bigint::text::xid8, $2)
          and e.transaction_id < $3::bigint::text::xid8
          and ($4::uuid is null or exists (
                select 1 from audit_subjects s
                where s.aggregate_type = e.aggregate_type and s.aggregate_id = e.aggregate_id
                  and s.participant_id = $4))
          and ($5::uuid is null or (exists (
                select 1 from audit_subjects s
                where s.aggregate_type = e.aggregate_type and s.aggregate_id = e.aggregate_id
                  and s.declaration_id = $5) and e.payload::text like $6))
          and ($7::uuid is null or e.metadata->>'actor_id' = $7::text or exists (
                select 1 from audit_subjects s
                where s.aggregate_type = e.aggregate_type and s.aggregate_id = e.aggregate_id
                  and s.lead_provider_id = $7))
          and ($8::text is null or e.event_type = $8)
          and ($9::timestamptz is null or e.recorded_at >= $9)
          and ($10::timestamptz is null or e.recorded_at < $10)
        order by e.transaction_id, e.position
        limit $11
        "#,
        after.transaction_id,
        after.position,
        bound,
        filter.participant_id,
        filter.declaration_id,
        declaration_text,
        filter.lead_provider_id,
        filter.event_type,
        filter.from,
        filter.to,
        limit,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(StoredEvent::from).collect())
}

/// One placement in a transferred participant's trail.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TrailPlacement {
    /// The provider's name.
    pub provider: String,
    /// The school.
    pub school_urn: String,
    /// When the placement started.
    pub start: DateTime<Utc>,
    /// When the school said it ended.
    pub end: Option<DateTime<Utc>>,
}

/// Something done to a declaration, and by whom.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TrailAction {
    /// The event type (`Submitted`, `Voided`, `BecameEligible`, ...).
    pub action: String,
    /// Who: `actor_type` from the event's metadata.
    pub actor_type: Option<String>,
    /// Who: `actor_id` from the event's metadata.
    pub actor_id: Option<String>,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

/// A declaration in a transfer trail.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TrailDeclaration {
    /// Its id.
    pub id: Uuid,
    /// The milestone.
    pub declaration_type: String,
    /// The date declared.
    pub declaration_date: DateTime<Utc>,
    /// The provider that submitted it.
    pub submitted_by: String,
    /// Its state now.
    pub state: String,
    /// Everything done to it, in order, starting with its submission.
    pub actions: Vec<TrailAction>,
    /// Other providers that can see it now (live ECF declarations are shown to providers
    /// currently training the participant).
    pub visible_to: Vec<String>,
}

/// The trail of one training record that moved between lead providers.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Trail {
    /// The person.
    pub participant_id: Uuid,
    /// The training record.
    pub training_record_id: Uuid,
    /// Its placements, in order.
    pub placements: Vec<TrailPlacement>,
    /// Its declarations, in the order submitted.
    pub declarations: Vec<TrailDeclaration>,
}

/// Every training record that changed lead provider, with its placements, its declarations,
/// what was done to each and by whom, and who can see them.
pub async fn transfer_trails(pool: &PgPool) -> Result<Vec<Trail>, sqlx::Error> {
    let placements = sqlx::query!(
        r#"
        select s.training_record_id, r.participant_id, lp.name as provider, s.school_urn,
               s.start_at, s.end_at
        from stints s
        join training_records r on r.id = s.training_record_id
        join lead_providers lp on lp.id = s.lead_provider_id
        where s.training_record_id in (
            select training_record_id from stints group by training_record_id
            having count(distinct lead_provider_id) > 1)
        order by r.created_at, s.training_record_id, s.seq
        "#
    )
    .fetch_all(pool)
    .await?;
    let records: Vec<Uuid> = placements.iter().map(|p| p.training_record_id).collect();
    let declarations = sqlx::query!(
        r#"
        select d.id, d.slot_id, d.training_record_id, lp.name as provider, d.declaration_type,
               d.declaration_date, d.state,
               array(select vp.name from declaration_viewers v
                     join lead_providers vp on vp.id = v.lead_provider_id
                     where v.declaration_id = d.id order by v.seq) as "visible_to!"
        from declarations d join lead_providers lp on lp.id = d.lead_provider_id
        where d.training_record_id = any($1)
        order by d.created_at, d.id
        "#,
        &records
    )
    .fetch_all(pool)
    .await?;
    let slots: Vec<String> = declarations.iter().map(|d| d.slot_id.clone()).collect();
    let events = sqlx::query!(
        r#"
        select aggregate_id, event_type, payload, metadata, recorded_at from events
        where aggregate_type = 'declaration_slot' and aggregate_id = any($1)
        order by transaction_id, position
        "#,
        &slots
    )
    .fetch_all(pool)
    .await?;
    let mut trails: Vec<Trail> = Vec::new();
    for placement in &placements {
        if trails
            .last()
            .is_none_or(|t| t.training_record_id != placement.training_record_id)
        {
            trails.push(Trail {
                participant_id: placement.participant_id,
                training_record_id: placement.training_record_id,
                placements: Vec::new(),
                declarations: Vec::new(),
            });
        }
        if let Some(trail) = trails.last_mut() {
            trail.placements.push(TrailPlacement {
                provider: placement.provider.clone(),
                school_urn: placement.school_urn.clone(),
                start: placement.start_at,
                end: placement.end_at,
            });
        }
    }
    for declaration in &declarations {
        let id = declaration.id.to_string();
        let actions = events
            .iter()
            .filter(|e| {
                e.aggregate_id == declaration.slot_id && e.payload.to_string().contains(&id)
            })
            .map(|e| TrailAction {
                action: e.event_type.clone(),
                actor_type: e
                    .metadata
                    .get("actor_type")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                actor_id: e
                    .metadata
                    .get("actor_id")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                at: e.recorded_at,
            })
            .collect();
        if let Some(trail) = trails
            .iter_mut()
            .find(|t| t.training_record_id == declaration.training_record_id)
        {
            trail.declarations.push(TrailDeclaration {
                id: declaration.id,
                declaration_type: declaration.declaration_type.clone(),
                declaration_date: declaration.declaration_date,
                submitted_by: declaration.provider.clone(),
                state: declaration.state.clone(),
                actions,
                visible_to: declaration.visible_to.clone(),
            });
        }
    }
    Ok(trails)
}
