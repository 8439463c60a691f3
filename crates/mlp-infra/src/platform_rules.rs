//! Rules for the platform's own objects (terraform-provider-mlp: `mlp_*` resources), checked in
//! every module that uses them and, for values that come from tfvars, once per environment
//! (`<module>/envs/<env>.tfvars`, as `mlp infra deploy` applies them).

use std::collections::{BTreeMap, BTreeSet};

use hcl::eval::Evaluate;
use hcl::expr::TraversalOperator;
use hcl::{Expression, ObjectKey, Value};

use crate::layout::{ENVS, Layout};
use crate::model::Finding;
use crate::tf::{Module, ModuleLib, Res, Scope, expr_text, read_tfvars};

/// Arguments of the provider's resources that must name an object of the configuration, with
/// the resource types (or `data.` sources) they may refer to. A literal `*` is accepted where the
/// provider takes a pattern.
const REFERENCES: &[(&str, &str, &[&str])] = &[
    ("mlp_permission", "username", &["mlp_user"]),
    (
        "mlp_permission",
        "resource_id",
        &["mlp_experiment", "data.mlp_experiment", "mlp_registered_model"],
    ),
    ("mlp_role_permission", "role_id", &["mlp_role"]),
    (
        "mlp_role_permission",
        "resource_pattern",
        &["mlp_experiment", "data.mlp_experiment", "mlp_registered_model"],
    ),
    ("mlp_role_assignment", "username", &["mlp_user"]),
    ("mlp_role_assignment", "role_id", &["mlp_role"]),
    ("mlp_model_alias", "model", &["mlp_registered_model"]),
];

fn uses_provider(m: &Module) -> bool {
    m.resources.iter().any(|r| r.rtype.starts_with("mlp_"))
}

/// Every rule over every module that declares `mlp_*` resources or data sources.
pub fn check(layout: &Layout, lib: &ModuleLib) -> Vec<Finding> {
    let mut out = Vec::new();
    for m in lib.modules.values().filter(|m| uses_provider(m)) {
        provider_pinned(m, &mut out);
        references(m, &mut out);
        passwords(m, &mut out);
        let envs_dir = m.dir.join("envs");
        if envs_dir.is_dir() {
            per_environment(layout, lib, m, &mut out);
        }
    }
    out
}

/// MLP-001: `required_providers.mlp` with the provider's source and a version constraint;
/// without it `terraform init` looks for `hashicorp/mlp`, which does not exist.
fn provider_pinned(m: &Module, out: &mut Vec<Finding>) {
    let mut found: Option<(String, usize, Option<String>, Option<String>)> = None;
    for (file, line, body) in &m.terraform {
        for rp in body.blocks().filter(|b| b.identifier() == "required_providers") {
            for a in rp.body().attributes().filter(|a| a.key() == "mlp") {
                let get = |k: &str| match a.expr() {
                    Expression::Object(o) => o.iter().find(|(key, _)| key_name(key) == k).and_then(|(_, v)| match v {
                        Expression::String(s) => Some(s.clone()),
                        _ => None,
                    }),
                    _ => None,
                };
                found = Some((file.clone(), *line, get("source"), get("version")));
            }
        }
    }
    let first = m
        .texts
        .keys()
        .find(|f| f.ends_with("versions.tf"))
        .or_else(|| m.texts.keys().next())
        .cloned()
        .unwrap_or_default();
    let msg = match &found {
        None => Some(format!(
            "{} uses the mlp provider but required_providers has no `mlp = {{ source = \"ml-platform/mlp\", version = \"~> 0.1\" }}` (terraform init would look for hashicorp/mlp)",
            m.rel
        )),
        Some((_, _, source, _)) if !source.as_deref().is_some_and(|s| s.ends_with("/mlp")) => Some(format!(
            "required_providers.mlp has source {}: expected ml-platform/mlp (the address terraform-provider-mlp is installed under)",
            source.as_deref().unwrap_or("(none)")
        )),
        Some((_, _, _, version)) if !version.as_deref().is_some_and(bounded) => Some(format!(
            "required_providers.mlp has version {}: pin it with ~> (or an upper bound) so a new major version is never picked up unreviewed",
            version.as_deref().unwrap_or("(none)")
        )),
        _ => None,
    };
    if let Some(msg) = msg {
        let (file, line) = found.map_or((first, None), |(f, l, _, _)| (f, Some(l)));
        out.push(
            Finding::new("MLP-001", &file, "terraform.required_providers.mlp", msg)
                .line(line)
                .subject(format!("tf:{file}#terraform")),
        );
    }
}

fn bounded(v: &str) -> bool {
    let v = v.trim();
    v.starts_with("~>") || v.contains('<') || v.starts_with('=') || v.chars().next().is_some_and(|c| c.is_ascii_digit())
}

fn key_name(k: &ObjectKey) -> String {
    match k {
        ObjectKey::Identifier(i) => i.to_string(),
        ObjectKey::Expression(Expression::String(s)) => s.clone(),
        ObjectKey::Expression(e) => expr_text(e),
        _ => String::new(),
    }
}

fn attr<'a>(r: &'a Res, name: &str) -> Option<&'a Expression> {
    r.body.attributes().find(|a| a.key() == name).map(|a| a.expr())
}

/// `mlp_user.user`, `data.mlp_experiment.x`, `var.x`, `local.x`, `each.value`: the objects an
/// expression reads (first two parts of each traversal).
fn refs(e: &Expression, out: &mut Vec<String>) {
    match e {
        Expression::Traversal(t) => {
            if let Expression::Variable(v) = &t.expr {
                let names: Vec<String> = t
                    .operators
                    .iter()
                    .map_while(|op| match op {
                        TraversalOperator::GetAttr(i) => Some(i.to_string()),
                        _ => None,
                    })
                    .take(if v.as_str() == "data" { 2 } else { 1 })
                    .collect();
                out.push(
                    std::iter::once(v.to_string())
                        .chain(names)
                        .collect::<Vec<_>>()
                        .join("."),
                );
            } else {
                refs(&t.expr, out);
            }
            for op in &t.operators {
                if let TraversalOperator::Index(i) = op {
                    refs(i, out);
                }
            }
        }
        Expression::Variable(v) => out.push(v.to_string()),
        Expression::Array(a) => a.iter().for_each(|x| refs(x, out)),
        Expression::Object(o) => o.iter().for_each(|(_, v)| refs(v, out)),
        Expression::FuncCall(c) => c.args.iter().for_each(|x| refs(x, out)),
        Expression::Parenthesis(x) => refs(x, out),
        Expression::Conditional(c) => {
            refs(&c.cond_expr, out);
            refs(&c.true_expr, out);
            refs(&c.false_expr, out);
        }
        Expression::TemplateExpr(t) => {
            // "${mlp_user.x.username}": scan the template text for object references
            let text = t.to_string();
            for (i, _) in text.match_indices("${") {
                let inner: String = text[i + 2..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
                    .collect();
                let parts: Vec<&str> = inner.split('.').collect();
                let n = if parts.first() == Some(&"data") { 3 } else { 2 };
                out.push(parts.iter().take(n).copied().collect::<Vec<_>>().join("."));
            }
        }
        _ => {}
    }
}

/// The branches a value can come from (both sides of a conditional), for the reference rule.
fn branches(e: &Expression) -> Vec<&Expression> {
    match e {
        Expression::Conditional(c) => {
            let mut v = branches(&c.true_expr);
            v.extend(branches(&c.false_expr));
            v
        }
        Expression::Parenthesis(x) => branches(x),
        e => vec![e],
    }
}

/// MLP-002 (structure): a grant, alias or assignment names its object through a reference to a
/// resource (or data source) of the configuration, never a literal or a bare variable.
fn references(m: &Module, out: &mut Vec<Finding>) {
    let declared: BTreeSet<String> = m.resources.iter().map(Res::address).collect();
    for r in m.resources.iter().filter(|r| r.kind == "resource") {
        for (_, name, allowed) in REFERENCES.iter().filter(|(t, _, _)| *t == r.rtype) {
            let Some(e) = attr(r, name) else { continue };
            for b in branches(e) {
                let msg = if let Expression::String(s) = b {
                    if s == "*" && *name == "resource_pattern" {
                        continue;
                    }
                    format!(
                        "{name} = \"{s}\" is a literal: the object may not exist; refer to {} declared in this configuration (or a data source)",
                        allowed.join(" / ")
                    )
                } else {
                    let mut rs = Vec::new();
                    refs(b, &mut rs);
                    let objects: Vec<&String> = rs
                        .iter()
                        .filter(|x| x.starts_with("mlp_") || x.starts_with("data.mlp_"))
                        .collect();
                    if let Some(missing) = objects.iter().find(|x| !declared.contains(x.as_str())) {
                        format!("{name} refers to {missing}, which this configuration does not declare")
                    } else if let Some(wrong) = objects.iter().find(|x| {
                        let t = x.rsplit_once('.').map_or(x.as_str(), |(t, _)| t);
                        !allowed.contains(&t)
                    }) {
                        format!("{name} refers to {wrong}; expected {}", allowed.join(" / "))
                    } else if objects.is_empty() {
                        format!(
                            "{name} = {} names no object of the configuration: refer to {} so Terraform creates it first and the plan fails if it is missing",
                            expr_text(b).trim(),
                            allowed.join(" / ")
                        )
                    } else {
                        continue;
                    }
                };
                out.push(
                    Finding::new("MLP-002", &r.file, r.address(), msg)
                        .line(Some(r.line))
                        .subject(r.subject()),
                );
            }
        }
    }
}

/// MLP-003: a user's password only from sensitive variables (or a generated secret). A literal is
/// TF-009's finding.
fn passwords(m: &Module, out: &mut Vec<Finding>) {
    for r in m.of_type("mlp_user") {
        let Some(e) = attr(r, "password") else { continue };
        if matches!(e, Expression::String(_)) {
            continue;
        }
        let mut rs = Vec::new();
        refs(e, &mut rs);
        let generated = rs
            .iter()
            .any(|x| x.starts_with("random_password.") || x.starts_with("data.") || x.starts_with("ephemeral."));
        let vars: Vec<&str> = rs.iter().filter_map(|x| x.strip_prefix("var.")).collect();
        let loose: Vec<&str> = vars
            .iter()
            .copied()
            .filter(|v| !m.variables.get(*v).is_some_and(|x| x.sensitive))
            .collect();
        let msg = if !loose.is_empty() {
            Some(format!(
                "password comes from variable(s) {} without sensitive = true: plans and logs would show it",
                loose.join(", ")
            ))
        } else if vars.is_empty() && !generated {
            Some(format!(
                "password = {} does not come from a sensitive variable or a generated secret",
                expr_text(e).trim()
            ))
        } else {
            None
        };
        if let Some(msg) = msg {
            out.push(
                Finding::new("MLP-003", &r.file, r.address(), msg)
                    .line(Some(r.line))
                    .subject(r.subject()),
            );
        }
    }
}

/// Per environment: the tfvars define what the root needs (MLP-005), every `for_each` instance
/// refers to objects the same environment declares (MLP-002), and no team role holds MANAGE on
/// everything (MLP-004).
fn per_environment(layout: &Layout, lib: &ModuleLib, m: &Module, out: &mut Vec<Finding>) {
    for env in ENVS {
        let path = m.dir.join("envs").join(format!("{env}.tfvars"));
        let rel = layout.rel(&path);
        if !path.is_file() {
            out.push(
                Finding::new(
                    "MLP-005",
                    &m.rel,
                    format!("envs/{env}.tfvars"),
                    format!(
                        "{}/envs/{env}.tfvars is missing: `mlp infra deploy {env}` skips the platform objects",
                        m.rel
                    ),
                )
                .env(env)
                .subject(format!("file:{}", m.rel)),
            );
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let inputs = match read_tfvars(&path) {
            Ok(v) => v,
            Err(_) => continue, // TF-011 reports it
        };
        let line_of = |needle: &str| {
            text.lines()
                .position(|l| l.contains(needle) && !l.trim_start().starts_with('#'))
                .map(|i| i + 1)
        };
        tfvars_cover_variables(m, &inputs, env, &rel, &line_of, out);
        let (scope, _) = crate::tf::eval_module(m, &inputs, lib);
        instance_rules(m, &scope, env, &rel, &line_of, out);
    }
}

/// MLP-005: every variable without a default is set (the deploy passes `mlp_host` itself), and
/// nothing is set that the root does not declare (Terraform only warns and ignores the value).
fn tfvars_cover_variables(
    m: &Module,
    inputs: &hcl::Map<String, Value>,
    env: &str,
    rel: &str,
    line_of: &dyn Fn(&str) -> Option<usize>,
    out: &mut Vec<Finding>,
) {
    for (name, v) in &m.variables {
        if v.default.is_none() && !inputs.contains_key(name) && name != "mlp_host" {
            out.push(
                Finding::new(
                    "MLP-005",
                    rel,
                    format!("var.{name}"),
                    format!(
                        "{rel} does not set {name}, which {} requires (no default; declared at {}:{})",
                        m.rel, v.file, v.line
                    ),
                )
                .env(env)
                .subject(format!("file:{rel}")),
            );
        }
    }
    for name in inputs.keys().filter(|k| !m.variables.contains_key(*k)) {
        out.push(
            Finding::new(
                "MLP-005",
                rel,
                format!("var.{name}"),
                format!(
                    "{rel} sets {name}, which {} does not declare: Terraform ignores the value",
                    m.rel
                ),
            )
            .line(line_of(&format!("{name} ")).or_else(|| line_of(name)))
            .env(env)
            .subject(format!("file:{rel}")),
        );
    }
}

/// The keys a resource's `for_each` has in this environment (None: not a for_each resource, or
/// not known offline).
fn for_each_keys(r: &Res, scope: &Scope) -> Option<BTreeSet<String>> {
    let e = attr(r, "for_each")?;
    match scope.eval(e)? {
        Value::Object(o) => Some(o.keys().cloned().collect()),
        Value::Array(a) => Some(a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()),
        _ => None,
    }
}

fn instance_rules(
    m: &Module,
    scope: &Scope,
    env: &str,
    rel: &str,
    line_of: &dyn Fn(&str) -> Option<usize>,
    out: &mut Vec<Finding>,
) {
    let keys: BTreeMap<String, BTreeSet<String>> = m
        .resources
        .iter()
        .filter_map(|r| Some((r.address(), for_each_keys(r, scope)?)))
        .collect();
    for r in m
        .resources
        .iter()
        .filter(|r| r.kind == "resource" && r.rtype.starts_with("mlp_"))
    {
        let Some(Value::Object(each)) = attr(r, "for_each").and_then(|e| scope.eval(e)).map(|v| match v {
            Value::Array(a) => Value::Object(
                a.into_iter()
                    .filter_map(|x| x.as_str().map(|s| (s.to_string(), Value::from(s))))
                    .collect(),
            ),
            v => v,
        }) else {
            continue;
        };
        for (key, value) in &each {
            let mut ctx = scope.context();
            ctx.declare_var(
                "each",
                Value::Object(hcl::Map::from_iter([
                    ("key".to_string(), Value::from(key.clone())),
                    ("value".to_string(), value.clone()),
                ])),
            );
            let address = format!("{}[\"{key}\"]", r.address());
            for a in r.body.attributes() {
                let mut missing = Vec::new();
                index_keys(a.expr(), &ctx, &keys, &mut missing);
                for (target, k) in missing {
                    let have: Vec<&String> = keys.get(&target).map(|s| s.iter().collect()).unwrap_or_default();
                    out.push(
                        Finding::new(
                            "MLP-002",
                            rel,
                            address.clone(),
                            format!(
                                "{} = {target}[\"{k}\"], which {env} does not declare (it has {have:?}); \
                                 the plan would fail with \"Invalid index\"",
                                a.key()
                            ),
                        )
                        .line(line_of(&format!("\"{k}\"")).or(Some(r.line)))
                        .env(env)
                        .subject(r.subject())
                        .subject(format!("file:{rel}")),
                    );
                }
            }
            if r.rtype == "mlp_role_permission" {
                let ev = |n: &str| attr(r, n).and_then(|e| e.evaluate(&ctx).ok());
                let manage = ev("permission").as_ref().and_then(Value::as_str) == Some("MANAGE");
                let everything = ev("resource_pattern").as_ref().and_then(Value::as_str) == Some("*");
                let admin = matches!(value.as_object().and_then(|o| o.get("admin")), Some(Value::Bool(true)));
                if manage && everything && !admin {
                    let role = value
                        .as_object()
                        .and_then(|o| o.get("role"))
                        .and_then(Value::as_str)
                        .unwrap_or(key)
                        .to_string();
                    out.push(
                        Finding::new(
                            "MLP-004",
                            rel,
                            address.clone(),
                            format!(
                                "role {role} is granted MANAGE on * (every experiment and model) in {env} but is not marked admin = true"
                            ),
                        )
                        .line(line_of(&format!("\"{role}\"")).or(Some(r.line)))
                        .env(env)
                        .subject(r.subject())
                        .subject(format!("file:{rel}")),
                    );
                }
            }
        }
    }
}

/// `TYPE.NAME[key]` lookups into for_each resources whose key the environment does not declare.
/// Only the branch of a conditional Terraform takes is followed.
fn index_keys(
    e: &Expression,
    ctx: &hcl::eval::Context<'_>,
    keys: &BTreeMap<String, BTreeSet<String>>,
    out: &mut Vec<(String, String)>,
) {
    match e {
        Expression::Traversal(t) => {
            if let Expression::Variable(v) = &t.expr
                && let [TraversalOperator::GetAttr(name), TraversalOperator::Index(i), ..] = t.operators.as_slice()
            {
                let target = format!("{}.{name}", v.as_str());
                if let (Some(have), Ok(Value::String(k))) = (keys.get(&target), i.evaluate(ctx))
                    && !have.contains(&k)
                {
                    out.push((target, k));
                }
            }
        }
        Expression::Conditional(c) => match c.cond_expr.evaluate(ctx) {
            Ok(Value::Bool(true)) => index_keys(&c.true_expr, ctx, keys, out),
            Ok(Value::Bool(false)) => index_keys(&c.false_expr, ctx, keys, out),
            _ => {
                index_keys(&c.true_expr, ctx, keys, out);
                index_keys(&c.false_expr, ctx, keys, out);
            }
        },
        Expression::Parenthesis(x) => index_keys(x, ctx, keys, out),
        Expression::FuncCall(c) => c.args.iter().for_each(|x| index_keys(x, ctx, keys, out)),
        Expression::Array(a) => a.iter().for_each(|x| index_keys(x, ctx, keys, out)),
        Expression::Object(o) => o.iter().for_each(|(_, v)| index_keys(v, ctx, keys, out)),
        _ => {}
    }
}
