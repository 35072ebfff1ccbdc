//! Ordering the per-proc event streams of an old-format trace into one consistent stream, and
//! checking it, with the rules of Go's parsers: Go 1.27's for Go 1.7 and later traces, Go
//! 1.21's global sequence numbers for Go 1.5 traces.
//!
//! Each proc's events are in order; the merge interleaves them so that every goroutine's
//! transitions follow its sequence numbers, preferring the earliest timestamp. Go breaks ties
//! between procs by the order of a hash map, so its output varies from run to run; here procs
//! are taken in ascending ID order, which gives one of Go's possible orders, always the same.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::parse::{OldEvent, Scan, decode_proc};
use super::spec::{OldVersion, ev, is_blocking};
use crate::error::{Error, ErrorKind};

/// Go's pseudo-procs, to which the parser moves some events.
pub(crate) mod pseudo_proc {
    pub const TIMERS: i32 = 1_000_001;
    pub const NETPOLL: i32 = 1_000_002;
    pub const SYSCALLS: i32 = 1_000_003;
    pub const GC: i32 = 1_000_004;
}

fn ordering(message: impl Into<String>, offset: u64) -> Error {
    Error::new(ErrorKind::Ordering(message.into()), offset)
}

fn time_order(offset: u64) -> Error {
    Error::new(ErrorKind::InvalidOldTrace("time stamps out of order".into()), offset)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Status {
    #[default]
    Dead,
    Runnable,
    Running,
    Waiting,
}

/// A sequence number requirement: a value, "any" (do not check) or "one more than now".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seq {
    Is(u64),
    Any,
    Increment,
}

/// The goroutine (or the GC pseudo-goroutine) an event concerns, and the state it requires
/// before and leaves after.
#[derive(Debug, Clone, Copy)]
struct Transition {
    subject: Subject,
    init: (Seq, Status),
    next: (Seq, Status),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Subject {
    Unordered,
    Goroutine(u64),
    Gc,
}

fn transition_of(event: &OldEvent) -> Transition {
    use Status::*;
    let a = event.args;
    let (subject, init, next) = match event.ty {
        ev::GO_CREATE => (Subject::Goroutine(a[0]), (Seq::Is(0), Dead), (Seq::Is(1), Runnable)),
        ev::GO_WAITING | ev::GO_IN_SYSCALL => {
            (Subject::Goroutine(event.g), (Seq::Is(1), Runnable), (Seq::Is(2), Waiting))
        }
        ev::GO_START | ev::GO_START_LABEL => {
            (Subject::Goroutine(event.g), (Seq::Is(a[1]), Runnable), (Seq::Is(a[1].wrapping_add(1)), Running))
        }
        ev::GO_START_LOCAL => (Subject::Goroutine(event.g), (Seq::Any, Runnable), (Seq::Increment, Running)),
        ty if is_blocking(ty) || ty == ev::GO_SYS_BLOCK => {
            (Subject::Goroutine(event.g), (Seq::Any, Running), (Seq::Any, Waiting))
        }
        ev::GO_SCHED | ev::GO_PREEMPT => (Subject::Goroutine(event.g), (Seq::Any, Running), (Seq::Any, Runnable)),
        ev::GO_UNBLOCK | ev::GO_SYS_EXIT => {
            (Subject::Goroutine(a[0]), (Seq::Is(a[1]), Waiting), (Seq::Is(a[1].wrapping_add(1)), Runnable))
        }
        ev::GO_UNBLOCK_LOCAL | ev::GO_SYS_EXIT_LOCAL => {
            (Subject::Goroutine(a[0]), (Seq::Any, Waiting), (Seq::Increment, Runnable))
        }
        ev::GC_START => (Subject::Gc, (Seq::Is(a[0]), Dead), (Seq::Is(a[0].wrapping_add(1)), Dead)),
        _ => (Subject::Unordered, (Seq::Any, Dead), (Seq::Any, Dead)),
    };
    Transition { subject, init, next }
}

fn is_ready(transition: &Transition, current: (u64, Status)) -> bool {
    let (seq, status) = transition.init;
    transition.subject == Subject::Unordered
        || (matches!(seq, Seq::Any) || seq == Seq::Is(current.0)) && status == current.1
}

/// Where an event lies: its stream (a proc's, or the CPU samples) and its index there.
#[derive(Debug, Clone, Copy)]
struct EventRef {
    stream: u32,
    index: u32,
}

/// The events of an old trace, ordered: each stream's events stay where decoding put them,
/// and the order refers to them, so that the events are never copied (they are most of the
/// memory a big trace takes).
#[derive(Debug, Default)]
pub(crate) struct Ordered {
    streams: Vec<Vec<OldEvent>>,
    order: Vec<EventRef>,
}

impl Ordered {
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    /// The `i`th event of the order.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> &OldEvent {
        let at = self.order[i];
        &self.streams[at.stream as usize][at.index as usize]
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, i: usize) -> &mut OldEvent {
        let at = self.order[i];
        &mut self.streams[at.stream as usize][at.index as usize]
    }

    fn find_time_disorder(&self) -> Option<&OldEvent> {
        (1..self.len()).find(|&i| self.get(i).ts < self.get(i - 1).ts).map(|i| self.get(i))
    }

    /// Sorts the order by time, stably.
    fn sort_by_time(&mut self) {
        let streams = &self.streams;
        let ts = |at: &EventRef| streams[at.stream as usize][at.index as usize].ts;
        if !self.order.is_sorted_by_key(ts) {
            self.order.par_sort_by_key(ts);
        }
    }
}

/// Decodes each proc's batches, in parallel.
fn decode_streams(bytes: &[u8], version: OldVersion, scan: &Scan<'_>) -> Result<Vec<Vec<OldEvent>>, Error> {
    let decoded: Vec<Result<Vec<OldEvent>, Error>> =
        scan.procs.par_iter().map(|proc| decode_proc(bytes, version, proc)).collect();
    let streams = decoded.into_iter().collect::<Result<Vec<_>, Error>>()?;
    if let Some(long) = streams.iter().find(|s| s.len() > u32::MAX as usize) {
        let message = "more than 2^32 events on one proc".to_owned();
        return Err(Error::new(ErrorKind::InvalidOldTrace(message), long[0].offset));
    }
    Ok(streams)
}

/// An entry of the merge's frontier: a min-heap on time, kept exactly as Go's (so that ties
/// resolve the same way for the same proc order).
#[derive(Clone, Copy)]
struct Head {
    ts: i64,
    stream: usize,
    index: usize,
}

#[derive(Default)]
struct Frontier(Vec<Head>);

impl Frontier {
    fn push(&mut self, head: Head) {
        self.0.push(head);
        let mut j = self.0.len() - 1;
        while j > 0 {
            let i = (j - 1) / 2;
            if self.0[j].ts >= self.0[i].ts {
                break;
            }
            self.0.swap(i, j);
            j = i;
        }
    }

    fn pop(&mut self) -> Option<Head> {
        let n = self.0.len().checked_sub(1)?;
        self.0.swap(0, n);
        let mut i = 0;
        loop {
            let left = 2 * i + 1;
            if left >= n {
                break;
            }
            let mut j = left;
            if left + 1 < n && self.0[left + 1].ts < self.0[left].ts {
                j = left + 1;
            }
            if self.0[j].ts >= self.0[i].ts {
                break;
            }
            self.0.swap(i, j);
            i = j;
        }
        self.0.pop()
    }
}

/// Decodes every proc's batches (in parallel) and merges them into one stream in ticks.
pub(crate) fn merge(bytes: &[u8], version: OldVersion, scan: &mut Scan<'_>) -> Result<Ordered, Error> {
    let mut streams = decode_streams(bytes, version, scan)?;
    if version.has_event_seq() {
        return order_by_global_seq(streams);
    }
    // Samples are written late, by another goroutine: they are placed by the time the signal
    // handler took.
    let mut samples = std::mem::take(&mut scan.cpu_samples);
    samples.par_sort_by_key(|s| s.ts);
    streams.push(samples);
    let total = streams.iter().map(Vec::len).sum();
    let mut order: Vec<EventRef> = Vec::with_capacity(total);
    let mut next = vec![0usize; streams.len()];
    let mut states: FxHashMap<Subject, (u64, Status)> = FxHashMap::default();
    let mut frontier = Frontier::default();
    let mut available: Vec<usize> = (0..streams.len()).collect();
    loop {
        let mut i = 0;
        while i < available.len() {
            let stream = available[i];
            let Some(event) = streams[stream].get(next[stream]) else {
                // This stream is done.
                available.swap_remove(i);
                continue;
            };
            let transition = transition_of(event);
            let current = states.get(&transition.subject).copied().unwrap_or((0, Status::Dead));
            if !is_ready(&transition, current) {
                i += 1;
                continue;
            }
            frontier.push(Head { ts: event.ts, stream, index: next[stream] });
            next[stream] += 1;
            available.swap_remove(i);
        }
        let Some(head) = frontier.pop() else {
            if let Some(stuck) = streams.iter().zip(&next).find_map(|(s, &n)| s.get(n)) {
                return Err(ordering("no consistent ordering of events possible", stuck.offset));
            }
            break;
        };
        let event = &mut streams[head.stream][head.index];
        let transition = transition_of(event);
        // "Local" events only serve the ordering.
        event.ty = match event.ty {
            ev::GO_START_LOCAL => ev::GO_START,
            ev::GO_UNBLOCK_LOCAL => ev::GO_UNBLOCK,
            ev::GO_SYS_EXIT_LOCAL => ev::GO_SYS_EXIT,
            ty => ty,
        };
        if transition.subject != Subject::Unordered {
            let state = states.entry(transition.subject).or_insert((0, Status::Dead));
            if !is_ready(&transition, *state) {
                return Err(ordering("encountered impossible goroutine state transition", event.offset));
            }
            let seq = match transition.next.0 {
                Seq::Is(seq) => seq,
                Seq::Any => state.0,
                Seq::Increment => state.0.wrapping_add(1),
            };
            *state = (seq, transition.next.1);
        }
        order.push(EventRef { stream: head.stream as u32, index: head.index as u32 });
        available.push(head.stream);
    }
    let mut ordered = Ordered { streams, order };
    if let Some(event) = ordered.find_time_disorder() {
        return Err(time_order(event.offset));
    }
    fix_syscall_exit_times(&mut ordered)?;
    ordered.sort_by_time();
    Ok(ordered)
}

/// A syscall exit is written when the goroutine gets a proc again, long after it happened; the
/// time it happened is in its `ts` argument, which must not precede the syscall's start.
fn fix_syscall_exit_times(events: &mut Ordered) -> Result<(), Error> {
    let mut last_block: FxHashMap<u64, i64> = FxHashMap::default();
    for i in 0..events.len() {
        let event = events.get_mut(i);
        match event.ty {
            ev::GO_SYS_BLOCK | ev::GO_IN_SYSCALL => {
                last_block.insert(event.g, event.ts);
            }
            ev::GO_SYS_EXIT => {
                let ts = event.args[2] as i64;
                if ts == 0 {
                    continue;
                }
                let block = last_block.get(&event.g).copied().unwrap_or(0);
                if block == 0 {
                    return Err(Error::new(ErrorKind::InvalidOldTrace("stray syscall exit".into()), event.offset));
                }
                if ts < block {
                    return Err(time_order(event.offset));
                }
                event.ts = ts;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Go 1.5 traces: every event has a global sequence number; a syscall exit takes the sequence
/// number and time of the exit itself.
fn order_by_global_seq(mut streams: Vec<Vec<OldEvent>>) -> Result<Ordered, Error> {
    let mut order = Vec::with_capacity(streams.iter().map(Vec::len).sum());
    for (stream, events) in streams.iter_mut().enumerate() {
        for (index, event) in events.iter_mut().enumerate() {
            if event.ty == ev::GO_SYS_EXIT {
                event.args[3] = event.args[1];
                if event.args[2] != 0 {
                    event.ts = event.args[2] as i64;
                }
            }
            order.push(EventRef { stream: stream as u32, index: index as u32 });
        }
    }
    let seq = |at: &EventRef| streams[at.stream as usize][at.index as usize].args[3] as i64;
    order.par_sort_by_key(seq);
    let mut ordered = Ordered { streams, order };
    if let Some(event) = ordered.find_time_disorder() {
        return Err(time_order(event.offset));
    }
    // The sequence numbers have served; the events' arguments are their own again.
    ordered.streams.par_iter_mut().flatten().for_each(|event| event.args[3] = 0);
    Ok(ordered)
}

/// Converts ticks to nanoseconds since the first event, exactly as Go does (in float64,
/// truncated), and moves timer unblocks and syscall exits to Go's pseudo-procs.
pub(crate) fn to_nanoseconds(events: &mut Ordered, ticks_per_second: i64, scan: &Scan<'_>) {
    if events.len() == 0 {
        return;
    }
    let min_ts = events.get(0).ts;
    let ns_per_tick = 1e9 / ticks_per_second as f64;
    let timers = &scan.timer_goroutines;
    events.streams.par_iter_mut().flatten().for_each(|event| {
        event.ts = (event.ts.wrapping_sub(min_ts) as f64 * ns_per_tick) as i64;
        if event.ty == ev::GO_UNBLOCK && !timers.is_empty() && timers.contains(&event.g) {
            event.p = pseudo_proc::TIMERS;
        }
        if event.ty == ev::GO_SYS_EXIT {
            event.p = pseudo_proc::SYSCALLS;
        }
    });
}

#[derive(Debug, Clone, Copy, Default)]
struct GoroutineCheck {
    status: Status,
    /// The type of the goroutine's last event that Go's parser remembers.
    last: Option<u8>,
    in_mark_assist: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct ProcCheck {
    running: bool,
    g: u64,
    sweeping: bool,
    /// Before Go 1.10, stop-the-world was per proc.
    stopped_world: bool,
}

/// Go's consistency checks over the ordered stream (a proc runs one goroutine at a time, a
/// goroutine is blocked before it is unblocked, ...), which also move GC starts to the GC
/// pseudo-proc, network unblocks to the netpoll pseudo-proc, and drop references to stacks
/// the trace does not define.
pub(crate) fn check(events: &mut Ordered, version: OldVersion, scan: &Scan<'_>) -> Result<(), Error> {
    use Status::*;
    let mut gs: FxHashMap<u64, GoroutineCheck> = FxHashMap::default();
    let mut ps: FxHashMap<i32, ProcCheck> = FxHashMap::default();
    let mut tasks: rustc_hash::FxHashSet<u64> = Default::default();
    let mut regions: FxHashMap<u64, Vec<(u64, u64)>> = FxHashMap::default();
    gs.insert(0, GoroutineCheck { status: Running, ..Default::default() });
    let (mut in_gc, mut in_stw) = (false, false);
    let per_proc_stw = version.0 < 10;
    for i in 0..events.len() {
        let event = events.get_mut(i);
        let (ts, offset, name) = (event.ts, event.offset, super::spec::spec(event.ty).map_or("?", |s| s.name));
        let fail = |message: String| Err(ordering(message, offset));
        let g = gs.get(&event.g).copied().unwrap_or_default();
        let p = ps.get(&event.p).copied().unwrap_or_default();
        let check_running = |allow_g0: bool| -> Result<(), Error> {
            if g.status != Running {
                return Err(ordering(format!("g {} is not running while {name} (time {ts})", event.g), offset));
            }
            if p.g != event.g {
                return Err(ordering(
                    format!("p {} is not running g {} while {name} (time {ts})", event.p, event.g),
                    offset,
                ));
            }
            if !allow_g0 && event.g == 0 {
                return Err(ordering(format!("g 0 did {name} (time {ts})"), offset));
            }
            Ok(())
        };
        match event.ty {
            ev::PROC_START => {
                if p.running {
                    return fail(format!("p {} is running before start (time {ts})", event.p));
                }
                ps.insert(event.p, ProcCheck { running: true, ..p });
            }
            ev::PROC_STOP => {
                if !p.running {
                    return fail(format!("p {} is not running before stop (time {ts})", event.p));
                }
                if p.g != 0 {
                    return fail(format!("p {} is running a goroutine {} during stop (time {ts})", event.p, p.g));
                }
                ps.insert(event.p, ProcCheck { running: false, ..p });
            }
            ev::GC_START => {
                if in_gc {
                    return fail(format!("previous GC is not ended before a new one (time {ts})"));
                }
                in_gc = true;
                event.p = pseudo_proc::GC;
            }
            ev::GC_DONE => {
                if !in_gc {
                    return fail(format!("bogus GC end (time {ts})"));
                }
                in_gc = false;
            }
            ev::STW_START | ev::STW_DONE => {
                let starting = event.ty == ev::STW_START;
                let active = if per_proc_stw { p.stopped_world } else { in_stw };
                if starting && active {
                    return fail(format!("previous STW is not ended before a new one (time {ts})"));
                }
                if !starting && !active {
                    return fail(format!("bogus STW end (time {ts})"));
                }
                if per_proc_stw {
                    ps.insert(event.p, ProcCheck { stopped_world: starting, ..p });
                } else {
                    in_stw = starting;
                }
            }
            ev::GC_SWEEP_START => {
                if p.sweeping {
                    return fail(format!("previous sweeping is not ended before a new one (time {ts})"));
                }
                ps.insert(event.p, ProcCheck { sweeping: true, ..p });
            }
            ev::GC_SWEEP_DONE => {
                if !p.sweeping {
                    return fail(format!("bogus sweeping end (time {ts})"));
                }
                ps.insert(event.p, ProcCheck { sweeping: false, ..p });
            }
            ev::GC_MARK_ASSIST_START => {
                if g.in_mark_assist {
                    return fail(format!("previous mark assist is not ended before a new one (time {ts})"));
                }
                gs.insert(event.g, GoroutineCheck { in_mark_assist: true, ..g });
            }
            // Mark assists can be in progress when tracing starts: an end alone is no error.
            ev::GC_MARK_ASSIST_DONE => {
                gs.insert(event.g, GoroutineCheck { in_mark_assist: false, ..g });
            }
            ev::GO_WAITING | ev::GO_IN_SYSCALL => {
                if g.status != Runnable {
                    let what = if event.ty == ev::GO_WAITING { "EvGoWaiting" } else { "EvGoInSyscall" };
                    return fail(format!("g {} is not runnable before {what} (time {ts})", event.g));
                }
                gs.insert(event.g, GoroutineCheck { status: Waiting, last: Some(event.ty), ..g });
            }
            ev::GO_CREATE => {
                check_running(true)?;
                let new = event.args[0];
                if gs.contains_key(&new) {
                    return fail(format!("g {new} already exists (time {ts})"));
                }
                gs.insert(new, GoroutineCheck { status: Runnable, last: Some(ev::GO_CREATE), ..Default::default() });
            }
            ev::GO_START | ev::GO_START_LABEL => {
                if g.status != Runnable {
                    return fail(format!("g {} is not runnable before start (time {ts})", event.g));
                }
                if p.g != 0 {
                    return fail(format!(
                        "p {} is already running g {} while start g {} (time {ts})",
                        event.p, p.g, event.g
                    ));
                }
                gs.insert(event.g, GoroutineCheck { status: Running, last: None, ..g });
                ps.insert(event.p, ProcCheck { g: event.g, ..p });
            }
            ev::GO_END | ev::GO_STOP => {
                check_running(false)?;
                gs.insert(event.g, GoroutineCheck { status: Dead, ..g });
                ps.insert(event.p, ProcCheck { g: 0, ..p });
                if event.ty == ev::GO_END {
                    regions.remove(&event.g);
                }
            }
            ev::GO_SCHED | ev::GO_PREEMPT => {
                check_running(false)?;
                gs.insert(event.g, GoroutineCheck { status: Runnable, last: Some(event.ty), ..g });
                ps.insert(event.p, ProcCheck { g: 0, ..p });
            }
            ev::GO_UNBLOCK => {
                if g.status != Running {
                    return fail(format!("g {} is not running while unpark (time {ts})", event.g));
                }
                if event.p != pseudo_proc::TIMERS && p.g != event.g {
                    return fail(format!("p {} is not running g {} while unpark (time {ts})", event.p, event.g));
                }
                let target = event.args[0];
                let woken = gs.get(&target).copied().unwrap_or_default();
                if woken.status != Waiting {
                    return fail(format!("g {target} is not waiting before unpark (time {ts})"));
                }
                if woken.last == Some(ev::GO_BLOCK_NET) {
                    event.p = pseudo_proc::NETPOLL;
                }
                gs.insert(target, GoroutineCheck { status: Runnable, last: Some(ev::GO_UNBLOCK), ..woken });
            }
            ev::GO_SYSCALL => {
                check_running(false)?;
                gs.insert(event.g, GoroutineCheck { last: Some(ev::GO_SYSCALL), ..g });
            }
            ev::GO_SYS_BLOCK => {
                check_running(false)?;
                gs.insert(event.g, GoroutineCheck { status: Waiting, ..g });
                ps.insert(event.p, ProcCheck { g: 0, ..p });
            }
            ev::GO_SYS_EXIT => {
                if g.status != Waiting {
                    return fail(format!("g {} is not waiting during syscall exit (time {ts})", event.g));
                }
                gs.insert(event.g, GoroutineCheck { status: Runnable, last: Some(ev::GO_SYS_EXIT), ..g });
            }
            ty if is_blocking(ty) => {
                check_running(false)?;
                gs.insert(event.g, GoroutineCheck { status: Waiting, last: Some(event.ty), ..g });
                ps.insert(event.p, ProcCheck { g: 0, ..p });
            }
            ev::USER_TASK_CREATE => {
                let id = event.args[0];
                if tasks.contains(&id) {
                    return fail(format!("task id conflicts (id:{id})"));
                }
                tasks.insert(id);
            }
            ev::USER_TASK_END => {
                tasks.remove(&event.args[0]);
            }
            ev::USER_REGION => {
                let (task, mode, name) = (event.args[0], event.args[1], event.args[2]);
                let stack = regions.entry(event.g).or_default();
                match mode {
                    0 => stack.push((task, name)),
                    1 => {
                        // An end without a start in the trace began before tracing did.
                        if let Some(&(open_task, open_name)) = stack.last() {
                            if (open_task, open_name) != (task, name) {
                                return fail(format!(
                                    "misuse of region in goroutine {}: region end (task {task}, type string {name}) when the innermost active region is (task {open_task}, type string {open_name})",
                                    event.g
                                ));
                            }
                            stack.pop();
                        }
                    }
                    _ => return fail(format!("invalid user region mode {mode} (time {ts})")),
                }
            }
            _ => {}
        }
        if event.stack != 0 && scan.stacks.get(&event.stack).is_none_or(Vec::is_empty) {
            // Go drops references to stacks that are missing or have no frames.
            event.stack = 0;
        }
    }
    Ok(())
}
