//! `mlp sweep …`: hyperparameter sweeps on a running server, over its HTTP API.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use mlp_core::sweeps::SweepSpec;
use serde_json::Value;

use crate::jobs::{api_client, call, server_url};

#[derive(Args)]
pub struct SweepArgs {
    /// The platform's URL (also MLP_SERVER, or MLFLOW_TRACKING_URI).
    #[arg(long, global = true, env = "MLP_SERVER")]
    server: Option<String>,
    #[command(subcommand)]
    command: SweepCommand,
}

#[derive(Subcommand)]
enum SweepCommand {
    /// Create a sweep from a spec file: `mlp sweep submit --file examples/sweep_sklearn.yaml --wait`.
    Submit {
        /// The sweep spec, YAML (.yaml/.yml) or JSON; the flags below override its fields.
        #[arg(long, short)]
        file: PathBuf,
        #[arg(long)]
        name: Option<String>,
        /// Experiment of the parent run and the trials (created if missing).
        #[arg(long)]
        experiment: Option<String>,
        #[arg(long)]
        max_trials: Option<u32>,
        #[arg(long)]
        parallelism: Option<u32>,
        /// Wait for the sweep to end (progress on a terminal) and exit non-zero unless it succeeded.
        #[arg(long)]
        wait: bool,
    },
    /// List sweeps, newest first.
    List {
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        max_results: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show a sweep and its trials as JSON.
    Get { sweep_id: String },
    /// Cancel a sweep: every running trial is cancelled and no more are started.
    Cancel { sweep_id: String },
}

pub async fn run(args: SweepArgs) -> anyhow::Result<()> {
    let base = server_url(args.server);
    let http = api_client()?;
    match args.command {
        SweepCommand::Submit {
            file,
            name,
            experiment,
            max_trials,
            parallelism,
            wait,
        } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let yaml = file
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
            let parsed = if yaml {
                serde_norway::from_str::<SweepSpec>(&text).map_err(anyhow::Error::from)
            } else {
                serde_json::from_str::<SweepSpec>(&text).map_err(anyhow::Error::from)
            };
            let mut spec = parsed.with_context(|| format!("{} is not a valid sweep spec", file.display()))?;
            if let Some(n) = name {
                spec.name = n;
            }
            if experiment.is_some() {
                spec.experiment_name = experiment;
            }
            if max_trials.is_some() {
                spec.budget.max_trials = max_trials;
            }
            if let Some(p) = parallelism {
                spec.budget.parallelism = p;
            }
            // The server validates too; checking here gives the same message without a round trip.
            spec.clone().validate().map_err(|e| anyhow::anyhow!("{}", e.message))?;
            let resp: Value = call(http.post(format!("{base}/api/v1/sweeps")).json(&spec))
                .await?
                .json()
                .await?;
            let sweep_id = resp["sweep"]["sweep_id"].as_str().unwrap_or("").to_string();
            println!("{sweep_id}");
            if wait {
                let state = wait_for(&http, &base, &sweep_id).await?;
                if state != "SUCCEEDED" {
                    bail!("sweep {sweep_id} ended {state}");
                }
            }
        }
        SweepCommand::List {
            state,
            max_results,
            json,
        } => {
            let mut q = vec![("max_results", max_results.to_string())];
            if let Some(s) = state {
                q.push(("state", s));
            }
            let resp: Value = call(http.get(format!("{base}/api/v1/sweeps")).query(&q))
                .await?
                .json()
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&resp["sweeps"])?);
            } else {
                println!(
                    "{:<36} {:<24} {:<10} {:>6}  {:<12} BEST",
                    "SWEEP", "NAME", "STATE", "TRIALS", "OBJECTIVE"
                );
                for s in resp["sweeps"].as_array().into_iter().flatten() {
                    let best = match (&s["best_trial"], &s["best_value"]) {
                        (Value::Number(t), Value::Number(v)) => format!("{v} (trial {t})"),
                        _ => String::new(),
                    };
                    println!(
                        "{:<36} {:<24} {:<10} {:>6}  {:<12} {}",
                        s["sweep_id"].as_str().unwrap_or(""),
                        s["spec"]["name"].as_str().unwrap_or(""),
                        s["state"].as_str().unwrap_or(""),
                        s["spec"]["budget"]["max_trials"],
                        s["spec"]["objective"]["metric"].as_str().unwrap_or(""),
                        best
                    );
                }
            }
        }
        SweepCommand::Get { sweep_id } => {
            let resp: Value = call(http.get(format!("{base}/api/v1/sweeps/{sweep_id}")))
                .await?
                .json()
                .await?;
            println!("{}", serde_json::to_string_pretty(&resp)?);
        }
        SweepCommand::Cancel { sweep_id } => {
            let resp: Value = call(
                http.post(format!("{base}/api/v1/sweeps/{sweep_id}/cancel"))
                    .json(&serde_json::json!({})),
            )
            .await?
            .json()
            .await?;
            let s = &resp["sweep"];
            let state = match (s["state"].as_str(), s["cancel_requested"].as_bool()) {
                (Some("RUNNING"), Some(true)) => "CANCELLING",
                (Some(st), _) => st,
                _ => "",
            };
            println!("{sweep_id} {state}");
        }
    }
    Ok(())
}

/// One line of progress: trials launched, running, ended, early-stopped, and the best so far.
pub(crate) fn progress(resp: &Value) -> String {
    let sweep = &resp["sweep"];
    let trials = resp["trials"].as_array().cloned().unwrap_or_default();
    let total = sweep["spec"]["budget"]["max_trials"].as_u64().unwrap_or(0);
    let count = |f: &dyn Fn(&Value) -> bool| trials.iter().filter(|t| f(t)).count();
    let running = count(&|t| t["state"] == "RUNNING");
    let ended = count(&|t| matches!(t["state"].as_str(), Some("SUCCEEDED" | "FAILED" | "CANCELLED")));
    let stopped = count(&|t| t["early_stopped"] == true);
    let maximize = sweep["spec"]["objective"]["direction"] == "maximize";
    let best = trials
        .iter()
        .filter(|t| t["early_stopped"] != true)
        .filter_map(|t| Some((t["index"].as_u64()?, t["objective"].as_f64()?)))
        .fold(None::<(u64, f64)>, |b, (i, v)| match b {
            Some((_, bv)) if (maximize && bv >= v) || (!maximize && bv <= v) => b,
            _ => Some((i, v)),
        });
    let state = sweep["state"].as_str().unwrap_or("");
    let mut line = format!(
        "{state}: {}/{total} trials started, {running} running, {ended} ended, {stopped} stopped early",
        trials.len()
    );
    if let Some((i, v)) = best {
        line.push_str(&format!(", best {v} (trial {i})"));
    }
    line
}

/// Polls until the sweep ends; on a terminal each change of progress is printed as it happens.
async fn wait_for(http: &reqwest::Client, base: &str, sweep_id: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    let live = std::io::stderr().is_terminal();
    let start = std::time::Instant::now();
    let mut last = String::new();
    loop {
        let resp: Value = call(http.get(format!("{base}/api/v1/sweeps/{sweep_id}")))
            .await?
            .json()
            .await?;
        let state = resp["sweep"]["state"].as_str().unwrap_or("").to_string();
        let done = state != "RUNNING";
        let line = progress(&resp);
        if (live && line != last) || (done && !live) {
            eprintln!("[{:6.1}s] sweep {sweep_id}: {line}", start.elapsed().as_secs_f64());
            last = line;
        }
        if done {
            return Ok(state);
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn progress_counts_trials_and_skips_stopped_ones_for_the_best() {
        let resp = json!({
            "sweep": {"state": "RUNNING", "spec": {"budget": {"max_trials": 8}, "objective": {"direction": "minimize"}}},
            "trials": [
                {"index": 0, "state": "SUCCEEDED", "objective": 0.5, "early_stopped": false},
                {"index": 1, "state": "CANCELLED", "objective": 0.1, "early_stopped": true},
                {"index": 2, "state": "RUNNING", "objective": 0.7, "early_stopped": false},
            ],
        });
        assert_eq!(
            super::progress(&resp),
            "RUNNING: 3/8 trials started, 1 running, 2 ended, 1 stopped early, best 0.5 (trial 0)"
        );
    }
}
