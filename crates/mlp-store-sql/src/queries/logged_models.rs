// Written once, compiled into each back-end by `mlp_store_sql::stamp_queries!` against the
// back-end's `crate::backend` (its sqlx database, row type, store and error mapping).

use std::collections::HashMap;

use mlp_core::model::*;
use mlp_core::search::Entity;
use mlp_core::store::*;
use mlp_core::{Error, Result};
use sqlx::Row;

use crate::backend::{Db, DbRow, Store, db_err};
use crate::experiments::parse_experiment_id;
use mlp_core::clock::now_ms;
use mlp_core::metrics::metric_value;
use mlp_store_sql::{Arg, compare, kv_clause, metric_clause, order_term, push_exists, push_order_expr};

type Sql = mlp_store_sql::Sql<Db>;

const MODEL_COLUMNS: &str = "lm.model_id, lm.experiment_id, lm.name, lm.artifact_uri, lm.creation_timestamp_ms, \
     lm.last_updated_timestamp_ms, lm.status, lm.status_message, lm.model_type, lm.source_run_id";

fn model_from_row(row: &DbRow) -> LoggedModel {
    LoggedModel {
        info: LoggedModelInfo {
            model_id: row.get("model_id"),
            experiment_id: row.get::<i64, _>("experiment_id").to_string(),
            name: row.get("name"),
            creation_timestamp_ms: row.get("creation_timestamp_ms"),
            last_updated_timestamp_ms: row.get("last_updated_timestamp_ms"),
            artifact_uri: row.get("artifact_uri"),
            status: LoggedModelStatus::parse(row.get::<&str, _>("status")).unwrap_or(LoggedModelStatus::Pending),
            status_message: row.get("status_message"),
            model_type: row.get("model_type"),
            source_run_id: row.get("source_run_id"),
            tags: Vec::new(),
            registrations: Vec::new(),
        },
        data: LoggedModelData::default(),
    }
}

fn model_column(key: &str) -> Result<&'static str> {
    Ok(match key {
        "name" => "lm.name",
        "model_id" => "lm.model_id",
        "model_type" => "lm.model_type",
        "status" => "lm.status",
        "source_run_id" => "lm.source_run_id",
        "creation_timestamp" | "creation_time" | "creation_timestamp_ms" => "lm.creation_timestamp_ms",
        "last_updated_timestamp" | "last_updated_time" | "last_updated_timestamp_ms" => "lm.last_updated_timestamp_ms",
        other => {
            return Err(Error::invalid(format!(
                "Invalid attribute key '{other}' for logged models."
            )));
        }
    })
}

impl Store {
    async fn load_models(&self, mut models: Vec<LoggedModel>, pool: &sqlx::Pool<Db>) -> Result<Vec<LoggedModel>> {
        if models.is_empty() {
            return Ok(models);
        }
        let ids: Vec<Arg> = models.iter().map(|m| Arg::Text(m.info.model_id.clone())).collect();
        let index: HashMap<String, usize> = models
            .iter()
            .enumerate()
            .map(|(i, m)| (m.info.model_id.clone(), i))
            .collect();
        for (table, is_param) in [("logged_model_tags", false), ("logged_model_params", true)] {
            let mut sql = Sql::new(&format!("SELECT model_id, key, value FROM {table} WHERE model_id IN "));
            sql.list(ids.iter().cloned()).push(" ORDER BY key");
            for row in sql.build().fetch_all(pool).await.map_err(db_err)? {
                let i = index[row.get::<&str, _>(0)];
                let t = Tag::new(row.get::<String, _>(1), row.get::<String, _>(2));
                if is_param {
                    models[i].data.params.push(t)
                } else {
                    models[i].info.tags.push(t)
                }
            }
        }
        let mut sql = Sql::new(
            "SELECT model_id, key, value, is_nan, timestamp, step, run_uuid, dataset_name, dataset_digest FROM logged_model_metrics WHERE model_id IN ",
        );
        sql.list(ids.iter().cloned()).push(" ORDER BY key, step, timestamp");
        for row in sql.build().fetch_all(pool).await.map_err(db_err)? {
            let i = index[row.get::<&str, _>(0)];
            let non_empty = |s: String| (!s.is_empty()).then_some(s);
            let model_id = Some(models[i].info.model_id.clone());
            models[i].data.metrics.push(Metric {
                key: row.get(1),
                value: metric_value(row.get(2), row.get::<i64, _>(3) != 0),
                timestamp: row.get(4),
                step: row.get(5),
                run_id: Some(row.get(6)),
                dataset_name: non_empty(row.get(7)),
                dataset_digest: non_empty(row.get(8)),
                model_id,
            });
        }
        Ok(models)
    }

    pub(crate) async fn create_logged_model_impl(&self, req: &CreateLoggedModel) -> Result<LoggedModel> {
        if let Some(name) = &req.name {
            mlp_core::validation::validate_logged_model_name(name)?;
        }
        let exp = self.get_experiment_impl(&req.experiment_id).await?;
        if exp.lifecycle_stage != LifecycleStage::Active {
            return Err(Error::invalid(format!(
                "The experiment {} must be in the 'active' state.",
                req.experiment_id
            )));
        }
        let model_id = format!("m-{}", uuid::Uuid::new_v4().simple());
        let name = req
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| mlp_core::names::run_name(uuid::Uuid::new_v4().as_u64_pair().0));
        let artifact_uri = format!(
            "{}/models/{model_id}/artifacts",
            exp.artifact_location.trim_end_matches('/')
        );
        let now = now_ms();
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO logged_models (model_id, experiment_id, name, artifact_uri, creation_timestamp_ms, last_updated_timestamp_ms, status, model_type, source_run_id) \
             VALUES ($1, $2, $3, $4, $5, $6, 'LOGGED_MODEL_PENDING', $7, $8)",
        )
        .bind(&model_id)
        .bind(parse_experiment_id(&req.experiment_id)?)
        .bind(&name)
        .bind(&artifact_uri)
        .bind(now)
        .bind(now)
        .bind(req.model_type.as_deref().unwrap_or(""))
        .bind(req.source_run_id.as_deref().unwrap_or(""))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        for (table, items) in [("logged_model_tags", &req.tags), ("logged_model_params", &req.params)] {
            for t in items {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {table} (model_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value"
                )))
                .bind(&model_id)
                .bind(&t.key)
                .bind(&t.value)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
        }
        tx.commit().await.map_err(db_err)?;
        self.get_model_from(&model_id, true, self.writer()).await
    }

    async fn get_model_from(&self, model_id: &str, allow_deleted: bool, pool: &sqlx::Pool<Db>) -> Result<LoggedModel> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MODEL_COLUMNS}, lm.lifecycle_stage FROM logged_models lm WHERE lm.model_id = $1"
        )))
        .bind(model_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .filter(|r| allow_deleted || r.get::<&str, _>("lifecycle_stage") == "active")
        .ok_or_else(|| Error::not_found(format!("Logged model with ID '{model_id}' not found.")))?;
        Ok(self.load_models(vec![model_from_row(&row)], pool).await?.remove(0))
    }

    pub(crate) async fn get_logged_model_impl(&self, model_id: &str, allow_deleted: bool) -> Result<LoggedModel> {
        self.get_model_from(model_id, allow_deleted, self.reader()).await
    }

    pub(crate) async fn finalize_logged_model_impl(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        self.get_model_from(model_id, false, self.writer()).await?;
        sqlx::query("UPDATE logged_models SET status = $1, last_updated_timestamp_ms = $2 WHERE model_id = $3")
            .bind(status.as_str())
            .bind(now_ms())
            .bind(model_id)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        self.get_model_from(model_id, false, self.writer()).await
    }

    pub(crate) async fn delete_logged_model_impl(&self, model_id: &str) -> Result<()> {
        self.get_model_from(model_id, false, self.writer()).await?;
        sqlx::query(
            "UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_timestamp_ms = $1 WHERE model_id = $2",
        )
        .bind(now_ms())
        .bind(model_id)
        .execute(self.writer())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn upsert_model_kv(&self, table: &str, model_id: &str, items: &[Tag]) -> Result<()> {
        self.get_model_from(model_id, false, self.writer()).await?;
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        for t in items {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO {table} (model_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value"
            )))
            .bind(model_id)
            .bind(&t.key)
            .bind(&t.value)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        sqlx::query("UPDATE logged_models SET last_updated_timestamp_ms = $1 WHERE model_id = $2")
            .bind(now_ms())
            .bind(model_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    pub(crate) async fn set_logged_model_tags_impl(&self, model_id: &str, tags: &[Tag]) -> Result<()> {
        self.upsert_model_kv("logged_model_tags", model_id, tags).await
    }

    pub(crate) async fn log_logged_model_params_impl(&self, model_id: &str, params: &[Param]) -> Result<()> {
        self.upsert_model_kv("logged_model_params", model_id, params).await
    }

    pub(crate) async fn delete_logged_model_tag_impl(&self, model_id: &str, key: &str) -> Result<()> {
        self.get_model_from(model_id, false, self.writer()).await?;
        let res = sqlx::query("DELETE FROM logged_model_tags WHERE model_id = $1 AND key = $2")
            .bind(model_id)
            .bind(key)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(Error::not_found(format!(
                "No tag with key '{key}' found for model with ID '{model_id}'."
            )));
        }
        Ok(())
    }

    pub(crate) async fn search_logged_models_impl(&self, q: &SearchLoggedModels) -> Result<Page<LoggedModel>> {
        mlp_core::validation::validate_order_by_terms(q.order_by.len())?;
        let mut sql = Sql::new(&format!(
            "SELECT {MODEL_COLUMNS} FROM logged_models lm WHERE lm.lifecycle_stage = 'active' AND lm.experiment_id IN "
        ));
        let exp_ids = q
            .experiment_ids
            .iter()
            .map(|id| parse_experiment_id(id).map(Arg::Int))
            .collect::<Result<Vec<_>>>()?;
        sql.list(exp_ids);
        for c in &q.filter {
            sql.push(" AND ");
            match c.entity {
                Entity::Attribute => compare(&mut sql, model_column(&c.key)?, c.op, &c.value)?,
                Entity::Param => kv_clause(&mut sql, "logged_model_params", "model_id", "lm.model_id", c)?,
                Entity::Tag => kv_clause(&mut sql, "logged_model_tags", "model_id", "lm.model_id", c)?,
                Entity::Metric => metric_clause(&mut sql, "logged_model_metrics", "model_id", "lm.model_id", c)?,
                Entity::Dataset => {
                    return Err(Error::invalid(
                        "Dataset filters are given in the 'datasets' field for logged models",
                    ));
                }
            }
        }
        for d in &q.datasets {
            sql.push(" AND ");
            push_exists(&mut sql, false, |sql| {
                sql.push("FROM logged_model_metrics dm WHERE dm.model_id = lm.model_id AND dm.dataset_name = ")
                    .text_arg(&d.dataset_name);
                if let Some(digest) = &d.dataset_digest {
                    sql.push(" AND dm.dataset_digest = ").text_arg(digest);
                }
                Ok(())
            })?;
        }
        sql.push(" ORDER BY ");
        for o in &q.order_by {
            if let Some(key) = o.field_name.strip_prefix("metrics.") {
                let mut expr = Sql::new(
                    "SELECT CASE WHEN m.is_nan = 1 THEN NULL ELSE m.value END FROM logged_model_metrics m WHERE m.model_id = lm.model_id AND m.key = ",
                );
                expr.text_arg(key);
                if let Some(name) = &o.dataset_name {
                    expr.push(" AND m.dataset_name = ").text_arg(name);
                }
                if let Some(digest) = &o.dataset_digest {
                    expr.push(" AND m.dataset_digest = ").text_arg(digest);
                }
                expr.push(" ORDER BY m.step DESC, m.timestamp DESC LIMIT 1");
                push_order_expr(&mut sql, expr, o.ascending);
            } else {
                order_term(&mut sql, model_column(&o.field_name)?, o.ascending);
            }
            sql.push(", ");
        }
        sql.push("lm.creation_timestamp_ms DESC, lm.model_id ASC");
        sql.push(" LIMIT ")
            .arg(Arg::Int(q.page.limit as i64 + 1))
            .push(" OFFSET ")
            .arg(Arg::Int(q.page.offset as i64));
        let rows = sql
            .build()
            .fetch_all(self.reader())
            .await
            .map_err(|e| self.search_err(e))?;
        let mut models: Vec<LoggedModel> = rows.iter().map(model_from_row).collect();
        let has_more = models.len() as u64 > q.page.limit;
        models.truncate(q.page.limit as usize);
        let items = self.load_models(models, self.reader()).await?;
        Ok(Page { items, has_more })
    }
}
