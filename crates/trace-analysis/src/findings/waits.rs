//! Findings on waiting: goroutines that spent most of the trace in one kind of wait, and
//! what dominates the critical paths of the slowest tasks and regions.

use std::collections::BTreeMap;

use trace_format::ir::TraceIr;

use super::{
    Explained, Finding, FindingKind, Inputs, Quantity, Severity, Subject, SubjectKind, WaitKind, count_words,
    duration_words, frames, group_subject, percent_floor,
};
use crate::critical::{
    Category, CriticalPath, PathQuery, TaskMembership, TaskRelation, aggregate, critical_paths, region_query,
    task_query,
};
use crate::goroutines::{GoroutineSummary, Name, Nanos, Summary, is_system_goroutine};
use crate::graph::ExecutionGraph;

/// The waiting a goroutine did that a finding can name: its kind, a label and the time.
fn waits(g: &GoroutineSummary) -> Vec<(WaitKind, String, Nanos)> {
    let s = &g.stats;
    let mut waits = vec![
        (WaitKind::Network, "waiting on the network".to_owned(), s.network_wait()),
        (WaitKind::Cpu, "waiting for a CPU (runnable)".to_owned(), s.sched_wait_time),
        (WaitKind::Syscall, "in system calls".to_owned(), s.syscall_time + s.syscall_block_time),
    ];
    for (reason, &time) in &s.block_time_by_reason {
        // Goroutines already blocked when the trace began have no recorded reason.
        let label = if reason.is_empty() {
            "blocked since before the trace began (the trace does not say on what)".to_owned()
        } else {
            format!("blocked ({reason})")
        };
        if &**reason != "network" {
            waits.push((WaitKind::Blocked(reason.to_string()), label, time));
        }
    }
    waits
}

/// A goroutine's longest wait, its whole time, its ID and its start.
type Case = (Nanos, Nanos, i64, Nanos);

/// Goroutines of the program (not of the runtime or of the tracing machinery, which wait by
/// design) that spent most of the trace in one kind of waiting that no other finding explains.
/// Waiting for a CPU is left to the parallelism findings for the groups in `cpu_bound`.
pub(super) fn long_waits(inputs: &Inputs<'_>, explained: &Explained, cpu_bound: &Explained, found: &mut Vec<Finding>) {
    let (summary, duration) = (inputs.summary, inputs.overview.duration);
    for group in inputs.groups.iter().filter(|g| !is_system_goroutine(&g.name) && !g.name.starts_with("runtime/")) {
        // By kind of wait: each goroutine's time in it, its total, its ID and its start.
        let mut by_wait: BTreeMap<(WaitKind, String), Vec<Case>> = BTreeMap::new();
        for g in group.goroutines.iter().filter_map(|id| summary.goroutines.get(id)) {
            let total = g.stats.total_time;
            if let Some((kind, label, time)) = waits(g).into_iter().max_by_key(|w| w.2)
                && total > 0
                && time * 2 >= duration
                && time * 2 >= total
            {
                let start = g.start_time.unwrap_or(summary.start_time).max(summary.start_time);
                by_wait.entry((kind, label)).or_default().push((time, total, g.id, start));
            }
        }
        for ((kind, label), mut cases) in by_wait {
            let key = (group.name.to_string(), kind);
            if explained.contains(&key) || cpu_bound.contains(&key) {
                continue;
            }
            cases.sort();
            let &(time, total, _, _) = cases.last().expect("not empty");
            let share = percent_floor(time, total);
            let text = if cases.len() == 1 {
                format!("one goroutine of {} spent {share:.1}% of its {} {label}", group.name, duration_words(total))
            } else {
                format!(
                    "{} of {} spent most of the trace {label} (the longest: {share:.1}% of its {})",
                    count_words(cases.len(), "goroutine"),
                    group.name,
                    duration_words(total)
                )
            };
            let mut subject = group_subject(&group.name);
            subject.goroutines = cases.iter().rev().take(super::MAX_NAMED_GOROUTINES).map(|c| c.2).collect();
            let first = cases.iter().map(|c| c.3).min().unwrap_or(summary.start_time);
            found.push(
                Finding::new(FindingKind::LongWait, Severity::Note, subject, text)
                    .with("goroutines", Quantity::Count(cases.len() as u64))
                    .with("longest_wait_ns", Quantity::Nanos(time))
                    .with("longest_wait_percent", Quantity::Percent(share))
                    .window(first, summary.end_time)
                    .weight(time),
            );
        }
    }
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
pub(crate) fn critical_path_findings(ir: &TraceIr, graph: &ExecutionGraph, summary: &Summary) -> Vec<Finding> {
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
                duration_words(slowest_duration)
            )
        } else {
            format!(
                "the slowest {} of {count} {kind} {name:?} (from {} up to {})",
                if slow_count == 1 { "one".to_owned() } else { slow_count.to_string() },
                duration_words(queries[slow_count - 1].end - queries[slow_count - 1].start),
                duration_words(slowest_duration)
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
                duration_words(sample.median_duration),
                typical_category.join(", ")
            );
        }
        let flag = if kind == "tasks" { "--task-type" } else { "--region" };
        let slowest = &queries[0];
        let subject_kind = if kind == "tasks" { SubjectKind::TaskType } else { SubjectKind::RegionType };
        let subject = Subject {
            kind: subject_kind,
            name: name.to_string(),
            stack: frames(ir, slowest.end_stack),
            goroutines: vec![slowest.goroutine],
        };
        let mut finding = Finding::new(FindingKind::CriticalPath, Severity::Note, subject, text)
            .with("instances", Quantity::Count(count as u64))
            .with("slowest_ns", Quantity::Nanos(slowest_duration))
            .with("slowest_instances", Quantity::Count(slow_count as u64))
            .with("typical_ns", Quantity::Nanos(sample.median_duration))
            .window(slowest.start, slowest.end)
            .weight(slowest_duration)
            .advice(format!("`gotrace critical-path {flag} {name:?}` shows each path"));
        for (category, &time) in &slow.slowest_by_category {
            finding.evidence.insert(category_evidence(*category), Quantity::Percent(percent_floor(time, on_path)));
        }
        if kind == "tasks" && on_path > 0 {
            finding.evidence.insert("other_tasks_percent", Quantity::Percent(percent_floor(other_task, on_path)));
        }
        findings.push(finding);
    }
    findings
}

/// The evidence name of a category's share of the slowest paths.
fn category_evidence(category: Category) -> &'static str {
    match category {
        Category::Running => "running_percent",
        Category::Runnable => "runnable_percent",
        Category::Syscall => "syscall_percent",
        Category::Network => "network_percent",
        Category::Timer => "timer_percent",
        Category::Gc => "gc_percent",
        Category::Unknown => "unknown_percent",
    }
}
