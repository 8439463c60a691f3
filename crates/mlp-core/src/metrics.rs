//! Rules of metric values that every store applies the same way: how NaN is stored, which point
//! is a metric's latest, and which steps a sampled history keeps.

use std::collections::BTreeSet;

use crate::model::Metric;

/// NaN cannot be stored in a REAL column portably: it is kept as 0 with a flag, as MLflow does.
pub fn stored_value(v: f64) -> (f64, i64) {
    if v.is_nan() { (0.0, 1) } else { (v, 0) }
}

/// The inverse of [`stored_value`].
pub fn metric_value(value: f64, is_nan: bool) -> f64 {
    if is_nan { f64::NAN } else { value }
}

/// Whether point `a` supersedes `b` as the latest value: higher step, then timestamp, then value,
/// NaN below every number. The stores' upsert of `latest_metrics` compares in the same order.
pub fn supersedes(a: &Metric, b: &Metric) -> bool {
    let va = if a.value.is_nan() { f64::NEG_INFINITY } else { a.value };
    let vb = if b.value.is_nan() { f64::NEG_INFINITY } else { b.value };
    (a.step, a.timestamp)
        .cmp(&(b.step, b.timestamp))
        .then(va.total_cmp(&vb))
        .is_gt()
}

/// MLflow's sampling for charts: all of `steps` (sorted, distinct) if few enough, otherwise
/// `max` steps evenly spread over them, always keeping the first and the last.
pub fn sample_steps(steps: &[i64], max: usize) -> Vec<i64> {
    if steps.len() <= max || max < 2 {
        return steps.iter().copied().take(max.max(steps.len().min(max))).collect();
    }
    let mut out = BTreeSet::new();
    let n = steps.len() - 1;
    for i in 0..max {
        out.insert(steps[i * n / (max - 1)]);
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(step: i64, timestamp: i64, value: f64) -> Metric {
        Metric {
            key: "m".into(),
            value,
            timestamp,
            step,
            ..Default::default()
        }
    }

    #[test]
    fn sampling_keeps_ends_and_bounds_count() {
        let steps: Vec<i64> = (0..1000).collect();
        let s = sample_steps(&steps, 10);
        assert_eq!(s.len(), 10);
        assert_eq!(s.first(), Some(&0));
        assert_eq!(s.last(), Some(&999));
        assert_eq!(sample_steps(&[1, 2, 3], 10), vec![1, 2, 3]);
        assert_eq!(sample_steps(&[1, 2, 3], 1), vec![1]);
    }

    #[test]
    fn latest_is_by_step_then_timestamp_then_value() {
        assert!(supersedes(&point(2, 0, 0.0), &point(1, 9, 9.0)));
        assert!(supersedes(&point(1, 2, 0.0), &point(1, 1, 9.0)));
        assert!(supersedes(&point(1, 1, 2.0), &point(1, 1, 1.0)));
        assert!(!supersedes(&point(1, 1, 1.0), &point(1, 1, 1.0)));
        // NaN sorts below every number, -inf included, so arrival order does not matter.
        assert!(supersedes(&point(1, 1, -1.0), &point(1, 1, f64::NAN)));
        assert!(!supersedes(&point(1, 1, f64::NAN), &point(1, 1, -1.0)));
    }

    #[test]
    fn nan_round_trips_through_its_flag() {
        assert_eq!(stored_value(f64::NAN), (0.0, 1));
        assert_eq!(stored_value(-0.0).1, 0);
        assert!(metric_value(0.0, true).is_nan());
        assert_eq!(metric_value(1.5, false), 1.5);
    }
}
