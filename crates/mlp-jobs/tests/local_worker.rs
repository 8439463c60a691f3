//! Workers with the local executor, on real processes, a real SQLite store and (when
//! `MLP_TEST_REDIS_URL` is set, as `scripts/test` does) a real Redis.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mlp_artifacts::{ArtifactStore, LocalArtifactStore};
use mlp_core::jobs::*;
use mlp_core::model::RunStatus;
use mlp_jobs::*;
use mlp_store_sqlite::SqliteStore;
use tokio_util::sync::CancellationToken;

struct Env {
    _dir: tempfile::TempDir,
    service: JobService,
    work_dir: std::path::PathBuf,
}

async fn env_with(queue: Arc<dyn Queue>) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&format!("sqlite://{}/db", dir.path().display()), "mlflow-artifacts:")
            .await
            .unwrap(),
    );
    let artifacts: Arc<dyn ArtifactStore> = Arc::new(LocalArtifactStore::new(dir.path().join("artifacts")).unwrap());
    let work_dir = dir.path().join("work");
    Env {
        service: JobService {
            tracking: store.clone(),
            jobs: store,
            queue,
            artifacts,
        },
        work_dir,
        _dir: dir,
    }
}

async fn env() -> Env {
    env_with(Arc::new(InProcessQueue::default())).await
}

fn worker(env: &Env, lease: Duration) -> Arc<Worker> {
    worker_with_env(env, lease, None)
}

fn worker_with_env(
    env: &Env,
    lease: Duration,
    worker_env: Option<std::collections::BTreeMap<std::ffi::OsString, std::ffi::OsString>>,
) -> Arc<Worker> {
    Arc::new(Worker {
        service: env.service.clone(),
        executor: Arc::new(LocalExecutor {
            work_dir: env.work_dir.clone(),
            cwd: None,
            grace: Duration::from_millis(500),
            artifacts: env.service.artifacts.clone(),
            log_flush_every: Duration::from_millis(200),
            worker_env,
        }),
        credentials: None,
        config: WorkerConfig {
            lease,
            poll: Duration::from_millis(100),
            tracking_uri: "http://127.0.0.1:9".into(),
            ..WorkerConfig::default()
        },
    })
}

fn sh(name: &str, script: &str) -> JobSpec {
    JobSpec {
        name: name.into(),
        kind: Some(JobKind::Training),
        command: vec!["sh".into(), "-c".into(), script.into()],
        ..Default::default()
    }
}

async fn wait_state(env: &Env, job_id: &str, done: impl Fn(&Job) -> bool) -> Job {
    let start = Instant::now();
    loop {
        let j = env.service.jobs.get_job(job_id).await.unwrap();
        if done(&j) {
            return j;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "job stuck: {j:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn read(env: &Env, path: &str) -> String {
    use futures_util::StreamExt;
    let d = env.service.artifacts.get(path).await.unwrap();
    let chunks: Vec<_> = d.body.collect().await;
    String::from_utf8(chunks.into_iter().flat_map(|c| c.unwrap().to_vec()).collect()).unwrap()
}

#[tokio::test]
async fn a_job_runs_with_its_run_and_logs() {
    let env = env().await;
    let stop = CancellationToken::new();
    let w = tokio::spawn(worker(&env, Duration::from_secs(5)).run(stop.clone()));
    let job = env
        .service
        .submit(JobSpec {
            experiment_name: Some("jobs-exp".into()),
            env: [("GREETING".to_string(), "hello".to_string())].into(),
            ..sh("hello", "echo $GREETING $MLFLOW_RUN_ID; echo oops >&2")
        })
        .await
        .unwrap();
    assert_eq!(job.state, JobState::Queued);
    let done = wait_state(&env, &job.job_id, |j| j.state.is_terminal()).await;
    assert_eq!(done.state, JobState::Succeeded, "{done:?}");
    assert_eq!(done.exit_code, Some(0));
    assert_eq!(done.attempts, 1);
    let run_id = done.run_id.clone().unwrap();
    let run = env.service.tracking.get_run(&run_id).await.unwrap();
    assert_eq!(run.info.status, RunStatus::Finished);
    let exp = env.service.tracking.get_experiment_by_name("jobs-exp").await.unwrap();
    assert_eq!(run.info.experiment_id, exp.experiment_id);
    assert!(
        run.data
            .tags
            .iter()
            .any(|t| t.key == "mlp.job_id" && t.value == job.job_id)
    );
    let stdout = read(
        &env,
        &env.service.log_path(&done, None, None, None, "stdout").await.unwrap(),
    )
    .await;
    assert_eq!(stdout.trim(), format!("hello {run_id}"));
    let stderr = read(
        &env,
        &env.service.log_path(&done, None, None, None, "stderr").await.unwrap(),
    )
    .await;
    assert_eq!(stderr.trim(), "oops");
    stop.cancel();
    w.await.unwrap();
}

/// The `env` output of a job run by a worker whose environment is `worker_env` (`None`: this
/// test process's), as name → value.
async fn job_env_output(
    worker_env: Option<std::collections::BTreeMap<std::ffi::OsString, std::ffi::OsString>>,
) -> (Job, std::collections::BTreeMap<String, String>) {
    let env = env().await;
    let stop = CancellationToken::new();
    let w = tokio::spawn(worker_with_env(&env, Duration::from_secs(5), worker_env).run(stop.clone()));
    let job = env
        .service
        .submit(JobSpec {
            env: [
                ("GREETING".to_string(), "hello".to_string()),
                // Would send the job's metrics to another run; the platform's value wins.
                ("MLFLOW_RUN_ID".to_string(), "someone-elses-run".to_string()),
            ]
            .into(),
            // `env` found on the allow-listed PATH.
            command: vec!["env".into()],
            ..sh("env", "")
        })
        .await
        .unwrap();
    let done = wait_state(&env, &job.job_id, |j| j.state.is_terminal()).await;
    assert_eq!(done.state, JobState::Succeeded, "{done:?}");
    let out = read(
        &env,
        &env.service.log_path(&done, None, None, None, "stdout").await.unwrap(),
    )
    .await;
    stop.cancel();
    w.await.unwrap();
    let vars = out
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (done, vars)
}

#[tokio::test]
async fn a_job_gets_only_the_allow_listed_part_of_the_workers_environment() {
    let path = std::env::var_os("PATH").expect("the test runs with a PATH");
    let worker_env = [
        ("PATH", path.clone()),
        ("HOME", "/home/worker".into()),
        ("LANG", "C.UTF-8".into()),
        ("TZ", "Europe/Paris".into()),
        ("TMPDIR", "/tmp/worker-tmp".into()),
        (
            "MLP__DATABASE__URL",
            "postgresql://mlp:hunter2-secret@db:5432/mlp".into(),
        ),
        ("AWS_SECRET_ACCESS_KEY", "aws-secret-value".into()),
        ("MLP__REDIS__URL", "redis://:redis-secret@redis:6379".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.into(), v))
    .collect();
    let (done, vars) = job_env_output(Some(worker_env)).await;
    let names: Vec<&str> = vars.keys().map(String::as_str).collect();
    let mut expected = vec![
        "GREETING",
        "HOME",
        "JOB_COMPLETION_INDEX",
        "LANG",
        "MLFLOW_EXPERIMENT_ID",
        "MLFLOW_RUN_ID",
        "MLFLOW_TRACKING_URI",
        "MLP_JOB_ATTEMPT",
        "MLP_JOB_ID",
        "MLP_SHARD_COUNT",
        "MLP_SHARD_INDEX",
        "PATH",
        "TMPDIR",
        "TZ",
    ];
    // Some `env` implementations (or shells) add these themselves.
    let own = ["PWD", "SHLVL", "_", "OLDPWD"];
    let names: Vec<&str> = names.into_iter().filter(|n| !own.contains(n)).collect();
    expected.sort();
    assert_eq!(names, expected, "{vars:?}");
    assert_eq!(vars["PATH"], path.to_str().unwrap());
    assert_eq!(vars["HOME"], "/home/worker");
    assert_eq!(vars["TZ"], "Europe/Paris");
    assert_eq!(vars["GREETING"], "hello");
    assert_eq!(vars["MLFLOW_RUN_ID"], done.run_id.clone().unwrap());
    assert_eq!(vars["MLFLOW_TRACKING_URI"], "http://127.0.0.1:9");
    assert_eq!(vars["MLP_JOB_ID"], done.job_id);
    let all = format!("{vars:?}");
    for secret in ["hunter2-secret", "aws-secret-value", "redis-secret"] {
        assert!(!all.contains(secret), "{secret} leaked into the job: {all}");
    }
}

/// The default (`worker_env: None`) reads this process's environment: what the test runner set
/// in it (CARGO_*, NEXTEST_*, RUST_*…) must not reach the job either.
#[tokio::test]
async fn a_job_gets_nothing_else_of_the_real_process_environment() {
    let foreign: Vec<String> = std::env::vars()
        .map(|(k, _)| k)
        .filter(|k| !mlp_jobs::local::INHERITED_ENV.contains(&k.as_str()))
        .filter(|k| {
            !k.starts_with("MLFLOW_") && !k.starts_with("MLP_") && k != "GREETING" && k != "JOB_COMPLETION_INDEX"
        })
        .collect();
    assert!(!foreign.is_empty(), "the test runner sets variables of its own");
    let (_, vars) = job_env_output(None).await;
    for k in &foreign {
        assert!(!vars.contains_key(k), "{k} reached the job");
    }
    assert_eq!(
        vars.get("PATH").map(String::as_str),
        std::env::var("PATH").ok().as_deref()
    );
}

#[tokio::test]
async fn a_failing_job_is_retried_then_fails_with_its_exit_code() {
    let env = env().await;
    let stop = CancellationToken::new();
    let w = tokio::spawn(worker(&env, Duration::from_secs(5)).run(stop.clone()));
    let job = env
        .service
        .submit(JobSpec {
            max_retries: 1,
            ..sh("fails", "exit 3")
        })
        .await
        .unwrap();
    let done = wait_state(&env, &job.job_id, |j| j.state.is_terminal()).await;
    assert_eq!(done.state, JobState::Failed);
    assert_eq!(done.attempts, 2, "one retry: {done:?}");
    assert_eq!(done.exit_code, Some(3));
    let run = env
        .service
        .tracking
        .get_run(done.run_id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(run.info.status, RunStatus::Failed);
    stop.cancel();
    w.await.unwrap();
}

#[tokio::test]
async fn a_job_that_runs_too_long_is_stopped() {
    let env = env().await;
    let stop = CancellationToken::new();
    let w = tokio::spawn(worker(&env, Duration::from_secs(5)).run(stop.clone()));
    let job = env
        .service
        .submit(JobSpec {
            timeout_seconds: 1,
            ..sh("slow", "sleep 30")
        })
        .await
        .unwrap();
    let started = Instant::now();
    let done = wait_state(&env, &job.job_id, |j| j.state.is_terminal()).await;
    assert_eq!(done.state, JobState::Failed);
    assert!(done.reason.as_deref().unwrap_or("").contains("timed out"), "{done:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    stop.cancel();
    w.await.unwrap();
}

#[tokio::test]
async fn cancelling_kills_the_whole_process_group() {
    let env = env().await;
    let stop = CancellationToken::new();
    let w = tokio::spawn(worker(&env, Duration::from_secs(5)).run(stop.clone()));
    let pidfile = env.work_dir.with_file_name("child.pid");
    // The job's own child (a background sleep) must die with it.
    let script = format!("sleep 60 & echo $! > {}; wait", pidfile.display());
    let job = env.service.submit(sh("cancel-me", &script)).await.unwrap();
    wait_state(&env, &job.job_id, |j| j.state == JobState::Running).await;
    let start = Instant::now();
    while !pidfile.exists() {
        assert!(start.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let child: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    env.service.cancel(&job.job_id).await.unwrap();
    let done = wait_state(&env, &job.job_id, |j| j.state.is_terminal()).await;
    assert_eq!(done.state, JobState::Cancelled);
    let run = env
        .service
        .tracking
        .get_run(done.run_id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(run.info.status, RunStatus::Killed);
    // kill(pid, 0) fails once the process is gone (reaped by init).
    let start = Instant::now();
    while unsafe { libc::kill(child, 0) } == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the job's child process survived the cancel"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    w.await.unwrap();
}

#[tokio::test]
async fn a_queued_job_is_cancelled_at_once_and_never_runs() {
    let env = env().await;
    let job = env.service.submit(sh("never", "exit 0")).await.unwrap();
    let cancelled = env.service.cancel(&job.job_id).await.unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    let stop = CancellationToken::new();
    let w = tokio::spawn(worker(&env, Duration::from_secs(5)).run(stop.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(env.service.jobs.get_job(&job.job_id).await.unwrap().attempts, 0);
    stop.cancel();
    w.await.unwrap();
}

#[tokio::test]
async fn sharded_data_jobs_run_every_shard_and_fail_if_one_does() {
    let env = env().await;
    let stop = CancellationToken::new();
    let w = tokio::spawn(worker(&env, Duration::from_secs(5)).run(stop.clone()));
    let spec = |name: &str, script: &str| JobSpec {
        kind: Some(JobKind::DataProcessing),
        shards: 3,
        ..sh(name, script)
    };
    let ok = env
        .service
        .submit(spec("shards-ok", "echo shard $MLP_SHARD_INDEX of $MLP_SHARD_COUNT"))
        .await
        .unwrap();
    let done = wait_state(&env, &ok.job_id, |j| j.state.is_terminal()).await;
    assert_eq!(done.state, JobState::Succeeded, "{done:?}");
    for i in 0..3 {
        let log = read(
            &env,
            &env.service
                .log_path(&done, None, Some(i), None, "stdout")
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(log.trim(), format!("shard {i} of 3"));
    }
    let bad = env
        .service
        .submit(spec("shards-bad", "[ $MLP_SHARD_INDEX != 1 ] || exit 7; sleep 0.2"))
        .await
        .unwrap();
    let done = wait_state(&env, &bad.job_id, |j| j.state.is_terminal()).await;
    assert_eq!(done.state, JobState::Failed);
    assert_eq!(done.exit_code, Some(7));
    assert!(done.reason.as_deref().unwrap().contains("shard 1"), "{done:?}");
    stop.cancel();
    w.await.unwrap();
}

#[tokio::test]
async fn a_job_whose_worker_stops_is_taken_over_by_another() {
    let env = env().await;
    let lease = Duration::from_millis(900);
    let first_stop = CancellationToken::new();
    let first = tokio::spawn(worker(&env, lease).run(first_stop.clone()));
    let marker = env.work_dir.with_file_name("attempts.log");
    let script = format!("echo $MLP_JOB_ATTEMPT >> {}; sleep 2", marker.display());
    let job = env.service.submit(sh("takeover", &script)).await.unwrap();
    wait_state(&env, &job.job_id, |j| j.state == JobState::Running).await;
    // The first worker goes away mid-job without finishing it.
    first_stop.cancel();
    first.await.unwrap();
    assert_eq!(
        env.service.jobs.get_job(&job.job_id).await.unwrap().state,
        JobState::Running
    );
    let second_stop = CancellationToken::new();
    let second = tokio::spawn(worker(&env, lease).run(second_stop.clone()));
    let done = wait_state(&env, &job.job_id, |j| j.state.is_terminal()).await;
    assert_eq!(done.state, JobState::Succeeded, "{done:?}");
    assert_eq!(done.attempts, 2);
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap().lines().collect::<Vec<_>>(),
        vec!["1", "2"]
    );
    second_stop.cancel();
    second.await.unwrap();
}

#[tokio::test]
async fn two_workers_never_run_one_job_twice() {
    let env = env().await;
    let stop = CancellationToken::new();
    let a = tokio::spawn(worker(&env, Duration::from_secs(5)).run(stop.clone()));
    let b = tokio::spawn(worker(&env, Duration::from_secs(5)).run(stop.clone()));
    let marker = env.work_dir.with_file_name("runs.log");
    let mut ids = Vec::new();
    for i in 0..6 {
        let script = format!("echo {i} >> {}; sleep 0.2", marker.display());
        ids.push(
            env.service
                .submit(sh(&format!("many-{i}"), &script))
                .await
                .unwrap()
                .job_id,
        );
    }
    for id in &ids {
        let done = wait_state(&env, id, |j| j.state.is_terminal()).await;
        assert_eq!(done.state, JobState::Succeeded);
        assert_eq!(done.attempts, 1);
    }
    let mut lines: Vec<String> = std::fs::read_to_string(&marker)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines.sort();
    assert_eq!(lines, (0..6).map(|i| i.to_string()).collect::<Vec<_>>());
    stop.cancel();
    a.await.unwrap();
    b.await.unwrap();
}

#[tokio::test]
async fn bad_specs_are_refused_before_anything_is_queued() {
    let env = env().await;
    let err = env
        .service
        .submit(JobSpec {
            command: vec![],
            ..sh("x", "")
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, mlp_core::ErrorCode::InvalidParameterValue);
    let page = env
        .service
        .jobs
        .list_jobs(&JobQuery {
            page: mlp_core::store::PageRequest { offset: 0, limit: 10 },
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(env.service.queue.depth().await.unwrap(), 0);
}

/// Redis Streams dispatch: a job published by one service is run by a worker reading the
/// stream, and a worker that died holding an entry has it reclaimed by another.
#[tokio::test]
async fn redis_streams_dispatch_and_reclaim() {
    let Ok(url) = std::env::var("MLP_TEST_REDIS_URL") else {
        assert!(std::env::var("CI").is_err(), "MLP_TEST_REDIS_URL must be set in CI");
        eprintln!("skipped: MLP_TEST_REDIS_URL is not set");
        return;
    };
    let stream = format!("mlp:test:{}", uuid::Uuid::new_v4().simple());
    let lease = Duration::from_millis(800);
    let queue = Arc::new(RedisQueue::connect(&url, Some(&stream), lease).await.unwrap());
    let env = env_with(queue.clone()).await;

    // A consumer that reads an entry and dies: the entry stays pending.
    let job = env.service.submit(sh("redis-job", "echo from-redis")).await.unwrap();
    let got = queue.receive("dead-worker", Duration::from_secs(2)).await.unwrap();
    assert_eq!(
        got.iter().map(|d| d.job_id.as_str()).collect::<Vec<_>>(),
        vec![job.job_id.as_str()]
    );
    assert_eq!(queue.depth().await.unwrap(), 1);
    // A live consumer gets nothing new, then reclaims the entry once it is idle for a lease.
    assert!(
        queue
            .receive("live-worker", Duration::from_millis(100))
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(lease + Duration::from_millis(200)).await;
    let reclaimed = queue.receive("live-worker", Duration::from_millis(100)).await.unwrap();
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].job_id, job.job_id);
    queue.ack(&reclaimed[0]).await.unwrap();
    assert_eq!(queue.depth().await.unwrap(), 0);

    // End to end through a worker reading the stream.
    let stop = CancellationToken::new();
    let w = tokio::spawn(worker(&env, lease).run(stop.clone()));
    let job2 = env.service.submit(sh("redis-job-2", "echo two")).await.unwrap();
    let done = wait_state(&env, &job2.job_id, |j| j.state.is_terminal()).await;
    assert_eq!(done.state, JobState::Succeeded);
    let done1 = wait_state(&env, &job.job_id, |j| j.state.is_terminal()).await;
    assert_eq!(
        done1.state,
        JobState::Succeeded,
        "the first job is found through the store"
    );
    stop.cancel();
    w.await.unwrap();
    // Entries are acknowledged once their jobs end.
    let start = Instant::now();
    while queue.depth().await.unwrap() != 0 {
        assert!(start.elapsed() < Duration::from_secs(5), "stream not drained");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
