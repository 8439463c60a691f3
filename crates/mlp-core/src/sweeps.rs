//! Hyperparameter sweeps: the spec a user submits (a job template, a search space, a strategy,
//! an objective and a budget), its validation, the pure strategy code (grid and seeded random
//! enumeration, asynchronous successive halving) and the store trait that keeps a sweep and its
//! trials durable. The controller that drives a sweep lives in `mlp-jobs`; everything here is
//! deterministic and free of I/O so that a restarted controller recomputes the same decisions.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::jobs::{Job, JobKind, JobSpec, JobState};
use crate::model::Param;
use crate::store::{CreateRun, Page, PageRequest};
use crate::{Error, Result};

/// One parameter's distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Distribution {
    Choice {
        values: Vec<Value>,
    },
    Uniform {
        lo: f64,
        hi: f64,
        /// Grid only: this many evenly spaced points from `lo` to `hi`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        num: Option<u32>,
    },
    LogUniform {
        lo: f64,
        hi: f64,
        /// Grid only: this many points evenly spaced in log space.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        num: Option<u32>,
    },
    Int {
        lo: i64,
        hi: i64,
        #[serde(default = "one", skip_serializing_if = "is_one")]
        step: i64,
    },
}

fn one() -> i64 {
    1
}
fn is_one(v: &i64) -> bool {
    *v == 1
}
fn three() -> u32 {
    3
}
fn one_u() -> i64 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Sampler {
    Grid,
    #[default]
    Random,
}

/// How trials' parameters are chosen, and whether hopeless trials are stopped early.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Strategy {
    /// Every combination, in a fixed order (the first parameter by name varies slowest).
    Grid,
    /// Independent draws; trial `i` of seed `s` always gets the same parameters.
    Random {
        #[serde(default)]
        seed: u64,
    },
    /// Asynchronous successive halving: trials are sampled (random or grid) and, at each rung
    /// `min_resource * reduction_factor^k` of the objective's step, a trial outside the top
    /// `1/reduction_factor` of the trials that reached that rung is stopped.
    Asha {
        #[serde(default)]
        seed: u64,
        #[serde(default)]
        sampler: Sampler,
        #[serde(default = "one_u")]
        min_resource: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_resource: Option<i64>,
        #[serde(default = "three")]
        reduction_factor: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Minimize,
    Maximize,
}

impl Direction {
    /// Whether `a` is strictly better than `b`; NaN is worse than everything.
    pub fn better(self, a: f64, b: f64) -> bool {
        match (a.is_nan(), b.is_nan()) {
            (true, _) => false,
            (false, true) => true,
            _ => match self {
                Direction::Minimize => a < b,
                Direction::Maximize => a > b,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    /// The metric key the trials log.
    pub metric: String,
    pub direction: Direction,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Budget {
    /// Trials to run; a grid's size when absent (required for random and ASHA sampling).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_trials: Option<u32>,
    /// Trials running at once (default 1).
    pub parallelism: u32,
    /// Past this, running trials are cancelled and the sweep ends with the best so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_duration_seconds: Option<u64>,
}

/// What a user submits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    pub name: String,
    /// Where the parent run and every trial's run go (created if missing); the template's
    /// `experiment_name`, else the Default experiment, when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_name: Option<String>,
    /// The job of one trial (its `name` is generated).
    pub trial: JobSpec,
    pub search_space: BTreeMap<String, Distribution>,
    pub strategy: Strategy,
    pub objective: Objective,
    #[serde(default)]
    pub budget: Budget,
}

pub const MAX_TRIALS: u32 = 1000;
pub const MAX_PARALLELISM: u32 = 64;
pub const MAX_PARAMS: usize = 32;
pub const MAX_SWEEP_DURATION_SECONDS: u64 = 30 * 24 * 3600;
/// Sweep names are short enough that `<name>-t<index>` is still a DNS label.
pub const MAX_SWEEP_NAME: usize = 50;

fn valid_param_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Distribution {
    /// The grid points of this parameter, `None` for a continuous one without `num`.
    fn grid(&self) -> Option<Vec<Value>> {
        match self {
            Distribution::Choice { values } => Some(values.clone()),
            Distribution::Int { lo, hi, step } => Some(
                (0..)
                    .map(|k| lo + k * step)
                    .take_while(|v| v <= hi)
                    .map(Value::from)
                    .collect(),
            ),
            Distribution::Uniform { lo, hi, num } => num.map(|n| {
                (0..n)
                    .map(|k| float(lo + (hi - lo) * k as f64 / (n - 1) as f64))
                    .collect()
            }),
            Distribution::LogUniform { lo, hi, num } => num.map(|n| {
                let (a, b) = (lo.ln(), hi.ln());
                (0..n)
                    .map(|k| float((a + (b - a) * k as f64 / (n - 1) as f64).exp()))
                    .collect()
            }),
        }
    }

    fn grid_len(&self) -> Option<u64> {
        match self {
            Distribution::Choice { values } => Some(values.len() as u64),
            Distribution::Int { lo, hi, step } => Some(((hi - lo) / step) as u64 + 1),
            Distribution::Uniform { num, .. } | Distribution::LogUniform { num, .. } => num.map(u64::from),
        }
    }

    fn sample(&self, rng: &mut SplitMix64) -> Value {
        match self {
            Distribution::Choice { values } => values[(rng.next_u64() % values.len() as u64) as usize].clone(),
            Distribution::Uniform { lo, hi, .. } => float(lo + (hi - lo) * rng.next_f64()),
            Distribution::LogUniform { lo, hi, .. } => {
                let (a, b) = (lo.ln(), hi.ln());
                float((a + (b - a) * rng.next_f64()).exp())
            }
            Distribution::Int { lo, hi, step } => {
                let n = ((hi - lo) / step) as u64 + 1;
                Value::from(lo + (rng.next_u64() % n) as i64 * step)
            }
        }
    }

    fn validate(&self, name: &str) -> Result<()> {
        let bad = |m: String| Err(Error::invalid(format!("search_space.{name}: {m}")));
        match self {
            Distribution::Choice { values } => {
                if values.is_empty() || values.len() > 1000 {
                    return bad("'values' must hold 1 to 1000 values".into());
                }
                if let Some(v) = values
                    .iter()
                    .find(|v| !(v.is_string() || v.is_number() || v.is_boolean()))
                {
                    return bad(format!("'values' must be strings, numbers or booleans, got {v}"));
                }
            }
            Distribution::Uniform { lo, hi, num } | Distribution::LogUniform { lo, hi, num } => {
                if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                    return bad(format!("'lo' ({lo}) must be below 'hi' ({hi})"));
                }
                if matches!(self, Distribution::LogUniform { .. }) && *lo <= 0.0 {
                    return bad(format!("log_uniform needs 'lo' > 0, got {lo}"));
                }
                if let Some(n) = num
                    && !(2..=1000).contains(n)
                {
                    return bad(format!("'num' must be between 2 and 1000, got {n}"));
                }
            }
            Distribution::Int { lo, hi, step } => {
                if lo > hi {
                    return bad(format!("'lo' ({lo}) must not be above 'hi' ({hi})"));
                }
                if *step < 1 {
                    return bad(format!("'step' must be at least 1, got {step}"));
                }
                if hi.checked_sub(*lo).is_none() {
                    return bad("the range is too large".into());
                }
            }
        }
        Ok(())
    }
}

/// A float parameter as JSON (a NaN cannot occur: bounds are finite).
fn float(v: f64) -> Value {
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// A parameter value as a string: what is logged as the MLflow param, put in the environment
/// and substituted into the command.
pub fn param_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The environment variable a parameter is passed in: `MLP_PARAM_` and its name upper-cased.
pub fn param_env(name: &str) -> String {
    format!("MLP_PARAM_{}", name.to_ascii_uppercase())
}

/// A small, seedable generator (SplitMix64): enough for sampling, and the same sequence on every
/// platform and version, which a restarted controller depends on.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl SweepSpec {
    /// Fills defaults and refuses what could never run, with a message naming the field.
    pub fn validate(mut self) -> Result<Self> {
        let bad = |m: String| Err(Error::invalid(m));
        self.name = self.name.trim().to_string();
        if self.name.is_empty() {
            return bad("Sweep 'name' is required".into());
        }
        let dns = self.name.len() <= MAX_SWEEP_NAME
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !self.name.starts_with('-')
            && !self.name.ends_with('-');
        if !dns {
            return bad(format!(
                "Sweep name '{}' must be lowercase letters, digits and '-', at most {MAX_SWEEP_NAME} characters",
                self.name
            ));
        }
        if self.experiment_name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            self.experiment_name = None;
        }
        if self.experiment_name.is_none() {
            self.experiment_name = self.trial.experiment_name.clone().filter(|n| !n.trim().is_empty());
        }
        if let Some(n) = &self.experiment_name {
            crate::validation::validate_experiment_name(n)?;
        }
        self.trial.experiment_name = self.experiment_name.clone();
        if self.trial.name.trim().is_empty() {
            self.trial.name = format!("{}-t0", self.name);
        }
        if self.trial.kind.is_none() {
            self.trial.kind = Some(JobKind::Training);
        }
        if self.trial.kind != Some(JobKind::Training) {
            return bad("trial.kind must be 'training': every trial is a training job".into());
        }
        self.trial = self
            .trial
            .validate()
            .map_err(|e| Error::invalid(format!("trial: {}", e.message)))?;
        if self.search_space.is_empty() {
            return bad("'search_space' must name at least one parameter".into());
        }
        if self.search_space.len() > MAX_PARAMS {
            return bad(format!("'search_space' has at most {MAX_PARAMS} parameters"));
        }
        for (name, d) in &self.search_space {
            if !valid_param_name(name) {
                return bad(format!(
                    "search_space: invalid parameter name '{name}': letters, digits and '_', not starting with a digit"
                ));
            }
            d.validate(name)?;
        }
        let mut by_env: BTreeMap<String, &str> = BTreeMap::new();
        for name in self.search_space.keys() {
            if let Some(other) = by_env.insert(param_env(name), name) {
                return bad(format!(
                    "search_space: parameters '{other}' and '{name}' would share the variable {}",
                    param_env(name)
                ));
            }
        }
        crate::validation::validate_key("metric", &self.objective.metric)
            .map_err(|e| Error::invalid(format!("objective.metric: {}", e.message)))?;
        if self.objective.metric.trim().is_empty() {
            return bad("objective.metric is required".into());
        }
        let grid_size = self.grid_size();
        match self.sampler() {
            Sampler::Grid => {
                let Some(size) = grid_size else {
                    let name = self
                        .search_space
                        .iter()
                        .find(|(_, d)| d.grid_len().is_none())
                        .map(|(n, _)| n.as_str())
                        .unwrap_or("");
                    return bad(format!(
                        "search_space.{name}: a grid needs discrete parameters: give 'num' for a uniform or log_uniform"
                    ));
                };
                match self.budget.max_trials {
                    Some(max) => self.budget.max_trials = Some((max as u64).min(size) as u32),
                    None if size > MAX_TRIALS as u64 => {
                        return bad(format!(
                            "the grid has {size} points, more than {MAX_TRIALS}: set budget.max_trials to run the first ones"
                        ));
                    }
                    None => self.budget.max_trials = Some(size as u32),
                }
            }
            Sampler::Random => {
                if self.budget.max_trials.is_none() {
                    return bad("budget.max_trials is required for random sampling".into());
                }
            }
        }
        let max_trials = self.budget.max_trials.unwrap_or(0);
        if !(1..=MAX_TRIALS).contains(&max_trials) {
            return bad(format!(
                "budget.max_trials must be between 1 and {MAX_TRIALS}, got {max_trials}"
            ));
        }
        if self.budget.parallelism == 0 {
            self.budget.parallelism = 1;
        }
        if self.budget.parallelism > MAX_PARALLELISM {
            return bad(format!(
                "budget.parallelism must be at most {MAX_PARALLELISM}, got {}",
                self.budget.parallelism
            ));
        }
        if let Some(d) = self.budget.max_duration_seconds
            && !(1..=MAX_SWEEP_DURATION_SECONDS).contains(&d)
        {
            return bad(format!(
                "budget.max_duration_seconds must be between 1 and {MAX_SWEEP_DURATION_SECONDS}, got {d}"
            ));
        }
        if let Strategy::Asha {
            min_resource,
            max_resource,
            reduction_factor,
            ..
        } = &self.strategy
        {
            if *min_resource < 1 {
                return bad(format!("strategy.min_resource must be at least 1, got {min_resource}"));
            }
            if !(2..=100).contains(reduction_factor) {
                return bad(format!(
                    "strategy.reduction_factor must be between 2 and 100, got {reduction_factor}"
                ));
            }
            if let Some(max) = max_resource
                && max <= min_resource
            {
                return bad(format!(
                    "strategy.max_resource ({max}) must be above strategy.min_resource ({min_resource})"
                ));
            }
        }
        Ok(self)
    }

    pub fn sampler(&self) -> Sampler {
        match &self.strategy {
            Strategy::Grid => Sampler::Grid,
            Strategy::Random { .. } => Sampler::Random,
            Strategy::Asha { sampler, .. } => *sampler,
        }
    }

    fn seed(&self) -> u64 {
        match &self.strategy {
            Strategy::Grid => 0,
            Strategy::Random { seed } | Strategy::Asha { seed, .. } => *seed,
        }
    }

    /// The number of grid points, `None` if a parameter is continuous; saturates.
    pub fn grid_size(&self) -> Option<u64> {
        self.search_space
            .values()
            .try_fold(1u64, |acc, d| d.grid_len().map(|n| acc.saturating_mul(n)))
    }

    /// How many trials the sweep runs in all.
    pub fn total_trials(&self) -> u32 {
        self.budget.max_trials.unwrap_or(0)
    }

    /// The parameters of trial `index` (0-based): a pure function of the spec and the index, so
    /// that a restarted controller launches exactly the trials that were planned.
    pub fn trial_params(&self, index: u32) -> Option<BTreeMap<String, Value>> {
        if index >= self.total_trials() {
            return None;
        }
        match self.sampler() {
            Sampler::Grid => {
                let grids: Vec<(&String, Vec<Value>)> = self
                    .search_space
                    .iter()
                    .map(|(n, d)| (n, d.grid().unwrap_or_default()))
                    .collect();
                // Mixed radix, the last parameter varying fastest.
                let mut rest = index as u64;
                let mut out = BTreeMap::new();
                for (name, points) in grids.iter().rev() {
                    let n = points.len() as u64;
                    out.insert((*name).clone(), points[(rest % n) as usize].clone());
                    rest /= n;
                }
                (rest == 0).then_some(out)
            }
            Sampler::Random => {
                let mut seeder = SplitMix64::new(self.seed());
                let base = seeder.next_u64();
                let mut rng = SplitMix64::new(base ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407));
                Some(
                    self.search_space
                        .iter()
                        .map(|(n, d)| (n.clone(), d.sample(&mut rng)))
                        .collect(),
                )
            }
        }
    }

    /// The job of trial `index`: the template with its name, the parameters in the environment
    /// (`MLP_PARAM_<NAME>`) and `{name}` in the command's arguments replaced by the value.
    pub fn trial_job(&self, sweep_id: &str, index: u32, params: &BTreeMap<String, Value>) -> JobSpec {
        let mut spec = self.trial.clone();
        spec.name = format!("{}-t{index}", self.name);
        for (name, v) in params {
            spec.env.insert(param_env(name), param_text(v));
        }
        spec.env.insert("MLP_SWEEP_ID".into(), sweep_id.to_string());
        spec.env.insert("MLP_TRIAL_INDEX".into(), index.to_string());
        spec.command = spec
            .command
            .iter()
            .map(|arg| {
                params
                    .iter()
                    .fold(arg.clone(), |a, (n, v)| a.replace(&format!("{{{n}}}"), &param_text(v)))
            })
            .collect();
        spec.labels.insert("mlp-sweep".into(), self.name.clone());
        spec
    }

    pub fn asha(&self) -> Option<Asha> {
        match &self.strategy {
            Strategy::Asha {
                min_resource,
                max_resource,
                reduction_factor,
                ..
            } => Some(Asha {
                min_resource: *min_resource,
                max_resource: *max_resource,
                eta: *reduction_factor,
            }),
            _ => None,
        }
    }
}

/// Asynchronous successive halving (Li et al., "A System for Massively Parallel Hyperparameter
/// Tuning", 2020), in its stopping form: the resource is the step of the objective metric; rung
/// `k` is at `min_resource * eta^k`. When a trial reaches a rung it is compared with every trial
/// that reached that rung so far; outside the best `max(1, n / eta)` it is stopped. The trials
/// that reach a rung first are promoted more easily, which is what makes it asynchronous: no
/// trial waits for a rung to fill.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Asha {
    pub min_resource: i64,
    pub max_resource: Option<i64>,
    pub eta: u32,
}

impl Asha {
    /// The rungs' resources, below `max_resource` (a trial that reaches it simply finishes).
    pub fn rungs(&self) -> Vec<i64> {
        let mut out = Vec::new();
        let mut r = self.min_resource;
        while out.len() < 32 && self.max_resource.is_none_or(|m| r < m) {
            out.push(r);
            match r.checked_mul(self.eta as i64) {
                Some(n) => r = n,
                None => break,
            }
        }
        out
    }

    /// The trial's value at each rung it has passed: the last value logged at a step at or
    /// below the rung, once a step at or beyond it has been logged. `history` is (step, value)
    /// in any order.
    pub fn rung_values(&self, history: &[(i64, f64)]) -> Vec<f64> {
        let mut h: Vec<(i64, f64)> = history.to_vec();
        h.sort_by_key(|p| p.0);
        let Some(&(last_step, _)) = h.last() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for r in self.rungs() {
            if last_step < r {
                break;
            }
            match h.iter().rev().find(|p| p.0 <= r) {
                Some(&(_, v)) => out.push(v),
                // The first value logged is past the rung: judged by it.
                None => out.push(h[0].1),
            }
        }
        out
    }

    /// Whether a trial whose value at a rung is `mine` goes on, given the values at that rung of
    /// every trial that reached it (`at_rung` includes `mine`).
    pub fn keep(&self, direction: Direction, mine: f64, at_rung: &[f64]) -> bool {
        let top = (at_rung.len() / self.eta as usize).max(1);
        let better = at_rung.iter().filter(|v| direction.better(**v, mine)).count();
        better < top
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SweepState {
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl SweepState {
    pub const ALL: [SweepState; 4] = [
        SweepState::Running,
        SweepState::Succeeded,
        SweepState::Failed,
        SweepState::Cancelled,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            SweepState::Running => "RUNNING",
            SweepState::Succeeded => "SUCCEEDED",
            SweepState::Failed => "FAILED",
            SweepState::Cancelled => "CANCELLED",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
    }
    pub fn is_terminal(self) -> bool {
        self != SweepState::Running
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sweep {
    pub sweep_id: String,
    pub spec: SweepSpec,
    pub state: SweepState,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<String>,
    /// The sweep's MLflow run; every trial's run is its child.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub cancel_requested: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_trial: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_value: Option<f64>,
    /// The controller driving it, until when (another takes over past that).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_expires_at: Option<i64>,
}

/// One trial: its row joined with its job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trial {
    pub sweep_id: String,
    pub index: u32,
    pub job_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    pub params: BTreeMap<String, Value>,
    pub state: JobState,
    /// The last value of the objective metric seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objective: Option<f64>,
    /// ASHA: the rungs this trial has passed (been kept at).
    pub rungs_passed: u32,
    pub early_stopped: bool,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct SweepQuery {
    pub state: Option<SweepState>,
    pub owner: Option<String>,
    pub page: PageRequest,
}

/// How a sweep ended, written by the controller holding it.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepEnd {
    pub state: SweepState,
    pub reason: Option<String>,
    pub best_trial: Option<u32>,
    pub best_value: Option<f64>,
}

#[async_trait]
pub trait SweepStore: Send + Sync + 'static {
    /// Creates the sweep's parent run (RUNNING) and the sweep in one transaction; the run's id
    /// and experiment replace `parent_run_id` and `experiment_id`.
    async fn insert_sweep_with_run(&self, sweep: &Sweep, run: &CreateRun) -> Result<Sweep>;
    async fn get_sweep(&self, sweep_id: &str) -> Result<Sweep>;
    async fn list_sweeps(&self, q: &SweepQuery) -> Result<Page<Sweep>>;
    /// RUNNING sweeps whose lease is free or expired (or held by `worker_id`), oldest first.
    async fn drivable_sweeps(&self, worker_id: &str, now_ms: i64, limit: u64) -> Result<Vec<Sweep>>;
    /// Takes (or renews) the sweep for `worker_id` if it is RUNNING and its lease is free,
    /// expired or already this worker's. The conditional update is what keeps two controllers
    /// from driving one sweep.
    async fn claim_sweep(&self, sweep_id: &str, worker_id: &str, now_ms: i64, lease_ms: i64) -> Result<bool>;
    /// Asks for cancellation; the controller stops the trials and ends the sweep.
    async fn request_sweep_cancel(&self, sweep_id: &str) -> Result<Sweep>;
    /// Ends a RUNNING sweep held by `worker_id`; false if it no longer holds it.
    async fn finish_sweep(&self, sweep_id: &str, worker_id: &str, end: &SweepEnd, now_ms: i64) -> Result<bool>;
    /// The trial's run (with its params and tags), its job and its row in one transaction: no
    /// job of a sweep without its trial, and its params are logged before it can start.
    /// Refused (ALREADY_EXISTS) if the sweep already has that trial index.
    async fn insert_trial(
        &self,
        sweep_id: &str,
        index: u32,
        params: &BTreeMap<String, Value>,
        job: &Job,
        run: &CreateRun,
        run_params: &[Param],
    ) -> Result<Trial>;
    /// Every trial of the sweep, by index.
    async fn list_trials(&self, sweep_id: &str) -> Result<Vec<Trial>>;
    async fn update_trial(
        &self,
        sweep_id: &str,
        index: u32,
        objective: Option<f64>,
        rungs_passed: u32,
        early_stopped: bool,
    ) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: serde_json::Value) -> Result<SweepSpec> {
        let s: SweepSpec = serde_json::from_value(yaml).map_err(|e| Error::invalid(e.to_string()))?;
        s.validate()
    }

    fn base() -> serde_json::Value {
        serde_json::json!({
            "name": "s",
            "trial": {"command": ["python", "t.py", "--lr={lr}"]},
            "search_space": {
                "lr": {"type": "choice", "values": [0.1, 0.01]},
                "depth": {"type": "int", "lo": 2, "hi": 6, "step": 2},
            },
            "strategy": {"type": "grid"},
            "objective": {"metric": "loss", "direction": "minimize"},
            "budget": {"parallelism": 2},
        })
    }

    #[test]
    fn grid_enumerates_every_combination_once_in_order() {
        let s = spec(base()).unwrap();
        assert_eq!(s.total_trials(), 6);
        let all: Vec<_> = (0..6).map(|i| s.trial_params(i).unwrap()).collect();
        // "depth" < "lr": depth varies slowest.
        let pairs: Vec<(i64, f64)> = all
            .iter()
            .map(|p| (p["depth"].as_i64().unwrap(), p["lr"].as_f64().unwrap()))
            .collect();
        assert_eq!(
            pairs,
            vec![(2, 0.1), (2, 0.01), (4, 0.1), (4, 0.01), (6, 0.1), (6, 0.01)]
        );
        assert!(s.trial_params(6).is_none());
    }

    #[test]
    fn max_trials_cuts_a_grid_and_continuous_grids_need_num() {
        let mut b = base();
        b["budget"]["max_trials"] = 4.into();
        assert_eq!(spec(b).unwrap().total_trials(), 4);
        let mut b = base();
        b["search_space"]["x"] = serde_json::json!({"type": "uniform", "lo": 0.0, "hi": 1.0});
        let e = spec(b.clone()).unwrap_err().message;
        assert!(e.contains("search_space.x") && e.contains("num"), "{e}");
        b["search_space"]["x"]["num"] = 3.into();
        let s = spec(b).unwrap();
        assert_eq!(s.total_trials(), 18);
        let xs: Vec<f64> = (0..3)
            .map(|i| s.trial_params(i).unwrap()["x"].as_f64().unwrap())
            .collect();
        assert_eq!(xs, vec![0.0, 0.5, 1.0]);
    }

    #[test]
    fn random_is_seeded_per_trial_and_stays_in_bounds() {
        let mut b = base();
        b["strategy"] = serde_json::json!({"type": "random", "seed": 7});
        b["search_space"]["alpha"] = serde_json::json!({"type": "log_uniform", "lo": 1e-4, "hi": 1.0});
        b["search_space"]["beta"] = serde_json::json!({"type": "uniform", "lo": -1.0, "hi": 1.0});
        assert!(spec(b.clone()).unwrap_err().message.contains("budget.max_trials"));
        b["budget"]["max_trials"] = 50.into();
        let s = spec(b.clone()).unwrap();
        let draws: Vec<_> = (0..50).map(|i| s.trial_params(i).unwrap()).collect();
        for p in &draws {
            let a = p["alpha"].as_f64().unwrap();
            let be = p["beta"].as_f64().unwrap();
            let d = p["depth"].as_i64().unwrap();
            assert!((1e-4..=1.0).contains(&a) && (-1.0..1.0).contains(&be), "{p:?}");
            assert!([2, 4, 6].contains(&d), "{p:?}");
        }
        // Draws differ between trials, and the log-uniform spans several decades.
        assert!(draws.iter().any(|p| p["alpha"].as_f64().unwrap() < 1e-2));
        assert!(draws.iter().any(|p| p["alpha"].as_f64().unwrap() > 1e-1));
        assert_ne!(draws[0], draws[1]);
        // The same seed gives the same trials (a restarted controller), another seed others.
        let again = spec(b.clone()).unwrap();
        assert_eq!(again.trial_params(17), s.trial_params(17));
        b["strategy"]["seed"] = 8.into();
        assert_ne!(spec(b).unwrap().trial_params(17), s.trial_params(17));
    }

    #[test]
    fn validation_names_the_field() {
        let cases: Vec<(serde_json::Value, &str)> = vec![
            (serde_json::json!({"name": "Bad_Name"}), "Sweep name"),
            (serde_json::json!({"search_space": {}}), "search_space"),
            (
                serde_json::json!({"search_space": {"x": {"type": "uniform", "lo": 1.0, "hi": 0.0}}}),
                "search_space.x",
            ),
            (
                serde_json::json!({"search_space": {"x": {"type": "log_uniform", "lo": 0.0, "hi": 1.0, "num": 3}}}),
                "log_uniform",
            ),
            (
                serde_json::json!({"search_space": {"x": {"type": "int", "lo": 0, "hi": 3, "step": 0}}}),
                "step",
            ),
            (
                serde_json::json!({"search_space": {"x": {"type": "choice", "values": []}}}),
                "search_space.x",
            ),
            (
                serde_json::json!({"search_space": {"9x": {"type": "choice", "values": [1]}}}),
                "9x",
            ),
            (
                serde_json::json!({"objective": {"metric": "", "direction": "minimize"}}),
                "objective.metric",
            ),
            (
                serde_json::json!({"budget": {"parallelism": 100}}),
                "budget.parallelism",
            ),
            (
                serde_json::json!({"budget": {"max_duration_seconds": 0}}),
                "max_duration_seconds",
            ),
            (serde_json::json!({"trial": {"command": []}}), "trial: Job 'command'"),
            (
                serde_json::json!({"trial": {"command": ["x"], "kind": "data-processing"}}),
                "trial.kind",
            ),
            (
                serde_json::json!({"strategy": {"type": "asha", "sampler": "grid", "reduction_factor": 1}}),
                "strategy.reduction_factor",
            ),
            (
                serde_json::json!({"strategy": {"type": "asha", "sampler": "grid", "min_resource": 4, "max_resource": 2}}),
                "strategy.max_resource",
            ),
        ];
        for (patch, want) in cases {
            let mut b = base();
            for (k, v) in patch.as_object().unwrap() {
                b[k] = v.clone();
            }
            let err = spec(b).unwrap_err();
            assert!(err.message.contains(want), "{want}: {}", err.message);
        }
        let mut b = base();
        b["search_space"]["A"] = serde_json::json!({"type": "choice", "values": [1]});
        b["search_space"]["a"] = serde_json::json!({"type": "choice", "values": [1]});
        assert!(spec(b).unwrap_err().message.contains("MLP_PARAM_A"));
    }

    #[test]
    fn trial_jobs_get_params_in_env_and_command() {
        let s = spec(base()).unwrap();
        let params = s.trial_params(3).unwrap();
        let job = s.trial_job("sw-1", 3, &params);
        assert_eq!(job.name, "s-t3");
        assert_eq!(job.command, vec!["python", "t.py", "--lr=0.01"]);
        assert_eq!(job.env["MLP_PARAM_LR"], "0.01");
        assert_eq!(job.env["MLP_PARAM_DEPTH"], "4");
        assert_eq!(job.env["MLP_TRIAL_INDEX"], "3");
        assert!(job.clone().validate().is_ok());
    }

    fn asha() -> Asha {
        Asha {
            min_resource: 1,
            max_resource: Some(27),
            eta: 3,
        }
    }

    #[test]
    fn asha_rungs_are_geometric_below_the_maximum() {
        assert_eq!(asha().rungs(), vec![1, 3, 9]);
        let open = Asha {
            min_resource: 2,
            max_resource: None,
            eta: 2,
        };
        assert_eq!(&open.rungs()[..4], &[2, 4, 8, 16]);
    }

    #[test]
    fn asha_rung_values_wait_for_the_rung_to_be_reached() {
        let a = asha();
        let h = [(0, 5.0), (1, 4.0), (2, 3.5), (3, 3.0), (5, 2.0)];
        // Steps up to 5 seen: rungs 1 and 3 passed, 9 not yet.
        assert_eq!(a.rung_values(&h), vec![4.0, 3.0]);
        // Out of order arrival changes nothing.
        let mut shuffled = h.to_vec();
        shuffled.reverse();
        assert_eq!(a.rung_values(&shuffled), vec![4.0, 3.0]);
        // Between logged steps, the last value before the rung counts.
        assert_eq!(a.rung_values(&[(0, 1.0), (2, 0.5), (4, 0.25)]), vec![1.0, 0.5]);
        assert!(a.rung_values(&[(0, 1.0)]).is_empty());
        assert!(a.rung_values(&[]).is_empty());
    }

    #[test]
    fn asha_keeps_the_top_third_and_stops_the_rest() {
        let a = asha();
        let min = Direction::Minimize;
        // Alone at a rung: kept (nobody to compare with).
        assert!(a.keep(min, 9.0, &[9.0]));
        // Two at the rung: the top max(1, 2/3) = 1 is kept.
        assert!(a.keep(min, 1.0, &[1.0, 2.0]));
        assert!(!a.keep(min, 2.0, &[1.0, 2.0]));
        // Six at the rung: the best two go on.
        let rung = [5.0, 1.0, 3.0, 2.0, 6.0, 4.0];
        let kept: Vec<f64> = rung.iter().copied().filter(|v| a.keep(min, *v, &rung)).collect();
        assert_eq!(kept, vec![1.0, 2.0]);
        // Maximizing flips it; ties are kept together; NaN is the worst.
        assert!(a.keep(Direction::Maximize, 6.0, &rung));
        assert!(!a.keep(Direction::Maximize, 1.0, &rung));
        assert!(a.keep(min, 1.0, &[1.0, 1.0, 1.0]));
        assert!(!a.keep(min, f64::NAN, &[f64::NAN, 3.0]));
        assert!(a.keep(min, 3.0, &[f64::NAN, 3.0]));
    }

    #[test]
    fn spec_round_trips_through_json() {
        let mut b = base();
        b["strategy"] = serde_json::json!({"type": "asha", "seed": 3, "sampler": "grid", "max_resource": 9});
        let s = spec(b).unwrap();
        let back: SweepSpec = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(
            s.asha(),
            Some(Asha {
                min_resource: 1,
                max_resource: Some(9),
                eta: 3
            })
        );
    }
}
