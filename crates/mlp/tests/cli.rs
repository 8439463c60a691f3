//! The CLI as a person and a script meet it: bare `mlp`, shell completions, and `mlp job submit
//! --wait` on a terminal (state changes and the job's output, live) and piped or with `--output
//! json` (nothing on stdout but the job id or one JSON document).

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn mlp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mlp"))
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn bare_mlp_lists_the_commands_with_examples() {
    let out = mlp().output().unwrap();
    // clap's "arg required" exit code: a script that forgot the subcommand must not see success.
    assert_eq!(out.status.code(), Some(2));
    let all = text(&out.stdout) + &text(&out.stderr);
    for command in ["server", "worker", "job", "infra", "completions"] {
        assert!(all.contains(&format!("  {command}")), "no `{command}` in:\n{all}");
    }
    assert!(all.contains("Examples:"), "{all}");
    assert!(all.contains("mlp job submit --wait"), "{all}");
}

#[test]
fn completions_for_each_shell_name_the_subcommands() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef mlp"),
        ("fish", "complete -c mlp"),
    ] {
        let out = mlp().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(marker), "{shell} script lacks {marker:?}");
        for sub in ["server", "submit", "check"] {
            assert!(script.contains(sub), "{shell} script lacks `{sub}`");
        }
    }
    let out = mlp().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "an unknown shell is a usage error");
    assert!(text(&out.stderr).contains("tcsh"));
}

/// A server with its embedded worker on a free loopback port, stopped on drop.
struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = mlp()
        .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
        .env("MLP__DATA_DIR", dir.path())
        .env("MLP__METRICS__PORT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Server { child, url, _dir: dir }
}

/// `mlp job submit --wait` with a job that prints to both streams across log copies (the worker
/// copies logs every 2 s), so a live tail has to pick up output that arrives while it waits.
fn submit(server: &Server, extra: &[&str], script: &str) -> Command {
    let mut cmd = mlp();
    cmd.args([
        "job",
        "submit",
        "--server",
        &server.url,
        "--name",
        "cli-wait",
        "--kind",
        "training",
    ])
    .args(extra)
    .args(["--wait", "--", "sh", "-c", script])
    .env_remove("MLP_TOKEN")
    .env_remove("MLFLOW_TRACKING_URI");
    cmd
}

const TALKATIVE: &str = "echo first-out; echo first-err >&2; sleep 3; echo second-out";

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().unwrap()
}

#[test]
fn wait_piped_prints_only_the_job_id_on_stdout() {
    let server = server();
    let out = run(&mut submit(&server, &[], TALKATIVE));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let id = stdout.trim();
    assert_eq!(stdout, format!("{id}\n"), "stdout holds the job id alone");
    assert!(!id.is_empty() && !id.contains(' '));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("job {id}: SUCCEEDED")), "{stderr}");
    // No live tail when piped: the job's output is for `mlp job logs`.
    assert!(!stderr.contains("first-out"), "{stderr}");
}

#[test]
fn wait_with_json_output_prints_one_json_document_of_the_final_job() {
    let server = server();
    let out = run(&mut submit(&server, &["--output", "json"], TALKATIVE));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let job: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", text(&out.stdout)));
    assert_eq!(job["state"], "SUCCEEDED");
    assert_eq!(job["name"], "cli-wait");
    assert!(job["job_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(
        text(&out.stderr).trim().is_empty(),
        "json mode prints no progress: {}",
        text(&out.stderr)
    );

    let failed = run(&mut submit(&server, &["--output", "json"], "exit 3"));
    assert!(!failed.status.success(), "a failed job fails the command");
    let job: serde_json::Value = serde_json::from_slice(&failed.stdout).unwrap();
    assert_eq!(job["state"], "FAILED");
    assert!(
        text(&failed.stderr).contains("ended FAILED"),
        "{}",
        text(&failed.stderr)
    );
}

#[test]
fn wait_on_a_terminal_shows_state_changes_and_the_output_live() {
    let server = server();
    let cmd = submit(&server, &[], TALKATIVE);
    // Quote each argument for `sh -c`, as `script -c` runs its command through a shell.
    let line: Vec<String> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy().replace('\'', r"'\''")))
        .collect();
    let out = Command::new("script")
        .args([
            "-qfec",
            &format!("env -u MLP_TOKEN -u MLFLOW_TRACKING_URI {}", line.join(" ")),
            "/dev/null",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("util-linux `script` gives the CLI a pseudo-terminal");
    let all = text(&out.stdout).replace('\r', "");
    assert!(out.status.success(), "{all}");
    let at = |needle: &str| all.find(needle).unwrap_or_else(|| panic!("no {needle:?} in:\n{all}"));
    let running = at(": RUNNING");
    let succeeded = at(": SUCCEEDED");
    // The job's output on both streams, including what it printed seconds after starting, shown
    // before the final state.
    for printed in ["first-out", "first-err", "second-out"] {
        let i = at(printed);
        assert!(i < succeeded, "{printed} shown after the end:\n{all}");
    }
    assert!(running < at("second-out"), "{all}");
    assert!(all.contains("s] job "), "state lines carry the elapsed time:\n{all}");
}
