//! `mlp infra deploy`: dry runs for every environment and action, refusals, and real Terraform
//! runs on a provider-free root module.

use std::path::{Path, PathBuf};

use mlp_infra::deploy::{self, Action, DeployError, DeployOptions, Exec, Op};
use mlp_infra::layout::{ENVS, Layout};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn opts(env: &str, action: Action) -> DeployOptions {
    DeployOptions {
        env: env.into(),
        action,
        dry_run: true,
        yes: false,
        skip_kubernetes: false,
        context: None,
        argocd_context: None,
        no_gitops: false,
        api_url: None,
        rollout_timeout: "5m".into(),
        provider_dir: None,
        tf_cli_config: None,
    }
}

fn dry_run(layout: &Layout, o: &DeployOptions) -> Result<String, DeployError> {
    let steps = deploy::plan(layout, o)?;
    let mut out = Vec::new();
    // an empty PATH: a dry run needs no tools
    let x = Exec {
        dry_run: true,
        path: Some("".into()),
        ..Default::default()
    };
    deploy::execute(&steps, &o.env, &x, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

#[test]
fn dry_run_every_environment_and_action() {
    let l = Layout::at(&repo()).unwrap();
    for env in ENVS {
        for action in [Action::Plan, Action::Apply, Action::Destroy] {
            let o = opts(env, action);
            let r = dry_run(&l, &o);
            if *env == "prod" && action == Action::Destroy {
                assert!(
                    matches!(r, Err(DeployError::Refused(_))),
                    "prod destroy must be refused"
                );
                continue;
            }
            let text = r.unwrap_or_else(|e| panic!("{env} {action:?}: {e}"));
            assert!(text.starts_with("# dry run: "), "{text}");
            // local has its own root; dev, staging and prod share environments/cloud with their
            // own tfvars, backend and plan file.
            let (init, vars, plan_file) = if *env == "local" {
                (
                    "environments/local init -input=false\n".to_string(),
                    "-var-file=../_shared/common.tfvars -var-file=terraform.tfvars".to_string(),
                    "tfplan".to_string(),
                )
            } else {
                (
                    format!("environments/cloud init -input=false -reconfigure -backend-config=../{env}/backend.hcl\n"),
                    format!("-var-file=../_shared/common.tfvars -var-file=../{env}/terraform.tfvars"),
                    format!("tfplan-{env}"),
                )
            };
            assert!(text.contains(&init), "{env}: {text}");
            match action {
                Action::Plan => {
                    assert!(text.contains(&format!("{vars} -out={plan_file}\n")), "{text}");
                    assert!(!text.contains(" apply "), "plan must not apply: {text}");
                }
                Action::Apply => {
                    assert!(
                        text.contains(&format!("apply -input=false {plan_file}\n")),
                        "apply only the saved plan: {text}"
                    );
                    let confirm = text.find("confirm:").unwrap();
                    assert!(
                        confirm < text.find("apply -input=false tfplan").unwrap(),
                        "confirmation comes first"
                    );
                    if *env == "local" {
                        assert!(text.contains("kubectl --context kind-ml-platform apply -k"), "{text}");
                    } else {
                        assert!(
                            text.contains(&format!("patch application ml-platform-{env}")),
                            "GitOps env: {text}"
                        );
                        assert!(text.contains("=Healthy"), "{text}");
                        assert!(text.contains(&format!("--alias mlp-{env}")), "{text}");
                    }
                    assert!(text.contains("rollout status deployment/mlp-backend"), "{text}");
                    assert!(
                        text.contains("/health") && text.contains("experiments/create") && text.contains("log-metric"),
                        "{text}"
                    );
                    assert!(text.contains("/api/v1/jobs"), "{text}");
                }
                Action::Destroy => {
                    assert!(
                        text.contains("plan -destroy")
                            && text.contains(&format!("apply -input=false {plan_file}-destroy\n")),
                        "{text}"
                    );
                }
            }
        }
    }
}

#[test]
fn no_gitops_applies_the_overlay_directly() {
    let l = Layout::at(&repo()).unwrap();
    let mut o = opts("staging", Action::Apply);
    o.no_gitops = true;
    let text = dry_run(&l, &o).unwrap();
    assert!(
        text.contains("kubectl --context mlp-staging apply -k") && !text.contains("argocd"),
        "{text}"
    );
}

#[test]
fn up_local_dry_run() {
    let l = Layout::at(&repo()).unwrap();
    let steps = deploy::plan_up_local(&l, None, "5m");
    let text = deploy::describe(&steps);
    for needle in [
        "kind create cluster",
        "registry:3.0.0",
        "docker build",
        "docker push localhost:5001/ml-platform/mlp:dev",
        "apply -k",
        "rollout status",
        "/health",
    ] {
        assert!(text.contains(needle), "missing {needle}: {text}");
    }
}

#[test]
fn refuses_unknown_environment() {
    let l = Layout::at(&repo()).unwrap();
    let e = deploy::plan(&l, &opts("qa", Action::Plan)).unwrap_err();
    assert!(
        matches!(&e, DeployError::Refused(m) if m.contains("unknown environment 'qa'")),
        "{e}"
    );
}

#[test]
fn refuses_a_local_context_for_cloud_environments() {
    let l = Layout::at(&repo()).unwrap();
    for ctx in [
        "kind-ml-platform",
        "docker-desktop",
        "minikube",
        "k3d-dev",
        "my-local-cluster",
    ] {
        let mut o = opts("prod", Action::Apply);
        o.context = Some(ctx.into());
        let e = deploy::plan(&l, &o).unwrap_err();
        assert!(
            matches!(&e, DeployError::Refused(m) if m.contains("local cluster")),
            "{ctx}: {e}"
        );
    }
    let mut o = opts("local", Action::Apply);
    o.context = Some("mlp-prod".into());
    assert!(matches!(deploy::plan(&l, &o), Err(DeployError::Refused(_))));
    assert!(
        deploy::is_local_context("kind-x")
            && !deploy::is_local_context("arn:aws:eks:eu-central-1:1:cluster/ml-platform")
    );
}

#[test]
fn refuses_when_a_tool_is_missing() {
    let l = Layout::at(&repo()).unwrap();
    let steps = deploy::plan(&l, &opts("dev", Action::Plan)).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let x = Exec {
        dry_run: false,
        path: Some(empty.path().as_os_str().to_owned()),
        ..Default::default()
    };
    let e = deploy::execute(&steps, "dev", &x, &mut Vec::new()).unwrap_err();
    assert!(matches!(&e, DeployError::Refused(m) if m.contains("terraform")), "{e}");
}

#[test]
fn apply_needs_confirmation_without_yes() {
    // not a terminal (test harness): the confirmation step refuses instead of hanging
    let steps = vec![deploy::Step {
        name: "confirm".into(),
        op: Op::Confirm("apply the plan to prod".into()),
    }];
    let e = deploy::execute(&steps, "prod", &Exec::default(), &mut Vec::new()).unwrap_err();
    assert!(matches!(&e, DeployError::Refused(m) if m.contains("--yes")), "{e}");
}

// --- real terraform ------------------------------------------------------------------------

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        // working directories of earlier terraform runs (provider symlinks) are not the tree
        if e.file_name() == ".terraform" {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn terraform_available() -> bool {
    deploy::on_path("terraform", std::env::var_os("PATH").as_deref())
}

fn real(env: &str, action: Action) -> (tempfile::TempDir, Result<String, DeployError>) {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deploy"),
        tmp.path(),
    );
    let l = Layout::at(tmp.path()).unwrap();
    let mut o = opts(env, action);
    o.dry_run = false;
    o.yes = true;
    o.skip_kubernetes = true;
    let x = Exec {
        dry_run: false,
        yes: true,
        path: None,
        env: vec![
            ("TF_CLI_CONFIG_FILE".into(), "/dev/null".into()),
            (
                "TF_DATA_DIR".into(),
                tmp.path().join(format!(".tf-{env}")).display().to_string(),
            ),
        ],
        ..Default::default()
    };
    let mut out = Vec::new();
    let r = deploy::plan(&l, &o).and_then(|steps| deploy::execute(&steps, env, &x, &mut out));
    (tmp, r.map(|_| String::from_utf8(out).unwrap()))
}

#[test]
fn real_terraform_plan_apply_destroy_on_a_provider_free_root() {
    assert!(terraform_available(), "terraform must be on PATH for this test");
    let (tmp, r) = real("local", Action::Apply);
    let text = r.unwrap();
    assert!(text.contains("done: "), "{text}");
    let state = std::fs::read_to_string(
        tmp.path()
            .join("infrastructure/terraform/environments/local/terraform.tfstate"),
    )
    .unwrap();
    assert!(
        state.contains("fixture-local"),
        "the tfvars reached the applied resource: {state}"
    );
    assert!(
        tmp.path()
            .join("infrastructure/terraform/environments/local/tfplan")
            .is_file()
    );

    // destroy the same state through a saved destroy plan
    let l = Layout::at(tmp.path()).unwrap();
    let mut o = opts("local", Action::Destroy);
    o.dry_run = false;
    let steps = deploy::plan(&l, &o).unwrap();
    let x = Exec {
        yes: true,
        env: vec![
            ("TF_CLI_CONFIG_FILE".into(), "/dev/null".into()),
            ("TF_DATA_DIR".into(), tmp.path().join(".tf-local").display().to_string()),
        ],
        ..Default::default()
    };
    deploy::execute(&steps, "local", &x, &mut Vec::new()).unwrap();
    let state = std::fs::read_to_string(
        tmp.path()
            .join("infrastructure/terraform/environments/local/terraform.tfstate"),
    )
    .unwrap();
    assert!(!state.contains("fixture-local"), "destroyed: {state}");
}

#[test]
fn real_terraform_plan_with_backend_config() {
    assert!(terraform_available(), "terraform must be on PATH for this test");
    let (tmp, r) = real("dev", Action::Plan);
    r.unwrap();
    assert!(
        tmp.path()
            .join("infrastructure/terraform/environments/dev/tfplan")
            .is_file()
    );
}

#[test]
fn a_failing_step_stops_the_deploy() {
    assert!(terraform_available(), "terraform must be on PATH for this test");
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deploy"),
        tmp.path(),
    );
    // break the root module: plan fails, apply must never run
    let main = tmp.path().join("infrastructure/terraform/environments/local/main.tf");
    std::fs::write(
        &main,
        std::fs::read_to_string(&main)
            .unwrap()
            .replace("var.environment", "var.missing"),
    )
    .unwrap();
    let l = Layout::at(tmp.path()).unwrap();
    let mut o = opts("local", Action::Apply);
    o.skip_kubernetes = true;
    let steps = deploy::plan(&l, &o).unwrap();
    let x = Exec {
        yes: true,
        env: vec![
            ("TF_CLI_CONFIG_FILE".into(), "/dev/null".into()),
            ("TF_DATA_DIR".into(), tmp.path().join(".tf").display().to_string()),
        ],
        ..Default::default()
    };
    let mut out = Vec::new();
    let e = deploy::execute(&steps, "local", &x, &mut out).unwrap_err();
    assert!(
        matches!(&e, DeployError::Failed(m) if m.contains("terraform plan")),
        "{e}"
    );
    let text = String::from_utf8(out).unwrap();
    assert!(
        !text.contains("terraform apply (the saved plan only)"),
        "stopped before apply: {text}"
    );
}

#[test]
fn platform_configuration_after_the_smoke_tests() {
    let l = Layout::at(&repo()).unwrap();
    let platform = repo().join("infrastructure/terraform/platform");
    let chdir = format!("-chdir={}", platform.display());
    let smoke_at = |t: &str| t.find("] smoke tests against").expect("smoke tests");

    // Provider built beside mlp: linked into a filesystem mirror (init ignores dev_overrides),
    // init with the environment's S3 backend, plan to a file, apply it.
    let mut o = opts("dev", Action::Apply);
    o.provider_dir = Some("/opt/mlp/bin".into());
    o.api_url = Some("https://mlp.dev.example".into());
    let text = dry_run(&l, &o).unwrap();
    let cfg = platform.join(".terraform/mlp-provider.tfrc");
    let write = format!(
        "] platform configuration: CLI config for terraform-provider-mlp\n+ write {}:\n",
        cfg.display()
    );
    let at = text.find(&write).unwrap_or_else(|| panic!("{text}"));
    assert!(at > smoke_at(&text), "after the smoke tests: {text}");
    let mirror = platform.join(".terraform/mlp-mirror");
    assert!(
        text.contains(&format!("path    = \"{}\"", mirror.display()))
            && text.contains(r#"direct { exclude = ["registry.terraform.io/ml-platform/mlp"] }"#),
        "{text}"
    );
    let pkg = mirror.join(format!(
        "registry.terraform.io/ml-platform/mlp/{}/",
        env!("CARGO_PKG_VERSION")
    ));
    assert!(
        text.contains(&format!(
            "+ ln -sfn /opt/mlp/bin/terraform-provider-mlp {}",
            pkg.display()
        )),
        "{text}"
    );
    let env = format!("+ env TF_CLI_CONFIG_FILE={} terraform {chdir}", cfg.display());
    let init =
        format!("{env} init -input=false -reconfigure -backend-config=../environments/dev/platform.backend.hcl\n");
    let plan = format!(
        "{env} plan -input=false -var-file=envs/dev.tfvars -var=mlp_host=https://mlp.dev.example -out=tfplan-platform-dev\n"
    );
    let (i, p) = (
        text.find(&init).unwrap_or_else(|| panic!("{text}")),
        text.find(&plan).unwrap_or_else(|| panic!("{text}")),
    );
    assert!(i < p, "init before plan: {text}");
    // the S3 state: a local override left by a local deploy is removed before init
    let rm = format!("+ rm -f {}", platform.join("backend_override.tf").display());
    assert!(text.find(&rm).unwrap_or_else(|| panic!("{text}")) < i, "{text}");
    assert!(
        text.ends_with(&format!("{env} apply -input=false tfplan-platform-dev\n")),
        "the last step: {text}"
    );
    // A dry run writes nothing.
    assert!(!cfg.exists() || !std::fs::read_to_string(&cfg).unwrap().contains("/opt/mlp/bin"));

    // The operator's CLI config instead: no generated files; local keeps local state through a
    // backend override.
    let mut o = opts("local", Action::Apply);
    o.tf_cli_config = Some("/home/op/.terraformrc".into());
    let text = dry_run(&l, &o).unwrap();
    let init =
        format!("] platform configuration: terraform init\n+ terraform {chdir} init -input=false -reconfigure\n");
    assert!(
        text.find(&init).unwrap_or_else(|| panic!("{text}")) > smoke_at(&text),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "+ write {}:\n",
            platform.join("backend_override.tf").display()
        )) && text.contains("    backend \"local\" {}\n"),
        "{text}"
    );
    assert!(!text.contains("-backend-config"), "{text}");
    assert!(
        text.contains(&format!(
            "+ terraform {chdir} plan -input=false -var-file=envs/local.tfvars -var=mlp_host=http://ml-platform.localtest.me -out=tfplan-platform-local\n"
        )),
        "{text}"
    );
    assert!(!text.contains("mlp-provider.tfrc"), "{text}");

    // No provider anywhere: said, not silently left out.
    let text = dry_run(&l, &opts("staging", Action::Apply)).unwrap();
    assert!(
        text.contains("platform configuration: skipped: terraform-provider-mlp is not beside mlp"),
        "{text}"
    );
    assert!(!text.contains("tfplan-platform"), "{text}");

    // Only a full apply touches it: not plan, not --skip-kubernetes.
    for (action, skip) in [(Action::Plan, false), (Action::Apply, true)] {
        let mut o = opts("dev", action);
        o.provider_dir = Some("/opt/mlp/bin".into());
        o.skip_kubernetes = skip;
        let text = dry_run(&l, &o).unwrap();
        assert!(!text.contains("platform configuration"), "{action:?} {skip}: {text}");
    }
}

/// The provider beside mlp reaches `terraform init` through the generated filesystem mirror,
/// offline (real terraform; the provider is only installed by init, never started).
#[test]
fn platform_init_installs_the_provider_beside_mlp_offline() {
    assert!(terraform_available(), "terraform must be on PATH for this test");
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("infrastructure"), &tmp.path().join("infrastructure"));
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("terraform-provider-mlp"), "#!/bin/sh\nexit 1\n").unwrap();
    let l = Layout::at(tmp.path()).unwrap();
    let mut o = opts("local", Action::Apply);
    o.provider_dir = Some(bin);
    let steps: Vec<_> = deploy::platform_steps(&l, &o, "http://127.0.0.1:1")
        .unwrap()
        .into_iter()
        .take_while(|s| !s.name.contains("terraform plan"))
        .collect();
    assert!(steps.last().unwrap().name.contains("terraform init"));
    let x = Exec {
        yes: true,
        env: vec![("CHECKPOINT_DISABLE".into(), "1".into())],
        ..Default::default()
    };
    let mut out = Vec::new();
    let r = deploy::execute(&steps, "local", &x, &mut out);
    let text = String::from_utf8(out).unwrap();
    r.unwrap_or_else(|e| panic!("{e}\n{text}"));
    let platform = tmp.path().join("infrastructure/terraform/platform");
    let lock = std::fs::read_to_string(platform.join(".terraform.lock.hcl")).unwrap();
    assert!(lock.contains("registry.terraform.io/ml-platform/mlp"), "{lock}");
    // local state: the override is in place and no S3 backend was configured
    assert!(platform.join("backend_override.tf").is_file());
    let backend = std::fs::read_to_string(platform.join(".terraform/terraform.tfstate")).unwrap_or_default();
    assert!(!backend.contains("\"s3\""), "{backend}");
}

/// On a terminal every step ends with its number and elapsed time; with `--output json` every
/// line of stdout is one JSON object (a step, then the summary) and the commands' own output is
/// kept off stdout.
#[test]
fn real_run_step_timings_and_json() {
    assert!(terraform_available(), "terraform must be on PATH for this test");
    for json in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deploy"),
            tmp.path(),
        );
        let l = Layout::at(tmp.path()).unwrap();
        let mut o = opts("local", Action::Plan);
        o.dry_run = false;
        let steps = deploy::plan(&l, &o).unwrap();
        let x = Exec {
            yes: true,
            timings: !json,
            json,
            env: vec![
                ("TF_CLI_CONFIG_FILE".into(), "/dev/null".into()),
                ("TF_DATA_DIR".into(), tmp.path().join(".tf").display().to_string()),
            ],
            ..Default::default()
        };
        let mut out = Vec::new();
        deploy::execute(&steps, "local", &x, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let n = steps.len();
        if json {
            let lines: Vec<serde_json::Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{text}")))
                .collect();
            assert_eq!(lines.len(), n + 1, "{text}");
            for (i, s) in lines[..n].iter().enumerate() {
                assert_eq!(s["step"], i + 1);
                assert_eq!(s["status"], "ok", "{s}");
                assert!(s["elapsed_s"].as_f64().unwrap() >= 0.0);
            }
            assert_eq!(lines[n]["status"], "ok");
            assert_eq!(lines[n]["completed"], n);
            // terraform's own output ("Terraform has been successfully initialized") went to stderr
            assert!(!text.contains("Terraform"), "{text}");
        } else {
            for (i, s) in steps.iter().enumerate() {
                let line = text
                    .lines()
                    .find(|l| l.starts_with(&format!("[{}/{n}] {} … ", i + 1, s.name)))
                    .unwrap_or_else(|| panic!("no timing line for step {}: {text}", i + 1));
                let secs: f64 = line.rsplit(' ').nth(1).unwrap().parse().unwrap();
                assert!(line.ends_with(" s") && secs >= 0.0, "{line}");
            }
            assert!(text.contains(&format!("done: {n} steps for local in ")), "{text}");
        }
    }
}
