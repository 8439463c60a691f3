// Written once, compiled into each back-end by `mlp_store_sql::stamp_queries!` against the
// back-end's `crate::backend` (its sqlx database, row type, store and error mapping).

use async_trait::async_trait;
use mlp_core::jobs::*;
use mlp_core::model::RunStatus;
use mlp_core::store::{CreateRun, Page};
use mlp_core::{Error, Result};
use sqlx::Row;

use crate::backend::{Db, DbRow, Store, db_err};
use crate::runs::insert_run;

type Sql = mlp_store_sql::Sql<Db>;

const JOB_COLUMNS: &str = "job_id, spec, state, created_at, started_at, finished_at, attempts, exit_code, reason, \
     run_id, experiment_id, cancel_requested, worker_id, lease_expires_at, owner";

pub(crate) fn job_from_row(row: &DbRow) -> Result<Job> {
    let spec: JobSpec = serde_json::from_str(row.get::<&str, _>("spec"))
        .map_err(|e| Error::internal(format!("corrupt job spec: {e}")))?;
    Ok(Job {
        job_id: row.get("job_id"),
        spec,
        state: JobState::parse(row.get::<&str, _>("state")).unwrap_or(JobState::Failed),
        created_at: row.get("created_at"),
        started_at: row.get("started_at"),
        finished_at: row.get("finished_at"),
        attempts: row.get::<i64, _>("attempts") as u32,
        exit_code: row.get::<Option<i64>, _>("exit_code").map(|c| c as i32),
        reason: row.get("reason"),
        run_id: row.get("run_id"),
        experiment_id: row.get("experiment_id"),
        cancel_requested: row.get::<i64, _>("cancel_requested") != 0,
        worker_id: row.get("worker_id"),
        lease_expires_at: row.get("lease_expires_at"),
        owner: row.get("owner"),
    })
}

fn not_found(job_id: &str) -> Error {
    Error::not_found(format!("Job '{job_id}' not found"))
}

pub(crate) async fn insert_job_row<'e>(db: impl sqlx::Executor<'e, Database = Db>, job: &Job) -> Result<()> {
    let spec = serde_json::to_string(&job.spec).map_err(|e| Error::internal(e.to_string()))?;
    sqlx::query(
        "INSERT INTO jobs (job_id, name, kind, spec, state, created_at, attempts, run_id, experiment_id, owner) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9)",
    )
    .bind(&job.job_id)
    .bind(&job.spec.name)
    .bind(job.spec.kind().as_str())
    .bind(spec)
    .bind(job.state.as_str())
    .bind(job.created_at)
    .bind(&job.run_id)
    .bind(&job.experiment_id)
    .bind(&job.owner)
    .execute(db)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl JobStore for Store {
    async fn insert_job(&self, job: &Job) -> Result<()> {
        mlp_store_sql::timed("insert_job", async move { insert_job_row(self.writer(), job).await }).await
    }

    async fn insert_job_with_run(&self, job: &Job, run: &CreateRun) -> Result<Job> {
        mlp_store_sql::timed("insert_job_with_run", async move {
            let new_run = self.prepare_run(run).await?;
            let job = Job {
                run_id: Some(new_run.run_id.clone()),
                experiment_id: Some(run.experiment_id.clone()),
                ..job.clone()
            };
            let mut tx = self.writer().begin().await.map_err(db_err)?;
            insert_run(&mut tx, &new_run, RunStatus::Scheduled).await?;
            insert_job_row(&mut *tx, &job).await?;
            tx.commit().await.map_err(db_err)?;
            self.get_job(&job.job_id).await
        })
        .await
    }

    async fn get_job(&self, job_id: &str) -> Result<Job> {
        mlp_store_sql::timed("get_job", async move {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = $1"
            )))
            .bind(job_id)
            .fetch_optional(self.writer())
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found(job_id))?;
            job_from_row(&row)
        })
        .await
    }

    async fn list_jobs(&self, q: &JobQuery) -> Result<Page<Job>> {
        mlp_store_sql::timed("list_jobs", async move {
            let mut sql = Sql::new(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE 1 = 1"));
            if let Some(s) = q.state {
                sql.push(" AND state = ").text_arg(s.as_str());
            }
            if let Some(k) = q.kind {
                sql.push(" AND kind = ").text_arg(k.as_str());
            }
            if let Some(o) = &q.owner {
                sql.push(" AND owner = ").text_arg(o);
            }
            sql.push(" ORDER BY created_at DESC, job_id LIMIT ")
                .arg(mlp_store_sql::Arg::Int(q.page.limit as i64 + 1))
                .push(" OFFSET ")
                .arg(mlp_store_sql::Arg::Int(q.page.offset as i64));
            let rows = sql.build().fetch_all(self.writer()).await.map_err(db_err)?;
            let mut items = rows.iter().map(job_from_row).collect::<Result<Vec<_>>>()?;
            let has_more = items.len() as u64 > q.page.limit;
            items.truncate(q.page.limit as usize);
            Ok(Page { items, has_more })
        })
        .await
    }

    async fn runnable_jobs(&self, now_ms: i64, limit: u64) -> Result<Vec<Job>> {
        mlp_store_sql::timed("runnable_jobs", async move {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE (state = 'QUEUED' AND not_before <= $1) \
             OR (state = 'RUNNING' AND lease_expires_at < $2) ORDER BY created_at LIMIT $3"
            )))
            .bind(now_ms)
            .bind(now_ms)
            .bind(limit as i64)
            .fetch_all(self.writer())
            .await
            .map_err(db_err)?;
            rows.iter().map(job_from_row).collect()
        })
        .await
    }

    async fn claim_job(&self, job_id: &str, worker_id: &str, now_ms: i64, lease_ms: i64) -> Result<Option<Job>> {
        mlp_store_sql::timed("claim_job", async move {
        // A job cancelled while its worker was dead is finished here, not run again.
        sqlx::query(
            "UPDATE jobs SET state = 'CANCELLED', finished_at = $1, reason = 'cancelled', worker_id = NULL, lease_expires_at = NULL \
             WHERE job_id = $2 AND cancel_requested = 1 AND state = 'RUNNING' AND lease_expires_at < $3",
        )
        .bind(now_ms)
        .bind(job_id)
        .bind(now_ms)
        .execute(self.writer())
        .await
        .map_err(db_err)?;
        let res = sqlx::query(
            "UPDATE jobs SET state = 'RUNNING', attempts = attempts + 1, worker_id = $1, lease_expires_at = $2, \
             started_at = COALESCE(started_at, $3) \
             WHERE job_id = $4 AND cancel_requested = 0 AND ((state = 'QUEUED' AND not_before <= $5) OR (state = 'RUNNING' AND lease_expires_at < $6))",
        )
        .bind(worker_id)
        .bind(now_ms + lease_ms)
        .bind(now_ms)
        .bind(job_id)
        .bind(now_ms)
        .bind(now_ms)
        .execute(self.writer())
        .await
        .map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Ok(None);
        }
        self.get_job(job_id).await.map(Some)
        })
        .await
    }

    async fn renew_lease(&self, job_id: &str, worker_id: &str, until_ms: i64) -> Result<bool> {
        mlp_store_sql::timed("renew_lease", async move {
            let res = sqlx::query(
                "UPDATE jobs SET lease_expires_at = $1 WHERE job_id = $2 AND worker_id = $3 AND state = 'RUNNING'",
            )
            .bind(until_ms)
            .bind(job_id)
            .bind(worker_id)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
            Ok(res.rows_affected() == 1)
        })
        .await
    }

    async fn finish_attempt(&self, job_id: &str, worker_id: &str, outcome: &Outcome, now_ms: i64) -> Result<Job> {
        mlp_store_sql::timed("finish_attempt", async move {
        let job = self.get_job(job_id).await?;
        let AttemptEnd {
            state,
            finished_at,
            not_before,
        } = end_of_attempt(&job, outcome, now_ms);
        let res = sqlx::query(
            "UPDATE jobs SET state = $1, finished_at = $2, exit_code = $3, reason = $4, worker_id = NULL, lease_expires_at = NULL, not_before = $5 \
             WHERE job_id = $6 AND worker_id = $7 AND state = 'RUNNING'",
        )
        .bind(state.as_str())
        .bind(finished_at)
        .bind(outcome.exit_code.map(i64::from))
        .bind(&outcome.reason)
        .bind(not_before)
        .bind(job_id)
        .bind(worker_id)
        .execute(self.writer())
        .await
        .map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(Error::new(
                mlp_core::ErrorCode::InvalidState,
                format!("worker {worker_id} no longer holds job {job_id}"),
            ));
        }
        self.get_job(job_id).await
        })
        .await
    }

    async fn request_cancel(&self, job_id: &str, now_ms: i64) -> Result<Job> {
        mlp_store_sql::timed("request_cancel", async move {
        let job = self.get_job(job_id).await?;
        if job.state.is_terminal() {
            return Ok(job);
        }
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        sqlx::query("UPDATE jobs SET cancel_requested = 1 WHERE job_id = $1")
            .bind(job_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "UPDATE jobs SET state = 'CANCELLED', finished_at = $1, reason = 'cancelled before it started' WHERE job_id = $2 AND state = 'QUEUED'",
        )
        .bind(now_ms)
        .bind(job_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        self.get_job(job_id).await
        })
        .await
    }

    async fn count_jobs(&self) -> Result<Vec<(JobKind, JobState, u64)>> {
        mlp_store_sql::timed("count_jobs", async move {
            let rows = sqlx::query("SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state")
                .fetch_all(self.writer())
                .await
                .map_err(db_err)?;
            Ok(rows
                .iter()
                .filter_map(|r| {
                    let kind = JobKind::parse(r.get::<&str, _>(0))?;
                    let state = JobState::parse(r.get::<&str, _>(1))?;
                    Some((kind, state, r.get::<i64, _>(2) as u64))
                })
                .collect())
        })
        .await
    }

    async fn set_job_run(&self, job_id: &str, run_id: &str, experiment_id: &str) -> Result<()> {
        mlp_store_sql::timed("set_job_run", async move {
            sqlx::query("UPDATE jobs SET run_id = $1, experiment_id = $2 WHERE job_id = $3")
                .bind(run_id)
                .bind(experiment_id)
                .bind(job_id)
                .execute(self.writer())
                .await
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }
}
