//! The declarations read model: states, the stored rules, statements' moves and visibility.

use aggregates::course::Course;
use aggregates::declaration::{DeclarationSlotEvent as V, DeclarationState as S};
use aggregates::reference::DeclarationType;
use aggregates::training_record::TrainingRecordEvent;
use aggregates::{Programme, StatementEvent};
use futures::TryStreamExt;
use sqlx::PgPool;
use uuid::Uuid;

use super::*;
use crate::declarations::{self, DeclarationFilter};

/// A declaration's stored state and `live`, checked against the aggregate's rule.
async fn state_of(pool: &PgPool, id: u128) -> (String, bool) {
    let (state, live): (String, bool) =
        sqlx::query_as("select state, live from declarations where id = $1")
            .bind(Uuid::from_u128(id))
            .fetch_one(pool)
            .await
            .expect("row");
    let parsed = S::parse(&state).expect("a known state");
    assert_eq!(
        live,
        parsed.is_live(),
        "live as the aggregate decides for {state}"
    );
    (state, live)
}

#[sqlx::test(migrations = "../migrations")]
async fn a_declaration_is_stored_with_whether_it_is_live_and_its_programme(pool: PgPool) {
    let alpha = provider(&pool, "Alpha").await;
    let ann = ect(&pool, "ann", alpha).await;
    let ecf = declaration(
        1,
        alpha,
        ann,
        Course::EcfInduction,
        DeclarationType::Started,
        S::Eligible,
    );
    let npq = declaration(
        2,
        alpha,
        ann,
        Course::NpqHeadship,
        DeclarationType::Started,
        S::Submitted,
    );
    on_slot(&pool, &ecf, V::Submitted(Box::new(ecf.clone()))).await;
    on_slot(&pool, &npq, V::Submitted(Box::new(npq.clone()))).await;

    catch_up(&pool).await;

    let rows: Vec<(Uuid, String, bool, String)> =
        sqlx::query_as("select id, state, live, programme from declarations order by id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![
            (ecf.id.0, "eligible".into(), true, "ecf".into()),
            (npq.id.0, "submitted".into(), true, "npq".into()),
        ]
    );
    let unattached = |programme: &'static str| {
        let pool = pool.clone();
        async move {
            declarations::unattached(&pool, Some((alpha, programme, 2024)))
                .await
                .unwrap()
                .into_iter()
                .map(|row| row.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(unattached(Programme::Ecf.as_str()).await, vec![ecf.id.0]);
    assert_eq!(
        unattached(Programme::Npq.as_str()).await,
        Vec::<Uuid>::new()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn voiding_frees_the_milestone(pool: PgPool) {
    let alpha = provider(&pool, "Alpha").await;
    let ann = ect(&pool, "ann", alpha).await;
    let started = submit_started(&pool, 1, alpha, ann, S::Submitted).await;
    catch_up(&pool).await;
    assert_eq!(state_of(&pool, 1).await, ("submitted".into(), true));

    on_slot(
        &pool,
        &started,
        V::Voided {
            declaration_id: started.id,
        },
    )
    .await;
    catch_up(&pool).await;

    assert_eq!(state_of(&pool, 1).await, ("voided".into(), false));
    assert!(
        declarations::live_of_record(&pool, ann.1.0)
            .await
            .unwrap()
            .is_empty()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn statements_move_their_lines_through_payment_and_clawback(pool: PgPool) {
    let alpha = provider(&pool, "Alpha").await;
    let ann = ect(&pool, "ann", alpha).await;
    let first = statement(&pool, terms(alpha, Programme::Ecf, 3)).await;
    let second = statement(&pool, terms(alpha, Programme::Ecf, 6)).await;
    let started = submit_started(&pool, 1, alpha, ann, S::Submitted).await;
    on_slot(
        &pool,
        &started,
        V::BecameEligible {
            declaration_id: started.id,
            statement_id: Some(first),
        },
    )
    .await;
    catch_up(&pool).await;
    assert_eq!(state_of(&pool, 1).await, ("eligible".into(), true));

    on_statement(&pool, first, StatementEvent::Closed { at: day(3, 2) }).await;
    catch_up(&pool).await;
    assert_eq!(state_of(&pool, 1).await, ("payable".into(), true));

    on_statement(&pool, first, StatementEvent::Paid { at: day(3, 25) }).await;
    catch_up(&pool).await;
    assert_eq!(state_of(&pool, 1).await, ("paid".into(), true));

    let void = V::ClawbackRequested {
        declaration_id: started.id,
        statement_id: Some(second),
    };
    on_slot(&pool, &started, void).await;
    catch_up(&pool).await;
    assert_eq!(
        state_of(&pool, 1).await,
        ("awaiting-clawback".into(), false)
    );

    on_statement(&pool, second, StatementEvent::Closed { at: day(6, 2) }).await;
    on_statement(&pool, second, StatementEvent::Paid { at: day(6, 25) }).await;
    catch_up(&pool).await;
    assert_eq!(state_of(&pool, 1).await, ("clawed-back".into(), false));
    let (statement_id, clawback_statement_id): (Option<Uuid>, Option<Uuid>) = sqlx::query_as(
        "select statement_id, clawback_statement_id from declarations where id = $1",
    )
    .bind(started.id.0)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (statement_id, clawback_statement_id),
        (Some(first.0), Some(second.0))
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_provider_that_took_a_participant_on_sees_the_others_live_ecf_declarations(pool: PgPool) {
    let alpha = provider(&pool, "Alpha").await;
    let beta = provider(&pool, "Beta").await;
    let ann = ect(&pool, "ann", alpha).await;
    let started = submit_started(&pool, 1, alpha, ann, S::Eligible).await;
    let voided = declaration(
        2,
        alpha,
        ann,
        Course::EcfInduction,
        DeclarationType::Retained1,
        S::Eligible,
    );
    on_slot(&pool, &voided, V::Submitted(Box::new(voided.clone()))).await;
    on_slot(
        &pool,
        &voided,
        V::Voided {
            declaration_id: voided.id,
        },
    )
    .await;
    let joined = TrainingRecordEvent::Joined(placement(beta, day(4, 1)));
    append(&pool, ("training_record", &ann.1.0.to_string()), &joined).await;

    catch_up(&pool).await;

    let page = crate::Page {
        number: 1,
        size: 10,
    };
    let seen = |provider| {
        let pool = pool.clone();
        async move {
            declarations::list(&pool, provider, &DeclarationFilter::default(), page)
                .await
                .unwrap()
                .into_iter()
                .map(|row| (row.id, row.lead_provider_name))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(seen(beta).await, vec![(started.id.0, "Alpha".to_owned())]);
    assert_eq!(seen(alpha).await.len(), 2);
    let trails = crate::audit::transfer_trails(&pool).await.unwrap();
    let visible: Vec<_> = trails[0]
        .declarations
        .iter()
        .map(|d| (d.id, d.visible_to.clone()))
        .collect();
    assert_eq!(
        visible,
        vec![
            (started.id.0, vec!["Beta".to_owned()]),
            (voided.id.0, vec![])
        ]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn submissions_written_as_a_run_leave_the_rows_of_one_event_at_a_time(pool: PgPool) {
    let alpha = provider(&pool, "Alpha").await;
    let first = statement(&pool, terms(alpha, Programme::Ecf, 3)).await;
    let on_first = |id, person| {
        let mut d = declaration(
            id,
            alpha,
            person,
            Course::EcfInduction,
            DeclarationType::Started,
            S::Eligible,
        );
        d.statement_id = Some(first);
        d
    };
    let ann = on_first(1, ect(&pool, "ann", alpha).await);
    on_slot(&pool, &ann, V::Submitted(Box::new(ann.clone()))).await;
    on_statement(&pool, first, StatementEvent::Closed { at: day(3, 2) }).await;
    // Submitted onto a statement that has closed: the line follows it to payable.
    let bob = on_first(2, ect(&pool, "bob", alpha).await);
    on_slot(&pool, &bob, V::Submitted(Box::new(bob.clone()))).await;
    let cat = ect(&pool, "cat", alpha).await;
    submit_started(&pool, 3, alpha, cat, S::Submitted).await;
    on_slot(
        &pool,
        &ann,
        V::Voided {
            declaration_id: ann.id,
        },
    )
    .await;
    let dan = on_first(4, ect(&pool, "dan", alpha).await);
    on_slot(&pool, &dan, V::Submitted(Box::new(dan.clone()))).await;

    catch_up(&pool).await;
    let as_a_run = rows_of(&pool, DECLARATION_TABLES).await;
    apply_one_at_a_time(&pool, &crate::declarations::Declarations).await;

    assert_eq!(rows_of(&pool, DECLARATION_TABLES).await, as_a_run);
    assert_eq!(state_of(&pool, 2).await, ("payable".into(), true));
    assert_eq!(state_of(&pool, 4).await, ("payable".into(), true));
    assert_eq!(state_of(&pool, 1).await, ("voided".into(), false));
    assert_eq!(state_of(&pool, 3).await, ("submitted".into(), true));
}

/// The declarations read model's tables.
const DECLARATION_TABLES: &[&str] = &[
    "declarations",
    "statement_lines",
    "statement_line_counts",
    "line_statements",
    "npq_outcomes",
    "list_lengths",
];

#[sqlx::test(migrations = "../migrations")]
async fn pages_read_by_place_are_the_pages_of_the_list_in_order(pool: PgPool) {
    let alpha = provider(&pool, "Alpha").await;
    let beta = provider(&pool, "Beta").await;
    let mut people = Vec::new();
    for name in ["ann", "bob", "cat", "dan", "eve"] {
        people.push(ect(&pool, name, alpha).await);
    }
    let gil = ect(&pool, "gil", beta).await;
    let hal = ect(&pool, "hal", beta).await;
    // Recorded first and committed last: Alpha's list gets it after later ones are shown.
    let late = declaration(
        10,
        alpha,
        people[4],
        Course::EcfInduction,
        DeclarationType::Started,
        S::Eligible,
    );
    let mut held = pool.begin().await.unwrap();
    append(
        &mut *held,
        ("declaration_slot", &slot(&late)),
        &V::Submitted(Box::new(late.clone())),
    )
    .await;
    submit_started(&pool, 1, alpha, people[0], S::Eligible).await;
    submit_started(&pool, 2, beta, gil, S::Eligible).await;
    submit_started(&pool, 3, alpha, people[1], S::Eligible).await;
    catch_up(&pool).await;
    held.commit().await.unwrap();
    submit_started(&pool, 4, alpha, people[2], S::Eligible).await;
    submit_started(&pool, 5, beta, hal, S::Eligible).await;
    submit_started(&pool, 6, alpha, people[3], S::Eligible).await;
    // Beta takes Ann and Cat on: it sees their Alpha declarations among its own.
    for (_, record) in [people[0], people[2]] {
        let joined = TrainingRecordEvent::Joined(placement(beta, day(4, 1)));
        append(&pool, ("training_record", &record.0.to_string()), &joined).await;
    }
    catch_up(&pool).await;

    assert_places_in_order(&pool, "declarations", "declarations", "created_at, id").await;
    let everything = DeclarationFilter::default();
    for (provider, expected) in [(alpha, 5), (beta, 4)] {
        // The whole list, merged by time rather than read by place.
        let whole: Vec<Uuid> = declarations::stream(&pool, provider, &everything, None)
            .map_ok(|row| row.id)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(whole.len(), expected);
        for size in 1..=3 {
            for number in 1..=6 {
                let page = crate::Page { number, size };
                let ids: Vec<Uuid> = declarations::list(&pool, provider, &everything, page)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|row| row.id)
                    .collect();
                let skipped = whole.iter().skip(usize::try_from(page.offset()).unwrap());
                let wanted: Vec<Uuid> = skipped
                    .take(usize::try_from(size).unwrap())
                    .copied()
                    .collect();
                assert_eq!(ids, wanted, "page {number} of {size}");
            }
        }
    }
}
