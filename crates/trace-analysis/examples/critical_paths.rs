//! Times the execution graph and the critical paths of every complete task of a trace, each
//! phase on its own, with the graph's size:
//! `cargo run --release -p trace-analysis --example critical_paths FILE` (a trace or a `.gtir`).

use std::time::Instant;

use trace_analysis::{ExecutionGraph, TaskMembership, critical_paths, summarize, task_query};
use trace_format::ir::TraceIr;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: critical_paths FILE (a trace or a .gtir)")?;
    let bytes = std::fs::read(&path)?;
    let started = Instant::now();
    let ir = if TraceIr::is_ir(&bytes) { TraceIr::from_bytes(&bytes)? } else { TraceIr::from_trace(&bytes)? };
    drop(bytes);
    println!("IR: {} events in {:.2?}", ir.event_count(), started.elapsed());

    let started = Instant::now();
    let graph = ExecutionGraph::build(&ir);
    println!(
        "graph: {} segments of {} goroutines, {:.1} MB, in {:.2?}",
        graph.segment_count(),
        graph.goroutines().len(),
        graph.memory_bytes() as f64 / 1e6,
        started.elapsed()
    );

    let started = Instant::now();
    let summary = summarize(&ir);
    let membership = TaskMembership::new(&summary);
    let queries: Vec<_> = summary.tasks.keys().filter_map(|&id| task_query(&summary, id)).collect();
    println!("summary and task membership: {} complete tasks in {:.2?}", queries.len(), started.elapsed());

    let started = Instant::now();
    let paths = critical_paths(&graph, &queries, Some(&membership));
    let segments: usize = paths.iter().filter_map(|p| p.as_ref().ok()).map(|p| p.segments.len()).sum();
    println!("critical paths: {} paths, {segments} stretches, in {:.2?}", paths.len(), started.elapsed());
    Ok(())
}
