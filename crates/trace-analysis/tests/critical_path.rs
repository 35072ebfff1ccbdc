//! Properties of the execution graph and of critical paths on every committed fixture: the
//! graph's edges go back in time, a path partitions its interval exactly, every stretch of it
//! lies in its graph segment and is reachable back from where the walk began (checked with
//! petgraph's own traversal over the graph), and the result is the same every time and with
//! 1 and 4 threads.

use std::path::{Path, PathBuf};

use petgraph::visit::Dfs;
use trace_analysis::{
    CriticalPath, ExecutionGraph, PathQuery, TaskMembership, critical_path, critical_paths, goroutine_query,
    region_queries, summarize, task_type_queries,
};
use trace_format::ir::TraceIr;

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut traces = Vec::new();
    for corpus in ["traces", "critical-path"] {
        let Ok(versions) = std::fs::read_dir(root.join(corpus)) else { continue };
        for version in versions.flatten() {
            let Ok(files) = std::fs::read_dir(version.path()) else { continue };
            for file in files.flatten() {
                if file.path().extension().is_some_and(|e| e == "trace") {
                    traces.push(file.path());
                }
            }
        }
    }
    traces.sort();
    assert!(traces.len() > 40, "expected the committed fixtures, found {}", traces.len());
    traces
}

/// Every query worth checking on a trace: each complete task and region, and the life of
/// goroutines (a bounded number, spread over the trace, to keep the test quick).
fn queries(ir: &TraceIr, graph: &ExecutionGraph) -> Vec<PathQuery> {
    let summary = summarize(ir);
    let mut out = Vec::new();
    let mut task_types: Vec<&str> = summary.tasks.values().map(|t| &*t.name).collect();
    task_types.sort();
    task_types.dedup();
    for name in task_types {
        out.extend(task_type_queries(&summary, name).into_iter().map(|(_, q)| q));
    }
    let mut region_types: Vec<&str> = summary.regions.iter().map(|r| &*r.name).filter(|n| !n.is_empty()).collect();
    region_types.sort();
    region_types.dedup();
    for name in region_types {
        out.extend(region_queries(&summary, name).into_iter().map(|(_, q)| q));
    }
    let goroutines = graph.goroutines();
    let step = (goroutines.len() / 150).max(1);
    for g in goroutines.iter().step_by(step) {
        if let Ok(q) = goroutine_query(graph, g.id, None, None)
            && q.end > q.start
        {
            out.push(q);
        }
    }
    let strict: Vec<PathQuery> = out.iter().take(40).map(|q| PathQuery { strict: true, ..q.clone() }).collect();
    out.extend(strict);
    out
}

fn check_graph(name: &str, graph: &ExecutionGraph) {
    for g in graph.goroutines() {
        let mut last = i64::MIN;
        for s in g.segments() {
            let start = graph.start(s);
            assert!(
                start > last || s == g.first_segment,
                "{name}: G{} segment {s} does not follow the one before",
                g.id
            );
            assert!(graph.end(s) >= start, "{name}: G{} segment {s} ends before it starts", g.id);
            last = start;
            if let Some(cause) = graph.cause(s) {
                assert_ne!(
                    graph.goroutine_of(cause),
                    graph.goroutine_of(s),
                    "{name}: a segment caused by its own goroutine"
                );
                assert!(graph.start(cause) < start, "{name}: segment {s} of G{} is caused by a later segment", g.id);
            }
        }
    }
}

fn check_path(name: &str, graph: &ExecutionGraph, query: &PathQuery, path: &CriticalPath) {
    let what =
        format!("{name}: path of G{} from {} to {} (strict {})", query.goroutine, query.start, query.end, query.strict);
    assert!(!path.segments.is_empty(), "{what}: empty");
    assert_eq!(path.segments[0].start, query.start, "{what}: does not start at the interval's start");
    assert_eq!(path.segments.last().unwrap().end, query.end, "{what}: does not end at the interval's end");
    for pair in path.segments.windows(2) {
        assert_eq!(pair[0].end, pair[1].start, "{what}: a gap or an overlap at {}", pair[0].end);
    }
    let total: i64 = path.segments.iter().map(|s| s.duration()).sum();
    assert_eq!(total, query.end - query.start, "{what}: stretches do not sum to the interval");
    assert_eq!(path.by_category().values().sum::<i64>(), total, "{what}: categories do not sum to the interval");
    for s in &path.segments {
        assert!(s.end > s.start, "{what}: an empty stretch");
        if s.segment != u32::MAX {
            let (start, end) = (graph.start(s.segment), graph.end(s.segment));
            assert!(
                start <= s.start && s.end <= end,
                "{what}: stretch {}..{} lies outside its graph segment {start}..{end}",
                s.start,
                s.end
            );
            assert_eq!(
                graph.goroutines()[graph.goroutine_of(s.segment) as usize].id,
                s.goroutine,
                "{what}: wrong goroutine"
            );
        }
    }
    for hop in &path.hops {
        assert!(hop.unblocked_at >= hop.blocked_at, "{what}: a hop forward in time");
    }
    // Every stretch's segment can be reached back from the segment where the walk began,
    // through the graph's edges (petgraph's depth-first search over the columns).
    let node = graph.goroutine_at(query.goroutine, query.end).unwrap();
    if let Some(begin) = graph.segment_before(node, query.end) {
        let mut reachable = std::collections::HashSet::new();
        let mut dfs = Dfs::new(graph, begin);
        while let Some(s) = dfs.next(graph) {
            // Nothing before the interval's start matters.
            if graph.end(s) >= query.start {
                reachable.insert(s);
            } else {
                continue;
            }
            if reachable.len() > 200_000 {
                return;
            }
        }
        for s in path.segments.iter().filter(|s| s.segment != u32::MAX) {
            assert!(reachable.contains(&s.segment), "{what}: segment {} is not reachable back from the end", s.segment);
        }
    }
}

#[test]
fn paths_partition_their_intervals_on_every_fixture() {
    let mut checked = 0;
    for trace in fixtures() {
        let name = trace.display().to_string();
        let ir = TraceIr::from_trace(&std::fs::read(&trace).unwrap()).unwrap();
        let graph = ExecutionGraph::build(&ir);
        check_graph(&name, &graph);
        let membership = TaskMembership::new(&summarize(&ir));
        for query in queries(&ir, &graph) {
            let path = critical_path(&graph, &query, Some(&membership)).unwrap();
            check_path(&name, &graph, &query, &path);
            checked += 1;
        }
    }
    assert!(checked > 1000, "only {checked} paths checked");
}

#[test]
fn paths_are_deterministic_and_the_same_with_1_and_4_threads() {
    for trace in fixtures().into_iter().filter(|t| t.to_string_lossy().contains("1.2")) {
        let ir = TraceIr::from_trace(&std::fs::read(&trace).unwrap()).unwrap();
        let graph = ExecutionGraph::build(&ir);
        let membership = TaskMembership::new(&summarize(&ir));
        let queries = queries(&ir, &graph);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| critical_paths(&ExecutionGraph::build(&ir), &queries, Some(&membership)))
        };
        let one = run(1);
        assert_eq!(one, run(4), "{}: paths differ between 1 and 4 threads", trace.display());
        assert_eq!(
            one,
            critical_paths(&graph, &queries, Some(&membership)),
            "{}: paths differ between runs",
            trace.display()
        );
    }
}

/// The graph holds, for every goroutine state change of the trace, one segment with the
/// event's time, the new state, its stack where the event has one, and for a wake-up or a
/// creation by another goroutine, a cause on that goroutine: checked against the IR's own
/// events, whatever the graph's layout.
#[test]
fn the_graph_has_a_segment_for_every_state_change_of_the_trace() {
    use trace_analysis::{SegmentStart, SegmentState};
    use trace_format::{EventKind, GoState, NONE, Transition, state_transition};
    for trace in fixtures() {
        let name = trace.display().to_string();
        let ir = TraceIr::from_trace(&std::fs::read(&trace).unwrap()).unwrap();
        let graph = ExecutionGraph::build(&ir);
        let mut expected = Vec::new();
        for event in ir.events() {
            if event.kind() != EventKind::StateTransition {
                continue;
            }
            let st = state_transition(&event, Some(&ir)).unwrap();
            let Transition::Goroutine { id, from, to } = st.transition else { continue };
            let state = match to {
                GoState::Running => SegmentState::Running,
                GoState::Runnable => SegmentState::Runnable,
                GoState::Waiting => SegmentState::Waiting,
                GoState::Syscall => SegmentState::Syscall,
                _ => continue,
            };
            if from == to {
                continue;
            }
            let stack = if matches!(to, GoState::Waiting | GoState::Syscall) && from == GoState::Running {
                st.stack
            } else {
                None
            };
            let causer = (event.goroutine() != NONE && event.goroutine() != id && from != GoState::Undetermined)
                .then_some(event.goroutine());
            expected.push((id, event.time(), state, stack, causer));
        }
        let mut found = Vec::new();
        for g in graph.goroutines() {
            for s in g.segments() {
                let seg = graph.segment(s);
                let stack = if seg.state == SegmentState::Waiting && seg.began == SegmentStart::Blocked
                    || seg.state == SegmentState::Syscall && seg.began == SegmentStart::SyscallEntered
                {
                    seg.stack
                } else {
                    None
                };
                let causer = seg.cause.map(|c| graph.goroutines()[graph.goroutine_of(c) as usize].id);
                assert!(graph.end(s) >= seg.start, "{name}: segment {s} ends before it starts");
                found.push((g.id, seg.start, seg.state, stack, causer));
            }
        }
        expected.sort_by_key(|e| (e.0, e.1));
        found.sort_by_key(|e| (e.0, e.1));
        assert_eq!(expected.len(), found.len(), "{name}: one segment per state change");
        for (e, f) in expected.iter().zip(&found) {
            assert_eq!((e.0, e.1, e.2, e.3), (f.0, f.1, f.2, f.3), "{name}");
            // A cause is kept only where the causer had a segment of its own at the time.
            assert!(f.4.is_none() || f.4 == e.4, "{name}: G{} at {}: cause {:?}, event on {:?}", e.0, e.1, f.4, e.4);
        }
        let caused = found.iter().filter(|f| f.4.is_some()).count();
        let could = expected.iter().filter(|e| e.4.is_some() && e.2 == SegmentState::Runnable).count();
        assert!(caused * 10 >= could * 9, "{name}: only {caused} of {could} wake-ups and creations have their cause");
    }
}

/// The aggregate, which keeps only the times each instance has, equals the one computed
/// from every instance's full breakdown: nearest-rank medians over all instances (0 where an
/// instance has none of a category or group) and means over the slowest 1%.
#[test]
fn the_aggregate_is_the_medians_and_slowest_means_of_every_instance() {
    use std::collections::{BTreeMap, BTreeSet};
    use trace_analysis::{Category, Percentiles, aggregate};
    let mut checked = 0;
    for trace in fixtures() {
        let ir = TraceIr::from_trace(&std::fs::read(&trace).unwrap()).unwrap();
        let graph = ExecutionGraph::build(&ir);
        let summary = summarize(&ir);
        let membership = TaskMembership::new(&summary);
        let mut types: Vec<&str> = summary.regions.iter().map(|r| &*r.name).filter(|n| !n.is_empty()).collect();
        types.sort();
        types.dedup();
        for name in types {
            let queries: Vec<PathQuery> = region_queries(&summary, name).into_iter().map(|(_, q)| q).collect();
            let paths: Vec<CriticalPath> =
                critical_paths(&graph, &queries, Some(&membership)).into_iter().filter_map(Result::ok).collect();
            if paths.is_empty() {
                continue;
            }
            let agg = aggregate(&paths);
            let n = paths.len();
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by_key(|&i| (std::cmp::Reverse(paths[i].end - paths[i].start), i));
            let slowest = &order[..n.div_ceil(100)];
            let mean = |f: &dyn Fn(usize) -> i64| slowest.iter().map(|&i| f(i)).sum::<i64>() / slowest.len() as i64;
            let what = format!("{}: {name}", trace.display());
            assert_eq!(agg.count, n, "{what}");
            assert_eq!(
                agg.median_duration,
                Percentiles::of(paths.iter().map(|p| p.end - p.start).collect()).p50,
                "{what}"
            );
            assert_eq!(agg.slowest_count, slowest.len(), "{what}");
            let by: Vec<BTreeMap<Category, i64>> = paths.iter().map(CriticalPath::by_category).collect();
            for c in Category::ALL {
                assert_eq!(
                    agg.median_by_category[&c],
                    Percentiles::of(by.iter().map(|m| m[&c]).collect()).p50,
                    "{what} {c:?}"
                );
                assert_eq!(agg.slowest_by_category[&c], mean(&|i| by[i][&c]), "{what} {c:?}");
                assert_eq!(agg.total_by_category[&c], by.iter().map(|m| m[&c]).sum::<i64>(), "{what} {c:?}");
            }
            let groups: Vec<BTreeMap<trace_analysis::Name, i64>> = paths.iter().map(CriticalPath::by_group).collect();
            let names: BTreeSet<&trace_analysis::Name> = groups.iter().flat_map(|g| g.keys()).collect();
            for g in names {
                let time = |i: usize| groups[i].get(g).copied().unwrap_or(0);
                assert_eq!(agg.median_by_group[g], Percentiles::of((0..n).map(time).collect()).p50, "{what} {g}");
                assert_eq!(agg.slowest_by_group[g], mean(&time), "{what} {g}");
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} region types");
}
