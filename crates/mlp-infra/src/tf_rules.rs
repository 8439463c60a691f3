//! Terraform rules: encryption, per-environment protection, public access, world-open security
//! groups, wildcard IAM, version pins, literal secrets and local/cloud parity.

use std::collections::{BTreeSet, HashSet};

use hcl::{Body, Expression, ObjectKey, Value};

use crate::layout::Layout;
use crate::model::{Finding, Severity};
use crate::tf::{Instance, ModuleLib, Res, expr_text, read_tfvars};

/// An attribute's value in one instance.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Absent,
    Unknown(String),
    Known(Value),
}

impl Attr {
    fn is_true(&self) -> bool {
        matches!(self, Attr::Known(Value::Bool(true)))
    }
    /// Definitely not `true` (absent or known false/null).
    fn not_true(&self) -> bool {
        matches!(
            self,
            Attr::Absent | Attr::Known(Value::Bool(false)) | Attr::Known(Value::Null)
        )
    }
    fn number(&self) -> Option<f64> {
        match self {
            Attr::Known(Value::Number(n)) => n.as_f64(),
            _ => None,
        }
    }
    fn string(&self) -> Option<&str> {
        match self {
            Attr::Known(Value::String(s)) => Some(s),
            _ => None,
        }
    }
}

fn attr(inst: &Instance<'_>, body: &Body, name: &str) -> Attr {
    match body.attributes().find(|a| a.key() == name) {
        None => Attr::Absent,
        Some(a) => match inst.scope.eval(a.expr()) {
            Some(v) => Attr::Known(v),
            None => Attr::Unknown(expr_text(a.expr())),
        },
    }
}

fn blocks<'a>(body: &'a Body, name: &'a str) -> impl Iterator<Item = &'a Body> + 'a {
    body.blocks().filter(move |b| b.identifier() == name).map(|b| b.body())
}

struct Out<'a, 'b> {
    inst: &'b Instance<'a>,
    out: Vec<Finding>,
    /// (rule, file, object, message) already reported for the module on its own
    seen: &'b HashSet<(String, String, String, String)>,
}

/// Key of a finding for de-duplication between a module on its own and its instances.
pub fn static_key(f: &Finding) -> (String, String, String, String) {
    (f.rule.to_string(), f.file.clone(), f.object.clone(), f.message.clone())
}

impl Out<'_, '_> {
    fn push(&mut self, rule: &'static str, r: &Res, msg: String) -> &mut Finding {
        let dup = self.inst.env.is_some()
            && self
                .seen
                .contains(&(rule.to_string(), r.file.clone(), r.address(), msg.clone()));
        let via = match &self.inst.env {
            Some(env) if self.inst.path != self.inst.module.rel => format!(" ({env}: {})", self.inst.path),
            _ => String::new(),
        };
        let mut f = Finding::new(rule, &r.file, r.address(), format!("{msg}{via}"))
            .line(Some(r.line))
            .subject(r.subject());
        if let Some(e) = &self.inst.env {
            f = f.env(e);
        }
        if dup {
            f.rule = ""; // dropped at the end of check_instance
        }
        self.out.push(f);
        self.out.last_mut().expect("pushed")
    }
}

const CLOUD_ENVS: &[&str] = &["dev", "staging", "prod"];

/// Rules over one module instance.
pub fn check_instance(inst: &Instance<'_>, seen: &HashSet<(String, String, String, String)>) -> Vec<Finding> {
    let mut o = Out {
        inst,
        out: Vec::new(),
        seen,
    };
    let m = inst.module;
    let env = inst.env.as_deref();
    let prod = env == Some("prod");
    let has = |t: &str| m.of_type(t).next().is_some();
    for r in m.resources.iter().filter(|r| r.kind == "resource") {
        let a = |n: &str| attr(inst, &r.body, n);
        match r.rtype.as_str() {
            "aws_db_instance" | "aws_rds_cluster" => {
                if a("storage_encrypted").not_true() {
                    o.push("TF-001", r, "storage_encrypted is not true".into());
                }
                if a("publicly_accessible").is_true() {
                    o.push("TF-005", r, "publicly_accessible = true".into());
                }
                let passed = |n: &str| matches!(r.body.attributes().find(|x| x.key() == n).map(|x| x.expr()), Some(e) if literal(e).is_none());
                if passed("password") || passed("master_password") {
                    if !a("manage_master_user_password").is_true() {
                        o.push(
                            "TF-009",
                            r,
                            "passes a master password instead of manage_master_user_password = true".into(),
                        );
                    }
                } else if !matches!(a("password"), Attr::Absent) || !matches!(a("master_password"), Attr::Absent) {
                    // a literal: reported by the literal-secret scan
                } else if a("manage_master_user_password").not_true()
                    && r.rtype == "aws_db_instance"
                    && a("replicate_source_db") == Attr::Absent
                {
                    o.push(
                        "TF-009",
                        r,
                        "manage_master_user_password is not true (where does the password come from?)".into(),
                    );
                }
                if r.rtype == "aws_db_instance" {
                    let mut off = Vec::new();
                    if a("monitoring_interval").number().is_some_and(|n| n == 0.0)
                        || matches!(a("monitoring_interval"), Attr::Absent)
                    {
                        off.push("enhanced monitoring (monitoring_interval)");
                    }
                    if a("performance_insights_enabled").not_true() {
                        off.push("performance_insights_enabled");
                    }
                    let exports_empty = match a("enabled_cloudwatch_logs_exports") {
                        Attr::Absent => true,
                        Attr::Known(Value::Array(v)) => v.is_empty(),
                        _ => false,
                    };
                    if exports_empty {
                        off.push("enabled_cloudwatch_logs_exports");
                    }
                    if !off.is_empty() {
                        o.push("TF-015", r, format!("off: {}", off.join(", ")));
                    }
                    let mut weak = Vec::new();
                    if a("iam_database_authentication_enabled").not_true() {
                        weak.push("iam_database_authentication_enabled");
                    }
                    if a("copy_tags_to_snapshot").not_true() {
                        weak.push("copy_tags_to_snapshot");
                    }
                    if matches!(a("auto_minor_version_upgrade"), Attr::Known(Value::Bool(false))) {
                        weak.push("auto_minor_version_upgrade");
                    }
                    if a("performance_insights_enabled").is_true()
                        && matches!(a("performance_insights_kms_key_id"), Attr::Absent)
                    {
                        weak.push("performance_insights_kms_key_id");
                    }
                    if !weak.is_empty() {
                        o.push("TF-016", r, format!("not set: {}", weak.join(", ")));
                    }
                }
                let engine = a("engine");
                if engine.string().is_some_and(|e| e.contains("postgres")) {
                    let forced = m
                        .of_type("aws_db_parameter_group")
                        .chain(m.of_type("aws_rds_cluster_parameter_group"))
                        .any(|pg| {
                            blocks(&pg.body, "parameter").any(|p| {
                                attr(inst, p, "name").string() == Some("rds.force_ssl")
                                    && matches!(attr(inst, p, "value"), Attr::Known(Value::String(ref s)) if s == "1")
                            })
                        });
                    if !forced {
                        o.push("TF-002", r, "no parameter group sets rds.force_ssl = 1".into());
                    }
                }
                if prod {
                    if !a("deletion_protection").is_true() {
                        o.push(
                            "TF-003",
                            r,
                            format!("deletion_protection is {} in prod", show(&a("deletion_protection"))),
                        );
                    }
                    let ret = a("backup_retention_period");
                    if ret.number().is_none_or(|n| n < 7.0) {
                        o.push(
                            "TF-004",
                            r,
                            format!("backup_retention_period is {} in prod (>= 7 days)", show(&ret)),
                        );
                    }
                    if a("skip_final_snapshot").is_true() {
                        o.push("TF-004", r, "skip_final_snapshot = true in prod".into());
                    }
                    if r.rtype == "aws_db_instance" && !a("multi_az").is_true() {
                        o.push("TF-013", r, format!("multi_az is {} in prod", show(&a("multi_az"))));
                    }
                } else if env.is_some_and(|e| CLOUD_ENVS.contains(&e))
                    && a("backup_retention_period").number() == Some(0.0)
                {
                    o.push(
                        "TF-004",
                        r,
                        "automated backups are off (backup_retention_period = 0)".into(),
                    );
                }
            }
            "aws_elasticache_replication_group" => {
                if a("at_rest_encryption_enabled").not_true() {
                    o.push("TF-001", r, "at_rest_encryption_enabled is not true".into());
                }
                if a("transit_encryption_enabled").not_true() {
                    o.push("TF-002", r, "transit_encryption_enabled is not true".into());
                }
                let mut weak = Vec::new();
                if matches!(a("auth_token"), Attr::Absent)
                    && !matches!(a("user_group_ids"), Attr::Known(_) | Attr::Unknown(_))
                {
                    weak.push("auth_token (or user groups)");
                }
                if matches!(a("kms_key_id"), Attr::Absent) {
                    weak.push("kms_key_id");
                }
                if !weak.is_empty() {
                    o.push("TF-016", r, format!("not set: {}", weak.join(", ")));
                }
                if prod {
                    let ret = a("snapshot_retention_limit");
                    if ret.number().is_none_or(|n| n < 1.0) {
                        o.push(
                            "TF-004",
                            r,
                            format!("snapshot_retention_limit is {} in prod", show(&ret)),
                        );
                    }
                    if !a("automatic_failover_enabled").is_true() || !a("multi_az_enabled").is_true() {
                        o.push("TF-013", r, "automatic failover / multi-AZ is off in prod".into());
                    }
                }
            }
            "aws_elasticache_cluster" if a("engine").string() == Some("redis") => {
                o.push(
                    "TF-002",
                    r,
                    "a single-node aws_elasticache_cluster cannot encrypt in transit; use a replication group".into(),
                );
            }
            "aws_s3_bucket" => {
                if !has("aws_s3_bucket_server_side_encryption_configuration")
                    && blocks(&r.body, "server_side_encryption_configuration").next().is_none()
                {
                    o.push(
                        "TF-001",
                        r,
                        "no server-side encryption configuration for the bucket".into(),
                    );
                }
                let mut missing = Vec::new();
                if !has("aws_s3_bucket_versioning") && blocks(&r.body, "versioning").next().is_none() {
                    missing.push("versioning");
                }
                if !has("aws_s3_bucket_lifecycle_configuration") && blocks(&r.body, "lifecycle_rule").next().is_none() {
                    missing.push("lifecycle rules");
                }
                if !missing.is_empty() {
                    o.push("TF-014", r, format!("no {}", missing.join(" and ")));
                }
                if !has("aws_s3_bucket_logging") && blocks(&r.body, "logging").next().is_none() {
                    o.push("TF-015", r, "no access logging (aws_s3_bucket_logging)".into());
                }
                if !has("aws_s3_bucket_public_access_block") {
                    o.push(
                        "TF-005",
                        r,
                        "no aws_s3_bucket_public_access_block for the bucket".into(),
                    );
                }
                let tls = m
                    .of_type("aws_s3_bucket_policy")
                    .chain(m.resources.iter().filter(|x| x.rtype == "aws_iam_policy_document"))
                    .any(|p| m.texts.get(&p.file).is_some_and(|t| t.contains("aws:SecureTransport")));
                if !tls {
                    o.push(
                        "TF-002",
                        r,
                        "no bucket policy denies requests without aws:SecureTransport".into(),
                    );
                }
                if let Some(acl) = a("acl").string()
                    && acl.starts_with("public")
                {
                    o.push("TF-005", r, format!("acl = {acl}"));
                }
            }
            "aws_s3_bucket_acl" if a("acl").string().is_some_and(|x| x.starts_with("public")) => {
                o.push("TF-005", r, "public ACL".into());
            }
            "aws_s3_bucket_public_access_block" => {
                for k in [
                    "block_public_acls",
                    "block_public_policy",
                    "ignore_public_acls",
                    "restrict_public_buckets",
                ] {
                    if a(k).not_true() {
                        o.push("TF-005", r, format!("{k} is not true"));
                    }
                }
            }
            "aws_eks_cluster" => {
                let logs = a("enabled_cluster_log_types");
                let has_audit = match &logs {
                    Attr::Known(Value::Array(v)) => {
                        v.iter().any(|x| x.as_str() == Some("audit")) && v.iter().any(|x| x.as_str() == Some("api"))
                    }
                    Attr::Unknown(_) => true,
                    _ => false,
                };
                if !has_audit {
                    o.push(
                        "TF-015",
                        r,
                        "control-plane logs (at least api and audit) are off".into(),
                    );
                }
                if blocks(&r.body, "encryption_config").next().is_none() {
                    o.push(
                        "TF-001",
                        r,
                        "no encryption_config: Kubernetes secrets are not envelope-encrypted".into(),
                    );
                }
                for vc in blocks(&r.body, "vpc_config") {
                    let public = attr(inst, vc, "endpoint_public_access");
                    let cidrs = attr(inst, vc, "public_access_cidrs");
                    let world = match &cidrs {
                        Attr::Known(Value::Array(a)) => a.iter().any(|c| c.as_str() == Some("0.0.0.0/0")),
                        Attr::Absent => true, // the AWS default is 0.0.0.0/0
                        _ => false,
                    };
                    if !public.not_true() && !matches!(public, Attr::Unknown(_)) && world {
                        o.push("TF-005", r, "public API endpoint open to 0.0.0.0/0".into());
                    }
                }
            }
            "aws_ecr_repository" => {
                if a("image_tag_mutability").string() != Some("IMMUTABLE")
                    && !matches!(a("image_tag_mutability"), Attr::Unknown(_))
                {
                    o.push("TF-012", r, "image tags are mutable".into());
                }
                let scan =
                    blocks(&r.body, "image_scanning_configuration").any(|b| attr(inst, b, "scan_on_push").is_true());
                if !scan {
                    o.push("TF-012", r, "scan_on_push is not enabled".into());
                }
                let kms = blocks(&r.body, "encryption_configuration")
                    .any(|b| attr(inst, b, "encryption_type").string() == Some("KMS"));
                if !kms {
                    o.push("TF-001", r, "repository is not encrypted with KMS".into())
                        .severity = Severity::Warning;
                }
            }
            "aws_kms_key" if a("enable_key_rotation").not_true() => {
                o.push("TF-001", r, "enable_key_rotation is not true".into());
            }
            "aws_cloudwatch_log_group" | "aws_secretsmanager_secret" | "aws_sqs_queue" | "aws_sns_topic" => {
                let key = if r.rtype == "aws_sqs_queue" {
                    "sqs_managed_sse_enabled"
                } else {
                    "kms_key_id"
                };
                let ok = !matches!(a("kms_master_key_id"), Attr::Absent)
                    || !a(key).not_true()
                    || (r.rtype == "aws_sqs_queue" && !matches!(a(key), Attr::Known(Value::Bool(false))));
                if !ok {
                    o.push("TF-001", r, "not encrypted with a KMS key".into()).severity = Severity::Warning;
                }
            }
            "aws_ebs_volume" if a("encrypted").not_true() => {
                o.push("TF-001", r, "EBS volume not encrypted".into());
            }
            "aws_launch_template" => {
                for bdm in blocks(&r.body, "block_device_mappings") {
                    for ebs in blocks(bdm, "ebs") {
                        if attr(inst, ebs, "encrypted").not_true() {
                            o.push("TF-001", r, "EBS root volume not encrypted".into());
                        }
                    }
                }
            }
            "aws_security_group" => {
                for ing in blocks(&r.body, "ingress") {
                    world_ingress(&mut o, inst, r, ing, &["cidr_blocks", "ipv6_cidr_blocks"]);
                }
            }
            "aws_security_group_rule" if a("type").string() == Some("ingress") => {
                world_ingress(&mut o, inst, r, &r.body, &["cidr_blocks", "ipv6_cidr_blocks"]);
            }
            "aws_vpc_security_group_ingress_rule" => {
                world_ingress(&mut o, inst, r, &r.body, &["cidr_ipv4", "cidr_ipv6"])
            }
            "aws_db_instance_public" => {}
            "helm_release" => {
                if matches!(a("version"), Attr::Absent) {
                    o.push("TF-008", r, "chart version is not pinned".into());
                }
            }
            _ => {}
        }
        if inst.env.is_none() {
            literal_secrets(&mut o, r);
            iam_wildcards(&mut o, r);
            image_pins(&mut o, r);
        }
    }
    if inst.env.is_none() {
        for r in m
            .resources
            .iter()
            .filter(|r| r.kind == "data" && r.rtype == "aws_iam_policy_document")
        {
            iam_wildcards(&mut o, r);
        }
    }
    o.out.retain(|f| !f.rule.is_empty());
    o.out
}

fn show(a: &Attr) -> String {
    match a {
        Attr::Absent => "not set".into(),
        Attr::Unknown(t) => format!("unknown ({t})"),
        Attr::Known(v) => match v {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        },
    }
}

fn world_ingress(o: &mut Out<'_, '_>, inst: &Instance<'_>, r: &Res, body: &Body, keys: &[&str]) {
    for k in keys {
        let v = attr(inst, body, k);
        let world = match &v {
            Attr::Known(Value::String(s)) => s == "0.0.0.0/0" || s == "::/0",
            Attr::Known(Value::Array(a)) => a.iter().any(|c| matches!(c.as_str(), Some("0.0.0.0/0" | "::/0"))),
            Attr::Unknown(t) => t.contains("0.0.0.0/0") || t.contains("::/0"),
            _ => false,
        };
        if world {
            let port = match (attr(inst, body, "from_port"), attr(inst, body, "to_port")) {
                (f @ Attr::Known(_), t @ Attr::Known(_)) => format!(" on ports {}-{}", show(&f), show(&t)),
                _ => String::new(),
            };
            o.push(
                "TF-006",
                r,
                format!("allows ingress from the whole internet ({k}){port}"),
            );
        }
    }
}

const SECRET_ATTRS: &[&str] = &[
    "password",
    "master_password",
    "auth_token",
    "secret_string",
    "access_key",
    "secret_key",
    "token",
    "client_secret",
    "private_key",
];

fn literal(e: &Expression) -> Option<&str> {
    match e {
        Expression::String(s) => Some(s),
        _ => None,
    }
}

fn walk_exprs<'a>(body: &'a Body, path: &mut Vec<String>, f: &mut dyn FnMut(&[String], &'a Expression)) {
    for a in body.attributes() {
        path.push(a.key().to_string());
        walk_expr(a.expr(), path, f);
        path.pop();
    }
    for b in body.blocks() {
        path.push(b.identifier().to_string());
        walk_exprs(b.body(), path, f);
        path.pop();
    }
}

fn walk_expr<'a>(e: &'a Expression, path: &mut Vec<String>, f: &mut dyn FnMut(&[String], &'a Expression)) {
    f(path, e);
    match e {
        Expression::Array(a) => a.iter().for_each(|x| walk_expr(x, path, f)),
        Expression::Object(o) => {
            for (k, v) in o {
                path.push(key_name(k));
                walk_expr(v, path, f);
                path.pop();
            }
        }
        Expression::FuncCall(c) => c.args.iter().for_each(|x| walk_expr(x, path, f)),
        Expression::Parenthesis(x) => walk_expr(x, path, f),
        Expression::Conditional(c) => {
            walk_expr(&c.true_expr, path, f);
            walk_expr(&c.false_expr, path, f);
        }
        _ => {}
    }
}

fn key_name(k: &ObjectKey) -> String {
    match k {
        ObjectKey::Identifier(i) => i.to_string(),
        ObjectKey::Expression(Expression::String(s)) => s.clone(),
        ObjectKey::Expression(e) => expr_text(e),
        _ => String::new(),
    }
}

fn literal_secrets(o: &mut Out<'_, '_>, r: &Res) {
    let mut found = Vec::new();
    walk_exprs(&r.body, &mut Vec::new(), &mut |path, e| {
        let Some(s) = literal(e) else { return };
        let key = path.last().map(|k| k.to_ascii_lowercase()).unwrap_or_default();
        if SECRET_ATTRS.contains(&key.as_str()) && !s.is_empty() {
            found.push(format!("{} is a literal string", path.join(".")));
        } else if crate::k8s::secretish_value(s) {
            found.push(format!("{} contains a credential", path.join(".")));
        }
    });
    for m in found {
        o.push("TF-009", r, m);
    }
}

fn is_read_only(action: &str) -> bool {
    let Some((svc, op)) = action.split_once(':') else {
        return false;
    };
    !svc.is_empty() && ["Describe", "Get", "List"].iter().any(|p| op.starts_with(p)) && !op.contains('*')
}

fn strings(e: &Expression) -> Vec<String> {
    match e {
        Expression::String(s) => vec![s.clone()],
        Expression::Array(a) => a.iter().flat_map(strings).collect(),
        Expression::FuncCall(c) => c.args.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// Wildcards in IAM statements: jsonencode'd `{Effect, Action, Resource}` objects and
/// `aws_iam_policy_document` statement blocks.
fn iam_wildcards(o: &mut Out<'_, '_>, r: &Res) {
    let key_policy = r.rtype == "aws_kms_key" || r.rtype == "aws_kms_key_policy";
    let mut stmts: Vec<(String, Vec<String>, Vec<String>, bool)> = Vec::new(); // (effect, actions, resources, root principal)
    walk_exprs(&r.body, &mut Vec::new(), &mut |_, e| {
        let Expression::Object(obj) = e else { return };
        let get = |name: &str| obj.iter().find(|(k, _)| key_name(k) == name).map(|(_, v)| v);
        let (Some(effect), Some(action)) = (get("Effect"), get("Action")) else {
            return;
        };
        let effect = literal(effect).unwrap_or("").to_string();
        let resources = get("Resource").map(strings).unwrap_or_default();
        let root = get("Principal").is_some_and(|p| expr_text(p).contains(":root"));
        stmts.push((effect, strings(action), resources, root));
    });
    if r.rtype == "aws_iam_policy_document" {
        for st in blocks(&r.body, "statement") {
            let get = |n: &str| st.attributes().find(|a| a.key() == n).map(|a| a.expr());
            let effect = get("effect").and_then(literal).unwrap_or("Allow").to_string();
            stmts.push((
                effect,
                get("actions").map(strings).unwrap_or_default(),
                get("resources").map(strings).unwrap_or_default(),
                false,
            ));
        }
    }
    for (effect, actions, resources, root) in stmts {
        if effect != "Allow" {
            continue;
        }
        for a in &actions {
            let wild = a == "*" || a.ends_with(":*");
            if wild && !(key_policy && root && a == "kms:*") {
                o.push("TF-007", r, format!("allows the wildcard action {a}"));
            }
        }
        if resources.iter().any(|x| x == "*") && !key_policy {
            let loose: Vec<&String> = actions
                .iter()
                .filter(|a| !is_read_only(a) && a.as_str() != "pricing:GetProducts")
                .collect();
            if !loose.is_empty() {
                o.push(
                    "TF-007",
                    r,
                    format!("Resource \"*\" with non-read-only actions {loose:?}"),
                );
            }
        }
    }
}

fn image_pins(o: &mut Out<'_, '_>, r: &Res) {
    let mut bad = Vec::new();
    walk_exprs(&r.body, &mut Vec::new(), &mut |path, e| {
        if path
            .last()
            .is_some_and(|k| k == "image" || k == "name" && r.rtype == "docker_image")
            && let Some(s) = literal(e)
        {
            let (_, tag, digest) = crate::k8s::parse_image(s);
            if digest.is_none() && tag.as_deref().is_none_or(|t| t == "latest") {
                bad.push(s.to_string());
            }
        }
    });
    for b in bad {
        o.push("TF-008", r, format!("image {b} is not pinned to a tag"));
    }
}

/// Version pins in every module: required_version, provider versions, registry module versions.
pub fn check_versions(layout: &Layout, lib: &ModuleLib) -> Vec<Finding> {
    let mut out = Vec::new();
    let envs_dir = layout.terraform.join("environments");
    for (dir, m) in &lib.modules {
        if m.texts.is_empty() {
            continue;
        }
        let is_root = dir.parent() == Some(envs_dir.as_path());
        let first_file = m.texts.keys().next().cloned().unwrap_or_default();
        let mut required_version = false;
        for (file, line, body) in &m.terraform {
            let subject = format!("tf:{file}#terraform");
            if body.attributes().any(|a| a.key() == "required_version") {
                required_version = true;
            }
            for rp in body.blocks().filter(|b| b.identifier() == "required_providers") {
                for a in rp.body().attributes() {
                    let version = match a.expr() {
                        Expression::Object(o) => o
                            .iter()
                            .find(|(k, _)| key_name(k) == "version")
                            .and_then(|(_, v)| literal(v))
                            .map(str::to_string),
                        Expression::String(s) => Some(s.clone()),
                        _ => None,
                    };
                    match version {
                        None => out.push(
                            Finding::new(
                                "TF-008",
                                file,
                                "terraform",
                                format!("provider {} has no version constraint", a.key()),
                            )
                            .line(Some(*line))
                            .subject(subject.clone()),
                        ),
                        Some(v) if is_root && v.trim_start().starts_with(">=") && !v.contains('<') => out.push(
                            Finding::new(
                                "TF-008",
                                file,
                                "terraform",
                                format!("root module pins provider {} only from below ({v}); use ~>", a.key()),
                            )
                            .line(Some(*line))
                            .subject(subject.clone())
                            .severity(Severity::Warning),
                        ),
                        _ => {}
                    }
                }
            }
        }
        if !required_version {
            out.push(
                Finding::new(
                    "TF-008",
                    &first_file,
                    "terraform",
                    format!("{} has no terraform.required_version", m.rel),
                )
                .subject(format!("file:{first_file}")),
            );
        }
        for c in &m.calls {
            let local = c.source.starts_with("./") || c.source.starts_with("../");
            let git = c.source.starts_with("git::") || c.source.contains("github.com");
            let pinned = local || (git && c.source.contains("?ref=")) || (!git && c.version.is_some());
            if !pinned {
                out.push(
                    Finding::new(
                        "TF-008",
                        &c.file,
                        format!("module.{}", c.name),
                        format!("module source {} is not pinned to a version", c.source),
                    )
                    .line(Some(c.line))
                    .subject(format!("tf:{}#module.{}", c.file, c.name)),
                );
            }
        }
    }
    out
}

/// Literal secrets in tfvars files.
pub fn check_tfvars(layout: &Layout) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in crate::layout::walk(&layout.terraform, &["tfvars"]) {
        let rel = layout.rel(&f);
        match read_tfvars(&f) {
            Err(e) => out.push(Finding::new("TF-011", &rel, "tfvars", e)),
            Ok(vals) => {
                for (k, v) in vals {
                    let lk = k.to_ascii_lowercase();
                    let secret_name = ["passw", "secret", "token", "access_key", "private"]
                        .iter()
                        .any(|w| lk.contains(w));
                    let text = serde_json::to_string(&v).unwrap_or_default();
                    if (secret_name && !matches!(v, Value::Null | Value::Bool(_))) || crate::k8s::secretish_value(&text)
                    {
                        out.push(
                            Finding::new(
                                "TF-009",
                                &rel,
                                k.clone(),
                                format!("{k} looks like a secret in a committed tfvars file"),
                            )
                            .subject(format!("file:{rel}")),
                        );
                    }
                }
            }
        }
    }
    out
}

/// Local/cloud (and kind/eks) module pairs expose the same variables (type, default) and outputs.
pub fn check_parity(lib: &ModuleLib) -> Vec<Finding> {
    let mut out = Vec::new();
    let pairs = [("local", "cloud"), ("kind", "eks")];
    for (dir, a) in &lib.modules {
        let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some((_, other)) = pairs.iter().find(|(l, _)| *l == name) else {
            continue;
        };
        // Module variants only: environments/local and environments/cloud are roots, not a pair.
        if dir
            .parent()
            .and_then(|p| p.file_name())
            .is_some_and(|n| n == "environments")
        {
            continue;
        }
        let Some(b) = lib.modules.get(&dir.with_file_name(other)) else {
            continue;
        };
        let diffs = parity_diff(a, b);
        for d in diffs {
            let file = b
                .texts
                .keys()
                .find(|f| f.ends_with("variables.tf"))
                .or_else(|| b.texts.keys().next())
                .cloned()
                .unwrap_or_default();
            out.push(
                Finding::new("TF-010", &file, format!("{} <-> {}", a.rel, b.rel), d).subject(format!("file:{file}")),
            );
        }
    }
    out
}

pub fn parity_diff(a: &crate::tf::Module, b: &crate::tf::Module) -> Vec<String> {
    let mut out = Vec::new();
    let va: BTreeSet<&String> = a.variables.keys().collect();
    let vb: BTreeSet<&String> = b.variables.keys().collect();
    for v in va.symmetric_difference(&vb) {
        let (has, lacks) = if va.contains(v) {
            (&a.rel, &b.rel)
        } else {
            (&b.rel, &a.rel)
        };
        out.push(format!("variable {v} exists in {has} but not in {lacks}"));
    }
    for v in va.intersection(&vb) {
        let (x, y) = (&a.variables[*v], &b.variables[*v]);
        if x.type_text != y.type_text {
            out.push(format!("variable {v} has type {} vs {}", x.type_text, y.type_text));
        }
        let dx = x.default.as_ref().map(expr_text);
        let dy = y.default.as_ref().map(expr_text);
        let norm = |s: Option<String>| s.map(|s| s.split_whitespace().collect::<String>());
        if norm(dx.clone()) != norm(dy.clone()) {
            out.push(format!(
                "variable {v} has default {} vs {}",
                dx.unwrap_or("none".into()),
                dy.unwrap_or("none".into())
            ));
        }
    }
    let oa: BTreeSet<&String> = a.outputs.keys().collect();
    let ob: BTreeSet<&String> = b.outputs.keys().collect();
    for v in oa.symmetric_difference(&ob) {
        let (has, lacks) = if oa.contains(v) {
            (&a.rel, &b.rel)
        } else {
            (&b.rel, &a.rel)
        };
        out.push(format!("output {v} exists in {has} but not in {lacks}"));
    }
    for v in oa.intersection(&ob) {
        let keys = |e: &Expression| -> Option<BTreeSet<String>> {
            match e {
                Expression::Object(o) => Some(o.iter().map(|(k, _)| key_name(k)).collect()),
                _ => None,
            }
        };
        if let (Some(x), Some(y)) = (keys(&a.outputs[*v].0), keys(&b.outputs[*v].0))
            && x != y
        {
            let only_a: Vec<&String> = x.difference(&y).collect();
            let only_b: Vec<&String> = y.difference(&x).collect();
            out.push(format!(
                "output {v} object keys differ: {} has {only_a:?}, {} has {only_b:?}",
                a.rel, b.rel
            ));
        }
    }
    out
}

/// Per-environment settings of the env-config module (TF-003/TF-004 at the source of truth).
pub fn check_env_settings(lib: &ModuleLib, instances: &[Instance<'_>]) -> Vec<Finding> {
    let mut out = Vec::new();
    for inst in instances
        .iter()
        .filter(|i| i.env.as_deref() == Some("prod") && i.path.ends_with("module.config"))
    {
        let m = inst.module;
        let (_, outs) = crate::tf::eval_module(m, &inst.scope.vars, lib);
        let file = m
            .outputs
            .get("deletion_protection")
            .map(|o| o.1.clone())
            .unwrap_or_default();
        let line = m.outputs.get("deletion_protection").map(|o| o.2);
        let subject = format!("tf:{file}#output.deletion_protection");
        match outs.get("deletion_protection") {
            Some(Value::Bool(true)) | None => {}
            Some(v) => out.push(
                Finding::new(
                    "TF-003",
                    &file,
                    "output.deletion_protection",
                    format!("prod resolves deletion_protection to {v}"),
                )
                .line(line)
                .env("prod")
                .subject(subject),
            ),
        }
        if let Some(v) = outs.get("backup_retention_days")
            && v.as_number().and_then(|n| n.as_f64()).is_none_or(|n| n < 7.0)
        {
            out.push(
                Finding::new(
                    "TF-004",
                    &file,
                    "output.backup_retention_days",
                    format!("prod resolves backup_retention_days to {v}"),
                )
                .env("prod"),
            );
        }
    }
    out
}

/// Values of the env-config module per environment, for the report.
pub fn env_config(layout: &Layout, lib: &ModuleLib, env: &str) -> Option<hcl::Map<String, Value>> {
    let root = lib.modules.get(&layout.tf_root_dir(env))?;
    let inputs = crate::tf::env_inputs(layout, env);
    let (scope, _) = crate::tf::eval_module(root, &inputs, lib);
    let call = root.calls.iter().find(|c| c.source.ends_with("modules/env-config"))?;
    match scope.modules.get(&call.name) {
        Some(Value::Object(m)) => Some(m.clone()),
        _ => None,
    }
}
