//! `mlp infra`: one rule set over the platform's Terraform and rendered Kubernetes overlays, a
//! reachability analysis of the NetworkPolicies against the declared connectivity, the
//! environment report, and a deploy planner. See `infrastructure/README.md`.

pub mod check;
pub mod cli;
pub mod deploy;
pub mod k8s;
pub mod layout;
pub mod model;
pub mod net;
pub mod output;
pub mod platform_rules;
pub mod report;
pub mod tf;
pub mod tf_rules;
pub mod xlayer;
