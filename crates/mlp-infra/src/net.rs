//! NetworkPolicy coverage and reachability: which workload can open a connection to which
//! workload or external peer on which port, derived from the policies (egress of the source AND
//! ingress of the target), compared with `infrastructure/policy/connectivity.yaml`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::k8s::{Ctx, PodTpl, find, pod_templates, str_map};
use crate::model::Finding;

/// Kubernetes LabelSelector semantics; a null or empty selector matches everything.
pub fn selector_matches(sel: &Value, labels: &BTreeMap<String, String>) -> bool {
    for (k, v) in sel["matchLabels"].as_object().into_iter().flatten() {
        if labels.get(k).map(String::as_str) != v.as_str() {
            return false;
        }
    }
    for e in sel["matchExpressions"].as_array().into_iter().flatten() {
        let key = e["key"].as_str().unwrap_or("");
        let vals: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let have = labels.get(key).map(String::as_str);
        let ok = match e["operator"].as_str().unwrap_or("") {
            "In" => have.is_some_and(|h| vals.contains(&h)),
            "NotIn" => have.is_none_or(|h| !vals.contains(&h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

fn is_empty_selector(sel: &Value) -> bool {
    sel.is_null()
        || (sel["matchLabels"].as_object().is_none_or(|m| m.is_empty())
            && sel["matchExpressions"].as_array().is_none_or(Vec::is_empty))
}

fn policy_types(pol: &Value) -> (bool, bool) {
    match pol["spec"]["policyTypes"].as_array() {
        Some(t) => (t.iter().any(|x| x == "Ingress"), t.iter().any(|x| x == "Egress")),
        None => (true, !pol["spec"]["egress"].is_null()),
    }
}

// ------------------------------------------------------------------------------------------
// address sets (IPv4 mapped into the IPv6 space) for ipBlock analysis
// ------------------------------------------------------------------------------------------

/// A set of addresses as sorted, disjoint, inclusive intervals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpSet(Vec<(u128, u128)>);

const V4_BASE: u128 = 0xffff_0000_0000;

impl IpSet {
    pub fn all() -> IpSet {
        IpSet(vec![(0, u128::MAX)])
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn cidr(s: &str) -> Option<IpSet> {
        let (addr, len) = s.split_once('/')?;
        let len: u32 = len.parse().ok()?;
        let (start, bits) = if let Ok(v4) = addr.parse::<std::net::Ipv4Addr>() {
            (V4_BASE + u128::from(u32::from(v4)), 32)
        } else {
            (u128::from(addr.parse::<std::net::Ipv6Addr>().ok()?), 128)
        };
        if len > bits {
            return None;
        }
        let host = bits - len;
        let size_m1: u128 = if host == 128 { u128::MAX } else { (1u128 << host) - 1 };
        let start = start & !size_m1;
        Some(IpSet(vec![(start, start + size_m1)]))
    }
    pub fn union(&self, o: &IpSet) -> IpSet {
        let mut v: Vec<(u128, u128)> = self.0.iter().chain(o.0.iter()).copied().collect();
        v.sort();
        let mut out: Vec<(u128, u128)> = Vec::new();
        for (a, b) in v {
            match out.last_mut() {
                Some(l) if a <= l.1.saturating_add(1) => l.1 = l.1.max(b),
                _ => out.push((a, b)),
            }
        }
        IpSet(out)
    }
    pub fn minus(&self, o: &IpSet) -> IpSet {
        let mut out = Vec::new();
        for &(a, b) in &self.0 {
            let mut cur = Some((a, b));
            for &(c, d) in &o.0 {
                let Some((x, y)) = cur else { break };
                if d < x || c > y {
                    continue;
                }
                if c > x {
                    out.push((x, c - 1));
                }
                cur = if d < y { Some((d + 1, y)) } else { None };
            }
            if let Some(r) = cur {
                out.push(r);
            }
        }
        IpSet(out)
    }
    pub fn subset_of(&self, o: &IpSet) -> bool {
        self.minus(o).is_empty()
    }
    /// CIDR notation of the set (IPv4 where possible).
    pub fn cidrs(&self) -> Vec<String> {
        let mut out = Vec::new();
        for &(a, b) in &self.0 {
            let mut x = a;
            loop {
                let mut size_bits = if x == 0 { 128 } else { x.trailing_zeros().min(128) };
                while size_bits > 0 {
                    let span = if size_bits == 128 {
                        u128::MAX
                    } else {
                        (1u128 << size_bits) - 1
                    };
                    if x.checked_add(span).is_some_and(|e| e <= b) {
                        break;
                    }
                    size_bits -= 1;
                }
                let span = if size_bits == 128 {
                    u128::MAX
                } else {
                    (1u128 << size_bits) - 1
                };
                if (V4_BASE..=V4_BASE + u128::from(u32::MAX)).contains(&x) && size_bits <= 32 {
                    let ip = std::net::Ipv4Addr::from((x - V4_BASE) as u32);
                    out.push(format!("{ip}/{}", 32 - size_bits));
                } else if size_bits == 128 {
                    out.push("0.0.0.0/0 + ::/0".to_string());
                } else {
                    out.push(format!("{}/{}", std::net::Ipv6Addr::from(x), 128 - size_bits));
                }
                if x.checked_add(span).is_none_or(|e| e >= b) {
                    break;
                }
                x += span + 1;
            }
        }
        out
    }
}

pub(crate) fn ipblock_set(ib: &Value) -> IpSet {
    let mut s = ib["cidr"].as_str().and_then(IpSet::cidr).unwrap_or_default();
    for e in ib["except"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if let Some(x) = IpSet::cidr(e) {
            s = s.minus(&x);
        }
    }
    s
}

// ------------------------------------------------------------------------------------------
// connectivity.yaml
// ------------------------------------------------------------------------------------------

/// One endpoint of the discrete analysis.
#[derive(Debug, Clone)]
struct Endpoint<'a> {
    name: String,
    namespace: Option<String>,
    ns_labels: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    /// in-cluster pods are subject to the policies; peers and other namespaces are not
    pod: Option<&'a PodTpl<'a>>,
    in_cluster_ns: bool,
}

/// The parsed connectivity file.
#[derive(Debug, Clone)]
pub struct Connectivity {
    pub doc: Value,
    pub file: String,
}

impl Connectivity {
    fn class_of(&self, env: &str) -> Option<String> {
        self.doc["envClasses"]
            .as_object()?
            .iter()
            .find(|(_, envs)| envs.as_array().is_some_and(|a| a.iter().any(|e| e == env)))
            .map(|(k, _)| k.clone())
    }
    fn namespace(&self) -> &str {
        self.doc["namespace"].as_str().unwrap_or("default")
    }
    fn workloads(&self, env: &str) -> BTreeSet<String> {
        self.doc["workloads"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, d)| d["envs"].as_array().is_none_or(|a| a.iter().any(|e| e == env)))
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// A peer of connectivity.yaml resolved for one environment.
#[derive(Debug, Clone)]
enum Peer {
    Selector {
        namespace: String,
        labels: BTreeMap<String, String>,
    },
    Cidr(IpSet, String),
}

const ANY_PORT: u16 = 0;

fn port_label(proto: &str, port: u16) -> String {
    if port == ANY_PORT {
        format!("any {proto} port")
    } else {
        format!("{port}/{proto}")
    }
}

/// Does a policy rule's `ports` admit (proto, port) towards `dst` (for named ports)?
fn ports_match(ports: &Value, proto: &str, port: u16, dst: Option<&PodTpl<'_>>) -> bool {
    let Some(list) = ports.as_array().filter(|a| !a.is_empty()) else {
        return true;
    };
    list.iter().any(|p| {
        if p["protocol"].as_str().unwrap_or("TCP") != proto {
            return false;
        }
        match &p["port"] {
            Value::Null => true,
            Value::Number(n) => {
                let n = n.as_u64().unwrap_or(0) as u16;
                let end = p["endPort"].as_u64().map_or(n, |e| e as u16);
                port != ANY_PORT && (n..=end).contains(&port)
            }
            Value::String(name) => {
                dst.is_some_and(|d| {
                    d.containers().any(|(_, c)| {
                        c["ports"].as_array().into_iter().flatten().any(|cp| {
                            cp["name"] == name.as_str() && cp["containerPort"].as_u64() == Some(u64::from(port))
                        })
                    })
                })
            }
            _ => false,
        }
    })
}

/// Does a policy peer (`from`/`to` entry) match a discrete endpoint?
fn peer_matches(peer: &Value, policy_ns: &str, ep: &Endpoint<'_>) -> bool {
    if !peer["ipBlock"].is_null() {
        return false;
    }
    let ns_sel = &peer["namespaceSelector"];
    if ns_sel.is_null() {
        ep.namespace.as_deref() == Some(policy_ns) && selector_matches(&peer["podSelector"], &ep.labels)
    } else {
        selector_matches(ns_sel, &ep.ns_labels) && selector_matches(&peer["podSelector"], &ep.labels)
    }
}

struct Policies<'a> {
    pols: Vec<&'a Value>,
}

impl<'a> Policies<'a> {
    fn selecting(&self, ns: &str, labels: &BTreeMap<String, String>, ingress: bool) -> Vec<&'a Value> {
        self.pols
            .iter()
            .copied()
            .filter(|p| p["metadata"]["namespace"].as_str().unwrap_or("default") == ns)
            .filter(|p| selector_matches(&p["spec"]["podSelector"], labels))
            .filter(|p| {
                let (i, e) = policy_types(p);
                if ingress { i } else { e }
            })
            .collect()
    }
}

/// Result of checking one side of a connection.
fn side_allows(
    pols: &[&Value],
    ingress: bool,
    other: &Endpoint<'_>,
    proto: &str,
    port: u16,
    dst_pod: Option<&PodTpl<'_>>,
) -> bool {
    if pols.is_empty() {
        return true; // not isolated in this direction
    }
    let (key, peer_key) = if ingress { ("ingress", "from") } else { ("egress", "to") };
    pols.iter().any(|pol| {
        let ns = pol["metadata"]["namespace"].as_str().unwrap_or("default");
        pol["spec"][key].as_array().into_iter().flatten().any(|rule| {
            let peers_ok = match rule[peer_key].as_array() {
                None => true,
                Some(a) if a.is_empty() => true,
                Some(a) => a.iter().any(|p| peer_matches(p, ns, other)),
            };
            peers_ok && ports_match(&rule["ports"], proto, port, dst_pod)
        })
    })
}

/// Addresses a pod may reach (egress) or be reached from (ingress) on (proto, port) via ipBlocks.
fn cidr_side(pols: &[&Value], ingress: bool, proto: &str, port: u16) -> IpSet {
    if pols.is_empty() {
        return IpSet::all();
    }
    let (key, peer_key) = if ingress { ("ingress", "from") } else { ("egress", "to") };
    let mut set = IpSet::default();
    for pol in pols {
        for rule in pol["spec"][key].as_array().into_iter().flatten() {
            if !ports_match(&rule["ports"], proto, port, None) {
                continue;
            }
            match rule[peer_key].as_array() {
                None => return IpSet::all(),
                Some(a) if a.is_empty() => return IpSet::all(),
                Some(a) => {
                    for p in a.iter().filter(|p| !p["ipBlock"].is_null()) {
                        set = set.union(&ipblock_set(&p["ipBlock"]));
                    }
                }
            }
        }
    }
    set
}

/// Coverage: default deny, DNS, every pod selected, every policy selecting something.
pub fn check_coverage(docs: &[Value], cx: &mut Ctx<'_>) {
    let pods = pod_templates(docs);
    let pols: Vec<&Value> = find(docs, "NetworkPolicy").collect();
    let namespaces: BTreeSet<&str> = pods.iter().map(|p| p.namespace.as_str()).collect();
    for ns in namespaces {
        let in_ns: Vec<&&Value> = pols.iter().filter(|p| p["metadata"]["namespace"] == ns).collect();
        let deny = |ingress: bool| {
            in_ns.iter().any(|p| {
                let (i, e) = policy_types(p);
                let (has, key) = if ingress { (i, "ingress") } else { (e, "egress") };
                is_empty_selector(&p["spec"]["podSelector"])
                    && has
                    && p["spec"][key].as_array().is_none_or(Vec::is_empty)
            })
        };
        let anchor = find(docs, "Namespace")
            .find(|n| n["metadata"]["name"] == ns)
            .or_else(|| pods.iter().find(|p| p.namespace == ns).map(|p| p.owner))
            .expect("namespace has pods");
        let missing: Vec<&str> = [(true, "ingress"), (false, "egress")]
            .into_iter()
            .filter(|(i, _)| !deny(*i))
            .map(|(_, n)| n)
            .collect();
        if !missing.is_empty() {
            cx.push(
                "NET-001",
                anchor,
                format!(
                    "namespace {ns} has no default-deny NetworkPolicy for {}",
                    missing.join(" and ")
                ),
            );
        }
        let dns = in_ns.iter().any(|p| {
            is_empty_selector(&p["spec"]["podSelector"])
                && p["spec"]["egress"].as_array().into_iter().flatten().any(|r| {
                    ports_match(&r["ports"], "UDP", 53, None) && r["ports"].as_array().is_some_and(|a| !a.is_empty())
                })
        });
        if !dns {
            cx.push(
                "NET-002",
                anchor,
                format!("no policy lets every pod in {ns} resolve names (egress 53/UDP)"),
            );
        }
    }
    for p in &pods {
        let selected = pols.iter().any(|pol| {
            pol["metadata"]["namespace"] == p.namespace.as_str()
                && selector_matches(&pol["spec"]["podSelector"], &p.labels)
        });
        if !selected {
            cx.push("NET-003", p.owner, "no NetworkPolicy selects these pods".into());
        }
    }
    for pol in &pols {
        let sel = &pol["spec"]["podSelector"];
        if !is_empty_selector(sel)
            && !pods
                .iter()
                .any(|p| pol["metadata"]["namespace"] == p.namespace.as_str() && selector_matches(sel, &p.labels))
        {
            cx.push("NET-004", pol, "podSelector matches no rendered pod".into());
        }
    }
}

fn infra_outputs(docs: &[Value]) -> BTreeMap<String, String> {
    find(docs, "ConfigMap")
        .find(|d| {
            d["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("mlp-infra-outputs"))
        })
        .map(|d| str_map(&d["data"]))
        .unwrap_or_default()
}

/// One path: `(source, target, proto, port)`.
type Path4 = (String, String, String, u16);

/// Reachability of one rendered overlay compared with connectivity.yaml.
pub fn check_reachability(docs: &[Value], conn: &Connectivity, cx: &mut Ctx<'_>) {
    let env = cx.env.to_string();
    let Some(class) = conn.class_of(&env) else {
        cx.out.push(
            Finding::new(
                "NET-012",
                &conn.file,
                format!("env {env}"),
                format!("environment {env} is in no envClass"),
            )
            .env(&env),
        );
        return;
    };
    let app_ns = conn.namespace().to_string();
    let pods = pod_templates(docs);
    let policies = Policies {
        pols: find(docs, "NetworkPolicy").collect(),
    };
    let outputs = infra_outputs(docs);

    // namespaces rendered here and their labels
    let mut ns_labels: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for n in find(docs, "Namespace") {
        let name = n["metadata"]["name"].as_str().unwrap_or("").to_string();
        let mut l = str_map(&n["metadata"]["labels"]);
        l.insert("kubernetes.io/metadata.name".into(), name.clone());
        ns_labels.insert(name, l);
    }
    for p in &pods {
        ns_labels
            .entry(p.namespace.clone())
            .or_insert_with(|| BTreeMap::from([("kubernetes.io/metadata.name".into(), p.namespace.clone())]));
    }
    let ext_ns = |ns: &str| BTreeMap::from([("kubernetes.io/metadata.name".to_string(), ns.to_string())]);

    // workloads: rendered vs declared
    let declared = conn.workloads(&env);
    let mut rendered: BTreeMap<String, Vec<&PodTpl<'_>>> = BTreeMap::new();
    for p in &pods {
        match p.workload() {
            Some(w) => rendered.entry(w.to_string()).or_default().push(p),
            None => {
                cx.push(
                    "NET-012",
                    p.owner,
                    "pods lack the app.kubernetes.io/name label that identifies workloads".into(),
                );
            }
        }
    }
    for w in rendered.keys().filter(|w| !declared.contains(*w)) {
        let owner = rendered[w][0].owner;
        cx.push(
            "NET-012",
            owner,
            format!("workload {w} runs but connectivity.yaml does not declare it"),
        );
    }
    for w in declared.iter().filter(|w| !rendered.contains_key(*w)) {
        cx.out.push(
            Finding::new(
                "NET-012",
                &conn.file,
                format!("workload {w}"),
                "declared but not rendered".to_string(),
            )
            .env(&env),
        );
    }

    // peers of this environment class
    let mut peers: BTreeMap<String, Peer> = BTreeMap::new();
    for (name, def) in conn.doc["peers"].as_object().into_iter().flatten() {
        let d = &def[class.as_str()];
        if d.is_null() {
            continue;
        }
        if let Some(ns) = d["namespace"].as_str() {
            peers.insert(
                name.clone(),
                Peer::Selector {
                    namespace: ns.into(),
                    labels: str_map(&d["podLabels"]),
                },
            );
        } else {
            let (cidr, src) = match (d["cidr"].as_str(), d["cidrFrom"].as_str()) {
                (Some(c), _) => (Some(c.to_string()), c.to_string()),
                (None, Some(k)) => (
                    outputs.get(k).cloned(),
                    format!("{k}={}", outputs.get(k).map_or("?", String::as_str)),
                ),
                _ => (None, "?".into()),
            };
            let Some(mut set) = cidr.as_deref().and_then(IpSet::cidr) else {
                cx.out.push(
                    Finding::new(
                        "NET-012",
                        &conn.file,
                        format!("peer {name}"),
                        format!("cannot resolve its CIDR ({src}) in {env}; is mlp-infra-outputs complete?"),
                    )
                    .env(&env),
                );
                continue;
            };
            for e in d["except"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if let Some(x) = IpSet::cidr(e) {
                    set = set.minus(&x);
                }
            }
            peers.insert(name.clone(), Peer::Cidr(set, src));
        }
    }

    // discrete endpoints: rendered pods, selector peers, and "unknown pods" per namespace
    let any_in = |ns: &str| format!("<any pod in {ns}>");
    const ANY_NS: &str = "<any pod in another namespace>";
    let mut eps: Vec<Endpoint<'_>> = Vec::new();
    for p in &pods {
        eps.push(Endpoint {
            name: p.workload().map_or_else(|| p.id(), str::to_string),
            namespace: Some(p.namespace.clone()),
            ns_labels: ns_labels[&p.namespace].clone(),
            labels: p.labels.clone(),
            pod: Some(p),
            in_cluster_ns: true,
        });
    }
    let mut extra_ns: BTreeSet<String> = BTreeSet::new();
    for (name, peer) in &peers {
        if let Peer::Selector { namespace, labels } = peer {
            extra_ns.insert(namespace.clone());
            eps.push(Endpoint {
                name: name.clone(),
                namespace: Some(namespace.clone()),
                ns_labels: ns_labels.get(namespace).cloned().unwrap_or_else(|| ext_ns(namespace)),
                labels: labels.clone(),
                pod: None,
                in_cluster_ns: ns_labels.contains_key(namespace),
            });
        }
    }
    for pol in &policies.pols {
        for key in ["ingress", "egress"] {
            for rule in pol["spec"][key].as_array().into_iter().flatten() {
                for peer in rule["from"]
                    .as_array()
                    .into_iter()
                    .chain(rule["to"].as_array())
                    .flatten()
                {
                    if let Some(n) = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str() {
                        extra_ns.insert(n.to_string());
                    }
                }
            }
        }
    }
    for ns in ns_labels.keys().cloned().chain(extra_ns) {
        if eps.iter().any(|e| e.name == any_in(&ns)) {
            continue;
        }
        eps.push(Endpoint {
            name: any_in(&ns),
            namespace: Some(ns.clone()),
            ns_labels: ns_labels.get(&ns).cloned().unwrap_or_else(|| ext_ns(&ns)),
            labels: BTreeMap::new(),
            pod: None,
            in_cluster_ns: ns_labels.contains_key(&ns),
        });
    }
    eps.push(Endpoint {
        name: ANY_NS.into(),
        namespace: None,
        ns_labels: BTreeMap::new(),
        labels: BTreeMap::new(),
        pod: None,
        in_cluster_ns: false,
    });

    // candidate ports: everything any policy, flow or container mentions, plus "any other port"
    let mut ports: BTreeSet<(String, u16)> = BTreeSet::new();
    for proto in ["TCP", "UDP", "SCTP"] {
        ports.insert((proto.into(), ANY_PORT));
    }
    for pol in &policies.pols {
        for key in ["ingress", "egress"] {
            for rule in pol["spec"][key].as_array().into_iter().flatten() {
                for p in rule["ports"].as_array().into_iter().flatten() {
                    if let Some(n) = p["port"].as_u64() {
                        ports.insert((p["protocol"].as_str().unwrap_or("TCP").into(), n as u16));
                    }
                }
            }
        }
    }
    for p in &pods {
        for (_, c) in p.containers() {
            for cp in c["ports"].as_array().into_iter().flatten() {
                if let Some(n) = cp["containerPort"].as_u64() {
                    ports.insert((cp["protocol"].as_str().unwrap_or("TCP").into(), n as u16));
                }
            }
        }
    }

    // intended paths
    let in_ns_any = any_in(&app_ns);
    let expand = |v: &Value| -> Vec<String> {
        let items: Vec<&Value> = match v.as_array() {
            Some(a) => a.iter().collect(),
            None => vec![v],
        };
        let mut out = Vec::new();
        for e in items.into_iter().filter_map(Value::as_str) {
            if e == "*" {
                out.extend(declared.iter().cloned());
                out.push(in_ns_any.clone());
            } else if declared.contains(e) || peers.contains_key(e) {
                out.push(e.to_string());
            }
        }
        out
    };
    let mut intended: BTreeSet<Path4> = BTreeSet::new();
    for f in conn.doc["flows"].as_array().into_iter().flatten() {
        if f["envs"]
            .as_array()
            .is_some_and(|a| !a.iter().any(|e| e == env.as_str()))
        {
            continue;
        }
        for s in expand(&f["from"]) {
            for d in expand(&f["to"]) {
                for p in f["ports"].as_array().into_iter().flatten() {
                    let text = p.as_str().map_or_else(|| p.to_string(), str::to_string);
                    let (num, proto) = text.split_once('/').unwrap_or((&text, "TCP"));
                    if let Ok(n) = num.parse::<u16>() {
                        ports.insert((proto.to_string(), n));
                        intended.insert((s.clone(), d.clone(), proto.to_string(), n));
                    }
                }
            }
        }
    }

    // discrete analysis
    let mut any_allowed: BTreeSet<Path4> = BTreeSet::new();
    let mut blocked: BTreeMap<Path4, Vec<String>> = BTreeMap::new();
    let mut owners: BTreeMap<String, &Value> = BTreeMap::new();
    let mut unisolated: BTreeMap<(String, &'static str), &Value> = BTreeMap::new();
    let mut openers: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for e in &eps {
        if let Some(p) = e.pod {
            owners.entry(e.name.clone()).or_insert(p.owner);
        }
    }
    for s in &eps {
        for d in &eps {
            if s.name == d.name {
                continue;
            }
            let s_in = s.pod.is_some() || (s.in_cluster_ns && s.labels.is_empty());
            let d_in = d.pod.is_some() || (d.in_cluster_ns && d.labels.is_empty());
            if !s_in && !d_in {
                continue;
            }
            for (proto, port) in &ports {
                let eg_pols = match (&s.namespace, s_in) {
                    (Some(ns), true) => policies.selecting(ns, &s.labels, false),
                    _ => Vec::new(),
                };
                let in_pols = match (&d.namespace, d_in) {
                    (Some(ns), true) => policies.selecting(ns, &d.labels, true),
                    _ => Vec::new(),
                };
                // peers outside the cluster's managed namespaces: only our side is checked
                let egress_ok = !s_in || side_allows(&eg_pols, false, d, proto, *port, d.pod);
                let ingress_ok = !d_in || side_allows(&in_pols, true, s, proto, *port, d.pod);
                let key = (s.name.clone(), d.name.clone(), proto.clone(), *port);
                // a side without any policy is reported once (below / NET-001), not per pair
                let open_side = (s_in && eg_pols.is_empty()) || (d_in && in_pols.is_empty());
                if open_side && egress_ok && ingress_ok {
                    if let Some(p) = s.pod.filter(|_| eg_pols.is_empty()) {
                        unisolated.insert((s.name.clone(), "egress"), p.owner);
                    }
                    if let Some(p) = d.pod.filter(|_| in_pols.is_empty()) {
                        unisolated.insert((d.name.clone(), "ingress"), p.owner);
                    }
                    if intended.contains(&key) {
                        any_allowed.insert(key);
                    }
                } else if egress_ok && ingress_ok {
                    if !intended.contains(&key) {
                        // Name the policies that open an unintended path, on both sides.
                        let names = openers.entry((s.name.clone(), d.name.clone())).or_default();
                        for pol in &eg_pols {
                            if side_allows(&[*pol], false, d, proto, *port, d.pod) {
                                names.insert(pol["metadata"]["name"].as_str().unwrap_or("?").to_string());
                            }
                        }
                        for pol in &in_pols {
                            if side_allows(&[*pol], true, s, proto, *port, d.pod) {
                                names.insert(pol["metadata"]["name"].as_str().unwrap_or("?").to_string());
                            }
                        }
                    }
                    any_allowed.insert(key);
                } else if intended.contains(&key) {
                    let mut why = Vec::new();
                    if !egress_ok {
                        why.push(format!("egress of {}", s.name));
                    }
                    if !ingress_ok {
                        why.push(format!("ingress of {}", d.name));
                    }
                    blocked.entry(key).or_default().extend(why);
                }
            }
        }
    }
    let is_cidr_peer = |n: &str| matches!(peers.get(n), Some(Peer::Cidr(..)));
    // unintended paths, grouped per (source, target)
    let mut extra: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (s, d, proto, port) in &any_allowed {
        if !intended.contains(&(s.clone(), d.clone(), proto.clone(), *port)) {
            extra
                .entry((s.clone(), d.clone()))
                .or_default()
                .push(port_label(proto, *port));
        }
    }
    let push_path = |cx: &mut Ctx<'_>, rule: &'static str, s: &str, d: &str, msg: String| {
        let anchor = owners.get(s).or_else(|| owners.get(d)).copied();
        let object = format!("{s} -> {d}");
        let mut f = match anchor {
            Some(o) => {
                let (file, line) = cx.idx.locate(o, &cx.overlay_file);
                Finding::new(rule, file, object, msg).line(line)
            }
            None => Finding::new(rule, conn.file.clone(), object, msg),
        }
        .env(cx.env);
        for w in [s, d] {
            if let Some(o) = owners.get(w) {
                f = f.subject(format!(
                    "k8s:{}/{}",
                    o["kind"].as_str().unwrap_or(""),
                    o["metadata"]["name"].as_str().unwrap_or("")
                ));
            }
        }
        cx.out.push(f);
    };
    for ((w, dir), owner) in &unisolated {
        cx.push(
            "NET-010",
            owner,
            format!("no NetworkPolicy restricts {dir} of {w}: it is open to every peer on every port"),
        );
    }
    for ((s, d), ps) in &extra {
        push_path(
            cx,
            "NET-010",
            s,
            d,
            format!(
                "the policies allow {s} -> {d} on {}, which connectivity.yaml does not declare{}",
                ps.join(", "),
                match openers.get(&(s.clone(), d.clone())) {
                    Some(n) if !n.is_empty() => format!(
                        " (opened by NetworkPolicy {})",
                        n.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                    _ => String::new(),
                }
            ),
        );
    }
    for ((s, d, proto, port), why) in &blocked {
        let mut why = why.clone();
        why.dedup();
        push_path(
            cx,
            "NET-011",
            s,
            d,
            format!(
                "declared {s} -> {d} {} is blocked by the {}",
                port_label(proto, *port),
                why.join(" and ")
            ),
        );
    }
    for (s, d, proto, port) in &intended {
        let endpoints_exist = eps.iter().any(|e| &e.name == s) || is_cidr_peer(s);
        let targets_exist = eps.iter().any(|e| &e.name == d) || is_cidr_peer(d);
        if is_cidr_peer(s) || is_cidr_peer(d) || !endpoints_exist || !targets_exist {
            continue;
        }
        let key = (s.clone(), d.clone(), proto.clone(), *port);
        if !any_allowed.contains(&key) && !blocked.contains_key(&key) {
            push_path(
                cx,
                "NET-011",
                s,
                d,
                format!("declared {s} -> {d} {} is not allowed", port_label(proto, *port)),
            );
        }
    }

    // address-set analysis for ipBlock peers, per rendered workload and port
    for (w, tpls) in &rendered {
        for (ingress, dir) in [(false, "egress"), (true, "ingress")] {
            let mut extra_by_cidrs: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
            for (proto, port) in &ports {
                // the intended set for this workload, direction and port
                let mut want = IpSet::default();
                let mut want_peers = Vec::new();
                for (s, d, pr, po) in &intended {
                    if pr != proto || po != port {
                        continue;
                    }
                    let (me, other) = if ingress { (d, s) } else { (s, d) };
                    if me != w {
                        continue;
                    }
                    if let Some(Peer::Cidr(set, src)) = peers.get(other) {
                        want = want.union(set);
                        want_peers.push((other.clone(), set.clone(), src.clone()));
                    }
                }
                for t in tpls {
                    let pols = policies.selecting(&t.namespace, &t.labels, ingress);
                    if pols.is_empty() {
                        continue; // reported as "not isolated" above
                    }
                    let have = cidr_side(&pols, ingress, proto, *port);
                    let extra = have.minus(&want);
                    if !extra.is_empty() {
                        extra_by_cidrs
                            .entry(extra.cidrs())
                            .or_default()
                            .push(port_label(proto, *port));
                    }
                    for (peer, set, src) in &want_peers {
                        if !set.subset_of(&have) {
                            let (s, d) = if ingress {
                                (peer.as_str(), w.as_str())
                            } else {
                                (w.as_str(), peer.as_str())
                            };
                            push_path(
                                cx,
                                "NET-011",
                                s,
                                d,
                                format!(
                                    "declared {s} -> {d} {} ({src}) is blocked by the {dir} policies of {w}",
                                    port_label(proto, *port)
                                ),
                            );
                        }
                    }
                }
            }
            for (cidrs, mut ps) in extra_by_cidrs {
                ps.sort();
                ps.dedup();
                let shown = if cidrs.len() > 4 {
                    format!("{} and {} more ranges", cidrs[..4].join(", "), cidrs.len() - 4)
                } else {
                    cidrs.join(", ")
                };
                let (s, d) = if ingress {
                    (format!("[{shown}]"), w.clone())
                } else {
                    (w.clone(), format!("[{shown}]"))
                };
                push_path(
                    cx,
                    "NET-010",
                    &s,
                    &d,
                    format!(
                        "{dir} of {w} allows {shown} on {}, beyond the declared peers",
                        ps.join(", ")
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipset() {
        let all = IpSet::cidr("0.0.0.0/0").unwrap();
        let private = IpSet::cidr("10.0.0.0/8").unwrap();
        let vpc = IpSet::cidr("10.10.0.0/16").unwrap();
        assert!(vpc.subset_of(&private));
        assert!(!private.subset_of(&vpc));
        let public = all.minus(&private);
        assert_eq!(public.union(&private), all);
        assert_eq!(private.minus(&vpc).cidrs().len(), 8);
        assert_eq!(vpc.cidrs(), vec!["10.10.0.0/16"]);
        assert_eq!(IpSet::cidr("10.10.1.0/16").unwrap(), vpc);
    }
}
