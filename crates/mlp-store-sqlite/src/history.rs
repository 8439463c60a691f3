//! Metric histories read with SQLite's own API and written straight into the response body.
//!
//! Why not through sqlx: sqlx-sqlite runs each connection on a worker thread and hands every row
//! to the async side through a channel, as an owned row of owned values; for a 25,000-point page
//! that hand-off and those allocations were most of the time (a perf profile of get-history:
//! ~⅓ in thread switches, ~¼ in malloc/free). Here one blocking task steps the statement and
//! serialises each row as it comes (`HistoryPoint`, the same encoding as `Metric`), so a page
//! costs one allocation that grows, no struct per point and no thread hop per row.
//!
//! The connections are read-only and separate from sqlx's pool (WAL: they see every committed
//! write). An in-memory database cannot be shared that way, so it keeps the generic path.

use std::path::PathBuf;
use std::sync::Mutex;

use mlp_core::metrics::metric_value;
use mlp_core::model::HistoryPoint;
use mlp_core::store::{PageRequest, RenderedPage};
use mlp_core::{Error, Result};
use rusqlite::{Connection, OpenFlags};

/// History reads at once, at most, and so connections open (each kept for reuse): a burst of
/// history requests waits here instead of opening a connection and a blocking thread each.
const READERS: usize = 4;

const HISTORY_SQL: &str = "SELECT value, is_nan, timestamp, step, model_id FROM metrics \
     WHERE run_uuid = ?1 AND key = ?2 ORDER BY step, timestamp, value LIMIT ?3 OFFSET ?4";

pub(crate) struct HistoryReader {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    pub(crate) permits: tokio::sync::Semaphore,
}

impl HistoryReader {
    /// `None` for an in-memory database (another connection would see another database).
    pub(crate) fn new(path: &str) -> Option<Self> {
        let memory = path.is_empty() || path.contains(":memory:") || path.contains("mode=memory");
        (!memory).then(|| HistoryReader {
            path: PathBuf::from(path),
            idle: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(READERS),
        })
    }

    pub(crate) fn page(&self, run_id: &str, key: &str, page: &PageRequest) -> Result<RenderedPage> {
        let conn = match self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            Some(c) => c,
            None => self.open()?,
        };
        let rendered = render(&conn, run_id, key, page).map_err(sqlite_err)?;
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < READERS {
            idle.push(conn);
        }
        Ok(rendered)
    }

    fn open(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sqlite_err)?;
        Ok(conn)
    }
}

fn render(conn: &Connection, run_id: &str, key: &str, page: &PageRequest) -> rusqlite::Result<RenderedPage> {
    let limit = page.limit as usize;
    let mut stmt = conn.prepare(HISTORY_SQL)?;
    let mut rows = stmt.query(rusqlite::params![
        run_id,
        key,
        page.limit.saturating_add(1) as i64,
        page.offset as i64
    ])?;
    let mut out = Vec::with_capacity(2 + limit.min(25_000) * 72);
    out.push(b'[');
    let (mut len, mut has_more) = (0, false);
    while let Some(row) = rows.next()? {
        if len == limit {
            has_more = true;
            break;
        }
        let point = HistoryPoint {
            key,
            value: metric_value(row.get(0)?, row.get::<_, i64>(1)? != 0),
            timestamp: row.get(2)?,
            step: row.get(3)?,
            model_id: row.get_ref(4)?.as_str_or_null()?,
        };
        if len > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, &point).expect("a history point serialises");
        len += 1;
    }
    out.push(b']');
    Ok(RenderedPage {
        json: out,
        len,
        has_more,
    })
}

fn sqlite_err(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            Error::unavailable(format!("The metadata store is busy: {e}"))
        }
        _ => Error::internal(format!("metadata store error: {e}")),
    }
}
