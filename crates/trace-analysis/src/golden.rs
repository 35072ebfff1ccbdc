//! The text forms in which analyses are compared with Go's `go tool trace`: `cargo xtask
//! oracle` turns Go's pages and profiles into these forms (the goldens stored next to the
//! fixtures), and the tests and the live comparison turn our results into them.
//!
//! Each form is a sorted list of lines, so that Go's unstable orders (map iteration, unstable
//! sorts of ties) do not matter; times are integer nanoseconds, which is exactly what Go's
//! pages show (Go prints durations in full).

use std::collections::{BTreeMap, BTreeSet};

use crate::goroutines::{EXECUTION_TIME, Nanos, Summary};
use crate::pprof::sample_lines;
use crate::profile::{ProfileKind, ProfileRecord};

/// How Go's goroutine list names the group of goroutines with no known start function.
pub const UNNAMED_GROUP: &str = "(Inactive, no stack trace sampled)";

/// One line of the goroutine pages' form.
pub fn group_line(name: &str, count: usize, exec_time: Nanos) -> String {
    format!("group\t{name}\t{count}\t{exec_time}")
}

/// The share of all execution time a group took, as Go prints it (`12.34%`, or empty).
pub fn share_line(name: &str, share: &str) -> String {
    format!("share\t{name}\t{share}")
}

/// A goroutine's row of a group's breakdown table: its total time, then each column.
pub fn breakdown_line(name: &str, id: i64, total: Nanos, columns: &[(String, Nanos)]) -> String {
    let cells: Vec<String> = columns.iter().map(|(c, t)| format!("{c}={t}")).collect();
    format!("goroutine\t{name}\t{id}\t{total}\t{}", cells.join("\t"))
}

/// A goroutine's row of a group's special-ranges table.
pub fn range_line(name: &str, id: i64, total: Nanos, columns: &[(String, Nanos)]) -> String {
    let cells: Vec<String> = columns.iter().map(|(c, t)| format!("{c}={t}")).collect();
    format!("ranges\t{name}\t{id}\t{total}\t{}", cells.join("\t"))
}

/// Go's `/goroutines` and `/goroutine?name=` pages of the trace in the compared form.
pub fn goroutine_pages(summary: &Summary) -> Vec<String> {
    let mut groups: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for g in summary.goroutines.values() {
        groups.entry(&g.name).or_default().push(g);
    }
    let all_exec: Nanos = summary.goroutines.values().map(|g| g.stats.exec_time).sum();
    let mut lines = Vec::new();
    for (name, members) in groups {
        let shown = if name.is_empty() { UNNAMED_GROUP } else { name };
        let exec: Nanos = members.iter().map(|g| g.stats.exec_time).sum();
        lines.push(group_line(shown, members.len(), exec));
        let share = if all_exec > 0 { format!("{:.2}%", exec as f64 / all_exec as f64 * 100.0) } else { String::new() };
        lines.push(share_line(name, &share));
        // A group's tables have a column for every category or range any of its goroutines has.
        let stats: Vec<_> = members.iter().map(|g| g.stats.non_overlapping()).collect();
        let mut columns: Vec<&String> =
            stats.iter().flat_map(|s| s.keys()).collect::<BTreeSet<_>>().into_iter().collect();
        // Go puts the execution time first, the rest in alphabetical order.
        columns.sort_by_key(|&c| c != EXECUTION_TIME);
        let range_columns: BTreeSet<&String> = members.iter().flat_map(|g| g.stats.range_time.keys()).collect();
        for (g, stats) in members.iter().zip(&stats) {
            let cells: Vec<(String, Nanos)> =
                columns.iter().map(|&c| (c.clone(), stats.get(c).copied().unwrap_or(0))).collect();
            lines.push(breakdown_line(name, g.id, g.stats.total_time, &cells));
            if g.stats.range_time.values().sum::<Nanos>() != 0 {
                let cells: Vec<(String, Nanos)> = range_columns
                    .iter()
                    .map(|&c| (c.clone(), g.stats.range_time.get(c).copied().unwrap_or(0)))
                    .collect();
                lines.push(range_line(name, g.id, g.stats.total_time, &cells));
            }
        }
    }
    lines.sort();
    lines
}

/// The four profiles in the compared form: a header line per profile, then its samples.
pub fn profiles(profiles: &[(ProfileKind, Vec<ProfileRecord>)]) -> Vec<String> {
    let mut lines = Vec::new();
    for (kind, records) in profiles {
        lines.push(format!("profile {}", kind.name()));
        lines.extend(sample_lines(records).into_iter().map(|l| format!("{} {l}", kind.name())));
    }
    lines.sort();
    lines
}
