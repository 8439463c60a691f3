//! Workload, namespace, RBAC and secret rules over rendered overlays and the committed YAML.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::layout::{Layout, Rendered, SourceIndex, ident};
use crate::model::{Finding, Severity};

/// A pod template and the object that owns it.
#[derive(Debug, Clone)]
pub struct PodTpl<'a> {
    pub owner: &'a Value,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub spec: &'a Value,
}

impl PodTpl<'_> {
    pub fn id(&self) -> String {
        ident(self.owner)
    }
    /// `(field, container)` for init, regular and ephemeral containers.
    pub fn containers(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        ["initContainers", "containers", "ephemeralContainers"]
            .into_iter()
            .flat_map(move |f| self.spec[f].as_array().into_iter().flatten().map(move |c| (f, c)))
    }
    pub fn workload(&self) -> Option<&str> {
        self.labels.get("app.kubernetes.io/name").map(String::as_str)
    }
}

pub fn str_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                .collect()
        })
        .unwrap_or_default()
}

pub fn pod_templates(docs: &[Value]) -> Vec<PodTpl<'_>> {
    let mut out = Vec::new();
    for d in docs {
        let kind = d["kind"].as_str().unwrap_or("");
        let tpl = match kind {
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => &d["spec"]["template"],
            "CronJob" => &d["spec"]["jobTemplate"]["spec"]["template"],
            "PodTemplate" => &d["template"],
            "Pod" => d,
            _ => continue,
        };
        if tpl.is_null() {
            continue;
        }
        out.push(PodTpl {
            owner: d,
            kind: kind.to_string(),
            name: d["metadata"]["name"].as_str().unwrap_or("?").to_string(),
            namespace: d["metadata"]["namespace"].as_str().unwrap_or("default").to_string(),
            labels: str_map(&tpl["metadata"]["labels"]),
            spec: &tpl["spec"],
        });
    }
    out
}

pub fn find<'a>(docs: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    docs.iter().filter(move |d| d["kind"] == kind)
}

fn k8s_subject(doc: &Value) -> String {
    format!(
        "k8s:{}/{}",
        doc["kind"].as_str().unwrap_or(""),
        doc["metadata"]["name"].as_str().unwrap_or("")
    )
}

/// Builds findings about rendered objects with file/line from the source index.
pub struct Ctx<'a> {
    pub env: &'a str,
    pub idx: &'a SourceIndex,
    pub overlay_file: String,
    pub out: Vec<Finding>,
}

impl Ctx<'_> {
    pub fn push(&mut self, rule: &'static str, doc: &Value, message: String) -> &mut Finding {
        let (file, line) = self.idx.locate(doc, &self.overlay_file);
        self.out.push(
            Finding::new(rule, file, ident(doc), message)
                .line(line)
                .env(self.env)
                .subject(k8s_subject(doc)),
        );
        self.out.last_mut().expect("just pushed")
    }
}

const RESTRICTED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
    "image",
];
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
const SELINUX_TYPES: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];
const LONG_RUNNING: &[&str] = &["Deployment", "StatefulSet", "DaemonSet"];

fn is_false(v: &Value) -> bool {
    v.as_bool() == Some(false)
}

/// Pod Security "restricted" (which includes "baseline"), host access, resources, probes and
/// service-account tokens, per pod template.
pub fn check_pods(docs: &[Value], cx: &mut Ctx<'_>) {
    let bound_sas = bound_service_accounts(docs);
    let sas: BTreeMap<(String, String), &Value> = find(docs, "ServiceAccount")
        .map(|d| {
            (
                (
                    d["metadata"]["namespace"].as_str().unwrap_or("default").to_string(),
                    d["metadata"]["name"].as_str().unwrap_or("").to_string(),
                ),
                d,
            )
        })
        .collect();
    for p in pod_templates(docs) {
        let s = p.spec;
        let o = p.owner;
        let psc = &s["securityContext"];
        for f in ["hostNetwork", "hostPID", "hostIPC"] {
            if s[f].as_bool() == Some(true) {
                cx.push("K8S-010", o, format!("{f}: true shares the node's namespace"));
            }
        }
        for vol in s["volumes"].as_array().into_iter().flatten() {
            let vname = vol["name"].as_str().unwrap_or("?");
            for t in vol
                .as_object()
                .into_iter()
                .flat_map(|m| m.keys())
                .filter(|k| *k != "name")
            {
                if t == "hostPath" {
                    cx.push(
                        "K8S-011",
                        o,
                        format!(
                            "volume {vname} mounts hostPath {}",
                            vol["hostPath"]["path"].as_str().unwrap_or("?")
                        ),
                    );
                } else if !RESTRICTED_VOLUMES.contains(&t.as_str()) {
                    cx.push(
                        "K8S-006",
                        o,
                        format!("volume {vname} uses type {t}, not allowed by restricted"),
                    );
                }
            }
        }
        for sc in psc["sysctls"].as_array().into_iter().flatten() {
            let n = sc["name"].as_str().unwrap_or("?");
            if !SAFE_SYSCTLS.contains(&n) {
                cx.push("K8S-006", o, format!("unsafe sysctl {n}"));
            }
        }
        if psc["windowsOptions"]["hostProcess"].as_bool() == Some(true) {
            cx.push("K8S-010", o, "windowsOptions.hostProcess: true".into());
        }
        let pod_seccomp = psc["seccompProfile"]["type"].as_str();
        if let Some(t) = pod_seccomp
            && t != "RuntimeDefault"
            && t != "Localhost"
        {
            cx.push("K8S-005", o, format!("pod seccompProfile is {t}"));
        }
        selinux_apparmor(psc, "pod", o, cx);
        if psc["runAsUser"].as_i64() == Some(0) {
            cx.push("K8S-004", o, "pod securityContext.runAsUser is 0".into());
        }

        // service account and token
        let sa = s["serviceAccountName"]
            .as_str()
            .or_else(|| s["serviceAccount"].as_str());
        if p.kind != "PodTemplate" && sa.is_none_or(|n| n == "default") {
            cx.push(
                "K8S-023",
                o,
                "pods run as the namespace's default ServiceAccount".into(),
            );
        }
        let sa_doc = sa.and_then(|n| sas.get(&(p.namespace.clone(), n.to_string())));
        let automount = match &s["automountServiceAccountToken"] {
            Value::Bool(b) => Some(*b),
            _ => sa_doc.and_then(|d| d["automountServiceAccountToken"].as_bool()),
        };
        let name = sa.unwrap_or("default");
        let needs_api = bound_sas.contains(&(p.namespace.clone(), name.to_string()));
        if automount != Some(false) && !needs_api {
            cx.push(
                "K8S-022",
                o,
                format!("the API token of ServiceAccount {name} is mounted, but no RoleBinding gives it API access"),
            );
        }

        for (field, c) in p.containers() {
            let cname = format!("{field}[{}]", c["name"].as_str().unwrap_or("?"));
            let sc = &c["securityContext"];
            if sc["privileged"].as_bool() == Some(true) {
                cx.push("K8S-001", o, format!("{cname} is privileged"));
            }
            if !is_false(&sc["allowPrivilegeEscalation"]) {
                cx.push(
                    "K8S-002",
                    o,
                    format!("{cname} does not set allowPrivilegeEscalation: false"),
                );
            }
            let caps = &sc["capabilities"];
            if !caps["drop"].as_array().is_some_and(|d| d.iter().any(|x| x == "ALL")) {
                cx.push("K8S-003", o, format!("{cname} does not drop ALL capabilities"));
            }
            let extra: Vec<&str> = caps["add"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter(|c| *c != "NET_BIND_SERVICE")
                .collect();
            if !extra.is_empty() {
                cx.push("K8S-003", o, format!("{cname} adds capabilities {extra:?}"));
            }
            let non_root = sc["runAsNonRoot"].as_bool().or(psc["runAsNonRoot"].as_bool());
            if non_root != Some(true) {
                cx.push(
                    "K8S-004",
                    o,
                    format!("{cname} does not set runAsNonRoot: true (pod or container)"),
                );
            }
            if sc["runAsUser"].as_i64() == Some(0) {
                cx.push("K8S-004", o, format!("{cname} runs as UID 0"));
            }
            let seccomp = sc["seccompProfile"]["type"].as_str().or(pod_seccomp);
            if !matches!(seccomp, Some("RuntimeDefault" | "Localhost")) {
                cx.push(
                    "K8S-005",
                    o,
                    format!("{cname} has seccompProfile {}", seccomp.unwrap_or("unset")),
                );
            }
            if let Some(pm) = sc["procMount"].as_str()
                && pm != "Default"
            {
                cx.push("K8S-006", o, format!("{cname} uses procMount {pm}"));
            }
            if sc["windowsOptions"]["hostProcess"].as_bool() == Some(true) {
                cx.push("K8S-010", o, format!("{cname} is a hostProcess container"));
            }
            selinux_apparmor(sc, &cname, o, cx);
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                for h in ["httpGet", "tcpSocket"] {
                    if c[probe][h]["host"].is_string() {
                        cx.push("K8S-006", o, format!("{cname} {probe}.{h}.host is set"));
                    }
                }
            }
            for port in c["ports"].as_array().into_iter().flatten() {
                if port["hostPort"].as_i64().is_some_and(|h| h != 0) {
                    cx.push("K8S-012", o, format!("{cname} binds hostPort {}", port["hostPort"]));
                }
            }
            if sc["readOnlyRootFilesystem"].as_bool() != Some(true) {
                cx.push("K8S-007", o, format!("{cname} has a writable root filesystem"));
            }
            let res = &c["resources"];
            let mut missing = Vec::new();
            for kind in ["requests", "limits"] {
                for r in ["cpu", "memory"] {
                    if res[kind][r].is_null() {
                        missing.push(format!("{kind}.{r}"));
                    }
                }
            }
            if !missing.is_empty() {
                cx.push("K8S-020", o, format!("{cname} lacks resources {}", missing.join(", ")));
            }
            if field == "containers" && LONG_RUNNING.contains(&p.kind.as_str()) {
                for probe in ["livenessProbe", "readinessProbe"] {
                    if c[probe].is_null() {
                        cx.push("K8S-021", o, format!("{cname} has no {probe}"));
                    }
                }
            }
            check_image(c["image"].as_str().unwrap_or(""), &cname, o, cx);
            check_env_secrets(c, &cname, o, cx);
        }
    }
}

fn selinux_apparmor(sc: &Value, who: &str, o: &Value, cx: &mut Ctx<'_>) {
    let se = &sc["seLinuxOptions"];
    if se.is_object()
        && (!SELINUX_TYPES.contains(&se["type"].as_str().unwrap_or(""))
            || se["user"].is_string()
            || se["role"].is_string())
    {
        cx.push(
            "K8S-006",
            o,
            format!("{who} sets seLinuxOptions beyond the container_t types"),
        );
    }
    if let Some(t) = sc["appArmorProfile"]["type"].as_str()
        && t != "RuntimeDefault"
        && t != "Localhost"
    {
        cx.push("K8S-006", o, format!("{who} sets appArmorProfile {t}"));
    }
}

/// Service accounts that a (Cluster)RoleBinding gives API access to.
fn bound_service_accounts(docs: &[Value]) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for rb in docs
        .iter()
        .filter(|d| d["kind"] == "RoleBinding" || d["kind"] == "ClusterRoleBinding")
    {
        let ns = rb["metadata"]["namespace"].as_str().unwrap_or("default");
        for s in rb["subjects"].as_array().into_iter().flatten() {
            if s["kind"] == "ServiceAccount" {
                out.insert((
                    s["namespace"].as_str().unwrap_or(ns).to_string(),
                    s["name"].as_str().unwrap_or("").to_string(),
                ));
            }
        }
    }
    out
}

/// Parsed image reference: (repository, tag, digest).
pub fn parse_image(image: &str) -> (String, Option<String>, Option<String>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d.to_string())),
        None => (image, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[last_slash..].rfind(':') {
        Some(i) => (
            rest[..last_slash + i].to_string(),
            Some(rest[last_slash + i + 1..].to_string()),
            digest,
        ),
        None => (rest.to_string(), None, digest),
    }
}

/// `1.2.3`, `v1.2.3-rc.1`, `16-0.1.0`: a release version, not a moving name.
pub fn is_release_tag(tag: &str) -> bool {
    let t = tag.strip_prefix('v').unwrap_or(tag);
    let core = t.split(['-', '+']).collect::<Vec<_>>();
    let semver = |s: &str| {
        let parts: Vec<&str> = s.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    };
    semver(core[0]) || (core.len() >= 2 && core[0].chars().all(|c| c.is_ascii_digit()) && semver(core[1]))
}

fn check_image(image: &str, cname: &str, o: &Value, cx: &mut Ctx<'_>) {
    let prod = cx.env == "prod";
    let sev = if prod { Severity::Error } else { Severity::Warning };
    let (repo, tag, digest) = parse_image(image);
    let problem = if image.is_empty() {
        Some(format!("{cname} has no image"))
    } else if digest.is_some() {
        None
    } else {
        match tag.as_deref() {
            None => Some(format!("{cname} image {image} has no tag (means :latest)")),
            Some("latest") => Some(format!("{cname} image {image} uses the mutable tag latest")),
            Some(t) if prod && !is_release_tag(t) => Some(format!(
                "{cname} image {image} is not pinned to a release version or digest"
            )),
            _ => None,
        }
    };
    if let Some(m) = problem {
        let f = cx.push("K8S-030", o, m);
        f.severity = sev;
    }
    if prod && (repo.starts_with("localhost") || repo.starts_with("127.0.0.1")) {
        let f = cx.push(
            "K8S-030",
            o,
            format!("{cname} prod image {image} comes from a local registry"),
        );
        f.severity = sev;
    }
}

fn secretish_key(k: &str) -> bool {
    let l = k.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "secret",
        "token",
        "private_key",
        "privatekey",
        "access_key",
        "accesskey",
        "credential",
    ]
    .iter()
    .any(|w| l.contains(w))
        && !(l.ends_with("_file") || l.ends_with("_arn") || l.ends_with("_name") || l.ends_with("_path"))
}

/// A value that embeds a credential: URL with a password, AWS access key, PEM private key.
pub fn secretish_value(v: &str) -> bool {
    url_with_password(v) || aws_key(v) || v.contains("PRIVATE KEY-----")
}

fn url_with_password(v: &str) -> bool {
    v.split_whitespace().any(|w| {
        let Some(i) = w.find("://") else { return false };
        let rest = &w[i + 3..];
        let auth = rest.split('/').next().unwrap_or("");
        match auth.rsplit_once('@') {
            Some((cred, _)) => cred
                .split_once(':')
                .is_some_and(|(u, p)| !u.is_empty() && !p.is_empty()),
            None => false,
        }
    })
}

fn aws_key(v: &str) -> bool {
    let b = v.as_bytes();
    (0..b.len().saturating_sub(19)).any(|i| {
        (b[i..].starts_with(b"AKIA") || b[i..].starts_with(b"ASIA"))
            && b[i + 4..i + 20]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
    })
}

fn check_env_secrets(c: &Value, cname: &str, o: &Value, cx: &mut Ctx<'_>) {
    for e in c["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().unwrap_or("");
        if let Some(v) = e["value"].as_str() {
            if secretish_value(v) {
                cx.push("K8S-041", o, format!("{cname} env {name} contains a credential"));
            } else if secretish_key(name) && !v.is_empty() {
                cx.push("K8S-041", o, format!("{cname} env {name} holds a literal secret value"));
            }
        }
        if !e["valueFrom"]["secretKeyRef"].is_null() {
            cx.push(
                "K8S-043",
                o,
                format!("{cname} env {name} reads a Secret into the environment"),
            );
        }
    }
    for ef in c["envFrom"].as_array().into_iter().flatten() {
        if let Some(n) = ef["secretRef"]["name"].as_str() {
            cx.push(
                "K8S-043",
                o,
                format!("{cname} loads Secret {n} into the environment (envFrom)"),
            );
        }
    }
    for a in c["args"]
        .as_array()
        .into_iter()
        .chain(c["command"].as_array())
        .flatten()
    {
        if a.as_str().is_some_and(secretish_value) {
            cx.push("K8S-041", o, format!("{cname} has a credential in its command line"));
        }
    }
}

/// Secrets in ConfigMaps; Secret objects in rendered overlays (cloud: none at all; local: only
/// generated ones).
pub fn check_config_and_secrets(docs: &[Value], cx: &mut Ctx<'_>) {
    for cm in find(docs, "ConfigMap") {
        for (k, v) in cm["data"].as_object().into_iter().flatten() {
            let v = v.as_str().unwrap_or("");
            if secretish_value(v) {
                cx.push("K8S-040", cm, format!("key {k} contains a credential"));
            } else if secretish_key(k) && !v.trim().is_empty() {
                cx.push("K8S-040", cm, format!("key {k} names a secret"));
            }
        }
    }
    for s in find(docs, "Secret") {
        let name = s["metadata"]["name"].as_str().unwrap_or("");
        let generated = name
            .rsplit_once('-')
            .is_some_and(|(_, h)| h.len() == 10 && h.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        if cx.env != "local" {
            cx.push(
                "K8S-042",
                s,
                "a Secret object ships in a cloud overlay; use an ExternalSecret".into(),
            );
        } else if !generated {
            cx.push(
                "K8S-042",
                s,
                "Secret is not produced by a secretGenerator (committed secret?)".into(),
            );
        }
    }
}

/// Namespaces: nothing in `default`; namespaces with pods enforce Pod Security restricted.
pub fn check_namespaces(docs: &[Value], cx: &mut Ctx<'_>) {
    let mut pod_namespaces = BTreeSet::new();
    for p in pod_templates(docs) {
        if p.namespace == "default" {
            cx.push("K8S-050", p.owner, "runs in the default namespace".into());
        }
        pod_namespaces.insert(p.namespace.clone());
    }
    for ns in pod_namespaces {
        let Some(nsdoc) = find(docs, "Namespace").find(|n| n["metadata"]["name"] == ns.as_str()) else {
            continue; // not managed here (e.g. an add-on's namespace)
        };
        let labels = &nsdoc["metadata"]["labels"];
        if labels["pod-security.kubernetes.io/enforce"] != "restricted" {
            cx.push(
                "K8S-050",
                nsdoc,
                "pod-security.kubernetes.io/enforce is not restricted".into(),
            );
        }
    }
}

/// RBAC: no wildcards, no exec/attach/portforward, no secrets, no escalate/bind/impersonate, no
/// cluster-wide roles or bindings.
pub fn check_rbac(docs: &[Value], cx: &mut Ctx<'_>) {
    for d in docs {
        let kind = d["kind"].as_str().unwrap_or("");
        if kind == "ClusterRoleBinding" && d["roleRef"]["name"] == "cluster-admin" {
            cx.push("K8S-051", d, "binds cluster-admin".into());
        }
        if kind == "RoleBinding" && d["roleRef"]["kind"] == "ClusterRole" && d["roleRef"]["name"] == "cluster-admin" {
            cx.push("K8S-051", d, "binds cluster-admin in the namespace".into());
        }
        if kind != "Role" && kind != "ClusterRole" {
            continue;
        }
        for rule in d["rules"].as_array().into_iter().flatten() {
            for field in ["apiGroups", "resources", "verbs"] {
                if rule[field].as_array().is_some_and(|a| a.iter().any(|x| x == "*")) {
                    cx.push("K8S-051", d, format!("wildcard in {field}"));
                }
            }
            let res: BTreeSet<&str> = rule["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let verbs: BTreeSet<&str> = rule["verbs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            // Creating and deleting Secrets without reading any (the worker's per-attempt token
            // Secret) is not secrets access.
            let write_only = !verbs.is_empty() && verbs.iter().all(|v| matches!(*v, "create" | "delete"));
            let bad: Vec<&str> = ["pods/exec", "pods/attach", "pods/portforward", "secrets"]
                .into_iter()
                .filter(|r| res.contains(r) && !(*r == "secrets" && write_only))
                .collect();
            if !bad.is_empty() {
                cx.push("K8S-051", d, format!("grants {bad:?}"));
            }
            let bad: Vec<&str> = ["escalate", "bind", "impersonate"]
                .into_iter()
                .filter(|v| verbs.contains(v))
                .collect();
            if !bad.is_empty() {
                cx.push("K8S-051", d, format!("grants verbs {bad:?}"));
            }
        }
    }
}

/// Services of type NodePort/LoadBalancer; CronJob bounds; prod HA.
pub fn check_services_cronjobs_ha(docs: &[Value], cx: &mut Ctx<'_>) {
    for s in find(docs, "Service") {
        if let Some(t @ ("NodePort" | "LoadBalancer")) = s["spec"]["type"].as_str() {
            cx.push("K8S-052", s, format!("Service type {t} exposes the pods on every node"));
        }
    }
    for cj in find(docs, "CronJob") {
        let s = &cj["spec"];
        let mut missing = Vec::new();
        if s["concurrencyPolicy"] != "Forbid" {
            missing.push("concurrencyPolicy: Forbid");
        }
        if s["startingDeadlineSeconds"].is_null() {
            missing.push("startingDeadlineSeconds");
        }
        if s["jobTemplate"]["spec"]["activeDeadlineSeconds"].is_null() {
            missing.push("jobTemplate.spec.activeDeadlineSeconds");
        }
        for f in ["successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
            if s[f].is_null() {
                missing.push(f);
            }
        }
        if !missing.is_empty() {
            cx.push("K8S-054", cj, format!("missing {}", missing.join(", ")));
        }
    }
    if cx.env != "prod" {
        return;
    }
    let pdbs: Vec<&Value> = find(docs, "PodDisruptionBudget").collect();
    let hpas: Vec<&Value> = find(docs, "HorizontalPodAutoscaler").collect();
    for d in find(docs, "Deployment").chain(find(docs, "StatefulSet")) {
        let name = d["metadata"]["name"].as_str().unwrap_or("");
        let hpa_min = hpas
            .iter()
            .filter(|h| h["spec"]["scaleTargetRef"]["name"] == name)
            .filter_map(|h| h["spec"]["minReplicas"].as_i64())
            .max();
        let replicas = hpa_min.unwrap_or_else(|| d["spec"]["replicas"].as_i64().unwrap_or(1));
        let tpl = &d["spec"]["template"];
        let labels = str_map(&tpl["metadata"]["labels"]);
        let mut missing = Vec::new();
        if replicas < 2 {
            missing.push(format!("{replicas} replica(s)"));
        }
        if !pdbs
            .iter()
            .any(|p| crate::net::selector_matches(&p["spec"]["selector"], &labels))
        {
            missing.push("no PodDisruptionBudget".to_string());
        }
        let spec = &tpl["spec"];
        if spec["topologySpreadConstraints"].as_array().is_none_or(Vec::is_empty)
            && spec["affinity"]["podAntiAffinity"].is_null()
        {
            missing.push("no topology spread or pod anti-affinity".to_string());
        }
        if !missing.is_empty() {
            cx.push("K8S-053", d, missing.join(", "));
        }
    }
}

/// Checks on the committed YAML itself: Secrets with data, secretGenerator literals or files that
/// git does not ignore.
pub fn check_committed(layout: &Layout, idx: &SourceIndex) -> Vec<Finding> {
    let mut out = Vec::new();
    for (file, line, d) in &idx.docs {
        if d["kind"] == "Secret"
            && (d["data"].as_object().is_some_and(|m| !m.is_empty())
                || d["stringData"].as_object().is_some_and(|m| !m.is_empty()))
        {
            out.push(
                Finding::new("K8S-042", file, ident(d), "a Secret with data is committed")
                    .line(Some(*line))
                    .subject(k8s_subject(d)),
            );
        }
        for g in d["secretGenerator"].as_array().into_iter().flatten() {
            let gname = g["name"].as_str().unwrap_or("?");
            if g["literals"].as_array().is_some_and(|l| !l.is_empty()) {
                out.push(
                    Finding::new(
                        "K8S-042",
                        file,
                        format!("secretGenerator/{gname}"),
                        "secretGenerator with literal values",
                    )
                    .line(Some(*line))
                    .subject(format!("file:{file}")),
                );
            }
            for key in ["files", "envs"] {
                for src in g[key].as_array().into_iter().flatten().filter_map(Value::as_str) {
                    let path = src.split_once('=').map_or(src, |(_, p)| p);
                    let abs = layout
                        .root
                        .join(file)
                        .parent()
                        .map(|p| p.join(path))
                        .unwrap_or_default();
                    if git_tracked(layout, &abs) {
                        out.push(
                            Finding::new(
                                "K8S-042",
                                file,
                                format!("secretGenerator/{gname}"),
                                format!("secretGenerator reads {path}, which is committed to git"),
                            )
                            .line(Some(*line))
                            .subject(format!("file:{file}")),
                        );
                    }
                }
            }
        }
    }
    out
}

/// Whether git tracks the file (read-only `git ls-files`); false without git.
fn git_tracked(layout: &Layout, path: &std::path::Path) -> bool {
    let Ok(out) = std::process::Command::new("git")
        .arg("-C")
        .arg(&layout.root)
        .args(["ls-files", "--error-unmatch"])
        .arg(path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
    else {
        return false;
    };
    out.success()
}

/// All workload rules over one rendered overlay.
pub fn check_rendered(r: &Rendered, layout: &Layout, idx: &SourceIndex) -> Vec<Finding> {
    let overlay_file = layout.rel(&r.dir.join("kustomization.yaml"));
    let mut cx = Ctx {
        env: &r.env,
        idx,
        overlay_file,
        out: Vec::new(),
    };
    check_pods(&r.docs, &mut cx);
    check_config_and_secrets(&r.docs, &mut cx);
    check_namespaces(&r.docs, &mut cx);
    check_rbac(&r.docs, &mut cx);
    check_services_cronjobs_ha(&r.docs, &mut cx);
    cx.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images() {
        assert_eq!(
            parse_image("localhost:5001/a/b"),
            ("localhost:5001/a/b".into(), None, None)
        );
        assert_eq!(parse_image("localhost:5001/a/b:dev").1.as_deref(), Some("dev"));
        assert_eq!(parse_image("redis:7.4.2").1.as_deref(), Some("7.4.2"));
        assert!(is_release_tag("0.1.0") && is_release_tag("v1.2.3-rc.1") && is_release_tag("16-0.1.0"));
        assert!(!is_release_tag("dev") && !is_release_tag("main") && !is_release_tag("16"));
    }

    #[test]
    fn secrets() {
        assert!(secretish_value("postgresql://mlp:hunter2@db:5432/mlp"));
        assert!(!secretish_value("postgresql://mlp@db:5432/mlp"));
        assert!(secretish_value("key AKIAABCDEFGHIJKLMNOP"));
        assert!(secretish_key("DB_PASSWORD") && !secretish_key("DB_PASSWORD_FILE"));
    }
}
