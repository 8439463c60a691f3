//! The queue only wakes workers; the job table decides who runs what. Two implementations:
//! in-process (the embedded default) and Redis Streams with a consumer group, whose pending
//! entries are reclaimed from a dead worker once its lease has run out.

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use mlp_core::{Error, Result};
use tokio::sync::{Mutex, Notify};

/// One message: a job to try.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub job_id: String,
    /// The stream entry id (Redis), for acknowledgement.
    pub entry_id: Option<String>,
}

#[async_trait]
pub trait Queue: Send + Sync + 'static {
    async fn publish(&self, job_id: &str) -> Result<()>;
    /// Waits up to `wait` for messages for consumer `consumer`.
    async fn receive(&self, consumer: &str, wait: Duration) -> Result<Vec<Delivery>>;
    /// Acknowledges a delivery once its job has ended (or cannot be run by anyone).
    async fn ack(&self, delivery: &Delivery) -> Result<()>;
    /// Messages published but not yet acknowledged.
    async fn depth(&self) -> Result<u64>;
    fn describe(&self) -> String;
}

#[derive(Default)]
pub struct InProcessQueue {
    items: Mutex<VecDeque<String>>,
    notify: Notify,
}

#[async_trait]
impl Queue for InProcessQueue {
    async fn publish(&self, job_id: &str) -> Result<()> {
        self.items.lock().await.push_back(job_id.to_string());
        self.notify.notify_one();
        Ok(())
    }

    async fn receive(&self, _consumer: &str, wait: Duration) -> Result<Vec<Delivery>> {
        let take = |q: &mut VecDeque<String>| -> Vec<Delivery> {
            q.drain(..).map(|job_id| Delivery { job_id, entry_id: None }).collect()
        };
        {
            let mut q = self.items.lock().await;
            if !q.is_empty() {
                return Ok(take(&mut q));
            }
        }
        let _ = tokio::time::timeout(wait, self.notify.notified()).await;
        Ok(take(&mut *self.items.lock().await))
    }

    async fn ack(&self, _delivery: &Delivery) -> Result<()> {
        Ok(())
    }

    async fn depth(&self) -> Result<u64> {
        Ok(self.items.lock().await.len() as u64)
    }

    fn describe(&self) -> String {
        "in-process".into()
    }
}

/// For a server whose jobs are run by separate `mlp worker` processes without Redis: nothing to
/// wake in-process, and the workers find new jobs by polling the job table.
#[derive(Default)]
pub struct PollingOnly;

#[async_trait]
impl Queue for PollingOnly {
    async fn publish(&self, _job_id: &str) -> Result<()> {
        Ok(())
    }
    async fn receive(&self, _consumer: &str, wait: Duration) -> Result<Vec<Delivery>> {
        tokio::time::sleep(wait).await;
        Ok(Vec::new())
    }
    async fn ack(&self, _delivery: &Delivery) -> Result<()> {
        Ok(())
    }
    async fn depth(&self) -> Result<u64> {
        Ok(0)
    }
    fn describe(&self) -> String {
        "job-table polling".into()
    }
}

pub const STREAM: &str = "mlp:jobs";
pub const GROUP: &str = "mlp-workers";
/// The longest a receive blocks on Redis.
const MAX_BLOCK: Duration = Duration::from_secs(5);

/// Redis Streams: XADD to publish, XREADGROUP to receive, XACK when done, and XAUTOCLAIM of
/// entries idle longer than the lease (their worker died) before reading new ones.
pub struct RedisQueue {
    /// Short commands (XADD, XACK, XLEN).
    conn: redis::aio::ConnectionManager,
    /// The blocking read gets its own connection: a BLOCK holds the connection it runs on, and
    /// publishing a job must not wait behind it.
    blocking: redis::aio::ConnectionManager,
    stream: String,
    reclaim_idle: Duration,
}

fn redis_err(e: redis::RedisError) -> Error {
    if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout() {
        Error::unavailable(format!("Redis is unavailable: {e}"))
    } else {
        Error::internal(format!("Redis error: {e}"))
    }
}

impl RedisQueue {
    pub async fn connect(url: &str, stream: Option<&str>, reclaim_idle: Duration) -> Result<Self> {
        let client = redis::Client::open(url).map_err(|e| Error::invalid(format!("invalid Redis URL: {e}")))?;
        let config = |timeout: Duration| {
            redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(5)))
                .set_response_timeout(Some(timeout))
                .set_number_of_retries(2)
        };
        let mut conn = redis::aio::ConnectionManager::new_with_config(client.clone(), config(Duration::from_secs(5)))
            .await
            .map_err(redis_err)?;
        // Longer than any BLOCK this queue issues (receive waits are capped below).
        let blocking =
            redis::aio::ConnectionManager::new_with_config(client, config(MAX_BLOCK + Duration::from_secs(5)))
                .await
                .map_err(redis_err)?;
        let stream = stream.unwrap_or(STREAM).to_string();
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&stream)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        if let Err(e) = created
            && e.code() != Some("BUSYGROUP")
        {
            return Err(redis_err(e));
        }
        Ok(RedisQueue {
            conn,
            blocking,
            stream,
            reclaim_idle,
        })
    }

    fn parse_entries(value: &redis::Value) -> Vec<Delivery> {
        // [[id, [field, value, ...]], ...]
        let mut out = Vec::new();
        if let redis::Value::Array(entries) = value {
            for entry in entries {
                if let redis::Value::Array(parts) = entry
                    && parts.len() == 2
                {
                    let id: Option<String> = redis::from_redis_value_ref(&parts[0]).ok();
                    let fields: Vec<String> = redis::from_redis_value_ref(&parts[1]).unwrap_or_default();
                    let job = fields
                        .chunks(2)
                        .find(|kv| kv.len() == 2 && kv[0] == "job_id")
                        .map(|kv| kv[1].clone());
                    if let (Some(id), Some(job_id)) = (id, job) {
                        out.push(Delivery {
                            job_id,
                            entry_id: Some(id),
                        });
                    }
                }
            }
        }
        out
    }
}

#[async_trait]
impl Queue for RedisQueue {
    async fn publish(&self, job_id: &str) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("XADD")
            .arg(&self.stream)
            .arg("*")
            .arg("job_id")
            .arg(job_id)
            .query_async(&mut conn)
            .await
            .map_err(redis_err)?;
        Ok(())
    }

    async fn receive(&self, consumer: &str, wait: Duration) -> Result<Vec<Delivery>> {
        let mut conn = self.blocking.clone();
        let wait = wait.min(MAX_BLOCK);
        // First the entries of dead consumers: idle for longer than a lease.
        let claimed: redis::Value = redis::cmd("XAUTOCLAIM")
            .arg(&self.stream)
            .arg(GROUP)
            .arg(consumer)
            .arg(self.reclaim_idle.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(16)
            .query_async(&mut conn)
            .await
            .map_err(redis_err)?;
        if let redis::Value::Array(parts) = &claimed
            && parts.len() >= 2
        {
            let reclaimed = Self::parse_entries(&parts[1]);
            if !reclaimed.is_empty() {
                tracing::info!(count = reclaimed.len(), consumer, "reclaimed jobs of a dead worker");
                return Ok(reclaimed);
            }
        }
        let read: redis::Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(16)
            .arg("BLOCK")
            .arg(wait.as_millis().max(1) as u64)
            .arg("STREAMS")
            .arg(&self.stream)
            .arg(">")
            .query_async(&mut conn)
            .await
            .map_err(redis_err)?;
        // {stream: [[id, fields], ...]} in RESP2 is [[stream, [[id, fields], ...]]].
        let mut out = Vec::new();
        match &read {
            redis::Value::Array(streams) => {
                for s in streams {
                    if let redis::Value::Array(pair) = s
                        && pair.len() == 2
                    {
                        out.extend(Self::parse_entries(&pair[1]));
                    }
                }
            }
            redis::Value::Map(streams) => {
                for (_, entries) in streams {
                    out.extend(Self::parse_entries(entries));
                }
            }
            _ => {}
        }
        Ok(out)
    }

    async fn ack(&self, delivery: &Delivery) -> Result<()> {
        if let Some(id) = &delivery.entry_id {
            let mut conn = self.conn.clone();
            let _: i64 = redis::cmd("XACK")
                .arg(&self.stream)
                .arg(GROUP)
                .arg(id)
                .query_async(&mut conn)
                .await
                .map_err(redis_err)?;
            let _: i64 = redis::cmd("XDEL")
                .arg(&self.stream)
                .arg(id)
                .query_async(&mut conn)
                .await
                .map_err(redis_err)?;
        }
        Ok(())
    }

    async fn depth(&self) -> Result<u64> {
        let mut conn = self.conn.clone();
        let len: u64 = redis::cmd("XLEN")
            .arg(&self.stream)
            .query_async(&mut conn)
            .await
            .map_err(redis_err)?;
        Ok(len)
    }

    fn describe(&self) -> String {
        format!("redis stream {}", self.stream)
    }
}
