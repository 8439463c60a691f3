//! `mlp_user` and `mlp_permission`: the server's users and per-user grants (MLflow's basic-auth API).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use tf_provider::schema::{AttributeConstraint::*, AttributeType, Schema};
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use crate::client::{ApiError, Client};
use crate::common::*;
use crate::managed::ApiObject;

pub const MIN_PASSWORD_LEN: usize = 12;
pub const MAX_USERNAME_LEN: usize = 255;
pub const PERMISSIONS: [&str; 5] = ["READ", "USE", "EDIT", "MANAGE", "DENY"];
pub const RESOURCE_TYPES: [&str; 2] = ["experiment", "registered_model"];

// ---------------------------------------------------------------------------------------------
// mlp_user

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserState {
    pub id: Str,
    pub username: Str,
    pub password: Str,
    pub is_admin: Bool,
    pub user_id: Num,
}

/// `mlp_user` (see [`crate::managed`]).
pub struct User;

pub fn user_schema() -> Schema {
    let mut password = attr(
        AttributeType::String,
        Required,
        "The user's password (at least 12 characters). Sensitive; the server never returns it, so a password changed outside Terraform is not detected.",
    );
    password.sensitive = true;
    schema(
        "A user of the mlp server (authentication on). Needs an admin provider user.",
        vec![
            ("id", attr(AttributeType::String, Computed, "The username.")),
            (
                "username",
                attr(
                    AttributeType::String,
                    Required,
                    "Username (at most 255 characters, no `:`). Changing it replaces the user.",
                ),
            ),
            ("password", password),
            (
                "is_admin",
                attr(
                    AttributeType::Bool,
                    Optional,
                    "Whether the user is an admin. Defaults to `false`.",
                ),
            ),
            (
                "user_id",
                attr(AttributeType::Number, Computed, "The server's numeric user ID."),
            ),
        ],
    )
}

pub fn validate_user(diags: &mut Diagnostics, c: &UserState) {
    if let Some(u) = known(&c.username)
        && (u.is_empty() || u.len() > MAX_USERNAME_LEN || u.contains([':', '\0']))
    {
        err(
            diags,
            "Invalid username",
            format!("Username {u:?} must be 1 to {MAX_USERNAME_LEN} characters, without ':' or NUL."),
            path("username"),
        );
    }
    if let Some(p) = known(&c.password)
        && p.chars().count() < MIN_PASSWORD_LEN
    {
        err(
            diags,
            "Invalid password",
            format!("The password must be at least {MIN_PASSWORD_LEN} characters."),
            path("password"),
        );
    }
}

async fn get_user(c: &Client, username: &str) -> Result<Json, ApiError> {
    let r = c.get("/api/2.0/mlflow/users/get", &[("username", username)]).await?;
    Ok(r.get("user").cloned().unwrap_or(Json::Null))
}

/// The server's user as state; the password is never read back, so it stays what was applied.
pub fn user_from_api(u: &Json, prior: &UserState) -> UserState {
    UserState {
        id: str_of(u, "username"),
        username: str_of(u, "username"),
        password: prior.password.clone(),
        is_admin: match (u.get("is_admin").and_then(Json::as_bool), &prior.is_admin) {
            // Unset in the configuration means false: keep it null while the server agrees.
            (Some(false), Value::Null) => Value::Null,
            (Some(b), _) => Value::Value(b),
            (None, p) => *p,
        },
        user_id: num_of(u, "id"),
    }
}

#[async_trait]
impl ApiObject for User {
    type State = UserState;
    const KIND: &'static str = "user";
    const IMPORT_HINT: &'static str = "Import takes the username.";

    fn schema() -> Schema {
        user_schema()
    }

    fn validate(diags: &mut Diagnostics, config: &UserState) {
        validate_user(diags, config);
    }

    fn id(state: &UserState) -> Option<String> {
        known(&state.id).map(str::to_string)
    }

    /// The password cannot be read: it stays what `prior` holds (after an import, nothing, so the
    /// next apply sets the configured one).
    async fn fetch(c: &Client, username: &str, prior: &UserState) -> Result<Option<UserState>, ApiError> {
        Ok(Some(user_from_api(&get_user(c, username).await?, prior)))
    }

    fn plan_create(proposed: UserState) -> UserState {
        let mut s = proposed;
        s.id = s.username.clone();
        s.user_id = Value::Unknown;
        s
    }

    fn plan_update(prior: &UserState, proposed: UserState, _config: &UserState) -> (UserState, Vec<AttributePath>) {
        let mut replace = Vec::new();
        let mut s = proposed;
        if s.username != prior.username {
            replace.push(path("username"));
            s.id = s.username.clone();
            s.user_id = Value::Unknown;
        }
        (s, replace)
    }

    async fn create(c: &Client, diags: &mut Diagnostics, planned: &UserState) -> Option<String> {
        let (name, pw) = (
            known(&planned.username)?.to_string(),
            known(&planned.password)?.to_string(),
        );
        if let Err(e) = c
            .post(
                "/api/2.0/mlflow/users/create",
                json!({"username": name, "password": pw}),
            )
            .await
        {
            if e.code() == Some("RESOURCE_ALREADY_EXISTS") {
                err(
                    diags,
                    "User already exists",
                    format!("{e}\n\nTo manage it with Terraform, import it: terraform import <address> {name}"),
                    path("username"),
                );
            } else {
                api_diag(diags, format!("to create user {name:?}"), &e);
            }
            return None;
        }
        // The user exists now: a failure here still records it in the state.
        if flag(&planned.is_admin)
            && let Err(e) = c
                .patch(
                    "/api/2.0/mlflow/users/update-admin",
                    json!({"username": name, "is_admin": true}),
                )
                .await
        {
            api_diag(diags, format!("to make {name:?} an admin"), &e);
        }
        Some(name)
    }

    async fn update(c: &Client, diags: &mut Diagnostics, prior: &UserState, planned: &UserState) -> Option<()> {
        let name = known(&prior.id)?;
        if planned.password != prior.password {
            let pw = known(&planned.password)?;
            if let Err(e) = c
                .patch(
                    "/api/2.0/mlflow/users/update-password",
                    json!({"username": name, "password": pw}),
                )
                .await
            {
                api_diag(diags, format!("to change the password of {name:?}"), &e);
                return None;
            }
        }
        if flag(&planned.is_admin) != flag(&prior.is_admin) {
            let admin = flag(&planned.is_admin);
            if let Err(e) = c
                .patch(
                    "/api/2.0/mlflow/users/update-admin",
                    json!({"username": name, "is_admin": admin}),
                )
                .await
            {
                api_diag(diags, format!("to set is_admin of {name:?}"), &e);
                return None;
            }
        }
        Some(())
    }

    async fn delete(c: &Client, username: &str, _prior: &UserState) -> Result<(), ApiError> {
        c.delete("/api/2.0/mlflow/users/delete", json!({"username": username}))
            .await
            .map(drop)
    }
}

// ---------------------------------------------------------------------------------------------
// mlp_permission

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PermissionState {
    pub id: Str,
    pub username: Str,
    pub resource_type: Str,
    pub resource_id: Str,
    pub permission: Str,
}

/// `mlp_permission` (see [`crate::managed`]).
pub struct Permission;

pub fn permission_schema() -> Schema {
    schema(
        "A user's grant on one experiment or registered model (or `*`, every one of the type).",
        vec![
            (
                "id",
                attr(
                    AttributeType::String,
                    Computed,
                    "`<username>:<resource_type>:<resource_id>`.",
                ),
            ),
            (
                "username",
                attr(
                    AttributeType::String,
                    Required,
                    "The user granted. Changing it replaces the grant.",
                ),
            ),
            (
                "resource_type",
                attr(
                    AttributeType::String,
                    Required,
                    "`experiment` or `registered_model`. Changing it replaces the grant.",
                ),
            ),
            (
                "resource_id",
                attr(
                    AttributeType::String,
                    Required,
                    "The experiment ID or the registered model name, or `*` for all (admin only). Changing it replaces the grant.",
                ),
            ),
            (
                "permission",
                attr(
                    AttributeType::String,
                    Required,
                    "`READ`, `USE`, `EDIT`, `MANAGE` or `DENY`. Changing it updates the grant in place.",
                ),
            ),
        ],
    )
}

pub fn validate_permission(diags: &mut Diagnostics, c: &PermissionState) {
    if let Some(t) = known(&c.resource_type)
        && !RESOURCE_TYPES.contains(&t)
    {
        err(
            diags,
            "Invalid resource_type",
            format!("resource_type must be one of {}, got {t:?}.", RESOURCE_TYPES.join(", ")),
            path("resource_type"),
        );
    }
    if let Some(p) = known(&c.permission)
        && !PERMISSIONS.contains(&p)
    {
        let hint = if p == "NO_PERMISSIONS" {
            " NO_PERMISSIONS cannot be granted: remove the grant instead."
        } else {
            ""
        };
        err(
            diags,
            "Invalid permission",
            format!("permission must be one of {}, got {p:?}.{hint}", PERMISSIONS.join(", ")),
            path("permission"),
        );
    }
    if known(&c.resource_id) == Some("") {
        err(
            diags,
            "Invalid resource_id",
            "resource_id must not be empty.",
            path("resource_id"),
        );
    }
    if let Some(u) = known(&c.username)
        && (u.is_empty() || u.contains(':'))
    {
        err(
            diags,
            "Invalid username",
            format!("Username {u:?} must be non-empty, without ':'."),
            path("username"),
        );
    }
}

pub fn split_permission_id(id: &str) -> Option<(&str, &str, &str)> {
    let mut it = id.splitn(3, ':');
    let (u, t, r) = (it.next()?, it.next()?, it.next()?);
    (!u.is_empty() && RESOURCE_TYPES.contains(&t) && !r.is_empty()).then_some((u, t, r))
}

/// The user's direct grant on the resource, if any (`permissions/list`, not the effective
/// permission that `permissions/get` answers, which also counts `*` grants and defaults).
async fn find_grant(c: &Client, user: &str, kind: &str, id: &str) -> Result<Option<String>, ApiError> {
    let r = c
        .get("/api/3.0/mlflow/users/permissions/list", &[("username", user)])
        .await?;
    Ok(r.get("permissions")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .find(|p| {
            p.get("resource_type").and_then(Json::as_str) == Some(kind)
                && p.get("resource_pattern").and_then(Json::as_str) == Some(id)
        })
        .and_then(|p| p.get("permission").and_then(Json::as_str).map(str::to_string)))
}

async fn grant(c: &Client, s: &PermissionState) -> Result<(), ApiError> {
    let body = json!({
        "username": known(&s.username), "resource_type": known(&s.resource_type),
        "resource_id": known(&s.resource_id), "permission": known(&s.permission),
    });
    c.post("/api/3.0/mlflow/users/permissions/grant", body)
        .await
        .map(|_| ())
}

async fn revoke(c: &Client, s: &PermissionState) -> Result<(), ApiError> {
    let body = json!({
        "username": known(&s.username), "resource_type": known(&s.resource_type), "resource_id": known(&s.resource_id),
    });
    c.post("/api/3.0/mlflow/users/permissions/revoke", body)
        .await
        .map(|_| ())
}

fn permission_id(s: &PermissionState) -> Str {
    match (known(&s.username), known(&s.resource_type), known(&s.resource_id)) {
        (Some(u), Some(t), Some(r)) => Value::Value(format!("{u}:{t}:{r}")),
        _ => Value::Unknown,
    }
}

#[async_trait]
impl ApiObject for Permission {
    type State = PermissionState;
    const KIND: &'static str = "permission";
    const IMPORT_HINT: &'static str =
        "Import takes `<username>:<experiment|registered_model>:<resource id>` of a direct grant.";

    fn schema() -> Schema {
        permission_schema()
    }

    fn validate(diags: &mut Diagnostics, config: &PermissionState) {
        validate_permission(diags, config);
    }

    fn id(state: &PermissionState) -> Option<String> {
        known(&state.id).map(str::to_string)
    }

    async fn fetch(c: &Client, id: &str, _prior: &PermissionState) -> Result<Option<PermissionState>, ApiError> {
        let Some((u, t, r)) = split_permission_id(id) else {
            return Ok(None);
        };
        Ok(find_grant(c, u, t, r).await?.map(|p| PermissionState {
            id: Value::Value(id.to_string()),
            username: Value::Value(u.into()),
            resource_type: Value::Value(t.into()),
            resource_id: Value::Value(r.into()),
            permission: Value::Value(p),
        }))
    }

    fn plan_create(proposed: PermissionState) -> PermissionState {
        let mut s = proposed;
        s.id = permission_id(&s);
        s
    }

    fn plan_update(
        prior: &PermissionState,
        proposed: PermissionState,
        _config: &PermissionState,
    ) -> (PermissionState, Vec<AttributePath>) {
        let replace = changed(&[
            ("username", &prior.username, &proposed.username),
            ("resource_type", &prior.resource_type, &proposed.resource_type),
            ("resource_id", &prior.resource_id, &proposed.resource_id),
        ]);
        let mut s = proposed;
        s.id = permission_id(&s);
        (s, replace)
    }

    async fn create(c: &Client, diags: &mut Diagnostics, planned: &PermissionState) -> Option<String> {
        let id = known(&permission_id(planned))?.to_string();
        if let Err(e) = grant(c, planned).await {
            let hint = if e.code() == Some("RESOURCE_ALREADY_EXISTS") {
                format!("\n\nThe user already has a grant there; import it: terraform import <address> {id}")
            } else {
                String::new()
            };
            root_err(diags, "Failed to grant the permission", format!("{e}{hint}"));
            return None;
        }
        Some(id)
    }

    async fn update(
        c: &Client,
        diags: &mut Diagnostics,
        prior: &PermissionState,
        planned: &PermissionState,
    ) -> Option<()> {
        // The API has no "change a grant": revoke, then grant the new level.
        if let Err(e) = revoke(c, prior).await
            && !e.is_not_found()
        {
            api_diag(diags, "to revoke the previous permission", &e);
            return None;
        }
        if let Err(e) = grant(c, planned).await {
            api_diag(diags, "to grant the permission", &e);
            return None;
        }
        Some(())
    }

    async fn delete(c: &Client, _id: &str, prior: &PermissionState) -> Result<(), ApiError> {
        revoke(c, prior).await
    }

    fn import_id_problem(id: &str) -> Option<String> {
        split_permission_id(id)
            .is_none()
            .then(|| format!("Expected `<username>:<experiment|registered_model>:<resource id>`, got {id:?}."))
    }
}
