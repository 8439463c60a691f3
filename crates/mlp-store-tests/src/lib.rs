//! One conformance suite for every store back-end (quickwit's pattern): generic test bodies
//! here, instantiated once per back-end with [`store_conformance_suite!`], so a behaviour cannot
//! differ between SQLite and PostgreSQL without a test failing.

pub mod tracking;

use mlp_core::store::TrackingStore;

/// Builds a fresh, empty store for one test. The fixture value is kept alive for the test's
/// duration (it may own a temporary directory or database).
pub trait StoreFixture: Sized + Send {
    type Store: TrackingStore;
    fn new() -> impl std::future::Future<Output = (Self, Self::Store)> + Send;
}

/// Instantiates every conformance test for a fixture type.
#[macro_export]
macro_rules! store_conformance_suite {
    ($fixture:ty) => {
        $crate::store_conformance_suite!(@tests $fixture;
            tracking::default_experiment_exists,
        );
    };
    (@tests $fixture:ty; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (_guard, store) = <$fixture as $crate::StoreFixture>::new().await;
                $crate::$module::$name(&store).await;
            }
        )*
    };
}
