//! Critical paths known by construction: the programs of `fixtures/gen/critpath`, built with
//! Go 1.21 (the old format), 1.22, 1.23, 1.25 and 1.27, each with a path whose shape follows
//! from what the program does (see `fixtures/critical-path/README.md`). Each test finds the
//! path from the trace alone and checks that shape on every version.

use std::collections::BTreeMap;
use std::path::Path;

use trace_analysis::{
    Category, CriticalPath, ExecutionGraph, Nanos, PathEdge, TaskMembership, TaskRelation, critical_path,
    goroutine_query, region_queries, summarize, task_type_queries,
};
use trace_format::ir::TraceIr;

const VERSIONS: [&str; 5] = ["1.21.13", "1.22.10", "1.23.9", "1.25.5", "1.27.3"];

struct Loaded {
    version: &'static str,
    graph: ExecutionGraph,
    summary: trace_analysis::Summary,
    membership: TaskMembership,
}

fn load(case: &str) -> Vec<Loaded> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/critical-path");
    VERSIONS
        .iter()
        .map(|&version| {
            let path = root.join(version).join(format!("{case}.trace"));
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let ir = TraceIr::from_trace(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let summary = summarize(&ir);
            Loaded { version, graph: ExecutionGraph::build(&ir), membership: TaskMembership::new(&summary), summary }
        })
        .collect()
}

/// The path of the one complete task of type `case`.
fn task_path(l: &Loaded, case: &str) -> CriticalPath {
    let queries = task_type_queries(&l.summary, case);
    assert_eq!(queries.len(), 1, "{} {case}: expected one task of type {case:?}", l.version);
    critical_path(&l.graph, &queries[0].1, Some(&l.membership)).unwrap()
}

fn share(part: Nanos, path: &CriticalPath) -> f64 {
    part as f64 / (path.end - path.start) as f64
}

fn category_shares(path: &CriticalPath) -> BTreeMap<&'static str, f64> {
    path.by_category().into_iter().map(|(c, t)| (c.name(), share(t, path))).collect()
}

fn group_time(path: &CriticalPath, function: &str) -> Nanos {
    path.segments.iter().filter(|s| &*s.function == function).map(|s| s.duration()).sum()
}

#[test]
fn cpu_sleep_cpu_is_running_and_timer_on_one_goroutine() {
    for l in load("cpu-sleep-cpu") {
        let path = task_path(&l, "cpu-sleep-cpu");
        let c = category_shares(&path);
        let what = format!("{}: {c:?}", l.version);
        assert!(path.segments.iter().all(|s| s.goroutine == path.goroutine), "{what}: another goroutine on the path");
        assert!(c["running"] + c["timer"] > 0.98, "{what}: running and timer should be nearly all");
        assert!((0.5..0.8).contains(&c["running"]), "{what}: 40 of 60 ms burn CPU");
        assert!((0.25..0.45).contains(&c["timer"]), "{what}: 20 of 60 ms sleep");
        for other in ["network", "syscall", "gc", "unknown"] {
            assert_eq!(c[other], 0.0, "{what}: no {other}");
        }
    }
}

#[test]
fn fork_join_runs_through_the_slowest_worker_only() {
    for l in load("fork-join") {
        let path = task_path(&l, "fork-join");
        let what = format!("{}: {:?}", l.version, path.by_group());
        assert!(share(group_time(&path, "main.worker50"), &path) > 0.9, "{what}: the 50 ms worker dominates");
        for other in ["main.worker10", "main.worker20"] {
            assert_eq!(group_time(&path, other), 0, "{what}: {other} is not on the path");
        }
        let hop = path.hops.iter().find(|h| &*h.cause_function == "main.worker50").expect("a hop into worker50");
        assert_eq!(hop.edge, PathEdge::Unblocked, "{what}");
        assert_eq!(hop.waiter, path.goroutine, "{what}: the worker unblocked the task's goroutine");
    }
}

#[test]
fn mutex_chain_is_mostly_the_innermost_holder_at_depth_2() {
    for l in load("mutex-chain") {
        let path = task_path(&l, "mutex-chain");
        let what = format!("{}: {:?}", l.version, path.by_group());
        let at_depth_2: Nanos =
            path.segments.iter().filter(|s| s.depth == 2 && &*s.function == "main.holderB").map(|s| s.duration()).sum();
        assert!(share(at_depth_2, &path) > 0.8, "{what}: holderB at depth 2 holds the path");
        assert!(
            path.segments.iter().any(|s| s.depth == 1 && &*s.function == "main.holderA"),
            "{what}: holderA at depth 1"
        );
        let reasons: Vec<&str> = path.hops.iter().map(|h| &*h.reason).collect();
        assert_eq!(path.hops.len(), 2, "{what}: two hops, main -> holderA -> holderB: {reasons:?}");
    }
}

#[test]
fn two_tasks_sharing_a_mutex_show_the_other_tasks_hold_as_contention() {
    for l in load("two-tasks-mutex") {
        let path = task_path(&l, "two-tasks-mutex");
        let holder = l.summary.tasks.values().find(|t| &*t.name == "holder").expect("the holder's task").id;
        let what = format!("{}: {:?}", l.version, path.segments);
        let other: Nanos = path
            .segments
            .iter()
            .filter(|s| s.relation == TaskRelation::OtherTask && s.task == Some(holder))
            .map(|s| s.duration())
            .sum();
        assert!(share(other, &path) > 0.7, "{what}: the holder's task holds the path");
        assert!(
            path.segments
                .iter()
                .filter(|s| &*s.function == "main.requestHolder")
                .all(|s| s.relation == TaskRelation::OtherTask),
            "{what}: every stretch of the holder is another task's"
        );
        assert!(
            path.segments
                .iter()
                .filter(|s| &*s.function == "main.requestWaiter")
                .all(|s| s.relation == TaskRelation::SameTask),
            "{what}: every stretch of the waiter is its own task's"
        );
    }
}

#[test]
fn a_tcp_request_to_a_sleeping_server_is_a_network_leaf() {
    for l in load("tcp") {
        let path = task_path(&l, "tcp");
        let c = category_shares(&path);
        assert!(c["network"] > 0.8, "{}: {c:?}", l.version);
        let leaf = path.segments.iter().find(|s| s.category == Category::Network).unwrap();
        assert_eq!(&*leaf.detail, "network", "{}: the leaf keeps its reason", l.version);
    }
}

#[test]
fn select_with_a_timeout_is_a_timer_leaf() {
    for l in load("select-timeout") {
        let path = task_path(&l, "select-timeout");
        let c = category_shares(&path);
        assert!(c["timer"] > 0.8, "{}: {c:?}", l.version);
        assert!(path.hops.is_empty(), "{}: no goroutine ended the wait: {:?}", l.version, path.hops);
    }
}

#[test]
fn a_cpu_hog_with_one_proc_makes_the_path_runnable() {
    for l in load("gomaxprocs1") {
        let path = task_path(&l, "gomaxprocs1");
        let c = category_shares(&path);
        assert!(c["runnable"] > 0.5, "{}: {c:?}", l.version);
        assert!(c["runnable"] > c["timer"], "{}: {c:?}", l.version);
    }
}

#[test]
fn forced_collections_put_the_gc_on_the_path() {
    for l in load("gc") {
        let regions = region_queries(&l.summary, "collect");
        assert_eq!(regions.len(), 1, "{}: one region \"collect\"", l.version);
        let path = critical_path(&l.graph, &regions[0].1, Some(&l.membership)).unwrap();
        let c = category_shares(&path);
        assert!(c["gc"] > 0.02, "{}: {c:?}", l.version);
        assert!(
            path.segments
                .iter()
                .any(|s| s.category == Category::Gc && s.function.starts_with("runtime.gcBgMarkWorker")),
            "{}: a mark worker on the path",
            l.version
        );
    }
}

#[test]
fn a_task_ended_by_a_goroutine_it_created_continues_in_the_creator() {
    for l in load("task-creation") {
        let path = task_path(&l, "task-creation");
        let what = format!("{}: {:?}", l.version, path.segments);
        let hop = path.hops.iter().find(|h| h.edge == PathEdge::Created).expect("a creation edge");
        assert_eq!(&*hop.cause_function, "main.main", "{what}");
        let finisher = group_time(&path, "main.finisher");
        let main = group_time(&path, "main.main");
        assert!(share(finisher, &path) > 0.7, "{what}: the finisher's 20 ms");
        assert!(share(main, &path) > 0.15, "{what}: main's 5 ms before it created the finisher");
        assert!(
            path.segments
                .iter()
                .filter(|s| &*s.function == "main.main")
                .all(|s| s.depth == 1 && s.end <= hop.unblocked_at),
            "{what}: main is one level down, before the creation"
        );
        assert_eq!(
            path.segments.last().unwrap().function.as_ref(),
            "main.finisher",
            "{what}: the finisher ends the task"
        );
    }
}

#[test]
fn a_goroutine_blocked_before_the_trace_starts_with_unknown() {
    for l in load("blocked-before-trace") {
        let sleeper = l.graph.goroutines().iter().find(|g| &*g.function == "main.sleeper").expect("the sleeper").id;
        let query = goroutine_query(&l.graph, sleeper, None, None).unwrap();
        assert_eq!(query.start, l.graph.time_range().0, "{}: it existed when the trace started", l.version);
        let path = critical_path(&l.graph, &query, Some(&l.membership)).unwrap();
        let c = category_shares(&path);
        assert!(c["unknown"] > 0.5, "{}: {c:?}", l.version);
        assert!(c["running"] > 0.1, "{}: {c:?}", l.version);
        assert_eq!(path.segments[0].category, Category::Unknown, "{}", l.version);
    }
}

fn findings(version: &str, case: &str) -> Vec<String> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../fixtures/critical-path/{version}/{case}.trace"));
    let ir = TraceIr::from_trace(&std::fs::read(&path).unwrap()).unwrap();
    trace_analysis::report(&ir).findings.into_iter().map(|f| f.text).collect()
}

#[test]
fn the_report_names_what_dominates_the_slowest_critical_paths() {
    for version in VERSIONS {
        let found = findings(version, "fork-join");
        let finding = found
            .iter()
            .find(|f| f.contains("critical path") && f.contains("\"fork-join\""))
            .unwrap_or_else(|| panic!("{version}: no critical-path finding in {found:?}"));
        assert!(finding.contains("in main.worker50"), "{version}: {finding}");
        assert!(finding.contains("running"), "{version}: {finding}");

        let found = findings(version, "two-tasks-mutex");
        let finding = found
            .iter()
            .find(|f| f.contains("critical path") && f.contains("\"two-tasks-mutex\""))
            .unwrap_or_else(|| panic!("{version}: no critical-path finding in {found:?}"));
        assert!(finding.contains("working for other tasks"), "{version}: {finding}");

        let found = findings(version, "tcp");
        assert!(
            found.iter().any(|f| f.contains("\"tcp\"") && f.contains("waiting on the network")),
            "{version}: {found:?}"
        );
    }
}
