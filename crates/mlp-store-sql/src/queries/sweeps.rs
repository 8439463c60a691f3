// Written once, compiled into each back-end by `mlp_store_sql::stamp_queries!` against the
// back-end's `crate::backend` (its sqlx database, row type, store and error mapping).

use std::collections::BTreeMap;

use async_trait::async_trait;
use mlp_core::jobs::{Job, JobState};
use mlp_core::model::{Param, RunStatus};
use mlp_core::store::{CreateRun, Page};
use mlp_core::sweeps::*;
use mlp_core::{Error, ErrorCode, Result};
use serde_json::Value;
use sqlx::Row;

use crate::backend::{Db, DbRow, Store, db_err};
use crate::jobs::insert_job_row;
use crate::runs::insert_run;

type Sql = mlp_store_sql::Sql<Db>;

const SWEEP_COLUMNS: &str = "sweep_id, spec, state, created_at, finished_at, experiment_id, parent_run_id, owner, \
     cancel_requested, reason, best_trial, best_value, worker_id, lease_expires_at";

const TRIAL_COLUMNS: &str = "t.sweep_id, t.trial_index, t.job_id, t.params, t.objective, t.rungs_passed, \
     t.early_stopped, t.created_at, j.run_id, j.state, j.started_at, j.finished_at";

fn sweep_from_row(row: &DbRow) -> Result<Sweep> {
    let spec: SweepSpec = serde_json::from_str(row.get::<&str, _>("spec"))
        .map_err(|e| Error::internal(format!("corrupt sweep spec: {e}")))?;
    Ok(Sweep {
        sweep_id: row.get("sweep_id"),
        spec,
        state: SweepState::parse(row.get::<&str, _>("state")).unwrap_or(SweepState::Failed),
        created_at: row.get("created_at"),
        finished_at: row.get("finished_at"),
        experiment_id: row.get("experiment_id"),
        parent_run_id: row.get("parent_run_id"),
        owner: row.get("owner"),
        cancel_requested: row.get::<i64, _>("cancel_requested") != 0,
        reason: row.get("reason"),
        best_trial: row.get::<Option<i64>, _>("best_trial").map(|t| t as u32),
        best_value: row.get("best_value"),
        worker_id: row.get("worker_id"),
        lease_expires_at: row.get("lease_expires_at"),
    })
}

fn trial_from_row(row: &DbRow) -> Result<Trial> {
    let params: BTreeMap<String, Value> = serde_json::from_str(row.get::<&str, _>("params"))
        .map_err(|e| Error::internal(format!("corrupt trial params: {e}")))?;
    Ok(Trial {
        sweep_id: row.get("sweep_id"),
        index: row.get::<i64, _>("trial_index") as u32,
        job_id: row.get("job_id"),
        run_id: row.get("run_id"),
        params,
        state: JobState::parse(row.get::<&str, _>("state")).unwrap_or(JobState::Failed),
        objective: row.get("objective"),
        rungs_passed: row.get::<i64, _>("rungs_passed") as u32,
        early_stopped: row.get::<i64, _>("early_stopped") != 0,
        created_at: row.get("created_at"),
        started_at: row.get("started_at"),
        finished_at: row.get("finished_at"),
    })
}

fn not_found(sweep_id: &str) -> Error {
    Error::not_found(format!("Sweep '{sweep_id}' not found"))
}

/// A NaN is not stored (SQLite would keep it as NULL anyway): no value yet.
fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|v| !v.is_nan())
}

#[async_trait]
impl SweepStore for Store {
    async fn insert_sweep_with_run(&self, sweep: &Sweep, run: &CreateRun) -> Result<Sweep> {
        mlp_store_sql::timed("insert_sweep_with_run", async move {
            let new_run = self.prepare_run(run).await?;
            let spec = serde_json::to_string(&sweep.spec).map_err(|e| Error::internal(e.to_string()))?;
            let mut tx = self.writer().begin().await.map_err(db_err)?;
            insert_run(&mut tx, &new_run, RunStatus::Running).await?;
            sqlx::query(
                "INSERT INTO sweeps (sweep_id, name, spec, state, created_at, experiment_id, parent_run_id, owner) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&sweep.sweep_id)
            .bind(&sweep.spec.name)
            .bind(spec)
            .bind(sweep.state.as_str())
            .bind(sweep.created_at)
            .bind(&run.experiment_id)
            .bind(&new_run.run_id)
            .bind(&sweep.owner)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            self.get_sweep(&sweep.sweep_id).await
        })
        .await
    }

    async fn get_sweep(&self, sweep_id: &str) -> Result<Sweep> {
        mlp_store_sql::timed("get_sweep", async move {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {SWEEP_COLUMNS} FROM sweeps WHERE sweep_id = $1"
            )))
            .bind(sweep_id)
            .fetch_optional(self.writer())
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found(sweep_id))?;
            sweep_from_row(&row)
        })
        .await
    }

    async fn list_sweeps(&self, q: &SweepQuery) -> Result<Page<Sweep>> {
        mlp_store_sql::timed("list_sweeps", async move {
            let mut sql = Sql::new(&format!("SELECT {SWEEP_COLUMNS} FROM sweeps WHERE 1 = 1"));
            if let Some(s) = q.state {
                sql.push(" AND state = ").text_arg(s.as_str());
            }
            if let Some(o) = &q.owner {
                sql.push(" AND owner = ").text_arg(o);
            }
            sql.push(" ORDER BY created_at DESC, sweep_id LIMIT ")
                .arg(mlp_store_sql::Arg::Int(q.page.limit as i64 + 1))
                .push(" OFFSET ")
                .arg(mlp_store_sql::Arg::Int(q.page.offset as i64));
            let rows = sql.build().fetch_all(self.writer()).await.map_err(db_err)?;
            let mut items = rows.iter().map(sweep_from_row).collect::<Result<Vec<_>>>()?;
            let has_more = items.len() as u64 > q.page.limit;
            items.truncate(q.page.limit as usize);
            Ok(Page { items, has_more })
        })
        .await
    }

    async fn drivable_sweeps(&self, worker_id: &str, now_ms: i64, limit: u64) -> Result<Vec<Sweep>> {
        mlp_store_sql::timed("drivable_sweeps", async move {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {SWEEP_COLUMNS} FROM sweeps WHERE state = 'RUNNING' \
             AND (worker_id IS NULL OR worker_id = $1 OR lease_expires_at < $2) ORDER BY created_at LIMIT $3"
            )))
            .bind(worker_id)
            .bind(now_ms)
            .bind(limit as i64)
            .fetch_all(self.writer())
            .await
            .map_err(db_err)?;
            rows.iter().map(sweep_from_row).collect()
        })
        .await
    }

    async fn claim_sweep(&self, sweep_id: &str, worker_id: &str, now_ms: i64, lease_ms: i64) -> Result<bool> {
        mlp_store_sql::timed("claim_sweep", async move {
            let res = sqlx::query(
                "UPDATE sweeps SET worker_id = $1, lease_expires_at = $2 WHERE sweep_id = $3 AND state = 'RUNNING' \
             AND (worker_id IS NULL OR worker_id = $4 OR lease_expires_at < $5)",
            )
            .bind(worker_id)
            .bind(now_ms + lease_ms)
            .bind(sweep_id)
            .bind(worker_id)
            .bind(now_ms)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
            Ok(res.rows_affected() == 1)
        })
        .await
    }

    async fn request_sweep_cancel(&self, sweep_id: &str) -> Result<Sweep> {
        mlp_store_sql::timed("request_sweep_cancel", async move {
            let sweep = self.get_sweep(sweep_id).await?;
            if sweep.state.is_terminal() {
                return Ok(sweep);
            }
            sqlx::query("UPDATE sweeps SET cancel_requested = 1 WHERE sweep_id = $1")
                .bind(sweep_id)
                .execute(self.writer())
                .await
                .map_err(db_err)?;
            self.get_sweep(sweep_id).await
        })
        .await
    }

    async fn finish_sweep(&self, sweep_id: &str, worker_id: &str, end: &SweepEnd, now_ms: i64) -> Result<bool> {
        mlp_store_sql::timed("finish_sweep", async move {
            let res = sqlx::query(
                "UPDATE sweeps SET state = $1, reason = $2, best_trial = $3, best_value = $4, finished_at = $5, \
             worker_id = NULL, lease_expires_at = NULL WHERE sweep_id = $6 AND worker_id = $7 AND state = 'RUNNING'",
            )
            .bind(end.state.as_str())
            .bind(&end.reason)
            .bind(end.best_trial.map(i64::from))
            .bind(finite(end.best_value))
            .bind(now_ms)
            .bind(sweep_id)
            .bind(worker_id)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
            Ok(res.rows_affected() == 1)
        })
        .await
    }

    async fn insert_trial(
        &self,
        sweep_id: &str,
        index: u32,
        params: &BTreeMap<String, Value>,
        job: &Job,
        run: &CreateRun,
        run_params: &[Param],
    ) -> Result<Trial> {
        mlp_store_sql::timed("insert_trial", async move {
            let new_run = self.prepare_run(run).await?;
            let job = Job {
                run_id: Some(new_run.run_id.clone()),
                experiment_id: Some(run.experiment_id.clone()),
                ..job.clone()
            };
            let params_json = serde_json::to_string(params).map_err(|e| Error::internal(e.to_string()))?;
            let mut tx = self.writer().begin().await.map_err(db_err)?;
            insert_run(&mut tx, &new_run, RunStatus::Scheduled).await?;
            for p in run_params {
                sqlx::query("INSERT INTO params (run_uuid, key, value) VALUES ($1, $2, $3)")
                    .bind(&new_run.run_id)
                    .bind(&p.key)
                    .bind(&p.value)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            insert_job_row(&mut *tx, &job).await?;
            // Last (it points at the job): a second controller launching the same trial fails
            // here and its run, params and job are rolled back with it.
            sqlx::query(
            "INSERT INTO sweep_trials (sweep_id, trial_index, job_id, params, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(sweep_id)
        .bind(index as i64)
        .bind(&job.job_id)
        .bind(params_json)
        .bind(job.created_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => Error::new(
                ErrorCode::ResourceAlreadyExists,
                format!("Sweep '{sweep_id}' already has trial {index}"),
            ),
            _ => db_err(e),
        })?;
            tx.commit().await.map_err(db_err)?;
            self.list_trials(sweep_id)
                .await?
                .into_iter()
                .find(|t| t.index == index)
                .ok_or_else(|| Error::internal("the trial just inserted is missing"))
        })
        .await
    }

    async fn list_trials(&self, sweep_id: &str) -> Result<Vec<Trial>> {
        mlp_store_sql::timed("list_trials", async move {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {TRIAL_COLUMNS} FROM sweep_trials t JOIN jobs j ON j.job_id = t.job_id \
             WHERE t.sweep_id = $1 ORDER BY t.trial_index"
            )))
            .bind(sweep_id)
            .fetch_all(self.writer())
            .await
            .map_err(db_err)?;
            rows.iter().map(trial_from_row).collect()
        })
        .await
    }

    async fn update_trial(
        &self,
        sweep_id: &str,
        index: u32,
        objective: Option<f64>,
        rungs_passed: u32,
        early_stopped: bool,
    ) -> Result<()> {
        mlp_store_sql::timed("update_trial", async move {
        let res = sqlx::query(
            "UPDATE sweep_trials SET objective = $1, rungs_passed = $2, early_stopped = $3 WHERE sweep_id = $4 AND trial_index = $5",
        )
        .bind(finite(objective))
        .bind(rungs_passed as i64)
        .bind(early_stopped as i64)
        .bind(sweep_id)
        .bind(index as i64)
        .execute(self.writer())
        .await
        .map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(Error::not_found(format!("Sweep '{sweep_id}' has no trial {index}")));
        }
        Ok(())
        })
        .await
    }
}
