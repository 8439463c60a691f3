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

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A real `mlp infra deploy` (terraform on a provider-free root) under a pseudo-terminal: every
/// step ends with its number and elapsed time; piped, the same run prints no timings.
#[test]
fn infra_deploy_on_a_terminal_shows_numbered_steps_with_elapsed_time() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(
        &repo().join("crates/mlp-infra/tests/fixtures/deploy"),
        &tmp.path().join("tree"),
    );
    let root = tmp.path().join("tree");
    let run = |tty: bool| {
        let deploy = format!(
            "'{}' infra deploy local plan --root '{}'",
            env!("CARGO_BIN_EXE_mlp"),
            root.display()
        );
        let mut cmd = if tty {
            let mut c = Command::new("script");
            c.args(["-qfec", &deploy, "/dev/null"]);
            c
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", &deploy]);
            c
        };
        let out = cmd
            .env("TF_CLI_CONFIG_FILE", "/dev/null")
            .env("TF_DATA_DIR", tmp.path().join(".tf"))
            .env("CHECKPOINT_DISABLE", "1")
            .stdin(Stdio::null())
            .output()
            .expect("util-linux `script` and terraform");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).replace('\r', "")
    };
    let text = run(true);
    for step in ["[1/2] terraform init … ", "[2/2] terraform plan … "] {
        let line = text
            .lines()
            .find(|l| l.starts_with(step))
            .unwrap_or_else(|| panic!("no {step:?} line: {text}"));
        // A number of seconds with one decimal (a step of the fixture can take under 0.05 s).
        let secs = line[step.len()..].trim_end_matches(" s");
        assert!(
            secs.parse::<f64>().is_ok_and(|s| s >= 0.0) && secs.split_once('.').is_some_and(|(_, d)| d.len() == 1),
            "{line}"
        );
    }
    assert!(text.contains("done: 2 steps for local in "), "{text}");
    let piped = run(false);
    assert!(
        piped.contains("[2/2] terraform plan\n") && piped.contains("done: 2 steps for local\n"),
        "{piped}"
    );
    assert!(!piped.contains(" … "), "{piped}");
}
