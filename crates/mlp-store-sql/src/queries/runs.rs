// Written once, compiled into each back-end by `mlp_store_sql::stamp_queries!` against the
// back-end's `crate::backend` (its sqlx database, row type, store and error mapping).

use std::collections::HashMap;

use mlp_core::metrics::{metric_value, sample_steps, stored_value, supersedes};
use mlp_core::model::*;
use mlp_core::runs::{RUN_NAME_TAG, check_params_unchanged, resolve_run_name};
use mlp_core::store::*;
use mlp_core::{Error, Result};
use sqlx::Row;

use crate::backend::{Db, DbRow, Store, db_err};
use crate::experiments::parse_experiment_id;
use mlp_core::clock::now_ms;
use mlp_store_sql::{Arg, run_clause, run_order};

type Sql = mlp_store_sql::Sql<Db>;

const RUN_COLUMNS: &str = "r.run_uuid, r.experiment_id, r.name, r.user_id, r.status, r.start_time, r.end_time, r.artifact_uri, r.lifecycle_stage";

fn info_from_row(row: &DbRow) -> RunInfo {
    let id: String = row.get("run_uuid");
    RunInfo {
        run_uuid: id.clone(),
        experiment_id: row.get::<i64, _>("experiment_id").to_string(),
        run_name: row.get("name"),
        user_id: row.get("user_id"),
        status: RunStatus::parse(row.get::<&str, _>("status")).unwrap_or(RunStatus::Running),
        start_time: row.get("start_time"),
        end_time: row.get("end_time"),
        artifact_uri: row.get("artifact_uri"),
        lifecycle_stage: LifecycleStage::parse(row.get::<&str, _>("lifecycle_stage")).unwrap_or(LifecycleStage::Active),
        run_id: id,
    }
}

fn ids_list(run_ids: &[String]) -> impl Iterator<Item = Arg> + '_ {
    run_ids.iter().map(|id| Arg::Text(id.clone()))
}

/// A run ready to be inserted (see `Store::prepare_run`).
pub(crate) struct NewRun {
    pub run_id: String,
    pub experiment_id: i64,
    pub name: String,
    pub user_id: String,
    pub start_time: i64,
    pub artifact_uri: String,
    pub tags: Vec<Tag>,
}

/// Inserts a prepared run and its tags inside the caller's transaction.
pub(crate) async fn insert_run(
    tx: &mut <Db as sqlx::Database>::Connection,
    run: &NewRun,
    status: RunStatus,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, 'active')",
    )
    .bind(&run.run_id)
    .bind(run.experiment_id)
    .bind(&run.name)
    .bind(&run.user_id)
    .bind(status.as_str())
    .bind(run.start_time)
    .bind(&run.artifact_uri)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    for t in &run.tags {
        sqlx::query("INSERT INTO tags (run_uuid, key, value) VALUES ($1, $2, $3) ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value")
            .bind(&run.run_id)
            .bind(&t.key)
            .bind(&t.value)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

impl Store {
    async fn run_info(&self, run_id: &str) -> Result<RunInfo> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM runs r WHERE r.run_uuid = $1"
        )))
        .bind(run_id)
        .fetch_optional(self.writer())
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::not_found(format!("Run with id={run_id} not found")))?;
        Ok(info_from_row(&row))
    }

    async fn active_run(&self, run_id: &str) -> Result<RunInfo> {
        let info = self.run_info(run_id).await?;
        if info.lifecycle_stage != LifecycleStage::Active {
            return Err(Error::invalid(format!(
                "The run {run_id} must be in the 'active' state. Current state is deleted."
            )));
        }
        Ok(info)
    }

    pub(crate) async fn create_run_impl(&self, req: &CreateRun) -> Result<Run> {
        let run = self.prepare_run(req).await?;
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        insert_run(&mut tx, &run, RunStatus::Running).await?;
        tx.commit().await.map_err(db_err)?;
        self.get_run_from(&run.run_id, self.writer()).await
    }

    /// Checks a run request against its experiment and resolves its name, id and artifact
    /// location: all that creating it needs before its transaction.
    pub(crate) async fn prepare_run(&self, req: &CreateRun) -> Result<NewRun> {
        let exp = self.get_experiment_impl(&req.experiment_id).await?;
        if exp.lifecycle_stage != LifecycleStage::Active {
            return Err(Error::invalid(format!(
                "The experiment {} must be in the 'active' state. Current state is deleted.",
                req.experiment_id
            )));
        }
        let run_id = uuid::Uuid::new_v4().simple().to_string();
        let (name, tags) = resolve_run_name(req.run_name.as_deref(), &req.tags, uuid::Uuid::new_v4().as_u64_pair().0)?;
        Ok(NewRun {
            artifact_uri: format!("{}/{run_id}/artifacts", exp.artifact_location.trim_end_matches('/')),
            experiment_id: parse_experiment_id(&req.experiment_id)?,
            run_id,
            name,
            tags,
            user_id: req.user_id.clone(),
            start_time: if req.start_time > 0 { req.start_time } else { now_ms() },
        })
    }

    pub(crate) async fn get_run_impl(&self, run_id: &str) -> Result<Run> {
        self.get_run_from(run_id, self.reader()).await
    }

    async fn get_run_from(&self, run_id: &str, pool: &sqlx::Pool<Db>) -> Result<Run> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM runs r WHERE r.run_uuid = $1"
        )))
        .bind(run_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::not_found(format!("Run with id={run_id} not found")))?;
        let mut runs = self.load_runs(vec![info_from_row(&row)], pool).await?;
        Ok(runs.remove(0))
    }

    /// Attaches data, inputs and outputs to run infos with one query per child table.
    async fn load_runs(&self, infos: Vec<RunInfo>, pool: &sqlx::Pool<Db>) -> Result<Vec<Run>> {
        if infos.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = infos.iter().map(|i| i.run_id.clone()).collect();
        let mut runs: Vec<Run> = infos
            .into_iter()
            .map(|info| Run {
                info,
                data: RunData::default(),
                inputs: RunInputs::default(),
                outputs: RunOutputs::default(),
            })
            .collect();
        let index: HashMap<String, usize> = ids.iter().enumerate().map(|(i, id)| (id.clone(), i)).collect();

        let mut sql =
            Sql::new("SELECT run_uuid, key, value, is_nan, timestamp, step FROM latest_metrics WHERE run_uuid IN ");
        sql.list(ids_list(&ids)).push(" ORDER BY key");
        for row in sql.build().fetch_all(pool).await.map_err(db_err)? {
            let i = index[row.get::<&str, _>(0)];
            runs[i].data.metrics.push(Metric {
                key: row.get(1),
                value: metric_value(row.get(2), row.get::<i64, _>(3) != 0),
                timestamp: row.get(4),
                step: row.get(5),
                ..Default::default()
            });
        }
        for (table, is_param) in [("params", true), ("tags", false)] {
            let mut sql = Sql::new(&format!("SELECT run_uuid, key, value FROM {table} WHERE run_uuid IN "));
            sql.list(ids_list(&ids)).push(" ORDER BY key");
            for row in sql.build().fetch_all(pool).await.map_err(db_err)? {
                let i = index[row.get::<&str, _>(0)];
                let t = Tag::new(row.get::<String, _>(1), row.get::<String, _>(2));
                if is_param {
                    runs[i].data.params.push(t)
                } else {
                    runs[i].data.tags.push(t)
                }
            }
        }
        let mut sql = Sql::new(
            "SELECT di.run_uuid, di.dataset_uuid, d.name, d.digest, d.source_type, d.source, d.schema, d.profile \
             FROM run_dataset_inputs di JOIN datasets d ON d.dataset_uuid = di.dataset_uuid WHERE di.run_uuid IN ",
        );
        sql.list(ids_list(&ids)).push(" ORDER BY di.run_uuid, di.position");
        let mut input_pos: HashMap<(String, String), (usize, usize)> = HashMap::new();
        for row in sql.build().fetch_all(pool).await.map_err(db_err)? {
            let run: String = row.get(0);
            let i = index[run.as_str()];
            input_pos.insert((run, row.get(1)), (i, runs[i].inputs.dataset_inputs.len()));
            runs[i].inputs.dataset_inputs.push(DatasetInput {
                tags: Vec::new(),
                dataset: Dataset {
                    name: row.get(2),
                    digest: row.get(3),
                    source_type: row.get(4),
                    source: row.get(5),
                    schema: row.get(6),
                    profile: row.get(7),
                },
            });
        }
        if !input_pos.is_empty() {
            let mut sql =
                Sql::new("SELECT run_uuid, dataset_uuid, key, value FROM run_dataset_input_tags WHERE run_uuid IN ");
            sql.list(ids_list(&ids)).push(" ORDER BY key");
            for row in sql.build().fetch_all(pool).await.map_err(db_err)? {
                if let Some((i, j)) = input_pos.get(&(row.get(0), row.get(1))) {
                    runs[*i].inputs.dataset_inputs[*j]
                        .tags
                        .push(Tag::new(row.get::<String, _>(2), row.get::<String, _>(3)));
                }
            }
        }
        let mut sql = Sql::new("SELECT run_uuid, model_id FROM run_model_inputs WHERE run_uuid IN ");
        sql.list(ids_list(&ids)).push(" ORDER BY model_id");
        for row in sql.build().fetch_all(pool).await.map_err(db_err)? {
            let i = index[row.get::<&str, _>(0)];
            runs[i].inputs.model_inputs.push(ModelInput { model_id: row.get(1) });
        }
        let mut sql = Sql::new("SELECT run_uuid, model_id, step FROM run_model_outputs WHERE run_uuid IN ");
        sql.list(ids_list(&ids)).push(" ORDER BY step, model_id");
        for row in sql.build().fetch_all(pool).await.map_err(db_err)? {
            let i = index[row.get::<&str, _>(0)];
            runs[i].outputs.model_outputs.push(ModelOutput {
                model_id: row.get(1),
                step: row.get(2),
            });
        }
        Ok(runs)
    }

    pub(crate) async fn update_run_impl(&self, req: &UpdateRun) -> Result<RunInfo> {
        if let Some(name) = &req.run_name {
            mlp_core::validation::validate_run_name(name)?;
        }
        let info = self.active_run(&req.run_id).await?;
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        sqlx::query(
            "UPDATE runs SET status = COALESCE($1, status), end_time = COALESCE($2, end_time), name = COALESCE($3, name) WHERE run_uuid = $4",
        )
        .bind(req.status.map(|s| s.as_str()))
        .bind(req.end_time)
        .bind(req.run_name.as_deref().filter(|n| !n.is_empty()))
        .bind(&info.run_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if let Some(name) = req.run_name.as_deref().filter(|n| !n.is_empty()) {
            sqlx::query("INSERT INTO tags (run_uuid, key, value) VALUES ($1, $2, $3) ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value")
                .bind(&info.run_id)
                .bind(RUN_NAME_TAG)
                .bind(name)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        self.run_info(&req.run_id).await
    }

    pub(crate) async fn set_run_stage(&self, run_id: &str, stage: LifecycleStage) -> Result<()> {
        self.run_info(run_id).await?;
        let deleted_time = (stage == LifecycleStage::Deleted).then(now_ms);
        sqlx::query("UPDATE runs SET lifecycle_stage = $1, deleted_time = $2 WHERE run_uuid = $3")
            .bind(stage.as_str())
            .bind(deleted_time)
            .bind(run_id)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Run writes go through group commit (`mlp_store_sql::group_commit`): answered once the
    /// transaction holding them has committed, together with whatever other requests queued.
    /// The run's state is checked inside that transaction, not before it.
    pub(crate) async fn log_batch_impl(&self, req: &LogBatch) -> Result<()> {
        let pool = self.writer().clone();
        self.group_commit
            .submit(req.clone(), move |receiver| {
                for _ in 0..crate::backend::GROUP_WRITERS {
                    tokio::spawn(group_writer(pool.clone(), receiver.clone()));
                }
            })
            .await
    }
}

/// One writer task. A group's rows go into one statement per table (not one per request: the
/// per-statement cost through the driver is what bounds small writes), in one transaction. When
/// that fails (a changed param, a database error), the group is rolled back and replayed one
/// request per transaction, so that each request gets its own answer.
async fn group_writer(pool: sqlx::Pool<Db>, receiver: mlp_store_sql::group_commit::GroupReceiver) {
    while let Some(group) = mlp_store_sql::group_commit::next_group(&receiver).await {
        let batches: Vec<&LogBatch> = group.iter().map(|q| &q.batch).collect();
        match commit_group(&pool, &batches).await {
            Ok(answers) => {
                for (q, answer) in group.into_iter().zip(answers) {
                    let _ = q.done.send(answer);
                }
            }
            Err(e) if group.len() == 1 => {
                let _ = group.into_iter().next().map(|q| q.done.send(Err(e)));
            }
            Err(_) => {
                for q in group {
                    let answer = commit_group(&pool, &[&q.batch])
                        .await
                        .and_then(|mut answers| answers.pop().unwrap_or(Ok(())));
                    let _ = q.done.send(answer);
                }
            }
        }
    }
}

/// Commits `batches` in one transaction and returns each request's answer. A request on a
/// missing or deleted run is answered with its own error and left out; any other failure is an
/// `Err` for the whole group (nothing committed).
async fn commit_group(pool: &sqlx::Pool<Db>, batches: &[&LogBatch]) -> Result<Vec<Result<()>>> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    let mut ids: Vec<&str> = batches.iter().map(|b| b.run_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut sql = Sql::new("SELECT run_uuid, lifecycle_stage FROM runs WHERE run_uuid IN ");
    sql.list(ids.iter().map(|id| Arg::Text(id.to_string())));
    let stages: HashMap<String, String> = sql
        .build()
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut answers = Vec::with_capacity(batches.len());
    let mut accepted = Vec::with_capacity(batches.len());
    for b in batches {
        answers.push(match stages.get(&b.run_id) {
            None => Err(Error::not_found(format!("Run with id={} not found", b.run_id))),
            Some(stage) if stage != LifecycleStage::Active.as_str() => Err(Error::invalid(format!(
                "The run {} must be in the 'active' state. Current state is deleted.",
                b.run_id
            ))),
            Some(_) => {
                accepted.push(*b);
                Ok(())
            }
        });
    }
    write_rows(&mut tx, &accepted).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(answers)
}

/// The rows of `batches`, in arrival order, inside the caller's transaction: the same result as
/// applying them one after the other (params checked against the stored ones and the earlier
/// requests, the last value of a tag wins, the latest metric is the one that supersedes).
async fn write_rows(tx: &mut <Db as sqlx::Database>::Connection, batches: &[&LogBatch]) -> Result<()> {
    let with_params: Vec<&LogBatch> = batches.iter().copied().filter(|b| !b.params.is_empty()).collect();
    if !with_params.is_empty() {
        let mut runs: Vec<&str> = with_params.iter().map(|b| b.run_id.as_str()).collect();
        runs.sort_unstable();
        runs.dedup();
        let mut keys: Vec<&str> = with_params
            .iter()
            .flat_map(|b| b.params.iter().map(|p| p.key.as_str()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut sql = Sql::new("SELECT run_uuid, key, value FROM params WHERE run_uuid IN ");
        sql.list(runs.iter().map(|r| Arg::Text(r.to_string())));
        sql.push(" AND key IN ")
            .list(keys.iter().map(|k| Arg::Text(k.to_string())));
        let mut known: HashMap<String, HashMap<String, String>> = HashMap::new();
        for row in sql.build().fetch_all(&mut *tx).await.map_err(db_err)? {
            known.entry(row.get(0)).or_default().insert(row.get(1), row.get(2));
        }
        for b in &with_params {
            let run = known.entry(b.run_id.clone()).or_default();
            check_params_unchanged(&b.run_id, &b.params, run)?;
            for p in &b.params {
                run.entry(p.key.clone()).or_insert_with(|| p.value.clone());
            }
        }
        let rows: Vec<(&str, &Param)> = with_params
            .iter()
            .flat_map(|b| b.params.iter().map(move |p| (b.run_id.as_str(), p)))
            .collect();
        for chunk in rows.chunks(mlp_store_sql::ROWS_PER_INSERT) {
            let mut sql = Sql::new("INSERT INTO params (run_uuid, key, value) VALUES ");
            sql.values(chunk.iter().map(|(run, p)| {
                vec![
                    Arg::Text(run.to_string()),
                    Arg::Text(p.key.clone()),
                    Arg::Text(p.value.clone()),
                ]
            }));
            sql.push(" ON CONFLICT DO NOTHING");
            sql.build().execute(&mut *tx).await.map_err(db_err)?;
        }
    }

    // The last value of a (run, key) wins, as when the tags were set one by one; an upsert
    // cannot touch the same row twice in one statement, so duplicates go first. Key order keeps
    // concurrent transactions from deadlocking on PostgreSQL.
    let mut tags: std::collections::BTreeMap<(&str, &str), &str> = std::collections::BTreeMap::new();
    for b in batches {
        for t in &b.tags {
            tags.insert((b.run_id.as_str(), t.key.as_str()), t.value.as_str());
        }
    }
    let tags: Vec<((&str, &str), &str)> = tags.into_iter().collect();
    for chunk in tags.chunks(mlp_store_sql::ROWS_PER_INSERT) {
        let mut sql = Sql::new("INSERT INTO tags (run_uuid, key, value) VALUES ");
        sql.values(chunk.iter().map(|((run, k), v)| {
            vec![
                Arg::Text(run.to_string()),
                Arg::Text(k.to_string()),
                Arg::Text(v.to_string()),
            ]
        }));
        sql.push(" ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value");
        sql.build().execute(&mut *tx).await.map_err(db_err)?;
    }
    for ((run, _), name) in tags.iter().filter(|((_, k), _)| *k == RUN_NAME_TAG) {
        sqlx::query("UPDATE runs SET name = $1 WHERE run_uuid = $2")
            .bind(*name)
            .bind(*run)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }

    let points: Vec<(&str, &Metric)> = batches
        .iter()
        .flat_map(|b| b.metrics.iter().map(move |m| (b.run_id.as_str(), m)))
        .collect();
    if points.is_empty() {
        return Ok(());
    }
    crate::backend::insert_metric_points(tx, &points).await?;
    let model_points: Vec<&(&str, &Metric)> = points.iter().filter(|(_, m)| m.model_id.is_some()).collect();
    for chunk in model_points.chunks(mlp_store_sql::ROWS_PER_INSERT) {
        let mut sql = Sql::new(
            "INSERT INTO logged_model_metrics (model_id, key, value, is_nan, timestamp, step, run_uuid, dataset_name, dataset_digest) VALUES ",
        );
        sql.values(chunk.iter().map(|(run, m)| {
            let (value, is_nan) = stored_value(m.value);
            vec![
                Arg::OptText(m.model_id.clone()),
                Arg::Text(m.key.clone()),
                Arg::Real(value),
                Arg::Int(is_nan),
                Arg::Int(m.timestamp),
                Arg::Int(m.step),
                Arg::Text(run.to_string()),
                Arg::Text(m.dataset_name.clone().unwrap_or_default()),
                Arg::Text(m.dataset_digest.clone().unwrap_or_default()),
            ]
        }));
        sql.push(" ON CONFLICT DO NOTHING");
        sql.build().execute(&mut *tx).await.map_err(db_err)?;
    }
    let mut latest: HashMap<(&str, &str), &Metric> = HashMap::new();
    for (run, m) in &points {
        let e = latest.entry((run, m.key.as_str())).or_insert(m);
        if supersedes(m, e) {
            *e = m;
        }
    }
    // One row per (run, key), in that order (so concurrent transactions cannot deadlock), in
    // statements of 100 rows. The row-value comparison keeps the stored row when it is newer
    // than this group's; NaN sorts below every number (as in `supersedes`), whatever the order
    // points arrive in.
    let mut latest: Vec<((&str, &str), &Metric)> = latest.into_iter().collect();
    latest.sort_by(|a, b| a.0.cmp(&b.0));
    for chunk in latest.chunks(mlp_store_sql::ROWS_PER_INSERT) {
        let mut sql = Sql::new("INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) VALUES ");
        sql.values(chunk.iter().map(|((run, _), m)| {
            let (value, is_nan) = stored_value(m.value);
            vec![
                Arg::Text(run.to_string()),
                Arg::Text(m.key.clone()),
                Arg::Real(value),
                Arg::Int(is_nan),
                Arg::Int(m.timestamp),
                Arg::Int(m.step),
            ]
        }));
        sql.push(
            " ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan, \
             timestamp = excluded.timestamp, step = excluded.step \
             WHERE (excluded.step, excluded.timestamp, 1 - excluded.is_nan, excluded.value) \
                 > (latest_metrics.step, latest_metrics.timestamp, 1 - latest_metrics.is_nan, latest_metrics.value)",
        );
        sql.build().execute(&mut *tx).await.map_err(db_err)?;
    }
    Ok(())
}

impl Store {
    pub(crate) async fn delete_tag_impl(&self, run_id: &str, key: &str) -> Result<()> {
        self.active_run(run_id).await?;
        let res = sqlx::query("DELETE FROM tags WHERE run_uuid = $1 AND key = $2")
            .bind(run_id)
            .bind(key)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(Error::not_found(format!(
                "No tag with name: {key} in run with id {run_id}"
            )));
        }
        Ok(())
    }

    pub(crate) async fn log_inputs_impl(
        &self,
        run_id: &str,
        datasets: &[DatasetInput],
        models: &[ModelInput],
    ) -> Result<()> {
        let info = self.active_run(run_id).await?;
        let exp_id = parse_experiment_id(&info.experiment_id)?;
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        let mut position: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(position), -1) + 1 FROM run_dataset_inputs WHERE run_uuid = $1")
                .bind(run_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
        for input in datasets {
            let d = &input.dataset;
            sqlx::query(
                "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type, source, schema, profile) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (experiment_id, name, digest) DO NOTHING",
            )
            .bind(uuid::Uuid::new_v4().simple().to_string())
            .bind(exp_id)
            .bind(&d.name)
            .bind(&d.digest)
            .bind(&d.source_type)
            .bind(&d.source)
            .bind(&d.schema)
            .bind(&d.profile)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            let dataset_uuid: String = sqlx::query_scalar(
                "SELECT dataset_uuid FROM datasets WHERE experiment_id = $1 AND name = $2 AND digest = $3",
            )
            .bind(exp_id)
            .bind(&d.name)
            .bind(&d.digest)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            let inserted = sqlx::query("INSERT INTO run_dataset_inputs (run_uuid, dataset_uuid, position) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(run_id)
                .bind(&dataset_uuid)
                .bind(position)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            position += inserted.rows_affected() as i64;
            for t in &input.tags {
                sqlx::query("INSERT INTO run_dataset_input_tags (run_uuid, dataset_uuid, key, value) VALUES ($1, $2, $3, $4) ON CONFLICT (run_uuid, dataset_uuid, key) DO UPDATE SET value = excluded.value")
                    .bind(run_id)
                    .bind(&dataset_uuid)
                    .bind(&t.key)
                    .bind(&t.value)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
        }
        for m in models {
            sqlx::query("INSERT INTO run_model_inputs (run_uuid, model_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(run_id)
                .bind(&m.model_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    pub(crate) async fn log_outputs_impl(&self, run_id: &str, models: &[ModelOutput]) -> Result<()> {
        self.active_run(run_id).await?;
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        for m in models {
            sqlx::query(
                "INSERT INTO run_model_outputs (run_uuid, model_id, step) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(run_id)
            .bind(&m.model_id)
            .bind(m.step)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    pub(crate) async fn search_runs_impl(&self, q: &SearchRuns) -> Result<Page<Run>> {
        mlp_core::validation::validate_order_by_terms(q.order_by.len())?;
        let mut sql = Sql::new(&format!("SELECT {RUN_COLUMNS} FROM runs r WHERE r.experiment_id IN "));
        let exp_ids = q
            .experiment_ids
            .iter()
            .map(|id| parse_experiment_id(id).map(Arg::Int))
            .collect::<Result<Vec<_>>>()?;
        sql.list(exp_ids);
        sql.push(" AND r.lifecycle_stage IN ");
        sql.list(q.view.stages().iter().map(|s| Arg::Text(s.to_string())));
        for c in &q.filter {
            sql.push(" AND ");
            run_clause(&mut sql, c)?;
        }
        sql.push(" ORDER BY ");
        let mut has_start = false;
        let mut has_id = false;
        for o in &q.order_by {
            run_order(&mut sql, o)?;
            sql.push(", ");
            if o.entity == mlp_core::search::Entity::Attribute {
                has_start |= matches!(o.key.as_str(), "start_time" | "created");
                has_id |= matches!(o.key.as_str(), "run_id" | "run_uuid");
            }
        }
        if !has_start {
            sql.push("r.start_time DESC, ");
        }
        if !has_id {
            sql.push("r.run_uuid ASC, ");
        }
        sql.text.truncate(sql.text.len() - 2);
        sql.push(" LIMIT ")
            .arg(Arg::Int(q.page.limit as i64 + 1))
            .push(" OFFSET ")
            .arg(Arg::Int(q.page.offset as i64));
        let rows = sql
            .build()
            .fetch_all(self.reader())
            .await
            .map_err(|e| self.search_err(e))?;
        let mut infos: Vec<RunInfo> = rows.iter().map(info_from_row).collect();
        let has_more = infos.len() as u64 > q.page.limit;
        infos.truncate(q.page.limit as usize);
        let items = self.load_runs(infos, self.reader()).await?;
        Ok(Page { items, has_more })
    }

    pub(crate) async fn get_metric_history_impl(
        &self,
        run_id: &str,
        key: &str,
        page: &PageRequest,
    ) -> Result<Page<Metric>> {
        let rows = sqlx::query(
            "SELECT value, is_nan, timestamp, step, model_id, dataset_name, dataset_digest FROM metrics \
             WHERE run_uuid = $1 AND key = $2 ORDER BY step, timestamp, value LIMIT $3 OFFSET $4",
        )
        .bind(run_id)
        .bind(key)
        .bind(page.limit as i64 + 1)
        .bind(page.offset as i64)
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?;
        if rows.is_empty() {
            // Only an empty page needs to know whether the run exists (not found vs no points):
            // a history read does not wait for the run lookup otherwise.
            self.run_info(run_id).await?;
        }
        let mut items: Vec<Metric> = rows
            .iter()
            .map(|row| Metric {
                key: key.to_string(),
                value: metric_value(row.get(0), row.get::<i64, _>(1) != 0),
                timestamp: row.get(2),
                step: row.get(3),
                model_id: row.get(4),
                dataset_name: row.get(5),
                dataset_digest: row.get(6),
                run_id: Some(run_id.to_string()),
            })
            .collect();
        let has_more = items.len() as u64 > page.limit;
        items.truncate(page.limit as usize);
        Ok(Page { items, has_more })
    }

    /// MLflow's sampling for charts: all steps in range if few enough, otherwise `max_results`
    /// steps evenly spread over them, always keeping the first and the last.
    pub(crate) async fn get_metric_history_bulk_interval_impl(
        &self,
        run_ids: &[String],
        key: &str,
        start_step: Option<i64>,
        end_step: Option<i64>,
        max_results: u64,
    ) -> Result<Vec<MetricWithRunId>> {
        let mut sql = Sql::new("SELECT DISTINCT step FROM metrics WHERE key = ");
        sql.text_arg(key).push(" AND run_uuid IN ").list(ids_list(run_ids));
        if let Some(s) = start_step {
            sql.push(" AND step >= ").arg(Arg::Int(s));
        }
        if let Some(e) = end_step {
            sql.push(" AND step <= ").arg(Arg::Int(e));
        }
        sql.push(" ORDER BY step");
        let steps: Vec<i64> = sql
            .build()
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut sampled = sample_steps(&steps, max_results as usize);
        // As MLflow does, each run's first and last step are always kept when they are in range,
        // so that every run's chart reaches its ends even when the runs have different lengths.
        let mut sql = Sql::new("SELECT MIN(step), MAX(step) FROM metrics WHERE key = ");
        sql.text_arg(key).push(" AND run_uuid IN ").list(ids_list(run_ids));
        sql.push(" GROUP BY run_uuid");
        let in_range = |s: i64| start_step.is_none_or(|lo| s >= lo) && end_step.is_none_or(|hi| s <= hi);
        for row in sql.build().fetch_all(self.reader()).await.map_err(db_err)? {
            sampled.extend(
                [row.get::<i64, _>(0), row.get::<i64, _>(1)]
                    .into_iter()
                    .filter(|s| in_range(*s)),
            );
        }
        sampled.sort_unstable();
        sampled.dedup();
        if sampled.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT run_uuid, key, value, is_nan, timestamp, step FROM metrics WHERE key = ");
        sql.text_arg(key).push(" AND run_uuid IN ").list(ids_list(run_ids));
        sql.push(" AND step IN ").list(sampled.iter().map(|s| Arg::Int(*s)));
        sql.push(" ORDER BY run_uuid, step, timestamp");
        let rows = sql.build().fetch_all(self.reader()).await.map_err(db_err)?;
        Ok(rows
            .iter()
            .map(|row| MetricWithRunId {
                run_id: row.get(0),
                metric: Metric {
                    key: row.get(1),
                    value: metric_value(row.get(2), row.get::<i64, _>(3) != 0),
                    timestamp: row.get(4),
                    step: row.get(5),
                    ..Default::default()
                },
            })
            .collect())
    }
}
