//! Critical paths: for an interval (a task, a region, or a goroutine between two times), the
//! chain of goroutine activity such that the interval's end could not have come sooner.
//!
//! The walk starts at the interval's end on the goroutine that ends it and goes back in time
//! through the [`ExecutionGraph`]:
//!
//! - a running or system call segment is on the path itself;
//! - a runnable one is scheduler wait (after an unblock, a preemption, a system call, or
//!   during a stop-the-world pause);
//! - a wait that another goroutine ended moves the walk to that goroutine, at the moment it
//!   ended the wait, bounded below by the wait's start (or the interval's start if later), one
//!   level deeper; when the walk there reaches that bound it comes back to the waiter;
//! - a wait that no goroutine ended (the netpoller, timers, the scheduler woke it) is a leaf,
//!   classified from its reason: network, timer, GC, syscall or unknown; no cause is invented;
//! - reaching a goroutine's creation with time left continues in its creator; reaching the
//!   trace's start, or a wait whose reason the trace does not tell, gives `unknown`.
//!
//! The result partitions the interval exactly: consecutive segments with no gap or overlap.

use std::collections::BTreeMap;

use rayon::prelude::*;
use trace_format::EventTables;
use trace_format::ir::TraceIr;

use crate::goroutines::{Name, Nanos, Summary};
use crate::graph::{ExecutionGraph, SegmentId, SegmentStart, SegmentState};
use crate::profile::{ProfileFrame, ProfileRecord};

/// What a stretch of the critical path was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// A goroutine on the path was running.
    Running,
    /// A goroutine on the path was ready to run, waiting for a proc (scheduler latency).
    Runnable,
    /// A goroutine on the path was in a system call.
    Syscall,
    /// Waiting on the network, woken by the netpoller.
    Network,
    /// Waiting for a timer (sleep, timeouts, tickers), woken by no goroutine.
    Timer,
    /// The garbage collector: its workers running, or waits for it.
    Gc,
    /// Not known: before the trace or the goroutine's first known state, or a wait the
    /// trace does not explain.
    Unknown,
}

impl Category {
    /// Every category, in the order reports list them.
    pub const ALL: [Category; 7] = [
        Category::Running,
        Category::Runnable,
        Category::Syscall,
        Category::Network,
        Category::Timer,
        Category::Gc,
        Category::Unknown,
    ];

    /// The category's name: `running`, `runnable`, `syscall`, `network`, `timer`, `gc`, `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            Category::Running => "running",
            Category::Runnable => "runnable",
            Category::Syscall => "syscall",
            Category::Network => "network",
            Category::Timer => "timer",
            Category::Gc => "gc",
            Category::Unknown => "unknown",
        }
    }
}

/// How the walk reached a segment of the path from the (later) segment after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathEdge {
    /// The last segment: the interval's end.
    End,
    /// Earlier on the same goroutine.
    Continues,
    /// The goroutine of the later segment waited; this goroutine ended the wait.
    Unblocked,
    /// The goroutine of the later segment was handed the proc by this one (coroutine switch).
    HandedOff,
    /// The goroutine of the later segment was created by this one.
    Created,
    /// Earlier on the same goroutine, before it returned from a system call.
    SyscallReturn,
}

impl PathEdge {
    /// The edge's name: `end`, `continues`, `unblocked`, `handed-off`, `created`, `syscall-return`.
    pub fn name(self) -> &'static str {
        match self {
            PathEdge::End => "end",
            PathEdge::Continues => "continues",
            PathEdge::Unblocked => "unblocked",
            PathEdge::HandedOff => "handed-off",
            PathEdge::Created => "created",
            PathEdge::SyscallReturn => "syscall-return",
        }
    }
}

/// Whose work a segment of the path was, as seen from the interval's task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskRelation {
    /// The goroutine was working for the interval's task (or a task inside it).
    SameTask,
    /// The goroutine was working for another task: contention with another request.
    OtherTask,
    /// The goroutine was in no task at the time.
    NoTask,
}

impl TaskRelation {
    /// `same-task`, `other-task` or `no-task`.
    pub fn name(self) -> &'static str {
        match self {
            TaskRelation::SameTask => "same-task",
            TaskRelation::OtherTask => "other-task",
            TaskRelation::NoTask => "no-task",
        }
    }
}

/// One stretch of a critical path: one goroutine doing one thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathSegment {
    /// The goroutine's ID.
    pub goroutine: i64,
    /// Its start function, as `gotrace goroutines` names it.
    pub function: Name,
    /// When the stretch began.
    pub start: Nanos,
    /// When it ended.
    pub end: Nanos,
    /// How many goroutine hops from the goroutine that ends the interval.
    pub depth: u32,
    /// What it was.
    pub category: Category,
    /// Finer detail: the block reason of a leaf, or why a goroutine was runnable (`unblocked`,
    /// `preempted`, `after syscall`, `created`, `stop-the-world`, ...); empty for running.
    pub detail: Name,
    /// The stack that tells where (see [`crate::Segment::stack`]).
    pub stack: Option<u64>,
    /// How the walk came to it.
    pub edge: PathEdge,
    /// The task the goroutine was working for, if any.
    pub task: Option<u64>,
    /// That task compared with the interval's.
    pub relation: TaskRelation,
    /// The graph segment it is part of.
    pub segment: SegmentId,
}

impl PathSegment {
    /// Its duration.
    pub fn duration(&self) -> Nanos {
        self.end - self.start
    }
}

/// A move of the walk from one goroutine to another, told in words by the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathHop {
    /// What kind of move.
    pub edge: PathEdge,
    /// The goroutine that waited (or was created).
    pub waiter: i64,
    /// The goroutine the walk moved to.
    pub cause: i64,
    /// The start function of the goroutine the walk moved to.
    pub cause_function: Name,
    /// When the waiter blocked (or was created).
    pub blocked_at: Nanos,
    /// Why it blocked (empty for a creation).
    pub reason: Name,
    /// Where it blocked.
    pub blocked_stack: Option<u64>,
    /// When the other goroutine ended the wait (or created it).
    pub unblocked_at: Nanos,
    /// Where the other goroutine was then.
    pub unblocked_stack: Option<u64>,
    /// The depth of the goroutine the walk moved to.
    pub depth: u32,
}

/// The critical path of an interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriticalPath {
    /// The interval's start.
    pub start: Nanos,
    /// The interval's end.
    pub end: Nanos,
    /// The goroutine that ends the interval.
    pub goroutine: i64,
    /// The interval's task, if it is one or a region of one.
    pub task: Option<u64>,
    /// The path, in time order, partitioning `start..end`.
    pub segments: Vec<PathSegment>,
    /// The moves between goroutines, latest first (as the walk found them).
    pub hops: Vec<PathHop>,
}

impl CriticalPath {
    /// Time on the path by category, every category present (0 if none).
    pub fn by_category(&self) -> BTreeMap<Category, Nanos> {
        let mut out: BTreeMap<Category, Nanos> = Category::ALL.iter().map(|&c| (c, 0)).collect();
        for s in &self.segments {
            *out.entry(s.category).or_default() += s.duration();
        }
        out
    }

    /// The category with the most time on the path, and that time (the first of
    /// [`Category::ALL`] on a tie).
    pub fn dominant(&self) -> (Category, Nanos) {
        let by = self.by_category();
        Category::ALL
            .iter()
            .map(|&c| (c, by[&c]))
            .fold((Category::Running, -1), |best, c| if c.1 > best.1 { c } else { best })
    }

    /// Time on the path by goroutine group (start function).
    pub fn by_group(&self) -> BTreeMap<Name, Nanos> {
        let mut out = BTreeMap::new();
        for s in &self.segments {
            *out.entry(s.function.clone()).or_default() += s.duration();
        }
        out
    }
}

/// What to find the critical path of: the interval `start..end`, ended by `goroutine`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathQuery {
    /// The goroutine that ends the interval (the one the walk starts on).
    pub goroutine: i64,
    /// The interval's start.
    pub start: Nanos,
    /// The interval's end.
    pub end: Nanos,
    /// The interval's task: segments of goroutines working for it are `SameTask`.
    pub task: Option<u64>,
    /// The stack of the event that ends the interval (a task's or region's end), which tells
    /// where the last stretch ended.
    pub end_stack: Option<u64>,
    /// Keep only the unblocker's segment that contains the unblock, none of its history
    /// before; the rest of the wait stays the waiter's, classified by its reason.
    pub strict: bool,
}

/// Which goroutine worked for which task when: from the regions of a [`Summary`] (a region
/// of a task, or the task a goroutine inherited from the region it was created in).
#[derive(Debug, Clone, Default)]
pub struct TaskMembership {
    /// Per goroutine, its regions' (start, end, task), by start.
    by_goroutine: BTreeMap<i64, Vec<(Nanos, Nanos, u64)>>,
    /// Per goroutine, the latest end among its first `i + 1` intervals, so that a lookup
    /// stops going back once no earlier interval can cover the time asked about.
    reach: BTreeMap<i64, Vec<Nanos>>,
    parents: BTreeMap<u64, u64>,
}

impl TaskMembership {
    /// The task membership of a summary's regions.
    pub fn new(summary: &Summary) -> TaskMembership {
        let mut by_goroutine: BTreeMap<i64, Vec<(Nanos, Nanos, u64)>> = BTreeMap::new();
        for (&id, g) in &summary.goroutines {
            for &index in &g.regions {
                let r = &summary.regions[index];
                if r.task == 0 {
                    continue;
                }
                let start = r.start.as_ref().map_or(summary.start_time, |e| e.time);
                let end = r.end.as_ref().map_or(summary.end_time, |e| e.time);
                by_goroutine.entry(id).or_default().push((start, end, r.task));
            }
        }
        // The goroutines that began and ended a task worked for it in between, outside its
        // regions too (a region, which begins later, is the innermost where both apply).
        for t in summary.tasks.values() {
            let (Some(start), Some(end)) = (&t.start, &t.end) else { continue };
            by_goroutine.entry(start.goroutine).or_default().push((start.time, end.time, t.id));
            if end.goroutine != start.goroutine {
                by_goroutine.entry(end.goroutine).or_default().push((start.time, end.time, t.id));
            }
        }
        for list in by_goroutine.values_mut() {
            list.sort_unstable();
            list.dedup();
        }
        let parents = summary.tasks.values().filter_map(|t| Some((t.id, t.parent?))).collect();
        let reach = by_goroutine
            .iter()
            .map(|(&id, list)| {
                let ends = list.iter().scan(Nanos::MIN, |max, &(_, end, _)| {
                    *max = (*max).max(end);
                    Some(*max)
                });
                (id, ends.collect())
            })
            .collect();
        TaskMembership { by_goroutine, reach, parents }
    }

    /// The task goroutine `id` worked for during `start..end`: that of its innermost region
    /// covering the stretch's middle.
    pub fn task_at(&self, id: i64, start: Nanos, end: Nanos) -> Option<u64> {
        let mid = start + (end - start) / 2;
        let list = self.by_goroutine.get(&id)?;
        let reach = &self.reach[&id];
        let n = list.partition_point(|&(s, _, _)| s <= mid);
        // Back from the latest interval begun by `mid`, while an earlier one can still reach it.
        (0..n).rev().take_while(|&i| reach[i] >= mid).find(|&i| list[i].1 >= mid).map(|i| list[i].2)
    }

    fn relation(&self, task: Option<u64>, interval: Option<u64>) -> TaskRelation {
        let Some(mut task) = task else { return TaskRelation::NoTask };
        let Some(interval) = interval else { return TaskRelation::OtherTask };
        // A subtask works for its parent; the chain is bounded in case of a cycle.
        for _ in 0..64 {
            if task == interval {
                return TaskRelation::SameTask;
            }
            match self.parents.get(&task) {
                Some(&parent) => task = parent,
                None => break,
            }
        }
        TaskRelation::OtherTask
    }
}

/// Why a critical path cannot be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// No goroutine with that ID in the trace.
    NoGoroutine(i64),
    /// The interval is empty or backwards.
    EmptyInterval {
        /// Its start.
        start: Nanos,
        /// Its end.
        end: Nanos,
    },
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathError::NoGoroutine(id) => write!(f, "the trace has no goroutine {id}"),
            PathError::EmptyInterval { start, end } => {
                write!(f, "the interval from {start} ns to {end} ns is empty: its end must come after its start")
            }
        }
    }
}

impl std::error::Error for PathError {}

/// The category of a wait that no goroutine ended, from its reason (and whose goroutine it is).
fn leaf_category(reason: &str, gc_worker: bool) -> Category {
    match reason {
        "network" => Category::Network,
        // A sleep ends by a timer; so does a channel wait that no goroutine ended (the send of
        // a `time.After`, `time.Ticker` or context deadline runs in the scheduler).
        "sleep" | "select" | "chan receive" | "chan send" | "select (no cases)" => Category::Timer,
        _ if gc_worker || reason.contains("GC") || reason.contains("garbage collection") => Category::Gc,
        _ if reason.contains("syscall") => Category::Syscall,
        _ => Category::Unknown,
    }
}

/// One level of the walk: a goroutine being walked back in time down to `lower`.
#[derive(Clone, Copy)]
struct Level {
    node: u32,
    /// The segment the walk is in, and the time it has reached.
    segment: Option<SegmentId>,
    lower: Nanos,
    depth: u32,
    /// How the walk entered the next piece of this level.
    edge: PathEdge,
    /// The stack of the event through which the walk entered this level (an unblock, a
    /// creation): where the first stretch here ends, rather than where its segment stopped.
    entry_stack: Option<u64>,
}

/// Finds the critical path of `query`. `tasks` tells which task each goroutine worked for
/// (without it every segment is `NoTask`).
pub fn critical_path(
    graph: &ExecutionGraph,
    query: &PathQuery,
    tasks: Option<&TaskMembership>,
) -> Result<CriticalPath, PathError> {
    if query.end <= query.start {
        return Err(PathError::EmptyInterval { start: query.start, end: query.end });
    }
    let node = graph.goroutine_at(query.goroutine, query.end).ok_or(PathError::NoGoroutine(query.goroutine))?;
    let mut path = CriticalPath {
        start: query.start,
        end: query.end,
        goroutine: query.goroutine,
        task: query.task,
        segments: Vec::new(),
        hops: Vec::new(),
    };
    let mut levels = vec![Level {
        node,
        segment: graph.segment_before(node, query.end),
        lower: query.start,
        depth: 0,
        edge: PathEdge::End,
        entry_stack: query.end_stack,
    }];
    let mut t = query.end;
    // Every step either shortens what is left of the interval or moves to an earlier
    // segment; the bound only guards against a graph that breaks that rule.
    let mut budget = 4 * graph.segment_count() + 16;
    let empty = Name::from("");
    while let Some(level) = levels.last_mut() {
        budget = budget.saturating_sub(1);
        if t <= level.lower || budget == 0 {
            levels.pop();
            if budget == 0 {
                break;
            }
            continue;
        }
        let g = &graph.goroutines()[level.node as usize];
        let emit = |path: &mut CriticalPath,
                    level: &Level,
                    start: Nanos,
                    end: Nanos,
                    category: Category,
                    detail: &Name,
                    stack: Option<u64>,
                    segment: SegmentId| {
            if end > start {
                path.segments.push(PathSegment {
                    goroutine: g.id,
                    function: g.function.clone(),
                    start,
                    end,
                    depth: level.depth,
                    category,
                    detail: detail.clone(),
                    stack,
                    edge: level.edge,
                    task: None,
                    relation: TaskRelation::NoTask,
                    segment,
                });
            }
        };
        let Some(s) = level.segment else {
            // Before the goroutine's first segment: the trace does not say.
            emit(&mut path, level, level.lower, t, Category::Unknown, &empty, None, u32::MAX);
            level.edge = PathEdge::Continues;
            t = level.lower;
            continue;
        };
        let seg_start = graph.start(s);
        let lo = seg_start.max(level.lower);
        let began = graph.began(s);
        match graph.state(s) {
            SegmentState::Running | SegmentState::Syscall => {
                let category = if graph.state(s) == SegmentState::Syscall {
                    Category::Syscall
                } else if g.is_gc_worker() {
                    Category::Gc
                } else {
                    Category::Running
                };
                // Where the stretch ends: the stack of the event the walk came from if it ended
                // here (an unblock, a creation), else where the segment stopped.
                let stack = level.entry_stack.take().or(graph.stack(s));
                emit(&mut path, level, lo, t, category, &empty, stack, s);
                t = lo;
                level.edge =
                    if began == SegmentStart::SyscallReturned { PathEdge::SyscallReturn } else { PathEdge::Continues };
                level.segment = graph.previous(s);
            }
            SegmentState::Runnable => {
                // The stack of the entering event describes only a running first stretch.
                level.entry_stack = None;
                let detail = runnable_detail(graph, s, lo, t);
                // A goroutine woken from a wait is still where it waited; one that stopped
                // running is where it stopped; a new one is where its creator made it.
                let stack = match began {
                    SegmentStart::Unblocked | SegmentStart::HandedOff => graph.previous(s).and_then(|p| graph.stack(p)),
                    _ => graph.stack(s),
                };
                emit(&mut path, level, lo, t, Category::Runnable, &detail, stack, s);
                t = lo;
                level.edge = match began {
                    SegmentStart::SyscallReturnedLostProc => PathEdge::SyscallReturn,
                    _ => PathEdge::Continues,
                };
                if began == SegmentStart::Created && t > level.lower {
                    // Created with time left: the creator's history comes next.
                    match graph.cause(s) {
                        Some(cause) => {
                            let creator = graph.goroutine_of(cause);
                            path.hops.push(PathHop {
                                edge: PathEdge::Created,
                                waiter: g.id,
                                cause: graph.goroutines()[creator as usize].id,
                                cause_function: graph.goroutines()[creator as usize].function.clone(),
                                blocked_at: seg_start,
                                reason: empty.clone(),
                                blocked_stack: None,
                                unblocked_at: seg_start,
                                unblocked_stack: graph.stack(s),
                                depth: level.depth + 1,
                            });
                            let lower = level.lower;
                            let depth = level.depth + 1;
                            levels.push(Level {
                                node: creator,
                                segment: Some(cause),
                                lower,
                                depth,
                                edge: PathEdge::Created,
                                entry_stack: graph.stack(s),
                            });
                        }
                        None => level.segment = None,
                    }
                    continue;
                }
                level.segment = graph.previous(s);
            }
            SegmentState::Waiting => {
                level.entry_stack = None;
                let reason = graph.reason(s);
                let next = (s + 1 < g.first_segment + g.segment_count).then_some(s + 1);
                // Who ended the wait, if the walk is at its end (not inside it).
                let ender = next
                    .filter(|&n| graph.start(n) == t)
                    .filter(|&n| matches!(graph.began(n), SegmentStart::Unblocked | SegmentStart::HandedOff))
                    .and_then(|n| Some((n, graph.cause(n)?)));
                match ender {
                    Some((woken, cause)) => {
                        let edge = if graph.began(woken) == SegmentStart::HandedOff {
                            PathEdge::HandedOff
                        } else {
                            PathEdge::Unblocked
                        };
                        let unblocker = graph.goroutine_of(cause);
                        let ug = &graph.goroutines()[unblocker as usize];
                        path.hops.push(PathHop {
                            edge,
                            waiter: g.id,
                            cause: ug.id,
                            cause_function: ug.function.clone(),
                            blocked_at: seg_start,
                            reason: reason.clone(),
                            blocked_stack: graph.stack(s),
                            unblocked_at: t,
                            unblocked_stack: graph.stack(woken),
                            depth: level.depth + 1,
                        });
                        let depth = level.depth + 1;
                        // The waiter resumes before its wait once the unblocker's walk reaches it.
                        level.segment = graph.previous(s);
                        level.edge = PathEdge::Continues;
                        if query.strict {
                            // Only the unblocker's segment that holds the unblock; the rest of
                            // the wait stays the waiter's, classified by its reason.
                            let cause_lo = graph.start(cause).max(lo);
                            if t > cause_lo {
                                path.segments.push(PathSegment {
                                    goroutine: ug.id,
                                    function: ug.function.clone(),
                                    start: cause_lo,
                                    end: t,
                                    depth,
                                    category: unblocker_category(graph, cause, ug.is_gc_worker()),
                                    detail: empty.clone(),
                                    stack: graph.stack(woken),
                                    edge,
                                    task: None,
                                    relation: TaskRelation::NoTask,
                                    segment: cause,
                                });
                            }
                            let category = leaf_category(reason, g.is_gc_worker());
                            let waiting = Level { edge: PathEdge::Continues, ..*level };
                            emit(&mut path, &waiting, lo, cause_lo, category, reason, graph.stack(s), s);
                            t = lo;
                            continue;
                        }
                        levels.push(Level {
                            node: unblocker,
                            segment: Some(cause),
                            lower: lo,
                            depth,
                            edge,
                            entry_stack: graph.stack(woken),
                        });
                    }
                    None => {
                        let category = match began {
                            // A wait seen from the generation's start has no reason in the trace.
                            SegmentStart::TraceStart if !g.is_gc_worker() => Category::Unknown,
                            _ => leaf_category(reason, g.is_gc_worker()),
                        };
                        emit(&mut path, level, lo, t, category, reason, graph.stack(s), s);
                        t = lo;
                        level.edge = PathEdge::Continues;
                        level.segment = graph.previous(s);
                    }
                }
            }
        }
    }
    path.segments.reverse();
    // Most paths are short, and many are kept at once (every instance of a type).
    path.segments.shrink_to_fit();
    path.hops.shrink_to_fit();
    if let Some(tasks) = tasks {
        for s in &mut path.segments {
            s.task = tasks.task_at(s.goroutine, s.start, s.end);
            s.relation = tasks.relation(s.task, query.task);
        }
    }
    Ok(path)
}

fn unblocker_category(graph: &ExecutionGraph, segment: SegmentId, gc_worker: bool) -> Category {
    match graph.state(segment) {
        SegmentState::Syscall => Category::Syscall,
        SegmentState::Runnable => Category::Runnable,
        _ if gc_worker => Category::Gc,
        SegmentState::Running => Category::Running,
        SegmentState::Waiting => leaf_category(graph.reason(segment), gc_worker),
    }
}

/// Why a goroutine was runnable during `start..end` of runnable segment `s`.
fn runnable_detail(graph: &ExecutionGraph, s: SegmentId, start: Nanos, end: Nanos) -> Name {
    let stw = graph.stop_the_world();
    let i = stw.partition_point(|&(_, e)| e <= start);
    if stw.get(i).is_some_and(|&(s, _)| s < end) {
        return Name::from("stop-the-world");
    }
    let text = match graph.began(s) {
        SegmentStart::Created => "created",
        SegmentStart::Unblocked => "unblocked",
        SegmentStart::HandedOff => "handed off",
        SegmentStart::SyscallReturnedLostProc => "after syscall",
        SegmentStart::Stopped => return graph.reason(s).clone(),
        SegmentStart::TraceStart => "at trace start",
        _ => "",
    };
    Name::from(text)
}

/// The critical path of task `id`: from its beginning to its end, ended by the goroutine
/// that ended it. `None` if the trace does not show both.
pub fn task_query(summary: &Summary, id: u64) -> Option<PathQuery> {
    let task = summary.tasks.get(&id)?;
    let (start, end) = (task.start.as_ref()?, task.end.as_ref()?);
    Some(PathQuery {
        goroutine: end.goroutine,
        start: start.time,
        end: end.time,
        task: Some(id),
        end_stack: end.stack,
        strict: false,
    })
}

/// The queries of every complete task of type `name`, by task ID.
pub fn task_type_queries(summary: &Summary, name: &str) -> Vec<(u64, PathQuery)> {
    summary
        .tasks
        .values()
        .filter(|t| &*t.name == name)
        .filter_map(|t| Some((t.id, task_query(summary, t.id)?)))
        .collect()
}

/// The queries of every complete region of type `name`, as (index into the summary's
/// regions, query), in the order the regions began.
pub fn region_queries(summary: &Summary, name: &str) -> Vec<(usize, PathQuery)> {
    let mut out: Vec<(usize, PathQuery)> = (0..summary.regions.len())
        .filter(|&i| &*summary.regions[i].name == name)
        .filter_map(|i| Some((i, region_query(summary, i)?)))
        .collect();
    out.sort_by_key(|(i, q)| (q.start, *i));
    out
}

/// The query of region `index` of the summary's regions: from its beginning to its end, on
/// its goroutine. `None` if the trace does not show both (or there is no such region).
pub fn region_query(summary: &Summary, index: usize) -> Option<PathQuery> {
    let r = summary.regions.get(index)?;
    let (start, end) = (r.start.as_ref()?, r.end.as_ref()?);
    Some(PathQuery {
        goroutine: end.goroutine,
        start: start.time,
        end: end.time,
        task: (r.task != 0).then_some(r.task),
        end_stack: end.stack,
        strict: false,
    })
}

/// The query of goroutine `id` from `from` to `to` (default: its life in the trace, from its
/// creation or first appearance to its end or the end of the trace).
pub fn goroutine_query(
    graph: &ExecutionGraph,
    id: i64,
    from: Option<Nanos>,
    to: Option<Nanos>,
) -> Result<PathQuery, PathError> {
    let node = match to {
        Some(to) => graph.goroutine_at(id, to),
        None => graph.goroutine_by_id(id),
    }
    .ok_or(PathError::NoGoroutine(id))?;
    let g = &graph.goroutines()[node as usize];
    // A goroutine first seen in a state it was already in existed before the trace: its
    // life in the trace starts with the trace.
    let first_seen = match graph.began(g.first_segment) {
        SegmentStart::TraceStart => graph.time_range().0,
        _ => graph.start(g.first_segment),
    };
    let start = from.unwrap_or(first_seen);
    let end = to.unwrap_or(g.end);
    Ok(PathQuery { goroutine: id, start, end, task: None, end_stack: None, strict: false })
}

/// The critical paths of many queries, in parallel (with rayon's threads), in their order.
pub fn critical_paths(
    graph: &ExecutionGraph,
    queries: &[PathQuery],
    tasks: Option<&TaskMembership>,
) -> Vec<Result<CriticalPath, PathError>> {
    queries.par_iter().map(|q| critical_path(graph, q, tasks)).collect()
}

/// How many paths [`for_each_critical_path`] finds at once.
const PATHS_AT_ONCE: usize = 4096;

/// Calls `each` with the index and the critical path of every query, in order: found in
/// parallel a few thousand at a time, so that however many there are, only those few are
/// held at once.
pub fn for_each_critical_path(
    graph: &ExecutionGraph,
    queries: &[PathQuery],
    tasks: Option<&TaskMembership>,
    mut each: impl FnMut(usize, Result<CriticalPath, PathError>),
) {
    for (chunk, part) in queries.chunks(PATHS_AT_ONCE).enumerate() {
        for (i, path) in critical_paths(graph, part, tasks).into_iter().enumerate() {
            each(chunk * PATHS_AT_ONCE + i, path);
        }
    }
}

/// Time on the path of many instances (tasks or regions of one type), by category and by
/// goroutine group: the median over all instances, and the mean over the slowest 1%.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathAggregate {
    /// How many instances.
    pub count: usize,
    /// Their median duration.
    pub median_duration: Nanos,
    /// How many instances are the slowest 1% (at least one).
    pub slowest_count: usize,
    /// The shortest duration among the slowest 1%.
    pub slowest_threshold: Nanos,
    /// Per category: the median over instances of the time in it.
    pub median_by_category: BTreeMap<Category, Nanos>,
    /// Per category: the mean over the slowest 1% of the time in it.
    pub slowest_by_category: BTreeMap<Category, Nanos>,
    /// Per category: the total over all instances.
    pub total_by_category: BTreeMap<Category, Nanos>,
    /// Per goroutine group: the median over instances of the time on the path.
    pub median_by_group: BTreeMap<Name, Nanos>,
    /// Per goroutine group: the mean over the slowest 1% of the time on the path.
    pub slowest_by_group: BTreeMap<Name, Nanos>,
}

/// The aggregate of the paths of many instances of one type.
pub fn aggregate(paths: &[CriticalPath]) -> PathAggregate {
    let mut aggregator = PathAggregator::new(paths.iter().map(|p| p.end - p.start).collect());
    for (i, path) in paths.iter().enumerate() {
        aggregator.add(i, path);
    }
    aggregator.finish()
}

/// Builds a [`PathAggregate`] from paths given one at a time, keeping only each instance's
/// time in the categories and groups it has (most have one or two), not the paths.
#[derive(Debug, Clone)]
pub struct PathAggregator {
    durations: Vec<Nanos>,
    slowest: Vec<bool>,
    slowest_count: usize,
    /// Per category: the instances' times in it that are not 0, the sum over the slowest,
    /// and the total.
    categories: BTreeMap<Category, (Vec<Nanos>, Nanos, Nanos)>,
    /// Per goroutine group: the instances' times that are not 0, and the sum over the slowest.
    groups: BTreeMap<Name, (Vec<Nanos>, Nanos)>,
}

impl PathAggregator {
    /// An aggregator of the instances with these durations; instance `i` is added as `i`.
    pub fn new(durations: Vec<Nanos>) -> PathAggregator {
        let count = durations.len();
        let mut order: Vec<usize> = (0..count).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(durations[i]), i));
        let slowest_count = count.div_ceil(100).max(1).min(count);
        let mut slowest = vec![false; count];
        for &i in &order[..slowest_count] {
            slowest[i] = true;
        }
        PathAggregator {
            durations,
            slowest,
            slowest_count,
            categories: Category::ALL.iter().map(|&c| (c, (Vec::new(), 0, 0))).collect(),
            groups: BTreeMap::new(),
        }
    }

    /// Adds the path of instance `i`.
    pub fn add(&mut self, i: usize, path: &CriticalPath) {
        let slow = self.slowest[i];
        for (c, t) in path.by_category().into_iter().filter(|&(_, t)| t != 0) {
            let entry = self.categories.get_mut(&c).expect("every category is present");
            entry.0.push(t);
            entry.1 += if slow { t } else { 0 };
            entry.2 += t;
        }
        for (name, t) in path.by_group().into_iter().filter(|&(_, t)| t != 0) {
            let entry = self.groups.entry(name).or_default();
            entry.0.push(t);
            entry.1 += if slow { t } else { 0 };
        }
    }

    /// The aggregate of the paths added (each instance counted once, as given to [`new`](Self::new)).
    pub fn finish(self) -> PathAggregate {
        let count = self.durations.len();
        // The nearest-rank median of `count` values of which only those not 0 are listed.
        let median = |mut values: Vec<Nanos>| -> Nanos {
            if count == 0 {
                return 0;
            }
            values.sort_unstable();
            let rank = count.div_ceil(2) - 1;
            let zeros = count - values.len();
            if rank < zeros { 0 } else { values[rank - zeros] }
        };
        let mean = |sum: Nanos| if count == 0 { 0 } else { sum / self.slowest_count as Nanos };
        let slowest_threshold = (0..count).filter(|&i| self.slowest[i]).map(|i| self.durations[i]).min().unwrap_or(0);
        let mut agg = PathAggregate {
            count,
            median_duration: median(self.durations.iter().copied().filter(|&d| d != 0).collect()),
            slowest_count: if count == 0 { 0 } else { self.slowest_count },
            slowest_threshold,
            median_by_category: BTreeMap::new(),
            slowest_by_category: BTreeMap::new(),
            total_by_category: BTreeMap::new(),
            median_by_group: BTreeMap::new(),
            slowest_by_group: BTreeMap::new(),
        };
        for (c, (values, slowest, total)) in self.categories {
            agg.total_by_category.insert(c, total);
            agg.slowest_by_category.insert(c, mean(slowest));
            agg.median_by_category.insert(c, median(values));
        }
        for (name, (values, slowest)) in self.groups {
            agg.slowest_by_group.insert(name.clone(), mean(slowest));
            agg.median_by_group.insert(name, median(values));
        }
        agg
    }
}

/// Pseudo program counters for the category and group frames of a path profile: far above
/// any real code address, so they never share a location with a real frame.
const PSEUDO_PC_BASE: u64 = 0xffff_ff00_0000_0000;

/// The critical paths as profile samples (value: nanoseconds on the path; count: stretches):
/// each sample's stack is the stretch's stack under a frame for its goroutine group and, at
/// the root, one for its category, so `go tool pprof` shows the path by category first.
pub fn path_profile(ir: &TraceIr, paths: &[CriticalPath]) -> Vec<ProfileRecord> {
    let mut profile = PathProfile::default();
    for path in paths {
        profile.add(path);
    }
    profile.records(ir)
}

/// Builds the samples of [`path_profile`] from paths given one at a time.
#[derive(Debug, Clone, Default)]
pub struct PathProfile {
    samples: BTreeMap<(Category, Name, Option<u64>), (u64, Nanos)>,
}

impl PathProfile {
    /// Adds a path's stretches.
    pub fn add(&mut self, path: &CriticalPath) {
        for s in &path.segments {
            let entry = self.samples.entry((s.category, s.function.clone(), s.stack)).or_default();
            entry.0 += 1;
            entry.1 += s.duration();
        }
    }

    /// The samples, with stacks resolved through the IR.
    pub fn records(self, ir: &TraceIr) -> Vec<ProfileRecord> {
        let mut pseudo: BTreeMap<String, u64> = BTreeMap::new();
        let mut pseudo_frame = |name: String| {
            let next = PSEUDO_PC_BASE + pseudo.len() as u64;
            let pc = *pseudo.entry(name.clone()).or_insert(next);
            ProfileFrame { func: name, file: String::new(), line: 0, pc }
        };
        let mut records = Vec::with_capacity(self.samples.len());
        for ((category, group, stack), (count, time)) in self.samples {
            let mut frames = Vec::new();
            if let Some(stack) = stack {
                ir.for_each_frame(stack, &mut |f| {
                    frames.push(ProfileFrame {
                        func: String::from_utf8_lossy(f.func).into_owned(),
                        file: String::from_utf8_lossy(f.file).into_owned(),
                        line: f.line,
                        pc: f.pc,
                    });
                });
            }
            let group = if group.is_empty() { "(unnamed goroutine)".to_owned() } else { group.to_string() };
            frames.push(pseudo_frame(format!("goroutine group {group}")));
            frames.push(pseudo_frame(format!("critical path: {}", category.name())));
            records.push(ProfileRecord { stack: frames, count, time });
        }
        records
    }
}
