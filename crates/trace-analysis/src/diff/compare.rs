//! Two sets of samples compared metric by metric, with a verdict a CI job can trust: the
//! median and its 95% interval per side, Mann-Whitney U, Holm-Bonferroni across the metrics
//! that may fail the run, and a regression only when the change is significant, large enough
//! relative to the old median and large enough in absolute terms.

use std::collections::{BTreeMap, BTreeSet};

use super::sample::{Direction, MetricKey, MetricKind, MetricScope, Sample, Unit, is_program_group};
use super::stats::{holm, mann_whitney, median, median_interval};

/// Below this many samples on a side, a comparison only describes and never fails.
pub const MIN_SAMPLES: usize = 4;

/// How a comparison decides.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// The significance level (0.05).
    pub alpha: f64,
    /// The smallest relative change of the median that counts (0.05 for 5%).
    pub threshold: f64,
    /// The metrics that may fail the run: those whose `scope/subject/measure` name contains
    /// one of these; empty for the default (every metric with a direction, of the program's
    /// goroutines, tasks, regions, profiles and the runtime).
    pub gates: Vec<String>,
}

impl Default for CompareOptions {
    fn default() -> CompareOptions {
        CompareOptions { alpha: 0.05, threshold: 0.05, gates: Vec::new() }
    }
}

/// The smallest absolute change of a median that counts, per unit: below it a change is
/// noise however significant (3 ns more waiting is not a regression).
pub fn floor(unit: Unit) -> f64 {
    match unit {
        Unit::Nanos => 1_000.0,
        Unit::Count => 1.0,
        Unit::Bytes => 1024.0,
        Unit::Ratio => 0.01,
    }
}

/// What the comparison says about a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// Significantly and noticeably worse.
    Regression,
    /// Significantly and noticeably better.
    Improvement,
    /// Significantly and noticeably different, for a metric with no better direction.
    Change,
    /// No significant change ("~").
    Same,
    /// Too few samples on a side to test: the medians only.
    Descriptive,
    /// Measured on one side only.
    OneSided,
}

impl Verdict {
    /// `regression`, `improvement`, `change`, `~`, `descriptive` or `one-sided`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Regression => "regression",
            Verdict::Improvement => "improvement",
            Verdict::Change => "change",
            Verdict::Same => "~",
            Verdict::Descriptive => "descriptive",
            Verdict::OneSided => "one-sided",
        }
    }
}

/// One side of a metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// One value per sample that has it.
    pub values: Vec<f64>,
    /// Their median.
    pub median: f64,
    /// Its 95% confidence interval, if the sample is large enough.
    pub interval: Option<(f64, f64)>,
}

impl Side {
    fn of(values: Vec<f64>) -> Side {
        Side { median: median(&values), interval: median_interval(&values, 0.95), values }
    }
}

/// One metric compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What it measures.
    pub key: MetricKey,
    /// Its unit, direction and kind.
    pub kind: MetricKind,
    /// The old side (empty values if only the new side has it).
    pub old: Side,
    /// The new side.
    pub new: Side,
    /// The relative change of the median (`+0.12` for 12% more), if the old median is not 0.
    pub change: Option<f64>,
    /// The Mann-Whitney p-value, when both sides have enough samples.
    pub p: Option<f64>,
    /// Holm-Bonferroni's adjusted p-value, for the metrics that may fail the run.
    pub p_adjusted: Option<f64>,
    /// Whether this metric may fail the run.
    pub gated: bool,
    /// The verdict.
    pub verdict: Verdict,
    /// For a group's wait: the place whose time changed most, with the medians.
    pub explanation: Option<String>,
}

/// Two sets of samples compared.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// How many samples each side has.
    pub samples: (usize, usize),
    /// Every metric either side has: regressions first (the largest change first), then
    /// the other changes, then the rest in key order.
    pub rows: Vec<Row>,
    /// The options it was made with.
    pub options: CompareOptions,
}

impl Comparison {
    /// The rows that may fail the run and have this verdict.
    pub fn gated(&self, verdict: Verdict) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(move |r| r.gated && r.verdict == verdict)
    }
}

/// The values of a metric over samples: absent is 0 for sums, unknown otherwise.
fn values(samples: &[Sample], key: &MetricKey, kind: MetricKind) -> Vec<f64> {
    samples
        .iter()
        .filter_map(|s| match s.metrics.get(key) {
            Some(&(_, v)) => Some(v),
            None if kind.additive => Some(0.0),
            None => None,
        })
        .collect()
}

fn is_gated(key: &MetricKey, kind: MetricKind, gates: &[String]) -> bool {
    if !gates.is_empty() {
        let id = key.id();
        return gates.iter().any(|g| id.contains(g.as_str()));
    }
    kind.direction != Direction::Neither
        && match key.scope {
            MetricScope::Group => is_program_group(&key.subject),
            _ => true,
        }
}

/// Compares `old` with `new`.
pub fn compare(old: &[Sample], new: &[Sample], options: &CompareOptions) -> Comparison {
    let mut keys: BTreeMap<MetricKey, MetricKind> = BTreeMap::new();
    let mut on_side: [BTreeSet<MetricKey>; 2] = Default::default();
    for (side, samples) in [old, new].into_iter().enumerate() {
        for s in samples {
            for (key, &(kind, _)) in &s.metrics {
                keys.entry(key.clone()).or_insert(kind);
                on_side[side].insert(key.clone());
            }
        }
    }
    let enough = old.len() >= MIN_SAMPLES && new.len() >= MIN_SAMPLES;
    let mut rows: Vec<Row> = keys
        .into_iter()
        .map(|(key, kind)| {
            let both = on_side[0].contains(&key) && on_side[1].contains(&key);
            let (o, n) = if both {
                (Side::of(values(old, &key, kind)), Side::of(values(new, &key, kind)))
            } else {
                let side = |i: usize, samples: &[Sample]| {
                    if on_side[i].contains(&key) { Side::of(values(samples, &key, kind)) } else { Side::of(Vec::new()) }
                };
                (side(0, old), side(1, new))
            };
            let change = (both && o.median != 0.0).then(|| (n.median - o.median) / o.median.abs());
            let p = (both && enough && o.values.len() >= MIN_SAMPLES && n.values.len() >= MIN_SAMPLES)
                .then(|| mann_whitney(&o.values, &n.values).map(|m| m.p))
                .flatten();
            let gated = both && is_gated(&key, kind, &options.gates);
            Row {
                key,
                kind,
                old: o,
                new: n,
                change,
                p,
                p_adjusted: None,
                gated,
                verdict: Verdict::Same,
                explanation: None,
            }
        })
        .collect();
    // Holm-Bonferroni over the metrics that may fail the run.
    let tested: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].gated && rows[i].p.is_some()).collect();
    let adjusted = holm(&tested.iter().map(|&i| rows[i].p.expect("tested")).collect::<Vec<_>>());
    for (&i, p) in tested.iter().zip(adjusted) {
        rows[i].p_adjusted = Some(p);
    }
    for row in &mut rows {
        row.verdict = verdict(row, options);
        if matches!(row.verdict, Verdict::Regression | Verdict::Improvement | Verdict::Change) {
            row.explanation = explain(&row.key, old, new);
        }
    }
    let rank = |r: &Row| match r.verdict {
        Verdict::Regression => 0,
        Verdict::Improvement | Verdict::Change => 1,
        _ => 2,
    };
    rows.sort_by(|a, b| {
        rank(a).cmp(&rank(b)).then_with(|| {
            if rank(a) < 2 {
                let size = |r: &Row| r.change.map_or(f64::INFINITY, f64::abs);
                size(b).total_cmp(&size(a)).then_with(|| a.key.cmp(&b.key))
            } else {
                a.key.cmp(&b.key)
            }
        })
    });
    Comparison { samples: (old.len(), new.len()), rows, options: options.clone() }
}

fn verdict(row: &Row, options: &CompareOptions) -> Verdict {
    if row.old.values.is_empty() || row.new.values.is_empty() {
        return Verdict::OneSided;
    }
    let Some(p) = row.p_adjusted.or(row.p) else { return Verdict::Descriptive };
    let delta = row.new.median - row.old.median;
    let large = row.change.is_none_or(|c| c.abs() >= options.threshold) && delta.abs() >= floor(row.kind.unit);
    if p >= options.alpha || !large {
        return Verdict::Same;
    }
    match (row.kind.direction, delta > 0.0) {
        (Direction::LowerIsBetter, true) | (Direction::HigherIsBetter, false) => Verdict::Regression,
        (Direction::LowerIsBetter, false) | (Direction::HigherIsBetter, true) => Verdict::Improvement,
        (Direction::Neither, _) => Verdict::Change,
    }
}

/// For a group's wait: the place whose median time changed most between the sides.
fn explain(key: &MetricKey, old: &[Sample], new: &[Sample]) -> Option<String> {
    if key.scope != MetricScope::Group || !key.measure.starts_with("blocked") {
        return None;
    }
    let wait = (key.subject.clone(), key.measure.clone());
    let places: BTreeSet<&String> =
        old.iter().chain(new).filter_map(|s| s.waits.get(&wait)).flat_map(|p| p.keys()).collect();
    let per_side = |samples: &[Sample], place: &str| -> f64 {
        let v: Vec<f64> =
            samples.iter().map(|s| s.waits.get(&wait).and_then(|p| p.get(place)).copied().unwrap_or(0.0)).collect();
        median(&v)
    };
    let (place, o, n) = places
        .into_iter()
        .map(|p| (p, per_side(old, p), per_side(new, p)))
        .max_by(|a, b| (a.2 - a.1).abs().total_cmp(&(b.2 - b.1).abs()).then_with(|| b.0.cmp(a.0)))?;
    Some(format!(
        "most of the change is at {place}: {} to {}",
        crate::report::format_duration(o as i64, " "),
        crate::report::format_duration(n as i64, " ")
    ))
}
