//! The `analyze` report: one pass over every analysis, with the numbers a person reads first
//! and findings in plain language.

use std::collections::BTreeMap;

use rustc_hash::FxHashSet;
use trace_format::ir::TraceIr;
use trace_format::{Details, EventKind, RangeKind};

use crate::critical::{
    Category, CriticalPath, PathQuery, TaskMembership, TaskRelation, aggregate, critical_paths, region_query,
    task_query,
};
use crate::goroutines::{GoroutineSummary, Name, Nanos, Summary, is_system_goroutine, summarize};
use crate::graph::ExecutionGraph;
use crate::groups::{GoroutineGroup, group_goroutines};
use crate::mmu::{MmuCurve, UtilFlags, UtilWindow, mutator_utilization};
use crate::profile::{Intervals, ProfileKind, ProfileRecord, profiles};

/// The trace at a glance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overview {
    /// The trace format's Go version (`1.26` for Go 1.26 and 1.27 traces); old-format traces
    /// read as the version of the event model they are converted to.
    pub format_version: String,
    /// From the first event to the last.
    pub duration: Nanos,
    /// Events in the ordered stream.
    pub events: u64,
    /// Goroutines (IDs reused after a goroutine ended count once per goroutine).
    pub goroutines: u64,
    /// Distinct procs seen.
    pub procs: u64,
    /// The largest GOMAXPROCS seen, if the trace says.
    pub max_gomaxprocs: Option<u64>,
    /// Distinct threads seen.
    pub threads: u64,
    /// GC cycles that began in the trace.
    pub gc_cycles: u64,
    /// Stop-the-world pauses that ended in the trace.
    pub stw_pauses: u64,
    /// Their total duration.
    pub stw_total: Nanos,
    /// The longest.
    pub stw_max: Nanos,
}

/// Counts what the trace holds.
pub fn overview(ir: &TraceIr) -> Overview {
    let mut o = Overview { format_version: format!("1.{}", ir.trace_version), ..Overview::default() };
    let (mut procs, mut threads) = (FxHashSet::default(), FxHashSet::default());
    let (mut first, mut last) = (None, 0);
    let mut stw_begin = rustc_hash::FxHashMap::default();
    for event in ir.events() {
        o.events += 1;
        first.get_or_insert(event.time());
        last = event.time();
        if event.proc() >= 0 {
            procs.insert(event.proc());
        }
        if event.thread() >= 0 {
            threads.insert(event.thread());
        }
        match event.kind() {
            EventKind::StateTransition | EventKind::RangeBegin | EventKind::RangeEnd | EventKind::Metric => {}
            _ => continue,
        }
        match ir.details(&event) {
            Details::StateTransition(st) if st.is_creation() => o.goroutines += 1,
            Details::StateTransition(st)
                if matches!(
                    st.transition,
                    trace_format::Transition::Goroutine { from: trace_format::GoState::Undetermined, .. }
                ) =>
            {
                o.goroutines += 1
            }
            Details::Metric(m) if m.name == "/sched/gomaxprocs:threads" => {
                o.max_gomaxprocs = Some(o.max_gomaxprocs.unwrap_or(0).max(m.value));
            }
            Details::Range(r) if r.kind == RangeKind::GcMark && event.kind() == EventKind::RangeBegin => {
                o.gc_cycles += 1
            }
            Details::Range(r) if r.kind == RangeKind::StopTheWorld => {
                if event.kind() == EventKind::RangeBegin {
                    stw_begin.insert(r.scope, event.time());
                } else if let Some(begin) = stw_begin.remove(&r.scope) {
                    let pause = event.time() - begin;
                    o.stw_pauses += 1;
                    o.stw_total += pause;
                    o.stw_max = o.stw_max.max(pause);
                }
            }
            _ => {}
        }
    }
    o.duration = first.map_or(0, |f| last - f);
    o.procs = procs.len() as u64;
    o.threads = threads.len() as u64;
    o
}

/// A task or region instance with its duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timed {
    /// Its type.
    pub name: Name,
    /// The task's ID, or the region's task (0 for none).
    pub task: u64,
    /// The goroutine a region ran on; [`trace_format::NONE`] for tasks.
    pub goroutine: i64,
    /// When it began (the trace's start if before).
    pub start: Nanos,
    /// How long it lasted (until the trace's end if it did not end).
    pub duration: Nanos,
    /// Whether the trace shows both its beginning and its end.
    pub complete: bool,
}

/// The MMU at one window size, with the worst window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmuPoint {
    /// The window size.
    pub window: Nanos,
    /// The minimum mutator utilization (0 to 1).
    pub mmu: f64,
    /// The window where it occurs.
    pub worst: Option<UtilWindow>,
}

/// Everything the `analyze` report shows.
#[derive(Debug, Clone)]
pub struct Report {
    /// The trace at a glance.
    pub overview: Overview,
    /// The goroutines, tasks and regions.
    pub summary: Summary,
    /// Goroutine groups, the most execution time first.
    pub groups: Vec<GoroutineGroup>,
    /// The four profiles over all goroutines, longest stacks first.
    pub profiles: Vec<(ProfileKind, Vec<ProfileRecord>)>,
    /// The slowest tasks, slowest first.
    pub slowest_tasks: Vec<Timed>,
    /// The slowest regions, slowest first.
    pub slowest_regions: Vec<Timed>,
    /// The MMU (everything the GC takes, system-wide) at a few window sizes; empty if the
    /// trace does not tell GOMAXPROCS.
    pub mmu: Vec<MmuPoint>,
    /// What stands out, in plain language, most important first.
    pub findings: Vec<String>,
}

/// The window sizes the report gives the MMU at.
pub const REPORT_MMU_WINDOWS: [Nanos; 4] = [1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/// How many tasks and regions the report lists.
const SLOWEST: usize = 10;

/// Analyses the trace for the report.
pub fn report(ir: &TraceIr) -> Report {
    // The execution graph needs only the events: it is built beside the other analyses, so
    // that with two threads the critical-path findings cost little more time.
    let (graph, (overview, summary)) = rayon::join(|| ExecutionGraph::build(ir), || (overview(ir), summarize(ir)));
    let groups = group_goroutines(&summary);
    let all = Intervals::goroutines(&summary, None);
    let profiles = ProfileKind::ALL.into_iter().zip(profiles(ir, &ProfileKind::ALL, &all)).collect();
    let mut slowest_tasks: Vec<Timed> = summary
        .tasks
        .values()
        .filter(|t| t.start.is_some() || t.end.is_some())
        .map(|t| {
            let (start, end) = summary.task_interval(t);
            Timed {
                name: t.name.clone(),
                task: t.id,
                goroutine: trace_format::NONE,
                start,
                duration: end - start,
                complete: t.is_complete(),
            }
        })
        .collect();
    slowest_tasks.sort_by(|a, b| b.duration.cmp(&a.duration).then(a.task.cmp(&b.task)));
    slowest_tasks.truncate(SLOWEST);
    let mut slowest_regions: Vec<Timed> = summary
        .goroutines
        .values()
        .flat_map(|g| g.regions.iter().map(move |&i| (g.id, i)))
        .filter(|&(_, i)| !summary.regions[i].name.is_empty())
        .map(|(goroutine, i)| {
            let region = &summary.regions[i];
            let (start, end) = summary.region_interval(region);
            Timed {
                name: region.name.clone(),
                task: region.task,
                goroutine,
                start,
                duration: end - start,
                complete: region.start.is_some() && region.end.is_some(),
            }
        })
        .collect();
    slowest_regions.sort_by(|a, b| b.duration.cmp(&a.duration).then(a.start.cmp(&b.start)));
    slowest_regions.truncate(SLOWEST);
    let utilization = mutator_utilization(ir, UtilFlags::ALL);
    let mmu = if utilization.is_empty() {
        Vec::new()
    } else {
        let curve = MmuCurve::new(&utilization);
        REPORT_MMU_WINDOWS
            .into_iter()
            .filter(|&w| w <= overview.duration)
            .map(|window| MmuPoint {
                window,
                mmu: curve.mmu(window),
                worst: curve.worst_windows(window, 1).first().copied(),
            })
            .collect()
    };
    let mut findings = findings(&overview, &summary, &groups, &mmu);
    findings.extend(critical_path_findings(&graph, &summary));
    drop(graph);
    findings.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let findings = findings.into_iter().map(|(_, text)| text).collect();
    Report { overview, summary, groups, profiles, slowest_tasks, slowest_regions, mmu, findings }
}

/// A duration for people, to three significant digits: `5.35 s`, `14.0 ms`, `768 ns` (with
/// `separator` between the number and the unit).
pub fn format_duration(ns: Nanos, separator: &str) -> String {
    let abs = ns.unsigned_abs() as f64;
    let sign = if ns < 0 { "-" } else { "" };
    let (value, unit) = match abs {
        a if a < 1e3 => return format!("{ns}{separator}ns"),
        a if a < 1e6 => (a / 1e3, "µs"),
        a if a < 1e9 => (a / 1e6, "ms"),
        a => (a / 1e9, "s"),
    };
    let digits = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    format!("{sign}{value:.digits$}{separator}{unit}")
}

/// A duration in words for findings (`5.35 s`).
fn spoken_duration(ns: Nanos) -> String {
    format_duration(ns, " ")
}

fn count_words(n: usize, one: &str) -> String {
    if n == 1 { format!("one {one}") } else { format!("{n} {one}s") }
}

/// How findings name the time a goroutine was runnable.
const CPU_WAIT: &str = "waiting for a CPU (runnable)";

/// The waiting a goroutine did that a finding can name: a label and the time.
fn waits(g: &GoroutineSummary) -> Vec<(String, Nanos)> {
    let s = &g.stats;
    let mut waits = vec![
        ("waiting on the network".to_owned(), s.network_wait()),
        (CPU_WAIT.to_owned(), s.sched_wait_time),
        ("in system calls".to_owned(), s.syscall_time + s.syscall_block_time),
    ];
    for (reason, &time) in &s.block_time_by_reason {
        if &**reason != "network" {
            waits.push((format!("blocked ({reason})"), time));
        }
    }
    waits
}

fn findings(
    overview: &Overview,
    summary: &Summary,
    groups: &[GoroutineGroup],
    mmu: &[MmuPoint],
) -> Vec<(Nanos, String)> {
    let mut findings = Vec::new();
    // Groups named here are not named again for their goroutines' waiting for a CPU.
    let mut waiting_for_cpu: std::collections::BTreeSet<&str> = Default::default();
    // Groups whose goroutines mostly waited for a CPU: more runnable work than procs.
    for group in groups.iter().filter(|g| !is_system_goroutine(&g.name) && g.goroutines.len() > 1) {
        let s = &group.stats;
        // Worth a word when it is most of the group's time, more than it ran, and a
        // noticeable share of the trace.
        if s.sched_wait_time * 2 < s.total_time
            || s.sched_wait_time <= s.exec_time
            || s.sched_wait_time * 20 < overview.duration
        {
            continue;
        }
        waiting_for_cpu.insert(&group.name);
        let procs = overview.max_gomaxprocs.map_or(String::new(), |n| format!(" with GOMAXPROCS={n}"));
        findings.push((
            s.sched_wait_time,
            format!(
                "{} of {} spent {:.0}% of their time waiting for a CPU: {} in all, {:.0}x their {} of execution \
                 (a median of {} each){procs}; fewer, larger pieces of work would wait less",
                count_words(group.goroutines.len(), "goroutine"),
                group.name,
                (s.sched_wait_time as f64 * 100.0 / s.total_time.max(1) as f64).floor(),
                spoken_duration(s.sched_wait_time),
                s.sched_wait_time as f64 / s.exec_time.max(1) as f64,
                spoken_duration(s.exec_time),
                spoken_duration(group.exec_time.p50),
            ),
        ));
    }
    // Goroutines of the program (not of the runtime or of the tracing machinery, which wait
    // by design, nor those whose start is unknown) that spent most of the trace in one kind of
    // waiting.
    for group in groups.iter().filter(|g| !is_system_goroutine(&g.name) && !g.name.starts_with("runtime/")) {
        let mut by_wait: std::collections::BTreeMap<String, Vec<(Nanos, Nanos)>> = Default::default();
        for g in group.goroutines.iter().filter_map(|id| summary.goroutines.get(id)) {
            let total = g.stats.total_time;
            if let Some((label, time)) = waits(g).into_iter().max_by_key(|w| w.1)
                && total > 0
                && time * 2 >= overview.duration
                && time * 2 >= total
            {
                by_wait.entry(label).or_default().push((time, total));
            }
        }
        if waiting_for_cpu.contains(group.name.as_str()) {
            by_wait.remove(CPU_WAIT);
        }
        for (label, mut cases) in by_wait {
            cases.sort();
            let &(time, total) = cases.last().expect("not empty");
            // Rounded down, so that nearly all is not called all.
            let share = (time as f64 * 1000.0 / total as f64).floor() / 10.0;
            let text = if cases.len() == 1 {
                format!("one goroutine of {} spent {share:.1}% of its {} {label}", group.name, spoken_duration(total))
            } else {
                format!(
                    "{} of {} spent most of the trace {label} (the longest: {share:.1}% of its {})",
                    count_words(cases.len(), "goroutine"),
                    group.name,
                    spoken_duration(total)
                )
            };
            findings.push((time, text));
        }
    }
    // The GC's share of the CPU.
    if let Some(point) = mmu.iter().find(|p| p.window == 10_000_000)
        && point.mmu < 0.5
    {
        findings.push((
            overview.stw_total,
            format!(
                "the GC took more than half of the CPU in some 10 ms windows (minimum mutator utilization {:.0}%); \
                 {} stop-the-world pauses, {} in all, the longest {}",
                point.mmu * 100.0,
                overview.stw_pauses,
                spoken_duration(overview.stw_total),
                spoken_duration(overview.stw_max)
            ),
        ));
    }
    findings
}

/// How many task types and how many region types get a critical-path finding: the slowest.
const CRITICAL_PATH_TYPES: usize = 2;
/// At most this many of a type's slowest instances (its slowest 1%), and this many others
/// spread over the rest for the typical instance, are walked for a finding.
const CRITICAL_PATH_SAMPLE: usize = 200;

/// How findings name the categories of a critical path.
fn category_words(category: Category) -> &'static str {
    match category {
        Category::Running => "running",
        Category::Runnable => "waiting for a CPU (runnable)",
        Category::Syscall => "in system calls",
        Category::Network => "waiting on the network",
        Category::Timer => "waiting for timers (sleeps, timeouts)",
        Category::Gc => "on the garbage collector",
        Category::Unknown => "in time the trace does not explain",
    }
}

/// The largest shares of a breakdown, in words: `62% waiting for a CPU (runnable), 30% running`.
fn top_shares<K: Clone + Ord>(by: &BTreeMap<K, Nanos>, words: impl Fn(&K) -> String) -> Vec<String> {
    let total: Nanos = by.values().sum();
    let mut items: Vec<(&K, &Nanos)> = by.iter().filter(|&(_, &t)| t * 10 >= total && t > 0).collect();
    items.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    items
        .into_iter()
        .take(2)
        .map(|(k, &t)| format!("{:.0}% {}", t as f64 * 100.0 / total.max(1) as f64, words(k)))
        .collect()
}

/// For the slowest task and region types: what dominates the critical path of their slowest
/// instances (the slowest 1%), and of a typical one.
fn critical_path_findings(graph: &ExecutionGraph, summary: &Summary) -> Vec<(Nanos, String)> {
    // Every complete instance by kind and type, in one pass over the tasks and the regions.
    let mut by_type: BTreeMap<(&'static str, Name), Vec<PathQuery>> = BTreeMap::new();
    for t in summary.tasks.values() {
        if let Some(q) = task_query(summary, t.id) {
            by_type.entry(("tasks", t.name.clone())).or_default().push(q);
        }
    }
    for (i, r) in summary.regions.iter().enumerate().filter(|(_, r)| !r.name.is_empty()) {
        if let Some(q) = region_query(summary, i) {
            by_type.entry(("regions", r.name.clone())).or_default().push(q);
        }
    }
    let mut candidates: Vec<(Nanos, &'static str, Name, Vec<PathQuery>)> = Vec::new();
    for kind in ["tasks", "regions"] {
        let mut of_kind: Vec<(Nanos, Name)> = by_type
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|((_, name), qs)| (qs.iter().map(|q| q.end - q.start).max().unwrap_or(0), name.clone()))
            .filter(|(slowest, _)| *slowest > 0)
            .collect();
        of_kind.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        for (slowest, name) in of_kind.into_iter().take(CRITICAL_PATH_TYPES) {
            let queries = by_type.remove(&(kind, name.clone())).expect("listed above");
            candidates.push((slowest, kind, name, queries));
        }
    }
    if candidates.is_empty() {
        return Vec::new();
    }
    let membership = TaskMembership::new(summary);
    let mut findings = Vec::new();
    for (slowest_duration, kind, name, mut queries) in candidates {
        let count = queries.len();
        queries.sort_by_key(|q| (std::cmp::Reverse(q.end - q.start), q.start));
        let slow_count = count.div_ceil(100).clamp(1, CRITICAL_PATH_SAMPLE);
        let step = (count / CRITICAL_PATH_SAMPLE).max(1);
        let typical: Vec<PathQuery> = queries.iter().step_by(step).cloned().collect();
        let paths = |qs: &[PathQuery]| -> Vec<CriticalPath> {
            critical_paths(graph, qs, Some(&membership)).into_iter().filter_map(Result::ok).collect()
        };
        let slow_paths = paths(&queries[..slow_count]);
        let slow = aggregate(&slow_paths);
        let on_path: Nanos = slow_paths.iter().map(|p| p.end - p.start).sum();
        let other_task: Nanos = slow_paths
            .iter()
            .flat_map(|p| &p.segments)
            .filter(|s| s.relation == TaskRelation::OtherTask)
            .map(|s| s.duration())
            .sum();
        let sample = aggregate(&paths(&typical));
        let category = top_shares(&slow.slowest_by_category, |c| category_words(*c).to_owned());
        let groups = top_shares(&slow.slowest_by_group, |g| {
            if g.is_empty() { "in goroutines the trace does not name".to_owned() } else { format!("in {g}") }
        });
        let typical_category = top_shares(&sample.median_by_category, |c| category_words(*c).to_owned());
        let which = if count == 1 {
            format!(
                "the one complete {} of type {name:?} ({})",
                &kind[..kind.len() - 1],
                spoken_duration(slowest_duration)
            )
        } else {
            format!(
                "the slowest {} of {count} {kind} {name:?} (from {} up to {})",
                if slow_count == 1 { "one".to_owned() } else { slow_count.to_string() },
                spoken_duration(queries[slow_count - 1].end - queries[slow_count - 1].start),
                spoken_duration(slowest_duration)
            )
        };
        let mut text =
            format!("on the critical path of {which}: {}; by goroutine: {}", category.join(", "), groups.join(", "));
        if kind == "tasks" && other_task * 10 >= on_path && on_path > 0 {
            text += &format!(
                "; {:.0}% of it was goroutines working for other tasks (contention between requests)",
                other_task as f64 * 100.0 / on_path as f64
            );
        }
        if count > 1 {
            text += &format!(
                "; a typical one ({}) is {}",
                spoken_duration(sample.median_duration),
                typical_category.join(", ")
            );
        }
        let flag = if kind == "tasks" { "--task-type" } else { "--region" };
        text += &format!(" (`gotrace critical-path {flag} {name:?}` shows each path)");
        findings.push((slowest_duration, text));
    }
    findings
}
