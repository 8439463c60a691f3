//! `mlp infra check`: every rule fails on the broken fixture and passes on the good one, the
//! repository's own infrastructure has no errors, and targeted mutations of the real tree produce
//! exactly the expected findings.

use std::path::{Path, PathBuf};

use mlp_infra::check::{self, CheckOptions, CheckResult};
use mlp_infra::layout::Layout;
use mlp_infra::model::{RULES, Severity};
use mlp_infra::output;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn run(root: &Path) -> CheckResult {
    check::run(&Layout::at(root).unwrap(), &CheckOptions::default()).unwrap()
}

fn keys(r: &CheckResult) -> Vec<String> {
    let mut k: Vec<String> = r
        .findings
        .iter()
        .map(|f| {
            format!(
                "{}|{}|{}|{}",
                f.rule,
                f.severity,
                f.object,
                f.env.clone().unwrap_or_default()
            )
        })
        .collect();
    k.sort();
    k
}

include!("fixtures/expected_bad.rs");

#[test]
fn good_fixture_has_no_findings() {
    let r = run(&fixture("good"));
    assert!(r.findings.is_empty(), "{}", output::table(&r, false));
    assert_eq!(r.environments, vec!["dev", "prod"]);
}

#[test]
fn bad_fixture_produces_exactly_the_expected_findings() {
    let r = run(&fixture("bad"));
    let mut want: Vec<String> = BAD_EXPECTED.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(keys(&r), want, "{}", output::table(&r, false));
    // the annotation suppression with a reason is applied and reported
    assert_eq!(r.suppressed.len(), 1);
    assert_eq!(r.suppressed[0].0.rule, "K8S-012");
    assert_eq!(r.suppressed[0].1, "the metrics agent needs a fixed node port");
}

#[test]
fn every_rule_fails_on_the_bad_fixture_and_passes_on_the_good_one() {
    let bad = run(&fixture("bad"));
    let good = run(&fixture("good"));
    for rule in RULES {
        let fired =
            bad.findings.iter().any(|f| f.rule == rule.id) || bad.suppressed.iter().any(|(f, _)| f.rule == rule.id);
        assert!(fired, "rule {} has no failing fixture", rule.id);
        assert!(
            !good.findings.iter().any(|f| f.rule == rule.id),
            "rule {} fires on the good fixture",
            rule.id
        );
    }
}

#[test]
fn rule_catalogue_is_well_formed() {
    let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), RULES.len(), "duplicate rule ids");
    for r in RULES {
        let (prefix, num) = r.id.split_once('-').unwrap();
        assert!(
            ["K8S", "NET", "TF", "SUP", "INP"].contains(&prefix) && num.len() == 3,
            "{}",
            r.id
        );
        assert!(
            !r.fix.is_empty() && !r.fix.contains('\n'),
            "{}: fix must be one line",
            r.id
        );
    }
}

#[test]
fn the_repository_passes_with_zero_errors() {
    let r = run(&repo());
    let errors: Vec<_> = r.findings.iter().filter(|f| f.severity == Severity::Error).collect();
    assert!(errors.is_empty(), "{}", output::table(&r, false));
    assert_eq!(r.environments, vec!["local", "dev", "staging", "prod"]);
}

#[test]
fn output_formats() {
    let r = run(&fixture("bad"));
    let j: serde_json::Value = serde_json::from_str(&output::json(&r)).unwrap();
    assert_eq!(
        j["summary"]["errors"].as_u64().unwrap() as usize,
        r.count(Severity::Error)
    );
    assert!(j["findings"][0]["fix"].is_string());
    let s: serde_json::Value = serde_json::from_str(&output::sarif(&r)).unwrap();
    assert_eq!(s["version"], "2.1.0");
    let results = s["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), r.findings.len() + r.suppressed.len());
    assert!(results.iter().any(|x| x["suppressions"][0]["kind"] == "inSource"));
    assert_eq!(
        s["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap().len(),
        RULES.len()
    );
    let t = output::table(&r, false);
    assert!(t.contains("fix: ") && t.contains("error(s)"));
}

// --- mutations of the real tree ------------------------------------------------------------

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if name == ".terraform" {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(name));
        } else {
            std::fs::copy(e.path(), to.join(name)).unwrap();
        }
    }
}

/// Copy infrastructure/ of the repo, apply `edit(root)`, check.
fn mutated(edit: impl FnOnce(&Path)) -> CheckResult {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("infrastructure"), &tmp.path().join("infrastructure"));
    edit(tmp.path());
    let r = run(tmp.path());
    drop(tmp);
    r
}

fn replace(root: &Path, file: &str, from: &str, to: &str) {
    let p = root.join(file);
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "{file} does not contain {from:?}");
    std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
}

fn errors(r: &CheckResult) -> Vec<String> {
    let mut v: Vec<String> = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{}|{}|{}", f.rule, f.object, f.env.clone().unwrap_or_default()))
        .collect();
    v.sort();
    v
}

#[test]
fn mutation_undeclared_path_is_reported() {
    let r = mutated(|root| {
        replace(
            root,
            "infrastructure/policy/connectivity.yaml",
            "  - {from: mlp-frontend, to: mlp-backend, ports: [8000/TCP]}\n",
            "",
        )
    });
    assert_eq!(
        errors(&r),
        vec!["NET-010|mlp-frontend -> mlp-backend|local,dev,staging,prod"]
    );
}

#[test]
fn mutation_declared_but_blocked_path_is_reported() {
    let r = mutated(|root| {
        let p = root.join("infrastructure/policy/connectivity.yaml");
        let mut text = std::fs::read_to_string(&p).unwrap();
        text.push_str("  - {from: mlp-worker, to: mlp-frontend, ports: [8080/TCP]}\n");
        std::fs::write(p, text).unwrap();
    });
    assert_eq!(
        errors(&r),
        vec!["NET-011|mlp-worker -> mlp-frontend|local,dev,staging,prod"]
    );
    assert!(
        r.findings[0]
            .message
            .contains("egress of mlp-worker and ingress of mlp-frontend"),
        "{}",
        r.findings[0].message
    );
}

#[test]
fn mutation_prod_without_deletion_protection() {
    let r = mutated(|root| {
        replace(
            root,
            "infrastructure/terraform/environments/prod/terraform.tfvars",
            "deletion_protection   = true",
            "deletion_protection   = false",
        )
    });
    let e = errors(&r);
    assert!(
        e.iter().any(|x| x.starts_with("TF-003|aws_db_instance.this|prod")),
        "{e:?}"
    );
    assert!(e.iter().all(|x| x.starts_with("TF-003|")), "{e:?}");
}

#[test]
fn mutation_mutable_image_tag_is_an_error_in_prod_only() {
    let r = mutated(|root| {
        replace(
            root,
            "infrastructure/kubernetes/overlays/prod/kustomization.yaml",
            "newTag: 0.1.0",
            "newTag: latest",
        );
        replace(
            root,
            "infrastructure/kubernetes/overlays/dev/kustomization.yaml",
            "newTag: ",
            "newTag: latest\n    # was: ",
        );
    });
    let k: Vec<_> = r.findings.iter().filter(|f| f.rule == "K8S-030").collect();
    assert!(
        k.iter()
            .any(|f| f.severity == Severity::Error && f.env.as_deref() == Some("prod")),
        "{k:?}"
    );
    assert!(
        k.iter()
            .any(|f| f.severity == Severity::Warning && f.env.as_deref() == Some("dev")),
        "{k:?}"
    );
}

#[test]
fn mutation_world_open_security_group() {
    let r = mutated(|root| {
        let p = root.join("infrastructure/terraform/modules/database/cloud/main.tf");
        let mut text = std::fs::read_to_string(&p).unwrap();
        text.push_str("\nresource \"aws_vpc_security_group_ingress_rule\" \"world\" {\n  security_group_id = aws_security_group.this.id\n  cidr_ipv4         = \"0.0.0.0/0\"\n  from_port         = 5432\n  to_port           = 5432\n  ip_protocol       = \"tcp\"\n}\n");
        std::fs::write(p, text).unwrap();
    });
    assert_eq!(errors(&r), vec!["TF-006|aws_vpc_security_group_ingress_rule.world|"]);
}

#[test]
fn suppression_by_comment_needs_a_reason_and_a_match() {
    let r = mutated(|root| {
        let p = root.join("infrastructure/terraform/modules/database/cloud/main.tf");
        let mut text = std::fs::read_to_string(&p).unwrap();
        text.push_str("\n# mlp-infra:ignore TF-006 the bastion is reachable from the office only via this rule\nresource \"aws_vpc_security_group_ingress_rule\" \"world\" {\n  security_group_id = aws_security_group.this.id\n  cidr_ipv4         = \"0.0.0.0/0\"\n  from_port         = 5432\n  to_port           = 5432\n  ip_protocol       = \"tcp\"\n}\n");
        std::fs::write(p, text).unwrap();
    });
    assert!(errors(&r).is_empty(), "{:?}", errors(&r));
    assert_eq!(r.suppressed.len(), 1);
}
