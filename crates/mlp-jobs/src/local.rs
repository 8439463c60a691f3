//! The local executor: each shard is a process in its own process group, stopped as a group
//! (SIGTERM, then SIGKILL after a grace period) on timeout or cancel. Its stdout and stderr go
//! to files that are copied to the run's artifacts while it runs and when it ends.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mlp_artifacts::ArtifactStore;
use mlp_core::jobs::{Job, JobState, Outcome};
use tokio_util::sync::CancellationToken;

use crate::{Attempt, Executor};

pub struct LocalExecutor {
    /// Where attempt logs are written before they are copied to the artifact store.
    pub work_dir: PathBuf,
    /// The working directory of the processes.
    pub cwd: Option<PathBuf>,
    pub grace: Duration,
    pub artifacts: Arc<dyn ArtifactStore>,
    pub log_flush_every: Duration,
}

enum End {
    Exited(Option<i32>),
    TimedOut,
    Cancelled,
    SpawnFailed(String),
}

fn signal_group(pid: u32, sig: i32) {
    // The child leads its own process group (process_group(0)), so -pid reaches everything it
    // started.
    unsafe {
        libc::kill(-(pid as i32), sig);
    }
}

async fn copy_logs(artifacts: &dyn ArtifactStore, files: &[(PathBuf, String)]) {
    for (local, remote) in files {
        match tokio::fs::File::open(local).await {
            Ok(f) => {
                let body = Box::pin(tokio_util::io::ReaderStream::new(f));
                if let Err(e) = artifacts.put(remote, body).await {
                    tracing::warn!(path = remote, error = %e, "cannot copy job log to the artifact store");
                }
            }
            Err(e) => tracing::debug!(path = %local.display(), error = %e, "no log file yet"),
        }
    }
}

impl LocalExecutor {
    async fn run_shard(
        &self,
        job: &Job,
        attempt: &Attempt,
        shard: u32,
        dir: &std::path::Path,
        cancel: CancellationToken,
    ) -> End {
        let spec = &job.spec;
        if let Err(e) = tokio::fs::create_dir_all(dir).await {
            return End::SpawnFailed(format!("cannot create {}: {e}", dir.display()));
        }
        let open = |name: &str| std::fs::File::create(dir.join(name));
        let (stdout, stderr) = match (open("stdout.log"), open("stderr.log")) {
            (Ok(o), Ok(e)) => (o, e),
            (Err(e), _) | (_, Err(e)) => return End::SpawnFailed(format!("cannot create log files: {e}")),
        };
        let mut cmd = tokio::process::Command::new(&spec.command[0]);
        cmd.args(&spec.command[1..])
            .envs(&spec.env)
            .envs(&attempt.env)
            .env("MLP_SHARD_INDEX", shard.to_string())
            .env("MLP_SHARD_COUNT", spec.shards.max(1).to_string())
            .env("JOB_COMPLETION_INDEX", shard.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr))
            .process_group(0)
            .kill_on_drop(true);
        if let Some(cwd) = &self.cwd {
            cmd.current_dir(cwd);
        }
        // If the worker dies without stopping the job (SIGKILL, OOM), the kernel kills the
        // job's process too, so the worker that takes the job over never runs it twice at once.
        #[cfg(target_os = "linux")]
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return End::SpawnFailed(format!("cannot start '{}': {e}", spec.command[0])),
        };
        let pid = child.id().unwrap_or(0);
        let timeout = tokio::time::sleep(Duration::from_secs(spec.timeout_seconds));
        let end = tokio::select! {
            status = child.wait() => return End::Exited(status.ok().and_then(|s| s.code().or_else(|| {
                use std::os::unix::process::ExitStatusExt;
                s.signal().map(|sig| 128 + sig)
            }))),
            _ = timeout => End::TimedOut,
            _ = cancel.cancelled() => End::Cancelled,
        };
        signal_group(pid, libc::SIGTERM);
        if tokio::time::timeout(self.grace, child.wait()).await.is_err() {
            signal_group(pid, libc::SIGKILL);
            let _ = child.wait().await;
        } else {
            // The leader is gone; make sure nothing it left behind survives.
            signal_group(pid, libc::SIGKILL);
        }
        end
    }
}

#[async_trait]
impl Executor for LocalExecutor {
    async fn run(&self, job: &Job, attempt: &Attempt, cancel: CancellationToken) -> Outcome {
        let shards = job.spec.shards.max(1);
        let base = self
            .work_dir
            .join(&job.job_id)
            .join(format!("attempt-{}", attempt.number));
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for shard in 0..shards {
            let (dir, remote) = if shards == 1 {
                (base.clone(), attempt.log_prefix.clone())
            } else {
                (
                    base.join(format!("shard-{shard}")),
                    format!("{}/shard-{shard}", attempt.log_prefix),
                )
            };
            for stream in ["stdout", "stderr"] {
                files.push((dir.join(format!("{stream}.log")), format!("{remote}/{stream}.log")));
            }
            dirs.push(dir);
        }
        // A failed shard stops the others: the job has failed either way.
        let stop_all = cancel.child_token();
        let flusher = {
            let artifacts = self.artifacts.clone();
            let files = files.clone();
            let every = self.log_flush_every;
            let done = stop_all.clone();
            let finished = CancellationToken::new();
            let finished2 = finished.clone();
            let handle = tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(every) => copy_logs(&*artifacts, &files).await,
                        _ = finished2.cancelled() => break,
                    }
                }
                let _ = done;
            });
            (handle, finished)
        };
        let runs = dirs.iter().enumerate().map(|(i, dir)| {
            let token = stop_all.clone();
            async move {
                let end = self.run_shard(job, attempt, i as u32, dir, token.clone()).await;
                if !matches!(end, End::Exited(Some(0))) {
                    token.cancel();
                }
                end
            }
        });
        let ends = futures_util::future::join_all(runs).await;
        flusher.1.cancel();
        let _ = flusher.0.await;
        copy_logs(&*self.artifacts, &files).await;

        if cancel.is_cancelled() {
            return Outcome {
                state: JobState::Cancelled,
                exit_code: None,
                reason: Some("cancelled".into()),
            };
        }
        let mut first_failure = None;
        for (i, end) in ends.into_iter().enumerate() {
            let failure = match end {
                End::Exited(Some(0)) => continue,
                End::Exited(code) => Outcome {
                    state: JobState::Failed,
                    exit_code: code,
                    reason: Some(if shards > 1 {
                        format!(
                            "shard {i} exited with {}",
                            code.map(|c| c.to_string()).unwrap_or("a signal".into())
                        )
                    } else {
                        format!(
                            "exited with {}",
                            code.map(|c| c.to_string()).unwrap_or("a signal".into())
                        )
                    }),
                },
                End::TimedOut => Outcome {
                    state: JobState::Failed,
                    exit_code: None,
                    reason: Some(format!("timed out after {}s", job.spec.timeout_seconds)),
                },
                End::SpawnFailed(m) => Outcome {
                    state: JobState::Failed,
                    exit_code: None,
                    reason: Some(m),
                },
                // Stopped because another shard failed.
                End::Cancelled => continue,
            };
            if first_failure.is_none() || matches!(failure.reason.as_deref(), Some(r) if r.starts_with("timed out")) {
                first_failure = Some(failure);
            }
        }
        first_failure.unwrap_or(Outcome {
            state: JobState::Succeeded,
            exit_code: Some(0),
            reason: None,
        })
    }

    fn describe(&self) -> String {
        "local processes".into()
    }
}
