//! Terraform: parsing with hcl-rs, a small evaluator (variables, tfvars, locals, module outputs,
//! the Terraform functions the repo uses), and per-module-instance evaluation so environment
//! rules see the values each environment really passes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl::eval::{Context, Evaluate, FuncArgs, FuncDef, ParamType};
use hcl::{Body, Expression, Value};

use crate::layout::{Layout, ignore_comments, walk};

/// A resource or data block.
#[derive(Debug, Clone)]
pub struct Res {
    /// `resource` or `data`
    pub kind: String,
    pub rtype: String,
    pub name: String,
    pub body: Body,
    pub file: String,
    pub line: usize,
}

impl Res {
    /// `aws_db_instance.this` or `data.aws_iam_policy_document.x`
    pub fn address(&self) -> String {
        if self.kind == "data" {
            format!("data.{}.{}", self.rtype, self.name)
        } else {
            format!("{}.{}", self.rtype, self.name)
        }
    }
    pub fn subject(&self) -> String {
        format!("tf:{}#{}", self.file, self.address())
    }
}

#[derive(Debug, Clone)]
pub struct ModuleCall {
    pub name: String,
    pub source: String,
    pub version: Option<String>,
    pub args: BTreeMap<String, Expression>,
    pub file: String,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct Variable {
    pub type_text: String,
    pub default: Option<Expression>,
    /// `sensitive = true`
    pub sensitive: bool,
    pub file: String,
    pub line: usize,
}

/// One directory of `.tf` files.
#[derive(Debug, Clone, Default)]
pub struct Module {
    pub dir: PathBuf,
    pub rel: String,
    pub variables: BTreeMap<String, Variable>,
    pub outputs: BTreeMap<String, (Expression, String, usize)>,
    pub locals: BTreeMap<String, Expression>,
    pub resources: Vec<Res>,
    pub calls: Vec<ModuleCall>,
    /// `terraform` blocks: (file, line, body)
    pub terraform: Vec<(String, usize, Body)>,
    /// (file, line, message)
    pub parse_errors: Vec<(String, usize, String)>,
    /// file -> source text
    pub texts: BTreeMap<String, String>,
}

/// Top-level block spans of an HCL file: (object key, first line, last line).
pub fn block_spans(text: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start: Option<(String, usize)> = None;
    let mut heredoc: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let ln = i + 1;
        if let Some(tag) = &heredoc {
            if line.trim() == tag {
                heredoc = None;
            }
            continue;
        }
        if depth == 0 && start.is_none() {
            let t = line.trim_start();
            if !t.is_empty() && !t.starts_with('#') && !t.starts_with("//") && t.contains('{') {
                let head: Vec<String> = t[..t.find('{').unwrap_or(t.len())]
                    .split_whitespace()
                    .map(|w| w.trim_matches('"').to_string())
                    .collect();
                let key = match head.first().map(String::as_str) {
                    Some("resource") if head.len() >= 3 => format!("{}.{}", head[1], head[2]),
                    Some("data") if head.len() >= 3 => format!("data.{}.{}", head[1], head[2]),
                    Some(k @ ("module" | "variable" | "output" | "provider")) if head.len() >= 2 => {
                        format!("{k}.{}", head[1])
                    }
                    Some(k) => k.to_string(),
                    None => String::new(),
                };
                start = Some((key, ln));
            }
        }
        let mut in_str = false;
        let b = line.as_bytes();
        let mut j = 0;
        while j < b.len() {
            let c = b[j];
            if in_str {
                if c == b'\\' {
                    j += 1;
                } else if c == b'"' {
                    in_str = false;
                }
            } else if c == b'"' {
                in_str = true;
            } else if c == b'#' || (c == b'/' && b.get(j + 1) == Some(&b'/')) {
                break;
            } else if c == b'{' {
                depth += 1;
            } else if c == b'}' {
                depth -= 1;
            } else if c == b'<' && line[j..].starts_with("<<") {
                let tag = line[j + 2..].trim_start_matches('-').trim().to_string();
                if !tag.is_empty() {
                    heredoc = Some(tag);
                }
                break;
            }
            j += 1;
        }
        if depth <= 0
            && let Some((key, s)) = start.take()
        {
            out.push((key, s, ln));
            depth = 0;
        }
    }
    out
}

fn expr_str(e: &Expression) -> Option<String> {
    match e {
        Expression::String(s) => Some(s.clone()),
        _ => None,
    }
}

pub fn expr_text(e: &Expression) -> String {
    hcl::format::to_string(e).unwrap_or_default()
}

impl Module {
    pub fn load(layout: &Layout, dir: &Path) -> Module {
        let mut m = Module {
            dir: dir.to_path_buf(),
            rel: layout.rel(dir),
            ..Default::default()
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "tf"))
            .collect();
        files.sort();
        for f in files {
            let rel = layout.rel(&f);
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            let spans = block_spans(&text);
            let line_of = |key: &str| spans.iter().find(|(k, _, _)| k == key).map_or(1, |(_, s, _)| *s);
            let body = match hcl::parse(&text) {
                Ok(b) => b,
                Err(e) => {
                    m.parse_errors.push((rel.clone(), 1, e.to_string()));
                    m.texts.insert(rel, text);
                    continue;
                }
            };
            for b in body.blocks() {
                let labels: Vec<&str> = b.labels().iter().map(|l| l.as_str()).collect();
                match (b.identifier(), labels.as_slice()) {
                    ("resource" | "data", [t, n]) => {
                        let r = Res {
                            kind: b.identifier().to_string(),
                            rtype: t.to_string(),
                            name: n.to_string(),
                            body: b.body().clone(),
                            file: rel.clone(),
                            line: 0,
                        };
                        let line = line_of(&r.address());
                        m.resources.push(Res { line, ..r });
                    }
                    ("module", [n]) => {
                        let mut args = BTreeMap::new();
                        let (mut source, mut version) = (String::new(), None);
                        for a in b.body().attributes() {
                            match a.key() {
                                "source" => source = expr_str(a.expr()).unwrap_or_default(),
                                "version" => version = expr_str(a.expr()),
                                k => {
                                    args.insert(k.to_string(), a.expr().clone());
                                }
                            }
                        }
                        m.calls.push(ModuleCall {
                            name: n.to_string(),
                            source,
                            version,
                            args,
                            file: rel.clone(),
                            line: line_of(&format!("module.{n}")),
                        });
                    }
                    ("variable", [n]) => {
                        let mut v = Variable {
                            type_text: String::new(),
                            default: None,
                            sensitive: false,
                            file: rel.clone(),
                            line: line_of(&format!("variable.{n}")),
                        };
                        for a in b.body().attributes() {
                            match a.key() {
                                "type" => {
                                    v.type_text = expr_text(a.expr()).split_whitespace().collect::<Vec<_>>().join(" ")
                                }
                                "default" => v.default = Some(a.expr().clone()),
                                "sensitive" => v.sensitive = matches!(a.expr(), Expression::Bool(true)),
                                _ => {}
                            }
                        }
                        m.variables.insert(n.to_string(), v);
                    }
                    ("output", [n]) => {
                        if let Some(a) = b.body().attributes().find(|a| a.key() == "value") {
                            m.outputs.insert(
                                n.to_string(),
                                (a.expr().clone(), rel.clone(), line_of(&format!("output.{n}"))),
                            );
                        }
                    }
                    ("locals", []) => {
                        for a in b.body().attributes() {
                            m.locals.insert(a.key().to_string(), a.expr().clone());
                        }
                    }
                    ("terraform", []) => m.terraform.push((rel.clone(), line_of("terraform"), b.body().clone())),
                    _ => {}
                }
            }
            m.texts.insert(rel, text);
        }
        m
    }

    pub fn of_type<'a>(&'a self, t: &'a str) -> impl Iterator<Item = &'a Res> + 'a {
        self.resources
            .iter()
            .filter(move |r| r.kind == "resource" && r.rtype == t)
    }

    /// Inline suppressions: (subject, rule, reason, file, line).
    pub fn suppressions(&self) -> Vec<(String, String, String, String, usize)> {
        let mut out = Vec::new();
        for (file, text) in &self.texts {
            let spans = block_spans(text);
            let lines: Vec<&str> = text.lines().collect();
            for (rule, reason, line) in ignore_comments(text, 1) {
                // the enclosing block, or the next block after only comments/blank lines
                let key = spans
                    .iter()
                    .find(|(_, s, e)| (*s..=*e).contains(&line))
                    .map(|(k, _, _)| k.clone())
                    .or_else(|| {
                        spans.iter().find(|(_, s, _)| *s > line).and_then(|(k, s, _)| {
                            let gap_ok = lines[line..s - 1].iter().all(|l| {
                                l.trim().is_empty()
                                    || l.trim_start().starts_with('#')
                                    || l.trim_start().starts_with("//")
                            });
                            gap_ok.then(|| k.clone())
                        })
                    });
                let subject = match key {
                    Some(k) => format!("tf:{file}#{k}"),
                    None => format!("file:{file}"),
                };
                out.push((subject, rule, reason, file.clone(), line));
            }
        }
        out
    }
}

/// Every directory with `.tf` files under the Terraform root.
pub fn module_dirs(layout: &Layout) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = walk(&layout.terraform, &["tf"])
        .into_iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

// ------------------------------------------------------------------------------------------
// evaluation
// ------------------------------------------------------------------------------------------

fn obj(v: &Value) -> Option<&hcl::Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn f_merge(args: FuncArgs) -> Result<Value, String> {
    let mut out = hcl::Map::new();
    for a in args.iter() {
        match a {
            Value::Object(m) => out.extend(m.clone()),
            Value::Null => {}
            _ => return Err("merge: not an object".into()),
        }
    }
    Ok(Value::Object(out))
}
fn f_coalesce(args: FuncArgs) -> Result<Value, String> {
    args.iter()
        .find(|v| !v.is_null() && v.as_str() != Some(""))
        .cloned()
        .ok_or_else(|| "coalesce: all null".into())
}
fn f_length(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::from(match &args[0] {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        Value::String(s) => s.chars().count(),
        _ => return Err("length: bad type".into()),
    }))
}
fn f_contains(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::Array(a) => Ok(Value::Bool(a.contains(&args[1]))),
        _ => Err("contains: not a list".into()),
    }
}
fn f_lookup(args: FuncArgs) -> Result<Value, String> {
    let m = obj(&args[0]).ok_or("lookup: not a map")?;
    let k = args[1].as_str().ok_or("lookup: key")?;
    m.get(k)
        .cloned()
        .or_else(|| args.get(2).cloned())
        .ok_or_else(|| "lookup: missing".into())
}
fn f_keys(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::Array(
        obj(&args[0])
            .ok_or("keys")?
            .keys()
            .map(|k| Value::from(k.clone()))
            .collect(),
    ))
}
fn f_values(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::Array(obj(&args[0]).ok_or("values")?.values().cloned().collect()))
}
fn f_concat(args: FuncArgs) -> Result<Value, String> {
    let mut out = Vec::new();
    for a in args.iter() {
        match a {
            Value::Array(x) => out.extend(x.clone()),
            _ => return Err("concat".into()),
        }
    }
    Ok(Value::Array(out))
}
fn f_identity(args: FuncArgs) -> Result<Value, String> {
    Ok(args[0].clone())
}
fn f_try(args: FuncArgs) -> Result<Value, String> {
    args.iter().next().cloned().ok_or_else(|| "try".into())
}
fn f_can(_: FuncArgs) -> Result<Value, String> {
    Ok(Value::Bool(true))
}
fn f_tostring(args: FuncArgs) -> Result<Value, String> {
    Ok(match &args[0] {
        Value::String(s) => Value::from(s.clone()),
        Value::Number(n) => Value::from(n.to_string()),
        Value::Bool(b) => Value::from(b.to_string()),
        _ => return Err("tostring".into()),
    })
}
fn f_join(args: FuncArgs) -> Result<Value, String> {
    let sep = args[0].as_str().ok_or("join")?;
    let Value::Array(a) = &args[1] else {
        return Err("join".into());
    };
    Ok(Value::from(
        a.iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(sep),
    ))
}
fn f_minmax(args: FuncArgs, max: bool) -> Result<Value, String> {
    let nums: Vec<f64> = args
        .iter()
        .filter_map(|v| v.as_number().and_then(|n| n.as_f64()))
        .collect();
    let r = nums.iter().copied().fold(
        if max { f64::MIN } else { f64::MAX },
        if max { f64::max } else { f64::min },
    );
    Ok(hcl::Number::from_f64(r).map(Value::Number).unwrap_or(Value::Null))
}
fn f_min(a: FuncArgs) -> Result<Value, String> {
    f_minmax(a, false)
}
fn f_max(a: FuncArgs) -> Result<Value, String> {
    f_minmax(a, true)
}
fn f_jsonencode(args: FuncArgs) -> Result<Value, String> {
    serde_json::to_string(&args[0])
        .map(Value::from)
        .map_err(|e| e.to_string())
}

fn f_anytrue(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::Array(a) => Ok(Value::Bool(a.iter().any(|v| *v == Value::Bool(true)))),
        _ => Err("anytrue: not a list".into()),
    }
}
fn f_alltrue(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::Array(a) => Ok(Value::Bool(a.iter().all(|v| *v == Value::Bool(true)))),
        _ => Err("alltrue: not a list".into()),
    }
}

fn base_context() -> Context<'static> {
    let mut ctx = Context::new();
    let var = |f| FuncDef::builder().variadic_param(ParamType::Any).build(f);
    for (n, f) in [
        ("merge", f_merge as hcl::eval::Func),
        ("coalesce", f_coalesce),
        ("length", f_length),
        ("contains", f_contains),
        ("lookup", f_lookup),
        ("keys", f_keys),
        ("values", f_values),
        ("concat", f_concat),
        ("toset", f_identity),
        ("tolist", f_identity),
        ("tomap", f_identity),
        ("tonumber", f_identity),
        ("tobool", f_identity),
        ("try", f_try),
        ("can", f_can),
        ("tostring", f_tostring),
        ("join", f_join),
        ("min", f_min),
        ("max", f_max),
        ("jsonencode", f_jsonencode),
        ("anytrue", f_anytrue),
        ("alltrue", f_alltrue),
        ("sensitive", f_identity),
        ("nonsensitive", f_identity),
    ] {
        ctx.declare_func(n, var(f));
    }
    ctx
}

/// Values known in one module instance.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub vars: hcl::Map<String, Value>,
    pub locals: hcl::Map<String, Value>,
    pub modules: hcl::Map<String, Value>,
    pub path_module: String,
}

impl Scope {
    pub fn context(&self) -> Context<'static> {
        let mut ctx = base_context();
        ctx.declare_var("var", Value::Object(self.vars.clone()));
        ctx.declare_var("local", Value::Object(self.locals.clone()));
        ctx.declare_var("module", Value::Object(self.modules.clone()));
        ctx.declare_var(
            "path",
            Value::Object(hcl::Map::from_iter([(
                "module".to_string(),
                Value::from(self.path_module.clone()),
            )])),
        );
        ctx
    }
    /// Evaluate an expression; `None` when it depends on something unknown (resources, data).
    pub fn eval(&self, e: &Expression) -> Option<Value> {
        e.evaluate(&self.context()).ok()
    }
}

/// Evaluate a module's locals and outputs for the given inputs (unknown inputs are simply absent).
pub fn eval_module(m: &Module, inputs: &hcl::Map<String, Value>, lib: &ModuleLib) -> (Scope, hcl::Map<String, Value>) {
    // the same module with the same inputs is evaluated once (roots re-visit calls while waiting)
    let key = (m.dir.clone(), serde_json::to_string(inputs).unwrap_or_default());
    if let Some(hit) = lib.memo.lock().expect("memo lock").get(&key) {
        return hit.clone();
    }
    let result = eval_module_uncached(m, inputs, lib);
    lib.memo.lock().expect("memo lock").insert(key, result.clone());
    result
}

fn eval_module_uncached(
    m: &Module,
    inputs: &hcl::Map<String, Value>,
    lib: &ModuleLib,
) -> (Scope, hcl::Map<String, Value>) {
    let mut sc = Scope {
        path_module: m.dir.to_string_lossy().into_owned(),
        ..Default::default()
    };
    let empty = Scope::default();
    for (name, v) in &m.variables {
        if let Some(x) = inputs.get(name) {
            sc.vars.insert(name.clone(), x.clone());
        } else if let Some(d) = &v.default
            && let Some(x) = empty.eval(d)
        {
            sc.vars.insert(name.clone(), x);
        }
    }
    // locals and module calls in as many passes as needed
    let mut pending_locals: Vec<&String> = m.locals.keys().collect();
    let mut pending_calls: Vec<&ModuleCall> = m.calls.iter().collect();
    loop {
        let before = (pending_locals.len(), sc.modules.len());
        pending_locals.retain(|name| match sc.eval(&m.locals[*name]) {
            Some(v) => {
                sc.locals.insert((*name).clone(), v);
                false
            }
            None => true,
        });
        pending_calls.retain(|call| {
            let Some(child) = lib.resolve(&m.dir, &call.source) else {
                return false;
            };
            let mut args = hcl::Map::new();
            let mut waiting = false;
            for (k, e) in &call.args {
                match sc.eval(e) {
                    Some(v) => {
                        args.insert(k.clone(), v);
                    }
                    None => waiting = true,
                }
            }
            let (_, outs) = eval_module(child, &args, lib);
            let complete = !waiting || outs.len() == child.outputs.len();
            sc.modules.insert(call.name.clone(), Value::Object(outs));
            !complete
        });
        if (pending_locals.len(), sc.modules.len()) == before || (pending_locals.is_empty() && pending_calls.is_empty())
        {
            break;
        }
    }
    let mut outs = hcl::Map::new();
    for (name, (e, _, _)) in &m.outputs {
        if let Some(v) = sc.eval(e) {
            outs.insert(name.clone(), v);
        }
    }
    (sc, outs)
}

/// All modules of the tree, by absolute directory.
pub struct ModuleLib {
    pub modules: BTreeMap<PathBuf, Module>,
    memo: std::sync::Mutex<Memo>,
}

type Memo = std::collections::HashMap<(PathBuf, String), (Scope, hcl::Map<String, Value>)>;

impl ModuleLib {
    pub fn load(layout: &Layout) -> ModuleLib {
        let dirs = module_dirs(layout);
        let modules = std::thread::scope(|s| {
            let hs: Vec<_> = dirs
                .iter()
                .map(|d| s.spawn(move || (d.clone(), Module::load(layout, d))))
                .collect();
            hs.into_iter().map(|h| h.join().expect("parse thread")).collect()
        });
        ModuleLib {
            modules,
            memo: Default::default(),
        }
    }
    pub fn resolve(&self, from: &Path, source: &str) -> Option<&Module> {
        if !(source.starts_with("./") || source.starts_with("../")) {
            return None;
        }
        let mut p = from.to_path_buf();
        for part in source.split('/') {
            match part {
                "." | "" => {}
                ".." => {
                    p.pop();
                }
                x => p.push(x),
            }
        }
        self.modules.get(&p)
    }
}

/// Parse a `.tfvars` file into values (attributes evaluated without context).
pub fn read_tfvars(path: &Path) -> Result<hcl::Map<String, Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let body = hcl::parse(&text).map_err(|e| e.to_string())?;
    let sc = Scope::default();
    let mut out = hcl::Map::new();
    for a in body.attributes() {
        if let Some(v) = sc.eval(a.expr()) {
            out.insert(a.key().to_string(), v);
        }
    }
    Ok(out)
}

/// Inputs of an environment root: `_shared/common.tfvars`, then the environment's `terraform.tfvars`.
pub fn env_inputs(layout: &Layout, env: &str) -> hcl::Map<String, Value> {
    let envs = layout.terraform.join("environments");
    let mut inputs = hcl::Map::new();
    for f in [
        envs.join("_shared").join("common.tfvars"),
        envs.join(env).join("terraform.tfvars"),
    ] {
        if let Ok(v) = read_tfvars(&f) {
            inputs.extend(v);
        }
    }
    inputs
}

/// A module evaluated in one place: the environment (if any), the call path, and the scope.
pub struct Instance<'a> {
    pub env: Option<String>,
    pub path: String,
    pub module: &'a Module,
    pub scope: Scope,
}

/// Every module instance reachable from the environment roots, plus each module on its own
/// (defaults only) so that modules nobody calls are still checked.
pub fn instances<'a>(layout: &Layout, lib: &'a ModuleLib) -> Vec<Instance<'a>> {
    let mut out = Vec::new();
    for m in lib.modules.values() {
        let (scope, _) = eval_module(m, &hcl::Map::new(), lib);
        out.push(Instance {
            env: None,
            path: m.rel.clone(),
            module: m,
            scope,
        });
    }
    // Every environment with a terraform.tfvars, evaluated in the root it is applied with.
    for env in crate::layout::ENVS {
        if !layout.tf_env_dir(env).join("terraform.tfvars").is_file() {
            continue;
        }
        let Some(m) = lib.modules.get(&layout.tf_root_dir(env)) else {
            continue;
        };
        let env = env.to_string();
        let inputs = env_inputs(layout, &env);
        let (scope, _) = eval_module(m, &inputs, lib);
        for call in &m.calls {
            collect_calls(
                lib,
                m,
                &scope,
                call,
                &env,
                &format!("{}:module.{}", m.rel, call.name),
                &mut out,
                0,
            );
        }
        out.push(Instance {
            env: Some(env),
            path: m.rel.clone(),
            module: m,
            scope,
        });
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn collect_calls<'a>(
    lib: &'a ModuleLib,
    parent: &Module,
    psc: &Scope,
    call: &ModuleCall,
    env: &str,
    path: &str,
    out: &mut Vec<Instance<'a>>,
    depth: usize,
) {
    if depth > 8 {
        return;
    }
    let Some(child) = lib.resolve(&parent.dir, &call.source) else {
        return;
    };
    let mut args = hcl::Map::new();
    for (k, e) in &call.args {
        if let Some(v) = psc.eval(e) {
            args.insert(k.clone(), v);
        }
    }
    let (scope, _) = eval_module(child, &args, lib);
    for c in &child.calls {
        collect_calls(
            lib,
            child,
            &scope,
            c,
            env,
            &format!("{path}.module.{}", c.name),
            out,
            depth + 1,
        );
    }
    out.push(Instance {
        env: Some(env.to_string()),
        path: path.to_string(),
        module: child,
        scope,
    });
}
