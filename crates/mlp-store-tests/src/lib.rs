//! One conformance suite for every store back-end (quickwit's pattern): generic test bodies
//! here, instantiated once per back-end with [`store_conformance_suite!`], so a behaviour cannot
//! differ between SQLite and PostgreSQL without a test failing.

pub mod auth;
pub mod bounded;
pub mod concurrent;
pub mod exact;
pub mod jobs;
pub mod registry;
pub mod sweeps;
pub mod tracking;

use mlp_core::jobs::JobStore;
use mlp_core::registry::RegistryStore;
use mlp_core::store::TrackingStore;
use mlp_core::sweeps::SweepStore;

/// Builds a fresh, empty store for one test. The fixture value is kept alive for the test's
/// duration (it may own a temporary directory or database).
pub trait StoreFixture: Sized + Send {
    type Store: TrackingStore + RegistryStore + JobStore + SweepStore + Clone + 'static;
    fn new() -> impl std::future::Future<Output = (Self, Self::Store)> + Send;
    /// A reason to skip the suite (e.g. no database server configured); the fixture decides
    /// itself whether a missing service is an error (in CI) or a skip (on a laptop).
    fn skip() -> Option<String> {
        None
    }
}

/// Instantiates every conformance test for a fixture type.
#[macro_export]
macro_rules! store_conformance_suite {
    ($fixture:ty) => {
        $crate::store_conformance_suite!(@tests $fixture;
            tracking::default_experiment_exists,
            exact::doubles_round_trip_bit_for_bit,
            exact::strings_at_every_limit_are_stored_exactly,
            registry::versions_count_up_and_are_never_reused,
            registry::runs_sources_are_kept_and_logged_model_sources_resolve,
            registry::stages_latest_versions_and_archiving,
            registry::aliases_move_and_go_with_their_version,
            registry::rename_update_tags_and_delete_cascade,
            registry::search_models_and_versions,
            jobs::a_job_is_claimed_once_and_taken_over_after_its_lease,
            jobs::failures_are_retried_with_a_delay_then_fail,
            jobs::cancel_a_queued_job_at_once_and_a_running_one_by_request,
            jobs::list_and_count_jobs,
            jobs::a_job_and_its_run_are_created_together,
            sweeps::a_sweep_is_created_with_its_parent_run_and_listed,
            sweeps::one_controller_holds_a_sweep_until_its_lease_runs_out,
            sweeps::a_trial_is_written_at_once_and_only_once,
            tracking::experiment_ids_increase_and_locations_follow,
            tracking::create_experiment_with_tags_and_location,
            tracking::duplicate_experiment_name_already_exists,
            tracking::missing_experiment_does_not_exist,
            tracking::rename_experiment,
            tracking::delete_and_restore_experiment_carries_runs,
            tracking::experiment_tags_set_overwrite_delete,
            tracking::search_experiments_filters,
            tracking::search_experiments_order_view_and_paging,
            tracking::create_run_with_name,
            tracking::create_run_without_name,
            tracking::missing_run_does_not_exist,
            tracking::update_run_status_end_time_name,
            tracking::delete_and_restore_run,
            tracking::deleted_run_refuses_writes,
            tracking::log_batch_replay_is_harmless,
            concurrent::concurrent_writes_commit_together_and_fail_alone,
            tracking::changing_a_param_is_refused_atomically,
            tracking::run_tags_overwrite_and_delete,
            tracking::latest_metric_ignores_arrival_order,
            tracking::nan_metric_round_trips,
            tracking::metric_history_order_and_paging,
            tracking::rendered_history_matches_generic,
            tracking::bulk_interval_sampling,
            tracking::datasets_dedup_per_experiment,
            tracking::model_inputs_and_outputs,
            tracking::search_runs_metric_comparators,
            tracking::search_runs_param_and_tag_comparators,
            tracking::search_runs_like_is_case_sensitive_ilike_is_not,
            tracking::search_runs_attributes,
            tracking::search_runs_datasets,
            tracking::search_runs_order_by_metric_nan_and_missing_last,
            tracking::search_runs_order_by_params_tags_attributes,
            tracking::search_runs_default_order,
            tracking::search_runs_paging_has_no_duplicates_or_gaps,
            tracking::search_runs_view_types_and_experiments,
            tracking::search_runs_long_lists,
            tracking::logged_model_create_is_pending,
            tracking::logged_model_finalize,
            tracking::logged_model_delete_hides_it,
            tracking::logged_model_tags_and_params,
            tracking::logged_model_metrics_come_from_runs,
            tracking::search_logged_models_filter_order_paging,
            bounded::search_runs_with_the_most_clauses,
            bounded::search_runs_with_the_longest_like_pattern,
            bounded::order_by_terms_are_bounded,
            bounded::names_with_nul_or_too_long_are_refused,
        );
        $crate::store_conformance_suite!(@ignored $fixture;
            bounded::search_cost_by_clause_count,
        );
    };
    (@ignored $fixture:ty; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            #[ignore = "a measurement, not a test: run with --run-ignored only --no-capture"]
            async fn $name() {
                if let Some(reason) = <$fixture as $crate::StoreFixture>::skip() {
                    eprintln!("skipping {}: {reason}", stringify!($name));
                    return;
                }
                let (_guard, store) = <$fixture as $crate::StoreFixture>::new().await;
                $crate::$module::$name(&store).await;
            }
        )*
    };
    (@tests $fixture:ty; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                if let Some(reason) = <$fixture as $crate::StoreFixture>::skip() {
                    eprintln!("skipping {}: {reason}", stringify!($name));
                    return;
                }
                let (_guard, store) = <$fixture as $crate::StoreFixture>::new().await;
                $crate::$module::$name(&store).await;
            }
        )*
    };
}
