//! Group commit: concurrent run writes (log-batch, log-metric, log-param, set-tag) are queued to
//! a few writer tasks that apply many requests in one transaction and acknowledge each only
//! after that transaction has committed.
//!
//! Why: with one request per transaction, ingest is bounded by per-transaction costs (on SQLite
//! the single writer connection is handed from request to request and each commit appends its
//! own copy of the touched index pages to the WAL; on PostgreSQL every commit waits for a WAL
//! flush). A writer that takes whatever has queued up while the previous transaction committed
//! pays those costs once per group; under light load a group is one request and nothing waits.
//!
//! Guarantees: a request is answered only after the transaction holding its rows has committed
//! (nothing acknowledged is lost by a crash); requests apply in arrival order, as if serially;
//! one request's failure (a changed param, a database error) never fails the others: a group
//! that fails is rolled back and replayed one request per transaction, so each gets its own
//! answer.
//!
//! The writer loop itself is in `queries/runs.rs` (it needs the back-end's connection type);
//! this module holds the queue, which is the same for every back-end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use mlp_core::store::LogBatch;
use mlp_core::{Error, Result};
use tokio::sync::{Mutex, mpsc, oneshot};

/// Requests in one transaction, at most. Bounds a group's latency and the work replayed when
/// one of its requests fails.
pub const MAX_GROUP_REQUESTS: usize = 256;
/// Rows (metric points, params, tags) in one transaction, at most: ~20 maximal log-batches.
pub const MAX_GROUP_ROWS: usize = 20_000;
/// Requests waiting for a writer, at most; further callers wait to enqueue (backpressure).
const QUEUE_DEPTH: usize = 1024;

/// One queued write and where its answer goes.
pub struct QueuedBatch {
    pub batch: LogBatch,
    pub done: oneshot::Sender<Result<()>>,
}

impl QueuedBatch {
    fn rows(&self) -> usize {
        self.batch.metrics.len() + self.batch.params.len() + self.batch.tags.len()
    }
}

/// The receiving end, shared by a back-end's writer tasks.
#[derive(Clone)]
pub struct GroupReceiver {
    queue: Arc<Mutex<mpsc::Receiver<QueuedBatch>>>,
    stats: Arc<GroupStats>,
}

/// How many transactions the writers committed for how many requests.
#[derive(Default, Debug)]
pub struct GroupStats {
    pub groups: AtomicU64,
    pub requests: AtomicU64,
}

/// The queue in front of a store's writers. The writers are started on first use, inside the
/// caller's Tokio runtime, so a store opened in one runtime and used in another still works.
#[derive(Default)]
pub struct GroupCommit {
    queue: OnceLock<mpsc::Sender<QueuedBatch>>,
    stats: Arc<GroupStats>,
}

impl GroupCommit {
    /// Queues `batch` and waits until it has committed (or failed). `start` spawns the writer
    /// tasks on the shared receiver; it runs once, on the first write.
    pub async fn submit(&self, batch: LogBatch, start: impl FnOnce(GroupReceiver)) -> Result<()> {
        let sender = self.queue.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
            start(GroupReceiver {
                queue: Arc::new(Mutex::new(receiver)),
                stats: self.stats.clone(),
            });
            sender
        });
        let (done, answer) = oneshot::channel();
        sender
            .send(QueuedBatch { batch, done })
            .await
            .map_err(|_| Error::unavailable("The metadata store's writer has stopped."))?;
        // Dropping this future (a client that went away) does not withdraw the write: it
        // commits or fails on its own, and the client's retry is harmless (writes are idempotent).
        answer
            .await
            .map_err(|_| Error::unavailable("The metadata store's writer stopped before this write committed."))?
    }

    /// (transactions, requests) taken by the writers so far.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.stats.groups.load(Ordering::Relaxed),
            self.stats.requests.load(Ordering::Relaxed),
        )
    }
}

/// The next group for one writer: the first waiting request (waiting for one if none), then
/// whatever else is already queued, within the bounds above. `None` once the queue is closed.
pub async fn next_group(receiver: &GroupReceiver) -> Option<Vec<QueuedBatch>> {
    let mut rx = receiver.queue.lock().await;
    let first = rx.recv().await?;
    let mut rows = first.rows();
    let mut group = vec![first];
    while group.len() < MAX_GROUP_REQUESTS && rows < MAX_GROUP_ROWS {
        match rx.try_recv() {
            Ok(next) => {
                rows += next.rows();
                group.push(next);
            }
            Err(_) => break,
        }
    }
    receiver.stats.groups.fetch_add(1, Ordering::Relaxed);
    receiver.stats.requests.fetch_add(group.len() as u64, Ordering::Relaxed);
    metrics::histogram!("mlp_store_group_commit_requests").record(group.len() as f64);
    Some(group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlp_core::model::Metric;

    fn batch(run: &str, points: usize) -> LogBatch {
        LogBatch {
            run_id: run.into(),
            metrics: (0..points)
                .map(|i| Metric {
                    key: "m".into(),
                    value: i as f64,
                    step: i as i64,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Whatever queued while a writer was busy forms one group, in arrival order, cut at the
    /// row bound; each caller receives the answer its writer sent, and a writer that goes away
    /// without answering is an error for the caller, never a silent success.
    #[tokio::test(flavor = "current_thread")]
    async fn groups_take_what_is_queued_in_order_within_bounds() {
        let gc = Arc::new(GroupCommit::default());
        let receiver: Arc<std::sync::Mutex<Option<GroupReceiver>>> = Default::default();
        let mut answers = Vec::new();
        for (run, points) in [("a", 8_000), ("b", 8_000), ("c", 8_000), ("d", 1)] {
            let (gc, receiver) = (gc.clone(), receiver.clone());
            answers.push(tokio::spawn(async move {
                gc.submit(batch(run, points), |rx| *receiver.lock().unwrap() = Some(rx))
                    .await
            }));
            // On a current-thread runtime the spawned task runs (and enqueues) when we yield.
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
        }
        let rx = receiver
            .lock()
            .unwrap()
            .take()
            .expect("writers started on first submit");
        let first = next_group(&rx).await.unwrap();
        let runs: Vec<&str> = first.iter().map(|q| q.batch.run_id.as_str()).collect();
        assert_eq!(
            runs,
            ["a", "b", "c"],
            "16,000 rows < bound, so the third joins; then full"
        );
        for q in first {
            let answer = if q.batch.run_id == "b" {
                Err(Error::invalid("changed param"))
            } else {
                Ok(())
            };
            q.done.send(answer).unwrap();
        }
        let second = next_group(&rx).await.unwrap();
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].batch.run_id, "d");
        drop(second);
        let mut results = Vec::new();
        for a in answers {
            results.push(a.await.unwrap());
        }
        assert!(results[0].is_ok() && results[2].is_ok());
        assert_eq!(
            results[1].as_ref().unwrap_err().code,
            mlp_core::ErrorCode::InvalidParameterValue
        );
        assert_eq!(
            results[3].as_ref().unwrap_err().code,
            mlp_core::ErrorCode::TemporarilyUnavailable
        );
    }
}
