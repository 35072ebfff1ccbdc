//! Known patterns, each recognised from what the trace shows: `http.Server.Shutdown` waiting
//! for connections that never send a request, goroutine leaks, a lock a group takes turns on,
//! GC pressure, system calls that lose their proc, and loops that poll with a timer.

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap, FxHashSet};
use trace_format::{Details, EventKind, RangeKind, RangePhase, Scope};

use super::{
    Explained, Finding, FindingKind, Inputs, MAX_NAMED_GOROUTINES, Quantity, Severity, Subject, SubjectKind, WaitKind,
    count_words, duration_words, frames, group_subject, is_program_frame, percent_floor, place_words,
};
use crate::goroutines::{Name, Nanos, is_system_goroutine};
use crate::graph::{ExecutionGraph, GoroutineNode, SegmentId, SegmentStart, SegmentState};
use crate::profile::ProfileFrame;

/// The known-pattern findings; returns the waiting they explain.
pub(super) fn find(inputs: &Inputs<'_>, found: &mut Vec<Finding>) -> Explained {
    let mut explained = Explained::new();
    let mut stacks = Stacks { inputs, frames: FxHashMap::default() };
    http_shutdown(inputs, &mut stacks, found, &mut explained);
    leaks(inputs, &mut stacks, found, &mut explained);
    serializing_locks(inputs, &mut stacks, found, &mut explained);
    gc_pressure(inputs, found);
    blocking_syscalls(inputs, &mut stacks, found, &mut explained);
    timer_polling(inputs, &mut stacks, found, &mut explained);
    explained
}

/// Stacks resolved once each.
struct Stacks<'a> {
    inputs: &'a Inputs<'a>,
    frames: FxHashMap<u64, Vec<ProfileFrame>>,
}

impl Stacks<'_> {
    fn get(&mut self, stack: Option<u64>) -> &[ProfileFrame] {
        match stack {
            Some(id) => self.frames.entry(id).or_insert_with(|| frames(self.inputs.ir, Some(id))),
            None => &[],
        }
    }

    fn contains(&mut self, stack: Option<u64>, function: &str) -> bool {
        self.get(stack).iter().any(|f| f.func == function)
    }
}

/// Whether a goroutine is the program's, not the runtime's or the tracer's.
fn is_program_goroutine(g: &GoroutineNode) -> bool {
    !is_system_goroutine(&g.function) && !g.function.starts_with("runtime.") && !g.function.starts_with("runtime/")
}

/// The kind of wait a reason is, as the long-wait findings name it.
fn wait_kind(reason: &str) -> WaitKind {
    if reason == "network" { WaitKind::Network } else { WaitKind::Blocked(reason.to_owned()) }
}

/// Whether a wait is one that only another goroutine (or the network) can end: a channel,
/// `select`, a `sync` primitive, the network, or forever.
fn is_wakeable_wait(reason: &str) -> bool {
    crate::goroutines::is_sync_reason(reason) || reason == "network" || reason == "forever" || reason.contains("Cond")
}

/// The wake-up that ended a wait segment: the runnable segment after it, if another goroutine
/// or the runtime made it runnable.
fn wake_after(graph: &ExecutionGraph, g: &GoroutineNode, wait: SegmentId) -> Option<SegmentId> {
    let next = wait + 1;
    (next < g.segments().end && graph.began(next) == SegmentStart::Unblocked).then_some(next)
}

fn median(values: &mut [Nanos]) -> Nanos {
    super::median(values).unwrap_or(0)
}

const SHUTDOWN: &str = "net/http.(*Server).Shutdown";
const CONN_SERVE: &str = "net/http.(*conn).serve";
/// Shutdown is worth a finding when it polled this long.
const SLOW_SHUTDOWN: Nanos = 100_000_000;

/// `http.Server.Shutdown` polling (its waits have `Shutdown` on their stack) while connection
/// goroutines stay blocked reading for most of the time it took.
fn http_shutdown(inputs: &Inputs<'_>, stacks: &mut Stacks<'_>, found: &mut Vec<Finding>, explained: &mut Explained) {
    let graph = inputs.graph;
    for g in graph.goroutines() {
        let polls: Vec<SegmentId> = g
            .segments()
            .filter(|&s| graph.state(s) == SegmentState::Waiting && stacks.contains(graph.stack(s), SHUTDOWN))
            .collect();
        let (Some(&first), Some(&last)) = (polls.first(), polls.last()) else { continue };
        let (start, end) = (graph.start(first), graph.end(last));
        if end - start < SLOW_SHUTDOWN {
            continue;
        }
        // Connections blocked on the network for at least half of the shutdown.
        let mut connections: Vec<(i64, Nanos, SegmentId)> = Vec::new();
        for c in graph.goroutines().iter().filter(|c| &*c.function == CONN_SERVE) {
            for s in c.segments() {
                let (from, to) = (graph.start(s), graph.end(s));
                if graph.state(s) == SegmentState::Waiting
                    && &**graph.reason(s) == "network"
                    && (to.min(end) - from.max(start)) * 2 >= end - start
                {
                    connections.push((c.id, to - from, s));
                }
            }
        }
        if connections.is_empty() {
            continue;
        }
        connections.sort_by_key(|c| (std::cmp::Reverse(c.1), c.0));
        let named: Vec<String> = connections
            .iter()
            .take(MAX_NAMED_GOROUTINES)
            .map(|&(id, blocked, _)| format!("G{id} for {}", duration_words(blocked)))
            .collect();
        let place = super::place_words_from(stacks.get(graph.stack(connections[0].2)), |f| f.starts_with("net/http."));
        let caller = stacks
            .get(graph.stack(first))
            .iter()
            .skip_while(|f| f.func != SHUTDOWN)
            .nth(1)
            .filter(|f| f.func != *g.function)
            .map_or(String::new(), |f| format!(", called from {}", f.func));
        let text = format!(
            "{SHUTDOWN} in G{} (start function {}{caller}) took {} polling for idle connections ({} polls), while {} \
             of {CONN_SERVE} stayed blocked reading a request that did not come ({}; in {place}): Shutdown waits \
             until every connection is idle, and a connection that never sends a request counts as idle only once \
             it is 5 s old",
            g.id,
            if g.function.is_empty() { "unknown" } else { &g.function },
            duration_words(end - start),
            polls.len(),
            count_words(connections.len(), "connection goroutine"),
            named.join(", "),
        );
        let subject = Subject {
            kind: SubjectKind::GoroutineGroup,
            name: CONN_SERVE.to_owned(),
            stack: stacks.get(graph.stack(first)).to_vec(),
            goroutines: connections.iter().take(MAX_NAMED_GOROUTINES).map(|c| c.0).collect(),
        };
        found.push(
            Finding::new(FindingKind::HttpShutdownWaitsForIdleConnections, Severity::Problem, subject, text)
                .with("shutdown_ns", Quantity::Nanos(end - start))
                .with("polls", Quantity::Count(polls.len() as u64))
                .with("connections", Quantity::Count(connections.len() as u64))
                .with("longest_connection_wait_ns", Quantity::Nanos(connections[0].1))
                .with("shutdown_goroutine", Quantity::Count(g.id as u64))
                .window(start, end)
                .weight(end - start)
                .advice(
                    "set http.Server's ReadHeaderTimeout (and IdleTimeout, or ReadTimeout) so that a connection that \
                     sends nothing is closed; and give Shutdown a context with a deadline, calling Server.Close when \
                     it expires",
                ),
        );
        explained.insert((CONN_SERVE.to_owned(), WaitKind::Network));
        for &poll in &polls {
            explained.insert((g.function.to_string(), wait_kind(graph.reason(poll))));
        }
    }
}

/// A start function and a stack: where goroutines of a group wait.
type Place = (Name, Option<u64>);

/// A leak is worth a finding from this many goroutines blocked at one place.
const LEAK_MIN_GOROUTINES: usize = 5;

/// Goroutines of the program blocked from some point to the end of the trace on a channel,
/// `select`, a lock or the network, each never having woken from a wait at that place: grouped
/// by start function and blocking stack.
fn leaks(inputs: &Inputs<'_>, stacks: &mut Stacks<'_>, found: &mut Vec<Finding>, explained: &mut Explained) {
    let graph = inputs.graph;
    let (trace_start, trace_end) = (inputs.summary.start_time, inputs.summary.end_time);
    // By start function and place: each goroutine, when its last wait began, and why.
    let mut by_place: BTreeMap<Place, Vec<(i64, Nanos, Name)>> = BTreeMap::new();
    for g in graph.goroutines().iter().filter(|g| !g.ended && is_program_goroutine(g)) {
        let Some(last) = g.segments().last() else { continue };
        let reason = graph.reason(last);
        if graph.state(last) != SegmentState::Waiting || graph.began(last) != SegmentStart::Blocked {
            continue;
        }
        if !is_wakeable_wait(reason) {
            continue;
        }
        let stack = graph.stack(last);
        // Woken before from the same place: a worker that waits there by design.
        let woke_there_before = g
            .segments()
            .filter(|&s| s != last && graph.state(s) == SegmentState::Waiting && graph.stack(s) == stack)
            .any(|s| wake_after(graph, g, s).is_some());
        let since = graph.start(last);
        // A network read may just be an idle connection: a leak only if it is most of the trace.
        if woke_there_before || (&**reason == "network" && (trace_end - since) * 2 < trace_end - trace_start) {
            continue;
        }
        by_place.entry((g.function.clone(), stack)).or_default().push((g.id, since, reason.clone()));
    }
    for ((function, stack), mut goroutines) in by_place {
        if goroutines.len() < LEAK_MIN_GOROUTINES {
            continue;
        }
        goroutines.sort_by_key(|g| (g.1, g.0));
        let reason = goroutines[0].2.clone();
        let oldest = goroutines[0].1;
        let newest = goroutines[goroutines.len() - 1].1;
        let mut blocked: Vec<Nanos> = goroutines.iter().map(|g| trace_end - g.1).collect();
        let total: Nanos = blocked.iter().sum();
        let median_blocked = median(&mut blocked);
        let frames = stacks.get(stack).to_vec();
        let text = format!(
            "{} of {function} are blocked ({reason}) in {} until the end of the trace and were never woken there: \
             blocked since {} to {} after the trace's start, {} in all (a median of {} each)",
            count_words(goroutines.len(), "goroutine"),
            place_words(&frames),
            duration_words(oldest - trace_start),
            duration_words(newest - trace_start),
            duration_words(total),
            duration_words(median_blocked),
        );
        let advice = match &*reason {
            "chan send" => {
                "nothing receives what they send: give the channel a buffer for every sender (make(chan T, 1) for \
                 one result), or have them select on a context's Done channel too"
            }
            r if r.starts_with("chan receive") || r.starts_with("select") => {
                "nothing sends to or closes what they wait on: close the channel when the work is done, or have them \
                 select on a context's Done channel too"
            }
            "network" => {
                "they wait for data that does not come: set a deadline on the connection (SetReadDeadline) or a \
                 timeout on the server or client"
            }
            "forever" => "they block forever (select {} or a nil channel): give them a way to return",
            _ => {
                "no one releases what they wait for: check that every Lock has its Unlock on every path (defer \
                 mu.Unlock()), and every Add its Done"
            }
        };
        let subject = Subject {
            kind: SubjectKind::GoroutineGroup,
            name: function.to_string(),
            stack: frames,
            goroutines: goroutines.iter().take(MAX_NAMED_GOROUTINES).map(|g| g.0).collect(),
        };
        found.push(
            Finding::new(FindingKind::GoroutineLeak, Severity::Problem, subject, text)
                .with("goroutines", Quantity::Count(goroutines.len() as u64))
                .with("blocked_ns", Quantity::Nanos(total))
                .with("median_blocked_ns", Quantity::Nanos(median_blocked))
                .with("oldest_since_ns", Quantity::Nanos(oldest - trace_start))
                .window(oldest, trace_end)
                .weight(total)
                .advice(advice),
        );
        explained.insert((function.to_string(), wait_kind(&reason)));
    }
}

/// The share of a group's time spent blocked at one place above which it takes turns there.
const SERIAL_PERCENT: f64 = 50.0;
/// And at least this many waits there.
const SERIAL_MIN_WAITS: usize = 10;

/// How many segments back a waker's own wake at the same place is looked for.
const HOLD_LOOKBACK: SegmentId = 64;

/// What a group's waits at one place add up to.
#[derive(Default)]
struct Turns {
    reason: Name,
    time: Nanos,
    waits: usize,
    /// Waits ended by a goroutine of the same group.
    woken_by_group: usize,
    /// The unblocking stacks, with how often.
    releases: FxHashMap<Option<u64>, usize>,
    /// How long each waker had run since it last woke from a wait at the same place.
    holds: Vec<Nanos>,
    first: Nanos,
    last: Nanos,
}

/// A group that spends most of its time blocked at one channel or lock, woken by its own
/// members: they take turns, and the holder's critical section is their speed limit.
fn serializing_locks(
    inputs: &Inputs<'_>,
    stacks: &mut Stacks<'_>,
    found: &mut Vec<Finding>,
    explained: &mut Explained,
) {
    let graph = inputs.graph;
    let nodes = graph.goroutines();
    let mut by_group: FxHashMap<&str, FxHashMap<Option<u64>, Turns>> = FxHashMap::default();
    for g in nodes.iter().filter(|g| is_program_goroutine(g)) {
        for s in g.segments() {
            let reason = graph.reason(s);
            if graph.state(s) != SegmentState::Waiting || !crate::goroutines::is_sync_reason(reason) {
                continue;
            }
            let stack = graph.stack(s);
            let place = by_group.entry(&g.function).or_default().entry(stack).or_insert_with(|| Turns {
                reason: reason.clone(),
                first: Nanos::MAX,
                ..Turns::default()
            });
            place.time += graph.end(s) - graph.start(s);
            place.waits += 1;
            place.first = place.first.min(graph.start(s));
            place.last = place.last.max(graph.end(s));
            let Some(woken) = wake_after(graph, g, s) else { continue };
            let Some(cause) = graph.cause(woken) else { continue };
            let waker = &nodes[graph.goroutine_of(cause) as usize];
            if waker.function != g.function {
                continue;
            }
            place.woken_by_group += 1;
            *place.releases.entry(graph.stack(woken)).or_default() += 1;
            // The waker's hold: since it last woke from a wait at this same place (looked for
            // among its last few segments only, so that a long run costs no long walk).
            let mut back = cause;
            let oldest = waker.first_segment.max(cause.saturating_sub(HOLD_LOOKBACK));
            while back > oldest && graph.state(back) != SegmentState::Waiting {
                back -= 1;
            }
            if graph.state(back) == SegmentState::Waiting && graph.stack(back) == stack {
                place.holds.push(graph.start(woken) - graph.end(back));
            }
        }
    }
    for group in inputs.groups.iter().filter(|g| g.goroutines.len() > 1) {
        let Some(places) = by_group.get_mut(&*group.name) else { continue };
        let Some((&stack, place)) = places.iter_mut().max_by_key(|(stack, p)| (p.time, std::cmp::Reverse(**stack)))
        else {
            continue;
        };
        let total = group.stats.total_time;
        let share = percent_floor(place.time, total);
        if share < SERIAL_PERCENT || place.waits < SERIAL_MIN_WAITS || place.woken_by_group * 2 < place.waits {
            continue;
        }
        let frames = stacks.get(stack).to_vec();
        let release = place.releases.iter().max_by_key(|(s, n)| (**n, std::cmp::Reverse(**s))).map(|(s, _)| *s);
        let release_place = place_words(stacks.get(release.flatten()));
        let hold = (!place.holds.is_empty()).then(|| median(&mut place.holds));
        let hold_words = hold.map_or(String::new(), |h| {
            format!(", having run a median of {} since it got its own turn", duration_words(h))
        });
        let text = format!(
            "{} of {} spent {share:.1}% of their time ({}) blocked ({}) in {}, {} times, {} of them woken by another \
             of the group ({release_place}{hold_words}): they take turns, so they run one at a time",
            count_words(group.goroutines.len(), "goroutine"),
            group.name,
            duration_words(place.time),
            place.reason,
            place_words(&frames),
            place.waits,
            place.woken_by_group,
        );
        let mut finding =
            Finding::new(FindingKind::SerializingLock, Severity::Problem, group_subject(&group.name), text)
                .with("goroutines", Quantity::Count(group.goroutines.len() as u64))
                .with("blocked_ns", Quantity::Nanos(place.time))
                .with("blocked_percent", Quantity::Percent(share))
                .with("waits", Quantity::Count(place.waits as u64))
                .with("woken_by_group", Quantity::Count(place.woken_by_group as u64))
                .window(place.first, place.last)
                .weight(place.time)
                .advice(
                    "shorten what is done while holding it (compute outside Lock/Unlock, hold it only to publish the \
                 result), split it into shards, or give each goroutine its own state and merge at the end",
                );
        if let Some(h) = hold {
            finding.evidence.insert("median_hold_ns", Quantity::Nanos(h));
        }
        finding.subject.stack = frames;
        found.push(finding);
        explained.insert((group.name.to_string(), wait_kind(&place.reason)));
    }
}

/// Mark assists and GC waits dominate a group when they are this share of its running and
/// GC-waiting time.
const GC_PERCENT: f64 = 20.0;
/// The MMU at 100 ms below which the GC leaves the program too little of the CPU...
const PROBLEM_MMU_100MS: f64 = 0.4;
/// ...and the MMU at 10 ms.
const PROBLEM_MMU_10MS: f64 = 0.2;

/// Groups whose time goes to mark assists and waits for the GC, with where they allocate;
/// and the whole program when the minimum mutator utilization is low.
fn gc_pressure(inputs: &Inputs<'_>, found: &mut Vec<Finding>) {
    let (summary, duration, graph) = (inputs.summary, inputs.overview.duration, inputs.graph);
    // Groups whose mark-assist ranges and GC waits are a noticeable share of the trace. The
    // ranges also cover time the goroutine was not running (parked or runnable in the
    // assist), so only their running part is weighed below.
    let mut heavy: FxHashMap<i64, usize> = FxHashMap::default();
    let mut candidates = Vec::new();
    for group in inputs.groups.iter().filter(|g| !is_system_goroutine(&g.name) && !g.name.starts_with("runtime")) {
        let s = &group.stats;
        let gc_waits: Nanos = s.block_time_by_reason.iter().filter(|(r, _)| r.contains("GC")).map(|(_, &t)| t).sum();
        if (s.gc_mark_assist() + gc_waits) * 20 < duration {
            continue;
        }
        for &id in &group.goroutines {
            heavy.insert(id, candidates.len());
        }
        candidates.push((group, gc_waits));
    }
    if candidates.is_empty() && inputs.mmu.is_empty() {
        return;
    }
    // Where each assist began (the program's frame that allocated), and its running time.
    let mut sites: Vec<FxHashMap<Option<u64>, u64>> = vec![FxHashMap::default(); candidates.len()];
    let mut assisting = vec![0 as Nanos; candidates.len()];
    let running_within = |goroutine: i64, from: Nanos, to: Nanos| -> Nanos {
        let Some(node) = graph.goroutine_at(goroutine, from) else { return 0 };
        let segments = graph.goroutines()[node as usize].segments();
        let first = graph.segment_before(node, from + 1).unwrap_or(segments.start);
        (first..segments.end)
            .take_while(|&seg| graph.start(seg) < to)
            .filter(|&seg| graph.state(seg) == SegmentState::Running)
            .map(|seg| (graph.end(seg).min(to) - graph.start(seg).max(from)).max(0))
            .sum()
    };
    if !candidates.is_empty() {
        let mut open: FxHashMap<i64, Nanos> = FxHashMap::default();
        for event in inputs.ir.events().filter(|e| matches!(e.kind(), EventKind::RangeBegin | EventKind::RangeEnd)) {
            let Details::Range(r) = inputs.ir.details(&event) else { continue };
            if r.kind != RangeKind::GcMarkAssist {
                continue;
            }
            let goroutine = match r.scope {
                Scope::Goroutine(g) => g,
                _ => event.goroutine(),
            };
            let Some(&i) = heavy.get(&goroutine) else { continue };
            match r.phase {
                RangePhase::Begin => {
                    *sites[i].entry(event.stack_id()).or_default() += 1;
                    open.insert(goroutine, event.time());
                }
                RangePhase::Active => {
                    open.entry(goroutine).or_insert(event.time());
                }
                RangePhase::End => {
                    if let Some(from) = open.remove(&goroutine) {
                        assisting[i] += running_within(goroutine, from, event.time());
                    }
                }
            }
        }
        for (goroutine, from) in open {
            assisting[heavy[&goroutine]] += running_within(goroutine, from, summary.end_time);
        }
    }
    for (((group, gc_waits), sites), assist) in candidates.into_iter().zip(sites).zip(assisting) {
        let share = percent_floor(assist + gc_waits, group.stats.exec_time + gc_waits);
        if share < GC_PERCENT {
            continue;
        }
        // The allocating frames, by how many assists began there.
        let mut by_frame: BTreeMap<String, (u64, Vec<ProfileFrame>)> = BTreeMap::new();
        for (stack, n) in sites {
            let frames = frames(inputs.ir, stack);
            if let Some(f) = frames.iter().find(|f| is_program_frame(&f.func)).or(frames.first()) {
                let entry = by_frame.entry(super::frame_words(f)).or_insert_with(|| (0, frames.clone()));
                entry.0 += n;
            }
        }
        let mut by_frame: Vec<(String, u64, Vec<ProfileFrame>)> =
            by_frame.into_iter().map(|(k, (n, f))| (k, n, f)).collect();
        by_frame.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let assists: u64 = by_frame.iter().map(|f| f.1).sum();
        let where_words = if by_frame.is_empty() {
            String::new()
        } else {
            let top: Vec<String> = by_frame.iter().take(3).map(|(f, n, _)| format!("{f} ({n})")).collect();
            format!("; the assists began allocating in {}", top.join(", "))
        };
        let text = format!(
            "{} of {} spent {share:.1}% of their running and GC-waiting time on the GC: {} of running to assist its \
             marking, {} waiting for it{where_words}",
            count_words(group.goroutines.len(), "goroutine"),
            group.name,
            duration_words(assist),
            duration_words(gc_waits),
        );
        let mut subject = group_subject(&group.name);
        subject.stack = by_frame.first().map(|f| f.2.clone()).unwrap_or_default();
        found.push(
            Finding::new(FindingKind::GcPressure, Severity::Problem, subject, text)
                .with("goroutines", Quantity::Count(group.goroutines.len() as u64))
                .with("mark_assist_running_ns", Quantity::Nanos(assist))
                .with("gc_wait_ns", Quantity::Nanos(gc_waits))
                .with("gc_percent", Quantity::Percent(share))
                .with("assists", Quantity::Count(assists))
                .window(summary.start_time, summary.end_time)
                .weight(assist + gc_waits)
                .advice(
                    "allocate less where the assists begin (reuse buffers, sync.Pool, preallocate slices and maps), \
                     or give the GC more room: a higher GOGC or a GOMEMLIMIT",
                ),
        );
    }
    // The GC aims at a quarter of the CPU while it marks (up to half with few procs): leaving
    // the program less than 40% over 100 ms, or less than 20% over 10 ms, is more than that.
    let at = |window: Nanos, below: f64| inputs.mmu.iter().find(|p| p.window == window && p.mmu < below);
    if let Some(point) = at(100_000_000, PROBLEM_MMU_100MS).or_else(|| at(10_000_000, PROBLEM_MMU_10MS)) {
        let o = inputs.overview;
        let text = format!(
            "the GC left the program {:.0}% of the CPU in the worst {} window (minimum mutator utilization); {} \
             stop-the-world pauses, {} in all, the longest {}",
            point.mmu * 100.0,
            duration_words(point.window),
            o.stw_pauses,
            duration_words(o.stw_total),
            duration_words(o.stw_max)
        );
        let subject =
            Subject { kind: SubjectKind::Program, name: String::new(), stack: Vec::new(), goroutines: Vec::new() };
        let mut finding = Finding::new(FindingKind::GcPressure, Severity::Problem, subject, text)
            .with("mmu_percent", Quantity::Percent(point.mmu * 100.0))
            .with("mmu_window_ns", Quantity::Nanos(point.window))
            .with("stw_pauses", Quantity::Count(o.stw_pauses))
            .with("stw_ns", Quantity::Nanos(o.stw_total))
            .weight(((1.0 - point.mmu) * point.window as f64) as Nanos)
            .advice("allocate less, or give the GC more room: a higher GOGC or a GOMEMLIMIT");
        if let Some(w) = point.worst {
            finding = finding.window(w.time, w.time + point.window);
        }
        found.push(finding);
    }
}

/// System calls that lost their proc are worth a finding from this many in a group...
const SYSCALL_MIN: usize = 10;
/// ...taking this share of the group's time.
const SYSCALL_PERCENT: f64 = 20.0;

/// Groups whose system calls block long enough for the runtime to hand their proc to another
/// thread: each such call holds a thread of its own.
fn blocking_syscalls(
    inputs: &Inputs<'_>,
    stacks: &mut Stacks<'_>,
    found: &mut Vec<Finding>,
    explained: &mut Explained,
) {
    let graph = inputs.graph;
    #[derive(Default)]
    struct Calls {
        count: usize,
        time: Nanos,
        threads: FxHashSet<i64>,
        by_stack: FxHashMap<Option<u64>, usize>,
        first: Nanos,
        last: Nanos,
    }
    let mut by_group: FxHashMap<&str, Calls> = FxHashMap::default();
    for g in graph.goroutines().iter().filter(|g| is_program_goroutine(g)) {
        for s in g.segments() {
            if graph.state(s) != SegmentState::Syscall
                || s + 1 >= g.segments().end
                || graph.began(s + 1) != SegmentStart::SyscallReturnedLostProc
            {
                continue;
            }
            let calls = by_group.entry(&g.function).or_insert_with(|| Calls {
                first: Nanos::MAX,
                last: Nanos::MIN,
                ..Calls::default()
            });
            calls.count += 1;
            calls.time += graph.end(s) - graph.start(s);
            if let Some(thread) = graph.segment(s).thread {
                calls.threads.insert(thread);
            }
            *calls.by_stack.entry(graph.stack(s)).or_default() += 1;
            calls.first = calls.first.min(graph.start(s));
            calls.last = calls.last.max(graph.end(s));
        }
    }
    for group in inputs.groups {
        let Some(Calls { count: calls, time, threads, by_stack, first, last }) = by_group.get(&*group.name) else {
            continue;
        };
        let share = percent_floor(*time, group.stats.total_time);
        if *calls < SYSCALL_MIN || share < SYSCALL_PERCENT {
            continue;
        }
        let stack = by_stack.iter().max_by_key(|(s, n)| (**n, std::cmp::Reverse(**s))).and_then(|(s, _)| *s);
        let frames = stacks.get(stack).to_vec();
        let o = inputs.overview;
        let text = format!(
            "{} of {} spent {share:.1}% of their time ({}) in {calls} system calls that blocked long enough to lose \
             their proc, mostly in {}: each held a thread while the runtime handed its proc to another; they ran on \
             {} threads, of {} in the trace for GOMAXPROCS={}",
            count_words(group.goroutines.len(), "goroutine"),
            group.name,
            duration_words(*time),
            place_words(&frames),
            threads.len(),
            o.threads,
            o.max_gomaxprocs.unwrap_or(o.procs),
        );
        let mut subject = group_subject(&group.name);
        subject.stack = frames;
        found.push(
            Finding::new(FindingKind::BlockingSyscalls, Severity::Note, subject, text)
                .with("goroutines", Quantity::Count(group.goroutines.len() as u64))
                .with("syscalls_lost_proc", Quantity::Count(*calls as u64))
                .with("syscall_ns", Quantity::Nanos(*time))
                .with("syscall_percent", Quantity::Percent(share))
                .with("threads", Quantity::Count(threads.len() as u64))
                .with("trace_threads", Quantity::Count(o.threads))
                .window(*first, *last)
                .weight(*time)
                .advice(
                    "every blocking system call costs a thread and a proc hand-off: batch the calls, use I/O the \
                     netpoller can wait on, or bound how many goroutines make them at once (a semaphore)",
                ),
        );
        explained.insert((group.name.to_string(), WaitKind::Syscall));
    }
}

/// Timer wakes at one place are polling from this many...
const POLL_MIN_WAKES: usize = 100;
/// ...at this rate or more, per second.
const POLL_MIN_RATE: f64 = 100.0;

/// Many wakes by timers (no goroutine woke them) of channel waits at one place: a loop that
/// polls with a timer, often a new timer each time around.
fn timer_polling(inputs: &Inputs<'_>, stacks: &mut Stacks<'_>, found: &mut Vec<Finding>, explained: &mut Explained) {
    let graph = inputs.graph;
    // By start function and place: the wakes' times, the waits, and the running after each.
    #[derive(Default)]
    struct Wakes {
        reason: Name,
        times: Vec<Nanos>,
        waits: Vec<Nanos>,
        runs: Vec<Nanos>,
        goroutines: FxHashSet<i64>,
    }
    let mut by_place: BTreeMap<Place, Wakes> = BTreeMap::new();
    for g in graph.goroutines().iter().filter(|g| is_program_goroutine(g)) {
        for s in g.segments() {
            // Timers made for a loop (time.After, time.NewTimer, time.NewTicker) are waited on
            // through their channels; time.Sleep reuses the goroutine's own timer.
            let reason = graph.reason(s);
            if graph.state(s) != SegmentState::Waiting
                || !(reason.starts_with("select") || reason.starts_with("chan receive"))
            {
                continue;
            }
            let Some(woken) = wake_after(graph, g, s) else { continue };
            if graph.cause(woken).is_some() {
                continue;
            }
            let wakes = by_place.entry((g.function.clone(), graph.stack(s))).or_default();
            wakes.reason = reason.clone();
            wakes.times.push(graph.start(woken));
            wakes.waits.push(graph.end(s) - graph.start(s));
            // The running until the next wait.
            let run: Nanos = (woken + 1..g.segments().end)
                .take_while(|&r| graph.state(r) != SegmentState::Waiting)
                .filter(|&r| graph.state(r) == SegmentState::Running)
                .map(|r| graph.end(r) - graph.start(r))
                .sum();
            wakes.runs.push(run);
            wakes.goroutines.insert(g.id);
        }
    }
    for ((function, stack), mut wakes) in by_place {
        let count = wakes.times.len();
        if count < POLL_MIN_WAKES {
            continue;
        }
        wakes.times.sort_unstable();
        let (first, last) = (wakes.times[0], wakes.times[count - 1]);
        let rate = count as f64 * 1e9 / (last - first).max(1) as f64;
        if rate < POLL_MIN_RATE {
            continue;
        }
        let (wait, run) = (median(&mut wakes.waits), median(&mut wakes.runs));
        let frames = stacks.get(stack).to_vec();
        let text = format!(
            "{} of {function} woke from a timer {count} times in {} ({}), about {rate:.0} times a second, each after \
             waiting a median of {} and to run a median of {} before waiting again: a loop that polls with a timer",
            count_words(wakes.goroutines.len(), "goroutine"),
            place_words(&frames),
            wakes.reason,
            duration_words(wait),
            duration_words(run),
        );
        let subject = Subject {
            kind: SubjectKind::GoroutineGroup,
            name: function.to_string(),
            stack: frames,
            goroutines: wakes.goroutines.iter().copied().take(MAX_NAMED_GOROUTINES).collect(),
        };
        let waited: Nanos = wakes.waits.iter().sum();
        found.push(
            Finding::new(FindingKind::TimerPolling, Severity::Note, subject, text)
                .with("wakes", Quantity::Count(count as u64))
                .with("wakes_per_second", Quantity::Count(rate.round() as u64))
                .with("median_wait_ns", Quantity::Nanos(wait))
                .with("median_run_ns", Quantity::Nanos(run))
                .window(first, last)
                .weight(waited)
                .advice(
                    "wait for the event itself instead of polling (a channel that is closed or sent on when the \
                     condition holds, a sync.Cond, a context); if a timer is needed, create one time.Ticker outside \
                     the loop rather than time.After or time.NewTimer on every pass",
                ),
        );
        explained.insert((function.to_string(), wait_kind(&wakes.reason)));
    }
}
