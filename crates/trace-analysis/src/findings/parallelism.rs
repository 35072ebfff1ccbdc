//! Findings on waiting for a CPU, read against what the procs were doing meanwhile: a group
//! that waits while every proc runs program code has saturated the machine (a note); one that
//! waits while procs sit idle suffers scheduling latency (a problem); one whose goroutines are
//! so small that creating and scheduling each costs about as much as its work is too finely
//! divided (a problem).

use rustc_hash::FxHashMap;

use super::{
    Explained, Finding, FindingKind, Inputs, Quantity, Severity, WaitKind, count_words, duration_words, group_subject,
    percent_floor,
};
use crate::goroutines::{Nanos, is_system_goroutine};
use crate::graph::{ExecutionGraph, SegmentStart, SegmentState};
use crate::groups::GoroutineGroup;

/// While a group waited, the share of proc time idle above which the waiting is scheduling
/// latency rather than a saturated machine.
const IDLE_PERCENT_FOR_LATENCY: f64 = 20.0;
/// Creating and scheduling a goroutine "rivals" its work when it costs at least this share of
/// the median work.
const OVERHEAD_PERCENT_FOR_TINY: f64 = 50.0;
/// A gap between two goroutines on a proc longer than this is the proc idling, not switching.
const MAX_SWITCH_GAP: Nanos = 100_000;

/// What occupies a proc.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Occupant {
    Program,
    Gc,
    Runtime,
    Syscall,
    StopTheWorld,
}

const OCCUPANTS: usize = 5;

/// How the procs' time was spent while a group had runnable goroutines.
#[derive(Debug, Default, Clone, Copy)]
struct ProcTime {
    /// Proc capacity (GOMAXPROCS × time) while the group was runnable.
    capacity: Nanos,
    /// Of it, by [`Occupant`], capped at the capacity.
    busy: [Nanos; OCCUPANTS],
    /// The first and last moment the group was runnable.
    first: Nanos,
    last: Nanos,
}

impl ProcTime {
    fn idle(&self) -> Nanos {
        (self.capacity - self.busy.iter().sum::<Nanos>()).max(0)
    }

    fn percent(&self, occupant: Occupant) -> f64 {
        percent_floor(self.busy[occupant as usize], self.capacity)
    }
}

/// What creating and scheduling a group's goroutines cost, as measured in the trace.
#[derive(Debug, Default, Clone, Copy)]
struct Overhead {
    /// The median time between two creations by the same creator without a pause.
    creation: Option<Nanos>,
    /// The median gap on a proc between the previous goroutine and one of the group.
    switch: Option<Nanos>,
    /// Times one of the group's goroutines was put on a proc, per goroutine.
    switches_per_goroutine: f64,
}

impl Overhead {
    fn per_goroutine(&self) -> Nanos {
        self.creation.unwrap_or(0) + (self.switch.unwrap_or(0) as f64 * self.switches_per_goroutine).round() as Nanos
    }
}

/// The parallelism findings; returns the groups whose waiting for a CPU they explain.
pub(super) fn find(inputs: &Inputs<'_>, found: &mut Vec<Finding>) -> Explained {
    let duration = inputs.overview.duration;
    // Groups whose goroutines mostly waited for a CPU: more runnable work than procs. Worth a
    // word when it is most of the group's time, more than it ran, and a noticeable share of the
    // trace.
    let candidates: Vec<&GoroutineGroup> = inputs
        .groups
        .iter()
        .filter(|g| !is_system_goroutine(&g.name) && g.goroutines.len() > 1)
        .filter(|g| {
            let s = &g.stats;
            s.sched_wait_time * 2 >= s.total_time
                && s.sched_wait_time > s.exec_time
                && s.sched_wait_time * 20 >= duration
        })
        .collect();
    let mut explained = Explained::new();
    if candidates.is_empty() {
        return explained;
    }
    let graph = inputs.graph;
    let member: FxHashMap<&str, usize> = candidates.iter().enumerate().map(|(i, g)| (&*g.name, i)).collect();
    let group_of: Vec<Option<usize>> = graph.goroutines().iter().map(|g| member.get(&*g.function).copied()).collect();
    let procs = inputs.overview.max_gomaxprocs.unwrap_or(inputs.overview.procs).max(1) as i64;
    let times = proc_time(graph, &group_of, candidates.len(), procs);
    let overheads = overheads(graph, &group_of, &candidates);
    for (i, group) in candidates.iter().enumerate() {
        let (time, overhead) = (times[i], overheads[i]);
        let s = &group.stats;
        let count = group.goroutines.len();
        let waited = format!(
            "{} of {} waited {} for a CPU in all ({:.0}% of their time, {:.0}x their {} of execution)",
            count_words(count, "goroutine"),
            group.name,
            duration_words(s.sched_wait_time),
            percent_floor(s.sched_wait_time, s.total_time).floor(),
            s.sched_wait_time as f64 / s.exec_time.max(1) as f64,
            duration_words(s.exec_time),
        );
        let procs_words = format!(
            "while they waited, the {} ran program code {:.0}% of the time, the GC {:.0}%, the runtime and system \
             calls {:.0}%, and sat idle {:.0}%",
            if procs == 1 {
                "one proc (GOMAXPROCS=1)".to_owned()
            } else {
                format!("{procs} procs (GOMAXPROCS={procs})")
            },
            time.percent(Occupant::Program),
            time.percent(Occupant::Gc) + time.percent(Occupant::StopTheWorld),
            time.percent(Occupant::Runtime) + time.percent(Occupant::Syscall),
            percent_floor(time.idle(), time.capacity),
        );
        let work = group.exec_time.p50;
        let cost = overhead.per_goroutine();
        let tiny = cost > 0 && cost as f64 * 100.0 >= work as f64 * OVERHEAD_PERCENT_FOR_TINY;
        let idle_percent = percent_floor(time.idle(), time.capacity);
        let (kind, severity, text, advice) = if tiny {
            let parts = [
                overhead.creation.map(|c| format!("{} to create", duration_words(c))),
                overhead.switch.map(|c| {
                    format!(
                        "{} per switch onto a proc, {:.1} switches each",
                        duration_words(c),
                        overhead.switches_per_goroutine
                    )
                }),
            ];
            let parts: Vec<String> = parts.into_iter().flatten().collect();
            (
                FindingKind::TinyGoroutines,
                Severity::Problem,
                format!(
                    "{} of {} did a median of {} of work each, while creating and scheduling each cost about {} \
                     ({}): managing the goroutines costs as much as their work; {waited}",
                    count_words(count, "goroutine"),
                    group.name,
                    duration_words(work),
                    duration_words(cost),
                    parts.join(", "),
                ),
                "give each goroutine more work (a row or column instead of a pixel, a batch of items instead of one), \
                 or feed a fixed pool of GOMAXPROCS workers from a channel",
            )
        } else if idle_percent >= IDLE_PERCENT_FOR_LATENCY {
            (
                FindingKind::SchedulingLatency,
                Severity::Problem,
                format!("{waited}, though procs were free: {procs_words}"),
                "runnable goroutines waited while procs were idle: look for wake-ups the scheduler was slow to act on \
                 (goroutines readied by a proc that keeps running, long non-preemptible loops) and for the OS giving \
                 the process fewer CPUs than GOMAXPROCS (a container's CPU quota)",
            )
        } else {
            (
                FindingKind::CpuSaturated,
                Severity::Note,
                format!(
                    "{waited} because every proc was busy: {procs_words}; the machine is saturated with the program's own work"
                ),
                "nothing to fix in the scheduling: the work is spread over every proc; more CPUs, or less work, \
                 would finish sooner",
            )
        };
        let mut finding = Finding::new(kind, severity, group_subject(&group.name), text)
            .with("goroutines", Quantity::Count(count as u64))
            .with("sched_wait_ns", Quantity::Nanos(s.sched_wait_time))
            .with("execution_ns", Quantity::Nanos(s.exec_time))
            .with("median_execution_ns", Quantity::Nanos(work))
            .with("gomaxprocs", Quantity::Count(procs as u64))
            .with("procs_program_percent", Quantity::Percent(time.percent(Occupant::Program)))
            .with(
                "procs_gc_percent",
                Quantity::Percent(time.percent(Occupant::Gc) + time.percent(Occupant::StopTheWorld)),
            )
            .with(
                "procs_runtime_percent",
                Quantity::Percent(time.percent(Occupant::Runtime) + time.percent(Occupant::Syscall)),
            )
            .with("procs_idle_percent", Quantity::Percent(idle_percent))
            .window(time.first, time.last)
            .weight(s.sched_wait_time)
            .advice(advice);
        if cost > 0 {
            finding.evidence.insert("overhead_per_goroutine_ns", Quantity::Nanos(cost));
        }
        if let Some(c) = overhead.creation {
            finding.evidence.insert("creation_ns", Quantity::Nanos(c));
        }
        if let Some(c) = overhead.switch {
            finding.evidence.insert("switch_ns", Quantity::Nanos(c));
        }
        found.push(finding);
        explained.insert((group.name.to_string(), WaitKind::Cpu));
    }
    explained
}

/// For each candidate group: how the procs spent their time while it had runnable goroutines.
fn proc_time(graph: &ExecutionGraph, group_of: &[Option<usize>], groups: usize, procs: i64) -> Vec<ProcTime> {
    // +1/-1 changes: occupants of procs (by index) and runnable goroutines (by group, after
    // the occupants).
    let mut changes: Vec<(Nanos, i32, u32)> = Vec::new();
    for (node, g) in graph.goroutines().iter().enumerate() {
        let occupant = if g.is_gc_worker() {
            Occupant::Gc
        } else if is_system_goroutine(&g.function) || g.function.starts_with("runtime.") {
            Occupant::Runtime
        } else {
            Occupant::Program
        };
        for s in g.segments() {
            let class = match graph.state(s) {
                SegmentState::Running => occupant as u32,
                // A system call holds its proc only if it kept it to the end.
                SegmentState::Syscall
                    if s + 1 < g.segments().end && graph.began(s + 1) == SegmentStart::SyscallReturned =>
                {
                    Occupant::Syscall as u32
                }
                SegmentState::Runnable => match group_of[node] {
                    Some(i) => (OCCUPANTS + i) as u32,
                    None => continue,
                },
                _ => continue,
            };
            let (start, end) = (graph.start(s), graph.end(s));
            if end > start {
                changes.push((start, 1, class));
                changes.push((end, -1, class));
            }
        }
    }
    for &(start, end) in graph.stop_the_world() {
        changes.push((start, 1, Occupant::StopTheWorld as u32));
        changes.push((end, -1, Occupant::StopTheWorld as u32));
    }
    changes.sort_unstable_by_key(|c| (c.0, c.1));
    let mut times = vec![ProcTime { first: Nanos::MAX, last: Nanos::MIN, ..ProcTime::default() }; groups];
    let mut counts = vec![0i64; OCCUPANTS + groups];
    let mut previous = changes.first().map_or(0, |c| c.0);
    for (time, delta, class) in changes {
        let elapsed = time - previous;
        if elapsed > 0 {
            // A stop-the-world pause takes every proc; otherwise each occupant, in order, up
            // to the capacity (a proc counted twice around a hand-off is not capacity).
            let mut left = procs;
            let mut busy = [0i64; OCCUPANTS];
            if counts[Occupant::StopTheWorld as usize] > 0 {
                busy[Occupant::StopTheWorld as usize] = procs;
                left = 0;
            }
            for o in [Occupant::Gc, Occupant::Program, Occupant::Runtime, Occupant::Syscall] {
                let n = counts[o as usize].clamp(0, left);
                busy[o as usize] = n;
                left -= n;
            }
            for (i, t) in times.iter_mut().enumerate() {
                if counts[OCCUPANTS + i] > 0 {
                    t.capacity += procs * elapsed;
                    for (b, n) in t.busy.iter_mut().zip(busy) {
                        *b += n * elapsed;
                    }
                    t.first = t.first.min(previous);
                    t.last = t.last.max(time);
                }
            }
        }
        counts[class as usize] += i64::from(delta);
        previous = time;
    }
    for t in &mut times {
        if t.first > t.last {
            (t.first, t.last) = (0, 0);
        }
    }
    times
}

/// For each candidate group: the measured cost of creating and of scheduling its goroutines.
fn overheads(graph: &ExecutionGraph, group_of: &[Option<usize>], groups: &[&GoroutineGroup]) -> Vec<Overhead> {
    // Creations by creator segment, and running segments by proc.
    let mut created: FxHashMap<u32, Vec<(usize, Nanos)>> = FxHashMap::default();
    let mut running: Vec<(i64, Nanos, Nanos, Option<usize>, bool)> = Vec::new();
    let mut scheduled = vec![0u64; groups.len()];
    for (node, g) in graph.goroutines().iter().enumerate() {
        let group = group_of[node];
        let segments = g.segments();
        if let Some(i) = group
            && !segments.is_empty()
            && graph.began(segments.start) == SegmentStart::Created
            && let Some(cause) = graph.cause(segments.start)
        {
            created.entry(cause).or_default().push((i, graph.start(segments.start)));
        }
        for s in segments.filter(|&s| graph.state(s) == SegmentState::Running) {
            let began_scheduled = graph.began(s) == SegmentStart::Scheduled;
            if let (Some(i), true) = (group, began_scheduled) {
                scheduled[i] += 1;
            }
            if let Some(proc) = graph.segment(s).proc {
                running.push((proc, graph.start(s), graph.end(s), group, began_scheduled));
            }
        }
    }
    let mut creation_gaps: Vec<Vec<Nanos>> = vec![Vec::new(); groups.len()];
    for (_, mut times) in created {
        times.sort_unstable_by_key(|t| t.1);
        for pair in times.windows(2).filter(|p| p[0].0 == p[1].0) {
            creation_gaps[pair[1].0].push(pair[1].1 - pair[0].1);
        }
    }
    running.sort_unstable_by_key(|r| (r.0, r.1));
    let mut switch_gaps: Vec<Vec<Nanos>> = vec![Vec::new(); groups.len()];
    for pair in running.windows(2).filter(|p| p[0].0 == p[1].0) {
        let (previous, next) = (pair[0], pair[1]);
        if let (Some(i), true) = (next.3, next.4) {
            let gap = next.1 - previous.2;
            if (0..=MAX_SWITCH_GAP).contains(&gap) {
                switch_gaps[i].push(gap);
            }
        }
    }
    (0..groups.len())
        .map(|i| Overhead {
            creation: median(&mut creation_gaps[i]),
            switch: median(&mut switch_gaps[i]),
            switches_per_goroutine: scheduled[i] as f64 / groups[i].goroutines.len().max(1) as f64,
        })
        .collect()
}

/// The median of at least a few values: fewer measure nothing.
fn median(values: &mut [Nanos]) -> Option<Nanos> {
    if values.len() < 8 { None } else { super::median(values) }
}
