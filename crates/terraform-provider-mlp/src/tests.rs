//! Schema and state conversion tests. The plugin server converts state to and from the schema by
//! field name, so a field missing on either side only fails at run time inside Terraform; these
//! tests catch it at build time, and pin the API-to-state conversions that drift detection needs.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::json;
use tf_provider::schema::{AttributeConstraint, Schema};
use tf_provider::value::Value;

use crate::auth::*;
use crate::common::*;
use crate::data::*;
use crate::experiment::*;
use crate::model::*;
use crate::provider::*;
use crate::roles::*;

fn fields<T: Serialize + Default>() -> BTreeSet<String> {
    serde_json::to_value(T::default())
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn attrs(s: &Schema) -> BTreeSet<String> {
    s.block.attributes.keys().cloned().collect()
}

#[test]
fn every_schema_matches_its_state_struct() {
    let pairs: Vec<(&str, Schema, BTreeSet<String>)> = vec![
        ("provider", provider_schema(), fields::<ProviderConfig>()),
        ("mlp_experiment", experiment_schema(), fields::<ExperimentState>()),
        (
            "mlp_registered_model",
            registered_model_schema(),
            fields::<RegisteredModelState>(),
        ),
        ("mlp_model_alias", alias_schema(), fields::<AliasState>()),
        ("mlp_user", user_schema(), fields::<UserState>()),
        ("mlp_permission", permission_schema(), fields::<PermissionState>()),
        ("mlp_role", role_schema(), fields::<RoleState>()),
        (
            "mlp_role_permission",
            role_permission_schema(),
            fields::<RolePermissionState>(),
        ),
        (
            "mlp_role_assignment",
            role_assignment_schema(),
            fields::<RoleAssignmentState>(),
        ),
        (
            "data mlp_experiment",
            experiment_data_schema(),
            fields::<ExperimentData>(),
        ),
        (
            "data mlp_model_version",
            model_version_data_schema(),
            fields::<ModelVersionData>(),
        ),
        ("data mlp_server", server_data_schema(), fields::<ServerData>()),
    ];
    for (name, schema, fields) in pairs {
        assert_eq!(
            attrs(&schema),
            fields,
            "{name}: schema attributes and state fields differ"
        );
        for (attr, a) in &schema.block.attributes {
            assert!(!a.description.content.is_empty(), "{name}.{attr} has no description");
        }
    }
}

#[test]
fn secrets_are_sensitive_and_ids_computed() {
    let p = provider_schema();
    assert!(p.block.attributes["token"].sensitive && p.block.attributes["password"].sensitive);
    assert!(!p.block.attributes["host"].sensitive);
    assert!(user_schema().block.attributes["password"].sensitive);
    for s in [
        experiment_schema(),
        registered_model_schema(),
        alias_schema(),
        user_schema(),
        permission_schema(),
    ] {
        assert_eq!(s.block.attributes["id"].constraint, AttributeConstraint::Computed);
    }
}

#[test]
fn experiment_from_api_keeps_user_tags_and_config_only_fields() {
    let api = json!({
        "experiment_id": "7", "name": "shared/churn", "artifact_location": "mlflow-artifacts:/7",
        "lifecycle_stage": "active", "creation_time": "1700000000000", "last_update_time": 1700000000500i64,
        "tags": [{"key": "team", "value": "fraud"}, {"key": "mlflow.note.content", "value": "ui note"}],
    });
    let prior = ExperimentState {
        restore_on_create: Value::Value(true),
        tags: Value::Value(Default::default()),
        ..Default::default()
    };
    let s = state_from_api(&api, &prior);
    assert_eq!(s.id, Value::Value("7".into()));
    assert_eq!(s.creation_time, Value::Value(1_700_000_000_000), "int64 as a string");
    assert_eq!(s.last_update_time, Value::Value(1_700_000_000_500));
    assert_eq!(
        s.restore_on_create,
        Value::Value(true),
        "not on the server: kept from the prior state"
    );
    assert_eq!(
        tag_map(&s.tags).into_iter().collect::<Vec<_>>(),
        vec![("team".into(), "fraud".into())]
    );

    // An mlflow. tag named in the configuration is tracked (and so corrected when changed).
    let prior_with_note = ExperimentState {
        tags: Value::Value([("mlflow.note.content".to_string(), Value::Value("x".to_string()))].into()),
        ..Default::default()
    };
    assert_eq!(tag_map(&state_from_api(&api, &prior_with_note).tags).len(), 2);
}

#[test]
fn no_tags_reads_as_null_only_when_unset() {
    let api = json!({"experiment_id": "1", "tags": []});
    assert_eq!(tags_from_api(&api, &Value::Null), Value::Null);
    assert_eq!(
        tags_from_api(&api, &Value::Value(Default::default())),
        Value::Value(Default::default())
    );
    // Tags appearing on an experiment declared without tags are drift, not ignored.
    let api = json!({"tags": [{"key": "k", "value": "v"}]});
    assert_eq!(tag_map(&tags_from_api(&api, &Value::Null)).len(), 1);
}

#[test]
fn tag_changes_set_and_delete() {
    let m = |kv: &[(&str, &str)]| -> Tags {
        Value::Value(
            kv.iter()
                .map(|(k, v)| (k.to_string(), Value::Value(v.to_string())))
                .collect(),
        )
    };
    let (set, del) = tag_changes(&m(&[("a", "1"), ("b", "2")]), &m(&[("a", "1"), ("b", "3"), ("c", "4")]));
    assert_eq!(set, vec![("b".into(), "3".into()), ("c".into(), "4".into())]);
    assert!(del.is_empty());
    let (set, del) = tag_changes(&m(&[("a", "1")]), &Value::Null);
    assert!(set.is_empty());
    assert_eq!(del, vec!["a".to_string()]);
}

#[test]
fn experiment_plan_update_replaces_only_on_new_artifact_location() {
    let prior = ExperimentState {
        id: Value::Value("3".into()),
        name: Value::Value("a".into()),
        artifact_location: Value::Value("mlflow-artifacts:/3".into()),
        lifecycle_stage: Value::Value("active".into()),
        creation_time: Value::Value(1),
        last_update_time: Value::Value(2),
        ..Default::default()
    };
    // Unchanged, artifact_location left to the server: no change, no unknowns.
    let config = ExperimentState {
        name: prior.name.clone(),
        ..Default::default()
    };
    let (s, replace) = plan_update(&prior, prior.clone(), &config);
    assert!(replace.is_empty());
    assert_eq!(s, prior);
    // Renamed: in place, the update time becomes unknown, the ID stays.
    let renamed = ExperimentState {
        name: Value::Value("b".into()),
        ..prior.clone()
    };
    let (s, replace) = plan_update(&prior, renamed, &config);
    assert!(replace.is_empty());
    assert_eq!(s.id, prior.id);
    assert_eq!(s.last_update_time, Value::Unknown);
    // A different artifact location: replaced, computed values unknown.
    let moved = ExperimentState {
        artifact_location: Value::Value("mlflow-artifacts:/other".into()),
        ..prior.clone()
    };
    let config = ExperimentState {
        artifact_location: moved.artifact_location.clone(),
        ..config
    };
    let (s, replace) = plan_update(&prior, moved, &config);
    assert_eq!(replace.len(), 1);
    assert_eq!(s.id, Value::Unknown);
}

#[test]
fn registered_model_conversions() {
    let api = json!({"name": "m", "description": "", "creation_timestamp": 5, "last_updated_timestamp": 6, "tags": []});
    let s = model_from_api(&api, &RegisteredModelState::default());
    assert_eq!(s.description, Value::Null, "an empty description is none");
    assert_eq!(s.id, Value::Value("m".into()));
    let prior = s.clone();
    let (p, replace) = plan_model_update(
        &prior,
        RegisteredModelState {
            name: Value::Value("n".into()),
            ..prior.clone()
        },
    );
    assert!(replace.is_empty(), "a rename is in place");
    assert_eq!(p.id, Value::Value("n".into()));
    assert_eq!(p.last_updated_timestamp, Value::Unknown);
}

#[test]
fn alias_rules_follow_mlflow() {
    for ok in ["champion", "prod-2", "A_b", "v", "vx1"] {
        assert_eq!(alias_problem(ok), None, "{ok}");
    }
    for bad in ["", "latest", "LATEST", "v1", "V22", "a b", "a/b", "a@b"] {
        assert!(alias_problem(bad).is_some(), "{bad:?} accepted");
    }
    assert_eq!(version_problem("12"), None);
    for bad in ["0", "-1", "01", "1.0", "two", ""] {
        assert!(version_problem(bad).is_some(), "{bad:?} accepted");
    }
    assert_eq!(split_alias_id("a@b@champion"), Some(("a@b", "champion")));
    assert_eq!(split_alias_id("nochampion"), None);
    assert_eq!(split_alias_id("m@"), None);
    let prior = AliasState {
        id: Value::Value("m@a".into()),
        model: Value::Value("m".into()),
        alias: Value::Value("a".into()),
        version: Value::Value("1".into()),
    };
    let (_, r) = plan_alias_update(
        &prior,
        AliasState {
            version: Value::Value("2".into()),
            ..prior.clone()
        },
    );
    assert!(r.is_empty(), "moving an alias is in place");
    let (s, r) = plan_alias_update(
        &prior,
        AliasState {
            alias: Value::Value("b".into()),
            ..prior.clone()
        },
    );
    assert_eq!(r.len(), 1);
    assert_eq!(s.id, Value::Value("m@b".into()));
}

#[test]
fn permission_ids_and_user_state() {
    assert_eq!(
        split_permission_id("bob:experiment:12"),
        Some(("bob", "experiment", "12"))
    );
    assert_eq!(
        split_permission_id("bob:registered_model:a:b"),
        Some(("bob", "registered_model", "a:b"))
    );
    assert_eq!(split_permission_id("bob:run:1"), None);
    assert_eq!(split_permission_id("bob:experiment:"), None);
    // The password is never read back; is_admin false stays null when unset.
    let prior = UserState {
        password: Value::Value("secret-password".into()),
        ..Default::default()
    };
    let s = user_from_api(&json!({"id": 4, "username": "bob", "is_admin": false}), &prior);
    assert_eq!(s.password, prior.password);
    assert_eq!(s.is_admin, Value::Null);
    assert_eq!(s.user_id, Value::Value(4));
    let s = user_from_api(&json!({"id": 4, "username": "bob", "is_admin": true}), &prior);
    assert_eq!(
        s.is_admin,
        Value::Value(true),
        "admin granted behind Terraform's back is drift"
    );
}

#[test]
fn model_version_data_conversion() {
    let mv = json!({"name": "m", "version": "3", "source": "runs:/r1/model", "run_id": "", "status": "READY",
                    "aliases": ["champion"], "tags": [{"key": "k", "value": "v"}], "creation_timestamp": 9});
    let lookup = ModelVersionData {
        model: Value::Value("m".into()),
        alias: Value::Value("champion".into()),
        ..Default::default()
    };
    let d = model_version_from_api(&mv, &lookup);
    assert_eq!(d.version, Value::Value("3".into()));
    assert_eq!(d.run_id, Value::Null, "no run is null, not empty");
    assert_eq!(d.aliases, Value::Value(vec![Value::Value("champion".into())]));
    assert_eq!(d.alias, lookup.alias);
}

#[test]
fn provider_settings_resolution() {
    let c = |host: &str| ProviderConfig {
        host: Value::Value(host.into()),
        token: Value::Value("t".into()),
        ..Default::default()
    };
    let (host, creds, timeout) = resolve(&c("http://127.0.0.1:5000")).unwrap();
    assert_eq!(host, "http://127.0.0.1:5000");
    assert!(matches!(creds, crate::client::Credentials::Token(t) if t == "t"));
    assert_eq!(timeout.as_secs(), DEFAULT_TIMEOUT_SECONDS as u64);
    assert_eq!(resolve(&c("127.0.0.1:5000")).unwrap_err().2, "host");
    let both = ProviderConfig {
        username: Value::Value("u".into()),
        password: Value::Value("p".into()),
        ..c("http://h")
    };
    assert_eq!(resolve(&both).unwrap_err().0, "Conflicting credentials");
    let zero = ProviderConfig {
        timeout_seconds: Value::Value(0),
        ..c("http://h")
    };
    assert_eq!(resolve(&zero).unwrap_err().2, "timeout_seconds");
    let basic = ProviderConfig {
        host: Value::Value("https://h".into()),
        username: Value::Value("u".into()),
        password: Value::Value("p".into()),
        timeout_seconds: Value::Value(5),
        ..Default::default()
    };
    // Env tokens would win over a block's username only when the block sets no token: keep
    // this case independent of the environment by checking Basic only when none is set.
    if std::env::var("MLP_TOKEN").is_err() && std::env::var("MLFLOW_TRACKING_TOKEN").is_err() {
        let (_, creds, timeout) = resolve(&basic).unwrap();
        assert!(matches!(creds, crate::client::Credentials::Basic(u, p) if u == "u" && p == "p"));
        assert_eq!(timeout.as_secs(), 5);
    }
}

#[test]
fn validation_messages_name_the_attribute() {
    use tf_provider::Diagnostics;
    let mut d = Diagnostics::default();
    validate_config(
        &mut d,
        &ExperimentState {
            name: Value::Value(String::new()),
            ..Default::default()
        },
    );
    assert_eq!(d.errors.len(), 1);
    assert_eq!(d.errors[0].summary, "Invalid name");
    assert!(!d.errors[0].detail.contains("backtrace"));
    // Unknown values (from other resources) are not judged at plan time.
    let mut d = Diagnostics::default();
    validate_config(
        &mut d,
        &ExperimentState {
            name: Value::Unknown,
            ..Default::default()
        },
    );
    validate_permission(
        &mut d,
        &PermissionState {
            permission: Value::Unknown,
            ..Default::default()
        },
    );
    assert!(d.errors.is_empty());
    let mut d = Diagnostics::default();
    validate_permission(
        &mut d,
        &PermissionState {
            permission: Value::Value("NO_PERMISSIONS".into()),
            ..Default::default()
        },
    );
    assert!(d.errors[0].detail.contains("remove the grant"));
}

#[test]
fn role_wire_shapes() {
    // MLflow 3.17.2's Role.to_json and RolePermission.to_json.
    let r =
        role_from_api(&json!({"id": 3, "name": "ml", "workspace": "default", "description": null, "permissions": []}));
    assert_eq!(r.id, Value::Value("3".into()));
    assert_eq!(r.description, Value::Null);
    assert_eq!(split_role_permission_id("3:17"), Some(("3", "17")));
    assert_eq!(split_role_permission_id("3"), None);
    assert_eq!(split_role_permission_id("a:1"), None);
    let mut d = tf_provider::Diagnostics::default();
    validate_role_permission(
        &mut d,
        &RolePermissionState {
            resource_type: Value::Value("workspace".into()),
            permission: Value::Value("EDIT".into()),
            ..Default::default()
        },
    );
    assert!(d.errors[0].detail.contains("USE, MANAGE"));
}

#[test]
fn role_permission_validation() {
    let check = |t: &str, pattern: &str, perm: &str| {
        let mut d = tf_provider::Diagnostics::default();
        validate_role_permission(
            &mut d,
            &RolePermissionState {
                resource_type: Value::Value(t.into()),
                resource_pattern: Value::Value(pattern.into()),
                permission: Value::Value(perm.into()),
                ..Default::default()
            },
        );
        d.errors.into_iter().map(|e| e.summary).collect::<Vec<_>>()
    };
    assert!(check("experiment", "1", "EDIT").is_empty());
    assert!(check("workspace", "*", "MANAGE").is_empty());
    assert_eq!(check("prompt", "*", "READ"), ["Invalid resource_type"]);
    assert_eq!(check("workspace", "1", "USE"), ["Invalid resource_pattern"]);
    assert!(check("jobs", "*", "USE").is_empty());
    assert_eq!(check("jobs", "gpu", "USE"), ["Invalid resource_pattern"]);
    assert_eq!(check("jobs", "*", "EDIT"), ["Invalid permission"]);
}

#[test]
fn role_assignment_ids() {
    assert_eq!(split_role_assignment_id("alice:4"), Some(("alice", "4")));
    assert_eq!(split_role_assignment_id("a@b.c:12"), Some(("a@b.c", "12")));
    assert_eq!(split_role_assignment_id("alice"), None);
    assert_eq!(split_role_assignment_id(":4"), None);
    assert_eq!(split_role_assignment_id("alice:x"), None);
}
