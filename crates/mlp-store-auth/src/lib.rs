//! One implementation of [`mlp_core::auth::AuthStore`] for both SQL back-ends. The statements are
//! plain enough to be the same text on SQLite and PostgreSQL except for placeholders, so they
//! are written once with PostgreSQL's `$N` and rewritten to SQLite's `?N` (same index
//! semantics). A macro rather than generic code: sqlx's executor bounds for a generic database
//! cost more than the statements themselves, and the macro expands where the pool types are
//! concrete.

/// The statement for the dialect: `$N` placeholders become `?N` on SQLite.
pub fn dialect(sql: &str, sqlite: bool) -> String {
    if sqlite { sql.replace('$', "?") } else { sql.to_string() }
}

/// Implements `AuthStore` for `$store`, reading through `self.$reader` and writing through
/// `self.$writer`. Expects `db_err(sqlx::Error) -> mlp_core::Error` and
/// `is_unique_violation(&sqlx::Error) -> bool` in scope at the call site.
#[macro_export]
macro_rules! impl_auth_store {
    ($store:ty, row = $row:ty, reader = $reader:ident, writer = $writer:ident, sqlite = $sqlite:expr) => {
        const _: () = {
            use mlp_core::auth::{
                AuthStore, Grant, JobToken, Permission, ResourceKind, Role, RoleAssignment, RolePermission, Token, User,
            };
            use mlp_core::{Error, Result};
            use sqlx::Row;

            fn q(sql: &'static str) -> sqlx::AssertSqlSafe<String> {
                sqlx::AssertSqlSafe($crate::dialect(sql, $sqlite))
            }

            fn user_of(r: &$row) -> Result<User> {
                Ok(User {
                    id: r.try_get("id").map_err(db_err)?,
                    username: r.try_get("username").map_err(db_err)?,
                    password_hash: r.try_get("password_hash").map_err(db_err)?,
                    is_admin: r.try_get("is_admin").map_err(db_err)?,
                })
            }

            fn token_of(r: &$row) -> Result<Token> {
                Ok(Token {
                    id: r.try_get("token_id").map_err(db_err)?,
                    user_id: r.try_get("user_id").map_err(db_err)?,
                    name: r.try_get("name").map_err(db_err)?,
                    created_at: r.try_get("created_at").map_err(db_err)?,
                    expires_at: r.try_get("expires_at").map_err(db_err)?,
                })
            }

            fn role_permission_of(r: &$row) -> Result<RolePermission> {
                let permission: String = r.try_get("permission").map_err(db_err)?;
                Ok(RolePermission {
                    id: r.try_get("id").map_err(db_err)?,
                    role_id: r.try_get("role_id").map_err(db_err)?,
                    resource_type: r.try_get("resource_type").map_err(db_err)?,
                    resource_pattern: r.try_get("resource_pattern").map_err(db_err)?,
                    permission: Permission::parse(&permission)?,
                })
            }

            fn no_role(role_id: i64) -> Error {
                Error::not_found(format!("Role with id={role_id} not found"))
            }

            fn no_role_permission(id: i64) -> Error {
                Error::not_found(format!("Role permission with id={id} not found"))
            }

            impl $store {
                /// Roles from `rows` (id, name, workspace, description) with their permissions,
                /// read in one more query.
                async fn roles_with_permissions(&self, rows: Vec<$row>) -> Result<Vec<Role>> {
                    let mut roles = Vec::with_capacity(rows.len());
                    for r in &rows {
                        roles.push(Role {
                            id: r.try_get("id").map_err(db_err)?,
                            name: r.try_get("name").map_err(db_err)?,
                            workspace: r.try_get("workspace").map_err(db_err)?,
                            description: r.try_get("description").map_err(db_err)?,
                            permissions: Vec::new(),
                        });
                    }
                    if roles.is_empty() {
                        return Ok(roles);
                    }
                    let perms = sqlx::query(q(
                        "SELECT id, role_id, resource_type, resource_pattern, permission FROM auth_role_permissions ORDER BY id",
                    ))
                    .fetch_all(&self.$reader)
                    .await
                    .map_err(db_err)?;
                    for p in &perms {
                        let p = role_permission_of(p)?;
                        if let Some(role) = roles.iter_mut().find(|r| r.id == p.role_id) {
                            role.permissions.push(p);
                        }
                    }
                    Ok(roles)
                }

                async fn role_rows(&self, sql: &'static str, id: Option<i64>) -> Result<Vec<Role>> {
                    let mut query = sqlx::query(q(sql));
                    if let Some(id) = id {
                        query = query.bind(id);
                    }
                    let rows = query.fetch_all(&self.$reader).await.map_err(db_err)?;
                    self.roles_with_permissions(rows).await
                }
            }

            fn no_user(username: &str) -> Error {
                Error::not_found(format!("User with username={username} not found"))
            }

            #[async_trait::async_trait]
            impl AuthStore for $store {
                async fn create_user(&self, username: &str, password_hash: &str, is_admin: bool) -> Result<User> {
                    let res = sqlx::query(q(
                        "INSERT INTO auth_users (username, password_hash, is_admin) VALUES ($1, $2, $3)",
                    ))
                    .bind(username)
                    .bind(password_hash)
                    .bind(is_admin)
                    .execute(&self.$writer)
                    .await;
                    match res {
                        Ok(_) => {}
                        Err(e) if is_unique_violation(&e) => {
                            return Err(Error::already_exists(format!(
                                "User (username={username}) already exists."
                            )));
                        }
                        Err(e) => return Err(db_err(e)),
                    }
                    let row = sqlx::query(q("SELECT * FROM auth_users WHERE username = $1"))
                        .bind(username)
                        .fetch_one(&self.$writer)
                        .await
                        .map_err(db_err)?;
                    user_of(&row)
                }

                async fn get_user(&self, username: &str) -> Result<User> {
                    let row = sqlx::query(q("SELECT * FROM auth_users WHERE username = $1"))
                        .bind(username)
                        .fetch_optional(&self.$reader)
                        .await
                        .map_err(db_err)?;
                    row.as_ref().map(user_of).unwrap_or_else(|| Err(no_user(username)))
                }

                async fn get_user_by_id(&self, id: i64) -> Result<User> {
                    let row = sqlx::query(q("SELECT * FROM auth_users WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.$reader)
                        .await
                        .map_err(db_err)?;
                    row.as_ref()
                        .map(user_of)
                        .unwrap_or_else(|| Err(Error::not_found(format!("User with id={id} not found"))))
                }

                async fn list_users(&self) -> Result<Vec<User>> {
                    let rows = sqlx::query(q("SELECT * FROM auth_users ORDER BY id"))
                        .fetch_all(&self.$reader)
                        .await
                        .map_err(db_err)?;
                    rows.iter().map(user_of).collect()
                }

                async fn update_user(&self, username: &str, password_hash: Option<&str>, is_admin: Option<bool>) -> Result<()> {
                    let res = sqlx::query(q(
                        "UPDATE auth_users SET password_hash = COALESCE($1, password_hash), \
                         is_admin = COALESCE($2, is_admin) WHERE username = $3",
                    ))
                    .bind(password_hash)
                    .bind(is_admin)
                    .bind(username)
                    .execute(&self.$writer)
                    .await
                    .map_err(db_err)?;
                    if res.rows_affected() == 0 {
                        return Err(no_user(username));
                    }
                    Ok(())
                }

                async fn delete_user(&self, username: &str) -> Result<()> {
                    // Grants and tokens go by ON DELETE CASCADE.
                    let res = sqlx::query(q("DELETE FROM auth_users WHERE username = $1"))
                        .bind(username)
                        .execute(&self.$writer)
                        .await
                        .map_err(db_err)?;
                    if res.rows_affected() == 0 {
                        return Err(no_user(username));
                    }
                    Ok(())
                }

                async fn put_grant(&self, g: &Grant, replace: bool) -> Result<()> {
                    let sql = if replace {
                        "INSERT INTO auth_grants (user_id, resource_type, resource_id, permission) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, resource_type, resource_id) \
                         DO UPDATE SET permission = excluded.permission"
                    } else {
                        "INSERT INTO auth_grants (user_id, resource_type, resource_id, permission) \
                         VALUES ($1, $2, $3, $4)"
                    };
                    let res = sqlx::query(q(sql))
                        .bind(g.user_id)
                        .bind(g.kind.as_str())
                        .bind(&g.resource_id)
                        .bind(g.permission.as_str())
                        .execute(&self.$writer)
                        .await;
                    match res {
                        Ok(_) => Ok(()),
                        Err(e) if is_unique_violation(&e) => Err(Error::already_exists(format!(
                            "Permission for user id={} on resource_type={}, resource_id={} already exists.",
                            g.user_id,
                            g.kind.as_str(),
                            g.resource_id
                        ))),
                        Err(e) if is_foreign_key_violation(&e) => {
                            Err(Error::not_found(format!("User with id={} not found", g.user_id)))
                        }
                        Err(e) => Err(db_err(e)),
                    }
                }

                async fn delete_grant(&self, user_id: i64, kind: ResourceKind, resource_id: &str) -> Result<()> {
                    let res = sqlx::query(q(
                        "DELETE FROM auth_grants WHERE user_id = $1 AND resource_type = $2 AND resource_id = $3",
                    ))
                    .bind(user_id)
                    .bind(kind.as_str())
                    .bind(resource_id)
                    .execute(&self.$writer)
                    .await
                    .map_err(db_err)?;
                    if res.rows_affected() == 0 {
                        return Err(Error::not_found(format!(
                            "Permission for user id={user_id} on resource_type={}, resource_id={resource_id} not found.",
                            kind.as_str()
                        )));
                    }
                    Ok(())
                }

                async fn get_grant(&self, user_id: i64, kind: ResourceKind, resource_id: &str) -> Result<Option<Permission>> {
                    let p: Option<String> = sqlx::query_scalar(q(
                        "SELECT permission FROM auth_grants WHERE user_id = $1 AND resource_type = $2 AND resource_id = $3",
                    ))
                    .bind(user_id)
                    .bind(kind.as_str())
                    .bind(resource_id)
                    .fetch_optional(&self.$reader)
                    .await
                    .map_err(db_err)?;
                    p.as_deref().map(Permission::parse).transpose()
                }

                async fn list_grants(&self, user_id: i64) -> Result<Vec<Grant>> {
                    let rows = sqlx::query(q(
                        "SELECT resource_type, resource_id, permission FROM auth_grants WHERE user_id = $1 \
                         ORDER BY resource_type, resource_id",
                    ))
                    .bind(user_id)
                    .fetch_all(&self.$reader)
                    .await
                    .map_err(db_err)?;
                    rows.iter()
                        .map(|r| {
                            let kind: String = r.try_get("resource_type").map_err(db_err)?;
                            let permission: String = r.try_get("permission").map_err(db_err)?;
                            Ok(Grant {
                                user_id,
                                kind: ResourceKind::parse(&kind)?,
                                resource_id: r.try_get("resource_id").map_err(db_err)?,
                                permission: Permission::parse(&permission)?,
                            })
                        })
                        .collect()
                }

                async fn rename_resource(&self, kind: ResourceKind, old_id: &str, new_id: &str) -> Result<()> {
                    let mut tx = self.$writer.begin().await.map_err(db_err)?;
                    // A grant left on the new name by a deleted model of that name must not
                    // collide with (or add to) the renamed model's grants.
                    sqlx::query(q("DELETE FROM auth_grants WHERE resource_type = $1 AND resource_id = $2"))
                        .bind(kind.as_str())
                        .bind(new_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    sqlx::query(q(
                        "UPDATE auth_grants SET resource_id = $1 WHERE resource_type = $2 AND resource_id = $3",
                    ))
                    .bind(new_id)
                    .bind(kind.as_str())
                    .bind(old_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    tx.commit().await.map_err(db_err)
                }

                async fn delete_resource_grants(&self, kind: ResourceKind, resource_id: &str) -> Result<()> {
                    sqlx::query(q("DELETE FROM auth_grants WHERE resource_type = $1 AND resource_id = $2"))
                        .bind(kind.as_str())
                        .bind(resource_id)
                        .execute(&self.$writer)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn create_token(&self, t: &Token, secret_hash: &str) -> Result<()> {
                    let res = sqlx::query(q(
                        "INSERT INTO auth_tokens (id, user_id, name, secret_hash, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    ))
                    .bind(&t.id)
                    .bind(t.user_id)
                    .bind(&t.name)
                    .bind(secret_hash)
                    .bind(t.created_at)
                    .bind(t.expires_at)
                    .execute(&self.$writer)
                    .await;
                    match res {
                        Ok(_) => Ok(()),
                        Err(e) if is_foreign_key_violation(&e) => {
                            Err(Error::not_found(format!("User with id={} not found", t.user_id)))
                        }
                        Err(e) => Err(db_err(e)),
                    }
                }

                async fn list_tokens(&self, user_id: i64) -> Result<Vec<Token>> {
                    let rows = sqlx::query(q(
                        "SELECT id AS token_id, user_id, name, created_at, expires_at FROM auth_tokens \
                         WHERE user_id = $1 ORDER BY created_at, id",
                    ))
                    .bind(user_id)
                    .fetch_all(&self.$reader)
                    .await
                    .map_err(db_err)?;
                    rows.iter().map(token_of).collect()
                }

                async fn find_token(&self, secret_hash: &str) -> Result<Option<(Token, User)>> {
                    let row = sqlx::query(q(
                        "SELECT t.id AS token_id, t.user_id, t.name, t.created_at, t.expires_at, \
                         u.id, u.username, u.password_hash, u.is_admin \
                         FROM auth_tokens t JOIN auth_users u ON u.id = t.user_id WHERE t.secret_hash = $1",
                    ))
                    .bind(secret_hash)
                    .fetch_optional(&self.$reader)
                    .await
                    .map_err(db_err)?;
                    match row {
                        None => Ok(None),
                        Some(r) => Ok(Some((token_of(&r)?, user_of(&r)?))),
                    }
                }

                async fn delete_token(&self, user_id: i64, token_id: &str) -> Result<()> {
                    let res = sqlx::query(q("DELETE FROM auth_tokens WHERE id = $1 AND user_id = $2"))
                        .bind(token_id)
                        .bind(user_id)
                        .execute(&self.$writer)
                        .await
                        .map_err(db_err)?;
                    if res.rows_affected() == 0 {
                        return Err(Error::not_found(format!("Token '{token_id}' not found")));
                    }
                    Ok(())
                }

                async fn create_job_token(&self, t: &JobToken, secret_hash: &str) -> Result<()> {
                    sqlx::query(q(
                        "INSERT INTO auth_job_tokens (secret_hash, job_id, run_id, experiment_id, expires_at, owner) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    ))
                    .bind(secret_hash)
                    .bind(&t.job_id)
                    .bind(&t.run_id)
                    .bind(&t.experiment_id)
                    .bind(t.expires_at)
                    .bind(&t.owner)
                    .execute(&self.$writer)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                }

                async fn find_job_token(&self, secret_hash: &str) -> Result<Option<JobToken>> {
                    let row = sqlx::query(q(
                        "SELECT job_id, run_id, experiment_id, expires_at, owner FROM auth_job_tokens WHERE secret_hash = $1",
                    ))
                    .bind(secret_hash)
                    .fetch_optional(&self.$reader)
                    .await
                    .map_err(db_err)?;
                    row.map(|r| {
                        Ok(JobToken {
                            job_id: r.try_get("job_id").map_err(db_err)?,
                            run_id: r.try_get("run_id").map_err(db_err)?,
                            experiment_id: r.try_get("experiment_id").map_err(db_err)?,
                            expires_at: r.try_get("expires_at").map_err(db_err)?,
                            owner: r.try_get("owner").map_err(db_err)?,
                        })
                    })
                    .transpose()
                }

                async fn create_role(&self, name: &str, workspace: &str, description: Option<&str>) -> Result<Role> {
                    let res = sqlx::query(q(
                        "INSERT INTO auth_roles (name, workspace, description) VALUES ($1, $2, $3)",
                    ))
                    .bind(name)
                    .bind(workspace)
                    .bind(description)
                    .execute(&self.$writer)
                    .await;
                    match res {
                        Ok(_) => {}
                        Err(e) if is_unique_violation(&e) => {
                            return Err(Error::already_exists(format!(
                                "Role (name={name}, workspace={workspace}) already exists."
                            )));
                        }
                        Err(e) => return Err(db_err(e)),
                    }
                    let id: i64 = sqlx::query_scalar(q("SELECT id FROM auth_roles WHERE workspace = $1 AND name = $2"))
                        .bind(workspace)
                        .bind(name)
                        .fetch_one(&self.$writer)
                        .await
                        .map_err(db_err)?;
                    Ok(Role {
                        id,
                        name: name.to_string(),
                        workspace: workspace.to_string(),
                        description: description.map(str::to_string),
                        permissions: Vec::new(),
                    })
                }

                async fn get_role(&self, role_id: i64) -> Result<Role> {
                    self.role_rows("SELECT id, name, workspace, description FROM auth_roles WHERE id = $1", Some(role_id))
                        .await?
                        .pop()
                        .ok_or_else(|| no_role(role_id))
                }

                async fn list_roles(&self) -> Result<Vec<Role>> {
                    self.role_rows("SELECT id, name, workspace, description FROM auth_roles ORDER BY id", None)
                        .await
                }

                async fn update_role(&self, role_id: i64, name: Option<&str>, description: Option<&str>) -> Result<Role> {
                    let res = sqlx::query(q(
                        "UPDATE auth_roles SET name = COALESCE($1, name), description = COALESCE($2, description) WHERE id = $3",
                    ))
                    .bind(name)
                    .bind(description)
                    .bind(role_id)
                    .execute(&self.$writer)
                    .await;
                    match res {
                        Ok(r) if r.rows_affected() == 0 => return Err(no_role(role_id)),
                        Ok(_) => {}
                        Err(e) if is_unique_violation(&e) => {
                            let role = self.get_role(role_id).await?;
                            return Err(Error::already_exists(format!(
                                "Role with name={} already exists in workspace={}",
                                name.unwrap_or_default(),
                                role.workspace
                            )));
                        }
                        Err(e) => return Err(db_err(e)),
                    }
                    self.get_role(role_id).await
                }

                async fn delete_role(&self, role_id: i64) -> Result<()> {
                    // Permissions and assignments go by ON DELETE CASCADE.
                    let res = sqlx::query(q("DELETE FROM auth_roles WHERE id = $1"))
                        .bind(role_id)
                        .execute(&self.$writer)
                        .await
                        .map_err(db_err)?;
                    if res.rows_affected() == 0 {
                        return Err(no_role(role_id));
                    }
                    Ok(())
                }

                async fn add_role_permission(
                    &self,
                    role_id: i64,
                    resource_type: &str,
                    resource_pattern: &str,
                    permission: Permission,
                ) -> Result<RolePermission> {
                    let res = sqlx::query(q(
                        "INSERT INTO auth_role_permissions (role_id, resource_type, resource_pattern, permission) \
                         VALUES ($1, $2, $3, $4)",
                    ))
                    .bind(role_id)
                    .bind(resource_type)
                    .bind(resource_pattern)
                    .bind(permission.as_str())
                    .execute(&self.$writer)
                    .await;
                    match res {
                        Ok(_) => {}
                        Err(e) if is_unique_violation(&e) => {
                            return Err(Error::already_exists(format!(
                                "Role permission (role_id={role_id}, resource_type={resource_type}, resource_pattern={resource_pattern}) already exists."
                            )));
                        }
                        Err(e) if is_foreign_key_violation(&e) => return Err(no_role(role_id)),
                        Err(e) => return Err(db_err(e)),
                    }
                    let row = sqlx::query(q(
                        "SELECT id, role_id, resource_type, resource_pattern, permission FROM auth_role_permissions \
                         WHERE role_id = $1 AND resource_type = $2 AND resource_pattern = $3",
                    ))
                    .bind(role_id)
                    .bind(resource_type)
                    .bind(resource_pattern)
                    .fetch_one(&self.$writer)
                    .await
                    .map_err(db_err)?;
                    role_permission_of(&row)
                }

                async fn get_role_permission(&self, id: i64) -> Result<RolePermission> {
                    let row = sqlx::query(q(
                        "SELECT id, role_id, resource_type, resource_pattern, permission FROM auth_role_permissions WHERE id = $1",
                    ))
                    .bind(id)
                    .fetch_optional(&self.$writer)
                    .await
                    .map_err(db_err)?;
                    row.as_ref().map(role_permission_of).unwrap_or_else(|| Err(no_role_permission(id)))
                }

                async fn update_role_permission(&self, id: i64, permission: Permission) -> Result<RolePermission> {
                    let res = sqlx::query(q("UPDATE auth_role_permissions SET permission = $1 WHERE id = $2"))
                        .bind(permission.as_str())
                        .bind(id)
                        .execute(&self.$writer)
                        .await
                        .map_err(db_err)?;
                    if res.rows_affected() == 0 {
                        return Err(no_role_permission(id));
                    }
                    self.get_role_permission(id).await
                }

                async fn remove_role_permission(&self, id: i64) -> Result<()> {
                    let res = sqlx::query(q("DELETE FROM auth_role_permissions WHERE id = $1"))
                        .bind(id)
                        .execute(&self.$writer)
                        .await
                        .map_err(db_err)?;
                    if res.rows_affected() == 0 {
                        return Err(no_role_permission(id));
                    }
                    Ok(())
                }

                async fn assign_role(&self, user_id: i64, role_id: i64) -> Result<RoleAssignment> {
                    self.get_role(role_id).await?;
                    let res = sqlx::query(q("INSERT INTO auth_user_roles (user_id, role_id) VALUES ($1, $2)"))
                        .bind(user_id)
                        .bind(role_id)
                        .execute(&self.$writer)
                        .await;
                    match res {
                        Ok(_) => {}
                        Err(e) if is_unique_violation(&e) => {
                            return Err(Error::already_exists(format!(
                                "User role assignment (user_id={user_id}, role_id={role_id}) already exists"
                            )));
                        }
                        Err(e) if is_foreign_key_violation(&e) => {
                            return Err(Error::not_found(format!("User with id={user_id} not found")));
                        }
                        Err(e) => return Err(db_err(e)),
                    }
                    let id: i64 = sqlx::query_scalar(q("SELECT id FROM auth_user_roles WHERE user_id = $1 AND role_id = $2"))
                        .bind(user_id)
                        .bind(role_id)
                        .fetch_one(&self.$writer)
                        .await
                        .map_err(db_err)?;
                    Ok(RoleAssignment { id, user_id, role_id })
                }

                async fn unassign_role(&self, user_id: i64, role_id: i64) -> Result<()> {
                    let res = sqlx::query(q("DELETE FROM auth_user_roles WHERE user_id = $1 AND role_id = $2"))
                        .bind(user_id)
                        .bind(role_id)
                        .execute(&self.$writer)
                        .await
                        .map_err(db_err)?;
                    if res.rows_affected() == 0 {
                        return Err(Error::not_found(format!(
                            "User role assignment (user_id={user_id}, role_id={role_id}) not found"
                        )));
                    }
                    Ok(())
                }

                async fn list_user_roles(&self, user_id: i64) -> Result<Vec<Role>> {
                    self.role_rows(
                        "SELECT r.id, r.name, r.workspace, r.description FROM auth_roles r \
                         JOIN auth_user_roles a ON a.role_id = r.id WHERE a.user_id = $1 ORDER BY r.id",
                        Some(user_id),
                    )
                    .await
                }

                async fn list_role_users(&self, role_id: i64) -> Result<Vec<RoleAssignment>> {
                    self.get_role(role_id).await?;
                    let rows = sqlx::query(q("SELECT id, user_id, role_id FROM auth_user_roles WHERE role_id = $1 ORDER BY id"))
                        .bind(role_id)
                        .fetch_all(&self.$reader)
                        .await
                        .map_err(db_err)?;
                    rows.iter()
                        .map(|r| {
                            Ok(RoleAssignment {
                                id: r.try_get("id").map_err(db_err)?,
                                user_id: r.try_get("user_id").map_err(db_err)?,
                                role_id: r.try_get("role_id").map_err(db_err)?,
                            })
                        })
                        .collect()
                }

                async fn delete_job_tokens(&self, job_id: &str, now_ms: i64) -> Result<()> {
                    sqlx::query(q("DELETE FROM auth_job_tokens WHERE job_id = $1 OR expires_at < $2"))
                        .bind(job_id)
                        .bind(now_ms)
                        .execute(&self.$writer)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }
            }

            fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
                matches!(e, sqlx::Error::Database(db) if db.is_foreign_key_violation())
            }
        };
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_by_dialect() {
        assert_eq!(super::dialect("a = $1 AND b = $2", true), "a = ?1 AND b = ?2");
        assert_eq!(super::dialect("a = $1", false), "a = $1");
    }
}
