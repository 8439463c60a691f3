//! The local executor: each shard is a process in its own process group, stopped as a group
//! (SIGTERM, then SIGKILL after a grace period) on timeout or cancel. Its stdout and stderr go
//! to files that are copied to the run's artifacts while it runs and when it ends.
//!
//! A distributed training job is replicas × processes_per_replica such processes on loopback,
//! one per rank, with the rendezvous environment of `torch.distributed` and a fresh
//! `MASTER_PORT` per attempt. They are one gang: the first rank to fail (or time out) stops
//! all the others, and the attempt fails as a whole, so a retry starts a whole new group.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mlp_artifacts::ArtifactStore;
use mlp_core::jobs::{Job, JobState, Outcome};
use tokio_util::sync::CancellationToken;

use crate::{Attempt, Executor};

/// What a job takes from the worker's own environment: what a program needs to find itself
/// and its locale. Nothing else of it reaches a job: the worker's environment holds the
/// platform's secrets (`MLP__DATABASE__URL` with its password, S3 and Redis credentials), and a
/// job's logs are readable by anyone who can read its run.
pub const INHERITED_ENV: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"];

/// PATH for a worker that has none, so that `sh`, `python` and friends are still found.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

pub struct LocalExecutor {
    /// Where attempt logs are written before they are copied to the artifact store.
    pub work_dir: PathBuf,
    /// The working directory of the processes.
    pub cwd: Option<PathBuf>,
    pub grace: Duration,
    pub artifacts: Arc<dyn ArtifactStore>,
    pub log_flush_every: Duration,
    /// The worker environment [`INHERITED_ENV`] is taken from; `None` for this process's. Lets
    /// a test stand in a worker's environment without changing its own process's.
    pub worker_env: Option<BTreeMap<OsString, OsString>>,
}

/// A job's whole environment, in the order that decides who wins: the allow-listed part of the
/// worker's, then the job's own `env` (which may set its PATH or HOME), then the platform's
/// variables for this attempt and shard. The platform's win because they tie the process to
/// its job's run, whose status follows the job: a job that named another run would log into
/// it while that run's status followed a different job. (It is no security boundary: a job's
/// code can talk to the tracking API about any run; the precedence keeps attribution right.)
pub fn job_env(
    worker_env: impl IntoIterator<Item = (OsString, OsString)>,
    spec_env: &BTreeMap<String, String>,
    attempt_env: &BTreeMap<String, String>,
    shard: u32,
    shards: u32,
) -> BTreeMap<OsString, OsString> {
    let mut env: BTreeMap<OsString, OsString> = worker_env
        .into_iter()
        .filter(|(k, _)| k.to_str().is_some_and(|k| INHERITED_ENV.contains(&k)))
        .collect();
    env.entry("PATH".into()).or_insert_with(|| DEFAULT_PATH.into());
    env.extend(spec_env.iter().map(|(k, v)| (k.into(), v.into())));
    env.extend(attempt_env.iter().map(|(k, v)| (k.into(), v.into())));
    env.insert("MLP_SHARD_INDEX".into(), shard.to_string().into());
    env.insert("MLP_SHARD_COUNT".into(), shards.max(1).to_string().into());
    env.insert("JOB_COMPLETION_INDEX".into(), shard.to_string().into());
    env
}

/// The rendezvous environment of one rank, as `torchrun` sets it for the processes it starts
/// (`GROUP_RANK` is torchrun's name for the replica index), plus the platform's names.
pub fn rank_env(
    replicas: u32,
    per_replica: u32,
    rank: u32,
    master_addr: &str,
    master_port: u16,
) -> BTreeMap<String, String> {
    let per_replica = per_replica.max(1);
    let replica = rank / per_replica;
    [
        ("MASTER_ADDR", master_addr.to_string()),
        ("MASTER_PORT", master_port.to_string()),
        ("WORLD_SIZE", (replicas.max(1) * per_replica).to_string()),
        ("RANK", rank.to_string()),
        ("LOCAL_RANK", (rank % per_replica).to_string()),
        ("LOCAL_WORLD_SIZE", per_replica.to_string()),
        ("GROUP_RANK", replica.to_string()),
        ("MLP_REPLICA_INDEX", replica.to_string()),
        ("MLP_REPLICAS", replicas.max(1).to_string()),
        ("MLP_PROCESSES_PER_REPLICA", per_replica.to_string()),
        ("JOB_COMPLETION_INDEX", replica.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// A port free on loopback now, for one attempt's rendezvous. Another process may take it
/// before rank 0 binds it; the attempt then fails and is retried with another port.
pub fn free_loopback_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
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
    /// Runs one process: a shard (`rank` None) or a rank of a distributed job.
    async fn run_shard(
        &self,
        job: &Job,
        attempt: &Attempt,
        shard: u32,
        rank: Option<(u32, &BTreeMap<String, String>)>,
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
        let platform = match rank {
            Some((r, _)) => attempt.env_for_rank(r),
            None => attempt.env.clone(),
        };
        let mut env = match &self.worker_env {
            Some(w) => job_env(w.clone(), &spec.env, &platform, shard, spec.shards),
            None => job_env(std::env::vars_os(), &spec.env, &platform, shard, spec.shards),
        };
        if let Some((_, rendezvous)) = rank {
            env.extend(rendezvous.iter().map(|(k, v)| (k.into(), v.into())));
        }
        let mut cmd = tokio::process::Command::new(&spec.command[0]);
        // Cleared first: the worker's environment holds the platform's secrets.
        cmd.args(&spec.command[1..])
            .env_clear()
            .envs(&env)
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
        let distributed = job.spec.is_distributed();
        let world = job.spec.world_size();
        let base = self
            .work_dir
            .join(&job.job_id)
            .join(format!("attempt-{}", attempt.number));
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        let mut rendezvous = Vec::new();
        if distributed {
            let port = match free_loopback_port() {
                Ok(p) => p,
                Err(e) => {
                    return Outcome {
                        state: JobState::Failed,
                        exit_code: None,
                        reason: Some(format!("infrastructure: no free loopback port for the rendezvous: {e}")),
                    };
                }
            };
            for rank in 0..world {
                let dir = base.join(format!("rank-{rank}"));
                let remote = format!("{}/rank-{rank}", attempt.log_prefix);
                for stream in ["stdout", "stderr"] {
                    files.push((dir.join(format!("{stream}.log")), format!("{remote}/{stream}.log")));
                    // Rank 0's log is also where a single process's goes: `mlp job logs`
                    // without --rank shows it.
                    if rank == 0 {
                        files.push((
                            dir.join(format!("{stream}.log")),
                            format!("{}/{stream}.log", attempt.log_prefix),
                        ));
                    }
                }
                dirs.push(dir);
                rendezvous.push(rank_env(
                    job.spec.replicas(),
                    job.spec.processes_per_replica(),
                    rank,
                    "127.0.0.1",
                    port,
                ));
            }
        }
        for shard in 0..shards {
            if distributed {
                break;
            }
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
        let rendezvous = &rendezvous;
        let runs = dirs.iter().enumerate().map(|(i, dir)| {
            let token = stop_all.clone();
            async move {
                let (shard, rank) = match rendezvous.get(i) {
                    Some(env) => (0, Some((i as u32, env))),
                    None => (i as u32, None),
                };
                let end = self.run_shard(job, attempt, shard, rank, dir, token.clone()).await;
                let at = std::time::Instant::now();
                if !matches!(end, End::Exited(Some(0))) {
                    token.cancel();
                }
                (end, at)
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
        let mut first_failure: Option<(Outcome, std::time::Instant)> = None;
        for (i, (end, at)) in ends.into_iter().enumerate() {
            let failure = match end {
                End::Exited(Some(0)) => continue,
                End::Exited(code) => Outcome {
                    state: JobState::Failed,
                    exit_code: code,
                    reason: Some(if distributed {
                        format!(
                            "rank {i} exited with {}; the group of {world} was stopped",
                            code.map(|c| c.to_string()).unwrap_or("a signal".into())
                        )
                    } else if shards > 1 {
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
            // The process that failed first is the cause: the ranks of a gang that lost a
            // peer fail too, a moment later (a broken connection), before they are stopped.
            let replace = match &first_failure {
                None => true,
                Some((f, when)) => {
                    let timed_out = |o: &Outcome| o.reason.as_deref().is_some_and(|r| r.starts_with("timed out"));
                    (timed_out(&failure) && !timed_out(f)) || (timed_out(&failure) == timed_out(f) && at < *when)
                }
            };
            if replace {
                first_failure = Some((failure, at));
            }
        }
        first_failure.map(|(f, _)| f).unwrap_or(Outcome {
            state: JobState::Succeeded,
            exit_code: Some(0),
            reason: None,
        })
    }

    fn describe(&self) -> String {
        "local processes".into()
    }
}
