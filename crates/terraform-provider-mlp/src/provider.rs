//! The provider block: where the server is and how to authenticate.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeConstraint::*, AttributeType, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{Diagnostics, DynamicDataSource, DynamicResource, Provider};

use crate::client::{Client, Credentials};
use crate::common::*;

pub const DEFAULT_TIMEOUT_SECONDS: i64 = 30;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderConfig {
    pub host: Str,
    pub token: Str,
    pub username: Str,
    pub password: Str,
    pub timeout_seconds: Num,
}

#[derive(Default)]
pub struct MlpProvider {
    pub shared: Shared,
}

pub fn provider_schema() -> Schema {
    let mut password = attr(
        AttributeType::String,
        Optional,
        "Password for HTTP Basic authentication. Defaults to `MLFLOW_TRACKING_PASSWORD`.",
    );
    password.sensitive = true;
    let mut token = attr(
        AttributeType::String,
        Optional,
        "Personal access token, sent as `Authorization: Bearer`. Defaults to `MLP_TOKEN`, then `MLFLOW_TRACKING_TOKEN`.",
    );
    token.sensitive = true;
    schema(
        "The mlp provider manages the platform's own objects (experiments, registered models, aliases, users and grants) on an `mlp server` through its MLflow REST API.",
        vec![
            (
                "host",
                attr(
                    AttributeType::String,
                    Optional,
                    "Base URL of the mlp server, e.g. `http://127.0.0.1:5000`. Defaults to `MLP_SERVER`, then `MLFLOW_TRACKING_URI`.",
                ),
            ),
            ("token", token),
            (
                "username",
                attr(
                    AttributeType::String,
                    Optional,
                    "User for HTTP Basic authentication. Defaults to `MLFLOW_TRACKING_USERNAME`.",
                ),
            ),
            ("password", password),
            (
                "timeout_seconds",
                attr(
                    AttributeType::Number,
                    Optional,
                    "Timeout of each request to the server, in seconds (default 30).",
                ),
            ),
        ],
    )
}

fn env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

/// The effective settings: the block's values, else the environment. `Err` is a diagnostic's
/// (summary, detail, attribute).
pub fn resolve(c: &ProviderConfig) -> Result<(String, Credentials, Duration), (String, String, &'static str)> {
    let host = known(&c.host)
        .map(str::to_string)
        .or_else(|| env(&["MLP_SERVER", "MLFLOW_TRACKING_URI"]))
        .ok_or_else(|| {
            (
                "No mlp server configured".to_string(),
                "Set `host` in the provider block, or the MLP_SERVER environment variable.".to_string(),
                "host",
            )
        })?;
    if !(host.starts_with("http://") || host.starts_with("https://")) {
        return Err((
            "Invalid host".into(),
            format!("host must be an http:// or https:// URL, got {host:?}."),
            "host",
        ));
    }
    let token = known(&c.token)
        .map(str::to_string)
        .or_else(|| env(&["MLP_TOKEN", "MLFLOW_TRACKING_TOKEN"]));
    let username = known(&c.username)
        .map(str::to_string)
        .or_else(|| env(&["MLFLOW_TRACKING_USERNAME"]));
    let password = known(&c.password)
        .map(str::to_string)
        .or_else(|| env(&["MLFLOW_TRACKING_PASSWORD"]));
    let creds = match (token, username, password) {
        (Some(_), Some(_), _) if known(&c.token).is_some() && known(&c.username).is_some() => {
            return Err((
                "Conflicting credentials".into(),
                "Set either `token` or `username`/`password`, not both.".into(),
                "token",
            ));
        }
        (Some(t), _, _) => Credentials::Token(t),
        (None, Some(u), Some(p)) => Credentials::Basic(u, p),
        (None, Some(_), None) => {
            return Err((
                "Missing password".into(),
                "`username` is set but no `password` (or MLFLOW_TRACKING_PASSWORD).".into(),
                "password",
            ));
        }
        (None, None, _) => Credentials::None,
    };
    let secs = match c.timeout_seconds {
        Value::Value(s) => s,
        _ => DEFAULT_TIMEOUT_SECONDS,
    };
    if secs <= 0 {
        return Err((
            "Invalid timeout_seconds".into(),
            format!("timeout_seconds must be a positive number of seconds, got {secs}."),
            "timeout_seconds",
        ));
    }
    Ok((host, creds, Duration::from_secs(secs as u64)))
}

#[async_trait]
impl Provider for MlpProvider {
    type Config<'a> = ProviderConfig;
    type MetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(provider_schema())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::Config<'a>) -> Option<()> {
        if let Value::Value(s) = config.timeout_seconds
            && s <= 0
        {
            err(
                diags,
                "Invalid timeout_seconds",
                format!("timeout_seconds must be a positive number of seconds, got {s}."),
                path("timeout_seconds"),
            );
        }
        if let Some(h) = known(&config.host)
            && !(h.starts_with("http://") || h.starts_with("https://"))
        {
            err(
                diags,
                "Invalid host",
                format!("host must be an http:// or https:// URL, got {h:?}."),
                path("host"),
            );
        }
        Some(())
    }

    async fn configure<'a>(
        &self,
        diags: &mut Diagnostics,
        _tf_version: String,
        config: Self::Config<'a>,
    ) -> Option<()> {
        // A host that comes from a resource not yet created is unknown during the plan: the
        // provider stays unconfigured and resources say so if they need the server then.
        if is_unknown(&config.host) {
            return Some(());
        }
        let (host, creds, timeout) = match resolve(&config) {
            Ok(r) => r,
            Err((summary, detail, attr)) => {
                err(diags, summary, detail, path(attr));
                return None;
            }
        };
        let client = match Client::new(&host, creds, timeout) {
            Ok(c) => c,
            Err(e) => {
                err(diags, "Invalid host", e.to_string(), path("host"));
                return None;
            }
        };
        // Fail once, early and clearly, rather than once per resource.
        if let Err(e) = client.get_text("/health").await {
            root_err(
                diags,
                "Cannot reach the mlp server",
                format!("{e}\n\nCheck `host` (or MLP_SERVER) and that `mlp server` is running."),
            );
            return None;
        }
        if let Ok(mut g) = self.shared.write() {
            *g = Some(client);
        }
        Some(())
    }

    fn get_resources(&self, _diags: &mut Diagnostics) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        let s = &self.shared;
        use crate::managed::Managed;
        let all: Vec<(&str, Box<dyn DynamicResource>)> = vec![
            (
                "experiment",
                Box::new(Managed::<crate::experiment::Experiment>::new(s.clone())),
            ),
            (
                "registered_model",
                Box::new(Managed::<crate::model::RegisteredModel>::new(s.clone())),
            ),
            (
                "model_alias",
                Box::new(Managed::<crate::model::ModelAlias>::new(s.clone())),
            ),
            ("user", Box::new(Managed::<crate::auth::User>::new(s.clone()))),
            (
                "permission",
                Box::new(Managed::<crate::auth::Permission>::new(s.clone())),
            ),
            ("role", Box::new(Managed::<crate::roles::Role>::new(s.clone()))),
            (
                "role_permission",
                Box::new(Managed::<crate::roles::RolePermission>::new(s.clone())),
            ),
            (
                "role_assignment",
                Box::new(Managed::<crate::roles::RoleAssignment>::new(s.clone())),
            ),
        ];
        Some(all.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    fn get_data_sources(&self, _diags: &mut Diagnostics) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        let s = &self.shared;
        let all: Vec<(&str, Box<dyn DynamicDataSource>)> = vec![
            ("experiment", Box::new(crate::data::ExperimentDataSource(s.clone()))),
            (
                "model_version",
                Box::new(crate::data::ModelVersionDataSource(s.clone())),
            ),
            ("server", Box::new(crate::data::ServerDataSource(s.clone()))),
        ];
        Some(all.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }
}
