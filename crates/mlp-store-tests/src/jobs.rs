//! Job store conformance: the claim/lease/finish protocol that keeps a job from running twice
//! and from being lost.

use mlp_core::jobs::*;
use mlp_core::model::{RunStatus, Tag, ViewType};
use mlp_core::store::{CreateRun, PageRequest, SearchRuns, TrackingStore};

fn job(id: &str, created_at: i64, max_retries: u32) -> Job {
    Job {
        job_id: id.into(),
        spec: JobSpec {
            name: "j".into(),
            kind: Some(JobKind::Training),
            command: vec!["true".into()],
            max_retries,
            ..Default::default()
        }
        .validate()
        .unwrap(),
        state: JobState::Queued,
        created_at,
        started_at: None,
        finished_at: None,
        attempts: 0,
        exit_code: None,
        reason: None,
        run_id: Some("run".into()),
        experiment_id: Some("0".into()),
        cancel_requested: false,
        worker_id: None,
        lease_expires_at: None,
        owner: None,
    }
}

fn failed(code: i32) -> Outcome {
    Outcome {
        state: JobState::Failed,
        exit_code: Some(code),
        reason: Some(format!("exited with {code}")),
    }
}

pub async fn a_job_is_claimed_once_and_taken_over_after_its_lease<S: JobStore>(s: &S) {
    s.insert_job(&job("j1", 1_000, 0)).await.unwrap();
    assert_eq!(s.get_job("j1").await.unwrap().spec.name, "j");
    let a = s.claim_job("j1", "a", 2_000, 1_000).await.unwrap().expect("claimed");
    assert_eq!(
        (a.state, a.attempts, a.worker_id.as_deref()),
        (JobState::Running, 1, Some("a"))
    );
    assert!(
        s.claim_job("j1", "b", 2_500, 1_000).await.unwrap().is_none(),
        "held by a live lease"
    );
    assert!(s.renew_lease("j1", "a", 4_000).await.unwrap());
    assert!(s.claim_job("j1", "b", 3_500, 1_000).await.unwrap().is_none(), "renewed");
    assert!(s.runnable_jobs(3_500, 10).await.unwrap().is_empty());
    // Worker a stops renewing: after the lease, b takes over as attempt 2 and a's lease is void.
    assert_eq!(s.runnable_jobs(4_001, 10).await.unwrap().len(), 1);
    let b = s.claim_job("j1", "b", 4_001, 1_000).await.unwrap().expect("taken over");
    assert_eq!((b.attempts, b.worker_id.as_deref()), (2, Some("b")));
    assert!(!s.renew_lease("j1", "a", 9_000).await.unwrap());
    let late = s.finish_attempt("j1", "a", &failed(1), 4_500).await.unwrap_err();
    assert_eq!(late.code, mlp_core::ErrorCode::InvalidState);
    let done = s
        .finish_attempt(
            "j1",
            "b",
            &Outcome {
                state: JobState::Succeeded,
                exit_code: Some(0),
                reason: None,
            },
            5_000,
        )
        .await
        .unwrap();
    assert_eq!(
        (done.state, done.exit_code, done.finished_at),
        (JobState::Succeeded, Some(0), Some(5_000))
    );
    assert!(
        s.claim_job("j1", "c", 99_999, 1_000).await.unwrap().is_none(),
        "a finished job never runs again"
    );
}

pub async fn failures_are_retried_with_a_delay_then_fail<S: JobStore>(s: &S) {
    s.insert_job(&job("r", 1_000, 1)).await.unwrap();
    s.claim_job("r", "w", 1_000, 10_000).await.unwrap().unwrap();
    let retry = s.finish_attempt("r", "w", &failed(3), 2_000).await.unwrap();
    assert_eq!(retry.state, JobState::Queued, "one retry left");
    assert!(
        s.claim_job("r", "w", 2_001, 10_000).await.unwrap().is_none(),
        "not before the retry delay"
    );
    let again = s.claim_job("r", "w", 60_000, 10_000).await.unwrap().expect("due");
    assert_eq!(again.attempts, 2);
    let end = s.finish_attempt("r", "w", &failed(4), 61_000).await.unwrap();
    assert_eq!((end.state, end.exit_code), (JobState::Failed, Some(4)));
}

pub async fn cancel_a_queued_job_at_once_and_a_running_one_by_request<S: JobStore>(s: &S) {
    s.insert_job(&job("q", 1_000, 3)).await.unwrap();
    let c = s.request_cancel("q", 1_500).await.unwrap();
    assert_eq!(c.state, JobState::Cancelled);
    assert!(s.claim_job("q", "w", 2_000, 1_000).await.unwrap().is_none());
    s.insert_job(&job("run", 1_000, 3)).await.unwrap();
    s.claim_job("run", "w", 1_000, 1_000).await.unwrap().unwrap();
    let asked = s.request_cancel("run", 1_200).await.unwrap();
    assert_eq!((asked.state, asked.cancel_requested), (JobState::Running, true));
    // Its worker died: the next claim after the lease records the cancel instead of running it.
    assert!(s.claim_job("run", "x", 5_000, 1_000).await.unwrap().is_none());
    assert_eq!(s.get_job("run").await.unwrap().state, JobState::Cancelled);
}

pub async fn list_and_count_jobs<S: JobStore>(s: &S) {
    for i in 0..5 {
        s.insert_job(&job(&format!("l{i}"), 1_000 + i, 0)).await.unwrap();
    }
    s.claim_job("l0", "w", 2_000, 1_000).await.unwrap().unwrap();
    let page = s
        .list_jobs(&JobQuery {
            state: Some(JobState::Queued),
            kind: None,
            owner: None,
            page: PageRequest { offset: 0, limit: 3 },
        })
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|j| j.job_id.as_str()).collect::<Vec<_>>(),
        ["l4", "l3", "l2"],
        "newest first"
    );
    assert!(page.has_more);
    let counts = s.count_jobs().await.unwrap();
    let n = |st| {
        counts
            .iter()
            .find(|(k, s2, _)| *k == JobKind::Training && *s2 == st)
            .map(|c| c.2)
            .unwrap_or(0)
    };
    assert_eq!((n(JobState::Queued), n(JobState::Running)), (4, 1));
    assert_eq!(
        s.get_job("nope").await.unwrap_err().code,
        mlp_core::ErrorCode::ResourceDoesNotExist
    );
    // Each user's own: the owner is stored and filters the listing.
    s.insert_job(&Job {
        owner: Some("bob".into()),
        ..job("o1", 3_000, 0)
    })
    .await
    .unwrap();
    assert_eq!(s.get_job("o1").await.unwrap().owner.as_deref(), Some("bob"));
    let bobs = |owner: &str| JobQuery {
        owner: Some(owner.into()),
        page: PageRequest { offset: 0, limit: 10 },
        ..Default::default()
    };
    let listed = s.list_jobs(&bobs("bob")).await.unwrap().items;
    assert_eq!(listed.iter().map(|j| j.job_id.as_str()).collect::<Vec<_>>(), ["o1"]);
    assert!(s.list_jobs(&bobs("carol")).await.unwrap().items.is_empty());
}

/// A job's run and its row are written together: a failure on either side leaves neither (here
/// the job row fails on a duplicate id, after its run was inserted in the same transaction).
pub async fn a_job_and_its_run_are_created_together<S: JobStore + TrackingStore>(s: &S) {
    let run = CreateRun {
        experiment_id: "0".into(),
        user_id: "mlp-jobs".into(),
        run_name: Some("train".into()),
        start_time: 1_000,
        tags: vec![Tag::new("mlp.job_id", "j1")],
    };
    let created = s.insert_job_with_run(&job("j1", 1_000, 0), &run).await.unwrap();
    let run_id = created.run_id.clone().expect("the job points at its run");
    assert_ne!(run_id, "run", "the run's id replaces the one given");
    assert_eq!(created.experiment_id.as_deref(), Some("0"));
    assert_eq!(s.get_job("j1").await.unwrap(), created);
    let stored = s.get_run(&run_id).await.unwrap();
    assert_eq!(stored.info.status, RunStatus::Scheduled);
    assert_eq!(stored.info.run_name, "train");
    assert_eq!(stored.info.start_time, 1_000);
    assert!(stored.data.tags.contains(&Tag::new("mlp.job_id", "j1")));
    assert!(stored.data.tags.contains(&Tag::new("mlflow.runName", "train")));

    let runs_in_default = || async {
        s.search_runs(&SearchRuns {
            experiment_ids: vec!["0".into()],
            filter: vec![],
            order_by: vec![],
            view: ViewType::All,
            page: PageRequest { offset: 0, limit: 100 },
        })
        .await
        .unwrap()
        .items
        .len()
    };
    assert_eq!(runs_in_default().await, 1);
    s.insert_job_with_run(&job("j1", 2_000, 0), &run).await.unwrap_err();
    assert_eq!(runs_in_default().await, 1, "the run of the refused job was rolled back");

    let missing = CreateRun {
        experiment_id: "999".into(),
        ..run
    };
    let err = s.insert_job_with_run(&job("j2", 3_000, 0), &missing).await.unwrap_err();
    assert_eq!(err.code, mlp_core::ErrorCode::ResourceDoesNotExist);
    assert_eq!(
        s.get_job("j2").await.unwrap_err().code,
        mlp_core::ErrorCode::ResourceDoesNotExist
    );
}
