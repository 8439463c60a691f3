//! `data-profile`: see the crate docs and examples/README.md.
//!
//!     data-profile --input examples/data/transactions.csv \
//!         --schema examples/data/transactions.schema.json [--experiment data-profile]
//!
//! As a platform job it joins the job's run (MLFLOW_RUN_ID) on MLFLOW_TRACKING_URI and, with
//! MLP_SHARD_INDEX / MLP_SHARD_COUNT, processes only its shard.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use data_profile::process::{Format, Processed, Shard, process};
use data_profile::schema::Schema;
use data_profile::tracking::{Mlflow, proxied_root};
use serde_json::{Value, json};

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Csv,
    Jsonl,
}

#[derive(Parser)]
#[command(
    name = "data-profile",
    about = "Validate a CSV dataset against a schema, profile it, and log it to an MLflow run"
)]
struct Args {
    /// The CSV file to process (with a header line).
    #[arg(long)]
    input: PathBuf,
    /// The schema: a JSON file, or inline JSON starting with '{'.
    #[arg(long)]
    schema: String,
    /// Dataset name (default: the schema's "name", else the input's file stem).
    #[arg(long)]
    name: Option<String>,
    /// Format of the cleaned output.
    #[arg(long, value_enum, default_value = "csv")]
    format: OutputFormat,
    /// Artifact directory for the outputs inside the run (default: the run's root;
    /// shards add shard-<i>/).
    #[arg(long, default_value = "")]
    artifact_dir: String,
    /// Also write the outputs to this local directory.
    #[arg(long)]
    output_dir: Option<PathBuf>,
    #[arg(long, env = "MLFLOW_TRACKING_URI", default_value = "http://127.0.0.1:8000")]
    tracking_uri: String,
    /// The run to log into; without it a run is created in --experiment.
    #[arg(long, env = "MLFLOW_RUN_ID")]
    run_id: Option<String>,
    /// Experiment of the run created when there is no MLFLOW_RUN_ID.
    #[arg(long, default_value = "data-profile")]
    experiment: String,
    #[arg(long, env = "MLP_SHARD_INDEX")]
    shard_index: Option<u32>,
    #[arg(long, env = "MLP_SHARD_COUNT")]
    shard_count: Option<u32>,
    /// Do not talk to a tracking server (print and --output-dir only).
    #[arg(long)]
    no_tracking: bool,
    /// Exit with status 3 when more than this fraction of the rows is rejected.
    #[arg(long, default_value_t = 1.0)]
    max_rejected_fraction: f64,
}

struct Outputs {
    files: Vec<(String, Vec<u8>, &'static str)>,
}

fn outputs(p: &Processed, format: Format) -> anyhow::Result<Outputs> {
    Ok(Outputs {
        files: vec![
            (
                format!("cleaned.{}", format.extension()),
                p.cleaned.clone().into_bytes(),
                format.content_type(),
            ),
            (
                "rejected.jsonl".into(),
                p.rejected.clone().into_bytes(),
                "application/x-ndjson",
            ),
            (
                "profile.json".into(),
                serde_json::to_vec_pretty(&p.profile)?,
                "application/json",
            ),
        ],
    })
}

fn join(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let t0 = Instant::now();
    let shard = Shard::from_parts(args.shard_index, args.shard_count)?;
    let format = match args.format {
        OutputFormat::Csv => Format::Csv,
        OutputFormat::Jsonl => Format::Jsonl,
    };
    if !(0.0..=1.0).contains(&args.max_rejected_fraction) {
        bail!("--max-rejected-fraction must be between 0 and 1");
    }
    let schema = Schema::load(&args.schema)?;
    let bytes = std::fs::read(&args.input).with_context(|| format!("cannot read {}", args.input.display()))?;
    let text = String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", args.input.display()))?;
    let name = args
        .name
        .clone()
        .or_else(|| schema.name.clone())
        .or_else(|| args.input.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "dataset".into());

    let p = process(&text, &schema, shard, format, &name)?;
    println!(
        "{name} shard {}/{}: {} rows processed, {} rejected, {} bytes, digest {}",
        shard.index, shard.count, p.rows_processed, p.rows_rejected, p.bytes_processed, p.digest
    );
    for (reason, n) in p.profile["rejections"].as_object().into_iter().flatten() {
        println!("  rejected {n:>5}  {reason}");
    }
    let out = outputs(&p, format)?;
    let dir = if shard.is_sharded() {
        join(&[&args.artifact_dir, &format!("shard-{}", shard.index)])
    } else {
        join(&[&args.artifact_dir])
    };
    let paths: Vec<String> = out.files.iter().map(|(f, _, _)| join(&[&dir, f])).collect();

    if let Some(local) = &args.output_dir {
        for ((_, body, _), path) in out.files.iter().zip(&paths) {
            let target = local.join(path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(&target, body).with_context(|| format!("cannot write {}", target.display()))?;
        }
        println!("wrote {} file(s) under {}", paths.len(), local.display());
    }

    let mut summary = json!({
        "dataset": name,
        "digest": p.digest,
        "shard": {"index": shard.index, "count": shard.count},
        "rows_processed": p.rows_processed,
        "rows_rejected": p.rows_rejected,
        "bytes_processed": p.bytes_processed,
        "artifacts": paths,
    });
    if !args.no_tracking {
        let client = Mlflow::new(&args.tracking_uri)?;
        let (run_id, own) = match args.run_id.clone().filter(|r| !r.is_empty()) {
            Some(id) => (id, false),
            None => {
                let exp = client.experiment_id(&args.experiment).await?;
                let run = client
                    .create_run(
                        &exp,
                        &format!("data-profile-{name}"),
                        &[("mlflow.source.type", "LOCAL")],
                    )
                    .await?;
                let id = run["info"]["run_id"]
                    .as_str()
                    .context("runs/create answered no run_id")?;
                (id.to_string(), true)
            }
        };
        println!("logging to run {run_id} on {}", args.tracking_uri);
        let logged = log_to_run(&client, &run_id, &args, &schema, &name, shard, &p, &out, &paths, t0).await;
        if own {
            let status = if logged.is_ok() { "FINISHED" } else { "FAILED" };
            client.end_run(&run_id, status).await?;
        }
        logged?;
        summary["run_id"] = json!(run_id);
    }
    summary["duration_seconds"] = json!(t0.elapsed().as_secs_f64());
    println!("{summary}");
    let fraction = if p.rows_processed == 0 {
        0.0
    } else {
        p.rows_rejected as f64 / p.rows_processed as f64
    };
    if fraction > args.max_rejected_fraction {
        eprintln!(
            "data-profile: {:.1}% of the rows were rejected, above --max-rejected-fraction {}",
            fraction * 100.0,
            args.max_rejected_fraction
        );
        std::process::exit(3);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn log_to_run(
    client: &Mlflow,
    run_id: &str,
    args: &Args,
    schema: &Schema,
    name: &str,
    shard: Shard,
    p: &Processed,
    out: &Outputs,
    paths: &[String],
    t0: Instant,
) -> anyhow::Result<()> {
    let run = client.get_run(run_id).await?;
    let artifact_uri = run["info"]["artifact_uri"]
        .as_str()
        .context("runs/get answered no artifact_uri")?;
    let root = proxied_root(artifact_uri)?;
    for ((_, body, content_type), path) in out.files.iter().zip(paths) {
        client.put_artifact(&root, path, body.clone(), content_type).await?;
    }

    let input = std::fs::canonicalize(&args.input).unwrap_or_else(|_| args.input.clone());
    let schema_param = if args.schema.trim_start().starts_with('{') {
        "(inline)".to_string()
    } else {
        args.schema.clone()
    };
    let sfx = shard.suffix();
    let params = vec![
        ("input".to_string(), args.input.display().to_string()),
        ("schema".to_string(), schema_param),
        ("dataset".to_string(), name.to_string()),
        (
            "output_format".to_string(),
            Path::new(&paths[0])
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
        ("shard_count".to_string(), shard.count.to_string()),
    ];
    let metrics = vec![
        (format!("rows_processed{sfx}"), p.rows_processed as f64),
        (format!("rows_rejected{sfx}"), p.rows_rejected as f64),
        (format!("rows_valid{sfx}"), (p.rows_processed - p.rows_rejected) as f64),
        (format!("bytes_processed{sfx}"), p.bytes_processed as f64),
        (format!("duration_seconds{sfx}"), t0.elapsed().as_secs_f64()),
    ];
    client.log_batch(run_id, &params, &metrics).await?;

    let source = json!({"uri": format!("file://{}", input.display())}).to_string();
    let dataset = json!({
        "name": name,
        "digest": p.digest,
        "source_type": "local",
        "source": source,
        "schema": schema.mlflow_colspec().to_string(),
        "profile": p.profile.to_string(),
    });
    let shard_tag = format!("{}/{}", shard.index, shard.count);
    let mut tags = vec![("mlflow.data.context", "processing")];
    if shard.is_sharded() {
        tags.push(("mlp.shard", shard_tag.as_str()));
    }
    client.log_dataset(run_id, dataset, &tags).await?;

    if shard.is_sharded() {
        log_totals(client, run_id, shard.count).await?;
    }
    Ok(())
}

/// Once every shard has logged its metrics, the totals: each shard logs its own and then looks,
/// so the last one to finish always sees them all (two finishing together both log the same).
async fn log_totals(client: &Mlflow, run_id: &str, count: u32) -> anyhow::Result<()> {
    let run = client.get_run(run_id).await?;
    let metrics: Vec<(String, f64)> = run["data"]["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m: &Value| Some((m["key"].as_str()?.to_string(), m["value"].as_f64()?)))
        .collect();
    let mut totals = Vec::new();
    for key in ["rows_processed", "rows_rejected", "rows_valid", "bytes_processed"] {
        let mut sum = 0.0;
        for i in 0..count {
            let k = format!("{key}_shard_{i}");
            match metrics.iter().find(|(m, _)| *m == k) {
                Some((_, v)) => sum += v,
                None => return Ok(()),
            }
        }
        totals.push((key.to_string(), sum));
    }
    println!("all {count} shards done: logging totals");
    client.log_batch(run_id, &[], &totals).await
}
