//! Goroutines grouped by start function, as Go's `/goroutines` page lists them, with the
//! distribution of each category over the group's goroutines, which Go does not show.

use std::collections::BTreeMap;

use crate::goroutines::{ExecStats, GoroutineSummary, Nanos, Summary};

/// The goroutines that share a start function.
#[derive(Debug, Clone, PartialEq)]
pub struct GoroutineGroup {
    /// The start function; empty for goroutines whose stack was never seen.
    pub name: String,
    /// The group's goroutine IDs, in increasing order.
    pub goroutines: Vec<i64>,
    /// The group's time, category by category: the sums over its goroutines.
    pub stats: ExecStats,
    /// The share of the execution time of all goroutines that this group took, in percent.
    pub exec_share: f64,
    /// The distribution over the group's goroutines of their total time.
    pub total_time: Percentiles,
    /// ... of their execution time.
    pub exec_time: Percentiles,
    /// ... of their scheduler wait.
    pub sched_wait_time: Percentiles,
    /// ... of their time blocked (any reason).
    pub block_time: Percentiles,
    /// ... of their time in system calls (executing or blocked).
    pub syscall_time: Percentiles,
}

/// Percentiles of a set of durations (nearest rank: the smallest value with at least that
/// share of the values at or below it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Percentiles {
    /// The median.
    pub p50: Nanos,
    /// The 90th percentile.
    pub p90: Nanos,
    /// The 99th percentile.
    pub p99: Nanos,
    /// The largest value.
    pub max: Nanos,
}

impl Percentiles {
    /// The percentiles of `values` (all zero for none).
    pub fn of(mut values: Vec<Nanos>) -> Percentiles {
        if values.is_empty() {
            return Percentiles::default();
        }
        values.sort_unstable();
        let rank = |p: usize| values[(values.len() * p).div_ceil(100).clamp(1, values.len()) - 1];
        Percentiles { p50: rank(50), p90: rank(90), p99: rank(99), max: values[values.len() - 1] }
    }
}

/// Adds `b` into `a`, category by category.
fn accumulate(a: &mut ExecStats, b: &ExecStats) {
    a.exec_time += b.exec_time;
    a.sched_wait_time += b.sched_wait_time;
    a.syscall_time += b.syscall_time;
    a.syscall_block_time += b.syscall_block_time;
    a.total_time += b.total_time;
    for (reason, time) in &b.block_time_by_reason {
        *a.block_time_by_reason.entry(reason.clone()).or_default() += time;
    }
    for (name, time) in &b.range_time {
        *a.range_time.entry(name.clone()).or_default() += time;
    }
}

/// The goroutines grouped by start function, the group with the most execution time first
/// (as Go sorts them; ties by name).
pub fn group_goroutines(summary: &Summary) -> Vec<GoroutineGroup> {
    let mut by_name: BTreeMap<&str, Vec<&GoroutineSummary>> = BTreeMap::new();
    for g in summary.goroutines.values() {
        by_name.entry(&g.name).or_default().push(g);
    }
    let all_exec: Nanos = summary.goroutines.values().map(|g| g.stats.exec_time).sum();
    let mut groups: Vec<GoroutineGroup> = by_name
        .into_iter()
        .map(|(name, members)| {
            let mut stats = ExecStats::default();
            for g in &members {
                accumulate(&mut stats, &g.stats);
            }
            let distribution =
                |f: fn(&ExecStats) -> Nanos| Percentiles::of(members.iter().map(|g| f(&g.stats)).collect());
            GoroutineGroup {
                name: name.to_owned(),
                goroutines: members.iter().map(|g| g.id).collect(),
                exec_share: if all_exec > 0 { stats.exec_time as f64 * 100.0 / all_exec as f64 } else { 0.0 },
                total_time: distribution(|s| s.total_time),
                exec_time: distribution(|s| s.exec_time),
                sched_wait_time: distribution(|s| s.sched_wait_time),
                block_time: distribution(ExecStats::block_time),
                syscall_time: distribution(|s| s.syscall_time + s.syscall_block_time),
                stats,
            }
        })
        .collect();
    groups.sort_by(|a, b| b.stats.exec_time.cmp(&a.stats.exec_time).then_with(|| a.name.cmp(&b.name)));
    groups
}

#[cfg(test)]
mod tests {
    use super::Percentiles;

    #[test]
    fn nearest_rank_percentiles() {
        let p = Percentiles::of((1..=100).rev().collect());
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50, 90, 99, 100));
        let p = Percentiles::of(vec![7]);
        assert_eq!((p.p50, p.p90, p.p99, p.max), (7, 7, 7, 7));
        assert_eq!(Percentiles::of(Vec::new()), Percentiles::default());
        let p = Percentiles::of(vec![1, 2, 3]);
        assert_eq!((p.p50, p.p90, p.max), (2, 3, 3));
    }
}
