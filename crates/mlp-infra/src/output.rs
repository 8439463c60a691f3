//! Output formats of `mlp infra check`: a readable table, JSON and SARIF 2.1.0.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::check::CheckResult;
use crate::model::{Finding, RULES, Severity};

fn location(f: &Finding) -> String {
    match f.line {
        Some(l) => format!("{}:{l}", f.file),
        None => f.file.clone(),
    }
}

pub fn table(r: &CheckResult, color: bool) -> String {
    let mut s = String::new();
    let paint = |sev: Severity| -> (String, &'static str) {
        let (code, name) = match sev {
            Severity::Error => ("31", "error"),
            Severity::Warning => ("33", "warning"),
            Severity::Info => ("36", "info"),
        };
        if color {
            (format!("\x1b[{code}m{name:<7}\x1b[0m"), "")
        } else {
            (format!("{name:<7}"), "")
        }
    };
    for f in &r.findings {
        let (sev, _) = paint(f.severity);
        let env = f.env.as_deref().map(|e| format!(" [{e}]")).unwrap_or_default();
        let _ = writeln!(s, "{sev} {:<8} {}  {}{env}", f.rule, location(f), f.object);
        let _ = writeln!(s, "          {}", f.message);
        let _ = writeln!(s, "          fix: {}", f.fix);
    }
    if !r.findings.is_empty() {
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "{} error(s), {} warning(s), {} suppressed; environments checked: {}",
        r.count(Severity::Error),
        r.count(Severity::Warning),
        r.suppressed.len(),
        r.environments.join(", ")
    );
    s
}

pub fn json(r: &CheckResult) -> String {
    let v = json!({
        "summary": {
            "errors": r.count(Severity::Error),
            "warnings": r.count(Severity::Warning),
            "suppressed": r.suppressed.len(),
            "environments": r.environments,
        },
        "findings": r.findings,
        "suppressed": r.suppressed.iter().map(|(f, why)| json!({"finding": f, "reason": why})).collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

fn sarif_result(f: &Finding, suppression: Option<&str>) -> Value {
    let mut loc = json!({"physicalLocation": {"artifactLocation": {"uri": f.file}}});
    if let Some(l) = f.line {
        loc["physicalLocation"]["region"] = json!({"startLine": l});
    }
    loc["logicalLocations"] = json!([{"fullyQualifiedName": f.object}]);
    let level = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    };
    let env = f.env.as_deref().map(|e| format!(" [{e}]")).unwrap_or_default();
    let mut res = json!({
        "ruleId": f.rule,
        "level": level,
        "message": {"text": format!("{}: {}{env}. Fix: {}", f.object, f.message, f.fix)},
        "locations": [loc],
    });
    if let Some(why) = suppression {
        res["suppressions"] = json!([{"kind": "inSource", "justification": why}]);
    }
    res
}

pub fn sarif(r: &CheckResult) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id,
                "name": rule.title,
                "shortDescription": {"text": rule.title},
                "help": {"text": rule.fix},
                "defaultConfiguration": {"level": match rule.severity { Severity::Error => "error", Severity::Warning => "warning", Severity::Info => "note" }},
                "properties": {"checkov": rule.checkov},
            })
        })
        .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| sarif_result(f, None))
        .chain(r.suppressed.iter().map(|(f, why)| sarif_result(f, Some(why))))
        .collect();
    let v = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "mlp-infra", "informationUri": "https://github.com/org/ml-platform", "version": env!("CARGO_PKG_VERSION"), "rules": rules}},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}
