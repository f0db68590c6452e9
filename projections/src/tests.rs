//! Read-model tests: events are written to the log as the ledger writes them, the runner
//! applies them, and the rows are checked.

mod declarations;
mod finance;
mod rebuild;
mod records;

use aggregates::course::{Course, ParticipantType};
use aggregates::declaration::{Declaration, DeclarationSlotEvent, DeclarationState};
use aggregates::reference::{DeclarationType, LeadProvider};
use aggregates::training_record::{Placement, Registration, TrainingRecordEvent};
use aggregates::{
    DeclarationId, DeliveryPartnerId, LeadProviderId, ParticipantId, Programme, RecordEvent,
    SchoolId, StatementEvent, StatementId, StatementTerms, TrainingRecordId,
};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use cqrs_es::DomainEvent;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::Runner;

/// Appends one event to an aggregate's stream, after the ones it has.
async fn append<'c, E: Serialize + DomainEvent>(
    db: impl sqlx::PgExecutor<'c>,
    aggregate: (&str, &str),
    event: &E,
) {
    sqlx::query(
        r#"
        insert into events (aggregate_type, aggregate_id, sequence, event_type, event_version,
            payload, metadata)
        select $1, $2, coalesce(max(sequence), 0) + 1, $3, $4, $5, '{}'
        from events where aggregate_type = $1 and aggregate_id = $2
        "#,
    )
    .bind(aggregate.0)
    .bind(aggregate.1)
    .bind(event.event_type())
    .bind(event.event_version())
    .bind(serde_json::to_value(event).expect("event serializes"))
    .execute(db)
    .await
    .expect("event appends");
}

/// Brings every read model up to the end of the log.
async fn catch_up(pool: &PgPool) {
    let runner = Runner::new(pool.clone(), crate::all())
        .await
        .expect("runner");
    runner.catch_up().await.expect("read models catch up");
}

/// Empties a read model and applies every event of the log it reads one at a time, as
/// [`Projection::apply`] does: the rows any run of the same events must leave too.
async fn apply_one_at_a_time(pool: &PgPool, projection: &dyn crate::Projection) {
    let mut conn = pool.acquire().await.unwrap();
    projection.reset(&mut conn).await.unwrap();
    let streams: Vec<(String, String)> =
        sqlx::query_as("select distinct aggregate_type, aggregate_id from events")
            .fetch_all(pool)
            .await
            .unwrap();
    let mut events = Vec::new();
    for (aggregate_type, aggregate_id) in streams {
        if projection
            .aggregate_types()
            .contains(&aggregate_type.as_str())
        {
            events.extend(
                crate::event::of_aggregate(pool, &aggregate_type, &aggregate_id)
                    .await
                    .unwrap(),
            );
        }
    }
    events.sort_by_key(|event| event.position.position);
    for event in &events {
        projection.apply(&mut conn, event).await.unwrap();
    }
}

/// Every row of these tables, as text, in a stable order.
async fn rows_of(pool: &PgPool, tables: &[&str]) -> Vec<String> {
    let mut rows = Vec::new();
    for table in tables {
        let sql = format!("select '{table} ' || t::text from {table} t order by 1");
        rows.extend(
            sqlx::query_scalar::<_, String>(&sql)
                .fetch_all(pool)
                .await
                .unwrap(),
        );
    }
    rows
}

/// Asserts that every row of `table` holds its place (`ordinal`) in its provider's list, in
/// the list's `order`: dense from 1, with no gap and no two alike; and that `list_lengths`
/// holds each provider's count of rows as the length of `list`.
async fn assert_places_in_order(pool: &PgPool, table: &str, list: &str, order: &str) {
    let sql = format!(
        "select count(*) from (
             select ordinal, row_number() over (partition by lead_provider_id order by {order})
                 as place
             from {table}
         ) listed
         where ordinal <> place"
    );
    let misplaced: i64 = sqlx::query_scalar(&sql).fetch_one(pool).await.unwrap();
    assert_eq!(misplaced, 0, "rows of {table} out of place");
    let sql = format!(
        "select count(*) from (select lead_provider_id, count(*) as rows from {table} group by 1) c
         full join (select lead_provider_id, length from list_lengths
                    where list = $1 and length <> 0) l using (lead_provider_id)
         where c.rows is distinct from l.length"
    );
    let miscounted: i64 = sqlx::query_scalar(&sql)
        .bind(list)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(miscounted, 0, "lengths of the {list} lists miscounted");
}

/// A day of 2024, at noon.
fn day(month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, month, day, 12, 0, 0).unwrap()
}

/// Registers a lead provider.
async fn provider(pool: &PgPool, name: &str) -> LeadProviderId {
    let provider = LeadProvider {
        name: name.to_owned(),
        ecf: true,
        npq: true,
    };
    let id = LeadProviderId::from_name(name);
    append(
        pool,
        ("lead_provider", &id.to_string()),
        &RecordEvent::Registered(provider),
    )
    .await;
    id
}

/// Registers an ECT's training record with a provider; returns the person and the record.
async fn ect(
    pool: &PgPool,
    name: &str,
    provider: LeadProviderId,
) -> (ParticipantId, TrainingRecordId) {
    let participant = ParticipantId(aggregates::ids::derived(&format!("person:{name}")));
    let record = TrainingRecordId(aggregates::ids::derived(&format!("record:{name}")));
    let event =
        TrainingRecordEvent::Registered(Box::new(registration(participant, name, provider)));
    append(pool, ("training_record", &record.0.to_string()), &event).await;
    (participant, record)
}

/// An ECT's registration with a provider, starting on 1 January.
fn registration(participant: ParticipantId, name: &str, provider: LeadProviderId) -> Registration {
    Registration {
        participant_id: participant,
        participant_type: ParticipantType::Ect,
        full_name: name.to_owned(),
        email: format!("{name}@example.com"),
        trn: None,
        trn_validated: false,
        eligible_for_funding: Some(true),
        pupil_premium_uplift: true,
        sparsity_uplift: false,
        mentor_id: None,
        cohort: 2024,
        schedule_identifier: "ecf-standard-september".to_owned(),
        placement: placement(provider, day(1, 1)),
    }
}

/// A placement with a provider from `start`.
fn placement(provider: LeadProviderId, start: DateTime<Utc>) -> Placement {
    Placement {
        school_id: SchoolId(aggregates::ids::derived("school:1")),
        school_urn: "100001".to_owned(),
        lead_provider_id: provider,
        delivery_partner_id: DeliveryPartnerId::from_name("Partner"),
        start,
    }
}

/// A declaration of a record, submitted in `state`.
fn declaration(
    id: u128,
    provider: LeadProviderId,
    (participant, record): (ParticipantId, TrainingRecordId),
    course: Course,
    declaration_type: DeclarationType,
    state: DeclarationState,
) -> Declaration {
    Declaration {
        id: DeclarationId(Uuid::from_u128(id)),
        participant_id: participant,
        training_record_id: record,
        lead_provider_id: provider,
        course,
        declaration_type,
        declaration_date: day(2, 1),
        evidence_held: None,
        state,
        superseded_by: None,
        delivery_partner_id: None,
        mentor_id: None,
        pupil_premium_uplift: id.is_multiple_of(2),
        sparsity_uplift: false,
        cohort: 2024,
        statement_id: None,
        clawback_statement_id: None,
        targeted_delivery_funding: id.is_multiple_of(3),
        has_passed: None,
    }
}

/// Submits a declaration of an ECT's `started` milestone in `state`.
async fn submit_started(
    pool: &PgPool,
    id: u128,
    provider: LeadProviderId,
    person: (ParticipantId, TrainingRecordId),
    state: DeclarationState,
) -> Declaration {
    let started = declaration(
        id,
        provider,
        person,
        Course::EcfInduction,
        DeclarationType::Started,
        state,
    );
    on_slot(
        pool,
        &started,
        DeclarationSlotEvent::Submitted(Box::new(started.clone())),
    )
    .await;
    started
}

/// The slot stream a declaration lives in.
fn slot(declaration: &Declaration) -> String {
    aggregates::declaration::slot_id(
        &declaration.participant_id.0.to_string(),
        declaration.course.as_str(),
        declaration.declaration_type.as_str(),
    )
}

/// Appends a slot event to the declaration's slot.
async fn on_slot(pool: &PgPool, declaration: &Declaration, event: DeclarationSlotEvent) {
    append(pool, ("declaration_slot", &slot(declaration)), &event).await;
}

/// A statement's terms: an output-fee statement of the provider's programme in cohort 2024,
/// paid in `month`.
fn terms(provider: LeadProviderId, programme: Programme, month: u32) -> StatementTerms {
    StatementTerms {
        lead_provider_id: provider,
        programme,
        cohort: 2024,
        name: format!("Month {month}"),
        deadline_date: NaiveDate::from_ymd_opt(2024, month, 1).unwrap(),
        payment_date: NaiveDate::from_ymd_opt(2024, month, 25).unwrap(),
        output_fee: true,
    }
}

/// Creates a statement; returns its id.
async fn statement(pool: &PgPool, terms: StatementTerms) -> StatementId {
    let id = StatementId::for_calendar(
        terms.lead_provider_id,
        terms.programme,
        terms.cohort,
        &terms.name,
    );
    on_statement(pool, id, StatementEvent::Created(terms)).await;
    id
}

/// Appends an event to a statement's stream.
async fn on_statement(pool: &PgPool, id: StatementId, event: StatementEvent) {
    append(pool, ("statement", &id.to_string()), &event).await;
}
