//! The `mlp infra` subcommand: argument parsing and dispatch (the `mlp` binary only delegates).

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::check::{self, CheckOptions};
use crate::deploy::{self, Action, DeployError, DeployOptions};
use crate::layout::Layout;
use crate::model::{RULES, Severity};
use crate::output;
use crate::report;
use crate::tf::ModuleLib;

/// Check, report and deploy the platform's infrastructure (infrastructure/terraform,
/// infrastructure/kubernetes, infrastructure/policy).
#[derive(Debug, Args)]
#[command(after_help = "Docs: infrastructure/README.md (rules, suppressions, deploy flow).")]
pub struct InfraArgs {
    #[command(subcommand)]
    pub command: InfraCommand,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    #[value(alias = "text")]
    Table,
    Json,
    Sarif,
}

/// How `deploy` and `up` report their steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StepOutput {
    /// the steps and their commands; on a terminal also each step's elapsed time
    Text,
    /// one JSON object per step and a final summary on stdout (the commands' output on stderr)
    Json,
}

#[derive(Debug, Subcommand)]
pub enum InfraCommand {
    /// Render every overlay (kubectl kustomize), parse all Terraform and run the rule set.
    ///
    /// Exit status: 0 without errors (warnings are fine), 1 with errors, 2 if the check could not run.
    /// Suppress a finding only inline, with a reason: `# mlp-infra:ignore RULE-ID reason` in YAML/HCL
    /// (on or above the object/block), or the annotation `mlp.dev/ignore: "RULE-ID: reason"` on a
    /// Kubernetes object.
    Check {
        /// Repository root or any directory inside it (default: the current directory).
        path: Option<PathBuf>,
        /// table (alias text), json or sarif; `--output` is the same option.
        #[arg(long, visible_alias = "output", value_enum, default_value = "table")]
        format: Format,
        /// Print phase timings to stderr.
        #[arg(long)]
        timings: bool,
    },
    /// Print the environment comparison, parity differences and findings summary as Markdown.
    Report {
        /// Repository root or any directory inside it (default: the current directory).
        path: Option<PathBuf>,
        /// Compare with a committed file instead of printing; exit 1 if it differs.
        #[arg(long, value_name = "FILE")]
        check: Option<PathBuf>,
        /// Write the report to FILE.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Deploy one environment: terraform init/plan (saved plan), apply that plan after
    /// confirmation, then the Kubernetes overlay (kubectl apply -k, or an Argo CD sync for
    /// GitOps environments), rollouts, smoke tests, and the platform's own objects
    /// (terraform/platform with terraform-provider-mlp from beside mlp or TF_CLI_CONFIG_FILE).
    /// Stops at the first failing step.
    Deploy {
        /// local, dev, staging or prod
        env: String,
        #[arg(value_enum, default_value = "plan")]
        action: Action,
        /// Print every command instead of running it (needs no tools).
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation before apply/destroy.
        #[arg(long, short)]
        yes: bool,
        /// Stop after Terraform.
        #[arg(long)]
        skip_kubernetes: bool,
        /// Kube context of the environment's cluster (default mlp-ENV for EKS, kind-CLUSTER for local).
        #[arg(long)]
        context: Option<String>,
        /// Kube context of the cluster running Argo CD (default: the environment's own, where
        /// Terraform installs Argo CD and registers the cluster).
        #[arg(long, env = "MLP_INFRA_ARGOCD_CONTEXT")]
        argocd_context: Option<String>,
        /// Apply the overlay with kubectl even if Argo CD manages the environment.
        #[arg(long)]
        no_gitops: bool,
        /// Base URL of the API for the smoke tests (default from ingress_host in terraform.tfvars).
        #[arg(long)]
        api_url: Option<String>,
        #[arg(long, default_value = "5m")]
        rollout_timeout: String,
        /// Repository root (default: found from the current directory).
        #[arg(long)]
        root: Option<PathBuf>,
        /// text, or json: one object per step and a summary (machine-readable).
        #[arg(long, value_enum, default_value = "text")]
        output: StepOutput,
    },
    /// Bring up the local environment: registry, Kind cluster, ingress controller, images, overlay,
    /// smoke tests. Needs Docker, kind, kubectl, helm and curl; it has only been exercised with
    /// --dry-run (the CI machines have no Docker daemon).
    Up {
        /// only `local`
        env: String,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        api_url: Option<String>,
        #[arg(long, default_value = "5m")]
        rollout_timeout: String,
        #[arg(long)]
        root: Option<PathBuf>,
        /// text, or json: one object per step and a summary (machine-readable).
        #[arg(long, value_enum, default_value = "text")]
        output: StepOutput,
    },
    /// List the rules (id, severity, title, fix, Checkov checks covered).
    Rules,
}

fn layout(path: Option<PathBuf>) -> anyhow::Result<Layout> {
    let p = match path {
        Some(p) => p,
        None => std::env::current_dir()?,
    };
    Layout::discover(&p)
}

/// Run `mlp infra ...`; returns the process exit code.
pub fn run(args: InfraArgs) -> i32 {
    match run_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mlp infra: {e:#}");
            2
        }
    }
}

fn run_inner(args: InfraArgs) -> anyhow::Result<i32> {
    match args.command {
        InfraCommand::Check { path, format, timings } => {
            let l = layout(path)?;
            let t = std::time::Instant::now();
            let r = check::run(&l, &CheckOptions::default())?;
            let text = match format {
                Format::Table => output::table(&r, std::io::stdout().is_terminal()),
                Format::Json => output::json(&r),
                Format::Sarif => output::sarif(&r),
            };
            println!("{}", text.trim_end());
            if timings {
                for (name, d) in &r.timings {
                    eprintln!("timing: {name}: {:.3}s", d.as_secs_f64());
                }
                eprintln!("timing: total: {:.3}s", t.elapsed().as_secs_f64());
            }
            Ok(if r.count(Severity::Error) > 0 { 1 } else { 0 })
        }
        InfraCommand::Report { path, check, output } => {
            let l = layout(path)?;
            let md = report_markdown(&l)?;
            if let Some(f) = check {
                let committed = std::fs::read_to_string(&f).unwrap_or_default();
                if committed != md {
                    eprintln!(
                        "{} is out of date with infrastructure/: regenerate it with `mlp infra report -o {}`",
                        f.display(),
                        f.display()
                    );
                    for (i, (a, b)) in committed.lines().zip(md.lines()).enumerate() {
                        if a != b {
                            eprintln!("first difference at line {}:\n- {a}\n+ {b}", i + 1);
                            break;
                        }
                    }
                    return Ok(1);
                }
                println!("{} is up to date", f.display());
                return Ok(0);
            }
            match output {
                Some(f) => std::fs::write(&f, md)?,
                None => print!("{md}"),
            }
            Ok(0)
        }
        InfraCommand::Deploy {
            env,
            action,
            dry_run,
            yes,
            skip_kubernetes,
            context,
            argocd_context,
            no_gitops,
            api_url,
            rollout_timeout,
            root,
            output,
        } => {
            let l = deploy::layout_for(root.as_deref())?;
            let o = DeployOptions {
                env: env.clone(),
                action,
                dry_run,
                yes,
                skip_kubernetes,
                context,
                argocd_context,
                no_gitops,
                api_url,
                rollout_timeout,
                provider_dir: provider_beside_mlp(),
                tf_cli_config: std::env::var_os("TF_CLI_CONFIG_FILE").map(Into::into),
            };
            let x = deploy::Exec {
                dry_run,
                yes,
                ..exec_output(output)
            };
            let out = &mut std::io::stdout();
            Ok(finish(
                deploy::plan(&l, &o).and_then(|steps| deploy::execute(&steps, &env, &x, out)),
            ))
        }
        InfraCommand::Up {
            env,
            dry_run,
            api_url,
            rollout_timeout,
            root,
            output,
        } => {
            if env != "local" {
                return Ok(finish(Err(DeployError::Refused(format!(
                    "`up` only brings up local; use `mlp infra deploy {env} apply` for {env}"
                )))));
            }
            let l = deploy::layout_for(root.as_deref())?;
            let steps = deploy::plan_up_local(&l, api_url, &rollout_timeout);
            let x = deploy::Exec {
                dry_run,
                yes: true,
                ..exec_output(output)
            };
            Ok(finish(deploy::execute(&steps, "local", &x, &mut std::io::stdout())))
        }
        InfraCommand::Rules => {
            for r in RULES {
                println!(
                    "{:<8} {:<7} {}\n         fix: {}",
                    r.id,
                    r.severity.to_string(),
                    r.title,
                    r.fix
                );
                if !r.checkov.is_empty() {
                    println!("         covers: {}", r.checkov.join(", "));
                }
            }
            Ok(0)
        }
    }
}

/// Elapsed times only for a person at a terminal; JSON when asked for.
fn exec_output(output: StepOutput) -> deploy::Exec {
    deploy::Exec {
        json: output == StepOutput::Json,
        timings: output == StepOutput::Text && std::io::stdout().is_terminal(),
        ..Default::default()
    }
}

fn finish(r: Result<(), DeployError>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e @ DeployError::Refused(_)) => {
            eprintln!("mlp infra: {e}");
            2
        }
        Err(e) => {
            eprintln!("mlp infra: {e}");
            1
        }
    }
}

/// The report as committed in docs/environments.md.
pub fn report_markdown(l: &Layout) -> anyhow::Result<String> {
    let r = check::run(l, &CheckOptions::default())?;
    let lib = ModuleLib::load(l);
    Ok(report::markdown(l, &lib, &r))
}

/// The directory of this `mlp` binary when terraform-provider-mlp was built beside it.
fn provider_beside_mlp() -> Option<std::path::PathBuf> {
    let dir = std::env::current_exe().ok()?.parent()?.to_path_buf();
    dir.join("terraform-provider-mlp").is_file().then_some(dir)
}
