//! `mlp_role`, `mlp_role_permission` and `mlp_role_assignment`, against MLflow 3.17.2's roles
//! API (`/api/3.0/mlflow/roles/*`), as the mlp server serves it (tests/provider/test_roles.py).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use tf_provider::schema::{AttributeConstraint::*, AttributeType, Schema};
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use crate::auth::PERMISSIONS;
use crate::client::{ApiError, Client};
use crate::common::*;
use crate::managed::ApiObject;

const ROLES: &str = "/api/3.0/mlflow/roles";
pub const DEFAULT_WORKSPACE: &str = "default";

// ---------------------------------------------------------------------------------------------
// mlp_role

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleState {
    pub id: Str,
    pub name: Str,
    pub workspace: Str,
    pub description: Str,
}

/// `mlp_role` (see [`crate::managed`]).
pub struct Role;

pub fn role_schema() -> Schema {
    schema(
        "A role: a named set of grants that users are assigned (MLflow 3.17.2's roles).",
        vec![
            ("id", attr(AttributeType::String, Computed, "The role's numeric ID.")),
            (
                "name",
                attr(
                    AttributeType::String,
                    Required,
                    "Role name. Changing it renames in place.",
                ),
            ),
            (
                "workspace",
                attr(
                    AttributeType::String,
                    OptionalComputed,
                    "Workspace of the role (default `default`). Changing it replaces the role.",
                ),
            ),
            (
                "description",
                attr(AttributeType::String, Optional, "Free-text description."),
            ),
        ],
    )
}

pub fn role_from_api(r: &Json) -> RoleState {
    RoleState {
        id: str_of(r, "id"),
        name: str_of(r, "name"),
        workspace: str_of(r, "workspace"),
        description: match str_of(r, "description") {
            Value::Value(d) if d.is_empty() => Value::Null,
            d => d,
        },
    }
}

async fn get_role(c: &Client, id: &str) -> Result<Json, ApiError> {
    let r = c.get(&format!("{ROLES}/get"), &[("role_id", id)]).await?;
    Ok(r.get("role").cloned().unwrap_or(Json::Null))
}

fn role_id_num(id: &str) -> Json {
    id.parse::<i64>().map(Json::from).unwrap_or_else(|_| json!(id))
}

#[async_trait]
impl ApiObject for Role {
    type State = RoleState;
    const KIND: &'static str = "role";
    const IMPORT_HINT: &'static str = "Import takes the role's numeric ID.";

    fn schema() -> Schema {
        role_schema()
    }

    fn validate(diags: &mut Diagnostics, config: &RoleState) {
        check_name(diags, "name", "Role name", &config.name, 255);
        check_name(diags, "workspace", "Workspace", &config.workspace, 255);
    }

    fn id(state: &RoleState) -> Option<String> {
        known(&state.id).map(str::to_string)
    }

    async fn fetch(c: &Client, id: &str, _prior: &RoleState) -> Result<Option<RoleState>, ApiError> {
        Ok(Some(role_from_api(&get_role(c, id).await?)))
    }

    fn plan_create(proposed: RoleState) -> RoleState {
        let mut s = proposed;
        s.id = Value::Unknown;
        if matches!(s.workspace, Value::Null) {
            s.workspace = Value::Value(DEFAULT_WORKSPACE.into());
        }
        s
    }

    fn plan_update(prior: &RoleState, proposed: RoleState, config: &RoleState) -> (RoleState, Vec<AttributePath>) {
        let mut s = proposed;
        let mut replace = Vec::new();
        if matches!(config.workspace, Value::Null) {
            s.workspace = prior.workspace.clone();
        } else if s.workspace != prior.workspace {
            replace.push(path("workspace"));
            s.id = Value::Unknown;
        }
        (s, replace)
    }

    async fn create(c: &Client, diags: &mut Diagnostics, planned: &RoleState) -> Option<String> {
        let body = json!({
            "name": known(&planned.name)?,
            "workspace": known(&planned.workspace).unwrap_or(DEFAULT_WORKSPACE),
            "description": known(&planned.description),
        });
        match c.post(&format!("{ROLES}/create"), body).await {
            Ok(r) => known(&role_from_api(r.get("role").unwrap_or(&Json::Null)).id).map(str::to_string),
            Err(e) => {
                api_diag(
                    diags,
                    format!("to create role {:?}", known(&planned.name).unwrap_or("")),
                    &e,
                );
                None
            }
        }
    }

    async fn update(c: &Client, diags: &mut Diagnostics, prior: &RoleState, planned: &RoleState) -> Option<()> {
        let id = known(&prior.id)?;
        let body = json!({
            "role_id": role_id_num(id),
            "name": known(&planned.name),
            "description": known(&planned.description).unwrap_or(""),
        });
        if let Err(e) = c.patch(&format!("{ROLES}/update"), body).await {
            api_diag(diags, format!("to update role {id}"), &e);
            return None;
        }
        Some(())
    }

    async fn delete(c: &Client, id: &str, _prior: &RoleState) -> Result<(), ApiError> {
        c.delete(&format!("{ROLES}/delete"), json!({"role_id": role_id_num(id)}))
            .await
            .map(drop)
    }

    fn import_id_problem(id: &str) -> Option<String> {
        id.parse::<i64>()
            .is_err()
            .then(|| format!("Expected the role's numeric ID, got {id:?}."))
    }
}

// ---------------------------------------------------------------------------------------------
// mlp_role_permission

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RolePermissionState {
    pub id: Str,
    pub role_id: Str,
    pub resource_type: Str,
    pub resource_pattern: Str,
    pub permission: Str,
}

/// `mlp_role_permission` (see [`crate::managed`]).
pub struct RolePermission;

pub fn role_permission_schema() -> Schema {
    schema(
        "One grant of a role: a permission on a resource (or `*`, every resource of the type).",
        vec![
            (
                "id",
                attr(AttributeType::String, Computed, "`<role_id>:<role_permission_id>`."),
            ),
            (
                "role_id",
                attr(
                    AttributeType::String,
                    Required,
                    "The role's ID (`mlp_role.x.id`). Changing it replaces the grant.",
                ),
            ),
            (
                "resource_type",
                attr(
                    AttributeType::String,
                    Required,
                    "`experiment`, `registered_model` or `workspace` (the MLflow resource types the server has grants on), or `jobs`: `USE` on `*` lets the role's users run jobs. Changing it replaces the grant.",
                ),
            ),
            (
                "resource_pattern",
                attr(
                    AttributeType::String,
                    Required,
                    "The experiment's ID or the model's name, or `*` (always `*` for `workspace` and `jobs`). Changing it replaces the grant.",
                ),
            ),
            (
                "permission",
                attr(
                    AttributeType::String,
                    Required,
                    "`READ`, `USE`, `EDIT`, `MANAGE` or `DENY` (`USE` or `MANAGE` on `workspace`, `USE` on `jobs`). Changing it updates in place.",
                ),
            ),
        ],
    )
}

/// The resource types the mlp server accepts in a role grant (a subset of MLflow's).
/// MLflow's resource types the server has grants on, and the platform's own `jobs` capability.
pub const ROLE_RESOURCE_TYPES: [&str; 4] = ["experiment", "registered_model", "workspace", "jobs"];

pub fn validate_role_permission(diags: &mut Diagnostics, c: &RolePermissionState) {
    if let Some(t) = known(&c.resource_type).filter(|t| !t.is_empty())
        && !ROLE_RESOURCE_TYPES.contains(&t)
    {
        err(
            diags,
            "Invalid resource_type",
            format!(
                "resource_type must be one of {}, got {t:?}.",
                ROLE_RESOURCE_TYPES.join(", ")
            ),
            path("resource_type"),
        );
    }
    let whole = match known(&c.resource_type) {
        Some("workspace") => Some("A workspace grant applies to the whole workspace"),
        Some("jobs") => Some("The jobs capability is not per resource"),
        _ => None,
    };
    if let Some(why) = whole
        && let Some(p) = known(&c.resource_pattern).filter(|p| *p != "*")
    {
        err(
            diags,
            "Invalid resource_pattern",
            format!("{why}: resource_pattern must be \"*\", got {p:?}."),
            path("resource_pattern"),
        );
    }
    if let Some(p) = known(&c.permission) {
        let allowed: &[&str] = match known(&c.resource_type) {
            Some("workspace") => &["USE", "MANAGE"],
            Some("jobs") => &["USE"],
            _ => &PERMISSIONS,
        };
        if !allowed.contains(&p) {
            err(
                diags,
                "Invalid permission",
                format!("permission must be one of {} here, got {p:?}.", allowed.join(", ")),
                path("permission"),
            );
        }
    }
    for (name, v) in [
        ("resource_type", &c.resource_type),
        ("resource_pattern", &c.resource_pattern),
    ] {
        if known(v) == Some("") {
            err(
                diags,
                format!("Invalid {name}"),
                format!("{name} must not be empty."),
                path(name),
            );
        }
    }
}

pub fn split_role_permission_id(id: &str) -> Option<(&str, &str)> {
    let (role, perm) = id.split_once(':')?;
    (role.parse::<i64>().is_ok() && perm.parse::<i64>().is_ok()).then_some((role, perm))
}

fn role_permission_from_api(p: &Json) -> RolePermissionState {
    let (role, id) = (str_of(p, "role_id"), str_of(p, "id"));
    RolePermissionState {
        id: match (known(&role), known(&id)) {
            (Some(r), Some(i)) => Value::Value(format!("{r}:{i}")),
            _ => Value::Null,
        },
        role_id: role,
        resource_type: str_of(p, "resource_type"),
        resource_pattern: str_of(p, "resource_pattern"),
        permission: str_of(p, "permission"),
    }
}

#[async_trait]
impl ApiObject for RolePermission {
    type State = RolePermissionState;
    const KIND: &'static str = "role permission";
    const IMPORT_HINT: &'static str = "Import takes `<role_id>:<role_permission_id>`.";

    fn schema() -> Schema {
        role_permission_schema()
    }

    fn validate(diags: &mut Diagnostics, config: &RolePermissionState) {
        validate_role_permission(diags, config);
    }

    fn id(state: &RolePermissionState) -> Option<String> {
        known(&state.id).map(str::to_string)
    }

    async fn fetch(
        c: &Client,
        id: &str,
        _prior: &RolePermissionState,
    ) -> Result<Option<RolePermissionState>, ApiError> {
        let Some((role, perm)) = split_role_permission_id(id) else {
            return Ok(None);
        };
        let r = c
            .get(&format!("{ROLES}/permissions/list"), &[("role_id", role)])
            .await?;
        Ok(r.get("role_permissions")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .find(|p| known(&str_of(p, "id")) == Some(perm))
            .map(role_permission_from_api))
    }

    fn plan_create(proposed: RolePermissionState) -> RolePermissionState {
        RolePermissionState {
            id: Value::Unknown,
            ..proposed
        }
    }

    fn plan_update(
        prior: &RolePermissionState,
        proposed: RolePermissionState,
        _config: &RolePermissionState,
    ) -> (RolePermissionState, Vec<AttributePath>) {
        let replace = changed(&[
            ("role_id", &prior.role_id, &proposed.role_id),
            ("resource_type", &prior.resource_type, &proposed.resource_type),
            ("resource_pattern", &prior.resource_pattern, &proposed.resource_pattern),
        ]);
        let mut s = proposed;
        if !replace.is_empty() {
            s.id = Value::Unknown;
        }
        (s, replace)
    }

    async fn create(c: &Client, diags: &mut Diagnostics, planned: &RolePermissionState) -> Option<String> {
        let body = json!({
            "role_id": role_id_num(known(&planned.role_id)?),
            "resource_type": known(&planned.resource_type)?,
            "resource_pattern": known(&planned.resource_pattern)?,
            "permission": known(&planned.permission)?,
        });
        match c.post(&format!("{ROLES}/permissions/add"), body).await {
            Ok(r) => {
                known(&role_permission_from_api(r.get("role_permission").unwrap_or(&Json::Null)).id).map(str::to_string)
            }
            Err(e) => {
                api_diag(diags, "to add the role permission", &e);
                None
            }
        }
    }

    async fn update(
        c: &Client,
        diags: &mut Diagnostics,
        prior: &RolePermissionState,
        planned: &RolePermissionState,
    ) -> Option<()> {
        let id = known(&prior.id)?;
        let (_, perm) = split_role_permission_id(id)?;
        let body = json!({"role_permission_id": role_id_num(perm), "permission": known(&planned.permission)?});
        if let Err(e) = c.patch(&format!("{ROLES}/permissions/update"), body).await {
            api_diag(diags, format!("to update role permission {id}"), &e);
            return None;
        }
        Some(())
    }

    async fn delete(c: &Client, id: &str, _prior: &RolePermissionState) -> Result<(), ApiError> {
        let Some((_, perm)) = split_role_permission_id(id) else {
            return Ok(());
        };
        c.delete(
            &format!("{ROLES}/permissions/remove"),
            json!({"role_permission_id": role_id_num(perm)}),
        )
        .await
        .map(drop)
    }

    fn import_id_problem(id: &str) -> Option<String> {
        split_role_permission_id(id)
            .is_none()
            .then(|| format!("Expected `<role_id>:<role_permission_id>`, got {id:?}."))
    }
}

// ---------------------------------------------------------------------------------------------
// mlp_role_assignment

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleAssignmentState {
    pub id: Str,
    pub username: Str,
    pub role_id: Str,
}

/// `mlp_role_assignment` (see [`crate::managed`]).
pub struct RoleAssignment;

pub fn role_assignment_schema() -> Schema {
    schema(
        "A user's membership of a role: the user gets the role's grants.",
        vec![
            ("id", attr(AttributeType::String, Computed, "`<username>:<role_id>`.")),
            (
                "username",
                attr(
                    AttributeType::String,
                    Required,
                    "The user (`mlp_user.x.username`). Changing it replaces the assignment.",
                ),
            ),
            (
                "role_id",
                attr(
                    AttributeType::String,
                    Required,
                    "The role's ID (`mlp_role.x.id`). Changing it replaces the assignment.",
                ),
            ),
        ],
    )
}

/// Usernames cannot contain `:` (mlp_user refuses it), role IDs are numbers: split at the last `:`.
pub fn split_role_assignment_id(id: &str) -> Option<(&str, &str)> {
    let (user, role) = id.rsplit_once(':')?;
    (!user.is_empty() && role.parse::<i64>().is_ok()).then_some((user, role))
}

#[async_trait]
impl ApiObject for RoleAssignment {
    type State = RoleAssignmentState;
    const KIND: &'static str = "role assignment";
    const IMPORT_HINT: &'static str = "Import takes `<username>:<role_id>`.";

    fn schema() -> Schema {
        role_assignment_schema()
    }

    fn validate(diags: &mut Diagnostics, config: &RoleAssignmentState) {
        check_name(diags, "username", "Username", &config.username, 255);
        if let Some(r) = known(&config.role_id)
            && r.parse::<i64>().is_err()
        {
            err(
                diags,
                "Invalid role_id",
                format!("role_id must be a role's numeric ID, got {r:?}."),
                path("role_id"),
            );
        }
    }

    fn id(state: &RoleAssignmentState) -> Option<String> {
        known(&state.id).map(str::to_string)
    }

    /// The user's roles: a user that is gone takes the assignment with it (not found).
    async fn fetch(
        c: &Client,
        id: &str,
        _prior: &RoleAssignmentState,
    ) -> Result<Option<RoleAssignmentState>, ApiError> {
        let Some((user, role)) = split_role_assignment_id(id) else {
            return Ok(None);
        };
        let r = c.get("/api/3.0/mlflow/users/roles/list", &[("username", user)]).await?;
        let assigned = r
            .get("roles")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .any(|r| known(&str_of(r, "id")) == Some(role));
        Ok(assigned.then(|| RoleAssignmentState {
            id: Value::Value(id.to_string()),
            username: Value::Value(user.to_string()),
            role_id: Value::Value(role.to_string()),
        }))
    }

    fn plan_create(proposed: RoleAssignmentState) -> RoleAssignmentState {
        let mut s = proposed;
        s.id = assignment_id(&s);
        s
    }

    fn plan_update(
        prior: &RoleAssignmentState,
        proposed: RoleAssignmentState,
        _config: &RoleAssignmentState,
    ) -> (RoleAssignmentState, Vec<AttributePath>) {
        let replace = changed(&[
            ("username", &prior.username, &proposed.username),
            ("role_id", &prior.role_id, &proposed.role_id),
        ]);
        let mut s = proposed;
        if !replace.is_empty() {
            s.id = Value::Unknown;
        }
        (s, replace)
    }

    async fn create(c: &Client, diags: &mut Diagnostics, planned: &RoleAssignmentState) -> Option<String> {
        let (user, role) = (known(&planned.username)?, known(&planned.role_id)?);
        let body = json!({"username": user, "role_id": role_id_num(role)});
        match c.post(&format!("{ROLES}/assign"), body).await {
            Ok(_) => Some(format!("{user}:{role}")),
            Err(e) => {
                api_diag(diags, format!("to assign role {role} to user {user:?}"), &e);
                None
            }
        }
    }

    /// Every argument forces replacement: nothing changes in place.
    async fn update(
        _c: &Client,
        _diags: &mut Diagnostics,
        _prior: &RoleAssignmentState,
        _planned: &RoleAssignmentState,
    ) -> Option<()> {
        Some(())
    }

    async fn delete(c: &Client, id: &str, _prior: &RoleAssignmentState) -> Result<(), ApiError> {
        let Some((user, role)) = split_role_assignment_id(id) else {
            return Ok(());
        };
        c.delete(
            &format!("{ROLES}/unassign"),
            json!({"username": user, "role_id": role_id_num(role)}),
        )
        .await
        .map(drop)
    }

    fn import_id_problem(id: &str) -> Option<String> {
        split_role_assignment_id(id)
            .is_none()
            .then(|| format!("Expected `<username>:<role_id>`, got {id:?}."))
    }
}

fn assignment_id(s: &RoleAssignmentState) -> Str {
    match (known(&s.username), known(&s.role_id)) {
        (Some(u), Some(r)) => Value::Value(format!("{u}:{r}")),
        _ => Value::Unknown,
    }
}
