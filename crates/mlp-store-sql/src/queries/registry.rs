// Written once, compiled into each back-end by `mlp_store_sql::stamp_queries!` against the
// back-end's `crate::backend` (its sqlx database, row type, store and error mapping).

use std::collections::HashMap;

use async_trait::async_trait;
use mlp_core::model::Tag;
use mlp_core::registry::*;
use mlp_core::search::{Clause, Comparator, Entity, OrderBy, Value};
use mlp_core::store::Page;
use mlp_core::{Error, Result};
use sqlx::Row;

use crate::backend::{Db, DbRow, Store, db_err};
use mlp_core::clock::now_ms;
use mlp_store_sql::is_unique_violation;
use mlp_store_sql::{Arg, compare, kv_clause, order_term, push_exists};

type Sql = mlp_store_sql::Sql<Db>;

const PROMPT_TAG: &str = "mlflow.prompt.is_prompt";

const MODEL_COLUMNS: &str = "rm.name, rm.creation_timestamp, rm.last_updated_timestamp, rm.description, rm.user_id";
const VERSION_COLUMNS: &str = "mv.name, mv.version, mv.creation_timestamp, mv.last_updated_timestamp, mv.description, \
     mv.user_id, mv.current_stage, mv.source, mv.run_id, mv.run_link, mv.status, mv.storage_location, mv.model_id";

fn model_from_row(row: &DbRow) -> RegisteredModel {
    RegisteredModel {
        name: row.get("name"),
        creation_timestamp: row.get("creation_timestamp"),
        last_updated_timestamp: row.get("last_updated_timestamp"),
        user_id: row.get("user_id"),
        description: row.get("description"),
        latest_versions: Vec::new(),
        tags: Vec::new(),
        aliases: Vec::new(),
    }
}

fn version_from_row(row: &DbRow) -> ModelVersion {
    ModelVersion {
        name: row.get("name"),
        version: row.get::<i64, _>("version").to_string(),
        creation_timestamp: row.get("creation_timestamp"),
        last_updated_timestamp: row.get("last_updated_timestamp"),
        user_id: row.get("user_id"),
        current_stage: Stage::parse(row.get::<&str, _>("current_stage")).unwrap_or(Stage::None),
        description: row.get("description"),
        source: row.get("source"),
        run_id: row.get("run_id"),
        status: "READY",
        tags: Vec::new(),
        run_link: row.get("run_link"),
        aliases: Vec::new(),
        model_id: row.get("model_id"),
        storage_location: row.get("storage_location"),
    }
}

fn model_not_found(name: &str) -> Error {
    Error::not_found(format!("Registered Model with name={name} not found"))
}

fn version_not_found(name: &str, version: &str) -> Error {
    Error::not_found(format!("Model Version (name={name}, version={version}) not found"))
}

fn version_column(key: &str) -> Result<&'static str> {
    Ok(match key {
        "name" => "mv.name",
        "run_id" => "mv.run_id",
        "source_path" | "source" => "mv.source",
        "version_number" | "version" => "mv.version",
        "creation_timestamp" => "mv.creation_timestamp",
        "last_updated_timestamp" => "mv.last_updated_timestamp",
        "current_stage" => "mv.current_stage",
        other => {
            return Err(Error::invalid(format!(
                "Invalid attribute key '{other}' for model versions."
            )));
        }
    })
}

fn model_column(key: &str) -> Result<&'static str> {
    Ok(match key {
        "name" => "rm.name",
        "creation_timestamp" => "rm.creation_timestamp",
        "last_updated_timestamp" => "rm.last_updated_timestamp",
        other => {
            return Err(Error::invalid(format!(
                "Invalid attribute key '{other}' for registered models."
            )));
        }
    })
}

impl Store {
    async fn model_row(&self, name: &str) -> Result<RegisteredModel> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MODEL_COLUMNS} FROM registered_models rm WHERE rm.name = $1"
        )))
        .bind(name)
        .fetch_optional(self.writer())
        .await
        .map_err(db_err)?
        .ok_or_else(|| model_not_found(name))?;
        Ok(model_from_row(&row))
    }

    /// Attaches tags and aliases to versions.
    async fn fill_versions(&self, versions: &mut [ModelVersion]) -> Result<()> {
        if versions.is_empty() {
            return Ok(());
        }
        let index: HashMap<(String, String), usize> = versions
            .iter()
            .enumerate()
            .map(|(i, v)| ((v.name.clone(), v.version.clone()), i))
            .collect();
        let names: Vec<Arg> = {
            let mut n: Vec<String> = versions.iter().map(|v| v.name.clone()).collect();
            n.sort();
            n.dedup();
            n.into_iter().map(Arg::Text).collect()
        };
        let mut sql = Sql::new("SELECT name, version, key, value FROM model_version_tags WHERE name IN ");
        sql.list(names.clone()).push(" ORDER BY key");
        for row in sql.build().fetch_all(self.writer()).await.map_err(db_err)? {
            if let Some(i) = index.get(&(row.get(0), row.get::<i64, _>(1).to_string())) {
                versions[*i]
                    .tags
                    .push(Tag::new(row.get::<String, _>(2), row.get::<String, _>(3)));
            }
        }
        let mut sql = Sql::new("SELECT name, version, alias FROM registered_model_aliases WHERE name IN ");
        sql.list(names).push(" ORDER BY alias");
        for row in sql.build().fetch_all(self.writer()).await.map_err(db_err)? {
            if let Some(i) = index.get(&(row.get(0), row.get::<i64, _>(1).to_string())) {
                versions[*i].aliases.push(row.get(2));
            }
        }
        Ok(())
    }

    async fn latest_versions(&self, names: &[String], stages: &[Stage]) -> Result<Vec<ModelVersion>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions mv WHERE mv.version = (SELECT MAX(v2.version) FROM model_versions v2 \
             WHERE v2.name = mv.name AND v2.current_stage = mv.current_stage) AND mv.name IN "
        ));
        sql.list(names.iter().map(|n| Arg::Text(n.clone())));
        if !stages.is_empty() {
            sql.push(" AND mv.current_stage IN ")
                .list(stages.iter().map(|s| Arg::Text(s.as_str().to_string())));
        }
        sql.push(" ORDER BY mv.name, mv.version");
        let rows = sql.build().fetch_all(self.writer()).await.map_err(db_err)?;
        let mut versions: Vec<ModelVersion> = rows.iter().map(version_from_row).collect();
        self.fill_versions(&mut versions).await?;
        // Registered models list their latest versions without aliases, as MLflow does.
        Ok(versions)
    }

    /// Attaches tags, aliases and latest versions to registered models.
    async fn fill_models(&self, models: &mut [RegisteredModel]) -> Result<()> {
        if models.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = models.iter().map(|m| m.name.clone()).collect();
        let index: HashMap<String, usize> = names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
        let mut sql = Sql::new("SELECT name, key, value FROM registered_model_tags WHERE name IN ");
        sql.list(names.iter().map(|n| Arg::Text(n.clone())))
            .push(" ORDER BY key");
        for row in sql.build().fetch_all(self.writer()).await.map_err(db_err)? {
            models[index[row.get::<&str, _>(0)]]
                .tags
                .push(Tag::new(row.get::<String, _>(1), row.get::<String, _>(2)));
        }
        let mut sql = Sql::new("SELECT name, alias, version FROM registered_model_aliases WHERE name IN ");
        sql.list(names.iter().map(|n| Arg::Text(n.clone())))
            .push(" ORDER BY alias");
        for row in sql.build().fetch_all(self.writer()).await.map_err(db_err)? {
            models[index[row.get::<&str, _>(0)]].aliases.push(Alias {
                alias: row.get(1),
                version: row.get::<i64, _>(2).to_string(),
            });
        }
        for mut v in self.latest_versions(&names, &[]).await? {
            v.aliases.clear();
            models[index[v.name.as_str()]].latest_versions.push(v);
        }
        Ok(())
    }

    async fn version_row(&self, name: &str, version: &str) -> Result<ModelVersion> {
        let number = parse_version(version).map_err(|_| version_not_found(name, version))?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions mv WHERE mv.name = $1 AND mv.version = $2"
        )))
        .bind(name)
        .bind(number)
        .fetch_optional(self.writer())
        .await
        .map_err(db_err)?
        .ok_or_else(|| version_not_found(name, version))?;
        Ok(version_from_row(&row))
    }

    async fn full_version(&self, name: &str, version: &str) -> Result<ModelVersion> {
        let mut v = [self.version_row(name, version).await?];
        self.fill_versions(&mut v).await?;
        let [v] = v;
        Ok(v)
    }

    async fn touch_model(&self, tx: &mut <Db as sqlx::Database>::Connection, name: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE registered_models SET last_updated_timestamp = $1 WHERE name = $2")
            .bind(now)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

/// The WHERE clause of a model-version search over `model_versions mv`.
fn version_clause(sql: &mut Sql, c: &Clause) -> Result<()> {
    match c.entity {
        Entity::Attribute => {
            let column = version_column(&c.key)?;
            if column == "mv.version" {
                let value = match &c.value {
                    Value::Str(s) => Value::Num(parse_version(s)? as f64),
                    v => v.clone(),
                };
                compare(sql, column, c.op, &value)
            } else {
                compare(sql, column, c.op, &c.value)
            }
        }
        Entity::Tag => {
            // See PROMPT_TAG: `!= 'true'` on it means "no such tag with that value".
            let prompt = c.op == Comparator::Ne && c.key == PROMPT_TAG;
            let op = if prompt { Comparator::Eq } else { c.op };
            push_exists(sql, c.op == Comparator::IsNull || prompt, |sql| {
                sql.push(
                    "FROM model_version_tags kv WHERE kv.name = mv.name AND kv.version = mv.version AND kv.key = ",
                )
                .text_arg(&c.key);
                if !matches!(op, Comparator::IsNull | Comparator::IsNotNull) {
                    sql.push(" AND ");
                    compare(sql, "kv.value", op, &c.value)?;
                }
                Ok(())
            })
        }
        _ => Err(Error::invalid(format!(
            "Invalid filter entity for model versions: {}",
            c.entity.prefix()
        ))),
    }
}

fn push_orders(
    sql: &mut Sql,
    orders: &[OrderBy],
    column: fn(&str) -> Result<&'static str>,
    tiebreak: &str,
) -> Result<()> {
    sql.push(" ORDER BY ");
    for o in orders {
        order_term(sql, column(&o.key)?, o.ascending);
        sql.push(", ");
    }
    sql.push(tiebreak);
    Ok(())
}

#[async_trait]
impl RegistryStore for Store {
    async fn create_registered_model(
        &self,
        name: &str,
        tags: &[Tag],
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        mlp_store_sql::timed("create_registered_model", async move {
        mlp_core::validation::validate_model_name(name)?;
        let now = now_ms();
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        let res = sqlx::query(
            "INSERT INTO registered_models (name, creation_timestamp, last_updated_timestamp, description) VALUES ($1, $2, $3, $4)",
        )
        .bind(name)
        .bind(now)
        .bind(now)
        .bind(description)
        .execute(&mut *tx)
        .await;
        match res {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::already_exists(format!(
                    "Registered Model (name={name}) already exists."
                )));
            }
            Err(e) => return Err(db_err(e)),
        }
        for t in tags {
            sqlx::query("INSERT INTO registered_model_tags (name, key, value) VALUES ($1, $2, $3) ON CONFLICT (name, key) DO UPDATE SET value = excluded.value")
                .bind(name)
                .bind(&t.key)
                .bind(&t.value)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        self.get_registered_model(name).await
        })
        .await
    }

    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        mlp_store_sql::timed("get_registered_model", async move {
            let mut m = [self.model_row(name).await?];
            self.fill_models(&mut m).await?;
            let [m] = m;
            Ok(m)
        })
        .await
    }

    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel> {
        mlp_store_sql::timed("rename_registered_model", async move {
            mlp_core::validation::validate_model_name(new_name)?;
            self.model_row(name).await?;
            let mut tx = self.writer().begin().await.map_err(db_err)?;
            let res =
                sqlx::query("UPDATE registered_models SET name = $1, last_updated_timestamp = $2 WHERE name = $3")
                    .bind(new_name)
                    .bind(now_ms())
                    .bind(name)
                    .execute(&mut *tx)
                    .await;
            match res {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Err(Error::already_exists(format!(
                        "Registered Model (name={new_name}) already exists."
                    )));
                }
                Err(e) => return Err(db_err(e)),
            }
            tx.commit().await.map_err(db_err)?;
            self.get_registered_model(new_name).await
        })
        .await
    }

    async fn update_registered_model(&self, name: &str, description: Option<&str>) -> Result<RegisteredModel> {
        mlp_store_sql::timed("update_registered_model", async move {
            self.model_row(name).await?;
            sqlx::query("UPDATE registered_models SET description = $1, last_updated_timestamp = $2 WHERE name = $3")
                .bind(description)
                .bind(now_ms())
                .bind(name)
                .execute(self.writer())
                .await
                .map_err(db_err)?;
            self.get_registered_model(name).await
        })
        .await
    }

    async fn delete_registered_model(&self, name: &str) -> Result<()> {
        mlp_store_sql::timed("delete_registered_model", async move {
            let res = sqlx::query("DELETE FROM registered_models WHERE name = $1")
                .bind(name)
                .execute(self.writer())
                .await
                .map_err(db_err)?;
            if res.rows_affected() == 0 {
                return Err(model_not_found(name));
            }
            Ok(())
        })
        .await
    }

    async fn search_registered_models(&self, q: &RegistrySearch) -> Result<Page<RegisteredModel>> {
        mlp_store_sql::timed("search_registered_models", async move {
            mlp_core::validation::validate_order_by_terms(q.order_by.len())?;
            let mut sql = Sql::new(&format!("SELECT {MODEL_COLUMNS} FROM registered_models rm WHERE 1 = 1"));
            for c in &q.filter {
                sql.push(" AND ");
                match c.entity {
                    Entity::Attribute => compare(&mut sql, model_column(&c.key)?, c.op, &c.value)?,
                    // The client appends `tags.`mlflow.prompt.is_prompt` != 'true'` to every search;
                    // MLflow reads it as "not a prompt", which models without the tag are too.
                    Entity::Tag if c.op == Comparator::Ne && c.key == PROMPT_TAG => {
                        push_exists(&mut sql, true, |sql| {
                            sql.push("FROM registered_model_tags kv WHERE kv.name = rm.name AND kv.key = ")
                                .text_arg(&c.key)
                                .push(" AND ");
                            compare(sql, "kv.value", Comparator::Eq, &c.value)
                        })?;
                    }
                    Entity::Tag => kv_clause(&mut sql, "registered_model_tags", "name", "rm.name", c)?,
                    _ => {
                        return Err(Error::invalid(format!(
                            "Invalid filter entity for registered models: {}",
                            c.entity.prefix()
                        )));
                    }
                }
            }
            push_orders(&mut sql, &q.order_by, model_column, "rm.name ASC")?;
            sql.push(" LIMIT ")
                .arg(Arg::Int(q.page.limit as i64 + 1))
                .push(" OFFSET ")
                .arg(Arg::Int(q.page.offset as i64));
            let rows = sql
                .build()
                .fetch_all(self.writer())
                .await
                .map_err(|e| self.search_err(e))?;
            let mut items: Vec<RegisteredModel> = rows.iter().map(model_from_row).collect();
            let has_more = items.len() as u64 > q.page.limit;
            items.truncate(q.page.limit as usize);
            self.fill_models(&mut items).await?;
            Ok(Page { items, has_more })
        })
        .await
    }

    async fn get_latest_versions(&self, name: &str, stages: &[Stage]) -> Result<Vec<ModelVersion>> {
        mlp_store_sql::timed("get_latest_versions", async move {
            self.model_row(name).await?;
            self.latest_versions(&[name.to_string()], stages).await
        })
        .await
    }

    async fn set_registered_model_tag(&self, name: &str, tag: &Tag) -> Result<()> {
        mlp_store_sql::timed("set_registered_model_tag", async move {
        self.model_row(name).await?;
        let now = now_ms();
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        sqlx::query("INSERT INTO registered_model_tags (name, key, value) VALUES ($1, $2, $3) ON CONFLICT (name, key) DO UPDATE SET value = excluded.value")
            .bind(name)
            .bind(&tag.key)
            .bind(&tag.value)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        self.touch_model(&mut tx, name, now).await?;
        tx.commit().await.map_err(db_err)
        })
        .await
    }

    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        mlp_store_sql::timed("delete_registered_model_tag", async move {
            self.model_row(name).await?;
            let res = sqlx::query("DELETE FROM registered_model_tags WHERE name = $1 AND key = $2")
                .bind(name)
                .bind(key)
                .execute(self.writer())
                .await
                .map_err(db_err)?;
            if res.rows_affected() == 0 {
                return Err(Error::not_found(format!(
                    "No tag with key '{key}' on registered model '{name}'"
                )));
            }
            Ok(())
        })
        .await
    }

    async fn set_alias(&self, name: &str, alias: &str, version: &str) -> Result<()> {
        mlp_store_sql::timed("set_alias", async move {
        self.version_row(name, version).await?;
        let now = now_ms();
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        sqlx::query("INSERT INTO registered_model_aliases (name, alias, version) VALUES ($1, $2, $3) ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version")
            .bind(name)
            .bind(alias)
            .bind(parse_version(version)?)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        self.touch_model(&mut tx, name, now).await?;
        tx.commit().await.map_err(db_err)
        })
        .await
    }

    async fn delete_alias(&self, name: &str, alias: &str) -> Result<()> {
        mlp_store_sql::timed("delete_alias", async move {
            self.model_row(name).await?;
            let res = sqlx::query("DELETE FROM registered_model_aliases WHERE name = $1 AND alias = $2")
                .bind(name)
                .bind(alias)
                .execute(self.writer())
                .await
                .map_err(db_err)?;
            if res.rows_affected() == 0 {
                return Err(Error::not_found(format!("Registered model alias {alias} not found.")));
            }
            Ok(())
        })
        .await
    }

    async fn get_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        mlp_store_sql::timed("get_version_by_alias", async move {
            self.model_row(name).await?;
            let version: Option<i64> =
                sqlx::query_scalar("SELECT version FROM registered_model_aliases WHERE name = $1 AND alias = $2")
                    .bind(name)
                    .bind(alias)
                    .fetch_optional(self.writer())
                    .await
                    .map_err(db_err)?;
            // MLflow answers a missing alias with INVALID_PARAMETER_VALUE, and clients rely on the code.
            let version =
                version.ok_or_else(|| Error::invalid(format!("Registered model alias {alias} not found.")))?;
            self.full_version(name, &version.to_string()).await
        })
        .await
    }

    async fn create_model_version(&self, req: &CreateModelVersion) -> Result<ModelVersion> {
        mlp_store_sql::timed("create_model_version", async move {
        self.model_row(&req.name).await?;
        // `models:/m-<id>` names a logged model: resolve where its files are and which run made it.
        let logged_model_id = req.model_id.clone().filter(|m| !m.is_empty()).or_else(|| {
            req.source
                .strip_prefix("models:/")
                .filter(|r| r.starts_with("m-") && !r.contains('/'))
                .map(str::to_string)
        });
        let (storage_location, run_id) = match &logged_model_id {
            Some(id) => {
                let row = sqlx::query("SELECT artifact_uri, source_run_id FROM logged_models WHERE model_id = $1")
                    .bind(id)
                    .fetch_optional(self.writer())
                    .await
                    .map_err(db_err)?
                    .ok_or_else(|| Error::not_found(format!("Logged model with ID '{id}' not found.")))?;
                let source_run: String = row.get(1);
                (
                    row.get::<String, _>(0),
                    req.run_id.clone().filter(|r| !r.is_empty()).unwrap_or(source_run),
                )
            }
            None => (req.source.clone(), req.run_id.clone().unwrap_or_default()),
        };
        let now = now_ms();
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        let version: i64 = sqlx::query_scalar(
            "UPDATE registered_models SET last_version = last_version + 1, last_updated_timestamp = $1 WHERE name = $2 RETURNING last_version",
        )
        .bind(now)
        .bind(&req.name)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO model_versions (name, version, creation_timestamp, last_updated_timestamp, description, current_stage, source, run_id, run_link, status, storage_location, model_id) \
             VALUES ($1, $2, $3, $4, $5, 'None', $6, $7, $8, 'READY', $9, $10)",
        )
        .bind(&req.name)
        .bind(version)
        .bind(now)
        .bind(now)
        .bind(req.description.as_deref().unwrap_or(""))
        .bind(&req.source)
        .bind(&run_id)
        .bind(req.run_link.as_deref().unwrap_or(""))
        .bind(&storage_location)
        .bind(&logged_model_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        for t in &req.tags {
            sqlx::query("INSERT INTO model_version_tags (name, version, key, value) VALUES ($1, $2, $3, $4) ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value")
                .bind(&req.name)
                .bind(version)
                .bind(&t.key)
                .bind(&t.value)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        if let Some(id) = &logged_model_id {
            // Record the registration on the logged model, as MLflow's server does.
            let existing: Option<String> = sqlx::query_scalar(
                "SELECT value FROM logged_model_tags WHERE model_id = $1 AND key = 'mlflow.modelVersions'",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
            let mut list: Vec<serde_json::Value> =
                existing.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default();
            list.push(serde_json::json!({ "name": req.name, "version": version }));
            sqlx::query("INSERT INTO logged_model_tags (model_id, key, value) VALUES ($1, 'mlflow.modelVersions', $2) ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value")
                .bind(id)
                .bind(serde_json::Value::Array(list).to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        self.full_version(&req.name, &version.to_string()).await
        })
        .await
    }

    async fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion> {
        mlp_store_sql::timed(
            "get_model_version",
            async move { self.full_version(name, version).await },
        )
        .await
    }

    async fn update_model_version(&self, name: &str, version: &str, description: Option<&str>) -> Result<ModelVersion> {
        mlp_store_sql::timed("update_model_version", async move {
        self.version_row(name, version).await?;
        if let Some(d) = description {
            sqlx::query(
                "UPDATE model_versions SET description = $1, last_updated_timestamp = $2 WHERE name = $3 AND version = $4",
            )
            .bind(d)
            .bind(now_ms())
            .bind(name)
            .bind(parse_version(version)?)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        }
        self.full_version(name, version).await
        })
        .await
    }

    async fn delete_model_version(&self, name: &str, version: &str) -> Result<()> {
        mlp_store_sql::timed("delete_model_version", async move {
            self.version_row(name, version).await?;
            let now = now_ms();
            let mut tx = self.writer().begin().await.map_err(db_err)?;
            sqlx::query("DELETE FROM model_versions WHERE name = $1 AND version = $2")
                .bind(name)
                .bind(parse_version(version)?)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            self.touch_model(&mut tx, name, now).await?;
            tx.commit().await.map_err(db_err)
        })
        .await
    }

    async fn transition_stage(
        &self,
        name: &str,
        version: &str,
        stage: Stage,
        archive_existing: bool,
    ) -> Result<ModelVersion> {
        mlp_store_sql::timed("transition_stage", async move {
        self.version_row(name, version).await?;
        let number = parse_version(version)?;
        let now = now_ms();
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        if archive_existing && matches!(stage, Stage::Staging | Stage::Production) {
            sqlx::query("UPDATE model_versions SET current_stage = 'Archived', last_updated_timestamp = $1 WHERE name = $2 AND current_stage = $3 AND version != $4")
                .bind(now)
                .bind(name)
                .bind(stage.as_str())
                .bind(number)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        sqlx::query(
            "UPDATE model_versions SET current_stage = $1, last_updated_timestamp = $2 WHERE name = $3 AND version = $4",
        )
        .bind(stage.as_str())
        .bind(now)
        .bind(name)
        .bind(number)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.touch_model(&mut tx, name, now).await?;
        tx.commit().await.map_err(db_err)?;
        self.full_version(name, version).await
        })
        .await
    }

    async fn search_model_versions(&self, q: &RegistrySearch) -> Result<Page<ModelVersion>> {
        mlp_store_sql::timed("search_model_versions", async move {
            mlp_core::validation::validate_order_by_terms(q.order_by.len())?;
            let mut sql = Sql::new(&format!("SELECT {VERSION_COLUMNS} FROM model_versions mv WHERE 1 = 1"));
            for c in &q.filter {
                sql.push(" AND ");
                version_clause(&mut sql, c)?;
            }
            push_orders(
                &mut sql,
                &q.order_by,
                version_column,
                "mv.last_updated_timestamp DESC, mv.name ASC, mv.version DESC",
            )?;
            sql.push(" LIMIT ")
                .arg(Arg::Int(q.page.limit as i64 + 1))
                .push(" OFFSET ")
                .arg(Arg::Int(q.page.offset as i64));
            let rows = sql
                .build()
                .fetch_all(self.writer())
                .await
                .map_err(|e| self.search_err(e))?;
            let mut items: Vec<ModelVersion> = rows.iter().map(version_from_row).collect();
            let has_more = items.len() as u64 > q.page.limit;
            items.truncate(q.page.limit as usize);
            self.fill_versions(&mut items).await?;
            Ok(Page { items, has_more })
        })
        .await
    }

    async fn set_model_version_tag(&self, name: &str, version: &str, tag: &Tag) -> Result<()> {
        mlp_store_sql::timed("set_model_version_tag", async move {
        self.version_row(name, version).await?;
        sqlx::query("INSERT INTO model_version_tags (name, version, key, value) VALUES ($1, $2, $3, $4) ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value")
            .bind(name)
            .bind(parse_version(version)?)
            .bind(&tag.key)
            .bind(&tag.value)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        Ok(())
        })
        .await
    }

    async fn delete_model_version_tag(&self, name: &str, version: &str, key: &str) -> Result<()> {
        mlp_store_sql::timed("delete_model_version_tag", async move {
            self.version_row(name, version).await?;
            let res = sqlx::query("DELETE FROM model_version_tags WHERE name = $1 AND version = $2 AND key = $3")
                .bind(name)
                .bind(parse_version(version)?)
                .bind(key)
                .execute(self.writer())
                .await
                .map_err(db_err)?;
            if res.rows_affected() == 0 {
                return Err(Error::not_found(format!(
                    "No tag with key '{key}' on model version {name}/{version}"
                )));
            }
            Ok(())
        })
        .await
    }
}
