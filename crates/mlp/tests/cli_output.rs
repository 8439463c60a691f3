//! Output habits of the real binary: a reader that stops early (`mlp infra rules | head -1`)
//! does not make `mlp` panic, and `mlp infra check` / `deploy` are machine-readable when asked
//! (`--output json`) and plain when piped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn mlp(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_closed_stdout_ends_quietly() {
    for args in [&["infra", "rules"][..], &["completions", "bash"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mlp"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // close the read end before mlp writes anything: its first write fails with EPIPE
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.trim().is_empty(), "{args:?}: nothing on stderr: {stderr}");
        assert_eq!(out.status.code(), Some(141), "{args:?}: the SIGPIPE status");
    }
}

#[test]
fn infra_check_output_json_and_the_piped_summary() {
    let good = repo().join("crates/mlp-infra/tests/fixtures/good");
    let good = good.to_str().unwrap();
    let mut summaries = Vec::new();
    for flag in ["--output", "--format"] {
        let out = mlp(&["infra", "check", good, flag, "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
        assert_eq!(j["summary"]["errors"], 0);
        summaries.push(j["summary"].clone());
    }
    assert_eq!(summaries[0], summaries[1], "--output and --format are the same option");
    // piped: no colours, and the last line is the summary with the counts
    let out = mlp(&["infra", "check", good]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b'), "{text}");
    let last = text.lines().last().unwrap();
    assert!(
        last.starts_with("0 error(s), 0 warning(s), 0 suppressed; environments checked: dev, prod"),
        "{last}"
    );
}

#[test]
fn infra_deploy_output_json_is_one_object_per_step() {
    let out = mlp(&["infra", "deploy", "dev", "apply", "--dry-run", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let (summary, steps) = lines.split_last().unwrap();
    assert_eq!(summary["status"], "planned");
    assert_eq!(summary["steps"].as_u64().unwrap() as usize, steps.len());
    for (i, s) in steps.iter().enumerate() {
        assert_eq!(s["step"].as_u64().unwrap() as usize, i + 1);
        assert_eq!(s["of"], summary["steps"]);
        assert_eq!(s["status"], "planned");
    }
    assert_eq!(steps[0]["name"], "terraform init");
    assert_eq!(steps[0]["command"][0], "terraform");
    // piped text: the numbered steps, no elapsed times (nothing ran), no JSON
    let out = mlp(&["infra", "deploy", "dev", "plan", "--dry-run"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("# dry run: 2 steps for dev"), "{text}");
    assert!(
        text.contains("[1/2] terraform init\n") && !text.contains(" s\n[2/2]"),
        "{text}"
    );
}
