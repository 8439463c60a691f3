//! `mlp_role`, `mlp_role_permission` and `mlp_role_assignment`, against MLflow 3.17.2's roles
//! API (`/api/3.0/mlflow/roles/*`), as the mlp server serves it (tests/provider/test_roles.py).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use tf_provider::schema::{AttributeConstraint::*, AttributeType, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::auth::PERMISSIONS;
use crate::client::{ApiError, Client};
use crate::common::*;

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

pub struct RoleResource(pub Shared);

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
impl Resource for RoleResource {
    type State<'a> = RoleState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(role_schema())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        check_name(diags, "name", "Role name", &config.name, 255);
        check_name(diags, "workspace", "Workspace", &config.workspace, 255);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let c = client(&self.0, diags)?;
        let id = known(&state.id)?.to_string();
        match get_role(&c, &id).await {
            Ok(r) => Some((role_from_api(&r), private)),
            Err(e) if e.is_not_found() => None,
            Err(e) => {
                api_diag(diags, format!("to read role {id}"), &e);
                Some((state, private))
            }
        }
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        _config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let mut s = proposed;
        s.id = Value::Unknown;
        if matches!(s.workspace, Value::Null) {
            s.workspace = Value::Value(DEFAULT_WORKSPACE.into());
        }
        Some((s, ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior: Self::State<'a>,
        proposed: Self::State<'a>,
        config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        let mut s = proposed;
        let mut replace = Vec::new();
        if matches!(config.workspace, Value::Null) {
            s.workspace = prior.workspace.clone();
        } else if s.workspace != prior.workspace {
            replace.push(path("workspace"));
            s.id = Value::Unknown;
        }
        Some((s, private, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::PrivateState<'a>> {
        Some(private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let c = client(&self.0, diags)?;
        let body = json!({
            "name": known(&planned.name)?,
            "workspace": known(&planned.workspace).unwrap_or(DEFAULT_WORKSPACE),
            "description": known(&planned.description),
        });
        match c.post(&format!("{ROLES}/create"), body).await {
            Ok(r) => Some((role_from_api(r.get("role").unwrap_or(&Json::Null)), private)),
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

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: Self::State<'a>,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let c = client(&self.0, diags)?;
        let id = known(&prior.id)?.to_string();
        let body = json!({
            "role_id": role_id_num(&id),
            "name": known(&planned.name),
            "description": known(&planned.description).unwrap_or(""),
        });
        match c.patch(&format!("{ROLES}/update"), body).await {
            Ok(r) => Some((role_from_api(r.get("role").unwrap_or(&Json::Null)), private)),
            Err(e) => {
                api_diag(diags, format!("to update role {id}"), &e);
                None
            }
        }
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let c = client(&self.0, diags)?;
        let id = known(&prior.id)?.to_string();
        match c
            .delete(&format!("{ROLES}/delete"), json!({"role_id": role_id_num(&id)}))
            .await
        {
            Ok(_) => Some(()),
            Err(e) if e.is_not_found() => Some(()),
            Err(e) => {
                api_diag(diags, format!("to delete role {id}"), &e);
                None
            }
        }
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        if id.parse::<i64>().is_err() {
            root_err(
                diags,
                "Invalid import ID",
                format!("Expected the role's numeric ID, got {id:?}."),
            );
            return None;
        }
        Some((
            RoleState {
                id: Value::Value(id),
                ..Default::default()
            },
            ValueEmpty::default(),
        ))
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

pub struct RolePermissionResource(pub Shared);

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
                    "`experiment`, `registered_model` or `workspace` (the MLflow resource types the server has grants on). Changing it replaces the grant.",
                ),
            ),
            (
                "resource_pattern",
                attr(
                    AttributeType::String,
                    Required,
                    "The experiment's ID or the model's name, or `*` (always `*` for `workspace`). Changing it replaces the grant.",
                ),
            ),
            (
                "permission",
                attr(
                    AttributeType::String,
                    Required,
                    "`READ`, `USE`, `EDIT`, `MANAGE` or `DENY` (`USE` or `MANAGE` on `workspace`). Changing it updates in place.",
                ),
            ),
        ],
    )
}

/// The resource types the mlp server accepts in a role grant (a subset of MLflow's).
pub const ROLE_RESOURCE_TYPES: [&str; 3] = ["experiment", "registered_model", "workspace"];

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
    if known(&c.resource_type) == Some("workspace")
        && let Some(p) = known(&c.resource_pattern).filter(|p| *p != "*")
    {
        err(
            diags,
            "Invalid resource_pattern",
            format!("A workspace grant applies to the whole workspace: resource_pattern must be \"*\", got {p:?}."),
            path("resource_pattern"),
        );
    }
    if let Some(p) = known(&c.permission) {
        let workspace = known(&c.resource_type) == Some("workspace");
        let allowed: &[&str] = if workspace { &["USE", "MANAGE"] } else { &PERMISSIONS };
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
impl Resource for RolePermissionResource {
    type State<'a> = RolePermissionState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(role_permission_schema())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        validate_role_permission(diags, &config);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let c = client(&self.0, diags)?;
        let id = known(&state.id)?.to_string();
        let (role, perm) = split_role_permission_id(&id)?;
        match c.get(&format!("{ROLES}/permissions/list"), &[("role_id", role)]).await {
            Ok(r) => r
                .get("role_permissions")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .find(|p| known(&str_of(p, "id")) == Some(perm))
                .map(|p| (role_permission_from_api(p), private)),
            Err(e) if e.is_not_found() => None,
            Err(e) => {
                api_diag(diags, format!("to read the permissions of role {role}"), &e);
                Some((state, private))
            }
        }
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        _config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let mut s = proposed;
        s.id = Value::Unknown;
        Some((s, ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior: Self::State<'a>,
        proposed: Self::State<'a>,
        _config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        let mut replace = Vec::new();
        for (name, a, b) in [
            ("role_id", &prior.role_id, &proposed.role_id),
            ("resource_type", &prior.resource_type, &proposed.resource_type),
            ("resource_pattern", &prior.resource_pattern, &proposed.resource_pattern),
        ] {
            if a != b {
                replace.push(path(name));
            }
        }
        let mut s = proposed;
        if !replace.is_empty() {
            s.id = Value::Unknown;
        }
        Some((s, private, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::PrivateState<'a>> {
        Some(private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let c = client(&self.0, diags)?;
        let body = json!({
            "role_id": role_id_num(known(&planned.role_id)?),
            "resource_type": known(&planned.resource_type)?,
            "resource_pattern": known(&planned.resource_pattern)?,
            "permission": known(&planned.permission)?,
        });
        match c.post(&format!("{ROLES}/permissions/add"), body).await {
            Ok(r) => Some((
                role_permission_from_api(r.get("role_permission").unwrap_or(&Json::Null)),
                private,
            )),
            Err(e) => {
                api_diag(diags, "to add the role permission", &e);
                None
            }
        }
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: Self::State<'a>,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let c = client(&self.0, diags)?;
        let id = known(&prior.id)?.to_string();
        let (_, perm) = split_role_permission_id(&id)?;
        let body = json!({"role_permission_id": role_id_num(perm), "permission": known(&planned.permission)?});
        match c.patch(&format!("{ROLES}/permissions/update"), body).await {
            Ok(r) => Some((
                role_permission_from_api(r.get("role_permission").unwrap_or(&Json::Null)),
                private,
            )),
            Err(e) => {
                api_diag(diags, format!("to update role permission {id}"), &e);
                None
            }
        }
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let c = client(&self.0, diags)?;
        let id = known(&prior.id)?.to_string();
        let (_, perm) = split_role_permission_id(&id)?;
        match c
            .delete(
                &format!("{ROLES}/permissions/remove"),
                json!({"role_permission_id": role_id_num(perm)}),
            )
            .await
        {
            Ok(_) => Some(()),
            Err(e) if e.is_not_found() => Some(()),
            Err(e) => {
                api_diag(diags, format!("to remove role permission {id}"), &e);
                None
            }
        }
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        if split_role_permission_id(&id).is_none() {
            root_err(
                diags,
                "Invalid import ID",
                format!("Expected `<role_id>:<role_permission_id>`, got {id:?}."),
            );
            return None;
        }
        Some((
            RolePermissionState {
                id: Value::Value(id),
                ..Default::default()
            },
            ValueEmpty::default(),
        ))
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

pub struct RoleAssignmentResource(pub Shared);

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
impl Resource for RoleAssignmentResource {
    type State<'a> = RoleAssignmentState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(role_assignment_schema())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
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
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let c = client(&self.0, diags)?;
        let id = known(&state.id)?.to_string();
        let (user, role) = split_role_assignment_id(&id)?;
        match c.get("/api/3.0/mlflow/users/roles/list", &[("username", user)]).await {
            Ok(r) => r
                .get("roles")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .any(|r| known(&str_of(r, "id")) == Some(role))
                .then(|| {
                    (
                        RoleAssignmentState {
                            id: Value::Value(id.clone()),
                            username: Value::Value(user.to_string()),
                            role_id: Value::Value(role.to_string()),
                        },
                        private,
                    )
                }),
            // The user is gone, and the assignment with it.
            Err(e) if e.is_not_found() => None,
            Err(e) => {
                api_diag(diags, format!("to read the roles of user {user:?}"), &e);
                Some((state, private))
            }
        }
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        _config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let mut s = proposed;
        s.id = match (known(&s.username), known(&s.role_id)) {
            (Some(u), Some(r)) => Value::Value(format!("{u}:{r}")),
            _ => Value::Unknown,
        };
        Some((s, ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior: Self::State<'a>,
        proposed: Self::State<'a>,
        _config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        let mut replace = Vec::new();
        for (name, a, b) in [
            ("username", &prior.username, &proposed.username),
            ("role_id", &prior.role_id, &proposed.role_id),
        ] {
            if a != b {
                replace.push(path(name));
            }
        }
        let mut s = proposed;
        if !replace.is_empty() {
            s.id = Value::Unknown;
        }
        Some((s, private, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::PrivateState<'a>> {
        Some(private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let c = client(&self.0, diags)?;
        let (user, role) = (known(&planned.username)?, known(&planned.role_id)?);
        let body = json!({"username": user, "role_id": role_id_num(role)});
        match c.post(&format!("{ROLES}/assign"), body).await {
            Ok(_) => Some((
                RoleAssignmentState {
                    id: Value::Value(format!("{user}:{role}")),
                    username: Value::Value(user.to_string()),
                    role_id: Value::Value(role.to_string()),
                },
                private,
            )),
            Err(e) => {
                api_diag(diags, format!("to assign role {role} to user {user:?}"), &e);
                None
            }
        }
    }

    async fn update<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: Self::State<'a>,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        // Every argument forces replacement: nothing to change in place.
        Some((planned, private))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let c = client(&self.0, diags)?;
        let id = known(&prior.id)?.to_string();
        let (user, role) = split_role_assignment_id(&id)?;
        match c
            .delete(
                &format!("{ROLES}/unassign"),
                json!({"username": user, "role_id": role_id_num(role)}),
            )
            .await
        {
            Ok(_) => Some(()),
            Err(e) if e.is_not_found() => Some(()),
            Err(e) => {
                api_diag(diags, format!("to unassign role {role} from user {user:?}"), &e);
                None
            }
        }
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        if split_role_assignment_id(&id).is_none() {
            root_err(
                diags,
                "Invalid import ID",
                format!("Expected `<username>:<role_id>`, got {id:?}."),
            );
            return None;
        }
        Some((
            RoleAssignmentState {
                id: Value::Value(id),
                ..Default::default()
            },
            ValueEmpty::default(),
        ))
    }
}
