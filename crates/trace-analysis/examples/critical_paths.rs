//! Times the execution graph and the critical paths of every complete task of a trace (folded
//! into their aggregate, as `gotrace critical-path --task-type` does), each
//! phase on its own, with the graph's size and, on Linux, how much each phase added to the
//! process's peak memory:
//! `cargo run --release -p trace-analysis --example critical_paths FILE` (a trace or a `.gtir`).

use std::time::Instant;

use trace_analysis::{ExecutionGraph, PathAggregator, TaskMembership, for_each_critical_path, summarize, task_query};
use trace_format::ir::TraceIr;

/// A figure of Linux's `/proc/self/status` in MB (0 where that is not available).
fn status_mb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb =
        status.lines().find_map(|l| l.strip_prefix(field)).and_then(|v| v.trim().trim_end_matches(" kB").parse().ok());
    kb.unwrap_or(0u64) / 1000
}

/// The resident memory now, in MB; the peak starts again from here.
fn resident_mb() -> u64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_mb("VmRSS:")
}

/// The peak resident memory since the last [`resident_mb`], in MB.
fn peak_mb() -> u64 {
    status_mb("VmHWM:")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: critical_paths FILE (a trace or a .gtir)")?;
    let bytes = std::fs::read(&path)?;
    let started = Instant::now();
    let ir = if TraceIr::is_ir(&bytes) { TraceIr::from_bytes(&bytes)? } else { TraceIr::from_trace(&bytes)? };
    drop(bytes);
    println!("IR: {} events in {:.2?}", ir.event_count(), started.elapsed());

    let before = resident_mb();
    let started = Instant::now();
    let graph = ExecutionGraph::build(&ir);
    let elapsed = started.elapsed();
    println!(
        "graph: {} segments of {} goroutines, {:.1} MB, in {elapsed:.2?}; peak {} MB from {before} MB",
        graph.segment_count(),
        graph.goroutines().len(),
        graph.memory_bytes() as f64 / 1e6,
        peak_mb()
    );

    let before = resident_mb();
    let started = Instant::now();
    let summary = summarize(&ir);
    let membership = TaskMembership::new(&summary);
    let queries: Vec<_> = summary.tasks.keys().filter_map(|&id| task_query(&summary, id)).collect();
    let elapsed = started.elapsed();
    println!(
        "summary and task membership: {} complete tasks in {elapsed:.2?}; peak {} MB from {before} MB",
        queries.len(),
        peak_mb()
    );

    let before = resident_mb();
    let started = Instant::now();
    // As `gotrace critical-path --task-type` does: each path folded into the aggregate.
    let mut aggregator = PathAggregator::new(queries.iter().map(|q| q.end - q.start).collect());
    let (mut paths, mut segments) = (0, 0);
    for_each_critical_path(&graph, &queries, Some(&membership), |i, path| {
        if let Ok(path) = path {
            aggregator.add(i, &path);
            paths += 1;
            segments += path.segments.len();
        }
    });
    let aggregate = aggregator.finish();
    let elapsed = started.elapsed();
    println!(
        "critical paths: {paths} paths, {segments} stretches, median {} ns, in {elapsed:.2?}; peak {} MB from {before} MB",
        aggregate.median_duration,
        peak_mb()
    );
    Ok(())
}
