//! Criterion benchmarks of the goroutine execution graph and critical paths: building the
//! graph of a big trace, and the critical paths of all its complete tasks (on rayon's threads,
//! folded into their aggregate as `gotrace critical-path --task-type` does), in bytes of trace
//! per second.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_main};
use gotrace_benches::bench_trace;
use trace_analysis::{ExecutionGraph, PathAggregator, TaskMembership, for_each_critical_path, summarize, task_query};
use trace_format::ir::TraceIr;

fn critical_path(c: &mut Criterion) {
    let (file, _) = bench_trace();
    let bytes = file.bytes();
    let ir = TraceIr::from_trace(bytes).expect("valid trace");
    let mut group = c.benchmark_group("critical_path");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(10);
    group.bench_function("graph", |b| b.iter(|| ExecutionGraph::build(black_box(&ir))));
    let graph = ExecutionGraph::build(&ir);
    let summary = summarize(&ir);
    let membership = TaskMembership::new(&summary);
    let queries: Vec<_> = summary.tasks.keys().filter_map(|&id| task_query(&summary, id)).collect();
    eprintln!(
        "{} segments of {} goroutines ({} MB), {} complete tasks",
        graph.segment_count(),
        graph.goroutines().len(),
        graph.memory_bytes() / 1_000_000,
        queries.len()
    );
    group.bench_function("all_tasks", |b| {
        b.iter(|| {
            let mut aggregator = PathAggregator::new(queries.iter().map(|q| q.end - q.start).collect());
            for_each_critical_path(black_box(&graph), black_box(&queries), Some(&membership), |i, path| {
                aggregator.add(i, &path.expect("a task that lasts"))
            });
            aggregator.finish()
        })
    });
    group.finish();
}

// criterion_group! generates an undocumented function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::critical_path);
}
criterion_main!(group::benches);
