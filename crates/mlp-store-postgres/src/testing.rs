//! Test support: a throwaway database per test on the server named by `MLP_TEST_POSTGRES_URL`
//! (e.g. `postgresql://postgres@127.0.0.1:54329/postgres`, a user allowed to CREATE DATABASE).
//!
//! Without that variable the PostgreSQL tests are skipped, unless `CI` or
//! `MLP_REQUIRE_POSTGRES=1` is set: then they fail, so that CI cannot pass without PostgreSQL.

use sqlx::{AssertSqlSafe, Connection, PgConnection};

pub const URL_VAR: &str = "MLP_TEST_POSTGRES_URL";

fn required() -> bool {
    std::env::var("MLP_REQUIRE_POSTGRES").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
        || std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// The admin URL of the test server; `None` means skip. Panics when PostgreSQL is required.
pub fn server_url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ if required() => panic!(
            "{URL_VAR} is not set but PostgreSQL tests are required (CI or MLP_REQUIRE_POSTGRES=1): \
             start a PostgreSQL 15 server and export {URL_VAR}=postgresql://USER@HOST:PORT/postgres \
             (./scripts/test does this)"
        ),
        _ => None,
    }
}

/// Why the PostgreSQL tests are skipped, if they are.
pub fn skip_reason() -> Option<String> {
    server_url()
        .is_none()
        .then(|| format!("{URL_VAR} is not set (set it, or CI / MLP_REQUIRE_POSTGRES=1 to make this a failure)"))
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgresql", base));
    let authority = rest.split('/').next().unwrap_or(rest);
    let mut out = format!("{scheme}://{authority}/{db}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A database created for one test and dropped (best effort, forcing out connections) when
/// this value is dropped.
pub struct TempDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl TempDatabase {
    pub async fn create(admin_url: &str) -> TempDatabase {
        let name = format!("mlp_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL server ({URL_VAR}): {e}"));
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} failed: {e}"));
        let _ = conn.close().await;
        TempDatabase {
            admin_url: admin_url.to_string(),
            url: with_database(admin_url, &name),
            name,
        }
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: do the async work on a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let _ = sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                        .execute(&mut conn)
                        .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_is_replaced() {
        assert_eq!(
            with_database("postgresql://u:p@h:5/postgres?sslmode=disable", "x"),
            "postgresql://u:p@h:5/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
