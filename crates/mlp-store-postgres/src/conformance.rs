//! The shared conformance suite against PostgreSQL: a fresh database per test.

use crate::testing::{self, TempDatabase};
use crate::{PgOptions, PgStore};

struct Fixture(#[allow(dead_code)] TempDatabase);

impl mlp_store_tests::StoreFixture for Fixture {
    type Store = PgStore;

    fn skip() -> Option<String> {
        testing::skip_reason()
    }

    async fn new() -> (Self, PgStore) {
        let admin = testing::server_url().expect("skip() said PostgreSQL is configured");
        let db = TempDatabase::create(&admin).await;
        let mut opts = PgOptions::new(db.url.clone());
        opts.max_connections = 4;
        let store = PgStore::open(&opts).await.unwrap();
        (Fixture(db), store)
    }
}

mlp_store_tests::store_conformance_suite!(Fixture);
mlp_store_tests::auth_conformance_suite!(Fixture);
