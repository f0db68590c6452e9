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
