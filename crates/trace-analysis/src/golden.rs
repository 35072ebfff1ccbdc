//! The text forms in which analyses are compared with Go's `go tool trace`: `cargo xtask
//! oracle` turns Go's pages and profiles into these forms (the goldens stored next to the
//! fixtures), and the tests and the live comparison turn our results into them.
//!
//! Each form is a sorted list of lines, so that Go's unstable orders (map iteration, unstable
//! sorts of ties) do not matter; times are integer nanoseconds, which is exactly what Go's
//! pages show (Go prints durations in full).

use std::collections::{BTreeMap, BTreeSet};

use trace_format::ir::TraceIr;

use crate::goroutines::{EXECUTION_TIME, Nanos, RegionSummary, Summary};
use crate::mmu::{MmuCurve, UtilFlags, mutator_utilization};
use crate::pprof::sample_lines;
use crate::profile::{ProfileKind, ProfileRecord};
use crate::tasks::{RegionType, region_types, task_events, task_types};

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
        let (columns, range_columns) = stat_columns(members.iter().map(|g| &g.stats));
        for g in &members {
            lines.push(breakdown_line(name, g.id, g.stats.total_time, &cells(&g.stats.non_overlapping(), &columns)));
            if g.stats.range_time.values().sum::<Nanos>() != 0 {
                lines.push(range_line(name, g.id, g.stats.total_time, &cells(&g.stats.range_time, &range_columns)));
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

/// A histogram as Go draws it: each bucket's smallest duration and count, lowest first.
pub fn histogram_text(rows: &[(Nanos, u64)]) -> String {
    let cells: Vec<String> = rows.iter().map(|(min, count)| format!("{min}:{count}")).collect();
    cells.join(",")
}

/// A row of the task types table.
pub fn task_type_line(name: &str, count: usize, histogram: &str) -> String {
    format!("task-type\t{name}\t{count}\t{histogram}")
}

/// A task of a type's page: its start since the trace's, duration and completeness.
pub fn task_line(id: u64, since_start: Nanos, duration: Nanos, complete: bool) -> String {
    format!("task\t{id}\t{since_start}\t{duration}\t{}", if complete { "complete" } else { "incomplete" })
}

/// An event of a task, as its type's page lists it.
pub fn task_event_line(id: u64, since_start: Nanos, goroutine: &str, what: &str) -> String {
    format!("task-event\t{id}\t{since_start}\t{goroutine}\t{what}")
}

/// A row of the region types table; `place` is Go's cell: the quoted type, then where the
/// regions began (`"type"|func @ 0xpc|file:line`).
pub fn region_type_line(place: &str, count: u64, histogram: &str) -> String {
    format!("region-type\t{place}\t{count}\t{histogram}")
}

/// A region of a type's page, with its goroutine's time while it was active.
pub fn region_line(place: &str, goroutine: i64, task: &str, total: Nanos, columns: &[(String, Nanos)]) -> String {
    let cells: Vec<String> = columns.iter().map(|(c, t)| format!("{c}={t}")).collect();
    format!("region\t{place}\t{goroutine}\t{task}\t{total}\t{}", cells.join("\t"))
}

/// A region's row of the special-ranges table of its type's page.
pub fn region_range_line(place: &str, goroutine: i64, task: &str, total: Nanos, columns: &[(String, Nanos)]) -> String {
    let cells: Vec<String> = columns.iter().map(|(c, t)| format!("{c}={t}")).collect();
    format!("region-ranges\t{place}\t{goroutine}\t{task}\t{total}\t{}", cells.join("\t"))
}

/// Go's cell naming a region type and where its regions began.
pub fn region_place(region_type: &RegionType) -> String {
    let mut quoted = Vec::new();
    trace_format::text::quote_into(&mut quoted, region_type.name.as_bytes());
    let (func, pc, file, line) =
        region_type.frame.as_ref().map_or(("", 0, "", 0), |f| (f.func.as_str(), f.pc, f.file.as_str(), f.line));
    format!("{}|{func} @ {pc:#x}|{file}:{line}", String::from_utf8_lossy(&quoted))
}

/// Columns of a table of goroutine time, as Go lays them out: one per category that any row
/// has, the execution time first; and one per special range any row has.
fn stat_columns<'a>(stats: impl Iterator<Item = &'a crate::ExecStats> + Clone) -> (Vec<String>, Vec<String>) {
    let mut columns: Vec<String> =
        stats.clone().flat_map(|s| s.non_overlapping().into_keys()).collect::<BTreeSet<_>>().into_iter().collect();
    columns.sort_by_key(|c| c != EXECUTION_TIME);
    let ranges =
        stats.flat_map(|s| s.range_time.keys().map(|k| k.to_string())).collect::<BTreeSet<_>>().into_iter().collect();
    (columns, ranges)
}

/// The cells of `stats` under `columns` (missing categories are zero).
fn cells<K: std::borrow::Borrow<str> + Ord>(stats: &BTreeMap<K, Nanos>, columns: &[String]) -> Vec<(String, Nanos)> {
    columns.iter().map(|c| (c.clone(), stats.get(c.as_str()).copied().unwrap_or(0))).collect()
}

/// Go's `/usertasks`, `/usertask?type=`, `/userregions` and `/userregion?type=&pc=` pages in
/// the compared form.
pub fn task_and_region_pages(ir: &TraceIr, summary: &Summary) -> Vec<String> {
    let mut lines = Vec::new();
    for task_type in task_types(summary) {
        lines.push(task_type_line(
            &task_type.name,
            task_type.tasks.len(),
            &histogram_text(&task_type.histogram.rows()),
        ));
        for id in &task_type.tasks {
            let task = &summary.tasks[id];
            let (start, end) = summary.task_interval(task);
            lines.push(task_line(*id, start - summary.start_time, end - start, task.is_complete()));
            for event in task_events(summary, task) {
                lines.push(task_event_line(
                    *id,
                    event.time - summary.start_time,
                    &event.goroutine.to_string(),
                    &event.what,
                ));
            }
        }
    }
    for region_type in region_types(ir, summary) {
        let place = region_place(&region_type);
        lines.push(region_type_line(
            &place,
            region_type.histogram.count,
            &histogram_text(&region_type.histogram.rows()),
        ));
        let regions: Vec<&RegionSummary> = region_type.regions.iter().map(|&(_, i)| &summary.regions[i]).collect();
        let (columns, ranges) = stat_columns(regions.iter().map(|r| &r.stats));
        for (&(goroutine, _), region) in region_type.regions.iter().zip(&regions) {
            let task = if region.task == 0 { String::new() } else { region.task.to_string() };
            let stats = &region.stats;
            lines.push(region_line(
                &place,
                goroutine,
                &task,
                stats.total_time,
                &cells(&stats.non_overlapping(), &columns),
            ));
            if stats.range_time.values().sum::<Nanos>() != 0 {
                lines.push(region_range_line(
                    &place,
                    goroutine,
                    &task,
                    stats.total_time,
                    &cells(&stats.range_time, &ranges),
                ));
            }
        }
    }
    lines.sort();
    lines
}

/// The flag sets whose MMU curves are compared with Go's.
pub const MMU_FLAG_SETS: [UtilFlags; 3] = [
    UtilFlags::ALL,
    UtilFlags { per_proc: true, ..UtilFlags::ALL },
    UtilFlags { stw: true, background: false, assist: false, sweep: false, per_proc: false },
];

/// An MMU plot of a trace without utilization (no GOMAXPROCS metric: Go 1.21 and older
/// traces, on which Go's page fails).
pub fn mmu_none_line(flags: &str) -> String {
    format!("mmu\t{flags}\tnone")
}

/// The range of window sizes of an MMU plot.
pub fn mmu_range_line(flags: &str, x_min: Nanos, x_max: Nanos) -> String {
    format!("mmu\t{flags}\trange\t{x_min}\t{x_max}")
}

/// A point of an MMU plot: the window (to four significant digits, as Go computes it in
/// floating point) and the MMU (to six decimals).
pub fn mmu_point_line(flags: &str, index: usize, window: f64, mmu: f64) -> String {
    format!("mmu\t{flags}\t{index:02}\t{window:.3e}\t{mmu:.6}")
}

/// Go's MMU plots (`/mmu?mode=plot&flags=...`) for [`MMU_FLAG_SETS`] in the compared form.
pub fn mmu_plots(ir: &TraceIr) -> Vec<String> {
    let mut lines = Vec::new();
    for flags in MMU_FLAG_SETS {
        let utilization = mutator_utilization(ir, flags);
        let names = flags.names();
        if utilization.is_empty() {
            lines.push(mmu_none_line(&names));
            continue;
        }
        let curve = MmuCurve::new(&utilization);
        let (x_min, x_max, points) = curve.plot();
        lines.push(mmu_range_line(&names, x_min, x_max));
        for (i, (window, mmu)) in points.into_iter().enumerate() {
            lines.push(mmu_point_line(&names, i, window as f64, mmu));
        }
    }
    lines.sort();
    lines
}

/// A sample line of a profile of one goroutine group or one region type.
pub fn scoped_profile_lines(scope: &str, kind: ProfileKind, records: &[ProfileRecord]) -> Vec<String> {
    sample_lines(records).into_iter().map(|l| format!("{scope}\t{} {l}", kind.name())).collect()
}

/// The scope of a group's profiles in the compared form.
pub fn group_scope(name: &str) -> String {
    format!("group {name}")
}

/// The profiles of every goroutine group (Go's `/io?name=`, `/block?name=`, ...) and of every
/// region type (`/regionio?type=&pc=`, ...) in the compared form.
pub fn scoped_profiles(ir: &TraceIr, summary: &Summary) -> Vec<String> {
    let mut lines = Vec::new();
    let names: BTreeSet<&str> = summary.goroutines.values().map(|g| &*g.name).collect();
    let region_types = region_types(ir, summary);
    // Go's pages read an empty name as no filter: the unnamed group's profiles are those of
    // every goroutine.
    let mut scopes: Vec<(String, crate::Intervals)> = names
        .into_iter()
        .map(|n| (group_scope(n), crate::Intervals::goroutines(summary, (!n.is_empty()).then_some(n))))
        .collect();
    for region_type in &region_types {
        let pc = region_type.frame.as_ref().map_or(0, |f| f.pc);
        let intervals = crate::Intervals::regions(summary, |r| {
            r.name == region_type.name && crate::region_start_frame(ir, r).map_or(0, |f| f.pc) == pc
        });
        scopes.push((format!("region {}", region_place(region_type)), intervals));
    }
    for (scope, intervals) in &scopes {
        for kind in ProfileKind::ALL {
            lines.extend(scoped_profile_lines(scope, kind, &crate::profile(ir, kind, intervals)));
        }
    }
    lines.sort();
    lines
}
