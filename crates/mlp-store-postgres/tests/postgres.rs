//! PostgreSQL specifics beyond the shared conformance suite: concurrent migrations, the
//! statement timeout, error mapping and password hygiene. Needs `MLP_TEST_POSTGRES_URL`
//! (skipped without it, failing instead under CI / MLP_REQUIRE_POSTGRES=1).

use std::time::{Duration, Instant};

use mlp_core::ErrorCode;
use mlp_core::model::Tag;
use mlp_core::model::ViewType;
use mlp_core::search::{self, SearchKind};
use mlp_core::store::{LogBatch, PageRequest, SearchRuns, TrackingStore};
use mlp_store_postgres::testing::{self, TempDatabase};
use mlp_store_postgres::{PgOptions, PgStore};

async fn temp_db() -> Option<TempDatabase> {
    if let Some(reason) = testing::skip_reason() {
        eprintln!("skipping: {reason}");
        return None;
    }
    Some(TempDatabase::create(&testing::server_url().unwrap()).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_migrating_at_once_apply_each_migration_once() {
    let Some(db) = temp_db().await else { return };
    let opts = PgOptions::new(db.url.clone());
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let opts = opts.clone();
            tokio::spawn(async move { PgStore::open(&opts).await })
        })
        .collect();
    let mut stores = Vec::new();
    for o in opens {
        stores.push(o.await.unwrap().expect("every replica starts"));
    }
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(stores[0].pool())
        .await
        .unwrap();
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7]);
    // Re-running is a no-op.
    stores[0].migrate().await.unwrap();
    let default = stores[1].get_experiment("0").await.unwrap();
    assert_eq!(default.name, "Default");
}

#[tokio::test]
async fn statement_timeout_is_set_on_every_connection_and_maps_to_503() {
    let Some(db) = temp_db().await else { return };
    let mut opts = PgOptions::new(db.url.clone());
    opts.statement_timeout = Duration::from_millis(300);
    let store = PgStore::open(&opts).await.unwrap();
    let shown: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(shown, "300ms");
    let t = Instant::now();
    let err = sqlx::query("SELECT pg_sleep(5)")
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(3));
    let as_db = err.as_database_error().and_then(|d| d.code()).map(|c| c.to_string());
    assert_eq!(as_db.as_deref(), Some("57014"));
}

/// A search cancelled by the statement timeout is the client's to narrow (400, never the 503 a
/// client retries); a write cancelled the same way (waiting on a lock) stays a 503. An exclusive
/// lock held by another session makes both wait deterministically.
#[tokio::test]
async fn a_search_past_the_statement_timeout_is_400_a_write_503() {
    let Some(db) = temp_db().await else { return };
    let mut opts = PgOptions::new(db.url.clone());
    opts.statement_timeout = Duration::from_millis(300);
    let store = PgStore::open(&opts).await.unwrap();
    let mut locker = store.pool().begin().await.unwrap();
    sqlx::query("LOCK TABLE runs IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *locker)
        .await
        .unwrap();
    let err = store
        .search_runs(&SearchRuns {
            experiment_ids: vec!["0".into()],
            filter: search::parse_filter(SearchKind::Runs, "metrics.m > 0").unwrap(),
            order_by: vec![],
            view: ViewType::ActiveOnly,
            page: PageRequest { offset: 0, limit: 10 },
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue, "{err}");
    assert!(err.message.contains("statement timeout (300 ms)"), "{err}");
    let err = store
        .create_run(&mlp_core::store::CreateRun {
            experiment_id: "0".into(),
            user_id: "u".into(),
            run_name: Some("r".into()),
            start_time: 1,
            tags: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::TemporarilyUnavailable, "{err}");
    locker.rollback().await.unwrap();
}

#[tokio::test]
async fn connection_errors_are_503_and_never_show_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut opts = PgOptions::new(format!("postgresql://mlp:hunter2@127.0.0.1:{port}/mlp"));
    opts.acquire_timeout = Duration::from_millis(500);
    let t = Instant::now();
    let err = PgStore::open(&opts).await.unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(3), "took {:?}", t.elapsed());
    assert_eq!(err.code, ErrorCode::TemporarilyUnavailable, "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(!format!("{opts:?}").contains("hunter2"));

    opts.password = Some("from-a-file".into());
    assert!(!format!("{opts:?}").contains("from-a-file"));

    let bad = PgOptions::new("postgresql://mlp:hunter2@127.0.0.1:notaport/mlp");
    let err = PgStore::open(&bad).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue, "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test]
async fn wrong_password_is_refused_without_echoing_it() {
    let Some(db) = temp_db().await else { return };
    // The test server trusts local connections, so only check the message path of a refused
    // login: a database that does not exist.
    let mut opts = PgOptions::new(testing::with_database(&db.url, "mlp_no_such_database"));
    opts.password = Some("hunter2".into());
    let err = PgStore::open(&opts).await.unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test]
async fn nul_characters_are_an_invalid_parameter_not_a_server_error() {
    let Some(db) = temp_db().await else { return };
    let store = PgStore::open(&PgOptions::new(db.url.clone())).await.unwrap();
    let run = store
        .create_run(&mlp_core::store::CreateRun {
            experiment_id: "0".into(),
            user_id: "u".into(),
            run_name: Some("r".into()),
            start_time: 1,
            tags: vec![],
        })
        .await
        .unwrap();
    let err = store
        .log_batch(&LogBatch {
            run_id: run.info.run_id,
            tags: vec![Tag::new("k", "a\0b")],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue, "{err}");
}

#[tokio::test]
async fn job_store_lifecycle() {
    use mlp_core::jobs::*;
    let Some(db) = temp_db().await else { return };
    let store = PgStore::open(&PgOptions::new(db.url.clone())).await.unwrap();
    let spec = JobSpec {
        name: "train-1".into(),
        kind: Some(JobKind::Training),
        command: vec!["python".into(), "train.py".into()],
        max_retries: 1,
        ..Default::default()
    }
    .validate()
    .unwrap();
    let job = Job {
        job_id: "j-1".into(),
        spec,
        state: JobState::Queued,
        created_at: 10,
        started_at: None,
        finished_at: None,
        attempts: 0,
        exit_code: None,
        reason: None,
        run_id: None,
        experiment_id: None,
        cancel_requested: false,
        worker_id: None,
        lease_expires_at: None,
        owner: None,
    };
    store.insert_job(&job).await.unwrap();
    assert_eq!(store.get_job("j-1").await.unwrap(), job);
    assert_eq!(store.runnable_jobs(100, 10).await.unwrap().len(), 1);
    let claimed = store.claim_job("j-1", "w1", 100, 1000).await.unwrap().unwrap();
    assert_eq!((claimed.state, claimed.attempts), (JobState::Running, 1));
    assert!(store.claim_job("j-1", "w2", 200, 1000).await.unwrap().is_none());
    assert!(store.renew_lease("j-1", "w1", 5000).await.unwrap());
    let failed = Outcome {
        state: JobState::Failed,
        exit_code: Some(1),
        reason: Some("boom".into()),
    };
    let retried = store.finish_attempt("j-1", "w1", &failed, 300).await.unwrap();
    assert_eq!(retried.state, JobState::Queued);
    store.set_job_run("j-1", "r1", "0").await.unwrap();
    let page = store
        .list_jobs(&JobQuery {
            state: Some(JobState::Queued),
            kind: None,
            owner: None,
            page: mlp_core::store::PageRequest { offset: 0, limit: 10 },
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].run_id.as_deref(), Some("r1"));
    let cancelled = store.request_cancel("j-1", 400).await.unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert!(cancelled.cancel_requested);
    let counts = store.count_jobs().await.unwrap();
    assert_eq!(counts, vec![(JobKind::Training, JobState::Cancelled, 1)]);
}
