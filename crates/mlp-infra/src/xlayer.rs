//! Cross-layer rules (XL-*): what the rendered overlay of an environment needs from the
//! Terraform of the same environment (and, for `local`, from `mlp infra up local`): registry
//! repositories, the credential endpoint of the workload identity, installed CRDs, a
//! StorageClass, identity associations ordered before their workloads, agreeing names.

use std::collections::{BTreeMap, BTreeSet};

use hcl::{Body, Expression, Value as H};
use serde_json::Value;

use crate::k8s::{Ctx, find, parse_image, pod_templates};
use crate::layout::{Layout, yaml_docs};
use crate::model::Finding;
use crate::net::{IpSet, ipblock_set, selector_matches};
use crate::tf::{Instance, ModuleLib, Res, Scope};

/// Where the EKS Pod Identity agent serves credentials (the SDK's container credential endpoint).
pub const POD_IDENTITY_ENDPOINT: (&str, u16) = ("169.254.170.23", 80);

/// CRD API groups a Helm chart installs.
const CHART_GROUPS: &[(&str, &[&str])] = &[
    (
        "external-secrets",
        &["external-secrets.io", "generators.external-secrets.io"],
    ),
    ("kube-prometheus-stack", &["monitoring.coreos.com"]),
    ("velero", &["velero.io"]),
    ("argo-cd", &["argoproj.io"]),
    ("karpenter", &["karpenter.sh", "karpenter.k8s.aws"]),
    ("aws-load-balancer-controller", &["elbv2.k8s.aws"]),
];

/// API groups every cluster serves (no CRD needed).
const BUILTIN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "certificates.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
];

/// A Pod Identity association as Terraform declares it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub namespace: String,
    pub service_account: String,
    pub file: String,
    pub line: usize,
    pub address: String,
    /// module instance path (`…:module.secrets_iam`)
    pub path: String,
}

#[derive(Debug, Clone)]
pub struct Release {
    pub chart: String,
    pub namespace: Option<String>,
    pub file: String,
    pub line: usize,
    pub address: String,
    pub path: String,
    pub depends_on: String,
    pub wants_volume: bool,
    /// the values' source text, to tell which ServiceAccount the release runs as
    pub values: String,
}

/// What one environment's Terraform (or local path) provides to its overlay.
#[derive(Debug, Default)]
pub struct EnvInfra {
    pub has_terraform: bool,
    pub eks: bool,
    pub kind: bool,
    pub ecr_repos: BTreeSet<String>,
    pub identities: Vec<Identity>,
    pub releases: Vec<Release>,
    /// StorageClass name -> is the default
    pub storage_classes: BTreeMap<String, bool>,
    /// image of the local registry container (docker_image), with its file and line
    pub registry_image: Option<(String, String, usize)>,
    /// names of the Secrets Manager secrets Terraform creates
    pub secrets: BTreeSet<String>,
    /// EKS managed node groups
    pub node_groups: Vec<NodeGroup>,
    /// the NVIDIA device plugin's Helm release, unless its count is known to be 0
    pub nvidia_plugin: bool,
}

/// An EKS managed node group as one environment evaluates it.
#[derive(Debug, Clone)]
pub struct NodeGroup {
    pub name: String,
    pub instance_types: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// (key, value, effect) in Kubernetes terms (NoSchedule, …)
    pub taints: Vec<(String, String, String)>,
    pub file: String,
    pub line: usize,
    pub address: String,
}

impl NodeGroup {
    /// Instance types with NVIDIA GPUs (g3–g6, gr6, p2–p6; g4ad has AMD GPUs).
    pub fn gpu_types(&self) -> Vec<&str> {
        self.instance_types
            .iter()
            .map(String::as_str)
            .filter(|t| {
                let family = t.split('.').next().unwrap_or("");
                let b = family.as_bytes();
                let digit_at = |i: usize| b.get(i).is_some_and(|c| c.is_ascii_digit());
                family != "g4ad"
                    && ((b.first() == Some(&b'g') && digit_at(1))
                        || (b.first() == Some(&b'p') && digit_at(1))
                        || family.starts_with("gr6"))
            })
            .collect()
    }
}

fn eval_value(e: &Expression, scope: &Scope, each: &Option<(H, H)>) -> Option<H> {
    let mut ctx = scope.context();
    if let Some((k, v)) = each {
        ctx.declare_var(
            "each",
            H::Object(hcl::Map::from_iter([
                ("key".to_string(), k.clone()),
                ("value".to_string(), v.clone()),
            ])),
        );
    }
    hcl::eval::Evaluate::evaluate(e, &ctx).ok()
}

/// Kubernetes' spelling of an EKS taint effect (NO_SCHEDULE -> NoSchedule).
fn k8s_effect(e: &str) -> String {
    if !e.contains('_') {
        return e.to_string();
    }
    e.split('_')
        .map(|w| {
            let w = w.to_ascii_lowercase();
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn node_group(r: &Res, scope: &Scope, each: &Option<(H, H)>) -> Option<NodeGroup> {
    let strs = |v: Option<H>| -> Vec<String> {
        match v {
            Some(H::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        }
    };
    let instance_types = strs(attr(&r.body, "instance_types").and_then(|e| eval_value(e, scope, each)));
    let labels = match attr(&r.body, "labels").and_then(|e| eval_value(e, scope, each)) {
        Some(H::Object(m)) => m
            .into_iter()
            .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
            .collect(),
        _ => BTreeMap::new(),
    };
    let mut taints = Vec::new();
    let field = |o: &hcl::Map<String, H>, k: &str| o.get(k).and_then(H::as_str).unwrap_or("").to_string();
    for b in r.body.blocks() {
        match (b.identifier(), b.labels().first().map(|l| l.as_str())) {
            ("taint", _) => {
                let f = |k: &str| {
                    attr(b.body(), k)
                        .and_then(|e| eval_str(e, scope, each))
                        .unwrap_or_default()
                };
                taints.push((f("key"), f("value"), k8s_effect(&f("effect"))));
            }
            ("dynamic", Some("taint")) => {
                if let Some(H::Array(items)) = attr(b.body(), "for_each").and_then(|e| eval_value(e, scope, each)) {
                    for t in items.iter().filter_map(H::as_object) {
                        taints.push((field(t, "key"), field(t, "value"), k8s_effect(&field(t, "effect"))));
                    }
                }
            }
            _ => {}
        }
    }
    let name = attr(&r.body, "node_group_name")
        .and_then(|e| eval_str(e, scope, each))
        .or_else(|| each.as_ref().and_then(|(k, _)| k.as_str().map(str::to_string)))?;
    Some(NodeGroup {
        name,
        instance_types,
        labels,
        taints,
        file: r.file.clone(),
        line: r.line,
        address: r.address(),
    })
}

fn attr<'a>(body: &'a Body, key: &str) -> Option<&'a Expression> {
    body.attributes().find(|a| a.key() == key).map(|a| a.expr())
}

fn block<'a>(body: &'a Body, ident: &str) -> Option<&'a Body> {
    body.blocks().find(|b| b.identifier() == ident).map(|b| b.body())
}

/// The `each` bindings of a resource: one empty binding without for_each, none if unknown.
fn each_bindings(r: &Res, scope: &Scope) -> Vec<Option<(H, H)>> {
    let Some(fe) = attr(&r.body, "for_each") else {
        return vec![None];
    };
    match scope.eval(fe) {
        Some(H::Object(m)) => m.into_iter().map(|(k, v)| Some((H::from(k), v))).collect(),
        Some(H::Array(a)) => a.into_iter().map(|v| Some((v.clone(), v))).collect(),
        _ => Vec::new(),
    }
}

fn eval_str(e: &Expression, scope: &Scope, each: &Option<(H, H)>) -> Option<String> {
    let mut ctx = scope.context();
    if let Some((k, v)) = each {
        ctx.declare_var(
            "each",
            H::Object(hcl::Map::from_iter([
                ("key".to_string(), k.clone()),
                ("value".to_string(), v.clone()),
            ])),
        );
    }
    match hcl::eval::Evaluate::evaluate(e, &ctx).ok()? {
        H::String(s) => Some(s),
        _ => None,
    }
}

fn chart_name(chart: &str) -> String {
    chart
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(chart)
        .to_string()
}

/// Collects what the Terraform instances of `env` create.
pub fn env_infra(env: &str, instances: &[Instance<'_>]) -> EnvInfra {
    let mut out = EnvInfra::default();
    for inst in instances.iter().filter(|i| i.env.as_deref() == Some(env)) {
        out.has_terraform = true;
        for r in inst.module.resources.iter().filter(|r| r.kind == "resource") {
            match r.rtype.as_str() {
                "aws_eks_cluster" => out.eks = true,
                "kind_cluster" => out.kind = true,
                "docker_image" => {
                    if let Some(n) = attr(&r.body, "name").and_then(|e| eval_str(e, &inst.scope, &None)) {
                        out.registry_image = Some((n, r.file.clone(), r.line));
                    }
                }
                "aws_eks_node_group" => {
                    for each in each_bindings(r, &inst.scope) {
                        if let Some(g) = node_group(r, &inst.scope, &each) {
                            out.node_groups.push(g);
                        }
                    }
                }
                "aws_secretsmanager_secret" => {
                    for each in each_bindings(r, &inst.scope) {
                        if let Some(n) = attr(&r.body, "name").and_then(|e| eval_str(e, &inst.scope, &each)) {
                            out.secrets.insert(n);
                        }
                    }
                }
                "aws_ecr_repository" => {
                    for each in each_bindings(r, &inst.scope) {
                        if let Some(n) = attr(&r.body, "name").and_then(|e| eval_str(e, &inst.scope, &each)) {
                            out.ecr_repos.insert(n);
                        }
                    }
                }
                "aws_eks_pod_identity_association" => {
                    for each in each_bindings(r, &inst.scope) {
                        let ns = attr(&r.body, "namespace").and_then(|e| eval_str(e, &inst.scope, &each));
                        let sa = attr(&r.body, "service_account").and_then(|e| eval_str(e, &inst.scope, &each));
                        if let (Some(namespace), Some(service_account)) = (ns, sa) {
                            out.identities.push(Identity {
                                namespace,
                                service_account,
                                file: r.file.clone(),
                                line: r.line,
                                address: r.address(),
                                path: inst.path.clone(),
                            });
                        }
                    }
                }
                "helm_release" => {
                    let Some(chart) = attr(&r.body, "chart").and_then(|e| eval_str(e, &inst.scope, &None)) else {
                        continue;
                    };
                    let off = attr(&r.body, "count")
                        .and_then(|e| inst.scope.eval(e))
                        .is_some_and(|v| v.as_number().and_then(|n| n.as_f64()) == Some(0.0));
                    if chart_name(&chart) == "nvidia-device-plugin" && !off {
                        out.nvidia_plugin = true;
                    }
                    let values = attr(&r.body, "values").map(crate::tf::expr_text).unwrap_or_default();
                    out.releases.push(Release {
                        chart: chart_name(&chart),
                        namespace: attr(&r.body, "namespace").and_then(|e| eval_str(e, &inst.scope, &None)),
                        file: r.file.clone(),
                        line: r.line,
                        address: r.address(),
                        path: inst.path.clone(),
                        depends_on: attr(&r.body, "depends_on")
                            .map(crate::tf::expr_text)
                            .unwrap_or_default(),
                        wants_volume: values.contains("volumeClaimTemplate") || values.contains("persistence"),
                        values,
                    });
                }
                "kubernetes_storage_class_v1" | "kubernetes_storage_class" => {
                    let Some(meta) = block(&r.body, "metadata") else {
                        continue;
                    };
                    let Some(name) = attr(meta, "name").and_then(|e| eval_str(e, &inst.scope, &None)) else {
                        continue;
                    };
                    let default = attr(meta, "annotations")
                        .map(crate::tf::expr_text)
                        .is_some_and(|t| t.contains("is-default-class") && t.contains("true"));
                    out.storage_classes.insert(name, default);
                }
                _ => {}
            }
        }
    }
    out
}

/// The Helm charts `mlp infra up local` installs (the one local path).
pub fn up_local_infra(layout: &Layout) -> EnvInfra {
    let mut out = EnvInfra {
        has_terraform: true,
        kind: true,
        ..Default::default()
    };
    for s in crate::deploy::plan_up_local(layout, None, "1m") {
        if let crate::deploy::Op::Run { argv, .. } = &s.op {
            if argv.first().map(String::as_str) != Some("helm") {
                continue;
            }
            let Some(i) = argv.iter().position(|a| a == "--install") else {
                continue;
            };
            if let Some(chart) = argv.get(i + 2) {
                let ns = argv
                    .iter()
                    .position(|a| a == "--namespace")
                    .and_then(|j| argv.get(j + 1))
                    .cloned();
                out.releases.push(Release {
                    chart: chart_name(chart),
                    namespace: ns,
                    file: "crates/mlp-infra/src/deploy.rs".into(),
                    line: 0,
                    address: format!("helm {}", argv[i + 1]),
                    path: "mlp infra up local".into(),
                    depends_on: String::new(),
                    wants_volume: false,
                    values: argv.join(" "),
                });
            }
        }
    }
    // Kind's local-path provisioner serves the default StorageClass "standard".
    out.storage_classes.insert("standard".into(), true);
    out
}

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

fn policy_types(pol: &Value) -> (bool, bool) {
    match pol["spec"]["policyTypes"].as_array() {
        Some(t) => (t.iter().any(|x| x == "Ingress"), t.iter().any(|x| x == "Egress")),
        None => (true, !pol["spec"]["egress"].is_null()),
    }
}

fn port_allows(ports: &Value, port: u16) -> bool {
    match ports.as_array() {
        None => true,
        Some(a) if a.is_empty() => true,
        Some(a) => a.iter().any(|p| {
            let proto_ok = p["protocol"].as_str().unwrap_or("TCP") == "TCP";
            let from = p["port"].as_u64();
            let to = p["endPort"].as_u64().or(from);
            proto_ok && (p["port"].is_null() || from.zip(to).is_some_and(|(f, t)| (f..=t).contains(&(port as u64))))
        }),
    }
}

/// The rules over one rendered overlay.
pub fn check_env(docs: &[Value], infra: &EnvInfra, cx: &mut Ctx<'_>) {
    if !infra.has_terraform {
        return;
    }
    let pods = pod_templates(docs);

    // XL-001: every registry image the overlay pulls is a repository Terraform creates.
    if infra.eks || !infra.ecr_repos.is_empty() {
        for p in &pods {
            for (_, c) in p.containers() {
                let image = c["image"].as_str().unwrap_or("");
                let (repo, _, _) = parse_image(image);
                let Some((host, path)) = repo.split_once('/') else {
                    continue;
                };
                if !(host.contains(".dkr.ecr.") && host.ends_with(".amazonaws.com")) {
                    continue;
                }
                if !infra.ecr_repos.contains(path) {
                    let have: Vec<&str> = infra.ecr_repos.iter().map(String::as_str).collect();
                    cx.push(
                        "XL-001",
                        p.owner,
                        format!(
                            "pulls {path} ({image}), but no aws_ecr_repository of this environment has that name (Terraform creates: {})",
                            if have.is_empty() { "none".into() } else { have.join(", ") }
                        ),
                    );
                }
            }
        }
    }

    // XL-002: pods with a Pod Identity association can reach the agent.
    if !infra.identities.is_empty() {
        let target = IpSet::cidr(&format!("{}/32", POD_IDENTITY_ENDPOINT.0)).expect("valid");
        let pols: Vec<&Value> = find(docs, "NetworkPolicy").collect();
        for p in &pods {
            let sa = p.spec["serviceAccountName"].as_str().unwrap_or("default");
            if !infra
                .identities
                .iter()
                .any(|i| i.namespace == p.namespace && i.service_account == sa)
            {
                continue;
            }
            let egress: Vec<&&Value> = pols
                .iter()
                .filter(|pol| {
                    pol["metadata"]["namespace"].as_str().unwrap_or("default") == p.namespace
                        && policy_types(pol).1
                        && selector_matches(&pol["spec"]["podSelector"], &p.labels)
                })
                .collect();
            if egress.is_empty() {
                continue;
            }
            let open = egress.iter().any(|pol| {
                pol["spec"]["egress"].as_array().into_iter().flatten().any(|rule| {
                    port_allows(&rule["ports"], POD_IDENTITY_ENDPOINT.1)
                        && match rule["to"].as_array() {
                            None => true,
                            Some(a) if a.is_empty() => true,
                            Some(a) => a.iter().any(|peer| {
                                !peer["ipBlock"].is_null() && target.subset_of(&ipblock_set(&peer["ipBlock"]))
                            }),
                        }
                })
            });
            if !open {
                let names: Vec<&str> = egress
                    .iter()
                    .filter_map(|pol| pol["metadata"]["name"].as_str())
                    .collect();
                cx.push(
                    "XL-002",
                    p.owner,
                    format!(
                        "ServiceAccount {sa} has an EKS Pod Identity association, but the egress NetworkPolicies selecting it ({}) do not allow {}:{}/TCP, so it gets no AWS credentials",
                        names.join(", "),
                        POD_IDENTITY_ENDPOINT.0,
                        POD_IDENTITY_ENDPOINT.1
                    ),
                );
            }
        }
    }

    // XL-003: custom resources only where the environment installs their CRD.
    let mut groups: BTreeSet<String> = BTreeSet::new();
    for r in &infra.releases {
        if let Some((_, g)) = CHART_GROUPS.iter().find(|(c, _)| *c == r.chart) {
            groups.extend(g.iter().map(|s| s.to_string()));
        }
    }
    for d in find(docs, "CustomResourceDefinition") {
        if let Some(g) = d["spec"]["group"].as_str() {
            groups.insert(g.to_string());
        }
    }
    let mut seen = BTreeSet::new();
    for d in docs {
        let g = group_of(d["apiVersion"].as_str().unwrap_or(""));
        if BUILTIN_GROUPS.contains(&g) || groups.contains(g) {
            continue;
        }
        let kind = d["kind"].as_str().unwrap_or("");
        if seen.insert((g.to_string(), kind.to_string())) {
            let installed: Vec<&str> = infra.releases.iter().map(|r| r.chart.as_str()).collect();
            cx.push(
                "XL-003",
                d,
                format!(
                    "{kind} ({g}) needs a CRD this environment does not install (charts installed: {})",
                    if installed.is_empty() {
                        "none".into()
                    } else {
                        installed.join(", ")
                    }
                ),
            );
        }
    }

    // XL-004: every volume claim has a StorageClass that exists.
    let mut classes: BTreeMap<String, bool> = infra.storage_classes.clone();
    for d in find(docs, "StorageClass") {
        let default = d["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true";
        classes.insert(d["metadata"]["name"].as_str().unwrap_or("").to_string(), default);
    }
    let has_default = classes.values().any(|d| *d);
    let mut claims: Vec<(&Value, Option<&str>)> = find(docs, "PersistentVolumeClaim")
        .map(|d| (d, d["spec"]["storageClassName"].as_str()))
        .collect();
    for d in find(docs, "StatefulSet") {
        for t in d["spec"]["volumeClaimTemplates"].as_array().into_iter().flatten() {
            claims.push((d, t["spec"]["storageClassName"].as_str()));
        }
    }
    for (d, class) in claims {
        match class {
            Some(c) if !c.is_empty() && !classes.contains_key(c) => {
                cx.push(
                    "XL-004",
                    d,
                    format!("claims a volume of StorageClass {c}, which this environment does not define"),
                );
            }
            None if !has_default => {
                cx.push(
                    "XL-004",
                    d,
                    "claims a volume without a StorageClass, and this environment has no default StorageClass: it stays Pending".into(),
                );
            }
            _ => {}
        }
    }

    // XL-007: GPU node groups get the device plugin (which selects them by label), and pods that
    // request GPUs tolerate the taints of some GPU group.
    if infra.eks {
        let gpu: Vec<&NodeGroup> = infra.node_groups.iter().filter(|g| !g.gpu_types().is_empty()).collect();
        let tf_finding = |g: &NodeGroup, msg: String| {
            Finding::new("XL-007", &g.file, format!("{}[\"{}\"]", g.address, g.name), msg)
                .line(Some(g.line))
                .env(cx.env)
        };
        let mut found = Vec::new();
        for g in &gpu {
            if g.labels.get("nvidia.com/gpu.present").map(String::as_str) != Some("true") {
                found.push(tf_finding(
                    g,
                    format!(
                        "node group {} has GPU instance types {:?} but not the label nvidia.com/gpu.present=true: the NVIDIA device plugin (its nodeSelector) never runs there, so the nodes never offer nvidia.com/gpu",
                        g.name,
                        g.gpu_types()
                    ),
                ));
            }
        }
        if let Some(g) = gpu.first()
            && !infra.nvidia_plugin
        {
            found.push(tf_finding(
                g,
                format!(
                    "node group {} has GPU instance types {:?} but this environment does not install the NVIDIA device plugin (modules/cluster/addons, gpu_enabled)",
                    g.name,
                    g.gpu_types()
                ),
            ));
        }
        cx.out.extend(found);
        if !gpu.is_empty() {
            for p in &pods {
                let wants_gpu = p.containers().any(|(_, c)| {
                    ["requests", "limits"]
                        .iter()
                        .any(|k| !c["resources"][k]["nvidia.com/gpu"].is_null())
                });
                if !wants_gpu {
                    continue;
                }
                let tolerations = p.spec["tolerations"].as_array().cloned().unwrap_or_default();
                let tolerates = |(key, value, effect): &(String, String, String)| {
                    effect == "PreferNoSchedule"
                        || tolerations.iter().any(|t| {
                            let op = t["operator"].as_str().unwrap_or("Equal");
                            let key_ok = t["key"].as_str().map_or(op == "Exists", |k| k == key);
                            let value_ok = op == "Exists" || t["value"].as_str().unwrap_or("") == value;
                            let effect_ok = t["effect"].as_str().is_none_or(|e| e.is_empty() || e == effect);
                            key_ok && value_ok && effect_ok
                        })
                };
                if !gpu.iter().any(|g| g.taints.iter().all(tolerates)) {
                    let groups: Vec<String> = gpu
                        .iter()
                        .map(|g| {
                            let t: Vec<String> = g.taints.iter().map(|(k, v, e)| format!("{k}={v}:{e}")).collect();
                            format!("{} [{}]", g.name, t.join(", "))
                        })
                        .collect();
                    cx.push(
                        "XL-007",
                        p.owner,
                        format!(
                            "requests nvidia.com/gpu but tolerates the taints of no GPU node group ({}): it stays Pending",
                            groups.join("; ")
                        ),
                    );
                }
            }
        }
    }

    // XL-006: every Secrets Manager secret an ExternalSecret reads by name is one Terraform
    // creates (ARNs come from the Terraform outputs themselves).
    if infra.eks {
        for d in find(docs, "ExternalSecret") {
            let spec = &d["spec"];
            let keys = spec["data"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| &x["remoteRef"]["key"])
                .chain(
                    spec["dataFrom"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|x| &x["extract"]["key"]),
                );
            for key in keys.filter_map(Value::as_str) {
                if key.starts_with("arn:") || infra.secrets.contains(key) {
                    continue;
                }
                let have: Vec<&str> = infra.secrets.iter().map(String::as_str).collect();
                cx.push(
                    "XL-006",
                    d,
                    format!("reads the Secrets Manager secret {key}, which this environment's Terraform does not create (it creates {have:?})"),
                );
            }
        }
    }

    // XL-006: every association of a namespace the overlay deploys names a ServiceAccount in it.
    let namespaces: BTreeSet<&str> = pods.iter().map(|p| p.namespace.as_str()).collect();
    let accounts: BTreeSet<(&str, &str)> = find(docs, "ServiceAccount")
        .map(|d| {
            (
                d["metadata"]["namespace"].as_str().unwrap_or("default"),
                d["metadata"]["name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    for i in &infra.identities {
        if namespaces.contains(i.namespace.as_str())
            && !accounts.contains(&(i.namespace.as_str(), i.service_account.as_str()))
        {
            cx.out.push(
                Finding::new(
                    "XL-006",
                    &i.file,
                    i.address.clone(),
                    format!(
                        "associates IAM with ServiceAccount {}/{}, which the overlay does not define",
                        i.namespace, i.service_account
                    ),
                )
                .line(Some(i.line))
                .env(cx.env),
            );
        }
    }
}

/// Terraform-only cross-layer rules of one environment: XL-004 for Helm releases with volumes,
/// XL-005 ordering of identity associations before the releases that use them.
pub fn check_terraform(env: &str, infra: &EnvInfra, lib: &ModuleLib, layout: &Layout) -> Vec<Finding> {
    let mut out = Vec::new();
    if infra.eks && !infra.storage_classes.values().any(|d| *d) {
        for r in infra.releases.iter().filter(|r| r.wants_volume) {
            out.push(
                Finding::new(
                    "XL-004",
                    &r.file,
                    r.address.clone(),
                    format!(
                        "Helm release {} asks for persistent volumes, and this EKS environment defines no default StorageClass (EKS >= 1.30 has none): its PVCs stay Pending",
                        r.chart
                    ),
                )
                .line(Some(r.line))
                .env(env),
            );
        }
    }
    let root = lib.modules.get(&layout.tf_root_dir(env));
    for i in &infra.identities {
        for r in infra.releases.iter().filter(|r| {
            r.namespace.as_deref() == Some(i.namespace.as_str())
                && r.values.contains(&format!("\"{}\"", i.service_account))
        }) {
            let ordered = if r.path == i.path {
                r.depends_on.contains(&i.address)
            } else {
                // The release's module is called with a value from the association's module.
                let callee = |p: &str| {
                    p.rsplit_once(":module.")
                        .map(|(_, c)| c.split('.').next().unwrap_or(c).to_string())
                };
                match (root, callee(&r.path), callee(&i.path)) {
                    (Some(root), Some(rc), Some(ic)) => root.calls.iter().any(|c| {
                        c.name == rc
                            && c.args
                                .values()
                                .any(|e| crate::tf::expr_text(e).contains(&format!("module.{ic}.")))
                    }),
                    _ => false,
                }
            };
            if !ordered {
                out.push(
                    Finding::new(
                        "XL-005",
                        &r.file,
                        r.address.clone(),
                        format!(
                            "the pods of Helm release {} ({}/{}) can start before {} ({}) exists, and EKS Pod Identity only injects credentials into pods created after it",
                            r.chart, i.namespace, i.service_account, i.address, i.path
                        ),
                    )
                    .line(Some(r.line))
                    .env(env),
                );
            }
        }
    }
    out
}

/// XL-006 between the local path, the Terraform local root and the NetworkPolicies' intent: one
/// Kind cluster name, one ingress controller namespace.
pub fn check_local_names(layout: &Layout, tf_local: &EnvInfra, up_local: &EnvInfra) -> Vec<Finding> {
    let mut out = Vec::new();
    // The namespace connectivity.yaml (and so the local NetworkPolicies) admits ingress from.
    let admitted = std::fs::read_to_string(&layout.connectivity)
        .ok()
        .and_then(|t| serde_norway::from_str::<Value>(&t).ok())
        .and_then(|c| {
            c["peers"]["ingress-controller"]["local"]["namespace"]
                .as_str()
                .map(str::to_string)
        });
    if let Some(admitted) = admitted {
        for r in tf_local.releases.iter().chain(&up_local.releases) {
            if !r.chart.contains("ingress") {
                continue;
            }
            if let Some(ns) = r.namespace.as_deref().filter(|ns| *ns != admitted) {
                out.push(
                    Finding::new(
                        "XL-006",
                        &r.file,
                        r.address.clone(),
                        format!(
                            "the ingress controller {} runs in namespace {ns}, but the local NetworkPolicies admit ingress only from {admitted} ({})",
                            r.chart,
                            layout.rel(&layout.connectivity)
                        ),
                    )
                    .line((r.line > 0).then_some(r.line))
                    .env("local"),
                );
            }
        }
    }
    // One registry image under the one container name.
    let up_image = crate::deploy::plan_up_local(layout, None, "1m")
        .into_iter()
        .find_map(|s| match s.op {
            crate::deploy::Op::Run { argv, .. }
                if argv.iter().any(|a| a == "kind-registry") && argv[..2] == ["docker", "run"] =>
            {
                argv.last().cloned()
            }
            _ => None,
        });
    if let (Some(up), Some((tf, file, line))) = (up_image, &tf_local.registry_image)
        && up != *tf
    {
        out.push(
                Finding::new(
                    "XL-006",
                    file,
                    "docker_image.registry".to_string(),
                    format!("the Terraform local root runs the kind-registry container from {tf}, `mlp infra up local` from {up}"),
                )
                .line(Some(*line))
                .env("local"),
            );
    }
    let cfg = layout.kubernetes.join("kind/cluster.yaml");
    let tfvars = layout.tf_env_dir("local").join("terraform.tfvars");
    let Some(kind_name) = std::fs::read_to_string(&cfg)
        .ok()
        .and_then(|t| yaml_docs(&t).ok())
        .and_then(|d| d.first().and_then(|(_, _, v)| v["name"].as_str().map(str::to_string)))
    else {
        return out;
    };
    let Ok(vars) = crate::tf::read_tfvars(&tfvars) else {
        return out;
    };
    if let Some(tf_name) = vars.get("cluster_name").and_then(|v| v.as_str())
        && tf_name != kind_name
    {
        out.push(
            Finding::new(
                "XL-006",
                layout.rel(&tfvars),
                "cluster_name".to_string(),
                format!(
                    "the Terraform local root names the Kind cluster {tf_name}, {} names it {kind_name}",
                    layout.rel(&cfg)
                ),
            )
            .env("local"),
        );
    }
    out
}
