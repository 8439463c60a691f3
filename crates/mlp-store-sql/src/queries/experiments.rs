// Written once, compiled into each back-end by `mlp_store_sql::stamp_queries!` against the
// back-end's `crate::backend` (its sqlx database, row type, store and error mapping).

use std::collections::HashMap;

use mlp_core::model::{Experiment, LifecycleStage, Tag};
use mlp_core::search::{Comparator, Entity, Value};
use mlp_core::store::{Page, SearchExperiments};
use mlp_core::{Error, Result};
use sqlx::Row;

use crate::backend::{Db, DbRow, Store, db_err};
use mlp_core::clock::now_ms;
use mlp_store_sql::is_unique_violation;
use mlp_store_sql::{Arg, compare, kv_clause, order_term};

type Sql = mlp_store_sql::Sql<Db>;

pub(crate) fn parse_experiment_id(id: &str) -> Result<i64> {
    id.trim()
        .parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .ok_or_else(|| Error::invalid(format!("Invalid experiment ID: '{id}'")))
}

fn experiment_from_row(row: &DbRow) -> Experiment {
    Experiment {
        experiment_id: row.get::<i64, _>("experiment_id").to_string(),
        name: row.get("name"),
        artifact_location: row.get("artifact_location"),
        lifecycle_stage: LifecycleStage::parse(row.get::<&str, _>("lifecycle_stage")).unwrap_or(LifecycleStage::Active),
        last_update_time: row.get("last_update_time"),
        creation_time: row.get("creation_time"),
        tags: Vec::new(),
    }
}

const EXPERIMENT_COLUMNS: &str =
    "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time";

impl Store {
    pub(crate) fn experiment_artifact_location(&self, id: i64) -> String {
        format!("{}/{id}", self.artifact_root)
    }

    pub(crate) async fn ensure_default_experiment(&self) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) \
             VALUES (0, 'Default', $1, 'active', $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(self.experiment_artifact_location(0))
        .bind(now)
        .bind(now)
        .execute(self.writer())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub(crate) async fn create_experiment_impl(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<String> {
        mlp_core::validation::validate_experiment_name(name)?;
        let now = now_ms();
        // Checked first so that a duplicate does not consume a PostgreSQL sequence value: ids
        // then follow each other on both back-ends (only a lost race leaves a gap).
        let taken: Option<i64> = sqlx::query_scalar("SELECT experiment_id FROM experiments WHERE name = $1")
            .bind(name)
            .fetch_optional(self.writer())
            .await
            .map_err(db_err)?;
        if taken.is_some() {
            return Err(Error::already_exists(format!(
                "Experiment(name={name}) already exists."
            )));
        }
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        let res: std::result::Result<i64, sqlx::Error> = sqlx::query_scalar(
            "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES ($1, '', 'active', $2, $3) RETURNING experiment_id",
        )
        .bind(name)
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await;
        let id = match res {
            Ok(id) => id,
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::already_exists(format!(
                    "Experiment(name={name}) already exists."
                )));
            }
            Err(e) => return Err(db_err(e)),
        };
        let location = match artifact_location.filter(|l| !l.is_empty()) {
            Some(l) => l.to_string(),
            None => self.experiment_artifact_location(id),
        };
        sqlx::query("UPDATE experiments SET artifact_location = $1 WHERE experiment_id = $2")
            .bind(location)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        for t in tags {
            sqlx::query("INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value")
                .bind(id)
                .bind(&t.key)
                .bind(&t.value)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(id.to_string())
    }

    async fn load_experiment_tags(&self, experiments: &mut [Experiment]) -> Result<()> {
        if experiments.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new("SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id IN ");
        sql.list(
            experiments
                .iter()
                .map(|e| Arg::Int(e.experiment_id.parse().unwrap_or(-1))),
        );
        sql.push(" ORDER BY key");
        let rows = sql.build().fetch_all(self.reader()).await.map_err(db_err)?;
        let mut by_id: HashMap<String, Vec<Tag>> = HashMap::new();
        for row in rows {
            by_id
                .entry(row.get::<i64, _>(0).to_string())
                .or_default()
                .push(Tag::new(row.get::<String, _>(1), row.get::<String, _>(2)));
        }
        for e in experiments {
            e.tags = by_id.remove(&e.experiment_id).unwrap_or_default();
        }
        Ok(())
    }

    pub(crate) async fn get_experiment_impl(&self, experiment_id: &str) -> Result<Experiment> {
        let id = parse_experiment_id(experiment_id)?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE experiment_id = $1"
        )))
        .bind(id)
        .fetch_optional(self.reader())
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::not_found(format!("No Experiment with id={experiment_id} exists")))?;
        let mut e = [experiment_from_row(&row)];
        self.load_experiment_tags(&mut e).await?;
        let [e] = e;
        Ok(e)
    }

    pub(crate) async fn get_experiment_by_name_impl(&self, name: &str) -> Result<Experiment> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE name = $1"
        )))
        .bind(name)
        .fetch_optional(self.reader())
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::not_found(format!("Could not find experiment with name '{name}'")))?;
        let mut e = [experiment_from_row(&row)];
        self.load_experiment_tags(&mut e).await?;
        let [e] = e;
        Ok(e)
    }

    pub(crate) async fn search_experiments_impl(&self, q: &SearchExperiments) -> Result<Page<Experiment>> {
        mlp_core::validation::validate_order_by_terms(q.order_by.len())?;
        let mut sql = Sql::new(&format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments e WHERE e.lifecycle_stage IN "
        ));
        sql.list(q.view.stages().iter().map(|s| Arg::Text(s.to_string())));
        for c in &q.filter {
            sql.push(" AND ");
            match c.entity {
                Entity::Tag => kv_clause(&mut sql, "experiment_tags", "experiment_id", "e.experiment_id", c)?,
                Entity::Attribute => {
                    let column = experiment_column(&c.key)?;
                    if column == "e.experiment_id" {
                        // Ids are strings on the wire and integers here.
                        let value = match &c.value {
                            Value::Str(s) => Value::Num(parse_experiment_id(s)? as f64),
                            Value::List(items) => {
                                sql.push(&format!(
                                    "e.experiment_id {} ",
                                    if c.op == Comparator::NotIn { "NOT IN" } else { "IN" }
                                ));
                                let ids = items
                                    .iter()
                                    .map(|s| parse_experiment_id(s).map(Arg::Int))
                                    .collect::<Result<Vec<_>>>()?;
                                sql.list(ids);
                                continue;
                            }
                            v => v.clone(),
                        };
                        compare(&mut sql, column, c.op, &value)?;
                    } else {
                        compare(&mut sql, column, c.op, &c.value)?;
                    }
                }
                _ => {
                    return Err(Error::invalid(format!(
                        "Invalid filter entity for experiments: {:?}",
                        c.entity
                    )));
                }
            }
        }
        sql.push(" ORDER BY ");
        let mut has_id = false;
        if q.order_by.is_empty() {
            // MLflow's default order.
            sql.push("e.last_update_time DESC, e.experiment_id DESC, ");
            has_id = true;
        }
        for o in &q.order_by {
            let column = experiment_column(&o.key)?;
            has_id |= column == "e.experiment_id";
            order_term(&mut sql, column, o.ascending);
            sql.push(", ");
        }
        if !has_id {
            sql.push("e.experiment_id ASC, ");
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
        let mut items: Vec<Experiment> = rows.iter().map(experiment_from_row).collect();
        let has_more = items.len() as u64 > q.page.limit;
        items.truncate(q.page.limit as usize);
        self.load_experiment_tags(&mut items).await?;
        Ok(Page { items, has_more })
    }

    pub(crate) async fn rename_experiment_impl(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        mlp_core::validation::validate_experiment_name(new_name)?;
        let e = self.get_experiment_impl(experiment_id).await?;
        if e.lifecycle_stage != LifecycleStage::Active {
            return Err(Error::invalid("Cannot rename a non-active experiment."));
        }
        let res = sqlx::query("UPDATE experiments SET name = $1, last_update_time = $2 WHERE experiment_id = $3")
            .bind(new_name)
            .bind(now_ms())
            .bind(parse_experiment_id(experiment_id)?)
            .execute(self.writer())
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(Error::already_exists(format!(
                "Experiment(name={new_name}) already exists."
            ))),
            Err(e) => Err(db_err(e)),
        }
    }

    /// Deleting an experiment deletes its runs with it (and restoring restores them), as MLflow does.
    pub(crate) async fn set_experiment_stage(&self, experiment_id: &str, stage: LifecycleStage) -> Result<()> {
        let id = parse_experiment_id(experiment_id)?;
        let e = self.get_experiment_impl(experiment_id).await?;
        if id == 0 && stage == LifecycleStage::Deleted {
            return Err(Error::invalid("Cannot delete the default experiment '0'."));
        }
        if stage == LifecycleStage::Active && e.lifecycle_stage == LifecycleStage::Active {
            return Err(Error::invalid(format!(
                "Cannot restore an active experiment. Experiment {experiment_id} is already active."
            )));
        }
        let now = now_ms();
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        sqlx::query("UPDATE experiments SET lifecycle_stage = $1, last_update_time = $2 WHERE experiment_id = $3")
            .bind(stage.as_str())
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let (from, deleted_time) = match stage {
            LifecycleStage::Deleted => ("active", Some(now)),
            LifecycleStage::Active => ("deleted", None),
        };
        sqlx::query(
            "UPDATE runs SET lifecycle_stage = $1, deleted_time = $2 WHERE experiment_id = $3 AND lifecycle_stage = $4",
        )
        .bind(stage.as_str())
        .bind(deleted_time)
        .bind(id)
        .bind(from)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    pub(crate) async fn set_experiment_tag_impl(&self, experiment_id: &str, tag: &Tag) -> Result<()> {
        let e = self.get_experiment_impl(experiment_id).await?;
        if e.lifecycle_stage != LifecycleStage::Active {
            return Err(Error::invalid(format!(
                "The experiment {experiment_id} must be in the 'active' state. Current state is deleted."
            )));
        }
        sqlx::query("INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value")
            .bind(parse_experiment_id(experiment_id)?)
            .bind(&tag.key)
            .bind(&tag.value)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub(crate) async fn delete_experiment_tag_impl(&self, experiment_id: &str, key: &str) -> Result<()> {
        self.get_experiment_impl(experiment_id).await?;
        let res = sqlx::query("DELETE FROM experiment_tags WHERE experiment_id = $1 AND key = $2")
            .bind(parse_experiment_id(experiment_id)?)
            .bind(key)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(Error::not_found(format!(
                "No tag with name: {key} in experiment with id {experiment_id}"
            )));
        }
        Ok(())
    }
}

fn experiment_column(key: &str) -> Result<&'static str> {
    Ok(match key {
        "name" => "e.name",
        "experiment_id" => "e.experiment_id",
        "creation_time" => "e.creation_time",
        "last_update_time" => "e.last_update_time",
        other => {
            return Err(Error::invalid(format!("Invalid attribute key '{other}' specified.")));
        }
    })
}
