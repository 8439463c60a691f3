//! `mlp infra report`: the environment comparison, derived from Terraform (env-config evaluated
//! with each environment's tfvars) and the rendered overlays, then parity differences and a
//! findings summary, as Markdown.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use hcl::Value as H;
use serde_json::Value;

use crate::check::CheckResult;
use crate::k8s::{find, parse_image};
use crate::layout::{ENVS, Layout};
use crate::model::{RULES, Severity};
use crate::tf::ModuleLib;
use crate::tf_rules::env_config;

fn get<'a>(v: &'a H, path: &[&str]) -> Option<&'a H> {
    let mut cur = v;
    for p in path {
        match cur {
            H::Object(m) => cur = m.get(*p)?,
            _ => return None,
        }
    }
    Some(cur)
}

fn s(v: Option<&H>) -> String {
    match v {
        Some(H::String(x)) => x.clone(),
        Some(H::Null) | None => "?".into(),
        Some(x) => x.to_string(),
    }
}

fn product(kind: &str, v: &str) -> String {
    match (kind, v) {
        ("cluster", "kind") => "Kind".into(),
        ("cluster", "eks") => "EKS".into(),
        (_, "postgresql-in-cluster") => "PostgreSQL (in-cluster)".into(),
        (_, "rds") => "RDS PostgreSQL".into(),
        (_, "redis-in-cluster") => "Redis (in-cluster)".into(),
        (_, "elasticache") => "ElastiCache Redis".into(),
        (_, "minio") => "MinIO".into(),
        (_, "s3") => "S3".into(),
        (_, "local-registry") => "local registry".into(),
        (_, "ecr") => "ECR".into(),
        (_, "nginx") => "NGINX".into(),
        (_, "alb") => "ALB".into(),
        (_, x) => x.into(),
    }
}

/// One environment's row values, keyed by aspect.
pub fn environment_rows(
    layout: &Layout,
    lib: &ModuleLib,
    rendered: &BTreeMap<String, Vec<Value>>,
) -> (Vec<&'static str>, BTreeMap<String, BTreeMap<&'static str, String>>) {
    let aspects = vec![
        "Cluster type",
        "Database",
        "Cache",
        "Object storage",
        "Registry",
        "Ingress",
        "Node groups",
        "High availability",
        "Backup retention",
        "Replicas (backend/frontend/worker)",
        "pg_dump retention",
    ];
    let mut out = BTreeMap::new();
    for env in ENVS {
        let mut row: BTreeMap<&'static str, String> = BTreeMap::new();
        if let Some(cfg) = env_config(layout, lib, env) {
            let cfg = H::Object(cfg);
            let cluster = s(get(&cfg, &["variants", "cluster"]));
            row.insert("Cluster type", product("cluster", &cluster));
            let ha = matches!(get(&cfg, &["high_availability"]), Some(H::Bool(true)));
            let mut db = product("db", &s(get(&cfg, &["services", "database"])));
            if cluster != "kind" {
                let _ = write!(db, ", {}", s(get(&cfg, &["database_config", "instance_class"])));
                if ha {
                    db.push_str(", Multi-AZ");
                }
            }
            row.insert("Database", db);
            let mut cache = product("cache", &s(get(&cfg, &["services", "cache"])));
            if cluster != "kind" {
                let _ = write!(
                    cache,
                    ", {}, {} replica(s)",
                    s(get(&cfg, &["cache_config", "node_type"])),
                    s(get(&cfg, &["cache_config", "replicas"]))
                );
                if ha {
                    cache.push_str(", failover");
                }
            }
            row.insert("Cache", cache);
            row.insert("Object storage", product("s", &s(get(&cfg, &["services", "storage"]))));
            row.insert("Registry", product("r", &s(get(&cfg, &["services", "registry"]))));
            row.insert("Ingress", product("i", &s(get(&cfg, &["services", "ingress"]))));
            if let Some(H::Object(groups)) = get(&cfg, &["cluster_config", "node_groups"]) {
                let names: Vec<&String> = groups.keys().collect();
                let n = names.len();
                let list = names.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ");
                row.insert(
                    "Node groups",
                    if cluster == "kind" {
                        format!("simulated: {n} Kind workers ({list})")
                    } else {
                        format!("{n} type(s): {list}")
                    },
                );
            }
            row.insert("High availability", if ha { "yes".into() } else { "no".into() });
            let days = s(get(&cfg, &["backup_retention_days"]));
            let dp = matches!(get(&cfg, &["deletion_protection"]), Some(H::Bool(true)));
            row.insert(
                "Backup retention",
                if days == "0" {
                    "none (pg_dump CronJob only)".into()
                } else {
                    format!("{days} days{}", if dp { ", deletion protection" } else { "" })
                },
            );
        }
        if let Some(docs) = rendered.get(*env) {
            let mut reps = Vec::new();
            for w in ["mlp-backend", "mlp-frontend", "mlp-worker"] {
                let r = find(docs, "Deployment")
                    .find(|d| d["metadata"]["name"] == w)
                    .and_then(|d| d["spec"]["replicas"].as_i64());
                let hpa = find(docs, "HorizontalPodAutoscaler")
                    .find(|h| h["spec"]["scaleTargetRef"]["name"] == w)
                    .map(|h| {
                        format!(
                            " (HPA {}–{})",
                            h["spec"]["minReplicas"].as_i64().unwrap_or(1),
                            h["spec"]["maxReplicas"]
                        )
                    });
                reps.push(format!(
                    "{}{}",
                    r.map_or("–".into(), |r| r.to_string()),
                    hpa.unwrap_or_default()
                ));
            }
            row.insert("Replicas (backend/frontend/worker)", reps.join(" / "));
            let registry: BTreeSet<String> = crate::k8s::pod_templates(docs)
                .iter()
                .flat_map(|p| {
                    p.containers()
                        .map(|(_, c)| c["image"].as_str().unwrap_or("").to_string())
                        .collect::<Vec<_>>()
                })
                .filter(|i| i.contains("ml-platform/"))
                .map(|i| parse_image(&i).0.split('/').next().unwrap_or("").to_string())
                .collect();
            if let Some(r) = row.get_mut("Registry") {
                let _ = write!(r, " (`{}`)", registry.into_iter().collect::<Vec<_>>().join("`, `"));
            }
            let class: BTreeSet<String> = find(docs, "Ingress")
                .filter_map(|i| i["spec"]["ingressClassName"].as_str().map(str::to_string))
                .collect();
            if let Some(r) = row.get_mut("Ingress") {
                let _ = write!(r, " (class `{}`)", class.into_iter().collect::<Vec<_>>().join("`, `"));
            }
            let days = find(docs, "ConfigMap")
                .find(|c| {
                    c["metadata"]["name"]
                        .as_str()
                        .is_some_and(|n| n.starts_with("pg-backup-config"))
                })
                .and_then(|c| c["data"]["RETENTION_DAYS"].as_str().map(str::to_string));
            row.insert("pg_dump retention", days.map_or("–".into(), |d| format!("{d} days")));
        }
        out.insert(env.to_string(), row);
    }
    (aspects, out)
}

/// The whole Markdown report.
pub fn markdown(layout: &Layout, lib: &ModuleLib, result: &CheckResult) -> String {
    let rendered: BTreeMap<String, Vec<Value>> = result
        .rendered
        .iter()
        .filter(|r| r.error.is_none())
        .map(|r| (r.env.clone(), r.docs.clone()))
        .collect();
    let (aspects, rows) = environment_rows(layout, lib, &rendered);
    let mut md = String::new();
    md.push_str("# Environments\n\n");
    md.push_str("<!-- Generated by `mlp infra report -o docs/environments.md`; do not edit by hand.\n     A test fails when this file drifts from infrastructure/. -->\n\n");
    md.push_str("Derived from `infrastructure/terraform` (the `env-config` module evaluated with `_shared/common.tfvars` and each\nenvironment's `terraform.tfvars`) and the rendered overlays in `infrastructure/kubernetes/overlays`.\n\n");
    md.push_str("## Environment comparison\n\n");
    let _ = writeln!(md, "| Aspect | {} |", ENVS.join(" | "));
    let _ = writeln!(md, "|---|{}", "---|".repeat(ENVS.len()));
    for a in &aspects {
        let cells: Vec<String> = ENVS
            .iter()
            .map(|e| {
                rows.get(*e)
                    .and_then(|r| r.get(a))
                    .cloned()
                    .unwrap_or_else(|| "–".into())
            })
            .collect();
        let _ = writeln!(md, "| **{a}** | {} |", cells.join(" | "));
    }

    md.push_str("\n## Parity differences\n\n");
    md.push_str("Against prod, per aspect:\n\n");
    let prod = rows.get("prod");
    for env in ENVS.iter().filter(|e| **e != "prod") {
        let diff: Vec<&str> = aspects
            .iter()
            .filter(|a| rows.get(*env).and_then(|r| r.get(*a)) != prod.and_then(|p| p.get(*a)))
            .copied()
            .collect();
        let _ = writeln!(
            md,
            "- **{env}**: {}",
            if diff.is_empty() {
                "same as prod".into()
            } else {
                diff.join(", ")
            }
        );
    }
    md.push_str("\nKubernetes objects that exist only in some environments:\n\n");
    let mut presence: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (env, docs) in &rendered {
        for d in docs {
            let name = d["metadata"]["name"].as_str().unwrap_or("");
            // generated names carry a hash suffix
            let name = match name.rsplit_once('-') {
                Some((stem, h)) if h.len() == 10 && h.chars().all(|c| c.is_ascii_alphanumeric()) => stem,
                _ => name,
            };
            presence
                .entry(format!("{}/{name}", d["kind"].as_str().unwrap_or("")))
                .or_default()
                .insert(env.clone());
        }
    }
    let mut any = false;
    for (obj, envs) in &presence {
        if envs.len() != rendered.len() {
            any = true;
            let list: Vec<&str> = ENVS.iter().filter(|e| envs.contains(**e)).copied().collect();
            let _ = writeln!(md, "- `{obj}`: {}", list.join(", "));
        }
    }
    if !any {
        md.push_str("- none\n");
    }
    let parity: Vec<_> = result.findings.iter().filter(|f| f.rule == "TF-010").collect();
    md.push_str("\nTerraform local/cloud module interfaces: ");
    if parity.is_empty() {
        md.push_str("every pair declares the same variables and outputs.\n");
    } else {
        md.push('\n');
        for f in parity {
            let _ = writeln!(md, "- {}: {}", f.object, f.message);
        }
    }

    md.push_str("\n## Findings summary\n\n");
    let _ = writeln!(
        md,
        "`mlp infra check`: {} error(s), {} warning(s), {} suppressed with a reason.\n",
        result.count(Severity::Error),
        result.count(Severity::Warning),
        result.suppressed.len()
    );
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for f in &result.findings {
        counts.entry(f.rule).or_default().0 += 1;
    }
    for (f, _) in &result.suppressed {
        counts.entry(f.rule).or_default().1 += 1;
    }
    if counts.is_empty() {
        md.push_str("No findings.\n");
    } else {
        md.push_str("| Rule | Severity | Title | Open | Suppressed |\n|---|---|---|---|---|\n");
        for r in RULES {
            if let Some((open, sup)) = counts.get(r.id) {
                let _ = writeln!(md, "| {} | {} | {} | {open} | {sup} |", r.id, r.severity, r.title);
            }
        }
    }
    md
}
