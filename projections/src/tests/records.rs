//! The reference, participant, retirement, statement and audit read models.

use aggregates::retirement::{Retirement, RetirementEvent};
use aggregates::training_record::TrainingRecordEvent;
use aggregates::{Programme, StatementEvent};
use cqrs_es::Aggregate;
use sqlx::PgPool;
use uuid::Uuid;

use super::*;

#[sqlx::test(migrations = "../migrations")]
async fn a_registered_lead_provider_is_a_row(pool: PgPool) {
    let alpha = provider(&pool, "Alpha").await;

    catch_up(&pool).await;

    let row: (Uuid, String, bool, bool) =
        sqlx::query_as("select id, name, ecf, npq from lead_providers")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(row, (alpha.0, "Alpha".to_owned(), true, true));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_transfer_ends_nothing_and_adds_the_new_providers_stint(pool: PgPool) {
    let alpha = provider(&pool, "Alpha").await;
    let beta = provider(&pool, "Beta").await;
    let (ann, record) = ect(&pool, "ann", alpha).await;
    let joined = TrainingRecordEvent::Joined(placement(beta, day(4, 1)));
    append(&pool, ("training_record", &record.0.to_string()), &joined).await;

    catch_up(&pool).await;

    let person: (Uuid, String) = sqlx::query_as("select id, full_name from participants")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(person, (ann.0, "ann".to_owned()));
    let stints: Vec<(i32, Uuid, bool, bool, String)> = sqlx::query_as(
        r#"
        select seq, lead_provider_id, transfer, latest, training_status from stints
        where training_record_id = $1 order by seq
        "#,
    )
    .bind(record.0)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        stints,
        vec![
            (0, alpha.0, false, true, "active".to_owned()),
            (1, beta.0, true, true, "active".to_owned()),
        ]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_statement_row_follows_its_close_and_payment(pool: PgPool) {
    let alpha = provider(&pool, "Alpha").await;
    let id = statement(&pool, terms(alpha, Programme::Npq, 3)).await;
    catch_up(&pool).await;
    let status = || {
        sqlx::query_as::<_, (String, String, bool, bool)>(
            r#"
            select name, programme, closed_at is not null, paid_at is not null
            from statements where id = $1
            "#,
        )
        .bind(id.0)
        .fetch_one(&pool)
    };
    assert_eq!(
        status().await.unwrap(),
        ("Month 3".into(), "npq".into(), false, false)
    );

    on_statement(&pool, id, StatementEvent::Closed { at: day(3, 2) }).await;
    catch_up(&pool).await;
    assert_eq!(
        status().await.unwrap(),
        ("Month 3".into(), "npq".into(), true, false)
    );

    on_statement(&pool, id, StatementEvent::Paid { at: day(3, 25) }).await;
    catch_up(&pool).await;
    assert_eq!(
        status().await.unwrap(),
        ("Month 3".into(), "npq".into(), true, true)
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_declarations_stream_concerns_its_person_provider_and_declaration(pool: PgPool) {
    let alpha = provider(&pool, "Alpha").await;
    let ann = ect(&pool, "ann", alpha).await;
    let started = submit_started(&pool, 1, alpha, ann, DeclarationState::Submitted).await;

    catch_up(&pool).await;

    let subjects: Vec<(Option<Uuid>, Option<Uuid>, Option<Uuid>)> = sqlx::query_as(
        r#"
        select participant_id, lead_provider_id, declaration_id from audit_subjects
        where aggregate_type = 'declaration_slot' and aggregate_id = $1
        "#,
    )
    .bind(slot(&started))
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        subjects.contains(&(Some(ann.0.0), Some(alpha.0), Some(started.id.0))),
        "{subjects:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_id_retired_into_one_retired_later_names_the_person_kept_last(pool: PgPool) {
    let [first, second, kept] = [1, 2, 3].map(|n| ParticipantId(Uuid::from_u128(n)));
    for (retired_id, kept_id) in [(first, second), (second, kept)] {
        let retired = RetirementEvent::Retired {
            retired_id,
            kept_id,
            confirmed_same_person: retired_id == first,
        };
        append(
            &pool,
            (Retirement::TYPE, &retired_id.0.to_string()),
            &retired,
        )
        .await;
    }

    catch_up(&pool).await;

    let rows: Vec<(Uuid, Uuid, bool)> = sqlx::query_as(
        "select retired_id, kept_id, confirmed_same_person from participant_retirements
         order by retired_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![(first.0, kept.0, true), (second.0, kept.0, false)]
    );
    assert_eq!(
        crate::retirements::kept_for(&pool, first.0).await.unwrap(),
        Some(kept.0)
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn registrations_written_as_a_run_leave_the_rows_of_one_event_at_a_time(pool: PgPool) {
    let alpha = provider(&pool, "Alpha").await;
    let beta = provider(&pool, "Beta").await;
    let (ann, _) = ect(&pool, "ann", alpha).await;
    // Ann is also a mentor, registered with her TRN: one person, two records.
    let mentor_record = Uuid::new_v4().to_string();
    let mut mentor = registration(ann, "ann", alpha);
    mentor.participant_type = ParticipantType::Mentor;
    mentor.trn = Some("1234567".to_owned());
    let registered = TrainingRecordEvent::Registered(Box::new(mentor));
    append(&pool, ("training_record", &mentor_record), &registered).await;
    let (_, bob) = ect(&pool, "bob", alpha).await;
    let joined = TrainingRecordEvent::Joined(placement(beta, day(4, 1)));
    append(&pool, ("training_record", &bob.0.to_string()), &joined).await;
    ect(&pool, "cat", beta).await;

    // The runner reads the log in one batch: two stretches of registrations around a move.
    catch_up(&pool).await;
    let as_a_run = rows_of(&pool, PARTICIPANT_TABLES).await;

    apply_one_at_a_time(&pool, &crate::participants::Participants).await;

    assert_eq!(rows_of(&pool, PARTICIPANT_TABLES).await, as_a_run);
    let trn: Option<String> = sqlx::query_scalar("select trn from participants where id = $1")
        .bind(ann.0)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(trn.as_deref(), Some("1234567"));
    assert_eq!(
        as_a_run.len(),
        3 + 4 + 5 + 4,
        "people, records, stints, listings"
    );
}

/// The participants read model's tables.
const PARTICIPANT_TABLES: &[&str] = &[
    "participants",
    "training_records",
    "stints",
    "provider_participants",
];

#[sqlx::test(migrations = "../migrations")]
async fn audit_subjects_written_as_a_run_leave_the_rows_of_one_event_at_a_time(pool: PgPool) {
    let alpha = provider(&pool, "Alpha").await;
    let beta = provider(&pool, "Beta").await;
    let ann = ect(&pool, "ann", alpha).await;
    submit_started(&pool, 1, alpha, ann, DeclarationState::Eligible).await;
    // A later placement's subject names the person the stream already concerns.
    let joined = TrainingRecordEvent::Joined(placement(beta, day(4, 1)));
    append(&pool, ("training_record", &ann.1.0.to_string()), &joined).await;
    let bob = ect(&pool, "bob", beta).await;
    submit_started(&pool, 2, beta, bob, DeclarationState::Eligible).await;

    catch_up(&pool).await;
    let as_a_run = rows_of(&pool, &["audit_subjects"]).await;
    apply_one_at_a_time(&pool, &crate::audit::Subjects).await;

    assert_eq!(rows_of(&pool, &["audit_subjects"]).await, as_a_run);
    let beta_concerns_ann: bool = sqlx::query_scalar(
        "select exists (select 1 from audit_subjects where participant_id = $1 and lead_provider_id = $2)",
    )
    .bind(ann.0.0)
    .bind(beta.0)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(beta_concerns_ann, "{as_a_run:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn each_providers_list_keeps_its_places_dense_and_in_order(pool: PgPool) {
    let alpha = provider(&pool, "Alpha").await;
    let beta = provider(&pool, "Beta").await;
    let (_, ann) = ect(&pool, "ann", alpha).await;
    let (_, bob) = ect(&pool, "bob", alpha).await;
    ect(&pool, "cat", beta).await;
    let (dan, _) = ect(&pool, "dan", beta).await;
    // Bob, created before Beta's people, joins Beta's list near its start.
    let joined = TrainingRecordEvent::Joined(placement(beta, day(4, 1)));
    append(&pool, ("training_record", &bob.0.to_string()), &joined).await;
    // Ann's record moves to Dan: Ann leaves Alpha's list from its first place, Dan joins it.
    let reassigned = TrainingRecordEvent::Reassigned {
        participant_id: dan,
    };
    append(&pool, ("training_record", &ann.0.to_string()), &reassigned).await;

    catch_up(&pool).await;

    assert_places_in_order(
        &pool,
        "provider_participants",
        "participants",
        "participant_created_at, participant_id",
    )
    .await;
    let names = |provider, filter: crate::participants::ParticipantFilter, number, size| {
        let pool = pool.clone();
        async move {
            let page = crate::Page { number, size };
            crate::participants::list(&pool, provider, &filter, page)
                .await
                .unwrap()
                .into_iter()
                .map(|row| row.full_name)
                .collect::<Vec<_>>()
        }
    };
    let everyone = crate::participants::ParticipantFilter::default;
    assert_eq!(names(alpha, everyone(), 1, 10).await, ["bob", "dan"]);
    assert_eq!(names(beta, everyone(), 1, 10).await, ["bob", "cat", "dan"]);
    // Read by place, every page is the page the filtered list (read by skipping) gives.
    let of_2024 = || crate::participants::ParticipantFilter {
        cohorts: Some(vec![2024]),
        ..Default::default()
    };
    for provider in [alpha, beta] {
        for size in 1..=3 {
            for number in 1..=4 {
                assert_eq!(
                    names(provider, everyone(), number, size).await,
                    names(provider, of_2024(), number, size).await,
                    "page {number} of {size}"
                );
            }
        }
    }
}
