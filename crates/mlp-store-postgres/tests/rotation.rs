//! Password rotation: the store connects as a password-authenticated role whose password is
//! read from a file. The password is changed on the server and in the file (what RDS rotation plus
//! External Secrets and the kubelet do), the role's sessions are killed, and the store keeps
//! answering without a restart. A store given no file keeps the old password and stays refused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mlp_core::store::TrackingStore;
use mlp_store_postgres::{PgOptions, PgStore, testing};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

fn pg_tmp() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-tmp")
}

struct Instance {
    dir: PathBuf,
    url: String,
}

impl Instance {
    /// A server of this test's own: trust for the admin, scram-sha-256 for role `app`.
    fn start() -> Option<Instance> {
        let have = ["initdb", "pg_ctl", "postgres"].iter().all(|b| {
            Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {b}"))
                .output()
                .is_ok_and(|o| o.status.success())
        });
        if !have {
            assert!(
                testing::skip_reason().is_some(),
                "PostgreSQL tests are required but initdb/pg_ctl/postgres are not on PATH"
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/pg-rotation")
            .join(uuid::Uuid::new_v4().simple().to_string());
        let out = Command::new(pg_tmp())
            .arg("start")
            .arg(&dir)
            .arg(port.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg-tmp start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        let hba = dir.join("data/pg_hba.conf");
        let old = std::fs::read_to_string(&hba).unwrap();
        std::fs::write(&hba, format!("host all app 127.0.0.1/32 scram-sha-256\n{old}")).unwrap();
        Some(Instance { dir, url })
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = Command::new(pg_tmp()).arg("stop").arg(&self.dir).output();
    }
}

async fn admin(url: &str, sql: &str) {
    let mut c = PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
        .execute(&mut c)
        .await
        .unwrap();
    let _ = c.close().await;
}

async fn works(store: &PgStore) -> bool {
    store.get_experiment("0").await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_password_is_picked_up_without_a_restart() {
    let Some(pg) = Instance::start() else {
        eprintln!("skipping: PostgreSQL server binaries are not on PATH");
        return;
    };
    admin(&pg.url, "SELECT pg_reload_conf()").await;
    admin(&pg.url, "CREATE ROLE app LOGIN PASSWORD 'first-password'").await;
    admin(&pg.url, "CREATE DATABASE app OWNER app").await;
    let app_url = testing::with_database(&pg.url, "app").replace("postgres@", "app@");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    std::fs::write(&file, "first-password\n").unwrap();

    let mut opts = PgOptions::new(app_url.clone());
    opts.password = Some("first-password".into());
    opts.password_file = Some(file.clone());
    // Long enough that only the refused login can explain a quick recovery.
    opts.password_reload = Duration::from_secs(600);
    opts.max_connections = 2;
    opts.acquire_timeout = Duration::from_secs(2);
    let store = PgStore::open(&opts).await.unwrap();
    // The control: the same password, no file to read again.
    let mut stale = opts.clone();
    stale.password_file = None;
    let stale = PgStore::connect(&stale).await.unwrap();
    assert!(works(&store).await && works(&stale).await);

    admin(&pg.url, "ALTER ROLE app PASSWORD 'second-password'").await;
    std::fs::write(&file, "second-password\n").unwrap();
    // Rotation does not end sessions; a restarted server or an idle timeout does.
    admin(
        &pg.url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app'",
    )
    .await;

    let t0 = Instant::now();
    let mut refused = 0;
    while !works(&store).await {
        refused += 1;
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "still refused after {refused} tries"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..5 {
        assert!(works(&store).await);
    }
    let err = stale.get_experiment("0").await.unwrap_err();
    assert_eq!(err.code, mlp_core::ErrorCode::TemporarilyUnavailable, "{err:?}");
}
