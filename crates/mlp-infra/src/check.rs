//! `mlp infra check`: render, parse, run every rule, apply inline suppressions.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::k8s::{self, Ctx};
use crate::layout::{Layout, Rendered, SourceIndex, render_overlays};
use crate::model::{Finding, Severity, rule_by_id, sort_findings};
use crate::net::{self, Connectivity};
use crate::tf::{self, ModuleLib};
use crate::tf_rules;

/// Options of one check run.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub kubectl: String,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            kubectl: std::env::var("MLP_INFRA_KUBECTL").unwrap_or_else(|_| "kubectl".into()),
        }
    }
}

/// A suppression written in the code.
#[derive(Debug, Clone, Serialize)]
pub struct Suppression {
    pub rule: String,
    pub reason: String,
    pub file: String,
    pub line: Option<usize>,
    /// what it applies to (`k8s:Kind/name`, `tf:file#object`, `file:path`)
    pub subject: String,
    pub used: usize,
}

/// Everything one run produced.
#[derive(Debug, Serialize)]
pub struct CheckResult {
    pub findings: Vec<Finding>,
    pub suppressed: Vec<(Finding, String)>,
    pub suppressions: Vec<Suppression>,
    pub environments: Vec<String>,
    #[serde(skip)]
    pub rendered: Vec<Rendered>,
    #[serde(skip)]
    pub timings: Vec<(String, Duration)>,
}

impl CheckResult {
    pub fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }
}

pub fn run(layout: &Layout, opts: &CheckOptions) -> anyhow::Result<CheckResult> {
    let t0 = Instant::now();
    if !layout.overlays().is_empty()
        && !crate::deploy::on_path(&opts.kubectl, std::env::var_os("PATH").as_deref())
        && !std::path::Path::new(&opts.kubectl).is_file()
    {
        anyhow::bail!(
            "{} is required: its built-in kustomize renders the overlays (set MLP_INFRA_KUBECTL to use another binary)",
            opts.kubectl
        );
    }
    // Rendering is the slow part: run kubectl in threads while Terraform is parsed and checked.
    let (rendered, tf_part) = std::thread::scope(|s| {
        let r = s.spawn(|| render_overlays(layout, &opts.kubectl));
        let tf_part = terraform_findings(layout);
        (r.join().expect("render thread"), tf_part)
    });
    let rendered = rendered?;
    let (mut findings, mut sups, t_tf, infra) = tf_part;
    let t_render = t0.elapsed();

    let t1 = Instant::now();
    let idx = SourceIndex::build(layout);
    for (file, e) in &idx.errors {
        findings.push(Finding::new("INP-001", file, "yaml", e.clone()));
    }
    let conn = load_connectivity(layout, &mut findings);
    findings.extend(k8s::check_committed(layout, &idx));
    for r in &rendered {
        let overlay_file = layout.rel(&r.dir.join("kustomization.yaml"));
        if let Some(e) = &r.error {
            findings.push(Finding::new("INP-001", &overlay_file, format!("overlay {}", r.env), e.clone()).env(&r.env));
            continue;
        }
        findings.extend(k8s::check_rendered(r, layout, &idx));
        let mut cx = Ctx {
            env: &r.env,
            idx: &idx,
            overlay_file,
            out: Vec::new(),
        };
        net::check_coverage(&r.docs, &mut cx);
        if let Some(i) = infra.get(&r.env) {
            crate::xlayer::check_env(&r.docs, i, &mut cx);
        }
        if let Some(c) = &conn {
            net::check_reachability(&r.docs, c, &mut cx);
        }
        findings.extend(cx.out);
        // annotation suppressions on rendered objects
        for d in &r.docs {
            let Some(text) = d["metadata"]["annotations"][ANNOTATION].as_str() else {
                continue;
            };
            let subject = format!(
                "k8s:{}/{}",
                d["kind"].as_str().unwrap_or(""),
                d["metadata"]["name"].as_str().unwrap_or("")
            );
            let (file, line) = idx.locate(d, &layout.rel(&r.dir.join("kustomization.yaml")));
            for entry in text.split(['\n', ';']).map(str::trim).filter(|e| !e.is_empty()) {
                let (rule, reason) = entry.split_once(':').unwrap_or((entry, ""));
                sups.push(Suppression {
                    rule: rule.trim().to_string(),
                    reason: reason.trim().to_string(),
                    file: file.clone(),
                    line,
                    subject: subject.clone(),
                    used: 0,
                });
            }
        }
    }
    for (key, cs) in &idx.comments {
        for (rule, reason, file, line) in cs {
            sups.push(Suppression {
                rule: rule.clone(),
                reason: reason.clone(),
                file: file.clone(),
                line: Some(*line),
                subject: format!("k8s:{}/{}", key.0, key.1),
                used: 0,
            });
        }
    }
    // connectivity.yaml comments suppress by file
    if let Ok(text) = std::fs::read_to_string(&layout.connectivity) {
        let file = layout.rel(&layout.connectivity);
        for (rule, reason, line) in crate::layout::ignore_comments(&text, 1) {
            sups.push(Suppression {
                rule,
                reason,
                file: file.clone(),
                line: Some(line),
                subject: format!("file:{file}"),
                used: 0,
            });
        }
    }
    let t_k8s = t1.elapsed();

    let mut environments: Vec<String> = rendered.iter().map(|r| r.env.clone()).collect();
    environments.dedup();
    let (findings, suppressed, suppressions) = apply_suppressions(merge_envs(findings, &environments), sups);
    Ok(CheckResult {
        findings,
        suppressed,
        suppressions,
        environments,
        rendered,
        timings: vec![
            ("render + terraform".into(), t_render),
            ("terraform".into(), t_tf),
            ("kubernetes rules".into(), t_k8s),
        ],
    })
}

pub const ANNOTATION: &str = "mlp.dev/ignore";

fn load_connectivity(layout: &Layout, findings: &mut Vec<Finding>) -> Option<Connectivity> {
    let file = layout.rel(&layout.connectivity);
    let text = match std::fs::read_to_string(&layout.connectivity) {
        Ok(t) => t,
        Err(e) => {
            findings.push(Finding::new(
                "INP-001",
                &file,
                "connectivity",
                format!("cannot read the intended connectivity: {e}"),
            ));
            return None;
        }
    };
    match serde_norway::from_str::<Value>(&text) {
        Ok(doc) => Some(Connectivity { doc, file }),
        Err(e) => {
            findings.push(Finding::new("INP-001", &file, "connectivity", e.to_string()));
            None
        }
    }
}

type EnvInfras = BTreeMap<String, crate::xlayer::EnvInfra>;

fn terraform_findings(layout: &Layout) -> (Vec<Finding>, Vec<Suppression>, Duration, EnvInfras) {
    let t = Instant::now();
    let mut out = Vec::new();
    let mut sups = Vec::new();
    let mut infra = EnvInfras::new();
    if !layout.terraform.is_dir() {
        return (out, sups, t.elapsed(), infra);
    }
    let lib = ModuleLib::load(layout);
    for m in lib.modules.values() {
        for (file, line, e) in &m.parse_errors {
            out.push(
                Finding::new("TF-011", file, "hcl", one_line(e))
                    .line(Some(*line))
                    .subject(format!("file:{file}")),
            );
        }
        for (subject, rule, reason, file, line) in m.suppressions() {
            sups.push(Suppression {
                rule,
                reason,
                file,
                line: Some(line),
                subject,
                used: 0,
            });
        }
    }
    let instances = tf::instances(layout, &lib);
    // modules on their own first; an environment repeats a finding only if it differs
    let mut seen = std::collections::HashSet::new();
    for inst in instances.iter().filter(|i| i.env.is_none()) {
        let f = tf_rules::check_instance(inst, &seen);
        seen.extend(f.iter().map(tf_rules::static_key));
        out.extend(f);
    }
    for inst in instances.iter().filter(|i| i.env.is_some()) {
        out.extend(tf_rules::check_instance(inst, &seen));
    }
    out.extend(tf_rules::check_env_settings(&lib, &instances));
    out.extend(tf_rules::check_versions(layout, &lib));
    out.extend(tf_rules::check_tfvars(layout));
    out.extend(tf_rules::check_parity(&lib));
    out.extend(crate::platform_rules::check(layout, &lib));
    // Cross-layer: what each environment's Terraform provides to its overlay. The local
    // environment is what `mlp infra up local` installs.
    for env in crate::layout::ENVS {
        let i = if *env == "local" {
            if !layout.tf_env_dir(env).is_dir() {
                continue;
            }
            crate::xlayer::up_local_infra(layout)
        } else {
            crate::xlayer::env_infra(env, &instances)
        };
        out.extend(crate::xlayer::check_terraform(env, &i, &lib, layout));
        infra.insert(env.to_string(), i);
    }
    if let Some(up) = infra.get("local") {
        let tf_local = crate::xlayer::env_infra("local", &instances);
        out.extend(crate::xlayer::check_local_names(layout, &tf_local, up));
    }
    (out, sups, t.elapsed(), infra)
}

/// Identical findings from several environments become one finding listing the environments.
fn merge_envs(findings: Vec<Finding>, order: &[String]) -> Vec<Finding> {
    let mut groups: BTreeMap<(String, String, String, String), Finding> = BTreeMap::new();
    let mut envs: BTreeMap<(String, String, String, String), Vec<String>> = BTreeMap::new();
    for f in findings {
        let key = (
            format!("{}{}", f.rule, f.severity),
            f.file.clone(),
            f.object.clone(),
            f.message.clone(),
        );
        if let Some(e) = &f.env {
            envs.entry(key.clone()).or_default().push(e.clone());
        }
        groups
            .entry(key)
            .and_modify(|g| {
                g.severity = g.severity.max(f.severity);
                for s in &f.subjects {
                    if !g.subjects.contains(s) {
                        g.subjects.push(s.clone());
                    }
                }
            })
            .or_insert(f);
    }
    groups
        .into_iter()
        .map(|(k, mut f)| {
            if let Some(mut e) = envs.remove(&k) {
                e.sort_by_key(|x| order.iter().position(|o| o == x).unwrap_or(usize::MAX));
                e.dedup();
                f.env = Some(e.join(","));
            }
            f
        })
        .collect()
}

fn apply_suppressions(
    findings: Vec<Finding>,
    mut sups: Vec<Suppression>,
) -> (Vec<Finding>, Vec<(Finding, String)>, Vec<Suppression>) {
    // one suppression per (subject, rule) even if seen in several overlays
    sups.sort_by(|a, b| (&a.subject, &a.rule, &a.file).cmp(&(&b.subject, &b.rule, &b.file)));
    sups.dedup_by(|a, b| a.subject == b.subject && a.rule == b.rule);
    let mut kept = Vec::new();
    let mut suppressed = Vec::new();
    'f: for f in findings {
        for s in sups.iter_mut() {
            if s.rule == f.rule
                && !s.reason.is_empty()
                && f.subjects
                    .iter()
                    .any(|x| *x == s.subject || s.subject == format!("file:{}", f.file))
            {
                s.used += 1;
                suppressed.push((f, s.reason.clone()));
                continue 'f;
            }
        }
        kept.push(f);
    }
    for s in &sups {
        let object = s.subject.split_once(':').map_or(s.subject.as_str(), |(_, o)| o);
        let object = object.rsplit_once('#').map_or(object, |(_, o)| o).to_string();
        if s.reason.is_empty() {
            kept.push(
                Finding::new(
                    "SUP-001",
                    &s.file,
                    object,
                    format!("suppression of {} has no reason, so it is not applied", s.rule),
                )
                .line(s.line),
            );
        } else if rule_by_id(&s.rule).is_none() {
            kept.push(Finding::new("SUP-002", &s.file, object, format!("unknown rule id {}", s.rule)).line(s.line));
        } else if s.used == 0 {
            kept.push(
                Finding::new(
                    "SUP-002",
                    &s.file,
                    object,
                    format!("suppression of {} matches no finding", s.rule),
                )
                .line(s.line),
            );
        }
    }
    sort_findings(&mut kept);
    (kept, suppressed, sups)
}

/// An hcl-rs parse error (multi-line, with a source excerpt) on one line.
fn one_line(e: &str) -> String {
    e.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|') && !l.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join(" ")
}
