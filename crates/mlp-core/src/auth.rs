//! Users, per-resource grants and personal access tokens, shaped like MLflow 3.17.2's basic-auth
//! app (`mlflow/server/auth/`), so that its `AuthServiceClient` works unchanged. Hashing and the
//! HTTP rules live in the server; this module is the vocabulary and the store trait.

use async_trait::async_trait;

use crate::{Error, Result};

/// MLflow's permission levels (`mlflow/server/auth/permissions.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    NoPermissions,
    Read,
    Use,
    Edit,
    Manage,
    /// An explicit deny: wins over the default permission, hides the resource from search.
    Deny,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::NoPermissions => "NO_PERMISSIONS",
            Permission::Read => "READ",
            Permission::Use => "USE",
            Permission::Edit => "EDIT",
            Permission::Manage => "MANAGE",
            Permission::Deny => "DENY",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "NO_PERMISSIONS" => Permission::NoPermissions,
            "READ" => Permission::Read,
            "USE" => Permission::Use,
            "EDIT" => Permission::Edit,
            "MANAGE" => Permission::Manage,
            "DENY" => Permission::Deny,
            _ => {
                return Err(Error::invalid(format!(
                    "Invalid permission '{s}'. Valid permissions are: READ, USE, EDIT, MANAGE, NO_PERMISSIONS, DENY"
                )));
            }
        })
    }

    /// Order of capability; DENY and NO_PERMISSIONS grant nothing.
    fn rank(self) -> u8 {
        match self {
            Permission::Deny | Permission::NoPermissions => 0,
            Permission::Read => 1,
            Permission::Use => 2,
            Permission::Edit => 3,
            Permission::Manage => 4,
        }
    }

    /// Whether holding `self` is enough for an action that needs `needed`.
    pub fn allows(self, needed: Permission) -> bool {
        needed.rank() > 0 && self.rank() >= needed.rank()
    }
}

/// What a grant is on. Runs, logged models and artifacts follow their experiment; model
/// versions follow their registered model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    Experiment,
    RegisteredModel,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Experiment => "experiment",
            ResourceKind::RegisteredModel => "registered_model",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "experiment" => Ok(ResourceKind::Experiment),
            "registered_model" => Ok(ResourceKind::RegisteredModel),
            _ => Err(Error::invalid(format!(
                "resource_type '{s}' is not supported: this server has grants on 'experiment' and 'registered_model'"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    /// A PHC string (`$argon2id$…`); never leaves the server.
    pub password_hash: String,
    pub is_admin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub user_id: i64,
    pub kind: ResourceKind,
    /// An experiment id or a registered model's name; `*` for every resource of the kind.
    pub resource_id: String,
    pub permission: Permission,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: String,
    pub user_id: i64,
    pub name: String,
    pub created_at: i64,
    /// Milliseconds since the epoch; `None` never expires.
    pub expires_at: Option<i64>,
}

/// A job attempt's credential: it may write `run_id` and read `experiment_id`, nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobToken {
    pub job_id: String,
    pub run_id: String,
    pub experiment_id: String,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
    /// The job's submitter: registering a model from the run uses their registry permissions.
    pub owner: Option<String>,
}

/// The one workspace this server has (MLflow's default when workspaces are off).
pub const DEFAULT_WORKSPACE: &str = "default";

/// A role (MLflow 3.17.2's RBAC): named per workspace, holding permissions on resource patterns,
/// assigned to users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub workspace: String,
    pub description: Option<String>,
    pub permissions: Vec<RolePermission>,
}

/// One permission of a role: on every resource of a type (`*`) or on one id. `resource_type` is
/// `experiment`, `registered_model`, or `workspace` (with `*`: USE is membership, MANAGE makes
/// the role's users admins of the workspace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePermission {
    pub id: i64,
    pub role_id: i64,
    pub resource_type: String,
    pub resource_pattern: String,
    pub permission: Permission,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignment {
    pub id: i64,
    pub user_id: i64,
    pub role_id: i64,
}

/// The longest username and token name accepted (MLflow's column is 255).
pub const MAX_NAME_LEN: usize = 255;

/// MLflow's password policy (`mlflow.utils.validation._validate_password`).
pub const MIN_PASSWORD_LEN: usize = 12;

pub fn validate_username(username: &str) -> Result<()> {
    if username.is_empty() {
        return Err(Error::invalid("Username cannot be empty."));
    }
    if username.len() > MAX_NAME_LEN || username.contains(['\0', ':']) {
        // `:` would make the Basic credentials `user:pass` ambiguous.
        return Err(Error::invalid(format!(
            "Username must be at most {MAX_NAME_LEN} characters, without ':' or NUL."
        )));
    }
    Ok(())
}

pub fn validate_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::invalid(format!(
            "Password must be at least {MIN_PASSWORD_LEN} characters."
        )));
    }
    Ok(())
}

#[async_trait]
pub trait AuthStore: Send + Sync + 'static {
    /// `RESOURCE_ALREADY_EXISTS` when the username is taken.
    async fn create_user(&self, username: &str, password_hash: &str, is_admin: bool) -> Result<User>;
    /// `RESOURCE_DOES_NOT_EXIST` when there is no such user.
    async fn get_user(&self, username: &str) -> Result<User>;
    async fn get_user_by_id(&self, id: i64) -> Result<User>;
    async fn list_users(&self) -> Result<Vec<User>>;
    async fn update_user(&self, username: &str, password_hash: Option<&str>, is_admin: Option<bool>) -> Result<()>;
    /// Removes the user with their grants and tokens.
    async fn delete_user(&self, username: &str) -> Result<()>;

    /// `RESOURCE_ALREADY_EXISTS` when the user already has a grant on the resource, unless
    /// `replace` (MLflow's grant refuses a duplicate; the creator's MANAGE replaces).
    async fn put_grant(&self, grant: &Grant, replace: bool) -> Result<()>;
    /// `RESOURCE_DOES_NOT_EXIST` when there is no such grant.
    async fn delete_grant(&self, user_id: i64, kind: ResourceKind, resource_id: &str) -> Result<()>;
    async fn get_grant(&self, user_id: i64, kind: ResourceKind, resource_id: &str) -> Result<Option<Permission>>;
    async fn list_grants(&self, user_id: i64) -> Result<Vec<Grant>>;
    /// Grants follow a registered model that is renamed.
    async fn rename_resource(&self, kind: ResourceKind, old_id: &str, new_id: &str) -> Result<()>;
    /// Grants go with a resource that is deleted, so a new one of the same name starts clean.
    async fn delete_resource_grants(&self, kind: ResourceKind, resource_id: &str) -> Result<()>;

    async fn create_token(&self, token: &Token, secret_hash: &str) -> Result<()>;
    async fn list_tokens(&self, user_id: i64) -> Result<Vec<Token>>;
    /// The token with this hash and its user, expired or not (the caller checks the expiry).
    async fn find_token(&self, secret_hash: &str) -> Result<Option<(Token, User)>>;
    /// `RESOURCE_DOES_NOT_EXIST` unless the user owns a token with this id.
    async fn delete_token(&self, user_id: i64, token_id: &str) -> Result<()>;

    async fn create_job_token(&self, token: &JobToken, secret_hash: &str) -> Result<()>;
    /// The job token with this hash, expired or not (the caller checks the expiry).
    async fn find_job_token(&self, secret_hash: &str) -> Result<Option<JobToken>>;
    /// Removes every token of the job; also drops expired tokens of any job, which keeps the
    /// table to the attempts running now.
    async fn delete_job_tokens(&self, job_id: &str, now_ms: i64) -> Result<()>;

    /// `RESOURCE_ALREADY_EXISTS` when the workspace has a role of that name.
    async fn create_role(&self, name: &str, workspace: &str, description: Option<&str>) -> Result<Role>;
    /// `RESOURCE_DOES_NOT_EXIST` when there is no such role (so for every role method).
    async fn get_role(&self, role_id: i64) -> Result<Role>;
    async fn list_roles(&self) -> Result<Vec<Role>>;
    async fn update_role(&self, role_id: i64, name: Option<&str>, description: Option<&str>) -> Result<Role>;
    /// Removes the role with its permissions and assignments.
    async fn delete_role(&self, role_id: i64) -> Result<()>;
    /// `RESOURCE_ALREADY_EXISTS` when the role has a permission on that type and pattern.
    async fn add_role_permission(
        &self,
        role_id: i64,
        resource_type: &str,
        resource_pattern: &str,
        permission: Permission,
    ) -> Result<RolePermission>;
    async fn get_role_permission(&self, id: i64) -> Result<RolePermission>;
    async fn update_role_permission(&self, id: i64, permission: Permission) -> Result<RolePermission>;
    async fn remove_role_permission(&self, id: i64) -> Result<()>;
    /// `RESOURCE_ALREADY_EXISTS` when already assigned.
    async fn assign_role(&self, user_id: i64, role_id: i64) -> Result<RoleAssignment>;
    async fn unassign_role(&self, user_id: i64, role_id: i64) -> Result<()>;
    async fn list_user_roles(&self, user_id: i64) -> Result<Vec<Role>>;
    async fn list_role_users(&self, role_id: i64) -> Result<Vec<RoleAssignment>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_order_and_deny_grants_nothing() {
        assert!(Permission::Manage.allows(Permission::Edit));
        assert!(Permission::Edit.allows(Permission::Read));
        assert!(!Permission::Use.allows(Permission::Edit));
        assert!(!Permission::Deny.allows(Permission::Read));
        assert!(!Permission::NoPermissions.allows(Permission::Read));
        // Nothing satisfies a requirement of "no permission": such a check is a bug.
        assert!(!Permission::Manage.allows(Permission::Deny));
        for p in ["READ", "USE", "EDIT", "MANAGE", "NO_PERMISSIONS", "DENY"] {
            assert_eq!(Permission::parse(p).unwrap().as_str(), p);
        }
        assert!(Permission::parse("read").is_err());
    }

    #[test]
    fn usernames_and_passwords() {
        assert!(validate_username("").is_err());
        assert!(validate_username("a:b").is_err());
        assert!(validate_username("alice").is_ok());
        assert!(validate_password("short").is_err());
        assert!(validate_password("twelve-chars").is_ok());
    }
}
