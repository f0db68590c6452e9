//! Scheduler leadership across instances: one runs it, a successor takes over a crash.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cpd_ledger::leader::{self, Leadership, SCHEDULER_LOCK};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

const EVERY: Duration = Duration::from_millis(200);

/// Waits up to `limit` for `condition`; returns how long it took.
async fn within(limit: Duration, condition: impl Fn() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if condition() {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// An instance's scheduler: counts its runs of a job while it leads.
fn schedule(leadership: &Leadership) -> (Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let task = tokio::spawn(leader::run_while_leader(
        "leadership test",
        leadership.watch(),
        EVERY,
        move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok::<(), std::convert::Infallible>(()) }
        },
    ));
    (runs, task)
}

#[sqlx::test]
async fn of_two_instances_one_runs_the_scheduler_and_a_successor_takes_over_a_crash(pool: PgPool) {
    // A second instance: its own pool on the same database.
    let other_pool = PgPoolOptions::new()
        .connect_with((*pool.connect_options()).clone())
        .await
        .expect("second pool");
    let first = Leadership::start(&pool, SCHEDULER_LOCK, EVERY);
    within(Duration::from_secs(5), || first.is_leader())
        .await
        .expect("the first instance leads");
    let second = Leadership::start(&other_pool, SCHEDULER_LOCK, EVERY);
    let (first_runs, _first_scheduler) = schedule(&first);
    let (second_runs, _second_scheduler) = schedule(&second);

    tokio::time::sleep(Duration::from_secs(1)).await;

    assert!(first_runs.load(Ordering::SeqCst) >= 2);
    assert_eq!(second_runs.load(Ordering::SeqCst), 0);
    assert!(!second.is_leader());

    // A crash: the leader goes without releasing anything; its connection closes.
    drop(first);
    let takeover = within(Duration::from_secs(5), || second.is_leader())
        .await
        .expect("the second instance takes over");
    assert!(takeover < Duration::from_secs(3), "took {takeover:?}");
    let stopped_at = first_runs.load(Ordering::SeqCst);
    within(Duration::from_secs(2), || {
        second_runs.load(Ordering::SeqCst) >= 2
    })
    .await
    .expect("the successor runs the scheduler");
    assert_eq!(
        first_runs.load(Ordering::SeqCst),
        stopped_at,
        "the old leader stopped"
    );

    // A graceful shutdown hands over at once.
    second.release().await;
    let third = Leadership::start(&pool, SCHEDULER_LOCK, EVERY);
    within(Duration::from_secs(1), || third.is_leader())
        .await
        .expect("a released lock is taken at the next try");
}
