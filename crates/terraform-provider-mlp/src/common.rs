//! Pieces shared by every resource and data source: the configured client, schema builders,
//! diagnostics and the conversions between Terraform values and the API's JSON.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use serde_json::{Value as Json, json};
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Block, Description, Schema};
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostic, Diagnostics};

use crate::client::{ApiError, Client};

/// The client made by `configure`, shared with the resources that the plugin server asks for
/// before the provider is configured.
pub type Shared = Arc<RwLock<Option<Client>>>;

pub type Str = Value<String>;
pub type Num = Value<i64>;
pub type Bool = Value<bool>;
pub type Tags = Value<BTreeMap<String, Value<String>>>;
pub type StrList = Value<Vec<Value<String>>>;

pub fn client(shared: &Shared, diags: &mut Diagnostics) -> Option<Client> {
    let c = shared.read().ok().and_then(|g| g.clone());
    if c.is_none() {
        root_err(
            diags,
            "The mlp provider is not configured",
            "Set `host` in the provider block (or MLP_SERVER). When the host comes from another resource, \
             apply that resource first.",
        );
    }
    c
}

/// An API failure as a diagnostic: what we were doing, then what the server (or the network) said.
pub fn api_diag(diags: &mut Diagnostics, doing: impl Into<String>, err: &ApiError) {
    let doing = doing.into();
    let mut detail = err.to_string();
    match err {
        ApiError::Api { status: 401, .. } => detail.push_str(
            "\n\nThe server requires credentials: set `token` (MLP_TOKEN) or `username`/`password` \
             (MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD) in the provider block.",
        ),
        ApiError::Api { status: 403, .. } => {
            detail.push_str("\n\nThe provider's user lacks the permission this needs (see README \"Security\").")
        }
        _ => {}
    }
    root_err(diags, format!("Failed {doing}"), detail);
}

pub fn attr(t: AttributeType, c: AttributeConstraint, desc: &str) -> Attribute {
    Attribute {
        attr_type: t,
        description: Description::markdown(desc),
        constraint: c,
        ..Default::default()
    }
}

pub fn string_map() -> AttributeType {
    AttributeType::Map(Box::new(AttributeType::String))
}

pub fn schema(desc: &str, attributes: Vec<(&str, Attribute)>) -> Schema {
    Schema {
        version: 1,
        block: Block {
            version: 1,
            attributes: attributes
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect::<HashMap<_, _>>(),
            description: Description::markdown(desc),
            ..Default::default()
        },
    }
}

pub fn known(v: &Str) -> Option<&str> {
    match v {
        Value::Value(s) => Some(s.as_str()),
        _ => None,
    }
}

pub fn is_unknown<T>(v: &Value<T>) -> bool {
    matches!(v, Value::Unknown)
}

pub fn flag(v: &Bool) -> bool {
    matches!(v, Value::Value(true))
}

pub fn str_of(j: &Json, key: &str) -> Str {
    match j.get(key) {
        Some(Json::String(s)) => Value::Value(s.clone()),
        Some(Json::Number(n)) => Value::Value(n.to_string()),
        _ => Value::Null,
    }
}

/// int64 fields come as numbers or strings (proto3 JSON).
pub fn num_of(j: &Json, key: &str) -> Num {
    match j.get(key) {
        Some(Json::Number(n)) => n.as_i64().map(Value::Value).unwrap_or(Value::Null),
        Some(Json::String(s)) => s.parse().map(Value::Value).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// The known entries of a tags map; unknown or null entries are left out.
pub fn tag_map(v: &Tags) -> BTreeMap<String, String> {
    match v {
        Value::Value(m) => m
            .iter()
            .filter_map(|(k, v)| match v {
                Value::Value(s) => Some((k.clone(), s.clone())),
                _ => None,
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The API's `[{key, value}]` as a Terraform map. Tags under `mlflow.` are MLflow's own (notes
/// written by the UI, system tags); they are only tracked when the configuration names them, so
/// that the UI writing a note is not drift. No tags reads as null when the prior value was null,
/// so that leaving `tags` out of the configuration is not a change.
pub fn tags_from_api(j: &Json, prior: &Tags) -> Tags {
    let prior_map = tag_map(prior);
    let mut out = BTreeMap::new();
    if let Some(items) = j.get("tags").and_then(Json::as_array) {
        for t in items {
            let Some(k) = t.get("key").and_then(Json::as_str) else {
                continue;
            };
            if k.starts_with("mlflow.") && !prior_map.contains_key(k) {
                continue;
            }
            let v = t.get("value").and_then(Json::as_str).unwrap_or("");
            out.insert(k.to_string(), Value::Value(v.to_string()));
        }
    }
    if out.is_empty() && !matches!(prior, Value::Value(_)) {
        Value::Null
    } else {
        Value::Value(out)
    }
}

pub fn tags_to_api(v: &Tags) -> Json {
    Json::Array(
        tag_map(v)
            .into_iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect(),
    )
}

/// What to set and what to delete to go from `old` to `new`.
pub fn tag_changes(old: &Tags, new: &Tags) -> (Vec<(String, String)>, Vec<String>) {
    let (old, new) = (tag_map(old), tag_map(new));
    let set = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let delete = old.keys().filter(|k| !new.contains_key(*k)).cloned().collect();
    (set, delete)
}

pub fn tags_differ(a: &Tags, b: &Tags) -> bool {
    tag_map(a) != tag_map(b)
}

pub fn path(name: &'static str) -> AttributePath {
    AttributePath::new(name)
}

/// A name check shared by the resources: empty, NUL, surrounding spaces and length.
pub fn check_name(diags: &mut Diagnostics, attr: &'static str, what: &str, v: &Str, max: usize) {
    let Some(name) = known(v) else { return };
    let problem = if name.is_empty() {
        Some(format!("{what} must not be empty."))
    } else if name.contains('\0') {
        Some(format!("{what} must not contain a NUL character."))
    } else if name.trim() != name {
        Some(format!("{what} {name:?} has leading or trailing whitespace."))
    } else if name.chars().count() > max {
        Some(format!(
            "{what} is {} characters long; the server accepts at most {max}.",
            name.chars().count()
        ))
    } else {
        None
    };
    if let Some(p) = problem {
        err(diags, format!("Invalid {attr}"), p, path(attr));
    }
}

/// An error on one attribute. Built by hand: `Diagnostics::error` appends a backtrace to the
/// detail whenever RUST_BACKTRACE is set in Terraform's environment, burying the message.
pub fn err(diags: &mut Diagnostics, summary: impl Into<String>, detail: impl Into<String>, at: AttributePath) {
    diags.add_error(Diagnostic {
        summary: summary.into().into(),
        detail: detail.into().into(),
        attribute: at,
    });
}

/// An error about the whole resource or provider block.
pub fn root_err(diags: &mut Diagnostics, summary: impl Into<String>, detail: impl Into<String>) {
    err(diags, summary, detail, AttributePath::root());
}

/// The attributes among `(name, prior, proposed)` whose value changes: for the arguments whose
/// change replaces a resource.
pub fn changed<T: PartialEq>(pairs: &[(&'static str, &Value<T>, &Value<T>)]) -> Vec<AttributePath> {
    pairs
        .iter()
        .filter(|(_, a, b)| a != b)
        .map(|(name, _, _)| path(name))
        .collect()
}
