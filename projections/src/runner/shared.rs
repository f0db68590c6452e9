//! One question to the database answered for every caller that waits for it, as group commit
//! shares one flush among the commits waiting for the disk: the read barrier is asked by every
//! request, and under load most arrive while another request's query is under way.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;

/// A question whose answer is taken by every caller that arrived before it was asked. A caller
/// takes the last answer when that query began after the caller arrived (so it saw every
/// commit the caller could know of); otherwise it asks, and callers arriving meanwhile queue
/// for the next answer. At most one query is under way, and a caller waits for at most two.
pub(super) struct SharedQuestion<T> {
    /// How many queries have begun.
    begun: AtomicU64,
    /// The number of the last query answered, and its answer.
    last: Mutex<Option<(u64, T)>>,
}

impl<T: Clone> SharedQuestion<T> {
    pub(super) fn new() -> Self {
        Self {
            begun: AtomicU64::new(0),
            last: Mutex::new(None),
        }
    }

    /// An answer from a query begun after this call: shared, or asked by `ask`. Waiting for
    /// another caller's query is bounded by `patience`, after which the caller gives up as
    /// the pool does when it has no connection to give ([`sqlx::Error::PoolTimedOut`]): the
    /// query ahead is stuck on the database, not on this process.
    pub(super) async fn answer<F, Fut>(&self, patience: Duration, ask: F) -> Result<T, sqlx::Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        let arrived = self.begun.load(Ordering::Acquire);
        let mut last = tokio::time::timeout(patience, self.last.lock())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        if let Some((asked, answer)) = last.as_ref()
            && *asked > arrived
        {
            return Ok(answer.clone());
        }
        let asked = self.begun.fetch_add(1, Ordering::AcqRel) + 1;
        let answer = ask().await?;
        *last = Some((asked, answer.clone()));
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[tokio::test]
    async fn callers_arriving_during_a_query_share_the_next_and_none_takes_an_older_one() {
        let question = Arc::new(SharedQuestion::new());
        let queries = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);
        let ask = |queries: Arc<AtomicUsize>, mut released: tokio::sync::watch::Receiver<bool>| {
            move || async move {
                let number = queries.fetch_add(1, Ordering::SeqCst) + 1;
                released
                    .wait_for(|go| *go)
                    .await
                    .expect("the test holds the sender");
                Ok(number)
            }
        };
        // The first caller's query is under way; eight more arrive while it is.
        let first = tokio::spawn({
            let (question, queries, released) =
                (question.clone(), queries.clone(), released.clone());
            async move {
                question
                    .answer(Duration::from_secs(5), ask(queries, released))
                    .await
            }
        });
        while queries.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let later: Vec<_> = (0..8)
            .map(|_| {
                let (question, queries, released) =
                    (question.clone(), queries.clone(), released.clone());
                tokio::spawn(async move {
                    question
                        .answer(Duration::from_secs(5), ask(queries, released))
                        .await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        release.send_replace(true);
        assert_eq!(first.await.unwrap().unwrap(), 1);
        for caller in later {
            // Each arrived after query 1 began, so it may not take that answer: it takes the
            // one query asked after it, which all eight share.
            assert_eq!(caller.await.unwrap().unwrap(), 2);
        }
        assert_eq!(queries.load(Ordering::SeqCst), 2);
        // A caller arriving once everything is answered asks again.
        let again = question
            .answer(Duration::from_secs(5), ask(queries.clone(), released))
            .await
            .unwrap();
        assert_eq!(again, 3);
    }

    #[tokio::test]
    async fn a_caller_stuck_behind_a_query_gives_up_as_an_exhausted_pool_does() {
        let question = Arc::new(SharedQuestion::<()>::new());
        let stuck = tokio::spawn({
            let question = question.clone();
            async move {
                question
                    .answer(Duration::from_secs(5), || std::future::pending())
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let behind = question
            .answer(Duration::from_millis(50), || async { Ok(()) })
            .await;
        assert!(
            matches!(behind, Err(sqlx::Error::PoolTimedOut)),
            "{behind:?}"
        );
        stuck.abort();
    }
}
