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
    // XL and MLP rules need a whole environment (or the platform root with its envs/): their
    // failing cases are mutations of the real tree below.
    for rule in RULES
        .iter()
        .filter(|r| !r.id.starts_with("XL-") && !r.id.starts_with("MLP-"))
    {
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
            ["K8S", "NET", "TF", "XL", "MLP", "SUP", "INP"].contains(&prefix) && num.len() == 3,
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
    // the finding names the policies that open the path
    let f = r.findings.iter().find(|f| f.rule == "NET-010").unwrap();
    assert!(
        f.message.contains("opened by NetworkPolicy ") && f.message.contains("mlp-frontend-egress"),
        "{}",
        f.message
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

// --- the cross-layer defects of issue 17, re-introduced one at a time ------------------------

/// The error findings of one rule.
fn of_rule(r: &CheckResult, rule: &str) -> Vec<String> {
    errors(r).into_iter().filter(|e| e.starts_with(rule)).collect()
}

/// Every XL rule is exercised by a mutation below (they need a whole environment: Terraform
/// and its overlay, which the small fixtures do not have).
#[test]
fn every_cross_layer_rule_has_a_mutation_test() {
    let src = include_str!("check.rs");
    for rule in RULES.iter().filter(|r| r.id.starts_with("XL-")) {
        assert!(
            src.contains(&format!("fn mutation_{}_", rule.id.to_lowercase().replace('-', "_"))),
            "{} has no mutation test",
            rule.id
        );
    }
}

#[test]
fn mutation_xl_001_images_the_registry_does_not_have() {
    let r = mutated(|root| {
        replace(
            root,
            "infrastructure/terraform/modules/env-config/outputs.tf",
            r#"["mlp", "ml-training", "ml-batch-inference", "pg-backup"]"#,
            r#"["tracking-api", "worker", "web-ui"]"#,
        )
    });
    let e = of_rule(&r, "XL-001");
    // every pod template of every cloud environment (the image path differs per environment)
    for env in ["dev", "staging", "prod"] {
        for w in [
            "Deployment/ml-platform/mlp-backend",
            "Deployment/ml-platform/mlp-frontend",
            "Deployment/ml-platform/mlp-worker",
            "CronJob/ml-platform/mlp-pg-backup",
            "CronJob/ml-platform/mlp-db-user-sync",
            "Job/ml-platform/mlp-db-user-sync-on-deploy",
            "PodTemplate/ml-platform/mlp-job-training",
            "PodTemplate/ml-platform/mlp-job-data",
        ] {
            assert!(e.contains(&format!("XL-001|{w}|{env}")), "{w} {env}: {e:?}");
        }
    }
    assert_eq!(e.len(), 24);
    let f = r.findings.iter().find(|f| f.rule == "XL-001").unwrap();
    assert!(
        f.message.contains("tracking-api"),
        "lists what Terraform creates: {}",
        f.message
    );
    assert_eq!(errors(&r).len(), e.len(), "{}", output::table(&r, false));
}

#[test]
fn mutation_xl_002_no_egress_to_the_pod_identity_agent() {
    let r = mutated(|root| {
        replace(
            root,
            "infrastructure/kubernetes/components/cloud/networkpolicies.yaml",
            "cidr: 169.254.170.23/32",
            "cidr: 169.254.169.254/32",
        )
    });
    let e = of_rule(&r, "XL-002");
    assert_eq!(
        e,
        vec![
            "XL-002|CronJob/ml-platform/mlp-pg-backup|dev,staging,prod",
            "XL-002|Deployment/ml-platform/mlp-backend|dev,staging,prod",
            "XL-002|Deployment/ml-platform/mlp-worker|dev,staging,prod",
        ]
    );
    let f = r.findings.iter().find(|f| f.rule == "XL-002").unwrap();
    assert!(
        f.message.contains("mlp-egress-pod-identity"),
        "names the policies: {}",
        f.message
    );
}

#[test]
fn mutation_xl_003_schedules_without_velero() {
    let r = mutated(|root| {
        replace(
            root,
            "infrastructure/terraform/modules/cluster/addons/main.tf",
            r#"chart            = "velero""#,
            r#"chart            = "not-velero""#,
        )
    });
    assert_eq!(
        of_rule(&r, "XL-003"),
        vec!["XL-003|Schedule/velero/ml-platform-daily|dev,staging,prod"]
    );
}

#[test]
fn mutation_xl_004_no_default_storage_class() {
    let r = mutated(|root| {
        replace(
            root,
            "infrastructure/terraform/modules/cluster/addons/main.tf",
            r#""storageclass.kubernetes.io/is-default-class" = "true""#,
            r#""storageclass.kubernetes.io/is-default-class" = "false""#,
        )
    });
    let e = of_rule(&r, "XL-004");
    assert!(
        e.contains(&"XL-004|helm_release.this|dev,staging,prod".to_string()),
        "{e:?}"
    );
}

#[test]
fn mutation_xl_005_secrets_operator_before_its_identity() {
    let r = mutated(|root| {
        replace(
            root,
            "infrastructure/terraform/environments/cloud/main.tf",
            "operator_identity = module.secrets_iam.association_id",
            "",
        )
    });
    assert_eq!(of_rule(&r, "XL-005"), vec!["XL-005|helm_release.eso|dev,staging,prod"]);
}

#[test]
fn mutation_xl_006_kind_cluster_names_disagree() {
    let r = mutated(|root| {
        replace(
            root,
            "infrastructure/terraform/environments/local/terraform.tfvars",
            r#""ml-platform""#,
            r#""ml-platform-local""#,
        )
    });
    assert_eq!(of_rule(&r, "XL-006"), vec!["XL-006|cluster_name|local"]);
}

#[test]
fn mutation_xl_006_association_for_a_missing_service_account() {
    let r = mutated(|root| {
        replace(
            root,
            "infrastructure/terraform/modules/workload-identity/variables.tf",
            r#""mlp-pg-backup"]"#,
            r#""mlp-pg-backup", "mlp-trainer"]"#,
        )
    });
    assert_eq!(
        of_rule(&r, "XL-006"),
        vec!["XL-006|aws_eks_pod_identity_association.this|dev,staging,prod"]
    );
}

#[test]
fn mutation_xl_006_ingress_controller_outside_the_admitted_namespace() {
    let r = mutated(|root| {
        replace(
            root,
            "infrastructure/terraform/modules/ingress/local/main.tf",
            r#"namespace        = "nginx-ingress""#,
            r#"namespace        = "ingress-nginx""#,
        )
    });
    assert_eq!(of_rule(&r, "XL-006"), vec!["XL-006|helm_release.this|local"]);
}

#[test]
fn mutation_xl_006_two_registry_versions_under_one_name() {
    let r = mutated(|root| {
        replace(
            root,
            "infrastructure/terraform/modules/registry/local/main.tf",
            "docker.io/library/registry:3.0.0",
            "docker.io/library/registry:2.8.3",
        )
    });
    assert_eq!(of_rule(&r, "XL-006"), vec!["XL-006|docker_image.registry|local"]);
}

/// The platform's own objects (terraform-provider-mlp, infrastructure/terraform/platform) are
/// checked like any Terraform: a user password written into the configuration is a literal secret.
#[test]
fn mutation_literal_password_of_a_platform_user() {
    let r = mutated(|root| {
        replace(
            root,
            "infrastructure/terraform/platform/main.tf",
            "password = lookup(var.user_passwords, each.key, null)",
            "password = \"hunter2-literal\"",
        )
    });
    let e = errors(&r);
    assert!(e.iter().any(|x| x.starts_with("TF-009|mlp_user.user")), "{e:?}");
    assert!(e.iter().all(|x| x.starts_with("TF-009|")), "{e:?}");
}

#[test]
fn mutation_xl_006_admin_secret_name_disagrees_with_the_external_secret() {
    let r = mutated(|root| {
        replace(
            root,
            "infrastructure/terraform/modules/admin-secret/main.tf",
            r#"name    = "${var.context.project}/${var.context.environment}/mlp-admin""#,
            r#"name    = "${var.context.project}/${var.context.environment}/admin-password""#,
        )
    });
    // one finding per environment: the names differ by environment
    assert_eq!(
        of_rule(&r, "XL-006"),
        vec![
            "XL-006|ExternalSecret/ml-platform/mlp-admin|dev",
            "XL-006|ExternalSecret/ml-platform/mlp-admin|prod",
            "XL-006|ExternalSecret/ml-platform/mlp-admin|staging",
        ]
    );
    assert_eq!(errors(&r).len(), 3, "{}", output::table(&r, false));
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "XL-006" && f.env.as_deref() == Some("dev"))
        .unwrap();
    assert!(
        f.message.contains("ml-platform/dev/mlp-admin") && f.message.contains("ml-platform/dev/admin-password"),
        "{}",
        f.message
    );
}

// --- the platform's own objects (terraform-provider-mlp) -----------------------------------

/// Every MLP rule is exercised by a mutation of the real platform root below.
#[test]
fn every_provider_rule_has_a_mutation_test() {
    let src = include_str!("check.rs");
    for rule in RULES.iter().filter(|r| r.id.starts_with("MLP-")) {
        assert!(
            src.contains(&format!("fn mutation_{}_", rule.id.to_lowercase().replace('-', "_"))),
            "{} has no mutation test",
            rule.id
        );
    }
}

const PLATFORM: &str = "infrastructure/terraform/platform";

fn only_errors_of(r: &CheckResult, rule: &str) -> Vec<String> {
    let e = errors(r);
    assert!(
        e.iter().all(|x| x.starts_with(rule)),
        "only {rule} expected: {}",
        output::table(r, false)
    );
    e
}

#[test]
fn mutation_mlp_001_provider_not_pinned() {
    let r = mutated(|root| {
        replace(
            root,
            &format!("{PLATFORM}/versions.tf"),
            "    mlp = {\n      source  = \"ml-platform/mlp\"\n      version = \"~> 0.1\"\n    }\n",
            "",
        )
    });
    assert_eq!(
        only_errors_of(&r, "MLP-001"),
        vec!["MLP-001|terraform.required_providers.mlp|"]
    );
    let f = r.findings.iter().find(|f| f.rule == "MLP-001").unwrap();
    assert_eq!(f.file, format!("{PLATFORM}/versions.tf"));
    assert!(f.message.contains("hashicorp/mlp"), "{}", f.message);

    // a lower bound only lets a new major version in
    let r = mutated(|root| replace(root, &format!("{PLATFORM}/versions.tf"), "\"~> 0.1\"", "\">= 0.1\""));
    assert_eq!(
        only_errors_of(&r, "MLP-001"),
        vec!["MLP-001|terraform.required_providers.mlp|"]
    );
    assert_eq!(r.findings.iter().find(|f| f.rule == "MLP-001").unwrap().line, Some(1));
}

#[test]
fn mutation_mlp_002_grant_to_a_literal_or_undeclared_object() {
    // a grant naming its user by a plain value: nothing guarantees the user exists first
    let r = mutated(|root| {
        replace(
            root,
            &format!("{PLATFORM}/main.tf"),
            "username      = mlp_user.user[each.value.username].username",
            "username      = each.value.username",
        )
    });
    assert_eq!(only_errors_of(&r, "MLP-002"), vec!["MLP-002|mlp_permission.grant|"]);
    let f = r.findings.iter().find(|f| f.rule == "MLP-002").unwrap();
    assert!(f.line.is_some() && f.message.contains("mlp_user"), "{f:?}");

    // a literal role id
    let r = mutated(|root| {
        replace(
            root,
            &format!("{PLATFORM}/main.tf"),
            "role_id  = mlp_role.team[each.value.role].id",
            "role_id  = \"3\"",
        )
    });
    assert_eq!(
        only_errors_of(&r, "MLP-002"),
        vec!["MLP-002|mlp_role_assignment.member|"]
    );
    assert!(r.findings[0].message.contains("literal"), "{}", r.findings[0].message);
}

#[test]
fn mutation_mlp_002_environment_grants_a_model_it_does_not_declare() {
    let r = mutated(|root| {
        let f = format!("{PLATFORM}/envs/dev.tfvars");
        replace(
            root,
            &f,
            r#"resource = "digits-sgd", permission = "MANAGE""#,
            r#"resource = "digits-sdg", permission = "MANAGE""#,
        );
        replace(
            root,
            &f,
            r#"members = ["data-engineer"]"#,
            r#"members = ["data-enginer"]"#,
        );
    });
    assert_eq!(
        only_errors_of(&r, "MLP-002"),
        vec![
            r#"MLP-002|mlp_permission.grant["release-digits"]|dev"#,
            r#"MLP-002|mlp_role_assignment.member["data-engineers/data-enginer"]|dev"#,
        ]
    );
    let f = r.findings.iter().find(|f| f.object.contains("release-digits")).unwrap();
    assert_eq!(f.file, format!("{PLATFORM}/envs/dev.tfvars"));
    let line = std::fs::read_to_string(repo().join(PLATFORM).join("envs/dev.tfvars"))
        .unwrap()
        .lines()
        .position(|l| l.contains(r#""release-digits""#))
        .unwrap()
        + 1;
    assert_eq!(f.line, Some(line), "the line of the bad key");
    assert!(
        f.message.contains("digits-sdg") && f.message.contains("digits-sgd"),
        "{}",
        f.message
    );
}

#[test]
fn mutation_mlp_003_password_from_a_variable_that_is_not_sensitive() {
    let r = mutated(|root| {
        replace(
            root,
            &format!("{PLATFORM}/variables.tf"),
            "  default     = {}\n  sensitive   = true\n",
            "  default     = {}\n",
        )
    });
    assert_eq!(only_errors_of(&r, "MLP-003"), vec!["MLP-003|mlp_user.user|"]);
    assert!(r.findings.iter().any(|f| f.message.contains("user_passwords")));
}

#[test]
fn mutation_mlp_004_team_role_with_manage_on_everything() {
    let everything =
        r#"      "digits"       = { resource_type = "experiment", resource = "digits", permission = "EDIT" }"#;
    let grant = |root: &Path| {
        replace(
            root,
            &format!("{PLATFORM}/envs/dev.tfvars"),
            everything,
            &format!(
                "{everything}\n      \"all\"          = {{ resource_type = \"workspace\", resource = \"*\", permission = \"MANAGE\" }}"
            ),
        )
    };
    let r = mutated(grant);
    assert_eq!(
        only_errors_of(&r, "MLP-004"),
        vec![r#"MLP-004|mlp_role_permission.team["ml-engineers/all"]|dev"#]
    );
    // marked as the admins' role: accepted
    let r = mutated(|root| {
        grant(root);
        replace(
            root,
            &format!("{PLATFORM}/envs/dev.tfvars"),
            r#"description = "Training experiments and the models they register to.""#,
            "description = \"Training experiments and the models they register to.\"\n    admin       = true",
        );
    });
    assert_eq!(errors(&r), Vec::<String>::new(), "{}", output::table(&r, false));
}

#[test]
fn mutation_mlp_005_environment_tfvars_disagree_with_the_root() {
    let r = mutated(|root| {
        let f = format!("{PLATFORM}/envs/staging.tfvars");
        replace(root, &f, "environment = \"staging\"\n", "shared_experiment = {}\n");
        std::fs::remove_file(root.join(PLATFORM).join("envs/prod.tfvars")).unwrap();
    });
    assert_eq!(
        only_errors_of(&r, "MLP-005"),
        vec![
            "MLP-005|envs/prod.tfvars|prod",
            "MLP-005|var.environment|staging",
            "MLP-005|var.shared_experiment|staging",
        ]
    );
}

#[test]
fn mutation_xl_007_gpu_group_the_device_plugin_does_not_select() {
    let r = mutated(|root| {
        replace(
            root,
            "infrastructure/terraform/modules/env-config/main.tf",
            r#", "nvidia.com/gpu.present" = "true" }"#,
            " }",
        )
    });
    assert_eq!(
        of_rule(&r, "XL-007"),
        vec![r#"XL-007|aws_eks_node_group.this["compute"]|prod"#]
    );
    let f = r.findings.iter().find(|f| f.rule == "XL-007").unwrap();
    assert!(f.message.contains("g5.2xlarge") && f.line.is_some(), "{f:?}");
}

#[test]
fn mutation_xl_007_no_device_plugin() {
    let r = mutated(|root| {
        replace(
            root,
            "infrastructure/terraform/modules/cluster/addons/main.tf",
            "count = var.gpu_enabled ? 1 : 0",
            "count = 0",
        )
    });
    assert_eq!(
        of_rule(&r, "XL-007"),
        vec![r#"XL-007|aws_eks_node_group.this["compute"]|prod"#]
    );
    assert!(
        r.findings
            .iter()
            .any(|f| f.message.contains("does not install the NVIDIA device plugin"))
    );
}

#[test]
fn mutation_xl_007_gpu_pods_without_the_gpu_toleration() {
    let r = mutated(|root| {
        replace(
            root,
            "infrastructure/kubernetes/overlays/prod/patches/gpu-training.yaml",
            "      - key: nvidia.com/gpu\n        operator: Equal\n        value: \"true\"\n        effect: NoSchedule\n",
            "",
        )
    });
    assert_eq!(
        of_rule(&r, "XL-007"),
        vec!["XL-007|PodTemplate/ml-platform/mlp-job-training|prod"]
    );
}
