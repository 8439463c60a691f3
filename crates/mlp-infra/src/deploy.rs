//! `mlp infra deploy ENV [plan|apply|destroy]` and `mlp infra up local`: a planned list of steps,
//! printed with `--dry-run`, otherwise run one by one, stopping at the first failure.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;
use serde_json::Value;

use crate::layout::{ENVS, Layout, yaml_docs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Action {
    Plan,
    Apply,
    Destroy,
}

#[derive(Debug, Clone)]
pub struct DeployOptions {
    pub env: String,
    pub action: Action,
    pub dry_run: bool,
    pub yes: bool,
    pub skip_kubernetes: bool,
    /// kube context for the workloads (default: `mlp-<env>` for EKS, `kind-<cluster>` for local)
    pub context: Option<String>,
    /// kube context of the cluster running Argo CD (GitOps environments; default: `context`)
    pub argocd_context: Option<String>,
    /// apply the overlay with kubectl even where Argo CD manages the environment
    pub no_gitops: bool,
    /// base URL of the API for the smoke tests
    pub api_url: Option<String>,
    pub rollout_timeout: String,
    /// directory holding terraform-provider-mlp (beside `mlp`), installed for the platform
    /// configuration through a generated dev_overrides CLI config
    pub provider_dir: Option<PathBuf>,
    /// the operator's Terraform CLI config (TF_CLI_CONFIG_FILE), used when the provider is not
    /// beside `mlp`
    pub tf_cli_config: Option<PathBuf>,
}

/// Why a deploy refused to start (exit code 2) or failed (exit code 1).
#[derive(Debug)]
pub enum DeployError {
    Refused(String),
    Failed(String),
}

impl std::fmt::Display for DeployError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeployError::Refused(m) => write!(f, "refused: {m}"),
            DeployError::Failed(m) => write!(f, "failed: {m}"),
        }
    }
}

impl std::error::Error for DeployError {}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Op {
    /// run a command; output streams to the terminal
    Run { argv: Vec<String>, stdin: Option<String> },
    /// ask the operator to type the environment name (skipped with --yes)
    Confirm(String),
    /// check that the kube context is not a local cluster (cloud) / is a Kind cluster (local)
    CheckContext(String),
    /// HTTP smoke tests with curl against the API
    Smoke(String),
    /// a note printed in the plan
    Note(String),
    /// write a small generated file (creating its directory)
    WriteFile { path: PathBuf, content: String },
}

#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub op: Op,
}

fn run(name: &str, argv: &[&str]) -> Step {
    Step {
        name: name.into(),
        op: Op::Run {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            stdin: None,
        },
    }
}

/// Contexts that point at a cluster on this machine.
pub fn is_local_context(ctx: &str) -> bool {
    let c = ctx.to_ascii_lowercase();
    [
        "kind-",
        "k3d-",
        "minikube",
        "docker-desktop",
        "docker-for-desktop",
        "rancher-desktop",
        "orbstack",
        "colima",
        "microk8s",
    ]
    .iter()
    .any(|p| c.starts_with(p) || c == p.trim_end_matches('-'))
        || c.contains("local")
}

fn tfvar(layout: &Layout, env: &str, key: &str) -> Option<String> {
    let v = crate::tf::read_tfvars(&layout.tf_env_dir(env).join("terraform.tfvars")).ok()?;
    v.get(key).and_then(|x| x.as_str().map(str::to_string))
}

/// Environments whose overlay an Argo CD Application syncs (from argocd/apps).
pub fn gitops_envs(layout: &Layout) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in crate::layout::walk(&layout.kubernetes.join("argocd"), &["yaml", "yml"]) {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        for (_, _, d) in yaml_docs(&text).unwrap_or_default() {
            if d["kind"] != "Application" {
                continue;
            }
            let path = d["spec"]["source"]["path"].as_str().unwrap_or("");
            if let Some(env) = path.strip_prefix("infrastructure/kubernetes/overlays/") {
                out.push((
                    env.to_string(),
                    d["metadata"]["name"].as_str().unwrap_or("").to_string(),
                ));
            }
        }
    }
    out
}

fn deployments(layout: &Layout, env: &str) -> Vec<(String, String, String)> {
    // the overlay's Deployments, from the source tree (names are not generated)
    let idx = crate::layout::SourceIndex::build(layout);
    let mut out: Vec<(String, String, String)> = idx
        .docs
        .iter()
        .filter(|(f, _, d)| {
            (d["kind"] == "Deployment" || d["kind"] == "StatefulSet")
                && !f.contains("/overlays/")
                && (!f.contains("/components/") || component_used(layout, env, f))
        })
        .map(|(_, _, d)| {
            (
                d["metadata"]["namespace"].as_str().unwrap_or("default").to_string(),
                d["kind"].as_str().unwrap_or("").to_ascii_lowercase(),
                d["metadata"]["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn component_used(layout: &Layout, env: &str, file: &str) -> bool {
    let k = layout.kubernetes.join("overlays").join(env).join("kustomization.yaml");
    let Ok(text) = std::fs::read_to_string(k) else {
        return false;
    };
    let comp = file
        .split("/components/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or("");
    text.contains(&format!("components/{comp}"))
}

/// The steps of one deploy, after the refusals that need no tools.
pub fn plan(layout: &Layout, o: &DeployOptions) -> Result<Vec<Step>, DeployError> {
    let env = o.env.as_str();
    if !ENVS.contains(&env) {
        return Err(DeployError::Refused(format!(
            "unknown environment '{env}' (expected one of {})",
            ENVS.join(", ")
        )));
    }
    let data = layout.tf_env_dir(env);
    let dir = layout.tf_root_dir(env);
    if !data.join("terraform.tfvars").is_file() || !dir.join("main.tf").is_file() {
        return Err(DeployError::Refused(format!(
            "no Terraform environment at {} (terraform.tfvars) with a root module at {}",
            layout.rel(&data),
            layout.rel(&dir)
        )));
    }
    // The cloud root is shared: each environment brings its tfvars, its backend and its plan file,
    // and init -reconfigure switches the backend to the environment's state.
    let shared = dir != data;
    if env == "prod" && o.action == Action::Destroy {
        return Err(DeployError::Refused(
            "prod is never destroyed from the CLI: deletion protection is on by design".into(),
        ));
    }
    let cloud = env != "local";
    let cluster = tfvar(layout, env, "cluster_name").unwrap_or_else(|| format!("ml-platform-{env}"));
    let context = o.context.clone().unwrap_or_else(|| {
        if cloud {
            format!("mlp-{env}")
        } else {
            format!("kind-{cluster}")
        }
    });
    if cloud && is_local_context(&context) {
        return Err(DeployError::Refused(format!(
            "kube context '{context}' is a local cluster; {env} is never deployed to it"
        )));
    }
    if !cloud && !context.starts_with("kind-") {
        return Err(DeployError::Refused(format!(
            "kube context '{context}' is not a Kind cluster; local deploys only go to kind-*"
        )));
    }
    let chdir = format!("-chdir={}", dir.display());
    let (env_vars, backend_arg, plan_file, destroy_file) = if shared {
        (
            format!("-var-file=../{env}/terraform.tfvars"),
            format!("-backend-config=../{env}/backend.hcl"),
            format!("tfplan-{env}"),
            format!("tfplan-{env}-destroy"),
        )
    } else {
        (
            "-var-file=terraform.tfvars".to_string(),
            "-backend-config=backend.hcl".to_string(),
            "tfplan".to_string(),
            "tfplan-destroy".to_string(),
        )
    };
    let var_files = ["-var-file=../_shared/common.tfvars", env_vars.as_str()];
    let out_plan = format!("-out={plan_file}");
    let out_destroy = format!("-out={destroy_file}");
    let mut steps = Vec::new();
    let mut init = vec!["terraform", &chdir, "init", "-input=false"];
    let backend = data.join("backend.hcl");
    if cloud {
        if !backend.is_file() {
            return Err(DeployError::Refused(format!(
                "{} is missing (the environment's S3 backend)",
                layout.rel(&backend)
            )));
        }
        if shared {
            init.push("-reconfigure");
        }
        init.push(&backend_arg);
    }
    steps.push(run("terraform init", &init));
    let k8s = !o.skip_kubernetes && o.action == Action::Apply;
    if o.action == Action::Destroy {
        let mut p = vec!["terraform", &chdir, "plan", "-destroy", "-input=false"];
        p.extend(var_files);
        p.push(&out_destroy);
        steps.push(run("terraform plan -destroy", &p));
        steps.push(Step {
            name: "confirm".into(),
            op: Op::Confirm(format!("destroy {env}")),
        });
        steps.push(run(
            "terraform apply (destroy plan)",
            &["terraform", &chdir, "apply", "-input=false", &destroy_file],
        ));
        return Ok(steps);
    }
    let mut p = vec!["terraform", &chdir, "plan", "-input=false"];
    p.extend(var_files);
    p.push(&out_plan);
    steps.push(run("terraform plan", &p));
    if o.action == Action::Plan {
        return Ok(steps);
    }
    steps.push(Step {
        name: "confirm".into(),
        op: Op::Confirm(format!("apply the plan to {env}")),
    });
    steps.push(run(
        "terraform apply (the saved plan only)",
        &["terraform", &chdir, "apply", "-input=false", &plan_file],
    ));
    if !k8s {
        steps.push(Step {
            name: "kubernetes".into(),
            op: Op::Note("--skip-kubernetes: stopping after Terraform".into()),
        });
        return Ok(steps);
    }
    if cloud {
        let region = tfvar(layout, env, "aws_region").unwrap_or_else(|| "eu-central-1".into());
        steps.push(run(
            "kubeconfig",
            &[
                "aws",
                "eks",
                "update-kubeconfig",
                "--name",
                &cluster,
                "--region",
                &region,
                "--alias",
                &context,
            ],
        ));
    } else {
        steps.push(run("kubeconfig", &["kind", "export", "kubeconfig", "--name", &cluster]));
        steps.push(registry_hosts_step(&cluster));
    }
    steps.push(Step {
        name: "check kube context".into(),
        op: Op::CheckContext(context.clone()),
    });
    let overlay = layout.kubernetes.join("overlays").join(env);
    if cloud {
        // The overlay's inputs come from this apply's outputs, not from a hand-edited file.
        let script = layout
            .kubernetes
            .join("scripts/infra-outputs-from-terraform.sh")
            .display()
            .to_string();
        steps.push(run(
            "overlay inputs from the Terraform outputs",
            &["bash", &script, env],
        ));
    }
    let argocd_context = o.argocd_context.clone().unwrap_or_else(|| context.clone());
    let gitops = gitops_envs(layout)
        .into_iter()
        .find(|(e, _)| e == env)
        .map(|(_, app)| app);
    match (gitops, o.no_gitops) {
        (Some(app), false) => {
            steps.push(Step {
                name: "gitops".into(),
                op: Op::Note(format!(
                    "Argo CD syncs {} from git: commit and push overlays/{env}/infra-outputs.env if the step above changed it (the same values are annotations of the Argo CD cluster secret cluster-{env})",
                    layout.rel(&overlay)
                )),
            });
            let patch = r#"{"operation":{"initiatedBy":{"username":"mlp-infra"},"sync":{"syncStrategy":{"hook":{}}}}}"#;
            steps.push(run(
                "trigger Argo CD sync",
                &[
                    "kubectl",
                    "--context",
                    &argocd_context,
                    "-n",
                    "argocd",
                    "patch",
                    "application",
                    &app,
                    "--type",
                    "merge",
                    "-p",
                    patch,
                ],
            ));
            steps.push(run(
                "wait for Argo CD: Synced",
                &[
                    "kubectl",
                    "--context",
                    &argocd_context,
                    "-n",
                    "argocd",
                    "wait",
                    &format!("application/{app}"),
                    "--for=jsonpath={.status.sync.status}=Synced",
                    "--timeout=10m",
                ],
            ));
            steps.push(run(
                "wait for Argo CD: Healthy",
                &[
                    "kubectl",
                    "--context",
                    &argocd_context,
                    "-n",
                    "argocd",
                    "wait",
                    &format!("application/{app}"),
                    "--for=jsonpath={.status.health.status}=Healthy",
                    "--timeout=10m",
                ],
            ));
        }
        _ => {
            let ov = overlay.display().to_string();
            steps.push(run(
                "kubectl apply -k",
                &["kubectl", "--context", &context, "apply", "-k", &ov],
            ));
        }
    }
    let deps = deployments(layout, env);
    let n = deps.len();
    for (i, (ns, kind, name)) in deps.iter().enumerate() {
        steps.push(run(
            &format!("rollout {}/{n}: {kind}/{name}", i + 1),
            &[
                "kubectl",
                "--context",
                &context,
                "-n",
                ns,
                "rollout",
                "status",
                &format!("{kind}/{name}"),
                &format!("--timeout={}", o.rollout_timeout),
            ],
        ));
    }
    let api = o
        .api_url
        .clone()
        .unwrap_or_else(|| match tfvar(layout, env, "ingress_host") {
            Some(h) if cloud => format!("https://{h}"),
            _ => "http://ml-platform.localtest.me".into(),
        });
    steps.push(Step {
        name: "smoke tests".into(),
        op: Op::Smoke(api.clone()),
    });
    steps.extend(platform_steps(layout, o, &api)?);
    Ok(steps)
}

/// The platform's own objects (infrastructure/terraform/platform, terraform-provider-mlp),
/// applied once the server answers: init with the environment's state backend, plan to a file,
/// then apply that plan.
pub fn platform_steps(layout: &Layout, o: &DeployOptions, api: &str) -> Result<Vec<Step>, DeployError> {
    let env = o.env.as_str();
    let dir = layout.terraform.join("platform");
    let note = |n: String| Step {
        name: "platform configuration".into(),
        op: Op::Note(n),
    };
    if !dir.join("envs").join(format!("{env}.tfvars")).is_file() {
        return Ok(vec![note(format!(
            "skipped: no {}/envs/{env}.tfvars",
            layout.rel(&dir)
        ))]);
    }
    // The cloud environments keep this state in the environment's S3 bucket, beside the cloud
    // root's; local keeps a local state file (a generated backend override).
    let backend = layout.tf_env_dir(env).join("platform.backend.hcl");
    let cloud = env != "local";
    if cloud && !backend.is_file() {
        return Err(DeployError::Refused(format!(
            "{} is missing (the S3 backend of the platform objects' state)",
            layout.rel(&backend)
        )));
    }
    let mut steps = Vec::new();
    // The provider is not published: a CLI config must say where it is. `init` (which the state
    // backend needs) installs from a filesystem mirror, never from dev_overrides, which init
    // ignores and then looks the provider up in the registry.
    let prefix: Vec<String> = match (&o.provider_dir, &o.tf_cli_config) {
        (Some(pd), _) => {
            let mirror = dir.join(".terraform").join("mlp-mirror");
            let version = env!("CARGO_PKG_VERSION");
            let arch = match std::env::consts::ARCH {
                "x86_64" => "amd64",
                "aarch64" => "arm64",
                a => a,
            };
            let pkg = mirror
                .join("registry.terraform.io/ml-platform/mlp")
                .join(version)
                .join(format!("{}_{arch}", std::env::consts::OS));
            let pkg_s = pkg.display().to_string();
            steps.push(run(
                "platform configuration: provider mirror for terraform-provider-mlp",
                &["mkdir", "-p", &pkg_s],
            ));
            steps.push(run(
                "platform configuration: link the provider beside mlp into the mirror",
                &[
                    "ln",
                    "-sfn",
                    &pd.join("terraform-provider-mlp").display().to_string(),
                    &pkg.join(format!("terraform-provider-mlp_v{version}"))
                        .display()
                        .to_string(),
                ],
            ));
            let cfg = dir.join(".terraform").join("mlp-provider.tfrc");
            steps.push(Step {
                name: "platform configuration: CLI config for terraform-provider-mlp".into(),
                op: Op::WriteFile {
                    path: cfg.clone(),
                    content: format!(
                        "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/ml-platform/mlp\"]\n  }}\n  direct {{ exclude = [\"registry.terraform.io/ml-platform/mlp\"] }}\n}}\n",
                        mirror.display()
                    ),
                },
            });
            vec!["env".into(), format!("TF_CLI_CONFIG_FILE={}", cfg.display())]
        }
        (None, Some(_)) => Vec::new(),
        (None, None) => {
            return Ok(vec![note(
                "skipped: terraform-provider-mlp is not beside mlp and TF_CLI_CONFIG_FILE is not set \
                 (cargo build -p terraform-provider-mlp, or a CLI config that installs it)"
                    .into(),
            )]);
        }
    };
    let chdir = format!("-chdir={}", dir.display());
    let tf = |name: &str, args: &[&str]| {
        let mut argv: Vec<&str> = prefix.iter().map(String::as_str).collect();
        argv.extend(["terraform", &chdir]);
        argv.extend(args);
        run(name, &argv)
    };
    let override_file = dir.join("backend_override.tf");
    // The lock file would pin the checksum of one local build of the provider: every rebuild
    // would fail init. It is not committed; init writes it afresh.
    let lock = dir.join(".terraform.lock.hcl").display().to_string();
    let backend_arg = format!("-backend-config=../environments/{env}/platform.backend.hcl");
    if cloud {
        steps.push(run(
            "platform configuration: the environment's S3 state (no local override)",
            &["rm", "-f", &override_file.display().to_string(), &lock],
        ));
        steps.push(tf(
            "platform configuration: terraform init",
            &["init", "-input=false", "-reconfigure", &backend_arg],
        ));
    } else {
        steps.push(Step {
            name: "platform configuration: local state (backend override)".into(),
            op: Op::WriteFile {
                path: override_file,
                content: "# Generated by `mlp infra deploy local`: local keeps its state in terraform.tfstate here.\nterraform {\n  backend \"local\" {}\n}\n".into(),
            },
        });
        steps.push(run(
            "platform configuration: drop the lock of a previous build",
            &["rm", "-f", &lock],
        ));
        steps.push(tf(
            "platform configuration: terraform init",
            &["init", "-input=false", "-reconfigure"],
        ));
    }
    let plan_file = format!("tfplan-platform-{env}");
    steps.push(tf(
        "platform configuration: terraform plan",
        &[
            "plan",
            "-input=false",
            &format!("-var-file=envs/{env}.tfvars"),
            &format!("-var=mlp_host={api}"),
            &format!("-out={plan_file}"),
        ],
    ));
    steps.push(tf(
        "platform configuration: terraform apply (the saved plan only)",
        &["apply", "-input=false", &plan_file],
    ));
    Ok(steps)
}

/// `mlp infra up local`: registry, Kind cluster, ingress controller, images, secrets, overlay.
pub fn plan_up_local(layout: &Layout, api_url: Option<String>, timeout: &str) -> Vec<Step> {
    let root = layout.root.display().to_string();
    let kind_dir = layout.kubernetes.join("kind");
    let cfg = kind_dir.join("cluster.yaml").display().to_string();
    let cluster = std::fs::read_to_string(kind_dir.join("cluster.yaml"))
        .ok()
        .and_then(|t| yaml_docs(&t).ok())
        .and_then(|d| d.first().and_then(|(_, _, v)| v["name"].as_str().map(str::to_string)))
        .unwrap_or_else(|| "ml-platform".into());
    let ctx = format!("kind-{cluster}");
    let mut steps = vec![
        run("registry", &["docker", "run", "-d", "--restart=always", "-p", "127.0.0.1:5001:5000", "--network", "bridge", "--name", "kind-registry", "docker.io/library/registry:3.0.0"]),
        run("kind cluster", &["kind", "create", "cluster", "--config", &cfg]),
        registry_hosts_step(&cluster),
        run("registry network", &["docker", "network", "connect", "kind", "kind-registry"]),
        Step {
            name: "local-registry-hosting".into(),
            op: Op::Run {
                argv: ["kubectl", "--context", &ctx, "apply", "-f", "-"].iter().map(|s| s.to_string()).collect(),
                stdin: Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local-registry-hosting\n  namespace: kube-public\ndata:\n  localRegistryHosting.v1: |\n    host: \"localhost:5001\"\n".into()),
            },
        },
        run(
            "ingress controller",
            &["helm", "--kube-context", &ctx, "upgrade", "--install", "nginx-ingress", "oci://ghcr.io/nginx/charts/nginx-ingress", "--version", "2.2.2", "--namespace", "nginx-ingress", "--create-namespace", "--set", "controller.kind=deployment", "--set", "controller.ingressClass.name=nginx", "--set", "controller.hostPort.enable=true", "--set", "controller.ingressClass.setAsDefaultIngress=false", "--set", "controller.service.type=ClusterIP", "--set-string", "controller.nodeSelector.ingress-ready=true", "--set", "controller.tolerations[0].key=node-role.kubernetes.io/control-plane", "--set", "controller.tolerations[0].operator=Exists", "--set", "controller.tolerations[0].effect=NoSchedule", "--wait"],
        ),
    ];
    for (img, dockerfile, context) in [
        ("mlp", "infrastructure/docker/mlp/Dockerfile", "."),
        (
            "pg-backup",
            "infrastructure/docker/pg-backup/Dockerfile",
            "infrastructure/docker/pg-backup",
        ),
        ("ml-training", "infrastructure/docker/ml-training/Dockerfile", "."),
        (
            "ml-batch-inference",
            "infrastructure/docker/ml-batch-inference/Dockerfile",
            "infrastructure/docker/ml-batch-inference",
        ),
    ] {
        let tag = format!("localhost:5001/ml-platform/{img}:dev");
        let df = format!("{root}/{dockerfile}");
        let cx = format!("{root}/{context}");
        steps.push(run(
            &format!("build {img}"),
            &["docker", "build", "-f", &df, "-t", &tag, &cx],
        ));
        steps.push(run(&format!("push {img}"), &["docker", "push", &tag]));
    }
    let gen_secrets = kind_dir.join("generate-local-secrets.sh").display().to_string();
    steps.push(run("local secrets", &["bash", &gen_secrets]));
    // The add-ons whose CRDs the overlay uses (velero.io Schedule, monitoring.coreos.com
    // ServiceMonitor/PrometheusRule), installed before it; `mlp infra check` (XL-003) reads these
    // steps as what the local environment installs.
    let aws_credentials = layout
        .kubernetes
        .join("overlays/local/secrets/aws-credentials")
        .display()
        .to_string();
    let cred_arg = format!("credentials.secretContents.cloud={aws_credentials}");
    steps.push(run(
        "velero (file-system backups into MinIO)",
        &[
            "helm",
            "--kube-context",
            &ctx,
            "upgrade",
            "--install",
            "velero",
            "velero",
            "--repo",
            "https://vmware-tanzu.github.io/helm-charts",
            "--version",
            "10.0.10",
            "--namespace",
            "velero",
            "--create-namespace",
            "--set",
            "deployNodeAgent=true",
            "--set",
            "initContainers[0].name=velero-plugin-for-aws",
            "--set",
            "initContainers[0].image=velero/velero-plugin-for-aws:v1.12.1",
            "--set",
            "initContainers[0].volumeMounts[0].mountPath=/target",
            "--set",
            "initContainers[0].volumeMounts[0].name=plugins",
            "--set",
            "configuration.backupStorageLocation[0].name=default",
            "--set",
            "configuration.backupStorageLocation[0].provider=aws",
            "--set",
            "configuration.backupStorageLocation[0].bucket=velero",
            "--set",
            "configuration.backupStorageLocation[0].config.region=us-east-1",
            "--set",
            "configuration.backupStorageLocation[0].config.s3ForcePathStyle=true",
            "--set",
            "configuration.backupStorageLocation[0].config.s3Url=http://minio.ml-platform.svc.cluster.local:9000",
            "--set",
            "snapshotsEnabled=false",
            "--set-file",
            &cred_arg,
        ],
    ));
    steps.push(run(
        "monitoring (Prometheus operator and its CRDs)",
        &[
            "helm",
            "--kube-context",
            &ctx,
            "upgrade",
            "--install",
            "kube-prometheus-stack",
            "kube-prometheus-stack",
            "--repo",
            "https://prometheus-community.github.io/helm-charts",
            "--version",
            "72.6.2",
            "--namespace",
            "monitoring",
            "--create-namespace",
            "--set",
            "grafana.enabled=false",
            "--set",
            "prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues=false",
            "--set",
            "prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues=false",
            "--set",
            "prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues=false",
            "--set",
            "prometheus.prometheusSpec.retention=2d",
            "--set-string",
            "prometheus.prometheusSpec.externalLabels.environment=local",
            "--wait",
        ],
    ));
    steps.push(run(
        "argo cd (the in-cluster destination is registered by default)",
        &[
            "helm",
            "--kube-context",
            &ctx,
            "upgrade",
            "--install",
            "argocd",
            "argo-cd",
            "--repo",
            "https://argoproj.github.io/argo-helm",
            "--version",
            "8.1.3",
            "--namespace",
            "argocd",
            "--create-namespace",
            "--wait",
        ],
    ));
    steps.push(Step {
        name: "check kube context".into(),
        op: Op::CheckContext(ctx.clone()),
    });
    let ov = layout.kubernetes.join("overlays").join("local").display().to_string();
    steps.push(run(
        "kubectl apply -k",
        &["kubectl", "--context", &ctx, "apply", "-k", &ov],
    ));
    for (ns, kind, name) in deployments(layout, "local") {
        steps.push(run(
            &format!("rollout {kind}/{name}"),
            &[
                "kubectl",
                "--context",
                &ctx,
                "-n",
                &ns,
                "rollout",
                "status",
                &format!("{kind}/{name}"),
                &format!("--timeout={timeout}"),
            ],
        ));
    }
    steps.push(Step {
        name: "smoke tests".into(),
        op: Op::Smoke(api_url.unwrap_or_else(|| "http://ml-platform.localtest.me".into())),
    });
    steps
}

/// Tools the steps need.
pub fn required_tools(steps: &[Step]) -> Vec<String> {
    let mut t: Vec<String> = Vec::new();
    for s in steps {
        let tool = match &s.op {
            Op::Run { argv, .. } => argv[0].clone(),
            Op::CheckContext(_) => "kubectl".into(),
            Op::Smoke(_) => "curl".into(),
            _ => continue,
        };
        if !t.contains(&tool) {
            t.push(tool);
        }
    }
    t
}

pub fn on_path(tool: &str, path: Option<&std::ffi::OsStr>) -> bool {
    path.is_some_and(|p| {
        std::env::split_paths(&p).any(|d| {
            let f = d.join(tool);
            f.is_file()
                && std::fs::metadata(&f).is_ok_and(|m| {
                    use std::os::unix::fs::PermissionsExt;
                    m.permissions().mode() & 0o111 != 0
                })
        })
    })
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

pub fn smoke_commands(api: &str) -> Vec<(String, Vec<String>)> {
    let c = |path: &str, body: Option<&str>| -> Vec<String> {
        let mut v: Vec<String> = ["curl", "-fsS", "--max-time", "20"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if let Some(b) = body {
            v.extend([
                "-H".into(),
                "Content-Type: application/json".into(),
                "-X".into(),
                "POST".into(),
                "-d".into(),
                b.to_string(),
            ]);
        }
        v.push(format!("{}{path}", api.trim_end_matches('/')));
        v
    };
    vec![
        ("health".into(), c("/health", None)),
        (
            "create experiment".into(),
            c(
                "/api/2.0/mlflow/experiments/create",
                Some(r#"{"name":"mlp-infra-smoke-<timestamp>"}"#),
            ),
        ),
        (
            "create run".into(),
            c(
                "/api/2.0/mlflow/runs/create",
                Some(r#"{"experiment_id":"<experiment_id>","start_time":<timestamp>}"#),
            ),
        ),
        (
            "log metric".into(),
            c(
                "/api/2.0/mlflow/runs/log-metric",
                Some(r#"{"run_id":"<run_id>","key":"smoke","value":1.0,"timestamp":<timestamp>,"step":0}"#),
            ),
        ),
        (
            "read metric back".into(),
            c("/api/2.0/mlflow/runs/get?run_id=<run_id>", None),
        ),
        (
            "submit a tiny job".into(),
            c(
                "/api/v1/jobs",
                Some(
                    r#"{"name":"mlp-infra-smoke-<timestamp>","kind":"data-processing","command":["python","-c","print('ok')"],"timeout_seconds":300}"#,
                ),
            ),
        ),
        (
            "job state (polled until it ends)".into(),
            c("/api/v1/jobs/<job_id>", None),
        ),
    ]
}

fn describe_step(i: usize, n: usize, s: &Step) -> String {
    match &s.op {
        Op::Run { argv, stdin } => {
            let cmd: Vec<String> = argv.iter().map(|a| shell_quote(a)).collect();
            format!(
                "[{i}/{n}] {}\n+ {}{}\n",
                s.name,
                cmd.join(" "),
                if stdin.is_some() { " <<(manifest on stdin)" } else { "" }
            )
        }
        Op::Confirm(what) => format!("[{i}/{n}] confirm: {what} (type the environment name; --yes skips)\n"),
        Op::CheckContext(ctx) => format!(
            "[{i}/{n}] check kube context {ctx}\n+ kubectl config view --minify --context {ctx} -o jsonpath={{.clusters[0].cluster.server}}\n"
        ),
        Op::Smoke(api) => {
            let mut t = format!("[{i}/{n}] smoke tests against {api}\n");
            for (name, argv) in smoke_commands(api) {
                let cmd: Vec<String> = argv.iter().map(|a| shell_quote(a)).collect();
                t.push_str(&format!("+ {}   # {name}\n", cmd.join(" ")));
            }
            t
        }
        Op::Note(note) => format!("[{i}/{n}] {}: {note}\n", s.name),
        Op::WriteFile { path, content } => format!(
            "[{i}/{n}] {}\n+ write {}:\n{}",
            s.name,
            path.display(),
            content.lines().map(|l| format!("    {l}\n")).collect::<String>()
        ),
    }
}

/// The plan as text: every step and every command, as `--dry-run` prints it.
pub fn describe(steps: &[Step]) -> String {
    let n = steps.len();
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| describe_step(i + 1, n, s))
        .collect()
}

fn confirm(env: &str, what: &str, yes: bool) -> Result<(), DeployError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(DeployError::Refused(format!(
            "{what} needs confirmation: re-run with --yes"
        )));
    }
    // on stderr: stdout stays the steps (or JSON) only
    eprint!("{what}: type the environment name ({env}) to continue: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    if line.trim() == env {
        Ok(())
    } else {
        Err(DeployError::Refused("not confirmed".into()))
    }
}

fn check_context(ctx: &str, env: &str) -> Result<(), DeployError> {
    let out = Command::new("kubectl")
        .args([
            "config",
            "view",
            "--minify",
            "--context",
            ctx,
            "-o",
            "jsonpath={.clusters[0].cluster.server}",
        ])
        .output()
        .map_err(|e| DeployError::Failed(format!("kubectl: {e}")))?;
    if !out.status.success() {
        return Err(DeployError::Failed(format!(
            "kube context {ctx} is not configured: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let server = String::from_utf8_lossy(&out.stdout).to_string();
    let local_server = ["127.0.0.1", "localhost", "[::1]", "0.0.0.0"]
        .iter()
        .any(|h| server.contains(h));
    if env != "local" && (local_server || is_local_context(ctx)) {
        return Err(DeployError::Refused(format!(
            "kube context {ctx} points at {server}, a local cluster; refusing to deploy {env} there"
        )));
    }
    if env == "local" && !local_server {
        return Err(DeployError::Refused(format!(
            "kube context {ctx} points at {server}, not a local Kind cluster"
        )));
    }
    Ok(())
}

fn curl_json(argv: &[String]) -> Result<Value, DeployError> {
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .output()
        .map_err(|e| DeployError::Failed(format!("curl: {e}")))?;
    let body = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return Err(DeployError::Failed(format!(
            "{} -> exit {}: {}{}",
            argv.last().map_or("", String::as_str),
            out.status,
            body,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

fn smoke(api: &str, log: &mut dyn Write) -> Result<(), DeployError> {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
        .to_string();
    let cmds = smoke_commands(api);
    let sub = |v: &[String], k: &str, x: &str| -> Vec<String> { v.iter().map(|a| a.replace(k, x)).collect() };
    let health = curl_json(&cmds[0].1)?;
    let _ = writeln!(log, "  health: {health}");
    let exp = curl_json(&sub(&cmds[1].1, "<timestamp>", &ts))?;
    let eid = exp["experiment_id"]
        .as_str()
        .ok_or_else(|| DeployError::Failed(format!("create experiment returned {exp}")))?
        .to_string();
    let _ = writeln!(log, "  experiment {eid} created");
    let run = curl_json(&sub(&sub(&cmds[2].1, "<experiment_id>", &eid), "<timestamp>", &ts))?;
    let rid = run["run"]["info"]["run_id"]
        .as_str()
        .ok_or_else(|| DeployError::Failed(format!("create run returned {run}")))?
        .to_string();
    curl_json(&sub(&sub(&cmds[3].1, "<run_id>", &rid), "<timestamp>", &ts))?;
    let got = curl_json(&sub(&cmds[4].1, "<run_id>", &rid))?;
    let ok = got["run"]["data"]["metrics"]
        .as_array()
        .is_some_and(|m| m.iter().any(|x| x["key"] == "smoke"));
    if !ok {
        return Err(DeployError::Failed(format!("metric not found in run {rid}: {got}")));
    }
    let _ = writeln!(log, "  run {rid}: metric logged and read back");
    let job = curl_json(&sub(&cmds[5].1, "<timestamp>", &ts))?;
    let jid = job["job"]["job_id"]
        .as_str()
        .ok_or_else(|| DeployError::Failed(format!("submit job returned {job}")))?
        .to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let got = curl_json(&sub(&cmds[6].1, "<job_id>", &jid))?;
        let state = got["job"]["state"].as_str().unwrap_or("").to_string();
        match state.as_str() {
            "SUCCEEDED" => break,
            "FAILED" | "CANCELLED" => return Err(DeployError::Failed(format!("smoke job {jid} ended {state}: {got}"))),
            _ if std::time::Instant::now() > deadline => {
                return Err(DeployError::Failed(format!(
                    "smoke job {jid} still {state} after 5 minutes"
                )));
            }
            _ => std::thread::sleep(std::time::Duration::from_secs(2)),
        }
    }
    let _ = writeln!(log, "  job {jid}: SUCCEEDED");
    Ok(())
}

/// How to execute a plan.
#[derive(Debug, Clone, Default)]
pub struct Exec {
    pub dry_run: bool,
    pub yes: bool,
    /// PATH for tool lookup and the commands (default: the process's PATH)
    pub path: Option<std::ffi::OsString>,
    /// extra environment for the commands
    pub env: Vec<(String, String)>,
    /// after each step, a line with its number and elapsed time (`mlp` sets it on a terminal)
    pub timings: bool,
    /// one JSON object per step and a summary instead of text; the commands' own output goes to
    /// stderr so stdout stays JSON lines
    pub json: bool,
}

fn argv_of(s: &Step) -> Option<&[String]> {
    match &s.op {
        Op::Run { argv, .. } => Some(argv),
        _ => None,
    }
}

fn json_step(i: usize, n: usize, s: &Step, status: &str, elapsed: Option<f64>, error: Option<&str>) -> String {
    let mut v = serde_json::json!({
        "step": i,
        "of": n,
        "name": s.name,
        "status": status,
    });
    if let Some(a) = argv_of(s) {
        v["command"] = serde_json::json!(a);
    }
    match &s.op {
        Op::Note(n) => v["note"] = serde_json::json!(n),
        Op::WriteFile { path, .. } => v["file"] = serde_json::json!(path.display().to_string()),
        Op::Smoke(api) => v["api"] = serde_json::json!(api),
        Op::Confirm(what) | Op::CheckContext(what) => v["what"] = serde_json::json!(what),
        Op::Run { .. } => {}
    }
    if let Some(e) = elapsed {
        v["elapsed_s"] = serde_json::json!((e * 10.0).round() / 10.0);
    }
    if let Some(e) = error {
        v["error"] = serde_json::json!(e);
    }
    v.to_string()
}

/// Print (dry run) or execute the steps, stopping at the first failure.
pub fn execute(steps: &[Step], env: &str, x: &Exec, out: &mut dyn Write) -> Result<(), DeployError> {
    let path = x.path.clone().or_else(|| std::env::var_os("PATH"));
    let missing: Vec<String> = required_tools(steps)
        .into_iter()
        .filter(|t| !on_path(t, path.as_deref()))
        .collect();
    if !missing.is_empty() && !x.dry_run {
        return Err(DeployError::Refused(format!(
            "required tool(s) not on PATH: {}",
            missing.join(", ")
        )));
    }
    let n = steps.len();
    if x.dry_run && !x.json {
        let _ = writeln!(out, "# dry run: {n} steps for {env}; nothing is executed");
        if !missing.is_empty() {
            let _ = writeln!(out, "# note: not on PATH here: {}", missing.join(", "));
        }
    }
    let started = std::time::Instant::now();
    for (i, s) in steps.iter().enumerate() {
        if x.json {
            if x.dry_run {
                let _ = writeln!(out, "{}", json_step(i + 1, n, s, "planned", None, None));
                continue;
            }
        } else {
            let _ = write!(out, "{}", describe_step(i + 1, n, s));
        }
        let _ = out.flush();
        if x.dry_run {
            continue;
        }
        let t = std::time::Instant::now();
        let r = run_step(i, n, s, env, x, path.as_deref(), out);
        let elapsed = t.elapsed().as_secs_f64();
        if x.json {
            let (status, err) = match &r {
                Ok(()) => ("ok", None),
                Err(e) => ("failed", Some(e.to_string())),
            };
            let _ = writeln!(out, "{}", json_step(i + 1, n, s, status, Some(elapsed), err.as_deref()));
        } else if x.timings && !matches!(s.op, Op::Note(_)) {
            let how = if r.is_ok() { "" } else { " failed after" };
            let _ = writeln!(out, "[{}/{n}] {} …{how} {elapsed:.1} s", i + 1, s.name);
        }
        let _ = out.flush();
        if let Err(e) = r {
            if x.json {
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::json!({"env": env, "steps": n, "completed": i, "status": "failed",
                        "elapsed_s": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0})
                );
            }
            return Err(e);
        }
    }
    let total = started.elapsed().as_secs_f64();
    if x.json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({"env": env, "steps": n, "completed": if x.dry_run { 0 } else { n },
                "status": if x.dry_run { "planned" } else { "ok" }, "elapsed_s": (total * 10.0).round() / 10.0})
        );
    } else if !x.dry_run {
        if x.timings {
            let _ = writeln!(out, "done: {n} steps for {env} in {total:.1} s");
        } else {
            let _ = writeln!(out, "done: {n} steps for {env}");
        }
    }
    Ok(())
}

fn run_step(
    i: usize,
    n: usize,
    s: &Step,
    env: &str,
    x: &Exec,
    path: Option<&std::ffi::OsStr>,
    out: &mut dyn Write,
) -> Result<(), DeployError> {
    match &s.op {
        Op::Run { argv, stdin } => {
            let mut cmd = Command::new(&argv[0]);
            cmd.args(&argv[1..]).env("TF_IN_AUTOMATION", "1");
            if let Some(p) = path {
                cmd.env("PATH", p);
            }
            for (k, v) in &x.env {
                cmd.env(k, v);
            }
            if stdin.is_some() {
                cmd.stdin(Stdio::piped());
            }
            if x.json {
                cmd.stdout(std::io::stderr());
            }
            let mut child = cmd.spawn().map_err(|e| {
                DeployError::Failed(format!(
                    "step {}/{n} ({}): cannot start {}: {e}",
                    i + 1,
                    s.name,
                    argv[0]
                ))
            })?;
            if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
                let _ = pipe.write_all(input.as_bytes());
            }
            let status = child.wait().map_err(|e| DeployError::Failed(e.to_string()))?;
            if !status.success() {
                return Err(DeployError::Failed(format!(
                    "step {}/{n} ({}) exited with {status}; its output is above",
                    i + 1,
                    s.name
                )));
            }
            Ok(())
        }
        Op::Confirm(what) => confirm(env, what, x.yes),
        Op::CheckContext(ctx) => check_context(ctx, env),
        Op::Smoke(api) => {
            let mut stderr = std::io::stderr();
            let log: &mut dyn Write = if x.json { &mut stderr } else { out };
            smoke(api, log).map_err(|e| DeployError::Failed(format!("step {}/{n} (smoke tests): {e}", i + 1)))
        }
        Op::Note(_) => Ok(()),
        Op::WriteFile { path, content } => {
            let written = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|_| std::fs::write(path, content));
            written
                .map_err(|e| DeployError::Failed(format!("step {}/{n} ({}): {}: {e}", i + 1, s.name, path.display())))
        }
    }
}

/// Resolve the tree a deploy works on.
pub fn layout_for(root: Option<&Path>) -> anyhow::Result<Layout> {
    match root {
        Some(r) => Layout::at(r),
        None => Layout::discover(&std::env::current_dir().context("no current directory")?),
    }
}

/// kind's local-registry pattern: map localhost:5001 to the registry container on every node.
fn registry_hosts_step(cluster: &str) -> Step {
    let script = format!(
        "for node in $(kind get nodes --name {cluster}); do \
         docker exec \"$node\" mkdir -p /etc/containerd/certs.d/localhost:5001 && \
         printf '[host.\"http://kind-registry:5000\"]\\n' | docker exec -i \"$node\" cp /dev/stdin /etc/containerd/certs.d/localhost:5001/hosts.toml; done"
    );
    Step {
        name: "local registry on every Kind node".into(),
        op: Op::Run {
            argv: vec!["sh".into(), "-c".into(), script],
            stdin: None,
        },
    }
}
