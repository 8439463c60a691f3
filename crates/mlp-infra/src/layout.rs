//! Where things live in the repository, and how the Kubernetes overlays are rendered.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::Value;

/// The environments the platform knows, in order.
pub const ENVS: &[&str] = &["local", "dev", "staging", "prod"];
/// The directory of the shared cloud root under `terraform/environments`.
pub const CLOUD_ROOT: &str = "cloud";

/// Paths of one checkout (or fixture tree) with the `infrastructure/` layout.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    pub terraform: PathBuf,
    pub kubernetes: PathBuf,
    pub connectivity: PathBuf,
}

impl Layout {
    /// The tree at `root` (which must contain `infrastructure/`).
    pub fn at(root: &Path) -> anyhow::Result<Layout> {
        let infra = root.join("infrastructure");
        if !infra.is_dir() {
            bail!("{} has no infrastructure/ directory", root.display());
        }
        Ok(Layout {
            root: root.to_path_buf(),
            terraform: infra.join("terraform"),
            kubernetes: infra.join("kubernetes"),
            connectivity: infra.join("policy").join("connectivity.yaml"),
        })
    }

    /// Walk up from `start` to the first directory containing `infrastructure/`.
    pub fn discover(start: &Path) -> anyhow::Result<Layout> {
        let start = start
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", start.display()))?;
        let mut dir = Some(start.as_path());
        while let Some(d) = dir {
            if d.join("infrastructure").is_dir() {
                return Layout::at(d);
            }
            dir = d.parent();
        }
        bail!(
            "no infrastructure/ directory in {} or any parent; pass the repository root as PATH",
            start.display()
        )
    }

    /// Repo-relative display path.
    pub fn rel(&self, p: &Path) -> String {
        p.strip_prefix(&self.root)
            .unwrap_or(p)
            .to_string_lossy()
            .replace('\\', "/")
    }

    /// `(env, dir)` of every overlay with a kustomization file, sorted by the ENVS order.
    pub fn overlays(&self) -> Vec<(String, PathBuf)> {
        let mut out = Vec::new();
        let dir = self.kubernetes.join("overlays");
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.join("kustomization.yaml").is_file() || p.join("kustomization.yml").is_file() {
                    out.push((e.file_name().to_string_lossy().into_owned(), p));
                }
            }
        }
        out.sort_by_key(|(n, _)| (ENVS.iter().position(|e| e == n).unwrap_or(usize::MAX), n.clone()));
        out
    }

    /// The environment's data: `terraform.tfvars` (and `backend.hcl` in the cloud).
    pub fn tf_env_dir(&self, env: &str) -> PathBuf {
        self.terraform.join("environments").join(env)
    }

    /// The root module an environment is applied with: its own directory if it holds one (local),
    /// else the one cloud root `environments/cloud` shared by dev, staging and prod.
    pub fn tf_root_dir(&self, env: &str) -> PathBuf {
        let own = self.tf_env_dir(env);
        if own.join("main.tf").is_file() {
            own
        } else {
            self.terraform.join("environments").join(CLOUD_ROOT)
        }
    }
}

/// Parse multi-document YAML into JSON values; returns `(start_line, text, value)` per non-empty document.
pub fn yaml_docs(text: &str) -> Result<Vec<(usize, String, Value)>, String> {
    let mut out = Vec::new();
    let mut chunks: Vec<(usize, String)> = vec![(1, String::new())];
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("---") && line.trim_end().len() >= 3 && line[3..].trim().is_empty() {
            chunks.push((i + 2, String::new()));
        } else {
            let c = &mut chunks.last_mut().expect("non-empty").1;
            c.push_str(line);
            c.push('\n');
        }
    }
    for (line, chunk) in chunks {
        let v: Value = serde_norway::from_str(&chunk).map_err(|e| {
            format!(
                "line {}: {e}",
                line + e.location().map_or(0, |l| l.line().saturating_sub(1))
            )
        })?;
        if !v.is_null() {
            // the document starts at its first non-blank, non-comment line
            let skip = chunk
                .lines()
                .take_while(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
                .count();
            out.push((line + skip, chunk, v));
        }
    }
    Ok(out)
}

/// The result of `kubectl kustomize` on one overlay.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub env: String,
    pub dir: PathBuf,
    pub docs: Vec<Value>,
    pub error: Option<String>,
}

/// Files that secretGenerators reference but that do not exist (git-ignored, generated on a
/// developer machine). Rendering puts placeholders there in a scratch copy.
fn missing_generator_files(k8s: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for f in walk(k8s, &["yaml", "yml"]) {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.starts_with("kustomization") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let Ok(docs) = yaml_docs(&text) else { continue };
        for (_, _, d) in docs {
            for g in d["secretGenerator"].as_array().into_iter().flatten() {
                for key in ["files", "envs"] {
                    for src in g[key].as_array().into_iter().flatten() {
                        let Some(s) = src.as_str() else { continue };
                        let path = s.split_once('=').map_or(s, |(_, p)| p);
                        let p = f.parent().unwrap_or(k8s).join(path);
                        if !p.exists() {
                            out.push(p);
                        }
                    }
                }
            }
        }
    }
    out
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type()?.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

/// Render every overlay with `kubectl kustomize`, in parallel (one process per overlay).
///
/// If a secretGenerator reads files that are not there (they are git-ignored and generated per
/// machine), the Kubernetes tree is copied to a scratch directory and the files get placeholder
/// values there, so CI renders exactly what a developer would, without real secrets.
pub fn render_overlays(layout: &Layout, kubectl: &str) -> anyhow::Result<Vec<Rendered>> {
    let overlays = layout.overlays();
    let missing = missing_generator_files(&layout.kubernetes);
    let scratch;
    let base = if missing.is_empty() {
        layout.kubernetes.clone()
    } else {
        scratch = std::env::temp_dir().join(format!(
            "mlp-infra-render-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        copy_tree(&layout.kubernetes, &scratch).context("copying the Kubernetes tree for rendering")?;
        for m in &missing {
            let rel = m.strip_prefix(&layout.kubernetes).unwrap_or(m);
            let p = scratch.join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&p, "placeholder-not-a-secret")?;
        }
        scratch.clone()
    };
    let results: Vec<Rendered> = std::thread::scope(|s| {
        let handles: Vec<_> = overlays
            .iter()
            .map(|(env, dir)| {
                let rel = dir.strip_prefix(&layout.kubernetes).unwrap_or(dir).to_path_buf();
                let target = base.join(rel);
                let env = env.clone();
                let dir = dir.clone();
                s.spawn(move || render_one(kubectl, &env, &dir, &target))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("render thread panicked"))
            .collect()
    });
    if base != layout.kubernetes {
        let _ = std::fs::remove_dir_all(&base);
    }
    Ok(results)
}

fn render_one(kubectl: &str, env: &str, dir: &Path, target: &Path) -> Rendered {
    let mut r = Rendered {
        env: env.to_string(),
        dir: dir.to_path_buf(),
        docs: Vec::new(),
        error: None,
    };
    match Command::new(kubectl).arg("kustomize").arg(target).output() {
        Err(e) => r.error = Some(format!("cannot run {kubectl} kustomize: {e}")),
        Ok(out) if !out.status.success() => {
            r.error = Some(format!(
                "kubectl kustomize failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
        Ok(out) => match yaml_docs(&String::from_utf8_lossy(&out.stdout)) {
            Ok(docs) => r.docs = docs.into_iter().map(|(_, _, v)| v).collect(),
            Err(e) => r.error = Some(format!("rendered YAML does not parse: {e}")),
        },
    }
    r
}

/// All files under `dir` with one of the extensions, sorted; skips hidden dirs and `.terraform`.
pub fn walk(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if exts.iter().any(|x| name.ends_with(&format!(".{x}"))) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Identity of a Kubernetes object: `Kind/namespace/name` or `Kind/name`.
pub fn ident(doc: &Value) -> String {
    let md = &doc["metadata"];
    let kind = doc["kind"].as_str().unwrap_or("?");
    let name = md["name"].as_str().unwrap_or("?");
    match md["namespace"].as_str() {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

/// An inline suppression comment: (rule, reason, file, line).
pub type Ignore = (String, String, String, usize);

/// Where each Kubernetes object is defined in the source tree, and the inline suppressions
/// written there.
#[derive(Debug, Default)]
pub struct SourceIndex {
    /// (kind, name) -> (repo-relative file, line)
    pub objects: BTreeMap<(String, String), (String, usize)>,
    /// (kind, name) -> suppressions written as `# mlp-infra:ignore RULE reason` in that document
    pub comments: BTreeMap<(String, String), Vec<Ignore>>,
    /// Source documents (file, line, value) for checks on the committed files themselves.
    pub docs: Vec<(String, usize, Value)>,
    /// YAML files that do not parse.
    pub errors: Vec<(String, String)>,
}

pub const IGNORE_MARK: &str = "mlp-infra:ignore";

/// `(rule, reason)` pairs of all `# mlp-infra:ignore RULE reason` comments in `text`, with lines.
pub fn ignore_comments(text: &str, first_line: usize) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(pos) = line.find(IGNORE_MARK) else { continue };
        let before = &line[..pos];
        if !(before.trim_end().ends_with('#') || before.trim_end().ends_with("//")) {
            continue;
        }
        let rest = line[pos + IGNORE_MARK.len()..].trim();
        let (rule, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        out.push((
            rule.trim_end_matches(':').to_string(),
            reason.trim().to_string(),
            first_line + i,
        ));
    }
    out
}

impl SourceIndex {
    pub fn build(layout: &Layout) -> SourceIndex {
        let mut idx = SourceIndex::default();
        for f in walk(&layout.kubernetes, &["yaml", "yml"]) {
            let rel = layout.rel(&f);
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            let docs = match yaml_docs(&text) {
                Ok(d) => d,
                Err(e) => {
                    idx.errors.push((rel, e));
                    continue;
                }
            };
            for (line, chunk, v) in docs {
                if let (Some(kind), Some(name)) = (v["kind"].as_str(), v["metadata"]["name"].as_str()) {
                    let key = (kind.to_string(), name.to_string());
                    // base definitions win over patches: a patch only fills in a missing entry
                    let is_patch = rel.contains("/patches/") || rel.contains("/overlays/");
                    let replace = match idx.objects.get(&key) {
                        None => true,
                        Some((f, _)) => !is_patch && (f.contains("/patches/") || f.contains("/overlays/")),
                    };
                    if replace {
                        idx.objects.insert(key.clone(), (rel.clone(), line));
                    }
                    // comments before the document start belong to it as well
                    for (rule, reason, l) in ignore_comments(&chunk, line.saturating_sub(chunk_offset(&chunk))) {
                        idx.comments
                            .entry(key.clone())
                            .or_default()
                            .push((rule, reason, rel.clone(), l));
                    }
                }
                idx.docs.push((rel.clone(), line, v));
            }
        }
        idx
    }

    /// Source file and line of a rendered object; generated names (hash suffix) fall back to the
    /// overlay's kustomization file.
    pub fn locate(&self, doc: &Value, overlay_file: &str) -> (String, Option<usize>) {
        let kind = doc["kind"].as_str().unwrap_or("").to_string();
        let name = doc["metadata"]["name"].as_str().unwrap_or("").to_string();
        if let Some((f, l)) = self.objects.get(&(kind.clone(), name.clone())) {
            return (f.clone(), Some(*l));
        }
        // configMapGenerator/secretGenerator names carry a 10-char hash suffix
        if let Some((stem, _)) = name.rsplit_once('-')
            && let Some((f, l)) = self.objects.get(&(kind, stem.to_string()))
        {
            return (f.clone(), Some(*l));
        }
        (overlay_file.to_string(), None)
    }
}

fn chunk_offset(chunk: &str) -> usize {
    chunk
        .lines()
        .take_while(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        .count()
}
