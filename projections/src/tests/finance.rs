//! The live finance read model against the fold of the log as of now, over generated
//! histories of declarations, voids and statements.

use aggregates::course::Course;
use aggregates::declaration::{DeclarationSlotEvent as V, DeclarationState as S};
use aggregates::reference::DeclarationType;
use aggregates::{DeclarationId, Programme, StatementEvent, StatementId};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use sqlx::PgPool;

use super::*;
use crate::finance;

/// One step of a provider's history.
#[derive(Clone, Debug)]
enum Step {
    /// A declaration is submitted, eligible (on the open statement) or not; of a type; of an
    /// ECT or on an NPQ course.
    Submit {
        eligible: bool,
        kind: usize,
        npq: bool,
    },
    /// A submitted declaration becomes eligible.
    MarkEligible(usize),
    /// A declaration is voided: clawed back if paid.
    Void(usize),
    /// The open statement closes.
    Close,
    /// The oldest closed statement is paid.
    Pay,
    /// A statement is added, taking the lines that no statement holds.
    Add,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (any::<bool>(), 0..3usize, any::<bool>())
            .prop_map(|(eligible, kind, npq)| Step::Submit { eligible, kind, npq }),
        2 => (0..64usize).prop_map(Step::MarkEligible),
        2 => (0..64usize).prop_map(Step::Void),
        1 => Just(Step::Close),
        1 => Just(Step::Pay),
        1 => Just(Step::Add),
    ]
}

/// A statement as the history left it.
struct Held {
    id: StatementId,
    programme: Programme,
    closed: bool,
    paid: bool,
}

/// A declaration as the slot sees it, and the statements holding its lines.
struct Line {
    declaration: aggregates::declaration::Declaration,
    state: S,
    statement: Option<usize>,
    clawback: Option<usize>,
}

/// Writes one provider's history to the log.
async fn write_history(pool: &PgPool, name: &str, steps: &[Step]) -> LeadProviderId {
    let provider = provider(pool, name).await;
    let mut statements: Vec<Held> = Vec::new();
    let mut lines: Vec<Line> = Vec::new();
    for programme in [Programme::Ecf, Programme::Npq] {
        let id = statement(pool, terms(provider, programme, 1)).await;
        statements.push(Held {
            id,
            programme,
            closed: false,
            paid: false,
        });
    }
    let open = |statements: &[Held], programme| {
        statements
            .iter()
            .position(|s| s.programme == programme && !s.closed)
    };
    for (n, step) in steps.iter().enumerate() {
        match *step {
            Step::Submit {
                eligible,
                kind,
                npq,
            } => {
                let person = (
                    aggregates::ParticipantId(aggregates::ids::derived(&format!("{name}:{n}"))),
                    aggregates::TrainingRecordId(aggregates::ids::derived(&format!("{name}:r{n}"))),
                );
                let course = if npq {
                    Course::NpqHeadship
                } else {
                    Course::EcfInduction
                };
                let kind = [
                    DeclarationType::Started,
                    DeclarationType::Retained1,
                    DeclarationType::Completed,
                ][kind];
                let state = if eligible { S::Eligible } else { S::Submitted };
                let id = aggregates::ids::derived(&format!("{name}:d{n}")).as_u128();
                let mut declaration = declaration(id, provider, person, course, kind, state);
                let statement = open(&statements, course.programme()).filter(|_| eligible);
                declaration.statement_id = statement.map(|i| statements[i].id);
                on_slot(
                    pool,
                    &declaration,
                    V::Submitted(Box::new(declaration.clone())),
                )
                .await;
                lines.push(Line {
                    declaration,
                    state,
                    statement,
                    clawback: None,
                });
            }
            Step::MarkEligible(i) if !lines.is_empty() => {
                let i = i % lines.len();
                if lines[i].state != S::Submitted {
                    continue;
                }
                let statement = open(&statements, lines[i].declaration.course.programme());
                let line = &mut lines[i];
                line.state = S::Eligible;
                line.statement = statement;
                let event = V::BecameEligible {
                    declaration_id: line.declaration.id,
                    statement_id: statement.map(|s| statements[s].id),
                };
                on_slot(pool, &line.declaration, event).await;
            }
            Step::Void(i) if !lines.is_empty() => {
                let i = i % lines.len();
                let paid = lines[i].statement.is_some_and(|s| statements[s].paid);
                let programme = lines[i].declaration.course.programme();
                let line = &mut lines[i];
                let declaration_id = line.declaration.id;
                let event = match line.state {
                    S::Voided | S::AwaitingClawback | S::ClawedBack => continue,
                    S::Eligible if paid => {
                        let clawback = open(&statements, programme);
                        line.state = S::AwaitingClawback;
                        line.clawback = clawback;
                        V::ClawbackRequested {
                            declaration_id,
                            statement_id: clawback.map(|s| statements[s].id),
                        }
                    }
                    _ => {
                        line.state = S::Voided;
                        V::Voided { declaration_id }
                    }
                };
                on_slot(pool, &line.declaration, event).await;
            }
            Step::Close => {
                let Some(s) = statements.iter().position(|s| !s.closed) else {
                    continue;
                };
                statements[s].closed = true;
                on_statement(
                    pool,
                    statements[s].id,
                    StatementEvent::Closed { at: day(1, 2) },
                )
                .await;
            }
            Step::Pay => {
                let Some(s) = statements.iter().position(|s| s.closed && !s.paid) else {
                    continue;
                };
                statements[s].paid = true;
                on_statement(
                    pool,
                    statements[s].id,
                    StatementEvent::Paid { at: day(1, 25) },
                )
                .await;
            }
            Step::Add => {
                let programme = if n % 2 == 0 {
                    Programme::Ecf
                } else {
                    Programme::Npq
                };
                let month = u32::try_from(statements.len() + 1).unwrap().min(12);
                let mut terms = terms(provider, programme, month);
                terms.name = format!("Added {n}");
                let id = StatementId::for_calendar(provider, programme, 2024, &terms.name);
                let index = statements.len();
                let mut taken: Vec<DeclarationId> = Vec::new();
                let mut clawbacks: Vec<DeclarationId> = Vec::new();
                for line in lines
                    .iter_mut()
                    .filter(|l| l.declaration.course.programme() == programme)
                {
                    if line.state == S::Eligible && line.statement.is_none() {
                        line.statement = Some(index);
                        taken.push(line.declaration.id);
                    }
                    if line.state == S::AwaitingClawback && line.clawback.is_none() {
                        line.clawback = Some(index);
                        clawbacks.push(line.declaration.id);
                    }
                }
                statements.push(Held {
                    id,
                    programme,
                    closed: false,
                    paid: false,
                });
                let event = StatementEvent::Added {
                    terms,
                    lines: taken,
                    clawbacks,
                };
                on_statement(pool, id, event).await;
            }
            Step::MarkEligible(_) | Step::Void(_) => {}
        }
    }
    provider
}

#[sqlx::test(migrations = "../migrations")]
async fn the_live_finance_read_model_matches_the_fold_of_the_log(pool: PgPool) {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[17; 32]),
    );
    let histories = proptest::collection::vec(step(), 10..60);
    let mut providers = Vec::new();
    for n in 0..8 {
        let steps = histories
            .new_tree(&mut runner)
            .expect("a history")
            .current();
        providers.push(write_history(&pool, &format!("Provider {n}"), &steps).await);
    }

    catch_up(&pool).await;

    let now = Utc::now();
    let mut counted = 0;
    let mut lived = Vec::new();
    for &provider in &providers {
        for programme in [Programme::Ecf, Programme::Npq] {
            let live = finance::live(&pool, provider, programme, 2024)
                .await
                .unwrap();
            let folded = finance::as_of(&pool, provider, programme, 2024, now, |_| {})
                .await
                .unwrap();
            assert_eq!(live, folded, "{provider:?} {programme:?}");
            counted += live
                .iter()
                .flat_map(|s| s.lines.values())
                .map(|c| c.billable + c.refundable)
                .sum::<i64>();
            lived.push(live);
        }
    }
    assert!(counted > 0, "the histories put lines on statements");
    assert_eq!(kept_counts(&pool).await, grouped_lines(&pool).await);

    // Rebuilt from the start of the log, the read model counts the same lines.
    let runner = Runner::new(pool.clone(), crate::all())
        .await
        .expect("runner");
    runner.rebuild("declarations", |_, _| {}).await.unwrap();
    assert_eq!(kept_counts(&pool).await, grouped_lines(&pool).await);
    let mut rebuilt = Vec::new();
    for &provider in &providers {
        for programme in [Programme::Ecf, Programme::Npq] {
            rebuilt.push(
                finance::live(&pool, provider, programme, 2024)
                    .await
                    .unwrap(),
            );
        }
    }
    assert_eq!(rebuilt, lived);
}

/// A statement's lines of one key, as (statement, clawback, state, type, course, uplift).
type CountKey = (Uuid, bool, String, String, String, bool);

/// The line counts the read model keeps, leaving out keys whose lines have all moved on.
async fn kept_counts(pool: &PgPool) -> Vec<(CountKey, i64)> {
    counts(
        pool,
        "select statement_id, clawback, state, declaration_type, course_identifier, uplift,
                lines
         from statement_line_counts where lines <> 0 order by 1, 2, 3, 4, 5, 6",
    )
    .await
}

/// The same counts grouped from the declarations and the statements holding them.
async fn grouped_lines(pool: &PgPool) -> Vec<(CountKey, i64)> {
    counts(
        pool,
        "select l.statement_id, l.clawback, d.state, d.declaration_type, d.course_identifier,
                d.pupil_premium_uplift or d.sparsity_uplift or d.targeted_delivery_funding,
                count(*)
         from statement_lines l join declarations d on d.id = l.declaration_id
         where l.statement_id = case when l.clawback then d.clawback_statement_id
                                     else d.statement_id end
         group by 1, 2, 3, 4, 5, 6 order by 1, 2, 3, 4, 5, 6",
    )
    .await
}

/// Line counts by key, read by `sql`.
async fn counts(pool: &PgPool, sql: &str) -> Vec<(CountKey, i64)> {
    let rows: Vec<(Uuid, bool, String, String, String, bool, i64)> =
        sqlx::query_as(sql).fetch_all(pool).await.unwrap();
    rows.into_iter()
        .map(|(s, c, st, t, course, u, n)| ((s, c, st, t, course, u), n))
        .collect()
}
